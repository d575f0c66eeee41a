"""The one place where database rows become DataFrames: for scoring, and for analysts.

``responses_frame`` returns one row per response with its design and domain columns
(``response_id``, ``unit_id``, ``service_id``, ``channel``, ``submitted_at``, ``weight``) and one
numeric column per question. Answers coded "not applicable"/"don't know" (choices marked
``scored: false``) become missing, so they are never valid answers.

THE GATE (issue 11, SurveyCTO's rule): only approved responses reach scores, releases and exports.
:func:`approved_filter` is the one definition every frame here reads — a response counts when a
reviewer approved it at the last level (``approved``), or when it is ``received`` without a quality
flag and its channel's auto-approval rule (:class:`~survey.store.models.ReviewRule`, set in the
admin area, shown on the review page) is on. The default rule (no row) is on for every channel, so
unflagged ratings count as they arrive; a flagged one waits for a person; a response sent back to
its enumerator, waiting for the province, un-approved or rejected never counts.

``stored_responses`` and ``stored_answers`` are the analysts' view of the same approved rows (with
their review status and flag) and their raw answers, for :mod:`survey.reports.microdata_frame`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey.store import compact
from survey.store.models import (
    Answer,
    AnswerValue,
    Channel,
    QuestionnaireVersion,
    Response,
    ReviewRule,
    ReviewStatus,
    Service,
    Unit,
)

DESIGN_COLUMNS = ["response_id", "unit_id", "service_id", "channel", "submitted_at", "weight", "design_stratum",
                  "design_psu"]


def auto_approved_channels(session: Session) -> list[Channel]:
    """The channels whose unflagged responses count as approved on arrival (no rule row: on)."""
    off = set(session.scalars(select(ReviewRule.channel).where(ReviewRule.auto_approve.is_(False))))
    return [c for c in Channel if c not in off]


def approved_filter(session: Session) -> ColumnElement[bool]:
    """THE gate: a response counts in scores, releases and exports when this is true of it."""
    channels = auto_approved_channels(session)
    auto = and_(Response.review_status == ReviewStatus.RECEIVED, Response.flag.is_(None),
                Response.channel.in_(channels)) if channels else false()
    return or_(Response.review_status == ReviewStatus.APPROVED, auto)


def scored_filter(session: Session) -> list[ColumnElement[bool]]:
    """What is scored: the approved responses (:func:`approved_filter`)."""
    return [approved_filter(session)]


def responses_frame(
    session: Session,
    questionnaire: Questionnaire,
    *,
    service_ids: Iterable[int] | None = None,
    unit_ids: Iterable[int] | None = None,
    gate: ColumnElement[bool] | None = None,
    where: Iterable[ColumnElement[bool]] = (),
    version: bool = False,
) -> pd.DataFrame:
    """Responses to ``questionnaire`` (any version: question ids are stable) as a DataFrame.

    One query, pivoted in the database: one row per response with one column per scored question
    (``MAX(CASE WHEN question_id = … THEN value_num END)``), read through the Core connection and
    assembled column by column — at 100,000 responses several times faster than reading the
    answers row by row and pivoting them in pandas (``bench/bench_pages.py``). ``where``: more
    conditions on the response; ``version``: add the ``questionnaire_version_id`` column (both for
    the rollups, :mod:`survey.reports.rollups`).
    """
    # ``gate``: another rule than THE gate, for the sensitivity view only (survey/staff/quality_views.py
    # shows the index with the flagged ratings too); scores, releases and exports never pass one.
    filters = [Response.questionnaire_id == questionnaire.id, *([gate] if gate is not None else scored_filter(session))]
    if service_ids is not None:
        filters.append(Response.service_id.in_(list(service_ids)))
    if unit_ids is not None:
        filters.append(Response.unit_id.in_(list(unit_ids)))
    filters.extend(where)
    scored = questionnaire.scored_questions()
    overall = questionnaire.question(questionnaire.overall_question) if questionnaire.overall_question else None
    if overall is not None and overall not in scored:
        scored = (*scored, overall)  # an overall item outside the elements still scores the overall index
    question_ids = [q.id for q in scored]
    design = [Response.id, Response.unit_id, Response.service_id, Response.channel, Response.submitted_at,
              Response.weight, Response.stratum, Response.psu]  # the sample design of a household survey
    names = [*DESIGN_COLUMNS]
    if version:
        design.append(Response.questionnaire_version_id)
        names.append("questionnaire_version_id")
    stmt = (
        select(*design, *_pivoted(session, questionnaire.id, question_ids))
        .select_from(Response)
        .outerjoin(Answer, (Answer.response_id == Response.id) & Answer.question_id.in_(question_ids))
        .where(*filters)
        .group_by(*design)
    )
    rows = session.connection().execute(stmt).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * (len(names) + len(question_ids))
    frame = pd.DataFrame({name: list(values) for name, values in zip(names, columns[:len(names)], strict=True)})
    for n, q in enumerate(scored):
        values = np.array(columns[len(names) + n], dtype=float)
        not_scored = [float(c.value) for c in q.choices if not c.scored and isinstance(c.value, int | float)]
        if not_scored:
            values[np.isin(values, not_scored)] = np.nan
        frame[q.id] = values
    frame["weight"] = frame["weight"].astype(float)
    return frame


def _pivoted(session: Session, questionnaire_id: str, question_ids: list[str]) -> list[ColumnElement[float]]:
    """Per question, its numeric answer in a query grouped by response joined to its ``answer`` rows
    (:func:`survey.store.compact.pivoted_number`)."""
    versions = compact.version_slots(session, questionnaire_id)
    dialect = session.get_bind().dialect.name
    return [compact.pivoted_number(qid, versions, dialect) for qid in question_ids]


STORED_COLUMNS = ["response_id", "version", "unit_code", "unit_name", "service_code", "channel", "submitted_at",
                  "review_status", "flag", "weight"]


def _stored_filter(session: Session, questionnaire_id: str, unit_ids: Iterable[int],
                   service_ids: Iterable[int] | None) -> list[ColumnElement[bool]]:
    filters = [Response.questionnaire_id == questionnaire_id, Response.unit_id.in_(list(unit_ids)),
               approved_filter(session)]
    if service_ids is not None:
        filters.append(Response.service_id.in_(list(service_ids)))
    return filters


def stored_responses(session: Session, questionnaire_id: str, *, unit_ids: Iterable[int],
                     service_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Every approved response (:func:`approved_filter`) to ``questionnaire_id`` (any version) in
    ``unit_ids``, one row per response in the order submitted (:data:`STORED_COLUMNS`): ids as text, enums as
    their codes, ``flag`` empty when none, ``submitted_at`` as stored (UTC; naive on SQLite)."""
    unit_ids = list(unit_ids)
    rows = session.execute(
        select(Response.id, QuestionnaireVersion.version, Unit.code, Unit.name, Service.code, Response.channel,
               Response.submitted_at, Response.review_status, Response.flag, Response.weight)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.questionnaire_version_id)
        .join(Unit, Unit.id == Response.unit_id).join(Service, Service.id == Response.service_id)
        .where(*_stored_filter(session, questionnaire_id, unit_ids, service_ids))
        .order_by(Response.submitted_at, Response.id)
    ).all()
    frame = pd.DataFrame([(str(r[0]), r[1], r[2], r[3], r[4], r[5].value, None, r[7].value, r[8] or "", float(r[9]))
                          for r in rows], columns=STORED_COLUMNS)
    frame["submitted_at"] = pd.Series([r[6] for r in rows], dtype=object)  # the stored moments, unconverted
    return frame


def stored_answers(session: Session, questionnaire_id: str, question_ids: Iterable[str], *,
                   unit_ids: Iterable[int], service_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """The raw answers (``response_id`` as text, ``question_id``, ``value_num``, ``value_text``)
    to ``question_ids`` of the responses :func:`stored_responses` returns for the same arguments."""
    rows = session.execute(
        select(AnswerValue.response_id, AnswerValue.question_id, AnswerValue.value_num, AnswerValue.value_text)
        .join(Response, Response.id == AnswerValue.response_id)
        .where(*_stored_filter(session, questionnaire_id, list(unit_ids), service_ids),
               AnswerValue.question_id.in_(list(question_ids)))
    ).all()
    return pd.DataFrame([(str(r[0]), r[1], r[2], r[3]) for r in rows],
                        columns=["response_id", "question_id", "value_num", "value_text"])
