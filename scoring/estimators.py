"""Design-based estimators: weighted means, proportions, totals, ratios and linear composites.

Every estimator is a function of ratio estimators ``R_j = Y_j / X_j`` of weighted domain totals
(a mean is the ratio of Σ w·y to Σ w over valid answers; a share satisfied is a mean of a 0/1
indicator; a total has X = 1). A composite index ``θ = Σ_j a_j R_j + b`` (an element index, the
SIPAS overall index, PAR 8.1 points, a PAPI sub-dimension or dimension) is linearised through its
influence function (Binder 1983; Deville 1999):

    z_i = Σ_j a_j · w_i · (y_ij − R_j x_ij) / X_j,

and its variance is the design variance of z (:mod:`scoring.linearization`), exactly what R
``survey`` computes with ``svycontrast`` on ``svyby(..., covmat=TRUE)`` output.

Confidence intervals: Wald with the normal quantile (``df="inf"``) or Student t on the design
degrees of freedom (``df="design"``, #PSU − #strata, as R ``confint(..., df=degf(design))``);
for proportions also the logit interval of R ``svyciprop(method="logit")``:
``expit(logit(p) ± q · se / (p(1 − p)))``.

Design effect as R ``svymean(..., deff=TRUE)`` (Kish 1965): ``deff = v / v_srs`` with
``v_srs = s²_w / n · (1 − n/Ŵ)``, ``s²_w`` the weighted variance with divisor n − 1 and Ŵ the
sum of weights of the valid answers. When Ŵ < n (weights scaled to the sample) R returns NA; we use
the with-replacement variant ``s²_w / n`` (R ``deff="replace"``) instead. ``n_eff = n / deff``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from scoring.arrays import BoolArray, FloatArray, IntArray
from scoring.design import PreparedDesign, SurveyDesign, numeric_column
from scoring.linearization import DomainIndex, domain_index, domain_variance
from scoring.results import ESTIMATE_COLUMNS, EstimateTable

DegreesOfFreedom = Literal["design", "inf"] | float
CiMethod = Literal["wald", "logit"]
MIN_N = 30
MIN_PSU = 2


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
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(weight_sum >= count, weight_sum - count, weight_sum) / (count - 1)
        srs[:, j] = srs_sum * factor
        n[:, j] = count.astype(np.int64)
        n_psu[:, j] = index.psu_counts(any_valid)
    dropped = None
    if design.replicate_factors is not None:
        replicated = replicate_values(design, index, parts, coef, offset)
        variance = design.replicate_factors.variance(replicated, value)
        dropped = design.replicate_factors.dropped(replicated)
    return CompositeArrays(value=value, variance=variance, srs_variance=srs, n=n, n_psu=n_psu,
                           dropped=dropped)  # fmt: skip


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


def quantile(level: float, df: float) -> float:
    """Two-sided quantile: Student t on ``df`` degrees of freedom, normal when ``df`` is inf."""
    check_level(level)
    p = 1 - (1 - level) / 2
    if np.isinf(df):
        return float(special.ndtri(p))
    if not df > 0:
        raise ValueError(f"degrees of freedom must be positive for a t interval, got {df!r}")
    return float(special.stdtrit(df, p))


def check_level(level: float) -> None:
    """Raise ValueError unless ``0 < level < 1``."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")


def resolve_df(df: DegreesOfFreedom, design: PreparedDesign) -> float:
    """Degrees of freedom for intervals: ``"design"`` → #PSU − #strata, ``"inf"`` → normal."""
    if isinstance(df, str):
        if df == "design":
            return float(design.df)
        if df == "inf":
            return float("inf")
        raise ValueError(f"df must be 'design', 'inf' or a number, got {df!r}")
    return float(df)


def interval(
    value: FloatArray, se: FloatArray, level: float, df: float, method: CiMethod
) -> tuple[FloatArray, FloatArray]:
    """Confidence limits; ``method="logit"`` needs values in [0, 1] (proportions)."""
    q = quantile(level, df)
    if method == "wald":
        return value - q * se, value + q * se
    if method == "logit":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            centre = np.log(value) - np.log1p(-value)
            half = q * se / (value * (1 - value))
            low = 1 / (1 + np.exp(-(centre - half)))
            high = 1 / (1 + np.exp(-(centre + half)))
        edge = (value == 0) | (value == 1)
        return np.where(edge, value, low), np.where(edge, value, high)
    raise ValueError(f"ci must be 'wald' or 'logit', got {method!r}")


