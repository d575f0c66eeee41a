"""Importing real XLSForms: every form imports with all its questions or is refused row by row.

The forms in ``tests/fixtures/xlsforms`` are published by other projects (pyxform's own examples,
HOT's field-mapping forms; sources and licences in ``SOURCES.md``). A synthetic satisfaction
survey adds what they lack (a ``range`` rating, typographic quotes, a ``=NOW()`` version, ...).
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from pyxform.xls2json_backends import get_xlsform

from questionnaires.xlsform import ImportResult, XLSFormError, import_xlsform, to_xlsx_bytes
from questionnaires.xlsform.report import MESSAGES

FORMS = Path(__file__).resolve().parents[1] / "fixtures" / "xlsforms"
REAL_FORMS = sorted(p for p in FORMS.iterdir() if p.suffix in {".xls", ".xlsx"})
_CONTROL = re.compile(r"^(begin|end)[ _](group|repeat)", re.IGNORECASE)


def _survey_rows(path: Path) -> dict[int, dict[str, str]]:
    """The non-empty rows of the survey sheet as pyxform reads them, by spreadsheet row."""
    book = get_xlsform(path)
    return {i + 2: row for i, row in enumerate(book.survey or []) if row.get("type") or row.get("TYPE")}


def _outcome(path: Path) -> ImportResult | XLSFormError:
    try:
        return import_xlsform(path)
    except XLSFormError as exc:
        return exc


def test_the_fixtures_are_real_forms_with_their_sources_noted() -> None:
    sources = (FORMS / "SOURCES.md").read_text(encoding="utf-8")
    assert len(REAL_FORMS) >= 17
    for path in REAL_FORMS:
        assert f"`{path.name}`" in sources, path.name


@pytest.mark.parametrize("path", REAL_FORMS, ids=lambda p: p.name)
def test_every_real_form_imports_all_its_questions_or_is_refused_row_by_row(path: Path) -> None:
    outcome = _outcome(path)
    rows = _survey_rows(path)
    if isinstance(outcome, XLSFormError):
        assert outcome.problems, path.name
        for problem in outcome.problems:
            assert problem.kind in {"refused", "left_out", "changed"}
            # one message per problem, in both languages, saying where it is when it is a row
            assert problem.message("vi") != problem.message("en")
            if problem.row is not None:
                assert problem.row in rows and problem.sheet in {"survey", "choices"}
        assert any(p.kind == "refused" for p in outcome.problems)
        return
    questionnaire = outcome.questionnaire
    reported_rows = {p.row for p in outcome.report if p.row is not None}
    for p in outcome.report:  # a repeat is reported once, for all its rows
        if p.code == "repeat":
            reported_rows |= set(range(int(p.params["first"]), int(p.params["last"]) + 1))
    kept_ids = {q.id for q in questionnaire.questions}
    section_ids = {s.id for s in questionnaire.sections}
    for number, row in rows.items():
        xls_type = str(row.get("type") or row.get("TYPE"))
        if _CONTROL.match(xls_type) and xls_type.lower().startswith("end"):
            continue
        name = str(row.get("name") or row.get("NAME") or "")
        renamed = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
        # nothing is lost silently: each row is kept (as a question or a section) or reported by its row
        assert renamed in kept_ids or renamed in section_ids or number in reported_rows, (path.name, number, row)
    for problem in outcome.report:
        assert problem.code in MESSAGES and problem.message("vi") and problem.message("en")


def test_most_real_forms_import() -> None:
    outcomes = {p.name: _outcome(p) for p in REAL_FORMS}
    imported = [n for n, o in outcomes.items() if isinstance(o, ImportResult)]
    assert len(imported) >= 14, sorted(set(outcomes) - set(imported))


def test_a_form_pyxform_refuses_is_refused_with_pyxform_s_row() -> None:
    outcome = _outcome(FORMS / "hot-health.xls")
    assert isinstance(outcome, XLSFormError)
    (problem,) = outcome.problems
    assert (problem.sheet, problem.row) == ("survey", 8)
    assert "yes_no" in problem.message("en") and problem.message("vi").startswith("trang survey, dòng 8: ")


def test_a_repeat_is_refused_by_name_and_rows_never_flattened() -> None:
    outcome = _outcome(FORMS / "pyxform-tutorial.xls")
    assert isinstance(outcome, XLSFormError)  # the household roster is all the form asks
    repeat = next(p for p in outcome.problems if p.code == "repeat")
    assert repeat.params["name"] == "member" and (repeat.params["first"], repeat.params["last"]) == (2, 13)
    assert "relationship_to_household_head" in repeat.message("en")
    assert "nhóm lặp 'member' (dòng 2–13)" in repeat.message("vi")


def test_every_language_column_becomes_a_language() -> None:
    result = import_xlsform(FORMS / "pyxform-xlsform_spec_test.xlsx")
    q = result.questionnaire
    assert q.languages == ("vi", "en", "zh")
    address = q.question("address")
    assert address.label.get("en") == "Enter an address" and address.label.get("zh") == "您好"
    hot = import_xlsform(FORMS / "hot-waterpoints.xls").questionnaire
    assert "fr" in hot.languages and "en" in hot.languages
    # its plain 'label' column has no language: it is taken as Vietnamese, and the report says so
    assert any(p.code == "plain_language" for p in result.report)
    assert any(p.code == "no_vietnamese" for p in import_xlsform(FORMS / "hot-waterpoints.xls").report)


def test_or_other_becomes_the_choice_and_a_follow_up_question() -> None:
    result = import_xlsform(FORMS / "pyxform-or_other.xlsx")
    q = result.questionnaire
    color = q.question("fav_color")
    assert color.choices[-1].value == "other"
    follow = q.question("fav_color_other")
    assert follow.type == "text" and follow.relevant == "selected(${fav_color}, 'other')"
    assert [p.code for p in result.report if p.row == 2] == ["or_other"]


def test_groups_become_sections_with_their_appearance() -> None:
    q = import_xlsform(FORMS / "hot-waterpoints.xls").questionnaire
    sections = {s.id: s for s in q.sections}
    assert sections["typeinfo"].appearance == "field-list"
    assert q.question("waterpoint_type").section == "typeinfo"


def _satisfaction_form(version: object = "=NOW()") -> bytes:
    """A kiosk-style satisfaction survey as people write them in Excel."""
    wb = Workbook()
    survey = wb.active
    assert survey is not None
    survey.title = "SURVEY"  # upper-case sheet names are fine for ODK
    survey.append(["type", "name", "label:English", "label:Tiếng Việt (vi)", "hint:English", "required",
                   "required_message:English", "relevant", "constraint", "constraint_message:English",
                   "calculation", "default", "parameters", "appearance", "choice_filter"])
    survey.append(["note", None, "Thank you for visiting", "Cảm ơn bạn", None, None, None, None, None, None,
                   None, None, None, None, None])
    survey.append(["begin group", "service", "The service", "Dịch vụ", None, None, None, None, None, None,
                   None, None, None, "field-list", None])
    survey.append(["select one from channel", "visit-channel", "How did you come?", "Bạn đến bằng cách nào?",
                   None, "yes", "Please choose one", None, None, None, None, "in person", None, None, None])
    survey.append(["range", "overall", "Overall satisfaction", "Hài lòng chung", "1 = very bad", "yes", None,
                   None, None, None, None, None, "start=1 end=5 step=1", "likert", None])
    survey.append(["text", "why-low", "Why?", "Vì sao?", None, None, None, "${overall} <= 2 and ${visit-channel} = \u2018in person\u2019",
                   None, None, None, None, None, None, None])
    survey.append(["date", "visit_date", "When?", "Khi nào?", None, None, None, None, ". <= today()",
                   "Not in the future", None, None, None, None, None])
    survey.append(["select_one district", "district", "District", "Huyện", None, None, None, None, None, None,
                   None, None, None, None, None])
    survey.append(["select_one commune", "commune", "Commune", "Xã", None, None, None, None, None, None, None,
                   None, None, None, "district = ${district}"])
    survey.append(["end group", None, None, None, None, None, None, None, None, None, None, None, None, None, None])
    survey.append(["calculate", "low", None, None, None, None, None, None, None, None,
                   "if(${overall} <= 2, 'low', 'ok')", None, None, None, None])
    choices = wb.create_sheet("CHOICES")
    choices.append(["list_name", "name", "label:English", "label:Tiếng Việt (vi)", "district"])
    choices.append(["channel", "in person", "In person", "Trực tiếp", None])
    choices.append(["channel", "online", "Online", "Trực tuyến", None])
    choices.append(["district", "9601", "Ca Mau city", "TP Cà Mau", None])
    choices.append(["district", "9602", "U Minh", "U Minh", None])
    choices.append(["commune", "960101", "Ward 1", "Phường 1", "9601"])
    choices.append(["commune", "960201", "Khanh An", "Khánh An", "9602"])
    settings_sheet = wb.create_sheet("SETTINGS")
    settings_sheet.append(["form_title", "form_id", "version"])
    settings_sheet.append(["Satisfaction", "kiosk_satisfaction", version])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def test_what_odk_accepts_is_accepted_and_kept() -> None:
    result = import_xlsform(BytesIO(_satisfaction_form()), name="satisfaction.xlsx")
    q = result.questionnaire
    assert q.id == "kiosk_satisfaction" and q.languages == ("vi", "en")
    overall = q.question("overall")
    assert overall.type == "rating" and [c.value for c in overall.choices] == [1, 2, 3, 4, 5]
    assert overall.bounds == (1.0, 5.0) and overall.appearance == "likert"
    channel = q.question("visit_channel")  # hyphens renamed, and every reference follows
    assert channel.required and channel.required_message is not None
    assert channel.required_message.get("en") == "Please choose one"
    assert [c.value for c in channel.choices] == ["in_person", "online"]
    assert channel.default == "in_person"  # the renamed choice is followed everywhere
    why = q.question("why_low")  # typographic quotes made straight
    assert why.relevant == "${overall} <= 2 and ${visit_channel} = 'in_person'"
    assert q.question("visit_date").constraint == ". <= today()"
    assert q.question("commune").choice_filter == "district = ${district}"
    assert q.question("commune").choices[0].properties == {"district": "9601"}
    assert q.question("low").calculation == "if(${overall} <= 2, 'low', 'ok')"
    note = q.questions[0]
    assert note.type == "note" and note.label.get("en") == "Thank you for visiting"
    assert {s.id: s.appearance for s in q.sections} == {"service": "field-list"}
    codes = {(p.row, p.code) for p in result.report}
    assert {(2, "unnamed"), (4, "renamed"), (5, "range_rating"), (6, "renamed")} <= codes
    assert result.left_out == []  # nothing of this form is lost
    assert re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z.\-]*", q.version)


def test_a_csv_form_is_read_by_pyxform_too(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(
        "survey,,,\n,type,name,label\n,integer,age,Tuổi\n,select_one yn,ok,Được không?\n"
        "choices,,,\n,list_name,name,label\n,yn,1,Có\n,yn,0,Không\n",
        encoding="utf-8",
    )
    q = import_xlsform(path).questionnaire
    assert [(x.id, x.type) for x in q.questions] == [("age", "integer"), ("ok", "single")]
    assert q.question("ok").label.get("vi") == "Được không?"


@pytest.mark.parametrize("data", [b"", b"not a workbook", b"PK\x03\x04broken zip", to_xlsx_bytes.__doc__.encode()
                                  if to_xlsx_bytes.__doc__ else b"x"])
def test_garbage_is_refused_with_one_clear_message(data: bytes) -> None:
    with pytest.raises(XLSFormError) as info:
        import_xlsform(BytesIO(data), name="upload.xlsx")
    assert len(info.value.problems) == 1
    assert "XLSForm" in info.value.problems[0].message("en")
    assert "XLSForm" in info.value.problems[0].message("vi")


_CELLS = st.one_of(st.none(), st.sampled_from(["text", "integer", "select_one yn", "begin group", "end group",
                                               "begin repeat", "end repeat", "range", "calculate", "note",
                                               "${a} > 1", "‘x’", "yes", "a-b", "=NOW()", "1", "start=1 end=x"]),
                   st.text(max_size=12))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_CELLS, min_size=6, max_size=6), min_size=1, max_size=6), st.binary(max_size=40))
def test_no_input_ends_in_a_traceback(rows: list[list[object]], tail: bytes) -> None:
    wb = Workbook()
    survey = wb.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label", "relevant", "calculation", "parameters"])
    for row in rows:
        survey.append(["".join(ch for ch in str(c) if ch.isprintable()) if c is not None else None for c in row])
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    choices.append(["yn", "y", "Yes"])
    out = BytesIO()
    wb.save(out)
    for data in (out.getvalue(), out.getvalue()[: len(out.getvalue()) // 2] + tail):
        try:
            import_xlsform(BytesIO(data), name="fuzz.xlsx")
        except XLSFormError as exc:
            assert exc.problems
