"""Packed answers (issue 15 point 2): a response's numeric answers as one byte per slot.

A kiosk rating is a handful of answers on 1–5 scales. As rows of ``answer`` each one costs a
heap tuple and a primary-key entry (≈ 80 B on PostgreSQL); packed, it costs one byte of
``Response.codes``: byte *i* is the answer to slot *i* of the response's questionnaire version
(table ``answer_slot``: the version's questions with numeric answers, in definition order),
:data:`NO_ANSWER` (255) when it was not answered. A response whose numeric answers do not all fit
0..254 as whole numbers keeps them as rows, as do text answers always; both forms are read as rows
through the view ``answer_value`` (``AnswerValue``, revision c15c).

Writers: :func:`slots` and :func:`pack` (storing), :func:`set_number` (corrections).
Readers in SQL: :func:`packed_value` (the byte of one question, for pivots).
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Engine, Float, case, cast, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from questionnaires.types import TYPES
from survey.store.models import Answer, AnswerSlot, AnswerValue, QuestionnaireVersion, Response

NO_ANSWER = 255
"""The byte of a slot left unanswered."""

_NUMERIC_ANSWERS = frozenset({"number", "bool"})  # stored in ``value_num`` (see answer_values)
_HEX_DIGITS = "0123456789ABCDEF"


def slot_questions(definition: Mapping[str, Any]) -> tuple[str, ...]:
    """The slots of a stored definition: its questions with numeric answers, in definition order."""
    return tuple(q["id"] for q in definition.get("questions", ())
                 if q.get("type") in TYPES and TYPES[q["type"]].answer in _NUMERIC_ANSWERS)


# Slots never change once written, so they are cached per engine (another database, or the next
# test, starts empty) — but only once the transaction that wrote them has committed: slots written
# by a transaction that is rolled back are gone, and a cache that remembered them would pack
# answers no slot decodes.
_SLOTS: weakref.WeakKeyDictionary[Engine, dict[int, tuple[str, ...]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_WRITTEN = "hailong.answer_slots_written"


def slots(session: Session, version_id: int) -> tuple[str, ...]:
    """The question ids of version ``version_id``'s slots, by position (written on first use for a
    version published before revision c15c wrote them at publication)."""
    engine = session.get_bind()
    cached = _SLOTS.get(engine, {}).get(version_id) if isinstance(engine, Engine) else None
    if cached is not None:
        return cached
    written: dict[int, tuple[str, ...]] = session.info.get(_WRITTEN, {})
    if version_id in written:
        return written[version_id]
    found = tuple(session.scalars(select(AnswerSlot.question_id).where(
        AnswerSlot.questionnaire_version_id == version_id).order_by(AnswerSlot.position)))
    if not found:
        definition = session.scalar(select(QuestionnaireVersion.definition).where(
            QuestionnaireVersion.id == version_id))
        found = write_slots(session, version_id, definition or {})
        if found:
            return found
    if isinstance(engine, Engine):
        with _LOCK:
            _SLOTS.setdefault(engine, {})[version_id] = found
    return found


def write_slots(session: Session, version_id: int, definition: Mapping[str, Any]) -> tuple[str, ...]:
    """Write the slots of a version (at publication): an INSERT that does nothing if a concurrent
    transaction wrote them — the same ones, as they follow from the definition."""
    found = slot_questions(definition)
    if found:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(AnswerSlot).on_conflict_do_nothing(), [
            {"questionnaire_version_id": version_id, "position": n, "question_id": q} for n, q in enumerate(found)])
        session.info.setdefault(_WRITTEN, {})[version_id] = found
    return found


@event.listens_for(Session, "after_commit")
def _remember_written(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    engine = session.get_bind() if written else None
    if isinstance(engine, Engine):
        with _LOCK:
            _SLOTS.setdefault(engine, {}).update(written or {})


@event.listens_for(Session, "after_rollback")
def _forget_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def fits(value: float | None) -> bool:
    """Whether a numeric answer can be packed: a whole number 0..254."""
    return value is not None and float(value).is_integer() and 0 <= value < NO_ANSWER


def pack(slot_ids: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> tuple[bytes | None, list[Mapping[str, Any]]]:
    """Split a response's answer rows (``{question_id, value_num, value_text}``) into its packed
    ``codes`` and the rows still to store: text answers, numbers of questions without a slot.

    A response with a number that does not fit (:func:`fits`) is not packed at all: ``(None, rows)``,
    so that its answers stay in one form and a correction never has to move them.

    >>> pack(("a", "b", "c"), [{"question_id": "a", "value_num": 4.0, "value_text": None},
    ...                        {"question_id": "z", "value_num": None, "value_text": "ok"}])
    (b'\\x04\\xff\\xff', [{'question_id': 'z', 'value_num': None, 'value_text': 'ok'}])
    """
    rows = list(rows)
    position = {q: n for n, q in enumerate(slot_ids)}
    codes = bytearray([NO_ANSWER]) * len(slot_ids)
    kept: list[Mapping[str, Any]] = []
    for row in rows:
        n = position.get(row["question_id"])
        if n is None or row["value_num"] is None or row.get("value_text") is not None:
            kept.append(row)
        elif fits(row["value_num"]):
            codes[n] = int(row["value_num"])
        else:
            return None, rows
    return (bytes(codes), kept) if len(kept) < len(rows) else (None, rows)


def numbers(session: Session, response_id: uuid.UUID) -> dict[str, float]:
    """The numeric answers of one stored response, in whichever form they are stored."""
    return {q: float(v) for q, v in session.execute(select(AnswerValue.question_id, AnswerValue.value_num).where(
        AnswerValue.response_id == response_id, AnswerValue.value_num.is_not(None))) if v is not None}


def set_number(session: Session, response: Response, question_id: str, value: float) -> None:
    """Change (or add) the numeric answer to ``question_id`` of a stored response.

    A packed response keeps its byte form while the value fits; a value that does not (300, 2.5)
    first turns all its packed answers back into rows (:func:`unpack`)."""
    if response.codes is not None:
        ids = slots(session, response.questionnaire_version_id)
        if question_id in ids and fits(value):
            codes = bytearray(response.codes)
            codes[ids.index(question_id)] = int(value)
            response.codes = bytes(codes)
            return
        unpack(session, response)
    answer = session.get(Answer, (response.id, question_id))
    if answer is None:
        session.add(Answer(response_id=response.id, question_id=question_id, value_num=value))
    else:
        answer.value_num = value


def unpack(session: Session, response: Response) -> None:
    """Turn a packed response's answers into rows of ``answer`` (flushed) and clear its codes."""
    if response.codes is None:
        return
    ids = slots(session, response.questionnaire_version_id)
    for question_id, byte in zip(ids, response.codes, strict=False):
        if byte != NO_ANSWER:
            session.add(Answer(response_id=response.id, question_id=question_id, value_num=float(byte)))
    response.codes = None
    session.flush()


