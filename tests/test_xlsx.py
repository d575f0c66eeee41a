"""Results as Excel workbooks: the same numbers as the CSV, as numbers, with Vietnamese intact."""

from __future__ import annotations

import csv
import io
import unicodedata

from openpyxl import load_workbook

from exports import Column, ResultTable, render


def test_xlsx_keeps_numbers_as_numbers_and_text_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Huyện Thới Bình")
    table = ResultTable(title="Xếp hạng: quý 3/2026 [thử]", columns=(
        Column("unit", "Đơn vị"), Column("n", "n"), Column("estimate", "Chỉ số", decimals=4),
        Column("small", "Mẫu nhỏ")),
        rows=({"unit": decomposed, "n": 31, "estimate": 0.123456789, "small": False},
              {"unit": "Phường 1", "n": 0, "estimate": None, "small": True}))
    rendered = render("xlsx", table)
    assert rendered.extension == "xlsx" and rendered.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(rendered.body)).active
    assert sheet.title == "Xếp hạng  quý 3 2026  thử"[:31]
    assert sheet["A1"].value == "Xếp hạng: quý 3/2026 [thử]"
    assert [c.value for c in sheet[2]] == ["Đơn vị", "n", "Chỉ số", "Mẫu nhỏ"]
    assert [c.value for c in sheet[3]] == ["Huyện Thới Bình", 31, 0.123456789, False]  # NFC, full precision
    assert sheet["A3"].value == unicodedata.normalize("NFC", decomposed)
    assert sheet["C3"].number_format == "0.0000" and sheet["C4"].value is None
    assert sheet.freeze_panes == "A3"


def test_staff_downloads_as_xlsx_match_the_csv(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    query = "unit=cu-964&service=CHUNG-THUC&questionnaire=sipas-kiosk&period="  # all quarters (an old district)
    page = client.get(f"/staff/results?{query}").get_data(as_text=True)
    assert "Tải tệp Excel (XLSX)" in page and "/staff/results.xlsx?" in page
    workbook = client.get(f"/staff/results.xlsx?{query}")
    assert workbook.status_code == 200 and 'filename="sipas_cu-964_CHUNG-THUC.xlsx"' in workbook.headers[
        "Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(workbook.get_data())).active.iter_rows(values_only=True))
    text = client.get(f"/staff/results.csv?{query}&excel=0").get_data(as_text=True)
    expected = list(csv.reader(io.StringIO(text)))
    assert list(rows[1]) == expected[0]  # the same headers, in Vietnamese
    for got, want in zip(rows[2:], expected[1:], strict=True):
        assert got[1] == want[1] and got[3] == int(want[3])
        assert abs(got[4] - float(want[4])) < 5e-5  # the CSV rounds to 4 decimals; the cell keeps all
    ranking = client.get("/staff/ranking.xlsx?level=commune")
    assert ranking.status_code == 200
    assert load_workbook(io.BytesIO(ranking.get_data())).active["A2"].value == "Hạng"
