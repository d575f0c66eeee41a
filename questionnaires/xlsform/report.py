"""What an XLSForm import changed, left out or refused — one entry per problem, in two languages.

Each :class:`Problem` names the sheet, the row and the column it is about and has a message in
Vietnamese (the default) and English. ``left_out`` problems lose something of the workbook (the
command line then exits non-zero unless ``--allow-partial``); ``changed`` ones keep the content in
another shape (a renamed question, a range become a rating); ``refused`` ones stop the import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["MESSAGES", "Problem", "XLSFormError"]

Kind = Literal["changed", "left_out", "refused"]

MESSAGES: Mapping[str, tuple[str, str]] = {
    # code: (Vietnamese, English)
    "unreadable": (
        "không đọc được tệp này như một XLSForm (.xlsx, .xls hoặc .csv): {detail}",
        "this file cannot be read as an XLSForm (.xlsx, .xls or .csv): {detail}",
    ),
    "pyxform": ("pyxform (công cụ của ODK) không chấp nhận biểu mẫu: {detail}",
                "pyxform (ODK's converter) does not accept the form: {detail}"),
    "no_survey": ("không có trang tính 'survey'", "there is no 'survey' sheet"),
    "no_questions": ("không còn câu hỏi nào để nhập", "no question is left to import"),
    "invalid": ("không hợp lệ: {detail}", "not valid: {detail}"),
    "renamed": ("tên {old!r} được đổi thành {new!r} (tên chỉ gồm chữ, số và '_')",
                "name {old!r} renamed {new!r} (names are letters, digits and '_')"),
    "unnamed": ("dòng không có tên: đặt tên {new!r}", "row has no name: named {new!r}"),
    "no_label": ("không có nhãn: dùng tên {name!r} làm nhãn", "no label: the name {name!r} is used as the label"),
    "choice_renamed": ("lựa chọn {old!r} của danh sách {list!r} được đổi thành {new!r}",
                       "choice {old!r} of list {list!r} renamed {new!r}"),
    "plain_language": ("cột không ghi ngôn ngữ được hiểu là {language}",
                       "columns without a language are taken as {language}"),
    "no_vietnamese": ("biểu mẫu không có tiếng Việt: văn bản {language} được dùng làm tiếng Việt cho đến khi dịch",
                      "the form has no Vietnamese: the {language} text stands in for Vietnamese until translated"),
    "translation_missing": ("thiếu bản {language} ở {count} ô: dùng văn bản {fallback} thay",
                            "{count} cell(s) have no {language} text: the {fallback} text is used"),
    "metadata": ("trường siêu dữ liệu {name!r} ({type}) bị bỏ: Hài Lòng tự ghi thời gian và thiết bị",
                 "metadata field {name!r} ({type}) left out: Hài Lòng records times and devices itself"),
    "type_unsupported": ("câu hỏi {name!r} kiểu {type!r} không thể biểu diễn nên bị bỏ",
                         "question {name!r} of type {type!r} cannot be represented and is left out"),
    "repeat": (
        "nhóm lặp {name!r} (dòng {first}–{last}) chưa được hỗ trợ: bỏ {count} câu hỏi ({names})",
        "repeat {name!r} (rows {first}–{last}) is not supported: its {count} question(s) ({names}) are left out",
    ),
    "group_section": ("nhóm {name!r} được giữ thành phần {name!r}", "group {name!r} kept as section {name!r}"),
    "nested_group": ("nhóm {name!r} nằm trong nhóm {parent!r}: giữ thành một phần riêng",
                     "group {name!r} inside group {parent!r}: kept as a section of its own"),
    "range_rating": ("câu hỏi thang {name!r} ({start}–{end}) trở thành câu hỏi đánh giá với các mức {start}…{end}",
                     "range question {name!r} ({start}–{end}) becomes a rating question with levels {start}…{end}"),
    "range_number": ("câu hỏi thang {name!r} trở thành một số từ {start} đến {end}",
                     "range question {name!r} becomes a number from {start} to {end}"),
    "or_other": ("'or_other' của {name!r}: thêm lựa chọn 'other' và câu hỏi ghi rõ {other!r}",
                 "'or_other' of {name!r}: choice 'other' and the follow-up text question {other!r} added"),
    "quotes": ("dấu nháy cong trong {column} được đổi thành nháy thẳng", "typographic quotes in {column} made straight"),
    "expression": ("{column} không giữ được: {detail}", "{column} not kept: {detail}"),
    "required_expression": ("điều kiện bắt buộc {expr!r} không giữ được (chỉ giữ có/không)",
                            "required condition {expr!r} not kept (only yes/no is kept)"),
    "dynamic_default": ("giá trị mặc định tính từ biểu thức {expr!r} không giữ được",
                        "default computed from the expression {expr!r} not kept"),
    "column_left_out": ("cột {column!r} không giữ được", "column {column!r} not kept"),
    "columns_left_out": ("cột {column!r} (dòng {rows}) không giữ được", "column {column!r} (rows {rows}) not kept"),
    "appearance": ("kiểu hiển thị {appearance!r} không giữ được", "appearance {appearance!r} not kept"),
    "version": ("phiên bản {old!r} được đổi thành {new!r}", "version {old!r} changed to {new!r}"),
    "form_id": ("mã biểu mẫu {old!r} được đổi thành {new!r}", "form id {old!r} changed to {new!r}"),
    "choices_missing": ("danh sách lựa chọn {list!r} không có trong trang 'choices'",
                        "choice list {list!r} is not in the 'choices' sheet"),
    "choice_no_list": ("dòng lựa chọn không có list_name hoặc name nên bị bỏ",
                       "choice row without list_name or name left out"),
    "choice_media": ("hình ảnh/âm thanh của lựa chọn không giữ được", "media of the choice not kept"),
    "sheet_left_out": ("trang tính {sheet!r} không giữ được", "sheet {sheet!r} not kept"),
}


LANGUAGE_NAMES: Mapping[str, tuple[str, str]] = {
    # code: (in Vietnamese, in English); other codes are shown as they are
    "vi": ("tiếng Việt", "Vietnamese"), "en": ("tiếng Anh", "English"), "fr": ("tiếng Pháp", "French"),
    "es": ("tiếng Tây Ban Nha", "Spanish"), "pt": ("tiếng Bồ Đào Nha", "Portuguese"), "zh": ("tiếng Trung", "Chinese"),
    "sw": ("tiếng Swahili", "Swahili"), "ar": ("tiếng Ả Rập", "Arabic"), "km": ("tiếng Khmer", "Khmer"),
    "lo": ("tiếng Lào", "Lao"), "th": ("tiếng Thái", "Thai"), "ne": ("tiếng Nepal", "Nepali"),
}
_LANGUAGE_PARAMS = ("language", "fallback")


@dataclass(frozen=True)
class Problem:
    """One thing the import changed, left out or refused, with where it is in the workbook."""

    kind: Kind
    code: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, language: str = "vi") -> str:
        """The problem in ``language`` (``vi`` or ``en``), prefixed with where it is."""
        vi, en = MESSAGES[self.code]
        english = language == "en"
        params = {k: (LANGUAGE_NAMES.get(str(v), (str(v), str(v)))[english] if k in _LANGUAGE_PARAMS else v)
                  for k, v in self.params.items()}
        text = (en if english else vi).format(**params)
        return f"{self.where(language)}{text}"

    def where(self, language: str = "vi") -> str:
        parts = []
        if self.sheet:
            parts.append(f"{'sheet' if language == 'en' else 'trang'} {self.sheet}")
        if self.row:
            parts.append(f"{'row' if language == 'en' else 'dòng'} {self.row}")
        if self.column:
            parts.append(f"{'column' if language == 'en' else 'cột'} {self.column}")
        return (", ".join(parts) + ": ") if parts else ""


class XLSFormError(ValueError):
    """The workbook cannot be imported; :attr:`problems` says why, one entry per problem."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message("en") for p in self.problems))

    def messages(self, language: str = "vi") -> list[str]:
        return [p.message(language) for p in self.problems]
