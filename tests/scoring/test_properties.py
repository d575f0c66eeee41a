"""Properties every estimate must have (Hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.design import SurveyDesign
from scoring.sipas import SipasElement, SipasSpec, score_sipas
from tests.scoring.conftest import make_survey

SPEC = SipasSpec(
    elements=(
        SipasElement("access", 1.5, ("c1", "c2")),
        SipasElement("result", 2.5, ("c3", "c4", "c5")),
    )
)
DESIGN = SurveyDesign(weight="weight", stratum="stratum", psu="psu")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def scored(data: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    frame = score_sipas(data, SPEC, design=DESIGN, by=["unit_id"], confidence=level).to_frame()
    return frame.sort_values(["unit_id", "kind", "id"]).reset_index(drop=True)


@SETTINGS
@given(seed=st.integers(0, 10_000), factor=st.floats(1e-3, 1e3))
def test_scaling_all_weights_changes_no_estimate(seed: int, factor: float) -> None:
    data = make_survey(n=300, seed=seed)
    before = scored(data)
    after = scored(data.assign(weight=data["weight"] * factor))
    for column in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(after[column], before[column], rtol=1e-9, atol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 10_000))
def test_row_order_is_irrelevant(seed: int) -> None:
    data = make_survey(n=300, seed=seed)
    shuffled = data.sample(frac=1.0, random_state=seed)
    pd.testing.assert_frame_equal(scored(data), scored(shuffled), check_exact=False, rtol=1e-10)


@SETTINGS
@given(seed=st.integers(0, 10_000), level=st.floats(0.5, 0.999))
def test_interval_contains_estimate_and_widens_with_level(seed: int, level: float) -> None:
    data = make_survey(n=300, seed=seed)
    narrow = scored(data, level)
    wide = scored(data, min(level + 0.0005 + (1 - level) / 2, 0.9995))
    ok = narrow["estimate"].notna()
    assert (narrow.loc[ok, "ci_low"] <= narrow.loc[ok, "estimate"]).all()
    assert (narrow.loc[ok, "estimate"] <= narrow.loc[ok, "ci_high"]).all()
    width_narrow = narrow["ci_high"] - narrow["ci_low"]
    width_wide = wide["ci_high"] - wide["ci_low"]
    positive = ok & (narrow["se"] > 0)
    assert (width_wide[positive] > width_narrow[positive]).all()
