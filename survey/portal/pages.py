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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import segno
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from exports import Column as TableColumn
from exports import ResultTable
from exports.downloads import DOWNLOADS, ChartFiles
from exports.renderers import UnknownFormat
from survey.errors import NotFound
from survey.i18n import current_language
from survey.portal import figures, formatting, papi_view, snapshot
from survey.portal.charts import CACHE, Chart
from survey.portal.published import Published, is_suppressed
from survey.store.db import get_session
from survey.store.models import Release, ReleaseStatus, ReleaseUnit, Unit

bp = Blueprint("portal", __name__, url_prefix="/portal")
T = TypeVar("T")
CHART_FORMATS = DOWNLOADS.suffixes("chart")  # svg, csv (for Excel), json


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


def code_files() -> list[Path]:
    """What turns a snapshot into a page: the portal's modules, every template (the frame
    around a page too), the export renderers and the compiled catalogues."""
    root = Path(__file__).resolve().parent.parent
    return sorted([*Path(__file__).resolve().parent.glob("*.py"), *(root / "templates").rglob("*.html"),
                   *(root.parent / "exports").rglob("*.py"), *(root / "translations").glob("*/LC_MESSAGES/*.mo")])


def code_fingerprint() -> str:
    """SHA-256 of :func:`code_files` and of the versions of the libraries that draw and render
    (Flask, Jinja, Flask-Babel, Altair, vl-convert): a new version of any of them renders
    everything afresh, so a page kept on disk never outlives the code that made it."""
    from importlib import metadata

    digest = hashlib.sha256()
    for path in code_files():
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes())
    for package in ("flask", "jinja2", "flask-babel", "altair", "vl-convert-python"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=none".encode())
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
    STORE.directory = root / "served"


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
    return serve(release_id, lambda pub, versions: render_unit_page(pub, questionnaire, unit, service,
                                                                   versions=versions))


@bp.route("/r/<int:release_id>/<questionnaire>/<unit>/charts/<name>.<fmt>")
@bp.route("/r/<int:release_id>/<questionnaire>/<unit>/<service>/charts/<name>.<fmt>")
def chart(release_id: int, questionnaire: str, unit: str, name: str, fmt: str, service: str | None = None) -> Any:
    """One chart as SVG, or its data as CSV (for Excel) or JSON."""
    return serve(release_id, lambda pub, _versions: chart_response(pub, questionnaire, unit, service, name, fmt))


@bp.route("/r/<int:release_id>/papi/")
def papi(release_id: int) -> Any:
    """The PAPI page: dimensions and sub-dimensions with CIs, beside the official 2011–2016 scores."""
    return serve(release_id, lambda pub, versions: render_papi_page(pub, versions=versions))


@bp.route("/r/<int:release_id>/papi/charts/<name>.<fmt>")
def papi_chart(release_id: int, name: str, fmt: str) -> Any:
    def make(pub: Published, _versions: list[Mapping[str, Any]]) -> Response:
        built = papi_view.BUILDERS.get(name)
        if built is None:
            raise NotFound(_("This chart does not exist."))
        made = CHARTS.get_or_make((pub.cache_key, current_language(), "papi", name), lambda: built(pub))
        if made is None:
            raise NotFound(_("This chart does not exist."))
        return _chart_file(pub, made, fmt)

    return serve(release_id, make)


@bp.route("/methodology/")
def methodology() -> Any:
    """How every published figure is computed: what is confirmed, what is a rule we chose."""
    return render_template("portal/methodology.html")


def page_addresses(pub: Published) -> list[str]:
    """The address of every page of a published release: each unit page with its unit ×
    service pages, and the PAPI page."""
    addresses = []
    for questionnaire in pub.questionnaires:
        for code in [u["code"] for u in pub.snapshot.get("units") or []]:
            if not pub.has_unit(questionnaire, code):
                continue
            addresses.append(url_for("portal.unit", release_id=pub.id, questionnaire=questionnaire, unit=code))
            addresses.extend(url_for("portal.unit", release_id=pub.id, questionnaire=questionnaire, unit=code,
                                     service=s["code"]) for s in pub.services_of(questionnaire, code))
    if pub.papi() is not None:
        addresses.append(url_for("portal.papi", release_id=pub.id))
    return addresses


def prerender(app: Flask, release_id: int, *, languages: Sequence[str] | None = None) -> int:
    """Render every page of published release ``release_id`` in every language, as the public
    will see them, into the store the server's processes serve from (:data:`STORE`), so no
    reader waits for a first render. The other versions of its series are rendered again too:
    their pages now say they are superseded (or link to the new version). Returns the number of
    pages rendered. The body of the ``render_release`` background job, run after publishing."""
    languages = tuple(languages or app.config["LANGUAGES"])
    rendered = 0
    # each page in an application context of its own (its own database session and language,
    # even when the job runs inside the publisher's request, in immediate mode)
    with app.app_context(), app.test_request_context("/portal/"):
        release = get_session().get(Release, release_id)
        series = release.series if release is not None else None
        ids = [v["id"] for v in snapshot.series_versions(get_session(), series)] if series else []
        pages: list[str] = []
        for version_id in sorted(ids, key=lambda i: i != release_id):  # the new version first
            document = snapshot.published_snapshot(get_session(), version_id)
            pages.extend(page_addresses(wrap(document)) if document is not None else [])
    for language in languages:
        for address in pages:
            with app.app_context(), app.test_request_context(address, query_string={"lang": language}):
                app.view_functions[str(request.endpoint)](**(request.view_args or {}))
                rendered += 1
    return rendered


# -- the pre-rendered store ---------------------------------------------------------------------
#
# A published page depends on the release's snapshot (fixed by its hash), on the state of the
# release's series (a version withdrawn, or superseded by a newer one), on the language and the
# address, and on the code that renders it (:data:`CODE`, the store's folder). For a visitor who
# is not signed in and has no message waiting, that is ALL it depends on: the whole response is
# kept under those keys, on disk in the instance folder (shared by the server's processes; the
# ``render_release`` job fills it when a release is published) and in memory, and served from a
# light query of the series' state — the snapshot is not even read. Signed-in staff get the
# frame (menu, sign-out form) rendered around the kept content, as before.


@dataclass(frozen=True)
class SeriesState:
    """What a release's public pages depend on besides its snapshot and the code."""

    release_id: int
    fingerprint: str  # of every public version of the series: ids, hashes, states, changelogs
    changed_at: datetime | None  # the last publication or withdrawal in the series (Last-Modified)


def series_state(release_id: int) -> SeriesState | None:
    """The state of ``release_id``'s series, from its rows without their snapshots; None when
    the release is unknown or not public (never published)."""
    db = get_session()
    series = db.scalar(select(Release.series).where(Release.id == release_id,
                                                    Release.status.in_(snapshot.PUBLIC_STATES)))
    if series is None:
        return None
    rows = db.execute(select(Release.id, Release.version, Release.status, Release.content_hash, Release.published_at,
                             Release.withdrawn_at, Release.withdrawal_notice, Release.changelog)
                      .where(Release.series == series, Release.status.in_(snapshot.PUBLIC_STATES))
                      .order_by(Release.version)).all()
    described = json.dumps([release_id, *[[*row[:3], *row[3:]] for row in rows]], default=str, ensure_ascii=False)
    moments = [t for row in rows for t in (row.published_at, row.withdrawn_at) if t is not None]
    return SeriesState(release_id, hashlib.sha256(described.encode("utf-8")).hexdigest()[:32],
                       max(moments) if moments else None)


@dataclass(frozen=True)
class Stored:
    """A kept response: its body, media type and download name."""

    body: bytes
    mimetype: str
    disposition: str | None = None

    def encode(self) -> bytes:
        head = json.dumps({"mimetype": self.mimetype, "disposition": self.disposition}).encode("utf-8")
        return head + b"\n" + self.body

    @classmethod
    def decode(cls, data: bytes) -> Stored:
        head, _sep, body = data.partition(b"\n")
        meta = json.loads(head)
        return cls(body, str(meta["mimetype"]), meta.get("disposition"))


class ResponseStore:
    """Whole public responses by key: a small in-memory LRU in front of files in ``directory``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, Stored] = OrderedDict()
        self.lock = threading.Lock()
        self.directory: Path | None = None

    def get(self, key: str) -> Stored | None:
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
                return hit
        if self.directory is None:
            return None
        try:
            found = Stored.decode((self.directory / key[:2] / key).read_bytes())
        except (OSError, ValueError, KeyError):
            return None
        self._remember(key, found)
        return found

    def put(self, key: str, stored: Stored) -> None:
        self._remember(key, stored)
        if self.directory is not None:
            _write_bytes(self.directory / key[:2] / key, stored.encode())

    def _remember(self, key: str, stored: Stored) -> None:
        with self.lock:
            self.items[key] = stored
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


STORE = ResponseStore(256)
Render = Callable[[Published, list[Mapping[str, Any]]], Any]


def _anonymous() -> bool:
    """A visitor whose page is the same as every other's: not signed in, no message waiting."""
    return not current_user.is_authenticated and not session.get("_flashes")


def serve(release_id: int, make: Render) -> Response:
    """The response of a published release's page (or chart file) made by ``make``: from the
    store when the visitor is anonymous and it was rendered before (by the ``render_release``
    job or an earlier visitor), else rendered now (and kept). Always with an ETag and
    Last-Modified, answering 304 to a conditional request that still holds; Cache-Control
    ``public`` for anonymous visitors (a minute: a withdrawal reaches shared caches in a
    minute), ``private, no-cache`` for staff, whose frame carries their session."""
    state = series_state(release_id)
    if state is None:
        raise NotFound(_("No published results have this address. The release may not be published yet."))
    anonymous = _anonymous()
    key = hashlib.sha256(json.dumps([CODE, state.fingerprint, current_language(), request.script_root, request.path,
                                     list(current_app.config["LANGUAGES"])]).encode("utf-8")).hexdigest()
    stored = STORE.get(key) if anonymous else None
    if stored is None:
        pub = published(release_id)
        made = make(pub, _versions(pub))
        response = made if isinstance(made, Response) else make_response(made)
        if not anonymous or response.status_code != 200:
            response.headers["Cache-Control"] = "private, no-cache"
            response.add_etag()
            response.last_modified = state.changed_at
            response.make_conditional(request)
            return response
        stored = Stored(response.get_data(), response.mimetype or "text/html",
                        response.headers.get("Content-Disposition"))
        STORE.put(key, stored)
    response = Response(stored.body, mimetype=stored.mimetype)
    if stored.disposition:
        response.headers["Content-Disposition"] = stored.disposition
    response.set_etag(key[:32])
    response.last_modified = state.changed_at
    # Revalidated on every view (a 304 from the ETag costs the same small query): a correction or a
    # withdrawal must show on an older version's page at once, not a minute later from a browser cache.
    response.headers["Cache-Control"] = "public, no-cache"
    response.vary.add("Cookie")  # the language chosen is kept in the session
    response.make_conditional(request)
    return response


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
        "quality": pub.quality(questionnaire, unit) if service is None else [],
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
    _write_bytes(path, text.encode("utf-8"))


def _write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` at once (a reader sees the old file or the new, never half)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
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
    """The chart as a file of the one download registry (``exports.downloads``, kind ``chart``)."""
    files = ChartFiles(
        svg=chart.svg,
        table=lambda: ResultTable(chart.title, tuple(
            [TableColumn(c.key, str(c.label)) for c in chart.columns] + [TableColumn("suppressed", _("Suppressed"))]),
            tuple({**r, "suppressed": bool(r.get("suppressed"))} for r in chart.rows)),
        document=lambda: {**chart.data(), "release": _release_meta(pub),
                          "methodology": url_for("portal.methodology", _external=False)})
    try:
        rendered = DOWNLOADS.render("chart", fmt, files)
    except UnknownFormat:
        raise NotFound(_("Unknown format.")) from None
    stem = f"{pub.release.get('series') or pub.id}-v{pub.release.get('version') or 1}-{chart.key}"
    response = Response(rendered.body, mimetype=rendered.mimetype)
    if fmt == "csv":
        response.headers["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    elif fmt == "json":
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

