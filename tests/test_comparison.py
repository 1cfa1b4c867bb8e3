"""compare(): each figure recomputed independently from the plans; chart and side-by-side map."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import make_grid

from redistrict.comparison import (
    COLUMNS,
    compare,
    households_per_unit,
    plot_households,
    side_by_side,
)
from redistrict.errors import InputError
from redistrict.maps import ComparisonMap
from redistrict.scenario import Scenario, ScenarioResult, load_inputs


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    households = [100, 200, 300, 400, 100, 200, 300, 400, 100, 200, 300, 400]
    path = folder / "blocks.geojson"
    make_grid(3, 4, households=households, community=["东", "东", "西", "西"] * 3).to_file(path, driver="GeoJSON")
    base = Scenario("three", str(path), lower=900, upper=1100)
    return [base.run(), base.replace(name="two", lower=1400, upper=1700).run(), base.replace(name="none fits", lower=5000, upper=6000).run()]


def test_one_row_per_scenario_with_the_documented_columns(results):
    table = compare(results)
    assert list(table.index) == ["three", "two", "none fits"]
    assert list(table.columns) == [c for c in COLUMNS if c != "scenario"]
    assert list(table["status"]) == ["optimal", "optimal", "infeasible"]


def test_figures_match_an_independent_count(results):
    table = compare(results)
    for result in results[:2]:
        row = table.loc[result.name]
        graph = load_inputs(result.scenario).graph
        unit = result.plan.assignment.to_dict()
        sizes = {}
        for block, u in unit.items():
            sizes[u] = sizes.get(u, 0) + graph.nodes[block]["households"]
        assert row["units"] == len(sizes)
        assert row["households_min"] == min(sizes.values()) and row["households_max"] == max(sizes.values())
        assert row["spread"] == max(sizes.values()) - min(sizes.values())
        assert sum(sizes.values()) == 3000
        cut_km = sum(d["length"] for a, b, d in graph.edges(data=True) if unit[a] != unit[b]) / 1000
        assert row["boundary_km"] == pytest.approx(cut_km, abs=1e-3)
        assert row["funding_yuan"] == sum(30_000 if h >= 2500 else 20_000 for h in sizes.values())
        assert row["out_of_bounds"] == 0 and row["max_violation"] == 0
        assert 0 < row["mean_polsby_popper"] <= 1
        assert row["max_distance_m"] >= row["mean_distance_m"] > 0
        assert row["gap"] == pytest.approx(0.0, abs=1e-4)


def test_infeasible_and_failed_rows_have_no_plan_figures(results):
    failed = ScenarioResult(results[0].scenario.replace(name="broken"), None, error="the block layer x does not exist", exit_code=2)
    table = compare([*results, failed])
    for name in ("none fits", "broken"):
        assert table.loc[name, "units"] is pd.NA and math.isnan(float(table.loc[name, "mean_polsby_popper"]))
    assert table.loc["broken", "status"] == "error" and "does not exist" in table.loc["broken", "message"]
    assert re.search(r"\bcannot\b|\bno (plan|k|number)\b", table.loc["none fits", "message"]), table.loc["none fits", "message"]


def test_households_per_unit_and_chart(results):
    frame = households_per_unit(results)
    assert frame.groupby("scenario", sort=False)["households"].count().to_dict() == {"three": 3, "two": 2, "none fits": 0}
    ax = plot_households(results)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["three", "two", "none fits"]
    dots = sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets") and c.get_offsets().ndim == 2 and c.get_offsets().shape[1] == 2 and type(c).__name__ == "PathCollection")
    assert dots == 5
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_side_by_side_map(results):
    dual = side_by_side(results[0], results[1])
    assert isinstance(dual, ComparisonMap)
    page = dual.get_root().render()
    assert "three" in page and "two" in page
    with pytest.raises(InputError, match="none fits"):
        side_by_side(results[0], results[2])


def two_plans():
    """Plan A: four column units of a 4×4 grid; plan B: the same units renamed (A's U1 is B's
    X3 …) with block r0c1 moved from the first column's unit to the second's."""
    from redistrict.graph import build_graph
    from redistrict.io import from_geodataframe
    from redistrict.maps import assignment_plan

    gdf = make_grid(4, 4, households=[100 + 10 * i for i in range(16)], community=["东", "东", "西", "西"] * 4)
    layer = from_geodataframe(gdf)
    graph = build_graph(layer.blocks)
    a = {f"r{r}c{c}": f"U{c + 1}" for r in range(4) for c in range(4)}
    rename = {"U1": "X3", "U2": "X1", "U3": "X4", "U4": "X2"}
    b = {block: rename[u] for block, u in a.items()}
    b["r0c0"] = "X1"  # r0c0 leaves A's U1 (B's X3) for U2's partner X1
    plans = []
    for table in (a, b):
        frame = pd.DataFrame({"block_id": list(table), "unit_id": list(table.values())})
        plan = assignment_plan(layer.blocks, graph, frame, lower=100, upper=1000)
        plans.append(SimpleNamespace(plan=plan, blocks=layer.blocks, offices=None, barriers=None, path=None))
    return plans, layer, rename


def test_units_are_paired_by_shared_households_and_moved_blocks_counted():
    from redistrict.comparison import compare_plans

    (a, b), layer, rename = two_plans()
    result = compare_plans(a.plan, b.plan, layer.blocks["households"])
    assert result.pairs == {v: k for k, v in rename.items()}
    assert result.moved_blocks == ("r0c0",) and result.moved_households == int(layer.blocks.loc["r0c0", "households"])
    column = lambda c: sum(100 + 10 * (r * 4 + c) for r in range(4))  # noqa: E731
    assert result.shared["X3"] == column(0) - 100 and result.shared["X1"] == column(1)


def test_compare_page_matches_colours_counts_moved_blocks_and_tabulates_figures():
    from redistrict.comparison import compare_page
    from redistrict.maps import map_summary, render_html

    (a, b), layer, rename = two_plans()
    page = compare_page(a, b, names=("方案甲", "方案乙"), lang="zh")
    colour = {}
    for side, m in (("a", page.m1), ("b", page.m2)):
        layer_ = next(x for x in _layers(m) if x.pane == "rd-units")
        colour[side] = {f["properties"]["_tip"].split("(")[-1].split(")")[0]: f["properties"]["_style"]["fillColor"] for f in layer_.data["features"]}
    assert all(colour["b"][ub] == colour["a"][ua] for ua, ub in rename.items())
    assert len(set(colour["a"].values())) == 4
    counts = map_summary(page)
    assert counts["left"]["rd-moved"] == 1 and counts["right"]["rd-moved"] == 1
    html = render_html(page)
    assert "1 个小区，" in html and "两方案之间换了单元" in html and "方案甲" in html and "方案乙" in html
    for word in ("单元数", "户数（最小–最大）", "超出户数范围的单元", "平均紧凑度", "迁入其他社区的户数", "年度经费", "求解状态", "与下界差距"):
        assert word in html, word
    bounds = [_fit_bounds(m) for m in (page.m1, page.m2)]
    assert bounds[0] == bounds[1], "both maps fitted to the same extent"


def test_compare_page_draws_each_plan_with_its_own_offices():
    import geopandas as gpd

    from redistrict.comparison import compare_page
    from redistrict.maps import map_summary

    (a, b), layer, _ = two_plans()
    centre = lambda block: layer.blocks.geometry.loc[block].centroid  # noqa: E731
    a.offices = gpd.GeoDataFrame({"site_id": ["S1"], "name": ["甲"], "floor_area_m2": [400]}, geometry=[centre("r1c1")], crs=layer.blocks.crs)
    b.offices = gpd.GeoDataFrame({"site_id": ["T1", "T2"], "name": ["乙", "丙"], "floor_area_m2": [400, 500]}, geometry=[centre("r2c2"), centre("r3c3")], crs=layer.blocks.crs)
    counts = map_summary(compare_page(a, b, lang="en"))
    assert counts["left"]["rd-offices"] == 1 and counts["right"]["rd-offices"] == 2


def test_plan_names_come_from_the_scenario_or_the_folder(tmp_path):
    from redistrict.comparison import plan_name

    (a, _), *_ = two_plans()
    assert plan_name(a, "A") == "A"
    a.path = tmp_path / "guidance"
    assert plan_name(a, "A") == "guidance"
    a.plan.problem["name"] = "wide bounds"
    assert plan_name(a, "A") == "wide bounds"


def _layers(m):
    from redistrict.maps import _Layer

    for child in m._children.values():
        for sub in getattr(child, "_children", {}).values():
            if isinstance(sub, _Layer):
                yield sub


def _fit_bounds(m):
    from folium.map import FitBounds

    return next(c.bounds for c in m._children.values() if isinstance(c, FitBounds))


def test_notebook_view_speaks_the_scenarios_language(results):
    zh = results[0]._repr_html_()
    assert "最优解" in zh and "单元编号" in zh and "至办公用房平均距离（m）" in zh and "在范围内" in zh
    assert "households_min" not in zh and "unit_id" not in zh
    english = results[0].scenario.replace(lang="en")
    en = ScenarioResult(english, results[0].plan, results[0].blocks)._repr_html_()
    assert "optimal" in en and "smallest unit" in en and "within bounds" in en and "最优解" not in en
