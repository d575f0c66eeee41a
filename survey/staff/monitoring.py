"""Monitoring of collection (issue 11 point 4): what needs doing today, and how collection stands
against the sample targets.

- :func:`todo` — the staff home page's list of what needs doing: flagged responses waiting for
  review, complaints due soon or overdue, kiosk devices silent for a day, releases awaiting a
  publisher's approval (each with its link), in the staff member's unit scope.
- ``/staff/monitoring`` — for a quarter, a questionnaire and a unit (default: the province), the
  responses of each unit directly under it (drill down to communes, villages and desks) against
  its sample target (:class:`~survey.store.casework.SampleTarget`, set on the page), by service,
  by channel and by day; each enumerator's interviews, quota, response rate, median length,
  flags and back-check agreement; kiosk activity by hour. Charts are rendered on the server with
  the portal's chart machinery (Altair + vl-convert, accessible SVG) and each one's table is on
  the page. All counts are of responses stored (whatever their review status: this is
  collection, not results), in Vietnam time.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import altair as alt
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select

from survey import auth
from survey.auth import staff_required
from survey.errors import AppError, NotFound
from survey.i18n import current_language
from survey.periods import is_quarter, local, quarter
from survey.portal import charts
from survey.store import audit, casebook
from survey.store.casework import BackCheck, FeedbackCase, ResponseFlag, SampleTarget
from survey.store.catalogue import in_use
from survey.store.db import get_session
from survey.store.models import (
    Assignment,
    Channel,
    Credential,
    Desk,
    Release,
    ReleaseStatus,
    Response,
    ReviewStatus,
    Service,
    Unit,
    User,
    utcnow,
)
from survey.store.units import UnitMap, quarter_days

bp = Blueprint("monitoring", __name__, url_prefix="/staff/monitoring")


def _scope() -> Any:
    scope_of = getattr(auth, "scope_of", None)
    return scope_of() if scope_of is not None else None


def _visible(unit_id: int) -> bool:
    scope = _scope()
    return scope is None or bool(scope.can_view(unit_id))


def _scoped(query: Any, column: Any) -> Any:
    scope = _scope()
    return query if scope is None or scope.view_ids is None else query.where(scope.view_clause(column))


# -- the home page's to-do list -----------------------------------------------------------------

@dataclass(frozen=True)
class Todo:
    key: str
    count: int
    text: str
    url: str


def silent_devices(session: Any, now: datetime, hours: int = 24) -> list[tuple[Desk, datetime | None]]:
    """Registered kiosk devices (not revoked) of active desks with no rating for ``hours``."""
    last = dict(session.execute(select(Response.credential_id, func.max(Response.received_at))
                                .where(Response.credential_id.is_not(None)).group_by(Response.credential_id)).all())
    out: list[tuple[Desk, datetime | None]] = []
    query = select(Credential).join(Desk, Credential.desk_id == Desk.id).where(
        Credential.revoked_at.is_(None), Desk.active.is_(True))
    for cred in session.scalars(_scoped(query, Desk.unit_id)).all():
        seen = last.get(cred.id) or cred.last_used_at or cred.created_at
        if seen is not None and seen.tzinfo is None:
            from datetime import UTC

            seen = seen.replace(tzinfo=UTC)
        if seen is None or now - seen > timedelta(hours=hours):
            out.append((cred.desk, seen))  # type: ignore[arg-type]
    return out


def todo() -> list[Todo]:
    """What needs doing, for the signed-in staff member's scope (zero counts left out)."""
    session = get_session()
    now = utcnow()
    flagged = session.scalar(_scoped(select(func.count()).select_from(Response).where(
        Response.flag.is_not(None), Response.review_status == ReviewStatus.RECEIVED), Response.unit_id)) or 0
    cases = list(session.scalars(_scoped(select(FeedbackCase).where(FeedbackCase.status.in_(casebook.OPEN)),
                                         FeedbackCase.unit_id)).all())
    on = casebook.today(now)
    limits = casebook.Limits.from_config(current_app.config)
    soon = casebook.due_soon(cases, on, casebook.WorkCalendar.load(session), limits)
    late = [c for c in cases if casebook.overdue(c, on)]
    silent = silent_devices(session, now)
    ready = session.scalar(select(func.count()).select_from(Release).where(Release.status == ReleaseStatus.READY)) or 0
    items = [
        Todo("flagged", flagged, _("%(n)s flagged responses wait for review", n=flagged), url_for("review.queue")),
        Todo("overdue", len(late), _("%(n)s complaints or suggestions are overdue", n=len(late)),
             url_for("cases.index", show="overdue")),
        Todo("due_soon", len(soon) - len(late), _("%(n)s complaints or suggestions are due within %(days)s working days",
                                                  n=len(soon) - len(late), days=limits.remind),
             url_for("cases.index", show="due_soon")),
        Todo("silent", len(silent), _("%(n)s kiosk devices have sent nothing for a day", n=len(silent)),
             url_for("monitoring.index") + "#silent"),
        Todo("releases", ready, _("%(n)s releases wait for a publisher's approval", n=ready), url_for("releases.index")),
    ]
    return [item for item in items if item.count > 0]


