"""Review status decides what is scored: flagged responses wait for a person's approval."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from survey.collect.responses import store_response
from survey.reports.frames import responses_frame
from survey.store.catalogue import latest
from survey.store.models import Channel, Response, ReviewStatus, Service, Unit

ANSWERS = {"access_facilities": 1, "procedure_as_regulated": 1, "servant_conduct": 1, "result_on_time": 1,
           "feedback_channel": 1}


def _flagged(db, flag: str) -> uuid.UUID:  # type: ignore[no-untyped-def]
    unit = db.scalar(select(Unit).where(Unit.code == "cu-966"))
    service = db.scalar(select(Service).where(Service.code == "GPXD"))
    rid = uuid.uuid4()
    store_response(db, secret="s", questionnaire=latest("sipas-kiosk"), unit_id=unit.id, service_id=service.id,
                   channel=Channel.KIOSK, answers=ANSWERS, response_id=rid)
    db.execute(update(Response).where(Response.id == rid).values(flag=flag))
    db.commit()
    return rid


def _scored_ids(db) -> set[uuid.UUID]:  # type: ignore[no-untyped-def]
    return set(responses_frame(db, latest("sipas-kiosk"))["response_id"])


def test_flagged_response_counts_only_after_approval(client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    burst, other = _flagged(db, "burst"), _flagged(db, "unregistered")
    assert burst not in _scored_ids(db) and other not in _scored_ids(db)

    staff.login()
    page = client.get("/staff/review/").get_data(as_text=True)
    assert "Số phiếu chờ duyệt: 2" in page
    assert str(burst) in page and "burst" in page

    resp = client.post("/staff/review/decide", data={"decision": "approve", "response_id": [str(burst)]})
    assert resp.status_code == 302
    resp = client.post("/staff/review/decide", data={"decision": "reject", "response_id": [str(other)]})
    assert resp.status_code == 302
    scored = _scored_ids(db)
    assert burst in scored and other not in scored
    db.expire_all()
    assert db.get(Response, other).review_status == ReviewStatus.REJECTED
    assert "Không có phiếu nào cần duyệt." in client.get("/staff/review/").get_data(as_text=True)


def test_review_needs_staff_and_a_valid_decision(client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    rid = _flagged(db, "burst")
    assert client.post("/staff/review/decide", data={"decision": "approve", "response_id": [str(rid)]}).status_code == 302
    db.expire_all()
    assert db.get(Response, rid).review_status == ReviewStatus.RECEIVED  # not signed in: nothing changed
    staff.login()
    bad = client.post("/staff/review/decide", data={"decision": "delete", "response_id": [str(rid)]})
    assert bad.status_code == 400
    assert "Vui lòng chọn duyệt hoặc loại." in bad.get_data(as_text=True)
