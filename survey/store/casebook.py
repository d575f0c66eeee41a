"""Citizens' complaints and feedback (phản ánh, kiến nghị) as cases: codes, working-day due dates,
the steps of a case, its public counters and the Decision 766 indicators 5.2 and 5.3.

A case is opened from a free-text comment, by the citizen (the "phản ánh / kiến nghị" choice of
the kiosk, link and receipt forms) or by a staff member. Its due dates count **working days**
after the day it was received (in Vietnam time): Monday to Friday, less Viet Nam's public
holidays (the ``holidays`` package, which also knows the days given in lieu), less the
province's own days off, plus the weekend days the province declares working days
(:class:`~survey.store.casework.DayOff`). Decision 766/QĐ-TTg's limits are the defaults: a reply
within 15 working days, a rejection within 2, a request for more information within 5, the
answer published within 2 working days of it (settings ``CASE_*_DAYS``).

The code given to the citizen is random (``PA-7K3M-9QXD``: 40 bits in Crockford's base 32), so
that one code says nothing of the others; the public look-up is rate-limited as well.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import holidays
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.periods import local
from survey.store.casework import CaseEvent, CaseKind, CaseSource, CaseStatus, DayOff, FeedbackCase
from survey.store.models import Response, Unit, utcnow

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
_PREFIX = {CaseKind.COMPLAINT: "PA", CaseKind.SUGGESTION: "KN"}
OPEN = (CaseStatus.RECEIVED, CaseStatus.IN_PROGRESS, CaseStatus.INFO_REQUESTED)
DONE = (CaseStatus.ANSWERED, CaseStatus.CLOSED)


@dataclass(frozen=True)
class Limits:
    """Working days allowed (Decision 766/QĐ-TTg by default)."""

    reply: int = 15
    reject: int = 2
    info: int = 5
    publish: int = 2
    remind: int = 2  # a reminder goes out this many working days before the reply is due

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        return cls(reply=int(config.get("CASE_REPLY_DAYS", 15)), reject=int(config.get("CASE_REJECT_DAYS", 2)),
                   info=int(config.get("CASE_INFO_DAYS", 5)), publish=int(config.get("CASE_PUBLISH_DAYS", 2)),
                   remind=int(config.get("CASE_REMIND_DAYS", 2)))


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year).keys())


@dataclass
class WorkCalendar:
    """Working days: Monday–Friday, not a public holiday of Viet Nam, not a day off of the
    province; a weekend day the province declares a working day is one."""

    days_off: set[date] = field(default_factory=set)
    working: set[date] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session) -> WorkCalendar:
        rows = session.scalars(select(DayOff)).all()
        return cls({r.day for r in rows if not r.working}, {r.day for r in rows if r.working})

    def is_working(self, day: date) -> bool:
        if day in self.working:
            return True
        if day in self.days_off or day.weekday() >= 5:
            return False
        return day not in _public_holidays(day.year)

    def add(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself is not counted)."""
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working(day):
                left -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative when ``end`` is
        earlier: working days late is ``between(due, answered)``)."""
        if end < start:
            return -self.between(end, start)
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working(start + timedelta(days=n)))


def today(now: datetime | None = None) -> date:
    return local(now or utcnow()).date()


def new_code(kind: CaseKind) -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{_PREFIX[kind]}-{raw[:4]}-{raw[4:]}"


def normalize_code(text: str) -> str:
    """A code as typed (spaces, lower case, O for 0, I or L for 1) in its stored form."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(cleaned) != 10:
        return ""
    head, tail = cleaned[:2], cleaned[2:].translate(str.maketrans("OIL", "011"))
    if head not in _PREFIX.values() or any(ch not in _ALPHABET for ch in tail):
        return ""
    return f"{head}-{tail[:4]}-{tail[4:]}"


def _event(case: FeedbackCase, action: str, user_id: int | None = None, note: str | None = None,
           at: datetime | None = None) -> None:
    case.events.append(CaseEvent(action=action, user_id=user_id, note=note, at=at or utcnow()))


def _set_dues(case: FeedbackCase, calendar: WorkCalendar, limits: Limits, start: date) -> None:
    case.reply_due = calendar.add(start, limits.reply)
    case.reject_due = calendar.add(start, limits.reject)
    case.info_due = calendar.add(start, limits.info)


