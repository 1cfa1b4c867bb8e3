"""From a Problem to a verified Plan: diagnose, contract, split into pieces, solve, name, verify.

This is the glue between the planner's vocabulary (blocks, communities, office sites) and the
engine's arrays (``redistrict.model``).  Whatever the engine returns, the plan is checked by the
independent verifier before it is returned as a success.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd

from . import options as defaults
from .diagnose import Diagnosis, Reason, diagnose_problem
from .errors import SolverError, VerificationError
from .options import METHODS, SOLVERS, check_solve_options
from .pieces import default_workers, piece_budgets, plan_pieces, solve_in_phases
from .plan import Plan, objective_terms, unit_names, unit_table
from .problem import Problem, Weights, feasible_unit_counts, next_unit_count, unit_room
from .verify import verify_plan

if TYPE_CHECKING:
    from .model import ModelInput

__all__ = ["METHODS", "SOLVERS", "AssignmentCost", "SolveOptions", "solve"]
#: statuses of plans whose units may leave the bounds (``relax=True``)
RELAXED = ("relaxed", "relaxed_unproved")
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
    """Keep-together groups merged into single nodes; O(blocks + edges) with numpy."""
    graph = problem.graph
    members = _groups(problem)
    index = {block: i for i, blocks in enumerate(members) for block in blocks}
    blocks = list(index)
    node = np.fromiter((index[b] for b in blocks), dtype=np.int64, count=len(blocks))
    attrs = graph.nodes
    hh = np.fromiter((attrs[b]["households"] for b in blocks), dtype=float, count=len(blocks))
    bx = np.fromiter((attrs[b]["x"] for b in blocks), dtype=float, count=len(blocks))
    by = np.fromiter((attrs[b]["y"] for b in blocks), dtype=float, count=len(blocks))
    n = len(members)
    weights = np.bincount(node, weights=hh, minlength=n)
    empty = weights[node] <= 0  # a group without households: plain mean of its blocks
    w = np.where(empty, 1.0, hh)
    total_w = np.bincount(node, weights=w, minlength=n)
    x = np.bincount(node, weights=w * bx, minlength=n) / total_w
    y = np.bincount(node, weights=w * by, minlength=n) / total_w
    community = [_top_community(graph, group) for group in members]
    lengths: dict[tuple[int, int], float] = {}
    for a, b, data in graph.edges(data=True):
        i, j = index[a], index[b]
        if i != j:
            key = (min(i, j), max(i, j))
            lengths[key] = lengths.get(key, 0.0) + float(data.get("length", 0.0))
    keys = sorted(lengths)
    edges = np.array(keys, dtype=np.int64).reshape(-1, 2)
    return _Contracted(members, weights.astype(np.int64), x, y, community, edges, np.array([lengths[k] for k in keys]))


def _groups(problem: Problem) -> list[list[str]]:
    """Blocks per contracted node: each keep-together group (connected: the Problem checked it), else one block."""
    graph = problem.graph
    groups: dict = {}
    for block in sorted(graph.nodes, key=str):
        key = ("g", problem.keep_together[block]) if block in problem.keep_together else ("b", block)
        groups.setdefault(key, []).append(block)
    return list(groups.values())


def _top_community(graph: nx.Graph, blocks: list[str]) -> str | None:
    """The community holding most of a group's households (a single block: its own)."""
    if len(blocks) == 1:
        return graph.nodes[blocks[0]].get("community") or None
    totals: dict[str, float] = {}
    for b in blocks:
        name = graph.nodes[b].get("community") or ""
        totals[name] = totals.get(name, 0.0) + float(graph.nodes[b]["households"])
    top = max(sorted(totals), key=lambda name: totals[name])
    return top or None


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


