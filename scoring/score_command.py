"""``hailong score``: design-based means and shares satisfied for any survey CSV file.

One output row per domain × item × statistic, with the unweighted number of valid answers, the
estimate, its linearised standard error (Taylor linearisation, PSUs with replacement, as R
``survey``), the confidence interval (Wald on Student t with the design degrees of freedom by
default, or the logit interval of ``svyciprop``) and the design effect; or, with
``--change-from``, the change between two periods; or, with ``--sae``, Fay–Herriot small-area
estimates per area. The tables are built in :mod:`scoring.score_tables`; this is the only module of
:mod:`scoring` that reads or writes files.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, cast

import click
import pandas as pd

from scoring.design import LONELY_PSU_RULES, LonelyPsu, SurveyDesign
from scoring.intervals import MIN_N, CiMethod
from scoring.sae import FitMethod
from scoring.score_tables import (
    NO_VALID_ANSWER,
    STATISTICS,
    change_file,
    score_file,
    small_area_file,
)

__all__ = ["score_command", "score_file"]


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _numbers(text: str | None, option: str) -> list[float]:
    try:
        return [float(part) for part in _split(text)]
    except ValueError:
        raise click.BadParameter(f"expected numbers separated by commas, got {text!r}",
                                 param_hint=option) from None  # fmt: skip


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
@click.option("--period", help="Period column, for --change-from.")
@click.option("--change-from", "change_from", metavar="PERIOD",
              help="Score the change from PERIOD to --change-to (default: the latest period).")  # fmt: skip
@click.option("--change-to", "change_to", metavar="PERIOD", help="The later period of the change.")
@click.option("--sae", "sae", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="COVARIATES.csv",
              help="Fay–Herriot small-area estimates per --by area, from this table of area "
                   "covariates (one row per area).")  # fmt: skip
@click.option("--sae-covariates", help="Covariate columns to use (default: every numeric one).")
@click.option("--sae-population", help="Population column of COVARIATES.csv: benchmark to the "
                                       "whole file's direct estimate.")  # fmt: skip
@click.option("--sae-method", type=click.Choice(["REML", "ML"]), default="REML", show_default=True,
              help="How the area-effect variance is estimated.")  # fmt: skip
@click.option("--out", required=True, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Output CSV (UTF-8); - for standard output.")  # fmt: skip
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
    period: str | None,
    change_from: str | None,
    change_to: str | None,
    sae: Path | None,
    sae_covariates: str | None,
    sae_population: str | None,
    sae_method: str,
    out: Path,
) -> None:
    """Score survey items in FILE.csv with design-based standard errors and intervals.

    Writes one row per domain × item × statistic: domain, item, statistic, n (valid answers),
    estimate, se, ci_low, ci_high, deff, n_eff, small_sample, df, note. Empty cells and
    --missing-codes are not valid answers; a domain with no valid answer to an item gets a row
    without estimate whose note says so. With --period and --change-from, the rows are changes
    (estimate = current − base, with base_estimate, current_estimate, p_value, significant).
    With --sae, the rows are modelled estimates per --by area (kind eblup or synthetic, rmse,
    interval from the MSE, the direct estimate beside it, label "modelled estimate").
    """
    item_list = _split(items)
    by_list = _split(by)
    statistics = _split(statistic)
    for name in statistics:
        if name not in STATISTICS:
            raise click.BadParameter(f"must be mean and/or satisfied, got {name!r}",
                                     param_hint="--statistic")  # fmt: skip
    if change_from is not None and period is None:
        raise click.BadParameter("--change-from needs --period (the period column)",
                                 param_hint="--period")  # fmt: skip
    if sae is not None and len(by_list) != 1:
        raise click.BadParameter("--sae needs one --by column: the area", param_hint="--by")
    if sae is not None and change_from is not None:
        raise click.UsageError("choose --sae or --change-from, not both")
    design = SurveyDesign(weight=weight, stratum=strata, psu=psu, fpc=fpc,
                          lonely_psu=cast(LonelyPsu, lonely_psu))  # fmt: skip
    extra = [period] if period else []
    data = _read_csv(file, [*design.columns(), *by_list, *item_list, *extra])
    common = dict(
        design=design, items=item_list, statistics=statistics,
        satisfied=_numbers(satisfied_codes, "--satisfied-codes"),
        missing_codes=_numbers(missing_codes, "--missing-codes"), confidence=confidence,
    )  # fmt: skip
    try:
        if sae is not None:
            covariates = pd.read_csv(sae)
            what = "modelled estimates"
            table = small_area_file(
                data, covariates, area=by_list[0], columns=_split(sae_covariates) or None,
                population=sae_population, method=cast(FitMethod, sae_method),
                **common,  # type: ignore[arg-type]
            )  # fmt: skip
        elif change_from is not None:
            what = "changes"
            table = change_file(data, period=cast(str, period), base=change_from,
                                current=change_to, by=by_list, df=df_rule, min_n=min_n,
                                **common)  # type: ignore[arg-type]  # fmt: skip
        else:
            what = "estimates"
            table = score_file(data, by=by_list, df=df_rule, ci=cast(CiMethod, ci), min_n=min_n,
                               **common)  # type: ignore[arg-type]  # fmt: skip
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    to_stdout = str(out) == "-"
    table.to_csv(sys.stdout if to_stdout else out, index=False, encoding="utf-8")
    if "note" in table.columns:
        empty = table[table["note"] == NO_VALID_ANSWER]
        if len(empty):
            pairs = ", ".join(f"{d}/{i}" for d, i in zip(empty["domain"], empty["item"],
                                                         strict=True))  # fmt: skip
            click.echo(f"no valid answer, so no estimate, for (domain/item): {pairs}", err=True)
    click.echo(f"wrote {len(table)} {what} to {'standard output' if to_stdout else out}",
               err=to_stdout)  # fmt: skip
