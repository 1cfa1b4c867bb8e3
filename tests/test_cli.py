"""End-to-end CLI tests on the bundled sample: exit codes, messages and files."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from conftest import make_grid

from redistrict.cli import main

DATA = Path(__file__).resolve().parent.parent / "data"
BLOCKS = str(DATA / "tunxi_blocks.geojson")
RIVER = str(DATA / "tunxi_river.geojson")
BRIDGES = str(DATA / "tunxi_bridges.csv")


def run(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def test_check_sample_says_fuxin_cannot_be_split(tmp_path, capsys):
    target = tmp_path / "check.json"
    code, out, err = run(["check", BLOCKS, "--barriers", RIVER, "--overrides", BRIDGES, "--json", target], capsys)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "阜新 (9,242 households) cannot form units of 2,500–3,000" in flat
    assert "3 units would average 3,081" in flat and "4 units would average 2,310" in flat
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["usable"] is True
    fuxin = next(c for c in report["communities"] if c["name"] == "阜新")
    assert fuxin["households"] == 9242 and fuxin["feasible_k"] == [] and fuxin["subdistrict"] == "昱东"
    assert [o["k"] for o in fuxin["options"]] == [3, 4]
    assert report["graph"]["connected"] is True
    assert report["graph"]["barrier_removed"] > 0 and report["graph"]["overrides_added"] == 2
    yd = next(s for s in report["subdistricts"] if s["name"] == "昱东")
    assert yd["feasible_k"], "the joint 昱东 total must fit some k"


def test_check_without_bridges_reports_components(tmp_path, capsys):
    target = tmp_path / "check.json"
    code, out, _ = run(["check", BLOCKS, "--barriers", RIVER, "--json", target], capsys)
    assert code == 0
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["graph"]["connected"] is False
    assert any(f["kind"] == "graph_components" for f in report["findings"])
    assert "separate pieces" in " ".join(out.split())


def test_check_says_when_a_hanging_part_caps_the_unit_count(tmp_path, capsys):
    # a row of five blocks is a path: c4 (100 < 150) reaches the rest only through c3, so one
    # unit holds at least 200 of 460 and the others need 150 each: 2 units, not the 3 that fit by count
    layer = tmp_path / "row.geojson"
    make_grid(1, 5, households=[60, 100, 100, 100, 100]).to_file(layer, driver="GeoJSON")
    target = tmp_path / "check.json"
    code, out, err = run(["check", layer, "--min", "150", "--max", "400", "--json", target], capsys)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "At most 2 units fit: the 1 block(s) r0c4 hold 100 households, fewer than the minimum 150, and reach the rest only through block r0c3" in flat
    piece = json.loads(target.read_text(encoding="utf-8"))["pieces"][0]
    assert (piece["fewest_units"], piece["most_units"]) == (2, 2) and "r0c3" in piece["forced"]


def test_check_bad_bounds_is_exit_2(capsys):
    code, _, err = run(["check", BLOCKS, "--min", "3000", "--max", "2500"], capsys)
    assert code == 2
    assert "above the maximum" in err and "Traceback" not in err


def test_check_missing_file_is_exit_2(tmp_path, capsys):
    code, _, err = run(["check", tmp_path / "nope.geojson"], capsys)
    assert code == 2
    assert "no such file" in err


def test_check_invalid_households_is_exit_2_with_ids(tmp_path, capsys):
    text = (DATA / "tunxi_blocks.geojson").read_text(encoding="utf-8")
    data = json.loads(text)
    data["features"][0]["properties"]["households"] = "1,200户"
    first_id = data["features"][0]["properties"]["block_id"]
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    code, _, err = run(["check", bad], capsys)
    assert code == 2
    assert first_id in err and "not numbers" in err


def test_unknown_household_column_lists_columns(capsys):
    code, _, err = run(["check", BLOCKS, "--households", "hh_total"], capsys)
    assert code == 2
    assert "no column 'hh_total'" in err and "households" in err


GRAPH = ["--barriers", RIVER, "--overrides", BRIDGES]


def test_split_fuxin_is_infeasible_with_diagnosis_and_replan_hint(tmp_path, capsys):
    out = tmp_path / "fuxin"
    code, stdout, _ = run(["split", BLOCKS, *GRAPH, "--community", "阜新", "--out", out], capsys)
    assert code == 3
    flat = " ".join(stdout.split())
    assert "3 units would average 3,081" in flat
    assert "--subdistrict 昱东" in flat  # the joint re-plan command to run instead
    diagnosis = json.loads((out / "diagnosis.json").read_text(encoding="utf-8"))
    assert diagnosis["infeasible"] is True and not (out / "assignment.csv").exists()
    assert {o["k"] for o in diagnosis["nearest_bounds"]} == {3, 4}


def test_joint_plan_writes_verified_outputs_and_they_verify_and_export(tmp_path, capsys):
    out = tmp_path / "yudong"
    offices = str(DATA / "tunxi_offices.geojson")
    code, stdout, err = run(["plan", BLOCKS, *GRAPH, "--subdistrict", "昱东", "--offices", offices, "--out", out, "--lang", "en", "--time-limit", "120"], capsys)
    assert code == 0, err
    for name in ("assignment.csv", "units.geojson", "blocks.geojson", "report.json", "map.html", "report.md", "report.html", "map.png"):
        assert (out / name).exists(), name
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["status"] in ("optimal", "feasible") and report["k"] == 6
    assert all(2500 <= u["households"] <= 3000 for u in report["units"])
    assert all(u["office_site"] for u in report["units"])
    assert report["verification"]["ok"] is True
    assert len(report["provenance"]["inputs"]["blocks"]["sha256"]) == 64
    assert report["provenance"]["scenario"]["subdistrict"] == "昱东"
    # the written assignment passes the independent `verify` command
    code, stdout, _ = run(["verify", BLOCKS, out / "assignment.csv", *GRAPH, "--subdistrict", "昱东", "--k", "6"], capsys)
    assert code == 0 and "valid: 6 units" in stdout
    # without a scope, the blocks it must cover are those of the communities it touches (said so)
    code, stdout, _ = run(["verify", BLOCKS, out / "assignment.csv", *GRAPH, "--k", "6"], capsys)
    assert code == 0 and "touches 3 of the layer's" in stdout and "valid: 6 units" in stdout
    # against the other subdistrict it covers nothing it should: a failed verification
    code, _, err = run(["verify", BLOCKS, out / "assignment.csv", *GRAPH, "--subdistrict", "昱中"], capsys)
    assert code == 5 and "in no unit" in err and "outside the blocks it should cover" in err
    # a second run refuses to overwrite without --force
    code, _, err = run(["plan", BLOCKS, *GRAPH, "--subdistrict", "昱东", "--out", out], capsys)
    assert code == 2 and "--force" in err
    code, stdout, _ = run(["export", out, "--format", "gpkg", "--crs", "EPSG:4490"], capsys)
    assert code == 0
    (gpkg,) = (out / "export").glob("*.gpkg")
    units = gpd.read_file(gpkg, layer="units")
    assert len(units) == 6 and units.crs.to_epsg() == 4490
    assert sorted(units["households"]) == sorted(u["households"] for u in report["units"])
    code, stdout, _ = run(["map", out, "--dest", tmp_path / "again.html"], capsys)
    page = (tmp_path / "again.html").read_text(encoding="utf-8")
    assert code == 0 and "L.map" in page and all(u["name"] in page for u in report["units"])
    code, stdout, _ = run(["compare", out, out, "--dest", tmp_path / "compare.html"], capsys)
    page = (tmp_path / "compare.html").read_text(encoding="utf-8")
    assert code == 0 and "昱东 (A)" in page and "昱东 (B)" in page and all(u["name"] in page for u in report["units"])
    assert stdout.count(report["status"]) >= 2  # one row per plan
    # export straight from the block layer and an assignment CSV (e.g. a plan drawn by hand)
    code, _, err = run(["export", BLOCKS, out / "assignment.csv", "--format", "geojson", "--dest", tmp_path / "hand"], capsys)
    assert code == 0, err
    exported = list((tmp_path / "hand").rglob("units*.geojson"))
    assert exported and len(gpd.read_file(exported[0])) == 6


def test_verify_reports_a_broken_hand_drawn_plan(tmp_path, capsys):
    blocks = gpd.read_file(BLOCKS)
    fuxin = blocks[blocks["community"] == "阜新"]
    plan = tmp_path / "hand.csv"
    # every 阜新 block in one unit except two far-apart blocks in a second unit: out of bounds and split
    units = ["A"] * len(fuxin)
    units[0] = units[-1] = "B"
    plan.write_text("block_id,unit_id\n" + "\n".join(f"{b},{u}" for b, u in zip(fuxin["block_id"], units, strict=True)), encoding="utf-8")
    code, _, err = run(["verify", BLOCKS, plan, *GRAPH, "--communities", "阜新"], capsys)
    assert code == 5
    assert "above the maximum 3,000" in err and "below the minimum 2,500" in err


def test_sweep_command_writes_the_comparison(tmp_path, capsys):
    toml = tmp_path / "scenarios.toml"
    toml.write_text(
        f'[defaults]\nblocks = "{Path(BLOCKS).as_posix()}"\nbarriers = ["{Path(RIVER).as_posix()}"]\noverrides = "{Path(BRIDGES).as_posix()}"\ntime_limit = 60\n\n'
        '[[scenario]]\nname = "荷花池 two"\ncommunities = ["荷花池"]\nmin = 1500\nmax = 2200\n\n'
        '[[scenario]]\nname = "阜新 alone"\ncommunities = ["阜新"]\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, stdout, err = run(["sweep", toml, "--out", out, "--scheduler", "serial"], capsys)
    assert code == 0, err
    flat = " ".join(stdout.split())
    assert "荷花池 two" in flat and "infeasible" in flat and "optimal" in flat
    table = json.loads((out / "sweep.json").read_text(encoding="utf-8"))["scenarios"]
    assert [r["status"] for r in table] == ["optimal", "infeasible"]
    assert table[0]["units"] == 2 and (out / "荷花池 two" / "map.html").exists()


def test_sweep_with_a_bad_file_is_exit_2(tmp_path, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text('[[scenario]]\nname = "a"\nblocks = "x.geojson"\nmni = 2000\n', encoding="utf-8")
    code, _, err = run(["sweep", toml, "--out", tmp_path / "out"], capsys)
    assert code == 2 and "Did you mean min" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_time_limit_gives_exit_4_with_a_plan_marked_not_optimal(tmp_path, capsys, monkeypatch):
    import dataclasses

    import redistrict.model.strategy as strategy

    real = strategy.solve_model

    def stopped(data, **kw):  # as if the time limit had stopped the search right after its plan was found
        solution = real(data, **kw)
        return dataclasses.replace(solution, status="feasible", gap=0.05, best_bound=0.95 * solution.objective)

    monkeypatch.setattr(strategy, "solve_model", stopped)
    out = tmp_path / "hhc"
    code, stdout, err = run(["split", BLOCKS, "--community", "荷花池", "--min", "1500", "--max", "2200", "--time-limit", "30", "--out", out], capsys)
    assert code == 4, err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "timed_out" and report["verification"]["ok"] and abs(report["gap"] - 0.05) < 1e-9
    assert "NOT proved optimal" in report["message"] and (out / "map.html").exists() and (out / "assignment.csv").exists()
    assert "timed_out" in stdout


def test_split_of_the_whole_sample_solves_each_subdistrict_as_a_piece(tmp_path, capsys):
    out = tmp_path / "whole"
    code, stdout, err = run(["split", BLOCKS, "--method", "heuristic", "--workers", "1", "--time-limit", "30", "--out", out], capsys)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "heuristic" and report["verification"]["ok"]
    assert report["best_bound"] <= report["objective"]["model_objective"] and "Lagrangian" in report["solver"]["bound_method"]
    assert sorted((p["piece"], p["k"]) for p in report["pieces"]) == [("subdistrict 昱东", 6), ("subdistrict 昱中", 5)]
    assert "not proved optimal" in report["message"] and "pieces (solved independently)" in stdout


def test_an_unknown_method_is_an_input_error(tmp_path, capsys):
    code, _, err = run(["split", BLOCKS, "--method", "fastest", "--out", tmp_path / "x"], capsys)
    assert code == 2 and "method must be one of auto, exact, heuristic" in err


# --- the command line of a well-made tool ---------------------------------------------------------


@pytest.mark.parametrize("command", ["split", "plan", "verify", "map", "export", "compare", "sweep", "check", "edit"])
def test_help_reads_as_a_planner_expects(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run([command, "--help"], capsys)
    assert code == 0
    usage = next(line for line in out.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage  # BLOCKS, not {blocks}
    assert "<bool>" not in out and "list[" not in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_split_help_names_its_arguments_and_the_timed_out_status(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(["split", "--help"], capsys)
    flat = " ".join(out.replace("│", " ").split())
    assert "split [OPTIONS] BLOCKS" in flat
    assert "status timed_out" in flat and "status feasible" not in flat
    assert "--barriers FILE" in flat


def test_version(capsys):
    from redistrict import __version__

    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"redistrict {__version__}"


def test_a_closed_pipe_ends_the_command_quietly():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "redistrict.cli", "check", BLOCKS, "--snap", "25"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) in (0, -13)  # a clean exit, or SIGPIPE: never an error
    assert "Traceback" not in err and "BrokenPipe" not in err and "internal error" not in err


def test_the_tianditu_key_message_names_the_option(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    blocks = gpd.read_file(BLOCKS).head(6)
    blocks[["block_id"]].assign(unit_id="U1").to_csv(tmp_path / "a.csv", index=False)
    code, _, err = run(["map", BLOCKS, tmp_path / "a.csv", "--basemap", "tianditu", "--dest", tmp_path / "m.html", "--min", "1"], capsys)
    assert code == 2 and "--tianditu-key" in err


def _units_frame(n: int, outside: dict[int, int]):
    """n units of 2,800 households; ``outside`` maps a unit index to its violation (above 3,000)."""
    import pandas as pd

    rows = []
    for i in range(n):
        over = outside.get(i, 0)
        rows.append({"unit_id": f"U{i + 1}", "name": f"社区{i + 1}", "households": 3000 + over if over else 2800, "blocks": 9,
                     "office_name": None, "centre_block": f"B{i}", "mean_distance_m": 250.0, "max_distance_m": 600.0,
                     "households_moved_in": None, "within_bounds": not over, "violation": over})
    return pd.DataFrame(rows)


@pytest.fixture
def printed(monkeypatch):
    """What the CLI's console prints, as text."""
    import io

    from rich.console import Console

    from redistrict import cli

    buffer = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=buffer, width=250, color_system=None))
    return buffer


