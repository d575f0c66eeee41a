"""Skip logic in a real browser behaves exactly as on the server.

1. Every shared case of ``skiplogic_cases.json`` runs through ``skiplogic.js`` in Chromium.
2. The preview form of real questionnaires is rendered by the app (the same ``build_form`` and
   ``render_field`` as for respondents); answering in the browser shows and hides questions, and
   for the answers the browser holds the server shows exactly the same questions.
No server process and no database: the page and script are served from memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from questionnaires import load_library
from survey.collect.forms import build_form, shown_questions
from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

HERE = Path(__file__).parent
SCRIPT = (HERE.parents[1] / "survey" / "static" / "js" / "skiplogic.js").read_text(encoding="utf-8")
CASES: list[dict[str, Any]] = json.loads((HERE / "skiplogic_cases.json").read_text(encoding="utf-8"))
ORIGIN = "http://hailong.test"

RUN_CASES = """cases => cases.map(c => {
  try { return {value: SkipLogic.evaluate(c.expression, c.answers || {}, c.current === undefined ? null : c.current,
                                          {choice: c.choice, today: c.today})}; }
  catch (e) { return {error: e.name}; }
})"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def flask_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from survey import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('skiplogic')}/unused.sqlite"
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})


def _serve(page: Any, html: str) -> None:
    def handle(route: Any) -> None:
        if route.request.url.endswith("/static/js/skiplogic.js"):
            route.fulfill(status=200, content_type="text/javascript", body=SCRIPT)
        elif route.request.url.startswith(f"{ORIGIN}/form"):
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        else:
            route.fulfill(status=404, body="")

    page.route("**/*", handle)
    page.goto(f"{ORIGIN}/form")


def test_shared_cases_give_the_same_results_in_the_browser(browser: Any) -> None:
    page = browser.new_page()
    _serve(page, "<!doctype html><title>t</title><script src='/static/js/skiplogic.js'></script>")
    results = page.evaluate(RUN_CASES, CASES)
    mismatches = []
    for case, got in zip(CASES, results, strict=True):
        if case.get("error"):
            if got.get("error") != "ExpressionError":
                mismatches.append((case["expression"], got))
        elif got.get("value") is not case["expected"]:
            mismatches.append((case["expression"], got))
    assert mismatches == []
    page.close()


def _render(flask_app: Any, key: tuple[str, str], language: str) -> str:
    from flask import render_template

    questionnaire = load_library()[key]
    with flask_app.test_request_context(f"/staff/questionnaires/{key[0]}/{key[1]}?lang={language}"):
        form = build_form(questionnaire, language)(meta={"csrf": False})
        return render_template("preview/form.html", questionnaire=questionnaire, form=form, answers=None,
                               sections={s.id: s.label.get(language) for s in questionnaire.sections},
                               language=language)


def _browser_state(page: Any) -> tuple[list[str], MultiDict[str, str]]:
    shown = page.eval_on_selector_all("[data-question]", "els => els.filter(e => !e.hidden).map(e => e.dataset.question)")
    pairs = page.evaluate("""() => Array.from(new FormData(document.querySelector('form[data-skip-logic]')).entries())""")
    return shown, MultiDict(pairs)


def _server_shown(key: tuple[str, str], language: str, data: MultiDict[str, str], flask_app: Any) -> list[str]:
    questionnaire = load_library()[key]
    with flask_app.test_request_context("/"):
        form = build_form(questionnaire, language)(formdata=data, meta={"csrf": False})
        return shown_questions(questionnaire, form)


def test_infrastructure_form_shows_and_hides_like_the_server(browser: Any, flask_app: Any) -> None:
    key = ("service-infrastructure", "2025.1")
    page = browser.new_page()
    _serve(page, _render(flask_app, key, "vi"))

    def same_as_server() -> list[str]:
        shown, data = _browser_state(page)
        assert shown == _server_shown(key, "vi", data, flask_app)
        return shown

    shown = same_as_server()
    assert "power_cuts_month" not in shown and "i_water_quality" not in shown and "waste_fee" not in shown
    assert page.locator("[data-question=power_cuts_month] input").is_disabled()

    page.get_by_role("group", name="Nhà ông/bà có dùng điện lưới quốc gia không?").get_by_label("Có").check()
    shown = same_as_server()
    assert {"power_cuts_month", "i_power_reliable", "i_power_billing"} <= set(shown)
    page.fill("#power_cuts_month", "3")

    page.get_by_label("Nước máy", exact=True).check()
    assert "i_water_quality" in same_as_server()
    page.get_by_label("Giếng khoan, giếng đào").check()
    assert "i_water_quality" not in same_as_server()

    # switching power off again hides the answered question; its answer is no longer sent
    page.get_by_role("group", name="Nhà ông/bà có dùng điện lưới quốc gia không?").get_by_label("Không").check()
    shown, data = _browser_state(page)
    assert "power_cuts_month" not in shown and "power_cuts_month" not in data
    assert shown == _server_shown(key, "vi", data, flask_app)
    page.close()


