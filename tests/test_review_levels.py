"""Issue 11 points 2 and 6: two-level review (supervisor, then province; back to the enumerator
and resubmitted; un-approved with a reason), the one gate — only approved responses reach scores,
releases and exports, with auto-approval rules per channel — and the append-only audit log. On
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, text, update

from survey.auth import hash_password
from survey.collect.responses import store_response
from survey.reports.frames import responses_frame, stored_responses
from survey.store import audit
from survey.store.catalogue import latest
from survey.store.models import (
    AnswerValue,
    AuditEvent,
    Channel,
    Response,
    ReviewStatus,
    Role,
    Service,
    Unit,
    User,
)

PASSWORD = "hailong-demo"
ANSWERS = {"access_facilities": 2, "procedure_as_regulated": 2, "servant_conduct": 2, "result_on_time": 2,
           "feedback_channel": 1}
COMMENT = "Câu hỏi về thái độ công chức ghi sai, xin hỏi lại hộ"


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def _response(db, unit_code: str, *, channel: Channel, flag: str | None, user: str | None = None) -> uuid.UUID:  # type: ignore[no-untyped-def]
    unit = db.scalar(select(Unit).where(Unit.code == unit_code))
    service = db.scalar(select(Service).where(Service.code == "CHUNG-THUC"))
    rid = uuid.uuid4()
    store_response(db, secret="s", questionnaire=latest("sipas-kiosk"), unit_id=unit.id, service_id=service.id,
                   channel=channel, answers=ANSWERS, response_id=rid)
    owner = db.scalar(select(User.id).where(User.username == user)) if user else None
    db.execute(update(Response).where(Response.id == rid).values(flag=flag, user_id=owner))
    db.commit()
    return rid


def _scored(db) -> set[uuid.UUID]:  # type: ignore[no-untyped-def]
    return set(responses_frame(db, latest("sipas-kiosk"))["response_id"])


def _status(db, rid: uuid.UUID) -> ReviewStatus:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.get(Response, rid).review_status


def test_two_levels_back_to_the_enumerator_and_un_approval(app, db, demo) -> None:  # type: ignore[no-untyped-def]
    commune = db.scalar(select(Unit).where(Unit.code == "31825"))
    db.add(User(username="giamsat", password_hash=hash_password(PASSWORD), role=Role.SUPERVISOR,
                view_unit_id=commune.id))
    db.commit()
    mine = _response(db, "31825", channel=Channel.ENUMERATOR, flag="too_fast", user="dieutravien")
    elsewhere = _response(db, "32128", channel=Channel.ENUMERATOR, flag="too_fast", user="dieutravien")
    assert mine not in _scored(db)

    supervisor = _client(app, "giamsat")
    queue = supervisor.get("/staff/review/").get_data(as_text=True)
    assert str(mine) in queue and str(elsewhere) not in queue  # only the supervisor's commune
    assert "(giờ Việt Nam, UTC+7)" in queue  # times in Vietnam time with the zone
    no_reason = supervisor.post("/staff/review/decide", data={"decision": "has_issues", "response_id": [str(mine)]})
    assert no_reason.status_code == 400 and _status(db, mine) == ReviewStatus.RECEIVED
    supervisor.post("/staff/review/decide", data={"decision": "has_issues", "response_id": [str(mine)],
                                                  "comment": COMMENT})
    assert _status(db, mine) == ReviewStatus.HAS_ISSUES
    supervisor.post("/staff/review/decide", data={"decision": "reject", "response_id": [str(elsewhere)]})
    assert _status(db, elsewhere) == ReviewStatus.RECEIVED  # outside the scope: untouched

    enumerator = _client(app, "dieutravien")
    returned = enumerator.get("/field/returned/").get_data(as_text=True)
    assert COMMENT in returned and str(mine) in returned
    assert enumerator.post(f"/field/returned/{mine}", data={"q_servant_conduct": "abc"}).status_code == 400
    assert enumerator.post(f"/field/returned/{mine}", data={"q_servant_conduct": "4",
                                                            "comment": "Đã hỏi lại"}).status_code == 302
    assert _status(db, mine) == ReviewStatus.RECEIVED
    assert db.get(AnswerValue, (mine, "servant_conduct")).value_num == 4.0

    supervisor.post("/staff/review/decide", data={"decision": "approve", "select_all": "all", "view": "pending"})
    assert _status(db, mine) == ReviewStatus.SUPERVISOR_APPROVED  # select-all: every response of the view
    assert _status(db, elsewhere) == ReviewStatus.RECEIVED
    assert mine not in _scored(db)  # the province has not decided yet

    province = _client(app, "canbo")
    waiting = province.get("/staff/review/?view=province").get_data(as_text=True)
    assert str(mine) in waiting
    province.post("/staff/review/decide", data={"decision": "approve", "response_id": [str(mine)],
                                                "view": "province"})
    assert _status(db, mine) == ReviewStatus.APPROVED
    assert mine in _scored(db)
    assert str(mine) in set(stored_responses(db, "sipas-kiosk", unit_ids=[commune.id])["response_id"])

    assert province.post("/staff/review/decide", data={"decision": "unapprove", "response_id": [str(mine)],
                                                       "view": "approved"}).status_code == 400  # a reason is needed
    province.post("/staff/review/decide", data={"decision": "unapprove", "response_id": [str(mine)],
                                                "view": "approved", "comment": "Hộ này đã được phỏng vấn"})
    assert _status(db, mine) == ReviewStatus.RECEIVED and mine not in _scored(db)
    assert db.get(Response, mine).flag == "unapproved"

    events = db.scalars(select(AuditEvent).where(AuditEvent.target == f"response:{mine}")
                        .order_by(AuditEvent.id)).all()
    steps = [(e.username, e.details["decision"], e.details["to"]) for e in events]
    assert steps == [("giamsat", "has_issues", "has_issues"), ("dieutravien", "resubmit", "received"),
                     ("giamsat", "approve", "supervisor_approved"), ("canbo", "approve", "approved"),
                     ("canbo", "unapprove", "received")]
    for event in db.scalars(select(AuditEvent)):  # never the comment text in the audit log
        assert COMMENT not in f"{event.target} {event.details}" and "phỏng vấn" not in str(event.details)


def test_only_approved_responses_reach_scores_releases_and_exports(app, db, demo) -> None:  # type: ignore[no-untyped-def]
    flagged = _response(db, "31825", channel=Channel.KIOSK, flag="burst")
    plain = _response(db, "31825", channel=Channel.KIOSK, flag=None)
    commune = db.scalar(select(Unit).where(Unit.code == "31825"))
    scored = _scored(db)
    assert plain in scored and flagged not in scored  # the default rule: unflagged ratings count on arrival
    staff = _client(app, "canbo")
    export = staff.get("/staff/export.csv?unit=31825&questionnaire=sipas-kiosk&excel=0").get_data(as_text=True)
    assert str(plain) in export and str(flagged) not in export

    admin = _client(app, "admin")
    assert staff.post("/admin/oversight/review-rules", data={"auto_enumerator": "on"}).status_code == 403
    admin.post("/admin/oversight/review-rules", data={"auto_enumerator": "on", "auto_web": "on"})
    page = staff.get("/staff/review/").get_data(as_text=True)
    assert 'data-channel="kiosk" data-auto="off"' in page and 'data-channel="web" data-auto="on"' in page
    assert str(plain) in page  # a kiosk rating now waits for a reviewer
    kiosk = latest("sipas-kiosk")
    assert plain not in set(responses_frame(db, kiosk)["response_id"])
    # the release build's call (survey.portal.snapshot_builder) and the analysts' export
    release_rows = set(responses_frame(db, kiosk, unit_ids=[commune.id])["response_id"])
    approved = set(db.scalars(select(Response.id).where(Response.unit_id == commune.id,
                                                        Response.review_status == ReviewStatus.APPROVED)))
    assert release_rows == approved and plain not in release_rows  # the demo's ratings were approved
    assert str(plain) not in set(stored_responses(db, "sipas-kiosk", unit_ids=[commune.id])["response_id"])
    export = staff.get("/staff/export.csv?unit=31825&questionnaire=sipas-kiosk&excel=0").get_data(as_text=True)
    assert str(plain) not in export
    rule = db.scalar(select(AuditEvent).where(AuditEvent.action == "review.rule"))
    assert rule is not None and rule.username == "admin" and rule.target == "channel:kiosk"

    staff.post("/staff/review/decide", data={"decision": "approve", "response_id": [str(plain), str(flagged)]})
    assert {plain, flagged} <= _scored(db)  # approved by a person: counted whatever the rule


def test_the_audit_log_is_append_only_and_records_sign_ins(app, db, demo, database_url) -> None:  # type: ignore[no-untyped-def]
    bad = app.test_client().post("/auth/login", data={"username": "canbo", "password": "wrong password 1"})
    assert bad.status_code == 400
    staff = _client(app, "canbo")
    staff.get("/staff/results.csv?unit=31825&questionnaire=sipas-kiosk")
    rows = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(r.action, r.username) for r in rows][:3] == [
        ("auth.sign_in_failed", "canbo"), ("auth.sign_in", "canbo"), ("export.download", "canbo")]
    assert rows[0].address == "127.0.0.1" and rows[2].details["format"] == "csv"
    assert rows[2].unit_id == db.scalar(select(Unit.id).where(Unit.code == "31825"))

    first = rows[0]
    first.action = "nothing"
    with pytest.raises(ValueError, match="append-only"):
        db.commit()
    db.rollback()
    db.delete(db.get(AuditEvent, first.id))
    with pytest.raises(ValueError, match="append-only"):
        db.commit()
    db.rollback()
    with pytest.raises(ValueError, match="append-only"):
        db.execute(delete(AuditEvent))
    db.rollback()
    with pytest.raises(ValueError, match="append-only"):
        db.execute(update(AuditEvent).values(action="x"))
    db.rollback()
    if database_url.startswith("postgresql"):  # below the application: the trigger
        for sql in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(Exception, match="append-only"):
                db.connection().exec_driver_sql(sql)
            db.rollback()
    assert db.scalar(select(AuditEvent.action).where(AuditEvent.id == first.id)) == "auth.sign_in_failed"
    with pytest.raises(ValueError):
        audit.record("case.change", details={"comment": "tên người dân"}, session=db)
    db.rollback()

    assert staff.get("/admin/oversight/audit").status_code == 403  # admins only
    admin = _client(app, "admin")
    page = admin.get("/admin/oversight/audit?action=auth.sign_in_failed").get_data(as_text=True)
    assert 'data-action="auth.sign_in_failed"' in page and 'data-action="export.download"' not in page
    assert "(giờ Việt Nam, UTC+7)" in page and "Đăng nhập không thành công" in page
    csv_text = admin.get("/admin/oversight/audit.csv?action=export.download").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("at_vietnam_time,username") and len(lines) == 2
    assert "+07:00" in lines[1] and "export.download" in lines[1]
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.export")) is not None

    analyst = db.scalar(select(User).where(User.username == "phantich"))
    assert admin.post(f"/admin/oversight/accounts/{analyst.id}", data={"role": "analyst", "view_unit": "31825",
                                                                       "entry_unit": "32128"}).status_code == 400
    admin.post(f"/admin/oversight/accounts/{analyst.id}", data={"role": "supervisor", "view_unit": "31825"})
    db.expire_all()
    assert db.get(User, analyst.id).role == Role.SUPERVISOR
    change = db.scalar(select(AuditEvent).where(AuditEvent.action == "permission.change"))
    assert change.target == f"user:{analyst.id}" and change.details["role_before"] == "analyst"
    assert change.details["view_unit"] == db.scalar(select(Unit.id).where(Unit.code == "31825"))
    assert _client(app, "phantich").get("/staff/results?unit=32128&questionnaire=sipas-kiosk").status_code == 404
    assert db.scalar(select(text("count(*)")).select_from(AuditEvent)) >= 5
