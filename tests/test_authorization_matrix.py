"""Issue 11 point 1: the authorization matrix — every route of the URL map × every role (anonymous,
kiosk device, enumerator, commune officer, supervisor, province officer, analyst, publisher,
admin), compared with the table below; and for every route that takes a unit (in the query
string or the path: a unit, a desk, a release), the commune officer at a unit inside and outside
the commune: outside is 404, never a page, a file or a 403 that confirms the unit exists.

Builds on the access sweep of issue 12 (``tests/test_hardening_access.py``: its URL samples and
calling conventions). A route missing from the table fails the test. SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey.auth import hash_password
from survey.store.models import Release, ReleaseStatus, Role, Unit, User
from tests.channels.conftest import device_token
from tests.test_hardening_access import PASSWORD, SAMPLES, _Answer, _call, _samples, _to_login, _url

IN_COMMUNE, OUT_COMMUNE = "31825", "32128"  # Phường Bạc Liêu (the officer's), Xã Cái Nước (another)
PROVINCE = "96"

ROLES = ("anonymous", "device", "enumerator", "officer", "supervisor", "province", "analyst", "publisher", "admin")
STAFF = frozenset({"officer", "supervisor", "province", "analyst", "publisher", "admin"})
READERS = frozenset({"officer", "province", "analyst", "publisher", "admin"})  # the releases' readers
REVIEWERS = frozenset({"officer", "supervisor", "province", "admin"})
ADMIN = frozenset({"admin"})
EVERYONE = frozenset(ROLES)
# The audiences of the issue-12 sweep (tests/test_hardening_access.py), which already requests every
# public and token route as each of them; here those routes are requested as the other roles.
SWEPT = frozenset({"anonymous", "device", "enumerator", "province", "admin"})

# Blueprints open to everyone (citizens, kiosks, the portal) or answering to a bearer token.
PUBLIC_BLUEPRINTS = {"public", "portal", "opendata", "health", "kiosk", "links", "enumerator", "auth", "static",
                     "cases_public"}
TOKEN_BLUEPRINTS = {"api", "openrosa"}
PUBLIC_ENDPOINTS = {"api.openapi", "api.token", "metrics"}

# Every other route, by endpoint: the roles that may use it.
ACCESS: dict[str, frozenset[str]] = {
    **dict.fromkeys(["staff.index", "staff.results", "staff.results_csv", "staff.results_xlsx", "staff.ranking",
                     "staff.ranking_csv", "staff.ranking_xlsx", "staff.papi", "staff.papi_csv", "staff.papi_xlsx",
                     "staff.export", "staff.export_file", "desks.index", "desks.desk", "preview.index",
                     "preview.show", "preview.xlsform", "targets.index", "targets.delete", "admin_index.index",
                     "admin_index.template", "papi34.index", "unit_search.search",
                     "review.queue", "cases.comments", "cases.days_off", "cases.detail", "cases.index",
                     "cases.make_case", "cases.step", "monitoring.index", "monitoring.set_target",
                     "quality.sensitivity", "quality.back_checks", "quality.back_check",
                     "export_jobs.index", "export_jobs.create", "export_jobs.detail", "export_jobs.progress",
                     "export_jobs.download"], STAFF),
    **dict.fromkeys(["boundaries.index", "covariates.index", "covariates.template"], frozenset({"analyst", "admin"})),
    "review.decide": REVIEWERS,
    **dict.fromkeys(["returned.returned", "returned.resubmit"], frozenset({"enumerator", "admin"})),
    **dict.fromkeys(["releases.index", "releases.detail", "releases.progress", "releases.preview",
                     "releases.preview_chart", "releases.preview_papi", "releases.preview_papi_chart",
                     "releases.preview_unit"], READERS),
    **dict.fromkeys(["releases.new", "releases.rebuild", "releases.discard"], frozenset({"analyst", "admin"})),
    **dict.fromkeys(["releases.publish", "releases.withdraw"], frozenset({"publisher", "admin"})),
    **dict.fromkeys(["admin.add_account", "admin.add_assignment", "admin.add_desk", "admin.add_village",
                     "admin.default_services", "admin.desk_devices", "admin.end_village", "admin.import_file",
                     "admin.index", "admin.save_service", "admin.save_team", "admin.template",
                     "oversight.account", "oversight.accounts", "oversight.audit_csv", "oversight.audit_log",
                     "oversight.review_rules"], ADMIN),
}

# Routes that take a unit: how to name the officer's unit and another one. ("query", name): a
# unit code in the query string; ("desk", arg): a desk code in the path; ("release", arg): a release id.
SCOPED: dict[str, tuple[str, str]] = {
    **dict.fromkeys(["staff.results", "staff.results_csv", "staff.results_xlsx", "staff.papi", "staff.papi_csv",
                     "staff.papi_xlsx", "staff.export_file"], ("query", "unit")),
    **dict.fromkeys(["staff.ranking", "staff.ranking_csv", "staff.ranking_xlsx"], ("query", "parent")),
    "monitoring.index": ("query", "unit"),
    "desks.desk": ("desk", "code"),
    **dict.fromkeys(["releases.detail", "releases.progress"], ("release", "release_id")),
}
QUERY = {"questionnaire": "sipas-kiosk"}


def _account(app: Flask, username: str, role: Role, view: str | None) -> None:
    from survey.store.db import get_session

    with app.app_context():
        db = get_session()
        unit = db.scalar(select(Unit).where(Unit.code == view)) if view else None
        db.add(User(username=username, password_hash=hash_password(PASSWORD), role=role,
                    view_unit_id=unit.id if unit else None))
        db.commit()


def _signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def _releases(app: Flask) -> dict[str, int]:
    """A draft release of the officer's commune and one of another commune."""
    from survey.store.db import get_session

    out = {}
    with app.app_context():
        db = get_session()
        for code in (IN_COMMUNE, OUT_COMMUNE):
            unit = db.scalar(select(Unit).where(Unit.code == code))
            assert unit is not None
            release = Release(series=f"{code}-2026-Q3", version=1, status=ReleaseStatus.DRAFT, period_code="2026-Q3",
                              period_kind="quarter", period_start=date(2026, 7, 1), period_end=date(2026, 9, 30),
                              scope_unit_id=unit.id, scope_code=code, questionnaires=["sipas-kiosk"],
                              methodology_version="1.0", confidence_level=0.95, min_publish_n=10,
                              min_effective_n=10.0)
            db.add(release)
            db.commit()
            out[code] = release.id
    return out


