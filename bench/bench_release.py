"""Benchmark: building one release snapshot (a province, its communes and departments, a quarter)
from the rollups vs from the microdata, on PostgreSQL.

It loads the demo province (unit ``96``: 64 communes and wards of today's map, its departments)
with ``--size`` kiosk ratings into a fresh PostgreSQL database (the demo loader builds the
rollups), then builds the snapshot of the last complete quarter twice in the same run — with the
rollups (the product's path) and with them switched off (``rollups.usable`` → None: every figure
scored from the stored answers, the path of every build before issue 15) — prints both times and
their ratio, and checks that both snapshots hold the same figures (1e-12 relative).

    nice -n 10 .venv/bin/python bench/bench_release.py [--size 100000] [--repeat 2] [--url URL]

(``--url``: an existing database holding the demo province instead of a fresh
``bench_h15p_<size>``, dropped afterwards.) It also builds the year's release.

:func:`build_one` builds one release's snapshot of an existing database; the scale benchmark
(``bench/bench_scale.py``) calls it on its 1M / 10M databases. Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask  # noqa: E402
from flask_babel import force_locale  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from survey import create_app  # noqa: E402
from survey.periods import Period  # noqa: E402
from survey.portal.snapshot import Snapshot  # noqa: E402
from survey.portal.snapshot_builder import ReleaseSpec, build_snapshot  # noqa: E402
from survey.reports import rollups  # noqa: E402


def build_one(app: Flask, period: str, *, scope: str = "96", questionnaires: tuple[str, ...] = ("sipas-kiosk",),
              rolled: bool = True, **choices: Any) -> tuple[Snapshot, float]:
    """Build the snapshot of one release of ``app``'s database — ``period`` (``2026-Q3``…), the
    unit ``scope``, ``questionnaires``, any other :class:`ReleaseSpec` field in ``choices`` —
    without storing it, and return it with the seconds it took. ``rolled=False``: with the
    rollups switched off (every figure from the microdata), the reference path."""
    spec = ReleaseSpec(period=Period.parse(period), scope=scope, questionnaires=questionnaires, **choices)  # type: ignore[arg-type]
    original = rollups.usable
    if not rolled:
        rollups.usable = lambda *_a, **_k: None  # type: ignore[assignment]
    try:
        with app.app_context(), force_locale("vi"), Session(app.extensions["hailong.engine"]) as session:
            start = time.perf_counter()
            snapshot = build_snapshot(session, spec, release={"id": 0})  # type: ignore[typeddict-item]
            return snapshot, time.perf_counter() - start
    finally:
        rollups.usable = original  # type: ignore[assignment]


def last_quarter() -> str:
    """The last complete quarter before today (the demo's ratings run up to it)."""
    from datetime import date

    day = date.today()
    quarter = (day.month - 1) // 3  # complete quarters this year
    return f"{day.year - 1}-Q4" if quarter == 0 else f"{day.year}-Q{quarter}"


@contextmanager
def demo_database(size: int) -> Iterator[str]:
    """A fresh PostgreSQL database ``bench_h15p_<size>`` with the demo province and ``size``
    kiosk ratings (rollups built by the loader); dropped afterwards."""
    import psycopg

    from survey.demo import load_demo
    from survey.store.migrate import upgrade
    from tests.databases import PG_ADMIN_URL

    name = f"bench_h15p_{size}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    try:
        upgrade(url)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
        start = time.perf_counter()
        load_demo(app.extensions["hailong.engine"], secret="bench", n_responses=size, papi_per_village=0)  # noqa: S106
        print(f"\n{size:,} ratings loaded (rollups built) in {time.perf_counter() - start:.1f} s")
        app.extensions["hailong.engine"].dispose()
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def compare(app: Flask, period: str, repeat: int, **choices: Any) -> None:
    """Time one release built both ways (after a first build that loads the library) and check
    that both snapshots hold the same figures."""
    from tests.snapshot_compare import count_floats, differences

    build_one(app, period, **choices)  # warm-up: the questionnaire library, the first connection
    times: dict[bool, float] = {True: float("inf"), False: float("inf")}
    cpu: dict[bool, float] = {True: float("inf"), False: float("inf")}
    snapshots: dict[bool, Snapshot] = {}
    for _ in range(repeat):
        for rolled in (True, False):
            start = time.process_time()
            snapshots[rolled], took = build_one(app, period, rolled=rolled, **choices)
            times[rolled], cpu[rolled] = min(times[rolled], took), min(cpu[rolled], time.process_time() - start)
    found = differences(snapshots[True], snapshots[False])
    print(f"  release {period} of the province (64 communes), {choices or 'defaults'}:\n"
          f"    wall        rollups {times[True]:6.2f} s   microdata {times[False]:6.2f} s   "
          f"{times[False] / times[True]:4.2f}× faster\n"
          f"    CPU (app)   rollups {cpu[True]:6.2f} s   microdata {cpu[False]:6.2f} s   "
          f"{cpu[False] / cpu[True]:4.2f}× faster   (the database server's time is in the wall time only)\n"
          f"    {count_floats(snapshots[True])} numbers, same figures: {'yes' if not found else 'NO ' + found[0]}")


def run(size: int, repeat: int, period: str | None, url: str | None) -> None:
    with nullcontext(url) if url else demo_database(size) as database:
        app = create_app({"DATABASE_URL": database, "SECRET_KEY": "bench", "TESTING": True})
        chosen = period or last_quarter()
        compare(app, chosen, repeat)
        compare(app, chosen[:4], repeat)  # the year
        app.extensions["hailong.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--period", default=None, help="default: the last complete quarter")
    parser.add_argument("--url", default=None, help="an existing database with the demo province (no load)")
    args = parser.parse_args()
    run(args.size, args.repeat, args.period, args.url)
    print(f"\n(each time the best of {args.repeat}; both paths timed in this run)")


if __name__ == "__main__":
    main()
