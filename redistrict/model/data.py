"""The engine's input and output: two frozen value objects holding plain arrays.

The engine knows nothing of geometry or files.  Callers describe a districting problem as node
weights, an edge list and bounds (:class:`ModelInput`) and get back, for every node, the centre
node of its unit (:class:`ModelSolution`).  Both objects validate or normalise their arrays once,
so the solver code can trust them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from redistrict.errors import InputError

AssignCost = Callable[[np.ndarray, np.ndarray], np.ndarray] | np.ndarray
"""Cost of putting node ``i`` in the unit centred at ``j``.

Either a dense float array of shape ``(n, len(candidates))`` (column ``c`` is the centre
``candidates[c]``), or a vectorised callable ``f(nodes, centres) -> costs`` taking two equal-length
int arrays of node ids and centre node ids; the callable is only asked about pairs that survive
variable fixing, so callers never need an ``n x n`` matrix.  A callable with a method
``restricted(nodes)`` returning the same cost on ``nodes`` alone (local ids) lets sub-problems
carry only their own data (:func:`restrict`); others are wrapped with an id mapping.
"""

Status = Literal["optimal", "feasible", "infeasible", "no_solution"]


def _frozen_array(values: Any, dtype: Any, name: str, ndim: int) -> np.ndarray:
    """Copy ``values`` into a read-only array, so a ModelInput cannot change after validation."""
    try:
        arr = np.array(values, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"'{name}' cannot be read as a {np.dtype(dtype).name} array: {exc}") from exc
    if arr.ndim != ndim and not (arr.size == 0 and ndim == 2):
        raise InputError(f"'{name}' should have {ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0 and ndim == 2:
        arr = arr.reshape(0, 2)
    arr.setflags(write=False)
    return arr



def _checked_weights(values, n: int) -> np.ndarray:
    """n whole weights ≥ 0, frozen."""
    weights = _frozen_array(values, np.int64, "weights", 1)
    if weights.shape != (n,):
        raise InputError(f"'weights' should have length n={n}, got {weights.shape[0]}")
    if (weights < 0).any():
        bad = np.flatnonzero(weights < 0)
        raise InputError(f"'weights' must be >= 0; negative at nodes {bad[:10].tolist()}", ids=bad)
    return weights


def _checked_edges(values, n: int) -> np.ndarray:
    """Edges (i, j) with i < j between nodes 0..n−1, none twice, frozen."""
    edges = _frozen_array(values, np.int64, "edges", 2)
    if edges.shape[1:] != (2,):
        raise InputError(f"'edges' should have shape (m, 2), got {edges.shape}")
    if not len(edges):
        return edges
    if edges.min() < 0 or edges.max() >= n:
        raise InputError(f"'edges' names nodes outside 0..{n - 1}")
    bad = np.flatnonzero(edges[:, 0] >= edges[:, 1])
    if len(bad):
        raise InputError(
            f"'edges' must list each edge as (i, j) with i < j; rows {bad[:10].tolist()} do not "
            "(sort each row, e.g. np.sort(edges, axis=1), and drop self-loops)",
            ids=bad,
        )
    key = edges[:, 0] * n + edges[:, 1]
    if len(np.unique(key)) != len(key):
        raise InputError("'edges' contains duplicate edges; deduplicate with np.unique(edges, axis=0)")
    return edges


def _checked_edge_cost(values, m: int) -> np.ndarray:
    """m finite costs ≥ 0 (default 1 each), frozen."""
    if values is None:
        cost = np.ones(m)
        cost.setflags(write=False)
        return cost
    cost = _frozen_array(values, np.float64, "edge_cost", 1)
    if cost.shape != (m,):
        raise InputError(f"'edge_cost' should have length m={m}, got {cost.shape[0]}")
    if not np.isfinite(cost).all() or (cost < 0).any():
        raise InputError("'edge_cost' must be finite and >= 0")
    return cost


def _checked_candidates(values, n: int, k: int) -> np.ndarray:
    """Distinct candidate centres among 0..n−1, at least k (default: every node), frozen."""
    if values is None:
        cands = np.arange(n, dtype=np.int64)
        cands.setflags(write=False)
        return cands
    cands = _frozen_array(values, np.int64, "candidates", 1)
    if len(cands) and (cands.min() < 0 or cands.max() >= n):
        raise InputError(f"'candidates' names nodes outside 0..{n - 1}")
    if len(np.unique(cands)) != len(cands):
        raise InputError("'candidates' contains duplicates")
    if len(cands) < k:
        raise InputError(f"{len(cands)} candidate centres cannot centre k={k} units")
    return cands


def _checked_assign_cost(values, n: int, candidates: int) -> np.ndarray:
    """A finite (n, candidates) cost matrix, frozen."""
    ac = _frozen_array(values, np.float64, "assign_cost", 2)
    if ac.shape != (n, candidates):
        raise InputError(f"'assign_cost' should have shape (n, len(candidates)) = ({n}, {candidates}), got {ac.shape}")
    if not np.isfinite(ac).all():
        raise InputError("'assign_cost' must be finite")
    return ac

def _checked_groups(values, n: int) -> np.ndarray | None:
    """A group id (0, 1, …, or −1 for none) per node, frozen; None stays None."""
    if values is None:
        return None
    groups = _frozen_array(values, np.int64, "groups", 1)
    if groups.shape != (n,):
        raise InputError(f"'groups' should have length n={n}, got {groups.shape[0]}")
    if (groups < -1).any():
        bad = np.flatnonzero(groups < -1)
        raise InputError(f"'groups' holds ids >= 0, or -1 for no group; got {groups[bad[0]]} at nodes {bad[:10].tolist()}", ids=bad)
    return groups


def _checked_group_counts(values, groups: np.ndarray | None, k: int, symmetric: bool) -> tuple[int | None, ...] | None:
    """Centres per group: a whole count ≥ 0 (or None: any) per group id, the counts summing to at most k."""
    if values is None:
        return None
    if groups is None:
        raise InputError("'group_counts' needs 'groups' (the group of every node)")
    if symmetric:
        raise InputError("'group_counts' needs units with centres (candidates or an assign_cost); interchangeable units have none")
    counts = tuple(None if c is None else int(c) for c in values)
    size = int(groups.max()) + 1 if len(groups) else 0
    if len(counts) != size:
        raise InputError(f"'group_counts' should hold one count per group ({size}), got {len(counts)}")
    fixed = [c for c in counts if c is not None]
    if any(c < 0 for c in fixed) or sum(fixed) > k:
        raise InputError(f"'group_counts' must be >= 0 and sum to at most k={k}, got {counts}")
    return counts


def _pairs(values: Iterable[Sequence[int]], name: str, n: int) -> tuple[tuple[int, int], ...]:
    """Normalise a list of node pairs to sorted int tuples, checking the ids exist."""
    out = []
    for pair in values:
        if len(pair) != 2:
            raise InputError(f"'{name}' holds pairs of nodes, got {pair!r}")
        a, b = int(pair[0]), int(pair[1])
        if not (0 <= a < n and 0 <= b < n):
            raise InputError(f"'{name}' names a node outside 0..{n - 1}: {pair!r}", ids=[a, b])
        out.append((min(a, b), max(a, b)))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class ModelInput:
    """A districting problem on arrays: split nodes ``0..n-1`` into ``k`` contiguous units.

    Parameters
    ----------
    n : number of nodes.
    weights : int64 array (n,), households of each node, all >= 0.
    edges : int array (m, 2) of undirected edges with ``i < j`` and no duplicates.
    k : number of units.
    lower, upper : inclusive bounds on every unit's total weight.
    edge_cost : float array (m,), cost of cutting each edge (default 1.0 = cut-edge count).
    candidates : nodes allowed to be a unit's centre (default: every node).  When it is every node
        and there is no ``assign_cost``, a unit's centre is its first node in a vertex ordering
        (Validi's symmetry breaking); otherwise centres are distinct candidates chosen by the model.
    assign_cost : see :data:`AssignCost`; ``None`` means no assignment term.
    cut_weight : multiplier on the cut-edge term; 0 drops the cut-edge variables altogether.
    same_unit, different_unit : node pairs that must / must not share a unit (locks).
    forced_unit : node pairs that every plan within the bounds keeps together anyway (forced
        groups, :mod:`redistrict.forced`): not a rule but a consequence of the bounds.  The
        construction and the exhaustive search never separate them; the integer program leaves
        them out, since they cut off no plan and as rows they doubled HiGHS's search on a county
        instance (county40: 4,281 nodes against 1,893).  Ignored with ``relax``.
    relax : elastic bounds: first minimise the largest bound violation, then the objective.
    groups : int array (n,), the group of each node (e.g. its current community; −1 for none).
        Changes no rule: it tells the engine which centres belong together, so it can search by
        how many centres each group holds (:mod:`redistrict.model.counts`).
    group_counts : exactly ``group_counts[g]`` centres lie in group ``g`` (``None``: any number):
        one part of that search.  Needs ``groups`` and units with centres.

    Examples
    --------
    >>> import numpy as np
    >>> data = ModelInput(n=4, weights=np.ones(4, dtype=np.int64),
    ...                   edges=np.array([[0, 1], [1, 2], [2, 3]]), k=2, lower=2, upper=2)
    >>> data
    <ModelInput n=4 m=3 k=2 bounds=[2, 2] candidates=all>
    """

    n: int
    weights: np.ndarray
    edges: np.ndarray
    k: int
    lower: int
    upper: int
    edge_cost: np.ndarray | None = None
    candidates: np.ndarray | None = None
    assign_cost: AssignCost | None = None
    cut_weight: float = 1.0
    same_unit: tuple[tuple[int, int], ...] = ()
    different_unit: tuple[tuple[int, int], ...] = ()
    forced_unit: tuple[tuple[int, int], ...] = ()
    relax: bool = False
    groups: np.ndarray | None = None
    group_counts: tuple[int | None, ...] | None = None

    def __post_init__(self) -> None:
        """Check every field and freeze the arrays (one ``_checked_*`` function per field)."""
        set_ = object.__setattr__
        n = int(self.n)
        if n < 1:
            raise InputError(f"'n' should be at least 1, got {self.n}")
        set_(self, "n", n)
        set_(self, "weights", _checked_weights(self.weights, n))
        edges = _checked_edges(self.edges, n)
        set_(self, "edges", edges)
        set_(self, "edge_cost", _checked_edge_cost(self.edge_cost, len(edges)))
        k, lower, upper = int(self.k), int(self.lower), int(self.upper)
        if not 1 <= k <= n:
            raise InputError(f"'k' should be in 1..n={n}, got {self.k}")
        if lower > upper:
            raise InputError(f"'lower' ({lower}) exceeds 'upper' ({upper})")
        set_(self, "k", k)
        set_(self, "lower", lower)
        set_(self, "upper", upper)
        cands = _checked_candidates(self.candidates, n, k)
        set_(self, "candidates", cands)
        if isinstance(self.assign_cost, np.ndarray) or (self.assign_cost is not None and not callable(self.assign_cost)):
            set_(self, "assign_cost", _checked_assign_cost(self.assign_cost, n, len(cands)))
        cw = float(self.cut_weight)
        if not math.isfinite(cw) or cw < 0:
            raise InputError(f"'cut_weight' must be finite and >= 0, got {self.cut_weight}")
        set_(self, "cut_weight", cw)
        set_(self, "same_unit", _pairs(self.same_unit, "same_unit", n))
        set_(self, "different_unit", _pairs(self.different_unit, "different_unit", n))
        set_(self, "forced_unit", _pairs(self.forced_unit, "forced_unit", n))
        clash = (set(self.same_unit) | set(self.forced_unit)) & set(self.different_unit)
        if clash:
            raise InputError(f"node pairs both in 'same_unit' (or 'forced_unit') and 'different_unit': {sorted(clash)[:10]}", ids=sorted(clash))
        set_(self, "relax", bool(self.relax))
        set_(self, "groups", _checked_groups(self.groups, n))
        set_(self, "group_counts", _checked_group_counts(self.group_counts, self.groups, k, self.symmetric))

    @property
    def m(self) -> int:
        """Number of edges."""
        return len(self.edges)

    @property
    def together(self) -> tuple[tuple[int, int], ...]:
        """Pairs a heuristic must keep in one unit: the locks, and the forced pairs within the bounds."""
        return self.same_unit if self.relax else self.same_unit + self.forced_unit

    @property
    def all_candidates(self) -> bool:
        """True when every node may be a centre."""
        return len(self.candidates) == self.n

    @property
    def symmetric(self) -> bool:
        """True when units are interchangeable, so a centre can be fixed by a vertex ordering.

        That needs every node to be a candidate and no assignment cost: an assignment cost
        depends on which node is the centre, so forcing the centre would change the optimum.
        """
        return self.all_candidates and self.assign_cost is None

    def __repr__(self) -> str:
        cands = "all" if self.all_candidates else str(len(self.candidates))
        extra = " relax" if self.relax else ""
        if self.group_counts is not None:
            extra += " group_counts=[" + ", ".join("*" if c is None else str(c) for c in self.group_counts) + "]"
        return (
            f"<ModelInput n={self.n} m={self.m} k={self.k} bounds=[{self.lower}, {self.upper}] "
            f"candidates={cands}{extra}>"
        )


@dataclass(frozen=True, eq=False)
class ModelSolution:
    """The result of :func:`redistrict.model.solve_model`.

    ``centre_of[i]`` is the centre node of node ``i``'s unit (``None`` when there is no plan).
    ``status`` is "optimal", "feasible" (a limit was hit; the plan passed the contiguity check),
    "infeasible" (proved) or "no_solution" (a limit was hit without a contiguous plan).
    ``objective`` is recomputed from the plan, not read from the solver.
    """

    status: Status
    centre_of: np.ndarray | None
    objective: float | None
    best_bound: float | None
    gap: float | None
    seconds: float
    rounds: int
    cuts_added: int
    fixed_counts: dict[str, int] = field(default_factory=dict)
    max_violation: int = 0
    solver: str = ""
    solver_version: str = ""
    formulation: str = ""
    num_vars: int = 0
    num_rows: int = 0

    @property
    def has_plan(self) -> bool:
        """True when ``centre_of`` holds a contiguous plan."""
        return self.centre_of is not None

    def units(self) -> list[np.ndarray]:
        """The nodes of each unit, ordered by centre id."""
        if self.centre_of is None:
            return []
        return [np.flatnonzero(self.centre_of == c) for c in np.unique(self.centre_of)]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready record of the run (arrays as lists)."""
        return {
            "status": self.status,
            "centre_of": None if self.centre_of is None else self.centre_of.tolist(),
            "objective": self.objective,
            "best_bound": self.best_bound,
            "gap": self.gap,
            "seconds": self.seconds,
            "rounds": self.rounds,
            "cuts_added": self.cuts_added,
            "fixed_counts": dict(self.fixed_counts),
            "max_violation": self.max_violation,
            "solver": self.solver,
            "solver_version": self.solver_version,
            "formulation": self.formulation,
            "num_vars": self.num_vars,
            "num_rows": self.num_rows,
        }

    def __repr__(self) -> str:
        obj = "-" if self.objective is None else f"{self.objective:g}"
        bound = "-" if self.best_bound is None else f"{self.best_bound:g}"
        return (
            f"<ModelSolution {self.status} obj={obj} bound={bound} {self.seconds:.2f}s "
            f"rounds={self.rounds} cuts={self.cuts_added} {self.solver}/{self.formulation}>"
        )


def from_networkx(
    G: Any,
    *,
    weight: str,
    k: int,
    lower: int,
    upper: int,
    cut_cost: str | None = None,
    candidates: Iterable[Hashable] | None = None,
    assign_cost: AssignCost | None = None,
    cut_weight: float = 1.0,
    same_unit: Iterable[tuple[Hashable, Hashable]] = (),
    different_unit: Iterable[tuple[Hashable, Hashable]] = (),
    relax: bool = False,
) -> tuple[ModelInput, list[Hashable]]:
    """Build a :class:`ModelInput` from an undirected networkx graph.

    Returns the input and ``node_order``: ``node_order[i]`` is the graph node behind index ``i``
    (the graph's own node order).  ``weight`` names the node attribute holding households;
    ``cut_cost`` names an edge attribute used as the cost of cutting that edge (default 1.0).
    Candidates and lock pairs are given as graph nodes.
    """
    node_order = list(G.nodes)
    index = {v: i for i, v in enumerate(node_order)}
    missing = [v for v in node_order if weight not in G.nodes[v]]
    if missing:
        raise InputError(f"nodes without a '{weight}' attribute: {missing[:10]}", ids=missing)
    weights = np.array([G.nodes[v][weight] for v in node_order], dtype=np.int64)
    rows: dict[tuple[int, int], float] = {}
    for u, v, attrs in G.edges(data=True):
        a, b = index[u], index[v]
        if a == b:
            continue
        key = (min(a, b), max(a, b))
        rows[key] = float(attrs.get(cut_cost, 1.0)) if cut_cost is not None else 1.0
    keys = sorted(rows)
    edges = np.array(keys, dtype=np.int64).reshape(-1, 2)
    edge_cost = np.array([rows[e] for e in keys], dtype=np.float64)
    cands = None if candidates is None else np.array([index[v] for v in candidates], dtype=np.int64)
    data = ModelInput(
        n=len(node_order),
        weights=weights,
        edges=edges,
        k=k,
        lower=lower,
        upper=upper,
        edge_cost=edge_cost,
        candidates=cands,
        assign_cost=assign_cost,
        cut_weight=cut_weight,
        same_unit=[(index[a], index[b]) for a, b in same_unit],
        different_unit=[(index[a], index[b]) for a, b in different_unit],
        relax=relax,
    )
    return data, node_order


@dataclass(frozen=True, eq=False)
class _RestrictedCost:
    """``assign_cost`` of a sub-problem: local node ids mapped back to the parent's ids."""

    cost: Callable[[np.ndarray, np.ndarray], np.ndarray]
    nodes: np.ndarray

    def __call__(self, node: np.ndarray, centre: np.ndarray) -> np.ndarray:
        return self.cost(self.nodes[np.asarray(node)], self.nodes[np.asarray(centre)])


def implied_bounds(data: ModelInput) -> tuple[int, int]:
    """The bounds every unit of every plan meets: [lower, upper] narrowed by the other k − 1 units.

    The other units hold between (k − 1)·lower and (k − 1)·upper of the total W, so one unit
    holds W − (k − 1)·upper ≤ w ≤ W − (k − 1)·lower.  Solving with these changes no plan and
    strengthens the model where the total is tight (a piece of 17,772 households in 7 units of
    2,500–3,000: no unit can hold more than 2,772).  The result may be empty (lower > upper)
    when no k units fit.
    """
    total, k = int(data.weights.sum()), data.k
    return max(data.lower, total - (k - 1) * data.upper), min(data.upper, total - (k - 1) * data.lower)


def restrict(data: ModelInput, nodes: np.ndarray, k: int) -> ModelInput:
    """The sub-problem on ``nodes`` (parent ids, sorted) with ``k`` units: the same bounds,
    costs and side constraints, keeping only edges, candidates and lock pairs inside ``nodes``.

    Local node ``i`` is parent node ``nodes[i]``.  Used for independent pieces of a graph and for
    the neighbourhoods of large-neighbourhood search.  ``groups`` are kept; ``group_counts`` are
    not (they fix one part of a search over the whole, which a sub-problem is not).
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    local = np.full(data.n, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    e = data.edges
    inside = (local[e[:, 0]] >= 0) & (local[e[:, 1]] >= 0)
    edges = np.sort(local[e[inside]], axis=1)
    cand_cols = np.flatnonzero(local[data.candidates] >= 0)
    candidates = local[data.candidates[cand_cols]]
    order = np.argsort(candidates)
    candidates, cand_cols = candidates[order], cand_cols[order]
    cost = data.assign_cost
    if isinstance(cost, np.ndarray):
        cost = cost[nodes][:, cand_cols]
    elif hasattr(cost, "restricted"):
        cost = cost.restricted(nodes)  # a cost that can slice its own arrays ships only the piece's
    elif cost is not None:
        cost = _RestrictedCost(cost, nodes)

    def pairs(values: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
        return [(int(local[a]), int(local[b])) for a, b in values if local[a] >= 0 and local[b] >= 0]

    return ModelInput(
        n=len(nodes),
        weights=data.weights[nodes],
        edges=edges,
        k=k,
        lower=data.lower,
        upper=data.upper,
        edge_cost=data.edge_cost[inside],
        candidates=None if len(candidates) == len(nodes) and not isinstance(cost, np.ndarray) else candidates,
        assign_cost=cost,
        cut_weight=data.cut_weight,
        same_unit=pairs(data.same_unit),
        different_unit=pairs(data.different_unit),
        forced_unit=pairs(data.forced_unit),
        relax=data.relax,
        groups=None if data.groups is None else data.groups[nodes],
    )