def open_case(session: Session, *, unit_id: int, text: str, kind: CaseKind = CaseKind.COMPLAINT,
              source: CaseSource = CaseSource.CITIZEN, channel: str = "", response_id: Any = None,
              user_id: int | None = None, limits: Limits | None = None, now: datetime | None = None,
              calendar: WorkCalendar | None = None) -> FeedbackCase:
    """A new case (committed), with its code and due dates. A response already made a case
    gives that case back."""
    if response_id is not None:
        existing = session.scalar(select(FeedbackCase).where(FeedbackCase.response_id == response_id))
        if existing is not None:
            return existing
    limits = limits or Limits()
    calendar = calendar or WorkCalendar.load(session)
    now = now or utcnow()
    for _attempt in range(5):
        case = FeedbackCase(code=new_code(kind), unit_id=unit_id, text=text.strip(), kind=kind, source=source,
                            channel=channel, response_id=response_id, received_at=now, created_by_id=user_id,
                            status=CaseStatus.RECEIVED, answered_late=False, reopened_count=0)
        _set_dues(case, calendar, limits, today(now))
        _event(case, "received", user_id, at=now)
        session.add(case)
        try:
            session.commit()
            return case
        except IntegrityError:  # a code drawn twice (1 in 10^12), or the response's case made meanwhile
            session.rollback()
            if response_id is not None:
                existing = session.scalar(select(FeedbackCase).where(FeedbackCase.response_id == response_id))
                if existing is not None:
                    return existing
    raise RuntimeError("could not draw a unique case code")


class CaseError(ValueError):
    """A step that does not apply to the case as it is (the message names it for staff)."""


def start(case: FeedbackCase, user_id: int | None, now: datetime | None = None) -> None:
    if case.status != CaseStatus.RECEIVED:
        raise CaseError("not_received")
    case.status = CaseStatus.IN_PROGRESS
    _event(case, "in_progress", user_id, at=now)


def assign(case: FeedbackCase, unit: Unit, user_id: int | None, now: datetime | None = None) -> None:
    """Hand the case to another unit (the due dates stay: the citizen's clock keeps running)."""
    if case.status not in OPEN:
        raise CaseError("not_open")
    case.unit_id = unit.id
    _event(case, "assigned", user_id, note=unit.name, at=now)


def request_info(case: FeedbackCase, text: str, user_id: int | None, now: datetime | None = None) -> None:
    if case.status not in (CaseStatus.RECEIVED, CaseStatus.IN_PROGRESS):
        raise CaseError("not_open")
    now = now or utcnow()
    case.status = CaseStatus.INFO_REQUESTED
    case.info_request = text.strip()
    case.info_requested_at = now
    _event(case, "info_requested", user_id, note=text.strip(), at=now)


def answer(case: FeedbackCase, text: str, user_id: int | None, *, calendar: WorkCalendar, limits: Limits,
           publish: bool = True, now: datetime | None = None) -> None:
    """Record the unit's answer; ``publish``: the citizen can read it at once (else
    :func:`publish_answer` within ``limits.publish`` working days)."""
    if case.status not in OPEN:
        raise CaseError("not_open")
    now = now or utcnow()
    case.status = CaseStatus.ANSWERED
    case.answer = text.strip()
    case.answered_at = now
    case.answered_by_id = user_id
    case.answered_late = today(now) > case.reply_due
    case.publish_due = calendar.add(today(now), limits.publish)
    case.published_at = None
    case.rating = None
    case.rated_at = None
    _event(case, "answered", user_id, note=text.strip(), at=now)
    if publish:
        publish_answer(case, user_id, now=now)


def publish_answer(case: FeedbackCase, user_id: int | None, now: datetime | None = None) -> None:
    if case.status != CaseStatus.ANSWERED or case.published_at is not None:
        raise CaseError("not_answered")
    case.published_at = now or utcnow()
    _event(case, "published", user_id, at=case.published_at)


def reject(case: FeedbackCase, reason: str, user_id: int | None, now: datetime | None = None) -> None:
    if case.status not in OPEN:
        raise CaseError("not_open")
    now = now or utcnow()
    case.status = CaseStatus.REJECTED
    case.answer = reason.strip()
    case.rejected_at = now
    case.answered_late = today(now) > case.reject_due
    case.published_at = now
    _event(case, "rejected", user_id, note=reason.strip(), at=now)


def close(case: FeedbackCase, user_id: int | None, now: datetime | None = None) -> None:
    if case.status != CaseStatus.ANSWERED:
        raise CaseError("not_answered")
    case.status = CaseStatus.CLOSED
    case.closed_at = now or utcnow()
    _event(case, "closed", user_id, at=case.closed_at)


