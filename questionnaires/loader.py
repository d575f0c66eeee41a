"""Load questionnaire YAML files into immutable objects, validating once.

Every error names the file, the line and the question id and says what is wrong, e.g.
``sipas-2025.yaml:41: question 'c1': unknown type 'scale7'``. ``questionnaires/SCHEMA.md``
documents every field; a test keeps it and :data:`QUESTION_TYPES`, :data:`QUESTIONNAIRE_FIELDS`
and :data:`QUESTION_FIELDS` in step.

Sharing without copy-paste:

* ``extends: other.yaml`` starts from another questionnaire file of the library and changes only
  what differs: top-level fields given here replace the base's, ``choice_lists`` and ``sections``
  are merged by name, and each entry of ``questions`` either changes the base question with the
  same id (only the fields given), removes it (``remove: true``), or adds a new question after
  ``after:`` (or at the end).
* ``include: [shared/demographics.yaml]`` appends the choice lists, sections and questions of a
  fragment file (a fragment is not a questionnaire by itself; fragments live in ``library/shared``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from questionnaires.expressions import ExpressionError, references, uses_current_value
from questionnaires.expressions import validate as validate_expression
from questionnaires.model import (
    Choice,
    Element,
    Question,
    Questionnaire,
    Section,
    SubDimension,
    Text,
    nfc,
)

LIBRARY_DIR = Path(__file__).parent / "library"

QUESTION_TYPES = frozenset(
    {
        "scale5",
        "rating",
        "single",
        "multiple",
        "yesno",
        "integer",
        "decimal",
        "text",
        "longtext",
        "date",
        "dossier_code",
        "consent",
        "note",
    }
)
"""Every question type the loader accepts (documented in ``questionnaires/SCHEMA.md``)."""

CHOICE_TYPES = frozenset({"scale5", "rating", "single", "multiple"})
"""Types whose answers come from a list of choices."""

TYPE_OPTIONS: Mapping[str, frozenset[str]] = {
    "integer": frozenset({"min", "max"}),
    "decimal": frozenset({"min", "max"}),
    "text": frozenset({"max_length", "pattern"}),
    "longtext": frozenset({"max_length"}),
    "dossier_code": frozenset({"pattern", "max_length"}),
}
"""Type-specific options (kept in ``Question.options``); any other type takes none."""

OPTION_FIELDS = frozenset().union(*TYPE_OPTIONS.values())

QUESTION_FIELDS = frozenset(
    {
        "id",
        "type",
        "label",
        "hint",
        "required",
        "choices",
        "relevant",
        "constraint",
        "constraint_message",
        "section",
        "element",
        "subdimension",
        "indicator",
        "direction",
        "satisfied",
        "bounds",
        "personal",
        "retired",
    }
    | OPTION_FIELDS
)
"""Every field a question accepts (besides ``after``/``remove`` inside ``extends``)."""

EXTENDS_QUESTION_FIELDS = frozenset({"after", "before", "remove"})

QUESTIONNAIRE_FIELDS = frozenset(
    {
        "id",
        "version",
        "kind",
        "title",
        "description",
        "notes",
        "languages",
        "extends",
        "include",
        "scoring",
        "choice_lists",
        "sections",
        "questions",
    }
)
"""Every top-level field of a questionnaire file."""

SCORING_FIELDS = frozenset({"satisfied", "overall_rule", "overall_question", "elements", "subdimensions"})
ELEMENT_FIELDS = frozenset({"id", "label", "max_points"})
SUBDIMENSION_FIELDS = frozenset({"id", "element", "label"})
SECTION_FIELDS = frozenset({"id", "label"})
CHOICE_FIELDS = frozenset({"value", "label", "scored"})
FRAGMENT_FIELDS = frozenset({"choice_lists", "sections", "questions", "description", "include"})

KINDS = frozenset({"sipas", "papi", "service", "survey"})
OVERALL_RULES = frozenset({"par_weighted", "mean", "overall_item", "papi_sum", "none"})
DIRECTIONS = frozenset({"positive", "reverse"})
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]*$")


class QuestionnaireError(ValueError):
    """A questionnaire definition is invalid; the message names the file and the question."""


# -- YAML with line numbers -----------------------------------------------------------------


class _Located(dict[str, Any]):
    """A mapping that remembers the line it started on in its file."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Located:
    loader.flatten_mapping(node)
    out = _Located()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise QuestionnaireError(
                f"{Path(node.start_mark.name).name}:{key_node.start_mark.line + 1}: duplicate key {key!r}"
            )
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QuestionnaireError(f"{path.name}: cannot be read: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise QuestionnaireError(f"{path.name}: is not UTF-8 text") from None
    try:
        loader = _LineLoader(text)
        loader.name = str(path)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise QuestionnaireError(f"{path.name}{line}: not valid YAML: {problem}") from exc


def _at(name: str, node: Any) -> str:
    line = getattr(node, "line", 0)
    return f"{name}:{line}" if line else name


# -- extends / include ----------------------------------------------------------------------


def _resolve(path: Path, data: Any, seen: tuple[Path, ...] = ()) -> Any:
    """Apply ``include`` and ``extends`` so that ``data`` is one self-contained definition."""
    name = path.name
    if not isinstance(data, Mapping):
        raise QuestionnaireError(f"{name}: the file must contain a mapping")
    if path.resolve() in seen:
        chain = " → ".join(p.name for p in (*seen, path))
        raise QuestionnaireError(f"{name}: 'extends'/'include' form a cycle: {chain}")
    seen = (*seen, path.resolve())
    data = _Located(data) if not isinstance(data, _Located) else data
    lists = dict(data.get("choice_lists") or {})
    sections = list(data.get("sections") or [])
    questions: list[Any] = []
    items = list(data.get("questions") or [])
    items += [_Located({"include": f}) for f in _as_list(data.get("include"), f"{_at(name, data)}: include")]
    for item in items:
        if not (isinstance(item, Mapping) and "include" in item):
            questions.append(item)
            continue
        if set(item) != {"include"}:
            raise QuestionnaireError(f"{_at(name, item)}: an 'include' entry takes no other field")
        for fragment_name in _as_list(item["include"], f"{_at(name, item)}: include"):
            fragment_path = _sibling(path, fragment_name, name)
            fragment = _read_yaml(fragment_path)
            if not isinstance(fragment, Mapping):
                raise QuestionnaireError(f"{fragment_path.name}: a fragment must contain a mapping")
            unknown = set(fragment) - FRAGMENT_FIELDS
            if unknown:
                raise QuestionnaireError(
                    f"{fragment_path.name}: unknown field(s) {', '.join(sorted(map(str, unknown)))} "
                    f"(a fragment may have {', '.join(sorted(FRAGMENT_FIELDS))})"
                )
            fragment = _resolve(fragment_path, fragment, seen)
            for list_name, choices in (fragment.get("choice_lists") or {}).items():
                lists.setdefault(list_name, choices)
            known = {s.get("id") for s in sections if isinstance(s, Mapping)}
            sections += [s for s in fragment.get("sections") or [] if not (isinstance(s, Mapping) and s.get("id") in known)]
            questions += _tag(list(fragment.get("questions") or []), fragment_path)
    line = data.line
    data = _Located({k: v for k, v in data.items() if k != "include"})
    data.line = line
    if lists:
        data["choice_lists"] = lists
    if sections:
        data["sections"] = sections
    if "questions" in data or questions:
        data["questions"] = questions
    base_name = data.get("extends")
    if base_name is None:
        return data
    base_path = _sibling(path, base_name, name)
    base = _resolve(base_path, _read_yaml(base_path), seen)
    return _merge(base, data, name, base_path.name)


def _tag(questions: list[Any], path: Path) -> list[Any]:
    """Remember which fragment a question came from, for error messages."""
    for q in questions:
        if isinstance(q, _Located) and not hasattr(q, "origin"):
            q.origin = path.name  # type: ignore[attr-defined]
    return questions


def _as_list(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return list(raw)
    raise QuestionnaireError(f"{where}: expected a file name or a list of file names, got {raw!r}")


def _sibling(path: Path, other: Any, name: str) -> Path:
    if not isinstance(other, str) or not other.endswith((".yaml", ".yml")):
        raise QuestionnaireError(f"{name}: expected a .yaml file name, got {other!r}")
    target = (path.parent / other).resolve()
    if not target.is_file():
        raise QuestionnaireError(f"{name}: {other!r} does not exist next to this file")
    return target


def _merge(base: Mapping[str, Any], child: Mapping[str, Any], name: str, base_name: str) -> _Located:
    out = _Located({k: v for k, v in base.items()})
    out.line = getattr(child, "line", 0)
    for key, value in child.items():
        if key in {"extends", "questions", "choice_lists", "sections"}:
            continue
        out[key] = value
    out["choice_lists"] = {**(base.get("choice_lists") or {}), **(child.get("choice_lists") or {})}
    sections = {s["id"]: s for s in base.get("sections") or [] if isinstance(s, Mapping) and "id" in s}
    for s in child.get("sections") or []:
        if isinstance(s, Mapping) and "id" in s:
            sections[s["id"]] = s
    out["sections"] = list(sections.values())
    questions: list[Any] = list(base.get("questions") or [])
    index = {q.get("id"): i for i, q in enumerate(questions) if isinstance(q, Mapping)}
    for change in child.get("questions") or []:
        where = f"{_at(name, change)}: question {change.get('id') if isinstance(change, Mapping) else change!r}"
        if not isinstance(change, Mapping) or "id" not in change:
            raise QuestionnaireError(f"{where}: each entry needs an 'id'")
        qid = change["id"]
        unknown = sorted(str(k) for k in change if k not in QUESTION_FIELDS | EXTENDS_QUESTION_FIELDS)
        if unknown:
            raise QuestionnaireError(f"{where}: unknown field(s) {', '.join(unknown)}")
        if change.get("remove"):
            if qid not in index:
                raise QuestionnaireError(f"{where}: cannot remove it, {base_name} has no such question")
            questions = [q for q in questions if not (isinstance(q, Mapping) and q.get("id") == qid)]
        elif qid in index and "after" not in change and "before" not in change:
            i = next(i for i, q in enumerate(questions) if isinstance(q, Mapping) and q.get("id") == qid)
            merged = _Located({**questions[i], **dict(change.items())})
            merged.line = getattr(change, "line", 0)
            questions[i] = merged
        else:
            if qid in index:
                raise QuestionnaireError(f"{where}: {base_name} already has this question; leave out 'after'/'before' to change it")
            new = _Located({k: v for k, v in change.items() if k not in EXTENDS_QUESTION_FIELDS})
            new.line = getattr(change, "line", 0)
            anchor = change.get("after", change.get("before"))
            if anchor is None:
                questions.append(new)
            else:
                pos = next((i for i, q in enumerate(questions) if isinstance(q, Mapping) and q.get("id") == anchor), None)
                if pos is None:
                    raise QuestionnaireError(f"{where}: '{'after' if 'after' in change else 'before'}: {anchor}' names no question of the questionnaire")
                questions.insert(pos + (1 if "after" in change else 0), new)
        index = {q.get("id"): i for i, q in enumerate(questions) if isinstance(q, Mapping)}
    out["questions"] = questions
    out["based_on"] = base_name
    return out


# -- building the objects ---------------------------------------------------------------------


class _Builder:
    def __init__(self, name: str, languages: tuple[str, ...]) -> None:
        self.name = name
        self.languages = languages

    def text(self, raw: Any, where: str) -> Text:
        if isinstance(raw, str):
            values = {"vi": nfc(raw)}
        elif isinstance(raw, Mapping) and raw and all(isinstance(v, str) and v.strip() for v in raw.values()):
            values = {str(k): nfc(v) for k, v in raw.items()}
        else:
            raise QuestionnaireError(f"{where}: expected text or a mapping of language to text, got {raw!r}")
        missing = [lang for lang in self.languages if lang not in values]
        if missing:
            raise QuestionnaireError(f"{where}: text missing in language(s) {', '.join(missing)}: {raw!r}")
        return Text(values)

    def fields(self, raw: Any, allowed: frozenset[str], where: str) -> Mapping[str, Any]:
        if not isinstance(raw, Mapping):
            raise QuestionnaireError(f"{where}: expected a mapping, got {raw!r}")
        unknown = sorted(str(k) for k in raw if k not in allowed)
        if unknown:
            raise QuestionnaireError(
                f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
            )
        return raw

    def choices(self, raw: Any, lists: Mapping[str, Any], where: str) -> tuple[Choice, ...]:
        if raw is None:
            return ()
        if isinstance(raw, str):
            if raw not in lists:
                raise QuestionnaireError(f"{where}: unknown choice list {raw!r}")
            raw = lists[raw]
        if not isinstance(raw, list) or not raw:
            raise QuestionnaireError(f"{where}: choices must be a non-empty list or a list name")
        out = []
        for i, c in enumerate(raw):
            if not isinstance(c, Mapping) or "value" not in c or "label" not in c:
                raise QuestionnaireError(f"{where}: choice #{i + 1} needs 'value' and 'label'")
            self.fields(c, CHOICE_FIELDS, f"{where}: choice {c['value']!r}")
            value = c["value"]
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise QuestionnaireError(f"{where}: choice value {value!r} must be a whole number or a word")
            if isinstance(value, str) and not _ID.match(value):
                raise QuestionnaireError(
                    f"{where}: choice value {value!r} must be letters, digits and '_' (it is stored and exported)"
                )
            out.append(Choice(value=value, label=self.text(c["label"], f"{where}: choice {value!r}"),
                              scored=bool(c.get("scored", True))))
        values = [c.value for c in out]
        if len(set(values)) != len(values):
            raise QuestionnaireError(f"{where}: duplicate choice values {values!r}")
        return tuple(out)


def _number(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise QuestionnaireError(f"{where}: expected a number, got {raw!r}")
    return float(raw)


def _question(
    b: _Builder, q: Any, i: int, lists: Mapping[str, Any], earlier: list[str], ctx: Mapping[str, set[str]]
) -> Question:
    origin = getattr(q, "origin", b.name)
    if not isinstance(q, Mapping) or "id" not in q:
        raise QuestionnaireError(f"{_at(origin, q)}: question #{i + 1} has no 'id'")
    qid = str(q["id"])
    where = f"{_at(origin, q)}: question {qid!r}"
    if not _ID.match(qid):
        raise QuestionnaireError(f"{where}: an id is letters, digits and '_', starting with a letter")
    b.fields(q, QUESTION_FIELDS, where)
    qtype = q.get("type")
    if qtype not in QUESTION_TYPES:
        raise QuestionnaireError(
            f"{where}: unknown type {qtype!r} (expected one of {', '.join(sorted(QUESTION_TYPES))})"
        )
    options = {k: q[k] for k in OPTION_FIELDS if k in q}
    wrong = sorted(set(options) - TYPE_OPTIONS.get(qtype, frozenset()))
    if wrong:
        raise QuestionnaireError(f"{where}: option(s) {', '.join(wrong)} do not apply to type {qtype!r}")
    for key in ("min", "max"):
        if key in options:
            _number(options[key], f"{where}: {key}")
    if "min" in options and "max" in options and options["min"] > options["max"]:
        raise QuestionnaireError(f"{where}: min {options['min']} is above max {options['max']}")
    if "max_length" in options and (not isinstance(options["max_length"], int) or options["max_length"] < 1):
        raise QuestionnaireError(f"{where}: max_length must be a positive whole number")
    if "pattern" in options:
        try:
            re.compile(str(options["pattern"]))
        except re.error as exc:
            raise QuestionnaireError(f"{where}: pattern {options['pattern']!r} is not a valid regular expression: {exc}") from None
    choices = b.choices(q.get("choices"), lists, where)
    if qtype in CHOICE_TYPES and not choices:
        raise QuestionnaireError(f"{where}: type {qtype!r} needs choices")
    if qtype not in CHOICE_TYPES and choices:
        raise QuestionnaireError(f"{where}: type {qtype!r} takes no choices")
    if qtype == "scale5":
        scored = sorted(int(c.value) for c in choices if c.scored and isinstance(c.value, int))
        scored += [-1] * sum(1 for c in choices if c.scored and not isinstance(c.value, int))
        if scored != [1, 2, 3, 4, 5]:
            raise QuestionnaireError(
                f"{where}: a scale5 question scores exactly the values 1–5 (other choices need 'scored: false'), got {scored!r}"
            )
    if qtype == "rating" and not all(isinstance(c.value, int) for c in choices if c.scored):
        raise QuestionnaireError(f"{where}: a rating scale's scored values must be whole numbers")
    for key, known, what in (("element", ctx["elements"], "element"), ("subdimension", ctx["subdimensions"], "sub-dimension"),
                             ("section", ctx["sections"], "section")):
        if q.get(key) is not None and q[key] not in known:
            raise QuestionnaireError(f"{where}: unknown {what} {q[key]!r} (declare it first)")
    if q.get("subdimension") is not None and q.get("element") is None:
        raise QuestionnaireError(f"{where}: a question with a sub-dimension needs its element/dimension")
    if q.get("subdimension") is not None and ctx["subdimension_parent"][q["subdimension"]] != q["element"]:  # type: ignore[index]
        raise QuestionnaireError(f"{where}: sub-dimension {q['subdimension']!r} is not part of element {q['element']!r}")
    direction = q.get("direction", "positive")
    if direction not in DIRECTIONS:
        raise QuestionnaireError(f"{where}: direction must be 'positive' or 'reverse', got {direction!r}")
    satisfied = None
    if q.get("satisfied") is not None:
        raw = q["satisfied"]
        values = {c.value for c in choices}
        if not isinstance(raw, list) or not raw or any(v not in values for v in raw):
            raise QuestionnaireError(f"{where}: 'satisfied' must list some of the choice values {sorted(map(str, values))}")
        satisfied = tuple(raw)
    bounds = None
    if q.get("bounds") is not None:
        raw = q["bounds"]
        if not isinstance(raw, list) or len(raw) != 2:
            raise QuestionnaireError(f"{where}: 'bounds' is [lowest, highest] possible answer, got {raw!r}")
        low, high = _number(raw[0], f"{where}: bounds"), _number(raw[1], f"{where}: bounds")
        if not low < high:
            raise QuestionnaireError(f"{where}: bounds {raw!r} must go from low to high")
        bounds = (low, high)
    if (qtype == "note" or qtype == "consent") and q.get("element") is not None:
        raise QuestionnaireError(f"{where}: a {qtype} cannot feed a scoring element")
    relevant = q.get("relevant")
    if relevant is not None:
        try:
            validate_expression(str(relevant), set(earlier))
        except ExpressionError as exc:
            raise QuestionnaireError(f"{where}: relevant: {exc}") from None
        if uses_current_value(str(relevant)):
            raise QuestionnaireError(f"{where}: relevant: '.' (this answer) only makes sense in a constraint")
    constraint = q.get("constraint")
    if constraint is not None:
        try:
            validate_expression(str(constraint), set(earlier) | {qid})
        except ExpressionError as exc:
            raise QuestionnaireError(f"{where}: constraint: {exc}") from None
        if not uses_current_value(str(constraint)) and qid not in references(str(constraint)):
            raise QuestionnaireError(f"{where}: constraint: should test this answer with '.'")
    if q.get("constraint_message") is not None and constraint is None and "pattern" not in options:
        raise QuestionnaireError(f"{where}: constraint_message without a constraint or pattern")
    return Question(
        id=qid,
        type=qtype,
        label=b.text(q.get("label"), f"{where}: label") if q.get("label") is not None else _missing(where, "label"),
        required=_bool(q.get("required", False), f"{where}: required"),
        choices=choices,
        hint=b.text(q["hint"], f"{where}: hint") if q.get("hint") else None,
        element=q.get("element"),
        relevant=str(relevant) if relevant is not None else None,
        personal=_bool(q.get("personal", qtype == "dossier_code"), f"{where}: personal"),
        options=options,
        constraint=str(constraint) if constraint is not None else None,
        constraint_message=b.text(q["constraint_message"], f"{where}: constraint_message")
        if q.get("constraint_message") is not None else None,
        section=q.get("section"),
        subdimension=q.get("subdimension"),
        indicator=str(q["indicator"]) if q.get("indicator") is not None else None,
        direction=direction,
        satisfied=satisfied,
        bounds=bounds,
        retired=_bool(q.get("retired", False), f"{where}: retired"),
    )


def _missing(where: str, field: str) -> Text:
    raise QuestionnaireError(f"{where}: missing required field {field!r}")


def _bool(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        raise QuestionnaireError(f"{where}: expected true or false, got {raw!r}")
    return raw


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
    b = _Builder(name, tuple(languages))
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
                                max_points=_number(e["max_points"], w) if e.get("max_points") is not None else None))
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
        sections.append(Section(id=str(s["id"]), label=b.text(s["label"], w)))
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
        question = _question(b, q, i, lists, seen, ctx)
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


def resolve_file(path: Path) -> Any:
    """The definition in ``path`` with ``extends``/``include`` applied (plain data)."""
    path = Path(path)
    return _resolve(path, _read_yaml(path))


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
