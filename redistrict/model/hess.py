"""Hess assignment model: ``x[i, j] = 1`` when node ``i`` is in the unit centred at node ``j``.

One ``add_*`` function per constraint family; each takes explicit arrays, appends one vectorised
row block to the :class:`Milp` and returns the new row (or column) indices.  ``build_hess`` wires
them together for a :class:`ModelInput` after variable fixing.
"""

from __future__ import annotations

import numpy as np

from redistrict.model._built import BuiltModel
from redistrict.model._graph import Adjacency
from redistrict.model._milp import INF, Milp, RowBlock
from redistrict.model.data import ModelInput
from redistrict.model.fixing import HessFixing, Ordering, hess_fixing


def add_assignment_vars(milp: Milp, cost: np.ndarray) -> np.ndarray:
    """Binary ``x[i, j]`` for each surviving pair, with objective coefficient ``cost``."""
    return milp.add_vars(len(cost), cost=cost)


def add_assign_once(milp: Milp, x_col: np.ndarray, x_node: np.ndarray, n: int) -> np.ndarray:
    """sum_j x[i, j] = 1 for every node i: each node lies in exactly one unit."""
    ones = np.ones(n)
    return milp.add_rows(RowBlock.from_coo(x_node, x_col, np.ones(len(x_col)), ones, ones))


def add_centre_count(milp: Milp, diag_col: np.ndarray, k: int) -> np.ndarray:
    """sum_j x[j, j] = k: exactly k centres are opened."""
    zeros = np.zeros(len(diag_col), dtype=np.int64)
    return milp.add_rows(RowBlock.from_coo(zeros, diag_col, np.ones(len(diag_col)), [k], [k]))


def add_coupling(milp: Milp, x_col: np.ndarray, pair_diag: np.ndarray) -> np.ndarray:
    """x[i, j] - x[j, j] <= 0 for i != j: nodes join only opened centres."""
    off = x_col != pair_diag
    cols, diag = x_col[off], pair_diag[off]
    r = np.arange(len(cols))
    row = np.concatenate([r, r])
    col = np.concatenate([cols, diag])
    val = np.concatenate([np.ones(len(cols)), -np.ones(len(cols))])
    return milp.add_rows(RowBlock.from_coo(row, col, val, np.full(len(cols), -INF), np.zeros(len(cols))))


def add_unit_weight(
    milp: Milp,
    x_col: np.ndarray,
    x_unit_row: np.ndarray,
    x_weight: np.ndarray,
    diag_col: np.ndarray,
    lower: float,
    upper: float,
    s_col: int | None = None,
) -> np.ndarray:
    """lower*x[j,j] - s <= sum_i p_i x[i,j] <= upper*x[j,j] + s for every centre j (s = 0 unless elastic).

    ``x_unit_row[t]`` is the row (0..len(diag_col)-1) of pair ``t``'s centre.
    """
    q = len(diag_col)
    r = np.arange(q)
    rows = []
    for bound, sign in ((upper, -1.0), (lower, 1.0)):
        row = [x_unit_row, r]
        col = [x_col, diag_col]
        val = [x_weight.astype(float), np.full(q, -float(bound))]
        if s_col is not None:
            row.append(r)
            col.append(np.full(q, s_col))
            val.append(np.full(q, sign))
        lo, up = (np.full(q, -INF), np.zeros(q)) if sign < 0 else (np.zeros(q), np.full(q, INF))
        rows.append(RowBlock.from_coo(np.concatenate(row), np.concatenate(col), np.concatenate(val), lo, up))
    return milp.add_rows(RowBlock.concat(rows))


