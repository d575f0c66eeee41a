"""Results where citizens already are: the widget for commune websites and the desk's TV.

- ``/portal/widget/<unit>`` — a small page for an ``<iframe>``: the unit's latest published
  index with its interval, n and trend. It tells the page around it its height
  (``postMessage``, answered by ``static/js/portal-embed.js`` on the host page), so the frame
  never shows a scroll bar; ``/portal/widget/<unit>.svg`` is the same as one image, for the
  no-JavaScript snippet (``<a><img></a>``), always the latest release;
- ``/portal/widget/<unit>/embed`` — the codes to copy, with a live example;
- ``/portal/desk/<desk>/`` — a full-screen page for the TV at the one-stop desk: large type,
  one service after another, reloads itself, and keeps showing its last copy when the network
  drops (service worker ``/portal/desk/sw.js``).

Everything is read from the newest published snapshot showing the unit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from survey.collect.serviceworker import service_worker as offline_service_worker
from survey.errors import NotFound
from survey.i18n import current_language
from survey.portal import charts, figures, formatting, snapshot
from survey.portal.charts import Chart, Column
from survey.portal.pages import bp, wrap
from survey.portal.published import Published, is_suppressed
from survey.security import frameable
from survey.store.db import get_session
from survey.store.models import Desk, DeskService, Service

DESK_ROTATE_SECONDS = 15
DESK_RELOAD_SECONDS = 600


def _latest(unit_code: str) -> Published | None:
    document = snapshot.latest_published(get_session(), unit_code)
    return wrap(document) if document is not None else None


def _questionnaire_for(pub: Published, unit_code: str, preferred: str | None = None) -> str | None:
    if preferred and pub.has_unit(preferred, unit_code):
        return preferred
    return next((q for q in pub.questionnaires if pub.has_unit(q, unit_code)), None)


def widget_figures(unit_code: str, preferred: str | None = None) -> dict[str, Any] | None:
    """What the widget shows of ``unit_code``: None when nothing is published for it."""
    pub = _latest(unit_code)
    if pub is None:
        return None
    questionnaire = _questionnaire_for(pub, unit_code, preferred)
    if questionnaire is None:
        return None
    index = pub.index(questionnaire, unit_code)
    return {"pub": pub, "questionnaire": questionnaire, "unit_code": unit_code, "unit_name": pub.unit_name(unit_code),
            "index": index, "suppressed": is_suppressed(index), "period": figures.period(pub),
            "trend": sparkline(pub, questionnaire, unit_code),
            "page_url": url_for("portal.unit", release_id=pub.id, questionnaire=questionnaire, unit=unit_code,
                                _external=True)}


SPARK_COLUMNS = (Column("period_label", "period"), Column("estimate", "index", "share"))


def sparkline(pub: Published, questionnaire: str, unit: str, service: str | None = None) -> Chart | None:
    """The trend as a small line with its band, for the widget and the desk display."""
    full = figures.trend_chart(pub, questionnaire, unit, service)
    if full is None or sum(1 for r in full.rows if not r["suppressed"]) < 2:
        return None
    spec = charts.sparkline_spec([r for r in full.rows if not r["suppressed"]])
    return Chart("spark", full.title, full.description, full.columns, full.rows, spec, current_language())


def _cacheable(response: Response) -> Response:
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/widget/<unit_code>")
@frameable  # commune websites embed it (nothing on it is private)
def widget(unit_code: str) -> Any:
    """The widget page for an ``<iframe>`` on a commune or district website."""
    shown = widget_figures(unit_code, request.args.get("q"))
    html = render_template("portal/widget.html", shown=shown, unit_code=unit_code)
    return _cacheable(Response(html, mimetype="text/html"))


@bp.route("/widget/<unit_code>.svg")
@frameable
def widget_image(unit_code: str) -> Any:
    """The widget as one SVG image, for the snippet that needs no JavaScript."""
    shown = widget_figures(unit_code, request.args.get("q"))
    if shown is None:
        raise NotFound(_("No results have been published for this unit yet."))
    index = shown["index"]
    value = str(figures.SUPPRESSED) if shown["suppressed"] else formatting.percent(index["overall"]["estimate"])
    lines = [shown["unit_name"], _("Satisfaction index, %(period)s", period=shown["period"]), value,
             _("%(level)s%% CI %(ci)s · %(n)s respondents", level=figures.confidence(shown["pub"]), ci=formatting.interval(
                 index["overall"]["ci_low"], index["overall"]["ci_high"]), n=formatting.count(index["n"]))
             if not shown["suppressed"] else _("%(n)s respondents", n=formatting.count(index["n"]))]
    trend_rows = [r for r in (shown["trend"].rows if shown["trend"] else []) if not r["suppressed"]]
    spec = charts.badge_spec(lines, trend_rows)
    title = _("Satisfaction with %(unit)s, %(period)s", unit=shown["unit_name"], period=shown["period"])
    svg = charts.render_svg(spec, title, " ".join(lines[1:]), "badge", current_language())
    return _cacheable(Response(svg, mimetype="image/svg+xml"))


@bp.route("/widget/<unit_code>/embed")
def embed(unit_code: str) -> Any:
    """The codes a webmaster copies: the iframe (with the height script) and the no-JS snippet."""
    shown = widget_figures(unit_code)
    if shown is None:
        raise NotFound(_("No results have been published for this unit yet."))
    widget_url = url_for("portal.widget", unit_code=unit_code, _external=True)
    iframe_code = render_template("portal/_embed_iframe.html", widget_url=widget_url, unit_name=shown["unit_name"],
                                  script_url=url_for("static", filename="js/portal-embed.js", _external=True))
    snippet = render_template("portal/_embed_snippet.html", shown=shown,
                              image_url=url_for("portal.widget_image", unit_code=unit_code, _external=True),
                              latest_url=url_for("portal.latest", unit_code=unit_code, _external=True))
    return render_template("portal/embed.html", shown=shown, iframe_code=iframe_code.strip(), snippet=snippet.strip(),
                           widget_url=widget_url)


# -- the desk's TV ---------------------------------------------------------------------------


def desk_slides(desk: Desk) -> tuple[Published | None, list[dict[str, Any]]]:
    """One slide per service of the desk (all its unit's services when it lists none)."""
    unit_code = desk.unit.code
    pub = _latest(unit_code)
    if pub is None:
        return None, []
    questionnaire = _questionnaire_for(pub, unit_code, desk.questionnaire_id)
    if questionnaire is None:
        return pub, []
    offered = select(Service.code).join(DeskService, DeskService.service_id == Service.id).where(
        DeskService.desk_id == desk.id).order_by(Service.code)
    service_codes = list(get_session().scalars(offered)) or [s["code"] for s in pub.services_of(questionnaire, unit_code)]
    slides = []
    language = current_language()
    for code in [None, *service_codes]:
        index = pub.index(questionnaire, unit_code, code)
        if index is None:
            continue
        slides.append({"service": code, "name": pub.service_name(code, language) if code else _("All services"),
                       "index": index, "suppressed": is_suppressed(index),
                       "distribution": figures.distribution_chart(pub, questionnaire, unit_code, code),
                       "trend": sparkline(pub, questionnaire, unit_code, code)})
    return pub, slides


@bp.route("/desk/<desk_code>/")
def desk_display(desk_code: str) -> Any:
    """The full-screen display for the TV at a one-stop desk."""
    desk = get_session().scalar(select(Desk).where(Desk.code == desk_code))
    if desk is None:
        raise NotFound(_("This desk does not exist."))
    pub, slides = desk_slides(desk)
    return render_template("portal/desk.html", desk=desk, pub=pub, slides=slides,
                           period=figures.period(pub) if pub else "",
                           rotate_seconds=DESK_ROTATE_SECONDS, reload_seconds=DESK_RELOAD_SECONDS,
                           version=display_version(pub),
                           shown_at=formatting.moment(datetime.now(UTC)))


@bp.route("/desk/<desk_code>/version")
def desk_version(desk_code: str) -> Any:
    """What the desk display shows (release id and state): the display reloads when it changes."""
    desk = get_session().scalar(select(Desk).where(Desk.code == desk_code))
    if desk is None:
        raise NotFound(_("This desk does not exist."))
    pub = _latest(desk.unit.code)
    response = jsonify({"release": pub.id if pub else None, "version": display_version(pub)})
    response.headers["Cache-Control"] = "no-store"
    return response


def display_version(pub: Published | None) -> str:
    if pub is None:
        return "none"
    info = pub.release
    return f"{info.get('id')}:{info.get('status')}:{info.get('superseded_by') or ''}"


@bp.route("/desk/sw.js")
def desk_service_worker() -> Any:
    """The desk display's service worker (scope ``/portal/desk/``): keeps the last copy."""
    scope = url_for("portal.desk_service_worker").rsplit("/", 1)[0] + "/"
    return offline_service_worker(cache="hailong-desk-v1", pages=scope, scope=scope, skip_suffixes=("/version",))
