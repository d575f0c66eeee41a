"""``hailong release …`` and ``hailong worker``: releases from the command line, for automation.

    hailong release create --period 2026-Q3 --unit 96 [--questionnaire sipas-kiosk] [--as phantich]
    hailong release publish 12 --as congbo
    hailong release list [--json]
    hailong release withdraw 12 --as congbo --notice "…"
    hailong release render --all [--now]        (after deploying a new version of the product)
    hailong worker

``create`` builds the release in the command's own process (the same job the queue runs) and
prints the new release's id; ``--background`` leaves it to the worker instead.
"""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import select

from survey.cli import in_app


def _user(session: Any, username: str | None) -> Any:
    from survey.store.models import User

    if username is None:
        return None
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise click.ClickException(f"no active account named {username!r}")
    return user


def _audit(session: Any, command: str, action: str, release: Any, username: str | None) -> None:
    """The audit line of a release command, with the web page's action code (``release.publish``…)."""
    from survey.store import audit

    audit.record_command(session, command, action=action, target=f"release:{release.id}",
                         unit_id=release.scope_unit_id, user=_user(session, username))


def _release(session: Any, release_id: int) -> Any:
    from survey.store.models import Release

    release = session.get(Release, release_id)
    if release is None:
        raise click.ClickException(f"no release {release_id}")
    return release


@click.group("release")
def release_group() -> None:
    """Prepare, publish, withdraw and list releases of results."""


@release_group.command("create")
@click.option("--period", required=True, help="2026-Q3 (quarter), 2026-H1 (half-year), 2026-9M or 2026 (year).")
@click.option("--unit", "unit_code", required=True, help="Code of the unit published, with everything below it.")
@click.option("--questionnaire", "questionnaires", multiple=True,
              help="Questionnaire id (repeat for several). Default: every satisfaction questionnaire in use.")
@click.option("--overall-rule", type=click.Choice(["par_weighted", "mean", "overall_item"]), default=None,
              help="Rule of the overall index. Default: each questionnaire's own.")
@click.option("--weighting", type=click.Choice(["none", "design"]), default="none", show_default=True)
@click.option("--methodology-version", default=None, help="Default: the METHODOLOGY_VERSION setting.")
@click.option("--changelog", default="", help="What a new version corrects (required for version 2 on).")
@click.option("--as", "username", default=None, help="The analyst preparing it (recorded; they cannot approve it).")
@click.option("--background", is_flag=True, help="Leave the build to the worker instead of building now.")
@in_app
def create(period: str, unit_code: str, questionnaires: tuple[str, ...], overall_rule: str | None, weighting: str,
           methodology_version: str | None, changelog: str, username: str | None, background: bool) -> None:
    """Prepare a release and build it; prints the new release's id."""
    from survey.portal.jobs import build_release, enqueue_after_commit
    from survey.portal.releases import Choice, error_message, prepare
    from survey.store.db import session_scope

    engine = current_app.extensions["hailong.engine"]
    chosen = list(questionnaires) or _default_questionnaires()
    with session_scope(engine) as session:
        release = prepare(session, Choice(period=period, scope=unit_code, questionnaires=chosen,
                                          overall_rule=overall_rule, methodology_version=methodology_version,
                                          weighting=weighting, changelog=changelog), _user(session, username))
        release_id = release.id
        _audit(session, "release create", "release.prepare", release, username)
        if background:
            release.job_id = enqueue_after_commit(session, "build_release", release_id=release_id)
    if not background:
        build_release(release_id)
        with session_scope(engine) as session:
            message = error_message(_release(session, release_id))
        if message:
            raise click.ClickException(f"release {release_id}: {message}")
    click.echo(release_id)


def _default_questionnaires() -> list[str]:
    from survey.reports.sipas_tables import scored_as_sipas
    from survey.store.catalogue import in_use
    from survey.store.db import get_session

    return [q.id for q in in_use(get_session()) if scored_as_sipas(q)]


