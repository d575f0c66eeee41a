"""Change between periods of SIPAS and PAPI composites, against R ``survey`` (svyby over the
period with covmat=TRUE, then svycontrast) on two periods sharing their PSUs (numbers in
tests/fixtures/scoring/change_reference.csv, from make_change_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.compare import change, change_papi, change_sipas
from scoring.design import SurveyDesign
from scoring.papi import PapiDimension, PapiIndicator, PapiSpec, PapiSubDimension, score_papi
from scoring.results import EstimateTable
from scoring.sipas import SipasElement, SipasSpec, score_sipas

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "scoring"
RTOL = 1e-8
DESIGN = SurveyDesign(weight="weight", stratum="stratum", psu="psu")
SIPAS = SipasSpec(
    elements=(
        SipasElement("e1", 1.5, ("c1", "c2", "c3")),
        SipasElement("e2", 2.5, ("c4", "c5")),
        SipasElement("e3", 2.0, ("c6",)),
    )
)
PAPI = PapiSpec(
    (
        PapiDimension("d1", (
            PapiSubDimension("d1.1", (PapiIndicator("c1", 1, 5), PapiIndicator("c2", 1, 5))),
            PapiSubDimension("d1.2", (PapiIndicator("c3", 1, 5, higher_is_better=False),)),
        )),
        PapiDimension("d2", (
            PapiSubDimension("d2.1", tuple(PapiIndicator(c, 1, 5) for c in ("c4", "c5", "c6"))),
            PapiSubDimension("d2.2", (PapiIndicator("b1", 0, 1),)),
        )),
    )
)  # fmt: skip


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "change.csv")


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "change_reference.csv")


def check(table: EstimateTable, ref: pd.DataFrame, by: list[str]) -> None:
    frame = table.to_frame()
    frame["domain"] = frame[by[0]] if by else "ALL"
    merged = ref.merge(frame, on=["domain", "id"], suffixes=("_r", ""))
    assert len(merged) == len(ref)
    for column in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_r"], rtol=RTOL)
    assert (merged["significant"] == (merged["p_value_r"] < 0.05)).all()


@pytest.mark.parametrize("by", [[], ["unit"]])
def test_sipas_change_matches_svycontrast(
    data: pd.DataFrame, reference: pd.DataFrame, by: list[str]
) -> None:
    table = change_sipas(data, SIPAS, period="period", base=2024, current=2025, design=DESIGN,
                         by=by)  # fmt: skip
    ref = reference[reference["case"] == "sipas"]
    check(table, ref[ref["domain"] != "ALL"] if by else ref[ref["domain"] == "ALL"], by)


@pytest.mark.parametrize("by", [[], ["unit"]])
def test_papi_change_matches_svycontrast(
    data: pd.DataFrame, reference: pd.DataFrame, by: list[str]
) -> None:
    table = change_papi(data, PAPI, period="period", base=2024, current=2025, design=DESIGN,
                        by=by)  # fmt: skip
    ref = reference[reference["case"] == "papi"]
    check(table, ref[ref["domain"] != "ALL"] if by else ref[ref["domain"] == "ALL"], by)


def test_change_is_the_difference_of_the_period_scores(data: pd.DataFrame) -> None:
    table = change_sipas(data, SIPAS, period="period", base=2024, current=2025, design=DESIGN,
                         by=["unit"]).to_frame().set_index(["unit", "kind", "id"])  # fmt: skip
    scores = score_sipas(data, SIPAS, design=DESIGN, by=["unit", "period"]).to_frame()
    wide = scores.set_index(["unit", "kind", "id", "period"])["estimate"].unstack("period")
    wide = wide.loc[table.index]
    np.testing.assert_allclose(table["base_estimate"], wide[2024], rtol=1e-12)
    np.testing.assert_allclose(table["current_estimate"], wide[2025], rtol=1e-12)
    np.testing.assert_allclose(table["estimate"], wide[2025] - wide[2024], rtol=1e-9, atol=1e-15)
    papi = change_papi(data, PAPI, period="period", base=2024, current=2025,
                       design=DESIGN).to_frame().set_index("id")  # fmt: skip
    per_period = score_papi(data, PAPI, design=DESIGN, by=["period"]).to_frame()
    total = per_period[per_period["id"] == "total"].set_index("period")["estimate"]
    assert papi.loc["total", "base_estimate"] == pytest.approx(total[2024], rel=1e-12)
    assert papi.loc["total", "estimate"] == pytest.approx(total[2025] - total[2024], rel=1e-9)


def test_shared_psus_make_the_change_more_precise_than_independent_samples(
    data: pd.DataFrame,
) -> None:
    # the PSU effect is common to both periods: the covariance term must shrink the SE
    table = change_sipas(data, SIPAS, period="period", base=2024, current=2025,
                         design=DESIGN).to_frame().set_index("id")  # fmt: skip
    scores = score_sipas(data, SIPAS, design=DESIGN, by=["period"]).to_frame()
    se = scores[scores["id"] == "overall"].set_index("period")["se"]
    independent = float(np.hypot(se[2024], se[2025]))
    assert table.loc["overall", "se"] < 0.8 * independent


def test_single_item_change_keeps_its_kind_and_columns(data: pd.DataFrame) -> None:
    frame = change(data, "c1", period="period", base=2024, current=2025, design=DESIGN,
                   statistic="proportion").to_frame()  # fmt: skip
    assert frame["kind"].tolist() == ["change"]
    composite = change_sipas(data, SIPAS, period="period", base=2024, current=2025,
                             design=DESIGN).to_frame().set_index("id")  # fmt: skip
    assert frame["estimate"].iloc[0] == pytest.approx(composite.loc["c1", "estimate"], rel=1e-12)
    assert frame["se"].iloc[0] == pytest.approx(composite.loc["c1", "se"], rel=1e-12)


def test_unknown_period_is_a_clear_error(data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="period 2019 does not occur"):
        change_papi(data, PAPI, period="period", base=2019, current=2025, design=DESIGN)
    with pytest.raises(ValueError, match="period column 'year'"):
        change_sipas(data, SIPAS, period="year", base=2024, current=2025)
