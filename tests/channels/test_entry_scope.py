"""Issue 11 point 1: the enumerator's DATA-ENTRY scope on the submission API and on OpenRosa. An
assignment whose unit lies outside the account's data-entry unit (e.g. made before the account was
moved to another commune) is refused — 403 with the one JSON error shape on the API, 403 with an
OpenRosa message (what ODK Collect shows, keeping the form to send later) — and nothing is stored.
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from survey.store.models import Assignment, Response, Unit, User
from tests.channels.conftest import submission
from tests.channels.test_openrosa import ANSWERS, _basic, _forms, _instance, _post

OUTSIDE_VI = "nằm ngoài đơn vị nhập liệu"
OUTSIDE_EN = "outside your account's data-entry unit"


def _stored(db: Any, rid: uuid.UUID) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Response).where(Response.id == rid)) or 0)


def _move_enumerator(db: Any, assignment: Assignment) -> Unit:
    """Give the enumerator a data-entry (and viewing) unit that does not hold ``assignment``'s
    unit: another commune of the province. Returns that commune."""
    inside = {assignment.unit_id, *(u.id for u in assignment.unit.ancestors())}
    other = next(u for u in db.scalars(select(Unit).where(Unit.parent_id.is_not(None)).order_by(Unit.code))
                 if u.id not in inside and u.level.value == "commune"
                 and assignment.unit.parent_id != u.id)
    user = db.scalar(select(User).where(User.username == "dieutravien"))
    user.view_unit_id = user.entry_unit_id = other.id
    db.commit()
    return other


def _restore_scope(db: Any, unit_id: int | None) -> None:
    user = db.scalar(select(User).where(User.username == "dieutravien"))
    user.view_unit_id = user.entry_unit_id = unit_id
    db.commit()


def test_api_refuses_an_assignment_outside_the_data_entry_unit(enumerator_api, client, db) -> None:  # type: ignore[no-untyped-def]
    listing = client.get("/api/v1/assignments", headers=enumerator_api.headers()).get_json()["assignments"]
    assignment = db.get(Assignment, listing[0]["id"])
    _move_enumerator(db, assignment)
    body = submission(assignment=assignment.id, service=None)
    resp = enumerator_api.submit(body)
    assert resp.status_code == 403
    error = resp.get_json()["error"]
    assert OUTSIDE_VI in error["message"] and "assignment" in error["fields"]
    assert _stored(db, uuid.UUID(body["id"])) == 0
    english = enumerator_api.submit(submission(assignment=assignment.id, service=None), lang="en")
    assert english.status_code == 403 and OUTSIDE_EN in english.get_json()["error"]["message"]
    batch = enumerator_api.batch([submission(assignment=assignment.id, service=None)]).get_json()
    assert batch["counts"] == {"forbidden": 1} and batch["results"][0]["http_status"] == 403
    assert _stored(db, uuid.UUID(batch["results"][0]["id"])) == 0

    _restore_scope(db, assignment.unit_id)  # the assignment's own village: in scope again
    again = enumerator_api.submit(body)
    assert again.status_code == 201, again.get_json()
    assert _stored(db, uuid.UUID(body["id"])) == 1


def test_openrosa_refuses_a_form_outside_the_data_entry_unit(client, db, demo) -> None:  # type: ignore[no-untyped-def]
    forms = _forms(client)
    fid, form = next((fid, f) for fid, f in forms.items() if fid.endswith("-sipas-kiosk"))
    xform = client.get(form["downloadUrl"], headers=_basic()).data  # downloaded while still in scope
    assignment = db.get(Assignment, int(fid.split("-")[1][1:]))
    _move_enumerator(db, assignment)
    assert fid not in _forms(client)  # no longer offered
    assert client.get(form["downloadUrl"], headers=_basic()).status_code == 403
    rid = uuid.uuid4()
    now = "2026-12-01T09:30:00.000+07:00"
    body = _instance(xform, {**ANSWERS, "start": now, "end": now}, f"uuid:{rid}")
    resp = _post(client, body)
    assert resp.status_code == 403
    assert b"OpenRosaResponse" in resp.data and b'nature="error"' in resp.data
    assert OUTSIDE_VI in resp.data.decode()
    english = _post(client, body, {**_basic(), "Accept-Language": "en"})
    assert english.status_code == 403 and OUTSIDE_EN in english.data.decode()
    assert _stored(db, rid) == 0

    _restore_scope(db, None)  # the whole province again
    assert _post(client, body).status_code == 201
    assert _stored(db, rid) == 1
