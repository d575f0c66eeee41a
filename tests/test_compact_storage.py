"""Issue 15 point 2: numeric answers packed one byte per slot (``response.codes``, revision c15c),
read through ``answer_value`` exactly as rows of ``answer`` were. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, insert, select, update
from sqlalchemy.orm import Session

from questionnaires import load_library
from survey.auth import hash_password
from survey.collect.responses import store_response
from survey.reports.frames import responses_frame, stored_answers, stored_responses
from survey.reports.sipas_tables import subtree_ids
from survey.store import compact
from survey.store.catalogue import latest
from survey.store.migrate import downgrade, upgrade
from survey.store.models import (
    Answer,
    AnswerSlot,
    AnswerValue,
    Channel,
    Response,
    ReviewStatus,
    Role,
    Service,
    Unit,
    UnitLevel,
    User,
)
from tests.databases import BACKENDS, fresh_database

KIOSK = "sipas-kiosk"
FIVE = {"access_facilities": 4, "procedure_as_regulated": 5, "servant_conduct": 3, "result_on_time": 1,
        "feedback_channel": 5}


def _rows(conn: Any, table: Any) -> set[tuple[uuid.UUID, str, float | None, str | None]]:
    """Every answer of ``table`` (``answer``, reflected or mapped, or the view ``answer_value``)."""
    return {(uuid.UUID(str(r)), q, None if n is None else float(n), t) for r, q, n, t in conn.execute(
        select(table.c.response_id, table.c.question_id, table.c.value_num, table.c.value_text)).all()}


def _answers(conn: Any) -> set[tuple[uuid.UUID, str, float | None, str | None]]:
    return _rows(conn, AnswerValue.__table__)


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_packs_what_fits_and_downgrade_gives_back_the_same_rows(backend: str, tmp_path: Path) -> None:
    """Responses stored the old way (r15a): those whose numbers all fit 0..254 are packed and lose
    their numeric rows; one with 300, one with 2.5 keep theirs; text stays a row. The view shows
    exactly the old rows, and the downgrade writes exactly them back."""
    with fresh_database(backend, tmp_path) as url:
        upgrade(url, "r15a")
        engine = create_engine(url)
        questionnaire = latest(KIOSK)
        versions = MetaData()
        versions.reflect(engine, only=["questionnaire_version"])
        with engine.begin() as conn:  # as revision r15a published it (no slots yet)
            version = conn.execute(insert(versions.tables["questionnaire_version"]).values(
                questionnaire_id=KIOSK, version=questionnaire.version, content_hash=questionnaire.content_hash,
                definition=questionnaire.to_dict(), published_at=datetime.now(UTC))).inserted_primary_key[0]
        with Session(engine) as session:
            unit = Unit(code="99", name="Tỉnh thử", level=UnitLevel.PROVINCE)
            service = Service(code="S", name_vi="Dịch vụ", name_en="Service", category="administrative")
            session.add_all([unit, service])
            session.commit()
            unit_id, service_id = unit.id, service.id
        old = MetaData()
        old.reflect(engine, only=["response", "answer"])
        response, answer = old.tables["response"], old.tables["answer"]
        stored: dict[str, dict[str, Any]] = {
            "packed": {**FIVE, "comment": "Cán bộ nhiệt tình"},
            "skipped": {"access_facilities": 2, "overall": 0},
            "too_big": {**FIVE, "overall": 300},
            "fraction": {**FIVE, "servant_conduct": 2.5},
            "text_only": {"comment": "Không có ý kiến"},
        }
        ids = {name: uuid.uuid4() for name in stored}
        now = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
        with engine.begin() as conn:
            key = {name: rid if backend == "postgresql" else rid.hex for name, rid in ids.items()}  # as r15a stores ids
            conn.execute(insert(response), [{
                "id": key[name], "questionnaire_id": KIOSK, "questionnaire_version_id": version, "unit_id": unit_id,
                "service_id": service_id, "channel": "kiosk", "submitted_at": now, "received_at": now,
                "review_status": "received", "weight": 1.0, "payload_hash": f"{n:064x}"} for n, name in enumerate(stored)])
            conn.execute(insert(answer), [
                {"response_id": key[name], "question_id": q, "value_num": None if isinstance(v, str) else float(v),
                 "value_text": v if isinstance(v, str) else None}
                for name, values in stored.items() for q, v in values.items()])
            before = _rows(conn, answer)
        upgrade(url)
        with engine.connect() as conn:
            assert _answers(conn) == before
            codes = dict(conn.execute(select(Response.id, Response.codes)).all())
            remaining = _rows(conn, Answer.__table__)
        slot_ids = [q.id for q in questionnaire.questions if q.type == "scale5"]
        assert codes[ids["packed"]] == bytes(FIVE.get(q, 255) for q in slot_ids)
        assert codes[ids["skipped"]] == bytes({"access_facilities": 2, "overall": 0}.get(q, 255) for q in slot_ids)
        assert codes[ids["too_big"]] is None and codes[ids["fraction"]] is None and codes[ids["text_only"]] is None
        assert {(r, q) for r, q, _n, _t in remaining} == {
            (ids[name], q) for name, values in stored.items() for q in values
            if name in ("too_big", "fraction", "text_only") or q == "comment"}
        downgrade(url, "r15a")
        with engine.connect() as conn:
            assert _rows(conn, answer) == before
        upgrade(url)  # and up again
        with engine.connect() as conn:
            assert _answers(conn) == before
        engine.dispose()


def test_the_store_path_packs_numbers_and_keeps_what_does_not_fit_as_rows(db, demo) -> None:  # type: ignore[no-untyped-def]
    unit = db.scalar(select(Unit).where(Unit.code == "96"))
    service = db.scalar(select(Service).where(Service.code == "CHUNG-THUC"))
    args = dict(secret="s", questionnaire=latest(KIOSK), unit_id=unit.id, service_id=service.id, channel=Channel.WEB)
    packed, too_big = uuid.uuid4(), uuid.uuid4()
    store_response(db, answers={**FIVE, "comment": "Tốt"}, response_id=packed, **args)
    store_response(db, answers={**FIVE, "overall": 300}, response_id=too_big, **args)
    assert db.get(Response, packed).codes is not None and db.get(Response, too_big).codes is None
    assert db.scalars(select(Answer.question_id).where(Answer.response_id == packed)).all() == ["comment"]
    assert len(db.scalars(select(Answer).where(Answer.response_id == too_big)).all()) == 6
    assert compact.numbers(db, packed) == {q: float(v) for q, v in FIVE.items()}
    assert compact.numbers(db, too_big) == {**{q: float(v) for q, v in FIVE.items()}, "overall": 300.0}
    # the slots were written once, for the version, in definition order
    version = db.get(Response, packed).questionnaire_version_id
    assert db.scalars(select(AnswerSlot.question_id).where(AnswerSlot.questionnaire_version_id == version)
                      .order_by(AnswerSlot.position)).all() == [
        q.id for q in latest(KIOSK).questions if q.type == "scale5"]


def _unpack_all(db) -> None:  # type: ignore[no-untyped-def]
    for response in db.scalars(select(Response).where(Response.codes.is_not(None))).all():
        compact.unpack(db, response)
    db.commit()


def test_packed_and_row_answers_read_the_same_in_frames_pages_and_exports(client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    """The demo's ratings read packed, then the same ratings turned into rows: every frame, the
    results page and the microdata export are the same."""
    assert db.scalar(select(Response.id).where(Response.codes.is_not(None)).limit(1)) is not None
    questionnaire = latest(KIOSK)
    unit = db.scalar(select(Unit).where(Unit.code == "cu-967"))
    units = subtree_ids(db, unit)
    staff.login()
    pages = ("/staff/results?unit=96&questionnaire=sipas-kiosk", "/staff/results.csv?unit=96&questionnaire=sipas-kiosk",
             "/staff/export.csv?questionnaire=sipas-kiosk&unit=cu-967")

    def read() -> tuple[Any, ...]:
        frame = responses_frame(db, questionnaire).sort_values("response_id").reset_index(drop=True).fillna(-1.0)
        answers = stored_answers(db, KIOSK, [q.id for q in questionnaire.questions], unit_ids=units)
        bodies = tuple(re.sub(r'name="csrf_token" value="[^"]*"', "", client.get(page).get_data(as_text=True))
                       for page in pages)  # the form token carries the time it was made
        return (frame.to_dict("list"), sorted(map(tuple, answers.astype(str).values.tolist())),
                stored_responses(db, KIOSK, unit_ids=units).astype(str).to_dict("list"), bodies)

    packed = read()
    _unpack_all(db)
    assert db.scalar(select(Response.id).where(Response.codes.is_not(None)).limit(1)) is None
    assert read() == packed
    assert len(packed[0]["servant_conduct"]) > 100


def test_a_correction_keeps_a_packed_response_packed_until_a_value_does_not_fit(app, db, demo) -> None:  # type: ignore[no-untyped-def]
    """The enumerator's correction of an interview sent back (survey/staff/review.py)."""
    unit = db.scalar(select(Unit).where(Unit.code == "31825"))
    service = db.scalar(select(Service).where(Service.code == "CHUNG-THUC"))
    rid = uuid.uuid4()
    store_response(db, secret="s", questionnaire=latest(KIOSK), unit_id=unit.id, service_id=service.id,
                   channel=Channel.ENUMERATOR, answers=FIVE, response_id=rid)
    db.add(User(username="dtv2", password_hash=hash_password("mat-khau-dtv2"), role=Role.ENUMERATOR))
    db.commit()
    user_id = db.scalar(select(User.id).where(User.username == "dtv2"))
    client = app.test_client()
    assert client.post("/auth/login", data={"username": "dtv2", "password": "mat-khau-dtv2"}).status_code == 302

    def correct(value: str) -> None:
        db.execute(update(Response).where(Response.id == rid).values(user_id=user_id,
                                                                     review_status=ReviewStatus.HAS_ISSUES))
        db.commit()
        assert client.get("/field/returned/").get_data(as_text=True).count('name="q_servant_conduct"') == 1
        assert client.post(f"/field/returned/{rid}", data={"q_servant_conduct": value}).status_code == 302
        db.expire_all()

    correct("1")
    assert db.get(Response, rid).codes is not None  # still packed, one byte changed
    assert compact.numbers(db, rid) == {**{q: float(v) for q, v in FIVE.items()}, "servant_conduct": 1.0}
    assert db.scalars(select(Answer).where(Answer.response_id == rid)).all() == []
    correct("300")
    assert db.get(Response, rid).codes is None  # 300 does not fit a byte: every answer a row now
    assert {a.question_id: a.value_num for a in db.scalars(select(Answer).where(Answer.response_id == rid))} == {
        **{q: float(v) for q, v in FIVE.items()}, "servant_conduct": 300.0}
    correct("2")  # a row response stays rows
    assert db.get(Response, rid).codes is None and compact.numbers(db, rid)["servant_conduct"] == 2.0


def test_pack_refuses_what_does_not_fit_and_slots_are_the_numeric_questions() -> None:
    rows = [{"question_id": "a", "value_num": 4.0, "value_text": None},
            {"question_id": "b", "value_num": 254.0, "value_text": None},
            {"question_id": "t", "value_num": None, "value_text": "x"}]
    assert compact.pack(("a", "b", "c"), rows) == (bytes([4, 254, 255]), [rows[2]])
    for bad in (255.0, -1.0, 2.5, float("nan")):
        too = [*rows, {"question_id": "c", "value_num": bad, "value_text": None}]
        assert compact.pack(("a", "b", "c"), too) == (None, too)
    assert compact.pack((), rows) == (None, rows)
    papi = next(q for (qid, _v), q in load_library().items() if qid == "papi-household")
    slot_ids = compact.slot_questions(papi.to_dict())
    assert slot_ids and all(papi.question(q).type in {"scale5", "rating", "single", "yesno", "integer", "decimal",
                                                      "consent"} for q in slot_ids)
    assert [q.id for q in papi.questions if q.id in slot_ids] == list(slot_ids)
