"""Commune boundaries for the portal's map: checking an uploaded GeoJSON file, storing it per
province, and the ``boundaries`` section of a release snapshot.

A province uploads its communes' boundaries once (and again after a boundary change) as a GeoJSON
``FeatureCollection`` (RFC 7946) of ``Polygon``/``MultiPolygon`` features in WGS84 longitude and
latitude, each feature carrying the commune's official 5-digit code (Decision 19/2025/QĐ-TTg's
list) in a property whose name the uploader gives (``ma_xa`` by default). :func:`check_geojson`
reports every problem with the feature's number, in the user's language, and the caller stores
nothing when there is one (:class:`BoundariesRefused`). Geometry is checked with Shapely (GEOS):
rings closed and of 4 positions or more, no self-intersection (``explain_validity``), coordinates
inside WGS84's ranges — projected coordinates (VN-2000 metres) are named as such.

What is stored is what the map draws: each feature reduced to its unit's code and geometry,
exterior rings clockwise (the spherical winding d3-geo — Vega's projection — expects; RFC 7946's
counter-clockwise rings would paint the whole globe), simplified to about 20 m and rounded to
6 decimals (~0.1 m), so that a province of 100 communes stays a few hundred kilobytes.

:func:`snapshot_section` copies the boundaries of the units a release shows into its snapshot,
so that a published map never changes when a new file is uploaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import shapely
from flask_babel import gettext as _
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.periods import local
from survey.store.models import Unit, UnitBoundaries, UnitLevel

MAX_BYTES = 8 * 1024 * 1024  # a province's communes, simplified by a GIS tool, are well below this
MAX_FEATURES = 2000
MAX_PROBLEMS = 200  # listed; the rest are counted
DEFAULT_CODE_PROPERTY = "ma_xa"
SIMPLIFY_DEGREES = 0.0002  # ~20 m: invisible at a province map's scale
DECIMALS = 6
_PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,39}$")
_WGS84 = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "urn:ogc:def:crs:EPSG::4326",
          "EPSG:4326", "CRS84"}


class BoundariesRefused(ValueError):
    """The file was not stored; ``problems`` says why, one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Checked:
    """A file that passed: the features to store (code → geometry) and what was left out."""

    features: dict[str, dict[str, Any]]  # unit code → GeoJSON geometry (normalised)
    units_without: list[str]  # communes of the province the file has no boundary for (names)


def province_of(unit: Unit) -> Unit:
    """The province ``unit`` is in (itself for a province)."""
    node: Unit | None = unit
    while node is not None and node.level != UnitLevel.PROVINCE:
        node = node.parent
    return node or unit


def communes_of(session: Session, province: Unit, today: date | None = None) -> list[Unit]:
    """The commune-level units of ``province`` on today's map (directly below it, or below a
    former district): those a boundary can belong to."""
    day = today or date.today()
    units = list(session.scalars(select(Unit)))
    children: dict[int | None, list[Unit]] = {}
    for u in units:
        children.setdefault(u.parent_id, []).append(u)
    out, stack = [], [province.id]
    while stack:
        for child in children.get(stack.pop(), []):
            stack.append(child.id)
            if child.level == UnitLevel.COMMUNE and (child.valid_to is None or child.valid_to >= day) \
                    and (child.valid_from is None or child.valid_from <= day):
                out.append(child)
    return out


