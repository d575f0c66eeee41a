"""One registry of question types, and every consumer covers every type.

A type that one consumer does not know used to become a "note" in the form builder and lose its
answers; now each consumer keys its builders by the registry's names and this test holds them
together: the loader, the XLSForm export, the web form builder, analysts' files, the browser.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from questionnaires.loader import parse
from questionnaires.schema import QUESTION_TYPES, TYPE_OPTIONS
from questionnaires.types import TYPES
from questionnaires.xlsform import XLS_TYPES
from survey.collect.forms import FIELD_BUILDERS, answers_from_form, build_form
from survey.collect.openapi import ANSWER_SCHEMAS

ROOT = Path(__file__).resolve().parents[2]


def test_every_consumer_covers_every_type() -> None:
    names = set(TYPES)
    assert set(QUESTION_TYPES) == names  # the loader
    assert set(XLS_TYPES) == names  # XLSForm export
    assert set(FIELD_BUILDERS) == names  # the web form builder
    assert set(ANSWER_SCHEMAS) == names  # the API document's answers
    assert {t for t, opts in TYPE_OPTIONS.items()} == {n for n, t in TYPES.items() if t.options}
    schema = (ROOT / "questionnaires" / "SCHEMA.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \| [^|]+ \|", schema.split("## Question types")[1]
                                .split("## Question fields")[0], flags=re.MULTILINE))
    assert documented == names


def _every_type() -> dict[str, Any]:
    lang = {"vi": "x", "en": "x"}
    choices = [{"value": v, "label": {"vi": f"c{v}", "en": f"c{v}"}} for v in (1, 2, 3, 4, 5)]
    questions: list[dict[str, Any]] = []
    for name, t in TYPES.items():
        q: dict[str, Any] = {"id": f"q_{name}", "type": name, "label": lang}
        if t.choices:
            q["choices"] = choices
        if name == "calculate":
            q["calculation"] = "${q_integer} * 2"
        questions.append(q)
    return {"id": "every-type", "version": "1", "title": lang, "questions": questions}


@pytest.fixture(scope="module")
def flask_app() -> Flask:
    from survey import create_app

    return create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})


def test_the_form_builder_builds_a_real_field_for_every_type(flask_app: Flask) -> None:
    questionnaire = parse(_every_type(), "every-type.yaml")
    with flask_app.test_request_context():
        form_class = build_form(questionnaire, "vi")
        form = form_class(formdata=MultiDict({"q_integer": "21", "q_calculate": "999", "q_scale5": "4",
                                              "q_text": "Đường hay ngập"}))
        fields = {name: type(form[name]).__name__ for name in (q.id for q in questionnaire.questions)}
        assert fields["q_note"] == "NoteField"
        assert [n for n, cls in fields.items() if cls == "NoteField"] == ["q_note"]  # no type falls back to a note
        answers = answers_from_form(questionnaire, form)
    # the calculation is computed on the server (what was posted for it is ignored) and stored
    assert answers["q_calculate"] == "42" and answers["q_scale5"] == 4 and answers["q_text"] == "Đường hay ngập"
    assert "q_note" not in answers


def _kept(flask_app: Flask, definition: dict[str, Any], data: dict[str, Any]) -> tuple[bool, dict[str, Any], Any]:
    questionnaire = parse(definition, "t.yaml")
    with flask_app.test_request_context():
        form = build_form(questionnaire, "en")(formdata=MultiDict(data))
        ok = form.validate()
        return ok, form.errors, form


def test_required_message_default_and_choice_filter_reach_the_form(flask_app: Flask) -> None:
    lang = {"vi": "x", "en": "x"}
    definition = {
        "id": "t", "version": "1", "title": lang,
        "questions": [
            {"id": "district", "type": "single", "label": lang, "default": "1",
             "choices": [{"value": 1, "label": {"vi": "A", "en": "A"}}, {"value": 2, "label": {"vi": "B", "en": "B"}}]},
            {"id": "commune", "type": "single", "label": lang, "required": True,
             "required_message": {"vi": "Chọn xã", "en": "Pick the commune"}, "choice_filter": "district = ${district}",
             "choices": [{"value": 11, "label": {"vi": "a1", "en": "a1"}, "properties": {"district": "1"}},
                         {"value": 21, "label": {"vi": "b1", "en": "b1"}, "properties": {"district": "2"}}]},
        ],
    }
    ok, errors, form = _kept(flask_app, definition, {"district": "1"})
    assert not ok and errors["commune"] == ["Pick the commune"]
    assert _kept(flask_app, definition, {"district": "1", "commune": "11"})[0]
    ok, errors, _form = _kept(flask_app, definition, {"district": "1", "commune": "21"})  # a commune of district 2
    assert not ok and "commune" in errors
    questionnaire = parse(definition, "t.yaml")
    with flask_app.test_request_context():
        assert build_form(questionnaire, "en")().district.data == 1  # the default is filled in
