"""Load questionnaire YAML files into immutable objects, validating once.

Every error names the file, the line and the question id and says what is wrong, e.g.
``sipas-2025.yaml:41: question 'c1': unknown type 'scale7'``. The work is shared by
:mod:`questionnaires.source` (reading YAML with line numbers, ``extends`` and ``include``),
:mod:`questionnaires.questions` (one question and its choices) and this module (the
questionnaire as a whole, and the library). ``questionnaires/SCHEMA.md`` documents every field;
a test keeps it and the tables of :mod:`questionnaires.schema` in step.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from questionnaires.model import Element, Question, Questionnaire, Section, SubDimension
from questionnaires.questions import Builder, appearance, build_question, number
from questionnaires.schema import (
    ELEMENT_FIELDS,
    KINDS,
    OPTION_FIELDS,
    OVERALL_RULES,
    QUESTION_FIELDS,
    QUESTION_TYPES,
    QUESTIONNAIRE_FIELDS,
    SCORING_FIELDS,
    SECTION_FIELDS,
    SUBDIMENSION_FIELDS,
)
from questionnaires.schema import VERSION_PATTERN as _VERSION
from questionnaires.source import QuestionnaireError, resolve_file
from questionnaires.source import at as _at

__all__ = [
    "LIBRARY_DIR",
    "OPTION_FIELDS",
    "QUESTIONNAIRE_FIELDS",
    "QUESTION_FIELDS",
    "QUESTION_TYPES",
    "SCORING_FIELDS",
    "QuestionnaireError",
    "latest_versions",
    "load_file",
    "load_library",
    "parse",
    "resolve_file",
    "version_key",
]

LIBRARY_DIR = Path(__file__).parent / "library"


def parse(data: Any, name: str) -> Questionnaire:
    """Build a :class:`Questionnaire` from parsed YAML ``data``; ``name`` is used in errors.

    ``data`` must be self-contained (``extends``/``include`` are resolved by :func:`load_file`).
    """
    if not isinstance(data, Mapping):
        raise QuestionnaireError(f"{name}: the file must contain a mapping")
    unknown = sorted(str(k) for k in data if k not in QUESTIONNAIRE_FIELDS | {"based_on"})
    if unknown:
        raise QuestionnaireError(
            f"{name}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(QUESTIONNAIRE_FIELDS))})"
        )
    for key in ("id", "version", "title", "questions"):
        if key not in data:
            raise QuestionnaireError(f"{name}: missing required field {key!r}")
    if data.get("extends") or data.get("include"):
        raise QuestionnaireError(f"{name}: 'extends'/'include' are resolved by load_file; pass a file path")
    qn_id, version = str(data["id"]), str(data["version"])
    if not re.match(r"^[a-z0-9][a-z0-9\-_]*$", qn_id):
        raise QuestionnaireError(f"{name}: id {qn_id!r} must be lower-case letters, digits, '-' and '_'")
    if not _VERSION.match(version):
        raise QuestionnaireError(f"{name}: version {version!r} must be letters, digits, '.' and '-'")
    languages = data.get("languages", ["vi", "en"])
    if not isinstance(languages, list) or "vi" not in languages or not all(isinstance(x, str) for x in languages):
        raise QuestionnaireError(f"{name}: languages must be a list that includes 'vi' (the default), got {languages!r}")
    kind = str(data.get("kind", "survey"))
    if kind not in KINDS:
        raise QuestionnaireError(f"{name}: kind must be one of {', '.join(sorted(KINDS))}, got {kind!r}")
    b = Builder(name, tuple(languages))
    lists = data.get("choice_lists") or {}
    if not isinstance(lists, Mapping):
        raise QuestionnaireError(f"{name}: choice_lists must map a list name to its choices")
    for list_name, raw_list in lists.items():
        b.choices(raw_list, {}, f"{_at(name, raw_list)}: choice list {list_name!r}")
    scoring = b.fields(data.get("scoring") or {}, SCORING_FIELDS, f"{name}: scoring")
    elements = []
    for e in scoring.get("elements") or []:
        w = f"{_at(name, e)}: element {e.get('id') if isinstance(e, Mapping) else e!r}"
        b.fields(e, ELEMENT_FIELDS, w)
        if "id" not in e or "label" not in e:
            raise QuestionnaireError(f"{w}: needs 'id' and 'label'")
        elements.append(Element(id=str(e["id"]), label=b.text(e["label"], w),
                                max_points=number(e["max_points"], w) if e.get("max_points") is not None else None))
    subdimensions = []
    element_ids = {e.id for e in elements}
    for s in scoring.get("subdimensions") or []:
        w = f"{_at(name, s)}: sub-dimension {s.get('id') if isinstance(s, Mapping) else s!r}"
        b.fields(s, SUBDIMENSION_FIELDS, w)
        if not {"id", "element", "label"} <= set(s):
            raise QuestionnaireError(f"{w}: needs 'id', 'element' and 'label'")
        if s["element"] not in element_ids:
            raise QuestionnaireError(f"{w}: unknown element {s['element']!r}")
        subdimensions.append(SubDimension(id=str(s["id"]), element=str(s["element"]), label=b.text(s["label"], w)))
    sections = []
    for s in data.get("sections") or []:
        w = f"{_at(name, s)}: section {s.get('id') if isinstance(s, Mapping) else s!r}"
        b.fields(s, SECTION_FIELDS, w)
        if "id" not in s or "label" not in s:
            raise QuestionnaireError(f"{w}: needs 'id' and 'label'")
        sections.append(Section(id=str(s["id"]), label=b.text(s["label"], w), appearance=appearance(s.get("appearance"), w)))
    for what, ids in (("element", [e.id for e in elements]), ("sub-dimension", [s.id for s in subdimensions]),
                      ("section", [s.id for s in sections])):
        if len(set(ids)) != len(ids):
            raise QuestionnaireError(f"{name}: duplicate {what} ids in {ids!r}")
    ctx: dict[str, Any] = {
        "elements": element_ids,
        "subdimensions": {s.id for s in subdimensions},
        "sections": {s.id for s in sections},
        "subdimension_parent": {s.id: s.element for s in subdimensions},
    }
    if not isinstance(data["questions"], list) or not data["questions"]:
        raise QuestionnaireError(f"{name}: questions must be a non-empty list")
    questions: list[Question] = []
    seen: list[str] = []
    for i, q in enumerate(data["questions"]):
        question = build_question(b, q, i, lists, seen, ctx)
        if question.id in seen:
            raise QuestionnaireError(f"{_at(getattr(q, 'origin', name), q)}: question {question.id!r}: duplicate question id")
        seen.append(question.id)
        questions.append(question)
    satisfied = scoring.get("satisfied", [4, 5])
    if not isinstance(satisfied, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in satisfied):
        raise QuestionnaireError(f"{name}: scoring: satisfied must be a list of whole numbers, got {satisfied!r}")
    overall_rule = str(scoring.get("overall_rule", "par_weighted" if elements else "none"))
    if overall_rule not in OVERALL_RULES:
        raise QuestionnaireError(
            f"{name}: scoring: overall_rule must be one of {', '.join(sorted(OVERALL_RULES))}, got {overall_rule!r}"
        )
    if overall_rule == "overall_item":
        oq = scoring.get("overall_question")
        if oq not in seen:
            raise QuestionnaireError(f"{name}: scoring: overall_rule 'overall_item' needs overall_question naming a question")
    for e in elements:
        if not any(q.element == e.id for q in questions):
            raise QuestionnaireError(f"{name}: element {e.id!r} has no question feeding it")
    if kind == "papi":
        empty = [s.id for s in subdimensions if not any(q.subdimension == s.id and not q.retired for q in questions)]
        if empty:
            raise QuestionnaireError(f"{name}: sub-dimension(s) {', '.join(empty)} have no indicator")
        for q in questions:
            if q.element is not None and (q.bounds is None or q.subdimension is None):
                raise QuestionnaireError(
                    f"{name}: question {q.id!r}: a PAPI indicator needs its sub-dimension and theoretical 'bounds'"
                )
    return Questionnaire(
        id=qn_id,
        version=version,
        kind=kind,
        title=b.text(data["title"], f"{name}: title"),
        description=b.text(data["description"], f"{name}: description") if data.get("description") else None,
        languages=tuple(languages),
        questions=tuple(questions),
        elements=tuple(elements),
        satisfied=tuple(int(v) for v in satisfied),
        overall_rule=overall_rule,
        source=name,
        subdimensions=tuple(subdimensions),
        sections=tuple(sections),
        notes=b.text(data["notes"], f"{name}: notes") if data.get("notes") else None,
        based_on=str(data["based_on"]) if data.get("based_on") else None,
        overall_question=str(scoring["overall_question"]) if scoring.get("overall_question") else None,
        choice_lists={str(k): b.choices(v, {}, f"{name}: choice list {k!r}") for k, v in lists.items()},
    )


def load_file(path: Path) -> Questionnaire:
    """Load and validate one questionnaire file."""
    path = Path(path)
    return parse(resolve_file(path), path.name)


_LIBRARY_LOCK = threading.Lock()


def load_library(directory: Path = LIBRARY_DIR) -> Mapping[tuple[str, str], Questionnaire]:
    """Every questionnaire in ``directory`` keyed by ``(id, version)``, loaded once per process
    (threads that ask at the same time wait for one parse instead of each parsing it)."""
    with _LIBRARY_LOCK:
        return _load_library(Path(directory))


@cache
def _load_library(directory: Path) -> Mapping[tuple[str, str], Questionnaire]:
    out: dict[tuple[str, str], Questionnaire] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        q = load_file(path)
        if q.key in out:
            raise QuestionnaireError(f"{path.name}: {q.id} version {q.version} is defined twice")
        out[q.key] = q
    _check_versions(out)
    return out


def _check_versions(library: Mapping[tuple[str, str], Questionnaire]) -> None:
    """Across versions of one questionnaire a question id keeps its type (results combine by id)."""
    by_id: dict[str, dict[str, tuple[str, str]]] = {}
    for q in library.values():
        types = by_id.setdefault(q.id, {})
        for question in q.questions:
            seen = types.setdefault(question.id, (question.type, q.version))
            if seen[0] != question.type:
                raise QuestionnaireError(
                    f"{q.source}: question {question.id!r} is {question.type!r} here but {seen[0]!r} in "
                    f"version {seen[1]}: a question id keeps its meaning across versions; use a new id"
                )


def latest_versions(library: Mapping[tuple[str, str], Questionnaire]) -> dict[str, Questionnaire]:
    """The newest version of each questionnaire id (versions compared part by part)."""
    out: dict[str, Questionnaire] = {}
    for q in library.values():
        if q.id not in out or version_key(q.version) > version_key(out[q.id].version):
            out[q.id] = q
    return out


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key for versions such as ``2017.1`` < ``2025.1`` < ``2025.10``."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-]", version))
