"""Benchmark: submissions per second through the real web server (gunicorn) to PostgreSQL.

For concurrency 1, 8 and 32 it sends single submissions to ``POST /api/v1/submissions`` and
prints the rate next to the raw rate of single-row INSERT+COMMIT through psycopg at the same
concurrency, measured in the same run; then it syncs a batch of 1,000 responses in one request.
The server is ``hailong serve`` (gunicorn, gthread) with a worker count sized for a small
2-core host (default 3 workers × 4 threads), as production would run it.

    .venv/bin/python bench/bench_submit.py [--seconds 5] [--workers 3] [--threads 4]

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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench._common import ANSWERS, hailong_serve, run_concurrently  # noqa: E402
from survey.collect import credentials  # noqa: E402
from survey.store.models import Desk  # noqa: E402
from tests.databases import fresh_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (default 3 for 2 cores)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hailong-bench-"))
    with (
        fresh_database("postgresql", tmp) as url,
        hailong_serve(
            url,
            tmp,
            args.workers,
            args.threads,
            API_RATE_LIMIT_PER_MINUTE="10000000",
            KIOSK_BURST_COUNT="1000000000",
        ) as base,
    ):
        os.environ.setdefault("HAILONG_BENCH", "1")
        engine = create_engine(url)
        with Session(engine) as session:
            token = credentials.issue(
                session, desk=session.scalar(select(Desk).where(Desk.code == "32002-MC"))
            )
            session.commit()
        engine.dispose()
        host, port = base.removeprefix("http://").split(":")
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        raw_url = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(raw_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_raw (id uuid PRIMARY KEY, body jsonb)")

        def api_work(conn):  # type: ignore[no-untyped-def]
            if conn is None:
                return http.client.HTTPConnection(host, int(port), timeout=60)
            body = json.dumps(
                {"id": str(uuid.uuid4()), "service": "CHUNG-THUC", "answers": ANSWERS}
            )
            conn.request("POST", "/api/v1/submissions", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 201, resp.status

        def raw_work(conn):  # type: ignore[no-untyped-def]
            if conn is None:
                return psycopg.connect(raw_url)
            conn.execute(
                "INSERT INTO bench_raw VALUES (%s, %s)", (uuid.uuid4(), json.dumps(ANSWERS))
            )
            conn.commit()

        print(
            f"gunicorn (hailong serve): {args.workers} workers × {args.threads} threads on {os.cpu_count()} cores; "
            f"PostgreSQL; {args.seconds:.0f} s per measurement"
        )
        print(f"{'concurrency':>11} {'API /s':>9} {'raw INSERT /s':>14} {'ratio':>7}")
        for concurrency in (1, 8, 32):
            api_rate = run_concurrently(concurrency, args.seconds, api_work)
            raw_rate = run_concurrently(concurrency, args.seconds, raw_work)
            print(
                f"{concurrency:>11} {api_rate:>9.1f} {raw_rate:>14.1f} {api_rate / raw_rate:>7.3f}"
            )

        batch = {
            "submissions": [
                {"id": str(uuid.uuid4()), "service": "CHUNG-THUC", "answers": ANSWERS}
                for _ in range(1000)
            ]
        }
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        started = time.monotonic()
        conn.request("POST", "/api/v1/submissions/batch", body=json.dumps(batch), headers=headers)
        result = json.loads(conn.getresponse().read())
        elapsed = time.monotonic() - started
        print(
            f"batch of 1,000 in one request: {elapsed:.2f} s ({1000 / elapsed:.0f}/s), counts {result['counts']}"
        )
        started = time.monotonic()
        conn.request("POST", "/api/v1/submissions/batch", body=json.dumps(batch), headers=headers)
        result = json.loads(conn.getresponse().read())
        print(
            f"same batch again (all duplicates): {time.monotonic() - started:.2f} s, counts {result['counts']}"
        )


if __name__ == "__main__":
    main()
