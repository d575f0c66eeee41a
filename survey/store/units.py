"""The administrative map on a date: which units are valid, under which parent, and how a unit of
the old map maps onto today's.

Since 1 July 2025 Viet Nam's local government is two-tier (province → commune-level unit: xã,
phường, đặc khu); districts exist only as historical units, valid to 30 June 2025. Every unit has
``valid_from``/``valid_to`` (``None``: open). On a day the tree is the units valid that day, each
hung under its nearest ancestor valid that day (a commune of an old district, kept by the
migration of an older database, hangs under its province today). ``unit_correspondence`` says
which unit(s) of today's map an old unit became (many-to-one merges; one-to-many where a commune
was split, with the share when known — or by village, when the villages have rows of their own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.store.models import Unit, UnitCorrespondence, UnitKind, UnitLevel
from survey.text import sort_key

if TYPE_CHECKING:
    import pandas as pd

#: What the share of a split commune in a new unit is measured on (``unit_correspondence.basis``).
SHARE_BASES = ("population", "villages", "area", "estimate")

REFORM_DAY = date(2025, 7, 1)  # Resolution 202/2025/QH15 and the two-tier local government law
LAST_OLD_DAY = date(2025, 6, 30)

# Tiers from the top; a level appears in a picker only when units of it exist on the day.
LEVEL_ORDER = (UnitLevel.PROVINCE, UnitLevel.DEPARTMENT, UnitLevel.DISTRICT, UnitLevel.COMMUNE, UnitLevel.HAMLET)


def valid_on(unit: Unit, day: date) -> bool:
    """Is ``unit`` part of the map on ``day``?"""
    return (unit.valid_from is None or unit.valid_from <= day) and (unit.valid_to is None or unit.valid_to >= day)


@dataclass
class UnitTree:
    """The units valid on ``day``, each under its nearest valid ancestor."""

    day: date
    units: dict[int, Unit]
    parent: dict[int, int | None]
    children: dict[int | None, list[int]] = field(default_factory=dict)

    def subtree(self, unit_id: int) -> list[int]:
        """``unit_id`` and every unit under it on the day."""
        out, stack = [], [unit_id]
        while stack:
            uid = stack.pop()
            out.append(uid)
            stack.extend(self.children.get(uid, []))
        return out

    def roots(self) -> list[Unit]:
        return self.sorted(self.children.get(None, []))

    def sorted(self, ids: Iterable[int]) -> list[Unit]:
        return sorted((self.units[i] for i in ids), key=lambda u: sort_key(u.name))

    def levels_below(self, unit_id: int | None) -> list[UnitLevel]:
        """The levels that exist under ``unit_id`` (None: anywhere) on the day, from the top."""
        ids = self.subtree(unit_id) if unit_id is not None else list(self.units)
        present = {self.units[i].level for i in ids if i != unit_id}
        return [level for level in LEVEL_ORDER if level in present]

    def below(self, unit_id: int | None, level: UnitLevel) -> list[Unit]:
        """Units of ``level`` under ``unit_id`` (None: anywhere), in Vietnamese order."""
        ids = self.subtree(unit_id) if unit_id is not None else list(self.units)
        return self.sorted(i for i in ids if i != unit_id and self.units[i].level == level)

    def area_of(self, level: UnitLevel, among: Iterable[int] | None = None) -> dict[int, int]:
        """For every unit at or below a unit of ``level`` on the day, that unit's id."""
        chosen = set(among) if among is not None else {u.id for u in self.units.values() if u.level == level}
        out: dict[int, int] = {}
        for uid in chosen:
            for member in self.subtree(uid):
                out[member] = uid
        return out


def tree_on(session: Session, day: date) -> UnitTree:
    """The map on ``day`` (see the module docstring)."""
    return UnitMap(session).tree(day)


def todays_unit(session: Session, day: date | None = None) -> dict[int, int]:
    """For every stored unit, the unit of the map on ``day`` (default today) its responses count
    in (see :meth:`UnitMap.todays`)."""
    return UnitMap(session).todays(day)


def counted_in(session: Session, unit: Unit) -> set[int]:
    """The stored units whose responses count in ``unit`` (see :meth:`UnitMap.counted_in`)."""
    return UnitMap(session).counted_in(unit)


def today() -> date:
    """Today in Vietnam."""
    from datetime import datetime

    from survey.periods import VIETNAM

    return datetime.now(VIETNAM).date()


