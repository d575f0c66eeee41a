"""Rollups of sufficient statistics (issue 15 point 1): computing cells, keeping them current,
rebuilding them, and reading them for the staff results page, the ranking and release building
(:mod:`survey.portal.snapshot_sample`).

The SIPAS pages score with ``SurveyDesign(weight="weight")``: every response is its own PSU in one
stratum (kiosk ratings; the SIPAS pages never use a household survey's strata and PSUs), so an
index, its SE and interval, n and the design effect of any domain follow from sums over the
domain's responses (:mod:`scoring.sums`), and sums add up over cells (questionnaire version × unit ×
service × day, :mod:`survey.store.rollup_cells`). A page reads the cells of its questionnaire (and
service) — a few thousand rows whatever the number of ratings — and gets the microdata's figures
to rounding (``tests/test_rollups.py`` checks ≤ 1e-12 relative on SQLite and PostgreSQL).

The rollups do *not* answer, and the page scores the microdata (:func:`usable` is None), when:
the questionnaire's rollups were never built, are stale (an auto-approval rule changed, a bulk
load) or were built for another layout (a new questionnaire version in the library); a cell could
not be summed (an answer outside the scale: the microdata path reports it); the sample has fewer
than two responses. The ranking also keeps the microdata for the one-stop desks (cells do not
know the desk), for an old commune split between today's units (its responses are spread by
shares, with fractional weights), and the PAPI page always does (clustered household design:
its variance needs per-PSU totals, not per-response sums).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Table, delete, func, insert, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from scoring.sums import SumsLayout, grouped_sums, row_sums
from survey.periods import VIETNAM, local
from survey.reports.frames import auto_approved_channels, responses_frame
from survey.reports.sipas_tables import scored_as_sipas, sipas_spec
from survey.store import rollup_cells as store
from survey.store.models import Response, utcnow
from survey.store.rollup_cells import Cell, Rollup, RollupState

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Layout:
    """What a questionnaire's cells hold: the sums layout of its latest version's SIPAS plan,
    and a signature of everything that decides the numbers (question ids, codes not scored,
    satisfied codes, the composites)."""

    questionnaire: Questionnaire
    sums: SumsLayout
    signature: str


_layouts: dict[tuple[str, str, str], Layout] = {}


def layout(questionnaire: Questionnaire) -> Layout:
    """The layout of ``questionnaire`` (its latest version: the one the pages score with);
    library versions never change, so it is computed once per version."""
    # keyed on the scoring spec too: a questionnaire scored with another rule (an overall rule
    # chosen for a release) has another signature, so cells built for the library's never answer it
    key = (questionnaire.id, questionnaire.version, repr(sipas_spec(questionnaire)))
    if key not in _layouts:
        _layouts[key] = _layout(questionnaire)
    return _layouts[key]


def _layout(questionnaire: Questionnaire) -> Layout:
    from scoring.sipas import sipas_plan

    spec = sipas_spec(questionnaire)
    columns = list(spec.criteria)
    if spec.overall_rule.startswith("item:") and spec.overall_rule[5:] not in columns:
        columns.append(spec.overall_rule[5:])
    plan = sipas_plan(pd.DataFrame({c: [np.nan] for c in columns}), spec)
    sums = SumsLayout.of(plan)
    not_scored = {q.id: sorted(str(c.value) for c in q.choices if not c.scored) for q in questionnaire.questions}
    described = json.dumps({"id": questionnaire.id, "version": questionnaire.version, "columns": columns,
                            "not_scored": not_scored, "satisfied": sorted(spec.satisfied), "kinds": plan.kinds,
                            "ids": plan.ids, "coef": sums.coef.round(12).tolist(), "scale": spec.scale},
                           sort_keys=True, default=str)
    return Layout(questionnaire, sums, hashlib.sha256(described.encode()).hexdigest()[:32])


def _sums_of(lay: Layout, frame: pd.DataFrame) -> bytes | None:
    """The packed sums of a frame of responses, None when it cannot be summed."""
    from scoring.sipas import sipas_plan

    try:
        plan = sipas_plan(frame, sipas_spec(lay.questionnaire))
        return row_sums(lay.sums, plan.y, frame["weight"].to_numpy(dtype=float)).astype("<f8").tobytes()
    except ValueError:
        return None


def _local_days(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["submitted_at"], utc=True).dt.tz_convert(VIETNAM).dt.date


def _bound(session: Session, day: date) -> datetime:
    """The first moment of ``day`` in Vietnam, as the database compares stored moments."""
    moment = datetime.combine(day, time(0), VIETNAM).astimezone(UTC)
    return moment.replace(tzinfo=None) if session.get_bind().dialect.name == "sqlite" else moment


def _row(lay: Layout, cell: Cell, frame: pd.DataFrame) -> dict[str, object]:
    questionnaire_id, version_id, unit_id, service_id, day = cell
    return {"questionnaire_version_id": version_id, "unit_id": unit_id, "service_id": service_id, "day": day,
            "grain": "d", "questionnaire_id": questionnaire_id, "layout": lay.signature, "n_responses": len(frame),
            "sums": _sums_of(lay, frame), "updated_at": utcnow()}


def quarter_start(day: date) -> date:
    """The first day of the quarter of ``day`` (the ``day`` of its quarter cell)."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _quarter_end(start: date) -> date:
    return date(start.year + 1, 1, 1) if start.month == 10 else date(start.year, start.month + 3, 1)


