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
:func:`copy_statement` is the same query with every cell written by the database, for
``COPY (…) TO STDOUT`` on PostgreSQL (:mod:`survey.reports.microdata_sql`). Both read the answers
through :func:`answer_columns`, the one place that knows how answers are stored.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    Text,
    case,
    cast,
    false,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from exports.microdata import Variable
from questionnaires import Question, Questionnaire
from survey.periods import VIETNAM, Period, is_quarter, local
from survey.reports.frames import _stored_filter
from survey.reports.microdata_frame import (
    DESIGN_COLUMNS,
    _numeric,
    exported_questions,
    microdata_title,
    microdata_variables,
)
from survey.reports.microdata_sql import CellStyle, CsvQuery, answer_cell, compile_literal
from survey.reports.sipas_tables import subtree_ids
from survey.store import compact
from survey.store.models import Answer, QuestionnaireVersion, Response, Service, Unit

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
    """The stored moments of quarter ``period``: from its first day's midnight in Vietnam to the
    next quarter's (Vietnam time has no daylight saving, so the range is exactly
    :func:`survey.periods.quarter` ``== period``), naive UTC on SQLite as it stores them."""
    p = Period.parse(period)
    start = datetime(p.start.year, p.start.month, p.start.day, tzinfo=VIETNAM).astimezone(UTC)
    end = (datetime(p.end.year, p.end.month, p.end.day, tzinfo=VIETNAM) + timedelta(days=1)).astimezone(UTC)
    if session.get_bind().dialect.name == "sqlite":
        return start.replace(tzinfo=None), end.replace(tzinfo=None)
    return start, end


@dataclass(frozen=True)
class _Selection:
    questions: list[Question]
    filters: list[ColumnElement[bool]]
    #: the slots of each version of the questionnaire (survey.store.compact), and the SQL dialect
    versions: dict[int, tuple[str, ...]]
    dialect: str


def _selection(session: Session, questionnaire: Questionnaire, unit: Unit, service: Service | None,
               period: str | None) -> _Selection:
    """The exported questions and the responses' conditions: THE gate, the unit with everything
    below it, the service, the quarter."""
    unit_ids = subtree_ids(session, unit)
    service_ids = [service.id] if service is not None else None
    filters = _stored_filter(session, questionnaire.id, unit_ids, service_ids)
    if period is not None:
        if not is_quarter(period) or Period.parse(period).code != period:
            filters.append(false())  # no stored moment is in anything but a quarter written as quarter() writes it
        else:
            start, end = _period_range(session, period)
            filters += [Response.submitted_at >= start, Response.submitted_at < end]
    return _Selection(exported_questions(questionnaire.id), filters, compact.version_slots(session, questionnaire.id),
                      session.get_bind().dialect.name)


Pivot = Callable[[Select[Any]], Select[Any]]


def answer_columns(question_ids: list[str], versions: dict[int, tuple[str, ...]] | None = None,
                   dialect: str = "postgresql") -> tuple[Pivot, list[tuple[Any, Any]]]:
    """THE source of the exported answers, the one place that knows how answers are stored: how
    to add them to a statement of the chosen responses' own columns, and each question's stored
    (``value_num``, ``value_text``) there, in ``question_ids``' order.

    The rows of ``answer`` (text answers, and the numbers of a response whose numbers did not fit
    one byte) are outer-joined to the chosen responses and grouped by response alone (a pivot of
    ``MAX(CASE WHEN question_id = …)``), so a commune's export reads only its own; a number packed
    in ``response.codes`` (``versions``: the slots of each version, survey.store.compact) is read in
    place, with no pivot — the same values as the view ``answer_value``, without its join of every
    response with its slots. The unit's and service's columns are joined afterwards (grouping by
    them too made PostgreSQL sort the joined rows)."""
    pairs = [(compact.pivoted_number(qid, versions or {}, dialect),
              func.max(case((Answer.question_id == qid, Answer.value_text)))) for qid in question_ids]

    def joined(statement: Select[Any]) -> Select[Any]:
        # Response.id is the key: the response's other columns depend on it
        return (statement.outerjoin(Answer, (Answer.response_id == Response.id) & Answer.question_id.in_(question_ids))
                .group_by(Response.id))

    return joined, pairs


def _chosen(selection: _Selection) -> Subquery:
    """The chosen responses, one row each with their answers (``n0``/``t0``, ``n1``/``t1``…)."""
    joined, pairs = answer_columns([q.id for q in selection.questions], selection.versions, selection.dialect)
    answers = [column.label(f"{kind}{n}") for n, pair in enumerate(pairs) for kind, column in zip("nt", pair, strict=True)]
    return joined(
        select(Response.id, Response.questionnaire_version_id, Response.unit_id, Response.service_id,
               type_coerce(Response.channel, String()).label("channel"), Response.submitted_at,
               type_coerce(Response.review_status, String()).label("review_status"), Response.flag, Response.weight,
               *answers)
        .where(*selection.filters)
    ).subquery("chosen")


def _design(chosen: Subquery, language: str) -> list[Any]:
    c = chosen.c
    return [c.id, QuestionnaireVersion.version, Unit.code, Unit.name, Service.code,
            Service.name_en if language == "en" else Service.name_vi, c.channel, c.submitted_at, c.review_status,
            c.flag, c.weight]