@dataclass(frozen=True, eq=False)
class AssignmentCost:
    """Cost of node i in the unit centred at j: compactness, distance to the office, stability.

    ``households × (compactness·r² + distance·r) + stability·households·[moved]`` with r the
    distance (km) from the node to the centre (the office site where the centre holds one) and
    "moved" when the centre lies in another current community.  A picklable value, so pieces can
    be solved in worker processes.
    """

    weights: Weights
    x: np.ndarray
    y: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    households: np.ndarray
    community: np.ndarray

    def restricted(self, nodes: np.ndarray) -> AssignmentCost:
        """The same cost on ``nodes`` alone, in their local ids 0..len(nodes)−1: a piece sent to
        a worker process carries its own coordinates, not the whole layer's (2.4 MB per piece
        of the 50,000-block layer before)."""
        return AssignmentCost(self.weights, self.x[nodes], self.y[nodes], self.cx[nodes], self.cy[nodes], self.households[nodes], self.community[nodes])

    def __call__(self, nodes: np.ndarray, centres: np.ndarray) -> np.ndarray:
        w = self.weights
        r2 = ((self.x[nodes] - self.cx[centres]) ** 2 + (self.y[nodes] - self.cy[centres]) ** 2) / 1e6
        hh = self.households[nodes]
        out = w.compactness * hh * r2
        if w.distance:
            out = out + w.distance * hh * np.sqrt(r2)
        if w.stability:
            moved = (self.community[nodes] != self.community[centres]) & (self.community[nodes] >= 0)
            out = out + w.stability * hh * moved
        return out


def _assign_cost(problem: Problem, c: _Contracted, sites: dict[int, dict]) -> AssignmentCost | None:
    """The assignment cost of the problem's weights (None when no term needs one).

    The stability term counts households whose unit is centred in another community; with one
    community (or none named) it is zero for every plan, so it is left out rather than turning
    a pure cut-edge problem (interchangeable units) into one with centres.
    """
    w = problem.weights
    if len({v for v in c.community if v is not None}) <= 1 and w.stability:
        w = replace(w, stability=0.0)
    if w.compactness == 0 and w.distance == 0 and w.stability == 0:
        return None
    cx, cy = c.x.copy(), c.y.copy()
    for node, site in sites.items():
        cx[node], cy[node] = site["x"], site["y"]
    codes = {name: i for i, name in enumerate(sorted({v for v in c.community if v is not None}))}
    comm = np.array([codes.get(v, -1) if v is not None else -1 for v in c.community])
    return AssignmentCost(w, c.x, c.y, cx, cy, c.weights.astype(float), comm)


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


@dataclass(frozen=True)
class SolveOptions:
    """How to solve: solver, limits, method and where the pieces run."""

    solver: str = defaults.SOLVER
    time_limit: float | None = None
    mip_gap: float | None = None
    relax: bool = False
    threads: int | None = None
    formulation: str | None = None
    method: str = defaults.METHOD
    workers: int | None = None
    scheduler: str | None = None
    seed: int = 0
    #: households a relaxed plan's violation may lie above the proved bound (None: 0.1 % of the maximum)
    relax_tolerance: int | None = None
    #: smooth the boundaries of heuristic pieces at the end (:mod:`redistrict.model.smooth`)
    smooth: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_limit", defaults.no_limit(self.time_limit))
        check_solve_options(time_limit=self.time_limit, gap=self.mip_gap, threads=self.threads, workers=self.workers, solver=self.solver, method=self.method, relax=self.relax, relax_tolerance=self.relax_tolerance)


