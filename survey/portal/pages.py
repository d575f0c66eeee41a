"""The public results portal: published releases only, in Vietnamese (default) or English.

Routes (blueprint ``portal``, under ``/portal``):

- ``/portal/`` — the published releases;
- ``/portal/u/<unit>`` — the newest published results of a unit (the address the QR poster,
  the receipt page and the thank-you screens point to);
- ``/portal/r/<id>/<questionnaire>/<unit>/`` — a province or unit page;
  ``…/<unit>/<service>/`` — a unit × service page;
- ``…/charts/<name>.svg|csv|json`` — each chart, and its data for a spreadsheet or a program;
- ``/portal/r/<id>/papi/`` — the PAPI page, beside the official PAPI 2011–2016 scores;
- ``/portal/methodology/`` — the methodology note every figure links to.

Every number comes from the release's stored snapshot (:mod:`survey.portal.snapshot`); nothing is
recomputed on a page view. The staff preview renders the same templates from a draft snapshot
through :func:`render_unit_page` and :func:`render_papi_page` with its own :class:`Endpoints`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import segno
from flask import Blueprint, Flask, Response, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from exports import Column as TableColumn
from exports import ResultTable, render
from survey.errors import NotFound
from survey.i18n import current_language
from survey.portal import figures, formatting, papi_view, snapshot
from survey.portal.charts import CACHE, Chart
from survey.portal.published import Published, is_suppressed
from survey.store.db import get_session
from survey.store.models import Release, ReleaseStatus, ReleaseUnit, Unit

bp = Blueprint("portal", __name__, url_prefix="/portal")
T = TypeVar("T")
CHART_FORMATS = ("svg", "csv", "json")


@dataclass(frozen=True)
class Endpoints:
    """Where a page's links go: the public routes, or the staff preview's (same arguments)."""

    unit: str = "portal.unit"
    chart: str = "portal.chart"
    papi: str = "portal.papi"
    papi_chart: str = "portal.papi_chart"
    preview: bool = False


PUBLIC = Endpoints()


# -- loading ------------------------------------------------------------------------------------

_published: OrderedDict[tuple[Any, ...], Published] = OrderedDict()
_lock = threading.Lock()


def published(release_id: int) -> Published:
    """The published (or withdrawn) release ``release_id``; a friendly 404 otherwise."""
    document = snapshot.published_snapshot(get_session(), release_id)
    if document is None:
        raise NotFound(_("No published results have this address. The release may not be published yet."))
    return wrap(document)


def wrap(document: Mapping[str, Any]) -> Published:
    """The indexed form of a published snapshot, kept per release and state (snapshots are
    immutable, so this is built once per process). Its ``cache_key`` is the SHA-256 of the
    document as served (state included): what is made from it may be kept anywhere, for good."""
    info = document.get("release") or {}
    key = (info.get("id"), info.get("version"), info.get("status"), info.get("superseded_by"),
           json.dumps(info.get("withdrawn"), sort_keys=True), id(document.get("indices")))
    with _lock:
        hit = _published.get(key)
        if hit is not None:
            _published.move_to_end(key)
            return hit
    fingerprint = hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
                                 .encode("utf-8")).hexdigest()
    made = Published(document, cache_key=(fingerprint,))
    with _lock:
        _published[key] = made
        while len(_published) > 32:
            _published.popitem(last=False)
    return made


def code_fingerprint() -> str:
    """SHA-256 of what turns a snapshot into a page: the portal's modules, templates and the
    Vietnamese catalogue — a new version of any of them renders everything afresh."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*Path(__file__).resolve().parent.glob("*.py"), *(root / "templates" / "portal").glob("*.html"),
                        *(root / "translations").glob("*/LC_MESSAGES/*.mo")]):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


CODE = code_fingerprint()  # at import: a process keeps the fingerprint of the code it runs


@bp.record_once
def _keep_on_disk(state: Any) -> None:
    """Rendered charts and page contents also go to the instance folder, shared by the server's
    processes. Keys are content hashes of the snapshot, under the hash of the code that rendered
    them, so nothing there can go stale."""
    root = Path(state.app.instance_path) / "portal-cache" / CODE
    CACHE.directory = root / "svg"
    PAGES.directory = root / "pages"