@release_group.command("publish")
@click.argument("release_id", type=int)
@click.option("--as", "username", required=True, help="The publisher approving it (not the one who prepared it).")
@in_app
def publish_command(release_id: int, username: str) -> None:
    """Approve and publish a built release."""
    from survey.portal.releases import publish
    from survey.store.db import session_scope

    with session_scope(current_app.extensions["hailong.engine"]) as session:
        release = publish(session, _release(session, release_id), _user(session, username))
        _audit(session, "release publish", "release.publish", release, username)
        click.echo(f"release {release.id} ({release.series} v{release.version}) published: {release.content_hash}")


@release_group.command("withdraw")
@click.argument("release_id", type=int)
@click.option("--as", "username", required=True, help="The publisher withdrawing it.")
@click.option("--notice", required=True, help="The public notice explaining the withdrawal.")
@in_app
def withdraw_command(release_id: int, username: str, notice: str) -> None:
    """Withdraw a published release with a public notice."""
    from survey.portal.releases import withdraw
    from survey.store.db import session_scope

    with session_scope(current_app.extensions["hailong.engine"]) as session:
        release = withdraw(session, _release(session, release_id), _user(session, username), notice)
        _audit(session, "release withdraw", "release.withdraw", release, username)
        click.echo(f"release {release.id} withdrawn")


@release_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@in_app
def list_command(as_json: bool) -> None:
    """Every release, newest first: id, series, version, status, period, unit, questionnaires."""
    from survey.store.db import session_scope
    from survey.store.models import Release

    with session_scope(current_app.extensions["hailong.engine"]) as session:
        rows = [{
            "id": r.id, "series": r.series, "version": r.version, "status": r.status.value,
            "period": r.period_code, "unit": r.scope_code, "questionnaires": list(r.questionnaires),
            "progress": r.progress, "created_at": r.created_at.isoformat() if r.created_at else None,
            "published_at": r.published_at.isoformat() if r.published_at else None,
            "content_hash": r.content_hash,
        } for r in session.scalars(select(Release).order_by(Release.id.desc()))]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No releases yet.")
        return
    for row in rows:
        questionnaires = row["questionnaires"]
        listed = ", ".join(questionnaires) if isinstance(questionnaires, list) else ""
        click.echo(f"{row['id']:>5}  {row['series']:<24} v{row['version']:<3} {row['status']:<10} {listed}")


@release_group.command("render")
@click.argument("release_ids", type=int, nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every public release (each series once).")
@click.option("--now", is_flag=True, help="Render in this process instead of leaving it to the worker.")
@in_app(request=True)
def render_command(release_ids: tuple[int, ...], everything: bool, now: bool) -> None:
    """Render the public pages of releases again, in every language, into the pages the portal
    serves. The kept pages belong to the code that rendered them: after deploying a new version
    of the product, run `hailong release render --all` so no reader waits for a first render."""
    from survey.portal.jobs import enqueue_after_commit, render_release
    from survey.portal.snapshot import PUBLIC_STATES
    from survey.store.db import session_scope
    from survey.store.models import Release

    if not release_ids and not everything:
        raise click.UsageError("name the releases to render, or --all")
    with session_scope(current_app.extensions["hailong.engine"]) as session:
        public = session.execute(select(Release.id, Release.series).where(Release.status.in_(PUBLIC_STATES))
                                 .order_by(Release.version.desc())).all()
        known = {row.id for row in public}
        unknown = [i for i in release_ids if i not in known]
        if unknown:
            raise click.ClickException("not public (never published) or unknown: " + ", ".join(map(str, unknown)))
        # one release per series: rendering a release renders every version of its series
        chosen: dict[str, int] = {}
        for row in public:
            if everything or row.id in release_ids:
                chosen.setdefault(row.series, row.id)
        if not now:
            for release_id in chosen.values():
                enqueue_after_commit(session, "render_release", release_id=release_id)
    if now:
        pages = sum(render_release(release_id) for release_id in chosen.values())
        click.echo(f"{len(chosen)} series rendered: {pages} pages")
    else:
        click.echo(f"{len(chosen)} series queued for rendering (the worker renders them)")


@click.command("worker")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker threads.")
def worker_command(workers: int) -> None:
    """Run the background jobs (release builds) from the queue until stopped."""
    from survey import create_app
    from survey.portal.jobs import QueueConfigError, run_worker

    try:
        app: Flask = create_app()
        run_worker(app, workers=workers)
    except (RuntimeError, QueueConfigError) as exc:
        raise click.ClickException(str(exc)) from None
