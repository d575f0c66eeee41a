"""Benchmark: the staff pages, rollup upkeep and a release build at 100,000 / 1,000,000 /
10,000,000 stored kiosk ratings (PostgreSQL; issue 15 point 7).

For each size it creates the database ``bench_h15b_<size>``, loads the demo's reference data
(the 64 communes and wards of Cà Mau on today's map and the country around it, the departments,
desks, services, staff accounts and the PAPI household interviews — :func:`survey.demo.load_demo`
without kiosk ratings), then writes ``size`` kiosk ratings of ``sipas-kiosk`` as the store path
leaves them (auto-approval: ``received``, unflagged but for ~1 % ``burst``; weight 1; a keyed
dossier hash on ~60 %; each rating's answers as rows of ``answer``, ~4 % of criteria skipped, a
comment on ~3 %) over the last four complete quarters, every desk of today's map and its services:
drawn with numpy, sent with a binary ``COPY`` into a staging table, expanded into ``response``
and ``answer`` by SQL (indexes and constraints dropped during the load and rebuilt after, as a
bulk load does). It then, in the same run:

1. builds the rollups with the product's rebuild (:func:`survey.reports.rollups.rebuild`, what
   ``hailong rollups rebuild`` runs) — seconds, cells, ratings/s;
2. times the staff results page (the province, one service; the province, all services), the
   ranking of communes and the PAPI page through the real app (Flask test client, signed in),
   ``--requests`` requests each after a warm-up: p50 and p95 (goal p50 < 200 ms at 10 M); at
   sizes up to ``--micro-max`` also the results page with the rollups switched off (the
   microdata computation: the ratio rollups/microdata);
3. stores ``--inserts`` ratings one by one through ``store_response`` (one transaction each, as
   the kiosk does), with the rollups in use and out of use: the upkeep's cost per insert;
4. builds a release snapshot of the province for the last quarter (:data:`RELEASE_BUILDER`).

The last lines compare each size with the first one measured in the run. Each database is dropped
when its size is done (``--keep`` keeps it).

    nice -n 10 .venv/bin/python bench/bench_scale.py [--sizes 100000,1000000,10000000] [--requests 20]

Not a test: run it by hand. Needs the local PostgreSQL (see tests/databases.py) and ~1 GB of
disk per million ratings.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import delete, func, select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench._common import ANSWERS, bench_app, percentiles, staff_client, timings  # noqa: E402
from questionnaires import Questionnaire  # noqa: E402
from survey.collect import credentials  # noqa: E402
from survey.collect.responses import Pending, store_many, version_id  # noqa: E402
from survey.demo import (  # noqa: E402
    KIOSK_QUESTIONNAIRE,
    OFFICE_MINUTES,
    last_complete_quarter_end,
    load_demo,
    working_days,
)
from survey.periods import VIETNAM, Period  # noqa: E402
from survey.reports import rollups  # noqa: E402
from survey.store.catalogue import latest  # noqa: E402
from survey.store.compact import slots  # noqa: E402
from survey.store.migrate import upgrade  # noqa: E402
from survey.store.models import Channel, Credential, Desk, Response, Service, Unit, UnitService  # noqa: E402
from survey.store.rollup_cells import Rollup, RollupState  # noqa: E402
from tests.databases import PG_ADMIN_URL  # noqa: E402

PAGES = {
    "results (province, one service)": "/staff/results?unit=96&service=CHUNG-THUC&questionnaire=sipas-kiosk",
    "results (province, all services)": "/staff/results?unit=96&questionnaire=sipas-kiosk",
    "ranking (communes, last quarter)": "/staff/ranking?level=commune",
    "PAPI (province)": "/staff/papi?unit=96",
}
MICRO_PAGE = "results (province, one service)"  # also timed from the microdata, where feasible
CHUNK = 1_000_000  # ratings drawn and copied at a time
COMMENT = "Cán bộ hướng dẫn tận tình, thủ tục nhanh."


# --- the database --------------------------------------------------------------------------------

@contextmanager
def database(name: str, keep: bool) -> Iterator[str]:
    """A new PostgreSQL database ``name`` (dropped first if a run left it), its SQLAlchemy URL."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def raw(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- generating ratings -----------------------------------------------------------------------