def _code(value: Any) -> str | None:
    """A property value as a 5-digit official code (numbers lose their leading zeros in some GIS exports)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, str):
        text = value.strip()
    else:
        return None
    if text.isdigit() and len(text) <= 5:
        return text.zfill(5)
    return None


def _positions_problem(coordinates: Any, depth: int) -> str | None:
    """A structural problem of a GeoJSON coordinates array of ``depth`` levels (2: a Polygon's
    rings, 3: a MultiPolygon's polygons), or None; checks WGS84 ranges and closed rings."""
    if not isinstance(coordinates, list) or not coordinates:
        return _("its coordinates are empty or not a list")
    if depth == 3:
        for polygon in coordinates:
            problem = _positions_problem(polygon, 2)
            if problem:
                return problem
        return None
    for ring in coordinates:
        if not isinstance(ring, list) or len(ring) < 4:
            return _("a ring has fewer than 4 positions")
        for position in ring:
            if (not isinstance(position, list) or len(position) < 2
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position[:2])):
                return _("a position is not a pair of numbers [longitude, latitude]")
            lon, lat = position[0], position[1]
            if abs(lon) > 180 or abs(lat) > 90:
                if abs(lon) > 1000 or abs(lat) > 1000:
                    return _("the coordinates (%(lon)s, %(lat)s) are not WGS84 degrees: the file seems to use "
                             "projected metres (VN-2000?); export it in WGS84 (EPSG:4326)", lon=lon, lat=lat)
                return _("the position (%(lon)s, %(lat)s) is outside WGS84's ranges (longitude −180…180, "
                         "latitude −90…90)", lon=lon, lat=lat)
        if ring[0][:2] != ring[-1][:2]:
            return _("a ring is not closed (its last position differs from its first)")
    return None


def _normalised(geometry: BaseGeometry) -> dict[str, Any]:
    """Simplified, rounded, exterior rings clockwise: the geometry as the map draws it."""
    simple = geometry.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    if simple.is_empty or not simple.is_valid:
        simple = geometry
    rounded = shapely.set_precision(simple, 10.0 ** -DECIMALS)
    if rounded.is_empty or not rounded.is_valid or rounded.geom_type not in ("Polygon", "MultiPolygon"):
        rounded = simple
    parts = list(getattr(rounded, "geoms", [rounded]))
    oriented = [orient(p, sign=-1.0) for p in parts]  # clockwise exterior: d3-geo's spherical winding
    final = shapely.MultiPolygon(oriented) if len(oriented) > 1 else oriented[0]
    result: dict[str, Any] = json.loads(json.dumps(mapping(final)))  # tuples → lists
    return result


