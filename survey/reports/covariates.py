"""Area covariates of units for the small-area model (:mod:`survey.reports.small_area`).

The Fay–Herriot model (``scoring.sae``) borrows strength from what is known of every commune,
sampled or not. A province imports those figures once a year from a CSV or XLSX file (``hailong
covariates import FILE``, or the staff page **Số liệu của đơn vị cho mô hình** at
``/staff/covariates/``; ``hailong covariates template`` prints the empty file): one row per
unit — its code (the unit's code or its national statistics code), then one column per
covariate, the reference year and the documented source. Headers are matched without tone
marks or case. A file with any bad row stores nothing, and every problem is reported with its
row number, in the user's language. Re-importing a unit × covariate replaces its value.

The covariates documented in docs/methodology.md ("Small-area estimates") are :data:`KNOWN`;
any other column whose name is a plain identifier (``a-z``, digits, ``_``) is accepted too, so a
province can add a figure it can cite. ``urban`` (1 for a ward, 0 otherwise) needs no import:
it comes from the unit's kind in the official list when it is not stored.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.store.models import Unit, UnitCovariate, UnitKind
from survey.text import fold


@dataclass(frozen=True)
class Covariate:
    name: str
    label_vi: str
    label_en: str
    source: str  # where a province finds it

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_vi


KNOWN: tuple[Covariate, ...] = (
    Covariate("urban", "Phường (1) hay xã, đặc khu (0)", "Ward (1) or commune, special zone (0)",
              "Danh mục đơn vị hành chính (Cục Thống kê), loại đơn vị"),
    Covariate("population", "Dân số (người)", "Population (persons)",
              "Nghị quyết của UBTVQH về sắp xếp đơn vị hành chính cấp xã 2025 (quy mô dân số)"),
    Covariate("area_km2", "Diện tích tự nhiên (km²)", "Natural area (km²)",
              "Nghị quyết của UBTVQH về sắp xếp đơn vị hành chính cấp xã 2025 (diện tích tự nhiên)"),
    Covariate("poverty_rate", "Tỷ lệ hộ nghèo", "Share of poor households",
              "Quyết định của UBND tỉnh phê duyệt kết quả rà soát hộ nghèo, hộ cận nghèo"),
    Covariate("distance_km", "Khoảng cách đến trung tâm tỉnh (km)", "Distance to the provincial centre (km)",
              "Sở Xây dựng / bản đồ hành chính tỉnh"),
)
KNOWN_NAMES = {c.name for c in KNOWN}
CODE_HEADERS = ("Mã đơn vị", "Unit code", "code", "ma_don_vi")
NAME_HEADERS = ("Tên đơn vị", "Unit name", "name")
YEAR_HEADERS = ("Năm", "Year", "year")
SOURCE_HEADERS = ("Nguồn", "Source", "source")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ImportRefused(Exception):
    """A covariate file with problems: nothing was stored; ``problems`` name each row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Imported:
    units: int
    values: int
    covariates: tuple[str, ...]


