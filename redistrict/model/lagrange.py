"""A Lagrangian lower bound: an honest gap in seconds where the LP relaxation takes minutes.

The LP relaxation of the Hess model (:mod:`redistrict.model.bounds`) has a coupling row per
surviving pair ``x[i, j] <= x[j, j]``; on the 295 NH tracts with k = 10 it needs 76 s, so a
heuristic piece with a 60 s limit got no bound at all.  Relaxing instead the assign-once rows
``sum_j x[i, j] = 1`` with multipliers ``lambda_i`` splits the model by centre:

    L(lambda) = sum_i lambda_i + (sum of the k smallest v_j)
    v_j = (c[j, j] - lambda_j)
          + min { sum_{i != j} (c[i, j] - lambda_i) x_i :
                  lower - w_j <= sum_{i != j} w_i x_i <= upper - w_j,  0 <= x_i <= 1,
                  x_i = 0 where the pair (i, j) is fixed out }

*Validity.*  Every plan within the bounds has exactly k centres ``J`` and puts every node in
one unit, so its assignment cost equals ``sum_i lambda_i + sum_{j in J} sum_{i in unit j}
(c[i, j] - lambda_i)``; each unit's sum is at least its centre's ``v_j`` (the unit is a 0/1
point of the knapsack, the fixing removes only pairs no plan uses), and k centres' ``v_j`` sum
to at least the k smallest.  So ``L(lambda)`` is a lower bound for *every* ``lambda`` — each
iterate of the search is valid, and stopping early only makes it weaker.  The inner minimum is
a continuous knapsack with a floor and a cap, solved exactly by taking items in increasing order
of ``(c[i, j] - lambda_i) / w_i``: every item of negative ratio up to the cap, then more up to the
floor.  Rules that only forbid plans (contiguity, locks, forced groups, office sites beyond the
candidates) are dropped, which keeps the bound valid.

The objective's cut-edge term is bounded on its own: k units on a graph of c connected parts are
joined by at least k - c cut edges, so it costs at least ``cut_weight`` times the k - c cheapest.

``lambda`` is improved by subgradient steps (Polyak's rule towards the incumbent's objective,
the step halved when the bound stalls).  On NH tracts, k = 10: 2.201e8 in 3 s against the LP's
2.2246e8 in 76 s and a heuristic plan of 2.3745e8.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ._graph import Adjacency, components, weighted_distances
from .data import ModelInput, implied_bounds
from .fixing import hess_fixing
from .hess import assignment_costs

#: pieces whose padded pair table would exceed this many entries get no Lagrangian bound (a step
#: holds about a dozen arrays of this size: 5 M entries is about 0.5 GB)
MAX_ENTRIES = 5_000_000
#: candidate centres whose reach is measured to judge the pair table's size before it is built
SIZE_SAMPLE = 32
#: the bound counts as stalled after this many steps without a better value; the step then halves
STALL_STEPS = 60
#: the search ends when the step factor falls below this
MIN_STEP = 1e-4


@dataclass(frozen=True)
class LagrangeBound:
    """A valid lower bound on every plan's objective, and how the search that found it went."""

    value: float
    assignment_part: float
    cut_part: float
    iterations: int
    seconds: float

    def to_dict(self) -> dict:
        """How the search went, for a piece's report."""
        return {"iterations": self.iterations, "seconds": round(self.seconds, 3), "cut_edge_part": self.cut_part}


@dataclass(frozen=True, eq=False)
class _Table:
    """Surviving pairs padded to one row per candidate centre (``inf`` cost where no pair)."""

    centres: np.ndarray  # (q,) node id of each row's centre
    nodes: np.ndarray  # (q, width) node ids, -1 padding
    cost: np.ndarray  # (q, width) c[i, j], +inf on padding and on the centre itself
    weight: np.ndarray  # (q, width) w_i, 0 on padding and on the centre itself
    own_cost: np.ndarray  # (q,) c[j, j]
    floor: np.ndarray  # (q,) lower - w_j
    cap: np.ndarray  # (q,) upper - w_j


