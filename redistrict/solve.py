"""From a Problem to a verified Plan: diagnose, contract, build the model, solve, name, verify.

This is the glue between the planner's vocabulary (blocks, communities, office sites) and the
engine's arrays (``redistrict.model``).  Whatever the engine returns, the plan is checked by the
independent verifier before it is returned as a success.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from .diagnose import Diagnosis, Reason, diagnose_problem
from .errors import InputError, VerificationError
from .plan import Plan, objective_terms, unit_table
from .problem import Problem, feasible_unit_counts, unit_room
from .verify import verify_plan

SOLVERS = ("highs", "cbc")
#: reasons that relaxing the household bounds cannot cure
_HARD_REASONS = {"offices", "locks"}


@dataclass
class _Contracted:
    """The problem's graph with keep-together groups merged into single nodes (as arrays)."""

    members: list[list[str]]  # node index → block ids
    weights: np.ndarray
    x: np.ndarray
    y: np.ndarray
    community: list[str | None]
    edges: np.ndarray
    edge_length: np.ndarray


def _contract(problem: Problem) -> _Contracted:
    graph = problem.graph
    group_of = {}
    for block in sorted(graph.nodes, key=str):
        group_of[block] = ("g", problem.keep_together[block]) if block in problem.keep_together else ("b", block)
    groups: dict = {}
    for block, key in group_of.items():
        groups.setdefault(key, []).append(block)
    for key, blocks in groups.items():
        if key[0] == "g" and len(blocks) > 1 and not nx.is_connected(graph.subgraph(blocks)):
            raise InputError(f"Keep-together group '{key[1]}' ({', '.join(blocks)}) is not connected on the adjacency graph, so it cannot form part of one contiguous unit; raise --snap or add an override edge.", ids=blocks)
    members = list(groups.values())
    index = {block: i for i, blocks in enumerate(members) for block in blocks}
    weights = np.array([sum(graph.nodes[b]["households"] for b in blocks) for blocks in members], dtype=np.int64)
    x = np.empty(len(members))
    y = np.empty(len(members))
    community: list[str | None] = []
    for i, blocks in enumerate(members):
        hh = np.array([graph.nodes[b]["households"] for b in blocks], dtype=float)
        w = hh if hh.sum() > 0 else np.ones(len(blocks))
        x[i] = float(np.average([graph.nodes[b]["x"] for b in blocks], weights=w))
        y[i] = float(np.average([graph.nodes[b]["y"] for b in blocks], weights=w))
        comms = pd.Series(hh, index=[graph.nodes[b].get("community") or "" for b in blocks]).groupby(level=0).sum()
        top = comms.idxmax() if len(comms) else ""
        community.append(top or None)
    lengths: dict[tuple[int, int], float] = {}
    for a, b, data in graph.edges(data=True):
        i, j = index[a], index[b]
        if i != j:
            key = (min(i, j), max(i, j))
            lengths[key] = lengths.get(key, 0.0) + float(data.get("length", 0.0))
    keys = sorted(lengths)
    edges = np.array(keys, dtype=np.int64).reshape(-1, 2)
    return _Contracted(members, weights, x, y, community, edges, np.array([lengths[k] for k in keys]))


def _centre_sites(problem: Problem, contracted: _Contracted) -> tuple[np.ndarray | None, dict[int, dict]]:
    """Candidate centre nodes and, for each, the office site that would serve the unit."""
    sites: dict[int, dict] = {}
    if problem.offices is None:
        return None, sites
    index = {block: i for i, blocks in enumerate(contracted.members) for block in blocks}
    best = problem.offices.sort_values(["floor_area_m2", "site_id"], ascending=[False, True])
    for row in best.itertuples(index=False):
        node = index.get(str(row.block_id))
        if node is not None and node not in sites:
            sites[node] = {"site_id": str(row.site_id), "office_name": str(row.name), "office_area_m2": float(row.floor_area_m2), "x": float(row.x), "y": float(row.y)}
    return np.array(sorted(sites), dtype=np.int64), sites


