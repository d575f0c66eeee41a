"""The monitoring page (issue 11 point 4) against counts made by hand, and the staff home page's
"what needs doing"."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.collect.responses import store_response
from survey.store import casebook
from survey.store.catalogue import latest
from survey.store.models import Channel, Desk, Service, Unit
from tests.channels.conftest import FIVE

PERIOD = "2031-Q2"  # a quarter of its own: the demo's ratings are all older


@pytest.fixture
def small_demo(app: Flask) -> str:
    from tests.demo_cache import cached_demo

    return cached_demo(app, n_responses=20, seed=3,
                     papi_per_village=0)


def _vn(day: str, hour: int) -> datetime:
    """``day`` at ``hour`` o'clock in Vietnam, as UTC."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:15:00+07:00").astimezone(UTC)


def _store(db: Session, app: Flask, unit: Unit, service: Service, when: datetime, channel: Channel = Channel.KIOSK,
           desk: Desk | None = None) -> None:
    result = store_response(db, secret=app.config["SECRET_KEY"], questionnaire=latest("sipas-kiosk"), unit_id=unit.id,
                            service_id=service.id, channel=channel, answers=dict(FIVE), response_id=uuid.uuid4(),
                            desk_id=desk.id if desk else None, submitted_at=when)
    assert result.outcome == "created"


def _table(html: str, table_id: str) -> dict[str, dict[str, str]]:
    body = re.search(rf'<table class="results" id="{table_id}">(.*?)</table>', html, flags=re.S)
    assert body, f"no table {table_id}"
    out: dict[str, dict[str, str]] = {}
    for key, row in re.findall(r'<tr data-key="([^"]*)">(.*?)</tr>', body.group(1), flags=re.S):
        cells = dict(re.findall(r"<td class=\"num\" data-(\w+)>([^<]*)</td>", row))
        out[key] = cells
    return out


