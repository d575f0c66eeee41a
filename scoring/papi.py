"""PAPI (Provincial Governance and Public Administration Performance Index) scores.

Aggregation as checked on the official 2011–2016 scores of all 63 provinces
(``docs/methodology.md`` §3, [D]; indicator rescaling [I]):

- an indicator's weighted mean m is rescaled linearly onto 1–10 by its theoretical bounds
  [low, high]: ``s = 1 + 9 · (m − low) / (high − low)`` (reversed when lower is better);
- a sub-dimension of a dimension with k sub-dimensions is ``mean(s over its indicators) / k``,
  so it lies in [1/k, 10/k];
- a dimension is the sum of its sub-dimensions (1–10); the total ("Un-weighted PAPI") is the
  sum of the dimensions (6–60, or 8–80 since 2018);
- full precision throughout; rounding only for display (half away from zero, as the published
  workbook): the published total is the rounded sum of the *unrounded* dimensions (Cà Mau 2015:
  35.8213 → 35.82, while the rounded dimensions add up to 35.83).

Every score is linear in ratio estimators, so SEs come from the composite's linearised influence
function (:mod:`scoring.estimators`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.composites import LinearPlan, composite, ratios
from scoring.design import SurveyDesign
from scoring.estimators import item_values
from scoring.intervals import (
    MIN_N,
    MIN_PSU,
    DegreesOfFreedom,
    build_table,
    check_confidence,
    resolve_df,
)
from scoring.linearization import domain_index
from scoring.results import EstimateTable


@dataclass(frozen=True)
class PapiIndicator:
    """An indicator: its data column and the theoretical bounds of its answers."""

    column: str
    low: float
    high: float
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise ValueError(
                f"indicator {self.column!r}: high must exceed low, got {self.low!r}–{self.high!r}"
            )


@dataclass(frozen=True)
class PapiSubDimension:
    """A sub-dimension: its id (e.g. ``"d1.1"``) and indicators."""

    id: str
    indicators: tuple[PapiIndicator, ...]

    def __post_init__(self) -> None:
        if not self.indicators:
            raise ValueError(f"sub-dimension {self.id!r} has no indicators")


@dataclass(frozen=True)
class PapiDimension:
    """A dimension: its id (e.g. ``"d1"``) and sub-dimensions."""

    id: str
    sub_dimensions: tuple[PapiSubDimension, ...]

    def __post_init__(self) -> None:
        if not self.sub_dimensions:
            raise ValueError(f"dimension {self.id!r} has no sub-dimensions")


@dataclass(frozen=True)
class PapiSpec:
    """The PAPI structure: dimensions → sub-dimensions → indicators."""

    dimensions: tuple[PapiDimension, ...]

    def __post_init__(self) -> None:
        if not self.dimensions:
            raise ValueError("a PAPI spec needs at least one dimension")
        columns = [
            i.column for d in self.dimensions for s in d.sub_dimensions for i in s.indicators
        ]
        if len(set(columns)) != len(columns):
            raise ValueError(f"an indicator column appears twice: {columns!r}")


def score_papi(
    data: pd.DataFrame,
    spec: PapiSpec,
    *,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
    df: DegreesOfFreedom = "design",
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
) -> EstimateTable:
    """Score PAPI per domain (e.g. province): rescaled indicators, sub-dimensions, dimensions, total.

    Returns an :class:`EstimateTable` with kinds ``indicator`` (id = column, rescaled 1–10),
    ``sub_dimension``, ``dimension`` and ``total`` (id ``"total"``), each with its linearised
    SE and interval. Answers outside an indicator's bounds raise ValueError.

    Examples
    --------
    >>> spec = PapiSpec((PapiDimension("d1", (PapiSubDimension("d1.1", (
    ...     PapiIndicator("q1", 0, 1),)),)),))
    >>> frame = score_papi(pd.DataFrame({"q1": [0.0, 1.0, 1.0, 0.0]}), spec).to_frame()
    >>> float(frame.loc[frame["kind"] == "total", "estimate"].iloc[0])
    5.5
    """
    check_confidence(confidence)
    design = design or SurveyDesign()
    plan = papi_plan(data, spec)
    prepared = design.prepare(data)
    index = domain_index(data, by, prepared)
    parts = ratios(prepared, index, plan.y, np.ones_like(plan.y))
    arrays = composite(prepared, index, parts, plan.coef, plan.offset)
    return build_table(
        index, by, plan.kinds, plan.ids, arrays, confidence=confidence, df=resolve_df(df, prepared),
        min_n=min_n, min_psu=min_psu,
    )  # fmt: skip


def papi_plan(data: pd.DataFrame, spec: PapiSpec) -> LinearPlan:
    """Every PAPI score of ``spec`` as a linear composite of indicator means (plus offsets), for
    :func:`score_papi` and :func:`scoring.compare.change_papi`.

    Raises
    ------
    ValueError
        If an indicator column is missing or holds an answer outside its bounds.
    """
    indicators = [i for d in spec.dimensions for s in d.sub_dimensions for i in s.indicators]
    columns = [i.column for i in indicators]
    values = item_values(data, columns)
    for j, indicator in enumerate(indicators):
        column = values[:, j]
        bad = ~np.isnan(column) & ((column < indicator.low) | (column > indicator.high))
        if bad.any():
            raise ValueError(
                f"indicator {indicator.column!r} has answer {float(column[bad][0])!r} outside "
                f"{indicator.low}–{indicator.high}"
            )
    k = len(indicators)
    slope = np.array([9 / (i.high - i.low) * (1 if i.higher_is_better else -1) for i in indicators])
    intercept = np.array(
        [1 - 9 * i.low / (i.high - i.low) if i.higher_is_better else 1 + 9 * i.high / (i.high - i.low)
         for i in indicators]
    )  # fmt: skip
    coefs: list[np.ndarray] = []
    offsets: list[float] = []
    kinds: list[str] = []
    ids: list[str] = []
    for j, indicator in enumerate(indicators):
        vector = np.zeros(k)
        vector[j] = slope[j]
        coefs.append(vector)
        offsets.append(float(intercept[j]))
        kinds.append("indicator")
        ids.append(indicator.column)
    position = {c: j for j, c in enumerate(columns)}
    total_vector = np.zeros(k)
    total_offset = 0.0
    dimension_rows: list[tuple[np.ndarray, float, str]] = []
    for dimension in spec.dimensions:
        n_sub = len(dimension.sub_dimensions)
        dim_vector = np.zeros(k)
        dim_offset = 0.0
        for sub in dimension.sub_dimensions:
            vector = np.zeros(k)
            offset = 0.0
            for indicator in sub.indicators:
                j = position[indicator.column]
                vector[j] += slope[j] / len(sub.indicators) / n_sub
                offset += float(intercept[j]) / len(sub.indicators) / n_sub
            coefs.append(vector)
            offsets.append(offset)
            kinds.append("sub_dimension")
            ids.append(sub.id)
            dim_vector += vector
            dim_offset += offset
        dimension_rows.append((dim_vector, dim_offset, dimension.id))
        total_vector += dim_vector
        total_offset += dim_offset
    for vector, offset, dim_id in dimension_rows:
        coefs.append(vector)
        offsets.append(offset)
        kinds.append("dimension")
        ids.append(dim_id)
    coefs.append(total_vector)
    offsets.append(total_offset)
    kinds.append("total")
    ids.append("total")
    return LinearPlan(y=values, coef=np.column_stack(coefs), offset=np.asarray(offsets),
                      kinds=tuple(kinds), ids=tuple(ids))  # fmt: skip


def round_half_up(values: pd.Series | np.ndarray | float, digits: int = 2) -> np.ndarray:
    """Round half away from zero for display, as the published workbook (Excel ``ROUND``).

    Examples
    --------
    >>> round_half_up(np.array([35.825, 4.6055, -1.005]), 2).tolist()
    [35.83, 4.61, -1.01]
    """
    array = np.asarray(values, dtype=float)
    factor = 10.0**digits
    # the 1e-9 guard keeps values stored just below a half (35.825 → 35.82499…) rounding up
    scaled = np.abs(array) * factor
    rounded: np.ndarray = np.sign(array) * np.floor(scaled + 0.5 + 1e-9) / factor
    return rounded


def aggregate_sub_dimensions(
    scores: pd.DataFrame, *, unit: Sequence[str] = ("year", "province_code")
) -> pd.DataFrame:
    """Dimension scores and totals from sub-dimension scores, in full precision.

    Parameters
    ----------
    scores : DataFrame
        Long table with the ``unit`` columns, ``dimension`` (``d1`` …) and ``score`` of each
        sub-dimension (as ``papi_official_2011_2016.csv`` rows with ``level == "sub_dimension"``).
    unit : sequence of str
        Columns identifying a unit (and period).

    Returns
    -------
    DataFrame
        One row per unit: a column per dimension and ``total``. A dimension with a missing
        sub-dimension score is missing, and so is the total (such units are not ranked).
    """
    keys = list(unit)
    for column in [*keys, "dimension", "score"]:
        if column not in scores.columns:
            raise ValueError(f"sub-dimension scores need a {column!r} column")
    dims = (
        scores.groupby([*keys, "dimension"])["score"]
        .agg(lambda s: s.sum() if s.notna().all() else np.nan)
        .unstack("dimension")
    )
    dims["total"] = dims.sum(axis=1, min_count=dims.shape[1])
    dims.loc[dims.drop(columns="total").isna().any(axis=1), "total"] = np.nan
    dims.columns.name = None
    return dims.reset_index()


def highest_row(table: pd.DataFrame, dimensions: Sequence[str]) -> pd.Series:
    """The official sheet's "Highest" row: column-wise maxima; the total is Σ dimension maxima."""
    maxima = table[list(dimensions)].max()
    maxima["total"] = float(maxima.sum())
    return maxima
