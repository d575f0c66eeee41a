"""The official list of administrative units, imported (``hailong units import``), never typed.

The list ships with Hài Lòng as ``official_units.json.gz``, derived from the PyPI package
``vietnam-provinces`` (its source, version and date are inside the file and printed by every
import; ``build_official_units.py`` beside it rebuilds it): today's 34 provinces and centrally-run
cities and 3,321 commune-level units with their national statistics codes, and the 63 provinces,
696 districts and 10,051 communes of before 1 July 2025 with the official old → new table.

Today's units are stored under their official code (``96``, ``32002``); the old ones under
``cu-`` and theirs (``cu-96``, ``cu-964``, ``cu-32002``: a code can be both an old and a new unit's),
valid to 30 June 2025, with a correspondence row to what they became. An import is idempotent:
a second one changes nothing, and one from a newer list reports the units it adds, renames and
ends (a unit no longer on the list is ended, never deleted — its responses stay where they were).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from survey.store.models import Unit, UnitCorrespondence, UnitKind, UnitLevel
from survey.store.units import LAST_OLD_DAY, REFORM_DAY

DATA_FILE = "official_units.json.gz"
HISTORY_PREFIX = "cu-"

KINDS: dict[str, UnitKind] = {
    "tỉnh": UnitKind.TINH,
    "thành phố trung ương": UnitKind.THANH_PHO_TW,
    "huyện": UnitKind.HUYEN,
    "quận": UnitKind.QUAN,
    "thị xã": UnitKind.THI_XA,
    "thành phố": UnitKind.THANH_PHO,
    "xã": UnitKind.XA,
    "phường": UnitKind.PHUONG,
    "đặc khu": UnitKind.DAC_KHU,
    "thị trấn": UnitKind.THI_TRAN,
}


@cache
def official_list() -> dict[str, Any]:
    """The shipped official list (see the module docstring)."""
    data: dict[str, Any] = json.loads(gzip.decompress(files("survey.admin").joinpath(DATA_FILE).read_bytes()))
    return data


def package_list() -> dict[str, Any]:
    """Today's list as the installed ``vietnam-provinces`` package has it (``hailong units import
    --from-package``): provinces and commune-level units, no history."""
    import vietnam_provinces as vp
    from vietnam_provinces import Province, Ward

    return {
        "source": f"PyPI vietnam-provinces {vp.__version__} (installed; data of {vp.__data_version__})",
        "provinces": [[p.code.value, p.name, p.division_type.value] for p in Province.iter_all()],
        "wards": [[w.code.value, w.name, w.division_type.value, w.province_code.value] for w in Ward.iter_all()],
        "legacy_provinces": [], "legacy_districts": [], "legacy_wards": [], "ward_changes": [], "province_changes": [],
    }


def province_code(code: int) -> str:
    return f"{code:02d}"


def ward_code(code: int) -> str:
    return f"{code:05d}"


def old(code: str) -> str:
    return HISTORY_PREFIX + code


@dataclass
class ImportReport:
    """What an import changed: codes added, renamed (old name → new name) and ended."""

    source: str
    added: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    correspondences: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # units of today's map by kind, in the import

    @property
    def changed(self) -> bool:
        return bool(self.added or self.renamed or self.ended or self.correspondences)


@dataclass(frozen=True)
class _Row:
    code: str
    official: str
    name: str
    kind: UnitKind
    level: UnitLevel
    parent: str | None
    valid_from: date | None
    valid_to: date | None


def _rows(data: dict[str, Any], provinces: set[int] | None,
          history: bool) -> tuple[list[list[_Row]], list[tuple[str, str, bool]]]:
    """The units to import, tier by tier (parents first), and the (old, new, partly) pairs."""
    chosen = {p[0] for p in data["provinces"]} if provinces is None else provinces
    tiers: list[list[_Row]] = [[], [], []]
    for code, name, kind in data["provinces"]:
        if code in chosen:
            c = province_code(code)
            tiers[0].append(_Row(c, c, name, KINDS[kind], UnitLevel.PROVINCE, None, REFORM_DAY, None))
    for code, name, kind, province in data["wards"]:
        if province in chosen:
            tiers[2].append(_Row(ward_code(code), ward_code(code), name, KINDS[kind], UnitLevel.COMMUNE,
                                 province_code(province), REFORM_DAY, None))
    pairs: list[tuple[str, str, bool]] = []
    if history:
        old_provinces = {o for o, new in data["province_changes"] if set(new) & chosen}
        for o, new in data["province_changes"]:
            if o in old_provinces:
                pairs.extend((old(province_code(o)), province_code(n), len(new) > 1) for n in new if n in chosen)
        for code, name, kind in data["legacy_provinces"]:
            if code in old_provinces:
                c = province_code(code)
                tiers[0].append(_Row(old(c), c, name, KINDS[kind], UnitLevel.PROVINCE, None, None, LAST_OLD_DAY))
        districts = {}
        for code, name, kind, province in data["legacy_districts"]:
            if province in old_provinces:
                c = f"{code:03d}"
                districts[code] = c
                tiers[1].append(_Row(old(c), c, name, KINDS[kind], UnitLevel.DISTRICT, old(province_code(province)),
                                     None, LAST_OLD_DAY))
        wards = set()
        for code, name, kind, district in data["legacy_wards"]:
            if district in districts:
                wards.add(code)
                tiers[2].append(_Row(old(ward_code(code)), ward_code(code), name, KINDS[kind], UnitLevel.COMMUNE,
                                     old(districts[district]), None, LAST_OLD_DAY))
        new_wards = {r.code for r in tiers[2] if r.valid_to is None}
        for o, new, partly in data["ward_changes"]:
            if o in wards:
                pairs.extend((old(ward_code(o)), ward_code(n), bool(partly)) for n in new if ward_code(n) in new_wards)
    return tiers, pairs


def import_official(
    session: Session, *, provinces: Iterable[int] | None = None, history: bool = True, today: date | None = None,
    data: dict[str, Any] | None = None,
) -> ImportReport:
    """Import the official list (``data``; default the shipped one) for ``provinces`` (national
    codes; None: the whole country), with the units of before 1 July 2025 and their
    correspondence when ``history``."""
    chosen = None if provinces is None else {int(p) for p in provinces}
    data = data or official_list()
    report = ImportReport(source=data["source"])
    tiers, pairs = _rows(data, chosen, history)
    existing = {u.code: u for u in session.scalars(select(Unit)).all()}
    ids = {code: u.id for code, u in existing.items()}
    listed: set[str] = set()
    for tier in tiers:
        new_rows = []
        for row in tier:
            listed.add(row.code)
            unit = existing.get(row.code)
            if unit is None:
                new_rows.append({
                    "code": row.code, "official_code": row.official, "name": row.name, "kind": row.kind,
                    "level": row.level, "parent_id": ids[row.parent] if row.parent else None,
                    "valid_from": row.valid_from, "valid_to": row.valid_to,
                })
                report.added.append(row.code)
                continue
            if unit.name != row.name or unit.kind != row.kind or unit.official_code != row.official:
                if unit.name != row.name or unit.kind != row.kind:
                    report.renamed.append((row.code, unit.name, row.name))
                unit.name, unit.kind, unit.official_code = row.name, row.kind, row.official
            if unit.valid_to is not None and row.valid_to is None:  # back on the list
                unit.valid_to = None
                report.added.append(row.code)
        if new_rows:
            for start in range(0, len(new_rows), 2000):
                session.execute(insert(Unit), new_rows[start:start + 2000])
            session.flush()
            ids.update((code, uid) for code, uid in session.execute(select(Unit.code, Unit.id)))
    # Units of the official list that are no longer on it: ended (never deleted).
    day = today or date.today()
    in_scope = {province_code(p[0]) for p in data["provinces"] if chosen is None or p[0] in chosen}
    for unit in existing.values():
        if (unit.official_code and not unit.code.startswith(HISTORY_PREFIX) and unit.valid_to is None
                and unit.code not in listed and unit.level in (UnitLevel.PROVINCE, UnitLevel.COMMUNE)
                and _province_of(unit, existing) in in_scope):
            unit.valid_to = day - timedelta(days=1)
            report.ended.append(unit.code)
    known = {(o, n) for o, n in session.execute(select(UnitCorrespondence.old_unit_id, UnitCorrespondence.new_unit_id))}
    links = [{"old_unit_id": ids[o], "new_unit_id": ids[n], "share": None, "partly": partly}
             for o, n, partly in pairs if (ids[o], ids[n]) not in known]
    for start in range(0, len(links), 5000):
        session.execute(insert(UnitCorrespondence), links[start:start + 5000])
    report.correspondences = len(links)
    for tier in tiers:
        for row in tier:
            if row.valid_to is None:
                report.counts[row.kind.value] = report.counts.get(row.kind.value, 0) + 1
    session.flush()
    return report


def _province_of(unit: Unit, existing: dict[str, Unit]) -> str | None:
    node: Unit | None = unit
    while node is not None and node.level != UnitLevel.PROVINCE:
        node = node.parent
    return node.code if node is not None else None