@bp.app_template_global("staff_todo")
def staff_todo() -> list[Todo]:
    return todo()


# -- the monitoring page ------------------------------------------------------------------------

@dataclass
class Row:
    """One line of a monitoring table: what it is, how many, against which target."""

    key: str
    label: str
    count: int
    target: int | None = None
    link: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def share(self) -> float | None:
        return self.count / self.target if self.target else None


def _quarter() -> str:
    chosen = request.args.get("period", "").strip().upper()
    if not chosen:
        return quarter(utcnow())
    if not is_quarter(chosen):
        raise AppError(_("A period is a quarter such as 2026-Q3."))
    return chosen


def _bounds(period: str) -> tuple[datetime, datetime]:
    from survey.periods import VIETNAM

    first, last = quarter_days(period)
    start = datetime(first.year, first.month, first.day, tzinfo=VIETNAM)
    end = datetime(last.year, last.month, last.day, tzinfo=VIETNAM) + timedelta(days=1)
    return start, end


@dataclass
class Monitor:
    period: str
    unit: Unit
    questionnaire: str | None
    units: list[Row]
    desks: list[Row]
    services: list[Row]
    channels: list[Row]
    days: list[Row]
    hours: list[Row]
    enumerators: list[Row]
    total: int
    target: int | None
    path: list[Unit]


def monitor(session: Any, unit: Unit, period: str, questionnaire: str | None, language: str) -> Monitor:
    """Every count of the monitoring page (the test checks them against counts made by hand)."""
    unit_map = UnitMap(session)
    tree = unit_map.tree(unit_map.now)
    todays = unit_map.todays()
    start, end = _bounds(period)
    query = select(Response.id, Response.unit_id, Response.desk_id, Response.service_id, Response.channel,
                   Response.submitted_at, Response.user_id, Response.assignment_id, Response.paradata,
                   Response.flag).where(Response.submitted_at >= start, Response.submitted_at < end)
    if questionnaire:
        query = query.where(Response.questionnaire_id == questionnaire)
    inside = set(tree.subtree(unit.id))
    rows = [r for r in session.execute(_scoped(query, Response.unit_id)).all()
            if todays.get(r.unit_id, r.unit_id) in inside]

    def target_of(unit_id: int | None = None, desk_id: int | None = None) -> int | None:
        query = select(func.sum(SampleTarget.target)).where(SampleTarget.period == period)
        if questionnaire:
            query = query.where(SampleTarget.questionnaire_id == questionnaire)
        if desk_id is not None:
            query = query.where(SampleTarget.desk_id == desk_id)
        else:
            query = query.where(SampleTarget.unit_id.in_(tree.subtree(unit_id) if unit_id else []),
                                SampleTarget.desk_id.is_(None))
        value = session.scalar(query)
        return int(value) if value else None

    # Units directly under the chosen one (each with its subtree), and the unit itself for what is stored on it.
    children = tree.sorted(tree.children.get(unit.id, []))
    area: dict[int, int] = {}
    for child in children:
        for member in tree.subtree(child.id):
            area[member] = child.id
    per_child = Counter(area.get(todays.get(r.unit_id, r.unit_id), unit.id) for r in rows)
    unit_rows = [Row(c.code, c.name, per_child.get(c.id, 0), target_of(c.id),
                     url_for("monitoring.index", unit=c.code, period=period, questionnaire=questionnaire or ""))
                 for c in children if _visible(c.id)]
    if per_child.get(unit.id):
        unit_rows.append(Row(unit.code, _("%(unit)s itself", unit=unit.name), per_child[unit.id]))

    desks = session.scalars(select(Desk).where(Desk.unit_id.in_(inside)).order_by(Desk.code)).all()
    per_desk = Counter(r.desk_id for r in rows if r.desk_id is not None)
    desk_rows = [Row(d.code, f"{d.name} ({d.unit.name})", per_desk.get(d.id, 0), target_of(desk_id=d.id))
                 for d in desks if _visible(d.unit_id)]

    services = {s.id: s for s in session.scalars(select(Service)).all()}
    per_service = Counter(r.service_id for r in rows)
    service_rows = sorted((Row(services[sid].code, services[sid].name(language), n) for sid, n in per_service.items()),
                          key=lambda r: -r.count)
    names = {Channel.KIOSK: _("Kiosk"), Channel.ENUMERATOR: _("Enumerator"), Channel.WEB: _("Public link")}
    per_channel = Counter(Channel(r.channel) for r in rows)
    channel_rows = [Row(c.value, names[c], per_channel.get(c, 0)) for c in Channel]

    per_day = Counter(local(r.submitted_at).date() for r in rows)
    first, last = quarter_days(period)
    last = min(last, local(utcnow()).date()) if first <= local(utcnow()).date() else last
    day_rows = [Row((first + timedelta(days=n)).isoformat(), (first + timedelta(days=n)).strftime("%d/%m"),
                    per_day.get(first + timedelta(days=n), 0)) for n in range((last - first).days + 1)]
    per_hour = Counter(local(r.submitted_at).hour for r in rows if Channel(r.channel) == Channel.KIOSK)
    hour_rows = [Row(str(h), f"{h:02d}:00", per_hour.get(h, 0)) for h in range(24)]

    enumerator_rows = _enumerators(session, rows, period, questionnaire, inside)
    return Monitor(period=period, unit=unit, questionnaire=questionnaire, units=unit_rows, desks=desk_rows,
                   services=service_rows, channels=channel_rows, days=day_rows, hours=hour_rows,
                   enumerators=enumerator_rows, total=len(rows), target=target_of(unit.id),
                   path=[*reversed(unit.ancestors()), unit])


