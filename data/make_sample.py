"""Generate the synthetic Tunxi (屯溪区) sample layers in ``data/``.

There is no public block data for Tunxi, so this script draws a plausible one.  Only the
community household totals come from the 2007 Tunxi report (阜新 9,242 households; 跃进 about
7,200); every geometry, every block and every office site is SYNTHETIC.

Run from anywhere (paths are resolved relative to this file)::

    python data/make_sample.py            # writes the four layers, prints totals, runs the checks
    python data/make_sample.py --no-check
    python data/make_sample.py --outdir /tmp/sample

The output is deterministic (fixed seed, ``numpy.random.default_rng``): two runs give
byte-identical files.  See ``data/README.md`` for the files and their attributes.

How the layer is drawn
----------------------
1. A jittered street grid (20 columns x 9 rows of cells, 150-270 m each) is laid out in metres,
   rotated 14 degrees and placed in UTM zone 50N (EPSG:32650) around 118.31 E, 29.71 N.  The
   eastern columns are sheared north-east: the long arm of 水心亭 that reaches out towards 篁墩村.
2. ``COMMUNITY_MAP`` says which community owns each cell ('.' = no residential block: a park,
   a school, fields).  A few cell pairs are merged into one large block (the street between
   them removed), many cells are split by a lane into two blocks, and a few are split by a
   narrow internal lane but stay one block (a MultiPolygon).
3. Every street is a buffered centre line, 11-17 m wide (arterials 19-22 m); the river 横江
   runs along two street lines whose gap is 23 m.  A block is its cell minus the streets, so
   neighbouring blocks are exactly one street width apart.  Some corners are cut (pentagons)
   and some blocks lose a corner lot (L shapes).  Where two blocks happen to lie within 0.5 m
   of 25, 30 or 35 m (diagonally across a crossing), a corner is trimmed by 2.5 m, so the
   adjacency at those common snap tolerances does not hinge on rounding.
4. Households are drawn per block (area x density x noise), then scaled to the community
   totals exactly, each block in [30, 1150]; population = households x 2.4 x U(0.9, 1.1).
5. Office sites: each community's current office (跃进 has none; it borrows an 80 m2 room in
   the neighbouring 柏树 community, as the report says), plus candidate sites of >= 300 m2
   spread over each subdistrict by farthest-point sampling.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

HERE = Path(__file__).resolve().parent
SEED = 20071108  # the date of the Tunxi report
METRIC_CRS = "EPSG:32650"  # UTM zone 50N
WGS84 = "EPSG:4326"
CENTRE_LONLAT = (118.31, 29.71)
ROTATION_DEG = 14.0
DECIMALS = 7

# Community map, north (row 8) at the top, columns 0..19 west to east.
#   B 柏树  J 跃进  Y 杨梅山  (昱中 subdistrict)      F 阜新  H 荷花池  S 水心亭  (昱东)
#   '.' no residential block.  Row 0 lies south of the river (横江), columns 17-19 east of it.
COMMUNITY_MAP = [
    "BBBJJJFFFHHH........",  # row 8
    "BBBJJJFFFH.H........",  # row 7
    "BBJJ.JF.FHHH........",  # row 6
    "BBJJJJFFFHHH........",  # row 5
    "YJJJJJFFFFSSSSSSSSSS",  # row 4
    "YYJJJFFFFFSSSSSSSSSS",  # row 3
    "YYYJJFFFFFSS........",  # row 2
    "YYYYJFFFFFSS........",  # row 1
    "YYY.................",  # row 0
]
NROW = len(COMMUNITY_MAP)
NCOL = len(COMMUNITY_MAP[0])
ARM_START = 12  # vertical grid line where the 水心亭 arm begins (sheared north-east from here)
ARM_SLOPE = 0.30
RIVER_ROW_LINE = 1  # horizontal grid line the river follows in the west (cols 0-3)
RIVER_COL_LINE = 17  # vertical grid line the river follows across the arm
RIVER_WIDTH = 23.0  # the gap (embanked channel) the river runs in
SNAP_TOLERANCES = (25.0, 30.0, 35.0)  # no two blocks lie within 0.5 m of these distances
ARTERIAL_V = (6,)  # vertical arterial: the 昱中 / 昱东 boundary road in the north
ARTERIAL_H = (4, 7)  # horizontal arterials; line 4 continues out along the arm (to 篁墩)

LETTER = {
    "B": ("柏树", "昱中"),
    "J": ("跃进", "昱中"),
    "Y": ("杨梅山", "昱中"),
    "F": ("阜新", "昱东"),
    "H": ("荷花池", "昱东"),
    "S": ("水心亭", "昱东"),
}
COMMUNITY_CODE = {
    "阜新": "FX",
    "荷花池": "HHC",
    "水心亭": "SXT",
    "跃进": "YJ",
    "柏树": "BS",
    "杨梅山": "YMS",
}
SUBDISTRICT_CODE = {"昱东": "YD", "昱中": "YZ"}
COMMUNITY_ORDER = ["阜新", "荷花池", "水心亭", "跃进", "柏树", "杨梅山"]
# Household totals.  阜新 is the report's figure; 跃进 "7,200 多户"; the others are chosen so that
# each subdistrict's joint re-plan fits 2,500-3,000 (昱东 16,256 -> 6 units; 昱中 13,668 -> 5).
HOUSEHOLDS = {
    "阜新": 9242,
    "荷花池": 3618,
    "水心亭": 3396,
    "跃进": 7236,
    "柏树": 3274,
    "杨梅山": 3158,
}
BLOCK_MIN_HH, BLOCK_MAX_HH = 30, 1150
PERSONS_PER_HOUSEHOLD = 2.4

# ----------------------------------------------------------------------------------------------
# names
# fmt: off
PLACE_WORDS = [
    "新安", "徽州", "黄山", "屯光", "长干", "前园", "百鸟", "滨江", "江南", "昱城", "新潭", "率水",
    "松萝", "齐云", "华山", "紫阳", "栢山", "翠微", "桃源", "梅林", "枫林", "阳湖", "珠塘",
    "镇海", "金桥", "碧水", "锦绣", "明珠", "文峰", "凤凰", "阳光", "和平", "幸福", "东方", "瑞和",
    "丰乐", "观澜", "云溪", "徽商", "天都", "莲花", "光明", "迎春", "华侨", "春晖", "怡景", "富源",
    "新华", "东升", "朝阳", "振兴", "钟楼", "书院", "状元", "龙湾", "宏村", "绿洲", "清华", "雨润",
]
NAME_SUFFIXES = [
    "花园", "小区", "花苑", "新村", "家园", "雅苑", "公寓", "名苑", "嘉园", "华庭", "佳苑", "新城",
    "丽景", "苑", "里", "名都", "广场", "景苑",
]
DORMITORIES = [
    "供电局宿舍", "粮食局宿舍", "百货公司宿舍", "纺织厂宿舍", "茶厂宿舍", "机械厂宿舍", "电信局宿舍",
    "税务局宿舍", "人民医院宿舍", "教育局宿舍", "邮电宿舍", "工商银行宿舍", "化肥厂宿舍",
    "汽运公司宿舍", "自来水公司宿舍", "林业局宿舍", "建设局宿舍", "烟草公司宿舍", "造纸厂宿舍",
    "供销社宿舍", "食品公司宿舍", "农机厂宿舍", "医药公司宿舍", "印刷厂宿舍", "五金公司宿舍",
]
ROADS = [
    "黄山路", "新安路", "延安路", "华山路", "前园路", "滨江路", "长干路", "跃进路", "昱中路", "昱东路",
    "栢山路", "戴震路", "百鸟亭路", "湖边路", "阳湖路", "环城路", "解放路", "新园路", "青年路",
    "健康路", "团结路", "胜利路", "建设路", "屯光路",
]
# Names that tie a community to its blocks (the first blocks of each community get them).
COMMUNITY_NAMES = {
    "阜新": ["阜新花园", "阜新新村", "阜新路小区"],
    "荷花池": ["荷花池小区", "荷花新村"],
    "水心亭": ["水心亭小区", "水心亭新村"],
    "跃进": ["跃进新村", "跃进路小区", "跃进花园"],
    "柏树": ["维多利亚小区", "柏树新村", "柏树苑"],
    "杨梅山": ["杨梅山小区", "杨梅山新村"],
}
# 柏树 names given after naming: 维多利亚小区 is the 柏树 block nearest 跃进 (see build_blocks)
RESERVED_NAMES = {"维多利亚小区", "柏树新村", "柏树苑"}
FAR_BANK_NAMES = ["篁墩路安置小区", "篁墩新村", "篁墩花苑", "程朱阙里小区", "篁墩苑", "篁墩家园"]
SITE_KINDS = ["配套用房", "物业用房", "会所", "综合楼一层", "临街商铺（空置）", "幼儿园旧址", "活动中心"]
# fmt: on


# ----------------------------------------------------------------------------------------------
# geometry helpers


def _grid_nodes(rng: np.random.Generator) -> np.ndarray:
    """Street-grid nodes in UTM 50N metres, shape (NCOL+1, NROW+1, 2)."""
    col_w = np.where(
        np.arange(NCOL) >= ARM_START, rng.uniform(190, 270, NCOL), rng.uniform(175, 255, NCOL)
    )
    row_h = rng.uniform(150, 215, NROW)
    xs = np.concatenate([[0.0], np.cumsum(col_w)])
    ys = np.concatenate([[0.0], np.cumsum(row_h)])
    jitter = rng.uniform(-15.0, 15.0, size=(NCOL + 1, NROW + 1, 2))
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    shear = np.where(gx > xs[ARM_START], ARM_SLOPE * (gx - xs[ARM_START]), 0.0)
    nodes = np.stack([gx + jitter[..., 0], gy + shear + jitter[..., 1]], axis=-1)
    # rotate about the centre of the main body and move it to 118.31E 29.71N
    centre = np.array([xs[ARM_START] / 2.0, ys[-1] / 2.0])
    a = math.radians(ROTATION_DEG)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    e0, n0 = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True).transform(*CENTRE_LONLAT)
    return (nodes - centre) @ rot.T + np.array([e0, n0])


def _quad(nodes: np.ndarray, c: int, r: int) -> Polygon:
    return Polygon([nodes[c, r], nodes[c + 1, r], nodes[c + 1, r + 1], nodes[c, r + 1]])


def _street_widths(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    wv = rng.uniform(11.0, 16.5, NCOL + 1)
    wh = rng.uniform(11.0, 16.5, NROW + 1)
    for i in ARTERIAL_V:
        wv[i] = rng.uniform(19.0, 22.0)
    for j in ARTERIAL_H:
        wh[j] = rng.uniform(19.0, 22.0)
    wv[RIVER_COL_LINE] = RIVER_WIDTH
    wh[RIVER_ROW_LINE] = RIVER_WIDTH
    return wv, wh


def _streets(nodes, wv, wh, removed: set) -> shapely.Geometry:
    """Union of all street corridors; ``removed`` holds grid segments dropped by merges."""
    corridors = []

    def pieces(points, keys, width):
        run = [points[0]]
        for k, p in zip(keys, points[1:], strict=True):
            if k in removed:
                if len(run) > 1:
                    corridors.append(
                        LineString(run).buffer(width / 2, cap_style="flat", join_style="mitre")
                    )
                run = [p]
            else:
                run.append(p)
        if len(run) > 1:
            corridors.append(
                LineString(run).buffer(width / 2, cap_style="flat", join_style="mitre")
            )

    for i in range(NCOL + 1):
        pieces([nodes[i, j] for j in range(NROW + 1)], [("v", i, j) for j in range(NROW)], wv[i])
    for j in range(NROW + 1):
        pieces([nodes[i, j] for i in range(NCOL + 1)], [("h", i, j) for i in range(NCOL)], wh[j])
    return shapely.union_all(corridors)


def _corners(poly: Polygon) -> np.ndarray | None:
    """The 4 corners of a convex quadrilateral-like block, or None if it is not one."""
    simple = poly.simplify(0.05)
    coords = np.asarray(simple.exterior.coords)[:-1]
    if len(coords) != 4 or simple.area / simple.convex_hull.area < 0.995:
        return None
    return coords


def _reshape_corner(coords: np.ndarray, k: int, kind: str, a: float, b: float) -> list:
    """Replace corner k by a chamfer (two points) or a notch (three points)."""
    n = len(coords)
    v = coords[k]
    u1 = coords[(k - 1) % n] - v
    u2 = coords[(k + 1) % n] - v
    u1 /= np.linalg.norm(u1)
    u2 /= np.linalg.norm(u2)
    if kind == "chamfer":
        return [v + a * u1, v + a * u2]
    return [v + a * u1, v + a * u1 + b * u2, v + b * u2]


def _decorate(poly: Polygon, rng: np.random.Generator) -> Polygon:
    """Cut a corner or two (pentagons, hexagons) or a corner lot (an L shape)."""
    coords = _corners(poly)
    roll = rng.random()
    if coords is None or roll > 0.45:
        return poly
    edges = [np.linalg.norm(coords[(k + 1) % 4] - coords[k]) for k in range(4)]
    if roll < 0.12 and min(edges) > 120:
        k = int(rng.integers(4))
        cut = {
            k: (
                "notch",
                rng.uniform(25, 0.33 * edges[(k - 1) % 4]),
                rng.uniform(25, 0.33 * edges[k]),
            )
        }
    else:
        ks = rng.choice(4, size=int(rng.integers(1, 3)), replace=False)
        cut = {int(k): ("chamfer", rng.uniform(8, 20), 0.0) for k in ks}
    ring = []
    for k in range(4):
        if k in cut:
            ring.extend(_reshape_corner(coords, k, *cut[k]))
        else:
            ring.append(coords[k])
    new = Polygon(ring)
    return new if new.is_valid and new.within(poly.buffer(1e-6)) else poly


def _split_lane(quad: Polygon, rng: np.random.Generator, width: float) -> shapely.Geometry:
    """A lane across the cell's longer side, extended into the streets, as a corridor."""
    p00, p10, p11, p01 = (np.asarray(p) for p in quad.exterior.coords[:4])
    t1, t2 = rng.uniform(0.42, 0.58, 2)
    if np.linalg.norm(p10 - p00) >= np.linalg.norm(p01 - p00):
        a, b = p00 + t1 * (p10 - p00), p01 + t2 * (p11 - p01)
    else:
        a, b = p00 + t1 * (p01 - p00), p10 + t2 * (p11 - p10)
    d = (b - a) / np.linalg.norm(b - a)
    return LineString([a - 20 * d, b + 20 * d]).buffer(width / 2, cap_style="flat")


