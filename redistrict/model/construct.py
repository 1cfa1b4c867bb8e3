"""A valid plan fast, on any size: recursive bipartition on random spanning trees.

Cutting one edge of a spanning tree splits a connected node set into two connected sets, so a
plan built only from such cuts is contiguous by construction.  The construction recursively
splits the set of ``k`` units:

1. draw a random spanning tree of the set (a minimum spanning tree under random edge weights,
   ``scipy.sparse.csgraph``) and root it;
2. every tree edge cuts off a subtree of weight ``s``; it is a *valid* cut into ``k₁`` and
   ``k − k₁`` units when both sides fit by count,
   ``k₁·L ≤ s ≤ k₁·U`` and ``(k − k₁)·L ≤ W − s ≤ (k − k₁)·U``,
   each side holds enough candidate centres (one distinct candidate per unit) and no
   pair of ``ModelInput.together`` (locks, forced groups) is separated; these are the asymmetric bounds GerryChain's ±ε does not
   express;
3. among valid cuts take the one with the most room (the smaller per-unit slack of the two
   sides, largest) among the most balanced ``k₁``, and recurse on both sides; a set of one
   unit must fit ``[L, U]`` and hold no ``different_unit`` pair.

A split that finds no valid cut draws another tree (bounded attempts); a whole construction
that fails restarts with the next seed until the deadline.  It proves nothing about
infeasibility: when it gives up, the caller says so and may still try the exact model.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

from . import enumeration
from .data import ModelInput, restrict

#: trees drawn for one split before the construction restarts
TREES_PER_SPLIT = 40
#: whole constructions tried (each with its own seed) when there is no deadline; with one,
#: restarts go on until it (at most :data:`MAX_RESTARTS`)
RESTARTS = 10
MAX_RESTARTS = 1000
#: times a set is cut again when one of its sides could not be split (backtracking)
RETRIES_PER_LEVEL = 3
#: a set of at most this many units and nodes that no tree cuts is searched exhaustively for at
#: most this long (city10000 without subdistricts: 118 of the 140 two-unit sets the trees could
#: not cut have no plan, proved in ~1 ms each, the other 22 have one the trees missed)
LEAF_SEARCH_UNITS, LEAF_SEARCH_NODES, LEAF_SEARCH_SECONDS = 3, 60, 0.05
#: trees drawn for each of the few top cuts into regions (:func:`regions`), the roomiest cut kept
REGION_TREES = 20
#: sets of at most this many nodes get a local search for a one-unit cut when trees find none
TUNE_MAX_NODES = 80
#: boundary moves of that local search, and how long a moved node may not move back
TUNE_MOVES = 150
TUNE_TABU = 4


class _Pieces:
    """The fixed arrays of one construction: adjacency, weights, candidates and lock pairs."""

    def __init__(self, data: ModelInput, slack: int = 0, search_leaves: bool = True) -> None:
        self.n = data.n
        #: whether a small set no tree cuts is searched exhaustively (:func:`_leaf_units`)
        self.search_leaves = search_leaves
        e = np.asarray(data.edges, dtype=np.int64)
        self.edges = e
        both = np.concatenate([e, e[:, ::-1]]) if len(e) else np.zeros((0, 2), dtype=np.int64)
        self.adj = csr_matrix((np.ones(len(both)), (both[:, 0], both[:, 1])), shape=(self.n, self.n))
        self.weights = np.asarray(data.weights, dtype=np.int64)
        self.is_candidate = np.zeros(self.n, dtype=np.int64)
        self.is_candidate[np.asarray(data.candidates)] = 1
        self.same = np.array(data.together, dtype=np.int64).reshape(-1, 2)
        self.different = np.array(data.different_unit, dtype=np.int64).reshape(-1, 2)
        self.lower, self.upper = int(data.lower), int(data.upper)
        self.data = data
        #: the same arrays with the bounds widened by ``slack``: used only where no cut or unit
        #: fits the true bounds (the cut nearest them, :class:`_Nearest`), so the plan leaves
        #: them at a few spots (mended afterwards)
        self.soft: _Pieces | None = None
        if slack > 0:
            self.soft = copy.copy(self)
            self.soft.lower, self.soft.upper = max(0, self.lower - slack), self.upper + slack


def _local_edges(p: _Pieces, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The edges among ``nodes`` as local index pairs (row < col), taken once for all the trees
    of a set: slicing the adjacency was 40 % of a tree's time (91 blocks: 0.14 of 0.36 ms)."""
    sub = p.adj[nodes][:, nodes].tocoo()
    keep = sub.row < sub.col
    return sub.row[keep], sub.col[keep]


