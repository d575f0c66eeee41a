"""The OpenAPI 3.1 description of the JSON API (served at ``/api/openapi.json``), generated from
the pydantic models of :mod:`survey.collect.schemas` — the same models that validate the requests
— so the document cannot drift from the code. :data:`OPERATIONS` lists every route under
``/api``; a test checks that the app has no other and that the document validates
(``openapi-spec-validator``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from survey.collect import schemas as s

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    path: str  # OpenAPI path template, e.g. /api/v1/releases/{release_id}
    method: str
    operation_id: str
    summary: str
    responses: dict[str, tuple[type[BaseModel] | None, str]]
    request: type[BaseModel] | None = None
    public: bool = False  # no token
    parameters: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    tags: tuple[str, ...] = ("submissions",)


def _path(name: str, kind: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}, **extra}


_AUTH = {"401": (s.Error, "Missing, unknown or expired token"), "429": (s.Error, "Rate limited (see Retry-After)")}
_LANG = {"name": "lang", "in": "query", "required": False, "schema": {"type": "string", "enum": ["vi", "en"]},
         "description": "Language of the messages (else Accept-Language)"}
_RELEASE_ID = _path("release_id", "integer")
_PUBLISHED = ("published results",)

OPERATIONS: tuple[Operation, ...] = (
    Operation("/api/v1/auth/token", "post", "issueToken", "Exchange an enumerator's username and password for a token",
              {"201": (s.TokenIssued, "Token issued"), "400": (s.Error, "No username or password"),
               "401": (s.Error, "Wrong username or password"), "403": (s.Error, "This account may not submit"),
               "429": (s.Error, "Too many failed sign-ins (see Retry-After)")},
              request=s.TokenRequest, public=True),
    Operation("/api/v1/me", "get", "me", "Who the token belongs to",
              {"200": (s.Caller, "The caller: a kiosk device or an enumerator"),
               **_AUTH}),
    Operation("/api/v1/assignments", "get", "assignments", "The enumerator's assignments and quotas",
              {"200": (s.Assignments, "Assignments"), "403": (s.Error, "Not an enumerator"), **_AUTH}),
    Operation("/api/v1/questionnaires/{questionnaire_id}", "get", "questionnaire",
              "Newest version of a questionnaire the caller may submit",
              {"200": (s.QuestionnaireDefinition, "Questionnaire definition (ETag: its content hash)"),
               "403": (s.Error, "The caller may not submit this questionnaire"), **_AUTH},
              parameters=(_path("questionnaire_id"),)),
    Operation("/api/v1/submissions", "post", "submit", "Store one submission",
              {"201": (s.Result, "Stored"), "200": (s.Result, "Already stored (duplicate); nothing new"),
               "400": (s.Error, "Malformed request (not JSON, wrong shape, a time without its UTC offset)"),
               "403": (s.Error, "The caller may not submit this questionnaire, service or assignment"),
               "409": (s.Conflict, "Same id with other content, or dossier code already rated"),
               "422": (s.Error, "Invalid answers; `fields` names each bad field"), **_AUTH},
              request=s.Submission),
    Operation("/api/v1/submissions/batch", "post", "submitBatch",
              "Store many submissions; each is all-or-nothing and reported separately",
              {"200": (s.BatchResult, "One result per submission, in order"),
               "400": (s.Error, "Not an object with a list of submissions, or too many"), **_AUTH},
              request=s.SubmissionBatch),
    Operation("/api/openapi.json", "get", "openapi", "This document", {"200": (None, "OpenAPI 3.1 document")},
              public=True, tags=("meta",)),
    Operation("/api/v1/releases", "get", "listReleases",
              "Every published or withdrawn release version, newest period first",
              {"200": (s.Releases, "The releases")}, public=True, tags=_PUBLISHED),
    Operation("/api/v1/releases/{release_id}", "get", "getRelease",
              "One release: its metadata and every published figure",
              {"200": (s.PublishedRelease, "The release"),
               "404": (s.Error, "No published (or withdrawn) release has this id")},
              public=True, parameters=(_RELEASE_ID,), tags=_PUBLISHED),
    Operation("/api/v1/releases/{release_id}/indices/{index_id}", "get", "getIndex",
              "One index (unit × service × questionnaire) of a release",
              {"200": (s.IndexDocument, "The index"), "404": (s.Error, "No such release or index")},
              public=True, parameters=(_RELEASE_ID, _path("index_id", example="96-2026-Q3:sipas-kiosk:96:all")),
              tags=_PUBLISHED),
    Operation("/api/v1/units/{unit_code}/latest", "get", "getUnitLatest",
              "The newest published release showing a unit, and the unit's figures",
              {"200": (s.UnitLatest, "The unit's latest figures"),
               "404": (s.Error, "No published release shows this unit")},
              public=True, parameters=(_path("unit_code"),), tags=_PUBLISHED),
)

_DESCRIPTION = (
    "Submissions from kiosks (device tokens) and enumerators (account tokens), and the published results. "
    "Each submission carries a UUID generated on the device: repeating it with the same content answers "
    "`duplicate` and stores nothing new; the same id with other content is a 409 conflict. Every refusal has "
    "the one error shape (`Error`); messages follow `Accept-Language` or `?lang=` (vi, en). A method a path "
    "does not take answers 405 with `Allow`; a rate limit answers 429 with `Retry-After` (seconds). Every "
    "body is UTF-8 and every timestamp ISO 8601 with its UTC offset. Generated from the code's own schemas."
)


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The OpenAPI document (built once per process: it depends on the code only)."""
    models: list[type[BaseModel]] = []
    for op in OPERATIONS:
        for model in (op.request, *(m for m, _d in op.responses.values())):
            if model is not None and model not in models:
                models.append(model)
    def mode(model: type[BaseModel]) -> Literal["validation", "serialization"]:
        return "validation" if any(op.request is model for op in OPERATIONS) else "serialization"

    refs, defs = models_json_schema([(m, mode(m)) for m in models], ref_template=REF)
    components: dict[str, Any] = dict(defs.get("$defs", {}))

    def schema_of(model: type[BaseModel]) -> dict[str, Any]:
        return dict(refs[(model, mode(model))])

    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        responses: dict[str, Any] = {}
        for status, (model, description) in op.responses.items():
            entry: dict[str, Any] = {"description": description}
            if model is not None:
                entry["content"] = {"application/json": {"schema": schema_of(model)}}
            else:
                entry["content"] = {"application/json": {"schema": {"type": "object"}}}
            if status == "429":
                entry["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
            responses[status] = entry
        responses["405"] = {"description": "Method not allowed here (Allow names those that are)",
                            "headers": {"Allow": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
        operation: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": list(op.tags),
                                     "parameters": [*op.parameters, _LANG], "responses": responses}
        if op.request is not None:
            operation["description"] = (op.request.__doc__ or "").strip()
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": schema_of(op.request)}}}
        if op.public:
            operation["security"] = []
        paths.setdefault(op.path, {})[op.method] = operation
    if "Error" not in components:
        components["Error"] = s.Error.model_json_schema(ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hài Lòng API", "version": "1", "description": _DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": components},
    }
