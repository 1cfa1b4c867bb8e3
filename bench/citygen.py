"""Generate a deterministic, city-like layer of residential blocks (小区) for benchmarks.

Usage::

    python bench/citygen.py --blocks 2000 --subdistricts 15 --seed 1 --out /tmp/city2000.geojson
    python bench/citygen.py --blocks 500 --subdistricts 0 --out /tmp/city500.geojson  # no subdistrict column
    python bench/citygen.py --blocks 2000 --out /tmp/city2000.geojson --check  # load it with redistrict

The output is a GeoJSON FeatureCollection in WGS84 lon/lat (RFC 7946, 7 decimals) around
118.30 E, 29.70 N with the columns ``redistrict.load_blocks`` finds on its own: ``block_id``,
``name``, ``households``, ``population``, ``community`` and (unless ``--subdistricts 0``)
``subdistrict``.  Everything is SYNTHETIC.  The same arguments give a byte-identical file (for
one GDAL version); 50,000 blocks take about 12 s.

How the layer is drawn
----------------------
1. Sites: a hexagonal lattice with jitter, bent by a few smooth waves (clusters and stretched
   quarters) and scaled radially: blocks are ~110 m across in the centre, ~175 m at the edge
   (median ~160 m, 26,000 m2).
2. The city outline is a wobbly disc: each site's score is its radius over the outline's
   radius in its direction.  A few parks (discs of 1-9 cells) get no block.
3. Blocks are Voronoi cells of the sites (``shapely.voronoi_polygons``), each shrunk by half a
   road width (4-9 m), so neighbours face each other across an 8-18 m road gap: a 25 m snap
   joins them.  The blocks are chosen by a flood fill from the centre in score order over
   cells that share a ridge of at least 60 m (a frontage well above 30 m after the shrink), so
   the layer is one connected piece of exactly ``--blocks`` blocks with parks as holes.
4. Households: log-normal (median ~225, 30-1,200, mean ~270), a little larger on larger
   blocks; population = households x U(2.4, 2.8).
5. Subdistricts (街道NN) grow from well-spread seeds over the same 60 m ridges at random
   speeds, and communities (社区, ~3,000 households each, so ~8-14 per subdistrict of ~130
   blocks; some far larger) grow the same way inside each subdistrict: both are contiguous.
6. Each subdistrict's households (the whole layer's without subdistricts) are rescaled, when
   needed, so that some unit count k of ``--min``-``--max`` households fits with room: the
   average of k units lies at least 25 households inside both bounds.  (Small totals only:
   from about 15,000 households on, some k always has that room.  The *fewest* k of a large
   total is always tight: its average lies within U/k of the maximum.)
"""

from __future__ import annotations

import argparse
import heapq
import math
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

CENTRE_LONLAT = (118.30, 29.70)
METRIC_CRS = "EPSG:32650"  # UTM zone 50N
DECIMALS = 7
SPACING = 150.0  # lattice spacing (m) before the radial scale
CENTRE_SCALE, EDGE_GROWTH = 0.8, 0.45  # local spacing factor: 0.8 at the centre, 1.25 at the outline
JITTER = 0.28  # of the spacing
WAVES = 4  # smooth displacement waves
WAVE_SLOPE = 0.1  # amplitude x wavenumber of each wave (sum < 1 keeps the warp one-to-one)
WOBBLE = 0.07  # outline radius: 1 + sum of cosines of this amplitude
POOL_SCORE = 1.5  # sites beyond this score are not drawn; the flood must stay below MAX_SCORE
MAX_SCORE = 1.35
PARK_SHARE = 0.012
HALF_ROAD = (4.0, 9.0)  # metres each block gives up to the road (gaps 8-18 m)
SAFE_RIDGE = 60.0  # ridges at least this long are adjacent at any snap >= 18 m, frontage >= 30 m
MIN_BLOCK_AREA = 3000.0  # m2 after the shrink; smaller cells stay empty
HH_MEDIAN, HH_SIGMA, HH_MIN, HH_MAX = 225.0, 0.62, 30, 1200
PERSONS = (2.4, 2.8)
ROOM = 25  # households the fewest k units' average keeps from each bound
BLOCKS_PER_SUBDISTRICT = 130
COMMUNITY_HH = (2600.0, 3600.0)

