"""Analysts' files: "don't know" / "not applicable" are user-missing values, so a plain mean in
SPSS, Stata or R is right without recoding; times are datetimes in Vietnam time; categorical
columns carry their labels. Checked by reading the files back with pyreadstat and, when R and
its ``haven`` package are installed, with R itself."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from exports.microdata import Microdata, Variable, write

VIETNAM = timezone(timedelta(hours=7))
ANSWERS = [5.0, 4.0, 8.0, 9.0, 2.0, 8.0]  # 8 = don't know, 9 = not applicable
VALID_MEAN = (5 + 4 + 2) / 3


def _data() -> Microdata:
    times = [datetime(2026, 3, 1, 9, 15, tzinfo=VIETNAM) + timedelta(hours=i) for i in range(len(ANSWERS))]
    frame = pd.DataFrame({
        "response_id": [f"r{i}" for i in range(len(ANSWERS))],
        "channel": ["kiosk", "web", "kiosk", "enumerator", "kiosk", "web"],
        "submitted_at": pd.to_datetime(times, utc=True).tz_convert(VIETNAM),
        "servant_conduct": ANSWERS,
    })
    variables = (
        Variable("response_id", "Mã phiếu"),
        Variable("channel", "Kênh", categories={"kiosk": "Máy đánh giá", "enumerator": "Điều tra viên", "web": "Liên kết"}),
        Variable("submitted_at", "Thời điểm gửi (giờ Việt Nam, UTC+07:00)"),
        Variable("servant_conduct", "Thái độ của công chức",
                 {1.0: "Rất không hài lòng", 2.0: "Không hài lòng", 3.0: "Bình thường", 4.0: "Hài lòng",
                  5.0: "Rất hài lòng", 8.0: "Không biết", 9.0: "Không áp dụng"}, missing=(8.0, 9.0)),
    )
    return Microdata(title="Thử", frame=frame, variables=variables)


def _file(fmt: str) -> Path:
    path = Path(tempfile.mkdtemp()) / f"data.{fmt}"
    path.write_bytes(write(fmt, _data()).body)
    return path


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_missing_codes_are_declared_so_a_plain_mean_is_right(fmt: str) -> None:
    path = _file(fmt)
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    frame, meta = reader(str(path))
    assert frame["servant_conduct"].mean() == pytest.approx(VALID_MEAN)  # what an analyst gets by default
    kept, kept_meta = reader(str(path), user_missing=True)
    if fmt == "sav":
        assert kept["servant_conduct"].tolist() == ANSWERS  # the codes are still there, declared missing
        assert kept_meta.missing_ranges["servant_conduct"] == [{"lo": 8.0, "hi": 8.0}, {"lo": 9.0, "hi": 9.0}]
        assert kept_meta.variable_value_labels["servant_conduct"][8] == "Không biết"
    else:
        assert kept["servant_conduct"].tolist() == [5.0, 4.0, "a", "b", 2.0, "a"]  # .a, .b: Stata extended missing
        assert kept_meta.missing_user_values["servant_conduct"] == ["a", "b"]
        assert kept_meta.variable_value_labels["servant_conduct"]["a"] == "Không biết"
    # a datetime variable holding Vietnam wall-clock time; the categories are labelled codes
    assert frame["submitted_at"].iloc[0] == pd.Timestamp("2026-03-01 09:15:00")
    labels = meta.variable_value_labels["channel"]
    assert {labels[int(code)] for code in frame["channel"]} == {"Máy đánh giá", "Điều tra viên", "Liên kết"}
    assert labels[int(frame["channel"].iloc[1])] == "Liên kết"


def test_csv_and_xlsx_write_times_with_their_offset() -> None:
    text = write("csv", _data()).body.decode("utf-8")
    assert "2026-03-01T09:15:00+07:00" in text
    assert ",kiosk," in text  # categories stay text codes in CSV


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_r_haven_reads_the_right_mean(fmt: str) -> None:
    has_haven = subprocess.run(["Rscript", "-e", "library(haven)"], capture_output=True, check=False).returncode == 0
    if not has_haven:
        pytest.skip("R's haven package is not installed")
    path = _file(fmt)
    reader = "read_sav" if fmt == "sav" else "read_dta"
    script = (f"suppressMessages(library(haven)); d <- {reader}('{path}'); "
              "cat(mean(zap_missing(d$servant_conduct), na.rm = TRUE), mean(as.numeric(d$servant_conduct), na.rm = TRUE))")
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True).stdout.split()
    # haven turns user-missing values into NA (zap_missing), and a plain numeric mean skips them too
    assert [float(x) for x in out] == pytest.approx([VALID_MEAN, VALID_MEAN])


def test_the_staff_export_declares_don_t_know_as_missing(client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    import uuid

    from sqlalchemy import select

    from survey.collect.responses import store_response
    from survey.store.catalogue import latest
    from survey.store.models import Channel, Service, Unit

    sipas = latest("sipas")
    root = db.scalar(select(Unit).where(Unit.parent_id.is_(None)))
    service = db.scalar(select(Service).order_by(Service.id))
    for value in (8, 9, 4, 5, 8):  # two "don't know", one "not applicable"
        store_response(db, secret="s", questionnaire=sipas, unit_id=root.id, service_id=service.id,
                       channel=Channel.ENUMERATOR, response_id=uuid.uuid4(), answers={"access_signs": value})
    staff.login()
    resp = client.get(f"/staff/export.sav?questionnaire=sipas&unit={root.code}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    path = Path(tempfile.mkdtemp()) / "sipas.sav"
    path.write_bytes(resp.get_data())
    plain, meta = pyreadstat.read_sav(str(path))
    kept, kept_meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert kept_meta.missing_ranges["access_signs"] == [{"lo": 8.0, "hi": 8.0}, {"lo": 9.0, "hi": 9.0}]
    column = kept["access_signs"]
    assert (column == 8).sum() >= 2 and (column == 9).sum() >= 1  # the codes are kept, declared missing
    valid = column[column.isin([1.0, 2.0, 3.0, 4.0, 5.0])]
    assert plain["access_signs"].mean() == pytest.approx(valid.mean())  # "don't know" is not averaged in
    assert str(plain["submitted_at"].dtype).startswith("datetime64")
    labels = meta.variable_value_labels["channel"]
    assert set(labels.values()) == {"Máy đánh giá tại quầy", "Phỏng vấn của điều tra viên", "Liên kết hoặc mã QR công khai"}


def test_a_name_that_looks_like_a_formula_stays_text() -> None:
    import io

    from openpyxl import load_workbook

    data = _data()
    frame = data.frame.copy()
    frame["channel"] = ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "kiosk", "web"]
    risky = Microdata(title="t", frame=frame, variables=data.variables)
    text = write("csv-excel", risky).body.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ",'+1," in text and ",'@SUM(A1)," in text
    book = load_workbook(io.BytesIO(write("xlsx", risky).body))
    cells = [row[1] for row in book["data"].iter_rows(min_row=2)]
    assert cells[0].value == '=HYPERLINK("http://x","y")' and cells[0].data_type == "s"
    assert all(c.data_type != "f" for c in cells)
    assert write("csv", risky).body.decode("utf-8").count("'=") == 0  # plain CSV for programs is unchanged


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-calc) is not installed")
def test_libreoffice_reads_identifiers_as_text_numbers_as_numbers_and_runs_no_formula(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    frame = pd.DataFrame({
        "unit_code": ["96-04-02", "00123"],
        "version": ["2025.2", "2025.10"],
        "unit_name": ['=HYPERLINK("http://evil.example","Cà Mau")', "@SUM(1)"],
        "weight": [1.5, 12.0],
    })
    data = Microdata(title="t", frame=frame, variables=(
        Variable("unit_code", "Mã đơn vị", identifier=True), Variable("version", "Phiên bản", identifier=True),
        Variable("unit_name", "Đơn vị"), Variable("weight", "Trọng số")))
    source = tmp_path / "data.csv"
    source.write_bytes(write("csv-excel", data).body)
    subprocess.run(["soffice", "--headless", "--norestore", "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx",
                    "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=120,
                   env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    sheet = load_workbook(tmp_path / "data.xlsx", data_only=True).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [r[0] for r in rows] == ["96-04-02", "00123"]  # not the date 1996-04-02, not the number 123
    assert [r[1] for r in rows] == ["2025.2", "2025.10"]  # not the numbers 2025.2 and 2025.1
    assert [r[3] for r in rows] == [1.5, 12]  # numbers stay numbers
    assert all(isinstance(r[2], str) and r[2].startswith("'") for r in rows)  # shown as text, never run
    formulas = load_workbook(tmp_path / "data.xlsx").active
    assert formulas is not None
    assert all(not str(c.value).startswith("=HYPERLINK") for row in formulas.iter_rows() for c in row)


def test_table_downloads_defuse_formulas_too() -> None:
    import csv as csv_module
    import io

    from openpyxl import load_workbook

    from exports.renderers import render
    from exports.tables import Column, ResultTable

    table = ResultTable(title="=cmd|' /C calc'!A0", columns=(
        Column("unit_code", "Mã", identifier=True), Column("unit", "Đơn vị"), Column("change", "Thay đổi", decimals=2)),
        rows=({"unit_code": "96-04-02", "unit": "=HYPERLINK(\"http://x\",\"Cà Mau\")", "change": -0.25},
              {"unit_code": "2025.2", "unit": "Thới Bình", "change": 0.5}))
    text = render("csv-excel", table).body.decode("utf-8-sig")
    rows = list(csv_module.reader(io.StringIO(text)))
    assert rows[1] == ['="96-04-02"', '\'=HYPERLINK("http://x","Cà Mau")', "-0.25"]  # a number is not defused
    assert rows[2] == ['="2025.2"', "Thới Bình", "0.50"]
    assert render("csv", table).body.decode("utf-8").splitlines()[1].startswith("96-04-02,")  # for programs: as is
    sheet = load_workbook(io.BytesIO(render("xlsx", table).body)).active
    assert sheet is not None
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert sheet["B3"].value == '=HYPERLINK("http://x","Cà Mau")' and sheet["A1"].data_type == "s"
