"""The public portal's pages, served from a stored, published snapshot (on both databases).

Every number checked below is read from the snapshot the test stored, formatted the way a reader
sees it (decimal comma in Vietnamese), never recomputed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.portal_fixtures import publish, sample_snapshot, withdraw

SUPPRESSED_VI = "chưa đủ ý kiến để công bố"


def vi_percent(share: float) -> str:
    return f"{share * 100:.1f}".replace(".", ",") + "%"


def index(snapshot: dict[str, Any], unit: str, service: str | None = None) -> dict[str, Any]:
    return next(i for i in snapshot["indices"] if i["unit"] == unit and i["service"] == service)


@pytest.fixture
def released(db: Session) -> tuple[int, dict[str, Any]]:
    document = sample_snapshot()
    release = publish(db, document)
    return release.id, document


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.data[:500])
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    """The page's visible text, roughly: tags out, whitespace folded."""
    html = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_province_page_shows_its_index_ci_n_change_goal_and_ranking(
        client: FlaskClient, released: tuple[int, dict[str, Any]]) -> None:
    release_id, snapshot = released
    html = page(client, f"/portal/r/{release_id}/sipas-kiosk/96/")
    text = text_of(html)
    province = index(snapshot, "96")
    overall = province["overall"]
    assert "Cà Mau" in text
    assert vi_percent(overall["estimate"]) in text
    assert f"{vi_percent(overall['ci_low'])[:-1]}–{vi_percent(overall['ci_high'])}" in text
    assert f"{province['n']:,}".replace(",", ".") in text  # 1.480
    # the five elements, with their intervals
    for element in province["elements"]:
        assert element["label_vi"] in text
        assert vi_percent(element["estimate"]) in text
    # PAR 8.1 points with two decimals
    assert f"{province['par_points']['estimate']:.2f}".replace(".", ",") in text
    # change: signed points and its significance in words
    delta = province["change"]["delta"] * 100
    assert ("+" if delta > 0 else "−") + f"{abs(delta):.1f}".replace(".", ",") in text
    # the goal and the gap
    assert vi_percent(province["target"]["value"]) in text
    # the communes ranked, with rank intervals and groups; the suppressed one listed but not ranked
    ranking = next(r for r in snapshot["rankings"] if r["level"] == "commune" and r["service"] is None)
    for row in ranking["rows"]:
        if row["suppressed"]:
            continue
        assert f"{row['rank_low']}–{row['rank_high']}" in text
    assert "Xã Ân Hòa" in text and SUPPRESSED_VI in text
    assert vi_percent(ranking["median"]) in text
    # the departments have their own ranking
    assert "Sở Tư pháp" in text
    # each chart is inline SVG with its title, and has CSV/JSON/SVG links and a methodology link
    assert html.count('role="img"') >= 5
    for name in ("elements", "distribution", "trend", "ranking-commune", "map-commune", "ranking-department"):
        for fmt in ("svg", "csv", "json"):
            assert f"/portal/r/{release_id}/sipas-kiosk/96/charts/{name}.{fmt}" in html
    assert "/portal/methodology/#rule-par_weighted" in html
    assert "/portal/methodology/#rank-intervals" in html
    # the changelog of the series
    assert "Công bố lần đầu." in text


def test_a_unit_and_service_page_has_the_full_distribution(
        client: FlaskClient, released: tuple[int, dict[str, Any]]) -> None:
    release_id, snapshot = released
    text = text_of(page(client, f"/portal/r/{release_id}/sipas-kiosk/96001/land/"))
    cell = index(snapshot, "96001", "land")
    assert "Cấp giấy chứng nhận quyền sử dụng đất" in text
    assert vi_percent(cell["overall"]["estimate"]) in text
    total = sum(d["count"] for d in cell["distribution"])
    for level in cell["distribution"]:
        assert f"{level['count']:,}".replace(",", ".") in text
        assert vi_percent(level["count"] / total) in text
    assert "Rất hài lòng" in text and "Rất không hài lòng" in text


