"""The boundary map (issue 10 point 3): an analyst uploads the province's commune boundaries
(GeoJSON) in the staff area; a bad file is refused with every problem by feature number in
Vietnamese and nothing stored; a release copies the boundaries it draws into its snapshot, so a
later upload does not change a published map; the province page then draws a choropleth (units
with too few answers hatched grey, its data table, title and description), and the tile map
where no boundaries were uploaded. Both databases.

The boundaries are the generated, real-shaped fixture of Cà Mau's 64 communes
(``tests/fixtures/boundaries/make_ca_mau.py``), the first five relabelled to the small province."""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET  # noqa: S405 - parses the pages under test
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from shapely.geometry import shape
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from survey.portal import boundaries
from survey.store.models import Unit, UnitBoundaries, UnitLevel
from tests.release_actions import COMMUNES, Workflow, newest_release, release_app, small_province

FIXTURE = Path(__file__).parent / "fixtures" / "boundaries" / "ca_mau_communes.geojson"
SVG = "http://www.w3.org/2000/svg"
CODES = [c for c, _n, _e, _k in COMMUNES]  # 96001 … 96005 (96005: too few answers to publish)


def ca_mau() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


def small_file(codes: list[str] = CODES, prop: str = "ma_xa") -> dict[str, Any]:
    """Five of the fixture's communes, neighbours in its north-east, relabelled to ``codes``."""
    document = ca_mau()
    features = document["features"][: len(codes)]
    for feature, code in zip(features, codes, strict=True):
        feature["properties"] = {prop: code, "ten_xa": "x"}
    return {"type": "FeatureCollection", "features": features}


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


@pytest.fixture
def workflow(app: Flask, client: FlaskClient) -> Workflow:
    engine = app.extensions["hailong.engine"]
    small_province(engine)
    with Session(engine) as session:  # the communes' official codes (the demo's come from the official list)
        session.execute(update(Unit).where(Unit.level == UnitLevel.COMMUNE).values(official_code=Unit.code))
        session.commit()
    return Workflow(client)


