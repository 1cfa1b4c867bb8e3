"""A problem falls apart into independent pieces; each is solved on its own, then merged.

Units never cross subdistrict lines (unless allowed), barriers or gaps in the adjacency graph,
so the connected components of the problem's graph are independent problems: the objective is a
sum over them and no rule links them.  Each piece gets its own unit count — the fewest that fit
it, or a share of a given total from :func:`~redistrict.problem.allocate_units` — and is solved
by :func:`~redistrict.model.strategy.solve_piece` in this process, in worker processes, or on a
Dask cluster.  The merged plan is verified as a whole by the caller.

Several pieces are solved in phases (:func:`solve_in_phases`): every piece is first only
constructed (:func:`~redistrict.model.strategy.construct_piece`, a share of its budget), so a
verified plan of the whole layer exists within seconds; the pieces that failed get most of the
time next; the rest are then solved from their plans with the time left.  Without the first phase
the last piece in the queue would have its first plan only near the end of the time limit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, replace

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .errors import InputError
from .forced import forced_households
from .model.parallel import may_start_workers, worker_pool
from .model.strategy import PieceResult, PieceTask, construct_piece, solve_piece
from .problem import allocate_units, piece_label

#: the construction phase: each piece may use this share of its budget, at least this many seconds
CONSTRUCTION_SHARE, CONSTRUCTION_MIN_SECONDS = 0.2, 1.0
#: the pieces whose construction failed are solved next, with this share of the time left: each
#: gets this many seconds (or an even share if that is less) plus a share of the rest by size
RESCUE_SHARE, RESCUE_MIN_SECONDS = 0.6, 30.0
#: with --relax, the pieces still without a plan are then relaxed with this share of the time left
RELAX_SHARE = 0.6


@dataclass(frozen=True)
class Piece:
    """One independent sub-problem: its nodes (in the contracted problem) and unit count."""

    index: int
    name: str
    nodes: np.ndarray
    blocks: int
    households: int
    k: int
    #: the most households one unit must hold (heaviest block or forced group): caps k
    heaviest: int = 0


def find_pieces(n: int, edges: np.ndarray) -> list[np.ndarray]:
    """Connected components of a graph on nodes ``0..n-1``, largest first (then lowest node)."""
    if n == 0:
        return []
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    parts = [np.flatnonzero(label == c) for c in range(count)]
    return sorted(parts, key=lambda p: (-len(p), int(p[0])))


def plan_pieces(problem, k: int, members: list[list[str]], weights: np.ndarray, edges: np.ndarray) -> list[Piece]:
    """The pieces of a (contracted) problem with their unit counts, which sum to ``k``.

    ``members[i]`` are the blocks behind node ``i``.  Raises :class:`InputError` when no
    distribution of ``k`` fits (the diagnosis normally says so before this is reached).
    """
    parts = find_pieces(len(members), edges)
    totals = [int(weights[p].sum()) for p in parts]
    forced = forced_households(problem.graph, problem.forced_groups)
    heaviest = [max(int(weights[p].max()), max(forced[b] for node in p.tolist() for b in members[node])) for p in parts]
    ks = allocate_units(totals, k, problem.lower, problem.upper, [len(p) for p in parts], heaviest)
    if ks is None:
        raise InputError(f"{k} units cannot be distributed over the {len(parts)} separate pieces of the graph within {problem.lower:,}–{problem.upper:,} households each.")
    pieces = []
    for i, (part, total, k, heavy) in enumerate(zip(parts, totals, ks, heaviest, strict=True)):
        blocks = [b for node in part.tolist() for b in members[node]]
        name = piece_label(problem.graph, blocks) if len(parts) > 1 else (problem.name or "all blocks")
        pieces.append(Piece(i, name, part, len(blocks), total, k, heavy))
    return pieces


def piece_budgets(pieces: list[Piece], time_limit: float | None, workers: int) -> list[float | None]:
    """Seconds for each piece: its share of the workers' total time by size, at most the limit."""
    if time_limit is None:
        return [None] * len(pieces)
    total = sum(len(p.nodes) for p in pieces)
    return [min(time_limit, time_limit * min(workers, len(pieces)) * len(p.nodes) / total) for p in pieces]


