"""The submission API (JSON, bearer tokens), described by the OpenAPI 3 document at
``/api/openapi.json``.

Kiosk devices authenticate with their device token; enumerators exchange their account for a
token at ``POST /api/v1/auth/token``. Every submission carries an id generated on the device:
the same id with the same content answers ``duplicate`` (200) and stores nothing new; the same
id with other content is a conflict (409). A batch stores each submission on its own (all or
nothing per submission) and reports each one's fate. Errors use the one JSON error shape of
:mod:`survey.errors`, with messages in the client's language (``Accept-Language``/``?lang=``).

Request bodies are validated with the pydantic models of :mod:`survey.collect.schemas`, from
which the OpenAPI document is generated; what depends on the store or the questionnaire is then
checked by :func:`survey.collect.submissions.check`.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError, StatementError

from questionnaires import load_library
from survey.auth import check_credentials, csrf, refusal_message
from survey.collect import credentials, schemas
from survey.collect.forms import build_form
from survey.collect.openapi import document
from survey.collect.openrosa import remember_digest
from survey.collect.responses import Pending, StoreResult
from survey.collect.submissions import (
    Scope,
    assignment_scope,
    check,
    desk_scope,
    enumerator_assignment,
    store_all,
)
from survey.errors import AppError, Forbidden, Invalid, TokenExpired, TooManyRequests, Unauthorized
from survey.ratelimit import limiter
from survey.store.catalogue import latest
from survey.store.db import get_session
from survey.store.models import Assignment, Credential, Response, Role, utcnow

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)


def warm_caches(app: Flask) -> None:
    """Load the questionnaire library and build its form classes before a server starts taking
    requests (``hailong serve`` calls this before gunicorn forks, so every worker inherits them):
    otherwise every thread of a fresh worker that receives a submission at once parses the whole
    library itself (seconds under load). Kept out of ``create_app``, which does no such work."""
    with app.app_context():
        for questionnaire in load_library().values():
            questionnaire.content_hash  # noqa: B018 - computed once, before the workers fork
            for language in app.config["LANGUAGES"]:
                build_form(questionnaire, language)


OUTCOME_STATUS = {"created": 201, "duplicate": 200, "conflict": 409, "dossier_used": 409}


def api_language() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        return str(asked)
    best = request.accept_languages.best_match(languages)
    return str(best or current_app.config["DEFAULT_LANGUAGE"])


@bp.record_once
def _one_charset(state: Any) -> None:
    """Every text body of the app says its charset, the same one: UTF-8 (Flask's JSON has none)."""
    state.app.after_request(utf8_charset)


def utf8_charset(response: Any) -> Any:
    if response.mimetype == "application/json" and "charset" not in response.content_type:
        response.content_type = "application/json; charset=utf-8"
    return response


@bp.before_request
def _language() -> None:
    g.api_language = api_language()
    g.api_locale = force_locale(g.api_language)
    g.api_locale.__enter__()


@bp.teardown_request
def _language_done(_exc: BaseException | None) -> None:
    locale = g.pop("api_locale", None)
    if locale is not None:
        locale.__exit__(None, None, None)


def _json_body() -> Any:
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise AppError(_("The request body is not valid JSON.")) from None


def _caller() -> Credential:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    cred = credentials.find(get_session(), token)
    if cred is None:
        raise Unauthorized(_("Sign in again: this device or account is not recognised."))
    if credentials.expired(cred):
        raise TokenExpired(_("Your sign-in has expired. Please sign in again."))
    per_minute = limiter.per(int(current_app.config["API_RATE_LIMIT_PER_MINUTE"]))
    if not limiter.hit(per_minute, f"cred:{cred.id}"):  # shared by every worker with a Redis storage
        raise TooManyRequests(_("Too many requests. Please wait a moment."),
                              retry_after=limiter.retry_after(per_minute, f"cred:{cred.id}"))
    return cred


class _Scopes:
    """The caller's scope, resolved once per request: a device's desk (its services) once, an
    enumerator's assignments once each (refusals remembered too)."""

    def __init__(self, cred: Credential) -> None:
        self.cred = cred
        self.desk: Scope | None = None
        self.assignments: dict[Any, Scope | AppError] = {}

    def __call__(self, item: Any) -> Scope:
        session = get_session()
        if self.cred.desk is not None:
            if self.desk is None:
                self.desk = desk_scope(session, self.cred.desk, self.cred)
            return self.desk
        assignment_id = item.get("assignment") if isinstance(item, dict) else None
        key = (type(assignment_id).__name__, assignment_id) if isinstance(assignment_id, int | str | None) else None
        found = self.assignments.get(key) if key is not None else None
        if found is None:
            try:
                found = assignment_scope(enumerator_assignment(session, self.cred, assignment_id), self.cred)
            except AppError as exc:
                found = exc
            if key is not None:
                self.assignments[key] = found
        if isinstance(found, AppError):
            raise found
        return found


def _result_body(result: StoreResult) -> dict[str, Any]:
    messages = {
        "created": _("Stored."),
        "duplicate": _("Already stored: this submission was received before."),
        "conflict": _("Another submission with this id but different content is already stored. Nothing was changed."),
        "dossier_used": _("This dossier code has already been rated. Thank you — each dossier can be rated once."),
    }
    return {"id": str(result.response_id), "status": result.outcome, "message": messages[result.outcome]}


def _refusal(item: Any, exc: AppError) -> tuple[dict[str, Any], int]:
    item_id = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
    return {"id": item_id and item_id[:64], "status": "invalid" if exc.status != 403 else "forbidden",
            "message": exc.message, "fields": exc.fields}, exc.status


def _submit_many(cred: Credential, items: list[Any], *, precheck: bool) -> list[tuple[dict[str, Any], int]]:
    """Validate every submission first, then store the valid ones together (one transaction,
    multi-row INSERTs; see :func:`survey.collect.submissions.store_all`); one fate per item, in order."""
    scopes = _Scopes(cred)
    fates: list[tuple[dict[str, Any], int] | None] = [None] * len(items)
    valid: list[tuple[int, tuple[Scope, Pending]]] = []
    for n, item in enumerate(items):
        try:
            scope = scopes(item)
            valid.append((n, (scope, _checked(scope, item))))
        except AppError as exc:
            fates[n] = _refusal(item, exc)
        except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:  # one odd item, never the batch
            fates[n] = _unprocessable(item, exc)
    if not valid:
        done = [f for f in fates if f is not None]
        _audit_submissions(cred, done)
        return done
    session = get_session()
    try:
        # left open, then committed with the audit line: one transaction for the request
        _fill(fates, valid, store_all(session, [v for _n, v in valid], precheck=precheck, commit=False))
        done = [f for f in fates if f is not None]
        _audit_submissions(cred, done)
        return done
    except (ValueError, TypeError, ArithmeticError, DataError, StatementError) as exc:
        if _transient(exc):
            raise  # the database is down or restarting: 503 + Retry-After, never "invalid" for good
    # Something in one item the database cannot take: store each on its own, so the others
    # are kept and only the culprit is refused.
    session.rollback()
    stored: list[StoreResult | None] = []
    for _n, v in valid:
        try:
            stored.append(store_all(session, [v], precheck=precheck)[0])
        except (ValueError, TypeError, ArithmeticError, DataError, StatementError) as exc:
            if _transient(exc):
                raise
            session.rollback()
            stored.append(None)
            fates[_n] = _unprocessable(items[_n], exc)
    _fill(fates, valid, stored)
    done = [f for f in fates if f is not None]
    _audit_submissions(cred, done)
    return done


def _fill(fates: list[tuple[dict[str, Any], int] | None], valid: list[tuple[int, tuple[Scope, Pending]]],
          stored: list[StoreResult] | list[StoreResult | None]) -> None:
    """The fates of the stored items, in their places."""
    for (n, _v), result in zip(valid, stored, strict=True):
        if result is not None:
            fates[n] = (_result_body(result), OUTCOME_STATUS[result.outcome])


def _audit_submissions(cred: Credential, fates: list[tuple[dict[str, Any], int]]) -> None:
    """One audit line per request that used ``cred`` to submit (a batch is one line): how many
    submissions, stored, already stored and refused — counts only, never an answer or the token."""
    session = get_session()
    stored = sum(1 for body, _s in fates if body.get("status") == "created")
    repeated = sum(1 for body, _s in fates if body.get("status") == "duplicate")
    credentials.record_use(session, cred, "api.submission", details={
        "items": len(fates), "stored": stored, "duplicates": repeated, "refused": len(fates) - stored - repeated})
    session.commit()


def _transient(exc: BaseException) -> bool:
    """A lost or refused database connection (a restart, an outage): the batch is to be sent again,
    not its items refused. (OperationalError is a StatementError: caught with the item errors, a
    PostgreSQL restart once turned a whole batch of sound ratings into "invalid", lost for good.)"""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated))


