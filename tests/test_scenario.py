"""Scenario: options as values, TOML round trips, safe names, cached inputs, results that show themselves."""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from conftest import make_grid

from redistrict.errors import InputError
from redistrict.problem import Weights
from redistrict.scenario import Scenario, load_inputs, load_scenarios, save_scenarios
from redistrict.verify import verify_plan


def write_grid(folder: Path, name: str = "blocks.geojson", **kwargs) -> Path:
    """A 3×4 grid of 100-household blocks (two communities) written as GeoJSON."""
    community = kwargs.pop("community", ["东", "东", "西", "西"] * 3)
    gdf = make_grid(3, 4, community=community, **kwargs)
    path = folder / name
    gdf.to_file(path, driver="GeoJSON")
    return path


@pytest.fixture
def grid_file(tmp_path) -> Path:
    return write_grid(tmp_path)


def test_run_gives_a_verified_plan_and_a_summary(grid_file):
    result = Scenario("four", str(grid_file), lower=250, upper=350).run()
    plan = result.plan
    assert result.ok and plan.status == "optimal" and len(plan.units) == 4
    inputs = load_inputs(result.scenario)
    assert verify_plan(inputs.graph, plan.assignment, lower=250, upper=350, k=4).ok
    row = result.summary()
    assert row["scenario"] == "four" and row["units"] == 4
    assert row["households_min"] == row["households_max"] == 300 and row["spread"] == 0
    assert plan.provenance["scenario"]["min"] == 250 and len(plan.provenance["inputs"]["blocks"]["sha256"]) == 64


def test_infeasible_is_a_result_not_an_exception(grid_file, tmp_path):
    result = Scenario("too big", str(grid_file), lower=1300, upper=1400).run()
    assert result.status == "infeasible" and not result.ok
    assert "1,200" in result.plan.message
    out = result.write(tmp_path / "out")
    assert (out / "diagnosis.json").exists() and not (out / "assignment.csv").exists()
    with pytest.raises(InputError, match="no plan to draw"):
        result.map()


def test_repr_html_escapes_data_and_embeds_the_map(tmp_path):
    path = write_grid(tmp_path, community=["<script>alert(1)</script>"] * 12)
    result = Scenario("html", str(path), lower=550, upper=650).run()
    page = result._repr_html_()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "leaflet" in page.lower() and "最优解" in page  # the status in the scenario's language (zh)


def test_replace_changes_only_what_is_asked(grid_file):
    base = Scenario("a", str(grid_file), lower=250, upper=350, weights=Weights(stability=2.0))
    other = base.replace(name="b", upper=400)
    assert other.upper == 400 and other.lower == 250 and other.weights.stability == 2.0
    assert base.upper == 350


@pytest.mark.parametrize("name", ["../escape", "a/b", "a\\b", ".hidden", "..", "", "x" * 101, "tab\there"])
def test_names_that_could_escape_the_output_folder_are_refused(grid_file, name):
    with pytest.raises(InputError, match="name"):
        Scenario(name, str(grid_file))


def test_chinese_names_are_fine(grid_file):
    assert Scenario("阜新 单独（2,500–3,000）", str(grid_file)).name.startswith("阜新")


def test_bad_bounds_are_refused_at_once(grid_file):
    with pytest.raises(InputError, match="above the maximum"):
        Scenario("x", str(grid_file), lower=3000, upper=2500)


def test_toml_round_trip_keeps_every_option(tmp_path, grid_file):
    river = tmp_path / "river.geojson"
    river.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    scenarios = [
        Scenario("guidance", str(grid_file), subdistrict="S", barriers=(str(river),), weights=Weights(compactness=1, stability=1), time_limit=30),
        Scenario("wide", str(grid_file), subdistrict="S", barriers=(str(river),), lower=2000, upper=3500, weights=Weights(compactness=0.5, boundary=2, unit_edges=True), time_limit=30, relax=True),
        Scenario("阜新", str(grid_file), communities=("东",), barriers=(str(river),), k=2, solver="cbc", time_limit=None),
    ]
    path = save_scenarios(tmp_path / "sets" / "scenarios.toml", scenarios)
    text = path.read_text(encoding="utf-8")
    assert "[defaults]" in text and "../blocks.geojson" in text, "shared options go to [defaults], paths relative to the file"
    loaded = load_scenarios(path)
    assert [s.name for s in loaded] == ["guidance", "wide", "阜新"]
    for a, b in zip(scenarios, loaded, strict=True):
        assert a == b


