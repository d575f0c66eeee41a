"""ODK Collect as a client: requests shaped as ODK Collect sends them (OpenRosa 1.0 headers, HTTP
Basic after a 401 challenge (Digest: test_openrosa_digest_media.py), multipart ``xml_submission_file``), an instance built from the
XForm pyxform makes of the XLSForm export — on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import uuid
from io import BytesIO
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 - only to serialise

import pytest
from defusedxml import ElementTree as SafeET
from sqlalchemy import func, select

from survey.store.models import (
    AnswerValue,
    Assignment,
    Channel,
    Response,
    Service,
    Unit,
    User,
)

XF = "{http://www.w3.org/2002/xforms}"
LIST = "{http://openrosa.org/xforms/xformsList}"
COLLECT = {"X-OpenRosa-Version": "1.0", "User-Agent": "org.odk.collect.android/v2024.3.2 okhttp/4.12.0",
           "Accept-Language": "vi-VN"}


def _basic(username: str = "dieutravien", password: str = "hailong-demo") -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {**COLLECT, "Authorization": f"Basic {token}"}


def _forms(client: Any) -> dict[str, dict[str, str]]:
    resp = client.get("/odk/formList", headers=_basic())
    assert resp.status_code == 200 and resp.headers["X-OpenRosa-Version"] == "1.0"
    assert resp.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = SafeET.fromstring(resp.data)
    return {x.findtext(f"{LIST}formID"): {c.tag.removeprefix(LIST): c.text or "" for c in x}
            for x in root.findall(f"{LIST}xform")}


def _kiosk_form(client: Any) -> tuple[str, dict[str, str]]:
    return next((fid, f) for fid, f in _forms(client).items() if fid.endswith("-sipas-kiosk"))


def _instance(xform: bytes, values: dict[str, str], instance_id: str) -> bytes:
    """The primary instance of ``xform`` filled in, as ODK Collect serialises a finished form."""
    root = SafeET.fromstring(xform)
    data = next(iter(root.find(f"{{http://www.w3.org/1999/xhtml}}head/{XF}model/{XF}instance")))
    for element in data.iter():
        name = element.tag.removeprefix(XF)
        element.tag = name
        if name in values:
            element.text = values[name]
    data.find("meta/instanceID").text = instance_id  # type: ignore[union-attr]
    return ET.tostring(data, encoding="utf-8", xml_declaration=True)


def _post(client: Any, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.post("/odk/submission", headers=headers or _basic(), content_type="multipart/form-data",
                       data={"xml_submission_file": (BytesIO(body), "submission.xml", "text/xml")})


ANSWERS = {"access_facilities": "5", "procedure_as_regulated": "4", "servant_conduct": "4", "result_on_time": "2",
           "feedback_channel": "4", "overall": "4", "comment": "Cán bộ nhiệt tình"}


def test_collect_lists_downloads_and_submits_once_scored(client, db, demo, app) -> None:  # type: ignore[no-untyped-def]
    anonymous = client.get("/odk/formList", headers=COLLECT)  # Collect's first request has no credentials
    assert anonymous.status_code == 401  # Digest offered first (Collect's default), Basic beside it
    assert [c.split()[0] for c in anonymous.headers.getlist("WWW-Authenticate")] == ["Digest", "Basic"]
    assert anonymous.headers["X-OpenRosa-Version"] == "1.0"
    forms = _forms(client)
    user = db.scalar(select(User).where(User.username == "dieutravien"))
    mine = db.scalars(select(Assignment).where(Assignment.user_id == user.id, Assignment.active.is_(True))).all()
    assert len(forms) == len(mine) == 4  # one form per assignment
    fid, form = _kiosk_form(client)
    assert form["version"] == "2025.2" and form["hash"].startswith("md5:")
    xform = client.get(form["downloadUrl"], headers=_basic())
    assert xform.status_code == 200 and b"<h:html" in xform.data and b'version="2025.2"' in xform.data
    assert client.get(form["downloadUrl"], headers=_basic()).data == xform.data  # stable
    manifest = client.get(form["manifestUrl"], headers=_basic())
    assert manifest.status_code == 200 and b"xformsManifest" in manifest.data
    head = client.head("/odk/submission", headers=_basic())
    assert head.status_code == 204 and int(head.headers["X-OpenRosa-Accept-Content-Length"]) > 0

    rid = uuid.uuid4()
    now = "2026-12-01T09:30:00.000+07:00"
    body = _instance(xform.data, {**ANSWERS, "start": now, "end": now}, f"uuid:{rid}")
    first = _post(client, body)
    assert first.status_code == 201, first.data.decode()
    assert b'nature="submit_success"' in first.data and "Đã lưu.".encode() in first.data
    again = _post(client, body)  # Collect re-sends when it did not see the answer
    assert again.status_code == 202
    assert db.scalar(select(func.count()).select_from(Response).where(Response.id == rid)) == 1
    row = db.get(Response, rid)
    assignment = db.get(Assignment, int(fid.split("-")[1][1:]))
    assert row.channel == Channel.ENUMERATOR and row.assignment_id == assignment.id and row.user_id == user.id
    assert row.unit_id == assignment.unit_id and row.service_id == assignment.service_id
    assert row.submitted_at.isoformat().startswith("2026-12-01T02:30:00")  # +07:00 kept as the instant
    stored = {a.question_id: (a.value_num, a.value_text) for a in
              db.scalars(select(AnswerValue).where(AnswerValue.response_id == rid))}
    assert stored["access_facilities"] == (5.0, None) and stored["result_on_time"] == (2.0, None)
    assert stored["comment"] == (None, "Cán bộ nhiệt tình")

    from survey.reports.sipas_tables import sipas_report
    from survey.store.catalogue import latest

    unit = db.get(Unit, assignment.unit_id)
    service = db.get(Service, assignment.service_id)
    with app.test_request_context("/?lang=vi"):
        report = sipas_report(db, latest("sipas-kiosk"), unit, service, language="vi", min_n=1)
    assert report.n_responses == 1  # stored once, scored with the unit's other ratings
    rows = {r["id"]: r for r in report.table.rows}
    assert rows["result_on_time"]["n"] == 1

    changed = _instance(xform.data, {**ANSWERS, "access_facilities": "1", "start": now, "end": now}, f"uuid:{rid}")
    assert _post(client, changed).status_code == 409
    assert db.scalar(select(AnswerValue.value_num).where(AnswerValue.response_id == rid,
                                                    AnswerValue.question_id == "access_facilities")) == 5.0


def test_bad_submissions_get_a_message_and_store_nothing(client, db, demo) -> None:  # type: ignore[no-untyped-def]
    fid, form = _kiosk_form(client)
    xform = client.get(form["downloadUrl"], headers=_basic()).data
    rid = uuid.uuid4()
    missing = _instance(xform, {**ANSWERS, "servant_conduct": ""}, f"uuid:{rid}")
    resp = _post(client, missing)
    assert resp.status_code == 400 and b"servant_conduct" in resp.data
    assert b"OpenRosaResponse" in resp.data
    en = _post(client, missing, {**_basic(), "Accept-Language": "en"})
    assert "Please answer this question." in en.data.decode()
    assert _post(client, b"<not xml").status_code == 400
    no_zone = _instance(xform, {**ANSWERS, "end": "2026-12-01T09:30:00"}, f"uuid:{uuid.uuid4()}")
    assert _post(client, no_zone).status_code == 400
    other = _instance(xform, ANSWERS, f"uuid:{uuid.uuid4()}").replace(fid.encode(), b"hailong-a999999-sipas-kiosk")
    assert _post(client, other).status_code == 403
    edited = _instance(xform, ANSWERS, f"uuid:{uuid.uuid4()}").replace(
        b"</instanceID>", f"</instanceID><deprecatedID>uuid:{rid}</deprecatedID>".encode())
    assert _post(client, edited).status_code == 409  # an edit of a sent form is never a second interview
    assert db.scalar(select(func.count()).select_from(Response).where(Response.id == rid)) == 0


@pytest.mark.parametrize("who", ["wrong", "staff"])
def test_only_enumerators_with_their_password(client, demo, who) -> None:  # type: ignore[no-untyped-def]
    headers = _basic("dieutravien", "sai-mat-khau") if who == "wrong" else _basic("canbo")
    resp = client.get("/odk/formList", headers=headers)
    assert resp.status_code == (401 if who == "wrong" else 403)
    assert b"OpenRosaResponse" in resp.data
