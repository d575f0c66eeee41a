"""The ``hailong`` command. Each subcommand's docstring is its help."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app

from questionnaires.questionnaires_command import questionnaires_group
from scoring.score_command import score_command
from survey import __version__, create_app
from survey.admin.covariates_commands import covariates_group
from survey.admin.setup_commands import setup_group, units_group
from survey.cli import in_app
from survey.portal.publish_commands import admin_index_group, portal_group
from survey.portal.release_commands import release_group, worker_command


class _OneLineErrors(click.Group):
    """No traceback for an unreachable database or an unreadable input file: one line, exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import InterfaceError, OperationalError

        try:
            return super().invoke(ctx)
        except (OperationalError, InterfaceError) as exc:
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[:1]
            click.echo("hailong: không kết nối được cơ sở dữ liệu / the database cannot be reached"
                       + (f" ({_redact(first[0])[:200]})" if first else ""), err=True)
            ctx.exit(2)
        except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
            where = getattr(exc, "filename", None)
            click.echo(f"hailong: không đọc được tệp / cannot read the file{f' {where}' if where else ''}: "
                       f"{getattr(exc, 'strerror', None) or exc.__class__.__name__}", err=True)
            ctx.exit(2)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="hailong", message="%(prog)s %(version)s")
def main() -> None:
    """Hài Lòng: citizen satisfaction surveys (SIPAS, PAPI) — collect, score, publish.

    Settings come from HAILONG_* environment variables and instance/hailong.cfg
    (see the README). Vietnamese is the default language.
    """


@main.command("init-db")
@in_app
def init_db() -> None:
    """Create the database, or upgrade it to the newest schema."""
    from survey.store.migrate import upgrade

    url = current_app.config["DATABASE_URL"]
    upgrade(url)
    _check_dossier_keys(current_app)
    click.echo(f"Database ready: {_redact(url)}")


def _check_dossier_keys(app: Any) -> None:
    """Stop with one line when the dossier keys configured are not the ones this database's
    dossier codes were hashed with (see :mod:`survey.store.dossier_keys`); records them on a new
    database."""
    from sqlalchemy import inspect

    from survey.store import dossier_keys
    from survey.store.db import session_scope

    engine = app.extensions["hailong.engine"]
    if not inspect(engine).has_table("dossier_key"):
        return  # not migrated yet: `hailong init-db` records them
    try:
        with app.app_context(), session_scope(engine) as session:
            dossier_keys.check(session, dossier_keys.keyring(app))
    except dossier_keys.KeyMismatch as exc:
        raise click.ClickException(str(exc)) from None


@main.command("demo")
@click.option("--responses", default=3000, show_default=True, help="Number of synthetic kiosk ratings.")
@click.option("--papi-per-village", default=16, show_default=True,
              help="Synthetic PAPI household interviews per village and year (2025, 2026); 0 for none.")
@click.option("--seed", default=2026, show_default=True, help="Random seed (the data are deterministic).")
@in_app
def demo(responses: int, papi_per_village: int, seed: int) -> None:
    """Load the demo province, desks, users, synthetic ratings and household interviews (idempotent)."""
    from survey.demo import load_demo
    from survey.store.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"])
    from survey.store import dossier_keys

    summary = load_demo(current_app.extensions["hailong.engine"], secret=dossier_keys.keyring(current_app).secret,
                        n_responses=responses, seed=seed, papi_per_village=papi_per_village)
    click.echo(summary)


def _role_names() -> list[str]:
    from survey.store.models import Role

    return [r.value for r in Role]


ROLE_NAMES = _role_names()


@main.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLE_NAMES), default="staff", show_default=True,
              help="staff: a commune/department (or province) officer; supervisor: reviews a team's interviews; "
                   "analyst: prepares releases; publisher: approves them; enumerator: interviews; admin: everything.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@in_app
