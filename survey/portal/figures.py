"""The charts of a portal page, built from a release snapshot.

Each builder takes a :class:`~survey.portal.published.Published` snapshot and what the page shows
(questionnaire, unit, service) and returns a :class:`~survey.portal.charts.Chart` — its Vega-Lite
spec, its text alternative and its data table — or ``None`` when there is nothing to draw.
:data:`BUILDERS` names them for the download routes (``…/charts/<name>.svg|csv|json``).

Suppressed cells (too few answers) are left out of the drawing, kept in the table with the
suppression text, and kept in the CSV/JSON with empty numbers and ``suppressed = true``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey.i18n import current_language
from survey.portal import charts, formatting
from survey.portal.charts import Chart, Column
from survey.portal.published import Published, Row, is_suppressed

SUPPRESSED = _l("not enough answers to publish")
LEVEL_NAMES = {
    "commune": _l("Communes and wards"),
    "district": _l("Districts (before July 2025)"),
    "department": _l("Departments"),
    "desk": _l("One-stop desks"),
}
LEVEL_LABELS = [_l("Very dissatisfied"), _l("Dissatisfied"), _l("Neutral"), _l("Satisfied"), _l("Very satisfied")]


def group_label(group: int | None) -> str:
    return _("Group %(number)s", number=group) if group is not None else str(SUPPRESSED)


def _label(row: Mapping[str, Any], key: str = "label") -> str:
    language = current_language()
    return str(row.get(f"{key}_{language}") or row.get(f"{key}_vi") or row.get(key) or row.get("key") or "")


def _ci(row: Mapping[str, Any] | None) -> dict[str, Any]:
    row = row or {}
    return {"estimate": row.get("estimate"), "ci_low": row.get("ci_low"), "ci_high": row.get("ci_high")}


RANK_LEVEL = 95  # the rank intervals are 95% bootstrap intervals


def confidence(pub: Published) -> int:
    """The release's confidence level in percent (95)."""
    return round(float(pub.release.get("confidence_level") or 0.95) * 100)


def _about(estimate: float | None, ci_low: float | None, ci_high: float | None, share: bool = True,
           level: int = 95) -> str:
    if estimate is None:
        return str(SUPPRESSED)
    if share:
        value, ci = formatting.percent(estimate), formatting.interval(ci_low, ci_high)
    else:
        value, ci = formatting.number(estimate, 2), formatting.interval(ci_low, ci_high, share=False, decimals=2)
    return _("%(value)s (%(level)s%% confidence interval %(ci)s)", value=value, ci=ci, level=level)


# -- one unit × service --------------------------------------------------------------------

INDEX_COLUMNS = (Column("label", _l("Measure")), Column("estimate", _l("Index"), "share"),
                 Column("ci_low", _l("Lower limit"), "share"), Column("ci_high", _l("Upper limit"), "share"),
                 Column("n", _l("Answers"), "count"))


def elements_chart(pub: Published, questionnaire: str, unit: str, service: str | None = None) -> Chart | None:
    """The overall index and the five SIPAS elements, each with its 95% CI."""
    index = pub.index(questionnaire, unit, service)
    if index is None:
        return None
    suppressed = is_suppressed(index)
    rows: list[dict[str, Any]] = [{
        "key": "overall", "label": _("Overall index"), **_ci(None if suppressed else index.get("overall")),
        "n": index.get("n"), "suppressed": suppressed, "emphasis": True}]
    for element in index.get("elements") or []:
        gone = suppressed or element.get("estimate") is None
        rows.append({"key": element.get("key"), "label": _label(element), **_ci(None if gone else element),
                     "n": element.get("n"), "suppressed": gone, "emphasis": False})
    drawn = [r for r in rows if not r["suppressed"]]
    if drawn:
        best = max(drawn[1:] or drawn, key=lambda r: r["estimate"])
        worst = min(drawn[1:] or drawn, key=lambda r: r["estimate"])
        description = _("%(unit)s, %(period)s. Overall index %(overall)s. Highest element: %(best)s, %(best_value)s; "
                        "lowest: %(worst)s, %(worst_value)s.", unit=pub.unit_name(unit), period=period(pub),
                        overall=_about(**_ci(rows[0]), level=confidence(pub)) if not rows[0]["suppressed"] else SUPPRESSED,
                        best=best["label"], best_value=formatting.percent(best["estimate"]),
                        worst=worst["label"], worst_value=formatting.percent(worst["estimate"]))
    else:
        description = _("%(unit)s, %(period)s: %(suppressed)s.", unit=pub.unit_name(unit), period=period(pub),
                        suppressed=SUPPRESSED)
    spec = charts.index_spec(drawn, _("Satisfaction index with its %(level)s%% confidence interval",
                                      level=confidence(pub)))
    return Chart("elements", _("Satisfaction index and its five elements"), description, INDEX_COLUMNS,
                 tuple(rows), spec, current_language(), drawn=bool(drawn))


