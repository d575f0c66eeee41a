"""Domain model (SQLAlchemy 2, typed). Schema changes go through Alembic revisions only.

Administrative units form one tree (province → commune → hamlet since July 2025, districts in history; with
departments hanging off a province); one-stop desks belong to a unit; services are offered by
units; questionnaire versions are stored with their content hash and never change once
published; responses carry a client-generated UUID and pin their questionnaire version.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class UnitLevel(enum.StrEnum):
    """The tier of a unit. Since 1 July 2025 the tree is province → commune → village (hamlet);
    ``DISTRICT`` exists only in history (units valid to 2025-06-30)."""

    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    HAMLET = "hamlet"
    DEPARTMENT = "department"


class UnitKind(enum.StrEnum):
    """What a unit is, as the law names it (``survey.store.units.KIND_NAMES`` has the names)."""

    TINH = "tinh"  # tỉnh
    THANH_PHO_TW = "thanh_pho_tw"  # thành phố trực thuộc Trung ương
    HUYEN = "huyen"  # district level, history only: huyện, quận, thị xã, thành phố thuộc tỉnh
    QUAN = "quan"
    THI_XA = "thi_xa"
    THANH_PHO = "thanh_pho"
    XA = "xa"  # commune level: xã, phường, đặc khu (and, before 2025, thị trấn)
    PHUONG = "phuong"
    DAC_KHU = "dac_khu"
    THI_TRAN = "thi_tran"
    THON = "thon"  # villages: thôn, ấp, bản, tổ dân phố, khu phố (khóm)
    AP = "ap"
    BAN = "ban"
    TO_DAN_PHO = "to_dan_pho"
    KHU_PHO = "khu_pho"
    SO_BAN_NGANH = "so_ban_nganh"  # a department or agency (sở, ban, ngành) and its one-stop desks


KIND_LEVEL: dict[UnitKind, UnitLevel] = {
    **dict.fromkeys((UnitKind.TINH, UnitKind.THANH_PHO_TW), UnitLevel.PROVINCE),
    **dict.fromkeys((UnitKind.HUYEN, UnitKind.QUAN, UnitKind.THI_XA, UnitKind.THANH_PHO), UnitLevel.DISTRICT),
    **dict.fromkeys((UnitKind.XA, UnitKind.PHUONG, UnitKind.DAC_KHU, UnitKind.THI_TRAN), UnitLevel.COMMUNE),
    **dict.fromkeys((UnitKind.THON, UnitKind.AP, UnitKind.BAN, UnitKind.TO_DAN_PHO, UnitKind.KHU_PHO),
                    UnitLevel.HAMLET),
    UnitKind.SO_BAN_NGANH: UnitLevel.DEPARTMENT,
}
DEFAULT_KIND: dict[UnitLevel, UnitKind] = {
    UnitLevel.PROVINCE: UnitKind.TINH, UnitLevel.DISTRICT: UnitKind.HUYEN, UnitLevel.COMMUNE: UnitKind.XA,
    UnitLevel.HAMLET: UnitKind.THON, UnitLevel.DEPARTMENT: UnitKind.SO_BAN_NGANH,
}


def _default_kind(context: Any) -> UnitKind:
    """A unit created without a kind gets its level's usual one (a commune is a xã)."""
    return DEFAULT_KIND[UnitLevel(context.get_current_parameters()["level"])]


class Channel(enum.StrEnum):
    KIOSK = "kiosk"
    ENUMERATOR = "enumerator"
    WEB = "web"


class ReviewStatus(enum.StrEnum):
    """Two-level review (issue 11): a supervisor checks what arrived (approved, has issues — back to
    the enumerator with a comment —, or rejected); the province decides (approved, rejected). Only
    APPROVED responses are scored, released and exported, or a RECEIVED one its channel's
    auto-approval rule accepts (:class:`ReviewRule`, ``survey.reports.frames.approved_filter``)."""

    RECEIVED = "received"
    HAS_ISSUES = "has_issues"  # sent back to the enumerator, who corrects and resubmits
    SUPERVISOR_APPROVED = "supervisor_approved"  # first level passed: waits for the province
    SUPERVISOR_REJECTED = "supervisor_rejected"  # first level refused: the province confirms or overrules
    APPROVED = "approved"
    REJECTED = "rejected"


