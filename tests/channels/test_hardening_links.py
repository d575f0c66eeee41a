"""Issue 12 points 5 and 10: the public-link and receipt forms keep the citizen's answers when
the CSRF token expired or the rate limit refuses (429, explained in Vietnamese, sent again with
one press); per-address limits on public links and unregistered kiosks; public-link ratings of
a unit beyond a rate per hour held for review — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from survey.collect.submissions import desk_services
from survey.store.models import Channel, Desk, Response
from tests.channels.conftest import FIVE, device_token

SERVICE = "CHUNG-THUC"
FORM = {k: str(v) for k, v in FIVE.items()}


@pytest.fixture
def place(db, demo) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    for desk in db.scalars(select(Desk).where(Desk.active.is_(True)).order_by(Desk.code)):
        if SERVICE in {s.code for s in desk_services(db, desk)}:
            return SimpleNamespace(desk=desk.code, unit=desk.unit.code)
    raise AssertionError("the demo has no desk offering " + SERVICE)


def _web(db) -> int:  # type: ignore[no-untyped-def]
    return int(db.scalar(select(func.count()).select_from(Response).where(Response.channel == Channel.WEB)) or 0)


def _checked(html: str, name: str) -> str | None:
    for tag in re.findall(r"<input[^>]*>", html):
        if f'name="{name}"' in tag and "checked" in tag:
            found = re.search(r'value="([^"]*)"', tag)
            return found.group(1) if found else None
    return None


def _token(html: str) -> str:
    found = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
    assert found is not None
    value = re.search(r'value="([^"]+)"', found.group(0))
    assert value is not None
    return value.group(1)


def test_an_expired_csrf_token_keeps_the_answers_and_one_more_press_sends_them(app, client, db, place) -> None:  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = True
    url = f"/s/{place.unit}/{SERVICE}"
    assert client.get(url).status_code == 200
    rid = str(uuid.uuid4())
    stale = client.post(url, data={**FORM, "submission_id": rid, "csrf_token": "expired-page"})
    html = stale.get_data(as_text=True)
    assert stale.status_code == 400 and "Trang này đã mở quá lâu" in html
    assert _checked(html, "access_facilities") == "5" and _checked(html, "result_on_time") == "3"
    assert rid in html and _web(db) == 0  # the same submission id goes out again: stored once
    again = client.post(url, data={**FORM, "submission_id": rid, "csrf_token": _token(html)})
    assert again.status_code == 303 and _web(db) == 1


def test_the_rate_limit_answers_429_and_keeps_the_answers(app, client, db, place) -> None:  # type: ignore[no-untyped-def]
    app.config["LINK_PER_ADDRESS_PER_MINUTE"] = 2
    url = f"/s/{place.unit}/{SERVICE}"
    for _ in range(2):
        assert client.post(url, data={**FORM, "submission_id": str(uuid.uuid4())}).status_code == 303
    refused = client.post(url, data={**FORM, "submission_id": str(uuid.uuid4())})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "vui lòng đợi một phút" in html and _checked(html, "servant_conduct") == "5"
    assert _web(db) == 2
    neighbour = app.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = "203.0.113.50"  # another household: its own limit
    assert neighbour.post(url, data={**FORM, "submission_id": str(uuid.uuid4())}).status_code == 303


def test_the_limit_counts_the_real_client_behind_a_trusted_proxy(tmp_path, demo, app) -> None:  # type: ignore[no-untyped-def]
    from survey import create_app

    proxied = create_app({**{k: app.config[k] for k in ("DATABASE_URL", "SECRET_KEY")}, "TESTING": True,
                          "TRUSTED_PROXIES": 1, "LINK_PER_ADDRESS_PER_MINUTE": 1,
                          "DOSSIER_KEY_FILE": str(tmp_path / "k.json")})
    try:
        client = proxied.test_client()  # every request comes from the proxy's address
        with proxied.app_context():
            from survey.store.db import get_session

            desk = next(d for d in get_session().scalars(select(Desk).order_by(Desk.code))
                        if SERVICE in {s.code for s in desk_services(get_session(), d)})
            url = f"/s/{desk.unit.code}/{SERVICE}"
        first = client.post(url, data={**FORM, "submission_id": str(uuid.uuid4())},
                            headers={"X-Forwarded-For": "198.51.100.1"})
        second = client.post(url, data={**FORM, "submission_id": str(uuid.uuid4())},
                             headers={"X-Forwarded-For": "198.51.100.2"})
        third = client.post(url, data={**FORM, "submission_id": str(uuid.uuid4())},
                            headers={"X-Forwarded-For": "198.51.100.1"})
        assert (first.status_code, second.status_code, third.status_code) == (303, 303, 429)
    finally:
        proxied.extensions["hailong.engine"].dispose()


def test_public_link_ratings_beyond_the_hourly_rate_of_a_unit_wait_for_review(app, db, place) -> None:  # type: ignore[no-untyped-def]
    app.config["LINK_REVIEW_PER_HOUR"] = 2
    ids = []
    for n in range(4):
        visitor = app.test_client()
        visitor.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        rid = str(uuid.uuid4())
        assert visitor.post(f"/s/{place.unit}/{SERVICE}", data={**FORM, "submission_id": rid}).status_code == 303
        ids.append(uuid.UUID(rid))
    assert [db.get(Response, i).flag for i in ids] == [None, None, "link_rate", "link_rate"]
    staff = app.test_client()
    staff.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    queue = staff.get("/staff/review/").get_data(as_text=True)  # shown among the quality flags
    assert "Đường dẫn công khai: đơn vị nhận nhiều lượt đánh giá" in queue


def test_an_unregistered_kiosk_is_throttled_per_address_and_a_registered_one_is_not(app, client, db, place) -> None:  # type: ignore[no-untyped-def]
    app.config["KIOSK_UNREGISTERED_PER_MINUTE"] = 3
    url = f"/kiosk/{place.desk}/{SERVICE}"
    statuses = [client.post(url, data={**FORM, "submission_id": str(uuid.uuid4())}).status_code for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
    tablet = app.test_client()
    token = device_token(app, place.desk)
    assert tablet.post(f"/kiosk/{place.desk}/bind", headers={"X-Device-Token": token}).status_code == 200
    assert all(tablet.post(url, data={**FORM, "submission_id": str(uuid.uuid4())}).status_code == 303
               for _ in range(5))
