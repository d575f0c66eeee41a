"""The PAPI page: a province's household survey beside the official PAPI 2011–2016 scores.

The survey's own figures (total, dimensions, sub-dimensions, each with its CI; the districts
ranked) come from the release snapshot. The benchmark comes from the official spreadsheet
(:mod:`survey.portal.papi_benchmark`) for the old provinces the province was made of. Dimensions
(1–10 each) can be set side by side; totals cannot, since PAPI had 6 dimensions until 2017 and
8 since 2018 — the page says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey.i18n import current_language
from survey.portal import charts, figures, formatting, papi_benchmark
from survey.portal.charts import Chart, Column
from survey.portal.published import Published

SCORE_COLUMNS = (Column("label", _l("Measure")), Column("estimate", _l("Score"), "score"),
                 Column("ci_low", _l("Lower limit"), "score"), Column("ci_high", _l("Upper limit"), "score"),
                 Column("n", _l("Answers"), "count"))
DISTRICT_COLUMNS = tuple(Column(c.key, c.label, "score") if c.kind == "share" else c for c in figures.RANKING_COLUMNS)
BENCHMARK_COLUMNS = (Column("dimension", _l("Dimension")), Column("source", _l("Source")),
                     Column("year", _l("Year"), "year"), Column("estimate", _l("Score"), "score"),
                     Column("ci_low", _l("Lower limit"), "score"), Column("ci_high", _l("Upper limit"), "score"))


def _label(row: Mapping[str, Any]) -> str:
    language = current_language()
    return str(row.get(f"label_{language}") or row.get("label_vi") or row.get("key") or "")


def _score(row: Mapping[str, Any], label: str | None = None, depth: int = 0) -> dict[str, Any]:
    gone = bool(row.get("suppressed")) or row.get("estimate") is None
    return {"key": row.get("key"), "label": label or _label(row), "depth": depth,
            "estimate": None if gone else row.get("estimate"), "ci_low": None if gone else row.get("ci_low"),
            "ci_high": None if gone else row.get("ci_high"), "n": row.get("n"), "suppressed": gone,
            "change": row.get("change"), "significant": row.get("significant"), "emphasis": depth == 0}


def score_rows(papi: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Total, then each dimension followed by its sub-dimensions."""
    rows = [_score(papi.get("total") or {}, _("PAPI total"))]
    for dimension in papi.get("dimensions") or []:
        rows.append(_score(dimension, depth=1))
        rows.extend(_score(sub, depth=2) for sub in dimension.get("sub") or [])
    return rows


def dimensions_chart(pub: Published) -> Chart | None:
    papi = pub.papi()
    if papi is None:
        return None
    rows = [r for r in score_rows(papi) if r["depth"] == 1]
    shown = [{**r, "emphasis": False} for r in rows if not r["suppressed"]]
    description = "; ".join(
        f"{r['label']}: {formatting.number(r['estimate'], 2) if not r['suppressed'] else figures.SUPPRESSED}"
        + (f" ({formatting.interval(r['ci_low'], r['ci_high'], share=False, decimals=2)})" if not r["suppressed"] else "")
        for r in rows)
    spec = charts.index_spec(shown, _("Score (1–10) with its %(level)s%% confidence interval", level=figures.confidence(pub)), share=False, domain=(1.0, 10.0))
    return Chart("dimensions", _("PAPI dimensions"), description, SCORE_COLUMNS, tuple(rows), spec, current_language())


