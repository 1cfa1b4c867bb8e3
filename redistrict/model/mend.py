"""Mend a plan that leaves the bounds: exact re-solves around each unit outside them.

In a tight plan (units averaging a few households from a bound) the construction fails near
the leaves, where a unit's window is a few dozen households wide; allowed to leave the bounds
where no cut fits them (by as little as it can) it succeeds at once.  Such a plan is then
mended one neighbourhood at a time: a unit outside ``[L, U]`` and one or two adjacent units,
their union re-solved exactly within the true bounds with the same number of units (the
exhaustive search of :mod:`redistrict.model.enumeration`, which also proves a union hopeless,
then the integer program where that search runs out).  A plan found there replaces them — those
units are now within the bounds and the others are unchanged — so the total violation falls
strictly with every accepted move and the search cannot cycle.  Where no plan of the union fits
the bounds, one that lowers the union's total violation is kept too (the excess moves towards
units with room).  Unions that cannot fit their unit count by arithmetic are skipped; the
neighbours with the most room on the helpful side go first.

Where room is scarce it often lies a few units away, out of every neighbourhood's reach: chains
of single-block moves (:mod:`redistrict.model.chains`) pass the excess there — short chains
first and after every pass that changed the plan, long (guided) ones when no neighbourhood of up
to :data:`MAX_HOOD_UNITS` units mends anything.  It stops when no unit is outside the bounds, at
the deadline, or when neither mends anything; the caller may then construct again with the next
seed (:func:`construct_and_mend`).

A piece of thousands of units is cut first into *regions* of at most :data:`REGION_UNITS` units
by the construction's top cuts, which share the room between them by units
(:func:`~redistrict.model.construct.regions`); each region is constructed and mended on its
own in a worker process, and the joined plan is mended as a whole for what the regions left
(city50000 without subdistricts, 4,558 units: 19 regions, a plan in 392 s on 2 cores).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass

import numpy as np

from . import chains, enumeration
from .backends import plan_violation
from .construct import centres_of, construct_plan, regions
from .data import ModelInput, ModelSolution, restrict
from .lns import fewer_centres, unit_graph
from .parallel import may_start_workers, worker_pool

#: seconds for one neighbourhood: its construction within the bounds, then its exact re-solve
CONSTRUCT_SECONDS = 0.2
MEND_SECONDS = 1.0
#: the largest neighbourhood (in units) tried when smaller ones mend nothing, and how many
#: neighbours of a unit outside the bounds each start a grown neighbourhood
MAX_HOOD_UNITS, GROWN_STARTS = 8, 4
#: constructions (each with the next seed) mended in turn while mending stalls and time is left
MEND_RESTARTS = 5
#: the construction may leave the bounds by at most this many households per unit where no cut
#: fits them (two restarts, within this share of the time left), else by as few as it can.
#: City10000 without subdistricts, seeds 0-3, a plan in 18.8, 70.0, 36.4 and 20.8 s (within 100
#: failed on seed 1); unlimited from the start, in 63.2, 43.2, 55.8 and 29.8 s (seeds 0 and 2
#: stalled and went on to the next seed)
WIDENING, WIDENING_SHARE = 100, 0.1
#: with worker processes, a piece of more units is cut into regions of at most this many
#: (:func:`~redistrict.model.construct.regions`), each constructed and mended in a worker within
#: its share of :data:`REGION_SHARE` of the time; the whole piece's mending then takes the units
#: the regions left outside the bounds, across their seams
REGION_UNITS, REGION_SHARE = 400, 0.8


@dataclass
class MendResult:
    """The mended plan (``centre_of``), how far it still lies outside the bounds, and the work."""

    centre_of: np.ndarray | None
    #: total violation left (None: no plan was constructed at all)
    violation: int | None
    #: the most households by which a unit of the constructed plan left the bounds
    widened_by: int | None
    tried: int = 0
    accepted: int = 0
    seconds: float = 0.0
    #: chains of single-block moves that passed excess on (:mod:`redistrict.model.chains`)
    chains: int = 0
    #: regions constructed and mended side by side first (:func:`_by_regions`; 0: none)
    regions: int = 0

    def to_dict(self) -> dict:
        return {"widened_by": self.widened_by, "violation_left": self.violation, "neighbourhoods": self.tried, "accepted": self.accepted, "chains": self.chains, "regions": self.regions, "seconds": round(self.seconds, 3)}


def total_violation(data: ModelInput, centre_of: np.ndarray) -> int:
    """Households by which the plan's units lie outside ``[L, U]``, summed over the units (the
    engine's :func:`~redistrict.model.backends.plan_violation` is their largest)."""
    return int(_violations(data, _unit_totals(data, centre_of)).sum())


