"""Taylor-linearised variances of domain estimates, vectorised over domains and PSUs.

For a smooth statistic θ = g(T_1, …, T_k) of weighted totals, the linearised score of row i is
``z_i = Σ_j ∂g/∂T_j · w_i · y_ij`` (Binder 1983; Lumley 2010, §2.3 and appendix). A domain
estimate uses the full design: rows outside the domain have z = 0 but their PSUs still count in
``n_h`` — the same as R ``survey``'s ``svyby`` on a subset design. PSU totals of z are computed per
(domain, PSU) group with ``np.bincount`` on integer group codes, never with a Python loop over
domains, and combined per stratum as in R's ``onestrat``:

    v_d = m · Σ_h scale_h · [Σ_{i ∈ h} (z_dhi − z̄_dh)²],   z̄_dh = Σ_i z_dhi / n_h,

where PSUs of stratum h without rows in domain d contribute z_dhi = 0, and ``m`` is 1 except
under ``lonely_psu="average"`` (:func:`average_multiplier`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.arrays import BoolArray, FloatArray, IntArray
from scoring.design import PreparedDesign


@dataclass(frozen=True, eq=False)
class DomainIndex:
    """Rows mapped to domains, and (domain, PSU) groups for the variance sums.

    ``codes`` holds each row's domain in ``0 … n_domains − 1``; rows outside every domain (a
    missing domain value) hold ``n_domains``.
    """

    codes: IntArray
    n_domains: int
    labels: pd.DataFrame
    group: IntArray
    group_domain: IntArray
    group_psu: IntArray
    group_stratum: IntArray

    def totals(self, values: FloatArray) -> FloatArray:
        """Domain sums of ``values`` (shape ``(n,)`` → ``(D,)``, ``(n, k)`` → ``(D, k)``)."""
        if values.ndim == 1:
            sums = np.bincount(self.codes, weights=values, minlength=self.n_domains + 1)
            return np.asarray(sums[: self.n_domains], dtype=np.float64)
        return np.stack([self.totals(values[:, j]) for j in range(values.shape[1])], axis=1)

    def psu_counts(self, valid: np.ndarray) -> IntArray:
        """Number of PSUs per domain holding at least one row where ``valid`` is true."""
        per_group = np.bincount(
            self.group, weights=valid.astype(float), minlength=len(self.group_domain)
        )
        counts = np.bincount(
            self.group_domain, weights=(per_group > 0).astype(float), minlength=self.n_domains + 1
        )[: self.n_domains]
        return counts.astype(np.int64)


def domain_index(data: pd.DataFrame, by: Sequence[str], design: PreparedDesign) -> DomainIndex:
    """Map each row of ``data`` to its domain (a combination of the ``by`` columns).

    Domains are sorted by their values. With ``by`` empty there is one domain, all rows.

    Raises
    ------
    ValueError
        If a ``by`` column is not in the data.
    """
    n = len(data)
    by = list(by)
    for column in by:
        if column not in data.columns:
            raise ValueError(f"domain column {column!r} is not in the data")
    if not by:
        codes = np.zeros(n, dtype=np.int64)
        labels = pd.DataFrame(index=range(1))
        n_domains = 1
    else:
        keys = data[by]
        if len(by) == 1:
            single, single_levels = pd.factorize(keys[by[0]], sort=True)
            raw = np.asarray(single, dtype=np.int64)
            labels = pd.DataFrame({by[0]: np.asarray(single_levels)})
        else:
            raw_codes = []
            level_values = []
            for column in by:
                c, found = pd.factorize(keys[column], sort=True)
                raw_codes.append(np.asarray(c, dtype=np.int64))
                level_values.append(np.asarray(found))
            missing = np.zeros(n, dtype=bool)
            combined = np.zeros(n, dtype=np.int64)
            for part, u in zip(raw_codes, level_values, strict=True):
                missing |= part < 0
                combined = combined * max(len(u), 1) + np.maximum(part, 0)
            combined[missing] = -1
            present = np.unique(combined[~missing])
            raw = np.where(missing, -1, np.searchsorted(present, combined)).astype(np.int64)
            columns: dict[str, np.ndarray] = {}
            rest = present.copy()
            for column, u in reversed(list(zip(by, level_values, strict=True))):
                size = max(len(u), 1)
                columns[column] = u[rest % size]
                rest = rest // size
            labels = pd.DataFrame({column: columns[column] for column in by})
        n_domains = len(labels)
        codes = np.where(raw < 0, n_domains, raw).astype(np.int64)
    key = codes * design.n_psu + design.psu
    group, group_keys = pd.factorize(key)
    unique_keys = np.asarray(group_keys, dtype=np.int64)
    group_domain = unique_keys // design.n_psu
    group_psu = unique_keys % design.n_psu
    return DomainIndex(
        codes=codes,
        n_domains=n_domains,
        labels=labels,
        group=group.astype(np.int64),
        group_domain=group_domain,
        group_psu=group_psu,
        group_stratum=design.stratum_of_psu[group_psu],
    )


def domain_variance(
    design: PreparedDesign, index: DomainIndex, z: FloatArray, touched: BoolArray | None = None
) -> FloatArray:
    """Linearised variance per domain of scores ``z`` (``(n,)`` → ``(D,)``, ``(n, k)`` → ``(D, k)``).

    ``z`` must be zero on rows outside the domain they belong to; each row belongs to at most
    one domain, so one column of ``z`` serves every domain at once. ``touched`` marks the rows
    that put their stratum into the domain's count of strata for ``lonely_psu="average"`` (the
    domain's valid answers: R counts the strata of the domain's subset); every row of the domain
    when omitted.
    """
    if z.ndim == 2:
        return np.stack(
            [domain_variance(design, index, z[:, j], touched) for j in range(z.shape[1])], axis=1
        )
    n_groups = len(index.group_domain)
    n_strata = design.n_strata
    size = (index.n_domains + 1) * n_strata
    cell = index.group_domain * n_strata + index.group_stratum
    psu_total = np.bincount(index.group, weights=z, minlength=n_groups)
    cell_sum = np.bincount(cell, weights=psu_total, minlength=size)
    n_h = np.tile(design.psu_per_stratum, index.n_domains + 1).astype(float)
    center = np.tile(design.center, index.n_domains + 1)
    mean = np.where(center, cell_sum / n_h, 0.0)
    deviation = psu_total - mean[cell]
    # PSUs present in the domain: exact squared deviations from the stratum mean
    present = np.bincount(cell, weights=deviation * deviation, minlength=size)
    # PSUs of the stratum without rows in the domain: total 0, deviation −mean
    n_present = np.bincount(cell, minlength=size).astype(float)
    absent = (n_h - n_present) * mean * mean
    contribution = (present + absent).reshape(index.n_domains + 1, n_strata) * design.scale
    variance: FloatArray = contribution.sum(axis=1)[: index.n_domains]
    if design.average_lonely:
        variance = variance * average_multiplier(design, index, touched)
    return variance


def average_multiplier(
    design: PreparedDesign, index: DomainIndex, touched: BoolArray | None = None
) -> FloatArray:
    """``lonely_psu="average"``: per domain, #strata touched / #touched strata not lonely.

    As R's ``onestage`` on the domain's subset (``nstrat / nokstrat``); NaN when every stratum
    the domain touches is lonely.
    """
    rows = index.codes < index.n_domains
    if touched is not None:
        rows &= touched
    cell = index.codes * design.n_strata + design.stratum
    hit = np.bincount(cell[rows], minlength=(index.n_domains + 1) * design.n_strata) > 0
    hit = hit.reshape(index.n_domains + 1, design.n_strata)[: index.n_domains]
    strata = hit.sum(axis=1).astype(float)
    ok = (hit & ~design.lonely_strata[None, :]).sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        multiplier: FloatArray = np.where(ok > 0, strata / ok, np.nan)
    return multiplier
