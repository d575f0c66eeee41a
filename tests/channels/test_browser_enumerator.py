"""The enumerator app in a real Chromium: offline interviews survive a reload and are stored
exactly once when the network returns; the same batch sent twice at once is stored once."""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from survey.store.models import Channel, Response
from tests.browser import CHROMIUM, CHROMIUM_ARGS, served
from tests.channels.conftest import FIVE
from tests.databases import BACKENDS, fresh_database

pytestmark = pytest.mark.browser


def _count(url: str, **where: object) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).select_from(Response)
            for key, value in where.items():
                query = query.where(getattr(Response, key) == value)
            return int(conn.scalar(query) or 0)
    finally:
        engine.dispose()


def _post(url: str, body: object, token: str | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    headers = {"Content-Type": "application/json", "Accept-Language": "vi"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as r:  # noqa: S310 - loopback test server
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _interview(page, expect) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Phỏng vấn mới").first.click()
    page.get_by_role("button", name="Có, người trả lời đồng ý").click()
    for question in FIVE:
        page.locator(f"fieldset[data-question='{question}']").get_by_text("Hài lòng", exact=True).click()
    page.get_by_role("button", name="Kết thúc phỏng vấn").click()
    expect(page.get_by_role("status").filter(has_text="đã được lưu")).to_be_visible()


@pytest.mark.parametrize("backend", BACKENDS)
def test_offline_interviews_survive_reload_and_sync_exactly_once(backend: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with fresh_database(backend, tmp_path) as url, served(url, tmp_path, responses=50) as server, \
            sync_playwright() as pw:
        base = server.base
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 800, "height": 1200})
        page = context.new_page()
        page.goto(f"{base}/enumerator/")
        page.get_by_label("Tên đăng nhập").fill("dieutravien")
        page.get_by_label("Mật khẩu").fill("hailong-demo")
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("heading", name="Ấp 1")).to_be_visible()
        page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15_000)

        context.set_offline(True)  # the browser's view (navigator.onLine, "offline" event)...
        server.stop()  # ...and the network itself: nothing can reach the server
        for _ in range(3):
            _interview(page, expect)
        expect(page.locator("#count-queued")).to_have_text("3")
        page.reload()  # offline: the service worker serves the app, IndexedDB still holds the outbox
        expect(page.get_by_role("heading", name="Ấp 1")).to_be_visible()
        expect(page.locator("#count-queued")).to_have_text("3")
        assert _count(url, channel=Channel.ENUMERATOR) == 0

        server.start()
        context.set_offline(False)  # no refresh: the app notices and syncs by itself
        expect(page.locator("#count-sent")).to_have_text("3", timeout=20_000)
        expect(page.locator("#count-queued")).to_have_text("0")
        assert _count(url, channel=Channel.ENUMERATOR) == 3
        stored = create_engine(url)
        with stored.connect() as conn:
            paradata = conn.scalars(select(Response.paradata).where(Response.channel == Channel.ENUMERATOR)).all()
        stored.dispose()
        assert all(p["consent"] is True and p["duration_seconds"] >= 0 and p["questionnaire_version"] for p in paradata)
        browser.close()

        # The same batch uploaded twice at the same moment is stored once.
        status, body = _post(f"{base}/api/v1/auth/token", {"username": "dieutravien", "password": "hailong-demo"})
        assert status == 201
        token = body["token"]
        assignment = json.loads(urllib.request.urlopen(urllib.request.Request(  # noqa: S310
            f"{base}/api/v1/assignments", headers={"Authorization": f"Bearer {token}"})).read())["assignments"][1]["id"]
        batch = {"submissions": [{"id": str(uuid.uuid4()), "assignment": assignment, "answers": FIVE}
                                 for _ in range(40)]}
        results: list[dict] = []  # type: ignore[type-arg]
        barrier = threading.Barrier(2)

        def upload() -> None:
            barrier.wait()
            results.append(_post(f"{base}/api/v1/submissions/batch", batch, token)[1])

        threads = [threading.Thread(target=upload) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = [r["status"] for res in results for r in res["results"]]
        assert statuses.count("created") == 40 and statuses.count("duplicate") == 40
        assert _count(url, assignment_id=assignment) == 40
