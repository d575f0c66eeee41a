"""Microdata written as it is read, in constant memory: rows in, a file out.

The streamed counterpart of :func:`exports.microdata.write` for the formats that can be written a
row at a time (the export job's writer for XLSX, and for the CSVs on SQLite: on PostgreSQL the
database writes the CSV's cells itself, ``survey.reports.microdata_sql``) — the three CSVs (``csv``, ``csv-excel``, ``csv-vi``) and XLSX (openpyxl's
write-only workbook, whose rows go to a temporary file until the workbook is saved) — with the
same bytes for CSV and the same cells for XLSX: the same header, identifiers kept as text and
formula-like text defused in the CSVs for Excel, ``;`` and the decimal comma in ``csv-vi``, times
as ISO 8601 with their offset, text never a live formula in XLSX and the ``variables`` sheet.

SPSS ``.sav`` and Stata ``.dta`` are not here: pyreadstat writes a whole DataFrame at once (it
has no append), so those two are still built in memory (:func:`exports.microdata.write`).

A row is a tuple in the order of the variables, of ``str``, ``float``, ``datetime`` (aware) or
``None``, NFC-normalised text (:mod:`survey.reports.microdata_stream` makes them).

>>> import io
>>> from exports.microdata import Variable
>>> out = io.BytesIO()
>>> write_rows("csv-vi", (Variable("unit_name", "Unit"), Variable("weight", "W")),
...            iter([("=x", 1.5), ("Cà Mau", None)]), out)
2
>>> out.getvalue().decode("utf-8-sig").splitlines()
['unit_name;weight', "'=x;1,5", 'Cà Mau;']
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import BinaryIO

from exports.cells import defuse, excel_text
from exports.microdata import Variable

STREAMED = ("csv-excel", "csv", "csv-vi", "xlsx")
"""The formats :func:`write_rows` writes."""

Progress = Callable[[int], None]


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _excel(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return defuse(value)


def _excel_vi(value: object) -> object:
    if isinstance(value, float):
        return str(value).replace(".", ",")
    return _excel(value)


def _cells(fmt: str, variables: tuple[Variable, ...]) -> list[Callable[[object], object]]:
    """A function a column, writing one value of it as the format wants."""
    if fmt == "csv":
        return [_plain] * len(variables)
    other = _excel_vi if fmt == "csv-vi" else _excel
    return [excel_text if v.identifier else other for v in variables]


def write_rows(fmt: str, variables: tuple[Variable, ...], rows: Iterable[tuple[object, ...]], out: BinaryIO, *,
               progress: Progress | None = None, every: int = 10_000) -> int:
    """Write ``rows`` to ``out`` as ``fmt`` (one of :data:`STREAMED`); ``progress(n)`` is told the
    rows written every ``every`` rows. Returns the number of rows."""
    if fmt == "xlsx":
        return _xlsx(variables, rows, out, progress, every)
    if fmt not in STREAMED:
        raise ValueError(f"{fmt!r} cannot be streamed; streamed: {', '.join(STREAMED)}")
    text = io.TextIOWrapper(out, encoding="utf-8" if fmt == "csv" else "utf-8-sig", newline="",
                            write_through=False)
    writer = csv.writer(text, delimiter=";" if fmt == "csv-vi" else ",", lineterminator="\r\n")
    writer.writerow([v.name for v in variables])
    cells = _cells(fmt, variables)
    n = 0
    plain = fmt == "csv"
    when = next((i for i, v in enumerate(variables) if v.name == "submitted_at"), None)
    for row in rows:
        if plain:  # the fast path: csv writes str(float), '' for None; only the time needs a hand
            moment = row[when] if when is not None else None
            if isinstance(moment, datetime) and when is not None:
                row = (*row[:when], moment.isoformat(), *row[when + 1:])
            writer.writerow(row)
        else:
            writer.writerow([cell(value) for cell, value in zip(cells, row, strict=True)])
        n += 1
        if progress is not None and n % every == 0:
            progress(n)
    text.flush()
    text.detach()
    return n


def _xlsx(variables: tuple[Variable, ...], rows: Iterable[tuple[object, ...]], out: BinaryIO,
          progress: Progress | None, every: int) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from exports.microdata import _code

    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for v in variables:
        cell = WriteOnlyCell(sheet, v.name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    n = 0
    for row in rows:
        values: list[object] = []
        for value in row:
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, float) and value != value:
                value = None
            elif isinstance(value, str) and value.startswith("="):  # text, never a live formula
                cell = WriteOnlyCell(sheet, value)
                cell.data_type = "s"
                value = cell
            values.append(value)
        sheet.append(values)
        n += 1
        if progress is not None and n % every == 0:
            progress(n)
    described = book.create_sheet("variables")
    described.append(["variable", "label", "values", "missing"])
    for v in variables:
        labels = "; ".join(f"{_code(c)} = {t}" for c, t in (v.value_labels or {}).items())
        if v.categories:
            labels = "; ".join(f"{c} = {t}" for c, t in v.categories.items())
        missing = ", ".join(str(_code(c)) for c in v.missing)
        described.append([v.name, unicodedata.normalize("NFC", v.label), unicodedata.normalize("NFC", labels),
                          missing or None])
    book.save(out)
    return n


__all__ = ["STREAMED", "write_rows"]
