"""Decision 766/QĐ-TTg figures (the national public service portal's real-time index), imported
per unit from the CSV or XLSX a province downloads, and shown beside the survey estimate.

The portal counts dossiers and feedback; it is not a survey (docs/methodology.md §4). Each
indicator is a rate with its numerator and denominator:

- ``timeliness`` — dossiers settled on time / dossiers settled;
- ``online`` — dossiers received online / dossiers received;
- ``feedback_on_time`` (5.2) — feedback handled on time / feedback received;
- ``feedback_not_disliked`` (5.3) — feedback not rated "dislike", not re-complained, not overdue / feedback handled;
- ``satisfaction_5_4`` (5.4) — dossiers neither late nor complained about or disliked / dossiers settled.

A file has one row per unit (and period): the unit code, the period (or one period for the
whole file, given at upload), and for each indicator its numerator and denominator columns.
Headers are matched without tone marks or case, in Vietnamese or English. A file with any bad
row stores nothing, and every problem is reported with its row number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from survey.i18n import current_language
from survey.periods import Period
from survey.store.models import AdminIndexFigure, Unit
from survey.text import fold


@dataclass(frozen=True)
class Indicator:
    key: str
    code: str  # the indicator's number in Decision 766, where it has one
    label_vi: str
    label_en: str
    numerator: tuple[str, ...]  # accepted headers (the first is the template's)
    denominator: tuple[str, ...]

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_vi


INDICATORS: tuple[Indicator, ...] = (
    Indicator("timeliness", "2", "Hồ sơ giải quyết đúng hạn", "Dossiers settled on time",
              ("Hồ sơ giải quyết đúng hạn", "Dossiers settled on time", "timeliness_numerator"),
              ("Hồ sơ đã giải quyết", "Dossiers settled", "timeliness_denominator")),
    Indicator("online", "3", "Hồ sơ tiếp nhận trực tuyến", "Dossiers received online",
              ("Hồ sơ tiếp nhận trực tuyến", "Dossiers received online", "online_numerator"),
              ("Hồ sơ đã tiếp nhận", "Dossiers received", "online_denominator")),
    Indicator("feedback_on_time", "5.2", "Phản ánh, kiến nghị được xử lý đúng hạn", "Feedback handled on time",
              ("5.2 Phản ánh xử lý đúng hạn", "5.2 Feedback handled on time", "feedback_on_time_numerator"),
              ("5.2 Phản ánh đã tiếp nhận", "5.2 Feedback received", "feedback_on_time_denominator")),
    Indicator("feedback_not_disliked", "5.3", "Phản ánh, kiến nghị được người dân chấp nhận",
              "Feedback answers accepted by the citizen",
              ("5.3 Phản ánh không bị đánh giá không hài lòng", "5.3 Feedback not disliked",
               "feedback_not_disliked_numerator"),
              ("5.3 Phản ánh đã xử lý", "5.3 Feedback handled", "feedback_not_disliked_denominator")),
    Indicator("satisfaction_5_4", "5.4", "Mức độ hài lòng trong tiếp nhận, giải quyết TTHC",
              "Satisfaction in receiving and settling procedures",
              ("5.4 Hồ sơ không trễ hạn, không bị phản ánh", "5.4 Dossiers neither late nor complained about",
               "satisfaction_5_4_numerator"),
              ("5.4 Hồ sơ đã giải quyết", "5.4 Dossiers settled", "satisfaction_5_4_denominator")),
)
BY_KEY = {i.key: i for i in INDICATORS}
UNIT_HEADERS = ("Mã đơn vị", "Unit code", "unit")
PERIOD_HEADERS = ("Kỳ", "Period", "period")
NAME_HEADERS = ("Tên đơn vị", "Unit name", "name")
def _language() -> str:
    try:
        return current_language()
    except RuntimeError:  # outside an app context
        return "vi"


def _is_period(code: str) -> bool:
    try:
        Period.parse(code)
    except ValueError:
        return False
    return True


_THOUSANDS = re.compile(r"^\d{1,3}([.,\s]\d{3})+$")


@dataclass(frozen=True)
class Figure:
    row: int  # row number in the file (the header is row 1)
    unit: str
    period: str
    indicator: str
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass
class Parsed:
    figures: list[Figure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def template_csv() -> bytes:
    """An empty file with every column, to fill in (UTF-8 with BOM, for Excel)."""
    headers = [UNIT_HEADERS[0], NAME_HEADERS[0], PERIOD_HEADERS[0]]
    for indicator in INDICATORS:
        headers += [indicator.numerator[0], indicator.denominator[0]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(headers)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def read_table(filename: str, data: bytes) -> list[list[Any]]:
    """The rows of a CSV or XLSX file (raises ValueError with a message for the user)."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any unreadable workbook is the same problem for the user
            raise ValueError(_("The file is not a readable XLSX workbook.")) from None
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    if not filename.lower().endswith(".csv"):
        raise ValueError(_("Upload a CSV or XLSX file."))
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1258 decodes almost anything
        raise ValueError(_("The file is not UTF-8 text."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _header_index(headers: Sequence[Any], names: Iterable[str]) -> int | None:
    wanted = {fold(n) for n in names}
    for i, h in enumerate(headers):
        if h is not None and fold(str(h)) in wanted:
            return i
    return None


def _count(value: Any) -> int | None | str:
    """A non-negative whole number, ``None`` for an empty cell, or the text that is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value if value >= 0 else str(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else str(value)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    if _THOUSANDS.match(text):
        return int(re.sub(r"[.,\s]", "", text))
    return text


def parse(rows: Sequence[Sequence[Any]], *, known_units: Mapping[str, Any] | set[str], period: str | None) -> Parsed:
    """Check every row; return the figures, or the list of problems (row-numbered)."""
    result = Parsed()
    table = [list(r) for r in rows]
    while table and all(c is None or str(c).strip() == "" for c in table[0]):
        table.pop(0)
    if not table:
        result.errors.append(_("The file is empty."))
        return result
    headers = table[0]
    unit_col = _header_index(headers, UNIT_HEADERS)
    period_col = _header_index(headers, PERIOD_HEADERS)
    if unit_col is None:
        result.errors.append(_("Row 1: the column “%(name)s” is missing.", name=UNIT_HEADERS[0]))
    if period_col is None and not period:
        result.errors.append(_("Row 1: the column “%(name)s” is missing and no period was chosen.",
                               name=PERIOD_HEADERS[0]))
    if period and not _is_period(period):
        result.errors.append(_("“%(period)s” is not a period (write 2026-Q3, 2026-H1, 2026-9M or 2026).",
                               period=period))
    columns: dict[str, tuple[int, int]] = {}
    for indicator in INDICATORS:
        num_at, den_at = _header_index(headers, indicator.numerator), _header_index(headers, indicator.denominator)
        if num_at is None and den_at is None:
            continue
        if num_at is None or den_at is None:
            missing = indicator.numerator[0] if num_at is None else indicator.denominator[0]
            result.errors.append(_("Row 1: the column “%(name)s” is missing.", name=missing))
            continue
        columns[indicator.key] = (num_at, den_at)
    if not columns and unit_col is not None:
        result.errors.append(_("Row 1: no indicator columns were found; use the template's headers."))
    if result.errors:
        return result
    assert unit_col is not None  # noqa: S101 - checked above
    seen: dict[tuple[str, str], int] = {}
    for number, row in enumerate(table[1:], start=2):
        if all(c is None or str(c).strip() == "" for c in row):
            continue

        def cell(i: int | None, row: list[Any] = row) -> Any:
            return None if i is None or i >= len(row) else row[i]

        unit = str(cell(unit_col) or "").strip()
        row_period = str(cell(period_col) or "").strip().upper() if period_col is not None else ""
        row_period = row_period or (period or "")
        if not unit:
            result.errors.append(_("Row %(row)s: the unit code is empty.", row=number))
            continue
        if unit not in known_units:
            result.errors.append(_("Row %(row)s: there is no unit with the code “%(code)s”.", row=number, code=unit))
            continue
        if not _is_period(row_period):
            result.errors.append(_("Row %(row)s: “%(period)s” is not a period (write 2026-Q3, 2026-H1, 2026-9M or 2026).",
                                   row=number, period=row_period))
            continue
        if (unit, row_period) in seen:
            result.errors.append(_("Row %(row)s: unit %(code)s and period %(period)s are already in row %(first)s.",
                                   row=number, code=unit, period=row_period, first=seen[unit, row_period]))
            continue
        seen[unit, row_period] = number
        for key, (num_col, den_col) in columns.items():
            indicator = BY_KEY[key]
            num: int | str | None = _count(cell(num_col))
            den: int | str | None = _count(cell(den_col))
            bad = False
            for value, header in ((num, indicator.numerator[0]), (den, indicator.denominator[0])):
                if isinstance(value, str):
                    result.errors.append(_("Row %(row)s, column “%(column)s”: “%(value)s” is not a whole number of 0 or more.",
                                           row=number, column=header, value=value))
                    bad = True
            if bad:
                continue
            if num is None and den is None:
                continue  # not reported for this unit
            if num is None or den is None:
                result.errors.append(_("Row %(row)s: “%(indicator)s” needs both its numerator and its denominator.",
                                       row=number, indicator=indicator.label(_language())))
                continue
            assert isinstance(num, int) and isinstance(den, int)  # noqa: S101
            if num > den:
                result.errors.append(_("Row %(row)s: the numerator of “%(indicator)s” (%(num)s) is larger than its denominator (%(den)s).",
                                       row=number, indicator=indicator.label(_language()), num=num, den=den))
                continue
            result.figures.append(Figure(number, unit, row_period, key, num, den))
    if not result.errors and not result.figures:
        result.errors.append(_("The file has no figures."))
    return result


# -- storing and reading ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Imported:
    figures: int
    units: int
    periods: tuple[str, ...]


def import_file(session: Session, filename: str, data: bytes, *, period: str | None = None,
                user_id: int | None = None, unit_ids: Collection[int] | None = None) -> Imported:
    """Check and store a file of Decision 766 figures; all or nothing.

    Raises :class:`ImportRefused` listing every problem (row-numbered) when any row is bad; a
    unit × period × indicator already stored is replaced by the file's figures. ``unit_ids``: the
    units the uploader's scope holds (None: every unit); a row of another unit is refused as an
    unknown code, which says nothing of units outside the scope."""
    try:
        rows = read_table(filename, data)
    except ValueError as exc:
        raise ImportRefused([str(exc)]) from None
    units = {u.code: u.id for u in session.execute(select(Unit.code, Unit.id))
             if unit_ids is None or u.id in unit_ids}
    chosen = Period.parse(period).code if period and _is_period(period) else period
    parsed = parse(rows, known_units=units, period=chosen)
    if parsed.errors:
        raise ImportRefused(parsed.errors)
    for figure in parsed.figures:
        code = Period.parse(figure.period).code
        session.execute(delete(AdminIndexFigure).where(
            AdminIndexFigure.unit_id == units[figure.unit], AdminIndexFigure.period == code,
            AdminIndexFigure.indicator == figure.indicator))
        session.add(AdminIndexFigure(unit_id=units[figure.unit], period=code, indicator=figure.indicator,
                                     numerator=figure.numerator, denominator=figure.denominator,
                                     source=filename[-200:], user_id=user_id))
    session.flush()
    return Imported(figures=len(parsed.figures), units=len({f.unit for f in parsed.figures}),
                    periods=tuple(sorted({Period.parse(f.period).code for f in parsed.figures})))


class ImportRefused(ValueError):
    """The file was not stored; ``problems`` says why, one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def label(indicator: str, language: str) -> str:
    found = BY_KEY.get(indicator)
    return indicator if found is None else found.label(language)


def _quarters_of(period: Period) -> list[str]:
    first, last = period.months
    return [f"{period.year}-Q{q}" for q in range(1, 5) if first <= 3 * q - 2 and 3 * q <= last]


def figures_for(session: Session, unit_codes: Iterable[str], period_code: str) -> list[dict[str, Any]]:
    """The Decision 766 figures of the units for a period, as the release snapshot stores them.

    A period's own figures win; without them, a half-year, nine months or a year adds up the
    numerators and denominators of its quarters when every one of them was imported (a rate of
    sums, as the portal computes it), and says so in ``from_quarters``."""
    period = Period.parse(period_code)
    codes = list(dict.fromkeys(unit_codes))
    wanted = [period.code] + ([] if period.kind == "quarter" else _quarters_of(period))
    rows = session.execute(
        select(Unit.code, AdminIndexFigure.period, AdminIndexFigure.indicator, AdminIndexFigure.numerator,
               AdminIndexFigure.denominator)
        .join(Unit, Unit.id == AdminIndexFigure.unit_id)
        .where(Unit.code.in_(codes), AdminIndexFigure.period.in_(wanted))).all()
    found: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    for unit, row_period, indicator, numerator, denominator in rows:
        found.setdefault((unit, indicator), {})[row_period] = (numerator, denominator)
    out: list[dict[str, Any]] = []
    order = {code: i for i, code in enumerate(codes)}
    keys = {i.key: n for n, i in enumerate(INDICATORS)}
    for (unit, indicator), by_period in sorted(found.items(), key=lambda kv: (order[kv[0][0]], keys.get(kv[0][1], 99))):
        if period.code in by_period:
            numerator, denominator = by_period[period.code]
            from_quarters: list[str] = []
        elif wanted[1:] and all(q in by_period for q in wanted[1:]):
            numerator = sum(by_period[q][0] for q in wanted[1:])
            denominator = sum(by_period[q][1] for q in wanted[1:])
            from_quarters = wanted[1:]
        else:
            continue
        info = BY_KEY.get(indicator)
        out.append({
            "unit": unit, "period": period.code, "indicator": indicator, "code": info.code if info else "",
            "label_vi": info.label_vi if info else indicator, "label_en": info.label_en if info else indicator,
            "numerator": numerator, "denominator": denominator,
            "rate": numerator / denominator if denominator else None, "from_quarters": from_quarters,
        })
    return out


def snapshot_section(session: Session, spec: Any, snapshot: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``admin_index`` section of a release snapshot (the release builder's SECTIONS hook):
    the figures of every unit the release shows, for its period."""
    return figures_for(session, (u["code"] for u in snapshot["units"]), spec.period.code)
