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


def test_no_translated_message_hides_inside_an_f_string() -> None:
    """Babel (on Python 3.11) reads an f-string as one string token: a ``_("…")`` inside it is never
    extracted, so it would stay English in the Vietnamese interface without any test noticing."""
    import io
    import tokenize

    hidden = []
    for path in sorted((ROOT / "survey").rglob("*.py")):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        for token in tokens:
            prefix = token.string[:2].lower()
            if token.type == tokenize.STRING and ("f" in prefix) and ("_(" in token.string or "gettext(" in token.string):
                hidden.append(f"{path.relative_to(ROOT)}:{token.start[0]}")
    assert not hidden, hidden
