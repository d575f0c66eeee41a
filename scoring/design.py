"""Survey designs: weights, strata, PSUs nested in strata, finite population correction.

The design mirrors R ``survey``'s ``svydesign(ids=~psu, strata=~stratum, weights=~weight,
fpc=~fpc, nest=TRUE)``. Without a PSU column every row is its own PSU (R: ``ids=~1``); without
a stratum column the design has one stratum. Variances are Taylor-linearised with PSUs treated
as drawn with replacement within strata (Lumley 2010, §2.3; Wolter 2007, ch. 6):

    v(θ) = Σ_h f_h · n_h/(n_h − 1) · Σ_i (z_hi − z̄_h)²,

with ``z_hi`` the PSU total of the linearised score and ``f_h = 1 − n_h/N_h`` when an fpc is
given; a stratum with ``f_h < 10⁻⁷`` is exhaustively sampled and adds nothing (R ``onestrat``),
so a single PSU that is its stratum's whole population (N_h = n_h = 1) is a certainty stratum,
not a lonely one. A stratum with one PSU of several ("lonely PSU") is handled as R's
``options(survey.lonely.psu=)``: ``fail`` (default), ``adjust`` (centre at the grand mean, i.e.
zero), ``average`` (drop it and scale up by #strata / (#strata − #lonely), both counted among the
strata the domain's valid answers touch, as R on the domain's subset), ``certainty`` and
``remove`` (contribute nothing). The design degrees of freedom are ``#PSU − #strata`` (R
``degf``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from scoring.arrays import BoolArray, FloatArray, IntArray
from scoring.columns import codes, numeric_column
from scoring.replicates import ReplicateFactors, bootstrap_factors, jackknife_factors
from scoring.weighting import Calibration

LonelyPsu = Literal["fail", "adjust", "average", "certainty", "remove"]
LONELY_PSU_RULES: tuple[str, ...] = get_args(LonelyPsu)
VarianceMethod = Literal["taylor", "bootstrap", "jackknife"]
VARIANCE_METHODS: tuple[str, ...] = get_args(VarianceMethod)
#: Below this finite population correction 1 − n_h/N_h a stratum is exhaustively sampled
#: (R ``onestrat``'s ``f < 1e-07``).
CERTAINTY = 1e-7


@dataclass(frozen=True)
class SurveyDesign:
    """Column names that describe how the sample was drawn.

    Parameters
    ----------
    weight : str, optional
        Column of sampling (or calibrated) weights; equal weights when omitted.
    stratum : str, optional
        Column of strata; one stratum when omitted.
    psu : str, optional
        Column of primary sampling units, nested within strata; each row is its own PSU
        when omitted (R ``ids=~1``).
    fpc : str, optional
        Column holding, per row, the number of PSUs in the stratum's population (or the
        sampling fraction when every value is ≤ 1), as R's ``fpc=``.
    lonely_psu : {"fail", "adjust", "average", "certainty", "remove"}
        What to do with a stratum that has a single PSU (R ``survey.lonely.psu``).
    calibration : Calibration, optional
        From :func:`scoring.weighting.rake` or ``post_stratify``: its weights replace the weight
        column and variances use the calibration residuals (R ``calibrate``).
    variance : {"taylor", "bootstrap", "jackknife"}
        Taylor linearisation (default) or replicate weights (:mod:`scoring.replicates`).
    replicates, seed : int
        Number of bootstrap replicates and the seed of their generator.
    mse : bool
        Replicate deviations from the full-sample estimate instead of the replicate mean.

    Examples
    --------
    >>> design = SurveyDesign(weight="weight", stratum="district", psu="commune")
    >>> design.columns()
    ('weight', 'district', 'commune')
    """

    weight: str | None = None
    stratum: str | None = None
    psu: str | None = None
    fpc: str | None = None
    lonely_psu: LonelyPsu = "fail"
    calibration: Calibration | None = None
    variance: VarianceMethod = "taylor"
    replicates: int = 500
    seed: int = 2026
    mse: bool = False

    def __post_init__(self) -> None:
        if self.lonely_psu not in LONELY_PSU_RULES:
            raise ValueError(
                f"lonely_psu must be one of {LONELY_PSU_RULES}, got {self.lonely_psu!r}"
            )
        if self.variance not in VARIANCE_METHODS:
            raise ValueError(f"variance must be one of {VARIANCE_METHODS}, got {self.variance!r}")
        if self.calibration is not None and self.variance != "taylor":
            raise ValueError("calibrated designs support variance='taylor' only")

    def columns(self) -> tuple[str, ...]:
        """The data columns this design reads, in the order weight, stratum, psu, fpc."""
        return tuple(c for c in (self.weight, self.stratum, self.psu, self.fpc) if c is not None)

    def prepare(self, data: pd.DataFrame, weights: FloatArray | None = None) -> PreparedDesign:
        """Check the design columns of ``data`` and compile them to integer codes.

        Parameters
        ----------
        data : DataFrame
            One row per respondent.
        weights : ndarray, optional
            Weights to use instead of the ``weight`` column (e.g. raked weights).

        Raises
        ------
        ValueError
            For a missing column, missing or non-numeric or negative weights, missing strata
            or PSUs, an inconsistent fpc, or a lonely PSU under ``lonely_psu="fail"``.
        """
        for column in self.columns():
            if column not in data.columns:
                raise ValueError(f"design column {column!r} is not in the data")
        n = len(data)
        if n == 0:
            raise ValueError("the data has no rows")
        if weights is None and self.calibration is not None:
            weights = self.calibration.weights
        if weights is None:
            w = (
                np.ones(n)
                if self.weight is None
                else numeric_column(data, self.weight, what="weight")
            )
        else:
            w = np.asarray(weights, dtype=float)
            if w.shape != (n,):
                raise ValueError(f"weights must have {n} values, got shape {w.shape}")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            value = float(w[np.argmax(bad)])
            raise ValueError(
                f"weights must be finite and non-negative; column {self.weight!r} has {value!r}"
            )
        stratum = codes(data, self.stratum, n)
        if self.psu is None:
            psu = np.arange(n, dtype=np.int64)
        else:
            raw_psu = codes(data, self.psu, n)
            key = stratum * (int(raw_psu.max()) + 1) + raw_psu
            psu = pd.factorize(key)[0].astype(np.int64)
        n_psu = int(psu.max()) + 1
        n_strata = int(stratum.max()) + 1
        stratum_of_psu = np.zeros(n_psu, dtype=np.int64)
        stratum_of_psu[psu] = stratum
        psu_per_stratum = np.bincount(stratum_of_psu, minlength=n_strata).astype(np.int64)
        labels = (
            np.array(["ALL"], dtype=object)
            if self.stratum is None
            else np.asarray(pd.unique(data[self.stratum]), dtype=object)
        )
        finite = self._finite_correction(data, stratum, n_strata, psu_per_stratum)
        # a single PSU that is the whole stratum's population (N_h = n_h = 1) is a certainty
        # stratum: it adds no variance and is not lonely (R ``onestrat``: f < 1e-7 → 0)
        lonely = (psu_per_stratum == 1) & (finite >= CERTAINTY)
        if lonely.any() and self.lonely_psu == "fail":
            names = ", ".join(repr(v) for v in labels[lonely][:5])
            raise ValueError(
                f"stratum {names} has only one PSU; choose lonely_psu='adjust', 'average', "
                "'certainty' or 'remove'"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(
                psu_per_stratum == 1, finite, finite * psu_per_stratum / (psu_per_stratum - 1)
            )
        scale = np.where(finite < CERTAINTY, 0.0, scale)
        center = ~lonely | (self.lonely_psu != "adjust")
        if self.lonely_psu in ("certainty", "remove", "average"):
            scale = np.where(lonely, 0.0, scale)
        if self.lonely_psu == "average" and lonely.all():
            raise ValueError("every stratum has a single PSU: 'average' has nothing to average")
        factors: ReplicateFactors | None = None
        if self.variance == "bootstrap":
            factors = bootstrap_factors(stratum_of_psu, self.replicates, self.seed, self.mse)
        elif self.variance == "jackknife":
            factors = jackknife_factors(
                stratum_of_psu, self.mse, finite=finite, lonely=lonely, lonely_psu=self.lonely_psu
            )
        if self.calibration is not None and len(self.calibration.weights) != n:
            raise ValueError(
                f"the calibration has {len(self.calibration.weights)} weights for {n} rows"
            )
        return PreparedDesign(
            calibration=self.calibration,
            replicate_factors=factors,
            weights=w,
            stratum=stratum,
            psu=psu,
            stratum_of_psu=stratum_of_psu,
            psu_per_stratum=psu_per_stratum,
            scale=scale,
            center=center,
            average_lonely=self.lonely_psu == "average" and bool(lonely.any()),
            lonely_strata=lonely,
            stratum_labels=labels,
        )

    def _finite_correction(
        self, data: pd.DataFrame, stratum: IntArray, n_strata: int, psu_per_stratum: IntArray
    ) -> FloatArray:
        if self.fpc is None:
            return np.ones(n_strata)
        fpc = numeric_column(data, self.fpc, what="fpc")
        if (~np.isfinite(fpc) | (fpc <= 0)).any():
            bad = float(fpc[np.argmax(~np.isfinite(fpc) | (fpc <= 0))])
            raise ValueError(f"fpc column {self.fpc!r} must be positive, got {bad!r}")
        per_stratum = np.full(n_strata, np.nan)
        per_stratum[stratum] = fpc
        if not np.allclose(per_stratum[stratum], fpc):
            raise ValueError(f"fpc column {self.fpc!r} must be constant within each stratum")
        if (fpc <= 1).all():  # sampling fractions, as R: popsize = sampsize / fraction
            population = psu_per_stratum / per_stratum
        else:
            population = per_stratum
        if (population < psu_per_stratum - 1e-9).any():
            raise ValueError(
                f"fpc column {self.fpc!r} gives fewer population PSUs than sampled PSUs"
            )
        finite: FloatArray = (population - psu_per_stratum) / population
        return finite


@dataclass(frozen=True, eq=False)
class PreparedDesign:
    """A design compiled to arrays: what the variance engine needs, nothing else."""

    weights: FloatArray
    stratum: IntArray
    psu: IntArray
    stratum_of_psu: IntArray
    psu_per_stratum: IntArray
    scale: FloatArray
    center: BoolArray
    average_lonely: bool
    lonely_strata: BoolArray
    stratum_labels: np.ndarray
    calibration: Calibration | None = None
    replicate_factors: ReplicateFactors | None = None

    @property
    def n_rows(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_psu(self) -> int:
        return int(self.stratum_of_psu.shape[0])

    @property
    def n_strata(self) -> int:
        return int(self.psu_per_stratum.shape[0])

    @property
    def df(self) -> int:
        """Design degrees of freedom, #PSU − #strata (R ``degf``)."""
        return self.n_psu - self.n_strata
