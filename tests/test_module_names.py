"""One name per module: no two modules of the four packages share a file name (issue 8), so a
traceback, an import or a search names one place."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("survey", "scoring", "questionnaires", "exports")


def test_no_two_modules_share_a_name() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path.name in {"__init__.py", "__main__.py"}:
                continue
            seen[path.stem].append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