def _clear_snap_thresholds(geoms, thresholds=SNAP_TOLERANCES, band=0.5) -> list:
    """Trim a corner wherever two blocks are within ``band`` of a snap tolerance.

    Diagonal neighbours across a crossing can lie at any distance; one at 24.98 m would be
    adjacent or not depending on how a tool measures.  Cutting 2.5 m off the nearer corner
    moves such pairs clear of 25, 30 and 35 m, so the sample's adjacency does not hinge on
    rounding."""
    geoms = list(geoms)
    for _ in range(20):
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="dwithin", distance=max(thresholds) + band)
        changed = False
        for i, j in zip(left, right, strict=True):
            if i >= j or not any(abs(geoms[i].distance(geoms[j]) - t) < band for t in thresholds):
                continue
            for k, end in ((i, 0), (j, 1)):
                p = Point(shapely.shortest_line(geoms[i], geoms[j]).coords[end])
                if (
                    shapely.get_coordinates(geoms[k].boundary).size
                    and min(
                        p.distance(Point(xy)) for xy in shapely.get_coordinates(geoms[k].boundary)
                    )
                    < 1e-6
                ):
                    geoms[k] = geoms[k].difference(p.buffer(2.5, quad_segs=1))
                    changed = True
                    break
        if not changed:
            return geoms
    raise RuntimeError("could not clear the snap tolerances")


