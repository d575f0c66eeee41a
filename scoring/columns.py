"""Reading the data's columns: numbers checked with a clear message, labels as integer codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.arrays import FloatArray, IntArray


def numeric_column(data: pd.DataFrame, column: str, *, what: str) -> FloatArray:
    """Return ``data[column]`` as floats, raising ValueError that echoes a non-numeric value."""
    series = data[column]
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna() & series.notna()
        if bad.any():
            raise ValueError(
                f"{what} column {column!r} must be numeric; found {series[bad].iloc[0]!r}"
            )
        series = converted
    values: FloatArray = series.to_numpy(dtype=float, na_value=np.nan)
    if what in ("weight", "fpc") and np.isnan(values).any():
        raise ValueError(f"{what} column {column!r} has a missing value")
    return values


def codes(data: pd.DataFrame, column: str | None, n: int) -> IntArray:
    if column is None:
        return np.zeros(n, dtype=np.int64)
    codes = pd.factorize(data[column])[0]
    if (codes < 0).any():
        raise ValueError(f"design column {column!r} has a missing value")
    return codes.astype(np.int64)