DISTRIBUTION_COLUMNS = (Column("level", _l("Level"), "count"), Column("level_label", _l("Answer")),
                        Column("count", _l("Answers"), "count"), Column("share", _l("Share"), "share"))


def distribution_chart(pub: Published, questionnaire: str, unit: str, service: str | None = None) -> Chart | None:
    """How many answers were given at each of the five levels (all criteria together)."""
    index = pub.index(questionnaire, unit, service)
    if index is None or not index.get("distribution"):
        return None
    suppressed = is_suppressed(index)
    levels = sorted(index["distribution"], key=lambda d: int(d.get("level") or 0))
    total = sum(int(d.get("count") or 0) for d in levels) if not suppressed else 0
    labels = [_label(d) or (str(LEVEL_LABELS[int(d["level"]) - 1]) if 1 <= int(d["level"]) <= 5 else str(d["level"]))
              for d in levels]
    rows: list[dict[str, Any]] = []
    for d, label in zip(levels, labels, strict=True):
        count = None if suppressed else int(d.get("count") or 0)
        rows.append({"level": int(d["level"]), "level_label": label, "count": count,
                     "share": (count / total) if count is not None and total else None, "suppressed": suppressed,
                     "group": pub.service_name(service, current_language()) if service else _("All services")})
    if suppressed:
        description = _("%(unit)s: %(suppressed)s.", unit=pub.unit_name(unit), suppressed=SUPPRESSED)
    else:
        parts = "; ".join(f"{r['level_label']}: {formatting.count(r['count'])} ({formatting.percent(r['share'])})"
                          for r in rows)
        description = _("Answers at each level, %(total)s in all: %(parts)s.", total=formatting.count(total), parts=parts)
    spec = charts.distribution_spec([r for r in rows if r["count"]], _("Share of the answers"), _("Answer"), labels)
    return Chart("distribution", _("All answers by level of satisfaction"), description, DISTRIBUTION_COLUMNS,
                 tuple(rows), spec, current_language(), drawn=not suppressed and total > 0)


TREND_COLUMNS = (Column("period_label", _l("Period")), Column("estimate", _l("Index"), "share"),
                 Column("ci_low", _l("Lower limit"), "share"), Column("ci_high", _l("Upper limit"), "share"),
                 Column("n", _l("Answers"), "count"))


def trend_chart(pub: Published, questionnaire: str, unit: str, service: str | None = None) -> Chart | None:
    """The overall index over the published periods, with its CI as a band."""
    points = pub.trend(questionnaire, unit, service)
    if not points:
        return None
    rows = []
    for p in points:
        gone = bool(p.get("suppressed")) or p.get("estimate") is None
        rows.append({"period": p.get("period"), "period_label": formatting.period_label(str(p.get("period") or "")),
                     "label": formatting.period_label(str(p.get("period") or "")), **_ci(None if gone else p),
                     "n": p.get("n"), "suppressed": gone})
    shown = [r for r in rows if not r["suppressed"]]
    description = "; ".join(f"{r['period_label']}: {_about(r['estimate'], r['ci_low'], r['ci_high'], level=confidence(pub))}" for r in rows)
    spec = charts.trend_spec(shown, _("Overall index"))
    return Chart("trend", _("Overall index over the published periods"),
                 _("%(unit)s. %(points)s.", unit=pub.unit_name(unit), points=description), TREND_COLUMNS,
                 tuple(rows), spec, current_language(), drawn=bool(shown))


