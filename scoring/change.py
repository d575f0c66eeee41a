"""Change since a previous period, with the covariance of the PSUs both periods share.

``Δ = θ_current − θ_base`` in each domain, for a mean, a share satisfied or any composite (SIPAS
element index, overall index, PAR points; PAPI sub-dimension, dimension, total), with the
variance of the difference of the two linearised scores, ``v(z_current − z_base)``, on the full
design — the periods are domains of one design, so the covariance from PSUs interviewed in both
periods is included (R ``svycontrast`` on ``svyby(..., ~period, ..., covmat=TRUE)``).
``significant`` is true when the interval excludes 0.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd
from scipy import special

from scoring.composites import LinearPlan, composite, composite_value, ratios
from scoring.design import SurveyDesign
from scoring.estimators import Statistic, item_answers
from scoring.intervals import (
    MIN_N,
    MIN_PSU,
    DegreesOfFreedom,
    build_table,
    check_confidence,
    resolve_df,
)
from scoring.linearization import domain_index
from scoring.papi import PapiSpec, papi_plan
from scoring.results import EstimateTable
from scoring.sipas import SipasSpec, sipas_plan

__all__ = ["change", "change_papi", "change_scores", "change_sipas"]


def change(
    data: pd.DataFrame,
    column: str,
    *,
    period: str,
    base: object,
    current: object,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    statistic: Statistic = "mean",
    satisfied: Collection[float] = frozenset({4, 5}),
    confidence: float = 0.95,
    df: DegreesOfFreedom = "design",
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Change of a mean or share satisfied from period ``base`` to ``current``, per domain.

    Returns an :class:`EstimateTable` of ``kind="change"`` with the extra columns of
    :func:`change_scores` (``base_estimate``, ``current_estimate``, ``p_value``,
    ``significant``).

    Examples
    --------
    >>> data = pd.DataFrame({"year": [1, 1, 1, 2, 2, 2], "q": [1.0, 2, 3, 3, 4, 5]})
    >>> float(change(data, "q", period="year", base=1, current=2).to_frame()["estimate"].iloc[0])
    2.0
    """
    answers = item_answers(data, column, statistic, satisfied)[:, None]
    plan = LinearPlan(y=answers, coef=np.eye(1), offset=np.zeros(1), kinds=("change",),
                      ids=(column,))  # fmt: skip
    return change_scores(
        data, plan, period=period, base=base, current=current, design=design, by=by,
        confidence=confidence, df=df, min_n=min_n, min_psu=min_psu,
    )  # fmt: skip


def change_sipas(
    data: pd.DataFrame,
    spec: SipasSpec,
    *,
    period: str,
    base: object,
    current: object,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
    df: DegreesOfFreedom = "design",
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Change of every SIPAS score (criterion rates, element indices, overall, PAR points, mean
    score) from period ``base`` to ``current``, per domain; rows keep the kinds and ids of
    :func:`scoring.sipas.score_sipas`. See :func:`change_scores` for the variance and columns.
    """
    return change_scores(
        data, sipas_plan(data, spec), period=period, base=base, current=current, design=design,
        by=by, confidence=confidence, df=df, min_n=min_n, min_psu=min_psu,
    )  # fmt: skip


def change_papi(
    data: pd.DataFrame,
    spec: PapiSpec,
    *,
    period: str,
    base: object,
    current: object,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
    df: DegreesOfFreedom = "design",
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Change of every PAPI score (indicators, sub-dimensions, dimensions, total) from period
    ``base`` to ``current``, per domain (e.g. province); rows keep the kinds and ids of
    :func:`scoring.papi.score_papi`. See :func:`change_scores` for the variance and columns.
    """
    return change_scores(
        data, papi_plan(data, spec), period=period, base=base, current=current, design=design,
        by=by, confidence=confidence, df=df, min_n=min_n, min_psu=min_psu,
    )  # fmt: skip


def change_scores(
    data: pd.DataFrame,
    plan: LinearPlan,
    *,
    period: str,
    base: object,
    current: object,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
    df: DegreesOfFreedom = "design",
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Change ``θ_current − θ_base`` of each score of ``plan`` per domain, on the full design.

    The periods are domains of one design: every ratio mean is estimated in each period, and
    the change of score j is the contrast ``Σ_k a_kj (R_k,current − R_k,base)`` (offsets cancel).
    Its variance is that of the linearised contrast, so PSUs interviewed in both periods add
    their covariance — as R ``svycontrast`` on ``svyby(..., ~period, ..., covmat=TRUE)``.

    Returns
    -------
    EstimateTable
        ``estimate`` = change, its ``se``, interval (t on ``df``), plus ``base_estimate``,
        ``current_estimate``, ``p_value`` (two-sided) and ``significant`` (interval excludes 0).
        ``n`` counts respondents of either period with a valid answer behind the score; ``deff``
        compares with a simple random sample of those respondents.

    Raises
    ------
    ValueError
        If the period column is missing or ``base``/``current`` do not occur in it.
    """
    check_confidence(confidence)
    if period not in data.columns:
        raise ValueError(f"period column {period!r} is not in the data")
    design = design or SurveyDesign()
    periods = data[period]
    for value in (base, current):
        if not (periods == value).any():
            raise ValueError(f"period {value!r} does not occur in column {period!r}")
    now = (periods == current).to_numpy()[:, None]
    before = (periods == base).to_numpy()[:, None]
    y = np.hstack([np.where(now, plan.y, np.nan), np.where(before, plan.y, np.nan)])
    prepared = design.prepare(data)
    index = domain_index(data, by, prepared)
    parts = ratios(prepared, index, y, np.ones_like(y))
    zero = np.zeros_like(plan.coef)
    arrays = composite(prepared, index, parts, np.vstack([plan.coef, -plan.coef]))
    levels = np.vstack([plan.coef, zero]), np.vstack([zero, plan.coef])
    current_value, base_value = (composite_value(parts.value, c, plan.offset) for c in levels)
    dof = resolve_df(df, prepared)
    table = build_table(index, by, plan.kinds, plan.ids, arrays, confidence=confidence, df=dof,
                        min_n=min_n, min_psu=min_psu)  # fmt: skip
    frame = table.to_frame()
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(frame["estimate"].to_numpy(dtype=float) / frame["se"].to_numpy(dtype=float))
    p = 2 * (special.ndtr(-t) if np.isinf(dof) else special.stdtr(dof, -t))
    frame["base_estimate"] = base_value.ravel()
    frame["current_estimate"] = current_value.ravel()
    frame["p_value"] = p
    frame["significant"] = (frame["ci_low"] > 0) | (frame["ci_high"] < 0)
    return EstimateTable(by=tuple(by), _frame=frame)
