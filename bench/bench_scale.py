"""Scale benchmark: redistrict's ``solve()`` and GerryChain's ``recursive_tree_part`` side by side.

Usage::

    python bench/bench_scale.py --list                               # the cases and aliases
    python bench/bench_scale.py --cases small --time-limit 20        # tunxi-yuzhong county35 city500
    python bench/bench_scale.py --cases county35 city2000 nh-k10 --time-limit 60 --seeds 3 \\
        --json /tmp/scale.json
    python bench/bench_scale.py --cases all --time-limit 600 --cap 600   # hours on 2 cores
    python bench/bench_scale.py --cases county40 --tools ours --time-limit 600 --highs-seed 1

Needs the bench extra (``pip install -e '.[bench]'``: GerryChain).  ``--tools ours`` or
``--tools gerrychain`` runs one side only.

Both tools get the SAME graph and the SAME pieces: the problem's graph (``problem.graph``, with
edges between subdistricts removed, so it may fall into several connected pieces).

* **ours**: ``redistrict.solve(problem, time_limit=T, method=M)`` (``method`` only when
  ``solve`` takes it), once per case.
* **GerryChain**: ``recursive_tree_part`` on each piece with that piece's k (the k ours used
  there; without a plan from ours, the k the harness planned), ``pop_target`` = the piece's
  mean and ``epsilon = min(U/mean - 1, 1 - L/mean)``, so its +-epsilon band lies inside
  [L, U].  ``--seeds`` runs (``rng=random.Random(seed)``; ``random``/``numpy`` seeded too);
  a run fails on an exception (GerryChain gives up after 100,000 spanning trees per cut) or
  when it needs more than ``--cap`` seconds (the process is killed).

Every solver call runs in a fresh process (``--one`` mode of this script), so its peak memory
(``ru_maxrss`` from ``os.wait4``, loading the problem included) is its own; the seconds are the
solver call alone.  ``ru_maxrss`` is the largest *single* process of the child's tree, so with
worker processes (ours' pieces) it understates the memory in use at once: the harness also
samples the summed RSS of the child and all its descendants every 0.25 s (psutil, when
installed) and reports that peak as ``tree_peak_mb`` (shared pages counted once per process, so
an upper bound; a peak shorter than the sampling interval can be missed).  The metrics are the harness's own, identical for both tools:

* compactness: sum over units, over their blocks, of households x squared distance (km^2) from
  the block's (x, y) to the unit's household-weighted centroid;
* cut edges: edges of ``problem.graph`` whose ends lie in different units;
* valid: every block assigned, every unit connected (networkx), households within [L, U].

GerryChain's "first plan" is the time a user running the seeds in turn waits for the first
success (the failed seeds before it included); its "total" is the median over seeds; its
quality is the seed with the best case objective (compactness, or cut edges for the county
graphs).  Ours' "first plan" is ``plan.solver["first_plan_seconds"]`` ("-" when the engine does
not report it).  Ours' bound and gap are the engine's, on its model objective (compactness to
a centre block rather than to the centroid, so not the harness's number).

Unit counts: county and NH cases have a given k.  ``tunxi-*`` cases without a k take the
engine's choice (the fewest units; ``tunxi-all`` is the tight k = 10).  For generated layers
and ``tunxi-all-sub`` the harness plans k per piece: the fewest whose average lies at least
``--room`` households inside both bounds (the fewest k of a large piece always sits within U/k
of the maximum), and k = their sum.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import inspect
import json
import math
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
INSTANCES = Path("/work/shared/instances")
WORKDIR = Path(tempfile.gettempdir()) / "redistrict-bench"
SMALL = ("tunxi-yuzhong", "county35", "city500")
ALL = (
    "tunxi-yudong", "tunxi-yuzhong", "tunxi-all", "county35", "county40", "county20", "nh-k10",
    "nh-k40", "city2000", "city2000-flat", "city10000", "city10000-flat", "city50000", "city50000-flat",
)
COUNTY_K = {"county20": 4, "county35": 3, "county40": 5}


# --- cases --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One benchmark instance: how to build its problem and which objective ranks plans."""

    name: str
    kind: str  # tunxi | county | nh | city
    description: str
    objective: str = "compactness"  # or cut_edges
    params: dict = field(default_factory=dict)


