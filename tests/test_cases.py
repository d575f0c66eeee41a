"""Citizens' complaints and feedback as cases (issue 11 point 3): working-day due dates across Viet
Nam's public holidays and a province's own days off, a complaint from the kiosk to the answer,
the citizen's look-up and rating, the public counters and indicators 5.2/5.3, the reminder job."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.store import casebook
from survey.store.casework import CaseEvent, CaseKind, CaseStatus, DayOff, FeedbackCase
from survey.store.models import Response, Unit
from tests.channels.conftest import FIVE

FORM = {k: str(v) for k, v in FIVE.items()}
LIMITS = casebook.Limits()


def vn(day: str, hour: int = 9) -> datetime:
    """A moment of ``day`` at ``hour`` in Vietnam time, as UTC."""
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour - 7 if hour >= 7 else 0, tzinfo=UTC)


# -- working days (no database) -----------------------------------------------------------------

def test_fifteen_working_days_skip_the_national_day_holidays() -> None:
    """Received on Friday 21 August 2026: the 15 working days skip 31 August (given in lieu),
    1 and 2 September — counted by hand: 24–28 Aug (5), 3–4 Sep (7), 7–11 Sep (12), 14–16 Sep (15)."""
    calendar = casebook.WorkCalendar()
    assert calendar.add(date(2026, 8, 21), 15) == date(2026, 9, 16)
    assert calendar.add(date(2026, 8, 21), 2) == date(2026, 8, 25)
    assert calendar.add(date(2026, 8, 21), 5) == date(2026, 8, 28)
    # Tết 2027: 4–10 February are holidays, so two working days after 3 February end on the 12th.
    assert calendar.add(date(2027, 2, 3), 2) == date(2027, 2, 12)
    assert calendar.between(date(2026, 9, 16), date(2026, 9, 17)) == 1
    assert calendar.between(date(2026, 9, 17), date(2026, 9, 16)) == -1


def test_a_province_day_off_and_a_weekend_working_day_move_the_due_date() -> None:
    with_day_off = casebook.WorkCalendar(days_off={date(2026, 9, 10)})
    assert with_day_off.add(date(2026, 8, 21), 15) == date(2026, 9, 17)
    make_up = casebook.WorkCalendar(working={date(2026, 8, 22)})  # Saturday worked in lieu of 31 August
    assert make_up.add(date(2026, 8, 21), 15) == date(2026, 9, 15)


def test_codes_are_random_and_read_back_as_typed() -> None:
    codes = {casebook.new_code(CaseKind.COMPLAINT) for _ in range(200)}
    assert len(codes) == 200 and all(re.fullmatch(r"PA-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", c) for c in codes)
    code = next(iter(codes))
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert casebook.normalize_code(typed) == code
    assert casebook.normalize_code("XX-1234-5678") == "" and casebook.normalize_code("' OR 1=1 --") == ""


# -- cases on the database ----------------------------------------------------------------------

@pytest.fixture
def small_demo(app: Flask) -> str:
    from tests.demo_cache import cached_demo

    return cached_demo(app, n_responses=20, seed=3,
                     papi_per_village=0)


def _unit(db: Session, code: str = "32002") -> Unit:
    return db.scalars(select(Unit).where(Unit.code == code)).one()


def test_a_late_case_is_counted_late_across_the_holiday(db: Session, small_demo: str) -> None:
    unit = _unit(db)
    late = casebook.open_case(db, unit_id=unit.id, text="Phải đi lại ba lần", now=vn("2026-08-21"))
    on_time = casebook.open_case(db, unit_id=unit.id, text="Thiếu ghế ngồi", now=vn("2026-08-21"))
    assert late.reply_due == date(2026, 9, 16) and late.reject_due == date(2026, 8, 25)
    calendar = casebook.WorkCalendar.load(db)
    casebook.answer(late, "Đã chấn chỉnh", None, calendar=calendar, limits=LIMITS, now=vn("2026-09-17"))
    casebook.answer(on_time, "Đã bổ sung ghế", None, calendar=calendar, limits=LIMITS, now=vn("2026-09-16", 16))
    db.commit()
    assert late.answered_late and not on_time.answered_late
    counts = casebook.counters([late, on_time], date(2026, 9, 30))
    assert counts["answered_late"] == 1 and counts["answered_on_time"] == 1 and counts["received"] == 2
    five_two, five_three = casebook.indicators([late, on_time])
    assert (five_two.numerator, five_two.denominator) == (1, 2)
    assert (five_three.numerator, five_three.denominator) == (1, 2)


def test_a_province_day_off_stored_in_the_database_counts(db: Session, small_demo: str) -> None:
    db.add(DayOff(day=date(2026, 9, 10), label="Ngày nghỉ của tỉnh", working=False))
    db.commit()
    case = casebook.open_case(db, unit_id=_unit(db).id, text="Góp ý", now=vn("2026-08-21"))
    assert case.reply_due == date(2026, 9, 17)


def _kiosk_complaint(client: FlaskClient, text: str, kind: str = "complaint") -> str:
    sent = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**FORM, "comment": text, "case_kind": kind})
    assert sent.status_code == 303, sent.get_data(as_text=True)[:500]
    thanks = client.get(sent.headers["Location"]).get_data(as_text=True)
    found = re.search(r'class="case-code"[^>]*>([A-Z]{2}-[0-9A-Z]{4}-[0-9A-Z]{4})<', thanks)
    assert found, thanks
    again = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert found.group(1) not in again  # the next citizen never sees it
    return found.group(1)


def test_a_kiosk_complaint_is_answered_on_time_rated_and_counted_in_public(app: Flask, client: FlaskClient,
                                                                           db: Session, small_demo: str) -> None:
    code = _kiosk_complaint(client, "Cán bộ hẹn trả kết quả nhưng không đúng hẹn.")
    case = db.scalars(select(FeedbackCase).where(FeedbackCase.code == code)).one()
    response = db.get(Response, case.response_id)
    assert case.kind == CaseKind.COMPLAINT and case.channel == "kiosk" and response is not None
    assert case.status == CaseStatus.RECEIVED and case.reply_due > casebook.today()
    plain = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**FORM, "comment": "Chỉ góp ý thôi", "case_kind": ""})
    assert plain.status_code == 303 and "case-code" not in client.get(plain.headers["Location"]).get_data(as_text=True)
    assert db.scalar(select(FeedbackCase).where(FeedbackCase.text == "Chỉ góp ý thôi")) is None

    # Before the answer the citizen sees where it stands; an unknown code says nothing more than a malformed one.
    looked = client.post("/cases/", data={"code": code.lower()})
    assert looked.status_code == 200 and "Đã tiếp nhận" in looked.get_data(as_text=True)
    unknown = client.post("/cases/", data={"code": "PA-0000-0000"})
    malformed = client.post("/cases/", data={"code": "hello"})
    assert unknown.status_code == malformed.status_code == 404
    assert re.sub(r'value="[^"]*"', "", unknown.get_data(as_text=True)) == \
        re.sub(r'value="[^"]*"', "", malformed.get_data(as_text=True))

    # Staff see the comment, answer it and the answer is published at once.
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    comments = client.get("/staff/cases/comments").get_data(as_text=True)
    assert "Cán bộ hẹn trả kết quả" in comments and code in comments and "Chỉ góp ý thôi" in comments
    listed = client.get("/staff/cases/").get_data(as_text=True)
    assert code in listed and "ngày làm việc" in listed
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "(giờ Việt Nam, UTC+7)" in page
    assert client.post(f"/staff/cases/{case.id}/step", data={"step": "answer", "text": ""}).status_code == 400
    answered = client.post(f"/staff/cases/{case.id}/step",
                           data={"step": "answer", "text": "Đơn vị đã xin lỗi và trả kết quả.", "publish": "1"})
    assert answered.status_code == 302
    db.expire_all()
    assert db.get(FeedbackCase, case.id).status == CaseStatus.ANSWERED
    client.post("/auth/logout")

    shown = client.post("/cases/", data={"code": code}).get_data(as_text=True)
    assert "Đơn vị đã xin lỗi và trả kết quả." in shown and 'value="like"' in shown
    liked = client.post("/cases/rate", data={"code": code, "rating": "like"})
    assert liked.status_code == 200
    db.expire_all()
    closed = db.get(FeedbackCase, case.id)
    assert closed.status == CaseStatus.CLOSED and closed.rating == "like" and not closed.answered_late
    assert client.post("/cases/rate", data={"code": code, "rating": "dislike"}).status_code == 400

    figures = client.get(f"/cases/figures?month={casebook.month_of(closed.received_at)}").get_data(as_text=True)
    row = re.search(r'<tr data-unit="32002">(.*?)</tr>', figures, flags=re.S)
    assert row, figures
    cells = dict(re.findall(r'data-counter="(\w+)">([^<]*)<', row.group(1)))
    assert cells == {"received": "1", "in_progress": "0", "answered_on_time": "1", "answered_late": "0",
                     "overdue": "0", "rejected": "0", "reopened": "0"}
    assert "100,0%" in figures  # 5.2 and 5.3, with the decimal comma
    assert "Cán bộ hẹn" not in figures and "Đơn vị đã xin lỗi" not in figures  # counts only


def test_a_dislike_reopens_the_case_and_overdue_units_are_named(client: FlaskClient, db: Session,
                                                                 small_demo: str) -> None:
    unit = _unit(db)
    old = casebook.open_case(db, unit_id=unit.id, text="Chờ quá lâu", now=vn("2026-08-03"))
    case = casebook.open_case(db, unit_id=unit.id, text="Thủ tục rườm rà")
    calendar = casebook.WorkCalendar.load(db)
    casebook.answer(case, "Đã rút gọn", None, calendar=calendar, limits=LIMITS)
    db.commit()
    disliked = client.post("/cases/rate", data={"code": case.code, "rating": "dislike"})
    assert disliked.status_code == 200
    db.expire_all()
    again = db.get(FeedbackCase, case.id)
    assert again.status == CaseStatus.IN_PROGRESS and again.reopened_count == 1 and again.published_at is None
    assert [e.action for e in again.events][-1] == "reopened"
    figures = client.get(f"/cases/figures?month={casebook.month_of(case.received_at)}").get_data(as_text=True)
    assert re.search(r'data-counter="reopened">1<', figures)
    overdue = re.search(r'<ul id="overdue-units">(.*?)</ul>', figures, flags=re.S)
    assert overdue and unit.name in overdue.group(1)  # the August case is long overdue
    assert casebook.overdue(db.get(FeedbackCase, old.id), casebook.today())
    assert client.get("/cases/figures?month=2026-13").status_code == 400


def test_a_staff_member_makes_a_comment_a_case_and_rejects_it(client: FlaskClient, db: Session,
                                                              small_demo: str) -> None:
    sent = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**FORM, "comment": "Nhà vệ sinh bẩn"})
    assert sent.status_code == 303
    response = db.scalars(select(Response).join(Response.answers).where(
        Response.answers.any(value_text="Nhà vệ sinh bẩn"))).first()
    assert response is not None
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    made = client.post(f"/staff/cases/comments/{response.id}/case", data={"kind": "suggestion"})
    assert made.status_code == 302
    case = db.scalars(select(FeedbackCase).where(FeedbackCase.response_id == response.id)).one()
    assert case.kind == CaseKind.SUGGESTION and case.source.value == "staff" and case.code.startswith("KN-")
    rejected = client.post(f"/staff/cases/{case.id}/step", data={"step": "reject", "text": "Không thuộc thẩm quyền"})
    assert rejected.status_code == 302
    db.expire_all()
    assert db.get(FeedbackCase, case.id).status == CaseStatus.REJECTED
    assert client.post(f"/staff/cases/{case.id}/step", data={"step": "answer", "text": "x"}).status_code == 400
    assert client.get("/staff/cases/999999").status_code == 404
    assert client.post("/staff/cases/comments/not-a-uuid/case", data={"kind": "complaint"}).status_code == 404


def test_the_lookup_is_rate_limited(app: Flask, client: FlaskClient, small_demo: str) -> None:
    app.config["CASE_LOOKUP_PER_HOUR"] = 3
    statuses = [client.post("/cases/", data={"code": f"PA-0000-000{n}"}).status_code for n in range(5)]
    assert statuses[:3] == [404, 404, 404] and statuses[3:] == [429, 429]


def test_the_reminder_job_marks_cases_near_their_due_date_once_a_day(app: Flask, db: Session,
                                                                     small_demo: str) -> None:
    from survey.portal.jobs import PERIODIC, TASKS

    unit = _unit(db)
    due = casebook.open_case(db, unit_id=unit.id, text="Sắp đến hạn", now=vn("2026-08-03"))
    fresh = casebook.open_case(db, unit_id=unit.id, text="Mới nhận")
    assert "case_reminders" in PERIODIC and "case_reminders" in app.extensions["hailong.queue"].hailong_periodic
    with app.app_context():
        first = TASKS["case_reminders"]()
        second = TASKS["case_reminders"]()
    assert due.code in first and fresh.code not in first and second == []
    events = db.scalars(select(CaseEvent).where(CaseEvent.case_id == due.id, CaseEvent.action == "reminder")).all()
    assert len(events) == 1


def test_the_citizen_can_look_the_case_up_by_the_dossier_code(client: FlaskClient, db: Session,
                                                              small_demo: str) -> None:
    dossier = "000.00.12.H12-250101-0077"
    sent = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**FORM, "dossier_code": dossier,
                                                            "comment": "Hồ sơ bị trả lại hai lần", "case_kind": "complaint"})
    assert sent.status_code == 303
    case = db.scalars(select(FeedbackCase).where(FeedbackCase.text == "Hồ sơ bị trả lại hai lần")).one()
    found = client.post("/cases/", data={"code": dossier.lower()})
    assert found.status_code == 200 and case.code in found.get_data(as_text=True)
    assert client.post("/cases/", data={"code": "000.00.12.H12-250101-0078"}).status_code == 404