def _add(lay: Layout, parts: list[tuple[int, bytes | None]]) -> tuple[int, bytes | None]:
    """The number of responses and the packed sums of day cells together (sums None if any is)."""
    n = sum(count for count, _sums in parts)
    if any(sums is None for _count, sums in parts):
        return n, None
    vectors = np.frombuffer(b"".join(bytes(sums or b"") for _count, sums in parts), dtype="<f8")
    return n, vectors.reshape(len(parts), lay.sums.size).sum(axis=0).astype("<f8").tobytes()


def _lock(session: Session, key: int, shared: bool = False) -> None:
    if session.get_bind().dialect.name == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        session.execute(text(f"SELECT {function}(:key)"), {"key": key})


def _questionnaire_key(questionnaire_id: str) -> int:
    return store.advisory_key((questionnaire_id, 0, 0, 0, date(1, 1, 1)))


def recompute(session: Session, cells: set[Cell], inserted: dict[Cell, set[uuid.UUID]] | None = None,
              facts: dict[uuid.UUID, store.NewFacts] | None = None) -> None:
    """Bring the cells a transaction touched up to date (the handler run before every commit):
    ``cells`` are recomputed from the microdata; a cell that only gained new responses
    (``inserted``) gets their sums added — computed from their answers in memory when ``facts``
    knows them (responses inserted through Core), else read with one query for all the new
    responses of the commit; never a re-read of the cell. A questionnaire whose rollups are not in use (never built, stale,
    another layout) is left alone: its next rebuild covers it. On PostgreSQL each questionnaire is
    held with a shared advisory lock (a rebuild takes it exclusively) and each cell with an
    exclusive one, day cells then quarter cells, each in order — one global order — so concurrent
    transactions update a cell one after the other, each reading the other's committed result."""
    from survey.store.catalogue import latest

    inserted = inserted or {}
    for questionnaire_id in sorted({c[0] for c in cells | set(inserted)}):
        _lock(session, _questionnaire_key(questionnaire_id), shared=True)
        state = session.get(RollupState, questionnaire_id, populate_existing=True)
        if state is None or state.stale:
            continue
        try:
            questionnaire = latest(questionnaire_id)
        except LookupError:
            continue
        lay = layout(questionnaire)
        if lay.signature != state.layout:
            continue
        full = {c for c in cells if c[0] == questionnaire_id}
        added = {c: ids for c, ids in inserted.items() if c[0] == questionnaire_id and c not in full}
        new_rows = _new_responses(session, questionnaire, added, facts or {})
        gained = sorted(c for c in added if c in new_rows)  # cells with new responses that count
        # the day cells' locks, then the quarter cells', each in order — one global order — in one statement
        quarters = {(c[1], c[2], c[3], quarter_start(c[4])) for c in full | set(gained)}
        _locks(session, [store.advisory_key(c) for c in sorted(full | set(gained))],
               [store.advisory_key((f"q:{questionnaire_id}", *q)) for q in sorted(quarters)])
        for cell in sorted(full):
            _, version_id, unit_id, service_id, day = cell
            frame = responses_frame(session, questionnaire, where=[
                Response.questionnaire_version_id == version_id, Response.unit_id == unit_id,
                Response.service_id == service_id, Response.submitted_at >= _bound(session, day),
                Response.submitted_at < _bound(session, day + timedelta(days=1))])
            frame = frame[_local_days(frame) == day] if len(frame) else frame
            session.execute(delete(Rollup).where(*_key(cell[1:4], day, "d")))
            if len(frame):
                session.execute(insert(Rollup), [_row(lay, cell, frame)])
        # Cells that only gained responses: their sums added, a constant number of statements.
        deltas = {cell: (len(new_rows[cell]), _sums_of(lay, new_rows[cell])) for cell in gained}
        recount = {(c[1], c[2], c[3], quarter_start(c[4])) for c in full}
        by_quarter: dict[tuple[int, int, int, date], list[tuple[int, bytes | None]]] = {}
        for cell, delta in deltas.items():
            quarter = (cell[1], cell[2], cell[3], quarter_start(cell[4]))
            if quarter not in recount:
                by_quarter.setdefault(quarter, []).append(delta)
        for version_id, unit_id, service_id, start in sorted(recount):  # from their day cells
            where_q = (Rollup.questionnaire_version_id == version_id, Rollup.unit_id == unit_id,
                       Rollup.service_id == service_id)
            parts = [(int(r[0]), r[1]) for r in session.execute(select(Rollup.n_responses, Rollup.sums).where(
                *where_q, Rollup.grain == "d", Rollup.day >= start, Rollup.day < _quarter_end(start)))]
            session.execute(delete(Rollup).where(*where_q, Rollup.grain == "q", Rollup.day == start))
            if parts:
                n, sums = _add(lay, parts)
                session.execute(insert(Rollup), [_cell_row(lay, questionnaire_id, (version_id, unit_id, service_id, start),
                                                           "q", n, sums)])
        _merged(session, lay, questionnaire_id, {
            "d": {(c[1], c[2], c[3], c[4]): [d] for c, d in deltas.items()}, "q": by_quarter})


