"""Public survey links, QR posters for the desk, and signed receipt tokens.

Every unit × service has a public link ``/s/<unit>/<service>`` and a printable QR poster
(``qr.png``, ``qr.svg``, ``qr.pdf``, and an HTML poster page). A receipt (phiếu hẹn) can carry a
QR of ``/r/<token>``: the token holds the unit, service and dossier code, encrypted and
authenticated with AES-GCM under a key derived from the secret key (HKDF-SHA256), so nobody
reads the dossier code out of a receipt address (in a proxy's log, a browser history, a photo
of the QR) and a changed token is refused: nobody can rate on behalf of another unit.

Tokens of earlier versions (``itsdangerous``-signed, readable) are printed on receipts that
citizens already hold, so they stay valid — still checked against the secret key — but no new
one is made.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select

from survey.auth import csrf
from survey.collect.case_intake import comment_questions, open_from_form
from survey.collect.forms import answers_from_form, build_form
from survey.collect.responses import dossier_key
from survey.collect.submissions import Scope, store_checked
from survey.errors import AppError, NotFound, TooManyRequests, wants_json
from survey.i18n import current_language
from survey.ratelimit import limiter
from survey.store import dossier_keys
from survey.store.catalogue import latest
from survey.store.db import get_session
from survey.store.models import Channel, Desk, Service, Unit, utcnow
from survey.store.models import Response as StoredResponse

bp = Blueprint("links", __name__)
DEFAULT_QUESTIONNAIRE = "sipas-kiosk"
QR_FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


@dataclass(frozen=True)
class Receipt:
    unit_code: str
    service_code: str
    dossier: str


RECEIPT_PREFIX = "2."  # version of the token format; earlier tokens (signed only) have none
_AAD = b"hailong-receipt-v2"


def _serializer() -> URLSafeSerializer:
    """The earlier, signed-only format (still read, never made)."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="hailong-receipt")


def _cipher() -> AESGCM:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_AAD).derive(secret)
    return AESGCM(key)


def make_receipt(unit_code: str, service_code: str, dossier: str) -> str:
    """An encrypted, authenticated token for a receipt QR: unit, service and dossier code."""
    nonce = os.urandom(12)
    plain = json.dumps({"u": unit_code, "s": service_code, "d": dossier}, separators=(",", ":")).encode("utf-8")
    sealed = nonce + _cipher().encrypt(nonce, plain, _AAD)
    return RECEIPT_PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def _open(token: str) -> Any:
    body = token.removeprefix(RECEIPT_PREFIX)
    try:
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if len(sealed) < 12 + 16:
            return None
        return json.loads(_cipher().decrypt(sealed[:12], sealed[12:], _AAD))
    except (binascii.Error, ValueError, InvalidTag):
        return None


def read_receipt(token: str) -> Receipt | None:
    """The receipt in ``token``, or None if it was changed, made with another key or is not a
    receipt token (a token of the earlier signed-only format is still read)."""
    if not isinstance(token, str) or len(token) > 500:
        return None
    if token.startswith(RECEIPT_PREFIX):
        data = _open(token)
    else:
        try:
            data = _serializer().loads(token)
        except BadSignature:
            return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("u", "s", "d")):
        return None
    return Receipt(data["u"], data["s"], data["d"])


def _unit_service(unit_code: str, service_code: str) -> tuple[Unit, Service]:
    session = get_session()
    unit = session.scalar(select(Unit).where(Unit.code == unit_code))
    service = session.scalar(select(Service).where(Service.code == service_code))
    if unit is None or service is None or service not in unit.services:
        raise NotFound(_("This survey link is not valid. Please check the address on the poster."))
    return unit, service


def _questionnaire_id(unit: Unit) -> str:
    desk = get_session().scalar(select(Desk).where(Desk.unit_id == unit.id, Desk.active.is_(True)).order_by(Desk.id))
    return desk.questionnaire_id if desk is not None else DEFAULT_QUESTIONNAIRE


def public_url(unit: Unit, service: Service) -> str:
    return url_for("links.survey", unit_code=unit.code, service_code=service.code, _external=True)


