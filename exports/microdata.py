"""Response-level data for analysts: one row per response, one column per question, written as
CSV (plain or for Excel), XLSX, SPSS ``.sav`` or Stata ``.dta`` — the last two with variable
labels and value labels (pyreadstat), which is what analysts ask of ODK and KoboToolbox and do
not get (``docs/field-lessons.md``, lesson 11). Pure: a DataFrame and its variables in, bytes out.

Text is NFC-normalised. Labels longer than a format allows are cut (marked "…"); Stata variable
names are limited to 32 characters: longer question ids are shortened and kept unique.

So that a plain mean in SPSS, Stata or R (haven) is right without recoding, the codes a variable
declares ``missing`` ("don't know", "not applicable": choices that are stored but never scored)
are written as user-missing values: SPSS ``missing_ranges`` (discrete values), Stata extended
missing values ``.a``, ``.b``, … (labelled with the answer text). Timestamps are datetime
variables in Vietnam time (UTC+07:00, said in their label); CSV and XLSX write them as ISO 8601
with the offset. In the CSV for Excel, identifiers (response id, version, unit and service codes)
are written so a spreadsheet keeps them as text and other text that would start a formula is
defused (:mod:`exports.cells`); XLSX writes text as text. A text column with ``categories`` (channel, review status, unit, service) is
written to SPSS and Stata as whole-number codes with the categories as value labels, and stays
text in CSV and XLSX.
"""

from __future__ import annotations

import io
import os
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from exports.cells import defuse, excel_text
from exports.renderers import XLSX_MIMETYPE, Rendered


@dataclass(frozen=True)
class Variable:
    name: str  # the column
    label: str  # what it asks, in the chosen language
    value_labels: Mapping[float, str] | None = None  # code → answer text, for coded numeric answers
    missing: tuple[float, ...] = ()  # codes that are answers but not values ("don't know", "not applicable")
    categories: Mapping[str, str] | None = None  # text code → label, for a categorical text column
    identifier: bool = False  # a code kept as text when a spreadsheet opens the CSV (unit code, version)


@dataclass(frozen=True)
class Microdata:
    title: str
    frame: pd.DataFrame
    variables: tuple[Variable, ...]


FORMATS = ("csv-excel", "csv", "csv-vi", "xlsx", "sav", "dta")


def _nfc(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):  # pandas 3: str dtype
            out[column] = out[column].map(lambda v: unicodedata.normalize("NFC", v) if isinstance(v, str) else v)
    return out


def _iso_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as ISO 8601 text with their offset (CSV, XLSX)."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].map(lambda t: t.isoformat() if not pd.isna(t) else None)
    return out


def write(fmt: str, data: Microdata) -> Rendered:
    """``data`` as ``fmt`` (one of :data:`FORMATS`)."""
    frame = _nfc(data.frame[[v.name for v in data.variables]])
    if fmt in ("csv", "csv-excel", "csv-vi", "xlsx"):
        frame = _iso_times(frame)
    if fmt == "csv-vi":  # a spreadsheet set to Vietnamese: ';' between cells, decimal comma
        frame = frame.map(defuse)
        for v in data.variables:
            if v.identifier:
                frame[v.name] = data.frame[v.name].map(excel_text)
        text = frame.to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
        return Rendered(text.encode("utf-8-sig"), "text/csv; charset=utf-8", "csv")
    if fmt == "csv-excel":
        frame = frame.map(defuse)
        for v in data.variables:
            if v.identifier:
                frame[v.name] = data.frame[v.name].map(excel_text)
    if fmt in ("csv", "csv-excel"):
        text = frame.to_csv(index=False, lineterminator="\r\n")
        return Rendered(text.encode("utf-8-sig" if fmt == "csv-excel" else "utf-8"), "text/csv; charset=utf-8", "csv")
    if fmt == "xlsx":
        return _xlsx(frame, data)
    if fmt in ("sav", "dta"):
        return _readstat(fmt, frame, data)
    raise ValueError(f"unknown format {fmt!r}; available: {', '.join(FORMATS)}")