def check_geojson(data: bytes, communes: Sequence[Unit], code_property: str = DEFAULT_CODE_PROPERTY) -> Checked:
    """Check an uploaded file against the province's communes; raises BoundariesRefused listing
    every problem (by feature number, from 1) when anything is wrong."""
    if len(data) > MAX_BYTES:
        raise BoundariesRefused([_("The file is larger than %(mb)s MB. Simplify the boundaries in your GIS tool "
                                   "(a map of a province does not need survey-grade detail) and upload it again.",
                                   mb=MAX_BYTES // (1024 * 1024))])
    if not _PROPERTY_NAME.match(code_property or ""):
        raise BoundariesRefused([_("“%(name)s” is not a property name (letters, digits and _ only, up to 40).",
                                   name=code_property)])
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BoundariesRefused([_("The file is not UTF-8 text: it is not a GeoJSON file.")]) from None
    except json.JSONDecodeError as exc:
        raise BoundariesRefused([_("The file is not valid JSON (line %(line)s, column %(column)s): %(reason)s.",
                                   line=exc.lineno, column=exc.colno, reason=exc.msg)]) from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise BoundariesRefused([_("The file is not a GeoJSON FeatureCollection (its “type” must be "
                                   "“FeatureCollection”).")])
    crs = document.get("crs")
    if isinstance(crs, dict):
        name = str((crs.get("properties") or {}).get("name") or "")
        if name and name not in _WGS84:
            raise BoundariesRefused([_("The file's coordinate system is %(crs)s; the map needs WGS84 longitude and "
                                       "latitude (EPSG:4326). Export it again in WGS84.", crs=name)])
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise BoundariesRefused([_("The file has no features.")])
    if len(features) > MAX_FEATURES:
        raise BoundariesRefused([_("The file has %(n)s features; a province has at most %(max)s communes.",
                                   n=len(features), max=MAX_FEATURES)])
    by_official = {u.official_code: u for u in communes if u.official_code}
    problems: list[str] = []
    found: dict[str, dict[str, Any]] = {}
    first_seen: dict[str, int] = {}
    for number, feature in enumerate(features, start=1):
        def problem(text: str, number: int = number) -> None:
            problems.append(_("Feature %(number)s: %(problem)s.", number=number, problem=text))

        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problem(_("it is not a GeoJSON Feature"))
            continue
        properties = feature.get("properties")
        raw = properties.get(code_property) if isinstance(properties, dict) else None
        code = _code(raw)
        unit: Unit | None = None
        if raw is None:
            problem(_("it has no property “%(name)s” with the commune's code", name=code_property))
        elif code is None:
            problem(_("“%(value)s” is not a 5-digit commune code", value=raw))
        elif code not in by_official:
            problem(_("no commune of the province has the code %(code)s", code=code))
        elif code in first_seen:
            problem(_("the code %(code)s is already used by feature %(other)s", code=code, other=first_seen[code]))
        else:
            unit = by_official[code]
            first_seen[code] = number
        geometry = feature.get("geometry")
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind not in ("Polygon", "MultiPolygon"):
            problem(_("its geometry is %(kind)s, not a Polygon or MultiPolygon",
                      kind=kind if kind else _("missing")))
            continue
        assert isinstance(geometry, dict)  # noqa: S101 - kind came from it
        structural = _positions_problem(geometry.get("coordinates"), 2 if kind == "Polygon" else 3)
        if structural:
            problem(structural)
            continue
        try:
            shaped = shape(geometry)
        except (ValueError, TypeError, shapely.errors.ShapelyError) as exc:
            problem(_("its geometry cannot be read (%(reason)s)", reason=str(exc)))
            continue
        if shaped.is_empty:
            problem(_("its geometry is empty"))
            continue
        if not shaped.is_valid:
            problem(_("its geometry is not valid: %(reason)s", reason=explain_validity(shaped)))
            continue
        if unit is not None:
            found[unit.code] = _normalised(shaped)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(_("… and %(n)s more problems.", n=len(problems) - MAX_PROBLEMS))
        raise BoundariesRefused(shown)
    missing = [u.name for u in communes if u.code not in found]
    return Checked(found, missing)


def store(session: Session, province: Unit, checked: Checked, *, code_property: str, source: str,
          user_id: int | None) -> UnitBoundaries:
    """Replace the province's boundaries with ``checked`` (the caller commits)."""
    document = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"unit": code}, "geometry": geometry}
        for code, geometry in sorted(checked.features.items())]}
    row = session.scalars(select(UnitBoundaries).where(UnitBoundaries.unit_id == province.id)).first()
    if row is None:
        row = UnitBoundaries(unit_id=province.id)
        session.add(row)
    row.geojson = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    row.code_property = code_property
    row.feature_count = len(checked.features)
    row.source = source[:200]
    row.user_id = user_id
    from survey.store.models import utcnow

    row.uploaded_at = utcnow()
    session.flush()
    return row


def stored(session: Session, province: Unit) -> UnitBoundaries | None:
    return session.scalars(select(UnitBoundaries).where(UnitBoundaries.unit_id == province.id)).first()


def snapshot_section(session: Session, spec: Any, snapshot: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``boundaries`` section of a release snapshot (the release builder's SECTIONS hook): the
    uploaded boundaries of the units the release shows, or None when the province has none."""
    scope = session.scalars(select(Unit).where(Unit.code == spec.scope)).first()
    if scope is None:
        return None
    row = stored(session, province_of(scope))
    if row is None:
        return None
    shown = {u["code"] for u in snapshot.get("units") or []}
    features = [f for f in json.loads(row.geojson)["features"] if f["properties"]["unit"] in shown]
    if not features:
        return None
    return {"type": "FeatureCollection", "features": features, "source": row.source,
            "uploaded_at": local(row.uploaded_at).isoformat(timespec="seconds") if row.uploaded_at else None}