def _checked(scope: Scope, item: Any) -> Pending:
    """One submission checked against :class:`~survey.collect.schemas.Submission` and then by
    :func:`~survey.collect.submissions.check`; a refusal names every bad field of either."""
    shape = schemas.problems(schemas.Submission, item)
    try:
        checked = check(scope, item, g.api_language)
    except Invalid as exc:
        if shape:
            exc.fields = {**{k: v for k, v in shape.items() if k}, **exc.fields}
        raise
    if shape:
        if "" in shape:
            raise Invalid(_("A submission must be a JSON object."), {}, status=400)
        raise Invalid(_("Some answers are not valid. Please check the fields listed."), shape)
    return checked


def _unprocessable(item: Any, exc: BaseException) -> tuple[dict[str, Any], int]:
    """The fate of an item that broke the server's processing: refused with a reason, and logged
    (the kind of error only: items may hold personal data)."""
    current_app.logger.warning("submission refused: %s", type(exc).__name__)
    item_id = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
    message = _("This submission could not be processed (a value is out of range). Nothing of it was stored.")
    return {"id": item_id and item_id[:64], "status": "invalid", "message": message, "fields": {}}, 422


@bp.post("/v1/submissions")
def submit_single() -> Any:
    """Store one submission."""
    cred = _caller()
    body, status = _submit_many(cred, [_json_body()], precheck=False)[0]
    if status >= 400 and "fields" in body:
        return jsonify({"error": {"status": status, "code": body["status"], "message": body["message"],
                                  "fields": body["fields"]}}), status
    if status == 409:
        return jsonify({"error": {"status": 409, "code": body["status"], "message": body["message"], "fields": {}},
                        **body}), 409
    return jsonify(body), status


