"""Staff pages: SIPAS results by unit, service and quarter; units ranked by quarter; PAPI-style
governance scores by unit and year; downloads of each.

Every page and download keeps to the signed-in account's viewing scope (``survey.auth.scope_of``):
the unit pickers list only units in scope, the default unit is the top of the scope, and a unit
outside it answers 404 whether it comes from a picker, a link or a typed URL. Every download is
written to the audit log (``export.download``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from exports import Rendered, UnknownFormat
from exports.downloads import DOWNLOADS
from exports.microdata import Microdata
from questionnaires import Questionnaire
from survey.auth import require_unit_in_scope, scope_of, scope_top, staff_required
from survey.errors import AppError, NotFound
from survey.i18n import current_language
from survey.periods import is_quarter, previous_quarter, quarter
from survey.reports.microdata_frame import microdata
from survey.reports.papi_tables import PAPI_QUESTIONNAIRE, RANK_REPLICATES, PapiReport, papi_report
from survey.reports.ranking import DESKS, DeskLevel, Ranking, desk_ranking, unit_ranking
from survey.reports.sipas_tables import SipasReport, scored_as_sipas, sipas_report
from survey.store import audit
from survey.store.catalogue import in_use, latest
from survey.store.db import get_session
from survey.store.models import Service, Unit, UnitLevel, utcnow
from survey.store.units import UnitMap, level_name, quarter_days, then_day
from survey.text import sort_key

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _choices() -> tuple[list[Unit], list[Service], list[tuple[str, str]]]:
    """Units of today's map (as a tree), services, and the satisfaction questionnaires in use — on
    a desk or answered at least once — as (id, title) in Vietnamese order of their titles. The
    units of the old map are in :func:`_old_units`."""
    session = get_session()
    language = current_language()
    unit_map = UnitMap(session)
    tree = unit_map.tree(unit_map.now)
    units = scope_of().view_units(_tree_order(list(tree.units.values()), tree.parent))
    services = sorted(session.scalars(select(Service)).all(), key=lambda s: sort_key(s.name(language)))
    questionnaires = [(q.id, q.title.get(language)) for q in in_use(session) if scored_as_sipas(q)]
    return units, services, sorted(questionnaires, key=lambda q: sort_key(q[1]))


def _old_units() -> list[Unit]:
    """The units of the map before 1 July 2025 (and any other ended unit), as a tree."""
    unit_map = UnitMap(get_session())
    return scope_of().view_units(_tree_order([u for u in unit_map.units.values() if not unit_map.is_current(u)]))


def _top() -> Unit | None:
    """The top of the account's viewing scope: the province for a province officer."""
    top = scope_top()
    if top is not None:
        return top
    unit_map = UnitMap(get_session())
    return next(iter(unit_map.tree(unit_map.now).roots()), None)


def _tree_order(units: Sequence[Unit], parent_of: dict[int, int | None] | None = None) -> list[Unit]:
    """Every unit under its parent, siblings in Vietnamese order (the order of a unit picker)."""
    children: dict[int | None, list[Unit]] = {}
    ids = {u.id for u in units}
    for unit in units:
        parent = parent_of.get(unit.id) if parent_of is not None else unit.parent_id
        children.setdefault(parent if parent in ids else None, []).append(unit)
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


def _results_period() -> str | None:
    """The quarter of the results page and its files: the one chosen, all of them for an empty
    choice (``period=``), and by default the last complete quarter (as the ranking), never the
    one under way (issue 11 point 7)."""
    if "period" not in request.args:
        return previous_quarter(quarter(utcnow()))
    return _period()


def _selection() -> tuple[Unit, Service | None, str]:
    """The unit, the service (None: all services) and the questionnaire of the query string."""
    session = get_session()
    unit = session.scalar(select(Unit).where(Unit.code == request.args.get("unit", "")))
    if unit is None:
        raise NotFound(_("Choose a unit and a service."))
    require_unit_in_scope(unit)
    return unit, _service_or_all(), request.args.get("questionnaire", "sipas-kiosk")


@bp.route("/")
@staff_required
def index() -> Any:
    units, services, questionnaires = _choices()
    return render_template("staff/index.html", units=units, services=services, questionnaires=questionnaires,
                           headline=_headline(questionnaires), period=_results_period())


def _headline(questionnaires: list[tuple[str, str]]) -> dict[str, Any] | None:
    """The province's latest quarter: its overall satisfaction index over all services, with its
    interval — the figure a Department of Home Affairs publishes every quarter (first questionnaire
    in use, the kiosk rating when it is)."""
    if not questionnaires:
        return None
    session = get_session()
    top = _top()
    if top is None:
        return None
    chosen = next((q for q, _title in questionnaires if q == "sipas-kiosk"), questionnaires[0][0])
    questionnaire = _satisfaction_questionnaire(chosen)
    language = current_language()
    config = current_app.config
    everything = sipas_report(session, questionnaire, top, None, language=language,
                              confidence=config["CONFIDENCE_LEVEL"], min_n=config["MIN_PUBLISH_N"])
    if not everything.periods:
        return None
    period = everything.periods[-1]
    report = sipas_report(session, questionnaire, top, None, language=language, confidence=config["CONFIDENCE_LEVEL"],
                          min_n=config["MIN_PUBLISH_N"], period=period)
    overall = next((r for r in report.table.rows if r["_kind"] == "overall"), None)
    if overall is None or overall["estimate"] is None:
        return None
    return {"unit": top, "period": period, "questionnaire": questionnaire, "row": overall}


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