def lagrangian_bound(data: ModelInput, *, target: float, time_limit: float) -> LagrangeBound | None:
    """The best ``L(lambda)`` found in ``time_limit`` seconds, plus the cut-edge bound.

    ``target`` is the objective of a known plan (the Polyak step aims at it).  None when the
    piece is too large for the pair table, when no time is given, or when fewer than k nodes can
    be centres at all (then the problem has no plan within the bounds and nothing is claimed).
    """
    t0 = time.perf_counter()
    if time_limit <= 0 or data.relax:
        return None
    adj = Adjacency.from_edges(data.n, data.edges)
    table = _pair_table(data, adj)
    if table is None:
        return None
    cut_part = _cut_edge_bound(data, adj)
    assignment_target = max(target - cut_part, 0.0)
    value, iterations = _subgradient(table, data.n, data.k, assignment_target, t0 + time_limit)
    if value is None:
        return None
    return LagrangeBound(value + cut_part, value, cut_part, iterations, time.perf_counter() - t0)


def _cut_edge_bound(data: ModelInput, adj: Adjacency) -> float:
    """cut_weight x the k - c cheapest edges: k units on c connected parts cut at least k - c edges
    (each part holds at least one unit, and a part with u units has u - 1 cut edges at least)."""
    if data.cut_weight <= 0 or not data.m:
        return 0.0
    parts = len(np.unique(components(adj, np.zeros(data.n, dtype=np.int64))))
    cheapest = np.sort(np.asarray(data.edge_cost, dtype=float))[: max(data.k - parts, 0)]
    return float(data.cut_weight * cheapest.sum())


def _estimated_entries(data: ModelInput, adj: Adjacency, lower: float, upper: float) -> float:
    """The pair table's size judged from :data:`SIZE_SAMPLE` evenly spread candidates: the share
    of them that keep a row (their reach weighs at least ``lower``) times the candidates, times
    the widest reach among them.  Building the table to find it too large took 35 s at 50,000
    blocks (6.4 s at 10,000: 10.1 M entries, estimated at 9.2 M) — past the bound's whole
    reserve and the piece's deadline; the sample takes milliseconds."""
    candidates = np.asarray(data.candidates)
    sample = candidates[np.linspace(0, len(candidates) - 1, min(SIZE_SAMPLE, len(candidates))).astype(np.int64)]
    weights = np.asarray(data.weights)
    w = weights.tolist()
    reaches = [np.fromiter(weighted_distances(adj, w, int(c), upper, None), dtype=np.int64) for c in sample]
    kept = [r for r in reaches if weights[r].sum() >= lower]
    if not kept:
        return 0.0
    return len(candidates) * len(kept) / len(sample) * max(len(r) for r in kept)


def _pair_table(data: ModelInput, adj: Adjacency) -> _Table | None:
    """The pairs that survive the upper and lower fixing rules, one padded row per centre."""
    lower, upper = implied_bounds(data)
    if lower > upper or _estimated_entries(data, adj, lower, upper) > MAX_ENTRIES:
        return None
    fixing = hess_fixing(adj, data.weights, np.asarray(data.candidates), float(lower), float(upper), None, data.k)
    centres, starts, sizes = np.unique(fixing.centre, return_index=True, return_counts=True)
    if len(centres) < data.k:
        return None
    width = int(sizes.max())
    if len(centres) * width > MAX_ENTRIES:
        return None
    row = np.repeat(np.arange(len(centres)), sizes)
    col = np.arange(len(fixing.node)) - np.repeat(starts, sizes)
    nodes = np.full((len(centres), width), -1, dtype=np.int64)
    nodes[row, col] = fixing.node
    cost = np.full(nodes.shape, np.inf)
    cost[row, col] = assignment_costs(data, fixing.node, fixing.centre)
    own = nodes == centres[:, None]
    own_cost = assignment_costs(data, centres, centres)
    cost[own] = np.inf
    w = np.asarray(data.weights, dtype=float)
    weight = np.where((nodes >= 0) & ~own, w[np.maximum(nodes, 0)], 0.0)
    return _Table(centres, nodes, cost, weight, own_cost, lower - w[centres], upper - w[centres])


