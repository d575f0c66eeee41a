"""CSV for a spreadsheet set to Vietnamese (issue 14 point 5): ``;`` between cells, decimal comma,
machine column names on the first header row of a table, identifiers kept as text and formulas
defused — read back by headless LibreOffice with the Vietnamese locale's separators."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from exports.downloads import DOWNLOADS
from exports.microdata import Microdata, Variable
from exports.tables import Column, ResultTable

TABLE = ResultTable(title="Chỉ số", columns=(
    Column("unit_code", "Mã đơn vị", identifier=True), Column("unit", "Đơn vị"),
    Column("index", "Chỉ số hài lòng", decimals=2), Column("n", "Số ý kiến")),
    rows=({"unit_code": "96-04-02", "unit": "=HYPERLINK(\"http://x\",\"Cà Mau\")", "index": 81.256, "n": 120},
          {"unit_code": "2025.2", "unit": "Thới Bình", "index": 7.5, "n": 3}))


def test_table_csv_for_vietnamese_spreadsheets() -> None:
    download = DOWNLOADS.from_url("table", "csv", locale="vi")
    assert download.fmt == "csv-vi"
    body = download.render(TABLE).body
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel shows Vietnamese right
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["unit_code", "unit", "index", "n"]  # stable machine names first
    assert rows[1] == ["Mã đơn vị", "Đơn vị", "Chỉ số hài lòng", "Số ý kiến"]
    assert rows[2] == ['="96-04-02"', "'=HYPERLINK(\"http://x\",\"Cà Mau\")", "81,26", "120"]
    assert rows[3][2] == "7,50" and rows[3][0] == '="2025.2"'
    assert DOWNLOADS.from_url("table", "csv").fmt == "csv-excel"  # the default is unchanged


def _microdata() -> Microdata:
    frame = pd.DataFrame({"unit_code": ["96-04-02", "00123"], "weight": [1.5, 12.25],
                          "unit_name": ["@SUM(1)", "Cà Mau"]})
    return Microdata(title="t", frame=frame, variables=(
        Variable("unit_code", "Mã đơn vị", identifier=True), Variable("weight", "Trọng số"),
        Variable("unit_name", "Đơn vị")))


def test_microdata_csv_for_vietnamese_spreadsheets() -> None:
    text = DOWNLOADS.render("microdata", "csv", _microdata(), locale="vi").body.decode("utf-8-sig")
    assert text.splitlines() == ["unit_code;weight;unit_name", '"=""96-04-02""";1,5;\'@SUM(1)',
                                 '"=""00123""";12,25;Cà Mau']


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-calc) is not installed")
def test_libreoffice_in_vietnamese_reads_numbers_and_identifiers(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    source = tmp_path / "data.csv"
    source.write_bytes(DOWNLOADS.render("microdata", "csv", _microdata(), locale="vi").body)
    # Token 1: ';' (59); 2: '"' (34); 3: UTF-8 (76); 4: from line 1; 5: default column types;
    # 6: language 1066 = Vietnamese, whose decimal separator is ','.
    subprocess.run(["soffice", "--headless", "--norestore", "--infilter=CSV:59,34,76,1,,1066", "--convert-to",
                    "xlsx", "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=120,
                   env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    sheet = load_workbook(tmp_path / "data.xlsx", data_only=True).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [r[0] for r in rows] == ["96-04-02", "00123"]  # text, not a date or a number
    assert [r[1] for r in rows] == [1.5, 12.25]  # decimal comma read as numbers
    assert rows[0][2].startswith("'") and rows[1][2] == "Cà Mau"


def test_staff_results_offer_the_vietnamese_csv(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    import html
    import re

    staff.login()
    page = client.get("/staff/results?unit=96&service=CHUNG-THUC&questionnaire=sipas-kiosk").get_data(as_text=True)
    link = next(html.unescape(h) for h in re.findall(r'href="([^"]+)"', page) if "locale=vi" in h)
    assert "dấu phẩy thập phân" in page
    rows = list(csv.reader(io.StringIO(client.get(link).get_data().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["kind", "id", "label", "n", "estimate"]  # stable machine names
    assert rows[1][1] == "Mã"  # the labels below them
    numbers = [cell for row in rows[2:] for cell in row if re.fullmatch(r"-?\d+,\d+", cell)]
    assert numbers and not any(re.fullmatch(r"-?\d+\.\d+", cell) for row in rows[2:] for cell in row)
