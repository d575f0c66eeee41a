"""Charts of published results, rendered on the server as accessible SVG.

Each chart is a Vega-Lite specification built with Altair and rendered to SVG by vl-convert
(the Vega renderer in a Rust binary: no browser, no CDN, no JavaScript on the page). The SVG then
gets what the renderer does not give: a ``<title>`` and ``<desc>`` (the chart's text alternative),
``role="img"`` named by them, and ids made unique so that several charts can sit on one page.

A :class:`Chart` also carries its data as a table (columns + rows): the page prints it next to the
chart, and the CSV/JSON downloads are made from the same rows, so what is drawn, what is read
aloud and what is downloaded cannot disagree.

Colours: the Okabe–Ito palette (safe for the common colour-vision deficiencies) for categories,
ColorBrewer's PuOr (colour-blind safe) for the 5-level scale, so that level 3 is a neutral grey.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
import xml.etree.ElementTree as ET  # noqa: S405 - parses only SVG this module just rendered
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import altair as alt
import vl_convert

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
#: nhóm 1 (highest) … nhóm 4 (lowest): blue, sky blue, orange, vermillion.
GROUP_COLOURS = ("#0072B2", "#56B4E9", "#E69F00", "#D55E00")
#: Rất không hài lòng … Rất hài lòng (ColorBrewer PuOr, 5 classes, reversed so 5 is purple).
LEVEL_COLOURS = ("#e66101", "#fdb863", "#d9d9d9", "#b2abd2", "#5e3c99")
INK = "#1a1a1a"
MUTED = "#595959"
FONT = "Noto Sans"

FORMAT_LOCALES: dict[str, dict[str, Any]] = {
    "vi": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " ₫"]},
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["$", ""]},
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # "text", "share" (0–1 shown as %), "score", "int", "rank"


@dataclass(frozen=True)
class Chart:
    """One chart: its Vega-Lite spec, its text alternative and its data."""

    key: str
    title: str
    description: str
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...]
    spec: Mapping[str, Any] = field(repr=False)
    language: str = "vi"
    drawn: bool = True  # False: every row is suppressed, so the page shows the table only

    @property
    def empty(self) -> bool:
        return not self.rows

    def svg(self) -> str:
        """The chart as an accessible SVG document (cached: the same spec renders once)."""
        return render_svg(self.spec, self.title, self.description, self.key, self.language)

    def data(self) -> dict[str, Any]:
        """The chart's data for the JSON download: the rows, labelled columns and the spec."""
        return {
            "title": self.title,
            "description": self.description,
            "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in self.columns],
            "rows": [dict(r) for r in self.rows],
        }


# ---------------------------------------------------------------------------------------------
# Rendering


