"""The one registry of downloads: every file the app serves is rendered through :data:`DOWNLOADS`.

A download is a *kind* of thing (``"table"``: a :class:`~exports.tables.ResultTable`;
``"microdata"``: a :class:`~exports.microdata.Microdata`; ``"chart"``: a portal chart's
:class:`ChartFiles`; later releases) in a *format*. The format comes from the URL: its file extension (``results.xlsx``, ``export.sav``),
and for ``.csv`` the ``excel`` switch — CSV for Excel (UTF-8 with a byte-order mark, so Excel
shows Vietnamese right) unless ``excel=0`` asks for plain UTF-8 CSV for programs, and
``locale=vi`` for CSV for a spreadsheet set to Vietnamese (``;`` between cells, decimal comma,
machine column names on the first header row of tables). A view asks
:meth:`Downloads.from_url` and serves what it returns; an extension no renderer is registered for
is :class:`~exports.renderers.UnknownFormat` (the app answers 404).

Adding a format is one :meth:`Downloads.register` call here, with a golden-byte test in
``tests/test_downloads.py``; the staff download routes are made from :meth:`Downloads.suffixes`.

>>> DOWNLOADS.suffixes("table")
('csv', 'xlsx')
>>> DOWNLOADS.suffixes("microdata")
('csv', 'xlsx', 'sav', 'dta')
>>> DOWNLOADS.suffixes("chart")
('svg', 'csv', 'json')
>>> DOWNLOADS.from_url("table", "csv", excel=False).fmt
'csv'
>>> DOWNLOADS.from_url("microdata", "csv", locale="vi").fmt
'csv-vi'
>>> DOWNLOADS.from_url("microdata", "pdf")
Traceback (most recent call last):
...
exports.renderers.UnknownFormat: unknown export format 'pdf'; available: csv, dta, sav, xlsx
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from exports import microdata, renderers
from exports.tables import ResultTable


@dataclass(frozen=True)
class Download:
    kind: str  # what is rendered: "table", "microdata", ...
    fmt: str  # the renderer's name for the format: "csv", "csv-excel", "xlsx", "sav", "dta"
    suffix: str  # the file extension in the URL and in the saved file's name
    render: Callable[[Any], renderers.Rendered]


class Downloads:
    """Renderers by kind and format, looked up from a URL's extension."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Download] = {}

    def register(self, kind: str, fmt: str, suffix: str, render: Callable[[Any], renderers.Rendered]) -> None:
        if (kind, fmt) in self._entries:
            raise ValueError(f"{kind} already has a renderer for {fmt!r}")
        self._entries[kind, fmt] = Download(kind, fmt, suffix, render)

    def formats(self, kind: str) -> tuple[Download, ...]:
        return tuple(d for (k, _fmt), d in self._entries.items() if k == kind)

    def suffixes(self, kind: str) -> tuple[str, ...]:
        """The URL extensions that ``kind`` can be downloaded as, in registration order."""
        return tuple(dict.fromkeys(d.suffix for d in self.formats(kind)))

    def from_url(self, kind: str, suffix: str, *, excel: bool = True, locale: str | None = None) -> Download:
        """The download a URL ending in ``.suffix`` asks for; ``excel`` picks CSV for Excel
        over plain CSV where a kind has both, ``locale="vi"`` the Vietnamese-spreadsheet CSV."""
        candidates = [d for d in self.formats(kind) if d.suffix == suffix]
        if not candidates:
            raise renderers.UnknownFormat(suffix, self.suffixes(kind))
        if len(candidates) > 1:
            wanted = f"{suffix}-{locale}" if locale == "vi" else f"{suffix}-excel" if excel else suffix
            candidates = [d for d in candidates if d.fmt == wanted] or candidates[:1]
        return candidates[0]

    def render(self, kind: str, suffix: str, thing: Any, *, excel: bool = True,
               locale: str | None = None) -> renderers.Rendered:
        return self.from_url(kind, suffix, excel=excel, locale=locale).render(thing)


@dataclass(frozen=True)
class ChartFiles:
    """A portal chart's files, each made only when asked for: the drawing (SVG), its data as a
    table (CSV for Excel) and as a JSON document (its rows, labelled columns and the release)."""

    svg: Callable[[], str]
    table: Callable[[], ResultTable]
    document: Callable[[], Mapping[str, Any]]


def _chart_svg(files: ChartFiles) -> renderers.Rendered:
    return renderers.Rendered(files.svg().encode("utf-8"), "image/svg+xml", "svg")


def _chart_json(files: ChartFiles) -> renderers.Rendered:
    body = json.dumps(files.document(), ensure_ascii=False, indent=1).encode("utf-8")
    return renderers.Rendered(body, "application/json", "json")


DOWNLOADS = Downloads()
for _fmt in ("csv-excel", "csv", "csv-vi", "xlsx"):
    DOWNLOADS.register("table", _fmt, _fmt.split("-")[0], renderers.RENDERERS[_fmt])
for _fmt in microdata.FORMATS:
    DOWNLOADS.register("microdata", _fmt, _fmt.split("-")[0], partial(microdata.write, _fmt))
DOWNLOADS.register("chart", "svg", "svg", _chart_svg)
DOWNLOADS.register("chart", "csv-excel", "csv", lambda files: renderers.render_csv_excel(files.table()))
DOWNLOADS.register("chart", "json", "json", _chart_json)
