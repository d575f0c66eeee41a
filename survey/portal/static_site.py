"""``hailong portal build OUT_DIR``: the whole published portal as static files.

The app renders every public page through the Flask test client — the same views, templates and
charts the live portal serves, so the two cannot drift — starting from the portal's index and
following every link into the portal (pages, charts with their CSV/JSON, the widget and desk
pages) and the open-data files; staff, kiosk, survey-link and API routes are never followed.
Every published release's data package (``datapackage.json``, its CSV files, the ZIP) and both
PDF reports are written too, so ``frictionless validate OUT_DIR/data/releases/<id>/datapackage.json``
works on the copy.

Pages become ``<path>/index.html`` (a web server serves ``/portal/`` from
``portal/index.html``); the Vietnamese pages sit at the root, the English ones under ``en/``,
with their charts; the links are rewritten to match: the language switch (``?lang=en``) points
to the other tree, page links get their trailing ``/``, and the data files, PDFs and CSS are shared
by both languages. Links to what only the live app serves (staff sign-in, the JSON API) go to
``live_url`` when given, else become plain text. A redirect becomes a small page that forwards to its target. Upload the folder to the
root of any web server, or give ``base_url`` (``--base-url /ket-qua/``) for a sub-folder.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from survey.portal import snapshot as snapshots
from survey.store.db import session_scope

#: Blueprints whose GET routes are the public portal. Everything else is never crawled.
PUBLIC_BLUEPRINTS = frozenset({"portal", "opendata", "static"})
PAGE_BLUEPRINTS = frozenset({"portal"})  # HTML pages, one copy per language; the rest are shared files
NEVER = ("/api/",)  # the JSON API is live-only (its data are in the data packages)
_ATTRIBUTE = re.compile(r"""(?P<name>\b(?:href|src|action|data-src|poster))=(?P<quote>["'])(?P<value>[^"']*)(?P=quote)""")
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


@dataclass
class BuildReport:
    out_dir: Path
    files: list[str] = field(default_factory=list)
    failed: dict[str, int] = field(default_factory=dict)  # path → HTTP status of what could not be written

    @property
    def size(self) -> int:
        return sum((self.out_dir / f).stat().st_size for f in self.files)


class _Site:
    def __init__(self, app: Flask, out_dir: Path, base_url: str, languages: tuple[str, ...], live_url: str) -> None:
        self.app = app
        self.live_url = live_url.rstrip("/")
        self.out_dir = out_dir
        self.base = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
        self.languages = languages
        self.default = str(app.config["DEFAULT_LANGUAGE"])
        self.adapter = app.url_map.bind("localhost")
        self.report = BuildReport(out_dir)

    # -- what a path is ------------------------------------------------------------------------

    def blueprint(self, path: str) -> str | None:
        if any(path.startswith(prefix) for prefix in NEVER):
            return None
        try:
            endpoint, _args = self.adapter.match(path, method="GET")
        except RequestRedirect as redirect:  # a missing trailing slash: the route exists
            return self.blueprint(urlsplit(redirect.new_url).path)
        except HTTPException:
            return None
        blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else endpoint
        return blueprint if blueprint in PUBLIC_BLUEPRINTS else None

    def is_page(self, path: str) -> bool:
        return self.blueprint(path) in PAGE_BLUEPRINTS

    def prefix(self, language: str) -> str:
        return "" if language == self.default else f"{language}/"

    def target(self, path: str, language: str, is_html: bool) -> str:
        """The file (relative to the output folder) a response for ``path`` is written to: the
        portal's pages and charts per language, the shared files once."""
        clean = path.lstrip("/")
        if not self.is_page(path):
            return clean
        clean = self.prefix(language) + clean
        if is_html and (not clean or clean.endswith("/")):
            return clean + "index.html"
        if is_html and "." not in clean.rsplit("/", 1)[-1]:
            return clean + "/index.html"
        return clean

    def link(self, path: str, language: str) -> str:
        """The address of ``path`` in the static site, for a page in ``language``."""
        if self.is_page(path):
            path = path if path.endswith("/") or "." in path.rsplit("/", 1)[-1] else path + "/"
            return self.base + self.prefix(language) + path.lstrip("/")
        return self.base + path.lstrip("/")

    # -- rewriting -----------------------------------------------------------------------------

    def rewrite(self, body: str, page_path: str, language: str, found: list[str]) -> str:
        def replace(match: re.Match[str]) -> str:
            value = html.unescape(match.group("value"))
            parts = urlsplit(urljoin(f"http://localhost{page_path}", value))
            if parts.scheme not in ("http", "https") or parts.netloc != "localhost" or value.startswith("#"):
                return match.group(0)
            if self.blueprint(parts.path) is None:  # staff, kiosk, API: only on the live app
                if self.live_url:
                    return f'{match.group("name")}={match.group("quote")}{html.escape(self.live_url + parts.path)}{match.group("quote")}'
                return f'data-live-only={match.group("quote")}{html.escape(parts.path)}{match.group("quote")}'

            found.append(parts.path)
            asked = parse_qs(parts.query).get("lang", [language])[0]
            address = self.link(parts.path, asked if asked in self.languages else language)
            if parts.fragment:
                address += "#" + parts.fragment
            return f'{match.group("name")}={match.group("quote")}{html.escape(address)}{match.group("quote")}'

        return _ATTRIBUTE.sub(replace, body)

    # -- writing -------------------------------------------------------------------------------

    def write(self, relative: str, body: bytes) -> None:
        destination = self.out_dir / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(body)
        self.report.files.append(relative)

    def crawl(self, language: str, start: list[str]) -> None:
        client: FlaskClient = self.app.test_client()
        queue = list(start)
        seen: set[str] = set()
        while queue:
            path = queue.pop(0)
            if path in seen or self.blueprint(path) is None:
                continue
            seen.add(path)
            if language != self.default and not self.is_page(path):
                continue  # the shared files are written once, by the default language's pass
            response = client.get(path, query_string={"lang": language})
            body = response.get_data()
            response.close()
            found: list[str] = []
            if response.status_code in (301, 302, 303, 307, 308) and response.location:
                location = urlsplit(urljoin(f"http://localhost{path}", response.location)).path
                found.append(location)
                address = html.escape(self.link(location, language))
                body = (f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
                        f'<meta http-equiv="refresh" content="0; url={address}"><title>…</title></head>'
                        f'<body><p><a href="{address}">{address}</a></p></body></html>').encode()
                self.write(self.target(path, language, True), body)
            elif response.status_code != 200:
                self.report.failed[path] = response.status_code
                continue
            elif response.mimetype == "text/html":
                text = self.rewrite(body.decode("utf-8"), path, language, found)
                self.write(self.target(path, language, True), text.encode("utf-8"))
            else:
                if response.mimetype == "text/css":
                    found += [urlsplit(urljoin(f"http://localhost{path}", u)).path
                              for u in _CSS_URL.findall(body.decode("utf-8")) if not u.startswith("data:")]
                if path.endswith("/datapackage.json"):
                    found += [urljoin(f"http://localhost{path}", r["path"]).replace("http://localhost", "")
                              for r in json.loads(body).get("resources", [])]
                self.write(self.target(path, language, False), body)
            queue.extend(p for p in found if p not in seen)


def release_files(app: Flask) -> list[str]:
    """The open-data files of every published (or withdrawn) release."""
    from flask import url_for

    paths: list[str] = []
    with session_scope(app.extensions["hailong.engine"]) as session:
        ids = [r["id"] for r in snapshots.published_releases(session)]
    with app.test_request_context():
        for release_id in ids:
            paths += [url_for(endpoint, release_id=release_id) for endpoint in (
                "opendata.datapackage", "opendata.package_zip", "opendata.report_pdf", "opendata.report_pdf_en")]
    return paths


def build(app: Flask, out_dir: Path, *, base_url: str = "/", live_url: str = "",
          languages: tuple[str, ...] | None = None) -> BuildReport:
    """Write the published portal into ``out_dir`` (emptied first); return what was written.

    Links to what only the live app serves (staff sign-in, the JSON API) point to ``live_url``
    when it is given, and are made plain text otherwise (``data-live-only`` keeps the path).
    Call it outside an app context: inside one, every page would share one ``g`` (and so the
    language of the first page)."""
    from flask import has_app_context

    if has_app_context():
        raise RuntimeError("static_site.build must run outside an application context")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    site = _Site(app, out_dir, base_url, tuple(languages or app.config["LANGUAGES"]), live_url)
    with app.test_request_context():
        from flask import url_for

        start = [url_for("portal.index"), url_for("portal.methodology")]
    files = release_files(app)
    for language in sorted(site.languages, key=lambda lang: lang != site.default):
        site.crawl(language, start + (files if language == site.default else []))
    home = html.escape(site.link(start[0], site.default))
    site.write("index.html", (f'<!doctype html><html lang="{site.default}"><head><meta charset="utf-8">'
                              f'<meta http-equiv="refresh" content="0; url={home}"><title>Hài Lòng</title></head>'
                              f'<body><p><a href="{home}">{home}</a></p></body></html>').encode())
    site.report.files.sort(key=lambda f: (posixpath.dirname(f), f))
    return site.report