class _SvgCache:
    """Rendered SVGs by the hash of what went in. Releases are immutable, so an entry never goes
    stale; the optional directory lets several server processes share one rendering."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.items: OrderedDict[str, str] = OrderedDict()
        self.lock = threading.Lock()
        self.directory: Path | None = None

    def get(self, key: str) -> str | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        if self.directory is not None:
            path = self.directory / f"{key}.svg"
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                return None
            self._keep(key, text)
            return text
        return None

    def put(self, key: str, text: str) -> None:
        self._keep(key, text)
        if self.directory is not None:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                tmp = self.directory / f"{key}.{threading.get_ident()}.tmp"
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(self.directory / f"{key}.svg")
            except OSError:
                pass  # a read-only instance folder only costs a re-render

    def _keep(self, key: str, text: str) -> None:
        with self.lock:
            self.items[key] = text
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


CACHE = _SvgCache()
FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"  # vendored Noto Sans (OFL)
_fonts_registered = threading.Event()


def use_fonts(directory: Path = FONTS) -> None:
    """Let the renderer measure text with the vendored fonts, the ones the pages show."""
    if not _fonts_registered.is_set() and directory.is_dir():
        vl_convert.register_font_directory(str(directory))
        _fonts_registered.set()


def render_svg(spec: Mapping[str, Any], title: str, description: str, key: str, language: str = "vi") -> str:
    """Render ``spec`` to SVG and make it accessible; the same inputs render once."""
    source = json.dumps([spec, title, description, key, language], sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    cached = CACHE.get(digest)
    if cached is not None:
        return cached
    use_fonts()
    raw = vl_convert.vegalite_to_svg(
        dict(spec), format_locale=FORMAT_LOCALES.get(language, FORMAT_LOCALES["vi"]), allowed_base_urls=[])
    prefix = f"chart-{key}-{digest[:8]}"
    text = hatch(accessible_svg(raw, title, description, prefix), prefix)
    CACHE.put(digest, text)
    return text


def accessible_svg(svg: str, title: str, description: str, prefix: str) -> str:
    """Add ``<title>``/``<desc>`` and ``role="img"`` to a rendered SVG and make its ids unique."""
    root = ET.fromstring(svg)  # noqa: S314 - our own renderer's output, never user input
    renames: dict[str, str] = {}
    for element in root.iter():
        old = element.get("id")
        if old:
            renames[old] = f"{prefix}-{old}"
            element.set("id", renames[old])
    if renames:
        for element in root.iter():
            for name, value in list(element.attrib.items()):
                if "#" in value:
                    for old, new in renames.items():
                        value = value.replace(f"url(#{old})", f"url(#{new})")
                        if value == f"#{old}":
                            value = f"#{new}"
                    element.set(name, value)
    for element in root.iter():
        for name in ("role", "aria-roledescription", "aria-label", "aria-hidden"):
            element.attrib.pop(name, None)
    title_el = ET.Element(f"{{{SVG_NS}}}title", {"id": f"{prefix}-title"})
    title_el.text = title
    desc_el = ET.Element(f"{{{SVG_NS}}}desc", {"id": f"{prefix}-desc"})
    desc_el.text = description
    root.insert(0, desc_el)
    root.insert(0, title_el)
    root.set("role", "img")
    root.set("aria-labelledby", f"{prefix}-title {prefix}-desc")
    root.set("class", "chart")
    root.set("focusable", "false")
    # ElementTree's prefix registry is process-wide and other libraries (pyxform for XForms,
    # WeasyPrint for PDF metadata) register their own default namespace in it: claim the SVG one
    # again right before writing, or the chart comes out as <ns0:svg>, which browsers do not draw.
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return ET.tostring(root, encoding="unicode")


# ---------------------------------------------------------------------------------------------
# Specifications


def _rows(name: str) -> alt.NamedData:
    """A named data set: the rows go into the spec's ``datasets`` once, at the end (Altair would
    deep-copy inline values at every step)."""
    return alt.NamedData(name=name)


def _config(chart: alt.TopLevelMixin, **datasets: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = chart.configure(  # type: ignore[attr-defined]
        font=FONT,
        background="white",
        aria=False,
        view={"stroke": None},
        axis={"labelColor": INK, "titleColor": INK, "labelFontSize": 13, "titleFontSize": 13,
              "gridColor": "#e3e3e3", "domainColor": MUTED, "tickColor": MUTED},
        legend={"labelColor": INK, "titleColor": INK, "labelFontSize": 13, "titleFontSize": 13, "orient": "bottom"},
        title={"color": INK, "fontSize": 14, "anchor": "start"},
    ).to_dict(validate=False)
    spec["datasets"] = {name: [dict(row) for row in rows] for name, rows in datasets.items()}
    return spec



_SPECS: OrderedDict[str, dict[str, Any]] = OrderedDict()
_SPECS_LOCK = threading.Lock()
Spec = TypeVar("Spec", bound=Callable[..., dict[str, Any]])


def _remembered(build: Spec) -> Spec:
    """Building a spec through Altair costs more than rendering it: the same inputs (the same
    figures, labels and language) give the same spec, made once. Callers never change a spec."""

    @functools.wraps(build)
    def cached(*args: Any, **kwargs: Any) -> dict[str, Any]:
        key = build.__name__ + json.dumps([args, kwargs], sort_keys=True, ensure_ascii=False, default=str)
        with _SPECS_LOCK:
            if key in _SPECS:
                _SPECS.move_to_end(key)
                return _SPECS[key]
        spec = build(*args, **kwargs)
        with _SPECS_LOCK:
            _SPECS[key] = spec
            while len(_SPECS) > 512:
                _SPECS.popitem(last=False)
        return spec

    return cached  # type: ignore[return-value]


@_remembered
def index_spec(rows: Sequence[Mapping[str, Any]], axis_title: str, *, share: bool = True,
               domain: tuple[float, float] = (0.0, 1.0)) -> dict[str, Any]:
    """Estimates with their CI as a dot and a bar, one row per label (overall first, in bold)."""
    data = [r for r in rows if r.get("estimate") is not None]
    fmt = ".1%" if share else ".2f"
    base = alt.Chart(_rows("rows")).encode(
        y=alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)),
    )
    x = alt.X("ci_low:Q", title=axis_title, scale=alt.Scale(domain=list(domain), nice=False),
              axis=alt.Axis(format=".0%" if share else ".0f"))
    colour = alt.condition("datum.emphasis", alt.value(INK), alt.value(OKABE_ITO[0]))
    bars = base.mark_rule(strokeWidth=3).encode(x=x, x2="ci_high:Q", color=colour)
    points = base.mark_point(filled=True, size=110, opacity=1).encode(x="estimate:Q", color=colour)
    labels = base.mark_text(align="left", dx=6, fontSize=12, color=INK).encode(
        x="ci_high:Q", text=alt.Text("estimate:Q", format=fmt))
    return _config((bars + points + labels).properties(width=520, height=alt.Step(32)), rows=data)


@_remembered
def ranking_spec(rows: Sequence[Mapping[str, Any]], index_title: str, rank_title: str, group_title: str,
                 median: float | None, share: bool = True) -> dict[str, Any]:
    """Units ranked on the index: dot with CI (left) and the 95% rank interval (right), coloured by nhóm."""
    data = [r for r in rows if r.get("estimate") is not None]
    count = max(len(data), 1)
    order = [r["label"] for r in sorted(data, key=lambda r: (r["rank"], r["label"]))]
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=200))
    colour = alt.Color("group_label:N", title=group_title,
                       scale=alt.Scale(domain=[r for r in _group_labels(data)], range=list(GROUP_COLOURS)))
    base = alt.Chart(_rows("rows")).encode(y=y)
    left_x = alt.X("ci_low:Q", title=index_title, scale=alt.Scale(zero=False),
                   axis=alt.Axis(format=".0%" if share else ".1f"))
    left = base.mark_rule(strokeWidth=2.5).encode(x=left_x, x2="ci_high:Q", color=colour) + \
        base.mark_point(filled=True, size=80, opacity=1).encode(x="estimate:Q", color=colour)
    if median is not None:
        left = left + alt.Chart(_rows("median")).mark_rule(
            strokeDash=[4, 3], color=MUTED).encode(x="median:Q")
    right_x = alt.X("rank_low:Q", title=rank_title, scale=alt.Scale(domain=[1, count], nice=False),
                    axis=alt.Axis(format="d", tickMinStep=1))
    right = base.mark_rule(strokeWidth=2.5).encode(x=right_x, x2="rank_high:Q", color=colour) + \
        base.mark_point(shape="diamond", filled=True, size=80, opacity=1).encode(x="rank:Q", color=colour)
    height = alt.Step(22)
    chart = alt.hconcat(left.properties(width=300, height=height),
                        right.encode(y=alt.Y("label:N", sort=order, title=None, axis=None)).properties(
                            width=200, height=height), spacing=16)
    return _config(chart, rows=data, median=[{"median": median}] if median is not None else [])


def _group_labels(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    labels: dict[int, str] = {}
    for r in rows:
        if r.get("group") is not None:
            labels[int(r["group"])] = str(r["group_label"])
    return [labels[g] for g in sorted(labels)] or ["—"]


@_remembered
def trend_spec(rows: Sequence[Mapping[str, Any]], axis_title: str, share: bool = True) -> dict[str, Any]:
    """The index over the published periods: a line, its points and the CI as a band."""
    data = [r for r in rows if r.get("estimate") is not None]
    order = [r["label"] for r in rows]
    x = alt.X("label:O", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    y_axis = alt.Axis(format=".0%" if share else ".1f")
    base = alt.Chart(_rows("rows")).encode(x=x)
    band = base.mark_area(opacity=0.25, color=OKABE_ITO[0]).encode(
        y=alt.Y("ci_low:Q", title=axis_title, scale=alt.Scale(zero=False), axis=y_axis), y2="ci_high:Q")
    line = base.mark_line(color=OKABE_ITO[0], strokeWidth=2.5).encode(y="estimate:Q")
    points = base.mark_point(filled=True, size=70, color=OKABE_ITO[0], opacity=1).encode(y="estimate:Q")
    return _config((band + line + points).properties(width=max(160, 90 * len(order)), height=220), rows=data)


@_remembered
def distribution_spec(rows: Sequence[Mapping[str, Any]], axis_title: str, legend_title: str,
                      levels: Sequence[str]) -> dict[str, Any]:
    """Counts at each of the 5 levels as one stacked bar per group (shares of the answers)."""
    data = [r for r in rows if r.get("count") is not None]
    colour = alt.Color("level_label:N", title=legend_title, sort=list(levels),
                       scale=alt.Scale(domain=list(levels), range=list(LEVEL_COLOURS[: len(levels)])))
    chart = alt.Chart(_rows("rows")).mark_bar(stroke="white", strokeWidth=1).encode(
        x=alt.X("count:Q", stack="normalize", title=axis_title, axis=alt.Axis(format=".0%")),
        y=alt.Y("group:N", title=None, sort=None, axis=alt.Axis(labelLimit=220)),
        color=colour,
        order=alt.Order("level:Q"),
    )
    return _config(chart.properties(width=560, height=alt.Step(36)), rows=data)


@_remembered
def tile_spec(rows: Sequence[Mapping[str, Any]], legend_title: str, columns: int = 8) -> dict[str, Any]:
    """A tile map: one square per unit (in the order given), coloured by nhóm."""
    data = []
    for i, r in enumerate(rows):
        data.append({**r, "col": i % columns, "row": i // columns})
    domain = [r for r in _group_labels(rows)] + [r["group_label"] for r in rows if r.get("group") is None][:1]
    colours = list(GROUP_COLOURS[: len(domain)])
    if any(r.get("group") is None for r in rows):
        colours = list(GROUP_COLOURS[: len(domain) - 1]) + ["#bdbdbd"]
    base = alt.Chart(_rows("rows")).encode(
        x=alt.X("col:O", axis=None), y=alt.Y("row:O", axis=None))
    tiles = base.mark_rect(stroke="white", strokeWidth=3).encode(
        color=alt.Color("group_label:N", title=legend_title, scale=alt.Scale(domain=domain, range=colours)))
    names = base.mark_text(fontSize=10, limit=84, baseline="middle").encode(
        text="short:N", color=alt.condition("datum.group == 1", alt.value("#ffffff"), alt.value("#000000")))
    return _config((tiles + names).properties(width=alt.Step(92), height=alt.Step(52)), rows=data)


@_remembered
def papi_benchmark_spec(rows: Sequence[Mapping[str, Any]], axis_title: str, legend_title: str) -> dict[str, Any]:
    """Small multiples, one per dimension: official PAPI scores by year per province, and the
    province's own survey (a point with its CI)."""
    data = [r for r in rows if r.get("estimate") is not None]
    sources = sorted({r["source"] for r in data})
    colour = alt.Color("source:N", title=legend_title, scale=alt.Scale(domain=sources, range=list(OKABE_ITO)))
    base = alt.Chart().encode(x=alt.X("year:O", title=None, axis=alt.Axis(labelAngle=0)), color=colour)
    y = alt.Y("estimate:Q", title=axis_title, scale=alt.Scale(domain=[1, 10]))
    lines = base.mark_line(point=True).encode(y=y, detail="source:N")
    bars = base.mark_rule(strokeWidth=2).encode(y="ci_low:Q", y2="ci_high:Q")
    chart = alt.layer(lines, bars, data=_rows("rows")).properties(width=220, height=160).facet(
        facet=alt.Facet("dimension:N", title=None, sort=None), columns=3)
    return _config(chart, rows=data)