@dataclass(frozen=True)
class Desks:
    """Today's kiosk desks: their ids, units, credentials and the services each offers (flattened)."""

    desk: np.ndarray
    unit: np.ndarray
    credential: np.ndarray
    offset: np.ndarray  # where each desk's services start in ``services``
    count: np.ndarray
    services: np.ndarray


def kiosk_desks(session: Session) -> Desks:
    """Every desk of a unit on today's map, with a kiosk credential each (issued here)."""
    desks = session.scalars(select(Desk).join(Unit, Unit.id == Desk.unit_id)
                            .where(Unit.valid_to.is_(None), Desk.questionnaire_id == KIOSK_QUESTIONNAIRE)
                            .order_by(Desk.id)).all()
    for desk in desks:
        credentials.issue(session, desk=desk, label="bench")
    session.flush()
    credential_of: dict[int, int] = {int(d): int(c) for d, c in session.execute(
        select(Credential.desk_id, Credential.id).where(Credential.desk_id.is_not(None)))}
    offered = [sorted(session.scalars(select(UnitService.service_id).where(UnitService.unit_id == d.unit_id)))
               for d in desks]
    count = np.array([len(s) for s in offered])
    return Desks(desk=np.array([d.id for d in desks]), unit=np.array([d.unit_id for d in desks]),
                 credential=np.array([credential_of[d.id] for d in desks]),
                 offset=np.r_[0, np.cumsum(count)[:-1]], count=count,
                 services=np.concatenate([np.array(s) for s in offered]))


def four_quarters(today: date) -> list[date]:
    """The working days of the last four complete quarters before ``today``."""
    end = last_complete_quarter_end(today)
    start = date(end.year - 1, end.month + 1, 1) if end.month < 12 else date(end.year, 1, 1)
    return working_days(start, end)


#: The staging row: desk, unit, service, credential, submitted (Unix seconds), seconds taken,
#: the six answers (0: none) and flags (1 comment, 2 dossier code given, 4 flagged ``burst``).
STAGING = [("desk", "i4"), ("unit", "i4"), ("service", "i4"), ("credential", "i4"), ("at", "i8"),
           ("took", "i2"), ("a0", "i2"), ("a1", "i2"), ("a2", "i2"), ("a3", "i2"), ("a4", "i2"), ("a5", "i2"),
           ("extra", "i2")]


def draw(rng: np.random.Generator, n: int, desks: Desks, days: list[date], effects: dict[str, np.ndarray]) -> np.ndarray:
    """``n`` ratings as staging rows (the demo's model: desk, criterion and person effects, a
    small yearly trend, answers on 1–5, ~4 % of criteria skipped)."""
    out = np.zeros(n, dtype=[(name, kind) for name, kind in STAGING])
    d = rng.integers(len(desks.desk), size=n)
    day = rng.integers(len(days), size=n)
    midnights = np.array([datetime.combine(x, clock(0), VIETNAM).timestamp() for x in days], dtype=np.int64)
    out["desk"], out["unit"], out["credential"] = desks.desk[d], desks.unit[d], desks.credential[d]
    out["service"] = desks.services[desks.offset[d] + rng.integers(1 << 30, size=n) % desks.count[d]]
    out["at"] = midnights[day] + 60 * OFFICE_MINUTES[rng.integers(len(OFFICE_MINUTES), size=n)] + rng.integers(60, size=n)
    out["took"] = rng.integers(20, 90, size=n)
    years = np.array([x.year for x in days])[day]
    latent = 4.1 + 0.1 * (years - 2024) + effects["desk"][d] + rng.normal(0.0, 0.6, size=n)
    for j in range(6):
        score = np.clip(np.rint(latent + effects["criterion"][j] + rng.normal(0.0, 0.7, size=n)), 1, 5)
        out[f"a{j}"] = np.where(rng.random(n) < 0.04, 0, score)
    out["extra"] = ((rng.random(n) < 0.03) * 1 + (rng.random(n) < 0.6) * 2 + (rng.random(n) < 0.01) * 4)
    return out


