"""Staff pages: SIPAS results by unit, service and quarter; units ranked by quarter; PAPI-style
governance scores by unit and year; downloads of each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from exports import Rendered, render
from exports.microdata import Microdata, write
from questionnaires import Questionnaire
from survey.auth import staff_required
from survey.errors import AppError, NotFound
from survey.i18n import current_language
from survey.periods import is_quarter
from survey.reports.microdata_frame import microdata
from survey.reports.papi_tables import PAPI_QUESTIONNAIRE, RANK_REPLICATES, PapiReport, papi_report
from survey.reports.ranking import RANKED_LEVELS, Ranking, unit_ranking
from survey.reports.sipas_tables import SipasReport, scored_as_sipas, sipas_report
from survey.store.catalogue import in_use, latest
from survey.store.db import get_session
from survey.store.models import Service, Unit, UnitLevel
from survey.text import sort_key

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _choices() -> tuple[list[Unit], list[Service], list[tuple[str, str]]]:
    """Units (as a tree), services, and the satisfaction questionnaires in use — on a desk or
    answered at least once — as (id, title) in Vietnamese order of their titles."""
    session = get_session()
    language = current_language()
    units = _tree_order(session.scalars(select(Unit)).all())
    services = sorted(session.scalars(select(Service)).all(), key=lambda s: sort_key(s.name(language)))
    questionnaires = [(q.id, q.title.get(language)) for q in in_use(session) if scored_as_sipas(q)]
    return units, services, sorted(questionnaires, key=lambda q: sort_key(q[1]))


def _tree_order(units: Sequence[Unit]) -> list[Unit]:
    """Every unit under its parent, siblings in Vietnamese order (the order of a unit picker)."""
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    out: list[Unit] = []
    stack = sorted(children.get(None, []), key=lambda u: sort_key(u.name), reverse=True)
    while stack:
        unit = stack.pop()
        out.append(unit)
        stack.extend(sorted(children.get(unit.id, []), key=lambda u: sort_key(u.name), reverse=True))
    return out


def _period() -> str | None:
    """The quarter chosen in the query string (``2026-Q3``), or None for all of them."""
    period = request.args.get("period", "").strip().upper()
    if not period:
        return None
    if not is_quarter(period):
        raise AppError(_("A period is a quarter such as 2026-Q3."))
    return period


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


def _questionnaire(questionnaire_id: str) -> Questionnaire:
    try:
        return latest(questionnaire_id)
    except LookupError:
        raise NotFound(_("Unknown questionnaire.")) from None


def _satisfaction_questionnaire(questionnaire_id: str) -> Questionnaire:
    """A questionnaire the satisfaction pages (results, ranking) can score."""
    questionnaire = _questionnaire(questionnaire_id)
    if not scored_as_sipas(questionnaire):
        raise AppError(_("This questionnaire has no satisfaction index; PAPI questionnaires are scored on the PAPI page."))
    return questionnaire


def _format() -> str:
    """An Excel workbook for ``….xlsx``; otherwise CSV for Excel (UTF-8 with a byte-order mark)
    unless ``excel=0`` asks for plain UTF-8."""
    if request.path.endswith(".xlsx"):
        return "xlsx"
    return "csv" if request.args.get("excel") == "0" else "csv-excel"


def _report() -> tuple[SipasReport, Unit, Service, Questionnaire]:
    """The SIPAS report of the unit, service and questionnaire chosen in the query string."""
    unit, service, questionnaire_id = _selection()
    questionnaire = _satisfaction_questionnaire(questionnaire_id)
    report = sipas_report(
        get_session(), questionnaire, unit, service, language=current_language(),
        level=current_app.config["CONFIDENCE_LEVEL"], min_n=current_app.config["MIN_PUBLISH_N"], period=_period(),
    )
    return report, unit, service, questionnaire


@bp.route("/results")
@staff_required
def results() -> Any:
    report, unit, service, questionnaire = _report()
    units, services, questionnaires = _choices()
    return render_template(
        "staff/results.html", report=report, unit=unit, service=service, questionnaire=questionnaire,
        units=units, services=services, questionnaires=questionnaires, period=_period(),
    )


@bp.route("/results.csv")
@staff_required
def results_csv() -> Any:
    report, unit, service, _questionnaire = _report()
    period = _period()
    return _download(render(_format(), report.table), f"sipas_{unit.code}_{service.code}{'_' + period if period else ''}")


def _download(rendered: Rendered, stem: str) -> Response:
    return Response(
        rendered.body,
        mimetype=rendered.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{rendered.extension}"'},
    )


def _service_or_all() -> Service | None:
    """The service chosen in the query string; None (all services) when none is."""
    code = request.args.get("service", "")
    service = get_session().scalar(select(Service).where(Service.code == code)) if code else None
    if code and service is None:
        raise NotFound(_("Unknown service."))
    return service


def _ranking() -> tuple[Ranking, Questionnaire, Service | None, UnitLevel]:
    """The ranking chosen in the query string: questionnaire, service (empty: all), level, quarter."""
    session = get_session()
    questionnaire = _satisfaction_questionnaire(request.args.get("questionnaire", "sipas-kiosk"))
    service = _service_or_all()
    chosen = request.args.get("level", UnitLevel.DISTRICT.value)
    level = next((lv for lv in RANKED_LEVELS if lv.value == chosen), None)
    if level is None:
        raise AppError(_("Units are ranked by district or by commune."))
    result = unit_ranking(
        session, questionnaire, level=level, service=service, period=_period(), language=current_language(),
        confidence=current_app.config["CONFIDENCE_LEVEL"], min_n=current_app.config["MIN_PUBLISH_N"],
    )
    return result, questionnaire, service, level


@bp.route("/ranking")
@staff_required
def ranking() -> Any:
    result, questionnaire, service, level = _ranking()
    _units, services, questionnaires = _choices()
    return render_template(
        "staff/ranking.html", ranking=result, questionnaire=questionnaire, service=service, level=level,
        services=services, questionnaires=questionnaires, levels=RANKED_LEVELS,
    )


@bp.route("/ranking.csv")
@staff_required
def ranking_csv() -> Any:
    result, _questionnaire, service, level = _ranking()
    stem = f"xep-hang_{level.value}_{service.code if service else 'all'}_{result.period or 'none'}"
    return _download(render(_format(), result.table), stem)


def _unit_or_top() -> Unit:
    """The unit chosen in the query string, or the top of the tree (the province) when none is."""
    session = get_session()
    code = request.args.get("unit", "")
    unit = (session.scalar(select(Unit).where(Unit.code == code)) if code
            else session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code)))
    if unit is None:
        raise NotFound(_("Choose a unit."))
    return unit


def _papi() -> tuple[PapiReport, Unit]:
    """The PAPI report of the unit and year chosen in the query string (default: the province,
    the latest year)."""
    session = get_session()
    unit = _unit_or_top()
    year = request.args.get("year", "").strip() or None
    if year is not None and not (year.isdigit() and len(year) == 4):
        raise AppError(_("A survey year has four digits, such as 2026."))
    report = papi_report(
        session, _questionnaire(PAPI_QUESTIONNAIRE), unit, year=year, language=current_language(),
        level=current_app.config["CONFIDENCE_LEVEL"], min_n=current_app.config["MIN_PUBLISH_N"],
    )
    return report, unit


@bp.route("/papi")
@staff_required
def papi() -> Any:
    report, unit = _papi()
    units, _services, _questionnaires = _choices()
    return render_template("staff/papi.html", report=report, unit=unit, units=units, rank_replicates=RANK_REPLICATES)


@bp.route("/papi.csv")
@staff_required
def papi_csv() -> Any:
    report, unit = _papi()
    if request.args.get("table") == "districts":
        return _download(render(_format(), report.districts), f"papi_huyen_{report.year or 'none'}")
    return _download(render(_format(), report.table), f"papi_{unit.code}_{report.year or 'none'}")


EXPORT_FORMATS = {"csv": "csv-excel", "xlsx": "xlsx", "sav": "sav", "dta": "dta"}


def _microdata() -> tuple[Microdata, Unit]:
    """The response-level data chosen in the query string."""
    session = get_session()
    questionnaire = _questionnaire(request.args.get("questionnaire", "sipas-kiosk"))
    unit = _unit_or_top()
    service = _service_or_all()
    data = microdata(session, questionnaire, unit, service=service, period=_period(), language=current_language(),
                     labels=request.args.get("values") == "labels")
    return data, unit


@bp.route("/export")
@staff_required
def export() -> Any:
    units, services, _questionnaires = _choices()
    questionnaires = [(q.id, q.title.get(current_language())) for q in in_use(get_session())]
    return render_template("staff/export.html", units=units, services=services, questionnaires=questionnaires)


@bp.route("/export.<fmt>")
@staff_required
def export_file(fmt: str) -> Any:
    if fmt not in EXPORT_FORMATS:
        raise NotFound(_("This page does not exist."))
    data, unit = _microdata()
    questionnaire_id = request.args.get("questionnaire", "sipas-kiosk")
    return _download(write(EXPORT_FORMATS[fmt], data), f"du-lieu_{questionnaire_id}_{unit.code}")


# The same downloads as Excel workbooks.
bp.add_url_rule("/results.xlsx", "results_xlsx", results_csv)
bp.add_url_rule("/ranking.xlsx", "ranking_xlsx", ranking_csv)
bp.add_url_rule("/papi.xlsx", "papi_xlsx", papi_csv)