def _chaikin(points: list, iterations: int = 3) -> list:
    """Corner-cutting smoothing that keeps both end points."""
    pts = [np.asarray(p, dtype=float) for p in points]
    for _ in range(iterations):
        out = [pts[0]]
        for p, q in zip(pts[:-1], pts[1:], strict=True):
            out.extend([0.75 * p + 0.25 * q, 0.25 * p + 0.75 * q])
        out.append(pts[-1])
        pts = out
    return pts


def _river(nodes: np.ndarray) -> LineString:
    """横江: from the west along grid line 1 (cols 0-3), south of the city, then north along
    grid line 17 across the 水心亭 arm.  The two street-line stretches are exact (the river
    is the middle of a 23 m gap); the free stretches are smoothed."""

    def node(i, j):
        return nodes[i, j]

    def mid(i, j0, j1, t=0.5):
        return (1 - t) * nodes[i, j0] + t * nodes[i, j1]

    west = node(0, 1) - node(1, 1)
    south = node(0, 0) - node(0, 1)
    upstream = [
        node(0, 1) + 3.0 * west + 1.2 * south,
        node(0, 1) + 1.6 * west + 0.25 * south,
        node(0, 1),
    ]
    along_row = [node(i, RIVER_ROW_LINE) for i in range(0, 4)]
    south_reach = (
        [node(3, 1)]
        + [mid(i, 0, 1, 0.45) for i in range(5, 16)]
        + [
            0.5 * (node(16, 1) + node(17, 2)),
            node(RIVER_COL_LINE, 2),
        ]
    )
    along_col = [node(RIVER_COL_LINE, j) for j in range(2, 7)]
    downstream = [
        node(RIVER_COL_LINE, 6),
        node(RIVER_COL_LINE, 7),
        mid(18, 8, 9),
        node(19, 9) + 1.0 * (node(19, 9) - node(18, 8)),
    ]
    parts = [
        _chaikin(upstream)[:-1],
        along_row[:-1],
        _chaikin(south_reach)[:-1],
        along_col[:-1],
        _chaikin(downstream),
    ]
    return LineString([tuple(p) for part in parts for p in part])


