"""Small-area (Fay–Herriot) modelled indices in a release snapshot, on SQLite and PostgreSQL.

The snapshot's figures are recomputed here with ``scoring.sae.small_area_estimates`` on the same
inputs: each commune's direct index and its standard error computed independently from the raw
answers (``tests.test_release_snapshot.reference``: plain SQL and numpy), and the covariates
imported from a CSV file. ``scoring.sae`` itself is checked against samplics and by simulation in
tests/scoring. The suppression rule still holds for the direct index; a commune with too few
answers shows the modelled index only, and one without answers the synthetic estimate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.portal.snapshot import find_ranking
from survey.reports import covariates
from survey.store.catalogue import latest
from survey.store.models import Unit, UnitCovariate, UnitLevel
from tests.release_actions import COMMUNES, KIOSK, release_app, small_province
from tests.test_release_snapshot import answers, build, reference

POPULATION = {"96001": 52_000, "96002": 31_000, "96003": 18_500, "96004": 9_800, "96005": 12_000, "96006": 22_000}
SOURCE = "Nghị quyết 1655/NQ-UBTVQH15 (2025), quy mô dân số"


def covariate_csv(rows: dict[str, int]) -> bytes:
    lines = ["Mã đơn vị;Tên đơn vị;population;area_km2;Năm;Nguồn"]
    lines += [f"{code};x;{value};{100 + 7 * i};2025;{SOURCE}" for i, (code, value) in enumerate(rows.items())]
    return "\n".join(lines).encode("utf-8")


@pytest.fixture(scope="module")
def built(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    for app in release_app(database_url, tmp_path_factory.mktemp("sae")):
        engine = app.extensions["hailong.engine"]
        small_province(engine)
        with Session(engine) as session:  # a commune without any answer: the synthetic estimate
            province = session.scalar(select(Unit).where(Unit.code == "96"))
            session.add(Unit(code="96006", name="Xã Vàm Đình", level=UnitLevel.COMMUNE, parent=province))
            session.commit()
        with app.test_request_context(), force_locale("vi"), Session(engine) as session:
            done = covariates.import_file(session, "so-lieu.csv", covariate_csv(POPULATION))
            session.commit()
        assert (done.units, done.values, done.covariates) == (6, 12, ("area_km2", "population"))
        yield {"app": app, "snapshot": build(app, "2026"), "answers": answers(app)}


def test_the_snapshot_carries_the_fay_herriot_estimates_scoring_sae_gives(built: dict[str, Any]) -> None:
    from scoring.sae import MODELLED_LABEL, small_area_estimates

    ranking = find_ranking(built["snapshot"], "commune")
    assert ranking is not None
    model = ranking["model"]
    assert model is not None
    # 6 communes, 5 with answers: one covariate at most (one per five), the first that varies
    assert [c["name"] for c in model["covariates"]] == ["population"]
    assert model["covariates"][0]["sources"] == [f"{SOURCE} (2025)"]
    assert (model["method"], model["mse"], model["areas_fitted"]) == ("REML", "Prasad–Rao", 5)
    assert model["label_vi"] == "ước lượng mô hình (Fay–Herriot EBLUP)" and model["label_en"] == MODELLED_LABEL
    # the same model on independently computed inputs
    data = built["answers"]
    sample = data[data["year"].isin([2025, 2026])].reset_index(drop=True)
    questionnaire = latest(KIOSK)
    codes = [code for code, _n, _e, _k in COMMUNES]
    direct = []
    for code in codes:
        domain = ((sample["year"] == 2026) & (sample["code"] == code)).to_numpy()
        estimate, se = reference(sample, domain, questionnaire)["overall"]
        direct.append({"area": code, "direct": estimate, "variance": se**2, "n": int(domain.sum()),
                       "n_eff": float(domain.sum()), "n_psu": int(domain.sum()), "deff": 1.0})
    table = pd.DataFrame({"area": list(POPULATION), "population": [float(v) for v in POPULATION.values()]})
    expected = small_area_estimates(pd.DataFrame(direct), table, area="area", columns=["population"],
                                    method="REML").set_index("area")
    assert model["sigma2_v"] == pytest.approx(expected.attrs["fit"].sigma2_v, rel=1e-6)
    rows = {r["unit"]: r for r in ranking["rows"]}
    assert set(rows) == set(POPULATION)
    for code in POPULATION:
        modelled = rows[code]["modelled"]
        assert modelled is not None
        want = expected.loc[code]
        assert modelled["estimate"] == pytest.approx(want["estimate"], rel=1e-7)
        assert modelled["mse"] == pytest.approx(want["mse"], rel=1e-6)
        assert modelled["ci_low"] == pytest.approx(max(want["ci_low"], 0.0), rel=1e-6)
        assert modelled["ci_high"] == pytest.approx(min(want["ci_high"], 1.0), rel=1e-6)
        assert modelled["kind"] == want["kind"]
        assert modelled["ci_low"] <= modelled["estimate"] <= modelled["ci_high"]


def test_suppression_still_holds_for_the_direct_index(built: dict[str, Any]) -> None:
    rows = {r["unit"]: r for r in find_ranking(built["snapshot"], "commune")["rows"]}  # type: ignore[index]
    small, none = rows["96005"], rows["96006"]  # 12 answers; no answer at all
    assert small["suppressed"] and (small["estimate"], small["ci_low"], small["rank"]) == (None, None, None)
    assert small["modelled"] is not None and small["modelled"]["kind"] == "eblup"
    assert small["modelled"]["gamma"] is None  # with the synthetic part it would give the direct index away
    assert none["n"] == 0 and none["modelled"]["kind"] == "synthetic" and none["modelled"]["gamma"] is None  # type: ignore[index]
    big = rows["96001"]
    assert not big["suppressed"] and 0 < big["modelled"]["gamma"] < 1  # type: ignore[index,operator]
    # shrinkage: the modelled index lies between the direct one and the model's prediction
    ranked = [r for r in rows.values() if r["estimate"] is not None]
    assert np.std([r["modelled"]["estimate"] for r in ranked]) < np.std([r["estimate"] for r in ranked])  # type: ignore[index]


def test_departments_get_no_model_and_a_rebuild_gives_the_same_numbers(built: dict[str, Any]) -> None:
    snapshot = built["snapshot"]
    for ranking in snapshot["rankings"]:
        if ranking["level"] == "department":
            assert ranking.get("model") is None
    assert build(built["app"], "2026")["rankings"] == snapshot["rankings"]


# (before the tests whose fixtures empty the database: `built` is shared by the module)
def test_the_staff_ranking_uses_the_imported_covariates(built: dict[str, Any]) -> None:
    from scoring.sae import small_area_estimates
    from survey.reports.ranking import unit_ranking

    app = built["app"]
    with app.test_request_context(), force_locale("vi"), Session(app.extensions["hailong.engine"]) as session:
        result = unit_ranking(session, latest(KIOSK), level=UnitLevel.COMMUNE, service=None, period="2026-Q3",
                              language="vi", min_n=30)
    assert result.model is not None and result.model.covariates == ("population",)
    assert result.model_covariates == ("Dân số (người)",)
    rows = [r for r in result.table.rows if r["code"] in POPULATION]
    sampled = [r for r in rows if r["n"] and r["se"]]
    direct = pd.DataFrame({"area": [r["code"] for r in sampled], "direct": [r["estimate"] for r in sampled],
                           "variance": [r["se"] ** 2 for r in sampled], "n": [r["n"] for r in sampled],  # type: ignore[operator]
                           "n_eff": [float(r["n"]) for r in sampled], "n_psu": [r["n"] for r in sampled],  # type: ignore[arg-type]
                           "deff": 1.0})
    table = pd.DataFrame({"area": list(POPULATION), "population": [float(v) for v in POPULATION.values()]})
    expected = small_area_estimates(direct, table, area="area", columns=["population"]).set_index("area")
    for r in rows:
        assert r["modelled"] == pytest.approx(min(max(expected.loc[r["code"], "estimate"], 0.0), 1.0), rel=1e-9)
    assert next(r for r in rows if r["code"] == "96006")["modelled_synthetic"]


def test_a_covariate_file_with_bad_rows_stores_nothing_and_names_each_row(app_vi: Flask) -> None:
    engine = app_vi.extensions["hailong.engine"]
    bad = ("Mã đơn vị;population;poverty_rate;Năm;Nguồn\n96001;52000;0,12;2025;GSO\n99999;1;0;2025;GSO\n"
           "96002;nhiều;0.1;2025;GSO\n96003;100;1.5;2025;GSO\n96004;100;0.1;2025;\n96001;1;0;2025;GSO\n")
    with app_vi.test_request_context(), force_locale("vi"), Session(engine) as session:
        with pytest.raises(covariates.ImportRefused) as refused:
            covariates.import_file(session, "x.csv", bad.encode("utf-8"))
        problems = refused.value.problems
        assert problems == [
            "Dòng 3: không có đơn vị 99999.",
            "Dòng 4: population không phải là số (nhiều).",
            "Dòng 5: poverty_rate phải nằm trong khoảng từ 0 đến 1.",
            "Dòng 6: cần ghi nguồn số liệu (cột Nguồn hoặc --source).",
            "Dòng 7: đơn vị 96001 xuất hiện hai lần.",
        ]
        assert session.scalars(select(UnitCovariate)).all() == []
        # the good rows alone, with a decimal comma; a second import replaces the values
        good = "Mã đơn vị;population;poverty_rate\n96001;52000;0,12\n96002;31000;0.1\n"
        covariates.import_file(session, "x.csv", good.encode("utf-8"), source="Cục Thống kê")
        covariates.import_file(session, "x.csv", good.replace("52000", "53000").encode("utf-8"), source="Cục Thống kê")
        stored = {(c.unit.code, c.name): c.value for c in session.scalars(select(UnitCovariate))}
        assert stored == {("96001", "population"): 53000.0, ("96001", "poverty_rate"): 0.12,
                          ("96002", "population"): 31000.0, ("96002", "poverty_rate"): 0.1}
        units = list(session.scalars(select(Unit).where(Unit.code.in_(["96001", "96002", "96003"]))
                                     .order_by(Unit.code)))
        frame = covariates.unit_covariates(session, units)
        assert list(frame.columns) == ["area", "urban"]  # 96003 has no population: not usable
        frame = covariates.unit_covariates(session, units[:2])
        assert list(frame.columns) == ["area", "urban", "population", "poverty_rate"]


@pytest.fixture
def app_vi(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    for app in release_app(database_url, tmp_path):
        small_province(app.extensions["hailong.engine"], years=(2026,))
        yield app


def test_the_portal_unit_page_shows_the_modelled_estimates_beside_the_direct_ones(client, db) -> None:  # type: ignore[no-untyped-def]
    from tests.portal_fixtures import publish, sample_snapshot

    document = sample_snapshot()
    ranking = next(r for r in document["rankings"] if r["level"] == "commune" and r["service"] is None)
    for i, row in enumerate(ranking["rows"]):
        small = row["suppressed"]
        row["modelled"] = {"estimate": 0.80 + i / 100, "mse": 0.0004, "ci_low": 0.76 + i / 100, "ci_high": 0.84 + i / 100,
                           "kind": "eblup", "gamma": None if small else 0.9 - i / 10}
    ranking["model"] = {"label_vi": "ước lượng mô hình (Fay–Herriot EBLUP)",
                        "label_en": "modelled estimate (Fay–Herriot EBLUP)", "method": "REML", "mse": "Prasad–Rao",
                        "covariates": [{"name": "population", "label_vi": "Dân số (người)", "label_en": "Population (persons)",
                                        "sources": [f"{SOURCE} (2025)"]}],
                        "areas_fitted": 6, "sigma2_v": 0.002, "beta": [0.7, 1e-6], "note": "small-area"}
    release = publish(db, document)
    html = client.get(f"/portal/r/{release.id}/sipas-kiosk/96/").get_data(as_text=True)
    section = html[html.index('id="modelled-commune"'):]
    section = section[:section.index("</section>")]
    assert "Ước lượng cho địa bàn nhỏ: ước lượng mô hình (Fay–Herriot EBLUP)" in section
    assert f"Dân số (người) ({SOURCE} (2025))" in section
    assert 'href="/portal/methodology/#small-area"' in section
    rows = re.findall(r'<tr data-unit="([^"]+)"(?: class="is-suppressed")?>(.*?)</tr>', section, flags=re.S)
    assert [code for code, _ in rows] == [r["unit"] for r in ranking["rows"]]
    cells = {code: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "|", body)) for code, body in rows}
    assert "88,5%" in cells["96004"] and "80,0%" in cells["96004"] and "76,0–84,0%" in cells["96004"]
    assert "90% từ chỉ số trực tiếp" in cells["96004"]
    assert "chưa đủ ý kiến để công bố" in cells["96006"] and "85,0%" in cells["96006"]  # the direct one withheld
    assert "quá ít ý kiến để công bố chỉ số trực tiếp" in cells["96006"]
    methodology = client.get("/portal/methodology/").get_data(as_text=True)
    assert 'id="small-area"' in methodology and "Fay–Herriot" in methodology
