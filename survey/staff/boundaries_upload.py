"""Upload of a province's commune boundaries (GeoJSON) for the portal's map
(:mod:`survey.portal.boundaries`).

An analyst or an administrator chooses the province, the file and the name of the property that
holds each commune's official 5-digit code. A file with any problem stores nothing: every problem
is listed with its feature's number, in the user's language. Stored boundaries replace the
province's earlier ones and are drawn from the next release built; published releases keep the
boundaries they were built with. Scoped (issue 11 point 1): an account lists and uploads only the
provinces of its viewing scope; one scoped below a province has none, and the page is 404 for it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from survey.auth import role_required, scope_of
from survey.errors import NotFound
from survey.portal import boundaries
from survey.store.db import get_session
from survey.store.models import Role, Unit, UnitLevel

bp = Blueprint("boundaries", __name__, url_prefix="/staff/boundaries")


class UploadForm(FlaskForm):
    province = SelectField(_l("Province"), validators=[DataRequired()])
    file = FileField(_l("Boundaries of the communes (GeoJSON, WGS84)"),
                     validators=[FileRequired(_l("Choose the file to upload."))])
    code_property = StringField(_l("Property with the commune's official 5-digit code"),
                                default=boundaries.DEFAULT_CODE_PROPERTY,
                                validators=[DataRequired(), Length(max=40)])


def _provinces() -> list[Unit]:
    """Today's provinces within the signed-in account's viewing scope."""
    today = date.today()
    scope = scope_of()
    return [u for u in get_session().scalars(select(Unit).where(Unit.level == UnitLevel.PROVINCE).order_by(Unit.code))
            if (u.valid_to is None or u.valid_to >= today) and scope.can_view(u.id)]


@bp.route("/", methods=["GET", "POST"])
@role_required(Role.ANALYST)
def index() -> Any:
    session = get_session()
    provinces = _provinces()
    if not provinces and not scope_of().all_units:
        raise NotFound(_("This page does not exist."))
    form = UploadForm()
    form.province.choices = [(u.code, u.name) for u in provinces]
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        province = next(u for u in provinces if u.code == form.province.data)
        upload = form.file.data
        code_property = (form.code_property.data or "").strip()
        try:
            checked = boundaries.check_geojson(upload.read(boundaries.MAX_BYTES + 1),
                                               boundaries.communes_of(session, province), code_property)
        except boundaries.BoundariesRefused as exc:
            problems, status = exc.problems, 422
        else:
            boundaries.store(session, province, checked, code_property=code_property,
                             source=upload.filename or "", user_id=current_user.id)
            session.commit()
            flash(_("The boundaries of %(n)s communes of %(province)s were stored; the next release built draws "
                    "them on its map.", n=len(checked.features), province=province.name))
            if checked.units_without:
                flash(_("No boundary in the file for %(n)s communes: %(names)s. They are listed in the map's "
                        "table but not drawn.", n=len(checked.units_without),
                        names=", ".join(checked.units_without[:20]) + (" …" if len(checked.units_without) > 20 else "")))
            return redirect(url_for("boundaries.index"), code=303)
    elif form.is_submitted():
        status = 422
    stored = [(u, boundaries.stored(session, u)) for u in provinces]
    return render_template("staff/boundaries.html", form=form, problems=problems,
                           stored=[(u, row) for u, row in stored if row is not None],
                           max_mb=boundaries.MAX_BYTES // (1024 * 1024)), status
