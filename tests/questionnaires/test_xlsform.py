"""XLSForm: every library questionnaire exports to a workbook pyxform accepts, and round-trips."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET  # noqa: S405 - parsing our own generated XForm
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from pyxform.xls2xform import convert

from questionnaires import load_library
from questionnaires.xlsform import import_xlsform, to_workbook, to_xlsx_bytes

LIBRARY = load_library()
# ODK Validate (shipped with pyxform) needs Java; without it pyxform's own checks still run.
ODK_VALIDATE = shutil.which("java") is not None
XF = "{http://www.w3.org/2002/xforms}"


@pytest.mark.parametrize("key", sorted(LIBRARY), ids=lambda k: f"{k}")
def test_export_is_a_valid_xform_and_round_trips(key: tuple[str, str]) -> None:
    questionnaire = LIBRARY[key]
    data = to_xlsx_bytes(questionnaire)
    warnings: list[str] = []
    result = convert(BytesIO(data), warnings=warnings, validate=ODK_VALIDATE, file_type=".xlsx")
    assert warnings == []
    root = ET.fromstring(result.xform)  # noqa: S314 - our own output
    binds = {b.get("nodeset", "").rsplit("/", 1)[-1]: b for b in root.iter(f"{XF}bind")}
    for q in questionnaire.questions:
        bind = binds[q.id]
        if q.relevant and not q.retired:
            assert bind.get("relevant"), q.id
        if q.required and q.type != "note":
            assert bind.get("required") == "true()", q.id
    itext_langs = {t.get("lang") for t in root.iter(f"{XF}translation")}
    assert itext_langs == {"Tiếng Việt (vi)", "English (en)"}

    back = import_xlsform(BytesIO(data))
    assert back.report == []
    assert back.questionnaire.to_dict() == questionnaire.to_dict()
    assert back.questionnaire.content_hash == questionnaire.content_hash
    # export → import → export gives the same workbook, cell for cell
    assert _cells(to_workbook(back.questionnaire)) == _cells(to_workbook(questionnaire))
    # sections reach ODK as groups, in order, each holding its questions
    groups = [g for g in root.iter(f"{XF}group") if g.get("ref")]
    sectioned = [q for q in questionnaire.questions if q.section]
    assert len(groups) >= len({q.section for q in sectioned})
    for q in sectioned:
        group = next(g for g in groups if any(c.get("ref", "").endswith(f"/{q.id}") for c in g))
        assert group.get("ref", "").split("/")[-1].startswith(q.section), q.id


def _cells(wb: Workbook) -> dict[str, list[list[object]]]:
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def test_workbook_has_the_standard_sheets_and_language_columns() -> None:
    wb = load_workbook(BytesIO(to_xlsx_bytes(LIBRARY["sipas-kiosk", "2025.2"])))
    assert {"survey", "choices", "settings"} <= set(wb.sheetnames)
    header = [c.value for c in wb["survey"][1]]
    assert {"type", "name", "label::Tiếng Việt (vi)", "label::English (en)", "required", "relevant", "constraint"} <= set(header)
    rows = {r[1]: dict(zip(header, r, strict=False)) for r in wb["survey"].iter_rows(min_row=2, values_only=True)}
    assert rows["dossier_code"]["type"] == "text"
    assert "regex(., '" in rows["dossier_code"]["constraint"]
    assert rows["access_facilities"]["type"] == "select_one satisfaction5"
    assert rows["access_facilities"]["required"] == "yes"
    settings = [c.value for c in wb["settings"][2]]
    assert "sipas-kiosk" in settings and "2025.2" in settings


def test_constraints_reach_odk() -> None:
    wb = load_workbook(BytesIO(to_xlsx_bytes(LIBRARY["service-hospital", "2025.1"])))
    header = [c.value for c in wb["survey"][1]]
    rows = {r[1]: dict(zip(header, r, strict=False)) for r in wb["survey"].iter_rows(min_row=2, values_only=True)}
    assert rows["inpatient_days"]["constraint"] == ". >= 1 and . <= 365"
    assert rows["inpatient_days"]["relevant"] == "${care_type} = 'inpatient'"
    assert rows["comment"]["appearance"] == "multiline"


def _foreign_form(path: Path) -> Path:
    wb = Workbook()
    survey = wb.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label::Vietnamese (vi)", "label::English (en)", "required", "relevant", "appearance"])
    survey.append(["start", "start", None, None, None, None, None])
    survey.append(["begin_group", "g1", "Nhóm", "Group", None, None, None])
    survey.append(["select_one yn", "likes", "Thích không?", "Do you like it?", "yes", None, None])
    survey.append(["integer", "times", "Mấy lần?", "How many times?", None, "${likes} = 'y'", None])
    survey.append(["geopoint", "where", "Ở đâu?", "Where?", None, None, None])
    survey.append(["text", "why", "Vì sao?", "Why?", None, None, "multiline"])
    survey.append(["end_group", None, None, None, None, None, None])
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label::Vietnamese (vi)", "label::English (en)"])
    choices.append(["yn", "y", "Có", "Yes"])
    choices.append(["yn", "n", "Không", "No"])
    settings = wb.create_sheet("settings")
    settings.append(["form_title", "form_id", "version"])
    settings.append(["Thử", "foreign_form", "7"])
    out = path / "foreign.xlsx"
    wb.save(out)
    return out


def test_import_of_a_foreign_xlsform_reports_what_it_cannot_keep(tmp_path: Path) -> None:
    result = import_xlsform(_foreign_form(tmp_path))
    q = result.questionnaire
    assert (q.id, q.version) == ("foreign_form", "7")
    assert [(x.id, x.type) for x in q.questions] == [("likes", "single"), ("times", "integer"), ("why", "longtext")]
    assert q.question("likes").required and q.question("times").relevant == "${likes} = 'y'"
    assert q.question("likes").label.get("en") == "Do you like it?"
    report = "\n".join(p.message("en") for p in result.report)
    assert "'where'" in report and "geopoint" in report and "row 6" in report
    assert "start" in report
    assert [s.id for s in q.sections] == ["g1"] and q.question("likes").section == "g1"
    assert {p.row for p in result.left_out} == {2, 6}
