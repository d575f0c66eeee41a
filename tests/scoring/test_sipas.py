"""SIPAS scoring: the published API, hand-checked values, rules and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring import estimators
from scoring.design import SurveyDesign
from scoring.sipas import PAR_MAXIMA, SipasElement, SipasSpec, score_sipas

SPEC = SipasSpec(
    elements=(
        SipasElement(id="access", max_points=1.5, criteria=("c1", "c2", "c3")),
        SipasElement(id="staff", max_points=2.5, criteria=("c4", "c5", "c6")),
    ),
    satisfied=frozenset({4, 5}),
    overall_rule="par_weighted",
)
DESIGN = SurveyDesign(weight="weight", stratum="stratum", psu="psu")


def test_frame_columns_and_kinds(survey: pd.DataFrame) -> None:
    frame = score_sipas(
        survey, SPEC, design=DESIGN, by=["unit_id", "service_id"], confidence=0.95
    ).to_frame()
    assert list(frame.columns[:11]) == [
        "unit_id", "service_id", "kind", "id", "n", "estimate", "se", "ci_low", "ci_high",
        "deff", "small_sample",
    ]  # fmt: skip
    per_domain = frame.groupby(["unit_id", "service_id"])["kind"].value_counts().unstack()
    assert (per_domain["criterion"] == 6).all() and (per_domain["element"] == 2).all()
    assert (per_domain[["overall", "par_points", "mean_score"]] == 1).all().all()
    assert frame["small_sample"].dtype == bool


def test_composites_are_the_documented_functions_of_criterion_rates(survey: pd.DataFrame) -> None:
    frame = (
        score_sipas(survey, SPEC, design=DESIGN, by=["unit_id"])
        .to_frame()
        .set_index(["unit_id", "id"])
    )
    rates = estimators.proportion(
        survey, [f"c{i}" for i in range(1, 7)], design=DESIGN, by=["unit_id"]
    )
    rate = rates.to_frame().set_index(["unit_id", "id"])["estimate"]
    for unit in ["u1", "u2", "u3"]:
        access = np.mean([rate[unit, c] for c in ("c1", "c2", "c3")])
        staff = np.mean([rate[unit, c] for c in ("c4", "c5", "c6")])
        assert frame.loc[(unit, "access"), "estimate"] == pytest.approx(access, rel=1e-12)
        points = 1.5 * access + 2.5 * staff
        assert frame.loc[(unit, "par_points"), "estimate"] == pytest.approx(points, rel=1e-12)
        assert frame.loc[(unit, "overall"), "estimate"] == pytest.approx(points / 4, rel=1e-12)
        means = estimators.mean(survey[survey["unit_id"] == unit], [f"c{i}" for i in range(1, 7)],
                                design=DESIGN).to_frame()["estimate"]  # fmt: skip
        assert frame.loc[(unit, "mean_score"), "estimate"] == pytest.approx(means.mean(), rel=1e-12)


def test_element_se_is_not_the_average_of_criterion_ses(survey: pd.DataFrame) -> None:
    frame = score_sipas(survey, SPEC, design=DESIGN).to_frame().set_index("id")
    averaged = frame.loc[["c1", "c2", "c3"], "se"].mean()
    # criteria are positively correlated within PSUs but not perfectly: the true SE is smaller
    assert 0 < frame.loc["access", "se"] < averaged


def test_overall_rules(survey: pd.DataFrame) -> None:
    def overall(rule: str) -> float:
        spec = SipasSpec(elements=SPEC.elements, overall_rule=rule)
        frame = score_sipas(survey, spec, design=DESIGN).to_frame().set_index("id")
        return float(frame.loc["overall", "estimate"])

    frame = score_sipas(survey, SPEC, design=DESIGN).to_frame().set_index("id")
    assert overall("plain_mean") == pytest.approx(frame.loc[["access", "staff"], "estimate"].mean())
    assert overall("item:c6") == pytest.approx(frame.loc["c6", "estimate"])
    assert PAR_MAXIMA == (1.5, 1.5, 2.5, 2.5, 2.0)


def test_missing_answers_are_not_valid() -> None:
    spec = SipasSpec(elements=(SipasElement("e", 2.0, ("a",)),))
    data = pd.DataFrame({"a": [5.0, 1.0, np.nan, np.nan]})
    frame = score_sipas(data, spec).to_frame().set_index("kind")
    assert frame.loc["criterion", "estimate"] == 0.5
    assert frame.loc["criterion", "n"] == 2
    assert bool(frame.loc["criterion", "small_sample"])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SipasSpec(elements=()), "at least one element"),
        (
            lambda: SipasSpec(elements=(SipasElement("e", 1, ("a",)),), overall_rule="median"),
            "'median'",
        ),
        (lambda: SipasElement("e", 1, ()), "'e' has no criteria"),
        (lambda: SurveyDesign(lonely_psu="drop"), "'drop'"),  # type: ignore[arg-type]
    ],
)
def test_bad_specs_raise_value_error(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_bad_data_raises_value_error_echoing_the_value(survey: pd.DataFrame) -> None:
    bad = survey.assign(c1=survey["c1"].where(survey.index != 3, 9.0))
    with pytest.raises(ValueError, match="9.0 outside"):
        score_sipas(bad, SPEC, design=DESIGN)
    with pytest.raises(ValueError, match="'nope' is not in the data"):
        score_sipas(survey, SPEC, design=SurveyDesign(weight="nope"))
    text = survey.assign(weight=survey["weight"].astype(object).where(survey.index != 0, "heavy"))
    with pytest.raises(ValueError, match="'heavy'"):
        score_sipas(text, SPEC, design=DESIGN)
    with pytest.raises(ValueError, match="confidence"):
        score_sipas(survey, SPEC, confidence=95)


def test_shares_use_the_logit_interval_of_svyciprop(survey: pd.DataFrame) -> None:
    """Criterion rates get exactly the logit interval of estimators.proportion (checked against
    R svyciprop in test_against_r); a share near 1 keeps its interval inside [0, 1], where the
    Wald interval crosses 1; PAR points and the mean score stay Wald (symmetric)."""
    survey = survey.copy()
    near_one = survey["unit_id"] == "u1"
    survey.loc[near_one, ["c1", "c2", "c3"]] = 5.0
    survey.loc[survey.index[near_one][:2], "c1"] = 1.0
    frame = score_sipas(survey, SPEC, design=DESIGN, by=["unit_id"]).to_frame()
    rates = frame[frame["kind"] == "criterion"]
    direct = estimators.proportion(survey, list(SPEC.criteria), design=DESIGN, by=["unit_id"],
                                   ci="logit").to_frame()  # fmt: skip
    merged = rates.merge(direct, on=["unit_id", "id"], suffixes=("", "_p"))
    assert len(merged) == len(rates) == 18
    np.testing.assert_allclose(merged["ci_low"], merged["ci_low_p"], rtol=1e-12)
    np.testing.assert_allclose(merged["ci_high"], merged["ci_high_p"], rtol=1e-12)
    shares = frame[frame["kind"].isin(["criterion", "element", "overall"])]
    assert (shares["ci_method"] == "logit").all()
    assert ((shares["ci_low"] >= 0) & (shares["ci_high"] <= 1)).all()
    access = frame[(frame["unit_id"] == "u1") & (frame["id"] == "access")].iloc[0]
    assert access["estimate"] + 1.96 * access["se"] > 1 > access["ci_high"] > access["estimate"]
    others = frame[frame["kind"].isin(["par_points", "mean_score"])]
    assert (others["ci_method"] == "wald").all()
    np.testing.assert_allclose(others["ci_high"] - others["estimate"],
                               others["estimate"] - others["ci_low"], rtol=1e-12)  # fmt: skip
    wald = score_sipas(survey, SPEC, design=DESIGN, by=["unit_id"], ci="wald").to_frame()
    assert (wald["ci_method"] == "wald").all()
