"""Interactive Leaflet maps of a plan (folium), self-contained and safe to open offline.

``plan_map`` draws the new units in distinct colours with their names and households, the blocks
with a tooltip and popup each, the current community boundaries dashed, the office sites (those in
use highlighted), barriers such as the river, a legend with each unit's bound status and a layer
control.  ``compare_map`` puts two plans side by side, their views kept in step.

Every map is **one HTML file that loads nothing**: Leaflet's JS and CSS (vendored in
``redistrict/static/leaflet``) are inlined, and none of folium's CDN links (jQuery, Bootstrap,
Font Awesome) are emitted.  Only a chosen basemap (``osm``, ``amap``, ``tianditu``) fetches tiles.
AMap tiles are in GCJ-02, so with ``basemap="amap"`` the drawn geometry is shifted to GCJ-02 to
line up.  All text that comes from the data is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.map import CustomPane
from folium.plugins import DualMap
from folium.template import Template

from .coords import to_gcj02, working_crs
from .errors import InputError
from .labels import LANGS, section, status_word
from .options import MANY_UNITS
from .outputs import plan_layers
from .plan import Plan
from .shapes import CLOSING_M, closed_shape

BASEMAPS = ("none", "osm", "amap", "tianditu")
#: basemaps whose tiles are drawn in GCJ-02 (the geometry is shifted to match)
GCJ02_BASEMAPS = frozenset({"amap"})
#: metres by which blocks are grown and shrunk back to close road gaps into one outline

#: distinct fills for units (pastel enough for labels to stay readable on top)
PALETTE = (
    "#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69",
    "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f", "#e5c494", "#66c2a5",
)
OK_COLOUR = "#1a9641"
BAD_COLOUR = "#d7191c"
OFFICE_COLOUR = "#111111"
BARRIER_COLOUR = "#2b83ba"

#: the map's words in each language (from the one table, :mod:`redistrict.labels`)
TEXT = section("map")

#: percent of the page's height the two maps of a comparison take when a panel is shown below them
PANEL_TOP = 62

_CSS = """
.rd-panel{position:absolute;left:0;right:0;bottom:0;overflow:auto;padding:8px 14px;background:#fff;border-top:1px solid #bbb;
 font:13px/1.4 "Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",sans-serif;color:#222}
.rd-panel table{border-collapse:collapse;margin:4px 12px 8px 0;display:inline-table;vertical-align:top}
.rd-panel td,.rd-panel th{border:1px solid #ccc;padding:2px 7px;white-space:nowrap} .rd-panel th{background:#f3f3f3;text-align:left}
.rd-panel td.n{text-align:right} .rd-panel .sw{display:inline-block;width:14px;height:11px;border:1px solid #555;vertical-align:middle}
.rd-panel h2{font-size:15px;margin:2px 0 4px} .rd-panel p{margin:2px 0 6px}
.rd-label{background:transparent;border:none}
.rd-label-inner{transform:translate(-50%,-50%);display:inline-block;white-space:nowrap;text-align:center;
 font:600 12px/1.25 "Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",sans-serif;
 background:rgba(255,255,255,.85);border:2px solid #1a9641;border-radius:4px;padding:1px 5px;color:#222}
.rd-label-inner.rd-bad{border-color:#d7191c}
.rd-label-inner small{font-weight:400}
.rd-box{background:rgba(255,255,255,.93);padding:6px 9px;border-radius:5px;box-shadow:0 1px 4px rgba(0,0,0,.35);
 font:12px/1.35 "Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",sans-serif;color:#222}
.rd-title{font-size:14px;font-weight:600;max-width:420px}
.rd-title small{font-weight:400;font-size:12px}
.rd-legend{max-height:55vh;overflow:auto}
.rd-legend table{border-collapse:collapse}
.rd-legend td{padding:1px 4px;vertical-align:middle}
.rd-legend .sw{display:inline-block;width:14px;height:11px;border:1px solid #555}
.rd-legend .dot{display:inline-block;width:10px;height:10px;border-radius:50%}
.rd-legend .num{text-align:right}
.rd-legend hr{border:none;border-top:1px solid #ccc;margin:4px 0}
.rd-tip table{border-collapse:collapse}
.rd-tip th{text-align:left;font-weight:400;color:#555;padding-right:8px}
.rd-tip td{font-weight:600}
"""


# --- text -----------------------------------------------------------------------------------------


#: above this many blocks the map is lightened: no per-block popup or style, drawn on a canvas
LARGE_LAYER = 5000
BLOCK_STYLE = {"color": "#4d4d4d", "weight": 0.8, "opacity": 0.8, "fill": True, "fillColor": "#000000", "fillOpacity": 0.0}
#: block outlines of a large layer: fainter, or 50,000 of them turn the city view grey and hide the units
LARGE_BLOCK_STYLE = BLOCK_STYLE | {"weight": 0.4, "opacity": 0.4}


def present(value: object) -> bool:
    """False for None, NaN and pd.NA (missing data), True for anything else."""
    return not (value is None or (np.ndim(value) == 0 and bool(pd.isna(value))))


def esc(value: object) -> str:
    """HTML-escape data text (also backticks, ``$`` and backslashes, for JS template strings)."""
    if not present(value):
        return "—"
    text = html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def js_literal(value: object) -> str:
    """JSON for inlining in a ``<script>``: ``<``, ``>``, ``&`` and line separators escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return text


def _num(value: object, digits: int = 0) -> str:
    if not present(value):
        return "—"
    return f"{float(value):,.{digits}f}"


def _table(rows: list[tuple[str, str]], title: str | None = None) -> str:
    """A small key/value table; keys are our labels, values must already be escaped."""
    head = f"<b>{title}</b>" if title else ""
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="rd-tip">{head}<table>{body}</table></div>'


def _check(lang: str, basemap: str) -> dict:
    if lang not in LANGS:
        raise InputError(f"The map language must be one of {', '.join(LANGS)}, not '{lang}'.")
    if basemap not in BASEMAPS:
        raise InputError(f"The basemap must be one of {', '.join(BASEMAPS)}, not '{basemap}'.")
    return TEXT[lang]


# --- offline Leaflet ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS as text, ready to inline (the CSS images become data URIs)."""
    root = resources.files("redistrict") / "static" / "leaflet"
    if not (root / "leaflet.js").is_file():
        raise RuntimeError(f"Leaflet is missing from the installed package ({root}); reinstall redistrict with its static files.")
    js = (root / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    css = (root / "leaflet.css").read_text(encoding="utf-8")
    for name in ("layers.png", "layers-2x.png"):
        data = base64.b64encode((root / "images" / name).read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{name})", f"url(data:image/png;base64,{data})")
    return js, css


class OfflineMap(folium.Map):
    """A ``folium.Map`` that inlines Leaflet instead of linking CDNs (no jQuery/Bootstrap)."""

    default_js: list = []
    default_css: list = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.default_js = []  # never share (and mutate) folium's class-level lists
        self.default_css = []

    def render(self, **kwargs) -> None:
        super().render(**kwargs)
        _inline_leaflet(self.get_root())


def _inline_leaflet(figure: Figure) -> None:
    js, css = leaflet_assets()
    figure.header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
    figure.header.add_child(Element(f"<style>{_CSS}</style>"), name="redistrict_css")
    figure.header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js")


_EXTERNAL = re.compile(r"<script[^>]*\ssrc\s*=|<link[^>]*\shref\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def render_html(m: folium.Map | DualMap) -> str:
    """The page's HTML; raises ``RuntimeError`` if it would load any script or stylesheet."""
    text = m.get_root().render()
    found = _EXTERNAL.findall(text)
    if found:
        raise RuntimeError(f"The map links external resources ({len(found)}); it would not work offline.")
    return text


def save_html(m: folium.Map | DualMap, path: str | os.PathLike) -> Path:
    """Write a map as one self-contained UTF-8 HTML file."""
    path = Path(path)
    path.write_text(render_html(m), encoding="utf-8")
    return path


# --- the layers, as GeoJSON with escaped text -----------------------------------------------------


class _Layer(MacroElement):
    """A GeoJSON layer whose features carry their own style, tooltip, popup or label HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {% if this.tip_json %}
        var {{ this.get_name() }}_tip = (function (info) {
            function esc(v) {
                return v === null || v === undefined ? "\u2014" : String(v).replace(/[&<>"'`$\\\\]/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
            }
            function num(v) { return v === null || v === undefined ? "\u2014" : Math.round(v).toLocaleString("en-US"); }
            return function (p) {
                var w = info.words, unit = info.units[p.u];
                var rows = [[w.id, esc(p.i)], [w.households, num(p.h)], [w.population, num(p.p)], [w.community, esc(p.c)],
                            [w.unit, esc(unit[1]) + " (" + esc(unit[0]) + ")"]];
                return '<div class="rd-tip"><b>' + w.block + " " + esc(p.n === undefined ? p.i : p.n) + "</b><table>" +
                    rows.map(function (r) { return "<tr><th>" + r[0] + "</th><td>" + r[1] + "</td></tr>"; }).join("") + "</table></div>";
            };
        })({{ this.tip_json }});
        {% endif %}
        {% if this.labels_json %}
        var {{ this.get_name() }}_table = (function (labels) {
            return function (title, rows) {  // as _table in maps.py: labels and values are escaped there
                return '<div class="rd-tip"><b>' + title + "</b><table>" +
                    rows.map(function (r) { return "<tr><th>" + labels[r[0]] + "</th><td>" + r[1] + "</td></tr>"; }).join("") + "</table></div>";
            };
        })({{ this.labels_json }});
        {% endif %}
        var {{ this.get_name() }} = L.geoJSON({{ this.data_json }}, {
            pane: {{ this.pane|tojson }},
            style: function (f) { return f.properties._style || {{ this.style_json }}; },
            pointToLayer: function (f, latlng) {
                if (f.properties._label) {
                    return L.marker(latlng, {pane: {{ this.pane|tojson }}, keyboard: false,
                        icon: L.divIcon({className: "rd-label", html: f.properties._label, iconSize: null})});
                }
                return L.circleMarker(latlng, Object.assign({pane: {{ this.pane|tojson }}}, f.properties._style));
            },
            onEachFeature: function (f, layer) {
                if (f.properties._tip) { layer.bindTooltip(f.properties._tip, {sticky: true}); }
                {% if this.labels_json %}if (f.properties._tr) { layer.bindTooltip(function () { return {{ this.get_name() }}_table(f.properties._tt, f.properties._tr); }, {sticky: true}); }{% endif %}
                {% if this.tip_json %}layer.bindTooltip(function () { return {{ this.get_name() }}_tip(f.properties); }, {sticky: true});{% endif %}
                if (f.properties._popup) { layer.bindPopup(f.properties._popup, {maxWidth: 360}); }
            }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, pane: str, style: dict | None = None, tip: dict | None = None) -> None:
        """``tip``: the words and unit names from which a block's tooltip is built in the browser
        out of its compact properties (large layers), instead of HTML stored with every block."""
        super().__init__()
        self._name = "RedistrictLayer"
        labels = data.get("rd_labels")
        self.data = {key: value for key, value in data.items() if key != "rd_labels"}
        self.data_json = js_literal(self.data)
        #: the row labels of tooltips built in the page from ``[label index, value]`` rows
        self.labels_json = js_literal(labels) if labels else ""
        self.pane = pane
        #: the style of features without their own (large layers leave it out of every block)
        self.style_json = js_literal(style or {})
        self.tip_json = js_literal(tip) if tip else ""


class _Control(MacroElement):
    """A Leaflet control holding ready-made (escaped) HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.content_json }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, content: str, position: str, css_class: str) -> None:
        super().__init__()
        self._name = "RedistrictControl"
        self.content = content
        self.content_json = js_literal(content)
        self.position = position
        self.css_class = css_class


class _Background(MacroElement):
    """A plain background for maps without tiles (Leaflet's default grey is harsh)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>#{{ this._parent.get_name() }} { background: #f4f2ec; }</style>
        {% endmacro %}
        """
    )


def _features(gdf: gpd.GeoDataFrame, props: list[dict], precision: float = 1e-6) -> dict:
    """A FeatureCollection of ``gdf``'s geometry (lon/lat, to ``precision`` degrees) with the given properties only."""
    geoms = shapely.set_precision(gdf.geometry.values, precision)
    features = []
    for geom, prop in zip(geoms, props, strict=True):
        if geom is None or geom.is_empty:
            continue
        features.append({"type": "Feature", "properties": prop, "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def _normalise_blocks(blocks) -> gpd.GeoDataFrame:
    """Blocks indexed by block id as text, without columns a plan adds (as in blocks.geojson)."""
    frame = getattr(blocks, "blocks", blocks)
    if "block_id" in frame.columns:
        frame = frame.set_index("block_id")
    frame = frame.drop(columns=[c for c in ("unit_id", "unit_name") if c in frame.columns])
    frame.index = frame.index.astype(str)
    frame.index.name = "block_id"
    if frame.crs is None:
        raise InputError("The blocks have no CRS.")
    return frame.to_crs(working_crs(frame))


def unit_colours(units: gpd.GeoDataFrame) -> dict[str, str]:
    """A fill colour per unit id: all distinct up to the palette size, else neighbours differ."""
    ids = [str(u) for u in units["unit_id"]]
    if len(ids) <= len(PALETTE):
        return {u: PALETTE[i] for i, u in enumerate(ids)}
    grown = units.geometry.buffer(CLOSING_M).values
    tree = shapely.STRtree(grown)
    left, right = tree.query(grown, predicate="intersects")
    neighbours: dict[int, set[int]] = {i: set() for i in range(len(ids))}
    for a, b in zip(left, right, strict=True):
        if a != b:
            neighbours[int(a)].add(int(b))
    colour: dict[int, int] = {}
    used = np.zeros(len(PALETTE), dtype=int)
    for i in range(len(ids)):
        taken = {colour[j] for j in neighbours[i] if j in colour}
        free = [c for c in range(len(PALETTE)) if c not in taken] or list(range(len(PALETTE)))
        colour[i] = min(free, key=lambda c: used[c])
        used[colour[i]] += 1
    return {u: PALETTE[colour[i]] for i, u in enumerate(ids)}


#: how each kind of violation is drawn (Leaflet path style) and its legend word in :data:`TEXT`
PROBLEM_STYLES = {
    "detached": ({"color": "#b2182b", "weight": 3.5, "dashArray": "4 3", "fillColor": "#d7191c", "fillOpacity": 0.55}, "v_detached"),
    "bounds": ({"color": "#ff7f00", "weight": 5, "opacity": 0.95, "fill": False}, "v_bounds"),
    "unassigned": ({"color": "#000000", "weight": 2, "dashArray": "2 3", "fillColor": "#6e6e6e", "fillOpacity": 0.8}, "v_unassigned"),
    "no_office": ({"color": "#7b3294", "weight": 4, "dashArray": "10 6", "fill": False}, "v_no_office"),
    "other": ({"color": "#e7298a", "weight": 3, "fillColor": "#e7298a", "fillOpacity": 0.3}, "v_other"),
}
#: blocks whose unit changed between two compared plans
MOVED_STYLE = {"color": "#111111", "weight": 2.6, "dashArray": "5 3", "fillColor": "#111111", "fillOpacity": 0.28}


def _problem_kind(kind: str) -> str:
    """The drawing style of a verifier violation kind."""
    if kind == "not_contiguous":
        return "detached"
    if kind == "out_of_bounds":
        return "bounds"
    if kind == "unassigned":
        return "unassigned"
    return "no_office" if "office" in kind else "other"


#: where a unit's households lie against the bounds
SIDES = ("below", "within", "above")


def bound_deviations(households, lower: int | None, upper: int | None) -> np.ndarray:
    """For each unit's households, how far it lies above the upper bound (positive) or below the
    lower one (negative); 0 within the bounds (None: no such bound)."""
    hh = np.asarray(households)
    over = np.maximum(hh - upper, 0) if upper is not None else np.zeros_like(hh)
    under = np.maximum(lower - hh, 0) if lower is not None else np.zeros_like(hh)
    return over - under


def bound_sides(households, lower: int | None, upper: int | None) -> np.ndarray:
    """For each unit's households, "below", "within" or "above" the bounds (None: no such bound)."""
    deviation = bound_deviations(households, lower, upper)
    return np.where(deviation > 0, "above", np.where(deviation < 0, "below", "within")).astype(object)


def _swatch(style: dict) -> str:
    fill = style.get("fillColor", "transparent") if style.get("fill", True) else "transparent"
    dash = "dashed" if style.get("dashArray") else "solid"
    return f'<span class="sw" style="background:{fill};opacity:{max(style.get("fillOpacity", 1), 0.5) if fill != "transparent" else 1};border:2px {dash} {style["color"]}"></span>'


class MapData:
    """Everything drawn for one plan, in a metric CRS, with escaped text."""

    def __init__(
        self, plan: Plan, blocks: gpd.GeoDataFrame, offices: gpd.GeoDataFrame | None, barriers: gpd.GeoDataFrame | None, lang: str,
        *, colours: dict[str, str] | None = None, moved: set[str] | None = None,
    ) -> None:
        if plan.assignment is None or plan.units is None:
            raise InputError(f"The plan has no units to draw (status {plan.status}).")
        t = TEXT[lang]
        self.t = t
        self.lang = lang
        self.plan = plan
        every_block = _normalise_blocks(blocks)
        block_layer, unit_layer = plan_layers(plan, every_block)
        self.blocks = block_layer
        self.units = unit_layer
        self.crs = block_layer.crs
        self.colours = unit_colours(unit_layer) | (colours or {})
        #: blocks whose unit differs in the plan this one is compared with (highlighted)
        self.moved = sorted(set(moved or ()) & set(block_layer["block_id"]))
        bounds = plan.problem.get("bounds") or {}
        self.lower, self.upper = bounds.get("min"), bounds.get("max")
        self.area = closed_shape(block_layer.geometry)
        self.offices = self._offices(offices)
        self.barriers = self._barriers(barriers)
        self.current = self._current() if "community" in block_layer and block_layer["community"].notna().any() else None
        self.problems = self._problems(every_block.to_crs(self.crs))

    # -- layers in the metric CRS --

    def _offices(self, offices: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
        if offices is None or len(offices) == 0:
            return None
        sites = offices.to_crs(self.crs).copy()
        sites = sites[sites.geometry.notna() & ~sites.geometry.is_empty]
        sites = sites[sites.geometry.distance(self.area) <= 1.0]
        if "site_id" not in sites:
            sites["site_id"] = [f"S{i + 1}" for i in range(len(sites))]
        sites["site_id"] = sites["site_id"].astype(str)
        used = {str(s): u for s, u in zip(self.plan.units["office_site"], self.plan.units["unit_id"], strict=True) if present(s)}
        sites["unit_id"] = sites["site_id"].map(used)
        sites["in_use"] = sites["unit_id"].notna()
        return sites.sort_values("in_use", kind="stable").reset_index(drop=True)

    def _barriers(self, barriers: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
        if barriers is None or len(barriers) == 0:
            return None
        lines = barriers.to_crs(self.crs)
        x0, y0, x1, y1 = self.area.bounds
        clipped = gpd.clip(lines, (x0 - 500, y0 - 500, x1 + 500, y1 + 500))
        return clipped if len(clipped) else None

    def _current(self) -> gpd.GeoDataFrame:
        rows = []
        for name, group in self.blocks.groupby("community", dropna=True):
            rows.append({"community": name, "households": int(group["households"].sum()), "blocks": len(group), "geometry": closed_shape(group.geometry)})
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=self.crs)

    # -- what is wrong with the plan --

    def _problems(self, every_block: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """One row per drawn violation: its kind (a key of :data:`PROBLEM_STYLES`), message and
        shape — detached blocks of a unit, units out of bounds, blocks in no unit, units without
        an office (when office sites are given), and any other violation with its blocks or unit."""
        report = self.plan.verification
        rows: list[dict] = []
        for v in [] if report is None else report.violations:
            kind = _problem_kind(v.kind)
            ids = [str(b) for b in v.block_ids]
            if kind == "bounds" or (not ids and v.unit is not None):
                rows += [{"kind": kind, "message": v.message, "geometry": g} for g in self._unit_shapes([v.unit])]
            else:
                source = every_block if kind == "unassigned" else self.blocks.set_index("block_id")
                rows += [{"kind": kind, "message": v.message, "geometry": source.geometry.loc[b]} for b in ids if b in source.index]
        flagged = {r["message"] for r in rows if r["kind"] == "no_office"}
        if self.offices is not None and "office_site" in self.plan.units and not flagged:
            missing = self.plan.units.loc[~self.plan.units["office_site"].map(present), "unit_id"].astype(str)
            for unit, geom in zip(missing, self._unit_shapes(missing), strict=True):
                rows.append({"kind": "no_office", "message": f"{self.t['v_no_office']}: {unit}", "geometry": geom})
        return gpd.GeoDataFrame(rows, columns=["kind", "message", "geometry"], geometry="geometry", crs=self.crs)

    def _unit_shapes(self, units) -> list:
        by_id = self.units.set_index(self.units["unit_id"].astype(str)).geometry
        return [by_id.loc[str(u)] for u in units if str(u) in by_id.index]

    @property
    def invalid(self) -> bool:
        """True when the verifier rejected the plan (the map then is a diagnostic)."""
        report = self.plan.verification
        return self.plan.status == "invalid" or (report is not None and not report.ok)

    def problem_features(self, gcj: bool) -> dict:
        props = [{"_style": PROBLEM_STYLES[k][0], "_tip": f'<b>{esc(self.t[PROBLEM_STYLES[k][1]])}</b><br>{esc(m)}'} for k, m in zip(self.problems["kind"], self.problems["message"], strict=True)]
        return _features(self._wgs(self.problems, gcj), props)

    def moved_features(self, gcj: bool) -> dict:
        frame = self.blocks[self.blocks["block_id"].isin(self.moved)]
        props = [{"_style": MOVED_STYLE, "_tip": f'{self.t["moved"]}: {esc(b)}'} for b in frame["block_id"]]
        return _features(self._wgs(frame, gcj), props)

    # -- text --

    def _bound_text(self, row) -> str:
        t = self.t
        rng = f"{_num(self.lower)}–{_num(self.upper)}" if self.lower is not None else ""
        if row["within_bounds"]:
            return f'<span style="color:{OK_COLOUR}">✓ {t["within"]} {rng}</span>'
        return f'<span style="color:{BAD_COLOUR}">✗ {t["outside"]} {rng} ({t["by"]} {_num(row["violation"])})</span>'

    def unit_rows(self, row) -> list[tuple[str, str]]:
        t = self.t
        office = "—"
        if present(row.get("office_name")):
            office = f'{esc(row["office_name"])} ({esc(row["office_site"])}, {_num(row.get("office_area_m2"))} {t["m2"]})'
        has_office = office != "—"
        rows = [
            (t["households"], _num(row["households"])),
            (t["population"], _num(row.get("population"))),
            (t["blocks_n"], _num(row.get("blocks"))),
            (t["area"], f'{_num(row.get("area_km2"), 3)} {t["km2"]}'),
            (t["office"], office),
            (t["mean_dist"] if has_office else t["mean_dist_centre"], f'{_num(row.get("mean_distance_m"))} {t["m"]}'),
            (t["max_dist"] if has_office else t["max_dist_centre"], f'{_num(row.get("max_distance_m"))} {t["m"]}'),
        ]
        moved = row.get("households_moved_in")
        if present(moved):
            rows.append((t["moved_in"], _num(moved)))
        rows.append((t["bounds"], self._bound_text(row)))
        return rows

    def unit_title(self, row) -> str:
        return f'{esc(row["name"])} <small>({esc(row["unit_id"])})</small>'

    # -- GeoJSON for Leaflet --

    def _wgs(self, gdf: gpd.GeoDataFrame, gcj: bool) -> gpd.GeoDataFrame:
        return to_gcj02(gdf) if gcj else gdf.to_crs("EPSG:4326")

    @property
    def large(self) -> bool:
        """True above :data:`LARGE_LAYER` blocks: lighter features, drawn on a canvas."""
        return len(self.blocks) > LARGE_LAYER

    @property
    def many(self) -> bool:
        """True above :data:`~redistrict.options.MANY_UNITS` units: legends, labels and charts summarise."""
        return len(self.units) > MANY_UNITS

    def unit_features(self, gcj: bool) -> dict:
        """A feature per unit in its colour with its tooltip; thinner outlines for many units.

        On a large layer a unit carries its tooltip's title and ``[label, value]`` rows with the
        label as an index (``_tt``, ``_tr``) into the collection's ``rd_labels``, and the page
        builds the same table: the HTML of each of 4,746 units was 7 MB of a 50,000-block map."""
        props, tables = [], []
        for _, row in self.units.iterrows():
            colour = self.colours[str(row["unit_id"])]
            props.append({"_style": {"fillColor": colour, "color": "#333333", "weight": 0.6 if self.many else 1.2, "opacity": 0.9, "fillOpacity": 0.6}})
            tables.append((f'{self.t["unit"]} {self.unit_title(row)}', self.unit_rows(row)))
        if not self.large:
            for prop, (title, rows) in zip(props, tables, strict=True):
                prop["_tip"] = _table(rows, title)
            return _features(self._wgs(self.units, gcj), props)
        labels = list(dict.fromkeys(label for _, rows in tables for label, _ in rows))
        index = {label: i for i, label in enumerate(labels)}
        for prop, (title, rows) in zip(props, tables, strict=True):
            prop["_tt"], prop["_tr"] = title, [[index[label], value] for label, value in rows]
        return _features(self._wgs(self.units, gcj), props, 1e-5) | {"rd_labels": labels}

    def block_features(self, gcj: bool) -> dict:
        """Blocks with a tooltip and a popup each; above :data:`LARGE_LAYER` blocks see
        :meth:`compact_block_features` (the unit table is in the unit's own tooltip)."""
        if self.large:
            return self.compact_block_features(gcj)
        t = self.t
        units = self.plan.units.set_index("unit_id")
        props = []
        for _, row in self.blocks.iterrows():
            unit = units.loc[row["unit_id"]]
            block_rows = [
                (t["id"], esc(row["block_id"])),
                (t["households"], _num(row["households"])),
                (t["population"], _num(row.get("population"))),
                (t["community"], esc(row.get("community"))),
                (t["unit"], f'{esc(unit["name"])} ({esc(row["unit_id"])})'),
            ]
            name = esc(row.get("name")) if present(row.get("name")) else esc(row["block_id"])
            unit_row = unit.to_dict() | {"unit_id": row["unit_id"]}
            props.append({
                "_style": BLOCK_STYLE,
                "_tip": _table(block_rows, f'{t["block"]} {name}'),
                "_popup": _table(block_rows, f'{t["block"]} {name}') + "<hr>" + _table(self.unit_rows(unit_row), f'{t["unit"]} {self.unit_title(unit_row)}'),
            })
        return _features(self._wgs(self.blocks, gcj), props)

    def compact_block_features(self, gcj: bool) -> dict:
        """Blocks of a large layer: no popup, the layer's shared style, coordinates to 1e-5° (~1 m)
        and only the raw figures (``i`` id, ``n`` name, ``h`` households, ``p`` population,
        ``c`` community, ``u`` the unit's index in :meth:`block_tip`), from which the page builds
        the tooltip when the pointer is over the block: HTML stored with each of 50,000 blocks
        was two thirds of the file."""
        frame = self.blocks
        index = pd.Index(self.units["unit_id"]).get_indexer(frame["unit_id"])
        columns = {"i": frame["block_id"].astype(str), "n": frame.get("name"), "h": frame["households"], "p": frame.get("population"), "c": frame.get("community")}
        values = {key: ([None] * len(frame) if col is None else [v if present(v) else None for v in col.tolist()]) for key, col in columns.items()}
        props = []
        for row, unit in enumerate(index.tolist()):
            prop = {key: values[key][row] for key in columns if values[key][row] is not None}
            props.append(prop | {"u": unit})
        return _features(self._wgs(frame, gcj), props, 1e-5)

    def block_tip(self) -> dict | None:
        """What the page needs to build a compact block's tooltip: the words and ``[id, name]`` of
        each unit (None for a small layer, whose blocks carry their own tooltip HTML)."""
        if not self.large:
            return None
        t = self.t
        words = {key: t[key] for key in ("id", "households", "population", "community", "unit", "block")}
        return {"words": words, "units": [[str(u), str(n)] for u, n in zip(self.units["unit_id"], self.units["name"], strict=True)]}

    def label_points(self, unit_ids=None) -> gpd.GeoSeries:
        """A point inside each unit (of ``unit_ids``, default all), on its blocks with the road gaps
        closed, indexed by unit id: one pass over the blocks grouped by unit (a mask per unit
        was quadratic: minutes for a city's thousands of units)."""
        units = self.units if unit_ids is None else self.units[self.units["unit_id"].isin(list(unit_ids))]
        blocks = self.blocks[self.blocks["unit_id"].isin(units["unit_id"])]
        shapes = {unit: closed_shape(group.geometry) for unit, group in blocks.groupby("unit_id", sort=False)}
        points = []
        for unit, geom in zip(units["unit_id"], units.geometry, strict=True):
            shape = shapes.get(unit)
            points.append(shapely.point_on_surface(shape) if shape is not None and not shape.is_empty else geom.representative_point())
        return gpd.GeoSeries(points, index=units["unit_id"].to_numpy(), crs=self.crs)

    def label_features(self, gcj: bool) -> dict:
        """A label per unit (name, households; framed red outside the bounds) with the unit's
        tooltip; with many units without it (the unit under the label has the same one, and
        thousands of copies were a sixth of a city's map)."""
        t = self.t
        points = self.label_points()
        props = []
        for _, row in self.units.iterrows():
            cls = "rd-label-inner" if row["within_bounds"] else "rd-label-inner rd-bad"
            label = f'<div class="{cls}">{esc(row["name"])}<br><small>{_num(row["households"])} {t["hh"]}</small></div>'
            tip = {} if self.many else {"_tip": _table(self.unit_rows(row), f'{t["unit"]} {self.unit_title(row)}')}
            props.append({"_label": label} | tip)
        gdf = gpd.GeoDataFrame(geometry=points.to_numpy(), crs=self.crs)
        return _features(self._wgs(gdf, gcj), props)

    def current_style(self) -> dict:
        """The dashed outline of the current communities (thinner for many units)."""
        return {"color": "#1f1f1f", "weight": 1.4 if self.many else 2.6, "opacity": 0.95, "dashArray": "9 6", "fill": False, "interactive": False}

    def current_features(self, gcj: bool) -> dict:
        """The current communities' outlines, styled by the layer (:meth:`current_style`): one
        style for all, so not stored with each; to 1e-5° (~1 m) on a large layer."""
        return _features(self._wgs(self.current, gcj), [{} for _ in range(len(self.current))], 1e-5 if self.large else 1e-6)

    def office_features(self, gcj: bool) -> dict:
        t = self.t
        units = self.plan.units.set_index("unit_id")
        min_area = self.plan.problem.get("min_office_area")
        props = []
        for _, row in self.offices.iterrows():
            area = pd.to_numeric(pd.Series([row.get("floor_area_m2")]), errors="coerce").iloc[0]
            rows = [(t["id"], esc(row["site_id"])), (t["floor_area"], f'{_num(area)} {t["m2"]}')]
            if row["in_use"]:
                unit = units.loc[row["unit_id"]]
                rows.append((t["used_by"], f'{esc(unit["name"])} ({esc(row["unit_id"])})'))
                style = {"radius": 8, "color": "#ffffff", "weight": 2, "fillColor": OFFICE_COLOUR, "fillOpacity": 1.0}
            else:
                small = present(min_area) and present(area) and area < min_area
                rows.append((t["status"], t["office_small"] if small else t["not_used"]))
                style = {"radius": 5, "color": "#555555", "weight": 1.5, "fillColor": "#ffffff", "fillOpacity": 0.9}
            title = esc(row.get("name")) if present(row.get("name")) else esc(row["site_id"])
            props.append({"_style": style, "_tip": _table(rows, f'{t["office"]} {title}')})
        return _features(self._wgs(self.offices, gcj), props)

    def barrier_features(self, gcj: bool) -> dict:
        props = []
        for _, row in self.barriers.iterrows():
            name = row.get("name")
            props.append({
                "_style": {"color": BARRIER_COLOUR, "weight": 4, "opacity": 0.75, "fillColor": BARRIER_COLOUR, "fillOpacity": 0.35},
                "_tip": esc(name) if present(name) else "",
            })
        return _features(self._wgs(self.barriers, gcj), props)

    # -- legend and title --

    def title_html(self, title: str | None) -> str:
        t = self.t
        plan = self.plan
        name = title if title is not None else (plan.problem.get("name") or t["plan"])
        total = int(self.units["households"].sum())
        gap = "" if plan.gap is None else f" · {t['gap']} {plan.gap:.2%}"
        flag = f'<br><span class="rd-invalid" style="color:{BAD_COLOUR}">✗ {t["invalid"]}</span>' if self.invalid else ""
        return (
            f'{esc(name)}{flag}<br><small>{len(self.units)} {t["units_n"]} · {_num(total)} {t["hh"]} · '
            f'{t["bounds"]} {_num(self.lower)}–{_num(self.upper)} · {esc(status_word(self.lang, plan.status))}{esc(gap)}</small>'
        )

    def legend_html(self) -> str:
        t = self.t
        if self.many:
            head = self._summary_key()
        else:
            head = f'<b>{t["units"]}</b><table>{"".join(self._unit_legend_row(row) for _, row in self.units.iterrows())}</table>'
        key = [
            f'<span class="dot" style="background:{OK_COLOUR}"></span> {t["within"]} {_num(self.lower)}–{_num(self.upper)} {t["hh"]}',
            f'<span class="dot" style="background:{BAD_COLOUR}"></span> {t["outside"]}',
        ]
        if self.current is not None:
            key.append(f'<svg width="22" height="8"><line x1="0" y1="4" x2="22" y2="4" stroke="#1f1f1f" stroke-width="2.4" stroke-dasharray="6 4"/></svg> {t["current"]}')
        if self.offices is not None:
            key.append(f'<span class="dot" style="background:{OFFICE_COLOUR};border:1px solid #fff"></span> {t["office_in_use"]}')
            key.append(f'<span class="dot" style="background:#fff;border:1px solid #555;width:8px;height:8px"></span> {t["office_candidate"]}')
        if self.barriers is not None:
            key.append(f'<svg width="22" height="8"><line x1="0" y1="4" x2="22" y2="4" stroke="{BARRIER_COLOUR}" stroke-width="4"/></svg> {t["barriers"]}')
        if self.moved:
            key.append(f'{_swatch(MOVED_STYLE)} {t["moved"]} ({len(self.moved):,})')
        return f'{head}<hr>' + "<br>".join(key) + self._problem_key()

    def _unit_legend_row(self, row) -> str:
        """One unit in the legend: its colour, id, name, households and bound status."""
        ok = bool(row["within_bounds"])
        dot = OK_COLOUR if ok else BAD_COLOUR
        mark = "✓" if ok else f'✗ {_num(row["violation"])}'
        return (
            f'<tr><td><span class="sw" style="background:{self.colours[str(row["unit_id"])]}"></span></td>'
            f'<td>{esc(row["unit_id"])}</td><td>{esc(row["name"])}</td>'
            f'<td class="num">{_num(row["households"])}</td>'
            f'<td><span class="dot" style="background:{dot}"></span> <span style="color:{dot}">{mark}</span></td></tr>'
        )

    def bound_counts(self) -> dict[str, int]:
        """How many units lie below, within and above the bounds."""
        sides = bound_sides(self.units["households"], self.lower, self.upper)
        return {side: int((sides == side).sum()) for side in SIDES}

    def _summary_key(self) -> str:
        """The legend's units section for many units: the colours used and the counts within,
        below and above the bounds (one row per unit would be thousands of rows)."""
        t = self.t
        colours = sorted(set(self.colours[str(u)] for u in self.units["unit_id"]), key=PALETTE.index)
        swatches = "".join(f'<span class="sw" style="background:{c}"></span>' for c in colours)
        counts = self.bound_counts()
        rows = [(OK_COLOUR, f'✓ {t["within"]} {_num(self.lower)}–{_num(self.upper)}', counts["within"]),
                (BAD_COLOUR, f'✗ {t["below"]}', counts["below"]), (BAD_COLOUR, f'✗ {t["above"]}', counts["above"])]
        table = "".join(f'<tr><td><span class="dot" style="background:{c}"></span></td><td style="color:{c}">{w}</td><td class="num">{_num(n)}</td></tr>' for c, w, n in rows)
        return (
            f'<b>{t["units"]}</b><div class="rd-summary">{swatches}<br>{t["many_colours"].format(k=len(self.units), colours=len(colours))}'
            f'<table>{table}</table>{t["labels_off"]}</div>'
        )

    def _problem_key(self) -> str:
        """The legend's section of violations: one entry per kind drawn, with its count."""
        if self.problems.empty:
            return ""
        counts = self.problems.groupby("kind").size()
        entries = [f'<span class="rd-problem" data-kind="{k}">{_swatch(style)} {self.t[word]} ({int(counts[k]):,})</span>' for k, (style, word) in PROBLEM_STYLES.items() if k in counts]
        return f'<hr><b style="color:{BAD_COLOUR}">{self.t["problems"]}</b><br>' + "<br>".join(entries)


def _tiles(m: folium.Map, basemap: str, lang: str, tianditu_key: str | None) -> None:
    if basemap == "none":
        m.add_child(_Background())
    elif basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=False).add_to(m)
    elif basemap == "amap":
        folium.TileLayer(
            tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            attr="© 高德地图 AutoNavi (GCJ-02)", name="AMap", subdomains="1234", max_zoom=18, control=False,
        ).add_to(m)
    elif basemap == "tianditu":
        key = tianditu_key or os.environ.get("TIANDITU_KEY")
        if not key:
            raise InputError("The Tianditu basemap needs an API key: give --tianditu-key KEY (tianditu_key= in Python) or set the TIANDITU_KEY environment variable; or use --basemap none (offline).")
        tk = quote(key, safe="")
        for layer, name in (("vec", "Tianditu"), ("cva" if lang == "zh" else "eva", "Tianditu labels")):
            folium.TileLayer(
                tiles=f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={tk}",
                attr="© 天地图 Tianditu", name=name, subdomains="01234567", max_zoom=18, control=False,
            ).add_to(m)


_PANES = (
    ("rd-units", 410, True), ("rd-current", 420, False), ("rd-barriers", 425, True), ("rd-blocks", 430, True),
    ("rd-moved", 435, True), ("rd-problems", 440, True), ("rd-offices", 450, True), ("rd-labels", 460, True),
)


class _MetricScale(MacroElement):
    """Leaflet's scale bar, metres and kilometres only."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, position: "bottomleft"}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


def _draw(m: folium.Map, data: MapData, *, current: bool, basemap: str, lang: str, title: str | None, tianditu_key: str | None, collapsed: bool = False, extent=None) -> None:
    """Add every layer, the title, the legend and the layer control of one plan to ``m``."""
    t = TEXT[lang]
    gcj = basemap in GCJ02_BASEMAPS
    _tiles(m, basemap, lang, tianditu_key)
    for name, z, events in _PANES:
        m.add_child(CustomPane(name, z_index=z, pointer_events=events))

    def group(label: str, features: dict, pane: str, show: bool = True, style: dict | None = None, tip: dict | None = None) -> None:
        fg = folium.FeatureGroup(name=label, show=show)
        fg.add_child(_Layer(features, pane, style, tip))
        m.add_child(fg)

    group(t["units"], data.unit_features(gcj), "rd-units")
    if current and data.current is not None:
        group(t["current"], data.current_features(gcj), "rd-current", style=data.current_style())
    if data.barriers is not None:
        group(t["barriers"], data.barrier_features(gcj), "rd-barriers")
    group(t["blocks"], data.block_features(gcj), "rd-blocks", style=LARGE_BLOCK_STYLE if data.large else BLOCK_STYLE, tip=data.block_tip())
    if data.offices is not None:
        group(t["offices"], data.office_features(gcj), "rd-offices")
    if data.moved:
        group(t["moved"], data.moved_features(gcj), "rd-moved")
    if not data.problems.empty:
        group(t["problems"], data.problem_features(gcj), "rd-problems")
    # thousands of labels would hide every unit at the city view: off, one click away in the layer control
    group(t["labels"], data.label_features(gcj), "rd-labels", show=not data.many)

    m.add_child(_Control(data.title_html(title), "topright", "rd-box rd-title"))
    folium.LayerControl(collapsed=collapsed, position="topright").add_to(m)
    m.add_child(_Control(data.legend_html(), "bottomright", "rd-box rd-legend"))
    m.add_child(_MetricScale())
    area = gpd.GeoSeries([data.area if extent is None else extent], crs=data.crs)
    west, south, east, north = (to_gcj02(gpd.GeoDataFrame(geometry=area)) if gcj else area.to_crs("EPSG:4326")).total_bounds
    m.fit_bounds([[float(south), float(west)], [float(north), float(east)]], padding=(10, 10))


def plan_map(
    plan: Plan,
    blocks: gpd.GeoDataFrame,
    *,
    offices: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    current: bool = True,
    basemap: str = "none",
    lang: str = "zh",
    title: str | None = None,
    tianditu_key: str | None = None,
) -> folium.Map:
    """An interactive map of ``plan`` (see the module docstring for what it shows).

    ``blocks`` are the blocks the plan assigns (``BlockLayer.blocks``, or a blocks.geojson frame
    with a ``block_id`` column), in any CRS.  ``offices``: candidate sites (points with
    ``site_id``, ``name``, ``floor_area_m2``); ``barriers``: lines or polygons.  ``basemap``:
    ``none`` (offline), ``osm``, ``amap`` (GCJ-02; geometry shifted to match) or ``tianditu``
    (needs ``tianditu_key`` or ``TIANDITU_KEY``).  ``lang``: ``zh`` or ``en``.
    """
    _check(lang, basemap)
    data = MapData(plan, blocks, offices, barriers, lang)
    title_text = esc(title if title is not None else (plan.problem.get("name") or TEXT[lang]["plan"]))
    figure = Figure(title=title_text)
    m = OfflineMap(location=[0, 0], zoom_start=14, tiles=None, control_scale=False, prefer_canvas=len(data.blocks) > LARGE_LAYER)
    figure.add_child(m)
    _draw(m, data, current=current, basemap=basemap, lang=lang, title=title, tianditu_key=tianditu_key)
    return m


def assignment_plan(
    blocks: gpd.GeoDataFrame,
    graph,
    assignment: pd.DataFrame | str | os.PathLike,
    *,
    lower: int = 2500,
    upper: int = 3000,
    offices: gpd.GeoDataFrame | None = None,
    min_office_area: float = 300.0,
) -> Plan:
    """A plan of any block→unit table (e.g. drawn by hand), checked by the verifier, to draw.

    Rows with an empty unit stay out of the units (the verifier lists them as blocks in no unit);
    the blocks the table lists are the plan's scope.  A plan the verifier rejects gets status
    ``invalid`` and the verifier's report, so its map draws every violation.  Unknown or doubly
    assigned blocks cannot be drawn: :class:`InputError`, as from ``plan_from_assignment``.
    """
    from .export import plan_from_assignment, read_assignment

    source = str(assignment) if isinstance(assignment, (str, os.PathLike)) else "the assignment"
    pairs = read_assignment(assignment) if isinstance(assignment, (str, os.PathLike)) else assignment.iloc[:, :2].astype(str)
    pairs.columns = ["block_id", "unit_id"]
    assigned = pairs[pairs["unit_id"].str.strip().ne("") & pairs["unit_id"].ne("nan")]
    if assigned.empty:
        raise InputError(f"{source}: no block has a unit; nothing to draw.")
    plan = plan_from_assignment(blocks, graph, assigned, lower=lower, upper=upper, offices=offices, min_office_area=min_office_area)
    report = _verify_assignment(graph, pairs, lower=lower, upper=upper)
    if report.ok:
        return plan
    message = f"{source}: the plan fails verification ({len(report.violations)} violation(s)):\n" + report.summary()
    return replace(plan, status="invalid", verification=report, message=message)


def _verify_assignment(graph, pairs: pd.DataFrame, *, lower: int, upper: int):
    """The one call of the verifier for a drawn table: strict bounds, the listed blocks as scope."""
    from .verify import verify_plan

    listed = set(pairs["block_id"])
    scope = graph.subgraph(listed) if listed <= set(graph.nodes) else graph
    return verify_plan(scope, pairs, lower=lower, upper=upper)


def write_map(plan: Plan, blocks: gpd.GeoDataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """Write :func:`plan_map` as one self-contained HTML file (``map.html``); returns its path."""
    return save_html(plan_map(plan, blocks, **kwargs), path)


class ComparisonMap(DualMap):
    """Two offline maps side by side whose views follow each other (no Leaflet.Sync needed)."""

    default_js: list = []
    default_css: list = []

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var a = {{ this.m1.get_name() }}, b = {{ this.m2.get_name() }}, busy = false;
            function follow(src, dst) {
                src.on("move", function () {
                    if (busy) { return; }
                    busy = true;
                    dst.setView(src.getCenter(), src.getZoom(), {animate: false});
                    busy = false;
                });
            }
            follow(a, b);
            follow(b, a);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str | None = None, layout: str = "horizontal", panel: str | None = None, **kwargs) -> None:
        """``panel``: ready-made (escaped) HTML shown below the maps, e.g. the figures table."""
        MacroElement.__init__(self)
        self._name = "ComparisonMap"
        self.default_js = []
        self.default_css = []
        if layout not in ("horizontal", "vertical"):
            raise ValueError("layout must be 'horizontal' or 'vertical'.")
        horizontal = layout == "horizontal"
        full = PANEL_TOP if panel else 100
        size = {"width": "50%" if horizontal else "100%", "height": f"{full}%" if horizontal else f"{full / 2:g}%"}
        self.m1 = OfflineMap(left="0%", top="0%", position="absolute", **size, **kwargs)
        self.m2 = OfflineMap(left="50%" if horizontal else "0%", top="0%" if horizontal else f"{full / 2:g}%", position="absolute", **size, **kwargs)
        figure = Figure(title=title)
        figure.add_child(self.m1)
        figure.add_child(self.m2)
        figure.add_child(self)
        if panel:
            figure.html.add_child(Element(f'<div class="rd-panel" style="top:{PANEL_TOP}%">{panel}</div>'), name="rd_panel")
        self.children_for_m2 = []
        self.children_for_m2_copied = []


def compare_map(
    plan_a: Plan,
    plan_b: Plan,
    blocks: gpd.GeoDataFrame,
    *,
    titles: tuple[str, str] | None = None,
    offices: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    current: bool = True,
    basemap: str = "none",
    lang: str = "zh",
    layout: str = "horizontal",
    tianditu_key: str | None = None,
    blocks_b: gpd.GeoDataFrame | None = None,
    offices_b: gpd.GeoDataFrame | None = None,
    pairs: dict[str, str] | None = None,
    moved: set[str] | None = None,
    panel: str | None = None,
) -> ComparisonMap:
    """Two plans side by side (a folium ``DualMap``), panning and zooming together, both fitted
    to the extent of the two plans.

    ``blocks`` must hold every block of both plans, or give plan B's blocks as ``blocks_b``
    (e.g. two output folders read with ``export.load_plan_dir``).  ``offices`` are plan A's
    sites, ``offices_b`` plan B's (default: A's).  ``pairs`` maps units of B to their matched
    unit of A, which lends B's unit its colour; ``moved`` blocks are highlighted on both sides;
    ``panel`` is HTML shown below the maps (see :func:`redistrict.comparison.compare_page`, which
    computes all three).  ``titles`` name the two sides.  The other options are :func:`plan_map`'s.
    """
    _check(lang, basemap)
    data_a = MapData(plan_a, blocks, offices, barriers, lang, moved=moved)
    colours_b = matched_colours(data_a.colours, [str(u) for u in plan_b.units["unit_id"]], pairs or {})
    data_b = MapData(plan_b, blocks if blocks_b is None else blocks_b, offices if offices_b is None else offices_b, barriers, lang, colours=colours_b, moved=moved)
    if titles is None:
        titles = tuple(f"{side} · {p.problem.get('name') or TEXT[lang]['plan']}" for side, p in (("A", plan_a), ("B", plan_b)))
    dual = ComparisonMap(title=f"{esc(titles[0])} | {esc(titles[1])}", layout=layout, panel=panel, location=[0, 0], zoom_start=14, tiles=None, control_scale=False)
    extent = shapely.union_all([data_a.area, data_b.area])
    for m, data, title in ((dual.m1, data_a, titles[0]), (dual.m2, data_b, titles[1])):
        _draw(m, data, current=current, basemap=basemap, lang=lang, title=title, tianditu_key=tianditu_key, collapsed=True, extent=extent)
    return dual


def matched_colours(colours_a: dict[str, str], units_b: list[str], pairs: dict[str, str]) -> dict[str, str]:
    """Plan B's unit colours: a matched unit takes its partner's colour from plan A, the others
    the palette colours A uses least (distinct from each other while the palette lasts)."""
    out = {u: colours_a[pairs[u]] for u in units_b if u in pairs and pairs[u] in colours_a}
    used = list(colours_a.values()) + list(out.values())
    for u in units_b:
        if u not in out:
            colour = min(PALETTE, key=lambda c: (used.count(c), PALETTE.index(c)))
            out[u] = colour
            used.append(colour)
    return out


def write_compare_map(plan_a: Plan, plan_b: Plan, blocks: gpd.GeoDataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """Write :func:`compare_map` as one self-contained HTML file; returns its path."""
    return save_html(compare_map(plan_a, plan_b, blocks, **kwargs), path)


def map_summary(m: folium.Map | DualMap) -> dict:
    """How many features each layer of a map holds (for tests and for the CLI to print)."""
    maps = [m.m1, m.m2] if isinstance(m, DualMap) else [m]
    out = []
    for one in maps:
        counts: dict[str, int] = {}
        for child in one._children.values():
            for layer in getattr(child, "_children", {}).values():
                if isinstance(layer, _Layer):
                    counts[layer.pane] = counts.get(layer.pane, 0) + len(layer.data["features"])
        out.append(counts)
    return out[0] if len(out) == 1 else {"left": out[0], "right": out[1]}


__all__ = [
    "BASEMAPS", "LANGS", "ComparisonMap", "MapData", "assignment_plan", "OfflineMap", "compare_map", "esc", "matched_colours", "leaflet_assets", "map_summary",
    "plan_map", "present", "render_html", "save_html", "unit_colours", "write_compare_map", "write_map",
]
