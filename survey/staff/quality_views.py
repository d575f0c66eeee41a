"""Quality flags for staff (issue 11 point 5): the sensitivity view and the back-check visits.

- ``/staff/quality/sensitivity`` — a unit's overall satisfaction index for a quarter as it counts
  (flagged ratings held out until approved) and with the flagged ratings that are not rejected
  put back, side by side, with how many flagged ratings each desk has in that quarter: whether
  the flags change the picture.
- ``/staff/quality/back-checks`` — the enumerator interviews drawn for a back-check visit
  (``QUALITY_BACKCHECK_SHARE``), a form to enter the answers of the second visit, and the
  agreement per enumerator; a back-check that agrees too little flags the interview ``back_check``
  and sends it back to review.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, func, or_, select

from questionnaires import load_library
from survey import auth
from survey.auth import staff_required
from survey.collect import quality
from survey.errors import AppError, NotFound
from survey.i18n import current_language
from survey.periods import is_quarter, quarter, quarters
from survey.reports.frames import approved_filter, responses_frame
from survey.reports.sipas_tables import scored_as_sipas, sipas_spec
from survey.store import audit
from survey.store.casework import BackCheck, ResponseFlag
from survey.store.catalogue import latest
from survey.store.db import get_session
from survey.store.models import (
    Desk,
    QuestionnaireVersion,
    Response,
    ReviewStatus,
    Unit,
    User,
    utcnow,
)
from survey.store.units import UnitMap

bp = Blueprint("quality", __name__, url_prefix="/staff/quality")


def _visible(unit_id: int) -> bool:
    scope_of = getattr(auth, "scope_of", None)
    return scope_of is None or bool(scope_of().can_view(unit_id))


@bp.app_template_global("flag_label")
def flag_label(code: str | None, detail: dict[str, Any] | None = None) -> str:
    return quality.flag_label(code, detail)


def _overall(frame: Any, questionnaire: Any, unit_map: UnitMap, unit: Unit, period: str) -> dict[str, Any] | None:
    from scoring.design import SurveyDesign
    from scoring.sipas import score_sipas

    frame = unit_map.in_unit(frame, unit)  # as the results page: a split old commune by its share
    keep = frame["in_unit"] & (quarters(frame["submitted_at"]) == period)
    frame["domain"] = keep.map({True: "unit", False: "other"})
    n = int(keep.sum())
    if not n:
        return {"n": 0, "estimate": None, "low": None, "high": None}
    scored = score_sipas(frame, sipas_spec(questionnaire), design=SurveyDesign(weight="weight", psu="cluster"),
                         by=["domain"],
                         confidence=float(current_app.config["CONFIDENCE_LEVEL"])).to_frame()
    row = scored[(scored["domain"] == "unit") & (scored["kind"] == "overall")]
    if row.empty:
        return {"n": n, "estimate": None, "low": None, "high": None}
    rec = row.iloc[0]
    return {"n": n, "estimate": float(rec["estimate"]), "low": float(rec["ci_low"]), "high": float(rec["ci_high"])}


def sensitivity(session: Any, unit: Unit, period: str, questionnaire_id: str) -> dict[str, Any]:
    """The overall index as it counts and with the flagged (not rejected) ratings, and the flagged
    ratings per desk of the quarter."""
    questionnaire = latest(questionnaire_id)
    unit_map = UnitMap(session)
    counted = unit_map.counted_in(unit)
    counts = responses_frame(session, questionnaire)
    flagged_in = or_(approved_filter(session),
                     and_(Response.flag.is_not(None), Response.review_status == ReviewStatus.RECEIVED))
    everything = responses_frame(session, questionnaire, gate=flagged_in)
    from survey.staff.monitoring import _bounds

    start, end = _bounds(period)
    per_desk = session.execute(
        select(Desk.code, Desk.name, func.count()).join(Response, Response.desk_id == Desk.id).where(
            Response.questionnaire_id == questionnaire_id, Response.unit_id.in_(counted),
            Response.flag.is_not(None), Response.review_status == ReviewStatus.RECEIVED,
            Response.submitted_at >= start, Response.submitted_at < end)
        .group_by(Desk.code, Desk.name).order_by(Desk.code)).all()
    return {"as_counted": _overall(counts, questionnaire, unit_map, unit, period),
            "with_flagged": _overall(everything, questionnaire, unit_map, unit, period),
            "per_desk": [(code, name, int(n)) for code, name, n in per_desk], "questionnaire": questionnaire}


@staff_required
def sensitivity_page() -> Any:
    session = get_session()
    period = request.args.get("period", "").strip().upper() or quarter(utcnow())
    if not is_quarter(period):
        raise AppError(_("A period is a quarter such as 2026-Q3."))
    code = request.args.get("unit", "").strip()
    unit_map = UnitMap(session)
    unit = session.scalar(select(Unit).where(Unit.code == code)) if code else \
        next(iter(unit_map.tree(unit_map.now).roots()), None)
    if unit is None or not _visible(unit.id):
        raise NotFound(_("Choose a unit."))
    questionnaire_id = request.args.get("questionnaire", "sipas-kiosk")
    try:
        questionnaire = latest(questionnaire_id)
    except LookupError:
        raise NotFound(_("Unknown questionnaire.")) from None
    if not scored_as_sipas(questionnaire):
        raise AppError(_("This questionnaire has no satisfaction index; PAPI questionnaires are scored on the PAPI page."))
    data = sensitivity(session, unit, period, questionnaire_id)
    return render_template("quality/sensitivity.html", unit=unit, period=period, language=current_language(), **data)


bp.add_url_rule("/sensitivity", "sensitivity", sensitivity_page)


@bp.route("/back-checks")
@staff_required
def back_checks() -> Any:
    session = get_session()
    rows = session.execute(select(BackCheck, Response).join(Response, BackCheck.response_id == Response.id)
                           .order_by(BackCheck.checked_at.is_not(None), Response.submitted_at.desc()).limit(200)).all()
    shown = [(c, r) for c, r in rows if _visible(r.unit_id)]
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_({r.user_id for _c, r in shown
                                                                               if r.user_id})))} if shown else {}
    stats = session.execute(select(Response.user_id, func.count(), func.avg(BackCheck.agreement))
                            .join(Response, BackCheck.response_id == Response.id)
                            .where(BackCheck.agreement.is_not(None)).group_by(Response.user_id)).all()
    done = session.execute(select(Response.user_id, func.count()).where(
        Response.user_id.is_not(None), Response.channel == "enumerator").group_by(Response.user_id)).all()
    interviews = dict(done)
    per_enumerator = [(users.get(uid) or session.get(User, uid), int(n), float(avg), interviews.get(uid, 0))
                      for uid, n, avg in stats if uid is not None]
    return render_template("quality/back_checks.html", rows=shown, users=users, per_enumerator=per_enumerator)


def _check(check_id: int) -> tuple[BackCheck, Any]:
    session = get_session()
    check = session.get(BackCheck, check_id)
    if check is None or not _visible(check.response.unit_id):
        raise NotFound(_("This back-check does not exist."))
    version = session.get(QuestionnaireVersion, check.response.questionnaire_version_id)
    questionnaire = load_library().get((check.response.questionnaire_id, version.version if version else ""))
    if questionnaire is None:
        questionnaire = latest(check.response.questionnaire_id)
    return check, questionnaire


@bp.route("/back-checks/<int:check_id>", methods=["GET", "POST"])
@staff_required
def back_check(check_id: int) -> Any:
    check, questionnaire = _check(check_id)
    questions = quality.back_check_questions(questionnaire)
    if request.method == "POST":
        answers: dict[str, Any] = {}
        for question in questions:
            raw = request.form.get(question.id, "").strip()
            if raw:
                try:
                    answers[question.id] = float(raw.replace(",", "."))
                except ValueError:
                    answers[question.id] = raw
        if not answers:
            raise AppError(_("Enter at least one answer of the second visit."))
        agreement = quality.record_back_check(get_session(), check, answers, current_user.id, questionnaire)
        audit.record("review.decision", target=f"response:{check.response_id}", unit_id=check.response.unit_id,
                     details={"step": "back_check", "agreement": round(agreement or 0, 3)})
        get_session().commit()
        flash(_("Back-check saved."))
        return redirect(url_for("quality.back_checks"))
    return render_template("quality/back_check.html", check=check, questions=questions,
                           language=current_language(), flags=quality.flags_of(get_session(), [check.response_id]))


@bp.app_template_global("response_flags")
def response_flags(response_ids: list[Any]) -> dict[Any, list[ResponseFlag]]:
    """Every quality flag of these responses, with its figures (for the review queue)."""
    return quality.flags_of(get_session(), response_ids)
