"""Tessellated unit boundaries: they tile the study area, neighbours share exact edges."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import ORIGIN, UTM50, utm_blocks
from shapely.geometry import box

from redistrict import boundaries
from redistrict.errors import InputError
from redistrict.graph import build_graph

#: relative area difference allowed between the units' union and the study area (snap rounding
#: to the 0.1 m grid moves the outline by at most a few centimetres)
AREA_RTOL = 1e-5


def random_layout(seed: int, n: int = 40, gap: float = 12.0) -> gpd.GeoDataFrame:
    """Blocks as Voronoi cells of random sites, shrunk by half a road: irregular, city-like."""
    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    sites = shapely.points(rng.uniform(0, 1000, size=(n, 2)) + (x0, y0))
    frame = box(x0, y0, x0 + 1000, y0 + 1000)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=frame))
    cells = shapely.buffer(shapely.intersection(cells, frame), -gap / 2, join_style="mitre")
    cells = cells[~shapely.is_empty(cells)]
    ids = [f"b{i}" for i in range(len(cells))]
    return gpd.GeoDataFrame(
        {"households": 100}, geometry=list(cells), index=pd.Index(ids, name="block_id"), crs=UTM50
    )


def units_by_stripes(blocks: gpd.GeoDataFrame, k: int) -> pd.Series:
    """Units as vertical stripes of block centroids (contiguous or not: the test checks which)."""
    x = blocks.geometry.centroid.x
    edges = np.quantile(x, np.linspace(0, 1, k + 1)[1:-1])
    return pd.Series(
        [f"U{int(i) + 1}" for i in np.searchsorted(edges, x)], index=blocks.index, name="unit_id"
    )


def check_tiling(units: gpd.GeoSeries, area) -> None:
    """The units cover ``area`` without gaps or overlaps."""
    union = shapely.union_all(units.values)
    assert abs(union.area - area.area) <= AREA_RTOL * area.area
    assert shapely.symmetric_difference(union, area).area <= AREA_RTOL * area.area
    for a, b in itertools.combinations(units.values, 2):
        assert shapely.intersection(a, b).area < 1e-6


def check_units(blocks: gpd.GeoDataFrame, assignment: pd.Series, units: gpd.GeoSeries) -> None:
    """A contiguous unit is one Polygon (never more parts than graph pieces); graph neighbours
    in different units share a boundary line."""
    graph = build_graph(blocks)
    for unit_id, geom in units.items():
        members = assignment.index[assignment == unit_id]
        pieces = nx.number_connected_components(graph.subgraph(members))
        assert len(shapely.get_parts(geom)) <= pieces, unit_id
        if pieces == 1:
            assert geom.geom_type == "Polygon", unit_id
        for block in members:  # every block lies inside its unit's polygon
            assert geom.buffer(0.1).covers(blocks.geometry[block])
    for a, b in graph.edges:
        ua, ub = assignment[a], assignment[b]
        if ua != ub:
            shared = shapely.intersection(units[ua], units[ub])
            assert shared.length > 1.0 and shared.area < 1e-6, (ua, ub)


def test_grid_units_tile_the_study_area_with_one_polygon_each():
    blocks = utm_blocks(4, 4, gap=15.0)
    assignment = pd.Series(["A", "A", "B", "B"] * 2 + ["C", "C", "D", "D"] * 2, index=blocks.index)
    units = boundaries.unit_boundaries(blocks, assignment)
    area = boundaries.study_area(blocks)
    assert list(units.index) == ["A", "B", "C", "D"]
    assert (units.geom_type == "Polygon").all()
    assert all(len(p.interiors) == 0 for p in units.values)  # road gaps are no holes
    check_tiling(units, area)
    check_units(blocks, assignment, units)
    # the line between A (west) and B (east) runs along the road's centre line, 7.5 m from each
    line = shapely.intersection(units["A"], units["B"])
    x = ORIGIN[0] + 2 * 100 + 15 + 7.5
    assert np.allclose(shapely.get_coordinates(line)[:, 0], x, atol=0.11)


def test_study_area_closes_road_gaps_and_keeps_real_holes():
    blocks = utm_blocks(5, 5, size=150.0, gap=15.0).drop(index="r2c2")  # a park in the middle
    area = boundaries.study_area(blocks)
    assert area.geom_type == "Polygon" and len(area.interiors) == 1
    park = shapely.Polygon(area.interiors[0])
    assert 150 * 150 <= park.area <= 180 * 180
    units = boundaries.unit_boundaries(blocks, pd.Series("U1", index=blocks.index))
    assert (
        len(units) == 1
        and units.iloc[0].geom_type == "Polygon"
        and len(units.iloc[0].interiors) == 1
    )
    check_tiling(units, area)


def test_touching_blocks_keep_their_exact_shared_edge():
    blocks = utm_blocks(3, 3, gap=0.0)
    assignment = pd.Series(["W", "E", "E"] * 3, index=blocks.index)
    units = boundaries.unit_boundaries(blocks, assignment)
    check_tiling(units, boundaries.study_area(blocks))
    shared = shapely.intersection(units["W"], units["E"])
    assert shared.length == pytest.approx(300.0, abs=0.2)
    assert np.allclose(shapely.get_coordinates(shared)[:, 0], ORIGIN[0] + 100, atol=0.06)


@pytest.mark.parametrize("seed", range(6))
def test_random_layouts_tile_and_share_edges(seed):
    blocks = random_layout(seed)
    assignment = units_by_stripes(blocks, 4)
    units = boundaries.unit_boundaries(blocks, assignment)
    check_tiling(units, boundaries.study_area(blocks))
    check_units(blocks, assignment, units)


def test_neighbours_share_their_vertices_exactly():
    blocks = random_layout(7)
    units = boundaries.unit_boundaries(blocks, units_by_stripes(blocks, 3))
    for a, b in itertools.combinations(units.values, 2):
        shared = shapely.intersection(a, b)
        if shared.length == 0:
            continue
        va = {tuple(p) for p in shapely.get_coordinates(a)}
        vb = {tuple(p) for p in shapely.get_coordinates(b)}
        # every vertex of the shared line is a vertex of both polygons (no vertex lies on the
        # other polygon's edge between two of its vertices: the line is the same on both sides)
        for point in shapely.get_coordinates(shapely.line_merge(shared)):
            assert tuple(point) in va and tuple(point) in vb


def test_block_cells_tile_the_area_and_hold_their_block():
    blocks = random_layout(3, n=25)
    cells = boundaries.block_cells(blocks)
    assert list(cells.index) == list(blocks.index)
    check_tiling(cells, boundaries.study_area(blocks))
    for block, geom in blocks.geometry.items():
        assert cells[block].buffer(0.1).covers(geom)


def test_a_boundary_layer_is_tiled_whole():
    blocks = utm_blocks(3, 3)
    x0, y0 = ORIGIN
    district = gpd.GeoDataFrame(
        geometry=[
            box(x0 - 100, y0 - 100, x0 + 445, y0 + 445),
            box(x0 + 5000, y0, x0 + 6000, y0 + 1000),
        ],
        crs=UTM50,
    )
    assignment = pd.Series(["A"] * 3 + ["B"] * 6, index=blocks.index)
    units = boundaries.unit_boundaries(blocks, assignment, limit=district.to_crs("EPSG:4326"))
    check_tiling(units, district.geometry.iloc[0])  # the polygon far away holds no block: left out
    with pytest.raises(InputError, match="covers none of the blocks"):
        boundaries.unit_boundaries(blocks, assignment, limit=district.iloc[[1]])


def test_lon_lat_blocks_are_measured_in_metres_and_unknown_blocks_refused():
    blocks = utm_blocks(2, 2).to_crs("EPSG:4326")
    assignment = pd.Series(["A", "A", "B", "B"], index=blocks.index)
    units = boundaries.unit_boundaries(blocks, assignment)
    assert units.crs.is_projected
    with pytest.raises(InputError, match="does not have: nope"):
        boundaries.unit_boundaries(blocks, pd.concat([assignment, pd.Series({"nope": "A"})]))


def test_a_unit_in_pieces_stays_in_pieces():
    blocks = utm_blocks(3, 3)
    assignment = pd.Series("Y", index=blocks.index)
    assignment[["r0c0", "r2c2"]] = "X"
    units = boundaries.unit_boundaries(blocks, assignment)
    assert units["X"].geom_type == "MultiPolygon" and len(units["X"].geoms) == 2
    assert units["Y"].geom_type == "Polygon"
    check_tiling(units, boundaries.study_area(blocks))
