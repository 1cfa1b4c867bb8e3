"""Unit boundaries that tile the planned area: each block owns the road space nearest to it.

A plan assigns blocks (小区) to units, but the blocks leave the roads between them out, so the
union of a unit's blocks is a bag of parts with no boundary line.  This module draws the line the
city GIS needs: a *tessellation* of the study area (the blocks with the road gaps between them
closed, or a boundary layer the user gives) into one cell per block — the block itself plus the
road space nearer to it than to any other block — dissolved per unit.

How: the block boundaries are sampled every ``spacing_m`` metres; the Voronoi ridges between
samples of *different* blocks approximate the centre lines of the roads.  Those ridges, the block
boundaries and the study area's boundary are noded once (snap-rounded to ``grid_m``) and
polygonised, so every face comes from one planar arrangement; a face inside a block belongs to
it, any other face to the block nearest to it (exact polygon distance).  Dissolving faces per
unit with a coverage union keeps every shared edge vertex for vertex: neighbouring units have
exactly the same boundary line, with no slivers, gaps or overlaps, and each block lies inside
its unit's polygon.  Holes remain only where the study area has them (gaps wider than
``2 · closing_m`` enclosed by blocks: a lake, a large park).

momepy's ``morphological_tessellation`` does the same for buildings, but momepy 1.0 needs
Python ≥ 3.12 and approximates the edges between touching blocks; this needs only shapely and
scipy.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import Delaunay
from shapely.geometry.base import BaseGeometry

from .errors import InputError

#: road gaps up to twice this (m) are closed into the default study area
CLOSING_M = 50.0
#: distance between samples of the block boundaries (m): roads' centre lines come out within
#: about spacing² / (8 · road width) of the true one before smoothing
SPACING_M = 10.0
#: every vertex of the tessellation lies on this grid (m); well above 1e-7° (~1 cm), so
#: rounding to RFC 7946's 7 decimals keeps neighbours' shared vertices shared
GRID_M = 0.1
#: ridges are smoothed by this (m) before noding (it removes the sampling's zigzag)
SMOOTH_M = 2.0

#: what a unit's geometry can be: the tessellation, or the union of its blocks
UNIT_GEOMETRIES = ("tessellated", "blocks")


def _metric(blocks: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoSeries:
    """The block geometries as a GeoSeries in a projected (metre) CRS."""
    geoms = blocks.geometry if isinstance(blocks, gpd.GeoDataFrame) else blocks
    if geoms.crs is None:
        raise InputError("The blocks have no CRS, so road space cannot be measured in metres.")
    if not geoms.crs.is_projected:
        geoms = geoms.to_crs(geoms.estimate_utm_crs())
    return geoms


def _limit_geometry(limit, crs, points: np.ndarray) -> BaseGeometry:
    """The features of ``limit`` that hold a block's representative point, as one geometry."""
    if isinstance(limit, BaseGeometry):
        parts = np.array(shapely.get_parts(limit))
    else:
        series = limit.geometry if isinstance(limit, gpd.GeoDataFrame) else limit
        if series.crs is not None and crs is not None:
            series = series.to_crs(crs)
        parts = np.array(shapely.get_parts(series.values))
    parts = parts[shapely.get_dimensions(parts) == 2] if len(parts) else parts
    if not len(parts):
        raise InputError(
            "The study-area layer holds no polygons; give the planned area's boundary as polygons."
        )
    tree = shapely.STRtree(parts)
    _, hit = tree.query(points, predicate="within")
    if not len(hit):
        raise InputError(
            "The study-area layer covers none of the blocks; is it the boundary of the planned area (and in the right CRS)?"
        )
    return shapely.union_all(parts[np.unique(hit)])


