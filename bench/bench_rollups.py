"""Benchmark: the staff results page and the ranking from rollups vs from the microdata, and what
keeping the rollups current costs per stored rating (PostgreSQL).

It loads the demo province with ``--size`` kiosk ratings into a fresh PostgreSQL database (the
demo loader builds the rollups), then, in the same process and run:

1. times each page with the rollups (the product's path) and with them switched off (the full
   computation from the stored answers, the path of every page before issue 15), and prints the
   ratio — and checks that both render the same figures;
2. stores ``--inserts`` ratings one by one (one transaction each, as the kiosk does) with the
   rollups in use and with them out of use (no ``rollup_state``: the pre-commit hook only looks it
   up), and prints the cost per insert of recomputing its cell;
3. times a full rebuild.

    .venv/bin/python bench/bench_rollups.py [--size 100000] [--repeat 3] [--inserts 200]

Not a test: run it by hand. Needs the local PostgreSQL (see tests/databases.py).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench._common import ANSWERS, bench_app, best, staff_client  # noqa: E402
from survey.collect.responses import store_response  # noqa: E402
from survey.demo import load_demo  # noqa: E402
from survey.reports import rollups  # noqa: E402
from survey.store.catalogue import latest  # noqa: E402
from survey.store.migrate import upgrade  # noqa: E402
from survey.store.models import Channel, Response, Service, Unit  # noqa: E402
from survey.store.rollup_cells import Rollup, RollupState  # noqa: E402
from tests.databases import fresh_database  # noqa: E402

PAGES = {
    "results (province, one service)": "/staff/results?unit=96&service=CHUNG-THUC&questionnaire=sipas-kiosk",
    "results (province, all services)": "/staff/results?unit=96&questionnaire=sipas-kiosk",
    "ranking (communes, last quarter)": "/staff/ranking?level=commune",
}
def _figures(html: str) -> list[str]:
    """The numbers a page shows (to check that both paths render the same page)."""
    return re.findall(r"\d+,\d{2,}", html)


def _inserts(engine, count: int) -> float:  # type: ignore[no-untyped-def]
    """Seconds per stored rating, one transaction each."""
    with Session(engine) as session:
        unit = session.scalar(select(Unit).where(Unit.code == "96"))
        service = session.scalar(select(Service).where(Service.code == "CHUNG-THUC"))
        questionnaire = latest("sipas-kiosk")
        start = time.perf_counter()
        for _ in range(count):
            store_response(session, secret="bench", questionnaire=questionnaire, unit_id=unit.id,  # noqa: S106
                           service_id=service.id, channel=Channel.KIOSK, answers=ANSWERS, response_id=uuid.uuid4())
            session.commit()
        return (time.perf_counter() - start) / count


def run(size: int, repeat: int, inserts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, fresh_database("postgresql", Path(tmp)) as url:
        upgrade(url)
        app = bench_app(url)
        engine = app.extensions["hailong.engine"]
        start = time.perf_counter()
        load_demo(engine, secret=app.config["SECRET_KEY"], n_responses=size, papi_per_village=0)
        loaded = time.perf_counter() - start
        with Session(engine) as session:
            cells = session.scalar(select(func.count()).select_from(Rollup))
            ratings = session.scalar(select(func.count()).select_from(Response))
        print(f"\n{ratings:,} ratings (demo loaded, rollups built, in {loaded:.1f} s); {cells:,} rollup cells")
        client = staff_client(app)
        original = rollups.usable
        for name, path in PAGES.items():
            rolled_page = client.get(path)
            rolled = best(lambda path=path: client.get(path), repeat)
            rollups.usable = lambda *_a, **_k: None  # type: ignore[assignment]
            try:
                micro_page = client.get(path)
                micro = best(lambda path=path: client.get(path), repeat)
            finally:
                rollups.usable = original  # type: ignore[assignment]
            same = _figures(rolled_page.get_data(as_text=True)) == _figures(micro_page.get_data(as_text=True))
            print(f"  {name:36s} rollups {rolled:6.3f} s   microdata {micro:6.3f} s   "
                  f"{micro / rolled:5.1f}× faster   (HTTP {rolled_page.status_code}/{micro_page.status_code}, "
                  f"same figures: {'yes' if same else 'NO'})")
        with_rollups = _inserts(engine, inserts)
        with Session(engine) as session:
            kept = session.scalars(select(RollupState)).all()
            states = [(s.questionnaire_id, s.layout) for s in kept]
            session.execute(delete(RollupState))
            session.commit()
        without = _inserts(engine, inserts)
        print(f"  store one rating (one transaction): {with_rollups * 1000:6.2f} ms with rollups, "
              f"{without * 1000:6.2f} ms without — the cell's recompute costs "
              f"{(with_rollups - without) * 1000:5.2f} ms a rating ({with_rollups / without:4.2f}×)")
        with Session(engine) as session:
            start = time.perf_counter()
            counts = rollups.rebuild(session)
            session.commit()
            rebuilt = time.perf_counter() - start
        print(f"  full rebuild: {rebuilt:.1f} s for {sum(counts.values()):,} cells (states before: {len(states)})")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--inserts", type=int, default=200)
    args = parser.parse_args()
    run(args.size, args.repeat, args.inserts)
    print(f"\n(each page time the best of {args.repeat}; both paths timed in this run)")


if __name__ == "__main__":
    main()