# -- pages --------------------------------------------------------------------------------------


@bp.route("/")
def index() -> Any:
    """Every published release, newest period first; withdrawn ones marked."""
    releases = snapshot.published_releases(get_session())
    newest: dict[str, Mapping[str, Any]] = {}
    for release in releases:
        series = str(release["series"])
        if series not in newest or release["version"] > newest[series]["version"]:
            newest[series] = release
    codes = {str(r["scope"]) for r in newest.values()}
    names = {code: name for code, name in get_session().execute(
        select(Unit.code, Unit.name).where(Unit.code.in_(codes)))} if codes else {}
    listed = [{**r, "scope_name": names.get(str(r["scope"]), r["scope"])} for r in newest.values()]
    return render_template("portal/index.html", releases=listed)


@bp.route("/u/<unit_code>")
def latest(unit_code: str) -> Any:
    """The newest published results showing ``unit_code`` (a stable address to print)."""
    document = snapshot.latest_published(get_session(), unit_code)
    if document is None:
        raise NotFound(_("No results have been published for this unit yet."))
    pub = wrap(document)
    for questionnaire in pub.questionnaires:
        if pub.has_unit(questionnaire, unit_code):
            return redirect(url_for("portal.unit", release_id=pub.id, questionnaire=questionnaire, unit=unit_code))
    if pub.papi() is not None:
        return redirect(url_for("portal.papi", release_id=pub.id))
    raise NotFound(_("No results have been published for this unit yet."))


@bp.route("/r/<int:release_id>/")
def release(release_id: int) -> Any:
    """A release's front page: its scope's page for its first questionnaire."""
    pub = published(release_id)
    if pub.questionnaires:
        return redirect(url_for("portal.unit", release_id=pub.id, questionnaire=pub.questionnaires[0], unit=pub.scope))
    if pub.papi() is not None:
        return redirect(url_for("portal.papi", release_id=pub.id))
    raise NotFound(_("No published results have this address. The release may not be published yet."))


@bp.route("/r/<int:release_id>/<questionnaire>/<unit>/")
@bp.route("/r/<int:release_id>/<questionnaire>/<unit>/<service>/")
def unit(release_id: int, questionnaire: str, unit: str, service: str | None = None) -> Any:
    """A province or unit page (all services), or a unit × service page."""
    pub = published(release_id)
    return render_unit_page(pub, questionnaire, unit, service, versions=_versions(pub))


@bp.route("/r/<int:release_id>/<questionnaire>/<unit>/charts/<name>.<fmt>")
@bp.route("/r/<int:release_id>/<questionnaire>/<unit>/<service>/charts/<name>.<fmt>")
def chart(release_id: int, questionnaire: str, unit: str, name: str, fmt: str, service: str | None = None) -> Any:
    """One chart as SVG, or its data as CSV (for Excel) or JSON."""
    pub = published(release_id)
    return chart_response(pub, questionnaire, unit, service, name, fmt)


@bp.route("/r/<int:release_id>/papi/")
def papi(release_id: int) -> Any:
    """The PAPI page: dimensions and sub-dimensions with CIs, beside the official 2011–2016 scores."""
    pub = published(release_id)
    return render_papi_page(pub, versions=_versions(pub))


@bp.route("/r/<int:release_id>/papi/charts/<name>.<fmt>")
def papi_chart(release_id: int, name: str, fmt: str) -> Any:
    pub = published(release_id)
    built = papi_view.BUILDERS.get(name)
    if built is None:
        raise NotFound(_("This chart does not exist."))
    made = CHARTS.get_or_make((pub.cache_key, current_language(), "papi", name), lambda: built(pub))
    if made is None:
        raise NotFound(_("This chart does not exist."))
    return _chart_file(pub, made, fmt)


@bp.route("/methodology/")
def methodology() -> Any:
    """How every published figure is computed: what is confirmed, what is a rule we chose."""
    return render_template("portal/methodology.html")


