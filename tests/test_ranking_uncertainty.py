"""The staff ranking shows each rank with its interval and, beside the direct index, the
Fay–Herriot modelled index labelled as such — recomputed here from the CSV's own direct
estimates with scoring.sae, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from survey.store.models import Unit, UnitKind


@pytest.fixture
def ratings(app) -> str:  # type: ignore[no-untyped-def]
    from tests.demo_cache import cached_demo

    return cached_demo(app, n_responses=1500, seed=11,
                     papi_per_village=0)


def test_ranks_have_intervals_and_units_a_modelled_index(app, client, db, ratings, staff) -> None:  # type: ignore[no-untyped-def]
    from scoring.sae import small_area_estimates

    app.config["MIN_PUBLISH_N"] = 5
    staff.login()
    resp = client.get("/staff/ranking.csv?level=commune&excel=0")
    assert resp.status_code == 200
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))[1:]  # the province heads it
    ranked = [r for r in rows if r["Hạng"]]
    assert len(ranked) >= 3
    for r in ranked:  # the interval holds the rank and stays within 1 … number ranked
        low, high = int(r["Khoảng hạng 95%: cao nhất"]), int(r["Khoảng hạng 95%: thấp nhất"])
        assert 1 <= low <= int(r["Hạng"]) <= high <= len(ranked)
    assert any(int(r["Khoảng hạng 95%: thấp nhất"]) > int(r["Khoảng hạng 95%: cao nhất"]) for r in ranked)
    # the modelled index: the same Fay–Herriot fit on the published direct estimates and SEs
    kinds = {u.code: u.kind for u in db.scalars(select(Unit))}
    frame = pd.DataFrame({
        "area": [r["Mã"] for r in rows],
        "n": [int(r["Số ý kiến hợp lệ (n)"]) for r in rows],
        "direct": [float(r["Chỉ số hài lòng chung"]) if r["Chỉ số hài lòng chung"] else np.nan for r in rows],
        "se": [float(r["Sai số chuẩn"]) if r.get("Sai số chuẩn") else np.nan for r in rows],
        "modelled": [float(r["Chỉ số mô hình hóa (ước lượng Fay–Herriot)"]) for r in rows],
    })
    sampled = frame[(frame["n"] > 0) & (frame["se"] > 0)]
    covariates = pd.DataFrame({"area": frame["area"], "urban": [float(kinds[a] == UnitKind.PHUONG) for a in frame["area"]]})
    direct = pd.DataFrame({"area": sampled["area"], "direct": sampled["direct"], "variance": sampled["se"] ** 2,
                           "n": sampled["n"], "n_eff": sampled["n"].astype(float), "n_psu": sampled["n"], "deff": 1.0})
    model = small_area_estimates(direct, covariates, area="area", columns=["urban"])
    np.testing.assert_allclose(frame["modelled"], model["estimate"].clip(0, 1), atol=2e-4)  # rounded in the CSV
    assert (frame.loc[frame["n"] == 0, "modelled"].notna()).all()  # no responses: the synthetic estimate
    # shrinkage: the modelled indices spread less than the direct ones
    assert sampled["modelled"].std() < sampled["direct"].std()


def test_ranking_page_labels_the_modelled_estimate(app, client, ratings, staff) -> None:  # type: ignore[no-untyped-def]
    app.config["MIN_PUBLISH_N"] = 5
    staff.login()
    page = client.get("/staff/ranking?level=commune").get_data(as_text=True)
    assert "Chỉ số mô hình hóa" in page and "ước lượng mô hình" in page
    assert 'class="rank-interval"' in page and "khoảng hạng 95%" in page


def test_a_unit_inside_one_psu_shows_no_interval() -> None:
    from survey.reports.ranking import _row
    from survey.store.models import UnitLevel

    unit = Unit(code="x1", name="Xã Một", level=UnitLevel.COMMUNE, kind=UnitKind.XA)
    rec = {"n": 1, "n_psu": 1, "estimate": 0.8, "se": 0.0, "ci_low": 0.8, "ci_high": 0.8, "rank": None,
           "group": None}
    row = _row(rec, unit, min_n=30)
    assert row["estimate"] == 0.8 and row["ci_low"] is None and row["ci_high"] is None
    row = _row({**rec, "n": 40, "n_psu": 40, "ci_low": 0.7, "ci_high": 0.9}, unit, min_n=30)
    assert (row["ci_low"], row["ci_high"]) == (0.7, 0.9)