def test_multiple_choice_and_english(browser: Any, flask_app: Any) -> None:
    key = ("service-school", "2025.1")
    page = browser.new_page()
    _serve(page, _render(flask_app, key, "en"))
    assert page.locator("[data-question=extra_fees_other]").is_hidden()
    page.get_by_label("Extra classes").check()
    assert page.locator("[data-question=extra_fees_other]").is_hidden()
    page.get_by_role("checkbox", name="Other", exact=True).check()
    assert page.locator("[data-question=extra_fees_other]").is_visible()
    shown, data = _browser_state(page)
    assert data.getlist("extra_fees") == ["tuition_extra", "other"]
    assert shown == _server_shown(key, "en", data, flask_app)
    page.close()


def test_sipas_feedback_items_follow_the_screening_answer(browser: Any, flask_app: Any) -> None:
    key = ("sipas", "2025.1")
    page = browser.new_page()
    _serve(page, _render(flask_app, key, "vi"))
    assert page.locator("[data-question=feedback_handled]").is_hidden()
    page.get_by_role("group", name="Ông/bà có góp ý, phản ánh hoặc kiến nghị về thủ tục này không?").get_by_label("Có").check()
    assert page.locator("[data-question=feedback_handled]").is_visible()
    shown, data = _browser_state(page)
    assert shown == _server_shown(key, "vi", data, flask_app)
    # no unlabelled control anywhere on the form
    unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll('input, select, textarea'))
      .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length)).map(el => el.name)""")
    assert unlabelled == []
    page.close()


def test_calculations_and_choice_filters_work_in_the_browser_as_on_the_server(browser: Any, flask_app: Any) -> None:
    from flask import render_template

    from questionnaires.loader import parse

    lang = {"vi": "x", "en": "x"}
    rating = [{"value": v, "label": {"vi": f"Mức {v}", "en": f"Level {v}"}} for v in (1, 2, 3, 4, 5)]
    questionnaire = parse({
        "id": "imported", "version": "1", "title": lang,
        "questions": [
            {"id": "district", "type": "single", "label": {"vi": "Huyện", "en": "District"},
             "choices": [{"value": 1, "label": {"vi": "Huyện Một", "en": "One"}},
                         {"value": 2, "label": {"vi": "Huyện Hai", "en": "Two"}}]},
            {"id": "commune", "type": "single", "label": {"vi": "Xã", "en": "Commune"},
             "choice_filter": "district = ${district}",
             "choices": [{"value": 11, "label": {"vi": "Xã Một-Một", "en": "1-1"}, "properties": {"district": "1"}},
                         {"value": 21, "label": {"vi": "Xã Hai-Một", "en": "2-1"}, "properties": {"district": "2"}}]},
            {"id": "overall", "type": "rating", "label": {"vi": "Hài lòng chung", "en": "Overall"}, "choices": rating},
            {"id": "low", "type": "calculate", "calculation": "if(${overall} <= 2, 'low', 'ok')"},
            {"id": "why", "type": "text", "label": {"vi": "Vì sao?", "en": "Why?"}, "relevant": "${low} = 'low'"},
        ],
    }, "imported.yaml")
    with flask_app.test_request_context("/?lang=vi"):
        form = build_form(questionnaire, "vi")(meta={"csrf": False})
        html = render_template("preview/form.html", questionnaire=questionnaire, form=form, answers=None,
                               sections={}, language="vi")
    page = browser.new_page()
    _serve(page, html)

    def server_shown(data: MultiDict[str, str]) -> list[str]:
        with flask_app.test_request_context("/"):
            return shown_questions(questionnaire, build_form(questionnaire, "vi")(formdata=data, meta={"csrf": False}))

    page.get_by_label("Huyện Một").check()
    assert page.get_by_label("Xã Một-Một").is_visible() and page.get_by_label("Xã Hai-Một").is_hidden()
    page.get_by_label("Huyện Hai").check()
    assert page.get_by_label("Xã Hai-Một").is_visible() and page.get_by_label("Xã Một-Một").is_hidden()
    assert page.locator("[data-question=why]").is_hidden()
    page.get_by_label("Mức 2").check()  # the calculation gives 'low': the follow-up question appears
    assert page.locator("[data-question=why]").is_visible()
    shown, data = _browser_state(page)
    assert [q for q in shown if q != "low"] == [q for q in server_shown(data) if q != "low"]
    page.get_by_label("Mức 5").check()
    assert page.locator("[data-question=why]").is_hidden()
    page.close()