def solve(
    problem: Problem,
    *,
    solver: str = defaults.SOLVER,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    relax: bool = False,
    threads: int | None = None,
    formulation: str | None = None,
    progress: Callable[[dict], None] | None = None,
    method: str = defaults.METHOD,
    workers: int | None = None,
    scheduler: str | None = None,
    seed: int = 0,
    relax_tolerance: int | None = None,
    smooth: bool = True,
) -> Plan:
    """Solve ``problem`` and return a verified :class:`Plan`.

    The problem's separate pieces (subdistricts, barriers, graph components) are solved
    independently, each by ``method``: ``"exact"`` (the integer program, started from a
    constructed plan), ``"heuristic"`` (construction plus exact re-solves of 2–3-unit
    neighbourhoods; no optimality claim) or ``"auto"`` (exact for pieces of at most
    :data:`~redistrict.model.strategy.EXACT_MAX_NODES` blocks, heuristic above).  Pieces run
    in ``workers`` processes (default: one per core) or on the Dask cluster at ``scheduler``.
    With ``smooth`` (default) the heuristic ends by trading up to 1 % of a piece's objective for
    shorter unit boundaries where the objective has no boundary term
    (:mod:`redistrict.model.smooth`); ``smooth=False`` keeps the best plan found for the objective.

    The plan's ``status`` is ``optimal``, ``feasible`` (stopped at the asked-for ``mip_gap``),
    ``heuristic`` (a valid plan from the heuristic, not proved optimal), ``timed_out`` (the time
    limit stopped the exact search: the best verified plan, gap given), ``relaxed``
    (``relax=True`` and bounds had to give), ``infeasible`` (with a diagnosis) or
    ``no_solution`` (no plan found).  Raises :class:`VerificationError` if the engine ever
    returned a plan the verifier rejects.
    """
    options = SolveOptions(solver, time_limit, mip_gap, relax, threads, formulation, method, workers, scheduler, seed, relax_tolerance, smooth)
    started = time.perf_counter()
    diagnosis = diagnose_problem(problem)
    k, k_reason = problem.unit_count, problem.k_reason
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
    data = _model_input(problem, contracted, k, candidates, sites)
    context = _Context(problem, contracted, sites, k, k_reason, diagnosis, options, started)
    if relax and diagnosis.reasons:
        return _solve_relaxed(context, data, progress)
    plan = _solve_pieces(context, _with_forced_groups(data, problem, contracted), progress, relaxed=data if relax else None)
    if relax and plan.status in ("infeasible", "no_solution") and len(plan.pieces) <= 1:
        return _solve_relaxed(context, data, progress)  # the bounds fit by count but no plan was found within them
    return plan


def _with_forced_groups(data: ModelInput, problem: Problem, contracted: _Contracted) -> ModelInput:
    """The model input with every forced group (:mod:`redistrict.forced`) as forced pairs.

    Valid only within the bounds (a relaxed plan may leave a hanging part as its own small
    unit), so relaxed solves use the input without them.  The construction and the exhaustive
    search then never cut a group apart; the integer program does not see them
    (``ModelInput.forced_unit``).
    """
    index = {block: i for i, blocks in enumerate(contracted.members) for block in blocks}
    pairs = set()
    for group in problem.forced_groups:
        nodes = sorted({index[b] for b in group.blocks})
        pairs.update((nodes[0], other) for other in nodes[1:])
    pairs -= set(data.same_unit)
    return replace(data, forced_unit=tuple(sorted(pairs))) if pairs else data


def _model_input(problem: Problem, contracted: _Contracted, k: int, candidates, sites) -> ModelInput:
    """The whole problem as the engine's arrays (locks as same/different-unit node pairs)."""
    from .model import ModelInput

    w = problem.weights
    edge_cost = np.ones(len(contracted.edges)) if w.unit_edges else contracted.edge_length / 1000.0
    index = {block: i for i, blocks in enumerate(contracted.members) for block in blocks}
    lock_nodes: dict[str, list[int]] = {}
    for block, label in problem.locks.items():
        lock_nodes.setdefault(label, []).append(index[block])
    same = [(a, b) for nodes in lock_nodes.values() for a, b in zip(nodes, nodes[1:], strict=False) if a != b]
    reps = [nodes[0] for nodes in lock_nodes.values()]
    different = [(a, b) for i, a in enumerate(reps) for b in reps[i + 1 :]]
    cost = _assign_cost(problem, contracted, sites)
    # a stability term labels units by the community of their centre: the engine then searches
    # by how many units each community centres (model/counts.py), where its bounds are tight
    groups = cost.community if cost is not None and cost.weights.stability > 0 else None
    return ModelInput(
        n=len(contracted.members),
        weights=contracted.weights,
        edges=contracted.edges,
        k=k,
        lower=problem.lower,
        upper=problem.upper,
        edge_cost=edge_cost,
        candidates=candidates,
        assign_cost=cost,
        cut_weight=w.boundary,
        same_unit=same,
        different_unit=different,
        groups=groups,
    )


