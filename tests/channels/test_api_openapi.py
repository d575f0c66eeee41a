"""The API described by its own code (issue 14 point 7): the OpenAPI document is generated from the
pydantic models that validate the requests, covers every route under /api and validates; real
responses fit the documented models; a body the schema refuses is refused naming the field; 405
with Allow, 429 with Retry-After, one charset — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from sqlalchemy import func, select

from survey.collect import schemas
from survey.store.models import Response
from tests.channels.conftest import FIVE, Api, submission

JSON_UTF8 = "application/json; charset=utf-8"
GOLDEN_RELEASE = Path(__file__).resolve().parents[1] / "fixtures" / "opendata" / "golden" / "api_release.json"


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", re.sub(r"<(?:[a-z]+:)?[^>]+>", "{}", path))


def test_the_document_covers_every_api_route_and_validates(app: Flask, client: Any) -> None:
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200 and resp.content_type == JSON_UTF8
    doc = resp.get_json()
    validate(doc)  # openapi-spec-validator: a valid OpenAPI 3.1 document
    documented = {(_template(path), method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routes = {(_template(rule.rule), method) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert routes == documented  # nothing undocumented, nothing documented that does not exist
    components = doc["components"]["schemas"]
    for name, model in (("Submission", schemas.Submission), ("TokenRequest", schemas.TokenRequest)):
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        assert set(components[name].get("required", [])) == required, name  # from the validating model
        assert set(components[name]["properties"]) == set(model.model_fields), name
    body = doc["paths"]["/api/v1/submissions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Submission"}
    assert components["Submission"]["properties"]["id"]["maxLength"] == 64
    limited = doc["paths"]["/api/v1/submissions"]["post"]["responses"]["429"]
    assert "Retry-After" in limited["headers"]


def test_a_body_the_schema_refuses_is_refused_naming_the_field(db: Any, device_api: Api) -> None:
    before = db.scalar(select(func.count()).select_from(Response))
    cases = {
        "paradata.duration_seconds": submission(paradata={"duration_seconds": "long"}),
        "paradata.gps.lat": submission(paradata={"gps": {"lat": "north"}}),
        "assignment": submission(assignment="7"),  # strict: a string is not an integer
        "answers": submission(answers=["5", "4"]),
    }
    for field, body in cases.items():
        resp = device_api.submit(body, lang="en")
        error = resp.get_json()["error"]
        assert resp.status_code == 422 and field in error["fields"], (field, error)
        assert resp.content_type == JSON_UTF8
    vi = device_api.submit(submission(paradata={"consent": "yes"}))
    assert vi.get_json()["error"]["fields"]["paradata.consent"] == "Giá trị này không hợp lệ."
    zoneless = device_api.submit(submission(started_at="2026-12-01T09:00:00"))
    assert zoneless.status_code == 400 and "started_at" in zoneless.get_json()["error"]["fields"]
    assert device_api.client.post("/api/v1/submissions/batch", json={"submissions": "all"},
                                  headers=device_api.headers()).status_code == 400
    for token in ({"username": "dieutravien", "password": 5}, {"username": "  ", "password": "x"}, ["a"]):
        refused = device_api.client.post("/api/v1/auth/token", json=token)
        assert refused.status_code == 400 and set(refused.get_json()["error"]["fields"]) == {"username", "password"}
    assert db.scalar(select(func.count()).select_from(Response)) == before


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 2**40) | st.floats(allow_nan=False)
                     | st.text(max_size=70), lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)
_KEYS = ["id", "questionnaire", "version", "service", "assignment", "answers", "started_at", "submitted_at",
         "paradata"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(_KEYS), value=_JSON)
def test_the_schema_and_the_endpoint_never_disagree(db: Any, device_api: Api, key: str, value: Any) -> None:
    """Whatever one field holds: what the schema refuses is never stored, and what is stored fits
    the schema (so the document never promises less than the endpoint checks)."""
    body = submission()
    body[key] = value
    with device_api.client.application.test_request_context():
        refused_by_schema = schemas.problems(schemas.Submission, body) is not None
    resp = device_api.submit(body)
    assert resp.status_code < 500
    if refused_by_schema:
        assert resp.status_code in (400, 403, 409, 422), resp.get_json()
    if resp.status_code in (200, 201):
        assert not refused_by_schema
        schemas.Result.model_validate(resp.get_json())


def test_real_responses_fit_the_documented_models(client: Any, db: Any, device_api: Api, enumerator_api: Api) -> None:
    me = client.get("/api/v1/me", headers=device_api.headers())
    assert schemas.Caller.model_validate(me.get_json()).root.kind == "device"
    assert schemas.Caller.model_validate(client.get("/api/v1/me", headers=enumerator_api.headers()).get_json()
                                         ).root.kind == "enumerator"
    listing = client.get("/api/v1/assignments", headers=enumerator_api.headers()).get_json()
    assert schemas.Assignments.model_validate(listing).assignments
    issued = client.post("/api/v1/auth/token", json={"username": "dieutravien", "password": "hailong-demo",
                                                     "device": 42})  # an odd device name is dropped
    assert issued.status_code == 201 and schemas.TokenIssued.model_validate(issued.get_json()).token
    definition = client.get("/api/v1/questionnaires/sipas-kiosk", headers=device_api.headers())
    assert schemas.QuestionnaireDefinition.model_validate(definition.get_json()).id == "sipas-kiosk"
    body = submission()
    created = device_api.submit(body)
    assert created.status_code == 201 and schemas.Result.model_validate(created.get_json()).status == "created"
    assert schemas.Result.model_validate(device_api.submit(body).get_json()).status == "duplicate"
    conflict = device_api.submit({**body, "answers": {**body["answers"], "servant_conduct": 1}})
    assert conflict.status_code == 409 and schemas.Conflict.model_validate(conflict.get_json()).status == "conflict"
    batch = device_api.batch([submission(), {"id": "nope"}])
    parsed = schemas.BatchResult.model_validate(batch.get_json())
    assert [r.status for r in parsed.results] == ["created", "invalid"]
    unknown = client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401 and schemas.Error.model_validate(unknown.get_json()).error.code == "unauthorized"
    huge = client.get(f"/api/v1/releases/{2**70}")  # beyond the database's integer: no release, not a 500
    assert huge.status_code == 404 and schemas.Error.model_validate(huge.get_json()).error.code == "not_found"
    releases = client.get("/api/v1/releases")
    assert releases.content_type == JSON_UTF8 and schemas.Releases.model_validate(releases.get_json()).releases == []


def test_the_published_release_document_fits_its_model() -> None:
    """The release body the opendata API serves (its reviewed golden file) fits the documented model."""
    release = schemas.PublishedRelease.model_validate(json.loads(GOLDEN_RELEASE.read_text(encoding="utf-8")))
    assert release.indices and all(i.id.count(":") == 3 for i in release.indices)
    suppressed = [i for i in release.indices if i.suppressed]
    assert all(i.overall.estimate is None for i in suppressed)


def test_a_method_a_path_does_not_take_is_405_with_allow(client: Any) -> None:
    for method, path, allowed in (("get", "/api/v1/submissions", {"POST"}), ("delete", "/api/v1/me", {"GET"}),
                                  ("put", "/api/v1/auth/token", {"POST"}), ("post", "/api/v1/releases", {"GET"})):
        resp = getattr(client, method)(path)
        assert resp.status_code == 405, path
        assert allowed <= {m.strip() for m in resp.headers["Allow"].split(",")}, path
        assert resp.content_type == JSON_UTF8
        assert schemas.Error.model_validate(resp.get_json()).error.status == 405


def test_the_credential_limit_answers_429_with_retry_after_per_credential(app: Flask, client: Any,
                                                                          device_api: Api) -> None:
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 2
    statuses = [client.get("/api/v1/me", headers=device_api.headers()).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = client.get("/api/v1/me", headers=device_api.headers("en"))
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.get_json()["error"] == {"status": 429, "code": "rate_limited", "fields": {},
                                           "message": "Too many requests. Please wait a moment."}
    enumerator = client.post("/api/v1/auth/token", json={"username": "dieutravien", "password": "hailong-demo"})
    token = enumerator.get_json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200  # its own count


def _submission_schema(doc: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator({"$ref": "#/components/schemas/Submission", "components": doc["components"]},
                                format_checker=FormatChecker())


def test_the_document_states_each_questionnaires_answers_and_the_text_rules(client: Any) -> None:
    """What schemathesis found looser than the API: ``answers`` was any object, a text could hold NUL.
    Now each questionnaire version of the library is a variant with its questions' codes, bounds,
    lengths, patterns and required answers, and no other key."""
    from questionnaires.loader import load_library
    from survey.store.catalogue import latest

    doc = client.get("/api/openapi.json").get_json()
    components = doc["components"]["schemas"]
    variants = {v["title"]: v for v in components["Submission"]["anyOf"]}
    assert set(variants) == {f"{qid} {version}" for qid, version in load_library()}
    kiosk = latest("sipas-kiosk")
    newest = variants[f"sipas-kiosk {kiosk.version}"]
    assert newest["required"] == ["questionnaire"] and newest["properties"]["version"] == {"enum": [kiosk.version, None]}
    older = next(v for title, v in variants.items() if title.startswith("sipas-kiosk ") and v is not newest)
    assert older["required"] == ["questionnaire", "version"]
    answers = newest["properties"]["answers"]
    assert answers["additionalProperties"] is False
    assert answers["required"] == ["access_facilities", "procedure_as_regulated", "servant_conduct", "result_on_time",
                                   "feedback_channel"]
    assert answers["properties"]["overall"] == {"enum": [1, 2, 3, 4, 5]}
    assert answers["properties"]["comment"] == {"type": "string", "maxLength": 1000}
    dossier = next(q for q in kiosk.questions if q.id == "dossier_code")
    assert answers["properties"]["dossier_code"]["pattern"] == dossier.options["pattern"]
    land = variants["sipas-land 2025.1"]["properties"]["answers"]["properties"]
    assert land["visits"] == {"type": "integer", "minimum": 1, "maximum": 50} and land["consent"] == {"const": True}
    assert components["TokenRequest"]["properties"]["password"]["pattern"] == schemas.NO_NUL
    assert components["Paradata"]["properties"]["device"]["anyOf"][0]["pattern"] == schemas.NO_NUL

    validator = _submission_schema(doc)
    assert validator.is_valid(submission())
    refused = {  # each refused by the API too (tests above and tests/channels/test_api.py)
        "an unknown question": submission(answers={**FIVE, "favourite_colour": 3}),
        "a code not offered": submission(answers={**FIVE, "servant_conduct": 7}),
        "a required answer missing": submission(answers={k: v for k, v in FIVE.items() if k != "result_on_time"}),
        "a bad dossier code": submission(answers={**FIVE, "dossier_code": "x"}),
        "NUL in paradata": submission(paradata={"device": "a\x00b"}),
        "an unknown version": submission(version="1999.9"),
    }
    for what, body in refused.items():
        assert not validator.is_valid(body), what


_KIOSK_ANSWER = st.sampled_from([1, 2, 3, 4, 5])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(required=st.fixed_dictionaries({k: _KIOSK_ANSWER for k in FIVE}),
       optional=st.fixed_dictionaries({}, optional={"overall": _KIOSK_ANSWER,
                                                    "comment": st.text(max_size=1000).filter(lambda t: "\x00" not in t),
                                                    "dossier_code": st.from_regex(r"\A[0-9A-Za-z][0-9A-Za-z.\-/]{3,39}\Z")}))
def test_answers_the_document_accepts_are_stored(client: Any, db: Any, device_api: Api, required: dict[str, int],
                                                 optional: dict[str, Any]) -> None:
    """Answers drawn from the kiosk variant's own constraints fit the document and are stored
    (the document is no stricter than the API where it speaks)."""
    doc = client.get("/api/openapi.json").get_json()
    body = submission(answers={**required, **optional})
    assert _submission_schema(doc).is_valid(body)
    resp = device_api.submit(body, lang="en")
    assert resp.status_code in (201, 409), resp.get_json()  # 409: a drawn dossier code already rated


def test_a_username_or_password_with_nul_is_refused_by_the_document_and_the_api(client: Any) -> None:
    doc = client.get("/api/openapi.json").get_json()
    from jsonschema import Draft202012Validator

    token = Draft202012Validator({"$ref": "#/components/schemas/TokenRequest", "components": doc["components"]})
    for body in ({"username": "dieu\x00travien", "password": "x"}, {"username": "dieutravien", "password": "a\x00"},
                 {"username": " \t", "password": "x"}):
        assert not token.is_valid(body)
        assert client.post("/api/v1/auth/token", json=body).status_code == 400
    assert token.is_valid({"username": " Điều tra viên ", "password": "mật khẩu"})