def warm(app: Flask, release_id: int, *, languages: tuple[str, ...] = ("vi", "en"), deep: bool = False) -> int:
    """Render a newly published release's pages ahead of its readers (the scope's page, its
    services and the PAPI page; with ``deep`` every unit page too), into the caches every server
    process reads. Returns the number of pages rendered. For a background job after publishing."""
    rendered = 0
    for language in languages:
        with app.test_request_context(f"/portal/?lang={language}"):
            pub = published(release_id)
            versions = _versions(pub)
            units = [u["code"] for u in pub.snapshot.get("units") or []] if deep else [pub.scope]
            for questionnaire in pub.questionnaires:
                for code in units:
                    if not pub.has_unit(questionnaire, code):
                        continue
                    for service in [None, *(s["code"] for s in pub.services_of(questionnaire, code))]:
                        render_unit_page(pub, questionnaire, code, service, versions=versions)
                        rendered += 1
            if pub.papi() is not None:
                render_papi_page(pub, versions=versions)
                rendered += 1
    return rendered


# -- rendering (shared with the staff preview) --------------------------------------------------


def _versions(pub: Published) -> list[Mapping[str, Any]]:
    series = str(pub.release.get("series") or "")
    return list(snapshot.series_versions(get_session(), series)) if series else []


def unit_context(pub: Published, questionnaire: str, unit: str, service: str | None) -> dict[str, Any]:
    """Everything the unit page shows, from the snapshot."""
    if questionnaire not in pub.questionnaires or pub.unit(unit) is None:
        raise NotFound(_("No published results have this address. The release may not be published yet."))
    index = pub.index(questionnaire, unit, service)
    if index is None:
        raise NotFound(_("No published results have this address. The release may not be published yet."))
    language = current_language()
    rankings = []
    for ranking in pub.rankings_below(questionnaire, unit, service):
        rankings.append({"meta": ranking, "chart": figures.ranking_chart(pub, ranking),
                         "tiles": figures.tile_chart(pub, ranking),
                         "level": figures.LEVEL_NAMES.get(str(ranking.get("level")), ranking.get("level"))})
    services = [{"code": s["code"], "name": pub.service_name(s["code"], language),
                 "index": pub.index(questionnaire, unit, s["code"])} for s in pub.services_of(questionnaire, unit)]
    children = [{"code": c["code"], "name": c.get("name"), "kind": c.get("kind"),
                 "index": pub.index(questionnaire, c["code"], service)}
                for c in pub.children(unit) if pub.index(questionnaire, c["code"], service) is not None]
    position = pub.position(questionnaire, unit, service)
    return {
        "pub": pub, "questionnaire": questionnaire, "unit_code": unit, "unit": pub.unit(unit), "service": service,
        "service_name": pub.service_name(service, language) if service else None,
        "index": index, "suppressed": is_suppressed(index),
        "elements": figures.elements_chart(pub, questionnaire, unit, service),
        "distribution": figures.distribution_chart(pub, questionnaire, unit, service),
        "trend": figures.trend_chart(pub, questionnaire, unit, service),
        "rankings": rankings, "services": services, "children": children,
        "position": {"ranking": position[0], "row": position[1],
                     "level": figures.LEVEL_NAMES.get(str(position[0].get("level")), position[0].get("level")),
                     "count": sum(1 for r in position[0].get("rows") or [] if r.get("rank") is not None)}
        if position else None,
        "ancestors": pub.ancestors(unit), "admin_index": pub.admin_index(unit),
        "overall_rule": pub.overall_rule(questionnaire),
        "questionnaire_title": pub.questionnaire_title(questionnaire, language),
        "period": figures.period(pub),
    }


