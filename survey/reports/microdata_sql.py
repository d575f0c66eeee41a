"""The microdata export's CSV rows computed by PostgreSQL: one ``SELECT`` whose columns are the
CSV's cells already written as :func:`exports.microdata.write` writes them, for
``COPY (…) TO STDOUT`` (:mod:`survey.reports.export_copy`) — so no Python touches a cell and the
export runs at the speed of the database.

Each cell as the in-request download writes it (pandas ``to_csv`` of the frame of
:mod:`survey.reports.microdata_frame`): text NFC-normalised (``normalize(…, NFC)``), empty text
as nothing; a number as Python's ``str(float)`` (``4.0``, ``0.25``: an integral value below 1e16
as ``bigint`` text and ``.0``, any other the shortest exact text, which PostgreSQL ≥ 12 and
Python write alike), with the decimal comma in ``csv-vi``; ``submitted_at`` in Vietnam time as
``datetime.isoformat`` (microseconds only when there are some, ``+07:00``); in the CSVs for Excel
identifiers as ``="…"`` and text that would start a formula with an apostrophe in front
(:mod:`exports.cells`). Answer labels (``values=labels``) are constants of the query: each
choice's text is looked up once, here, and written into a ``CASE``. Quoting (``"`` around a cell
with the delimiter, a quote or a line break, quotes doubled) is ``COPY``'s CSV, which is Python's
``csv.QUOTE_MINIMAL`` once empty text is nothing; the line ends (``\\r\\n``) are the writer's.

Limits, where PostgreSQL and Python write a value differently and the stored data of this product
never has such a value: a non-integral number between 1e15 and 1e16, NaN and infinities; a
numeric question's answer stored as text that only Python's ``float()`` reads (``1_000``,
``nan``); a multiple-choice answer holding ``true``, ``null`` or ``1e2`` instead of its choices'
codes.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
)
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.expression import Select

from exports.cells import FORMULA_STARTS, defuse
from questionnaires import Question

TEXT_FORMATS = ("csv", "csv-excel", "csv-vi")
"""The formats written this way."""

Cell = ColumnElement[str]


@dataclass(frozen=True)
class CsvQuery:
    """What the writer process (:mod:`survey.reports.export_copy`) needs: the query, its header
    line (with the byte-order mark, if any) and the delimiter."""

    sql: str
    header: bytes
    delimiter: str


@dataclass(frozen=True)
class CellStyle:
    """How a format writes a cell: the plain CSV, for Excel (identifiers as ``="…"``, formulas
    defused), for Excel in Vietnamese (the same, with the decimal comma)."""

    fmt: str

    @property
    def excel(self) -> bool:
        return self.fmt != "csv"

    @property
    def delimiter(self) -> str:
        return ";" if self.fmt == "csv-vi" else ","

    @property
    def encoding(self) -> str:
        """The CSVs for Excel start with a byte-order mark, so Excel reads UTF-8."""
        return "utf-8" if self.fmt == "csv" else "utf-8-sig"

    def header(self, names: list[str]) -> bytes:
        """The header line (and the byte-order mark) as ``csv.writer`` writes it."""
        line = io.StringIO()
        csv.writer(line, delimiter=self.delimiter, lineterminator="\r\n").writerow(names)
        return line.getvalue().encode(self.encoding)

    def number(self, value: ColumnElement[float]) -> Cell:
        """``str(float(value))`` (the decimal comma in ``csv-vi``); NULL stays NULL."""
        integral = and_(value == func.trunc(value), func.abs(value) < 1e16)
        text = case((integral, cast(cast(value, BigInteger), Text) + ".0"), else_=cast(value, Text))
        return func.replace(text, ".", ",") if self.fmt == "csv-vi" else text

    def text(self, value: Any) -> Cell:
        """Stored text: NFC, empty as nothing, formulas defused for Excel."""
        return self.defused(func.nullif(func.normalize(value, literal_column("NFC")), ""))

    def defused(self, value: ColumnElement[str]) -> Cell:
        """:func:`exports.cells.defuse` of NFC text, in SQL."""
        if not self.excel:
            return value
        starts = func.left(value, 1).in_(FORMULA_STARTS)
        return case((starts, "'" + value), else_=value)

    def code(self, value: ColumnElement[str]) -> Cell:
        """A code of the app's own (an enum's value, a UUID): ASCII, never empty."""
        return self.defused(value)

    def identifier(self, value: Any, *, ascii_only: bool = False) -> Cell:
        """A code: :func:`exports.cells.excel_text` for Excel."""
        if not ascii_only:
            value = func.nullif(func.normalize(value, literal_column("NFC")), "")
        if not self.excel:
            return value
        return '="' + func.replace(value, '"', '""') + '"'

    def constant(self, text: str) -> Cell:
        """A label of the query (a choice's text, "Yes"): written once, here."""
        text = unicodedata.normalize("NFC", text)
        return literal(defuse(text) if self.excel else text, Text)

    def moment(self, value: ColumnElement[object]) -> Cell:
        """A stored moment in Vietnam time (UTC+07:00, no daylight saving) as ``isoformat``
        (microseconds only when there are some): one ``to_char`` a cell."""
        here = func.timezone("UTC", value) + literal_column("interval '7 hours'")
        whole = func.date_trunc("second", here) == here
        return case((whole, func.to_char(here, 'YYYY-MM-DD"T"HH24:MI:SS"+07:00"')),
                    else_=func.to_char(here, 'YYYY-MM-DD"T"HH24:MI:SS.US"+07:00"'))


def _json_items(value: ColumnElement[str]) -> Any:
    return func.json_array_elements(cast(value, postgresql.JSON)).table_valued("value", with_ordinality="n")


def _joined(value: ColumnElement[str], item: Callable[[ColumnElement[object]], Cell], separator: str) -> Cell:
    """A multiple choice's stored JSON list, each item written by ``item``, joined by ``separator``."""
    items = _json_items(value).render_derived()
    ordered = postgresql.aggregate_order_by(literal(separator, Text), items.c.n)  # (…, separator ORDER BY n)
    return sql_select(func.string_agg(item(items.c.value), ordered)).scalar_subquery()


def _item_text(item: ColumnElement[object]) -> Cell:
    """``str(c)`` of a JSON item: the text of a string, the literal of a number."""
    return func.coalesce(item.op("#>>")(literal_column("'{}'")), cast(item, Text))


def answer_cell(question: Question, number: ColumnElement[float], text: ColumnElement[str], style: CellStyle,
                language: str, labels: bool, numeric: bool) -> Cell:
    """One answer's cell, as :func:`survey.reports.microdata_stream.converter` gives it to the
    writer: ``number``/``text`` are the stored ``value_num``/``value_text`` (NULL when unanswered)."""
    if not labels:
        if numeric:  # pd.to_numeric(errors="coerce") of the code, or of a code stored as text
            readable = text.op("~")(r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$")
            return case((number.is_not(None), style.number(number)),
                        (readable, style.number(cast(func.trim(text), Float))), else_=null())
        if question.type == "multiple":
            listed = style.defused(func.nullif(func.normalize(_joined(text, _item_text, " "),
                                                              literal_column("NFC")), ""))
            return case((number.is_not(None), style.number(number)), (text != "", listed), else_=style.text(text))
        return case((number.is_not(None), style.number(number)), else_=style.text(text))
    by_number = {float(c.value): c.label.get(language) for c in question.choices
                 if isinstance(c.value, int | float)}
    by_text = {c.value: c.label.get(language) for c in question.choices if isinstance(c.value, str)}
    branches: list[tuple[ColumnElement[bool], Cell]] = []
    if question.type == "yesno":
        branches.append((number.is_not(None), case((number == 1, style.constant(_("Yes"))),
                                                   else_=style.constant(_("No")))))
    if question.type == "multiple":
        branches.append((text != "", style.defused(func.nullif(func.normalize(
            _joined(text, lambda item: _item_label(item, by_number, by_text), "; "), literal_column("NFC")), ""))))
    coded = [(number == code, style.constant(label)) for code, label in by_number.items()]
    branches.append((number.is_not(None), case(*coded, else_=style.number(number)) if coded else style.number(number)))
    named = [(text == code, style.constant(label)) for code, label in by_text.items()]
    branches.append((text.is_not(None), case(*named, else_=style.text(text)) if named else style.text(text)))
    return case(*branches, else_=null())


def _item_label(item: ColumnElement[object], by_number: dict[float, str], by_text: dict[str, str]) -> Cell:
    """``str(choices.get(c, c))`` of a JSON item: its choice's text, or the item itself."""
    kind = func.json_typeof(item)
    branches: list[tuple[ColumnElement[bool], Cell]] = []
    if by_number:
        value = cast(cast(item, Text), Float)
        branches += [(and_(kind == "number", value == code), literal(label, Text)) for code, label in by_number.items()]
    if by_text:
        text = item.op("#>>")(literal_column("'{}'"))
        branches += [(and_(kind == "string", text == code), literal(label, Text)) for code, label in by_text.items()]
    return case(*branches, else_=_item_text(item)) if branches else _item_text(item)


def compile_literal(statement: Select[object]) -> str:
    """``statement`` as PostgreSQL text with its values written in (for ``COPY (…) TO STDOUT``,
    which takes no parameters)."""
    dialect = postgresql.dialect(paramstyle="named")  # no "%" doubled: the text is sent as it is
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


__all__ = ["TEXT_FORMATS", "CellStyle", "CsvQuery", "answer_cell", "compile_literal"]