def test_a_small_unit_shows_the_suppression_text_and_no_number(
        client: FlaskClient, released: tuple[int, dict[str, Any]]) -> None:
    release_id, _snapshot = released
    html = page(client, f"/portal/r/{release_id}/sipas-kiosk/96006/")
    text = text_of(html)
    assert SUPPRESSED_VI in text
    assert "45" in text  # n is always published, so a reader sees why
    assert not re.search(r"\d+,\d%", text), "a suppressed unit's page shows no percentage"
    data = json.loads(client.get(f"/portal/r/{release_id}/sipas-kiosk/96006/charts/elements.json").data)
    assert all(row["suppressed"] and row["estimate"] is None for row in data["rows"])
    body = client.get(f"/portal/r/{release_id}/sipas-kiosk/96006/charts/distribution.csv?lang=en").data
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows and all(r["Answers"] == "" and r["Suppressed"] == "1" for r in rows)


def test_chart_data_downloads_match_the_snapshot(client: FlaskClient, released: tuple[int, dict[str, Any]]) -> None:
    release_id, snapshot = released
    base = f"/portal/r/{release_id}/sipas-kiosk/96/charts"
    response = client.get(f"{base}/ranking-commune.csv?lang=en")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data
    assert body.startswith("\ufeff".encode()), "CSV for Excel starts with a byte-order mark"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    ranking = next(r for r in snapshot["rankings"] if r["level"] == "commune" and r["service"] is None)
    by_name = {r["Unit"]: r for r in rows}
    names = {u["code"]: u["name"] for u in snapshot["units"]}
    for row in ranking["rows"]:
        got = by_name[names[row["unit"]]]
        if row["suppressed"]:
            assert got["Index"] == "" and got["Rank"] == "" and got["Suppressed"] == "1"
        else:
            assert float(got["Index"]) == pytest.approx(row["estimate"])
            assert int(got["Rank"]) == row["rank"]
            assert int(got["Rank interval from"]) == row["rank_low"]
            assert int(got["Rank interval to"]) == row["rank_high"]
    data = json.loads(client.get(f"{base}/trend.json").data)
    trend = [t for t in snapshot["trend"] if t["unit"] == "96" and t["service"] is None]
    assert [r["estimate"] for r in data["rows"]] == [t["estimate"] for t in trend]
    assert data["release"]["id"] == release_id and data["release"]["version"] == 1
    svg = client.get(f"{base}/elements.svg")
    assert svg.mimetype == "image/svg+xml" and b"<title" in svg.data


def test_english_pages_use_a_decimal_point(client: FlaskClient, released: tuple[int, dict[str, Any]]) -> None:
    release_id, snapshot = released
    text = text_of(page(client, f"/portal/r/{release_id}/sipas-kiosk/96/?lang=en"))
    estimate = index(snapshot, "96")["overall"]["estimate"]
    assert f"{estimate * 100:.1f}%" in text
    assert "Satisfaction index" in text and "Q3 2026" in text


def test_a_correction_is_a_new_version_with_its_changelog_and_the_old_one_says_so(
        client: FlaskClient, db: Session) -> None:
    document = sample_snapshot()
    first = publish(db, document, version=1)
    document["indices"][0]["n"] = 1468
    second = publish(db, document, version=2)
    old = text_of(page(client, f"/portal/r/{first.id}/sipas-kiosk/96/"))
    new = text_of(page(client, f"/portal/r/{second.id}/sipas-kiosk/96/"))
    assert "phiên bản 2: sửa số ý kiến của Xã Tắc Vân" in new
    assert "phiên bản 2: sửa" not in old
    assert "1.468" in new and "1.480" in old
    assert "phiên bản mới hơn" in old and "phiên bản mới hơn" not in new
    # the unit's stable address leads to the newest version
    response = client.get("/portal/u/96")
    assert response.status_code == 302 and f"/portal/r/{second.id}/" in response.headers["Location"]


