"""The admin area (``/admin/``, admins only; staff do not see it): set a province up without code —
villages and desks of today's map, accounts of every role, enumerator assignments — one by one in
forms or in bulk from CSV/XLSX templates (errors by row number). Every action goes through
:mod:`survey.admin.setup`, as ``hailong setup`` does."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from survey.admin import setup
from survey.auth import admin_required, scope_of
from survey.errors import NotFound
from survey.i18n import current_language
from survey.store.db import get_session
from survey.store.models import (
    Assignment,
    Credential,
    Desk,
    Role,
    Service,
    Team,
    Unit,
    UnitLevel,
    UnitService,
    User,
)
from survey.store.units import UnitMap, kind_label
from survey.text import sort_key

bp = Blueprint("admin", __name__, url_prefix="/admin")

FORMS = ("village", "desk", "account", "assignment", "service", "team")


def _page(status: int = 200, *, errors: dict[str, list[str]] | None = None,
          typed: dict[str, dict[str, str]] | None = None) -> Any:
    session = get_session()
    unit_map = UnitMap(session)
    tree = unit_map.tree(unit_map.now)
    scope = scope_of().view_root  # an admin's: everywhere
    current = tree.sorted(tree.subtree(scope) if scope in tree.units else tree.units)  # the admin's area
    communes = [u for u in current if u.level == UnitLevel.COMMUNE]
    desk_units = [u for u in current if u.level in (UnitLevel.COMMUNE, UnitLevel.DEPARTMENT, UnitLevel.PROVINCE)]
    villages = [u for u in current if u.level == UnitLevel.HAMLET]
    parents = {u.id: tree.units.get(tree.parent.get(u.id) or -1) for u in villages}
    enumerators = session.scalars(select(User).where(User.role == Role.ENUMERATOR).order_by(User.username)).all()
    from questionnaires import load_library

    questionnaires = sorted({(q.id, q.title.get(current_language())) for q in load_library().values()},
                            key=lambda q: sort_key(q[1]))
    assignments = session.scalars(select(Assignment).order_by(Assignment.id.desc()).limit(50)).all()
    here = {u.id for u in current}  # the desks of today's map (an ended unit's desk takes no device)
    desks = [d for d in session.scalars(select(Desk).where(Desk.active.is_(True)).order_by(Desk.code)).all()
             if d.unit_id in here][:200]
    users = session.scalars(select(User).order_by(User.username)).all()
    services = session.scalars(select(Service).order_by(Service.code)).all()
    offered = dict(session.execute(select(UnitService.service_id, func.count()).group_by(UnitService.service_id)).all())
    teams = session.scalars(select(Team).order_by(Team.name)).all()
    supervisors = [u for u in users if u.role != Role.ENUMERATOR and u.active]
    team_units = [u for u in current if u.level in (UnitLevel.PROVINCE, UnitLevel.COMMUNE)]
    return render_template(
        "admin/index.html", communes=communes, desk_units=desk_units, villages=villages, parents=parents,
        enumerators=enumerators, questionnaires=questionnaires, assignments=assignments, desks=desks, users=users,
        roles=setup.ACCOUNT_ROLES, village_kinds=setup.VILLAGE_KINDS, kind_label=kind_label,
        templates=setup.TEMPLATES, errors=errors or {}, typed=typed or {}, services=services, teams=teams,
        supervisors=supervisors, team_units=team_units, offered=offered, obligatory=setup.OBLIGATORY_SERVICES,
        template_names=template_names(),
    ), status


def template_names() -> dict[str, str]:
    """What each template holds, in the user's language."""
    return {"villages": _("Villages"), "desks": _("Desks"), "assignments": _("Assignments"),
            "services": _("Services"), "unit_services": _("Services offered by units"), "teams": _("Teams"),
            "shares": _("Shares of split communes")}


@bp.route("/")
@admin_required
def index() -> Any:
    return _page()


def _submit(form: str, action: Any) -> Any:
    session = get_session()
    typed = {k: v for k, v in request.form.items() if k not in ("csrf_token", "password")}
    try:
        thing = action(session)
    except setup.SetupError as exc:
        session.rollback()
        return _page(422, errors={form: [str(exc)]}, typed={form: typed})
    # issue 11: every admin edit in the audit log (the form, never the values typed; an account's role)
    from survey.store import audit

    audit.record("permission.change" if form == "account" else "admin.edit", target=f"form:{form}",
                 details={"form": form, "role": request.form.get("role", "")[:20] if form == "account" else None})
    session.commit()
    flash(_("Saved: %(what)s.", what=thing))
    return redirect(url_for("admin.index") + f"#{form}")


@bp.post("/villages")
@admin_required
def add_village() -> Any:
    f = request.form
    return _submit("village", lambda s: setup.add_village(
        s, commune=f.get("commune", ""), name=f.get("name", ""), kind=f.get("kind", "thon"), code=f.get("code", "")).name)


@bp.post("/desks")
@admin_required
def add_desk() -> Any:
    f = request.form
    return _submit("desk", lambda s: setup.add_desk(
        s, unit=f.get("unit", ""), name=f.get("name", ""), code=f.get("code", ""),
        questionnaire=f.get("questionnaire", "sipas-kiosk"), services=" ".join(f.getlist("services"))).name)


