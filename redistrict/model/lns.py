"""Large-neighbourhood search: improve a plan by exact re-solves of a few adjacent units at a time.

The objective is a sum over units (assignment costs) plus the cut edges between units.  Take a
neighbourhood — ``s`` units that are connected to one another — and free every node in them:
edges from the neighbourhood to the rest of the plan are cut whatever happens inside, so the
plan's objective changes by exactly the change of the sub-problem's objective (the
neighbourhood's own costs and internal cut edges).  Re-solving that sub-problem exactly
(:func:`redistrict.model.restrict` + :func:`solve_model`, started from the current units) with
the full objective and every side constraint (bounds, candidate centres, locks) gives the best
re-drawing of those units; it is accepted when strictly better.  Neighbourhoods of 2 units are
tried until none improves (a local optimum for pairs), then those of 3.

With ``perturb``, time left after a local optimum is not wasted.  First the whole plan is
re-solved with each unit's centre fixed (among its medoid and its current centre), a move across
every boundary at once, and descended again while that improves.  Then a few adjacent units are
redrawn at random (a spanning-tree construction of their union, so the plan stays valid), the
neighbourhoods touching them are searched again (the others are known not to improve), and the
result is kept when it beats the best plan so far, else the best plan is restored — an iterated
local search.

This is how the exact engine reaches layers it cannot take whole.  It never worsens the plan and
never returns an invalid one (every accepted sub-plan is verified by the engine), but it proves
nothing: a plan where no 2- or 3-unit neighbourhood improves is a local optimum, not an optimum.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from .data import ModelInput, ModelSolution, restrict
from .parallel import may_start_workers, worker_pool
from .start import medoids, with_centres

#: seconds one neighbourhood's exact solve may take
NEIGHBOURHOOD_SECONDS = 5.0
#: the sizes of neighbourhoods tried, in order
SIZES = (2, 3)
#: at most this many 3-unit neighbourhoods are tried per round (a seeded sample)
MAX_TRIPLES = 400
#: candidate centres kept per unit in a neighbourhood when every node may be a centre
CENTRES_PER_UNIT = 5
#: the whole plan is re-solved with fixed centres only on pieces of at most this many nodes and
#: node–centre pairs, each solve for at most this many seconds (random layers with a cut-edge term,
#: 10 s: 300 nodes / 40 units improved in 10.2 s; 600 nodes / 40 units and 1,000 / 100 keep the
#: limit since presolve is off there (:func:`~redistrict.model.backends.presolve_keeps_time`) but
#: find nothing better in it)
RECENTRE_MAX_NODES, RECENTRE_MAX_PAIRS, RECENTRE_SECONDS = 300, 25_000, 20.0
#: an alternative start is descended by larger neighbourhoods only while its pair optimum lies
#: within this share of the best plan so far (NH tracts, k = 10: the constructions' pair optimum
#: sits ~2 % above the allocation's local optimum, and its triples took 25 of 60 s for nothing;
#: on the tight whole sample the constructions' pair optimum is already the better one)
ALTERNATIVE_MARGIN = 0.01
#: units redrawn at random by one perturbation of the iterated search
PERTURBED_UNITS = 3
#: the iterated search ends after this many perturbations in a row that found nothing better, or
#: when it has gone IDLE_FACTOR times as long as the first descent took without a better plan
#: (a small piece does not hold its whole time limit for nothing)
PATIENCE, IDLE_FACTOR = 30, 2.0


@dataclass
class LnsResult:
    """The improved plan and what the search did."""

    centre_of: np.ndarray
    objective: float
    start_objective: float
    tried: int = 0
    improved: int = 0
    #: neighbourhood sizes at which the plan is a local optimum (no such neighbourhood improves)
    local_optimum: list[int] = field(default_factory=list)
    stopped_by_time: bool = False
    seconds: float = 0.0
    #: iterated search: perturbations tried, and how many of them led to a better plan
    perturbations: int = 0
    perturbations_improved: int = 0
    #: whole-plan re-solves with fixed centres, and how many of them improved the plan
    recentred: int = 0
    recentre_improved: int = 0

    def to_dict(self) -> dict:
        return {
            "start_objective": self.start_objective,
            "objective": self.objective,
            "neighbourhoods_tried": self.tried,
            "improvements": self.improved,
            "local_optimum_for": self.local_optimum,
            "stopped_by_time": self.stopped_by_time,
            "seconds": round(self.seconds, 3),
            "perturbations": self.perturbations,
            "perturbations_improved": self.perturbations_improved,
            "recentred": self.recentred,
            "recentre_improved": self.recentre_improved,
        }


def unit_graph(data: ModelInput, label: np.ndarray) -> dict[int, set[int]]:
    """Units adjacent to each unit (sharing at least one edge)."""
    e = data.edges
    a, b = label[e[:, 0]], label[e[:, 1]]
    cut = a != b
    near: dict[int, set[int]] = {int(u): set() for u in np.unique(label)}
    for u, v in zip(a[cut].tolist(), b[cut].tolist(), strict=True):
        near[u].add(v)
        near[v].add(u)
    return near


def neighbourhoods(near: dict[int, set[int]], size: int) -> list[tuple[int, ...]]:
    """Every set of ``size`` units that is connected in the unit graph (sizes 2 and 3)."""
    found: set[tuple[int, ...]] = set()
    for u, others in near.items():
        for v in others:
            if size == 2:
                found.add(tuple(sorted((u, v))))
                continue
            for w in near[u] | near[v]:
                if w not in (u, v):
                    found.add(tuple(sorted((u, v, w))))
    return sorted(found)


def improve(
    data: ModelInput,
    centre_of: np.ndarray,
    *,
    solve: Callable[..., ModelSolution],
    objective_of: Callable[[ModelInput, np.ndarray], float],
    deadline: float | None,
    solver: str = "highs",
    threads: int | None = None,
    sizes: tuple[int, ...] = SIZES,
    progress: Callable[[dict], None] | None = None,
    workers: int = 1,
    perturb: bool = False,
    seed: int = 0,
    alternatives: Sequence[np.ndarray] = (),
    iterate_until: float | None = None,
    centres_per_unit: int = CENTRES_PER_UNIT,
) -> LnsResult:
    """Improve ``centre_of`` (centre node of every node) by exact neighbourhood re-solves.

    ``objective_of(data, centre_of)`` is the engine's objective of a plan; ``solve`` is
    :func:`solve_model`.  Stops at ``deadline`` (a ``time.perf_counter()`` value) or when no
    neighbourhood of the largest size improves.  With ``workers > 1``, batches of disjoint
    neighbourhoods are solved in that many worker processes (``solve_model`` there) and applied
    in batch order, so the result does not depend on which worker finishes first.  With
    ``perturb`` (and a ``deadline``) the time left after a local optimum goes to re-centring
    (:func:`_recentre`) and the iterated search (random redraws of :data:`PERTURBED_UNITS`
    adjacent units, seeded by ``seed``).
    ``alternatives`` are further valid plans (``centre_of`` arrays) descended from in turn after
    ``centre_of``, while time lasts; the best local optimum is kept and iterated on.
    ``iterate_until`` (a ``time.perf_counter()`` value before ``deadline``) ends the iterated
    search early, leaving the rest of the time to the caller (boundary smoothing).
    ``centres_per_unit`` narrows each neighbourhood's candidate centres (:func:`fewer_centres`).
    """
    search = partial(_Search, data, centre_of, solve=solve, objective_of=objective_of, deadline=deadline, solver=solver, threads=threads, progress=progress, centres_per_unit=centres_per_unit)
    if workers > 1 and may_start_workers():
        with worker_pool(workers) as pool:
            return _run(search(pool=pool, workers=workers), sizes, perturb and deadline is not None, seed, alternatives, iterate_until)
    return _run(search(), sizes, perturb and deadline is not None, seed, alternatives, iterate_until)


def _run(search: _Search, sizes: tuple[int, ...], perturb: bool = False, seed: int = 0, alternatives: Sequence[np.ndarray] = (), iterate_until: float | None = None) -> LnsResult:
    """To a local optimum for each size in turn, from the plan and from each alternative (past
    pairs only while within :data:`ALTERNATIVE_MARGIN` of the best); then, with ``perturb``,
    re-centred and iterated from the best until the deadline."""
    search.result.local_optimum = _descend(search, sizes)
    best = search.snapshot()
    for plan in alternatives:
        if search.out_of_time():
            break
        search._place(np.arange(search.data.n), np.asarray(plan, dtype=np.int64))
        search.result.local_optimum = _descend(search, sizes[:1])
        value = search.objective_of(search.data, search.plan)
        if len(sizes) > 1 and value <= best.objective + ALTERNATIVE_MARGIN * abs(best.objective):
            search.result.local_optimum = _descend(search, sizes)
            value = search.objective_of(search.data, search.plan)
        if _better(value, best.objective):
            best = search.snapshot(value)
    search.restore(best)
    if perturb:
        _recentre(search, sizes)
    if perturb and not search.result.stopped_by_time and search.data.k > PERTURBED_UNITS:
        _iterate(search, sizes, np.random.default_rng(seed), iterate_until)
    return search.finish()


def _better(value: float, than: float) -> bool:
    """``value`` strictly below ``than``, beyond rounding (relative 1e-9): what every move and
    every kept plan of the search must be."""
    return value < than - 1e-9 * max(1.0, abs(than))


def _descend(search: _Search, sizes: tuple[int, ...]) -> list[int]:
    """Sweeps until no neighbourhood of each size improves; the sizes finished before the deadline."""
    done: list[int] = []
    for size in sizes:
        if search.data.k < size:
            break
        while search.sweep(size):
            pass
        if search.result.stopped_by_time:
            break
        done.append(size)
    return done


def _recentre(search: _Search, sizes: tuple[int, ...]) -> None:
    """Re-solve the whole plan with each unit's centre fixed among its medoid and its current
    centre (contiguity kept, started from the plan), then descend again; while that improves.

    A move no small neighbourhood makes: every boundary at once, for the centres the units now
    have (NH tracts, k = 10: 2.2555e8 → 2.2520e8 in 13 s).  Only where centres carry a cost and
    the restricted model stays small (:data:`RECENTRE_MAX_NODES`, :data:`RECENTRE_MAX_PAIRS`);
    each solve gets at most :data:`RECENTRE_SECONDS`."""
    data = search.data
    if not callable(data.assign_cost) or data.relax or data.n > RECENTRE_MAX_NODES:
        return
    while not search.out_of_time():
        before = search.objective_of(data, search.plan)
        centres = np.union1d(medoids(data, search.plan), np.unique(search.plan))
        if data.n * len(centres) > RECENTRE_MAX_PAIRS:
            return
        limit = RECENTRE_SECONDS if search.deadline is None else min(RECENTRE_SECONDS, search.deadline - time.perf_counter())
        solution = search.solve(with_centres(data, centres), solver=search.solver, threads=search.threads, time_limit=max(limit, 0.05), start=search.plan, start_heuristic=False)
        search.result.recentred += 1
        if not solution.has_plan or not _better(solution.objective, before):
            return
        search._place(np.arange(data.n), np.asarray(solution.centre_of))
        search.result.recentre_improved += 1
        if search.progress is not None:
            search.progress({"phase": "improve (re-centring)", "round": search.result.recentred, "elapsed": time.perf_counter() - search.t0, "incumbent": solution.objective, "bound": None})
        search.result.local_optimum = _descend(search, sizes)


def _iterate(search: _Search, sizes: tuple[int, ...], rng: np.random.Generator, until: float | None = None) -> None:
    """Perturb the best plan, descend again, keep the result only when it is better; until the
    deadline, :data:`PATIENCE` perturbations in a row without a better plan, or
    :data:`IDLE_FACTOR` times the first descent's seconds without one.

    The plan left in ``search`` is the best one found, with the sizes it is known to be a local
    optimum for (a descent the deadline cut short counts only if its plan is better)."""
    best, idle, since = search.snapshot(), 0, time.perf_counter()
    patience_seconds = max(IDLE_FACTOR * (since - search.t0), 1.0)
    while idle < PATIENCE and time.perf_counter() - since < patience_seconds and not search.out_of_time() and (until is None or time.perf_counter() < until):
        idle += 1
        if not search.perturb(rng):
            continue
        search.result.perturbations += 1
        reached = _descend(search, sizes)
        value = search.objective_of(search.data, search.plan)
        if _better(value, best.objective):
            search.result.perturbations_improved += 1
            search.result.local_optimum = reached
            best, idle, since = search.snapshot(value), 0, time.perf_counter()
        else:
            search.restore(best)


def fewer_centres(sub: ModelInput, local: np.ndarray, per_unit: int = CENTRES_PER_UNIT) -> ModelInput:
    """The neighbourhood with at most ``per_unit`` candidate centres per current unit (plus the
    current centre): the members that serve their unit most cheaply.

    With every node a candidate a neighbourhood of 30 blocks is a 900-column Hess model that
    takes about a second; a few well-placed centres per unit keep almost every improving move
    and make it a few dozen milliseconds.  The result stays a valid plan of the full problem
    (its centres are candidates there), so only the search is narrowed, not the rules.
    """
    if sub.assign_cost is None or len(sub.candidates) <= per_unit * sub.k:
        return sub
    from .hess import assignment_costs

    allowed = np.zeros(sub.n, dtype=bool)
    allowed[np.asarray(sub.candidates)] = True
    keep: list[int] = []
    for unit in np.unique(local):
        members = np.flatnonzero(local == unit)
        options = members[allowed[members]]
        node, centre = np.repeat(members, len(options)), np.tile(options, len(members))
        totals = assignment_costs(sub, node, centre).reshape(len(members), len(options)).sum(axis=0)
        keep += options[np.argsort(totals, kind="stable")[:per_unit]].tolist()
        keep.append(int(unit))
    candidates = np.unique(np.array(keep, dtype=np.int64))
    cost = sub.assign_cost
    if isinstance(cost, np.ndarray):
        pos = np.full(sub.n, -1, dtype=np.int64)
        pos[sub.candidates] = np.arange(len(sub.candidates))
        cost = cost[:, pos[candidates]]
    return dataclasses.replace(sub, candidates=candidates, assign_cost=cost)


@dataclass(frozen=True)
class _Snapshot:
    """A plan of the iterated search to come back to."""

    plan: np.ndarray
    objective: float
    version: dict
    local_optimum: list


class _Search:
    """The plan being improved, and which neighbourhoods were tried since their units last changed."""

    def __init__(self, data, centre_of, *, solve, objective_of, deadline, solver, threads, progress, pool=None, workers: int = 1, centres_per_unit: int = CENTRES_PER_UNIT) -> None:
        self.data, self.solve, self.objective_of = data, solve, objective_of
        self.centres_per_unit = centres_per_unit
        self.pool, self.workers = pool, workers
        self.deadline, self.solver, self.threads, self.progress = deadline, solver, threads, progress
        self.t0 = time.perf_counter()
        self.plan = np.asarray(centre_of, dtype=np.int64).copy()
        start = objective_of(data, self.plan)
        self.result = LnsResult(self.plan, start, start)
        #: each unit's (by centre) version, a fresh number whenever it is redrawn (never reused, so a
        #: plan restored after a perturbation cannot meet keys tried on the discarded one);
        #: a neighbourhood is keyed by its units' versions
        self.version: dict[int, int] = {}
        self.redraws = 0
        self.tried: set[tuple] = set()

    def _key(self, hood: tuple[int, ...]) -> tuple:
        return tuple((u, self.version.get(u, 0)) for u in hood)

    def out_of_time(self) -> bool:
        if self.deadline is not None and time.perf_counter() > self.deadline - 0.05:
            self.result.stopped_by_time = True
        return self.result.stopped_by_time

    def sweep(self, size: int) -> bool:
        """One pass over the untried neighbourhoods of ``size`` units; True when a move was accepted.

        Neighbourhoods go in batches of up to ``workers`` disjoint ones; one whose units were
        redrawn earlier in the pass is left for the next pass (its key has changed)."""
        hoods = deque(h for h in neighbourhoods(unit_graph(self.data, self.plan), size) if self._key(h) not in self.tried)
        if size >= 3 and len(hoods) > MAX_TRIPLES:
            rng = np.random.default_rng(len(hoods))
            hoods = deque(hoods[i] for i in sorted(rng.choice(len(hoods), MAX_TRIPLES, replace=False).tolist()))
        changed = False
        touched: set[int] = set()
        while hoods:
            if self.out_of_time():
                return False
            batch = _next_batch(hoods, touched, self.workers)
            for hood, accepted in zip(batch, self.try_batch(batch), strict=True):
                if accepted:
                    touched.update(hood)
                    touched.update(self.plan[np.isin(self.plan, hood)].tolist())
                    changed = True
        return changed

    def try_batch(self, batch: list[tuple[int, ...]]) -> list[bool]:
        """Re-solve each (disjoint) neighbourhood exactly; keep each result that is strictly better."""
        if not batch:
            return []
        limit = NEIGHBOURHOOD_SECONDS if self.deadline is None else min(NEIGHBOURHOOD_SECONDS, self.deadline - time.perf_counter())
        limit = max(limit, 0.05)
        subs = [self._sub(hood) for hood in batch]
        if self.pool is None:
            solutions = [self.solve(sub, solver=self.solver, threads=self.threads, time_limit=limit, start=local, start_heuristic=False, small=True) for _, sub, local in subs]
        else:
            futures = [self.pool.submit(_solve_here, _dense(sub), local, limit, self.solver, self.threads) for _, sub, local in subs]
            solutions = [f.result() for f in futures]
        return [self._apply(hood, nodes, sub, local, solution) for hood, (nodes, sub, local), solution in zip(batch, subs, solutions, strict=True)]

    def _sub(self, hood: tuple[int, ...]) -> tuple[np.ndarray, ModelInput, np.ndarray]:
        nodes = np.flatnonzero(np.isin(self.plan, hood))
        local = np.searchsorted(nodes, self.plan[nodes])
        return nodes, fewer_centres(restrict(self.data, nodes, len(hood)), local, self.centres_per_unit), local

    def _apply(self, hood, nodes, sub, local, solution) -> bool:
        self.result.tried += 1
        self.tried.add(self._key(hood))
        before = self.objective_of(sub, local)
        if not solution.has_plan or not _better(solution.objective, before):
            return False
        self._place(nodes, np.asarray(solution.centre_of))
        self.result.improved += 1
        if self.progress is not None:
            self.progress({"phase": f"improve ({len(hood)}-unit neighbourhoods)", "round": self.result.tried, "elapsed": time.perf_counter() - self.t0, "incumbent": self.objective_of(self.data, self.plan), "bound": None})
        return True

    def snapshot(self, objective: float | None = None) -> _Snapshot:
        """The current plan, its objective (``objective`` when the caller has it), unit versions
        and local-optimum sizes."""
        value = self.objective_of(self.data, self.plan) if objective is None else objective
        return _Snapshot(self.plan.copy(), value, dict(self.version), list(self.result.local_optimum))

    def restore(self, snap: _Snapshot) -> None:
        """Back to a snapshot: its neighbourhoods' keys match again, so they are not retried."""
        self.plan[:] = snap.plan
        self.version = dict(snap.version)
        self.result.local_optimum = list(snap.local_optimum)

    def perturb(self, rng: np.random.Generator) -> bool:
        """Redraw a random set of adjacent units by a one-attempt construction of their union.

        The redrawn units keep every rule (the construction is made within the bounds, the
        candidates and the locks); False when the construction found no plan this time."""
        from .construct import centres_of, construct_plan

        hoods = neighbourhoods(unit_graph(self.data, self.plan), PERTURBED_UNITS)
        if not hoods:
            return False
        hood = hoods[int(rng.integers(len(hoods)))]
        nodes = np.flatnonzero(np.isin(self.plan, hood))
        sub = restrict(self.data, nodes, len(hood))
        label = construct_plan(sub, seed=int(rng.integers(2**31)), deadline=self.deadline, restarts=1)
        if label is None:
            return False
        self._place(nodes, centres_of(sub, label))
        return True

    def _place(self, nodes: np.ndarray, local_centres: np.ndarray) -> None:
        """Redraw ``nodes`` (a neighbourhood's, sorted) with the sub-plan ``local_centres`` (local
        ids); every unit they left or joined gets a fresh version, never one used before."""
        changed = set(self.plan[nodes].tolist())
        self.plan[nodes] = nodes[local_centres]
        for u in changed | set(self.plan[nodes].tolist()):
            self.redraws += 1
            self.version[u] = self.redraws

    def finish(self) -> LnsResult:
        self.result.centre_of = self.plan
        self.result.objective = self.objective_of(self.data, self.plan)
        self.result.seconds = time.perf_counter() - self.t0
        return self.result