def add_cut_edge_inside(
    milp: Milp, model: BuiltModel, edges: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """w[e,u] <= x[a,u], w[e,u] <= x[b,u] for edge e = {a, b}: w says e lies inside unit u.

    The cut-edge indicator is y_e = 1 - sum_u w[e,u], so the objective gets ``-cost_e * w[e,u]``
    plus the constant ``sum_e cost_e``.  Given binary x this equals y_e >= |x[a,u] - x[b,u]|,
    and its LP relaxation is stronger (it is Validi's "extended" objective); w exists only where
    both ends may join u, so fixing shrinks it too.  Returns (w columns, edge index, unit).
    """
    units = np.unique(model.x_unit)
    e_idx, u_idx, ca, cb = [], [], [], []
    for u in units.tolist():
        ca_u = model.col(u, edges[:, 0])
        cb_u = model.col(u, edges[:, 1])
        both = np.flatnonzero((ca_u >= 0) & (cb_u >= 0))
        e_idx.append(both)
        u_idx.append(np.full(len(both), u, dtype=np.int64))
        ca.append(ca_u[both])
        cb.append(cb_u[both])
    e_all = np.concatenate(e_idx) if e_idx else np.zeros(0, dtype=np.int64)
    u_all = np.concatenate(u_idx) if u_idx else np.zeros(0, dtype=np.int64)
    w = milp.add_vars(len(e_all), cost=-cost[e_all], integer=False)
    milp.offset += float(cost.sum())
    t = len(w)
    r = np.arange(t)
    row = np.concatenate([r, r, r + t, r + t])
    col = np.concatenate([w, np.concatenate(ca) if ca else w, w, np.concatenate(cb) if cb else w])
    val = np.concatenate([np.ones(t), -np.ones(t), np.ones(t), -np.ones(t)])
    milp.add_rows(RowBlock.from_coo(row, col, val, np.full(2 * t, -INF), np.zeros(2 * t)))
    return w, e_all, u_all


def add_cut_edge_y(milp: Milp, model: BuiltModel, edges: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """y_e >= x[a,u] - x[b,u] and y_e >= x[b,u] - x[a,u] for each edge e = {a, b} and unit u.

    The textbook form; weaker in the LP than :func:`add_cut_edge_inside`, kept for comparison.
    """
    y = milp.add_vars(len(edges), cost=cost, integer=False)
    rows, cols, vals = [], [], []
    nrow = 0
    for u in np.unique(model.x_unit).tolist():
        ca = model.col(u, edges[:, 0])
        cb = model.col(u, edges[:, 1])
        any_ = np.flatnonzero((ca >= 0) | (cb >= 0))
        for sa, sb in ((1.0, -1.0), (-1.0, 1.0)):
            r = nrow + np.arange(len(any_))
            nrow += len(any_)
            has_a, has_b = ca[any_] >= 0, cb[any_] >= 0
            rows += [r, r[has_a], r[has_b]]
            cols += [y[any_], ca[any_][has_a], cb[any_][has_b]]
            vals += [-np.ones(len(any_)), np.full(has_a.sum(), sa), np.full(has_b.sum(), sb)]
    if nrow:
        milp.add_rows(
            RowBlock.from_coo(
                np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.full(nrow, -INF), np.zeros(nrow)
            )
        )
    return y


def add_cut_objective(milp: Milp, model: BuiltModel, data: ModelInput, cut_form: str) -> None:
    """The cut-edge term, cut_weight · Σ edge_cost · [edge cut], in the "y" or "edge inside" form."""
    cost_e = data.cut_weight * data.edge_cost
    if cut_form == "y":
        model.y_col = add_cut_edge_y(milp, model, data.edges, cost_e)
        model.y_edge = data.edges
    else:
        model.w_col, e_idx, model.w_unit = add_cut_edge_inside(milp, model, data.edges, cost_e)
        model.w_edge = data.edges[e_idx]


def add_locks(
    milp: Milp, model: BuiltModel, same_unit: tuple[tuple[int, int], ...], different_unit: tuple[tuple[int, int], ...]
) -> np.ndarray:
    """x[a,u] = x[b,u] for same-unit pairs; x[a,u] + x[b,u] <= 1 for different-unit pairs (all u)."""
    rows, cols, vals, lo, up = [], [], [], [], []
    nrow = 0
    units = np.unique(model.x_unit)
    for pairs, same in ((same_unit, True), (different_unit, False)):
        for a, b in pairs:
            if a == b:
                continue
            ca, cb = model.col(units, a), model.col(units, b)
            keep = (ca >= 0) | (cb >= 0)
            ca, cb = ca[keep], cb[keep]
            r = nrow + np.arange(len(ca))
            nrow += len(ca)
            rows += [r[ca >= 0], r[cb >= 0]]
            cols += [ca[ca >= 0], cb[cb >= 0]]
            vals += [np.ones((ca >= 0).sum()), np.full((cb >= 0).sum(), -1.0 if same else 1.0)]
            lo.append(np.zeros(len(ca)) if same else np.full(len(ca), -INF))
            up.append(np.zeros(len(ca)) if same else np.ones(len(ca)))
    if not nrow:
        return np.zeros(0, dtype=np.int64)
    return milp.add_rows(
        RowBlock.from_coo(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.concatenate(lo), np.concatenate(up))
    )


def add_group_counts(
    milp: Milp, diag_col: np.ndarray, diag_group: np.ndarray, counts: tuple[int | None, ...]
) -> np.ndarray:
    """sum_{j in g} x[j, j] = counts[g] for every group g with a count: g holds that many centres.

    ``diag_group[t]`` is the group of the centre behind ``diag_col[t]`` (−1: none).  Groups whose
    count is None, and ungrouped centres, share what the centre count row leaves.
    """
    fixed = np.array([c is not None for c in counts] + [False])  # the last entry: group −1
    row_of = np.cumsum(fixed) - 1
    take = fixed[diag_group]
    rhs = np.array([c for c in counts if c is not None], dtype=float)
    return milp.add_rows(RowBlock.from_coo(row_of[diag_group[take]], diag_col[take], np.ones(int(take.sum())), rhs, rhs))


def assignment_costs(data: ModelInput, node: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The caller's assign_cost for each (node, centre) pair, or zeros when there is none."""
    ac = data.assign_cost
    if ac is None:
        return np.zeros(len(node))
    if callable(ac):
        out = np.asarray(ac(node, centre), dtype=np.float64)
        if out.shape != node.shape or not np.isfinite(out).all():
            raise ValueError("assign_cost callable must return one finite cost per (node, centre) pair")
        return out
    cand_pos = np.full(data.n, -1, dtype=np.int64)
    cand_pos[data.candidates] = np.arange(len(data.candidates))
    return ac[node, cand_pos[centre]]


def build_hess(
    data: ModelInput,
    adj: Adjacency,
    *,
    lower: float,
    upper: float,
    ordering: Ordering | None,
    elastic: bool = False,
    cut_form: str = "inside",
    fixing: HessFixing | None = None,
) -> BuiltModel:
    """The Hess model for ``data`` with bounds [lower, upper] on the surviving pairs.

    ``elastic`` builds relax-mode phase 1: minimise the largest violation ``s`` only, with no
    bound-based fixing.  ``ordering`` (None when units are not interchangeable) drives the
    symmetry fixing.
    """
    if fixing is None:
        fixing = hess_fixing(adj, data.weights, data.candidates, lower, upper, ordering, data.k)
    node, centre = fixing.node, fixing.centre
    n = data.n
    milp = Milp()
    cost = np.zeros(len(node)) if elastic else assignment_costs(data, node, centre)
    x_col = add_assignment_vars(milp, cost)
    model = BuiltModel(
        milp=milp, base="hess", n=n, x_col=x_col, x_node=node, x_unit=centre, x_key=centre * n + node,
        fixed_counts=dict(fixing.counts),
        order_position=None if ordering is None else ordering.position,
    )
    centres = np.unique(centre)
    model.roots = {int(c): int(c) for c in centres}
    diag_col = model.col(centres, centres)
    pair_diag = diag_col[np.searchsorted(centres, centre)]
    add_assign_once(milp, x_col, node, n)
    add_centre_count(milp, diag_col, data.k)
    add_coupling(milp, x_col, pair_diag)
    if elastic:
        model.s_col = int(milp.add_vars(1, lower=0.0, upper=INF, cost=1.0, integer=True)[0])
    add_unit_weight(
        milp, x_col, np.searchsorted(centres, centre), data.weights[node], diag_col, lower, upper, model.s_col
    )
    if not elastic and data.cut_weight > 0 and data.m:
        add_cut_objective(milp, model, data, cut_form)
    add_locks(milp, model, data.same_unit, data.different_unit)
    if data.group_counts is not None:
        add_group_counts(milp, diag_col, data.groups[centres], data.group_counts)
    return model
