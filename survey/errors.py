"""One error vocabulary: exceptions carry their HTTP status; one handler renders them.

Every refusal the app makes, on every channel (kiosk, enumerator app and submission API, public
links, staff pages, portal), is one of the classes below or a werkzeug ``HTTPException``, and
both go through the handlers of :func:`init_app`. API clients (``/api/`` paths, or
``Accept: application/json``) get the fixed JSON shape
``{"error": {"status": int, "code": str, "message": str, "fields": {...}}}``; people get a
friendly page in their language. A rate limit answers 429 with ``Retry-After``.

- :class:`AppError` 400 ``bad_request``: a request the app cannot act on;
- :class:`Unauthorized` 401 ``unauthorized``: an unknown credential, a wrong password;
- :class:`TokenExpired` 401 ``token_expired``: an enumerator's token older than ``TOKEN_DAYS``;
- :class:`Forbidden` 403 ``forbidden``: signed in, but not allowed this;
- :class:`DeviceRequired` 403 ``device_required``: a kiosk that is not a registered device;
- :class:`NotFound` 404 ``not_found``: no such unit, desk, questionnaire, release;
- :class:`Conflict` 409 ``conflict``: the request contradicts what is stored;
- :class:`Invalid` 422 ``invalid``: a submission with bad fields (named in ``fields``);
- :class:`TooManyRequests` 429 ``rate_limited``: a rate limit refuses (``retry_after`` seconds).

>>> Invalid("Some answers are not valid.", {"q1": "Required."}).status
422
>>> TooManyRequests("Wait.").retry_after
60
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


class AppError(Exception):
    """A refusal with a message for the person (in their language) and, per field, why."""

    status = 400
    code = "bad_request"
    retry_after: int | None = None  # seconds, sent as ``Retry-After``

    def __init__(self, message: str, fields: dict[str, str] | None = None, *, status: int | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if status is not None:
            self.status = status
        if retry_after is not None:
            self.retry_after = retry_after


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class TokenExpired(Unauthorized):
    code = "token_expired"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class DeviceRequired(Forbidden):
    code = "device_required"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Invalid(AppError):
    """A submission that cannot be stored, with a message per bad field (one channel's form,
    the API's JSON, a batch item alike)."""

    status = 422
    code = "invalid"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    retry_after = 60


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_body(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "fields": fields or {}}}


def init_app(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(exc: AppError) -> Any:
        headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else {}
        if wants_json():
            return jsonify(error_body(exc.status, exc.code, exc.message, exc.fields)), exc.status, headers
        return render_template("error.html", status=exc.status, message=exc.message), exc.status, headers

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        messages = {
            400: _("The request could not be understood."),
            403: _("You do not have access to this page."),
            404: _("This page does not exist."),
            405: _("This action is not allowed here."),
            413: _("The upload is too large."),
            429: _("Too many requests. Please wait a moment."),
        }
        message = messages.get(status, _("Something went wrong. Please try again."))
        headers = {k: v for k, v in exc.get_headers() if k in ("Allow", "Retry-After")}  # 405 names what is allowed
        if wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            return jsonify(error_body(status, code, message)), status, headers
        return render_template("error.html", status=status, message=message), status, headers
