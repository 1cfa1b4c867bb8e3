"""Labeling model: ``x[i, l] = 1`` when node ``i`` gets label ``l`` in ``0..k-1``.

Much smaller than Hess (``n * k`` assignment variables instead of ``n * reach``) but it has no
centres, so it only serves interchangeable units without an assignment cost (the pure cut-edge
objective).  Symmetry is broken by Validi's diagonal fixing, and labels whose first node is a head
of the vertex ordering are rooted there (see :func:`redistrict.model.fixing.labeling_fixing`).
"""

from __future__ import annotations

import numpy as np

from redistrict.model._built import BuiltModel
from redistrict.model._graph import Adjacency
from redistrict.model._milp import INF, Milp, RowBlock
from redistrict.model.data import ModelInput
from redistrict.model.fixing import LabelFixing, Ordering, labeling_fixing
from redistrict.model.hess import (
    add_assign_once,
    add_assignment_vars,
    add_cut_objective,
    add_locks,
)


def add_label_weight(
    milp: Milp, model: BuiltModel, weights: np.ndarray, k: int, lower: float, upper: float
) -> np.ndarray:
    """lower - s <= sum_i p_i x[i,l] <= upper + s for every label l (s = 0 unless elastic)."""
    row = [model.x_unit]
    col = [model.x_col]
    val = [weights[model.x_node].astype(float)]
    if model.s_col is not None:
        row.append(np.arange(k))
        col.append(np.full(k, model.s_col))
        val.append(np.ones(k))
    hi = RowBlock.from_coo(
        np.concatenate(row), np.concatenate(col), np.concatenate(val[:1] + [-v for v in val[1:]]),
        np.full(k, -INF), np.full(k, float(upper)),
    )
    lo = RowBlock.from_coo(np.concatenate(row), np.concatenate(col), np.concatenate(val), np.full(k, float(lower)), np.full(k, INF))
    return milp.add_rows(RowBlock.concat([hi, lo]))


def add_label_used(milp: Milp, model: BuiltModel, k: int) -> np.ndarray:
    """sum_i x[i,l] >= 1 for every label l: all k units are non-empty (matters when lower <= 0)."""
    return milp.add_rows(
        RowBlock.from_coo(model.x_unit, model.x_col, np.ones(len(model.x_col)), np.ones(k), np.full(k, INF))
    )


def build_labeling(
    data: ModelInput,
    adj: Adjacency,
    *,
    lower: float,
    upper: float,
    ordering: Ordering,
    elastic: bool = False,
    cut_form: str = "inside",
    fixing: bool = True,
    fix_upper: float | None = None,
) -> BuiltModel:
    """The labeling model for ``data`` (interchangeable units only) with bounds [lower, upper].

    Fixing uses ``fix_upper`` (default ``upper``; infinite in the elastic phase).
    ``fixing=False`` keeps all ``n * k`` pairs and roots no label (for diagnostics).
    """
    if not data.symmetric:
        raise ValueError("the labeling model needs all nodes as candidates and no assign_cost")
    n, k = data.n, data.k
    if fixing:
        kept = labeling_fixing(adj, data.weights, k, upper if fix_upper is None else fix_upper, ordering)
    else:
        kept = LabelFixing(allowed=np.ones((n, k), dtype=bool), roots=(None,) * k, counts={})
    node, label = np.nonzero(kept.allowed)
    key = label * n + node
    order = np.argsort(key, kind="stable")
    node, label, key = node[order], label[order], key[order]
    milp = Milp()
    x_col = add_assignment_vars(milp, np.zeros(len(node)))
    model = BuiltModel(
        milp=milp, base="labeling", n=n, x_col=x_col, x_node=node.astype(np.int64),
        x_unit=label.astype(np.int64), x_key=key.astype(np.int64), fixed_counts=dict(kept.counts),
        order_position=ordering.position,
    )
    for lab, root in enumerate(kept.roots):
        if root is not None:
            model.roots[lab] = int(root)
            milp.set_bounds(model.col(lab, root)[None], 1.0, 1.0)
    add_assign_once(milp, x_col, model.x_node, n)
    if elastic:
        model.s_col = int(milp.add_vars(1, lower=0.0, upper=INF, cost=1.0, integer=True)[0])
    add_label_weight(milp, model, data.weights, k, lower, upper)
    add_label_used(milp, model, k)
    if not elastic and data.cut_weight > 0 and data.m:
        add_cut_objective(milp, model, data, cut_form)
    add_locks(milp, model, data.same_unit, data.different_unit)
    return model
