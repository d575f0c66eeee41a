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


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_new_admin_pages_with_the_whole_country_by_keyboard(backend: str, tmp_path: Path) -> None:
    """Issue 9 points 1, 6, 7: after a whole-country import the commune field is a searchable
    combobox (typed without tone marks, chosen with the arrow keys and Enter); the national
    services, a team and an assignment given to it; a kiosk device registered in the admin area
    binds one browser, a second is told the address was used; the PAPI 34-province page — every
    page and state axe-clean."""
    import subprocess

    from playwright.sync_api import expect, sync_playwright

    from tests.browser import HAILONG

    with fresh_database(backend, tmp_path) as url, served(url, tmp_path, responses=30) as server, \
            sync_playwright() as pw:
        subprocess.run([HAILONG, "units", "import", "--all", "--no-history"], env=server.env, check=True,  # noqa: S603
                       capture_output=True)
        base = server.base
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1000, "height": 1400}).new_page()
        page.goto(f"{base}/auth/login")
        page.get_by_label("Tên đăng nhập").fill("admin")
        page.get_by_label("Mật khẩu").fill("hailong-demo")
        page.get_by_role("button", name="Đăng nhập").click()
        page.goto(f"{base}/admin/")

        village = page.locator("#village")
        commune = village.get_by_role("combobox", name="Xã, phường hoặc đặc khu")
        commune.press_sequentially("thoi binh")
        listbox = page.locator("#village-commune-list")
        expect(listbox.get_by_role("option").first).to_contain_text("Xã Thới Bình (32065)")
        expect(commune).to_have_attribute("aria-expanded", "true")
        found = violations(page)  # the page with the list open
        assert not found, describe(found)
        commune.press("ArrowDown")
        expect(commune).to_have_attribute("aria-activedescendant", "village-commune-list-0")
        commune.press("Enter")  # chooses; does not send the form
        expect(commune).to_have_value("Xã Thới Bình (32065)")
        expect(commune).to_have_attribute("aria-expanded", "false")
        village.get_by_label("Tên thôn, ấp").fill("Ấp Kênh Mới")
        village.get_by_label("Tên thôn, ấp").press("Enter")
        expect(page.get_by_role("status")).to_contain_text("Ấp Kênh Mới")

        page.get_by_role("button", name="Thêm danh mục dịch vụ toàn quốc").press("Enter")
        expect(page.get_by_role("status")).to_contain_text("CHUNG-THUC")
        service = page.locator("#service")
        service.get_by_label("Mã dịch vụ").fill("KHAI-SINH")
        service.get_by_label("Tên tiếng Việt").fill("Đăng ký khai sinh")
        service.get_by_label("Tên tiếng Anh").fill("Birth registration")
        service.get_by_role("button", name="Lưu dịch vụ").press("Enter")
        expect(page.get_by_role("status")).to_contain_text("Đăng ký khai sinh")

        team = page.locator("#team")
        team.get_by_label("Tên tổ").fill("Tổ An Xuyên")
        area = team.get_by_role("combobox", name="Địa bàn (tỉnh hoặc xã)")
        area.press_sequentially("an xuyen")
        expect(page.locator("#team-unit-list").get_by_role("option").first).to_contain_text("(32002)")
        area.press("ArrowDown")
        area.press("Enter")
        team.get_by_label("Người giám sát").select_option("canbo")
        team.get_by_label("Điều tra viên Nguyễn Văn A (dieutravien)").check()
        team.get_by_role("button", name="Lưu tổ").click()
        expect(page.get_by_role("status")).to_contain_text("Tổ An Xuyên")
        assignment = page.locator("#assignment")
        assignment.get_by_label("hoặc một tổ").select_option("Tổ An Xuyên")
        assignment.get_by_label("Thôn, ấp").select_option("32002-A1")
        assignment.get_by_label("Chỉ tiêu (số phiếu)").fill("4")
        assignment.get_by_role("button", name="Phân công", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("dieutravien — Khóm 1")
        found = violations(page)
        assert not found, describe(found)

        page.locator("#devices").get_by_role("link").first.click()
        expect(page.get_by_role("heading", name="Đăng ký thiết bị đánh giá")).to_be_visible()
        page.get_by_label("Tên thiết bị").fill("Máy tính bảng quầy 1")
        page.get_by_label("Tên thiết bị").press("Enter")
        address = page.locator("#device-url").inner_text()
        assert "#device=" in address
        found = violations(page)
        assert not found, describe(found)
        tablet = browser.new_context().new_page()
        tablet.goto(address)
        for _ in range(100):  # bound once the kiosk cookie is set
            if any(c["name"] == "hailong_kiosk_device" for c in tablet.context.cookies()):
                break
            tablet.wait_for_timeout(100)
        else:
            raise AssertionError("the tablet was not bound")
        copy = browser.new_context().new_page()
        copy.goto(address)
        expect(copy.locator("#bind-status")).to_contain_text("đã được dùng")

        page.goto(f"{base}/staff/papi-benchmark/?province=92&year=2016")
        expect(page.get_by_role("heading", name="Thành phố Cần Thơ")).to_be_visible()
        expect(page.locator("#papi34-table tbody tr")).to_have_count(34)
        found = violations(page)
        assert not found, describe(found)
        browser.close()