def benchmark_rows(pub: Published) -> list[dict[str, Any]]:
    """Per dimension: the official score of each old province by year, then the survey's own."""
    papi = pub.papi()
    if papi is None:
        return []
    language = current_language()
    names: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for s in papi_benchmark.province_scores(pub.scope, levels=("dimension",)):
        names.setdefault(s.dimension, s.name_vi if language == "vi" else s.name_en)
        source = _("%(province)s (official PAPI)", province=s.province_vi if language == "vi" else s.province_en)
        rows.append({"dimension_key": s.dimension, "source": source, "year": s.year, "estimate": s.score,
                     "ci_low": None, "ci_high": None})
    own = _("%(province)s (this survey)", province=pub.unit_name(pub.scope))
    for dimension in papi.get("dimensions") or []:
        key = str(dimension.get("key") or "")
        if key in papi_benchmark.DIMENSIONS and not dimension.get("suppressed") and dimension.get("estimate") is not None:
            rows.append({"dimension_key": key, "source": own, "year": int(papi.get("year") or 0),
                         "estimate": dimension["estimate"], "ci_low": dimension.get("ci_low"),
                         "ci_high": dimension.get("ci_high")})
            names.setdefault(key, _label(dimension))
    for row in rows:
        row["dimension"] = f"{row['dimension_key'].upper()} {names.get(row['dimension_key'], '')}".strip()
    return sorted(rows, key=lambda r: (r["dimension_key"], r["source"], r["year"]))


def benchmark_chart(pub: Published) -> Chart | None:
    rows = benchmark_rows(pub)
    if not rows:
        return None
    description = _("For each of the six dimensions PAPI had until 2017: the official scores of %(provinces)s from "
                    "2011 to 2016, and this survey's score with its %(level)s%% confidence interval.",
                    level=figures.confidence(pub), provinces=", ".join(sorted({r["source"] for r in rows})))
    spec = charts.papi_benchmark_spec(rows, _("Score (1–10)"), _("Source"))
    return Chart("benchmark", _("This survey beside the official PAPI scores 2011–2016"), description,
                 BENCHMARK_COLUMNS, tuple(rows), spec, current_language())


def official_table(pub: Published) -> list[dict[str, Any]]:
    """Rows of the official table: per old province and year, the six dimensions and the total,
    with the total's rank among the provinces and the median of each measure."""
    language = current_language()
    ranks = papi_benchmark.ranks()
    medians = papi_benchmark.medians()
    table: dict[tuple[str, int], dict[str, Any]] = {}
    for s in papi_benchmark.province_scores(pub.scope):
        row = table.setdefault((s.province_code, s.year), {
            "province": s.province_vi if language == "vi" else s.province_en, "year": s.year, "scores": {},
            "medians": {}, "rank": ranks.get((s.year, "total", s.province_code))})
        row["scores"][s.measure_id] = s.score
        row["medians"][s.measure_id] = medians.get((s.year, s.measure_id))
    return sorted(table.values(), key=lambda r: (r["province"], r["year"]))


def compared_chart(pub: Published) -> Chart | None:
    """The units below the province (communes today, districts before July 2025) ranked on the
    PAPI total, with rank intervals and groups, where the survey compared them."""
    papi = pub.papi() or {}
    compared = papi.get("compared") or []
    if not compared:
        return None
    level = str(papi.get("compared_level") or "commune")
    rows = figures.ranking_rows(pub, {"level": level, "rows": compared})
    shown = [r for r in rows if not r["suppressed"]]
    spec = charts.ranking_spec(shown, _("PAPI total (%(level)s%% confidence interval)", level=figures.confidence(pub)),
                               _("Rank (%(level)s%% rank interval)", level=figures.RANK_LEVEL), _("Group"), None,
                               share=False)
    title = _("%(units)s ranked on the PAPI total, with %(level)s%% rank intervals",
              units=figures.LEVEL_NAMES.get(level, level), level=figures.RANK_LEVEL)
    return Chart("compared", title,
                 _("%(count)s units ranked. Units whose rank intervals overlap are not significantly different.",
                   count=len(shown)), DISTRICT_COLUMNS, tuple(rows), spec, current_language(), drawn=bool(shown))


def context(pub: Published) -> dict[str, Any] | None:
    papi = pub.papi()
    if papi is None:
        return None
    return {"papi": papi, "rows": score_rows(papi), "dimensions": dimensions_chart(pub),
            "benchmark": benchmark_chart(pub), "official": official_table(pub),
            "measures": ("d1", "d2", "d3", "d4", "d5", "d6", "total"), "compared": compared_chart(pub)}


BUILDERS: dict[str, Callable[[Published], Chart | None]] = {
    "dimensions": dimensions_chart,
    "benchmark": benchmark_chart,
    "compared": compared_chart,
}