# fmt: off
PLACES = [
    "新安", "徽州", "黄山", "屯光", "长干", "前园", "百鸟", "滨江", "江南", "昱城", "新潭", "率水", "松萝",
    "齐云", "华山", "紫阳", "栢山", "翠微", "桃源", "梅林", "枫林", "阳湖", "珠塘", "镇海", "金桥", "碧水",
    "锦绣", "明珠", "文峰", "凤凰", "阳光", "和平", "幸福", "东方", "瑞和", "丰乐", "观澜", "云溪", "天都",
    "莲花", "光明", "迎春", "华侨", "春晖", "怡景", "富源", "新华", "东升", "朝阳", "振兴", "钟楼", "书院",
]
SUFFIXES = [
    "花园", "小区", "花苑", "新村", "家园", "雅苑", "公寓", "名苑", "嘉园", "华庭", "佳苑", "新城", "丽景",
    "苑", "里", "名都", "景苑", "宿舍",
]
# fmt: on


def hex_lattice(radius: float, rng: np.random.Generator) -> np.ndarray:
    """Jittered hexagonal lattice (unit spacing) covering the square [-radius, radius]^2."""
    rows = int(math.ceil(radius / (math.sqrt(3) / 2)))
    cols = int(math.ceil(radius)) + 1
    j, i = np.meshgrid(np.arange(-rows, rows + 1), np.arange(-cols, cols + 1), indexing="ij")
    xy = np.column_stack([(i + 0.5 * (j % 2)).ravel(), (j * math.sqrt(3) / 2).ravel()]).astype(float)
    return xy + rng.uniform(-JITTER, JITTER, xy.shape)


def outline_score(xy: np.ndarray, rho: float, rng: np.random.Generator) -> np.ndarray:
    """Radius over the wobbly outline's radius in the same direction (1 on the outline)."""
    theta = np.arctan2(xy[:, 1], xy[:, 0])
    outline = np.ones(len(xy))
    for m in range(2, 6):
        outline += WOBBLE * rng.uniform(0.2, 1.0) * np.cos(m * theta + rng.uniform(0, 2 * np.pi))
    return np.hypot(xy[:, 0], xy[:, 1]) / (rho * outline) + rng.uniform(-0.02, 0.02, len(xy))


def warp_to_metres(xy: np.ndarray, rho: float, rng: np.random.Generator) -> np.ndarray:
    """Bend the lattice by smooth waves, then scale it radially (denser centre), in metres."""
    out = xy.copy()
    for _ in range(WAVES):
        wavelength = rng.uniform(8.0, 18.0)
        direction = rng.uniform(0, 2 * np.pi, 2)
        along = np.array([math.cos(direction[0]), math.sin(direction[0])])
        push = np.array([math.cos(direction[1]), math.sin(direction[1])])
        phase = rng.uniform(0, 2 * np.pi)
        amplitude = WAVE_SLOPE * wavelength / (2 * np.pi)
        out += amplitude * np.sin(2 * np.pi * (xy @ along) / wavelength + phase)[:, None] * push
    r = np.hypot(out[:, 0], out[:, 1])
    return SPACING * out * (CENTRE_SCALE + EDGE_GROWTH * r / rho)[:, None]


def voronoi_cells(xy: np.ndarray) -> np.ndarray:
    """The Voronoi cell of every site, in the sites' order."""
    lo, hi = xy.min(axis=0) - 1000.0, xy.max(axis=0) + 1000.0
    envelope = shapely.box(lo[0], lo[1], hi[0], hi[1])
    diagram = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=envelope, ordered=True)
    return shapely.intersection(shapely.get_parts(diagram), envelope)


