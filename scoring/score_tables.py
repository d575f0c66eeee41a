"""The output tables of ``hailong score``, built from DataFrames (no IO here).

- :func:`score_file`: one row per domain × item × statistic (mean, share satisfied) with the
  estimate, its SE, interval and design effect;
- :func:`change_file`: the change of each from one period to another, with the covariance of the
  PSUs both periods share (:func:`scoring.change.change_scores`);
- :func:`small_area_file`: Fay–Herriot estimates per area from a covariates table
  (:mod:`scoring.sae`): shares satisfied on the arcsine scale, means with smoothed variances.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from scoring.change import change_scores
from scoring.composites import LinearPlan, composite, ratios
from scoring.design import SurveyDesign
from scoring.estimators import Statistic, item_values, mean, proportion
from scoring.intervals import MIN_N, CiMethod, build_table, check_confidence, resolve_df
from scoring.linearization import domain_index
from scoring.sae import FitMethod, direct_estimates, small_area_estimates

STATISTICS = ("mean", "satisfied")
OUTPUT_COLUMNS = (
    "domain", "item", "statistic", "n", "estimate", "se", "ci_low", "ci_high", "deff",
    "n_eff", "small_sample", "df", "note",
)  # fmt: skip
#: ``note`` of a row whose domain has no valid answer to the item: it has no estimate.
NO_VALID_ANSWER = "no valid answer in this domain: no estimate"
CHUNK = 4  # items scored together: bounds memory at n × CHUNK × a few float arrays


CHANGE_COLUMNS = (
    "domain", "item", "statistic", "n", "base_estimate", "current_estimate", "estimate", "se",
    "ci_low", "ci_high", "p_value", "significant", "df", "note",
)  # fmt: skip
SAE_COLUMNS = (
    "domain", "item", "statistic", "kind", "n", "direct", "direct_se", "estimate", "rmse",
    "ci_low", "ci_high", "gamma", "label",
)  # fmt: skip


def _indicator(answers: np.ndarray, statistic: str, satisfied: Sequence[float]) -> np.ndarray:
    if statistic == "mean":
        return answers
    hit = np.isin(answers, np.asarray(list(satisfied), dtype=float)).astype(float)
    out: np.ndarray = np.where(np.isnan(answers), np.nan, hit)
    return out


def _domain_column(out: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    if not by:
        return pd.Series("ALL", index=out.index)
    if len(by) > 1:
        return out[list(by)].astype(str).agg("|".join, axis=1)
    return out[by[0]]


def score_file(
    data: pd.DataFrame,
    *,
    design: SurveyDesign,
    items: Sequence[str],
    by: Sequence[str] = (),
    statistics: Sequence[str] = ("mean",),
    satisfied: Sequence[float] = (4, 5),
    missing_codes: Sequence[float] = (),
    confidence: float = 0.95,
    df: str = "design",
    ci: CiMethod = "wald",
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Score ``items`` per domain and return the CLI's output table (no IO here).

    A domain without any valid answer to an item still gets its row, with no estimate and
    ``note`` saying why (:data:`NO_VALID_ANSWER`); the other domains are scored as usual.

    Raises
    ------
    ValueError
        For a missing column, bad weights, a lonely PSU under ``fail``, no domain at all.
    """
    check_confidence(confidence)
    for statistic in statistics:
        if statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    if not items:
        raise ValueError("no item columns given")
    prepared = design.prepare(data)
    index = domain_index(data, by, prepared)
    if index.n_domains == 0:
        raise ValueError(f"the domain columns {list(by)!r} have no values")
    dof = resolve_df(df, prepared)  # type: ignore[arg-type]
    frames = []
    for start in range(0, len(items), CHUNK):
        names = list(items[start : start + CHUNK])
        answers = item_values(data, names, missing_codes)
        for statistic in statistics:
            if statistic == "mean":
                y = answers
            else:
                hit = np.isin(answers, np.asarray(list(satisfied), dtype=float))
                y = np.where(np.isnan(answers), np.nan, hit.astype(float))
            parts = ratios(prepared, index, y, np.ones_like(y))
            arrays = composite(prepared, index, parts, np.eye(len(names)))
            method: CiMethod = ci if statistic == "satisfied" else "wald"
            table = build_table(
                index, by, [statistic] * len(names), names, arrays, confidence=confidence, df=dof,
                ci=method, min_n=min_n,
            )  # fmt: skip
            frames.append(table.to_frame())
    out = pd.concat(frames, ignore_index=True)
    out["note"] = np.where(out["n"] == 0, NO_VALID_ANSWER, "")
    if by:
        out["domain"] = (
            out[list(by)].astype(str).agg("|".join, axis=1) if len(by) > 1 else out[by[0]]
        )
    else:
        out["domain"] = "ALL"
    out = out.rename(columns={"id": "item", "kind": "statistic"})
    # domain-major order: domains as sorted, then items as given, then statistics as given
    order_item = {name: i for i, name in enumerate(items)}
    order_stat = {name: i for i, name in enumerate(statistics)}
    out["_domain"] = _domain_positions(out, list(by), index.labels)
    out["_item"] = out["item"].map(order_item)
    out["_stat"] = out["statistic"].map(order_stat)
    out = out.sort_values(["_domain", "_item", "_stat"], kind="stable")
    return out[["domain", *by, *OUTPUT_COLUMNS[1:]]].reset_index(drop=True)


