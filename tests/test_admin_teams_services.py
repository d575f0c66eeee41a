"""Issue 9 point 6 (and issue 11 point 7): services and which units offer them, enumerator teams
with assignments given to a team, and kiosk devices registered inside the admin area — from forms,
CSV/XLSX templates (row-numbered errors in Vietnamese, all or nothing) and ``hailong setup``; on
SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import func, select

from survey.store.models import (
    Assignment,
    Credential,
    Service,
    Team,
    TeamAssignment,
    Unit,
    UnitLevel,
    UnitService,
)


def _alerts(page: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", "".join(re.findall(r'role="alert".*?</div>', page, re.S)))


def _admin(client):  # type: ignore[no-untyped-def]
    assert client.post("/auth/login", data={"username": "admin", "password": "hailong-demo"}).status_code == 302


def _send(client, kind: str, body: bytes, name: str):  # type: ignore[no-untyped-def]
    return client.post("/admin/import", data={"kind": kind, "file": (io.BytesIO(body), name)},
                       content_type="multipart/form-data")


def _offered(db, code: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(db.scalars(select(Unit.code).join(UnitService, UnitService.unit_id == Unit.id)
                          .join(Service, Service.id == UnitService.service_id).where(Service.code == code)))


def test_services_and_the_units_offering_them_come_from_templates(client, db, demo) -> None:  # type: ignore[no-untyped-def]
    _admin(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Dịch vụ" in page and "(bắt buộc)" in page  # the three obligatory fields are marked
    template = client.get("/admin/templates/services.csv").data.decode("utf-8-sig").splitlines()
    assert template[0] == "code,name_vi,name_en,category"
    before = {s.code: s.name_vi for s in db.scalars(select(Service))}
    body = ("code,name_vi,name_en,category\n"
            "KHAI-SINH,Đăng ký khai sinh,Birth registration,administrative\n"
            "CHUNG-THUC,Chứng thực bản sao,Certified copies,administrative\n"
            "Y TE,Khám bệnh,,public\n"
            "TRAM-Y-TE,,Commune health station,public\n"
            "NUOC-SACH,Cấp nước sạch,Clean water,utility\n").encode()
    bad = _send(client, "services", body, "dv.csv")
    assert bad.status_code == 422
    assert _alerts(bad.get_data(as_text=True)) == [
        "Chưa lưu gì: hãy sửa các dòng này rồi gửi lại tệp.",
        "Dòng 4: Mã dịch vụ gồm chữ, số và dấu gạch ngang (tối đa 40 ký tự), ví dụ CHUNG-THUC.",
        "Dòng 5: Hãy ghi tên tiếng Việt của dịch vụ.",
        "Dòng 6: Nhóm là administrative (thủ tục hành chính) hoặc public (dịch vụ công).",
    ]
    db.expire_all()
    assert {s.code: s.name_vi for s in db.scalars(select(Service))} == before  # nothing saved, not even row 2
    book = Workbook()
    sheet = book.active
    for row in (["code", "name_vi", "name_en", "category"],
                ["KHAI-SINH", "Đăng ký khai sinh", "Birth registration", "administrative"],
                ["chung-thuc", "Chứng thực bản sao", "Certified copies", "administrative"]):
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    assert _send(client, "services", data.getvalue(), "dv.xlsx").status_code == 302
    db.expire_all()
    saved = {s.code: (s.name_vi, s.name_en, s.category) for s in db.scalars(select(Service))}
    assert saved["KHAI-SINH"] == ("Đăng ký khai sinh", "Birth registration", "administrative")
    assert saved["CHUNG-THUC"] == ("Chứng thực bản sao", "Certified copies", "administrative")  # edited, same code
    assert len(saved) == len(before) + 1

    # Every commune-level unit of Cà Mau offers the new service; one ward stops offering it.
    communes = {u.code for u in db.scalars(select(Unit).where(Unit.level == UnitLevel.COMMUNE, Unit.valid_to.is_(None),
                                                              Unit.code.like("3%")))}
    assert len(communes) == 64
    body = b"unit,services,below,action\n96,KHAI-SINH,commune,\n32002,KHAI-SINH TTHC-XA,,remove\n"
    assert _send(client, "unit_services", body, "dv-xa.csv").status_code == 302
    assert _offered(db, "KHAI-SINH") == communes - {"32002"}
    assert "32002" not in _offered(db, "TTHC-XA")
    wrong = _send(client, "unit_services", b"unit,services,below\n96,KHONG-CO,commune\n32002,KHAI-SINH,district\n"
, "x.csv")
    assert _alerts(wrong.get_data(as_text=True))[1:] == [
        "Dòng 2: Không có dịch vụ mã KHONG-CO.",
        "Dòng 3: Cột “below” để trống hoặc ghi commune, department hay hamlet.",
    ]


def test_setup_cli_loads_the_national_services_and_offers_them(database_url: str, app, db,  # type: ignore[no-untyped-def]
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A new province without Python: its units from the official list, the national services,
    and every commune offering the commune ones."""
    from survey.commands import main

    monkeypatch.setenv("HAILONG_DATABASE_URL", database_url)
    monkeypatch.setenv("HAILONG_SECRET_KEY", "t" * 64)
    runner = CliRunner()
    assert runner.invoke(main, ["units", "import", "--province", "96", "--no-history"]).exit_code == 0
    listed = runner.invoke(main, ["setup", "services", "--defaults"])
    assert listed.exit_code == 0, listed.output
    assert [line.split()[0] for line in listed.output.splitlines()[:-1]] == sorted(
        ["CHUNG-THUC", "GPXD", "GCN-QSDD", "TTHC-XA", "DKKD", "BV-HUYEN", "TIEU-HOC"])
    assert runner.invoke(main, ["setup", "add-service", "gpxd", "Cấp phép xây dựng"]).exit_code == 0
    again = runner.invoke(main, ["setup", "services", "--defaults"])
    assert "7 services." in again.output and "Cấp phép xây dựng" in again.output  # idempotent, the edit kept
    ok = runner.invoke(main, ["setup", "offer", "96", "CHUNG-THUC TTHC-XA", "--below", "commune"])
    assert ok.exit_code == 0, ok.output
    assert len(_offered(db, "TTHC-XA")) == len(_offered(db, "CHUNG-THUC")) == 64
    assert runner.invoke(main, ["setup", "offer", "96", "CHUNG-THUC TTHC-XA", "--below", "commune"]).exit_code == 0
    assert db.scalar(select(func.count()).select_from(UnitService)) == 128  # offered once
    refused = runner.invoke(main, ["setup", "add-service", "X Y", "Tên"])
    assert refused.exit_code != 0 and "Mã dịch vụ gồm chữ" in refused.output


