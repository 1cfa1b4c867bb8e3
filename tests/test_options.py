"""One table of defaults and one set of value checks, shared by the CLI, Scenario/TOML and the API."""

from __future__ import annotations

import inspect
import json
from dataclasses import fields

import pytest
import typer
from conftest import make_grid

from redistrict import options as opts
from redistrict.cli import app, main
from redistrict.errors import InputError
from redistrict.problem import Weights
from redistrict.scenario import Scenario, load_scenarios
from redistrict.solve import SolveOptions, solve

#: CLI parameter → Scenario field, where the names differ
RENAMED = {"min_households": "lower", "max_households": "upper", "households": "households_col", "population": "population_col"}
WEIGHTS = {"w_compactness": "compactness", "w_boundary": "boundary", "w_stability": "stability", "w_distance": "distance", "cut_edges": "unit_edges"}


def cli_defaults(command: str) -> dict:
    group = typer.main.get_command(app)
    cmd = group.commands[command]
    return {p.name: p.default for p in cmd.params if p.param_type_name == "option"}


@pytest.mark.parametrize("command", ["split", "plan"])
def test_cli_defaults_are_the_scenario_s_and_the_weights(command):
    scenario = {f.name: f.default for f in fields(Scenario)}
    weights = Weights()
    compared = 0
    for name, default in cli_defaults(command).items():
        field = RENAMED.get(name, name)
        if name == "w_stability":
            assert default is None  # the rule of options.stability_weight, tested below
            continue
        if name in WEIGHTS:
            assert default == getattr(weights, WEIGHTS[name]), name
        elif field in scenario and default is not None and not isinstance(scenario[field], tuple):
            assert default == scenario[field], f"--{name}: CLI {default!r}, Scenario {scenario[field]!r}"
        else:
            continue
        compared += 1
    assert compared >= 15  # bounds, office area, weights, solver, time, method, graph, coords, lang, basemap


def test_the_api_defaults_are_the_table_s():
    signature = inspect.signature(solve).parameters
    assert signature["solver"].default == opts.SOLVER and signature["method"].default == opts.METHOD
    assert SolveOptions().solver == opts.SOLVER
    assert Scenario("s", "b.geojson").weights == Weights()  # the whole layer, split afresh: stability 0


def test_the_stability_weight_follows_one_rule_through_every_door(tmp_path):
    """1 when communities are re-planned together (was: CLI plan 1.0, TOML 0.0), 0 for a fresh split."""
    from redistrict.cli import _scenario
    from redistrict.problem import Problem

    assert opts.stability_weight("昱东", ()) == opts.stability_weight(None, ("甲", "乙")) == 1.0
    assert opts.stability_weight(None, ()) == opts.stability_weight(None, ("甲",)) == 0.0
    plan_params = {"blocks": "b.geojson", "subdistrict": "昱东", "w_compactness": 1.0, "w_stability": None}
    assert _scenario("plan", plan_params).weights.stability == 1.0
    assert _scenario("split", {"blocks": "b.geojson", "w_compactness": 1.0, "w_stability": None}).weights.stability == 0.0
    assert _scenario("plan", plan_params | {"w_stability": 0.25}).weights.stability == 0.25
    assert Scenario("s", "b.geojson", subdistrict="昱东").weights.stability == 1.0
    toml = tmp_path / "s.toml"
    toml.write_text('[[scenario]]\nname = "x"\nblocks = "b.geojson"\nsubdistrict = "昱东"\nw_boundary = 1.0\n', encoding="utf-8")
    (loaded,) = load_scenarios(toml)
    assert loaded.weights.stability == 1.0 and loaded.weights.boundary == 1.0
    layer_blocks = make_grid(2, 2, community=["东", "东", "西", "西"]).to_crs("EPSG:32650").set_index("block_id")
    from redistrict.graph import build_graph
    from redistrict.io import from_geodataframe

    layer = from_geodataframe(layer_blocks.reset_index(), id_col="block_id")
    graph = build_graph(layer.blocks)
    assert Problem.from_layer(layer, graph, subdistrict="S", lower=100, upper=200).weights.stability == 1.0
    assert Problem.from_layer(layer, graph, lower=100, upper=200).weights.stability == 0.0


