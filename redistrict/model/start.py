"""A good first plan, fast: location–allocation on a few candidate centres, for the exact search.

When every block may be a unit's centre and the objective has an assignment cost (compactness,
stability, distance), the exact model is large and its first contiguous plan can take minutes.
This heuristic gives it one early:

1. choose k centres greedily, each the node that most lowers the total assignment cost
   (the classical greedy p-median "add" step, on the model's own cost);
2. assign nodes to those centres within the household bounds but without contiguity (the exact
   model with those centres only, which also keeps locks and centres per group; the
   location–allocation start of :mod:`redistrict.model.allocate` uses the transportation LP of
   :func:`balanced_assignment` instead, milliseconds), move each centre to its unit's medoid (the
   member with the lowest cost to the unit), and repeat until the centres stay put (balanced
   Lloyd iterations);
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
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack

from ._graph import Adjacency
from .data import ModelInput, ModelSolution

#: at most this many nodes are scored as possible centres in the greedy step (evenly spaced)
MAX_SCORED = 1500
#: balanced Lloyd iterations stop after this many rounds if the centres still move
LLOYD_ROUNDS = 30
#: the same for the start heuristic, whose rounds are integer programs
START_LLOYD_ROUNDS = 10


def worth_a_start(data: ModelInput) -> bool:
    """True for the problems the heuristic helps: many candidate centres and a callable cost."""
    return callable(data.assign_cost) and not data.relax and len(data.candidates) > 4 * data.k


def greedy_centres(data: ModelInput, deadline: float | None = None) -> np.ndarray | None:
    """k centres chosen greedily to minimise the total assignment cost (ties: lowest node id);
    None when ``deadline`` (``perf_counter``) passes first (1,000 nodes, k = 100: 4.4 s)."""
    cost_fn = data.assign_cost
    n, k = data.n, data.k
    candidates = np.asarray(data.candidates)
    if len(candidates) > MAX_SCORED:
        candidates = candidates[np.linspace(0, len(candidates) - 1, MAX_SCORED).astype(np.int64)]
    nodes = np.arange(n)
    best = np.full(n, np.inf)
    chosen: list[int] = []
    for _ in range(k):
        if deadline is not None and time.perf_counter() > deadline:
            return None
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


def with_centres(data: ModelInput, centres: np.ndarray) -> ModelInput:
    """``data`` with only ``centres`` as candidate centres: the small restricted model whose
    plans are still plans of the full problem."""
    return dataclasses.replace(data, candidates=np.unique(np.asarray(centres, dtype=np.int64)))


def balanced_assignment(data: ModelInput, centres: np.ndarray) -> np.ndarray | None:
    """The centre of every node in the cheapest assignment to ``centres`` whose units hold
    ``[L, U]`` households, contiguity ignored; None when no assignment fits the bounds.

    The transportation LP ``min Σ c_ij x_ij`` s.t. ``Σ_j x_ij = 1``, ``L ≤ Σ_i w_i x_ij ≤ U``,
    ``0 ≤ x ≤ 1``: a basic optimum splits at most k − 1 nodes between centres, each given to
    the centre holding most of it, so the rounded units can miss the bounds by those nodes.
    It only places centres; a caller needing a plan within the bounds mends it.
    """
    n, k = data.n, len(centres)
    node, centre = np.repeat(np.arange(n), k), np.tile(np.asarray(centres), n)
    column = np.arange(n * k)
    one_unit = coo_matrix((np.ones(n * k), (node, column)), shape=(n, n * k))
    held = coo_matrix((np.asarray(data.weights, dtype=float)[node], (np.tile(np.arange(k), n), column)), shape=(k, n * k))
    bounds = np.r_[np.full(k, float(data.upper)), np.full(k, -float(data.lower))]
    result = linprog(data.assign_cost(node, centre), A_ub=vstack([held, -held]), b_ub=bounds, A_eq=one_unit, b_eq=np.ones(n), bounds=(0, 1), method="highs")
    if result.status != 0:
        return None
    return np.asarray(centres)[np.argmax(result.x.reshape(n, k), axis=1)]


def lloyd_centres(
    data: ModelInput,
    centres: np.ndarray,
    *,
    assign: Callable[[ModelInput, np.ndarray], np.ndarray | None] = balanced_assignment,
    deadline: float | None = None,
    rounds: int = LLOYD_ROUNDS,
) -> np.ndarray:
    """``centres`` moved to their units' medoids under ``assign`` (the centre of every node, or
    None when it finds none) until they stay put, for at most ``rounds`` rounds or the deadline."""
    centres = np.asarray(centres, dtype=np.int64)
    for _ in range(rounds):
        if deadline is not None and time.perf_counter() > deadline:
            break
        assigned = assign(data, centres)
        if assigned is None:
            break
        moved = medoids(data, assigned)
        if set(moved.tolist()) == set(centres.tolist()):
            break
        centres = moved
    return centres


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
    are enforced (:func:`lloyd_centres`), then once more while contiguity is too; each model has
    only the k current centres as candidates, so it is small.
    """
    deadline = time.perf_counter() + budget

    def restricted(data: ModelInput, centres: np.ndarray, formulation: str = "none", share: float = 0.1) -> ModelSolution | None:
        left = deadline - time.perf_counter()
        if left <= 0.05:
            return None
        return solve(with_centres(data, centres), solver=solver, threads=threads, time_limit=max(min(left, share * budget), 0.05), formulation=formulation, start_heuristic=False)

    def assign(data: ModelInput, centres: np.ndarray) -> np.ndarray | None:
        solution = restricted(data, centres)
        return None if solution is None or not solution.has_plan else np.asarray(solution.centre_of)

    centres = lloyd_centres(data, greedy_centres(data), assign=assign, deadline=deadline, rounds=START_LLOYD_ROUNDS)
    best: tuple[np.ndarray | None, float | None] = (None, None)
    seen: set[tuple[int, ...]] = set()
    while tuple(sorted(centres.tolist())) not in seen:
        seen.add(tuple(sorted(centres.tolist())))
        solution = restricted(data, centres, "cuts", 0.5)
        if solution is None or not solution.has_plan or (best[1] is not None and solution.objective >= best[1] - 1e-9):
            break
        best = (np.array(solution.centre_of), float(solution.objective))
        centres = medoids(data, best[0])
    return best
