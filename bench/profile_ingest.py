"""Benchmark: what one API submission costs the server, in process (PostgreSQL).

The sibling of ``bench/bench_ingest.py`` (which measures throughput through gunicorn): here the
app runs in this process behind Flask's test client, on a fresh PostgreSQL database with the demo
loaded and its rollups built (so every rating keeps them current), and for ``--n`` single kiosk
submissions it prints, per request:

- the SQL statements sent (a SQLAlchemy ``before_cursor_execute`` listener), the transactions
  (each costs a ``BEGIN`` and a ``COMMIT`` round trip with psycopg) and the connection pings;
  round trips = pings + BEGIN + statements + COMMIT/ROLLBACK;
- CPU ms (``time.process_time``) of the whole request, and the share of it spent in the
  rollup upkeep handler (:func:`survey.reports.rollups.recompute`), with its statements — the
  upkeep cost per insert;
- the same for a batch of 1,000 submissions in one request (its wall time too);

then, with ``--profile``, the top of a cProfile of the single submissions. Every rating is stamped
at 10:00 Vietnam time on the last weekday, so it counts at once (and the rollup upkeep adds it);
``--out-of-hours`` stamps them at 03:00 instead, so each is flagged ``out_of_hours`` (and waits
for review: no rollup changes).

    .venv/bin/python bench/profile_ingest.py [--n 300] [--profile] [--out-of-hours]

Not a test: run it by hand, with ``nice -n 10``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.bench_submit import ANSWERS  # noqa: E402
from tests.browser import HAILONG  # noqa: E402
from tests.databases import fresh_database  # noqa: E402


@dataclass
class Counts:
    """Database traffic and CPU of a stretch of requests."""

    statements: int = 0
    begins: int = 0
    ends: int = 0
    pings: int = 0
    cpu: float = 0.0
    upkeep_cpu: float = 0.0
    upkeep_statements: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def round_trips(self) -> int:
        return self.pings + self.begins + self.statements + self.ends


class Meter:
    """Counts statements, transactions and pings of an engine, and the upkeep handler's time."""

    def __init__(self, engine: Engine) -> None:
        self.now = Counts()
        self._in_upkeep = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", lambda _conn: self._bump("begins"))
        event.listen(engine, "commit", lambda _conn: self._bump("ends"))
        event.listen(engine, "rollback", lambda _conn: self._bump("ends"))
        ping = engine.dialect.do_ping

        def counted_ping(dbapi_connection: Any) -> bool:
            self.now.pings += 1
            return bool(ping(dbapi_connection))

        engine.dialect.do_ping = counted_ping  # type: ignore[method-assign]
        from survey.store import rollup_cells

        handlers = list(rollup_cells.HANDLERS)

        def timed(*args: Any) -> None:
            started, self._in_upkeep = time.process_time(), True
            try:
                for handler in handlers:
                    handler(*args)
            finally:
                self._in_upkeep = False
                self.now.upkeep_cpu += time.process_time() - started

        rollup_cells.HANDLERS[:] = [timed]

    def _bump(self, name: str) -> None:
        setattr(self.now, name, getattr(self.now, name) + 1)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any,
                   executemany: bool) -> None:
        self.now.statements += 1
        if self._in_upkeep:
            self.now.upkeep_statements += 1
        words = statement.split()
        kind = " ".join(words[:3])[:60] if words else "?"
        self.now.kinds[kind] = self.now.kinds.get(kind, 0) + 1

    @contextmanager
    def measure(self) -> Iterator[Counts]:
        self.now = Counts()
        started = time.process_time()
        yield self.now
        self.now.cpu = time.process_time() - started


def _report(label: str, counts: Counts, n: int, wall: float | None = None) -> None:
    per = 1 / n
    print(f"{label}: per submission {counts.statements * per:.2f} statements, "
          f"{counts.round_trips * per:.2f} round trips ({counts.pings * per:.2f} pings, "
          f"{counts.begins * per:.2f} BEGIN, {counts.ends * per:.2f} COMMIT/ROLLBACK); "
          f"CPU {1000 * counts.cpu * per:.2f} ms, of which rollup upkeep {1000 * counts.upkeep_cpu * per:.2f} ms "
          f"({counts.upkeep_statements * per:.2f} statements)" + (f"; wall {wall:.3f} s" if wall is not None else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="single submissions to measure")
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    parser.add_argument("--out-of-hours", action="store_true", help="stamp every rating at 03:00 Vietnam time")
    parser.add_argument("--statements", action="store_true", help="list the statements of the single submissions")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hailong-profile-"))
    with fresh_database("postgresql", tmp) as url:
        env = {**os.environ, "HAILONG_DATABASE_URL": url, "HAILONG_INSTANCE_PATH": str(tmp), "HAILONG_ENV": "demo"}
        subprocess.run([HAILONG, "init-db"], env=env, check=True, capture_output=True)  # noqa: S603
        subprocess.run([HAILONG, "demo", "--responses", "100"], env=env, check=True, capture_output=True)  # noqa: S603
        os.environ.update({**env, "HAILONG_API_RATE_LIMIT_PER_MINUTE": "10000000",
                           "HAILONG_KIOSK_BURST_COUNT": "1000000000"})  # as bench_ingest's server
        from survey import create_app
        from survey.collect import api, credentials
        from survey.store.models import Desk

        app = create_app()
        api.warm_caches(app)
        engine: Engine = app.extensions["hailong.engine"]
        with Session(engine) as session:
            token = credentials.issue(session, desk=session.scalar(select(Desk).where(Desk.code == "32002-MC")))
            session.commit()
        meter = Meter(engine)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        moment = _moment(args.out_of_hours).isoformat()

        def stamp() -> dict[str, str]:
            return {"submitted_at": moment}

        def one() -> None:
            body = {"id": str(uuid.uuid4()), "service": "CHUNG-THUC", "answers": ANSWERS, **stamp()}
            status = client.post("/api/v1/submissions", json=body, headers=headers).status_code
            assert status == 201, status  # noqa: S101

        for _ in range(20):  # warm up: connections, caches
            one()
        with meter.measure() as single:
            for _ in range(args.n):
                one()
        _report(f"single submissions (n={args.n})", single, args.n)
        if args.statements:
            for kind, count in sorted(single.kinds.items(), key=lambda kv: -kv[1]):
                print(f"  {count / args.n:6.2f}  {kind}")
        batch = {"submissions": [{"id": str(uuid.uuid4()), "service": "CHUNG-THUC", "answers": ANSWERS, **stamp()}
                                 for _ in range(1000)]}
        with meter.measure() as many:
            started = time.monotonic()
            reply = client.post("/api/v1/submissions/batch", json=batch, headers=headers)
            wall = time.monotonic() - started
        assert reply.status_code == 200 and reply.get_json()["counts"] == {"created": 1000}, reply.get_json()["counts"]  # noqa: S101
        _report("batch of 1,000", many, 1000, wall)
        if args.profile:
            _profile(one, args.n)
        engine.dispose()


def _moment(night: bool) -> datetime:
    """The last weekday's 10:00 in Vietnam (a rating that counts at once), or 03:00 (``night``:
    flagged out of office hours)."""
    from survey.periods import VIETNAM

    now = datetime.now(VIETNAM)
    moment = now.replace(hour=3 if night else 10, minute=0, second=0, microsecond=0)
    while moment > now - timedelta(minutes=1) or moment.weekday() >= 5:
        moment -= timedelta(days=1)
    return moment.astimezone(UTC)


def _profile(one: Callable[[], None], n: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        one()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    main()
