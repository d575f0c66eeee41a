"""The shapes of the JSON API, as pydantic models: the requests are validated with them and the
OpenAPI document (:mod:`survey.collect.openapi`) is generated from them, so the two cannot drift.

Request models are strict (a JSON string is not a number, ``true`` is not ``1``) and ignore keys
they do not know (a newer app may send more). They check the shape of a request; what depends on
the store or the questionnaire (the caller's services and assignments, the questionnaire version,
each answer, a plausible time) is checked after them by :func:`survey.collect.submissions.check`.
:func:`problems` turns a refusal into the fields of the one JSON error shape, in the caller's
language. Response models describe what the endpoints send (the tests validate real responses
with them).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    SkipValidation,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

_STRICT = ConfigDict(strict=True, extra="ignore")
NO_NUL = r"^[^\x00]*$"  # the server refuses a NUL character in any text (PostgreSQL cannot store it)
Text = Annotated[str, Field(max_length=300, pattern=NO_NUL)]


class Gps(BaseModel):
    model_config = _STRICT
    lat: float | None = None
    lon: float | None = None
    accuracy: float | None = Field(None, description="Metres")


class Paradata(BaseModel):
    """How the interview went (kept with the response, never published)."""

    model_config = _STRICT
    started_at: Text | None = None
    ended_at: Text | None = None
    duration_seconds: float | None = Field(None, allow_inf_nan=False)
    device: Text | None = None
    app_version: Text | None = None
    questionnaire_version: Text | None = None
    consent: bool | None = None
    user_agent: Text | None = None
    gps: Gps | None = None


def _aware_time(value: str | None) -> str | None:
    if value is not None:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PydanticCustomError("datetime_format", "not an ISO 8601 date and time") from None
        if parsed.tzinfo is None:
            raise PydanticCustomError("zoneless", "a date and time needs its UTC offset")
    return value


Moment = Annotated[str, Field(max_length=64, pattern=NO_NUL, json_schema_extra={"format": "date-time"},
                              description="ISO 8601 with its UTC offset (Z or +07:00); without one: 400")]


class Submission(BaseModel):
    """One completed interview or rating, with an id generated on the device."""

    model_config = _STRICT
    id: str = Field(max_length=64, json_schema_extra={"format": "uuid"},
                    description="Generated on the device: the same id again is a duplicate, never a second row")
    questionnaire: str | None = Field(None, max_length=80, examples=["sipas-kiosk"])
    version: str | None = Field(None, max_length=40, description="Version the interview started on; default newest")
    service: str | None = Field(None, max_length=80, description="Service code (kiosk devices)")
    assignment: int | None = Field(None, gt=0, lt=2**31, description="Assignment id (enumerators)")
    answers: dict[str, Any] = Field(description="Answers keyed by question id")
    started_at: Moment | None = None
    submitted_at: Moment | None = None
    paradata: Paradata | None = None

    @field_validator("id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        uuid.UUID(value)
        return value

    _times = field_validator("started_at", "submitted_at")(_aware_time)


class SubmissionBatch(BaseModel):
    """Many submissions; each is validated and stored on its own (one fate per item)."""

    model_config = _STRICT
    submissions: list[SkipValidation[Submission]] = Field(
        description="At most API_BATCH_MAX (2000 by default) submissions; each item is checked on its own")


class TokenRequest(BaseModel):
    """An enumerator's username and password, exchanged for an API token."""

    model_config = _STRICT
    username: str = Field(min_length=1, max_length=80, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$",
                          description="Not only spaces; no NUL character")
    password: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    device: str | None = Field(None, max_length=200, description="A name for the device (shown to admins)")

    @field_validator("device", mode="before")
    @classmethod
    def _device(cls, value: Any) -> Any:
        return value if isinstance(value, str) else None  # an odd device name is dropped, not refused


# Responses ---------------------------------------------------------------------------------

class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Out):
    status: int
    code: str
    message: str
    fields: dict[str, str]


class Error(_Out):
    """The one JSON error shape of every refusal (:mod:`survey.errors`)."""

    error: ErrorBody


Outcome = Literal["created", "duplicate", "conflict", "dossier_used", "invalid", "forbidden"]


class Result(_Out):
    """The fate of one submission."""

    id: str | None
    status: Outcome
    message: str
    fields: dict[str, str] | None = None
    http_status: int | None = Field(None, description="In a batch: the status the item would have had alone")


class Conflict(_Out):
    """409: the error shape, and the submission's result beside it."""

    error: ErrorBody
    id: str | None
    status: Outcome
    message: str