# ----------------------------------------------------------------------------------------------
# the layer


def _plan_parcels(rng: np.random.Generator) -> tuple[list[dict], set]:
    """Decide merges and splits; returns parcels (one or two cells each) and removed segments."""
    cells = {
        (c, NROW - 1 - rr): ch
        for rr, row in enumerate(COMMUNITY_MAP)
        for c, ch in enumerate(row)
        if ch != "."
    }
    used: set = set()
    removed: set = set()
    parcels = []
    # a few large estates: two cells of one community merged (never across the river or arm end)
    candidates = []
    for (c, r), ch in sorted(cells.items()):
        for dc, dr in ((1, 0), (0, 1)):
            other = (c + dc, r + dr)
            if cells.get(other) != ch or r == 0 or other[1] == 0:
                continue
            line = c + 1 if dc else r + 1
            if (dc and line in (RIVER_COL_LINE, *ARTERIAL_V)) or (
                dr and line in (RIVER_ROW_LINE, *ARTERIAL_H)
            ):
                continue
            candidates.append(((c, r), other, dc))
    order = rng.permutation(len(candidates))
    n_merge = 0
    for idx in order:
        a, b, dc = candidates[int(idx)]
        if a in used or b in used or n_merge >= 5 or a[0] >= ARM_START:
            continue
        used.update([a, b])
        removed.add(("v", a[0] + 1, a[1]) if dc else ("h", a[0], a[1] + 1))
        parcels.append({"cells": [a, b], "letter": cells[a], "split": None})
        n_merge += 1
    # the rest: single cells, many split by a lane; a few split by an internal lane (MultiPolygon)
    singles = [cell for cell in sorted(cells) if cell not in used]
    multi_idx = set(int(i) for i in rng.choice(len(singles), size=5, replace=False))
    for n, cell in enumerate(singles):
        if n in multi_idx:
            split = "internal"
        elif rng.random() < 0.45:
            split = "lane"
        else:
            split = None
        parcels.append({"cells": [cell], "letter": cells[cell], "split": split})
    return parcels, removed


def _allocate(weights: np.ndarray, total: int, lo: int, hi: int) -> np.ndarray:
    """Integers proportional to ``weights`` (clipped to [lo, hi]) that sum to ``total`` exactly."""
    w = np.asarray(weights, dtype=float)
    if not len(w) * lo <= total <= len(w) * hi:
        raise ValueError(f"cannot put {total} households in {len(w)} blocks of {lo}-{hi}")
    s_lo, s_hi = 0.0, hi / w.min() + 1.0
    for _ in range(200):
        s = (s_lo + s_hi) / 2
        if np.clip(s * w, lo, hi).sum() < total:
            s_lo = s
        else:
            s_hi = s
    x = np.clip(s_hi * w, lo, hi)
    out = np.floor(x).astype(int)
    frac = x - out
    for idx in np.argsort(-frac, kind="stable"):
        if out.sum() >= total:
            break
        if out[idx] < hi:
            out[idx] += 1
    for idx in np.argsort(frac, kind="stable"):
        if out.sum() <= total:
            break
        if out[idx] > lo:
            out[idx] -= 1
    assert out.sum() == total and out.min() >= lo and out.max() <= hi
    return out


