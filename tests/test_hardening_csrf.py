"""Issue 12 point 20: the suite runs with CSRF on, as production does (the test client sends the
token like a browser: ``BrowserClient`` in conftest.py) — and every HTML form found in the URL map
refuses a post without a token or with another session's token: 400, a Vietnamese message, the
answers kept (in the form itself for the citizen forms, in a "Send again" form otherwise), nothing
stored. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from survey.store.models import Base, Target
from tests.test_hardening_access import PASSWORD, _samples, _url

MARKER = "Ghi-chu-giu-lai-12"  # what the citizen or the staff member typed
ANSWERS = {"access_facilities": "5", "procedure_as_regulated": "4", "servant_conduct": "5", "result_on_time": "3",
           "feedback_channel": "4", "comment": MARKER, "note": MARKER, "unit": MARKER}
SAME_SITE = {"Origin": "http://localhost"}
NOT_SENT = "chưa gửi được an toàn"  # "could not be sent safely", in every refusal (generic, kiosk, public link)
# Forms that take no token on purpose, each with its reason (a new one fails the sweep until added here).
NO_TOKEN_BY_DESIGN = {
    "cases_public.lookup": "a citizen looks a case up by its secret code; nothing changes",
    "cases_public.rate": "the secret case code is the proof; a wrong code changes nothing",
}


def _rows(app: Flask) -> dict[str, int]:
    with app.extensions["hailong.engine"].connect() as conn:
        return {t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0) for t in Base.metadata.sorted_tables}


def _form_posts(app: Flask) -> list[Any]:
    """Every POST route that takes a browser's form (the JSON API and ODK's OpenRosa endpoints take
    credentials, not cookies; a kiosk binds with the token in a header)."""
    rules = [r for r in app.url_map.iter_rules() if "POST" in (r.methods or ())
             and r.endpoint.split(".")[0] not in ("api", "openrosa") and r.endpoint != "kiosk.bind"]
    return sorted(rules, key=lambda r: r.rule)


def _foreign_token(app: Flask) -> str:
    token = app.test_client().form("/auth/login")["csrf_token"]  # a real page of another browser's session
    assert len(token) > 20
    return token


def test_the_suite_checks_csrf_as_production_does(app) -> None:  # type: ignore[no-untyped-def]
    from survey import create_app

    production = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "p" * 32, "ENV": "production"})
    assert production.config.get("WTF_CSRF_ENABLED", True) is True
    assert app.config.get("WTF_CSRF_ENABLED", True) is True  # the tests' app: no switch left off
    client = app.test_client()
    assert client.post("/auth/login", data={"username": "x", "password": "y"}, csrf=False).status_code == 400


def test_without_a_token_or_with_another_sessions_token_every_form_is_refused_and_keeps_the_answers(
        app, demo) -> None:  # type: ignore[no-untyped-def]
    _samples(app)
    admin = app.test_client()
    assert admin.post("/auth/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    foreign = _foreign_token(app)
    rules = _form_posts(app)
    assert {"auth.login", "auth.logout", "kiosk.rate", "links.survey", "links.receipt_survey", "desks.desk",
            "review.decide", "targets.index", "admin.add_account", "releases.publish"} <= {r.endpoint for r in rules}
    before = _rows(app)
    problems: list[str] = []
    for rule in rules:
        for label, data in (("no token", dict(ANSWERS)), ("foreign token", {**ANSWERS, "csrf_token": foreign})):
            resp = admin.post(_url(rule), data=data, headers=SAME_SITE, csrf=False)
            page = resp.get_data(as_text=True)
            where = f"{rule.endpoint} ({label}): {resp.status_code}"
            if rule.endpoint in NO_TOKEN_BY_DESIGN:
                if resp.status_code >= 500 or resp.status_code < 400:
                    problems.append(where + " (a wrong code must be refused)")
            elif resp.status_code != 400:
                problems.append(where + " (not refused)")
            elif NOT_SENT not in page:
                problems.append(where + " (no Vietnamese explanation)")
            elif MARKER not in page:
                problems.append(where + " (the answers were lost)")
    assert problems == []
    assert _rows(app) == before  # nothing stored, nothing changed in number
    assert admin.get("/staff/").status_code == 200  # and the refused logout did not end the session


def test_a_refused_form_is_sent_again_from_the_kept_answers(app, demo, db) -> None:  # type: ignore[no-untyped-def]
    admin = app.test_client()
    assert admin.post("/auth/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    goal = {"unit": "96", "score": "sipas-kiosk:overall", "year": "2027", "kind": "score", "value": "80",
            "base_year": ""}
    refused = admin.post("/staff/targets/", data=goal, headers=SAME_SITE, csrf=False)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Gửi lại" in page and db.scalar(select(func.count()).select_from(Target)) == 0
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page, flags=re.S)
    assert form is not None and form.group(1) == "/staff/targets/"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)))
    assert {k: fields[k] for k in goal} == goal and fields["csrf_token"]  # all of it, with a fresh token
    sent = admin.post(form.group(1), data=fields, headers=SAME_SITE)
    assert sent.status_code in (302, 303), sent.get_data(as_text=True)[:500]
    assert db.scalar(select(func.count()).select_from(Target)) == 1


def test_a_post_from_another_site_gets_the_message_but_no_form_to_send_again(app, demo) -> None:  # type: ignore[no-untyped-def]
    admin = app.test_client()
    assert admin.post("/auth/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    for headers in ({"Origin": "https://elsewhere.example"}, {"Referer": "https://elsewhere.example/x"}, {}):
        resp = admin.post("/admin/accounts", data={"username": MARKER, "password": "x" * 20}, headers=headers,
                          csrf=False)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 400 and NOT_SENT in page
        assert MARKER not in page and "Gửi lại" not in page  # nothing prepared for one click
    same = admin.post("/admin/accounts", data={"username": MARKER, "password": "s3cret-pass-12"},
                      headers={"Referer": "http://localhost/admin/"}, csrf=False).get_data(as_text=True)
    assert MARKER in same and "s3cret-pass-12" not in same  # a password is never echoed back
    assert "Mật khẩu và tệp không được giữ lại" in same


def test_an_api_client_gets_the_refusal_as_json(app) -> None:  # type: ignore[no-untyped-def]
    resp = app.test_client().post("/auth/login", data={"username": "x"}, headers={"Accept": "application/json"},
                                  csrf=False)
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"]["code"] == "csrf" and NOT_SENT in body["error"]["message"]
