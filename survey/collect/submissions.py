"""One submission, from any channel: parse it, scope it to the caller, validate it, store it.

The kiosk form, the enumerator app and the JSON API all end here. Answers are validated by the
questionnaire's own form class (:func:`survey.collect.forms.build_form`), so the rules (required,
ranges, patterns, skip logic) are the same ones the browser enforces. Every failure is a
:class:`~survey.errors.Invalid` (or :class:`~survey.errors.Forbidden`) with a message per bad
field, in the caller's language.
"""

from __future__ import annotations

import bisect
import math
import uuid
from bisect import insort
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exists, func, inspect, or_, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from questionnaires import Questionnaire, load_library
from survey import observability
from survey.collect import quality
from survey.collect.forms import answers_from_form, build_form
from survey.collect.responses import Pending, StoreResult, store_many
from survey.errors import Forbidden, Invalid
from survey.store import dossier_keys
from survey.store.catalogue import latest
from survey.store.models import (
    Assignment,
    Channel,
    Credential,
    Desk,
    DeskService,
    Response,
    Role,
    Service,
    UnitService,
    User,
    utcnow,
)

PARADATA_KEYS: dict[str, Any] = {
    "started_at": str, "ended_at": str, "duration_seconds": (int, float), "device": str,
    "app_version": str, "questionnaire_version": str, "consent": bool, "gps": dict, "user_agent": str,
}
GPS_KEYS = ("lat", "lon", "accuracy")


@dataclass(frozen=True)
class Scope:
    """What the caller may submit: one unit, some services, one questionnaire."""

    channel: Channel
    unit_id: int
    questionnaire_id: str
    services: dict[str, int]  # code -> id
    desk_id: int | None = None
    credential_id: int | None = None
    user_id: int | None = None
    assignment_id: int | None = None


def desk_services(session: Session, desk: Desk) -> list[Service]:
    """The services offered at ``desk``: its own list, else every service of its unit."""
    own = select(DeskService.service_id).where(DeskService.desk_id == desk.id)
    of_unit = select(UnitService.service_id).where(UnitService.unit_id == desk.unit_id)
    return sorted(session.scalars(  # one query: the desk's own list if it has one, else the unit's
        select(Service).where(or_(Service.id.in_(own), ~exists(own) & Service.id.in_(of_unit)))
    ).all(), key=lambda s: s.code)


def desk_scope(session: Session, desk: Desk, credential: Credential | None) -> Scope:
    """What a kiosk at ``desk`` may submit; its services from the desk as loaded when they are
    (:func:`survey.collect.credentials.find` loads them with the credential), else queried."""
    loaded = "own_services" not in inspect(desk).unloaded and "services" not in inspect(desk.unit).unloaded
    offered = (desk.own_services or desk.unit.services) if loaded else desk_services(session, desk)
    return Scope(
        channel=Channel.KIOSK, unit_id=desk.unit_id, questionnaire_id=desk.questionnaire_id,
        services={s.code: s.id for s in offered}, desk_id=desk.id,
        credential_id=credential.id if credential else None,
    )


def assignment_scope(assignment: Assignment, credential: Credential) -> Scope:
    return Scope(
        channel=Channel.ENUMERATOR, unit_id=assignment.unit_id, questionnaire_id=assignment.questionnaire_id,
        services={assignment.service.code: assignment.service_id}, credential_id=credential.id,
        user_id=assignment.user_id, assignment_id=assignment.id,
    )


def _bad(fields: dict[str, str], status: int = 422) -> Invalid:
    return Invalid(_("Some answers are not valid. Please check the fields listed."), fields, status=status)


def _clean_text(value: Any, limit: int = 200) -> str | None:
    if not isinstance(value, str) or "\x00" in value or len(value) > limit:
        return None
    return value


