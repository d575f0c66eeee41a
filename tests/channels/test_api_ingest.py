"""The fast ingest path (issue 15 point 5): one transaction per submission, rollup upkeep from the
answers in memory, and connection liveness without a ping per request — on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from survey.periods import VIETNAM
from survey.reports.rollups import quarter_start, rebuild
from survey.store import db as store_db
from survey.store.casebook import WorkCalendar
from survey.store.casework import ResponseFlag
from survey.store.models import AuditEvent, Response
from survey.store.rollup_cells import Rollup, RollupState
from tests.channels.conftest import submission


@contextmanager
def traffic(engine: Engine) -> Iterator[dict[str, list[str]]]:
    """The statements and commits ``engine`` sends inside the block."""
    seen: dict[str, list[str]] = {"statements": [], "commits": []}

    def statement(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        seen["statements"].append(sql)

    def commit(_c: Any) -> None:
        seen["commits"].append("COMMIT")

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def _last_working_day_at(hour: int) -> datetime:
    """``hour`` o'clock in Vietnam on the last working day before now (a plausible submission time)."""
    calendar = WorkCalendar()
    moment = datetime.now(VIETNAM).replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(days=1)
    while not calendar.is_working(moment.date()):
        moment -= timedelta(days=1)
    return moment.astimezone(UTC)


def test_a_flagged_submission_its_flag_and_its_audit_line_commit_once(app, device_api, db) -> None:  # type: ignore[no-untyped-def]
    """Before, a rating flagged out of office hours cost three transactions (the response, then its
    flag, then the audit line): a crash between them left a flagged response without its reason."""
    app.config["QUALITY_OFFICE_HOURS"] = "07:00-17:30"  # the tests' default turns the check off
    night = _last_working_day_at(3)
    assert device_api.submit(submission()).status_code == 201  # the first one also registers the dossier key
    body = submission(submitted_at=night.isoformat())
    audits = int(db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "api.submission")))
    with traffic(app.extensions["hailong.engine"]) as seen:
        resp = device_api.submit(body)
    assert resp.status_code == 201, resp.get_json()
    assert seen["commits"] == ["COMMIT"], [s[:60] for s in seen["statements"]]
    rid = uuid.UUID(body["id"])
    assert db.get(Response, rid).flag == "out_of_hours"
    assert db.scalars(select(ResponseFlag.code).where(ResponseFlag.response_id == rid)).all() == ["out_of_hours"]
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "api.submission")) == audits + 1
    assert not [s[:300] for s in seen["statements"] if s.startswith("INSERT") and "rollup" in s]


def test_a_new_rating_is_added_to_its_cells_without_reading_answers_back(app, device_api, db) -> None:  # type: ignore[no-untyped-def]
    engine = app.extensions["hailong.engine"]
    if db.get(RollupState, "sipas-kiosk") is None:
        rebuild(db)
        db.commit()
    moment = _last_working_day_at(10)
    body = submission(submitted_at=moment.isoformat(), answers={
        "access_facilities": 5, "procedure_as_regulated": 2, "servant_conduct": 4, "result_on_time": 1,
        "feedback_channel": 3})
    with traffic(engine) as seen:
        resp = device_api.submit(body)
    assert resp.status_code == 201, resp.get_json()
    # The version's slots (survey.store.compact: which question each byte of ``codes`` holds) are
    # read once per version and cached: that is not reading the rating's answers back.
    reads = [s for s in seen["statements"] if "answer" in s.lower().replace("answer_slot", "")
             and not s.lstrip().upper().startswith("INSERT")]
    assert reads == [], reads
    response = db.get(Response, uuid.UUID(body["id"]))
    assert response.flag is None
    start = quarter_start(moment.astimezone(VIETNAM).date())
    where = (Rollup.questionnaire_version_id == response.questionnaire_version_id, Rollup.unit_id == response.unit_id,
             Rollup.service_id == response.service_id, Rollup.grain == "q", Rollup.day == start)
    kept = db.execute(select(Rollup.n_responses, Rollup.sums).where(*where)).one()
    db.expire_all()
    rebuild(db)  # the full computation from the stored answers
    rebuilt = db.execute(select(Rollup.n_responses, Rollup.sums).where(*where)).one()
    db.rollback()
    assert kept[0] == rebuilt[0] >= 1
    import numpy as np

    ours, theirs = np.frombuffer(kept[1], "<f8"), np.frombuffer(rebuilt[1], "<f8")
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def _pings(engine: Engine) -> list[int]:
    calls: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        calls.append(1)
        return bool(real(dbapi_connection))

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return calls


def test_a_connection_in_use_is_not_pinged_and_an_idle_dead_one_is_replaced(database_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if not database_url.startswith("postgresql"):
        pytest.skip("the idle ping is PostgreSQL's (an SQLite connection is a file)")
    engine = store_db.make_engine(database_url, pool_size=1, max_overflow=0)
    other = store_db.make_engine(database_url)
    try:
        pings = _pings(engine)
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as conn:  # returned just now: handed out as is
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == first
        assert pings == []
        with other.connect() as conn:  # the server drops it (a restart, an idle timeout)
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            for _ in range(200):  # until the backend has gone (bounded)
                if not conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                    {"pid": first}).scalar_one():
                    break
                conn.rollback()
        monkeypatch.setattr(store_db, "PING_AFTER_IDLE_SECONDS", -1.0)  # as if idle for long
        with engine.connect() as conn:
            again = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert pings and again != first
    finally:
        engine.dispose()
        other.dispose()
