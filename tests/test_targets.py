"""Goals of the action plans and the progress toward them, on SQLite and PostgreSQL: the form
refuses bad goals in Vietnamese and keeps what was typed; the PAPI page computes target, gap and
progress from the scores summed by hand."""

from __future__ import annotations

import math

from sqlalchemy import func, select

from survey.store.models import Target
from tests.test_papi_results import YEAR, _hand_scores


def _add(client, **fields: object) -> object:  # type: ignore[no-untyped-def]
    data = {"unit": "96", "score": "papi-household:total", "year": "2027", "kind": "score", "value": "50",
            "base_year": ""}
    data.update({k: str(v) for k, v in fields.items()})
    return client.post("/staff/targets/", data=data)


def test_bad_goals_are_explained_in_vietnamese_and_keep_the_typed_values(client, db, papi_demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    cases = [
        ({"value": "95"}, "Chỉ số này nằm trong khoảng từ 8 đến 80."),
        ({"score": "papi-household:d2", "value": "11"}, "Chỉ số này nằm trong khoảng từ 1 đến 10."),
        ({"score": "sipas-kiosk:overall", "value": "101"}, "Chỉ số này nằm trong khoảng từ 0 đến 100."),
        ({"score": "sipas-kiosk:nope"}, "Hãy chọn một chỉ số trong danh sách."),
        ({"kind": "increase_pct", "value": "10"}, "Mục tiêu theo tỷ lệ phần trăm cần có năm gốc để so sánh."),
        ({"kind": "increase_pct", "value": "10", "base_year": "2027"}, "Năm gốc phải trước năm mục tiêu."),
        ({"kind": "increase_pct", "value": "0", "base_year": "2025"}, "Tỷ lệ phần trăm phải lớn hơn 0"),
        ({"year": "1990"}, "Năm mục tiêu phải từ 2000 đến 2100."),
        ({"value": "năm mươi"}, "Hãy nhập điểm hoặc tỷ lệ phần trăm bằng số, ví dụ 6.5."),
        ({"unit": "32002-A1"}, "Hãy chọn một đơn vị trong danh sách."),  # not for a hamlet
        ({"base_year": "hai nghìn"}, "Hãy nhập năm gốc, ví dụ 2025."),
    ]
    for fields, message in cases:
        resp = _add(client, **fields)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 422 and message in page, (fields, page[page.find("<main"):][:1500])
        assert f'value="{fields.get("year", "2027")}"' in page  # what was typed is still there
    assert db.scalar(select(func.count()).select_from(Target)) == 0


def test_goals_show_target_gap_and_progress_from_hand_scores(client, db, papi_demo, staff) -> None:  # type: ignore[no-untyped-def]
    now, before = _hand_scores(db, YEAR), _hand_scores(db, "2025")
    staff.login()
    assert _add(client, score="papi-household:total", year=YEAR, value="50", base_year="2025").status_code == 303
    assert _add(client, score="papi-household:d3", year="2028", kind="increase_pct", value="12.5",
                base_year="2025").status_code == 303
    assert _add(client, score="papi-household:d8", year="2027", value="1").status_code == 303  # already reached
    again = _add(client, score="papi-household:total", year=YEAR, value="60")
    assert again.status_code == 422 and "đã có mục tiêu cho chỉ số và năm này" in again.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Target)) == 3

    page = client.get(f"/staff/papi?unit=96&year={YEAR}").get_data(as_text=True)

    def cell(score: str, css: str) -> str:
        row = page[page.index(f'data-score="{score}"'):]
        row = row[:row.index("</tr>")]
        start = row.index(f'class="num {css}">') + len(f'class="num {css}">')
        return row[start:row.index("</td>", start)].replace(",", ".")  # the Vietnamese decimal comma

    assert cell("total", "goal").startswith("50.00")
    assert math.isclose(float(cell("total", "current")), now["total"], abs_tol=0.006)
    assert math.isclose(float(cell("total", "gap")), 50 - now["total"], abs_tol=0.006)
    progress = (now["total"] - before["total"]) / (50 - before["total"])
    assert cell("total", "progress") == f"{progress * 100:.0f}%"
    goal_d3 = before["d3"] * 1.125
    assert math.isclose(float(cell("d3", "goal")[:cell("d3", "goal").index(" ")]), goal_d3, abs_tol=0.006)
    assert "tăng 12.5% so với năm 2025" in cell("d3", "goal")  # (12,5% on the page)
    assert cell("d3", "progress") == f"{(now['d3'] - before['d3']) / (goal_d3 - before['d3']) * 100:.0f}%"
    assert "Đã đạt" in cell("d8", "gap")
    # A goal for an earlier year than the one viewed is not shown; deleting removes it.
    later = client.get("/staff/papi?unit=96&year=2025").get_data(as_text=True)
    assert 'data-score="total" data-year="2026"' in later
    target = db.scalar(select(Target).where(Target.score_id == "d8"))
    assert client.post(f"/staff/targets/{target.id}/delete").status_code == 303
    assert db.scalar(select(func.count()).select_from(Target)) == 2
    assert "Đã xoá mục tiêu." in client.get("/staff/targets/").get_data(as_text=True)


def test_the_goals_page_needs_staff(client, papi_demo) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/staff/targets/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert client.post("/staff/targets/1/delete").status_code == 302


def test_satisfaction_goals_show_on_the_ranking(client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    staff.login()
    period = "2026-Q3"

    def ranking() -> dict[str, dict[str, str]]:  # today's communes with a desk (not the province's own row)
        return {r["Mã"]: r for r in csv.DictReader(io.StringIO(client.get(
            f"/staff/ranking.csv?level=commune&period={period}&excel=0").get_data(as_text=True)))
            if r["Mã"] != "96" and r["Chỉ số hài lòng chung"]}

    rows = ranking()
    index = {code: float(r["Chỉ số hài lòng chung"]) for code, r in rows.items()}
    low, high = min(index, key=index.get), max(index, key=index.get)
    goal = (index[low] + index[high]) / 2 * 100  # between the two: one reaches it, one does not
    for code in (low, high):
        assert _add(client, unit=code, score="sipas-kiosk:overall", year="2026", value=f"{goal:.2f}").status_code == 303
    assert db.scalar(select(Target.value).where(Target.score_id == "overall").limit(1)) == round(goal, 2) / 100
    listing = client.get("/staff/targets/").get_data(as_text=True)
    assert f"đạt {round(goal, 2):g}%".replace(".", ",") in listing and "Chỉ số hài lòng chung — " in listing
    rows = ranking()
    assert rows[high]["Đạt mục tiêu"] == "1" and rows[low]["Đạt mục tiêu"] == "0"
    assert math.isclose(float(rows[high]["Mục tiêu năm"]), round(goal, 2) / 100, abs_tol=1e-4)
    page = client.get(f"/staff/ranking?level=commune&period={period}").get_data(as_text=True)
    assert "Mục tiêu năm" in page and "Đã đạt" in page and "chưa đạt" in page
    # A goal for another year does not show against 2026.
    other = sorted(set(rows) - {low, high})[0]
    assert _add(client, unit=other, score="sipas-kiosk:overall", year="2027", value="50").status_code == 303
    rows = ranking()
    assert all(rows[c]["Mục tiêu năm"] == "" for c in set(rows) - {low, high})
