"""Issue 12 point 2 (enumerator side), left over at stop 16: in a real Chromium, the enumerator
app's outbox keeps an interview the server answered 429 or 5xx for (a retry later stores it),
moves one refused for good (422, with its reason) to the visible "could not be sent" list, and
the rest of the queue still drains. The server's answers are shaped by intercepting the batch
request (Playwright's routing); the retry goes to the real server. SQLite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from survey.store.models import Channel
from tests.browser import CHROMIUM, CHROMIUM_ARGS, served
from tests.channels.test_browser_enumerator import _count, _interview
from tests.databases import fresh_database

pytestmark = pytest.mark.browser

FATES = [(429, "rate_limited", "Quá nhiều yêu cầu."), (503, "unavailable", "Máy chủ đang bận."),
         (422, "invalid", "Câu trả lời không hợp lệ (thử nghiệm).")]


def test_the_outbox_retries_429_and_5xx_and_lists_what_was_refused_for_good(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    fate_of: dict[str, tuple[int, str, str]] = {}
    sent: dict[str, int] = {}  # how many times each interview went out to the (shaped) server

    def shaped(route: Any) -> None:
        items = json.loads(route.request.post_data or "{}")["submissions"]
        results = []
        for item in items:
            if item["id"] not in fate_of:
                fate_of[item["id"]] = FATES[len(fate_of) % len(FATES)]
            status, code, message = fate_of[item["id"]]
            results.append({"id": item["id"], "status": code, "http_status": status, "message": message})
            sent[item["id"]] = sent.get(item["id"], 0) + 1
        route.fulfill(status=207, content_type="application/json", body=json.dumps({"results": results}))

    with fresh_database("sqlite", tmp_path) as url, served(url, tmp_path, responses=50) as server, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 800, "height": 1200})
        page = context.new_page()
        page.goto(f"{server.base}/enumerator/")
        page.get_by_label("Tên đăng nhập").fill("dieutravien")
        page.get_by_label("Mật khẩu").fill("hailong-demo")
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("heading", name="Ấp 1")).to_be_visible()
        page.route("**/api/v1/submissions/batch", shaped)
        context.set_offline(True)  # (the routed batch still answers: each interview syncs what is queued)
        for _ in range(3):
            _interview(page, expect)
        context.set_offline(False)
        expect(page.locator("#count-failed")).to_have_text("1", timeout=20_000)
        expect(page.locator("#count-queued")).to_have_text("2")  # 429 and 503: kept for a retry
        expect(page.get_by_text("Câu trả lời không hợp lệ (thử nghiệm).")).to_be_visible()  # the reason, shown
        assert _count(url, channel=Channel.ENUMERATOR) == 0
        by_fate = {fate_of[i][0]: n for i, n in sent.items()}
        assert by_fate[422] == 1  # refused for good: never sent again
        assert by_fate[429] >= 2 and by_fate[503] >= 2  # kept ones went out again with the later syncs
        page.unroute("**/api/v1/submissions/batch")
        context.set_offline(True)
        context.set_offline(False)  # back online: the app syncs again, now with the real server
        expect(page.locator("#count-sent")).to_have_text("2", timeout=30_000)
        expect(page.locator("#count-queued")).to_have_text("0")
        expect(page.locator("#count-failed")).to_have_text("1")  # refused for good: not sent again
        assert _count(url, channel=Channel.ENUMERATOR) == 2
        browser.close()
