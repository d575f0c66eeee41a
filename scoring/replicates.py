"""Replicate-weight variances: Rao–Wu rescaling bootstrap and the stratified jackknife (JKn).

Replicate r multiplies the weight of every row of PSU i in stratum h by a factor ``a_rhi``:

- Rao–Wu (1988) rescaling bootstrap with ``m_h = n_h − 1`` (R ``as.svrepdesign(type=
  "subbootstrap")``): draw n_h − 1 PSUs with replacement in each stratum;
  ``a_rhi = n_h / (n_h − 1) · (times PSU i was drawn)``; ``v = 1/(R − 1) · Σ_r (θ_r − θ̄)²``.
- Jackknife JKn (R ``type="JKn"``, ``jknweights``): one replicate per PSU of a stratum with
  n_h ≥ 2, deleting it and multiplying the other PSUs of its stratum by ``n_h / (n_h − 1)``;
  ``v = Σ_r (1 − f_h) (n_h − 1)/n_h · (θ_r − θ̄)²`` with ``f_h = n_h/N_h`` the sampling fraction
  when the design has an fpc; an exhaustively sampled stratum (f_h = 1) gets no replicate. A
  stratum with one PSU of several: ``adjust`` adds one replicate deleting that PSU and
  multiplying every PSU of the other strata by H/(H − 1), with rscale (H − 1)/H (H strata);
  ``average`` gives it no replicate and multiplies the variance by #PSU / #replicates;
  ``certainty`` and ``remove`` give it no replicate (R ``jknweights``).

As R (``options(survey.replicates.mse=FALSE)``), deviations are taken from the mean of the
replicates; ``mse=True`` takes them from the full-sample estimate. A replicate in which an
estimate is undefined (its domain has no weight left, e.g. the jackknife deleted the domain's only
PSU) is dropped for that estimate, the scale kept, and the count reported — as R's ``svrVar``
(``na.action``: "replicates gave NA results and were discarded"). Strata with a single PSU get
factor 1 in the bootstrap (they add no variance). Replicate estimates of ratio-based composites
are computed from (domain, PSU) totals, so the cost is O(n) once plus O(#domains × #PSU × R).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from scoring.arrays import BoolArray, FloatArray, IntArray

ReplicateMethod = Literal["bootstrap", "jackknife"]


@dataclass(frozen=True, eq=False)
class ReplicateFactors:
    """Per-PSU weight factors ``(n_psu, R)`` with the variance's scale and per-replicate rscales."""

    factors: FloatArray
    scale: float
    rscales: FloatArray
    mse: bool = False
    method: str = "bootstrap"

    @property
    def n_replicates(self) -> int:
        return int(self.factors.shape[1])

    def variance(self, replicates: FloatArray, estimate: FloatArray) -> FloatArray:
        """Variance from replicate estimates ``(..., R)`` around their mean (or ``estimate``).

        Replicates with an undefined (NaN) estimate are left out (:meth:`dropped` counts them);
        the variance is NaN when none is left.
        """
        ok = ~np.isnan(replicates)
        kept = ok.sum(axis=-1)
        if self.mse:
            centre = estimate[..., None]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                centre = (np.where(ok, replicates, 0.0).sum(axis=-1) / kept)[..., None]
        deviation = np.where(ok, replicates - centre, 0.0)
        out: FloatArray = self.scale * (deviation * deviation * self.rscales).sum(axis=-1)
        return np.where(kept > 0, out, np.nan)

    @staticmethod
    def dropped(replicates: FloatArray) -> IntArray:
        """How many replicates gave an undefined (NaN) estimate, per estimate."""
        counts: IntArray = np.isnan(replicates).sum(axis=-1).astype(np.int64)
        return counts


def bootstrap_factors(
    stratum_of_psu: IntArray, replicates: int = 500, seed: int = 2026, mse: bool = False
) -> ReplicateFactors:
    """Rao–Wu rescaling bootstrap factors (m_h = n_h − 1) for ``replicates`` replicates.

    Examples
    --------
    >>> rf = bootstrap_factors(np.array([0, 0, 1, 1, 1]), replicates=4, seed=1)
    >>> rf.factors.shape
    (5, 4)
    """
    if replicates < 2:
        raise ValueError(f"need at least 2 bootstrap replicates, got {replicates!r}")
    rng = np.random.default_rng(seed)
    n_psu = len(stratum_of_psu)
    factors = np.ones((n_psu, replicates))
    for h in np.unique(stratum_of_psu):
        members = np.flatnonzero(stratum_of_psu == h)
        n_h = len(members)
        if n_h < 2:
            continue
        counts = rng.multinomial(n_h - 1, np.full(n_h, 1.0 / n_h), size=replicates)
        factors[members] = (n_h / (n_h - 1)) * counts.T
    return ReplicateFactors(factors, 1.0 / (replicates - 1), np.ones(replicates), mse, "bootstrap")


def jackknife_factors(
    stratum_of_psu: IntArray,
    mse: bool = False,
    *,
    finite: FloatArray | None = None,
    lonely: BoolArray | None = None,
    lonely_psu: str = "remove",
) -> ReplicateFactors:
    """Stratified delete-one-PSU jackknife (JKn) factors, as R ``jknweights``.

    ``finite`` holds each stratum's ``1 − n_h/N_h`` (1 without an fpc); ``lonely`` marks the
    strata with a single PSU of several, treated by ``lonely_psu`` (see the module docstring).

    Examples
    --------
    >>> rf = jackknife_factors(np.array([0, 0, 1, 1, 1]), finite=np.array([0.5, 1.0]))
    >>> rf.factors.shape, rf.rscales.tolist()
    ((5, 5), [0.25, 0.25, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666])
    """
    n_psu = len(stratum_of_psu)
    sizes = np.bincount(stratum_of_psu)
    n_strata = len(sizes)
    finite = np.ones(n_strata) if finite is None else np.asarray(finite, dtype=float)
    lonely = (sizes == 1) if lonely is None else np.asarray(lonely, dtype=bool)
    columns: list[FloatArray] = []
    rscales: list[float] = []
    for h in range(n_strata):
        members = np.flatnonzero(stratum_of_psu == h)
        n_h = len(members)
        if n_h >= 2 and finite[h] > 0:
            for psu in members:
                factor = np.ones(n_psu)
                factor[members] = n_h / (n_h - 1)
                factor[psu] = 0.0
                columns.append(factor)
                rscales.append(float(finite[h] * (n_h - 1) / n_h))
        elif n_h == 1 and lonely[h] and lonely_psu == "adjust" and n_strata > 1:
            factor = np.full(n_psu, n_strata / (n_strata - 1))
            factor[members] = 0.0
            columns.append(factor)
            rscales.append((n_strata - 1) / n_strata)
    if not columns:
        raise ValueError("the jackknife needs a stratum with at least two PSUs not all sampled")
    scale = n_psu / len(columns) if lonely_psu == "average" and len(columns) < n_psu else 1.0
    return ReplicateFactors(np.column_stack(columns), scale, np.asarray(rscales), mse, "jackknife")
