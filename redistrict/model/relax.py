"""The plan whose largest bound violation is smallest, when no plan fits the bounds.

The violation of a plan is the largest amount by which a unit's weight leaves [L, U]
(:func:`~redistrict.model.backends.plan_violation`).  Bounds widened by v, [L − v, U + v], admit
a plan exactly when some plan has violation ≤ v, so feasibility is monotone in v and the search
is over v:

1. **arithmetic bound** — k units of total W average W/k, so some unit holds at least
   ⌈W/k⌉ and some at most ⌊W/k⌋: v ≥ max(⌈W/k⌉ − U, L − ⌊W/k⌋).  Every v below it is proved
   impossible;
2. **construction ladder** — :func:`~redistrict.model.construct.construct_plan` at v = v₀,
   v₀ + 1, v₀ + 2, v₀ + 4, … until a plan is found, then bisection down with construction: a
   contiguous plan in milliseconds, deterministic (seeded, a fixed number of attempts); with a
   time limit the ladder stops at :data:`LADDER_SHARE` of it;
3. **exact bisection** — while the found violation is more than ``tolerance`` above the proved
   bound, exact solves at the middle v either find a better plan or prove that v impossible.
   On inputs small enough for the exhaustive search (:mod:`redistrict.model.enumeration`) each
   step is that search first — it decides in seconds what the integer program may not decide in
   minutes — and the bisection then runs down to a proof whatever the tolerance.
   With a time limit each step gets half the time left, so which steps finish depends on the
   machine: a time-limited exact phase is not reproducible; without a limit every step runs to
   its end and the result is;
4. the caller then improves compactness at the violation found.

It stops as soon as the violation is proved minimal or within ``tolerance`` of the bound.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from . import enumeration
from .backends import plan_objective, plan_violation
from .construct import RESTARTS, centres_of, construct_plan
from .data import ModelInput, ModelSolution
from .lns import improve

#: with a time limit, the construction ladder may use this share of it (the exact steps and the
#: improvement get the rest)
LADDER_SHARE = 0.3


@dataclass(frozen=True)
class RelaxResult:
    """The best plan found, its violation and the largest violation proved necessary."""

    centre_of: np.ndarray | None
    violation: int | None
    #: no plan has a smaller violation (arithmetic, raised by exact proofs of infeasibility)
    proved_at_least: int
    #: how each step ended: (phase, v, outcome)
    steps: tuple[tuple[str, int, str], ...]
    #: the arithmetic bound (:func:`arithmetic_violation`) the search started from
    floor: int = 0
    #: an exact solve proved that no plan exists even with the widest bounds tried
    infeasible: bool = False

    @property
    def proved(self) -> bool:
        return self.violation is not None and self.violation <= self.proved_at_least

    @property
    def status(self) -> str:
        """The plan's status in the engine's words: within the bounds after all ("heuristic"),
        "relaxed" (violation proved minimal) or "relaxed_unproved"."""
        return "heuristic" if self.violation == 0 else "relaxed" if self.proved else "relaxed_unproved"

    def note(self, data: ModelInput, tolerance: int) -> str:
        """Whether the violation is proved minimal, in words and numbers ("" within the bounds)."""
        if self.violation == 0:
            return ""
        if self.proved:
            if self.proved_at_least == self.floor:
                return f"proved minimal: {data.k} units of {int(data.weights.sum()):,} households cannot do better than {self.proved_at_least:,} by arithmetic"
            return "proved minimal (exact search)"
        within = f", within the relax tolerance of {tolerance:,}" if self.violation - self.proved_at_least <= tolerance else ""
        return f"not proved minimal: at least {self.proved_at_least:,} is needed{within}"


def arithmetic_violation(data: ModelInput) -> int:
    """The smallest violation k units of this total can have by count alone."""
    total, k = int(np.sum(data.weights)), data.k
    return int(max(0, math.ceil(total / k) - data.upper, data.lower - total // k))


def widened(data: ModelInput, v: int) -> ModelInput:
    """The problem with bounds [L − v, U + v] (the lower bound never below 0)."""
    return replace(data, lower=max(0, int(data.lower) - v), upper=int(data.upper) + v, relax=False)


def min_violation(
    data: ModelInput,
    *,
    solve: Callable[..., ModelSolution],
    time_limit: float | None,
    tolerance: int = 0,
    seed: int = 0,
    **solve_kwargs,
) -> RelaxResult:
    """Search the smallest violation (see the module docstring); ``solve`` is ``solve_model``."""
    started = time.perf_counter()
    floor = arithmetic_violation(data)
    steps: list[tuple[str, int, str]] = []
    plan, v = _ladder(data, floor, seed, steps, None if time_limit is None else started + LADDER_SHARE * time_limit)
    lo = floor

    def remaining() -> float | None:
        return None if time_limit is None else time_limit - (time.perf_counter() - started)

    if plan is None:
        plan, v, lo, infeasible = _exact_doubling(data, floor, solve, remaining, steps, solve_kwargs)
        if plan is None:
            return RelaxResult(None, None, lo, tuple(steps), floor, infeasible)
    report = solve_kwargs.get("progress")
    searchable = enumeration.searchable(data)
    while v - lo > (0 if searchable else tolerance):
        left = remaining()
        if left is not None and left <= 0.05:
            break
        mid = (lo + v - 1) // 2
        if report is not None:
            report({"phase": "relax", "v": mid, "lo": lo, "hi": v, "steps_left": math.ceil(math.log2(max(2, v - lo - tolerance + 1)))})
        budget = None if left is None else max(0.05, left / 2)
        phase, found, status = _decide(widened(data, mid), solve, budget, searchable, solve_kwargs)
        if found is not None:
            plan, v = found, plan_violation(data, found)
            steps.append((phase, mid, f"plan with violation {v}"))
        elif status == "infeasible":
            lo = mid + 1
            steps.append((phase, mid, "proved impossible"))
        else:
            steps.append((phase, mid, "undecided in its time"))
            break  # half the time left did not decide it: the rest will not either
    return RelaxResult(plan, v, lo, tuple(steps), floor)


def relaxed_plan(
    data: ModelInput,
    *,
    solve: Callable[..., ModelSolution],
    time_limit: float | None,
    tolerance: int = 0,
    seed: int = 0,
    solver: str = "highs",
    threads: int | None = None,
    **solve_kwargs,
) -> tuple[RelaxResult, dict]:
    """:func:`min_violation`, then the plan's objective improved at the violation found (exact
    re-solves of 2- and 3-unit neighbourhoods within the widened bounds; step 4 above).  Returns
    the result (its plan the improved one) and what the improvement did."""
    started = time.perf_counter()
    result = min_violation(data, solve=solve, time_limit=time_limit, tolerance=tolerance, seed=seed, solver=solver, threads=threads, **solve_kwargs)
    if result.centre_of is None:
        return result, {}
    deadline = None if time_limit is None else started + time_limit
    improved = improve(widened(data, result.violation), result.centre_of, solve=solve, objective_of=plan_objective, deadline=deadline, solver=solver, threads=threads)
    centre_of = np.asarray(improved.centre_of)
    return replace(result, centre_of=centre_of, violation=plan_violation(data, centre_of)), {"improvement": improved.to_dict()}  # improving may lower it


def _decide(data: ModelInput, solve, budget: float | None, searchable: bool, solve_kwargs) -> tuple[str, np.ndarray | None, str]:
    """A plan of ``data`` or a proof that none exists: the exhaustive search where it applies,
    the exact model otherwise or when the search ran out (phase, plan or None, status)."""
    if searchable:
        outcome = enumeration.find_partition(data, deadline=None if budget is None else time.perf_counter() + budget)
        if outcome.status != "limit":
            return "search", None if outcome.label is None else centres_of(data, outcome.label), outcome.status
        if budget is not None:
            return "search", None, "limit"
    solution = solve(data, time_limit=budget, **solve_kwargs)
    return "exact", None if not solution.has_plan else np.asarray(solution.centre_of), solution.status


def _constructed(data: ModelInput, v: int, seed: int, deadline: float | None) -> np.ndarray | None:
    """A constructed plan within bounds widened by v, as the engine's centre of every node."""
    wide = widened(data, v)
    label = construct_plan(wide, seed=seed, deadline=deadline, restarts=RESTARTS)
    return None if label is None else centres_of(wide, label)


