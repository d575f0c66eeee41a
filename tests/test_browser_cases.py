"""A complaint from the kiosk to an answer on time, rated by the citizen and counted on the portal,
in a real Chromium (issue 11 point 8): the citizen marks the comment "phản ánh" on the kiosk and
gets a code, a staff member answers it, the citizen reads the answer with the code and likes it,
the portal's counters show it answered on time. axe-core finds nothing on the pages on the way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.axe import describe, violations
from tests.browser import CHROMIUM, CHROMIUM_ARGS, running_server
from tests.databases import BACKENDS, fresh_database

pytestmark = pytest.mark.browser

QUESTIONS = ("access_facilities", "procedure_as_regulated", "servant_conduct", "result_on_time", "feedback_channel")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_kiosk_complaint_is_answered_rated_and_counted(backend: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with fresh_database(backend, tmp_path) as url, running_server(url, tmp_path, responses=20,
                                                                  KIOSK_RETURN_SECONDS="2") as base, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        kiosk = browser.new_context(viewport={"width": 800, "height": 1280}).new_page()
        kiosk.goto(f"{base}/kiosk/32002-MC")
        kiosk.get_by_role("link", name="Chứng thực, xác nhận").click()
        for question in QUESTIONS:
            kiosk.locator(f"fieldset:has(input[name='{question}'])").get_by_role(
                "radio", name="Hài lòng", exact=True).click()
        kiosk.get_by_label("Ý kiến góp ý khác (không bắt buộc)").fill("Phải chờ hơn một giờ mới được tiếp nhận hồ sơ.")
        kiosk.get_by_role("radio", name="Phản ánh", exact=True).check()
        found = violations(kiosk)
        assert found == [], describe(found)
        kiosk.get_by_role("button", name="Gửi đánh giá").click()
        code_box = kiosk.locator(".case-code")
        expect(code_box).to_be_visible(timeout=15000)
        code = code_box.inner_text().strip()
        assert re.fullmatch(r"PA-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
        found = violations(kiosk)
        assert found == [], describe(found)

        staff = browser.new_context().new_page()
        staff.goto(f"{base}/auth/login")
        staff.get_by_label("Tên đăng nhập").fill("canbo")
        staff.get_by_label("Mật khẩu").fill("hailong-demo")
        staff.get_by_role("button", name="Đăng nhập").click()
        staff.goto(f"{base}/staff/")
        expect(staff.locator("#todo")).to_contain_text("phiếu bị gắn cờ")  # the unregistered kiosk's rating
        staff.goto(f"{base}/staff/cases/")
        staff.get_by_role("link", name=code).click()
        expect(staff.locator("#case-text")).to_have_text("Phải chờ hơn một giờ mới được tiếp nhận hồ sơ.")
        found = violations(staff)
        assert found == [], describe(found)
        staff.get_by_label("Trả lời người dân").fill("Đơn vị đã bố trí thêm một cán bộ tiếp nhận buổi sáng.")
        staff.get_by_role("button", name="Gửi câu trả lời").click()
        expect(staff.locator("#case-status")).to_contain_text("Đã trả lời")

        citizen = browser.new_context().new_page()
        citizen.goto(f"{base}/cases/")
        citizen.get_by_label("Mã phản ánh, kiến nghị").fill(code.lower())
        citizen.get_by_role("button", name="Tra cứu").click()
        expect(citizen.locator("#case-answer")).to_have_text("Đơn vị đã bố trí thêm một cán bộ tiếp nhận buổi sáng.")
        found = violations(citizen)
        assert found == [], describe(found)
        citizen.get_by_role("button", name="Có, tôi hài lòng").click()
        expect(citizen.locator("#case-status")).to_have_text("Đã kết thúc")

        citizen.goto(f"{base}/cases/figures")
        row = citizen.locator('tr[data-unit="32002"]')
        expect(row.locator('td[data-counter="received"]')).to_have_text("1")
        expect(row.locator('td[data-counter="answered_on_time"]')).to_have_text("1")
        expect(citizen.locator("#indicator-5-2")).to_contain_text("100,0%")
        found = violations(citizen)
        assert found == [], describe(found)
        browser.close()
