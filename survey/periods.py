"""Reporting periods in Vietnam's time (UTC+7, no daylight saving): quarters for the
one-stop-desk ratings a Department of Home Affairs publishes quarterly, years for household
surveys such as PAPI. A rating made at 06:30 on 1 April in Cà Mau belongs to Q2 even though it
is still 31 March in UTC. Releases are published for a :class:`Period`: a quarter, a half-year,
the first nine months or a year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

import pandas as pd

VIETNAM = timezone(timedelta(hours=7), "ICT")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def local(moment: datetime) -> datetime:
    """``moment`` in Vietnam time (naive moments are UTC, as SQLite returns them)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(VIETNAM)


def quarter(moment: datetime) -> str:
    """``2026-Q2`` for a moment (naive moments are UTC)."""
    here = local(moment)
    return f"{here.year:04d}-Q{(here.month - 1) // 3 + 1}"  # 0999-Q2: a stray old stamp still parses


def quarters(moments: pd.Series) -> pd.Series:
    """:func:`quarter` of every moment of a column (an empty column gives an empty one)."""
    stamps = pd.to_datetime(moments, utc=True).dt.tz_convert(VIETNAM)
    return stamps.dt.year.astype(str).str.zfill(4) + "-Q" + stamps.dt.quarter.astype(str)


def years(moments: pd.Series) -> pd.Series:
    """The calendar year (in Vietnam) of every moment of a column, as text (``"2026"``)."""
    return pd.to_datetime(moments, utc=True).dt.tz_convert(VIETNAM).dt.year.astype(str)


def is_quarter(label: str) -> bool:
    return _QUARTER.match(label) is not None


def previous_quarter(label: str) -> str:
    """The quarter before ``2026-Q1`` is ``2025-Q4``."""
    found = _QUARTER.match(label)
    if found is None:
        raise ValueError(f"not a quarter: {label!r}")
    year, number = int(found.group(1)), int(found.group(2))
    return f"{year - 1}-Q4" if number == 1 else f"{year}-Q{number - 1}"


# Reporting periods of a release: a quarter, a half-year, the first nine months, or a year.
_PERIOD = re.compile(r"^(\d{4})(?:-(Q[1-4]|H[12]|9M))?$")
PERIOD_KINDS = ("quarter", "half", "9m", "year")
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


@dataclass(frozen=True)
class Period:
    """A reporting period in Vietnam time, from the first day of ``start`` to the last of ``end``.

    Codes: ``2026-Q3`` (a quarter), ``2026-H1`` (a half-year), ``2026-9M`` (January to
    September, the "9 tháng" report), ``2026`` (a year).

    >>> p = Period.parse("2026-Q3")
    >>> (p.kind, p.start.isoformat(), p.end.isoformat(), p.label_vi, p.previous().code)
    ('quarter', '2026-07-01', '2026-09-30', 'Quý III/2026', '2026-Q2')
    >>> Period.parse("2026-H1").previous().code, Period.parse("2026-9M").previous().code
    ('2025-H2', '2025-9M')
    """

    code: str
    kind: str  # one of PERIOD_KINDS
    year: int
    number: int  # the quarter (1–4) or half (1–2); 0 for nine months and a year

    @classmethod
    def parse(cls, text: str) -> Period:
        """The period written ``text`` (``2026-Q3``, ``2026-H1``, ``2026-9M``, ``2026``).

        Raises ValueError naming the text when it is not one of these forms."""
        code = text.strip().upper()
        found = _PERIOD.match(code)
        if found is None:
            raise ValueError(f"not a period: {text!r} (write 2026-Q3, 2026-H1, 2026-9M or 2026)")
        year, part = int(found.group(1)), found.group(2)
        if part is None:
            return cls(code, "year", year, 0)
        if part == "9M":
            return cls(code, "9m", year, 0)
        kind = "quarter" if part[0] == "Q" else "half"
        return cls(code, kind, year, int(part[1]))

    @property
    def months(self) -> tuple[int, int]:
        """The first and last month of the period."""
        if self.kind == "quarter":
            return 3 * self.number - 2, 3 * self.number
        if self.kind == "half":
            return 6 * self.number - 5, 6 * self.number
        return (1, 9) if self.kind == "9m" else (1, 12)

    @property
    def start(self) -> date:
        return date(self.year, self.months[0], 1)

    @property
    def end(self) -> date:
        """The last day of the period."""
        last = self.months[1]
        following = date(self.year + 1, 1, 1) if last == 12 else date(self.year, last + 1, 1)
        return following - timedelta(days=1)

    @property
    def label_vi(self) -> str:
        if self.kind == "quarter":
            return f"Quý {_ROMAN[self.number]}/{self.year}"
        if self.kind == "half":
            return f"6 tháng {'đầu' if self.number == 1 else 'cuối'} năm {self.year}"
        return f"9 tháng năm {self.year}" if self.kind == "9m" else f"Năm {self.year}"

    @property
    def label_en(self) -> str:
        if self.kind == "quarter":
            return f"Q{self.number} {self.year}"
        if self.kind == "half":
            return f"H{self.number} {self.year}"
        return f"January–September {self.year}" if self.kind == "9m" else str(self.year)

    def previous(self) -> Period:
        """The period before, of the same kind (the first nine months of the year before)."""
        if self.kind == "quarter":
            return Period.parse(f"{self.year - 1}-Q4" if self.number == 1 else f"{self.year}-Q{self.number - 1}")
        if self.kind == "half":
            return Period.parse(f"{self.year - 1}-H2" if self.number == 1 else f"{self.year}-H1")
        return Period.parse(f"{self.year - 1}-9M" if self.kind == "9m" else str(self.year - 1))

    def contains(self, moments: pd.Series) -> pd.Series:
        """Which moments (UTC, or naive as SQLite returns them) fall in the period, in Vietnam time."""
        stamps = pd.to_datetime(moments, utc=True)
        first = pd.Timestamp(datetime.combine(self.start, time(), VIETNAM))
        after = pd.Timestamp(datetime.combine(self.end + timedelta(days=1), time(), VIETNAM))
        return (stamps >= first) & (stamps < after)

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "kind": self.kind, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "label_vi": self.label_vi, "label_en": self.label_en}
