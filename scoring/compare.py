"""Comparisons between units and periods: change, ranks with uncertainty, groups, medians, targets.

- Change since a previous period: ``Δ = θ_current − θ_base`` in each domain, for a mean, a share
  satisfied or any composite (SIPAS element index, overall index, PAR points; PAPI sub-dimension,
  dimension, total), with the variance of the difference of the two linearised scores,
  ``v(z_current − z_base)``, on the full design — the periods are domains of one design, so the
  covariance from PSUs interviewed in both periods is included (R ``svycontrast`` on
  ``svyby(..., ~period, ..., covmat=TRUE)``). ``significant`` is true when the interval excludes 0.
- Ranks: 1 = best; ties share the best rank (competition ranking "1224", R ``rank(ties.method=
  "min")``); units without a score are left out of the ranking but count in nothing else.
- Rank intervals: ranks recomputed in every bootstrap replicate of any score (an item or a
  composite); the interval is the (α/2, 1 − α/2) quantiles of the replicate ranks (Goldstein &
  Spiegelhalter 1996). Jackknife replicates are refused: their spread is not the sampling spread.
- Performance groups (nhóm 1–4): cut at the 25th, 50th and 75th percentiles of the scores of the
  ranked units (linear interpolation, R ``quantile(type=7)``); nhóm 1 = score ≥ Q3, nhóm 2 =
  ≥ median, nhóm 3 = ≥ Q1, nhóm 4 below; a score equal to a cut point goes to the better group.
- Median over units ("điểm trung vị"), best score, and the "Highest" row as the column-wise
  maximum over units.
- Progress toward a target: an absolute score, or a percent increase over a base year
  (target = base × (1 + pct/100)); ``progress`` = (current − base)/(target − base).
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from scoring.design import SurveyDesign
from scoring.estimators import (
    MIN_N,
    MIN_PSU,
    DegreesOfFreedom,
    LinearPlan,
    build_table,
    check_level,
    composite,
    item_values,
    quantile,
    ratios,
    replicate_values,
    resolve_df,
)
from scoring.linearization import domain_index
from scoring.papi import PapiSpec, papi_plan
from scoring.results import EstimateTable
from scoring.sipas import SipasSpec, sipas_plan

Statistic = Literal["mean", "proportion"]
GroupRule = Literal["quartile", "equal_count"]


def _answers(
    data: pd.DataFrame, column: str, statistic: Statistic, satisfied: Collection[float]
) -> np.ndarray:
    values = item_values(data, [column])[:, 0]
    if statistic == "mean":
        return values
    if statistic == "proportion":
        hit = np.isin(values, np.asarray(list(satisfied), dtype=float)).astype(float)
        return np.where(np.isnan(values), np.nan, hit)
    raise ValueError(f"statistic must be 'mean' or 'proportion', got {statistic!r}")


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
    level: float = 0.95,
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
    answers = _answers(data, column, statistic, satisfied)[:, None]
    plan = LinearPlan(y=answers, coef=np.eye(1), offset=np.zeros(1), kinds=("change",),
                      ids=(column,))  # fmt: skip
    return change_scores(
        data, plan, period=period, base=base, current=current, design=design, by=by,
        level=level, df=df, min_n=min_n, min_psu=min_psu,
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
    level: float = 0.95,
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
        by=by, level=level, df=df, min_n=min_n, min_psu=min_psu,
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
    level: float = 0.95,
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
        by=by, level=level, df=df, min_n=min_n, min_psu=min_psu,
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
    level: float = 0.95,
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
    check_level(level)
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
    current_value, base_value = (_composite_value(parts.value, c, plan.offset) for c in levels)
    dof = resolve_df(df, prepared)
    table = build_table(index, by, plan.kinds, plan.ids, arrays, level=level, df=dof,
                        min_n=min_n, min_psu=min_psu)  # fmt: skip
    frame = table.to_frame()
    from scipy import special

    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(frame["estimate"].to_numpy(dtype=float) / frame["se"].to_numpy(dtype=float))
    p = 2 * (special.ndtr(-t) if np.isinf(dof) else special.stdtr(dof, -t))
    frame["base_estimate"] = base_value.ravel()
    frame["current_estimate"] = current_value.ravel()
    frame["p_value"] = p
    frame["significant"] = (frame["ci_low"] > 0) | (frame["ci_high"] < 0)
    return EstimateTable(by=tuple(by), _frame=frame)


def _composite_value(values: np.ndarray, coef: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``values @ coef + offset`` per domain, missing where any component it uses is missing."""
    uses_missing = np.isnan(values).astype(float) @ (coef != 0).astype(float) > 0
    result: np.ndarray = np.where(uses_missing, np.nan, np.nan_to_num(values) @ coef + offset)
    return result


