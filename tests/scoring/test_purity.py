"""scoring/ is pure: importing it loads no web framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_scoring_loads_no_flask_sqlalchemy_or_wtforms() -> None:
    code = (
        "import sys, scoring, scoring.design, scoring.estimators, scoring.sipas, scoring.papi, "
        "scoring.compare, scoring.weighting, scoring.replicates, scoring.dossier, scoring.sae\n"
        "bad = [m for m in ('flask', 'sqlalchemy', 'wtforms') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == ""


def test_only_the_command_does_file_io() -> None:
    for path in (ROOT / "scoring").glob("*.py"):
        if path.name == "score_command.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("open(", "read_csv", "to_csv", "requests", "urllib", "import click"):
            assert needle not in text, f"{path.name} uses {needle}"
