"""Citizens' comments and complaints for staff (issue 11 point 3).

- ``/staff/cases/comments`` — every free-text comment from every channel, newest first, in the
  staff member's unit scope. Comments stay on staff pages: no export, no release carries them.
  A staff member can make a comment a case (a complaint or a suggestion) when the citizen did not.
- ``/staff/cases/`` — the cases, open ones first by due date, with what is late or due soon.
- ``/staff/cases/<id>`` — one case: the comment, its history, and its steps: start handling,
  hand it to another unit, ask the citizen for information, answer (published at once or later),
  reject with the reason, close. Every step is in the audit log (``case.change``).
- ``/staff/cases/days-off`` — the province's own days off and make-up working days, on top of
  Viet Nam's public holidays, which every due date counts with.

Due dates are working days (:mod:`survey.store.casebook`); times are shown in Vietnam time.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from questionnaires import load_library
from survey import auth
from survey.auth import staff_required
from survey.errors import AppError, NotFound
from survey.store import audit, casebook
from survey.store.casework import CaseKind, CaseSource, CaseStatus, DayOff, FeedbackCase
from survey.store.db import get_session
from survey.store.models import AnswerValue, Response, Unit
from survey.text import sort_key

bp = Blueprint("cases", __name__, url_prefix="/staff/cases")
PAGE_SIZE = 50


# -- scope (survey.auth.scope_of, from issue 11 part A, when it is there) ------------------------

def _scope() -> Any:
    scope_of = getattr(auth, "scope_of", None)
    return scope_of() if scope_of is not None else None


def _in_scope(unit_id: int) -> bool:
    scope = _scope()
    return scope is None or bool(scope.can_view(unit_id))


def _where_in_scope(query: Any, column: Any) -> Any:
    scope = _scope()
    return query if scope is None or scope.view_ids is None else query.where(scope.view_clause(column))


def _limits() -> casebook.Limits:
    return casebook.Limits.from_config(current_app.config)


def _case(case_id: int) -> FeedbackCase:
    case = get_session().get(FeedbackCase, case_id)
    if case is None or not _in_scope(case.unit_id):
        raise NotFound(_("This case does not exist."))
    return case


def status_labels() -> dict[str, str]:
    return {
        CaseStatus.RECEIVED.value: _("Received"),
        CaseStatus.IN_PROGRESS.value: _("In progress"),
        CaseStatus.INFO_REQUESTED.value: _("Information requested"),
        CaseStatus.ANSWERED.value: _("Answered"),
        CaseStatus.REJECTED.value: _("Rejected"),
        CaseStatus.CLOSED.value: _("Closed"),
    }


def kind_labels() -> dict[str, str]:
    return {CaseKind.COMPLAINT.value: _("Complaint"), CaseKind.SUGGESTION.value: _("Suggestion")}


def event_labels() -> dict[str, str]:
    return {
        "received": _("Received"), "in_progress": _("Handling started"), "assigned": _("Handed to another unit"),
        "info_requested": _("Information requested from the citizen"), "answered": _("Answered"),
        "published": _("Answer published"), "rejected": _("Rejected"), "closed": _("Closed"),
        "liked": _("The citizen is satisfied with the answer"),
        "reopened": _("The citizen is not satisfied: reopened"), "reminder": _("Reminder: due soon or late"),
    }


def channel_labels() -> dict[str, str]:
    return {"kiosk": _("Kiosk"), "web": _("Public link"), "receipt": _("Receipt QR"),
            "enumerator": _("Enumerator"), "": _("Staff")}


def _comment_questions() -> dict[str, set[str]]:
    """Free-text comment questions per questionnaire id, across every version."""
    out: dict[str, set[str]] = {}
    for (qid, _version), questionnaire in load_library().items():
        out.setdefault(qid, set()).update(q.id for q in questionnaire.questions if q.type == "longtext")
    return out


def _comment_clause() -> Any:
    from sqlalchemy import and_, or_

    pairs = [and_(Response.questionnaire_id == qid, AnswerValue.question_id.in_(sorted(ids)))
             for qid, ids in sorted(_comment_questions().items()) if ids]
    return or_(*pairs) if pairs else AnswerValue.question_id.is_(None)


@bp.route("/comments")
@staff_required
def comments() -> Any:
    session = get_session()
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    base = select(AnswerValue, Response).join(Response, AnswerValue.response_id == Response.id).where(
        _comment_clause(), AnswerValue.value_text.is_not(None), func.length(func.trim(AnswerValue.value_text)) > 0)
    base = _where_in_scope(base, Response.unit_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.options(selectinload(Response.unit), selectinload(Response.service))
                           .order_by(Response.submitted_at.desc(), Response.id)
                           .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    ids = [r.id for _a, r in rows]
    cases = {c.response_id: c for c in session.scalars(select(FeedbackCase).where(FeedbackCase.response_id.in_(ids)))}
    return render_template("cases/comments.html", rows=rows, cases=cases, total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), kinds=kind_labels(), channels=channel_labels())


@bp.post("/comments/<response_id>/case")
@staff_required
def make_case(response_id: str) -> Any:
    """A staff member makes a citizen's comment a case."""
    session = get_session()
    try:
        rid = uuid.UUID(response_id)
    except ValueError:
        raise NotFound(_("This comment does not exist.")) from None
    response = session.get(Response, rid)
    if response is None or not _in_scope(response.unit_id):
        raise NotFound(_("This comment does not exist."))
    kind = request.form.get("kind", "")
    if kind not in {k.value for k in CaseKind}:
        raise AppError(_("Choose complaint or suggestion."))
    ids = _comment_questions().get(response.questionnaire_id, set())
    text = "\n\n".join(a.value_text.strip() for a in response.answers
                       if a.question_id in ids and a.value_text and a.value_text.strip())
    if not text:
        raise AppError(_("This response has no comment."))
    case = casebook.open_case(session, unit_id=response.unit_id, text=text, kind=CaseKind(kind),
                              source=CaseSource.STAFF, channel=response.channel.value, response_id=response.id,
                              user_id=current_user.id, limits=_limits())
    audit.record("case.change", target=f"case:{case.id}", unit_id=case.unit_id,
                 details={"step": "opened", "status": case.status.value, "source": "staff"})
    session.commit()
    flash(_("Case %(code)s opened.", code=case.code))
    return redirect(url_for("cases.detail", case_id=case.id))