def rank(scores: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Competition ranks (1 = best, ties share the best rank); missing scores get no rank.

    Examples
    --------
    >>> rank(pd.Series([5.0, 7.0, 7.0, None, 6.0])).tolist()
    [4.0, 1.0, 1.0, nan, 3.0]
    """
    return scores.rank(method="min", ascending=not higher_is_better, na_option="keep")


def groups(scores: pd.Series, *, rule: GroupRule = "quartile") -> pd.Series:
    """Performance group nhóm 1 (highest) … 4 (lowest) by quartile of ``scores``.

    ``quartile``: cut at Q1, median, Q3 of the scores (R type 7); a score on a cut goes to the
    better group. ``equal_count``: group ``ceil(4 · rank / N)`` with competition ranks.
    Missing scores get no group.

    Examples
    --------
    >>> groups(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0])).tolist()
    [4.0, 3.0, 2.0, 1.0, 1.0]
    """
    valid = scores.dropna()
    out = pd.Series(np.nan, index=scores.index)
    if valid.empty:
        return out
    if rule == "quartile":
        q1, q2, q3 = np.quantile(valid.to_numpy(dtype=float), [0.25, 0.5, 0.75])
        values = valid.to_numpy(dtype=float)
        out[valid.index] = np.select([values >= q3, values >= q2, values >= q1], [1, 2, 3], 4)
    elif rule == "equal_count":
        ranks = rank(valid).to_numpy()
        out[valid.index] = np.ceil(4 * ranks / len(valid))
    else:
        raise ValueError(f"rule must be 'quartile' or 'equal_count', got {rule!r}")
    return out


def summary_rows(scores: pd.DataFrame) -> pd.DataFrame:
    """Median ("điểm trung vị"), best score and "Highest" (column-wise maximum) of each column.

    ``scores`` has one row per unit and one column per measure. The "Highest" of a total is the
    maximum of that column, which differs from the sum of the dimension maxima; use
    ``highest_total`` for the official-sheet convention.
    """
    numeric = scores.select_dtypes("number")
    return pd.DataFrame(
        {"median": numeric.median(skipna=True), "highest": numeric.max(skipna=True),
         "lowest": numeric.min(skipna=True)}
    ).T  # fmt: skip


def rank_intervals(
    estimates: np.ndarray, replicates: np.ndarray, *, level: float = 0.95,
    higher_is_better: bool = True,
) -> pd.DataFrame:  # fmt: skip
    """Ranks of units with intervals from replicate estimates.

    Parameters
    ----------
    estimates : ndarray, shape (U,)
        Full-sample estimates per unit.
    replicates : ndarray, shape (U, R)
        Replicate estimates per unit.
    level : float
        Coverage of the rank interval.

    Returns
    -------
    DataFrame
        ``rank``, ``rank_low``, ``rank_high`` (quantiles of the replicate ranks, rounded outward)
        and ``replicates_dropped``: replicates in which the unit's estimate is undefined (its
        domain had no weight left) are left out of its quantiles, as R's ``svrVar`` drops them
        from a variance, and the unit is not ranked in them.
    """
    check_level(level)
    sign = -1.0 if higher_is_better else 1.0
    point = pd.Series(estimates).rank(method="min", ascending=not higher_is_better).to_numpy()
    keys = sign * np.asarray(replicates, dtype=float)
    # competition rank of each unit within each replicate; NaN sorts last, so a unit whose
    # estimate is undefined in a replicate (no weight left) is ranked in none and moves no one
    order = np.sort(keys, axis=0)
    rep_ranks = np.empty_like(keys)
    for r in range(keys.shape[1]):
        rep_ranks[:, r] = np.searchsorted(order[:, r], keys[:, r], side="left") + 1
    undefined = np.isnan(keys)
    rep_ranks[undefined] = np.nan
    alpha = 1 - level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a unit undefined in every replicate
        low = np.floor(np.nanquantile(rep_ranks, alpha / 2, axis=1))
        high = np.ceil(np.nanquantile(rep_ranks, 1 - alpha / 2, axis=1))
    return pd.DataFrame({"rank": point, "rank_low": low, "rank_high": high,
                         "replicates_dropped": undefined.sum(axis=1)})  # fmt: skip


def unit_rank_intervals(
    data: pd.DataFrame,
    column: str,
    *,
    unit: str,
    design: SurveyDesign,
    statistic: Statistic = "mean",
    satisfied: Collection[float] = frozenset({4, 5}),
    level: float = 0.95,
) -> pd.DataFrame:
    """Rank units on a mean or share satisfied with 95% rank intervals from bootstrap replicates.

    ``design`` must use ``variance="bootstrap"``.
    """
    answers = _answers(data, column, statistic, satisfied)[:, None]
    plan = LinearPlan(y=answers, coef=np.eye(1), offset=np.zeros(1), kinds=("item",), ids=(column,))
    return score_rank_intervals(data, plan, score=column, unit=unit, design=design, level=level)


def score_rank_intervals(
    data: pd.DataFrame,
    plan: LinearPlan,
    *,
    score: str,
    unit: str,
    design: SurveyDesign,
    level: float = 0.95,
    units: Collection[object] | None = None,
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Rank units on one score of ``plan`` — a single item or a composite such as the SIPAS
    overall index (:func:`scoring.sipas.sipas_plan`) or the PAPI total
    (:func:`scoring.papi.papi_plan`) — with rank intervals from bootstrap replicates.

    Each unit is a domain of the full design. ``units``, when given, restricts the ranking to
    those unit values (e.g. the units with enough answers to publish); the others get no rank.
    The design must use ``variance="bootstrap"``: the spread of (Rao–Wu rescaled) bootstrap
    replicates is the sampling spread, whereas jackknife replicates sit much closer to the full
    estimate and would give intervals that are far too narrow.

    Returns
    -------
    DataFrame
        One row per unit ranked: the unit value, ``estimate``, ``rank``, ``rank_low``,
        ``rank_high``.
    """
    if design.variance != "bootstrap":
        raise ValueError("rank intervals need a bootstrap design: variance='bootstrap'")
    check_level(level)
    try:
        j = plan.ids.index(score)
    except ValueError:
        raise ValueError(f"score {score!r} is not one of the plan's scores") from None
    prepared = design.prepare(data)
    index = domain_index(data, [unit], prepared)
    parts = ratios(prepared, index, plan.y, np.ones_like(plan.y))
    coef, offset = plan.coef[:, [j]], plan.offset[[j]]
    reps = replicate_values(prepared, index, parts, coef, offset)[:, 0, :]
    estimates = _composite_value(parts.value, coef, offset)[:, 0]
    labels = index.labels[unit].to_numpy()
    keep = ~np.isnan(estimates)
    if units is not None:
        keep &= np.isin(labels, np.asarray(list(units), dtype=labels.dtype))
    out = rank_intervals(
        estimates[keep], reps[keep], level=level, higher_is_better=higher_is_better
    )
    out.insert(0, "estimate", estimates[keep])
    out.insert(0, unit, labels[keep])
    return out


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
    a: float, se_a: float, b: float, se_b: float, level: float = 0.95
) -> bool:
    """Whether two independent estimates differ at ``level`` (normal test on a − b)."""
    return bool(abs(a - b) > quantile(level, float("inf")) * float(np.hypot(se_a, se_b)))