# -- the units below ---------------------------------------------------------------------

RANKING_COLUMNS = (Column("rank", _l("Rank"), "count"), Column("label", _l("Unit")),
                   Column("estimate", _l("Index"), "share"), Column("ci_low", _l("Lower limit"), "share"),
                   Column("ci_high", _l("Upper limit"), "share"),
                   Column("rank_low", _l("Rank interval from"), "count"),
                   Column("rank_high", _l("Rank interval to"), "count"), Column("group_text", _l("Group")),
                   Column("n", _l("Answers"), "count"))


def ranking_rows(pub: Published, ranking: Row) -> list[dict[str, Any]]:
    rows = []
    for r in ranking.get("rows") or []:
        gone = bool(r.get("suppressed")) or r.get("estimate") is None
        name = r.get("name") or pub.unit_name(str(r.get("unit")))  # a desk's row names it
        rows.append({"unit": r.get("unit"), "label": name, "short": name, **_ci(None if gone else r),
                     "rank": None if gone else r.get("rank"), "rank_low": None if gone else r.get("rank_low"),
                     "rank_high": None if gone else r.get("rank_high"),
                     "group": None if gone else r.get("group"),
                     "group_label": group_label(None if gone else r.get("group")),
                     "group_text": "—" if gone or r.get("group") is None else group_label(r.get("group")),
                     "n": r.get("n"), "suppressed": gone})
    ranked = sorted((r for r in rows if not r["suppressed"]), key=lambda r: (r["rank"] or 0))
    return ranked + [r for r in rows if r["suppressed"]]


def ranking_chart(pub: Published, ranking: Row) -> Chart:
    """The units ranked: dot and CI on the index, and the 95% rank interval, coloured by nhóm."""
    rows = ranking_rows(pub, ranking)
    ranked = [r for r in rows if not r["suppressed"]]
    level = str(ranking.get("level") or "")
    best = ranking.get("best") or {}
    description = _("%(count)s units ranked on the overall index. Best: %(best)s, %(best_value)s. Median %(median)s. "
                    "Units whose rank intervals overlap are not significantly different.",
                    count=len(ranked), best=pub.unit_name(str(best.get("unit") or "")),
                    best_value=formatting.percent(best.get("estimate")), median=formatting.percent(ranking.get("median")))
    if len(rows) > len(ranked):
        description += " " + _("%(count)s units: %(suppressed)s.", count=len(rows) - len(ranked), suppressed=SUPPRESSED)
    spec = charts.ranking_spec(ranked, _("Overall index (%(level)s%% confidence interval)", level=confidence(pub)),
                               _("Rank (%(level)s%% rank interval)", level=RANK_LEVEL), _("Group"), ranking.get("median"))
    title = _("%(units)s ranked, with %(level)s%% rank intervals", units=LEVEL_NAMES.get(level, level), level=RANK_LEVEL)
    return Chart(f"ranking-{level}", title, description, RANKING_COLUMNS, tuple(rows), spec, current_language(),
                 drawn=bool(ranked))


TILE_COLUMNS = (Column("label", _l("Unit")), Column("group_label", _l("Group")), Column("estimate", _l("Index"), "share"))


