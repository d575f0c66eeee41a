"""A published release for the open-data tests, made the way staff make one: the small province
of ``tests.release_actions`` (five communes, a department, two years of approved ratings), an
analyst prepares the year 2026 through the staff pages, the build job runs (Huey's immediate
mode), and the publisher approves it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from survey.portal.snapshot import published_snapshot
from tests.release_actions import Workflow, newest_release, small_province


def publish_release(app: Flask, period: str = "2026", changelog: str = "") -> int:
    """Prepare, build and publish the release of ``period`` for province 96; return its id."""
    engine = app.extensions["hailong.engine"]
    workflow = Workflow(app.test_client())
    workflow.login("phantich")
    response = workflow.prepare(period, changelog=changelog)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    release_id = newest_release(engine).id
    workflow.login("congbo")
    assert workflow.publish(release_id).status_code == 302
    return release_id


def published_province(app: Flask) -> tuple[int, dict[str, Any]]:
    """The small province with its 2026 release published: the id and the served snapshot."""
    small_province(app.extensions["hailong.engine"])
    release_id = publish_release(app)
    with Session(app.extensions["hailong.engine"]) as session:
        document = published_snapshot(session, release_id)
    assert document is not None
    return release_id, dict(document)
