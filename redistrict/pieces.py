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
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
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


class TimeShare:
    """A phase's seconds, shared out as its pieces start.

    When a worker takes piece ``i`` it gets its share of the workers' time left (``slots`` ×
    seconds to the phase's end, less what the running pieces still hold): each tight piece (no plan
    yet) an even floor of at most :data:`RESCUE_MIN_SECONDS` — a tight piece needs seconds for the
    exhaustive search or mending, whatever its size — then every waiting piece a share of the rest
    by size; never beyond its own end (``ends[i]``, ``time.time()``).  Time a piece leaves unused
    (an exact piece proved early) goes to the pieces still waiting, and a piece that starts late
    still gets its share — a budget fixed before the run would leave both to chance.
    """

    def __init__(self, sizes: list[int], ends: list[float | None], slots: int, tight: frozenset[int] = frozenset()) -> None:
        self.sizes, self.ends, self.slots, self.tight = sizes, ends, max(slots, 1), tight
        self.last_end = max((e for e in ends if e is not None), default=None)  # when the workers' time is up
        self.waiting = set(range(len(sizes)))
        self.holds: dict[int, float] = {}  # running piece -> the time its budget ends

    def start(self, i: int) -> tuple[float | None, float | None]:
        """Seconds for piece ``i``, which starts now (None: no time limit), and for a tight piece
        the seconds it may use once it has a plan (its share by size, without the floor)."""
        self.waiting.discard(i)
        if self.ends[i] is None:
            return None, None
        now = time.time()
        left = max(self.last_end - now, 0.0)
        held = sum(max(end - now, 0.0) for end in self.holds.values())
        capacity = max(self.slots * left - held, 0.0)
        contenders = self.waiting | {i}
        size = self.sizes[i] / sum(self.sizes[j] for j in contenders)
        tight = len(contenders & self.tight)
        floor = min(RESCUE_MIN_SECONDS, capacity / tight) if tight else 0.0
        budget = (floor if i in self.tight else 0.0) + (capacity - floor * tight) * size
        budget = min(budget, max(self.ends[i] - now, 0.0))
        self.holds[i] = now + budget
        # once it has a plan, a tight piece improves it for what it would get without the floor
        return budget, (min(capacity * size, budget) if i in self.tight else None)

    def done(self, i: int) -> None:
        """Piece ``i`` has finished: what it held is free."""
        self.holds.pop(i, None)


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def solve_in_phases(pieces: list[Piece], tasks: list[PieceTask], *, slots: int, ends_at: float | None, **run) -> list[PieceResult]:
    """Several pieces in phases (one piece: solved at once):

    1. every piece constructed (:func:`construct_pieces`);
    2. the pieces whose construction failed first, smallest first (the exhaustive search decides
       small ones in seconds), each within :data:`RESCUE_SHARE` of the time left, and the others
       from their constructed plans as workers free up, with the rest (:class:`TimeShare`);
       without relaxation a proof that one has no plan ends the run (the layer has none);
    3. with relaxation (tasks with ``relaxed``) the pieces that failed are solved in a phase of
       their own, those still without a plan relaxed with :data:`RELAX_SHARE` of the time left,
       and only then the others.

    ``run`` as for :func:`run_pieces`; results in the tasks' order."""
    if len(tasks) == 1:
        return run_pieces(tasks, **run)
    constructed = construct_pieces(tasks, **run)
    missing = sorted((i for i, c in enumerate(constructed) if c.centre_of is None), key=lambda i: (len(pieces[i].nodes), i))
    built = [i for i, c in enumerate(constructed) if c.centre_of is not None]
    phase = _Phases(pieces, constructed, slots, ends_at, run)
    rescue = _Group(missing, RESCUE_SHARE if built else 1.0, lambda i: replace(tasks[i], construction_failed=True, relaxed=None), tight=True)
    improve = _Group(built, 1.0, lambda i: replace(tasks[i], start=constructed[i].centre_of), tight=False)
    if tasks[0].relaxed is None:
        phase.run([rescue, improve], stop=_proved_infeasible)
        for i in built:  # a proof stopped the run: the layer has no plan, the constructed plans stand
            if phase.results[i].method == "not run":
                phase.results[i] = constructed[i]
        return phase.results  # type: ignore[return-value]
    phase.run([rescue])
    unplanned = [i for i in missing if phase.results[i].centre_of is None]
    phase.run([_Group(unplanned, RELAX_SHARE if built else 1.0, lambda i: replace(tasks[i], failed=phase.results[i]), tight=True)])
    phase.run([improve])
    return phase.results  # type: ignore[return-value]


@dataclass(frozen=True)
class _Group:
    """Pieces of one phase: their indices, the share of the time left they may use, their task
    (:class:`PieceTask` without a budget, given one when it starts) and whether they are tight."""

    indices: list[int]
    share: float
    task_for: Callable[[int], PieceTask]
    tight: bool


