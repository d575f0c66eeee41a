"""``hailong units …``: the official list of administrative units, imported and listed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import click
from flask import current_app


@contextmanager
def app_context() -> Iterator[None]:
    """An application context built from the configuration (a bad configuration is one line)."""
    from survey import create_app

    try:
        app = create_app()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with app.app_context():
            yield
    finally:
        app.extensions["hailong.engine"].dispose()


@click.group("units")
def units_group() -> None:
    """Administrative units: import the official list, list what is valid on a date."""


@units_group.command("import")
@click.option("--province", "provinces", multiple=True, metavar="CODE",
              help="National code of a province of today's map (e.g. 96 for Cà Mau); repeatable.")
@click.option("--all", "everything", is_flag=True, help="The whole country (34 provinces, 3,321 communes).")
@click.option("--history/--no-history", default=True, show_default=True,
              help="Also the units of before 1 July 2025 and the old → new table.")
@click.option("--from-package", is_flag=True,
              help="Today's list from the installed vietnam-provinces package instead of the shipped file "
                   "(no history).")
def import_command(provinces: tuple[str, ...], everything: bool, history: bool, from_package: bool) -> None:
    """Import (or update) units from the official list shipped with Hài Lòng; idempotent.

    A second import changes nothing; an import of a newer list reports the units it adds,
    renames and ends (ended units keep their responses)."""
    with app_context():
        _import(provinces, everything, history and not from_package, from_package)


def _import(provinces: tuple[str, ...], everything: bool, history: bool, from_package: bool) -> None:
    from survey.admin.official import import_official, official_list, package_list
    from survey.store.db import session_scope
    from survey.store.migrate import upgrade

    if everything == bool(provinces):
        raise click.UsageError("Give --all or one or more --province CODE.")
    data = package_list() if from_package else official_list()
    known = {p[0] for p in data["provinces"]}
    codes = []
    for code in provinces:
        if not code.isdigit() or int(code) not in known:
            raise click.BadParameter(f"{code!r} is not a province code of today's list (e.g. 96).",
                                     param_hint="--province")
        codes.append(int(code))
    upgrade(current_app.config["DATABASE_URL"])
    with session_scope(current_app.extensions["hailong.engine"]) as session:
        report = import_official(session, provinces=None if everything else codes, history=history, data=data)
    click.echo(f"Source: {report.source}")
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(report.counts.items()))
    click.echo(f"Today's map in this import: {counts}.")
    if not report.changed:
        click.echo("Nothing changed: the database already holds this list.")
        return
    click.echo(f"Added {len(report.added)} units, renamed {len(report.renamed)}, ended {len(report.ended)}; "
               f"{report.correspondences} old → new links.")
    for code, before, after in report.renamed:
        click.echo(f"  renamed {code}: {before} → {after}")
    for code in report.ended:
        click.echo(f"  ended {code}")


@units_group.command("list")
@click.option("--province", metavar="CODE", help="Only this province and the units under it.")
@click.option("--kind", metavar="KIND", help="Only units of this kind (xa, phuong, dac_khu, tinh, huyen, …).")
@click.option("--on", "day", metavar="YYYY-MM-DD", help="The map on this date (default: today).")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def list_command(province: str | None, kind: str | None, day: str | None, as_json: bool) -> None:
    """List the units valid on a date."""
    with app_context():
        _list(province, kind, day, as_json)


def _list(province: str | None, kind: str | None, day: str | None, as_json: bool) -> None:
    from survey.store.db import session_scope
    from survey.store.models import UnitKind
    from survey.store.units import kind_label, today, tree_on

    try:
        on = date.fromisoformat(day) if day else today()
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date such as 2025-06-30.", param_hint="--on") from None
    if kind is not None and kind not in {k.value for k in UnitKind}:
        raise click.BadParameter(f"{kind!r}: one of {', '.join(k.value for k in UnitKind)}.", param_hint="--kind")
    with session_scope(current_app.extensions["hailong.engine"]) as session:
        tree = tree_on(session, on)
        ids: list[int] = list(tree.units)
        if province is not None:
            top = next((u for u in tree.units.values() if u.official_code == province.zfill(2)
                        and u.level.value == "province"), None)
            if top is None:
                raise click.ClickException(f"No province with code {province} on {on.isoformat()}.")
            ids = tree.subtree(top.id)
        rows = []
        for unit in tree.sorted(ids):
            if kind is not None and unit.kind != UnitKind(kind):
                continue
            parent = tree.units.get(tree.parent.get(unit.id) or -1)
            rows.append({
                "code": unit.code, "official_code": unit.official_code, "name": unit.name, "kind": unit.kind.value,
                "kind_label": kind_label(unit.kind), "level": unit.level.value,
                "parent": parent.code if parent is not None else None,
                "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
                "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
            })
    if as_json:
        click.echo(json.dumps({"on": on.isoformat(), "units": rows}, ensure_ascii=False, indent=1))
        return
    for row in rows:
        click.echo(f"{row['code']:<12} {row['kind_label']:<16} {row['name']:<40} {row['parent'] or ''}")
    click.echo(f"{len(rows)} units valid on {on.isoformat()}.")
