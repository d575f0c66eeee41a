"""Ratio estimators and their linear composites: the engine under every estimate.

Every estimator is a function of ratio estimators ``R_j = Y_j / X_j`` of weighted domain totals
(a mean is the ratio of Σ w·y to Σ w over valid answers; a share satisfied is a mean of a 0/1
indicator; a total has X = 1). A composite index ``θ = Σ_j a_j R_j + b`` (an element index, the
SIPAS overall index, PAR 8.1 points, a PAPI sub-dimension or dimension) is linearised through its
influence function (Binder 1983; Deville 1999):

    z_i = Σ_j a_j · w_i · (y_ij − R_j x_ij) / X_j,

and its variance is the design variance of z (:mod:`scoring.linearization`), exactly what R
``survey`` computes with ``svycontrast`` on ``svyby(..., covmat=TRUE)`` output; with replicate
weights the composite is recomputed in every replicate (:mod:`scoring.replicates`).

The SRS variance behind the design effect (R ``svymean(..., deff=TRUE)``, Kish 1965) is
``v_srs = s²_w / n · (1 − n/Ŵ)``, ``s²_w`` the weighted variance with divisor n − 1 of the
linearised scores and Ŵ the sum of weights of the valid answers; a total's scores are centred at
the domain mean, as R ``svytotal(deff=TRUE)``. When Ŵ < n (weights scaled to the sample) R
returns NA; we use the with-replacement variant ``s²_w / n`` (R ``deff="replace"``) instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.arrays import BoolArray, FloatArray, IntArray
from scoring.design import PreparedDesign
from scoring.linearization import DomainIndex, domain_index, domain_variance


@dataclass(frozen=True, eq=False)
class Ratios:
    """Ratio estimators ``Y/X`` per domain and their linearised scores (internal)."""

    value: FloatArray  # (D, k)
    z: FloatArray  # (n, k)
    valid: BoolArray  # (n, k)
    group_y: FloatArray  # (G, k) totals of w·y per (domain, PSU) group
    group_x: FloatArray | None  # (G, k) totals of w·x, None for totals
    srs_z: FloatArray | None = None  # (n, k) centred scores for the SRS variance of totals


@dataclass(frozen=True, eq=False)
class LinearPlan:
    """Scores as linear composites of ratio means: ``value = R(y) @ coef + offset`` (internal).

    ``y`` holds the per-respondent values of the ratio means (NaN where not a valid answer; each
    mean is Σ w·y / Σ w over its valid answers); column j of ``coef`` and ``offset[j]`` define
    score j, of kind ``kinds[j]`` and id ``ids[j]``.
    """

    y: FloatArray  # (n, k)
    coef: FloatArray  # (k, m)
    offset: FloatArray  # (m,)
    kinds: tuple[str, ...]
    ids: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class CompositeArrays:
    """Point estimates, variances and counts of composites per domain (internal)."""

    value: FloatArray  # (D, m)
    variance: FloatArray  # (D, m)
    srs_variance: FloatArray  # (D, m)
    n: IntArray  # (D, m)
    n_psu: IntArray  # (D, m)
    dropped: IntArray | None = None  # (D, m) replicates with an undefined estimate


def ratios(
    design: PreparedDesign, index: DomainIndex, y: FloatArray, x: FloatArray | None
) -> Ratios:
    """Ratio estimators per domain of columns ``y`` over ``x`` (NaN in y marks invalid rows).

    With ``x`` None the estimator is the total of ``y`` (X = 1).
    """
    y2 = y.reshape(len(y), -1)
    valid = ~np.isnan(y2)
    yv = np.where(valid, y2, 0.0)
    w = design.weights[:, None]
    codes = index.codes
    n_groups = len(index.group_domain)

    def group_totals(values: FloatArray) -> FloatArray:
        return np.stack(
            [np.bincount(index.group, weights=values[:, j], minlength=n_groups)
             for j in range(values.shape[1])], axis=1,
        )  # fmt: skip

    if x is None:
        value = index.totals(w * yv)
        z = w * yv
        # the SRS variance of a total is centred at the domain mean (R svytotal(deff=TRUE))
        weight_sum = index.totals(np.where(valid, w, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            domain_mean = np.vstack([value / weight_sum, np.zeros((1, value.shape[1]))])
        srs_z = np.where(valid, w * (yv - np.take(np.nan_to_num(domain_mean), codes, axis=0)), 0.0)
        return Ratios(value=value, z=z, valid=valid, group_y=group_totals(w * yv), group_x=None,
                      srs_z=srs_z)  # fmt: skip
    else:
        xv = np.where(valid, x.reshape(len(x), -1), 0.0)
        wy = w * yv
        wx = w * xv
        numer = index.totals(wy)
        denom = index.totals(wx)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(denom != 0, numer / denom, np.nan)
        # z = w·(y − R·x)/X, as w·y·(1/X) − w·x·(R/X) with one gather per factor
        safe_x = np.vstack([np.where(denom != 0, denom, 1.0), np.ones((1, value.shape[1]))])
        inv_x = 1.0 / safe_x
        r_over_x = np.vstack([np.nan_to_num(value), np.zeros((1, value.shape[1]))]) * inv_x
        z = wy * np.take(inv_x, codes, axis=0)
        z -= wx * np.take(r_over_x, codes, axis=0)
    if design.replicate_factors is None:
        return Ratios(value=value, z=z, valid=valid, group_y=z[:0], group_x=None)
    return Ratios(value=value, z=z, valid=valid, group_y=group_totals(wy), group_x=group_totals(wx))


def replicate_values(
    design: PreparedDesign, index: DomainIndex, parts: Ratios, coef: FloatArray, offset: FloatArray
) -> FloatArray:
    """Composite estimates per domain and replicate, shape ``(D, m, R)``.

    NaN where a ratio the composite uses has no weight left in its domain in that replicate.
    """
    factors = design.replicate_factors
    if factors is None:
        raise ValueError("the design has no replicate weights")
    cells = (index.n_domains + 1) * design.n_psu
    key = index.group_domain * design.n_psu + index.group_psu

    def by_replicate(totals: FloatArray) -> FloatArray:
        out = np.empty((index.n_domains, totals.shape[1], factors.n_replicates))
        for j in range(totals.shape[1]):
            dense = np.bincount(key, weights=totals[:, j], minlength=cells)
            out[:, j, :] = (dense.reshape(index.n_domains + 1, design.n_psu) @ factors.factors)[
                : index.n_domains
            ]
        return out

    numer = by_replicate(parts.group_y)
    if parts.group_x is None:
        rates = numer
    else:
        denom = by_replicate(parts.group_x)
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = numer / denom
    used = (coef != 0).astype(float)
    undefined = np.einsum("dkr,km->dmr", np.isnan(rates).astype(float), used) > 0
    values: FloatArray = np.einsum("dkr,km->dmr", np.nan_to_num(rates), coef) + offset[:, None]
    return np.where(undefined, np.nan, values)


def composite(
    design: PreparedDesign,
    index: DomainIndex,
    parts: Ratios,
    coef: FloatArray,
    offset: FloatArray | None = None,
) -> CompositeArrays:
    """Linear composites ``parts.value @ coef + offset`` with their linearised variances."""
    k, m = coef.shape
    offset = np.zeros(m) if offset is None else offset
    used = coef != 0
    missing = np.isnan(parts.value).astype(float) @ used.astype(float) > 0
    value = np.nan_to_num(parts.value) @ coef + offset
    value = np.where(missing, np.nan, value)
    w = design.weights
    positive = w > 0
    inverse_w = np.where(positive, 1.0 / np.where(positive, w, 1.0), 0.0)
    variance = np.empty_like(value)
    srs = np.empty_like(value)
    n = np.empty(value.shape, dtype=np.int64)
    n_psu = np.empty(value.shape, dtype=np.int64)
    in_domain = index.codes < index.n_domains
    for j in range(m):
        cols = np.flatnonzero(used[:, j])
        z = parts.z[:, cols] @ coef[cols, j]
        zs = z if parts.srs_z is None else parts.srs_z[:, cols] @ coef[cols, j]
        any_valid = parts.valid[:, cols].any(axis=1) & in_domain & positive
        if design.calibration is not None:
            variance[:, j] = calibrated_variance(design, index, z)
        elif design.replicate_factors is None:
            variance[:, j] = domain_variance(design, index, z, any_valid)
        srs_sum = index.totals(zs * zs * inverse_w)
        count = index.totals(any_valid.astype(float))
        weight_sum = index.totals(np.where(any_valid, w, 0.0))
        srs[:, j] = srs_variance(srs_sum, count, weight_sum)
        n[:, j] = count.astype(np.int64)
        n_psu[:, j] = index.psu_counts(any_valid)
    dropped = None
    if design.replicate_factors is not None:
        replicated = replicate_values(design, index, parts, coef, offset)
        variance = design.replicate_factors.variance(replicated, value)
        dropped = design.replicate_factors.dropped(replicated)
    return CompositeArrays(value=value, variance=variance, srs_variance=srs, n=n, n_psu=n_psu,
                           dropped=dropped)  # fmt: skip


def srs_variance(srs_sum: FloatArray, count: FloatArray, weight_sum: FloatArray) -> FloatArray:
    """The SRS variance ``s²_w / n · (1 − n/Ŵ)`` per domain (module docstring) from ``Σ z²/w``,
    the count n of valid answers and their weight sum Ŵ: ``Σ z²/w · (Ŵ − n) / (n − 1)``, or
    ``Σ z²/w · Ŵ / (n − 1)`` (with replacement) when Ŵ < n.

    ``s²_w`` has the divisor n − 1, so a domain with fewer than two answers has none: NaN, as R's
    NA (a village with one interview). Computed only where it exists: with one answer the old
    ``Σ z²/w × (Ŵ − n)/0`` was 0 × ∞ (a floating-point warning) when the score was exactly 0, and
    ∞ when rounding left it 1e-18 — a design effect of 0, an effective sample size of ∞.

    Examples
    --------
    >>> srs_variance(np.array([0.0, 2.0, 8.0]), np.array([1.0, 3.0, 5.0]), np.array([2.5, 3.0, 10.0]))
    array([nan,  0., 10.])
    """
    several = count >= 2
    scale = np.where(weight_sum >= count, weight_sum - count, weight_sum)
    return np.where(several, srs_sum * scale / np.where(several, count - 1, 1.0), np.nan)


def calibrated_variance(design: PreparedDesign, index: DomainIndex, z: FloatArray) -> FloatArray:
    """Variance per domain of scores ``z`` after calibration.

    The residual projection mixes rows of different domains, so each domain's score column
    (z on its rows, 0 elsewhere) is residualised on its own, then its variance is taken over
    the whole sample.
    """
    calibration = design.calibration
    if calibration is None:
        raise ValueError("the design is not calibrated")
    whole = domain_index(pd.DataFrame(index=range(design.n_rows)), [], design)
    out = np.empty(index.n_domains)
    for d in range(index.n_domains):
        residual = calibration.residualize(np.where(index.codes == d, z, 0.0))
        # a calibrated domain keeps every row (R sets weights to 0 outside it): all strata count
        out[d] = domain_variance(design, whole, residual, np.ones(design.n_rows, dtype=bool))[0]
    return out


def composite_value(values: FloatArray, coef: FloatArray, offset: FloatArray) -> FloatArray:
    """``values @ coef + offset`` per domain, missing where any component it uses is missing."""
    uses_missing = np.isnan(values).astype(float) @ (coef != 0).astype(float) > 0
    result: FloatArray = np.where(uses_missing, np.nan, np.nan_to_num(values) @ coef + offset)
    return result
