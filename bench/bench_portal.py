"""Benchmark: the public portal under load, and building a release, at 1,000,000 stored ratings.

Sets up a PostgreSQL database with a province of 64 communes (one one-stop desk each, three
services) and N kiosk ratings (default 1,000,000) spread over 2026, streamed to the server with
``COPY`` (about two minutes for a million ratings). Then:

1. builds and publishes the 2026-Q3 release of the province through the release code
   (:func:`survey.portal.releases.build`, the body of the background job) and prints the time;
2. runs the ``render_release`` job that publishing enqueues (every page, both languages, into
   the pre-rendered store in the instance folder) and prints its time;
3. starts gunicorn (``hailong serve``'s settings: 2 workers × 4 threads) on a free port of
   127.0.0.1 and sends the province page, a commune's page and a commune × service page from
   50 concurrent clients (keep-alive connections), a bounded number of requests each;
4. prints p50/p95 of each page beside a reference measured the same way in the same run: a
   static file (``/static/css/app.css``) served by the same gunicorn under the same load, so
   the figures read as "× the cost of serving a file" on whatever machine runs this.

    .venv/bin/python bench/bench_portal.py [--ratings 1000000] [--clients 50] [--requests 40]
        [--database NAME [--load-only | --no-build]] [--instance DIR]

``--database NAME`` keeps the loaded database (created and loaded on the first run, reused
after); ``--load-only`` stops once it is loaded; ``--no-build`` serves the newest release
already published there; ``--instance DIR`` keeps the rendered pages between runs.

Not a test: run it by hand. Needs the local PostgreSQL (see tests/databases.py). Traffic goes
only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from survey import create_app  # noqa: E402
from survey.store.migrate import upgrade  # noqa: E402
from tests.browser import free_port  # noqa: E402
from tests.databases import PG_ADMIN_URL, fresh_database  # noqa: E402

KIOSK = "sipas-kiosk"
COMMUNES = 64
SERVICES = [("CHUNG-THUC", "Chứng thực, xác nhận", "Certification and attestation"),
            ("TTHC-XA", "Thủ tục hành chính cấp xã", "Commune-level procedures"),
            ("GCN-QSDD", "Cấp Giấy chứng nhận quyền sử dụng đất", "Land-use right certificates")]
SECRET = "bench-" + "s" * 40


def setup_province(app: Any) -> None:
    """Province 96 with 64 communes (one desk each), three services, an analyst and a publisher."""
    from survey.auth import hash_password
    from survey.store.catalogue import latest, publish
    from survey.store.models import Desk, Role, Service, Unit, UnitLevel, User

    with Session(app.extensions["hailong.engine"]) as session:
        publish(session, latest(KIOSK))
        services = [Service(code=c, name_vi=vi, name_en=en, category="administrative") for c, vi, en in SERVICES]
        province = Unit(code="96", name="Tỉnh Cà Mau", level=UnitLevel.PROVINCE)
        session.add_all([*services, province])
        for k in range(1, COMMUNES + 1):
            commune = Unit(code=f"96{k:03d}", name=f"{'Phường' if k <= 9 else 'Xã'} {k:02d}", level=UnitLevel.COMMUNE,
                           parent=province)
            commune.services = services
            session.add_all([commune, Desk(code=f"96{k:03d}-MC", name=f"Bộ phận Một cửa {k:02d}", unit=commune,
                                           questionnaire_id=KIOSK)])
        password = hash_password("hailong-demo")
        session.add_all([User(username="phantich", full_name="Phân tích", password_hash=password, role=Role.ANALYST),
                         User(username="congbo", full_name="Công bố", password_hash=password, role=Role.PUBLISHER)])
        session.commit()


def load_ratings(raw_url: str, n: int, seed: int = 20260701) -> float:
    """``n`` approved kiosk ratings over 2026 (Vietnam office hours), every criterion answered
    (4% skipped), communes differing in satisfaction — streamed to the server with ``COPY``
    (foreign-key triggers off for the loading session: the rows are generated consistent)."""
    import uuid

    import numpy as np

    from survey.store.catalogue import latest

    criteria = [q.id for q in latest(KIOSK).scored_questions()]
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    with psycopg.connect(raw_url, autocommit=True) as conn:
        version = conn.execute("SELECT id FROM questionnaire_version WHERE questionnaire_id = %s ORDER BY id DESC LIMIT 1",
                               (KIOSK,)).fetchone()[0]  # type: ignore[index]
        units = [r[0] for r in conn.execute("SELECT id FROM unit WHERE level = 'commune' ORDER BY code")]
        desks = [r[0] for r in conn.execute("SELECT d.id FROM desk d JOIN unit u ON u.id = d.unit_id ORDER BY u.code")]
        services = [r[0] for r in conn.execute("SELECT id FROM service ORDER BY code")]
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET session_replication_role = replica")  # no per-row foreign-key checks
        epoch = np.datetime64("2026-01-01T01:00")
        chunk = 100_000
        for first in range(1, n + 1, chunk):
            i = np.arange(first, min(n + 1, first + chunk), dtype=np.int64)
            unit_at = i % len(units)
            unit_ids = np.asarray(units)[unit_at]
            service_ids = np.asarray(services)[(i // 7) % len(services)]
            desk_ids = np.asarray(desks)[unit_at]
            stamps = (epoch + (i % 362).astype("timedelta64[D]") + ((i * 7919) % 540).astype("timedelta64[m]"))
            raw = rng.bytes(16 * len(i))
            ids = [uuid.UUID(bytes=raw[16 * k:16 * k + 16], version=4) for k in range(len(i))]
            submitted = [str(t) + "+00" for t in stamps]
            started = [str(t) + "+00" for t in stamps - np.timedelta64(1, "m")]
            lines = [f"{rid}\t{KIOSK}\t{version}\t{u}\t{sv}\t{d}\tkiosk\t{st}\t{su}\t{su}\tapproved\t1.0\t\\N\t{k:032x}\n"
                     for rid, u, sv, d, st, su, k in zip(ids, unit_ids, service_ids, desk_ids, started, submitted,
                                                         i, strict=True)]
            base = 3.6 + (unit_ids % 9) * 0.12
            answers = []
            for question in criteria:
                noise = rng.random((3, len(i))).sum(axis=0) - 1.5
                values = np.clip(np.round(base + noise * 1.6), 1, 5).astype(int)
                answered = rng.random(len(i)) > 0.04
                answers.extend(f"{rid}\t{question}\t{v}\t\\N\n"
                               for rid, v, a in zip(ids, values, answered, strict=True) if a)
            with conn.cursor() as cur:
                with cur.copy("COPY response (id, questionnaire_id, questionnaire_version_id, unit_id, service_id, desk_id, "
                              "channel, started_at, submitted_at, received_at, review_status, weight, dossier_key, "
                              "payload_hash) FROM STDIN") as copy:
                    copy.write("".join(lines))
                with cur.copy("COPY answer (response_id, question_id, value_num, value_text) FROM STDIN") as copy:
                    copy.write("".join(answers))
        conn.execute("ANALYZE response")
        conn.execute("ANALYZE answer")
    return time.perf_counter() - start


def build_release(app: Any, period: str) -> tuple[int, float]:
    """Prepare, build (the job's body) and publish the province's release; the build time."""
    from survey.portal import releases
    from survey.store.models import Release, User

    engine = app.extensions["hailong.engine"]
    with app.app_context(), app.test_request_context():
        with Session(engine) as session:
            analyst = session.scalars(select(User).where(User.username == "phantich")).one()
            release = releases.prepare(session, releases.Choice(period=period, scope="96", questionnaires=[KIOSK],
                                                                       changelog="Chạy lại benchmark."), analyst)
            session.commit()
            release_id = release.id
        start = time.perf_counter()
        status = releases.build(app.extensions["hailong.sessionmaker"], release_id)
        seconds = time.perf_counter() - start
        assert status == "ready", status
        with Session(engine) as session:
            publisher = session.scalars(select(User).where(User.username == "congbo")).one()
            releases.publish(session, session.get(Release, release_id), publisher)  # type: ignore[arg-type]
            session.commit()
    return release_id, seconds


def hammer(port: int, paths: list[str], clients: int, per_client: int) -> list[float]:
    """``clients`` threads, each with one keep-alive connection, each GETting ``per_client``
    pages (cycling through ``paths``); the latency of every request, in seconds."""
    times: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        for j in range(per_client):
            path = paths[(k + j) % len(paths)]
            t = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
            except OSError as exc:  # a timeout or a dropped connection counts as a failure
                errors.append(f"{path}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                continue
            mine.append(time.perf_counter() - t)
            if response.status != 200:
                errors.append(f"{path}: HTTP {response.status}")
        conn.close()
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return times


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


@contextmanager
def database(name: str | None, tmp: Path) -> Iterator[str]:
    """A fresh database dropped afterwards, or (``--database NAME``) one kept between runs."""
    if name is None:
        with fresh_database("postgresql", tmp) as url:
            yield url
        return
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    yield PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per client and page kind")
    parser.add_argument("--period", default="2026-Q3")
    parser.add_argument("--database", help="keep the loaded database under this name and reuse it on later runs")
    parser.add_argument("--load-only", action="store_true", help="set up and load the database, then stop")
    parser.add_argument("--instance", help="instance folder (the rendered pages) to keep between runs; default: a new one")
    parser.add_argument("--no-prerender", action="store_true",
                        help="skip the render_release job: the first request of each page renders it")
    parser.add_argument("--no-build", action="store_true",
                        help="serve the newest release published in a reused database instead of building one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, database(args.database, Path(scratch)) as url:
        tmp = args.instance or scratch
        upgrade(url)
        os.environ["HAILONG_INSTANCE_PATH"] = tmp  # the pre-rendered pages the server will read
        config = {"DATABASE_URL": url, "SECRET_KEY": SECRET, "TESTING": True, "QUEUE_IMMEDIATE": True}
        app = create_app(config)
        raw_url = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(raw_url) as conn:
            stored = conn.execute("SELECT count(*) FROM response").fetchone()[0]  # type: ignore[index]
        if stored == 0:
            setup_province(app)
            loaded = load_ratings(raw_url, args.ratings)
            print(f"loaded by COPY in {loaded:.0f} s", flush=True)
        with psycopg.connect(raw_url) as conn:
            stored = conn.execute("SELECT count(*) FROM response").fetchone()[0]  # type: ignore[index]
            answers = conn.execute("SELECT count(*) FROM answer").fetchone()[0]  # type: ignore[index]
        print(f"{stored:,} ratings ({answers:,} answers) stored; province of {COMMUNES} communes", flush=True)
        if args.load_only:
            return
        if args.no_build:
            with psycopg.connect(raw_url) as conn:
                release_id = conn.execute("SELECT max(id) FROM release WHERE status = 'published'").fetchone()[0]  # type: ignore[index]
        else:
            release_id, build_seconds = build_release(app, args.period)
            print(f"release {args.period} for the province built in {build_seconds:.1f} s (the background job's body)",
                  flush=True)
        from survey.portal.jobs import render_release

        if not args.no_prerender:
            start = time.perf_counter()
            with app.app_context():
                rendered = render_release(release_id)
            print(f"{rendered} pages (both languages) rendered ahead of readers by the render_release job, as after "
                  f"publishing, in {time.perf_counter() - start:.0f} s", flush=True)
        app.extensions["hailong.engine"].dispose()

        port = free_port()
        env = {**os.environ, "HAILONG_DATABASE_URL": url, "HAILONG_SECRET_KEY": SECRET,
               "HAILONG_INSTANCE_PATH": tmp, "HAILONG_ENV": "production"}
        log = Path(tmp) / f"gunicorn-{port}.log"  # a file, not a pipe nobody reads (a full pipe stalls the server)
        server = subprocess.Popen([str(Path(sys.executable).with_name("hailong")), "serve", "--host", "127.0.0.1",  # noqa: S603
                                   "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
                                  start_new_session=True)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline or server.poll() is not None:
                        raise SystemExit("gunicorn did not start: " + log.read_text(errors="replace")[-2000:]) from None
                    time.sleep(0.5)
            base = f"/portal/r/{release_id}/{KIOSK}"
            communes = [f"96{k:03d}" for k in range(1, COMMUNES + 1)]
            pages = {
                "province page": [f"{base}/96/"],
                "commune page": [f"{base}/{c}/" for c in communes],
                "commune × service page": [f"{base}/{c}/CHUNG-THUC/" for c in communes],
                "reference: static file (same gunicorn)": ["/static/css/app.css"],
            }
            for _ in range(16):  # one request at a time first: each worker sets itself up (its metrics) unhurried
                hammer(port, ["/static/css/app.css"], 1, 1)
            print("gunicorn is up; one request per page and worker before measuring (from the pages on disk)", flush=True)
            start = time.perf_counter()
            first = [t for paths in pages.values() for t in hammer(port, paths, 4, len(paths))]
            print(f"first requests ({len(first)}: every page by four clients) took {time.perf_counter() - start:.1f} s; "
                  f"slowest {max(first) * 1000:.0f} ms", flush=True)
            print(f"\n{args.clients} concurrent clients, {args.clients * args.requests} requests per page kind "
                  f"(gunicorn: hailong serve defaults)")
            results = {name: hammer(port, paths, args.clients, args.requests) for name, paths in pages.items()}
            ref50, ref95 = p(results["reference: static file (same gunicorn)"], 50), p(results["reference: static file (same gunicorn)"], 95)
            for name, times in results.items():
                p50, p95 = p(times, 50), p(times, 95)
                print(f"  {name:40s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   ({p50 / ref50:4.1f}× / {p95 / ref95:4.1f}× the static file)")
            print("  goal: p95 < 50 ms for the portal pages")
        except BaseException:
            print("server log (end):\n" + log.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
