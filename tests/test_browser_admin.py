"""The admin area in Chromium, on SQLite and PostgreSQL: an administrator creates a village, a desk,
an enumerator and an assignment with the keyboard-usable forms (axe-core finds no WCAG A/AA
violation); the new enumerator signs in to the enumerator app and sees the assignment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.axe import describe, violations
from tests.browser import CHROMIUM, CHROMIUM_ARGS, served
from tests.databases import BACKENDS, fresh_database

PASSWORD = "nắng sớm mưa chiều cà mau"  # noqa: S105 - a test account's password


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_admin_sets_up_a_village_desk_enumerator_and_assignment(backend: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with fresh_database(backend, tmp_path) as url, served(url, tmp_path, responses=30) as server, \
            sync_playwright() as pw:
        base = server.base
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1000, "height": 1400}).new_page()
        page.goto(f"{base}/auth/login")
        page.get_by_label("Tên đăng nhập").fill("admin")
        page.get_by_label("Mật khẩu").fill("hailong-demo")
        page.get_by_role("button", name="Đăng nhập").click()
        page.get_by_role("link", name="Thiết lập").click()
        expect(page.get_by_role("heading", name="Thiết lập của tỉnh")).to_be_visible()
        found = violations(page)
        assert not found, describe(found)

        village = page.locator("#village")
        village.get_by_label("Xã, phường hoặc đặc khu").select_option("32014")
        village.get_by_label("Tên thôn, ấp").fill("Khóm Cây Dương")
        village.get_by_label("Loại").select_option("khu_pho")
        village.get_by_label("Tên thôn, ấp").press("Enter")  # the keyboard submits the form
        expect(page.get_by_role("status")).to_contain_text("Khóm Cây Dương")

        desk = page.locator("#desk")
        desk.get_by_label("Đơn vị").select_option("32014")
        desk.get_by_label("Tên quầy").fill("Bộ phận Một cửa Phường Lý Văn Lâm — quầy 2")
        desk.get_by_role("button", name="Thêm quầy").click()
        expect(page.get_by_role("status")).to_contain_text("quầy 2")

        account = page.locator("#account")
        account.get_by_label("Tên đăng nhập").fill("dtv-lvl")
        account.get_by_label("Họ và tên").fill("Lê Văn C")
        account.get_by_label("Vai trò").select_option("enumerator")
        account.get_by_label("Mật khẩu", exact=True).fill("short")
        account.get_by_label("Nhập lại mật khẩu").fill("short")
        account.get_by_role("button", name="Thêm tài khoản").click()
        expect(page.get_by_role("alert")).to_contain_text("ít nhất 10 ký tự")
        expect(page.locator("#account-full-name")).to_have_value("Lê Văn C")  # kept; the password is not
        found = violations(page)  # the page with an error message is accessible too
        assert not found, describe(found)
        account.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
        account.get_by_label("Nhập lại mật khẩu").fill(PASSWORD)
        account.get_by_label("Tên đăng nhập").fill("dtv-lvl")
        account.get_by_role("button", name="Thêm tài khoản").click()
        expect(page.get_by_role("status")).to_contain_text("dtv-lvl")

        assignment = page.locator("#assignment")
        assignment.get_by_label("Điều tra viên").select_option("dtv-lvl")
        assignment.get_by_label("Thôn, ấp").select_option("32014-A4")
        assignment.get_by_label("Chỉ tiêu (số phiếu)").fill("12")
        assignment.get_by_role("button", name="Phân công", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("dtv-lvl — Khóm Cây Dương")

        enumerator = browser.new_context(viewport={"width": 800, "height": 1200}).new_page()
        enumerator.goto(f"{base}/enumerator/")
        enumerator.get_by_label("Tên đăng nhập").fill("dtv-lvl")
        enumerator.get_by_label("Mật khẩu").fill(PASSWORD)
        enumerator.get_by_role("button", name="Đăng nhập").click()
        expect(enumerator.get_by_role("heading", name="Khóm Cây Dương")).to_be_visible()
        browser.close()
