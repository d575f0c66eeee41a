"""Data exports as background jobs (issue 15 point 4), on SQLite and PostgreSQL: the file a job
streams is the file the direct download builds in the request — byte for byte for the three CSVs,
cell for cell for XLSX, value for value for SPSS — with the same filters, labels and exclusions;
the job runs from the queue (dequeued and executed as the worker does), shows its progress, is its
requester's only, and its file is removed once its kept time is over."""

from __future__ import annotations

import io
import re
import tempfile
import uuid
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyreadstat
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.collect.responses import store_response
from survey.periods import quarter
from survey.staff.export_jobs import FORMATS
from survey.store.catalogue import latest
from survey.store.export_records import DONE, EXPIRED, QUEUED, ExportJob
from survey.store.models import Channel, Response, Service, Unit, utcnow

CHOICE = {"questionnaire": "sipas-kiosk", "unit": "cu-967"}


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 37 responses, so a few hundred take many chunks (and one partial last one)."""
    monkeypatch.setattr("survey.reports.microdata_stream.CHUNK", 37)


def _run_queued(app: Flask) -> None:
    """Do what ``hailong worker`` does: take each queued job and run it."""
    huey = app.extensions["hailong.queue"]
    with app.app_context():  # the worker's app (``hailong worker`` sets it up from the same settings)
        while (task := huey.dequeue()) is not None:
            huey.execute(task)


def _prepare(client: FlaskClient, app: Flask, **choice: str) -> ExportJob:
    response = client.post("/staff/export/jobs", data={**CHOICE, **choice})
    assert response.status_code == 303, response.get_data(as_text=True)
    export_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    with Session(app.extensions["hailong.engine"]) as session:
        job = session.get(ExportJob, export_id)
        assert job is not None and job.status == QUEUED  # on the queue, not written in the request
    _run_queued(app)
    with Session(app.extensions["hailong.engine"], expire_on_commit=False) as session:
        job = session.get(ExportJob, export_id)
        assert job is not None
        return job


def _tricky_response(db: Session) -> uuid.UUID:
    """A rating with a unit name to normalise, a personal answer, free text and a dossier code."""
    kiosk = latest("sipas-kiosk")
    unit = db.scalar(select(Unit).where(Unit.code == "cu-32065"))
    service = db.scalar(select(Service).where(Service.code == "TTHC-XA"))
    assert unit is not None and service is not None
    rid = uuid.uuid4()
    store_response(db, secret="s", questionnaire=kiosk, unit_id=unit.id, service_id=service.id, channel=Channel.WEB,
                   response_id=rid, answers={"dossier_code": "000.00.12.H12-260101-0099", "overall": 4,
                                             "servant_conduct": 2, "comment": "Chị Lan ở quầy 3, số 0912345678"})
    return rid


def _file(client: FlaskClient, export_id: int) -> bytes:
    """The job's file as downloaded (the response closed, as a browser closes the download)."""
    response = client.get(f"/staff/export/jobs/{export_id}/file")
    try:
        assert response.status_code == 200, response.status_code
        return response.get_data()
    finally:
        response.close()


def _query(choice: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in {**CHOICE, **choice}.items())