def _unit_totals(data: ModelInput, centre_of: np.ndarray) -> dict[int, int]:
    """Households of each unit, by its centre."""
    units, inverse = np.unique(centre_of, return_inverse=True)
    return dict(zip(units.tolist(), np.bincount(inverse, weights=data.weights, minlength=len(units)).astype(np.int64).tolist(), strict=True))


def _violations(data: ModelInput, totals: dict[int, int]) -> np.ndarray:
    """How far each unit's households lie outside ``[L, U]`` (0 inside)."""
    held = np.fromiter(totals.values(), dtype=np.int64, count=len(totals))
    return np.maximum(0, np.maximum(data.lower - held, held - data.upper))


def construct_and_mend(data: ModelInput, *, solve: Callable[..., ModelSolution], deadline: float | None, seed: int = 0, solver: str = "highs", threads: int | None = None, workers: int = 1) -> MendResult:
    """A plan within the bounds by a construction that leaves them only where no cut fits them,
    by as few households as it can, then mending; the result's ``violation`` is 0 when it
    succeeded (its ``centre_of`` is then a valid plan).

    Where no tree cut fits the bounds the construction takes the cut nearest them
    (:func:`~redistrict.model.construct.construct_plan` with a ``slack``): within
    :data:`WIDENING` households per unit if it can, else without a limit, so it always gives a
    plan.  While mending stalls and time is left, the next seed is constructed and mended
    (:data:`MEND_RESTARTS`); the result with the least violation is returned.  With ``workers``
    > 1 a piece of more than :data:`REGION_UNITS` units goes by regions (:func:`_by_regions`),
    cut anew with the next seed while their joined plan's mending stalls."""
    t0 = time.perf_counter()
    options = {"solve": solve, "deadline": deadline, "solver": solver, "threads": threads}
    found = None
    if workers > 1 and data.k > REGION_UNITS and may_start_workers():
        found = _least_violation(lambda s: _regions_attempt(data, seed=s, workers=workers, **options), seed, deadline)
    if found is None:
        found = _least_violation(lambda s: _whole_attempt(data, seed=s, **options), seed, deadline) or MendResult(None, None, None)
    found.seconds = time.perf_counter() - t0
    return found


def _least_violation(attempt: Callable[[int], MendResult | None], seed: int, deadline: float | None) -> MendResult | None:
    """``attempt(seed)``, ``attempt(seed + 1)``, … (:data:`MEND_RESTARTS` at most) while mending
    stalls and time is left; the result with the least violation, or None when the first attempt
    gives nothing (an attempt that gives nothing ends the restarts)."""
    best = None
    for i in range(MEND_RESTARTS):
        if deadline is not None and time.perf_counter() > deadline:
            break
        found = attempt(seed + i)
        if found is None:
            break
        if best is None or found.violation < best.violation:
            best = found
        if best.violation == 0:
            break
    return best


def _whole_attempt(data: ModelInput, *, seed: int, solve, deadline: float | None, solver: str, threads: int | None) -> MendResult | None:
    """One seed constructed (:func:`_constructed`) and mended whole; None when the graph or its
    candidates leave no plan of k connected units at all."""
    label = _constructed(data, seed, deadline)
    if label is None:
        return None
    constructed = centres_of(data, label)
    result = mend(data, constructed, solve=solve, deadline=deadline, solver=solver, threads=threads)
    result.widened_by = plan_violation(data, constructed)
    return result


def _regions_attempt(data: ModelInput, *, seed: int, workers: int, **options) -> MendResult | None:
    """One seed's cut into regions (:func:`~redistrict.model.construct.regions`), mended by
    :func:`_by_regions` — cut anew with the next seed while the joined plan's mending stalls, as
    other seams give the excess other paths; None when no cut or no region's plan came."""
    parts = regions(data, most_units=REGION_UNITS, seed=seed, deadline=options["deadline"])
    return None if parts is None else _by_regions(data, parts, seed=seed, workers=workers, **options)


def _by_regions(data: ModelInput, parts: list[tuple[np.ndarray, int]], *, solve, deadline: float | None, seed: int, solver: str, threads: int | None, workers: int) -> MendResult | None:
    """Each region (nodes, units) constructed and mended on its own in ``workers`` processes,
    the plans joined, then the whole mended (what a region left outside the bounds may pass
    its excess across the seams); None when a region got no plan at all.

    City50000 without subdistricts: mended whole (from a construction before the cuts shared the
    room by units), 21,920 households were still outside the bounds after 900 s, its first pass
    of short chains alone over 200 s; by 19 regions of 128–396 units, 8–40 s each on their own,
    the plan came in 392 s."""
    ends_at = None if deadline is None else time.time() + REGION_SHARE * max(deadline - time.perf_counter(), 0.0)
    with worker_pool(min(workers, len(parts))) as pool:
        found = _regions_mended(pool, data, parts, workers, ends_at, solve=solve, seed=seed, solver=solver, threads=threads)
    if any(r.centre_of is None for r in found):
        return None
    plan = np.empty(data.n, dtype=np.int64)
    for (nodes, _), region in zip(parts, found, strict=True):
        plan[nodes] = nodes[region.centre_of]
    result = mend(data, plan, solve=solve, deadline=deadline, solver=solver, threads=threads)
    result.widened_by = max(r.widened_by or 0 for r in found)
    result.tried += sum(r.tried for r in found)
    result.accepted += sum(r.accepted for r in found)
    result.chains += sum(r.chains for r in found)
    result.regions = len(parts)
    return result


