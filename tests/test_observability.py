"""Operations (issue 15 point 6): Prometheus metrics, the request id, JSON logs — in the app and
under ``hailong serve`` with two gunicorn workers sharing one metrics folder."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.browser import HAILONG, free_port
from tests.test_foundation_app import ALL_FIVE


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text ``text`` (0 when it is not there)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, value = line.rsplit(" ", 1)
        if head.split("{")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


def metrics(client: FlaskClient) -> str:
    resp = client.get("/metrics")
    assert resp.status_code == 200, resp.status_code
    assert resp.headers["Content-Type"].startswith("text/plain")
    return resp.get_data(as_text=True)


def test_requests_are_timed_by_route_never_by_the_path_typed(client: FlaskClient) -> None:
    before = metrics(client)
    code = "HS-" + uuid.uuid4().hex[:8]  # a dossier-code-like path segment must not become a label
    client.get("/healthz")
    client.get("/healthz")
    client.get(f"/kiosk/no-such-desk-{code}")
    after = metrics(client)
    count = "hailong_http_request_duration_seconds_count"
    assert sample(after, count, route="/healthz", status="200") - sample(before, count, route="/healthz", status="200") == 2
    assert code not in after
    assert 'route="/kiosk/<desk_code>"' in after or "(no route)" in after or "/kiosk/<" in after


def test_metrics_are_for_loopback_or_the_bearer_token_only(app: Flask) -> None:
    client = app.test_client()
    far = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_overrides=far).status_code == 404
    app.config["METRICS_TOKEN"] = "t" * 32
    protected = Flask.test_client(_app_with_token(app))
    assert protected.get("/metrics", environ_overrides=far).status_code == 404
    assert protected.get("/metrics").status_code == 404  # with a token set, loopback needs it too
    ok = protected.get("/metrics", environ_overrides=far, headers={"Authorization": "Bearer " + "t" * 32})
    assert ok.status_code == 200 and b"hailong_http_request_duration_seconds" in ok.data


def _app_with_token(app: Flask) -> Flask:
    from survey import create_app

    return create_app({**app.config, "METRICS_TOKEN": "t" * 32})


def test_submissions_are_counted_by_channel_and_fate(client: FlaskClient, demo: str, kiosk) -> None:  # type: ignore[no-untyped-def]
    before = metrics(client)
    assert kiosk.submit("32002-MC", "CHUNG-THUC", dict(ALL_FIVE)).status_code == 303
    after = metrics(client)
    name = "hailong_submissions_total"
    assert sample(after, name, channel="kiosk", fate="created") - sample(before, name, channel="kiosk", fate="created") == 1


def test_a_request_id_is_given_or_kept_and_sent_back(client: FlaskClient) -> None:
    given = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", given)
    assert client.get("/healthz").headers["X-Request-ID"] != given
    assert client.get("/healthz", headers={"X-Request-ID": "proxy-abc-123"}).headers["X-Request-ID"] == "proxy-abc-123"
    for bad in ("short", "x" * 65, "a b c d e f g h", "<script>alert(1)</script>"):
        sent_back = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert sent_back != bad and re.fullmatch(r"[0-9a-f]{16}", sent_back)


def test_json_logs_carry_the_request_id(app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    from survey import create_app

    json_app = create_app({**app.config, "LOG_FORMAT": "json"})

    @json_app.get("/_log-something")
    def _log_something() -> str:
        json_app.logger.warning("Đã nhận %d phiếu", 3)
        return "ok"

    resp = json_app.test_client().get("/_log-something", headers={"X-Request-ID": "req-0000-1111"})
    assert resp.status_code == 200
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    record = next(line for line in lines if line.get("message") == "Đã nhận 3 phiếu")
    assert record["request_id"] == "req-0000-1111" and record["level"] == "WARNING"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", record["time"])


def test_serve_with_two_workers_shows_one_sum_and_writes_json_access_lines(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    env = {**os.environ, "HAILONG_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "HAILONG_ENV": "demo",
           "HAILONG_INSTANCE_PATH": str(instance), "HAILONG_LOG_FORMAT": "json"}
    subprocess.run([HAILONG, "init-db"], env=env, check=True, capture_output=True)
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([HAILONG, "serve", "--port", str(port), "--workers", "2", "--threads", "1"],  # noqa: S603
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()  # noqa: S310 - loopback
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        pids = set()
        for _ in range(40):  # new connections: gunicorn hands them to both workers
            with urllib.request.urlopen(f"{base}/healthz?dossier=HS-SECRET-1", timeout=5) as r:  # noqa: S310
                pids.add(r.headers["X-Request-ID"])
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:  # noqa: S310
            text = r.read().decode()
        assert sample(text, "hailong_http_request_duration_seconds_count", route="/healthz", status="200") >= 41
        assert len(list((instance / "metrics").glob("*.db"))) >= 2  # both workers wrote their own file
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    access = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    lines = [a for a in access if a.get("logger") == "gunicorn.access" and a["path"] == "/healthz"]
    assert len(lines) >= 40
    assert all(re.fullmatch(r"[0-9a-f]{16}", a["request_id"]) for a in lines)
    assert "HS-SECRET-1" not in log.read_text()  # the access log's redaction still applies
    logging.getLogger(__name__).debug("%d access lines", len(lines))
