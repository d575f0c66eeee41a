"""Pure survey statistics for Hài Lòng: design-based estimates of SIPAS and PAPI indices.

DataFrames in, frozen result objects out. No Flask, no SQLAlchemy, no file or network IO
(except the command-line entry point in :mod:`scoring.score_command`). Every variance is computed as in
R's ``survey`` package (Lumley 2010, *Complex Surveys*): Taylor linearisation with PSUs drawn
with replacement within strata, or replicate weights.
"""

from scoring.design import SurveyDesign
from scoring.results import ConfidenceInterval, Estimate, EstimateTable

__all__ = ["ConfidenceInterval", "Estimate", "EstimateTable", "SurveyDesign"]
