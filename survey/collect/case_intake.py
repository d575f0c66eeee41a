"""A citizen's comment marked "phản ánh / kiến nghị" on the kiosk, link or receipt form becomes a
case (:mod:`survey.store.casebook`) with a code the citizen keeps to look the answer up.

The forms show the choice under the free-text comment (``cases/_choice.html``); the choice is a
form field outside the questionnaire (``case_kind``: empty, ``complaint`` or ``suggestion``), so
it changes no questionnaire version and never reaches the response's answers or exports.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, request
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey.store.casebook import Limits, open_case
from survey.store.casework import CaseKind, CaseSource

FIELD = "case_kind"


def comment_questions(questionnaire: Questionnaire) -> list[str]:
    """The free-text comment questions of a questionnaire."""
    return [q.id for q in questionnaire.questions if q.type == "longtext"]


def chosen_kind() -> CaseKind | None:
    """The citizen's choice on the form just sent (None: a plain comment)."""
    value = request.form.get(FIELD, "")
    return CaseKind(value) if value in {k.value for k in CaseKind} else None


def comment_text(questionnaire: Questionnaire, answers: dict[str, Any]) -> str:
    texts = [str(answers[q]).strip() for q in comment_questions(questionnaire) if answers.get(q)]
    return "\n\n".join(t for t in texts if t)


def open_from_form(session: Session, questionnaire: Questionnaire, answers: dict[str, Any], *, unit_id: int,
                   channel: str, response_id: uuid.UUID) -> str | None:
    """Open the case the citizen asked for, if they did and wrote a comment; its code."""
    kind = chosen_kind()
    text = comment_text(questionnaire, answers)
    if kind is None or not text:
        return None
    case = open_case(session, unit_id=unit_id, text=text, kind=kind, source=CaseSource.CITIZEN, channel=channel,
                     response_id=response_id, limits=Limits.from_config(current_app.config))
    return case.code
