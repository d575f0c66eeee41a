"""The audit log (issue 11 point 6): who did what, when, on what, from where — append-only.

Call :func:`record` in the same database session as the change it describes, before that
session's ``commit()``: the line is written with the change or not at all. Outside a request
(a command, a job) pass ``user`` and leave ``address`` empty.

    from survey.store import audit
    audit.record("case.answer", target=f"case:{case.id}", unit_id=case.unit_id, details={"status": "answered"})
    session.commit()

What it keeps: the account's id and username (copied, so the line outlives the account), the time
(UTC; shown in Vietnam time with its zone), the action code, the object (``kind:id``), the unit
and the client address (``request.remote_addr``, which ``survey.security`` sets from the trusted
proxies' ``X-Forwarded-For``). ``details`` holds short codes and numbers only — NEVER a citizen's
personal data, a dossier code, a case or comment text: :func:`record` refuses keys that name such
things and long strings.

Append-only: the ORM refuses to update or delete a row (``survey.store.models``), bulk
``update()``/``delete()`` statements on the table are refused here, and on PostgreSQL a trigger
refuses ``UPDATE`` and ``DELETE`` (revision s11a).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from survey.store.models import AuditEvent, User, utcnow

# Keys that would carry personal data or free text; refused in ``details``.
_FORBIDDEN_KEYS = ("dossier", "comment", "text", "name", "phone", "email", "password", "token", "answer", "note")
MAX_DETAIL_LENGTH = 80

# The actions the application records (the admin page's filter lists them; other codes are allowed).
ACTIONS = (
    "auth.sign_in", "auth.sign_in_failed", "auth.sign_out",
    "review.decision", "review.comment", "review.rule",
    "case.change",
    "export.download",
    "release.prepare", "release.publish", "release.withdraw", "release.discard", "release.rebuild",
    "permission.change",
    "admin.edit",
    "covariates.import",
    "audit.export",
    "api.token", "api.submission",
    "cli.command",
)

Detail = str | int | float | bool | None


def _clean(details: dict[str, Detail] | None) -> dict[str, Detail] | None:
    if not details:
        return None
    out: dict[str, Detail] = {}
    for key, value in details.items():
        if any(word in key.lower() for word in _FORBIDDEN_KEYS):
            raise ValueError(f"audit details may not hold {key!r}: no personal data or free text in the audit log")
        if isinstance(value, str) and len(value) > MAX_DETAIL_LENGTH:
            raise ValueError(f"audit detail {key!r} is {len(value)} characters: codes and numbers only")
        if not isinstance(value, str | int | float | bool | type(None)):
            raise TypeError(f"audit detail {key!r} must be a string, a number, a truth value or None")
        out[key] = value
    return out


def _request_user_and_address() -> tuple[User | None, str]:
    from flask import has_request_context, request

    if not has_request_context():
        return None, ""
    from flask_login import current_user

    user = current_user._get_current_object() if current_user and current_user.is_authenticated else None
    return (user if isinstance(user, User) else None), (request.remote_addr or "")[:45]


def record(action: str, *, target: str = "", unit_id: int | None = None, details: dict[str, Detail] | None = None,
           user: User | None = None, username: str | None = None, session: Session | None = None,
           address: str | None = None) -> AuditEvent:
    """Add one audit line to ``session`` (default: the request's) — committed with the caller's change.

    ``action``: a dotted code (see :data:`ACTIONS`); ``target``: what it acted on, ``"kind:id"``
    (``"response:…"``, ``"case:12"``, ``"release:3"``, ``"user:5"``); ``unit_id``: the unit concerned;
    ``details``: short codes and numbers (no personal data); ``user``: who (default: the signed-in
    account); ``username``: the name tried when there is no account (a failed sign-in); ``address``:
    default the request's client address."""
    if session is None:
        from survey.store.db import get_session

        session = get_session()
    request_user, request_address = _request_user_and_address()
    who = user if user is not None else request_user
    row = AuditEvent(at=utcnow(), user_id=who.id if who is not None else None,
                     username=(who.username if who is not None else (username or ""))[:80],
                     action=action[:40], target=target[:120], unit_id=unit_id,
                     address=(address if address is not None else request_address)[:45], details=_clean(details))
    session.add(row)
    return row


def command_operator() -> str:
    """Who runs a ``hailong`` command that changes data, for the audit line when no account is
    named (``--as``): ``cli:`` and the operating-system account (never an environment secret)."""
    import getpass

    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        name = "?"
    return f"cli:{name}"[:80]


def record_command(session: Session, command: str, *, action: str = "cli.command", target: str = "",
                   unit_id: int | None = None, user: User | None = None,
                   details: dict[str, Detail] | None = None) -> AuditEvent:
    """The audit line of a ``hailong`` command that changes data (``command``: its name, e.g.
    ``"create-user"``), in ``session`` before its commit: the account named with ``--as`` or else
    the operating-system account, the address ``cli``."""
    return record(action, target=target, unit_id=unit_id, user=user,
                  username=None if user is not None else command_operator(), session=session, address="cli",
                  details={"command": command[:MAX_DETAIL_LENGTH], **(details or {})})


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
            getattr(m, "class_", None) is AuditEvent for m in state.all_mappers):
        raise ValueError("the audit log is append-only: no UPDATE or DELETE through the application")


def describe(details: dict[str, Any] | None) -> str:
    """``details`` as one line for the admin page and the CSV (``key=value; …``)."""
    return "; ".join(f"{k}={v}" for k, v in sorted((details or {}).items()))
