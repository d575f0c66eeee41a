"""Second opinion: samplics' Taylor estimator gives the same domain means and SEs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import estimators
from scoring.design import SurveyDesign

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "scoring"


def test_domain_means_match_samplics() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # samplics announces it is archived on import
        samplics_estimation = pytest.importorskip("samplics.estimation")
        types = pytest.importorskip("samplics.utils.types")
        data = pd.read_csv(FIXTURES / "design.csv").dropna(subset=["c1"])
        estimator = samplics_estimation.TaylorEstimator(types.PopParam.mean)
        estimator.estimate(y=data["c1"].to_numpy(float), samp_weight=data["weight"].to_numpy(float),
                           stratum=data["stratum"].to_numpy(), psu=data["psu"].to_numpy(),
                           domain=data["unit"].to_numpy())  # fmt: skip
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu")
    ours = estimators.mean(data, "c1", design=design, by=["unit"]).to_frame().set_index("unit")
    for unit, value in estimator.point_est.items():
        assert ours.loc[unit, "estimate"] == pytest.approx(value, rel=1e-10)
        assert ours.loc[unit, "se"] == pytest.approx(estimator.stderror[unit], rel=1e-8)
    assert np.isfinite(ours["se"]).all()
