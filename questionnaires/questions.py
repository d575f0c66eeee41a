"""Building one validated :class:`~questionnaires.model.Question` (and its choices) from data.

Used by :func:`questionnaires.loader.parse`; every error names the file, the line and the
question id and says what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from questionnaires.expressions import ExpressionError, choice_names, references, uses_current_value
from questionnaires.expressions import validate as validate_expression
from questionnaires.model import Choice, Question, Text, nfc
from questionnaires.schema import (
    CHOICE_FIELDS,
    CHOICE_TYPES,
    DIRECTIONS,
    OPTION_FIELDS,
    QUESTION_FIELDS,
    QUESTION_TYPES,
    TYPE_OPTIONS,
)
from questionnaires.schema import ID_PATTERN as _ID
from questionnaires.source import QuestionnaireError
from questionnaires.source import at as _at
from questionnaires.types import TYPES

_CHOICE_VALUE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_APPEARANCE = re.compile(r"^[a-z0-9][a-z0-9\-]*( [a-z0-9][a-z0-9\-]*)*$")


def appearance(raw: Any, where: str) -> str | None:
    """An XLSForm appearance: words of lower-case letters, digits and '-' (passed to ODK unchanged)."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not _APPEARANCE.match(raw):
        raise QuestionnaireError(f"{where}: appearance must be words such as 'field-list' or 'multiline', got {raw!r}")
    return raw


class Builder:
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
            if isinstance(value, str) and not _CHOICE_VALUE.match(value):
                raise QuestionnaireError(
                    f"{where}: choice value {value!r} must be letters, digits, '_', '-' and '.' "
                    "(it is stored and exported)"
                )
            properties = c.get("properties") or {}
            if not isinstance(properties, Mapping) or not all(
                    isinstance(k, str) and _ID.match(k) and isinstance(v, str | int | float) for k, v in properties.items()):
                raise QuestionnaireError(f"{where}: choice {value!r}: properties map a column name to a value")
            out.append(Choice(value=value, label=self.text(c["label"], f"{where}: choice {value!r}"),
                              scored=bool(c.get("scored", True)),
                              properties={str(k): str(v) for k, v in properties.items()}))
        values = [c.value for c in out]
        if len(set(values)) != len(values):
            raise QuestionnaireError(f"{where}: duplicate choice values {values!r}")
        return tuple(out)


def number(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise QuestionnaireError(f"{where}: expected a number, got {raw!r}")
    return float(raw)


def build_question(
    b: Builder, q: Any, i: int, lists: Mapping[str, Any], earlier: list[str], ctx: Mapping[str, set[str]]
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
            number(options[key], f"{where}: {key}")
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
        low, high = number(raw[0], f"{where}: bounds"), number(raw[1], f"{where}: bounds")
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
    calculation = q.get("calculation")
    if (qtype == "calculate") != (calculation is not None):
        raise QuestionnaireError(f"{where}: a 'calculate' question needs a 'calculation', and only it takes one")
    if calculation is not None:
        try:
            validate_expression(str(calculation), set(earlier))
        except ExpressionError as exc:
            raise QuestionnaireError(f"{where}: calculation: {exc}") from None
    if q.get("required_message") is not None and not q.get("required"):
        raise QuestionnaireError(f"{where}: required_message without 'required: true'")
    default = q.get("default")
    if default is not None and not TYPES[qtype].answered:
        raise QuestionnaireError(f"{where}: a {qtype} question takes no default")
    choice_filter = q.get("choice_filter")
    if choice_filter is not None:
        if qtype not in CHOICE_TYPES:
            raise QuestionnaireError(f"{where}: choice_filter applies only to questions with choices")
        try:
            validate_expression(str(choice_filter), set(earlier), columns=True)
        except ExpressionError as exc:
            raise QuestionnaireError(f"{where}: choice_filter: {exc}") from None
        columns = {k for c in choices for k in c.properties} | {"name", "label"}
        unknown_columns = sorted(choice_names(str(choice_filter)) - columns)
        if unknown_columns:
            raise QuestionnaireError(
                f"{where}: choice_filter names choice column(s) {', '.join(unknown_columns)} that no choice has")
    if qtype == "calculate":
        label = b.text(q["label"], f"{where}: label") if q.get("label") is not None else Text(
            {lang: qid for lang in b.languages})
    else:
        label = b.text(q.get("label"), f"{where}: label") if q.get("label") is not None else _missing(where, "label")
    return Question(
        id=qid,
        type=qtype,
        label=label,
        required=_bool(q.get("required", False), f"{where}: required"),
        choices=choices,
        hint=b.text(q["hint"], f"{where}: hint") if q.get("hint") else None,
        element=q.get("element"),
        relevant=str(relevant) if relevant is not None else None,
        personal=_bool(q.get("personal", TYPES[qtype].personal), f"{where}: personal"),
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
        required_message=b.text(q["required_message"], f"{where}: required_message")
        if q.get("required_message") is not None else None,
        calculation=str(calculation) if calculation is not None else None,
        default=str(default) if default is not None else None,
        choice_filter=str(choice_filter) if choice_filter is not None else None,
        appearance=appearance(q.get("appearance"), where),
    )


def _missing(where: str, field: str) -> Text:
    raise QuestionnaireError(f"{where}: missing required field {field!r}")


def _bool(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        raise QuestionnaireError(f"{where}: expected true or false, got {raw!r}")
    return raw
