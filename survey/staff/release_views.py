"""Staff pages of the release workflow (:mod:`survey.portal.releases`): the list of releases,
prepare one, follow its build, preview it exactly as the public will see it, approve and
publish it (a publisher, not the preparer), withdraw it with a notice, prepare a correction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from survey.auth import role_required, scope_of, scope_top
from survey.errors import AppError, NotFound
from survey.i18n import current_language
from survey.periods import local
from survey.portal import releases as workflow
from survey.portal.jobs import enqueue_after_commit
from survey.portal.pages import Endpoints, chart_response, render_papi_page, render_unit_page, wrap
from survey.portal.published import Published
from survey.reports.sipas_tables import scored_as_sipas
from survey.store import audit
from survey.store.catalogue import in_use
from survey.store.db import get_session
from survey.store.models import Release, ReleaseStatus, Role, Unit, UnitLevel, User
from survey.text import sort_key

bp = Blueprint("releases", __name__, url_prefix="/staff/releases")

READERS = (Role.STAFF, Role.ANALYST, Role.PUBLISHER)
viewer_required = role_required(*READERS)
analyst_required = role_required(Role.ANALYST)
publisher_required = role_required(Role.PUBLISHER)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PrepareForm(FlaskForm):
    period = StringField(_l("Period"), validators=[InputRequired(message=_l("Write the period, e.g. 2026-Q3."))],
                         description=_l("2026-Q3 for a quarter, 2026-H1 or 2026-H2 for a half-year, 2026-9M for "
                                        "the first nine months, 2026 for a year."))
    unit = SelectField(_l("Unit (with every unit below it)"), validators=[InputRequired()])
    questionnaires = MultiCheckboxField(_l("Questionnaires"), validators=[
        InputRequired(message=_l("Choose at least one questionnaire."))])
    overall_rule = SelectField(_l("Rule of the overall index"), choices=[
        ("", _l("Each questionnaire's own rule")),
        ("par_weighted", _l("Elements weighted by their PAR 8.1 points")),
        ("mean", _l("Plain mean of the elements")),
        ("overall_item", _l("The overall question")),
    ], validators=[Optional()])
    methodology_version = StringField(_l("Methodology version"), validators=[Length(max=20)])
    weighting = RadioField(_l("Weighting"), choices=[
        ("none", _l("None: every response counts the same")),
        ("design", _l("The responses' design weights")),
    ], default="none")
    changelog = TextAreaField(_l("What this version changes (shown to the public)"), validators=[Length(max=2000)],
                              description=_l("Required for a correction, e.g. “phiên bản 2: sửa số liệu của xã …”."))


class NoticeForm(FlaskForm):
    notice = TextAreaField(_l("Public notice"), validators=[
        InputRequired(message=_l("Write the public notice that explains the withdrawal.")), Length(max=2000)])


def _release(release_id: int) -> Release:
    release = get_session().get(Release, release_id)
    if release is None or not scope_of().can_view(release.scope_unit_id):  # outside the scope: 404 (issue 11)
        raise NotFound(_("This release does not exist."))
    return release


def _user() -> User:
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    return user


def _prepare_form(source: Release | None = None) -> PrepareForm:
    session = get_session()
    language = current_language()
    form = PrepareForm()
    form.unit.choices = _unit_choices(scope_of().view_units(session.scalars(select(Unit)).all()))
    form.questionnaires.choices = [(q.id, q.title.get(language)) for q in in_use(session)
                                   if scored_as_sipas(q) or q.kind == "papi"]
    if request.method == "GET":
        form.methodology_version.data = current_app.config["METHODOLOGY_VERSION"]
        own = scope_top()  # the top of the account's viewing scope (None: the whole tree)
        codes = [c[0] for c in form.unit.choices]
        form.unit.data = own.code if own is not None and own.code in codes else codes[0] if codes else None
        if source is not None:  # a correction starts from the published choices
            form.period.data, form.unit.data = source.period_code, source.scope_code
            form.questionnaires.data = list(source.questionnaires)
            form.overall_rule.data = source.overall_rule or ""
            form.methodology_version.data, form.weighting.data = source.methodology_version, source.weighting
        else:
            form.questionnaires.data = [c[0] for c in form.questionnaires.choices if c[0] != "papi-household"][:1]
    return form


_LEVELS = {UnitLevel.PROVINCE: 0, UnitLevel.DEPARTMENT: 1, UnitLevel.DISTRICT: 2, UnitLevel.COMMUNE: 3}


def _unit_choices(units: Sequence[Unit]) -> list[tuple[str, str]]:
    """The units a release can cover: today's first (province, departments, then communes), then
    those of the old map, which say until when they existed; villages are left out."""
    def order(unit: Unit) -> tuple[bool, int, tuple[object, ...]]:
        return (unit.valid_to is not None, _LEVELS[unit.level], sort_key(unit.name))

    shown = sorted((u for u in units if u.level in _LEVELS), key=order)
    return [(u.code, u.name if u.valid_to is None else _("%(unit)s (until %(day)s)", unit=u.name,
                                                          day=u.valid_to.strftime("%d/%m/%Y")))
            for u in shown]


@bp.route("/")
@viewer_required
def index() -> Any:
    releases = get_session().scalars(select(Release).where(scope_of().view_clause(Release.scope_unit_id))
                                     .order_by(Release.id.desc())).all()
    return render_template("staff/releases/index.html", releases=releases)


@bp.route("/new", methods=["GET", "POST"])
@analyst_required
def new() -> Any:
    source_id = request.args.get("from", type=int)
    source = _release(source_id) if source_id else None
    form = _prepare_form(source)
    if request.method == "POST" and form.validate():
        session = get_session()
        choice = workflow.Choice(period=form.period.data or "", scope=form.unit.data or "",
                                 questionnaires=form.questionnaires.data or [], overall_rule=form.overall_rule.data,
                                 methodology_version=form.methodology_version.data,
                                 weighting=form.weighting.data or "none", changelog=form.changelog.data or "")
        try:
            release = workflow.prepare(session, choice, _user())
        except AppError as exc:
            session.rollback()
            target = {"period": form.period, "changelog": form.changelog}.get(next(iter(exc.fields), ""))
            if target is not None:
                target.errors = [*target.errors, exc.message]
            else:
                form.form_errors.append(exc.message)
            return render_template("staff/releases/new.html", form=form, source=source), exc.status
        release.job_id = enqueue_after_commit(session, "build_release", release_id=release.id)
        audit.record("release.prepare", target=f"release:{release.id}", unit_id=release.scope_unit_id,
                     details={"period": release.period_code, "version": release.version})
        session.commit()
        flash(_("Release no. %(id)s is being built.", id=release.id))
        return redirect(url_for("releases.detail", release_id=release.id))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/releases/new.html", form=form, source=source), status


@bp.route("/<int:release_id>")
@viewer_required
def detail(release_id: int) -> Any:
    release = _release(release_id)
    return render_template("staff/releases/detail.html", release=release, error=workflow.error_message(release),
                           stage=workflow.STAGES.get(release.stage, release.stage), notice_form=NoticeForm(),
                           status_line=_status_line(release), can_publish=_can_publish(release),
                           can_prepare=_has(workflow.PREPARERS))


def _status_line(release: Release) -> str:
    """The build's progress in words, on the page and in its JSON (``job-progress.js`` shows them)."""
    return _("%(n)s%% done.", n=release.progress)


