"""Quality flags: a response that looks doubtful is stored, flagged and sent to review — never
dropped in silence.

Every flag has a code (kept in ``response.flag`` — the first one — and, with the figures behind
it, in :class:`~survey.store.casework.ResponseFlag`) and a reason staff read in their language
(:func:`flag_label`). The checks, each with its setting:

- ``too_fast`` — an enumerator interview shorter than ``QUALITY_SECONDS_PER_ANSWER`` seconds per
  answer given (from the paradata: ``duration_seconds``, else ``ended_at`` − ``started_at``, else
  the submission time − ``started_at``);
- ``straight_line`` — a run of at least ``QUALITY_STRAIGHT_RUN`` identical answers on consecutive
  scale items (a short kiosk form of five items never triggers it);
- ``gps_far`` — the tablet's position more than ``QUALITY_GPS_KM`` km from the village: the median
  position of the village's other interviews (at least three);
- ``out_of_hours`` — a kiosk rating outside ``QUALITY_OFFICE_HOURS`` on a working day (or on a day
  off), an interview outside ``QUALITY_FIELD_HOURS``;
- ``dossier_tries`` — a kiosk rating after ``QUALITY_DOSSIER_TRIES`` refused dossier codes at that
  kiosk within ten minutes;
- ``old_version`` — answered on a questionnaire version older than the newest one;
- ``burst`` and ``unregistered`` (kiosks) and ``link_rate`` (public links) come from
  :mod:`survey.collect.submissions` and :mod:`survey.collect.links`;
- ``back_check`` — a back-check visit agreed with the interview on fewer than
  ``QUALITY_BACKCHECK_AGREEMENT`` of the questions asked again (:func:`record_back_check`).

A share ``QUALITY_BACKCHECK_SHARE`` of enumerator interviews is drawn for a back-check (by a hash
of the response id: the same interview is always drawn or not).
"""

from __future__ import annotations

import hashlib
import math
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from babel.numbers import format_decimal
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from questionnaires import Questionnaire, load_library
from questionnaires.loader import version_key
from survey.collect.responses import Pending, StoreResult
from survey.i18n import current_language
from survey.periods import local
from survey.store.casebook import WorkCalendar
from survey.store.casework import BackCheck, DayOff, DossierAttempt, ResponseFlag
from survey.store.models import AnswerValue, Channel, Response, utcnow

SCALE_TYPES = frozenset({"scale5", "rating"})
CODES = ("too_fast", "straight_line", "gps_far", "out_of_hours", "dossier_tries", "old_version", "burst",
         "unregistered", "link_rate", "back_check")


@dataclass(frozen=True)
class Flag:
    code: str
    detail: dict[str, Any] = field(default_factory=dict)


def _setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default)


def _num(value: float, decimals: int = 0) -> str:
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return str(format_decimal(value, format=pattern, locale="vi_VN" if current_language() == "vi" else "en_GB"))


def flag_label(code: str | None, detail: dict[str, Any] | None = None) -> str:
    """The reason of a flag in the reader's language, with its figures when known."""
    d = detail or {}
    if code == "too_fast":
        if "seconds" in d:
            return _("Interview too fast: %(seconds)s seconds for %(answers)s answers (at least %(minimum)s expected)",
                     seconds=_num(d["seconds"]), answers=d.get("answers", 0), minimum=_num(d.get("minimum", 0)))
        return _("Interview too fast")
    if code == "straight_line":
        if "run" in d:
            return _("Straight-lining: %(run)s identical answers in a row on a scale", run=d["run"])
        return _("Straight-lining: the same answer on a long run of scale questions")
    if code == "gps_far":
        if "km" in d:
            return _("Position %(km)s km from the village's other interviews", km=_num(d["km"], 1))
        return _("Position far from the assigned village")
    if code == "out_of_hours":
        if "at" in d:
            return _("Out of office hours: %(at)s (Vietnam time)", at=d["at"])
        return _("Out of office hours")
    if code == "dossier_tries":
        if "tries" in d:
            return _("%(tries)s dossier codes refused at this kiosk just before", tries=d["tries"])
        return _("Repeated dossier-code attempts at this kiosk")
    if code == "old_version":
        if "version" in d:
            return _("Outdated questionnaire version %(version)s (newest: %(latest)s)", version=d["version"],
                     latest=d.get("latest", ""))
        return _("Outdated questionnaire version")
    if code == "back_check":
        if "agreement" in d:
            return _("Back-check agreed on only %(share)s of the questions asked again",
                     share=_num(100 * float(d["agreement"]), 0) + "%")
        return _("Back-check did not agree with the interview")
    if code == "burst":
        return _("Many ratings from one kiosk within seconds")
    if code == "unregistered":
        return _("From a kiosk browser that is not registered")
    if code == "link_rate":
        return _("Public link: more ratings for this unit in an hour than usual")
    if code == "stamp_window":  # survey/collect/stamps.py (hailong flag-stamps)
        return _("Time stamped outside the plausible window around its receipt (stored before the window existed)")
    return _("Other quality problem")


