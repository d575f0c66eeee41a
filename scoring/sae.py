"""Small-area estimates for communes and villages: the Fay–Herriot area-level model (EBLUP).

With thousands of communes and a few respondents in most, a commune's direct estimate is too
noisy to rank on. The area-level model of Fay & Herriot (1979) borrows strength from covariates
known for every area (census aggregates, urban/rural, administrative figures):

    θ̂_i = θ_i + e_i,  e_i ~ N(0, ψ_i)   (direct estimate, design variance ψ_i taken as known)
    θ_i = x_iᵀβ + v_i,  v_i ~ N(0, σ²_v)

The EBLUP (Rao & Molina 2015, §6.1) is ``θ̃_i = γ_i θ̂_i + (1 − γ_i) x_iᵀβ̂`` with
``γ_i = σ̂²_v / (σ̂²_v + ψ_i)`` and β̂ the GLS fit with weights 1/(σ̂²_v + ψ_i); σ²_v is
estimated by REML or ML with Fisher scoring (Rao & Molina §6.1.2), truncated at 0.

MSE by the Prasad–Rao (1990) / Datta–Lahiri (2000) second-order formula (Rao & Molina §6.2.1):
``mse_i = g1_i + g2_i + 2 g3_i`` (REML), minus ``b_ML(σ̂²_v)·(1 − γ_i)²`` for ML, with
``g1 = γ_i ψ_i``, ``g2 = (1 − γ_i)² x_iᵀ(XᵀV⁻¹X)⁻¹x_i``, ``g3 = (1 − γ_i)² · 2/Σ_j v_j⁻² / v_i``.
The same numbers as ``samplics.sae.EblupAreaModel`` (checked to 1e-8 in the tests). A parametric
bootstrap MSE (González-Manteiga et al. 2008) is an option. An area with no sample gets the
synthetic estimate ``x_iᵀβ̂`` with MSE ``σ̂²_v + x_iᵀ(XᵀV⁻¹X)⁻¹x_i``.

Proportions may be modelled on the arcsine scale, ``arcsin √p̂`` with variance ``1/(4 n_eff)``
(Kish's effective sample size, so the design effect is kept), and back-transformed with ``sin²``
(intervals are back-transformed bounds). Direct variances of areas with fewer than ``min_psu``
PSUs (no between-PSU spread) are replaced by the smoothed ``S² · d̄ / n_i`` (pooled unit variance
S², median design effect d̄ of the other areas). Benchmarking multiplies the estimates so that
their weighted sum equals the province's direct estimate (ratio benchmarking).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from scoring.arrays import FloatArray
from scoring.design import SurveyDesign
from scoring.estimators import Statistic, mean, proportion
from scoring.intervals import check_confidence
from scoring.ranks import rank_intervals
from scoring.results import EstimateTable

FitMethod = Literal["REML", "ML"]
MseMethod = Literal["analytic", "bootstrap"]
Transform = Literal["none", "arcsine"]
#: The label every modelled estimate carries where it is shown or published.
MODELLED_LABEL = "modelled estimate (Fay–Herriot EBLUP)"

__all__ = [
    "MODELLED_LABEL", "FayHerriotFit", "direct_estimates", "direct_from_table", "eblup",
    "fit_fay_herriot", "posterior_rank_intervals", "small_area_estimates",
]  # fmt: skip


@dataclass(frozen=True, eq=False)
class FayHerriotFit:
    """A fitted Fay–Herriot model.

    Attributes
    ----------
    method : {"REML", "ML"}
    beta : ndarray (p,)
        GLS regression coefficients (the first is the intercept when one was added).
    beta_cov : ndarray (p, p)
        ``(XᵀV⁻¹X)⁻¹`` at σ̂²_v.
    sigma2_v : float
        Variance of the area effects (0 when truncated).
    sigma2_v_var : float
        Inverse Fisher information of σ²_v.
    iterations : int
    converged : bool
    """

    method: FitMethod
    beta: FloatArray
    beta_cov: FloatArray
    sigma2_v: float
    sigma2_v_var: float
    iterations: int
    converged: bool


def _gls(
    y: FloatArray, x: FloatArray, psi: FloatArray, sigma2: float
) -> tuple[FloatArray, FloatArray]:
    inv_v = 1.0 / (sigma2 + psi)
    a = x.T @ (x * inv_v[:, None])
    a_inv = np.asarray(np.linalg.inv(a), dtype=np.float64)
    beta: FloatArray = a_inv @ (x.T @ (inv_v * y))
    return beta, a_inv


def _score(
    y: FloatArray, x: FloatArray, psi: FloatArray, sigma2: float, method: FitMethod
) -> tuple[float, float]:
    """Score and Fisher information of σ²_v (diagonal V: everything in p × p algebra)."""
    inv_v = 1.0 / (sigma2 + psi)
    beta, a_inv = _gls(y, x, psi, sigma2)
    resid = y - x @ beta
    if method == "ML":
        score = -0.5 * float(np.sum(inv_v) - np.sum(resid**2 * inv_v**2))
        info = 0.5 * float(np.sum(inv_v**2))
        return score, info
    # REML: P = V⁻¹ − V⁻¹X A⁻¹ XᵀV⁻¹, Py = V⁻¹(y − Xβ̂)
    x2 = x.T @ (x * (inv_v**2)[:, None])
    x3 = x.T @ (x * (inv_v**3)[:, None])
    trace_p = float(np.sum(inv_v) - np.trace(a_inv @ x2))
    py = resid * inv_v
    trace_pp = float(
        np.sum(inv_v**2) - 2 * np.trace(a_inv @ x3) + np.trace(a_inv @ x2 @ a_inv @ x2)
    )
    return -0.5 * (trace_p - float(py @ py)), 0.5 * trace_pp


def fit_fay_herriot(
    direct: FloatArray,
    variance: FloatArray,
    covariates: FloatArray,
    *,
    method: FitMethod = "REML",
    intercept: bool = True,
    start: float | None = None,
    tol: float = 1e-12,
    max_iterations: int = 200,
) -> FayHerriotFit:
    """Fit σ²_v by REML or ML (Fisher scoring) and β by GLS.

    Parameters
    ----------
    direct, variance : ndarray (m,)
        Direct estimates of the sampled areas and their (known) design variances ψ_i > 0.
    covariates : ndarray (m, q)
        Area covariates; a column of ones is put first when ``intercept``.
    start : float, optional
        Starting σ²_v (default: the variance of the direct estimates less the mean ψ, or a
        small positive number).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(40, 1)); psi = np.full(40, 0.5)
    >>> y = 1 + 2 * x[:, 0] + rng.normal(0, 1, 40) + rng.normal(0, np.sqrt(psi))
    >>> fit = fit_fay_herriot(y, psi, x)
    >>> fit.converged, fit.beta.round(1).tolist()
    (True, [0.8, 2.1])
    """
    if method not in ("REML", "ML"):
        raise ValueError(f"method must be 'REML' or 'ML', got {method!r}")
    y = np.asarray(direct, dtype=float)
    psi = np.asarray(variance, dtype=float)
    x = np.asarray(covariates, dtype=float).reshape(len(y), -1)
    if intercept:
        x = np.column_stack([np.ones(len(y)), x])
    if not (np.isfinite(y).all() and np.isfinite(psi).all() and np.isfinite(x).all()):
        raise ValueError("direct estimates, variances and covariates must be finite")
    if (psi <= 0).any():
        raise ValueError("every direct variance must be positive (smooth them first)")
    if len(y) <= x.shape[1]:
        raise ValueError(f"{len(y)} areas cannot fit {x.shape[1]} coefficients")
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError("the covariates are collinear")
    sigma2 = float(start) if start is not None else max(float(np.var(y) - psi.mean()), 1e-6)
    info = 1.0
    converged = False
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        score, info = _score(y, x, psi, sigma2, method)
        step = score / info
        new = sigma2 + step
        if new <= 0:  # the likelihood is largest at the boundary or the step overshoots
            new = sigma2 / 10
            if sigma2 < 1e-12 * max(float(psi.mean()), 1e-300):
                sigma2, converged = 0.0, True
                break
        change = abs(new - sigma2) / max(abs(sigma2), 1e-300)
        sigma2 = new
        if change < tol:
            converged = True
            break
    sigma2 = max(sigma2, 0.0)
    _, info = _score(y, x, psi, sigma2, method)
    beta, beta_cov = _gls(y, x, psi, sigma2)
    return FayHerriotFit(method, beta, beta_cov, sigma2, 1.0 / info, iterations, converged)


@dataclass(frozen=True, eq=False)
class Eblup:
    """EBLUPs of the sampled areas with their MSE and its terms (Rao & Molina §6.2.1)."""

    estimate: FloatArray
    mse: FloatArray
    gamma: FloatArray
    synthetic: FloatArray
    g1: FloatArray
    g2: FloatArray
    g3: FloatArray


def eblup(
    fit: FayHerriotFit,
    direct: FloatArray,
    variance: FloatArray,
    covariates: FloatArray,
    *,
    intercept: bool = True,
) -> Eblup:
    """EBLUP ``γ θ̂ + (1 − γ) xᵀβ̂`` of the areas ``fit`` was fitted on, with Prasad–Rao MSE."""
    y = np.asarray(direct, dtype=float)
    psi = np.asarray(variance, dtype=float)
    x = np.asarray(covariates, dtype=float).reshape(len(y), -1)
    if intercept:
        x = np.column_stack([np.ones(len(y)), x])
    v = fit.sigma2_v + psi
    gamma = fit.sigma2_v / v
    synthetic = x @ fit.beta
    estimate = gamma * y + (1 - gamma) * synthetic
    g1 = gamma * psi
    g2 = (1 - gamma) ** 2 * np.einsum("ij,jk,ik->i", x, fit.beta_cov, x)
    g3 = (1 - gamma) ** 2 * (2.0 / np.sum(1.0 / v**2)) / v
    mse = g1 + g2 + 2 * g3
    if fit.method == "ML":
        trace = float(np.trace(fit.beta_cov @ (x.T @ (x / (v**2)[:, None]))))
        bias = -0.5 * fit.sigma2_v_var * trace
        mse = mse - (1 - gamma) ** 2 * bias
    return Eblup(estimate, mse, gamma, synthetic, g1, g2, g3)


def bootstrap_mse(
    fit: FayHerriotFit,
    variance: FloatArray,
    covariates: FloatArray,
    *,
    replicates: int = 200,
    seed: int = 2026,
    intercept: bool = True,
) -> FloatArray:
    """Parametric bootstrap MSE of the EBLUP (González-Manteiga et al. 2008): draw area effects
    and sampling errors from the fitted model, refit, average the squared prediction errors."""
    psi = np.asarray(variance, dtype=float)
    x = np.asarray(covariates, dtype=float).reshape(len(psi), -1)
    design = np.column_stack([np.ones(len(psi)), x]) if intercept else x
    rng = np.random.default_rng(seed)
    mean_part = design @ fit.beta
    total = np.zeros(len(psi))
    for _ in range(replicates):
        theta = mean_part + rng.normal(0.0, np.sqrt(fit.sigma2_v), len(psi))
        y = theta + rng.normal(0.0, np.sqrt(psi))
        refit = fit_fay_herriot(y, psi, x, method=fit.method, intercept=intercept)
        total += (eblup(refit, y, psi, x, intercept=intercept).estimate - theta) ** 2
    out: FloatArray = total / replicates
    return out


def direct_estimates(
    data: pd.DataFrame,
    column: str,
    *,
    area: str,
    design: SurveyDesign | None = None,
    statistic: Statistic = "proportion",
    satisfied: Collection[float] = frozenset({4, 5}),
    missing_codes: Collection[float] = (),
) -> pd.DataFrame:
    """Direct estimates per area from the product's own domain estimates, with their design
    variance, ``n``, Kish's ``n_eff`` and ``n_psu`` (one row per area with valid answers)."""
    if statistic == "proportion":
        table = proportion(data, column, values=satisfied, design=design, by=[area], df="inf",
                           missing_codes=missing_codes)  # fmt: skip
    else:
        table = mean(data, column, design=design, by=[area], df="inf", missing_codes=missing_codes)
    frame = table.to_frame()
    frame = frame[frame["n"] > 0]
    return pd.DataFrame(
        {
            area: frame[area].to_numpy(),
            "direct": frame["estimate"].to_numpy(dtype=float),
            "variance": frame["se"].to_numpy(dtype=float) ** 2,
            "n": frame["n"].to_numpy(dtype=np.int64),
            "n_eff": frame["n_eff"].to_numpy(dtype=float),
            "n_psu": frame["n_psu"].to_numpy(dtype=np.int64),
            "deff": frame["deff"].to_numpy(dtype=float),
        }
    )


