"""The publication workflow and the public portal in Chromium, on the real product (``hailong
serve`` with its task-queue worker, the demo data):

an analyst prepares the 2026 release of Cà Mau → it is built by the background job → the
preview shows exactly the public page, marked as not yet published → a publisher (another
account) approves it → the public page shows it → the analyst prepares a correction → the
publisher publishes version 2 with its changelog, and version 1 says a newer version exists →
the widget on a commune website's page shows version 2's figure and fits its frame (postMessage
height handshake) → the desk display shows one service at a time and keeps its last copy when
the server is gone. axe-core finds no WCAG 2.1 A/AA violation on any portal page on the way
(the PAPI page from the hand-built snapshot of the page tests, stored as another release).

On the way the analyst uploads the province's commune boundaries (the generated Cà Mau fixture),
so the province page draws the boundary map; a file with a bad feature is refused first. The
portal is then read on a phone-width screen (no sideways scrolling, charts fit) and with the
keyboard alone (skip link, every link and control reachable, focus always visible).

It runs on SQLite and on PostgreSQL: per database one server (with its queue worker) and one
browser for the whole story, which keeps each run to a few minutes.
"""

from __future__ import annotations

import http.server
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests.axe import describe, violations
from tests.browser import CHROMIUM, CHROMIUM_ARGS, Server, served
from tests.databases import BACKENDS, fresh_database
from tests.portal_fixtures import publish, sample_snapshot

pytestmark = pytest.mark.browser

CORRECTION = "phiên bản 2: sửa cách gộp phiếu của hai quầy Phường An Xuyên"
BOUNDARIES = Path(__file__).parent / "fixtures" / "boundaries" / "ca_mau_communes.geojson"


