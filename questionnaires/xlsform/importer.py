"""Import any XLSForm (``.xlsx``, ``.xls`` or ``.csv``) through pyxform's own reader.

pyxform — the converter ODK and KoboToolbox use — reads the workbook (its backends for the three
formats, its header aliases such as ``label:English`` or ``caption``, its ``select one from`` and
``begin group`` patterns) and checks the form as ODK would. A form pyxform refuses is refused with
pyxform's message. A form it accepts is mapped onto a questionnaire definition; everything the
mapping changes or leaves out is listed in the report, row by row (:mod:`.report`):

* every language column (``label::Name (code)``, ``label::Name``, ``label:Name``, ``label``)
  becomes a language of the questionnaire; Vietnamese stays the default (a form without it uses
  its default language as the Vietnamese text, and the report says so);
* groups become sections (their ``relevant`` joins each question's, ``field-list`` is kept);
  repeats are refused by name and rows, never flattened;
* ``range`` becomes a rating question with its bounds; ``or_other`` becomes the ``other`` choice
  and a follow-up text question; ``required_message``, ``constraint_message``, hints, defaults,
  ``calculate``, ``choice_filter`` and the choices' extra columns are kept;
* names that are not letters, digits and ``_`` are renamed and every expression follows.

A workbook exported by Hài Lòng carries a ``hailong`` column and sheet, so the import gives back
the same questionnaire (the same content hash).
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from questionnaires.expressions import ExpressionError, choice_names, normalise_quotes
from questionnaires.expressions import parse as parse_expression
from questionnaires.expressions import validate as validate_expression
from questionnaires.loader import QuestionnaireError, parse
from questionnaires.model import Questionnaire
from questionnaires.types import CHOICE_TYPES
from questionnaires.xlsform.export import LANGUAGE_NAMES, YESNO_LIST
from questionnaires.xlsform.report import Problem, XLSFormError

__all__ = ["ImportResult", "import_xlsform"]

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CHOICE_VALUE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_APPEARANCE = re.compile(r"^[a-z0-9][a-z0-9\-]*( [a-z0-9][a-z0-9\-]*)*$")
_REF = re.compile(r"\$\{([^}]*)\}")
_LANG_CODE = re.compile(r"\(\s*([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*)\s*\)\s*$")
_PYXFORM_ROW = re.compile(r"\[row\s*:\s*(\d+)\]")
_KNOWN_LANGUAGES = {
    "vietnamese": "vi", "tiếng việt": "vi", "tieng viet": "vi", "english": "en", "french": "fr",
    "français": "fr", "francais": "fr", "spanish": "es", "español": "es", "portuguese": "pt",
    "swahili": "sw", "arabic": "ar", "chinese": "zh", "nepali": "ne", "hindi": "hi", "bengali": "bn",
    "khmer": "km", "lao": "lo", "thai": "th", "indonesian": "id", "burmese": "my", "russian": "ru",
    "german": "de", "italian": "it", "amharic": "am", "hausa": "ha", "somali": "so", "urdu": "ur",
}
_METADATA = frozenset({"start", "end", "today", "deviceid", "imei", "phonenumber", "username", "email", "audit",
                       "simserial", "subscriberid", "start-geopoint", "uri:deviceid", "uri:email", "uri:username",
                       "uri:phonenumber", "uri:subscriberid", "uri:simserial", "background-audio"})
_SIMPLE_TYPES = {
    "integer": "integer", "int": "integer", "decimal": "decimal", "text": "text", "string": "text",
    "date": "date", "note": "note", "acknowledge": "consent", "trigger": "consent", "calculate": "calculate",
}
_TRUE = {"yes", "true", "true()", "1"}
_FALSE = {"no", "false", "false()", "0"}
_OTHER_LABEL = {"vi": "Khác", "en": "Other"}
_OTHER_TEXT = {"vi": "Khác (ghi rõ)", "en": "Please specify"}
_BIND_KEPT = {"relevant", "required", "constraint", "jr:constraintMsg", "jr:requiredMsg", "calculate"}
_KEPT = {"type", "name", "label", "hint", "bind", "control", "default", "choice_filter", "parameters", "hailong",
         "__row"}


@dataclass
class ImportResult:
    """An imported questionnaire: the definition as plain data (ready to write as YAML), the
    validated questionnaire, and the report of what was changed or left out, row by row."""

    definition: dict[str, Any]
    questionnaire: Questionnaire
    report: list[Problem] = field(default_factory=list)

    @property
    def left_out(self) -> list[Problem]:
        return [p for p in self.report if p.kind == "left_out"]

    @property
    def changed(self) -> list[Problem]:
        return [p for p in self.report if p.kind == "changed"]


def import_xlsform(source: Path | BytesIO | bytes | str, *, name: str | None = None) -> ImportResult:
    """Read an XLSForm into a questionnaire; raise :class:`XLSFormError` listing every problem.

    No input ends in a traceback: an unreadable file, a form pyxform refuses and a form whose
    content cannot become a valid questionnaire are all an :class:`XLSFormError`.
    """
    label = name or (Path(str(source)).name if isinstance(source, str | Path) else getattr(source, "name", None))
    raw = source.read_bytes() if isinstance(source, Path) else Path(source).read_bytes() if isinstance(
        source, str) else source.getvalue() if isinstance(source, BytesIO) else source
    return _Import(raw, str(label or "XLSForm")).run()


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


class _Import:
    def __init__(self, data: bytes, label: str) -> None:
        self.data = data
        self.label = label
        self.report: list[Problem] = []
        self.names: dict[str, str] = {}  # XLSForm name → our id
        self.rows: dict[str, int] = {}  # our id → survey row
        self.lang_codes: dict[str, str] = {}  # pyxform language key → our code
        self.missing: dict[tuple[str, str, str], int] = {}
        self.stand_in = "vi"
        self.choice_renames: dict[str, dict[str, int | str]] = {}  # list → {old name: new value}

    # -- reading --------------------------------------------------------------------------

    def run(self) -> ImportResult:
        from pyxform.errors import PyXFormError
        from pyxform.xls2json import workbook_to_json
        from pyxform.xls2json_backends import get_xlsform

        try:
            book = get_xlsform(BytesIO(self.data))
        except PyXFormError as exc:
            raise XLSFormError([Problem("refused", "unreadable", params={"detail": _pyxform_text(exc)})]) from None
        except Exception as exc:  # noqa: BLE001 - any damaged file must end in one clear message
            raise XLSFormError([Problem("refused", "unreadable", params={"detail": type(exc).__name__})]) from None
        if not book.survey:
            raise XLSFormError([Problem("refused", "no_survey")])
        try:
            workbook_to_json(copy.deepcopy(book), fallback_form_name="data")
        except PyXFormError as exc:
            text = _pyxform_text(exc)
            m = _PYXFORM_ROW.search(text)
            raise XLSFormError([Problem("refused", "pyxform", sheet="survey" if m else None,
                                        row=int(m.group(1)) if m else None, params={"detail": text})]) from None
        except Exception as exc:  # noqa: BLE001 - pyxform's own bugs must not reach the user as a traceback
            raise XLSFormError([Problem("refused", "pyxform", params={"detail": f"{type(exc).__name__}: {exc}"})]) from None
        try:
            return self.build(book)
        except XLSFormError:
            raise
        except QuestionnaireError as exc:  # pragma: no cover - build() maps these to rows
            raise XLSFormError([Problem("refused", "invalid", params={"detail": str(exc)})]) from None

    def build(self, book: Any) -> ImportResult:
        from pyxform import aliases
        from pyxform.parsing.sheet_headers import dealias_and_group_headers
        from pyxform.question import MultipleChoiceQuestion, Option
        from pyxform.survey import Survey

        meta = self.hailong_sheet()
        settings: dict[str, Any] = {}
        if book.settings:
            settings = dict(dealias_and_group_headers(
                sheet_name="settings", sheet_data=book.settings, sheet_header=book.settings_header,
                header_aliases=aliases.settings_header, header_columns=set(Survey.get_slot_names()),
            ).data[0])
        for sheet in book.sheet_names or []:
            if sheet.lower() not in {"survey", "choices", "settings", "hailong"}:
                self.report.append(Problem("left_out", "sheet_left_out", params={"sheet": sheet}))
        survey = dealias_and_group_headers(
            sheet_name="survey", sheet_data=book.survey, sheet_header=book.survey_header,
            header_aliases=aliases.survey_header, header_columns=set(MultipleChoiceQuestion.get_slot_names()),
            add_row_number=True,
        ).data
        choice_rows = dealias_and_group_headers(
            sheet_name="choices", sheet_data=book.choices or [], sheet_header=book.choices_header or [],
            header_aliases=aliases.list_header, header_columns=set(Option.get_slot_names()), add_row_number=True,
        ).data if book.choices else []
        self.languages = self.find_languages(survey, choice_rows, settings, meta)
        lists = self.choice_lists(choice_rows)
        questions, sections = self.questions(survey, lists, bool(meta))
        self.follow_choice_renames(questions)
        definition = self.definition(settings, meta, questions, sections, lists)
        if not questions:
            raise XLSFormError([*self.report, Problem("refused", "no_questions")])
        self.report_missing_translations()
        try:
            questionnaire = parse(definition, self.label)
        except QuestionnaireError as exc:
            raise XLSFormError([*self.report, self.locate(str(exc))]) from None
        return ImportResult(definition=definition, questionnaire=questionnaire, report=self.report)

    def hailong_sheet(self) -> dict[str, Any]:
        """The ``hailong`` sheet of a workbook exported by Hài Lòng (``.xlsx`` only), else {}."""
        if not self.data.startswith(b"PK"):
            return {}
        try:
            from openpyxl import load_workbook

            wb = load_workbook(BytesIO(self.data), read_only=True, data_only=True)
            if "hailong" not in wb.sheetnames:
                return {}
            out: dict[str, Any] = {}
            for row in list(wb["hailong"].iter_rows(values_only=True))[1:]:
                if row and row[0] is not None:
                    out[str(row[0])] = json.loads(str(row[1])) if len(row) > 1 and row[1] is not None else None
            return out
        except (ValueError, KeyError, OSError):
            return {}

    def locate(self, message: str) -> Problem:
        m = re.search(r"question '([^']+)'", message)
        row = self.rows.get(m.group(1)) if m else None
        detail = message.split(": ", 1)[1] if ": " in message else message
        if m:
            detail = re.sub(r"^.*?question '[^']+': ", "", message)
        return Problem("refused", "invalid", sheet="survey" if row else None, row=row, params={"detail": detail})

    # -- languages ------------------------------------------------------------------------

    def find_languages(self, survey: list[dict[str, Any]], choices: list[dict[str, Any]],
                       settings: Mapping[str, Any], meta: Mapping[str, Any]) -> list[str]:
        keys: list[str] = []

        def collect(value: Any) -> None:
            if isinstance(value, dict):
                for k in value:
                    if k not in keys:
                        keys.append(k)

        for row in [*survey, *choices]:
            for column in ("label", "hint"):
                collect(row.get(column))
            bind = row.get("bind") or {}
            for column in ("jr:constraintMsg", "jr:requiredMsg"):
                collect(bind.get(column))
        default = str(settings.get("default_language") or "").strip()
        plain = any(isinstance(row.get(c), str) for row in [*survey, *choices] for c in ("label", "hint"))
        codes: list[str] = []
        for key in keys:
            code = self.language_code(key)
            self.lang_codes[key] = code
            if code not in codes:
                codes.append(code)
        if plain:
            plain_code = self.language_code(default) if default else "vi"
            self.lang_codes["default"] = plain_code
            if plain_code not in codes:
                codes.insert(0, plain_code)
            if not meta:
                self.report.append(Problem("changed", "plain_language", sheet="survey",
                                           params={"language": plain_code}))
        if meta.get("languages"):
            return [str(x) for x in meta["languages"]]
        if not codes:
            codes = ["vi"]
        if "vi" not in codes:
            stand_in = self.language_code(default) if default and self.language_code(default) in codes else codes[0]
            self.stand_in = stand_in
            self.report.append(Problem("changed", "no_vietnamese", params={"language": stand_in}))
            codes.insert(0, "vi")
        else:
            self.stand_in = "vi"
            codes.remove("vi")
            codes.insert(0, "vi")
        return codes

    def language_code(self, key: str) -> str:
        if key == "default":
            return "vi"
        m = _LANG_CODE.search(key)
        if m:
            return m.group(1).lower()
        name = key.strip().lower()
        if name in _KNOWN_LANGUAGES:
            return _KNOWN_LANGUAGES[name]
        for code, known in LANGUAGE_NAMES.items():
            if known.lower() == name:
                return code
        return _slug(key) or "und"

    def text(self, raw: Any, where: tuple[str, int | None, str]) -> dict[str, str] | None:
        """A translatable cell → {code: text} with every language of the questionnaire."""
        if raw is None or raw == "" or raw == {}:
            return None
        values: dict[str, str] = {}
        if isinstance(raw, dict):
            for key, value in raw.items():
                if value is not None and str(value).strip():
                    values.setdefault(self.lang_codes.get(key, self.language_code(key)), str(value).strip())
        else:
            values[self.lang_codes.get("default", "vi")] = str(raw).strip()
        if not values:
            return None
        fallback_lang = next((x for x in (self.stand_in, "vi", *values) if x in values), "vi")
        out: dict[str, str] = {}
        for lang in self.languages:
            if lang in values:
                out[lang] = values[lang]
            else:
                out[lang] = values[fallback_lang]
                if not (lang == "vi" and fallback_lang == self.stand_in):
                    key = (where[2], lang, fallback_lang)
                    self.missing[key] = self.missing.get(key, 0) + 1
        return out

    def report_missing_translations(self) -> None:
        for (column, lang, fallback), count in sorted(self.missing.items()):
            self.report.append(Problem("changed", "translation_missing", column=column, params={
                "language": lang, "count": count, "fallback": fallback}))

    # -- choices --------------------------------------------------------------------------

    def choice_lists(self, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        lists: dict[str, list[dict[str, Any]]] = {}
        media_lists: set[str] = set()
        for row in rows:
            number = row.get("__row")
            list_name = str(row.get("list_name") or row.get("list name") or "").strip()
            value = row.get("name")
            if not row or set(row) <= {"__row"}:
                continue
            if not list_name or value is None or str(value).strip() == "":
                self.report.append(Problem("left_out", "choice_no_list", sheet="choices", row=number))
                continue
            old = str(value).strip()
            new: int | str = int(old) if re.fullmatch(r"-?\d+", old) else old
            if isinstance(new, str) and not _CHOICE_VALUE.match(new):
                new = re.sub(r"[^A-Za-z0-9_.\-]+", "_", new).strip("_") or f"choice_{number}"
                if not _CHOICE_VALUE.match(new):
                    new = f"c_{new}"
                self.report.append(Problem("changed", "choice_renamed", sheet="choices", row=number, column="name",
                                           params={"old": old, "list": list_name, "new": new}))
                self.choice_renames.setdefault(list_name, {})[old] = new
            taken = {c["value"] for c in lists.get(list_name, [])}
            if new in taken:
                base, n = new, 2
                while new in taken:
                    new = f"{base}_{n}"
                    n += 1
                self.report.append(Problem("changed", "choice_renamed", sheet="choices", row=number, column="name",
                                           params={"old": old, "list": list_name, "new": new}))
            label = self.text(row.get("label"), ("choices", number, "label")) or {lang: old for lang in self.languages}
            choice: dict[str, Any] = {"value": new, "label": label}
            properties = {str(k): str(v) for k, v in row.items()
                          if k not in {"list_name", "list name", "name", "label", "media", "__row"}
                          and not isinstance(v, dict) and _ID.match(str(k))}
            if properties:
                choice["properties"] = properties
            if row.get("media") and list_name not in media_lists:
                media_lists.add(list_name)
                self.report.append(Problem("left_out", "choice_media", sheet="choices", row=number, column="media"))
            lists.setdefault(list_name, []).append(choice)
        return lists

    # -- survey ---------------------------------------------------------------------------

    def rename(self, old: str, row: int | None) -> str:
        new = re.sub(r"[^A-Za-z0-9_]+", "_", old).strip("_") or f"q_{row}"
        if not _ID.match(new):
            new = f"q_{new}"
        base, n = new, 2
        while new in self.names.values():
            new = f"{base}_{n}"
            n += 1
        if new != old:
            self.report.append(Problem("changed", "renamed", sheet="survey", row=row, column="name",
                                       params={"old": old, "new": new}))
        self.names[old] = new
        return new

    def expression(self, raw: Any, row: int | None, column: str, known: set[str], *,
                   columns: bool = False) -> str | None:
        if raw is None or str(raw).strip() == "":
            return None
        text = str(raw).strip()
        straight = normalise_quotes(text)
        if straight != text:
            self.report.append(Problem("changed", "quotes", sheet="survey", row=row, column=column,
                                       params={"column": column}))
        renamed = _REF.sub(lambda m: "${" + self.names.get(m.group(1).strip(), m.group(1).strip()) + "}", straight)
        try:
            parse_expression(renamed)
            validate_expression(renamed, known, columns=columns)
        except ExpressionError as exc:
            self.report.append(Problem("left_out", "expression", sheet="survey", row=row, column=column,
                                       params={"column": column, "detail": str(exc)}))
            return None
        return renamed

    def questions(self, survey: list[dict[str, Any]], lists: dict[str, list[dict[str, Any]]],
                  ours: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        from pyxform.xls2json import RE_BEGIN_CONTROL, RE_END_CONTROL, RE_SELECT

        questions: list[dict[str, Any]] = []
        sections: list[dict[str, Any]] = []
        groups: list[tuple[str | None, str | None]] = []  # (section id, relevant)
        known: set[str] = set()
        unknown_columns: dict[str, list[int]] = {}
        i = 0
        while i < len(survey):
            row = survey[i]
            i += 1
            number = row.get("__row")
            xls_type = re.sub(r"\s+", " ", str(row.get("type") or "").strip())
            name = str(row.get("name") or "").strip()
            if not xls_type:
                continue
            for column in row:
                if column not in _KEPT:
                    unknown_columns.setdefault(column, []).append(number or 0)
            begin, end = RE_BEGIN_CONTROL.match(xls_type), RE_END_CONTROL.match(xls_type)
            if begin and begin.group("type") in {"repeat", "lgroup", "looped group", "loop"}:
                i = self.skip_repeat(survey, i, row, name)
                continue
            if begin:
                groups.append(self.begin_group(row, name, groups, sections, known, ours))
                continue
            if end:
                if groups:
                    groups.pop()
                continue
            hl = json.loads(str(row["hailong"])) if row.get("hailong") else {}
            q = self.question(row, xls_type, name, hl, lists, known, RE_SELECT, groups)
            if q is None:
                continue
            if not ours and groups and groups[-1][0]:
                q["section"] = groups[-1][0]
            questions.append(q)
            self.rows[q["id"]] = number or 0
            known.add(q["id"])
            other = q.pop("_other", None)
            if other is not None:
                questions.append(other)
                self.rows[other["id"]] = number or 0
                known.add(other["id"])
        for column, rows in unknown_columns.items():
            self.report.append(Problem("left_out", "columns_left_out", sheet="survey", column=column,
                                       params={"column": column, "rows": _rows(rows)}))
        return questions, sections

    def follow_choice_renames(self, questions: list[dict[str, Any]]) -> None:
        """Expressions and defaults that name a renamed choice name the new value."""
        renames: dict[str, int | str] = {}
        for mapping in self.choice_renames.values():
            for old, new in mapping.items():
                if renames.get(old, new) != new:
                    renames[old] = old  # two lists renamed it differently: leave it as written
                else:
                    renames[old] = new
        renames = {old: new for old, new in renames.items() if old != new}
        if not renames:
            return

        def literal(m: re.Match[str]) -> str:
            inner = m.group(0)[1:-1]
            return f"'{renames[inner]}'" if inner in renames else m.group(0)

        for q in questions:
            for key in ("relevant", "constraint", "calculation", "choice_filter"):
                if q.get(key):
                    q[key] = re.sub(r"'[^']*'|\"[^\"]*\"", literal, q[key])
            if isinstance(q.get("default"), str):
                parts = [str(renames.get(p, p)) for p in q["default"].split(" ")] if q["type"] == "multiple" else [
                    str(renames.get(q["default"], q["default"]))]
                q["default"] = " ".join(parts)

    def skip_repeat(self, survey: list[dict[str, Any]], i: int, row: dict[str, Any], name: str) -> int:
        from pyxform.xls2json import RE_BEGIN_CONTROL, RE_END_CONTROL

        depth, names, last = 1, [], row.get("__row")
        while i < len(survey) and depth:
            inner = survey[i]
            i += 1
            t = re.sub(r"\s+", " ", str(inner.get("type") or "").strip())
            last = inner.get("__row", last)
            if RE_BEGIN_CONTROL.match(t):
                depth += 1
            elif RE_END_CONTROL.match(t):
                depth -= 1
            elif t and inner.get("name"):
                names.append(str(inner["name"]))
        self.report.append(Problem("left_out", "repeat", sheet="survey", row=row.get("__row"), params={
            "name": name, "first": row.get("__row"), "last": last, "count": len(names), "names": ", ".join(names)}))
        return i

    def begin_group(self, row: dict[str, Any], name: str, groups: list[tuple[str | None, str | None]],
                    sections: list[dict[str, Any]], known: set[str], ours: bool) -> tuple[str | None, str | None]:
        number = row.get("__row")
        bind = row.get("bind") or {}
        parent_relevant = next((g[1] for g in reversed(groups) if g[1]), None)
        relevant = self.expression(bind.get("relevant"), number, "relevant", known)
        if parent_relevant and relevant:
            relevant = f"({parent_relevant}) and ({relevant})"
        relevant = relevant or parent_relevant
        if ours:
            return (None, None)
        sid = self.rename(name or f"group_{number}", number)
        label = self.text(row.get("label"), ("survey", number, "label")) or {lang: name or sid for lang in self.languages}
        section: dict[str, Any] = {"id": sid, "label": label}
        appearance = str((row.get("control") or {}).get("appearance") or "").strip().lower()
        if appearance:
            if _APPEARANCE.match(appearance):
                section["appearance"] = appearance
            else:
                self.report.append(Problem("left_out", "appearance", sheet="survey", row=number, column="appearance",
                                           params={"appearance": appearance}))
        parent = next((g[0] for g in reversed(groups) if g[0]), None)
        if parent:
            self.report.append(Problem("changed", "nested_group", sheet="survey", row=number,
                                       params={"name": sid, "parent": parent}))
        sections.append(section)
        return (sid, relevant)

    def question(self, row: dict[str, Any], xls_type: str, name: str, hl: Mapping[str, Any],
                 lists: dict[str, list[dict[str, Any]]], known: set[str], re_select: re.Pattern[str],
                 groups: list[tuple[str | None, str | None]]) -> dict[str, Any] | None:
        number = row.get("__row")
        base = xls_type.split(" ")[0].lower()
        bind = row.get("bind") or {}
        control = row.get("control") or {}
        if base in _METADATA:
            self.report.append(Problem("left_out", "metadata", sheet="survey", row=number,
                                       params={"name": name, "type": xls_type}))
            return None
        select = re_select.match(xls_type)
        our_type = hl.get("type")
        list_name = None
        or_other = False
        if select:
            command = select.group("select_command")
            if "file" in command or "external" in command or command == "rank":
                self.report.append(Problem("left_out", "type_unsupported", sheet="survey", row=number,
                                           column="type", params={"name": name, "type": xls_type}))
                return None
            list_name = select.group("list_name")
            or_other = bool(select.group("specify_other"))
            multiple = "multiple" in command or "all that apply" in command
            our_type = our_type or ("multiple" if multiple else "single")
        elif base == "range":
            our_type = our_type or "range"
        elif our_type is None:
            our_type = _SIMPLE_TYPES.get(base)
            if our_type == "text" and str(control.get("appearance") or "").strip() == "multiline":
                our_type = "longtext"
        if our_type is None:
            self.report.append(Problem("left_out", "type_unsupported", sheet="survey", row=number, column="type",
                                       params={"name": name, "type": xls_type}))
            return None
        if not name:
            qid = self.rename(f"{base}_{number}", number)
            self.report.append(Problem("changed", "unnamed", sheet="survey", row=number, column="name",
                                       params={"new": qid}))
        else:
            qid = self.rename(name, number)
        q: dict[str, Any] = {"id": qid, "type": our_type}
        label = self.text(row.get("label"), ("survey", number, "label"))
        if label is None and our_type != "calculate":
            label = {lang: name or qid for lang in self.languages}
            if our_type != "calculate":
                self.report.append(Problem("changed", "no_label", sheet="survey", row=number, column="label",
                                           params={"name": qid}))
        if label is not None:
            q["label"] = label
        hint = self.text(row.get("hint"), ("survey", number, "hint"))
        if hint:
            q["hint"] = hint
        required = str(bind.get("required") or "").strip()
        if required.lower() in _TRUE:
            q["required"] = True
            message = self.text(bind.get("jr:requiredMsg"), ("survey", number, "required_message"))
            if message:
                q["required_message"] = message
        elif required and required.lower() not in _FALSE:
            self.report.append(Problem("left_out", "required_expression", sheet="survey", row=number,
                                       column="required", params={"expr": required}))
        group_relevant = next((g[1] for g in reversed(groups) if g[1]), None)
        relevant = self.expression(bind.get("relevant"), number, "relevant", known)
        if hl.get("retired"):
            relevant = None
        if group_relevant and relevant:
            relevant = f"({group_relevant}) and ({relevant})"
        relevant = relevant or group_relevant
        if relevant:
            q["relevant"] = relevant
        if our_type == "calculate":
            calculation = self.expression(bind.get("calculate"), number, "calculation", known)
            if calculation is None:
                return None
            q["calculation"] = calculation
        if list_name is not None and our_type in CHOICE_TYPES:
            if list_name not in lists:
                self.report.append(Problem("left_out", "choices_missing", sheet="survey", row=number, column="type",
                                           params={"list": list_name}))
                return None
            unscored = set(hl.get("unscored", []))
            choices = [{**c, "scored": False} if c["value"] in unscored else c for c in lists[list_name]]
            if or_other:
                choices = [*choices, {"value": "other", "label": {lang: _OTHER_LABEL.get(lang, "Other")
                                                                  for lang in self.languages}}]
                other_id = self.rename(f"{qid}_other", number)
                other: dict[str, Any] = {
                    "id": other_id, "type": "text",
                    "label": {lang: _OTHER_TEXT.get(lang, "Please specify") for lang in self.languages},
                    "relevant": f"selected(${{{qid}}}, 'other')",
                }
                if groups and groups[-1][0]:
                    other["section"] = groups[-1][0]
                q["_other"] = other
                self.report.append(Problem("changed", "or_other", sheet="survey", row=number, column="type",
                                           params={"name": qid, "other": other_id}))
            q["choices"] = choices if (unscored or or_other) else list_name
            choice_filter = self.expression(row.get("choice_filter"), number, "choice_filter", known, columns=True)
            columns = {k for c in choices for k in c.get("properties", {})} | {"name", "label"}
            missing = sorted(choice_names(choice_filter) - columns) if choice_filter else []
            if missing:
                self.report.append(Problem("left_out", "expression", sheet="survey", row=number, column="choice_filter",
                                           params={"column": "choice_filter",
                                                   "detail": f"no choice has a column {', '.join(missing)}"}))
            elif choice_filter:
                q["choice_filter"] = choice_filter
        if our_type == "range":
            if not self.range(q, row, number):
                return None
        if hl:
            for key in ("section", "element", "subdimension", "indicator", "direction", "satisfied", "bounds",
                        "personal", "retired", "constraint", "relevant"):
                if key in hl:
                    q[key] = hl[key]
            q.update(hl.get("options", {}))
        else:
            constraint = self.expression(bind.get("constraint"), number, "constraint", known | {qid})
            if constraint:
                q["constraint"] = constraint
        message = self.text(bind.get("jr:constraintMsg"), ("survey", number, "constraint_message"))
        if message and (q.get("constraint") or "pattern" in q):
            q["constraint_message"] = message
        self.default(q, row.get("default"), number)
        appearance = str(control.get("appearance") or "").strip().lower()
        if appearance and not (appearance == "multiline" and our_type == "longtext"):
            if _APPEARANCE.match(appearance):
                q["appearance"] = appearance
            else:
                self.report.append(Problem("left_out", "appearance", sheet="survey", row=number, column="appearance",
                                           params={"appearance": appearance}))
        for key in set(bind) - _BIND_KEPT:
            self.report.append(Problem("left_out", "column_left_out", sheet="survey", row=number, column=key,
                                       params={"column": key}))
        for key in set(control) - {"appearance"}:
            self.report.append(Problem("left_out", "column_left_out", sheet="survey", row=number, column=key,
                                       params={"column": key}))
        if row.get("media"):
            self.report.append(Problem("left_out", "column_left_out", sheet="survey", row=number, column="media",
                                       params={"column": "media"}))
        if row.get("parameters") and our_type != "rating" and base != "range":
            self.report.append(Problem("left_out", "column_left_out", sheet="survey", row=number, column="parameters",
                                       params={"column": "parameters"}))
        return q

    def default(self, q: dict[str, Any], raw: Any, number: int | None) -> None:
        if raw is None or str(raw).strip() == "" or q["type"] in {"note", "calculate"}:
            return
        text = str(raw).strip()
        if "(" in text or "${" in text:
            self.report.append(Problem("left_out", "dynamic_default", sheet="survey", row=number, column="default",
                                       params={"expr": text}))
            return
        q["default"] = text

    def range(self, q: dict[str, Any], row: dict[str, Any], number: int | None) -> bool:
        params = dict(re.findall(r"([a-z_-]+)\s*=\s*([^\s;,]+)", str(row.get("parameters") or "")))
        try:
            start, end, step = (float(params.get(k, d)) for k, d in (("start", "1"), ("end", "10"), ("step", "1")))
        except ValueError:
            self.report.append(Problem("left_out", "column_left_out", sheet="survey", row=number, column="parameters",
                                       params={"column": "parameters"}))
            return False
        low, high = min(start, end), max(start, end)
        whole = all(float(v).is_integer() for v in (start, end, step)) and step > 0
        count = int((high - low) / step) + 1 if step > 0 else 0
        shown = {"name": q["id"], "start": _num(low), "end": _num(high)}
        if whole and 2 <= count <= 11:
            q["type"] = "rating"
            q["choices"] = [{"value": int(low + k * step), "label": {lang: str(int(low + k * step))
                                                                   for lang in self.languages}} for k in range(count)]
            q["bounds"] = [low, high]
            self.report.append(Problem("changed", "range_rating", sheet="survey", row=number, column="type",
                                       params=shown))
        else:
            q["type"] = "integer" if whole else "decimal"
            q["min"], q["max"] = (int(low), int(high)) if whole else (low, high)
            self.report.append(Problem("changed", "range_number", sheet="survey", row=number, column="type",
                                       params=shown))
        return True

    # -- the definition -------------------------------------------------------------------

    def definition(self, settings: Mapping[str, Any], meta: Mapping[str, Any], questions: list[dict[str, Any]],
                   sections: list[dict[str, Any]], lists: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        raw_id = str(settings.get("id_string") or Path(self.label).stem or "imported")
        form_id = re.sub(r"[^a-z0-9\-_]+", "-", _slug(raw_id.replace("_", "0u0")).replace("0u0", "_")).strip("-_")
        form_id = form_id or "imported"
        if not re.match(r"^[a-z0-9]", form_id):
            form_id = f"form-{form_id}"
        if form_id != raw_id:
            self.report.append(Problem("changed", "form_id", sheet="settings", column="form_id",
                                       params={"old": raw_id, "new": form_id}))
        raw_version = str(settings.get("version") or "").strip()
        version = raw_version or "1"
        if not re.match(r"^[0-9A-Za-z][0-9A-Za-z.\-]*$", version):
            stamp = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?", version)
            version = "".join(g for g in stamp.groups() if g) if stamp else version
            version = re.sub(r"[^0-9A-Za-z.\-]+", "", version).strip(".-") or "1"
            if not re.match(r"^[0-9A-Za-z]", version):
                version = "1"
            self.report.append(Problem("changed", "version", sheet="settings", column="version",
                                       params={"old": raw_version, "new": version}))
        title_text = str(settings.get("title") or raw_id)
        title = meta.get("title") or {lang: title_text for lang in self.languages}
        used = {q["choices"] for q in questions if isinstance(q.get("choices"), str)}
        known = meta.get("choice_lists") or {}
        known_lists = dict(known) if isinstance(known, dict) else {n: [] for n in known}
        for list_name, unscored in known_lists.items():
            for c in lists.get(list_name, []):
                if c["value"] in unscored:
                    c["scored"] = False
        definition: dict[str, Any] = {
            "id": form_id,
            "version": version,
            "kind": meta.get("kind") or "survey",
            "title": title,
            "languages": self.languages,
        }
        for key in ("description", "notes"):
            if meta.get(key):
                definition[key] = meta[key]
        scoring = meta.get("scoring")
        definition["scoring"] = ({k: v for k, v in scoring.items() if v not in (None, [])} if scoring
                                 else {"overall_rule": "none"})
        if meta.get("sections"):
            definition["sections"] = meta["sections"]
        elif sections:
            definition["sections"] = sections
        choice_lists = {n: c for n, c in lists.items() if (n in used and n != YESNO_LIST) or n in known_lists}
        if choice_lists:
            definition["choice_lists"] = choice_lists
        definition["questions"] = questions
        if meta.get("based_on"):
            definition["based_on"] = meta["based_on"]
        return definition


def _pyxform_text(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _rows(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:8])
    return shown + (f", … ({len(rows)})" if len(rows) > 8 else "")
