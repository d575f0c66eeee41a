"""Benchmark: bytes per stored kiosk rating (table + indexes, PostgreSQL) before and after the
compact storage of revision c15c, and the time of its upgrade per 10,000 ratings.

In a scratch database ``bench_h15c_<hex>`` (dropped at the end) it loads the demo province without
ratings, then stores ``--size`` kiosk ratings of the latest SIPAS kiosk questionnaire through the
product's store path (``store_many``, batches of 500, as the kiosk API does) — numbers from 1 to 5
on the five criteria and the overall item, a few skipped, a dossier code on ``--dossier-share`` of
them, a comment on ``--comment-share`` — then, in the same run:

1. measures the layout as written (head; ``VACUUM``), then rewritten tight (``VACUUM FULL``);
2. downgrades to ``r15a`` (every answer a row of ``answer``, the layout before issue 15),
   ``VACUUM FULL`` (no dead rows counted) and measures it;
3. upgrades to head again, timing the migration (per 10,000 ratings), ``VACUUM FULL`` and measures;
4. times reading every rating's answers (``responses_frame``, a scan of ``answer_value``) packed, then
   with the same answers turned into rows.

Bytes per rating = ``pg_total_relation_size`` of ``response`` + ``answer`` + ``answer_slot``
(heap, TOAST and every index) / ratings; the breakdown per relation is printed too.

    .venv/bin/python bench/bench_storage.py [--size 50000]

Not a test: run it by hand (``nice -n 10``). Needs the local PostgreSQL (see tests/databases.py).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import create_engine, delete, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from survey.collect.responses import Pending, store_many  # noqa: E402
from survey.demo import load_demo  # noqa: E402
from survey.reports.frames import responses_frame  # noqa: E402
from survey.store.catalogue import latest  # noqa: E402
from survey.store.migrate import downgrade, upgrade  # noqa: E402
from survey.store.models import Channel, Credential, Desk, UnitService  # noqa: E402
from survey.store.rollup_cells import RollupState  # noqa: E402
from tests.databases import PG_ADMIN_URL  # noqa: E402

TABLES = ("response", "answer", "answer_slot")
SECRET = "bench-storage"  # noqa: S105 - the HMAC key of the scratch database's dossier keys
COMMENTS = ("Cán bộ nhiệt tình", "Phải chờ lâu", "Cần thêm ghế ngồi chờ", "Rất hài lòng")


def _ratings(session: Session, size: int, dossier_share: float, comment_share: float, seed: int) -> list[Pending]:
    """``size`` kiosk ratings at the demo's desks, over the last 90 days."""
    rng = np.random.default_rng(seed)
    questionnaire = latest("sipas-kiosk")
    scale = [q.id for q in questionnaire.questions if q.type == "scale5"]
    comment = next((q.id for q in questionnaire.questions if q.type == "longtext"), None)
    code = next((q.id for q in questionnaire.questions if q.type == "dossier_code"), None)
    desks = session.execute(select(Desk.id, Desk.unit_id, UnitService.service_id)
                            .join(UnitService, UnitService.unit_id == Desk.unit_id)
                            .where(Desk.active.is_(True))).all()
    for desk_id in {d for d, _u, _s in desks}:  # one kiosk device (API credential) per desk
        session.add(Credential(token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(), desk_id=desk_id))
    session.commit()
    devices = {d: c for d, c in session.execute(select(Credential.desk_id, Credential.id))}
    now = datetime.now(UTC)
    out = []
    for n in range(size):
        desk_id, unit_id, service_id = desks[int(rng.integers(len(desks)))]
        answers: dict[str, object] = {q: int(rng.integers(1, 6)) for q in scale if rng.random() > 0.04}
        if code and rng.random() < dossier_share:
            answers[code] = f"000.00.12.H12-{n:06d}-{int(rng.integers(10_000)):04d}"
        if comment and rng.random() < comment_share:
            answers[comment] = COMMENTS[int(rng.integers(len(COMMENTS)))]
        submitted = now - timedelta(seconds=int(rng.integers(90 * 86_400)))
        out.append(Pending(questionnaire=questionnaire, unit_id=unit_id, service_id=service_id, channel=Channel.KIOSK,
                           answers=answers, response_id=uuid.uuid4(), submitted_at=submitted, desk_id=desk_id,
                           started_at=submitted - timedelta(seconds=int(rng.integers(20, 90))),
                           credential_id=devices.get(desk_id)))
    return out


