"""compare(): each figure recomputed independently from the plans; chart and side-by-side map."""

from __future__ import annotations

import math

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
        assert table.loc[name, "units"] is not None and math.isnan(float(table.loc[name, "mean_polsby_popper"]))
    assert table.loc["broken", "status"] == "error" and "does not exist" in table.loc["broken", "message"]
    assert "cannot" in table.loc["none fits", "message"] or "no" in table.loc["none fits", "message"]


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