def _subgradient(table: _Table, n: int, k: int, target: float, deadline: float) -> tuple[float | None, int]:
    """Subgradient ascent on ``L``; the best value seen (every one is valid) and the steps taken."""
    lam = _start_multipliers(table, n)
    best, step, stalled, iterations = None, 2.0, 0, 0
    while time.perf_counter() < deadline and step >= MIN_STEP:
        iterations += 1
        values, taken = _centre_values(table, lam)
        chosen = np.argsort(values, kind="stable")[:k]
        if not np.isfinite(values[chosen]).all():
            return None, iterations  # fewer than k nodes can be centres
        bound = float(lam.sum() + values[chosen].sum())
        if best is None or bound > best + 1e-12 * abs(best):
            best, stalled = bound, 0
        else:
            stalled += 1
            if stalled >= STALL_STEPS:
                step, stalled = step / 2, 0
        slack = _slack(table, taken, chosen, n)
        norm = float(slack @ slack)
        if norm < 1e-12 or bound >= target:
            break  # the relaxed plan is a plan, or the bound meets the incumbent
        lam = lam + step * (target - bound) / norm * slack
    return best, iterations


def _slack(table: _Table, taken: np.ndarray, chosen: np.ndarray, n: int) -> np.ndarray:
    """The subgradient: 1 - (how much of each node the chosen centres' knapsacks hold)."""
    nodes, held = table.nodes[chosen], taken[chosen]
    valid = nodes >= 0
    slack = np.ones(n) - np.bincount(nodes[valid], weights=held[valid], minlength=n)
    slack[table.centres[chosen]] -= 1.0
    return slack


def _start_multipliers(table: _Table, n: int) -> np.ndarray:
    """Each node's second-cheapest cost as a member of some unit (its cheapest if it has one
    only, 0 if none): a start near the dual optimum of uncapacitated assignment, where the search
    converges several times faster than from the cheapest (NH tracts, k = 10, 3 s: 2.20e8 vs 2.18e8)."""
    valid = table.nodes >= 0
    node = np.concatenate([table.nodes[valid], table.centres])
    cost = np.concatenate([table.cost[valid], table.own_cost])
    keep = np.isfinite(cost)
    node, cost = node[keep], cost[keep]
    order = np.lexsort((cost, node))
    node, cost = node[order], cost[order]
    first = np.searchsorted(node, np.arange(n))
    count = np.searchsorted(node, np.arange(n), side="right") - first
    pick = np.where(count >= 2, first + 1, first)
    lam = np.zeros(n)
    has = count > 0
    lam[has] = cost[pick[has]]
    return lam


def _centre_values(table: _Table, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``v_j`` for every candidate centre and the knapsack's fill ``x_i`` per table entry.

    Items go in increasing ratio ``r / w`` (``r = c - lambda``): those of negative ratio up to
    the cap, then others up to the floor; the last item taken may be fractional.  Zero-weight
    items are taken exactly when ``r < 0``.  A row that cannot reach its floor is ``inf``.
    """
    usable = np.isfinite(table.cost)
    r = np.where(usable, table.cost - lam[np.maximum(table.nodes, 0)], 0.0)
    w = table.weight
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(w > 0, r / np.where(w > 0, w, 1.0), np.where(r < 0, -np.inf, np.inf))
    ratio[~usable] = np.inf
    order = np.argsort(ratio, axis=1, kind="stable")
    ratio_s = np.take_along_axis(ratio, order, 1)
    in_play = np.isfinite(ratio_s) | (ratio_s < 0)
    r_s = np.where(in_play, np.take_along_axis(r, order, 1), 0.0)
    w_s = np.where(in_play, np.take_along_axis(w, order, 1), 0.0)
    filled = np.cumsum(w_s, axis=1)
    negative = np.where(ratio_s < 0, w_s, 0.0).sum(axis=1)
    level = np.clip(negative, table.floor, table.cap)
    full = in_play & (filled <= level[:, None] + 1e-9)
    x = full.astype(float)
    first_open = full.sum(axis=1)  # items taken form a prefix of the order
    q, width = r.shape
    at = np.minimum(first_open, width - 1)
    before = np.where(first_open > 0, filled[np.arange(q), np.maximum(first_open - 1, 0)], 0.0)
    part_w = w_s[np.arange(q), at]
    partial = (first_open < width) & (part_w > 0) & in_play[np.arange(q), at]
    x[np.arange(q), at] += np.where(partial, np.clip((level - before) / np.where(part_w > 0, part_w, 1.0), 0.0, 1.0), 0.0)
    values = table.own_cost - lam[table.centres] + (x * r_s).sum(axis=1)
    values[(w_s.sum(axis=1) < table.floor - 1e-9) | (table.cap < -1e-9)] = np.inf
    taken = np.empty_like(x)
    np.put_along_axis(taken, order, x, 1)
    return values, taken
