"""Benchmark: building one release snapshot (a province, its communes and departments, a quarter)
from the rollups vs from the microdata, on PostgreSQL.

It loads the demo province (unit ``96``: 64 communes and wards of today's map, its departments)
with ``--size`` kiosk ratings into a fresh PostgreSQL database (the demo loader builds the
rollups), then builds the snapshot of the last complete quarter twice in the same run — with the
rollups (the product's path) and with them switched off (``rollups.usable`` → None: every figure
scored from the stored answers, the path of every build before issue 15) — prints both times and
their ratio, and checks that both snapshots hold the same figures (1e-12 relative).

    nice -n 10 .venv/bin/python bench/bench_release.py [--size 100000] [--repeat 2]

:func:`build_one` builds one release's snapshot of an existing database; the scale benchmark
(``bench/bench_scale.py``) calls it on its 1M / 10M databases. Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

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
              rolled: bool = True, **choices: object) -> tuple[Snapshot, float]:
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


def last_quarter(today: object = None) -> str:
    """The last complete quarter before today (what the demo's ratings cover)."""
    from datetime import date

    day = date.today()
    quarter = (day.month - 1) // 3  # the current quarter, 0-based: the last complete one is the one before
    return f"{day.year - 1}-Q4" if quarter == 0 else f"{day.year}-Q{quarter}"


def run(size: int, repeat: int, period: str | None) -> None:
    from survey.demo import load_demo
    from survey.store.migrate import upgrade
    from tests.databases import fresh_database

    with tempfile.TemporaryDirectory() as tmp, fresh_database("postgresql", Path(tmp)) as url:
        upgrade(url)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
        start = time.perf_counter()
        load_demo(app.extensions["hailong.engine"], secret="bench", n_responses=size, papi_per_village=0)  # noqa: S106
        print(f"\n{size:,} ratings loaded (rollups built) in {time.perf_counter() - start:.1f} s")
        chosen = period or last_quarter()
        times = {}
        snaps = {}
        for rolled in (True, False):
            best = float("inf")
            for _ in range(repeat):
                snaps[rolled], took = build_one(app, chosen, rolled=rolled)
                best = min(best, took)
            times[rolled] = best
        from tests.snapshot_compare import differences

        diff = differences(snaps[True], snaps[False])
        print(f"  release {chosen}, province 96: rollups {times[True]:6.2f} s   microdata {times[False]:6.2f} s   "
              f"{times[False] / times[True]:4.1f}× faster   (same figures: {'yes' if not diff else 'NO ' + diff[0]})")
        app.extensions["hailong.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--period", default=None, help="default: the last complete quarter")
    args = parser.parse_args()
    run(args.size, args.repeat, args.period)
    print(f"\n(each time the best of {args.repeat}; both paths timed in this run)")


if __name__ == "__main__":
    main()
