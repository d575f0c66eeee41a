"""The ``quality`` section of a release snapshot (issue 11 point 5): per desk and quarter, how many
ratings of the release's period were held by a quality flag and how many of them were left out.

Quality flags never drop a rating silently: a flagged rating waits for a reviewer, who approves it
(it then counts) or rejects it. The published release says, for every one-stop desk (and, for
household or enumerator interviews, every unit where they were made) and every quarter of its
period, within its scope and questionnaires:

- ``flagged``: ratings held for review — those still carrying a flag, and those a reviewer has
  decided on (a decision clears the flag; a review note keeps the step);
- ``excluded``: those of them that the scores of this release do not count (still waiting, sent
  back, or rejected) — the complement counted after a person approved it.

Counts only (aggregates, no response id, no reason text), and only rows with at least one
flagged rating. Read by the portal's unit pages and the PDF report.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from survey.periods import VIETNAM, quarter
from survey.reports.frames import approved_filter
from survey.store.models import Desk, Response, ReviewNote, Unit
from survey.text import sort_key


def snapshot_section(session: Session, spec: Any, snapshot: Any) -> list[dict[str, Any]]:
    """The release builder's SECTIONS hook: one row per desk (or unit, for ratings without a
    desk) × quarter × questionnaire with a flagged rating — ``flagged`` and ``excluded`` counts."""
    from survey.store.units import UnitMap

    scope = session.scalar(select(Unit).where(Unit.code == spec.scope))
    if scope is None:
        return []
    counted = sorted(UnitMap(session).counted_in(scope))
    # in UTC: SQLite keeps the wall-clock time of what it is given, and stores UTC
    start = datetime.combine(spec.period.start, time(), VIETNAM).astimezone(UTC)
    end = datetime.combine(spec.period.end + timedelta(days=1), time(), VIETNAM).astimezone(UTC)
    reviewed = exists().where(ReviewNote.response_id == Response.id)
    held = [Response.questionnaire_id.in_(list(spec.questionnaires)), Response.unit_id.in_(counted),
            Response.submitted_at >= start, Response.submitted_at < end, or_(Response.flag.is_not(None), reviewed)]
    rows = session.execute(select(Response.id, Response.questionnaire_id, Response.desk_id, Response.unit_id,
                                  Response.submitted_at).where(*held)).all()
    # the gate as a condition, as every score applies it (THE gate: reports.frames.approved_filter)
    scored = set(session.scalars(select(Response.id).where(*held, approved_filter(session))))
    flagged: Counter[tuple[str, int | None, int, str]] = Counter()
    excluded: Counter[tuple[str, int | None, int, str]] = Counter()
    for response_id, questionnaire_id, desk_id, unit_id, submitted_at in rows:
        is_counted = response_id in scored
        key = (questionnaire_id, desk_id, unit_id if desk_id is None else 0, quarter(submitted_at))
        flagged[key] += 1
        if not is_counted:
            excluded[key] += 1
    if not flagged:
        return []
    desks = {d.id: d for d in session.scalars(select(Desk).where(Desk.id.in_({k[1] for k in flagged if k[1]})))}
    units = {u.id: u for u in session.scalars(select(Unit).where(
        Unit.id.in_({k[2] for k in flagged} | {d.unit_id for d in desks.values()})))}
    shown = {str(u["code"]) for u in snapshot.get("units") or []}
    parents = {uid: (code, parent) for uid, code, parent in session.execute(
        select(Unit.id, Unit.code, Unit.parent_id))}

    def shown_unit(unit: Unit) -> str:
        """The unit itself when the release shows it, else the nearest one above that it shows
        (a village's interviews under their commune), else the scope."""
        node: int | None = unit.id
        while node is not None and parents[node][0] not in shown:
            node = parents[node][1]
        return parents[node][0] if node is not None else scope.code

    merged: dict[tuple[str, str, str, str | None], dict[str, Any]] = {}
    for key, n in flagged.items():
        questionnaire_id, desk_id, unit_id, period = key
        desk = desks.get(desk_id) if desk_id is not None else None
        where = shown_unit(units[desk.unit_id] if desk is not None else units[unit_id])
        row = merged.setdefault((questionnaire_id, period, where, desk.code if desk else None), {
            "questionnaire": questionnaire_id, "period": period, "unit": where,
            "desk": desk.code if desk is not None else None, "desk_name": desk.name if desk else None,
            "flagged": 0, "excluded": 0})
        row["flagged"] += n
        row["excluded"] += excluded[key]
    out = list(merged.values())
    out.sort(key=lambda r: (r["questionnaire"], r["period"], sort_key(r["desk_name"] or ""), r["desk"] or "",
                            r["unit"]))
    return out
