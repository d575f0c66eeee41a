"""The PDF report of a published release: rendered by WeasyPrint, then checked as a reader would —
pages drawn to PNG (``pdftoppm``) and the text extracted (``pdftotext``, poppler-utils) to find the
release's own figures, in Vietnamese (decimal comma) and in English."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey.portal.snapshot import find_index
from tests.opendata_actions import published_province
from tests.release_actions import release_app

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils: manage.py test installs it")


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


@pytest.fixture
def release(app: Flask) -> tuple[int, dict[str, Any]]:
    return published_province(app)


def text_of(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,  # noqa: S607
                          check=True, timeout=60)
    return " ".join(done.stdout.split())


def pages_as_png(pdf: bytes, tmp_path: Path) -> list[Path]:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "page")],  # noqa: S607
                   check=True, timeout=60)
    return sorted(tmp_path.glob("page-*.png"))


def pct(share: float, comma: bool) -> str:
    text = f"{share * 100:.1f}"
    return (text.replace(".", ",") if comma else text) + "%"


def test_the_report_in_vietnamese_and_english(client: FlaskClient, release: tuple[int, dict[str, Any]],
                                              tmp_path: Path) -> None:
    """One release, both languages (building a release is the slow part, so one test does both)."""
    release_id, snapshot = release
    response = client.get(f"/data/releases/{release_id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    pages = pages_as_png(response.data, tmp_path)
    assert len(pages) >= 3
    assert all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 2000 for p in pages)  # drawn, not blank
    text = text_of(response.data, tmp_path, "vi")
    overall = find_index(snapshot, "96")
    assert overall is not None and not overall["suppressed"]
    assert "Báo cáo kết quả khảo sát sự hài lòng" in text and "Tỉnh Cà Mau" in text and "Năm 2026" in text
    assert pct(overall["overall"]["estimate"], comma=True) in text
    low, high = overall["overall"]["ci_low"], overall["overall"]["ci_high"]
    assert f"{low * 100:.1f}–{high * 100:.1f}%".replace(".", ",") in text  # the interval, decimal comma
    ranking = next(r for r in snapshot["rankings"] if r["service"] is None and r["level"] == "commune")
    best = ranking["rows"][0]
    assert f"{best['rank_low']}–{best['rank_high']}" in text  # the rank interval
    assert "Nhóm 1" in text
    assert "chưa đủ ý kiến để công bố" in text and "Xã Đất Mới" in text  # the commune with too few ratings
    assert "Thủ tục hành chính" in text and "Xã Tắc Vân" in text  # ủ, ắ, â extracted as written (NFC)
    assert "Phương pháp" in text and "Lịch sử phiên bản" in text
    path = tmp_path / "fonts.pdf"
    path.write_bytes(response.data)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True,  # noqa: S607
                           timeout=60).stdout
    assert "Noto-Sans" in fonts  # the vendored font (survey/static/fonts) is embedded

    english = client.get(f"/data/releases/{release_id}/report.en.pdf")
    assert english.status_code == 200
    text = text_of(english.data, tmp_path, "en")
    assert pct(overall["overall"]["estimate"], comma=False) in text
    assert "Citizen satisfaction report" in text and "Methodology" in text and "not enough answers to publish" in text

    assert client.get(f"/data/releases/{release_id + 99}/report.pdf").status_code == 404