def _file(kind: str, thing: Any, stem: str, suffix: str | None = None) -> Response:
    """``thing`` as the file the URL asks for: its extension picks the renderer in
    :data:`~exports.downloads.DOWNLOADS` (``.csv``: CSV for Excel unless ``excel=0``; ``locale=vi``:
    ``;`` and decimal comma for a spreadsheet set to Vietnamese)."""
    suffix = suffix or request.path.rsplit(".", 1)[-1]
    try:
        rendered = DOWNLOADS.render(kind, suffix, thing, excel=request.args.get("excel") != "0",
                                    locale=request.args.get("locale"))
    except UnknownFormat:
        raise NotFound(_("This page does not exist.")) from None
    code = request.args.get("unit") or request.args.get("parent") or ""
    unit = get_session().scalar(select(Unit).where(Unit.code == code)) if code else None
    audit.record("export.download", target=f"{kind}:{request.path.rsplit('/', 1)[-1]}",
                 unit_id=unit.id if unit is not None else scope_of().view_root,
                 details={"format": rendered.extension, "questionnaire": request.args.get("questionnaire", "")[:80],
                          "period": request.args.get("period", "")[:10]})
    get_session().commit()
    return _download(rendered, stem)


def _report() -> tuple[SipasReport, Unit, Service | None, Questionnaire]:
    """The SIPAS report of the unit, service and questionnaire chosen in the query string."""
    unit, service, questionnaire_id = _selection()
    questionnaire = _satisfaction_questionnaire(questionnaire_id)
    report = sipas_report(
        get_session(), questionnaire, unit, service, language=current_language(),
        confidence=current_app.config["CONFIDENCE_LEVEL"], min_n=current_app.config["MIN_PUBLISH_N"],
        period=_results_period(),
    )
    return report, unit, service, questionnaire


@bp.route("/results")
@staff_required
def results() -> Any:
    report, unit, service, questionnaire = _report()
    units, services, questionnaires = _choices()
    return render_template(
        "staff/results.html", report=report, unit=unit, service=service, questionnaire=questionnaire,
        units=units, old_units=_old_units(), services=services, questionnaires=questionnaires,
        period=_results_period(),
        current_unit=UnitMap(get_session()).is_current(unit),
    )


@staff_required
def results_file() -> Any:
    """The results table as the file the URL names (``results.csv``, ``results.xlsx``)."""
    report, unit, service, _questionnaire = _report()
    period = _results_period()
    what = service.code if service is not None else "all"
    return _file("table", report.table, f"sipas_{unit.code}_{what}{'_' + period if period else ''}")


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


def _todays_map() -> bool:
    """``map=then``: a quarter before July 2025 on the map it was published on; otherwise (and
    by default) on today's map."""
    chosen = request.args.get("map", "today")
    if chosen not in ("today", "then"):
        raise AppError(_("The map is today's or the one of the period."))
    return chosen == "today"


def _ranking() -> tuple[Ranking, Questionnaire, Service | None, UnitLevel | DeskLevel, list[UnitLevel]]:
    """The ranking chosen in the query string: questionnaire, service (empty: all), level (any
    that exists on the chosen map, or ``desk``: the one-stop desks under the parent), parent
    unit (default: the province), map, quarter."""
    session = get_session()
    questionnaire = _satisfaction_questionnaire(request.args.get("questionnaire", "sipas-kiosk"))
    service = _service_or_all()
    code = request.args.get("parent", "")
    parent = session.scalar(select(Unit).where(Unit.code == code)) if code else None
    if code and parent is None:
        raise NotFound(_("Choose a unit."))
    if parent is not None:
        require_unit_in_scope(parent)
    period, todays_map = _period(), _todays_map()
    if "period" not in request.args:  # by default the last complete quarter, not the one under way
        period = previous_quarter(quarter(utcnow()))
    unit_map = UnitMap(session)
    day = None
    if period is not None and not todays_map and unit_map.is_old_period(*quarter_days(period)):
        day = then_day(*quarter_days(period))
    else:
        todays_map = True
    top = parent or _top()
    levels = unit_map.levels(top, day=day, todays_map=todays_map)
    chosen = request.args.get("level", UnitLevel.COMMUNE.value)
    if chosen == DESKS.value:
        desks = desk_ranking(
            session, questionnaire, service=service, period=period, language=current_language(),
            confidence=current_app.config["CONFIDENCE_LEVEL"], min_n=current_app.config["MIN_PUBLISH_N"], parent=top)
        return desks, questionnaire, service, DESKS, levels
    level = next((lv for lv in levels if lv.value == chosen), None)
    if level is None:
        names = ", ".join(level_name(lv) for lv in levels)
        raise AppError(_("There are no units of this level on this map; rank by: %(levels)s.", levels=names))
    result = unit_ranking(
        session, questionnaire, level=level, service=service, period=period, language=current_language(),
        confidence=current_app.config["CONFIDENCE_LEVEL"], min_n=current_app.config["MIN_PUBLISH_N"],
        parent=top, todays_map=todays_map,
    )
    return result, questionnaire, service, level, levels