def _has(roles: tuple[Role, ...]) -> bool:
    return bool(current_user.is_authenticated and current_user.role in roles)


def _can_publish(release: Release) -> bool:
    return _has(workflow.PUBLISHERS) and release.created_by_id != current_user.id


@bp.route("/<int:release_id>/progress.json")
@viewer_required
def progress(release_id: int) -> Any:
    release = _release(release_id)
    return jsonify({"id": release.id, "status": release.status.value, "progress": release.progress,
                    "stage": str(workflow.STAGES.get(release.stage, release.stage)),
                    "message": _status_line(release), "running": release.status == ReleaseStatus.DRAFT,
                    "error": workflow.error_message(release)})


# The preview is the public portal's own page, rendered from the draft snapshot, with its links
# kept inside the preview (same arguments as the public routes).
PREVIEW = Endpoints(unit="releases.preview_unit", chart="releases.preview_chart", papi="releases.preview_papi",
                    papi_chart="releases.preview_papi_chart", preview=True)


def _previewed(release_id: int) -> Published:
    """The release's snapshot as the portal reads it: the draft, or what was published."""
    from survey.portal.snapshot import draft_snapshot, published_snapshot

    session = get_session()
    document = draft_snapshot(session, release_id) or published_snapshot(session, release_id)
    if document is None:
        raise NotFound(_("This release has nothing to show yet: it is being built, or its build failed."))
    return wrap(document)


