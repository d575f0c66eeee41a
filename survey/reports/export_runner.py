"""The microdata export as a background job (issue 15 point 4): the body of the queue's
``export_microdata`` task (:mod:`survey.portal.jobs`) and the removal of expired files.

A job reads what :func:`survey.reports.microdata_frame.microdata` would — the same responses,
columns, labels and exclusions — on the read replica when there is one (as a release build
does), and writes the file as it reads, in constant memory: on PostgreSQL the three CSVs are
written by PostgreSQL itself (``COPY`` of a query that writes every cell,
:mod:`survey.reports.microdata_sql`) into the file by a lean process of their own
(:mod:`survey.reports.export_copy`, psycopg only: its memory, not the worker's, is the export's);
on SQLite the CSVs, and XLSX everywhere, row by row from the streamed rows
(:mod:`survey.reports.microdata_stream`, :mod:`exports.streaming`); SPSS and Stata from the
whole frame in memory, since pyreadstat writes a DataFrame at once. Progress (rows written of the
rows there are) is committed as it goes, so the staff page can show it. The file goes to the
instance folder's ``exports/`` (written to ``….part`` and renamed, so a half-written file is never
served) and is kept ``EXPORT_KEEP_HOURS`` hours after it is done (:func:`remove_expired`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import URL, select

from exports.microdata import write
from exports.streaming import STREAMED, write_rows
from survey.reports.microdata_frame import microdata
from survey.reports.microdata_sql import TEXT_FORMATS, CsvQuery
from survey.reports.microdata_stream import copy_statement, stream_microdata
from survey.store.catalogue import latest
from survey.store.db import reading_sessionmaker
from survey.store.export_records import DONE, EXPIRED, FAILED, QUEUED, RUNNING, ExportJob
from survey.store.models import Service, Unit, utcnow
from survey.store.units import UnitMap

log = logging.getLogger(__name__)

PROGRESS_EVERY = 10_000
"""Rows between two progress updates."""


def export_folder(app: Flask) -> Path:
    """Where the export files are: ``exports/`` in the instance folder (owner-only)."""
    folder = Path(app.instance_path) / "exports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _aware(moment: datetime | None) -> datetime | None:
    """A stored moment as an aware one (SQLite gives them back naive, in UTC)."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def expired(job: ExportJob, now: datetime | None = None) -> bool:
    expires = _aware(job.expires_at)
    return job.status == EXPIRED or (expires is not None and expires <= (now or utcnow()))


def run(app: Flask, export_id: int) -> str:
    """Write export ``export_id``'s file. Safe to run twice: a job that is no longer queued is
    left as it is. Returns its status."""
    factory = app.extensions["hailong.sessionmaker"]
    with factory() as session:
        job = session.get(ExportJob, export_id)
        if job is None:
            return "missing"
        if job.status != QUEUED:
            return job.status
        job.status = RUNNING
        session.commit()
        target = export_folder(app) / job.file_name
        partial = target.with_name(target.name + ".part")
        try:
            with force_locale(str(job.choice.get("language") or app.config["DEFAULT_LANGUAGE"])):
                rows, name = _write(app, job, partial)
            os.replace(partial, target)
        except Exception as exc:
            session.rollback()
            partial.unlink(missing_ok=True)
            # Where it failed, never the exception's message: that may quote a cell of the data
            # (an answer, a dossier code), and personal data never goes to the logs.
            where = "".join(traceback.format_tb(exc.__traceback__)[-5:])
            log.error("export %s failed: %s\n%s", export_id, type(exc).__name__, where)
            _update(factory, export_id, status=FAILED, error=type(exc).__name__, finished_at=utcnow())
            return FAILED
        now = utcnow()
        _update(factory, export_id, status=DONE, rows_done=rows, rows_total=rows, size=target.stat().st_size,
                download_name=name, finished_at=now,
                expires_at=now + timedelta(hours=float(app.config["EXPORT_KEEP_HOURS"])))
        return DONE


def _update(factory: Any, export_id: int, **values: Any) -> None:
    with factory() as other:
        row = other.get(ExportJob, export_id)
        if row is not None:
            for key, value in values.items():
                setattr(row, key, value)
            other.commit()