@bp.route("/ranking")
@staff_required
def ranking() -> Any:
    result, questionnaire, service, level, levels = _ranking()
    _units, services, questionnaires = _choices()
    return render_template(
        "staff/ranking.html", ranking=result, questionnaire=questionnaire, service=service, level=level,
        services=services, questionnaires=questionnaires, levels=levels, level_name=level_name,
        map_choice="today" if result.todays_map else "then",
        old_period=result.period is not None and UnitMap.is_old_period(*quarter_days(result.period)),
    )


@staff_required
def ranking_file() -> Any:
    """The ranking table as the file the URL names (``ranking.csv``, ``ranking.xlsx``)."""
    result, _questionnaire, service, level, _levels = _ranking()
    stem = f"xep-hang_{level.value}_{service.code if service else 'all'}_{result.period or 'none'}"
    return _file("table", result.table, stem)


def _unit_or_top() -> Unit:
    """The unit chosen in the query string, or the top of the tree (the province) when none is."""
    session = get_session()
    code = request.args.get("unit", "")
    # the top of the scope (of today's map) when none is chosen
    unit = session.scalar(select(Unit).where(Unit.code == code)) if code else _top()
    if unit is None:
        raise NotFound(_("Choose a unit."))
    require_unit_in_scope(unit)
    return unit


def _papi() -> tuple[PapiReport, Unit]:
    """The PAPI report of the unit and year chosen in the query string (default: the province,
    the latest year)."""
    session = get_session()
    unit = _unit_or_top()
    year = request.args.get("year", "").strip() or None
    if year is not None and not (year.isdigit() and len(year) == 4):
        raise AppError(_("A survey year has four digits, such as 2026."))
    chosen = request.args.get("level", "")
    compare = next((lv for lv in UnitLevel if lv.value == chosen), None)
    if chosen and compare is None:
        raise AppError(_("Unknown level."))
    report = papi_report(
        session, _questionnaire(PAPI_QUESTIONNAIRE), unit, year=year, language=current_language(),
        confidence=current_app.config["CONFIDENCE_LEVEL"], min_n=current_app.config["MIN_PUBLISH_N"],
        compare_level=compare, todays_map=_todays_map(),
    )
    return report, unit


@bp.route("/papi")
@staff_required
def papi() -> Any:
    report, unit = _papi()
    units, _services, _questionnaires = _choices()
    return render_template("staff/papi.html", report=report, unit=unit, units=units, old_units=_old_units(),
                           rank_replicates=RANK_REPLICATES, level_name=level_name)


@staff_required
def papi_file() -> Any:
    """A PAPI table as the file the URL names (``papi.csv``, ``papi.xlsx``)."""
    report, unit = _papi()
    if request.args.get("table") == "districts":
        what = report.compare_level.value if report.compare_level else "none"
        return _file("table", report.districts, f"papi_{what}_{report.year or 'none'}")
    if request.args.get("table") == "shares" and report.shares is not None:
        return _file("table", report.shares, f"papi_yes-no_{unit.code}_{report.year or 'none'}")
    return _file("table", report.table, f"papi_{unit.code}_{report.year or 'none'}")


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
    return render_template("staff/export.html", units=units, old_units=_old_units(), services=services,
                           questionnaires=questionnaires)


@bp.route("/export.<fmt>")
@staff_required
def export_file(fmt: str) -> Any:
    if fmt not in DOWNLOADS.suffixes("microdata"):
        raise NotFound(_("This page does not exist."))
    data, unit = _microdata()
    questionnaire_id = request.args.get("questionnaire", "sipas-kiosk")
    return _file("microdata", data, f"du-lieu_{questionnaire_id}_{unit.code}", fmt)


# One route per table format the registry offers (endpoints staff.results_csv, staff.results_xlsx, ...).
for _suffix in DOWNLOADS.suffixes("table"):
    bp.add_url_rule(f"/results.{_suffix}", f"results_{_suffix}", results_file)
    bp.add_url_rule(f"/ranking.{_suffix}", f"ranking_{_suffix}", ranking_file)
    bp.add_url_rule(f"/papi.{_suffix}", f"papi_{_suffix}", papi_file)
