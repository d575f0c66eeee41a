"""The portal's chart files come from the one download registry (exports/downloads.py, kind
``chart``): golden bytes of each format, each file made only when asked for, and the portal's
chart links are the registry's formats."""

from __future__ import annotations

import pytest

from exports import Column, ResultTable
from exports.downloads import DOWNLOADS, ChartFiles
from exports.renderers import UnknownFormat

TABLE = ResultTable("Chỉ số", (Column("unit", "Đơn vị"), Column("estimate", "Chỉ số", decimals=3),
                               Column("suppressed", "Không công bố")),
                    ({"unit": "Xã 01", "estimate": 0.8125, "suppressed": False},
                     {"unit": "Xã 02", "estimate": None, "suppressed": True}))
SVG = '<svg xmlns="http://www.w3.org/2000/svg"><title>Chỉ số</title></svg>'


def _files(made: list[str]) -> ChartFiles:
    def svg() -> str:
        made.append("svg")
        return SVG

    def table() -> ResultTable:
        made.append("table")
        return TABLE

    def document() -> dict[str, object]:
        made.append("document")
        return {"title": "Chỉ số", "rows": [{"unit": "Xã 01", "estimate": 0.8125}]}

    return ChartFiles(svg=svg, table=table, document=document)


def test_chart_formats_golden_bytes_each_made_only_when_asked() -> None:
    assert DOWNLOADS.suffixes("chart") == ("svg", "csv", "json")
    made: list[str] = []
    svg = DOWNLOADS.render("chart", "svg", _files(made))
    assert (svg.body, svg.mimetype, made) == (SVG.encode("utf-8"), "image/svg+xml", ["svg"])
    made.clear()
    csv = DOWNLOADS.render("chart", "csv", _files(made))
    assert csv.body == ("\ufeffĐơn vị,Chỉ số,Không công bố\r\nXã 01,0.812,0\r\nXã 02,,1\r\n").encode()
    assert csv.mimetype.startswith("text/csv") and made == ["table"]
    made.clear()
    data = DOWNLOADS.render("chart", "json", _files(made))
    assert data.body == ('{\n "title": "Chỉ số",\n "rows": [\n  {\n   "unit": "Xã 01",\n   "estimate": 0.8125\n'
                         '  }\n ]\n}').encode()
    assert data.mimetype == "application/json" and made == ["document"]
    with pytest.raises(UnknownFormat, match="available: csv, json, svg"):
        DOWNLOADS.from_url("chart", "png")


def test_the_portal_offers_the_registry_formats() -> None:
    from survey.portal import pages

    assert pages.CHART_FORMATS == DOWNLOADS.suffixes("chart")
