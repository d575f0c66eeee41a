"""Bearer tokens for the submission API: one per kiosk device, one per enumerator sign-in.

A token is shown once when it is issued; the database keeps only its SHA-256, so a copy of
the database cannot be used to submit ratings. An enumerator's token expires ``TOKEN_DAYS``
after it was issued (the app asks them to sign in again); a kiosk device token lives until
staff revoke it, since a tablet bolted to a desk has nobody to sign it in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from survey.store.models import Credential, Desk, Unit, User, utcnow

DEFAULT_TOKEN_DAYS = 30


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(session: Session, *, desk: Desk | None = None, user: User | None = None, label: str = "") -> str:
    """Create a credential for a desk's device or for a user; return the token (shown once)."""
    if (desk is None) == (user is None):
        raise ValueError("a credential belongs to exactly one desk or one user")
    token = secrets.token_urlsafe(32)
    session.add(Credential(token_hash=token_hash(token), label=label[:200], desk=desk, user=user))
    session.flush()
    return token


def token_days() -> int:
    """Days an enumerator token stays valid (``TOKEN_DAYS``; 0 means it never expires)."""
    if not has_app_context():
        return DEFAULT_TOKEN_DAYS
    return int(current_app.config.get("TOKEN_DAYS", DEFAULT_TOKEN_DAYS))


def expired(credential: Credential, now: datetime | None = None) -> bool:
    """True for an enumerator token issued more than ``TOKEN_DAYS`` ago (device tokens never expire)."""
    days = token_days()
    if credential.user_id is None or days <= 0:
        return False
    issued = credential.created_at
    if issued.tzinfo is None:  # SQLite returns naive UTC datetimes
        issued = issued.replace(tzinfo=UTC)
    return issued + timedelta(days=days) <= (now or utcnow())


def find(session: Session, token: str | None) -> Credential | None:
    """The live credential for ``token`` — expired or not — or None (unknown, revoked, or its
    owner disabled). Its desk (with the desk's unit and the services of both) and user come loaded
    in the same query: the submission API needs no other to know what a kiosk may submit."""
    if not token or len(token) > 200:
        return None
    desk = joinedload(Credential.desk)
    cred = session.scalars(
        select(Credential).where(Credential.token_hash == token_hash(token))
        .options(desk.joinedload(Desk.unit).joinedload(Unit.services), desk.joinedload(Desk.own_services),
                 joinedload(Credential.user))
    ).unique().one_or_none()
    if cred is None or cred.revoked_at is not None:
        return None
    if cred.desk is not None and not cred.desk.active:
        return None
    if cred.user is not None and not cred.user.active:
        return None
    return cred


def authenticate(session: Session, token: str | None) -> Credential | None:
    """The live, unexpired credential for ``token``, or None."""
    cred = find(session, token)
    return None if cred is None or expired(cred) else cred


def revoke(session: Session, credential: Credential) -> None:
    credential.revoked_at = utcnow()


def record_use(session: Session, credential: Credential, action: str, *, by_owner: bool = True,
               details: dict[str, str | int | None] | None = None) -> None:
    """An audit line for ``credential`` (issued, revoked, bound, used to submit): who (the token's
    enumerator, or ``device:<desk>`` for a kiosk's token; ``by_owner=False``: the signed-in staff
    account that issued or revoked it), what, when — the credential's id, NEVER the token."""
    from survey.store import audit

    kind = "device" if credential.desk_id is not None else "enumerator"
    desk = credential.desk
    owner_name = f"device:{desk.code}" if desk is not None else None
    audit.record(action, target=f"credential:{credential.id}", session=session,
                 unit_id=desk.unit_id if desk is not None else None,
                 user=credential.user if by_owner else None, username=owner_name if by_owner else None,
                 details={"kind": kind, **(details or {})})
