"""``hailong questionnaires ...`` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from questionnaires import load_library
from questionnaires.cli import questionnaires_group


def test_list_json_names_every_version() -> None:
    result = CliRunner().invoke(questionnaires_group, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {(r["id"], r["version"]) for r in rows} == set(load_library())
    kiosk = next(r for r in rows if (r["id"], r["version"]) == ("sipas-kiosk", "2025.2"))
    assert kiosk["languages"] == ["vi", "en"] and kiosk["items"] == 8 and kiosk["title"].startswith("Đánh giá")


def test_the_hailong_command_has_the_questionnaires_group() -> None:
    hailong = Path(sys.executable).parent / "hailong"
    result = subprocess.run([hailong, "questionnaires", "list", "--json"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert {r["id"] for r in json.loads(result.stdout)} >= {"sipas", "sipas-kiosk", "papi-household"}


def test_list_table() -> None:
    result = CliRunner().invoke(questionnaires_group, ["list"])
    assert result.exit_code == 0 and "papi-household" in result.output and "2017.1" in result.output


def test_validate_reports_each_bad_file(tmp_path: Path) -> None:
    good = Path(__file__).resolve().parents[2] / "questionnaires" / "library" / "sipas-2025.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text('id: x\nversion: "1"\ntitle: {vi: a, en: a}\nquestions:\n  - {id: q, type: stars, label: {vi: a, en: a}}\n',
                   encoding="utf-8")
    result = CliRunner().invoke(questionnaires_group, ["validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert "ok: sipas-2025.yaml" in result.output
    assert "bad.yaml:5: question 'q': unknown type 'stars'" in result.output


def test_export_then_import(tmp_path: Path) -> None:
    out = tmp_path / "kiosk.xlsx"
    runner = CliRunner()
    result = runner.invoke(questionnaires_group, ["export-xlsform", "sipas-kiosk", str(out)])
    assert result.exit_code == 0 and out.stat().st_size > 0
    yaml_out = tmp_path / "kiosk.yaml"
    result = runner.invoke(questionnaires_group, ["import-xlsform", str(out), "-o", str(yaml_out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(questionnaires_group, ["validate", str(yaml_out)])
    assert result.exit_code == 0 and "sipas-kiosk 2025.2" in result.output
    result = runner.invoke(questionnaires_group, ["export-xlsform", "nope", str(out)])
    assert result.exit_code != 0 and "no questionnaire 'nope'" in result.output