def _enumerators(session: Any, rows: list[Any], period: str, questionnaire: str | None,
                 inside: set[int]) -> list[Row]:
    """Per enumerator: interviews, quota of their assignments in the area, response rate
    (interviews / households assigned, else / quota), median length, flagged, back-check agreement."""
    mine = [r for r in rows if Channel(r.channel) == Channel.ENUMERATOR and r.user_id is not None]
    by_user: dict[int, list[Any]] = {}
    for r in mine:
        by_user.setdefault(r.user_id, []).append(r)
    query = select(Assignment).where(Assignment.active.is_(True), Assignment.unit_id.in_(inside))
    if questionnaire:
        query = query.where(Assignment.questionnaire_id == questionnaire)
    assignments = session.scalars(query).all()
    for a in assignments:
        by_user.setdefault(a.user_id, [])
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(by_user))))} if by_user else {}
    checks = session.execute(select(Response.user_id, BackCheck.agreement).join(
        Response, BackCheck.response_id == Response.id).where(
        BackCheck.agreement.is_not(None), Response.user_id.in_(list(by_user)))).all() if by_user else []
    agreement: dict[int, list[float]] = {}
    for uid, value in checks:
        agreement.setdefault(uid, []).append(float(value))
    out: list[Row] = []
    for uid, interviews in by_user.items():
        own = [a for a in assignments if a.user_id == uid]
        quota = sum(a.quota for a in own) or None
        listed = sum(len(a.households or []) for a in own) or None
        lengths = [float(r.paradata["duration_seconds"]) for r in interviews
                   if isinstance(r.paradata, dict) and isinstance(r.paradata.get("duration_seconds"), int | float)]
        user = users.get(uid)
        base = listed or quota
        out.append(Row(user.username if user else str(uid), (user.full_name or user.username) if user else str(uid),
                       len(interviews), quota, extra={
                           "rate": len(interviews) / base if base else None,
                           "minutes": statistics.median(lengths) / 60 if lengths else None,
                           "flagged": sum(1 for r in interviews if r.flag is not None),
                           "agreement": statistics.fmean(agreement[uid]) if agreement.get(uid) else None,
                           "checks": len(agreement.get(uid, [])),
                       }))
    return sorted(out, key=lambda r: r.label)


def _bar_chart(rows: list[Row], x_title: str, y_title: str, key: str, temporal: bool = False) -> Markup:
    data = [{"x": r.key if temporal else r.label, "y": r.count} for r in rows]
    x = alt.X("x:T", title=x_title, axis=alt.Axis(format="%d/%m")) if temporal else \
        alt.X("x:N", title=x_title, sort=None, axis=alt.Axis(labelAngle=0))
    chart = alt.Chart(alt.NamedData(name="rows")).mark_bar(color=charts.OKABE_ITO[0]).encode(
        x=x, y=alt.Y("y:Q", title=y_title, axis=alt.Axis(format="d", tickMinStep=1)),
    ).properties(width=640, height=200)
    spec = charts._config(chart, rows=data)  # the portal charts' look: fonts, colours, no ARIA from Vega
    total = sum(r.count for r in rows)
    busiest = max(rows, key=lambda r: r.count) if rows else None
    description = _("%(total)s responses; the most on %(what)s (%(n)s).", total=total,
                    what=busiest.label if busiest else "—", n=busiest.count if busiest else 0)
    return Markup(charts.render_svg(spec, f"{x_title} — {y_title}", description, key,  # noqa: S704 - our own SVG
                                    current_language()))