def test_a_team_gets_an_assignment_shared_among_its_enumerators(client, db, demo) -> None:  # type: ignore[no-untyped-def]
    _admin(client)
    good = "mưa dầm thấm lâu cà mau"
    for name in ("dtv-a", "dtv-b", "dtv-c"):
        assert client.post("/admin/accounts", data={"username": name, "role": "enumerator", "password": good,
                                                    "password_again": good}).status_code == 302
    bad = client.post("/admin/teams", data={"team": "Tổ 1", "unit": "32002", "supervisor": "dtv-a",
                                            "members": ["dtv-b"]})
    assert bad.status_code == 422 and _alerts(bad.get_data(as_text=True)) == [
        "Người giám sát duyệt phiếu trên các trang cán bộ: dtv-a là tài khoản điều tra viên."]
    assert client.post("/admin/teams", data={"team": "Tổ 1", "unit": "32002", "supervisor": "canbo",
                                             "members": ["dtv-a", "dtv-b"]}).status_code == 302
    team = db.scalar(select(Team).where(Team.name == "Tổ 1"))
    assert team is not None and team.supervisor is not None and team.supervisor.username == "canbo"
    assert [m.username for m in team.members] == ["dtv-a", "dtv-b"]
    # A team file: a second row of the same team adds a member; errors name the row.
    body = "team,unit,supervisor,members\nTổ 1,,,dtv-c\nTổ 2,,canbo,dtv-a\nTổ 3,32002,,canbo\n".encode()
    wrong = _send(client, "teams", body, "to.csv")
    assert _alerts(wrong.get_data(as_text=True))[1:] == [
        "Dòng 3: Hãy cho biết đơn vị mà tổ làm việc trên địa bàn.",
        "Dòng 4: canbo không phải tài khoản điều tra viên.",
    ]
    db.expire_all()
    assert [m.username for m in db.get(Team, team.id).members] == ["dtv-a", "dtv-b"]  # all or nothing
    assert _send(client, "teams", "team,members\nTổ 1,dtv-c\n".encode(), "to.csv").status_code == 302
    db.expire_all()
    assert [m.username for m in db.get(Team, team.id).members] == ["dtv-a", "dtv-b", "dtv-c"]

    outside = client.post("/admin/assignments", data={"team": "Tổ 1", "village": "32014-A1", "quota": "10"})
    assert _alerts(outside.get_data(as_text=True))[0].endswith("không thuộc địa bàn của tổ (Phường An Xuyên).")
    few = client.post("/admin/assignments", data={"team": "Tổ 1", "village": "32002-A2", "quota": "2"})
    assert "từ 3" in _alerts(few.get_data(as_text=True))[0]
    both = client.post("/admin/assignments", data={"team": "Tổ 1", "enumerator": "dtv-a", "village": "32002-A2"})
    assert _alerts(both.get_data(as_text=True)) == ["Hãy giao việc cho một điều tra viên hoặc một tổ, không phải cả hai."]
    assert client.post("/admin/assignments", data={"team": "Tổ 1", "village": "32002-A2", "quota": "10",
                                                   "questionnaire": "papi-household"}).status_code == 302
    rows = db.scalars(select(Assignment).join(TeamAssignment, TeamAssignment.assignment_id == Assignment.id)
                      .where(TeamAssignment.team_id == team.id)).all()
    assert sorted((a.user.username, a.quota, a.unit.code) for a in rows) == [
        ("dtv-a", 4, "32002-A2"), ("dtv-b", 3, "32002-A2"), ("dtv-c", 3, "32002-A2")]
    assert all(a.team is not None and a.team.name == "Tổ 1" for a in rows)
    # The enumerators see their part in their app; a team assignment from a file too.
    token = client.post("/api/v1/auth/token", json={"username": "dtv-c", "password": good}).get_json()["token"]
    listing = client.get("/api/v1/assignments", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [a["id"] for a in listing["assignments"]] == [next(a.id for a in rows if a.user.username == "dtv-c")]
    assert _send(client, "assignments", "village,quota,team\n32002-A3,6,Tổ 1\n".encode(), "pc.csv").status_code == 302
    assert db.scalar(select(func.count()).select_from(TeamAssignment).where(TeamAssignment.team_id == team.id)) == 6


def test_a_device_registered_in_the_admin_area_binds_one_browser_once(app, client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    desk_code = "96-TTPVHCC-01"
    staff.login()
    assert client.get(f"/admin/desks/{desk_code}/devices").status_code == 403  # staff do not reach the admin area
    client.post("/auth/logout")
    _admin(client)
    assert f'/admin/desks/{desk_code}/devices' in client.get("/admin/").get_data(as_text=True)
    page = client.post(f"/admin/desks/{desk_code}/devices", data={"label": "Máy tính bảng quầy 1"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    url = re.search(r'<code id="device-url">([^<]+)</code>', text)
    assert url is not None and f"/kiosk/{desk_code}#device=" in url.group(1) and "<svg" in text
    token = url.group(1).split("#device=", 1)[1]
    first, second = app.test_client(), app.test_client()
    assert first.post(f"/kiosk/{desk_code}/bind", headers={"X-Device-Token": token}).status_code == 200
    again = second.post(f"/kiosk/{desk_code}/bind", headers={"X-Device-Token": token})
    assert again.status_code == 403 and "đã được dùng" in again.get_data(as_text=True)
    cred = db.scalar(select(Credential).where(Credential.label == "Máy tính bảng quầy 1"))
    assert cred is not None and cred.last_used_at is not None
    listing = client.get(f"/admin/desks/{desk_code}/devices").get_data(as_text=True)
    assert token not in listing and "đã gắn với một máy" in listing  # the address is shown once only
    assert client.post(f"/admin/desks/{desk_code}/devices", data={"revoke": str(cred.id)}).status_code == 303
    db.expire_all()
    assert db.get(Credential, cred.id).revoked_at is not None
    assert client.get("/admin/desks/KHONG-CO/devices").status_code == 404
