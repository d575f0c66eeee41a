"""Sign-in for staff and admins (Flask-Login), Argon2 password hashes, access decorators.

Sessions are checked on the server: signing in creates a :class:`~survey.store.models.LoginSession`
row and puts only a random token (whose SHA-256 is the row's id) in the signed cookie, after
clearing whatever the browser's session held (rotation). Every request looks the row up, so
signing out, an expired session (``SESSION_IDLE_MINUTES`` without a request, or
``SESSION_HOURS`` after sign-in) or a deactivated account ends it at once, even for a copy of
the cookie. Failed sign-ins are throttled (:mod:`survey.ratelimit`); passwords must pass
:func:`password_problem` when an account is created or its password changed. Every sign-in,
failed sign-in and sign-out is written to the audit log (:mod:`survey.store.audit`).

Roles and unit scope (issue 11): :class:`~survey.store.models.Role` says what an account may do,
its scope (:func:`scope_of`) on which units — a viewing scope and a data-entry scope, each a
subtree of the unit tree inherited downward (DHIS2's data-view and data-capture units). A
province officer's scope is the whole tree; a commune officer's that commune, its villages, its
desks and the old units that became part of it. Every staff page, download, API route and job
asks :func:`scope_of` (or :func:`require_unit_in_scope`, which answers 404 outside the scope) —
the one place scope is decided.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import ColumnElement, select, true, update
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from survey.errors import NotFound
from survey.ratelimit import LoginThrottle, Refusal, limiter, normalize_username
from survey.store import audit
from survey.store.db import get_session
from survey.store.models import LoginSession, Role, Unit, User, utcnow

bp = Blueprint("auth", __name__, url_prefix="/auth")
login_manager = LoginManager()
csrf = CSRFProtect()
_hasher = PasswordHasher()
SESSION_KEY = "hl_sid"
MIN_PASSWORD_LENGTH = 10
_DUMMY_HASH = _hasher.hash("not a password of anyone")

F = TypeVar("F", bound=Callable[..., Any])


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` may not be used (a translated sentence), or None: at least
    ``MIN_PASSWORD_LENGTH`` characters, not the username, and not a common or guessable password
    (zxcvbn's lists of leaked passwords, names and words; score 3 of 4 needed)."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_PASSWORD_LENGTH:
        return _("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    if username and normalize_username(username) in normalize_username(password):
        return _("The password must not contain the username.")
    if zxcvbn(password[:100], user_inputs=[username, "hailong", "hài lòng"] if username else [])["score"] < 3:
        return _("This password is too common or too easy to guess. Choose a longer one, e.g. a few unrelated words.")
    return None


def role_required(*roles: Role) -> Callable[[F], F]:
    """Allow only signed-in users with one of ``roles`` (admins are always allowed)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role != Role.ADMIN and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


# Commune/department officers (STAFF) and supervisors work on the staff pages; analysts (who
# prepare releases) and publishers (who approve them) too.
STAFF_ROLES = (Role.STAFF, Role.SUPERVISOR, Role.ANALYST, Role.PUBLISHER)
staff_required = role_required(*STAFF_ROLES)
admin_required = role_required(Role.ADMIN)
# Who reviews responses: supervisors (first level) and officers (province officers: second level).
reviewer_required = role_required(Role.STAFF, Role.SUPERVISOR)


@dataclass(frozen=True)
class Scope:
    """The units an account may view and may enter (or review) data for: ``*_root`` is the top
    unit (None: the whole tree), ``*_ids`` the ids of every unit counted in it (None: all)."""

    view_root: int | None
    entry_root: int | None
    view_ids: frozenset[int] | None
    entry_ids: frozenset[int] | None

    @property
    def all_units(self) -> bool:
        return self.view_ids is None

    @property
    def enters_everywhere(self) -> bool:
        return self.entry_ids is None

    def can_view(self, unit_id: int | None) -> bool:
        return self.view_ids is None or (unit_id is not None and unit_id in self.view_ids)

    def can_enter(self, unit_id: int | None) -> bool:
        return self.entry_ids is None or (unit_id is not None and unit_id in self.entry_ids)

    def view_clause(self, column: Any) -> ColumnElement[bool]:
        """``column`` (a unit id column) within the viewing scope, for a query's ``where``."""
        return true() if self.view_ids is None else column.in_(sorted(self.view_ids))

    def entry_clause(self, column: Any) -> ColumnElement[bool]:
        return true() if self.entry_ids is None else column.in_(sorted(self.entry_ids))

    def view_units(self, units: Any) -> list[Any]:
        """The units of ``units`` in the viewing scope (a unit picker lists only these)."""
        return [u for u in units if self.can_view(u.id)]