def _audiences(app: Flask) -> dict[str, FlaskClient]:
    _samples(app)
    _account(app, "canbo-xa", Role.STAFF, IN_COMMUNE)
    _account(app, "giamsat-xa", Role.SUPERVISOR, IN_COMMUNE)
    device = app.test_client()
    code = SAMPLES["desk_code"]
    assert device.post(f"/kiosk/{code}/bind", headers={"X-Device-Token": device_token(app, code)}).status_code == 200
    return {"anonymous": app.test_client(), "device": device, "enumerator": _signed_in(app, "dieutravien"),
            "officer": _signed_in(app, "canbo-xa"), "supervisor": _signed_in(app, "giamsat-xa"),
            "province": _signed_in(app, "canbo"), "analyst": _signed_in(app, "phantich"),
            "publisher": _signed_in(app, "congbo"), "admin": _signed_in(app, "admin")}


def _kind(endpoint: str) -> str | frozenset[str] | None:
    blueprint = endpoint.split(".")[0]
    if endpoint in PUBLIC_ENDPOINTS or blueprint in PUBLIC_BLUEPRINTS:
        return "public"
    if blueprint in TOKEN_BLUEPRINTS:
        return "token"
    return ACCESS.get(endpoint)


def _judge(kind: str | frozenset[str], who: str, resp: _Answer) -> str | None:
    """What is wrong with ``resp`` for ``who`` on a route of ``kind`` (None: as the table says)."""
    if resp.status_code >= 500:
        return "server error"
    if kind == "public":
        return "should be open" if _to_login(resp) or resp.status_code == 401 else None
    if kind == "token":
        return None if resp.status_code == 401 else "should ask for a token"
    assert isinstance(kind, frozenset)
    if who in kind:
        return "should be allowed" if resp.status_code in (401, 403) or _to_login(resp) else None
    if who in ("anonymous", "device"):
        return None if _to_login(resp) else "should ask to sign in"
    return None if resp.status_code == 403 else "should be refused (403)"


