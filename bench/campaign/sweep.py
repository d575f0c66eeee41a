"""Two parts of the campaign over real HTTP, against the running ``hailong serve``:

- :func:`authorization_sweep` — every route of the URL map × anonymous / kiosk device /
  enumerator / staff / admin, judged by the expected table the test suite keeps
  (``tests/test_hardening_access.py``: a route of a new blueprint fails there until it is added);
  here through gunicorn with real cookies and CSRF tokens, as browsers would send them.
- :func:`schemathesis_run` — schemathesis against ``/api/openapi.json`` with valid credentials (a
  kiosk device token, then an enumerator's API token), check ``not_a_server_error``. Schemathesis is
  not a dependency of the project: its pytest plugin would load in every pytest run. Install it
  apart (``python -m venv /tmp/st && /tmp/st/bin/pip install 'schemathesis>=4,<5'``, or the
  ``campaign`` extra in a venv of its own) and give its ``st`` to the campaign (``--st /tmp/st/bin/st``;
  default: ``st`` on PATH). (Not an environment variable ``HAILONG_…``: the app refuses settings it
  does not know.)
"""

from __future__ import annotations

import collections
import http.client
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

PASSWORD = "hailong-demo"  # noqa: S105 - the demo's published password
TOKEN = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class Browser:
    """A cookie jar and the last CSRF token a page gave this session, over http.client."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port, self.cookies, self.csrf = port, {}, ""
        self.headers = headers or {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None, timeout: float = 60, *,
                body: bytes | None = None, content_type: str = "application/x-www-form-urlencoded",
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """``form`` (url-encoded) or a raw ``body`` of ``content_type``, with this session's cookies."""
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
        headers = {"Connection": "close", "Accept-Language": "vi", **self.headers, **(headers or {})}
        if body is not None:
            headers["Content-Type"] = content_type
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";")[0]
            found = TOKEN.search(raw)
            if found:
                self.csrf = (found.group(1) or found.group(2)).decode()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw
        finally:
            conn.close()

    def sign_in(self, username: str) -> None:
        self.request("GET", "/auth/login")
        status, headers, _ = self.request("POST", "/auth/login", {"username": username, "password": PASSWORD,
                                                                  "csrf_token": self.csrf})
        if status != 302:
            raise RuntimeError(f"could not sign in as {username}: {status}")
        self.request("GET", urllib.parse.urlsplit(headers["location"]).path or "/")  # a page of the session: a token


def _samples(url: str) -> dict[str, str]:
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from survey.collect.submissions import desk_services
    from survey.store.models import Desk

    engine = create_engine(url)
    with Session(engine) as session:
        desk = next(d for d in session.scalars(select(Desk).where(Desk.active.is_(True)).order_by(Desk.code))
                    if "CHUNG-THUC" in {s.code for s in desk_services(session, d)})
        out = {"desk_code": desk.code, "code": desk.code, "unit_code": desk.unit.code, "service_code": "CHUNG-THUC",
               "token": "x", "questionnaire_id": "sipas-kiosk", "fmt": "svg"}
    engine.dispose()
    return out


