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

Authentication is HTTP Basic (the OpenRosa spec allows Basic over HTTPS): passwords are kept
only as slow hashes, which Digest cannot check. Failed sign-ins are throttled and lock the
account exactly as on the sign-in page. Every answer carries ``X-OpenRosa-Version: 1.0``;
messages (``OpenRosaResponse``) are in the device's language (``Accept-Language``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from datetime import datetime
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

from questionnaires import Questionnaire, load_library
from survey.auth import check_credentials, csrf, refusal_message
from survey.collect.submissions import (
    Scope,
    latest_version,
    parse_time,
    pending,
    plausible_time,
    store_all,
    time_problem,
    validate_answers,
)
from survey.errors import Invalid
from survey.store.db import get_session
from survey.store.models import Assignment, Channel, Role, User, utcnow

bp = Blueprint("openrosa", __name__, url_prefix="/odk")
csrf.exempt(bp)

OPENROSA_VERSION = "1.0"
MAX_SUBMISSION_BYTES = 10 * 1024 * 1024
FORM_ID = re.compile(r"^hailong-a([0-9]{1,9})-[A-Za-z0-9_.-]{1,80}$")
SKIPPED_TYPES = {"note", "calculate"}  # no answer of the respondent's (calculate is recomputed)
META = {"meta", "instanceID", "instanceName", "deprecatedID", "start", "end"}


class Refused(Exception):
    """An OpenRosa refusal: the status and the message Collect shows to the enumerator."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _language() -> str:
    languages = current_app.config["LANGUAGES"]
    return str(request.accept_languages.best_match(languages) or current_app.config["DEFAULT_LANGUAGE"])


def _xml(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, status=status,
                    content_type="text/xml; charset=utf-8")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def _message(text: str, nature: str, status: int, headers: dict[str, str] | None = None) -> Response:
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


def _enumerator() -> User:
    """The enumerator whose Basic credentials came with the request, or a refusal (401/403/429)."""
    challenge = {"WWW-Authenticate": 'Basic realm="Hai Long", charset="UTF-8"'}
    header = request.headers.get("Authorization", "")
    username = password = None
    if header[:6].lower() == "basic " and len(header) < 1000:
        try:
            username, _sep, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = None
    if not username or password is None:
        raise Refused(401, _("Sign in with your enumerator account."), headers=challenge)
    user, refusal = check_credentials(username, password)
    if refusal is not None:
        raise Refused(429, refusal_message(refusal), headers={"Retry-After": str(refusal.retry_after)})
    if user is None:
        raise Refused(401, _("Wrong username or password."), headers=challenge)
    if user.role not in (Role.ENUMERATOR, Role.ADMIN):
        raise Refused(403, _("This account may not submit interviews."))
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
    result = store_all(get_session(), [(scope, item)], precheck=False)[0]
    if result.outcome == "created":
        return _message(_("Stored."), "submit_success", 201)
    if result.outcome == "duplicate":
        return _message(_("Already stored: this submission was received before."), "submit_success", 202)
    if result.outcome == "conflict":
        raise Refused(409, _("Another submission with this id but different content is already stored. "
                             "Nothing was changed."))
    raise Refused(409, _("This dossier code has already been rated. Thank you — each dossier can be rated once."))