def _ladder(data: ModelInput, floor: int, seed: int, steps: list, deadline: float | None) -> tuple[np.ndarray | None, int | None]:
    """The smallest v (up to bisection) at which construction finds a plan, and that plan;
    steps after the ``deadline`` are not started (a plan found by then is kept)."""
    failed, v, step = floor - 1, floor, 1
    cap = max(int(data.upper), int(np.sum(data.weights)))
    found = None
    while v <= cap and (deadline is None or time.perf_counter() < deadline):
        found = _constructed(data, v, seed, deadline)
        steps.append(("construction", v, "plan" if found is not None else "none"))
        if found is not None:
            break
        failed, v, step = v, v + step, step * 2
    if found is None:
        return None, None
    best, best_v = found, plan_violation(data, found)
    while best_v - failed > 1 and (deadline is None or time.perf_counter() < deadline):
        mid = (failed + best_v) // 2
        attempt = _constructed(data, mid, seed, deadline)
        steps.append(("construction", mid, "plan" if attempt is not None else "none"))
        if attempt is None:
            failed = mid
        else:
            best, best_v = attempt, plan_violation(data, attempt)
    return best, best_v


def _exact_doubling(data, floor, solve, remaining, steps, solve_kwargs):
    """No construction succeeded (e.g. office sites or locks it cannot place): the exhaustive
    search (small pieces) or exact solves at v = v₀, then doubling steps, each with a third of
    the time left, until one finds a plan."""
    v, step, lo = floor, max(1, floor), floor
    searchable = enumeration.searchable(data)
    while v <= int(data.upper) + int(np.sum(data.weights)):
        left = remaining()
        if left is not None and left <= 0.05:
            break
        phase, centre_of, status = _decide(widened(data, v), solve, None if left is None else max(0.05, left / 3), searchable, solve_kwargs)
        if centre_of is not None:
            steps.append((phase, v, "plan"))
            return centre_of, plan_violation(data, centre_of), lo, False
        if status == "infeasible":
            lo = v + 1
            steps.append((phase, v, "proved impossible"))
        else:
            steps.append((phase, v, "undecided in its time"))
        v, step = v + step, step * 2
    proved_none = bool(steps) and steps[-1][2] == "proved impossible"
    return None, None, lo, proved_none
