"""Kiosk device binding, burst flags, receipt tokens, public links and QR posters."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from survey.store.models import Channel, Response
from tests.channels.conftest import FIVE, device_token

FORM = {k: str(v) for k, v in FIVE.items()}


def test_a_device_link_binds_the_tablet_and_its_ratings_are_not_flagged(app, client, db, demo) -> None:  # type: ignore[no-untyped-def]
    token = device_token(app, "32002-MC")
    bound = client.post("/kiosk/32002-MC/bind", headers={"X-Device-Token": token, "Accept": "application/json"})
    assert bound.status_code == 200 and bound.get_json()["redirect"] == "/kiosk/32002-MC"
    assert "HttpOnly" in bound.headers["Set-Cookie"] and "SameSite=Strict" in bound.headers["Set-Cookie"]
    rid = str(uuid.uuid4())
    resp = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**FORM, "submission_id": rid},
                       headers={"Accept": "application/json"})
    assert resp.status_code == 201
    again = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**FORM, "submission_id": rid},
                        headers={"Accept": "application/json"})
    assert again.get_json()["status"] == "duplicate"
    row = db.get(Response, uuid.UUID(rid))
    assert row.flag is None and row.credential_id is not None


def test_another_desks_device_code_is_refused(app, client, demo) -> None:  # type: ignore[no-untyped-def]
    token = device_token(app, "32014-MC")
    assert client.post("/kiosk/32002-MC/bind", headers={"X-Device-Token": token}).status_code == 403


def test_a_device_token_in_the_address_is_never_accepted(app, client, demo) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 point 6: an address with ``?device=`` lands in access logs, so it binds nothing."""
    token = device_token(app, "32002-MC")
    refused = client.get(f"/kiosk/32002-MC?device={token}")
    assert refused.status_code == 403 and "Set-Cookie" not in refused.headers


def test_unregistered_browser_ratings_are_flagged_or_refused(app, client, db, demo) -> None:  # type: ignore[no-untyped-def]
    rid = str(uuid.uuid4())
    assert client.post("/kiosk/32002-MC/CHUNG-THUC", data={**FORM, "submission_id": rid}).status_code == 303
    assert db.get(Response, uuid.UUID(rid)).flag == "unregistered"
    app.config["KIOSK_REQUIRE_DEVICE"] = True
    refused = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**FORM, "submission_id": str(uuid.uuid4())})
    assert refused.status_code == 403


def test_receipt_token_is_tamper_evident_and_prefills_the_dossier(app, client, db, demo) -> None:  # type: ignore[no-untyped-def]
    from survey.collect.links import make_receipt
    from survey.store.catalogue import latest

    with app.test_request_context():
        token = make_receipt("32002", "CHUNG-THUC", "000.00.12.H12-250101-0001")
    page = client.get(f"/r/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "000.00.12.H12-250101-0001" not in html and "0001" in html  # masked on screen
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get(f"/r/{forged}").status_code == 400
    resp = client.post(f"/r/{token}", data={**FORM, "submission_id": str(uuid.uuid4())})
    assert resp.status_code == 303
    row = db.scalar(select(Response).where(Response.channel == Channel.WEB))
    assert row.unit.code == "32002" and row.service.code == "CHUNG-THUC"
    if any(q.type == "dossier_code" for q in latest("sipas-kiosk").questions):
        assert row.dossier_key is not None
        again = client.post(f"/r/{token}", data={**FORM, "submission_id": str(uuid.uuid4())})
        assert again.status_code == 409 and "đã được đánh giá" in again.get_data(as_text=True)


def test_every_unit_service_has_a_public_link_and_qr_in_three_formats(client, demo) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/s/32002/CHUNG-THUC").status_code == 200
    assert client.get("/s/32002/GPXD").status_code == 404  # not offered by this commune
    assert client.get("/s/32002/CHUNG-THUC/qr.png").data.startswith(b"\x89PNG")
    assert b"<svg" in client.get("/s/32002/CHUNG-THUC/qr.svg").data
    assert client.get("/s/32002/CHUNG-THUC/qr.pdf").data.startswith(b"%PDF")
    poster = client.get("/s/32002/CHUNG-THUC/poster").get_data(as_text=True)
    assert "<svg" in poster and "/s/32002/CHUNG-THUC" in poster


def test_staff_register_a_device_and_get_its_kiosk_address(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    page = client.post("/staff/desks/32002-MC", data={"label": "Máy tính bảng 1"}).get_data(as_text=True)
    assert "/kiosk/32002-MC#device=" in page and "?device=" not in page
    assert client.get("/staff/desks/").status_code == 200
