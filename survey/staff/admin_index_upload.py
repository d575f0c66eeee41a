"""Staff upload of the Decision 766 figures (:mod:`survey.portal.admin_index`).

A province downloads the figures per unit from the national public service portal (CSV or XLSX)
and uploads them here, for one period or with a period column. A file with any bad row stores
nothing; every problem is listed with its row number, and the form keeps the chosen period. The
figures then appear in the next release built, beside the survey estimate of each unit.

Scoped (issue 11 point 1): an account whose viewing scope is a commune uploads figures of that
commune's units only (a row of another unit is refused as an unknown code) and sees only the
periods and counts of the figures of its units.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from wtforms import StringField
from wtforms.validators import Optional

from survey.auth import scope_of, staff_required
from survey.portal import admin_index
from survey.store.db import get_session
from survey.store.models import AdminIndexFigure

bp = Blueprint("admin_index", __name__, url_prefix="/staff/admin-index")


class UploadForm(FlaskForm):
    file = FileField(_l("File (CSV or XLSX)"), validators=[FileRequired(_l("Choose the file to upload."))])
    period = StringField(_l("Period, if the file has no period column (e.g. 2026-Q3)"), validators=[Optional()])


@bp.route("/", methods=["GET", "POST"])
@staff_required
def index() -> Any:
    session = get_session()
    scope = scope_of()
    form = UploadForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            done = admin_index.import_file(session, upload.filename or "upload.csv", upload.read(),
                                           period=(form.period.data or "").strip() or None, user_id=current_user.id,
                                           unit_ids=scope.view_ids)
        except admin_index.ImportRefused as exc:
            session.rollback()
            problems, status = exc.problems, 422
        else:
            session.commit()
            flash(_("%(figures)s figures of %(units)s units were imported (%(periods)s).", figures=done.figures,
                    units=done.units, periods=", ".join(done.periods)))
            return redirect(url_for("admin_index.index"), code=303)
    elif form.is_submitted():
        status = 422
    stored = session.execute(
        select(AdminIndexFigure.period, func.count(), func.count(func.distinct(AdminIndexFigure.unit_id)))
        .where(scope.view_clause(AdminIndexFigure.unit_id))
        .group_by(AdminIndexFigure.period).order_by(AdminIndexFigure.period.desc())).all()
    return render_template("staff/admin_index.html", form=form, problems=problems, stored=stored,
                           indicators=admin_index.INDICATORS), status


@bp.route("/template.csv")
@staff_required
def template() -> Response:
    response = Response(admin_index.template_csv(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="quyet-dinh-766-mau.csv"'
    return response