def authorization_sweep(port: int, url: str, device_token: str, desk_code: str, deadline: float) -> dict[str, Any]:
    """Every route × every audience against ``tests/test_hardening_access.EXPECTED``."""
    from survey import create_app
    from tests.test_hardening_access import EXPECTED, PUBLIC_API

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "campaign-url-map-only-" + "x" * 16})
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    app.extensions["hailong.engine"].dispose()
    samples = _samples(url)
    device = Browser(port, {"X-Device-Token": device_token})
    device.request("GET", "/auth/login")
    device.request("POST", f"/kiosk/{desk_code}/bind", {"csrf_token": device.csrf})
    device.request("GET", "/auth/login")
    audiences = {"anonymous": Browser(port), "device": device}
    audiences["anonymous"].request("GET", "/auth/login")
    for who, username in (("enumerator", "dieutravien"), ("staff", "canbo"), ("admin", "admin")):
        audiences[who] = Browser(port)
        audiences[who].sign_in(username)
    statuses: collections.Counter[str] = collections.Counter()
    problems: list[str] = []
    requests = 0
    for rule in rules:
        if time.monotonic() > deadline:
            problems.append("time budget spent before the sweep ended")
            break
        blueprint = rule.endpoint.split(".")[0]
        kind = "public" if rule.endpoint in PUBLIC_API else EXPECTED.get(blueprint)
        if kind is None:
            problems.append(f"{rule.endpoint} {rule.rule}: blueprint {blueprint!r} is not in the expected table")
            continue
        path = rule.rule
        for name in rule.arguments:
            value = "1" if f"int:{name}>" in path else samples.get(name, "x")
            path = re.sub(r"<(?:[a-z]+:)?" + name + r">", value, path)
        for who, browser in audiences.items():
            if rule.endpoint == "auth.logout":
                continue  # would end the audience's session
            if "GET" in (rule.methods or ()):
                status, headers, _ = browser.request("GET", path)
            else:
                status, headers, _ = browser.request("POST", path, {"csrf_token": browser.csrf})
            requests += 1
            statuses[str(status)] += 1
            to_login = status in (301, 302, 303) and "/auth/login" in headers.get("location", "")
            where = f"{rule.endpoint} {rule.rule} as {who}: {status}"
            if status >= 500:
                problems.append(where + " (server error)")
            elif kind == "public":
                if to_login or status == 401:
                    problems.append(where + " (should be open)")
            elif kind == "token":
                if status != 401:
                    problems.append(where + " (should ask for a token)")
            elif who in ("anonymous", "device"):
                if not to_login:
                    problems.append(where + " (should ask to sign in)")
            elif kind == "enumerator":
                if (status == 403) != (who == "staff"):
                    problems.append(where + (" (only enumerators and admins may)" if who == "staff" else " (allowed here)"))
            elif who == "enumerator":
                if status != 403:
                    problems.append(where + " (enumerators may not)")
            elif kind == "admin" and who == "staff":
                if status != 403:
                    problems.append(where + " (only admins may)")
            elif kind in ("staff", "admin") and (status in (401, 403) or to_login):
                problems.append(where + " (allowed here)")
    return {"routes": len(rules), "requests": requests, "statuses": statuses, "problems": problems}


def _st(named: str | None) -> str | None:
    if named:
        return named if Path(named).exists() else None
    return shutil.which("st")


def api_token(port: int, username: str = "dieutravien") -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/api/v1/auth/token", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = json.loads(resp.read())
    finally:
        conn.close()
    return str(data["token"])


def schemathesis_run(port: int, credentials: dict[str, str], examples: int, deadline: float,
                     st_path: str | None = None) -> dict[str, Any]:
    """``st run`` once per credential; its summary lines and whether it found a server error."""
    st = _st(st_path)
    if st is None:
        return {"skipped": "schemathesis not found (give --st PATH; see bench/campaign/sweep.py)"}
    runs: dict[str, Any] = {}
    for left, (who, token) in zip(range(len(credentials), 0, -1), credentials.items(), strict=True):
        budget = (deadline - time.monotonic()) / left  # an equal share of what is left for each credential
        if budget < 15:
            runs[who] = {"skipped": "time budget spent"}
            continue
        command = [st, "run", f"http://127.0.0.1:{port}/api/openapi.json", "--checks", "not_a_server_error",
                   "--max-examples", str(examples), "--header", f"Authorization: Bearer {token}",
                   "--header", "Accept-Language: vi", "--request-timeout", "30", "--workers", "1",
                   "--max-time", str(int(budget - 10)), "--seed", "12", "--no-color"]
        try:
            with tempfile.TemporaryDirectory() as scratch:  # schemathesis writes a .schemathesis/ folder in its cwd
                done = subprocess.run(command, capture_output=True, text=True, timeout=budget,  # noqa: S603
                                      check=False, cwd=scratch)
            output = done.stdout + done.stderr
            code = done.returncode
        except subprocess.TimeoutExpired as exc:
            output, code = str(exc.stdout or ""), -1
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        summary = [ln for ln in lines if re.search(r"(passed|failed|error|skipped|test cases|operations|"
                                                   r"Server error|not_a_server_error)", ln, re.I)]
        server_errors = len(re.findall(r"Server error", output))
        runs[who] = {"exit": code, "summary": summary[-8:], "server_errors": server_errors,
                     "ok": code == 0 and server_errors == 0, "tail": lines[-30:] if code != 0 else []}
    return runs
