"""Public pages: the landing page and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import select

from survey.store.db import get_session
from survey.store.models import Desk

bp = Blueprint("public", __name__)


@bp.route("/")
def index() -> Any:
    desks = get_session().scalars(select(Desk).where(Desk.active.is_(True)).order_by(Desk.code).limit(50)).all()
    return render_template("public/index.html", desks=desks)
