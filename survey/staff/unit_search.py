"""The server side of the searchable unit picker (issue 9 point 6): after a whole-country import
(~14,000 units) no form lists every unit; the picker asks ``/staff/units/search?q=…`` for the
units whose name has the typed words whatever the tone marks ("thoi binh" finds "Thới Bình"),
limited to the signed-in user's viewing scope (``survey.auth.scope_of``: their unit and what is
under it; an admin, or an account without a viewing unit: the whole country) and to the levels the form takes (``levels=commune,hamlet``).
Staff and admins use it (the admin area's forms call it too)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from survey.auth import staff_required
from survey.errors import TooManyRequests
from survey.i18n import current_language
from survey.ratelimit import limiter
from survey.store.db import get_session
from survey.store.models import Unit, UnitLevel
from survey.store.units import UnitMap, kind_label, search_units

bp = Blueprint("unit_search", __name__, url_prefix="/staff/units")
LIMIT = 20


def user_scope() -> int | None:
    """The id of the unit whose area the signed-in user views (None: everywhere): the top of
    :func:`survey.auth.scope_of`'s viewing scope (issue 11)."""
    from survey.auth import scope_of

    return scope_of().view_root if current_user.is_authenticated else None


@bp.route("/search")
@staff_required
def search() -> Any:
    from flask_babel import gettext as _

    if not limiter.allow(f"unit-search:{current_user.id}", 120):
        raise TooManyRequests(_("Too many searches: wait a minute and try again."))
    query = (request.args.get("q") or "")[:100]
    levels = []
    for name in (request.args.get("levels") or "").split(","):
        try:
            levels.append(UnitLevel(name.strip()))
        except ValueError:
            continue
    scope = user_scope()
    within = scope
    code = (request.args.get("within") or "").strip()
    if code:
        session = get_session()
        unit = session.scalar(select(Unit).where(Unit.code == code))
        if unit is not None:
            within = unit.id
            if scope is not None and within != scope:
                unit_map = UnitMap(session)
                if within not in set(unit_map.tree(unit_map.now).subtree(scope)):
                    within = scope  # outside the user's area: their own area instead
    history = request.args.get("history") == "1" or before_reform(request.args.get("period") or "")
    found = search_units(get_session(), query, within=within, levels=levels or None, limit=LIMIT + 1,
                         history=history)
    language = current_language()
    return jsonify({
        "query": query,
        "history": history,
        "results": [{"code": f.code, "name": f.name, "label": f.label(), "kind": kind_label(f.kind, language),
                     "parent": f.parent, "historical": f.historical,
                     "note": historical_note(f.valid_to) if f.valid_to is not None else ""}
                    for f in found[:LIMIT]],
        "more": len(found) > LIMIT,
    })


def before_reform(period: str) -> bool:
    """Does the page's period (``2024-Q1``, ``2024``) begin before 1 July 2025? Anything else: no."""
    import re

    from survey.store.units import REFORM_DAY, quarter_days, year_days

    period = period.strip()
    if re.fullmatch(r"\d{4}-Q[1-4]", period):
        return quarter_days(period)[0] < REFORM_DAY
    if re.fullmatch(r"\d{4}", period):
        return year_days(period)[0] < REFORM_DAY
    return False


def historical_note(valid_to: date) -> str:
    """How a historical unit is marked in the list: "trước 1/7/2025" for the old map."""
    from flask_babel import gettext as _

    from survey.store.units import LAST_OLD_DAY

    if valid_to == LAST_OLD_DAY:
        return _("before 1/7/2025")
    return _("until %(day)s", day=f"{valid_to.day}/{valid_to.month}/{valid_to.year}")