def ridges(cells: np.ndarray, usable: np.ndarray, min_length: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of usable cells sharing a Voronoi ridge of at least ``min_length`` metres."""
    index = np.flatnonzero(usable)
    left, right = shapely.STRtree(cells[index]).query(cells[index], predicate="intersects")
    keep = left < right
    left, right = index[left[keep]], index[right[keep]]
    length = shapely.length(shapely.intersection(cells[left], cells[right]))
    long = length >= min_length
    return left[long], right[long]


def neighbour_lists(n: int, left: np.ndarray, right: np.ndarray) -> list[np.ndarray]:
    """Adjacency lists (sorted) from an undirected edge list."""
    a = np.concatenate([left, right])
    b = np.concatenate([right, left])
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    return np.split(b, np.searchsorted(a, np.arange(1, n)))


def park_mask(xy: np.ndarray, score: np.ndarray, n_parks: int, rng: np.random.Generator) -> np.ndarray:
    """Sites inside one of ``n_parks`` small discs placed well inside the outline."""
    inner = np.flatnonzero(score < 0.85)
    centres = xy[rng.choice(inner, size=min(n_parks, len(inner)), replace=False)]
    radii = rng.uniform(0.6, 1.7, len(centres))
    _, hit = shapely.STRtree(shapely.points(xy)).query(shapely.points(centres), predicate="dwithin", distance=radii)
    mask = np.zeros(len(xy), dtype=bool)
    mask[hit] = True
    return mask


def flood_select(n: int, score: np.ndarray, usable: np.ndarray, neighbours: list[np.ndarray]) -> np.ndarray:
    """Grow a connected set of ``n`` usable cells from the centre, lowest score first."""
    start = int(np.flatnonzero(usable)[np.argmin(score[usable])])
    chosen = np.zeros(len(score), dtype=bool)
    heap = [(float(score[start]), start)]
    picked = []
    while heap and len(picked) < n:
        s, i = heapq.heappop(heap)
        if chosen[i]:
            continue
        if s > MAX_SCORE:
            raise RuntimeError("the flood fill reached the edge of the site pool; this is a bug")
        chosen[i] = True
        picked.append(i)
        for j in neighbours[i]:
            if usable[j] and not chosen[j]:
                heapq.heappush(heap, (float(score[j]), int(j)))
    if len(picked) < n:
        raise RuntimeError(f"only {len(picked)} connected cells found for {n} blocks")
    return np.sort(np.array(picked))


def grow_regions(
    neighbours: list[np.ndarray], xy: np.ndarray, seeds: np.ndarray, speeds: np.ndarray,
    rng: np.random.Generator, fence: np.ndarray | None = None,
) -> np.ndarray:
    """Each node's region: fronts from ``seeds`` spread over the graph at their own speed.

    A node joins the region whose front reaches it first through an already claimed neighbour,
    so every region is connected.  Edge lengths get +-40 % noise for ragged borders.  With
    ``fence`` (a label per node) fronts never cross between labels.
    """
    owner = np.full(len(neighbours), -1, dtype=np.int64)
    noise = rng.uniform(0.6, 1.4, len(neighbours))
    heap = [(0.0, int(s), r) for r, s in enumerate(seeds)]
    heapq.heapify(heap)
    while heap:
        label, i, region = heapq.heappop(heap)
        if owner[i] >= 0:
            continue
        owner[i] = region
        for j in neighbours[i]:
            if owner[j] < 0 and (fence is None or fence[j] == fence[i]):
                step = math.hypot(*(xy[j] - xy[i])) * 0.5 * (noise[i] + noise[j]) / speeds[region]
                heapq.heappush(heap, (label + step, int(j), region))
    if (owner < 0).any():
        raise RuntimeError("some blocks were not reached by any region; this is a bug")
    return owner


def spread_seeds(xy: np.ndarray, count: int, rng: np.random.Generator, rounds: int = 8) -> np.ndarray:
    """``count`` well-spread points: farthest-point sampling, then a few k-means rounds."""
    seeds = [int(rng.integers(len(xy)))]
    gap = np.hypot(*(xy - xy[seeds[0]]).T)
    for _ in range(count - 1):
        seeds.append(int(np.argmax(gap)))
        gap = np.minimum(gap, np.hypot(*(xy - xy[seeds[-1]]).T))
    centres = xy[seeds]
    for _ in range(rounds):
        nearest = _nearest(xy, centres)
        size = np.bincount(nearest, minlength=count)
        filled = size > 0
        for axis in (0, 1):
            centres[filled, axis] = (np.bincount(nearest, weights=xy[:, axis], minlength=count) / np.maximum(size, 1))[filled]
    taken = np.zeros(len(xy), dtype=bool)
    for c in range(count):  # each centre moves to the nearest block not taken yet
        d2 = ((xy - centres[c]) ** 2).sum(axis=1)
        d2[taken] = np.inf
        seeds[c] = int(np.argmin(d2))
        taken[seeds[c]] = True
    return np.array(seeds)


def _nearest(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the nearest target of every point."""
    which, nearest = shapely.STRtree(shapely.points(targets)).query_nearest(shapely.points(points), all_matches=False)
    out = np.empty(len(points), dtype=np.int64)
    out[which] = nearest
    return out


def draw_households(area: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Households per block: log-normal, slightly larger on larger blocks, in [30, 1200]."""
    base = rng.lognormal(math.log(HH_MEDIAN), HH_SIGMA, len(area)) * (area / np.median(area)) ** 0.3
    return np.clip(np.round(base), HH_MIN, HH_MAX).astype(np.int64)


def roomy_total(total: int, lower: int, upper: int, room: int = ROOM) -> int:
    """The total nearest ``total`` for which some k units average ``room`` inside both bounds."""
    if upper - lower < 2 * room:
        raise ValueError(f"bounds {lower}-{upper} leave no room of {room} households")
    k_near = max(1, round(total / ((lower + upper) / 2)))
    spans = [(k * (lower + room), k * (upper - room)) for k in range(max(1, k_near - 2), k_near + 3)]
    return min((min(max(total, lo), hi) for lo, hi in spans), key=lambda t: (abs(t - total), t))


def rescale(households: np.ndarray, target: int) -> np.ndarray:
    """Households scaled to sum to ``target`` exactly, each kept in [HH_MIN, HH_MAX]."""
    if not len(households) * HH_MIN <= target <= len(households) * HH_MAX:
        raise ValueError(f"{len(households)} blocks cannot hold {target} households; use fewer subdistricts")
    x = households * (target / households.sum())
    for _ in range(20):
        x = np.clip(x, HH_MIN, HH_MAX)
        free = (x > HH_MIN) & (x < HH_MAX)
        residual = target - x.sum()
        if abs(residual) < 1e-6 or not free.any():
            break
        x[free] += residual * x[free] / x[free].sum()
    out = np.clip(np.floor(x), HH_MIN, HH_MAX).astype(np.int64)
    order = np.argsort(-(x - out), kind="stable")  # largest remainders first
    for i in order:
        if out.sum() == target:
            break
        step = 1 if out.sum() < target else -1
        if HH_MIN <= out[i] + step <= HH_MAX:
            out[i] += step
    return out


def fit_totals(households: np.ndarray, group: np.ndarray, lower: int, upper: int) -> np.ndarray:
    """Rescale each group's households so that its fewest unit count fits with room."""
    out = households.copy()
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        total = int(out[members].sum())
        target = roomy_total(total, lower, upper)
        if target != total:
            out[members] = rescale(out[members], target)
    return out


def reading_order(labels: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Relabel regions 0..n-1 north to south, then west to east, by their centroids."""
    uniq, inverse = np.unique(labels, return_inverse=True)
    cx = np.bincount(inverse, weights=xy[:, 0]) / np.bincount(inverse)
    cy = np.bincount(inverse, weights=xy[:, 1]) / np.bincount(inverse)
    order = np.lexsort((np.round(cx, -2), -np.round(cy, -2)))
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    return rank[inverse]


def communities(
    neighbours: list[np.ndarray], xy: np.ndarray, sub: np.ndarray, households: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Community per block: ~3,000 households each, random seeds and speeds (some oversized)."""
    seeds = []
    for s in np.unique(sub):
        members = np.flatnonzero(sub == s)
        count = round(households[members].sum() / rng.uniform(*COMMUNITY_HH))
        count = int(np.clip(count, 1, max(1, len(members) // 3)))
        seeds.extend(rng.choice(members, size=count, replace=False).tolist())
    seeds = np.array(seeds)
    speeds = rng.uniform(0.6, 1.7, len(seeds))
    return grow_regions(neighbours, xy, seeds, speeds, rng, fence=sub)


def block_names(n: int, rng: np.random.Generator) -> list[str]:
    """Chinese block names (place word + suffix), repeats numbered 二期, 三期, …"""
    base = pd.Series([PLACES[a] + SUFFIXES[b] for a, b in zip(rng.integers(len(PLACES), size=n), rng.integers(len(SUFFIXES), size=n), strict=True)])
    phase = base.groupby(base).cumcount().to_numpy()
    numerals = "一二三四五六七八九十"
    return [name if p == 0 else f"{name}{numerals[p] if p < 10 else p + 1}期" for name, p in zip(base, phase, strict=True)]


def city_sites(n_blocks: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lattice sites: parameter-space positions, metric positions and outline scores."""
    rho = math.sqrt(n_blocks * math.sqrt(3) / (2 * math.pi * (1 - PARK_SHARE)))
    lattice = hex_lattice(POOL_SCORE * rho * (1 + 4 * WOBBLE) + 2, rng)
    score = outline_score(lattice, rho, rng)
    keep = score <= POOL_SCORE
    lattice, score = lattice[keep], score[keep]
    return lattice, warp_to_metres(lattice, rho, rng), score


def build_city(n_blocks: int, n_subdistricts: int, seed: int, lower: int = 2500, upper: int = 3000) -> gpd.GeoDataFrame:
    """The block layer in UTM 50N (metres), blocks ordered by subdistrict, community, position."""
    rng = np.random.default_rng(seed)
    lattice, xy, score = city_sites(n_blocks, rng)
    cells = voronoi_cells(xy)
    parks = park_mask(lattice, score, max(1, round(n_blocks * PARK_SHARE / 4)), rng)
    shrunk = shapely.buffer(cells, -rng.uniform(*HALF_ROAD, len(cells)), join_style="mitre")
    usable = ~parks & (score <= MAX_SCORE) & (shapely.area(shrunk) >= MIN_BLOCK_AREA)
    left, right = ridges(cells, usable, SAFE_RIDGE)
    picked = flood_select(n_blocks, score, usable, neighbour_lists(len(cells), left, right))
    position = np.full(len(cells), -1)
    position[picked] = np.arange(n_blocks)
    inside = (position[left] >= 0) & (position[right] >= 0)
    graph = neighbour_lists(n_blocks, position[left[inside]], position[right[inside]])
    geoms, xy = shrunk[picked], xy[picked]
    households = draw_households(shapely.area(geoms), rng)
    regions = max(1, n_subdistricts)
    sub = grow_regions(graph, xy, spread_seeds(xy, regions, rng), rng.uniform(0.85, 1.2, regions), rng)
    sub = reading_order(sub, xy)
    households = fit_totals(households, sub, lower, upper)
    comm = communities(graph, xy, sub, households, rng)
    return assemble(geoms, xy, households, sub, comm, n_subdistricts > 0, rng)


def assemble(
    geoms: np.ndarray, xy: np.ndarray, households: np.ndarray, sub: np.ndarray, comm: np.ndarray,
    with_subdistricts: bool, rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Ids, names, population and the frame, sorted by subdistrict, community, north to south."""
    population = np.round(households * rng.uniform(*PERSONS, len(households))).astype(np.int64)
    names = block_names(len(households), rng)
    comm_rank = np.empty(len(comm), dtype=np.int64)  # communities numbered within their subdistrict
    for s in np.unique(sub):
        members = np.flatnonzero(sub == s)
        comm_rank[members] = reading_order(comm[members], xy[members])
    order = np.lexsort((np.round(xy[:, 0]), -np.round(xy[:, 1]), comm_rank, sub))
    frame = pd.DataFrame({"sub": sub, "comm": comm_rank}).iloc[order]
    number = frame.groupby(["sub", "comm"]).cumcount().to_numpy() + 1
    width_s, width_c = len(str(sub.max() + 1)), len(str(comm_rank.max() + 1))
    width_n = len(str(number.max()))
    subname = [f"街道{s + 1:0{max(2, width_s)}d}" for s in frame["sub"]]
    if with_subdistricts:
        ids = [f"S{s + 1:0{max(2, width_s)}d}-C{c + 1:0{max(2, width_c)}d}-{k:0{max(3, width_n)}d}" for s, c, k in zip(frame["sub"], frame["comm"], number, strict=True)]
        community = [f"{sn}社区{c + 1:0{max(2, width_c)}d}" for sn, c in zip(subname, frame["comm"], strict=True)]
    else:
        ids = [f"C{c + 1:0{max(3, width_c)}d}-{k:0{max(3, width_n)}d}" for c, k in zip(frame["comm"], number, strict=True)]
        community = [f"社区{c + 1:0{max(3, width_c)}d}" for c in frame["comm"]]
    columns = {"block_id": ids, "name": names, "households": households[order], "population": population[order], "community": community}
    if with_subdistricts:
        columns["subdistrict"] = subname
    return gpd.GeoDataFrame(columns, geometry=geoms[order], crs=METRIC_CRS)


def to_wgs84(blocks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Shift the local metres to UTM 50N around CENTRE_LONLAT, then lon/lat rounded to 7 decimals.

    Blocks are convex (shrunk Voronoi cells), so the convex hull after rounding keeps each one a
    valid polygon whatever the rounding did to nearly collinear vertices.
    """
    east, north = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform(*CENTRE_LONLAT)
    to_lonlat = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_lonlat.transform(xy[:, 0] + east, xy[:, 1] + north)
        return np.round(np.column_stack([lon, lat]), DECIMALS)

    geoms = shapely.convex_hull(shapely.transform(blocks.geometry.to_numpy(), move))
    return gpd.GeoDataFrame(blocks.drop(columns="geometry"), geometry=geoms, crs="EPSG:4326")


def write_geojson(blocks: gpd.GeoDataFrame, path: Path) -> None:
    """Write an RFC 7946 GeoJSON (counter-clockwise exteriors, 7 decimals, no crs member)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    blocks.to_file(path, driver="GeoJSON", engine="pyogrio", layer=path.stem, layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": str(DECIMALS), "WRITE_NAME": "YES"})


def generate(n_blocks: int, n_subdistricts: int | None, seed: int, out: Path, lower: int = 2500, upper: int = 3000) -> gpd.GeoDataFrame:
    """Build the layer and write it to ``out``; ``n_subdistricts`` None: one per ~130 blocks."""
    if n_subdistricts is None:
        n_subdistricts = max(1, round(n_blocks / BLOCKS_PER_SUBDISTRICT))
    if n_blocks < 1 or n_subdistricts < 0 or n_subdistricts > n_blocks:
        raise ValueError(f"need 1 <= subdistricts <= blocks, got {n_subdistricts} and {n_blocks}")
    blocks = to_wgs84(build_city(n_blocks, n_subdistricts, seed, lower, upper))
    write_geojson(blocks, out)
    return blocks


def check(path: Path, lower: int, upper: int) -> bool:
    """Load the file with redistrict, build the default graph and check what the layer promises."""
    import networkx as nx

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import redistrict

    started = time.perf_counter()
    layer = redistrict.load_blocks(path)
    loaded = time.perf_counter()
    graph = redistrict.build_graph(layer.blocks)
    built = time.perf_counter()
    ok = nx.is_connected(graph)
    print(f"loaded {len(layer):,} blocks in {loaded - started:.1f} s; graph {graph.number_of_edges():,} edges in {built - loaded:.1f} s; connected: {ok}")
    hh = layer.blocks["households"]
    print(f"households {hh.min()}-{hh.max()}, mean {hh.mean():.0f}, total {hh.sum():,}; median block area {np.median(shapely.area(layer.blocks.geometry.values)):,.0f} m2")
    groups = layer.blocks["subdistrict"] if layer.blocks["subdistrict"].notna().all() else pd.Series("(all)", index=layer.blocks.index)
    for name, members in groups.groupby(groups).groups.items():
        ids = [str(b) for b in members]
        total = int(hh.loc[members].sum())
        ks = redistrict.feasible_unit_counts(total, lower, upper)
        connected = nx.is_connected(graph.subgraph(ids))
        ok &= bool(ks) and connected
        if not (ks and connected) or len(groups.unique()) <= 20:
            print(f"  {name}: {len(ids)} blocks, {total:,} households, k in {ks[:1] + ks[-1:] if ks else 'none'}, connected: {connected}")
    comm = layer.blocks["community"]
    broken = [c for c, members in comm.groupby(comm).groups.items() if not nx.is_connected(graph.subgraph([str(b) for b in members]))]
    print(f"{comm.nunique()} communities, {len(broken)} not contiguous; check {'passed' if ok and not broken else 'FAILED'}")
    return ok and not broken


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, generate the layer, optionally check it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, required=True, help="number of blocks")
    parser.add_argument("--subdistricts", type=int, default=None, help="number of subdistricts (0: no subdistrict column; default one per ~130 blocks)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help="GeoJSON file to write")
    parser.add_argument("--min", dest="lower", type=int, default=2500, help="unit bounds the totals are fitted to")
    parser.add_argument("--max", dest="upper", type=int, default=3000)
    parser.add_argument("--check", action="store_true", help="load the file with redistrict and check the graph")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    blocks = generate(args.blocks, args.subdistricts, args.seed, args.out, args.lower, args.upper)
    subs = blocks["subdistrict"].nunique() if "subdistrict" in blocks else 0
    print(f"{args.out}: {len(blocks):,} blocks, {int(blocks['households'].sum()):,} households, {subs} subdistricts, {blocks['community'].nunique()} communities ({time.perf_counter() - started:.1f} s)")
    return 0 if not args.check or check(args.out, args.lower, args.upper) else 1


if __name__ == "__main__":
    raise SystemExit(main())
