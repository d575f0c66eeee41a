"""Rollups of sufficient statistics (issue 15 point 1): the tables, and which cells a transaction
changed.

A *cell* is one questionnaire version × unit × service × day (in Vietnam time) of the responses
that count; each quarter's day cells are also kept summed (``grain = "q"``), which the pages read (THE gate, :func:`survey.reports.frames.approved_filter`). Its row of ``rollup`` holds
the number of such responses and their packed sums (:mod:`scoring.sums`: Σw·u, Σw·uuᵀ, Σw²·uuᵀ and
the composites' counts, for the layout of the questionnaire's latest version). ``rollup_state``
says, per questionnaire, which layout the rows were computed for and whether they are current: a
page reads rollups only when the state is there, not stale, and of the layout it would score with.

Maintenance is *recompute the touched cells*: every flush notes (after it wrote them) the cells of the responses (and
answers) it inserts, updates (review status, flag, weight, unit, service, moment) or deletes; a
bulk INSERT through Core (``store_many``) names its new responses with :func:`touch_inserted`.
Before the transaction commits, the handler :mod:`survey.reports.rollups` registers in :data:`HANDLERS`
recomputes the changed cells from the microdata (an ``UPDATE``/``DELETE`` of responses run through
the session names the cells it matches too) and adds new responses' sums to cells nothing else
changed, under a per-cell lock (PostgreSQL advisory lock), so
that a cell always equals a rebuild of it. A change of an auto-approval rule (``review_rule``)
changes which responses count everywhere: it marks every state stale; the view that changes it
enqueues the ``rebuild_rollups`` job. Without a handler (a script that never built the app)
the touched questionnaires are marked stale rather than left wrong.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    event,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from survey.periods import local
from survey.store.models import Answer, Base, Response, ReviewRule, utcnow

#: (questionnaire id, questionnaire version id, unit id, service id, day)
Cell = tuple[str, int, int, int, date]



@dataclass(frozen=True)
class NewFacts:
    """What the upkeep needs of a response inserted through Core, known before the INSERT: its
    answers (as validated), channel and review flag (a new response is ``received``, weight 1), so
    that its sums are added without reading it back (issue 15 point 5)."""

    answers: Mapping[str, Any]
    channel: Any
    flag: str | None


#: Functions ``(session, cells, inserted, facts)`` that bring cells up to date before a commit (set
#: by survey.reports.rollups): ``cells`` to recompute from the microdata, ``inserted`` the ids of
#: new responses per cell (a cell only new responses touched can just add theirs), ``facts`` what
#: is known of new responses inserted through Core (the others are read from the database).
HANDLERS: list[Callable[[Session, set[Cell], dict[Cell, set[uuid.UUID]], dict[uuid.UUID, NewFacts]], None]] = []

_DIRTY = "hailong.rollup_cells"
_INSERTED = "hailong.rollup_inserted"
_FACTS = "hailong.rollup_new_facts"
_STALE = "hailong.rollup_stale_all"
_CELL_COLUMNS = ("questionnaire_id", "questionnaire_version_id", "unit_id", "service_id", "submitted_at")
_WATCHED = ("review_status", "flag", "weight", "unit_id", "service_id", "submitted_at", "channel",
            "questionnaire_version_id", "questionnaire_id", "codes")  # codes: the packed answers (survey.store.compact)


class Rollup(Base):
    """The sums of one cell's counted responses (revision r15a). ``sums`` is NULL when the cell
    cannot be summed (an answer outside the scale: the page then scores the microdata, which
    says so)."""

    __tablename__ = "rollup"
    __table_args__ = (Index("ix_rollup_scope", "questionnaire_id", "service_id", "day"),)

    questionnaire_version_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_version.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    #: ``d``: the cell of one day; ``q``: the sum of a quarter's day cells (``day`` = its first day),
    #: what the pages read — a few rows per unit and service whatever the number of days.
    grain: Mapped[str] = mapped_column(String(1), primary_key=True, default="d")
    questionnaire_id: Mapped[str] = mapped_column(String(80))
    layout: Mapped[str] = mapped_column(String(64))
    n_responses: Mapped[int] = mapped_column(Integer)
    sums: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RollupState(Base):
    """Per questionnaire: the layout its rollups were built for, and whether they are current."""

    __tablename__ = "rollup_state"

    questionnaire_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    layout: Mapped[str] = mapped_column(String(64))
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    rebuilt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def cell_of(questionnaire_id: str, version_id: int, unit_id: int, service_id: int, moment: datetime) -> Cell:
    """The cell of a response stored with these values (the day of ``moment`` in Vietnam)."""
    return (questionnaire_id, int(version_id), int(unit_id), int(service_id), local(moment).date())


def touch(session: Session, cells: Iterable[Cell]) -> None:
    """Have the cells recomputed before ``session`` commits (for rows written through Core)."""
    session.info.setdefault(_DIRTY, set()).update(cells)


def touch_inserted(session: Session, rows: Iterable[tuple[Cell, uuid.UUID]],
                   facts: Mapping[uuid.UUID, NewFacts] | None = None) -> None:
    """Have the new responses (``(cell, response id)``, inserted through Core) added to their
    cells before ``session`` commits; ``facts``: what is known of them (see :class:`NewFacts`)."""
    inserted: dict[Cell, set[uuid.UUID]] = session.info.setdefault(_INSERTED, {})
    for cell, response_id in rows:
        inserted.setdefault(cell, set()).add(response_id)
    if facts:
        session.info.setdefault(_FACTS, {}).update(facts)


def _inserted_ids(session: Session) -> set[uuid.UUID]:
    return {rid for ids in session.info.get(_INSERTED, {}).values() for rid in ids}


def mark_all_stale(session: Session) -> None:
    """Every questionnaire's rollups stale until rebuilt (in ``session``'s transaction)."""
    session.info[_STALE] = True


def _cell(response: Response, old: bool = False) -> Cell | None:
    state = inspect(response)
    values: dict[str, Any] = {}
    for name in ("questionnaire_id", "questionnaire_version_id", "unit_id", "service_id", "submitted_at"):
        history = state.attrs[name].history
        if old and history.deleted:
            values[name] = history.deleted[0]
        else:
            values[name] = getattr(response, name)
    if any(v is None for v in values.values()):
        return None
    return cell_of(values["questionnaire_id"], values["questionnaire_version_id"], values["unit_id"],
                   values["service_id"], values["submitted_at"])


def _response_of(session: Session, answer: Answer) -> Response | None:
    with session.no_autoflush:
        response = answer.__dict__.get("response")
        if response is None and answer.response_id is not None:
            response = session.get(Response, answer.response_id)
        return response if isinstance(response, Response) else None


@event.listens_for(Session, "after_flush")
def _note_cells(session: Session, _context: Any) -> None:
    # after the flush: foreign keys are set, and new/dirty/deleted and attribute histories still
    # show what the flush wrote
    cells: set[Cell] = session.info.setdefault(_DIRTY, set())
    for obj in session.new:
        if isinstance(obj, Response) and (cell := _cell(obj)) is not None:
            touch_inserted(session, [(cell, obj.id)])
    new_ids = _inserted_ids(session)
    for obj in session.new:
        if isinstance(obj, Answer) and obj.response_id not in new_ids \
                and (response := _response_of(session, obj)) is not None:
            if (cell := _cell(response)) is not None:  # an answer added to a stored response
                cells.add(cell)
    for obj in session.new:
        if isinstance(obj, ReviewRule) and obj.auto_approve is False:  # no row: on
            session.info[_STALE] = True
    for obj in session.dirty:
        if isinstance(obj, Response):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _WATCHED):
                for old in (True, False):
                    if (cell := _cell(obj, old)) is not None:
                        cells.add(cell)
        elif isinstance(obj, Answer) and session.is_modified(obj):
            if (response := _response_of(session, obj)) is not None and (cell := _cell(response)) is not None:
                cells.add(cell)
        elif isinstance(obj, ReviewRule) and inspect(obj).attrs["auto_approve"].history.has_changes():
            session.info[_STALE] = True
    for obj in session.deleted:
        if isinstance(obj, Response) and (cell := _cell(obj, True)) is not None:
            cells.add(cell)
        elif isinstance(obj, Answer) and (response := _response_of(session, obj)) is not None:
            if (cell := _cell(response)) is not None:
                cells.add(cell)
        elif isinstance(obj, ReviewRule) and obj.auto_approve is False:
            session.info[_STALE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state: ORMExecuteState) -> None:
    """An ``UPDATE``/``DELETE`` of responses through the session (not the ORM's unit of work):
    the cells of the rows it matches, read before it runs; one that moves responses between cells
    (a new unit, service, moment, version) marks every rollup stale instead."""
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ is not Response:
        return
    statement: Any = state.statement
    if state.is_update and set(_CELL_COLUMNS) & {getattr(k, "key", str(k)) for k in getattr(statement, "_values", None) or {}}:
        state.session.info[_STALE] = True
        return
    query = select(*(getattr(Response, name) for name in _CELL_COLUMNS))
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    with state.session.no_autoflush:
        found = state.session.execute(query).all()
    touch(state.session, (cell_of(*row) for row in found))


@event.listens_for(Session, "before_commit")
def _recompute(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # the commit would flush them after this hook: note their cells now
    if not session.info.get(_DIRTY) and not session.info.get(_STALE) and not session.info.get(_INSERTED):
        return
    cells: set[Cell] = session.info.pop(_DIRTY, set())
    inserted: dict[Cell, set[uuid.UUID]] = session.info.pop(_INSERTED, {})
    facts: dict[uuid.UUID, NewFacts] = session.info.pop(_FACTS, {})
    if session.info.pop(_STALE, False):
        session.execute(update(RollupState).values(stale=True))
    if not cells and not inserted:
        return
    if not HANDLERS:
        session.execute(update(RollupState).where(RollupState.questionnaire_id.in_(
            {c[0] for c in cells | set(inserted)})).values(stale=True))
        return
    for handler in HANDLERS:
        handler(session, cells, inserted, facts)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_DIRTY, None)
    session.info.pop(_INSERTED, None)
    session.info.pop(_FACTS, None)
    session.info.pop(_STALE, None)


def advisory_key(cell: Cell) -> int:
    """A stable signed 64-bit key of a cell for ``pg_advisory_xact_lock``."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, "|".join(str(part) for part in cell)).int >> 64
    return digest - (1 << 64) if digest >= 1 << 63 else digest
