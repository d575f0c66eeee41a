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
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from survey.store.models import (
    Assignment,
    Desk,
    Response,
    Role,
    Service,
    Team,
    TeamAssignment,
    TeamMember,
    Unit,
    UnitCorrespondence,
    UnitKind,
    UnitLevel,
    UnitService,
    User,
)
from survey.store.units import SHARE_BASES, UnitMap, today

VILLAGE_KINDS = (UnitKind.THON, UnitKind.AP, UnitKind.BAN, UnitKind.TO_DAN_PHO, UnitKind.KHU_PHO)
ACCOUNT_ROLES = (Role.STAFF, Role.SUPERVISOR, Role.ENUMERATOR, Role.ANALYST, Role.PUBLISHER, Role.ADMIN)

# The columns of each template, in order (the first row of the file names them).
TEMPLATES: dict[str, tuple[str, ...]] = {
    "villages": ("commune", "name", "kind", "code"),
    "desks": ("unit", "name", "code", "questionnaire", "services"),
    "assignments": ("enumerator", "village", "questionnaire", "quota", "service", "starts_on", "ends_on",
                    "stratum", "psu", "team"),
    "services": ("code", "name_vi", "name_en", "category"),
    "unit_services": ("unit", "services", "below", "action"),
    "teams": ("team", "unit", "supervisor", "members"),
    "shares": ("old_unit", "new_unit", "share", "basis"),
}
# The columns a file must have (the others may be left out: an empty cell takes the default).
REQUIRED: dict[str, tuple[str, ...]] = {
    "villages": ("commune", "name"), "desks": ("unit", "name"), "assignments": ("village",),
    "services": ("code", "name_vi"), "unit_services": ("unit", "services"), "teams": ("team",),
    "shares": ("old_unit", "new_unit", "share"),
}
EXAMPLES: dict[str, tuple[str, ...]] = {
    "villages": ("32002", "Khóm 4", "khu_pho", ""),
    "desks": ("32002", "Bộ phận Một cửa Phường An Xuyên — quầy 2", "", "sipas-kiosk", "CHUNG-THUC TTHC-XA"),
    "assignments": ("dieutravien", "32002-A1", "papi-household", "16", "TTHC-XA", "2026-06-01", "2026-08-31",
                    "urban", "32002-A1", ""),
    "services": ("CHUNG-THUC", "Chứng thực, xác nhận", "Certification and attestation", "administrative"),
    "unit_services": ("96", "CHUNG-THUC TTHC-XA TIEU-HOC", "commune", "add"),
    "teams": ("Tổ điều tra Tân Thành", "32002", "canbo", "dieutravien"),
    "shares": ("cu-31000", "31001", "0,6", "population"),
}


class SetupError(ValueError):
    """A refused entry; the message is a sentence in the user's language."""


def _unit(session: Session, code: str, what: str) -> Unit:
    """The unit a field names: its code, ``Name (code)`` as the searchable picker sends it, or a
    name only one unit of today's map has."""
    from survey.store.units import resolve_unit

    found = resolve_unit(session, code)
    if isinstance(found, list):
        raise SetupError(_("Several units are named %(name)s: choose one from the list or give its code (%(codes)s).",
                           name=code.strip(), codes=", ".join(u.code for u in found[:5])))
    if found is None:
        raise SetupError(_("There is no unit with the code %(code)s (%(what)s).", code=code, what=what))
    return found


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
                password_hash=hash_password(password), unit_id=place.id if place else None,
                # the unit is the account's scope (survey.auth.scope_of), not just a label
                view_unit_id=place.id if place else None)
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
                   stratum: str = "", psu: str = "", team: str = "") -> Assignment:
    """Field work for an enumerator: a village of today's map, a questionnaire, a quota and dates;
    the sample design's stratum and PSU (default: the village) go with every interview.

    Given to a ``team`` (its name) instead of one enumerator, the village's quota is shared among
    the team's enumerators (one assignment each, linked to the team; the first ones take the
    remainder); the village must be in the team's area. The first member's assignment is returned."""
    if team.strip():
        if enumerator.strip():
            raise SetupError(_("Give the work to one enumerator or to a team, not both."))
        return assign_team(session, team=team, village=village, questionnaire=questionnaire, quota=quota,
                           service=service, starts_on=starts_on, ends_on=ends_on, stratum=stratum, psu=psu)[0]
    if not enumerator.strip():
        raise SetupError(_("Choose an enumerator or a team."))
    return _add_assignment(session, enumerator=enumerator, village=village, questionnaire=questionnaire, quota=quota,
                           service=service, starts_on=starts_on, ends_on=ends_on, stratum=stratum, psu=psu)


