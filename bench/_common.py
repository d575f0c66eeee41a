"""What the benchmarks share: the kiosk answers they submit, timing helpers, a Flask app on a
benchmark database, and ``hailong serve`` (gunicorn) started for a run.

Not a benchmark itself: ``bench/bench_*.py`` import it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from survey import create_app
from tests.browser import HAILONG, free_port, wait_healthy

#: The kiosk rating every benchmark submits (the five SIPAS criteria of ``sipas-kiosk``).
ANSWERS = {"access_facilities": 5, "procedure_as_regulated": 4, "servant_conduct": 5, "result_on_time": 3,
           "feedback_channel": 4}

#: The demo's staff account (``survey.demo``) and its password.
STAFF = {"username": "canbo", "password": "hailong-demo"}


def best(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``fn``, in seconds."""
    return min(timings(fn, repeat))


def timings(fn: Callable[[], object], repeat: int) -> list[float]:
    """The seconds each of ``repeat`` runs of ``fn`` took."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p95 of ``seconds``."""
    if len(seconds) < 2:
        return seconds[0], seconds[0]
    cuts = statistics.quantiles(seconds, n=20, method="inclusive")
    return statistics.median(seconds), cuts[18]


def bench_app(url: str, **config: Any) -> Flask:
    """The app on ``url`` as the benchmarks run it (no CSRF, quality checks off)."""
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "TESTING": True,
                       "QUALITY_OFFICE_HOURS": "", "QUALITY_FIELD_HOURS": "", "QUALITY_SECONDS_PER_ANSWER": 0,
                       **config})


def staff_client(app: Flask) -> FlaskClient:
    """A test client signed in as the demo's staff account."""
    client = app.test_client()
    client.post("/auth/login", data=STAFF)
    return client


def run_concurrently(concurrency: int, seconds: float, work: Callable[[Any], object]) -> float:
    """Calls of ``work`` per second from ``concurrency`` threads for ``seconds``; ``work(None)``
    is each thread's setup and returns the state its later calls get."""
    counts = [0] * concurrency
    stop = time.monotonic() + seconds
    barrier = threading.Barrier(concurrency + 1)

    def worker(i: int) -> None:
        state = work(None)
        barrier.wait()
        while time.monotonic() < stop:
            work(state)
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.monotonic()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


@contextmanager
def serving(argv: list[str], base: str, log: Path, env: dict[str, str], cwd: Path | None = None) -> Iterator[str]:
    """Run a server (``argv``) until the block ends; yield ``base`` once it is healthy."""
    with log.open("a") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)  # noqa: S603
    try:
        wait_healthy(base, proc, log)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def hailong_env(url: str, instance: Path, **settings: str) -> dict[str, str]:
    """The environment of ``hailong`` commands on ``url`` (``settings``: more ``HAILONG_*``)."""
    return {**os.environ, "HAILONG_DATABASE_URL": url, "HAILONG_INSTANCE_PATH": str(instance), "HAILONG_ENV": "demo",
            **{f"HAILONG_{k}": v for k, v in settings.items()}}


@contextmanager
def hailong_serve(url: str, instance: Path, workers: int, threads: int, *, demo: int | None = 100,
                  **settings: str) -> Iterator[str]:
    """``hailong serve`` with ``workers`` × ``threads`` on ``url`` (migrated, and the demo loaded
    with ``demo`` ratings unless None: the database is ready); yields its URL."""
    env = hailong_env(url, instance, **settings)
    if demo is not None:
        subprocess.run([HAILONG, "init-db"], env=env, check=True, capture_output=True)  # noqa: S603
        subprocess.run([HAILONG, "demo", "--responses", str(demo)], env=env, check=True,  # noqa: S603
                       capture_output=True)
    port = free_port()
    with serving([HAILONG, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                  "--threads", str(threads)], f"http://127.0.0.1:{port}", instance / "server.log", env) as base:
        yield base
