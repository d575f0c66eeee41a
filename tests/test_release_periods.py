"""Reporting periods of a release: quarter, half-year, nine months, year — in Vietnam time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from survey.periods import Period


@pytest.mark.parametrize(("code", "kind", "start", "end", "label_vi", "label_en", "previous"), [
    ("2026-Q3", "quarter", date(2026, 7, 1), date(2026, 9, 30), "Quý III/2026", "Q3 2026", "2026-Q2"),
    ("2026-Q1", "quarter", date(2026, 1, 1), date(2026, 3, 31), "Quý I/2026", "Q1 2026", "2025-Q4"),
    ("2024-Q1", "quarter", date(2024, 1, 1), date(2024, 3, 31), "Quý I/2024", "Q1 2024", "2023-Q4"),
    ("2026-H1", "half", date(2026, 1, 1), date(2026, 6, 30), "6 tháng đầu năm 2026", "H1 2026", "2025-H2"),
    ("2026-H2", "half", date(2026, 7, 1), date(2026, 12, 31), "6 tháng cuối năm 2026", "H2 2026", "2026-H1"),
    ("2026-9M", "9m", date(2026, 1, 1), date(2026, 9, 30), "9 tháng năm 2026", "January–September 2026",
     "2025-9M"),
    ("2026", "year", date(2026, 1, 1), date(2026, 12, 31), "Năm 2026", "2026", "2025"),
])
def test_every_kind_of_period_has_its_days_labels_and_predecessor(
    code: str, kind: str, start: date, end: date, label_vi: str, label_en: str, previous: str,
) -> None:
    period = Period.parse(code)
    assert (period.kind, period.start, period.end) == (kind, start, end)
    assert (period.label_vi, period.label_en) == (label_vi, label_en)
    assert period.previous().code == previous
    assert period.to_dict()["start"] == start.isoformat()


def test_a_period_is_read_whatever_the_case_and_spaces() -> None:
    assert Period.parse(" 2026-q3 ").code == "2026-Q3"
    assert Period.parse("2026-9m").kind == "9m"


@pytest.mark.parametrize("text", ["2026-Q5", "2026-H3", "26-Q1", "2026Q1", "Q3-2026", "", "2026-10M"])
def test_anything_else_is_refused_naming_what_was_written(text: str) -> None:
    with pytest.raises(ValueError, match="not a period") as caught:
        Period.parse(text)
    assert repr(text) in str(caught.value)


def test_membership_is_decided_in_vietnam_time() -> None:
    moments = pd.Series([
        datetime(2026, 6, 30, 16, 59, tzinfo=UTC),  # 23:59 on 30 June in Vietnam: Q2
        datetime(2026, 6, 30, 17, 0, tzinfo=UTC),  # 00:00 on 1 July in Vietnam: Q3
        datetime(2026, 9, 30, 16, 59, 59),  # naive (SQLite): UTC, 23:59:59 on 30 September: Q3
        datetime(2026, 9, 30, 17, 0),  # 1 October in Vietnam: Q4
    ])
    assert Period.parse("2026-Q3").contains(moments).tolist() == [False, True, True, False]
    assert Period.parse("2026-Q2").contains(moments).tolist() == [True, False, False, False]
    assert Period.parse("2026-9M").contains(moments).tolist() == [True, True, True, False]
    assert Period.parse("2026").contains(moments).all()
