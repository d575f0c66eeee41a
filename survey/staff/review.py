"""Review of flagged responses: review status decides what is scored.

A response that arrives with a flag (a burst from one kiosk, an unregistered kiosk browser) is
stored but held out of every index until a staff member approves it; a rejected response is
never scored. The queue shows no personal data: time, place, service, channel, flag, scores.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from survey.auth import staff_required
from survey.errors import AppError
from survey.store.db import get_session
from survey.store.models import Answer, Response, ReviewStatus

bp = Blueprint("review", __name__, url_prefix="/staff/review")

PAGE_SIZE = 50


def pending_filter() -> Any:
    return (Response.flag.is_not(None)) & (Response.review_status == ReviewStatus.RECEIVED)


@bp.route("/")
@staff_required
def queue() -> Any:
    session = get_session()
    total = session.scalar(select(func.count()).select_from(Response).where(pending_filter())) or 0
    responses = session.scalars(
        select(Response).where(pending_filter()).order_by(Response.submitted_at, Response.id).limit(PAGE_SIZE)
    ).all()
    numbers: dict[uuid.UUID, list[tuple[str, float]]] = {}
    if responses:
        rows = session.execute(
            select(Answer.response_id, Answer.question_id, Answer.value_num)
            .where(Answer.response_id.in_([r.id for r in responses]), Answer.value_num.is_not(None))
            .order_by(Answer.question_id)
        ).all()
        for rid, qid, value in rows:
            if value is not None:
                numbers.setdefault(rid, []).append((qid, value))
    return render_template("staff/review.html", responses=responses, numbers=numbers, total=total,
                           flag_labels=flag_labels())


def flag_labels() -> dict[str, str]:
    """What each review flag means, for staff."""
    return {
        "burst": _("Many ratings from one kiosk within seconds"),
        "unregistered": _("From a kiosk browser that is not registered"),
        "link_rate": _("Public link: more ratings for this unit in an hour than usual"),
    }


@bp.route("/decide", methods=["POST"])
@staff_required
def decide() -> Any:
    decision = request.form.get("decision")
    statuses = {"approve": ReviewStatus.APPROVED, "reject": ReviewStatus.REJECTED}
    if decision not in statuses:
        raise AppError(_("Choose approve or reject."))
    try:
        ids = [uuid.UUID(v) for v in request.form.getlist("response_id")]
    except ValueError:
        raise AppError(_("Choose approve or reject.")) from None
    if not ids:
        flash(_("Select at least one response."))
        return redirect(url_for("review.queue"))
    session = get_session()
    result = session.execute(
        update(Response).where(Response.id.in_(ids), pending_filter()).values(review_status=statuses[decision])
    )
    session.commit()
    count = getattr(result, "rowcount", len(ids))
    flash(_("%(n)s responses approved.", n=count) if decision == "approve" else _("%(n)s responses rejected.", n=count))
    return redirect(url_for("review.queue"))
