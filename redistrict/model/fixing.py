"""Vertex ordering and safe variable fixing (Validi, Buchanan & Lykhovyd, Oper. Res. 2022).

Every rule here only removes assignments that no feasible plan can use, so the optimum never
changes; the survivors are the only variables the models create.  Counts per rule are returned
for the run record.

Rules (the first rule that removes a pair gets the count):

* ``symmetry`` (Hess, interchangeable units): a unit's centre is its first node in the vertex
  ordering, so ``x[i, j] = 0`` when ``i`` comes before ``j``.  Labeling: the node at position ``p``
  takes a label ``<= p``.
* ``upper``: ``x[i, j] = 0`` when every path from ``j`` to ``i`` (through nodes allowed in ``j``'s
  unit) weighs more than ``upper``, both ends included.
* ``lower``: centre ``j`` is dropped when everything within reach of it weighs less than ``lower``.
* ``roots``: when the first ``k`` nodes of the ordering are pairwise more than ``upper`` apart,
  they are exactly the ``k`` centres (each is the first node of its own unit), so no other node
  can be a centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from redistrict.model._graph import Adjacency, weighted_distances


@dataclass(frozen=True, eq=False)
class Ordering:
    """A vertex ordering: ``order[p]`` is the node at position ``p``; ``heads`` open it.

    ``heads`` are nodes placed first that are pairwise more than ``upper`` apart, so each lies in
    a different unit and is the first node (centre / root) of its unit.
    """

    order: np.ndarray
    position: np.ndarray
    heads: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class HessFixing:
    """Surviving Hess pairs ``x[node[t], centre[t]]``, sorted by centre then node."""

    node: np.ndarray
    centre: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class LabelFixing:
    """Surviving labeling pairs ``x[i, l]`` (``allowed[i, l]``) and the root fixed to each label."""

    allowed: np.ndarray
    roots: tuple[int | None, ...]
    counts: dict[str, int] = field(default_factory=dict)


def _reach(
    adj: Adjacency, w: list[int], source: int, upper: float, allowed: list[bool] | None, contiguous: bool
) -> list[int]:
    """Nodes that can share a unit with ``source``: within vertex-weighted distance ``upper``, or
    (without contiguity) any allowed node whose weight plus the source's fits under ``upper``."""
    if contiguous:
        return list(weighted_distances(adj, w, source, upper, allowed))
    ws = w[source]
    if ws > upper:
        return []
    return [v for v in range(adj.n) if v == source or ((allowed is None or allowed[v]) and ws + w[v] <= upper)]


