"""Comparisons between units and periods — one import for the callers.

Change since a previous period lives in :mod:`scoring.change`, ranks with their intervals,
performance groups and medians over units in :mod:`scoring.ranks`; this module re-exports them
and keeps progress toward a target: an absolute score, or a percent increase over a base year
(target = base × (1 + pct/100)); ``progress`` = (current − base)/(target − base).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.change import change, change_papi, change_scores, change_sipas
from scoring.intervals import quantile
from scoring.ranks import (
    GroupRule,
    groups,
    rank,
    rank_intervals,
    score_rank_intervals,
    summary_rows,
    unit_rank_intervals,
)

__all__ = [
    "GroupRule", "change", "change_papi", "change_scores", "change_sipas", "groups", "progress",
    "rank", "rank_intervals", "score_rank_intervals", "significant_difference", "summary_rows",
    "unit_rank_intervals",
]  # fmt: skip


def progress(
    current: pd.Series,
    *,
    target: pd.Series | float | None = None,
    base: pd.Series | None = None,
    percent_increase: float | None = None,
) -> pd.DataFrame:
    """Progress of each unit toward a target score.

    Give ``target`` (absolute), or ``base`` and ``percent_increase`` (target = base × (1 + p/100),
    as "raise Transparency by 30% over 2014"). Returns ``current``, ``target``, ``gap``
    (target − current), ``achieved`` and ``progress`` ((current − base)/(target − base), when a
    base is known).

    Examples
    --------
    >>> out = progress(pd.Series([6.0]), base=pd.Series([5.0]), percent_increase=30)
    >>> out[["target", "gap", "progress"]].round(3).values.tolist()
    [[6.5, 0.5, 0.667]]
    """
    if target is None:
        if base is None or percent_increase is None:
            raise ValueError("give a target, or a base and a percent_increase")
        goal = base * (1 + percent_increase / 100)
    else:
        goal = target if isinstance(target, pd.Series) else pd.Series(target, index=current.index)
    out = pd.DataFrame({"current": current, "target": goal})
    out["gap"] = out["target"] - out["current"]
    out["achieved"] = out["current"] >= out["target"]
    if base is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            out["progress"] = (out["current"] - base) / (out["target"] - base)
    return out


def significant_difference(
    a: float, se_a: float, b: float, se_b: float, confidence: float = 0.95
) -> bool:
    """Whether two independent estimates differ at ``confidence`` (normal test on a − b)."""
    return bool(abs(a - b) > quantile(confidence, float("inf")) * float(np.hypot(se_a, se_b)))
