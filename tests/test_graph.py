"""The block adjacency graph on hand-made layouts: rook/queen, snapping, barriers, overrides."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pytest
from conftest import ORIGIN, UTM50, make_grid, utm_blocks, vertical_line
from shapely.geometry import MultiPolygon, box

from redistrict.errors import InputError
from redistrict.graph import EdgeOverride, build_graph, diagnose_graph, read_overrides
from redistrict.io import from_geodataframe


def rook_pairs(rows: int, cols: int) -> set[frozenset[str]]:
    pairs = set()
    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols:
                pairs.add(frozenset((f"r{r}c{c}", f"r{r}c{c + 1}")))
            if r + 1 < rows:
                pairs.add(frozenset((f"r{r}c{c}", f"r{r + 1}c{c}")))
    return pairs


def edge_set(graph: nx.Graph) -> set[frozenset[str]]:
    return {frozenset(e) for e in graph.edges}


@pytest.fixture
def blocks3():
    """The 3×3 grid with 15 m roads, loaded from WGS84 as a user would."""
    return from_geodataframe(make_grid()).blocks


# --- rook / queen / snapping -------------------------------------------------------------------


def test_rook_with_snap_bridges_roads_but_not_diagonals(blocks3):
    graph = build_graph(blocks3, snap=25)
    assert graph.number_of_nodes() == 9
    assert graph.number_of_edges() == 12
    assert edge_set(graph) == rook_pairs(3, 3)
    assert not graph.has_edge("r0c0", "r1c1")
    for _, _, data in graph.edges(data=True):
        assert data["length"] > 0
        assert data["distance"] == pytest.approx(115.0, abs=0.5)
        assert data["snapped"] is True
        assert data["override"] is False


def test_no_snap_means_no_edges_across_roads(blocks3):
    graph = build_graph(blocks3, snap=0)
    assert graph.number_of_edges() == 0
    assert nx.number_connected_components(graph) == 9
    diag = diagnose_graph(graph)
    assert len(diag.components) == 9 and not diag.connected
    assert diag.degree["isolated"] == sorted(blocks3.index)


def test_snap_smaller_than_the_road_gives_no_edges(blocks3):
    assert build_graph(blocks3, snap=10).number_of_edges() == 0


def test_queen_adds_the_diagonals(blocks3):
    graph = build_graph(blocks3, adjacency="queen", snap=25)
    assert graph.number_of_edges() == 20
    assert graph.has_edge("r0c0", "r1c1") and graph.has_edge("r0c2", "r1c1")
    assert graph.edges["r0c0", "r1c1"]["distance"] == pytest.approx(115.0 * 2**0.5, abs=0.5)
    assert edge_set(graph) >= rook_pairs(3, 3)


def test_exactly_shared_boundary_is_adjacent_without_snapping():
    blocks = utm_blocks(1, 2, gap=0.0)
    graph = build_graph(blocks, snap=0)
    assert edge_set(graph) == {frozenset(("r0c0", "r0c1"))}
    data = graph.edges["r0c0", "r0c1"]
    assert data["snapped"] is False
    assert data["length"] == pytest.approx(100.0)
    assert data["distance"] == pytest.approx(100.0)
    # with snapping on, a touching pair is still "not snapped" and its length is the shared side
    data = build_graph(blocks, snap=25).edges["r0c0", "r0c1"]
    assert data["snapped"] is False and data["length"] == pytest.approx(100.0)


def test_corner_touch_is_queen_but_not_rook():
    x, y = ORIGIN
    blocks = gpd.GeoDataFrame(
        {"households": [5, 7]},
        index=["a", "b"],
        geometry=[box(x, y, x + 100, y + 100), box(x + 100, y + 100, x + 200, y + 200)],
        crs=UTM50,
    )
    for snap in (0, 25):
        assert build_graph(blocks, adjacency="rook", snap=snap).number_of_edges() == 0
        queen = build_graph(blocks, adjacency="queen", snap=snap)
        assert edge_set(queen) == {frozenset(("a", "b"))}


@pytest.mark.parametrize("gap", [2.0, 5.0, 8.0, 15.0])
def test_diagonals_across_narrow_roads_are_not_rook_adjacent(gap):
    graph = build_graph(utm_blocks(3, 3, gap=gap), snap=25)
    assert edge_set(graph) == rook_pairs(3, 3)
    assert build_graph(utm_blocks(3, 3, gap=gap), adjacency="queen", snap=25).number_of_edges() == 20


@pytest.mark.parametrize(("offset", "adjacent"), [(90.0, False), (40.0, True)])
def test_frontage_across_a_road_must_reach_min_frontage(offset, adjacent):
    # b faces a across a 10 m road along 100 - offset metres (min_frontage is 30 m)
    x, y = ORIGIN
    blocks = gpd.GeoDataFrame(
        {"households": [5, 7]},
        index=["a", "b"],
        geometry=[box(x, y, x + 100, y + 100), box(x + 110, y + offset, x + 210, y + offset + 100)],
        crs=UTM50,
    )
    graph = build_graph(blocks, snap=25)
    assert graph.has_edge("a", "b") is adjacent
    if adjacent:
        assert graph.edges["a", "b"]["length"] >= 100 - offset


def test_overlapping_blocks_are_adjacent():
    x, y = ORIGIN
    blocks = gpd.GeoDataFrame(
        {"households": [5, 7]},
        index=["a", "b"],
        geometry=[box(x, y, x + 100, y + 100), box(x + 90, y, x + 190, y + 100)],
        crs=UTM50,
    )
    graph = build_graph(blocks, snap=0)
    assert graph.has_edge("a", "b") and graph.edges["a", "b"]["snapped"] is False


# --- barriers ----------------------------------------------------------------------------------


def test_river_between_columns_removes_three_edges_and_splits(blocks3):
    river = vertical_line(107.5)  # in the road between column 0 and column 1
    graph = build_graph(blocks3, snap=25, barriers=river)
    assert graph.number_of_edges() == 9
    removed = rook_pairs(3, 3) - edge_set(graph)
    assert removed == {frozenset((f"r{r}c0", f"r{r}c1")) for r in range(3)}
    assert graph.graph["barrier_removed"] == 3

    diag = diagnose_graph(graph)
    assert not diag.connected
    assert diag.barrier_removed == 3
    assert diag.components == [
        {"blocks": 6, "households": 600, "block_ids": sorted(f"r{r}c{c}" for r in range(3) for c in (1, 2))},
        {"blocks": 3, "households": 300, "block_ids": ["r0c0", "r1c0", "r2c0"]},
    ]


def test_barrier_in_wgs84_works_the_same(blocks3):
    river = vertical_line(107.5, crs="EPSG:4326")
    assert river.crs.to_epsg() == 4326
    graph = build_graph(blocks3, snap=25, barriers=river)
    assert graph.number_of_edges() == 9
    assert nx.number_connected_components(graph) == 2
    assert not graph.has_edge("r1c0", "r1c1")


def test_barrier_polygon_and_river_along_a_bank(blocks3):
    x, y = ORIGIN
    water = gpd.GeoDataFrame(geometry=[box(x + 102, y - 500, x + 113, y + 2000)], crs=UTM50)
    assert build_graph(blocks3, snap=25, barriers=water).number_of_edges() == 9
    # a river inside column 2's road-free east side crosses no edge
    assert build_graph(blocks3, snap=25, barriers=vertical_line(400.0)).number_of_edges() == 12


def test_override_add_restores_an_edge_across_the_river(blocks3):
    overrides = [EdgeOverride("r1c0", "r1c1", "add", "bridge")]
    graph = build_graph(blocks3, snap=25, barriers=vertical_line(107.5), overrides=overrides)
    assert nx.is_connected(graph)
    assert graph.number_of_edges() == 10
    data = graph.edges["r1c0", "r1c1"]
    assert data["override"] is True
    assert data["note"] == "bridge"
    assert data["distance"] == pytest.approx(115.0, abs=0.5)
    diag = diagnose_graph(graph)
    assert diag.connected and diag.overrides_added == 1


def test_override_remove_deletes_an_edge(blocks3):
    graph = build_graph(blocks3, snap=25, overrides=[EdgeOverride("r0c0", "r0c1", "remove")])
    assert not graph.has_edge("r0c0", "r0c1")
    assert graph.number_of_edges() == 11
    assert diagnose_graph(graph).overrides_removed == 1


def test_override_with_unknown_block_names_it(blocks3):
    with pytest.raises(InputError) as info:
        build_graph(blocks3, overrides=[EdgeOverride("r0c0", "r9c9", "add")])
    assert "r9c9" in str(info.value)
    assert "r0c0" not in str(info.value)
    assert list(info.value.ids) == ["r9c9"]


def test_read_overrides(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text("block_a,block_b,action,note\nr1c0, r1c1 ,ADD,新安江大桥\nr0c0,r0c1,remove,\n", encoding="utf-8")
    assert read_overrides(path) == [
        EdgeOverride("r1c0", "r1c1", "add", "新安江大桥"),
        EdgeOverride("r0c0", "r0c1", "remove", ""),
    ]


def test_read_overrides_bad_action_names_the_line(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text("block_a,block_b,action\nr1c0,r1c1,add\nr0c0,r0c1,delete\n")
    with pytest.raises(InputError) as info:
        read_overrides(path)
    message = str(info.value)
    assert "line 3" in message and "'delete'" in message and str(path) in message


def test_read_overrides_missing_columns_and_file(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text("a,b\nr1c0,r1c1\n")
    with pytest.raises(InputError, match="missing action, block_a, block_b"):
        read_overrides(path)
    with pytest.raises(InputError, match="no such file"):
        read_overrides(tmp_path / "nope.csv")


# --- nodes and diagnostics ---------------------------------------------------------------------


def test_node_attributes(blocks3):
    graph = build_graph(blocks3)
    node = graph.nodes["r0c0"]
    assert node["households"] == 100
    assert node["population"] == 240
    assert node["lon"] == pytest.approx(118.31, abs=0.01)
    assert node["lat"] == pytest.approx(29.71, abs=0.01)
    assert node["area"] == pytest.approx(10_000.0, rel=1e-3)
    assert node["community"] == "A"
    assert node["subdistrict"] == "S"
    assert node["name"] == "小区0"
    centroid = blocks3.geometry.loc["r0c0"].centroid
    assert (node["x"], node["y"]) == pytest.approx((centroid.x, centroid.y))
    east = graph.nodes["r0c1"]
    assert east["x"] - node["x"] == pytest.approx(115.0, abs=0.5)
    assert graph.graph["crs"] == "EPSG:4548"  # CGCS2000 Gauss-Kruger CM 117E


def test_node_attributes_without_optional_columns():
    x, y = ORIGIN
    blocks = gpd.GeoDataFrame({"households": [3]}, index=["only"], geometry=[box(x, y, x + 10, y + 10)], crs=UTM50)
    node = build_graph(blocks).nodes["only"]
    assert node["households"] == 3
    assert node["population"] is None and node["community"] is None and node["name"] is None


def test_diagnose_oversize_degrees_and_isolated():
    households = [100, 100, 100, 100, 900, 100, 100, 100, 50]
    gdf = make_grid(crs=UTM50, households=households)
    # move r2c2 far away so that it is isolated
    gdf.loc[8, "geometry"] = box(ORIGIN[0] + 5000, ORIGIN[1], ORIGIN[0] + 5100, ORIGIN[1] + 100)
    blocks = from_geodataframe(gdf).blocks
    graph = build_graph(blocks, snap=25)
    diag = diagnose_graph(graph, max_households=500)
    assert diag.oversize_blocks == [{"block_id": "r1c1", "households": 900}]
    assert diag.degree["isolated"] == ["r2c2"]
    assert diag.degree["min"] == 0
    assert diag.degree["max"] == 4  # r1c1
    assert diag.n_edges == 10 and diag.n_blocks == 9
    assert diag.degree["mean"] == pytest.approx(2 * 10 / 9, abs=0.01)
    assert diag.snapped_edges == 10
    assert [c["households"] for c in diag.components] == [1600, 50]
    assert diag.components[1]["block_ids"] == ["r2c2"]
    as_dict = diag.to_dict()
    assert as_dict["connected"] is False and as_dict["n_edges"] == 10
    assert diagnose_graph(graph).oversize_blocks == []


# --- scale and bad options ---------------------------------------------------------------------


def test_large_grid_has_exact_rook_edge_count():
    blocks = utm_blocks(60, 60)
    graph = build_graph(blocks, snap=25)
    assert graph.number_of_nodes() == 3600
    assert graph.number_of_edges() == 2 * 60 * 59
    assert nx.is_connected(graph)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"adjacency": "hex"}, "adjacency must be one of rook, queen, got 'hex'"),
        ({"snap": -1.0}, "snap must be a distance in metres ≥ 0, got -1.0"),
        ({"snap": float("nan")}, "snap must be a distance"),
    ],
)
def test_bad_options_are_input_errors(blocks3, kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        build_graph(blocks3, **kwargs)


def test_geographic_crs_is_rejected():
    blocks = make_grid().set_index("block_id")  # WGS84
    with pytest.raises(InputError, match="metric \\(projected\\) CRS"):
        build_graph(blocks)


def test_multipolygon_and_courtyard_blocks_snap_across_roads():
    x, y = ORIGIN
    ring = box(x + 115, y, x + 215, y + 100)
    courtyard = ring.difference(box(x + 140, y + 25, x + 190, y + 75))  # polygon with a hole
    two_parts = MultiPolygon([box(x, y, x + 100, y + 100), box(x, y + 1000, x + 100, y + 1100)])
    blocks = gpd.GeoDataFrame(
        {"households": [5, 7, 9]},
        index=["m", "h", "far"],
        geometry=[two_parts, courtyard, box(x + 115, y + 1000, x + 215, y + 1100)],
        crs=UTM50,
    )
    graph = build_graph(blocks, snap=25)
    assert edge_set(graph) == {frozenset(("m", "h")), frozenset(("m", "far"))}
    assert graph.edges["m", "h"]["length"] >= 100


# --- snap edges cross empty space only --------------------------------------------------------


def strip_layout(strip_length: float = 100.0) -> gpd.GeoDataFrame:
    """A | 5 m | S (15 m wide, ``strip_length`` long) | 5 m | B: A and B lie 25 m apart."""
    x, y = ORIGIN
    geoms = [box(x, y, x + 100, y + 100), box(x + 105, y, x + 120, y + strip_length), box(x + 125, y, x + 225, y + 100)]
    return gpd.GeoDataFrame({"households": [10, 1, 10]}, index=["A", "S", "B"], geometry=geoms, crs=UTM50)


@pytest.mark.parametrize("adjacency", ["rook", "queen"])
def test_snap_never_jumps_over_a_block_in_the_gap(adjacency):
    graph = build_graph(strip_layout(), snap=25, adjacency=adjacency)
    assert edge_set(graph) == {frozenset(("A", "S")), frozenset(("S", "B"))}


def test_snap_counts_only_the_open_part_of_a_frontage():
    # S fills half the road between A and B; across the other 50 m they face each other over
    # empty road, so they are neighbours with 50 m of frontage (not 100).
    graph = build_graph(strip_layout(50.0), snap=25)
    assert graph.has_edge("A", "B")
    assert graph.edges["A", "B"]["length"] == pytest.approx(50.0, abs=2.5)
    # ... and with only 20 m open, below --min-frontage 30, they are not.
    assert not build_graph(strip_layout(80.0), snap=25).has_edge("A", "B")


def test_verifier_rejects_a_unit_that_jumps_over_the_strip():
    from redistrict.verify import verify_plan

    graph = build_graph(strip_layout(), snap=25)
    report = verify_plan(graph, {"A": "U1", "B": "U1", "S": "U2"})
    assert [v.kind for v in report.violations] == ["not_contiguous"]


def test_block_in_a_hole_is_not_bridged_across_the_thin_ring_around_it():
    x, y = ORIGIN
    court = box(x, y, x + 300, y + 300).difference(box(x + 8, y + 8, x + 292, y + 292))  # an 8 m wall
    blocks = gpd.GeoDataFrame(
        {"households": [5, 7, 9]},
        index=["court", "inner", "east"],
        geometry=[court, box(x + 12, y + 12, x + 288, y + 288), box(x + 305, y, x + 400, y + 300)],
        crs=UTM50,
    )
    for adjacency in ("rook", "queen"):
        graph = build_graph(blocks, snap=25, adjacency=adjacency)
        assert edge_set(graph) == {frozenset(("court", "inner")), frozenset(("court", "east"))}, adjacency


def test_blocks_touching_the_road_edge_do_not_block_it(blocks3):
    # the 3×3 grid's roads are empty: every rook pair keeps at least its 100 m facing side,
    # though the blocks at the crossings touch the ends of each road
    graph = build_graph(blocks3, snap=25)
    assert graph.number_of_edges() == 12
    assert all(length >= 100.0 - 1e-6 for *_, length in graph.edges(data="length"))


@pytest.mark.parametrize("value", [5.5, True, float("inf"), -3])
def test_blocks_given_directly_need_whole_household_counts(value):
    # build_graph on a frame that did not come through load_blocks: nothing is truncated
    blocks = utm_blocks(2, 2, households=[1, 1, 1, 1])
    blocks["households"] = blocks["households"].astype(object)
    blocks.loc["r0c0", "households"] = value
    with pytest.raises(InputError, match="whole numbers ≥ 0") as info:
        build_graph(blocks)
    assert info.value.ids == ["r0c0"]


def test_blocks_given_directly_need_unique_ids():
    blocks = utm_blocks(1, 2)
    blocks.index = ["x", "x"]
    with pytest.raises(InputError, match="more than once: x"):
        build_graph(blocks)


@pytest.mark.parametrize("bad", [float("nan"), "many", True, 2.5, -1])
def test_a_prebuilt_graph_with_bad_households_names_the_node(bad):
    import networkx as nx

    from redistrict.graph import graph_from_networkx

    graph = nx.path_graph(3)
    for node in graph:
        graph.nodes[node]["pop"] = 10
    graph.nodes[1]["pop"] = bad
    with pytest.raises(InputError, match="Node 1: 'pop' must be a whole number") as caught:
        graph_from_networkx(graph, weight="pop")
    assert caught.value.ids == [1]


def test_a_prebuilt_graph_with_a_nan_coordinate_names_the_node():
    import networkx as nx

    from redistrict.graph import graph_from_networkx

    graph = nx.path_graph(2)
    graph.nodes[0].update(pop=1, cx=118.3, cy=29.7)
    graph.nodes[1].update(pop=1, cx=float("nan"), cy=29.7)
    with pytest.raises(InputError, match="Node 1: coordinate 'cx'"):
        graph_from_networkx(graph, weight="pop", x="cx", y="cy")
