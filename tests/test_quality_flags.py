"""Quality flags, never silent drops (issue 11 point 5): each flag on a crafted response, its reason
in Vietnamese in the review queue, the back-check agreement, and the index with and without the
flagged ratings."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from questionnaires import load_library
from survey.collect import quality
from survey.collect.submissions import Scope, pending, store_all
from survey.store.casework import BackCheck, DossierAttempt, ResponseFlag
from survey.store.catalogue import latest
from survey.store.models import Channel, Desk, Response, ReviewStatus, Service, Unit
from tests.channels.conftest import FIVE


@pytest.fixture
def small_demo(app: Flask) -> str:
    from tests.demo_cache import cached_demo

    return cached_demo(app, n_responses=20, seed=3,
                     papi_per_village=0)


def _vn(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}:00+07:00").astimezone(UTC)


class Sender:
    """Stores crafted submissions the way every channel does (survey.collect.submissions.store_all)."""

    def __init__(self, app: Flask, db: Session) -> None:
        self.app, self.db = app, db
        self.village = db.scalars(select(Unit).where(Unit.code == "32002-A1")).one()
        self.desk = db.scalars(select(Desk).where(Desk.code == "32002-MC")).one()
        self.service = db.scalars(select(Service).where(Service.code == "CHUNG-THUC")).one()
        from survey.collect import credentials
        from survey.store.models import Credential

        token = credentials.issue(db, desk=self.desk, label="registered tablet")  # not "unregistered"
        db.commit()
        self.credential = credentials.authenticate(db, token)
        assert isinstance(self.credential, Credential)

    def send(self, *, channel: Channel = Channel.KIOSK, answers: dict[str, Any] | None = None,
             when: datetime | None = None, paradata: dict[str, Any] | None = None, version: str | None = None,
             started_at: datetime | None = None) -> Response:
        questionnaire = load_library()[("sipas-kiosk", version)] if version else latest("sipas-kiosk")
        kiosk = channel == Channel.KIOSK
        scope = Scope(channel=channel, unit_id=self.desk.unit_id if kiosk else self.village.id,
                      questionnaire_id="sipas-kiosk", services={self.service.code: self.service.id},
                      desk_id=self.desk.id if kiosk else None,
                      credential_id=self.credential.id if kiosk else None)
        rid = uuid.uuid4()
        with self.app.test_request_context():
            item = pending(scope, questionnaire, self.service.id, dict(answers or FIVE), rid,
                           submitted_at=when or datetime.now(UTC), started_at=started_at, paradata=paradata)
            if when is not None:
                item.submitted_at = when  # crafted: any moment, as a late offline upload may carry
            [result] = store_all(self.db, [(scope, item)], precheck=False)
        assert result.outcome == "created"
        self.db.expire_all()
        response = self.db.get(Response, rid)
        assert response is not None  # stored, never dropped
        return response

    def flags(self, response: Response) -> dict[str, dict[str, Any] | None]:
        return {f.code: f.detail for f in self.db.scalars(select(ResponseFlag).where(
            ResponseFlag.response_id == response.id))}


@pytest.fixture
def sender(app: Flask, db: Session, small_demo: str) -> Sender:
    return Sender(app, db)


def test_too_fast_from_the_enumerator_paradata(app: Flask, sender: Sender) -> None:
    app.config["QUALITY_SECONDS_PER_ANSWER"] = 10
    fast = sender.send(channel=Channel.ENUMERATOR, paradata={"duration_seconds": 30})
    assert sender.flags(fast) == {"too_fast": {"seconds": 30, "answers": 5, "minimum": 50}} and fast.flag == "too_fast"
    assert fast.review_status == ReviewStatus.RECEIVED
    started = datetime.now(UTC) - timedelta(minutes=10)
    slow = sender.send(channel=Channel.ENUMERATOR, started_at=started)
    assert sender.flags(slow) == {} and slow.flag is None
    kiosk = sender.send(paradata={"duration_seconds": 5})  # a kiosk rating is meant to be quick
    assert "too_fast" not in sender.flags(kiosk)


def test_straight_lining_is_the_longest_run_on_consecutive_scale_items(app: Flask, sender: Sender) -> None:
    app.config["QUALITY_STRAIGHT_RUN"] = 5
    same = sender.send(answers=dict.fromkeys(FIVE, 4))
    assert sender.flags(same) == {"straight_line": {"run": 5}}
    varied = sender.send(answers={**dict.fromkeys(FIVE, 4), "result_on_time": 2})
    assert sender.flags(varied) == {}
    papi = latest("papi-household")
    scale = [q.id for q in papi.questions if q.type in quality.SCALE_TYPES]
    assert quality.longest_run(papi, dict.fromkeys(scale, 3)) >= 5
    assert quality.longest_run(papi, {}) == 0


def test_gps_far_from_the_village_other_interviews(app: Flask, sender: Sender) -> None:
    near = {"lat": 9.1800, "lon": 105.1500, "accuracy": 10}
    for n in range(3):
        sender.send(channel=Channel.ENUMERATOR, paradata={"gps": {**near, "lat": 9.18 + n * 0.001}})
    close = sender.send(channel=Channel.ENUMERATOR, paradata={"gps": {**near, "lat": 9.185}})
    assert "gps_far" not in sender.flags(close)
    far = sender.send(channel=Channel.ENUMERATOR, paradata={"gps": {"lat": 9.30, "lon": 105.15, "accuracy": 8}})
    detail = sender.flags(far)["gps_far"]
    assert detail is not None and 12.5 < detail["km"] < 13.5  # 0.119° of latitude ≈ 13.2 km
    assert quality.distance_km((9.18, 105.15), (9.30, 105.15)) == pytest.approx(13.34, abs=0.05)


def test_out_of_office_hours_on_a_kiosk_and_in_the_field(app: Flask, sender: Sender) -> None:
    app.config["QUALITY_OFFICE_HOURS"] = "07:00-17:30"
    app.config["QUALITY_FIELD_HOURS"] = "06:00-21:00"
    today = datetime.now(UTC) - timedelta(days=1)
    weekday = today - timedelta(days=(today.weekday() - 2) % 7)  # the latest Wednesday before today
    day = weekday.date().isoformat()
    if quality.WorkCalendar().is_working(weekday.date()):
        assert sender.flags(sender.send(when=_vn(day, 9, 30))) == {}
    evening = sender.send(when=_vn(day, 20, 5))
    assert sender.flags(evening) == {"out_of_hours": {"at": f"{weekday:%d/%m/%Y} 20:05"}}
    sunday = (weekday - timedelta(days=3)).date().isoformat()
    assert "out_of_hours" in sender.flags(sender.send(when=_vn(sunday, 9, 30)))  # a day off
    assert "out_of_hours" not in sender.flags(sender.send(channel=Channel.ENUMERATOR, when=_vn(sunday, 19, 0)))
    assert "out_of_hours" in sender.flags(sender.send(channel=Channel.ENUMERATOR, when=_vn(sunday, 22, 30)))


def test_repeated_dossier_code_attempts_at_a_kiosk(app: Flask, sender: Sender, db: Session) -> None:
    db.add_all([DossierAttempt(desk_id=sender.desk.id, ok=False) for _ in range(3)])
    db.commit()
    assert sender.flags(sender.send()) == {"dossier_tries": {"tries": 3}}


def test_refused_dossier_codes_at_the_kiosk_are_counted(app: Flask, client: FlaskClient, sender: Sender,
                                                        db: Session) -> None:
    form = {k: str(v) for k, v in FIVE.items()}
    for n in range(3):
        bad = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**form, "dossier_code": f"!!{n}"})
        assert bad.status_code == 400
    sent = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**form, "dossier_code": "000.00.12.H12-250101-0001"})
    assert sent.status_code == 303
    newest = db.scalars(select(Response).order_by(Response.received_at.desc())).first()
    assert newest is not None and "dossier_tries" in sender.flags(newest)
    assert db.scalar(select(DossierAttempt).where(DossierAttempt.ok.is_(True))) is not None


def test_an_outdated_questionnaire_version(sender: Sender) -> None:
    old = sender.send(version="2025.1")
    assert sender.flags(old) == {"old_version": {"version": "2025.1", "latest": latest("sipas-kiosk").version}}


def test_a_back_check_that_disagrees_sends_the_interview_back_to_review(app: Flask, client: FlaskClient,
                                                                        sender: Sender, db: Session) -> None:
    app.config["QUALITY_BACKCHECK_SHARE"] = 1.0
    interview = sender.send(channel=Channel.ENUMERATOR)
    check = db.scalars(select(BackCheck).where(BackCheck.response_id == interview.id)).one()
    interview.review_status = ReviewStatus.APPROVED
    db.commit()
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    listed = client.get("/staff/quality/back-checks").get_data(as_text=True)
    assert f"/staff/quality/back-checks/{check.id}" in listed
    # Two of the five answers differ: 60% agreement, under the 80% threshold.
    again = {**{k: str(v) for k, v in FIVE.items()}, "access_facilities": "1", "servant_conduct": "2"}
    saved = client.post(f"/staff/quality/back-checks/{check.id}", data=again)
    assert saved.status_code == 302
    db.expire_all()
    check = db.get(BackCheck, check.id)
    assert check.compared == 5 and check.agreement == pytest.approx(0.6)
    response = db.get(Response, interview.id)
    assert response.review_status == ReviewStatus.RECEIVED and response.flag == "back_check"
    assert sender.flags(response)["back_check"] == {"agreement": 0.6}
    stats = client.get("/staff/quality/back-checks").get_data(as_text=True)
    assert "60,0%" in stats
    assert quality.drawn_for_back_check(interview.id, 1.0) and not quality.drawn_for_back_check(interview.id, 0.0)


def test_the_review_queue_gives_each_flag_its_reason_in_vietnamese(app: Flask, client: FlaskClient,
                                                                   sender: Sender) -> None:
    app.config["QUALITY_STRAIGHT_RUN"] = 5
    sender.send(version="2025.1")
    sender.send(answers=dict.fromkeys(FIVE, 4))
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    html = client.get("/staff/review/").get_data(as_text=True)
    assert "Phiên bản phiếu hỏi cũ" in html and "Trả lời một kiểu" in html
    cells = re.findall(r'<td data-flag="[^"]*">([^<]*)</td>', html)
    assert cells and not any(re.fullmatch(r"[a-z_]+", c.strip()) for c in cells)  # never a raw code


def test_the_sensitivity_view_shows_the_index_with_and_without_flagged_ratings(app: Flask, client: FlaskClient,
                                                                              sender: Sender) -> None:
    app.config["QUALITY_STRAIGHT_RUN"] = 5
    when = _vn("2031-04-08", 9)
    for _ in range(3):
        sender.send(when=when)  # counted: 3 of 5 criteria satisfied (4 or 5) each
    for _ in range(2):
        sender.send(when=when, answers=dict.fromkeys(FIVE, 1))  # straight-lined: held out until approved
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    html = client.get("/staff/quality/sensitivity?unit=32002&period=2031-Q2").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-key="(\w+)"><th scope="row">[^<]*</th><td class="num" data-n>(\d+)</td>', html))
    assert rows == {"as_counted": "3", "with_flagged": "5"}
    per_desk = re.search(r'<tr data-key="32002-MC">.*?<td class="num">(\d+)</td>', html, flags=re.S)
    assert per_desk and per_desk.group(1) == "2"