def parse_time(value: Any) -> datetime | None:
    text = _clean_text(value, 64)
    if text is None:
        raise ValueError(value)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def plausible_time(moment: datetime, now: datetime | None = None) -> bool:
    """Is a device's ``moment`` within the window around the server's receipt time: at most
    ``LATE_UPLOAD_DAYS`` before it (late offline uploads) and 10 minutes after it (clock drift)?"""
    now = now or utcnow()
    days = int(current_app.config["LATE_UPLOAD_DAYS"])
    return now - timedelta(days=days) <= moment <= now + timedelta(minutes=10)


def time_problem() -> str:
    return _("This time is not plausible: it must lie at most %(d)s days before the server receives the "
             "submission (and not in the future). Check the device's clock.",
             d=int(current_app.config["LATE_UPLOAD_DAYS"]))


def _formdata(questionnaire: Questionnaire, answers: dict[str, Any], errors: dict[str, str]) -> MultiDict[str, str]:
    """JSON answers → form data for the questionnaire's WTForms class."""
    known = {q.id: q for q in questionnaire.questions}
    data: MultiDict[str, str] = MultiDict()
    for key, value in answers.items():
        question = known.get(key) if isinstance(key, str) else None
        if question is None:
            errors[f"answers.{str(key)[:80]}"] = _("This question is not part of the questionnaire.")
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None:
                continue
            if isinstance(item, bool):
                if question.type == "consent":
                    if item:
                        data.add(key, "y")
                else:
                    data.add(key, "1" if item else "0")
            elif isinstance(item, int | float) and not (isinstance(item, float) and not math.isfinite(item)):
                data.add(key, str(item))
            elif isinstance(item, str) and "\x00" not in item and len(item) <= 10_000:
                data.add(key, item)
            else:
                errors[f"answers.{key}"] = _("This answer is not valid.")
    return data


_LATEST: dict[str, Questionnaire] = {}


def latest_version(questionnaire_id: str) -> Questionnaire:
    """:func:`survey.store.catalogue.latest`, once per process (the library is loaded once)."""
    found = _LATEST.get(questionnaire_id)
    if found is None or load_library().get((found.id, found.version)) is not found:
        found = _LATEST[questionnaire_id] = latest(questionnaire_id)
    return found


def validate_answers(questionnaire: Questionnaire, answers: Any, language: str) -> dict[str, Any]:
    """The cleaned answers, or :class:`~survey.errors.Invalid` naming each bad answer."""
    if not isinstance(answers, dict):
        raise _bad({"answers": _("Answers must be an object keyed by question id.")})
    errors: dict[str, str] = {}
    formdata = _formdata(questionnaire, answers, errors)
    with force_locale(language):
        form = build_form(questionnaire, language)(formdata=formdata, meta={"csrf": False})
        valid = form.validate()
        for name, messages in form.errors.items():
            if name != "csrf_token" and messages:
                errors.setdefault(f"answers.{name}", str(messages[0]))
    if errors or not valid:
        raise _bad(errors or {"answers": _("Some answers are not valid. Please check the fields listed.")})
    return answers_from_form(questionnaire, form)


def _questionnaire(scope: Scope, payload: dict[str, Any], errors: dict[str, str]) -> Questionnaire | None:
    qid = payload.get("questionnaire", scope.questionnaire_id)
    if qid != scope.questionnaire_id:
        errors["questionnaire"] = _("This device or account may not submit this questionnaire.")
        return None
    version = payload.get("version")
    if version is None:
        return latest_version(scope.questionnaire_id)
    found = load_library().get((scope.questionnaire_id, version)) if isinstance(version, str) else None
    if found is None:
        errors["version"] = _("Unknown questionnaire version.")
    return found


