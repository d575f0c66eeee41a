"""The staff page for the small-area model's unit figures (``/staff/covariates/``): an analyst
uploads the file the command takes; a file with a bad row stores nothing and lists every row's
problem in Vietnamese; rows outside the account's data-entry area are refused; the stored figures
are listed and used by the ranking's model; the upload is in the audit log. Both databases."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.auth import hash_password
from survey.store.models import AuditEvent, Role, Unit, UnitCovariate, User

PASSWORD = "mat-khau-rat-dai-2026"


def _signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def _upload(client: FlaskClient, name: str, text: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/staff/covariates/", data={"file": (io.BytesIO(text.encode("utf-8")), name), **extra},
                       content_type="multipart/form-data")


def test_an_analyst_uploads_unit_figures_and_a_bad_file_stores_nothing(app: Flask, db: Session, demo: str) -> None:
    communes = {u.code: u for u in db.scalars(select(Unit).where(Unit.code.in_(["32002", "31825"])))}
    db.add_all([
        User(username="phantich2", password_hash=hash_password(PASSWORD), role=Role.ANALYST),
        User(username="phantichxa", password_hash=hash_password(PASSWORD), role=Role.ANALYST,
             view_unit_id=communes["32002"].id, entry_unit_id=communes["32002"].id),
        User(username="canbo2", password_hash=hash_password(PASSWORD), role=Role.STAFF),
    ])
    db.commit()
    analyst = _signed_in(app, "phantich2")
    page = analyst.get("/staff/covariates/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Số liệu của đơn vị cho ước lượng mô hình" in html and "Chưa có số liệu nào" in html

    template = analyst.get("/staff/covariates/template.csv")
    assert template.status_code == 200 and template.data.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    assert template.data.decode("utf-8-sig").splitlines()[0].startswith("Mã đơn vị,Tên đơn vị,population")

    bad = _upload(analyst, "cov.csv", "Mã đơn vị,population,poverty_rate,Nguồn\n"
                                      "32002,41000,0.05,NQ 1655\n99999,1000,0.1,NQ 1655\n31825,35000,1.7,NQ 1655\n")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Dòng 3: không có đơn vị 99999." in text
    assert "Dòng 4: poverty_rate phải nằm trong khoảng từ 0 đến 1." in text
    assert db.scalar(select(UnitCovariate).limit(1)) is None  # nothing of the good row either

    good = _upload(analyst, "cov.csv", "Mã đơn vị;population;area_km2;Năm\n32002;41000;38,5;2025\n31825;35000;120;2025\n",
                   source="Nghị quyết 1655/NQ-UBTVQH15")
    assert good.status_code == 303
    listed = analyst.get("/staff/covariates/").get_data(as_text=True)
    assert "4 giá trị của 2 đơn vị" in listed  # the flash after the redirect
    db.expire_all()
    stored = {(c.unit_id, c.name): (c.value, c.year, c.source) for c in db.scalars(select(UnitCovariate))}
    assert stored[(communes["32002"].id, "area_km2")] == (38.5, 2025, "Nghị quyết 1655/NQ-UBTVQH15")  # decimal comma
    assert stored[(communes["31825"].id, "population")] == (35000.0, 2025, "Nghị quyết 1655/NQ-UBTVQH15")
    assert 'data-name="population"' in listed and "Nghị quyết 1655/NQ-UBTVQH15" in listed
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "covariates.import")).one()
    assert event.username == "phantich2" and event.details == {"units": 2, "values": 4,
                                                               "covariates": "area_km2,population"}

    # A commune's analyst may enter figures for the commune only: a row of another one is refused.
    local = _signed_in(app, "phantichxa")
    outside = _upload(local, "cov.csv", "Mã đơn vị,population,Nguồn\n32002,41500,GSO\n31825,36000,GSO\n")
    assert outside.status_code == 422
    assert "Dòng 3: đơn vị 31825 nằm ngoài phạm vi nhập liệu" in outside.get_data(as_text=True)
    db.expire_all()
    assert db.get(UnitCovariate, next(c.id for c in db.scalars(select(UnitCovariate)) if
                                      c.unit_id == communes["32002"].id and c.name == "population")).value == 41000.0

    # An officer does not upload model figures; nobody signed in is sent to sign in.
    assert _signed_in(app, "canbo2").get("/staff/covariates/").status_code == 403
    assert app.test_client().get("/staff/covariates/").status_code in (302, 401)


def test_an_unreadable_or_empty_upload_is_a_message_not_an_error(app: Flask, db: Session, demo: str) -> None:
    db.add(User(username="phantich2", password_hash=hash_password(PASSWORD), role=Role.ANALYST))
    db.commit()
    analyst = _signed_in(app, "phantich2")
    for name, content, says in [("cov.xlsx", "not a workbook", "XLSX"), ("cov.txt", "a,b", "CSV hoặc XLSX"),
                                ("cov.csv", "", "trống")]:
        answer = _upload(analyst, name, content)
        assert answer.status_code == 422, name
        assert says in answer.get_data(as_text=True), name
    missing = analyst.post("/staff/covariates/", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "chọn tệp cần tải lên" in missing.get_data(as_text=True)
