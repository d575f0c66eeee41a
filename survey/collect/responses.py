"""Storing responses: one function every channel goes through.

The response id is generated on the device. Storing the same id again with the same content
is a no-op that reports "already stored"; the same id with other content is a conflict. A
dossier code is never stored: ``dossier_key`` is an HMAC of it under the secret key, unique per
questionnaire, so the database itself enforces one rating per dossier code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import Engine, Table, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey.store import compact
from survey.store import rollup_cells as rollups
from survey.store.catalogue import publish
from survey.store.models import Answer, Channel, QuestionnaireVersion, Response, utcnow


@dataclass(frozen=True)
class StoreResult:
    outcome: Literal["created", "duplicate", "conflict", "dossier_used"]
    response_id: uuid.UUID


def dossier_key(secret: str, questionnaire_id: str, code: str) -> str:
    normalized = code.strip().upper()
    msg = f"{questionnaire_id}\x1f{normalized}".encode()
    return hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def payload_hash(questionnaire: Questionnaire, unit_id: int, service_id: int, answers: dict[str, Any]) -> str:
    body = {
        "questionnaire": [questionnaire.id, questionnaire.version],
        "unit": unit_id,
        "service": service_id,
        "answers": {k: _jsonable(v) for k, v in sorted(answers.items())},
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def answer_values(questionnaire: Questionnaire, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """One ``{question_id, value_num, value_text}`` per stored answer (dossier codes never stored)."""
    rows: list[dict[str, Any]] = []
    for question in questionnaire.questions:
        if question.id not in answers or question.type == "dossier_code":
            continue
        value = _jsonable(answers[question.id])
        num: float | None = None
        text: str | None = None
        if isinstance(value, bool):
            num = 1.0 if value else 0.0
        elif isinstance(value, int | float):
            num = float(value)
        elif isinstance(value, list):
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = str(value)
        rows.append({"question_id": question.id, "value_num": num, "value_text": text})
    return rows


def packed_answers(session: Session, version: int, questionnaire: Questionnaire,
                   answers: dict[str, Any]) -> tuple[bytes | None, list[dict[str, Any]]]:
    """A response's ``codes`` and the answer rows it still needs (:func:`survey.store.compact.pack`)."""
    codes, rows = compact.pack(compact.slots(session, version), answer_values(questionnaire, answers))
    return codes, [dict(row) for row in rows]


def _answer_rows(session: Session, version: int, questionnaire: Questionnaire,
                 answers: dict[str, Any]) -> tuple[bytes | None, list[Answer]]:
    codes, rows = packed_answers(session, version, questionnaire, answers)
    return codes, [Answer(**row) for row in rows]


# Published versions never change, so the row id of ``(id, version, content hash)`` is cached
# per engine (a new engine — another database, or the next test — starts empty). Only ids of
# rows already committed are cached: a row published inside a transaction that is rolled back
# must not be remembered.
_VERSION_IDS: weakref.WeakKeyDictionary[Engine, dict[tuple[str, str, str], int]] = weakref.WeakKeyDictionary()
_VERSION_LOCK = threading.Lock()


def version_id(session: Session, questionnaire: Questionnaire) -> int:
    """The database id of ``questionnaire``'s published version, publishing it on first use."""
    engine = session.get_bind()
    key = (questionnaire.id, questionnaire.version, questionnaire.content_hash)
    cache = _VERSION_IDS.get(engine) if isinstance(engine, Engine) else None
    if cache is not None and key in cache:
        return cache[key]
    row = session.execute(
        select(QuestionnaireVersion.id, QuestionnaireVersion.content_hash).where(
            QuestionnaireVersion.questionnaire_id == questionnaire.id,
            QuestionnaireVersion.version == questionnaire.version)
    ).first()
    if row is None or row.content_hash != key[2]:
        return publish(session, questionnaire).id  # publishes, or refuses changed content
    if isinstance(engine, Engine):
        with _VERSION_LOCK:
            _VERSION_IDS.setdefault(engine, {})[key] = row.id
    return int(row.id)


