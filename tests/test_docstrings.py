"""Docstrings stay true: their examples run, and the documents they cite are in the repository."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("survey", "scoring", "questionnaires", "exports")
CITED = re.compile(r"(?<![\w/.])((?:\.\./|/)?[\w./-]*[\w-]+\.md)\b")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        path = [str(ROOT / package)]
        for info in pkgutil.walk_packages(path, prefix=f"{package}."):
            if ".migrations" in info.name or info.name.endswith("__main__"):
                continue  # Alembic's env.py runs migrations when imported
            names.append(info.name)
    return sorted(names)


MODULES = _modules()


@pytest.mark.parametrize("name", [m for m in MODULES if "doctest" not in m])
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"


def test_some_docstrings_have_examples() -> None:
    """The run above is not vacuous: the registry, settings and errors modules carry examples."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    for name in ("exports.downloads", "survey.config", "survey.errors"):
        assert sum(len(t.examples) for t in finder.find(importlib.import_module(name), name)) >= 2, name


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def test_every_document_a_module_cites_is_in_the_repository() -> None:
    missing = []
    for path in _sources():
        for cited in set(CITED.findall(path.read_text(encoding="utf-8"))):
            if cited.startswith(("/", "../")):
                missing.append(f"{path.relative_to(ROOT)} cites {cited}, outside the repository")
            elif not ((ROOT / cited).exists() or (path.parent / cited).exists()):
                missing.append(f"{path.relative_to(ROOT)} cites {cited}, which does not exist")
    assert not missing, "\n".join(missing)


def test_the_methodology_note_is_in_docs() -> None:
    note = (ROOT / "docs" / "methodology.md").read_text(encoding="utf-8")
    for section in ("## 2.", "## 3.", "## 4."):  # the sections scoring/sipas.py, papi.py, dossier.py cite
        assert section in note