def rescue_budgets(pieces: list[Piece], left: float, slots: int) -> list[float]:
    """Seconds for each piece whose construction failed: an even floor of at most
    :data:`RESCUE_MIN_SECONDS` (a tight piece needs seconds for the exhaustive search or
    mending, whatever its size), plus a share of the rest of the workers' time by size."""
    total = left * min(slots, len(pieces))
    floor = min(RESCUE_MIN_SECONDS, total / len(pieces))
    rest = total - floor * len(pieces)
    nodes = sum(len(p.nodes) for p in pieces)
    return [min(left, floor + rest * len(p.nodes) / nodes) for p in pieces]


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def solve_in_phases(pieces: list[Piece], tasks: list[PieceTask], *, slots: int, ends_at: float | None, **run) -> list[PieceResult]:
    """Several pieces in phases (one piece: solved at once):

    1. every piece constructed (:func:`construct_pieces`);
    2. the pieces whose construction failed, smallest first (the exhaustive search decides small
       ones in seconds), with :data:`RESCUE_SHARE` of the time left (:func:`rescue_budgets`);
       without relaxation a proof that one has no plan ends the run (the layer has none);
    3. with relaxation (tasks with ``relaxed``): the pieces still without a plan relaxed, with
       :data:`RELAX_SHARE` of the time left;
    4. the others solved from their constructed plans with the rest.

    ``run`` as for :func:`run_pieces`; results in the tasks' order."""
    if len(tasks) == 1:
        return run_pieces(tasks, **run)
    constructed = construct_pieces(tasks, **run)
    missing = sorted((i for i, c in enumerate(constructed) if c.centre_of is None), key=lambda i: (len(pieces[i].nodes), i))
    built = [i for i, c in enumerate(constructed) if c.centre_of is not None]
    relax = tasks[0].relaxed is not None
    phase = _Phases(pieces, constructed, slots, ends_at, run)
    phase.run(missing, RESCUE_SHARE if built else 1.0, lambda i, budget: replace(tasks[i], time_limit=budget, construction_failed=True, relaxed=None), tight=True, stop=None if relax else _proved_infeasible)
    unplanned = [i for i in missing if phase.results[i].centre_of is None]
    if relax and unplanned:
        phase.run(unplanned, RELAX_SHARE if built else 1.0, lambda i, budget: replace(tasks[i], time_limit=budget, failed=phase.results[i]), tight=True)
    if not relax and any(_proved_infeasible(phase.results[i]) for i in missing):
        for i in built:  # no plan of the layer can exist: the constructed plans stand as they are
            phase.results[i] = constructed[i]
        return phase.results  # type: ignore[return-value]
    phase.run(built, 1.0, lambda i, budget: replace(tasks[i], time_limit=budget, start=constructed[i].centre_of), tight=False)
    return phase.results  # type: ignore[return-value]


class _Phases:
    """The results of :func:`solve_in_phases` so far, and how one phase runs a group of pieces."""

    def __init__(self, pieces, constructed, slots, ends_at, run) -> None:
        self.pieces, self.constructed = pieces, constructed
        self.slots, self.ends_at, self.run_options = slots, ends_at, run
        self.results: list[PieceResult | None] = [None] * len(pieces)

    def run(self, group: list[int], share: float, task_for, *, tight: bool, stop=None) -> None:
        """Run ``task_for(i, budget)`` for the pieces ``group`` with ``share`` of the time left,
        shared by :func:`rescue_budgets` when they are ``tight`` (no constructed plan), else by size."""
        if not group:
            return
        left = None if self.ends_at is None else share * max(self.ends_at - time.time(), 0.0)
        chosen = [self.pieces[i] for i in group]
        budgets = rescue_budgets(chosen, left, self.slots) if tight and left is not None else piece_budgets(chosen, left, self.slots)
        batch = [task_for(i, budget) for i, budget in zip(group, budgets, strict=True)]
        names = [self.run_options["names"][i] for i in group]
        for i, result in zip(group, run_pieces(batch, **(self.run_options | {"names": names, "stop": stop})), strict=True):
            first = self.constructed[i].first_plan_at
            self.results[i] = result if first is None else replace(result, first_plan_at=first)


def _proved_infeasible(result: PieceResult) -> bool:
    return result.status == "infeasible"


def _not_run(reason: str = "not solved: another piece was proved infeasible, so the layer has no plan") -> PieceResult:
    """The result of a piece left unsolved because the run stopped early."""
    return PieceResult("no_solution", None, None, None, None, "not run", reason, 0.0, message="")


