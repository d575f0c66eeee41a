"""Replicate-weight variances: Rao–Wu rescaling bootstrap and the stratified jackknife (JKn).

Replicate r multiplies the weight of every row of PSU i in stratum h by a factor ``a_rhi``:

- Rao–Wu (1988) rescaling bootstrap with ``m_h = n_h − 1`` (R ``as.svrepdesign(type=
  "subbootstrap")``): draw n_h − 1 PSUs with replacement in each stratum;
  ``a_rhi = n_h / (n_h − 1) · (times PSU i was drawn)``; ``v = 1/(R − 1) · Σ_r (θ_r − θ̄)²``.
- Jackknife JKn (R ``type="JKn"``): one replicate per PSU of a stratum with n_h ≥ 2, deleting it
  and multiplying the other PSUs of its stratum by ``n_h / (n_h − 1)``;
  ``v = Σ_r (n_h − 1)/n_h · (θ_r − θ̄)²``.

As R (``options(survey.replicates.mse=FALSE)``), deviations are taken from the mean of the
replicates; ``mse=True`` takes them from the full-sample estimate. Strata with a single PSU get
factor 1 (they add no variance). Replicate estimates of ratio-based composites are computed from
(domain, PSU) totals, so the cost is O(n) once plus O(#domains × #PSU × R).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from scoring.arrays import FloatArray, IntArray

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
        """Variance from replicate estimates ``(..., R)`` around their mean (or ``estimate``)."""
        centre = estimate[..., None] if self.mse else replicates.mean(axis=-1, keepdims=True)
        deviation = replicates - centre
        out: FloatArray = self.scale * (deviation * deviation * self.rscales).sum(axis=-1)
        return out


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


def jackknife_factors(stratum_of_psu: IntArray, mse: bool = False) -> ReplicateFactors:
    """Stratified delete-one-PSU jackknife (JKn) factors, one replicate per PSU."""
    n_psu = len(stratum_of_psu)
    sizes = np.bincount(stratum_of_psu)
    dropped = np.flatnonzero(sizes[stratum_of_psu] >= 2)
    if len(dropped) == 0:
        raise ValueError("the jackknife needs a stratum with at least two PSUs")
    factors = np.ones((n_psu, len(dropped)))
    rscales = np.empty(len(dropped))
    for r, psu in enumerate(dropped):
        h = stratum_of_psu[psu]
        n_h = sizes[h]
        same = stratum_of_psu == h
        factors[same, r] = n_h / (n_h - 1)
        factors[psu, r] = 0.0
        rscales[r] = (n_h - 1) / n_h
    return ReplicateFactors(factors, 1.0, rscales, mse, "jackknife")
