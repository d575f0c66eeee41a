"""Issue 12 point 23: no free text, ``text``/``longtext`` answer, dossier code or question marked
``personal`` of ANY questionnaire of the library (every version) reaches any staff download:
response-level data as CSV for Excel, CSV for Vietnamese-locale spreadsheets, XLSX, SPSS and
Stata, and the results and ranking tables (CSV, XLSX; of the kiosk questionnaire, which has the demo's
ratings — another questionnaire's tables with a single rating answer a server error today). A distinct marker is stored in every such
field of every questionnaire (checked in the database first: a marker that was never stored would
prove nothing). The published side — static site, data packages, JSON API — is swept by
tests/test_pii_published.py. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pyreadstat
from openpyxl import load_workbook
from sqlalchemy import select

from questionnaires import load_library
from survey.collect.responses import store_response
from survey.reports.microdata_frame import EXCLUDED_TYPES
from survey.reports.sipas_tables import scored_as_sipas
from survey.store.models import AnswerValue, Channel, Service, Unit

FREE = frozenset({"text", "longtext", "dossier_code"})
assert FREE <= EXCLUDED_TYPES  # the type registry keeps them out of the microdata


def _marker(n: int, question: Any) -> str:
    return f"PIIX{n:03d}Q9" if question.type == "dossier_code" else f"PIIMARK{n:03d}Z"  # fits the dossier pattern


def _answers(questionnaire: Any, start: int) -> tuple[dict[str, Any], dict[str, str]]:
    """A marker in every private field; 'other' chosen wherever offered, so the '… other' texts apply."""
    answers: dict[str, Any] = {}
    markers: dict[str, str] = {}
    for question in questionnaire.questions:
        codes = [str(getattr(c, "value", getattr(c, "code", c))) for c in (getattr(question, "choices", None) or [])]
        if question.type in ("single", "multiple") and "other" in codes:
            answers[question.id] = "other" if question.type == "single" else ["other"]
        elif question.type in ("text", "longtext", "dossier_code") or (
                getattr(question, "personal", False) and question.type not in ("integer", "decimal")):
            marker = _marker(start + len(markers), question)
            answers[question.id] = marker
            markers[marker] = question.id
    return answers, markers


def _texts(fmt: str, body: bytes) -> str:
    """Everything a user of the file can read in it: cells, names, labels, value labels."""
    if fmt in ("sav", "dta"):
        with tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False) as f:
            f.write(body)
        try:
            frame, meta = (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(f.name)
        finally:
            Path(f.name).unlink()
        labels = [str(x) for x in meta.column_labels or []] + [str(v) for d in meta.variable_value_labels.values()
                                                                  for v in d.values()]
        return "\n".join([*map(str, frame.columns), *labels, frame.to_csv()])
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                         for v in row if v is not None)
    return body.decode("utf-8-sig", errors="replace")


def test_no_private_answer_of_any_library_questionnaire_reaches_a_staff_download(app, client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    province = db.scalar(select(Unit).where(Unit.code == "96"))
    service = db.scalar(select(Service).order_by(Service.id))
    assert province is not None and service is not None
    planted: dict[str, tuple[str, str]] = {}  # marker -> (questionnaire, question)
    ids: dict[str, list[str]] = {}  # questionnaire -> the responses planted
    for (qid, _version), questionnaire in sorted(load_library().items()):
        answers, markers = _answers(questionnaire, len(planted))
        assert markers, f"{qid}: no free-text field found to plant a marker in"
        rid = uuid.uuid4()
        result = store_response(db, secret=app.config["SECRET_KEY"], questionnaire=questionnaire,
                                unit_id=province.id, service_id=service.id, channel=Channel.WEB,
                                response_id=rid, answers=answers)
        assert result.outcome == "created", (qid, result)
        ids.setdefault(qid, []).append(str(rid))
        planted.update({m: (qid, q) for m, q in markers.items()})
    stored = " ".join(v for v in db.scalars(select(AnswerValue.value_text).where(AnswerValue.value_text.like("PIIMARK%"))) if v)
    texts = [m for m in planted if m.startswith("PIIMARK")]
    assert texts and all(m in stored for m in texts), sorted(set(texts) - set(stored.split()))
    staff.login()
    questionnaires = sorted({qid for qid, _ in load_library()})
    urls = []
    for qid in questionnaires:
        query = f"questionnaire={qid}&unit=96"
        urls += [f"/staff/export.{fmt}?{query}" for fmt in ("csv", "xlsx", "sav", "dta")]
        urls += [f"/staff/export.csv?{query}&values=labels", f"/staff/export.csv?{query}&locale=vi"]
        if any(scored_as_sipas(q) for (i, _v), q in load_library().items() if i == qid):
            # the satisfaction tables, also of questionnaires with a single rating (one PSU: no interval)
            urls += [f"/staff/{table}.{fmt}?{query}" for table in ("results", "ranking") for fmt in ("csv", "xlsx")]
    leaks: list[str] = []
    exported_rows = 0
    for url in urls:
        resp = client.get(url)
        assert resp.status_code < 500, (url, resp.status_code)
        if url.startswith("/staff/results."):  # one rating of a questionnaire: its point estimates, no interval
            assert resp.status_code == 200, (url, resp.status_code)
        if resp.status_code != 200:
            continue
        fmt = url.split("?")[0].rsplit(".", 1)[1]
        text = _texts(fmt, resp.get_data())
        if url.startswith("/staff/export.csv"):
            qid = url.split("questionnaire=")[1].split("&")[0]
            assert all(rid in text for rid in ids[qid]), url  # the planted rows are in the file, without the text
        exported_rows += text.count("\n")
        leaks += [f"{url}: {marker} ({planted[marker]})" for marker in planted if marker in text]
    assert leaks == []
    assert exported_rows > 1000  # the downloads were real files with the demo's rows, not refusals
