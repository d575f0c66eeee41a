"""PAPI aggregation reproduces the official 2011–2016 scores, ranks and medians.

Data: tests/fixtures/scoring/papi_official_2011_2016.csv (copy of
/work/shared/data/papi/papi_official_2011_2016.csv, the official workbook as a long table).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.compare import groups, rank, summary_rows
from scoring.papi import aggregate_sub_dimensions, highest_row, round_half_up

OFFICIAL = (
    Path(__file__).resolve().parent.parent / "fixtures" / "scoring" / "papi_official_2011_2016.csv"
)
DIMENSIONS = ["d1", "d2", "d3", "d4", "d5", "d6"]


@pytest.fixture(scope="module")
def official() -> pd.DataFrame:
    return pd.read_csv(OFFICIAL)


@pytest.fixture(scope="module")
def table(official: pd.DataFrame) -> pd.DataFrame:
    subs = official[official["level"] == "sub_dimension"]
    out = aggregate_sub_dimensions(subs, unit=("year", "province_code"))
    names = official.drop_duplicates("province_code").set_index("province_code")["province_en"]
    return out.assign(province_en=out["province_code"].map(names))


def test_totals_and_dimensions_reproduce_the_official_sheet(
    official: pd.DataFrame, table: pd.DataFrame
) -> None:
    published = official[official["level"].isin(["dimension", "total"])].pivot_table(
        index=["year", "province_code"], columns="measure_id", values="score", dropna=False
    )
    ours = table.set_index(["year", "province_code"])[[*DIMENSIONS, "total"]]
    published = published.loc[ours.index, [*DIMENSIONS, "total"]]
    scored = ours["total"].notna()
    assert int(scored.sum()) == 6 * 63 - 2  # Bắc Giang and Đồng Tháp 2014 are blank
    np.testing.assert_allclose(ours[scored], published[scored], atol=1e-5)
    # two-decimal display of the unrounded sums equals the published two-decimal totals
    assert (
        round_half_up(ours.loc[scored, "total"]) == round_half_up(published.loc[scored, "total"])
    ).all()


def test_ca_mau_2015_total_is_the_rounded_sum_of_unrounded_dimensions(table: pd.DataFrame) -> None:
    row = table[(table["year"] == 2015) & (table["province_code"] == 96)].iloc[0]
    assert round_half_up(row["total"]) == pytest.approx(35.82)
    assert round_half_up(row[DIMENSIONS].to_numpy(dtype=float)).sum() == pytest.approx(35.83)


def test_can_tho_2014_ranks(table: pd.DataFrame) -> None:
    year = table[table["year"] == 2014].set_index("province_en")
    ranks = {m: int(rank(year[m])["Can Tho"]) for m in [*DIMENSIONS, "total"]}
    assert ranks == {"d1": 38, "d2": 59, "d3": 58, "d4": 39, "d5": 53, "d6": 44, "total": 55}
    assert len(year) == 63  # ranks are quoted out of 63 provinces


def test_ca_mau_2015_national_medians(table: pd.DataFrame) -> None:
    year = table[table["year"] == 2015]
    medians = summary_rows(year[DIMENSIONS]).loc["median"]
    assert round_half_up(medians.to_numpy(dtype=float)).tolist() == [
        4.8,
        5.41,
        5.58,
        5.89,
        6.83,
        6.96,
    ]


def test_highest_row_total_is_sum_of_dimension_maxima(table: pd.DataFrame) -> None:
    year = table[table["year"] == 2015]
    highest = highest_row(year, DIMENSIONS)
    assert highest["d1"] == year["d1"].max()
    assert highest["total"] == pytest.approx(year[DIMENSIONS].max().sum())
    assert highest["total"] > year["total"].max()


def test_quartile_groups_have_about_a_quarter_each(table: pd.DataFrame) -> None:
    year = table[table["year"] == 2014]
    group = groups(year["total"])
    assert group.isna().sum() == 2  # unscored provinces get no group
    counts = group.value_counts().sort_index()
    assert counts.index.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert counts.between(15, 16).all()
    best = year["total"].idxmax()
    assert group[best] == 1
