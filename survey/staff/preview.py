"""Staff preview of the questionnaire library: every version, in either language.

``/staff/questionnaires`` lists every version in the library; ``/staff/questionnaires/<id>/<version>``
shows the form exactly as respondents get it (the same ``build_form`` and ``render_field``), with
skip logic running in the browser; submitting it validates on the server and shows the answers
that would be stored, but stores nothing. ``.xlsx`` downloads the XLSForm.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from questionnaires import Questionnaire, load_library
from questionnaires.loader import latest_versions, version_key
from survey.auth import staff_required
from survey.collect.forms import answers_from_form, build_form
from survey.errors import NotFound
from survey.i18n import current_language

bp = Blueprint("preview", __name__, url_prefix="/staff/questionnaires")


def _version(questionnaire_id: str, version: str) -> Questionnaire:
    found = load_library().get((questionnaire_id, version))
    if found is None:
        raise NotFound(_("Unknown questionnaire."))
    return found


@bp.get("/")
@staff_required
def index() -> str:
    library = load_library()
    latest = {q.key for q in latest_versions(library).values()}
    versions = sorted(library.values(), key=lambda q: (q.id, version_key(q.version)))
    return render_template("preview/index.html", versions=versions, latest=latest, language=current_language())


@bp.route("/<questionnaire_id>/<version>", methods=["GET", "POST"])
@staff_required
def show(questionnaire_id: str, version: str) -> tuple[str, int] | str:
    questionnaire = _version(questionnaire_id, version)
    language = current_language()
    form = build_form(questionnaire, language)()
    answers = None
    status = 200
    if request.method == "POST":
        if form.validate():
            answers = answers_from_form(questionnaire, form)
        else:
            status = 400
    sections = {s.id: s.label.get(language) for s in questionnaire.sections}
    return render_template("preview/form.html", questionnaire=questionnaire, form=form, answers=answers,
                           sections=sections, language=language), status


@bp.get("/<questionnaire_id>/<version>.xlsx")
@staff_required
def xlsform(questionnaire_id: str, version: str) -> Response:
    from questionnaires.xlsform import to_xlsx_bytes

    questionnaire = _version(questionnaire_id, version)
    return Response(
        to_xlsx_bytes(questionnaire),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{questionnaire.id}-{questionnaire.version}.xlsx"'},
    )
