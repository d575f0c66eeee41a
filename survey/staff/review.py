"""Two-level review of responses (issue 11 point 2; Survey Solutions' supervisor → headquarters).

What counts is decided in ONE place, :func:`survey.reports.frames.approved_filter`: an approved
response, or a received one without a flag whose channel is auto-approved (:class:`ReviewRule`,
set by admins on the oversight page and shown here). Everything else waits here:

* first level — a supervisor (or a commune/department officer) checks what was **received**:
  *approved* (→ waits for the province), *has issues* (with a comment, back to the enumerator, who
  sees it on :func:`returned` and resubmits), or *rejected* (→ the province confirms or overrules);
* second level — a province officer (an officer whose data-entry scope is the whole province)
  decides: *approved* (it counts) or *rejected* (never scored). A province officer may also decide a
  received response at once (a kiosk rating has no supervisor);
* an approved (or auto-approved) response can be **un-approved** with a reason: it gets the review
  flag ``unapproved`` and waits again; any response can get a **comment**.

Bulk actions work on the ticked rows or, with "select all", on every response the current view
lists (all pages). Every step is a :class:`ReviewNote` and an audit line (never the comment text
in the audit log). Reviewers see only responses of units in their data-entry scope; supervisors of
a team only their team's interviews. The queue shows no personal data: time (Vietnam time), place,
service, channel, flag, scores.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, func, or_, select

from survey.auth import Scope, reviewer_required, role_required, scope_of, staff_required
from survey.errors import AppError, NotFound
from survey.portal.formatting import moment
from survey.reports.frames import auto_approved_channels
from survey.store import audit, compact
from survey.store.db import get_session
from survey.store.models import (
    AnswerValue,
    Channel,
    Response,
    ReviewNote,
    ReviewStatus,
    Role,
    Team,
    TeamMember,
    Unit,
    UnitLevel,
    User,
)

bp = Blueprint("review", __name__, url_prefix="/staff/review")
field_bp = Blueprint("returned", __name__, url_prefix="/field/returned")

PAGE_SIZE = 50
MAX_COMMENT = 2000
UNAPPROVED_FLAG = "unapproved"

# The views of the queue: what each lists.
VIEWS = ("pending", "province", "has_issues", "approved")


def pending_filter() -> Any:
    """Received responses that do not count yet: flagged, or of a channel without auto-approval."""
    channels = auto_approved_channels(get_session())
    return and_(Response.review_status == ReviewStatus.RECEIVED,
                or_(Response.flag.is_not(None), Response.channel.not_in(channels)))


def _view_filter(view: str) -> ColumnElement[bool]:
    if view == "province":
        return Response.review_status.in_([ReviewStatus.SUPERVISOR_APPROVED, ReviewStatus.SUPERVISOR_REJECTED])
    if view == "has_issues":
        return Response.review_status == ReviewStatus.HAS_ISSUES
    if view == "approved":
        return Response.review_status == ReviewStatus.APPROVED
    return pending_filter()  # type: ignore[no-any-return]


def is_province_reviewer(user: User, scope: Scope) -> bool:
    """The second level: an officer (or admin) whose data-entry scope is the whole province."""
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.STAFF:
        return False
    if scope.entry_root is None:
        return True
    root = get_session().get(Unit, scope.entry_root)
    return root is not None and root.level == UnitLevel.PROVINCE


def _team_members(user: User) -> list[int] | None:
    """The enumerators of the teams ``user`` supervises (None: not a team supervisor)."""
    if user.role != Role.SUPERVISOR:
        return None
    db = get_session()
    teams = db.scalars(select(Team.id).where(Team.supervisor_id == user.id, Team.active.is_(True))).all()
    if not teams:
        return None
    return list(db.scalars(select(TeamMember.user_id).where(TeamMember.team_id.in_(teams))).all())


def reviewable() -> list[ColumnElement[bool]]:
    """The responses the signed-in reviewer may see and decide: in the data-entry scope; for a
    team supervisor, the team's interviews."""
    user = current_user._get_current_object()
    filters = [scope_of().entry_clause(Response.unit_id)]
    members = _team_members(user)
    if members is not None:
        filters.append(Response.user_id.in_(members))
    return filters


def _chosen_view() -> str:
    view = request.values.get("view", "pending")
    return view if view in VIEWS else "pending"


