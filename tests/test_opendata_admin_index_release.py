"""Decision 766 figures end to end: imported by staff, carried by the next release built into its
snapshot, shown on the unit's public page beside the survey estimate, and published in the data
package and the JSON API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.opendata_actions import publish_release
from tests.release_actions import PASSWORD, release_app, small_province


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


def test_imported_figures_reach_the_unit_page_and_the_open_data(app: Flask, client: FlaskClient) -> None:
    small_province(app.extensions["hailong.engine"])
    client.post("/auth/login", data={"username": "phantich", "password": PASSWORD})
    upload = ("\ufeffMã đơn vị,Kỳ,Hồ sơ giải quyết đúng hạn,Hồ sơ đã giải quyết,5.2 Phản ánh xử lý đúng hạn,"
              "5.2 Phản ánh đã tiếp nhận\r\n96001,2026,1180,1214,9,10\r\n").encode()
    done = client.post("/staff/admin-index/", data={"file": (io.BytesIO(upload), "766.csv")},
                       content_type="multipart/form-data")
    assert done.status_code == 303, done.get_data(as_text=True)[:500]
    release_id = publish_release(app, "2026")

    body = client.get("/api/v1/units/96001/latest").get_json()
    rows = {r["indicator"]: r for r in body["admin_index"]}
    assert rows["timeliness"]["numerator"] == 1180 and rows["timeliness"]["denominator"] == 1214
    assert rows["feedback_on_time"]["rate"] == pytest.approx(0.9)
    page = client.get(f"/portal/r/{release_id}/sipas-kiosk/96001/").get_data(as_text=True)
    assert "Quyết định 766" in page and "1.180 / 1.214" in page and "97,2%" in page
    survey = next(i for i in body["indices"] if i["service"] is None)
    assert f"{survey['overall']['estimate'] * 100:.1f}".replace(".", ",") + "%" in page  # beside the survey index
    csv = client.get(f"/data/releases/{release_id}/data/admin_index.csv").get_data(as_text=True)
    assert "96001,2026,timeliness,1180,1214," in csv
