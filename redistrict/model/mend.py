"""Mend a plan that leaves the bounds: exact re-solves around each unit outside them.

In a tight plan (units averaging a few households from a bound) the construction fails near
the leaves, where a unit's window is a few dozen households wide; within bounds widened by v it
succeeds at once.  Such a plan is then mended one neighbourhood at a time: a unit outside
``[L, U]`` and one or two adjacent units, their union re-solved exactly within the true bounds
with the same number of units (the exhaustive search of :mod:`redistrict.model.enumeration`,
which also proves a union hopeless, then the integer program where that search runs out).  A
plan found there replaces them — those units are now within the bounds and the others are unchanged — so the total violation falls strictly with every
accepted move and the search cannot cycle.  Where no plan of the union fits the bounds, one that
lowers the union's total violation is kept too (the excess moves towards units with room).
Unions that cannot fit their unit count by arithmetic are skipped; the neighbours with the most room on the helpful side go first.

Where room is scarce it often lies a few units away, out of every neighbourhood's reach: chains
of single-block moves (:mod:`redistrict.model.chains`) pass the excess there — short chains
first, long ones when no neighbourhood of up to :data:`MAX_HOOD_UNITS` units mends anything.  It
stops when no unit is outside the bounds, at the deadline, or when neither mends anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import chains, enumeration
from .backends import plan_violation
from .construct import centres_of, construct_plan
from .data import ModelInput, ModelSolution, restrict
from .lns import fewer_centres, unit_graph
from .relax import widened

#: seconds for one neighbourhood: its construction within the bounds, then its exact re-solve
CONSTRUCT_SECONDS = 0.2
MEND_SECONDS = 1.0
#: the largest neighbourhood (in units) tried when smaller ones mend nothing, and how many
#: neighbours of a unit outside the bounds each start a grown neighbourhood
MAX_HOOD_UNITS, GROWN_STARTS = 8, 4
#: widenings (households beyond each bound) tried for the construction, in turn
WIDENINGS = (100, 200, 400)
#: share of the time left that the construction at one widening may use
WIDENING_SHARE = 0.1


@dataclass
class MendResult:
    """The mended plan (``centre_of``), how far it still lies outside the bounds, and the work."""

    centre_of: np.ndarray | None
    #: total violation left (None: no plan was constructed even within widened bounds)
    violation: int | None
    widened_by: int | None
    tried: int = 0
    accepted: int = 0
    seconds: float = 0.0
    #: chains of single-block moves that passed excess on (:mod:`redistrict.model.chains`)
    chains: int = 0

    def to_dict(self) -> dict:
        return {"widened_by": self.widened_by, "violation_left": self.violation, "neighbourhoods": self.tried, "accepted": self.accepted, "chains": self.chains, "seconds": round(self.seconds, 3)}


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


def construct_and_mend(data: ModelInput, *, solve: Callable[..., ModelSolution], deadline: float | None, seed: int = 0, solver: str = "highs", threads: int | None = None) -> MendResult:
    """A plan within the bounds by construction within widened ones, then mending; the result's
    ``violation`` is 0 when it succeeded (its ``centre_of`` is then a valid plan)."""
    t0 = time.perf_counter()
    for v in WIDENINGS:
        if deadline is not None and time.perf_counter() > deadline:
            break
        by = None if deadline is None else time.perf_counter() + WIDENING_SHARE * (deadline - time.perf_counter())
        label = construct_plan(data, seed=seed, deadline=by, restarts=2, slack=v)
        if label is None:
            continue
        result = mend(data, centres_of(widened(data, v), label), solve=solve, deadline=deadline, solver=solver, threads=threads)
        result.widened_by, result.seconds = v, time.perf_counter() - t0
        return result
    return MendResult(None, None, None, seconds=time.perf_counter() - t0)


def mend(data: ModelInput, centre_of: np.ndarray, *, solve: Callable[..., ModelSolution], deadline: float | None, solver: str = "highs", threads: int | None = None) -> MendResult:
    """Bring the units of ``centre_of`` within the bounds: short chains first
    (:data:`~redistrict.model.chains.SHORT_CHAINS`), then exact neighbourhood re-solves — passes
    over neighbourhoods of 2–3 units, and of one unit more (up to :data:`MAX_HOOD_UNITS`) after
    each pass that mends nothing, back to 2–3 after one that does — and long chains
    (:data:`~redistrict.model.chains.LONG_CHAINS`) when the largest neighbourhoods mend nothing."""
    plan = np.asarray(centre_of, dtype=np.int64).copy()
    result = MendResult(plan, total_violation(data, plan), None)
    _chained(data, plan, result, deadline, chains.SHORT_CHAINS)
    size = 3
    while result.violation > 0:
        if size > MAX_HOOD_UNITS:
            if not _chained(data, plan, result, deadline, chains.LONG_CHAINS):
                break
            size = 3
        before = result.accepted
        if not _mend_pass(data, plan, _hoods(data, plan, size), result, solve, deadline, solver, threads):
            break  # the deadline
        size = 3 if result.accepted > before else size + 1
    result.centre_of = plan
    return result


def _chained(data: ModelInput, plan: np.ndarray, result: MendResult, deadline: float | None, limits: tuple[int, int]) -> bool:
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
    centres = centres_of(widened(sub, worst), label)
    if total_violation(sub, centres) >= before:
        return False
    plan[nodes] = nodes[centres]
    return True
