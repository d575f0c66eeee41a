"""The OpenAPI 3 description of the submission API (served at ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ERROR, "Malformed request (not JSON, wrong shape)"),
    "401": _json(_ERROR, "Missing or unknown token"),
    "403": _json(_ERROR, "The caller may not submit this questionnaire, service or assignment"),
    "422": _json(_ERROR, "Invalid answers; `fields` names each bad field"),
    "429": _json(_ERROR, "Rate limited"),
}

# The published results (survey/portal/opendata.py): public, no token; read from the immutable
# snapshots of published releases only. Index ids are stable across the versions of a series.
_RELEASE_ID = {"name": "release_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_NOT_PUBLISHED = _json(_ERROR, "No published (or withdrawn) release has this id")
_PUBLISHED_PATHS: dict[str, Any] = {
    "/api/v1/releases": {"get": {
        "operationId": "listReleases", "summary": "Every published or withdrawn release version, newest period first",
        "security": [], "tags": ["published results"],
        "responses": {"200": _json({"type": "object", "properties": {"releases": {
            "type": "array", "items": {"$ref": "#/components/schemas/ReleaseSummary"}}}}, "The releases")}}},
    "/api/v1/releases/{release_id}": {"get": {
        "operationId": "getRelease", "summary": "One release: its metadata and every published figure",
        "security": [], "tags": ["published results"], "parameters": [_RELEASE_ID],
        "responses": {"200": _json({"$ref": "#/components/schemas/PublishedRelease"}, "The release"),
                      "404": _NOT_PUBLISHED}}},
    "/api/v1/releases/{release_id}/indices/{index_id}": {"get": {
        "operationId": "getIndex", "summary": "One index (unit × service × questionnaire) of a release",
        "security": [], "tags": ["published results"],
        "parameters": [_RELEASE_ID, {"name": "index_id", "in": "path", "required": True, "schema": {"type": "string"},
                                     "example": "96-2026-Q3:sipas-kiosk:96:all"}],
        "responses": {"200": _json({"type": "object", "properties": {
            "index": {"$ref": "#/components/schemas/PublishedIndex"}, "links": {"type": "object"}}}, "The index"),
            "404": _json(_ERROR, "No such release or index")}}},
    "/api/v1/units/{unit_code}/latest": {"get": {
        "operationId": "getUnitLatest", "summary": "The newest published release showing a unit, and the unit's figures",
        "security": [], "tags": ["published results"],
        "parameters": [{"name": "unit_code", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json({"type": "object", "properties": {
            "release": {"type": "object"}, "unit": {"type": "object"},
            "indices": {"type": "array", "items": {"$ref": "#/components/schemas/PublishedIndex"}},
            "trend": {"type": "array", "items": {"type": "object"}},
            "admin_index": {"type": "array", "items": {"type": "object"}}, "links": {"type": "object"}}},
            "The unit's latest figures"), "404": _json(_ERROR, "No published release shows this unit")}}},
}
_INTERVAL = {"type": "object", "properties": {k: {"type": "number", "nullable": True}
                                              for k in ("estimate", "se", "ci_low", "ci_high")}}
PUBLISHED_SCHEMAS: dict[str, Any] = {
    "ReleaseSummary": {"type": "object", "required": ["id", "series", "version", "status", "period", "scope"],
                       "properties": {"id": {"type": "integer"}, "series": {"type": "string"},
                                      "version": {"type": "integer"},
                                      "status": {"type": "string", "enum": ["published", "withdrawn"]},
                                      "period": {"type": "string", "example": "2026-Q3"},
                                      "scope": {"type": "string"}, "published_at": {"type": "string", "nullable": True},
                                      "withdrawn_at": {"type": "string", "nullable": True},
                                      "links": {"type": "object", "additionalProperties": {"type": "string"}}}},
    "PublishedIndex": {"type": "object", "required": ["id", "questionnaire", "unit", "n", "suppressed", "overall"],
                       "properties": {
                           "id": {"type": "string", "description": "Stable id: series:questionnaire:unit:service (or all)"},
                           "questionnaire": {"type": "string"}, "unit": {"type": "string"},
                           "service": {"type": "string", "nullable": True, "description": "null: all services"},
                           "n": {"type": "integer"}, "n_eff": {"type": "number", "nullable": True},
                           "suppressed": {"type": "boolean", "description": "true: too few answers; numbers are null"},
                           "overall": _INTERVAL, "par_points": {**_INTERVAL, "nullable": True},
                           "elements": {"type": "array", "items": {"type": "object"}},
                           "distribution": {"type": "array", "items": {"type": "object", "properties": {
                               "level": {"type": "integer"}, "count": {"type": "integer", "nullable": True}}}},
                           "change": {"type": "object", "nullable": True}, "target": {"type": "object", "nullable": True}}},
    "PublishedRelease": {"type": "object", "required": ["release", "units", "indices"],
                         "properties": {"release": {"type": "object", "description": "Period, scope, methodology "
                                                    "version, confidence level, suppression rule, changelog, withdrawal"},
                                        "units": {"type": "array", "items": {"type": "object"}},
                                        "services": {"type": "array", "items": {"type": "object"}},
                                        "indices": {"type": "array", "items": {"$ref": "#/components/schemas/PublishedIndex"}},
                                        "rankings": {"type": "array", "items": {"type": "object"}},
                                        "trend": {"type": "array", "items": {"type": "object"}},
                                        "papi": {"type": "object", "nullable": True},
                                        "admin_index": {"type": "array", "items": {"type": "object"}},
                                        "links": {"type": "object", "additionalProperties": {"type": "string"}}}},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Hài Lòng submission API",
        "version": "1",
        "description": (
            "Submissions from kiosks (device tokens) and enumerators (account tokens). Each submission "
            "carries a UUID generated on the device: repeating it with the same content answers `duplicate` "
            "and stores nothing new; the same id with other content is a 409 conflict. Messages follow "
            "`Accept-Language` (vi, en)."
        ),
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/auth/token": {
            "post": {
                "operationId": "issueToken",
                "summary": "Exchange an enumerator's username and password for a token",
                "security": [],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"},
                                   "device": {"type": "string"}}}}}},
                "responses": {
                    "201": _json({"type": "object", "properties": {"token": {"type": "string"},
                                                                  "user": {"type": "object"}}}, "Token issued"),
                    "400": _ERRORS["400"], "401": _ERRORS["401"], "403": _ERRORS["403"], "429": _ERRORS["429"],
                },
            }
        },
        "/api/v1/me": {
            "get": {"operationId": "me", "summary": "Who the token belongs to",
                    "responses": {"200": _json({"type": "object"}, "The caller"), "401": _ERRORS["401"]}}
        },
        "/api/v1/assignments": {
            "get": {"operationId": "assignments", "summary": "The enumerator's assignments and quotas",
                    "responses": {"200": _json({"type": "object", "properties": {"assignments": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Assignment"}}}}, "Assignments"),
                        "401": _ERRORS["401"], "403": _ERRORS["403"]}}
        },
        "/api/v1/questionnaires/{questionnaire_id}": {
            "get": {"operationId": "questionnaire", "summary": "Newest version of a questionnaire the caller may submit",
                    "parameters": [{"name": "questionnaire_id", "in": "path", "required": True,
                                    "schema": {"type": "string"}}],
                    "responses": {"200": _json({"type": "object"}, "Questionnaire definition"),
                                  "401": _ERRORS["401"], "403": _ERRORS["403"]}}
        },
        "/api/v1/submissions": {
            "post": {
                "operationId": "submit",
                "summary": "Store one submission",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Submission"}}}},
                "responses": {
                    "201": _json({"$ref": "#/components/schemas/Result"}, "Stored"),
                    "200": _json({"$ref": "#/components/schemas/Result"}, "Already stored (duplicate); nothing new"),
                    "409": _json(_ERROR, "Conflict: same id with other content, or dossier code already rated"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/submissions/batch": {
            "post": {
                "operationId": "submitBatch",
                "summary": "Store many submissions; each is all-or-nothing and reported separately",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["submissions"],
                    "properties": {"submissions": {"type": "array", "maxItems": 2000,
                                                   "items": {"$ref": "#/components/schemas/Submission"}}}}}}},
                "responses": {
                    "200": _json({"type": "object", "properties": {
                        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
                        "counts": {"type": "object", "additionalProperties": {"type": "integer"}}}},
                        "One result per submission, in order"),
                    "400": _ERRORS["400"], "401": _ERRORS["401"], "429": _ERRORS["429"],
                },
            }
        },
        **_PUBLISHED_PATHS,
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Submission": {
                "type": "object",
                "required": ["id", "answers"],
                "properties": {
                    "id": {"type": "string", "format": "uuid", "description": "Generated on the device"},
                    "questionnaire": {"type": "string", "example": "sipas-kiosk"},
                    "version": {"type": "string", "description": "Version the interview started on; default newest"},
                    "service": {"type": "string", "description": "Service code (kiosk devices)"},
                    "assignment": {"type": "integer", "description": "Assignment id (enumerators)"},
                    "answers": {"type": "object", "additionalProperties": True,
                                "description": "Answers keyed by question id"},
                    "started_at": {"type": "string", "format": "date-time",
                                   "description": "ISO 8601 with its UTC offset (Z or +07:00); without one: 400"},
                    "submitted_at": {"type": "string", "format": "date-time",
                                     "description": "ISO 8601 with its UTC offset (Z or +07:00); without one: 400"},
                    "paradata": {"type": "object", "properties": {
                        "started_at": {"type": "string"}, "ended_at": {"type": "string"},
                        "duration_seconds": {"type": "number"}, "device": {"type": "string"},
                        "app_version": {"type": "string"}, "questionnaire_version": {"type": "string"},
                        "consent": {"type": "boolean"}, "user_agent": {"type": "string"},
                        "gps": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"},
                                                                 "accuracy": {"type": "number"}}}}},
                },
            },
            "Result": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "nullable": True},
                    "status": {"type": "string", "enum": ["created", "duplicate", "conflict", "dossier_used",
                                                          "invalid", "forbidden"]},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    "http_status": {"type": "integer"},
                },
            },
            "Assignment": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "unit": {"type": "object"}, "service": {"type": "object"},
                               "questionnaire": {"type": "object"}, "quota": {"type": "integer"},
                               "done": {"type": "integer"}, "households": {"type": "array", "items": {"type": "string"}}},
            },
            **PUBLISHED_SCHEMAS,
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["status", "code", "message", "fields"],
                                         "properties": {"status": {"type": "integer"}, "code": {"type": "string"},
                                                        "message": {"type": "string"},
                                                        "fields": {"type": "object",
                                                                   "additionalProperties": {"type": "string"}}}}},
            },
        },
    },
}
