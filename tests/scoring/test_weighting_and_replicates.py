"""Weighting rules, replicate designs, comparisons and PAPI scoring on synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring import estimators
from scoring.compare import change, groups, progress, rank, unit_rank_intervals
from scoring.design import SurveyDesign
from scoring.dossier import rate_dossiers
from scoring.papi import PapiDimension, PapiIndicator, PapiSpec, PapiSubDimension, score_papi
from scoring.weighting import (
    kish_effective_n,
    post_stratify,
    rake,
    trim_weights,
    weighting_efficiency,
)

DESIGN = SurveyDesign(weight="weight", stratum="stratum", psu="psu")


def test_raking_meets_every_margin(survey: pd.DataFrame) -> None:
    survey = survey.assign(sex=np.where(survey.index % 3 == 0, "m", "f"))
    margins = pd.DataFrame({"variable": ["sex", "sex", "service_id", "service_id"],
                            "level": ["f", "m", "build", "land"],
                            "population": [600.0, 500.0, 300.0, 800.0]})  # fmt: skip
    result = rake(survey, margins, weight="weight")
    assert result.max_margin_error < 1e-12
    assert result.weights[survey["sex"] == "m"].sum() == pytest.approx(500)
    assert result.weights[survey["service_id"] == "land"].sum() == pytest.approx(800)
    assert 0 < result.efficiency <= 1
    with pytest.raises(ValueError, match="'unit_id'"):
        rake(survey, margins.assign(variable="unit_id"), weight="weight")


def test_post_stratification_hits_cell_counts(survey: pd.DataFrame) -> None:
    population = pd.DataFrame({"unit_id": ["u1", "u2", "u3"], "population": [100.0, 200.0, 300.0]})
    result = post_stratify(survey, population, ["unit_id"], weight="weight")
    sums = pd.Series(result.weights).groupby(survey["unit_id"].to_numpy()).sum()
    assert sums.to_dict() == pytest.approx({"u1": 100, "u2": 200, "u3": 300})
    design = SurveyDesign(
        weight="weight", stratum="stratum", psu="psu", calibration=result.calibration
    )
    table = estimators.total(survey.assign(one=1.0), "one", design=design, by=["unit_id"])
    # totals of the post-stratification variable are known exactly: zero variance
    assert table.to_frame()["se"].max() < 1e-8


def test_trimming_keeps_the_total_and_caps(survey: pd.DataFrame) -> None:
    w = survey["weight"].to_numpy().copy()
    w[:5] = 2000.0
    trimmed = trim_weights(w, upper=3.5)
    assert trimmed.sum() == pytest.approx(w.sum())
    assert trimmed.max() <= 3.5 * np.median(w) * (1 + 1e-9)
    assert kish_effective_n(trimmed) > kish_effective_n(w)
    assert weighting_efficiency(np.ones(4)) == 1.0
    with pytest.raises(ValueError, match="0.5"):
        trim_weights(w, upper=0.5)


def test_replicate_ses_are_close_to_linearisation(survey: pd.DataFrame) -> None:
    taylor = estimators.mean(survey, "c1", design=DESIGN, by=["unit_id"]).to_frame()["se"]
    for variance in ("jackknife", "bootstrap"):
        design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", variance=variance,
                              replicates=400, seed=3)  # type: ignore[arg-type]  # fmt: skip
        replicate = estimators.mean(survey, "c1", design=design, by=["unit_id"]).to_frame()["se"]
        np.testing.assert_allclose(replicate, taylor, rtol=0.35)


def test_rank_intervals_contain_the_rank(survey: pd.DataFrame) -> None:
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", variance="bootstrap",
                          replicates=200, seed=1)  # fmt: skip
    out = unit_rank_intervals(survey, "c1", unit="unit_id", design=design)
    assert (out["rank_low"] <= out["rank"]).all() and (out["rank"] <= out["rank_high"]).all()
    assert sorted(out["rank"]) == [1, 2, 3]
    for taylor_or_jackknife in (DESIGN, SurveyDesign(weight="weight", stratum="stratum", psu="psu",
                                                      variance="jackknife")):
        with pytest.raises(ValueError, match="bootstrap design"):
            unit_rank_intervals(survey, "c1", unit="unit_id", design=taylor_or_jackknife)


def test_change_flags_a_real_shift(survey: pd.DataFrame) -> None:
    shifted = survey.copy()
    later = shifted["period"] == 2025
    shifted.loc[later, "c1"] = np.clip(shifted.loc[later, "c1"] + 1, 1, 5)
    frame = change(
        shifted, "c1", period="period", base=2024, current=2025, design=DESIGN
    ).to_frame()
    assert frame["estimate"].iloc[0] > 0.5 and bool(frame["significant"].iloc[0])
    assert frame["p_value"].iloc[0] < 0.001
    with pytest.raises(ValueError, match="2030"):
        change(survey, "c1", period="period", base=2030, current=2025)


def test_ranks_groups_and_progress() -> None:
    scores = pd.Series([6.0, 7.0, 7.0, np.nan, 5.0])
    assert rank(scores).tolist()[:3] == [3.0, 1.0, 1.0]
    assert groups(scores, rule="equal_count").tolist()[:3] == [3.0, 1.0, 1.0]
    out = progress(pd.Series([6.8]), target=6.57)
    assert bool(out["achieved"].iloc[0])


def test_papi_scores_and_their_ses(survey: pd.DataFrame) -> None:
    spec = PapiSpec((
        PapiDimension("d1", (PapiSubDimension("d1.1", (PapiIndicator("c1", 1, 5), PapiIndicator("c2", 1, 5))),
                             PapiSubDimension("d1.2", (PapiIndicator("c3", 1, 5, higher_is_better=False),)))),
        PapiDimension("d2", (PapiSubDimension("d2.1", (PapiIndicator("c4", 1, 5),)),)),
    ))  # fmt: skip
    complete = survey.dropna(subset=["c1", "c2", "c3", "c4"])
    frame = score_papi(complete, spec, design=DESIGN).to_frame().set_index("id")
    means = (
        estimators.mean(complete, ["c1", "c2", "c3", "c4"], design=DESIGN)
        .to_frame()
        .set_index("id")["estimate"]
    )
    s = {c: 1 + 9 * (means[c] - 1) / 4 for c in ("c1", "c2", "c4")}
    s["c3"] = 1 + 9 * (5 - means["c3"]) / 4
    d1 = (s["c1"] + s["c2"]) / 2 / 2 + s["c3"] / 2
    assert frame.loc["d1", "estimate"] == pytest.approx(d1, rel=1e-12)
    assert frame.loc["total", "estimate"] == pytest.approx(d1 + s["c4"], rel=1e-12)
    # with no missing answers the total is the mean of a per-respondent score: same SE
    row_total = ((1 + 9 * (complete["c1"] - 1) / 4 + 1 + 9 * (complete["c2"] - 1) / 4) / 4
                 + (1 + 9 * (5 - complete["c3"]) / 4) / 2 + 1 + 9 * (complete["c4"] - 1) / 4)  # fmt: skip
    direct = estimators.mean(complete.assign(score=row_total), "score", design=DESIGN).to_frame()
    assert frame.loc["total", "se"] == pytest.approx(direct["se"].iloc[0], rel=1e-10)


def test_dossier_points_follow_the_90_percent_rule() -> None:
    data = pd.DataFrame({"unit": ["a"] * 10 + ["b"] * 10,
                         "c1": [5] * 10 + [5] * 7 + [2] * 3, "c2": [4] * 20})  # fmt: skip
    frame = rate_dossiers(data, ["c1", "c2"], by=["unit"], max_points=2.0).to_frame()
    points = frame[frame["kind"] == "dossier_points"].set_index("unit")["estimate"]
    assert points["a"] == 2.0
    assert points["b"] == pytest.approx(0.7 * 2.0 / 0.9)


def test_raking_within_groups_meets_each_groups_margins(survey: pd.DataFrame) -> None:
    survey = survey.assign(sex=np.where(survey.index % 3 == 0, "m", "f"))
    rows = []
    for unit, size in (("u1", 1000.0), ("u2", 2000.0), ("u3", 3000.0)):
        rows += [(unit, "sex", "f", 0.52 * size), (unit, "sex", "m", 0.48 * size),
                 (unit, "service_id", "land", 0.7 * size), (unit, "service_id", "build", 0.3 * size)]  # fmt: skip
    margins = pd.DataFrame(rows, columns=["unit_id", "variable", "level", "population"])
    result = rake(survey, margins, weight="weight", group="unit_id")
    w = pd.Series(result.weights, index=survey.index)
    assert w[(survey["unit_id"] == "u3") & (survey["sex"] == "m")].sum() == pytest.approx(1440)
    assert w[
        (survey["unit_id"] == "u1") & (survey["service_id"] == "build")
    ].sum() == pytest.approx(300)


def test_rank_intervals_of_a_composite_equal_those_of_its_per_respondent_score(survey: pd.DataFrame) -> None:
    """With no missing answers a PAPI total is the mean of a per-respondent score, so ranking units
    on the composite must give the very ranks and intervals of ranking them on that score."""
    from scoring.compare import score_rank_intervals
    from scoring.papi import papi_plan

    spec = PapiSpec((
        PapiDimension("d1", (PapiSubDimension("d1.1", (PapiIndicator("c1", 1, 5),)),
                             PapiSubDimension("d1.2", (PapiIndicator("c3", 1, 5, higher_is_better=False),)))),
        PapiDimension("d2", (PapiSubDimension("d2.1", (PapiIndicator("c4", 1, 5),)),)),
    ))  # fmt: skip
    complete = survey.dropna(subset=["c1", "c3", "c4"])
    per_person = (1 + 9 * (complete["c1"] - 1) / 4) / 2 + (1 + 9 * (5 - complete["c3"]) / 4) / 2 \
        + 1 + 9 * (complete["c4"] - 1) / 4
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", variance="bootstrap", replicates=300,
                          seed=5)
    composite = score_rank_intervals(complete, papi_plan(complete, spec), score="total", unit="unit_id",
                                     design=design)
    single = unit_rank_intervals(complete.assign(score=per_person), "score", unit="unit_id", design=design)
    assert composite["estimate"].to_numpy() == pytest.approx(single["estimate"].to_numpy(), rel=1e-12)
    for column in ("unit_id", "rank", "rank_low", "rank_high"):
        assert composite[column].tolist() == single[column].tolist()
    # Restricting the ranking to some units ranks those only.
    some = score_rank_intervals(complete, papi_plan(complete, spec), score="total", unit="unit_id",
                                design=design, units=["u1", "u3"])
    assert some["unit_id"].tolist() == ["u1", "u3"] and sorted(some["rank"]) == [1, 2]


def test_rank_intervals_are_tight_for_far_apart_units_and_wide_for_alike_ones() -> None:
    from scoring.compare import score_rank_intervals
    from scoring.sipas import SipasElement, SipasSpec, sipas_plan

    rng = np.random.default_rng(11)
    rows = []
    for unit, centre in (("a", 1.6), ("b", 2.6), ("c", 3.6), ("d", 4.6), ("e", 3.0), ("f", 3.0), ("g", 3.0)):
        for psu in range(8):
            shift = rng.normal(0, 0.1)
            for _ in range(15):
                rows.append({"unit": unit, "psu": f"{unit}{psu}", "stratum": unit, "weight": 1.0,
                             **{c: float(np.clip(np.rint(centre + shift + rng.normal(0, 0.3)), 1, 5))
                                for c in ("q1", "q2")}})
    data = pd.DataFrame(rows)
    spec = SipasSpec(elements=(SipasElement("e1", 1.0, ("q1",)), SipasElement("e2", 1.0, ("q2",))),
                     overall_rule="plain_mean")
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", variance="bootstrap", replicates=400,
                          seed=3)
    apart = score_rank_intervals(data, sipas_plan(data, spec), score="mean_score", unit="unit", design=design,
                                 units=["a", "b", "c", "d"]).set_index("unit")
    assert apart["rank"].to_dict() == {"a": 4, "b": 3, "c": 2, "d": 1}
    assert (apart["rank_low"] == apart["rank"]).all() and (apart["rank_high"] == apart["rank"]).all()
    alike = score_rank_intervals(data, sipas_plan(data, spec), score="overall", unit="unit", design=design,
                                 units=["e", "f", "g"])
    assert (alike["rank_high"] - alike["rank_low"] >= 1).all()
    with pytest.raises(ValueError, match="not one of the plan's scores"):
        score_rank_intervals(data, sipas_plan(data, spec), score="nope", unit="unit", design=design)
