"""The adjacency graph of blocks: who may share a unit with whom.

Real block layers do not tile the plane — blocks are separated by roads — so two blocks are
adjacent when they share a boundary (rook) *or* face each other across a gap of at most
``snap`` metres with enough frontage — across empty space only: a gap filled by another block
(a 15 m strip, the wall of a courtyard around an enclave) is not bridged.  Barrier layers (rivers, railways, arterials) remove edges
that cross them; explicit overrides add (bridges) or remove (walls) single edges.  All pair
searches use an STRtree, so a layer of thousands of blocks builds in seconds.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from .errors import InputError
from .validate import format_ids

ADJACENCY_RULES = ("rook", "queen")


@dataclass(frozen=True)
class EdgeOverride:
    """An explicit edit of the graph: ``add`` a bridge or ``remove`` a wall between two blocks."""

    block_a: str
    block_b: str
    action: str
    note: str = ""


def read_overrides(path: str | os.PathLike) -> list[EdgeOverride]:
    """Read an override CSV with columns ``block_a,block_b,action[,note]`` (action add|remove)."""
    try:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file.", path=str(path)) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a UTF-8 CSV of edge overrides ({exc}).", path=str(path)) from exc
    missing = {"block_a", "block_b", "action"} - set(frame.columns)
    if missing:
        raise InputError(
            f"{path}: an override file needs the columns block_a, block_b, action (add|remove); "
            f"missing {', '.join(sorted(missing))}.",
            path=str(path),
        )
    overrides = []
    for line, row in enumerate(frame.itertuples(index=False), start=2):
        action = row.action.strip().lower()
        if action not in ("add", "remove"):
            raise InputError(f"{path}, line {line}: action must be 'add' or 'remove', got '{row.action}'.", path=str(path))
        overrides.append(EdgeOverride(row.block_a.strip(), row.block_b.strip(), action, getattr(row, "note", "") or ""))
    return overrides


@dataclass
class GraphDiagnostics:
    """What a planner needs to know about a graph before solving on it."""

    n_blocks: int
    n_edges: int
    components: list[dict] = field(default_factory=list)
    oversize_blocks: list[dict] = field(default_factory=list)
    degree: dict = field(default_factory=dict)
    snapped_edges: int = 0
    barrier_removed: int = 0
    overrides_added: int = 0
    overrides_removed: int = 0

    @property
    def connected(self) -> bool:
        return len(self.components) <= 1

    def to_dict(self) -> dict:
        return {
            "n_blocks": self.n_blocks,
            "n_edges": self.n_edges,
            "connected": self.connected,
            "components": self.components,
            "oversize_blocks": self.oversize_blocks,
            "degree": self.degree,
            "snapped_edges": self.snapped_edges,
            "barrier_removed": self.barrier_removed,
            "overrides_added": self.overrides_added,
            "overrides_removed": self.overrides_removed,
        }


def build_graph(
    blocks: gpd.GeoDataFrame,
    *,
    adjacency: str = "rook",
    snap: float = 25.0,
    min_frontage: float = 30.0,
    barriers: gpd.GeoDataFrame | None = None,
    overrides: list[EdgeOverride] | None = None,
) -> nx.Graph:
    """Build the block adjacency graph.

    Parameters
    ----------
    blocks
        Blocks indexed by block id, in a metric CRS, with a ``households`` column (and
        optionally ``population``, ``community``, ``subdistrict``, ``name``) — as in
        ``BlockLayer.blocks``.
    adjacency
        ``"rook"``: blocks sharing a boundary line, or facing each other across a gap of at
        most ``snap`` metres along at least ``min_frontage`` metres of boundary from which the
        way across crosses no third block.  ``"queen"``: any blocks that touch or lie within
        ``snap`` metres of each other across empty space.
    snap
        Gap tolerance in metres (urban road gaps are typically 10–30 m); 0 disables snapping.
    barriers
        Lines or polygons that no edge may cross (reprojected to the blocks' CRS).
    overrides
        Edges to add or remove by block id, applied last (they win over barriers).

    Nodes carry ``households``, ``population``, ``x``/``y`` (metric centroid), ``lon``/``lat``,
    ``area``, ``community``, ``subdistrict`` and ``name``; edges carry ``length`` (shared or
    facing boundary, m), ``distance`` (between centroids, m), ``snapped``, ``override``.
    """
    if adjacency not in ADJACENCY_RULES:
        raise InputError(f"adjacency must be one of {', '.join(ADJACENCY_RULES)}, got '{adjacency}'.")
    if snap < 0 or not math.isfinite(snap):
        raise InputError(f"snap must be a distance in metres ≥ 0, got {snap}.")
    if blocks.crs is None or not blocks.crs.is_projected:
        raise InputError("build_graph needs blocks in a metric (projected) CRS; use load_blocks or .to_crs(...).")
    _check_blocks(blocks)
    if barriers is not None:
        barriers = _barriers_in(barriers, blocks.crs)
    ids = blocks.index.astype(str).to_numpy()
    geoms = blocks.geometry.values
    graph = nx.Graph(crs=blocks.crs.to_string(), adjacency=adjacency, snap=snap, min_frontage=min_frontage)
    _add_nodes(graph, blocks, ids)

    left, right, length, snapped = _candidate_pairs(geoms, adjacency=adjacency, snap=snap, min_frontage=min_frontage)
    centroids = shapely.centroid(geoms)
    removed_by_barrier = 0
    if barriers is not None and len(left):
        crossing = _crosses_barrier(geoms, left, right, barriers)
        removed_by_barrier = int(crossing.sum())
        keep = ~crossing
        left, right, length, snapped = left[keep], right[keep], length[keep], snapped[keep]
    distance = shapely.distance(centroids[left], centroids[right])
    graph.add_edges_from(
        (ids[a], ids[b], {"length": float(ln), "distance": float(d), "snapped": bool(s), "override": False})
        for a, b, ln, d, s in zip(left, right, length, distance, snapped, strict=True)
    )
    added, removed = _apply_overrides(graph, overrides or [], centroids, ids)
    graph.graph.update(barrier_removed=removed_by_barrier, overrides_added=added, overrides_removed=removed)
    return graph


def _check_blocks(blocks: gpd.GeoDataFrame) -> None:
    """Ids and household counts a graph can be built on (a frame that did not come through
    ``load_blocks`` is checked here): unique, present ids; whole, finite counts ≥ 0."""
    ids = pd.Series(blocks.index, dtype=object)
    missing = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing.any():
        raise InputError(f"{int(missing.sum())} block(s) have no id (rows {format_ids(np.flatnonzero(missing.to_numpy()) + 1)}); give every block a unique id.")
    text = ids.astype(str)
    dup = sorted(set(text[text.duplicated()]))
    if dup:
        raise InputError(f"Block ids occur more than once: {format_ids(dup)}. Block ids must be unique.", ids=dup)
    if "households" not in blocks:
        raise InputError("build_graph needs a 'households' column (as in BlockLayer.blocks).")
    values = blocks["households"]
    number = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    is_bool = values.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
    with np.errstate(invalid="ignore"):
        bad = is_bool | ~np.isfinite(number) | (number < 0) | (number != np.round(number))
    if bad.any():
        shown = ", ".join(f"{b}={v!r}" for b, v in list(zip(blocks.index[bad], values[bad], strict=True))[:5])
        raise InputError(f"Household counts must be whole numbers ≥ 0; {int(bad.sum())} are not: {shown}.", ids=list(blocks.index[bad]))


def _barriers_in(barriers, crs) -> gpd.GeoDataFrame:
    """The barrier layer in the blocks' CRS, or an InputError saying why it cannot be placed."""
    if not isinstance(barriers, gpd.GeoDataFrame | gpd.GeoSeries):
        raise InputError(f"barriers must be a GeoDataFrame of lines or polygons (e.g. from read_lines_or_polygons), got {type(barriers).__name__}.")
    source = barriers.attrs.get("source")
    if barriers.crs is None:
        raise InputError(
            f"{source + ': the barrier layer' if source else 'The barrier layer'} has no coordinate "
            "reference system, so it cannot be laid over the blocks. Give it one: a .prj file "
            "beside the .shp, or save it as GeoJSON (always WGS84 lon/lat); in Python read it with "
            "read_lines_or_polygons(path, crs=\"EPSG:4326\") or call barriers.set_crs(...).",
            path=source,
        )
    out = barriers.to_crs(crs)
    if isinstance(out, gpd.GeoSeries):
        out = gpd.GeoDataFrame(geometry=out)
    geoms = out.geometry.values
    return out[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]


def _add_nodes(graph: nx.Graph, blocks: gpd.GeoDataFrame, ids: np.ndarray) -> None:
    centroids = blocks.geometry.centroid
    lonlat = gpd.GeoSeries(centroids, crs=blocks.crs).to_crs("EPSG:4326")
    area = blocks.geometry.area.to_numpy()
    households = blocks["households"].to_numpy()
    population = blocks["population"] if "population" in blocks else pd.Series(pd.NA, index=blocks.index)

    def text(col):
        if col not in blocks:
            return [None] * len(blocks)
        return [None if pd.isna(v) else str(v) for v in blocks[col]]

    community, subdistrict, name = text("community"), text("subdistrict"), text("name")
    for pos, block_id in enumerate(ids):
        pop = population.iloc[pos]
        graph.add_node(
            block_id,
            households=int(households[pos]),
            population=None if pd.isna(pop) else int(pop),
            x=float(centroids.iloc[pos].x),
            y=float(centroids.iloc[pos].y),
            lon=float(lonlat.iloc[pos].x),
            lat=float(lonlat.iloc[pos].y),
            area=float(area[pos]),
            community=community[pos],
            subdistrict=subdistrict[pos],
            name=name[pos],
        )


def _candidate_pairs(geoms, *, adjacency: str, snap: float, min_frontage: float):
    """Pairs (i<j) of adjacent blocks with their shared/facing length and whether snapping made them."""
    tree = shapely.STRtree(geoms)
    if snap > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=snap)
    else:
        left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        empty = np.array([], dtype=int)
        return empty, empty, np.array([], dtype=float), np.array([], dtype=bool)
    touching = shapely.intersects(geoms[left], geoms[right])
    boundaries = shapely.boundary(geoms)
    length = np.zeros(len(left))
    # Touching pairs: the length of the shared boundary.
    t = np.flatnonzero(touching)
    if len(t):
        length[t] = shapely.length(shapely.intersection(boundaries[left[t]], boundaries[right[t]]))
    # Pairs across a gap: the frontage, i.e. how much of each boundary lies within `snap` of the
    # other block *facing* one of its sides (see _facing_zones); the smaller of the two
    # directions, so a corner does not count as a frontage.
    # Only frontage from which the way straight across crosses no third block counts
    # (see _clear_frontage): a 15 m strip between two blocks is their neighbour, not a gap.
    g = np.flatnonzero(~touching)
    clear_line = np.ones(len(left), dtype=bool)
    if len(g):
        involved = np.unique(np.concatenate([left[g], right[g]]))
        zones = np.empty(len(geoms), dtype=object)
        zones[involved] = _facing_zones(geoms[involved], snap)
        a_front = shapely.intersection(boundaries[left[g]], zones[right[g]])
        b_front = shapely.intersection(boundaries[right[g]], zones[left[g]])
        a_clear = _clear_frontage(tree, geoms, a_front, left[g], right[g])
        b_clear = _clear_frontage(tree, geoms, b_front, right[g], left[g])
        length[g] = np.minimum(a_clear, b_clear)
        if adjacency == "queen":
            nearest = shapely.shortest_line(geoms[left[g]], geoms[right[g]])
            clear_line[g] = ~_blocked(tree, geoms, nearest, left[g], right[g])
    if adjacency == "rook":
        # Rook: a shared line (not a single point) or enough clear frontage across the road.
        adjacent = np.where(touching, length > 1e-6, length >= min_frontage)
        # Polygons that overlap share area rather than boundary; they are adjacent too.
        adjacent |= touching & ~shapely.touches(geoms[left], geoms[right])
    else:
        # Queen: any contact, but across a gap only through empty space.
        adjacent = touching | clear_line | (length > 1e-6)
    return left[adjacent], right[adjacent], length[adjacent], ~touching[adjacent]


