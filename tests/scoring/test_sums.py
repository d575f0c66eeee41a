"""scoring.sums: estimates from summed sufficient statistics equal the microdata engine's
(score_sipas, change_sipas with SurveyDesign(weight=…)) on random weighted data, and the sums of a
partition add up to the sums of the whole."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.change import change_sipas
from scoring.design import SurveyDesign
from scoring.sipas import SHARE_KINDS, SipasElement, SipasSpec, score_sipas, sipas_plan
from scoring.sums import SumsLayout, change_table_from_sums, row_sums, table_from_sums

SPEC = SipasSpec(elements=(SipasElement("a", 1.5, ("c0", "c1")), SipasElement("b", 2.5, ("c2",)),
                           SipasElement("c", 2.0, ("c3", "c4"))))
COLUMNS = ["estimate", "se", "ci_low", "ci_high", "deff", "n_eff"]


def _data(n: int = 6000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({f"c{i}": rng.choice([1, 2, 3, 4, 5, np.nan], size=n, p=[.05, .05, .1, .35, .4, .05])
                         for i in range(5)})
    data["w"] = rng.uniform(0.2, 3.0, n)
    data.loc[:3, "w"] = 0.0  # weightless rows count in N, not in n
    data["d"] = rng.choice(["x", "y", "z"], n)
    data["per"] = rng.choice(["q1", "q2"], n)
    return data


def _relative(a: pd.Series, b: pd.Series) -> float:
    x, y = a.to_numpy(float), b.to_numpy(float)
    assert (np.isnan(x) == np.isnan(y)).all()
    both = ~np.isnan(x)
    return float(np.max(np.abs(x[both] - y[both]) / np.maximum(np.abs(x[both]), 1e-300), initial=0.0))


def test_estimates_from_sums_equal_the_microdata() -> None:
    data = _data()
    micro = score_sipas(data, SPEC, design=SurveyDesign(weight="w"), by=["d"]).to_frame()
    plan = sipas_plan(data, SPEC)
    layout = SumsLayout.of(plan)
    # each domain's sums built from two halves: the sums of a partition add up
    sums = np.stack([row_sums(layout, plan.y[(data["d"] == d).to_numpy() & half],
                              data["w"].to_numpy()[(data["d"] == d).to_numpy() & half])
                     for d in "xyz" for half in (np.arange(len(data)) % 2 == 0, np.arange(len(data)) % 2 == 1)])
    sums = sums.reshape(3, 2, -1).sum(axis=1)
    ci = ["logit" if k in SHARE_KINDS else "wald" for k in layout.kinds]
    rolled = table_from_sums(layout, sums, pd.DataFrame({"d": list("xyz")}), n_total=len(data), ci=ci).to_frame()
    assert len(rolled) == len(micro) > 30
    for column in COLUMNS:
        assert _relative(rolled[column], micro[column]) < 1e-12, column
    assert (rolled[["n", "n_psu", "small_sample"]].to_numpy() == micro[["n", "n_psu", "small_sample"]].to_numpy()).all()
    assert rolled["df"].iloc[0] == micro["df"].iloc[0] == len(data) - 1


def test_change_from_sums_equals_the_microdata() -> None:
    data = _data(seed=4)
    micro = change_sipas(data, SPEC, period="per", base="q1", current="q2", design=SurveyDesign(weight="w"),
                         by=["d"]).to_frame()
    plan = sipas_plan(data, SPEC)
    layout = SumsLayout.of(plan)

    def sums(period: str) -> np.ndarray:
        return np.stack([row_sums(layout, plan.y[m], data["w"].to_numpy()[m]) for d in "xyz"
                         if (m := ((data["d"] == d) & (data["per"] == period)).to_numpy()) is not None])

    rolled = change_table_from_sums(layout, sums("q2"), sums("q1"), pd.DataFrame({"d": list("xyz")}),
                                    n_total=len(data))
    for column in ["se", "ci_low", "ci_high", "p_value", "base_estimate", "current_estimate", "deff"]:
        assert _relative(rolled[column], micro[column]) < 1e-12, column
    # a change is a difference of close numbers: compare it on the scale of the indices
    assert np.nanmax(np.abs(rolled["estimate"].to_numpy(float) - micro["estimate"].to_numpy(float))) < 1e-13
    assert (rolled["significant"].to_numpy() == micro["significant"].to_numpy()).all()


def test_a_single_answer_has_no_variance_not_rounding_noise() -> None:
    data = pd.DataFrame({f"c{i}": [4.0, 2.0, 5.0] for i in range(5)})
    data["w"] = [0.7, 1.3, 2.9]
    plan = sipas_plan(data, SPEC)
    layout = SumsLayout.of(plan)
    one = row_sums(layout, plan.y[:1], data["w"].to_numpy()[:1])[None, :]
    table = table_from_sums(layout, one, pd.DataFrame({"d": ["x"]}), n_total=3).to_frame()
    assert (table["se"] == 0.0).all()
