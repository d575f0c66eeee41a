"""Issue 12, left over at stop 16: the files the app writes in its instance folder with data or
secrets — the job queue's ``huey.sqlite`` (and its WAL/SHM files), the SQLite database, the demo's
secret key, the dossier keys — are readable by their owner only (0600), whatever the umask, and
files an older version left readable by others are put right at start."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from survey import create_app


@pytest.fixture
def loose_umask() -> Iterator[None]:
    before = os.umask(0o022)  # the usual default: new files readable by everyone
    yield
    os.umask(before)


def _modes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): stat.filemode(p.stat().st_mode) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_instance_folders_data_files_are_readable_by_their_owner_only(tmp_path, monkeypatch, loose_umask) -> None:  # type: ignore[no-untyped-def]
    instance = tmp_path / "instance"
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(instance))
    app = create_app({"TESTING": True, "ENV": "demo", "QUEUE_IMMEDIATE": False})  # SQLite database and queue here
    try:
        queue = app.extensions["hailong.queue"]
        queue.storage.enqueue(b"job", 0)  # Huey writes its file (and WAL) now
        assert queue.storage.queue_size() == 1
        with app.extensions["hailong.engine"].begin() as conn:
            conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
        modes = _modes(instance)
        assert {"huey.sqlite", "hailong.sqlite", "secret_key"} <= set(modes), modes
        assert {name: mode for name, mode in modes.items() if mode != "-rw-------"} == {}
    finally:
        app.extensions["hailong.engine"].dispose()


def test_files_left_readable_by_an_older_version_are_put_right(tmp_path, monkeypatch, loose_umask) -> None:  # type: ignore[no-untyped-def]
    instance = tmp_path / "instance"
    instance.mkdir()
    for name in ("huey.sqlite", "huey.sqlite-wal", "dossier_keys.json"):
        (instance / name).write_bytes(b"")
        (instance / name).chmod(0o644)
    queue_file = tmp_path / "elsewhere" / "queue.sqlite"
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(instance))
    create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "s" * 32, "QUEUE_IMMEDIATE": False})
    assert set(_modes(instance).values()) == {"-rw-------"}
    queue_file.parent.mkdir()
    create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "s" * 32, "QUEUE_IMMEDIATE": False,
                "QUEUE_URL": f"sqlite:///{queue_file}"})
    assert stat.filemode(queue_file.stat().st_mode) == "-rw-------"
