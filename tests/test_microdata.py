"""Response-level data for analysts, on SQLite and PostgreSQL: SPSS and Stata files with
Vietnamese variable and value labels, CSV for Excel and XLSX, the same numbers as stored, and
no dossier code, personal question or free text in any of them."""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from pathlib import Path

import pyreadstat
from openpyxl import load_workbook
from sqlalchemy import func, select

from survey.collect.responses import store_response
from survey.reports.sipas_tables import subtree_ids
from survey.store.catalogue import latest
from survey.store.models import AnswerValue, Channel, Response, Service, Unit

QUERY = "questionnaire=sipas-kiosk&unit=cu-967"


def _read(fmt: str, body: bytes):  # type: ignore[no-untyped-def]
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False) as f:
        f.write(body)
    try:
        reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        return reader(f.name)
    finally:
        Path(f.name).unlink()


def _cell(value: str) -> str:
    """A CSV-for-Excel cell as a spreadsheet shows it (``="96-04"`` is the text 96-04)."""
    return value[2:-1].replace('""', '"') if value.startswith('="') and value.endswith('"') else value


def test_spss_and_stata_files_carry_vietnamese_labels_and_the_stored_answers(client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    unit = db.scalar(select(Unit).where(Unit.code == "cu-967"))
    expected = {str(rid): value for rid, value in db.execute(
        select(Response.id, AnswerValue.value_num).join(AnswerValue, AnswerValue.response_id == Response.id).where(
            Response.questionnaire_id == "sipas-kiosk", Response.unit_id.in_(subtree_ids(db, unit)),
            AnswerValue.question_id == "servant_conduct"))}
    n = db.scalar(select(func.count()).select_from(Response).where(
        Response.questionnaire_id == "sipas-kiosk", Response.unit_id.in_(subtree_ids(db, unit))))
    staff.login()
    for fmt in ("sav", "dta"):
        resp = client.get(f"/staff/export.{fmt}?{QUERY}")
        assert resp.status_code == 200 and f'du-lieu_sipas-kiosk_cu-967.{fmt}"' in resp.headers["Content-Disposition"]
        frame, meta = _read(fmt, resp.get_data())
        assert len(frame) == n
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        kiosk = latest("sipas-kiosk")
        assert labels["servant_conduct"] == kiosk.question("servant_conduct").label.get("vi")
        for name, label in labels.items():  # Stata holds 80 characters a label: longer ones are cut, visibly
            full = kiosk.question(name).label.get("vi") if name in {q.id for q in kiosk.questions} else label
            if fmt == "dta" and len(full) > 80:
                assert len(label) == 80 and label.endswith("…") and full.startswith(label[:-1].rstrip())
            else:
                assert label == full
        assert meta.variable_value_labels["servant_conduct"][1] == "Rất không hài lòng"
        assert meta.variable_value_labels["servant_conduct"][5] == "Rất hài lòng"
        got = dict(zip(frame["response_id"], frame["servant_conduct"], strict=True))
        assert {k: v for k, v in got.items() if v == v} == expected  # NaN: not answered
        codes = set(db.scalars(select(Unit.code).where(Unit.id.in_(subtree_ids(db, unit)))))
        assert set(frame["unit_code"]) <= codes and "cu-967" in codes  # the old district and its communes
        for never in ("dossier_code", "comment"):
            assert never not in frame.columns


def test_csv_and_xlsx_with_answer_texts_and_no_personal_data(client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    kiosk = latest("sipas-kiosk")
    unit = db.scalar(select(Unit).where(Unit.code == "cu-32065"))
    service = db.scalar(select(Service).where(Service.code == "TTHC-XA"))
    rid = uuid.uuid4()
    store_response(db, secret="s", questionnaire=kiosk, unit_id=unit.id, service_id=service.id, channel=Channel.WEB,
                   response_id=rid, answers={"dossier_code": "000.00.12.H12-260101-0099", "overall": 4,
                                             "servant_conduct": 2, "comment": "Chị Lan ở quầy 3, số 0912345678"})
    staff.login()
    body = client.get(f"/staff/export.csv?{QUERY}&service=TTHC-XA&values=labels").get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    rows = {_cell(r["response_id"]): {k: _cell(v) for k, v in r.items()} for r in csv.DictReader(io.StringIO(text))}
    raw = next(csv.DictReader(io.StringIO(text)))
    assert raw["service_code"] == '="TTHC-XA"'  # codes are written so that a spreadsheet keeps them as text
    mine = rows[str(rid)]
    assert mine["overall"] == "Hài lòng" and mine["servant_conduct"] == "Không hài lòng"
    assert mine["unit_name"] == "Thị trấn Thới Bình" and mine["channel"] == "web"
    for personal in ("0912345678", "Chị Lan", "H12-260101-0099"):
        assert personal not in text
    assert {r["service_code"] for r in rows.values()} == {"TTHC-XA"}
    sheet = load_workbook(io.BytesIO(client.get(f"/staff/export.xlsx?{QUERY}").get_data()))
    data, variables = sheet["data"], sheet["variables"]
    header = [c.value for c in data[1]]
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in data.iter_rows(min_row=2, values_only=True)}
    assert by_id[str(rid)]["servant_conduct"] == 2  # a number, not text
    described = {row[0]: row for row in variables.iter_rows(min_row=2, values_only=True)}
    assert "1 = Rất không hài lòng" in described["servant_conduct"][2]


def test_export_choices_and_refusals(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    page = client.get("/staff/export").get_data(as_text=True)
    assert "Dữ liệu để phân tích" in page and 'formaction="/staff/export.sav"' in page
    assert client.get(f"/staff/export.pdf?{QUERY}").status_code == 404
    assert client.get(f"/staff/export.csv?{QUERY}&period=Q7").status_code == 400
    assert client.get("/staff/export.csv?questionnaire=khong-co").status_code == 404