def _scoped_url(rule: Any, how: tuple[str, str], code: str, releases: dict[str, int]) -> str:
    place, name = how
    if place == "query":
        url = "/staff/export.csv" if rule.endpoint == "staff.export_file" else _url(rule)
        return f"{url}?{name}={code}&questionnaire={QUERY['questionnaire']}"
    if place == "desk":
        return rule.rule.replace(f"<{name}>", f"{code}-MC")
    return _url(rule).replace("/1", f"/{releases[code]}", 1)


def test_every_route_as_every_role_in_and_out_of_scope_follows_the_table(app, demo) -> None:  # type: ignore[no-untyped-def]
    audiences = _audiences(app)
    releases = _releases(app)
    problems: list[str] = []
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    seen = {rule.endpoint for rule in rules}
    for rule in rules:  # first the scope (before the sweep's POSTs discard the draft releases)
        how = SCOPED.get(rule.endpoint)
        if how is None or "GET" not in rule.methods:
            continue
        for who, code, expect_404 in (("officer", IN_COMMUNE, False), ("officer", OUT_COMMUNE, True),
                                      ("officer", PROVINCE, how[0] == "query"), ("province", OUT_COMMUNE, False)):
            if how[0] != "query" and code == PROVINCE:
                continue
            url = _scoped_url(rule, how, code, releases)
            resp = audiences[who].get(url)
            status = resp.status_code
            resp.close()
            if expect_404 and status != 404:
                problems.append(f"{url} as {who}: {status} (outside the scope: should be 404)")
            if not expect_404 and (status in (401, 403, 404) or status >= 500):
                problems.append(f"{url} as {who}: {status} (inside the scope: should answer)")
    for rule in rules:
        kind = _kind(rule.endpoint)
        if kind is None:
            problems.append(f"{rule.endpoint} {rule.rule}: not in the authorization table (ACCESS)")
            continue
        if rule.endpoint == "auth.logout":
            continue  # would end the audience's session for the routes after it
        for who, client in audiences.items():
            if isinstance(kind, str) and who in SWEPT:
                continue  # a public or token route as the sweep's audiences: test_hardening_access.py asks
            resp = _call(client, rule)
            wrong = _judge(kind, who, resp)
            if wrong:
                problems.append(f"{rule.endpoint} {rule.rule} as {who}: {resp.status_code} ({wrong})")
    missing = set(SCOPED) - seen
    assert not missing, missing
    assert problems == [], "\n".join(problems)


