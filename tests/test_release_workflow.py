"""The release workflow through the staff pages: prepare → build → preview → approve → publish,
corrections as new versions with a changelog, withdrawal with a notice, and who may do what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from survey.portal.snapshot import (
    content_hash,
    find_index,
    latest_published,
    published_snapshot,
    series_versions,
)
from survey.store.models import Release, ReleaseStatus
from tests.release_actions import Workflow, add_rating, newest_release, release_app, small_province


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


@pytest.fixture
def workflow(app: Flask, client: FlaskClient) -> Workflow:
    small_province(app.extensions["hailong.engine"])
    return Workflow(client)


def test_an_analyst_prepares_and_previews_and_another_account_publishes(app: Flask, workflow: Workflow) -> None:
    engine = app.extensions["hailong.engine"]
    workflow.login("phantich")
    response = workflow.prepare("2026")
    assert response.status_code == 302
    release = newest_release(engine)
    assert release.status == ReleaseStatus.READY  # built by the job (immediate mode in tests)
    assert release.progress == 100 and release.snapshot is not None
    detail = workflow.client.get(f"/staff/releases/{release.id}").get_data(as_text=True)
    assert "Sẵn sàng để duyệt" in detail or "Ready for approval" in detail
    preview = workflow.client.get(f"/staff/releases/{release.id}/preview", follow_redirects=True)
    assert preview.status_code == 200
    overall = find_index(release.snapshot, "96")  # type: ignore[arg-type]
    assert overall is not None and not overall["suppressed"]
    shown = f"{overall['overall']['estimate'] * 100:.1f}".replace(".", ",") + "%"
    assert shown in preview.get_data(as_text=True)  # the preview is the portal's page, from the draft
    assert workflow.client.get(f"/portal/r/{release.id}/").status_code == 404  # not public before approval

    assert workflow.publish(release.id).status_code == 403  # an analyst cannot publish
    assert newest_release(engine).status == ReleaseStatus.READY

    workflow.login("congbo")
    assert workflow.publish(release.id).status_code == 302
    published = newest_release(engine)
    assert published.status == ReleaseStatus.PUBLISHED
    assert published.content_hash == content_hash(published.snapshot)
    public = workflow.client.get(f"/portal/r/{release.id}/", follow_redirects=True)
    assert public.status_code == 200 and shown in public.get_data(as_text=True)
    with Session(engine) as session:
        document = published_snapshot(session, release.id)
        assert document is not None
        assert document["release"]["status"] == "published" and document["release"]["published_at"]
        commune = next(u["code"] for u in document["units"] if u["kind"] == "commune")
        assert latest_published(session, commune) == document  # a commune's page finds it


def test_the_preparer_cannot_approve_their_own_release(app: Flask, workflow: Workflow) -> None:
    workflow.login("admin")  # admins may prepare and publish, but never approve what they prepared
    assert workflow.prepare("2026").status_code == 302
    release = newest_release(app.extensions["hailong.engine"])
    refused = workflow.publish(release.id)
    assert refused.status_code == 403
    assert "another account" in refused.get_data(as_text=True) or "tài khoản khác" in refused.get_data(as_text=True)
    workflow.login("congbo")
    assert workflow.publish(release.id).status_code == 302


def test_staff_without_the_roles_can_look_but_not_act(app: Flask, workflow: Workflow) -> None:
    workflow.login("canbo")
    assert workflow.client.get("/staff/releases/").status_code == 200
    assert workflow.prepare("2026").status_code == 403
    assert workflow.client.get("/staff/releases/new").status_code == 403


def test_a_published_release_never_changes_and_a_correction_is_a_new_version(app: Flask, workflow: Workflow) -> None:
    engine = app.extensions["hailong.engine"]
    workflow.login("phantich")
    workflow.prepare("2026-Q2")
    first = newest_release(engine)
    workflow.login("congbo")
    workflow.publish(first.id)
    before = newest_release(engine)

    # a rating approved later, in the same period: the published snapshot does not move
    add_rating(engine, "96001", "CHUNG-THUC", datetime(2026, 5, 5, 3, 0, tzinfo=UTC), score=1)
    with Session(engine) as session:
        again = published_snapshot(session, first.id)
        assert again is not None
        assert content_hash({**again, "release": {**again["release"], "superseded_by": None, "status": "published",
                                                  "withdrawn": None}}) == before.content_hash
        row = session.get(Release, first.id)
        assert row is not None
        row.snapshot = {**row.snapshot, "indices": []}  # type: ignore[dict-item]
        with pytest.raises(ValueError, match="cannot change"):
            session.flush()
        session.rollback()

    workflow.login("phantich")
    refused = workflow.prepare("2026-Q2")  # a correction must say what it corrects
    assert refused.status_code == 400
    assert workflow.prepare("2026-Q2", changelog="phiên bản 2: thêm ý kiến được duyệt muộn").status_code == 302
    second = newest_release(engine)
    assert (second.series, second.version) == (first.series, 2)
    old, new = (find_index(r.snapshot, "96") for r in (before, second))  # type: ignore[arg-type]
    assert old is not None and new is not None
    assert new["n"] == old["n"] + 1  # the late rating is in the correction only
    workflow.login("congbo2")
    assert workflow.publish(second.id).status_code == 302
    with Session(engine) as session:
        v1 = published_snapshot(session, first.id)
        v2 = latest_published(session, "96")
        assert v1 is not None and v2 is not None
        assert v1["release"]["superseded_by"] == 2
        assert v2["release"]["version"] == 2
        assert [e["version"] for e in v2["release"]["changelog"]] == [1, 2]
        assert v2["release"]["changelog"][1]["text"] == "phiên bản 2: thêm ý kiến được duyệt muộn"
        assert [v["version"] for v in series_versions(session, first.series)] == [1, 2]


def test_a_withdrawal_needs_a_public_notice_and_keeps_the_numbers(app: Flask, workflow: Workflow) -> None:
    engine = app.extensions["hailong.engine"]
    workflow.login("phantich")
    workflow.prepare("2026")
    release = newest_release(engine)
    workflow.login("congbo")
    workflow.publish(release.id)
    assert workflow.withdraw(release.id, "  ").status_code == 400
    assert workflow.withdraw(release.id, "Rút lại: dữ liệu quý 2 đang được kiểm tra lại.").status_code == 302
    with Session(engine) as session:
        document = published_snapshot(session, release.id)
        assert document is not None
        assert document["release"]["status"] == "withdrawn"
        assert document["release"]["withdrawn"]["notice"] == "Rút lại: dữ liệu quý 2 đang được kiểm tra lại."
        assert document["indices"] == newest_release(engine).snapshot["indices"]  # type: ignore[index]
        assert latest_published(session, "96") is None
    assert workflow.publish(release.id).status_code == 409


def test_a_failed_build_says_why_on_the_page(app: Flask, workflow: Workflow) -> None:
    workflow.login("phantich")
    assert workflow.prepare("2020-Q1").status_code == 302  # no responses in 2020
    release = newest_release(app.extensions["hailong.engine"])
    assert release.status == ReleaseStatus.FAILED and release.error_code == "no_responses"
    page = workflow.client.get(f"/staff/releases/{release.id}?lang=vi").get_data(as_text=True)
    assert "Không có ý kiến nào" in page and "Quý I/2020" in page and "Traceback" not in page
    english = workflow.client.get(f"/staff/releases/{release.id}?lang=en").get_data(as_text=True)
    assert "There are no responses that passed review in Quý I/2020" in english


def test_an_unexpected_error_fails_the_job_with_a_message(app: Flask, workflow: Workflow,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import survey.portal.releases as releases

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(releases, "build_snapshot", broken)
    workflow.login("phantich")
    assert workflow.prepare("2026").status_code == 302
    release = newest_release(app.extensions["hailong.engine"])
    assert release.status == ReleaseStatus.FAILED and release.error_code == "unexpected"
    page = workflow.client.get(f"/staff/releases/{release.id}?lang=en").get_data(as_text=True)
    assert "Building the release failed unexpectedly (ZeroDivisionError)" in page
    progress = workflow.client.get(f"/staff/releases/{release.id}/progress.json").get_json()
    assert progress["status"] == "failed" and "ZeroDivisionError" in progress["error"]
    monkeypatch.undo()
    assert workflow.client.post(f"/staff/releases/{release.id}/rebuild").status_code == 302
    assert newest_release(app.extensions["hailong.engine"]).status == ReleaseStatus.READY


def test_a_draft_page_follows_its_build_with_the_shared_progress_script(app: Flask, workflow: Workflow) -> None:
    """The build's section is the one ``job-progress.js`` follows (the export jobs' script too): its
    JSON says whether the build still runs and gives the status line the page shows."""
    engine = app.extensions["hailong.engine"]
    workflow.login("phantich")
    assert workflow.prepare("2026").status_code == 302
    release_id = newest_release(engine).id
    with Session(engine) as session:  # as the page sees it while the worker builds it
        row = session.get(Release, release_id)
        assert row is not None
        row.status, row.progress, row.stage, row.snapshot = ReleaseStatus.DRAFT, 40, "sections", None
        session.commit()
    page = workflow.client.get(f"/staff/releases/{release_id}?lang=en").get_data(as_text=True)
    assert "data-job-progress" in page and "js/job-progress.js" in page
    shown = re.search(r'<p id="build-status" role="status"[^>]*>([^<]*)</p>', page)
    assert shown is not None and shown.group(1) == "40% done."
    progress = workflow.client.get(f"/staff/releases/{release_id}/progress.json?lang=en").get_json()
    assert progress["running"] is True and progress["progress"] == 40 and progress["message"] == shown.group(1)
    with Session(engine) as session:
        row = session.get(Release, release_id)
        assert row is not None
        row.status, row.progress = ReleaseStatus.FAILED, 40
        session.commit()
    progress = workflow.client.get(f"/staff/releases/{release_id}/progress.json").get_json()
    assert progress["running"] is False  # the script then reloads the page, which shows the failure
    page = workflow.client.get(f"/staff/releases/{release_id}").get_data(as_text=True)
    assert "data-job-progress" not in page


def test_a_bad_period_is_refused_on_the_form_and_nothing_is_stored(app: Flask, workflow: Workflow) -> None:
    workflow.login("phantich")
    response = workflow.prepare("2026-Q7")
    assert response.status_code == 400
    assert "2026-Q3" in response.get_data(as_text=True)
    with Session(app.extensions["hailong.engine"]) as session:
        assert session.query(Release).count() == 0
