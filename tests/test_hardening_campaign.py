"""Issue 12 point 25: the fast part of the campaign in the suite — a real ``hailong serve`` on
127.0.0.1 behind a connection-dropping proxy, a worker killed, every batch replayed until each
item has a fate, then the authorization sweep over HTTP and form fuzzing of every HTML form and
the API: nothing lost, nothing stored twice, no 5xx, nobody let in where the table says no; and the
same replays on a PostgreSQL cluster of the campaign's own, restarted (a crash) while ratings arrive.
The long run is ``bench/campaign/run.py`` (README, "Benchmarks"); schemathesis runs there only."""

from __future__ import annotations

import os
import re
import subprocess

import pytest


def _private_cluster_or_skip() -> None:
    from bench.campaign.cluster import available

    reason = available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"no private PostgreSQL cluster under CI: {reason}")
        pytest.skip(f"no private PostgreSQL cluster: {reason}")


def _shared_postmaster() -> str | None:
    """The PID of the shared server's postmaster on 5432 (None if there is none)."""
    found = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=False).stdout
    line = next((ln for ln in found.splitlines() if "postgres -D" in ln and "hailong-campaign-pg-" not in ln), None)
    return line.split()[0] if line else None


def test_the_campaign_loses_nothing_duplicates_nothing_and_never_answers_5xx(capsys) -> None:  # type: ignore[no-untyped-def]
    from bench.campaign.run import main

    assert main(["--submissions", "100", "--drop", "0.3", "--kills", "1", "--fuzz", "6", "--schemathesis", "0",
                 "--seconds", "200"]) == 0
    out = capsys.readouterr().out
    assert "stored 100 (device total 100), expected 100" in out and "server errors 0" in out
    sweep = re.search(r"authorization sweep: (\d+) routes, (\d+) requests.*problems (\d+)", out)
    assert sweep is not None, out
    assert int(sweep.group(1)) > 100 and int(sweep.group(2)) >= 4 * int(sweep.group(1)) and sweep.group(3) == "0"
    assert "schemathesis: skipped" in out and "result: OK" in out


def test_a_private_cluster_is_restarted_and_a_crash_loses_no_committed_row() -> None:
    _private_cluster_or_skip()
    import psycopg

    from bench.campaign.cluster import PrivateCluster
    from bench.campaign.run import free_port

    shared = _shared_postmaster()
    port = free_port()
    with PrivateCluster(port) as cluster:
        assert cluster.port != 5432
        url = cluster.database("hailong_restart").replace("+psycopg", "")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (n int)")
            conn.execute("INSERT INTO t SELECT generate_series(1, 1000)")
        assert cluster.restart("immediate") > 0  # a crash: WAL recovery at start
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*), sum(n) FROM t").fetchone() == (1000, 500500)
        assert cluster.restarts == 1
        root = cluster.root
    assert not root.exists()  # deleted at the end
    assert _shared_postmaster() == shared  # the shared server was never touched


def test_replays_across_postgresql_restarts_store_each_rating_once(capsys) -> None:  # type: ignore[no-untyped-def]
    _private_cluster_or_skip()
    from bench.campaign.run import main

    assert main(["--database", "postgresql", "--submissions", "120", "--drop", "0.2", "--kills", "0",
                 "--pg-restarts", "2", "--fuzz", "0", "--schemathesis", "0", "--no-sweep", "--seconds", "200"]) == 0
    out = capsys.readouterr().out
    assert "stored 120 (device total 120), expected 120" in out
    assert re.search(r"database restarts: fast \([\d.]+ s down\), immediate \([\d.]+ s down\)", out), out


def test_a_goal_with_a_400_digit_year_is_refused_in_vietnamese_not_a_500(app, client) -> None:  # type: ignore[no-untyped-def]
    """Found by the campaign's form fuzzing once it posted with the signed-in session's own CSRF
    token: wtforms' NumberRange turns the year into a float, which 400 digits overflow."""
    from datetime import UTC, datetime

    from tests.hand_province import add_ratings, hand_province

    hand_province(app.extensions["hailong.engine"])
    add_ratings(app.extensions["hailong.engine"], "96101", datetime(2026, 4, 13, 2, tzinfo=UTC), [5])  # in use
    assert client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"}).status_code == 302

    def goal(year: str, base_year: str) -> tuple[int, str]:
        resp = client.post("/staff/targets/", data={"unit": "96", "score": "sipas-kiosk:overall", "year": year,
                                                    "kind": "increase_pct", "value": "10", "base_year": base_year})
        return resp.status_code, resp.get_data(as_text=True)

    status, page = goal("2027", "9" * 400)
    assert status == 422 and "Năm gốc phải từ 1990 đến 2100" in page, page[:300]
    status, page = goal("-" + "9" * 400, "2025")
    assert status == 422 and "Năm mục tiêu phải từ 2000 đến 2100" in page
    assert goal("2027", "2025")[0] in (302, 303)  # the same form with sound years is stored


def test_a_database_lost_while_a_batch_is_stored_answers_503_not_invalid_items(app, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Found by the campaign on its private PostgreSQL cluster: a crash restart while a batch was
    being stored turned its 20 sound ratings into "invalid" (422 each) — OperationalError is a
    StatementError, caught as an item the database cannot take — so a kiosk would have dropped
    them for good. A lost connection is transient: the whole batch answers 503 with Retry-After and
    nothing is refused; sent again once the database is back, every item is stored."""
    import uuid

    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError

    import survey.collect.api as api
    from survey.store.models import Desk, Response
    from tests.channels.conftest import device_token
    from tests.hand_province import hand_province

    engine = app.extensions["hailong.engine"]
    hand_province(engine)
    from sqlalchemy.orm import Session

    from survey.store.models import Service, Unit

    with Session(engine) as session:
        unit = session.scalars(select(Unit).where(Unit.code == "96101")).one()
        session.add(Desk(code="96101-MC", name="Bộ phận Một cửa", unit_id=unit.id, questionnaire_id="sipas-kiosk",
                         active=True))
        session.commit()
        assert session.scalars(select(Service).where(Service.code == "CHUNG-THUC")).one() in unit.services
    token = device_token(app, "96101-MC")
    answers = {"access_facilities": 5, "procedure_as_regulated": 4, "servant_conduct": 5, "result_on_time": 3,
               "feedback_channel": 4}
    batch = {"submissions": [{"id": str(uuid.uuid4()), "service": "CHUNG-THUC", "answers": answers}
                             for _ in range(3)]}
    headers = {"Authorization": f"Bearer {token}"}
    real = api.store_all

    def lost(*_a, **_k):  # type: ignore[no-untyped-def]
        raise OperationalError("INSERT INTO response ...", {}, ConnectionResetError("server closed the connection"))

    monkeypatch.setattr(api, "store_all", lost)
    down = client.post("/api/v1/submissions/batch", json=batch, headers=headers)
    assert down.status_code == 503 and int(down.headers["Retry-After"]) > 0, down.get_data(as_text=True)[:300]
    monkeypatch.setattr(api, "store_all", real)
    again = client.post("/api/v1/submissions/batch", json=batch, headers=headers)
    assert again.status_code == 200
    assert [r["status"] for r in again.get_json()["results"]] == ["created"] * 3
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 3
