"""A good first plan, fast: location–allocation on a few candidate centres, for the exact search.

When every block may be a unit's centre and the objective has an assignment cost (compactness,
stability, distance), the exact model is large and its first contiguous plan can take minutes.
This heuristic gives it one early:

1. choose k centres greedily, each the node that most lowers the total assignment cost
   (the classical greedy p-median "add" step, on the model's own cost);
2. assign nodes to those centres within the household bounds but without contiguity (a small,
   fast model), move each centre to its unit's medoid (the member with the lowest cost to the
   unit), and repeat until the centres stay put (balanced Lloyd iterations);
3. do the same with contiguity enforced — the *restricted* exact problem whose only candidate
   centres are the current k — while the plan improves and the budget lasts.

Every plan it returns is a feasible plan of the full problem (same nodes, bounds, contiguity and
locks; only the centre choice was restricted), which the caller offers as a warm start.  It
proves nothing: the exact search that follows does.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from ._graph import Adjacency
from .data import ModelInput, ModelSolution

#: at most this many nodes are scored as possible centres in the greedy step (evenly spaced)
MAX_SCORED = 1500


def worth_a_start(data: ModelInput) -> bool:
    """True for the problems the heuristic helps: many candidate centres and a callable cost."""
    return callable(data.assign_cost) and not data.relax and len(data.candidates) > 4 * data.k


def greedy_centres(data: ModelInput) -> np.ndarray:
    """k centres chosen greedily to minimise the total assignment cost (ties: lowest node id)."""
    cost_fn = data.assign_cost
    n, k = data.n, data.k
    candidates = np.asarray(data.candidates)
    if len(candidates) > MAX_SCORED:
        candidates = candidates[np.linspace(0, len(candidates) - 1, MAX_SCORED).astype(np.int64)]
    nodes = np.arange(n)
    best = np.full(n, np.inf)
    chosen: list[int] = []
    for _ in range(k):
        scores = np.empty(len(candidates))
        for i, c in enumerate(candidates):
            if c in chosen:
                scores[i] = np.inf
                continue
            cost = cost_fn(nodes, np.full(n, c))
            scores[i] = np.minimum(best, cost).sum()
        pick = int(candidates[int(np.argmin(scores))])
        chosen.append(pick)
        best = np.minimum(best, cost_fn(nodes, np.full(n, pick)))
    return np.array(chosen, dtype=np.int64)


def medoids(data: ModelInput, centre_of: np.ndarray) -> np.ndarray:
    """For each unit, the candidate member with the lowest total cost of the unit's nodes."""
    allowed = np.zeros(data.n, dtype=bool)
    allowed[np.asarray(data.candidates)] = True
    out = []
    for centre in np.unique(centre_of):
        members = np.flatnonzero(centre_of == centre)
        options = members[allowed[members]]
        if len(options) == 0:
            out.append(int(centre))
            continue
        totals = [data.assign_cost(members, np.full(len(members), m)).sum() for m in options]
        out.append(int(options[int(np.argmin(totals))]))
    return np.array(sorted(set(out)), dtype=np.int64)


def heuristic_start(
    data: ModelInput,
    adj: Adjacency,
    *,
    budget: float,
    solve: Callable[..., ModelSolution],
    solver: str,
    threads: int | None,
) -> tuple[np.ndarray | None, float | None]:
    """(centre of every node, objective) of the best contiguous plan found within ``budget`` s.

    Centres start greedy, are moved to their units' medoids while the bounds but not contiguity
    are enforced (a cheap model), then once more while contiguity is too; each model has only
    the k current centres as candidates, so it is small.
    """
    deadline = time.perf_counter() + budget
    centres = greedy_centres(data)

    def restricted(centres: np.ndarray, formulation: str, share: float) -> ModelSolution | None:
        left = deadline - time.perf_counter()
        if left <= 0.05:
            return None
        sub = dataclasses.replace(data, candidates=np.array(sorted(set(int(c) for c in centres)), dtype=np.int64))
        return solve(sub, solver=solver, threads=threads, time_limit=max(min(left, share * budget), 0.05), formulation=formulation, start_heuristic=False)

    for _ in range(10):  # balanced Lloyd iterations without contiguity
        solution = restricted(centres, "none", 0.1)
        if solution is None or not solution.has_plan:
            break
        moved = medoids(data, np.asarray(solution.centre_of))
        if set(moved.tolist()) == set(centres.tolist()):
            break
        centres = moved
    best: tuple[np.ndarray | None, float | None] = (None, None)
    seen: set[tuple[int, ...]] = set()
    while tuple(sorted(centres.tolist())) not in seen:
        seen.add(tuple(sorted(centres.tolist())))
        solution = restricted(centres, "cuts", 0.5)
        if solution is None or not solution.has_plan:
            break
        if best[1] is not None and solution.objective >= best[1] - 1e-9:
            break
        best = (np.array(solution.centre_of), float(solution.objective))
        centres = medoids(data, best[0])
    return best