def copy_binary(conn: psycopg.Connection, rows: np.ndarray) -> None:
    """Send staging rows with PostgreSQL's binary COPY, built by numpy (fixed-width records)."""
    fields = rows.dtype.names or ()
    record = np.dtype([("n", ">i2")] + [x for name in fields
                                         for x in ((f"l_{name}", ">i4"), (name, ">" + rows.dtype[name].str[1:]))])
    packed = np.zeros(len(rows), dtype=record)
    packed["n"] = len(fields)
    for name in fields:
        packed[f"l_{name}"] = rows.dtype[name].itemsize
        packed[name] = rows[name]
    with conn.cursor().copy(f"COPY bench_rating ({', '.join(fields)}) FROM STDIN WITH (FORMAT binary)") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") * 2 + packed.tobytes() + (-1).to_bytes(2, "big", signed=True))


def write_ratings(conn: psycopg.Connection, questionnaire: Questionnaire, version: int, slot_ids: tuple[str, ...]) -> None:
    """Expand the staging rows into ``response`` rows as the store path writes them
    (:func:`survey.collect.responses.store_response`): the numeric answers packed into
    ``response.codes`` (one byte per slot of the version, 255 = no answer: survey.store.compact),
    the digests as the 32 bytes PostgreSQL stores, and a row of ``answer`` only for a comment."""
    numeric = [q.id for q in questionnaire.questions if q.type.startswith("scale")]
    column = {qid: f"b.a{j}" for j, qid in enumerate(numeric)}
    codes = " || ".join(
        f"lpad(to_hex(CASE WHEN COALESCE({column[qid]}, 0) = 0 THEN 255 ELSE {column[qid]} END), 2, '0')"
        if qid in column else "'ff'" for qid in slot_ids)
    conn.execute(
        "INSERT INTO response (id, questionnaire_id, questionnaire_version_id, unit_id, service_id, desk_id, channel,"
        " started_at, submitted_at, received_at, review_status, weight, dossier_key, payload_hash, credential_id, flag,"
        " codes)"
        " SELECT b.id, %(q)s, %(v)s, unit, service, desk, 'kiosk', to_timestamp(at - took), to_timestamp(at),"
        " to_timestamp(at + 1), 'received', 1.0,"
        " CASE WHEN extra & 2 > 0 THEN decode(md5(b.id::text) || md5(reverse(b.id::text)), 'hex') END,"
        " decode(md5(b.id::text || 'payload') || md5(at::text || b.id::text), 'hex'), credential,"
        f" CASE WHEN extra & 4 > 0 THEN 'burst' END, decode({codes}, 'hex') FROM bench_rating b",
        {"q": questionnaire.id, "v": version})
    text = [q.id for q in questionnaire.questions if q.type in ("longtext", "text")]
    values = [f"('{qid}', NULL::float8, CASE WHEN b.extra & 1 > 0 THEN %(comment)s END)" for qid in text]
    if values:
        conn.execute(
            "INSERT INTO answer (response_id, question_id, value_num, value_text) SELECT b.id, x.q, x.v, x.t"
            f" FROM bench_rating b CROSS JOIN LATERAL (VALUES {', '.join(values)}) AS x(q, v, t)"
            " WHERE x.t IS NOT NULL", {"comment": COMMENT})


@contextmanager
def without_indexes(conn: psycopg.Connection, tables: tuple[str, ...]) -> Iterator[None]:
    """Drop the constraints and indexes of ``tables`` (and the foreign keys into them) for a bulk
    load; recreate them afterwards, validated, with the same definitions."""
    constraints = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint"
        " WHERE (conrelid::regclass::text = ANY(%(t)s) AND contype IN ('p', 'u', 'f'))"
        " OR (confrelid::regclass::text = ANY(%(t)s) AND contype = 'f')", {"t": list(tables)}).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%(t)s) AND indexname NOT IN"
        " (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))", {"t": list(tables)}).fetchall()
    order = {"f": 0, "u": 1, "p": 2}
    for table, name, _definition, _kind in sorted(constraints, key=lambda c: order[c[3]]):
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    yield
    conn.execute("SET maintenance_work_mem = '1GB'")
    for table, name, definition, _kind in sorted(constraints, key=lambda c: -order[c[3]]):
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        conn.execute(definition)