#: Spacing (m) of the sample points along a frontage whose way across may be blocked.
_SAMPLE_STEP_M = 2.0
#: How far (m) each end of a way across is trimmed, so that touching a neighbour's edge at its
#: start or end never counts as crossing that neighbour.
_TRIM_M = 0.05


def _clear_frontage(tree, geoms, fronts, own: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per pair, the length of ``fronts`` (block ``own``'s boundary facing block ``other``) from
    which the shortest way to ``other`` crosses empty space only — no third block.

    The gap between two blocks is road only if nothing lies in it.  Pairs whose corridor (the
    hull of the frontage and the block across) meets no third block are clear as they are; the
    others are sampled every ~2 m along the frontage, each sample's shortest segment to the
    other block tested against the blocks' STRtree.
    """
    clear = shapely.length(fronts)
    corridor = shapely.convex_hull(shapely.union(fronts, shapely.boundary(geoms[other])))
    pair, hit = tree.query(corridor, predicate="intersects")
    suspect = np.unique(pair[(hit != own[pair]) & (hit != other[pair])])
    if len(suspect) == 0:
        return clear
    lines = shapely.segmentize(fronts[suspect], _SAMPLE_STEP_M)
    parts, part_owner = shapely.get_parts(lines, return_index=True)
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    same = coord_part[:-1] == coord_part[1:]
    start, end = coords[:-1][same], coords[1:][same]
    owner = part_owner[coord_part[:-1][same]]
    weight = np.hypot(*(end - start).T)
    mids = shapely.points((start + end) / 2)
    ways = shapely.shortest_line(mids, geoms[other[suspect]][owner])
    blocked = _blocked(tree, geoms, ways, own[suspect][owner], other[suspect][owner])
    clear[suspect] = np.bincount(owner, weights=weight * ~blocked, minlength=len(suspect))
    return clear


def _blocked(tree, geoms, ways, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether each segment ``ways[i]`` (from block ``a[i]`` to block ``b[i]``) runs through the
    inside of a third block, or along its edge (a road of no width); touching it at one point
    (a corner) does not count."""
    ends = shapely.get_coordinates(ways).reshape(-1, 2, 2)
    vec = ends[:, 1] - ends[:, 0]
    span = np.hypot(*vec.T)
    trim = np.where(span > 4 * _TRIM_M, _TRIM_M / np.maximum(span, 1e-12), 0.0)[:, None]
    trimmed = shapely.linestrings(np.stack([ends[:, 0] + trim * vec, ends[:, 1] - trim * vec], axis=1))
    way, hit = tree.query(trimmed, predicate="intersects")
    third = (hit != a[way]) & (hit != b[way])
    way, hit = way[third], hit[third]
    inside = shapely.relate_pattern(trimmed[way], geoms[hit], "T********")
    inside |= shapely.relate_pattern(trimmed[way], geoms[hit], "*1*******")  # along its edge
    blocked = np.zeros(len(ways), dtype=bool)
    blocked[way[inside]] = True
    return blocked


def _facing_zones(geoms, snap: float) -> np.ndarray:
    """Per block, the area within ``snap`` of one of its sides, measured square to that side.

    The union of flat-capped buffers of each boundary segment: unlike a round buffer it leaves
    out the quarter-discs around convex corners, which only reach a diagonal neighbour — with a
    round buffer, blocks diagonally across a road narrower than ~8 m (snap 25 m) got over 30 m
    of "frontage" and became rook-adjacent.
    """
    parts, part_block = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same_ring = coord_ring[:-1] == coord_ring[1:]
    segments = shapely.linestrings(np.stack([coords[:-1][same_ring], coords[1:][same_ring]], axis=1))
    segment_block = part_block[ring_part[coord_ring[:-1][same_ring]]]
    slabs = shapely.buffer(segments, snap, cap_style="flat")
    order = np.argsort(segment_block, kind="stable")
    bounds = np.cumsum(np.bincount(segment_block, minlength=len(geoms)))[:-1]
    return np.array([shapely.union_all(group) for group in np.split(slabs[order], bounds)], dtype=object)


def _crosses_barrier(geoms, left, right, barriers: gpd.GeoDataFrame) -> np.ndarray:
    """An edge crosses a barrier when the barrier cuts the segment joining the two blocks.

    The segment joins each block's representative point (always inside the block), so blocks on
    the same bank are not separated by a river that merely passes nearby.
    """
    barrier_geoms = barriers.geometry.values
    points = shapely.point_on_surface(geoms)
    coords = shapely.get_coordinates(points)
    segments = shapely.linestrings(np.stack([coords[left], coords[right]], axis=1))
    tree = shapely.STRtree(barrier_geoms)
    seg_idx, _ = tree.query(segments, predicate="intersects")
    crossing = np.zeros(len(left), dtype=bool)
    crossing[np.unique(seg_idx)] = True
    return crossing


def _apply_overrides(graph: nx.Graph, overrides: list[EdgeOverride], centroids, ids) -> tuple[int, int]:
    unknown = sorted({b for o in overrides for b in (o.block_a, o.block_b) if b not in graph})
    if unknown:
        raise InputError(f"Edge overrides name block ids that are not in the layer: {format_ids(unknown)}.", ids=unknown)
    position = {block_id: pos for pos, block_id in enumerate(ids)}
    added = removed = 0
    for o in overrides:
        if o.action == "add":
            d = float(shapely.distance(centroids[position[o.block_a]], centroids[position[o.block_b]]))
            graph.add_edge(o.block_a, o.block_b, length=0.0, distance=d, snapped=False, override=True, note=o.note)
            added += 1
        elif graph.has_edge(o.block_a, o.block_b):
            graph.remove_edge(o.block_a, o.block_b)
            removed += 1
    return added, removed


def diagnose_graph(graph: nx.Graph, *, max_households: int | None = None) -> GraphDiagnostics:
    """Components with their blocks and households, blocks above ``max_households``, degrees."""
    components = sorted(nx.connected_components(graph), key=lambda c: (-len(c), min(c)))
    comp_rows = [
        {
            "blocks": len(c),
            "households": int(sum(graph.nodes[n]["households"] for n in c)),
            "block_ids": sorted(c),
        }
        for c in components
    ]
    oversize = []
    if max_households is not None:
        oversize = [
            {"block_id": n, "households": int(d["households"])}
            for n, d in graph.nodes(data=True)
            if d["households"] > max_households
        ]
    degrees = np.array([d for _, d in graph.degree()]) if len(graph) else np.array([0])
    return GraphDiagnostics(
        n_blocks=graph.number_of_nodes(),
        n_edges=graph.number_of_edges(),
        components=comp_rows,
        oversize_blocks=oversize,
        degree={
            "min": int(degrees.min()),
            "max": int(degrees.max()),
            "mean": round(float(degrees.mean()), 2),
            "isolated": sorted(n for n, d in graph.degree() if d == 0),
        },
        snapped_edges=sum(1 for *_, d in graph.edges(data=True) if d.get("snapped")),
        barrier_removed=int(graph.graph.get("barrier_removed", 0)),
        overrides_added=int(graph.graph.get("overrides_added", 0)),
        overrides_removed=int(graph.graph.get("overrides_removed", 0)),
    )


def graph_from_networkx(
    graph: nx.Graph,
    *,
    weight: str = "households",
    x: str | None = None,
    y: str | None = None,
    lonlat: bool = True,
    length: str | None = None,
) -> nx.Graph:
    """A prebuilt graph (e.g. a GerryChain/networkx ``adjacency_data`` JSON) in this package's terms.

    Copies the graph with node ids as text, ``households`` from ``weight``, and ``x``/``y`` in
    metres from the coordinate attributes (lon/lat projected to the local UTM zone when
    ``lonlat``); ``length`` names an edge attribute for boundary length.  Without coordinates
    the nodes get x = y = 0 (fine for the cut-edge objective; compactness needs coordinates).
    """
    missing = [n for n, d in graph.nodes(data=True) if weight not in d]
    if missing:
        raise InputError(f"{len(missing)} node(s) have no '{weight}' attribute: {format_ids(missing)}.", ids=missing)
    out = nx.Graph(**graph.graph)
    xs = np.array([_coordinate(n, d, x) for n, d in graph.nodes(data=True)])
    ys = np.array([_coordinate(n, d, y) for n, d in graph.nodes(data=True)])
    lon, lat = xs.copy(), ys.copy()
    if x and y and lonlat:
        from pyproj import Transformer

        from .coords import local_metric_crs

        metric = local_metric_crs(float(np.mean(xs)), float(np.mean(ys)))
        xs, ys = Transformer.from_crs("EPSG:4326", metric, always_xy=True).transform(xs, ys)
        out.graph["crs"] = metric.to_string()
    for pos, (node, data) in enumerate(graph.nodes(data=True)):
        households = _whole_number(data[weight])
        if households is None:
            raise InputError(f"Node {node}: '{weight}' must be a whole number ≥ 0, got {data[weight]!r}; fix that node's value in the graph file.", ids=[node])
        attrs = {k: v for k, v in data.items()}
        attrs.update(households=households, x=float(xs[pos]), y=float(ys[pos]), lon=float(lon[pos]), lat=float(lat[pos]))
        attrs.setdefault("population", None)
        attrs.setdefault("area", float(data.get("area", 0.0) or 0.0))
        out.add_node(str(node), **attrs)
    for a, b, data in graph.edges(data=True):
        if a == b:
            continue
        attrs = dict(data)
        attrs["length"] = float(data.get(length, 0.0)) if length else 0.0
        out.add_edge(str(a), str(b), **attrs)
    return out


def _whole_number(value) -> int | None:
    """``value`` as a whole number ≥ 0, or None (NaN, text, booleans, fractions, negatives)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number < 0 or not number.is_integer():
        return None
    return int(number)


def _coordinate(node, data: dict, name: str | None) -> float:
    """A node's coordinate attribute as a finite number (0 without one)."""
    if not name:
        return 0.0
    value = data.get(name, 0.0)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise InputError(f"Node {node}: coordinate '{name}' must be a finite number, got {value!r}.", ids=[node])
    return number


def read_graph_json(path: str | os.PathLike, **kwargs) -> nx.Graph:
    """Read a networkx ``adjacency_data``/``node_link_data`` JSON graph, see :func:`graph_from_networkx`."""
    import json

    from networkx.readwrite import json_graph

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a JSON graph ({exc}).", path=str(path)) from exc
    if "adjacency" in data:
        graph = json_graph.adjacency_graph(data)
    elif "links" in data or "edges" in data:
        graph = json_graph.node_link_graph(data, edges="links" if "links" in data else "edges")
    else:
        raise InputError(f"{path}: not a networkx adjacency_data or node_link_data JSON graph.", path=str(path))
    return graph_from_networkx(nx.Graph(graph), **kwargs)


__all__ = ["graph_from_networkx", "read_graph_json", "build_graph", "diagnose_graph", "read_overrides", "EdgeOverride", "GraphDiagnostics", "ADJACENCY_RULES"]