def store_response(
    session: Session,
    *,
    secret: str,
    questionnaire: Questionnaire,
    unit_id: int,
    service_id: int,
    channel: Channel,
    answers: dict[str, Any],
    response_id: uuid.UUID | None = None,
    desk_id: int | None = None,
    started_at: datetime | None = None,
    submitted_at: datetime | None = None,
    credential_id: int | None = None,
    user_id: int | None = None,
    assignment_id: int | None = None,
    paradata: dict[str, Any] | None = None,
    flag: str | None = None,
    old_secrets: Sequence[str] = (),
) -> StoreResult:
    """Store one response exactly once; commits on success.

    ``old_secrets`` are earlier dossier keys (see :mod:`survey.store.dossier_keys`): a code
    hashed under any of them counts as already rated.

    ``paradata`` (interview timing, device, GPS) and ``flag`` (e.g. ``burst``) describe how the
    response was collected; they are not part of its content hash, so a re-sent submission is
    still recognised as the same one.
    """
    response_id = response_id or uuid.uuid4()
    digest = payload_hash(questionnaire, unit_id, service_id, answers)
    existing = session.get(Response, response_id)
    if existing is not None:
        return StoreResult("duplicate" if existing.payload_hash == digest else "conflict", response_id)
    code_question = next((q for q in questionnaire.questions if q.type == "dossier_code"), None)
    code = answers.get(code_question.id) if code_question else None
    key = dossier_key(secret, questionnaire.id, str(code)) if code else None
    if code and old_secrets and _rated_before(session, questionnaire.id, str(code), old_secrets):
        return StoreResult("dossier_used", response_id)
    version = version_id(session, questionnaire)
    codes, answer_rows = _answer_rows(session, version, questionnaire, answers)
    response = Response(
        id=response_id,
        questionnaire_id=questionnaire.id,
        questionnaire_version_id=version,
        unit_id=unit_id,
        service_id=service_id,
        desk_id=desk_id,
        channel=channel,
        started_at=started_at,
        submitted_at=submitted_at or utcnow(),
        received_at=utcnow(),
        dossier_key=key,
        payload_hash=digest,
        credential_id=credential_id,
        user_id=user_id,
        assignment_id=assignment_id,
        paradata=paradata,
        flag=flag,
        codes=codes,
        answers=answer_rows,
    )
    session.add(response)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        again = session.get(Response, response_id)
        if again is not None:  # a concurrent repeat of the same submission won the race
            return StoreResult("duplicate" if again.payload_hash == digest else "conflict", response_id)
        if key is not None and session.scalar(
            select(Response.id).where(Response.questionnaire_id == questionnaire.id, Response.dossier_key == key)
        ):
            return StoreResult("dossier_used", response_id)
        raise
    return StoreResult("created", response_id)


def _rated_before(session: Session, questionnaire_id: str, code: str, old_secrets: Sequence[str]) -> bool:
    """Is ``code`` stored under one of the earlier dossier keys?"""
    keys = [dossier_key(s, questionnaire_id, code) for s in old_secrets]
    return session.scalar(select(Response.id).where(
        Response.questionnaire_id == questionnaire_id, Response.dossier_key.in_(keys)).limit(1)) is not None


@dataclass
class Pending:
    """A validated response waiting to be stored by :func:`store_many`."""

    questionnaire: Questionnaire
    unit_id: int
    service_id: int
    channel: Channel
    answers: dict[str, Any]
    response_id: uuid.UUID
    submitted_at: datetime
    desk_id: int | None = None
    started_at: datetime | None = None
    credential_id: int | None = None
    user_id: int | None = None
    assignment_id: int | None = None
    paradata: dict[str, Any] | None = None
    flag: str | None = None


_CHUNK = 500  # ids per IN (...) lookup, well under SQLite's parameter limit


def _dossier_key_of(secret: str, item: Pending) -> str | None:
    code_question = next((q for q in item.questionnaire.questions if q.type == "dossier_code"), None)
    code = item.answers.get(code_question.id) if code_question else None
    return dossier_key(secret, item.questionnaire.id, str(code)) if code else None