def test_the_monitoring_page_shows_the_counts_made_by_hand(app: Flask, client: FlaskClient, db: Session,
                                                          small_demo: str) -> None:
    by_code = {u.code: u for u in db.scalars(select(Unit).where(Unit.code.in_(["32002", "32002-A1", "32002-A2",
                                                                                 "96-TTPVHCC"])))}
    chung, tthc = (db.scalars(select(Service).where(Service.code == c)).one() for c in ("CHUNG-THUC", "TTHC-XA"))
    desk = db.scalars(select(Desk).where(Desk.code == "32002-MC")).one()
    centre = db.scalars(select(Desk).where(Desk.code == "96-TTPVHCC-01")).one()
    # By hand: commune 32002 gets 3 kiosk ratings at its desk (2 on 3 April at 8h and 9h, 1 on 5 April at
    # 9h), 2 interviews in village A1 and 1 in A2 (on 4 April at 14h); the province's centre 1 kiosk
    # rating on 5 April at 16h; one more rating falls in the next quarter and does not count.
    _store(db, app, by_code["32002"], chung, _vn("2031-04-03", 8), desk=desk)
    _store(db, app, by_code["32002"], chung, _vn("2031-04-03", 9), desk=desk)
    _store(db, app, by_code["32002"], tthc, _vn("2031-04-05", 9), desk=desk)
    _store(db, app, by_code["32002-A1"], tthc, _vn("2031-04-04", 14), channel=Channel.ENUMERATOR)
    _store(db, app, by_code["32002-A1"], tthc, _vn("2031-04-04", 14), channel=Channel.ENUMERATOR)
    _store(db, app, by_code["32002-A2"], tthc, _vn("2031-04-04", 14), channel=Channel.ENUMERATOR)
    _store(db, app, by_code["96-TTPVHCC"], chung, _vn("2031-04-05", 16), desk=centre)
    _store(db, app, by_code["32002"], chung, _vn("2031-07-01", 9), desk=desk)

    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    saved = client.post("/staff/monitoring/targets", data={"what": "unit", "code": "32002", "period": PERIOD,
                                                           "questionnaire": "sipas-kiosk", "target": "8"})
    assert saved.status_code == 302
    client.post("/staff/monitoring/targets", data={"what": "desk", "code": "32002-MC", "period": PERIOD,
                                                   "questionnaire": "sipas-kiosk", "target": "4"})
    assert client.post("/staff/monitoring/targets", data={"what": "unit", "code": "32002", "period": PERIOD,
                                                          "questionnaire": "sipas-kiosk", "target": "many"}).status_code == 400

    page = client.get(f"/staff/monitoring/?unit=96&period={PERIOD}&questionnaire=sipas-kiosk")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    total = re.search(r'<p class="lead" id="monitor-total">([^<]*)', html)
    assert total and "Quý II/2031" in total.group(1) and ": 7 " in total.group(1)
    units = _table(html, "by-unit")
    assert units["32002"] == {"count": "6", "target": "8", "share": "75,0%"}
    assert units["96-TTPVHCC"]["count"] == "1"
    desks = _table(html, "by-desk")
    assert desks["32002-MC"] == {"count": "3", "target": "4", "share": "75,0%"} and desks["96-TTPVHCC-01"]["count"] == "1"
    channels = _table(html, "by-channel")
    assert (channels["kiosk"]["count"], channels["enumerator"]["count"], channels["web"]["count"]) == ("4", "3", "0")
    services = _table(html, "by-service")
    assert services["CHUNG-THUC"]["count"] == "3" and services["TTHC-XA"]["count"] == "4"
    days = _table(html, "by-day")
    assert [days[d]["count"] for d in ("2031-04-03", "2031-04-04", "2031-04-05", "2031-04-06")] == ["2", "3", "2", "0"]
    assert len(days) == 91  # every day of the quarter
    hours = _table(html, "by-hour")
    assert (hours["8"]["count"], hours["9"]["count"], hours["14"]["count"], hours["16"]["count"]) == ("1", "2", "0", "1")
    assert html.count('role="img"') >= 2  # the two charts, accessible SVG from the server

    # Drill down: the commune shows its villages and its desk.
    commune = client.get(f"/staff/monitoring/?unit=32002&period={PERIOD}&questionnaire=sipas-kiosk")
    villages = _table(commune.get_data(as_text=True), "by-unit")
    assert villages["32002-A1"]["count"] == "2" and villages["32002-A2"]["count"] == "1" \
        and villages["32002-A3"]["count"] == "0" and villages["32002"]["count"] == "3"
    assert client.get(f"/staff/monitoring/?unit=nowhere&period={PERIOD}").status_code == 404
    assert client.get("/staff/monitoring/?period=2031-Q5").status_code == 400


def test_the_home_page_says_what_needs_doing(app: Flask, client: FlaskClient, db: Session, small_demo: str) -> None:
    unit = db.scalars(select(Unit).where(Unit.code == "32002")).one()
    casebook.open_case(db, unit_id=unit.id, text="Quá hạn", now=datetime.now(UTC) - timedelta(days=40))
    from survey.collect import credentials

    desk = db.scalars(select(Desk).where(Desk.code == "32002-MC")).one()
    assert credentials.issue(db, desk=desk, label="tablet")
    db.commit()
    from survey.store.models import Credential

    for cred in db.scalars(select(Credential)):
        cred.created_at = datetime.now(UTC) - timedelta(days=2)  # registered two days ago, silent since
    db.commit()
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    html = client.get("/staff/").get_data(as_text=True)
    todo = dict(re.findall(r'<li data-todo="(\w+)"><a href="[^"]*">([^<]*)</a>', html))
    assert "overdue" in todo and todo["overdue"].startswith("1 ")
    assert "silent" in todo  # a device registered and never used since
    headline = re.search(r'<h2 id="headline-title">([^<]*)</h2>', html)
    assert headline and "Quý " in headline.group(1) and not re.search(r"20\d\d-Q[1-4]", headline.group(1))