def build_table(
    index: DomainIndex,
    by: Sequence[str],
    kinds: Sequence[str],
    ids: Sequence[str],
    arrays: CompositeArrays,
    *,
    level: float,
    df: float,
    ci: Sequence[CiMethod] | CiMethod = "wald",
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Assemble composites into an :class:`EstimateTable`, one row per domain × column."""
    n_domains, m = arrays.value.shape
    se = np.sqrt(np.maximum(arrays.variance, 0.0))
    methods = [ci] * m if isinstance(ci, str) else list(ci)
    low = np.empty_like(se)
    high = np.empty_like(se)
    for method in set(methods):
        cols = [j for j in range(m) if methods[j] == method]
        low[:, cols], high[:, cols] = interval(
            arrays.value[:, cols], se[:, cols], level, df, method
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = np.where(arrays.srs_variance > 0, arrays.variance / arrays.srs_variance, np.nan)
        n_eff = arrays.n / deff
    small = (
        (arrays.n < min_n) | (arrays.n_psu < min_psu) | (np.nan_to_num(n_eff, nan=np.inf) < min_n)
    )
    dropped = np.zeros_like(arrays.n) if arrays.dropped is None else arrays.dropped
    frame = pd.DataFrame({column: np.repeat(index.labels[column].to_numpy(), m) for column in by})
    frame["kind"] = np.tile(np.asarray(kinds, dtype=object), n_domains)
    frame["id"] = np.tile(np.asarray(ids, dtype=object), n_domains)
    frame["n"] = arrays.n.ravel()
    frame["estimate"] = arrays.value.ravel()
    frame["se"] = np.where(np.isnan(arrays.value), np.nan, se).ravel()
    frame["ci_low"] = low.ravel()
    frame["ci_high"] = high.ravel()
    frame["deff"] = deff.ravel()
    frame["small_sample"] = small.ravel()
    frame["n_eff"] = n_eff.ravel()
    frame["n_psu"] = arrays.n_psu.ravel()
    frame["df"] = df
    frame["level"] = level
    frame["ci_method"] = np.tile(np.asarray(methods, dtype=object), n_domains)
    frame["replicates_dropped"] = dropped.ravel()
    return EstimateTable(by=tuple(by), _frame=frame[[*by, *ESTIMATE_COLUMNS]])


def item_values(
    data: pd.DataFrame, columns: Sequence[str], missing_codes: Collection[float] = ()
) -> FloatArray:
    """Item answers as an ``(n, k)`` float matrix with NaN for missing and ``missing_codes``.

    Raises
    ------
    ValueError
        If a column is absent or holds a non-numeric value.
    """
    for column in columns:
        if column not in data.columns:
            raise ValueError(f"item column {column!r} is not in the data")
    values = np.column_stack([numeric_column(data, c, what="item") for c in columns])
    if missing_codes:
        values[np.isin(values, np.asarray(list(missing_codes), dtype=float))] = np.nan
    return values


def _columns(columns: str | Sequence[str]) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns)


def _estimate(
    data: pd.DataFrame,
    y: FloatArray,
    x: FloatArray | None,
    ids: Sequence[str],
    kind: str,
    design: SurveyDesign,
    by: Sequence[str],
    level: float,
    df: DegreesOfFreedom,
    ci: CiMethod,
    min_n: int,
    min_psu: int,
) -> EstimateTable:
    check_level(level)
    prepared = design.prepare(data)
    index = domain_index(data, by, prepared)
    parts = ratios(prepared, index, y, x)
    arrays = composite(prepared, index, parts, np.eye(y.shape[1]))
    return build_table(
        index, by, [kind] * len(ids), ids, arrays, level=level,
        df=resolve_df(df, prepared), ci=ci, min_n=min_n, min_psu=min_psu,
    )  # fmt: skip


def mean(
    data: pd.DataFrame,
    columns: str | Sequence[str],
    *,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    level: float = 0.95,
    df: DegreesOfFreedom = "design",
    missing_codes: Collection[float] = (),
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Weighted mean of each item among its valid answers, per domain (R ``svyby(svymean)``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    columns : str or sequence of str
        Item columns; NaN and ``missing_codes`` are not valid answers.
    design : SurveyDesign, optional
        The sampling design; simple random sampling with equal weights when omitted.
    by : sequence of str
        Domain columns; estimates use the full design (no row subsetting).
    level : float
        Confidence level.
    df : {"design", "inf"} or float
        Student t on the design df (#PSU − #strata), normal quantile, or a given df.
    missing_codes : collection of float
        Answer codes that are not scores (e.g. 9 = don't know).
    min_n, min_psu : int
        Estimates with fewer valid answers or PSUs are flagged ``small_sample``.

    Returns
    -------
    EstimateTable
        ``kind="mean"``, ``id`` = item column.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"q": [1.0, 2.0, 4.0, 5.0], "w": [1.0, 1.0, 2.0, 2.0]})
    >>> table = mean(data, "q", design=SurveyDesign(weight="w"))
    >>> round(float(table.to_frame()["estimate"].iloc[0]), 4)
    3.5
    """
    names = _columns(columns)
    y = item_values(data, names, missing_codes)
    return _estimate(
        data, y, np.ones_like(y), names, "mean", design or SurveyDesign(), by, level, df,
        "wald", min_n, min_psu,
    )  # fmt: skip


def proportion(
    data: pd.DataFrame,
    columns: str | Sequence[str],
    *,
    values: Collection[float] = frozenset({4, 5}),
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    level: float = 0.95,
    df: DegreesOfFreedom = "design",
    ci: CiMethod = "wald",
    missing_codes: Collection[float] = (),
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Weighted share of valid answers whose code is in ``values`` (default 4–5: satisfied).

    Same parameters as :func:`mean`, plus ``values`` and ``ci`` (``"wald"`` or ``"logit"``, the
    latter as R ``svyciprop(method="logit")``). Returns ``kind="proportion"``.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"q": [1.0, 4.0, 5.0, None]})
    >>> round(float(proportion(data, "q").to_frame()["estimate"].iloc[0]), 4)
    0.6667
    """
    names = _columns(columns)
    answers = item_values(data, names, missing_codes)
    hit = np.isin(answers, np.asarray(list(values), dtype=float)).astype(float)
    y = np.where(np.isnan(answers), np.nan, hit)
    return _estimate(
        data, y, np.ones_like(y), names, "proportion", design or SurveyDesign(), by, level, df,
        ci, min_n, min_psu,
    )  # fmt: skip


def total(
    data: pd.DataFrame,
    columns: str | Sequence[str],
    *,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    level: float = 0.95,
    df: DegreesOfFreedom = "design",
    missing_codes: Collection[float] = (),
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Weighted total of each item over its valid answers (R ``svytotal``, ``na.rm=TRUE``).

    Same parameters as :func:`mean`; returns ``kind="total"``.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"q": [1.0, 2.0], "w": [10.0, 20.0]})
    >>> float(total(data, "q", design=SurveyDesign(weight="w")).to_frame()["estimate"].iloc[0])
    50.0
    """
    names = _columns(columns)
    y = item_values(data, names, missing_codes)
    return _estimate(
        data, y, None, names, "total", design or SurveyDesign(), by, level, df, "wald",
        min_n, min_psu,
    )  # fmt: skip


def ratio(
    data: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    level: float = 0.95,
    df: DegreesOfFreedom = "design",
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Ratio of weighted totals Σ w·y / Σ w·x per domain (R ``svyratio``).

    Rows with either value missing are left out of both totals. Returns ``kind="ratio"``,
    ``id="<numerator>/<denominator>"``.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"y": [1.0, 3.0], "x": [2.0, 2.0]})
    >>> float(ratio(data, "y", "x").to_frame()["estimate"].iloc[0])
    1.0
    """
    values = item_values(data, [numerator, denominator])
    both = ~np.isnan(values).any(axis=1)
    y = np.where(both, values[:, 0], np.nan)[:, None]
    x = np.where(both, values[:, 1], 0.0)[:, None]
    return _estimate(
        data, y, x, [f"{numerator}/{denominator}"], "ratio", design or SurveyDesign(), by,
        level, df, "wald", min_n, min_psu,
    )  # fmt: skip