def study_area(
    blocks: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    limit: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None = None,
    closing_m: float = CLOSING_M,
    grid_m: float = GRID_M,
) -> BaseGeometry:
    """The area the units tile, in the blocks' metric CRS.

    Default: the blocks with every gap of up to ``2 · closing_m`` between them closed (so roads
    are inside, and only wider enclosed spaces stay holes).  With ``limit`` (a boundary layer,
    e.g. the subdistrict's), the union of its polygons that hold a block, extended to cover every
    block whole.
    """
    geoms = _metric(blocks)
    values = shapely.set_precision(geoms.values, grid_m)
    if limit is not None:
        outline = _limit_geometry(limit, geoms.crs, shapely.point_on_surface(values))
    else:
        grown = shapely.buffer(values, closing_m, join_style="mitre")
        outline = shapely.buffer(shapely.union_all(grown), -closing_m, join_style="mitre")
    outline = shapely.set_precision(outline, grid_m)
    shapely.prepare(outline)
    # blocks not wholly inside: corners a mitre cut off, or parts beyond the limit
    outside = values[~shapely.covers(outline, values)]
    return (
        shapely.union_all(np.append(outside, outline), grid_size=grid_m)
        if len(outside)
        else outline
    )


def _samples(values: np.ndarray, spacing_m: float, grid_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``spacing_m`` along the block boundaries and the block (index) each lies on.

    A point shared by two touching blocks is kept once.
    """
    lines = shapely.segmentize(shapely.boundary(values), spacing_m)
    points, owner = shapely.get_coordinates(lines, return_index=True)
    _, first = np.unique(np.round(points / grid_m).astype(np.int64), axis=0, return_index=True)
    return points[first], owner[first]


def _circumcentres(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The circumcentre of each triangle (rows of three point indices)."""
    a, b, c = (points[triangles[:, i]] for i in range(3))
    b, c = b - a, c - a
    d = 2 * (b[:, 0] * c[:, 1] - b[:, 1] * c[:, 0])
    d = np.where(d == 0, np.finfo(float).tiny, d)
    bb, cc = (b**2).sum(axis=1), (c**2).sum(axis=1)
    return (
        a + np.column_stack([c[:, 1] * bb - b[:, 1] * cc, b[:, 0] * cc - c[:, 0] * bb]) / d[:, None]
    )


def _unit(lines: np.ndarray) -> np.ndarray:
    """Unit vectors from each line's far end (on a block) to its start (the point)."""
    vector = lines[:, 0] - lines[:, 1]
    length = np.hypot(vector[:, 0], vector[:, 1])
    return vector / np.where(length > 0, length, np.inf)[:, None]


def _distances(xy: np.ndarray, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each point to its polygon and the gradient of that distance."""
    lines = shapely.shortest_line(shapely.points(xy), polygons)
    return shapely.length(lines), _unit(shapely.get_coordinates(lines).reshape(-1, 2, 2))


def _on_bisector(
    xy: np.ndarray, blocks: list[np.ndarray], values: np.ndarray, limit_m: float
) -> np.ndarray:
    """Move points onto the line equidistant from two blocks (or the point equidistant from three).

    Sampling puts Voronoi vertices up to spacing² / (8 · road width) off the road's centre line;
    two Newton steps with exact polygon distances put them on it.  No step is longer than
    ``limit_m``; points where the blocks do not face each other stay where they are.
    """
    for _ in range(2):
        (da, ga), *others = (_distances(xy, values[b]) for b in blocks)
        rows = [ga - g for _, g in others]  # gradients of d_a - d_b (and d_a - d_c)
        excess = np.stack([da - d for d, _ in others], axis=1)
        jacobian = np.stack(rows, axis=1)  # n × equations × 2
        if len(rows) == 1:
            norm = (rows[0] ** 2).sum(axis=1)
            ok = norm > 0.5
            step = rows[0] * (excess[:, 0] / np.where(ok, norm, 1.0))[:, None]
        else:
            det = np.linalg.det(jacobian)
            ok = np.abs(det) > 0.25
            jacobian[~ok] = np.eye(2)
            step = np.linalg.solve(jacobian, excess[..., None])[..., 0]
        length = np.hypot(step[:, 0], step[:, 1])
        ok &= np.isfinite(length) & (length <= limit_m)
        xy = np.where(ok[:, None], xy - np.nan_to_num(step), xy)
    return xy


def _ridges(
    points: np.ndarray,
    owner: np.ndarray,
    values: np.ndarray,
    bounds: tuple[float, float, float, float],
    spacing_m: float,
) -> np.ndarray:
    """The road centre lines: Voronoi ridges between samples of different blocks, one line per run.

    Each ridge is dual to a Delaunay edge: it joins the circumcentres of the two triangles on
    either side (four far corner points keep every ridge between real samples finite).  The
    ridges of each pair of blocks are merged and simplified, then their vertices are moved onto
    the exact bisector; junctions of three blocks onto the point equidistant from all three.
    """
    minx, miny, maxx, maxy = bounds
    span = 3 * max(maxx - minx, maxy - miny, 1.0)
    frame = np.array(
        [
            [minx - span, miny - span],
            [maxx + span, miny - span],
            [maxx + span, maxy + span],
            [minx - span, maxy + span],
        ]
    )
    labels = np.append(owner, [-1, -2, -3, -4])
    mesh = Delaunay(np.vstack([points, frame]))
    triangles, neighbours = mesh.simplices, mesh.neighbors
    centres = _circumcentres(mesh.points, triangles)
    tl = labels[triangles]
    three = (
        (tl >= 0).all(axis=1)
        & (tl[:, 0] != tl[:, 1])
        & (tl[:, 1] != tl[:, 2])
        & (tl[:, 0] != tl[:, 2])
    )
    centres[three] = _on_bisector(
        centres[three], [tl[three, 0], tl[three, 1], tl[three, 2]], values, spacing_m
    )
    ends, pairs = [], []
    for k in range(3):
        la, lb = tl[:, (k + 1) % 3], tl[:, (k + 2) % 3]
        other = neighbours[:, k]
        keep = np.flatnonzero(
            (other > np.arange(len(triangles))) & (la != lb) & (la >= 0) & (lb >= 0)
        )
        ends.append(np.stack([centres[keep], centres[other[keep]]], axis=1))
        pairs.append(np.sort(np.stack([la[keep], lb[keep]], axis=1), axis=1))
    ends, pairs = np.concatenate(ends), np.concatenate(pairs)
    if not len(ends):
        return np.empty(0, dtype=object)
    pair_of, pair_id = np.unique(pairs, axis=0, return_inverse=True)
    order = np.argsort(pair_id.ravel(), kind="stable")
    lines = shapely.multilinestrings(
        shapely.linestrings(ends[order]), indices=pair_id.ravel()[order]
    )
    runs, run_pair = shapely.get_parts(shapely.line_merge(lines), return_index=True)
    runs = shapely.simplify(runs, SMOOTH_M, preserve_topology=False)
    xy, run = shapely.get_coordinates(runs, return_index=True)
    inner = np.ones(len(run), dtype=bool)
    inner[np.flatnonzero(np.diff(run))] = inner[np.flatnonzero(np.diff(run)) + 1] = False
    inner[[0, -1]] = False
    pair = pair_of[run_pair[run[inner]]]
    xy[inner] = _on_bisector(xy[inner], [pair[:, 0], pair[:, 1]], values, spacing_m)
    runs = shapely.linestrings(xy, indices=run)
    return shapely.clip_by_rect(runs, minx - 1, miny - 1, maxx + 1, maxy + 1)


def _face_owners(faces: np.ndarray, values: np.ndarray, area: BaseGeometry) -> np.ndarray:
    """Index of the block each face belongs to (-1: outside the study area)."""
    points = shapely.point_on_surface(faces)
    tree = shapely.STRtree(values)
    owner = np.full(len(faces), -1, dtype=np.int64)
    face, block = tree.query(points, predicate="within")
    owner[face] = block
    xy = shapely.get_coordinates(points)
    shapely.prepare(area)
    road = (owner < 0) & shapely.contains_xy(area, xy[:, 0], xy[:, 1])
    doubt = np.flatnonzero((owner < 0) & ~road)  # holes, and slivers whose point lies on the edge
    overlap = shapely.area(shapely.intersection(faces[doubt], area))
    road[doubt[overlap > 0.5 * shapely.area(faces[doubt])]] = True
    if road.any():
        face, block = tree.query_nearest(points[road], all_matches=False)
        owner[np.flatnonzero(road)[face]] = block
    return owner


def _faces(
    values: np.ndarray, area: BaseGeometry, *, spacing_m: float, grid_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """The faces of one planar arrangement that tiles ``area``, and the block index of each."""
    points, owner = _samples(values, spacing_m, grid_m)
    ridges = _ridges(points, owner, values, area.bounds, spacing_m)
    # short segments, so snap-rounding the crossings with ridges barely moves the outline
    outline = shapely.segmentize(shapely.boundary(area), 2.0)
    edges = [*ridges, outline, *shapely.get_parts(shapely.boundary(values))]
    noded = shapely.union_all(edges, grid_size=grid_m)
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    owners = _face_owners(faces, values, area)
    inside = owners >= 0
    return faces[inside], owners[inside]


def _dissolve(faces: np.ndarray, labels: np.ndarray, names: Iterable) -> list[BaseGeometry]:
    """One coverage union per label in ``names`` (faces share vertices, so no noding is needed)."""
    order = np.argsort(labels, kind="stable")
    keys, starts = np.unique(labels[order], return_index=True)
    groups = dict(zip(keys.tolist(), np.split(order, starts[1:]), strict=True))
    empty = shapely.Polygon()
    return [
        shapely.coverage_union_all(faces[groups[name]]) if name in groups else empty
        for name in names
    ]


def block_cells(
    blocks: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    area: BaseGeometry | None = None,
    spacing_m: float = SPACING_M,
    grid_m: float = GRID_M,
) -> gpd.GeoSeries:
    """Each block's cell (the block and the road space nearest to it), indexed like ``blocks``.

    The cells tile ``area`` (default :func:`study_area`) without gaps or overlaps.
    """
    geoms = _metric(blocks)
    area = study_area(geoms, grid_m=grid_m) if area is None else area
    values = shapely.set_precision(geoms.values, grid_m)
    faces, owners = _faces(values, area, spacing_m=spacing_m, grid_m=grid_m)
    cells = _dissolve(faces, owners, range(len(values)))
    return gpd.GeoSeries(cells, index=geoms.index, crs=geoms.crs)


def unit_boundaries(
    blocks: gpd.GeoDataFrame | gpd.GeoSeries,
    assignment: pd.Series,
    *,
    limit: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None = None,
    closing_m: float = CLOSING_M,
    spacing_m: float = SPACING_M,
    grid_m: float = GRID_M,
) -> gpd.GeoSeries:
    """One polygon per unit (a MultiPolygon only where the unit is in pieces), indexed by unit id.

    ``assignment`` maps block id → unit id; only its blocks are tessellated.  The units tile the
    :func:`study_area` of those blocks (``limit``: a boundary layer to tile instead) and
    neighbours share their boundary exactly.  The CRS is the blocks' (a UTM zone if they are
    in lon/lat).
    """
    missing = assignment.index.difference(blocks.index)
    if len(missing):
        raise InputError(
            f"The assignment names blocks the layer does not have: {', '.join(map(str, missing[:10]))}.",
            ids=list(missing),
        )
    geoms = _metric(blocks.loc[assignment.index])
    area = study_area(geoms, limit=limit, closing_m=closing_m, grid_m=grid_m)
    values = shapely.set_precision(geoms.values, grid_m)
    faces, owners = _faces(values, area, spacing_m=spacing_m, grid_m=grid_m)
    units = assignment.astype(str).to_numpy()
    names = list(dict.fromkeys(units))
    polygons = _dissolve(faces, units[owners], names)
    return gpd.GeoSeries(polygons, index=pd.Index(names, name="unit_id"), crs=geoms.crs)


__all__ = [
    "CLOSING_M",
    "GRID_M",
    "SPACING_M",
    "UNIT_GEOMETRIES",
    "block_cells",
    "study_area",
    "unit_boundaries",
]
