"""Benchmark: building the adjacency graph of a large block layer.

    python bench/bench_graph.py                       # synthetic 5,000-block layer with road gaps
    python bench/bench_graph.py --rows 100 --cols 100 # 10,000 blocks
    python bench/bench_graph.py PATH [--households COL --id COL]   # a real layer, e.g. NH tracts

Prints blocks, edges, components and seconds for loading/validation and for the graph.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Polygon

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redistrict.graph import build_graph, diagnose_graph  # noqa: E402
from redistrict.io import from_geodataframe, load_blocks  # noqa: E402


def synthetic_layer(rows: int, cols: int, *, seed: int = 1) -> gpd.GeoDataFrame:
    """Jittered quadrilateral blocks on a street grid with 10–30 m road gaps (UTM 50N)."""
    rng = np.random.default_rng(seed)
    size = 150.0
    xs = np.arange(cols + 1) * size + rng.uniform(-20, 20, (rows + 1, cols + 1))
    ys = np.arange(rows + 1)[:, None] * size + rng.uniform(-20, 20, (rows + 1, cols + 1))
    geoms, hh = [], []
    for r in range(rows):
        for c in range(cols):
            corners = [(xs[r, c], ys[r, c]), (xs[r, c + 1], ys[r, c + 1]), (xs[r + 1, c + 1], ys[r + 1, c + 1]), (xs[r + 1, c], ys[r + 1, c])]
            poly = Polygon([(626_000 + x, 3_280_000 + y) for x, y in corners])
            geoms.append(poly.buffer(-rng.uniform(5, 15), join_style="mitre"))
            hh.append(int(rng.integers(30, 1200)))
    return gpd.GeoDataFrame({"block_id": [f"B{i:05d}" for i in range(len(geoms))], "households": hh}, geometry=geoms, crs="EPSG:32650").to_crs("EPSG:4326")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?")
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--households")
    parser.add_argument("--id")
    parser.add_argument("--snap", type=float, default=25.0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    if args.path:
        layer = load_blocks(args.path, households_col=args.households, id_col=args.id)
        label = args.path
    else:
        gdf = synthetic_layer(args.rows, args.cols)
        t0 = time.perf_counter()
        layer = from_geodataframe(gdf)
        label = f"synthetic {args.rows}x{args.cols}"
    t1 = time.perf_counter()
    graph = build_graph(layer.blocks, snap=args.snap)
    t2 = time.perf_counter()
    diag = diagnose_graph(graph)
    print(f"{label}: {len(layer):,} blocks, {graph.number_of_edges():,} edges ({diag.snapped_edges:,} snapped), {len(diag.components)} component(s), degree mean {diag.degree['mean']}")
    print(f"  load+validate {t1 - t0:.2f} s · graph {t2 - t1:.2f} s")


if __name__ == "__main__":
    main()
