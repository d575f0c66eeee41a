"""Design-based estimators: weighted means, proportions, totals and ratios per domain.

Each is a ratio estimator (:mod:`scoring.composites`) with its linearised or replicate variance
and its interval (:mod:`scoring.intervals`): a mean is Σ w·y / Σ w over the valid answers, a
share satisfied the mean of a 0/1 indicator, a total Σ w·y, a ratio Σ w·y / Σ w·x — the same
numbers as R ``survey``'s ``svyby`` with ``svymean``, ``svyciprop``, ``svytotal``, ``svyratio``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from scoring.arrays import FloatArray
from scoring.columns import numeric_column
from scoring.composites import composite, ratios
from scoring.design import SurveyDesign
from scoring.intervals import (
    MIN_N,
    MIN_PSU,
    CiMethod,
    DegreesOfFreedom,
    build_table,
    check_confidence,
    resolve_df,
)
from scoring.linearization import domain_index
from scoring.results import EstimateTable

#: What an item is scored as: its mean answer, or the share of satisfied answers.
Statistic = Literal["mean", "proportion"]

__all__ = ["item_answers", "item_values", "mean", "proportion", "ratio", "total"]


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


def item_answers(
    data: pd.DataFrame, column: str, statistic: str, satisfied: Collection[float]
) -> FloatArray:
    """One item's answers (``statistic="mean"``) or its satisfied indicator (``"proportion"``),
    NaN where the answer is not valid."""
    values = item_values(data, [column])[:, 0]
    if statistic == "mean":
        return values
    if statistic == "proportion":
        hit = np.isin(values, np.asarray(list(satisfied), dtype=float)).astype(float)
        out: FloatArray = np.where(np.isnan(values), np.nan, hit)
        return out
    raise ValueError(f"statistic must be 'mean' or 'proportion', got {statistic!r}")


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
    confidence: float,
    df: DegreesOfFreedom,
    ci: CiMethod,
    min_n: int,
    min_psu: int,
) -> EstimateTable:
    check_confidence(confidence)
    prepared = design.prepare(data)
    index = domain_index(data, by, prepared)
    parts = ratios(prepared, index, y, x)
    arrays = composite(prepared, index, parts, np.eye(y.shape[1]))
    return build_table(
        index, by, [kind] * len(ids), ids, arrays, confidence=confidence,
        df=resolve_df(df, prepared), ci=ci, min_n=min_n, min_psu=min_psu,
    )  # fmt: skip


def mean(
    data: pd.DataFrame,
    columns: str | Sequence[str],
    *,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
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
    confidence : float
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
        data, y, np.ones_like(y), names, "mean", design or SurveyDesign(), by, confidence, df,
        "wald", min_n, min_psu,
    )  # fmt: skip


def proportion(
    data: pd.DataFrame,
    columns: str | Sequence[str],
    *,
    values: Collection[float] = frozenset({4, 5}),
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
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
        data, y, np.ones_like(y), names, "proportion", design or SurveyDesign(), by, confidence, df,
        ci, min_n, min_psu,
    )  # fmt: skip


def total(
    data: pd.DataFrame,
    columns: str | Sequence[str],
    *,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
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
        data, y, None, names, "total", design or SurveyDesign(), by, confidence, df, "wald",
        min_n, min_psu,
    )  # fmt: skip


def ratio(
    data: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
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
        confidence, df, "wald", min_n, min_psu,
    )  # fmt: skip
