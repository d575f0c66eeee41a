"""Sign-in for staff and admins (Flask-Login), Argon2 password hashes, access decorators."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from survey.store.db import get_session
from survey.store.models import Role, User

bp = Blueprint("auth", __name__, url_prefix="/auth")
login_manager = LoginManager()
csrf = CSRFProtect()
_hasher = PasswordHasher()

F = TypeVar("F", bound=Callable[..., Any])


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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


staff_required = role_required(Role.STAFF)
admin_required = role_required(Role.ADMIN)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(message=_l("Please enter your username."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(message=_l("Please enter your password."))])


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("staff.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if request.method == "GET":
        return render_template("auth/login.html", form=form)
    if form.validate():
        user = get_session().scalar(select(User).where(User.username == form.username.data.strip()))
        if user is not None and user.active and verify_password(user.password_hash, form.password.data):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = [*form.password.errors, _("Wrong username or password.")]
    return render_template("auth/login.html", form=form), 400


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    flash(_("You have signed out."))
    return redirect(url_for("public.index"))


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        return get_session().get(User, int(user_id))