@bp.post("/accounts")
@admin_required
def add_account() -> Any:
    f = request.form
    if f.get("password", "") != f.get("password_again", ""):
        return _page(422, errors={"account": [_("The two passwords are not the same.")]},
                     typed={"account": {k: v for k, v in f.items() if "password" not in k and k != "csrf_token"}})
    return _submit("account", lambda s: setup.add_user(
        s, username=f.get("username", ""), full_name=f.get("full_name", ""), role=f.get("role", ""),
        password=f.get("password", ""), unit=f.get("unit", "")).username)


@bp.post("/assignments")
@admin_required
def add_assignment() -> Any:
    f = request.form
    return _submit("assignment", lambda s: _describe(setup.add_assignment(
        s, enumerator=f.get("enumerator", ""), village=f.get("village", ""),
        questionnaire=f.get("questionnaire", "papi-household"), quota=f.get("quota", ""),
        starts_on=f.get("starts_on", ""), ends_on=f.get("ends_on", ""), stratum=f.get("stratum", ""),
        psu=f.get("psu", ""), team=f.get("team", ""))))


@bp.post("/services")
@admin_required
def save_service() -> Any:
    f = request.form
    return _submit("service", lambda s: setup.save_service(
        s, code=f.get("code", ""), name_vi=f.get("name_vi", ""), name_en=f.get("name_en", ""),
        category=f.get("category", "administrative")).name_vi)


@bp.post("/services/defaults")
@admin_required
def default_services() -> Any:
    return _submit("service", lambda s: ", ".join(x.code for x in setup.default_services(s)))


@bp.post("/teams")
@admin_required
def save_team() -> Any:
    f = request.form
    return _submit("team", lambda s: setup.save_team(
        s, team=f.get("team", ""), unit=f.get("unit", ""), supervisor=f.get("supervisor", ""),
        members=" ".join(f.getlist("members"))).name)


@bp.route("/desks/<code>/devices", methods=["GET", "POST"])
@admin_required
def desk_devices(code: str) -> Any:
    """Register a kiosk device for a desk (the same one-time address as the staff desk page: it
    binds the first browser that opens it; a second one is told it was used already) or revoke one."""
    from survey.collect import credentials
    from survey.collect.links import qr_bytes

    session = get_session()
    desk = session.scalar(select(Desk).where(Desk.code == code))
    if desk is None:
        raise NotFound(_("This page does not exist."))
    issued = None
    if request.method == "POST":
        raw = request.form.get("revoke", "")
        if raw:
            ident = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
            cred = session.get(Credential, ident) if ident is not None else None
            if cred is not None and cred.desk_id == desk.id and cred.revoked_at is None:
                credentials.revoke(session, cred)
                credentials.record_use(session, cred, "api.token", by_owner=False, details={"event": "revoked"})
                session.commit()
                flash(_("The device was revoked."))
            return redirect(url_for("admin.desk_devices", code=desk.code), code=303)
        label = " ".join((request.form.get("label") or "").split())[:200] or _("Kiosk tablet")
        token = credentials.issue(session, desk=desk, label=label)
        new = session.scalar(select(Credential).where(Credential.token_hash == credentials.token_hash(token)))
        if new is not None:
            credentials.record_use(session, new, "api.token", by_owner=False, details={"event": "issued"})
        session.commit()
        # The token goes in the fragment, which browsers never send: it stays out of access logs.
        url = url_for("kiosk.start", desk_code=desk.code, _external=True) + "#device=" + token
        issued = {"url": url, "svg": qr_bytes(url, "svg").decode("utf-8")}
    devices = session.scalars(select(Credential).where(Credential.desk_id == desk.id).order_by(Credential.id)).all()
    return render_template("admin/desk_devices.html", desk=desk, devices=devices, issued=issued), 200, {
        "Cache-Control": "no-store"}


def _describe(assignment: Assignment) -> str:
    return f"{assignment.user.username} — {assignment.unit.name} — {assignment.questionnaire_id}"


@bp.post("/villages/<code>/end")
@admin_required
def end_village(code: str) -> Any:
    return _submit("villages-list", lambda s: setup.end_unit(s, code).name)


@bp.post("/import")
@admin_required
def import_file() -> Any:
    session = get_session()
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    try:
        if kind not in setup.TEMPLATES:
            raise setup.SetupError(_("Choose what the file holds."))
        if upload is None or not upload.filename:
            raise setup.SetupError(_("Choose a CSV or Excel file."))
        result = setup.import_rows(session, kind, setup.read_table(upload.filename, upload.read()))
    except setup.SetupError as exc:
        session.rollback()
        return _page(422, errors={"import": [str(exc)]}, typed={"import": {"kind": kind}})
    if result.errors:
        return _page(422, errors={"import": [_("Nothing was saved: correct these rows and send the file again."),
                                             *result.errors]}, typed={"import": {"kind": kind}})
    session.commit()
    flash(_("%(n)s rows saved.", n=result.added))
    return redirect(url_for("admin.index") + "#import")


@bp.route("/templates/<kind>.<fmt>")
@admin_required
def template(kind: str, fmt: str) -> Any:
    """An empty template with its column names and one example row (CSV for Excel or XLSX)."""
    if kind not in setup.TEMPLATES or fmt not in ("csv", "xlsx"):
        raise NotFound(_("This page does not exist."))
    rows = setup.template_rows(kind)
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        csv.writer(out).writerows(rows)
        body: bytes = ("\ufeff" + out.getvalue()).encode()
        mimetype = "text/csv; charset=utf-8"
    else:
        import io

        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        body, mimetype = buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="mau_{kind}.{fmt}"'})


def unit_name(unit: Unit | None) -> str:
    return unit.name if unit is not None else ""
