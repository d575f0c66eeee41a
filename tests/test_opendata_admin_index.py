"""Decision 766 figures: imported per unit from CSV/XLSX (staff upload and CLI), all rows or none,
with row-numbered messages in Vietnamese; read back for a release's snapshot."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.portal import admin_index
from survey.store.models import AdminIndexFigure, Unit, UnitLevel

HEADER = ("Mã đơn vị,Tên đơn vị,Kỳ,Hồ sơ giải quyết đúng hạn,Hồ sơ đã giải quyết,Hồ sơ tiếp nhận trực tuyến,"
          "Hồ sơ đã tiếp nhận,5.2 Phản ánh xử lý đúng hạn,5.2 Phản ánh đã tiếp nhận,"
          "5.4 Hồ sơ không trễ hạn, không bị phản ánh,5.4 Hồ sơ đã giải quyết")


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\ufeff" + "\r\n".join([header.replace("5.4 Hồ sơ không trễ hạn, không bị phản ánh",
                                                   '"5.4 Hồ sơ không trễ hạn, không bị phản ánh"'), *rows]) + "\r\n").encode()




@pytest.fixture
def units(db: Session, demo: str) -> list[str]:
    """Codes of five of the demo's communes (today's map)."""
    return list(db.scalars(select(Unit.code).where(Unit.level == UnitLevel.COMMUNE).order_by(Unit.code).limit(5)))


def good(units: list[str]) -> bytes:
    return csv_file(
        f"{units[0]},Phường 1,2026-Q3,1180,1214,655,1214,9,10,1163,1214",
        f"{units[1]},Phường 5,2026-Q3,\"1.020\",\"1.100\",,,,,1001,1100",
    )


def test_a_good_csv_is_stored_and_read_back_for_a_release(app: Flask, db: Session, units: list[str]) -> None:
    with app.test_request_context():
        done = admin_index.import_file(db, "quy3.csv", good(units))
        db.commit()
        assert (done.figures, done.units, done.periods) == (6, 2, ("2026-Q3",))
        rows = admin_index.figures_for(db, [units[0], units[1], units[2]], "2026-Q3")
    by = {(r["unit"], r["indicator"]): r for r in rows}
    assert by[units[0], "timeliness"]["numerator"] == 1180 and by[units[0], "timeliness"]["denominator"] == 1214
    assert by[units[0], "feedback_on_time"]["rate"] == pytest.approx(0.9)
    assert by[units[1], "timeliness"]["numerator"] == 1020  # "1.020": the Vietnamese thousands dot
    assert (units[1], "online") not in by  # empty cells: not reported, not zero
    assert by[units[0], "satisfaction_5_4"]["code"] == "5.4"
    assert [r["unit"] for r in rows][:4] == [units[0]] * 4  # units in the order asked, indicators in 766 order


def test_a_bad_file_stores_nothing_and_names_every_row(app: Flask, db: Session, units: list[str]) -> None:
    bad = csv_file(
        f"{units[0]},Phường 1,2026-Q3,1180,1214,655,1214,9,10,1163,1214",
        "96-77-77,Không có,2026-Q3,1,2,,,,,,",
        f"{units[1]},Phường 5,2026-Q5,1,2,,,,,,",
        f"{units[2]},Xã Tắc Vân,2026-Q3,mười,20,,,,,,",
        f"{units[3]},Thị trấn Thới Bình,2026-Q3,30,20,,,,,,",
        f"{units[4]},Xã Biển Bạch,2026-Q3,,,,,4,,,",
    )
    with app.test_request_context(), pytest.raises(admin_index.ImportRefused) as refused:
        admin_index.import_file(db, "sai.csv", bad)
    problems = refused.value.problems
    assert len(problems) == 5
    assert problems[0].startswith("Dòng 3") and "96-77-77" in problems[0]
    assert problems[1].startswith("Dòng 4") and "2026-Q5" in problems[1]
    assert problems[2].startswith("Dòng 5") and "mười" in problems[2] and "Hồ sơ giải quyết đúng hạn" in problems[2]
    assert problems[3].startswith("Dòng 6") and "(30)" in problems[3] and "(20)" in problems[3]
    assert problems[4].startswith("Dòng 7")
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AdminIndexFigure)) == 0


def test_english_messages_on_request(app: Flask, db: Session, units: list[str]) -> None:
    with app.test_request_context("/?lang=en"), pytest.raises(admin_index.ImportRefused) as refused:
        admin_index.import_file(db, "x.csv", csv_file("96-77-77,,2026-Q3,1,2,,,,,,"))
    assert refused.value.problems == ["Row 2: there is no unit with the code “96-77-77”."]


def test_an_xlsx_with_the_period_chosen_at_upload_and_a_reimport_replaces(app: Flask, db: Session, units: list[str]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Mã đơn vị", "Hồ sơ giải quyết đúng hạn", "Hồ sơ đã giải quyết"])
    sheet.append([units[0], 90, 100.0])
    sheet.append([None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    with app.test_request_context():
        admin_index.import_file(db, "q3.xlsx", buffer.getvalue(), period="2026-q3")
        admin_index.import_file(db, "lai.csv", csv_file(f"{units[0]},,2026-Q3,95,100,,,,,,"))
        db.commit()
        rows = admin_index.figures_for(db, [units[0]], "2026-Q3")
    assert [(r["indicator"], r["numerator"], r["denominator"]) for r in rows] == [("timeliness", 95, 100)]


def test_a_year_adds_up_its_quarters_only_when_all_were_imported(app: Flask, db: Session, units: list[str]) -> None:
    quarters = [f"{units[0]},,2026-Q{q},{80 + q},100,,,,,," for q in (1, 2, 3)]
    with app.test_request_context():
        admin_index.import_file(db, "q.csv", csv_file(*quarters))
        db.commit()
        assert admin_index.figures_for(db, [units[0]], "2026-9M")[0]["numerator"] == 81 + 82 + 83
        assert admin_index.figures_for(db, [units[0]], "2026-9M")[0]["from_quarters"] == ["2026-Q1", "2026-Q2", "2026-Q3"]
        assert admin_index.figures_for(db, [units[0]], "2026-H1")[0]["denominator"] == 200
        assert admin_index.figures_for(db, [units[0]], "2026") == []  # Q4 missing: no year figure


def test_staff_upload_page(client: FlaskClient, staff: Any, units: list[str], db: Session) -> None:
    assert client.get("/staff/admin-index/").status_code == 302  # staff only
    staff.login()
    page = client.get("/staff/admin-index/")
    assert page.status_code == 200 and "Mã đơn vị" in page.get_data(as_text=True)
    template = client.get("/staff/admin-index/template.csv")
    assert template.data.startswith("\ufeffMã đơn vị".encode())
    bad = client.post("/staff/admin-index/", data={"file": (io.BytesIO(csv_file("96-77-77,,2026-Q3,1,2,,,,,,")), "x.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "Dòng 2" in bad.get_data(as_text=True) and "96-77-77" in bad.get_data(as_text=True)
    odd = client.post("/staff/admin-index/", data={"file": (io.BytesIO(b"\x00\x01"), "x.pdf")},
                      content_type="multipart/form-data")
    assert odd.status_code == 422 and "CSV" in odd.get_data(as_text=True)
    stored = client.post("/staff/admin-index/", data={"file": (io.BytesIO(good(units)), "quy3.csv")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert stored.status_code == 200 and "Đã nhập 6 số liệu của 2 đơn vị (2026-Q3)" in stored.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(AdminIndexFigure)) == 6


def test_the_cli_imports_or_lists_the_problems(app: Flask, db: Session, units: list[str], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from survey.commands import main

    monkeypatch.setenv("HAILONG_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("HAILONG_SECRET_KEY", "t" * 64)
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "bad.csv").write_bytes(csv_file("96-77-77,,2026-Q3,1,2,,,,,,"))
    (tmp_path / "good.csv").write_bytes(good(units))
    runner = CliRunner()
    refused = runner.invoke(main, ["admin-index", "import", str(tmp_path / "bad.csv")])
    assert refused.exit_code == 1 and "Dòng 2" in refused.output
    done = runner.invoke(main, ["admin-index", "import", str(tmp_path / "good.csv")])
    assert done.exit_code == 0, done.output
    assert db.scalar(select(func.count()).select_from(AdminIndexFigure)) == 6
