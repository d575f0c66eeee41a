"""Staff pages: SIPAS results by unit and service, with downloads."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from exports import render
from questionnaires import Questionnaire
from survey.auth import staff_required
from survey.catalogue import latest
from survey.db import get_session
from survey.errors import NotFound
from survey.i18n import current_language
from survey.models import Desk, Service, Unit
from survey.results import SipasReport, sipas_report

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _sort_key(text: str) -> tuple[str, str]:
    # Vietnamese order without a locale database: compare on letters stripped of tone marks
    # first (so "Ă", "Â" sort near "A"), then on the full NFC text to break ties.
    base = unicodedata.normalize("NFD", text.replace("Đ", "D~").replace("đ", "d~"))
    stripped = "".join(ch for ch in base if not unicodedata.combining(ch)).casefold()
    return stripped, unicodedata.normalize("NFC", text)


def _choices() -> tuple[list[Unit], list[Service], list[str]]:
    session = get_session()
    units = sorted(session.scalars(select(Unit)).all(), key=lambda u: (_level_order(u), _sort_key(u.name)))
    services = sorted(session.scalars(select(Service)).all(), key=lambda s: _sort_key(s.name(current_language())))
    questionnaires = sorted({d.questionnaire_id for d in session.scalars(select(Desk)).all()})
    return units, services, questionnaires


def _level_order(unit: Unit) -> int:
    return ["province", "department", "district", "commune", "hamlet"].index(unit.level.value)


def _selection() -> tuple[Unit, Service, str]:
    session = get_session()
    unit = session.scalar(select(Unit).where(Unit.code == request.args.get("unit", "")))
    service = session.scalar(select(Service).where(Service.code == request.args.get("service", "")))
    if unit is None or service is None:
        raise NotFound(_("Choose a unit and a service."))
    return unit, service, request.args.get("questionnaire", "sipas-kiosk")


@bp.route("/")
@staff_required
def index() -> Any:
    units, services, questionnaires = _choices()
    return render_template("staff/index.html", units=units, services=services, questionnaires=questionnaires)


def _report() -> tuple[SipasReport, Unit, Service, Questionnaire]:
    """The SIPAS report of the unit, service and questionnaire chosen in the query string."""
    unit, service, questionnaire_id = _selection()
    try:
        questionnaire = latest(questionnaire_id)
    except LookupError:
        raise NotFound(_("Unknown questionnaire.")) from None
    report = sipas_report(
        get_session(), questionnaire, unit, service, language=current_language(),
        level=current_app.config["CONFIDENCE_LEVEL"], min_n=current_app.config["MIN_PUBLISH_N"],
    )
    return report, unit, service, questionnaire


@bp.route("/results")
@staff_required
def results() -> Any:
    report, unit, service, questionnaire = _report()
    units, services, questionnaires = _choices()
    return render_template(
        "staff/results.html", report=report, unit=unit, service=service, questionnaire=questionnaire,
        units=units, services=services, questionnaires=questionnaires,
    )


@bp.route("/results.csv")
@staff_required
def results_csv() -> Any:
    report, unit, service, _questionnaire = _report()
    fmt = "csv" if request.args.get("excel") == "0" else "csv-excel"
    rendered = render(fmt, report.table)
    filename = f"sipas_{unit.code}_{service.code}.{rendered.extension}"
    return Response(
        rendered.body,
        mimetype=rendered.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
