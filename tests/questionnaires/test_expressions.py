"""The skip-logic language on the server: shared cases (also run in the browser), safety."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from questionnaires.expressions import ExpressionError, evaluate, references

CASES: list[dict[str, Any]] = json.loads((Path(__file__).parent / "skiplogic_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["expression"] or "<empty>" for c in CASES])
def test_shared_case(case: dict[str, Any]) -> None:
    if case.get("error"):
        with pytest.raises(ExpressionError):
            evaluate(case["expression"], case.get("answers", {}))
    else:
        today = date.fromisoformat(case["today"]) if case.get("today") else None
        got = evaluate(case["expression"], case["answers"], case.get("current"), choice=case.get("choice"), today=today)
        assert got is case["expected"]


def test_cases_cover_both_outcomes_and_errors() -> None:
    outcomes = [c.get("expected") for c in CASES if not c.get("error")]
    assert outcomes.count(True) >= 20 and outcomes.count(False) >= 20
    assert sum(1 for c in CASES if c.get("error")) >= 10


def test_python_is_never_evaluated() -> None:
    with pytest.raises(ExpressionError, match="unknown function '__import__'"):
        evaluate("__import__('os').system('true')", {})
    # a Python-looking answer is only ever data
    assert evaluate("${q} = '__import__'", {"q": "__import__"}) is True


def test_error_messages_say_where() -> None:
    with pytest.raises(ExpressionError, match="position 8 but found the end"):
        evaluate("${q1} >", {})


def test_references_lists_question_ids() -> None:
    assert references("${a} = 1 and selected(${b}, 'x') or not(${c})") == {"a", "b", "c"}
