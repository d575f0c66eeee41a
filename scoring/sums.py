"""Sufficient statistics of linear composites of ratio means, for designs where every response is
its own PSU in a single stratum (kiosk ratings: ``SurveyDesign(weight=…)`` without strata or PSUs).

For such a design a composite ``θ = Σ_j a_j R_j`` of ratio means ``R_j = Y_j / X_j`` (Y_j = Σ w·y_j,
X_j = Σ w·v_j over the valid answers, v_j the validity indicator) has the linearised score
(:mod:`scoring.composites`)

    z_i = w_i · αᵀu_i,   u_i = (y_i1·v_i1, …, y_iq·v_iq, v_i1, …, v_iq),
    α = (a_j / X_j for the y part, −a_j R_j / X_j for the v part),

and its variance in a domain d of N responses in all (:mod:`scoring.linearization`, one stratum,
n_h = N) is

    v_d = N/(N − 1) · (Σ_{i∈d} z_i² − (Σ_{i∈d} z_i)² / N),

    Σ z_i² = αᵀ (Σ w_i² u_i u_iᵀ) α,   Σ z_i = αᵀ (Σ w_i u_i),

while the SRS variance behind the design effect needs Σ z_i²/w_i = αᵀ (Σ w_i u_i u_iᵀ) α and each
composite's count and Σw of the responses with a positive weight and a valid answer among its
ratios. So a domain is fully described by: its number of responses, Σ w·u, Σ w·u uᵀ, Σ w²·u uᵀ and
the composites' counts and weight sums — sums that add up over any partition of the responses
(days, units, services). :func:`row_sums` packs them for a set of rows, :func:`table_from_sums`
turns summed vectors into the same :class:`~scoring.results.EstimateTable` as
:func:`scoring.sipas.score_sipas` with that design, through the same :func:`build_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.arrays import FloatArray, IntArray
from scoring.composites import CompositeArrays, LinearPlan, srs_variance
from scoring.intervals import MIN_N, MIN_PSU, CiMethod, build_table, check_confidence
from scoring.linearization import DomainIndex
from scoring.results import EstimateTable

__all__ = ["SumsLayout", "change_table_from_sums", "grouped_sums", "row_sums", "table_from_sums"]


@dataclass(frozen=True, eq=False)
class SumsLayout:
    """Where each statistic sits in a packed vector, for a plan of ``q`` ratio means and ``m``
    composites (``coef`` of shape ``(q, m)``)."""

    coef: FloatArray
    kinds: tuple[str, ...]
    ids: tuple[str, ...]

    @classmethod
    def of(cls, plan: LinearPlan) -> SumsLayout:
        """The layout of ``plan`` (its offsets must be zero: SIPAS and PAPI plans' are)."""
        if np.any(plan.offset != 0):
            raise ValueError("sums need a plan without offsets")
        return cls(coef=np.asarray(plan.coef, dtype=np.float64), kinds=plan.kinds, ids=plan.ids)

    @property
    def q(self) -> int:
        return int(self.coef.shape[0])

    @property
    def m(self) -> int:
        return int(self.coef.shape[1])

    @property
    def p(self) -> int:
        """Length of u: q answers then q validity indicators."""
        return 2 * self.q

    @property
    def n_triangle(self) -> int:
        return self.p * (self.p + 1) // 2

    @property
    def size(self) -> int:
        """Length of a packed vector: N, Σw·u, triu(Σw·uuᵀ), triu(Σw²·uuᵀ), count(m), Σw(m)."""
        return 1 + self.p + 2 * self.n_triangle + 2 * self.m


def row_sums(layout: SumsLayout, y: FloatArray, weights: FloatArray) -> FloatArray:
    """The packed sums of rows with ratio values ``y`` (``(n, q)``, NaN: not valid) and weights.

    Raises
    ------
    ValueError
        If ``y`` does not have the layout's q columns or a weight is negative or not finite.
    """
    out: FloatArray = grouped_sums(layout, y, weights, np.zeros(len(y), dtype=np.int64), 1)[0]
    return out


#: Rows whose packed terms are formed at once by :func:`grouped_sums` (≈ 30 MB for a SIPAS layout).
BLOCK_ROWS = 8192


def grouped_sums(layout: SumsLayout, y: FloatArray, weights: FloatArray, groups: IntArray,
                 n_groups: int) -> FloatArray:
    """The packed sums of each group of rows (``groups``: the group number 0…n_groups−1 of each
    row), shape ``(n_groups, size)`` — what :func:`row_sums` of each group's rows gives, for any
    number of groups in one pass: the rows' terms are formed block by block (memory bounded by
    :data:`BLOCK_ROWS`, whatever the number of rows) and added up with ``np.add.reduceat`` over
    the rows sorted by group (a rollup rebuild sums hundreds of thousands of cells this way).

    Raises
    ------
    ValueError
        If ``y`` does not have the layout's q columns, a weight is negative or not finite, or a
        group number is outside 0…n_groups−1.
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    w = np.asarray(weights, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.int64)
    if y.shape[1] != layout.q or w.shape != (len(y),) or groups.shape != (len(y),):
        raise ValueError(f"expected {layout.q} ratio columns, {len(y)} weights and {len(y)} group numbers")
    if (~np.isfinite(w) | (w < 0)).any():
        raise ValueError("weights must be finite and non-negative")
    if len(groups) and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"group numbers must lie in 0…{n_groups - 1}")
    order = np.argsort(groups, kind="stable")
    out = np.zeros((n_groups, layout.size))
    for at in range(0, len(y), BLOCK_ROWS):
        rows = order[at:at + BLOCK_ROWS]
        block = groups[rows]
        starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
        out[block[starts]] += np.add.reduceat(_terms(layout, y[rows], w[rows]), starts, axis=0)
    return out


def _terms(layout: SumsLayout, y: FloatArray, w: FloatArray) -> FloatArray:
    """Each row's own packed vector (its sums as a group of one): 1, w·u, triu(w·uuᵀ),
    triu(w²·uuᵀ), and per composite the valid-and-weighted indicator and its weight."""
    valid = ~np.isnan(y)
    u = np.hstack([np.where(valid, y, 0.0), valid.astype(np.float64)])
    rows, cols = np.triu_indices(layout.p)
    outer = u[:, rows] * u[:, cols]
    used = (layout.coef != 0).astype(np.float64)
    any_valid = ((valid.astype(np.float64) @ used > 0) & (w > 0)[:, None]).astype(np.float64)
    return np.hstack([np.ones((len(y), 1)), w[:, None] * u, w[:, None] * outer, (w * w)[:, None] * outer,
                      any_valid, any_valid * w[:, None]])


@dataclass(frozen=True, eq=False)
class _Unpacked:
    n_rows: FloatArray  # (D,)
    m1: FloatArray  # (D, p)
    g1: FloatArray  # (D, p, p)
    g2: FloatArray  # (D, p, p)
    count: FloatArray  # (D, m)
    weight_sum: FloatArray  # (D, m)


def _unpack(layout: SumsLayout, sums: FloatArray) -> _Unpacked:
    sums = np.asarray(sums, dtype=np.float64).reshape(-1, layout.size)
    d, p, t, m = len(sums), layout.p, layout.n_triangle, layout.m
    rows, cols = np.triu_indices(p)

    def square(flat: FloatArray) -> FloatArray:
        full = np.zeros((d, p, p))
        full[:, rows, cols] = flat
        full[:, cols, rows] = flat
        return full

    at = 1 + p
    return _Unpacked(
        n_rows=sums[:, 0], m1=sums[:, 1:at], g1=square(sums[:, at:at + t]),
        g2=square(sums[:, at + t:at + 2 * t]), count=sums[:, at + 2 * t:at + 2 * t + m],
        weight_sum=sums[:, at + 2 * t + m:],
    )  # fmt: skip


def _ratios(layout: SumsLayout, parts: _Unpacked) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Ratio values R (NaN where X = 0), 1/X (1 where X = 0) and R/X (0 where X = 0), as
    :func:`scoring.composites.ratios`."""
    q = layout.q
    numer, denom = parts.m1[:, :q], parts.m1[:, q:]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denom != 0, numer / denom, np.nan)
    inv_x = 1.0 / np.where(denom != 0, denom, 1.0)
    return value, inv_x, np.nan_to_num(value) * inv_x


