"""Issue 9 point 3: where an old unit was split between units of today's map, the correspondence
carries each part's share (population, villages, …); the admin enters or imports the shares, and
re-aggregation onto today's map counts the old unit's responses in each part with its weight times
the share — on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import select

from survey.store.models import Response, Unit, UnitCorrespondence, UnitLevel
from survey.store.units import UnitMap


def _admin(client):  # type: ignore[no-untyped-def]
    assert client.post("/auth/login", data={"username": "admin", "password": "hailong-demo"}).status_code == 302


def _quiet_communes(db, period_start, period_end, n: int = 2) -> list[Unit]:  # type: ignore[no-untyped-def]
    """Communes of today's map with no response of their own in the period."""
    busy = set(db.scalars(select(Response.unit_id).where(Response.submitted_at >= period_start,
                                                         Response.submitted_at <= period_end)))
    communes = db.scalars(select(Unit).where(Unit.level == UnitLevel.COMMUNE, Unit.valid_to.is_(None))
                          .order_by(Unit.code)).all()
    return [c for c in communes if c.id not in busy][:n]


def test_a_split_unit_counts_in_each_part_by_its_share(app, client, db, demo) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from survey.reports.ranking import unit_ranking
    from survey.store.catalogue import latest

    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 31, 23, 59, tzinfo=UTC)
    district = db.scalars(select(Unit).join(Response, Response.unit_id == Unit.id).where(
        Unit.level == UnitLevel.DISTRICT, Response.submitted_at >= start, Response.submitted_at <= end)
        .order_by(Unit.code)).first()
    assert district is not None
    part_a, part_b = _quiet_communes(db, start, end)
    _admin(client)
    body = (f"old_unit,new_unit,share,basis\n{district.code},{part_a.code},\"0,6\",population\n"
            f"{district.code},{part_b.code},140%,population\n").encode()
    bad = client.post("/admin/import", data={"kind": "shares", "file": (io.BytesIO(body), "ty-le.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "Dòng 3: Tỷ lệ là một số lớn hơn 0 và không quá 1" in bad.get_data(as_text=True)
    over = (f"old_unit,new_unit,share\n{district.code},{part_a.code},0.6\n{district.code},{part_b.code},0.5\n").encode()
    refused = client.post("/admin/import", data={"kind": "shares", "file": (io.BytesIO(over), "ty-le.csv")},
                          content_type="multipart/form-data")
    assert "Dòng 3: Tổng các tỷ lệ" in refused.get_data(as_text=True) and "1,10, lớn hơn 1" in refused.get_data(
        as_text=True)
    db.expire_all()
    assert db.get(UnitCorrespondence, (district.id, part_a.id)) is None  # all or nothing
    good = (f"old_unit,new_unit,share,basis\n{district.code},{part_a.code},60%,population\n"
            f"{district.code},{part_b.code},\"0,4\",population\n").encode()
    assert client.post("/admin/import", data={"kind": "shares", "file": (io.BytesIO(good), "ty-le.csv")},
                       content_type="multipart/form-data").status_code == 302
    db.expire_all()
    row = db.get(UnitCorrespondence, (district.id, part_b.id))
    assert row is not None and (row.share, row.basis, row.partly) == (pytest.approx(0.4), "population", True)

    unit_map = UnitMap(db)
    shares = unit_map.shares()
    assert shares[district.id] == [(part_a.id, pytest.approx(0.6)), (part_b.id, pytest.approx(0.4))]
    village = db.scalars(select(Unit).where(Unit.parent_id == district.id)).first()
    if village is not None and village.id not in unit_map.targets:  # its communes go where the district goes
        assert dict(shares.get(village.id, [])) == pytest.approx(dict(shares[district.id]))

    # The ranking of today's communes for 2024-Q1: the district's responses count in both parts.
    questionnaire = latest("sipas-kiosk")
    with app.test_request_context():
        today = unit_ranking(db, questionnaire, level=UnitLevel.COMMUNE, service=None, period="2024-Q1",
                             language="vi", min_n=1)
        then = unit_ranking(db, questionnaire, level=UnitLevel.DISTRICT, service=None, period="2024-Q1",
                            language="vi", min_n=1, todays_map=False)
    rows = {r["code"]: r for r in today.table.rows}
    old = next(r for r in then.table.rows if r["code"] == district.code)
    assert old["n"] > 0
    for part in (part_a, part_b):  # no response of their own: each part's index is the district's
        assert rows[part.code]["n"] == old["n"]
        assert rows[part.code]["estimate"] == pytest.approx(old["estimate"], abs=1e-9)
    # The province-wide figure counts every response once.
    assert today.parent is not None and then.parent is not None
    assert today.parent["n"] == then.parent["n"]


def test_spread_multiplies_the_weights_by_the_shares(db, demo) -> None:  # type: ignore[no-untyped-def]
    from survey.store.units import Areas

    old = db.scalars(select(Unit).where(Unit.level == UnitLevel.DISTRICT)).first()
    a, b = db.scalars(select(Unit).where(Unit.level == UnitLevel.COMMUNE, Unit.valid_to.is_(None))
                      .order_by(Unit.code).limit(2)).all()
    db.add_all([UnitCorrespondence(old_unit_id=old.id, new_unit_id=a.id, share=0.25, partly=True),
                UnitCorrespondence(old_unit_id=old.id, new_unit_id=b.id, share=0.75, partly=True)])
    db.flush()
    unit_map = UnitMap(db)
    areas = Areas(units=[a, b], area_of={a.id: a.id, b.id: b.id, old.id: b.id}, day=unit_map.now, todays_map=True)
    frame = pd.DataFrame({"response_id": ["r1", "r2"], "unit_id": [old.id, a.id], "area": [b.id, a.id],
                          "weight": [2.0, 1.0]})
    spread = unit_map.spread(frame, areas).sort_values(["area", "weight"]).reset_index(drop=True)
    assert spread[["unit_id", "area", "weight"]].values.tolist() == [
        [old.id, a.id, 0.5], [a.id, a.id, 1.0], [old.id, b.id, 1.5]]
    assert spread["cluster"].tolist() == ["r1", "r2", "r1"]  # the copies of r1 are one PSU
    assert spread["weight"].sum() == pytest.approx(frame["weight"].sum())  # nothing gained or lost
    on_old_map = Areas(units=[old], area_of={old.id: old.id}, day=unit_map.now, todays_map=False)
    assert unit_map.spread(frame, on_old_map) is frame  # the old map is as published
