"""Branch on how many centres each group holds: the exact search where the LP cannot count.

With a stability term (households moved out of their current community, the group of a node)
the assignment model's LP lets a community hold a fractional number of centres — 3.08 for
阜新's 9,242 households at 3,000 at most — so it moves almost no one, and its bound stays far
below every plan (昱东: 2,544 against plans of ~3,600, a 28 % gap the solver does not close in
minutes).  Every plan has one vector ``n`` of centres per group, so the plans fall into parts,
one per vector, and within a part the LP knows ``n_g`` (``sum_{j in g} x[j, j] = n_g``,
:func:`~redistrict.model.hess.add_group_counts`) and must move the households that ``n_g``
units cannot hold.

The search is a best-first branch and bound over those vectors.  A node fixes the counts of the
first few groups (largest first); its LP relaxation bounds every plan below it.  Nodes whose
bound is not below the incumbent are closed; a node whose counts are all fixed (a leaf) is
solved by the exact model (:func:`~redistrict.model.backends.solve_model`) with the rest of
the time shared among the open leaves (a leaf the time stops is opened again with its better
bound, and re-solved from the incumbent if time is left).  The bound of the whole is the least bound of what is
still open, so it is valid however early the time limit stops the search.  (昱东, 6 units over
3 communities: 16 LPs close every part but one, whose exact model proves the optimum.)
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .backends import _closed, _integral_objective, plan_objective, relative_gap, solve_model
from .bounds import lp_bound
from .data import ModelInput, ModelSolution

#: more groups than this and the count vectors are not searched (each level costs LPs)
MAX_GROUPS = 12
#: a leaf's exact model gets this share of what is left when other leaves are open.  The leaf
#: popped first has the least bound, and the plan it finds usually closes the rest; one the time
#: stops is re-solved from scratch, its tree lost.  昱东 at the 60 s default: its one open leaf
#: needs ~25 s; at 0.5 it got 23.5 s, was stopped and re-solved (optimal at 57–60 s, or 33 s when
#: it just made it); at 0.8 it is proved at 37 s
LEAF_SHARE = 0.8


@dataclass(frozen=True)
class CountsOutcome:
    """What the search over count vectors found: the best plan, a valid bound and the tally."""

    centre_of: np.ndarray | None
    objective: float | None
    bound: float | None
    status: str  # optimal | feasible | infeasible | no_solution
    seconds: float
    lps: int
    leaves: int
    closed_by_bound: int
    groups: int

    @property
    def info(self) -> dict:
        """The tally, JSON-ready (a piece's report row carries it)."""
        return {"groups": self.groups, "lps": self.lps, "leaves_solved": self.leaves, "closed_by_bound": self.closed_by_bound}

    def solution(self) -> ModelSolution:
        """The outcome as the engine's :class:`ModelSolution`."""
        return ModelSolution(
            self.status, self.centre_of, self.objective, self.bound, relative_gap(self.objective, self.bound), self.seconds, rounds=self.leaves,
            cuts_added=0, solver="highs", formulation="cuts, branching on centres per group",
        )


def group_order(data: ModelInput) -> list[int]:
    """The groups holding candidates, largest (by weight) first: the order counts are fixed in."""
    groups = data.groups
    cand_groups = sorted(set(groups[data.candidates].tolist()) - {-1})
    weight = {g: int(data.weights[groups == g].sum()) for g in cand_groups}
    return sorted(cand_groups, key=lambda g: (-weight[g], g))


def applies(data: ModelInput) -> bool:
    """True when the search fits: groups given, units with centres, 2..MAX_GROUPS groups."""
    if data.groups is None or data.symmetric or data.relax or data.group_counts is not None:
        return False
    return 2 <= len(group_order(data)) <= MAX_GROUPS


def counts_of(data: ModelInput, centre_of: np.ndarray) -> tuple[int, ...]:
    """Centres per group id (0..max) of a plan."""
    size = int(data.groups.max()) + 1
    centres = np.unique(centre_of)
    groups = data.groups[centres]
    return tuple(np.bincount(groups[groups >= 0], minlength=size).tolist())


@dataclass(order=True)
class _Node:
    bound: float
    seq: int
    counts: tuple[int | None, ...] = field(compare=False)


class _Search:
    """The open nodes, the incumbent and the clock."""

    def __init__(self, data: ModelInput, start: np.ndarray | None, deadline: float | None, solver: str, threads: int | None, mip_gap: float | None, progress) -> None:
        self.data, self.deadline, self.solver, self.threads, self.progress = data, deadline, solver, threads, progress
        self.gap = mip_gap or 0.0
        self.order = group_order(data)
        self.ungrouped = bool((data.groups[data.candidates] < 0).any())
        self.capacity = {g: int((data.groups[data.candidates] == g).sum()) for g in self.order}
        self.integral = _integral_objective(data, False)
        self.best = None if start is None else np.asarray(start, dtype=np.int64)
        self.best_value = math.inf if start is None else plan_objective(data, self.best)
        self.heap: list[_Node] = []
        self.seq = self.lps = self.leaves = self.closed = 0
        self.t0 = time.perf_counter()

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.perf_counter()

    def worth(self, bound: float) -> bool:
        """True when a node's bound leaves room below the incumbent (beyond the asked-for gap).

        ``inf`` marks a part proved infeasible; ``-inf`` one whose LP did not solve in time.
        """
        if bound == math.inf:
            return False
        if self.best is None:
            return True
        if _closed(self.best_value, bound, self.integral):
            return False
        return bound < self.best_value - self.gap * abs(self.best_value)

    def push(self, counts: tuple[int | None, ...], bound: float) -> None:
        if self.worth(bound):
            self.seq += 1
            heapq.heappush(self.heap, _Node(bound, self.seq, counts))
        else:
            self.closed += 1

    def lp(self, counts: tuple[int | None, ...], parent: float) -> float:
        """The LP bound of a node (its parent's when the LP does not solve in time; inf if infeasible)."""
        if self.is_leaf(counts) and not self._fits(counts):
            return math.inf
        left = self.left()
        self.lps += 1
        bound = lp_bound(dataclasses.replace(self.data, group_counts=counts), time_limit=30.0 if left is None else max(0.0, min(30.0, left)), infeasible=math.inf)
        return parent if bound is None else max(bound, parent)

    def _fits(self, counts: tuple[int | None, ...]) -> bool:
        fixed = sum(c for c in counts if c is not None)
        return fixed == self.data.k or (self.ungrouped and fixed <= self.data.k)

    def is_leaf(self, counts: tuple[int | None, ...]) -> bool:
        return all(counts[g] is not None for g in self.order)

    def children(self, node: _Node) -> None:
        """Fix the next group's count (0..what is left) and bound each child."""
        counts = list(node.counts)
        free = [g for g in self.order if counts[g] is None]
        g = free[0]
        used = sum(c for c in counts if c is not None)
        room = self.data.k - used
        last = len(free) == 1 and not self.ungrouped
        options = [room] if last else range(room + 1)
        for n_g in (n for n in options if n <= self.capacity[g]):
            counts[g] = n_g
            child = tuple(counts)
            self.push(child, self.lp(child, node.bound))

    def solve_leaf(self, node: _Node) -> None:
        """The exact model on one part, warm-started when the incumbent lies in it."""
        self.leaves += 1
        data = dataclasses.replace(self.data, group_counts=node.counts)
        start = self.best if self.best is not None and self._holds(node.counts, self.best) else None
        left = self.left()
        others = any(self.worth(n.bound) for n in self.heap)
        limit = None if left is None else max(0.5, left * (LEAF_SHARE if others else 1.0))
        sol = solve_model(data, solver=self.solver, threads=self.threads, time_limit=limit, mip_gap=self.gap or None, start=start)
        if sol.has_plan and sol.objective < self.best_value:
            self.best, self.best_value = np.asarray(sol.centre_of), float(sol.objective)
        if sol.status in ("feasible", "no_solution"):  # stopped by the time: open again, with its better bound
            self.push(node.counts, node.bound if sol.best_bound is None else max(node.bound, sol.best_bound))
        self._report()

    def _holds(self, counts: tuple[int | None, ...], plan: np.ndarray) -> bool:
        return all(c is None or c == h for c, h in zip(counts, counts_of(self.data, plan), strict=True))

    def bound(self) -> float:
        """The least bound of everything still open (the incumbent's value when nothing is)."""
        return min([n.bound for n in self.heap] + [self.best_value])  # push never keeps an infeasible part

    def _report(self) -> None:
        if self.progress is not None:
            incumbent = None if self.best is None else self.best_value
            bound = self.bound()
            self.progress({"phase": "exact, by centres per group", "round": self.leaves, "elapsed": time.perf_counter() - self.t0, "incumbent": incumbent, "bound": bound if math.isfinite(bound) else None, "cuts_added": 0, "solver_status": ""})

    def run(self) -> CountsOutcome:
        size = int(self.data.groups.max()) + 1
        root = tuple([None] * size)
        self.push(root, self.lp(root, -math.inf))
        while self.heap:
            left = self.left()
            if left is not None and left <= 0.05:
                break
            node = heapq.heappop(self.heap)
            if not self.worth(node.bound):
                self.closed += 1
                continue
            if self.is_leaf(node.counts):
                self.solve_leaf(node)
            else:
                self.children(node)
                self._report()
        return self.outcome()

    def outcome(self) -> CountsOutcome:
        bound = self.bound()
        finite = math.isfinite(bound)
        if self.best is None:  # parts are closed without a plan only when proved infeasible
            status = "no_solution" if self.heap else "infeasible"
        else:
            status = "optimal" if _closed(self.best_value, bound, self.integral) else "feasible"
        return CountsOutcome(
            self.best, None if self.best is None else self.best_value, bound if finite else None, status,
            time.perf_counter() - self.t0, self.lps, self.leaves, self.closed, len(self.order),
        )


def solve_by_counts(
    data: ModelInput,
    *,
    start: np.ndarray | None = None,
    time_limit: float | None = None,
    solver: str = "highs",
    threads: int | None = None,
    mip_gap: float | None = None,
    progress: Callable[[dict], None] | None = None,
) -> CountsOutcome:
    """Best-first search over centres per group (see the module docstring); HiGHS only.

    ``start`` is a plan to begin from (kept unless a better one is found).  The outcome's bound
    is valid for the whole problem; ``status`` is "optimal" only when it meets the plan, else
    "feasible" (stopped by the time or by ``mip_gap``).
    """
    if not applies(data):
        raise ValueError("solve_by_counts needs groups (2..MAX_GROUPS holding candidates) and units with centres")
    deadline = None if time_limit is None else time.perf_counter() + float(time_limit)
    return _Search(data, start, deadline, solver, threads, mip_gap, progress).run()
