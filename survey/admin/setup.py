"""Setting a province up without code: villages, desks, accounts and enumerator assignments, one
by one (the admin area's forms, ``hailong setup …``) or in bulk from a CSV/XLSX template whose
errors are reported by row number, in the user's language. One function per thing, shared by the
forms, the templates and the CLI; a bulk import is all or nothing (a file with one bad row
stores nothing and lists every bad row).

Units from the official list (provinces, communes) are imported, never typed
(:mod:`survey.admin.official`); villages and desks are added here. A unit or desk is never
deleted once it has responses: it is ended (``valid_to``) instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.store.models import (
    Assignment,
    Desk,
    Response,
    Role,
    Service,
    Unit,
    UnitKind,
    UnitLevel,
    User,
)
from survey.store.units import today

VILLAGE_KINDS = (UnitKind.THON, UnitKind.AP, UnitKind.BAN, UnitKind.TO_DAN_PHO, UnitKind.KHU_PHO)
ACCOUNT_ROLES = (Role.STAFF, Role.ENUMERATOR, Role.ANALYST, Role.PUBLISHER, Role.ADMIN)

# The columns of each template, in order (the first row of the file names them).
TEMPLATES: dict[str, tuple[str, ...]] = {
    "villages": ("commune", "name", "kind", "code"),
    "desks": ("unit", "name", "code", "questionnaire", "services"),
    "assignments": ("enumerator", "village", "questionnaire", "quota", "service", "starts_on", "ends_on",
                    "stratum", "psu"),
}
EXAMPLES: dict[str, tuple[str, ...]] = {
    "villages": ("32002", "Khóm 4", "khu_pho", ""),
    "desks": ("32002", "Bộ phận Một cửa Phường An Xuyên — quầy 2", "", "sipas-kiosk", "CHUNG-THUC TTHC-XA"),
    "assignments": ("dieutravien", "32002-A1", "papi-household", "16", "TTHC-XA", "2026-06-01", "2026-08-31",
                    "urban", "32002-A1"),
}


class SetupError(ValueError):
    """A refused entry; the message is a sentence in the user's language."""


def _unit(session: Session, code: str, what: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code.strip()))
    if unit is None:
        raise SetupError(_("There is no unit with the code %(code)s (%(what)s).", code=code, what=what))
    return unit


def _current(unit: Unit) -> None:
    if unit.valid_to is not None and unit.valid_to < today():
        raise SetupError(_("%(name)s ended on %(day)s: choose a unit of today's map.", name=unit.name,
                           day=unit.valid_to.strftime("%d/%m/%Y")))


def add_village(session: Session, *, commune: str = "", name: str = "", kind: str = "thon", code: str = "") -> Unit:
    """A village (thôn, ấp, bản, tổ dân phố, khu phố) under a commune-level unit of today's map."""
    parent = _unit(session, commune, _("commune"))
    _current(parent)
    if parent.level != UnitLevel.COMMUNE:
        raise SetupError(_("A village belongs to a commune, ward or special zone; %(name)s is not one.",
                           name=parent.name))
    name = " ".join(name.split())
    if not name:
        raise SetupError(_("Give the village a name."))
    try:
        chosen = UnitKind(kind.strip() or "thon")
    except ValueError:
        chosen = None
    if chosen not in VILLAGE_KINDS:
        raise SetupError(_("The kind of a village is one of: %(kinds)s.", kinds=", ".join(k.value for k in VILLAGE_KINDS)))
    taken = {c for (c,) in session.execute(select(Unit.code).where(Unit.parent_id == parent.id))}
    if any(u.name.casefold() == name.casefold() for u in session.scalars(
            select(Unit).where(Unit.parent_id == parent.id, Unit.valid_to.is_(None)))):
        raise SetupError(_("%(commune)s already has a village named %(name)s.", commune=parent.name, name=name))
    code = code.strip() or next(f"{parent.code}-A{n}" for n in range(1, 10_000) if f"{parent.code}-A{n}" not in taken)
    if session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise SetupError(_("The code %(code)s is already used.", code=code))
    village = Unit(code=code, name=name, level=UnitLevel.HAMLET, kind=chosen, parent=parent, valid_from=today())
    session.add(village)
    session.flush()
    return village


def rename_unit(session: Session, code: str, name: str) -> Unit:
    """A village's or department's new name (official units are renamed by importing the list)."""
    unit = _unit(session, code, _("unit"))
    if unit.official_code:
        raise SetupError(_("%(name)s is on the official list: its name changes when the list is imported again.",
                           name=unit.name))
    name = " ".join(name.split())
    if not name:
        raise SetupError(_("Give the village a name."))
    unit.name = name
    return unit


