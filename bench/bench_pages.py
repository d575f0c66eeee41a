"""Benchmark: how long the staff pages take as the number of stored ratings grows (PostgreSQL).

For each size it loads the demo province with that many kiosk ratings into a fresh PostgreSQL
database, then times the results page (the province, one service), the ranking of communes and
the CSV download, each beside the reference time of fetching the same answer rows with a bare
psycopg query in the same run (the floor any page that reads them must pay).

    .venv/bin/python bench/bench_pages.py [--sizes 20000,100000,300000] [--repeat 3]

Not a test: run it by hand. Needs the local PostgreSQL (see tests/databases.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from bench._common import bench_app, best, staff_client  # noqa: E402
from survey.demo import load_demo  # noqa: E402
from survey.store.migrate import upgrade  # noqa: E402
from tests.databases import fresh_database  # noqa: E402

PAGES = {
    "results (province, one service)": "/staff/results?unit=96&service=CHUNG-THUC&questionnaire=sipas-kiosk",
    "ranking (communes, latest quarter)": "/staff/ranking?level=commune",
    "results CSV download": "/staff/results.csv?unit=96&service=CHUNG-THUC&questionnaire=sipas-kiosk",
}


def run(size: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, fresh_database("postgresql", Path(tmp)) as url:
        upgrade(url)
        app = bench_app(url)
        start = time.perf_counter()
        load_demo(app.extensions["hailong.engine"], secret=app.config["SECRET_KEY"], n_responses=size, papi_per_village=0)
        loaded = time.perf_counter() - start
        raw_url = url.replace("postgresql+psycopg://", "postgresql://")

        def fetch() -> None:
            with psycopg.connect(raw_url) as conn:
                conn.execute("SELECT a.response_id, a.question_id, a.value_num FROM answer a "
                             "JOIN response r ON r.id = a.response_id "
                             "WHERE r.questionnaire_id = 'sipas-kiosk'").fetchall()

        reference = best(fetch, repeat)
        client = staff_client(app)
        print(f"\n{size:,} ratings (loaded in {loaded:.1f} s); bare fetch of their answers: {reference:.2f} s")
        for name, path in PAGES.items():
            status = client.get(path).status_code
            seconds = best(lambda path=path: client.get(path), repeat)
            print(f"  {name:40s} {seconds:7.2f} s   {seconds / reference:5.1f}× the bare fetch   (HTTP {status})")
        app.extensions["hailong.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000,300000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.repeat)
    print(f"\n(each time the best of {args.repeat})")


if __name__ == "__main__":
    main()
