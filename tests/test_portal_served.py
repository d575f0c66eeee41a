"""Portal pages served from the pre-rendered store (issue 10 point 10).

Publishing a release enqueues the ``render_release`` job, which renders every page of it in both
languages into the store in the instance folder; a reader who is not signed in is then served
that response — the snapshot is not read, nothing is rendered — with an ETag, Last-Modified and
Cache-Control, and 304 to a conditional request. The store's key holds the code's fingerprint
and the state of the release's series, so a page rendered by other code, or before a withdrawal
or a correction, is never served. Every test has its own instance folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.portal import charts, pages
from survey.store.models import Release, User
from tests.release_actions import KIOSK, release_app, small_province


@pytest.fixture
def app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path / "instance"))  # the store lives here
    # the charts are drawn by vl-convert elsewhere (test_portal_charts); here a stand-in keeps
    # the dozens of pages of a release fast to render
    monkeypatch.setattr(charts, "render_svg", lambda _spec, title, *_a, **_k: f'<svg role="img"><title>{title}</title></svg>')
    pages.STORE.items.clear()
    yield from release_app(database_url, tmp_path, WTF_CSRF_ENABLED=False)
    pages.STORE.items.clear()


def _as(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def publish(app: Flask, period: str = "2026", changelog: str = "", *, prerender: bool = False) -> int:
    """Prepare, build and publish the province's release as the analyst and the publisher do;
    with ``prerender`` the render_release job renders its pages (else the first reader does)."""
    from survey.portal import releases

    app.config["PRERENDER_PAGES"] = prerender

    engine = app.extensions["hailong.engine"]
    with app.test_request_context(), Session(engine) as session:
        release = releases.prepare(session, releases.Choice(period=period, scope="96", questionnaires=[KIOSK],
                                                            changelog=changelog), _as(session, "phantich"))
        session.commit()
        release_id = release.id
    with app.test_request_context():
        assert releases.build(app.extensions["hailong.sessionmaker"], release_id) == "ready"
    with app.test_request_context(), Session(engine) as session:
        releases.publish(session, session.get(Release, release_id), _as(session, "congbo"))  # type: ignore[arg-type]
        session.commit()  # the render_release job runs here (immediate mode)
    return release_id


def _no_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("rendered, or the snapshot read, on a page view")

    monkeypatch.setattr(pages, "published", refuse)
    monkeypatch.setattr(pages, "render_unit_page", refuse)


def test_publishing_renders_every_page_and_readers_get_them_without_a_render(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    small_province(app.extensions["hailong.engine"])
    release_id = publish(app, prerender=True)
    with app.test_request_context():
        from survey.portal.snapshot import published_snapshot
        from survey.store.db import get_session

        document = published_snapshot(get_session(), release_id)
        assert document is not None
        addresses = pages.page_addresses(pages.wrap(document))
    province = f"/portal/r/{release_id}/{KIOSK}/96/"
    assert province in addresses
    assert any(a.count("/") == 7 for a in addresses)  # unit × service pages too
    assert len(addresses) >= 10
    directory = pages.STORE.directory
    assert directory is not None and Path(app.instance_path) in directory.parents
    assert len([p for p in directory.rglob("*") if p.is_file()]) == 2 * len(addresses)  # vi and en

    _no_rendering(monkeypatch)
    pages.STORE.items.clear()  # as a fresh server process: from the files
    client = app.test_client()
    for address in addresses:
        assert client.get(address).status_code == 200, address
    vi = client.get(province)
    assert '<html lang="vi">' in vi.get_data(as_text=True)
    en = client.get(province + "?lang=en")
    assert '<html lang="en">' in en.get_data(as_text=True)
    assert en.headers["ETag"] != vi.headers["ETag"]
    assert "Tỉnh" in vi.get_data(as_text=True) or "96" in vi.get_data(as_text=True)


def test_conditional_requests_and_cache_headers(app: Flask) -> None:
    small_province(app.extensions["hailong.engine"])
    release_id = publish(app)
    client = app.test_client()
    address = f"/portal/r/{release_id}/{KIOSK}/96/"
    first = client.get(address)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, no-cache"
    assert "Cookie" in first.headers["Vary"]
    again = client.get(address, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(address, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(address, headers={"If-None-Match": '"something-else"'}).status_code == 200
    chart = client.get(f"/portal/r/{release_id}/{KIOSK}/96/charts/elements.csv")
    if chart.status_code == 200:  # a chart's data file: the same headers
        assert chart.headers["ETag"] and chart.headers["Cache-Control"] == "public, no-cache"
        assert client.get(chart.request.path, headers={"If-None-Match": chart.headers["ETag"]}).status_code == 304


def test_a_new_code_version_or_a_withdrawal_is_never_hidden_by_a_kept_page(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from survey.portal import releases

    small_province(app.extensions["hailong.engine"])
    release_id = publish(app)
    client = app.test_client()
    address = f"/portal/r/{release_id}/{KIOSK}/96/"
    kept = client.get(address)

    renders: list[str] = []
    real = pages.render_unit_page

    def counting(*args: Any, **kwargs: Any) -> str:
        renders.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(pages, "render_unit_page", counting)
    assert client.get(address).status_code == 200 and renders == []  # kept
    monkeypatch.setattr(pages, "CODE", "another-version")
    fresh = client.get(address)
    assert renders == ["96"], "a page kept by other code was served"
    assert fresh.headers["ETag"] != kept.headers["ETag"]
    monkeypatch.setattr(pages, "CODE", pages.code_fingerprint())

    engine = app.extensions["hailong.engine"]
    with app.test_request_context(), Session(engine) as session:
        releases.withdraw(session, session.get(Release, release_id), _as(session, "congbo"),  # type: ignore[arg-type]
                          "Số liệu xã 96003 bị nhập trùng.")
        session.commit()
    after = client.get(address, headers={"If-None-Match": kept.headers["ETag"]})
    assert after.status_code == 200
    assert "Số liệu xã 96003 bị nhập trùng." in after.get_data(as_text=True)
    assert after.headers["ETag"] != kept.headers["ETag"]


def test_signed_in_staff_get_their_own_frame_never_the_kept_page(app: Flask) -> None:
    small_province(app.extensions["hailong.engine"])
    release_id = publish(app)
    client = app.test_client()
    address = f"/portal/r/{release_id}/{KIOSK}/96/"
    public = client.get(address)
    assert "Sign out" not in public.get_data(as_text=True) and "Đăng xuất" not in public.get_data(as_text=True)
    assert client.post("/auth/login", data={"username": "phantich", "password": "hailong-demo"}).status_code == 302
    staff = client.get(address)
    assert staff.status_code == 200
    assert "phantich" in staff.get_data(as_text=True)  # the sign-out button names them
    assert staff.headers["Cache-Control"] == "private, no-cache"
    assert staff.headers["ETag"] != public.headers["ETag"]


def test_the_code_fingerprint_covers_templates_frame_and_catalogue(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    files = {p.relative_to(Path(pages.__file__).resolve().parents[2]).as_posix() for p in pages.code_files()}
    for needed in ("survey/templates/base.html", "survey/templates/portal/_unit.html",
                   "survey/templates/_language_switch.html", "survey/portal/charts.py", "survey/portal/pages.py",
                   "survey/translations/vi/LC_MESSAGES/messages.mo", "exports/__init__.py"):
        assert needed in files, needed
    template = tmp_path / "base.html"
    template.write_text("<html>{{ x }}</html>", encoding="utf-8")
    monkeypatch.setattr(pages, "code_files", lambda: [template])
    before = pages.code_fingerprint()
    template.write_text("<html>{{ y }}</html>", encoding="utf-8")
    assert pages.code_fingerprint() != before


def test_render_all_after_a_deploy_fills_the_store_from_the_command_line(
        app: Flask, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new version of the product keeps its pages under a new code fingerprint: the store is
    empty after a deploy until ``hailong release render --all`` renders every public release."""
    import os

    from click.testing import CliRunner

    from survey.commands import main

    small_province(app.extensions["hailong.engine"])
    release_id = publish(app)  # published without pre-rendering: nothing kept yet
    directory = pages.STORE.directory
    assert directory is not None and not [p for p in directory.rglob("*") if p.is_file()]
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HAILONG_")}
    env.update(HAILONG_DATABASE_URL=database_url, HAILONG_ENV="demo", HAILONG_INSTANCE_PATH=app.instance_path)
    runner = CliRunner(env=env)

    refused = runner.invoke(main, ["release", "render"])
    assert refused.exit_code == 2 and "--all" in refused.output
    unknown = runner.invoke(main, ["release", "render", str(release_id + 99)])
    assert unknown.exit_code == 1 and str(release_id + 99) in unknown.output and "Traceback" not in unknown.output

    done = runner.invoke(main, ["release", "render", "--all", "--now"])
    assert done.exit_code == 0, done.output
    with app.test_request_context():
        from survey.portal.snapshot import published_snapshot
        from survey.store.db import get_session

        document = published_snapshot(get_session(), release_id)
        assert document is not None
        addresses = pages.page_addresses(pages.wrap(document))
    assert f"1 series rendered: {2 * len(addresses)} pages" in done.output
    assert len([p for p in directory.rglob("*") if p.is_file()]) == 2 * len(addresses)  # vi and en
    _no_rendering(monkeypatch)
    pages.STORE.items.clear()
    assert app.test_client().get(f"/portal/r/{release_id}/{KIOSK}/96/").status_code == 200
