"""Export any questionnaire to an XLSForm workbook for ODK Collect and KoboToolbox.

XLSForm (https://xlsform.org) is how ODK Collect and KoboToolbox forms are written in Excel. The
export has the standard ``survey``, ``choices`` and ``settings`` sheets with
``label::Tiếng Việt (vi)`` and ``label::English (en)`` columns, ``required``, ``relevant`` (our
expressions are a subset of XLSForm's, so they pass through unchanged) and ``constraint`` (ranges,
lengths and dossier-code patterns become XPath constraints ODK enforces). What XLSForm has no
column for — scoring metadata, our question type, retired questions — travels in a ``hailong``
column of the survey sheet and a ``hailong`` sheet as JSON, which ODK ignores. So export → import
gives back the same questionnaire (the same content hash), and export → import → export the same
workbook. Sections become XLSForm groups (with their ``appearance``, e.g. ``field-list`` for one
screen per section), so ODK users see the structure; every language of the questionnaire gets its
``label::Name (code)`` column; ``calculate``, ``default``, ``required_message``, ``choice_filter``
and the choices' extra columns are written as XLSForm has them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from questionnaires.model import DEFAULT_DOSSIER_PATTERN, Choice, Question, Questionnaire, Text
from questionnaires.types import TYPES

__all__ = ["LANGUAGE_NAMES", "XLS_TYPES", "YESNO_LIST", "export_xlsform", "to_workbook", "to_xlsx_bytes"]

LANGUAGE_NAMES: Mapping[str, str] = {"vi": "Tiếng Việt", "en": "English"}
YESNO_LIST = "hailong_yesno"
YESNO_CHOICES = (
    Choice(1, Text({"vi": "Có", "en": "Yes"})),
    Choice(0, Text({"vi": "Không", "en": "No"})),
)
XLS_TYPES: Mapping[str, str] = {name: t.xlsform for name, t in TYPES.items()}
"""The XLSForm type each of our question types exports to (from the type registry)."""


def _lang_column(prefix: str, language: str) -> str:
    return f"{prefix}::{LANGUAGE_NAMES.get(language, language)} ({language})"


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
    lists: dict[str, tuple[Choice, ...]] = dict(questionnaire.choice_lists)  # every list, used or not
    sections = {s.id: s for s in questionnaire.sections}
    open_group: str | None = None
    group_names: set[str] = set()
    for q in questionnaire.questions:
        if q.section != open_group:
            if open_group is not None:
                survey_rows.append({"type": "end_group"})
            open_group = q.section
            if q.section is not None:
                section = sections[q.section]
                group = q.section if q.section not in group_names else f"{q.section}_{len(group_names) + 1}"
                group_names.add(group)
                begin: dict[str, Any] = {"type": "begin_group", "name": group}
                for lang in langs:
                    begin[_lang_column("label", lang)] = section.label.get(lang)
                if section.appearance:
                    begin["appearance"] = section.appearance
                survey_rows.append(begin)
        row: dict[str, Any] = {"name": q.id, "hailong": _meta(q)}
        xls_type = XLS_TYPES[q.type]
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
            if q.required_message:
                row[_lang_column("required_message", lang)] = q.required_message.get(lang)
        if q.required and TYPES[q.type].answered:
            row["required"] = "yes"
        if q.calculation:
            row["calculation"] = q.calculation
        if q.default is not None:
            row["default"] = q.default
        if q.choice_filter:
            row["choice_filter"] = q.choice_filter
        if q.retired:
            row["relevant"] = "false()"
        elif q.relevant:
            row["relevant"] = q.relevant
        appearance = q.appearance or TYPES[q.type].appearance
        if appearance:
            row["appearance"] = appearance
        if TYPES[q.type].answered:
            constraint = _xls_constraint(q)
            if constraint:
                row["constraint"] = constraint
        survey_rows.append(row)
    if open_group is not None:
        survey_rows.append({"type": "end_group"})
    label_cols = [_lang_column(p, lang) for p in ("label", "hint", "constraint_message", "required_message")
                  for lang in langs]
    label_cols = [c for c in label_cols if any(c in r for r in survey_rows)] or [_lang_column("label", "vi")]
    survey_header = ["type", "name", *label_cols, "required", "relevant", "constraint", "calculation", "default",
                     "choice_filter", "appearance", "hailong"]
    properties = sorted({k for choices in lists.values() for c in choices for k in c.properties})
    choice_rows = [
        {"list_name": name, "name": str(c.value), **{_lang_column("label", lang): c.label.get(lang) for lang in langs},
         **c.properties}
        for name, choices in lists.items()
        for c in choices
    ]
    wb = Workbook()
    survey = wb.active
    assert survey is not None  # noqa: S101 - a new workbook always has a sheet
    survey.title = "survey"
    _write_rows(survey, survey_header, survey_rows)
    _write_rows(wb.create_sheet("choices"),
                ["list_name", "name", *[_lang_column("label", lang) for lang in langs], *properties], choice_rows)
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
    unscored = {name: [c.value for c in choices if not c.scored] for name, choices in sorted(questionnaire.choice_lists.items())}
    meta_rows.append({"key": "choice_lists", "value": json.dumps(unscored, ensure_ascii=False)})
    _write_rows(wb.create_sheet("hailong"), ["key", "value"], meta_rows)
    return wb


def export_xlsform(questionnaire: Questionnaire, out: Path | BytesIO) -> None:
    """Write ``questionnaire`` as an XLSForm ``.xlsx`` to a path or a binary buffer."""
    to_workbook(questionnaire).save(out)


def to_xlsx_bytes(questionnaire: Questionnaire) -> bytes:
    buffer = BytesIO()
    export_xlsform(questionnaire, buffer)
    return buffer.getvalue()