@dataclass
class _Context:
    """What every stage after the model input needs to turn a solution into a Plan."""

    problem: Problem
    contracted: _Contracted
    sites: dict[int, dict]
    k: int
    k_reason: str
    diagnosis: Diagnosis
    options: SolveOptions
    started: float

    def info(self) -> dict:
        return self.problem.to_dict() | {"k": self.k, "k_reason": self.k_reason}

    def seconds(self) -> float:
        return time.perf_counter() - self.started


def _solve_relaxed(ctx: _Context, data, progress) -> Plan:
    """The bounds may give: the plan of k units whose largest violation is smallest, its
    compactness improved at that violation (:func:`~redistrict.model.relax.relaxed_plan`)."""
    from .model import solve_model
    from .model.relax import relaxed_plan

    o = ctx.options
    kwargs = {"solver": o.solver, "mip_gap": o.mip_gap, "threads": o.threads, "progress": progress}
    if o.formulation:
        kwargs["formulation"] = o.formulation
    tolerance = _tolerance(ctx)
    try:
        result, info = relaxed_plan(data, solve=solve_model, time_limit=o.time_limit, tolerance=tolerance, seed=o.seed, **kwargs)
    except (SolverError, MemoryError) as exc:  # the solver failed, not the data
        return _solver_failed(ctx, exc)
    if result.centre_of is None:
        return _relax_found_nothing(ctx, result)
    note = result.note(data, tolerance)
    solver_info = {"solver": o.solver, "relax_steps": [list(step) for step in result.steps], "proved_at_least": result.proved_at_least} | info
    return _finish(ctx, result.centre_of, result.status, None, None, solver_info, relax_note=note)


def _tolerance(ctx: _Context) -> int:
    o = ctx.options
    return relax_tolerance(ctx.problem.upper) if o.relax_tolerance is None else o.relax_tolerance


def relax_tolerance(upper: int) -> int:
    """Households by which a relaxed plan's violation may exceed the proved bound before the
    search stops (0.1 % of the maximum, at least 1): a unit of 3,081 or 3,083 households is
    the same decision for a bureau, and proving which is the minimum can take hours."""
    return max(1, math.ceil(0.001 * upper))


def _relax_found_nothing(ctx: _Context, result) -> Plan:
    o = ctx.options
    if result.infeasible:
        return _proved_infeasible(ctx, {"solver": o.solver}, "")
    return Plan("no_solution", ctx.info(), seconds=ctx.seconds(), solver={"solver": o.solver}, message=f"No plan was found, even with the bounds widened, within the time limit ({o.time_limit} s). Raise --time-limit.{_roomier_k(ctx.problem, ctx.k)}")


def _solver_failed(ctx: _Context, exc: BaseException) -> Plan:
    solver = ctx.options.solver
    return Plan("no_solution", ctx.info(), seconds=ctx.seconds(), solver={"solver": solver, "error": f"{type(exc).__name__}: {exc}"}, message=f"The solver failed before finding a plan ({type(exc).__name__}: {exc}); nothing was written as a plan. Try --solver {'cbc' if solver == 'highs' else 'highs'} or report the failure.")


def _proved_infeasible(ctx: _Context, solver_info: dict, where: str, proofs: list[str] = ()) -> Plan:
    """The plan for a proof of infeasibility; ``proofs`` says how each failed piece was proved
    (the exact model, or the exhaustive search in words of its own)."""
    p = ctx.problem
    ctx.diagnosis.proved_by_solver = True
    if proofs:
        text = " ".join(proofs)
    else:
        text = f"The solver proved that no contiguous plan of {ctx.k} units with {p.lower:,}–{p.upper:,} households exists for {where or 'these blocks'} (block sizes and adjacency leave no valid combination)."
    ctx.diagnosis.reasons.append(Reason("solver_proof", f"{text}{_roomier_k(p, ctx.k) if not where else ''}"))
    _suggest_relaxation(p, ctx.diagnosis)
    return Plan("infeasible", ctx.info(), diagnosis=ctx.diagnosis, seconds=ctx.seconds(), solver=solver_info, message=ctx.diagnosis.summary())


