"""Issue 9 point 3: the official PAPI 2011–2016 sheet stays on the 63 old provinces and a staff
page shows it on today's 34 — a merged province's figure labelled as the unweighted mean (and
range) of its old provinces' published scores, an inference; checked against the CSV read here
and the old → new table of the official unit list."""

from __future__ import annotations

import csv
import re

from survey.portal import papi_benchmark
from survey.reports.papi_merged import on_todays_provinces


def _published(year: int, code: str, measure: str = "total") -> float | None:
    with papi_benchmark.DATA.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if (row["year"], row["province_code"], row["measure_id"]) == (str(year), code, measure):
                return float(row["score"]) if row["score"] else None
    raise AssertionError(f"no row {year} {code} {measure}")


def test_the_old_to_new_provinces_agree_with_the_official_unit_list() -> None:
    from survey.admin.official import official_list

    changes: dict[str, set[str]] = {}
    for old, news in official_list()["province_changes"]:
        for new in news:
            changes.setdefault(str(new), set()).add(str(old))
    assert len(changes) == 34 and set(papi_benchmark.MERGED_FROM) == set(changes)
    extra = {new: olds - set(papi_benchmark.MERGED_FROM[new]) for new, olds in changes.items()}
    assert all(set(olds) <= changes[new] for new, olds in papi_benchmark.MERGED_FROM.items())
    # The package's province table also links Tiền Giang (82) to Tây Ninh (80); Resolution
    # 202/2025/QH15 merged Tiền Giang into Đồng Tháp (82) and Long An into Tây Ninh: the PAPI
    # view follows the resolution, and that link is the only difference.
    assert {new: olds for new, olds in extra.items() if olds} == {"80": {"82"}}


def test_a_merged_province_is_the_unweighted_mean_of_its_old_provinces() -> None:
    figures = on_todays_provinces(papi_benchmark.scores(), papi_benchmark.MERGED_FROM)
    assert len(figures) == 34
    ca_mau = figures["96"][(2015, "total")]  # Cà Mau 96 ← Cà Mau 96 and Bạc Liêu 95
    old = [_published(2015, "96"), _published(2015, "95")]
    assert old[0] is not None and abs(old[0] - 35.8213) < 1e-4  # as published
    assert ca_mau.method == "unweighted_mean" and ca_mau.inferred
    assert abs(ca_mau.mean - (old[0] + old[1]) / 2) < 1e-12  # type: ignore[operator]
    assert (ca_mau.low, ca_mau.high) == (min(old), max(old))  # type: ignore[type-var]
    assert [(p.code, p.score) for p in ca_mau.parts] == [("96", old[0]), ("95", old[1])]  # kept as published
    hanoi = figures["1"][(2016, "d3")]
    assert hanoi.method == "published" and hanoi.mean == _published(2016, "1", "d3")
    # 2014: Bắc Giang (24) has no published score, so today's Bắc Ninh (24 ← 27, 24) is Bắc Ninh's alone.
    bac_ninh = figures["24"][(2014, "total")]
    assert [p.code for p in bac_ninh.missing] == ["24"]
    assert bac_ninh.mean == _published(2014, "27") and bac_ninh.method == "unweighted_mean"
    three = figures["92"][(2013, "d1")]  # Cần Thơ ← Cần Thơ, Hậu Giang, Sóc Trăng
    parts = [_published(2013, c, "d1") for c in ("92", "93", "94")]
    assert abs(three.mean - sum(parts) / 3) < 1e-12  # type: ignore[operator, arg-type]


def test_the_staff_page_shows_the_34_provinces_and_says_how_each_figure_is_formed(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/staff/papi-benchmark/").status_code == 302  # staff only
    staff.login()
    page = client.get("/staff/papi-benchmark/?year=2015&measure=total")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "suy luận, không phải điểm chính thức" in text
    assert "trung bình cộng không trọng số" in text
    rows = re.findall(r'<tr data-province="(\d+)">', text)
    assert len(rows) == 34 and len(set(rows)) == 34
    mean = (_published(2015, "96") + _published(2015, "95")) / 2  # type: ignore[operator]
    shown = f"{mean:.2f}".replace(".", ",")  # Vietnamese decimal comma
    ca_mau_row = text[text.index('<tr data-province="96">'):]
    ca_mau_row = ca_mau_row[:ca_mau_row.index("</tr>")]
    assert f"{shown}*" in ca_mau_row and "Bạc Liêu: 34,96" in ca_mau_row and "Cà Mau: 35,82" in ca_mau_row
    assert "trung bình cộng không trọng số của 2 tỉnh cũ" in ca_mau_row
    hanoi_row = text[text.index('<tr data-province="1">'):]
    assert "điểm đã công bố (không sáp nhập)" in hanoi_row[:hanoi_row.index("</tr>")]
    bad = client.get("/staff/papi-benchmark/?province=63")
    assert bad.status_code == 422 and "Không có tỉnh" in bad.get_data(as_text=True)
    english = client.get("/staff/papi-benchmark/?province=92&lang=en").get_data(as_text=True)
    assert "an inference, not an official score" in english and "Hau Giang" in english
