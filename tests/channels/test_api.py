"""The submission API: idempotent by device id, conflicts, batches, scoping, errors in the
client's language — on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from survey.store import compact
from survey.store.models import AnswerValue, Channel, Response
from tests.channels.conftest import FIVE, submission


def _count(db, rid: str) -> int:  # type: ignore[no-untyped-def]
    return int(db.scalar(select(func.count()).select_from(Response).where(Response.id == uuid.UUID(rid))) or 0)


def test_same_id_same_content_is_stored_once_and_answers_duplicate(device_api, db) -> None:  # type: ignore[no-untyped-def]
    body = submission()
    first = device_api.submit(body)
    assert first.status_code == 201 and first.get_json()["status"] == "created"
    again = device_api.submit(body)
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert _count(db, body["id"]) == 1
    row = db.get(Response, uuid.UUID(body["id"]))
    assert row.channel == Channel.KIOSK and row.credential_id is not None and row.flag is None
    assert compact.numbers(db, row.id) == {k: float(v) for k, v in FIVE.items()}


def test_same_id_other_content_is_a_conflict_and_changes_nothing(device_api, db) -> None:  # type: ignore[no-untyped-def]
    body = submission()
    assert device_api.submit(body).status_code == 201
    changed = {**body, "answers": {**FIVE, "access_facilities": 1}}
    resp = device_api.submit(changed)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    value = db.scalar(select(AnswerValue.value_num).where(AnswerValue.response_id == uuid.UUID(body["id"]),
                                                     AnswerValue.question_id == "access_facilities"))
    assert value == 5.0


def test_invalid_answers_name_each_field_in_the_clients_language(device_api, db) -> None:  # type: ignore[no-untyped-def]
    body = submission(answers={"access_facilities": 9, "nonsense": 1})
    vi = device_api.submit(body, lang="vi")
    assert vi.status_code == 422
    fields = vi.get_json()["error"]["fields"]
    assert {"answers.access_facilities", "answers.nonsense", "answers.servant_conduct"} <= set(fields)
    assert "Vui lòng" in fields["answers.servant_conduct"] or "trả lời" in fields["answers.servant_conduct"]
    en = device_api.submit(body, lang="en")
    assert en.get_json()["error"]["fields"]["answers.servant_conduct"] == "Please answer this question."
    assert _count(db, body["id"]) == 0


def test_devices_may_submit_only_their_desks_services(device_api, db) -> None:  # type: ignore[no-untyped-def]
    resp = device_api.submit(submission(service="GPXD"))  # offered by districts, not by this commune
    assert resp.status_code == 403 and "service" in resp.get_json()["error"]["fields"]
    resp = device_api.submit(submission(questionnaire="papi-2024"))
    assert resp.status_code == 403


def test_requests_without_a_valid_token_are_refused(client, demo) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v1/submissions", json=submission(), headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


def test_batch_reports_each_fate_and_is_all_or_nothing_per_submission(device_api, db) -> None:  # type: ignore[no-untyped-def]
    good, bad = submission(), submission(answers={"access_facilities": 5})
    stored = submission()
    assert device_api.submit(stored).status_code == 201
    conflicting = {**stored, "answers": {**FIVE, "comment": "khác"}}
    resp = device_api.batch([good, bad, stored, conflicting, "junk"])
    assert resp.status_code == 200
    statuses = [r["status"] for r in resp.get_json()["results"]]
    assert statuses == ["created", "invalid", "duplicate", "conflict", "invalid"]
    assert _count(db, good["id"]) == 1 and _count(db, bad["id"]) == 0
    assert db.scalar(select(func.count()).select_from(AnswerValue).where(AnswerValue.response_id == uuid.UUID(bad["id"]))) == 0


def test_one_rating_per_dossier_code(device_api, db) -> None:  # type: ignore[no-untyped-def]
    from survey.store.catalogue import latest

    q = latest("sipas-kiosk")
    code_q = next((x.id for x in q.questions if x.type == "dossier_code"), None)
    if code_q is None:
        import pytest

        pytest.skip("sipas-kiosk has no dossier_code question yet (issue 3)")
    first = device_api.submit(submission(answers={**FIVE, code_q: "000.12.34.H12-260101-0001"}))
    assert first.status_code == 201
    second = device_api.submit(submission(answers={**FIVE, code_q: "000.12.34.h12-260101-0001"}))
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "dossier_used"
    assert db.scalar(select(func.count()).select_from(Response).where(Response.dossier_key.is_not(None))) == 1


def test_a_burst_from_one_device_is_flagged_not_silently_accepted(app, device_api, db) -> None:  # type: ignore[no-untyped-def]
    ids = []
    for _ in range(app.config["KIOSK_BURST_COUNT"] + 3):
        body = submission()
        ids.append(uuid.UUID(body["id"]))
        assert device_api.submit(body).status_code == 201
    flags = [db.get(Response, i).flag for i in ids]
    assert flags[:app.config["KIOSK_BURST_COUNT"]] == [None] * app.config["KIOSK_BURST_COUNT"]
    assert set(flags[app.config["KIOSK_BURST_COUNT"]:]) == {"burst"}


def test_a_queue_synced_after_an_outage_is_not_a_burst(app, device_api, db) -> None:  # type: ignore[no-untyped-def]
    items = [submission(submitted_at=f"2026-11-20T0{h}:15:00+07:00") for h in range(1, 9)]
    resp = device_api.batch(items)
    assert resp.get_json()["counts"] == {"created": 8}
    assert {db.get(Response, uuid.UUID(i["id"])).flag for i in items} == {None}


def test_enumerator_submits_to_own_assignment_with_paradata(enumerator_api, client, db) -> None:  # type: ignore[no-untyped-def]
    listing = client.get("/api/v1/assignments", headers=enumerator_api.headers()).get_json()["assignments"]
    assert [a["quota"] for a in listing] == [16, 16, 16, 16] and listing[0]["done"] == 0  # 2 SIPAS, 2 PAPI villages
    body = submission(assignment=listing[0]["id"], service=None,
                      paradata={"started_at": "2026-11-20T08:00:00Z", "ended_at": "2026-11-20T08:12:00Z",
                                "duration_seconds": 720, "device": "Android tablet", "app_version": "1",
                                "gps": {"lat": 9.18, "lon": 105.15, "accuracy": 12}, "consent": True,
                                "evil": "dropped"})
    resp = enumerator_api.submit(body)
    assert resp.status_code == 201, resp.get_json()
    row = db.get(Response, uuid.UUID(body["id"]))
    assert row.channel == Channel.ENUMERATOR and row.assignment_id == listing[0]["id"]
    assert row.paradata["gps"] == {"lat": 9.18, "lon": 105.15, "accuracy": 12.0} and "evil" not in row.paradata
    assert client.get("/api/v1/assignments", headers=enumerator_api.headers()).get_json()["assignments"][0]["done"] == 1
    other = enumerator_api.submit(submission(assignment=999_999))
    assert other.status_code == 403


def test_openapi_document_describes_the_submission_endpoints(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/v1/submissions", "/api/v1/submissions/batch", "/api/v1/auth/token"} <= set(doc["paths"])