def vertex_ordering(
    adj: Adjacency, weights: np.ndarray, k: int, lower: float, upper: float, *, contiguous: bool = True
) -> Ordering:
    """Order nodes so that likely centres come first and unlikely ones last (Validi's idea).

    1. Heads: scanning nodes by decreasing weight, greedily keep those more than ``upper`` from
       every head kept so far (at most ``k``).  Each head is the first node of its unit.
    2. The other nodes by decreasing weight, except
    3. a set ``B`` placed last: grown greedily from the lightest nodes while every connected
       component of ``B`` weighs less than ``lower``.  No node of ``B`` can be a centre (its reach
       among later nodes lies inside its component of ``B``), which the ``lower`` rule then fixes.

    ``contiguous=False`` (units need not be connected) measures reach by weight sums, and keeps
    the total of ``B`` below ``lower``.
    """
    n = adj.n
    w = weights.tolist()
    by_weight = sorted(range(n), key=lambda v: (-w[v], v))
    heads: list[int] = []
    near: set[int] = set()
    if math.isfinite(upper):
        for v in by_weight:
            if len(heads) == k:
                break
            if v in near:
                continue
            heads.append(v)
            near.update(_reach(adj, w, v, upper, None, contiguous))
    head_set = set(heads)

    in_b = [False] * n
    parent = list(range(n))
    comp_w = list(w)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    if math.isfinite(lower) and lower > 0 and not contiguous:
        total = 0  # without contiguity all of B could form one unit: keep its total below lower
        for v in reversed(by_weight):
            if v not in head_set and total + w[v] < lower:
                in_b[v] = True
                total += w[v]
    elif math.isfinite(lower) and lower > 0:
        for v in reversed(by_weight):
            if v in head_set:
                continue
            roots = {find(u) for u in adj.neighbours[v] if in_b[u]}
            total = w[v] + sum(comp_w[r] for r in roots)
            if total < lower:
                in_b[v] = True
                for r in roots:
                    parent[r] = v
                comp_w[v] = total
    middle = [v for v in by_weight if v not in head_set and not in_b[v]]
    tail = [v for v in by_weight if in_b[v]]
    order = np.array(heads + middle + tail, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    return Ordering(order=order, position=position, heads=tuple(heads))


def hess_fixing(
    adj: Adjacency,
    weights: np.ndarray,
    candidates: np.ndarray,
    lower: float,
    upper: float,
    ordering: Ordering | None,
    k: int,
    *,
    contiguous: bool = True,
) -> HessFixing:
    """Surviving Hess pairs after the symmetry, upper, lower and roots rules.

    ``ordering=None`` means units are not interchangeable (restricted candidates or an
    assignment cost): then only the upper and lower rules apply.  ``contiguous=False`` (no
    contiguity constraints) measures reach by weight sums instead of paths.
    """
    n = adj.n
    w = weights.tolist()
    counts = {"symmetry": 0, "upper": 0, "lower": 0, "roots": 0}
    nodes: list[np.ndarray] = []
    centres: list[np.ndarray] = []
    if ordering is not None:
        cand_set = set(candidates.tolist())
        seq = [int(v) for v in ordering.order if v in cand_set]
        roots_only = len(ordering.heads) == k
        head_set = set(ordering.heads)
    else:
        seq = sorted(int(v) for v in candidates)
        roots_only = False
        head_set = set()
    allowed = [True] * n
    position = ordering.position if ordering is not None else None
    for j in seq:
        later = n - int(position[j]) if position is not None else n
        if position is not None:
            counts["symmetry"] += n - later
        if roots_only and j not in head_set:
            counts["roots"] += later
        else:
            near = _reach(adj, w, j, upper, allowed if position is not None else None, contiguous)
            counts["upper"] += later - len(near)
            reach = np.array(near, dtype=np.int64)
            if reach.size == 0 or weights[reach].sum() < lower:
                counts["lower"] += len(reach)
            else:
                reach.sort()
                nodes.append(reach)
                centres.append(np.full(len(reach), j, dtype=np.int64))
        if position is not None:
            allowed[j] = False
    node = np.concatenate(nodes) if nodes else np.zeros(0, dtype=np.int64)
    centre = np.concatenate(centres) if centres else np.zeros(0, dtype=np.int64)
    order = np.lexsort((node, centre))
    return HessFixing(node=node[order], centre=centre[order], counts=counts)


def labeling_fixing(
    adj: Adjacency, weights: np.ndarray, k: int, upper: float, ordering: Ordering
) -> LabelFixing:
    """Surviving labeling pairs: Validi's diagonal fixing plus rooted labels for the heads.

    Label ``l`` is given to the unit whose first node (in the ordering) comes ``l``-th, so the node
    at position ``p`` has a label ``<= p``.  Head ``h_l`` (position ``l``) is more than ``upper``
    from every earlier head, so it opens label ``l``: ``x[h_l, l] = 1`` and ``x[i, l] = 0`` for
    every ``i`` more than ``upper`` from ``h_l``.
    """
    n = adj.n
    w = weights.tolist()
    allowed = np.ones((n, k), dtype=bool)
    pos = ordering.position
    diag = pos[:, None] < np.arange(k)[None, :]
    allowed[diag] = False
    counts = {"symmetry": int(diag.sum()), "upper": 0, "roots": 0}
    roots: list[int | None] = [None] * k
    for label, h in enumerate(ordering.heads):
        roots[label] = h
        others = allowed[h].copy()
        others[label] = False
        counts["roots"] += int(others.sum())
        allowed[h] = False
        allowed[h, label] = True
        dist = weighted_distances(adj, w, h, upper)
        far = np.ones(n, dtype=bool)
        far[list(dist)] = False
        drop = far & allowed[:, label]
        counts["upper"] += int(drop.sum())
        allowed[drop, label] = False
    return LabelFixing(allowed=allowed, roots=tuple(roots), counts=counts)