def _stored_already(session: Session, items: Sequence[Pending], keys: list[str | None],
                    ) -> tuple[dict[uuid.UUID, str], set[tuple[str, str]]]:
    """The stored responses with the ids of ``items`` (their content hashes) and the dossier keys
    among ``keys`` already rated, found with one query per :data:`_CHUNK` ids and keys."""
    ids = list({i.response_id for i in items})
    pairs = list({(i.questionnaire.id, k) for i, k in zip(items, keys, strict=True) if k is not None})
    known: dict[uuid.UUID, str] = {}
    used: set[tuple[str, str]] = set()
    wanted_ids, wanted_pairs = set(ids), set(pairs)
    for start in range(0, max(len(ids), len(pairs)), _CHUNK):
        some_ids, some_pairs = ids[start:start + _CHUNK], pairs[start:start + _CHUNK]
        conditions = ([Response.id.in_(some_ids)] if some_ids else []) + (
            [tuple_(Response.questionnaire_id, Response.dossier_key).in_(some_pairs)] if some_pairs else [])
        for rid, digest, questionnaire_id, key in session.execute(select(
                Response.id, Response.payload_hash, Response.questionnaire_id, Response.dossier_key,
        ).where(or_(*conditions))):
            if rid in wanted_ids:
                known[rid] = digest
            if key is not None and (questionnaire_id, key) in wanted_pairs:
                used.add((questionnaire_id, key))
    return known, used


_RETRYABLE = {"40P01", "40001"}  # PostgreSQL: deadlock detected, serialization failure


def _retryable(error: DBAPIError) -> bool:
    """Did the database give up on the transaction only because of a concurrent one?"""
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in _RETRYABLE or "database is locked" in str(error.orig)


