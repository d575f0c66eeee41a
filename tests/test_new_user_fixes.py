"""What a new user tripped over (issue 11 point 7), each fixed and checked: the kiosk's language
for the next citizen, the dossier keypad's letters, a used receipt said before the form, the desk
page's "to review", the goals page in the menu, the ranking's default quarter, quarters as
"Quý III/2026"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.periods import previous_quarter, quarter
from survey.store.models import Response, ReviewStatus, utcnow
from tests.channels.conftest import FIVE

FORM = {k: str(v) for k, v in FIVE.items()}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def small_demo(app: Flask) -> str:
    from tests.demo_cache import cached_demo

    return cached_demo(app, n_responses=20, seed=3,
                     papi_per_village=0)


def test_the_kiosk_returns_to_the_default_language_for_the_next_citizen(client: FlaskClient, small_demo: str) -> None:
    english = client.get("/kiosk/32002-MC?lang=en").get_data(as_text=True)
    assert '<html lang="en"' in english
    form = client.get("/kiosk/32002-MC/CHUNG-THUC").get_data(as_text=True)
    assert '<html lang="en"' in form  # the citizen who chose English keeps it while rating
    sent = client.post("/kiosk/32002-MC/CHUNG-THUC", data=FORM)
    assert sent.status_code == 303
    client.get(sent.headers["Location"])
    start = client.get("/kiosk/32002-MC").get_data(as_text=True)  # where the kiosk returns by itself
    assert '<html lang="vi"' in start
    assert '<html lang="vi"' in client.get("/kiosk/32002-MC/CHUNG-THUC").get_data(as_text=True)


def test_the_kiosk_keypad_types_the_letters_of_a_dossier_code(client: FlaskClient, db: Session,
                                                             small_demo: str) -> None:
    html = client.get("/kiosk/32002-MC/CHUNG-THUC").get_data(as_text=True)
    keys = set(re.findall(r'data-key="([^"]+)"', html))
    assert set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-/") <= keys
    assert re.search(r'data-toggle="letters" aria-expanded="false" aria-controls="[^"]+-letters"', html)
    code = "000.00.12.H12-250101-0001"  # the example on the receipt: a letter in it
    sent = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**FORM, "dossier_code": code})
    assert sent.status_code == 303
    again = client.post("/kiosk/32002-MC/CHUNG-THUC", data={**FORM, "dossier_code": code.lower()})
    assert again.status_code == 409  # the same code, typed in small letters, is the same dossier


def test_the_enumerator_dossier_field_is_not_numeric_only() -> None:
    app_js = (ROOT / "survey/static/js/enumerator/app.js").read_text(encoding="utf-8")
    line = next(ln for ln in app_js.splitlines() if 'question.type === "dossier_code"' in ln and "inputmode" in ln)
    assert 'inputmode = "text"' in line and "numeric" not in line


def test_a_used_receipt_says_so_before_the_citizen_answers(app: Flask, client: FlaskClient, small_demo: str) -> None:
    from survey.collect.links import make_receipt

    with app.test_request_context():
        token = make_receipt("32002", "CHUNG-THUC", "000.00.12.H12-250101-0042")
    fresh = client.get(f"/r/{token}").get_data(as_text=True)
    assert 'id="receipt-used"' not in fresh and "<form" in fresh
    assert client.post(f"/r/{token}", data=FORM).status_code == 303
    used = client.get(f"/r/{token}").get_data(as_text=True)
    assert 'id="receipt-used"' in used and "đã được dùng để đánh giá" in used
    assert 'name="access_facilities"' not in used  # no form to fill in for nothing


def test_the_desk_page_to_review_count_follows_the_review_status(client: FlaskClient, db: Session,
                                                                 small_demo: str) -> None:
    sent = client.post("/kiosk/32002-MC/CHUNG-THUC", data=FORM)  # an unregistered browser: flagged
    assert sent.status_code == 303
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})

    def to_review() -> str:
        html = client.get("/staff/desks/").get_data(as_text=True)
        row = re.search(r'<tr>\s*<th scope="row"><a href="/staff/desks/32002-MC">.*?</tr>', html, flags=re.S) or \
            re.search(r'32002-MC.*?</tr>', html, flags=re.S)
        assert row, html
        return re.findall(r'<td class="num">(\d+)</td>', row.group(0))[-1]

    flagged = db.scalars(select(Response).where(Response.flag.is_not(None), Response.review_status
                                                == ReviewStatus.RECEIVED)).all()
    assert flagged
    before = int(to_review())
    assert before >= 1
    for response in flagged:
        response.review_status = ReviewStatus.APPROVED
    db.commit()
    assert to_review() == "0"


def test_the_goals_page_is_in_the_menu(client: FlaskClient, small_demo: str) -> None:
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    menu = re.search(r'<nav aria-label="[^"]*">(.*?)</nav>', client.get("/staff/").get_data(as_text=True), flags=re.S)
    assert menu and 'href="/staff/targets/"' in menu.group(1) and 'href="/staff/cases/"' in menu.group(1)
    assert 'href="/staff/monitoring/"' in menu.group(1)


def test_the_ranking_defaults_to_the_last_complete_quarter_written_in_vietnamese(client: FlaskClient,
                                                                                small_demo: str) -> None:
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    html = client.get("/staff/ranking?questionnaire=sipas-kiosk&level=commune").get_data(as_text=True)
    last = previous_quarter(quarter(utcnow()))
    roman = {"1": "I", "2": "II", "3": "III", "4": "IV"}[last[-1]]
    caption = re.search(r"<caption>([^<]*)", html)
    assert caption and f"Quý {roman}/{last[:4]}" in caption.group(1)
    selected = re.search(r'<option value="([^"]+)" selected>([^<]*)</option>', html.split('id="period"')[1])
    assert selected and selected.group(1) == last and selected.group(2) == f"Quý {roman}/{last[:4]}"


def test_the_results_default_to_the_last_complete_quarter_and_show_the_choice(client: FlaskClient,
                                                                             small_demo: str) -> None:
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    base = "/staff/results?unit=96&questionnaire=sipas-kiosk"
    last = previous_quarter(quarter(utcnow()))
    roman = {"1": "I", "2": "II", "3": "III", "4": "IV"}[last[-1]]

    def shown(url: str) -> tuple[int, str, str]:
        html = client.get(url).get_data(as_text=True)
        n = int(re.sub(r"\D", "", re.search(r'id="n-responses">([^<]*)', html).group(1)))  # type: ignore[union-attr]
        picker = html.split('id="period"')[1].split("</select>")[0]
        selected = re.findall(r'<option value="([^"]*)" selected>([^<]*)</option>', picker)
        assert len(selected) == 1
        csv_link = re.search(r'href="(/staff/results\.csv[^"]*)"', html)
        return n, selected[0][0] + "|" + selected[0][1], csv_link.group(1) if csv_link else ""

    n_default, choice, csv_link = shown(base)
    heading = re.search(r"<h1>([^<]*)</h1>", client.get(base).get_data(as_text=True))
    assert heading and heading.group(1).endswith(f"Quý {roman}/{last[:4]}") and last not in heading.group(1)
    assert choice == f"{last}|Quý {roman}/{last[:4]}"  # the quarter shown is the one selected, in Vietnamese
    assert f"period={last}" in csv_link  # the files are of the quarter shown
    n_last, _choice, _link = shown(f"{base}&period={last}")
    n_all, all_choice, all_link = shown(f"{base}&period=")
    assert n_default == n_last and 0 < n_last < n_all  # the demo has several quarters
    assert all_choice == "|Tất cả các quý" and "period=&" in all_link + "&"  # "all quarters" stays chosen


def test_questionnaire_ids_are_never_raw_on_the_desk_page(client: FlaskClient, small_demo: str) -> None:
    client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"})
    html = client.get("/staff/desks/32002-MC").get_data(as_text=True)
    assert "Đánh giá mức độ hài lòng tại Bộ phận Một cửa" in html
    assert re.search(r">[^<]*\bsipas-kiosk\b[^<]*<", html) is None
