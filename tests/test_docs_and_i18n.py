"""Documentation and translations stay true: checked, not hoped for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from survey.config import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "survey" / "translations"


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`HAILONG_{setting.name}`" in readme, setting.name


def test_readme_gives_the_two_commands_that_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python3 manage.py start" in readme and "python3 manage.py test" in readme
    assert "python3 manage.py test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_message_in_the_code_has_a_vietnamese_translation(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "-q", "extract", "-F", "survey/babel.cfg", "-k", "_l",
         "-k", "lazy_gettext", "-o", str(pot), "--no-location", "."],
        cwd=ROOT, check=True,
    )
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with (TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    missing = sorted(str(m) for m in wanted if not (catalog.get(m) and catalog.get(m).string))  # type: ignore[union-attr]
    assert missing == [], "run `python3 manage.py i18n` and translate these"
    with (TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = read_mo(f)
    stale = sorted(str(m) for m in wanted if not (compiled.get(m) and compiled.get(m).string))  # type: ignore[union-attr]
    assert stale == [], "messages.mo is out of date: run `python3 manage.py i18n`"
