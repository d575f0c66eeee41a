"""The public side of citizens' complaints and feedback (phản ánh, kiến nghị), without sign-in:

- ``/cases/`` — a citizen types the code they were given and reads where the case stands and the
  unit's published answer, then rates the answer (like / dislike; a dislike reopens the case).
  Look-ups are rate-limited per address (``CASE_LOOKUP_PER_HOUR``) and an unknown code gets the
  same answer as a malformed one, so codes cannot be enumerated; the code travels in a POST body,
  never in an address (no access log holds it).
- ``/cases/figures`` — the public counters per unit and month (received, in progress, answered
  on time, answered late, overdue, rejected, reopened), the units with overdue cases named, and
  Decision 766 indicators 5.2 and 5.3 computed from the cases. Counts only: no comment, no answer
  text, nothing personal.
"""

from __future__ import annotations

import re
import smtplib
from collections import Counter
from datetime import date, datetime
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from survey.errors import AppError, TooManyRequests
from survey.periods import local
from survey.portal import mail
from survey.ratelimit import limiter
from survey.store import casebook
from survey.store.casework import CaseStatus, FeedbackCase
from survey.store.db import get_session
from survey.store.models import Response, Unit
from survey.store.units import UnitMap
from survey.text import sort_key

bp = Blueprint("cases_public", __name__, url_prefix="/cases")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def status_labels() -> dict[str, str]:
    return {
        CaseStatus.RECEIVED.value: _("Received, waiting for the unit"),
        CaseStatus.IN_PROGRESS.value: _("Being handled"),
        CaseStatus.INFO_REQUESTED.value: _("The unit asked for more information"),
        CaseStatus.ANSWERED.value: _("Answered"),
        CaseStatus.REJECTED.value: _("Not accepted for handling"),
        CaseStatus.CLOSED.value: _("Closed"),
    }


def counter_labels() -> dict[str, str]:
    return {
        "received": _("Received"),
        "in_progress": _("In progress"),
        "answered_on_time": _("Answered on time"),
        "answered_late": _("Answered late"),
        "overdue": _("Overdue"),
        "rejected": _("Rejected"),
        "reopened": _("Reopened"),
    }


def _limits() -> casebook.Limits:
    return casebook.Limits.from_config(current_app.config)


def _find(raw: str) -> FeedbackCase | None:
    """The case of a typed code, counted against the address's look-ups."""
    if not limiter.allow(f"case-lookup:{request.remote_addr}", int(current_app.config["CASE_LOOKUP_PER_HOUR"]),
                         3600):
        raise TooManyRequests(_("Too many look-ups from this network. Please try again in an hour."))
    code = casebook.normalize_code(raw or "")
    if not code:
        return _by_dossier(raw or "")
    return get_session().scalar(select(FeedbackCase).where(FeedbackCase.code == code))


_DOSSIER = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-/]{3,39}$")


def _by_dossier(raw: str) -> FeedbackCase | None:
    """The newest case of the rating made with this dossier code (kept only as its keyed hash)."""
    from survey.collect.responses import dossier_key
    from survey.store import dossier_keys

    text = raw.strip()
    if not _DOSSIER.match(text):
        return None
    session = get_session()
    ids = session.scalars(select(Response.questionnaire_id).join(FeedbackCase, FeedbackCase.response_id == Response.id)
                          .distinct()).all()
    secrets = dossier_keys.keyring(current_app).secrets()
    keys = [dossier_key(secret, qid, text) for qid in ids for secret in secrets]
    if not keys:
        return None
    return session.scalar(select(FeedbackCase).join(Response, FeedbackCase.response_id == Response.id)
                          .where(Response.dossier_key.in_(keys)).order_by(FeedbackCase.received_at.desc()).limit(1))


@bp.route("/", methods=["GET", "POST"])
def lookup() -> Any:
    case = None
    message = None
    status = 200
    if request.method == "POST":
        case = _find(request.form.get("code", ""))
        if case is None:
            message = _("No case has this code. Check the code you were given (e.g. PA-7K3M-9QXD).")
            status = 404
    return render_template("cases/lookup.html", case=case, message=message, labels=status_labels(),
                           can_rate=case is not None and case.status == CaseStatus.ANSWERED
                           and case.published_at is not None), status


@bp.route("/rate", methods=["POST"])
def rate() -> Any:
    case = _find(request.form.get("code", ""))
    choice = request.form.get("rating")
    if case is None:
        raise AppError(_("No case has this code. Check the code you were given (e.g. PA-7K3M-9QXD)."), status=404)
    if choice not in ("like", "dislike"):
        raise AppError(_("Choose whether the answer satisfies you."))
    session = get_session()
    try:
        casebook.rate(case, choice == "like", calendar=casebook.WorkCalendar.load(session), limits=_limits())
    except casebook.CaseError:
        raise AppError(_("This case has no answer to rate now.")) from None
    session.commit()
    thanks = _("Thank you: the case is closed.") if choice == "like" else \
        _("Thank you: the case is reopened and the unit will answer again.")
    return render_template("cases/lookup.html", case=case, message=thanks, labels=status_labels(), can_rate=False)


