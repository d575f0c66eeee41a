"""The CSV export written by PostgreSQL (``COPY``, :mod:`survey.reports.microdata_sql`) is the
in-request download (:func:`exports.microdata.write` of :func:`survey.reports.microdata_frame.microdata`)
byte for byte, for every question type and both kinds of values, on data made to trip a
hand-written encoder: a multiple choice, text-coded choices, yes/no, whole and decimal numbers,
weights that are not whole, moments with and without microseconds, a unit name in decomposed
Unicode with a comma, quotes and a line break, a formula-like flag. PostgreSQL only (SQLite
exports are written by Python, tests/test_export_jobs.py)."""

from __future__ import annotations

import io
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from exports.microdata import write
from survey.collect.responses import store_response
from survey.reports.export_copy import copy_rows
from survey.reports.microdata_frame import microdata
from survey.reports.microdata_sql import TEXT_FORMATS
from survey.reports.microdata_stream import copy_statement
from survey.store.catalogue import latest
from survey.store.models import Channel, Response, ReviewStatus, Service, Unit

ANSWERS: list[dict[str, Any]] = [
    {"consent": True, "child_grade": 3, "school_minutes": 25, "full_day": True, "s_distance": 8, "s_safe": 5,
     "extra_fees": ["fund", "uniform"], "sex": "female", "age": 41, "ethnicity": "khmer"},
    {"consent": True, "child_grade": 1, "full_day": False, "s_teacher_care": 2, "extra_fees": ["other"],
     "sex": "male", "occupation": "farmer"},
    {"consent": True, "extra_fees": [], "education": "university", "age": 29},
    {"consent": True},
]


def _store(db: Session) -> Unit:
    school = latest("service-school")
    unit = db.scalar(select(Unit).where(Unit.code == "cu-32065"))
    service = db.scalar(select(Service).where(Service.code == "TTHC-XA"))
    assert unit is not None and service is not None
    moments = [datetime(2026, 1, 5, 3, 4, 5, tzinfo=UTC), datetime(2026, 2, 6, 17, 30, 0, 123456, tzinfo=UTC),
               datetime(2026, 3, 31, 16, 59, 59, 1, tzinfo=UTC), datetime(2025, 12, 31, 16, 59, 59, 999999, tzinfo=UTC)]
    weights = [1.0, 0.25, 1234.5678, 3e-05]
    flags = [None, "=burst", None, "-x"]
    for answers, moment, weight, flag in zip(ANSWERS, moments, weights, flags, strict=True):
        rid = uuid.uuid4()
        store_response(db, secret="s", questionnaire=school, unit_id=unit.id, service_id=service.id,
                       channel=Channel.ENUMERATOR, response_id=rid, answers=answers, submitted_at=moment)
        db.execute(update(Response).where(Response.id == rid)
                   .values(weight=weight, flag=flag, review_status=ReviewStatus.APPROVED))
    unit.name = unicodedata.normalize("NFD", 'Phường "Sông Đốc", Cà Mau\nmới')
    db.commit()
    return unit


def _copied(engine_url: str, fmt: str, query: Any) -> bytes:
    out = io.BytesIO()
    out.write(query.header)
    with psycopg.connect(engine_url) as conn:
        copy_rows(conn, query.sql, query.delimiter, out, every=1000, report=lambda _n: None)
    return out.getvalue()


@pytest.mark.parametrize("labels", [False, True])
def test_the_copied_csv_is_the_in_request_download(app: Flask, db: Session, demo: str, labels: bool) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    unit = _store(db)
    url = db.get_bind().engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    school = latest("service-school")
    for language in ("vi", "en"):
        for period in (None, "2026-Q1"):
            with app.app_context(), force_locale(language):
                for fmt in TEXT_FORMATS:
                    data = microdata(db, school, unit, service=None, period=period, language=language, labels=labels)
                    direct = write(fmt, data).body
                    query = copy_statement(db, school, unit, service=None, period=period, language=language,
                                           labels=labels, fmt=fmt)
                    copied = _copied(url, fmt, query)
                    assert copied.split(b"\r\n") == direct.split(b"\r\n"), (fmt, language, period)
                    assert copied == direct
                    assert direct.count(b"\r\n") == len(data.frame) + 1  # the header and the rows
                    assert direct.count(b"\n") == 2 * len(data.frame) + 1  # the break in the unit's name, kept
    assert len(data.frame) == 3  # the quarter holds three of the four (the last is 2025-12-31 23:59:59.999999 in Vietnam)