def _write(app: Flask, job: ExportJob, path: Path) -> tuple[int, str]:
    """Write the job's file to ``path``; returns its number of rows and the name to download it as."""
    factory = app.extensions["hailong.sessionmaker"]
    choice = job.choice
    language = str(choice.get("language") or app.config["DEFAULT_LANGUAGE"])
    labels = choice.get("values") == "labels"
    with reading_sessionmaker(app)() as reader:
        questionnaire = latest(job.questionnaire_id)
        unit = reader.scalar(select(Unit).where(Unit.code == choice["unit"]))
        if unit is None:
            raise LookupError(_("Choose a unit."))
        code = choice.get("service") or ""
        service = reader.scalar(select(Service).where(Service.code == code)) if code else None
        period = choice.get("period") or None
        name = f"du-lieu_{job.questionnaire_id}_{unit.code}.{job.suffix}"
        # SPSS, Stata: pyreadstat writes a whole DataFrame; a unit of today's map with a split old
        # commune inside is re-aggregated by share (microdata_frame), which the stream does not do
        if job.fmt not in STREAMED or UnitMap(reader).splits_in(unit):
            data = microdata(reader, questionnaire, unit, service=service, period=period, language=language,
                             labels=labels)
            _update(factory, job.id, rows_total=len(data.frame))
            path.write_bytes(write(job.fmt, data).body)
            return len(data.frame), name
        stream = stream_microdata(reader, questionnaire, unit, service=service, period=period, language=language,
                                  labels=labels)
        _update(factory, job.id, rows_total=stream.count())
        progress = functools.partial(_progress, factory, job.id)
        if job.fmt in TEXT_FORMATS and reader.get_bind().dialect.name == "postgresql":
            query = copy_statement(reader, questionnaire, unit, service=service, period=period, language=language,
                                   labels=labels, fmt=job.fmt)
            path.write_bytes(query.header)
            return _copy(reader.get_bind().engine.url, query, path, progress), name
        with path.open("wb") as out:
            rows = write_rows(job.fmt, stream.variables, stream.rows(), out, every=PROGRESS_EVERY, progress=progress)
        return rows, name


def _progress(factory: Any, export_id: int, rows: int) -> None:
    _update(factory, export_id, rows_done=rows)


def _copy(url: URL, query: CsvQuery, path: Path, progress: Callable[[int], None]) -> int:
    """Append the rows of ``query`` to ``path`` in the writer process
    (:mod:`survey.reports.export_copy`), telling ``progress`` how far it is; returns the rows.

    A process of its own so that the memory of the process that writes is psycopg's, not the
    worker's app (≈ 40 MB against ≈ 300 MB); the connection string goes on its standard input."""
    job = {"dsn": url.set(drivername="postgresql").render_as_string(hide_password=False), "sql": query.sql,
           "delimiter": query.delimiter, "path": str(path), "every": PROGRESS_EVERY}
    root = str(Path(__file__).resolve().parents[2])  # where the ``survey`` package is
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    with subprocess.Popen([sys.executable, "-m", "survey.reports.export_copy"], stdin=subprocess.PIPE,  # noqa: S603
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True) as child:
        stdin, stdout, stderr = (cast(IO[str], pipe) for pipe in (child.stdin, child.stdout, child.stderr))
        stdin.write(json.dumps(job))
        stdin.close()
        rows = None
        for line in stdout:
            kind, _, number = line.partition(" ")
            if kind == "progress":
                progress(int(number))
            elif kind == "done":
                rows, peak_kb = (int(n) for n in number.split())
                log.info("export writer: %d rows, peak RSS %.0f MB", rows, peak_kb / 1024,
                         extra={"writer_peak_mb": peak_kb / 1024})
        failure = stderr.read().strip()
    if child.returncode != 0 or rows is None:
        raise RuntimeError(failure or f"the export writer ended with status {child.returncode}")
    return rows


def remove_expired(app: Flask, now: datetime | None = None) -> int:
    """Remove the files of the exports kept past their time (the rows stay, ``expired``), and
    any file in ``exports/`` no job knows (a job removed, a crash mid-write). Returns the number
    of files removed."""
    now = now or utcnow()
    folder = export_folder(app)
    removed = 0
    with app.extensions["hailong.sessionmaker"]() as session:
        jobs = session.scalars(select(ExportJob).where(ExportJob.status.in_((QUEUED, RUNNING, DONE)))).all()
        kept: set[str] = set()
        for job in jobs:
            if job.status == DONE and expired(job, now):
                job.status = EXPIRED
            else:
                kept.add(job.file_name)
                kept.add(job.file_name + ".part")
        session.commit()
    for path in folder.iterdir():
        if path.name not in kept and path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