def end_unit(session: Session, code: str, on: date | None = None) -> Unit:
    """End a village or department (never delete it: its responses stay where they were)."""
    unit = _unit(session, code, _("unit"))
    if unit.official_code:
        raise SetupError(_("%(name)s is on the official list: it ends when the list ends it.", name=unit.name))
    unit.valid_to = on or today() - timedelta(days=1)
    for child in session.scalars(select(Unit).where(Unit.parent_id == unit.id, Unit.valid_to.is_(None))):
        child.valid_to = unit.valid_to
    return unit


def delete_unit(session: Session, code: str) -> None:
    """Delete a village added by mistake — refused once anything was collected in it."""
    unit = _unit(session, code, _("unit"))
    used = session.scalar(select(func.count()).select_from(Response).where(Response.unit_id == unit.id))
    if used or unit.official_code:
        raise SetupError(_("%(name)s has responses: it cannot be deleted, only ended.", name=unit.name))
    session.delete(unit)


def _services(session: Session, codes: Iterable[str]) -> list[Service]:
    out = []
    for code in codes:
        service = session.scalar(select(Service).where(Service.code == code))
        if service is None:
            raise SetupError(_("There is no service with the code %(code)s.", code=code))
        out.append(service)
    return out


def add_desk(session: Session, *, unit: str = "", name: str = "", code: str = "", questionnaire: str = "sipas-kiosk",
             services: str = "") -> Desk:
    """A one-stop desk of a unit (commune or department) of today's map; ``services``: codes
    separated by spaces or commas (they are added to what the unit offers; none: all of them)."""
    from survey.store.catalogue import latest

    where = _unit(session, unit, _("unit"))
    _current(where)
    if where.level not in (UnitLevel.COMMUNE, UnitLevel.DEPARTMENT, UnitLevel.PROVINCE):
        raise SetupError(_("A desk belongs to a commune, ward, department or the province; %(name)s is not one.",
                           name=where.name))
    name = " ".join(name.split())
    if not name:
        raise SetupError(_("Give the desk a name."))
    try:
        latest(questionnaire.strip())
    except LookupError:
        raise SetupError(_("There is no questionnaire %(id)s.", id=questionnaire)) from None
    offered = _services(session, [c for c in services.replace(",", " ").split() if c])
    taken = set(session.scalars(select(Desk.code)))
    code = code.strip() or next(c for n in range(1, 10_000) if (c := f"{where.code}-MC{n}") not in taken)
    if code in taken:
        raise SetupError(_("The code %(code)s is already used.", code=code))
    for service in offered:
        if service not in where.services:
            where.services.append(service)
    desk = Desk(code=code, name=name, unit=where, questionnaire_id=questionnaire.strip())
    session.add(desk)
    session.flush()
    return desk


def add_user(session: Session, *, username: str, full_name: str, role: str, password: str, unit: str = "") -> User:
    """An account of any role, with the password policy of :func:`survey.auth.password_problem`."""
    from survey.auth import hash_password, password_problem
    from survey.ratelimit import normalize_username

    name = normalize_username(username)
    if not name or not name.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise SetupError(_("A username is letters, digits, dots, hyphens or underscores."))
    try:
        chosen = Role(role)
    except ValueError:
        chosen = None
    if chosen not in ACCOUNT_ROLES:
        raise SetupError(_("Choose a role from the list."))
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise SetupError(_("The username %(name)s is already used.", name=name))
    problem = password_problem(password, name)
    if problem:
        raise SetupError(problem)
    place = _unit(session, unit, _("unit")) if unit.strip() else None
    user = User(username=name, full_name=" ".join(full_name.split()), role=chosen,
                password_hash=hash_password(password), unit_id=place.id if place else None)
    session.add(user)
    session.flush()
    return user


