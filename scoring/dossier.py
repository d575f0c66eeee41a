"""Per-dossier satisfaction ratings in the spirit of Decision 766/QĐ-TTg (2022).

Citizens rate a settled dossier (by its dossier code) on up to 12 criteria with the 5-level
scale. Rules (``docs/methodology.md`` §4; the dossier rule is an inference [I], kept
configurable):

- a dossier is *satisfied* when all its rated criteria are 4–5 (``rule="all"``) or when the
  mean of its rated criteria is at least 4 (``rule="mean"``); dossiers with no rated criterion
  are not valid;
- rate = weighted share of satisfied dossiers (equal weights: the portal holds every dossier);
- points = ``max_points`` when rate ≥ ``threshold`` (90% by default), otherwise
  ``rate × max_points / threshold`` (indicator 5.4: full points at ≥ 90%).

The points' SE is the rate's SE × max_points / threshold below the threshold, and 0 at full
points (the function is flat there; the delta method gives no better answer at the kink).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from scoring.design import SurveyDesign
from scoring.estimators import item_values, proportion
from scoring.intervals import MIN_N, DegreesOfFreedom
from scoring.results import EstimateTable

DossierRule = Literal["all", "mean"]


def rate_dossiers(
    data: pd.DataFrame,
    criteria: Sequence[str],
    *,
    by: Sequence[str] = (),
    rule: DossierRule = "all",
    satisfied: Collection[float] = frozenset({4, 5}),
    threshold: float = 0.9,
    max_points: float = 1.0,
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    df: DegreesOfFreedom = "inf",
    min_n: int = MIN_N,
) -> EstimateTable:
    """Share of satisfied dossiers and Decision 766 points, per domain (unit, period …).

    Returns an :class:`EstimateTable` with rows ``kind="dossier_rate"`` and
    ``kind="dossier_points"`` (id ``"dossiers"``).

    Examples
    --------
    >>> data = pd.DataFrame({"c1": [5, 4, 2, 5], "c2": [4, 4, 5, None]})
    >>> frame = rate_dossiers(data, ["c1", "c2"], max_points=2.0).to_frame()
    >>> frame["estimate"].round(4).tolist()
    [0.75, 1.6667]
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
    if rule not in ("all", "mean"):
        raise ValueError(f"rule must be 'all' or 'mean', got {rule!r}")
    answers = item_values(data, list(criteria))
    rated = ~np.isnan(answers)
    any_rated = rated.any(axis=1)
    codes = np.asarray(sorted(satisfied), dtype=float)
    if rule == "all":
        ok = (np.isin(answers, codes) | ~rated).all(axis=1)
    else:
        count = rated.sum(axis=1)
        means = np.where(rated, answers, 0.0).sum(axis=1) / np.maximum(count, 1)
        ok = means >= min(codes)
    work = data[list(by)].copy() if by else pd.DataFrame(index=data.index)
    work["_dossier_satisfied"] = np.where(any_rated, ok.astype(float), np.nan)
    if design is not None:
        for column in design.columns():
            work[column] = data[column]
    table = proportion(work, "_dossier_satisfied", values={1.0}, design=design, by=by,
                       confidence=confidence, df=df, min_n=min_n)  # fmt: skip
    rate = table.to_frame()
    rate["kind"] = "dossier_rate"
    rate["id"] = "dossiers"
    points = rate.copy()
    points["kind"] = "dossier_points"
    full = rate["estimate"] >= threshold
    factor = max_points / threshold
    points["estimate"] = np.where(full, max_points, rate["estimate"] * factor)
    points["se"] = np.where(full, 0.0, rate["se"] * factor)
    points["ci_low"] = np.minimum(rate["ci_low"] * factor, max_points)
    points["ci_high"] = np.minimum(rate["ci_high"] * factor, max_points)
    frame = pd.concat([rate, points], ignore_index=True)
    if by:
        frame = frame.sort_values([*by], kind="stable").reset_index(drop=True)
    return EstimateTable(by=tuple(by), _frame=frame)
