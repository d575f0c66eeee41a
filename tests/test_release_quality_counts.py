"""Issue 11 point 5: a published release states, per desk and quarter, how many ratings a quality
flag held for review and how many of them it leaves out — in the snapshot, on the portal's unit
pages and in the PDF report's context. Crafted ratings, counted by hand. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tests.opendata_actions import publish_release
from tests.release_actions import KIOSK, release_app, small_province


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


# (quarter's moment, review status, flag, reviewed by a person) at the desk of 96001
CRAFTED = [
    (datetime(2026, 8, 3, 2, tzinfo=UTC), "received", "kiosk_burst", False),  # waiting: excluded
    (datetime(2026, 8, 3, 2, 1, tzinfo=UTC), "received", "kiosk_burst", False),  # waiting: excluded
    (datetime(2026, 8, 4, 3, tzinfo=UTC), "received", "straight_lining", False),  # waiting: excluded
    (datetime(2026, 8, 5, 3, tzinfo=UTC), "approved", None, True),  # flagged, then approved: counted
    (datetime(2026, 8, 6, 3, tzinfo=UTC), "approved", None, True),  # flagged, then approved: counted
    (datetime(2026, 8, 7, 3, tzinfo=UTC), "rejected", None, True),  # flagged, then rejected: excluded
    (datetime(2026, 9, 30, 18, tzinfo=UTC), "received", "out_of_hours", False),  # 1 Oct in Vietnam: Q4
    (datetime(2026, 5, 2, 3, tzinfo=UTC), "received", "kiosk_burst", False),  # Q2: excluded
    (datetime(2026, 8, 8, 3, tzinfo=UTC), "approved", None, False),  # never flagged: not listed
    (datetime(2025, 8, 8, 3, tzinfo=UTC), "received", "kiosk_burst", False),  # another year: not in "2026"
]


def _craft(engine: object) -> None:
    from survey.collect.responses import payload_hash
    from survey.store.catalogue import latest, publish
    from survey.store.models import (
        Answer,
        Channel,
        Desk,
        Response,
        ReviewNote,
        ReviewStatus,
        Service,
        Unit,
    )

    questionnaire = latest(KIOSK)
    with Session(engine) as session:  # type: ignore[arg-type]
        version = publish(session, questionnaire).id
        unit = session.scalars(select(Unit).where(Unit.code == "96001")).one()
        service = session.scalars(select(Service).where(Service.code == "CHUNG-THUC")).one()
        desk = Desk(code="96001-MC", name="Bộ phận Một cửa phường An Xuyên", unit_id=unit.id, questionnaire_id=KIOSK)
        session.add(desk)
        session.flush()
        values = {q.id: 4 for q in questionnaire.scored_questions()}
        for when, status, flag, reviewed in CRAFTED:
            rid = uuid.uuid4()
            session.execute(insert(Response), [{
                "id": rid, "questionnaire_id": KIOSK, "questionnaire_version_id": version, "unit_id": unit.id,
                "service_id": service.id, "desk_id": desk.id, "channel": Channel.KIOSK, "started_at": when,
                "submitted_at": when, "received_at": when, "review_status": ReviewStatus(status), "weight": 1.0,
                "dossier_key": None, "flag": flag,
                "payload_hash": payload_hash(questionnaire, unit.id, service.id, values)}])
            session.execute(insert(Answer), [{"response_id": rid, "question_id": k, "value_num": float(v),
                                              "value_text": None} for k, v in values.items()])
            if reviewed:
                session.add(ReviewNote(response_id=rid, from_status=ReviewStatus.RECEIVED,
                                       to_status=ReviewStatus(status), text=""))
        session.commit()


def test_the_release_states_flagged_and_excluded_ratings_per_desk_and_quarter(app: Flask, client: FlaskClient) -> None:
    small_province(app.extensions["hailong.engine"])
    _craft(app.extensions["hailong.engine"])
    release_id = publish_release(app, "2026")
    from survey.portal.snapshot import published_snapshot

    with Session(app.extensions["hailong.engine"]) as session:
        snapshot = published_snapshot(session, release_id)
    assert snapshot is not None
    got = {(r["period"], r["desk"]): (r["flagged"], r["excluded"]) for r in snapshot["quality"]}
    assert got == {("2026-Q2", "96001-MC"): (1, 1), ("2026-Q3", "96001-MC"): (6, 4), ("2026-Q4", "96001-MC"): (1, 1)}
    assert {r["unit"] for r in snapshot["quality"]} == {"96001"}
    assert all(set(r) == {"questionnaire", "period", "unit", "desk", "desk_name", "flagged", "excluded"}
               for r in snapshot["quality"])  # counts only: no response id, no flag reason

    page = client.get(f"/portal/r/{release_id}/{KIOSK}/96001/").get_data(as_text=True)
    table = page.split('id="quality-table"')[1].split("</table>")[0]
    assert "Bộ phận Một cửa phường An Xuyên" in table and "Quý III/2026" in table
    q3 = table.split('data-period="2026-Q3"')[1].split("</tr>")[0]
    assert '<td class="num flagged">6</td>' in q3 and '<td class="num excluded">4</td>' in q3
    province = client.get(f"/portal/r/{release_id}/{KIOSK}/96/").get_data(as_text=True)
    assert 'id="quality-table"' in province  # the scope's page lists every desk below it
    other = client.get(f"/portal/r/{release_id}/{KIOSK}/96002/").get_data(as_text=True)
    assert 'id="quality-table"' not in other  # no flagged rating there

    from survey.portal.pdf import _context

    with app.test_request_context("/?lang=vi"):
        rows = _context(snapshot, "vi")["quality_rows"]
    assert [(r["period"], r["flagged"], r["excluded"]) for r in rows] == [
        ("Quý II/2026", "1", "1"), ("Quý III/2026", "6", "4"), ("Quý IV/2026", "1", "1")]
