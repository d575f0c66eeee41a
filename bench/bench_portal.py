"""Benchmark: the public portal under load, and building a release, at 1,000,000 stored ratings.

Sets up a fresh PostgreSQL database with a province of 64 communes (one one-stop desk each,
three services) and N kiosk ratings (default 1,000,000) spread over 2026, written by bulk SQL
on the server (``INSERT … SELECT`` from ``generate_series``: a minute, not an hour). Then:

1. builds and publishes the 2026-Q3 release of the province through the release code
   (:func:`survey.portal.releases.build`, the body of the background job) and prints the time;
2. starts gunicorn (``hailong serve``'s settings: 2 workers × 4 threads) on a free port of
   127.0.0.1 and sends the province page, a commune's page and a commune × service page from
   50 concurrent clients (keep-alive connections), a bounded number of requests each;
3. prints p50/p95 of each page beside a reference measured the same way in the same run: a
   static file (``/static/css/app.css``) served by the same gunicorn under the same load, so
   the figures read as "× the cost of serving a file" on whatever machine runs this.

    .venv/bin/python bench/bench_portal.py [--ratings 1000000] [--clients 50] [--requests 40]

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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from survey import create_app  # noqa: E402
from survey.store.migrate import upgrade  # noqa: E402
from tests.databases import fresh_database  # noqa: E402

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


def load_ratings(raw_url: str, n: int) -> float:
    """``n`` approved kiosk ratings over 2026 (Vietnam office hours), every criterion answered
    (4% skipped), communes differing in satisfaction — generated on the server by bulk SQL."""
    from survey.store.catalogue import latest

    criteria = [q.id for q in latest(KIOSK).scored_questions()]
    start = time.perf_counter()
    with psycopg.connect(raw_url, autocommit=True) as conn:
        version = conn.execute("SELECT id FROM questionnaire_version WHERE questionnaire_id = %s ORDER BY id DESC LIMIT 1",
                               (KIOSK,)).fetchone()[0]  # type: ignore[index]
        units = [r[0] for r in conn.execute("SELECT id FROM unit WHERE level = 'commune' ORDER BY code")]
        desks = [r[0] for r in conn.execute("SELECT d.id FROM desk d JOIN unit u ON u.id = d.unit_id ORDER BY u.code")]
        services = [r[0] for r in conn.execute("SELECT id FROM service ORDER BY code")]
        conn.execute("SET synchronous_commit = off")
        conn.execute("""
            INSERT INTO response (id, questionnaire_id, questionnaire_version_id, unit_id, service_id, desk_id, channel,
                                  started_at, submitted_at, received_at, review_status, weight, dossier_key, payload_hash)
            SELECT gen_random_uuid(), %(q)s, %(v)s, (%(units)s::int[])[1 + i %% %(nu)s], (%(services)s::int[])[1 + (i / 7) %% %(ns)s],
                   (%(desks)s::int[])[1 + i %% %(nu)s], 'kiosk', t - interval '1 minute', t, t, 'approved', 1.0, NULL, md5(i::text)
            FROM (SELECT i, timestamptz '2026-01-01 01:00+00' + (i %% 362) * interval '1 day'
                            + ((i * 7919) %% 540) * interval '1 minute' AS t
                  FROM generate_series(1::bigint, %(n)s::bigint) AS i) AS g""",
                     {"q": KIOSK, "v": version, "units": units, "nu": len(units), "services": services,
                      "ns": len(services), "desks": desks, "n": n})
        conn.execute("""
            INSERT INTO answer (response_id, question_id, value_num, value_text)
            SELECT r.id, c.question, greatest(1, least(5, round(3.6 + (r.unit_id %% 9) * 0.12 + (random() + random() + random() - 1.5) * 1.6))), NULL
            FROM response r CROSS JOIN unnest(%(criteria)s::text[]) AS c(question)
            WHERE random() > 0.04""", {"criteria": criteria})
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
            release = releases.prepare(session, releases.Choice(period=period, scope="96", questionnaires=[KIOSK]),
                                       analyst)
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per client and page kind")
    parser.add_argument("--period", default="2026-Q3")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fresh_database("postgresql", Path(tmp)) as url:
        upgrade(url)
        os.environ["HAILONG_INSTANCE_PATH"] = tmp  # the page caches the server will share
        config = {"DATABASE_URL": url, "SECRET_KEY": SECRET, "TESTING": True, "QUEUE_IMMEDIATE": True}
        app = create_app(config)
        setup_province(app)
        raw_url = url.replace("postgresql+psycopg://", "postgresql://")
        loaded = load_ratings(raw_url, args.ratings)
        with psycopg.connect(raw_url) as conn:
            stored = conn.execute("SELECT count(*) FROM response").fetchone()[0]  # type: ignore[index]
            answers = conn.execute("SELECT count(*) FROM answer").fetchone()[0]  # type: ignore[index]
        print(f"{stored:,} ratings ({answers:,} answers) stored in {loaded:.0f} s; province of {COMMUNES} communes")
        release_id, build_seconds = build_release(app, args.period)
        print(f"release {args.period} for the province built in {build_seconds:.1f} s (the background job's body)",
              flush=True)
        from survey.portal.pages import warm

        start = time.perf_counter()
        rendered = warm(app, release_id, deep=True)
        print(f"{rendered} pages rendered ahead of readers (portal.pages.warm, as after publishing) in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        app.extensions["hailong.engine"].dispose()

        port = free_port()
        env = {**os.environ, "HAILONG_DATABASE_URL": url, "HAILONG_SECRET_KEY": SECRET,
               "HAILONG_INSTANCE_PATH": tmp, "HAILONG_ENV": "production"}
        server = subprocess.Popen([str(Path(sys.executable).with_name("hailong")), "serve", "--host", "127.0.0.1",  # noqa: S603
                                   "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  start_new_session=True)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline or server.poll() is not None:
                        raise SystemExit("gunicorn did not start: " + (server.stderr.read().decode()[-2000:] if server.stderr else "")) from None
                    time.sleep(0.5)
            base = f"/portal/r/{release_id}/{KIOSK}"
            communes = [f"96{k:03d}" for k in range(1, COMMUNES + 1)]
            pages = {
                "province page": [f"{base}/96/"],
                "commune page": [f"{base}/{c}/" for c in communes],
                "commune × service page": [f"{base}/{c}/CHUNG-THUC/" for c in communes],
                "reference: static file (same gunicorn)": ["/static/css/app.css"],
            }
            print("gunicorn is up; one request per page and worker before measuring", flush=True)
            start = time.perf_counter()
            for paths in pages.values():  # every worker renders each page once: then it is served from memory
                hammer(port, paths, 4, len(paths))
            print(f"warm-up (first renders of {sum(len(v) for v in pages.values())} pages) took "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
            print(f"\n{args.clients} concurrent clients, {args.clients * args.requests} requests per page kind "
                  f"(gunicorn: hailong serve defaults)")
            results = {name: hammer(port, paths, args.clients, args.requests) for name, paths in pages.items()}
            ref50, ref95 = p(results["reference: static file (same gunicorn)"], 50), p(results["reference: static file (same gunicorn)"], 95)
            for name, times in results.items():
                p50, p95 = p(times, 50), p(times, 95)
                print(f"  {name:40s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   ({p50 / ref50:4.1f}× / {p95 / ref95:4.1f}× the static file)")
            print("  goal: p95 < 50 ms for the portal pages")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