@bp.route("/")
@staff_required
def queue() -> Any:
    session = get_session()
    view = _chosen_view()
    where = [_view_filter(view), *reviewable()]
    total = session.scalar(select(func.count()).select_from(Response).where(*where)) or 0
    counts = {v: session.scalar(select(func.count()).select_from(Response).where(_view_filter(v), *reviewable())) or 0
              for v in VIEWS}
    responses = session.scalars(
        select(Response).where(*where).order_by(Response.submitted_at, Response.id).limit(PAGE_SIZE)
    ).all()
    numbers: dict[uuid.UUID, list[tuple[str, float]]] = {}
    notes: dict[uuid.UUID, list[ReviewNote]] = {}
    if responses:
        ids = [r.id for r in responses]
        rows = session.execute(
            select(AnswerValue.response_id, AnswerValue.question_id, AnswerValue.value_num)
            .where(AnswerValue.response_id.in_(ids), AnswerValue.value_num.is_not(None))
            .order_by(AnswerValue.question_id)
        ).all()
        for rid, qid, value in rows:
            if value is not None:
                numbers.setdefault(rid, []).append((qid, value))
        for note in session.scalars(select(ReviewNote).where(ReviewNote.response_id.in_(ids))
                                    .order_by(ReviewNote.created_at, ReviewNote.id)):
            notes.setdefault(note.response_id, []).append(note)
    user = current_user._get_current_object()
    can_review = user.role in (Role.ADMIN, Role.STAFF, Role.SUPERVISOR)
    auto = set(auto_approved_channels(session))
    return render_template("staff/review.html", responses=responses, numbers=numbers, notes=notes, total=total,
                           counts=counts, view=view, views=view_labels(), flag_labels=flag_labels(),
                           status_labels=status_labels(), channel_labels=channel_names(),
                           province=is_province_reviewer(user, scope_of()), can_review=can_review,
                           rules=[(c, c in auto) for c in Channel], moment=moment)


def view_labels() -> dict[str, str]:
    return {"pending": _("To review"), "province": _("Waiting for the province"),
            "has_issues": _("Back with the enumerator"), "approved": _("Approved")}


def status_labels() -> dict[str, str]:
    return {ReviewStatus.RECEIVED.value: _("Received"), ReviewStatus.HAS_ISSUES.value: _("Has issues"),
            ReviewStatus.SUPERVISOR_APPROVED.value: _("Approved by the supervisor"),
            ReviewStatus.SUPERVISOR_REJECTED.value: _("Rejected by the supervisor"),
            ReviewStatus.APPROVED.value: _("Approved"), ReviewStatus.REJECTED.value: _("Rejected")}


def channel_names() -> dict[str, str]:
    return {Channel.KIOSK.value: _("Kiosk"), Channel.ENUMERATOR.value: _("Enumerator interview"),
            Channel.WEB.value: _("Public link or QR code")}


class _FlagLabels(dict[str, str]):
    """Review flags in words: the hardening flags here, the quality flags from
    :func:`survey.collect.quality.flag_label`; never a raw code."""

    def get(self, key: Any, default: Any = None) -> Any:  # noqa: ARG002 - dict's signature
        if key in self:
            return self[key]
        from survey.collect.quality import flag_label

        return flag_label(key)


def flag_labels() -> dict[str, str]:
    """What each review flag means, for staff."""
    return _FlagLabels({
        "burst": _("Many ratings from one kiosk within seconds"),
        "unregistered": _("From a kiosk browser that is not registered"),
        "link_rate": _("Public link: more ratings for this unit in an hour than usual"),
        UNAPPROVED_FLAG: _("Un-approved by a reviewer: waits for a new decision"),
        "resubmitted": _("Corrected and resubmitted by the enumerator"),
    })


def _target_ids(view: str) -> list[uuid.UUID]:
    session = get_session()
    if request.form.get("select_all") == "all":
        return list(session.scalars(select(Response.id).where(_view_filter(view), *reviewable())).all())
    try:
        return [uuid.UUID(v) for v in request.form.getlist("response_id")]
    except ValueError:
        raise AppError(_("Choose approve or reject.")) from None


def _transition(response: Response, decision: str, province: bool) -> tuple[ReviewStatus, str | None] | None:
    """The status ``decision`` moves ``response`` to (and a flag to set), or None if it may not."""
    status = response.review_status
    pending = status == ReviewStatus.RECEIVED and (
        response.flag is not None or response.channel not in auto_approved_channels(get_session()))
    waiting = status in (ReviewStatus.SUPERVISOR_APPROVED, ReviewStatus.SUPERVISOR_REJECTED)
    if decision == "approve":
        if province and (pending or waiting):
            return ReviewStatus.APPROVED, None
        if not province and pending:
            return ReviewStatus.SUPERVISOR_APPROVED, None
    elif decision == "reject":
        if province and (pending or waiting):
            return ReviewStatus.REJECTED, None
        if not province and pending:
            return ReviewStatus.SUPERVISOR_REJECTED, None
    elif decision == "has_issues":
        if (pending or (province and waiting)) and response.user_id is not None:
            return ReviewStatus.HAS_ISSUES, None
    elif decision == "unapprove":
        auto_counted = status == ReviewStatus.RECEIVED and not pending
        if province and (status == ReviewStatus.APPROVED or auto_counted):
            return ReviewStatus.RECEIVED, UNAPPROVED_FLAG
    elif decision == "comment":
        return status, response.flag
    return None


DECISIONS = ("approve", "reject", "has_issues", "unapprove", "comment")
NEEDS_TEXT = ("has_issues", "unapprove", "comment")


