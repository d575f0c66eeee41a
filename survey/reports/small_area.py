"""Modelled (small-area) indices of units: the Fay–Herriot EBLUP of ``scoring.sae`` on the units'
direct indices and their area covariates (:mod:`survey.reports.covariates`).

One function for the staff ranking and the release snapshot, so both show the same numbers:

- the direct index of each unit with answers and a positive design variance enters the model
  (``transform="none"``: the SIPAS index is a mean of rates, not a single proportion; its design
  variance is the Taylor-linearised one of the product's own domain estimates);
- the covariates are those known for every unit ranked (``urban`` from the unit's kind at the
  least); a covariate is used only when it varies among the units with answers, and at most one
  per five such units (in the order of :data:`survey.reports.covariates.KNOWN`, then the others
  by name), so the model never has nearly as many coefficients as areas;
- σ²_v by REML; the MSE by Prasad–Rao; the interval is ``estimate ± z·√MSE``, cut to [0, 1];
- a unit without answers gets the synthetic estimate ``xᵀβ̂`` (``kind`` = ``"synthetic"``);
- fewer than :data:`MIN_AREAS` units with answers: no model (nothing is returned).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

MIN_AREAS = 4  # units with a direct index needed to fit the model
AREAS_PER_COVARIATE = 5
METHOD: Final = "REML"


@dataclass(frozen=True)
class ModelInfo:
    """What produced the modelled indices (published beside them)."""

    method: str
    covariates: tuple[str, ...]
    areas_fitted: int
    sigma2_v: float
    beta: tuple[float, ...]  # intercept first, then one per covariate


def chosen_covariates(covariates: pd.DataFrame, sampled: pd.Series) -> list[str]:
    """The covariate columns the model uses: those that vary among the ``sampled`` areas, at most
    one per :data:`AREAS_PER_COVARIATE` of them."""
    inside = covariates[covariates["area"].isin(set(sampled))]
    varying = [c for c in covariates.columns if c != "area" and inside[c].nunique() > 1]
    return varying[: len(inside) // AREAS_PER_COVARIATE]


def modelled_indices(direct: pd.DataFrame, covariates: pd.DataFrame, *,
                     confidence: float = 0.95) -> tuple[pd.DataFrame, ModelInfo] | None:
    """Fay–Herriot indices for every area of ``covariates``.

    ``direct`` has one row per area with answers: ``area``, ``direct``, ``variance`` (design
    variance of the direct index), ``n``, ``n_eff``, ``n_psu``, ``deff``; ``covariates`` comes
    from :func:`survey.reports.covariates.unit_covariates`. Returns a frame ``area``, ``estimate``,
    ``mse``, ``ci_low``, ``ci_high``, ``kind`` (``eblup``/``synthetic``), ``gamma`` (the weight of
    the direct index), with the :class:`ModelInfo`; or None when the model cannot be fitted.
    """
    from scoring.sae import small_area_estimates

    usable = direct[(direct["n"] > 0) & (direct["variance"] > 0) & np.isfinite(direct["variance"])
                    & direct["area"].isin(set(covariates["area"]))]
    if len(usable) < MIN_AREAS:
        return None
    columns = chosen_covariates(covariates, usable["area"])
    try:
        out = small_area_estimates(usable, covariates, area="area", columns=columns, method=METHOD,
                                   confidence=confidence, min_psu=1)
    except (ValueError, np.linalg.LinAlgError):  # e.g. collinear covariates on these units
        return None
    fit = out.attrs["fit"]
    frame = pd.DataFrame({
        "area": out["area"].to_numpy(), "estimate": out["estimate"].clip(0, 1).to_numpy(),
        "mse": out["mse"].to_numpy(), "ci_low": out["ci_low"].clip(0, 1).to_numpy(),
        "ci_high": out["ci_high"].clip(0, 1).to_numpy(), "kind": out["kind"].to_numpy(),
        "gamma": out["gamma"].to_numpy(),
    })
    info = ModelInfo(METHOD, tuple(columns), len(usable), float(fit.sigma2_v),
                     tuple(float(b) for b in fit.beta))
    return frame, info
