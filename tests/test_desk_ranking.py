"""Ranking the one-stop desks (issue 9 point 5, issue 13 point 10), on SQLite and PostgreSQL.

Each desk is a domain of the full sample: its responses are those given at its kiosk (not every
response of its unit). The staff ranking's desk table is checked against an independent
computation from the raw answers (``tests.test_release_snapshot.reference``: plain SQL and numpy,
each response its own PSU), and its rank intervals hold the rank; a desk with too few answers is
listed, not ranked.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from survey.periods import quarters
from survey.store.catalogue import latest
from survey.store.models import Desk, Unit
from tests.release_actions import KIOSK, Workflow, release_app, small_province
from tests.test_release_snapshot import reference

DESKS = [("D-TT", "Quầy tiếp nhận 1", "96-TTPVHCC"), ("D-AX", "Quầy Một cửa An Xuyên", "96001"),
         ("D-TV", "Quầy Một cửa Tắc Vân", "96002"), ("D-DM", "Quầy Một cửa Đất Mới", "96005")]


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    for app in release_app(database_url, tmp_path, MIN_PUBLISH_N=10):
        engine = app.extensions["hailong.engine"]
        small_province(engine, years=(2026,))
        with Session(engine) as session:
            units = {u.code: u for u in session.scalars(select(Unit))}
            desks = [Desk(code=c, name=n, unit=units[u], questionnaire_id=KIOSK) for c, n, u in DESKS]
            session.add_all(desks)
            session.flush()
            for desk in desks:  # the kiosk took the unit's ratings, except at Tắc Vân: only every other one
                ids = session.execute(text("SELECT id FROM response WHERE unit_id = :u ORDER BY submitted_at"),
                                      {"u": desk.unit_id}).scalars().all()
                chosen = ids[::2] if desk.code == "D-TV" else ids
                for rid in chosen:
                    session.execute(text("UPDATE response SET desk_id = :d WHERE id = :r"), {"d": desk.id, "r": rid})
            session.commit()
        yield app


def raw_answers(app: Flask) -> pd.DataFrame:
    """Every kiosk response with its unit and desk codes and Vietnam quarter, by plain SQL."""
    with app.extensions["hailong.engine"].connect() as conn:
        rows = conn.execute(text(
            "SELECT r.id, u.code, COALESCE(d.code, '') AS desk, r.submitted_at, a.question_id, a.value_num "
            "FROM response r JOIN unit u ON u.id = r.unit_id LEFT JOIN desk d ON d.id = r.desk_id "
            "JOIN answer a ON a.response_id = r.id WHERE r.questionnaire_id = :q"), {"q": KIOSK}).all()
    long = pd.DataFrame(rows, columns=["id", "code", "desk", "submitted_at", "question", "value"])
    wide = long.pivot_table(index=["id", "code", "desk", "submitted_at"], columns="question",
                            values="value").reset_index()
    wide["quarter"] = quarters(wide["submitted_at"])
    return wide


def test_desks_are_ranked_on_their_own_responses_with_rank_intervals(app: Flask) -> None:
    client = app.test_client()
    Workflow(client).login("canbo")
    page = client.get("/staff/ranking?level=desk").get_data(as_text=True)
    assert '<option value="desk" selected>Bộ phận Một cửa</option>' in page
    assert "Quầy Một cửa An Xuyên — Phường An Xuyên" in page
    assert "Mỗi Bộ phận Một cửa chỉ tính các đánh giá gửi từ máy đánh giá của chính bộ phận đó." in page
    response = client.get("/staff/ranking.csv?level=desk&period=2026-Q4&excel=0")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    by_code = {r["Mã"]: r for r in rows}
    assert set(by_code) == {c for c, _n, _u in DESKS}
    data = raw_answers(app)
    questionnaire = latest(KIOSK)
    for code, row in by_code.items():
        domain = ((data["desk"] == code) & (data["quarter"] == "2026-Q4")).to_numpy()
        assert int(row["Số ý kiến hợp lệ (n)"]) == int(domain.sum())
        estimate, se = reference(data, domain, questionnaire)["overall"]
        assert float(row["Chỉ số hài lòng chung"]) == pytest.approx(estimate, abs=5e-5)  # 4 decimals in the file
        assert float(row["Sai số chuẩn"]) == pytest.approx(se, abs=5e-7)
    # the desk at Tắc Vân took every other rating of its commune: its answers are its own
    commune = int(((data["code"] == "96002") & (data["quarter"] == "2026-Q4")).sum())
    assert 0 < int(by_code["D-TV"]["Số ý kiến hợp lệ (n)"]) < commune
    small = by_code["D-DM"]  # 12 ratings a year: fewer than 10 in the quarter, listed but not ranked
    assert small["Hạng"] == "" and small["Nhóm"] == ""
    ranked = [r for r in by_code.values() if r["Hạng"]]
    assert len(ranked) == 3
    for r in ranked:
        low, high = int(r["Khoảng hạng 95%: cao nhất"]), int(r["Khoảng hạng 95%: thấp nhất"])
        assert 1 <= low <= int(r["Hạng"]) <= high <= 3
    assert np.isfinite([float(r["Chỉ số hài lòng chung"]) for r in ranked]).all()


def test_a_release_ranks_the_desks_of_its_scope(app: Flask) -> None:
    from survey.portal.snapshot import find_ranking
    from tests.test_release_snapshot import build

    snapshot = build(app, "2026")
    ranking = find_ranking(snapshot, "desk")
    assert ranking is not None and ranking["parent"] == "96" and ranking.get("model") is None
    rows = {r["unit"]: r for r in ranking["rows"]}
    assert set(rows) == {c for c, _n, _u in DESKS}
    assert rows["D-AX"]["name"] == "Quầy Một cửa An Xuyên — Phường An Xuyên"
    data = raw_answers(app)
    questionnaire = latest(KIOSK)
    for code, row in rows.items():
        domain = ((data["desk"] == code) & (data["submitted_at"].notna())).to_numpy()  # the year 2026: every rating
        assert row["n"] == int(domain.sum())
        if row["suppressed"]:
            assert row["n"] < 30 and row["estimate"] is None and row["rank"] is None
            continue
        estimate, _se = reference(data, domain, questionnaire)["overall"]
        assert row["estimate"] == pytest.approx(estimate, rel=1e-12)
        assert row["rank_low"] <= row["rank"] <= row["rank_high"]  # type: ignore[operator]
    assert rows["D-DM"]["suppressed"] and sum(1 for r in rows.values() if r["rank"] is not None) == 3
    # the PDF report lists the desks by name
    from survey.portal.pdf import _context
    from tests.portal_fixtures import sample_snapshot

    release = {**sample_snapshot()["release"], "scope": {"code": "96", "name": "Tỉnh Cà Mau", "kind": "province"}}
    with app.test_request_context():
        context = _context({**snapshot, "release": release}, "vi")  # type: ignore[arg-type, typeddict-item]
    desk_table = next(r for r in context["rankings"] if "Bộ phận Một cửa" in r["title"])
    assert {row["unit"] for row in desk_table["rows"]} == {r["name"] for r in rows.values()}
