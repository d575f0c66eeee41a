"""The task queue: every background job of the product, and the one way to enqueue one.

Jobs run on `Huey <https://huey.readthedocs.io>`_ — never in threads of the web process:

- by default on Huey's SQLite storage, a file ``huey.sqlite`` in the instance folder (the
  embedded default: nothing to install or run but the consumer);
- on Redis when ``QUEUE_URL`` is a ``redis://`` (or ``rediss://``, ``unix://``) URL;
- in the calling process, at once, when ``QUEUE_IMMEDIATE`` is true (Huey's immediate mode:
  tests and one-off scripts).

The consumer is ``hailong worker``; ``hailong serve`` (and so ``python3 manage.py start``)
starts one beside the web server. Every job is listed in :data:`TASKS`: a named function that
takes ids (never ORM objects) and is safe to run twice. Enqueue with
:func:`enqueue_after_commit`, so that a worker never looks for a row that is not committed yet.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

QUEUE_NAME = "hailong"
_worker_app: Flask | None = None


class QueueConfigError(ValueError):
    pass


def make_queue(config: dict[str, Any], instance_path: Path) -> Any:
    """The Huey instance the configuration asks for, with every task of :data:`TASKS` on it."""
    from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab

    url = str(config.get("QUEUE_URL") or "").strip()
    if config.get("QUEUE_IMMEDIATE"):
        huey = MemoryHuey(QUEUE_NAME, immediate=True)
    elif not url:
        instance_path.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(QUEUE_NAME, filename=str(instance_path / "huey.sqlite"))
    elif url.startswith("sqlite:///"):
        huey = SqliteHuey(QUEUE_NAME, filename=url.removeprefix("sqlite:///"))
    elif url.startswith(("redis://", "rediss://", "unix://")):
        huey = RedisHuey(QUEUE_NAME, url=url)
    else:
        raise QueueConfigError(f"HAILONG_QUEUE_URL must be empty (SQLite in the instance folder), sqlite:///FILE "
                               f"or redis://HOST:PORT/DB, got {url!r}")
    tasks = {name: huey.task(name=name, retries=0)(function) for name, function in TASKS.items()}
    huey.hailong_tasks = tasks
    huey.hailong_periodic = {name: huey.periodic_task(crontab(**when), name=f"{name}.periodic")(TASKS[name])
                             for name, when in PERIODIC.items()}
    return huey


def init_app(app: Flask) -> None:
    app.extensions["hailong.queue"] = make_queue(app.config, Path(app.instance_path))


def queue() -> Any:
    """The application's Huey instance."""
    return current_app.extensions["hailong.queue"]


@contextmanager
def _app() -> Iterator[Flask]:
    """The application a job runs in: the caller's (immediate mode) or the worker's own."""
    global _worker_app
    if has_app_context():
        yield current_app._get_current_object()  # type: ignore[attr-defined]
        return
    if _worker_app is None:
        from survey import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        yield _worker_app


# -- the jobs -----------------------------------------------------------------------------------

def build_release(release_id: int) -> str:
    """Compute and store every number of a draft release (idempotent: a release that is no
    longer a draft is left as it is). Returns the release's status."""
    from flask_babel import force_locale

    from survey.portal.releases import build

    with _app() as app, force_locale(app.config["DEFAULT_LANGUAGE"]):
        return build(app.extensions["hailong.sessionmaker"], release_id)


def render_release(release_id: int) -> int:
    """Render every page of a published release (and again those of the other versions of its
    series, whose state it changed) in every language into the pages the portal serves, so its
    first readers do not wait; safe to run twice (a page already rendered is kept). Returns the
    number of pages rendered (0 for a release that is not public)."""
    from survey.portal.pages import prerender

    with _app() as app:
        return prerender(app, release_id)


def render_after_commit(session: Session, release_id: int) -> None:
    """Enqueue :func:`render_release` once ``session`` commits, when ``PRERENDER_PAGES`` says
    so — by default whenever jobs run on a queue; not in immediate mode, where the publisher's
    request would wait for every page (there the first reader of a page renders it)."""
    config = current_app.config
    wanted = config.get("PRERENDER_PAGES")
    if wanted if wanted is not None else not config.get("QUEUE_IMMEDIATE"):
        enqueue_after_commit(session, "render_release", release_id=release_id)


