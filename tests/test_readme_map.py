"""The README's package map matches the tree, and survey/ stays a house of rooms."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _map() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## The packages", 1)[1].split("\n## ", 1)[0]


def test_every_package_in_the_map_exists() -> None:
    named = re.findall(r"^\s*- \*\*`([\w/]+)/`\*\*", _map(), flags=re.MULTILINE)
    assert {"survey", "survey/collect", "survey/reports", "survey/staff", "survey/portal", "survey/store",
            "questionnaires", "scoring", "exports"} <= set(named)
    for package in named:
        path = ROOT / package
        assert path.is_dir(), f"the README names {package}/, which is not in the tree"
        if package != "tests":
            assert (path / "__init__.py").exists(), f"{package}/ is not a package"


def test_every_room_of_survey_is_in_the_map() -> None:
    named = set(re.findall(r"`(survey/\w+)/`", _map()))
    rooms = {f"survey/{p.parent.name}" for p in (ROOT / "survey").glob("*/__init__.py")}
    assert rooms <= named, f"rooms missing from the README map: {sorted(rooms - named)}"


def test_every_room_says_what_it_may_import() -> None:
    for init in (ROOT / "survey").glob("*/__init__.py"):
        text = init.read_text(encoding="utf-8")
        assert text.startswith('"""') and "import" in text.split('"""')[1], f"{init.parent.name}: no docstring"


def test_survey_keeps_few_modules_at_the_top() -> None:
    modules = sorted(p.name for p in (ROOT / "survey").glob("*.py"))
    # the app core the README lists (13 with ``cli``, the commands' shared app context)
    assert len(modules) <= 13, modules