def _arrays(
    layout: SumsLayout, coef: FloatArray, parts: _Unpacked, value: FloatArray, alpha: FloatArray,
    count: FloatArray, weight_sum: FloatArray, n_total: float,
) -> CompositeArrays:
    """Composite arrays from the score coefficients ``alpha`` (``(D, p, m)``)."""
    sq, sq_size = _quad(alpha, parts.g2)
    srs_sum, srs_size = _quad(alpha, parts.g1)
    total = np.einsum("dpm,dp->dm", alpha, parts.m1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = n_total / (n_total - 1) if n_total > 1 else 0.0
        variance = scale * _denoise(sq - total * total / n_total, sq_size)
        srs_sum = _denoise(srs_sum, srs_size)
    srs = srs_variance(srs_sum, count, weight_sum)
    n = count.astype(np.int64)
    return CompositeArrays(value=value, variance=variance, srs_variance=srs, n=n,
                           n_psu=n.copy())  # fmt: skip


#: A sum of squares smaller than this fraction of the size of its terms is zero to rounding.
NOISE = 1e-13


def _quad(alpha: FloatArray, g: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``αᵀ G α`` per domain and composite, and the size of its terms ``|α|ᵀ |G| |α|``."""
    value: FloatArray = np.einsum("dpm,dpr,drm->dm", alpha, g, alpha)
    size: FloatArray = np.einsum("dpm,dpr,drm->dm", np.abs(alpha), np.abs(g), np.abs(alpha))
    return value, size


def _denoise(value: FloatArray, size: FloatArray) -> FloatArray:
    """``value`` (a sum of squares expanded into cross-products, which cancel) set to 0 where it is
    within rounding of 0: a domain of one answer, or of equal answers, has no variance, and the
    expansion would leave ~1e-17 of its O(1) terms — an SE of ~1e-9 instead of 0. A real variance
    is at least ~1/n of the terms' size, far above :data:`NOISE` for any n below 10¹²."""
    out: FloatArray = np.where(np.abs(value) <= NOISE * size, 0.0, value)
    return out


def _index(labels: pd.DataFrame) -> DomainIndex:
    empty: IntArray = np.zeros(0, dtype=np.int64)
    return DomainIndex(codes=empty, n_domains=len(labels), labels=labels.reset_index(drop=True),
                       group=empty, group_domain=empty, group_psu=empty, group_stratum=empty)


def table_from_sums(
    layout: SumsLayout,
    sums: FloatArray,
    labels: pd.DataFrame,
    *,
    n_total: float,
    confidence: float = 0.95,
    df: float | None = None,
    ci: Sequence[CiMethod] | CiMethod = "wald",
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Estimates per domain from the domains' summed packed vectors (``(D, size)``).

    ``labels`` holds the domain columns, one row per domain; ``n_total`` is the number of
    responses of the whole sample (domains are domains of it, as R ``svyby``); ``df`` the degrees
    of freedom of the intervals (default: the design's, N − 1). Equal to the estimates of the
    microdata with ``SurveyDesign(weight=…)`` up to rounding.
    """
    check_confidence(confidence)
    parts = _unpack(layout, sums)
    if len(labels) != len(parts.n_rows):
        raise ValueError(f"{len(labels)} labels for {len(parts.n_rows)} domains")
    ratio, inv_x, r_over_x = _ratios(layout, parts)
    coef = layout.coef
    used = coef != 0
    missing = np.isnan(ratio).astype(float) @ used.astype(float) > 0
    value = np.where(missing, np.nan, np.nan_to_num(ratio) @ coef)
    alpha = np.concatenate([coef[None, :, :] * inv_x[:, :, None], -coef[None, :, :] * r_over_x[:, :, None]], axis=1)
    arrays = _arrays(layout, coef, parts, value, alpha, parts.count, parts.weight_sum, n_total)
    return build_table(
        _index(labels), list(labels.columns), layout.kinds, layout.ids, arrays, confidence=confidence,
        df=float(n_total - 1) if df is None else df, ci=ci, min_n=min_n, min_psu=min_psu,
    )  # fmt: skip


def change_table_from_sums(
    layout: SumsLayout,
    current: FloatArray,
    base: FloatArray,
    labels: pd.DataFrame,
    *,
    n_total: float,
    confidence: float = 0.95,
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> pd.DataFrame:
    """Change ``θ_current − θ_base`` per domain from the sums of its responses in each period, as
    :func:`scoring.change.change_scores` with ``SurveyDesign(weight=…)``: the periods are disjoint,
    so Σz² and Σ(z²/w) add and Σz subtracts. Returns the same frame (``estimate`` = change, ``se``,
    interval on N − 1 df, ``base_estimate``, ``current_estimate``, ``p_value``, ``significant``)."""
    from scipy import special

    check_confidence(confidence)
    now, before = _unpack(layout, current), _unpack(layout, base)
    coef = layout.coef
    used = coef != 0
    out: list[tuple[FloatArray, FloatArray, FloatArray]] = []
    for parts in (now, before):
        ratio, inv_x, r_over_x = _ratios(layout, parts)
        missing = np.isnan(ratio).astype(float) @ used.astype(float) > 0
        value = np.where(missing, np.nan, np.nan_to_num(ratio) @ coef)
        alpha = np.concatenate([coef[None] * inv_x[:, :, None], -coef[None] * r_over_x[:, :, None]], axis=1)
        out.append((value, alpha, ratio))
    (v_now, a_now, r_now), (v_before, a_before, r_before) = out

    (sq_now, size_now), (sq_before, size_before) = _quad(a_now, now.g2), _quad(a_before, before.g2)
    (srs_now, srs_size_now), (srs_before, srs_size_before) = _quad(a_now, now.g1), _quad(a_before, before.g1)
    sq, sq_size = sq_now + sq_before, size_now + size_before
    srs_sum = _denoise(srs_now + srs_before, srs_size_now + srs_size_before)
    total = np.einsum("dpm,dp->dm", a_now, now.m1) - np.einsum("dpm,dp->dm", a_before, before.m1)
    count = now.count + before.count
    weight_sum = now.weight_sum + before.weight_sum
    missing = (np.isnan(r_now).astype(float) + np.isnan(r_before).astype(float)) @ used.astype(float) > 0
    value = np.where(missing, np.nan, np.nan_to_num(r_now) @ coef - np.nan_to_num(r_before) @ coef)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = n_total / (n_total - 1) if n_total > 1 else 0.0
        variance = scale * _denoise(sq - total * total / n_total, sq_size)
    n = count.astype(np.int64)
    arrays = CompositeArrays(value=value, variance=variance, srs_variance=srs_variance(srs_sum, count, weight_sum),
                             n=n, n_psu=n.copy())
    dof = float(n_total - 1)
    frame = build_table(_index(labels), list(labels.columns), layout.kinds, layout.ids, arrays,
                        confidence=confidence, df=dof, min_n=min_n, min_psu=min_psu).to_frame()
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(frame["estimate"].to_numpy(dtype=float) / frame["se"].to_numpy(dtype=float))
    frame["base_estimate"] = v_before.ravel()
    frame["current_estimate"] = v_now.ravel()
    frame["p_value"] = 2 * (special.ndtr(-t) if np.isinf(dof) else special.stdtr(dof, -t))
    frame["significant"] = (frame["ci_low"] > 0) | (frame["ci_high"] < 0)
    return frame