def _next_batch(hoods: deque, touched: set[int], size: int, window: int = 64) -> list[tuple[int, ...]]:
    """Up to ``size`` disjoint neighbourhoods from the front of ``hoods`` (popped), skipping those
    with a unit redrawn in this pass; the ones passed over stay at the front, in order."""
    batch: list[tuple[int, ...]] = []
    used: set[int] = set()
    held: list[tuple[int, ...]] = []
    while hoods and len(batch) < size and len(held) < window:
        hood = hoods.popleft()
        if touched & set(hood):
            continue  # retried in the next pass
        if used & set(hood):
            held.append(hood)
            continue
        batch.append(hood)
        used.update(hood)
    hoods.extendleft(reversed(held))
    return batch


def _dense(sub: ModelInput) -> ModelInput:
    """The neighbourhood with its assignment costs as a small matrix (cheap to send to a worker)."""
    if not callable(sub.assign_cost):
        return sub
    from .hess import assignment_costs

    cands = np.asarray(sub.candidates)
    node = np.repeat(np.arange(sub.n), len(cands))
    costs = assignment_costs(sub, node, np.tile(cands, sub.n)).reshape(sub.n, len(cands))
    return dataclasses.replace(sub, assign_cost=costs)


def _solve_here(sub: ModelInput, start: np.ndarray, limit: float, solver: str, threads: int | None) -> ModelSolution:
    """One neighbourhood, in a worker process."""
    from .backends import solve_model

    return solve_model(sub, solver=solver, threads=threads, time_limit=limit, start=start, start_heuristic=False, small=True)
