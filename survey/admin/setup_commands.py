"""``hailong units …``: the official list of administrative units, imported and listed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import click
from flask import current_app
from sqlalchemy.orm import Session

from survey.cli import app_context


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
        if report.changed:
            from survey.store import audit

            audit.record_command(session, "units import", target="units", details={
                "added": len(report.added), "relabelled": len(report.renamed), "ended": len(report.ended)})
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


@click.group("setup")
def setup_group() -> None:
    """Set a province up: villages, desks, accounts, assignments (one by one or from a template)."""


@contextmanager
def _setup_session(changes: bool = True) -> Iterator[Session]:
    """A session inside an app and request context (messages in the default language); committed
    when the block ends without error, with an audit line of the command (``changes``: it may
    change data)."""
    from survey.store import audit
    from survey.store.db import session_scope

    with app_context():
        with current_app.test_request_context(), session_scope(current_app.extensions["hailong.engine"]) as session:
            yield session
            if changes:  # the audit line, committed with the command's changes
                context = click.get_current_context(silent=True)
                audit.record_command(session, f"setup {context.info_name if context else '?'}", target="setup")


def _refused(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


KINDS = ["villages", "desks", "assignments", "services", "unit_services", "teams", "shares"]


@setup_group.command("template")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write here (default: stdout).")
def template_command(kind: str, output: str | None) -> None:
    """The CSV template of KIND: its columns and an example row."""
    import csv
    import io

    from survey.admin.setup import template_rows

    out = io.StringIO()
    csv.writer(out).writerows(template_rows(kind))
    if output:
        with open(output, "w", encoding="utf-8-sig", newline="") as f:
            f.write(out.getvalue())
    else:
        click.echo(out.getvalue(), nl=False)


@setup_group.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_file_command(kind: str, file: str) -> None:
    """Add every row of a CSV/XLSX template (all or nothing; errors name the row)."""
    from pathlib import Path

    from survey.admin.setup import SetupError, import_rows, read_table

    with _setup_session() as session:
        try:
            result = import_rows(session, kind, read_table(file, Path(file).read_bytes()))
        except SetupError as exc:
            raise _refused(exc) from None
        if result.errors:
            for line in result.errors:
                click.echo(line, err=True)
            raise click.ClickException(f"Nothing was saved: {len(result.errors)} rows to correct.")
    click.echo(f"{result.added} {kind} added.")


@setup_group.command("services")
@click.option("--defaults", is_flag=True, help="Add the national list (the three obligatory fields, commune "
                                               "procedures, business registration, health, education).")
def services_command(defaults: bool) -> None:
    """List the services (with --defaults: add the national list first; idempotent)."""
    from sqlalchemy import select

    from survey.admin.setup import default_services
    from survey.store.models import Service

    with _setup_session(changes=defaults) as session:
        if defaults:
            default_services(session)
        rows = [(s.code, s.category, s.name_vi) for s in session.scalars(select(Service).order_by(Service.code))]
    for code, category, name in rows:
        click.echo(f"{code:<16} {category:<15} {name}")
    click.echo(f"{len(rows)} services.")


@setup_group.command("add-service")
@click.argument("code")
@click.argument("name_vi")
@click.option("--name-en", default="")
@click.option("--category", type=click.Choice(["administrative", "public"]), default="administrative",
              show_default=True)
def add_service_command(code: str, name_vi: str, name_en: str, category: str) -> None:
    """Add a service CODE named NAME_VI, or rename the one with this code."""
    from survey.admin.setup import SetupError, save_service

    with _setup_session() as session:
        try:
            save_service(session, code=code, name_vi=name_vi, name_en=name_en, category=category)
        except SetupError as exc:
            raise _refused(exc) from None
    click.echo(f"Service {code.upper()} saved.")


@setup_group.command("offer")
@click.argument("unit")
@click.argument("services")
@click.option("--below", type=click.Choice(["", "commune", "department", "hamlet"]), default="",
              help="Every such unit of today's map under UNIT instead of UNIT itself.")
@click.option("--remove", is_flag=True, help="No longer offer them (stored responses keep their service).")
def offer_command(unit: str, services: str, below: str, remove: bool) -> None:
    """UNIT (or every commune under it, with --below commune) offers SERVICES (codes, space-separated)."""
    from survey.admin.setup import SetupError, offer_services

    with _setup_session() as session:
        try:
            offer_services(session, unit=unit, services=services, below=below, action="remove" if remove else "add")
        except SetupError as exc:
            raise _refused(exc) from None
    click.echo(f"{unit}{' and below' if below else ''}: {'removed' if remove else 'offers'} {services}.")


@setup_group.command("add-team")
@click.argument("name")
@click.option("--unit", default="", help="Code of the province or commune the team works in.")
@click.option("--supervisor", default="", help="Username of the supervisor (a staff account).")
@click.option("--members", default="", help="Enumerators' usernames, separated by spaces.")
def add_team_command(name: str, unit: str, supervisor: str, members: str) -> None:
    """Add an enumerator team NAME, or add members to it."""
    from survey.admin.setup import SetupError, save_team

    with _setup_session() as session:
        try:
            team = save_team(session, team=name, unit=unit, supervisor=supervisor, members=members)
        except SetupError as exc:
            raise _refused(exc) from None
        people = ", ".join(m.username for m in team.members) or "no enumerators yet"
    click.echo(f"Team {name}: {people}.")


@setup_group.command("add-village")
@click.argument("commune")
@click.argument("name")
@click.option("--kind", default="thon", show_default=True, help="thon, ap, ban, to_dan_pho or khu_pho.")
def add_village_command(commune: str, name: str, kind: str) -> None:
    """Add a village NAME under the commune-level unit COMMUNE (its national code)."""
    from survey.admin.setup import SetupError, add_village

    with _setup_session() as session:
        try:
            village = add_village(session, commune=commune, name=name, kind=kind)
        except SetupError as exc:
            raise _refused(exc) from None
        code = village.code
    click.echo(f"Village {name} added: {code}.")


@setup_group.command("add-desk")
@click.argument("unit")
@click.argument("name")
@click.option("--questionnaire", default="sipas-kiosk", show_default=True)
@click.option("--services", default="", help="Service codes, separated by spaces.")
def add_desk_command(unit: str, name: str, questionnaire: str, services: str) -> None:
    """Add a one-stop desk NAME to UNIT."""
    from survey.admin.setup import SetupError, add_desk

    with _setup_session() as session:
        try:
            desk = add_desk(session, unit=unit, name=name, questionnaire=questionnaire,
                            services=services)
        except SetupError as exc:
            raise _refused(exc) from None
        code = desk.code
    click.echo(f"Desk {name} added: {code}.")


@setup_group.command("add-account")
@click.argument("username")
@click.option("--role", type=click.Choice(["staff", "supervisor", "enumerator", "analyst", "publisher", "admin"]),
              required=True)
@click.option("--full-name", default="")
@click.option("--unit", default="", help="Code of the account's unit: what it may view and enter data for "
              "(empty: the whole province).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def add_account_command(username: str, role: str, full_name: str, unit: str, password_stdin: bool) -> None:
    """Add an account of any role. The password is asked for (twice, hidden) or read from stdin —
    never given as an argument, where it would stay in the shell history."""
    import sys

    from survey.admin.setup import SetupError, add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _setup_session() as session:
        try:
            add_user(session, username=username, full_name=full_name, role=role, password=password,
                     unit=unit)
        except SetupError as exc:
            raise _refused(exc) from None
    click.echo(f"Account {username} ({role}) added.")


@setup_group.command("assign")
@click.argument("enumerator")
@click.argument("village")
@click.option("--team", is_flag=True, help="ENUMERATOR is the name of a team: the quota is shared among its members.")
@click.option("--questionnaire", default="papi-household", show_default=True)
@click.option("--quota", default=16, show_default=True, type=int)
@click.option("--starts-on", default="")
@click.option("--ends-on", default="")
@click.option("--stratum", default="")
def assign_command(enumerator: str, village: str, team: bool, questionnaire: str, quota: int, starts_on: str,
                   ends_on: str, stratum: str) -> None:
    """Assign ENUMERATOR (username; with --team a team's name) to VILLAGE (code) for a questionnaire and quota."""
    from survey.admin.setup import SetupError, add_assignment

    with _setup_session() as session:
        try:
            add_assignment(session, enumerator="" if team else enumerator, team=enumerator if team else "",
                           village=village, questionnaire=questionnaire, quota=quota, starts_on=starts_on,
                           ends_on=ends_on, stratum=stratum)
        except SetupError as exc:
            raise _refused(exc) from None
    click.echo(f"{enumerator} assigned to {village} ({questionnaire}, {quota} interviews).")
