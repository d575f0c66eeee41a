"""Issue 12, security: server-side sessions, sign-in throttling, password and key policy,
security headers, Secure cookies and the SQLite file mode — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from survey import create_app
from survey.auth import password_problem
from survey.config import ConfigError
from survey.store.models import LoginSession, User, utcnow

PASSWORD = "hailong-demo"


def _session_cookie(client) -> str:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie("session")
    assert cookie is not None
    return str(cookie.value)


def _opens_staff(app, cookie: str) -> bool:  # type: ignore[no-untyped-def]
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/staff/").status_code == 200


def test_signing_out_ends_every_copy_of_the_session(app, client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    assert staff.login().status_code == 302
    copy = _session_cookie(client)
    assert _opens_staff(app, copy)
    client.post("/auth/logout")
    assert not _opens_staff(app, copy)  # a copy of the old cookie no longer opens /staff/


def test_a_deactivated_account_is_signed_out_at_once(app, client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    assert client.get("/staff/").status_code == 200
    db.execute(update(User).where(User.username == "canbo").values(active=False))
    db.commit()
    assert client.get("/staff/").status_code == 302


def test_the_session_id_changes_at_sign_in_and_idle_sessions_expire(app, client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    with client.session_transaction() as before:
        before["planted"] = "by someone else"  # e.g. a session fixed before sign-in
    staff.login()
    with client.session_transaction() as after:
        assert "planted" not in after and after["hl_sid"]
        first = after["hl_sid"]
    staff.login()
    with client.session_transaction() as again:
        assert again["hl_sid"] != first
    db.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(
        minutes=app.config["SESSION_IDLE_MINUTES"] + 1)))
    db.commit()
    assert client.get("/staff/").status_code == 302


def test_failed_sign_ins_slow_down_one_address_without_locking_out_the_real_user(app, demo) -> None:  # type: ignore[no-untyped-def]
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    statuses = [attacker.post("/auth/login", data={"username": "canbo", "password": f"guess{i}"}).status_code
                for i in range(4)]
    assert statuses == [400, 400, 400, 429]
    refused = attacker.post("/auth/login", data={"username": "canbo", "password": PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Vui lòng đợi" in refused.get_data(as_text=True)
    user = app.test_client()
    user.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert user.post("/auth/login", data={"username": "canbo", "password": PASSWORD}).status_code == 302


def test_an_account_under_attack_locks_only_for_addresses_it_never_used(app, db, demo, monkeypatch, tmp_path,  # type: ignore[no-untyped-def]
                                                                          database_url) -> None:
    app.config["LOGIN_LOCK_AFTER"] = 6
    usual = app.test_client()
    usual.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert usual.post("/auth/login", data={"username": "canbo", "password": PASSWORD}).status_code == 302
    usual.post("/auth/logout")
    for n in range(6):  # a botnet: two guesses from each of three addresses
        bot = app.test_client()
        bot.environ_base["REMOTE_ADDR"] = f"198.51.100.{n // 2 + 1}"
        bot.post("/auth/login", data={"username": "canbo", "password": f"guess{n}"})
    assert db.scalar(select(User.locked_until).where(User.username == "canbo")) is not None
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    locked = stranger.post("/auth/login", data={"username": "canbo", "password": PASSWORD})
    assert locked.status_code == 429 and "bị khóa" in locked.get_data(as_text=True)
    # The real user, from the computer they always use, is not locked out.
    assert usual.post("/auth/login", data={"username": "canbo", "password": PASSWORD}).status_code == 302
    # An admin lifts the lock with `hailong unlock-user`.
    db.execute(update(User).where(User.username == "canbo").values(locked_until=utcnow() + timedelta(hours=1)))
    db.commit()
    from survey.commands import main

    for key, value in {"DATABASE_URL": database_url, "SECRET_KEY": "k" * 40, "ENV": "demo"}.items():
        monkeypatch.setenv(f"HAILONG_{key}", value)
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["unlock-user", " CanBo "])
    assert result.exit_code == 0, result.output
    db.expire_all()
    assert db.scalar(select(User.locked_until).where(User.username == "canbo")) is None


def test_the_api_token_endpoint_normalises_usernames_and_refuses_empty_passwords(client, demo) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/auth/token", json={"username": "dieutravien", "password": ""}).status_code == 400
    variants = ["dieutravien", " dieutravien", "DieuTraVien  "]
    statuses = [client.post("/api/v1/auth/token", json={"username": u, "password": "wrong-password"}).status_code
                for u in variants]
    assert statuses == [401, 401, 401]
    limited = client.post("/api/v1/auth/token", json={"username": "dieu travien", "password": "wrong-password"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    other = client.application.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.20"
    assert other.post("/api/v1/auth/token", json={"username": " dieutravien ", "password": PASSWORD}).status_code == 201


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_password_policy(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        assert password_problem("") is not None
        assert password_problem("a") is not None
        assert password_problem("password1234") is not None  # long enough, but on every leaked list
        assert password_problem("canbo-canbo-2026", "canbo") is not None  # contains the username
        assert password_problem("ba con mèo trèo cây cau") is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_create_user_refuses_a_weak_password(database_url, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from survey.commands import main

    for key, value in {"DATABASE_URL": database_url, "SECRET_KEY": "k" * 40, "ENV": "demo"}.items():
        monkeypatch.setenv(f"HAILONG_{key}", value)
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path))
    weak = CliRunner().invoke(main, ["create-user", "nguoimoi", "--password", "123456"])
    assert weak.exit_code != 0 and "10" in weak.output
    strong = CliRunner().invoke(main, ["create-user", "nguoimoi", "--password", "ba con mèo trèo cây cau"])
    assert strong.exit_code == 0, strong.output


def test_production_refuses_a_short_secret_key_and_sends_secure_cookies(tmp_path: Path) -> None:
    base = {"DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite'}", "ENV": "production"}
    with pytest.raises(ConfigError, match="32 bytes"):
        create_app({**base, "SECRET_KEY": "x"})
    production = create_app({**base, "SECRET_KEY": "s" * 32})
    assert production.config["SESSION_COOKIE_SECURE"] is True
    demo = create_app({**base, "ENV": "demo", "SECRET_KEY": "s" * 32})
    assert demo.config["SESSION_COOKIE_SECURE"] is False


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    from survey.store.migrate import upgrade

    path = tmp_path / "fresh.sqlite"
    old = os.umask(0o022)
    try:
        upgrade(f"sqlite:///{path}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_security_headers_on_every_kind_of_page(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    for url in ("/", "/auth/login", "/staff/", "/api/openapi.json", "/healthz"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        script = next(d for d in csp.split("; ") if d.startswith("script-src"))
        assert script == "script-src 'self'", url  # no inline script allowed anywhere
        assert "frame-ancestors 'none'" in csp and headers["X-Frame-Options"] == "DENY", url
        assert headers["Referrer-Policy"] == "same-origin" and headers["X-Content-Type-Options"] == "nosniff", url
