"""A plain result table: named columns with display labels, rows as mappings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    decimals: int | None = None
    identifier: bool = False  # a code (unit code, version) a spreadsheet must keep as text


@dataclass(frozen=True)
class ResultTable:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, object], ...]
