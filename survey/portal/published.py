"""A release snapshot, indexed for the public pages.

The pages read every number from the release's snapshot (``survey/portal/snapshot.py``
documents the schema) and never recompute one. :class:`Published` wraps one snapshot document
and answers the questions a page asks — the index of a unit × service, the rankings below a
unit, a unit's place in its parent's ranking, the trend — with dictionary look-ups built once
per release (a snapshot is immutable, so the views keep these objects in a small cache).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from survey.text import sort_key

Row = Mapping[str, Any]
LEVEL_ORDER = ("district", "commune", "department", "desk")


def _key(questionnaire: str | None, unit: str | None, service: str | None) -> tuple[str, str, str]:
    return questionnaire or "", unit or "", service or ""


@dataclass
class Published:
    """One release's snapshot and its look-up tables."""

    snapshot: Mapping[str, Any]
    cache_key: tuple[Any, ...] | None = None  # set for published snapshots (immutable); None for drafts
    _units: dict[str, Row] = field(default_factory=dict, repr=False)
    _services: dict[str, Row] = field(default_factory=dict, repr=False)
    _indices: dict[tuple[str, str, str], Row] = field(default_factory=dict, repr=False)
    _rankings: dict[tuple[str, str, str], list[Row]] = field(default_factory=dict, repr=False)
    _positions: dict[tuple[str, str, str], tuple[Row, Row]] = field(default_factory=dict, repr=False)
    _trend: dict[tuple[str, str, str], list[Row]] = field(default_factory=dict, repr=False)
    _children: dict[str, list[Row]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        snap = self.snapshot
        self._units = {u["code"]: u for u in snap.get("units") or []}
        self._services = {s["code"]: s for s in snap.get("services") or []}
        for index in snap.get("indices") or []:
            self._indices[_key(index.get("questionnaire"), index.get("unit"), index.get("service"))] = index
        for ranking in snap.get("rankings") or []:
            key = _key(ranking.get("questionnaire"), ranking.get("parent"), ranking.get("service"))
            self._rankings.setdefault(key, []).append(ranking)
            for row in ranking.get("rows") or []:
                self._positions[_key(ranking.get("questionnaire"), row.get("unit"), ranking.get("service"))] = (
                    ranking, row)
        for rankings in self._rankings.values():
            rankings.sort(key=lambda r: LEVEL_ORDER.index(r["level"]) if r.get("level") in LEVEL_ORDER else 99)
        for point in snap.get("trend") or []:
            key = _key(point.get("questionnaire"), point.get("unit"), point.get("service"))
            self._trend.setdefault(key, []).append(point)
        for points in self._trend.values():
            points.sort(key=lambda p: str(p.get("period") or ""))
        for unit in self._units.values():
            if unit.get("parent"):
                self._children.setdefault(unit["parent"], []).append(unit)
        for children in self._children.values():
            children.sort(key=lambda u: sort_key(str(u.get("name") or "")))

    # -- the release -----------------------------------------------------------------------

    @property
    def release(self) -> Mapping[str, Any]:
        return self.snapshot.get("release") or {}

    @property
    def id(self) -> int:
        return int(self.release.get("id") or 0)

    @property
    def scope(self) -> str:
        return str((self.release.get("scope") or {}).get("code") or "")

    @property
    def withdrawn(self) -> Mapping[str, Any] | None:
        withdrawn = self.release.get("withdrawn")
        return withdrawn if isinstance(withdrawn, Mapping) else None

    def _questionnaire_info(self) -> list[Row]:
        return [q for q in self.snapshot.get("questionnaires") or [] if isinstance(q, Mapping)]

    @property
    def questionnaires(self) -> list[str]:
        """The satisfaction questionnaires with at least one index, in the release's order
        (PAPI has a page of its own)."""
        listed = [str(q.get("id")) for q in self._questionnaire_info() if q.get("kind") != "papi"]
        listed += [q for q in self.release.get("questionnaires") or [] if isinstance(q, str) and q not in listed]
        present = {key[0] for key in self._indices}
        ordered = [q for q in listed if q in present]
        return ordered + sorted(present - set(ordered))

    def questionnaire_title(self, questionnaire: str, language: str) -> str:
        for entry in self._questionnaire_info():
            if entry.get("id") == questionnaire:
                return str(entry.get(f"title_{language}") or entry.get("title_vi") or questionnaire)
        return questionnaire

    def overall_rule(self, questionnaire: str) -> str:
        """The rule that produced the questionnaire's overall index (for the methodology link)."""
        for entry in self._questionnaire_info():
            if entry.get("id") == questionnaire and entry.get("overall_rule"):
                return str(entry["overall_rule"])
        return str(self.release.get("overall_rule") or "par_weighted")

    # -- units and services ----------------------------------------------------------------

    def unit(self, code: str) -> Row | None:
        return self._units.get(code)

    def service(self, code: str) -> Row | None:
        return self._services.get(code)

    def service_name(self, code: str, language: str) -> str:
        service = self._services.get(code) or {}
        return str(service.get(f"name_{language}") or service.get("name_vi") or code)

    def unit_name(self, code: str) -> str:
        return str((self._units.get(code) or {}).get("name") or code)

    def children(self, code: str) -> list[Row]:
        """The units directly below ``code``, in Vietnamese alphabetical order."""
        return self._children.get(code, [])

    def ancestors(self, code: str) -> list[Row]:
        """The units above ``code``, the top first (for the breadcrumb)."""
        chain: list[Row] = []
        unit = self._units.get(code)
        while unit is not None and unit.get("parent") and len(chain) < 10:
            unit = self._units.get(unit["parent"])
            if unit is not None:
                chain.insert(0, unit)
        return chain

    def has_unit(self, questionnaire: str, unit: str) -> bool:
        return _key(questionnaire, unit, None) in self._indices

    def services_of(self, questionnaire: str, unit: str) -> list[Row]:
        """The services with an index for ``unit`` (in the snapshot's service order)."""
        return [s for code, s in self._services.items() if _key(questionnaire, unit, code) in self._indices]

    # -- figures ---------------------------------------------------------------------------

    def index(self, questionnaire: str, unit: str, service: str | None = None) -> Row | None:
        return self._indices.get(_key(questionnaire, unit, service))

    def rankings_below(self, questionnaire: str, unit: str, service: str | None = None) -> list[Row]:
        """The rankings of the units below ``unit`` (communes, then departments, then desks)."""
        return self._rankings.get(_key(questionnaire, unit, service), [])

    def position(self, questionnaire: str, unit: str, service: str | None = None) -> tuple[Row, Row] | None:
        """``(ranking, row)``: where ``unit`` stands among the units it is ranked with."""
        return self._positions.get(_key(questionnaire, unit, service))

    def trend(self, questionnaire: str, unit: str, service: str | None = None) -> list[Row]:
        """The unit's index over the published periods, oldest first."""
        return self._trend.get(_key(questionnaire, unit, service), [])

    def admin_index(self, unit: str) -> list[Row]:
        """Decision 766 figures imported for ``unit`` (shown beside the survey's estimate)."""
        rows = self.snapshot.get("admin_index") or []
        return [r for r in rows if isinstance(r, Mapping) and r.get("unit") == unit]

    def quality(self, questionnaire: str, unit: str) -> list[Row]:
        """Ratings held by quality flags and left out, per desk (or unit) and quarter, of ``unit``
        and every unit below it (:mod:`survey.portal.quality_section`; empty in older releases)."""
        inside, stack = set(), [unit]
        while stack:
            code = stack.pop()
            if code not in inside:
                inside.add(code)
                stack.extend(str(c["code"]) for c in self.children(code))
        rows = self.snapshot.get("quality") or []
        return [r for r in rows if isinstance(r, Mapping) and r.get("questionnaire") == questionnaire
                and r.get("unit") in inside]

    def papi(self) -> Mapping[str, Any] | None:
        papi = self.snapshot.get("papi")
        if isinstance(papi, Sequence) and not isinstance(papi, str | bytes):
            return papi[0] if papi else None
        return papi if isinstance(papi, Mapping) else None


def is_suppressed(row: Row | None) -> bool:
    """True where the snapshot withholds the number (too few answers): the page prints the
    suppression text instead."""
    if row is None:
        return True
    if row.get("suppressed"):
        return True
    overall = row.get("overall")
    if isinstance(overall, Mapping):
        return overall.get("estimate") is None
    return row.get("estimate") is None