@_remembered
def sparkline_spec(rows: Sequence[Mapping[str, Any]], width: int = 300, height: int = 60) -> dict[str, Any]:
    """A small trend line with its CI band and no axes (the widget, the desk display)."""
    return _config(_sparkline(rows, width, height), spark=rows)


def _sparkline(rows: Sequence[Mapping[str, Any]], width: int, height: int) -> alt.LayerChart:
    order = [r["label"] for r in rows]
    base = alt.Chart(_rows("spark")).encode(x=alt.X("label:O", sort=order, axis=None))
    scale = alt.Scale(zero=False)
    band = base.mark_area(opacity=0.25, color=OKABE_ITO[0]).encode(y=alt.Y("ci_low:Q", axis=None, scale=scale),
                                                                    y2="ci_high:Q")
    line = base.mark_line(color=OKABE_ITO[0], strokeWidth=2.5, point={"filled": True, "size": 40}).encode(
        y=alt.Y("estimate:Q", axis=None, scale=scale))
    return (band + line).properties(width=width, height=height)


@_remembered
def badge_spec(lines: Sequence[str], trend: Sequence[Mapping[str, Any]], width: int = 300) -> dict[str, Any]:
    """The widget as one image: unit, what is measured, the index (large), CI and n, the trend."""
    sizes = (15, 13, 36, 13)
    layers = []
    y = 0
    for n in range(len(lines)):
        size = sizes[n] if n < len(sizes) else 13
        y += size + 8
        layers.append(alt.Chart(_rows(f"line{n}")).mark_text(
            align="left", baseline="alphabetic", x=0, y=y, fontSize=size, limit=width,
            fontWeight="bold" if n in (0, 2) else "normal", color=INK).encode(text="text:N"))
    head = alt.layer(*layers).properties(width=width, height=y + 6)
    texts = {f"line{n}": [{"text": line}] for n, line in enumerate(lines)}
    if len(trend) >= 2:
        return _config(alt.vconcat(head, _sparkline(trend, width, 50), spacing=4), spark=trend, **texts)
    return _config(head, **texts)


