"""Two-level review in Chromium, on SQLite and PostgreSQL (issue 11 point 8): a supervisor sends a
flagged interview back to its enumerator with a comment; the enumerator reads it, corrects an
answer and resubmits; the supervisor approves; the province officer approves — and only then is
the interview approved in the database. The review page passes axe-core (WCAG A/AA)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from tests.axe import describe, violations
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.databases import BACKENDS, fresh_database

PASSWORD = "hailong-demo"  # noqa: S105 - the demo accounts' password
COMMENT = "Hỏi lại câu về thái độ công chức"


@contextmanager
def _served(url: str, instance: Path) -> Iterator[str]:
    """The app with the demo data, served by werkzeug in a thread on a port the OS gives (it starts
    in a second even on a loaded machine, unlike a gunicorn process)."""
    from werkzeug.serving import make_server

    from survey import create_app
    from survey.demo import load_demo
    from survey.store.migrate import upgrade

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-review-secret-key-0123456789",
                      "DOSSIER_KEY_FILE": str(instance / "dossier_keys.json"), "TESTING": True})
    load_demo(app.extensions["hailong.engine"], secret=app.config["SECRET_KEY"], n_responses=20, seed=7,
              papi_per_village=0)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        app.extensions["hailong.engine"].dispose()


def _prepare(url: str) -> uuid.UUID:
    """A flagged interview of the demo enumerator in Phường Bạc Liêu, and its commune's supervisor."""
    from survey.auth import hash_password
    from survey.collect.responses import store_response
    from survey.store.catalogue import latest
    from survey.store.models import Channel, Response, Role, Service, Unit, User

    engine = create_engine(url)
    try:
        with Session(engine) as db:
            unit = db.scalar(select(Unit).where(Unit.code == "31825"))
            service = db.scalar(select(Service).where(Service.code == "CHUNG-THUC"))
            enumerator = db.scalar(select(User).where(User.username == "dieutravien"))
            assert unit is not None and service is not None and enumerator is not None
            db.add(User(username="giamsat", password_hash=hash_password(PASSWORD), role=Role.SUPERVISOR,
                        view_unit_id=unit.id))
            rid = uuid.uuid4()
            store_response(db, secret="s", questionnaire=latest("sipas-kiosk"), unit_id=unit.id, service_id=service.id,
                           channel=Channel.ENUMERATOR, response_id=rid,
                           answers={"access_facilities": 2, "procedure_as_regulated": 2, "servant_conduct": 1,
                                    "result_on_time": 2, "feedback_channel": 1})
            db.execute(update(Response).where(Response.id == rid).values(flag="too_fast", user_id=enumerator.id))
            db.commit()
        return rid
    finally:
        engine.dispose()


def _status(url: str, rid: uuid.UUID) -> str:
    from survey.store.models import Response

    engine = create_engine(url)
    try:
        with Session(engine) as db:
            return db.get(Response, rid).review_status.value  # type: ignore[union-attr]
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_review_round_trip_across_two_levels_in_chromium(backend: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with fresh_database(backend, tmp_path) as url, _served(url, tmp_path) as base, sync_playwright() as pw:
        rid = _prepare(url)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def sign_in(username: str):  # type: ignore[no-untyped-def]
            page = browser.new_context(viewport={"width": 1200, "height": 1400}).new_page()
            page.goto(f"{base}/auth/login")
            page.get_by_label("Tên đăng nhập").fill(username)
            page.get_by_label("Mật khẩu").fill(PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            return page

        supervisor = sign_in("giamsat")
        supervisor.get_by_role("link", name="Duyệt phiếu").first.click()
        row = supervisor.locator(f'tr[data-response="{rid}"]')
        expect(row).to_contain_text("giờ Việt Nam")
        found = violations(supervisor)
        assert not found, describe(found)
        row.get_by_role("checkbox").check()
        supervisor.get_by_label("Ý kiến hoặc lý do").fill(COMMENT)
        supervisor.get_by_role("button", name="Có vấn đề: trả lại điều tra viên").click()
        expect(supervisor.get_by_role("status").first).to_contain_text("trả lại")
        assert _status(url, rid) == "has_issues"

        enumerator = sign_in("dieutravien")
        enumerator.goto(f"{base}/enumerator/")
        enumerator.get_by_role("link", name="Phiếu phỏng vấn được trả lại cho bạn").click()
        section = enumerator.locator(f'section[data-response="{rid}"]')
        expect(section).to_contain_text(COMMENT)
        section.get_by_label("servant_conduct").fill("4")
        section.get_by_label("Nội dung bạn đã sửa").fill("Đã hỏi lại")
        section.get_by_role("button", name="Gửi lại để duyệt").click()
        expect(enumerator.get_by_text("Không có phiếu phỏng vấn nào được trả lại cho bạn.")).to_be_visible()
        assert _status(url, rid) == "received"

        supervisor.goto(f"{base}/staff/review/")
        supervisor.locator(f'tr[data-response="{rid}"]').get_by_role("checkbox").check()
        supervisor.get_by_role("button", name="Duyệt các phiếu đã chọn").click()
        assert _status(url, rid) == "supervisor_approved"

        province = sign_in("canbo")
        province.goto(f"{base}/staff/review/")
        province.get_by_role("link", name="Chờ cấp tỉnh").click()
        province.locator(f'tr[data-response="{rid}"]').get_by_role("checkbox").check()
        province.get_by_role("button", name="Duyệt các phiếu đã chọn").click()
        expect(province.get_by_role("status").first).to_contain_text("duyệt")
        assert _status(url, rid) == "approved"
        browser.close()