def tunxi_case(name: str) -> Case:
    """The bundled sample with the river barrier and the bridge overrides."""
    table = {
        "tunxi-yudong": ("昱东 subdistrict, no office sites", {"subdistrict": "昱东"}),
        "tunxi-yuzhong": ("昱中 subdistrict", {"subdistrict": "昱中"}),
        "tunxi-all": ("whole sample across subdistricts, k chosen by the engine (10: tight)", {"cross_subdistricts": True}),
        "tunxi-all-sub": ("whole sample, subdistricts kept (2 pieces), k planned per piece", {"plan_k": True}),
    }
    description, params = table[name]
    return Case(name, "tunxi", description, params=params)


def case_by_name(name: str) -> Case:
    """The case called ``name`` (see ``--list``)."""
    if name.startswith("tunxi-"):
        return tunxi_case(name)
    if name in COUNTY_K:
        return Case(name, "county", f"{name}.json, k={COUNTY_K[name]}, +-0.5 %, cut edges", "cut_edges", {"k": COUNTY_K[name]})
    match = re.fullmatch(r"nh-k(\d+)", name)
    if match:
        k = int(match.group(1))
        return Case(name, "nh", f"NH 2010 tracts, households DP0130001, k={k}, +-5 %", params={"k": k})
    match = re.fullmatch(r"city(\d+)(k?)(-flat)?", name)
    if match:
        blocks = int(match.group(1)) * (1000 if match.group(2) else 1)
        flat = bool(match.group(3))
        what = "no subdistricts (one piece)" if flat else "subdistricts of ~130 blocks (one piece each)"
        return Case(name, "city", f"citygen {blocks:,} blocks, {what}, k planned per piece", params={"blocks": blocks, "subdistricts": 0 if flat else None})
    raise SystemExit(f"unknown case '{name}'; see --list")


def expand_cases(names: list[str]) -> list[Case]:
    """Case names with the aliases ``small`` and ``all`` expanded, duplicates dropped."""
    out: list[str] = []
    for name in names:
        for item in {"small": SMALL, "all": ALL}.get(name, (name,)):
            if item not in out:
                out.append(item)
    return [case_by_name(n) for n in out]


def city_path(case: Case, opts: dict) -> Path:
    """The generated layer of a city case (written once per size, subdistricts and seed)."""
    flat = "-flat" if case.params["subdistricts"] == 0 else ""
    return Path(opts["workdir"]) / f"city{case.params['blocks']}{flat}-seed{opts['city_seed']}.geojson"


def ensure_city(case: Case, opts: dict) -> None:
    """Generate a city case's layer with bench/citygen.py unless it exists."""
    path = city_path(case, opts)
    if path.exists():
        return
    spec = importlib.util.spec_from_file_location("citygen", HERE / "citygen.py")
    citygen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(citygen)
    started = time.perf_counter()
    citygen.generate(case.params["blocks"], case.params["subdistricts"], opts["city_seed"], path)
    print(f"generated {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)


# --- problems -----------------------------------------------------------------------------------


def pieces_of(graph: nx.Graph) -> list[list[str]]:
    """Connected pieces of the problem graph, each sorted, ordered by their first node id."""
    return sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: c[0])