def _hours(text: str | None) -> tuple[time, time] | None:
    """``07:00-17:30`` as two times; empty: the check is off."""
    if not text or not str(text).strip():
        return None
    start, _sep, end = str(text).partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def duration(item: Pending) -> float | None:
    """The interview's length in seconds, from its paradata or its start and submission times."""
    para = item.paradata or {}
    if isinstance(para.get("duration_seconds"), int | float) and not isinstance(para.get("duration_seconds"), bool):
        return float(para["duration_seconds"])
    started = item.started_at
    try:
        if started is None and isinstance(para.get("started_at"), str):
            started = datetime.fromisoformat(para["started_at"].replace("Z", "+00:00"))
        ended = (datetime.fromisoformat(para["ended_at"].replace("Z", "+00:00"))
                 if isinstance(para.get("ended_at"), str) else item.submitted_at)
    except ValueError:
        return None
    if started is None or ended is None:
        return None
    return (_utc(ended) - _utc(started)).total_seconds()


def longest_run(questionnaire: Questionnaire, answers: dict[str, Any]) -> int:
    """The longest run of identical answers on consecutive scale items (questions in order; a
    non-scale question or an unanswered item ends a run)."""
    best = run = 0
    last: Any = None
    for question in questionnaire.questions:
        if question.type not in SCALE_TYPES:
            run, last = 0, None
            continue
        value = answers.get(question.id)
        if value is None or isinstance(value, bool):
            run, last = 0, None
            continue
        run = run + 1 if value == last else 1
        last = value
        best = max(best, run)
    return best


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points, in km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def newest_version(questionnaire_id: str) -> str | None:
    versions = [v for (qid, v) in load_library() if qid == questionnaire_id]
    return max(versions, key=version_key) if versions else None


def drawn_for_back_check(response_id: uuid.UUID, share: float) -> bool:
    """Is this interview in the back-check subsample? (The same answer every time.)"""
    digest = int.from_bytes(hashlib.sha256(response_id.bytes).digest()[:8], "big")
    return digest / 2**64 < share