def _solve_pieces(ctx: _Context, data, progress, relaxed=None) -> Plan:
    """Each separate piece solved by its method (in parallel where there are several), merged.

    With several pieces every piece is constructed first, those that failed get most of the time
    next, the rest are solved from their plans (:func:`~redistrict.pieces.solve_in_phases`).  ``relaxed`` (with --relax: the input
    without forced groups) lets each of several pieces that has no plan within the bounds be
    relaxed on its own, the others keeping theirs."""
    from .model.data import restrict
    from .model.strategy import PieceTask

    o = ctx.options
    pieces = plan_pieces(ctx.problem, ctx.k, ctx.contracted.members, ctx.contracted.weights, ctx.contracted.edges)
    workers = default_workers() if o.workers is None else o.workers
    slots = 1 if o.scheduler is None and workers <= 1 else max(workers, 1)
    began = time.time()
    ends_at = None if o.time_limit is None else began + o.time_limit
    names = [p.name for p in pieces]
    tasks = [
        PieceTask(restrict(data, piece.nodes, piece.k), o.method, budget, o.solver, o.mip_gap, o.threads, o.formulation, o.seed, ends_at, smooth=o.smooth, workers=workers if len(pieces) == 1 and o.scheduler is None else 1)
        for piece, budget in zip(pieces, piece_budgets(pieces, o.time_limit, slots), strict=True)
    ]
    if relaxed is not None and len(pieces) > 1:
        tasks = [replace(task, relaxed=restrict(relaxed, piece.nodes, piece.k), relax_tolerance=_tolerance(ctx)) for task, piece in zip(tasks, pieces, strict=True)]
    if ctx.problem.k is None:  # the count was chosen: a piece too tight for a plan may take one unit more
        tasks = [replace(task, spare_k=_next_count(ctx.problem, piece)) for task, piece in zip(tasks, pieces, strict=True)]
    try:
        results = solve_in_phases(pieces, tasks, slots=slots, ends_at=ends_at, names=names, workers=workers, scheduler=o.scheduler, progress=progress)
    except (SolverError, MemoryError) as exc:  # the solver failed, not the data; other errors are bugs
        return _solver_failed(ctx, exc)
    results = [_at_least_zero(result) for result in results]
    ctx = _with_spare_counts(ctx, pieces, results)
    rows = [_piece_row(piece, result, o.mip_gap) for piece, result in zip(pieces, results, strict=True)]
    solver_info = {"solver": o.solver, "method": o.method, "pieces": rows, "first_plan_seconds": _first_plan(results, began)}
    failed = [(piece, r) for piece, r in zip(pieces, results, strict=True) if r.centre_of is None]
    if failed:
        return _pieces_failed(ctx, failed, solver_info, len(pieces), rows)
    centre_of = np.empty(data.n, dtype=np.int64)
    for piece, result in zip(pieces, results, strict=True):
        centre_of[piece.nodes] = piece.nodes[np.asarray(result.centre_of)]
    status = _merged_status([_piece_status(r, o.mip_gap) for r in results])
    objective = float(sum(r.objective for r in results))
    bounds = [r.bound for r in results]
    bound = float(sum(bounds)) if all(b is not None for b in bounds) else None
    solver_info["bound_method"] = _bound_method(results) if bound is not None else None
    note = _pieces_relax_note(pieces, results)
    return _finish(ctx, centre_of, status, objective, bound, solver_info, relax_note=note, pieces=rows, results=results, count_note=_spare_note(pieces, results))


def _raised(pieces, results) -> list:
    """The (piece, result) pairs whose plan took the piece's spare unit."""
    return [(piece, r) for piece, r in zip(pieces, results, strict=True) if r.k is not None and r.k != piece.k]


def _with_spare_counts(ctx: _Context, pieces, results) -> _Context:
    """The context with the plan's unit count when some piece took its spare unit."""
    raised = _raised(pieces, results)
    if not raised:
        return ctx
    k = ctx.k + sum(r.k - piece.k for piece, r in raised)
    names = ", ".join(piece.name for piece, _ in raised[:12]) + (f" and {len(raised) - 12} more" if len(raised) > 12 else "")
    reason = f"{ctx.k_reason}; one unit more than the fewest in {names}, which had no plan with the fewest, so k={k}"
    return replace(ctx, k=k, k_reason=reason)