def _key(part: tuple[int, int, int], day: date, grain: str) -> tuple[Any, ...]:
    return (Rollup.questionnaire_version_id == part[0], Rollup.unit_id == part[1], Rollup.service_id == part[2],
            Rollup.day == day, Rollup.grain == grain)


def _cell_row(lay: Layout, questionnaire_id: str, key: tuple[int, int, int, date], grain: str, n: int,
              sums: bytes | None) -> dict[str, object]:
    return {"questionnaire_version_id": key[0], "unit_id": key[1], "service_id": key[2], "day": key[3],
            "grain": grain, "questionnaire_id": questionnaire_id, "layout": lay.signature, "n_responses": n,
            "sums": sums, "updated_at": utcnow()}


def _merged(session: Session, lay: Layout, questionnaire_id: str,
            deltas: dict[str, dict[tuple[int, int, int, date], list[tuple[int, bytes | None]]]]) -> int:
    """Add ``deltas`` (per grain) to the cells they name (a cell not stored yet starts empty): one
    SELECT and one upsert (``INSERT … ON CONFLICT DO UPDATE``) for all of them, both grains. Returns
    the number of cells written."""
    keys = [(grain, key) for grain in sorted(deltas) for key in sorted(deltas[grain])]
    if not keys:
        return 0
    columns = tuple_(Rollup.grain, Rollup.questionnaire_version_id, Rollup.unit_id, Rollup.service_id, Rollup.day)
    chosen = columns.in_([(grain, *key) for grain, key in keys])
    old = {(r[0], (r[1], r[2], r[3], r[4])): (int(r[5]), r[6]) for r in session.execute(
        select(Rollup.grain, Rollup.questionnaire_version_id, Rollup.unit_id, Rollup.service_id, Rollup.day,
               Rollup.n_responses, Rollup.sums).where(chosen))}
    rows = []
    for grain, key in keys:
        n, sums = _add(lay, ([old[(grain, key)]] if (grain, key) in old else []) + deltas[grain][key])
        rows.append(_cell_row(lay, questionnaire_id, key, grain, n, sums))
    session.execute(_upsert(session), rows)
    return len(rows)


def _upsert(session: Session) -> Any:
    """An INSERT of rollup rows that overwrites a row of the same cell (both databases)."""
    table = cast(Table, Rollup.__table__)
    stmt: Any = (postgresql.insert(table) if session.get_bind().dialect.name == "postgresql"
                 else sqlite.insert(table))
    written = ("questionnaire_id", "layout", "n_responses", "sums", "updated_at")
    return stmt.on_conflict_do_update(index_elements=[c.name for c in table.primary_key],
                                      set_={name: stmt.excluded[name] for name in written})


