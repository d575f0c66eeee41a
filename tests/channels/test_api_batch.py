"""The fast batch path keeps the one-by-one guarantees: repeats and dossier codes inside a batch,
burst flags, rows that meet a uniqueness rule at INSERT time, concurrent uploads, a constant
number of SQL statements per batch; enumerator tokens expire — on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from survey.collect.responses import Pending, store_many
from survey.store.catalogue import latest
from survey.store.models import AnswerValue, Credential, Response, utcnow
from tests.channels.conftest import FIVE, Api, submission

CODE_Q = "dossier_code"


def _rows(db) -> int:  # type: ignore[no-untyped-def]
    return int(db.scalar(select(func.count()).select_from(Response)) or 0)


def test_repeats_and_dossier_codes_inside_one_batch_are_judged_as_one_by_one(device_api, db) -> None:  # type: ignore[no-untyped-def]
    before = _rows(db)
    first = submission(answers={**FIVE, CODE_Q: "000.12.34.H12-260101-0002"})
    same = dict(first)
    changed = {**first, "answers": {**FIVE, "access_facilities": 1}}
    same_code = submission(answers={**FIVE, CODE_Q: " 000.12.34.h12-260101-0002 "})
    other = submission()
    resp = device_api.batch([first, same, changed, same_code, other])
    assert [r["status"] for r in resp.get_json()["results"]] == ["created", "duplicate", "conflict", "dossier_used",
                                                                 "created"]
    assert [r["http_status"] for r in resp.get_json()["results"]] == [201, 200, 409, 409, 201]
    assert _rows(db) == before + 2
    stored = db.scalar(select(AnswerValue.value_num).where(AnswerValue.response_id == uuid.UUID(first["id"]),
                                                      AnswerValue.question_id == "access_facilities"))
    assert stored == 5.0
    # The dossier code itself is never stored, only its keyed hash.
    assert db.scalar(select(func.count()).select_from(AnswerValue).where(AnswerValue.question_id == CODE_Q)) == 0


@pytest.mark.parametrize("extra", [2, 12])  # few submission times: counted per time; many: fetched once
def test_burst_flags_in_a_batch_match_one_by_one(app, device_api, db, extra) -> None:  # type: ignore[no-untyped-def]
    limit = app.config["KIOSK_BURST_COUNT"]
    earlier = [submission() for _ in range(2)]
    for body in earlier:
        assert device_api.submit(body).status_code == 201
    items = [submission() for _ in range(limit + extra)]
    assert device_api.batch([*items, earlier[0]]).get_json()["counts"] == {"created": limit + extra, "duplicate": 1}
    flags = [db.get(Response, uuid.UUID(i["id"])).flag for i in items]
    assert flags == [None] * (limit - 2) + ["burst"] * (extra + 2)


def test_rows_that_meet_a_uniqueness_rule_at_insert_fall_back_to_one_by_one(app, device_api, db) -> None:  # type: ignore[no-untyped-def]
    """Without the up-front lookup (as when a concurrent upload wins the race) the conflicting
    rows are skipped by the bulk INSERT and then judged one by one; the others are stored."""
    stored = submission(answers={**FIVE, CODE_Q: "000.12.34.H12-260101-0003"})
    assert device_api.submit(stored).status_code == 201
    q = latest("sipas-kiosk")
    row = db.get(Response, uuid.UUID(stored["id"]))

    def pending(rid: uuid.UUID, answers: dict) -> Pending:  # type: ignore[type-arg]
        return Pending(questionnaire=q, unit_id=row.unit_id, service_id=row.service_id, channel=row.channel,
                       answers=answers, response_id=rid, submitted_at=utcnow(), desk_id=row.desk_id)

    new_id = uuid.uuid4()
    items = [
        pending(uuid.UUID(stored["id"]), {**FIVE, CODE_Q: "000.12.34.H12-260101-0003"}),
        pending(uuid.UUID(stored["id"]), {**FIVE, "access_facilities": 2}),
        pending(uuid.uuid4(), {**FIVE, CODE_Q: "000.12.34.h12-260101-0003"}),
        pending(new_id, dict(FIVE)),
    ]
    with app.app_context():
        results = store_many(db, secret=app.config["SECRET_KEY"], items=items, precheck=False)
    assert [r.outcome for r in results] == ["duplicate", "conflict", "dossier_used", "created"]
    db.expire_all()
    assert db.get(Response, new_id) is not None
    assert db.scalar(select(func.count()).select_from(AnswerValue).where(AnswerValue.response_id == new_id)) == len(FIVE)


def test_overlapping_batches_uploaded_at_once_store_each_submission_once(app, device_api, db) -> None:  # type: ignore[no-untyped-def]
    before = _rows(db)
    items = [submission() for _ in range(60)]
    first, second = items[:40], items[20:]
    random.Random(3).shuffle(second)
    results: list[list[str]] = []
    barrier = threading.Barrier(2)

    def upload(batch: list) -> None:  # type: ignore[type-arg]
        api = Api(app.test_client(), device_api.token)
        barrier.wait()
        results.append([r["status"] for r in api.batch(batch).get_json()["results"]])

    threads = [threading.Thread(target=upload, args=(b,)) for b in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [s for r in results for s in r]
    assert statuses.count("created") == 60 and statuses.count("duplicate") == 20
    assert _rows(db) == before + 60
    assert db.scalar(select(func.count()).select_from(AnswerValue).where(
        AnswerValue.response_id.in_([uuid.UUID(i["id"]) for i in items]))) == 60 * len(FIVE)


ROLLUP_UPKEEP = 11
AUDIT_LINE = 1
PACKED_ANSWERS = 2  # issue 15 point 2: the version's answer slots (first batch), the slot map the cells' pivot reads


def test_a_batch_costs_a_constant_number_of_sql_statements(app, device_api) -> None:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(*_args: object) -> None:
        statements.append("x")

    engine = app.extensions["hailong.engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        sizes = {}
        for n in (10, 200):
            statements.clear()
            resp = device_api.batch([submission(submitted_at=f"2026-11-0{k % 9 + 1}T08:00:00Z") for k in range(n)])
            assert resp.get_json()["counts"] == {"created": n}
            sizes[n] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # the first batch also looks up the version row; the rollups' upkeep (issue 15) adds a constant
    # ≤ 11: their state, the new responses' sums, the day and quarter cells (locks, read, delete,
    # insert); the audit line of the token's use (issue 11) one more
    assert sizes[200] <= sizes[10] <= 12 + ROLLUP_UPKEEP + AUDIT_LINE + PACKED_ANSWERS, sizes


def test_an_expired_enumerator_token_gets_401_in_the_callers_language(app, enumerator_api, device_api, db) -> None:  # type: ignore[no-untyped-def]
    assert enumerator_api.client.get("/api/v1/me", headers=enumerator_api.headers()).status_code == 200
    old = utcnow() - timedelta(days=app.config["TOKEN_DAYS"] + 1)
    db.execute(update(Credential).values(created_at=old))  # every token, the kiosk device's too
    db.commit()
    for lang, words in (("vi", "hết hạn"), ("en", "expired")):
        resp = enumerator_api.submit(submission(assignment=1), lang=lang)
        error = resp.get_json()["error"]
        assert resp.status_code == 401 and error["code"] == "token_expired" and words in error["message"]
        assert set(error) == {"status", "code", "message", "fields"}
    # A kiosk device token does not expire (staff revoke it instead).
    assert device_api.submit(submission()).status_code == 201
    app.config["TOKEN_DAYS"] = 0  # 0: enumerator tokens never expire
    assert enumerator_api.client.get("/api/v1/me", headers=enumerator_api.headers()).status_code == 200


def test_two_sessions_inserting_overlapping_batches_in_opposite_orders_do_not_deadlock(app, device_api, db) -> None:  # type: ignore[no-untyped-def]
    """Concurrent bulk INSERTs that meet the same new ids in opposite orders would each wait for
    the other's row (PostgreSQL: deadlock detected). Rows go in in id order, so they queue."""
    from sqlalchemy.orm import Session

    template = submission()
    assert device_api.submit(template).status_code == 201
    row = db.get(Response, uuid.UUID(template["id"]))
    q = latest("sipas-kiosk")
    ids = sorted(uuid.uuid4() for _ in range(600))
    batches = [ids[:400], list(reversed(ids[200:]))]
    outcomes: list[list[str]] = []
    barrier = threading.Barrier(2)
    engine = app.extensions["hailong.engine"]

    def insert(batch: list[uuid.UUID]) -> None:
        items = [Pending(questionnaire=q, unit_id=row.unit_id, service_id=row.service_id, channel=row.channel,
                         answers=dict(FIVE), response_id=rid, submitted_at=utcnow(), desk_id=row.desk_id)
                 for rid in batch]
        with app.app_context(), Session(engine) as session:
            barrier.wait()
            outcomes.append([r.outcome for r in store_many(
                session, secret=app.config["SECRET_KEY"], items=items, precheck=False)])

    threads = [threading.Thread(target=insert, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [s for r in outcomes for s in r]
    assert len(outcomes) == 2 and statuses.count("created") == 600 and statuses.count("duplicate") == 200
    assert db.scalar(select(func.count()).select_from(Response).where(Response.id.in_(ids))) == 600
