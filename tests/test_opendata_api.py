"""The published results over HTTP: the data package of a release built from stored ratings
(valid for ``frictionless validate``), the JSON API with stable ids, its OpenAPI description, and
only published releases ever served."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey.portal.opendata import release_document
from tests.opendata_actions import published_province
from tests.release_actions import Workflow, newest_release, release_app
from tests.test_opendata_package import GOLDEN, frictionless_validate, snapshot


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


def test_the_data_package_and_the_json_api_of_a_published_release(app: Flask, client: FlaskClient,
                                                                 tmp_path: Path) -> None:
    release_id, document = published_province(app)
    package = client.get(f"/data/releases/{release_id}/datapackage.json")
    assert package.status_code == 200
    descriptor = package.get_json()
    (tmp_path / "data").mkdir()
    (tmp_path / "datapackage.json").write_bytes(package.data)
    for resource in descriptor["resources"]:
        body = client.get(f"/data/releases/{release_id}/{resource['path']}")
        assert body.status_code == 200 and body.mimetype == "text/csv"
        (tmp_path / resource["path"]).write_bytes(body.data)
    report = frictionless_validate(tmp_path / "datapackage.json")
    assert report["valid"], json.dumps(report["tasks"], ensure_ascii=False)[:2000]
    zipped = client.get(f"/data/releases/{release_id}/datapackage.zip")
    assert zipped.mimetype == "application/zip" and zipped.data.startswith(b"PK")

    listing = client.get("/api/v1/releases").get_json()["releases"]
    assert [r["id"] for r in listing] == [release_id] and listing[0]["links"]["datapackage"].endswith("datapackage.json")
    body = client.get(f"/api/v1/releases/{release_id}").get_json()
    assert body["release"]["status"] == "published"
    csv_rows = list(csv.DictReader(io.StringIO((tmp_path / "data" / "indices.csv").read_text(encoding="utf-8-sig"))))
    assert [r["id"] for r in csv_rows] == [i["id"] for i in body["indices"]]  # one id, in the file and the API
    for api_row, stored in zip(body["indices"], document["indices"], strict=True):
        assert api_row["overall"] == stored["overall"] and api_row["n"] == stored["n"]
    one = body["indices"][0]
    single = client.get(f"/api/v1/releases/{release_id}/indices/{one['id']}").get_json()
    assert single["index"] == one
    commune = next(u["code"] for u in body["units"] if u["kind"] == "commune")
    latest = client.get(f"/api/v1/units/{commune}/latest").get_json()
    assert latest["release"]["id"] == release_id and {i["unit"] for i in latest["indices"]} == {commune}

    missing = client.get(f"/api/v1/releases/{release_id + 5}")
    assert missing.status_code == 404
    assert set(missing.get_json()["error"]) == {"status", "code", "message", "fields"}
    assert client.get(f"/api/v1/releases/{release_id}/indices/nope").status_code == 404
    assert client.get(f"/data/releases/{release_id}/data/nope.csv").status_code == 404

    workflow = Workflow(app.test_client())  # a draft (the next version, built, not approved) is never served
    workflow.login("phantich")
    assert workflow.prepare("2026", changelog="Phiên bản 2: thử").status_code == 302
    draft = newest_release(app.extensions["hailong.engine"]).id
    for url in (f"/api/v1/releases/{draft}", f"/data/releases/{draft}/datapackage.json",
                f"/data/releases/{draft}/report.pdf"):
        assert client.get(url).status_code == 404, url
    assert [r["id"] for r in client.get("/api/v1/releases").get_json()["releases"]] == [release_id]


def test_the_openapi_document_describes_the_published_results(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    rules = {r.rule.replace("<int:", "{").replace("<", "{").replace(">", "}") for r in app.url_map.iter_rules()}
    for path in ("/api/v1/releases", "/api/v1/releases/{release_id}", "/api/v1/releases/{release_id}/indices/{index_id}",
                 "/api/v1/units/{unit_code}/latest"):
        assert path in spec["paths"], path
        assert spec["paths"][path]["get"]["security"] == []  # public
    assert {"/api/v1/releases", "/api/v1/releases/{release_id}"} <= rules
    index = spec["components"]["schemas"]["PublishedIndex"]
    assert {"id", "suppressed", "overall"} <= set(index["required"])


def test_golden_json_of_the_hand_built_release(app: Flask) -> None:
    """The JSON body of a release must not change without a reviewed golden file."""
    with app.test_request_context():
        body = json.dumps(release_document(snapshot()), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    golden = GOLDEN / "api_release.json"
    if os.environ.get("HAILONG_UPDATE_GOLDEN") == "1":
        golden.write_text(body, encoding="utf-8")
    assert body == golden.read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(body)
    assert loaded["indices"][0]["id"] == "96-2026-Q3:sipas-kiosk:96:all"
    assert loaded["links"]["pdf"] == "/data/releases/12/report.pdf"