def _locks(session: Session, *groups: list[int]) -> None:
    """Take the advisory locks of ``groups`` in their order (each group sorted), in one statement
    (PostgreSQL evaluates a volatile function of the target list after the ORDER BY)."""
    keys = [k for group in groups for k in sorted(group)]
    if keys and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) "
                             "WITH ORDINALITY AS t(k, o) ORDER BY o"), {"keys": keys})


def _new_responses(session: Session, questionnaire: Questionnaire, added: dict[Cell, set[uuid.UUID]],
                   facts: dict[uuid.UUID, store.NewFacts]) -> dict[Cell, pd.DataFrame]:
    """The new responses of ``added`` (per cell) that count (THE gate), as frames per cell: those
    ``facts`` knows from their answers in memory, the others read from the database."""
    known = {cell: [facts[rid] for rid in sorted(ids) if rid in facts] for cell, ids in added.items()}
    unknown = sorted(rid for ids in added.values() for rid in ids if rid not in facts)
    out = _read_new_responses(session, questionnaire, unknown)
    if any(known.values()):
        channels = set(auto_approved_channels(session))
        for cell, rows in known.items():
            # THE gate (survey.reports.frames.approved_filter) for a response just received
            counted = [f for f in rows if f.flag is None and f.channel in channels]
            if counted:
                frame = _answers_frame(questionnaire, [f.answers for f in counted])
                out[cell] = pd.concat([out[cell], frame], ignore_index=True) if cell in out else frame
    return out


def _answers_frame(questionnaire: Questionnaire, answers: list[Any]) -> pd.DataFrame:
    """The columns :func:`~survey.reports.frames.responses_frame` gives the scoring of new
    responses (weight 1), from their answers in memory: each scored question as a number, NaN when
    unanswered, not numeric or a code that is not scored."""
    frame = pd.DataFrame({"weight": np.ones(len(answers))})
    for question, not_scored in _scored_columns(questionnaire):
        values = np.array([_number(a.get(question)) for a in answers], dtype=float)
        if not_scored:
            values[np.isin(values, not_scored)] = np.nan
        frame[question] = values
    return frame


_scored: dict[tuple[str, str], list[tuple[str, list[float]]]] = {}


def _scored_columns(questionnaire: Questionnaire) -> list[tuple[str, list[float]]]:
    """The scored questions of ``questionnaire`` (its overall item too) with their codes not scored,
    as ``responses_frame`` reads them; once per version."""
    key = (questionnaire.id, questionnaire.version)
    if key not in _scored:
        scored = list(questionnaire.scored_questions())
        overall = questionnaire.question(questionnaire.overall_question) if questionnaire.overall_question else None
        if overall is not None and overall not in scored:
            scored.append(overall)
        _scored[key] = [(q.id, [float(c.value) for c in q.choices if not c.scored and isinstance(c.value, int | float)])
                        for q in scored]
    return _scored[key]


