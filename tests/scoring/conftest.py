"""Shared synthetic survey data for the scoring tests (local RNGs, no files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_survey(n: int = 800, seed: int = 7) -> pd.DataFrame:
    """Stratified cluster sample with two domains columns and six 1–5 criteria with gaps."""
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, 24, n)
    data = pd.DataFrame(
        {
            "stratum": psu // 6,
            "psu": psu,
            "weight": rng.uniform(10, 60, n).round(2),
            "unit_id": rng.choice(["u1", "u2", "u3"], n),
            "service_id": rng.choice(["land", "build"], n),
            "period": rng.choice([2024, 2025], n),
        }
    )
    effect = rng.normal(0, 0.5, 24)[psu]
    for i in range(1, 7):
        item = np.clip(np.rint(3.5 + effect + rng.normal(0, 1, n)), 1, 5)
        item[rng.random(n) < 0.1] = np.nan
        data[f"c{i}"] = item
    return data


@pytest.fixture()
def survey() -> pd.DataFrame:
    return make_survey()
