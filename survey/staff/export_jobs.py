"""Data for analysis prepared in the background (issue 15 point 4): ``/staff/export/jobs``.

The same choice as the direct download of ``/staff/export`` (questionnaire, unit, service,
quarter, codes or answer texts) and a format; the file is written by the queue's
``export_microdata`` job (:mod:`survey.reports.export_runner`) — in constant memory for CSV and XLSX
— while the page shows its progress (``job-progress.js``, as the release builds), then
offers it for download for ``EXPORT_KEEP_HOURS`` hours. A job is its requester's: another
account gets 404 for it. Every download is written to the audit log (``export.download``).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from exports.renderers import XLSX_MIMETYPE
from survey.auth import require_unit_in_scope, staff_required
from survey.errors import AppError, NotFound
from survey.i18n import current_language
from survey.periods import is_quarter
from survey.portal.jobs import enqueue_after_commit
from survey.reports.export_runner import expired, export_folder, remove_expired
from survey.staff.release_views import when
from survey.staff.workspace import _choices, _old_units, _questionnaire, _top
from survey.store import audit
from survey.store.catalogue import in_use
from survey.store.db import get_session
from survey.store.export_records import DONE, EXPIRED, FAILED, QUEUED, RUNNING, ExportJob
from survey.store.models import Service, Unit

bp = Blueprint("export_jobs", __name__, url_prefix="/staff/export/jobs")

FORMATS = ("csv-excel", "csv-vi", "csv", "xlsx", "sav", "dta")
MIMETYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_MIMETYPE, "sav": "application/x-spss-sav",
             "dta": "application/x-stata-dta"}


def format_names() -> dict[str, str]:
    return {"csv-excel": _("CSV for Excel"), "csv-vi": _("CSV for Excel set to Vietnamese (; and decimal comma)"),
            "csv": _("CSV for programs (UTF-8, no byte-order mark)"), "xlsx": _("Excel (XLSX)"),
            "sav": _("SPSS (.sav)"), "dta": _("Stata (.dta)")}


def status_names() -> dict[str, str]:
    return {QUEUED: _("Waiting for the worker"), RUNNING: _("Being written"), DONE: _("Ready"),
            FAILED: _("Failed"), EXPIRED: _("Removed (kept time over)")}


def _page(status: int = 200) -> Any:
    units, services, _questionnaires = _choices()
    questionnaires = [(q.id, q.title.get(current_language())) for q in in_use(get_session())]
    jobs = get_session().scalars(select(ExportJob).where(ExportJob.user_id == current_user.id)
                                 .order_by(ExportJob.id.desc()).limit(20)).all()
    return render_template("staff/export_jobs.html", units=units, old_units=_old_units(), services=services,
                           questionnaires=questionnaires, jobs=jobs, formats=format_names(),
                           statuses=status_names(), when=when,
                           keep_hours=format_decimal(current_app.config["EXPORT_KEEP_HOURS"])), status


@bp.route("", methods=["GET"])
@staff_required
def index() -> Any:
    return _page()


def _choice() -> tuple[ExportJob, Unit]:
    """The export the posted form asks for, checked as the direct download checks it."""
    session, form = get_session(), request.form
    questionnaire = _questionnaire(form.get("questionnaire", "sipas-kiosk"))
    code = form.get("unit", "").strip()
    unit = session.scalar(select(Unit).where(Unit.code == code)) if code else _top()
    if unit is None:
        raise NotFound(_("Choose a unit."))
    require_unit_in_scope(unit)
    service_code = form.get("service", "").strip()
    if service_code and session.scalar(select(Service.id).where(Service.code == service_code)) is None:
        raise NotFound(_("Unknown service."))
    period = form.get("period", "").strip().upper()
    if period and not is_quarter(period):
        raise AppError(_("A period is a quarter such as 2026-Q3."))
    fmt = form.get("format", "csv-excel")
    if fmt not in FORMATS:
        raise AppError(_("Choose one of the file formats offered."))
    values = "labels" if form.get("values") == "labels" else "codes"
    job = ExportJob(token=secrets.token_hex(16), user_id=current_user.id, unit_id=unit.id,
                    questionnaire_id=questionnaire.id, fmt=fmt, status=QUEUED,
                    choice={"unit": unit.code, "service": service_code, "period": period, "values": values,
                            "language": current_language()})
    return job, unit


@bp.route("", methods=["POST"])
@staff_required
def create() -> Any:
    remove_expired(current_app)
    job, _unit = _choice()
    session = get_session()
    session.add(job)
    session.flush()
    job.job_id = enqueue_after_commit(session, "export_microdata", export_id=job.id)
    session.commit()
    return redirect(url_for("export_jobs.detail", export_id=job.id), code=303)


def _job(export_id: int) -> ExportJob:
    """The signed-in account's own export ``export_id`` (404 for anyone else's)."""
    job = get_session().get(ExportJob, export_id)
    if job is None or job.user_id != current_user.id:
        raise NotFound(_("This page does not exist."))
    return job


@bp.route("/<int:export_id>")
@staff_required
def detail(export_id: int) -> Any:
    job = _job(export_id)
    return render_template("staff/export_job.html", job=job, formats=format_names(), statuses=status_names(),
                           expired=expired(job), when=when, number=lambda n: format_decimal(n or 0),
                           status_line=_status_line(job))


def _status_line(job: ExportJob) -> str:
    """The progress's words, on the page and in its JSON (``job-progress.js`` shows them)."""
    return _("%(done)s of %(total)s responses written.", done=format_decimal(job.rows_done or 0),
             total=format_decimal(job.rows_total or 0))


@bp.route("/<int:export_id>/progress.json")
@staff_required
def progress(export_id: int) -> Any:
    job = _job(export_id)
    return jsonify({"id": job.id, "status": job.status, "progress": job.progress, "rows_done": job.rows_done,
                    "rows_total": job.rows_total, "stage": status_names()[job.status],
                    "message": _status_line(job), "running": job.status in (QUEUED, RUNNING)})


@bp.route("/<int:export_id>/file")
@staff_required
def download(export_id: int) -> Any:
    job = _job(export_id)
    if job.status != DONE or expired(job):
        raise NotFound(_("This file is not ready, or it was removed after its kept time: prepare it again."))
    unit = get_session().get(Unit, job.unit_id) if job.unit_id is not None else None
    if unit is None:
        raise NotFound(_("Choose a unit."))
    require_unit_in_scope(unit)
    path = export_folder(current_app) / job.file_name
    if not path.is_file():
        raise NotFound(_("This file is not ready, or it was removed after its kept time: prepare it again."))
    audit.record("export.download", target=f"microdata:export-job:{job.id}", unit_id=unit.id,
                 details={"format": job.suffix, "questionnaire": job.questionnaire_id[:80],
                          "period": str(job.choice.get("period") or "")[:10], "rows": job.rows_done})
    get_session().commit()
    return send_file(path, mimetype=MIMETYPES[job.suffix], as_attachment=True,
                     download_name=job.download_name or job.file_name, max_age=0)
