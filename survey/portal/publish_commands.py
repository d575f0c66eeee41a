"""``hailong portal …`` (the static site, CKAN, PDF reports) and ``hailong admin-index …``
(the Decision 766 figures): commands for automation of the publication side."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask_babel import gettext as _

from survey.cli import in_app


@click.group("admin-index")
def admin_index_group() -> None:
    """Decision 766 figures of the national public service portal, per unit."""


@admin_index_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--period", help="The period of every row, when the file has no period column (2026-Q3, 2026-H1, 2026-9M, 2026).")
@in_app(request=True)
def import_command(file: Path, period: str | None) -> None:
    """Import a CSV or XLSX file of Decision 766 figures (all rows or none)."""
    from survey.portal import admin_index
    from survey.store.db import session_scope

    try:
        with session_scope(current_app.extensions["hailong.engine"]) as session:
            done = admin_index.import_file(session, file.name, file.read_bytes(), period=period)
            from survey.store import audit

            audit.record_command(session, "admin-index import", target="admin_index",
                                 details={"figures": done.figures, "units": done.units})
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


@click.group("portal")
def portal_group() -> None:
    """The published portal: static copy, CKAN, PDF reports."""


@portal_group.command("build")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", default="/", show_default=True,
              help="Where the folder will be served, e.g. /ket-qua/ for a sub-folder of the provincial web server.")
@click.option("--live-url", default="", help="Address of the live app (e.g. https://hailong.camau.gov.vn) for the links "
              "to staff sign-in and the JSON API; without it they become plain text.")
def build_command(out_dir: Path, base_url: str, live_url: str) -> None:
    """Write the whole published portal into OUT_DIR as static files (emptied first)."""
    from survey import create_app
    from survey.portal import static_site

    try:
        app = create_app()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    try:  # outside any app context: each page is its own request, in its own language
        report = static_site.build(app, out_dir, base_url=base_url, live_url=live_url)
        with app.test_request_context():
            for path, status in sorted(report.failed.items()):
                click.echo(_("Not written: %(path)s (HTTP %(status)s)", path=path, status=status), err=True)
            click.echo(_("%(n)s files (%(size)s MB) written to %(dir)s.", n=len(report.files),
                         size=round(report.size / 1e6, 1), dir=out_dir))
    finally:
        app.extensions["hailong.engine"].dispose()


@portal_group.command("push-ckan")
@click.argument("release_id", type=int)
@in_app(request=True)
def push_ckan_command(release_id: int) -> None:
    """Publish RELEASE_ID's data package and PDF reports to the CKAN of HAILONG_CKAN_URL."""
    from survey.portal import ckan, opendata, pdf
    from survey.portal.snapshot import published_snapshot
    from survey.store.db import session_scope

    with session_scope(current_app.extensions["hailong.engine"]) as session:
        snapshot = published_snapshot(session, release_id)
    if snapshot is None:
        raise click.ClickException(_("There is no published release %(id)s.", id=release_id))
    config = current_app.config
    try:
        result = ckan.push_release(snapshot, opendata.package_for(snapshot), url=config["CKAN_URL"],
                                   api_key=config["CKAN_API_KEY"], organization=config["CKAN_ORGANIZATION"],
                                   reports={"report.pdf": pdf.report_for(snapshot, "vi"),
                                            "report.en.pdf": pdf.report_for(snapshot, "en")})
    except ckan.CkanError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(_("CKAN dataset %(name)s %(done)s with %(n)s files.", name=result.dataset_name,
                 done=_("created") if result.created else _("updated"), n=len(result.resources)))
