"""What every response and request goes through, whatever the page: security headers, the
trusted reverse proxy, input the database cannot take (NUL bytes), and a database outage.

* Headers: a Content-Security-Policy without inline script (the templates have none: scripts
  are files under ``/static/``), ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` on
  every page except views marked :func:`frameable` (the portal widget), ``Referrer-Policy:
  same-origin`` (receipt and kiosk addresses never leave the site), ``X-Content-Type-Options:
  nosniff``.
* ``TRUSTED_PROXIES``: the number of reverse proxies in front of the app whose
  ``X-Forwarded-For``/``-Proto`` are believed (werkzeug's ``ProxyFix``); 0 (the default) believes
  none, so a client cannot pick its own address for the per-address limits.
* NUL bytes in the path, the query or a form field are refused with 400 and a clear message
  (PostgreSQL cannot store them; nothing useful ever contains one).
* A form posted without a valid CSRF token (a page open too long, a sign-in or sign-out in another
  tab, or a post from another site) is refused with 400 and a message in the user's language.
  When the post came from this site's own pages (``Origin`` or ``Referer`` of this host), what was
  typed comes back in a "Send again" form with a fresh token — passwords and files excepted; a
  post from elsewhere gets the message only, so no other site can prepare a form for one click.
* Files with data or secrets in the instance folder (the job queue's ``huey.sqlite``, the SQLite
  database, the secret key, the dossier keys) are readable by their owner only (0600).
* A database that is down or restarting answers 503 with ``Retry-After`` (JSON for API
  clients), never a 500; ``/healthz`` says the process lives, ``/readyz`` that the database
  answers and its schema is at the newest migration.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix

bp = Blueprint("health", __name__)

F = TypeVar("F", bound=Callable[..., Any])

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",  # style attributes in QR SVGs and the poster's print CSS
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
])
RETRY_AFTER_SECONDS = 5


def frameable(view: F) -> F:
    """Let other sites embed this view in a frame (the portal's widget); nothing else may be."""
    view.hailong_frameable = True  # type: ignore[attr-defined]
    return view


def _is_frameable() -> bool:
    endpoint = request.endpoint
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return bool(getattr(view, "hailong_frameable", False))


def _headers(response: Any) -> Any:
    frame = "*" if _is_frameable() else "'none'"
    response.headers.setdefault("Content-Security-Policy", f"{CSP}; frame-ancestors {frame}")
    if frame == "'none'":
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


class NulByte(BadRequest):
    description = "NUL byte in the request"


def _refuse_nul() -> None:
    """400 for a NUL byte anywhere in the path, the query string or a url-encoded/multipart form."""
    if "\x00" in request.path or "\x00" in request.query_string.decode("latin-1") or "%00" in \
            request.query_string.decode("latin-1"):
        raise NulByte()
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        for values in request.form.listvalues():
            if any("\x00" in v for v in values):
                raise NulByte()


def _unavailable(exc: Exception) -> Any:
    """A database that cannot be reached: 503 with Retry-After, in the caller's language."""
    from survey.errors import error_body, wants_json

    current_app.logger.warning("database unavailable: %s", type(exc).__name__)
    message = _("The service is busy or under maintenance. Please try again in a moment.")
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if wants_json():
        return jsonify(error_body(503, "unavailable", message)), 503, headers
    return render_template("error.html", status=503, message=message), 503, headers


def _same_origin() -> bool:
    """The post came from a page of this site (the browser's ``Origin``, else its ``Referer``)."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return bool(source) and urlsplit(source).netloc == request.host


def _csrf_refused(exc: CSRFError) -> Any:
    """400 for a form without a valid CSRF token, explained; what was typed is kept (see the module)."""
    from survey.errors import error_body, wants_json

    message = _("This form could not be sent safely: the page was open for a long time, or you signed in or out "
                "in another tab. Nothing was saved.")
    if wants_json():
        return jsonify(error_body(400, "csrf", message)), 400
    field = str(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    kept: list[tuple[str, str]] = []
    dropped = bool(request.files)
    if _same_origin():
        for name, values in request.form.lists():
            if name == field:
                continue
            if "password" in name.lower():
                dropped = True
                continue
            kept.extend((name, value) for value in values)
    query = request.query_string.decode("latin-1")
    action = request.path + (f"?{query}" if query else "")
    back = action if request.url_rule is not None and "GET" in (request.url_rule.methods or ()) else None
    return render_template("csrf_refused.html", status=400, message=message, kept=kept, action=action,
                           dropped=dropped, back=back, same_origin=_same_origin()), 400


def _owner_only_files(app: Flask) -> None:
    """The files the app keeps in the instance folder with data or secrets — the job queue's
    SQLite file (its WAL and SHM files take its mode), the SQLite database, the demo's secret key,
    the dossier keys — readable and writable by their owner only (0600), created so before anyone
    else writes them, and put right when an older version left them readable by others."""
    folder = Path(app.instance_path)
    queue = str(app.config.get("QUEUE_URL") or "").strip()
    files: list[Path] = [folder / "huey.sqlite", folder / "hailong.sqlite", folder / "secret_key",
                         folder / "dossier_keys.json"]
    if queue.startswith("sqlite:///"):
        files.append(Path(queue.removeprefix("sqlite:///")))
    if not app.config.get("QUEUE_IMMEDIATE") and (not queue or queue.startswith("sqlite:///")):
        path = files[-1] if queue else files[0]
        if not path.exists() and (path.parent.is_dir() or not queue):
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # before Huey creates it with the umask's mode
    for base in files:
        for path in (base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")):
            try:
                info = path.stat()
            except OSError:
                continue
            if info.st_mode & 0o077 and info.st_uid == os.getuid():
                path.chmod(0o600)


def _database_down(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError) or bool(exc.connection_invalidated)


def init_app(app: Flask) -> None:
    from survey.ratelimit import limiter

    limiter.init_app(app)  # this app's Flask-Limiter on RATE_LIMIT_STORAGE (fresh counters per app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    secure = app.config.get("COOKIE_SECURE")
    if secure is None:
        secure = app.config.get("ENV") == "production" and not app.config.get("TESTING")
    app.config["COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"] = bool(secure)
    app.after_request(_headers)
    app.before_request(_refuse_nul)
    app.register_error_handler(CSRFError, _csrf_refused)
    _owner_only_files(app)

    @app.errorhandler(NulByte)
    def _nul(_exc: NulByte) -> Any:
        from survey.errors import error_body, wants_json

        message = _("The request contains a character that is not allowed (NUL). Please remove it and send again.")
        if wants_json():
            return jsonify(error_body(400, "bad_request", message)), 400
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(DBAPIError)
    def _db_error(exc: DBAPIError) -> Any:
        if _database_down(exc):
            return _unavailable(exc)
        raise exc

    @app.errorhandler(PoolTimeout)
    def _pool_timeout(exc: PoolTimeout) -> Any:
        return _unavailable(exc)

    from survey.store.dossier_keys import KeyMismatch

    @app.errorhandler(KeyMismatch)
    def _wrong_keys(exc: KeyMismatch) -> Any:
        current_app.logger.error("%s", exc)  # the operator's message; the citizen gets 503
        return _unavailable(exc)

    app.register_blueprint(bp)


@bp.route("/healthz")
def healthz() -> Any:
    """Liveness: the process answers (no database involved)."""
    return {"status": "ok"}


@bp.route("/readyz")
def readyz() -> Any:
    """Readiness: the database answers and its schema is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from survey.store.db import get_engine
    from survey.store.migrate import alembic_config

    url = current_app.config["DATABASE_URL"]
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        return jsonify({"status": "migrations pending", "database": sorted(current), "code": sorted(heads)}), 503, \
            {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return {"status": "ready", "revision": sorted(current)}


_SECRET_PARAMS = re.compile(r"(?i)\b(device|receipt|token|password|dossier(?:_code)?)=[^&\s]*")
_SECRET_PATHS = re.compile(r"(/r/)[^/?\s]+")


def redact(text: str) -> str:
    """``text`` (a request line, path or query) without credentials or dossier codes: values
    of ``device=``, ``receipt=``, ``token=``…, and receipt tokens in ``/r/<token>`` paths."""
    return _SECRET_PATHS.sub(r"\1[redacted]", _SECRET_PARAMS.sub(r"\1=[redacted]", text))


def access_logger_class() -> type:
    """gunicorn's logger, with every request line redacted (see :func:`redact`)."""
    from gunicorn.glogging import Logger

    class RedactingLogger(Logger):  # type: ignore[misc]
        def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
            atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
            for key in ("r", "U", "q", "f"):
                if isinstance(atoms.get(key), str):
                    atoms[key] = redact(atoms[key])
            return atoms

    return RedactingLogger