EVERYWHERE = Scope(None, None, None, None)
NOWHERE = Scope(None, None, frozenset(), frozenset())


def _subtree(root_id: int | None) -> frozenset[int] | None:
    if root_id is None:
        return None
    from survey.store.units import UnitMap

    db = get_session()
    unit = db.get(Unit, root_id)
    if unit is None:
        return frozenset()
    unit_map = UnitMap(db)
    return frozenset(unit_map.counted_in(unit) | unit_map.raw_subtree(unit.id))


def scope_of(user: User | None = None) -> Scope:
    """The scope of ``user`` (default: the signed-in account; nobody signed in: no unit at all).
    Admins see everything; an account without a viewing unit sees the whole tree; an account
    without a data-entry unit enters data within its viewing scope. Cached for the request."""
    if user is None:
        if not current_user or not current_user.is_authenticated:
            return NOWHERE
        user = current_user._get_current_object()
    assert user is not None  # noqa: S101 - set above
    cache: dict[int, Scope] = g.setdefault("hl_scopes", {})
    if user.id in cache:
        return cache[user.id]
    if user.role == Role.ADMIN:
        scope = EVERYWHERE
    else:
        view = _subtree(user.view_unit_id)
        entry_root = user.entry_unit_id if user.entry_unit_id is not None else user.view_unit_id
        entry = view if entry_root == user.view_unit_id else _subtree(entry_root)
        scope = Scope(user.view_unit_id, entry_root, view, entry)
    cache[user.id] = scope
    return scope


def require_unit_in_scope(unit: Unit | int | None, *, entry: bool = False) -> None:
    """Answer 404 (never 403: a unit outside the scope does not exist for this account) unless
    ``unit`` is in the signed-in account's viewing scope (``entry``: its data-entry scope)."""
    unit_id = unit.id if isinstance(unit, Unit) else unit
    scope = scope_of()
    if not (scope.can_enter(unit_id) if entry else scope.can_view(unit_id)):
        raise NotFound(_("This page does not exist."))


def scope_top() -> Unit | None:
    """The top unit of the signed-in account's viewing scope (None: the whole tree)."""
    root = scope_of().view_root
    return get_session().get(Unit, root) if root is not None else None


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(message=_l("Please enter your username."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(message=_l("Please enter your password."))])


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("staff.index")


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def throttle() -> LoginThrottle:
    config = current_app.config
    return LoginThrottle(limiter, per_address=int(config["LOGIN_MAX_PER_ADDRESS"]),
                         lock_after=int(config["LOGIN_LOCK_AFTER"]))


def address() -> str:
    return (request.remote_addr or "unknown")[:45]


def known_address(user: User, where: str) -> bool:
    """Has ``user`` signed in from ``where`` in the last 90 days?"""
    since = utcnow() - timedelta(days=90)
    return get_session().scalar(select(LoginSession.id).where(
        LoginSession.user_id == user.id, LoginSession.address == where, LoginSession.created_at >= since).limit(1)) \
        is not None


def locked(user: User | None, where: str) -> bool:
    """Is ``user``'s account locked for sign-ins from ``where``? (Never from a known address.)"""
    if user is None or user.locked_until is None or _aware(user.locked_until) <= utcnow():
        return False
    return not known_address(user, where)