def rate(case: FeedbackCase, liked: bool, *, calendar: WorkCalendar, limits: Limits,
         now: datetime | None = None) -> None:
    """The citizen's rating of a published answer: a like closes the case, a dislike reopens it
    with new due dates from today."""
    if case.status != CaseStatus.ANSWERED or case.published_at is None:
        raise CaseError("not_answered")
    now = now or utcnow()
    case.rating = "like" if liked else "dislike"
    case.rated_at = now
    if liked:
        case.status = CaseStatus.CLOSED
        case.closed_at = now
        _event(case, "liked", at=now)
        return
    case.status = CaseStatus.IN_PROGRESS
    case.reopened_count += 1
    case.answered_at = None
    case.published_at = None
    case.publish_due = None
    case.answered_late = False
    _set_dues(case, calendar, limits, today(now))
    _event(case, "reopened", at=now)


def overdue(case: FeedbackCase, on: date) -> bool:
    """Still open past its reply due date, or answered but not published in time."""
    if case.status in OPEN:
        return on > case.reply_due
    return case.status == CaseStatus.ANSWERED and case.published_at is None and case.publish_due is not None \
        and on > case.publish_due


# -- counting -----------------------------------------------------------------------------------

COUNTERS = ("received", "in_progress", "answered_on_time", "answered_late", "overdue", "rejected", "reopened")


def month_of(moment: datetime) -> str:
    here = local(moment)
    return f"{here.year:04d}-{here.month:02d}"


def counters(cases: Iterable[FeedbackCase], on: date) -> Counter[str]:
    """The public counters of some cases, as of day ``on``."""
    out: Counter[str] = Counter(dict.fromkeys(COUNTERS, 0))
    for case in cases:
        out["received"] += 1
        if case.status in OPEN:
            out["overdue" if on > case.reply_due else "in_progress"] += 1
        elif case.status in DONE:
            out["answered_late" if case.answered_late else "answered_on_time"] += 1
        elif case.status == CaseStatus.REJECTED:
            out["rejected"] += 1
        if case.reopened_count:
            out["reopened"] += 1
    return out


@dataclass(frozen=True)
class Indicator:
    code: str
    numerator: int
    denominator: int

    @property
    def share(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def indicators(cases: Sequence[FeedbackCase]) -> tuple[Indicator, Indicator]:
    """Decision 766 indicators from the cases: 5.2, feedback handled on time (answered or rejected
    within its limit) of all received; 5.3, feedback answered that the citizen did not dislike,
    never reopened and not late, of all answered."""
    on_time = sum(1 for c in cases if c.status in (*DONE, CaseStatus.REJECTED) and not c.answered_late)
    handled = [c for c in cases if c.status in DONE]
    accepted = sum(1 for c in handled if not c.answered_late and not c.reopened_count and c.rating != "dislike")
    return Indicator("5.2", on_time, len(cases)), Indicator("5.3", accepted, len(handled))


def cases_of(session: Session, unit_ids: Iterable[int] | None = None) -> list[FeedbackCase]:
    query = select(FeedbackCase).order_by(FeedbackCase.received_at, FeedbackCase.id)
    if unit_ids is not None:
        query = query.where(FeedbackCase.unit_id.in_(list(unit_ids)))
    return list(session.scalars(query).all())


def comment_of(response: Response) -> str | None:
    """The citizen's free-text comment of a response (its longest text answer), if any."""
    texts = [a.value_text.strip() for a in response.answers if a.value_text and a.value_text.strip()
             and not a.value_text.strip().startswith("[")]
    return max(texts, key=len) if texts else None


def due_soon(cases: Iterable[FeedbackCase], on: date, calendar: WorkCalendar, limits: Limits) -> list[FeedbackCase]:
    """Open cases whose reply is due within ``limits.remind`` working days (or already late)."""
    horizon = calendar.add(on, limits.remind)
    return [c for c in cases if c.status in OPEN and c.reply_due <= horizon]


def remind(session: Session, limits: Limits, now: datetime | None = None) -> list[str]:
    """Mark the reminder of every open case near its due date (once per day per case): the job
    :func:`survey.portal.jobs.case_reminders` runs this. Returns the codes reminded."""
    now = now or utcnow()
    on = today(now)
    calendar = WorkCalendar.load(session)
    reminded: list[str] = []
    for case in due_soon(session.scalars(select(FeedbackCase).where(FeedbackCase.status.in_(OPEN))), on,
                         calendar, limits):
        if case.reminded_at is not None and today(case.reminded_at) == on:
            continue
        case.reminded_at = now
        late = on > case.reply_due
        _event(case, "reminder", note=f"{'late' if late else 'due'} {case.reply_due.isoformat()}", at=now)
        reminded.append(case.code)
    session.commit()
    return reminded