def _add_assignment(session: Session, *, enumerator: str, village: str, questionnaire: str, quota: str | int,
                    service: str, starts_on: str, ends_on: str, stratum: str, psu: str,
                    within: Unit | None = None) -> Assignment:
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
    if within is not None and not _inside(session, place, within):
        raise SetupError(_("%(village)s is not in the area of the team (%(unit)s).", village=place.name,
                           unit=within.name))
    chosen = _services(session, [service.strip()])[0] if service.strip() else _default_service(session)
    row = Assignment(user=user, unit=place, service=chosen, questionnaire_id=questionnaire.strip(), quota=count,
                     starts_on=begins, ends_on=ends, stratum=stratum.strip() or None,
                     psu=psu.strip() or place.code)
    session.add(row)
    session.flush()
    return row


def _inside(session: Session, unit: Unit, area: Unit) -> bool:
    """Is ``unit`` ``area`` or under it on today's map?"""
    unit_map = UnitMap(session)
    return unit.id in unit_map.tree(unit_map.now).subtree(area.id)


# --- Services and the units that offer them (issue 9 point 6) -------------------------------------

#: The national list a province starts from: the three fields where satisfaction must be measured
#: (certification, construction permits, land-use right certificates), commune-level procedures,
#: business registration, public health and public primary education (docs/methodology.md, §1).
DEFAULT_SERVICES: tuple[tuple[str, str, str, str], ...] = (
    ("CHUNG-THUC", "Chứng thực, xác nhận", "Certification and attestation", "administrative"),
    ("GPXD", "Cấp giấy phép xây dựng", "Construction permits", "administrative"),
    ("GCN-QSDD", "Cấp Giấy chứng nhận quyền sử dụng đất", "Land-use right certificates", "administrative"),
    ("TTHC-XA", "Thủ tục hành chính cấp xã", "Commune-level procedures", "administrative"),
    ("DKKD", "Đăng ký kinh doanh", "Business registration", "administrative"),
    ("BV-HUYEN", "Khám, chữa bệnh tại bệnh viện huyện", "District hospital care", "public"),
    ("TIEU-HOC", "Giáo dục tiểu học công lập", "Public primary education", "public"),
)
OBLIGATORY_SERVICES = ("CHUNG-THUC", "GPXD", "GCN-QSDD")
CATEGORIES = ("administrative", "public")


def save_service(session: Session, *, code: str = "", name_vi: str = "", name_en: str = "",
                 category: str = "administrative") -> Service:
    """Add a service, or change the names and category of the one with this code (a code never
    changes: responses are stored under it)."""
    code = code.strip().upper()
    if not code or len(code) > 40 or not code.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise SetupError(_("A service code is letters, digits and hyphens (at most 40), e.g. CHUNG-THUC."))
    name_vi, name_en = " ".join(name_vi.split()), " ".join(name_en.split())
    if not name_vi:
        raise SetupError(_("Give the service its Vietnamese name."))
    if len(name_vi) > 200 or len(name_en) > 200:
        raise SetupError(_("A service name has at most 200 characters."))
    category = (category.strip() or "administrative").casefold()
    if category not in CATEGORIES:
        raise SetupError(_("The category is administrative (thủ tục hành chính) or public (dịch vụ công)."))
    service = session.scalar(select(Service).where(Service.code == code))
    if service is None:
        service = Service(code=code, name_vi=name_vi, name_en=name_en or name_vi, category=category)
        session.add(service)
    else:
        service.name_vi, service.category = name_vi, category
        service.name_en = name_en or service.name_en
    session.flush()
    return service


def default_services(session: Session) -> list[Service]:
    """The national list (:data:`DEFAULT_SERVICES`): added where missing, names kept where a
    province changed them. Idempotent."""
    out = []
    for code, vi, en, category in DEFAULT_SERVICES:
        found = session.scalar(select(Service).where(Service.code == code))
        out.append(found if found is not None else save_service(session, code=code, name_vi=vi, name_en=en,
                                                               category=category))
    return out


