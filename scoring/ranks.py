"""Ranks of units with their uncertainty, performance groups, medians over units.

- Ranks: 1 = best; ties share the best rank (competition ranking "1224", R ``rank(ties.method=
  "min")``); units without a score are left out of the ranking but count in nothing else.
- Rank intervals: ranks recomputed in every bootstrap replicate of any score (an item or a
  composite); the interval is the (α/2, 1 − α/2) quantiles of the replicate ranks (Goldstein &
  Spiegelhalter 1996). Jackknife replicates are refused: their spread is not the sampling spread.
  The replicates are the Rao–Wu bootstrap of :mod:`scoring.replicates` — the same random draws
  from the same seed — but computed by :func:`replicate_scores` a few replicates and a stratum at
  a time from sparse (domain, PSU) totals: O(#PSU × R) work and memory for one chunk, where the
  dense product of :func:`scoring.composites.replicate_values` costs O(#domains × #PSU × R)
  with an (#PSU × R) array of factors (1 GB at 250,000 kiosk ratings, each its own PSU). The
  two agree to rounding (``tests/test_scoring_ranks_fast.py``).
- Performance groups (nhóm 1–4): cut at the 25th, 50th and 75th percentiles of the scores of the
  ranked units (linear interpolation, R ``quantile(type=7)``); nhóm 1 = score ≥ Q3, nhóm 2 =
  ≥ median, nhóm 3 = ≥ Q1, nhóm 4 below; a score equal to a cut point goes to the better group.
- Median over units ("điểm trung vị"), best score, and the "Highest" row as the column-wise
  maximum over units.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

from scoring.arrays import FloatArray
from scoring.composites import LinearPlan, composite_value, ratios
from scoring.design import PreparedDesign, SurveyDesign
from scoring.estimators import Statistic, item_answers
from scoring.intervals import check_confidence
from scoring.linearization import DomainIndex, domain_index

__all__ = ["groups", "rank", "rank_intervals", "replicate_scores", "score_rank_intervals",
           "summary_rows", "unit_rank_intervals"]  # fmt: skip

GroupRule = Literal["quartile", "equal_count"]


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
    estimates: np.ndarray, replicates: np.ndarray, *, confidence: float = 0.95,
    higher_is_better: bool = True,
) -> pd.DataFrame:  # fmt: skip
    """Ranks of units with intervals from replicate estimates.

    Parameters
    ----------
    estimates : ndarray, shape (U,)
        Full-sample estimates per unit.
    replicates : ndarray, shape (U, R)
        Replicate estimates per unit.
    confidence : float
        Coverage of the rank interval.

    Returns
    -------
    DataFrame
        ``rank``, ``rank_low``, ``rank_high`` (quantiles of the replicate ranks, rounded outward)
        and ``replicates_dropped``: replicates in which the unit's estimate is undefined (its
        domain had no weight left) are left out of its quantiles, as R's ``svrVar`` drops them
        from a variance, and the unit is not ranked in them.
    """
    check_confidence(confidence)
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
    alpha = 1 - confidence
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
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Rank units on a mean or share satisfied with 95% rank intervals from bootstrap replicates.

    ``design`` must use ``variance="bootstrap"``.
    """
    answers = item_answers(data, column, statistic, satisfied)[:, None]
    plan = LinearPlan(y=answers, coef=np.eye(1), offset=np.zeros(1), kinds=("item",), ids=(column,))
    return score_rank_intervals(
        data, plan, score=column, unit=unit, design=design, confidence=confidence
    )