def test_the_jobs_csv_files_are_the_direct_downloads_byte_for_byte(app, client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    rid = _tricky_response(db)
    staff.login()
    some = db.scalar(select(Response.submitted_at).order_by(Response.submitted_at.desc()).limit(1))
    period = quarter(some)
    cases: list[tuple[dict[str, str], str, str]] = [  # the job's choice, the direct URL's extra query, its file
        ({"format": "csv-excel"}, "", "csv"),
        ({"format": "csv"}, "excel=0", "csv"),
        ({"format": "csv-vi", "values": "labels"}, "locale=vi&values=labels", "csv"),
        ({"format": "csv-excel", "values": "labels", "service": "TTHC-XA"}, "values=labels&service=TTHC-XA", "csv"),
        ({"format": "csv-vi", "period": period}, f"locale=vi&period={period}", "csv"),
    ]
    for choice, extra, suffix in cases:
        job = _prepare(client, app, **choice)
        assert job.status == DONE and job.rows_total == job.rows_done
        got = client.get(f"/staff/export/jobs/{job.id}/file")
        got.close()
        assert f'du-lieu_sipas-kiosk_cu-967.{suffix}' in got.headers["Content-Disposition"]
        direct_choice = {k: v for k, v in choice.items() if k in ("service", "period", "values")}
        direct = client.get(f"/staff/export.{suffix}?{_query(direct_choice)}&{extra}")
        assert direct.status_code == 200
        body = _file(client, job.id)
        assert body == direct.get_data(), choice
        assert body.count(b"\r\n") - 1 == job.rows_done > 0, choice  # header + one line a response
        for personal in ("0912345678", "Chị Lan", "H12-260101-0099"):
            assert personal.encode() not in body
        if "service" in choice:
            assert str(rid).encode() in body  # the rating stored above, in the file


def test_the_jobs_xlsx_and_spss_files_hold_what_the_direct_downloads_hold(app, client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    _tricky_response(db)
    staff.login()
    job = _prepare(client, app, format="xlsx")
    streamed = load_workbook(io.BytesIO(_file(client, job.id)))
    direct = load_workbook(io.BytesIO(client.get(f"/staff/export.xlsx?{_query({})}").get_data()))
    for sheet in ("data", "variables"):
        assert [[c.value for c in row] for row in streamed[sheet].iter_rows()] == \
               [[c.value for c in row] for row in direct[sheet].iter_rows()]
    assert streamed["data"].freeze_panes == "A2" and streamed["data"]["A1"].font.b
    assert streamed["data"].max_row == job.rows_done + 1

    job = _prepare(client, app, format="sav", values="codes")
    frames = []
    for body in (_file(client, job.id),
                 client.get(f"/staff/export.sav?{_query({})}").get_data()):
        with tempfile.NamedTemporaryFile(suffix=".sav", delete=False) as f:
            f.write(body)
        try:
            frames.append(pyreadstat.read_sav(f.name))
        finally:
            Path(f.name).unlink()
    (job_frame, job_meta), (direct_frame, direct_meta) = frames
    assert job_frame.equals(direct_frame) and job_meta.variable_value_labels == direct_meta.variable_value_labels


def test_a_queued_job_page_is_followed_by_the_shared_progress_script(app, client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    """Before the worker takes it, the job's page has the section ``job-progress.js`` follows (the
    release builds' script too), and its JSON gives the status line the page shows."""
    staff.login()
    response = client.post("/staff/export/jobs?lang=en", data={**CHOICE, "format": "csv"})
    assert response.status_code == 303
    export_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    page = client.get(f"/staff/export/jobs/{export_id}?lang=en").get_data(as_text=True)
    assert "data-job-progress" in page and "js/job-progress.js" in page
    shown = re.search(r'<p id="export-status" role="status"[^>]*>([^<]*)</p>', page)
    assert shown is not None and shown.group(1) == "0 of 0 responses written."
    progress: dict[str, Any] = client.get(f"/staff/export/jobs/{export_id}/progress.json?lang=en").get_json()
    assert progress["running"] is True and progress["message"] == shown.group(1)
    _run_queued(app)
    progress = client.get(f"/staff/export/jobs/{export_id}/progress.json?lang=en").get_json()
    assert progress["running"] is False and progress["rows_done"] > 0
    assert progress["message"] == f"{progress['rows_done']:,} of {progress['rows_total']:,} responses written."
    assert "data-job-progress" not in client.get(f"/staff/export/jobs/{export_id}").get_data(as_text=True)


class _FormControls(HTMLParser):
    """The named controls of a page's form (tag, name, id) and the ids its labels name."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.controls: list[tuple[str, str, str]] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = found.get("id") == self.form_id
        elif self.inside and tag == "label" and found.get("for"):
            self.labelled.add(found["for"])
        elif self.inside and tag in ("input", "select") and found.get("name") and found.get("type") != "hidden":
            self.controls.append((tag, found["name"], found.get("id", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def _form(client: FlaskClient, url: str, form_id: str) -> _FormControls:
    parser = _FormControls(form_id)
    parser.feed(client.get(url).get_data(as_text=True))
    return parser


def test_the_background_form_asks_what_the_direct_download_asks_plus_the_format(client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    """One set of choice fields (staff/_export_choice.html) for both forms, each field labelled."""
    staff.login()
    direct = _form(client, "/staff/export", "export-form")
    background = _form(client, "/staff/export/jobs", "export-job-form")
    choice = ["questionnaire", "unit", "service", "period", "values", "values"]
    assert [name for _tag, name, _id in direct.controls] == choice
    assert [name for _tag, name, _id in background.controls if name != "format"] == choice
    assert [c for c in background.controls if c[1] != "format"] == direct.controls
    assert len([c for c in background.controls if c[1] == "format"]) == len(FORMATS)
    for parser in (direct, background):
        assert {control_id for _tag, _name, control_id in parser.controls} <= parser.labelled


def test_progress_ownership_and_removal_after_the_kept_time(app, client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    from survey.reports.export_runner import export_folder, remove_expired
    from tests.release_actions import add_user

    staff.login()
    page = client.get("/staff/export").get_data(as_text=True)
    assert 'href="/staff/export/jobs"' in page
    form_page = client.get("/staff/export/jobs").get_data(as_text=True)
    assert 'name="format"' in form_page and "Stata (.dta)" in form_page
    job = _prepare(client, app, format="csv-excel")
    progress: dict[str, Any] = client.get(f"/staff/export/jobs/{job.id}/progress.json").get_json()
    assert progress["status"] == DONE and progress["progress"] == 100 and not progress["running"]
    assert progress["rows_done"] == progress["rows_total"] == job.rows_done
    detail = client.get(f"/staff/export/jobs/{job.id}").get_data(as_text=True)
    assert f"/staff/export/jobs/{job.id}/file" in detail and "du-lieu_sipas-kiosk_cu-967.csv" in detail

    add_user(app.extensions["hailong.engine"], "canbo2", next(iter(_staff_role())))
    other = app.test_client()
    other.post("/auth/login", data={"username": "canbo2", "password": "hailong-demo"})
    for path in ("", "/progress.json", "/file"):  # another account does not see it
        assert other.get(f"/staff/export/jobs/{job.id}{path}").status_code == 404

    path = export_folder(app) / job.file_name
    assert path.is_file()
    stray = export_folder(app) / "999-stray.csv"
    stray.write_text("x")
    assert remove_expired(app) == 1 and not stray.exists() and path.is_file()  # kept while within its time
    later = utcnow() + timedelta(hours=float(app.config["EXPORT_KEEP_HOURS"]), minutes=1)
    assert remove_expired(app, now=later) == 1 and not path.exists()
    with Session(app.extensions["hailong.engine"]) as session:
        row = session.get(ExportJob, job.id)
        assert row is not None and row.status == EXPIRED
    gone = client.get(f"/staff/export/jobs/{job.id}/file")
    assert gone.status_code == 404 and "chuẩn bị lại" in gone.get_data(as_text=True)


def _staff_role() -> Any:
    from survey.store.models import Role

    return [Role.STAFF]


def test_bad_choices_are_refused_with_a_message(app, client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    bad_format = client.post("/staff/export/jobs", data={**CHOICE, "format": "pdf"})
    assert bad_format.status_code == 400 and "định dạng" in bad_format.get_data(as_text=True)
    assert client.post("/staff/export/jobs", data={**CHOICE, "period": "Q7"}).status_code == 400
    assert client.post("/staff/export/jobs", data={**CHOICE, "service": "KHONG-CO"}).status_code == 404
    assert client.post("/staff/export/jobs", data={**CHOICE, "questionnaire": "khong-co"}).status_code == 404
    with Session(app.extensions["hailong.engine"]) as session:
        assert session.scalars(select(ExportJob)).all() == []


def test_an_officer_cannot_prepare_an_export_outside_the_scope(app, client, db, demo) -> None:  # type: ignore[no-untyped-def]
    from survey.auth import hash_password
    from survey.store.models import Role, User

    commune = db.scalar(select(Unit).where(Unit.code == "31825"))
    assert commune is not None
    db.add(User(username="canbo-xa", password_hash=hash_password("hailong-demo"), role=Role.STAFF,
                view_unit_id=commune.id))
    db.commit()
    client.post("/auth/login", data={"username": "canbo-xa", "password": "hailong-demo"})
    assert client.post("/staff/export/jobs", data={**CHOICE, "unit": "32128"}).status_code == 404  # another commune
    assert client.post("/staff/export/jobs", data={**CHOICE, "unit": "96"}).status_code == 404  # the province
    job = _prepare(client, app, unit="31825", format="csv")
    assert job.status == DONE and job.choice["unit"] == "31825"
    from survey.reports.sipas_tables import subtree_ids

    body = _file(client, job.id).decode("utf-8")
    inside = set(db.scalars(select(Unit.code).where(Unit.id.in_(subtree_ids(db, commune)))))
    assert {line.split(",")[2] for line in body.splitlines()[1:]} <= inside  # only what the commune counts


def test_a_failed_job_says_so_and_logs_no_data(app, client, demo, staff, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    """A job that fails is marked failed with the kind of error; the log says where it failed,
    never the exception's message, which may quote a cell (an answer, a phone number)."""
    import logging

    from survey.reports import export_runner
    from survey.store.export_records import FAILED

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        cell = "Chị " + "Lan, số " + "0912" + "345678"  # built here: a traceback shows source lines
        raise ValueError(f"không ghi được ô {cell!r}")

    monkeypatch.setattr(export_runner, "_write", broken)
    staff.login()
    with caplog.at_level(logging.DEBUG):
        job = _prepare(client, app, format="csv")
    assert job.status == FAILED and job.error == "ValueError"
    assert "export" in caplog.text and "ValueError" in caplog.text  # the kind of error and where
    assert "0912345678" not in caplog.text and "Chị Lan" not in caplog.text
    assert not list(export_runner.export_folder(app).glob("*.part"))  # no partial file left behind
    detail = client.get(f"/staff/export/jobs/{job.id}").get_data(as_text=True)
    assert "0912345678" not in detail


def test_a_failing_writer_process_fails_the_job_and_logs_no_data(app, client, demo, staff, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL the CSV is written by a process of its own (``COPY``): when it fails (here
    on a cell PostgreSQL cannot read, whose text its error message would quote), the job is
    marked failed, no partial file stays and neither the log nor the page holds the cell."""
    import logging

    from survey.reports import export_runner
    from survey.reports.microdata_sql import CsvQuery
    from survey.store.export_records import FAILED

    if app.extensions["hailong.engine"].dialect.name != "postgresql":
        pytest.skip("the writer process is PostgreSQL's (COPY)")
    real = export_runner.copy_statement

    def unreadable(*args: Any, **kwargs: Any) -> CsvQuery:
        query = real(*args, **kwargs)
        return CsvQuery("SELECT CAST('Chị Lan ' || '0912' || '345678' AS integer)", query.header, query.delimiter)

    monkeypatch.setattr(export_runner, "copy_statement", unreadable)
    staff.login()
    with caplog.at_level(logging.DEBUG):
        job = _prepare(client, app, format="csv-excel")
    assert job.status == FAILED and job.error == "RuntimeError"
    assert "0912345678" not in caplog.text and "Chị Lan" not in caplog.text
    assert not list(export_runner.export_folder(app).glob("*.part"))
    assert "0912345678" not in client.get(f"/staff/export/jobs/{job.id}").get_data(as_text=True)
