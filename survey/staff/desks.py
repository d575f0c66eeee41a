"""Staff register kiosk devices for their one-stop desks and see the desks' links.

Registering a device issues a token, shown once as a kiosk address ``/kiosk/<desk>#device=…``
(and its QR code): opening it once on the tablet binds the tablet to the desk. A lost tablet's
devices are revoked here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from survey.auth import scope_of, staff_required
from survey.collect import credentials
from survey.collect.links import qr_bytes
from survey.collect.submissions import desk_services
from survey.errors import NotFound
from survey.store.db import get_session
from survey.store.models import Credential, Desk, Response, ReviewStatus

bp = Blueprint("desks", __name__, url_prefix="/staff/desks")


def _desk(code: str) -> Desk:
    desk = get_session().scalar(select(Desk).where(Desk.code == code))
    if desk is None or not scope_of().can_view(desk.unit_id):  # a desk outside the scope: 404 (issue 11)
        raise NotFound(_("This page does not exist."))
    return desk


@bp.route("/")
@staff_required
def index() -> Any:
    session = get_session()
    desks = session.scalars(select(Desk).where(scope_of().view_clause(Desk.unit_id)).order_by(Desk.code)).all()
    devices = dict(session.execute(select(Credential.desk_id, func.count()).where(
        Credential.desk_id.is_not(None), Credential.revoked_at.is_(None)).group_by(Credential.desk_id)).all())
    # "To review": flagged ratings still waiting for a decision (an approved or rejected one is done).
    flagged = dict(session.execute(select(Response.desk_id, func.count()).where(
        Response.flag.is_not(None), Response.review_status == ReviewStatus.RECEIVED).group_by(Response.desk_id)).all())
    return render_template("desks/index.html", desks=desks, devices=devices, flagged=flagged)


@bp.route("/<code>", methods=["GET", "POST"])
@staff_required
def desk(code: str) -> Any:
    session = get_session()
    desk = _desk(code)
    issued = None
    if request.method == "POST":
        if request.form.get("revoke"):
            raw = request.form["revoke"]
            ident = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
            cred = session.get(Credential, ident) if ident is not None else None
            if cred is not None and cred.desk_id == desk.id:
                credentials.revoke(session, cred)
                credentials.record_use(session, cred, "api.token", by_owner=False, details={"event": "revoked"})
                session.commit()
                flash(_("The device was revoked."))
            return redirect(url_for("desks.desk", code=desk.code), code=303)
        label = (request.form.get("label") or "").strip()[:200] or _("Kiosk tablet")
        token = credentials.issue(session, desk=desk, label=label)
        new = session.scalar(select(Credential).where(Credential.token_hash == credentials.token_hash(token)))
        if new is not None:
            credentials.record_use(session, new, "api.token", by_owner=False, details={"event": "issued"})
        session.commit()
        # The token goes in the fragment, which browsers never send: it stays out of access logs.
        url = url_for("kiosk.start", desk_code=desk.code, _external=True) + "#device=" + token
        issued = {"url": url, "svg": qr_bytes(url, "svg").decode("utf-8")}
    devices = session.scalars(select(Credential).where(Credential.desk_id == desk.id).order_by(Credential.id)).all()
    response = render_template("desks/desk.html", desk=desk, devices=devices, issued=issued,
                               services=desk_services(session, desk))
    return response, 200, {"Cache-Control": "no-store"}
