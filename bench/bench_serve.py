"""Benchmark: ``hailong serve`` workers × threads on this machine, for a mix of kiosk submissions
and staff pages (PostgreSQL; issue 15 point 6 — the figures that chose the defaults).

One database with the demo (``--ratings`` kiosk ratings, rollups built) serves every
configuration in turn: for each workers × threads it starts ``hailong serve``, then ``--clients``
client threads (keep-alive connections) run for ``--seconds``: each request is a kiosk
submission (``POST /api/v1/submissions``, a desk's token) or, one in ``--page-every``, a staff
page (the results page of the province or the ranking of communes, signed in). It prints, per
configuration, the requests per second, the p50 and p95 of each kind, and the throughput as a
ratio of the best configuration of the run.

    nice -n 10 .venv/bin/python bench/bench_serve.py [--workers 2,3,4] [--threads 1,2,4] [--seconds 15]

Not a test: run it by hand. Needs the local PostgreSQL (see tests/databases.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench._common import ANSWERS, STAFF, hailong_env, hailong_serve, percentiles  # noqa: E402
from survey.collect import credentials  # noqa: E402
from survey.store.models import Desk  # noqa: E402
from tests.browser import HAILONG  # noqa: E402
from tests.databases import fresh_database  # noqa: E402

PAGES = ["/staff/results?unit=96&service=CHUNG-THUC&questionnaire=sipas-kiosk", "/staff/ranking?level=commune"]
SETTINGS = {"API_RATE_LIMIT_PER_MINUTE": "10000000", "KIOSK_BURST_COUNT": "1000000000",
            "LOGIN_MAX_PER_ADDRESS": "100000", "LOGIN_LOCK_AFTER": "100000", "QUEUE_IMMEDIATE": "true"}


def signed_in(base: str) -> requests.Session:
    """A client session signed in as the demo's staff account (through the login form, CSRF token included)."""
    session = requests.Session()
    form = session.get(f"{base}/auth/login", timeout=60).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    data = {**STAFF, **({"csrf_token": token.group(1)} if token else {})}
    session.post(f"{base}/auth/login", data=data, timeout=60).raise_for_status()
    return session


def mix(base: str, token: str, clients: int, seconds: float, page_every: int) -> dict[str, list[float]]:
    """Latencies of submissions and pages from ``clients`` threads for ``seconds``."""
    out: dict[str, list[float]] = {"submission": [], "page": [], "error": []}
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    stop = [0.0]

    def client(k: int) -> None:
        session = signed_in(base)
        mine: dict[str, list[float]] = {"submission": [], "page": [], "error": []}
        barrier.wait()
        for n in itertools.count(k):
            if n > k and time.monotonic() >= stop[0]:
                break
            start = time.perf_counter()
            try:
                kind, ok = _one(session, base, n, page_every, headers)
            except requests.ConnectionError:  # a server that closes keep-alive connections (threads = 1)
                kind, ok = "error", False
            mine[kind if ok else "error"].append(time.perf_counter() - start)
        with lock:
            for key, values in mine.items():
                out[key].extend(values)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()  # every client signed in
    stop[0] = time.monotonic() + seconds  # read by the clients only after their first request
    for t in threads:
        t.join()
    return out


def _one(session: requests.Session, base: str, n: int, page_every: int, headers: dict[str, str]) -> tuple[str, bool]:
    """Request number ``n`` of a client: a staff page one time in ``page_every``, else a submission."""
    if n % page_every == 0:
        response = session.get(base + PAGES[(n // page_every) % len(PAGES)], timeout=120,
                               allow_redirects=False)  # signed out: 302, an error
        return "page", response.status_code == 200
    body = json.dumps({"id": str(uuid.uuid4()), "service": "CHUNG-THUC", "answers": ANSWERS})
    response = session.post(f"{base}/api/v1/submissions", data=body, headers=headers, timeout=120)
    return "submission", response.status_code == 201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="2,3,4")
    parser.add_argument("--threads", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=16, help="concurrent client connections")
    parser.add_argument("--page-every", type=int, default=10, help="one request in this many is a staff page")
    parser.add_argument("--ratings", type=int, default=20000, help="kiosk ratings of the demo loaded first")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hailong-bench-serve-"))
    rows = []
    with fresh_database("postgresql", tmp) as url:
        env = hailong_env(url, tmp, **SETTINGS)
        subprocess.run([HAILONG, "init-db"], env=env, check=True, capture_output=True)  # noqa: S603
        subprocess.run([HAILONG, "demo", "--responses", str(args.ratings)], env=env, check=True,  # noqa: S603
                       capture_output=True)
        engine = create_engine(url)
        with Session(engine) as session:
            token = credentials.issue(session, desk=session.scalar(select(Desk).where(Desk.code == "32002-MC")))
            session.commit()
        engine.dispose()
        print(f"hailong serve (gunicorn gthread) on {os.cpu_count()} cores, PostgreSQL, demo with {args.ratings:,} "
              f"ratings; {args.clients} clients, one request in {args.page_every} a staff page, "
              f"{args.seconds:.0f} s each", flush=True)
        print(f"{'workers':>7} {'threads':>7} {'req/s':>7} {'subm p50':>9} {'subm p95':>9} {'page p50':>9} "
              f"{'page p95':>9} {'errors':>6}", flush=True)
        for workers, threads in itertools.product(map(int, args.workers.split(",")), map(int, args.threads.split(","))):
            with hailong_serve(url, tmp, workers, threads, demo=None, **SETTINGS) as base:
                mix(base, token, args.clients, 3.0, args.page_every)  # warm-up: every worker's caches
                times = mix(base, token, args.clients, args.seconds, args.page_every)
            rate = (len(times["submission"]) + len(times["page"])) / args.seconds
            sub, page = percentiles(times["submission"]), percentiles(times["page"])
            rows.append((workers, threads, rate))
            print(f"{workers:>7} {threads:>7} {rate:>7.1f} {sub[0] * 1000:>7.0f}ms {sub[1] * 1000:>7.0f}ms "
                  f"{page[0] * 1000:>7.0f}ms {page[1] * 1000:>7.0f}ms {len(times['error']):>6}", flush=True)
    best = max(rows, key=lambda r: r[2])
    print(f"\nthroughput as a ratio of the best ({best[0]} workers × {best[1]} threads, {best[2]:.1f} req/s):")
    print("  " + ", ".join(f"{w}×{t}: {r / best[2]:.2f}" for w, t, r in rows))


if __name__ == "__main__":
    main()
