"""Exact contiguity: separator cuts from integer plans, cuts seeded up front, and flow models.

Cut-based contiguity (Validi, Buchanan & Lykhovyd 2022): if node ``a`` is in unit ``u`` whose root
is ``b`` (its centre, or a node fixed to the label) and ``C`` is a vertex set separating ``a``
from ``b``, then some node of ``C`` must be in ``u`` too: ``x[a,u] <= sum_{c in C} x[c,u]``.
For an unrooted label the root is unknown, giving ``x[a,l] + x[b,l] <= 1 + sum_{c in C} x[c,l]``.

Separators are searched in the graph of nodes that may join the unit (those with a surviving
``x[., u]``), so they are as small as fixing allows, then shrunk to a minimal *length-U*
separator: a node of ``C`` is dropped when every path from ``a`` to ``b`` through it weighs more
than ``upper``.

Two families are added before the first solve, for units with a known root: *seed* cuts (the
neighbours of a node separate it from the root) and *ring* cuts (the nodes d hops from the root
separate it from everything farther away).  On the county benchmarks the ring cuts cut the
labeling model's time by 3-4x (bench/RESULTS.md).  The flow models (one commodity per centre or
label) make contiguity exact in a single solve instead.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from redistrict.model._built import BuiltModel
from redistrict.model._graph import Adjacency, components
from redistrict.model._milp import INF, RowBlock


@dataclass(frozen=True)
class Cut:
    """One separator inequality for unit ``unit``: node ``a`` needs a node of ``separator``.

    ``rooted`` means ``b`` is known to be in the unit (``x[a,u] <= sum x[c,u]``); otherwise the
    cut is ``x[a,u] + x[b,u] <= 1 + sum x[c,u]``.
    """

    unit: int
    a: int
    b: int
    separator: tuple[int, ...]
    rooted: bool


def find_separator(nbrs: tuple[tuple[int, ...], ...], component: set[int], root: int, allowed: list[bool]) -> list[int]:
    """Minimal vertex separator between ``component`` and ``root`` (Fischetti et al.'s rule).

    The neighbours of the component that the root can reach without passing through another
    neighbour of the component: every one of them is needed, and together they separate.
    """
    boundary = {u for v in component for u in nbrs[v] if u not in component and allowed[u]}
    seen = {root}
    stack = [root]
    while stack:
        v = stack.pop()
        if v in boundary:
            continue
        for u in nbrs[v]:
            if allowed[u] and u not in seen:
                seen.add(u)
                stack.append(u)
    return sorted(boundary & seen)


def _within(
    nbrs: tuple[tuple[int, ...], ...], w: list[int], a: int, b: int, cutoff: float,
    allowed: list[bool], blocked: set[int],
) -> bool:
    """True when some path a..b avoiding ``blocked`` weighs at most ``cutoff`` (both ends in)."""
    dist = {a: w[a]}
    heap = [(w[a], a)]
    while heap:
        d, v = heapq.heappop(heap)
        if v == b:
            return True
        if d > dist.get(v, d):
            continue
        for u in nbrs[v]:
            if not allowed[u] or u in blocked:
                continue
            du = d + w[u]
            if du <= cutoff and du < dist.get(u, du + 1):
                dist[u] = du
                heapq.heappush(heap, (du, u))
    return False


def shrink_separator(
    nbrs: tuple[tuple[int, ...], ...], w: list[int], separator: list[int], a: int, b: int,
    upper: float, allowed: list[bool],
) -> list[int]:
    """Drop nodes of ``separator`` not needed to cut every a..b path of weight <= upper."""
    if not math.isfinite(upper):
        return separator
    blocked = set(separator)
    for c in separator:
        blocked.discard(c)
        if _within(nbrs, w, a, b, upper, allowed, blocked):
            blocked.add(c)
    return sorted(blocked)


def separate(
    adj: Adjacency,
    weights: np.ndarray,
    model: BuiltModel,
    unit_of: np.ndarray,
    upper: float,
) -> list[Cut]:
    """Separator cuts violated by an integer plan (``unit_of[i]`` = unit of node i).

    One cut per component of a unit that does not hold the unit's root, with ``a`` the heaviest
    node of the component (as Validi does).  Returns [] when every unit is connected.
    """
    comp = components(adj, unit_of)
    w = weights.tolist()
    nbrs = adj.neighbours
    cuts: list[Cut] = []
    for u in np.unique(unit_of).tolist():
        members = np.flatnonzero(unit_of == u)
        comp_ids = np.unique(comp[members])
        if len(comp_ids) <= 1:
            continue
        groups = {int(c): members[comp[members] == c].tolist() for c in comp_ids}
        root = model.roots.get(u)
        rooted = root is not None
        if root is None:
            heaviest = max(groups.values(), key=lambda g: (sum(w[v] for v in g), -min(g)))
            root = max(heaviest, key=lambda v: (w[v], -v))
        allowed = [False] * adj.n
        for v in model.unit_members(u).tolist():
            allowed[v] = True
        root_comp = int(comp[root])
        for cid, group in groups.items():
            if cid == root_comp:
                continue
            a = max(group, key=lambda v: (w[v], -v))
            sep = find_separator(nbrs, set(group), root, allowed)
            small = shrink_separator(nbrs, w, sep, a, root, upper, allowed)
            cuts.append(Cut(u, a, root, tuple(small), rooted))
    return cuts


def cut_rows(model: BuiltModel, cuts: list[Cut]) -> RowBlock:
    """The rows of some separator cuts (cuts whose ``x[a,u]`` was fixed to 0 are skipped)."""
    rows, cols, vals, upper = [], [], [], []
    for cut in cuts:
        ca = int(model.col(cut.unit, cut.a))
        if ca < 0:
            continue
        sep = model.col(cut.unit, np.array(cut.separator, dtype=np.int64)) if cut.separator else np.zeros(0, dtype=np.int64)
        sep = sep[sep >= 0]
        r = len(upper)
        entries = [ca]
        coefs = [1.0]
        rhs = 0.0
        if not cut.rooted:
            cb = int(model.col(cut.unit, cut.b))
            if cb < 0:
                continue
            entries.append(cb)
            coefs.append(1.0)
            rhs = 1.0
        entries.extend(sep.tolist())
        coefs.extend([-1.0] * len(sep))
        rows.append(np.full(len(entries), r))
        cols.append(np.array(entries, dtype=np.int64))
        vals.append(np.array(coefs))
        upper.append(rhs)
    if not upper:
        return RowBlock.empty()
    return RowBlock.from_coo(
        np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.full(len(upper), -INF), np.array(upper)
    )


def seed_cuts(adj: Adjacency, model: BuiltModel) -> RowBlock:
    """Neighbourhood cuts x[i,u] <= sum_{c in N(i)} x[c,u] for rooted units, i not next to the root.

    N(i) separates i from the root whenever they are not adjacent; these rule out every isolated
    node at once, which saves the cut loop many rounds.
    """
    if not model.roots:
        return RowBlock.empty()
    root_of = np.full(int(model.x_unit.max()) + 1 if len(model.x_unit) else 0, -1, dtype=np.int64)
    for u, r in model.roots.items():
        root_of[u] = r
    roots = root_of[model.x_unit]
    pick = np.flatnonzero((roots >= 0) & (model.x_node != roots))
    deg = adj.degree()
    i, u, col = model.x_node[pick], model.x_unit[pick], model.x_col[pick]
    rep = np.repeat(np.arange(len(pick)), deg[i])
    starts = adj.indptr[i]
    offs = np.arange(len(rep)) - np.repeat(np.cumsum(deg[i]) - deg[i], deg[i])
    nbr = adj.indices[np.repeat(starts, deg[i]) + offs]
    touches_root = np.zeros(len(pick), dtype=bool)
    touches_root[rep[nbr == roots[pick][rep]]] = True
    ncol = model.col(u[rep], nbr)
    keep = (ncol >= 0) & ~touches_root[rep]
    rows_keep = np.flatnonzero(~touches_root)
    new_row = np.full(len(pick), -1, dtype=np.int64)
    new_row[rows_keep] = np.arange(len(rows_keep))
    row = np.concatenate([new_row[rows_keep], new_row[rep[keep]]])
    cols = np.concatenate([col[rows_keep], ncol[keep]])
    vals = np.concatenate([np.ones(len(rows_keep)), -np.ones(int(keep.sum()))])
    q = len(rows_keep)
    return RowBlock.from_coo(row, cols, vals, np.full(q, -INF), np.zeros(q))


def ring_cuts(
    adj: Adjacency, model: BuiltModel, conditional: dict[int, int] | None = None, max_rows: int = 200_000
) -> RowBlock:
    """Ring cuts around unit roots: x[a,u] <= sum_{c in C} x[c,u] with C the ring of nodes d hops
    from the root (inside the nodes that may join u) that touches a's side of the ring.

    Every path from the root to a node more than d hops away crosses the ring at distance d, so a
    unit must keep a chain of rings around its root.  Up front, this forbids the plans where a
    root is cut off from the rest of its unit, each of which would otherwise cost a round of the
    cut loop.  ``conditional`` maps unrooted units to a node b that may lead them; those get
    x[a,u] + x[b,u] <= 1 + sum_{c in C} x[c,u].  At most ``max_rows`` rows are made.
    """
    nbrs = adj.neighbours
    rows, cols, vals, rhs = [], [], [], []
    centres = [(u, r, True) for u, r in sorted(model.roots.items())]
    centres += [(u, b, False) for u, b in sorted((conditional or {}).items()) if u not in model.roots]
    for u, root, rooted in centres:
        members = model.unit_members(u)
        b_col = int(model.col(u, root))
        if b_col < 0:
            continue
        inside = np.zeros(adj.n, dtype=bool)
        inside[members] = True
        hop = np.full(adj.n, -1, dtype=np.int64)
        hop[root] = 0
        frontier = [root]
        d = 0
        while frontier:
            d += 1
            nxt = []
            for v in frontier:
                for w in nbrs[v]:
                    if inside[w] and hop[w] < 0:
                        hop[w] = d
                        nxt.append(w)
            frontier = nxt
        for ring_d in range(1, int(hop.max())):
            far = np.flatnonzero(hop > ring_d)
            label = np.where(hop > ring_d, 0, -1 - np.arange(adj.n))
            comp = components(adj, label)
            for cid in np.unique(comp[far]).tolist():
                part = far[comp[far] == cid]
                ring = sorted({c for a in part.tolist() for c in nbrs[a] if hop[c] == ring_d})
                c_cols = model.col(u, np.array(ring, dtype=np.int64))
                c_cols = c_cols[c_cols >= 0]
                a_cols = model.col(u, part)
                for ac in a_cols[a_cols >= 0].tolist():
                    if len(rhs) >= max_rows:
                        break
                    r = len(rhs)
                    head = [ac] if rooted else [ac, b_col]
                    rows.append(np.full(len(head) + len(c_cols), r))
                    cols.append(np.concatenate([head, c_cols]))
                    vals.append(np.concatenate([np.ones(len(head)), -np.ones(len(c_cols))]))
                    rhs.append(0.0 if rooted else 1.0)
    if not rhs:
        return RowBlock.empty()
    return RowBlock.from_coo(
        np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.full(len(rhs), -INF), np.array(rhs)
    )


def _add_flow_rows(rows, cols, vals, lo, up, nrow: int, f: np.ndarray, head: np.ndarray, tail: np.ndarray, xc: np.ndarray, big_m: float) -> None:
    """Append one unit's flow rows (q = len(xc) nodes, arcs with flow columns ``f``).

    Rows nrow..nrow+q-1, balance: inflow - outflow - x = 0; rows nrow+q..nrow+2q-1, capacity:
    inflow - M x <= 0.  ``head``/``tail`` give each arc's row index (-1 for the root).
    """
    q = len(xc)
    out = tail >= 0
    rows += [nrow + head, nrow + tail[out], nrow + np.arange(q)]
    cols += [f, f[out], xc]
    vals += [np.ones(len(f)), -np.ones(int(out.sum())), -np.ones(q)]
    lo.append(np.zeros(q))
    up.append(np.zeros(q))
    rows += [nrow + q + head, nrow + q + np.arange(q)]
    cols += [f, xc]
    vals += [np.ones(len(f)), np.full(q, -big_m)]
    lo.append(np.full(q, -INF))
    up.append(np.zeros(q))


def max_unit_size(weights: np.ndarray, upper: float) -> int:
    """The most nodes a unit of weight <= upper can hold (lightest nodes first)."""
    if not math.isfinite(upper):
        return len(weights)
    csum = np.cumsum(np.sort(weights))
    return int(np.searchsorted(csum, upper, side="right"))


def add_label_flow(
    model: BuiltModel, adj: Adjacency, weights: np.ndarray, upper: float, *, rooted_only: bool = False
) -> np.ndarray:
    """Flow contiguity for the labeling base, one commodity per label (Validi's "shir").

    A rooted label sends flow from its root; an unrooted one gets root variables
    r[i,l] (sum_i r[i,l] = 1, r[i,l] <= x[i,l]) and flow generation g[i,l] <= (M+1) r[i,l].
    Balance: inflow - outflow + g[i,l] = x[i,l]; capacity: inflow <= M (x[i,l] - r[i,l]).
    ``rooted_only`` adds flows for rooted labels only (unrooted ones are left to cuts).
    Returns the new columns.
    """
    milp = model.milp
    big_m = float(max(max_unit_size(weights, upper) - 1, 1))
    src = np.concatenate([adj.edges[:, 0], adj.edges[:, 1]])
    dst = np.concatenate([adj.edges[:, 1], adj.edges[:, 0]])
    new_cols, rows, cols, vals, lo, up = [], [], [], [], [], []
    nrow = 0
    for lab in np.unique(model.x_unit).tolist():
        root = model.roots.get(lab)
        if root is None and rooted_only:
            continue
        members = model.unit_members(lab)
        cs, cd = model.col(lab, src), model.col(lab, dst)
        ok = (cs >= 0) & (cd >= 0)
        if root is not None:
            ok &= dst != root
        arcs = np.flatnonzero(ok)
        f = milp.add_vars(len(arcs), lower=0.0, upper=big_m, integer=False)
        new_cols.append(f)
        row_of = np.full(adj.n, -1, dtype=np.int64)
        body = members if root is None else members[members != root]
        q = len(body)
        row_of[body] = np.arange(q)
        xc = model.col(lab, body)
        # balance rows nrow..nrow+q-1 (+ g below), capacity rows nrow+q..nrow+2q-1 (+ M r below)
        _add_flow_rows(rows, cols, vals, lo, up, nrow, f, row_of[dst[arcs]], row_of[src[arcs]], xc, float(big_m))
        extra = 0
        if root is None:
            r = milp.add_vars(q)
            g = milp.add_vars(q, lower=0.0, upper=big_m + 1, integer=False)
            new_cols += [r, g]
            ar = np.arange(q)
            rows += [nrow + ar, nrow + q + ar]
            cols += [g, r]
            vals += [np.ones(q), np.full(q, big_m)]
            base = nrow + 2 * q
            # g <= (M+1) r ; r <= x ; sum r = 1
            rows += [base + ar, base + ar, base + q + ar, base + q + ar, np.full(q, base + 2 * q)]
            cols += [g, r, r, xc, r]
            vals += [np.ones(q), np.full(q, -(big_m + 1)), np.ones(q), -np.ones(q), np.ones(q)]
            lo += [np.full(q, -INF), np.full(q, -INF), np.ones(1)]
            up += [np.zeros(q), np.zeros(q), np.ones(1)]
            extra = 2 * q + 1
        nrow += 2 * q + extra
    if nrow:
        milp.add_rows(
            RowBlock.from_coo(
                np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.concatenate(lo), np.concatenate(up)
            )
        )
    return np.concatenate(new_cols) if new_cols else np.zeros(0, dtype=np.int64)


def add_flow(model: BuiltModel, adj: Adjacency, weights: np.ndarray, upper: float) -> np.ndarray:
    """Shirabe-style flow for the Hess base, one commodity per centre j, on surviving pairs only.

    f[j,u,v] >= 0 on arcs inside the nodes that may join j, none entering j;
    sum_u f[j,u,i] - sum_u f[j,i,u] = x[i,j] for i != j (each member consumes one unit of flow);
    sum_u f[j,u,i] <= M x[i,j] (flow passes only through members), M = largest unit size - 1.
    Returns the flow columns.
    """
    milp = model.milp
    big_m = max(max_unit_size(weights, upper) - 1, 1)
    src = np.concatenate([adj.edges[:, 0], adj.edges[:, 1]])
    dst = np.concatenate([adj.edges[:, 1], adj.edges[:, 0]])
    f_cols, rows, cols, vals, lo, up = [], [], [], [], [], []
    nrow = 0
    for j in np.unique(model.x_unit).tolist():
        cs, cd = model.col(j, src), model.col(j, dst)
        arcs = np.flatnonzero((cs >= 0) & (cd >= 0) & (dst != j))
        members = model.unit_members(j)
        members = members[members != j]
        if len(members) == 0:
            continue
        f = milp.add_vars(len(arcs), lower=0.0, upper=float(big_m), integer=False)
        f_cols.append(f)
        row_of = np.full(adj.n, -1, dtype=np.int64)
        row_of[members] = np.arange(len(members))
        xc = model.col(j, members)
        q = len(members)
        _add_flow_rows(rows, cols, vals, lo, up, nrow, f, row_of[dst[arcs]], row_of[src[arcs]], xc, float(big_m))
        nrow += 2 * q
    if nrow:
        milp.add_rows(
            RowBlock.from_coo(
                np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.concatenate(lo), np.concatenate(up)
            )
        )
    return np.concatenate(f_cols) if f_cols else np.zeros(0, dtype=np.int64)