@bp.route("/<int:release_id>/preview")
@viewer_required
def preview(release_id: int) -> Any:
    pub = _previewed(release_id)
    if pub.questionnaires:
        return redirect(url_for("releases.preview_unit", release_id=release_id, questionnaire=pub.questionnaires[0],
                                unit=pub.scope))
    return redirect(url_for("releases.preview_papi", release_id=release_id))


@bp.route("/<int:release_id>/preview/<questionnaire>/<unit>/")
@bp.route("/<int:release_id>/preview/<questionnaire>/<unit>/<service>/")
@viewer_required
def preview_unit(release_id: int, questionnaire: str, unit: str, service: str | None = None) -> Any:
    return render_unit_page(_previewed(release_id), questionnaire, unit, service, endpoints=PREVIEW)


@bp.route("/<int:release_id>/preview/<questionnaire>/<unit>/charts/<name>.<fmt>")
@bp.route("/<int:release_id>/preview/<questionnaire>/<unit>/<service>/charts/<name>.<fmt>")
@viewer_required
def preview_chart(release_id: int, questionnaire: str, unit: str, name: str, fmt: str,
                  service: str | None = None) -> Any:
    return chart_response(_previewed(release_id), questionnaire, unit, service, name, fmt)


@bp.route("/<int:release_id>/preview/papi/")
@viewer_required
def preview_papi(release_id: int) -> Any:
    return render_papi_page(_previewed(release_id), endpoints=PREVIEW)


@bp.route("/<int:release_id>/preview/papi/charts/<name>.<fmt>")
@viewer_required
def preview_papi_chart(release_id: int, name: str, fmt: str) -> Any:
    from survey.portal import papi_view
    from survey.portal.pages import _chart_file

    pub = _previewed(release_id)
    builder = papi_view.BUILDERS.get(name)
    made = None if builder is None else builder(pub)
    if made is None:
        raise NotFound(_("This chart does not exist."))
    return _chart_file(pub, made, fmt)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"when": when}


def when(moment: datetime | None) -> str:
    """A moment as staff read it: Vietnam time, with its zone."""
    if moment is None:
        return ""
    return local(moment).strftime("%d/%m/%Y %H:%M") + " (UTC+7)"


def _act(release_id: int, action: str) -> Any:
    session = get_session()
    release = _release(release_id)
    try:
        if action == "publish":
            workflow.publish(session, release, _user())
            message = _("Release no. %(id)s is published.", id=release.id)
        elif action == "rebuild":
            workflow.rebuild(session, release, _user())
            release.job_id = enqueue_after_commit(session, "build_release", release_id=release.id)
            message = _("Release no. %(id)s is being built again.", id=release.id)
        elif action == "discard":
            workflow.discard(session, release, _user())
            message = _("The draft no. %(id)s was discarded.", id=release_id)
        else:
            form = NoticeForm()
            workflow.withdraw(session, release, _user(), form.notice.data or "")
            message = _("Release no. %(id)s is withdrawn; its notice is public.", id=release.id)
        audit.record(f"release.{action}", target=f"release:{release_id}", unit_id=release.scope_unit_id)
        session.commit()
    except AppError:
        session.rollback()
        raise
    flash(message)
    return redirect(url_for("releases.index") if action == "discard" else url_for("releases.detail",
                                                                                      release_id=release_id))


@bp.route("/<int:release_id>/publish", methods=["POST"])
@publisher_required
def publish(release_id: int) -> Any:
    return _act(release_id, "publish")


@bp.route("/<int:release_id>/withdraw", methods=["POST"])
@publisher_required
def withdraw(release_id: int) -> Any:
    return _act(release_id, "withdraw")


@bp.route("/<int:release_id>/rebuild", methods=["POST"])
@analyst_required
def rebuild(release_id: int) -> Any:
    return _act(release_id, "rebuild")


@bp.route("/<int:release_id>/discard", methods=["POST"])
@analyst_required
def discard(release_id: int) -> Any:
    return _act(release_id, "discard")