def _regions_mended(pool, data: ModelInput, parts: list[tuple[np.ndarray, int]], workers: int, ends_at: float | None, **options) -> list[MendResult]:
    """The regions' results, in order.  A region starts when a worker is free, with its share of
    the time to ``ends_at`` (a ``time.time()``): ``workers`` × its units over the units of the
    regions not yet started, so regions that finish early leave their time to the later ones."""
    results: list[MendResult | None] = [None] * len(parts)
    running: dict[Future, int] = {}
    waiting = list(range(len(parts)))
    while waiting or running:
        while waiting and len(running) < workers:
            i = waiting.pop(0)
            nodes, k = parts[i]
            share = min(1.0, workers * k / (k + sum(parts[j][1] for j in waiting)))
            seconds = None if ends_at is None else share * max(ends_at - time.time(), 0.0)
            running[pool.submit(_region_mended, restrict(data, nodes, k), seconds, **options)] = i
        done = next(iter(wait(running, return_when=FIRST_COMPLETED).done))
        results[running.pop(done)] = done.result()
    return results  # type: ignore[return-value]


def _region_mended(region: ModelInput, seconds: float | None, **options) -> MendResult:
    """In a worker: one region constructed and mended within ``seconds``."""
    return construct_and_mend(region, deadline=None if seconds is None else time.perf_counter() + seconds, **options)


def _constructed(data: ModelInput, seed: int, deadline: float | None) -> np.ndarray | None:
    """A plan that leaves the bounds only where no cut fits them: by at most :data:`WIDENING`
    per unit (two restarts in :data:`WIDENING_SHARE` of the time left), else by as little as it can."""
    by = None if deadline is None else time.perf_counter() + WIDENING_SHARE * max(deadline - time.perf_counter(), 0.0)
    label = construct_plan(data, seed=seed, deadline=by, restarts=2, slack=WIDENING)
    if label is None:
        label = construct_plan(data, seed=seed, deadline=deadline, restarts=1, slack=int(np.sum(data.weights)) + int(data.upper))
    return label


def mend(data: ModelInput, centre_of: np.ndarray, *, solve: Callable[..., ModelSolution], deadline: float | None, solver: str = "highs", threads: int | None = None) -> MendResult:
    """Bring the units of ``centre_of`` within the bounds: short chains
    (:data:`~redistrict.model.chains.SHORT_CHAINS`) — first and after every pass that changed
    the plan, since a redrawn neighbourhood opens new paths to room — and exact neighbourhood
    re-solves: passes over neighbourhoods of 2–3 units, and of one unit more (up to
    :data:`MAX_HOOD_UNITS`) after each pass that mends nothing, back to 2–3 after one that does;
    long chains (:data:`~redistrict.model.chains.LONG_CHAINS`) when the largest neighbourhoods
    mend nothing."""
    plan = np.asarray(centre_of, dtype=np.int64).copy()
    result = MendResult(plan, total_violation(data, plan), None)
    size, changed = 3, True
    while result.violation > 0:
        if changed:
            _chained(data, plan, result, deadline, chains.SHORT_CHAINS)
            if result.violation == 0:
                break
        if size > MAX_HOOD_UNITS:
            if not _chained(data, plan, result, deadline, chains.LONG_CHAINS):
                break
            size, changed = 3, True
        before = result.accepted
        if not _mend_pass(data, plan, _hoods(data, plan, size), result, solve, deadline, solver, threads):
            break  # the deadline
        changed = result.accepted > before
        size = 3 if changed else size + 1
    result.centre_of = plan
    return result


def _chained(data: ModelInput, plan: np.ndarray, result: MendResult, deadline: float | None, limits: chains.Limits) -> bool:
    """Pass excess along chains of units (:mod:`redistrict.model.chains`), ``plan`` and ``result``
    updated in place; True when that lowered the violation."""
    if result.violation == 0:
        return False
    passed = chains.pass_along(data, plan, deadline=deadline, limits=limits)
    plan[:] = passed.centre_of
    result.chains += passed.chains
    result.violation = passed.violation
    return passed.violation < passed.violation_before


