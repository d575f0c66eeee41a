"""Issue 9 point 3 in Chromium, on SQLite and PostgreSQL: after a whole-country import the staff
pages' unit field is a searchable combobox; for a quarter before 1 July 2025 it also lists the
historical units (the old districts and communes of the demo's Cà Mau), marked "trước 1/7/2025";
for a later quarter only today's, until the user ticks "Cả các đơn vị trước 1/7/2025" — chosen
with the keyboard, axe-clean with the list open."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.axe import describe, violations
from tests.browser import CHROMIUM, CHROMIUM_ARGS, served
from tests.databases import BACKENDS, fresh_database


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_unit_field_finds_historical_units_for_an_old_quarter(backend: str, tmp_path: Path) -> None:
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

        page.goto(f"{base}/staff/results?unit=96&period=2024-Q1&questionnaire=sipas-kiosk")
        field = page.get_by_role("combobox", name="Đơn vị")
        field.fill("")  # it holds the unit shown (96)
        field.press_sequentially("thoi binh")
        options = page.locator("#unit-list").get_by_role("option")
        expect(options.first).to_contain_text("Thới Bình")
        old = options.filter(has_text="trước 1/7/2025")
        expect(old.first).to_be_visible()  # the old district / commune, marked
        today = options.filter(has_text="Xã Thới Bình (32065)")
        assert "trước 1/7/2025" not in today.first.inner_text()  # today's commune, not marked
        texts = [o.inner_text() for o in options.all()]
        chosen = next(t for t in texts if "trước 1/7/2025" in t)
        for _ in range(texts.index(chosen) + 1):
            field.press("ArrowDown")
        field.press("Enter")  # chooses; does not send the form
        expect(field).to_have_value(chosen.split(" — ")[0].split(" (trước")[0])  # "Name (code)"
        page.get_by_role("button", name="Xem kết quả").click()
        code = chosen.split(" — ")[0].split(" (trước")[0].rsplit("(", 1)[1].rstrip(")")
        expect(page).to_have_url(re.compile(f"unit={re.escape(code)}"))
        expect(page.locator("h1")).to_contain_text(chosen.split(" (")[0])  # the old unit's page

        page.goto(f"{base}/staff/results?unit=96&period=2026-Q1&questionnaire=sipas-kiosk")
        field = page.get_by_role("combobox", name="Đơn vị")
        field.fill("")  # it holds the unit shown (96)
        field.press_sequentially("thoi binh")
        options = page.locator("#unit-list").get_by_role("option")
        expect(options.first).to_contain_text("Thới Bình")
        assert not any("trước 1/7/2025" in o.inner_text() for o in options.all())  # today's map only
        box = page.get_by_label("Cả các đơn vị trước 1/7/2025")
        box.check()  # the list asks again, with history=1
        expect(page.locator("#unit-list li.historical").first).to_be_attached(timeout=15_000)
        field.press("ArrowDown")  # back in the field: the list again, with the old units
        expect(options.filter(has_text="Huyện Thới Bình (cu-967)").first).to_be_visible(timeout=15_000)
        found = violations(page)
        assert not found, describe(found)
        browser.close()
