"""Staff page: the official PAPI scores 2011–2016 on today's 34 provinces (issue 9 point 3).

The 63 old provinces' scores stay as published; a province of today made of several of them
gets an inferred figure — the unweighted mean and the range of their scores, each old score
shown beside it (:mod:`survey.reports.papi_merged` says why no weighting). ``/staff/papi-benchmark``
shows one province of today year by year (default: the province of the account's viewing scope,
else Cà Mau) and all 34 for one year and measure (official public figures). An account scoped
below the whole tree may choose only its own province (another is 404).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from survey.auth import scope_of, scope_top, staff_required
from survey.errors import NotFound
from survey.i18n import current_language
from survey.portal import formatting, papi_benchmark
from survey.reports.papi_merged import MEASURES, on_todays_provinces, spread_rank
from survey.store.models import Unit, UnitLevel
from survey.text import sort_key

bp = Blueprint("papi34", __name__, url_prefix="/staff/papi-benchmark")


def province_names() -> dict[str, str]:
    """Today's 34 provinces, GSO code (no leading zero, as in the PAPI sheet) → name, from the
    official list shipped with Hài Lòng."""
    from survey.admin.official import official_list

    return {str(code): name for code, name, *_rest in official_list()["provinces"]}


def measure_names() -> dict[str, str]:
    language = current_language()
    names = {"total": _("PAPI total (sum of the six dimensions)")}
    for s in papi_benchmark.scores():
        if s.year == 2016 and s.level == "dimension" and s.measure_id not in names:
            names[s.measure_id] = s.name_en if language == "en" else s.name_vi
    return names


def _scope_province() -> Unit | None:
    """The province of today's map that holds the signed-in account's viewing scope (None: the
    account sees the whole tree)."""
    unit = scope_top()
    while unit is not None and unit.level != UnitLevel.PROVINCE:
        unit = unit.parent
    return unit


def _province_code(unit: Unit | None, names: dict[str, str]) -> str | None:
    if unit is not None and unit.official_code and str(int(unit.official_code)) in names:
        return str(int(unit.official_code))
    return None


def _users_province(names: dict[str, str]) -> str:
    return _province_code(_scope_province(), names) or "96"


@bp.route("/")
@staff_required
def index() -> Any:
    names = province_names()
    figures = on_todays_provinces(papi_benchmark.scores(), papi_benchmark.MERGED_FROM)
    chosen = request.args.get("province", "").strip().lstrip("0") or _users_province(names)
    if not scope_of().all_units and chosen != _users_province(names):
        # an account scoped to a commune or a province works on its own province only (issue 11 point 1)
        raise NotFound(_("This page does not exist."))
    status = 200
    problem = None
    if chosen not in figures:
        problem = _("There is no province of today with the code %(code)s: choose one from the list.", code=chosen)
        chosen, status = _users_province(names), 422
    years = sorted({year for year, _m in figures[chosen]})
    year_text = request.args.get("year", "")
    year = int(year_text) if year_text.isdigit() and int(year_text) in years else years[-1]
    measure = request.args.get("measure", "total")
    if measure not in MEASURES:
        measure = "total"
    every = {code: f[(year, measure)] for code, f in figures.items()}
    ranks = spread_rank(every)
    order = sorted(every, key=lambda c: (-(every[c].mean or -1.0), sort_key(names.get(c) or c)))
    provinces = sorted(names.items(), key=lambda item: sort_key(item[1]))
    return render_template(
        "staff/papi_benchmark.html", names=names, provinces=provinces, chosen=chosen, figures=figures[chosen],
        years=years, year=year, measure=measure, measures=MEASURES, measure_names=measure_names(), every=every,
        order=order, ranks=ranks, problem=problem, number=lambda v: formatting.number(v, 2),
    ), status
