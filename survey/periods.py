"""Reporting periods in Vietnam's time (UTC+7, no daylight saving): quarters for the
one-stop-desk ratings a Department of Home Affairs publishes quarterly, years for household
surveys such as PAPI. A rating made at 06:30 on 1 April in Cà Mau belongs to Q2 even though it
is still 31 March in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd

VIETNAM = timezone(timedelta(hours=7), "ICT")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def local(moment: datetime) -> datetime:
    """``moment`` in Vietnam time (naive moments are UTC, as SQLite returns them)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(VIETNAM)


def quarter(moment: datetime) -> str:
    """``2026-Q2`` for a moment (naive moments are UTC)."""
    here = local(moment)
    return f"{here.year}-Q{(here.month - 1) // 3 + 1}"


def quarters(moments: pd.Series) -> pd.Series:
    """:func:`quarter` of every moment of a column (an empty column gives an empty one)."""
    stamps = pd.to_datetime(moments, utc=True).dt.tz_convert(VIETNAM)
    return stamps.dt.year.astype(str) + "-Q" + stamps.dt.quarter.astype(str)


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