def _month() -> str:
    month = request.args.get("month", "").strip()
    if not month:
        return casebook.month_of(casebook.utcnow())
    if not _MONTH.match(month):
        raise AppError(_("A month is written like 2026-09."))
    return month


def figures_for(cases: list[FeedbackCase], month: str, on: date) -> dict[str, Any]:
    """The public figures of ``month``: counters per unit, the total, the overdue units and the
    indicators 5.2 and 5.3."""
    chosen = [c for c in cases if casebook.month_of(c.received_at) == month]
    by_unit: dict[int, list[FeedbackCase]] = {}
    for case in chosen:
        by_unit.setdefault(case.unit_id, []).append(case)
    units = {u.id: u for u in get_session().scalars(select(Unit).where(Unit.id.in_(list(by_unit))))} if by_unit else {}
    rows = sorted(((units[uid], casebook.counters(group, on)) for uid, group in by_unit.items()),
                  key=lambda r: sort_key(r[0].name))
    total: Counter[str] = Counter(dict.fromkeys(casebook.COUNTERS, 0))
    for _unit, row in rows:
        total.update(row)
    overdue: Counter[int] = Counter(c.unit_id for c in cases if casebook.overdue(c, on))
    overdue_units = {u.id: u for u in get_session().scalars(select(Unit).where(Unit.id.in_(list(overdue))))} \
        if overdue else {}
    five_two, five_three = casebook.indicators(chosen)
    return {"rows": rows, "total": total, "five_two": five_two, "five_three": five_three,
            "overdue": sorted(((overdue_units[uid], n) for uid, n in overdue.items()),
                              key=lambda r: (-r[1], sort_key(r[0].name)))}


@bp.route("/figures")
def figures() -> Any:
    month = _month()
    session = get_session()
    on = casebook.today()
    unit_map = UnitMap(session)
    top = next(iter(unit_map.tree(unit_map.now).roots()), None)
    data = figures_for(casebook.cases_of(session), month, on)
    months = sorted({casebook.month_of(c.received_at) for c in casebook.cases_of(session)} | {month}, reverse=True)
    return render_template("cases/figures.html", month=month, months=months, labels=counter_labels(), top=top,
                           on=on, **data)


@bp.app_template_global("month_label")
def month_label(month: str) -> str:
    """``2026-09`` → ``Tháng 9/2026`` (vi) / ``September 2026`` (en)."""
    found = _MONTH.match(month or "")
    if found is None:
        return month
    return _("Month %(month)s/%(year)s", month=int(found.group(2)), year=found.group(1))


@bp.app_template_global("day_label")
def day_label(day: date | datetime | None) -> str:
    """A date (a moment: its day in Vietnam time) as people write it in Viet Nam: ``05/10/2026``."""
    if isinstance(day, datetime):
        day = local(day).date()
    return day.strftime("%d/%m/%Y") if day is not None else ""


def remind_due_cases(app: Any) -> list[str]:
    """The reminder job's work (:func:`survey.portal.jobs.case_reminders`): mark every open case
    due within ``CASE_REMIND_DAYS`` working days, or late, once a day; staff see them first on
    their home page."""
    with app.extensions["hailong.sessionmaker"]() as session:
        reminded = casebook.remind(session, casebook.Limits.from_config(app.config))
        if reminded and mail.configured(app.config):
            mail_reminders(app, session, reminded)
        return reminded


def mail_reminders(app: Any, session: Any, codes: list[str]) -> int:
    """E-mail the reminders just marked: one message per address of ``CASE_REMINDER_MAIL_TO``,
    listing its units' cases (code, unit, due date, late or due soon — nothing the citizen wrote).
    A mail server that fails is logged and leaves the reminders marked. Returns the messages sent."""
    table = mail.routes(app.config)
    if not table:
        return 0
    cases = session.scalars(select(FeedbackCase).where(FeedbackCase.code.in_(codes))
                            .order_by(FeedbackCase.reply_due, FeedbackCase.code)).all()
    by_address: dict[str, list[FeedbackCase]] = {}
    for case in cases:
        address = mail.address_for([case.unit.code, *(u.code for u in case.unit.ancestors())], table)
        if address is not None:
            by_address.setdefault(address, []).append(case)
    on = casebook.today()
    with app.test_request_context(), force_locale(app.config["DEFAULT_LANGUAGE"]):
        mails = []
        for address, mine in sorted(by_address.items()):
            lines = [_("%(code)s · %(unit)s · reply due %(day)s (%(state)s)", code=c.code, unit=c.unit.name,
                       day=day_label(c.reply_due), state=_("late") if on > c.reply_due else _("due soon"))
                     for c in mine]
            body = "\n".join([_("These complaints and suggestions need an answer soon, or are late:"), "",
                              *lines, "", _("Open the Cases page of Hài Lòng to answer them.")])
            mails.append(mail.Mail((address,), _("Hài Lòng: %(n)s cases due soon or late", n=len(mine)), body))
    try:
        return mail.send(app.config, mails)
    except (OSError, smtplib.SMTPException) as exc:
        app.logger.warning("case reminders not e-mailed: %s", type(exc).__name__)
        return 0