def _survey(unit: Unit, service: Service, receipt: Receipt | None) -> Any:
    questionnaire = latest(_questionnaire_id(unit))
    language = current_language()
    form = build_form(questionnaire, language)()
    dossier_field = next((q.id for q in questionnaire.questions if q.type == "dossier_code"), None)
    if receipt is not None and dossier_field:
        form[dossier_field].data = receipt.dossier  # from the signed token, not from the form
    status = 200
    notice = None
    if request.method == "POST" and not limiter.allow(
            f"web:{request.remote_addr}", int(current_app.config["LINK_PER_ADDRESS_PER_MINUTE"])):
        # Refused for now, but nothing is lost: the page comes back with the answers as sent.
        notice = _("Many ratings were just sent from this network. Your answers are kept below: please wait a "
                   "minute and press “Send my rating” again.")
        status = 429
    elif request.method == "POST":
        if receipt is not None and dossier_field:
            form[dossier_field].raw_data = [receipt.dossier]
            form[dossier_field].data = receipt.dossier
        if form.validate():
            if receipt is not None and dossier_field:
                form[dossier_field].data = receipt.dossier
            try:
                response_id = uuid.UUID(request.form.get("submission_id", ""))
            except ValueError:
                response_id = uuid.uuid4()
            scope = Scope(channel=Channel.WEB, unit_id=unit.id, questionnaire_id=questionnaire.id,
                          services={service.code: service.id})
            answers = answers_from_form(questionnaire, form)
            result = store_checked(get_session(), scope, questionnaire, service.id,
                                   answers, response_id, flag=_link_flag(unit))
            if result.outcome == "dossier_used" and dossier_field:
                form[dossier_field].errors = [
                    _("This dossier code has already been rated. Thank you — each dossier can be rated once.")]
                status = 409
            else:
                code = open_from_form(get_session(), questionnaire, answers, unit_id=unit.id,
                                      channel="receipt" if receipt is not None else "web",
                                      response_id=result.response_id)
                if code:
                    flask_session["link_case"] = code
                return redirect(url_for("links.thanks", unit=unit.code), code=303)
        else:
            status = 400
            if "csrf_token" in form.errors:
                notice = _("This page was open for a long time, so it could not be sent safely. Your answers are kept "
                           "below: please press “Send my rating” again.")
                form["csrf_token"].errors = []
                form._errors = None  # recomputed without the token's error
    if status == 429 and wants_json():  # a client asking for JSON gets the one error shape (errors.py)
        raise TooManyRequests(notice or "")
    headers = {"Retry-After": "60"} if status == 429 else {}
    used = receipt is not None and status == 200 and _receipt_used(questionnaire.id, receipt)
    return render_template("links/survey.html", unit=unit, service=service, questionnaire=questionnaire, form=form,
                           language=language, receipt=receipt, dossier_field=dossier_field, notice=notice,
                           receipt_used=used, has_comment=bool(comment_questions(questionnaire)),
                           submission_id=request.form.get("submission_id") or uuid.uuid4()), status, headers


def _receipt_used(questionnaire_id: str, receipt: Receipt) -> bool:
    """Has this receipt's dossier been rated already (under any dossier key)? Said before the
    citizen answers, not after."""
    ring = dossier_keys.keyring(current_app)
    keys = [dossier_key(secret, questionnaire_id, receipt.dossier) for secret in ring.secrets()]
    return get_session().scalar(select(StoredResponse.id).where(
        StoredResponse.questionnaire_id == questionnaire_id, StoredResponse.dossier_key.in_(keys)).limit(1)) is not None


def _link_flag(unit: Unit) -> str | None:
    """``link_rate`` when the unit's public link received more than ``LINK_REVIEW_PER_HOUR``
    ratings in the last hour: the rest of that hour's ratings wait for review (ballot stuffing)."""
    limit = int(current_app.config["LINK_REVIEW_PER_HOUR"])
    since = utcnow() - timedelta(hours=1)
    recent = get_session().scalar(select(func.count()).select_from(StoredResponse).where(
        StoredResponse.unit_id == unit.id, StoredResponse.channel == Channel.WEB, StoredResponse.received_at >= since)) or 0
    return "link_rate" if recent >= limit else None