def quarter_days(label: str) -> tuple[date, date]:
    """The first and last day of a quarter (``2024-Q1`` → 1 January, 31 March 2024)."""
    year, number = int(label[:4]), int(label[-1])
    start = date(year, 3 * (number - 1) + 1, 1)
    end = (date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)) - timedelta(days=1)
    return start, end


def year_days(label: str) -> tuple[date, date]:
    return date(int(label), 1, 1), date(int(label), 12, 31)


def then_day(start: date, end: date) -> date:
    """The map a period was published on: its last day, or 30 June 2025 for a period that began
    before the reform."""
    return min(end, LAST_OLD_DAY) if start < REFORM_DAY else end


@dataclass(frozen=True)
class Areas:
    """The units compared at one level, and where every stored unit's responses count."""

    units: list[Unit]  # in Vietnamese order
    area_of: dict[int, int]  # stored unit id → id of one of ``units``
    day: date  # the map's day
    todays_map: bool  # re-aggregated onto today's map (else: the map as it was on ``day``)


class UnitMap:
    """Every unit and correspondence, read once (one per request or report)."""

    def __init__(self, session: Session, now: date | None = None) -> None:
        self.now = now or today()
        self.units = {u.id: u for u in session.scalars(select(Unit)).all()}
        self.targets: dict[int, list[tuple[float, int]]] = {}
        for old, new, share in session.execute(select(
                UnitCorrespondence.old_unit_id, UnitCorrespondence.new_unit_id, UnitCorrespondence.share)):
            self.targets.setdefault(old, []).append((1.0 if share is None else share, new))
        self._trees: dict[date, UnitTree] = {}
        self._todays: dict[date, dict[int, int]] = {}

    def tree(self, day: date) -> UnitTree:
        """The units valid on ``day``, each under its nearest ancestor valid that day."""
        if day not in self._trees:
            units = {uid: u for uid, u in self.units.items() if valid_on(u, day)}
            parent: dict[int, int | None] = {}
            children: dict[int | None, list[int]] = {}
            for uid, unit in units.items():
                up = unit.parent_id
                while up is not None and up not in units:
                    up = self.units[up].parent_id
                parent[uid] = up
                children.setdefault(up, []).append(uid)
            self._trees[day] = UnitTree(day=day, units=units, parent=parent, children=children)
        return self._trees[day]

    def todays(self, day: date | None = None) -> dict[int, int]:
        """For every stored unit, the unit of the map on ``day`` (default today) it counts in.

        A unit valid on the day is itself; an old unit is its correspondence's new unit (the one
        with the largest share when it was split, ties to the first; villages with their own
        correspondence go by village); an old unit without a correspondence of its own (an old
        district, a village of an old commune) goes where its parent went. Units with nowhere to
        go are left out."""
        day = day or self.now
        if day in self._todays:
            return self._todays[day]
        out: dict[int, int] = {}

        def resolve(uid: int, seen: frozenset[int]) -> int | None:
            if uid in out:
                return out[uid]
            unit = self.units[uid]
            found: int | None = None
            if valid_on(unit, day):
                found = uid
            elif uid in self.targets:
                for _share, new in sorted(self.targets[uid], key=lambda t: (-t[0], t[1])):
                    if new not in seen and (hit := resolve(new, seen | {uid})) is not None:
                        found = hit
                        break
            elif unit.parent_id is not None and unit.parent_id not in seen:
                found = resolve(unit.parent_id, seen | {uid})
            if found is not None:
                out[uid] = found
            return found

        for uid in self.units:
            resolve(uid, frozenset())
        self._todays[day] = out
        return out

    def shares(self, day: date | None = None) -> dict[int, list[tuple[int, float]]]:
        """For every stored unit whose responses are split between units of the map on ``day``
        (an old commune split in July 2025, with the shares of ``unit_correspondence``), those
        units and the share of each (adding up to 1). Units that go to one unit are left out.

        An old unit with shares goes to each target (a target that is itself old goes on, its
        own way); an old unit without a correspondence goes where its parent goes; a village
        with a correspondence of its own goes by village. A split whose shares are not known
        (None) counts the whole unit in the target with the largest share, as :meth:`todays`."""
        day = day or self.now
        single = self.todays(day)
        memo: dict[int, list[tuple[int, float]]] = {}

        def spread(uid: int, seen: frozenset[int]) -> list[tuple[int, float]]:
            if uid in memo:
                return memo[uid]
            unit = self.units[uid]
            out: list[tuple[int, float]] = []
            targets = self.targets.get(uid, [])
            known = [(share, new) for share, new in targets if new not in seen]
            if valid_on(unit, day):
                out = [(uid, 1.0)]
            elif len(known) > 1 and all(share < 1.0 for share, _new in known) and sum(s for s, _n in known) > 0:
                weights: dict[int, float] = {}
                total = sum(share for share, _new in known)
                for share, new in known:
                    for place, part in spread(new, seen | {uid}):
                        weights[place] = weights.get(place, 0.0) + share / total * part
                out = sorted(weights.items())
            elif not targets and unit.parent_id is not None and unit.parent_id not in seen:
                out = spread(unit.parent_id, seen | {uid})
            elif uid in single:
                out = [(single[uid], 1.0)]
            memo[uid] = out
            return out

        return {uid: found for uid in self.units if len(found := spread(uid, frozenset())) > 1}

    def reaggregate(self, frame: pd.DataFrame, area_of: Mapping[int, Any] | None = None, *, day: date | None = None,
                    unit: str = "unit_id", weight: str = "weight", area: str = "area",
                    response: str = "response_id") -> pd.DataFrame:
        """THE re-aggregation of responses onto the map of ``day`` (default today): every caller
        that shows a period before 1 July 2025 on today's units (results, ranking, PAPI, exports,
        the release's PAPI part) goes through here.

        ``frame`` has one row per response (``response``, ``unit``, ``weight``). Returned: a copy
        with ``today_unit`` (the unit of the map on ``day`` the row counts in; NaN: nowhere) and
        ``share`` (1, or the share of a split old unit — :meth:`shares`), where every response
        of a split old commune is one row per part, its weight × the part's share, and
        ``cluster`` = the response id, so a design clusters the copies of one response as ONE
        PSU (``SurveyDesign(psu="cluster")``; a design with PSUs of its own — PAPI's villages —
        keeps them: the copies share the original row's PSU). With ``area_of`` (today's unit →
        the compared unit or domain), ``area`` is set from ``today_unit`` (-1: none) and the
        copies of one response that land in the same area are merged back into one row (their
        shares added), so ``n`` counts a response once per area. Row order is kept (the copies
        of a response follow each other)."""
        import pandas as pd

        single = self.todays(day)
        out = frame.copy()
        out["_pos"] = range(len(out))
        out["today_unit"] = out[unit].map(single)
        out["share"] = 1.0
        parts = self.shares(day)
        split = out[unit].isin(parts)
        if split.any():
            table = pd.DataFrame([(uid, target, share) for uid, places in parts.items() for target, share in places],
                                 columns=[unit, "today_unit", "share"])
            copies = out[split].drop(columns=["today_unit", "share"]).merge(table, on=unit, how="left")
            out = pd.concat([out[~split], copies], ignore_index=True)
        if area_of is not None:
            out[area] = out["today_unit"].map(area_of).fillna(-1)
            if pd.api.types.is_float_dtype(out[area]):
                out[area] = out[area].astype(int)
            if split.any():
                key = [response, area]
                out["share"] = out.groupby(key, sort=False)["share"].transform("sum")
                out = out.drop_duplicates(key, keep="first")
        out = out.sort_values("_pos", kind="stable").drop(columns="_pos").reset_index(drop=True)
        out[weight] = out[weight].astype(float) * out["share"]
        out["cluster"] = out[response]
        return out

    def in_unit(self, frame: pd.DataFrame, unit: Unit, *, column: str = "in_unit") -> pd.DataFrame:
        """``frame`` (one row per response) with ``column`` true on the rows that count in
        ``unit``: for a unit of today's map, re-aggregated by :meth:`reaggregate` (a split old
        commune's responses in it with weight × share, the other part's copy outside it, the two
        one PSU: ``cluster``); for an old unit, what was collected under it, as published then."""
        if self.is_current(unit):
            inside = self.tree(self.now).subtree(unit.id)
            out = self.reaggregate(frame, dict.fromkeys(inside, unit.id), area="_in")
            out[column] = out["_in"] == unit.id
            return out.drop(columns="_in")
        out = frame.copy()
        out[column] = out["unit_id"].isin(self.counted_in(unit))
        out["cluster"], out["share"] = out["response_id"], 1.0
        return out

    def spread(self, frame: pd.DataFrame, areas: Areas, *, unit: str = "unit_id", area: str = "area",
               weight: str = "weight") -> pd.DataFrame:
        """``frame`` with ``area`` set on ``areas`` — on today's map by :meth:`reaggregate` (a
        split old unit's responses in each area its parts went to, weight × share, ``cluster``
        the response id); on an old map as collected (``frame`` itself when it has ``area``)."""
        if not areas.todays_map or frame.empty:
            if area in frame.columns:
                return frame
            return frame.assign(**{area: frame[unit].map(areas.area_of).fillna(-1).astype(int)})
        return self.reaggregate(frame, areas.area_of, day=areas.day, unit=unit, weight=weight, area=area)

    def raw_subtree(self, unit_id: int) -> set[int]:
        """``unit_id`` and every unit stored under it, whatever their validity."""
        children: dict[int | None, list[int]] = {}
        for uid, unit in self.units.items():
            children.setdefault(unit.parent_id, []).append(uid)
        out, stack = set(), [unit_id]
        while stack:
            uid = stack.pop()
            out.add(uid)
            stack.extend(children.get(uid, []))
        return out

    def counted_in(self, unit: Unit) -> set[int]:
        """The stored units whose responses count in ``unit``.

        A unit of today's map counts every response collected in a unit that maps onto it or
        onto a unit under it: an old period re-aggregated onto today's map, from the microdata.
        An old unit counts what was collected under it then (as published then)."""
        if not valid_on(unit, self.now):
            return self.raw_subtree(unit.id)
        inside = set(self.tree(self.now).subtree(unit.id))
        return {uid for uid, now in self.todays().items() if now in inside}

    def splits_in(self, unit: Unit) -> set[int]:
        """The old units split between today's units by shares (:meth:`shares`) one of whose parts
        lies inside today's ``unit``: where its figures need :meth:`reaggregate` (weight × share,
        one PSU per response) rather than counting whole units (:meth:`counted_in`). None for an
        old unit (shown as collected then)."""
        if not self.is_current(unit):
            return set()
        inside = set(self.tree(self.now).subtree(unit.id))
        return {uid for uid, places in self.shares().items() if any(place in inside for place, _share in places)}

    def is_current(self, unit: Unit) -> bool:
        return valid_on(unit, self.now)

    @staticmethod
    def is_old_period(start: date, _end: date) -> bool:
        """Did the period begin on the old map (before 1 July 2025)?"""
        return start < REFORM_DAY

    def areas(self, parent: Unit | None, level: UnitLevel, *, day: date | None = None,
              todays_map: bool = True) -> Areas:
        """The units of ``level`` under ``parent`` (None: everywhere) on the map of ``day``, or on
        today's map with every response of an old unit re-aggregated onto the unit it became.
        On an old map, "under ``parent``" for a parent of today's map means: what became part of it."""
        mapping = self.todays()
        today_tree = self.tree(self.now)
        if todays_map or day is None:
            day, tree = self.now, today_tree
        else:
            tree = self.tree(day)
        if parent is None:
            inside = None
        elif self.is_current(parent):
            inside = set(today_tree.subtree(parent.id))
        else:
            inside = self.raw_subtree(parent.id)
        chosen = [u for u in tree.units.values() if u.level == level and u.id != (parent.id if parent else None)
                  and (inside is None or (mapping.get(u.id) in inside if parent is not None
                                          and self.is_current(parent) else u.id in inside))]
        chosen_ids = {u.id for u in chosen}
        parents: dict[int, int | None] = (dict(today_tree.parent) if todays_map
                                          else {i: u.parent_id for i, u in self.units.items()})
        area_of: dict[int, int] = {}
        for uid in self.units:
            node: int | None = mapping.get(uid) if todays_map else uid
            while node is not None and node not in chosen_ids:
                node = parents.get(node)
            if node is not None:
                area_of[uid] = node
        return Areas(units=sorted(chosen, key=lambda u: sort_key(u.name)), area_of=area_of, day=day,
                     todays_map=todays_map)

    def levels(self, parent: Unit | None, *, day: date | None = None, todays_map: bool = True,
               exclude: Iterable[UnitLevel] = (UnitLevel.PROVINCE,)) -> list[UnitLevel]:
        """The levels that can be compared under ``parent`` on that map, from the top."""
        skip = set(exclude)
        return [lv for lv in LEVEL_ORDER
                if lv not in skip and self.areas(parent, lv, day=day, todays_map=todays_map).units]