def generate(url: str, engine: Engine, size: int, seed: int = 2026) -> float:
    """Write ``size`` kiosk ratings; return the seconds it took (vacuum and statistics included)."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    questionnaire = latest(KIOSK_QUESTIONNAIRE)
    with Session(engine) as session:
        desks = kiosk_desks(session)
        version = version_id(session, questionnaire)
        slot_ids = slots(session, version)
        session.commit()
    effects = {"desk": rng.normal(0.0, 0.45, size=len(desks.desk)), "criterion": rng.normal(0.0, 0.25, size=6)}
    days = four_quarters(datetime.now(VIETNAM).date())
    with psycopg.connect(raw(url)) as conn:
        conn.execute("CREATE UNLOGGED TABLE bench_rating (id uuid DEFAULT gen_random_uuid(), "
                     + ", ".join(f"{name} {'bigint' if kind == 'i8' else 'smallint' if kind == 'i2' else 'integer'}"
                                 for name, kind in STAGING) + ")")
        with without_indexes(conn, ("response", "answer")):
            for at in range(0, size, CHUNK):
                copy_binary(conn, draw(rng, min(CHUNK, size - at), desks, days, effects))
                write_ratings(conn, questionnaire, version, slot_ids)
                conn.execute("TRUNCATE bench_rating")
                print(f"    {min(at + CHUNK, size):>11,} ratings written ({time.perf_counter() - start:.0f} s)", flush=True)
        conn.execute("DROP TABLE bench_rating")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) response")
        conn.execute("VACUUM (ANALYZE) answer")
    return time.perf_counter() - start


# --- measuring -------------------------------------------------------------------------------

def build_release(session: Session, period: str) -> None:
    """One release snapshot of the province for ``period``: the release build as the worker runs it
    (its units' scores from the rollups where they can answer, :mod:`survey.portal.snapshot_sample`)."""
    from survey.portal.snapshot_builder import ReleaseSpec, build_snapshot

    build_snapshot(session, ReleaseSpec(period=Period.parse(period), scope="96", questionnaires=(KIOSK_QUESTIONNAIRE,)),
                   release={"id": 0})  # type: ignore[typeddict-item]


#: What the release line times: ``(session, period)``.
RELEASE_BUILDER: Callable[[Session, str], None] = build_release


@dataclass
class Figures:
    size: int
    seconds: dict[str, float] = field(default_factory=dict)
    pages: dict[str, tuple[float, float]] = field(default_factory=dict)


def store_ratings(engine: Engine, count: int) -> float:
    """Seconds per rating stored one transaction each through ``store_many``, the path the kiosk
    form, the JSON API and OpenRosa take (``store_response``, the ORM path, is only its per-item
    fallback after a conflict)."""
    with Session(engine) as session:
        unit = session.scalars(select(Unit).where(Unit.code == "32002")).one()
        service = session.scalars(select(Service).where(Service.code == "CHUNG-THUC")).one()
        questionnaire = latest(KIOSK_QUESTIONNAIRE)
        start = time.perf_counter()
        for _ in range(count):
            store_many(session, secret="bench", items=[Pending(  # noqa: S106
                questionnaire=questionnaire, unit_id=unit.id, service_id=service.id, channel=Channel.KIOSK,
                answers=ANSWERS, response_id=uuid.uuid4(), submitted_at=datetime.now(UTC))])
        return (time.perf_counter() - start) / count


def upkeep(engine: Engine, count: int) -> tuple[float, float]:
    """Seconds per stored rating with the rollups in use, then out of use (no ``rollup_state``:
    the pre-commit hook only looks it up); the states are put back."""
    with_rollups = store_ratings(engine, count)
    with Session(engine) as session:
        kept = [(s.questionnaire_id, s.layout, s.rebuilt_at) for s in session.scalars(select(RollupState))]
        session.execute(delete(RollupState))
        session.commit()
    without = store_ratings(engine, count)
    with Session(engine) as session:
        session.add_all([RollupState(questionnaire_id=q, layout=lay, stale=True, rebuilt_at=at) for q, lay, at in kept])
        session.commit()  # stale: the ratings stored without upkeep are not in the cells
    return with_rollups, without


def run(size: int, requests: int, inserts: int, micro_max: int, release_max: int, keep: bool) -> Figures:
    figures = Figures(size)
    print(f"\n=== {size:,} kiosk ratings (database bench_h15b_{size}) ===", flush=True)
    with database(f"bench_h15b_{size}", keep) as url:
        upgrade(url)
        app = bench_app(url)
        engine = app.extensions["hailong.engine"]
        start = time.perf_counter()
        load_demo(engine, secret=app.config["SECRET_KEY"], n_responses=0)
        print(f"  reference data (demo without ratings, PAPI interviews): {time.perf_counter() - start:.0f} s")
        figures.seconds["generate"] = generate(url, engine, size)
        with Session(engine) as session:
            start = time.perf_counter()
            counts = rollups.rebuild(session)
            session.commit()
            figures.seconds["rebuild"] = time.perf_counter() - start
            cells = session.scalar(select(func.count()).select_from(Rollup))
            ratings = session.scalars(select(func.count()).select_from(Response).where(Response.channel == Channel.KIOSK)).one()
        print(f"  generated in {figures.seconds['generate']:.0f} s; rollup rebuild {figures.seconds['rebuild']:.1f} s "
              f"({ratings / figures.seconds['rebuild']:,.0f} ratings/s): {sum(counts.values()):,} day cells, "
              f"{cells:,} rows in all", flush=True)
        client = staff_client(app)
        for name, path in PAGES.items():
            status = client.get(path).status_code  # warm-up (caches, the first query plans)
            p50, p95 = percentiles(timings(lambda path=path: client.get(path), requests))
            figures.pages[name] = (p50, p95)
            print(f"  {name:36s} p50 {p50 * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms   (HTTP {status}, "
                  f"{requests} requests)", flush=True)
        if size <= micro_max:
            original = rollups.usable
            rollups.usable = lambda *_a, **_k: None  # type: ignore[assignment]
            try:
                micro = percentiles(timings(lambda: client.get(PAGES[MICRO_PAGE]), 3))[0]
            finally:
                rollups.usable = original  # type: ignore[assignment]
            figures.seconds["micro"] = micro
            print(f"  {MICRO_PAGE} from the microdata: {micro:.2f} s (median of 3) — rollups "
                  f"{micro / figures.pages[MICRO_PAGE][0]:,.0f}× faster")
        with_rollups, without = upkeep(engine, inserts)
        figures.seconds["upkeep"] = with_rollups - without
        print(f"  store one rating: {with_rollups * 1000:.2f} ms with rollup upkeep, {without * 1000:.2f} ms without "
              f"— upkeep {(with_rollups - without) * 1000:.2f} ms a rating ({with_rollups / without:.2f}×; "
              f"{inserts} each)")
        if size > release_max:
            engine.dispose()
            return figures
        with Session(engine) as session:  # the rollups again (the states were left stale)
            rollups.rebuild(session)
            session.commit()
        end = last_complete_quarter_end(datetime.now(VIETNAM).date())
        period = f"{end.year}-Q{(end.month - 1) // 3 + 1}"
        with Session(engine) as session:
            release = timings(lambda: RELEASE_BUILDER(session, period), 3 if size <= micro_max else 1)
        figures.seconds["release"] = min(release)
        print(f"  release snapshot (province 96, {period}): best {min(release):.2f} s of {len(release)} "
              f"({', '.join(f'{s:.2f}' for s in release)})", flush=True)
        engine.dispose()
    return figures


def compare(all_figures: list[Figures]) -> None:
    """Each size against the first measured in this run."""
    first = all_figures[0]
    print(f"\nratios against {first.size:,} ratings (same run):")
    for figures in all_figures[1:]:
        scale = figures.size / first.size
        parts = [f"{name.split(' (')[0]} {figures.pages[name][0] / first.pages[name][0]:.2f}×"
                 for name in PAGES if name in figures.pages]
        parts += [f"{what} {figures.seconds[what] / first.seconds[what]:.1f}×" for what in ("rebuild", "release")
                  if what in figures.seconds]
        print(f"  {figures.size:,} ({scale:.0f}× the ratings): page p50 " + ", ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--requests", type=int, default=20, help="requests per page (after one warm-up)")
    parser.add_argument("--inserts", type=int, default=200, help="ratings stored one by one, each way")
    parser.add_argument("--micro-max", type=int, default=1_000_000,
                        help="largest size at which the results page is also timed from the microdata")
    parser.add_argument("--release-max", type=int, default=10_000_000,
                        help="largest size at which a release snapshot is built (today's path reads the microdata)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    measured = [run(int(s), args.requests, args.inserts, args.micro_max, args.release_max, args.keep) for s in args.sizes.split(",")]
    if len(measured) > 1:
        compare(measured)


if __name__ == "__main__":
    main()