def _xlsx(frame: pd.DataFrame, data: Microdata) -> Rendered:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(list(frame.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        sheet.append([None if _missing(v) else v for v in row])
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":  # text that starts with "=" stays text, never a live formula
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    variables = book.create_sheet("variables")
    variables.append(["variable", "label", "values", "missing"])
    for v in data.variables:
        values = "; ".join(f"{_code(c)} = {t}" for c, t in (v.value_labels or {}).items())
        if v.categories:
            values = "; ".join(f"{c} = {t}" for c, t in v.categories.items())
        missing = ", ".join(str(_code(c)) for c in v.missing)
        variables.append([v.name, unicodedata.normalize("NFC", v.label), unicodedata.normalize("NFC", values),
                          missing or None])
    buffer = io.BytesIO()
    book.save(buffer)
    return Rendered(buffer.getvalue(), XLSX_MIMETYPE, "xlsx")


def _readstat(fmt: str, frame: pd.DataFrame, data: Microdata) -> Rendered:
    import pyreadstat

    names = {v.name: v.name for v in data.variables}
    if fmt == "dta":
        names = _stata_names([v.name for v in data.variables])
    frame = frame.copy()
    value_labels: dict[str, dict[Any, str]] = {}
    missing_sav: dict[str, list[float]] = {}
    missing_dta: dict[str, list[str]] = {}
    for v in data.variables:
        column = frame[v.name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):  # ReadStat writes local wall-clock time
            frame[v.name] = column.dt.tz_localize(None)
        if v.categories:
            codes = {c: float(i) for i, c in enumerate(v.categories, start=1)}
            frame[v.name] = column.map(lambda x, codes=codes: codes.get(x) if isinstance(x, str) else None).astype(float)
            value_labels[v.name] = {_code(codes[c]): _fit(t, fmt, "value") for c, t in v.categories.items()}
        elif v.value_labels:
            value_labels[v.name] = {_code(c): _fit(t, fmt, "value") for c, t in v.value_labels.items()}
        if v.missing:
            if fmt == "sav":
                missing_sav[v.name] = [_code(c) for c in v.missing]
            else:  # Stata: the codes become extended missing values .a, .b, … keeping their labels
                letters = {float(c): chr(ord("a") + i) for i, c in enumerate(v.missing[:26])}
                frame[v.name] = frame[v.name].map(lambda x, letters=letters: letters.get(float(x), x)
                                                  if isinstance(x, int | float) and x == x else x)
                missing_dta[v.name] = list(letters.values())
                labelled = value_labels.setdefault(v.name, {})
                for code, letter in letters.items():
                    text = labelled.pop(_code(code), None)
                    if text is not None:
                        labelled[letter] = text
    frame = frame.rename(columns=names)
    labels: list[str | None] = [_fit(v.label, fmt, "variable") for v in data.variables]
    value_labels = {names[k]: v for k, v in value_labels.items()}
    handle, path = tempfile.mkstemp(suffix=f".{fmt}")
    os.close(handle)
    try:
        if fmt == "sav":
            pyreadstat.write_sav(frame, path, column_labels=labels, variable_value_labels=value_labels,
                                 file_label=_fit(data.title, fmt, "file"),
                                 missing_ranges={names[k]: list(v) for k, v in missing_sav.items()} or None)
            mimetype = "application/x-spss-sav"
        else:
            pyreadstat.write_dta(frame, path, column_labels=labels, variable_value_labels=value_labels,
                                 file_label=_fit(data.title, fmt, "file"), version=15,
                                 missing_user_values={names[k]: v for k, v in missing_dta.items()} or None)
            mimetype = "application/x-stata-dta"
        with open(path, "rb") as f:
            return Rendered(f.read(), mimetype, fmt)
    finally:
        os.unlink(path)


@dataclass(frozen=True)
class _Limits:
    file: int
    variable: int
    value: int
    in_bytes: bool  # SPSS counts UTF-8 bytes (Vietnamese takes 1–3 a letter); Stata 118 characters


LABEL_LIMITS = {"sav": _Limits(file=64, variable=256, value=120, in_bytes=True),
                "dta": _Limits(file=80, variable=80, value=32000, in_bytes=False)}


def _fit(text: str, fmt: str, kind: str) -> str:
    """``text`` (NFC) cut to the format's limit for ``kind`` on a character boundary, "…" marking a cut."""
    text = unicodedata.normalize("NFC", text)
    limits = LABEL_LIMITS[fmt]
    limit: int = getattr(limits, kind)
    size = len(text.encode("utf-8")) if limits.in_bytes else len(text)
    if size <= limit:
        return text
    if limits.in_bytes:
        cut = text.encode("utf-8")[:limit - len("…".encode())].decode("utf-8", errors="ignore")
    else:
        cut = text[:limit - 1]
    return cut.rstrip() + "…"


def _code(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _stata_names(names: list[str]) -> dict[str, str]:
    """Stata names: at most 32 characters, unique."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        short = name[:32]
        n = 1
        while short in taken:
            suffix = f"_{n}"
            short = name[:32 - len(suffix)] + suffix
            n += 1
        taken.add(short)
        out[name] = short
    return out