def kind_label(kind: UnitKind | str, language: str = "vi") -> str:
    """The kind's name (``Xã``/``Commune``)."""
    vi, en = KIND_NAMES[UnitKind(kind)]
    return en if language == "en" else vi


KIND_NAMES: dict[UnitKind, tuple[str, str]] = {
    UnitKind.TINH: ("Tỉnh", "Province"),
    UnitKind.THANH_PHO_TW: ("Thành phố trực thuộc Trung ương", "Centrally-run city"),
    UnitKind.HUYEN: ("Huyện", "Rural district"),
    UnitKind.QUAN: ("Quận", "Urban district"),
    UnitKind.THI_XA: ("Thị xã", "District-level town"),
    UnitKind.THANH_PHO: ("Thành phố thuộc tỉnh", "Provincial city"),
    UnitKind.XA: ("Xã", "Commune"),
    UnitKind.PHUONG: ("Phường", "Ward"),
    UnitKind.DAC_KHU: ("Đặc khu", "Special zone"),
    UnitKind.THI_TRAN: ("Thị trấn", "Township"),
    UnitKind.THON: ("Thôn", "Village (thôn)"),
    UnitKind.AP: ("Ấp", "Hamlet (ấp)"),
    UnitKind.BAN: ("Bản", "Village (bản)"),
    UnitKind.TO_DAN_PHO: ("Tổ dân phố", "Residential group"),
    UnitKind.KHU_PHO: ("Khu phố", "Urban quarter"),
    UnitKind.SO_BAN_NGANH: ("Sở, ban, ngành", "Department or agency"),
}