def _insert_ignoring_conflicts(session: Session, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """INSERT the response rows, skipping any that break a uniqueness rule; the ids inserted.

    Rows go in in id order, so two uploads that overlap take their row locks in the same order
    and wait for each other instead of deadlocking (PostgreSQL)."""
    rows = sorted(rows, key=lambda row: row["id"])
    table = cast(Table, Response.__table__)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise IntegrityError("bulk insert", {}, Exception(dialect))
    inserted: set[uuid.UUID] = set()
    for start in range(0, len(rows), _CHUNK):
        inserted.update(session.scalars(stmt.returning(table.c.id), rows[start:start + _CHUNK]).all())
    return inserted


def store_many(
    session: Session, *, secret: str, items: Sequence[Pending],
    flags_for: Callable[[list[Pending]], list[str | None]] | None = None, precheck: bool = True,
    old_secrets: Sequence[str] = (), commit: bool = True,
) -> list[StoreResult]:
    """Store many validated responses, each exactly once, with :func:`store_response`'s outcomes.

    The new ones go in one transaction with multi-row INSERTs (responses, then answers). Known
    ids and dossier codes are recognised first with one query each (``precheck``), and repeats
    inside ``items`` are judged against the earlier item, exactly as storing them one by one
    would. A row that still meets a uniqueness rule at INSERT time (a concurrent upload of the
    same submission or dossier) is skipped there and then stored through
    :func:`store_response`, which reports its fate; if the transaction fails on a uniqueness rule
    or on a deadlock with a concurrent upload, it is rolled back and every item goes through
    :func:`store_response` on its own (other database errors propagate).
    ``flags_for`` is given the items about to be created, in order, and returns their review flags.
    A dossier code stored under one of ``old_secrets`` (earlier dossier keys) is already rated.
    ``commit=False``: when every new item went in with the multi-row INSERTs, the transaction is left
    open for the caller to add what belongs with them (quality flags, the audit line) and commit
    once — one transaction per submission instead of three; when some must be stored on their own,
    the INSERTs are committed first, as with ``commit=True``.
    """
    digests = [payload_hash(i.questionnaire, i.unit_id, i.service_id, i.answers) for i in items]
    keys = [_dossier_key_of(secret, i) for i in items]
    known: dict[uuid.UUID, str] = {}
    used: set[tuple[str, str]] = set()
    if precheck and items:
        known, used = _stored_already(session, items, keys)
    old_used: set[int] = set()  # items whose code is stored under an earlier dossier key
    if old_secrets:
        olds: dict[tuple[str, str], list[int]] = {}
        for n, item in enumerate(items):
            code_question = next((q for q in item.questionnaire.questions if q.type == "dossier_code"), None)
            code = item.answers.get(code_question.id) if code_question else None
            if code:
                for secret_old in old_secrets:
                    olds.setdefault((item.questionnaire.id, dossier_key(secret_old, item.questionnaire.id, str(code))),
                                    []).append(n)
        pairs_old = list(olds)
        for start in range(0, len(pairs_old), _CHUNK):
            for q, k in session.execute(select(Response.questionnaire_id, Response.dossier_key).where(
                    tuple_(Response.questionnaire_id, Response.dossier_key).in_(pairs_old[start:start + _CHUNK]))):
                old_used.update(olds.get((q, k), []))  # type: ignore[arg-type]
    results: list[StoreResult | None] = [None] * len(items)
    new: list[int] = []
    now = utcnow()
    for n, (item, digest, key) in enumerate(zip(items, digests, keys, strict=True)):
        if item.response_id in known:
            outcome: Literal["duplicate", "conflict"] = "duplicate" if known[item.response_id] == digest else "conflict"
            results[n] = StoreResult(outcome, item.response_id)
            continue
        if n in old_used or (key is not None and (item.questionnaire.id, key) in used):
            results[n] = StoreResult("dossier_used", item.response_id)
            continue
        known[item.response_id] = digest
        if key is not None:
            used.add((item.questionnaire.id, key))
        new.append(n)
    if new and flags_for is not None:
        for n, flag in zip(new, flags_for([items[n] for n in new]), strict=True):
            items[n].flag = flag
    if new:
        packed = {n: packed_answers(session, version_id(session, items[n].questionnaire), items[n].questionnaire,
                                    items[n].answers) for n in new}
        rows = [{
            "id": items[n].response_id, "questionnaire_id": items[n].questionnaire.id,
            "questionnaire_version_id": version_id(session, items[n].questionnaire), "unit_id": items[n].unit_id,
            "service_id": items[n].service_id, "desk_id": items[n].desk_id, "channel": items[n].channel,
            "started_at": items[n].started_at, "submitted_at": items[n].submitted_at, "received_at": now,
            "dossier_key": keys[n], "payload_hash": digests[n], "credential_id": items[n].credential_id,
            "user_id": items[n].user_id, "assignment_id": items[n].assignment_id, "paradata": items[n].paradata,
            "flag": items[n].flag, "codes": packed[n][0],
        } for n in new]
        retry: list[int]
        try:
            inserted = _insert_ignoring_conflicts(session, rows)
            answers = [{"response_id": items[n].response_id, **a} for n in new if items[n].response_id in inserted
                       for a in packed[n][1]]
            if answers:
                session.execute(cast(Table, Answer.__table__).insert(), answers)
            # Core INSERTs: name the rollup cells they change (survey.store.rollup_cells), with what
            # the upkeep needs of them, so that it adds their sums without reading them back
            created = [items[n] for n in new if items[n].response_id in inserted]
            rollups.touch_inserted(session, ((rollups.cell_of(
                i.questionnaire.id, version_id(session, i.questionnaire), i.unit_id, i.service_id, i.submitted_at),
                i.response_id) for i in created),
                {i.response_id: rollups.NewFacts(i.answers, i.channel, i.flag) for i in created})
            retry = [n for n in new if items[n].response_id not in inserted]
            if commit or retry:
                session.commit()
            for n in new:
                if items[n].response_id in inserted:
                    results[n] = StoreResult("created", items[n].response_id)
        except DBAPIError as error:
            session.rollback()
            if not _retryable(error):
                raise
            retry = new
        for n in retry:
            i = items[n]
            results[n] = store_response(
                session, secret=secret, questionnaire=i.questionnaire, unit_id=i.unit_id, service_id=i.service_id,
                channel=i.channel, answers=i.answers, response_id=i.response_id, desk_id=i.desk_id,
                started_at=i.started_at, submitted_at=i.submitted_at, credential_id=i.credential_id,
                user_id=i.user_id, assignment_id=i.assignment_id, paradata=i.paradata, flag=i.flag,
                old_secrets=old_secrets)
    return [r for r in results if r is not None]