def sign_in(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/auth/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill("hailong-demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))
    return page


def build(analyst: Any, base: str, changelog: str = "", source: int | None = None) -> int:
    """Prepare (or correct) the 2026 release of the province and wait for the job to build it
    (with the demo's few ratings a year, the test server publishes from 10 answers)."""
    from playwright.sync_api import expect

    analyst.goto(f"{base}/staff/releases/new" + (f"?from={source}" if source else ""))
    if source is None:
        analyst.locator("#period").fill("2026")
        analyst.locator("#unit").select_option("96")
        analyst.locator("input[name=questionnaires][value='sipas-kiosk']").check()
    if changelog:
        analyst.locator("#changelog").fill(changelog)
    analyst.locator("form button.primary[type=submit]").click()
    analyst.wait_for_url(re.compile(r"/staff/releases/\d+$"))
    release_id = int(analyst.url.rsplit("/", 1)[1])
    preview = analyst.locator(f"a.button[href$='/staff/releases/{release_id}/preview']")
    expect(preview).to_be_visible(timeout=120_000)  # the page reloads itself when the job is done
    return release_id


def approve(publisher: Any, base: str, release_id: int) -> None:
    from playwright.sync_api import expect

    publisher.goto(f"{base}/staff/releases/{release_id}")
    publisher.locator(f"form[action$='/staff/releases/{release_id}/publish'] button[type=submit]").click()
    # once published, the release's page links to the public pages (the preview is for drafts)
    expect(publisher.locator(f"a.button[href$='/portal/r/{release_id}/']")).to_be_visible()
    assert publisher.locator("code").first.inner_text().strip(), "a published release shows its SHA-256"


def assert_accessible(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    found = violations(page)
    assert found == [], f"{url}\n{describe(found)}"
    for chart in page.locator("figure.chart-figure").all():  # every chart: a named image and its table
        svg = chart.locator("svg[role=img]")
        if chart.locator(".no-drawing").count() == 0:  # nothing drawn when every figure is suppressed
            assert svg.count() == 1 and svg.get_attribute("aria-labelledby"), url
        assert chart.locator("table").count() == 1, url


def commune_site(tmp_path: Path, base: str) -> http.server.ThreadingHTTPServer:
    """Another site (another origin) that embeds the widget as the embed page tells webmasters."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(f"""<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>Trang thông tin điện tử Phường An Xuyên</title></head><body><main><h1>Phường An Xuyên</h1>
<iframe src="{base}/portal/widget/32002" title="Kết quả khảo sát" data-hailong-widget
        style="width:340px;height:40px;border:0"></iframe>
<script src="{base}/static/js/portal-embed.js"></script></main></body></html>""", encoding="utf-8")

    def handler(*args: Any) -> http.server.SimpleHTTPRequestHandler:
        return http.server.SimpleHTTPRequestHandler(*args, directory=str(site))

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def stop(server: Server) -> None:
    """Take the server (and its queue worker) down for real; a loaded machine may need a while."""
    if server.proc is not None and server.proc.poll() is None:
        server.proc.terminate()
        server.proc.wait(timeout=90)
    server.proc = None


def upload_boundaries(analyst: Any, base: str, tmp_path: Path) -> None:
    """A file with one bad feature is refused (nothing stored), then the real one is stored."""
    import json

    from playwright.sync_api import expect

    document = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    document["features"][3]["properties"]["ma_xa"] = "99999"
    bad = tmp_path / "xa-loi.geojson"
    bad.write_text(json.dumps(document), encoding="utf-8")
    analyst.goto(f"{base}/staff/releases/")
    analyst.get_by_role("link", name="Ranh giới xã, phường cho bản đồ").click()
    analyst.get_by_label("Ranh giới các xã, phường (GeoJSON, WGS84)").set_input_files(str(bad))
    analyst.get_by_role("button", name="Tải lên").click()
    expect(analyst.locator("#upload-problems")).to_contain_text(
        "Đối tượng số 4: không có xã, phường nào của tỉnh mang mã 99999.")
    found = violations(analyst)  # the upload macro's problems, as the other uploads show them
    assert found == [], describe(found)
    assert analyst.locator("table.results").count() == 0  # nothing stored
    analyst.get_by_label("Ranh giới các xã, phường (GeoJSON, WGS84)").set_input_files(str(BOUNDARIES))
    analyst.get_by_role("button", name="Tải lên").click()
    expect(analyst.locator("table.results")).to_contain_text("ca_mau_communes.geojson")
    expect(analyst.locator("table.results")).to_contain_text("64")


def check_phone(browser: Any, url: str) -> None:
    """A phone-width screen: nothing wider than the screen, the charts scaled to fit."""
    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                has_touch=True)
    page = phone.new_page()
    assert page.goto(url) is not None
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{url}: {overflow}px wider than a 360px phone"
    for svg in page.locator("figure.chart-figure svg[role=img]").all():
        box = svg.bounding_box()
        assert box is not None and box["width"] <= 360, url
    phone.close()


def check_keyboard(page: Any, url: str) -> None:
    """The keyboard alone: the skip link first, then every link and control in turn, each with a
    visible focus indicator; nothing traps the focus."""
    page.goto(url)
    page.keyboard.press("Tab")
    first = page.evaluate("() => document.activeElement.className")
    assert "skip-link" in first, first
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"
    reachable = page.evaluate("""() => [...document.querySelectorAll(
        'main a[href], main button, main input, main select, main summary, main [tabindex="0"]')]
        .filter(e => e.offsetParent !== null).length""")
    seen: set[str] = set()
    for _ in range(reachable + 5):
        page.keyboard.press("Tab")
        state = page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
            const r = e.getBoundingClientRect();
            return {key: e.outerHTML.slice(0, 120), inMain: !!e.closest('main'),
                    visible: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none',
                    onScreen: r.width > 0 && r.height > 0}; }""")
        if not state["inMain"]:
            break
        assert state["visible"], f"{url}: no visible focus on {state['key']}"
        assert state["onScreen"], f"{url}: focus on a hidden element {state['key']}"
        seen.add(state["key"])
    assert len(seen) >= min(reachable, 10), f"{url}: only {len(seen)} of {reachable} reachable by Tab"


@pytest.mark.parametrize("backend", BACKENDS)
def test_publish_a_release_correct_it_and_show_it_everywhere(backend: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with fresh_database(backend, tmp_path) as url, served(url, tmp_path, MIN_PUBLISH_N="10", MIN_EFFECTIVE_N="5") as server, \
            sync_playwright() as pw:
        base = server.base
        engine = create_engine(url)
        with Session(engine) as session:  # the PAPI page's snapshot, published beside
            papi_release = publish(session, sample_snapshot()).id
        engine.dispose()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        analyst = sign_in(browser, base, "phantich")
        publisher = sign_in(browser, base, "congbo")
        citizen = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

        upload_boundaries(analyst, base, tmp_path)

        # prepare → built by the job → preview, not public yet
        first = build(analyst, base)
        analyst.goto(f"{base}/staff/releases/{first}/preview")
        expect(analyst.locator(".notice.preview")).to_be_visible()
        previewed = analyst.locator(".card-main .card-value").inner_text()
        unpublished = citizen.goto(f"{base}/portal/r/{first}/")
        assert unpublished is not None and unpublished.status == 404
        # the analyst cannot approve their own release; the publisher does
        analyst.goto(f"{base}/staff/releases/{first}")
        assert analyst.locator(f"form[action$='/staff/releases/{first}/publish']").count() == 0
        approve(publisher, base, first)

        # the public page is the preview, without the banner
        citizen.goto(f"{base}/portal/u/96")
        assert citizen.url.endswith(f"/portal/r/{first}/sipas-kiosk/96/")
        expect(citizen.locator(".card-main .card-value")).to_have_text(previewed)
        assert citizen.locator(".notice.preview").count() == 0

        # a correction: version 2 with its changelog; version 1 points to it
        second = build(analyst, base, CORRECTION, source=first)
        approve(publisher, base, second)
        citizen.goto(f"{base}/portal/u/96")
        assert citizen.url.endswith(f"/portal/r/{second}/sipas-kiosk/96/")
        expect(citizen.locator("#versions")).to_contain_text(CORRECTION)
        # the province page draws the uploaded boundaries (the tile map where there are none)
        drawn = citizen.locator("#figure-map-commune svg[role=img]")
        expect(drawn.locator("title")).to_have_text("Bản đồ chỉ số chung")
        assert drawn.locator("g.mark-shape path").count() == 64
        citizen.goto(f"{base}/portal/r/{first}/sipas-kiosk/96/")
        expect(citizen.locator(".notice.superseded")).to_contain_text("phiên bản mới hơn (2)")

        # every portal page, with axe-core
        for page_url in (f"{base}/portal/", f"{base}/portal/r/{second}/sipas-kiosk/96/",
                         f"{base}/portal/r/{second}/sipas-kiosk/32002/",
                         f"{base}/portal/r/{second}/sipas-kiosk/96/CHUNG-THUC/",
                         f"{base}/portal/r/{first}/sipas-kiosk/96/",
                         f"{base}/portal/r/{papi_release}/sipas-kiosk/96006/",  # a suppressed unit
                         f"{base}/portal/r/{papi_release}/papi/", f"{base}/portal/methodology/",
                         f"{base}/portal/widget/32002", f"{base}/portal/widget/32002/embed",
                         f"{base}/portal/desk/32002-MC/"):
            assert_accessible(citizen, page_url)
        assert_accessible(analyst, f"{base}/staff/releases/{second}/preview/sipas-kiosk/96/")
        assert_accessible(analyst, f"{base}/staff/boundaries/")
        # a phone, and the keyboard alone
        for page_url in (f"{base}/portal/", f"{base}/portal/r/{second}/sipas-kiosk/96/",
                         f"{base}/portal/r/{second}/sipas-kiosk/96/CHUNG-THUC/", f"{base}/portal/methodology/",
                         f"{base}/portal/r/{papi_release}/papi/"):
            check_phone(browser, page_url)
        check_keyboard(citizen, f"{base}/portal/r/{second}/sipas-kiosk/96/")
        citizen.goto(f"{base}/portal/r/{second}/sipas-kiosk/32002/")
        commune_figure = citizen.locator(".card-main .card-value").inner_text()

        # the widget on a commune website: version 2's figure, and a frame that fits it
        site = commune_site(tmp_path, base)
        try:
            citizen.goto(f"http://127.0.0.1:{site.server_address[1]}/index.html")
            frame = citizen.locator("iframe[data-hailong-widget]")
            expect(frame).to_have_attribute("data-hailong-height", re.compile(r"^\d{3,4}$"))
            widget = citizen.frame_locator("iframe[data-hailong-widget]")
            expect(widget.locator(".widget-unit")).to_have_text("Phường An Xuyên")
            expect(widget.locator(".widget-value")).to_have_text(commune_figure)
            content = int(frame.get_attribute("data-hailong-height") or 0)
            box = frame.bounding_box()
            assert box is not None and box["height"] == pytest.approx(content, abs=1)
            assert content > 120  # the whole widget, not the 40 px the site gave it
        finally:
            site.shutdown()
            site.server_close()

        # the desk's TV: one service at a time, and its last copy when the server is gone
        tv = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        tv.goto(f"{base}/portal/desk/32002-MC/")
        assert tv.locator("section.slide").count() >= 2
        expect(tv.locator("section.slide:visible")).to_have_count(1)
        tv.evaluate("() => navigator.serviceWorker.ready")
        tv.reload()  # now through the service worker, which keeps the copy
        tv.wait_for_function("() => navigator.serviceWorker.controller !== null")
        first_slide = tv.locator("section.slide h1").first.inner_text()
        stop(server)
        tv.reload()
        expect(tv.locator("section.slide h1").first).to_have_text(first_slide)
        expect(tv.locator("section.slide:visible")).to_have_count(1)
        browser.close()
