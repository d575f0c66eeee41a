"""Issue 12 points 20 and 21: an access sweep over the whole URL map — every route × anonymous,
kiosk device, enumerator, staff and admin against the expected table below (a route of a new
blueprint fails until it is added). On SQLite and PostgreSQL. (CSRF on every form: test_hardening_csrf.py.)"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey.store.models import Desk
from tests.channels.conftest import device_token

PASSWORD = "hailong-demo"

# Who may open each blueprint's routes. "public": everyone (citizens, kiosks, the portal);
# "staff": staff and admins only; "admin": admins only (the set-up area); "signed-in roles":
# nobody anonymous, no kiosk, no enumerator (the release roles decide the rest); "token": the
# JSON API, by bearer token only.
EXPECTED: dict[str, str] = {
    "public": "public", "portal": "public", "opendata": "public", "health": "public", "metrics": "public", "kiosk": "public",
    "links": "public", "enumerator": "public", "auth": "public", "static": "public",
    "staff": "staff", "desks": "staff", "preview": "staff", "review": "staff", "targets": "staff",
    "admin_index": "staff", "cases": "staff", "monitoring": "staff", "quality": "staff", "cases_public": "public",
    "releases": "signed-in roles",
    "admin": "admin", "oversight": "admin",
    "papi34": "staff", "unit_search": "staff", "export_jobs": "staff",
    "boundaries": "signed-in roles", "covariates": "signed-in roles",  # (analysts upload)
    "returned": "enumerator",  # an enumerator's interviews sent back by review (issue 11): enumerators and admins
    "api": "token", "openrosa": "token",
}
PUBLIC_API = {"api.openapi", "api.token"}  # no token needed


def _signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def _audiences(app: Flask) -> dict[str, FlaskClient]:
    _samples(app)
    device = app.test_client()
    with app.app_context():
        from survey.store.db import get_session

        desk = get_session().scalars(select(Desk).order_by(Desk.code)).first()
        assert desk is not None
        code = desk.code
    token = device_token(app, code)
    assert device.post(f"/kiosk/{code}/bind", headers={"X-Device-Token": token}).status_code == 200
    return {"anonymous": app.test_client(), "device": device, "enumerator": _signed_in(app, "dieutravien"),
            "staff": _signed_in(app, "canbo"), "admin": _signed_in(app, "admin")}


SAMPLES: dict[str, str] = {}  # argument name -> a value that exists in the demo (filled by _samples)


def _samples(app: Flask) -> None:
    from survey.collect.links import make_receipt
    from survey.collect.submissions import desk_services
    from survey.store.db import get_session

    with app.test_request_context():
        db = get_session()
        desk = next(d for d in db.scalars(select(Desk).where(Desk.active.is_(True)).order_by(Desk.code))
                    if "CHUNG-THUC" in {s.code for s in desk_services(db, d)})
        SAMPLES.update(desk_code=desk.code, code=desk.code, unit_code=desk.unit.code, service_code="CHUNG-THUC",
                       token=make_receipt(desk.unit.code, "CHUNG-THUC", "000.00.12.H12-250101-0009"),
                       questionnaire_id="sipas-kiosk", fmt="svg")


def _url(rule: Any) -> str:
    path = rule.rule
    for name in rule.arguments:
        value = "1" if f"int:{name}>" in path else SAMPLES.get(name, "x")
        path = re.sub(r"<(?:[a-z]+:)?" + name + r">", value, path)
    return path


class _Answer:
    def __init__(self, resp: Any) -> None:
        self.status_code = int(resp.status_code)
        self.headers = dict(resp.headers)
        resp.close()  # file responses (service workers, downloads) hold a file open


def _call(client: FlaskClient, rule: Any) -> _Answer:
    url = _url(rule)
    if "GET" in rule.methods:
        return _Answer(client.get(url))
    return _Answer(client.post(url, data={}))


def _to_login(resp: Any) -> bool:
    return resp.status_code in (301, 302, 303) and "/auth/login" in resp.headers.get("Location", "")


def test_every_route_answers_each_audience_as_the_table_says(app, demo) -> None:  # type: ignore[no-untyped-def]
    audiences = _audiences(app)
    problems: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        blueprint = rule.endpoint.split(".")[0]
        kind = "public" if rule.endpoint in PUBLIC_API else EXPECTED.get(blueprint)
        if kind is None:
            problems.append(f"{rule.endpoint} {rule.rule}: blueprint {blueprint!r} is not in EXPECTED")
            continue
        for who, client in audiences.items():
            if rule.endpoint == "auth.logout":
                continue  # would end the audience's session for the routes after it
            resp = _call(client, rule)
            where = f"{rule.endpoint} {rule.rule} as {who}: {resp.status_code}"
            if resp.status_code >= 500:
                problems.append(where + " (server error)")
            elif kind == "public":
                if _to_login(resp) or resp.status_code == 401:
                    problems.append(where + " (should be open)")
            elif kind == "token":
                if resp.status_code != 401:
                    problems.append(where + " (should ask for a token)")
            elif who in ("anonymous", "device"):
                if not _to_login(resp):
                    problems.append(where + " (should ask to sign in)")
            elif kind == "enumerator":
                if (resp.status_code == 403) != (who == "staff"):
                    problems.append(where + (" (only enumerators and admins may)" if who == "staff" else " (allowed here)"))
            elif who == "enumerator":
                if resp.status_code != 403:
                    problems.append(where + " (enumerators may not)")
            elif kind == "admin" and who == "staff":
                if resp.status_code != 403:
                    problems.append(where + " (only admins may)")
            elif kind in ("staff", "admin") and (resp.status_code in (401, 403) or _to_login(resp)):
                problems.append(where + " (allowed here)")
    assert problems == []