FILTERS = ("open", "due_soon", "overdue", "answered", "rejected", "closed", "all")


@bp.route("/")
@staff_required
def index() -> Any:
    session = get_session()
    chosen = request.args.get("show", "open")
    if chosen not in FILTERS:
        raise AppError(_("Unknown filter."))
    on = casebook.today()
    calendar = casebook.WorkCalendar.load(session)
    query = _where_in_scope(select(FeedbackCase).options(selectinload(FeedbackCase.unit)), FeedbackCase.unit_id)
    cases = list(session.scalars(query.order_by(FeedbackCase.reply_due, FeedbackCase.id)).all())
    soon = {c.id for c in casebook.due_soon(cases, on, calendar, _limits())}
    counts = {
        "open": sum(1 for c in cases if c.status in casebook.OPEN),
        "due_soon": sum(1 for c in cases if c.id in soon and not casebook.overdue(c, on)),
        "overdue": sum(1 for c in cases if casebook.overdue(c, on)),
        "answered": sum(1 for c in cases if c.status == CaseStatus.ANSWERED),
        "rejected": sum(1 for c in cases if c.status == CaseStatus.REJECTED),
        "closed": sum(1 for c in cases if c.status == CaseStatus.CLOSED),
        "all": len(cases),
    }
    keep = {
        "open": lambda c: c.status in casebook.OPEN,
        "due_soon": lambda c: c.id in soon and not casebook.overdue(c, on),
        "overdue": lambda c: casebook.overdue(c, on),
        "answered": lambda c: c.status == CaseStatus.ANSWERED,
        "rejected": lambda c: c.status == CaseStatus.REJECTED,
        "closed": lambda c: c.status == CaseStatus.CLOSED,
        "all": lambda c: True,
    }[chosen]
    shown = [c for c in cases if keep(c)]
    left = {c.id: calendar.between(on, c.reply_due) for c in shown if c.status in casebook.OPEN}
    five_two, five_three = casebook.indicators(cases)
    return render_template("cases/index.html", cases=shown, counts=counts, chosen=chosen, left=left, on=on,
                           statuses=status_labels(), kinds=kind_labels(), overdue=casebook.overdue,
                           five_two=five_two, five_three=five_three, filters=filter_labels())