class _Phases:
    """The results of :func:`solve_in_phases` so far, and how one phase runs its groups of pieces."""

    def __init__(self, pieces, constructed, slots, ends_at, run) -> None:
        self.pieces, self.constructed = pieces, constructed
        self.slots, self.ends_at, self.run_options = slots, ends_at, run
        self.results: list[PieceResult | None] = [None] * len(pieces)

    def run(self, groups: list[_Group], stop=None) -> None:
        """Run the groups' pieces in one queue, in order, their time shared as they start
        (:class:`TimeShare`): each group's pieces end by ``share`` of the time left."""
        order = [(i, group) for group in groups for i in group.indices]
        if not order:
            return
        now = time.time()
        ends = [None if self.ends_at is None else now + g.share * max(self.ends_at - now, 0.0) for _, g in order]
        tight = frozenset(n for n, (_, g) in enumerate(order) if g.tight)
        share = TimeShare([len(self.pieces[i].nodes) for i, _ in order], ends, self.slots, tight)
        batch = [g.task_for(i) for i, g in order]
        names = [self.run_options["names"][i] for i, _ in order]
        for (i, _), result in zip(order, run_pieces(batch, **(self.run_options | {"names": names, "stop": stop, "share": share})), strict=True):
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
    share: TimeShare | None = None,
) -> list[PieceResult]:
    """Run ``work`` (the whole solve, or :func:`~redistrict.model.strategy.construct_piece`) on
    every piece: in this process (one worker or one piece), in worker processes, or on the Dask
    cluster at ``scheduler`` (``tcp://…``).  Pieces start in the tasks' order as workers free up,
    each with its time limit from ``share`` when given (else the task's own).  Results come back
    in the tasks' order.  When ``stop`` holds for a result the pieces not yet done are dropped
    (:func:`_not_run`)."""
    workers = default_workers() if workers is None else workers
    if not may_start_workers():
        workers = 1  # inside a worker process (a sweep's Dask worker): it may not start children
    queue = _Queue(tasks, share)
    phase = "construction" if work is construct_piece else "pieces"
    if scheduler:
        results = _run_dask(queue, scheduler, names, progress, work, phase, stop)
    elif workers <= 1 or len(tasks) == 1:
        results = _run_in_turn(queue, names, progress, work, stop)
    else:
        results = _run_processes(queue, workers, names, progress, work, phase, stop)
    return [_not_run() if r is None else r for r in results]


class _Queue:
    """The tasks in order, each given its time limit from a :class:`TimeShare` as it starts."""

    def __init__(self, tasks: list[PieceTask], share: TimeShare | None) -> None:
        self.tasks, self.share, self.next = tasks, share, 0

    def __len__(self) -> int:
        return len(self.tasks)

    def waiting(self) -> bool:
        return self.next < len(self.tasks)

    def take(self) -> tuple[int, PieceTask]:
        """The next piece's index and task, with its budget from now."""
        i, task = self.next, self.tasks[self.next]
        self.next += 1
        if self.share is None:
            return i, task
        budget, improve_limit = self.share.start(i)
        return i, replace(task, time_limit=budget, improve_limit=improve_limit)

    def done(self, i: int) -> None:
        if self.share is not None:
            self.share.done(i)


def _run_in_turn(queue: _Queue, names, progress, work, stop) -> list[PieceResult | None]:
    results: list[PieceResult | None] = [None] * len(queue)
    while queue.waiting():
        i, task = queue.take()
        results[i] = _run_here(task, i, names, progress, work)
        queue.done(i)
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


def _run_processes(queue: _Queue, workers, names, progress, work, phase, stop) -> list[PieceResult | None]:
    started = time.perf_counter()
    results: list[PieceResult | None] = [None] * len(queue)
    try:
        with worker_pool(min(workers, len(queue))) as pool:  # Ctrl-C, a failed piece or a stop ends every worker
            finished = _as_they_finish(queue, workers, lambda task: pool.submit(work, task), lambda futures: next(iter(wait(futures, return_when=FIRST_COMPLETED).done)), {})
            for done, i, result in finished:
                results[i] = result
                _report_done(progress, done, names, i, started, phase)
                if stop is not None and stop(result):
                    raise _Stopped
    except _Stopped:
        pass
    return results


def _as_they_finish(queue: _Queue, slots: int, submit, first_done, running: dict) -> Iterator[tuple[int, int, PieceResult]]:
    """Start the queue's pieces as slots free up (``submit(task)`` gives a future, kept in
    ``running``: future -> piece) and yield (pieces done so far, piece, result) as each finishes
    (``first_done(futures)``)."""
    for done in range(1, len(queue) + 1):
        while queue.waiting() and len(running) < slots:
            i, task = queue.take()
            running[submit(task)] = i
        future = first_done(list(running))
        i = running.pop(future)
        result = future.result()
        queue.done(i)
        yield done, i, result


def _run_dask(queue: _Queue, scheduler: str, names, progress, work, phase, stop) -> list[PieceResult | None]:
    from distributed import Client
    from distributed import wait as dask_wait

    if "://" not in scheduler:
        raise InputError(f"--scheduler must be an address like tcp://HOST:8786, not '{scheduler}'.")
    started = time.perf_counter()
    try:
        client = Client(scheduler, timeout=10)
    except OSError as exc:
        raise InputError(f"Cannot reach the Dask scheduler at {scheduler} ({exc}). Start one with `dask scheduler` and workers with `dask worker {scheduler}`.") from exc
    results: list[PieceResult | None] = [None] * len(queue)
    running: dict = {}
    try:
        slots = max(1, sum(client.nthreads().values()))
        if queue.share is not None:
            queue.share.slots = slots  # the time is shared by the cluster's threads, not this machine's cores
        finished = _as_they_finish(queue, slots, lambda task: client.submit(work, task, pure=False), lambda futures: next(iter(dask_wait(futures, return_when="FIRST_COMPLETED").done)), running)
        for done, i, result in finished:
            results[i] = result
            _report_done(progress, done, names, i, started, phase)
            if stop is not None and stop(result):
                client.cancel(list(running))
                break
    finally:
        client.close()
    return results
