"""The analysts' microdata as a stream of rows: what :func:`survey.reports.microdata_frame.microdata`
returns as a whole DataFrame, read in chunks so an export of a million responses runs in constant
memory (the export job, :mod:`survey.reports.export_runner`).

The same responses (THE gate, :func:`survey.reports.frames.approved_filter`; the unit with
everything below it, the service, the quarter), in the same order (submitted, then id), the same
columns and variables (:func:`~survey.reports.microdata_frame.microdata_variables`), the same
values and the same exclusions (no dossier code, personal question or free text): the responses
are read in one query that pivots their answers in the database (``MAX(CASE WHEN question_id =
…)``, grouped by response), through a server-side cursor (PostgreSQL; SQLite's cursor reads
lazily anyway), ``CHUNK`` rows at a time: the sorting and grouping are the database's, in its
own ``work_mem`` and temporary files, never the app's memory.

A row holds Python values ready for a writer (:mod:`exports.streaming`): text NFC-normalised,
numbers as ``float``, ``submitted_at`` an aware datetime in Vietnam time, ``None`` for nothing.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import String, case, func, select, type_coerce
from sqlalchemy.orm import Session

from exports.microdata import Variable
from questionnaires import Question, Questionnaire
from survey.periods import Period, local, quarter
from survey.reports.frames import _stored_filter
from survey.reports.microdata_frame import (
    DESIGN_COLUMNS,
    _numeric,
    exported_questions,
    microdata_title,
    microdata_variables,
)
from survey.reports.sipas_tables import subtree_ids
from survey.store.models import AnswerValue as Answer
from survey.store.models import QuestionnaireVersion, Response, Service, Unit

CHUNK = 2000
"""Responses fetched from the cursor at a time."""

Converter = Callable[[float | None, str | None], object]


@dataclass(frozen=True)
class MicrodataStream:
    """The export's title and variables, the number of its rows, and its rows (read on demand)."""

    title: str
    variables: tuple[Variable, ...]
    count: Callable[[], int]
    rows: Callable[[], Iterator[tuple[object, ...]]]


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _number(value: object) -> float | None:
    """``pd.to_numeric(errors="coerce")`` of one value: a number, or None."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def converter(question: Question, language: str, labels: bool) -> Converter:
    """One stored answer (``value_num``, ``value_text``) as exported — what
    :func:`survey.reports.microdata_frame._value` returns, then coerced to a number for a
    numeric question written as codes — with the question's choices looked up once."""
    choices: dict[object, str] = {c.value: _nfc(c.label.get(language)) for c in question.choices}
    yes, no = _nfc(_("Yes")), _nfc(_("No"))
    kind = question.type
    numeric = _numeric(question) and not labels

    def value(number: float | None, text: str | None) -> object:
        if number is not None and not labels:
            return number
        if kind == "yesno" and number is not None:
            return yes if number == 1 else no
        if kind == "multiple" and text:
            codes = json.loads(text)
            return _nfc(" ".join(str(c) for c in codes) if not labels else "; ".join(str(choices.get(c, c))
                                                                                       for c in codes))
        if number is not None:
            code = int(number) if float(number).is_integer() else number
            return choices.get(code, number)
        if text is None:
            return None
        return choices.get(text, _nfc(text)) if labels else _nfc(text)

    if numeric:
        return lambda number, text: number if number is not None else _number(value(None, text))
    return value


def _period_range(session: Session, period: str) -> tuple[datetime, datetime]:
    """A range of stored moments that holds the quarter (a day wider on each side: the exact
    test is :func:`survey.periods.quarter` on each row), naive UTC on SQLite as it stores them."""
    p = Period.parse(period)
    start = datetime(p.start.year, p.start.month, p.start.day, tzinfo=UTC) - timedelta(days=1)
    end = datetime(p.end.year, p.end.month, p.end.day, tzinfo=UTC) + timedelta(days=2)
    if session.get_bind().dialect.name == "sqlite":
        return start.replace(tzinfo=None), end.replace(tzinfo=None)
    return start, end


def stream_microdata(
    session: Session, questionnaire: Questionnaire, unit: Unit, *, service: Service | None, period: str | None,
    language: str, labels: bool, chunk: int | None = None,
) -> MicrodataStream:
    """The rows :func:`~survey.reports.microdata_frame.microdata` would put in its frame, streamed
    ``chunk`` responses at a time (default :data:`CHUNK`)."""
    chunk = chunk or CHUNK
    questions = exported_questions(questionnaire.id)
    variables = microdata_variables(questions, language, labels)
    title = microdata_title(questionnaire, unit, service, period, language)
    unit_ids = subtree_ids(session, unit)
    service_ids = [service.id] if service is not None else None
    filters = _stored_filter(session, questionnaire.id, unit_ids, service_ids)
    if period is not None:
        start, end = _period_range(session, period)
        filters += [Response.submitted_at >= start, Response.submitted_at < end]
    question_ids = [q.id for q in questions]
    converters = [converter(q, language, labels) for q in questions]

    def count() -> int:
        if period is None:
            return int(session.scalar(select(func.count()).select_from(Response).where(*filters)) or 0)
        return sum(1 for t in session.scalars(select(Response.submitted_at).where(*filters)) if quarter(t) == period)

    def rows() -> Iterator[tuple[object, ...]]:
        services = {code: _nfc(name) for code, name in session.execute(
            select(Service.code, Service.name_en if language == "en" else Service.name_vi))}
        units: dict[str, str] = {}
        texts: dict[str, str] = {}
        pivot = [c for qid in question_ids for c in (func.max(case((Answer.question_id == qid, Answer.value_num))),
                                                     func.max(case((Answer.question_id == qid, Answer.value_text))))]
        stmt = (
            select(Response.id, QuestionnaireVersion.version, Unit.code, Unit.name, Service.code,
                   type_coerce(Response.channel, String()), Response.submitted_at,
                   type_coerce(Response.review_status, String()), Response.flag, Response.weight, *pivot)
            .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.questionnaire_version_id)
            .join(Unit, Unit.id == Response.unit_id).join(Service, Service.id == Response.service_id)
            .outerjoin(Answer, (Answer.response_id == Response.id) & Answer.question_id.in_(question_ids))
            .where(*filters)
            # Response.id is the key: its other columns depend on it (PostgreSQL accepts them ungrouped)
            .group_by(Response.id, QuestionnaireVersion.version, Unit.code, Unit.name, Service.code)
            .order_by(Response.submitted_at, Response.id)
        )
        pairs = [(2 * n, convert) for n, convert in enumerate(converters)]
        result = session.connection().execution_options(stream_results=True, yield_per=chunk).execute(stmt)
        for part in result.partitions(chunk):
            for row in part:
                rid, version, unit_code, unit_name, service_code, channel, submitted, status, flag, weight = row[:10]
                if period is not None and quarter(submitted) != period:
                    continue
                name = units.get(unit_code)
                if name is None:
                    name = units[unit_code] = _nfc(unit_name)
                version = texts.get(version) or texts.setdefault(version, _nfc(version))
                if flag:
                    flag = texts.get(flag) or texts.setdefault(flag, _nfc(flag))
                got = row[10:]
                yield (str(rid), version, unit_code, name, service_code, services.get(service_code),
                       channel, local(submitted), status, flag or "", float(weight),
                       *[convert(got[i], got[i + 1]) for i, convert in pairs])
        result.close()

    return MicrodataStream(title=title, variables=variables, count=count, rows=rows)


__all__ = ["CHUNK", "DESIGN_COLUMNS", "MicrodataStream", "converter", "stream_microdata"]