def _spare_note(pieces, results) -> str:
    """Which pieces took one unit more than the fewest, and why, in words."""
    notes = [f"{piece.name} has {r.k} units, not {piece.k}: {r.improvement['spare_k']['because']}" for piece, r in _raised(pieces, results)]
    shown = "; ".join(notes[:6]) + (f"; and {len(notes) - 6} more pieces (see the report)" if len(notes) > 6 else "")
    return f"One unit more than the fewest where the fewest gave no plan — {shown}" if notes else ""


def _pieces_relax_note(pieces, results) -> str:
    """Which pieces were relaxed and whether each violation is proved minimal, in words."""
    notes = [f"{piece.name}: {result.improvement['relax']['note']}" for piece, result in zip(pieces, results, strict=True) if result.status in RELAXED]
    others = len(pieces) - len(notes)
    return "; ".join(notes) + (f"; the other {others} piece(s) keep within the bounds" if notes and others else "")


def _bound_method(results) -> str:
    """How the plan's bound was obtained, in words."""
    kinds = {r.improvement.get("bound_method") or "the exact model's dual bound" for r in results}
    return ("the sum over the pieces of " if len(results) > 1 else "") + " and ".join(sorted(kinds))


def _piece_status(result, mip_gap: float | None) -> str:
    """A piece's status in the plan's words (an exact search stopped by the limit is timed_out)."""
    if result.status == "feasible":
        solution = result.solution
        reached = mip_gap is not None and solution is not None and solution.gap is not None and solution.gap <= mip_gap + 1e-12
        return "feasible" if reached else "timed_out"
    return result.status


def _merged_status(statuses: list[str]) -> str:
    """The plan's status: the weakest claim any piece can make."""
    for status in ("relaxed_unproved", "relaxed", "timed_out", "heuristic", "feasible"):
        if status in statuses:
            return status
    return "optimal"


def _first_plan(results, began: float) -> float | None:
    """Seconds from the start of the pieces until every piece had a verified plan (wall clock:
    pieces that wait for a worker count their wait)."""
    moments = [r.first_plan_at for r in results]
    return None if any(m is None for m in moments) else round(max(moments) - began, 3)


def _at_least_zero(result):
    """The piece's result with a bound of at least 0: every term of the objective is ≥ 0, and a
    solver stopped before its first LP reports the trivial, negative sum of its negative column
    costs instead (HiGHS on a cut-edge term: −23,040 beside a plan of 524)."""
    return result if result.bound is None or result.bound >= 0 else replace(result, bound=0.0)


def _piece_row(piece, result, mip_gap: float | None) -> dict:
    """One row of the report's piece table."""
    gap = None
    if result.objective is not None and result.bound is not None:
        gap = max(0.0, result.objective - result.bound) / max(abs(result.objective), 1e-9)
    return {
        "piece": piece.name,
        "blocks": piece.blocks,
        "households": piece.households,
        "k": result.k or piece.k,
        "fewest_k": piece.k,
        "status": _piece_status(result, mip_gap),
        "method": result.method,
        "why": result.why,
        "objective": result.objective,
        "bound": result.bound,
        "gap": gap,
        "seconds": round(result.seconds, 3),
        "first_plan_seconds": None if result.first_plan_seconds is None else round(result.first_plan_seconds, 3),
        "improvement": result.improvement,
    }


def _pieces_failed(ctx: _Context, failed, solver_info: dict, count: int, rows: list[dict]) -> Plan:
    """Some piece has no plan: proved infeasible, or none found in the time."""
    names = ", ".join(piece.name for piece, _ in failed)
    proved = [(piece, r) for piece, r in failed if r.status == "infeasible"]
    if proved:
        where = "these blocks" if count == 1 else ", ".join(piece.name for piece, _ in proved)
        proofs = [f"{'' if count == 1 else piece.name + ' (' + str(piece.k) + ' units): '}{r.message}" for piece, r in proved if r.message]
        plan = _proved_infeasible(ctx, solver_info, "" if count == 1 else where, proofs if len(proofs) == len(proved) else [])
        plan.pieces = rows
        return plan
    notes = " ".join(r.message for _, r in failed if r.message)
    limit = ctx.options.time_limit
    scope = "" if count == 1 else f" for {names}"
    hint = _roomier_k(ctx.problem, ctx.k) if count == 1 else _roomier_pieces(ctx, [piece for piece, _ in failed])
    return Plan("no_solution", ctx.info(), seconds=ctx.seconds(), solver=solver_info, pieces=rows, message=f"No contiguous plan was found{scope} within the time limit ({limit} s). {notes} Raise --time-limit.{hint}".replace("  ", " "))


