"""Edge cases against R ``survey`` 4.1 (numbers in tests/fixtures/scoring/stress_reference.csv,
produced by make_stress_reference.R from stress.csv and bootstrap_stress.csv, which
make_stress_data.py writes): replicate designs with domains empty in some replicates, the
jackknife with an fpc and with lonely PSUs, lonely PSU ``average`` for domains, certainty strata,
the design effect of totals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import estimators
from scoring.design import SurveyDesign
from scoring.results import EstimateTable

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "scoring"
RTOL = 1e-8


@pytest.fixture(scope="module")
def stress() -> pd.DataFrame:
    data = pd.read_csv(FIXTURES / "stress.csv")
    return data[data["unit"] != "u6"].reset_index(drop=True)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "stress_reference.csv")


def paired(data: pd.DataFrame) -> pd.DataFrame:
    return data[data["stratum"].isin(["s0", "s1", "s2", "s5"])].reset_index(drop=True)


def check(table: EstimateTable, reference: pd.DataFrame, case: str, by: str = "unit",
          *, deff: bool = False, dropped: bool = False) -> pd.DataFrame:  # fmt: skip
    ref = reference[reference["case"] == case]
    assert len(ref) > 0, case
    frame = table.to_frame()
    frame["domain"] = frame[by].astype(str) if by else "ALL"
    merged = ref.merge(frame, on=["domain", "id"], suffixes=("_r", ""))
    assert len(merged) == len(ref)
    np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], rtol=RTOL)
    # a domain inside one PSU has a zero SE in R; ours is zero up to rounding
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=RTOL, atol=1e-12)
    if deff:
        real = merged["se_r"] > 1e-6
        np.testing.assert_allclose(merged.loc[real, "deff"], merged.loc[real, "deff_r"], rtol=RTOL)
    if dropped:
        assert merged["replicates_dropped"].tolist() == merged["dropped"].astype(int).tolist()
    return merged


@pytest.mark.parametrize(
    ("case", "stratum"), [("jkn_empty", "stratum"), ("jk1_empty", None)]
)  # fmt: skip
def test_jackknife_drops_replicates_where_the_domain_is_empty(
    stress: pd.DataFrame, reference: pd.DataFrame, case: str, stratum: str | None
) -> None:
    design = SurveyDesign(weight="weight", stratum=stratum, psu="psu", variance="jackknife")
    merged = check(estimators.mean(paired(stress), "c1", design=design, by=["unit"]), reference,
                   case, dropped=True)  # fmt: skip
    # u4 lives in one PSU: deleting it leaves no weight; counted as 0 it gave a huge SE
    assert merged.set_index("domain").loc["u4", "replicates_dropped"] == 1


def test_bootstrap_drops_replicates_where_the_domain_is_empty(
    stress: pd.DataFrame, reference: pd.DataFrame
) -> None:
    boot = pd.read_csv(FIXTURES / "bootstrap_stress.csv")
    boot = boot[boot["unit"] != "u6"].reset_index(drop=True)
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", variance="bootstrap",
                          replicates=40, seed=3)  # fmt: skip
    # the stored replicate weights (R's input) come from the unfiltered file; u6 has no c1
    full = pd.read_csv(FIXTURES / "bootstrap_stress.csv")
    prepared = design.prepare(full)
    assert prepared.replicate_factors is not None
    regenerated = prepared.replicate_factors.factors[prepared.psu] * full[["weight"]].to_numpy()
    np.testing.assert_allclose(regenerated, full[[f"rep{r + 1}" for r in range(40)]], rtol=1e-12)
    table = estimators.mean(full, "c1", design=design, by=["unit"])
    merged = check(table, reference, "boot_empty", dropped=True)
    assert merged["replicates_dropped"].max() > 10
    assert table.get("c1", unit="u5").replicates_dropped == 4


def test_jackknife_scales_by_the_finite_population_correction(
    stress: pd.DataFrame, reference: pd.DataFrame
) -> None:
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", fpc="fpc",
                          variance="jackknife")  # fmt: skip
    check(estimators.mean(paired(stress), "c1", design=design, by=["unit"]), reference, "jkn_fpc")


def test_lonely_average_counts_the_strata_the_domain_touches(
    stress: pd.DataFrame, reference: pd.DataFrame
) -> None:
    lonely = stress[stress["stratum"] != "s4"].reset_index(drop=True)
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", lonely_psu="average")
    check(estimators.mean(lonely, "c1", design=design, by=["district"]), reference,
          "average_district", "district", deff=True)  # fmt: skip
    check(estimators.mean(lonely, "c2", design=design, by=["unit"]), reference, "average_unit",
          deff=True)  # fmt: skip


def test_certainty_stratum_by_its_fpc_is_not_lonely(
    stress: pd.DataFrame, reference: pd.DataFrame
) -> None:
    certain = stress[stress["stratum"] != "s3"].reset_index(drop=True)
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", fpc="fpc")
    check(estimators.mean(certain, "c1", design=design, by=["unit"]), reference,
          "certainty_fail", deff=True)  # fmt: skip
    average = SurveyDesign(weight="weight", stratum="stratum", psu="psu", fpc="fpc",
                           lonely_psu="average")  # fmt: skip
    check(estimators.mean(stress, "c1", design=average, by=["district"]), reference,
          "certainty_average", "district", deff=True)  # fmt: skip
    with pytest.raises(ValueError, match="'s3' has only one PSU"):
        estimators.mean(stress, "c1", design=design)


@pytest.mark.parametrize("rule", ["adjust", "average"])
def test_jackknife_follows_the_lonely_psu_rule(
    stress: pd.DataFrame, reference: pd.DataFrame, rule: str
) -> None:
    lonely = stress[stress["stratum"] != "s4"].reset_index(drop=True)
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", variance="jackknife",
                          lonely_psu=rule)  # type: ignore[arg-type]  # fmt: skip
    check(estimators.mean(lonely, "c1", design=design, by=["unit"]), reference, f"jkn_{rule}",
          dropped=True)  # fmt: skip


def test_jackknife_average_with_certainty_and_lonely_strata(
    stress: pd.DataFrame, reference: pd.DataFrame
) -> None:
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", fpc="fpc",
                          variance="jackknife", lonely_psu="average")  # fmt: skip
    check(estimators.mean(stress, "c1", design=design, by=["unit"]), reference, "jkn_fpc_average")


def test_design_effect_of_totals_is_centred(stress: pd.DataFrame, reference: pd.DataFrame) -> None:
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu")
    data = paired(stress)
    check(estimators.total(data, "y", design=design, by=["unit"]), reference, "total_deff",
          deff=True)  # fmt: skip
    whole = estimators.total(data, "y", design=design)
    check(whole, reference, "total_deff_all", by="", deff=True)
    assert whole.get("y").n_eff == pytest.approx(whole.get("y").n / whole.get("y").deff)


def test_rank_intervals_leave_out_replicates_where_a_unit_is_empty(
    reference: pd.DataFrame,
) -> None:
    from scoring.compare import unit_rank_intervals

    boot = pd.read_csv(FIXTURES / "bootstrap_stress.csv")
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", variance="bootstrap",
                          replicates=40, seed=3)  # fmt: skip
    ranks = unit_rank_intervals(boot, "c1", unit="unit", design=design).set_index("unit")
    # the replicates R discarded for u4's variance are those in which u4 is not ranked
    r_dropped = reference.query("case == 'boot_empty'").set_index("domain")["dropped"]
    assert ranks.loc["u4", "replicates_dropped"] == r_dropped["u4"] == 17
    # recompute the replicate ranks from the stored replicate weights, unit by unit
    reps = boot[[f"rep{r + 1}" for r in range(40)]].to_numpy()
    valid = boot["c1"].notna().to_numpy()
    answers = boot["c1"].fillna(0).to_numpy()
    units = sorted(boot.loc[valid, "unit"].unique())
    values = np.full((len(units), 40), np.nan)
    for i, u in enumerate(units):
        rows = (boot["unit"] == u).to_numpy() & valid
        weight = reps[rows].sum(axis=0)
        values[i] = np.where(weight > 0, (reps[rows] * answers[rows, None]).sum(axis=0), 0) / (
            np.where(weight > 0, weight, np.nan)
        )
    rank_of = pd.DataFrame(values, index=units).rank(method="min", ascending=False)
    for u in units:
        kept = rank_of.loc[u].dropna().to_numpy()
        assert ranks.loc[u, "rank_low"] == np.floor(np.quantile(kept, 0.025))
        assert ranks.loc[u, "rank_high"] == np.ceil(np.quantile(kept, 0.975))
