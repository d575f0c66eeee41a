"""Result objects: frozen estimates, confidence intervals and tables of domain estimates.

Every estimate carries its standard error, a confidence interval, the unweighted number of valid
answers ``n``, the effective sample size ``n_eff = n / deff`` (Kish 1965, §8.2) and the design
effect ``deff`` (as R ``survey``'s ``deff=TRUE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Columns every estimate table carries after its domain columns, in this order.
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "kind",
    "id",
    "n",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
    "small_sample",
    "n_eff",
    "n_psu",
    "df",
    "confidence",
    "ci_method",
    "replicates_dropped",
)


@dataclass(frozen=True)
class ConfidenceInterval:
    """A two-sided confidence interval ``[low, high]`` at ``confidence``."""

    low: float
    high: float
    confidence: float = 0.95
    method: str = "wald"

    @property
    def defined(self) -> bool:
        """False when there is no interval (e.g. a domain inside a single PSU)."""
        return bool(np.isfinite(self.low) and np.isfinite(self.high))


@dataclass(frozen=True)
class Estimate:
    """One design-based estimate.

    Attributes
    ----------
    value : float
        The point estimate.
    se : float
        Its linearised (or replicate) standard error.
    ci : ConfidenceInterval
        Wald (normal or Student t on ``df``) or logit interval.
    n : int
        Unweighted number of valid answers behind the estimate.
    n_eff : float
        Effective sample size ``n / deff``.
    deff : float
        Design effect (Kish), as R ``survey``'s ``deff=TRUE``.
    df : float
        Degrees of freedom used for the interval (``inf`` for the normal quantile).
    n_psu : int
        Number of PSUs with at least one valid answer.
    small_sample : bool
        True when ``n``, Kish's ``n_eff`` or ``n_psu`` falls below the configured minimum.
    replicates_dropped : int
        Replicates left out of a replicate variance because the estimate was undefined in them
        (its domain had no weight left), as R ``svrVar``; 0 for Taylor variances.
    """

    value: float
    se: float
    ci: ConfidenceInterval
    n: int
    n_eff: float
    deff: float
    df: float
    n_psu: int = 0
    small_sample: bool = False
    replicates_dropped: int = 0


@dataclass(frozen=True, eq=False)
class EstimateTable:
    """A table of estimates: one row per domain × kind × id.

    Use :meth:`to_frame` for a pandas DataFrame (a fresh copy every call) and :meth:`get` for one
    :class:`Estimate`.
    """

    by: tuple[str, ...]
    _frame: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return the estimates as a new DataFrame: the ``by`` columns, then ``kind``, ``id``,
        ``n``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``deff``, ``small_sample``,
        ``n_eff``, ``n_psu``, ``df``, ``confidence``, ``ci_method`` (``"wald"`` or ``"logit"``),
        ``replicates_dropped``.
        """
        return self._frame.copy()

    def __len__(self) -> int:
        return len(self._frame)

    def get(self, id: str, kind: str | None = None, **domain: Any) -> Estimate:
        """Return the single estimate for ``id`` (and ``kind``) in the domain given by keywords.

        Raises
        ------
        ValueError
            If no row or more than one row matches.
        """
        frame = self._frame
        mask = frame["id"] == id
        if kind is not None:
            mask &= frame["kind"] == kind
        for column, value in domain.items():
            if column not in self.by:
                raise ValueError(f"{column!r} is not a domain column; domains are {self.by!r}")
            mask &= frame[column] == value
        rows = frame[mask]
        if len(rows) != 1:
            raise ValueError(
                f"expected one estimate for id={id!r} kind={kind!r} {domain!r}, found {len(rows)}"
            )
        row = rows.iloc[0]
        return Estimate(
            value=float(row["estimate"]),
            se=float(row["se"]),
            ci=ConfidenceInterval(
                float(row["ci_low"]),
                float(row["ci_high"]),
                float(row["confidence"]),
                str(row["ci_method"]),
            ),  # fmt: skip
            n=int(row["n"]),
            n_eff=float(row["n_eff"]),
            deff=float(row["deff"]),
            df=float(row["df"]),
            n_psu=int(row["n_psu"]),
            small_sample=bool(row["small_sample"]),
            replicates_dropped=int(row["replicates_dropped"]),
        )