@bp.post("/v1/submissions/batch")
def submit_batch() -> Any:
    """Store many submissions, each on its own; report every one's fate."""
    cred = _caller()
    payload = _json_body()
    items = payload.get("submissions") if isinstance(payload, dict) else None
    if schemas.problems(schemas.SubmissionBatch, payload) or not isinstance(items, list):
        raise AppError(_("Send an object with a list of submissions."),
                       {"submissions": _("Send an object with a list of submissions.")})
    limit = int(current_app.config["API_BATCH_MAX"])
    if len(items) > limit:
        raise AppError(_("Send at most %(n)s submissions per batch.", n=limit),
                       {"submissions": _("Send at most %(n)s submissions per batch.", n=limit)})
    results = [{**body, "http_status": status} for body, status in _submit_many(cred, items, precheck=True)]
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return jsonify({"results": results, "counts": counts}), 200


@bp.post("/v1/auth/token")
def token() -> Any:
    """Exchange an enumerator's username and password for an API token."""
    payload = _json_body()
    if schemas.problems(schemas.TokenRequest, payload):
        raise AppError(_("Enter your username and password."),
                       {"username": _("Please enter your username."), "password": _("Please enter your password.")})
    request_ = schemas.TokenRequest.model_validate(payload)
    username, password = request_.username, request_.password
    session = get_session()
    user, refusal = check_credentials(username, password)
    if refusal is not None:
        raise TooManyRequests(refusal_message(refusal), retry_after=refusal.retry_after)
    if user is None:
        raise Unauthorized(_("Wrong username or password."))
    if user.role not in (Role.ENUMERATOR, Role.ADMIN):
        raise Forbidden(_("This account may not submit interviews."))
    remember_digest(user, password)  # so that ODK Collect may sign in with Digest too
    device = request_.device or ""
    issued = credentials.issue(session, user=user, label=f"enumerator app {device}"[:200].replace("\x00", ""))
    cred = session.scalar(select(Credential).where(Credential.token_hash == credentials.token_hash(issued)))
    assert cred is not None  # noqa: S101 - flushed by issue()
    credentials.record_use(session, cred, "api.token", details={"event": "issued"})
    session.commit()
    return jsonify({"token": issued, "user": {"username": user.username, "full_name": user.full_name}}), 201


