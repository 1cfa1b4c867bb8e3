"""Small graph helpers on adjacency lists: the few algorithms the engine needs, without networkx.

Everything works on node ids ``0..n-1`` and an :class:`Adjacency` built once from the edge array.
Distances are vertex-weighted: the length of a path is the total weight of its nodes, both ends
included, which is the weight of the smallest unit that could hold both ends.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Adjacency:
    """CSR adjacency of an undirected graph, plus Python lists for fast scalar loops."""

    n: int
    edges: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    neighbours: tuple[tuple[int, ...], ...]

    @classmethod
    def from_edges(cls, n: int, edges: np.ndarray) -> Adjacency:
        """Build from an (m, 2) array of undirected edges."""
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        src = np.concatenate([edges[:, 0], edges[:, 1]])
        dst = np.concatenate([edges[:, 1], edges[:, 0]])
        order = np.lexsort((dst, src))
        src, dst = src[order], dst[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(indptr, src + 1, 1)
        indptr = np.cumsum(indptr)
        lists = dst.tolist()
        ptr = indptr.tolist()
        neighbours = tuple(tuple(lists[ptr[i] : ptr[i + 1]]) for i in range(n))
        return cls(n=n, edges=edges, indptr=indptr, indices=dst, neighbours=neighbours)

    def degree(self) -> np.ndarray:
        """Degree of every node."""
        return np.diff(self.indptr)


def weighted_distances(
    adj: Adjacency,
    weights: list[int],
    source: int,
    cutoff: float,
    allowed: list[bool] | None = None,
) -> dict[int, int]:
    """Vertex-weighted distances from ``source`` (both ends counted), keeping those <= cutoff.

    Only nodes with ``allowed[v]`` are entered (the source is always allowed).  Nodes whose
    distance exceeds ``cutoff`` are left out of the result.
    """
    nbrs = adj.neighbours
    d0 = weights[source]
    if d0 > cutoff:
        return {}
    dist = {source: d0}
    heap = [(d0, source)]
    done: set[int] = set()
    while heap:
        d, v = heapq.heappop(heap)
        if v in done:
            continue
        done.add(v)
        for u in nbrs[v]:
            if allowed is not None and not allowed[u]:
                continue
            du = d + weights[u]
            if du <= cutoff and du < dist.get(u, du + 1):
                dist[u] = du
                heapq.heappush(heap, (du, u))
    return dist


def components(adj: Adjacency, label: np.ndarray) -> np.ndarray:
    """Connected components of the subgraphs induced by equal labels.

    Returns a component id per node (nodes with different labels never share an id).
    """
    n = adj.n
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    e = adj.edges
    if len(e):
        same = label[e[:, 0]] == label[e[:, 1]]
        for a, b in e[same].tolist():
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def is_connected_subset(adj: Adjacency, nodes: list[int] | np.ndarray) -> bool:
    """True when ``nodes`` induce a connected subgraph (an empty set counts as connected)."""
    nodes = [int(v) for v in nodes]
    if not nodes:
        return True
    inside = set(nodes)
    seen = {nodes[0]}
    stack = [nodes[0]]
    nbrs = adj.neighbours
    while stack:
        v = stack.pop()
        for u in nbrs[v]:
            if u in inside and u not in seen:
                seen.add(u)
                stack.append(u)
    return len(seen) == len(inside)
