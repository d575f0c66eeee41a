"""The portal's charts as SVG (no database): accessible, colour-blind safe, self-contained, in the
reader's number format, and drawn from the same rows as their data table."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - parses the SVG our own renderer made
from collections.abc import Iterator

import pytest
from flask import Flask

from survey import create_app
from survey.portal import charts, figures, formatting, papi_benchmark, papi_view
from survey.portal.published import Published
from tests.portal_fixtures import sample_snapshot

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "test"})


@pytest.fixture
def vi(app: Flask) -> Iterator[Published]:
    with app.test_request_context("/?lang=vi"):
        yield Published(sample_snapshot())


def every_chart(pub: Published) -> list[charts.Chart]:
    made = [build(pub, "sipas-kiosk", "96", None) for build in figures.BUILDERS.values()]
    made += [build(pub, "sipas-kiosk", "96001", "land") for build in figures.BUILDERS.values()]
    made += [build(pub) for build in papi_view.BUILDERS.values()]
    return [c for c in made if c is not None]


def test_every_chart_is_an_image_named_by_its_title_and_description(vi: Published) -> None:
    seen_ids: set[str] = set()
    made = every_chart(vi)
    assert {c.key for c in made} >= {"elements", "distribution", "trend", "ranking-commune", "map-commune",
                                      "ranking-department", "dimensions", "benchmark", "compared"}
    for chart in made:
        root = ET.fromstring(chart.svg())  # noqa: S314 - our own output
        assert root.get("role") == "img"
        title, desc = root[0], root[1]
        assert title.tag == f"{SVG}title" and title.text == chart.title
        assert desc.tag == f"{SVG}desc" and desc.text == chart.description and len(desc.text) > 20
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        ids = [str(e.get("id")) for e in root.iter() if e.get("id")]
        assert not seen_ids & set(ids), "ids are unique across the charts of a page"
        seen_ids |= set(ids)
        text = ET.tostring(root, encoding="unicode")
        assert "http://" not in text.replace("http://www.w3.org/", "") and "<image" not in text, "self-contained"
        assert not [e for e in root.iter() if e is not root and e.get("role")], "one image, not a tree of roles"


def test_charts_use_the_colour_blind_safe_palettes(vi: Published) -> None:
    ranking = figures.BUILDERS["ranking-commune"](vi, "sipas-kiosk", "96", None)
    distribution = figures.BUILDERS["distribution"](vi, "sipas-kiosk", "96", None)
    assert ranking is not None and distribution is not None
    used = set(re.findall(r'(?:fill|stroke)="(#[0-9a-fA-F]{6})"', ranking.svg()))
    assert used & set(charts.GROUP_COLOURS) == {c for c in charts.GROUP_COLOURS if c in used} != set()
    levels = set(re.findall(r'fill="(#[0-9a-fA-F]{6})"', distribution.svg()))
    assert set(charts.LEVEL_COLOURS) <= levels, "each of the five levels has its own colour"


def test_numbers_in_charts_follow_the_readers_language(app: Flask) -> None:
    with app.test_request_context("/?lang=vi"):
        vi_chart = figures.BUILDERS["elements"](Published(sample_snapshot()), "sipas-kiosk", "96", None)
        assert vi_chart is not None
        vi_svg = vi_chart.svg()
    with app.test_request_context("/?lang=en"):
        en_chart = figures.BUILDERS["elements"](Published(sample_snapshot()), "sipas-kiosk", "96", None)
        assert en_chart is not None
        en_svg = en_chart.svg()
    overall = next(i for i in sample_snapshot()["indices"] if i["unit"] == "96" and i["service"] is None)
    value = overall["overall"]["estimate"] * 100
    assert f">{value:.1f}%<".replace(".", ",") in vi_svg
    assert f">{value:.1f}%<" in en_svg
    assert "Overall index" in en_svg and "Chỉ số chung" in vi_svg


def test_suppressed_cells_are_in_the_table_but_not_in_the_drawing(vi: Published) -> None:
    ranking = figures.BUILDERS["ranking-commune"](vi, "sipas-kiosk", "96", None)
    assert ranking is not None
    hidden = [r for r in ranking.rows if r["suppressed"]]
    assert [r["label"] for r in hidden] == ["Xã Ân Hòa"]
    assert hidden[0]["estimate"] is None and hidden[0]["rank"] is None
    drawn_labels = {row["label"] for row in ranking.spec["datasets"]["rows"]}
    assert "Xã Ân Hòa" not in drawn_labels and len(drawn_labels) == len(ranking.rows) - 1
    small = figures.BUILDERS["elements"](vi, "sipas-kiosk", "96006", None)
    assert small is not None and not small.drawn and all(r["suppressed"] for r in small.rows)


def test_the_table_and_the_drawing_hold_the_same_numbers(vi: Published) -> None:
    chart = figures.BUILDERS["elements"](vi, "sipas-kiosk", "96", None)
    assert chart is not None
    drawn = {r["label"]: (r["estimate"], r["ci_low"], r["ci_high"]) for r in chart.spec["datasets"]["rows"]}
    table = {r["label"]: (r["estimate"], r["ci_low"], r["ci_high"]) for r in chart.rows}
    assert drawn == table
    overall = next(i for i in sample_snapshot()["indices"] if i["unit"] == "96" and i["service"] is None)
    assert table["Chỉ số chung"] == (overall["overall"]["estimate"], overall["overall"]["ci_low"],
                                     overall["overall"]["ci_high"])


def test_numbers_dates_and_periods_are_written_for_the_reader(app: Flask) -> None:
    with app.test_request_context("/?lang=vi"):
        assert formatting.percent(0.8534) == "85,3%"
        assert formatting.count(1480) == "1.480"
        assert formatting.interval(0.85, 0.8912) == "85,0–89,1%"
        assert formatting.signed_points(-0.0304) == "−3,0"
        assert formatting.period_label("2026-Q3") == "Quý III/2026"
        assert formatting.period_label("2026-H1") == "6 tháng đầu năm 2026"
        assert formatting.period_label("2026-9M") == "9 tháng năm 2026"
        assert formatting.moment("2026-10-05T02:00:00+00:00") == "05/10/2026 09:00 (giờ Việt Nam, UTC+7)"
    with app.test_request_context("/?lang=en"):
        assert formatting.percent(0.8534) == "85.3%"
        assert formatting.count(1480) == "1,480"
        assert formatting.period_label("2026-Q3") == "Q3 2026"


def test_the_official_papi_benchmark_matches_what_the_plans_quote() -> None:
    """Facts of data/README.md, checked on the copied file: sums, a published total, the 2015
    medians the Cà Mau plan quotes, Cần Thơ's 2014 rank, and the 2025 merger table."""
    scores = papi_benchmark.scores()
    by = {(s.year, s.province_code, s.measure_id): s.score for s in scores}
    for (year, province, measure), value in by.items():
        if measure == "total" and value:
            dims = sum(by[(year, province, f"d{k}")] or 0 for k in range(1, 7))
            assert dims == pytest.approx(value, abs=2e-6)
    assert round(by[(2015, "96", "total")] or 0, 2) == 35.82
    medians = papi_benchmark.medians()
    assert [round(medians[(2015, f"d{k}")], 2) for k in range(1, 7)] == [4.8, 5.41, 5.58, 5.89, 6.83, 6.96]
    assert papi_benchmark.ranks()[(2014, "total", "92")][0] == 55
    old = [code for codes in papi_benchmark.MERGED_FROM.values() for code in codes]
    assert len(papi_benchmark.MERGED_FROM) == 34 and sorted(old) == sorted({s.province_code for s in scores})
    assert papi_benchmark.old_provinces("96") == ("96", "95")  # Cà Mau and Bạc Liêu
