"""A plan by location–allocation, for the large-neighbourhood search to start from.

A construction by random spanning trees (:mod:`redistrict.model.construct`) is valid but ragged;
the search then spends its time straightening it and stops in a local optimum shaped by the
tree.  Where the objective is an assignment cost (compactness, distance, stability), the
classical way to a good plan is location–allocation:

1. centres by the greedy p-median step, moved to their units' medoids under the balanced
   transportation LP until they stay put (:func:`redistrict.model.start.lloyd_centres`);
2. every node assigned to one of those centres within the bounds: the engine's own model with the
   k centres as the only candidates and contiguity left out (a small integer program, capped at
   :data:`ASSIGN_SECONDS`; the LP's rounding where it finds nothing);
3. each unit's parts cut off from its centre given, in rounds, to the adjacent unit whose centre
   serves them most cheaply (:func:`attached`);
4. the units that step 3 (or the cap of step 2) left outside the bounds mended by exact
   neighbourhood re-solves (:func:`redistrict.model.mend.mend`).

The result is checked against every rule the steps could break (bounds, contiguity, locks);
anything else is a failure, never a plan.  On the NH tracts (295 nodes, k = 10, ±5 %) it gives
a plan in 1.3 s whose descent ends at 2.2555e8 in 10 s, where the most compact of 200
constructions descends to 2.2798e8 in 25 s.  Its weak side is bounds with little room: on the
whole sample (k = 10, 7.6 households of room per unit) mending takes 17 s and the descent from it
ends 7 % above the construction's, so the strategy descends from both starts and keeps the
better (:func:`redistrict.model.lns.improve`'s ``alternatives``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._graph import Adjacency, components
from .data import ModelInput, ModelSolution
from .mend import mend
from .start import balanced_assignment, greedy_centres, lloyd_centres, with_centres

#: seconds the restricted assignment model may take (step 2)
ASSIGN_SECONDS = 2.0
#: pieces with more (node, centre) pairs than this are left to the constructions: the LP of
#: step 1 has one column per pair and the greedy step scores every node against every centre
MAX_PAIRS = 100_000


@dataclass
class Allocation:
    """The plan (None when the allocation found none within the bounds) and how it went."""

    centre_of: np.ndarray | None
    note: str
    seconds: float = 0.0
    mended: int = 0

    def to_dict(self) -> dict:
        return {"found": self.centre_of is not None, "note": self.note, "seconds": round(self.seconds, 3), "mend_neighbourhoods": self.mended}


def applies(data: ModelInput) -> bool:
    """True for pieces with an assignment cost (a callable one), bounds to keep, no fixed
    centres per group and at most :data:`MAX_PAIRS` (node, centre) pairs."""
    return callable(data.assign_cost) and not data.relax and data.group_counts is None and data.k >= 2 and data.n * data.k <= MAX_PAIRS


def allocation_plan(data: ModelInput, *, solve: Callable[..., ModelSolution], deadline: float, solver: str = "highs", threads: int | None = None) -> Allocation:
    """A valid plan of ``data`` by location–allocation within ``deadline`` (``perf_counter``), or
    an :class:`Allocation` without one saying which step stopped."""
    t0 = time.perf_counter()

    def done(centre_of: np.ndarray | None, note: str, mended: int = 0) -> Allocation:
        return Allocation(centre_of, note, time.perf_counter() - t0, mended)

    if not applies(data):
        return done(None, "not applicable (no assignment cost, relaxed bounds, centres fixed per group, or too many node–centre pairs)")
    greedy = greedy_centres(data, deadline)
    if greedy is None:
        return done(None, "the time ran out while choosing the first centres")
    centres = lloyd_centres(data, greedy, deadline=deadline)
    assigned = _assigned(data, centres, solve, deadline, solver, threads)
    if assigned is None:
        return done(None, "no assignment of the nodes to the centres fits the bounds")
    joined = attached(data, assigned)
    if joined is None:
        return done(None, "some block has no path to a centre (the graph is not connected)")
    mended = mend(data, joined, solve=solve, deadline=deadline, solver=solver, threads=threads)
    if mended.violation != 0:
        return done(None, f"mending left {mended.violation:,} households outside the bounds by the deadline", mended.tried)
    if not keeps_locks(data, mended.centre_of):
        return done(None, "the plan separates or joins locked blocks", mended.tried)
    return done(mended.centre_of, "location–allocation", mended.tried)


def _assigned(data: ModelInput, centres: np.ndarray, solve, deadline: float, solver: str, threads: int | None) -> np.ndarray | None:
    """Every node's centre among ``centres`` within the bounds (step 2), contiguity ignored."""
    left = deadline - time.perf_counter()
    if left > 0.1:
        solution = solve(with_centres(data, centres), solver=solver, threads=threads, time_limit=min(ASSIGN_SECONDS, left), formulation="none", start_heuristic=False)
        if solution.has_plan:
            return np.asarray(solution.centre_of, dtype=np.int64)
    return balanced_assignment(data, centres)


def attached(data: ModelInput, centre_of: np.ndarray) -> np.ndarray | None:
    """``centre_of`` with every node cut off from its unit's centre given to an adjacent unit:
    each unit keeps the part holding its centre; the other nodes join, in rounds, the adjacent
    unit whose centre serves them most cheaply.  Every unit is then connected (None when some
    node has no path to a centre: the graph is not connected)."""
    adj = Adjacency.from_edges(data.n, data.edges)
    centre_of = np.asarray(centre_of, dtype=np.int64)
    part = components(adj, centre_of)
    label = np.where(part == part[centre_of], centre_of, -1)
    while (free := np.flatnonzero(label < 0)).size:
        joined = False
        for v in free.tolist():
            options = np.unique(label[list(adj.neighbours[v])])
            options = options[options >= 0]
            if options.size:
                label[v] = options[np.argmin(data.assign_cost(np.full(options.size, v), options))]
                joined = True
        if not joined:
            return None
    return label


def keeps_locks(data: ModelInput, centre_of: np.ndarray) -> bool:
    """True when every ``same_unit`` pair shares a unit and no ``different_unit`` pair does."""
    same = all(centre_of[a] == centre_of[b] for a, b in data.same_unit)
    return same and all(centre_of[a] != centre_of[b] for a, b in data.different_unit)
