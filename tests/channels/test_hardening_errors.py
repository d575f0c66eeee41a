"""Issue 12, data integrity and server errors: every input the reliability campaign found
answering 500 now gets its own clear 4xx, and one bad item never fails a batch — on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from survey.collect.submissions import desk_services
from survey.store.models import Desk, Response, Unit, utcnow
from tests.channels.conftest import FIVE, submission

SERVICE = "CHUNG-THUC"


@pytest.fixture
def place(db, demo) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    """The first demo desk offering the certification service, its unit and the province."""
    for desk in db.scalars(select(Desk).where(Desk.active.is_(True)).order_by(Desk.code)):
        if SERVICE in {s.code for s in desk_services(db, desk)}:
            province = db.scalar(select(Unit.code).where(Unit.parent_id.is_(None)).order_by(Unit.code))
            return SimpleNamespace(desk=desk.code, unit=desk.unit.code, province=province)
    raise AssertionError("the demo has no desk offering " + SERVICE)


def _iso(moment) -> str:  # type: ignore[no-untyped-def]
    return moment.isoformat().replace("+00:00", "Z")


def test_one_ancient_timestamp_gets_its_own_fate_and_the_rest_of_the_batch_is_stored(device_api, db) -> None:  # type: ignore[no-untyped-def]
    good = [submission() for _ in range(3)]
    bad = [submission(submitted_at="0001-01-01T00:00:05Z"), submission(submitted_at="0999-06-01T00:00:00Z"),
           submission(started_at="0001-01-01T00:00:01Z")]
    resp = device_api.batch([good[0], bad[0], good[1], bad[1], bad[2], good[2]])
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    results = resp.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "invalid", "created", "invalid", "invalid", "created"]
    assert "submitted_at" in results[1]["fields"] and "ngày" in results[1]["fields"]["submitted_at"]
    assert "started_at" in results[4]["fields"]
    stored = set(db.scalars(select(Response.id)))
    assert {uuid.UUID(g["id"]) for g in good} <= stored
    assert not {uuid.UUID(b["id"]) for b in bad} & stored


def test_backdating_is_bounded_by_the_late_upload_window_and_the_receipt_time_is_kept(app, device_api, db) -> None:  # type: ignore[no-untyped-def]
    days = app.config["LATE_UPLOAD_DAYS"]
    late = submission(submitted_at=_iso(utcnow() - timedelta(days=days - 1)))
    too_late = submission(submitted_at=_iso(utcnow() - timedelta(days=days + 1)))
    future = submission(submitted_at=_iso(utcnow() + timedelta(days=200)))
    assert device_api.submit(late).status_code == 201
    refused = device_api.submit(too_late)
    assert refused.status_code == 422 and "submitted_at" in refused.get_json()["error"]["fields"]
    assert device_api.submit(future).status_code == 422
    row = db.get(Response, uuid.UUID(late["id"]))
    assert row.received_at - row.submitted_at > timedelta(days=days - 2)  # both kept, scored by submitted_at
    assert db.scalar(select(func.count()).select_from(Response).where(
        Response.id.in_([uuid.UUID(too_late["id"]), uuid.UUID(future["id"])]))) == 0


def test_the_ranking_still_opens_after_a_rating_stamped_before_year_1000_was_sent(device_api, client, staff) -> None:  # type: ignore[no-untyped-def]
    assert device_api.submit(submission(submitted_at="0999-06-01T00:00:00Z")).status_code == 422
    staff.login()
    assert client.get("/staff/ranking").status_code == 200
    assert client.get("/staff/ranking.csv").status_code == 200


def test_kiosk_timestamps_just_after_year_one(client, place, db) -> None:  # type: ignore[no-untyped-def]
    queued = client.post(f"/kiosk/{place.desk}/CHUNG-THUC", data={**FIVE, "submission_id": str(uuid.uuid4()),
                                                            "submitted_at": "0001-01-01T00:00:03"},
                         headers={"Accept": "application/json"})
    assert queued.status_code == 422 and "submitted_at" in queued.get_json()["fields"]
    rid = uuid.uuid4()
    live = client.post(f"/kiosk/{place.desk}/CHUNG-THUC", data={**FIVE, "submission_id": str(rid),
                                                          "submitted_at": "0001-01-01T00:00:03"})
    assert live.status_code == 303  # a citizen at the kiosk: the server's clock is used
    assert db.get(Response, rid).submitted_at.year >= 2026


def test_a_huge_integer_in_a_question_with_skip_logic(enumerator_api, client) -> None:  # type: ignore[no-untyped-def]
    assignment = client.get("/api/v1/assignments", headers=enumerator_api.headers()).get_json()["assignments"][0]
    body = {"id": str(uuid.uuid4()), "assignment": assignment["id"], "answers": {"p_voted_head": int("9" * 400)}}
    one = enumerator_api.submit(body)
    assert one.status_code == 422
    batch = enumerator_api.batch([body, {**body, "id": str(uuid.uuid4())}])
    assert batch.status_code == 200 and batch.get_json()["counts"] == {"invalid": 2}


def test_nul_bytes_are_refused_with_a_message(client, place, staff) -> None:  # type: ignore[no-untyped-def]
    login = client.post("/auth/login", data={"username": "can\x00bo", "password": "x"})
    assert login.status_code == 400 and "NUL" in login.get_data(as_text=True)
    assert client.get(f"/kiosk/{place.desk}%00").status_code in (400, 404)
    comment = client.post(f"/kiosk/{place.desk}/CHUNG-THUC", data={**FIVE, "comment": "a\x00b"})
    assert comment.status_code == 400
    staff.login()
    for url in ("/staff/results?unit=9%006", "/staff/ranking?quarter=2026%00Q1", "/staff/export?unit=%00"):
        assert client.get(url).status_code == 400, url
    assert client.post(f"/staff/desks/{place.desk}", data={"label": "a\x00b"}).status_code == 400


def test_multipart_posts_to_the_citizen_forms(client, place) -> None:  # type: ignore[no-untyped-def]
    data = {k: str(v) for k, v in FIVE.items()}
    for url in (f"/kiosk/{place.desk}/CHUNG-THUC", f"/s/{place.unit}/CHUNG-THUC"):
        resp = client.post(url, data={**data, "submission_id": str(uuid.uuid4())}, content_type="multipart/form-data")
        assert resp.status_code in (303, 400), (url, resp.status_code)


def test_revoking_a_device_with_an_odd_id(client, place, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    for value in ("9" * 30, "²", "-1", "1e5"):
        resp = client.post(f"/staff/desks/{place.desk}", data={"revoke": value})
        assert resp.status_code == 303, value


def test_goals_form_with_snan_or_a_huge_base_year(client, place, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()

    def goal(value: str, base_year: str) -> int:
        return int(client.post("/staff/targets/", data={
            "unit": place.province, "score": "papi-household:total", "year": "2027", "kind": "increase_pct",
            "value": value, "base_year": base_year}).status_code)

    for value, base_year in (("sNaN", "2025"), ("NaN", "2025"), ("Infinity", "2025"), ("10", "9" * 30)):
        assert goal(value, base_year) in (400, 422), (value, base_year)
    assert goal("10", "2025") in (302, 303)  # the same form with sound values is stored


def test_method_not_allowed_names_the_allowed_methods(client, place) -> None:  # type: ignore[no-untyped-def]
    resp = client.put(f"/kiosk/{place.desk}/CHUNG-THUC")
    assert resp.status_code == 405 and set(resp.headers["Allow"].split(", ")) >= {"GET", "POST"}
    api = client.delete("/api/v1/submissions")
    assert api.status_code == 405 and "POST" in api.headers["Allow"]


def test_a_database_outage_answers_503_with_retry_after_and_health_is_split(app, client, db, place) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    from sqlalchemy.exc import OperationalError

    engine = app.extensions["hailong.engine"]
    db.close()  # the test's own session gives its connection back before the pool goes

    def down(*_a, **_k):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("server closed the connection"))

    engine.dispose()
    engine.pool._creator = down  # every new connection fails, as during a restart
    if True:
        page = client.get(f"/kiosk/{place.desk}")
        assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
        api = client.get("/api/v1/me", headers={"Authorization": "Bearer x"})
        assert api.status_code == 503 and api.get_json()["error"]["code"] == "unavailable"
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200  # liveness needs no database


def test_a_400_digit_answer_to_a_question_driving_skip_logic_in_every_preview(client, place, staff) -> None:  # type: ignore[no-untyped-def]
    """The campaign found 11 of 13 questionnaire previews answering 500 for this."""
    import re as _re

    from questionnaires import load_library

    staff.login()
    huge = "9" * 400
    for (qid, version), questionnaire in sorted(load_library().items()):
        driving = {ref for q in questionnaire.questions if q.relevant for ref in _re.findall(r"\$\{(\w+)\}", q.relevant)}
        data = {ref: huge for ref in driving} or {questionnaire.questions[0].id: huge}
        assert client.post(f"/staff/questionnaires/{qid}/{version}", data=data).status_code == 400, qid


def test_a_rating_already_stored_with_a_year_before_1000_does_not_break_the_ranking(client, db, place, staff) -> None:  # type: ignore[no-untyped-def]
    """Stamps outside the window are refused now, but a database may hold one from before."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    first = db.scalars(select(Response.id).order_by(Response.id)).first()
    db.execute(update(Response).where(Response.id == first).values(submitted_at=datetime(999, 6, 1, tzinfo=UTC)))
    db.commit()
    staff.login()
    assert client.get("/staff/ranking").status_code == 200
    assert client.get("/staff/ranking.csv").status_code == 200
