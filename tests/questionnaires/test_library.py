"""The questionnaire library: everything loads and validates, errors say where, sharing works."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from questionnaires import QuestionnaireError, load_file, load_library
from questionnaires.loader import (
    LIBRARY_DIR,
    OPTION_FIELDS,
    QUESTION_FIELDS,
    QUESTION_TYPES,
    QUESTIONNAIRE_FIELDS,
    SCORING_FIELDS,
    latest_versions,
)

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = load_library()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """\
id: t
version: "1"
title: {vi: Thử, en: Test}
questions:
  - id: q1
    type: yesno
    label: {vi: "Có không?", en: "Yes or no?"}
"""


def test_every_questionnaire_the_issue_asks_for_is_in_the_library() -> None:
    ids = {q.id for q in LIBRARY.values()}
    assert {"sipas", "sipas-kiosk", "papi-household", "service-hospital", "service-school",
            "service-infrastructure"} <= ids
    assert {"sipas-certification", "sipas-construction", "sipas-land", "sipas-commune", "sipas-business"} <= ids
    assert {("sipas", "2017.1"), ("sipas", "2025.1")} <= set(LIBRARY)


@pytest.mark.parametrize("key", sorted(LIBRARY), ids=lambda k: f"{k}")
def test_each_questionnaire_is_bilingual_nfc_and_consistent(key: tuple[str, str]) -> None:
    q = LIBRARY[key]
    texts = [q.title, *(x.label for x in q.questions), *(c.label for x in q.questions for c in x.choices),
             *(x.hint for x in q.questions if x.hint), *(e.label for e in q.elements)]
    for text in texts:
        assert set(text.values) >= {"vi", "en"}
        for value in text.values.values():
            assert value == unicodedata.normalize("NFC", value) and value.strip()
    assert q.content_hash == load_file(LIBRARY_DIR / q.source).content_hash  # loading is deterministic


def test_sipas_versions_have_their_criteria_split_over_five_elements() -> None:
    def split(q: object) -> list[int]:
        return [sum(1 for c in q.scored_questions() if c.element == e.id) for e in q.elements]  # type: ignore[attr-defined]

    assert split(LIBRARY["sipas", "2017.1"]) == [4, 5, 6, 3, 4]
    assert split(LIBRARY["sipas", "2025.1"]) == [3, 4, 3, 3, 3]
    current = LIBRARY["sipas", "2025.1"]
    assert [e.max_points for e in current.elements] == [1.5, 1.5, 2.5, 2.5, 2.0]
    assert sum(1 for x in current.active_questions() if x.id.startswith("expect_")) == 10
    assert {"consent", "received_result", "channel", "sex", "age", "ethnicity", "education", "occupation"} <= {
        x.id for x in current.active_questions()}
    # criteria the 2017 form asked and 2025 does not: readable, not asked, not scored
    retired = [x for x in current.questions if x.retired]
    assert {x.id for x in retired} <= {x.id for x in LIBRARY["sipas", "2017.1"].questions}
    assert len(retired) == 14 and not {x.id for x in retired} & {x.id for x in current.scored_questions()}
    na = current.question("access_signs").choices
    assert [c.value for c in na if not c.scored] == [8, 9]


def test_service_variants_share_the_core_and_differ_only_where_the_service_does() -> None:
    base = LIBRARY["sipas", "2025.1"]
    core = [x.to_dict() for x in base.scored_questions()]
    for qid in ("sipas-certification", "sipas-construction", "sipas-land", "sipas-commune", "sipas-business"):
        variant = latest_versions(LIBRARY)[qid]
        assert variant.based_on == "sipas-2025.yaml"
        assert [x.to_dict() for x in variant.scored_questions()] == [
            c for c in core if c["id"] != "procedure_documents" or qid != "sipas-construction"
        ] or qid == "sipas-construction"
        assert "service_field" not in {x.id for x in variant.questions}
    construction = LIBRARY["sipas-construction", "2025.1"]
    assert construction.question("procedure_documents").hint is not None
    ids = [x.id for x in construction.questions]
    assert ids.index("site_inspection") == ids.index("procedure_time_limit") + 1
    # the variant files are short: sharing is real, not copy-paste
    for name in ("sipas-certification.yaml", "sipas-construction.yaml", "sipas-land.yaml"):
        assert len((LIBRARY_DIR / name).read_text(encoding="utf-8").splitlines()) < 60


def test_kiosk_keeps_its_ids_and_adds_the_dossier_code_first() -> None:
    old, new = LIBRARY["sipas-kiosk", "2025.1"], latest_versions(LIBRARY)["sipas-kiosk"]
    assert new.version == "2025.2"
    kept = ["access_facilities", "procedure_as_regulated", "servant_conduct", "result_on_time", "feedback_channel", "comment"]
    assert [x.id for x in old.questions] == kept
    assert new.questions[0].id == "dossier_code" and new.questions[0].type == "dossier_code"
    assert not new.questions[0].required and new.questions[0].personal and "pattern" in new.questions[0].options
    assert [x.id for x in new.questions if x.id in kept] == kept
    assert [(e.id, e.max_points) for e in new.elements] == [
        ("access", 1.5), ("procedure", 1.5), ("civil_servant", 2.5), ("result", 2.5), ("feedback", 2.0)]
    # a published version never changes: 2025.1's hash is pinned
    assert old.content_hash == "1a058432a1d37e31fe50b8264a94f43482c5a0c1293667a40b11c36dfe1a8329"
    assert new.content_hash != old.content_hash


def test_papi_covers_eight_dimensions_and_says_it_is_modelled() -> None:
    papi = LIBRARY["papi-household", "2025.1"]
    assert len(papi.elements) == 8 and len(papi.subdimensions) == 28
    assert {s.id for s in papi.subdimensions} == {x.subdimension for x in papi.scored_questions()}
    assert "not the official PAPI" in papi.notes.get("en")  # type: ignore[union-attr]
    assert all(x.bounds is not None for x in papi.scored_questions())
    bribe = papi.question("c_bribe_hospital")
    assert bribe.reverse and bribe.rescale(1) == 10.0 and bribe.rescale(5) == 1.0
    assert papi.question("t_info_easy").rescale(4) == 10.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL.replace("yesno", "scale7"), r"t\.yaml:5: question 'q1': unknown type 'scale7'"),
        (MINIMAL + "    colour: red\n", r"question 'q1': unknown field\(s\) colour"),
        (MINIMAL.replace('{vi: "Có không?", en: "Yes or no?"}', "Có không"), r"question 'q1': label: text missing in language\(s\) en"),
        (MINIMAL + "    relevant: \"${q9} = 1\"\n", r"question 'q1': relevant: .*unknown or later question\(s\): q9"),
        (MINIMAL + "    relevant: \"${q1} ==\"\n", r"question 'q1': relevant: expected"),
        (MINIMAL + "  - id: q1\n    type: note\n    label: {vi: a, en: b}\n", r"t\.yaml:8: question 'q1': duplicate question id"),
        (MINIMAL + "    min: 3\n", r"option\(s\) min do not apply to type 'yesno'"),
        (MINIMAL + "    element: nope\n", r"unknown element 'nope'"),
        (MINIMAL.replace("id: t\n", "id: t\nid: u\n"), r"t\.yaml:2: duplicate key 'id'"),
        (MINIMAL + "  - id: q2\n    type: scale5\n    choices: [{value: 1, label: {vi: a, en: a}}]\n    label: {vi: a, en: b}\n",
         r"scale5 question scores exactly the values 1–5"),
        ("id: t\n  bad: [\n", r"t\.yaml:\d+: not valid YAML"),
    ],
)
def test_errors_name_the_file_line_and_question(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(QuestionnaireError, match=message):
        load_file(write(tmp_path, "t.yaml", text))


def test_extends_and_include_and_cycles(tmp_path: Path) -> None:
    write(tmp_path, "frag.yaml", "questions:\n  - {id: f1, type: text, label: {vi: á, en: a}}\n")
    write(tmp_path, "base.yaml", MINIMAL + "  - include: frag.yaml\n  - {id: q3, type: note, label: {vi: c, en: c}}\n")
    child = write(tmp_path, "child.yaml", 'extends: base.yaml\nid: c\nversion: "2"\nquestions:\n'
                  "  - {id: q0, before: q1, type: date, label: {vi: d, en: d}}\n  - {id: f1, required: true}\n"
                  "  - {id: q3, remove: true}\n")
    q = load_file(child)
    assert [x.id for x in q.questions] == ["q0", "q1", "f1"] and q.question("f1").required
    assert q.title.get("en") == "Test" and q.based_on == "base.yaml"
    write(tmp_path, "a.yaml", 'extends: b.yaml\nid: a\nversion: "1"\n')
    write(tmp_path, "b.yaml", 'extends: a.yaml\nid: b\nversion: "1"\n')
    with pytest.raises(QuestionnaireError, match="cycle"):
        load_file(tmp_path / "a.yaml")
    bad = write(tmp_path, "bad.yaml", 'extends: base.yaml\nid: x\nversion: "1"\nquestions:\n  - {id: zz, remove: true}\n')
    with pytest.raises(QuestionnaireError, match=r"bad\.yaml:5: question 'zz': cannot remove it"):
        load_file(bad)


def test_a_papi_definition_needs_bounds_and_an_indicator_per_subdimension(tmp_path: Path) -> None:
    papi = """\