def construct_pieces(tasks: list[PieceTask], **run) -> list[PieceResult]:
    """The construction phase: each piece only constructed, within :data:`CONSTRUCTION_SHARE`
    of its budget (at least :data:`CONSTRUCTION_MIN_SECONDS`); ``run`` as for :func:`run_pieces`."""
    def budget(task: PieceTask) -> float | None:
        return None if task.time_limit is None else max(CONSTRUCTION_MIN_SECONDS, CONSTRUCTION_SHARE * task.time_limit)

    return run_pieces([replace(task, time_limit=budget(task)) for task in tasks], work=construct_piece, **run)


def run_pieces(
    tasks: list[PieceTask],
    *,
    names: list[str],
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[dict], None] | None = None,
    work: Callable[[PieceTask], PieceResult] = solve_piece,
    stop: Callable[[PieceResult], bool] | None = None,
) -> list[PieceResult]:
    """Run ``work`` (the whole solve, or :func:`~redistrict.model.strategy.construct_piece`) on
    every piece: in this process (one worker or one piece), in worker processes, or on the Dask
    cluster at ``scheduler`` (``tcp://…``).  Results come back in the tasks' order.  When
    ``stop`` holds for a result the pieces not yet done are dropped (:func:`_not_run`)."""
    workers = default_workers() if workers is None else workers
    if not may_start_workers():
        workers = 1  # inside a worker process (a sweep's Dask worker): it may not start children
    phase = "construction" if work is construct_piece else "pieces"
    if scheduler:
        results = _run_dask(tasks, scheduler, names, progress, work, phase, stop)
    elif workers <= 1 or len(tasks) == 1:
        results = _run_in_turn(tasks, names, progress, work, stop)
    else:
        results = _run_processes(tasks, workers, names, progress, work, phase, stop)
    return [_not_run() if r is None else r for r in results]


def _run_in_turn(tasks, names, progress, work, stop) -> list[PieceResult | None]:
    results: list[PieceResult | None] = [None] * len(tasks)
    for i, task in enumerate(tasks):
        results[i] = _run_here(task, i, names, progress, work)
        if stop is not None and stop(results[i]):
            break
    return results


def _run_here(task: PieceTask, index: int, names: list[str], progress, work) -> PieceResult:
    if progress is None or work is not solve_piece:
        return work(task)

    def tagged(info: dict) -> None:
        progress(info | {"piece": f"{index + 1}/{len(names)} {names[index]}"})

    return solve_piece(task, tagged)


def _report_done(progress, done: int, names: list[str], index: int, started: float, phase: str) -> None:
    if progress is not None:
        verb = "constructed" if phase == "construction" else "done"
        progress({"phase": phase, "round": done, "elapsed": time.perf_counter() - started, "incumbent": None, "bound": None, "piece": f"{done}/{len(names)} {verb} (last: {names[index]})"})


class _Stopped(Exception):
    """Raised inside the worker pool to stop every worker at once (``stop`` held)."""


def _run_processes(tasks, workers, names, progress, work, phase, stop) -> list[PieceResult | None]:
    started = time.perf_counter()
    results: list[PieceResult | None] = [None] * len(tasks)
    try:
        with worker_pool(min(workers, len(tasks))) as pool:  # Ctrl-C, a failed piece or a stop ends every worker
            futures = {pool.submit(work, task): i for i, task in enumerate(tasks)}
            for done, future in enumerate(as_completed(futures), start=1):
                i = futures[future]
                results[i] = future.result()
                _report_done(progress, done, names, i, started, phase)
                if stop is not None and stop(results[i]):
                    raise _Stopped
    except _Stopped:
        pass
    return results


def _run_dask(tasks, scheduler: str, names, progress, work, phase, stop) -> list[PieceResult | None]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    if "://" not in scheduler:
        raise InputError(f"--scheduler must be an address like tcp://HOST:8786, not '{scheduler}'.")
    started = time.perf_counter()
    try:
        client = Client(scheduler, timeout=10)
    except OSError as exc:
        raise InputError(f"Cannot reach the Dask scheduler at {scheduler} ({exc}). Start one with `dask scheduler` and workers with `dask worker {scheduler}`.") from exc
    results: list[PieceResult | None] = [None] * len(tasks)
    try:
        futures = [client.submit(work, task, pure=False) for task in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        for done, future in enumerate(dask_completed(futures), start=1):
            i = index[future.key]
            results[i] = future.result()
            _report_done(progress, done, names, i, started, phase)
            if stop is not None and stop(results[i]):
                client.cancel([f for f in futures if not f.done()])
                break
    finally:
        client.close()
    return results
