"""Casework and collection quality (revision c11b, issue 11): citizens' complaints and feedback as
cases with due dates in working days, the province's own days off, sample targets for the
monitoring page, quality flags on responses and the back-check subsample.

Imported at the end of :mod:`survey.store.models`, so that ``Base.metadata`` has these tables.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.store.models import Base, Response, Unit, User, _enum, utcnow


class CaseKind(enum.StrEnum):
    COMPLAINT = "complaint"  # phản ánh
    SUGGESTION = "suggestion"  # kiến nghị


class CaseStatus(enum.StrEnum):
    RECEIVED = "received"  # waiting for the unit
    IN_PROGRESS = "in_progress"  # the unit is handling it
    INFO_REQUESTED = "info_requested"  # the unit asked the citizen for more information
    ANSWERED = "answered"  # answered; the citizen may rate the answer
    REJECTED = "rejected"  # not accepted for handling (with the reason)
    CLOSED = "closed"  # answered and done (liked, or left unrated past the rating time)


class CaseSource(enum.StrEnum):
    CITIZEN = "citizen"  # the citizen chose "phản ánh / kiến nghị" on the form
    STAFF = "staff"  # a staff member marked a comment as one


class FeedbackCase(Base):
    """A citizen's complaint or feedback (phản ánh, kiến nghị): the comment, the unit handling it,
    its due dates (working days, :mod:`survey.staff.cases`), the answer and the citizen's rating.
    ``code`` is given to the citizen: random, so that codes cannot be guessed one after another."""

    __tablename__ = "feedback_case"
    __table_args__ = (Index("ix_feedback_case_unit_received", "unit_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    response_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("response.id", ondelete="SET NULL"),
                                                          unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind, "case_kind"), default=CaseKind.COMPLAINT)
    source: Mapped[CaseSource] = mapped_column(_enum(CaseSource, "case_source"), default=CaseSource.CITIZEN)
    channel: Mapped[str] = mapped_column(String(20), default="")
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"), default=CaseStatus.RECEIVED)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Due dates (the last working day allowed), counted from ``received_at`` or the reopening.
    reply_due: Mapped[date] = mapped_column(Date)
    reject_due: Mapped[date] = mapped_column(Date)
    info_due: Mapped[date] = mapped_column(Date)
    publish_due: Mapped[date | None] = mapped_column(Date)
    info_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    info_request: Mapped[str | None] = mapped_column(Text)
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str | None] = mapped_column(Text)  # the answer, or the reason of a rejection
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_late: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rating: Mapped[str | None] = mapped_column(String(10))  # "like" / "dislike"
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopened_count: Mapped[int] = mapped_column(default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))

    unit: Mapped[Unit] = relationship()
    response: Mapped[Response | None] = relationship()
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", cascade="all, delete-orphan",
                                                   order_by="CaseEvent.id")


class CaseEvent(Base):
    """One step in a case's history (received, assigned, info requested, answered, rated, reopened…)."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("feedback_case.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)

    case: Mapped[FeedbackCase] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()


class DayOff(Base):
    """A province's own day off (``working`` False) or a make-up working day on a weekend
    (``working`` True), on top of Viet Nam's public holidays (the ``holidays`` package)."""

    __tablename__ = "day_off"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    working: Mapped[bool] = mapped_column(Boolean, default=False)


class SampleTarget(Base):
    """How many responses a village, a unit or a desk should collect in a quarter (``period``
    such as 2026-Q3) for a questionnaire: the monitoring page compares the counts with it."""

    __tablename__ = "sample_target"
    __table_args__ = (UniqueConstraint("questionnaire_id", "period", "unit_id", "desk_id", name="uq_sample_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(80))
    period: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desk.id", ondelete="CASCADE"), index=True)
    target: Mapped[int]


class ResponseFlag(Base):
    """One quality flag of a response (:mod:`survey.collect.quality`): its code and the figures
    behind it (``detail``: seconds, distance in km, the run length…), shown to staff in words."""

    __tablename__ = "response_flag"

    response_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DossierAttempt(Base):
    """A dossier code tried at a kiosk (never the code itself): ``ok`` False when refused as
    malformed or already rated. Many refused tries at one kiosk flag its next ratings."""

    __tablename__ = "dossier_attempt"
    __table_args__ = (Index("ix_dossier_attempt_desk_at", "desk_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desk.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)


class BackCheck(Base):
    """An enumerator interview drawn for a back-check: a second visit re-asks some questions;
    ``agreement`` is the share of them answered the same (None until done)."""

    __tablename__ = "back_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), unique=True)
    selected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    checker_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    compared: Mapped[int | None]
    agreement: Mapped[float | None] = mapped_column(Float)

    response: Mapped[Response] = relationship()


__all__ = ["BackCheck", "CaseEvent", "CaseKind", "CaseSource", "CaseStatus", "DayOff", "DossierAttempt",
           "FeedbackCase", "ResponseFlag", "SampleTarget"]
