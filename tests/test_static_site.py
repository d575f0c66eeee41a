"""``hailong portal build OUT_DIR``: the published portal as static files — every page in both
languages, the charts, the data packages (valid for ``frictionless validate``) and the PDFs, with
every link of every page leading to a file of the copy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from survey.portal.snapshot import find_index
from tests.opendata_actions import published_province
from tests.release_actions import release_app
from tests.test_opendata_package import frictionless_validate

LINK = re.compile(r"""\b(?:href|src)=["']([^"'#]*)""")


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


def build_with_the_cli(app: Flask, out: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> str:
    from survey.commands import main

    monkeypatch.setenv("HAILONG_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("HAILONG_SECRET_KEY", "t" * 64)
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(out.parent))
    result = CliRunner().invoke(main, ["portal", "build", str(out), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def broken_links(site: Path, base: str = "/") -> list[str]:
    """Every internal link of every HTML file that does not lead to a file of the site."""
    broken = []
    for page in site.rglob("*.html"):
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            if not link.startswith(base) or link.startswith("//"):
                continue  # external, or relative to a file (none are written)
            target = site / link[len(base):].split("?")[0]
            if link.endswith("/"):
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)} → {link}")
    return broken


def test_the_static_site_is_the_whole_published_portal(app: Flask, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    release_id, snapshot = published_province(app)
    site = tmp_path / "site"
    output = build_with_the_cli(app, site, monkeypatch)
    assert "site" in output

    scope, commune = "96", next(u["code"] for u in snapshot["units"] if u["kind"] == "commune")
    base = f"portal/r/{release_id}/sipas-kiosk"
    for relative in ("index.html", "portal/index.html", "en/portal/index.html", f"{base}/{scope}/index.html",
                     f"{base}/{commune}/index.html", f"en/{base}/{commune}/index.html",
                     f"{base}/{commune}/charts/distribution.svg", f"en/{base}/{commune}/charts/distribution.svg",
                     f"data/releases/{release_id}/datapackage.json", f"data/releases/{release_id}/data/indices.csv",
                     f"data/releases/{release_id}/datapackage.zip", f"data/releases/{release_id}/report.pdf",
                     f"data/releases/{release_id}/report.en.pdf", "portal/methodology/index.html"):
        assert (site / relative).is_file(), relative
    assert not [p for p in site.rglob("*") if p.is_dir() and p.name in ("staff", "kiosk", "api", "auth", "s")]
    assert broken_links(site) == []

    province = (site / base / scope / "index.html").read_text(encoding="utf-8")
    overall = find_index(snapshot, scope)
    assert overall is not None
    assert f"{overall['overall']['estimate'] * 100:.1f}".replace(".", ",") + "%" in province
    assert f'href="/en/{base}/{scope}/"' in province  # the language switch goes to the English copy
    english = (site / "en" / base / scope / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en"' in english and f"{overall['overall']['estimate'] * 100:.1f}%" in english
    assert "Tỷ lệ" not in (site / "en" / base / commune / "charts" / "distribution.svg").read_text(encoding="utf-8")
    assert 'href="/auth/login"' not in province  # live-only links become text without --live-url

    report = frictionless_validate(site / "data" / "releases" / str(release_id) / "datapackage.json")
    assert report["valid"], str(report["tasks"])[:2000]


def test_a_sub_folder_and_the_live_app(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      ) -> None:
    from survey.portal import static_site

    release_id, _snapshot = published_province(app)
    site = tmp_path / "ket-qua"
    report: Any = static_site.build(app, site, base_url="/ket-qua/", live_url="https://hailong.example.vn",
                                    languages=("vi",))
    assert not report.failed
    assert broken_links(site, "/ket-qua/") == []
    page = (site / "portal" / "index.html").read_text(encoding="utf-8")
    assert f'href="/ket-qua/portal/r/{release_id}/' in page
    assert 'href="https://hailong.example.vn/auth/login"' in page
    assert not (site / "en").exists()