def _names(rng: np.random.Generator, blocks: pd.DataFrame) -> list[str]:
    general = [p + s for p in PLACE_WORDS for s in NAME_SUFFIXES]
    general = [general[i] for i in rng.permutation(len(general))]
    dorms = [DORMITORIES[i] for i in rng.permutation(len(DORMITORIES))]
    roads = [f"{r}小区" for r in ROADS] + [f"{r}{n}号院" for r in ROADS for n in (1, 2, 3)]
    roads = [roads[i] for i in rng.permutation(len(roads))]
    taken: set = set()
    names = []
    first_of = {}
    for row in blocks.itertuples():
        k = first_of.get(row.community, 0)
        first_of[row.community] = k + 1
        if row.col >= RIVER_COL_LINE:
            pool = FAR_BANK_NAMES + general
        elif k < len(COMMUNITY_NAMES[row.community]) and row.community != "柏树":
            pool = [COMMUNITY_NAMES[row.community][k]]
        else:
            kind = rng.random()
            pool = dorms if kind < 0.22 else roads if kind < 0.36 else general
        name = next(n for n in pool if n not in taken and n not in RESERVED_NAMES)
        taken.add(name)
        names.append(name)
    return names


def build_blocks(rng: np.random.Generator):
    nodes = _grid_nodes(rng)
    wv, wh = _street_widths(rng)
    parcels, removed = _plan_parcels(rng)
    streets = _streets(nodes, wv, wh, removed)
    river = _river(nodes)

    records = []
    for parcel in parcels:
        quads = [_quad(nodes, c, r) for c, r in parcel["cells"]]
        land = shapely.union_all(quads).difference(streets)
        if parcel["split"] == "lane":
            land = land.difference(_split_lane(quads[0], rng, rng.uniform(10.8, 13.0)))
        elif parcel["split"] == "internal":
            land = land.difference(_split_lane(quads[0], rng, rng.uniform(6.0, 8.5)))
        parts = sorted(
            shapely.get_parts(land), key=lambda g: (round(g.centroid.x, 3), round(g.centroid.y, 3))
        )
        assert all(p.area > 3000 for p in parts), parcel
        parts = [_decorate(p, rng) for p in parts]
        c, r = min(parcel["cells"])
        community, subdistrict = LETTER[parcel["letter"]]
        far_bank = c >= RIVER_COL_LINE or r < RIVER_ROW_LINE
        if parcel["split"] == "internal":
            assert len(parts) == 2, parcel
            parts = [MultiPolygon(parts)]
        for k, geom in enumerate(parts):
            dens = 1.0
            if community == "水心亭":
                dens = 0.8 if c < ARM_START else max(0.35, 0.75 - 0.05 * (c - ARM_START))
            if far_bank:
                dens *= 0.7
            records.append(
                {
                    "community": community,
                    "subdistrict": subdistrict,
                    "row": r,
                    "col": c,
                    "part": k,
                    "far_bank": far_bank,
                    "density": dens,
                    "geometry": geom,
                }
            )
    blocks = gpd.GeoDataFrame(records, geometry="geometry", crs=METRIC_CRS)
    blocks["geometry"] = _clear_snap_thresholds(blocks.geometry.to_numpy())
    blocks["community"] = pd.Categorical(blocks["community"], COMMUNITY_ORDER, ordered=True)
    blocks = blocks.sort_values(
        ["community", "row", "col", "part"], ascending=[True, False, True, True]
    )
    blocks["community"] = blocks["community"].astype(str)
    blocks = blocks.reset_index(drop=True)

    # households and population
    noise = rng.lognormal(0.0, 0.42, len(blocks))
    weights = blocks.geometry.area.to_numpy() / 1e4 * blocks["density"].to_numpy() * noise
    hh = np.zeros(len(blocks), dtype=int)
    for community, total in HOUSEHOLDS.items():
        idx = np.flatnonzero(blocks["community"].to_numpy() == community)
        hh[idx] = _allocate(weights[idx], total, BLOCK_MIN_HH, BLOCK_MAX_HH)
    blocks["households"] = hh
    blocks["population"] = np.rint(
        hh * PERSONS_PER_HOUSEHOLD * rng.uniform(0.9, 1.1, len(blocks))
    ).astype(int)

    counters: dict = {}
    ids = []
    for row in blocks.itertuples():
        key = (row.subdistrict, row.community)
        counters[key] = counters.get(key, 0) + 1
        ids.append(
            f"{SUBDISTRICT_CODE[row.subdistrict]}-{COMMUNITY_CODE[row.community]}-{counters[key]:03d}"
        )
    blocks["block_id"] = ids
    blocks["name"] = _names(rng, blocks)
    # the 柏树 block nearest 跃进 is 维多利亚小区 (the report: 跃进 borrows its property office)
    baishu = blocks.index[blocks["community"] == "柏树"]
    yuejin = shapely.union_all(blocks.geometry[blocks["community"] == "跃进"].to_numpy())
    host = min(
        baishu, key=lambda i: (blocks.geometry[i].distance(yuejin), -blocks.geometry[i].area, i)
    )
    blocks.loc[host, "name"] = "维多利亚小区"
    rest = [i for i in baishu if i != host]
    for name, i in zip(("柏树新村", "柏树苑"), rest[:2], strict=True):
        blocks.loc[i, "name"] = name
    return blocks, river, host


def _interior_point(geom, rng: np.random.Generator, margin: float = 15.0) -> Point:
    part = max(shapely.get_parts(geom), key=lambda g: g.area)
    inner = part.buffer(-margin)
    minx, miny, maxx, maxy = inner.bounds
    for _ in range(10_000):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if inner.contains(p):
            return p
    raise RuntimeError("no interior point")


