"""Renderers from :class:`~exports.tables.ResultTable` to bytes, keyed by format.

- ``csv``: RFC 4180 CSV in UTF-8, no BOM (for programs);
- ``csv-excel``: the same with a UTF-8 byte-order mark, so Excel shows Vietnamese correctly.

All text is NFC-normalised. Numbers keep full precision unless the column sets ``decimals``.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from exports.tables import ResultTable


class UnknownFormat(ValueError):
    def __init__(self, fmt: str) -> None:
        super().__init__(f"unknown export format {fmt!r}; available: {', '.join(sorted(RENDERERS))}")
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


def _csv_text(table: ResultTable) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([unicodedata.normalize("NFC", c.label) for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell(row.get(c.key), c.decimals) for c in table.columns])
    return buf.getvalue()


def render_csv(table: ResultTable) -> Rendered:
    return Rendered(_csv_text(table).encode("utf-8"), "text/csv; charset=utf-8", "csv")


def render_csv_excel(table: ResultTable) -> Rendered:
    return Rendered(_csv_text(table).encode("utf-8-sig"), "text/csv; charset=utf-8", "csv")


RENDERERS: dict[str, Callable[[ResultTable], Rendered]] = {
    "csv": render_csv,
    "csv-excel": render_csv_excel,
}


def render(fmt: str, table: ResultTable) -> Rendered:
    """Render ``table`` as ``fmt``; raises :class:`UnknownFormat` for a format not registered."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise UnknownFormat(fmt) from None
    return renderer(table)
