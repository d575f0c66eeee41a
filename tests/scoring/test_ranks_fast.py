"""The chunked, sparse bootstrap behind rank intervals (``scoring.ranks.replicate_scores``) gives
the same replicates as the dense reference (``scoring.composites.replicate_values`` on the design
prepared with its (#PSU × R) bootstrap factors), from the same seed — so the rank intervals of a
release do not change with the faster path, to the last digit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from scoring.composites import LinearPlan, composite_value, ratios, replicate_values
from scoring.design import SurveyDesign
from scoring.linearization import domain_index
from scoring.ranks import rank_intervals, replicate_scores, score_rank_intervals


def _data(seed: int, n: int = 900) -> pd.DataFrame:
    """Kiosk-like ratings on a 5-level scale, three criteria with skips, 12 units of unequal
    size (one with three ratings, which some replicates draw none of), weights, a row with no
    unit, and a stratified variant with several rows per PSU and a one-PSU stratum."""
    rng = np.random.default_rng(seed)
    unit = rng.choice(np.array([f"u{k:02d}" for k in range(11)], dtype=object), size=n)
    unit[:3] = "tiny"
    data = pd.DataFrame({"unit": unit, "weight": rng.uniform(0.5, 2.0, n)})
    for criterion in ("c1", "c2", "c3"):
        values = rng.integers(1, 6, n).astype(float)
        values[rng.random(n) < 0.05] = np.nan
        data[criterion] = values
    data.loc[5, "unit"] = None
    data["stratum"] = np.where(np.arange(n) < 8, "lonely", np.where(np.arange(n) % 2 == 0, "A", "B"))
    data["psu"] = [f"p{k // 3}" for k in range(n)]
    data.loc[data["stratum"] == "lonely", "psu"] = "only"
    return data


def _plan(data: pd.DataFrame) -> LinearPlan:
    # the overall index as the mean of three criterion means, rescaled as SIPAS does (coef 1/12)
    y = data[["c1", "c2", "c3"]].to_numpy(dtype=float)
    return LinearPlan(y=y, coef=np.full((3, 1), 1 / 12), offset=np.array([-0.25]), kinds=("overall",),
                      ids=("overall",))


DESIGNS = {
    "each rating its own PSU": SurveyDesign(weight="weight"),
    "strata and clusters": SurveyDesign(weight="weight", stratum="stratum", psu="psu", lonely_psu="adjust"),
}


@pytest.mark.parametrize("name", list(DESIGNS))
@pytest.mark.parametrize("chunk", [7, 500])
def test_replicates_equal_the_dense_reference(name: str, chunk: int) -> None:
    data = _data(3)
    plan = _plan(data)
    design = replace(DESIGNS[name], variance="bootstrap", replicates=60, seed=11)
    dense_design = design.prepare(data)
    index = domain_index(data, ["unit"], dense_design)
    parts = ratios(dense_design, index, plan.y, np.ones_like(plan.y))
    reference = replicate_values(dense_design, index, parts, plan.coef, plan.offset)

    light = replace(design, variance="taylor").prepare(data)
    fast = replicate_scores(light, domain_index(data, ["unit"], light), plan.y, np.ones_like(plan.y), plan.coef,
                            plan.offset, replicates=60, seed=11, chunk=chunk)
    assert fast.shape == reference.shape == (12, 1, 60)
    np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-14, equal_nan=True)
    assert np.array_equal(np.isnan(fast), np.isnan(reference))
    tiny = list(index.labels["unit"]).index("tiny")
    if name == "each rating its own PSU":  # 3 of 899 PSUs: some replicates draw none of them
        assert np.isnan(fast[tiny, 0]).any()
    # replicates vary, around the full-sample estimate
    estimate = composite_value(parts.value, plan.coef, plan.offset)[:, 0]
    spread = np.nanstd(fast[:, 0, :], axis=1)
    assert (spread > 0).all()
    assert np.all(np.abs(np.nanmean(fast[:, 0, :], axis=1) - estimate) < 4 * spread)
    # a different seed gives different replicates
    other = replicate_scores(light, domain_index(data, ["unit"], light), plan.y, np.ones_like(plan.y), plan.coef,
                             plan.offset, replicates=60, seed=12)
    assert not np.allclose(np.nan_to_num(other), np.nan_to_num(fast))


def test_totals_without_denominators_equal_the_dense_reference() -> None:
    data = _data(5)
    y = data[["c1"]].to_numpy(dtype=float)
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", lonely_psu="adjust", variance="bootstrap",
                          replicates=30, seed=4)
    dense = design.prepare(data)
    index = domain_index(data, ["unit"], dense)
    reference = replicate_values(dense, index, ratios(dense, index, y, None), np.eye(1), np.zeros(1))
    light = replace(design, variance="taylor").prepare(data)
    fast = replicate_scores(light, domain_index(data, ["unit"], light), y, None, np.eye(1), np.zeros(1),
                            replicates=30, seed=4)
    np.testing.assert_allclose(fast, reference, rtol=1e-12, equal_nan=True)


def test_rank_intervals_are_those_of_the_dense_path() -> None:
    data = _data(9, n=1500)
    plan = _plan(data)
    design = SurveyDesign(weight="weight", variance="bootstrap", replicates=200, seed=2026)
    out = score_rank_intervals(data, plan, score="overall", unit="unit", design=design)

    dense = design.prepare(data)
    index = domain_index(data, ["unit"], dense)
    parts = ratios(dense, index, plan.y, np.ones_like(plan.y))
    reps = replicate_values(dense, index, parts, plan.coef, plan.offset)[:, 0, :]
    estimates = composite_value(parts.value, plan.coef, plan.offset)[:, 0]
    expected = rank_intervals(estimates, reps)
    assert out["unit"].tolist() == index.labels["unit"].tolist()
    np.testing.assert_array_equal(out["rank"].to_numpy(), expected["rank"].to_numpy())
    np.testing.assert_array_equal(out["rank_low"].to_numpy(), expected["rank_low"].to_numpy())
    np.testing.assert_array_equal(out["rank_high"].to_numpy(), expected["rank_high"].to_numpy())
    # the intervals say something: not every unit spans every rank
    assert ((out["rank_high"] - out["rank_low"]) < len(out) - 1).any()
    assert (out["rank_low"] <= out["rank"]).all() and (out["rank"] <= out["rank_high"]).all()
