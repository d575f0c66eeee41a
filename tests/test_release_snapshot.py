"""The numbers of a release snapshot, checked against an independent computation from the raw
answers (plain SQL and numpy below, not the scoring package), and the suppression, ranking,
change, target and trend rules.

The reference: a criterion's rate is the share of valid answers rated 4 or 5; an element index
the mean of its criteria's rates; the overall index the PAR-weighted mean of the elements (the
kiosk questionnaire's rule). Each response is its own PSU (equal weights), so the variance of a
domain estimate is that of its linearised score ``z``: ``n/(n−1) Σ (z_i − z̄)²`` over the
release's sample (the responses of the period and of the period before), as R's
``svymean(~z, svydesign(ids=~1, ...))`` — ``z_i = d_i (y_i − R v_i) / Σ d v`` for a rate ``R``
of valid answers ``v`` in domain ``d``, combined with the composite's coefficients.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import text
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey.periods import Period
from survey.portal.snapshot import Snapshot, find_index, find_ranking, trend_of
from survey.portal.snapshot_builder import BuildFailure, ReleaseSpec, build_snapshot
from survey.store.catalogue import latest
from survey.store.models import Release, ReleaseStatus, Target, TargetKind, Unit
from tests.release_actions import COMMUNES, KIOSK, release_app, small_province


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


@pytest.fixture
def province(app: Flask) -> Flask:
    small_province(app.extensions["hailong.engine"])
    return app


@pytest.fixture(scope="module")
def built(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """The small province with its 2025 and 2026 snapshots, built once per database for the
    tests that only read them."""
    for app in release_app(database_url, tmp_path_factory.mktemp("built")):
        small_province(app.extensions["hailong.engine"])
        yield {"app": app, "2025": build(app, "2025"), "2026": build(app, "2026"), "answers": answers(app)}


def build(app: Flask, period: str, **spec: object) -> Snapshot:
    with app.app_context(), force_locale("vi"), Session(app.extensions["hailong.engine"]) as session:
        chosen = ReleaseSpec(period=Period.parse(period), scope="96", questionnaires=(KIOSK,), **spec)  # type: ignore[arg-type]
        return build_snapshot(session, chosen, release={"id": 0})  # type: ignore[typeddict-item]


def answers(app: Flask) -> pd.DataFrame:
    """Every kiosk response with its unit code, Vietnam-time year and answers, by plain SQL."""
    with app.extensions["hailong.engine"].connect() as conn:
        rows = conn.execute(text(
            "SELECT r.id, u.code, r.submitted_at, a.question_id, a.value_num FROM response r "
            "JOIN unit u ON u.id = r.unit_id JOIN answer a ON a.response_id = r.id "
            "WHERE r.questionnaire_id = :q"), {"q": KIOSK}).all()
    long = pd.DataFrame(rows, columns=["id", "code", "submitted_at", "question", "value"])
    wide = long.pivot_table(index=["id", "code", "submitted_at"], columns="question", values="value").reset_index()
    wide["year"] = pd.to_datetime(wide["submitted_at"], utc=True).dt.tz_convert("Asia/Ho_Chi_Minh").dt.year
    return wide


def reference(data: pd.DataFrame, domain: np.ndarray, questionnaire: Questionnaire) -> dict[str, tuple[float, float]]:
    """(estimate, se) of every element and the overall index in ``domain`` (rows of ``data``)."""
    d = domain.astype(float)
    n = len(data)
    out: dict[str, tuple[float, float]] = {}
    elements: list[tuple[float, float, np.ndarray]] = []
    for element in questionnaire.elements:
        criteria = [q.id for q in questionnaire.scored_questions() if q.element == element.id]
        rates, zs = [], []
        for c in criteria:
            x = data[c].to_numpy(dtype=float)
            v = (~np.isnan(x)).astype(float)
            y = np.where(np.isnan(x), 0.0, (x >= 4).astype(float))
            rate = (d * y).sum() / (d * v).sum()
            rates.append(rate)
            zs.append(d * (y - rate * v) / (d * v).sum())
        estimate, z = float(np.mean(rates)), np.mean(zs, axis=0)
        out[element.id] = (estimate, float(np.sqrt(n / (n - 1) * ((z - z.mean()) ** 2).sum())))
        elements.append((element.max_points or 0.0, estimate, z))
    total = sum(m for m, _e, _z in elements)
    estimate = sum(m * e for m, e, _z in elements) / total
    z = sum(m * z for m, _e, z in elements) / total
    out["overall"] = (estimate, float(np.sqrt(n / (n - 1) * ((z - z.mean()) ** 2).sum())))
    return out


def test_indices_match_an_independent_computation_from_the_raw_answers(built: dict[str, Any]) -> None:
    snapshot, data = built["2026"], built["answers"]
    sample = data[data["year"].isin([2025, 2026])].reset_index(drop=True)  # the period and the one before
    questionnaire = latest(KIOSK)
    for unit, domain in (("96", sample["year"] == 2026), ("96002", (sample["year"] == 2026) & (sample["code"] == "96002"))):
        expected = reference(sample, domain.to_numpy(), questionnaire)
        row = find_index(snapshot, unit)
        assert row is not None and not row["suppressed"]
        assert row["n"] == int(domain.sum())
        assert row["overall"]["estimate"] == pytest.approx(expected["overall"][0], rel=1e-12)
        assert row["overall"]["se"] == pytest.approx(expected["overall"][1], rel=1e-9)
        assert row["overall"]["ci_low"] < row["overall"]["estimate"] < row["overall"]["ci_high"]
        for element in row["elements"]:
            assert (element["estimate"], element["n"] > 0) == (pytest.approx(expected[element["key"]][0], rel=1e-12), True)
        assert row["par_points"] is not None
        assert row["par_points"]["estimate"] == pytest.approx(10 * expected["overall"][0], rel=1e-12)
        counts = [d["count"] for d in row["distribution"]]
        criteria = [q.id for q in questionnaire.scored_questions()]
        answered = sample.loc[domain, criteria].to_numpy()
        assert counts == [int((answered == level).sum()) for level in range(1, 6)]
        assert [d["label_vi"] for d in row["distribution"]][0] == "Rất không hài lòng"


def test_the_change_needs_a_published_release_of_the_previous_period(built: dict[str, Any]) -> None:
    # 2025 was built but never published: the change is measured against published figures only
    # (tests/test_release_change.py publishes one and corrects its data afterwards)
    snapshot = built["2026"]
    now = find_index(snapshot, "96001")
    assert now is not None and not now["suppressed"] and now["change"] is None
    assert snapshot["release"]["previous_releases"] == []
    assert find_index(built["2025"], "96001")["change"] is None  # type: ignore[index]  # nothing in 2024


def test_small_cells_are_suppressed_everywhere(built: dict[str, Any]) -> None:
    snapshot = built["2026"]
    small = find_index(snapshot, "96005")  # 12 ratings in the year
    assert small is not None and 0 < small["n"] < 30 and small["suppressed"]
    assert small["overall"] == {"estimate": None, "se": None, "ci_low": None, "ci_high": None}
    assert all(e["suppressed"] and e["estimate"] is None for e in small["elements"])
    assert all(d["count"] is None for d in small["distribution"])
    assert small["change"] is None and small["mean_score"]["estimate"] is None
    ranking = find_ranking(snapshot, "commune")
    assert ranking is not None
    last = ranking["rows"][-1]
    assert (last["unit"], last["rank"], last["estimate"], last["group"]) == ("96005", None, None, None)
    trend = trend_of(snapshot, "96005")
    assert trend[-1]["suppressed"] and trend[-1]["estimate"] is None

    # and a cell whose effective sample size is too small, however many answers it has
    strict = build(built["app"], "2026", min_publish_n=1, min_effective_n=10_000.0)
    assert all(row["suppressed"] and row["overall"]["estimate"] is None for row in strict["indices"])
    assert all(r["rank"] is None for ranking in strict["rankings"] for r in ranking["rows"])


def test_units_are_ranked_with_rank_intervals_groups_median_and_best(built: dict[str, Any]) -> None:
    snapshot = built["2026"]
    ranking = find_ranking(snapshot, "commune")
    assert ranking is not None and ranking["parent"] == "96" and ranking["replicates"] == 500
    ranked = [r for r in ranking["rows"] if r["rank"] is not None]
    # the fixture's communes differ a lot in satisfaction, in this order
    assert [r["unit"] for r in ranked] == [code for code, _n, _e, count in COMMUNES if count >= 30]
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4]
    assert [r["group"] for r in ranked] == [1, 2, 3, 4]
    for r in ranked:
        assert r["rank_low"] <= r["rank"] <= r["rank_high"]  # type: ignore[operator]
        assert 1 <= r["rank_low"] and r["rank_high"] <= len(ranked)  # type: ignore[operator]
    assert ranked[0]["rank_low"] == 1 and ranked[-1]["rank_high"] == 4
    estimates = [r["estimate"] for r in ranked]
    assert ranking["median"] == pytest.approx(float(np.median(estimates)))
    assert ranking["best"] == {"unit": "96001", "estimate": estimates[0]}
    assert build(built["app"], "2026")["rankings"] == snapshot["rankings"]  # a fixed seed: a rebuild agrees


def test_goals_are_shown_with_their_gap(province: Flask) -> None:
    engine = province.extensions["hailong.engine"]
    with Session(engine) as session:
        units = {u.code: u.id for u in session.query(Unit)}
        session.add_all([
            Target(unit_id=units["96001"], questionnaire_id=KIOSK, score_id="overall", year=2026,
                   kind=TargetKind.SCORE, value=0.95),
            Target(unit_id=units["96002"], questionnaire_id=KIOSK, score_id="overall", year=2026,
                   kind=TargetKind.INCREASE_PCT, value=10.0, base_year=2025),
        ])
        session.commit()
    snapshot, before = build(province, "2026"), build(province, "2025")
    score = find_index(snapshot, "96001")
    rise = find_index(snapshot, "96002")
    base = find_index(before, "96002")
    assert score is not None and rise is not None and base is not None
    assert score["target"] is not None and rise["target"] is not None
    assert score["target"]["value"] == 0.95 and score["target"]["reached"] is False
    assert score["target"]["gap"] == pytest.approx(0.95 - score["overall"]["estimate"])  # type: ignore[operator]
    assert rise["target"]["base"] == pytest.approx(base["overall"]["estimate"])
    assert rise["target"]["value"] == pytest.approx(base["overall"]["estimate"] * 1.10)  # type: ignore[operator]


def test_the_trend_reads_the_earlier_published_snapshots(province: Flask) -> None:
    earlier = build(province, "2025")
    engine = province.extensions["hailong.engine"]
    with Session(engine) as session:
        scope = session.query(Unit).filter_by(code="96").one()
        release = Release(series="96-2025", version=1, status=ReleaseStatus.PUBLISHED, period_code="2025",
                          period_kind="year", period_start=Period.parse("2025").start,
                          period_end=Period.parse("2025").end, scope_unit_id=scope.id, scope_code="96",
                          questionnaires=[KIOSK], overall_rule=None, methodology_version="2026.1",
                          weighting="none", confidence_level=0.95, min_publish_n=30, min_effective_n=20.0,
                          snapshot=dict(earlier))
        session.add(release)
        session.commit()
        published_id = release.id
    trend = trend_of(build(province, "2026"), "96")
    assert [(t["period"], t["label_vi"]) for t in trend] == [("2025", "Năm 2025"), ("2026", "Năm 2026")]
    assert trend[0]["release"] == published_id
    assert trend[0]["estimate"] == find_index(earlier, "96")["overall"]["estimate"]  # type: ignore[index]


def test_a_period_without_responses_cannot_be_built(province: Flask) -> None:
    with pytest.raises(BuildFailure) as failure:
        build(province, "2020-Q1")
    assert failure.value.code == "no_responses" and failure.value.params["period"] == "Quý I/2020"
