"""What ODK Collect brings besides the answers (revision i14a, issue 14): the media files
attached to an OpenRosa submission, and the Digest credential of an enumerator.

- :class:`ResponseAttachment`: an image or audio part of a multipart submission, kept with its
  response (deleted with it), never exported nor published: answers are the only content of the
  analysts' files, and a photo may show a person.
- :class:`DigestSecret`: HTTP Digest (RFC 7616, what ODK Collect answers a Digest challenge with)
  needs ``HA1 = MD5(username:realm:password)`` on the server, which an Argon2 hash cannot give.
  HA1 is kept sealed with the app's ``SECRET_KEY`` (XOR with an HMAC pad per user, see
  :func:`survey.auth.seal_digest`), written whenever the password is set or checked, so a copy of
  the database alone does not give it.

Imported by :mod:`survey.store` so that ``Base.metadata`` has these tables.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey.store.models import Base, utcnow


class ResponseAttachment(Base):
    __tablename__ = "response_attachment"
    __table_args__ = (UniqueConstraint("response_id", "name", name="uq_response_attachment_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DigestSecret(Base):
    __tablename__ = "digest_secret"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    sealed_ha1: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
