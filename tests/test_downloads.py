"""The one download registry (exports/downloads.py): golden bytes per renderer, routes from the URL.

The CSV goldens are written out below by hand. The XLSX goldens are the XML parts of the workbook
but its timestamped ``docProps/core.xml`` (the zip around them carries timestamps too); they were
produced by
``python -m tests.test_downloads`` and read through before being kept: re-run it only when a
renderer is meant to change, and read the diff.
"""

from __future__ import annotations

import io
import sys
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from exports import Column, ResultTable
from exports.downloads import DOWNLOADS
from exports.microdata import Microdata, Variable
from exports.renderers import UnknownFormat

GOLDEN = Path(__file__).parent / "fixtures" / "downloads"
TIMESTAMPED = "docProps/core.xml"

TABLE = ResultTable(
    title="Kết quả: quý 3/2026",
    columns=(Column("unit", "Đơn vị"), Column("n", "n"), Column("estimate", "Chỉ số", decimals=4),
             Column("small", "Mẫu nhỏ"), Column("note", "Ghi chú")),
    rows=({"unit": unicodedata.normalize("NFD", "Xã Thới Bình"), "n": 31, "estimate": 0.123456789, "small": False,
           "note": 'dấu "ngoặc", phẩy'},
          {"unit": "Phường 1", "n": 0, "estimate": None, "small": True, "note": None}),
)

MICRODATA = Microdata(
    title="Dữ liệu: sipas-kiosk",
    frame=pd.DataFrame({"period": ["2026-Q3", "2026-Q3"], "unit": ["96001", "96002"],
                        "q1": [5.0, float("nan")], "why": [unicodedata.normalize("NFD", "Nhanh chóng"), None]}),
    variables=(Variable("period", "Quý"), Variable("unit", "Đơn vị"),
               Variable("q1", "Hài lòng?", {1.0: "Rất không hài lòng", 5.0: "Rất hài lòng"}), Variable("why", "Vì sao?")),
)

TABLE_CSV = ('Đơn vị,n,Chỉ số,Mẫu nhỏ,Ghi chú\r\n'
             'Xã Thới Bình,31,0.1235,0,"dấu ""ngoặc"", phẩy"\r\n'
             'Phường 1,0,,1,\r\n').encode()
MICRODATA_CSV = ('period,unit,q1,why\r\n'
                 '2026-Q3,96001,5.0,Nhanh chóng\r\n'
                 '2026-Q3,96002,,\r\n').encode()


def test_table_csv_for_programs_is_plain_utf8() -> None:
    rendered = DOWNLOADS.render("table", "csv", TABLE, excel=False)
    assert rendered.body == TABLE_CSV
    assert (rendered.mimetype, rendered.extension) == ("text/csv; charset=utf-8", "csv")


def test_table_csv_for_excel_is_the_same_bytes_after_a_byte_order_mark() -> None:
    assert DOWNLOADS.render("table", "csv", TABLE).body == b"\xef\xbb\xbf" + TABLE_CSV


def test_microdata_csv_golden_bytes() -> None:
    assert DOWNLOADS.render("microdata", "csv", MICRODATA, excel=False).body == MICRODATA_CSV
    assert DOWNLOADS.render("microdata", "csv", MICRODATA).body == b"\xef\xbb\xbf" + MICRODATA_CSV


def _golden(kind: str, part: str) -> Path:
    """The golden file of one part: ``xl/worksheets/sheet1.xml`` → ``table.xl_worksheets_sheet1.xml``."""
    return GOLDEN / f"{kind}.{part.replace('/', '_').replace('[', '').replace(']', '')}"


def _parts(kind: str, body: bytes) -> dict[str, bytes]:
    """The parts compared: all but the timestamp for a table; the data sheet of microdata (its
    ``variables`` sheet is the analyst-file work of exports/microdata.py, tested there)."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = [n for n in archive.namelist() if n != TIMESTAMPED]
        if kind == "microdata":
            names = ["xl/worksheets/sheet1.xml"]
        return {name: archive.read(name) for name in names}


@pytest.mark.parametrize(("kind", "thing"), [("table", TABLE), ("microdata", MICRODATA)])
def test_xlsx_golden_parts(kind: str, thing: object) -> None:
    rendered = DOWNLOADS.render(kind, "xlsx", thing)
    assert rendered.extension == "xlsx" and rendered.mimetype.endswith("spreadsheetml.sheet")
    parts = _parts(kind, rendered.body)
    assert sorted(_golden(kind, n).name for n in parts) == sorted(p.name for p in GOLDEN.glob(f"{kind}.*"))
    for name, body in parts.items():
        assert body == _golden(kind, name).read_bytes(), name


@pytest.mark.parametrize("suffix", ["sav", "dta"])
def test_readstat_files_read_back_with_their_labels(suffix: str, tmp_path: Path) -> None:
    import pyreadstat

    rendered = DOWNLOADS.render("microdata", suffix, MICRODATA)
    path = tmp_path / f"data.{suffix}"
    path.write_bytes(rendered.body)
    frame, meta = (pyreadstat.read_sav if suffix == "sav" else pyreadstat.read_dta)(str(path))
    assert list(frame.columns) == ["period", "unit", "q1", "why"]
    assert frame["unit"].tolist() == ["96001", "96002"] and frame["q1"].tolist()[0] == 5.0
    assert frame["why"].tolist()[0] == "Nhanh chóng"  # NFC
    assert meta.column_names_to_labels["q1"] == "Hài lòng?"
    assert meta.variable_value_labels["q1"] == {1.0: "Rất không hài lòng", 5.0: "Rất hài lòng"}


def test_every_format_is_named_by_its_url_and_unknown_ones_are_refused() -> None:
    assert DOWNLOADS.suffixes("table") == ("csv", "xlsx")
    assert DOWNLOADS.suffixes("microdata") == ("csv", "xlsx", "sav", "dta")
    assert DOWNLOADS.from_url("table", "csv").fmt == "csv-excel"
    assert DOWNLOADS.from_url("table", "xlsx", excel=False).fmt == "xlsx"
    with pytest.raises(UnknownFormat, match="unknown export format 'pdf'; available: csv, xlsx"):
        DOWNLOADS.from_url("table", "pdf")
    with pytest.raises(ValueError, match="already has a renderer"):
        DOWNLOADS.register("table", "xlsx", "xlsx", lambda thing: DOWNLOADS.render("table", "xlsx", thing))


def test_the_staff_download_routes_come_from_the_registry(app, client, staff) -> None:  # type: ignore[no-untyped-def]
    views = {rule.rule: app.view_functions[rule.endpoint].__name__ for rule in app.url_map.iter_rules()}
    for page in ("results", "ranking", "papi"):
        for suffix in DOWNLOADS.suffixes("table"):
            assert views[f"/staff/{page}.{suffix}"] == f"{page}_file"  # not the CSV view serving .xlsx
    assert client.get("/staff/results.pdf").status_code == 404


def _write_goldens() -> None:  # pragma: no cover - run by hand, see the module docstring
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for kind, thing in (("table", TABLE), ("microdata", MICRODATA)):
        for name, body in _parts(kind, DOWNLOADS.render(kind, "xlsx", thing).body).items():
            _golden(kind, name).write_bytes(body)
    print("written to", GOLDEN, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    _write_goldens()
