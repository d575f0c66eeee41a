"""ODK Collect's HTTP Digest sign-in and the media files of its submissions (issue 14 point 8):
requests shaped as Collect sends them — a 401 challenge, then Digest (RFC 7616, qop=auth, MD5,
``nc``/``cnonce``) or Basic; a multipart submission with ``xml_submission_file`` and one part per
photo or recording, named by its file name — on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import time
import uuid
from typing import Any

from defusedxml import ElementTree as SafeET
from sqlalchemy import func, select

from survey.collect import openrosa
from survey.store.models import Assignment, Response
from survey.store.odk_media import DigestSecret, ResponseAttachment
from tests.channels.test_openrosa import ANSWERS, COLLECT, LIST, _basic, _instance

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4 + b"\xff\xd9"
AMR = b"#!AMR\n" + bytes(600)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _challenges(resp: Any) -> list[str]:
    return resp.headers.getlist("WWW-Authenticate")


def _digest(challenge: str, method: str, uri: str, username: str = "dieutravien", password: str = "hailong-demo",
            nc: int = 1) -> dict[str, str]:
    """The Authorization header Collect's digest authenticator (okhttp-digest) sends."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.removeprefix("Digest ")))
    cnonce = secrets.token_hex(8)
    ha1 = _md5(f"{username}:{params['realm']}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    answer = _md5(f"{ha1}:{params['nonce']}:{nc:08x}:{cnonce}:auth:{ha2}")
    header = (f'Digest username="{username}", realm="{params["realm"]}", nonce="{params["nonce"]}", uri="{uri}", '
              f'response="{answer}", qop=auth, nc={nc:08x}, cnonce="{cnonce}", algorithm=MD5, '
              f'opaque="{params.get("opaque", "")}"')
    return {**COLLECT, "Authorization": header}


def _signed_in(client: Any, method: str, uri: str, **kwargs: Any) -> Any:
    """One request as Collect makes it: unauthenticated first, then Digest on the 401's challenge."""
    first = getattr(client, method.lower())(uri, headers=COLLECT, **kwargs.get("first", {}))
    assert first.status_code == 401
    challenge = next(c for c in _challenges(first) if c.startswith("Digest "))
    return getattr(client, method.lower())(uri, headers=_digest(challenge, method, uri, **kwargs.get("who", {})),
                                           **kwargs.get("send", {}))


def test_digest_after_one_basic_sign_in_and_refusals(client: Any, db: Any, demo: str, app: Any) -> None:
    anonymous = client.get("/odk/formList", headers=COLLECT)
    offered = _challenges(anonymous)
    assert anonymous.status_code == 401 and [c.split()[0] for c in offered] == ["Digest", "Basic"]
    assert 'qop="auth"' in offered[0] and 'realm="Hai Long"' in offered[0]
    # No Digest secret yet (the password was never checked since it was set): a Basic-only challenge.
    nosecret = client.get("/odk/formList", headers=_digest(offered[0], "GET", "/odk/formList"))
    assert nosecret.status_code == 401 and [c.split()[0] for c in _challenges(nosecret)] == ["Basic"]
    assert client.get("/odk/formList", headers=_basic()).status_code == 200  # Basic once: the secret is kept
    sealed = db.scalar(select(DigestSecret.sealed_ha1))
    ha1 = _md5("dieutravien:Hai Long:hailong-demo")
    assert sealed and ha1 not in sealed and len(sealed) == 32  # sealed with the secret key, not HA1 itself
    listed = _signed_in(client, "GET", "/odk/formList")
    assert listed.status_code == 200 and listed.headers["X-OpenRosa-Version"] == "1.0"
    assert len(SafeET.fromstring(listed.data).findall(f"{LIST}xform")) == 4
    wrong = _signed_in(client, "GET", "/odk/formList", who={"password": "sai-mat-khau"})
    assert wrong.status_code == 401 and b"OpenRosaResponse" in wrong.data
    staff = _signed_in(client, "GET", "/odk/formList", who={"username": "canbo"})
    assert staff.status_code == 401  # staff never signed in here: no secret, Basic-only challenge
    elsewhere = client.get("/odk/formList", headers=_digest(offered[0], "GET", "/odk/forms/x/manifest"))
    assert elsewhere.status_code == 400  # an answer computed for another address is not replayed here
    forged = offered[0].replace('nonce="', 'nonce="1')
    assert client.get("/odk/formList", headers=_digest(forged, "GET", "/odk/formList")).status_code == 401
    with app.test_request_context():
        old = openrosa._nonce(int(time.time()) - 3600)
    stale = client.get("/odk/formList", headers=_digest(f'Digest realm="Hai Long", nonce="{old}"', "GET",
                                                        "/odk/formList"))
    assert stale.status_code == 401 and "stale=true" in _challenges(stale)[0]  # a fresh nonce, not a failure


def test_digest_failures_are_throttled_as_on_the_sign_in_page(client: Any, db: Any, demo: str) -> None:
    assert client.get("/odk/formList", headers=_basic()).status_code == 200
    statuses = [_signed_in(client, "GET", "/odk/formList", who={"password": f"sai-{n}"}).status_code
                for n in range(4)]
    assert statuses == [401, 401, 401, 429]  # 3 failures a minute for one account from one address


def _media_post(client: Any, uri: str, body: bytes, files: dict[str, tuple[bytes, str]], challenge: str) -> Any:
    data: dict[str, Any] = {"xml_submission_file": (io.BytesIO(body), "submission.xml", "text/xml")}
    for name, (content, kind) in files.items():
        data[name] = (io.BytesIO(content), name, kind)
    return client.post(uri, headers=_digest(challenge, "POST", uri), content_type="multipart/form-data", data=data)


def test_a_submission_with_a_photo_and_a_recording_over_digest(client: Any, db: Any, demo: str,
                                                               monkeypatch: Any) -> None:
    assert client.get("/odk/formList", headers=_basic()).status_code == 200
    forms = {x.findtext(f"{LIST}formID"): x.findtext(f"{LIST}downloadUrl") for x in SafeET.fromstring(
        client.get("/odk/formList", headers=_basic()).data).findall(f"{LIST}xform")}
    fid, url = next((f, u) for f, u in forms.items() if f.endswith("-sipas-kiosk"))
    xform = client.get(url, headers=_basic()).data
    challenge = next(c for c in _challenges(client.head("/odk/submission", headers=COLLECT)) if c.startswith("Digest"))
    head = client.head("/odk/submission", headers=_digest(challenge, "HEAD", "/odk/submission"))
    assert head.status_code == 204
    now = "2026-12-01T09:30:00.000+07:00"
    rid = uuid.uuid4()
    body = _instance(xform, {**ANSWERS, "start": now, "end": now}, f"uuid:{rid}")
    before = db.scalar(select(func.count()).select_from(Response))

    bad = {"1733040000000.jpg": (b"<html>not a photo</html>", "image/jpeg")}
    refused = _media_post(client, "/odk/submission", body, bad, challenge)
    assert refused.status_code == 400 and b"1733040000000.jpg" in refused.data
    renamed = {"song.mp3": (JPEG, "audio/mpeg")}  # the declared type and the bytes disagree
    assert _media_post(client, "/odk/submission", body, renamed, challenge).status_code == 400
    with monkeypatch.context() as patch:  # (the test client spools bigger bodies to files)
        patch.setattr(openrosa, "MAX_ATTACHMENT_BYTES", 4096)
        big = {"big.jpg": (JPEG + bytes(4096), "image/jpeg")}
        assert _media_post(client, "/odk/submission", body, big, challenge).status_code == 413
    assert db.scalar(select(func.count()).select_from(Response)) == before  # nothing stored

    media = {"1733040000000.jpg": (JPEG, "image/jpeg"), "1733040001111.amr": (AMR, "audio/amr")}
    first = _media_post(client, "/odk/submission", body, media, challenge)
    assert first.status_code == 201, first.data.decode()
    more = {"1733040000000.jpg": (JPEG, "image/jpeg"), "1733040002222.jpg": (JPEG[:-2] + b"\x00\xff\xd9", "image/jpeg")}
    again = _media_post(client, "/odk/submission", body, more, challenge)  # Collect's second part of a split send
    assert again.status_code == 202
    assert db.scalar(select(func.count()).select_from(Response).where(Response.id == rid)) == 1
    kept = {a.name: a for a in db.scalars(select(ResponseAttachment).where(ResponseAttachment.response_id == rid))}
    assert set(kept) == {"1733040000000.jpg", "1733040001111.amr", "1733040002222.jpg"}
    assert kept["1733040000000.jpg"].data == JPEG and kept["1733040001111.amr"].content_type == "audio/amr"
    assert kept["1733040000000.jpg"].sha256 == hashlib.sha256(JPEG).hexdigest() and kept["1733040001111.amr"].size == len(AMR)

    # Never in the analysts' files.
    from tests.conftest import StaffActions

    assignment = db.get(Assignment, int(fid.split("-")[1][1:]))
    StaffActions(client).login()
    export = client.get(f"/staff/export.csv?questionnaire=sipas-kiosk&unit={assignment.unit.code}")
    assert export.status_code == 200 and str(rid).encode() in export.data
    assert b"1733040000000" not in export.data and b"JFIF" not in export.data and b"AMR" not in export.data