def _day(text: str, what: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    for parse in (date.fromisoformat, lambda t: date(int(t.split("/")[2]), int(t.split("/")[1]), int(t.split("/")[0]))):
        try:
            return parse(text)
        except (ValueError, IndexError):
            continue
    raise SetupError(_("%(what)s is a date such as 2026-06-01 or 01/06/2026.", what=what))


def add_assignment(session: Session, *, enumerator: str = "", village: str = "", questionnaire: str = "papi-household",
                   quota: str | int = 16, service: str = "", starts_on: str = "", ends_on: str = "",
                   stratum: str = "", psu: str = "") -> Assignment:
    """Field work for an enumerator: a village of today's map, a questionnaire, a quota and dates;
    the sample design's stratum and PSU (default: the village) go with every interview."""
    from survey.store.catalogue import latest

    user = session.scalar(select(User).where(User.username == enumerator.strip().casefold()))
    if user is None or user.role != Role.ENUMERATOR:
        raise SetupError(_("%(name)s is not an enumerator's account.", name=enumerator))
    place = _unit(session, village, _("village"))
    _current(place)
    if place.level != UnitLevel.HAMLET:
        raise SetupError(_("An assignment is a village (thôn, ấp, bản, tổ dân phố); %(name)s is not one.",
                           name=place.name))
    try:
        latest(questionnaire.strip())
    except LookupError:
        raise SetupError(_("There is no questionnaire %(id)s.", id=questionnaire)) from None
    try:
        count = int(str(quota).strip())
    except ValueError:
        count = 0
    if not 1 <= count <= 1000:
        raise SetupError(_("The quota is a whole number of interviews from 1 to 1000."))
    begins, ends = _day(starts_on, _("The first day")), _day(ends_on, _("The last day"))
    if begins and ends and ends < begins:
        raise SetupError(_("The last day comes after the first."))
    chosen = _services(session, [service.strip()])[0] if service.strip() else _default_service(session)
    row = Assignment(user=user, unit=place, service=chosen, questionnaire_id=questionnaire.strip(), quota=count,
                     starts_on=begins, ends_on=ends, stratum=stratum.strip() or None,
                     psu=psu.strip() or place.code)
    session.add(row)
    session.flush()
    return row


def _default_service(session: Session) -> Service:
    service = (session.scalar(select(Service).where(Service.code == "TTHC-XA"))
               or session.scalar(select(Service).order_by(Service.id).limit(1)))
    if service is None:
        raise SetupError(_("Add a service first."))
    return service


ADDERS: dict[str, Callable[..., Any]] = {"villages": add_village, "desks": add_desk, "assignments": add_assignment}
ARGUMENTS: dict[str, dict[str, str]] = {  # template column → argument
    "villages": {"commune": "commune", "name": "name", "kind": "kind", "code": "code"},
    "desks": {"unit": "unit", "name": "name", "code": "code", "questionnaire": "questionnaire", "services": "services"},
    "assignments": {c: c for c in TEMPLATES["assignments"]},
}


def read_table(filename: str, data: bytes) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8, with or without a byte-order mark; comma or semicolon) or XLSX
    file, as dicts keyed by the first row's column names."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer
            raise SetupError(_("This file is not an Excel workbook (.xlsx) that can be read.")) from None
        rows = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SetupError(_("Save the file as CSV UTF-8 (Excel: “CSV UTF-8 (Comma delimited)”).")) from None
        dialect = csv.Sniffer().sniff(text[:2000], delimiters=",;") if text.strip() else csv.excel
        rows = [[v.strip() for v in row] for row in csv.reader(io.StringIO(text), dialect)]
    rows = [r for r in rows if any(r)]
    if not rows:
        raise SetupError(_("The file is empty."))
    header = [h.strip().casefold() for h in rows[0]]
    return [dict(zip(header, r + [""] * (len(header) - len(r)), strict=False)) for r in rows[1:]]


@dataclass
class ImportResult:
    added: int
    errors: list[str]


def import_rows(session: Session, kind: str, rows: list[dict[str, str]]) -> ImportResult:
    """Add every row (all or nothing): the errors name the row of the file (row 1 is the header)."""
    import unicodedata

    if kind not in TEMPLATES:
        raise SetupError(_("Unknown template."))
    missing = [c for c in TEMPLATES[kind] if rows and c not in rows[0]]
    required = {"villages": ("commune", "name"), "desks": ("unit", "name"),
                "assignments": ("enumerator", "village")}[kind]
    if rows and any(c in missing for c in required):
        raise SetupError(_("The first row must name the columns: %(columns)s.", columns=", ".join(TEMPLATES[kind])))
    errors: list[str] = []
    added = 0
    for number, row in enumerate(rows, start=2):
        arguments = {ARGUMENTS[kind][c]: unicodedata.normalize("NFC", row[c]) for c in TEMPLATES[kind]
                     if row.get(c, "").strip()}  # an empty cell takes the default
        try:  # every check is made before anything is written, so a refused row leaves the session clean
            ADDERS[kind](session, **arguments)
            added += 1
        except SetupError as exc:
            errors.append(_("Row %(n)s: %(problem)s", n=number, problem=str(exc)))
    if errors:
        session.rollback()
        return ImportResult(added=0, errors=errors)
    return ImportResult(added=added, errors=[])


def template_rows(kind: str) -> list[list[str]]:
    """The header and one example row of a template."""
    return [list(TEMPLATES[kind]), list(EXAMPLES[kind])]