def _number(value: Any) -> float:
    """An answer as the database stores its number (``value_num``): booleans 1/0, numbers as they
    are, anything else (text, lists, no answer) none."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float | Decimal):
        return float(value)
    return float("nan")


def _read_new_responses(session: Session, questionnaire: Questionnaire, ids: list[uuid.UUID]) -> dict[Cell, pd.DataFrame]:
    """The responses among ``ids`` that count (THE gate), read from the database, as frames per cell."""
    if not ids:
        return {}
    chosen = sorted(ids)
    frames = [responses_frame(session, questionnaire, where=[Response.id.in_(chosen[at:at + 500])], version=True)
              for at in range(0, len(chosen), 500)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if not len(frame):
        return {}
    frame["day"] = _local_days(frame)
    out: dict[Cell, pd.DataFrame] = {}
    for key, part in frame.groupby(["questionnaire_version_id", "unit_id", "service_id", "day"], sort=True):
        parts: tuple[Any, ...] = tuple(key)  # type: ignore[arg-type]
        out[(questionnaire.id, int(parts[0]), int(parts[1]), int(parts[2]), parts[3])] = part
    return out


store.HANDLERS[:] = [recompute]


def rebuild(session: Session, questionnaires: Iterable[Questionnaire] | None = None) -> dict[str, int]:
    """Rebuild every cell of ``questionnaires`` (default: every SIPAS-scored questionnaire in
    use) from the microdata, in ``session``'s transaction (the caller commits). Returns the
    number of day cells per questionnaire.

    Constant memory and a few minutes at ten million ratings (``bench/bench_scale.py``): the
    responses are read one chunk at a time — one questionnaire version × unit × quarter, a range
    of the index ``ix_response_scope`` —, each chunk's day cells are summed in one vectorised pass
    (:func:`scoring.sums.grouped_sums`), its quarter cells from them, and the cells are written
    as they come (``COPY`` on PostgreSQL)."""
    from survey.store.catalogue import in_use

    chosen = [q for q in (questionnaires if questionnaires is not None else in_use(session)) if scored_as_sipas(q)]
    counts: dict[str, int] = {}
    for questionnaire in chosen:
        _lock(session, _questionnaire_key(questionnaire.id))
        session.execute(delete(Rollup).where(Rollup.questionnaire_id == questionnaire.id))  # writes first (SQLite)
        lay = layout(questionnaire)
        sink = _CellSink(session)
        counts[questionnaire.id] = 0
        _index_joins(session, True)
        for version_id, unit_id, start in _chunks(session, questionnaire.id):
            frame = responses_frame(session, questionnaire, version=True, where=[
                Response.questionnaire_version_id == version_id, Response.unit_id == unit_id,
                Response.submitted_at >= _bound(session, start),
                Response.submitted_at < _bound(session, _quarter_end(start))])
            if not len(frame):
                continue
            days, quarters = _chunk_cells(lay, frame, start)
            counts[questionnaire.id] += len(days)
            stamp = utcnow()
            for grain, cells in (("d", days), ("q", quarters)):
                sink.add([(version_id, unit_id, service_id, day, grain, questionnaire.id, lay.signature, n, sums,
                           stamp) for service_id, day, n, sums in cells])
        _index_joins(session, False)
        sink.flush()
        session.execute(delete(RollupState).where(RollupState.questionnaire_id == questionnaire.id))
        session.execute(insert(RollupState), [{"questionnaire_id": questionnaire.id, "layout": lay.signature,
                                               "stale": False, "rebuilt_at": utcnow()}])
    return counts


def _index_joins(session: Session, on: bool) -> None:
    """On PostgreSQL, have a chunk's answers found through the answer table's primary key
    (nested loop) rather than hashed from a scan of the whole table, which the planner prefers for
    a chunk of a few thousand responses — and which made a rebuild quadratic (one scan of every
    answer per chunk: ×7 slower a chunk at 100,000 ratings). ``on=False`` restores the settings."""
    if session.get_bind().dialect.name == "postgresql":
        for setting in ("enable_hashjoin", "enable_mergejoin"):
            session.execute(text(f"SET LOCAL {setting} = {'off' if on else 'DEFAULT'}"))


def _chunks(session: Session, questionnaire_id: str) -> list[tuple[int, int, date]]:
    """The (version, unit, first day of a quarter) the responses of ``questionnaire_id`` span,
    counted or not, in order (each quarter between a unit's first and last response)."""
    spans = session.execute(
        select(Response.questionnaire_version_id, Response.unit_id, func.min(Response.submitted_at),
               func.max(Response.submitted_at))
        .where(Response.questionnaire_id == questionnaire_id)
        .group_by(Response.questionnaire_version_id, Response.unit_id)
        .order_by(Response.questionnaire_version_id, Response.unit_id)).all()
    out = []
    for version_id, unit_id, first, last in spans:
        start, end = quarter_start(local(first).date()), quarter_start(local(last).date())
        while start <= end:
            out.append((int(version_id), int(unit_id), start))
            start = _quarter_end(start)
    return out


CellSums = tuple[int, date, int, bytes | None]  # service id, day, n responses, packed sums


def _chunk_cells(lay: Layout, frame: pd.DataFrame, quarter: date) -> tuple[list[CellSums], list[CellSums]]:
    """The day cells and the quarter cells of one chunk (one version × unit × quarter)."""
    keys = pd.DataFrame({"service_id": frame["service_id"].astype(int).to_numpy(), "day": _local_days(frame)})
    codes, cells = pd.factorize(pd.MultiIndex.from_frame(keys), sort=True)
    n = np.bincount(codes, minlength=len(cells))
    packed = _grouped(lay, frame, codes, len(cells))
    days = [(int(service_id), day, int(n[i]), packed[i]) for i, (service_id, day) in enumerate(cells)]
    quarters = []
    for service_id in sorted({d[0] for d in days}):
        mine = [(count, sums) for sid, _day, count, sums in days if sid == service_id]
        total, sums = _add(lay, mine)
        quarters.append((service_id, quarter, total, sums))
    return days, quarters


def _grouped(lay: Layout, frame: pd.DataFrame, codes: np.ndarray, n_cells: int) -> list[bytes | None]:
    """The packed sums of each cell of ``frame`` (``codes``: the cell of each row), None for a
    cell that cannot be summed (an answer outside the scale: such a chunk is summed cell by cell)."""
    from scoring.sipas import sipas_plan

    try:
        plan = sipas_plan(frame, sipas_spec(lay.questionnaire))
    except ValueError:
        return [_sums_of(lay, frame[codes == i]) for i in range(n_cells)]
    sums = grouped_sums(lay.sums, plan.y, frame["weight"].to_numpy(dtype=float), codes, n_cells)
    return [row.astype("<f8").tobytes() for row in sums]


class _CellSink:
    """Writes rollup rows in batches: ``COPY`` on PostgreSQL (a rebuild writes hundreds of
    thousands of cells), multi-row INSERTs elsewhere."""

    COLUMNS = ("questionnaire_version_id", "unit_id", "service_id", "day", "grain", "questionnaire_id", "layout",
               "n_responses", "sums", "updated_at")
    BATCH = 5000

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: list[tuple[object, ...]] = []

    def add(self, rows: list[tuple[object, ...]]) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            raw: Any = connection.connection.dbapi_connection  # psycopg's Connection (the dialect is psycopg 3)
            with raw.cursor() as cursor, cursor.copy(f"COPY rollup ({', '.join(self.COLUMNS)}) FROM STDIN") as copy:
                for row in self.rows:
                    copy.write_row(row)
        else:
            self.session.execute(insert(Rollup), [dict(zip(self.COLUMNS, row, strict=True)) for row in self.rows])
        self.rows = []


@dataclass(frozen=True, eq=False)
class Cells:
    """The cells a page reads — quarter cells: one row per version × unit × service × quarter
    (``unit_id``, ``service_id``, ``day`` — the quarter's first day —, ``period`` — the quarter,
    ``2026-Q3`` —, ``year``, ``n_responses``) and their packed sums, row for row."""

    layout: Layout
    frame: pd.DataFrame
    sums: np.ndarray

    @property
    def n_total(self) -> int:
        return int(self.frame["n_responses"].sum())

    def within(self, start: date, end: date) -> np.ndarray:
        """Which cells are quarters inside ``start``…``end`` (days, both included): every
        reporting period (quarter, half-year, nine months, year) is a run of whole quarters."""
        return np.fromiter((start <= day <= end for day in self.frame["day"]), dtype=bool, count=len(self.frame))

    def total(self, mask: np.ndarray | pd.Series) -> np.ndarray:
        """The sums of the cells where ``mask`` is true (zeros when none)."""
        chosen = np.asarray(mask, dtype=bool)
        total: np.ndarray = self.sums[chosen].sum(axis=0) if chosen.any() else np.zeros(self.layout.sums.size)
        return total


def usable(session: Session, questionnaire: Questionnaire, service_id: int | None, *,
           unit_ids: Iterable[int] | None = None) -> Cells | None:
    """The cells of ``questionnaire`` (one service, or all; of ``unit_ids`` only, or every
    unit), or None when the page must score the microdata (see the module's docstring for when)."""
    state = session.get(RollupState, questionnaire.id)
    if state is None or state.stale:
        return None
    lay = layout(questionnaire)
    if lay.signature != state.layout:
        log.info("rollups of %s were built for another layout: scoring the microdata until a rebuild",
                 questionnaire.id)
        return None
    stmt = select(Rollup.unit_id, Rollup.day, Rollup.n_responses, Rollup.sums, Rollup.layout, Rollup.service_id).where(
        Rollup.questionnaire_id == questionnaire.id, Rollup.grain == "q")  # the pages need quarters at most
    if service_id is not None:
        stmt = stmt.where(Rollup.service_id == service_id)
    if unit_ids is not None:
        stmt = stmt.where(Rollup.unit_id.in_(list(unit_ids)))
    rows = session.connection().execute(stmt).all()
    if any(r[3] is None or r[4] != lay.signature for r in rows):
        return None
    frame = pd.DataFrame({"unit_id": [r[0] for r in rows], "service_id": [r[5] for r in rows],
                          "day": [r[1] for r in rows], "n_responses": [int(r[2]) for r in rows]})
    if int(frame["n_responses"].sum()) < 2:
        return None
    stamps = pd.to_datetime(frame["day"])
    frame["period"] = stamps.dt.year.astype(str).str.zfill(4) + "-Q" + stamps.dt.quarter.astype(str)
    frame["year"] = stamps.dt.year.astype(int)
    sums = np.frombuffer(b"".join(bytes(r[3] or b"") for r in rows), dtype="<f8").reshape(len(rows), lay.sums.size)
    return Cells(lay, frame, sums)


def grouped(cells: Cells, mask: np.ndarray | pd.Series, key: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``key`` among the cells where ``mask`` is true (sorted), and the
    summed vectors of each."""
    chosen = np.asarray(mask, dtype=bool)
    values = key.to_numpy()[chosen]
    if not len(values):
        return values, np.zeros((0, cells.layout.sums.size))
    codes, levels = pd.factorize(values, sort=True)
    summed = pd.DataFrame(cells.sums[chosen]).groupby(codes, sort=True).sum().to_numpy()
    return np.asarray(levels), summed


def grouped_by(cells: Cells, mask: np.ndarray | pd.Series, keys: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct rows of ``keys`` (one row per cell; integer columns) among the cells where
    ``mask`` is true, sorted, and the summed vectors of each — :func:`grouped` on several keys."""
    chosen = np.asarray(mask, dtype=bool)
    picked = keys[chosen].reset_index(drop=True)
    if not len(picked):
        return picked, np.zeros((0, cells.layout.sums.size))
    summed = pd.DataFrame(cells.sums[chosen]).groupby([picked[c] for c in keys.columns], sort=True).sum()
    levels = summed.index.to_frame(index=False)
    levels.columns = list(keys.columns)
    return levels, summed.to_numpy()


def score(cells: Cells, sums: np.ndarray, labels: pd.DataFrame, confidence: float, *, n_total: int | None = None,
          min_n: int | None = None) -> pd.DataFrame:
    """:func:`scoring.sipas.score_sipas`'s table (logit intervals for the shares) from summed
    cells, one row of ``labels`` per row of ``sums``, in a sample of all the cells' responses
    (or of ``n_total`` responses: a release's sample is its period and the one before, in its
    scope); ``min_n``: the smallest n not flagged ``small_sample`` (score_sipas's argument)."""
    from scoring.intervals import MIN_N
    from scoring.sipas import SHARE_KINDS
    from scoring.sums import table_from_sums

    lay = cells.layout.sums
    return table_from_sums(lay, sums, labels, n_total=cells.n_total if n_total is None else n_total,
                           confidence=confidence, min_n=MIN_N if min_n is None else min_n,
                           ci=["logit" if k in SHARE_KINDS else "wald" for k in lay.kinds]).to_frame()


def rows_grouped(cells: Cells, frame: pd.DataFrame, key: str) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``frame[key]`` (sorted) and the sums, in the cells' layout, of the
    microdata rows of each: a domain the cells do not know (a one-stop desk), to score with the
    cells' other domains in one sample.

    Raises ValueError when the rows cannot be summed (an answer outside the scale)."""
    from scoring.sipas import sipas_plan

    lay = cells.layout
    plan = sipas_plan(frame, sipas_spec(lay.questionnaire))  # raises ValueError as _sums_of would return None
    weights = frame["weight"].to_numpy(dtype=float)
    codes, levels = pd.factorize(frame[key], sort=True)
    sums = [row_sums(lay.sums, plan.y[codes == n], weights[codes == n]) for n in range(len(levels))]
    return np.asarray(levels), np.vstack(sums) if sums else np.zeros((0, lay.sums.size))


def day_start(session: Session, day: date) -> datetime:
    """The first moment of ``day`` in Vietnam, as ``session``'s database compares stored moments
    (to read the responses of a run of days)."""
    return _bound(session, day)