def _assign_cost(problem: Problem, c: _Contracted, sites: dict[int, dict]) -> Callable | None:
    """Assignment cost of node i to centre j: compactness, distance to office and stability."""
    w = problem.weights
    if w.compactness == 0 and w.distance == 0 and w.stability == 0:
        return None
    cx, cy = c.x.copy(), c.y.copy()
    for node, site in sites.items():
        cx[node], cy[node] = site["x"], site["y"]
    codes = {name: i for i, name in enumerate(sorted({v for v in c.community if v is not None}))}
    comm = np.array([codes.get(v, -1) if v is not None else -1 for v in c.community])
    hh = c.weights.astype(float)

    def cost(nodes: np.ndarray, centres: np.ndarray) -> np.ndarray:
        r2 = ((c.x[nodes] - cx[centres]) ** 2 + (c.y[nodes] - cy[centres]) ** 2) / 1e6
        out = w.compactness * hh[nodes] * r2
        if w.distance:
            out = out + w.distance * hh[nodes] * np.sqrt(r2)
        if w.stability:
            moved = (comm[nodes] != comm[centres]) & (comm[nodes] >= 0)
            out = out + w.stability * hh[nodes] * moved
        return out

    return cost


def _relaxed_k(total: int, lower: int, upper: int) -> tuple[int, str]:
    """With elastic bounds and no k that fits, the k whose average violates the bounds least."""
    k_lo = max(1, total // upper)
    best = None
    for k in range(k_lo, k_lo + 3):
        violation = max(0.0, -unit_room(total, k, lower, upper))
        if best is None or violation < best[1] - 1e-9:
            best = (k, violation)
    k, violation = best
    return k, f"k={k}: no k fits {lower:,}–{upper:,}, so the bounds are relaxed; {k} units average {total / k:,.0f}, the smallest arithmetic violation ({math.ceil(violation):,})"


def solve(
    problem: Problem,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    relax: bool = False,
    threads: int | None = None,
    formulation: str | None = None,
    progress: Callable[[dict], None] | None = None,
) -> Plan:
    """Solve ``problem`` exactly and return a verified :class:`Plan`.

    The plan's ``status`` is ``optimal``, ``feasible`` (stopped at the asked-for ``mip_gap``),
    ``timed_out`` (the time limit stopped the search: the best verified plan, gap given), ``relaxed``
    (``relax=True`` and bounds had to give; violations per unit), ``infeasible`` (with a
    diagnosis) or ``no_solution`` (limit reached without a plan).  Raises
    :class:`VerificationError` if the engine ever returned a plan the verifier rejects.
    """
    from .model import ModelInput, solve_model

    if solver not in SOLVERS:
        raise InputError(f"The solver must be one of {', '.join(SOLVERS)}, but '{solver}' was given.")
    started = time.perf_counter()
    diagnosis = diagnose_problem(problem)
    k = problem.k
    k_reason = problem.k_reason
    if diagnosis.reasons:
        hard = [r for r in diagnosis.reasons if r.kind in _HARD_REASONS]
        if not relax or hard:
            return _infeasible(problem, diagnosis, started)
        if k is None:
            k, k_reason = _relaxed_k(problem.total_households, problem.lower, problem.upper)
    contracted = _contract(problem)
    if k > len(contracted.members):
        diagnosis.reasons.append(Reason("unit_count", f"{k} units need at least {k} blocks (or keep-together groups); there are {len(contracted.members)}."))
        return _infeasible(problem, diagnosis, started)
    candidates, sites = _centre_sites(problem, contracted)
    w = problem.weights
    edge_cost = np.ones(len(contracted.edges)) if w.unit_edges else contracted.edge_length / 1000.0
    index = {block: i for i, blocks in enumerate(contracted.members) for block in blocks}
    lock_nodes: dict[str, list[int]] = {}
    for block, label in problem.locks.items():
        lock_nodes.setdefault(label, []).append(index[block])
    same = [(a, b) for nodes in lock_nodes.values() for a, b in zip(nodes, nodes[1:], strict=False) if a != b]
    reps = [nodes[0] for nodes in lock_nodes.values()]
    different = [(a, b) for i, a in enumerate(reps) for b in reps[i + 1 :]]
    data = ModelInput(
        n=len(contracted.members),
        weights=contracted.weights,
        edges=contracted.edges,
        k=k,
        lower=problem.lower,
        upper=problem.upper,
        edge_cost=edge_cost,
        candidates=candidates,
        assign_cost=_assign_cost(problem, contracted, sites),
        cut_weight=w.boundary,
        same_unit=same,
        different_unit=different,
    )
    kwargs = {"solver": solver, "mip_gap": mip_gap, "threads": threads, "progress": progress}
    if formulation:
        kwargs["formulation"] = formulation
    relax_note = ""
    try:
        if relax:
            solution, relax_note = _min_violation_search(data, kwargs, solve_model, time_limit)
        else:
            solution = solve_model(data, time_limit=time_limit, **kwargs)
        if solution is None:
            return Plan("no_solution", problem.to_dict() | {"k": k, "k_reason": k_reason}, seconds=time.perf_counter() - started, solver={"solver": solver}, message=f"No plan was found within the time limit ({time_limit} s). Raise --time-limit.")
    except (RuntimeError, MemoryError) as exc:  # SolverError included: the solver failed, not the data
        return Plan("no_solution", problem.to_dict() | {"k": k, "k_reason": k_reason}, seconds=time.perf_counter() - started, solver={"solver": solver, "error": f"{type(exc).__name__}: {exc}"}, message=f"The solver failed before finding a plan ({type(exc).__name__}: {exc}); nothing was written as a plan. Try --solver {'cbc' if solver == 'highs' else 'highs'} or report the failure.")
    solver_info = {k_: v for k_, v in solution.to_dict().items() if k_ != "centre_of"}
    problem_info = problem.to_dict() | {"k": k, "k_reason": k_reason}
    if solution.status == "infeasible":
        diagnosis.proved_by_solver = True
        diagnosis.reasons.append(Reason("solver_proof", f"The solver proved that no contiguous plan of {k} units with {problem.lower:,}–{problem.upper:,} households exists for these blocks (block sizes and adjacency leave no valid combination).{_roomier_k(problem, k)}"))
        _suggest_relaxation(problem, diagnosis)
        return Plan("infeasible", problem_info, diagnosis=diagnosis, seconds=time.perf_counter() - started, solver=solver_info, message=diagnosis.summary())
    if not solution.has_plan:
        return Plan("no_solution", problem_info, seconds=time.perf_counter() - started, solver=solver_info, message=f"No contiguous plan was found within the time limit ({time_limit} s). Raise --time-limit.{_roomier_k(problem, k)}")

    assignment, centres = _name_units(problem, contracted, solution.centre_of, sites)
    relaxed = relax and bool(relax_note)
    report = verify_plan(problem.graph, assignment, lower=problem.lower, upper=problem.upper, k=k, bounds_relaxed=relax)
    if not report.ok:
        raise VerificationError("The solver returned a plan that fails verification; it was not written:\n" + report.summary(), violations=report.violations)
    status = "relaxed" if relaxed or report.relaxed_units else solution.status
    if status == "feasible" and not (mip_gap is not None and solution.gap is not None and solution.gap <= mip_gap + 1e-12):
        status = "timed_out"  # a limit stopped the search before the asked-for gap
    units = unit_table(problem.graph, assignment, centres, lower=problem.lower, upper=problem.upper)
    if status == "relaxed":
        message = f"Bounds relaxed: the largest violation is {int(units['violation'].max()):,} households ({(~units['within_bounds']).sum()} unit(s) outside {problem.lower:,}–{problem.upper:,}); {relax_note}."
    elif status == "optimal":
        message = f"Optimal plan of {k} contiguous units within {problem.lower:,}–{problem.upper:,} households."
    elif status == "timed_out":
        gap = f" (gap {solution.gap:.2%})" if solution.gap is not None else ""
        message = f"Time limit reached: the best verified plan of {k} units within {problem.lower:,}–{problem.upper:,} households, NOT proved optimal{gap}. Raise --time-limit to close the gap."
    else:
        message = f"Plan of {k} units within the bounds, within the asked-for gap (gap {solution.gap:.2%}); not proved optimal." if solution.gap is not None else f"Plan of {k} units within the bounds; not proved optimal."
    return Plan(
        status=status,
        problem=problem_info,
        assignment=assignment,
        units=units,
        objective=objective_terms(problem.graph, assignment, centres) | {"model_objective": solution.objective},
        best_bound=solution.best_bound,
        gap=solution.gap,
        seconds=time.perf_counter() - started,
        solver=solver_info,
        diagnosis=diagnosis if diagnosis.reasons else None,
        verification=report,
        message=message,
    )


#: seconds each step of the relaxed search may take when the caller set no time limit
_RELAX_STEP_SECONDS = 60.0


def _min_violation_search(data, kwargs: dict, solve_model: Callable, time_limit: float | None):
    """The plan whose largest bound violation is smallest: widen the bounds by v, search v.

    Feasibility is monotone in v, so a doubling phase finds a feasible v and a bisection then
    narrows it; every step is an ordinary exact solve with bounds [lower - v, upper + v].  The
    arithmetic violation of k units (the average's distance to the bounds) is a proven lower
    bound.  Returns the best solution and a note saying whether its violation is proved minimal
    ("" when no relaxation was needed).
    """
    from dataclasses import replace

    started = time.perf_counter()
    lower, upper, k = data.lower, data.upper, data.k
    total = int(data.weights.sum())
    v_floor = max(0, math.ceil(total / k) - upper, lower - total // k)
    proved_lo = v_floor  # every violation below this is proved impossible

    def attempt(v: int, share: float):
        """An exact solve with bounds widened by v, given ``share`` of the time left."""
        remaining = None if time_limit is None else time_limit - (time.perf_counter() - started)
        if remaining is not None and remaining <= 0.05:
            return None
        step = _RELAX_STEP_SECONDS if remaining is None else max(0.05, share * remaining)
        widened = replace(data, lower=max(0, lower - v), upper=upper + v, relax=False)
        return solve_model(widened, time_limit=step, **kwargs)

    def violation(solution) -> int:
        totals = np.bincount(solution.centre_of, weights=data.weights, minlength=data.n)
        totals = totals[np.unique(solution.centre_of)]
        return int(max(0, (lower - totals).max(), (totals - upper).max()))

    # doubling: the tightest widening is the hardest to decide, so no step may take all the time
    best, last = None, None
    v, step, search_lo = v_floor, max(1, v_floor), v_floor
    while best is None and v <= upper:
        solution = attempt(v, 1 / 3)
        if solution is None:
            break
        last = solution
        if solution.has_plan:
            best = solution
        else:
            if solution.status == "infeasible":
                proved_lo = v + 1
            search_lo, v, step = v + 1, v + step, step * 2
    if best is None:
        return last, ""  # no plan: infeasible even widened, or out of time (None: no time at all)
    hi = violation(best)
    # bisection on v: an undecided step narrows the search but proves nothing
    lo = min(search_lo, hi)
    while lo < hi:
        mid = (lo + hi) // 2
        solution = attempt(mid, 1 / 2)
        if solution is None:
            break
        if solution.has_plan and violation(solution) < hi:
            best, hi = solution, violation(solution)
        else:
            if solution.status == "infeasible":
                proved_lo = max(proved_lo, mid + 1)
            lo = mid + 1
    if hi == 0:
        return best, ""
    if hi <= v_floor:
        return best, f"proved minimal: {k} units of {total:,} households cannot do better than {v_floor:,} by arithmetic"
    if proved_lo >= hi:
        return best, "proved minimal"
    return best, f"not proved minimal (at least {proved_lo:,} is needed)"


def _infeasible(problem: Problem, diagnosis: Diagnosis, started: float) -> Plan:
    _suggest_relaxation(problem, diagnosis)
    return Plan("infeasible", problem.to_dict(), diagnosis=diagnosis, seconds=time.perf_counter() - started, message=diagnosis.summary())


def _roomier_k(problem: Problem, k: int) -> str:
    """A hint when another unit count fits with more room: a k whose average sits close to a
    bound forces nearly every unit to that bound, which may have no plan or take long to find."""
    total, lower, upper = problem.total_households, problem.lower, problem.upper
    room = {x: unit_room(total, x, lower, upper) for x in feasible_unit_counts(total, lower, upper)}
    if k not in room or len(room) < 2:
        return ""
    best = max(room, key=room.get)
    if best == k or room[best] < 2 * room[k] + 1:
        return ""
    return (
        f" {k} units average {total / k:,.0f} households, only {room[k]:,.0f} from a bound, so nearly every unit must sit at"
        f" that bound; {best} units (average {total / best:,.0f}) leave far more room: try --k {best}."
    )


def _suggest_relaxation(problem: Problem, diagnosis: Diagnosis) -> None:
    if not any("--relax" in s for s in diagnosis.suggestions):
        diagnosis.suggestions.append("solve with --relax to get the plan that minimises the largest bound violation")
    total = problem.total_households
    if not feasible_unit_counts(total, problem.lower, problem.upper) and problem.name:
        diagnosis.suggestions.append("re-plan jointly with the neighbouring communities of the same subdistrict (redistrict plan BLOCKS --subdistrict NAME)")


def _name_units(problem: Problem, c: _Contracted, centre_of: np.ndarray, sites: dict[int, dict]) -> tuple[pd.Series, dict[str, dict]]:
    """Unit ids U1..Uk ordered north→south, west→east; names from the centre's community."""
    centres = sorted(set(int(v) for v in centre_of))
    location = {}
    for centre in centres:
        nodes = np.flatnonzero(centre_of == centre)
        w = c.weights[nodes].astype(float)
        w = w if w.sum() > 0 else np.ones(len(nodes))
        location[centre] = (-np.average(c.y[nodes], weights=w), np.average(c.x[nodes], weights=w))
    order = sorted(centres, key=lambda j: location[j])
    unit_of_centre = {centre: f"U{i + 1}" for i, centre in enumerate(order)}
    per_comm: dict[str | None, int] = {}
    info: dict[str, dict] = {}
    for centre in order:
        unit_id = unit_of_centre[centre]
        comm = c.community[centre]
        per_comm[comm] = per_comm.get(comm, 0) + 1
        site = sites.get(centre)
        block = c.members[centre][0]
        entry = {
            "block_id": block,
            "community": comm,
            "x": site["x"] if site else float(problem.graph.nodes[block]["x"]),
            "y": site["y"] if site else float(problem.graph.nodes[block]["y"]),
        }
        if site:
            entry.update({k: v for k, v in site.items() if k not in ("x", "y")})
        info[unit_id] = entry
    counts = {comm: 0 for comm in per_comm}
    for centre in order:
        unit_id = unit_of_centre[centre]
        comm = c.community[centre]
        counts[comm] += 1
        if comm is None:
            info[unit_id]["name"] = unit_id
        else:
            info[unit_id]["name"] = comm if per_comm[comm] == 1 else f"{comm}-{counts[comm]}"
    assignment = pd.Series({block: unit_of_centre[int(centre_of[i])] for i, blocks in enumerate(c.members) for block in blocks}, name="unit_id")
    assignment.index.name = "block_id"
    return assignment.sort_index(), info