def build_offices(
    blocks: gpd.GeoDataFrame, host: int, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Current offices plus >=300 m2 candidates spread over each subdistrict."""
    sites = []
    # current offices: report §二.6 — 水心亭 and 跃进 are below 300 m2; 跃进 borrows 80 m2 in 柏树
    current_area = {"阜新": 320, "荷花池": 360, "水心亭": 180, "柏树": 340, "杨梅山": 310}
    for community in COMMUNITY_ORDER:
        if community == "跃进":
            sites.append((host, "维多利亚小区物业用房（跃进社区居委会借用）", 80, "跃进"))
            continue
        members = blocks[blocks["community"] == community]
        centre = shapely.union_all(members.geometry.to_numpy()).centroid
        i = min(members.index, key=lambda j: (members.geometry[j].distance(centre), j))
        sites.append((i, f"{community}社区居委会", current_area[community], community))
    # candidates >= 300 m2, farthest-point sampling within each subdistrict
    n_new = {"昱东": 7, "昱中": 6}
    kinds = [SITE_KINDS[i % len(SITE_KINDS)] for i in rng.permutation(len(SITE_KINDS) * 3)]
    centroids = blocks.geometry.centroid
    for subdistrict, n in n_new.items():
        pool = [i for i in blocks.index if blocks.at[i, "subdistrict"] == subdistrict]
        chosen = [s[0] for s in sites if blocks.at[s[0], "subdistrict"] == subdistrict]
        for _ in range(n):
            best = max(
                (i for i in pool if i not in chosen),
                key=lambda i: (min(centroids[i].distance(centroids[j]) for j in chosen), -i),
            )
            chosen.append(best)
            area = int(rng.integers(30, 80)) * 10
            sites.append((best, f"{blocks.at[best, 'name']}{kinds.pop()}", area, ""))
    # two small rooms (< 300 m2), realistic but not usable as a committee office
    for community, label, area in (("阜新", "社区卫生服务站", 150), ("跃进", "老年活动室", 120)):
        members = [
            i
            for i in blocks.index
            if blocks.at[i, "community"] == community and i not in [s[0] for s in sites]
        ]
        i = members[int(rng.integers(len(members)))]
        sites.append((i, f"{blocks.at[i, 'name']}{label}", area, ""))

    rows = []
    for n, (i, name, area, current) in enumerate(sites, start=1):
        rows.append(
            {
                "site_id": f"S{n:02d}",
                "name": name,
                "floor_area_m2": int(area),
                "current_office_of": current,
                "community": blocks.at[i, "community"],
                "geometry": _interior_point(blocks.geometry[i], rng),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)


def bridge_rows(blocks: gpd.GeoDataFrame, river: LineString) -> list[dict]:
    """One bridge per cut-off bank: of the block pairs facing each other across the river at
    the bridge's grid position (老大桥: column 1; 篁墩桥: row 4 of the arm), the closest one."""
    out = []
    specs = [
        ("老大桥", lambda b: b.row == 0 and b.col == 1, lambda b: b.row == 1 and b.col == 1),
        (
            "篁墩桥",
            lambda b: b.col == RIVER_COL_LINE and b.row == 4,
            lambda b: b.col == RIVER_COL_LINE - 1 and b.row == 4,
        ),
    ]
    for note, far, near in specs:
        far_ids = [b.Index for b in blocks.itertuples() if far(b)]
        near_ids = [b.Index for b in blocks.itertuples() if near(b)]
        pairs = []
        for i in far_ids:
            for j in near_ids:
                d = blocks.geometry[i].distance(blocks.geometry[j])
                if shapely.shortest_line(blocks.geometry[i], blocks.geometry[j]).crosses(river):
                    pairs.append((d, i, j))
        _, i, j = min(pairs)
        a, b = sorted([blocks.at[i, "block_id"], blocks.at[j, "block_id"]])
        out.append({"block_a": a, "block_b": b, "action": "add", "note": note})
    return out


# ----------------------------------------------------------------------------------------------
# writing


def _round_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.to_crs(WGS84)
    out["geometry"] = shapely.transform(out.geometry.to_numpy(), lambda xy: np.round(xy, DECIMALS))
    return out


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    if path.exists():
        path.unlink()
    gdf.to_file(
        path,
        driver="GeoJSON",
        engine="pyogrio",
        layer=path.stem,
        layer_options={
            "RFC7946": "YES",
            "COORDINATE_PRECISION": str(DECIMALS),
            "WRITE_NAME": "YES",
        },
    )


def generate(outdir: Path) -> dict:
    rng = np.random.default_rng(SEED)
    blocks, river, host = build_blocks(rng)
    offices = build_offices(blocks, host, rng)
    bridges = bridge_rows(blocks, river)

    outdir.mkdir(parents=True, exist_ok=True)
    cols = ["block_id", "name", "households", "population", "community", "subdistrict", "geometry"]
    _write_geojson(_round_wgs84(blocks[cols]), outdir / "tunxi_blocks.geojson")
    river_gdf = gpd.GeoDataFrame({"name": ["横江"]}, geometry=[river], crs=METRIC_CRS)
    _write_geojson(_round_wgs84(river_gdf), outdir / "tunxi_river.geojson")
    _write_geojson(_round_wgs84(offices), outdir / "tunxi_offices.geojson")
    with open(outdir / "tunxi_bridges.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(
            f, fieldnames=["block_a", "block_b", "action", "note"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(bridges)
    return {"blocks": blocks, "offices": offices, "bridges": bridges}


def print_totals(outdir: Path) -> None:
    blocks = gpd.read_file(outdir / "tunxi_blocks.geojson")
    offices = gpd.read_file(outdir / "tunxi_offices.geojson")
    print(f"{len(blocks)} blocks, {len(offices)} office sites")
    print(f"{'subdistrict':<12}{'community':<10}{'blocks':>7}{'households':>12}{'population':>12}")
    for sub in ("昱东", "昱中"):
        part = blocks[blocks["subdistrict"] == sub]
        for community in [c for c in COMMUNITY_ORDER if c in set(part["community"])]:
            m = part[part["community"] == community]
            print(
                f"{sub:<12}{community:<10}{len(m):>7}{m['households'].sum():>12,}{m['population'].sum():>12,}"
            )
        t = int(part["households"].sum())
        ks = [k for k in range(1, 20) if 2500 * k <= t <= 3000 * k]
        print(
            f"{sub:<12}{'(total)':<10}{len(part):>7}{t:>12,}{part['population'].sum():>12,}   units of 2,500-3,000: k={ks}"
        )
    print(
        f"{'all':<22}{len(blocks):>7}{blocks['households'].sum():>12,}{blocks['population'].sum():>12,}"
    )


# ----------------------------------------------------------------------------------------------
# checks (run on the files as written, reprojected to EPSG:32650)


def _graph(blocks, river, bridges, snap=25.0, rule="nearest", use_bridges=True) -> nx.Graph:
    geoms = blocks.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=snap)
    g = nx.Graph()
    g.add_nodes_from(blocks["block_id"])
    ids = blocks["block_id"].to_numpy()
    cents = blocks.geometry.centroid.to_numpy()
    for i, j in zip(left, right, strict=True):
        if i >= j:
            continue
        seg = (
            shapely.shortest_line(geoms[i], geoms[j])
            if rule == "nearest"
            else LineString([cents[i], cents[j]])
        )
        if seg.intersects(river):
            continue
        g.add_edge(ids[i], ids[j])
    if use_bridges:
        for b in bridges:
            g.add_edge(b["block_a"], b["block_b"])
    return g


def check(outdir: Path) -> None:
    failures = []

    def expect(cond: bool, message: str) -> None:
        print(("  ok    " if cond else "  FAIL  ") + message)
        if not cond:
            failures.append(message)

    blocks4326 = gpd.read_file(outdir / "tunxi_blocks.geojson")
    blocks = blocks4326.to_crs(METRIC_CRS)
    river = gpd.read_file(outdir / "tunxi_river.geojson").to_crs(METRIC_CRS).geometry.iloc[0]
    offices = gpd.read_file(outdir / "tunxi_offices.geojson").to_crs(METRIC_CRS)
    bridges = list(csv.DictReader(open(outdir / "tunxi_bridges.csv", encoding="utf-8")))
    geoms = blocks.geometry.to_numpy()
    tot = blocks.groupby("community")["households"].sum()

    print("checks:")
    expect(
        list(blocks.columns)
        == ["block_id", "name", "households", "population", "community", "subdistrict", "geometry"],
        "block attributes exactly as documented",
    )
    expect(120 <= len(blocks) <= 200, f"{len(blocks)} blocks (120-200)")
    expect(blocks["block_id"].is_unique and blocks["name"].is_unique, "block ids and names unique")
    expect(int(tot["阜新"]) == 9242, f"阜新 households = {int(tot['阜新']):,} (exactly 9,242)")
    expect(
        7200 <= int(tot["跃进"]) <= 7299, f"跃进 households = {int(tot['跃进']):,} (7,200-7,299)"
    )
    for sub in ("昱东", "昱中"):
        t = int(blocks.loc[blocks["subdistrict"] == sub, "households"].sum())
        expect(
            any(2500 * k <= t <= 3000 * k for k in range(1, 20)),
            f"{sub} total {t:,} splits into units of 2,500-3,000",
        )
    hh = blocks["households"]
    expect(
        hh.between(20, 1200).all(),
        f"households per block in [20, 1200] (min {hh.min()}, max {hh.max()})",
    )
    ratio = blocks["population"] / hh
    expect(
        ratio.between(2.4 * 0.9 - 0.01, 2.4 * 1.1 + 0.01).all(),
        f"population / households in 2.4 +/- 10% ({ratio.min():.2f}-{ratio.max():.2f})",
    )
    expect(
        bool(
            shapely.is_valid(blocks4326.geometry.to_numpy()).all() and shapely.is_valid(geoms).all()
        ),
        "all block geometries valid (EPSG:4326 and 32650)",
    )
    kinds = blocks.geom_type.value_counts().to_dict()
    expect(
        set(kinds) <= {"Polygon", "MultiPolygon"} and 3 <= kinds.get("MultiPolygon", 0) <= 6,
        f"geometry types {kinds}",
    )
    widths = np.array([math.sqrt(g.minimum_rotated_rectangle.area) for g in geoms])
    print(
        f"        block size (sqrt of min. rectangle area): {widths.min():.0f}-{widths.max():.0f} m, median {np.median(widths):.0f} m"
    )

    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    overlap = max(
        (geoms[i].intersection(geoms[j]).area for i, j in zip(left, right, strict=True) if i < j),
        default=0.0,
    )
    expect(overlap < 1.0, f"no overlaps (largest pairwise intersection {overlap:.3f} m2)")
    left, right = tree.query(geoms, predicate="dwithin", distance=35.0)
    pair_d = np.array(
        [geoms[i].distance(geoms[j]) for i, j in zip(left, right, strict=True) if i < j]
    )
    nearest = gpd.sjoin_nearest(
        blocks[["geometry"]], blocks[["geometry"]], distance_col="d", exclusive=True
    )
    nn = nearest.groupby(level=0)["d"].min()
    expect(
        pair_d.min() >= 10.0, f"no two blocks closer than 10 m (closest pair {pair_d.min():.2f} m)"
    )
    expect(
        nn.max() <= 30.0,
        f"every block has a neighbour within 30 m (nearest-neighbour gaps {nn.min():.2f}-{nn.max():.2f} m)",
    )
    neighbours = pair_d[pair_d <= 25.0]
    print(
        f"        pairs within 25 m: {len(neighbours)}; gaps {neighbours.min():.2f}-{neighbours.max():.2f} m, "
        f"{(neighbours <= 20).mean():.0%} of them <= 20 m"
    )
    expect(
        not bool(shapely.intersects(geoms, river).any()),
        f"river crosses no block (closest block {min(g.distance(river) for g in geoms):.2f} m)",
    )

    near_threshold = [d for d in pair_d if any(abs(d - t) < 0.5 for t in SNAP_TOLERANCES)]
    expect(
        not near_threshold,
        f"no pair within 0.5 m of a snap tolerance {SNAP_TOLERANCES} (found {len(near_threshold)})",
    )
    sub_of = dict(zip(blocks["block_id"], blocks["subdistrict"], strict=True))
    for rule in ("nearest", "centroid"):
        for snap in SNAP_TOLERANCES:
            tag = f"[snap {snap:.0f} m, {rule}-point segments]"
            naive = _graph(blocks, LineString(), bridges, snap=snap, rule=rule, use_bridges=False)
            cut = _graph(blocks, river, bridges, snap=snap, rule=rule, use_bridges=False)
            full = _graph(blocks, river, bridges, snap=snap, rule=rule, use_bridges=True)
            crossing = naive.number_of_edges() - cut.number_of_edges()
            sizes = sorted((len(c) for c in nx.connected_components(cut)), reverse=True)
            bad = [
                c
                for c in COMMUNITY_ORDER
                if not nx.is_connected(
                    full.subgraph(blocks.loc[blocks["community"] == c, "block_id"])
                )
            ]
            shared = sum(1 for a, b in full.edges if sub_of[a] != sub_of[b])
            expect(
                nx.is_connected(naive)
                and crossing > 0
                and len(sizes) >= 2
                and nx.is_connected(full)
                and not bad
                and shared > 0,
                f"{tag} naive: 1 component, {crossing} edges cross the river; river: {len(sizes)} components {sizes}; "
                f"river + bridges: {nx.number_connected_components(full)}; communities contiguous: {not bad}; "
                f"{shared} edges 昱东-昱中",
            )
    for b in bridges:
        ga = blocks.geometry[blocks["block_id"] == b["block_a"]].iloc[0]
        gb = blocks.geometry[blocks["block_id"] == b["block_b"]].iloc[0]
        expect(
            shapely.shortest_line(ga, gb).intersects(river),
            f"bridge {b['note']} {b['block_a']}-{b['block_b']} spans the river ({ga.distance(gb):.1f} m)",
        )

    joined = gpd.sjoin(
        offices, blocks[["community", "subdistrict", "geometry"]], predicate="within", how="left"
    )
    inside = joined["index_right"].notna().all() and len(joined) == len(offices)
    depth = (
        min(
            float(p.distance(blocks.geometry[blocks.contains(p)].iloc[0].boundary))
            for p in offices.geometry
        )
        if inside
        else 0.0
    )
    expect(
        bool(inside) and depth > 1.0,
        f"every office site strictly inside a block (>= {depth:.1f} m from its edge)",
    )
    expect(
        bool((joined["community_left"] == joined["community_right"]).all()),
        "office 'community' = community of the containing block",
    )
    big = joined[joined["floor_area_m2"] >= 300]
    for sub, k in (("昱东", 6), ("昱中", 5)):
        n = int((big["subdistrict"] == sub).sum())
        expect(n >= k + 2, f"{sub}: {n} sites >= 300 m2 for {k} units")
    yj = joined[joined["current_office_of"] == "跃进"]
    expect(
        len(yj) == 1
        and yj["floor_area_m2"].iloc[0] == 80
        and yj["community_left"].iloc[0] != "跃进",
        "跃进's only office: 80 m2, borrowed in a neighbouring community",
    )
    if failures:
        raise SystemExit(f"{len(failures)} check(s) failed")
    print("all checks passed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", type=Path, default=HERE, help="where to write (default: data/)")
    parser.add_argument("--no-check", action="store_true", help="skip the checks")
    args = parser.parse_args(argv)
    generate(args.outdir)
    print(
        f"wrote {args.outdir}/tunxi_blocks.geojson, tunxi_river.geojson, tunxi_offices.geojson, tunxi_bridges.csv"
    )
    print_totals(args.outdir)
    if not args.no_check:
        check(args.outdir)


if __name__ == "__main__":
    sys.exit(main())
