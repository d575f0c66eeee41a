"""Malformed input never makes the API answer 5xx (Hypothesis), and errors keep the one shape."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.channels.conftest import FIVE

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
fields = st.fixed_dictionaries({}, optional={
    "id": st.uuids().map(str) | json_values,
    "questionnaire": st.sampled_from(["sipas-kiosk", "x"]) | json_values,
    "version": json_values, "service": st.sampled_from(["CHUNG-THUC", "GPXD"]) | json_values,
    "assignment": json_values,
    "answers": st.dictionaries(st.sampled_from([*FIVE, "comment", "zzz"]), json_values, max_size=7) | json_values,
    "started_at": json_values | st.datetimes().map(lambda d: d.isoformat()),
    "submitted_at": json_values, "paradata": st.dictionaries(st.sampled_from(["gps", "duration_seconds", "device"]),
                                                             json_values) | json_values,
})
SHAPE = {"status", "code", "message", "fields"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=fields | json_values)
def test_malformed_submissions_never_cause_a_server_error(device_api, body) -> None:  # type: ignore[no-untyped-def]
    resp = device_api.submit(body)
    assert resp.status_code < 500, resp.get_data(as_text=True)
    if resp.status_code >= 400:
        assert set(resp.get_json()["error"]) == SHAPE
    batch = device_api.batch([body, body])
    assert batch.status_code < 500


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_raw_bytes_get_a_json_error(device_api, client, raw) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/submissions", "/api/v1/submissions/batch", "/api/v1/auth/token"):
        resp = client.post(path, data=raw, headers={**device_api.headers(), "Content-Type": "application/json"})
        assert resp.status_code < 500 and "error" in (resp.get_json() or {"error": 1}) or resp.status_code < 300


def test_unknown_version_and_nul_bytes_are_field_errors(device_api) -> None:  # type: ignore[no-untyped-def]
    resp = device_api.submit({"id": str(uuid.uuid4()), "version": "1999", "service": "CHUNG-THUC",
                              "answers": {**FIVE, "comment": "a\x00b"}})
    assert resp.status_code == 422
    assert {"version"} <= set(resp.get_json()["error"]["fields"])
