"""Turn a disconnected plan into a contiguous one by a small exact MIP around its broken parts.

Every round of the cut loop ends with the optimum of a relaxation, which is often an almost
contiguous plan: a unit with a stray piece.  The repair keeps one root per unit (the Hess centre,
the label's root, or the heaviest node of the unit's main part), frees the stray pieces and a few
layers of nodes around them and along the units' borders, fixes every other node where it is,
and solves the rooted Hess model with flow contiguity on that neighbourhood.  Flow contiguity
is exact, so any plan it returns is contiguous without further cut rounds; fixing keeps the MIP
small.  The result is only an incumbent; optimality is still decided by the main loop's bound.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from redistrict.model._built import BuiltModel
from redistrict.model._graph import Adjacency, components
from redistrict.model.contiguity import add_flow
from redistrict.model.data import ModelInput
from redistrict.model.hess import build_hess


def plan_roots(adj: Adjacency, model: BuiltModel, unit_of: np.ndarray, weights: np.ndarray) -> dict[int, int]:
    """A root per unit: the model's root if it has one, else the heaviest node of its heaviest part."""
    comp = components(adj, unit_of)
    roots: dict[int, int] = {}
    for u in np.unique(unit_of).tolist():
        if u in model.roots:
            roots[u] = model.roots[u]
            continue
        members = np.flatnonzero(unit_of == u)
        ids, inv = np.unique(comp[members], return_inverse=True)
        main = ids[np.argmax(np.bincount(inv, weights=weights[members].astype(float)))]
        part = members[comp[members] == main]
        roots[u] = int(part[np.lexsort((part, -weights[part]))[0]])
    return roots


def free_region(adj: Adjacency, unit_of: np.ndarray, roots: dict[int, int], radius: int, border: int) -> np.ndarray:
    """Nodes the repair may move: parts cut off from their root, ``radius`` hops around them, and
    ``border`` hops around every unit border."""
    comp = components(adj, unit_of)
    root_comp = {u: comp[r] for u, r in roots.items()}
    stray = np.array([comp[i] != root_comp[int(unit_of[i])] for i in range(adj.n)])
    e = adj.edges

    def grow(mask: np.ndarray, hops: int) -> np.ndarray:
        mask = mask.copy()
        for _ in range(hops):
            touch = mask[e[:, 0]] | mask[e[:, 1]]
            mask[e[touch].ravel()] = True
        return mask

    free = grow(stray, radius)
    if border > 0:
        on_border = np.zeros(adj.n, dtype=bool)
        cut = unit_of[e[:, 0]] != unit_of[e[:, 1]]
        on_border[e[cut].ravel()] = True
        free |= grow(on_border, border - 1)
    for r in roots.values():
        free[r] = False
    return free


def repair_model(data: ModelInput, adj: Adjacency, roots: dict[int, int], lower: float, upper: float) -> BuiltModel:
    """The rooted Hess model (centres = the given roots) with flow contiguity."""
    centres = np.array(sorted(roots.values()), dtype=np.int64)
    cost = data.assign_cost
    if isinstance(cost, np.ndarray):
        pos = np.full(data.n, -1, dtype=np.int64)
        pos[data.candidates] = np.arange(len(data.candidates))
        cost = cost[:, pos[centres]]
    rooted = dataclasses.replace(
        data, candidates=centres, assign_cost=cost, lower=int(np.floor(lower)), upper=int(np.ceil(upper)), relax=False
    )
    model = build_hess(rooted, adj, lower=lower, upper=upper, ordering=None)
    add_flow(model, adj, data.weights, upper)
    return model


def fix_outside(model: BuiltModel, unit_of: np.ndarray, roots: dict[int, int], free: np.ndarray) -> tuple[np.ndarray, bool]:
    """Columns to fix at 1 that keep every node outside ``free`` with its unit's root.

    Returns (columns, ok); ok is False when some such pair was removed by fixing.
    """
    fixed = np.flatnonzero(~free)
    centre = np.array([roots[int(u)] for u in unit_of[fixed]], dtype=np.int64)
    cols = model.col(centre, fixed)
    return cols, bool((cols >= 0).all())