def _random_tree(edges: tuple[np.ndarray, np.ndarray], size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """BFS order and parent (local indices, -1 at the root) of a random spanning tree of a set of
    ``size`` nodes with these local ``edges`` (:func:`_local_edges`)."""
    rows, cols = edges
    weights = rng.random(len(rows)) + 1e-9
    tree = minimum_spanning_tree(coo_matrix((weights, (rows, cols)), shape=(size, size)))
    root = int(rng.integers(size))
    order, parent = breadth_first_order(tree, root, directed=False, return_predecessors=True)
    parent = np.where(parent < 0, -1, parent)
    return order, parent


def _tree_with_sums(p: _Pieces, nodes: np.ndarray, edges: tuple[np.ndarray, np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, ...] | None:
    """A random spanning tree of ``nodes`` as (order, parent, households and candidate centres in
    each subtree), or None when the set is not connected."""
    order, parent = _random_tree(edges, len(nodes), rng)
    if len(order) != len(nodes):
        return None
    return order, parent, _subtree_sums(order, parent, p.weights[nodes]), _subtree_sums(order, parent, p.is_candidate[nodes])


def _subtree_sums(order: np.ndarray, parent: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each node's subtree (nodes in BFS ``order``, children after parents)."""
    sums = values.astype(np.int64).copy()
    par = parent.tolist()
    for v in order[::-1].tolist():
        u = par[v]
        if u >= 0:
            sums[u] += sums[v]
    return sums


def _side_counts(s: np.ndarray, total: int, k: int, lower: int, upper: int) -> tuple[np.ndarray, np.ndarray]:
    """For each cut weight ``s``, the k₁ that fits both sides by count with the most room
    (0: none fits), and that room: the smaller per-unit slack of the two sides.

    k₁ fits when ``k₁·L ≤ s ≤ k₁·U`` and ``(k − k₁)·L ≤ W − s ≤ (k − k₁)·U``, i.e. k₁ lies in
    ``[max(⌈s/U⌉, k − ⌊(W−s)/L⌋, 1), min(⌊s/L⌋, k − ⌈(W−s)/U⌉, k − 1)]``.  The room is the
    least of four terms each monotone in k₁, so it rises then falls, and its peak lies where a
    rising term meets a falling one: at ``s / ((L+U)/2)``, ``k − (W−s) / ((L+U)/2)`` or — where the
    units average near a bound, as in a tight layer — ``k·s/W`` (both sides equally full).  The
    integers next to those and the range ends are tried.  O(n), whatever k is.
    """
    s = s.astype(np.float64)
    rest = total - s
    inf = np.full_like(s, float(k))
    lo = np.maximum.reduce([np.ceil(s / upper), k - (np.floor(rest / lower) if lower > 0 else inf), np.ones_like(s)])
    hi = np.minimum.reduce([np.floor(s / lower) if lower > 0 else inf, k - np.ceil(rest / upper), np.full_like(s, k - 1.0)])
    ok = lo <= hi
    best_k1 = np.zeros(len(s), dtype=np.int64)
    best_room = np.full(len(s), -np.inf)
    middle = (lower + upper) / 2
    peaks = (s / middle, k - rest / middle, k * s / max(total, 1))
    for option in [f(x) for x in peaks for f in (np.floor, np.ceil)] + [lo, hi]:
        k1 = np.clip(option, lo, np.maximum(lo, hi))
        k2 = np.maximum(k - k1, 1)
        safe = np.maximum(k1, 1)
        room = np.minimum(np.minimum(s / safe - lower, upper - s / safe), np.minimum(rest / k2 - lower, upper - rest / k2))
        better = ok & (room > best_room)
        best_k1[better], best_room[better] = k1[better].astype(np.int64), room[better]
    return best_k1, best_room


def _separates(p: _Pieces, nodes: np.ndarray, inside: np.ndarray) -> bool:
    """True when the cut with ``inside`` (mask over ``nodes``) splits a pair that must share a unit (``ModelInput.together``)."""
    if not len(p.same):
        return False
    side = np.full(p.n, -1, dtype=np.int64)
    side[nodes] = inside.astype(np.int64)
    a, b = side[p.same[:, 0]], side[p.same[:, 1]]
    return bool(((a >= 0) & (b >= 0) & (a != b)).any())


def _fits_one(p: _Pieces, nodes: np.ndarray) -> bool:
    """A set is one valid unit: weight in bounds, a candidate centre, no different_unit pair."""
    w = int(p.weights[nodes].sum())
    if not (p.lower <= w <= p.upper) or not p.is_candidate[nodes].any():
        return False
    if len(p.different):
        member = np.zeros(p.n, dtype=bool)
        member[nodes] = True
        if (member[p.different[:, 0]] & member[p.different[:, 1]]).any():
            return False
    return True


def _split(p: _Pieces, nodes: np.ndarray, k: int, rng: np.random.Generator, deadline: float | None) -> tuple[np.ndarray, int] | None:
    """A valid cut of ``nodes`` into (mask of one side, its unit count), or None after the
    attempts: random trees, then the local search on small sets.  With a slack, where no cut
    fits the true bounds, the cut that leaves them by the fewest households (:class:`_Nearest`)."""
    total = int(p.weights[nodes].sum())
    nearest = _Nearest(p, nodes, k, total) if p.soft is not None else None
    edges = _local_edges(p, nodes)
    for _ in range(TREES_PER_SPLIT):
        if deadline is not None and time.perf_counter() > deadline:
            return None
        tree = _tree_with_sums(p, nodes, edges, rng)
        if tree is None:
            return None  # the set is not connected: no tree spans it
        order, parent, sums, cands = tree
        cut = _tree_cut(p, nodes, k, total, order, parent, sums, cands)
        if cut is not None:
            return cut[:2]
        if nearest is not None:
            nearest.consider(order, parent, sums, cands)
    cut = _tuned_cut(p, nodes, k, rng) if len(nodes) <= TUNE_MAX_NODES else None
    return cut if cut is not None or nearest is None else nearest.cut


def _tree_cut(p: _Pieces, nodes: np.ndarray, k: int, total: int, order, parent, sums, cands) -> tuple[np.ndarray, int, float] | None:
    """The roomiest valid cut of one tree among the reasonably balanced ones (a quarter of the
    units or more on each side keeps the recursion shallow; room first keeps both sides'
    averages central) as (mask of one side, its unit count, the room), or None."""
    k1, room = _side_counts(sums, total, k, p.lower, p.upper)
    k1[~_centres_fit(p, nodes, k, parent, cands, k1)] = 0
    valid = np.flatnonzero(k1 > 0)
    balanced = np.minimum(k1[valid], k - k1[valid]) >= max(1, k // 4)
    for v in valid[np.lexsort((-room[valid], ~balanced))][:8].tolist():
        inside = _in_subtree(order, parent, v)
        if not _separates(p, nodes, inside):
            return inside, int(k1[v]), float(room[v])
    return None


def _centres_fit(p: _Pieces, nodes: np.ndarray, k: int, parent: np.ndarray, cands: np.ndarray, k1: np.ndarray) -> np.ndarray:
    """Per tree node, whether cutting above it is a cut at all (not the root) and leaves both
    sides as many candidate centres as units (``cands``: candidates in each subtree)."""
    return (parent >= 0) & (cands >= k1) & (int(p.is_candidate[nodes].sum()) - cands >= k - k1)


class _Nearest:
    """The cut seen so far, over the trees of one split, that leaves the true bounds by the
    fewest households (:func:`_least_excess`) while each side fits the widened ones
    (``p.soft``) — taken only when no tree has a cut within the true bounds.  The nearest of
    all trees, not the first tree's: the first cut within the widened bounds may leave the true
    ones by hundreds of households where another tree's leaves them by a few."""

    def __init__(self, p: _Pieces, nodes: np.ndarray, k: int, total: int) -> None:
        self.p, self.nodes, self.k, self.total = p, nodes, k, total
        self.excess = np.iinfo(np.int64).max
        self.cut: tuple[np.ndarray, int] | None = None

    def consider(self, order, parent, sums, cands) -> None:
        p, k, soft = self.p, self.k, self.p.soft
        k1, excess = _least_excess(sums, self.total, k, p.lower, p.upper)
        k2, rest = k - k1, self.total - sums
        fits = (k1 * soft.lower <= sums) & (sums <= k1 * soft.upper) & (k2 * soft.lower <= rest) & (rest <= k2 * soft.upper)
        fits &= _centres_fit(p, self.nodes, k, parent, cands, k1) & (excess < self.excess)
        for v in np.flatnonzero(fits)[np.argsort(excess[fits], kind="stable")][:8].tolist():
            inside = _in_subtree(order, parent, v)
            if not _separates(p, self.nodes, inside):
                self.excess, self.cut = int(excess[v]), (inside, int(k1[v]))
                return


def _least_excess(s: np.ndarray, total: int, k: int, lower: int, upper: int) -> tuple[np.ndarray, np.ndarray]:
    """For each cut weight ``s``, the k₁ (1..k−1) whose sides leave ``[k₁·L, k₁·U]`` and
    ``[(k−k₁)·L, (k−k₁)·U]`` by the fewest households in all, and that excess (0: k₁ fits).
    The excess is a sum of convex piecewise-linear functions of k₁ with breaks at s/U, s/L,
    k − (W−s)/U and k − (W−s)/L: the best k₁ is an integer next to one of them."""
    s = s.astype(np.int64)
    rest = total - s
    zero = np.zeros_like(s)
    best_k1, best = np.ones(len(s), dtype=np.int64), np.full(len(s), np.iinfo(np.int64).max)
    breaks = [s / max(upper, 1), k - rest / max(upper, 1)] + ([s / lower, k - rest / lower] if lower > 0 else [])
    for option in [f(b).astype(np.int64) for b in breaks for f in (np.floor, np.ceil)]:
        k1 = np.clip(option, 1, k - 1)
        k2 = k - k1
        excess = np.maximum.reduce([s - k1 * upper, k1 * lower - s, zero]) + np.maximum.reduce([rest - k2 * upper, k2 * lower - rest, zero])
        better = excess < best
        best_k1[better], best[better] = k1[better], excess[better]
    return best_k1, best


def _unit_window(total: int, k: int, lower: int, upper: int) -> tuple[int, int]:
    """Households one unit cut off a set of ``total`` in ``k`` units may hold: within the bounds,
    leaving the other ``k − 1`` units between their bounds too."""
    return max(lower, total - (k - 1) * upper), min(upper, total - (k - 1) * lower)


def _tuned_cut(p: _Pieces, nodes: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, int] | None:
    """One unit cut off a small set by local search, where random trees found no valid cut.

    Near the leaves of a tight plan the window for a unit is a few dozen households wide and few
    tree cuts land in it.  Start from the tree cut nearest the window and move single boundary
    nodes across (each side stays connected; a node of a same-unit pair stays put), taking the
    move that brings the unit's households nearest the window, with a short tabu list against
    cycling.  Bounded by :data:`TUNE_MOVES`; the result passes the same checks as a tree cut.
    """
    lo, hi = _unit_window(int(p.weights[nodes].sum()), k, p.lower, p.upper)
    if lo > hi:
        return None
    local = {int(v): i for i, v in enumerate(nodes.tolist())}
    indptr, indices = p.adj.indptr, p.adj.indices
    nbrs = [[local[u] for u in indices[indptr[v] : indptr[v + 1]].tolist() if u in local] for v in nodes.tolist()]
    weight = p.weights[nodes].tolist()
    pinned = set(local[v] for v in p.same.ravel().tolist() if v in local)
    order, parent = _random_tree(_local_edges(p, nodes), len(nodes), rng)
    sums = _subtree_sums(order, parent, p.weights[nodes])
    gap = np.maximum(lo - sums, sums - hi)
    gap[parent < 0] = np.iinfo(np.int64).max
    nearest = int(np.argmin(gap))
    inside = _in_subtree(order, parent, nearest)
    if _separates(p, nodes, inside):
        return None  # pinned nodes never move, so the search could not mend it
    unit = set(np.flatnonzero(inside).tolist())
    held = int(sums[nearest])
    tabu: dict[int, int] = {}
    for step in range(TUNE_MOVES):
        if lo <= held <= hi and _cut_checks(p, nodes, unit, k):
            mask = np.zeros(len(nodes), dtype=bool)
            mask[list(unit)] = True
            return mask, 1
        move = _best_move(unit, nbrs, weight, held, lo, hi, pinned, tabu, step, rng)
        if move is None:
            return None
        v, joins = move
        unit.add(v) if joins else unit.discard(v)
        held += weight[v] if joins else -weight[v]
        tabu[v] = step + TUNE_TABU
    return None


def _best_move(unit: set, nbrs: list, weight: list, held: int, lo: int, hi: int, pinned: set, tabu: dict, step: int, rng) -> tuple[int, bool] | None:
    """The boundary move (node, joins the unit?) that brings the unit's households nearest
    ``[lo, hi]`` while both sides stay connected; ties broken at random."""
    n = len(nbrs)
    best, best_gap = [], None
    for v in range(n):
        if v in pinned or tabu.get(v, -1) > step:
            continue
        joins = v not in unit
        if not any((u in unit) == joins for u in nbrs[v]):
            continue  # not on the border: the move would cut v off its new side
        new = held + weight[v] if joins else held - weight[v]
        gap = max(lo - new, new - hi, 0)
        if best_gap is not None and gap > best_gap:
            continue
        side = (set(range(n)) - unit) if joins else unit
        if not _connected_without(side, v, nbrs):
            continue
        if best_gap is None or gap < best_gap:
            best, best_gap = [], gap
        best.append((v, joins))
    return best[int(rng.integers(len(best)))] if best else None


def _connected_without(side: set, v: int, nbrs: list) -> bool:
    """``side`` minus ``v`` is non-empty and connected."""
    rest = side - {v}
    if not rest:
        return False
    start = next(iter(rest))
    seen, stack = {start}, [start]
    while stack:
        for u in nbrs[stack.pop()]:
            if u in rest and u not in seen:
                seen.add(u)
                stack.append(u)
    return len(seen) == len(rest)


def _cut_checks(p: _Pieces, nodes: np.ndarray, unit: set, k: int) -> bool:
    """A one-unit cut passes what a tree cut must: the unit is valid alone and the rest holds
    enough candidate centres for its k − 1 units."""
    members = nodes[sorted(unit)]
    rest_candidates = int(p.is_candidate[nodes].sum() - p.is_candidate[members].sum())
    return _fits_one(p, members) and rest_candidates >= k - 1


def _in_subtree(order: np.ndarray, parent: np.ndarray, v: int) -> np.ndarray:
    """Mask of the subtree rooted at ``v`` (BFS order: a node follows its parent)."""
    inside = np.zeros(len(order), dtype=bool)
    inside[v] = True
    par = parent.tolist()
    for u in order.tolist():
        if par[u] >= 0 and inside[par[u]]:
            inside[u] = True
    return inside


def _partition(p: _Pieces, nodes: np.ndarray, k: int, rng: np.random.Generator, deadline: float | None, depth: int = 0) -> list[np.ndarray] | None:
    """Units (arrays of node ids) splitting ``nodes`` into ``k``, or None when every try failed.

    A side that cannot be split further sends the search back one level: the parent set is cut
    again (:data:`RETRIES_PER_LEVEL` times) before the failure goes up, so one unlucky cut near
    the leaves does not throw away the whole construction.
    """
    if k == 1:
        return [nodes] if _fits_one(p, nodes) or (p.soft is not None and _fits_one(p.soft, nodes)) else None
    for _ in range(RETRIES_PER_LEVEL if depth > 0 else 2 * RETRIES_PER_LEVEL):
        if deadline is not None and time.perf_counter() > deadline:
            return None
        cut = _split(p, nodes, k, rng, deadline)
        if cut is None:
            return _leaf_units(p, nodes, k, deadline) if p.soft is None else None
        inside, k1 = cut
        first = _partition(p, nodes[inside], k1, rng, deadline, depth + 1)
        if first is None:
            continue
        second = _partition(p, nodes[~inside], k - k1, rng, deadline, depth + 1)
        if second is not None:
            return first + second
    return None


def _leaf_units(p: _Pieces, nodes: np.ndarray, k: int, deadline: float | None) -> list[np.ndarray] | None:
    """The units of a small set no tree could cut, from the exhaustive search
    (:mod:`redistrict.model.enumeration`) in at most :data:`LEAF_SEARCH_SECONDS`, or None."""
    if not p.search_leaves or k > LEAF_SEARCH_UNITS or len(nodes) > LEAF_SEARCH_NODES or not enumeration.applies(p.data):
        return None
    by = time.perf_counter() + LEAF_SEARCH_SECONDS
    outcome = enumeration.find_partition(restrict(p.data, nodes, k), deadline=by if deadline is None else min(by, deadline))
    return None if outcome.label is None else [nodes[outcome.label == unit] for unit in range(k)]


def construct_plan(data: ModelInput, *, seed: int = 0, deadline: float | None = None, restarts: int | None = None, slack: int = 0, search_leaves: bool = True) -> np.ndarray | None:
    """Unit label (0..k−1) of every node of a valid contiguous plan, or None if none was found.

    With a ``slack`` the plan may leave the bounds by up to that many households, but only
    where no cut or unit fits them (:mod:`redistrict.model.mend` then mends those units).
    ``search_leaves``: search small sets no tree cuts (:data:`LEAF_SEARCH_UNITS`); without it
    they are cut again, by fresh trees.

    Deterministic for a given ``seed`` (unless the ``deadline``, a ``time.perf_counter()``
    value, stops it).  Requires a connected graph: a disconnected one is split by
    :mod:`redistrict.pieces` before it gets here.
    """
    p = _Pieces(data, slack, search_leaves)
    nodes = np.arange(data.n, dtype=np.int64)
    if restarts is None:
        restarts = RESTARTS if deadline is None else MAX_RESTARTS
    for attempt in range(restarts):
        if deadline is not None and time.perf_counter() > deadline and attempt > 0:
            break
        rng = np.random.default_rng([seed, attempt])
        units = _partition(p, nodes, data.k, rng, deadline)
        if units is not None:
            label = np.empty(data.n, dtype=np.int64)
            for i, members in enumerate(sorted(units, key=lambda u: int(u.min()))):
                label[members] = i
            return label
    return None


def regions(data: ModelInput, *, most_units: int, seed: int = 0, deadline: float | None = None) -> list[tuple[np.ndarray, int]] | None:
    """The construction's top cuts only: the nodes split recursively, as :func:`construct_plan`
    splits them, until every part has at most ``most_units`` units; each part as (its nodes,
    sorted; its unit count), or None when a split finds no cut within the bounds.

    Every part is connected and fits its count by households, and the roomiest cut shares the
    room between the sides by their units, so each part is as tight as the whole and no tighter
    — it can be constructed and mended on its own (:mod:`redistrict.model.mend`).
    """
    p = _Pieces(data)
    rng = np.random.default_rng([seed, data.k])
    waiting, parts = [(np.arange(data.n, dtype=np.int64), data.k)], []
    while waiting:
        nodes, k = waiting.pop()
        if k <= most_units:
            parts.append((nodes, k))
            continue
        cut = _roomiest_cut(p, nodes, k, rng, deadline)
        if cut is None:
            return None
        inside, k1 = cut
        waiting += [(nodes[inside], k1), (nodes[~inside], k - k1)]
    return sorted(parts, key=lambda part: int(part[0][0]))


def _roomiest_cut(p: _Pieces, nodes: np.ndarray, k: int, rng: np.random.Generator, deadline: float | None) -> tuple[np.ndarray, int] | None:
    """The roomiest of each tree's cuts (:func:`_tree_cut`) over :data:`REGION_TREES` trees (or
    until the deadline), or None.  One tree has few cuts near a given size (city10000 without
    subdistricts, before the counts shared the room: the first tree's cuts left regions with
    11.7–49.3 households of room per unit, the whole having 27.9), and a region short of room
    is one its mending cannot finish."""
    total = int(p.weights[nodes].sum())
    best = None
    edges = _local_edges(p, nodes)
    for _ in range(REGION_TREES):
        if deadline is not None and time.perf_counter() > deadline and best is not None:
            break
        tree = _tree_with_sums(p, nodes, edges, rng)
        if tree is None:
            return None  # the set is not connected: no tree spans it
        cut = _tree_cut(p, nodes, k, total, *tree)
        if cut is not None and (best is None or cut[2] > best[2]):
            best = cut
    return None if best is None else best[:2]


def constructions(data: ModelInput, *, seed: int, deadline: float, tries: int) -> Iterator[np.ndarray]:
    """Further plans, one construction attempt each (seeds ``seed``, ``seed + 1``, …), until
    ``deadline`` or ``tries`` attempts; an attempt that finds nothing yields nothing.

    Random spanning-tree plans differ widely in compactness, so the most compact of many is a
    far better start for the improvement than the first (NH tracts, k = 10: best of 200 at
    2.58e8 against a median of 3.13e8).  These draws do not search the leaves: the search's plan
    of a set is its first in a fixed order, neither random nor compact, and here a set no tree
    cuts may as well be cut again (NH tracts, k = 10, T = 60: with the search in these draws the
    plan ended at 148 cut edges rather than 142, equally compact).
    """
    for attempt in range(tries):
        if time.perf_counter() > deadline:
            return
        label = construct_plan(data, seed=seed + attempt, deadline=deadline, restarts=1, search_leaves=False)
        if label is not None:
            yield label


def centres_of(data: ModelInput, label: np.ndarray) -> np.ndarray:
    """A plan as the engine's ``centre_of``: each unit's best candidate member as its centre.

    With an assignment cost the centre is the candidate that serves the unit most cheaply (its
    medoid); without one, the unit's first candidate node.
    """
    from .hess import assignment_costs

    allowed = np.zeros(data.n, dtype=bool)
    allowed[np.asarray(data.candidates)] = True
    centre_of = np.empty(data.n, dtype=np.int64)
    for members in unit_members(label):
        options = members[allowed[members]]
        if data.assign_cost is None or len(options) == 1:
            centre_of[members] = options[0]
            continue
        node = np.repeat(members, len(options))
        centre = np.tile(options, len(members))
        totals = assignment_costs(data, node, centre).reshape(len(members), len(options)).sum(axis=0)
        centre_of[members] = options[int(np.argmin(totals))]
    return centre_of


def unit_members(label: np.ndarray) -> list[np.ndarray]:
    """The nodes of each unit (sorted), in the order of the unit labels; O(n log n)."""
    order = np.argsort(label, kind="stable")
    _, starts = np.unique(label[order], return_index=True)
    return np.split(order, starts[1:])