def _answers(chosen: Subquery, selection: _Selection) -> list[tuple[Any, Any]]:
    return [(chosen.c[f"n{n}"], chosen.c[f"t{n}"]) for n in range(len(selection.questions))]


def _rows_statement(chosen: Subquery, columns: list[Any], version: Any = QuestionnaireVersion.__table__,
                    unit: Any = Unit.__table__, service: Any = Service.__table__) -> Select[Any]:
    """``columns`` of the chosen responses with their ``version``, ``unit`` and ``service`` (the
    tables, or relations of their written cells keyed by ``id``), in the export's order
    (submitted, then id)."""
    return (
        select(*columns).select_from(chosen)
        .join(version, version.c.id == chosen.c.questionnaire_version_id)
        .join(unit, unit.c.id == chosen.c.unit_id).join(service, service.c.id == chosen.c.service_id)
        .order_by(chosen.c.submitted_at, chosen.c.id)
    )


def stream_microdata(
    session: Session, questionnaire: Questionnaire, unit: Unit, *, service: Service | None, period: str | None,
    language: str, labels: bool, chunk: int | None = None,
) -> MicrodataStream:
    """The rows :func:`~survey.reports.microdata_frame.microdata` would put in its frame, streamed
    ``chunk`` responses at a time (default :data:`CHUNK`)."""
    chunk = chunk or CHUNK
    selection = _selection(session, questionnaire, unit, service, period)
    questions = selection.questions
    variables = microdata_variables(questions, language, labels)
    title = microdata_title(questionnaire, unit, service, period, language)
    converters = [converter(q, language, labels) for q in questions]

    def count() -> int:
        return int(session.scalar(select(func.count()).select_from(Response).where(*selection.filters)) or 0)

    def rows() -> Iterator[tuple[object, ...]]:
        units: dict[str, str] = {}
        texts: dict[str, str] = {}
        chosen = _chosen(selection)
        stmt = _rows_statement(chosen, [*_design(chosen, language),
                                        *(c for pair in _answers(chosen, selection) for c in pair)])
        converts = [(2 * n, convert) for n, convert in enumerate(converters)]
        result = session.connection().execution_options(stream_results=True, yield_per=chunk).execute(stmt)
        for part in result.partitions(chunk):
            for row in part:
                rid, version, unit_code, unit_name, service_code, service_name, channel, submitted, status, flag, \
                    weight = row[:11]
                name = units.get(unit_code)
                if name is None:
                    name = units[unit_code] = _nfc(unit_name)
                version = texts.get(version) or texts.setdefault(version, _nfc(version))
                service_name = texts.get(service_name) or texts.setdefault(service_name, _nfc(service_name))
                if flag:
                    flag = texts.get(flag) or texts.setdefault(flag, _nfc(flag))
                got = row[11:]
                yield (str(rid), version, unit_code, name, service_code, service_name,
                       channel, local(submitted), status, flag or "", float(weight),
                       *[convert(got[i], got[i + 1]) for i, convert in converts])
        result.close()

    return MicrodataStream(title=title, variables=variables, count=count, rows=rows)


def copy_statement(
    session: Session, questionnaire: Questionnaire, unit: Unit, *, service: Service | None, period: str | None,
    language: str, labels: bool, fmt: str,
) -> CsvQuery:
    """The PostgreSQL query whose rows are the lines of the CSV ``fmt`` (one of
    :data:`~survey.reports.microdata_sql.TEXT_FORMATS`) of the same export as
    :func:`stream_microdata`'s, each cell written by the query (:mod:`survey.reports.microdata_sql`),
    values written in, for ``COPY (…) TO STDOUT``."""
    selection = _selection(session, questionnaire, unit, service, period)
    style = CellStyle(fmt)
    chosen = _chosen(selection)
    c = chosen.c
    # the cells of versions, units and services written once each (a few hundred rows), not per response
    versions = select(QuestionnaireVersion.id, style.identifier(QuestionnaireVersion.version).label("version")) \
        .subquery("versions")
    units = select(Unit.id, style.identifier(Unit.code).label("code"), style.text(Unit.name).label("name")) \
        .subquery("units")
    services = select(Service.id, style.identifier(Service.code).label("code"),
                      style.text(Service.name_en if language == "en" else Service.name_vi).label("name")) \
        .subquery("services")
    cells = [style.identifier(cast(c.id, Text), ascii_only=True), versions.c.version, units.c.code, units.c.name,
             services.c.code, services.c.name, style.code(c.channel), style.moment(c.submitted_at),
             style.code(c.review_status), style.text(c.flag), style.number(c.weight),
             *(answer_cell(q, number, text, style, language, labels, _numeric(q) and not labels)
               for q, (number, text) in zip(selection.questions, _answers(chosen, selection), strict=True))]
    statement = _rows_statement(chosen, [cell.label(f"c{n}") for n, cell in enumerate(cells)], versions, units,
                                services)
    names = [v.name for v in microdata_variables(selection.questions, language, labels)]
    return CsvQuery(compile_literal(statement), style.header(names), style.delimiter)


__all__ = ["CHUNK", "DESIGN_COLUMNS", "MicrodataStream", "answer_columns", "converter", "copy_statement",
           "stream_microdata"]
