"""Oversight (admins only, issue 11): the audit log — filtered, read and downloaded as CSV —,
the auto-approval rules of the review (per channel), and each account's role and unit scopes.

Every change made here is itself written to the audit log (``review.rule``,
``permission.change``); downloading the log is too (``audit.export``).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select

from survey.auth import admin_required, end_sessions
from survey.errors import AppError, NotFound
from survey.periods import VIETNAM, local
from survey.portal.formatting import moment
from survey.portal.jobs import enqueue_after_commit
from survey.store import audit
from survey.store.db import get_session
from survey.store.models import AuditEvent, Channel, ReviewRule, Role, Unit, User, utcnow
from survey.store.units import UnitMap

bp = Blueprint("oversight", __name__, url_prefix="/admin/oversight")

PAGE_SIZE = 200
CSV_COLUMNS = ["at_vietnam_time", "username", "user_id", "action", "target", "unit_code", "address", "details"]


def _day(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise AppError(_("A date is written as year-month-day, such as 2026-10-05."), {name: _("Not a date.")}) from None


def _filters() -> list[ColumnElement[bool]]:
    """The audit lines the query string asks for: action, account name, target, days (Vietnam time)."""
    filters: list[ColumnElement[bool]] = []
    action = request.args.get("action", "").strip()
    if action:
        filters.append(AuditEvent.action == action)
    who = request.args.get("user", "").strip()
    if who:
        filters.append(AuditEvent.username == who)
    target = request.args.get("target", "").strip()
    if target:
        filters.append(AuditEvent.target.startswith(target, autoescape=True))
    since, until = _day("from"), _day("to")
    if since is not None:
        filters.append(AuditEvent.at >= datetime.combine(since, time(), VIETNAM))
    if until is not None:
        filters.append(AuditEvent.at < datetime.combine(until + timedelta(days=1), time(), VIETNAM))
    return filters


def action_labels() -> dict[str, str]:
    """Each audit action in words (the code stays in the CSV and in data-action)."""
    return {
        "auth.sign_in": _("Signed in"), "auth.sign_in_failed": _("Failed sign-in"), "auth.sign_out": _("Signed out"),
        "review.decision": _("Review decision"), "review.comment": _("Review comment"),
        "review.rule": _("Auto-approval rule changed"), "case.change": _("Case changed"),
        "export.download": _("Download"), "release.prepare": _("Release prepared"),
        "release.publish": _("Release published"), "release.withdraw": _("Release withdrawn"),
        "release.discard": _("Draft release discarded"), "release.rebuild": _("Release rebuilt"),
        "permission.change": _("Role or scope changed"), "admin.edit": _("Set-up changed"),
        "audit.export": _("Audit log downloaded"),
    }


@bp.route("/audit")
@admin_required
def audit_log() -> Any:
    session = get_session()
    rows = session.scalars(select(AuditEvent).where(*_filters())
                           .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(PAGE_SIZE)).all()
    units = {u.id: u for u in session.scalars(select(Unit).where(
        Unit.id.in_({r.unit_id for r in rows if r.unit_id is not None})))} if rows else {}
    actions = sorted(set(audit.ACTIONS) | set(session.scalars(select(AuditEvent.action).distinct())))
    return render_template("staff/audit.html", rows=rows, units=units, actions=actions, moment=moment,
                           describe=audit.describe, args=request.args, page_size=PAGE_SIZE, labels=action_labels())


@bp.route("/audit.csv")
@admin_required
def audit_csv() -> Any:
    session = get_session()
    rows = session.scalars(select(AuditEvent).where(*_filters()).order_by(AuditEvent.at, AuditEvent.id)).all()
    units = {u.id: u.code for u in session.scalars(select(Unit))}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([local(r.at).isoformat(timespec="seconds"), _defuse(r.username), r.user_id or "", r.action, _defuse(r.target),
                         units.get(r.unit_id, "") if r.unit_id else "", r.address, _defuse(audit.describe(r.details))])
    audit.record("audit.export", details={"rows": len(rows)})
    session.commit()
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="nhat-ky-thao-tac.csv"'})


def _defuse(text: str) -> str:
    """A cell a spreadsheet would read as a formula gets a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("/review-rules", methods=["GET", "POST"])
