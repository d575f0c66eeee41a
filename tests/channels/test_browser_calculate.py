"""The enumerator app knows `calculate` (issue 14): in a real Chromium, the app's own walk
(survey/static/js/enumerator/walk.js on the shared evaluator skiplogic.js) computes every
calculated field and every question's relevance exactly as the server does for the same answers
(survey.collect.forms, through the submission path's validate_answers). No server process and
no database: the scripts are read from the static folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from questionnaires import Questionnaire
from questionnaires.loader import parse
from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "survey" / "static" / "js"


def _label(text: str) -> dict[str, str]:
    return {"vi": text, "en": text}


QUESTIONNAIRE: Questionnaire = parse({
    "id": "calc-test", "version": "1", "kind": "service", "title": _label("Calculations"), "languages": ["vi", "en"],
    "questions": [
        {"id": "wait", "type": "integer", "label": _label("Waiting time (minutes)")},
        {"id": "visits", "type": "integer", "label": _label("Visits")},
        {"id": "again", "type": "integer", "label": _label("Visits after the first"), "relevant": "${visits} > 1"},
        {"id": "reason", "type": "text", "label": _label("Why"), "relevant": "${again} >= 1"},
        {"id": "per_visit", "type": "calculate", "label": _label("Minutes per visit"),
         "calculation": "round(${wait} div ${visits}, 2)"},
        {"id": "band", "type": "calculate", "label": _label("Band"),
         "calculation": "if(${per_visit} > 30, 'lâu', concat('nhanh-', string(coalesce(${again}, 0))))"},
        {"id": "follow", "type": "calculate", "label": _label("Follow-up"), "relevant": "${wait} >= 5",
         "calculation": "coalesce(${again}, 0) * 10 + string-length(${reason})"},
        {"id": "note_long", "type": "text", "label": _label("Long wait"), "relevant": "${band} = 'lâu'"},
    ]}, "test")

ANSWER_SETS: list[dict[str, Any]] = [
    {"wait": 95, "visits": 3, "again": 2, "reason": "thiếu giấy", "note_long": "x"},
    {"wait": 10, "visits": 4, "again": 0},
    {"wait": 3, "visits": 1, "again": 5, "reason": "hidden: visits is 1"},
    {"wait": 7, "visits": 2},
    {"wait": 40, "visits": 1, "note_long": "đợi lâu"},
    {},
]


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page()
        tab.set_content("<!doctype html><html lang='vi'><body></body></html>")
        for script in ("skiplogic.js", "enumerator/walk.js"):
            tab.add_script_tag(content=(STATIC / script).read_text(encoding="utf-8"))
        yield tab
        browser.close()


def _server_side(answers: dict[str, Any]) -> dict[str, Any]:
    from survey import create_app
    from survey.collect.submissions import validate_answers

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
    with app.test_request_context():
        return validate_answers(QUESTIONNAIRE, answers, "vi")


def test_the_app_computes_calculations_and_relevance_as_the_server(page: Any) -> None:
    definition = QUESTIONNAIRE.to_dict()["questions"]
    for answers in ANSWER_SETS:
        browser = page.evaluate("([qs, a]) => HailongWalk.walk(qs, a, SkipLogic)", [definition, answers])
        stored = _server_side(answers)  # what the server keeps: shown answers and calculations, no empties
        in_browser = {k: v for k, v in browser["answers"].items() if v is not None and v != ""}
        assert in_browser == stored, json.dumps({"answers": answers, "browser": browser}, ensure_ascii=False)
    first = page.evaluate("([qs, a]) => HailongWalk.walk(qs, a, SkipLogic)", [definition, ANSWER_SETS[0]])
    assert first["answers"]["per_visit"] == "31.67" and first["answers"]["band"] == "lâu"
    assert first["answers"]["follow"] == "30" and first["shown"]["note_long"] is True
    hidden = page.evaluate("([qs, a]) => HailongWalk.walk(qs, a, SkipLogic)", [definition, ANSWER_SETS[2]])
    assert hidden["shown"]["again"] is False and hidden["answers"]["again"] is None  # hidden: unanswered after it
    assert hidden["answers"]["follow"] is None and hidden["answers"]["band"] == "nhanh-0"
