"""Confidence intervals, degrees of freedom and the assembly of estimate tables.

Confidence intervals: Wald with the normal quantile (``df="inf"``) or Student t on the design
degrees of freedom (``df="design"``, #PSU − #strata, as R ``confint(..., df=degf(design))``);
for proportions also the logit interval of R ``svyciprop(method="logit")``:
``expit(logit(p) ± q · se / (p(1 − p)))``; each row says which (``ci_method``).

Design effect ``deff = v / v_srs`` (:mod:`scoring.composites`), Kish's effective sample size
``n_eff = n / deff``. An estimate is flagged ``small_sample`` when its valid answers, its
``n_eff`` or its PSUs fall below the minimum (a domain with n = 48 and n_eff = 13 is small).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from scoring.arrays import FloatArray
from scoring.composites import CompositeArrays
from scoring.design import PreparedDesign
from scoring.linearization import DomainIndex
from scoring.results import ESTIMATE_COLUMNS, EstimateTable

DegreesOfFreedom = Literal["design", "inf"] | float
CiMethod = Literal["wald", "logit"]
MIN_N = 30
MIN_PSU = 2


def quantile(confidence: float, df: float) -> float:
    """Two-sided quantile: Student t on ``df`` degrees of freedom, normal when ``df`` is inf."""
    check_confidence(confidence)
    p = 1 - (1 - confidence) / 2
    if np.isinf(df):
        return float(special.ndtri(p))
    if not df > 0:
        raise ValueError(f"degrees of freedom must be positive for a t interval, got {df!r}")
    return float(special.stdtrit(df, p))


def check_confidence(confidence: float) -> None:
    """Raise ValueError unless ``0 < confidence < 1``."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")


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
    value: FloatArray, se: FloatArray, confidence: float, df: float, method: CiMethod
) -> tuple[FloatArray, FloatArray]:
    """Confidence limits; ``method="logit"`` needs values in [0, 1] (proportions)."""
    q = quantile(confidence, df)
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
    confidence: float,
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
            arrays.value[:, cols], se[:, cols], confidence, df, method
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
    frame["confidence"] = confidence
    frame["ci_method"] = np.tile(np.asarray(methods, dtype=object), n_domains)
    frame["replicates_dropped"] = dropped.ravel()
    return EstimateTable(by=tuple(by), _frame=frame[[*by, *ESTIMATE_COLUMNS]])