def test_a_commune_officer_sees_only_the_commune(app, demo) -> None:  # type: ignore[no-untyped-def]
    """Unit pickers, the default unit, the desks list and the data export stay inside the commune."""
    _account(app, "canbo-xa", Role.STAFF, IN_COMMUNE)
    officer = _signed_in(app, "canbo-xa")
    home = officer.get("/staff/").get_data(as_text=True)
    assert f'value="{IN_COMMUNE}"' in home and f'value="{OUT_COMMUNE}"' not in home
    assert f'value="{PROVINCE}"' not in home
    desks = officer.get("/staff/desks/").get_data(as_text=True)
    assert f"{IN_COMMUNE}-MC" in desks and f"{OUT_COMMUNE}-MC" not in desks
    export = officer.get("/staff/export.csv?questionnaire=sipas-kiosk&excel=0")  # default: the top of the scope
    assert export.status_code == 200
    lines = export.get_data(as_text=True).lstrip("\ufeff").splitlines()
    header = lines[0].split(",")
    codes = {line.split(",")[header.index("unit_code")] for line in lines[1:]}
    assert codes and codes <= {IN_COMMUNE} | {c for c in codes if c.startswith(IN_COMMUNE)}
    ranking = officer.get("/staff/ranking?questionnaire=sipas-kiosk&level=hamlet")
    assert ranking.status_code in (200, 400)  # ranked under the commune (its villages), never the province
    assert OUT_COMMUNE not in ranking.get_data(as_text=True)
    province = _signed_in(app, "canbo").get("/staff/").get_data(as_text=True)
    assert f'value="{OUT_COMMUNE}"' in province  # a province officer picks any unit


def test_decision_766_boundaries_and_papi_benchmark_stay_in_the_scope(app, demo) -> None:  # type: ignore[no-untyped-def]
    """The three pages the scope did not reach before: a commune officer uploads Decision 766 figures
    of the commune's units only and sees only their periods; the boundaries upload lists only the
    provinces in the account's scope (404 below a province); the PAPI benchmark opens on the
    scope's province and refuses another province (404) — a province officer picks any."""
    import io

    from survey.portal import admin_index
    from survey.store.db import get_session
    from survey.store.models import AdminIndexFigure
    from tests.test_opendata_admin_index import csv_file

    _account(app, "canbo-xa", Role.STAFF, IN_COMMUNE)
    _account(app, "phantich-xa", Role.ANALYST, IN_COMMUNE)
    _account(app, "phantich-tinh", Role.ANALYST, PROVINCE)
    officer = _signed_in(app, "canbo-xa")
    with app.test_request_context():  # a figure of another commune, imported by the province
        db = get_session()
        admin_index.import_file(db, "tinh.csv", csv_file(f"{OUT_COMMUNE},,2026-Q2,9,10,,,,,,"))
        db.commit()

    def figures() -> int:
        with app.app_context():
            return int(get_session().scalar(select(func.count()).select_from(AdminIndexFigure)) or 0)

    page = officer.get("/staff/admin-index/")
    assert page.status_code == 200 and "2026-Q2" not in page.get_data(as_text=True)  # the other commune's period
    before = figures()
    outside = officer.post("/staff/admin-index/", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(csv_file(f"{OUT_COMMUNE},,2026-Q3,1,2,,,,,,")), "x.csv")})
    assert outside.status_code == 422 and OUT_COMMUNE in outside.get_data(as_text=True)
    assert figures() == before  # nothing stored
    inside = officer.post("/staff/admin-index/", content_type="multipart/form-data",
                          data={"file": (io.BytesIO(csv_file(f"{IN_COMMUNE},,2026-Q3,1,2,,,,,,")), "x.csv")})
    assert inside.status_code == 303 and figures() == before + 1
    assert "2026-Q3" in officer.get("/staff/admin-index/").get_data(as_text=True)

    assert _signed_in(app, "phantich-xa").get("/staff/boundaries/").status_code == 404
    province_page = _signed_in(app, "phantich-tinh").get("/staff/boundaries/")
    assert province_page.status_code == 200 and f'value="{PROVINCE}"' in province_page.get_data(as_text=True)
    assert officer.get("/staff/boundaries/").status_code == 403  # an officer's role never uploads boundaries

    own = officer.get("/staff/papi-benchmark/")
    assert own.status_code == 200 and 'value="96" selected' in own.get_data(as_text=True)
    assert officer.get("/staff/papi-benchmark/?province=96").status_code == 200
    assert officer.get("/staff/papi-benchmark/?province=1").status_code == 404  # Hà Nội: outside the scope
    assert _signed_in(app, "canbo").get("/staff/papi-benchmark/?province=1").status_code == 200