def test_paths_are_relative_to_the_toml_file(tmp_path, grid_file):
    sub = tmp_path / "config"
    sub.mkdir()
    (sub / "s.toml").write_text('[defaults]\nblocks = "../blocks.geojson"\n\n[[scenario]]\nname = "a"\nmin = 250\nmax = 350\n', encoding="utf-8")
    old = os.getcwd()
    os.chdir(sub.parent.parent)  # anywhere else
    try:
        (s,) = load_scenarios(sub / "s.toml")
    finally:
        os.chdir(old)
    assert Path(s.blocks) == grid_file.resolve()
    assert s.lower == 250 and s.upper == 350


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[scenario]]\nname = "a"\nblocks = "b.geojson"\nw_compactnes = 2\n', "Did you mean w_compactness"),
        ('[[scenario]]\nname = "a"\nblocks = "b.geojson"\nmin = "2500"\n', "'min' must be a whole number"),
        ('[[scenario]]\nname = "a"\nblocks = "b.geojson"\nrelax = "yes"\n', "'relax' must be true or false"),
        ('[[scenario]]\nname = "a"\nblocks = "b.geojson"\nsmooth = 0\n', "'smooth' must be true or false"),
        ('[[scenario]]\nblocks = "b.geojson"\n', "needs a name"),
        ('[[scenario]]\nname = "a"\n', "no block layer"),
        ('[[scenario]]\nname = "A"\nblocks = "b.geojson"\n[[scenario]]\nname = "a"\nblocks = "b.geojson"\n', "must be unique"),
        ('[[scenario]]\nname = "../../etc"\nblocks = "b.geojson"\n', "cannot be used as a folder name"),
        ('[defaults]\nblocks = "b.geojson"\n', "no \\[\\[scenario\\]\\]"),
        ('[scenarios]\nname = "a"\n', "unknown top-level"),
        ('[[scenario]\nname = "a"\n', "not valid TOML"),
        ('[[scenario]]\nname = "a"\nblocks = "b.geojson"\nw_stability = -1\n', "stability"),
    ],
)
def test_bad_scenario_files_say_what_is_wrong(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        load_scenarios(path)
    assert "bad.toml" in str(info.value)


def test_missing_scenario_file(tmp_path):
    with pytest.raises(InputError, match="no such scenario file"):
        load_scenarios(tmp_path / "nope.toml")


def test_inputs_are_shared_between_scenarios_until_the_file_changes(tmp_path):
    path = write_grid(tmp_path)
    a = Scenario("a", str(path), lower=250, upper=350)
    b = a.replace(name="b", lower=500, upper=700)
    first = load_inputs(a)
    second = load_inputs(b)
    assert nx.utils.graphs_equal(second.graph, first.graph), "same layer and graph options: the same graph"
    # each scenario gets its own copy: changing one cannot change what another reads
    second.graph.nodes[next(iter(second.graph))]["households"] = -1
    second.layer.blocks.loc[second.layer.blocks.index[0], "households"] = -1
    third = load_inputs(a)
    assert min(h for _, h in third.graph.nodes(data="households")) == 100
    assert third.layer.blocks["households"].min() == 100
    gdf = make_grid(3, 4, households=[200] * 12)
    gdf.to_file(path, driver="GeoJSON")
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse file systems
    again = load_inputs(a)
    assert pd.Series(dict(again.graph.nodes(data="households"))).eq(200).all()


def test_the_bundled_scenario_file_loads_with_paths_next_to_it():
    data = Path(__file__).resolve().parents[1] / "data"
    scenarios = load_scenarios(data / "tunxi_scenarios.toml")
    assert [s.name for s in scenarios] == ["guidance 2500-3000", "wide 2000-3500", "wide, compact only", "阜新 alone", "阜新 alone, relaxed"]
    for s in scenarios:
        assert Path(s.blocks) == data / "tunxi_blocks.geojson" and Path(s.offices).exists() and Path(s.overrides).exists()
    alone = scenarios[3]
    assert alone.subdistrict is None and alone.communities == ("阜新",)
    assert scenarios[2].weights.stability == 0.0 and scenarios[0].weights.stability == 1.0 and scenarios[4].relax


def test_progress_reports_reach_the_caller_and_read_well(grid_file):
    from redistrict.scenario import progress_text

    reports = []
    result = Scenario("p", str(grid_file), lower=250, upper=350).run(progress=reports.append)
    assert reports, "at least one report per cut round"
    last = reports[-1]
    assert {"phase", "round", "elapsed", "incumbent", "bound"} <= set(last)
    assert last["incumbent"] == pytest.approx(result.plan.objective["model_objective"])
    line = progress_text({"phase": "objective", "round": 3, "incumbent": 200.0, "bound": 150.0})
    assert line == "objective round 3 · incumbent 200.00 · bound 150.00 · gap 25.0%"
    assert progress_text({"phase": "objective", "round": 1, "incumbent": None, "bound": None}) == "objective round 1"


def test_method_and_workers_go_through_toml_and_are_checked(tmp_path):
    import pytest

    from redistrict.errors import InputError
    from redistrict.scenario import Scenario, load_scenarios, save_scenarios

    s = Scenario("heuristic", "blocks.geojson", method="heuristic", workers=1)
    path = save_scenarios(tmp_path / "s.toml", [s])
    (back,) = load_scenarios(path)
    assert back.method == "heuristic" and back.workers == 1
    with pytest.raises(InputError, match="method must be one of auto, exact, heuristic"):
        Scenario("bad", "blocks.geojson", method="fast")
    with pytest.raises(InputError, match="workers must be a whole number ≥ 1"):
        Scenario("bad", "blocks.geojson", workers=0)


def test_a_block_locked_to_two_labels_is_an_error_naming_it(tmp_path):
    from redistrict.scenario import read_locks

    locks = tmp_path / "locks.csv"
    locks.write_text("block_id,unit\nr0c0,A\nr0c1,A\nr0c0,B\n", encoding="utf-8")
    with pytest.raises(InputError, match="locked to more than one label") as caught:
        read_locks(locks)
    assert caught.value.ids == ["r0c0"] and "line 4" in str(caught.value)
