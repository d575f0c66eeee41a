"""Weighting: post-stratification, raking (iterative proportional fitting), trimming, Kish.

- Post-stratification (Holt & Smith 1979): ``w_i · N_c / Ŵ_c`` in each cell c of the crossed
  post-strata, so weighted cell totals equal the census counts.
- Raking (Deming & Stephan 1940; R ``survey::rake``/``calibrate(calfun="raking")``): repeatedly
  post-stratify to each one-way margin (e.g. sex, age group, urban/rural, by province) until the
  largest relative margin error is below ``tolerance``.
- Calibration variance (Deville & Särndal 1992; R ``calibrate``'s ``greg_calibration``): the
  linearised scores are replaced by their residuals on the calibration model matrix X,
  ``r = z − g√w₀ · P(z / (g√w₀))`` with P the projection on the columns of ``√w₀ · X``.
- Trimming rule: weights above ``upper × median`` (default 3.5 × median) are cut to that cap and
  the excess is spread over the untrimmed weights in proportion to them, repeatedly, so the weight
  total is unchanged (Potter 1990; the usual "cap and redistribute" rule).
- Kish's effective sample size ``(Σw)² / Σw²`` and weighting efficiency ``n_eff / n``
  (Kish 1965, 1992).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.arrays import FloatArray
from scoring.columns import numeric_column


@dataclass(frozen=True, eq=False)
class Calibration:
    """What a calibrated design needs for its variance: the model matrix and weights.

    ``base_weights`` are the design weights before calibration, ``weights`` after; the model
    matrix has one column per margin level (or cell).
    """

    model: FloatArray
    base_weights: FloatArray
    weights: FloatArray

    def residualize(self, z: FloatArray) -> FloatArray:
        """Residuals of linearised scores on the calibration model (R ``greg_calibration``)."""
        g = np.where(
            self.base_weights > 0,
            self.weights / np.where(self.base_weights > 0, self.base_weights, 1.0),
            0.0,
        )
        scale = g * np.sqrt(self.base_weights)
        inside = scale > 0
        design = self.model[inside] * np.sqrt(self.base_weights[inside])[:, None]
        target = z[inside] / scale[inside]
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        out = np.zeros_like(z)
        out[inside] = (target - design @ coef) * scale[inside]
        return out


@dataclass(frozen=True, eq=False)
class WeightingResult:
    """Adjusted weights with their diagnostics.

    Attributes
    ----------
    weights : ndarray
        The adjusted weights, in the row order of the data.
    calibration : Calibration
        Pass to ``SurveyDesign(calibration=...)`` so variances reflect the calibration.
    iterations : int
        Raking sweeps used (1 for post-stratification).
    max_margin_error : float
        Largest relative difference between weighted and population margins.
    n_eff : float
        Kish's effective sample size of the adjusted weights.
    efficiency : float
        ``n_eff / n``.
    """

    weights: FloatArray
    calibration: Calibration
    iterations: int
    max_margin_error: float
    n_eff: float
    efficiency: float


def kish_effective_n(weights: FloatArray) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²``.

    Examples
    --------
    >>> kish_effective_n(np.array([1.0, 1.0, 2.0, 2.0]))
    3.6
    """
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w * w).sum())


def weighting_efficiency(weights: FloatArray) -> float:
    """Kish's weighting efficiency ``n_eff / n`` (1 for equal weights)."""
    return kish_effective_n(weights) / len(weights)


