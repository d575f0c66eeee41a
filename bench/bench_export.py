"""Benchmark: the microdata export job — rows per second and peak memory (PostgreSQL).

Loads the demo province into a fresh PostgreSQL database and copies its kiosk ratings (with
their answers, in SQL) up to ``--rows`` responses (or takes ``--database``, a database made so
before), then writes the province's whole export, each way in a child process of its own whose
peak resident memory is read when it ends (its ``VmHWM``):

- **job**: the export job itself (:func:`survey.reports.export_runner.run`), for each of
  ``--formats`` (default plain CSV and CSV for Excel). The CSVs are written by the writer process
  (:mod:`survey.reports.export_copy`: ``COPY`` of the query of :mod:`survey.reports.microdata_sql`),
  whose own peak RSS is the figure (the worker that starts it, the app imported, is shown beside);
  XLSX by the worker from the streamed rows; SPSS and Stata by the worker from the whole frame;
- **reference**: the floor, in the same run — one SQL query that joins and pivots the same
  columns, read through a psycopg server-side cursor and written by a bare ``csv.writer``;
- **in request** (at most ``--frame-max`` rows, default 200,000): the direct download's way,
  the whole DataFrame built in memory (:func:`survey.reports.microdata_frame.microdata`), for
  the memory it needs.

Each line gives rows/s, the ratio to the reference, and peak RSS beside the RSS of a child that
only imports the app. Goal (issue 15): 1,000,000 responses to CSV at ≥ 50,000 rows/s with peak
RSS < 200 MB.

    nice -n 10 .venv/bin/python bench/bench_export.py [--rows 100000] [--rows 1000000] [--base 5000]
        [--formats csv,csv-excel,csv-vi,xlsx,sav,dta] [--database postgresql+psycopg://…/bench_x]

Not a test: run it by hand. Needs the local PostgreSQL (see tests/databases.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROVINCE = "96"


def _child(argv: list[str], env: dict[str, str]) -> tuple[dict[str, float], float]:
    """Run this script as a child with ``argv``; its JSON result and its peak RSS in MB (the
    child's own ``VmHWM``: ``ru_maxrss`` would count the pages of this parent it was forked from)."""
    out = subprocess.run([sys.executable, __file__, *argv], stdout=subprocess.PIPE, env=env,  # noqa: S603
                         check=True).stdout
    result = json.loads(out.decode().strip().splitlines()[-1])
    return result, float(result.pop("peak_mb"))


def _peak_mb() -> float:
    """This process's peak resident memory (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _grow(raw_url: str, rows: int) -> int:
    """Copy the stored kiosk ratings (their packed answers, ``response.codes``, and their rows of
    ``answer``: comments) until there are ``rows`` of them."""
    import psycopg

    with psycopg.connect(raw_url) as conn:
        have = conn.execute("SELECT count(*) FROM response WHERE questionnaire_id = 'sipas-kiosk'").fetchone()
        assert have is not None
        base = int(have[0])
        while base < rows:
            take = min(base, rows - base)
            conn.execute("CREATE TEMP TABLE copy_of AS SELECT id AS old, gen_random_uuid() AS new FROM "
                         "(SELECT id FROM response WHERE questionnaire_id = 'sipas-kiosk' LIMIT %s) r", (take,))
            conn.execute("""
                INSERT INTO response (id, questionnaire_id, questionnaire_version_id, unit_id, service_id, desk_id,
                    channel, started_at, submitted_at, received_at, review_status, weight, dossier_key, payload_hash,
                    credential_id, user_id, assignment_id, paradata, flag, stratum, psu, codes)
                SELECT c.new, r.questionnaire_id, r.questionnaire_version_id, r.unit_id, r.service_id, r.desk_id,
                    r.channel, r.started_at, r.submitted_at - interval '1 second' * (random() * 86400)::int,
                    r.received_at, r.review_status, r.weight, NULL, r.payload_hash, r.credential_id, r.user_id,
                    r.assignment_id, r.paradata, r.flag, r.stratum, r.psu, r.codes
                FROM copy_of c JOIN response r ON r.id = c.old""")
            conn.execute("INSERT INTO answer (response_id, question_id, value_num, value_text) "
                         "SELECT c.new, a.question_id, a.value_num, a.value_text "
                         "FROM copy_of c JOIN answer a ON a.response_id = c.old")
            conn.execute("DROP TABLE copy_of")
            conn.commit()
            base += take
        conn.execute("ANALYZE")
        conn.commit()
    return base


def _app(url: str):  # type: ignore[no-untyped-def]
    from survey import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True, "QUEUE_IMMEDIATE": True})


def child_job(url: str, fmt: str) -> dict[str, float]:
    """The export job of the whole province, as the worker runs it."""
    from sqlalchemy import select

    from survey.reports.export_runner import export_folder, run
    from survey.store.export_records import ExportJob
    from survey.store.models import Unit

    app = _app(url)
    with app.app_context():
        factory = app.extensions["hailong.sessionmaker"]
        with factory() as session:
            unit = session.scalar(select(Unit).where(Unit.code == PROVINCE))
            assert unit is not None
            job = ExportJob(token=secrets.token_hex(16), user_id=None, unit_id=unit.id, questionnaire_id="sipas-kiosk", fmt=fmt,
                            choice={"unit": PROVINCE, "service": "", "period": "", "values": "codes", "language": "vi"})
            session.add(job)
            session.commit()
            export_id = job.id
        writer: list[float] = []
        catch = _WriterPeak(writer)
        logging.getLogger("survey.reports.export_runner").addHandler(catch)
        logging.getLogger("survey.reports.export_runner").setLevel(logging.INFO)
        start = time.perf_counter()
        status = run(app, export_id)
        seconds = time.perf_counter() - start
        with factory() as session:
            done = session.get(ExportJob, export_id)
            assert done is not None and status == "done"
            size = (export_folder(app) / done.file_name).stat().st_size
            return {"rows": done.rows_done, "seconds": seconds, "bytes": size, "writer_mb": max(writer, default=0.0)}


class _WriterPeak(logging.Handler):
    """Keeps the writer process's peak RSS the export job logs (``writer_peak_mb``)."""

    def __init__(self, into: list[float]) -> None:
        super().__init__()
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        peak = getattr(record, "writer_peak_mb", None)
        if peak is not None:
            self.into.append(float(peak))


def child_reference(url: str) -> dict[str, float]:
    """The floor: one pivoting query, a psycopg server-side cursor, a bare csv.writer."""
    import csv

    import psycopg

    from survey.reports.microdata_frame import exported_questions

    questions = [q.id for q in exported_questions("sipas-kiosk")]
    pivot = ", ".join(f"max(CASE WHEN a.question_id = '{q}' THEN a.value_num END), "
                      f"max(CASE WHEN a.question_id = '{q}' THEN a.value_text END)" for q in questions)
    sql = f"""
        SELECT r.id, v.version, u.code, u.name, s.code, s.name_vi, r.channel, r.submitted_at, r.review_status,
               r.flag, r.weight, {pivot}
        FROM response r JOIN questionnaire_version v ON v.id = r.questionnaire_version_id
        JOIN unit u ON u.id = r.unit_id JOIN service s ON s.id = r.service_id
        LEFT JOIN answer a ON a.response_id = r.id
        WHERE r.questionnaire_id = 'sipas-kiosk'
        GROUP BY r.id, v.version, u.code, u.name, s.code, s.name_vi
        ORDER BY r.submitted_at, r.id"""  # noqa: S608 - question ids from the library
    raw = url.replace("postgresql+psycopg://", "postgresql://")
    start = time.perf_counter()
    n = 0
    with psycopg.connect(raw) as conn, conn.cursor(name="bench") as cursor, \
            tempfile.NamedTemporaryFile("w", newline="", encoding="utf-8", suffix=".csv") as out:
        cursor.itersize = 2000
        writer = csv.writer(out, lineterminator="\r\n")
        cursor.execute(sql)
        for row in cursor:
            writer.writerow(row)
            n += 1
        out.flush()
        size = os.path.getsize(out.name)
    return {"rows": n, "seconds": time.perf_counter() - start, "bytes": size}


def child_frame(url: str) -> dict[str, float]:
    """The direct download's way: the whole DataFrame in memory, then the CSV."""
    from flask_babel import force_locale
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from exports.microdata import write
    from survey.reports.microdata_frame import microdata
    from survey.store.catalogue import latest
    from survey.store.models import Unit

    app = _app(url)
    with app.app_context(), force_locale("vi"), Session(app.extensions["hailong.engine"]) as session:
        unit = session.scalar(select(Unit).where(Unit.code == PROVINCE))
        assert unit is not None
        start = time.perf_counter()
        data = microdata(session, latest("sipas-kiosk"), unit, service=None, period=None, language="vi", labels=False)
        body = write("csv", data).body
        return {"rows": len(data.frame), "seconds": time.perf_counter() - start, "bytes": len(body)}


def child_idle(url: str) -> dict[str, float]:
    """Only the app, imported and created: the memory every way above starts from."""
    _app(url)
    return {"rows": 0, "seconds": 0.0, "bytes": 0}


def run(rows: int, base: int, frame_max: int, formats: list[str], database: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if database is not None:
            _measure(database, Path(tmp), frame_max, formats, None)
            return
        from tests.databases import fresh_database

        with fresh_database("postgresql", Path(tmp)) as url:
            _measure(url, Path(tmp), frame_max, formats, (rows, base))


def _load(url: str, rows: int, base: int) -> None:
    from survey import create_app
    from survey.demo import load_demo
    from survey.store.migrate import upgrade

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    load_demo(app.extensions["hailong.engine"], secret=app.config["SECRET_KEY"], n_responses=base, papi_per_village=0)
    app.extensions["hailong.engine"].dispose()
    _grow(url.replace("postgresql+psycopg://", "postgresql://"), rows)


def _measure(url: str, tmp: Path, frame_max: int, formats: list[str], load: tuple[int, int] | None) -> None:
    import psycopg

    start = time.perf_counter()
    if load is not None:
        _load(url, *load)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        counted = conn.execute("SELECT count(*) FROM response WHERE questionnaire_id = 'sipas-kiosk'").fetchone()
    have = int(counted[0]) if counted else 0
    print(f"\n{have:,} kiosk ratings (loaded and copied in {time.perf_counter() - start:.0f} s)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HAILONG_INSTANCE_PATH": str(tmp / "instance")}
    _idle, idle_mb = _child(["--child", "idle", url], env)
    reference, reference_mb = _child(["--child", "reference", url], env)
    ref_rate = reference["rows"] / reference["seconds"]
    print(f"  {'app imported, nothing done':44s} {'':>12s} {'':>22s} peak RSS {idle_mb:6.0f} MB")
    lines = [("reference: SQL pivot + psycopg cursor + csv", reference, reference_mb)]
    for fmt in formats:
        result, mb = _child(["--child", "job", url, fmt], env)
        writer = result.pop("writer_mb", 0.0)
        lines.append((f"export job, {fmt}" + (f" (worker {mb:.0f} MB)" if writer else ""), result, writer or mb))
    if have <= frame_max:
        result, mb = _child(["--child", "frame", url], env)
        lines.append(("in request (whole DataFrame), csv", result, mb))
    for name, result, mb in lines:
        rate = result["rows"] / result["seconds"]
        print(f"  {name:44s} {rate:9,.0f} rows/s  {rate / ref_rate:5.2f}× the reference  "
              f"peak RSS {mb:6.0f} MB  ({result['rows']:,.0f} rows, {result['bytes'] / 1e6:,.0f} MB file, "
              f"{result['seconds']:.1f} s)", flush=True)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, url, *rest = sys.argv[2:]
        result = {"job": child_job, "reference": child_reference, "frame": child_frame,
                  "idle": child_idle}[kind](url, *rest)
        print(json.dumps({**result, "peak_mb": _peak_mb()}))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="responses to export (default 100,000); repeat it")
    parser.add_argument("--base", type=int, default=5000, help="ratings the demo loader makes before the copies")
    parser.add_argument("--frame-max", type=int, default=200_000, help="largest size the in-request way is run at")
    parser.add_argument("--formats", default="csv,csv-excel", help="the job's formats, comma-separated")
    parser.add_argument("--database", help="an existing database (made by an earlier run) instead of a fresh one")
    args = parser.parse_args()
    for rows in ([0] if args.database else args.rows or [100_000]):
        run(rows, args.base, args.frame_max, args.formats.split(","), args.database)


if __name__ == "__main__":
    main()
