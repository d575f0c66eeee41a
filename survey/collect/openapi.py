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
                    "started_at": {"type": "string", "format": "date-time"},
                    "submitted_at": {"type": "string", "format": "date-time"},
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
