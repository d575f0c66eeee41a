"""Issue 15 point 3: the read replica. A real streaming standby (``pg_basebackup -R`` of a primary,
each on its own port, tests/replica.py): the portal reads a release published on the primary from
the standby; writes and staff pages stay on the primary; a standby beyond the staleness bound, or
down, is not read; a release build reads the standby only once it has replayed what came before."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from survey import create_app
from survey.store.models import Role, Unit, UnitLevel
from tests.portal_fixtures import publish, sample_snapshot
from tests.release_actions import PASSWORD, add_user
from tests.replica import Pair, primary_and_standby

DATABASE = "hailong"


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    from survey.store.migrate import upgrade

    with primary_and_standby() as pair:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{pair.primary_port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}" ENCODING \'UTF8\' TEMPLATE template0')
        upgrade(pair.url(pair.primary_port, DATABASE))
        yield pair


@pytest.fixture
def app(pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret", "DOSSIER_KEY_FILE": str(tmp_path / "keys.json"),
        "DATABASE_URL": pair.url(pair.primary_port, DATABASE),
        "DATABASE_REPLICA_URL": pair.url(pair.standby_port, DATABASE),
        "REPLICA_MAX_LAG_SECONDS": 1.0,
    })
    yield app
    app.extensions["hailong.engine"].dispose()
    app.extensions["hailong.replica"].engine.dispose()


class Statements:
    """The SQL each engine ran while it listened."""

    def __init__(self, *engines: Engine) -> None:
        self.seen: dict[Engine, list[str]] = {e: [] for e in engines}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._make(engine))

    def _make(self, engine: Engine) -> Any:
        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            self.seen[engine].append(statement)
        return record

    def on(self, engine: Engine, word: str) -> list[str]:
        return [s for s in self.seen[engine] if word in s.lower() and "pg_" not in s]

    def clear(self) -> None:
        for statements in self.seen.values():
            statements.clear()


def _published(app: Flask) -> int:
    """The id of the sample release, published on the primary (once for the module's database)."""
    from survey.store.models import Release

    with Session(app.extensions["hailong.engine"]) as session:
        known = session.scalar(select(Release.id).order_by(Release.id))
        if known is not None:
            return known
        release = publish(session, sample_snapshot())
        session.commit()
        return release.id


def test_the_standby_is_a_real_streaming_standby(app: Flask) -> None:
    replica = app.extensions["hailong.replica"]
    with replica.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
        with pytest.raises(Exception, match="read-only"):
            conn.execute(text("CREATE TABLE nope (x int)"))
    with app.extensions["hailong.engine"].connect() as conn:
        senders = conn.execute(text("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")).scalar_one()
    assert senders == 1


def test_the_portal_reads_a_release_published_on_the_primary_from_the_standby(app: Flask) -> None:
    release_id = _published(app)
    replica = app.extensions["hailong.replica"]
    assert replica.caught_up(10)
    replica._checked = 0.0  # noqa: SLF001 - look again now
    statements = Statements(app.extensions["hailong.engine"], replica.engine)
    response = app.test_client().get(f"/portal/r/{release_id}/sipas-kiosk/96/")
    assert response.status_code == 200
    assert "Cà Mau" in response.get_data(as_text=True)
    assert statements.on(replica.engine, "release"), "the page did not read the standby"
    assert not statements.on(app.extensions["hailong.engine"], "release"), "the page read the primary"


def test_writes_and_staff_pages_use_the_primary(app: Flask) -> None:
    add_user(app.extensions["hailong.engine"], f"canbo{time.monotonic_ns()}", Role.STAFF)
    replica = app.extensions["hailong.replica"]
    with Session(app.extensions["hailong.engine"]) as session:
        username = session.execute(text("SELECT username FROM app_user ORDER BY id DESC LIMIT 1")).scalar_one()
    statements = Statements(app.extensions["hailong.engine"], replica.engine)
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": PASSWORD}).status_code == 302
    assert client.get("/staff/").status_code == 200
    assert statements.seen[app.extensions["hailong.engine"]], "nothing ran on the primary"
    assert not statements.on(replica.engine, "select"), "a staff page or a sign-in read the standby"


def test_a_standby_behind_the_bound_is_not_read(app: Flask, pair: Pair) -> None:
    release_id = _published(app)
    replica = app.extensions["hailong.replica"]
    assert replica.caught_up(10)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{pair.standby_port}/postgres", autocommit=True) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            with Session(app.extensions["hailong.engine"]) as session:  # a write the standby will not replay
                province = session.scalar(select(Unit).where(Unit.code == "96"))
                session.add(Unit(code=f"96-x{time.monotonic_ns() % 10**6}", name="Ấp mới", level=UnitLevel.HAMLET,
                                 parent=province))
                session.commit()
            time.sleep(1.6)
            replica._checked = 0.0  # noqa: SLF001
            assert replica.lag() > replica.max_lag
            statements = Statements(app.extensions["hailong.engine"], replica.engine)
            response = app.test_client().get(f"/portal/r/{release_id}/sipas-kiosk/96/")
            assert response.status_code == 200
            assert statements.on(app.extensions["hailong.engine"], "release")
            assert not statements.on(replica.engine, "release")
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    assert replica.caught_up(10)


def test_a_release_build_reads_the_standby_only_once_it_has_replayed_what_came_before(app: Flask) -> None:
    from survey.store.db import reading_sessionmaker

    name = f"Xã {time.monotonic_ns()}"
    with Session(app.extensions["hailong.engine"]) as session:
        province = session.scalar(select(Unit).where(Unit.code == "96"))
        session.add(Unit(code=f"96{time.monotonic_ns() % 1000:03d}x", name=name, level=UnitLevel.COMMUNE, parent=province))
        session.commit()
    maker = reading_sessionmaker(app)
    assert maker is app.extensions["hailong.replica"].sessionmaker
    with maker() as reader:  # the unit just written is there: the build waited for the replay
        assert reader.scalar(select(Unit.name).where(Unit.name == name)) == name


def test_a_standby_that_is_down_is_not_read_and_the_portal_still_answers(app: Flask, pair: Pair) -> None:
    release_id = _published(app)
    pair.pg_ctl("standby", "-m", "fast", "stop")
    try:
        replica = app.extensions["hailong.replica"]
        replica.engine.dispose()
        replica._checked = 0.0  # noqa: SLF001
        response = app.test_client().get(f"/portal/r/{release_id}/sipas-kiosk/96/")
        assert response.status_code == 200 and "Cà Mau" in response.get_data(as_text=True)
        from survey.store.db import reading_sessionmaker

        assert reading_sessionmaker(app) is app.extensions["hailong.sessionmaker"]
    finally:
        pair.pg_ctl("standby", "-l", str(pair.folder / "standby.log"), "start")