def byte_at(codes: Any, position: int, dialect: str) -> ColumnElement[int]:
    """SQL: byte ``position`` (from 0) of the blob ``codes``, NULL when ``codes`` is. SQLite has no
    ``get_byte``: the byte is read as two hexadecimal digits (``hex(substr(…))``, ``''`` for NULL)
    and each digit found in ``0…F``."""
    if dialect == "postgresql":
        return func.get_byte(codes, position)
    hexed = func.nullif(func.hex(func.substr(codes, position + 1, 1)), "")
    return ((func.instr(_HEX_DIGITS, func.substr(hexed, 1, 1)) - 1) * 16
            + func.instr(_HEX_DIGITS, func.substr(hexed, 2, 1)) - 1)


def version_slots(session: Session, questionnaire_id: str) -> dict[int, tuple[str, ...]]:
    """The slots of every version of ``questionnaire_id`` that has any (one small query)."""
    out: dict[int, list[str]] = {}
    for version_id, question_id in session.execute(
            select(AnswerSlot.questionnaire_version_id, AnswerSlot.question_id)
            .join(QuestionnaireVersion, QuestionnaireVersion.id == AnswerSlot.questionnaire_version_id)
            .where(QuestionnaireVersion.questionnaire_id == questionnaire_id)
            .order_by(AnswerSlot.questionnaire_version_id, AnswerSlot.position)):
        out.setdefault(version_id, []).append(question_id)
    return {v: tuple(ids) for v, ids in out.items()}


def packed_value(question_id: str, versions: Mapping[int, Sequence[str]], dialect: str) -> ColumnElement[Any] | None:
    """SQL over ``response``: the packed answer to ``question_id`` (NULL when unanswered or not
    packed), the slot's position chosen by the response's version; None when no version has a slot
    for it. Reading the byte in place spares a pivot the view's join with ``answer_slot``."""
    whens = [(Response.questionnaire_version_id == version_id, byte_at(Response.codes, ids.index(question_id), dialect))
             for version_id, ids in sorted(versions.items()) if question_id in ids]
    if not whens:
        return None
    return func.nullif(case(*whens), NO_ANSWER)


def pivoted_number(question_id: str, versions: Mapping[int, Sequence[str]], dialect: str) -> ColumnElement[float]:
    """SQL, in a query of responses grouped by response and outer-joined to their ``answer`` rows:
    the numeric answer to ``question_id`` — its row's value, else its byte packed in
    ``response.codes`` read in place (as a float, as a row's value is): the same values as pivoting
    the view ``answer_value``, without the view's join of every response with its slots."""
    from_rows = func.max(case((Answer.question_id == question_id, Answer.value_num)))
    packed = packed_value(question_id, versions, dialect)
    return from_rows if packed is None else func.coalesce(from_rows, cast(func.max(packed), Float))
