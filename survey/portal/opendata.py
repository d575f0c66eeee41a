"""Open data of the published releases: downloads and the JSON API.

Downloads (blueprint ``opendata``, also written by the static site):

- ``/data/releases/<id>/datapackage.json`` and ``/data/releases/<id>/data/<table>.csv`` — the
  release as a Frictionless Data Package (:mod:`survey.portal.datapackage`); the resource paths
  in ``datapackage.json`` are relative, so ``frictionless validate <url>`` works on it;
- ``/data/releases/<id>/datapackage.zip`` — the same files in one ZIP;
- ``/data/releases/<id>/report.pdf`` (Vietnamese) and ``report.en.pdf`` (English) — the PDF
  report (:mod:`survey.portal.pdf`).

JSON API (described in ``/api/openapi.json``):

- ``GET /api/v1/releases`` — every published or withdrawn version, newest period first;
- ``GET /api/v1/releases/<id>`` — one release: its metadata and every published figure, each
  index with its stable ``id`` (``<series>:<questionnaire>:<unit>:<service or all>``, the same in
  every version of a series and in the data package);
- ``GET /api/v1/releases/<id>/indices/<index_id>`` — one index;
- ``GET /api/v1/units/<code>/latest`` — the newest published release showing a unit, and the
  unit's indices in it.

Only published and withdrawn releases exist here (a draft is a 404); a withdrawn release is
still served, with its notice, never silently changed. Every body is read from the snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, url_for
from flask_babel import gettext as _

from survey.errors import NotFound
from survey.portal import snapshot as snapshots
from survey.portal.datapackage import DataPackage, data_package, index_id
from survey.store.db import get_session

bp = Blueprint("opendata", __name__)

Snapshot = Mapping[str, Any]


def _snapshot(release_id: int) -> Snapshot:
    # An id beyond the database's integer is no release (not a 500 from the driver's overflow).
    found = snapshots.published_snapshot(get_session(), release_id) if 0 < release_id < 2**31 else None
    if found is None:
        raise NotFound(_("There is no published release %(id)s.", id=release_id))
    return found


def package_for(snapshot: Snapshot) -> DataPackage:
    """The release's data package (cached per content: a published snapshot never changes)."""
    return _package(snapshots.canonical_json(snapshot), current_app.config["OPEN_DATA_LICENSE"],
                    current_app.config["OPEN_DATA_PUBLISHER"])


@lru_cache(maxsize=32)
def _package(document: str, license_name: str, publisher: str) -> DataPackage:
    import json

    return data_package(json.loads(document), license_name=license_name, publisher=publisher)


def _file(body: bytes, mimetype: str, filename: str | None = None) -> Response:
    response = Response(body, mimetype=mimetype)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/data/releases/<int:release_id>/datapackage.json")
def datapackage(release_id: int) -> Response:
    package = package_for(_snapshot(release_id))
    return _file(package.files["datapackage.json"], "application/json")


@bp.route("/data/releases/<int:release_id>/data/<name>.csv")
def resource(release_id: int, name: str) -> Response:
    package = package_for(_snapshot(release_id))
    body = package.files.get(f"data/{name}.csv")
    if body is None:
        raise NotFound(_("This release has no table %(name)s.", name=name))
    return _file(body, "text/csv", f"{package.name}-{name}.csv")


@bp.route("/data/releases/<int:release_id>/datapackage.zip")
def package_zip(release_id: int) -> Response:
    package = package_for(_snapshot(release_id))
    return _file(package.zip(), "application/zip", f"{package.name}.zip")


@bp.route("/data/releases/<int:release_id>/report.pdf", defaults={"language": "vi"}, endpoint="report_pdf")
@bp.route("/data/releases/<int:release_id>/report.en.pdf", defaults={"language": "en"}, endpoint="report_pdf_en")
def report(release_id: int, language: str) -> Response:
    from survey.portal.pdf import report_for

    snapshot = _snapshot(release_id)
    suffix = "" if language == "vi" else f"-{language}"
    return _file(report_for(snapshot, language), "application/pdf", f"{package_for(snapshot).name}{suffix}.pdf")


# -- JSON API ---------------------------------------------------------------------------------------

def _links(release_id: int) -> dict[str, str]:
    return {
        "self": url_for("opendata.api_release", release_id=release_id),
        "datapackage": url_for("opendata.datapackage", release_id=release_id),
        "zip": url_for("opendata.package_zip", release_id=release_id),
        "pdf": url_for("opendata.report_pdf", release_id=release_id),
        "pdf_en": url_for("opendata.report_pdf_en", release_id=release_id),
    }


def _index(snapshot: Snapshot, row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": index_id(snapshot, row), **row}


def release_document(snapshot: Snapshot) -> dict[str, Any]:
    """The JSON API body of one release (the snapshot, every index with its stable id)."""
    release = snapshot["release"]
    return {
        "release": release,
        "questionnaires": snapshot.get("questionnaires", []),
        "units": snapshot["units"],
        "services": snapshot["services"],
        "indices": [_index(snapshot, row) for row in snapshot["indices"]],
        "rankings": snapshot["rankings"],
        "trend": snapshot["trend"],
        "papi": snapshot.get("papi"),
        "admin_index": snapshot.get("admin_index") or [],
        "links": _links(int(release["id"])),
    }


@bp.route("/api/v1/releases")
def api_releases() -> Response:
    rows = snapshots.published_releases(get_session())
    return jsonify({"releases": [{**row, "links": _links(row["id"])} for row in rows]})


@bp.route("/api/v1/releases/<int:release_id>")
def api_release(release_id: int) -> Response:
    return jsonify(release_document(_snapshot(release_id)))


@bp.route("/api/v1/releases/<int:release_id>/indices/<index_key>")
def api_index(release_id: int, index_key: str) -> Response:
    snapshot = _snapshot(release_id)
    for row in snapshot["indices"]:
        if index_id(snapshot, row) == index_key:
            return jsonify({"index": _index(snapshot, row), "links": _links(release_id)})
    raise NotFound(_("Release %(id)s has no index %(key)s.", id=release_id, key=index_key))


@bp.route("/api/v1/units/<code>/latest")
def api_unit_latest(code: str) -> Response:
    snapshot = snapshots.latest_published(get_session(), code)
    if snapshot is None:
        raise NotFound(_("No published release shows the unit %(code)s.", code=code))
    release_info = snapshot["release"]
    unit = next((u for u in snapshot["units"] if u["code"] == code), None)
    return jsonify({
        "release": release_info, "unit": unit,
        "indices": [_index(snapshot, row) for row in snapshot["indices"] if row["unit"] == code],
        "trend": [row for row in snapshot["trend"] if row["unit"] == code],
        "admin_index": [row for row in snapshot.get("admin_index") or [] if row["unit"] == code],
        "links": _links(int(release_info["id"])),
    })

