"""``hailong portal …`` (the static site, CKAN, PDF reports) and ``hailong admin-index …``
(the Decision 766 figures): commands for automation of the publication side."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask_babel import gettext as _


def _in_app(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``command`` inside an application context built from the configuration."""

    @wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from survey import create_app

        try:
            app = create_app()
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            with app.app_context(), app.test_request_context():
                return command(*args, **kwargs)
        finally:
            app.extensions["hailong.engine"].dispose()

    return wrapped


@click.group("admin-index")
def admin_index_group() -> None:
    """Decision 766 figures of the national public service portal, per unit."""


@admin_index_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--period", help="The period of every row, when the file has no period column (2026-Q3, 2026-H1, 2026-9M, 2026).")
@_in_app
def import_command(file: Path, period: str | None) -> None:
    """Import a CSV or XLSX file of Decision 766 figures (all rows or none)."""
    from survey.portal import admin_index
    from survey.store.db import session_scope

    try:
        with session_scope(current_app.extensions["hailong.engine"]) as session:
            done = admin_index.import_file(session, file.name, file.read_bytes(), period=period)
    except admin_index.ImportRefused as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException(_("%(file)s: nothing was imported (%(n)s problems).", file=file.name,
                                     n=len(exc.problems))) from None
    click.echo(_("%(figures)s figures of %(units)s units were imported (%(periods)s).", figures=done.figures,
                 units=done.units, periods=", ".join(done.periods)))


@admin_index_group.command("template")
def template_command() -> None:
    """Print an empty CSV file with every column (UTF-8 for Excel)."""
    from survey.portal import admin_index

    click.echo(admin_index.template_csv().decode("utf-8"), nl=False)