@bp.route("/s/<unit_code>/<service_code>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so an expired one comes back with the answers kept
def survey(unit_code: str, service_code: str) -> Any:
    """The public survey of one unit and service (no sign-in)."""
    unit, service = _unit_service(unit_code, service_code)
    return _survey(unit, service, None)


def _receipt_place(token: str) -> tuple[Receipt, Unit, Service]:
    """A receipt token's dossier, unit and service, for its survey and for its QR code alike: a
    changed token is refused (400), and so (404) is one whose unit does not, or no longer, offer
    its service — both with the receipt's own message, never the poster's."""
    receipt = read_receipt(token)
    if receipt is None:
        raise AppError(_("This QR code is not valid. Please use the QR code printed on your receipt."))
    try:
        unit, service = _unit_service(receipt.unit_code, receipt.service_code)
    except NotFound:
        raise NotFound(_("This QR code is not valid. Please use the QR code printed on your receipt.")) from None
    return receipt, unit, service


@bp.route("/r/<token>", methods=["GET", "POST"])
@csrf.exempt  # as above: the form's own token check keeps the answers
def receipt_survey(token: str) -> Any:
    """The survey opened from a receipt QR: unit, service and dossier come from the signed token."""
    receipt, unit, service = _receipt_place(token)
    return _survey(unit, service, receipt)


@bp.route("/s/thanks")
def thanks() -> Any:
    # the unit only picks the results link (the portal shows nothing unpublished)
    return render_template("links/thanks.html", unit_code=request.args.get("unit", "")[:40],
                           case_code=flask_session.pop("link_case", None))


def qr_bytes(content: str, fmt: str, title: str = "") -> bytes:
    """A QR code of ``content`` as PNG, SVG or PDF bytes."""
    qr = segno.make(content, error="m")
    out = io.BytesIO()
    if fmt == "png":
        qr.save(out, kind="png", scale=12, border=4)
    elif fmt == "svg":
        qr.save(out, kind="svg", scale=10, border=4, title=title or None, xmldecl=False)
    elif fmt == "pdf":
        qr.save(out, kind="pdf", scale=10, border=4)
    else:
        raise NotFound(_("Unknown format."))
    return out.getvalue()


@bp.route("/s/<unit_code>/<service_code>/qr.<fmt>")
def qr(unit_code: str, service_code: str, fmt: str) -> Any:
    """The QR code of the public link, for printing (PNG, SVG or PDF)."""
    unit, service = _unit_service(unit_code, service_code)
    if fmt not in QR_FORMATS:
        raise NotFound(_("Unknown format."))
    body = qr_bytes(public_url(unit, service), fmt, title=f"{unit.name} · {service.name(current_language())}")
    return Response(body, mimetype=QR_FORMATS[fmt], headers={
        "Content-Disposition": f'inline; filename="qr-{unit.code}-{service.code}.{fmt}"'})


@bp.route("/s/<unit_code>/<service_code>/poster")
def poster(unit_code: str, service_code: str) -> Any:
    """A printable A4 poster for the desk: the invitation, the QR code and the link."""
    unit, service = _unit_service(unit_code, service_code)
    url = public_url(unit, service)
    svg = qr_bytes(url, "svg").decode("utf-8")
    return render_template("links/poster.html", unit=unit, service=service, url=url, svg=svg)


@bp.route("/r/<token>/qr.<fmt>")
def receipt_qr(token: str, fmt: str) -> Any:
    """The QR code for a receipt token (for the desk's receipt printer): only for a token its
    survey would open."""
    _receipt_place(token)
    if fmt not in QR_FORMATS:
        raise NotFound(_("Unknown format."))
    body = qr_bytes(url_for("links.receipt_survey", token=token, _external=True), fmt)
    return Response(body, mimetype=QR_FORMATS[fmt])