BELOW = {"": None, "commune": UnitLevel.COMMUNE, "department": UnitLevel.DEPARTMENT, "hamlet": UnitLevel.HAMLET}


def offer_services(session: Session, *, unit: str = "", services: str = "", below: str = "",
                   action: str = "add") -> Unit:
    """``unit`` (or, with ``below`` = commune / department, every such unit of today's map under
    it) offers — or with ``action`` = remove no longer offers — the services of ``services``
    (codes separated by spaces or commas). Responses already stored keep their service."""
    where = _unit(session, unit, _("unit"))
    _current(where)
    chosen = _services(session, [c.strip().upper() for c in services.replace(",", " ").split() if c.strip()])
    if not chosen:
        raise SetupError(_("Give at least one service code."))
    key = below.strip().casefold()
    if key not in BELOW:
        raise SetupError(_("“below” is empty, commune, department or hamlet."))
    act = (action.strip() or "add").casefold()
    if act not in ("add", "remove"):
        raise SetupError(_("The action is add or remove."))
    level = BELOW[key]
    if level is None:
        targets = [where]
    else:
        unit_map = UnitMap(session)
        targets = unit_map.tree(unit_map.now).below(where.id, level)
        if not targets:
            raise SetupError(_("%(name)s has no such units under it on today's map.", name=where.name))
    ids = [t.id for t in targets]
    have = {(u, v) for u, v in session.execute(select(UnitService.unit_id, UnitService.service_id).where(
        UnitService.unit_id.in_(ids)))}
    for target in ids:
        for service in chosen:
            if act == "add" and (target, service.id) not in have:
                session.add(UnitService(unit_id=target, service_id=service.id))
            elif act == "remove" and (target, service.id) in have:
                session.execute(delete(UnitService).where(
                    UnitService.unit_id == target, UnitService.service_id == service.id))
    session.flush()
    session.expire_all()
    return where


# --- Enumerator teams (issue 9 point 6) -----------------------------------------------------------

def _account(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().casefold()))


def save_team(session: Session, *, team: str = "", unit: str = "", supervisor: str = "", members: str = "") -> Team:
    """A team of enumerators under a supervisor, working in ``unit``'s area (a province, a commune);
    ``members``: enumerators' usernames separated by spaces or commas. For a team that exists, the
    members are added and a unit or supervisor given replaces the old one."""
    name = " ".join(team.split())
    if not name or len(name) > 200:
        raise SetupError(_("Give the team a name (at most 200 characters)."))
    found = session.scalar(select(Team).where(Team.name == name))
    if found is None and not unit.strip():
        raise SetupError(_("Give the unit whose area the team works in."))
    place = None
    if unit.strip():
        place = _unit(session, unit, _("unit"))
        _current(place)
        if place.level not in (UnitLevel.PROVINCE, UnitLevel.COMMUNE):
            raise SetupError(_("A team works in a province or a commune-level unit; %(name)s is not one.",
                               name=place.name))
    boss = None
    if supervisor.strip():
        boss = _account(session, supervisor)
        if boss is None:
            raise SetupError(_("There is no account %(name)s.", name=supervisor))
        if boss.role == Role.ENUMERATOR:
            raise SetupError(_("The supervisor reviews in the staff pages: %(name)s is an enumerator's account.",
                               name=boss.username))
    people = []
    for username in [m for m in members.replace(",", " ").split() if m]:
        member = _account(session, username)
        if member is None or member.role != Role.ENUMERATOR:
            raise SetupError(_("%(name)s is not an enumerator's account.", name=username))
        people.append(member)
    if found is None:
        assert place is not None  # noqa: S101 - checked above
        found = Team(name=name, unit_id=place.id, supervisor_id=boss.id if boss else None, active=True)
        session.add(found)
        session.flush()
    else:
        if place is not None:
            found.unit_id = place.id
        if boss is not None:
            found.supervisor_id = boss.id
    have = set(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == found.id)))
    for member in people:
        if member.id not in have:
            session.add(TeamMember(team_id=found.id, user_id=member.id))
            have.add(member.id)
    session.flush()
    session.refresh(found)
    return found