def test_a_withdrawn_release_shows_its_public_notice(client: FlaskClient, db: Session) -> None:
    release = publish(db, sample_snapshot())
    withdraw(db, release, "Rút lại vì trùng phiếu ở hai xã; sẽ công bố lại.")
    html = page(client, f"/portal/r/{release.id}/sipas-kiosk/96/")
    assert "Rút lại vì trùng phiếu ở hai xã; sẽ công bố lại." in html
    listing = text_of(page(client, "/portal/"))
    assert "Cà Mau" in listing


def test_unknown_addresses_get_a_friendly_404(client: FlaskClient, released: tuple[int, dict[str, Any]]) -> None:
    release_id, _ = released
    for url in (f"/portal/r/{release_id + 100}/", f"/portal/r/{release_id}/sipas-kiosk/nowhere/",
                f"/portal/r/{release_id}/no-such-survey/96/", f"/portal/r/{release_id}/sipas-kiosk/96/charts/pie.svg",
                f"/portal/r/{release_id}/sipas-kiosk/96/charts/elements.exe", "/portal/u/00000",
                "/portal/widget/00000/embed", "/portal/desk/nowhere/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Traceback" not in response.get_data(as_text=True)
        assert 'lang="vi"' in response.get_data(as_text=True)


def test_the_papi_page_sets_the_survey_beside_the_official_scores(
        client: FlaskClient, released: tuple[int, dict[str, Any]]) -> None:
    release_id, snapshot = released
    text = text_of(page(client, f"/portal/r/{release_id}/papi/"))
    papi = snapshot["papi"]
    assert f"{papi['total']['estimate']:.2f}".replace(".", ",") in text
    for dimension in papi["dimensions"]:
        assert dimension["label_vi"] in text
    # the official PAPI 2015 total of Cà Mau (35.8213 → 35,82) and its rank among 63 provinces
    assert "35,82" in text and "25/63" in text
    # Bạc Liêu was merged into Cà Mau in 2025: its official scores are shown too
    assert "Bạc Liêu" in text


def test_the_methodology_note_has_every_anchor_the_pages_link_to(
        client: FlaskClient, released: tuple[int, dict[str, Any]]) -> None:
    release_id, _ = released
    note = page(client, "/portal/methodology/")
    linked = set()
    for url in (f"/portal/r/{release_id}/sipas-kiosk/96/", f"/portal/r/{release_id}/sipas-kiosk/96001/land/",
                f"/portal/r/{release_id}/papi/"):
        linked |= set(re.findall(r'/portal/methodology/#([\w-]+)', page(client, url)))
    assert linked, "figures link to the methodology note"
    for anchor in linked:
        assert f'id="{anchor}"' in note, anchor


def test_the_widget_can_be_framed_and_has_a_no_script_image(
        client: FlaskClient, released: tuple[int, dict[str, Any]]) -> None:
    _, snapshot = released
    response = client.get("/portal/widget/96001")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response.headers.get("Content-Security-Policy", "")
    text = text_of(response.get_data(as_text=True))
    assert vi_percent(index(snapshot, "96001")["overall"]["estimate"]) in text
    image = client.get("/portal/widget/96001.svg")
    assert image.mimetype == "image/svg+xml" and "Phường An Xuyên" in image.get_data(as_text=True)
    embed = page(client, "/portal/widget/96001/embed")
    assert "&lt;iframe" in embed and "portal-embed.js" in embed and "/portal/widget/96001.svg" in embed
    # other pages may not be framed
    assert client.get("/portal/methodology/").headers.get("X-Frame-Options") == "DENY"


def test_the_desk_display_rotates_through_the_desks_services(
        client: FlaskClient, released: tuple[int, dict[str, Any]]) -> None:
    _, snapshot = released
    html = page(client, "/portal/desk/AX-1/")
    text = text_of(html)
    assert text.count("Cấp giấy chứng nhận quyền sử dụng đất") == 1  # the desk offers land only
    assert "Chứng thực, xác nhận" not in text
    assert vi_percent(index(snapshot, "96001", "land")["overall"]["estimate"]) in text
    assert 'class="slide"' in html and "desk-display.js" in html
    version = json.loads(client.get("/portal/desk/AX-1/version").data)
    assert version["release"] == released[0]
    worker = client.get("/portal/desk/sw.js")
    assert worker.status_code == 200 and worker.headers["Service-Worker-Allowed"] == "/portal/desk/"
    assert b"caches.match" in worker.data
    worker.close()


def test_citizens_find_the_results_from_the_poster_receipt_and_thank_you_screens(
        app: Flask, client: FlaskClient, db: Session, demo: str) -> None:
    from sqlalchemy import select

    from survey.collect.links import make_receipt
    from survey.store.models import Desk, ReleaseUnit

    desk = db.scalars(select(Desk).order_by(Desk.code)).first()
    assert desk is not None
    unit = desk.unit
    service = unit.services[0]
    target = f"/portal/u/{unit.code}"
    with app.app_context():
        token = make_receipt(unit.code, service.code, "HS-000123")
    screens = (f"/s/{unit.code}/{service.code}/poster", f"/s/{unit.code}/{service.code}", f"/r/{token}",
               f"/kiosk/{desk.code}/thanks", f"/s/thanks?unit={unit.code}")
    for url in screens:
        assert target not in page(client, url), f"{url} links to results before any is published"
    release = publish(db, sample_snapshot())
    db.add(ReleaseUnit(release_id=release.id, unit_code=unit.code))
    db.commit()
    for url in screens:
        assert target in page(client, url), url
    assert "<svg" in page(client, f"/kiosk/{desk.code}/thanks")  # a QR the citizen can scan


def test_a_release_built_from_stored_answers_renders_and_later_answers_do_not_change_it(
        app: Flask, client: FlaskClient, db: Session, demo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real builder's snapshot (the demo's answers of 2026), published by another account:
    the pages show it, and a response approved afterwards changes nothing on them."""
    import datetime as dt
    import uuid

    from sqlalchemy import select

    from survey.portal.releases import Choice, build, prepare
    from survey.portal.releases import publish as approve
    from survey.store import compact
    from survey.store.models import Answer, Response, ReviewStatus, User

    publisher = db.scalar(select(User).where(User.username == "congbo"))
    assert publisher is not None
    with app.test_request_context("/"):
        release = prepare(db, Choice(period="2026", scope="96", questionnaires=["sipas-kiosk"]), None)
        db.commit()
        assert build(app.extensions["hailong.sessionmaker"], release.id) == "ready"
        db.refresh(release)
        approve(db, release, publisher)
        db.commit()
    url = f"/portal/r/{release.id}/sipas-kiosk/96/"
    before = page(client, url)
    assert "Tỉnh Cà Mau" in before or "Cà Mau" in before
    assert 'role="img"' in before
    sample = db.scalars(select(Response).where(Response.questionnaire_id == "sipas-kiosk")).first()
    assert sample is not None
    late = Response(id=uuid.uuid4(), questionnaire_id=sample.questionnaire_id,
                    questionnaire_version_id=sample.questionnaire_version_id, unit_id=sample.unit_id,
                    service_id=sample.service_id, channel=sample.channel,
                    submitted_at=dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), review_status=ReviewStatus.APPROVED,
                    payload_hash="0" * 64)
    late.answers = [*(Answer(question_id=q, value_num=1.0) for q in compact.numbers(db, sample.id)),  # all "very
                    *(Answer(question_id=a.question_id, value_text=a.value_text)  # dissatisfied", as rows
                      for a in sample.answers if a.value_text is not None)]
    db.add(late)
    db.commit()
    from survey.portal import pages as portal_pages

    # no help from the page cache: the page is rendered again from the stored snapshot
    monkeypatch.setattr(portal_pages, "PAGES", portal_pages.Memo(8))
    after = page(client, url)
    assert text_of(after) == text_of(before)
