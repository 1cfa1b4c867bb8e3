"""Boundary smoothing: the heuristic's last step, shorter boundaries for a little compactness.

The default objective (compactness, and stability where communities are re-planned) says nothing
about the boundaries between units, and a local optimum of compactness often has ragged ones: on
the NH tracts (295 nodes, k = 10, ±5 %) the most compact plan found has 155 cut edges, GerryChain's
best 168 with a 1.3 × less compact plan.  Among the plans almost as compact there are much
smoother ones, and a planner would take them: a boundary that follows fewer block edges is easier
to walk, sign and administer.

Smoothing descends once more (:func:`redistrict.model.lns.improve`, pairs then triples of units)
on the objective plus a boundary term, the plan's boundary priced at :data:`SMOOTH_WEIGHT` of its
objective::

    price = SMOOTH_WEIGHT · objective(plan) / Σ_{e cut by plan} edge_cost_e
    minimise  objective(plan') + price · Σ_{e cut by plan'} edge_cost_e

and keeps the result only where the objective itself rises by at most :data:`SMOOTH_MAX_COST`
(relative) and the boundary got shorter.  ``edge_cost`` is the boundary length in km (1 per edge
with ``--cut-edges``), so the price is in the objective's units per km and scales with the layer.
NH tracts: 155 → 142 cut edges (−8 %) for +0.17 % compactness in 2 s (each unit keeps its centre or
moves it to its medoid: :data:`SMOOTH_CENTRES_PER_UNIT`).

Only where the objective has an assignment cost and no boundary term of its own (a user who set
``--w-boundary`` chose the trade-off already), and never on a relaxed (out-of-bounds) search.
The exact path never smooths: a proved optimum stays the optimum of the stated objective.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .backends import plan_boundary
from .data import ModelInput, ModelSolution
from .lns import improve

#: the plan's whole boundary is priced at this share of its objective (NH tracts, k = 10, at
#: 0.03 / 0.06: 145 / 142 cut edges from 155, compactness +0.09 % / +0.18 %)
SMOOTH_WEIGHT = 0.06
#: a smoothed plan is kept only if its objective is at most this much (relative) above the start's
SMOOTH_MAX_COST = 0.01
#: share of a heuristic piece's improvement time the iterated search leaves to smoothing (the
#: descents and re-centring before it are not cut short: compactness comes first)
SMOOTH_SHARE = 0.2
#: neighbourhood sizes of the smoothing descent
SMOOTH_SIZES = (2, 3)
#: candidate centres per unit in a smoothing neighbourhood besides its current one: the centres
#: stay, the boundaries move (NH tracts, k = 10: the same 142 cut edges with 1 as with 5, in 2.1 s
#: against 29.5 s)
SMOOTH_CENTRES_PER_UNIT = 1


@dataclass(frozen=True)
class Smoothing:
    """A smoothing run: the plan it leaves (the start's if not kept) and its figures."""

    centre_of: np.ndarray
    kept: bool
    price: float
    objective_before: float
    objective_after: float
    boundary_before: float
    boundary_after: float
    cut_edges_before: int
    cut_edges_after: int
    seconds: float

    def to_dict(self) -> dict:
        return {
            "kept": self.kept,
            "price_per_edge_cost": self.price,
            "objective_before": self.objective_before,
            "objective_after": self.objective_after,
            "boundary_before": round(self.boundary_before, 3),
            "boundary_after": round(self.boundary_after, 3),
            "cut_edges_before": self.cut_edges_before,
            "cut_edges_after": self.cut_edges_after,
            "seconds": round(self.seconds, 3),
        }


def applies(data: ModelInput) -> bool:
    """Whether smoothing may change this piece's plan: an assignment cost, no boundary term of
    its own, bounds kept, and edges with a length."""
    return data.assign_cost is not None and data.cut_weight == 0 and not data.relax and data.m > 0 and float(data.edge_cost.max()) > 0


def smooth_boundaries(
    data: ModelInput,
    centre_of: np.ndarray,
    *,
    solve: Callable[..., ModelSolution],
    objective_of: Callable[[ModelInput, np.ndarray], float],
    deadline: float | None,
    solver: str = "highs",
    threads: int | None = None,
    progress: Callable[[dict], None] | None = None,
    sizes: tuple[int, ...] = SMOOTH_SIZES,
) -> Smoothing | None:
    """Descend from ``centre_of`` on the objective plus a priced boundary term (module doc);
    None where smoothing does not apply or the plan has no boundary."""
    started = time.perf_counter()
    centre_of = np.asarray(centre_of, dtype=np.int64)
    objective = objective_of(data, centre_of)
    length, cut = plan_boundary(data, centre_of)
    if not applies(data) or length <= 0 or objective <= 0:
        return None
    price = SMOOTH_WEIGHT * objective / length
    priced = dataclasses.replace(data, cut_weight=price)
    relabelled = None if progress is None else (lambda event: progress(event | {"phase": "improve (smoothing boundaries)"}))
    found = improve(priced, centre_of, solve=solve, objective_of=objective_of, deadline=deadline, solver=solver, threads=threads, sizes=sizes, progress=relabelled, centres_per_unit=SMOOTH_CENTRES_PER_UNIT)
    after = objective_of(data, found.centre_of)
    length_after, cut_after = plan_boundary(data, found.centre_of)
    kept = length_after < length and after <= objective * (1 + SMOOTH_MAX_COST)
    plan = found.centre_of if kept else centre_of
    return Smoothing(
        centre_of=plan, kept=kept, price=price,
        objective_before=objective, objective_after=after if kept else objective,
        boundary_before=length, boundary_after=length_after if kept else length,
        cut_edges_before=cut, cut_edges_after=cut_after if kept else cut,
        seconds=time.perf_counter() - started,
    )