def _mend_pass(data: ModelInput, plan: np.ndarray, hoods: list[tuple[int, ...]], result: MendResult, solve, deadline, solver, threads) -> bool:
    """Try each neighbourhood in turn (``plan`` and ``result`` updated in place); False at the deadline."""
    current = set(plan.tolist())  # the units (by centre) as they stand
    for hood in hoods:
        if deadline is not None and time.perf_counter() > deadline - 0.05:
            return False
        if not set(hood) <= current:
            continue  # a unit of this hood was redrawn earlier in the pass
        result.tried += 1
        if _mend_one(data, plan, hood, solve, deadline, solver, threads):
            result.accepted += 1
            result.violation = total_violation(data, plan)
            current = set(plan.tolist())
            if result.violation == 0:
                break
    return True


def _hoods(data: ModelInput, plan: np.ndarray, size: int) -> list[tuple[int, ...]]:
    """Neighbourhoods around the units outside the bounds (worst first), the neighbours with most
    room on the side that helps first: with one neighbour, then two (``size`` 3); for a larger
    ``size``, grown from each of the best few neighbours by the most helpful unit next to the set."""
    totals = _unit_totals(data, plan)
    lower, upper = data.lower, data.upper
    excess = {u: t - upper if t > upper else t - lower if t < lower else 0 for u, t in totals.items()}
    near = unit_graph(data, plan)
    hoods: list[tuple[int, ...]] = []
    for u in sorted((u for u, e in excess.items() if e), key=lambda u: -abs(excess[u])):
        over = excess[u] > 0

        def room(v: int, over: bool = over) -> int:
            return upper - totals[v] if over else totals[v] - lower

        helpful = sorted(near[u], key=lambda v: -room(v))
        if size <= 3:
            hoods += [(u, v) for v in helpful]
            hoods += [(u, v, w) for i, v in enumerate(helpful) for w in helpful[i + 1 :]]
            hoods += [(u, v, w) for v in helpful[:3] for w in sorted(near[v] - {u} - near[u])]
        else:
            hoods += [_grown(near, (u, v), size, room) for v in helpful[:GROWN_STARTS]]
    fits = [h for h in hoods if len(h) * lower <= sum(totals[x] for x in h) <= len(h) * upper]
    return list(dict.fromkeys(tuple(sorted(h)) for h in fits))


def _grown(near: dict[int, set[int]], seed: tuple[int, ...], size: int, room: Callable[[int], int]) -> tuple[int, ...]:
    """``seed`` grown to ``size`` connected units, each step by the unit next to it with most room."""
    hood = list(seed)
    while len(hood) < size:
        around = set().union(*(near[x] for x in hood)) - set(hood)
        if not around:
            break
        hood.append(max(sorted(around), key=room))
    return tuple(hood)


def _mend_one(data: ModelInput, plan: np.ndarray, hood: tuple[int, ...], solve, deadline, solver, threads) -> bool:
    """Re-solve one neighbourhood within the true bounds; apply and say True when it has a plan."""
    nodes = np.flatnonzero(np.isin(plan, hood))
    local = np.searchsorted(nodes, plan[nodes])
    sub = restrict(data, nodes, len(hood))
    label = construct_plan(sub, deadline=time.perf_counter() + CONSTRUCT_SECONDS, restarts=1)
    limit = MEND_SECONDS if deadline is None else max(0.05, min(MEND_SECONDS, deadline - time.perf_counter()))
    if label is None and enumeration.searchable(sub):
        outcome = enumeration.find_partition(sub, deadline=time.perf_counter() + limit)
        if outcome.status == "infeasible":
            return _lessen(sub, nodes, local, plan)
        label = outcome.label
    if label is None:
        solution = solve(fewer_centres(sub, local), solver=solver, threads=threads, time_limit=limit, small=True)
        if not solution.has_plan:
            return _lessen(sub, nodes, local, plan)
        centres = np.asarray(solution.centre_of)
    else:
        centres = centres_of(sub, label)
    plan[nodes] = nodes[centres]
    return True


def _lessen(sub: ModelInput, nodes: np.ndarray, local: np.ndarray, plan: np.ndarray) -> bool:
    """No plan within the bounds: a construction of the union allowed its current largest
    violation, kept (True) when the union's total violation falls — it moves the excess towards
    units with room, for a later neighbourhood to clear."""
    before = total_violation(sub, local)
    worst = plan_violation(sub, local)
    label = construct_plan(sub, deadline=time.perf_counter() + CONSTRUCT_SECONDS, restarts=1, slack=worst)
    if label is None:
        return False
    centres = centres_of(sub, label)
    if total_violation(sub, centres) >= before:
        return False
    plan[nodes] = nodes[centres]
    return True
