"""The plan editor's Python side: the page's payload (the tool's graph, figures, offices, GBK ids),
its safety, the size limit, reading an output folder, and re-optimising around an edit (locks)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import UTM50, make_grid, vertical_line

from redistrict import edit
from redistrict.errors import InputError
from redistrict.graph import build_graph, read_overrides
from redistrict.scenario import Scenario, locks_from_units, read_locks

HOSTILE = "</script><script>alert(1)</script>"

#: 2×2 quadrants of the 4×4 grid: contiguous, 400 households each, none crossing the river
QUADRANTS = {f"r{r}c{c}": f"U{1 + (r >= 2) * 2 + (c >= 2)}" for r in range(4) for c in range(4)}


def write_layer(folder: Path, *, names=None, ids=None) -> dict:
    """A 4×4 grid with a river between columns 1 and 2, one bridge override, office sites, an assignment."""
    gdf = make_grid(4, 4, community=["甲社区"] * 8 + ["乙社区"] * 8)
    if names:
        for i, name in names.items():
            gdf.loc[i, "name"] = name
    if ids:
        gdf["block_id"] = [ids.get(b, b) for b in gdf["block_id"]]
    paths = {
        "blocks": folder / "grid.geojson",
        "river": folder / "river.geojson",
        "bridges": folder / "bridges.csv",
        "offices": folder / "offices.geojson",
        "assignment": folder / "assignment.csv",
    }
    gdf.to_file(paths["blocks"], driver="GeoJSON")
    vertical_line(222.5, crs="EPSG:4326").to_file(paths["river"], driver="GeoJSON")
    bid = dict(zip(make_grid(4, 4)["block_id"], gdf["block_id"], strict=True))
    pd.DataFrame({"block_a": [bid["r0c1"]], "block_b": [bid["r0c2"]], "action": ["add"]}).to_csv(
        paths["bridges"], index=False
    )
    utm = gdf.to_crs(UTM50).set_index("block_id")
    spec = [
        (bid["r0c0"], "S1", 320),
        (bid["r0c3"], "S2", 400),
        (bid["r3c0"], "S3", 350),
        (bid["r3c3"], "S4", 150),
    ]
    sites = gpd.GeoDataFrame(
        {
            "site_id": [s for _, s, _ in spec],
            "name": [f"办公{s}" for _, s, _ in spec],
            "floor_area_m2": [a for *_, a in spec],
        },
        geometry=[utm.geometry.loc[b].centroid for b, *_ in spec],
        crs=UTM50,
    )
    sites.to_crs("EPSG:4326").to_file(paths["offices"], driver="GeoJSON")
    pd.DataFrame(
        {"block_id": [bid[b] for b in QUADRANTS], "unit_id": list(QUADRANTS.values())}
    ).to_csv(paths["assignment"], index=False)
    return paths


def scenario_for(paths: dict, **extra) -> Scenario:
    return Scenario(
        "edit",
        str(paths["blocks"]),
        lower=350,
        upper=450,
        barriers=(str(paths["river"]),),
        overrides=str(paths["bridges"]),
        offices=str(paths["offices"]),
        time_limit=None,
        **extra,
    )


@pytest.fixture
def layer(tmp_path):
    return write_layer(tmp_path)


def test_payload_embeds_the_tools_graph_with_barriers_and_overrides(layer):
    source = edit.source_from_scenario(scenario_for(layer), layer["assignment"])
    payload = edit.editor_payload(source)
    ids = payload["blocks"]["id"]
    flat = payload["edges"]
    edges = {frozenset((ids[a], ids[b])) for a, b in zip(flat[::2], flat[1::2], strict=True)}
    blocks = source.blocks
    river = vertical_line(222.5)
    expected = build_graph(blocks, barriers=river, overrides=read_overrides(layer["bridges"]))
    assert edges == {frozenset(e) for e in expected.edges()}, "the page's graph is the tool's graph"
    across = {e for e in edges if {b[-1] for b in e} == {"1", "2"}}
    assert across == {frozenset(("r0c1", "r0c2"))}, "the river cuts every edge but the bridge"
    assert len(build_graph(blocks).edges()) == len(edges) + 3, (
        "without the barrier, 4 more edges (and no bridge)"
    )


def test_payload_figures_units_and_offices(layer):
    source = edit.source_from_scenario(scenario_for(layer), layer["assignment"])
    payload = edit.editor_payload(source, lang="en")
    b = payload["blocks"]
    units = [u["id"] for u in payload["units"]]
    assert units == ["U1", "U2", "U3", "U4"]
    assert [units[k] for k in b["unit0"]] == [QUADRANTS[i] for i in b["id"]]
    assert sum(b["hh"]) == 1600 and b["pop"][0] == 240 and payload["bounds"] == [350, 450]
    assert b["communities"] == ["乙社区", "甲社区"] and b["subdistricts"] == ["S"]
    assert len(b["geom"]) == 16 and len(b["geom"][0][0]) == 5, (
        "one ring of 5 [lat, lng] points per square"
    )
    assert 29 < b["geom"][0][0][0][0] < 30 and 118 < b["geom"][0][0][0][1] < 119, (
        "Leaflet order: lat, lng"
    )
    offices = {o["id"]: o for o in payload["offices"]}
    assert set(offices) == {"S1", "S2", "S3", "S4"}
    assert [offices[s]["ok"] for s in ("S1", "S2", "S3", "S4")] == [True, True, True, False], (
        "S4 is below 300 m²"
    )
    assert b["id"][offices["S2"]["block"]] == "r0c3" and payload["min_office_area"] == 300
    assert payload["text"]["undo"] == "Undo" and payload["lang"] == "en"
    assert (
        "--subdistrict S" in payload["commands"]["verify"]
        and "--overrides" in payload["commands"]["verify"]
    )
    assert payload["commands"]["replan"].startswith("redistrict plan ") and payload["commands"][
        "replan"
    ].endswith("--locks edit.json --lang en --lock-units {units}")


def test_hostile_names_stay_inert_json_in_the_page(tmp_path):
    paths = write_layer(tmp_path, names={0: HOSTILE, 1: "<img src=x onerror=alert(1)>"})
    source = edit.source_from_scenario(scenario_for(paths), paths["assignment"])
    page = edit.write_editor(source, tmp_path / "edit.html").read_text(encoding="utf-8")
    assert HOSTILE not in page and "<img src=x" not in page
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts == ['<script type="application/json" id="rd-data">', "<script>", "<script>"], (
        "no script loaded from anywhere"
    )
    data = re.search(
        r'<script type="application/json" id="rd-data">(.*?)</script>', page, re.S
    ).group(1)
    payload = json.loads(data)
    assert payload["blocks"]["name"][:2] == [HOSTILE, "<img src=x onerror=alert(1)>"], (
        "the names arrive intact, as data"
    )
    assert not re.search(
        r"innerHTML|outerHTML|insertAdjacentHTML|eval\(|new Function", edit._static("edit.js")
    ), "data reaches the page as text only"
    assert "default-src 'none'" in page, "the page may load nothing"


def test_gbk_fields_hold_chinese_ids_or_name_the_one_that_cannot_be_held():
    hexed, bad = edit.gbk_fields(["小区1", "a,b", "U3"])
    assert bad is None
    assert [bytes.fromhex(h).decode("gbk") for h in hexed] == ["小区1", '"a,b"', "U3"]
    assert edit.gbk_fields(["小区1", "😀"]) == (None, "😀")


def test_chinese_ids_give_a_gbk_download(tmp_path):
    paths = write_layer(tmp_path, ids={"r0c0": "甲-1", "r0c1": "甲,2"})
    payload = edit.editor_payload(
        edit.source_from_scenario(scenario_for(paths), paths["assignment"])
    )
    at = payload["blocks"]["id"].index("甲,2")
    assert (
        bytes.fromhex(payload["gbk"]["blocks"][at]).decode("gbk") == '"甲,2"'
        and payload["gbk"]["unavailable"] is None
    )


def test_a_layer_too_large_to_edit_whole_gets_a_page_listing_its_subdistricts(layer, tmp_path):
    source = edit.source_from_scenario(
        scenario_for(layer), layer["assignment"], source_args=("out",)
    )
    target = tmp_path / "big.html"
    with pytest.raises(InputError) as info:
        edit.write_editor(source, target, limit=10)
    assert "16 blocks, more than the 10" in info.value.message
    assert "redistrict edit out --subdistrict S --lang zh" in info.value.message
    payload = json.loads(
        re.search(r'id="rd-data">(.*?)</script>', target.read_text(encoding="utf-8"), re.S).group(1)
    )
    assert payload["too_large"]["subdistricts"] == [
        {"name": "S", "blocks": 16, "command": "redistrict edit out --subdistrict S --lang zh"}
    ]
    assert "blocks" not in payload, "nothing of the layer is embedded"


def test_subdistrict_restricts_the_edit_and_unknown_ones_are_refused(layer):
    with pytest.raises(InputError, match="subdistrict"):
        edit.source_from_scenario(scenario_for(layer), layer["assignment"], subdistrict="nowhere")
    assert (
        len(
            edit.source_from_scenario(
                scenario_for(layer), layer["assignment"], subdistrict="S"
            ).blocks
        )
        == 16
    )


def test_an_assignment_naming_unknown_blocks_is_refused(layer, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("block_id,unit_id\nr0c0,U1\nnope,U2\n", encoding="utf-8")
    with pytest.raises(InputError, match="nope"):
        edit.source_from_scenario(scenario_for(layer), bad)


def run(args, capsys):
    """The CLI in this process: (exit code, stdout, stderr)."""
    from redistrict.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def solved_folder(paths: dict, tmp_path: Path, capsys) -> Path:
    out = tmp_path / "out"
    args = [
        "split",
        paths["blocks"],
        "--out",
        out,
        "--min",
        350,
        "--max",
        450,
        "--barriers",
        paths["river"],
        "--overrides",
        paths["bridges"],
        "--workers",
        1,
        "--time-limit",
        30,
    ]
    code, _, err = run(args, capsys)
    assert code == 0, err
    return out


def test_edit_of_an_output_folder_uses_the_runs_own_graph_then_falls_back(layer, tmp_path, capsys):
    out = solved_folder(layer, tmp_path, capsys)
    code, text, err = run(["edit", out], capsys)
    assert code == 0, err
    assert (out / "edit.html").exists() and "16 blocks, 4 units" in " ".join(text.split())
    source = edit.source_from_dir(out)
    assert source.note[0] == "note_run" and source.scenario.overrides == str(layer["bridges"])
    assert frozenset(("r0c1", "r0c2")) in {frozenset(e) for e in source.graph.edges()}, (
        "the bridge override is in"
    )
    layer["blocks"].write_bytes(
        layer["blocks"].read_bytes() + b"\n"
    )  # the input changed since the run
    fallback = edit.source_from_dir(out)
    assert fallback.note[0] == "note_folder" and fallback.scenario.blocks == str(
        out / "blocks.geojson"
    )
    assert frozenset(("r0c1", "r0c2")) not in {frozenset(e) for e in fallback.graph.edges()}, (
        "no overrides unless given"
    )
    with_bridge = edit.source_from_dir(out, overrides=str(layer["bridges"]))
    assert {frozenset(e) for e in with_bridge.graph.edges()} == {
        frozenset(e) for e in source.graph.edges()
    }


def test_edit_command_too_large_exits_2_and_offers_a_subdistrict(
    layer, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(edit, "EDIT_LIMIT", 10)
    code, _, err = run(
        [
            "edit",
            layer["blocks"],
            layer["assignment"],
            "--min",
            350,
            "--max",
            450,
            "--dest",
            tmp_path / "e.html",
        ],
        capsys,
    )
    assert code == 2 and "Traceback" not in err
    assert "--subdistrict S" in " ".join(err.split()) and (tmp_path / "e.html").exists()


# --- re-optimising around an edit: the lock-units translation ------------------------------------------------


def test_locks_from_units_keeps_the_named_units_blocks_only():
    locks = locks_from_units(QUADRANTS, ["U3", "U1", "U3"])
    assert set(locks.values()) == {"U1", "U3"} and len(locks) == 8
    assert all(QUADRANTS[b] == u for b, u in locks.items())
    with pytest.raises(InputError, match="no unit U9 in the plan; its units are U1, U2, U3, U4"):
        locks_from_units(QUADRANTS, ["U9"])
    with pytest.raises(InputError, match="no units to keep"):
        locks_from_units(QUADRANTS, [])


def test_read_locks_takes_an_assignment_csv_or_the_editors_json(layer, tmp_path):
    assert read_locks(layer["assignment"]) == QUADRANTS, "without units: the old lock table"
    assert read_locks(layer["assignment"], ["U2"]) == {
        b: u for b, u in QUADRANTS.items() if u == "U2"
    }
    saved = tmp_path / "edit.json"
    record = {
        "format": "redistrict-edit",
        "assignment": [[b, u] for b, u in QUADRANTS.items()],
        "locked_units": ["U4"],
        "changed_units": ["U1", "U2"],
    }
    saved.write_text(json.dumps(record), encoding="utf-8")
    assert set(read_locks(saved).values()) == {"U4"}, "the units locked in the editor"
    assert set(read_locks(saved, ["U1"]).values()) == {"U1"}, "--lock-units wins"
    saved.write_text(json.dumps(record | {"locked_units": []}), encoding="utf-8")
    assert set(read_locks(saved).values()) == {"U1", "U2"}, "else the units the edit changed"
    saved.write_text('{"moves": []}', encoding="utf-8")
    with pytest.raises(InputError, match="not an edit saved by the editor"):
        read_locks(saved)
    with pytest.raises(InputError, match="needs --locks FILE"):
        read_locks(None, ["U1"])


def test_lock_units_survive_a_toml_round_trip(layer):
    s = scenario_for(layer, locks=str(layer["assignment"]), lock_units="U1, U3")
    assert s.lock_units == ("U1", "U3")
    assert Scenario.from_dict(s.to_dict()).lock_units == ("U1", "U3")
    assert set(s.inputs().locks.values()) == {"U1", "U3"}


def test_plan_with_lock_units_keeps_the_edited_units_together(layer, tmp_path, capsys):
    """An edited plan: U1 took r1c0 from U3 (U1 = 5 blocks, U3 = 3); re-optimise keeping U1 and U3."""
    edited = dict(QUADRANTS, r2c0="U1")
    saved = tmp_path / "edit.json"
    saved.write_text(
        json.dumps(
            {"assignment": [[b, u] for b, u in edited.items()], "locked_units": ["U1", "U3"]}
        ),
        encoding="utf-8",
    )
    out = tmp_path / "re"
    args = [
        "plan",
        layer["blocks"],
        "--out",
        out,
        "--subdistrict",
        "S",
        "--min",
        300,
        "--max",
        500,
        "--barriers",
        layer["river"],
        "--overrides",
        layer["bridges"],
        "--locks",
        saved,
        "--workers",
        1,
        "--time-limit",
        30,
    ]
    code, _, err = run(args, capsys)
    assert code == 0, err
    result = pd.read_csv(out / "assignment.csv", dtype=str).set_index("block_id")["unit_id"]
    for unit in ("U1", "U3"):
        kept = [b for b, u in edited.items() if u == unit]
        assert result.loc[kept].nunique() == 1, f"{unit}'s blocks stay in one unit"
    u1 = [b for b, u in edited.items() if u == "U1"]
    u3 = [b for b, u in edited.items() if u == "U3"]
    assert result.loc[u1[0]] != result.loc[u3[0]], "and the two kept units stay apart"
    code, _, err = run([*args[:-6], "--locks", saved, "--lock-units", "U9", "--force"], capsys)
    assert code == 2 and "no unit U9 in the plan" in err