def direct_from_table(table: EstimateTable, *, area: str, kind: str, id: str) -> pd.DataFrame:
    """Direct estimates per area of any score of an :class:`EstimateTable` estimated with
    ``by=[area]`` — e.g. the SIPAS overall index of :func:`scoring.sipas.score_sipas` — in the
    shape :func:`small_area_estimates` takes."""
    if area not in table.by:
        raise ValueError(f"the table was not estimated by {area!r}; its domains are {table.by!r}")
    frame = table.to_frame()
    frame = frame[(frame["kind"] == kind) & (frame["id"] == id) & (frame["n"] > 0)]
    if frame.empty:
        raise ValueError(f"the table has no estimate of kind {kind!r} and id {id!r}")
    return pd.DataFrame(
        {
            area: frame[area].to_numpy(),
            "direct": frame["estimate"].to_numpy(dtype=float),
            "variance": frame["se"].to_numpy(dtype=float) ** 2,
            "n": frame["n"].to_numpy(dtype=np.int64),
            "n_eff": frame["n_eff"].to_numpy(dtype=float),
            "n_psu": frame["n_psu"].to_numpy(dtype=np.int64),
            "deff": frame["deff"].to_numpy(dtype=float),
        }
    )


def posterior_rank_intervals(
    estimates: pd.DataFrame,
    *,
    area: str,
    confidence: float = 0.95,
    draws: int = 1000,
    seed: int = 2026,
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Ranks of the areas on their modelled estimates with intervals from the approximate
    posterior ``θ_i ~ N(θ̃_i, mse_i)`` (independent draws; Rao & Molina 2015, §6.3 treat the
    EBLUP and its MSE as the posterior mean and variance under normality). Takes the output of
    :func:`small_area_estimates` (the ``estimate`` and ``mse`` columns); returns ``area``,
    ``estimate``, ``rank``, ``rank_low``, ``rank_high``."""
    if draws < 2:
        raise ValueError(f"need at least 2 draws, got {draws!r}")
    estimate = estimates["estimate"].to_numpy(dtype=float)
    scale = np.sqrt(estimates["mse"].to_numpy(dtype=float))
    rng = np.random.default_rng(seed)
    sample = estimate[:, None] + scale[:, None] * rng.standard_normal((len(estimate), draws))
    out = rank_intervals(estimate, sample, confidence=confidence, higher_is_better=higher_is_better)
    out.insert(0, "estimate", estimate)
    out.insert(0, area, estimates[area].to_numpy())
    return out.drop(columns="replicates_dropped")


def smooth_variances(direct: pd.DataFrame, *, unit_variance: float, min_psu: int = 2) -> FloatArray:
    """Design variances, with ``S² · d̄ / n`` where an area has fewer than ``min_psu`` PSUs or no
    positive variance (``d̄`` the median deff of the other areas, 1 when there is none)."""
    variance = direct["variance"].to_numpy(dtype=float)
    n = direct["n"].to_numpy(dtype=float)
    weak = (direct["n_psu"].to_numpy() < min_psu) | ~(variance > 0)
    deffs = direct["deff"].to_numpy(dtype=float)[~weak]
    deffs = deffs[np.isfinite(deffs) & (deffs > 0)]
    d_bar = float(np.median(deffs)) if len(deffs) else 1.0
    out: FloatArray = np.where(weak, unit_variance * d_bar / n, variance)
    return out


def small_area_estimates(
    direct: pd.DataFrame,
    covariates: pd.DataFrame,
    *,
    area: str,
    columns: Sequence[str],
    method: FitMethod = "REML",
    transform: Transform = "none",
    mse: MseMethod = "analytic",
    benchmark: float | None = None,
    population: str | None = None,
    unit_variance: float | None = None,
    min_psu: int = 2,
    confidence: float = 0.95,
    replicates: int = 200,
    seed: int = 2026,
) -> pd.DataFrame:
    """Fay–Herriot estimates for every area of ``covariates``, sampled or not.

    Parameters
    ----------
    direct : DataFrame
        From :func:`direct_estimates`: ``area``, ``direct``, ``variance``, ``n``, ``n_eff``,
        ``n_psu``, ``deff``.
    covariates : DataFrame
        One row per area (the ``area`` column) with the numeric ``columns``; areas without a
        direct estimate get the synthetic estimate.
    transform : {"none", "arcsine"}
        ``"arcsine"`` for proportions: model ``arcsin √p`` with variance ``1/(4 n_eff)``.
    benchmark : float, optional
        The province's direct estimate: the estimates are scaled so that their ``population``-
        weighted mean equals it (ratio benchmarking; MSEs are not adjusted).
    population : str, optional
        Column of ``covariates`` with each area's population (benchmark weights).
    unit_variance : float, optional
        Pooled unit-level variance S² for smoothing the variances of areas with fewer than
        ``min_psu`` PSUs (for ``transform="none"``); without it such areas are left out of the
        fit and get the synthetic estimate. Under ``"arcsine"`` their ``n_eff`` is ``n`` over
        the median design effect of the other areas.

    Returns
    -------
    DataFrame
        One row per area: ``area``, ``kind`` (``"eblup"`` or ``"synthetic"``), ``estimate``,
        ``mse``, ``rmse``, ``ci_low``, ``ci_high`` (normal, from the MSE), ``direct``,
        ``direct_se``, ``gamma`` (weight of the direct estimate), ``n``, ``label``
        (:data:`MODELLED_LABEL`); attributes ``fit`` (the :class:`FayHerriotFit`).
    """
    check_confidence(confidence)
    missing = [c for c in (area, *columns) if c not in covariates.columns]
    if missing:
        raise ValueError(f"covariate column {missing[0]!r} is not in the covariates table")
    if covariates[area].duplicated().any():
        raise ValueError(f"area {covariates[area][covariates[area].duplicated()].iloc[0]!r} "
                         "appears twice in the covariates")  # fmt: skip
    unknown = set(direct[area]) - set(covariates[area])
    if unknown:
        raise ValueError(f"area {sorted(map(str, unknown))[0]!r} has no covariates")
    table = covariates[[area, *columns]].merge(direct, on=area, how="left")
    numbers = table[list(columns)].apply(pd.to_numeric, errors="coerce")
    if numbers.isna().to_numpy().any():
        row, column = next(
            (table[area].iloc[i], c) for c in columns for i in np.flatnonzero(numbers[c].isna())
        )
        raise ValueError(f"covariates must be numbers for every area; {column!r} of {row!r} is not")
    x_all = numbers.to_numpy(dtype=float)
    y = table["direct"].to_numpy(dtype=float)
    sampled = np.isfinite(y)
    weak = sampled & (table["n_psu"].fillna(0).to_numpy() < min_psu)
    if transform == "arcsine":
        if ((y[sampled] < 0) | (y[sampled] > 1)).any():
            raise ValueError("the arcsine transform needs proportions in [0, 1]")
        n_eff = table["n_eff"].to_numpy(dtype=float)
        deffs = table["deff"].to_numpy(dtype=float)[sampled & ~weak]
        deffs = deffs[np.isfinite(deffs) & (deffs > 0)]
        d_bar = float(np.median(deffs)) if len(deffs) else 1.0
        # one PSU says nothing of the design effect: its n_eff is n over the others' median deff
        n_eff = np.where(weak | ~(n_eff > 0) | ~np.isfinite(n_eff),
                         table["n"].to_numpy(dtype=float) / d_bar, n_eff)  # fmt: skip
        with np.errstate(divide="ignore", invalid="ignore"):
            psi = 1.0 / (4.0 * n_eff)
        y = np.arcsin(np.sqrt(y))
    elif transform == "none":
        psi = table["variance"].to_numpy(dtype=float).copy()
        if unit_variance is not None:
            psi[sampled] = smooth_variances(
                table[sampled], unit_variance=unit_variance, min_psu=min_psu
            )
        else:  # no between-PSU spread and nothing to smooth with: leave them to the model
            psi[weak] = np.nan
    else:
        raise ValueError(f"transform must be 'none' or 'arcsine', got {transform!r}")
    fitted = sampled & np.isfinite(psi) & (psi > 0)
    fit = fit_fay_herriot(y[fitted], psi[fitted], x_all[fitted], method=method)
    result = eblup(fit, y[fitted], psi[fitted], x_all[fitted])
    x1 = np.column_stack([np.ones(len(table)), x_all])
    estimate = x1 @ fit.beta
    mse_all = fit.sigma2_v + np.einsum("ij,jk,ik->i", x1, fit.beta_cov, x1)
    gamma = np.zeros(len(table))
    estimate[fitted] = result.estimate
    gamma[fitted] = result.gamma
    if mse == "bootstrap":
        mse_all[fitted] = bootstrap_mse(fit, psi[fitted], x_all[fitted], replicates=replicates,
                                        seed=seed)  # fmt: skip
    elif mse == "analytic":
        mse_all[fitted] = result.mse
    else:
        raise ValueError(f"mse must be 'analytic' or 'bootstrap', got {mse!r}")
    q = float(special.ndtri(1 - (1 - confidence) / 2))
    half = q * np.sqrt(mse_all)
    low, high = estimate - half, estimate + half
    if transform == "arcsine":
        low = np.sin(np.clip(low, 0, np.pi / 2)) ** 2
        high = np.sin(np.clip(high, 0, np.pi / 2)) ** 2
        # delta method: d sin²θ / dθ = sin 2θ
        mse_all = np.sin(2 * estimate) ** 2 * mse_all
        estimate = np.sin(np.clip(estimate, 0, np.pi / 2)) ** 2
    if benchmark is not None:
        weights = (
            np.ones(len(table))
            if population is None
            else covariates.set_index(area).loc[table[area], population].to_numpy(dtype=float)
        )
        factor = benchmark / float(np.sum(weights * estimate) / np.sum(weights))
        estimate, low, high = estimate * factor, low * factor, high * factor
    out = pd.DataFrame(
        {
            area: table[area].to_numpy(),
            "kind": np.where(fitted, "eblup", "synthetic"),
            "estimate": estimate,
            "mse": mse_all,
            "rmse": np.sqrt(mse_all),
            "ci_low": low,
            "ci_high": high,
            "direct": table["direct"].to_numpy(dtype=float),
            "direct_se": np.sqrt(table["variance"].to_numpy(dtype=float)),
            "gamma": gamma,
            "n": table["n"].fillna(0).to_numpy(dtype=np.int64),
            "label": MODELLED_LABEL,
        }
    )
    out.attrs["fit"] = fit
    return out