class Memo(Generic[T]):
    """Things made from a published snapshot, by release state, page and language. A published
    snapshot never changes, so neither does what a page shows of it; the frame around a page
    (menu, sign-in) is rendered per request. Nothing made from a draft is kept (key None).
    With a ``directory``, text values are also kept there, for the other server processes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], T] = OrderedDict()
        self.lock = threading.Lock()
        self.directory: Path | None = None

    def _path(self, key: tuple[Any, ...]) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / (hashlib.sha256(repr(key).encode("utf-8")).hexdigest() + ".html")

    def get_or_make(self, key: tuple[Any, ...] | None, make: Callable[[], T], *,
                    load: Callable[[str], T] | None = None) -> T:
        if key is None:
            return make()
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        path = self._path(key) if load is not None else None
        made: T | None = None
        if path is not None and load is not None:
            try:
                made = load(path.read_text(encoding="utf-8"))
            except OSError:
                made = None
        if made is None:
            made = make()
            if path is not None:
                _write(path, str(made))
        with self.lock:
            self.items[key] = made
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return made


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only instance folder only costs a re-render


PAGES: Memo[Markup] = Memo(256)
CHARTS: Memo[Chart | None] = Memo(512)


def _cache_key(pub: Published, endpoints: Endpoints, versions: list[Mapping[str, Any]], *parts: Any) -> tuple[Any, ...] | None:
    if endpoints.preview or pub.cache_key is None:
        return None
    seen = tuple((v.get("id"), v.get("version"), v.get("status")) for v in versions)
    return (pub.cache_key, endpoints, seen, current_language(), *parts)


def render_unit_page(pub: Published, questionnaire: str, unit: str, service: str | None = None, *,
                     versions: list[Mapping[str, Any]] | None = None, endpoints: Endpoints = PUBLIC) -> str:
    """The HTML of a unit (or unit × service) page — the public page, or the staff preview."""
    versions = versions or []
    if questionnaire not in pub.questionnaires or pub.index(questionnaire, unit, service) is None:
        raise NotFound(_("No published results have this address. The release may not be published yet."))
    content = PAGES.get_or_make(
        _cache_key(pub, endpoints, versions, "unit", questionnaire, unit, service),
        lambda: Markup(render_template(  # noqa: S704 - our own template's output
            "portal/_unit.html", **unit_context(pub, questionnaire, unit, service), versions=versions, ep=endpoints,
            data_links=data_links(pub))), load=Markup)
    service_name = pub.service_name(service, current_language()) if service else None
    title = " · ".join(x for x in (pub.unit_name(unit), service_name, figures.period(pub)) if x)
    return render_template("portal/page.html", content=content, page_title=title)


def render_papi_page(pub: Published, *, versions: list[Mapping[str, Any]] | None = None,
                     endpoints: Endpoints = PUBLIC) -> str:
    """The HTML of the PAPI page (public or preview)."""
    versions = versions or []
    if pub.papi() is None:
        raise NotFound(_("This release has no PAPI results."))

    def render_content() -> str:
        return render_template("portal/_papi.html", **(papi_view.context(pub) or {}), pub=pub, versions=versions,
                               ep=endpoints, period=figures.period(pub), data_links=data_links(pub))

    content = PAGES.get_or_make(_cache_key(pub, endpoints, versions, "papi"),
                                lambda: Markup(render_content()), load=Markup)  # noqa: S704 - our own template
    title = " · ".join((_("Governance (PAPI)"), pub.unit_name(pub.scope), str((pub.papi() or {}).get("year") or "")))
    return render_template("portal/page.html", content=content, page_title=title)


def chart_response(pub: Published, questionnaire: str, unit: str, service: str | None, name: str, fmt: str) -> Any:
    """A chart of a unit page as a file (also used by the staff preview)."""
    if questionnaire not in pub.questionnaires or pub.unit(unit) is None:
        raise NotFound(_("This chart does not exist."))
    builder = figures.BUILDERS.get(name)
    if builder is None:
        raise NotFound(_("This chart does not exist."))
    key = (pub.cache_key, current_language(), name, questionnaire, unit, service) if pub.cache_key else None
    made = CHARTS.get_or_make(key, lambda: builder(pub, questionnaire, unit, service))
    if made is None:
        raise NotFound(_("This chart does not exist."))
    return _chart_file(pub, made, fmt)


def _chart_file(pub: Published, chart: Chart, fmt: str) -> Response:
    if fmt not in CHART_FORMATS:
        raise NotFound(_("Unknown format."))
    stem = f"{pub.release.get('series') or pub.id}-v{pub.release.get('version') or 1}-{chart.key}"
    if fmt == "svg":
        body = chart.svg().encode("utf-8")
        response = Response(body, mimetype="image/svg+xml")
    elif fmt == "csv":
        table = ResultTable(chart.title, tuple(
            [TableColumn(c.key, str(c.label)) for c in chart.columns] + [TableColumn("suppressed", _("Suppressed"))]),
            tuple({**r, "suppressed": bool(r.get("suppressed"))} for r in chart.rows))
        rendered = render("csv-excel", table)
        response = Response(rendered.body, mimetype=rendered.mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    else:
        data = {**chart.data(), "release": _release_meta(pub),
                "methodology": url_for("portal.methodology", _external=False)}
        response = Response(json.dumps(data, ensure_ascii=False, indent=1), mimetype="application/json")
        response.headers["Content-Disposition"] = f'inline; filename="{stem}.json"'
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _release_meta(pub: Published) -> dict[str, Any]:
    info = pub.release
    return {key: info.get(key) for key in ("id", "series", "version", "status", "period", "scope",
                                           "methodology_version", "confidence_level", "min_publish_n",
                                           "published_at")}


OPEN_DATA = ("opendata.datapackage", "opendata.package_zip", "opendata.report_pdf", "opendata.report_pdf_en",
             "opendata.api_release")


def data_links(pub: Published) -> list[dict[str, str]]:
    """The release's open-data files (data package, PDF report) — those whose routes exist."""
    labels = {"opendata.datapackage": _("Data package (Frictionless)"), "opendata.package_zip": _("Data package (ZIP)"),
              "opendata.report_pdf": _("Report (PDF)"), "opendata.report_pdf_en": _("Report in English (PDF)"),
              "opendata.api_release": _("JSON API")}
    known = current_app.view_functions
    return [{"url": url_for(endpoint, release_id=pub.id), "label": labels[endpoint]}
            for endpoint in OPEN_DATA if endpoint in known]