def level_name(level: UnitLevel) -> str:
    """The plural name of a level, for pickers ("Communes and wards"), in the current language."""
    from flask_babel import gettext as _

    names = {
        UnitLevel.PROVINCE: _("Provinces"),
        UnitLevel.DEPARTMENT: _("Departments and agencies"),
        UnitLevel.DISTRICT: _("Districts (before July 2025)"),
        UnitLevel.COMMUNE: _("Communes and wards"),
        UnitLevel.HAMLET: _("Villages and hamlets"),
    }
    return names[level]


# --- Finding a unit among many (issue 9 point 6: ~14,000 units after a whole-country import) ------

PICKER_LIMIT = 300  # a form lists up to this many units in a plain <select>; more: the searchable field


@dataclass(frozen=True)
class Found:
    """A unit found by :func:`search_units`."""

    id: int
    code: str
    name: str
    kind: UnitKind
    level: UnitLevel
    parent: str  # the name of the unit it is under on the day ("" at the top)
    valid_to: date | None = None  # set: a historical unit (of the map before 1 July 2025, or ended)

    @property
    def historical(self) -> bool:
        return self.valid_to is not None

    def label(self) -> str:
        """What the picker shows and sends back: ``Phường An Xuyên (32002)``."""
        return f"{self.name} ({self.code})"