class Checker:
    """The quality checks of one batch of submissions about to be stored."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.calendar = WorkCalendar()  # the days of the items, read by :meth:`lookups`
        self._days: set[Any] = set()  # the days the calendar knows
        self.office = _hours(_setting("QUALITY_OFFICE_HOURS", "07:00-17:30"))
        self.field = _hours(_setting("QUALITY_FIELD_HOURS", "06:00-21:00"))
        self.per_answer = float(_setting("QUALITY_SECONDS_PER_ANSWER", 4))
        self.run = int(_setting("QUALITY_STRAIGHT_RUN", 10))
        self.km = float(_setting("QUALITY_GPS_KM", 3.0))
        self.tries = int(_setting("QUALITY_DOSSIER_TRIES", 3))
        self._positions: dict[int, list[tuple[float, float]]] = {}
        self._refused: dict[int, int] = {}
        self.found: dict[uuid.UUID, list[Flag]] = {}

    def lookups(self, items: Sequence[Pending]) -> dict[tuple[str, Any], Any]:
        """What the checks of ``items`` need from the database, as scalar subqueries the caller
        sends together with its own in one statement (see :meth:`take`): the province's day-off
        row of each kiosk rating's day (Vietnam time) and each kiosk's refused dossier codes of the
        last ten minutes."""
        since = utcnow() - timedelta(minutes=10)
        out: dict[tuple[str, Any], Any] = {}
        for item in items:
            if item.channel != Channel.KIOSK:
                continue
            day = local(item.submitted_at).date()
            out[("day", day)] = select(DayOff.working).where(DayOff.day == day).limit(1).scalar_subquery()
            if item.desk_id is not None and self.tries > 0 and item.desk_id not in self._refused:
                out[("refused", item.desk_id)] = select(func.count()).select_from(DossierAttempt).where(
                    DossierAttempt.desk_id == item.desk_id, DossierAttempt.ok.is_(False),
                    DossierAttempt.at >= since).scalar_subquery()
        return out

    def _fetch(self, lookups: dict[tuple[str, Any], Any]) -> dict[tuple[str, Any], Any]:
        return dict(zip(lookups, self.session.execute(select(*lookups.values())).one(), strict=True))

    def take(self, found: dict[tuple[str, Any], Any]) -> None:
        """The answers to :meth:`lookups`."""
        for (kind, key), value in found.items():
            if kind == "day":
                self._days.add(key)
                if value is not None:
                    (self.calendar.working if value else self.calendar.days_off).add(key)
            elif kind == "refused":
                self._refused[key] = int(value or 0)

    # -- one check each -------------------------------------------------------------------------
    def too_fast(self, item: Pending) -> Flag | None:
        if item.channel != Channel.ENUMERATOR:
            return None
        seconds = duration(item)
        answered = sum(1 for v in item.answers.values() if v not in (None, "", []))
        minimum = self.per_answer * answered
        if seconds is None or answered == 0 or minimum <= 0 or seconds >= minimum:
            return None
        return Flag("too_fast", {"seconds": round(seconds), "answers": answered, "minimum": round(minimum)})

    def straight_line(self, item: Pending) -> Flag | None:
        run = longest_run(item.questionnaire, item.answers)
        return Flag("straight_line", {"run": run}) if self.run > 0 and run >= self.run else None

    def gps_far(self, item: Pending) -> Flag | None:
        gps = (item.paradata or {}).get("gps")
        if not isinstance(gps, dict) or "lat" not in gps or "lon" not in gps:
            return None
        point = (float(gps["lat"]), float(gps["lon"]))
        others = self._village_positions(item.unit_id)
        if len(others) < 3:
            others.append(point)
            return None
        centre = (statistics.median(p[0] for p in others), statistics.median(p[1] for p in others))
        others.append(point)
        km = distance_km(point, centre)
        return Flag("gps_far", {"km": round(km, 1)}) if km > self.km else None

    def _village_positions(self, unit_id: int) -> list[tuple[float, float]]:
        if unit_id not in self._positions:
            rows = self.session.scalars(select(Response.paradata).where(
                Response.unit_id == unit_id, Response.channel == Channel.ENUMERATOR,
                Response.paradata.is_not(None)).order_by(Response.submitted_at.desc()).limit(200)).all()
            points = []
            for para in rows:
                gps = para.get("gps") if isinstance(para, dict) else None
                if isinstance(gps, dict) and isinstance(gps.get("lat"), int | float) and isinstance(gps.get("lon"),
                                                                                                  int | float):
                    points.append((float(gps["lat"]), float(gps["lon"])))
            self._positions[unit_id] = points
        return self._positions[unit_id]

    def out_of_hours(self, item: Pending) -> Flag | None:
        hours = self.office if item.channel == Channel.KIOSK else \
            self.field if item.channel == Channel.ENUMERATOR else None
        if hours is None:
            return None
        start, end = hours
        here = local(item.submitted_at)
        if item.channel == Channel.KIOSK and here.date() not in self._days:
            self.take(self._fetch({("day", here.date()): self.lookups([item])[("day", here.date())]}))
        working = self.calendar.is_working if item.channel == Channel.KIOSK else None
        inside = start <= here.time() <= end and (working is None or working(here.date()))
        return None if inside else Flag("out_of_hours", {"at": here.strftime("%d/%m/%Y %H:%M")})

    def dossier_tries(self, item: Pending) -> Flag | None:
        if item.channel != Channel.KIOSK or item.desk_id is None or self.tries <= 0:
            return None
        if item.desk_id not in self._refused:
            since = utcnow() - timedelta(minutes=10)
            self._refused[item.desk_id] = int(self.session.scalar(select(func.count()).select_from(DossierAttempt).where(
                DossierAttempt.desk_id == item.desk_id, DossierAttempt.ok.is_(False),
                DossierAttempt.at >= since)) or 0)
        tries = self._refused[item.desk_id]
        return Flag("dossier_tries", {"tries": tries}) if tries >= self.tries else None

    def old_version(self, item: Pending) -> Flag | None:
        newest = newest_version(item.questionnaire.id)
        if newest is None or version_key(item.questionnaire.version) >= version_key(newest):
            return None
        return Flag("old_version", {"version": item.questionnaire.version, "latest": newest})

    def flags(self, item: Pending) -> list[Flag]:
        checks = (self.too_fast, self.straight_line, self.gps_far, self.out_of_hours, self.dossier_tries,
                  self.old_version)
        return [f for f in (check(item) for check in checks) if f is not None]

    def first_codes(self, items: Sequence[Pending], base: Sequence[str | None]) -> list[str | None]:
        """The review flag of each item about to be created: its own (burst, link_rate, …)
        first, else the first quality flag; every flag is remembered for :meth:`record`."""
        out: list[str | None] = []
        for item, code in zip(items, base, strict=True):
            found = self.flags(item)
            if code is not None:
                found.insert(0, Flag(code))
            self.found[item.response_id] = found
            out.append(found[0].code if found else None)
        return out

    def record(self, items: Sequence[Pending], results: Sequence[StoreResult], *, commit: bool = True) -> None:
        """Store the flags of the responses created, and draw the back-check subsample (in the
        open transaction with ``commit=False``: the caller commits them with the responses)."""
        created = {r.response_id for r in results if r.outcome == "created"}
        share = float(_setting("QUALITY_BACKCHECK_SHARE", 0.1))
        rows: list[Any] = []
        for item in items:
            if item.response_id not in created:
                continue
            rows.extend(ResponseFlag(response_id=item.response_id, code=f.code, detail=f.detail or None)
                        for f in self.found.get(item.response_id, []))
            if item.channel == Channel.ENUMERATOR and drawn_for_back_check(item.response_id, share):
                rows.append(BackCheck(response_id=item.response_id))
        if rows:
            self.session.add_all(rows)
            if commit:
                self.session.commit()


def note_dossier_attempt(session: Session, desk_id: int, ok: bool) -> None:
    """Remember one dossier code tried at a kiosk (never the code)."""
    session.add(DossierAttempt(desk_id=desk_id, ok=ok))
    session.commit()


def flags_of(session: Session, response_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ResponseFlag]]:
    """Every flag of these responses."""
    out: dict[uuid.UUID, list[ResponseFlag]] = {}
    if response_ids:
        for row in session.scalars(select(ResponseFlag).where(ResponseFlag.response_id.in_(list(response_ids)))
                                   .order_by(ResponseFlag.created_at, ResponseFlag.code)):
            out.setdefault(row.response_id, []).append(row)
    return out


def add_flag(session: Session, response: Response, flag: Flag) -> None:
    """Flag a stored response (a back-check that disagreed): it goes back to review."""
    from survey.store.models import ReviewStatus

    if session.get(ResponseFlag, (response.id, flag.code)) is None:
        session.add(ResponseFlag(response_id=response.id, code=flag.code, detail=flag.detail or None))
    if response.flag is None or response.review_status != ReviewStatus.RECEIVED:
        response.flag = flag.code
    response.review_status = ReviewStatus.RECEIVED


def back_check_questions(questionnaire: Questionnaire, limit: int = 6) -> list[Any]:
    """The questions a back-check visit asks again: the first factual and scale items."""
    kinds = {"yesno", "single", "integer", *SCALE_TYPES}
    return [q for q in questionnaire.questions if q.type in kinds and not q.personal][:limit]


def record_back_check(session: Session, check: BackCheck, answers: dict[str, Any], checker_id: int | None,
                      questionnaire: Questionnaire) -> float | None:
    """Compare the back-check's answers with the interview's; flag it when they agree too little."""
    stored = {a.question_id: (a.value_num if a.value_num is not None else a.value_text)
              for a in session.scalars(select(AnswerValue).where(AnswerValue.response_id == check.response_id))}
    compared = agreed = 0
    for question in back_check_questions(questionnaire):
        again = answers.get(question.id)
        if again is None or question.id not in stored:
            continue
        compared += 1
        first = stored[question.id]
        try:
            agreed += float(again) == float(first)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            agreed += str(again) == str(first)
    check.answers = {k: v for k, v in answers.items() if v is not None}
    check.compared = compared
    check.agreement = agreed / compared if compared else None
    check.checked_at = utcnow()
    check.checker_id = checker_id
    threshold = float(_setting("QUALITY_BACKCHECK_AGREEMENT", 0.8))
    if check.agreement is not None and check.agreement < threshold:
        add_flag(session, check.response, Flag("back_check", {"agreement": round(check.agreement, 3)}))
    session.commit()
    return check.agreement
