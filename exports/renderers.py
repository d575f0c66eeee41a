"""Renderers from :class:`~exports.tables.ResultTable` to bytes, keyed by format.

- ``csv``: RFC 4180 CSV in UTF-8, no BOM (for programs);
- ``csv-excel``: the same with a UTF-8 byte-order mark, so Excel shows Vietnamese correctly;
- ``csv-vi``: CSV for a spreadsheet set to Vietnamese (where ``,`` is the decimal mark and ``;``
  the list separator): ``;`` between cells, decimal comma, the byte-order mark, identifiers and
  formula-like text as in ``csv-excel``; the first header row has the stable machine column
  names (the columns' keys), the second the labels;
- ``xlsx``: an Excel workbook (openpyxl): the title on the first row, bold headers, numbers as
  numbers shown to the column's decimals (full precision kept in the cell), yes/no flags as
  ``TRUE``/``FALSE``, the header row frozen.

All text is NFC-normalised. Numbers keep full precision unless the column sets ``decimals``.
These are the table renderers; :mod:`exports.downloads` is the registry every download goes
through (tables, microdata, later charts and releases).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from exports.cells import defuse, excel_text
from exports.tables import ResultTable


class UnknownFormat(ValueError):
    def __init__(self, fmt: str, available: Iterable[str] | None = None) -> None:
        names = sorted(RENDERERS if available is None else available)
        super().__init__(f"unknown export format {fmt!r}; available: {', '.join(names)}")
        self.fmt = fmt


@dataclass(frozen=True)
class Rendered:
    body: bytes
    mimetype: str
    extension: str


def _cell(value: object, decimals: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.{decimals}f}" if decimals is not None else repr(value)
    return unicodedata.normalize("NFC", str(value))


def _csv_text(table: ResultTable, *, excel: bool = False) -> str:
    """The table as CSV; for Excel, text that a spreadsheet would run as a formula (a unit named
    ``=…``) is defused and identifier columns stay text (:mod:`exports.cells`)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([unicodedata.normalize("NFC", c.label) for c in table.columns])
    for row in table.rows:
        cells: list[object] = []
        for c in table.columns:
            value = row.get(c.key)
            text = _cell(value, c.decimals)
            if excel and isinstance(value, str):
                text = str(excel_text(text) if c.identifier else defuse(text))
            cells.append(text)
        writer.writerow(cells)
    return buf.getvalue()


def _csv_vi_text(table: ResultTable) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.key for c in table.columns])
    writer.writerow([unicodedata.normalize("NFC", c.label) for c in table.columns])
    for row in table.rows:
        cells: list[object] = []
        for c in table.columns:
            value = row.get(c.key)
            text = _cell(value, c.decimals)
            if isinstance(value, float):
                text = text.replace(".", ",")
            elif isinstance(value, str):
                text = str(excel_text(text) if c.identifier else defuse(text))
            cells.append(text)
        writer.writerow(cells)
    return buf.getvalue()


def render_csv_vi(table: ResultTable) -> Rendered:
    return Rendered(_csv_vi_text(table).encode("utf-8-sig"), "text/csv; charset=utf-8", "csv")


def render_csv(table: ResultTable) -> Rendered:
    return Rendered(_csv_text(table).encode("utf-8"), "text/csv; charset=utf-8", "csv")


def render_csv_excel(table: ResultTable) -> Rendered:
    return Rendered(_csv_text(table, excel=True).encode("utf-8-sig"), "text/csv; charset=utf-8", "csv")


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def render_xlsx(table: ResultTable) -> Rendered:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_title(table.title)
    sheet.append([unicodedata.normalize("NFC", table.title)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([unicodedata.normalize("NFC", c.label) for c in table.columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([_xlsx_value(row.get(c.key)) for c in table.columns])
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":  # a name starting with "=" is text, never a live formula
                cell.data_type = "s"
    if sheet["A1"].data_type == "f":
        sheet["A1"].data_type = "s"
    for n, column in enumerate(table.columns, start=1):
        letter = get_column_letter(n)
        if column.decimals is not None:
            for (cell,) in sheet.iter_rows(min_row=3, min_col=n, max_col=n):
                cell.number_format = "0." + "0" * column.decimals if column.decimals else "0"
        longest = max([len(column.label)] + [len(str(row.get(column.key) or "")) for row in table.rows])
        sheet.column_dimensions[letter].width = min(max(10, longest + 2), 60)
    sheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    book.save(buffer)
    return Rendered(buffer.getvalue(), XLSX_MIMETYPE, "xlsx")


def _xlsx_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    return unicodedata.normalize("NFC", str(value))


def _sheet_title(title: str) -> str:
    r"""Excel sheet names: at most 31 characters, none of ``[]:*?/\``."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in unicodedata.normalize("NFC", title)).strip()
    return cleaned[:31] or "Sheet1"


RENDERERS: dict[str, Callable[[ResultTable], Rendered]] = {
    "csv": render_csv,
    "csv-excel": render_csv_excel,
    "csv-vi": render_csv_vi,
    "xlsx": render_xlsx,
}


def render(fmt: str, table: ResultTable) -> Rendered:
    """Render ``table`` as ``fmt``; raises :class:`UnknownFormat` for a format not registered."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise UnknownFormat(fmt) from None
    return renderer(table)
