"""Benchmark the exact engine on county dual graphs with published optimal cut-edge values.

Usage::

    python bench/bench_county.py /path/county35.json /path/county40.json \
        --solver highs --formulation cuts --formulation labeling_cuts --time-limit 600

Each file is a networkx ``adjacency_data`` JSON graph with a ``TOTPOP`` node attribute.  Bounds
follow Validi & Buchanan: L = ceil(0.995 P/k), U = floor(1.005 P/k) with P the total TOTPOP; the
objective is the number of cut edges.  ``k`` comes from ``--k`` or from the table of published
instances below (keyed by file name).

``--objective compactness`` instead minimises sum_i TOTPOP_i * |c_i - c_centre|^2 over the node
centroids (C_X, C_Y), which needs centres and so exercises the Hess model; it has no published
optimum.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

from redistrict.model import FORMULATIONS, SOLVERS, ModelSolution, from_networkx, solve_model

# file name -> (state, k, published optimum, published Gurobi seconds), from the instances README
PUBLISHED: dict[str, tuple[str, int, int, float]] = {
    "county35.json": ("NM", 3, 17, 0.11),
    "county40.json": ("OK", 5, 40, 8.82),
    "county20.json": ("KS", 4, 32, 10.15),
}

COLUMNS = ("instance", "n", "m", "k", "L", "U", "solver", "formulation", "objective", "bound",
           "status", "seconds", "rounds", "cuts", "published", "gurobi_s")


def bounds(total: int, k: int) -> tuple[int, int]:
    """Validi & Buchanan's bounds for a 1% deviation: ceil(0.995 P/k), floor(1.005 P/k)."""
    return math.ceil(0.995 * total / k), math.floor(1.005 * total / k)


def compactness_cost(G: nx.Graph) -> np.ndarray:
    """TOTPOP_i * squared centroid distance from node i to every candidate centre j (n x n)."""
    xy = np.array([(G.nodes[v]["C_X"], G.nodes[v]["C_Y"]) for v in G], dtype=float)
    pop = np.array([G.nodes[v]["TOTPOP"] for v in G], dtype=float)
    return pop[:, None] * ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2) / 1e4


def run_one(
    path: Path, k: int | None, solver: str, formulation: str, time_limit: float | None,
    threads: int | None = None, objective: str = "cut_edges",
) -> dict[str, object]:
    """Solve one instance and return a table row."""
    with open(path) as fh:
        G = nx.readwrite.json_graph.adjacency_graph(json.load(fh))
    published = PUBLISHED.get(path.name)
    if k is None:
        if published is None:
            raise SystemExit(f"{path.name}: no default k; pass --k")
        k = published[1]
    total = sum(int(G.nodes[v]["TOTPOP"]) for v in G)
    lower, upper = bounds(total, k)
    if objective == "compactness":
        published = None
        data, _ = from_networkx(G, weight="TOTPOP", k=k, lower=lower, upper=upper,
                                assign_cost=compactness_cost(G), cut_weight=0.0)
    else:
        data, _ = from_networkx(G, weight="TOTPOP", k=k, lower=lower, upper=upper)
    sol: ModelSolution = solve_model(
        data, solver=solver, formulation=formulation, time_limit=time_limit, threads=threads
    )
    return {
        "instance": path.name, "n": data.n, "m": data.m, "k": k, "L": lower, "U": upper,
        "solver": solver, "formulation": sol.formulation,
        "objective": "-" if sol.objective is None else f"{sol.objective:.6g}",
        "bound": "-" if sol.best_bound is None else f"{sol.best_bound:.6g}",
        "status": sol.status, "seconds": f"{sol.seconds:.2f}", "rounds": sol.rounds, "cuts": sol.cuts_added,
        "published": "-" if published is None else published[2],
        "gurobi_s": "-" if published is None else published[3],
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run every instance x solver x formulation, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", nargs="+", type=Path, help="networkx adjacency_data JSON files")
    parser.add_argument("--k", type=int, default=None, help="number of units (default: from the table)")
    parser.add_argument("--solver", action="append", choices=SOLVERS, help="repeatable; default highs")
    parser.add_argument("--formulation", action="append", choices=FORMULATIONS, help="repeatable; default auto")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per solve (default 600)")
    parser.add_argument("--objective", choices=("cut_edges", "compactness"), default="cut_edges",
                        help="cut_edges (published benchmark) or compactness (Hess model, centres)")
    parser.add_argument("--threads", type=int, default=None, help="solver threads (default: solver's)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    solvers = args.solver or ["highs"]
    formulations = args.formulation or ["auto"]
    rows = []
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    t0 = time.perf_counter()
    for path in args.instances:
        for solver in solvers:
            for formulation in formulations:
                row = run_one(path, args.k, solver, formulation, args.time_limit, args.threads, args.objective)
                rows.append(row)
                print("| " + " | ".join(str(row[c]) for c in COLUMNS) + " |", flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