@admin_required
def review_rules() -> Any:
    session = get_session()
    rules = {r.channel: r for r in session.scalars(select(ReviewRule))}
    if request.method == "POST":
        changed = False
        for channel in Channel:
            on = request.form.get(f"auto_{channel.value}") == "on"
            rule = rules.get(channel)
            before = rule.auto_approve if rule is not None else True
            if rule is None:
                rule = ReviewRule(channel=channel, auto_approve=on)
                session.add(rule)
            rule.auto_approve, rule.updated_at, rule.user_id = on, utcnow(), _admin_id()
            if before != on:
                audit.record("review.rule", target=f"channel:{channel.value}",
                             details={"auto_approve": on, "before": before})
                changed = True
        if changed:  # other responses count now: the rollups are stale until rebuilt (survey.store.rollup_cells)
            enqueue_after_commit(session, "rebuild_rollups")
        session.commit()
        flash(_("The auto-approval rules are saved."))
        return redirect(url_for("oversight.review_rules"))
    state = {c: (rules[c].auto_approve if c in rules else True) for c in Channel}
    return render_template("staff/review_rules.html", state=state, channels=list(Channel))


def _admin_id() -> int | None:
    from flask_login import current_user

    return int(current_user.id) if current_user.is_authenticated else None


ASSIGNABLE = (Role.ADMIN, Role.STAFF, Role.SUPERVISOR, Role.ANALYST, Role.PUBLISHER, Role.ENUMERATOR)


def role_names() -> dict[str, str]:
    return {Role.ADMIN.value: _("Administrator"), Role.STAFF.value: _("Officer (province, commune or department)"),
            Role.SUPERVISOR.value: _("Supervisor of enumerators"), Role.ANALYST.value: _("Analyst"),
            Role.PUBLISHER.value: _("Publisher"), Role.ENUMERATOR.value: _("Enumerator")}


def _scope_units() -> list[Unit]:
    unit_map = UnitMap(get_session())
    tree = unit_map.tree(unit_map.now)
    from survey.staff.workspace import _tree_order

    return _tree_order(list(tree.units.values()), tree.parent)


@bp.route("/accounts")
@admin_required
def accounts() -> Any:
    session = get_session()
    users = session.scalars(select(User).order_by(User.username)).all()
    units = {u.id: u for u in session.scalars(select(Unit))}
    return render_template("staff/accounts.html", users=users, units=units, role_names=role_names(),
                           tree=_scope_units(), roles=ASSIGNABLE)


@bp.route("/accounts/<int:user_id>", methods=["POST"])
@admin_required
def account(user_id: int) -> Any:
    """Set an account's role and its viewing and data-entry units (empty: the whole province)."""
    session = get_session()
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("This page does not exist."))
    role = request.form.get("role", "")
    if role not in {r.value for r in ASSIGNABLE}:
        raise AppError(_("Choose a role."), {"role": _("Choose a role.")})
    chosen: dict[str, int | None] = {}
    for field in ("view_unit", "entry_unit"):
        code = request.form.get(field, "").strip()
        unit = session.scalar(select(Unit).where(Unit.code == code)) if code else None
        if code and unit is None:
            raise AppError(_("Unknown unit."), {field: _("Unknown unit.")})
        chosen[field] = unit.id if unit is not None else None
    if chosen["entry_unit"] is not None and chosen["view_unit"] is not None:
        inside = UnitMap(session).raw_subtree(chosen["view_unit"])
        if chosen["entry_unit"] not in inside:
            raise AppError(_("The data-entry unit must lie inside the viewing unit."),
                           {"entry_unit": _("Outside the viewing unit.")})
    before = (user.role.value, user.view_unit_id, user.entry_unit_id)
    user.role, user.view_unit_id, user.entry_unit_id = Role(role), chosen["view_unit"], chosen["entry_unit"]
    after = (user.role.value, user.view_unit_id, user.entry_unit_id)
    if before != after:
        audit.record("permission.change", target=f"user:{user.id}", details={
            "role_before": before[0], "role": after[0], "view_unit_before": before[1], "view_unit": after[1],
            "entry_unit_before": before[2], "entry_unit": after[2]})
        session.commit()
        if before[0] != after[0]:
            end_sessions(user.id)  # a new role starts with a new sign-in
        flash(_("The role and scope of %(user)s are saved.", user=user.username))
    else:
        flash(_("Nothing changed."))
    return redirect(url_for("oversight.accounts"))
