"""Pushing a release to CKAN, against recorded CKAN Action API exchanges (tests/fixtures/ckan/).

No CKAN runs here: a small WSGI server on 127.0.0.1 replays the recorded responses in order and
keeps every request, so the tests check what ``ckanapi`` really sent over HTTP — the action,
the API key header, the dataset fields, the uploaded bytes.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from survey.portal.ckan import CkanError, push_release
from survey.portal.datapackage import data_package
from tests.test_opendata_package import snapshot

EXCHANGES = Path(__file__).parent / "fixtures" / "ckan"
KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHM"


class _Quiet(WSGIRequestHandler):
    def log(self, *args: Any) -> None:  # keep the test output clean
        pass


class CkanStandIn:
    """Replays a recorded exchange; records what it was sent."""

    def __init__(self, exchange: list[dict[str, Any]]) -> None:
        self.exchange = list(exchange)
        self.requests: list[dict[str, Any]] = []
        self.server = make_server("127.0.0.1", 0, self, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        action = request.path.rsplit("/", 1)[-1]
        if request.mimetype == "application/json":
            data, files = request.get_json(), {}
        else:
            data = request.form.to_dict()
            files = {k: (f.filename, f.read(), f.mimetype) for k, f in request.files.items()}
        request.close()
        self.requests.append({"action": action, "path": request.path, "headers": dict(request.headers),
                              "data": data, "files": files})
        step = self.exchange.pop(0) if self.exchange else {"action": "?"}
        if step["action"] != action:
            body, status = {"success": False, "error": {"__type": "Internal Error",
                                                        "message": f"unexpected {action}"}}, 500
        else:
            body, status = step["response"], step.get("status", 200)
        return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)

    def __enter__(self) -> CkanStandIn:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()


def recorded(name: str) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((EXCHANGES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def pdf() -> bytes:
    return b"%PDF-1.7 stand-in bytes of a report\n"


def test_first_push_creates_the_dataset_and_uploads_every_file(pdf: bytes) -> None:
    snap = snapshot()
    package = data_package(snap)
    with CkanStandIn(recorded("first_push")) as ckan:
        result = push_release(snap, package, url=ckan.url, api_key=KEY, organization="so-noi-vu-ca-mau",
                              reports={"report.pdf": pdf})
    assert not ckan.exchange, "every recorded call was made"
    actions = [r["action"] for r in ckan.requests]
    assert actions == ["package_show", "package_create"] + ["resource_create"] * (len(package.files) + 1)
    assert all(r["path"].startswith("/api/action/") for r in ckan.requests)
    assert all(r["headers"]["Authorization"] == KEY for r in ckan.requests)
    created = ckan.requests[1]["data"]
    assert created["name"] == "hailong-96-2026-q3" and created["owner_org"] == "so-noi-vu-ca-mau"
    assert created["license_id"] == "cc-by" and created["version"] == "2"
    assert "Phiên bản 2: sửa số ý kiến" in created["notes"]
    assert {"key": "methodology_version", "value": "2026.1"} in created["extras"]
    uploads = {r["data"]["name"]: r for r in ckan.requests[2:]}
    assert set(uploads) == {p.rsplit("/", 1)[-1] for p in package.files} | {"report.pdf"}
    indices = uploads["indices.csv"]
    assert indices["data"]["package_id"] == "a3c1f0e2-5d4b-4f7e-9c1a-2b3d4e5f6a7b"
    assert indices["files"]["upload"] == ("indices.csv", package.files["data/indices.csv"], "text/csv")
    assert uploads["report.pdf"]["files"]["upload"][1] == pdf
    assert result.created and result.dataset_name == "hailong-96-2026-q3"
    assert result.resources["indices.csv"] == "5e0c0003-1d2f-4a6b-8c9d-0e1f2a3b4c5d"


def test_a_correction_updates_the_same_dataset_and_replaces_resources_by_name(pdf: bytes) -> None:
    snap = snapshot()
    package = data_package(snap)
    with CkanStandIn(recorded("second_push")) as ckan:
        result = push_release(snap, package, url=ckan.url, api_key=KEY, reports={"report.pdf": pdf})
    assert not ckan.exchange
    assert [r["action"] for r in ckan.requests][:2] == ["package_show", "package_patch"]
    patch = ckan.requests[1]["data"]
    assert patch["id"] == "a3c1f0e2-5d4b-4f7e-9c1a-2b3d4e5f6a7b" and "name" not in patch
    patched = {r["files"]["upload"][0]: r["data"]["id"] for r in ckan.requests[2:]}
    assert patched["trend.csv"] == "5e0c0007-1d2f-4a6b-8c9d-0e1f2a3b4c5d"
    assert all(r["action"] == "resource_patch" for r in ckan.requests[2:])
    assert not result.created


@pytest.mark.parametrize(("exchange", "words"), [
    ("refused_key", "refused the API key"),
    ("unknown_organization", "Organization does not exist"),
])
def test_a_refusal_is_a_clear_message(exchange: str, words: str) -> None:
    snap = snapshot()
    with CkanStandIn(recorded(exchange)) as ckan, pytest.raises(CkanError, match=words):
        push_release(snap, data_package(snap), url=ckan.url, api_key=KEY, organization="khong-co")


def test_an_unreachable_or_unconfigured_ckan_is_a_clear_message() -> None:
    snap = snapshot()
    with CkanStandIn([]) as ckan:
        url = ckan.url  # the port is free again once the stand-in stops
    with pytest.raises(CkanError, match="cannot be reached"):
        push_release(snap, data_package(snap), url=url, api_key=KEY)
    with pytest.raises(CkanError, match="not configured"):
        push_release(snap, data_package(snap), url="", api_key="")
