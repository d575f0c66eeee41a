"""The one-stop-desk kiosk: a citizen rates the service just received, then the kiosk resets.

Pages are never cached by the browser and the thank-you screen replaces the history entry, so
nothing of the previous citizen can be reached with the back button. The start screen returns
by itself after ``KIOSK_RETURN_SECONDS`` on the thank-you screen and after
``KIOSK_IDLE_SECONDS`` idle.

A tablet becomes a desk's kiosk by opening the address staff get when they register the device
(:mod:`survey.staff.desks`): ``/kiosk/<desk>#device=<token>``. The token is in the fragment, which
the browser never sends: ``kiosk.js`` posts it once in the ``X-Device-Token`` header to
``/kiosk/<desk>/bind``, which keeps it in an HttpOnly, SameSite=Strict cookie — so no device
token ever appears in an address, a proxy's or the server's access log. (``?device=`` addresses
of older versions are refused with a message.) A signed-in staff member's browser also works as a kiosk.
Ratings from any other browser are refused when ``KIOSK_REQUIRE_DEVICE`` is set, else stored
with the flag ``unregistered``. Each rating carries an id made on the tablet, so the offline
queue of ``kiosk.js`` can re-send it safely.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from survey.auth import csrf
from survey.collect import credentials
from survey.collect.case_intake import comment_questions, open_from_form
from survey.collect.forms import answers_from_form, build_form
from survey.collect.quality import note_dossier_attempt
from survey.collect.serviceworker import service_worker as offline_service_worker
from survey.collect.submissions import (
    desk_scope,
    desk_services,
    parse_time,
    plausible_time,
    store_checked,
    time_problem,
)
from survey.errors import DeviceRequired, NotFound, TooManyRequests
from survey.i18n import current_language
from survey.ratelimit import limiter
from survey.store.catalogue import latest
from survey.store.db import get_session
from survey.store.models import Credential, Desk, Role, Service, utcnow

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
DEVICE_COOKIE = "hailong_kiosk_device"
CASE_CODE_SECONDS = 60  # the thank-you screen with a case code stays this long


@bp.after_request
def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    return response


def _desk(desk_code: str) -> Desk:
    desk = get_session().scalar(select(Desk).where(Desk.code == desk_code, Desk.active.is_(True)))
    if desk is None:
        raise NotFound(_("This kiosk is not registered. Please ask the staff at the desk."))
    return desk


def _device(desk: Desk) -> Credential | None:
    cred = credentials.authenticate(get_session(), request.cookies.get(DEVICE_COOKIE))
    return cred if cred is not None and cred.desk_id == desk.id else None


def _staff_browser() -> bool:
    return bool(current_user.is_authenticated and current_user.role in (Role.STAFF, Role.ADMIN))


def _kiosk_settings() -> dict[str, int]:
    return {
        "return_seconds": current_app.config["KIOSK_RETURN_SECONDS"],
        "idle_seconds": current_app.config["KIOSK_IDLE_SECONDS"],
    }


def _bind_device(desk: Desk) -> Any:
    """An address with ``?device=`` (older versions): refused, since the token was sent in the
    address; staff register the tablet again and get an address that keeps it out of logs."""
    raise DeviceRequired(_("This kiosk address is outdated. Please ask the staff to register this tablet again "
                           "on the desk page."))


@bp.post("/<desk_code>/bind")
@csrf.exempt  # the token itself is the proof; it comes in a header no other site can set
def bind(desk_code: str) -> Any:
    """Keep the device token of the ``X-Device-Token`` header in the kiosk cookie."""
    desk = _desk(desk_code)
    token = request.headers.get("X-Device-Token", "")
    cred = credentials.authenticate(get_session(), token)
    if cred is None or cred.desk_id != desk.id:
        raise DeviceRequired(_("This device code is not valid for this desk. Please ask the staff for a new one."))
    if cred.last_used_at is not None:  # the address binds one tablet, once: a copy of it binds nothing
        raise DeviceRequired(_("This device address has been used already. Please ask the staff to register this "
                               "tablet again."))
    cred.last_used_at = utcnow()
    credentials.record_use(get_session(), cred, "api.token", details={"event": "bound"})
    get_session().commit()
    response = jsonify({"status": "bound", "desk": desk.code, "redirect": url_for("kiosk.start", desk_code=desk.code)})
    response.set_cookie(DEVICE_COOKIE, token, max_age=5 * 365 * 24 * 3600, httponly=True, samesite="Strict",
                        secure=request.is_secure or bool(current_app.config["COOKIE_SECURE"]),
                        path=url_for("kiosk.start", desk_code="x").rsplit("/", 1)[0] + "/")
    return response


@bp.route("/<desk_code>")
def start(desk_code: str) -> Any:
    if "lang" not in request.args:  # the next citizen starts in the default language (?lang= picks another)
        flask_session.pop("lang", None)
    desk = _desk(desk_code)
    if "device" in request.args:
        return _bind_device(desk)
    services = desk_services(get_session(), desk)
    registered = _device(desk) is not None or _staff_browser()
    return render_template("kiosk/start.html", desk=desk, services=services, registered=registered,
                           **_kiosk_settings())


def _dossier_field(questionnaire: Any) -> str | None:
    return next((q.id for q in questionnaire.questions if q.type == "dossier_code"), None)


def _receipt_dossier(desk: Desk, service: Service) -> str | None:
    """The dossier code of a signed receipt QR (``?receipt=``) for this unit and service."""
    from survey.collect.links import read_receipt

    token = request.args.get("receipt")
    receipt = read_receipt(token) if token else None
    if receipt is None or receipt.unit_code != desk.unit.code or receipt.service_code != service.code:
        return None
    return receipt.dossier


@bp.route("/<desk_code>/<service_code>", methods=["GET", "POST"])
@csrf.exempt  # checked below unless the request comes from a registered device (SameSite=Strict cookie)
def rate(desk_code: str, service_code: str) -> Any:
    desk = _desk(desk_code)
    if "device" in request.args:
        return _bind_device(desk)
    session = get_session()
    services = {s.code: s for s in desk_services(session, desk)}
    service = services.get(service_code)
    if service is None:
        raise NotFound(_("This service is not offered at this desk."))
    device = _device(desk)
    if device is None and not _staff_browser() and current_app.config["KIOSK_REQUIRE_DEVICE"] \
            and request.method == "POST":
        raise DeviceRequired(_("This tablet is not registered as a kiosk of this desk. Please ask the staff."))
    if device is None and not _staff_browser() and request.method == "POST" and not limiter.allow(
            f"kiosk-unregistered:{request.remote_addr}", int(current_app.config["KIOSK_UNREGISTERED_PER_MINUTE"])):
        raise TooManyRequests(_("Too many ratings from this browser. Please wait a minute and send again."))
    questionnaire = latest(desk.questionnaire_id)
    language = current_language()
    form_class = build_form(questionnaire, language)
    use_csrf = device is None and current_app.config.get("WTF_CSRF_ENABLED", True)
    form = form_class(meta={"csrf": use_csrf})
    dossier_field = _dossier_field(questionnaire)
    if request.method == "GET" and dossier_field:
        prefilled = _receipt_dossier(desk, service)
        if prefilled:
            form[dossier_field].data = prefilled
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                response_id = uuid.UUID(request.form.get("submission_id", ""))
            except ValueError:
                response_id = uuid.uuid4()
            try:
                submitted_at = parse_time(request.form["submitted_at"]) if request.form.get("submitted_at") else None
            except (ValueError, TypeError, OverflowError):
                submitted_at = None
            if submitted_at is not None and not plausible_time(submitted_at):
                if request.accept_mimetypes.best == "application/json":  # a queued rating: refused, with the reason
                    return jsonify({"status": "invalid", "fields": {"submitted_at": time_problem()}}), 422
                submitted_at = None  # the citizen is here now: the server's time it is
            answers = answers_from_form(questionnaire, form)
            result = store_checked(
                session, desk_scope(session, desk, device), questionnaire, service.id,
                answers, response_id, submitted_at=submitted_at,
            )
            if dossier_field and answers.get(dossier_field):
                note_dossier_attempt(session, desk.id, ok=result.outcome != "dossier_used")
            if result.outcome == "dossier_used" and dossier_field:
                form[dossier_field].errors = [
                    _("This dossier code has already been rated. Thank you — each dossier can be rated once.")
                ]
                status = 409
            elif result.outcome == "conflict":
                status = 409
            else:
                code = open_from_form(session, questionnaire, answers, unit_id=desk.unit_id, channel="kiosk",
                                      response_id=result.response_id)
                if code:  # shown once on the thank-you screen, then forgotten (the next citizen never sees it)
                    flask_session["kiosk_case"] = code
                thanks = url_for("kiosk.thanks", desk_code=desk.code)
                if request.accept_mimetypes.best == "application/json":
                    return jsonify({"status": result.outcome, "redirect": thanks}), 201
                return redirect(thanks, code=303)
        else:
            status = 400
            if dossier_field and form[dossier_field].errors and form[dossier_field].data:
                note_dossier_attempt(session, desk.id, ok=False)
    if request.method == "POST" and request.accept_mimetypes.best == "application/json":
        return jsonify({"status": "invalid", "fields": {k: str(v[0]) for k, v in form.errors.items() if v}}), status
    return (
        render_template(
            "kiosk/rate.html", desk=desk, service=service, questionnaire=questionnaire, form=form,
            language=language, dossier_field=dossier_field, submission_id=uuid.uuid4(),
            has_comment=bool(comment_questions(questionnaire)), **_kiosk_settings(),
        ),
        status,
    )


@bp.route("/<desk_code>/thanks")
def thanks(desk_code: str) -> Any:
    desk = _desk(desk_code)
    case_code = flask_session.pop("kiosk_case", None)
    settings = _kiosk_settings()
    if case_code:  # time to write the code down or photograph it
        settings["return_seconds"] = max(settings["return_seconds"], CASE_CODE_SECONDS)
    response = make_response(render_template("kiosk/thanks.html", desk=desk, case_code=case_code, **settings))
    if case_code:
        response.headers["X-Kiosk-Private"] = "1"  # the service worker never keeps this page for the next citizen
    return response


@bp.route("/sw.js")
def service_worker() -> Any:
    """The kiosk's service worker: its blank pages (start, rating forms, thank-you) for offline use;
    never a device-registration or receipt address."""
    return offline_service_worker(cache="hailong-kiosk-v1", pages="/kiosk/", scope="/kiosk/",
                                  skip_params=("device", "receipt"))