def _paradata(value: Any, errors: dict[str, str]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors["paradata"] = _("Paradata must be an object.")
        return None
    out: dict[str, Any] = {}
    for key, kind in PARADATA_KEYS.items():
        item = value.get(key)
        if item is None:
            continue
        if key == "gps" and isinstance(item, dict):
            gps = {k: float(item[k]) for k in GPS_KEYS if isinstance(item.get(k), int | float)
                   and not isinstance(item.get(k), bool) and math.isfinite(float(item[k]))}
            if gps:
                out["gps"] = gps
        elif isinstance(item, kind) and not (isinstance(item, bool) and kind != bool):  # noqa: E721
            if isinstance(item, str):
                if _clean_text(item, 300) is None:
                    errors[f"paradata.{key}"] = _("This value is not valid.")
                    continue
            elif isinstance(item, float) and not math.isfinite(item):
                errors[f"paradata.{key}"] = _("This value is not valid.")
                continue
            out[key] = item
        else:
            errors[f"paradata.{key}"] = _("This value is not valid.")
    return out


def check(scope: Scope, payload: Any, language: str) -> Pending:
    """Parse and validate one submission (a JSON object) within ``scope``, without touching the
    database; raise :class:`~survey.errors.Invalid` naming each bad field (counted as ``rejected``)."""
    try:
        return _check(scope, payload, language)
    except Invalid:
        observability.count_submission(_channel(scope), "rejected")
        raise


def _channel(scope: Scope) -> str:
    return str(getattr(scope.channel, "value", scope.channel))


def _check(scope: Scope, payload: Any, language: str) -> Pending:
    if not isinstance(payload, dict):
        raise _bad({"submission": _("A submission must be a JSON object.")}, status=400)
    errors: dict[str, str] = {}
    try:
        response_id = uuid.UUID(payload["id"]) if isinstance(payload.get("id"), str) and len(payload["id"]) <= 64 else None
    except ValueError:
        response_id = None
    if response_id is None:
        errors["id"] = _("Every submission needs an id generated on the device (a UUID).")
    questionnaire = _questionnaire(scope, payload, errors)
    service_code = payload.get("service")
    if service_code is None and len(scope.services) == 1:
        service_code = next(iter(scope.services))
    service_id = scope.services.get(service_code) if isinstance(service_code, str) else None
    if service_id is None:
        errors["service"] = _("This device or account may not submit ratings for this service.")
    times: dict[str, datetime | None] = {}
    zoneless = False  # a time without its offset is ambiguous: refused (400), never taken as UTC
    for key in ("started_at", "submitted_at"):
        try:
            times[key] = parse_time(payload[key]) if payload.get(key) is not None else None
            if times[key] is not None and datetime.fromisoformat(str(payload[key]).replace("Z", "+00:00")).tzinfo is None:
                zoneless = True
                errors[key] = _("A date and time needs its offset from UTC (e.g. +07:00).")
                continue
        except (ValueError, TypeError, OverflowError):
            errors[key] = _("Enter a date and time in ISO 8601 format.")
            continue
        moment = times[key]
        if moment is not None and not plausible_time(moment):
            errors[key] = time_problem()
    paradata = _paradata(payload.get("paradata"), errors)
    answers: dict[str, Any] = {}
    if questionnaire is not None:
        try:
            answers = validate_answers(questionnaire, payload.get("answers"), language)
        except Invalid as exc:
            errors.update(exc.fields)
    if errors or questionnaire is None or response_id is None or service_id is None:
        forbidden = {"questionnaire", "service"} & set(errors)
        raise _bad(errors, status=403 if forbidden and len(errors) == len(forbidden) else 400 if zoneless else 422)
    return pending(scope, questionnaire, service_id, answers, response_id, started_at=times.get("started_at"),
                   submitted_at=times.get("submitted_at"), paradata=paradata)


def pending(
    scope: Scope, questionnaire: Questionnaire, service_id: int, answers: dict[str, Any], response_id: uuid.UUID,
    *, started_at: datetime | None = None, submitted_at: datetime | None = None,
    paradata: dict[str, Any] | None = None,
) -> Pending:
    """Validated answers within ``scope``, ready to store."""
    now = utcnow()
    if submitted_at is None or not plausible_time(submitted_at, now):
        submitted_at = now  # callers refuse implausible times first (see check); never score one
    return Pending(
        questionnaire=questionnaire, unit_id=scope.unit_id, service_id=service_id, channel=scope.channel,
        answers=answers, response_id=response_id, submitted_at=submitted_at, desk_id=scope.desk_id,
        started_at=started_at, credential_id=scope.credential_id, user_id=scope.user_id,
        assignment_id=scope.assignment_id, paradata=paradata,
    )


def submit(session: Session, scope: Scope, payload: Any, language: str) -> StoreResult:
    """Parse, check and store one submission (a JSON object); raise :class:`~survey.errors.AppError`."""
    return store_all(session, [(scope, check(scope, payload, language))], precheck=False)[0]


def store_checked(
    session: Session, scope: Scope, questionnaire: Questionnaire, service_id: int, answers: dict[str, Any],
    response_id: uuid.UUID, *, started_at: datetime | None = None, submitted_at: datetime | None = None,
    paradata: dict[str, Any] | None = None, flag: str | None = None,
) -> StoreResult:
    """Store validated answers within ``scope``, flagging kiosk bursts and unregistered kiosks
    (``flag``: the caller's own review flag, e.g. a public link's ``link_rate``)."""
    item = pending(scope, questionnaire, service_id, answers, response_id, started_at=started_at,
                   submitted_at=submitted_at, paradata=paradata)
    item.flag = flag
    return store_all(session, [(scope, item)], precheck=False)[0]


class _Bursts:
    """Burst flags for many submissions of one kiosk device, the same as storing them one by
    one: for each distinct submission time, the device's stored submissions within the window
    (counted by the database: :meth:`lookups`, sent with the quality checks' in one statement),
    plus those created earlier in this batch within the window."""

    def __init__(self, session: Session, scope: Scope, times: list[datetime]) -> None:
        self.scope = scope
        self.count = int(current_app.config["KIOSK_BURST_COUNT"])
        self.window = timedelta(seconds=int(current_app.config["KIOSK_BURST_SECONDS"]))
        self.owner = (Response.credential_id == scope.credential_id if scope.credential_id is not None
                      else (Response.desk_id == scope.desk_id) & Response.credential_id.is_(None))
        self.distinct = sorted({_utc(t) for t in times})
        self.stored: dict[datetime, int] = {}
        self.created: list[datetime] = []  # created in this batch so far, sorted
        distinct = self.distinct
        if len(distinct) > 8 and distinct[-1] - distinct[0] <= timedelta(days=1):
            # Many times close together (a batch stamped on arrival): fetch the few stored
            # times around them once and count in memory.
            around = sorted(_utc(t) for t in session.scalars(select(Response.submitted_at).where(
                self.owner, Response.submitted_at > distinct[0] - self.window,
                Response.submitted_at <= distinct[-1] + self.window)))
            for t in distinct:
                self.stored[t] = (bisect.bisect_right(around, t + self.window)
                                  - bisect.bisect_right(around, t - self.window))
            self.distinct = []

    def lookups(self) -> dict[tuple[str, Any], Any]:
        """The count of stored submissions around each time not counted yet, as scalar subqueries."""
        return {("burst", (id(self), t)): select(func.count()).select_from(Response).where(
            self.owner, Response.submitted_at > t - self.window, Response.submitted_at <= t + self.window,
        ).scalar_subquery() for t in self.distinct}

    def take(self, found: dict[tuple[str, Any], Any]) -> None:
        for t in self.distinct:
            self.stored[t] = int(found[("burst", (id(self), t))] or 0)

    def flag(self, submitted_at: datetime) -> str | None:
        t = _utc(submitted_at)
        recent = self.stored.get(t, 0) + bisect.bisect_right(self.created, t + self.window) \
            - bisect.bisect_right(self.created, t - self.window)
        insort(self.created, t)
        if recent >= self.count:
            return "burst"
        return None if self.scope.credential_id is not None else "unregistered"


_CHUNK = 300  # scalar subqueries per statement


def _scalars(session: Session, lookups: dict[tuple[str, Any], Any]) -> dict[tuple[str, Any], Any]:
    """The values of named scalar subqueries, :data:`_CHUNK` to a ``SELECT``."""
    keys = list(lookups)
    found: dict[tuple[str, Any], Any] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        found.update(zip(chunk, session.execute(select(*(lookups[k] for k in chunk))).one(), strict=True))
    return found


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def store_all(session: Session, items: list[tuple[Scope, Pending]], *, precheck: bool = True,
              commit: bool = True) -> list[StoreResult]:
    """Store validated submissions (see :func:`survey.collect.responses.store_many`), flagging kiosk
    bursts and unregistered kiosks; one outcome per item, in order. ``commit=False``: the flags are
    added to the open transaction, which the caller commits (see ``store_many``)."""
    owners: dict[int, tuple[int | None, int | None]] = {}
    for scope, item in items:
        if scope.channel == Channel.KIOSK:
            owners[id(item)] = (scope.credential_id, scope.desk_id)
    scopes = {id(item): scope for scope, item in items}

    checker = quality.Checker(session)

    def flags_for(new: list[Pending]) -> list[str | None]:
        """Flags of the submissions about to be created, in order (duplicates are not counted):
        the kiosk's burst/unregistered or the caller's own flag first, then the quality checks."""
        bursts: dict[tuple[int | None, int | None], _Bursts] = {}
        for owner in {owners[id(i)] for i in new if id(i) in owners}:
            mine = [i for i in new if owners.get(id(i)) == owner]
            bursts[owner] = _Bursts(session, scopes[id(mine[0])], [i.submitted_at for i in mine])
        # every count the flags need, in as few statements as possible (one for a submission)
        lookups = checker.lookups(new)
        for burst in bursts.values():
            lookups.update(burst.lookups())
        found = _scalars(session, lookups)
        checker.take(found)
        for burst in bursts.values():
            burst.take(found)
        base = [bursts[owners[id(i)]].flag(i.submitted_at) if id(i) in owners else i.flag for i in new]
        return checker.first_codes(new, base)

    ring = dossier_keys.keyring(current_app)
    dossier_keys.check(session, ring)
    pendings = [i for _s, i in items]
    results = store_many(session, secret=ring.secret, items=pendings, flags_for=flags_for,
                         precheck=precheck, old_secrets=ring.secrets()[1:], commit=commit)
    checker.record(pendings, results, commit=commit)
    fates = Counter((_channel(scope), result.outcome) for (scope, _i), result in zip(items, results, strict=True))
    for (channel, fate), n in fates.items():
        observability.count_submission(channel, fate, n)
    return results


def enumerator_assignment(session: Session, credential: Credential, assignment_id: Any) -> Assignment:
    """The caller's own active assignment ``assignment_id``, or :class:`~survey.errors.Forbidden`."""
    user = credential.user
    if user is None or user.role not in (Role.ENUMERATOR, Role.ADMIN):
        raise Forbidden(_("This account may not submit interviews."),
                        {"assignment": _("This account may not submit interviews.")})
    assignment = (session.get(Assignment, assignment_id)
                  if isinstance(assignment_id, int) and not isinstance(assignment_id, bool) and 0 < assignment_id < 2**31
                  else None)
    if assignment is None or assignment.user_id != user.id or not assignment.active:
        raise Forbidden(_("This assignment is not yours."),
                        {"assignment": _("This assignment is not yours.")})
    if not entry_allowed(user, assignment):
        raise Forbidden(outside_entry_scope(), {"assignment": outside_entry_scope()})
    return assignment


def entry_allowed(user: User, assignment: Assignment) -> bool:
    """Is ``assignment``'s unit within ``user``'s data-entry scope (:func:`survey.auth.scope_of`)?
    An assignment made before the account's data-entry unit changed may lie outside it."""
    from survey.auth import scope_of

    return scope_of(user).can_enter(assignment.unit_id)


def outside_entry_scope() -> str:
    return _("The unit of this assignment is outside your account's data-entry unit: nothing was stored. "
             "Ask your supervisor to check your assignments.")
