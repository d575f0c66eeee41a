"""``hailong score``: design-based means and shares satisfied for any survey CSV file.

One output row per domain × item × statistic, with the unweighted number of valid answers, the
estimate, its linearised standard error (Taylor linearisation, PSUs with replacement, as R
``survey``), the confidence interval (Wald on Student t with the design degrees of freedom by
default, or the logit interval of ``svyciprop``) and the design effect. This is the only module
of :mod:`scoring` that reads or writes files.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, cast

import click
import numpy as np
import pandas as pd

from scoring.composites import composite, ratios
from scoring.design import LONELY_PSU_RULES, LonelyPsu, SurveyDesign
from scoring.estimators import item_values
from scoring.intervals import MIN_N, CiMethod, build_table, check_confidence, resolve_df
from scoring.linearization import domain_index

STATISTICS = ("mean", "satisfied")
OUTPUT_COLUMNS = (
    "domain", "item", "statistic", "n", "estimate", "se", "ci_low", "ci_high", "deff",
    "n_eff", "small_sample", "df", "note",
)  # fmt: skip
#: ``note`` of a row whose domain has no valid answer to the item: it has no estimate.
NO_VALID_ANSWER = "no valid answer in this domain: no estimate"
CHUNK = 4  # items scored together: bounds memory at n × CHUNK × a few float arrays


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _numbers(text: str | None, option: str) -> list[float]:
    try:
        return [float(part) for part in _split(text)]
    except ValueError:
        raise click.BadParameter(f"expected numbers separated by commas, got {text!r}",
                                 param_hint=option) from None  # fmt: skip


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


def _read_csv(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    with path.open("rb") as handle:
        header = pd.read_csv(handle, nrows=0).columns
    missing = [c for c in columns if c not in header]
    if missing:
        raise click.BadParameter(f"column {missing[0]!r} is not in {path.name}", param_hint="FILE")
    engine: Literal["pyarrow", "c"] = "pyarrow" if importlib.util.find_spec("pyarrow") else "c"
    return pd.read_csv(path, usecols=list(dict.fromkeys(columns)), engine=engine)


@click.command("score")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--weight", help="Column of survey weights (equal weights if omitted).")
@click.option("--strata", help="Column of strata.")
@click.option("--psu", help="Column of primary sampling units (each row its own PSU if omitted).")
@click.option("--fpc", help="Column of population PSU counts (or sampling fractions) per stratum.")
@click.option("--by", help="Domain columns, comma-separated (unit, service, channel, period).")
@click.option("--items", required=True, help="Item columns to score, comma-separated.")
@click.option("--statistic", default="mean", show_default=True,
              help="mean, satisfied, or both comma-separated.")  # fmt: skip
@click.option("--satisfied-codes", default="4,5", show_default=True,
              help="Answer codes counted as satisfied.")  # fmt: skip
@click.option("--missing-codes", default="", help="Codes that are not scores, e.g. 9 (don't know).")
@click.option("--confidence", "--level", "confidence", default=0.95, show_default=True, type=float,
              help="Confidence level of the intervals, e.g. 0.95.")  # fmt: skip
@click.option("--df", "df_rule", type=click.Choice(["design", "inf"]), default="design",
              show_default=True, help="t on #PSU − #strata, or the normal quantile.")  # fmt: skip
@click.option("--ci", type=click.Choice(["wald", "logit"]), default="wald", show_default=True,
              help="Interval for shares satisfied (means always use Wald).")  # fmt: skip
@click.option("--lonely-psu", type=click.Choice(LONELY_PSU_RULES), default="fail",
              show_default=True, help="Strata with a single PSU, as R survey.lonely.psu.")  # fmt: skip
@click.option("--min-n", default=MIN_N, show_default=True, type=int,
              help="Flag estimates with fewer valid answers as small_sample.")  # fmt: skip
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output CSV (UTF-8).")  # fmt: skip
def score_command(
    file: Path,
    weight: str | None,
    strata: str | None,
    psu: str | None,
    fpc: str | None,
    by: str | None,
    items: str,
    statistic: str,
    satisfied_codes: str,
    missing_codes: str,
    confidence: float,
    df_rule: str,
    ci: str,
    lonely_psu: str,
    min_n: int,
    out: Path,
) -> None:
    """Score survey items in FILE.csv with design-based standard errors and intervals.

    Writes one row per domain × item × statistic: domain, item, statistic, n (valid answers),
    estimate, se, ci_low, ci_high, deff, n_eff, small_sample, df, note. Empty cells and
    --missing-codes are not valid answers; a domain with no valid answer to an item gets a row
    without estimate whose note says so.
    """
    item_list = _split(items)
    by_list = _split(by)
    statistics = _split(statistic)
    for name in statistics:
        if name not in STATISTICS:
            raise click.BadParameter(f"must be mean and/or satisfied, got {name!r}",
                                     param_hint="--statistic")  # fmt: skip
    design = SurveyDesign(weight=weight, stratum=strata, psu=psu, fpc=fpc,
                          lonely_psu=cast(LonelyPsu, lonely_psu))  # fmt: skip
    data = _read_csv(file, [*design.columns(), *by_list, *item_list])
    try:
        table = score_file(
            data, design=design, items=item_list, by=by_list, statistics=statistics,
            satisfied=_numbers(satisfied_codes, "--satisfied-codes"),
            missing_codes=_numbers(missing_codes, "--missing-codes"), confidence=confidence,
            df=df_rule, ci=cast(CiMethod, ci), min_n=min_n,
        )  # fmt: skip
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    table.to_csv(out, index=False, encoding="utf-8")
    empty = table[table["note"] == NO_VALID_ANSWER]
    if len(empty):
        pairs = ", ".join(f"{d}/{i}" for d, i in zip(empty["domain"], empty["item"], strict=True))
        click.echo(f"no valid answer, so no estimate, for (domain/item): {pairs}", err=True)
    click.echo(f"wrote {len(table)} estimates to {out}")
