"""``hailong covariates …``: the area covariates of the small-area model, a set-up task (see
:mod:`survey.reports.covariates`)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask_babel import gettext as _

from survey.cli import in_app


@click.group("covariates")
def covariates_group() -> None:
    """Area covariates of units (population, area, poverty rate, …) for the modelled estimates."""


@covariates_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", help="The documented source of every row, when the file has no Source column.")
@in_app(request=True)
def import_command(file: Path, source: str | None) -> None:
    """Import a CSV or XLSX file of covariates, one row per unit (all rows or none)."""
    from survey.reports import covariates
    from survey.store.db import session_scope

    try:
        with session_scope(current_app.extensions["hailong.engine"]) as session:
            done = covariates.import_file(session, file.name, file.read_bytes(), source=source)
            from survey.store import audit

            audit.record_command(session, "covariates import", target="covariates",
                                 details={"values": done.values, "units": done.units})
    except covariates.ImportRefused as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException(_("%(file)s: nothing was imported (%(n)s problems).", file=file.name,
                                     n=len(exc.problems))) from None
    click.echo(_("%(values)s values of %(units)s units were imported (%(names)s).", values=done.values,
                 units=done.units, names=", ".join(done.covariates)))


@covariates_group.command("template")
def template_command() -> None:
    """Print an empty CSV file with every documented covariate (UTF-8 for Excel)."""
    from survey.reports import covariates

    click.echo(covariates.template_csv().decode("utf-8"), nl=False)
