"""Personal data never reach a published artifact.

Free-text answers full of personal data (names, phone numbers, dossier codes — as citizens write
them into a comment box) are stored on approved responses of the released questionnaire, dossier
codes are given to ratings (stored as their HMAC only), and a staff account carries a full name.
The personal data to look for are then read back from the database itself — every phone number,
dossier code and name in the stored free text, and the accounts' names — and every published
artifact is scanned for them: the whole static site (pages in both languages, charts with their
CSV/JSON, the widget and desk pages, the data packages and their ZIP, the PDF reports as text) and
the JSON API. The scan is shown to work on a planted leak first.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.auth import hash_password
from survey.collect.responses import dossier_key
from survey.portal import static_site
from survey.store.models import Answer, AnswerValue, Response, Role, User
from tests.opendata_actions import publish_release
from tests.release_actions import release_app, small_province

FREE_TEXT = [
    "Tôi là Nguyễn Thị Bích Ngọc, SĐT 0913 456 789, hồ sơ 000.00.12.H12-260815-0042 trả trễ 3 ngày.",
    "Cán bộ Trần Văn Hùng rất nhiệt tình. Gọi lại cho tôi: 0987.654.321 hoặc +84 912 345 678.",
    "Anh Phạm Quốc Bảo ở Ấp 3 nhờ nộp hộ, mã H12.99-260301-0007, zalo 0868-123-456.",
]
DOSSIER_CODES = ["000.00.12.H12-260815-0042", "000.00.31.H12-260902-0113"]
STAFF_NAME = "Lê Thị Mai Phương"

PHONE = re.compile(r"(?:\+84|\b0)(?:[\s.\-]?\d){9}\b")
DOSSIER = re.compile(r"\b[0-9A-Z]{2,}(?:[.\-][0-9A-Z]+){2,}\b")
_UPPER = "A-ZÀ-ỸĐ"
NAME = re.compile(rf"\b[{_UPPER}][^\s,.:;]+(?:\s+[{_UPPER}][^\s,.:;]+){{2,3}}")


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


def seed_personal_data(app: Flask) -> None:
    engine = app.extensions["hailong.engine"]
    with Session(engine) as session:
        rows = session.scalars(select(Response).where(Response.submitted_at >= datetime(2026, 1, 1, tzinfo=UTC))
                               .order_by(Response.id).limit(len(FREE_TEXT) + len(DOSSIER_CODES))).all()
        for response, text in zip(rows, FREE_TEXT, strict=False):
            session.add(Answer(response_id=response.id, question_id="comment", value_num=None, value_text=text))
        for response, code in zip(rows[len(FREE_TEXT):], DOSSIER_CODES, strict=True):
            response.dossier_key = dossier_key(app.config["SECRET_KEY"], response.questionnaire_id, code)
        session.add(User(username="mai.phuong", full_name=STAFF_NAME, password_hash=hash_password("x" * 12),
                         role=Role.STAFF))
        session.commit()


def personal_data(app: Flask) -> set[str]:
    """What must never be published, read back from the stored data."""
    needles: set[str] = set(DOSSIER_CODES)  # the database keeps only their HMAC: the test knows them
    with Session(app.extensions["hailong.engine"]) as session:
        texts = [t for t in session.scalars(select(AnswerValue.value_text).where(AnswerValue.value_text.is_not(None))) if t]
        needles |= {name for name in session.scalars(select(User.full_name)) if len(name.split()) >= 2}
    for text in texts:
        needles |= {m.group(0) for m in PHONE.finditer(text)}
        needles |= {m.group(0) for m in DOSSIER.finditer(text)}
        for name in (m.group(0) for m in NAME.finditer(text)):
            needles |= {name, " ".join(name.split()[-3:])}  # "Anh Phạm Quốc Bảo": the name without "Anh"
    return needles


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _digits(text: str) -> str:
    return re.sub(r"[\s.\-+]", "", text)


def leaks(text: str, needles: set[str]) -> set[str]:
    folded, digits = _fold(text), _digits(text)
    found = {n for n in needles if _fold(n) in folded}
    found |= {n for n in needles if PHONE.fullmatch(n) and _digits(n).removeprefix("84").lstrip("0") in digits}
    return found


ASSETS = {".ttf", ".woff", ".woff2", ".png", ".ico"}  # the app's own vendored fonts and images


def readable(path: Path, body: bytes) -> str:
    if path.suffix in ASSETS:
        assert path.parts[-3:-1] in (("static", "fonts"), ("static", "img")) or "static" in path.parts, path
        return ""
    if path.suffix == ".pdf":
        return subprocess.run(["pdftotext", "-", "-"], input=body, capture_output=True, check=True,  # noqa: S607
                              timeout=60).stdout.decode("utf-8")
    if path.suffix == ".zip":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    return body.decode("utf-8")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils: manage.py test installs it")
def test_no_published_artifact_holds_personal_data(app: Flask, tmp_path: Path) -> None:
    small_province(app.extensions["hailong.engine"])
    seed_personal_data(app)
    release_id = publish_release(app)
    needles = personal_data(app)
    assert {"Nguyễn Thị Bích Ngọc", "Trần Văn Hùng", "Phạm Quốc Bảo", STAFF_NAME, "0913 456 789", "0987.654.321",
            "+84 912 345 678", "0868-123-456", "000.00.12.H12-260815-0042", "H12.99-260301-0007"} <= needles

    planted = f"Đơn vị,Ghi chú\r\nXã Tắc Vân,{FREE_TEXT[1].replace('0987.654.321', '0987 654 321')}\r\n"
    assert {"Trần Văn Hùng", "0987.654.321"} <= leaks(planted, needles)  # the scan finds a leak when there is one

    site = tmp_path / "site"
    report = static_site.build(app, site)
    assert not report.failed
    kinds = {Path(f).suffix for f in report.files}
    assert {".html", ".svg", ".csv", ".json", ".pdf", ".zip"} <= kinds
    assert any("/widget/" in f for f in report.files) and any("/desk/" in f or "/widget/" in f for f in report.files)
    found: dict[str, set[str]] = {}
    for relative in report.files:
        path = site / relative
        hit = leaks(readable(path, path.read_bytes()), needles)
        if hit:
            found[relative] = hit

    client = app.test_client()
    api = ["/api/v1/releases", f"/api/v1/releases/{release_id}"]
    release = client.get(api[1]).get_json()
    api += [f"/api/v1/units/{u['code']}/latest" for u in release["units"]]
    api += [f"/api/v1/releases/{release_id}/indices/{row['id']}" for row in release["indices"][:5]]
    for url in api:
        response = client.get(url)
        assert response.status_code == 200, url
        hit = leaks(response.get_data(as_text=True), needles)
        if hit:
            found[url] = hit
    assert found == {}