@bp.app_template_global("resource_url")
def resource_url(pub: Published, name: str) -> str | None:
    """The address of one table of the release's data package (``indices``, ``rankings``, …), if served."""
    if "opendata.resource" not in current_app.view_functions:
        return None
    return url_for("opendata.resource", release_id=pub.id, name=name)


@bp.app_template_global("results_link")
def results_link(unit_code: str | None) -> str | None:
    """The stable address of a unit's published results, for the QR poster, the receipt page and
    the thank-you screens — None while nothing is published for the unit (no link to a 404)."""
    if not unit_code:
        return None
    shown = get_session().scalar(select(ReleaseUnit.release_id).join(Release, Release.id == ReleaseUnit.release_id)
                                 .where(ReleaseUnit.unit_code == unit_code, Release.status == ReleaseStatus.PUBLISHED)
                                 .limit(1))
    return url_for("portal.latest", unit_code=unit_code, _external=True) if shown is not None else None


@bp.app_template_global("results_qr")
def results_qr(url: str, title: str = "") -> Markup:
    """A QR code of ``url`` as inline SVG (segno), for screens where a link cannot be tapped."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=4, border=2, title=title or None, xmldecl=False,
                                     svgns=True, svgclass="results-qr")
    return Markup(out.getvalue().decode("utf-8"))  # noqa: S704 - segno's own SVG


@bp.app_template_global("fmt")
def _fmt() -> Any:
    return formatting


@bp.app_template_global("chart_urls")
def chart_urls(ep: Endpoints, pub: Published, questionnaire: str, unit: str, service: str | None,
               name: str) -> dict[str, str]:
    """The SVG, CSV and JSON addresses of a chart of a unit page."""
    args: dict[str, Any] = {"release_id": pub.id, "questionnaire": questionnaire, "unit": unit, "name": name}
    if service:
        args["service"] = service
    return {fmt: url_for(ep.chart, fmt=fmt, **args) for fmt in CHART_FORMATS}


@bp.app_template_global("papi_chart_urls")
def papi_chart_urls(ep: Endpoints, pub: Published, name: str) -> dict[str, str]:
    return {fmt: url_for(ep.papi_chart, release_id=pub.id, name=name, fmt=fmt) for fmt in CHART_FORMATS}


@bp.app_template_global("ci_level")
def ci_level(pub: Published) -> int:
    return figures.confidence(pub)


@bp.app_template_global("ci_label")
def ci_label(pub: Published, short: bool = False) -> str:
    """"95% confidence interval" (or "95% CI") at the release's confidence level."""
    if short:
        return _("%(level)s%% CI", level=figures.confidence(pub))
    return _("%(level)s%% confidence interval", level=figures.confidence(pub))


@bp.app_template_global("suppressed_text")
def _suppressed_text() -> str:
    return str(figures.SUPPRESSED)

