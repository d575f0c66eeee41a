"""Release builds on the real task queue: Huey with its SQLite storage (the embedded default) and
RedisHuey against a redis-server started here on a free port, each consumed by a real
``hailong worker`` process — the web process only enqueues, after its transaction commits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from survey.portal.jobs import (
    enqueue_after_commit,
    make_queue,
    start_worker_process,
    stop_worker_process,
)
from survey.portal.releases import Choice, error_message, prepare
from survey.store.models import Release, ReleaseStatus
from tests.release_actions import KIOSK, release_app, small_province

JOB_TIMEOUT = 180  # seconds a job may take on a busy machine before the test gives up


@pytest.fixture(params=["sqlite-storage", "redis"])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path / 'queue' / 'huey.sqlite'}"


@pytest.fixture
def app(database_url: str, tmp_path: Path, queue_url: str) -> Iterator[Flask]:
    (tmp_path / "queue").mkdir(exist_ok=True)
    yield from release_app(database_url, tmp_path, QUEUE_IMMEDIATE=False, QUEUE_URL=queue_url)


def _enqueue(app: Flask, period: str) -> tuple[int, str]:
    """Prepare a release as the staff page does and enqueue its build after the commit."""
    with app.app_context(), app.test_request_context():
        session = app.extensions["hailong.sessionmaker"]()
        release = prepare(session, Choice(period=period, scope="96", questionnaires=[KIOSK]), None)
        job = enqueue_after_commit(session, "build_release", release_id=release.id)
        release.job_id = job
        session.commit()
        session.close()
        return release.id, job


def test_the_worker_process_builds_what_the_web_process_enqueued(app: Flask, database_url: str, queue_url: str,
                                                                tmp_path: Path) -> None:
    engine = app.extensions["hailong.engine"]
    small_province(engine)
    queue = app.extensions["hailong.queue"]
    queue.flush()
    good, good_job = _enqueue(app, "2026")
    bad, bad_job = _enqueue(app, "2020-Q1")  # nothing to publish: the job fails with a message
    assert queue.pending_count() == 2
    with Session(engine) as session:  # nothing was built in the web process
        assert session.get(Release, good).status == ReleaseStatus.DRAFT  # type: ignore[union-attr]

    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env.update(HAILONG_DATABASE_URL=database_url, HAILONG_QUEUE_URL=queue_url, HAILONG_ENV="demo",
               HAILONG_INSTANCE_PATH=str(tmp_path / "instance"))
    worker = start_worker_process(env)
    try:
        assert queue.result(good_job, blocking=True, timeout=JOB_TIMEOUT) == "ready"
        assert queue.result(bad_job, blocking=True, timeout=JOB_TIMEOUT) == "failed"
    finally:
        stop_worker_process(worker)
    assert worker.returncode is not None
    with Session(engine) as session, app.test_request_context("/?lang=vi"):
        built = session.get(Release, good)
        failed = session.get(Release, bad)
        assert built is not None and failed is not None
        assert built.status == ReleaseStatus.READY and built.progress == 100 and built.built_at is not None
        assert failed.status == ReleaseStatus.FAILED
        assert "Không có ý kiến nào" in (error_message(failed) or "")
    assert queue.pending_count() == 0


def test_the_default_queue_is_a_sqlite_file_in_the_instance_folder(tmp_path: Path) -> None:
    from huey import RedisHuey, SqliteHuey

    queue = make_queue({"QUEUE_URL": "", "QUEUE_IMMEDIATE": False}, tmp_path)
    assert isinstance(queue, SqliteHuey) and Path(queue.storage.filename) == tmp_path / "huey.sqlite"
    assert "build_release" in queue.hailong_tasks
    assert isinstance(make_queue({"QUEUE_URL": "redis://127.0.0.1:1/0", "QUEUE_IMMEDIATE": False}, tmp_path),
                      RedisHuey)
    with pytest.raises(ValueError, match="HAILONG_QUEUE_URL"):
        make_queue({"QUEUE_URL": "amqp://elsewhere", "QUEUE_IMMEDIATE": False}, tmp_path)
