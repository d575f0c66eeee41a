"""One error vocabulary: exceptions carry their HTTP status; one handler renders them.

API clients (``Accept: application/json`` or ``/api/`` paths) get the fixed JSON shape
``{"error": {"status": int, "code": str, "message": str, "fields": {...}}}``; people get a
friendly page in their language.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_body(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "fields": fields or {}}}


def init_app(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(exc: AppError) -> Any:
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(int(retry))} if retry else {}
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