def filter_labels() -> dict[str, str]:
    return {"open": _("Open"), "due_soon": _("Due soon"), "overdue": _("Overdue"), "answered": _("Answered"),
            "rejected": _("Rejected"), "closed": _("Closed"), "all": _("All")}


def _units_in_scope() -> list[Unit]:
    from survey.store.units import UnitMap

    unit_map = UnitMap(get_session())
    units = [u for u in unit_map.tree(unit_map.now).units.values() if _in_scope(u.id)]
    return sorted(units, key=lambda u: sort_key(u.name))


@bp.route("/<int:case_id>")
@staff_required
def detail(case_id: int) -> Any:
    case = _case(case_id)
    calendar = casebook.WorkCalendar.load(get_session())
    on = casebook.today()
    return render_template("cases/detail.html", case=case, statuses=status_labels(), kinds=kind_labels(),
                           events=event_labels(), channels=channel_labels(), units=_units_in_scope(),
                           overdue=casebook.overdue(case, on), open=case.status in casebook.OPEN,
                           left=calendar.between(on, case.reply_due), on=on)


STEPS = ("start", "assign", "request_info", "answer", "publish", "reject", "close")


@bp.post("/<int:case_id>/step")
@staff_required
def step(case_id: int) -> Any:
    session = get_session()
    case = _case(case_id)
    action = request.form.get("step", "")
    if action not in STEPS:
        raise AppError(_("Unknown step."))
    text = (request.form.get("text") or "").strip()
    user_id = current_user.id
    calendar = casebook.WorkCalendar.load(session)
    try:
        if action == "start":
            casebook.start(case, user_id)
        elif action == "assign":
            unit = session.scalar(select(Unit).where(Unit.code == request.form.get("unit", "")))
            if unit is None or not _in_scope(unit.id):
                raise AppError(_("Choose a unit."))
            casebook.assign(case, unit, user_id)
        elif action in ("request_info", "answer", "reject"):
            if not text:
                raise AppError({"request_info": _("Write what information the citizen should give."),
                                "answer": _("Write the answer."),
                                "reject": _("Write why the case is not accepted.")}[action])
            if len(text) > 10_000:
                raise AppError(_("This text is too long (at most 10,000 characters)."))
            if action == "request_info":
                casebook.request_info(case, text, user_id)
            elif action == "answer":
                casebook.answer(case, text, user_id, calendar=calendar, limits=_limits(),
                                publish=request.form.get("publish") == "1")
            else:
                casebook.reject(case, text, user_id)
        elif action == "publish":
            casebook.publish_answer(case, user_id)
        else:
            casebook.close(case, user_id)
    except casebook.CaseError:
        raise AppError(_("This step does not apply to the case as it is now (%(status)s).",
                         status=status_labels()[case.status.value])) from None
    audit.record("case.change", target=f"case:{case.id}", unit_id=case.unit_id,
                 details={"step": action, "status": case.status.value, "late": bool(case.answered_late)})
    session.commit()
    flash(_("Case %(code)s: %(status)s.", code=case.code, status=status_labels()[case.status.value]))
    return redirect(url_for("cases.detail", case_id=case.id))


@bp.route("/days-off", methods=["GET", "POST"])
@staff_required
def days_off() -> Any:
    session = get_session()
    if request.method == "POST":
        try:
            day = date.fromisoformat(request.form.get("day", "").strip())
        except ValueError:
            raise AppError(_("Enter a date such as 2026-09-04.")) from None
        if request.form.get("remove") == "1":
            row = session.get(DayOff, day)
            if row is not None:
                session.delete(row)
        else:
            row = session.get(DayOff, day) or DayOff(day=day)
            row.label = (request.form.get("label") or "").strip()[:200]
            row.working = request.form.get("working") == "1"
            session.add(row)
        audit.record("admin.edit", target=f"day_off:{day.isoformat()}",
                     details={"field": "day_off", "removed": request.form.get("remove") == "1"})
        session.commit()
        flash(_("The calendar of working days is saved."))
        return redirect(url_for("cases.days_off"))
    rows = session.scalars(select(DayOff).order_by(DayOff.day)).all()
    calendar = casebook.WorkCalendar.load(session)
    on = casebook.today()
    return render_template("cases/days_off.html", rows=rows, on=on, due=calendar.add(on, _limits().reply),
                           limits=_limits())
