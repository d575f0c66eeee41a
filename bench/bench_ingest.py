"""Benchmark: the single-submission API against a minimal Flask endpoint, same gunicorn (PostgreSQL).

Two servers run side by side with the same gunicorn settings (``--workers`` × ``--threads``,
gthread, an access log line a request): ``hailong serve`` (the app, ``POST /api/v1/submissions``
with a kiosk token), and :mod:`bench.minimal_ingest` (a Flask app that validates nothing and
INSERTs one row with psycopg). For concurrency 1, 8 and 32 it sends single submissions to each for
``--seconds`` and prints both rates and their ratio (goal, issue 15: ≥ 0.5); then a batch of
1,000 submissions in one request (goal < 0.3 s).

    .venv/bin/python bench/bench_ingest.py [--seconds 5] [--workers 3] [--threads 4]

Not a test: run it by hand. Needs the local PostgreSQL (see tests/databases.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench._common import ANSWERS, hailong_serve, run_concurrently, serving  # noqa: E402
from survey.collect import credentials  # noqa: E402
from survey.store.models import Desk  # noqa: E402
from tests.browser import free_port  # noqa: E402
from tests.databases import fresh_database  # noqa: E402


@contextmanager
def minimal(raw_url: str, workers: int, threads: int, log: Path) -> Iterator[str]:
    """gunicorn serving :mod:`bench.minimal_ingest` with the same settings; yields its URL."""
    with psycopg.connect(raw_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_minimal (id uuid PRIMARY KEY, body jsonb)")
    port = free_port()
    env = {**os.environ, "BENCH_DATABASE_URL": raw_url, "PYTHONPATH": str(ROOT)}
    with serving([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                  "--threads", str(threads), "--access-logfile", "-", "--graceful-timeout", "5",
                  "bench.minimal_ingest:app"], f"http://127.0.0.1:{port}", log, env, cwd=ROOT) as base:
        yield base


def _poster(base: str, path: str, headers: dict[str, str], body: dict[str, object]):  # type: ignore[no-untyped-def]
    host, port = base.removeprefix("http://").split(":")

    def work(conn):  # type: ignore[no-untyped-def]
        if conn is None:
            return http.client.HTTPConnection(host, int(port), timeout=60)
        conn.request("POST", path, body=json.dumps({**body, "id": str(uuid.uuid4())}), headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 201, resp.status

    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (default 3 for 2 cores)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hailong-bench-"))
    with fresh_database("postgresql", tmp) as url, \
            hailong_serve(url, tmp, args.workers, args.threads, API_RATE_LIMIT_PER_MINUTE="10000000",
                     KIOSK_BURST_COUNT="1000000000") as app_base, \
            minimal(url.replace("postgresql+psycopg://", "postgresql://"), args.workers, args.threads,
                    tmp / "minimal.log") as minimal_base:
        engine = create_engine(url)
        with Session(engine) as session:
            token = credentials.issue(session, desk=session.scalar(select(Desk).where(Desk.code == "32002-MC")))
            session.commit()
        engine.dispose()
        submission = {"service": "CHUNG-THUC", "answers": ANSWERS}
        api = _poster(app_base, "/api/v1/submissions",
                      {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}, submission)
        floor = _poster(minimal_base, "/submit", {"Content-Type": "application/json"}, submission)
        print(f"gunicorn: {args.workers} workers × {args.threads} threads (gthread) on {os.cpu_count()} cores, "
              f"both servers; PostgreSQL; {args.seconds:.0f} s per measurement")
        print(f"{'concurrency':>11} {'API /s':>9} {'minimal Flask /s':>17} {'ratio':>7}")
        for concurrency in (1, 8, 32):
            api_rate = run_concurrently(concurrency, args.seconds, api)
            floor_rate = run_concurrently(concurrency, args.seconds, floor)
            print(f"{concurrency:>11} {api_rate:>9.1f} {floor_rate:>17.1f} {api_rate / floor_rate:>7.3f}")
        batch = {"submissions": [{"id": str(uuid.uuid4()), **submission} for _ in range(1000)]}
        host, port = app_base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        started = time.monotonic()
        conn.request("POST", "/api/v1/submissions/batch", body=json.dumps(batch),
                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        result = json.loads(conn.getresponse().read())
        print(f"batch of 1,000 in one request: {time.monotonic() - started:.2f} s, counts {result['counts']}")


if __name__ == "__main__":
    main()