def piece_k(total: int, lower: int, upper: int, room: int) -> int | None:
    """The fewest k whose average lies ``room`` inside both bounds, else the roomiest k that fits."""
    ks = [k for k in range(max(1, math.ceil(total / upper)), total // max(lower, 1) + 1) if k * lower <= total <= k * upper]
    if not ks:
        return None
    slack = {k: min(total / k - lower, upper - total / k) for k in ks}
    roomy = [k for k in ks if slack[k] >= room]
    return roomy[0] if roomy else max(ks, key=lambda k: slack[k])


def households_of(graph: nx.Graph, nodes) -> int:
    """Total households of some nodes."""
    return int(sum(graph.nodes[v]["households"] for v in nodes))


def with_planned_k(problem, room: int):
    """The problem with k = sum over its pieces of :func:`piece_k`, and those piece ks."""
    ks = [piece_k(households_of(problem.graph, p), problem.lower, problem.upper, room) for p in pieces_of(problem.graph)]
    if any(k is None for k in ks):
        return problem, ks
    return dataclasses.replace(problem, k=sum(ks)), ks  # the Problem re-resolves: k_reason "k=N as given"


def build_problem(case: Case, opts: dict):
    """The case's :class:`redistrict.Problem` (loaded and built from the files)."""
    import redistrict

    if case.kind == "county":
        graph = redistrict.read_graph_json(Path(opts["instances"]) / f"{case.name}.json", weight="TOTPOP", x="C_X", y="C_Y")
        total, k = households_of(graph, graph.nodes), case.params["k"]
        lower, upper = math.ceil(0.995 * total / k), math.floor(1.005 * total / k)
        weights = redistrict.Weights(compactness=0, boundary=1, unit_edges=True)
        return redistrict.Problem(graph=graph, lower=lower, upper=upper, k=k, weights=weights, name=case.name)
    if case.kind == "nh":
        path = Path(opts["instances"]) / "nh_tracts_2010" / "NH_tract.shp"
        layer = redistrict.load_blocks(path, households_col="DP0130001", population_col="DP0010001", id_col="GEOID10")
        graph = redistrict.build_graph(layer.blocks)
        k = case.params["k"]
        lower, upper = math.ceil(0.95 * layer.total_households / k), math.floor(1.05 * layer.total_households / k)
        return redistrict.Problem.from_layer(layer, graph, lower=lower, upper=upper, k=k)
    if case.kind == "tunxi":
        data = Path(opts["data"])
        layer = redistrict.load_blocks(data / "tunxi_blocks.geojson")
        barriers = redistrict.read_lines_or_polygons(data / "tunxi_river.geojson")
        overrides = redistrict.read_overrides(data / "tunxi_bridges.csv")
        graph = redistrict.build_graph(layer.blocks, barriers=barriers, overrides=overrides)
        params = {k: v for k, v in case.params.items() if k != "plan_k"}
        problem = redistrict.Problem.from_layer(layer, graph, **params)
        return with_planned_k(problem, opts["room"])[0] if case.params.get("plan_k") else problem
    layer = redistrict.load_blocks(city_path(case, opts))
    graph = redistrict.build_graph(layer.blocks)
    return with_planned_k(redistrict.Problem.from_layer(layer, graph), opts["room"])[0]


def describe(problem, room: int) -> dict:
    """Sizes, bounds, k and the planned k of every piece."""
    pieces = pieces_of(problem.graph)
    totals = [households_of(problem.graph, p) for p in pieces]
    if len(pieces) == 1 and problem.k is not None:
        planned = [problem.k]
    else:
        planned = [piece_k(t, problem.lower, problem.upper, room) for t in totals]
    return {
        "blocks": problem.graph.number_of_nodes(), "edges": problem.graph.number_of_edges(),
        "households": sum(totals), "pieces": len(pieces), "piece_households": totals,
        "lower": problem.lower, "upper": problem.upper, "k": problem.k, "k_reason": problem.k_reason,
        "piece_ks": planned,
    }


# --- the harness's own metrics ------------------------------------------------------------------


def evaluate(graph: nx.Graph, assignment: dict, lower: int, upper: int) -> dict:
    """Compactness, cut edges and validity of a block -> unit assignment, from the graph alone."""
    nodes = list(graph.nodes)
    frame = pd.DataFrame({
        "unit": [assignment.get(v) for v in nodes],
        "hh": [float(graph.nodes[v]["households"]) for v in nodes],
        "x": [float(graph.nodes[v]["x"]) for v in nodes],
        "y": [float(graph.nodes[v]["y"]) for v in nodes],
    }, index=nodes)
    missing = int(frame["unit"].isna().sum())
    frame = frame.dropna(subset=["unit"]).astype({"unit": str})
    frame["hx"], frame["hy"] = frame["hh"] * frame["x"], frame["hh"] * frame["y"]
    sums = frame.groupby("unit")[["hh", "hx", "hy"]].transform("sum")
    weight = sums["hh"].where(sums["hh"] > 0, 1.0)  # a unit without households adds 0 anyway
    dx, dy = frame["x"] - sums["hx"] / weight, frame["y"] - sums["hy"] / weight
    compact = float((frame["hh"] * (dx**2 + dy**2)).sum()) / 1e6
    label = frame["unit"].to_dict()
    cut = sum(1 for a, b in graph.edges if label.get(a) != label.get(b))
    inner = nx.Graph()
    inner.add_nodes_from(label)
    inner.add_edges_from((a, b) for a, b in graph.edges if a in label and label.get(a) == label.get(b))
    totals = frame.groupby("unit")["hh"].sum()
    units = len(totals)
    connected = units > 0 and nx.number_connected_components(inner) == units
    outside = int(((totals < lower) | (totals > upper)).sum())
    return {
        "valid": missing == 0 and connected and outside == 0, "units": units, "unassigned": missing,
        "units_connected": connected, "units_outside_bounds": outside,
        "households_min": int(totals.min()) if units else None, "households_max": int(totals.max()) if units else None,
        "compactness_hh_km2": round(compact, 3), "cut_edges": cut,
    }


def ks_used(graph: nx.Graph, assignment: dict) -> list[int]:
    """Units per piece of a plan."""
    return [len({assignment.get(v) for v in piece}) for piece in pieces_of(graph)]


# --- one solver call (the --one child process) --------------------------------------------------


def mark_started(spec: dict) -> None:
    """Tell the parent the solver starts now (its cap counts from here)."""
    Path(spec["result"] + ".started").write_text(repr(time.time()))


def run_ours(problem, spec: dict) -> dict:
    """One ``redistrict.solve`` call, with ``method`` (and ``workers``) only if it takes them."""
    import redistrict

    accepted = inspect.signature(redistrict.solve).parameters
    kwargs = {"time_limit": spec["time_limit"], "solver": spec["solver"], "threads": spec["threads"]}
    for key in ("method", "workers"):
        if key in accepted and spec.get(key) is not None:
            kwargs[key] = spec[key]
    mark_started(spec)
    started = time.perf_counter()
    try:
        plan = redistrict.solve(problem, **kwargs)
    except Exception as exc:  # an engine failure is a result too
        return {"status": "error", "seconds": time.perf_counter() - started, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=8)}
    seconds = time.perf_counter() - started
    assignment = None if plan.assignment is None else {str(b): str(u) for b, u in plan.assignment.items()}
    out = {
        "status": plan.status, "seconds": seconds, "engine_seconds": plan.seconds,
        "first_plan_seconds": plan.solver.get("first_plan_seconds"), "best_bound": plan.best_bound,
        "gap": plan.gap, "objective": plan.objective, "kwargs": {k: v for k, v in kwargs.items()},
        "message": plan.message, "solver": {k: v for k, v in plan.solver.items() if isinstance(v, (int, float, str, bool, type(None)))},
    }
    if assignment is not None:
        out["metrics"] = evaluate(problem.graph, assignment, problem.lower, problem.upper)
        out["piece_ks_used"] = ks_used(problem.graph, assignment)
    return out


def gerrychain_api() -> dict:
    """recursive_tree_part, Graph and bipartition_tree from whichever GerryChain is installed."""
    from importlib.metadata import version

    from gerrychain import Graph
    from gerrychain.tree import bipartition_tree

    try:
        from gerrychain.partition import recursive_tree_part  # 1.0: the canonical home
    except ImportError:  # 0.3.x
        from gerrychain.tree import recursive_tree_part
    return {"rtp": recursive_tree_part, "Graph": Graph, "bipartition_tree": bipartition_tree, "version": version("gerrychain")}


def tree_part_piece(api: dict, graph: nx.Graph, piece: list[str], k: int, lower: int, upper: int, rng: random.Random, max_attempts: int | None) -> dict:
    """``recursive_tree_part`` on one piece: node -> part label, within [L, U] by construction."""
    total = households_of(graph, piece)
    if k == 1:
        return dict.fromkeys(piece, "0")
    mean = total / k
    epsilon = min(upper / mean - 1, 1 - lower / mean)
    if epsilon <= 0:
        raise ValueError(f"a piece of {total:,} households has no band inside the bounds for k={k}")
    # Only what GerryChain reads (households, edges), with integer node ids: GerryChain iterates
    # over sets of nodes, and sets of strings come out in a different order in every process.
    index = {v: i for i, v in enumerate(piece)}
    light = nx.Graph()
    light.add_nodes_from((i, {"households": int(graph.nodes[v]["households"])}) for i, v in enumerate(piece))
    light.add_edges_from(sorted((min(index[a], index[b]), max(index[a], index[b])) for a, b in graph.subgraph(piece).edges))
    accepted = inspect.signature(api["rtp"]).parameters
    kwargs = {"rng": rng} if "rng" in accepted else {}
    if max_attempts:
        key = "bipartition_tree_fn" if "bipartition_tree_fn" in accepted else "method"
        kwargs[key] = partial(api["bipartition_tree"], max_attempts=max_attempts)
    flips = api["rtp"](api["Graph"].from_networkx(light), list(range(k)), mean, "households", epsilon, **kwargs)
    return {piece[i]: str(p) for i, p in flips.items()}


def run_gerrychain(problem, spec: dict) -> dict:
    """One seed of GerryChain over every piece (pieces in order, one RNG)."""
    api = gerrychain_api()
    seed = spec["seed"]
    random.seed(seed)
    np.random.seed(seed)
    rng = random.Random(seed)
    pieces = pieces_of(problem.graph)
    ks = spec.get("piece_ks") or describe(problem, spec["room"])["piece_ks"]
    mark_started(spec)
    started = time.perf_counter()
    assignment: dict[str, str] = {}
    out = {"seed": seed, "version": api["version"], "piece_ks": list(ks)}
    try:
        for index, (piece, k) in enumerate(zip(pieces, ks, strict=True)):
            if k is None:
                raise ValueError(f"piece {index + 1} ({households_of(problem.graph, piece):,} households) fits no k")
            parts = tree_part_piece(api, problem.graph, piece, k, problem.lower, problem.upper, rng, spec.get("max_attempts"))
            assignment.update({v: f"P{index + 1}-{p}" for v, p in parts.items()})
    except Exception as exc:  # GerryChain gives up with RuntimeError / BalanceError / ...
        return out | {"status": "failed", "seconds": time.perf_counter() - started, "error": f"{type(exc).__name__}: {str(exc)[:200]}", "failed_piece": index + 1}
    seconds = time.perf_counter() - started
    out |= {"status": "plan", "seconds": seconds, "first_plan_seconds": seconds}
    out["metrics"] = evaluate(problem.graph, assignment, problem.lower, problem.upper)
    return out


def child_main(spec_path: Path) -> int:
    """The ``--one`` mode: build the problem, run one tool once, write the result JSON."""
    spec = json.loads(spec_path.read_text())
    warnings.simplefilter("ignore")
    result: dict = {"tool": spec["tool"]}
    try:
        case = case_by_name(spec["case"])
        started = time.perf_counter()
        problem = build_problem(case, spec["opts"])
        result["load_seconds"] = time.perf_counter() - started
        result["problem"] = describe(problem, spec["room"])
        result["rss_loaded_mb"] = peak_rss_mb(resource.getrusage(resource.RUSAGE_SELF))
        if spec.get("highs_seed") is not None:
            seed_highs(spec["highs_seed"])
            result["highs_seed"] = spec["highs_seed"]
        result.update((run_ours if spec["tool"] == "ours" else run_gerrychain)(problem, spec))
    except Exception as exc:  # a failure is a result: recorded, not raised
        result.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=6))
    Path(spec["result"]).write_text(json.dumps(result, default=str))
    return 0