def _sizes(engine, ratings: int) -> tuple[float, list[tuple[str, int]]]:  # type: ignore[no-untyped-def]
    """Bytes per rating and the bytes of every relation (heap with TOAST, each index)."""
    with engine.connect() as conn:
        present = [t for t in TABLES if conn.execute(text("SELECT to_regclass(:t)"), {"t": t}).scalar()]
        parts: list[tuple[str, int]] = []
        for table in present:
            parts.append((f"{table} (heap+toast)", int(conn.execute(text(
                "SELECT pg_table_size(:t)"), {"t": table}).scalar() or 0)))
            parts.extend((f"  {name}", int(size)) for name, size in conn.execute(text(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index"
                " WHERE indrelid = CAST(:t AS regclass) ORDER BY 1"), {"t": table}))
        total = sum(int(conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": t}).scalar() or 0)
                    for t in present)
    return total / ratings, parts


# Unpack every response at head (what the downgrade does, without leaving head): the reading code
# then reads the same answers from rows only.
_UNPACK = ("INSERT INTO answer (response_id, question_id, value_num, value_text)"
           " SELECT r.id, s.question_id, get_byte(r.codes, s.position), NULL FROM response r"
           " JOIN answer_slot s ON s.questionnaire_version_id = r.questionnaire_version_id"
           " WHERE r.codes IS NOT NULL AND get_byte(r.codes, s.position) <> 255", "UPDATE response SET codes = NULL")


def _read_times(engine) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Seconds (best of 3) to read every rating's answers, packed and then as rows (same run)."""
    questionnaire = latest("sipas-kiosk")
    reads = {
        "responses_frame (the pivot every score reads)": lambda s: responses_frame(s, questionnaire),
        "every answer through answer_value": lambda s: s.execute(text(
            "SELECT count(*), sum(value_num) FROM answer_value")).all(),
    }

    def best(read) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(3):
            with Session(engine) as session:
                start = time.perf_counter()
                read(session)
                times.append(time.perf_counter() - start)
        return min(times)

    packed = {name: best(read) for name, read in reads.items()}
    with engine.begin() as conn:
        for statement in (*_UNPACK, "ANALYZE answer", "ANALYZE response"):
            conn.execute(text(statement))
    return {name: (packed[name], best(read)) for name, read in reads.items()}


def _vacuum(url: str, full: bool) -> None:
    """``VACUUM``: the sizes as left by the writes; ``VACUUM FULL``: rewritten tight (no dead rows, fresh
    indexes), so that two layouts reached in different ways compare like with like.

    On a server shared with other work, a snapshot older than the deletions (another session's open
    transaction) makes ``VACUUM FULL`` keep the dead rows: it is repeated until none is kept."""
    kept: list[int] = []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.add_notice_handler(lambda d: kept.extend(
            int(n) for n in re.findall(r"(\d+) dead row versions cannot be removed yet", d.message_detail or "")))
        for table in TABLES:
            if not conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]:  # type: ignore[index]
                continue
            for _attempt in range(60):
                kept.clear()
                conn.execute(f"VACUUM ({'FULL, ' if full else ''}VERBOSE, ANALYZE) {table}")
                if not full or not any(kept):
                    break
                time.sleep(5)
            else:
                print(f"  (warning: {sum(kept):,} dead rows of {table} could not be removed: an old snapshot)")


def _report(title: str, per_rating: float, parts: list[tuple[str, int]], ratings: int) -> None:
    print(f"\n{title}: {per_rating:,.1f} bytes per rating")
    for name, size in parts:
        print(f"  {name:48s} {size / ratings:8.1f} B/rating   {size / 1e6:8.2f} MB")


def run(size: int, dossier_share: float, comment_share: float) -> None:
    name = f"bench_h15c_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    try:
        upgrade(url)
        engine = create_engine(url)
        load_demo(engine, secret=SECRET, n_responses=0, papi_per_village=0)
        with Session(engine) as session:  # no rollups to keep current: this measures the microdata only
            session.execute(delete(RollupState))
            session.commit()
        start = time.perf_counter()
        with Session(engine) as session:
            items = _ratings(session, size, dossier_share, comment_share, seed=15)
            for first in range(0, len(items), 500):
                store_many(session, secret=SECRET, items=items[first:first + 500])
        stored = time.perf_counter() - start
        print(f"{size:,} kiosk ratings stored through store_many in {stored:.1f} s "
              f"(dossier code on {dossier_share:.0%}, comment on {comment_share:.0%})")
        engine.dispose()
        _vacuum(url, full=False)
        new_written = _sizes(engine, size)
        _vacuum(url, full=True)
        new_tight = _sizes(engine, size)
        engine.dispose()
        downgrade(url, "r15a")
        _vacuum(url, full=True)
        old = _sizes(engine, size)
        engine.dispose()
        start = time.perf_counter()
        upgrade(url)
        migrated = time.perf_counter() - start
        _vacuum(url, full=True)
        new_migrated = _sizes(engine, size)
        engine.dispose()
        reads = _read_times(engine)
        engine.dispose()
        _report("before (r15a: every answer a row of answer)", *old, size)
        _report("after (head), as the store path wrote it (VACUUM)", *new_written, size)
        _report("after (head), the same rewritten tight (VACUUM FULL)", *new_tight, size)
        _report("after the upgrade from r15a (head, VACUUM FULL)", *new_migrated, size)
        print(f"\nbytes per rating, tight (VACUUM FULL) both: before {old[0]:,.1f}, after {new_tight[0]:,.1f} "
              f"({new_tight[0] / old[0]:.3f} of before, {old[0] / new_tight[0]:.1f}× smaller); "
              f"after as written {new_written[0]:,.1f}; after the upgrade {new_migrated[0]:,.1f}")
        print(f"upgrade r15a → head: {migrated:.2f} s for {size:,} ratings = {migrated / size * 10_000:.2f} s "
              f"per 10,000 ratings")
        for name, (packed, rows) in reads.items():
            print(f"{name}: packed {packed:.3f} s, the same answers as rows {rows:.3f} s "
                  f"({packed / rows:.2f}× the time)")
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--dossier-share", type=float, default=0.3)
    parser.add_argument("--comment-share", type=float, default=0.1)
    args = parser.parse_args()
    run(args.size, args.dossier_share, args.comment_share)


if __name__ == "__main__":
    main()
