"""Issue 9 point 6: a province sets itself up without code — the admin area (admins only) and
``hailong setup``: villages, desks, accounts (password policy) and assignments, one by one and
from CSV/XLSX templates with row-numbered errors in Vietnamese; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import select

from survey.store.models import Assignment, Desk, Role, Unit, UnitKind, UnitLevel, User


def _alerts(page: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", "".join(re.findall(r'role="alert".*?</div>', page, re.S)))


def _admin(client):  # type: ignore[no-untyped-def]
    assert client.post("/auth/login", data={"username": "admin", "password": "hailong-demo"}).status_code == 302


def test_only_admins_see_the_set_up_area(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/admin/").status_code == 302  # sign in first
    staff.login()
    assert client.get("/admin/").status_code == 403
    assert "/admin/" not in client.get("/staff/").get_data(as_text=True)  # staff have no link to it
    client.post("/auth/logout")
    _admin(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Thiết lập của tỉnh" in page and 'href="/admin/"' in page


def test_forms_add_a_village_desk_enumerator_and_assignment(client, db, demo) -> None:  # type: ignore[no-untyped-def]
    _admin(client)
    assert client.post("/admin/villages", data={"commune": "32002", "name": "Khóm  Mới ", "kind": "khu_pho"}
                       ).status_code == 302
    village = db.scalar(select(Unit).where(Unit.name == "Khóm Mới"))
    assert village is not None and village.code == "32002-A4" and village.kind == UnitKind.KHU_PHO
    assert village.level == UnitLevel.HAMLET and village.parent.code == "32002" and village.valid_to is None
    again = client.post("/admin/villages", data={"commune": "32002", "name": "khóm mới", "kind": "khu_pho"})
    assert again.status_code == 422 and _alerts(again.get_data(as_text=True)) == [
        "Phường An Xuyên đã có thôn/ấp tên khóm mới."]
    assert 'value="khóm mới"' in again.get_data(as_text=True)  # what was typed is kept
    old = client.post("/admin/villages", data={"commune": "cu-32002", "name": "Ấp 9"})
    assert old.status_code == 422 and "bản đồ hành chính hiện nay" in _alerts(old.get_data(as_text=True))[0]

    assert client.post("/admin/desks", data={"unit": "32002", "name": "Quầy 2", "questionnaire": "sipas-kiosk"}
                       ).status_code == 302
    desk = db.scalar(select(Desk).where(Desk.name == "Quầy 2"))
    assert desk is not None and desk.unit.code == "32002" and desk.code == "32002-MC1"

    weak = client.post("/admin/accounts", data={"username": "dtv2", "role": "enumerator", "password": "12345678",
                                                "password_again": "12345678", "full_name": "Trần Thị B"})
    assert weak.status_code == 422 and _alerts(weak.get_data(as_text=True)) == ["Mật khẩu phải có ít nhất 10 ký tự."]
    page = weak.get_data(as_text=True)
    assert 'value="Trần Thị B"' in page and "12345678" not in page  # a password is never sent back
    common = client.post("/admin/accounts", data={"username": "dtv2", "role": "enumerator", "password": "password123",
                                                  "password_again": "password123"})
    assert common.status_code == 422 and "quá phổ biến" in _alerts(common.get_data(as_text=True))[0]
    good = "mưa dầm thấm lâu cà mau"
    assert client.post("/admin/accounts", data={"username": "DTV2", "role": "enumerator", "password": good,
                                                "password_again": good, "full_name": "Trần Thị B"}).status_code == 302
    user = db.scalar(select(User).where(User.username == "dtv2"))
    assert user is not None and user.role == Role.ENUMERATOR and good not in user.password_hash

    late = client.post("/admin/assignments", data={"enumerator": "dtv2", "village": village.code, "quota": "12",
                                                   "questionnaire": "papi-household", "starts_on": "2026-08-01",
                                                   "ends_on": "2026-07-01"})
    assert late.status_code == 422 and _alerts(late.get_data(as_text=True)) == ["Ngày kết thúc phải sau ngày bắt đầu."]
    not_enumerator = client.post("/admin/assignments", data={"enumerator": "canbo", "village": village.code})
    assert _alerts(not_enumerator.get_data(as_text=True)) == ["canbo không phải tài khoản điều tra viên."]
    assert client.post("/admin/assignments", data={"enumerator": "dtv2", "village": village.code, "quota": "12",
                                                   "questionnaire": "papi-household", "stratum": "urban"}
                       ).status_code == 302
    assignment = db.scalar(select(Assignment).where(Assignment.user_id == user.id))
    assert assignment is not None and (assignment.quota, assignment.stratum, assignment.psu) == (12, "urban", village.code)
    # The enumerator sees it through the API their app uses.
    token = client.post("/api/v1/auth/token", json={"username": "dtv2", "password": good}).get_json()["token"]
    listing = client.get("/api/v1/assignments", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [a["id"] for a in listing["assignments"]] == [assignment.id]


def test_a_template_with_bad_rows_saves_nothing_and_names_each_row(client, db, demo) -> None:  # type: ignore[no-untyped-def]
    _admin(client)
    template = client.get("/admin/templates/villages.csv")
    assert template.status_code == 200 and template.data.startswith(b"\xef\xbb\xbf")
    assert template.data.decode("utf-8-sig").splitlines()[0] == "commune,name,kind,code"
    before = set(db.scalars(select(Unit.code)))
    body = "commune;name;kind\n32002;Khóm 9;khu_pho\n99999;Ấp X;ap\n32014;;ap\n32014;Ấp Y;lang\n".encode()
    resp = client.post("/admin/import", data={"kind": "villages", "file": (io.BytesIO(body), "thon.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 422
    assert _alerts(resp.get_data(as_text=True)) == [
        "Chưa lưu gì: hãy sửa các dòng này rồi gửi lại tệp.",
        "Dòng 3: Không có đơn vị mã 99999 (xã).",
        "Dòng 4: Hãy đặt tên cho thôn, ấp.",
        "Dòng 5: Loại thôn/ấp là một trong: thon, ap, ban, to_dan_pho, khu_pho.",
    ]
    db.expire_all()
    assert set(db.scalars(select(Unit.code))) == before  # nothing stored, not even row 2

    book = Workbook()
    sheet = book.active
    sheet.append(["enumerator", "village", "questionnaire", "quota"])
    sheet.append(["dieutravien", "32002-A1", "papi-household", 8])
    sheet.append(["dieutravien", "32002-A2", "papi-household", 8])
    data = io.BytesIO()
    book.save(data)
    ok = client.post("/admin/import", data={"kind": "assignments", "file": (io.BytesIO(data.getvalue()), "pc.xlsx")},
                     content_type="multipart/form-data")
    assert ok.status_code == 302
    rows = db.scalars(select(Assignment).join(Unit).where(Unit.code.in_(["32002-A1", "32002-A2"]))).all()
    assert sorted((a.unit.code, a.quota, a.psu) for a in rows) == [("32002-A1", 8, "32002-A1"),
                                                                 ("32002-A2", 8, "32002-A2")]
    broken = client.post("/admin/import", data={"kind": "desks", "file": (io.BytesIO(b"PK\x03\x04junk"), "q.xlsx")},
                         content_type="multipart/form-data")
    assert broken.status_code == 422 and _alerts(broken.get_data(as_text=True)) == [
        "Tệp này không phải tệp Excel (.xlsx) đọc được."]


def test_a_village_with_responses_is_ended_not_deleted(db, demo, app) -> None:  # type: ignore[no-untyped-def]
    from survey.admin.setup import SetupError, delete_unit, end_unit

    with app.test_request_context():
        old = db.scalar(select(Unit).where(Unit.code == "32002"))
        with pytest.raises(SetupError, match="danh mục chính thức"):
            end_unit(db, "32002")
        assert old is not None and old.valid_to is None
        desk_unit = db.scalar(select(Unit).where(Unit.code == "96-TTPVHCC"))  # has ratings
        with pytest.raises(SetupError, match="không thể xoá"):
            delete_unit(db, "96-TTPVHCC")
        end_unit(db, "96-TTPVHCC")
        db.commit()
        assert desk_unit is not None and desk_unit.valid_to is not None


def test_setup_cli_reads_the_password_from_stdin_never_an_argument(database_url: str, app, demo,  # type: ignore[no-untyped-def]
                                                                   monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from survey.commands import main

    monkeypatch.setenv("HAILONG_DATABASE_URL", database_url)
    monkeypatch.setenv("HAILONG_SECRET_KEY", "t" * 64)
    runner = CliRunner()
    add = main.commands["setup"].commands["add-account"]  # type: ignore[attr-defined]
    assert "password" not in {p.name for p in add.params}  # only --password-stdin, a flag
    weak = runner.invoke(main, ["setup", "add-account", "dtv3", "--role", "enumerator", "--password-stdin"],
                         input="abc\n")
    assert weak.exit_code != 0 and "ít nhất 10 ký tự" in weak.output
    ok = runner.invoke(main, ["setup", "add-account", "dtv3", "--role", "enumerator", "--password-stdin"],
                       input="nước chảy đá mòn ở cà mau\n")
    assert ok.exit_code == 0, ok.output
    prompted = runner.invoke(main, ["setup", "add-account", "dtv4", "--role", "staff"],
                             input="nước chảy đá mòn ở cà mau\nnước chảy đá mòn ở cà mau\n")
    assert prompted.exit_code == 0 and "nước chảy" not in prompted.output
    village = runner.invoke(main, ["setup", "add-village", "32014", "Ấp Cây Me", "--kind", "ap"])
    assert village.exit_code == 0 and "32014-A4" in village.output
    file = tmp_path / "pc.csv"
    file.write_text("enumerator,village,quota\ndtv3,32014-A4,10\ndtv3,32014-A9,10\n", encoding="utf-8")
    bad = runner.invoke(main, ["setup", "import", "assignments", str(file)])
    assert bad.exit_code != 0 and "Dòng 3: Không có đơn vị mã 32014-A9 (thôn, ấp)." in bad.output
    file.write_text("enumerator,village,quota\ndtv3,32014-A4,10\n", encoding="utf-8")
    good = runner.invoke(main, ["setup", "import", "assignments", str(file)])
    assert good.exit_code == 0 and "1 assignments added" in good.output, good.output
