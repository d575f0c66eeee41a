"""The PDF report of a published release, rendered with WeasyPrint.

Cover, summary, charts (the portal's own server-side SVG charts, :mod:`survey.portal.figures`),
tables with confidence intervals, the ranking with 95% rank intervals and nhóm 1–4, the
Decision 766 figures beside the survey estimate, the methodology note and the changelog — in
Vietnamese by default, in English on request (``language="en"``). Every number is read from the
release snapshot and written by :mod:`survey.portal.formatting` (decimal comma in Vietnamese).

The fonts are vendored (Noto Sans, SIL Open Font Licence 1.1, ``survey/static/fonts/``) so the
Vietnamese letters render the same on every server; WeasyPrint embeds only the glyphs used.
WeasyPrint needs the Pango library (Debian ``libpango-1.0-0``, ``libpangoft2-1.0-0``).
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from survey.errors import AppError
from survey.portal import admin_index, figures, formatting
from survey.portal.published import Published
from survey.portal.snapshot import content_hash

Snapshot = Mapping[str, Any]
FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
LANGUAGES = ("vi", "en")

_CSS = """
@font-face { font-family: "Noto Sans"; src: url("%(fonts)s/NotoSans-Regular.ttf"); }
@font-face { font-family: "Noto Sans"; font-weight: bold; src: url("%(fonts)s/NotoSans-Bold.ttf"); }
@page { size: A4; margin: 18mm 16mm 20mm;
  @top-right { content: "%(running)s"; font: 8pt "Noto Sans"; color: #555; }
  @bottom-center { content: "%(page)s " counter(page) " / " counter(pages); font: 8pt "Noto Sans"; color: #555; } }
@page :first { @top-right { content: none; } }
html { font-family: "Noto Sans"; font-size: 10pt; color: #1a1a1a; line-height: 1.4; }
h1 { font-size: 24pt; margin: 0 0 6mm; } h2 { font-size: 15pt; margin: 8mm 0 3mm; border-bottom: 1px solid #0b4f6c; color: #0b4f6c; }
h3 { font-size: 11pt; margin: 5mm 0 2mm; }
section { break-inside: auto; } .cover { page: cover; break-after: page; padding-top: 40mm; }
.cover .brand { font-weight: bold; color: #0b4f6c; font-size: 14pt; }
.cover .scope { font-size: 18pt; font-weight: bold; margin: 0; } .cover .period { font-size: 16pt; margin: 0 0 10mm; }
dl.facts { display: grid; } dl.facts dt { font-weight: bold; float: left; width: 45mm; clear: left; } dl.facts dd { margin: 0 0 1mm 47mm; }
.withdrawn { border: 2px solid #b00020; color: #b00020; padding: 3mm; margin-top: 10mm; }
.headline { font-size: 13pt; } .summary { margin-bottom: 4mm; }
table { border-collapse: collapse; width: 100%%; margin: 2mm 0 4mm; font-size: 8.5pt; }
th, td { border-bottom: 1px solid #ccc; padding: 1.2mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #eef3f6; } td.num, th.num { text-align: right; white-space: nowrap; }
td.suppressed { color: #444; }
tr { break-inside: avoid; } thead { display: table-header-group; }
figure.chart { margin: 3mm 0 6mm; break-inside: avoid; } figure.chart svg { max-width: 100%%; height: auto; }
figcaption { font-weight: bold; margin-bottom: 1mm; }
"""


def _chart(chart: Any) -> dict[str, str]:
    """A portal chart for the report: its SVG as an image, its text alternative beside it."""
    svg = chart.svg().encode("utf-8")
    return {"title": chart.title, "description": chart.description,
            "data_uri": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")}


def _model_note(ranking: Mapping[str, Any], language: str) -> str:
    """What the modelled estimates of a ranking are (empty when it has none)."""
    model = ranking.get("model")
    if not model:
        return ""
    label = model.get("label_en") if language == "en" else model.get("label_vi")
    used = ", ".join(str(c.get("label_en") if language == "en" else c.get("label_vi")) for c in model.get("covariates") or [])
    return _("Modelled estimate: %(label)s, on %(covariates)s; it stands beside the direct index and, for a unit "
             "with too few answers, instead of it. See the methodology note (small-area estimates).",
             label=label, covariates=used or _("no covariate (the mean of the units)"))


def _ci(values: Mapping[str, Any] | None, share: bool = True) -> str:
    if not values:
        return "—"
    return formatting.interval(values.get("ci_low"), values.get("ci_high"), share=share,
                            decimals=1 if share else 2) or "—"


def _context(snapshot: Snapshot, language: str) -> dict[str, Any]:
    pub = Published(snapshot)
    release = snapshot["release"]
    scope = release["scope"]["code"]
    suppressed = str(figures.SUPPRESSED)
    confidence = formatting.number(release.get("confidence_level", 0.95) * 100, 0) + "%"
    summary, charts, element_blocks = [], [], []
    for questionnaire in release["questionnaires"]:
        index = pub.index(questionnaire, scope, None)
        if index is None:
            continue
        overall = index.get("overall") or {}
        item: dict[str, Any] = {"questionnaire": pub.questionnaire_title(questionnaire, language),
                                "suppressed": index["suppressed"], "n": formatting.count(index["n"]),
                                "estimate": suppressed if index["suppressed"] else formatting.percent(overall.get("estimate"))}
        if not index["suppressed"]:
            item["ci"] = _ci(overall)
            par = index.get("par_points")
            item["par"] = formatting.number(par["estimate"], 2) if par and par.get("estimate") is not None else ""
            change = index.get("change")
            if change and change.get("delta") is not None:
                item["change"] = _("Change since %(period)s: %(delta)s percentage points (%(significance)s).",
                                   period=formatting.period_label(change["previous_period"]),
                                   delta=formatting.signed_points(change["delta"]),
                                   significance=_("significant") if change.get("significant") else _("not significant"))
            target = index.get("target")
            if target and target.get("value") is not None:
                item["target"] = _("Goal for %(year)s: %(value)s (%(state)s).", year=target["year"],
                                   value=formatting.percent(target["value"]),
                                   state=_("reached") if target.get("reached") else
                                   _("%(gap)s percentage points to go", gap=formatting.number((target.get("gap") or 0) * 100)))
        for ranking in pub.rankings_below(questionnaire, scope, None):
            best = ranking.get("best")
            if best and best.get("unit"):
                item["best"] = _("Highest: %(unit)s (%(value)s); median: %(median)s.", unit=pub.unit_name(best["unit"]),
                                 value=formatting.percent(best.get("estimate")), median=formatting.percent(ranking.get("median")))
                break
        summary.append(item)
        for builder in (figures.elements_chart, figures.trend_chart, figures.distribution_chart):
            chart = builder(pub, questionnaire, scope, None)
            if chart is not None and not chart.empty:
                charts.append(_chart(chart))
        for ranking in pub.rankings_below(questionnaire, scope, None):
            chart = figures.ranking_chart(pub, ranking)
            if not chart.empty:
                charts.append(_chart(chart))
            drawn = figures.boundary_map_chart(pub, ranking)  # the map, where boundaries were uploaded
            if drawn is not None:
                charts.append(_chart(drawn))
        if not index["suppressed"]:
            element_blocks.append({
                "unit": pub.unit_name(scope),
                "rows": [{"label": e["label_en"] if language == "en" else e["label_vi"],
                          "n": formatting.count(e.get("n")), "estimate": formatting.percent(e.get("estimate")) or "—",
                          "ci": _ci(e)} for e in index.get("elements") or ()],
                "distribution": [{"label": str(figures.LEVEL_LABELS[d["level"] - 1]),
                                  "count": formatting.count(d.get("count"))} for d in index.get("distribution") or ()],
            })
    index_rows = []
    for index in snapshot["indices"]:
        overall = index.get("overall") or {}
        par = index.get("par_points")
        index_rows.append({
            "unit": pub.unit_name(index["unit"]),
            "service": pub.service_name(index["service"], language) if index["service"] else _("All services"),
            "n": formatting.count(index["n"]), "suppressed": index["suppressed"],
            "estimate": formatting.percent(overall.get("estimate")), "ci": _ci(overall),
            "par": formatting.number(par["estimate"], 2) if par and par.get("estimate") is not None else "—",
        })
    rankings = []
    for ranking in snapshot["rankings"]:
        rows = []
        for row in ranking["rows"]:
            modelled = row.get("modelled") or {}
            rows.append({
                "unit": row.get("name") or pub.unit_name(row["unit"]), "n": formatting.count(row["n"]),
                "suppressed": row["suppressed"],
                "modelled": formatting.percent(modelled.get("estimate")) or "—",
                "modelled_ci": formatting.interval(modelled.get("ci_low"), modelled.get("ci_high")) or "—",
                "rank": row.get("rank"), "estimate": formatting.percent(row.get("estimate")), "ci": _ci(row),
                "rank_interval": f"{row.get('rank_low')}–{row.get('rank_high')}" if row.get("rank_low") else "—",
                "group": figures.group_label(row.get("group")),
            })
        best = ranking.get("best") or {}
        rankings.append({
            "title": _("%(level)s of %(parent)s", level=figures.LEVEL_NAMES.get(ranking["level"], ranking["level"]),
                       parent=pub.unit_name(ranking["parent"]))
            + (f" — {pub.service_name(ranking['service'], language)}" if ranking.get("service") else ""),
            "rows": rows, "median": formatting.percent(ranking.get("median")) or "—", "model_note": _model_note(ranking, language),
            "best": f"{pub.unit_name(best['unit'])} ({formatting.percent(best.get('estimate'))})" if best.get("unit") else "",
        })
    admin_rows = []
    for row in snapshot.get("admin_index") or ():
        survey_index = pub.index(release["questionnaires"][0], row["unit"], None) if release["questionnaires"] else None
        estimate = "—"
        if survey_index is not None:
            estimate = suppressed if survey_index["suppressed"] else (
                f"{formatting.percent(survey_index['overall']['estimate'])} ({_ci(survey_index['overall'])})")
        admin_rows.append({"unit": pub.unit_name(row["unit"]), "label": admin_index.label(row["indicator"], language),
                           "numerator": formatting.count(row["numerator"]), "denominator": formatting.count(row["denominator"]),
                           "rate": formatting.percent(row.get("rate")) or "—", "survey": estimate})
    quality_rows = [{"where": row.get("desk_name") or pub.unit_name(row["unit"]),
                     "period": formatting.period_label(row["period"]), "flagged": formatting.count(row["flagged"]),
                     "excluded": formatting.count(row["excluded"])}
                    for row in snapshot.get("quality") or ()]
    withdrawn = release.get("withdrawn")
    return {
        "snapshot": snapshot, "language": language, "confidence": confidence, "suppressed_text": suppressed,
        "title": _("Citizen satisfaction report") + f" — {release['scope']['name']}, {formatting.period_label(release['period']['code'])}",
        "period_label": formatting.period_label(release["period"]["code"]),
        "published": formatting.moment(release.get("published_at")) or "—",
        "withdrawn_at": formatting.moment(withdrawn.get("at")) if withdrawn else "",
        "summary": summary, "charts": charts, "index_rows": index_rows, "element_blocks": element_blocks,
        "rankings": rankings, "admin_rows": admin_rows, "quality_rows": quality_rows,
        "methodology": methodology(snapshot),
    }


def methodology(snapshot: Snapshot) -> list[str]:
    """The methodology note of a release, as paragraphs in the current language."""
    release = snapshot["release"]
    rule = {"par_weighted": _("weighted by the PAR 8.1 maxima of the five elements (1.5, 1.5, 2.5, 2.5, 2)"),
            "mean": _("the mean of the five element indices")}.get(release.get("overall_rule", ""), release.get("overall_rule", ""))
    weighting = _("design weights") if release.get("weighting") == "design" else _("no weights (every approved answer counts once)")
    return [
        _("Only responses approved in review count; flagged and rejected responses are never scored."),
        _("A criterion's satisfaction rate is the share of valid answers rated 4 or 5 on the 5-level scale; "
          "an element index is the mean of its criteria rates; the overall index is %(rule)s.", rule=rule),
        _("Estimates use %(weighting)s. Confidence intervals are %(level)s intervals from Taylor-linearised "
          "standard errors; rank intervals come from bootstrap replicates, and units whose rank intervals overlap "
          "are not reliably different. Groups (nhóm 1–4) are the quartiles of the ranked units.",
          weighting=weighting, level=formatting.number(release.get("confidence_level", 0.95) * 100, 0) + "%"),
        _("A figure is published only with at least %(n)s valid answers and an effective sample size of at least "
          "%(n_eff)s; below that the report says “%(text)s”.", n=release.get("min_publish_n"),
          n_eff=release.get("min_effective_n"), text=str(figures.SUPPRESSED)),
        _("Methodology version %(version)s. The numbers of this report are those of the published release; "
          "a correction is a new version with its changelog, never a silent change.",
          version=release.get("methodology_version")),
    ]


class ReportUnavailable(AppError):
    status = 503
    code = "report_unavailable"


def render_pdf(snapshot: Snapshot, language: str = "vi") -> bytes:
    """The report of ``snapshot`` as PDF bytes, in ``language`` (``vi`` or ``en``)."""
    try:
        from weasyprint import HTML
    except OSError:  # WeasyPrint loads Pango when imported
        raise ReportUnavailable(_("The PDF report cannot be made on this server: the Pango library is missing "
                                  "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0).")) from None
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    with current_app.test_request_context(f"/?lang={language}"), force_locale(language):
        context = _context(snapshot, language)
        css = _CSS % {"fonts": FONTS.as_uri(), "running": _css_string(context["title"]), "page": _("Page")}
        html = render_template("portal/pdf/report.html", css=css, **context)
    return bytes(HTML(string=html, base_url=str(FONTS)).write_pdf())


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


_reports: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_reports_lock = threading.Lock()


def report_for(snapshot: Snapshot, language: str = "vi") -> bytes:
    """:func:`render_pdf`, kept per snapshot content and language (a published snapshot never
    changes, and rendering takes a second or two)."""
    key = (content_hash(snapshot), language)
    with _reports_lock:
        if key in _reports:
            _reports.move_to_end(key)
            return _reports[key]
    body = render_pdf(snapshot, language)
    with _reports_lock:
        _reports[key] = body
        while len(_reports) > 16:
            _reports.popitem(last=False)
    return body