def create_user(username: str, role: str, password: str) -> None:
    """Create an account with any role (the password needs at least 10 characters and must not
    be a common one). Its unit scope is the whole province until an admin sets one."""
    from sqlalchemy import select

    from survey.auth import hash_password, password_problem
    from survey.ratelimit import normalize_username
    from survey.store import audit
    from survey.store.db import session_scope
    from survey.store.models import Role, User

    username = normalize_username(username)
    with current_app.test_request_context():  # the message in the default language
        problem = password_problem(password, username)
    if problem:
        raise click.ClickException(problem)
    with session_scope(current_app.extensions["hailong.engine"]) as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise click.ClickException(f"Tài khoản {username} đã có / the account {username} already exists.")
        user = User(username=username, password_hash=hash_password(password), role=Role(role))
        session.add(user)
        session.flush()
        audit.record_command(session, "create-user", action="permission.change", target=f"user:{user.id}",
                             details={"role": role})
    click.echo(f"User {username} ({role}) created.")


@main.command("unlock-user")
@click.argument("username")
@in_app
def unlock_user(username: str) -> None:
    """Lift the lock that many failed sign-ins put on an account."""
    from sqlalchemy import select

    from survey.ratelimit import normalize_username
    from survey.store.db import session_scope
    from survey.store.models import User

    with session_scope(current_app.extensions["hailong.engine"]) as session:
        user = session.scalar(select(User).where(User.username == normalize_username(username)))
        if user is None:
            raise click.ClickException(f"No user {username}.")
        user.locked_until = None
        from survey.store import audit

        audit.record_command(session, "unlock-user", action="permission.change", target=f"user:{user.id}")
    click.echo(f"User {normalize_username(username)} unlocked.")


@main.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@in_app
def backup_command(archive: Path) -> None:
    """Write the database and its dossier keys to ARCHIVE (a .tar file; keep it safe)."""
    from survey.store import backup, dossier_keys

    config = current_app.config
    try:
        manifest = backup.backup(config["DATABASE_URL"], dossier_keys.keyring(current_app),
                                 dossier_keys.key_file(config), archive)
    except (backup.BackupError, dossier_keys.KeyMismatch) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written: {archive} ({manifest['counts'].get('response', 0)} responses, "
               f"schema {manifest['revision']}).")


@main.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@in_app
def restore_command(archive: Path) -> None:
    """Restore ARCHIVE (from `hailong backup`) into the empty database of DATABASE_URL; refused
    when the dossier keys here do not match the backup's."""
    from survey.store import backup, dossier_keys

    config = current_app.config
    try:
        manifest = backup.restore(config["DATABASE_URL"], config["SECRET_KEY"], dossier_keys.key_file(config),
                                  archive)
    except (backup.BackupError, dossier_keys.KeyMismatch) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored {archive}: {manifest['counts'].get('response', 0)} responses, schema "
               f"{manifest['revision']}. Run `hailong init-db` if this version's schema is newer.")


@main.command("flag-stamps")
@in_app
def flag_stamps_command() -> None:
    """Hold for review every stored rating stamped outside the window of its receipt time
    (LATE_UPLOAD_DAYS before it, 10 minutes after): rows stored before the window existed."""
    from survey.collect.stamps import flag_out_of_window
    from survey.store.db import get_session

    report = flag_out_of_window(get_session(), int(current_app.config["LATE_UPLOAD_DAYS"]))
    click.echo(f"{report.checked} responses checked: {report.flagged} flagged stamp_window for review now, "
               f"{report.already} flagged before.")


@main.group("dossier-key")
def dossier_key_group() -> None:
    """The keys that hash dossier codes (see DOSSIER_KEY_FILE)."""


@dossier_key_group.command("rotate")
@in_app
def dossier_key_rotate() -> None:
    """Add a new current dossier key; older ones keep refusing repeated dossiers. Restart the server after."""
    from survey.store import dossier_keys

    ring = dossier_keys.rotate(dossier_keys.key_file(current_app.config), current_app.config["SECRET_KEY"])
    click.echo(f"Dossier key version {ring.current} is now current ({len(ring.keys)} keys in "
               f"{dossier_keys.key_file(current_app.config)}).")