def test_the_same_options_give_the_same_plan_from_the_cli_a_toml_file_and_the_api(tmp_path, capsys):
    blocks = tmp_path / "blocks.geojson"
    make_grid(3, 4, community=["东", "东", "西", "西"] * 3).to_file(blocks, driver="GeoJSON")
    toml = tmp_path / "s.toml"
    toml.write_text(f'[[scenario]]\nname = "both"\nblocks = "{blocks.name}"\ncommunities = ["东", "西"]\nmin = 350\nmax = 450\n', encoding="utf-8")
    with pytest.raises(SystemExit) as done:
        main(["plan", str(blocks), "--communities", "东,西", "--min", "350", "--max", "450", "--out", str(tmp_path / "cli")])
    assert done.value.code == 0, capsys.readouterr().err
    cli = json.loads((tmp_path / "cli" / "report.json").read_text(encoding="utf-8"))
    (scenario,) = load_scenarios(toml)
    from_toml = scenario.run().plan
    from_api = Scenario("api", str(blocks), communities=("东", "西"), lower=350, upper=450).run().plan
    assert cli["problem"]["weights"]["stability"] == from_toml.problem["weights"]["stability"] == 1.0
    assert cli["objective"]["model_objective"] == pytest.approx(from_toml.objective["model_objective"])
    assert from_toml.assignment.equals(from_api.assignment)
    cli_units = {u["unit_id"]: u["households"] for u in cli["units"]}
    assert cli_units == dict(zip(from_toml.units["unit_id"], from_toml.units["households"], strict=True))


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"time_limit": float("nan")}, "--time-limit"),
        ({"time_limit": -5.0}, "--time-limit"),
        ({"gap": -0.5}, "--gap"),
        ({"gap": 1.5}, "--gap"),
        ({"threads": 0}, "--threads"),
        ({"workers": 0}, "--workers"),
        ({"lower": 0}, "--min"),
        ({"lower": 5.5}, "--min"),
        ({"upper": float("inf")}, "--max"),
        ({"min_frontage": -10.0}, "--min-frontage"),
        ({"snap": float("nan")}, "--snap"),
        ({"min_office_area": -1.0}, "--min-office-area"),
        ({"subdistrict": ""}, "--subdistrict"),
        ({"subdistrict": ["昱东"]}, "--subdistrict"),
        ({"communities": ("",)}, "community name"),
        ({"solver": "gurobi"}, "--solver"),
        ({"lang": "fr"}, "--lang"),
        ({"relax": "false"}, "relax"),
        ({"relax_tolerance": -1}, "--relax-tolerance"),
    ],
)
def test_option_values_are_checked_before_any_data_is_loaded(bad, words):
    with pytest.raises(InputError, match=words):
        Scenario("s", "no-such-file.geojson", **bad)  # the file is never opened


def test_toml_text_where_a_flag_or_a_weight_is_due_is_an_error(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('[[scenario]]\nname = "x"\nblocks = "b.geojson"\ncut_edges = "false"\n', encoding="utf-8")
    with pytest.raises(InputError, match="cut_edges must be true or false"):
        load_scenarios(toml)
    toml.write_text('[[scenario]]\nname = "x"\nblocks = "b.geojson"\nw_boundary = "1"\n', encoding="utf-8")
    with pytest.raises(InputError, match="w_boundary"):
        load_scenarios(toml)


def test_the_cli_checks_values_before_loading(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["split", str(tmp_path / "missing.geojson"), "--out", str(tmp_path / "o"), "--time-limit", "nan"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "--time-limit" in err and "missing.geojson" not in err
    with pytest.raises(SystemExit) as done:
        main(["split", str(tmp_path / "missing.geojson"), "--out", str(tmp_path / "o"), "--community", ""])
    assert done.value.code == 2 and "community name" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [{"time_limit": float("nan")}, {"mip_gap": -1.0}, {"threads": 0}, {"solver": "x"}])
def test_the_api_checks_the_same_values(bad):
    with pytest.raises(InputError):
        SolveOptions(**bad)
