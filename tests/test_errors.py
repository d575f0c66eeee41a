"""One error vocabulary (survey/errors.py): every channel refuses with the same JSON shape."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from survey.collect.submissions import desk_services
from survey.errors import AppError, Forbidden, Invalid, TokenExpired, TooManyRequests, Unauthorized
from survey.store.models import Desk, Unit

JSON = {"Accept": "application/json"}


def _shape(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one JSON error shape, with the HTTP status repeated in the body."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "code", "message", "fields"}
    error = body["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert isinstance(error["message"], str) and error["message"].strip()
    assert isinstance(error["fields"], dict)
    return error  # type: ignore[no-any-return]


@pytest.fixture
def desk_and_service(db, demo) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    desk = db.scalar(select(Desk).where(Desk.active.is_(True)).order_by(Desk.id))
    unit = db.get(Unit, desk.unit_id)
    return desk.code, desk_services(db, desk)[0].code, unit.code


def test_kiosk_refusals_have_the_shape(app, client, desk_and_service) -> None:  # type: ignore[no-untyped-def]
    desk, service, _unit = desk_and_service
    _shape(client.get("/kiosk/NO-SUCH-DESK", headers=JSON), 404, "not_found")
    _shape(client.get(f"/kiosk/{desk}/NO-SUCH-SERVICE", headers=JSON), 404, "not_found")
    app.config["KIOSK_UNREGISTERED_PER_MINUTE"] = 1
    responses = [client.post(f"/kiosk/{desk}/{service}", data={}, headers=JSON) for _ in range(2)]
    _shape(responses[-1], 429, "rate_limited")
    assert responses[-1].headers["Retry-After"] == "60"
    app.config["KIOSK_REQUIRE_DEVICE"] = True
    _shape(client.post(f"/kiosk/{desk}/{service}", data={}, headers=JSON), 403, "device_required")


def test_api_refusals_have_the_shape(client) -> None:  # type: ignore[no-untyped-def]
    _shape(client.post("/api/v1/submissions", json={}), 401, "unauthorized")
    _shape(client.get("/api/no-such-thing"), 404, "not_found")
    _shape(client.post("/api/v1/auth/token", json={"username": "nobody", "password": "wrong-password"}),
           401, "unauthorized")


def test_link_refusals_have_the_shape(app, client, desk_and_service) -> None:  # type: ignore[no-untyped-def]
    _desk, service, unit = desk_and_service
    _shape(client.get(f"/s/NO-SUCH-UNIT/{service}", headers=JSON), 404, "not_found")
    _shape(client.get("/r/not-a-signed-receipt", headers=JSON), 400, "bad_request")
    app.config["LINK_PER_ADDRESS_PER_MINUTE"] = 1
    responses = [client.post(f"/s/{unit}/{service}", data={}, headers=JSON) for _ in range(2)]
    _shape(responses[-1], 429, "rate_limited")
    assert responses[-1].headers["Retry-After"] == "60"
    page = client.post(f"/s/{unit}/{service}", data={"note": "giữ lại"})  # a person gets the form back
    assert page.status_code == 429 and page.mimetype == "text/html"


def test_portal_and_staff_refusals_have_the_shape(client) -> None:  # type: ignore[no-untyped-def]
    _shape(client.get("/portal/r/999999/", headers=JSON), 404, "not_found")
    _shape(client.get("/no/such/page", headers=JSON), 404, "not_found")


def test_the_vocabulary_carries_status_code_and_retry() -> None:
    assert (Unauthorized("x").status, TokenExpired("x").code) == (401, "token_expired")
    assert isinstance(TokenExpired("x"), Unauthorized) and isinstance(Forbidden("x"), AppError)
    assert (Invalid("x", {"q": "bad"}).status, Invalid("x", status=400).status) == (422, 400)
    assert TooManyRequests("x").retry_after == 60 and TooManyRequests("x", retry_after=5).retry_after == 5