@bp.get("/v1/me")
def me() -> Any:
    """Who the token belongs to and what it may submit."""
    cred = _caller()
    cred.last_used_at = utcnow()
    get_session().commit()
    if cred.desk is not None:
        scope = desk_scope(get_session(), cred.desk, cred)
        return jsonify({"kind": "device", "desk": cred.desk.code, "unit": cred.desk.unit.code,
                        "questionnaire": scope.questionnaire_id, "services": sorted(scope.services)})
    assert cred.user is not None  # noqa: S101 - a credential has a desk or a user
    return jsonify({"kind": "enumerator", "username": cred.user.username, "full_name": cred.user.full_name})


@bp.get("/v1/assignments")
def assignments() -> Any:
    """The enumerator's assignments with progress towards each quota."""
    cred = _caller()
    if cred.user is None:
        raise Forbidden(_("This account may not submit interviews."))
    session = get_session()
    rows = session.scalars(select(Assignment).where(Assignment.user_id == cred.user.id, Assignment.active.is_(True))
                           .order_by(Assignment.id)).all()
    done: dict[int | None, int] = {k: v for k, v in session.execute(
        select(Response.assignment_id, func.count()).where(Response.assignment_id.in_([a.id for a in rows]))
        .group_by(Response.assignment_id)).all()}
    language = g.api_language
    out = []
    for a in rows:
        q = latest(a.questionnaire_id)
        out.append({
            "id": a.id, "unit": {"code": a.unit.code, "name": a.unit.name,
                                 "path": " › ".join(u.name for u in reversed([a.unit, *a.unit.ancestors()]))},
            "service": {"code": a.service.code, "name": a.service.name(language)},
            "questionnaire": {"id": q.id, "version": q.version, "title": q.title.get(language)},
            "quota": a.quota, "done": int(done.get(a.id, 0)), "households": a.households or [],
        })
    return jsonify({"assignments": out})


@bp.get("/v1/questionnaires/<questionnaire_id>")
def questionnaire(questionnaire_id: str) -> Any:
    """The newest version of a questionnaire the caller may submit (definition as JSON)."""
    cred = _caller()
    session = get_session()
    allowed: set[str] = set()
    if cred.desk is not None:
        allowed.add(cred.desk.questionnaire_id)
    elif cred.user is not None:
        allowed.update(session.scalars(select(Assignment.questionnaire_id).where(
            Assignment.user_id == cred.user.id, Assignment.active.is_(True))).all())
    if questionnaire_id not in allowed:
        raise Forbidden(_("This device or account may not submit this questionnaire."))
    q = latest(questionnaire_id)
    response = jsonify({**q.to_dict(), "content_hash": q.content_hash})
    response.headers["ETag"] = f'"{q.content_hash}"'
    return response


@bp.get("/openapi.json")
def openapi() -> Any:
    """This API, described as OpenAPI 3."""
    return jsonify(document())