@main.group("rollups")
def rollups_group() -> None:
    """Rollups of sufficient statistics behind the staff results and ranking pages."""


@rollups_group.command("rebuild")
@click.option("--queue", "on_queue", is_flag=True, help="Run it as a job on the task queue instead of now.")
@in_app
def rollups_rebuild(on_queue: bool) -> None:
    """Rebuild every rollup from the stored responses (after a bulk load, a restore or an upgrade)."""
    if on_queue:
        from survey.portal.jobs import queue

        job = queue().enqueue(queue().hailong_tasks["rebuild_rollups"].s())
        click.echo(f"Đã xếp việc dựng lại bảng tổng hợp / rollup rebuild queued (job {job.id}).")
        return
    from survey.reports.rollups import rebuild
    from survey.store.db import session_scope

    with session_scope(current_app.extensions["hailong.engine"]) as session:
        counts = rebuild(session)
    for questionnaire_id, cells in counts.items():
        click.echo(f"{questionnaire_id}: {cells} ô / cells")
    if not counts:
        click.echo("Không có bộ câu hỏi hài lòng nào đang dùng / no satisfaction questionnaire in use.")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=int, help="Worker processes (default: the setting HAILONG_WEB_WORKERS).")
@click.option("--threads", type=int, help="Threads per worker (default: the setting HAILONG_WEB_THREADS).")
@click.option("--no-worker", is_flag=True, help="Do not start the background-job worker beside the server "
              "(run `hailong worker` yourself, e.g. on another machine).")
def serve(host: str, port: int, workers: int | None, threads: int | None, no_worker: bool) -> None:
    """Run the web app with the gunicorn WSGI server, and the background-job worker beside it."""
    from gunicorn.app.base import BaseApplication

    from survey.portal.jobs import start_worker_process, stop_worker_process

    try:
        app = create_app()  # fail here, before forking, if the configuration is unsafe
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    workers = workers or app.config["WEB_WORKERS"]
    threads = threads or app.config["WEB_THREADS"]
    from survey.collect.api import warm_caches
    from survey.security import access_logger_class

    warm_caches(app)  # before forking: every worker inherits the parsed library and form classes
    _check_dossier_keys(app)
    # the checks above used the database: no pooled connection may cross the fork, or two workers
    # would talk over one socket (PostgreSQL: "unexpected result EMPTY_QUERY from command 'BEGIN'")
    app.extensions["hailong.engine"].dispose()
    from survey import observability

    observability.multiprocess_folder(Path(app.instance_path))  # one /metrics for every process below
    logger_class = access_logger_class()
    if app.config["LOG_FORMAT"] == "json":
        logger_class = observability.json_access_logger(logger_class)

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("logger_class", logger_class)  # no credential or dossier code in the log
            self.cfg.set("child_exit", lambda _arbiter, worker: observability.worker_exit(worker.pid))
            self.cfg.set("on_exit", lambda _arbiter: stop_worker_process(job_worker))

        def load(self) -> Any:
            return app

    # The consumer of the task queue (release builds), so that `manage.py start` needs nothing else.
    job_worker = None if no_worker or app.config["QUEUE_IMMEDIATE"] else start_worker_process()
    click.echo(f"Hài Lòng is running at http://{host}:{port}/  (Ctrl+C to stop)")
    try:
        _Server().run()
    finally:
        stop_worker_process(job_worker)


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


# Commands that live with the code they operate on.
main.add_command(score_command, "score")
main.add_command(questionnaires_group, "questionnaires")
main.add_command(units_group, "units")
main.add_command(setup_group, "setup")
main.add_command(admin_index_group, "admin-index")
main.add_command(portal_group, "portal")
main.add_command(release_group, "release")
main.add_command(worker_command, "worker")
main.add_command(covariates_group, "covariates")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(prog_name=os.path.basename(sys.argv[0])))
