"""Upload of the area covariates of units for the small-area model (:mod:`survey.reports.covariates`):
the page an analyst uses instead of ``hailong covariates import``.

The file is the command's (CSV or XLSX, one row per unit, the empty template downloadable here);
a file with any problem stores nothing and every problem is listed with its row number, in the
user's language. Rows may only name units of the account's data-entry area. The page lists what
is stored: each covariate with how many units have it, its years and sources.
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
from wtforms.validators import Length

from survey.auth import role_required, scope_of
from survey.i18n import current_language
from survey.reports import covariates
from survey.store import audit
from survey.store.db import get_session
from survey.store.models import Role, UnitCovariate

bp = Blueprint("covariates", __name__, url_prefix="/staff/covariates")

MAX_BYTES = 5 * 1024 * 1024


class UploadForm(FlaskForm):
    file = FileField(_l("Covariates file (CSV or XLSX)"), validators=[FileRequired(_l("Choose the file to upload."))])
    source = StringField(_l("Source of every row, when the file has no Source column"), validators=[Length(max=200)])


def _stored() -> list[dict[str, Any]]:
    """Each stored covariate in the account's viewing area: units, years and sources."""
    scope = scope_of()
    query = select(UnitCovariate.name, func.count(UnitCovariate.id), func.min(UnitCovariate.year),
                   func.max(UnitCovariate.year)).group_by(UnitCovariate.name).order_by(UnitCovariate.name)
    sources = select(UnitCovariate.name, UnitCovariate.source).distinct()
    if scope.view_ids is not None:
        query = query.where(UnitCovariate.unit_id.in_(scope.view_ids))
        sources = sources.where(UnitCovariate.unit_id.in_(scope.view_ids))
    by_name: dict[str, list[str]] = {}
    for name, source in get_session().execute(sources):
        by_name.setdefault(name, []).append(source)
    language = current_language()
    return [{"name": name, "label": covariates.label(name, language), "units": n, "years": (low, high),
             "sources": sorted(by_name.get(name, []))} for name, n, low, high in get_session().execute(query)]


@bp.route("/", methods=["GET", "POST"])
@role_required(Role.ANALYST)
def index() -> Any:
    session = get_session()
    form = UploadForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(MAX_BYTES + 1)
        scope = scope_of()
        try:
            if len(data) > MAX_BYTES:
                raise covariates.ImportRefused([_("The file is larger than %(mb)s MB.", mb=MAX_BYTES // (1024 * 1024))])
            done = covariates.import_file(session, upload.filename or "", data,
                                          source=(form.source.data or "").strip() or None, user_id=current_user.id,
                                          allowed=lambda unit: scope.can_enter(unit.id))
        except covariates.ImportRefused as exc:
            session.rollback()
            problems, status = exc.problems, 422
        else:
            audit.record("covariates.import", target="covariates",
                         details={"units": done.units, "values": done.values, "covariates": ",".join(done.covariates)[:80]})
            session.commit()
            flash(_("%(values)s values of %(units)s units were imported (%(names)s).", values=done.values,
                    units=done.units, names=", ".join(done.covariates)))
            return redirect(url_for("covariates.index"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("staff/covariates.html", form=form, problems=problems, stored=_stored(),
                           known=covariates.KNOWN, language=current_language(),
                           max_mb=MAX_BYTES // (1024 * 1024)), status


@bp.route("/template.csv")
@role_required(Role.ANALYST)
def template() -> Response:
    """The empty file with every documented covariate (UTF-8 with BOM, for Excel)."""
    return Response(covariates.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=covariates-template.csv"})


__all__ = ["bp"]