def seed_highs(seed: int) -> None:
    """Every HiGHS model of this (child) process runs with ``random_seed`` = ``seed`` instead of the
    engine's fixed 0: an exact search's time varies widely with the seed (county40: 30–71 s over
    seeds 0–2), so comparing two commits on one seed can mislead.  Set through ``highspy.Highs``
    because the engine fixes the seed where it builds each model; only this benchmark does this."""
    import highspy

    set_option = highspy.Highs.setOptionValue

    def seeded(self, name, value):
        return set_option(self, name, seed if name == "random_seed" else value)

    highspy.Highs.setOptionValue = seeded


# --- the parent: spawn, time, measure -----------------------------------------------------------


def peak_rss_mb(usage) -> float:
    """``ru_maxrss`` in MB (kilobytes on Linux, bytes on macOS)."""
    return round(usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def spawn(spec: dict, cap: float, load_timeout: float, log: Path) -> dict:
    """Run one ``--one`` child; kill its process group ``cap`` s after its solver started."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        spec = dict(spec, result=str(Path(tmp) / "result.json"))
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        with open(log, "ab") as sink:
            proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--one", str(spec_path)], stdout=sink, stderr=sink, start_new_session=True)
        try:
            status, usage, killed, tree_mb = wait_or_kill(proc.pid, Path(spec["result"] + ".started"), cap, load_timeout)
        except BaseException:  # Ctrl-C: the child is in its own session, so stop it here
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        result = json.loads(Path(spec["result"]).read_text()) if Path(spec["result"]).exists() else {"tool": spec["tool"]}
    result["peak_mb"] = peak_rss_mb(usage)
    result["tree_peak_mb"] = tree_mb
    if killed:
        result.update(status="killed", error=f"killed after the {killed} ({cap if killed == 'cap' else load_timeout:g} s)", seconds=cap if killed == "cap" else None)
    elif "status" not in result:
        result.update(status="error", error=f"the child exited with code {proc.returncode} without a result (see {log})")
    return result


def wait_or_kill(pid: int, started_file: Path, cap: float, load_timeout: float):
    """Wait for the child; SIGKILL its group ``cap`` s after it started its solver (or when
    building the problem takes over ``load_timeout`` s).  Returns (status, rusage, killed,
    the tree's sampled peak RSS in MB)."""
    deadline, started = time.time() + load_timeout, None
    tree, next_sample = TreeMemory(pid), 0.0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, None, tree.peak_mb
        if time.time() >= next_sample:
            tree.sample()
            next_sample = time.time() + 0.25
        if started is None and started_file.exists():
            started = float(started_file.read_text() or time.time())
            deadline = started + cap
        if time.time() > deadline:
            killed = "cap" if started is not None else "load timeout"
            os.killpg(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return status, usage, killed, tree.peak_mb
        time.sleep(0.05)


class TreeMemory:
    """Peak summed RSS (MB) of a process and all its descendants, sampled on demand (psutil)."""

    def __init__(self, pid: int):
        try:
            import psutil
        except ImportError:
            self.root = None
        else:
            self.psutil, self.root = psutil, psutil.Process(pid)
        self.peak_mb: float | None = None

    def sample(self) -> None:
        """Add up the tree's RSS now and keep the maximum."""
        if self.root is None:
            return
        total = 0
        try:
            procs = [self.root] + self.root.children(recursive=True)
        except self.psutil.Error:
            return
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except self.psutil.Error:  # it ended meanwhile
                pass
        self.peak_mb = max(self.peak_mb or 0.0, round(total / 2**20, 1))


def run_case(case: Case, args: argparse.Namespace, opts: dict) -> dict:
    """Ours once, then GerryChain once per seed, each in its own process."""
    if case.kind == "city":
        ensure_city(case, opts)
    base = {"case": case.name, "opts": opts, "room": args.room}
    log = Path(opts["workdir"]) / "bench_scale.log"
    out: dict = {"case": case.name, "description": case.description, "objective": case.objective, "code": code_version()}
    piece_ks = None
    if "ours" in args.tools:
        spec = dict(base, tool="ours", time_limit=args.time_limit, method=args.method, solver=args.solver, threads=args.threads, workers=args.workers, highs_seed=args.highs_seed)
        ours = spawn(spec, args.time_limit + args.grace, args.load_timeout, log)
        out["ours"] = ours
        out["problem"] = ours.get("problem")
        piece_ks = ours.get("piece_ks_used") or (ours.get("problem") or {}).get("piece_ks")
    if "gerrychain" in args.tools:
        runs = []
        for seed in range(args.seeds):
            spec = dict(base, tool="gerrychain", seed=seed, piece_ks=piece_ks, max_attempts=args.max_attempts)
            runs.append(spawn(spec, args.cap, args.load_timeout, log))
            out.setdefault("problem", runs[-1].get("problem"))
        out["gerrychain"] = {"runs": runs, "summary": summarise_gc(runs, case.objective, args.cap)}
    return out


def code_version() -> dict:
    """Which engine the children import and its git commit (the engine may be edited while a
    benchmark runs; each child imports the code as it is then).  For a checkout: HEAD and the
    engine files changed on top of it.  For a snapshot elsewhere on ``PYTHONPATH`` (e.g.
    ``git archive HEAD redistrict | tar -x -C /tmp/snap`` with the hash in ``/tmp/snap/COMMIT``):
    that hash, and nothing uncommitted."""
    try:
        where = subprocess.run([sys.executable, "-c", "import redistrict; print(redistrict.__file__)"], capture_output=True, text=True, timeout=120, cwd=HERE).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        where = ""
    source = Path(where).resolve().parent.parent if where else HERE.parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=source, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    out = {"source": str(source), "at": time.strftime("%Y-%m-%d %H:%M:%S")}
    if (source / "COMMIT").exists():
        return out | {"commit": (source / "COMMIT").read_text().strip(), "dirty": []}
    dirty = [line.split(maxsplit=1)[-1] for line in git("status", "--porcelain", "--", "redistrict").splitlines() if line.strip()]
    return out | {"commit": git("rev-parse", "--short", "HEAD").strip() or None, "dirty": dirty}


def summarise_gc(runs: list[dict], objective: str, cap: float) -> dict:
    """First-plan time (seeds in turn), median time, failures, and the best valid plan."""
    ok = [r for r in runs if r.get("status") == "plan" and r.get("seconds", math.inf) <= cap and r["metrics"]["valid"]]
    elapsed, first = 0.0, None
    for r in runs:
        elapsed += r.get("seconds") or 0.0  # None: it failed before its solver started
        if r in ok:
            first = elapsed
            break
    key = "cut_edges" if objective == "cut_edges" else "compactness_hh_km2"
    best = min(ok, key=lambda r: r["metrics"][key]) if ok else None
    times = [r["seconds"] for r in runs if r.get("seconds") is not None]
    errors = sorted({r.get("error", "invalid plan")[:120] for r in runs if r not in ok})
    failed_seconds = [r["seconds"] for r in runs if r not in ok and r.get("seconds") is not None]
    return {
        "seeds": len(runs), "plans": len(ok), "failures": len(runs) - len(ok), "errors": errors,
        "failed_seconds": failed_seconds,
        "first_plan_seconds": first, "median_seconds": statistics.median(times) if times else None,
        "best_seed": best["seed"] if best else None, "best_metrics": best["metrics"] if best else None,
        "median_peak_mb": statistics.median(r["peak_mb"] for r in runs) if runs else None,
        "median_tree_peak_mb": statistics.median(r["tree_peak_mb"] for r in runs) if runs and all(r.get("tree_peak_mb") is not None for r in runs) else None,
        "version": next((r["version"] for r in runs if "version" in r), None),
    }


# --- the report ---------------------------------------------------------------------------------


def fmt(value, spec: str = ",.1f") -> str:
    """A number for the table, '-' for nothing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def ratio(a, b) -> str:
    """a / b to three digits, '-' when either is missing or b is 0."""
    return "-" if a is None or b is None or b == 0 else f"{a / b:.3f}"


def case_header(result: dict) -> str:
    """One line on the instance: sizes, pieces, bounds, k."""
    p = result.get("problem") or {}
    if not p:
        return f"### {result['case']}: {result['description']}\n\n(no problem was built)"
    ks = p.get("piece_ks") or []
    shown = ", ".join(map(str, ks[:12])) + (f", … ({len(ks)} pieces)" if len(ks) > 12 else "")
    code = result.get("code") or {}
    ran = f"\n\nran against {code.get('commit')}" + (f" + uncommitted {', '.join(code['dirty'])}" if code.get("dirty") else "") + f" at {code.get('at')}" if code else ""
    return (
        f"### {result['case']}: {result['description']}{ran}\n\n{p['blocks']:,} blocks, {p['edges']:,} edges, "
        f"{p['households']:,} households, {p['pieces']} piece(s), bounds {p['lower']:,}–{p['upper']:,}, "
        f"k = {p['k']} (per piece: {shown}); objective: {result['objective']}"
    )


def gc_status_text(gc: dict) -> str:
    """'2/3 plans; 1 failed (34.3 s): RuntimeError: …' for the table."""
    if not gc:
        return "-"
    text = f"{gc['plans']}/{gc['seeds']} plans"
    if gc.get("failures"):
        spent = ", ".join(f"{s:,.1f} s" for s in gc.get("failed_seconds") or [])
        text += f"; {gc['failures']} failed" + (f" ({spent})" if spent else "") + f": {'; '.join(gc['errors'])}"
    return text


def case_table(result: dict) -> str:
    """The Markdown table of one case: ours vs GerryChain, and ours/GerryChain ratios."""
    ours = result.get("ours") or {}
    gc = (result.get("gerrychain") or {}).get("summary") or {}
    om, gm = ours.get("metrics") or {}, gc.get("best_metrics") or {}
    gc_status = gc_status_text(gc)
    ours_status = ours.get("status", "-") + (f" ({ours['error']})" if ours.get("error") else "")
    rows = [
        ("time to first plan (s)", fmt(ours.get("first_plan_seconds"), ",.2f"), fmt(gc.get("first_plan_seconds"), ",.2f"), ""),
        ("total time (s)", fmt(ours.get("seconds"), ",.2f"), fmt(gc.get("median_seconds"), ",.2f") + (" (median)" if gc else ""), ""),
        ("status", ours_status, gc_status, ""),
        ("valid (harness)", fmt(om.get("valid")), fmt(gm.get("valid")) + (f" (best: seed {gc['best_seed']})" if gc.get("best_metrics") else ""), ""),
        ("units", fmt(om.get("units"), ","), fmt(gm.get("units"), ","), ""),
        ("compactness (hh·km²)", fmt(om.get("compactness_hh_km2"), ",.1f"), fmt(gm.get("compactness_hh_km2"), ",.1f"), ratio(om.get("compactness_hh_km2"), gm.get("compactness_hh_km2"))),
        ("cut edges", fmt(om.get("cut_edges"), ","), fmt(gm.get("cut_edges"), ","), ratio(om.get("cut_edges"), gm.get("cut_edges"))),
        ("bound (model objective)", fmt(ours.get("best_bound"), ",.1f"), "-", ""),
        ("gap", "-" if ours.get("gap") is None else f"{ours['gap']:.2%}", "-", ""),
        ("peak MB (largest process)", fmt(ours.get("peak_mb"), ",.0f"), fmt(gc.get("median_peak_mb"), ",.0f") + (" (median)" if gc else ""), ""),
        ("peak MB (process tree, sampled)", fmt(ours.get("tree_peak_mb"), ",.0f"), fmt(gc.get("median_tree_peak_mb"), ",.0f") + (" (median)" if gc else ""), ""),
    ]
    lines = ["| metric | redistrict | GerryChain | ours/GC |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def print_case(result: dict) -> None:
    """Header and table of one case, at once."""
    print(case_header(result) + "\n\n" + case_table(result) + "\n", flush=True)


def summary_table(results: list[dict]) -> str:
    """One line per case: both tools' outcome, time and the quality ratios."""
    lines = ["| case | ours status | ours s | GC plans | GC median s | compactness ours/GC | cut edges ours/GC |", "|---|---|---|---|---|---|---|"]
    for r in results:
        ours, gc = r.get("ours") or {}, (r.get("gerrychain") or {}).get("summary") or {}
        om, gm = ours.get("metrics") or {}, gc.get("best_metrics") or {}
        plans = f"{gc['plans']}/{gc['seeds']}" if gc else "-"
        lines.append(
            f"| {r['case']} | {ours.get('status', '-')} | {fmt(ours.get('seconds'), ',.1f')} | {plans} | {fmt(gc.get('median_seconds'), ',.2f')} "
            f"| {ratio(om.get('compactness_hh_km2'), gm.get('compactness_hh_km2'))} | {ratio(om.get('cut_edges'), gm.get('cut_edges'))} |"
        )
    return "\n".join(lines)


def list_cases() -> None:
    """Print every case name and alias."""
    for name in dict.fromkeys(ALL + ("tunxi-all-sub", "city500", "city500-flat")):
        print(f"{name:16} {case_by_name(name).description}")
    print(f"\naliases: small = {' '.join(SMALL)}; all = {' '.join(ALL)}")
    print("any cityN or cityNk, with -flat for no subdistricts, e.g. city20k-flat")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=["small"], help="case names or aliases (small, all); default small")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--tools", nargs="+", choices=("ours", "gerrychain"), default=["ours", "gerrychain"])
    parser.add_argument("--time-limit", type=float, default=60.0, help="ours: solve(time_limit=...) in seconds (default 60)")
    parser.add_argument("--method", default="auto", help="ours: solve(method=...) when solve takes it (default auto)")
    parser.add_argument("--solver", default="highs", help="ours: highs or cbc")
    parser.add_argument("--threads", type=int, default=None, help="ours: solver threads (default: the solver's)")
    parser.add_argument("--workers", type=int, default=None, help="ours: solve(workers=...) when solve takes it")
    parser.add_argument("--highs-seed", type=int, default=None, help="ours: HiGHS random_seed for every model (default: the engine's 0); exact times vary with it")
    parser.add_argument("--seeds", type=int, default=3, help="GerryChain runs per case (seeds 0..N-1; default 3)")
    parser.add_argument("--cap", type=float, default=600.0, help="GerryChain: seconds per run before it is killed and failed (default 600)")
    parser.add_argument("--max-attempts", type=int, default=None, help="GerryChain: spanning trees per cut before giving up (default GerryChain's, 100,000)")
    parser.add_argument("--grace", type=float, default=300.0, help="ours: killed this long after its time limit (default 300 s)")
    parser.add_argument("--load-timeout", type=float, default=1800.0, help="seconds a child may take to build the problem")
    parser.add_argument("--room", type=int, default=25, help="planned k per piece: the fewest whose average is this many households inside both bounds")
    parser.add_argument("--data", type=Path, default=DATA, help="folder with tunxi_blocks.geojson, tunxi_river.geojson, tunxi_bridges.csv")
    parser.add_argument("--instances", type=Path, default=INSTANCES, help="folder with county{20,35,40}.json and nh_tracts_2010/")
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="generated layers and the children's log")
    parser.add_argument("--city-seed", type=int, default=1, help="citygen seed of the generated layers")
    parser.add_argument("--json", type=Path, default=None, help="also write every result (per seed) to this JSON file")
    parser.add_argument("--one", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the cases, print a table per case, optionally write JSON."""
    args = parse_args(argv)
    if args.one is not None:
        return child_main(args.one)
    if args.list:
        list_cases()
        return 0
    cases = expand_cases(args.cases)
    args.workdir.mkdir(parents=True, exist_ok=True)
    opts = {"data": str(args.data.resolve()), "instances": str(args.instances), "workdir": str(args.workdir.resolve()), "city_seed": args.city_seed, "room": args.room}
    results = []
    for case in cases:
        results.append(run_case(case, args, opts))
        print_case(results[-1])
        if args.json is not None:
            args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str))
    if len(results) > 1:
        print("### summary\n\n" + summary_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