@bp.route("/decide", methods=["POST"])
@reviewer_required
def decide() -> Any:
    decision = request.form.get("decision", "")
    if decision not in DECISIONS:
        raise AppError(_("Choose approve or reject."))
    view = _chosen_view()
    back = redirect(url_for("review.queue", view=view))
    text = (request.form.get("comment") or "").strip()
    if decision in NEEDS_TEXT and not text:
        raise AppError(_("Write a comment: the reason is kept with the response."), {"comment": _("Required.")})
    if len(text) > MAX_COMMENT:
        raise AppError(_("A comment has at most %(n)s characters.", n=MAX_COMMENT), {"comment": _("Too long.")})
    ids = _target_ids(view)
    if not ids:
        flash(_("Select at least one response."))
        return back
    session = get_session()
    user = current_user._get_current_object()
    province = is_province_reviewer(user, scope_of())
    done = 0
    for response in session.scalars(select(Response).where(Response.id.in_(ids), *reviewable())
                                    .order_by(Response.submitted_at, Response.id)):
        move = _transition(response, decision, province)
        if move is None:
            continue
        before = response.review_status
        response.review_status, response.flag = move
        session.add(ReviewNote(response_id=response.id, user_id=user.id, from_status=before, to_status=move[0],
                               text=text))
        audit.record("review.comment" if decision == "comment" else "review.decision",
                     target=f"response:{response.id}", unit_id=response.unit_id,
                     details={"decision": decision, "from": before.value, "to": move[0].value,
                              "level": "province" if province else "first"})
        done += 1
    session.commit()
    skipped = len(set(ids)) - done  # not at a step this decision applies to, or outside the scope
    messages = {
        "approve": _("%(n)s responses approved.", n=done),
        "reject": _("%(n)s responses rejected.", n=done),
        "has_issues": _("%(n)s responses sent back to their enumerators.", n=done),
        "unapprove": _("%(n)s responses un-approved: they wait for a new decision.", n=done),
        "comment": _("Comment added to %(n)s responses.", n=done),
    }
    flash(messages[decision])
    if skipped:
        flash(_("%(n)s selected responses were left as they were (not at a step this decision applies to).",
                n=skipped))
    return back


# --- The enumerator's side: interviews sent back with issues, corrected and resubmitted ---------------


def _mine(response_id: str) -> Response:
    try:
        rid = uuid.UUID(response_id)
    except ValueError:
        raise NotFound(_("This page does not exist.")) from None
    response = get_session().get(Response, rid)
    if response is None or response.user_id != current_user.id or response.review_status != ReviewStatus.HAS_ISSUES:
        raise NotFound(_("This page does not exist."))
    return response


@field_bp.route("/")
@role_required(Role.ENUMERATOR)
def returned() -> Any:
    """The enumerator's interviews a reviewer sent back, with the reviewers' comments."""
    session = get_session()
    responses = session.scalars(select(Response).where(Response.user_id == current_user.id,
                                                       Response.review_status == ReviewStatus.HAS_ISSUES)
                                .order_by(Response.submitted_at)).all()
    notes: dict[uuid.UUID, list[ReviewNote]] = {}
    answers: dict[uuid.UUID, list[AnswerValue]] = {}
    if responses:
        ids = [r.id for r in responses]
        for note in session.scalars(select(ReviewNote).where(ReviewNote.response_id.in_(ids))
                                    .order_by(ReviewNote.created_at, ReviewNote.id)):
            notes.setdefault(note.response_id, []).append(note)
        for answer in session.scalars(select(AnswerValue).where(AnswerValue.response_id.in_(ids),
                                                                AnswerValue.value_num.is_not(None))
                                      .order_by(AnswerValue.question_id)):
            answers.setdefault(answer.response_id, []).append(answer)
    return render_template("staff/returned.html", responses=responses, notes=notes, answers=answers, moment=moment)


@field_bp.route("/<response_id>", methods=["POST"])
@role_required(Role.ENUMERATOR)
def resubmit(response_id: str) -> Any:
    """Correct the numeric answers of an interview sent back and send it for review again."""
    response = _mine(response_id)
    session = get_session()
    changed = 0
    errors: dict[str, str] = {}
    for question_id, stored in sorted(compact.numbers(session, response.id).items()):
        raw = (request.form.get(f"q_{question_id}") or "").strip().replace(",", ".")
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            errors[f"q_{question_id}"] = _("Enter a number.")
            continue
        if value != stored:
            compact.set_number(session, response, question_id, value)  # packed or a row, as stored
            changed += 1
    if errors:
        session.rollback()
        raise AppError(_("Some answers are not numbers; nothing was changed."), errors)
    text = (request.form.get("comment") or "").strip()[:MAX_COMMENT]
    session.add(ReviewNote(response_id=response.id, user_id=current_user.id, from_status=ReviewStatus.HAS_ISSUES,
                           to_status=ReviewStatus.RECEIVED, text=text))
    response.review_status = ReviewStatus.RECEIVED
    if response.flag is None:
        response.flag = "resubmitted"
    audit.record("review.decision", target=f"response:{response.id}", unit_id=response.unit_id,
                 details={"decision": "resubmit", "from": ReviewStatus.HAS_ISSUES.value,
                          "to": ReviewStatus.RECEIVED.value, "changed": changed})
    session.commit()
    flash(_("Interview sent for review again."))
    return redirect(url_for("returned.returned"))
