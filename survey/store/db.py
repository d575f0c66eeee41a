"""Engine and session handling (plain SQLAlchemy 2, one session per request), and the read replica.

**Read replica** (``DATABASE_REPLICA_URL``, a PostgreSQL streaming standby of ``DATABASE_URL``):
the public portal and the open-data files (GET requests of the ``portal`` and ``opendata``
blueprints), the staff's data export downloads and the release builds read from it; every write,
review decision and every other staff page use the primary. **Staleness bound**: a request reads
from the standby only while its replay lag is at most ``REPLICA_MAX_LAG_SECONDS`` (checked at
most once a second: 0 when it has replayed all it received, else the age of the last replayed
transaction); when it lags more, or cannot be reached, the primary answers instead (logged), so a
page is never staler than the bound and never fails because of the standby. A release build goes
further: it first waits (up to the bound) until the standby has replayed the primary's WAL position
at the start of the build, so a build sees every approval made before it was started.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
# What reads from the replica (GET/HEAD only): the public blueprints, the staff's data downloads.
REPLICA_BLUEPRINTS = frozenset({"portal", "opendata"})
REPLICA_ENDPOINTS = frozenset({"staff.export_file"})


#: A pooled PostgreSQL connection idle for longer than this is pinged before use (see
#: :func:`_ping_when_idle`).
PING_AFTER_IDLE_SECONDS = 1.0


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout; a PostgreSQL engine pings
    the connections that were idle (:func:`_ping_when_idle`), not every one (``pool_pre_ping``)."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "postgresql" and not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    if engine.dialect.name == "sqlite":
        _owner_only(engine.url.database, create=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            _owner_only(engine.url.database)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Liveness without a round trip per request: ``pool_pre_ping`` sends ``SELECT 1`` on every
    checkout (issue 15 measured one of the ~7 round trips of a submission). A connection checked
    out again within :data:`PING_AFTER_IDLE_SECONDS` of its return was just in use, so it is handed
    out as is; one idle for longer (a quiet night, when a database restart goes unnoticed) is pinged
    first and replaced if dead. A restart under load is caught by SQLAlchemy's disconnect handling:
    the failing statement invalidates that connection and every older one in the pool, and the
    request answers 503 with ``Retry-After`` (:func:`survey.errors`), which clients replay."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["hailong.idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("hailong.idle_since")
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE_SECONDS:
            return  # new (just connected), or just returned by a request
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(str(exc)) from exc  # the pool connects afresh and retries
        if not alive:
            raise DisconnectionError("the connection did not answer a ping")


def _owner_only(database: str | None, create: bool = False) -> None:
    """An SQLite database file (and its WAL files) readable and writable by its owner only;
    ``create``: make the (empty) file so, before SQLite creates it with the umask's mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    if create and not os.path.exists(database) and os.path.isdir(os.path.dirname(database) or "."):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm"):
        path = database + suffix
        if os.path.exists(path) and os.stat(path).st_mode & 0o077 and os.stat(path).st_uid == os.getuid():
            os.chmod(path, 0o600)


class Replica:
    """A streaming standby and how far behind the primary it is (see the module's docstring)."""

    def __init__(self, primary: Engine, url: str, max_lag: float) -> None:
        self.primary, self.max_lag = primary, max_lag
        self.engine = make_engine(url, connect_args={"connect_timeout": 2})
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._checked, self._fresh, self._lock = 0.0, False, threading.Lock()

    def lag(self) -> float:
        """Seconds the standby's replay is behind (0 when it has replayed everything it received)."""
        with self.engine.connect() as conn:
            value = conn.execute(text(
                "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
                "WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
                "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9) END")).scalar_one()
        return float(value)

    def fresh(self) -> bool:
        """Whether the standby may answer now (lag within the bound), checked at most once a second."""
        now = time.monotonic()
        with self._lock:
            if now - self._checked < 1.0:
                return self._fresh
            self._checked = now
            try:
                lag = self.lag()
            except DBAPIError as exc:
                log.warning("read replica unreachable, reading from the primary: %s", type(exc.orig).__name__)
                self._fresh = False
                return False
            self._fresh = lag <= self.max_lag
            if not self._fresh:
                log.warning("read replica %.1f s behind (bound %.1f s), reading from the primary", lag, self.max_lag)
            return self._fresh

    def caught_up(self, timeout: float) -> bool:
        """Wait until the standby has replayed the primary's current WAL position (≤ ``timeout`` s)."""
        try:
            with self.primary.connect() as conn:
                target = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
            deadline = time.monotonic() + timeout
            with self.engine.connect() as conn:
                while True:
                    done = conn.execute(text("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)"),
                                        {"t": str(target)}).scalar_one()
                    conn.rollback()
                    if done:
                        return True
                    if time.monotonic() > deadline:
                        return False
                    time.sleep(0.05)
        except DBAPIError as exc:
            log.warning("read replica unreachable, reading from the primary: %s", type(exc.orig).__name__)
            return False


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["hailong.engine"] = engine
    app.extensions["hailong.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    replica_url = str(app.config.get("DATABASE_REPLICA_URL") or "")
    if replica_url:
        app.extensions["hailong.replica"] = Replica(engine, replica_url, float(app.config["REPLICA_MAX_LAG_SECONDS"]))

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown: on the read replica for
    the requests it serves (see the module's docstring) while it is fresh, else on the primary."""
    from flask import current_app

    if "db_session" not in g:
        replica: Replica | None = current_app.extensions.get("hailong.replica")
        if replica is not None and _replica_request() and replica.fresh():
            g.db_session, g.db_on_replica = replica.sessionmaker(), True
        else:
            g.db_session = current_app.extensions["hailong.sessionmaker"]()
    session: Session = g.db_session
    return session


def _replica_request() -> bool:
    return has_request_context() and request.method in ("GET", "HEAD") and (
        request.blueprint in REPLICA_BLUEPRINTS or request.endpoint in REPLICA_ENDPOINTS)


def reading_sessionmaker(app: Flask) -> Any:
    """Sessions for a long read such as a release build: on the replica once it has replayed what the
    primary had written when this was called (waiting up to the staleness bound), else the primary's."""
    replica: Replica | None = app.extensions.get("hailong.replica")
    if replica is not None and replica.caught_up(replica.max_lag):
        return replica.sessionmaker
    return app.extensions["hailong.sessionmaker"]


def get_engine() -> Engine:
    from flask import current_app

    engine: Engine = current_app.extensions["hailong.engine"]
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session outside a request (CLI, demo loader) that commits or rolls back."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
