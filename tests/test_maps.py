"""Leaflet maps: self-contained offline HTML, the layers drawn, escaping, basemaps, languages, comparison."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import make_grid
from folium.plugins import DualMap
from shapely.geometry import box

from redistrict import maps
from redistrict.coords import wgs84_to_gcj02
from redistrict.errors import InputError
from redistrict.graph import build_graph
from redistrict.io import from_geodataframe
from redistrict.options import MANY_UNITS
from redistrict.problem import Problem
from redistrict.solve import solve

XSS = "<img src=x onerror=alert(1)>"
TEMPLATE_XSS = "`${alert(2)}`</script><script>alert(3)</script>"


def office_sites(layer) -> gpd.GeoDataFrame:
    """Sites at the centres of blocks: the four corners (≥ 300 m²), one spare, one too small."""
    spec = [("r0c0", "S1", 320), ("r0c3", "S2", 400), ("r3c0", "S3", 350), ("r3c3", "S4", 310), ("r2c2", "S5", 500), ("r1c1", "S6", 150)]
    pts = [layer.blocks.geometry.loc[b].centroid for b, _, _ in spec]
    sites = gpd.GeoDataFrame(
        {"site_id": [s for _, s, _ in spec], "name": [f"办公用房{s}" for _, s, _ in spec], "floor_area_m2": [a for *_, a in spec]},
        geometry=pts,
        crs=layer.blocks.crs,
    )
    sites.loc[sites["site_id"] == "S5", "name"] = TEMPLATE_XSS
    return sites.to_crs("EPSG:4326")


def grid_plan(rows: int = 4, cols: int = 4, *, offices: bool = True, lower: int = 400, upper: int = 400, households=None, relax: bool = False, community=None):
    """A solved plan of a small grid with Chinese names, two hostile block names and office sites."""
    gdf = make_grid(rows, cols, households=households, community=community or (["甲社区"] * (rows * cols // 2) + ["乙社区"] * (rows * cols - rows * cols // 2)))
    gdf.loc[1, "name"] = XSS
    gdf.loc[2, "name"] = TEMPLATE_XSS
    layer = from_geodataframe(gdf)
    graph = build_graph(layer.blocks)
    sites = office_sites(layer) if offices else None
    problem = Problem.from_layer(layer, graph, lower=lower, upper=upper, offices=sites)
    plan = solve(problem, relax=relax)
    assert plan.ok, plan.message
    return plan, layer, graph, sites


def many_unit_plan(rows: int = 20, cols: int = 20):
    """A city-like plan drawn by hand: a rows×cols grid cut into units of two side-by-side blocks
    (200 units for 20×20, above MANY_UNITS), bounds 190–210; unit U1 (260 households) is above
    them and U3 (140) below, every other unit holds 200.  Returns (plan, layer)."""
    from redistrict.export import plan_from_assignment

    households = [100] * (rows * cols)
    households[0], households[5] = 160, 40  # r0c0 in U1, r0c5 in U3
    gdf = make_grid(rows, cols, households=households, community=["甲社区"] * (rows * cols // 2) + ["乙社区"] * (rows * cols - rows * cols // 2))
    gdf.loc[1, "name"] = XSS
    layer = from_geodataframe(gdf)
    pairs = pd.DataFrame({"block_id": gdf["block_id"], "unit_id": [f"U{r * (cols // 2) + c // 2 + 1}" for r in range(rows) for c in range(cols)]})
    plan = plan_from_assignment(layer.blocks, build_graph(layer.blocks), pairs, lower=190, upper=210)
    assert plan.k == rows * cols // 2 > MANY_UNITS
    return plan, layer


@pytest.fixture(scope="module")
def solved():
    return grid_plan()


@pytest.fixture(scope="module")
def many():
    return many_unit_plan()


def test_map_is_one_self_contained_file(solved, tmp_path):
    plan, layer, _, sites = solved
    path = maps.write_map(plan, layer.blocks, tmp_path / "map.html", offices=sites)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]*\bsrc=", text), "no script may be loaded from anywhere"
    assert not re.search(r"<link[^>]*\bhref=", text), "no stylesheet may be loaded from anywhere"
    assert "Leaflet 1.9.4" in text and "L.map(" in text
    for cdn in ("jquery", "bootstrap", "awesome-markers", "cdn.jsdelivr", "cdnjs", "unpkg"):
        assert cdn not in text.lower()
    assert "images/layers.png" not in text  # the layer-control icon is inlined too
    assert "tile.openstreetmap" not in text  # basemap "none" loads no tiles


def test_map_draws_units_blocks_labels_offices_and_current_boundaries(solved):
    plan, layer, _, sites = solved
    m = maps.plan_map(plan, layer.blocks, offices=sites)
    assert isinstance(m, folium.Map)
    counts = maps.map_summary(m)
    assert counts["rd-units"] == 4
    assert counts["rd-labels"] == 4
    assert counts["rd-blocks"] == 16
    assert counts["rd-offices"] == 6
    assert counts["rd-current"] == 2  # 甲社区 and 乙社区, dashed
    current = next(layer_ for layer_ in _layers(m) if layer_.pane == "rd-current")
    assert json.loads(current.style_json)["dashArray"] == "9 6"  # one style for the layer, none per feature
    assert all(f["properties"] == {} for f in current.data["features"])
    text = maps.render_html(m)
    assert "新社区单元" in text and "现状社区边界" in text and "办公用房" in text
    in_use = set(plan.units["office_site"])
    assert len(in_use) == 4 and in_use <= {"S1", "S2", "S3", "S4", "S5"}
    assert text.count('"radius":8') == 4  # sites in use are highlighted
    assert text.count('"radius":5') == 2
    assert "rd-current" not in maps.map_summary(maps.plan_map(plan, layer.blocks, current=False))


def test_tooltips_and_popups_carry_the_figures(solved):
    plan, layer, _, sites = solved
    m = maps.plan_map(plan, layer.blocks, offices=sites, lang="en")
    data = _layer_data(m, "rd-blocks")
    tip = data["features"][0]["properties"]["_tip"]
    popup = data["features"][0]["properties"]["_popup"]
    assert "Households" in tip and "Population" in tip and "Current community" in tip and "New unit" in tip
    assert "Mean distance to office" in popup and "within bounds" in popup
    unit_tip = _layer_data(m, "rd-units")["features"][0]["properties"]["_tip"]
    for label in ("Households", "Population", "Area", "Office", "Max distance to office", "within bounds"):
        assert label in unit_tip
    label = _layer_data(m, "rd-labels")["features"][0]["properties"]["_label"]
    assert "400 hh" in label


def _layer_data(m, pane: str) -> dict:
    for child in m._children.values():
        for layer in getattr(child, "_children", {}).values():
            if isinstance(layer, maps._Layer) and layer.pane == pane:
                return layer.data
    raise AssertionError(pane)


def test_data_text_is_escaped_never_markup(solved):
    plan, layer, _, sites = solved
    text = maps.render_html(maps.plan_map(plan, layer.blocks, offices=sites))
    assert XSS not in text
    assert "<img" not in text
    assert "alert(3)</script>" not in text
    assert "${alert(2)}" not in text and "`$" not in text
    tips = json.dumps(_layer_data(maps.plan_map(plan, layer.blocks, offices=sites), "rd-blocks"), ensure_ascii=False)
    assert "&lt;img src=x onerror=alert(1)&gt;" in tips
    assert "&#96;&#36;{alert(2)}&#96;&lt;/script&gt;" in tips


def test_esc_covers_html_and_template_strings():
    assert maps.esc("<b>&'\"`${x}\\") == "&lt;b&gt;&amp;&#x27;&quot;&#96;&#36;{x}&#92;"
    assert maps.esc(None) == "—" and maps.esc(float("nan")) == "—"
    assert maps.js_literal("</script>\u2028") == '"\\u003c/script\\u003e\\u2028"'


def test_languages(solved):
    plan, layer, _, _ = solved
    zh = maps.render_html(maps.plan_map(plan, layer.blocks, lang="zh"))
    en = maps.render_html(maps.plan_map(plan, layer.blocks, lang="en"))
    assert "小区" in zh and "New units" not in zh
    assert "New units" in en and "Blocks" in en and "新社区单元" not in en
    with pytest.raises(InputError, match="language"):
        maps.plan_map(plan, layer.blocks, lang="fr")


def test_amap_basemap_draws_in_gcj02(solved):
    plan, layer, _, _ = solved
    plain = _layer_data(maps.plan_map(plan, layer.blocks), "rd-blocks")
    amap_map = maps.plan_map(plan, layer.blocks, basemap="amap")
    amap = _layer_data(amap_map, "rd-blocks")
    a = np.array(plain["features"][0]["geometry"]["coordinates"][0][0])
    b = np.array(amap["features"][0]["geometry"]["coordinates"][0][0])
    expected = np.array(wgs84_to_gcj02(a[0], a[1]))
    assert np.abs(b - expected).max() < 2e-6  # shifted by the GCJ-02 offset (≈ 0.005° here)
    assert np.abs(b - a).max() > 1e-3
    text = maps.render_html(amap_map)
    assert "autonavi.com" in text


def test_other_basemaps(solved, monkeypatch):
    plan, layer, _, _ = solved
    assert "tile.openstreetmap.org" in maps.render_html(maps.plan_map(plan, layer.blocks, basemap="osm"))
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(InputError, match="key"):
        maps.plan_map(plan, layer.blocks, basemap="tianditu")
    text = maps.render_html(maps.plan_map(plan, layer.blocks, basemap="tianditu", tianditu_key="abc", lang="en"))
    assert "tianditu.gov.cn/vec_w" in text and "tk=abc" in text and "eva_w" in text
    osm = _layer_data(maps.plan_map(plan, layer.blocks, basemap="osm"), "rd-blocks")
    plain = _layer_data(maps.plan_map(plan, layer.blocks), "rd-blocks")
    assert osm == plain  # WGS84 tiles: geometry unchanged
    with pytest.raises(InputError, match="basemap"):
        maps.plan_map(plan, layer.blocks, basemap="google")


def test_barriers_are_drawn(solved):
    plan, layer, _, _ = solved
    river = gpd.GeoDataFrame({"name": ["横江"]}, geometry=[layer.blocks.union_all().centroid.buffer(600).exterior], crs=layer.blocks.crs)
    m = maps.plan_map(plan, layer.blocks, barriers=river)
    assert maps.map_summary(m)["rd-barriers"] == 1
    assert "横江" in json.dumps(_layer_data(m, "rd-barriers"), ensure_ascii=False)


def test_legend_shows_bound_status():
    plan, layer, _, _ = grid_plan(3, 3, offices=False, households=[1027] * 8 + [1026], lower=2500, upper=3000, relax=True)
    text = maps.render_html(maps.plan_map(plan, layer.blocks, lang="en"))
    assert plan.status == "relaxed"
    assert "outside bounds" in text and maps.BAD_COLOUR in text and maps.OK_COLOUR in text
    assert "rd-label-inner rd-bad" in text


def test_compare_map_side_by_side(solved, tmp_path):
    plan, layer, _, sites = solved
    other, *_ = grid_plan(offices=False, lower=300, upper=600)
    dual = maps.compare_map(plan, other, layer.blocks, offices=sites, titles=("现方案", XSS))
    assert isinstance(dual, DualMap)
    path = maps.write_compare_map(plan, other, layer.blocks, tmp_path / "compare.html", blocks_b=layer.blocks.to_crs(4326))
    text = maps.render_html(dual)
    assert text.count("L.map(") == 2
    assert "follow(a, b)" in text
    assert not re.search(r"<script[^>]*\bsrc=", text) and XSS not in text
    counts = maps.map_summary(dual)
    assert counts["left"]["rd-units"] == 4 and counts["right"]["rd-units"] == other.k
    assert path.exists() and "Leaflet 1.9.4" in path.read_text(encoding="utf-8")


def test_unit_colours_distinct_and_neighbours_differ():
    squares = [box(x * 100, y * 100, x * 100 + 95, y * 100 + 95) for y in range(4) for x in range(5)]
    units = gpd.GeoDataFrame({"unit_id": [f"U{i}" for i in range(20)]}, geometry=squares, crs="EPSG:32650")
    few = maps.unit_colours(units.iloc[:6])
    assert len(set(few.values())) == 6
    many = maps.unit_colours(units)
    for i, a in enumerate(squares):
        for j, b in enumerate(squares):
            if i < j and a.distance(b) < 10:
                assert many[f"U{i}"] != many[f"U{j}"]


def test_map_of_a_plan_without_a_unit_table_is_an_error(solved):
    plan, layer, _, _ = solved
    from redistrict.plan import Plan

    with pytest.raises(InputError, match="no units"):
        maps.plan_map(Plan("infeasible", {}), layer.blocks)


def test_a_large_layer_gets_a_lighter_block_layer(solved, monkeypatch):
    plan, layer, _, sites = solved
    full = maps.render_html(maps.plan_map(plan, layer.blocks, offices=sites))
    monkeypatch.setattr(maps, "LARGE_LAYER", 3)  # as if this 16-block layer were a city
    m = maps.plan_map(plan, layer.blocks, offices=sites)
    light = maps.render_html(m)
    blocks = next(layer_ for layer_ in _layers(m) if layer_.pane == "rd-blocks")
    props = [f["properties"] for f in blocks.data["features"]]
    assert len(props) == 16 and all(set(p) <= {"i", "n", "h", "p", "c", "u"} and "_tip" not in p for p in props)
    units = json.loads(blocks.tip_json)["units"]  # the tooltip is built in the page from the figures
    assert [units[p["u"]][0] for p in props] == [str(u) for u in plan.assignment.reindex([p["i"] for p in props])]
    assert json.loads(blocks.style_json) == maps.LARGE_BLOCK_STYLE
    assert len(light) < len(full)
    assert '"preferCanvas": true' in light and '"preferCanvas": false' in full  # drawn on a canvas
    assert XSS not in light  # still escaped


def test_a_large_layer_builds_unit_tooltips_in_the_page_with_the_same_table(solved, monkeypatch):
    plan, layer, _, sites = solved
    small = next(layer_ for layer_ in _layers(maps.plan_map(plan, layer.blocks, offices=sites)) if layer_.pane == "rd-units")
    monkeypatch.setattr(maps, "LARGE_LAYER", 3)  # as if this 16-block layer were a city
    large = next(layer_ for layer_ in _layers(maps.plan_map(plan, layer.blocks, offices=sites)) if layer_.pane == "rd-units")
    labels = json.loads(large.labels_json)
    assert small.labels_json == "" and "rd_labels" not in large.data and len(labels) == len(set(labels))
    for before, after in zip(small.data["features"], large.data["features"], strict=True):
        tip, props = before["properties"]["_tip"], after["properties"]
        assert "_tip" not in props
        assert maps._table([(labels[i], value) for i, value in props["_tr"]], props["_tt"]) == tip  # what the page builds
    assert len(large.data_json) + len(large.labels_json) < len(small.data_json)


def _layers(m):
    for child in m._children.values():
        for sub in getattr(child, "_children", {}).values():
            if isinstance(sub, maps._Layer):
                yield sub


def bad_grid(tmp_path):
    """A 4×4 grid and a hand-drawn plan that breaks four rules at once: unit A has a block cut
    off from it (r3c3), unit B is over the bound, block r0c3 is in no unit, and with the office
    sites given unit C has none inside it."""
    layer = from_geodataframe(make_grid(4, 4, community=["甲社区"] * 8 + ["乙社区"] * 8))
    graph = build_graph(layer.blocks)
    unit = {b: "A" for b in ("r0c0", "r0c1", "r1c0", "r1c1")}
    unit |= {b: "B" for b in ("r0c2", "r1c2", "r1c3", "r2c2", "r2c3", "r3c2")}
    unit |= {b: "C" for b in ("r2c0", "r2c1", "r3c0", "r3c1")}
    unit |= {"r3c3": "A", "r0c3": ""}
    rows = "".join(f"{b},{u}\n" for b, u in unit.items())
    path = tmp_path / "bad.csv"
    path.write_text("block_id,unit_id\n" + rows, encoding="utf-8")
    sites = office_sites(layer)
    sites = sites[sites["site_id"].isin(["S1", "S2"])]  # in A (r0c0) and B (r0c3 → in no unit: B has none either)
    return layer, graph, path, sites


def test_a_plan_the_verifier_rejects_is_drawn_with_every_violation(tmp_path):
    layer, graph, path, sites = bad_grid(tmp_path)
    plan = maps.assignment_plan(layer.blocks, graph, path, lower=300, upper=500, offices=sites)
    assert plan.status == "invalid" and not plan.verification.ok
    kinds = {v.kind for v in plan.verification.violations}
    assert {"not_contiguous", "out_of_bounds", "unassigned"} <= kinds
    data = maps.MapData(plan, layer.blocks, sites, None, "zh")
    drawn = dict(data.problems.groupby("kind").size())
    assert drawn["detached"] == 1 and drawn["unassigned"] == 1 and drawn["bounds"] == 1  # r3c3; r0c3; B (600)
    assert drawn["no_office"] == 2  # B and C hold no office site
    assert data.problems.loc[data.problems["kind"] == "detached"].geometry.iloc[0].equals(data.blocks.set_index("block_id").geometry.loc["r3c3"])
    m = maps.plan_map(plan, layer.blocks, offices=sites)
    assert maps.map_summary(m)["rd-problems"] == 5
    html = maps.render_html(m)
    assert "方案未通过校验" in html and "未划入任何单元的小区 (1)" in html and "与本单元主体不相连的小区 (1)" in html
    assert "没有办公用房的单元 (2)" in html and "户数超出范围的单元 (1)" in html
    english = maps.render_html(maps.plan_map(plan, layer.blocks, offices=sites, lang="en"))
    assert "the plan fails verification" in english and "Blocks in no unit (1)" in english


def test_a_valid_plan_draws_no_problems_and_its_status_in_words(solved):
    plan, layer, _, sites = solved
    zh = maps.render_html(maps.plan_map(plan, layer.blocks, offices=sites))
    en = maps.render_html(maps.plan_map(plan, layer.blocks, offices=sites, lang="en"))
    assert "rd-problems" not in maps.map_summary(maps.plan_map(plan, layer.blocks, offices=sites))
    assert "最优解" in zh and "方案未通过校验" not in zh and "optimal" in en
    assert "imperial: false" in zh and "imperial: true" not in zh  # the scale bar is metric only


def test_map_command_draws_an_invalid_plan_and_exits_5(tmp_path, capsys):
    from redistrict.cli import main

    layer, _, path, _ = bad_grid(tmp_path)
    blocks = tmp_path / "blocks.geojson"
    layer.blocks.reset_index().to_crs("EPSG:4326").to_file(blocks, driver="GeoJSON")
    target = tmp_path / "bad_map.html"
    with pytest.raises(SystemExit) as exit_info:
        main(["map", str(blocks), str(path), "--dest", str(target), "--min", "300", "--max", "500", "--lang", "en"])
    out = capsys.readouterr()
    assert exit_info.value.code == 5
    text = " ".join((out.out + out.err).split())
    assert "as a diagnostic" in text and "fails verification" in text
    assert "Unit A is in 2 pieces" in text and "in no unit" in text and "600 households" in text
    page = target.read_text(encoding="utf-8")
    assert "the plan fails verification" in page and "Blocks cut off from the rest of their unit (1)" in page


# --- many units: a summary legend, labels off --------------------------------------------------------


def _label_group(m) -> folium.FeatureGroup:
    return next(child for child in m._children.values() if isinstance(child, folium.FeatureGroup) and any(getattr(sub, "pane", None) == "rd-labels" for sub in child._children.values()))


def _legend(m) -> str:
    return next(child.content for child in m._children.values() if isinstance(child, maps._Control) and "rd-legend" in child.css_class)


def test_many_units_get_a_summary_legend_and_labels_off_by_default(many):
    plan, layer = many
    m = maps.plan_map(plan, layer.blocks, lang="en")
    legend = _legend(m)
    assert legend.count("<tr>") == 3  # within, below, above: no row per unit
    assert "U17<" not in legend and ">U1<" not in legend
    counts = re.findall(r'class="num">([\d,]+)<', legend)
    assert counts == ["198", "1", "1"]
    assert "200 units in" in legend and "layer control" in legend
    labels = _label_group(m)
    assert labels.show is False  # hidden, but in the layer control
    html = maps.render_html(m)
    assert f'"Unit labels" : {labels.get_name()},' in html  # listed in the layer control
    assert f"{labels.get_name()}.addTo(" not in html
    assert maps.map_summary(m)["rd-labels"] == 200  # still every label, one click away


def test_few_units_keep_a_legend_row_and_a_visible_label_each(solved):
    plan, layer, _, sites = solved
    m = maps.plan_map(plan, layer.blocks, offices=sites)
    legend = _legend(m)
    assert legend.count("<tr>") == plan.k == 4
    for unit in plan.units["unit_id"]:
        assert f"<td>{unit}</td>" in legend
    labels = _label_group(m)
    assert labels.show is True and f"{labels.get_name()}.addTo(" in maps.render_html(m)


def test_label_points_lie_in_their_units_in_one_pass(many):
    plan, layer = many
    data = maps.MapData(plan, layer.blocks, None, None, "zh")
    points = data.label_points()
    assert list(points.index) == list(data.units["unit_id"])
    shapes = data.units.set_index("unit_id").geometry.buffer(20)  # the blocks with their road gaps
    assert all(shapes.loc[u].contains(p) for u, p in points.items())
    assert list(data.label_points(["U3", "U1"]).index) == ["U1", "U3"]  # in the units' order


@pytest.mark.parametrize("lower, upper", [(2500, 3000), (None, 3000), (2500, None), (None, None)])
def test_bound_sides_agree_with_a_direct_comparison(lower, upper):
    households = [0, 2499, 2500, 2750, 3000, 3001, 9999]
    expected = ["below" if lower is not None and h < lower else "above" if upper is not None and h > upper else "within" for h in households]
    assert maps.bound_sides(households, lower, upper).tolist() == expected
    assert set(maps.bound_sides(households, lower, upper)) <= set(maps.SIDES)