@bp.route("/")
@staff_required
def index() -> Any:
    session = get_session()
    period = _quarter()
    code = request.args.get("unit", "").strip()
    unit_map = UnitMap(session)
    if code:
        unit = session.scalar(select(Unit).where(Unit.code == code))
        if unit is None or not _visible(unit.id):
            raise NotFound(_("Choose a unit."))
    else:
        unit = next(iter(unit_map.tree(unit_map.now).roots()), None)
        if unit is None:
            raise NotFound(_("Choose a unit."))
    language = current_language()
    questionnaires = [(q.id, q.title.get(language)) for q in in_use(session)]
    questionnaire = request.args.get("questionnaire", "").strip() or None
    if questionnaire is not None and questionnaire not in {q for q, _t in questionnaires}:
        raise AppError(_("Unknown questionnaire."))
    data = monitor(session, unit, period, questionnaire, language)
    charts_svg = {
        "days": _bar_chart(data.days, _("Day"), _("Responses"), "mon-days", temporal=True),
        "hours": _bar_chart(data.hours, _("Hour (Vietnam time)"), _("Kiosk ratings"), "mon-hours"),
    }
    silent = silent_devices(session, utcnow())
    return render_template("monitoring/index.html", m=data, charts=charts_svg, questionnaires=questionnaires,
                           silent=silent, flagged=_flag_counts(session, unit, period))


def _flag_counts(session: Any, unit: Unit, period: str) -> list[tuple[str, int]]:
    """How many responses of the quarter carry each quality flag (the review queue holds them)."""
    start, end = _bounds(period)
    unit_map = UnitMap(session)
    inside = unit_map.tree(unit_map.now).subtree(unit.id)
    query = select(ResponseFlag.code, func.count()).join(Response, ResponseFlag.response_id == Response.id).where(
        Response.submitted_at >= start, Response.submitted_at < end, Response.unit_id.in_(inside)
    ).group_by(ResponseFlag.code).order_by(func.count().desc())
    return [(code, int(n)) for code, n in session.execute(_scoped(query, Response.unit_id)).all()]


@bp.post("/targets")
@staff_required
def set_target() -> Any:
    """Set (or clear, with 0) the sample target of a unit or a desk for a quarter."""
    session = get_session()
    period = request.form.get("period", "").strip().upper()
    if not is_quarter(period):
        raise AppError(_("A period is a quarter such as 2026-Q3."))
    questionnaire = request.form.get("questionnaire", "").strip()
    if questionnaire not in {q.id for q in in_use(session)}:
        raise AppError(_("Unknown questionnaire."))
    try:
        target = int(request.form.get("target", "").strip())
    except ValueError:
        raise AppError(_("A target is a whole number of responses, such as 120.")) from None
    if not 0 <= target <= 1_000_000:
        raise AppError(_("A target is a whole number of responses, such as 120."))
    code = request.form.get("code", "").strip()
    desk = session.scalar(select(Desk).where(Desk.code == code)) if request.form.get("what") == "desk" else None
    unit = None if desk is not None else session.scalar(select(Unit).where(Unit.code == code))
    owner = desk.unit_id if desk is not None else unit.id if unit is not None else None
    if owner is None or not _visible(owner):
        raise NotFound(_("Choose a unit or a desk."))
    row = session.scalar(select(SampleTarget).where(
        SampleTarget.questionnaire_id == questionnaire, SampleTarget.period == period,
        SampleTarget.unit_id.is_(None) if desk is not None else SampleTarget.unit_id == owner,
        SampleTarget.desk_id == desk.id if desk is not None else SampleTarget.desk_id.is_(None)))
    if target == 0:
        if row is not None:
            session.delete(row)
    else:
        row = row or SampleTarget(questionnaire_id=questionnaire, period=period,
                                  unit_id=None if desk is not None else owner, desk_id=desk.id if desk else None)
        row.target = target
        session.add(row)
    audit.record("admin.edit", target=f"sample_target:{code}", unit_id=owner,
                 details={"field": "sample_target", "period": period, "target": target})
    session.commit()
    flash(_("The sample target is saved."))
    return redirect(url_for("monitoring.index", unit=request.form.get("back", ""), period=period,
                            questionnaire=questionnaire))


def today_label(day: date) -> str:
    return day.strftime("%d/%m/%Y")


@bp.app_template_global("questionnaire_title")
def questionnaire_title(questionnaire_id: str) -> str:
    """A questionnaire's title in the reader's language, never its raw id (issue 11 point 7)."""
    from survey.store.catalogue import latest

    try:
        return latest(questionnaire_id).title.get(current_language())
    except LookupError:
        return questionnaire_id