def _levels(data: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    if column not in data.columns:
        raise ValueError(f"weighting column {column!r} is not in the data")
    codes, levels = pd.factorize(data[column], sort=True)
    if (codes < 0).any():
        raise ValueError(f"weighting column {column!r} has a missing value")
    return np.asarray(codes, dtype=np.int64), np.asarray(levels, dtype=object)


def _base(data: pd.DataFrame, weight: str | None) -> FloatArray:
    if weight is None:
        return np.ones(len(data))
    return numeric_column(data, weight, what="weight")


def _population(margins: pd.DataFrame, variable: str, levels: np.ndarray) -> FloatArray:
    rows = margins[margins["variable"] == variable]
    if rows.empty:
        raise ValueError(f"no population margin for variable {variable!r}")
    lookup = dict(zip(rows["level"].astype(str), rows["population"].astype(float), strict=True))
    out = []
    for level in levels:
        if str(level) not in lookup:
            raise ValueError(f"margin of {variable!r} has no population for level {level!r}")
        out.append(lookup[str(level)])
    values = np.asarray(out, dtype=float)
    if (values <= 0).any():
        raise ValueError(f"population margins of {variable!r} must be positive, got {values!r}")
    return values


def rake(
    data: pd.DataFrame,
    margins: pd.DataFrame,
    *,
    weight: str | None = None,
    variables: Sequence[str] | None = None,
    group: str | None = None,
    tolerance: float = 1e-12,
    max_iterations: int = 1000,
) -> WeightingResult:
    """Rake weights to one-way population margins by iterative proportional fitting.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    margins : DataFrame
        Long table with columns ``variable``, ``level``, ``population`` (e.g. read from the
        census CSV). For margins within provinces, cross the variables first (``sex_province``).
    weight : str, optional
        Column of design weights (1 when omitted).
    variables : sequence of str, optional
        Margins to rake on (default: every ``variable`` in ``margins``).
    group : str, optional
        Rake separately within each value of this column (e.g. province); ``margins`` then has
        a column of the same name giving each margin's group.
    tolerance : float
        Stop when the largest relative margin error is below this.
    max_iterations : int
        Raise ValueError if raking has not converged after this many sweeps.

    Examples
    --------
    >>> data = pd.DataFrame({"sex": ["m", "f", "f"], "urban": ["u", "u", "r"]})
    >>> margins = pd.DataFrame({"variable": ["sex", "sex", "urban", "urban"],
    ...                         "level": ["m", "f", "u", "r"], "population": [50, 50, 60, 40]})
    >>> result = rake(data, margins)
    >>> float(round(result.weights.sum(), 6))
    100.0
    """
    for column in ("variable", "level", "population"):
        if column not in margins.columns:
            raise ValueError(f"margins need a {column!r} column, got {list(margins.columns)!r}")
    names = list(variables) if variables is not None else list(pd.unique(margins["variable"]))
    if group is not None:
        if group not in margins.columns:
            raise ValueError(f"margins need a {group!r} column to rake within groups")
        _levels(data, group)
        data = data.assign(**{name: data[group].astype(str) + " / " + data[name].astype(str)
                              for name in names})  # fmt: skip
        margins = margins.assign(
            level=margins[group].astype(str) + " / " + margins["level"].astype(str)
        )
    base = _base(data, weight)
    blocks = []
    targets = []
    codes_list = []
    for name in names:
        codes, levels = _levels(data, name)
        codes_list.append(codes)
        targets.append(_population(margins, name, levels))
        block = np.zeros((len(data), len(levels)))
        block[np.arange(len(data)), codes] = 1.0
        blocks.append(block)
    w = base.copy()
    error = np.inf
    iteration = 0
    while iteration < max_iterations:
        iteration += 1
        for codes, target in zip(codes_list, targets, strict=True):
            current = np.bincount(codes, weights=w, minlength=len(target))
            if (current <= 0).any():
                raise ValueError("a margin level has no respondents with positive weight")
            w = w * (target / current)[codes]
        error = max(
            float(np.max(np.abs(np.bincount(c, weights=w, minlength=len(t)) / t - 1)))
            for c, t in zip(codes_list, targets, strict=True)
        )
        if error < tolerance:
            break
    else:
        raise ValueError(f"raking did not converge in {max_iterations} sweeps (error {error:.3g})")
    calibration = Calibration(model=np.hstack(blocks), base_weights=base, weights=w)
    return WeightingResult(
        w, calibration, iteration, error, kish_effective_n(w), weighting_efficiency(w)
    )


def post_stratify(
    data: pd.DataFrame,
    population: pd.DataFrame,
    cells: Sequence[str],
    *,
    weight: str | None = None,
) -> WeightingResult:
    """Post-stratify weights to census counts of the cells crossed from ``cells``.

    ``population`` has the ``cells`` columns and a ``population`` column, one row per cell.
    Raises ValueError for a sample cell without a population count or an empty cell.
    """
    if "population" not in population.columns:
        raise ValueError("the population table needs a 'population' column")
    base = _base(data, weight)
    keys = data[list(cells)].astype(str).agg("\x1f".join, axis=1)
    pop_keys = population[list(cells)].astype(str).agg("\x1f".join, axis=1)
    lookup = dict(zip(pop_keys, population["population"].astype(float), strict=True))
    codes, levels = pd.factorize(keys, sort=True)
    missing = [level for level in levels if level not in lookup]
    if missing:
        raise ValueError(f"no population count for cell {missing[0].split(chr(31))!r}")
    target = np.asarray([lookup[level] for level in levels])
    current = np.bincount(codes, weights=base, minlength=len(levels))
    w = base * (target / current)[codes]
    model = np.zeros((len(data), len(levels)))
    model[np.arange(len(data)), codes] = 1.0
    calibration = Calibration(model=model, base_weights=base, weights=w)
    return WeightingResult(w, calibration, 1, 0.0, kish_effective_n(w), weighting_efficiency(w))


def trim_weights(
    weights: FloatArray, *, upper: float = 3.5, max_iterations: int = 100
) -> FloatArray:
    """Cap weights at ``upper × median`` and spread the excess over the untrimmed weights.

    The total is preserved; repeated until no weight exceeds the cap (the cap is fixed from the
    median of the input weights).

    Examples
    --------
    >>> trim_weights(np.array([1.0] * 7 + [10.0]), upper=3.0).tolist()
    [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 3.0]
    """
    if not upper > 1:
        raise ValueError(f"upper must exceed 1 (a multiple of the median), got {upper!r}")
    w = np.asarray(weights, dtype=float).copy()
    cap = upper * float(np.median(w))
    for _ in range(max_iterations):
        over = w > cap * (1 + 1e-12)
        if not over.any():
            return w
        excess = float((w[over] - cap).sum())
        w[over] = cap
        free = w < cap
        if not free.any():
            raise ValueError("every weight is at the cap: raise `upper`")
        w[free] += excess * w[free] / w[free].sum()
    return w