#: Every background job, by the name it has on the queue.
TASKS: dict[str, Callable[..., Any]] = {"build_release": build_release, "render_release": render_release}


def case_reminders() -> list[str]:
    """Every day: mark the reminder of each open complaint or suggestion near its due date, and
    of each late one (:func:`survey.portal.cases_public.remind_due_cases`). Returns their codes."""
    from survey.portal.cases_public import remind_due_cases

    with _app() as app:
        return remind_due_cases(app)


TASKS["case_reminders"] = case_reminders


def export_microdata(export_id: int) -> str:
    """Write the file of a microdata export asked for on the staff page, in constant memory for
    CSV and XLSX (:func:`survey.reports.export_runner.run`); safe to run twice. Returns its status."""
    from survey.reports.export_runner import run

    with _app() as app:
        return run(app, export_id)


def remove_expired_exports() -> int:
    """Every hour: remove the export files kept past ``EXPORT_KEEP_HOURS``
    (:func:`survey.reports.export_runner.remove_expired`). Returns the number of files removed."""
    from survey.reports.export_runner import remove_expired

    with _app() as app:
        return remove_expired(app)


TASKS["export_microdata"] = export_microdata
TASKS["remove_expired_exports"] = remove_expired_exports


def rebuild_rollups() -> dict[str, int]:
    """Rebuild the rollups of sufficient statistics of every SIPAS questionnaire in use from the
    stored responses (:func:`survey.reports.rollups.rebuild`), e.g. after an auto-approval rule
    changed which responses count; safe to run twice. Returns the number of cells per questionnaire."""
    from survey.reports.rollups import rebuild
    from survey.store.db import session_scope

    with _app() as app, session_scope(app.extensions["hailong.engine"]) as session:
        return rebuild(session)


TASKS["rebuild_rollups"] = rebuild_rollups

#: Jobs the worker also runs on a schedule: a name in :data:`TASKS` → Huey ``crontab`` fields (UTC).
PERIODIC: dict[str, dict[str, str]] = {"case_reminders": {"minute": "0", "hour": "0"},  # 07:00 Vietnam time
                                       "remove_expired_exports": {"minute": "20"}}  # every hour


def enqueue_after_commit(session: Session, name: str, **ids: int) -> str:
    """Enqueue job ``name`` with ``ids`` once ``session``'s transaction commits (not at all if
    it rolls back). Returns the job's id, known at once (to store beside the row)."""
    huey = queue()
    task = huey.hailong_tasks[name].s(**ids)

    pending = [task]  # emptied by the commit that enqueues it, or by a rollback

    def _enqueue(_session: Session) -> None:
        if pending:
            huey.enqueue(pending.pop())

    event.listen(session, "after_commit", _enqueue)
    event.listen(session, "after_rollback", lambda _session: pending.clear())
    return str(task.id)


def run_worker(app: Flask, workers: int = 1) -> None:
    """Consume jobs until interrupted (``hailong worker``)."""
    global _worker_app
    from huey.consumer import Consumer

    huey = app.extensions["hailong.queue"]
    if huey.immediate:
        raise QueueConfigError("QUEUE_IMMEDIATE is on: jobs run in the calling process, there is nothing to consume")
    _worker_app = app
    # An idle worker looks at the queue at least once a second (Huey backs off to 10 s by default),
    # so a stop — Ctrl+C, or `hailong serve` ending — takes a second, not ten.
    Consumer(huey, workers=workers, worker_type="thread", periodic=True, check_worker_health=True,
             max_delay=1.0).run()


def start_worker_process(env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``hailong worker`` as a child process (``hailong serve`` does, beside gunicorn)."""
    return subprocess.Popen([sys.executable, "-m", "survey.commands", "worker"], env=env)  # noqa: S603


def stop_worker_process(process: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    """Stop a worker started by :func:`start_worker_process`: it finishes its job, then exits
    (Huey's graceful SIGINT); killed if it has not after ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
