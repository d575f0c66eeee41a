"""``hailong questionnaires ...`` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from questionnaires import load_library
from questionnaires.questionnaires_command import questionnaires_group


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


FORMS = Path(__file__).resolve().parents[1] / "fixtures" / "xlsforms"


def test_import_refuses_what_would_be_lost_unless_allowed(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "waterpoints.yaml"
    result = runner.invoke(questionnaires_group, ["import-xlsform", str(FORMS / "hot-waterpoints.xls"), "-o", str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert "dòng 51" in result.output and "--allow-partial" in result.output  # row by row, in Vietnamese
    result = runner.invoke(questionnaires_group, ["import-xlsform", str(FORMS / "hot-waterpoints.xls"), "-o", str(out),
                                                  "--allow-partial", "--language", "en"])
    assert result.exit_code == 0, result.output
    assert "left out: sheet survey, row 51, column type: question 'location' of type 'geopoint'" in result.output
    assert runner.invoke(questionnaires_group, ["validate", str(out)]).exit_code == 0


def test_a_refused_or_unreadable_workbook_is_one_line_per_problem_and_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 not really")
    for path in (junk, FORMS / "hot-health.xls", tmp_path / "missing.xlsx"):
        result = runner.invoke(questionnaires_group, ["import-xlsform", str(path)])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and result.output.startswith("error: ")
    result = runner.invoke(questionnaires_group, ["import-xlsform", str(FORMS / "hot-health.xls"), "--language", "en"])
    assert result.output.strip() == ("error: hot-health.xls: sheet survey, row 8: pyxform (ODK's converter) does not "
                                     "accept the form: [row : 8] List name not in choices sheet: yes_no")


def test_export_to_standard_output() -> None:
    result = CliRunner().invoke(questionnaires_group, ["export-xlsform", "sipas-kiosk", "-"])
    assert result.exit_code == 0 and result.stdout_bytes.startswith(b"PK")
