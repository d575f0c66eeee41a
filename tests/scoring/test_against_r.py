"""Estimates and SEs against R ``survey`` (numbers in tests/fixtures/scoring/reference.csv,
produced by make_reference.R from the CSV files beside it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import estimators
from scoring.design import SurveyDesign
from scoring.results import EstimateTable
from scoring.sipas import SipasElement, SipasSpec, score_sipas
from scoring.weighting import rake

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "scoring"
RTOL = 1e-8
DESIGN = SurveyDesign(weight="weight", stratum="stratum", psu="psu")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "design.csv")


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "reference.csv", keep_default_na=True)


def expected(reference: pd.DataFrame, case: str) -> pd.DataFrame:
    rows = reference[reference["case"] == case]
    assert len(rows) > 0, case
    return rows.reset_index(drop=True)


def check(table: EstimateTable, ref: pd.DataFrame, by: list[str], *, ci: bool = True,
          deff: bool = True) -> None:  # fmt: skip
    frame = table.to_frame()
    if by:
        frame["domain"] = frame[by].astype(str).agg("|".join, axis=1)
    else:
        frame["domain"] = "ALL"
    merged = ref.merge(frame, on=["domain", "id"], suffixes=("_r", ""))
    assert len(merged) == len(ref)
    np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], rtol=RTOL)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=RTOL)
    if ci:
        np.testing.assert_allclose(merged["ci_low"], merged["ci_low_r"], rtol=RTOL)
        np.testing.assert_allclose(merged["ci_high"], merged["ci_high_r"], rtol=RTOL)
    if deff:
        np.testing.assert_allclose(merged["deff"], merged["deff_r"], rtol=RTOL)


def test_domain_means_with_t_interval_and_deff(data: pd.DataFrame, reference: pd.DataFrame) -> None:
    table = estimators.mean(data, "c1", design=DESIGN, by=["unit", "service"])
    check(table, expected(reference, "mean"), ["unit", "service"])


def test_share_satisfied_is_a_mean_of_the_indicator(
    data: pd.DataFrame, reference: pd.DataFrame
) -> None:
    table = estimators.proportion(data, "c2", design=DESIGN, by=["unit"])
    ref = expected(reference, "proportion").assign(id="c2")
    check(table, ref, ["unit"])


def test_normal_quantile_interval(data: pd.DataFrame, reference: pd.DataFrame) -> None:
    table = estimators.mean(data, "c3", design=DESIGN, by=["unit"], df="inf")
    check(table, expected(reference, "mean_normal"), ["unit"])


def test_logit_interval_matches_svyciprop(data: pd.DataFrame, reference: pd.DataFrame) -> None:
    table = estimators.proportion(data, "c4", design=DESIGN, by=["unit"], ci="logit")
    check(table, expected(reference, "logit").assign(id="c4"), ["unit"], deff=False)
    logit = table.get("c4", unit="u1").ci
    assert logit.method == "logit" and logit.defined
    wald = estimators.proportion(data, "c4", design=DESIGN, by=["unit"]).get("c4", unit="u1").ci
    assert wald.method == "wald" and (wald.low, wald.high) != (logit.low, logit.high)


def test_total(data: pd.DataFrame, reference: pd.DataFrame) -> None:
    table = estimators.total(data, "y", design=DESIGN, by=["unit"])
    check(table, expected(reference, "total"), ["unit"], deff=False)


def test_ratio(data: pd.DataFrame, reference: pd.DataFrame) -> None:
    table = estimators.ratio(data, "y", "x", design=DESIGN, by=["unit"])
    check(table, expected(reference, "ratio"), ["unit"], ci=False, deff=False)


def test_finite_population_correction(data: pd.DataFrame, reference: pd.DataFrame) -> None:
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", fpc="fpc")
    check(
        estimators.mean(data, "c1", design=design, by=["unit"]),
        expected(reference, "fpc"),
        ["unit"],
    )


def test_rows_as_psus_without_strata(data: pd.DataFrame, reference: pd.DataFrame) -> None:
    table = estimators.mean(data, "c1", design=SurveyDesign(weight="weight"), by=["unit"])
    check(table, expected(reference, "srs"), ["unit"])


def test_change_between_periods(data: pd.DataFrame, reference: pd.DataFrame) -> None:
    from scoring.compare import change

    table = change(data, "c2", period="period", base=2014, current=2015, design=DESIGN, by=["unit"])
    check(table, expected(reference, "difference"), ["unit"], ci=False, deff=False)


def test_sipas_composites_match_delta_method(data: pd.DataFrame, reference: pd.DataFrame) -> None:
    spec = SipasSpec(
        elements=(
            SipasElement(id="e1", max_points=1.5, criteria=("c1", "c2", "c3")),
            SipasElement(id="e2", max_points=2.5, criteria=("c4", "c5", "c6")),
        )
    )
    table = score_sipas(data, spec, design=DESIGN, by=["unit"])
    frame = table.to_frame()
    ref = expected(reference, "sipas")
    frame = frame[frame["kind"] != "criterion"].copy()
    frame["id"] = np.where(frame["kind"] == "element", frame["id"], frame["kind"])
    merged = ref.merge(
        frame.rename(columns={"unit": "domain"}), on=["domain", "id"], suffixes=("_r", "")
    )
    assert len(merged) == len(ref) == 15
    np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], rtol=RTOL)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=RTOL)


@pytest.mark.parametrize("rule", ["adjust", "average", "certainty", "remove"])
def test_lonely_psu_rules(rule: str, reference: pd.DataFrame) -> None:
    lonely = pd.read_csv(FIXTURES / "lonely.csv")
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", lonely_psu=rule)  # type: ignore[arg-type]
    table = estimators.mean(lonely, "c1", design=design, by=["unit"])
    check(table, expected(reference, f"lonely_{rule}"), ["unit"])


def test_lonely_psu_fails_by_default() -> None:
    lonely = pd.read_csv(FIXTURES / "lonely.csv")
    with pytest.raises(ValueError, match="'s0' has only one PSU"):
        estimators.mean(lonely, "c1", design=DESIGN)


def test_raking_weights_and_calibrated_variance(
    data: pd.DataFrame, reference: pd.DataFrame
) -> None:
    margins = pd.read_csv(FIXTURES / "margins.csv")
    result = rake(data, margins, weight="weight")
    r_weights = pd.read_csv(FIXTURES / "raked_weights.csv")["weight"].to_numpy()
    np.testing.assert_allclose(result.weights, r_weights, rtol=1e-9)
    design = SurveyDesign(
        weight="weight", stratum="stratum", psu="psu", calibration=result.calibration
    )
    check(estimators.mean(data, "c1", design=design, by=["unit"]), expected(reference, "raked"),
          ["unit"], deff=False)  # fmt: skip
    check(estimators.mean(data, "c5", design=design), expected(reference, "raked_all"), [],
          ci=False, deff=False)  # fmt: skip


def test_jackknife(data: pd.DataFrame, reference: pd.DataFrame) -> None:
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", variance="jackknife")
    check(estimators.mean(data, "c1", design=design, by=["unit"]), expected(reference, "jackknife"),
          ["unit"], ci=False, deff=False)  # fmt: skip


def test_rao_wu_bootstrap(reference: pd.DataFrame) -> None:
    boot = pd.read_csv(FIXTURES / "bootstrap.csv")
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", variance="bootstrap",
                          replicates=50, seed=11)  # fmt: skip
    prepared = design.prepare(boot)
    assert prepared.replicate_factors is not None
    stored = boot[[f"rep{r + 1}" for r in range(50)]].to_numpy()
    regenerated = (
        prepared.replicate_factors.factors[prepared.psu] * boot["weight"].to_numpy()[:, None]
    )
    np.testing.assert_allclose(regenerated, stored, rtol=1e-12)
    check(estimators.mean(boot, "c1", design=design, by=["unit"]), expected(reference, "bootstrap"),
          ["unit"], ci=False, deff=False)  # fmt: skip