def tiles_chart(pub: Published, ranking: Row) -> Chart:
    """A tile map: one square per unit, in alphabetical order, coloured by its nhóm."""
    from survey.text import sort_key

    rows = sorted(ranking_rows(pub, ranking), key=lambda r: sort_key(r["label"]))
    level = str(ranking.get("level") or "")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["group_label"]] = counts.get(r["group_label"], 0) + 1
    description = _("One tile per unit in alphabetical order, coloured by group: %(counts)s.",
                    counts="; ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    spec = charts.tile_spec(rows, _("Group"))
    return Chart(f"map-{level}", _("Map of the groups (one tile per unit)"), description, TILE_COLUMNS, tuple(rows),
                 spec, current_language())


MAP_COLUMNS = (Column("label", _l("Unit")), Column("estimate", _l("Index"), "share"),
               Column("ci_low", _l("Lower limit"), "share"), Column("ci_high", _l("Upper limit"), "share"),
               Column("group_text", _l("Group")), Column("n", _l("Answers"), "count"),
               Column("on_map", _l("On the map")))


def boundaries(pub: Published) -> dict[str, Mapping[str, Any]]:
    """The boundary of each unit the release drew on its map (from its snapshot), by unit code."""
    section = pub.snapshot.get("boundaries") or {}
    return {str(f["properties"]["unit"]): f["geometry"] for f in section.get("features") or []
            if f.get("geometry") and (f.get("properties") or {}).get("unit")}


def boundary_map_chart(pub: Published, ranking: Row) -> Chart | None:
    """The units on the province's uploaded boundaries, coloured by their overall index (None
    when the release carries no boundaries for these units: the tile map is drawn instead)."""
    from survey.text import sort_key

    shapes = boundaries(pub)
    rows = sorted(ranking_rows(pub, ranking), key=lambda r: sort_key(r["label"]))
    drawn = [r for r in rows if r["unit"] in shapes]
    if not drawn:
        return None
    level = str(ranking.get("level") or "")
    features = [{"type": "Feature", "geometry": shapes[r["unit"]],
                 "properties": {"unit": r["unit"], "label": r["label"], "estimate": r["estimate"],
                                "status": str(SUPPRESSED)}} for r in drawn]
    table = [{**r, "on_map": _("yes") if r["unit"] in shapes else _("no boundary uploaded")} for r in rows]
    ranked = [r for r in drawn if not r["suppressed"]]
    parts = []
    if ranked:
        best = max(ranked, key=lambda r: r["estimate"])
        worst = min(ranked, key=lambda r: r["estimate"])
        parts.append(_("Darker is lower, yellow is higher. Highest: %(best)s, %(best_value)s; lowest: %(worst)s, "
                       "%(worst_value)s.", best=best["label"], best_value=formatting.percent(best["estimate"]),
                       worst=worst["label"], worst_value=formatting.percent(worst["estimate"])))
    hidden = len(drawn) - len(ranked)
    if hidden:
        parts.append(_("%(count)s units hatched grey: %(suppressed)s.", count=hidden, suppressed=SUPPRESSED))
    if len(rows) > len(drawn):
        parts.append(_("%(count)s units have no boundary on the map; the table lists them.",
                       count=len(rows) - len(drawn)))
    description = _("Map of %(units)s coloured by the overall index.", units=LEVEL_NAMES.get(level, level)) + " " + \
        " ".join(parts)
    spec = charts.choropleth_spec(features, _("Overall index"), str(SUPPRESSED))
    return Chart(f"map-{level}", _("Map of the overall index"), description, MAP_COLUMNS, tuple(table), spec,
                 current_language(), drawn=True)


def map_chart(pub: Published, ranking: Row) -> Chart:
    """The boundary map where the release carries the province's boundaries, else the tile map."""
    return boundary_map_chart(pub, ranking) or tiles_chart(pub, ranking)


tile_chart = map_chart  # the pages' name for the map of the units: boundaries where uploaded, else tiles


def period(pub: Published) -> str:
    period_info = pub.release.get("period") or {}
    return str(period_info.get(f"label_{current_language()}") or formatting.period_label(str(period_info.get("code") or "")))


Builder = Callable[[Published, str, str, str | None], Chart | None]


def _ranking_builder(level: str, tiles: bool = False) -> Builder:
    def build(pub: Published, questionnaire: str, unit: str, service: str | None = None) -> Chart | None:
        for ranking in pub.rankings_below(questionnaire, unit, service):
            if ranking.get("level") == level:
                return map_chart(pub, ranking) if tiles else ranking_chart(pub, ranking)
        return None
    return build


BUILDERS: dict[str, Builder] = {
    "elements": elements_chart,
    "distribution": distribution_chart,
    "trend": trend_chart,
    **{f"ranking-{level}": _ranking_builder(level) for level in LEVEL_NAMES},
    **{f"map-{level}": _ranking_builder(level, tiles=True) for level in LEVEL_NAMES},
}