def _domain_positions(out: pd.DataFrame, by: list[str], labels: pd.DataFrame) -> np.ndarray:
    if not by:
        return np.zeros(len(out), dtype=np.int64)
    keyed = labels.reset_index(names="_position")
    merged = out[by].merge(keyed, on=by, how="left")
    return merged["_position"].to_numpy()


def change_file(
    data: pd.DataFrame,
    *,
    design: SurveyDesign,
    items: Sequence[str],
    period: str,
    base: str,
    current: str | None = None,
    by: Sequence[str] = (),
    statistics: Sequence[str] = ("mean",),
    satisfied: Sequence[float] = (4, 5),
    missing_codes: Sequence[float] = (),
    confidence: float = 0.95,
    df: str = "design",
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Change of each item's mean or share satisfied from period ``base`` to ``current`` (the
    latest period when omitted), per domain; periods are compared as text.

    Raises
    ------
    ValueError
        If the period column is missing or a period does not occur in it.
    """
    check_confidence(confidence)
    if period not in data.columns:
        raise ValueError(f"period column {period!r} is not in the data")
    labels = data[period].astype(str)
    found = sorted(labels[data[period].notna()].unique())
    if current is None:
        later = [p for p in found if p != base]
        if not later:
            raise ValueError(f"column {period!r} has no period other than {base!r}")
        current = later[-1]
    frames = []
    keyed = data.assign(_period=labels)
    for item in items:
        answers = item_values(data, [item], missing_codes)[:, 0]
        for statistic in statistics:
            y = _indicator(answers, statistic, satisfied)[:, None]
            plan = LinearPlan(y=y, coef=np.eye(1), offset=np.zeros(1), kinds=(statistic,),
                              ids=(item,))  # fmt: skip
            table = change_scores(keyed, plan, period="_period", base=base, current=current,
                                  design=design, by=by, confidence=confidence,
                                  df=df, min_n=min_n)  # type: ignore[arg-type]  # fmt: skip
            frames.append(table.to_frame())
    out = pd.concat(frames, ignore_index=True).rename(columns={"id": "item", "kind": "statistic"})
    out["domain"] = _domain_column(out, by)
    undefined = out["base_estimate"].isna() | out["current_estimate"].isna()
    out["note"] = np.where(undefined, f"no valid answer in {base} or {current}: no change", "")
    out.attrs["periods"] = (base, current)
    return out[["domain", *by, *CHANGE_COLUMNS[1:]]].reset_index(drop=True)


def small_area_file(
    data: pd.DataFrame,
    covariates: pd.DataFrame,
    *,
    design: SurveyDesign,
    items: Sequence[str],
    area: str,
    columns: Sequence[str] | None = None,
    statistics: Sequence[str] = ("satisfied",),
    satisfied: Sequence[float] = (4, 5),
    missing_codes: Sequence[float] = (),
    method: FitMethod = "REML",
    population: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Fay–Herriot estimates per area (rows of ``covariates``) of each item's share satisfied
    (arcsine scale, Kish n_eff) or mean (variances of one-PSU areas smoothed); with a
    ``population`` column the estimates are benchmarked to the whole file's direct estimate."""
    if area not in covariates.columns:
        raise ValueError(f"the covariates have no column {area!r} (the area)")
    if columns is None:
        numeric = covariates.select_dtypes("number").columns
        columns = [c for c in numeric if c not in (area, population)]
    if not columns:
        raise ValueError("the covariates table has no numeric covariate column")
    keys = covariates.assign(**{area: covariates[area].astype(str)})
    data = data.assign(**{area: data[area].astype(str)})
    frames = []
    for item in items:
        for statistic in statistics:
            kind: Statistic = "proportion" if statistic == "satisfied" else "mean"
            direct = direct_estimates(data, item, area=area, design=design, statistic=kind,
                                      satisfied=satisfied, missing_codes=missing_codes)  # fmt: skip
            whole_table = (
                proportion(data, item, values=satisfied, design=design, missing_codes=missing_codes)
                if kind == "proportion"
                else mean(data, item, design=design, missing_codes=missing_codes)
            )
            whole = float(whole_table.to_frame()["estimate"].iloc[0])
            values = _indicator(
                item_values(data, [item], missing_codes)[:, 0], statistic, satisfied
            )
            valid = ~np.isnan(values)
            weights = design.prepare(data).weights[valid]
            unit_variance = (
                float(np.cov(values[valid], aweights=weights)) if valid.sum() > 1 else None
            )
            out = small_area_estimates(
                direct, keys, area=area, columns=list(columns), method=method,
                transform="arcsine" if kind == "proportion" else "none",
                unit_variance=None if kind == "proportion" else unit_variance,
                benchmark=whole if population is not None else None, population=population,
                confidence=confidence,
            )  # fmt: skip
            frames.append(out.assign(item=item, statistic=statistic, domain=out[area]))
    result = pd.concat(frames, ignore_index=True)
    return result[list(SAE_COLUMNS)]