def _next_count(problem: Problem, piece) -> int | None:
    """One unit more for ``piece`` where that still fits it, else None."""
    return next_unit_count(piece.households, piece.k, problem.lower, problem.upper, piece.blocks, piece.heaviest)


def _roomier_pieces(ctx: _Context, failed) -> str:
    """A hint for pieces whose unit count sits close to a bound: one more unit each, via --k
    (a given total is shared out so that the tightest pieces get the extra units)."""
    p = ctx.problem

    def roomier(piece) -> bool:
        """One more unit still fits the piece and sits further from the bounds."""
        more = _next_count(p, piece)
        return more is not None and unit_room(piece.households, more, p.lower, p.upper) > unit_room(piece.households, piece.k, p.lower, p.upper)

    tight = [piece for piece in failed if roomier(piece)]
    if not tight:
        return ""
    detail = "; ".join(f"{piece.name}: {piece.k} units average {piece.households / piece.k:,.0f}, {piece.k + 1} would average {piece.households / (piece.k + 1):,.0f}" for piece in tight[:6])
    return f" The bounds leave these pieces little room ({detail}): try --k {ctx.k + len(tight)}, which gives the extra units to the tightest pieces."


def _finish(ctx: _Context, centre_of: np.ndarray, status: str, objective: float | None, bound: float | None, solver_info: dict, *, relax_note: str = "", pieces: list | None = None, results=None, count_note: str = "") -> Plan:
    """Name the units, verify the whole plan, and package it with its figures and message."""
    p = ctx.problem
    assignment, centres = _name_units(p, ctx.contracted, centre_of, ctx.sites)
    report = verify_plan(p, assignment, k=ctx.k, bounds_relaxed=ctx.options.relax)
    if not report.ok:
        raise VerificationError("The solver returned a plan that fails verification; it was not written:\n" + report.summary(), violations=report.violations)
    if report.relaxed_units and status not in RELAXED:
        raise VerificationError("The plan leaves the bounds although its search did not relax them; it was not written:\n" + "\n".join(v.message for v in report.relaxed_units), violations=report.relaxed_units)
    gap = None
    if objective is not None and bound is not None:
        gap = max(0.0, objective - bound) / max(abs(objective), 1e-9) if objective != bound else 0.0
    units = unit_table(p.graph, assignment, centres, lower=p.lower, upper=p.upper)
    return Plan(
        status=status,
        problem=ctx.info(),
        assignment=assignment,
        units=units,
        objective=objective_terms(p.graph, assignment, centres) | {"model_objective": objective},
        best_bound=bound,
        gap=gap,
        seconds=ctx.seconds(),
        solver=solver_info,
        diagnosis=ctx.diagnosis if ctx.diagnosis.reasons else None,
        verification=report,
        message=_message(ctx, status, units, gap, relax_note, results) + (f" {count_note}." if count_note else ""),
        pieces=pieces or [],
    )


def _message(ctx: _Context, status: str, units: pd.DataFrame, gap: float | None, relax_note: str, results) -> str:
    p, k = ctx.problem, ctx.k
    bounds = f"{p.lower:,}–{p.upper:,}"
    if status in RELAXED:
        tail = "" if status == "relaxed" else " A proof may take long: --relax-tolerance 0 and a longer --time-limit search for it (a time-limited exact search is not reproducible)."
        worst, outside = int(units["violation"].max()), int((~units["within_bounds"]).sum())
        return f"Bounds relaxed: the largest violation is {worst:,} household{'' if worst == 1 else 's'} ({outside:,} unit{'' if outside == 1 else 's'} outside {bounds}); {relax_note}.{tail}"
    gap_text = f" (gap {gap:.2%})" if gap is not None else ""
    if status == "optimal":
        return f"Optimal plan of {k} contiguous units within {bounds} households."
    if status == "timed_out":
        return f"Time limit reached: the best verified plan of {k} units within {bounds} households, NOT proved optimal{gap_text}. {_what_helps(ctx, results)}"
    if status == "heuristic":
        bound_text = f"at most {gap:.1%} above the optimum (gap against a valid lower bound)" if gap is not None else "no bound"
        return f"Plan of {k} contiguous units within {bounds} households by the heuristic; not proved optimal: {bound_text}; {_local_optimum_text(results)}."
    return f"Plan of {k} units within the bounds, within the asked-for gap{gap_text}; not proved optimal."