def score_rank_intervals(
    data: pd.DataFrame,
    plan: LinearPlan,
    *,
    score: str,
    unit: str,
    design: SurveyDesign,
    confidence: float = 0.95,
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
    check_confidence(confidence)
    try:
        j = plan.ids.index(score)
    except ValueError:
        raise ValueError(f"score {score!r} is not one of the plan's scores") from None
    # the design without its (#PSU × R) factors: replicate_scores draws them a chunk at a time
    prepared = replace(design, variance="taylor").prepare(data)
    index = domain_index(data, [unit], prepared)
    parts = ratios(prepared, index, plan.y, np.ones_like(plan.y))
    coef, offset = plan.coef[:, [j]], plan.offset[[j]]
    reps = replicate_scores(prepared, index, plan.y, np.ones_like(plan.y), coef, offset,
                            replicates=design.replicates, seed=design.seed)[:, 0, :]
    estimates = composite_value(parts.value, coef, offset)[:, 0]
    labels = index.labels[unit].to_numpy()
    keep = ~np.isnan(estimates)
    if units is not None:
        keep &= np.isin(labels, np.asarray(list(units), dtype=labels.dtype))
    out = rank_intervals(
        estimates[keep], reps[keep], confidence=confidence, higher_is_better=higher_is_better
    )
    out.insert(0, "estimate", estimates[keep])
    out.insert(0, unit, labels[keep])
    return out


def replicate_scores(
    design: PreparedDesign, index: DomainIndex, y: FloatArray, x: FloatArray | None, coef: FloatArray,
    offset: FloatArray, *, replicates: int, seed: int, chunk: int = 25,
) -> FloatArray:
    """Composite estimates per domain and Rao–Wu bootstrap replicate, shape ``(D, m, R)``, of
    the ratios ``Σ w·y / Σ w·x`` over valid (non-NaN) ``y`` (totals of ``y`` when ``x`` is None)
    combined by ``coef`` and ``offset``.

    The same numbers as :func:`scoring.composites.replicate_values` on the design prepared with
    ``variance="bootstrap", replicates=replicates, seed=seed`` (the factors of
    :func:`scoring.replicates.bootstrap_factors`: one generator, strata in order, each drawing
    its multinomial counts for all replicates; drawing them ``chunk`` replicates at a time leaves
    the stream unchanged), without the (#PSU × R) factor array and the dense
    (#domains × #PSU) @ (#PSU × R) product: each stratum's (domain, PSU) totals are a sparse
    matrix multiplied by that stratum's counts. NaN where a ratio the composite uses has no
    weight left in its domain in that replicate.

    Examples
    --------
    >>> from scoring.design import SurveyDesign
    >>> data = pd.DataFrame({"u": ["a", "a", "b", "b", "b"], "y": [1.0, 0.0, 1.0, 1.0, 0.0]})
    >>> prepared = SurveyDesign().prepare(data)
    >>> index = domain_index(data, ["u"], prepared)
    >>> y = data[["y"]].to_numpy()
    >>> replicate_scores(prepared, index, y, np.ones_like(y), np.eye(1), np.zeros(1), replicates=3, seed=1).shape
    (2, 1, 3)
    """
    if replicates < 2:
        raise ValueError(f"need at least 2 bootstrap replicates, got {replicates!r}")
    y2 = y.reshape(len(y), -1)
    valid = ~np.isnan(y2)
    w = design.weights[:, None]
    per_row = w * np.where(valid, y2, 0.0)
    if x is not None:
        per_row = np.hstack([per_row, w * np.where(valid, x.reshape(len(x), -1), 0.0)])
    n_domains, k = index.n_domains, y2.shape[1]
    n_groups = len(index.group_domain)
    columns = np.stack([np.bincount(index.group, weights=per_row[:, j], minlength=n_groups)
                        for j in range(per_row.shape[1])], axis=1)
    width = columns.shape[1]
    inside = index.group_domain < n_domains
    totals = np.zeros((n_domains * width, replicates))
    rng = np.random.default_rng(seed)
    stratum_of_group = design.stratum_of_psu[index.group_psu]
    for h in np.unique(design.stratum_of_psu):
        members = np.flatnonzero(design.stratum_of_psu == h)
        n_h = len(members)
        mine = np.flatnonzero(inside & (stratum_of_group == h))
        rows = (index.group_domain[mine][:, None] * width + np.arange(width)).ravel()
        values = columns[mine].ravel()
        if n_h < 2:  # a stratum with one PSU keeps factor 1 (it adds no variance)
            totals += np.bincount(rows, weights=values, minlength=n_domains * width)[:, None]
            continue
        position = np.searchsorted(members, index.group_psu[mine])
        block = sparse.csr_matrix((values, (rows, np.repeat(position, width))), shape=(n_domains * width, n_h))
        uniform = np.full(n_h, 1.0 / n_h)
        for first in range(0, replicates, chunk):
            size = min(chunk, replicates - first)
            counts = rng.multinomial(n_h - 1, uniform, size=size)  # (size, n_h), as bootstrap_factors
            totals[:, first:first + size] += (n_h / (n_h - 1)) * (block @ counts.T.astype(float))
    totals = totals.reshape(n_domains, width, replicates)
    numer = totals[:, :k]
    if x is None:
        rates = numer
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = numer / totals[:, k:]
    used = (coef != 0).astype(float)
    undefined = np.einsum("dkr,km->dmr", np.isnan(rates).astype(float), used) > 0
    out: FloatArray = np.einsum("dkr,km->dmr", np.nan_to_num(rates), coef) + offset[:, None]
    return np.where(undefined, np.nan, out)