def test_a_city_plan_prints_a_count_and_only_the_units_outside_the_bounds(printed):
    from redistrict import cli
    from redistrict.options import MANY_UNITS

    cli._print_units(_units_frame(MANY_UNITS + 40, {7: 12, 55: 300}))
    text = printed.getvalue()
    assert f"{MANY_UNITS + 40} units: {MANY_UNITS + 38} within the bounds, 2 outside" in text
    assert text.index("U56") < text.index("U8 ")  # largest violation first
    assert "U9 " not in text and "U1 " not in text


def test_a_city_plan_within_the_bounds_prints_no_unit_table(printed):
    from redistrict import cli
    from redistrict.options import MANY_UNITS

    cli._print_units(_units_frame(MANY_UNITS + 1, {}))
    text = printed.getvalue()
    assert f"{MANY_UNITS + 1} units: {MANY_UNITS + 1} within the bounds, 0 outside" in text
    assert "U1 " not in text and "office" not in text


def test_a_small_plan_prints_every_unit(printed):
    from redistrict import cli

    cli._print_units(_units_frame(5, {2: 4}))
    text = printed.getvalue()
    assert all(f"U{i} " in text for i in range(1, 6)) and "within the bounds" not in text


def test_many_pieces_print_counts_and_the_pieces_needing_a_look_first(printed):
    from redistrict import cli

    rows = [{"piece": f"subdistrict 街道{i:03d}", "blocks": 100, "k": 5, "method": "heuristic", "status": "heuristic", "objective": 10.0, "bound": 9.0, "gap": 0.01 * (i % 7), "seconds": 1.0} for i in range(cli.TERMINAL_ROWS + 20)]
    rows[-1] |= {"status": "relaxed", "gap": None}
    cli._print_pieces(rows)
    text = printed.getvalue()
    assert f"{cli.TERMINAL_ROWS + 20} pieces: {cli.TERMINAL_ROWS + 19} heuristic, 1 relaxed" in text
    listed = [line for line in text.splitlines() if "subdistrict 街道" in line]
    assert len(listed) == cli.TERMINAL_ROWS and f"街道{cli.TERMINAL_ROWS + 19:03d}" in listed[0]
    assert "街道000" not in text  # gap 0: not among the pieces shown


@pytest.mark.parametrize(("flag", "wanted"), [([], True), (["--no-smooth"], False), (["--smooth"], True)])
def test_smooth_flag_reaches_the_scenario(flag, wanted, tmp_path, capsys, monkeypatch):
    import redistrict.cli as cli

    seen = []
    monkeypatch.setattr(cli, "_run", lambda scenario, **kwargs: seen.append(scenario))
    for command in (["split", BLOCKS], ["plan", BLOCKS, "--subdistrict", "昱东"]):
        try:
            main([*command, "--out", str(tmp_path / "x"), *flag])
        except SystemExit as stop:
            assert stop.code == 0, capsys.readouterr().err
    assert [s.smooth for s in seen] == [wanted, wanted]