class Role(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"  # a commune or department officer (province officer: scope = the whole province)
    SUPERVISOR = "supervisor"  # reviews the interviews of a team (first review level)
    ENUMERATOR = "enumerator"
    ANALYST = "analyst"  # prepares releases of results
    PUBLISHER = "publisher"  # approves and publishes releases prepared by another account


class HexDigest(TypeDecorator[str]):
    """A SHA-256 digest, hexadecimal text in Python. PostgreSQL stores its 32 bytes (``bytea``,
    33 B in the row and in each index entry, where the text took 65; revision c15c); SQLite keeps
    the text, as its tables cannot change a column's type without being copied. Comparisons with
    hexadecimal strings work on both: the bound values are converted the same way."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(LargeBinary() if dialect.name == "postgresql" else String(64))

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        return bytes.fromhex(value) if value is not None and dialect.name == "postgresql" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return bytes(value).hex() if value is not None and dialect.name == "postgresql" else value


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable across SQLite and PostgreSQL
    # and easy to extend in a migration.
    return Enum(cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=20)


class Unit(Base):
    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[UnitLevel] = mapped_column(_enum(UnitLevel, "unit_level"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    # Revision 0004 (issue 9): what the unit is, its national statistics code (2 digits for a
    # province, 5 for a commune-level unit; ``code`` is the unique key, ``cu-…`` for an old unit
    # whose official code a new one took over), its English name where one exists, and the days it
    # is part of the map (None: open). See survey/store/units.py.
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind, "unit_kind"), default=_default_kind)
    official_code: Mapped[str | None] = mapped_column(String(10), index=True)
    name_en: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")
    desks: Mapped[list[Desk]] = relationship(back_populates="unit")
    services: Mapped[list[Service]] = relationship(secondary="unit_service", back_populates="units")

    def ancestors(self) -> list[Unit]:
        out: list[Unit] = []
        node = self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out


class UnitCorrespondence(Base):
    """An old unit → a unit it became (revision 0004): many-to-one where units merged, one-to-many
    where a commune was split (``partly``; ``share`` of it when known, else None)."""

    __tablename__ = "unit_correspondence"

    old_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)
    new_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True, index=True)
    share: Mapped[float | None] = mapped_column(Float)
    partly: Mapped[bool] = mapped_column(Boolean, default=False)
    # Revision 0009 (issue 9): what the share is — "population" (of the old commune's people now in
    # the new unit), "villages" (counted from the villages that moved), "area", "estimate"; None: no share.
    basis: Mapped[str | None] = mapped_column(String(20))


class Service(Base):
    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))  # "administrative" or "public"

    units: Mapped[list[Unit]] = relationship(secondary="unit_service", back_populates="services")

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_vi


class UnitService(Base):
    __tablename__ = "unit_service"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)


class Desk(Base):
    """A one-stop desk (Bộ phận Một cửa) of a unit, where a kiosk tablet stands."""

    __tablename__ = "desk"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    questionnaire_id: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit] = relationship(back_populates="desks")
    #: the desk's own list of services (``desk_service``; empty: every service of its unit), read-only
    #: here, so that a kiosk's credential comes with its services in one query (the submission API)
    own_services: Mapped[list[Service]] = relationship(secondary="desk_service", viewonly=True)


class QuestionnaireVersion(Base):
    """A questionnaire version as published: its definition and content hash never change."""

    __tablename__ = "questionnaire_version"
    __table_args__ = (UniqueConstraint("questionnaire_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[str] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@event.listens_for(QuestionnaireVersion, "before_update")
def _published_versions_are_immutable(_mapper: Any, _conn: Any, target: QuestionnaireVersion) -> None:
    from sqlalchemy import inspect

    state = inspect(target)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    if state.attrs.published_at.history.deleted and state.attrs.published_at.history.deleted[0]:
        raise ValueError(f"questionnaire {target.questionnaire_id} {target.version} is published and cannot change")
    if target.published_at is not None and changed & {"definition", "content_hash", "version", "questionnaire_id"}:
        raise ValueError(f"questionnaire {target.questionnaire_id} {target.version} is published and cannot change")


class Response(Base):
    """One completed questionnaire. ``id`` is generated on the device (UUID)."""

    __tablename__ = "response"
    __table_args__ = (
        # One rating per dossier code per questionnaire. The code itself is personal data and is
        # not stored: ``dossier_key`` is a keyed hash of it.
        UniqueConstraint("questionnaire_id", "dossier_key", name="uq_response_dossier"),
        # Led by the unit: it also serves the unit's foreign key (revision c15c; the questionnaire
        # is a filter on the few rows of one unit × service × time range).
        Index("ix_response_scope", "unit_id", "service_id", "submitted_at"),
        Index("ix_response_credential_submitted", "credential_id", "submitted_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(80))
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id", ondelete="RESTRICT"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="RESTRICT"), index=True)
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desk.id", ondelete="SET NULL"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    review_status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus, "review_status"), default=ReviewStatus.RECEIVED)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    dossier_key: Mapped[str | None] = mapped_column(HexDigest())
    payload_hash: Mapped[str] = mapped_column(HexDigest())
    # Collection channels (revision 0002): who sent it, how the interview went, review flags.
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("credential.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id", ondelete="SET NULL"))
    paradata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    flag: Mapped[str | None] = mapped_column(String(40))
    # Revision 0004: the sample design of a household survey (from the sample file or the
    # enumerator's assignment): the stratum and the primary sampling unit of the interview.
    stratum: Mapped[str | None] = mapped_column(String(80))
    psu: Mapped[str | None] = mapped_column(String(80))
    # Revision c15c (issue 15): the numeric answers packed one byte per slot of the version
    # (survey.store.compact); NULL when they are rows of ``answer``. Read both through AnswerValue.
    codes: Mapped[bytes | None] = mapped_column(LargeBinary)

    version: Mapped[QuestionnaireVersion] = relationship()
    unit: Mapped[Unit] = relationship()
    service: Mapped[Service] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="response", cascade="all, delete-orphan")


class Answer(Base):
    """One answer; numbers in ``value_num``, anything else in ``value_text``."""

    __tablename__ = "answer"

    response_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    value_num: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="answers")


class AnswerSlot(Base):
    """Slot ``position`` of a version's packed answers (``Response.codes``) holds ``question_id``'s
    answer (revision c15c). The slots of a version are its questions with numeric answers, in
    definition order; written once, on first use (survey.store.compact), and never changed."""

    __tablename__ = "answer_slot"
    __table_args__ = (UniqueConstraint("questionnaire_version_id", "question_id", name="uq_answer_slot_question"),)

    questionnaire_version_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_version.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    question_id: Mapped[str] = mapped_column(String(80))


#: Views are not tables: kept out of ``Base.metadata`` so that ``create_all``, emptying the tables
#: and comparing the migrations with the models ignore them.
VIEWS = MetaData()

answer_value_view = Table(
    "answer_value", VIEWS,
    Column("response_id", Uuid, primary_key=True),
    Column("question_id", String(80), primary_key=True),
    Column("value_num", Float),
    Column("value_text", Text),
)


class AnswerValue(Base):
    """Every answer, read-only: the rows of ``answer`` and the packed ``Response.codes`` decoded
    (view ``answer_value``, revision c15c). Code that reads answers reads this; code that writes
    them goes through survey.store.compact."""

    __table__ = answer_value_view

    response_id: Mapped[uuid.UUID]
    question_id: Mapped[str]
    value_num: Mapped[float | None]
    value_text: Mapped[str | None]


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.STAFF)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Sign-in hardening (revision 0004): locked after many failed sign-ins, until this time.
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Revision s11a (issue 11): the unit subtrees this account may view and may enter or review
    # data for (DHIS2's data-view and data-capture scopes, inherited downward; None: the whole
    # tree). ``survey.auth.scope_of`` is the one place that reads them.
    view_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    entry_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class LoginSession(Base):
    """A signed-in browser session, checked on every request (see :mod:`survey.auth`); ``id`` is
    the SHA-256 of the random token kept in the session cookie."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class ReviewNote(Base):
    """One step of a response's review (revision s11a): who moved it from one status to another,
    with the reason or comment (a comment alone keeps the status). Staff text, never shown publicly."""

    __tablename__ = "review_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    from_status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus, "review_status"))
    to_status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus, "review_status"))
    text: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User | None] = relationship()


