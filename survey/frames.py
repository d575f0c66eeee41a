"""The one place where database rows become a DataFrame for scoring.

``responses_frame`` returns one row per response with its design and domain columns
(``response_id``, ``unit_id``, ``service_id``, ``channel``, ``submitted_at``, ``weight``) and one
numeric column per question. Review status decides what is scored: rejected responses are left
out, and flagged ones (kiosk bursts, unregistered kiosks) only count once approved. Answers coded "not applicable"/"don't know" (choices marked ``scored: false``) become
missing, so they are never valid answers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey.models import Answer, Response, ReviewStatus

DESIGN_COLUMNS = ["response_id", "unit_id", "service_id", "channel", "submitted_at", "weight"]


def scored_filter() -> list[ColumnElement[bool]]:
    """What is scored: never a rejected response; a flagged one only once a person approved it."""
    return [
        Response.review_status != ReviewStatus.REJECTED,
        or_(Response.flag.is_(None), Response.review_status == ReviewStatus.APPROVED),
    ]


def responses_frame(
    session: Session,
    questionnaire: Questionnaire,
    *,
    service_ids: Iterable[int] | None = None,
    unit_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Responses to ``questionnaire`` (any version: question ids are stable) as a DataFrame."""
    filters = [Response.questionnaire_id == questionnaire.id, *scored_filter()]
    if service_ids is not None:
        filters.append(Response.service_id.in_(list(service_ids)))
    if unit_ids is not None:
        filters.append(Response.unit_id.in_(list(unit_ids)))
    resp_stmt = select(
        Response.id, Response.unit_id, Response.service_id, Response.channel, Response.submitted_at, Response.weight
    ).where(*filters)
    base = pd.DataFrame(session.execute(resp_stmt).all(), columns=DESIGN_COLUMNS)
    scored = questionnaire.scored_questions()
    overall = questionnaire.question(questionnaire.overall_question) if questionnaire.overall_question else None
    if overall is not None and overall not in scored:
        scored = (*scored, overall)  # an overall item outside the elements still scores the overall index
    question_ids = [q.id for q in scored]
    ans_stmt = (
        select(Answer.response_id, Answer.question_id, Answer.value_num)
        .join(Response, Response.id == Answer.response_id)
        .where(*filters, Answer.question_id.in_(question_ids))
    )
    answers = pd.DataFrame(session.execute(ans_stmt).all(), columns=["response_id", "question_id", "value"])
    if answers.empty:
        wide = pd.DataFrame(index=pd.Index([], name="response_id"), columns=question_ids, dtype=float)
    else:
        wide = answers.pivot(index="response_id", columns="question_id", values="value")
    wide = wide.reindex(columns=question_ids).astype(float)
    for q in scored:
        not_scored = [c.value for c in q.choices if not c.scored]
        if not_scored:
            wide[q.id] = wide[q.id].where(~wide[q.id].isin(not_scored), np.nan)
    frame = base.merge(wide, left_on="response_id", right_index=True, how="left")
    frame["weight"] = frame["weight"].astype(float)
    return frame