class BatchResult(_Out):
    results: list[Result] = Field(description="One per submission, in order")
    counts: dict[str, int]


class TokenUser(_Out):
    username: str
    full_name: str


class TokenIssued(_Out):
    token: str
    user: TokenUser


class DeviceCaller(_Out):
    kind: Literal["device"]
    desk: str
    unit: str
    questionnaire: str
    services: list[str]


class EnumeratorCaller(_Out):
    kind: Literal["enumerator"]
    username: str
    full_name: str


class Caller(RootModel[Annotated[DeviceCaller | EnumeratorCaller, Field(discriminator="kind")]]):
    """Who the token belongs to: a kiosk device (its desk) or an enumerator."""


class NamedCode(_Out):
    code: str
    name: str


class UnitRef(NamedCode):
    path: str


class QuestionnaireRef(_Out):
    id: str
    version: str
    title: str | None


class Assignment(_Out):
    id: int
    unit: UnitRef
    service: NamedCode
    questionnaire: QuestionnaireRef
    quota: int | None
    done: int
    households: list[str]


class Assignments(_Out):
    assignments: list[Assignment]


class QuestionnaireDefinition(BaseModel):
    """A questionnaire's definition as JSON (``questionnaires.Questionnaire.to_dict``)."""

    model_config = ConfigDict(extra="allow")
    id: str
    version: str
    content_hash: str


# The published results (survey/portal/opendata.py): public, read from release snapshots.

class Interval(BaseModel):
    model_config = ConfigDict(extra="allow")
    estimate: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class Level(BaseModel):
    model_config = ConfigDict(extra="allow")
    level: int
    count: int | None


class PublishedIndex(BaseModel):
    """One index (unit × service × questionnaire) of a release; ``id`` is stable across versions."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(description="Stable id: series:questionnaire:unit:service (or all)",
                    examples=["96-2026-Q3:sipas-kiosk:96:all"])
    questionnaire: str
    unit: str
    service: str | None = Field(None, description="null: all services")
    n: int
    n_eff: float | None = None
    suppressed: bool = Field(description="true: too few answers; numbers are null")
    overall: Interval
    par_points: Interval | None = None
    elements: list[dict[str, Any]] = []
    distribution: list[Level] = []
    change: dict[str, Any] | None = None
    target: dict[str, Any] | None = None


class ReleaseSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    series: str
    version: int
    status: Literal["published", "withdrawn"]
    period: str = Field(examples=["2026-Q3"])
    scope: str
    published_at: str | None = None
    withdrawn_at: str | None = None
    links: dict[str, str] = {}


class Releases(BaseModel):
    releases: list[ReleaseSummary]


class PublishedRelease(BaseModel):
    """One release: its metadata (period, scope, methodology version, confidence level,
    suppression rule, changelog, withdrawal) and every published figure."""

    model_config = ConfigDict(extra="allow")
    release: dict[str, Any]
    units: list[dict[str, Any]]
    services: list[dict[str, Any]] = []
    indices: list[PublishedIndex]
    rankings: list[dict[str, Any]] = []
    trend: list[dict[str, Any]] = []
    papi: dict[str, Any] | None = None
    admin_index: list[dict[str, Any]] = []
    links: dict[str, str] = {}


class IndexDocument(BaseModel):
    index: PublishedIndex
    links: dict[str, str]


class UnitLatest(BaseModel):
    release: dict[str, Any]
    unit: dict[str, Any] | None
    indices: list[PublishedIndex]
    trend: list[dict[str, Any]]
    admin_index: list[dict[str, Any]]
    links: dict[str, str]


# Refusals ----------------------------------------------------------------------------------

def problems(model: type[BaseModel], data: Any) -> dict[str, str] | None:
    """None when ``data`` fits ``model``; else a message per bad field (``paradata.gps.lat``), in
    the request's language. A body that is not an object at all is ``{"": ...}``."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        out: dict[str, str] = {}
        for error in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in error["loc"])
            out.setdefault(field, _message(field, error["type"]))
        return out
    return None


def _message(field: str, kind: str) -> str:
    if field == "id":
        return _("Every submission needs an id generated on the device (a UUID).")
    if kind == "zoneless":
        return _("A date and time needs its offset from UTC (e.g. +07:00).")
    if kind == "datetime_format":
        return _("Enter a date and time in ISO 8601 format.")
    if field == "answers":
        return _("Answers must be an object keyed by question id.")
    if kind == "missing":
        return _("This field is required.")
    return _("This value is not valid.")