def check_credentials(raw_username: str, password: str) -> tuple[User | None, Refusal | None]:
    """The user these credentials sign in, or why not now (a :class:`Refusal`); failures are
    counted and may lock the account (see :mod:`survey.ratelimit`)."""
    username = normalize_username(raw_username)
    where = address()
    gate = throttle()
    refusal = gate.check(username, where)
    if refusal is not None:
        return None, refusal
    db = get_session()
    user = db.scalar(select(User).where(User.username == username))
    if locked(user, where):
        assert user is not None and user.locked_until is not None  # noqa: S101 - locked() checked it
        seconds = int((_aware(user.locked_until) - utcnow()).total_seconds()) + 1
        return None, Refusal("locked", max(1, seconds))
    good = verify_password(user.password_hash if user is not None else _DUMMY_HASH, password) and user is not None
    if good and user is not None and user.active:
        gate.succeeded(username, where)
        return user, None
    if gate.failed(username, where) and user is not None:
        user.locked_until = utcnow() + timedelta(hours=1)
        db.commit()
        current_app.logger.warning("account locked after repeated failed sign-ins (user id %s)", user.id)
    return None, None


def refusal_message(refusal: Refusal) -> str:
    minutes = max(1, (refusal.retry_after + 59) // 60)
    if refusal.reason == "locked":
        return _("This account is locked for %(m)s minutes after many failed sign-ins. An administrator can unlock "
                 "it now.", m=minutes)
    return _("Too many failed sign-ins. Please wait %(m)s minutes and try again.", m=minutes)


def start_session(user: User) -> None:
    """Sign ``user`` in with a new server-side session (the old cookie content is dropped)."""
    session.clear()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db = get_session()
    db.add(LoginSession(id=_token_id(token), user_id=user.id, created_at=now, last_seen_at=now,
                        address=address(), user_agent=(request.user_agent.string or "")[:200]))
    if user.locked_until is not None:
        user.locked_until = None
    db.commit()
    session[SESSION_KEY] = token
    session.permanent = True
    login_user(user)


def end_sessions(user_id: int) -> None:
    """End every open session of a user (e.g. when the account is deactivated or its password changes)."""
    db = get_session()
    db.execute(update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
               .values(ended_at=utcnow()))
    db.commit()


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if request.method == "GET":
        return render_template("auth/login.html", form=form)
    status = 400
    if form.validate():
        user, refusal = check_credentials(form.username.data or "", form.password.data or "")
        if user is not None:
            start_session(user)
            audit.record("auth.sign_in", target=f"user:{user.id}", user=user)
            get_session().commit()
            return redirect(_safe_next(request.args.get("next")))
        tried = get_session().scalar(select(User).where(User.username == normalize_username(form.username.data or "")))
        # the name typed is kept only when it is an account's (never what may be a password typed in the wrong box)
        audit.record("auth.sign_in_failed", user=tried, target=f"user:{tried.id}" if tried is not None else "",
                     details={"reason": refusal.reason if refusal is not None else "credentials",
                              "known_account": tried is not None})
        get_session().commit()
        if refusal is not None:
            form.password.errors = [*form.password.errors, refusal_message(refusal)]
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(refusal.retry_after)}
        form.password.errors = [*form.password.errors, _("Wrong username or password.")]
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        row = get_session().get(LoginSession, _token_id(token))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            if current_user.is_authenticated:
                audit.record("auth.sign_out", target=f"user:{current_user.id}")
            get_session().commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."))
    return redirect(url_for("public.index"))


def _live_session(user_id: str) -> User | None:
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not user_id.isdigit():
        return None
    db = get_session()
    row = db.get(LoginSession, _token_id(token))
    if row is None or row.ended_at is not None or str(row.user_id) != user_id:
        return None
    now = utcnow()
    config = current_app.config
    idle = timedelta(minutes=int(config["SESSION_IDLE_MINUTES"]))
    if _aware(row.created_at) + timedelta(hours=int(config["SESSION_HOURS"])) <= now \
            or _aware(row.last_seen_at) + idle <= now:
        row.ended_at = now
        db.commit()
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if _aware(row.last_seen_at) + timedelta(seconds=60) <= now:
        row.last_seen_at = now
        db.commit()
    return user


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.session_protection = None  # the server-side session row is the protection
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=int(app.config["SESSION_HOURS"])))

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        return _live_session(user_id)
