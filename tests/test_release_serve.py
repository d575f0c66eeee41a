"""``hailong serve`` runs the background-job worker beside gunicorn (so ``manage.py start``
needs nothing else), and stops it when the server stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from survey.store.models import Release, ReleaseStatus
from tests.browser import free_port
from tests.release_actions import release_app, small_province
from tests.test_release_queue import JOB_TIMEOUT, _enqueue


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path, QUEUE_IMMEDIATE=False,
                           QUEUE_URL=f"sqlite:///{tmp_path / 'huey.sqlite'}")


def _children(pid: int) -> list[tuple[int, str]]:
    """The processes whose parent is ``pid``, with their command lines (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append((int(entry.name), command))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def test_serve_starts_the_worker_that_builds_releases_and_stops_it(app: Flask, database_url: str,
                                                                   tmp_path: Path) -> None:
    small_province(app.extensions["hailong.engine"])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env.update(HAILONG_DATABASE_URL=database_url, HAILONG_QUEUE_URL=app.config["QUEUE_URL"], HAILONG_ENV="demo",
               HAILONG_INSTANCE_PATH=str(tmp_path / "instance"))
    server = subprocess.Popen([sys.executable, "-m", "survey.commands", "serve", "--port", str(port), "--workers",
                               "1", "--threads", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _attempt in range(600):  # up once /healthz answers (bounded: 600 tries, 0.1 s apart)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                assert server.poll() is None, "hailong serve exited at start"
                time.sleep(0.1)
        else:
            pytest.fail("hailong serve did not start")
        workers = [pid for pid, command in _children(server.pid) if "survey.commands worker" in command]
        assert len(workers) == 1, _children(server.pid)

        release_id, job = _enqueue(app, "2026")
        assert app.extensions["hailong.queue"].result(job, blocking=True, timeout=JOB_TIMEOUT) == "ready"
        with Session(app.extensions["hailong.engine"]) as session:
            built = session.get(Release, release_id)
            assert built is not None and built.status == ReleaseStatus.READY
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(60)
    assert not _alive(workers[0])  # the worker went with the server
