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
from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey.store.models import Answer, Response, ReviewStatus

DESIGN_COLUMNS = ["response_id", "unit_id", "service_id", "channel", "submitted_at", "weight", "design_stratum",
                  "design_psu"]


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
    """Responses to ``questionnaire`` (any version: question ids are stable) as a DataFrame.

    One query, pivoted in the database: one row per response with one column per scored question
    (``MAX(CASE WHEN question_id = … THEN value_num END)``), read through the Core connection and
    assembled column by column — at 100,000 responses several times faster than reading the
    answers row by row and pivoting them in pandas (``bench/bench_pages.py``).
    """
    filters = [Response.questionnaire_id == questionnaire.id, *scored_filter()]
    if service_ids is not None:
        filters.append(Response.service_id.in_(list(service_ids)))
    if unit_ids is not None:
        filters.append(Response.unit_id.in_(list(unit_ids)))
    scored = questionnaire.scored_questions()
    overall = questionnaire.question(questionnaire.overall_question) if questionnaire.overall_question else None
    if overall is not None and overall not in scored:
        scored = (*scored, overall)  # an overall item outside the elements still scores the overall index
    question_ids = [q.id for q in scored]
    design = [Response.id, Response.unit_id, Response.service_id, Response.channel, Response.submitted_at,
              Response.weight, Response.stratum, Response.psu]  # the sample design of a household survey
    stmt = (
        select(*design, *(func.max(case((Answer.question_id == qid, Answer.value_num))) for qid in question_ids))
        .select_from(Response)
        .outerjoin(Answer, (Answer.response_id == Response.id) & Answer.question_id.in_(question_ids))
        .where(*filters)
        .group_by(*design)
    )
    rows = session.connection().execute(stmt).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * (len(DESIGN_COLUMNS) + len(question_ids))
    frame = pd.DataFrame({name: list(values)
                          for name, values in zip(DESIGN_COLUMNS, columns[:len(DESIGN_COLUMNS)], strict=True)})
    for n, q in enumerate(scored):
        values = np.array(columns[len(DESIGN_COLUMNS) + n], dtype=float)
        not_scored = [float(c.value) for c in q.choices if not c.scored and isinstance(c.value, int | float)]
        if not_scored:
            values[np.isin(values, not_scored)] = np.nan
        frame[q.id] = values
    frame["weight"] = frame["weight"].astype(float)
    return frame
