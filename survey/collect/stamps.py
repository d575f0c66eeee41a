"""Ratings stored before the ``submitted_at`` window existed (issue 12 point 3, left over).

Since the window, a submission is refused unless its ``submitted_at`` lies at most
``LATE_UPLOAD_DAYS`` before the server's receipt time and at most 10 minutes after it
(:func:`survey.collect.submissions.plausible_time`). Rows stored earlier may be stamped into any
quarter. **The rule**: a stored response whose ``submitted_at`` lies outside that window around
its own ``received_at`` gets the quality flag ``stamp_window`` and goes back to review — it stops
counting in scores, releases and exports (:func:`survey.reports.frames.approved_filter` counts
only unflagged or approved responses) until a staff member approves it (then it counts in the
quarter of its ``submitted_at``, as every response does) or rejects it. ``hailong flag-stamps``
applies the rule; it is idempotent, and prints how many rows it flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.store.casework import ResponseFlag
from survey.store.models import Response, ReviewStatus

CODE = "stamp_window"
AHEAD = timedelta(minutes=10)  # as plausible_time: a device clock a little ahead


@dataclass(frozen=True)
class StampReport:
    checked: int
    flagged: int  # newly flagged by this run
    already: int  # outside the window but flagged or reviewed before


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def outside(submitted_at: datetime, received_at: datetime, late_days: int) -> bool:
    """Is ``submitted_at`` outside the window around ``received_at``?"""
    submitted, received = _aware(submitted_at), _aware(received_at)
    return not (received - timedelta(days=late_days) <= submitted <= received + AHEAD)


def flag_out_of_window(session: Session, late_days: int) -> StampReport:
    """Flag ``stamp_window`` on every stored response outside its window (see the module)."""
    checked = flagged = already = 0
    rows = session.execute(select(Response.id, Response.submitted_at, Response.received_at)).all()
    for response_id, submitted_at, received_at in rows:
        checked += 1
        if not outside(submitted_at, received_at, late_days):
            continue
        if session.get(ResponseFlag, (response_id, CODE)) is not None:
            already += 1
            continue
        response = session.get(Response, response_id)
        assert response is not None  # noqa: S101 - just selected
        session.add(ResponseFlag(response_id=response_id, code=CODE,
                                 detail={"submitted_at": _aware(submitted_at).isoformat(),
                                         "received_at": _aware(received_at).isoformat()}))
        if response.review_status == ReviewStatus.APPROVED:
            response.review_status = ReviewStatus.RECEIVED  # an approval given before the rule: asked again
        response.flag = response.flag or CODE
        flagged += 1
    session.commit()
    return StampReport(checked=checked, flagged=flagged, already=already)
