"""Issue 11 point 6, the remaining actions: every use of an API token that changes data (issued,
bound, used to submit, revoked) and every ``hailong`` command that changes data (create-user,
unlock-user, imports, setup, release create, publish and withdraw) writes an audit line — who, what, when, from where —
and never the token itself; ``hailong create-user --role`` offers every role. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from survey.store.models import AuditEvent, Credential, Role, User
from tests.channels.conftest import device_token, submission

STRONG = "ba con mèo trèo cây cau"


def _events(db: Any, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _no_token_anywhere(db: Any, token: str) -> None:
    for row in db.scalars(select(AuditEvent)):
        assert token not in " ".join(str(v) for v in (row.username, row.target, row.details, row.address))


def test_api_tokens_issued_bound_used_and_revoked_are_audited(app, client, db, demo) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v1/auth/token", json={"username": "dieutravien", "password": "hailong-demo"})
    token = resp.get_json()["token"]
    cred = db.scalar(select(Credential).where(Credential.user_id.is_not(None)).order_by(Credential.id.desc()))
    issued = _events(db, "api.token")
    assert [(e.username, e.target, e.details) for e in issued] == [
        ("dieutravien", f"credential:{cred.id}", {"kind": "enumerator", "event": "issued"})]
    headers = {"Authorization": f"Bearer {token}"}
    assignment = client.get("/api/v1/assignments", headers=headers).get_json()["assignments"][0]["id"]
    good = submission(assignment=assignment, service=None)
    assert client.post("/api/v1/submissions", json=good, headers=headers).status_code == 201
    batch = [good, submission(assignment=assignment, service=None, answers={"access_facilities": 9})]
    assert client.post("/api/v1/submissions/batch", json={"submissions": batch}, headers=headers).status_code == 200
    used = _events(db, "api.submission")
    assert [e.details for e in used] == [
        {"kind": "enumerator", "items": 1, "stored": 1, "duplicates": 0, "refused": 0},
        {"kind": "enumerator", "items": 2, "stored": 0, "duplicates": 1, "refused": 1}]
    assert {e.username for e in used} == {"dieutravien"} and all(e.at is not None for e in used)

    device = device_token(app, "32002-MC")
    kiosk = app.test_client()
    assert kiosk.post("/kiosk/32002-MC/bind", headers={"X-Device-Token": device}).status_code == 200
    bound = _events(db, "api.token")[-1]
    assert bound.username == "device:32002-MC" and bound.details == {"kind": "device", "event": "bound"}
    assert bound.unit_id is not None

    from tests.test_hardening_access import PASSWORD  # the demo's staff password
    staff = app.test_client()
    assert staff.post("/auth/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    device_cred = db.scalar(select(Credential).where(Credential.desk_id.is_not(None)).order_by(Credential.id.desc()))
    assert staff.post("/admin/desks/32002-MC/devices", data={"revoke": str(device_cred.id)}).status_code == 303
    revoked = _events(db, "api.token")[-1]
    assert revoked.username == "admin" and revoked.details == {"kind": "device", "event": "revoked"}
    assert revoked.target == f"credential:{device_cred.id}"
    _no_token_anywhere(db, token)
    _no_token_anywhere(db, device)


@pytest.fixture
def cli(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HAILONG_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("HAILONG_SECRET_KEY", "t" * 64)
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path))
    return CliRunner()


def test_create_user_offers_every_role_and_is_audited(cli, db) -> None:  # type: ignore[no-untyped-def]
    from survey.commands import main

    shown = cli.invoke(main, ["create-user", "--help"]).output
    for role in Role:
        assert role.value in shown
    for role in (Role.SUPERVISOR, Role.ANALYST, Role.PUBLISHER, Role.ENUMERATOR):
        done = cli.invoke(main, ["create-user", f"moi-{role.value}", "--role", role.value, "--password", STRONG])
        assert done.exit_code == 0, done.output
        user = db.scalar(select(User).where(User.username == f"moi-{role.value}"))
        assert user is not None and user.role == role
    assert cli.invoke(main, ["create-user", "x", "--role", "boss", "--password", STRONG]).exit_code == 2
    again = cli.invoke(main, ["create-user", "moi-supervisor", "--password", STRONG])
    assert again.exit_code == 1 and "already exists" in again.output
    rows = [e for e in _events(db, "permission.change") if (e.details or {}).get("command") == "create-user"]
    assert [e.details["role"] for e in rows] == ["supervisor", "analyst", "publisher", "enumerator"]
    assert all(e.username.startswith("cli:") and e.address == "cli" and e.user_id is None for e in rows)
    assert rows[0].target == f"user:{db.scalar(select(User.id).where(User.username == 'moi-supervisor'))}"
    _no_token_anywhere(db, STRONG)  # nor the password
    assert cli.invoke(main, ["unlock-user", "moi-analyst"]).exit_code == 0
    assert (_events(db, "permission.change")[-1].details or {})["command"] == "unlock-user"


def test_imports_setup_and_release_commands_are_audited(cli, db, demo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from survey.commands import main
    from tests.test_opendata_admin_index import csv_file

    commune = "31825"
    (tmp_path / "f.csv").write_bytes(csv_file(f"{commune},,2026-Q3,1,2,,,,,,"))
    assert cli.invoke(main, ["admin-index", "import", str(tmp_path / "f.csv")]).exit_code == 0
    added = cli.invoke(main, ["setup", "add-village", commune, "Ấp Mới Lập"])
    assert added.exit_code == 0, added.output
    listed = cli.invoke(main, ["setup", "services"])  # only lists: no line
    assert listed.exit_code == 0
    refused = cli.invoke(main, ["setup", "add-village", "99999", "Ấp Không Có"])  # refused: nothing changed
    assert refused.exit_code != 0
    lines = _events(db, "cli.command")
    assert [(e.details or {}).get("command") for e in lines] == ["admin-index import", "setup add-village"]
    assert lines[0].details == {"command": "admin-index import", "figures": 1, "units": 1}
    assert all(e.address == "cli" and e.username.startswith("cli:") for e in lines)