def upload(client: FlaskClient, document: Any, prop: str = "ma_xa", name: str = "xa.geojson") -> Any:
    data = document if isinstance(document, bytes) else json.dumps(document).encode("utf-8")
    return client.post("/staff/boundaries/", data={"province": "96", "code_property": prop,
                                                   "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def stored_count(app: Flask) -> int:
    with Session(app.extensions["hailong.engine"]) as session:
        return int(session.scalar(select(func.count()).select_from(UnitBoundaries)) or 0)


def text_of(response: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_the_real_shaped_fixture_passes_and_is_stored_as_the_map_draws_it(app: Flask) -> None:
    from survey.admin.official import import_official

    with Session(app.extensions["hailong.engine"]) as session, app.test_request_context():
        import_official(session, provinces=[96])
        session.flush()
        province = session.scalars(select(Unit).where(Unit.code == "96")).one()
        communes = boundaries.communes_of(session, province)
        checked = boundaries.check_geojson(FIXTURE.read_bytes(), communes)
        assert len(communes) == 64 and len(checked.features) == 64 and checked.units_without == []
        for geometry in checked.features.values():
            shaped = shape(geometry)
            assert shaped.is_valid
            for part in getattr(shaped, "geoms", [shaped]):  # clockwise: d3-geo's spherical winding
                assert not part.exterior.is_ccw
        original = {f["properties"]["ma_xa"]: shape(f["geometry"]) for f in ca_mau()["features"]}
        for code, geometry in checked.features.items():  # simplified, but the same commune
            assert shape(geometry).symmetric_difference(original[code]).area < 0.01 * original[code].area
        assert sum(1 for g in checked.features.values() if g["type"] == "MultiPolygon") == 1  # Hòn Khoai


def test_a_bad_file_is_refused_with_every_problem_by_feature_number_and_nothing_stored(
        app: Flask, workflow: Workflow, client: FlaskClient) -> None:
    workflow.login("phantich")
    assert upload(client, small_file()).status_code == 303
    before = stored_count(app)
    document = small_file()
    good = document["features"][0]
    bowtie = {"type": "Polygon", "coordinates": [[[105.0, 9.0], [105.1, 9.1], [105.1, 9.0], [105.0, 9.1],
                                                  [105.0, 9.0]]]}
    features = [
        good,
        {"type": "Feature", "properties": {"ten": "không mã"}, "geometry": good["geometry"]},
        {"type": "Feature", "properties": {"ma_xa": "99999"}, "geometry": good["geometry"]},
        {"type": "Feature", "properties": {"ma_xa": 96001}, "geometry": good["geometry"]},  # 96001 again
        {"type": "Feature", "properties": {"ma_xa": "96002"}, "geometry": {"type": "Point", "coordinates": [105, 9]}},
        {"type": "Feature", "properties": {"ma_xa": "96003"}, "geometry": bowtie},
        {"type": "Feature", "properties": {"ma_xa": "96004"}, "geometry": {
            "type": "Polygon", "coordinates": [[[105.0, 9.0], [105.1, 9.0], [105.1, 9.1], [105.0, 9.1]]]}},
        {"type": "Feature", "properties": {"ma_xa": "96005"}, "geometry": {
            "type": "Polygon", "coordinates": [[[541200.0, 1012000.0], [542000.0, 1012000.0],
                                                [542000.0, 1013000.0], [541200.0, 1012000.0]]]}},
        {"type": "Feature", "properties": {"ma_xa": "abc"}, "geometry": {
            "type": "Polygon", "coordinates": [[[105.0, 95.0], [105.1, 95.0], [105.1, 95.1], [105.0, 95.0]]]}},
    ]
    refused = upload(client, {"type": "FeatureCollection", "features": features})
    assert refused.status_code == 422
    text = text_of(refused)
    assert "Tệp chưa được lưu" in text
    for expected in (
            "Đối tượng số 2: không có thuộc tính “ma_xa” chứa mã xã.",
            "Đối tượng số 3: không có xã, phường nào của tỉnh mang mã 99999.",
            "Đối tượng số 4: mã 96001 đã được dùng cho đối tượng số 1.",
            "Đối tượng số 5: hình học là Point, không phải Polygon hay MultiPolygon.",
            "Đối tượng số 6: hình học không hợp lệ: Self-intersection",
            "Đối tượng số 7: có một vòng ranh giới không khép kín",
            "Đối tượng số 8: tọa độ (541200.0, 1012000.0) không phải độ WGS84",
            "Đối tượng số 9: “abc” không phải mã xã 5 chữ số.",
            "Đối tượng số 9: điểm (105.0, 95.0) nằm ngoài phạm vi WGS84"):
        assert expected in text, expected
    assert "Đối tượng số 1:" not in text
    assert stored_count(app) == before  # the earlier upload is untouched
    for bad, message in ((b"{not json", "Tệp không phải JSON hợp lệ (dòng 1, cột 2)"),
                         (b'{"type": "Feature"}', "Tệp không phải một FeatureCollection GeoJSON"),
                         (b"\xff\xfe\x00", "Tệp không phải văn bản UTF-8"),
                         (json.dumps({"type": "FeatureCollection", "features": []}).encode(), "Tệp không có đối tượng nào"),
                         (json.dumps({**small_file(), "crs": {"type": "name", "properties": {
                             "name": "urn:ogc:def:crs:EPSG::3405"}}}).encode(), "Hệ tọa độ của tệp là urn:ogc:def:crs:EPSG::3405")):
        response = upload(client, bad)
        assert response.status_code == 422 and message in text_of(response), message
    # the property name is the uploader's choice
    assert upload(client, small_file(prop="MaXa"), prop="ma_xa").status_code == 422
    assert upload(client, small_file(prop="MaXa"), prop="MaXa").status_code == 303


def test_a_file_above_the_size_limit_is_refused(app: Flask, workflow: Workflow, client: FlaskClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boundaries, "MAX_BYTES", 1024)
    workflow.login("phantich")
    response = upload(client, small_file())
    assert response.status_code == 422 and "Tệp lớn hơn 0 MB" in text_of(response)
    assert stored_count(app) == 0


def test_only_analysts_and_admins_upload_boundaries(app: Flask, workflow: Workflow, client: FlaskClient) -> None:
    workflow.login("canbo")
    assert client.get("/staff/boundaries/").status_code == 403
    assert upload(client, small_file()).status_code == 403
    assert stored_count(app) == 0
    workflow.login("admin")
    assert client.get("/staff/boundaries/").status_code == 200


def publish(app: Flask, workflow: Workflow, period: str = "2026", changelog: str = "") -> int:
    workflow.login("phantich")
    assert workflow.prepare(period, changelog=changelog).status_code == 302
    built = newest_release(app.extensions["hailong.engine"])
    workflow.login("congbo")
    assert workflow.publish(built.id).status_code == 302
    return built.id


def map_figure(client: FlaskClient, release_id: int) -> str:
    html = client.get(f"/portal/r/{release_id}/sipas-kiosk/96/").get_data(as_text=True)
    found = re.search(r'<figure class="chart-figure" id="figure-map-commune".*?</figure>', html, re.S)
    assert found is not None
    return found.group(0)


def test_a_release_draws_the_uploaded_boundaries_and_keeps_them(app: Flask, workflow: Workflow,
                                                                client: FlaskClient, tmp_path: Path) -> None:
    workflow.login("phantich")
    first = small_file()
    assert upload(client, first).status_code == 303
    page = client.get("/staff/boundaries/")
    assert "5" in text_of(page) and "xa.geojson" in text_of(page)
    release_id = publish(app, workflow)
    snapshot = newest_release(app.extensions["hailong.engine"]).snapshot
    assert snapshot is not None
    carried = snapshot["boundaries"]
    assert sorted(f["properties"]["unit"] for f in carried["features"]) == CODES
    assert carried["source"] == "xa.geojson"

    figure = map_figure(client, release_id)
    assert "Bản đồ chỉ số chung" in figure
    svg = re.search(r"<svg.*?</svg>", figure, re.S)
    assert svg is not None
    drawing = svg.group(0)
    assert re.search(r"<title[^>]*>Bản đồ chỉ số chung</title>", drawing) and "<desc" in drawing
    assert 'role="img"' in drawing
    # the suppressed commune (96005) is hatched, with its legend entry
    assert re.search(r'fill="url\(#chart-map-commune-[0-9a-f]+-hatch\)"', drawing)
    assert "chưa đủ ý kiến để công bố" in drawing
    assert "1 đơn vị tô xám gạch chéo" in figure
    # one shape per commune: 4 coloured on the sequential scale + 1 hatched (legend symbols aside)
    root = ET.fromstring(drawing)  # noqa: S314 - the page under test
    shapes = [path for group in root.iter(f"{{{SVG}}}g") if "mark-shape" in (group.get("class") or "")
              for path in group.iter(f"{{{SVG}}}path")]
    assert len(shapes) == 5
    fills = [path.get("fill") or "" for path in shapes]
    coloured = [f for f in fills if f and not f.startswith("url(#")]
    assert sum(1 for f in fills if f.startswith("url(#")) == 1 and len(coloured) == 4 and len(set(coloured)) >= 3
    # the data table: every commune, the suppressed one with the suppression text
    table = re.search(r"<table.*?</table>", figure, re.S)
    assert table is not None
    for _code, name, _e, _k in COMMUNES:
        assert name in table.group(0)
    assert "chưa đủ ý kiến để công bố" in table.group(0)
    # its data one click away, without the geometry
    csv = client.get(f"/portal/r/{release_id}/sipas-kiosk/96/charts/map-commune.csv")
    assert csv.status_code == 200 and "Xã Tắc Vân" in csv.get_data(as_text=True)
    svg_file = client.get(f"/portal/r/{release_id}/sipas-kiosk/96/charts/map-commune.svg")
    assert svg_file.status_code == 200 and b"hatch" in svg_file.data

    # the PDF report and the static site carry the map too
    pdf = client.get(f"/data/releases/{release_id}/report.pdf")
    assert pdf.status_code == 200
    if shutil.which("pdftotext"):
        done = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True)  # noqa: S607
        assert "Bản đồ chỉ số chung" in done.stdout.decode("utf-8")
    from survey.portal import static_site

    site = tmp_path / "site"
    assert not static_site.build(app, site, languages=("vi",)).failed
    static_page = (site / "portal" / "r" / str(release_id) / "sipas-kiosk" / "96" / "index.html").read_text("utf-8")
    assert "Bản đồ chỉ số chung" in static_page and "-hatch)" in static_page

    # a new upload (three communes) changes the next release's map, never the published one
    assert upload(client, small_file(CODES[:3])).status_code == 403  # the publisher may not
    workflow.login("phantich")
    assert upload(client, small_file(CODES[:3])).status_code == 303
    again = client.get(f"/portal/r/{release_id}/sipas-kiosk/96/charts/map-commune.svg")
    assert again.data == svg_file.data
    second = publish(app, workflow, changelog="phiên bản 2: bản đồ theo ranh giới mới")
    assert "2 đơn vị không có ranh giới trên bản đồ" in map_figure(client, second)
    with Session(app.extensions["hailong.engine"]) as session:
        from survey.portal.snapshot import published_snapshot

        kept = published_snapshot(session, release_id)
        assert kept is not None and len(kept["boundaries"]["features"]) == 5  # type: ignore[typeddict-item]


def test_without_boundaries_the_tile_map_is_drawn(app: Flask, workflow: Workflow, client: FlaskClient) -> None:
    release_id = publish(app, workflow)
    snapshot = newest_release(app.extensions["hailong.engine"]).snapshot
    assert snapshot is not None and snapshot["boundaries"] is None
    figure = map_figure(client, release_id)
    assert "Bản đồ chỉ số chung" not in figure and "hatch" not in figure
    assert 'role="img"' in figure  # the tile map, as before


def test_the_map_chart_keeps_its_rows_when_a_unit_has_no_boundary() -> None:
    from survey.portal.figures import boundary_map_chart
    from survey.portal.published import Published
    from tests.portal_fixtures import sample_snapshot

    snapshot = sample_snapshot()
    ranking = next(r for r in snapshot["rankings"] if r["level"] == "commune" and r["service"] is None)
    assert boundary_map_chart(Published(snapshot), ranking) is None  # no boundaries: tiles instead
    codes = [row["unit"] for row in ranking["rows"]]
    shapes = small_file(codes[:2] if len(codes) > 2 else codes)["features"]
    document = copy.deepcopy(snapshot)
    document["boundaries"] = {"type": "FeatureCollection", "source": "x", "uploaded_at": None, "features": [
        {"type": "Feature", "properties": {"unit": f["properties"]["ma_xa"]}, "geometry": f["geometry"]}
        for f in shapes]}
    flask_app = Flask(__name__)
    from flask_babel import Babel

    Babel(flask_app)
    with flask_app.test_request_context():
        chart = boundary_map_chart(Published(document), ranking)
        assert chart is not None and chart.key == "map-commune"
        assert len(chart.rows) == len(ranking["rows"])  # every unit in the table
        assert sum(1 for r in chart.rows if r["on_map"] == "yes") == len(shapes)
        assert len(chart.spec["datasets"]["shown"]) + len(chart.spec["datasets"]["hidden"]) == len(shapes)