class ReviewRule(Base):
    """Auto-approval per channel (revision s11a): a received response of ``channel`` without a
    quality flag counts as approved when ``auto_approve`` is on. No row: on (the default rule)."""

    __tablename__ = "review_rule"

    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"), primary_key=True)
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))


class AuditEvent(Base):
    """One line of the audit log (revision s11a; ``survey.store.audit``): append-only — the ORM
    refuses updates and deletes, and on PostgreSQL a trigger does. Who (id and name copied, so the
    line outlives the account), when, what, on what, from where. Never a citizen's personal data."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(120), default="")
    unit_id: Mapped[int | None]
    address: Mapped[str] = mapped_column(String(45), default="")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


@event.listens_for(AuditEvent, "before_update")
def _audit_is_append_only(_mapper: Any, _conn: Any, target: AuditEvent) -> None:
    raise ValueError(f"audit event {target.id} cannot change: the audit log is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _audit_stays(_mapper: Any, _conn: Any, target: AuditEvent) -> None:
    raise ValueError(f"audit event {target.id} cannot be deleted: the audit log is append-only")


class DossierKey(Base):
    """The fingerprint of each dossier-key version this database's codes are hashed with (see
    :mod:`survey.store.dossier_keys`): a server with other keys is refused."""

    __tablename__ = "dossier_key"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeskService(Base):
    """Services offered at a desk; a desk without rows offers every service of its unit."""

    __tablename__ = "desk_service"

    desk_id: Mapped[int] = mapped_column(ForeignKey("desk.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)


class Credential(Base):
    """A bearer token for the submission API: a kiosk device (``desk_id``) or a signed-in
    enumerator (``user_id``). Only the SHA-256 of the token is stored."""

    __tablename__ = "credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desk.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    desk: Mapped[Desk | None] = relationship()
    user: Mapped[User | None] = relationship()


class Assignment(Base):
    """Field work for one enumerator: a village (unit) to interview, with a quota."""

    __tablename__ = "assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="RESTRICT"))
    questionnaire_id: Mapped[str] = mapped_column(String(80))
    quota: Mapped[int] = mapped_column(default=16)
    households: Mapped[list[str] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Revision 0004: the sample design (stratum, PSU) the interviews inherit, and the field dates.
    stratum: Mapped[str | None] = mapped_column(String(80))
    psu: Mapped[str | None] = mapped_column(String(80))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

    # Revision 0009: the enumerator team this work was given to, if any (``team_assignment``).
    team: Mapped[Team | None] = relationship(secondary="team_assignment", viewonly=True)

    user: Mapped[User] = relationship()
    unit: Mapped[Unit] = relationship()
    service: Mapped[Service] = relationship()


class Team(Base):
    """An enumerator team (revision 0009): a supervisor and enumerators working in one unit's area
    (``unit_id``: the scope — a province, a commune). Assignments may be given to a team; the
    supervisor reviews what the team collected."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit] = relationship()
    supervisor: Mapped[User | None] = relationship()
    members: Mapped[list[User]] = relationship(secondary="team_member", order_by="User.username")


