"""The SRS variance behind the design effect (``scoring.composites.srs_variance``): defined from
two answers up (s²_w has the divisor n − 1), NaN below — computed without any 0 × ∞ or 0/0, so
no floating-point warning is needed or hidden (a village with one interview used to give one)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.composites import srs_variance
from scoring.design import SurveyDesign
from scoring.estimators import mean, ratio


def test_fewer_than_two_answers_have_no_srs_variance_and_nothing_is_divided_by_zero() -> None:
    srs_sum = np.array([0.0, 0.0, 1e-36, 2.0, 8.0, 8.0])
    count = np.array([0.0, 1.0, 1.0, 3.0, 5.0, 5.0])
    weight_sum = np.array([0.0, 2.5, 2.0, 3.0, 10.0, 4.0])
    with np.errstate(all="raise"):  # any 0 × inf, x/0 or 0/0 raises FloatingPointError
        found = srs_variance(srs_sum, count, weight_sum)
    assert np.isnan(found[:3]).all()
    # (Ŵ − n)/(n − 1) without replacement; Ŵ/(n − 1) when the weights sum below n (R deff="replace")
    assert found[3:].tolist() == pytest.approx([0.0, 8.0 * 5 / 4, 8.0 * 4 / 4])


def test_one_answer_has_no_design_effect_whatever_the_rounding() -> None:
    """y/x·x is not y in floating point for 1/49: the one answer's score was 1e-18, not 0, and
    its SRS variance 1e-36 × ∞ = ∞ — a design effect of 0 and an infinite effective sample."""
    data = pd.DataFrame({"y": [1.0, 2.0, 3.0, 1.0, 5.0], "x": [49.0, 3.0, 4.0, 49.0, 2.0],
                         "w": [2.0, 1.5, 1.0, 2.5, 3.0], "g": ["a", "b", "b", "c", "b"]})
    with np.errstate(all="raise"):
        table = ratio(data, "y", "x", design=SurveyDesign(weight="w"), by=["g"]).to_frame().set_index("g")
        means = mean(data, "y", design=SurveyDesign(weight="w"), by=["g"]).to_frame().set_index("g")
    assert np.isnan(table.loc["a", "deff"]) and np.isnan(table.loc["c", "deff"])
    assert table.loc["b", "deff"] > 0  # three answers: a design effect
    assert np.isnan(means.loc["a", "deff"]) and means.loc["b", "deff"] > 0
