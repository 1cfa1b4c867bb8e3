"""The bad-input corpus (tests/data/bad/, see its README.md): one test per way real data goes wrong.

Every case ends either in an ``InputError`` that names the file, the blocks (``.ids``) and the fix
(CLI: one message on stderr, exit 2, no traceback) or in a repair or acceptance that is reported as
a finding or ``RedistrictWarning``.  A block above the maximum is valid data and so an infeasible
problem (exit 3) whose reason names the block.
"""

from __future__ import annotations

import importlib.util
import json
import re
import warnings
from pathlib import Path

import geopandas as gpd
import pytest

import redistrict as rd
from redistrict.cli import main
from redistrict.errors import InputError, RedistrictWarning
from redistrict.validate import ERROR, INFO, REPAIRED, WARNING

BAD = Path(__file__).resolve().parent / "data" / "bad"


def bad(name: str) -> str:
    return str(BAD / name)


def flat(text: str) -> str:
    """Console output with line wrapping undone."""
    return " ".join(text.split())


def load(name: str, **kwargs) -> rd.BlockLayer:
    """load_blocks on a corpus file, with its RedistrictWarnings silenced (tested separately)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedistrictWarning)
        return rd.load_blocks(bad(name), **kwargs)


def load_error(name: str, **kwargs) -> InputError:
    """The InputError loading a corpus file raises; its message must name the file."""
    with pytest.raises(InputError) as info:
        load(name, **kwargs)
    assert name in str(info.value)
    return info.value


def run(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def cli_error(args, capsys) -> str:
    """Run the CLI expecting invalid input: exit 2, one readable message on stderr, no traceback."""
    code, _, err = run(args, capsys)
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    assert err.count("error:") == 1 and err.lstrip().startswith("error:")
    return flat(err)


def kinds(findings) -> dict:
    return {f.kind: f for f in findings}


@pytest.fixture(scope="module")
def blocks_layer():
    return load("blocks.geojson")


@pytest.fixture(scope="module")
def blocks_graph(blocks_layer):
    return rd.build_graph(blocks_layer.blocks)


# --- the corpus itself --------------------------------------------------------------------------


def test_corpus_is_exactly_what_make_bad_writes(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_bad", BAD / "make_bad.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    written = {p.name for p in tmp_path.iterdir()}
    stored = {p.name for p in BAD.iterdir() if p.name not in ("make_bad.py", "README.md") and not p.name.startswith(".")}
    assert written == stored
    for name in sorted(written):
        assert (tmp_path / name).read_bytes() == (BAD / name).read_bytes(), name
        assert (BAD / name).stat().st_size <= 4096, f"{name} should stay tiny"


def test_readme_lists_every_file():
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)`", readme, flags=re.M))
    stems = {p.stem for p in BAD.iterdir() if p.suffix in (".shp",)}
    files = {p.name for p in BAD.iterdir() if p.suffix not in (".py", ".md", ".shx", ".dbf", ".cpg", ".prj", ".shp")}
    assert files | {f"{s}.shp" for s in stems} == listed


# --- files that are not block layers ------------------------------------------------------------


def test_empty_file(capsys):
    err = load_error("empty.geojson")
    assert "the file is empty (0 bytes)" in str(err) and "export or copy the layer again" in str(err)
    assert err.path == bad("empty.geojson")
    message = cli_error(["check", bad("empty.geojson")], capsys)
    assert "empty.geojson: the file is empty" in message


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("text.geojson", "the file is plain text, not GeoJSON (it begins '这不是地理数据"),
        ("image.geojson", "the file is a PNG image, not GeoJSON"),
    ],
)
def test_not_a_geospatial_file_says_what_it_is(name, fragment, capsys):
    message = str(load_error(name))
    assert "cannot be read as a geospatial file" in message
    assert fragment in message
    assert "Export the layer from your GIS again as GeoJSON, GeoPackage or Shapefile" in message
    assert fragment in cli_error(["check", bad(name)], capsys)


def test_truncated_geojson_is_called_truncated():
    message = str(load_error("truncated.geojson"))
    size = (BAD / "truncated.geojson").stat().st_size
    assert f"stops after {size:,} bytes in the middle of its data" in message
    assert "the file is truncated" in message and "Copy or export it again" in message


def test_zip_without_dbf_names_the_missing_part(capsys):
    message = str(load_error("no_dbf.zip"))
    assert "holds blocks.shp but not blocks.dbf" in message
    assert ".shp, .shx and .dbf" in message
    assert "but not blocks.dbf" in cli_error(["check", bad("no_dbf.zip")], capsys)


# --- geometry -----------------------------------------------------------------------------------


def test_points_and_lines_are_rejected_with_their_ids(capsys):
    err = load_error("points_lines.geojson")
    assert "2 block(s) are not polygons (LineString, Point): b2, b3" in str(err)
    assert "load the polygon layer instead" in str(err)
    assert sorted(err.ids) == ["b2", "b3"]
    assert "not polygons (LineString, Point): b2, b3" in cli_error(["check", bad("points_lines.geojson")], capsys)


def test_null_and_empty_geometries_are_named():
    err = load_error("empty_geometries.geojson")
    assert "2 block(s) have no geometry or an empty one: b2, b3" in str(err)
    assert "Draw their polygons or remove the rows" in str(err)
    assert sorted(err.ids) == ["b2", "b3"]


def test_bowtie_is_repaired_and_reported(capsys):
    with pytest.warns(RedistrictWarning, match=r"repaired with make_valid: b1"):
        layer = rd.load_blocks(bad("bowtie.geojson"))
    finding = kinds(layer.findings)["invalid_geometry"]
    assert finding.severity == REPAIRED and finding.block_ids == ("b1",)
    fixed = layer.blocks.geometry.loc["b1"]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2
    assert "multipart_blocks" not in kinds(layer.findings)  # the repair, not the data, made two parts
    code, out, err = run(["check", bad("bowtie.geojson")], capsys)
    assert code == 0, err
    assert "repaired: 1 invalid polygon(s) (e.g. self-intersections) were repaired with make_valid: b1" in flat(out)


def test_courtyard_holes_holding_other_blocks_are_neighbours():
    layer = load("courtyard.geojson")
    assert layer.findings == []  # an enclave in a hole is neither an overlap nor an error
    graph = rd.build_graph(layer.blocks)
    assert graph.has_edge("court", "yard") and not graph.edges["court", "yard"]["snapped"]  # shared ring
    assert graph.has_edge("court", "school") and graph.edges["court", "school"]["snapped"]  # across the lane
    assert graph.edges["court", "school"]["length"] > 250  # the whole lane round the school
    assert set(graph["yard"]) == {"court"} and set(graph["school"]) == {"court"}
    assert graph.has_edge("court", "east")
    report = rd.check_layer(layer, graph, lower=100, upper=3000)
    assert report.graph.connected and report.usable


def test_multipart_blocks_are_accepted_and_reported():
    with pytest.warns(RedistrictWarning, match=r"b2 \(2 parts, 3\d\d m apart\)"):
        layer = rd.load_blocks(bad("multipart.geojson"))
    found = kinds(layer.findings)
    near, far = found["multipart_blocks"], found["multipart_blocks_far"]
    assert near.severity == INFO and near.block_ids == ("b1",)
    assert "b1 (2 parts, 15 m apart)" in near.message and "all parts of a block or none" in near.message
    assert far.severity == WARNING and far.block_ids == ("b2",)
    assert "give each its own row and block id" in far.message
    graph = rd.build_graph(layer.blocks)
    assert {"b2", "b4", "b5"} <= set(graph["b1"])  # both parts of b1 have neighbours


# --- attributes ---------------------------------------------------------------------------------


def test_duplicate_ids_are_named(capsys):
    err = load_error("duplicate_ids.geojson")
    assert "1 block id(s) occur more than once: b2" in str(err) and "--id" in str(err)
    assert err.ids == ["b2"]
    assert "occur more than once: b2" in cli_error(["check", bad("duplicate_ids.geojson")], capsys)


@pytest.fixture(scope="module")
def households_error():
    with pytest.raises(InputError) as info:
        load("households_bad.geojson")
    return info.value


@pytest.mark.parametrize(
    ("block", "kind", "fragment"),
    [
        ("b2", "households_missing", "1 block(s) have no household count: b2. Fill them in (0 for blocks with no residents)"),
        ("b3", "households_negative", "1 negative household count(s): b3"),
        ("b4", "households_fractional", "1 household count(s) are not whole numbers: b4"),
        ("b5", "households_not_numeric", "1 value(s) are not numbers (b5='1,200户'). Write plain whole numbers such as 1200, without units or thousands separators (e.g. 1200 for '1,200户')"),
        ("b6", "households_implausible", "1 block(s) claim more than 1,000,000 households: b6. Check the column and the units"),
    ],
)
def test_bad_household_values_name_the_block(households_error, block, kind, fragment):
    message = str(households_error)
    assert message.startswith(f"{bad('households_bad.geojson')}: the block layer cannot be used as it is")
    assert f"Column 'households': {fragment}" in message
    finding = kinds(households_error.findings)[kind]
    assert finding.severity == ERROR and finding.block_ids == (block,)
    assert block in households_error.ids


def test_bad_household_values_all_in_one_cli_message(capsys):
    message = cli_error(["check", bad("households_bad.geojson")], capsys)
    for block in ("b2", "b3", "b4", "b5", "b6"):
        assert re.search(rf"\b{block}\b", message), block
    assert message.count(" - Column 'households'") == 5


def test_missing_household_column_lists_the_columns(capsys):
    message = str(load_error("no_households_column.geojson"))
    assert "no household column found" in message
    assert "the columns are: block_id, name, community, subdistrict, families" in message
    assert "--households COLUMN" in message
    assert "families" in cli_error(["check", bad("no_households_column.geojson")], capsys)
    code, _, err = run(["check", bad("no_households_column.geojson"), "--households", "families"], capsys)
    assert code == 0, err


# --- CRS and coordinates ------------------------------------------------------------------------


def test_no_crs_asks_for_crs(capsys):
    message = str(load_error("no_crs.shp"))
    assert "has no coordinate reference system" in message and "--crs" in message and "EPSG:4326" in message
    assert "--crs" in cli_error(["check", bad("no_crs.shp")], capsys)
    layer = load("no_crs.shp", crs="EPSG:4326")
    assert layer.source_crs.to_epsg() == 4326 and list(layer.blocks.index) == ["b1", "b2", "b3", "b4"]
    with pytest.raises(InputError, match=r"Unknown CRS 'EPSG:99999999'.*Use e.g. EPSG:4326"):
        load("no_crs.shp", crs="EPSG:99999999")  # used to escape as pyproj's CRSError


def test_projected_coordinates_labelled_geographic(capsys):
    err = load_error("projected_as_wgs84.geojson")
    message = str(err)
    assert "declares a geographic CRS (EPSG:4326)" in message
    assert "x 500000.0..500207.9" in message and "look like projected metres" in message
    assert "give the real CRS with --crs" in message and "EPSG:32650" in message
    assert sorted(err.ids) == ["b1", "b2", "b3", "b4"]
    assert "projected metres" in cli_error(["check", bad("projected_as_wgs84.geojson")], capsys)


def test_swapped_lon_lat():
    err = load_error("swapped_axes.geojson")
    assert "x 29.7..29.7, y 118.3..118.3" in str(err)
    assert "axes look swapped (latitude first); swap them and reload" in str(err)
    assert sorted(err.ids) == ["b1", "b2", "b3", "b4"]


def test_gcj02_outside_china_names_the_blocks(capsys):
    err = load_error("outside_china.geojson", input_coords="gcj02")
    message = str(err)
    assert "--input-coords gcj02 was given, but 4 of 4 feature(s) lie outside China: b1, b2, b3, b4" in message
    assert "lon 2.35" in message and "drop --input-coords gcj02" in message
    assert sorted(err.ids) == ["b1", "b2", "b3", "b4"]
    assert "lie outside China: b1, b2, b3, b4" in cli_error(["check", bad("outside_china.geojson"), "--input-coords", "gcj02"], capsys)
    assert len(load("outside_china.geojson")) == 4  # fine as WGS84


def test_gbk_dbf_without_cpg_is_read_as_gbk_with_a_warning(capsys):
    with pytest.warns(RedistrictWarning, match="read as GBK"):
        layer = rd.load_blocks(bad("gbk_no_cpg.shp"))
    assert layer.blocks["name"].tolist() == ["阳光花园", "黎阳新村", "昱中小区", "教育局宿舍"]
    assert layer.blocks["community"].tolist() == ["黎阳社区", "黎阳社区", "昱中社区", "昱中社区"]
    finding = kinds(layer.findings)["dbf_encoding"]
    assert finding.severity == WARNING
    assert "gbk_no_cpg.shp has no .cpg file" in finding.message
    assert "'阳光花园'" in finding.message and "--encoding" in finding.message
    code, out, err = run(["check", bad("gbk_no_cpg.shp")], capsys)
    assert code == 0, err
    assert "it was read as GBK instead" in flat(out) and "黎阳社区" in out


# --- options that do not fit the data -----------------------------------------------------------


def test_unknown_community_suggests_the_close_match(blocks_layer, blocks_graph, tmp_path, capsys):
    with pytest.raises(InputError) as info:
        rd.Problem.from_layer(blocks_layer, blocks_graph, communities=["黎杨"])
    message = str(info.value)
    assert message.startswith(bad("blocks.geojson"))
    assert "No community named '黎杨' in the layer. Did you mean 黎阳?" in message
    assert "Known community names: 昱中, 黎阳" in message
    message = cli_error(["split", bad("blocks.geojson"), "--community", "黎杨", "--out", tmp_path / "out"], capsys)
    assert "Did you mean 黎阳?" in message


def test_bounds_with_min_above_max(blocks_layer, blocks_graph, tmp_path, capsys):
    with pytest.raises(InputError, match=r"minimum \(3,000\) is above the maximum \(2,500\).*swap them"):
        rd.Problem.from_layer(blocks_layer, blocks_graph, lower=3000, upper=2500)
    message = cli_error(["split", bad("blocks.geojson"), "--min", "3000", "--max", "2500", "--out", tmp_path / "out"], capsys)
    assert "swap them" in message
    assert not (tmp_path / "out").exists()


def test_k_that_cannot_fit_is_an_input_error(blocks_layer, blocks_graph, tmp_path, capsys):
    with pytest.raises(InputError) as info:
        rd.Problem.from_layer(blocks_layer, blocks_graph, k=10)
    message = str(info.value)
    assert "--k 10 cannot fit the selected blocks (3,000 households)" in message
    assert "need 25,000–30,000 in total" in message and "average 300, below the minimum 2,500" in message
    assert "leave --k out to use k=1" in message and "--min 300" in message
    message = cli_error(["split", bad("blocks.geojson"), "--k", "10", "--out", tmp_path / "out"], capsys)
    assert "--k 10 cannot fit" in message and "leave --k out" in message


def test_offices_all_outside_every_block_name_the_sites(blocks_layer, blocks_graph, tmp_path, capsys):
    sites = rd.read_points(bad("offices_outside.geojson"))
    with pytest.raises(InputError) as info:
        rd.Problem.from_layer(blocks_layer, blocks_graph, offices=sites)
    message = str(info.value)
    assert message.startswith(bad("offices_outside.geojson") + ": none of its 2 office site(s) lies inside a block")
    assert re.search(r"O1 \([\d,]+ m from block b\d\), O2 \([\d,]+ m from block b\d\)", message)
    assert "its CRS is right" in message
    assert info.value.ids == ["O1", "O2"]
    message = cli_error(["split", bad("blocks.geojson"), "--offices", bad("offices_outside.geojson"), "--out", tmp_path / "out"], capsys)
    assert "none of its 2 office site(s) lies inside a block: O1" in message


def test_offices_partly_outside_are_a_warning(blocks_layer, blocks_graph):
    sites = rd.read_points(bad("offices_partly_outside.geojson"))
    with pytest.warns(RedistrictWarning, match=r"1 of 2 office site\(s\) lie outside every block and are ignored: O2 \("):
        problem = rd.Problem.from_layer(blocks_layer, blocks_graph, offices=sites)
    assert problem.offices["site_id"].tolist() == ["O1"] and problem.offices["block_id"].tolist() == ["b1"]
    (finding,) = problem.findings
    assert finding.kind == "offices_outside_blocks" and finding.block_ids == ("O2",)
    assert "offices_partly_outside.geojson" in finding.message


def test_barrier_layer_without_crs_asks_for_one(blocks_layer, capsys):
    with pytest.raises(InputError) as info:
        rd.read_lines_or_polygons(bad("barrier_no_crs.shp"))
    assert "barrier_no_crs.shp: the barrier layer has no coordinate reference system" in str(info.value)
    assert ".prj" in str(info.value) and "crs=" in str(info.value)
    # build_graph used to let geopandas' "Cannot transform naive geometries" ValueError escape
    naive = gpd.read_file(bad("barrier_no_crs.shp"))
    assert naive.crs is None
    with pytest.raises(InputError, match=r"barrier layer has no coordinate reference system.*set_crs"):
        rd.build_graph(blocks_layer.blocks, barriers=naive)
    river = rd.read_lines_or_polygons(bad("barrier_no_crs.shp"), crs="EPSG:4326")
    graph = rd.build_graph(blocks_layer.blocks, barriers=river)
    assert graph.graph["barrier_removed"] == 2  # b2–b3 and b5–b6 cross the river
    assert not graph.has_edge("b2", "b3") and graph.has_edge("b1", "b2")
    message = cli_error(["check", bad("blocks.geojson"), "--barriers", bad("barrier_no_crs.shp")], capsys)
    assert "barrier_no_crs.shp: the barrier layer has no coordinate reference system" in message


# --- the graph ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def islands():
    layer = load("islands.geojson")
    return layer, rd.build_graph(layer.blocks)


def test_check_names_the_pieces_and_how_to_join_them(islands, tmp_path, capsys):
    layer, graph = islands
    report = rd.check_layer(layer, graph, lower=2500, upper=3000)
    finding = kinds(report.findings)["graph_components"]
    assert finding.severity == WARNING and set(finding.block_ids) == {"b5", "b6", "b7"}
    message = finding.message
    assert "3 separate pieces" in message
    assert "4 block(s), 2,800 households (b1, b2, b3, b4; community 黎阳)" in message
    assert "2 block(s), 600 households (b5, b6; community 昱中)" in message
    assert "1 block(s), 50 households (b7; community 昱中)" in message
    assert re.search(r"b5 and b2, are 2\d\d m apart \(more than --snap 25\); raise --snap to 2\d\d", message)
    assert "'b5,b2,add' to an --overrides CSV" in message and "'b7,b3,add'" in message
    target = tmp_path / "check.json"
    code, out, _ = run(["check", bad("islands.geojson"), "--json", target], capsys)
    assert code == 0  # the data is usable; the planner is told about the pieces
    assert "'b5,b2,add'" in flat(out)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert [c["block_ids"] for c in data["graph"]["components"]] == [["b1", "b2", "b3", "b4"], ["b5", "b6"], ["b7"]]


def test_the_suggested_override_joins_the_pieces(islands):
    layer, _ = islands
    edits = [rd.graph.EdgeOverride("b5", "b2", "add"), rd.graph.EdgeOverride("b7", "b3", "add")]
    graph = rd.build_graph(layer.blocks, overrides=edits)
    assert rd.check_layer(layer, graph, lower=2500, upper=3000).graph.connected


def test_split_names_the_pieces_that_cannot_form_a_unit(islands, tmp_path, capsys):
    layer, graph = islands
    plan = rd.solve(rd.Problem.from_layer(layer, graph, lower=500, upper=3000))
    assert plan.status == "infeasible"
    (reason,) = [r for r in plan.diagnosis.reasons if r.kind == "component_fits_no_k"]
    assert reason.block_ids == ["b7"]
    assert "(1 block(s): b7; community 昱中) holds 50 households" in reason.message
    assert "'b7,b3,add'" in reason.message
    code, out, _ = run(["split", bad("islands.geojson"), "--min", "500", "--out", tmp_path / "out"], capsys)
    assert code == 3
    assert "b7; community 昱中" in flat(out)


def test_island_without_households_is_explained(islands):
    layer, _ = islands
    blocks = layer.blocks.copy()
    blocks.loc["b7", "households"] = 0  # e.g. a park across the river
    graph = rd.build_graph(blocks)
    problem = rd.Problem(graph=graph, lower=500, upper=3000, blocks=blocks)
    diagnosis = rd.diagnose_problem(problem)
    (reason,) = [r for r in diagnosis.reasons if r.kind == "component_fits_no_k"]
    assert reason.block_ids == ["b7"]
    assert "holds no households, yet its blocks must join some unit" in reason.message


def test_block_above_max_is_infeasible_and_named(tmp_path, capsys):
    layer = load("big_block.geojson")
    plan = rd.solve(rd.Problem.from_layer(layer, rd.build_graph(layer.blocks)))
    assert plan.status == "infeasible"
    reason = next(r for r in plan.diagnosis.reasons if r.kind == "block_above_max")
    assert reason.block_ids == ["b1"]
    assert "b1 (3,500)" in reason.message and "raise --max to at least 3,500" in reason.message
    out_dir = tmp_path / "out"
    code, out, err = run(["split", bad("big_block.geojson"), "--out", out_dir], capsys)
    assert code == 3 and "Traceback" not in err  # valid data, infeasible problem
    assert "b1 (3,500)" in flat(out)
    diagnosis = json.loads((out_dir / "diagnosis.json").read_text(encoding="utf-8"))
    assert any(r["block_ids"] == ["b1"] for r in diagnosis["reasons"])


# --- round two (issue 13): silently wrong before ------------------------------------------------


def test_snapping_never_jumps_over_the_strip_and_verify_rejects_the_jump(tmp_path, capsys):
    layer = load("strip.geojson")
    graph = rd.build_graph(layer.blocks, snap=25)  # west and east lie 23 m apart, the strip between
    assert not graph.has_edge("west", "east")
    assert graph.has_edge("west", "strip") and graph.has_edge("strip", "east")
    plan = tmp_path / "jump.csv"
    plan.write_text("block_id,unit_id\nwest,U1\neast,U1\nstrip,U2\n", encoding="utf-8")
    code, _, err = run(["verify", bad("strip.geojson"), plan, "--min", "1", "--max", "3000"], capsys)
    assert code == 5 and "Unit U1 is in 2 pieces: {east}; {west}" in flat(err)


def test_block_in_a_hole_is_not_bridged_over_the_wall_around_it():
    layer = load("thin_courtyard.geojson")
    for adjacency in ("rook", "queen"):
        graph = rd.build_graph(layer.blocks, snap=25, adjacency=adjacency)
        assert {frozenset(e) for e in graph.edges} == {frozenset(("court", "inner")), frozenset(("court", "outside"))}


def test_web_mercator_layer_is_measured_in_metres_of_the_ground():
    layer = load("web_mercator.geojson")
    assert layer.source_crs.to_epsg() == 3857 and layer.blocks.crs.to_epsg() == 4548
    area = layer.blocks.geometry.area
    assert area.to_numpy() == pytest.approx(96.7 * 100.1, rel=0.01)  # not +33 %
    assert rd.build_graph(layer.blocks, snap=16).number_of_edges() == 4  # 15 m roads


def test_layer_near_the_pole_gets_a_local_projection(capsys, tmp_path):
    layer = load("near_pole.geojson")
    assert layer.blocks.crs.coordinate_operation.method_name == "Azimuthal Equidistant"
    code, out, err = run(["check", bad("near_pole.geojson"), "--min", "10", "--max", "30"], capsys)
    assert code == 0 and "internal error" not in err


def test_contradictory_locks_name_the_block_and_both_labels():
    from redistrict.io import read_lock_table

    with pytest.raises(InputError) as info:
        read_lock_table(bad("locks_conflict.csv"))
    assert "b1 → 甲 (line 2), 乙 (line 4)" in str(info.value) and info.value.ids == ["b1"]


@pytest.mark.parametrize(("name", "blocks"), [("households_boolean.geojson", "b1, b2"), ("households_all_true.geojson", "b1, b2, b3, b4")])
def test_true_false_among_household_counts_is_an_error(name, blocks, capsys):
    err = load_error(name)
    assert kinds(err.findings)["households_boolean"].severity == ERROR
    assert f"true/false, not household counts: {blocks}" in str(err)
    assert "true/false" in cli_error(["check", bad(name)], capsys)


def test_infinite_and_absurd_population_is_treated_as_missing_with_a_warning():
    layer = load("population_infinite.geojson")
    finding = kinds(layer.findings)["population_invalid"]
    assert finding.severity == WARNING and set(finding.block_ids) == {"b1", "b2"}
    assert layer.blocks["population"].iloc[2] == 1200
    assert layer.blocks["population"].iloc[:2].isna().all() and layer.total_households == 2000


def test_nan_id_is_not_taken_for_an_id(capsys):
    err = load_error("nan_id.geojson")
    assert "'NaN' (row 3)" in str(err)
    cli_error(["check", bad("nan_id.geojson")], capsys)


def test_nan_coordinates_name_the_blocks(capsys):
    assert "not a number (NaN or Infinity): b1, b2" in cli_error(["check", bad("nan_coordinate.geojson")], capsys)


def test_deeply_nested_json_is_an_input_error(capsys):
    assert "nested too deeply" in cli_error(["check", bad("deep_nesting.geojson")], capsys)


def test_two_household_columns_must_be_chosen_between(capsys):
    err = load_error("two_household_columns.geojson")
    assert "'households' (total 2,000) and '户数' (total 1,606)" in str(err)
    layer = load("two_household_columns.geojson", households_col="户数")
    assert layer.total_households == 1606


def test_community_names_with_full_width_spaces_and_traditional_variants():
    layer = load("community_variants.geojson")
    found = kinds(layer.findings)
    assert found["name_spaces"].severity == REPAIRED and "'昱\\u3000中' → '昱中'" in found["name_spaces"].message
    assert found["name_variants"].severity == WARNING and "黎阳 / 黎陽" in found["name_variants"].message
    assert layer.blocks["community"].tolist() == ["黎阳", "黎陽", "黎阳", "昱中", "昱中", "昱中"]  # not merged


def test_zip_with_two_shapefiles_needs_a_layer(capsys):
    assert "holds 2 Shapefiles (blocks, blocks_2019); choose one with --layer" in cli_error(["check", bad("two_shapefiles.zip")], capsys)
    assert len(load("two_shapefiles.zip", layer="blocks_2019")) == 2


def test_duplicate_office_site_ids_are_refused():
    with pytest.raises(InputError, match="occur more than once in column 'site_id': O1") as info:
        rd.read_points(bad("offices_duplicate_ids.geojson"))
    assert info.value.ids == ["O1"]


def test_gbk_shapefile_export_refuses_ids_it_would_lose(tmp_path, capsys):
    plan = tmp_path / "one.csv"
    layer = load("ids_not_in_gbk.geojson")
    plan.write_text("block_id,unit_id\n" + "".join(f"{b},U1\n" for b in layer.blocks.index), encoding="utf-8")
    args = ["export", bad("ids_not_in_gbk.geojson"), plan, "--min", "3000", "--max", "3000", "--format", "shp", "--dest", tmp_path / "shp"]
    err = cli_error([*args, "--encoding", "gbk"], capsys)
    assert "GBK cannot hold b1😀" in err and "longer than 254 bytes" in err and "--format gpkg" in err
    assert not (tmp_path / "shp" / "blocks.dbf").exists()


def test_scenario_named_like_the_sweeps_own_files_is_refused_before_any_run(tmp_path, capsys):
    err = cli_error(["sweep", bad("reserved_names.toml"), "--out", tmp_path / "sweep", "--scheduler", "serial"], capsys)
    assert "'comparison.html'" in err and "sweep's own files" in err
    assert not (tmp_path / "sweep").exists()


# --- round two: the assignment file -------------------------------------------------------------


@pytest.mark.parametrize("name", ["assignment_gbk.csv", "assignment_swapped.csv"])
def test_verify_reads_gbk_and_headers_in_either_order(name, capsys):
    code, out, err = run(["verify", bad("blocks.geojson"), bad(name), "--min", "3000", "--max", "3000"], capsys)
    assert code == 0, err
    assert "valid" in out


def test_verify_with_a_wrong_csv_encoding_says_so(capsys):
    err = cli_error(["verify", bad("blocks.geojson"), bad("assignment_gbk.csv"), "--csv-encoding", "utf-8"], capsys)
    assert "not valid utf-8 text" in err


# --- round two: faults answered before the work --------------------------------------------------


def test_output_under_a_file_is_refused_before_loading(tmp_path, capsys):
    (tmp_path / "report.pdf").write_text("x", encoding="utf-8")
    err = cli_error(["split", bad("blocks.geojson"), "--out", tmp_path / "report.pdf" / "OUT"], capsys)
    assert "is a file, not a folder" in err


def test_output_on_a_full_disk_is_refused_before_solving(tmp_path, capsys, monkeypatch):
    from collections import namedtuple

    from redistrict import outputs

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda _path: usage(10**9, 10**9 - 10**6, 10**6))
    err = cli_error(["split", bad("blocks.geojson"), "--out", tmp_path / "OUT", "--min", "1400", "--max", "1600"], capsys)
    assert "only 1.0 MB are free" in err and str(tmp_path) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no lock left behind


def test_a_second_run_on_the_same_new_folder_fails_clearly(tmp_path):
    import subprocess
    import sys

    from redistrict.outputs import check_target

    out = tmp_path / "OUT"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys, time; from redistrict.outputs import check_target; check_target({str(out)!r}); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match=f"another redistrict run \\(process {holder.pid}\\) is writing this folder"):
            check_target(out)
    finally:
        holder.kill()
        holder.wait()
    check_target(out)  # the lock of a run that is gone is taken over
    from redistrict.outputs import release_target

    release_target(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_ctrl_c_while_writing_says_so_and_leaves_the_previous_output(tmp_path, capsys, monkeypatch):
    from redistrict import outputs

    out = tmp_path / "OUT"
    assert run(["split", bad("blocks.geojson"), "--out", out, "--min", "1400", "--max", "1600"], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "write_geojson", interrupted)
    code, _, err = run(["split", bad("blocks.geojson"), "--out", out, "--min", "1400", "--max", "1600", "--force"], capsys)
    assert code == 130 and "interrupted" in err and f"{out} is as it was" in flat(err)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["OUT"]