id: p
version: "1"
kind: papi
title: {vi: P, en: P}
scoring:
  overall_rule: papi_sum
  elements: [{id: d1, label: {vi: D1, en: D1}}]
  subdimensions:
    - {id: s1, element: d1, label: {vi: S1, en: S1}}
    - {id: s2, element: d1, label: {vi: S2, en: S2}}
questions:
  - {id: q1, type: yesno, element: d1, subdimension: s1, bounds: [0, 1], label: {vi: a, en: a}}
"""
    with pytest.raises(QuestionnaireError, match="sub-dimension\\(s\\) s2 have no indicator"):
        load_file(write(tmp_path, "p.yaml", papi))
    with pytest.raises(QuestionnaireError, match="needs its sub-dimension and theoretical 'bounds'"):
        load_file(write(tmp_path, "p.yaml", papi.replace(", bounds: [0, 1]", "").replace(
            "    - {id: s2, element: d1, label: {vi: S2, en: S2}}\n", "")))


def test_text_is_stored_nfc(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Hài lòng")
    q = load_file(write(tmp_path, "t.yaml", MINIMAL.replace("Thử", decomposed)))
    assert q.title.get("vi") == "Hài lòng" and q.title.get("vi") != decomposed


def test_a_question_id_keeps_its_type_across_versions(tmp_path: Path) -> None:
    write(tmp_path, "v1.yaml", MINIMAL)
    write(tmp_path, "v2.yaml", MINIMAL.replace('"1"', '"2"').replace("yesno", "integer"))
    with pytest.raises(QuestionnaireError, match="keeps its meaning across versions"):
        load_library(tmp_path)


def test_schema_documents_every_type_and_field() -> None:
    schema = (ROOT / "questionnaires" / "SCHEMA.md").read_text(encoding="utf-8")
    first_cells = set(re.findall(r"^\| `([a-z_0-9]+)` \|", schema, flags=re.MULTILINE))
    assert QUESTION_TYPES <= first_cells, sorted(QUESTION_TYPES - first_cells)
    for fields in (QUESTION_FIELDS, QUESTIONNAIRE_FIELDS, SCORING_FIELDS, OPTION_FIELDS, {"after", "before", "remove"}):
        assert fields <= first_cells, sorted(fields - first_cells)
    documented_types = set(re.findall(r"^\| `([a-z_0-9]+)` \| [^|]+ \| [^|]+ \|$", schema.split("## Question types")[1].split("##")[0], flags=re.MULTILINE))
    assert documented_types == QUESTION_TYPES  # no stale type either


def test_questionnaires_package_imports_no_web_framework() -> None:
    code = ("import sys, questionnaires, questionnaires.expressions, questionnaires.xlsform, questionnaires.questionnaires_command; "
            "questionnaires.load_library(); bad = {'flask', 'sqlalchemy', 'wtforms'} & set(sys.modules); "
            "print(sorted(bad)); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
