"""The official PAPI provincial scores 2011–2016 (63 provinces) shown on today's 34 provinces.

PAPI published one score per province of the time; since 1 July 2025 (Resolution 202/2025/QH15)
most provinces of today were made of two or three of them. Nothing official gives a merged
province's PAPI score, and the official sheet carries neither the provinces' samples nor their
populations, so the figure of a merged province here is an **inference**, labelled as such: the
**unweighted mean** of the old provinces' published scores, shown with their **range** (lowest –
highest) and every old province's own score beside it. A population- or sample-weighted mean
would differ (the old provinces were of unequal size); no weighting is pretended. A province
that was not merged keeps its published score (``method == "published"``). The 63 old provinces
stay as published (``parts``).

Pure functions over score records; the records and the old → new table come from
:mod:`survey.portal.papi_benchmark`, which the staff page passes in.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

MEASURES = ("total", "d1", "d2", "d3", "d4", "d5", "d6")


class ScoreRecord(Protocol):
    """One official score (``survey.portal.papi_benchmark.Score`` has these fields)."""

    @property
    def year(self) -> int: ...
    @property
    def province_code(self) -> str: ...
    @property
    def province_vi(self) -> str: ...
    @property
    def province_en(self) -> str: ...
    @property
    def measure_id(self) -> str: ...
    @property
    def score(self) -> float | None: ...


@dataclass(frozen=True)
class Part:
    """An old province's published score."""

    code: str
    name_vi: str
    name_en: str
    score: float | None  # None: not published that year (Bắc Giang and Đồng Tháp in 2014)


@dataclass(frozen=True)
class MergedFigure:
    """One measure of one year for a province of today."""

    year: int
    measure: str
    parts: tuple[Part, ...]  # the old provinces it was made of, as published
    method: str  # "published" (not merged), "unweighted_mean" (inferred), "none" (no score published)
    mean: float | None
    low: float | None
    high: float | None

    @property
    def missing(self) -> tuple[Part, ...]:
        """Old provinces without a published score that year (the mean is over the others)."""
        return tuple(p for p in self.parts if p.score is None)

    @property
    def inferred(self) -> bool:
        return self.method == "unweighted_mean"


def merge(year: int, measure: str, parts: Iterable[Part]) -> MergedFigure:
    """The figure of a province of today from its old provinces' published scores."""
    chosen = tuple(parts)
    scored = [p.score for p in chosen if p.score is not None]
    if not scored:
        return MergedFigure(year, measure, chosen, "none", None, None, None)
    if len(chosen) == 1:
        return MergedFigure(year, measure, chosen, "published", scored[0], scored[0], scored[0])
    return MergedFigure(year, measure, chosen, "unweighted_mean", statistics.fmean(scored), min(scored), max(scored))


def on_todays_provinces(records: Iterable[ScoreRecord], merged_from: Mapping[str, tuple[str, ...]],
                        measures: tuple[str, ...] = MEASURES) -> dict[str, dict[tuple[int, str], MergedFigure]]:
    """For every province of today (its GSO code, as in ``merged_from``), ``(year, measure) →``
    its figure. An old province without a row for a year counts as not published."""
    by_key: dict[tuple[int, str, str], ScoreRecord] = {}
    names: dict[str, tuple[str, str]] = {}
    years: set[int] = set()
    for record in records:
        if record.measure_id in measures:
            by_key[(record.year, record.measure_id, record.province_code)] = record
            names.setdefault(record.province_code, (record.province_vi, record.province_en))
            years.add(record.year)
    out: dict[str, dict[tuple[int, str], MergedFigure]] = {}
    for new, olds in merged_from.items():
        figures: dict[tuple[int, str], MergedFigure] = {}
        for year in sorted(years):
            for measure in measures:
                parts = []
                for old in olds:
                    found = by_key.get((year, measure, old))
                    vi, en = names.get(old, (old, old))
                    parts.append(Part(old, vi, en, found.score if found is not None else None))
                figures[(year, measure)] = merge(year, measure, parts)
        out[new] = figures
    return out


def spread_rank(figures: Mapping[str, MergedFigure]) -> dict[str, tuple[int, int] | None]:
    """Where each province of today's figure would stand among the 34 (1: highest), with the
    count ranked — an inference too, from the unweighted means."""
    ranked = sorted(((f.mean, code) for code, f in figures.items() if f.mean is not None), key=lambda t: -t[0])
    out: dict[str, tuple[int, int] | None] = dict.fromkeys(figures)
    for position, (_mean, code) in enumerate(ranked, start=1):
        out[code] = (position, len(ranked))
    return out