def remove_member(session: Session, team: str, username: str) -> Team:
    """Take an enumerator out of a team (their assignments stay theirs)."""
    found = session.scalar(select(Team).where(Team.name == " ".join(team.split())))
    member = _account(session, username)
    if found is None:
        raise SetupError(_("There is no team %(name)s.", name=team))
    if member is None:
        raise SetupError(_("There is no account %(name)s.", name=username))
    session.execute(delete(TeamMember).where(TeamMember.team_id == found.id, TeamMember.user_id == member.id))
    session.flush()
    session.refresh(found)
    return found


def assign_team(session: Session, *, team: str, village: str, questionnaire: str = "papi-household",
                quota: str | int = 16, service: str = "", starts_on: str = "", ends_on: str = "",
                stratum: str = "", psu: str = "") -> list[Assignment]:
    """A village's work for a whole team: the quota shared among its enumerators."""
    found = session.scalar(select(Team).where(Team.name == " ".join(team.split())))
    if found is None or not found.active:
        raise SetupError(_("There is no team %(name)s.", name=team))
    members = [m for m in found.members if m.active]
    if not members:
        raise SetupError(_("The team %(name)s has no enumerators yet.", name=found.name))
    try:
        total = int(str(quota).strip())
    except ValueError:
        total = 0
    if not len(members) <= total <= 1000:
        raise SetupError(_("The quota of a team is a whole number from %(low)s (one interview for each of its "
                           "enumerators) to 1000.", low=len(members)))
    share, extra = divmod(total, len(members))
    rows = []
    for n, member in enumerate(members):
        row = _add_assignment(session, enumerator=member.username, village=village, questionnaire=questionnaire,
                              quota=share + (1 if n < extra else 0), service=service, starts_on=starts_on,
                              ends_on=ends_on, stratum=stratum, psu=psu, within=found.unit)
        session.add(TeamAssignment(assignment_id=row.id, team_id=found.id))
        rows.append(row)
    session.flush()
    return rows


# --- Shares of split communes (issue 9 point 3) ---------------------------------------------------

def _number(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", ".").rstrip("%")) / (100 if text.strip().endswith("%") else 1)
    except ValueError:
        return None


def save_share(session: Session, *, old_unit: str = "", new_unit: str = "", share: str | float = "",
               basis: str = "population") -> UnitCorrespondence:
    """The share of an old unit (a commune split in July 2025) that went into a unit of today's
    map: 0 < share ≤ 1 (0,6 or 60%), with what it is measured on (:data:`SHARE_BASES`). The
    shares of one old unit may not add up to more than 1."""
    old = _unit(session, old_unit, _("old unit"))
    new = _unit(session, new_unit, _("unit of today's map"))
    _current(new)
    if old.id == new.id or (old.valid_to is None):
        raise SetupError(_("%(name)s is on today's map: a share is for a unit that ended.", name=old.name))
    value = _number(share) if isinstance(share, str) else float(share)
    if value is None or not 0 < value <= 1:
        raise SetupError(_("A share is a number above 0 and at most 1 (for example 0,6 or 60%)."))
    chosen = (basis.strip() or "population").casefold()
    if chosen not in SHARE_BASES:
        raise SetupError(_("The basis of a share is one of: %(bases)s.", bases=", ".join(SHARE_BASES)))
    row = session.get(UnitCorrespondence, (old.id, new.id))
    if row is None:
        row = UnitCorrespondence(old_unit_id=old.id, new_unit_id=new.id)
        session.add(row)
    row.share, row.basis, row.partly = value, chosen, value < 1
    session.flush()
    total = sum(s or 0.0 for s in session.scalars(select(UnitCorrespondence.share).where(
        UnitCorrespondence.old_unit_id == old.id)))
    if total > 1 + 1e-9:
        raise SetupError(_("The shares of %(name)s add up to %(total)s, more than 1.", name=old.name,
                           total=f"{total:.2f}".replace(".", ",")))
    return row


def _default_service(session: Session) -> Service:
    service = (session.scalar(select(Service).where(Service.code == "TTHC-XA"))
               or session.scalar(select(Service).order_by(Service.id).limit(1)))
    if service is None:
        raise SetupError(_("Add a service first."))
    return service


ADDERS: dict[str, Callable[..., Any]] = {
    "villages": add_village, "desks": add_desk, "assignments": add_assignment, "services": save_service,
    "unit_services": offer_services, "teams": save_team, "shares": save_share,
}
ARGUMENTS: dict[str, dict[str, str]] = {kind: {c: c for c in columns} for kind, columns in TEMPLATES.items()}


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
    required = REQUIRED[kind]
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
