"""ODK Collect, KoboCollect and Enketo as clients: the OpenRosa endpoints under ``/odk``.

An enumerator sets the server URL in ODK Collect to ``https://<host>/odk`` with their own
username and password. The OpenRosa APIs (https://docs.getodk.org/openrosa/) are:

- ``GET /odk/formList`` — the OpenRosa form list: one form per active assignment of the
  enumerator (village × service × questionnaire), so every interview is tied to its assignment;
- ``GET /odk/forms/<form id>/form.xml`` — the XForm, converted by pyxform from the XLSForm
  export (:mod:`questionnaires.xlsform.export`) with ``start``/``end`` metadata added; its
  ``version`` is the questionnaire version, so a form changes version only when the
  questionnaire does;
- ``GET /odk/forms/<form id>/manifest`` — the (empty) media manifest;
- ``HEAD``/``POST /odk/submission`` — the multipart submission (``xml_submission_file``).
  ``meta/instanceID`` is the response id: a re-sent form is a duplicate (``202``), stored once;
  a new one answers ``201``; the same instance with other answers is a conflict (``409``).

Answers are validated by the questionnaire's own form class and stored through the one
store-a-response path (:func:`survey.collect.submissions.store_all`), so they are scored like
every other interview (channel ``enumerator``, with the assignment's unit, service and design).

Authentication: HTTP Digest (RFC 7616, ``qop=auth``, MD5 — what ODK Collect answers by
default) or HTTP Basic (the OpenRosa spec allows both; Basic only over HTTPS). A 401 challenges
with Digest first, then Basic. Passwords are kept as slow Argon2 hashes, which cannot check a
Digest answer, so the Digest secret ``HA1 = MD5(username:realm:password)`` is kept beside it,
sealed with the app's secret key (:mod:`survey.store.odk_media`), and written whenever the
password is checked here (Basic) or at the API token endpoint. An account without one yet gets a
Basic-only challenge after its first Digest try, so Collect signs in with Basic once and Digest
from then on. Nonces are stateless (a time and its HMAC) and go stale after
``DIGEST_NONCE_SECONDS``; a stale nonce is a fresh challenge (``stale=true``), not a failure.
Failed sign-ins of either kind are throttled and lock the account exactly as on the sign-in page;
requests are rate limited per account as the API is (``API_RATE_LIMIT_PER_MINUTE``).

Media: every other part of a submission is an attachment of the interview (a photo, a
recording), kept with the response (:class:`~survey.store.odk_media.ResponseAttachment`) if it is
an image or audio file — the declared type and the file's own first bytes must agree — of at most
``MAX_ATTACHMENT_BYTES``; anything else refuses the submission (400) and nothing is stored. A
submission Collect splits into several requests (``*isIncomplete*``) adds its further files to the
same response. Attachments are never exported nor published.

Every answer carries ``X-OpenRosa-Version: 1.0``; messages (``OpenRosaResponse``) are in the
device's language (``Accept-Language``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from io import BytesIO
from typing import Any
from xml.etree.ElementTree import Element  # noqa: S405 - parsing is done by defusedxml
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeET
from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import Authorization, FileStorage

from questionnaires import Questionnaire, load_library
from survey.auth import address, check_credentials, csrf, locked, refusal_message, throttle
from survey.collect.submissions import (
    Scope,
    entry_allowed,
    latest_version,
    outside_entry_scope,
    parse_time,
    pending,
    plausible_time,
    store_all,
    time_problem,
    validate_answers,
)
from survey.errors import Invalid
from survey.ratelimit import Refusal, limiter, normalize_username
from survey.store.db import get_session
from survey.store.models import Assignment, Channel, Role, User, utcnow
from survey.store.models import Response as StoredResponse
from survey.store.odk_media import DigestSecret, ResponseAttachment

bp = Blueprint("openrosa", __name__, url_prefix="/odk")
csrf.exempt(bp)

OPENROSA_VERSION = "1.0"
MAX_SUBMISSION_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 20
REALM = "Hai Long"
DIGEST_NONCE_SECONDS = 600
# The media ODK Collect records (image, audio widgets), by declared type, with a check of the
# file's own first bytes: the two must agree.
MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("jpeg",), "image/png": ("png",), "image/webp": ("webp",),
    "audio/amr": ("amr",), "audio/3gpp": ("mp4",), "audio/mp4": ("mp4",), "audio/x-m4a": ("mp4",),
    "audio/aac": ("aac", "mp4"), "audio/mpeg": ("mp3",), "audio/ogg": ("ogg",), "audio/wav": ("wav",),
    "audio/x-wav": ("wav",), "audio/webm": ("webm",),
}
FORM_ID = re.compile(r"^hailong-a([0-9]{1,9})-[A-Za-z0-9_.-]{1,80}$")
SKIPPED_TYPES = {"note", "calculate"}  # no answer of the respondent's (calculate is recomputed)
META = {"meta", "instanceID", "instanceName", "deprecatedID", "start", "end"}


class Refused(Exception):
    """An OpenRosa refusal: the status and the message Collect shows to the enumerator."""

    def __init__(self, status: int, message: str, *, headers: list[tuple[str, str]] | dict[str, str] | None = None
                 ) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.headers = list(headers.items()) if isinstance(headers, dict) else list(headers or [])


def _language() -> str:
    languages = current_app.config["LANGUAGES"]
    return str(request.accept_languages.best_match(languages) or current_app.config["DEFAULT_LANGUAGE"])


def _xml(body: str, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    resp = Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, status=status,
                    content_type="text/xml; charset=utf-8")
    for key, value in headers or []:
        resp.headers.add(key, value)
    return resp


def _message(text: str, nature: str, status: int, headers: list[tuple[str, str]] | None = None) -> Response:
    return _xml(f'<OpenRosaResponse xmlns="http://openrosa.org/http/response">'
                f'<message nature="{nature}">{escape(text)}</message></OpenRosaResponse>\n', status, headers)


@bp.errorhandler(Refused)
def _refused(exc: Refused) -> Response:
    return _message(exc.message, "error", exc.status, exc.headers)


@bp.after_request
def _openrosa_headers(resp: Response) -> Response:
    resp.headers["X-OpenRosa-Version"] = OPENROSA_VERSION
    resp.headers.setdefault("Date", utcnow().strftime("%a, %d %b %Y %H:%M:%S GMT"))
    return resp


def _key() -> bytes:
    return str(current_app.config["SECRET_KEY"]).encode()


def _pad(username: str, key: bytes | None = None) -> bytes:
    return hmac.new(key or _key(), f"odk-digest:{username}".encode(), hashlib.sha256).digest()[:16]


def seal_digest(username: str, password: str, key: bytes | None = None) -> str:
    """``HA1 = MD5(username:realm:password)`` sealed with the secret key (hex): XOR with a pad
    that is an HMAC of the username under ``key`` (the app's ``SECRET_KEY`` by default)."""
    ha1 = hashlib.md5(f"{username}:{REALM}:{password}".encode(), usedforsecurity=False).digest()
    return bytes(a ^ b for a, b in zip(ha1, _pad(username, key), strict=True)).hex()


def _unseal(username: str, sealed: str) -> str:
    return bytes(a ^ b for a, b in zip(bytes.fromhex(sealed), _pad(username), strict=True)).hex()


def remember_digest(user: User, password: str) -> None:
    """Keep (or renew) the account's Digest secret after its password was checked."""
    session = get_session()
    sealed = seal_digest(user.username, password)
    row = session.get(DigestSecret, user.id)
    if row is None:
        session.add(DigestSecret(user_id=user.id, sealed_ha1=sealed))
    elif row.sealed_ha1 != sealed:
        row.sealed_ha1, row.updated_at = sealed, utcnow()
    else:
        return
    session.commit()


def _nonce(moment: int | None = None) -> str:
    stamp = str(int(time.time()) if moment is None else moment)
    return f"{stamp}.{hmac.new(_key(), f'odk-nonce:{stamp}'.encode(), hashlib.sha256).hexdigest()[:32]}"


def _nonce_state(nonce: str) -> str:
    """``fresh``, ``stale`` (ours, but too old) or ``forged``."""
    stamp, _dot, _mac = nonce.partition(".")
    if not stamp.isdigit() or len(stamp) > 12 or not hmac.compare_digest(_nonce(int(stamp)), nonce):
        return "forged"
    age = time.time() - int(stamp)
    return "fresh" if -60 <= age <= int(current_app.config.get("DIGEST_NONCE_SECONDS", DIGEST_NONCE_SECONDS)) \
        else "stale"


def _challenge(*, digest: bool = True, stale: bool = False) -> list[tuple[str, str]]:
    out = []
    if digest:
        out.append(("WWW-Authenticate", f'Digest realm="{REALM}", qop="auth", algorithm=MD5, '
                                        f'nonce="{_nonce()}", opaque="hailong"' + (", stale=true" if stale else "")))
    out.append(("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'))
    return out


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _digest_user(auth: Authorization) -> User:
    """The account a Digest answer signs in, or a refusal; failures count as on the sign-in page."""
    raw = auth.username or ""
    nonce, uri, answer = auth.nonce or "", auth.uri or "", auth.response or ""
    qop, nc, cnonce = auth.qop or "", auth.nc or "", auth.cnonce or ""
    if not raw or not nonce or not uri or not answer or auth.realm != REALM or qop not in ("", "auth") \
            or (auth.get("algorithm") or "MD5").upper() != "MD5" or (qop and (not nc or not cnonce)):
        raise Refused(401, _("Sign in with your enumerator account."), headers=_challenge())
    target = request.full_path if request.query_string else request.path
    if uri not in (request.path, target, request.url):
        raise Refused(400, _("The request could not be understood."))
    state = _nonce_state(nonce)
    if state == "forged":
        raise Refused(401, _("Sign in with your enumerator account."), headers=_challenge())
    username, where = normalize_username(raw), address()
    gate = throttle()
    refusal = gate.check(username, where)
    if refusal is not None:
        raise Refused(429, refusal_message(refusal), headers={"Retry-After": str(refusal.retry_after)})
    session = get_session()
    user = session.scalar(select(User).where(User.username == username))
    if locked(user, where):
        assert user is not None and user.locked_until is not None  # noqa: S101 - locked() checked it
        until = user.locked_until if user.locked_until.tzinfo else user.locked_until.replace(tzinfo=UTC)
        seconds = max(1, int((until - utcnow()).total_seconds()) + 1)
        raise Refused(429, refusal_message(Refusal("locked", seconds)), headers={"Retry-After": str(seconds)})
    secret = session.get(DigestSecret, user.id) if user is not None else None
    if user is not None and user.active and secret is None:
        # No Digest secret yet (the password was never checked since it was set): Basic once.
        raise Refused(401, _("Sign in with your enumerator account."), headers=_challenge(digest=False))
    if user is not None and user.active and secret is not None:
        ha1 = _unseal(user.username, secret.sealed_ha1)
        ha2 = _md5(f"{request.method}:{uri}")
        expected = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}" if qop else f"{ha1}:{nonce}:{ha2}")
        if hmac.compare_digest(expected, answer.lower()):
            if state == "stale":
                raise Refused(401, _("Sign in with your enumerator account."), headers=_challenge(stale=True))
            gate.succeeded(username, where)
            return user
    if gate.failed(username, where) and user is not None:
        user.locked_until = utcnow() + timedelta(hours=1)
        session.commit()
        current_app.logger.warning("account locked after repeated failed sign-ins (user id %s)", user.id)
    raise Refused(401, _("Wrong username or password."), headers=_challenge())


def _basic_user(header: str) -> User:
    username = password = None
    if len(header) < 1000:
        try:
            username, _sep, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = None
    if not username or password is None:
        raise Refused(401, _("Sign in with your enumerator account."), headers=_challenge())
    user, refusal = check_credentials(username, password)
    if refusal is not None:
        raise Refused(429, refusal_message(refusal), headers={"Retry-After": str(refusal.retry_after)})
    if user is None:
        raise Refused(401, _("Wrong username or password."), headers=_challenge())
    remember_digest(user, password)
    return user


def _enumerator() -> User:
    """The enumerator whose Digest or Basic credentials came with the request, or a refusal
    (401 with both challenges, 403, 429 with Retry-After)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "digest " and len(header) < 4000:
        auth = Authorization.from_header(header)
        if auth is None:
            raise Refused(401, _("Sign in with your enumerator account."), headers=_challenge())
        user = _digest_user(auth)
    elif header[:6].lower() == "basic ":
        user = _basic_user(header)
    else:
        raise Refused(401, _("Sign in with your enumerator account."), headers=_challenge())
    if user.role not in (Role.ENUMERATOR, Role.ADMIN):
        raise Refused(403, _("This account may not submit interviews."))
    per_minute = limiter.per(int(current_app.config["API_RATE_LIMIT_PER_MINUTE"]))
    if not limiter.hit(per_minute, f"odk:{user.id}"):
        raise Refused(429, _("Too many requests. Please wait a moment."),
                      headers={"Retry-After": str(limiter.retry_after(per_minute, f"odk:{user.id}"))})
    return user


def form_id(assignment: Assignment) -> str:
    return f"hailong-a{assignment.id}-{assignment.questionnaire_id}"


def _assignments(user: User) -> list[Assignment]:
    return list(get_session().scalars(select(Assignment).where(
        Assignment.user_id == user.id, Assignment.active.is_(True)).order_by(Assignment.id)))


def _assignment(user: User, formid: str | None) -> Assignment:
    match = FORM_ID.match(formid or "")
    assignment = get_session().get(Assignment, int(match.group(1))) if match else None
    if (assignment is None or assignment.user_id != user.id or not assignment.active
            or formid != form_id(assignment)):
        raise Refused(403, _("This assignment is not yours."))
    if not entry_allowed(user, assignment):  # ODK Collect shows the message and keeps the form to send later
        raise Refused(403, outside_entry_scope())
    return assignment


def _title(assignment: Assignment, questionnaire: Questionnaire) -> str:
    return f"{questionnaire.title.get('vi')} — {assignment.unit.name} · {assignment.service.name('vi')}"


@lru_cache(maxsize=128)
def _xform(questionnaire_id: str, version: str, content_hash: str, formid: str, title: str) -> bytes:
    """The XForm pyxform makes of the questionnaire's XLSForm export (cached per content)."""
    from pyxform.xls2xform import convert

    from questionnaires.xlsform.export import to_workbook

    questionnaire = load_library()[(questionnaire_id, version)]
    assert questionnaire.content_hash == content_hash  # noqa: S101 - published versions never change
    book = to_workbook(questionnaire)
    survey = book["survey"]
    header = [c.value for c in survey[1]]
    survey.insert_rows(2, 2)
    for row, kind in ((2, "start"), (3, "end")):
        survey.cell(row, header.index("type") + 1, kind)
        survey.cell(row, header.index("name") + 1, kind)
    settings = book["settings"]
    keys = [c.value for c in settings[1]]
    settings.cell(2, keys.index("form_id") + 1, formid)
    settings.cell(2, keys.index("form_title") + 1, title)
    buffer = BytesIO()
    book.save(buffer)
    return convert(xlsform=buffer.getvalue(), file_type=".xlsx", validate=False).xform.encode("utf-8")


def xform(assignment: Assignment, questionnaire: Questionnaire | None = None) -> bytes:
    questionnaire = questionnaire or latest_version(assignment.questionnaire_id)
    return _xform(questionnaire.id, questionnaire.version, questionnaire.content_hash, form_id(assignment),
                  _title(assignment, questionnaire))


@bp.get("/formList")
def form_list() -> Response:
    """The OpenRosa form list: the enumerator's active assignments (``?formID=`` filters)."""
    with force_locale(_language()):
        user = _enumerator()
    wanted = request.args.get("formID")
    items = []
    for assignment in _assignments(user):
        if not entry_allowed(user, assignment):
            continue  # outside the account's data-entry unit: not offered
        fid = form_id(assignment)
        if wanted and wanted != fid:
            continue
        questionnaire = latest_version(assignment.questionnaire_id)
        digest = hashlib.md5(xform(assignment, questionnaire), usedforsecurity=False).hexdigest()
        items.append(
            f"<xform><formID>{escape(fid)}</formID><name>{escape(_title(assignment, questionnaire))}</name>"
            f"<version>{escape(questionnaire.version)}</version><hash>md5:{digest}</hash>"
            f"<downloadUrl>{escape(url_for('openrosa.download', formid=fid, _external=True))}</downloadUrl>"
            f"<manifestUrl>{escape(url_for('openrosa.manifest', formid=fid, _external=True))}</manifestUrl>"
            "</xform>")
    return _xml('<xforms xmlns="http://openrosa.org/xforms/xformsList">' + "".join(items) + "</xforms>\n")


@bp.get("/forms/<formid>/form.xml")
def download(formid: str) -> Response:
    with force_locale(_language()):
        assignment = _assignment(_enumerator(), formid)
        return Response(xform(assignment), content_type="text/xml; charset=utf-8")


@bp.get("/forms/<formid>/manifest")
def manifest(formid: str) -> Response:
    """The media manifest: the export has no media files, so it lists none."""
    with force_locale(_language()):
        _assignment(_enumerator(), formid)
    return _xml('<manifest xmlns="http://openrosa.org/xforms/xformsManifest"></manifest>\n')


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _leaves(root: Element) -> dict[str, str]:
    """Every leaf element's text by its local name (names are unique in an XLSForm)."""
    out: dict[str, str] = {}
    for element in root.iter():
        if element is not root and len(element) == 0:
            out[_local(element.tag)] = (element.text or "").strip()
    return out


def response_id(instance_id: str) -> uuid.UUID:
    """``uuid:…`` → that UUID; any other instance id → a UUID derived from it (stable)."""
    text = instance_id.strip()
    try:
        return uuid.UUID(text[5:] if text.lower().startswith("uuid:") else text)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, "openrosa:" + text)


def _answers(questionnaire: Questionnaire, leaves: dict[str, str]) -> dict[str, Any]:
    types = {q.id: q.type for q in questionnaire.questions}
    answers: dict[str, Any] = {}
    for name, text in leaves.items():
        kind = types.get(name)
        if name in META or kind in SKIPPED_TYPES or text == "":
            continue
        if kind == "multiple":
            answers[name] = text.split()
        elif kind == "consent":
            answers[name] = text == "OK"
        else:
            answers[name] = text
    return answers


@bp.route("/submission", methods=["HEAD", "POST"])
def submission() -> Response:
    language = _language()
    with force_locale(language):
        user = _enumerator()
        if request.method == "HEAD":
            return Response(status=204, headers={"X-OpenRosa-Accept-Content-Length": str(MAX_SUBMISSION_BYTES)})
        return _submit(user, language)


def _submit(user: User, language: str) -> Response:
    if (request.content_length or 0) > MAX_SUBMISSION_BYTES:
        raise Refused(413, _("This submission is too large."))
    part = request.files.get("xml_submission_file")
    if part is None:
        raise Refused(400, _("The submission has no xml_submission_file part."))
    try:
        root = SafeET.fromstring(part.read(MAX_SUBMISSION_BYTES + 1))
    except Exception:  # noqa: BLE001 - defusedxml raises parse errors and its own refusals
        raise Refused(400, _("The submitted form is not valid XML.")) from None
    assignment = _assignment(user, root.get("id"))
    version = root.get("version")
    questionnaire = load_library().get((assignment.questionnaire_id, version or ""))
    if questionnaire is None:
        raise Refused(400, _("Unknown questionnaire version."))
    leaves = _leaves(root)
    instance = leaves.get("instanceID", "")
    if not instance or len(instance) > 64:
        raise Refused(400, _("The submitted form has no instanceID."))
    if leaves.get("deprecatedID"):  # an edit of a sent form would be counted twice: not taken
        raise Refused(409, _("Editing a form that was already sent is not supported: ask a supervisor to "
                             "correct the stored interview."))
    times: dict[str, Any] = {}
    for key in ("start", "end"):
        if leaves.get(key):
            try:
                if datetime.fromisoformat(leaves[key].replace("Z", "+00:00")).tzinfo is None:
                    raise Refused(400, _("A date and time needs its offset from UTC (e.g. +07:00)."))
                times[key] = parse_time(leaves[key])
            except (ValueError, TypeError, OverflowError):
                raise Refused(400, _("Enter a date and time in ISO 8601 format.")) from None
            if not plausible_time(times[key]):
                raise Refused(400, time_problem())
    try:
        answers = validate_answers(questionnaire, _answers(questionnaire, leaves), language)
    except Invalid as exc:
        details = "; ".join(f"{k.removeprefix('answers.')}: {v}" for k, v in sorted(exc.fields.items()))
        raise Refused(400, f"{exc.message} {details}".strip()) from None
    scope = Scope(channel=Channel.ENUMERATOR, unit_id=assignment.unit_id, questionnaire_id=assignment.questionnaire_id,
                  services={assignment.service.code: assignment.service_id}, user_id=user.id,
                  assignment_id=assignment.id)
    paradata: dict[str, Any] = {"app_version": "openrosa", "questionnaire_version": questionnaire.version}
    agent = request.headers.get("User-Agent", "")[:300]
    if agent:
        paradata["user_agent"] = agent
    for key, name in (("start", "started_at"), ("end", "ended_at")):
        if key in times:
            paradata[name] = times[key].isoformat()
    item = pending(scope, questionnaire, assignment.service_id, answers, response_id(instance),
                   started_at=times.get("start"), submitted_at=times.get("end"), paradata=paradata)
    media = _attachments()
    result = store_all(get_session(), [(scope, item)], precheck=False)[0]
    if result.outcome in ("created", "duplicate") and media:
        _keep(result.response_id, media)
    if result.outcome == "created":
        return _message(_("Stored."), "submit_success", 201)
    if result.outcome == "duplicate":
        return _message(_("Already stored: this submission was received before."), "submit_success", 202)
    if result.outcome == "conflict":
        raise Refused(409, _("Another submission with this id but different content is already stored. "
                             "Nothing was changed."))
    raise Refused(409, _("This dossier code has already been rated. Thank you — each dossier can be rated once."))


def _sniff(data: bytes) -> str | None:
    """What a media file's first bytes say it is."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] in (b"WEBP", b"WAVE"):
        return "webp" if data[8:12] == b"WEBP" else "wav"
    if data[:5] == b"#!AMR":
        return "amr"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xF6 == 0xF0:
        return "aac"  # ADTS
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def _attachments() -> list[tuple[str, str, bytes]]:
    """The media parts of the submission (name, type, bytes), each checked, or a refusal."""
    out: list[tuple[str, str, bytes]] = []
    for key, part in request.files.items(multi=True):
        if key == "xml_submission_file" or not isinstance(part, FileStorage):
            continue
        name = (part.filename or key).replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
        data = part.read(MAX_ATTACHMENT_BYTES + 1)
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise Refused(413, _("The file %(name)s is too large (at most %(mb)s MB).", name=name,
                                 mb=MAX_ATTACHMENT_BYTES // (1024 * 1024)))
        declared = (part.mimetype or "").lower()
        kinds = MEDIA_TYPES.get(declared, ())
        if not name or "\x00" in name or _sniff(data) not in kinds:
            raise Refused(400, _("The file %(name)s is not a photo or a sound recording this server accepts "
                                 "(JPEG, PNG, WebP; AMR, AAC, MP3, MP4/M4A, Ogg, WAV, WebM).", name=name or "?"))
        out.append((name, declared, data))
    if len(out) > MAX_ATTACHMENTS:
        raise Refused(413, _("A submission may carry at most %(n)s files.", n=MAX_ATTACHMENTS))
    return out


def _keep(response_id: uuid.UUID, media: list[tuple[str, str, bytes]]) -> None:
    """Store the files not already kept with the response (a re-sent or split submission)."""
    session = get_session()
    if session.get(StoredResponse, response_id) is None:
        return
    have = set(session.scalars(select(ResponseAttachment.name).where(ResponseAttachment.response_id == response_id)))
    for name, kind, data in media:
        if name not in have:
            have.add(name)
            session.add(ResponseAttachment(response_id=response_id, name=name, content_type=kind, size=len(data),
                                           sha256=hashlib.sha256(data).hexdigest(), data=data))
    session.commit()