# ---------------------------------------------------------------------------------------------
# The boundary map

#: Viridis (perceptually uniform, readable with the common colour-vision deficiencies and in grey).
SEQUENTIAL_SCHEME: Final = "viridis"
#: The fill of a unit that is not published: a placeholder colour the SVG step turns into grey hatching.
HATCH_FILL = "#bdbdbe"
HATCH_PATTERN = (
    '<pattern id="{id}" patternUnits="userSpaceOnUse" width="6" height="6" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e0e0e0"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#6b6b6b" stroke-width="2"/></pattern>')


@_remembered
def choropleth_spec(features: Sequence[Mapping[str, Any]], legend_title: str, suppressed_label: str,
                    share: bool = True, width: int = 560) -> dict[str, Any]:
    """A choropleth of the units' boundaries (GeoJSON features whose ``properties`` carry
    ``estimate`` and ``label``): ranked units on a sequential colour-blind-safe scale, units with
    too few answers hatched grey with their own legend entry. Mercator, fitted to the features."""
    shown = [f for f in features if f["properties"].get("estimate") is not None]
    hidden = [f for f in features if f["properties"].get("estimate") is None]
    lons: list[float] = []
    lats: list[float] = []
    for f in features:
        _extent(f["geometry"]["coordinates"], lons, lats)
    span_lon = (max(lons) - min(lons)) if lons else 1.0
    span_lat = (max(lats) - min(lats)) if lats else 1.0
    middle = math.radians((max(lats) + min(lats)) / 2) if lats else 0.0
    aspect = span_lat / max(span_lon * math.cos(middle), 1e-9)
    height = int(min(max(width * aspect, 240), 720))
    projection = alt.Projection(type="mercator")
    layers = []
    if hidden:
        layers.append(alt.Chart(_rows("hidden")).mark_geoshape(stroke="white", strokeWidth=0.8).encode(
            color=alt.Color("properties.status:N", title=None,
                            scale=alt.Scale(domain=[suppressed_label], range=[HATCH_FILL]),
                            legend=alt.Legend(orient="bottom", symbolType="square", symbolSize=220, labelLimit=width))))
    if shown:
        values = [float(f["properties"]["estimate"]) for f in shown]
        low, high = min(values), max(values)
        if high - low < 1e-9:
            low, high = low - 0.01, high + 0.01
        layers.append(alt.Chart(_rows("shown")).mark_geoshape(stroke="white", strokeWidth=0.8).encode(
            color=alt.Color("properties.estimate:Q", title=legend_title,
                            scale=alt.Scale(scheme=SEQUENTIAL_SCHEME, domain=[low, high]),
                            legend=alt.Legend(orient="bottom", format=".0%" if share else ".1f",
                                              gradientLength=min(width - 40, 320), titleLimit=width))))
    chart = alt.layer(*layers).resolve_scale(color="independent").properties(
        width=width, height=height, projection=projection)
    return _config(chart, shown=shown, hidden=hidden)


def _extent(coordinates: Any, lons: list[float], lats: list[float]) -> None:
    if coordinates and isinstance(coordinates[0], int | float):
        lons.append(float(coordinates[0]))
        lats.append(float(coordinates[1]))
        return
    for part in coordinates:
        _extent(part, lons, lats)


def hatch(svg: str, prefix: str) -> str:
    """Turn the placeholder fill of unpublished units into a grey hatching pattern (Vega has no
    pattern fills): the map and its legend symbol then show the same hatching."""
    marker = f'fill="{HATCH_FILL}"'
    if marker not in svg:
        return svg
    pattern_id = f"{prefix}-hatch"
    svg = svg.replace(marker, f'fill="url(#{pattern_id})"')
    at = svg.index("</desc>") + len("</desc>")  # after the title and description, which come first
    return svg[:at] + "<defs>" + HATCH_PATTERN.format(id=pattern_id) + "</defs>" + svg[at:]
