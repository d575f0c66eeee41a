"""``hailong release create|publish|withdraw|list`` for automation, on both databases."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from survey.commands import main
from tests.release_actions import release_app, small_province


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


@pytest.fixture
def hailong(app: Flask, database_url: str, tmp_path: Path) -> CliRunner:
    small_province(app.extensions["hailong.engine"])
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HAILONG_")}
    env.update(HAILONG_DATABASE_URL=database_url, HAILONG_ENV="demo", HAILONG_INSTANCE_PATH=str(tmp_path / "instance"))
    return CliRunner(env=env)


def test_create_publish_and_list_from_the_command_line(hailong: CliRunner) -> None:
    created = hailong.invoke(main, ["release", "create", "--period", "2026-H1", "--unit", "96", "--questionnaire",
                                    "sipas-kiosk", "--as", "phantich"])
    assert created.exit_code == 0, created.output
    release_id = int(created.output.strip())

    own = hailong.invoke(main, ["release", "publish", str(release_id), "--as", "phantich"])
    assert own.exit_code == 1 and "quyền công bố" in own.output and "Traceback" not in own.output

    published = hailong.invoke(main, ["release", "publish", str(release_id), "--as", "congbo"])
    assert published.exit_code == 0, published.output

    listed = hailong.invoke(main, ["release", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["id"], r["status"], r["period"], r["unit"], r["version"]) for r in rows] == [
        (release_id, "published", "2026-H1", "96", 1)]
    assert len(rows[0]["content_hash"]) == 64
    assert "96-2026-H1" in hailong.invoke(main, ["release", "list"]).output

    again = hailong.invoke(main, ["release", "create", "--period", "2026-H1", "--unit", "96"])
    assert again.exit_code == 1 and "Phiên bản 1" in again.output  # version 2 must say what it corrects
    withdrawn = hailong.invoke(main, ["release", "withdraw", str(release_id), "--as", "congbo", "--notice",
                                      "Số liệu đang được rà soát lại."])
    assert withdrawn.exit_code == 0, withdrawn.output
    assert json.loads(hailong.invoke(main, ["release", "list", "--json"]).output)[0]["status"] == "withdrawn"


@pytest.mark.parametrize(("arguments", "says"), [
    (["--period", "2026-Q5", "--unit", "96"], "2026-Q3"),
    (["--period", "2026-Q1", "--unit", "99999"], "99999"),
    (["--period", "2026-Q1", "--unit", "96", "--questionnaire", "no-such-form"], "no-such-form"),
    (["--period", "2020-Q1", "--unit", "96"], "2020"),  # nothing to publish: the build fails, with why
])
def test_bad_input_is_one_clear_line_not_a_traceback(hailong: CliRunner, arguments: list[str], says: str) -> None:
    result = hailong.invoke(main, ["release", "create", *arguments])
    assert result.exit_code == 1
    assert says in result.output and "Traceback" not in result.output
