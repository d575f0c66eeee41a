"""The OpenAPI 3.1 description of the JSON API (served at ``/api/openapi.json``), generated from
the pydantic models of :mod:`survey.collect.schemas` — the same models that validate the requests
— so the document cannot drift from the code. :data:`OPERATIONS` lists every route under
``/api``; a test checks that the app has no other and that the document validates
(``openapi-spec-validator``).

A submission's ``answers`` depend on its questionnaire: the document states them per questionnaire
version of the library (:func:`answer_variants`) — each question's codes, bounds, length and pattern,
which questions are required, no other key — from the same definitions the web form builder
(:mod:`survey.collect.forms`) validates the answers with. Schemathesis found the document looser than
the API there: what it generated from ``answers: object`` was nearly always refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from questionnaires.loader import load_library, version_key
from questionnaires.model import DEFAULT_DOSSIER_PATTERN, Question, Questionnaire
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


def _choices(q: Question) -> dict[str, Any]:
    return {"enum": [c.value for c in q.choices]}


def _several(q: Question) -> dict[str, Any]:
    return {"type": "array", "items": _choices(q), "uniqueItems": True, "minItems": 1 if q.required else 0}


def _bounded(kind: str) -> Callable[[Question], dict[str, Any]]:
    def schema(q: Question) -> dict[str, Any]:
        bounds = {"minimum": q.options.get("min"), "maximum": q.options.get("max")}
        return {"type": kind, **{k: v for k, v in bounds.items() if v is not None}}
    return schema


def _text(q: Question) -> dict[str, Any]:
    pattern = q.options.get("pattern", DEFAULT_DOSSIER_PATTERN if q.type == "dossier_code" else None)
    limit = q.options.get("max_length", 40 if q.type == "dossier_code" else 2000)
    # an answer left blank counts as none (a required one needs a character that is not a space)
    return {"type": "string", "maxLength": int(limit), **({"pattern": str(pattern)} if pattern else {}),
            **({"minLength": 1, "pattern": str(pattern or r"\S")} if q.required else {})}


# The answer each question type takes, as JSON Schema (None: the type takes no answer), keyed by
# the registry's names like every consumer of question types (tests/questionnaires/test_types.py).
ANSWER_SCHEMAS: Mapping[str, Callable[[Question], dict[str, Any]] | None] = {
    "scale5": _choices, "rating": _choices, "single": _choices, "multiple": _several,
    "yesno": lambda _q: {"enum": [1, 0]},
    "integer": _bounded("integer"), "decimal": _bounded("number"),
    "text": _text, "longtext": _text, "dossier_code": _text,
    "date": lambda _q: {"type": "string", "format": "date"},
    "consent": lambda q: {"const": True} if q.required else {"type": "boolean"},
    "note": None, "calculate": None,
}


def answers_schema(questionnaire: Questionnaire) -> dict[str, Any]:
    """The ``answers`` object of one questionnaire version: a key per question that takes an
    answer, and the required ones that no skip rule can hide. What only the questionnaire's own
    expressions decide (constraints, skip logic, choice filters) stays with the server."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for q in questionnaire.questions:
        build = ANSWER_SCHEMAS[q.type]
        if build is None or q.retired:
            continue
        properties[q.id] = build(q)
        if q.required and not q.relevant:
            required.append(q.id)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def answer_variants(library: Mapping[tuple[str, str], Questionnaire] | None = None) -> list[dict[str, Any]]:
    """One variant of a submission per questionnaire version: its id, version and answers. The
    newest version is the one a submission without ``version`` answers; an older one is named.
    The document asks for ``questionnaire`` (the server takes the caller's own when it is left
    out, as the first kiosk apps did): without it, no schema could say which answers are valid."""
    library = load_library() if library is None else library
    newest: dict[str, str] = {}
    for qid, version in library:
        if qid not in newest or version_key(version) > version_key(newest[qid]):
            newest[qid] = version
    variants = []
    for (qid, version), questionnaire in sorted(library.items(), key=lambda kv: (kv[0][0], version_key(kv[0][1]))):
        latest = newest[qid] == version
        variants.append({
            "title": f"{qid} {version}",
            "properties": {"questionnaire": {"const": qid},
                           "version": {"enum": [version, None]} if latest else {"const": version},
                           "answers": answers_schema(questionnaire)},
            "required": ["questionnaire"] if latest else ["questionnaire", "version"],
        })
    return variants


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
    submission = components["Submission"]
    submission["anyOf"] = answer_variants()
    submission["properties"]["answers"]["description"] = (
        "Answers keyed by question id, as the questionnaire version defines them (one variant each)")
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
