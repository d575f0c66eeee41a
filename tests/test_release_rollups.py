"""Release building reads the rollups (issue 15 point 1): a snapshot built from them — the units of
every level for all services and each, the goals' base years, the desks and ranks from the period's
microdata in the same sample — equals, number for number (≤ 1e-12 relative) and otherwise as JSON,
the snapshot built from the microdata alone (``rollups.usable`` → None: the path of every build
before issue 15), on SQLite and PostgreSQL, with unequal weights, after review decisions, for a
quarter, nine months and a year; and the build falls back to the microdata where the cells cannot
answer (an unweighted release over weighted responses, another overall rule)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from survey.periods import Period
from survey.portal import snapshot_sample
from survey.portal.snapshot import Snapshot
from survey.portal.snapshot_builder import ReleaseSpec, build_snapshot
from survey.reports import rollups
from survey.store.catalogue import latest
from survey.store.models import Response, ReviewStatus, Target, TargetKind, Unit, UnitLevel
from tests.snapshot_compare import count_floats, differences

KIOSK = "sipas-kiosk"
SHOW_ALL = {"min_publish_n": 1, "min_effective_n": 1.0}  # every cell published: every number compared


def _build(app: Flask, period: str, monkeypatch: pytest.MonkeyPatch, *, rolled: bool,
           **choices: Any) -> tuple[Snapshot, list[str]]:
    """The snapshot of ``period`` for the province, and which sample each questionnaire read."""
    used: list[str] = []
    original = snapshot_sample.sample

    def spy(*args: Any) -> Any:
        found = original(*args)
        used.append(type(found).__name__)
        return found

    with monkeypatch.context() as m:
        m.setattr(snapshot_sample, "sample", spy)
        if not rolled:
            m.setattr(rollups, "usable", lambda *_a, **_k: None)
        with app.app_context(), force_locale("vi"), Session(app.extensions["hailong.engine"]) as session:
            spec = ReleaseSpec(period=Period.parse(period), scope="96", questionnaires=(KIOSK,), **choices)
            snapshot = build_snapshot(session, spec, release={"id": 0})  # type: ignore[typeddict-item]
    return snapshot, used


def _same(app: Flask, period: str, monkeypatch: pytest.MonkeyPatch, **choices: Any) -> Snapshot:
    """Build ``period`` from the rollups and from the microdata; they must agree."""
    rolled, used = _build(app, period, monkeypatch, rolled=True, **choices)
    assert used == ["RolledSample"], f"{period}: the build must read the rollups"
    micro, used = _build(app, period, monkeypatch, rolled=False, **choices)
    assert used == ["MicroSample"]
    found = differences(rolled, micro)
    assert not found, f"{period} {choices}: {len(found)} differences, first {found[:5]}"
    assert count_floats(rolled) > 200, period
    return rolled


def _periods(db: Session) -> tuple[str, str, str]:
    """The latest quarter with ratings, the nine months of its year, and its year."""
    cells = rollups.usable(db, latest(KIOSK), None)
    assert cells is not None, "the demo load builds the rollups"
    quarter = str(cells.frame["period"].max())
    return quarter, f"{quarter[:4]}-9M", quarter[:4]


def test_release_from_rollups_equals_microdata(app, db, demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    quarter, nine_months, year = _periods(db)
    rng = np.random.default_rng(15)
    # Unequal weights (the ORM change recomputes each cell), so that no sum is an integer.
    for response in db.scalars(select(Response).where(Response.questionnaire_id == KIOSK)):
        response.weight = float(rng.uniform(0.4, 2.5))
    province = db.scalar(select(Unit).where(Unit.code == "96"))
    commune = db.scalar(select(Unit).where(Unit.level == UnitLevel.COMMUNE).order_by(Unit.code).limit(1))
    db.add_all([Target(unit_id=province.id, questionnaire_id=KIOSK, score_id="overall", year=int(year),
                       kind=TargetKind.INCREASE_PCT, value=5.0, base_year=int(year) - 1),
                Target(unit_id=commune.id, questionnaire_id=KIOSK, score_id="overall", year=int(year),
                       kind=TargetKind.SCORE, value=0.8)])
    db.commit()
    snapshot = _same(app, quarter, monkeypatch, weighting="design", **SHOW_ALL)
    assert snapshot["rankings"] and any(r["level"] == "desk" for r in snapshot["rankings"])
    province_row = next(r for r in snapshot["indices"] if r["unit"] == "96" and r["service"] is None)
    assert province_row["target"] is not None and province_row["target"]["base"] is not None
    _same(app, nine_months, monkeypatch, weighting="design", **SHOW_ALL)
    _same(app, year, monkeypatch, weighting="design")  # the default minimums: suppressed cells too

    # An unweighted release cannot read weighted sums: the microdata answer.
    _rolled, used = _build(app, quarter, monkeypatch, rolled=True, weighting="none", **SHOW_ALL)
    assert used == ["MicroSample"]
    # Another overall rule than the questionnaire's own: the cells hold its own composites.
    _rolled, used = _build(app, quarter, monkeypatch, rolled=True, overall_rule="mean", weighting="design")
    assert used == ["MicroSample"]

    # Equal weights again (an unweighted release reads the rollups), then review decisions.
    db.execute(update(Response).where(Response.questionnaire_id == KIOSK).values(weight=1.0))
    db.commit()
    _same(app, quarter, monkeypatch, weighting="none", **SHOW_ALL)
    counted = db.scalars(select(Response.id).where(Response.questionnaire_id == KIOSK)
                         .order_by(Response.submitted_at.desc()).limit(12)).all()
    for n, rid in enumerate(counted):
        response = db.get(Response, rid)
        if n % 2:
            response.review_status = ReviewStatus.REJECTED
        else:
            response.flag = "burst"  # held for a person: no longer counted
    db.commit()
    _same(app, quarter, monkeypatch, weighting="none", **SHOW_ALL)
    _same(app, year, monkeypatch, weighting="none", **SHOW_ALL)


def test_release_reads_the_microdata_when_rollups_are_stale(app, db, demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from survey.store.rollup_cells import RollupState

    quarter, _nine, _year = _periods(db)
    state = db.get(RollupState, KIOSK)
    state.stale = True
    db.commit()
    _snapshot, used = _build(app, quarter, monkeypatch, rolled=True)
    assert used == ["MicroSample"]


def test_release_reads_the_microdata_when_the_two_reads_disagree(app, db, demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The period's rows read must number what the cells count (else a response was stored or
    reviewed between the two reads, and mixing them would be wrong): the microdata answer."""
    quarter, _nine, _year = _periods(db)
    original = snapshot_sample.responses_frame
    calls: list[int] = []

    def one_missing(*args: Any, **kwargs: Any) -> Any:
        frame = original(*args, **kwargs)
        calls.append(len(frame))
        return frame.iloc[1:] if len(calls) == 1 else frame  # the rolled path's read lacks one response

    monkeypatch.setattr(snapshot_sample, "responses_frame", one_missing)
    _snapshot, used = _build(app, quarter, monkeypatch, rolled=True)
    assert used == ["MicroSample"] and len(calls) == 2