class TeamMember(Base):
    """An enumerator in a team."""

    __tablename__ = "team_member"

    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True)


class TeamAssignment(Base):
    """An assignment given to a team: one assignment row per member, each linked here (a table of
    its own, so that the assignment table is not rebuilt on SQLite)."""

    __tablename__ = "team_assignment"

    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)


class TargetKind(enum.StrEnum):
    SCORE = "score"  # reach this score
    INCREASE_PCT = "increase_pct"  # raise the base year's score by this percent


class Target(Base):
    """A province's or district's goal for one score of a questionnaire in a year, as the
    provincial action plans set them ("raise Transparency above 6.00 by 2018", "raise every
    dimension by 10% over 2015")."""

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("unit_id", "questionnaire_id", "score_id", "year", name="uq_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    questionnaire_id: Mapped[str] = mapped_column(String(80))
    score_id: Mapped[str] = mapped_column(String(80))  # "total", a dimension id, "overall", …
    year: Mapped[int]
    kind: Mapped[TargetKind] = mapped_column(_enum(TargetKind, "target_kind"))
    value: Mapped[float] = mapped_column(Float)
    base_year: Mapped[int | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    unit: Mapped[Unit] = relationship()


class ReleaseStatus(enum.StrEnum):
    DRAFT = "draft"  # prepared; its build job is queued or running
    READY = "ready"  # built: staff preview it, a publisher may approve it
    FAILED = "failed"  # the build failed (error_code / error_detail say why); rebuild or discard
    PUBLISHED = "published"  # approved and public: its snapshot never changes again
    WITHDRAWN = "withdrawn"  # taken down with a public notice; still listed, never changed


class Release(Base):
    """A publication of results: one period, one scope (a unit with everything below it), the
    questionnaires chosen. Its numbers are ONE JSON document, ``snapshot``
    (:mod:`survey.portal.snapshot` documents it), built by a background job and fixed with its
    SHA-256 when a publisher approves it. Versions of the same ``series`` (scope × period) are
    corrections; each carries its public ``changelog`` note."""

    __tablename__ = "release"
    __table_args__ = (UniqueConstraint("series", "version", name="uq_release_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int]
    status: Mapped[ReleaseStatus] = mapped_column(_enum(ReleaseStatus, "release_status"), default=ReleaseStatus.DRAFT)
    period_code: Mapped[str] = mapped_column(String(10))
    period_kind: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    scope_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    scope_code: Mapped[str] = mapped_column(String(40))
    questionnaires: Mapped[list[str]] = mapped_column(JSON)
    overall_rule: Mapped[str | None] = mapped_column(String(20))
    methodology_version: Mapped[str] = mapped_column(String(20))
    weighting: Mapped[str] = mapped_column(String(10), default="none")
    confidence_level: Mapped[float] = mapped_column(Float)
    min_publish_n: Mapped[int]
    min_effective_n: Mapped[float] = mapped_column(Float)
    changelog: Mapped[str] = mapped_column(Text, default="")
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[int] = mapped_column(default=0)
    stage: Mapped[str] = mapped_column(String(20), default="queued")
    job_id: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_detail: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    built_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawal_notice: Mapped[str | None] = mapped_column(Text)

    scope: Mapped[Unit] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])


class ReleaseUnit(Base):
    """The units a release shows, so that a unit's page finds its newest release."""

    __tablename__ = "release_unit"

    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


# Once published, a release changes only by being withdrawn (status, who, when, the notice).
_WITHDRAWAL = {"status", "withdrawn_by_id", "withdrawn_at", "withdrawal_notice"}


@event.listens_for(Release, "before_update")
def _published_releases_are_immutable(_mapper: Any, _conn: Any, target: Release) -> None:
    from sqlalchemy import inspect

    state = inspect(target)
    history = state.attrs.status.history
    before = history.deleted[0] if history.deleted else target.status
    if before not in (ReleaseStatus.PUBLISHED, ReleaseStatus.WITHDRAWN):
        return
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    if changed - _WITHDRAWAL or (before == ReleaseStatus.WITHDRAWN and changed) or (
            "status" in changed and target.status != ReleaseStatus.WITHDRAWN):
        raise ValueError(f"release {target.id} ({target.series} v{target.version}) is published and cannot change: "
                         "publish a correction as a new version")


@event.listens_for(Release, "before_delete")
def _published_releases_stay(_mapper: Any, _conn: Any, target: Release) -> None:
    if target.status in (ReleaseStatus.PUBLISHED, ReleaseStatus.WITHDRAWN):
        raise ValueError(f"release {target.id} was published and cannot be deleted: withdraw it with a notice")



class AdminIndexFigure(Base):
    """One Decision 766/QĐ-TTg indicator of a unit for a period, imported from the national public
    service portal's figures (numerator and denominator, as the portal shows them). Re-importing
    a unit × period × indicator replaces its figures (``survey.portal.admin_index``)."""

    __tablename__ = "admin_index_figure"
    __table_args__ = (UniqueConstraint("unit_id", "period", "indicator", name="uq_admin_index_figure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(10))  # 2026-Q3, 2026-H1, 2026-9M, 2026
    indicator: Mapped[str] = mapped_column(String(40))
    numerator: Mapped[int]
    denominator: Mapped[int]
    source: Mapped[str] = mapped_column(String(200), default="")  # the file it came from
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))

    unit: Mapped[Unit] = relationship()



class UnitCovariate(Base):
    """One area covariate of a unit for the small-area model (``scoring.sae``): e.g. ``urban``
    (1 for a ward), ``population``, ``area_km2``, ``poverty_rate``, ``distance_km``, with its
    reference year and documented source. Re-importing a unit × covariate replaces its value
    (``survey.reports.covariates``); see docs/methodology.md."""

    __tablename__ = "unit_covariate"
    __table_args__ = (UniqueConstraint("unit_id", "name", name="uq_unit_covariate"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    year: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(200), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))

    unit: Mapped[Unit] = relationship()


class UnitBoundaries(Base):
    """The commune boundaries a province uploaded (revision 0010, issue 10): one validated GeoJSON
    FeatureCollection per province, each feature's properties reduced to the unit it was matched to
    (``survey.portal.boundaries``). A new upload replaces it; a release copies the boundaries it drew
    into its snapshot, so a published map never changes."""

    __tablename__ = "unit_boundaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), unique=True)
    geojson: Mapped[str] = mapped_column(Text)
    code_property: Mapped[str] = mapped_column(String(40))
    feature_count: Mapped[int]
    source: Mapped[str] = mapped_column(String(200), default="")
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))

    unit: Mapped[Unit] = relationship()


__all__ = [
    "AdminIndexFigure",
    "Answer",
    "AnswerSlot",
    "AnswerValue",
    "AuditEvent",
    "Assignment",
    "Credential",
    "DeskService",
    "DossierKey",
    "LoginSession",
    "Base",
    "Channel",
    "Desk",
    "QuestionnaireVersion",
    "Release",
    "ReleaseStatus",
    "ReleaseUnit",
    "Response",
    "ReviewNote",
    "ReviewRule",
    "ReviewStatus",
    "Role",
    "Service",
    "Target",
    "TargetKind",
    "Team",
    "TeamAssignment",
    "TeamMember",
    "Unit",
    "UnitCovariate",
    "UnitCorrespondence",
    "UnitBoundaries",
    "UnitKind",
    "UnitLevel",
    "UnitService",
    "User",
]

# Cases, days off, sample targets, quality flags and back-checks (revision c11b, issue 11) are in
# survey.store.casework; imported here so that Base.metadata has their tables.
from survey.store import casework as _casework  # noqa: E402,F401

# Rollups of sufficient statistics (revision r15a, issue 15): their tables and the listeners that
# note which cells a transaction changed.
from survey.store import rollup_cells as _rollup_cells  # noqa: E402,F401