def _what_helps(ctx: _Context, results) -> str:
    """What is likely to close a gap the time limit left, in this problem's terms."""
    p = ctx.problem
    hint = _roomier_k(p, ctx.k).strip()
    if hint:
        return hint
    by_counts = any("counts" in r.improvement for r in results or [])
    if p.offices is None and not by_counts:
        return (
            "Without office sites every block may be a centre, and the bound stays weak: most of this gap is the bound's, "
            "so more time rarely closes it. Fix candidate sites with --offices to tighten it, or use the plan as it is "
            "(--method heuristic gives one in seconds)."
        )
    return "A longer --time-limit may close it; --method heuristic answers in seconds without a proof."


def _local_optimum_text(results) -> str:
    """What the improvement established, in words: which neighbourhoods were exhausted, or that
    boundaries were smoothed at a small cost in the objective."""
    heuristic = [r for r in results or [] if r.method == "heuristic"]
    smoothed = [r.improvement["smoothing"] for r in heuristic if r.improvement.get("smoothing", {}).get("kept")]
    if smoothed:
        cost = sum(s["objective_after"] - s["objective_before"] for s in smoothed) / max(sum(s["objective_before"] for s in smoothed), 1e-9)
        before, after = sum(s["cut_edges_before"] for s in smoothed), sum(s["cut_edges_after"] for s in smoothed)
        return (
            f"boundaries smoothed after the search in {len(smoothed):,} of {len(heuristic):,} heuristic piece(s): "
            f"{before:,} → {after:,} cut edges for {cost:+.2%} of their objective (--no-smooth keeps the most compact plan found)"
        )
    sizes = [set(r.improvement.get("local_optimum_for", [])) for r in heuristic]
    common = set.intersection(*sizes) if sizes else set()
    if not common:
        return "the improvement was stopped by the time limit before every 2-unit neighbourhood was tried"
    best = max(common)
    return f"no {'2- or 3-unit' if best >= 3 else '2-unit'} neighbourhood improves it"


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
    order_nodes = np.argsort(centre_of, kind="stable")
    starts = np.searchsorted(centre_of[order_nodes], centres)
    location = {}
    for centre, nodes in zip(centres, np.split(order_nodes, starts[1:]), strict=True):
        w = c.weights[nodes].astype(float)
        w = w if w.sum() > 0 else np.ones(len(nodes))
        location[centre] = (-np.average(c.y[nodes], weights=w), np.average(c.x[nodes], weights=w))
    order = sorted(centres, key=lambda j: location[j])
    unit_of_centre = {centre: f"U{i + 1}" for i, centre in enumerate(order)}
    info: dict[str, dict] = {}
    for centre in order:
        site = sites.get(centre)
        block = c.members[centre][0]
        entry = {
            "block_id": block,
            "community": c.community[centre],
            "x": site["x"] if site else float(problem.graph.nodes[block]["x"]),
            "y": site["y"] if site else float(problem.graph.nodes[block]["y"]),
        }
        if site:
            entry.update({k: v for k, v in site.items() if k not in ("x", "y")})
        info[unit_of_centre[centre]] = entry
    names = unit_names(list(info), {unit: entry["community"] for unit, entry in info.items()})
    for unit, name in names.items():
        info[unit]["name"] = name
    assignment = pd.Series({block: unit_of_centre[int(centre_of[i])] for i, blocks in enumerate(c.members) for block in blocks}, name="unit_id")
    assignment.index.name = "block_id"
    return assignment.sort_index(), info