_Row = tuple[int, str, str, UnitLevel, UnitKind, int | None, date | None, date | None, str]
_ROWS: dict[tuple[object, ...], list[_Row]] = {}


def _rows(session: Session) -> list[_Row]:
    """Every unit as plain values with its folded name, kept per database while the unit table
    is unchanged (a one-row aggregate tells: count, highest id, total name length, ended units,
    parents) — a search then costs no load of 14,000 rows."""
    from sqlalchemy import func

    from survey.text import fold

    signature = tuple(session.execute(select(
        func.count(), func.max(Unit.id), func.sum(func.length(Unit.name)), func.count(Unit.valid_to),
        func.sum(func.coalesce(Unit.parent_id, 0)), func.max(Unit.valid_to), func.max(Unit.valid_from))).one())
    key = (str(session.get_bind().engine.url), *signature)
    if key not in _ROWS:
        if len(_ROWS) >= 4:
            _ROWS.clear()
        _ROWS[key] = [(*r, fold(r[2])) for r in session.execute(select(  # type: ignore[misc]
            Unit.id, Unit.code, Unit.name, Unit.level, Unit.kind, Unit.parent_id, Unit.valid_from, Unit.valid_to))]
    return _ROWS[key]


def search_units(session: Session, query: str, *, within: int | None = None,
                 levels: Iterable[UnitLevel] | None = None, day: date | None = None, limit: int = 20,
                 history: bool = False) -> list[Found]:
    """Units of the map on ``day`` (default today) whose name contains every word of ``query``
    whatever the tone marks and case ("thoi binh" finds "Thới Bình"), or whose code starts with
    it; only ``within`` a unit's area (its subtree) and of ``levels`` when given. Exact codes
    and names first, then names that start with the query, then the others, in Vietnamese
    order. Reads plain columns, not objects: fast enough on the whole country.

    ``history``: the historical units too (ended before ``day``: ``valid_to`` set — the old
    districts and communes of before 1 July 2025), after the units of the day of the same rank,
    each under the unit it was under then, ``within`` meaning: stored under a unit of the area."""
    from survey.text import fold

    day = day or today()
    words = fold(query).split()
    if not words:
        return []
    wanted = set(levels) if levels is not None else None
    stored = _rows(session)
    every = {r[0]: r for r in stored}
    rows = [r for r in stored if (r[6] is None or r[6] <= day) and (r[7] is None or r[7] >= day)]
    by_id = {r[0]: r for r in rows}

    def parent_on_day(uid: int) -> int | None:
        up = every[uid][5]
        while up is not None and up not in by_id:
            up = every[up][5] if up in every else None
        return up

    inside: set[int] | None = None
    if within is not None:
        children: dict[int | None, list[int]] = {}
        for uid in by_id:
            children.setdefault(parent_on_day(uid), []).append(uid)
        inside, stack = set(), [within]
        while stack:
            uid = stack.pop()
            inside.add(uid)
            stack.extend(children.get(uid, []))
    text = " ".join(words)
    old: dict[int, _Row] = {}
    if history:
        for r in stored:
            if r[0] not in by_id and r[7] is not None and r[7] < day:
                node: int | None = r[5]  # stored under a unit of the area (the old district under the province)
                while inside is not None and node is not None and node not in inside:
                    node = every[node][5] if node in every else None
                if inside is None or node is not None or r[0] == within:
                    old[r[0]] = r
    hits: list[tuple[int, bool, tuple[tuple[int, ...], tuple[int, ...], str], int]] = []
    for uid, code, name, level, _kind, _parent, _start, _end, folded in [*rows, *old.values()]:
        if (wanted is not None and level not in wanted) or (inside is not None and uid not in inside
                                                             and uid not in old):
            continue
        if code.casefold().startswith(query.strip().casefold()):
            rank = 0 if code.casefold() == query.strip().casefold() else 2
        elif all(w in folded for w in words):
            bare = folded.split(" ", 1)[1] if " " in folded and folded.split(" ", 1)[0] in _KIND_WORDS else folded
            rank = 1 if text in (folded, bare) else (2 if bare.startswith(text) or folded.startswith(text) else 3)
        else:
            continue
        hits.append((rank, uid in old, sort_key(name), uid))
    hits.sort()
    out = []
    for _rank, was, _key, uid in hits[:limit]:
        _id, code, name, level, kind, up, _s, end, _f = old[uid] if was else by_id[uid]
        if not was:
            up = parent_on_day(uid)
        parent = (by_id[up][2] if not was else every[up][2]) if up is not None and up in every else ""
        out.append(Found(uid, code, name, kind, level, parent, end if was else None))
    return out


_KIND_WORDS = {"xa", "phuong", "thon", "ap", "ban", "tinh", "huyen", "quan"}


def resolve_unit(session: Session, text: str, *, day: date | None = None) -> Unit | list[Unit] | None:
    """The unit a picker's field names: a code, ``Name (code)`` as the searchable picker sends
    it, or a name that only one unit of the map on ``day`` has (tone marks and case aside).
    Several units of that name: the list of them; none: None."""
    import re

    from survey.text import fold

    text = " ".join(text.split())
    if not text:
        return None
    match = re.search(r"\(([^()]+)\)$", text)
    code = match.group(1).strip() if match else text
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is not None:
        return unit
    day = day or today()
    wanted = fold(text)
    same = [r[0] for r in _rows(session) if r[8] == wanted
            and (r[6] is None or r[6] <= day) and (r[7] is None or r[7] >= day)]
    if not same:
        return None
    units = [u for u in (session.get(Unit, uid) for uid in same) if u is not None]
    return units[0] if len(units) == 1 else units
