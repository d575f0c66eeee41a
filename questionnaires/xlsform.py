"""XLSForm interop: export any questionnaire to an XLSForm workbook and import one back.

XLSForm (https://xlsform.org) is how ODK Collect and KoboToolbox forms are written in Excel. The
export has the standard ``survey``, ``choices`` and ``settings`` sheets with
``label::Tiếng Việt (vi)`` and ``label::English (en)`` columns, ``required``, ``relevant`` (our
expressions are a subset of XLSForm's, so they pass through unchanged) and ``constraint`` (ranges,
lengths and dossier-code patterns become XPath constraints ODK enforces). What XLSForm has no
column for — scoring metadata, our question type, retired questions, sections — travels in a
``hailong`` column of the survey sheet and a ``hailong`` sheet as JSON, which ODK ignores. So
export → import gives back the same questionnaire (the same content hash).

Importing a foreign XLSForm maps its types onto ours and returns a report of everything that
cannot be represented (groups are flattened, repeats, calculations, media, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from questionnaires.loader import parse
from questionnaires.model import DEFAULT_DOSSIER_PATTERN, Choice, Question, Questionnaire, Text

LANGUAGE_NAMES: Mapping[str, str] = {"vi": "Tiếng Việt", "en": "English"}
YESNO_LIST = "hailong_yesno"
YESNO_CHOICES = (
    Choice(1, Text({"vi": "Có", "en": "Yes"})),
    Choice(0, Text({"vi": "Không", "en": "No"})),
)
_XLS_TYPE = {
    "scale5": "select_one",
    "rating": "select_one",
    "single": "select_one",
    "multiple": "select_multiple",
    "yesno": "select_one",
    "integer": "integer",
    "decimal": "decimal",
    "text": "text",
    "longtext": "text",
    "date": "date",
    "dossier_code": "text",
    "consent": "acknowledge",
    "note": "note",
}
_IMPORT_TYPE = {
    "integer": "integer",
    "decimal": "decimal",
    "text": "text",
    "date": "date",
    "note": "note",
    "acknowledge": "consent",
}
_IGNORED_TYPES = frozenset({"start", "end", "today", "deviceid", "phonenumber", "username", "email", "audit",
                            "simserial", "subscriberid", "start-geopoint"})
_QUESTION_META = ("type", "section", "element", "subdimension", "indicator", "direction", "satisfied", "bounds",
                  "personal", "retired", "options", "constraint", "unscored")


def _lang_column(prefix: str, language: str) -> str:
    return f"{prefix}::{LANGUAGE_NAMES.get(language, language)} ({language})"


@dataclass
class ImportResult:
    """An imported questionnaire: the definition as plain data (ready to write as YAML), the
    validated questionnaire, and a report of what could not be represented."""

    definition: dict[str, Any]
    questionnaire: Questionnaire
    report: list[str] = field(default_factory=list)


# -- export -----------------------------------------------------------------------------------


def _list_name(question: Question, questionnaire: Questionnaire) -> str:
    if question.type == "yesno":
        return YESNO_LIST
    for name, choices in questionnaire.choice_lists.items():
        if choices == question.choices:
            return name
    return f"{question.id}_choices"


def _xls_constraint(question: Question) -> str:
    parts = []
    opts = question.options
    if "min" in opts:
        parts.append(f". >= {opts['min']}")
    if "max" in opts:
        parts.append(f". <= {opts['max']}")
    if "max_length" in opts:
        parts.append(f"string-length(.) <= {opts['max_length']}")
    pattern = opts.get("pattern")
    if question.type == "dossier_code" and pattern is None:
        pattern = DEFAULT_DOSSIER_PATTERN
    if pattern is not None:
        parts.append(f"regex(., '{pattern}')")
    if question.constraint:
        parts.append(f"({question.constraint})" if parts else question.constraint)
    return " and ".join(parts)


def _meta(question: Question) -> str:
    meta: dict[str, Any] = {"type": question.type}
    if question.section:
        meta["section"] = question.section
    if question.element:
        meta["element"] = question.element
    if question.subdimension:
        meta["subdimension"] = question.subdimension
    if question.indicator:
        meta["indicator"] = question.indicator
    if question.direction != "positive":
        meta["direction"] = question.direction
    if question.satisfied is not None:
        meta["satisfied"] = list(question.satisfied)
    if question.bounds is not None:
        meta["bounds"] = list(question.bounds)
    if question.personal != (question.type == "dossier_code"):
        meta["personal"] = question.personal
    if question.retired:
        meta["retired"] = True
        if question.relevant:
            meta["relevant"] = question.relevant
    if question.options:
        meta["options"] = dict(sorted(question.options.items()))
    if question.constraint:
        meta["constraint"] = question.constraint
    unscored = [c.value for c in question.choices if not c.scored]
    if unscored:
        meta["unscored"] = unscored
    return json.dumps(meta, ensure_ascii=False, sort_keys=True)


def _write_rows(sheet: Worksheet, header: list[str], rows: list[dict[str, Any]]) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row.get(col, None) for col in header])
    sheet.freeze_panes = "A2"


def to_workbook(questionnaire: Questionnaire) -> Workbook:
    """The questionnaire as an XLSForm workbook (openpyxl)."""
    langs = list(questionnaire.languages)
    survey_rows: list[dict[str, Any]] = []
    lists: dict[str, tuple[Choice, ...]] = {}
    for q in questionnaire.questions:
        row: dict[str, Any] = {"name": q.id, "hailong": _meta(q)}
        xls_type = _XLS_TYPE[q.type]
        if xls_type.startswith("select"):
            name = _list_name(q, questionnaire)
            choices = YESNO_CHOICES if q.type == "yesno" else q.choices
            if lists.setdefault(name, choices) != choices:
                name = f"{q.id}_choices"
                lists[name] = choices
            xls_type = f"{xls_type} {name}"
        row["type"] = xls_type
        for lang in langs:
            row[_lang_column("label", lang)] = q.label.get(lang)
            if q.hint:
                row[_lang_column("hint", lang)] = q.hint.get(lang)
            if q.constraint_message:
                row[_lang_column("constraint_message", lang)] = q.constraint_message.get(lang)
        if q.required and q.type != "note":
            row["required"] = "yes"
        if q.retired:
            row["relevant"] = "false()"
        elif q.relevant:
            row["relevant"] = q.relevant
        if q.type == "longtext":
            row["appearance"] = "multiline"
        if q.type != "note":
            constraint = _xls_constraint(q)
            if constraint:
                row["constraint"] = constraint
        survey_rows.append(row)
    label_cols = [_lang_column(p, lang) for p in ("label", "hint", "constraint_message") for lang in langs]
    survey_header = ["type", "name", *label_cols, "required", "relevant", "constraint", "appearance", "hailong"]
    choice_rows = [
        {"list_name": name, "name": str(c.value), **{_lang_column("label", lang): c.label.get(lang) for lang in langs}}
        for name, choices in lists.items()
        for c in choices
    ]
    wb = Workbook()
    survey = wb.active
    assert survey is not None  # noqa: S101 - a new workbook always has a sheet
    survey.title = "survey"
    _write_rows(survey, survey_header, survey_rows)
    _write_rows(wb.create_sheet("choices"), ["list_name", "name", *[_lang_column("label", lang) for lang in langs]],
                choice_rows)
    settings = {
        "form_title": questionnaire.title.get("vi"),
        "form_id": questionnaire.id,
        "version": questionnaire.version,
        "default_language": f"{LANGUAGE_NAMES.get('vi', 'vi')} (vi)",
    }
    _write_rows(wb.create_sheet("settings"), list(settings), [settings])
    definition = questionnaire.to_dict()
    meta_rows = [
        {"key": key, "value": json.dumps(definition[key] if key in definition else None, ensure_ascii=False)}
        for key in ("kind", "title", "description", "languages", "scoring", "sections", "notes", "based_on")
    ]
    meta_rows.append({"key": "choice_lists", "value": json.dumps(sorted(questionnaire.choice_lists))})
    _write_rows(wb.create_sheet("hailong"), ["key", "value"], meta_rows)
    return wb


def export_xlsform(questionnaire: Questionnaire, out: Path | BytesIO) -> None:
    """Write ``questionnaire`` as an XLSForm ``.xlsx`` to a path or a binary buffer."""
    to_workbook(questionnaire).save(out)


def to_xlsx_bytes(questionnaire: Questionnaire) -> bytes:
    buffer = BytesIO()
    export_xlsform(questionnaire, buffer)
    return buffer.getvalue()


# -- import -----------------------------------------------------------------------------------


def _rows(sheet: Worksheet) -> Iterator[tuple[int, dict[str, Any]]]:
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        return
    names = [str(h).strip() if h is not None else "" for h in header]
    for number, values in enumerate(rows, start=2):
        row = {n: v for n, v in zip(names, values, strict=False) if n and v is not None and str(v).strip() != ""}
        if row:
            yield number, row


_LANG_HEADER = re.compile(r"^(?P<prefix>[a-z_:]+?)::(?P<name>.*?)(?:\s*\((?P<code>[A-Za-z\-]+)\))?$")


def _texts(row: Mapping[str, Any], prefix: str, languages: list[str]) -> dict[str, str] | None:
    """``label::X (vi)`` columns → {"vi": ...}; a plain ``label`` column counts as Vietnamese."""
    out: dict[str, str] = {}
    for key, value in row.items():
        if key == prefix:
            out.setdefault("vi", str(value))
            continue
        m = _LANG_HEADER.match(key)
        if m and m.group("prefix") == prefix:
            code = m.group("code") or next((c for c, n in LANGUAGE_NAMES.items() if n == m.group("name")), m.group("name"))
            out[code] = str(value)
    if not out:
        return None
    for lang in languages:
        out.setdefault(lang, out.get("vi") or next(iter(out.values())))
    return {k: v for k, v in out.items() if k in languages}


def _choice_value(name: Any) -> int | str:
    text = str(name).strip()
    if isinstance(name, int | float) and float(name).is_integer():
        return int(name)
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def import_xlsform(source: Path | BytesIO) -> ImportResult:
    """Read an XLSForm workbook into our format; anything not representable is reported."""
    wb = load_workbook(source, read_only=True, data_only=True)
    report: list[str] = []
    meta: dict[str, Any] = {}
    if "hailong" in wb.sheetnames:
        for _n, row in _rows(wb["hailong"]):
            meta[str(row.get("key"))] = json.loads(str(row.get("value", "null")))
    if "survey" not in wb.sheetnames:
        raise ValueError("not an XLSForm: the workbook has no 'survey' sheet")
    settings: dict[str, Any] = {}
    if "settings" in wb.sheetnames:
        settings = next((row for _n, row in _rows(wb["settings"])), {})
    languages: list[str] = list(meta.get("languages") or ["vi", "en"])
    raw_lists: dict[str, list[dict[str, Any]]] = {}
    if "choices" in wb.sheetnames:
        for number, row in _rows(wb["choices"]):
            list_name = str(row.get("list_name") or row.get("list name") or "").strip()
            if not list_name or "name" not in row:
                report.append(f"choices row {number}: no list_name or name; left out")
                continue
            label = _texts(row, "label", languages) or {lang: str(row["name"]) for lang in languages}
            raw_lists.setdefault(list_name, []).append({"value": _choice_value(row["name"]), "label": label})
            extra = sorted(k for k in row if k not in {"list_name", "list name", "name"} and not k.startswith("label"))
            if extra:
                report.append(f"choices row {number}: column(s) {', '.join(extra)} not kept")
    questions: list[dict[str, Any]] = []
    used_lists: set[str] = set()
    for number, row in _rows(wb["survey"]):
        xls_type = str(row.get("type", "")).strip()
        name = str(row.get("name", "")).strip()
        base, _sep, list_name = xls_type.partition(" ")
        list_name = list_name.replace(" or_other", "").strip()
        if base in {"begin_group", "begin group", "end_group", "end group"}:
            report.append(f"survey row {number}: group {name or ''!s} flattened (groups are not kept)".replace("  ", " "))
            continue
        if base in _IGNORED_TYPES:
            report.append(f"survey row {number}: metadata field {name!r} ({base}) left out")
            continue
        hl = json.loads(str(row["hailong"])) if row.get("hailong") else {}
        our_type = hl.get("type")
        if our_type is None:
            if base == "select_one":
                our_type = "single"
            elif base == "select_multiple":
                our_type = "multiple"
            elif base == "text" and str(row.get("appearance", "")).strip() == "multiline":
                our_type = "longtext"
            else:
                our_type = _IMPORT_TYPE.get(base)
        if our_type is None:
            report.append(f"survey row {number}: question {name!r} of type {xls_type!r} cannot be represented; left out")
            continue
        q: dict[str, Any] = {"id": name, "type": our_type}
        q["label"] = _texts(row, "label", languages) or {lang: name for lang in languages}
        hint = _texts(row, "hint", languages)
        if hint:
            q["hint"] = hint
        if str(row.get("required", "")).strip().lower() in {"yes", "true", "true()", "1"}:
            q["required"] = True
        relevant = row.get("relevant")
        if relevant and not hl.get("retired"):
            q["relevant"] = str(relevant)
        if our_type in {"scale5", "rating", "single", "multiple"}:
            if list_name not in raw_lists:
                report.append(f"survey row {number}: question {name!r}: choice list {list_name!r} is missing; left out")
                continue
            used_lists.add(list_name)
            unscored = set(hl.get("unscored", []))
            if unscored:
                q["choices"] = [{**c, "scored": False} if c["value"] in unscored else c for c in raw_lists[list_name]]
            else:
                q["choices"] = list_name
        if hl:
            for key in ("section", "element", "subdimension", "indicator", "direction", "satisfied", "bounds",
                        "personal", "retired", "constraint", "relevant"):
                if key in hl:
                    q[key] = hl[key]
            q.update(hl.get("options", {}))
        elif row.get("constraint"):
            q["constraint"] = str(row["constraint"])
        message = _texts(row, "constraint_message", languages)
        if (q.get("constraint") or "pattern" in q) and message:
            q["constraint_message"] = message
        for col in ("calculation", "default", "choice_filter", "repeat_count", "trigger", "parameters"):
            if row.get(col):
                report.append(f"survey row {number}: question {name!r}: {col} not kept")
        appearance = str(row.get("appearance", "")).strip()
        if appearance and not (appearance == "multiline" and our_type == "longtext"):
            report.append(f"survey row {number}: question {name!r}: appearance {appearance!r} not kept")
        questions.append(q)
    known_lists = set(meta.get("choice_lists") or [])
    choice_lists = {n: c for n, c in raw_lists.items() if n in used_lists and n != YESNO_LIST or n in known_lists}
    title = meta.get("title") or {lang: str(settings.get("form_title") or settings.get("form_id") or "XLSForm")
                                  for lang in languages}
    definition: dict[str, Any] = {
        "id": str(settings.get("form_id") or "imported").strip().lower().replace(" ", "-"),
        "version": str(settings.get("version") or "1"),
        "kind": meta.get("kind") or "survey",
        "title": title,
        "languages": languages,
    }
    for key in ("description", "notes"):
        if meta.get(key):
            definition[key] = meta[key]
    scoring = meta.get("scoring")
    if scoring:
        definition["scoring"] = {k: v for k, v in scoring.items() if v not in (None, [])}
    else:
        definition["scoring"] = {"overall_rule": "none"}
    if meta.get("sections"):
        definition["sections"] = meta["sections"]
    if choice_lists:
        definition["choice_lists"] = choice_lists
    definition["questions"] = questions
    if meta.get("based_on"):
        definition["based_on"] = meta["based_on"]
    name = getattr(source, "name", None) or "XLSForm"
    questionnaire = parse(definition, Path(str(name)).name)
    return ImportResult(definition=definition, questionnaire=questionnaire, report=report)