def template_csv() -> bytes:
    """An empty file with every column, to fill in (UTF-8 with BOM, for Excel)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(
        [CODE_HEADERS[0], NAME_HEADERS[0], *(c.name for c in KNOWN if c.name != "urban"),
         YEAR_HEADERS[0], SOURCE_HEADERS[0]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def read_table(filename: str, data: bytes) -> list[list[Any]]:
    """The rows of a CSV or XLSX file (raises ValueError with a message for the user)."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any unreadable workbook is the same problem for the user
            raise ValueError(_("The file is not a readable XLSX workbook.")) from None
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    if not filename.lower().endswith(".csv"):
        raise ValueError(_("Upload a CSV or XLSX file."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(_("The file is not UTF-8 text.")) from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return list(csv.reader(io.StringIO(text), dialect))


def _find(headers: Sequence[str], names: Iterable[str]) -> int | None:
    wanted = {fold(n) for n in names}
    return next((i for i, h in enumerate(headers) if h in wanted), None)


def _number(value: Any) -> float | None:
    """A cell as a number (decimal comma accepted); None when empty; NaN when not a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return math.nan
    return number if math.isfinite(number) else math.nan


def import_file(session: Session, filename: str, data: bytes, *, source: str | None = None,
                user_id: int | None = None, allowed: Callable[[Unit], bool] | None = None) -> Imported:
    """Store the covariates of a CSV/XLSX file — every row or none (raises :class:`ImportRefused`).
    ``allowed``: the units the importing account may enter data for (a row for another unit is a
    problem of the file); None: every unit (the command line)."""
    try:
        rows = read_table(filename, data)
    except ValueError as exc:
        raise ImportRefused([str(exc)]) from None
    rows = [r for r in rows if any(c not in (None, "") for c in r)]
    if not rows:
        raise ImportRefused([_("The file is empty.")])
    headers = [fold(str(h)) if h is not None else "" for h in rows[0]]
    code_at = _find(headers, CODE_HEADERS)
    if code_at is None:
        raise ImportRefused([_("Row 1: the file has no unit code column (%(name)s).", name=CODE_HEADERS[0])])
    fixed = {code_at, _find(headers, NAME_HEADERS), _find(headers, YEAR_HEADERS), _find(headers, SOURCE_HEADERS)}
    year_at, source_at = _find(headers, YEAR_HEADERS), _find(headers, SOURCE_HEADERS)
    problems: list[str] = []
    columns: list[tuple[int, str]] = []
    for i, header in enumerate(headers):
        if i in fixed or not header:
            continue
        name = header.replace(" ", "_")
        if not _IDENTIFIER.match(name):
            problems.append(_("Row 1: column %(column)s is not a covariate name (letters a–z, digits and _).",
                              column=rows[0][i]))
        columns.append((i, name))
    if not columns:
        problems.append(_("Row 1: the file has no covariate column (e.g. %(names)s).",
                          names=", ".join(c.name for c in KNOWN)))
    units = list(session.scalars(select(Unit)))
    by_code = {u.code: u for u in units}
    by_official = {u.official_code: u for u in units if u.official_code and u.valid_to is None}
    found: list[tuple[Unit, str, float, int | None, str]] = []
    seen: set[int] = set()
    for number, row in enumerate(rows[1:], start=2):
        def cell(i: int | None, row: list[Any] = row) -> Any:
            return row[i] if i is not None and i < len(row) else None

        code = str(cell(code_at) or "").strip()
        if code.endswith(".0") and code[:-2].isdigit():
            code = code[:-2]  # a code typed as a number in a spreadsheet
        unit = by_code.get(code) or by_official.get(code) or by_official.get(code.zfill(5))
        if unit is None:
            problems.append(_("Row %(row)s: unit %(code)s is not known.", row=number, code=code or "—"))
            continue
        if allowed is not None and not allowed(unit):
            problems.append(_("Row %(row)s: unit %(code)s is outside the area you enter data for.", row=number,
                              code=code))
            continue
        if unit.id in seen:
            problems.append(_("Row %(row)s: unit %(code)s appears twice.", row=number, code=code))
            continue
        seen.add(unit.id)
        year_value = _number(cell(year_at))
        if year_value is not None and not (math.isfinite(year_value) and 1900 <= year_value <= 2100
                                           and year_value == int(year_value)):
            problems.append(_("Row %(row)s: the year %(value)s is not a year.", row=number, value=cell(year_at)))
            continue
        row_source = str(cell(source_at) or "").strip() or (source or "")
        if not row_source:
            problems.append(_("Row %(row)s: give the source of the figures (a Source column or --source).",
                              row=number))
            continue
        for i, name in columns:
            value = _number(cell(i))
            if value is None:
                continue
            if math.isnan(value):
                problems.append(_("Row %(row)s: %(column)s is not a number (%(value)s).", row=number,
                                  column=name, value=cell(i)))
            elif name in ("population", "area_km2") and value <= 0:
                problems.append(_("Row %(row)s: %(column)s must be positive.", row=number, column=name))
            elif name in ("poverty_rate", "urban") and not 0 <= value <= 1:
                problems.append(_("Row %(row)s: %(column)s must be between 0 and 1.", row=number, column=name))
            else:
                found.append((unit, name, value, None if year_value is None else int(year_value), row_source[:200]))
    if problems:
        raise ImportRefused(problems)
    stored = {(c.unit_id, c.name): c for c in session.scalars(select(UnitCovariate).where(
        UnitCovariate.unit_id.in_([u.id for u, *_rest in found])))}
    for unit, name, value, year, row_source in found:
        record = stored.get((unit.id, name))
        if record is None:
            record = UnitCovariate(unit_id=unit.id, name=name)
            session.add(record)
        record.value, record.year, record.source, record.user_id = value, year, row_source, user_id
    session.flush()
    return Imported(len({u.id for u, *_rest in found}), len(found), tuple(sorted({n for _u, n, *_r in found})))


def unit_covariates(session: Session, units: Sequence[Unit]) -> pd.DataFrame:
    """One row per unit (``area`` = its id) with every stored covariate that is known for all of
    them, and ``urban`` from the unit's kind where it is not stored; attribute ``sources``
    (covariate → its sources, as imported)."""
    ids = [u.id for u in units]
    frame = pd.DataFrame({"area": ids})
    if not ids:
        frame.attrs["sources"] = {}
        return frame
    stored = session.scalars(select(UnitCovariate).where(UnitCovariate.unit_id.in_(ids))).all()
    values: dict[str, dict[int, float]] = {}
    sources: dict[str, set[str]] = {}
    for record in stored:
        values.setdefault(record.name, {})[record.unit_id] = record.value
        sources.setdefault(record.name, set()).add(
            f"{record.source} ({record.year})" if record.year else record.source)
    if "urban" not in values or len(values["urban"]) < len(ids):
        derived = {u.id: float(u.kind == UnitKind.PHUONG) for u in units}
        values["urban"] = {**derived, **values.get("urban", {})}
        sources.setdefault("urban", set()).add(KNOWN[0].source)
    order = [c.name for c in KNOWN] + sorted(set(values) - KNOWN_NAMES)
    for name in order:
        if name in values and len(values[name]) == len(ids):
            frame[name] = [values[name][i] for i in ids]
    frame.attrs["sources"] = {name: sorted(sources[name]) for name in frame.columns if name in sources}
    return frame


def label(name: str, language: str) -> str:
    """The covariate's label (its name for one a province added)."""
    known = next((c for c in KNOWN if c.name == name), None)
    return known.label(language) if known else name
