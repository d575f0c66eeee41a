"""The official PAPI provincial scores 2011–2016, the benchmark beside a province's own survey.

``data/papi_official_2011_2016.csv`` is the official PAPI spreadsheet (CECODES, VFF-CRT, UNDP;
workbook ``PAPI_2011-2016.xlsx`` from the PAPI website, one sheet a year) as one long table at
full precision — see ``data/README.md`` for its columns and the facts checked in it. The scores
are on the 63 provinces of the time; since 1 July 2025 (Resolution 202/2025/QH15) there are 34,
so a province today is compared with each of the old provinces it was made of
(:data:`MERGED_FROM`, new GSO code → old codes; e.g. Cà Mau 96 ← Cà Mau 96 and Bạc Liêu 95).

Ranks and medians are over the provinces with a published score that year (63, or 61 in 2014,
when the workbook leaves Bắc Giang and Đồng Tháp blank), as the provincial plans quote them.
"""

from __future__ import annotations

import csv
import functools
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data" / "papi_official_2011_2016.csv"
YEARS = tuple(range(2011, 2017))
DIMENSIONS = ("d1", "d2", "d3", "d4", "d5", "d6")

#: The 34 provinces since 1 July 2025 and the old provinces each was made of (GSO codes).
MERGED_FROM: Mapping[str, tuple[str, ...]] = {
    "1": ("1",), "4": ("4",), "8": ("8", "2"), "11": ("11",), "12": ("12",), "14": ("14",),
    "15": ("10", "15"), "19": ("19", "6"), "20": ("20",), "22": ("22",), "24": ("27", "24"),
    "25": ("25", "26", "17"), "31": ("31", "30"), "33": ("33", "34"), "37": ("37", "35", "36"),
    "38": ("38",), "40": ("40",), "42": ("42",), "44": ("45", "44"), "46": ("46",), "48": ("48", "49"),
    "51": ("51", "62"), "52": ("64", "52"), "56": ("56", "58"), "66": ("66", "54"), "68": ("68", "67", "60"),
    "75": ("75", "70"), "79": ("79", "74", "77"), "80": ("72", "80"), "82": ("87", "82"),
    "86": ("86", "83", "84"), "91": ("89", "91"), "92": ("92", "93", "94"), "96": ("96", "95"),
}


@dataclass(frozen=True)
class Score:
    year: int
    province_code: str
    province_vi: str
    province_en: str
    level: str  # "total", "dimension", "sub_dimension"
    dimension: str
    measure_id: str
    name_vi: str
    name_en: str
    score: float | None


@functools.cache
def scores() -> tuple[Score, ...]:
    """Every official score in the file (read once)."""
    with DATA.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Score(int(r["year"]), r["province_code"], r["province_vi"], r["province_en"], r["level"], r["dimension"],
                  r["measure_id"], r["name_vi"], r["name_en"], float(r["score"]) if r["score"] else None)
            for r in csv.DictReader(handle))


def old_provinces(code: str) -> tuple[str, ...]:
    """The old provinces (GSO codes) a province of today was made of; a code that is not one
    of today's 34 is taken as an old province itself."""
    normalised = str(int(code)) if str(code).isdigit() else str(code)
    return MERGED_FROM.get(normalised, (normalised,))


def province_scores(code: str, *, levels: tuple[str, ...] = ("total", "dimension")) -> list[Score]:
    """The official scores of the old provinces behind today's province ``code``."""
    wanted = set(old_provinces(code))
    return [s for s in scores() if s.province_code in wanted and s.level in levels]


@functools.cache
def medians() -> Mapping[tuple[int, str], float]:
    """The median over the provinces with a score, per year and measure (total or dimension)."""
    values: dict[tuple[int, str], list[float]] = {}
    for s in scores():
        if s.level in ("total", "dimension") and s.score is not None:
            values.setdefault((s.year, s.measure_id), []).append(s.score)
    return {key: statistics.median(v) for key, v in values.items()}


@functools.cache
def ranks() -> Mapping[tuple[int, str, str], tuple[int, int]]:
    """``(year, measure, province) → (rank, out of)``: 1 is the highest unrounded score."""
    by_key: dict[tuple[int, str], list[Score]] = {}
    for s in scores():
        if s.level in ("total", "dimension") and s.score is not None:
            by_key.setdefault((s.year, s.measure_id), []).append(s)
    out: dict[tuple[int, str, str], tuple[int, int]] = {}
    for (year, measure), rows in by_key.items():
        ordered = sorted(rows, key=lambda s: -(s.score or 0.0))
        for position, s in enumerate(ordered, start=1):
            out[(year, measure, s.province_code)] = (position, len(ordered))
    return out
