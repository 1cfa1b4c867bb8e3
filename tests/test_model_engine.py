"""The exact engine against brute force on tiny graphs: contiguity, bounds, locks, relax, solvers."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from redistrict.model import ModelInput, ModelSolution, solve_model

# --------------------------------------------------------------------------- helpers


def grid_edges(rows: int, cols: int) -> np.ndarray:
    """Rook edges of a rows x cols grid, node id r * cols + c."""
    out = []
    for r in range(rows):
        for c in range(cols):
            v = r * cols + c
            if c + 1 < cols:
                out.append((v, v + 1))
            if r + 1 < rows:
                out.append((v, v + cols))
    return np.array(out, dtype=np.int64)


def random_connected_graph(rng: np.random.Generator, n: int, extra: int) -> np.ndarray:
    """A random spanning tree plus ``extra`` random edges, as sorted unique pairs."""
    edges = {(int(rng.integers(0, v)), v) for v in range(1, n)}
    while len(edges) < n - 1 + extra:
        a, b = sorted(rng.choice(n, size=2, replace=False).tolist())
        edges.add((a, b))
    return np.array(sorted(edges), dtype=np.int64)


def _neighbours(n: int, edges: np.ndarray) -> list[set[int]]:
    nbrs: list[set[int]] = [set() for _ in range(n)]
    for a, b in edges.tolist():
        nbrs[a].add(b)
        nbrs[b].add(a)
    return nbrs


def connected_partitions(n: int, edges: np.ndarray, k: int, weights=None, upper=math.inf):
    """Every partition of 0..n-1 into k connected parts (parts as frozensets), by brute force."""
    nbrs = _neighbours(n, edges)
    w = [1] * n if weights is None else [int(x) for x in weights]

    def connected_sets(anchor: int, avail: frozenset):
        start = frozenset([anchor])
        seen = {start}
        stack = [start]
        while stack:
            s = stack.pop()
            yield s
            for v in set().union(*(nbrs[u] for u in s)) & avail - s:
                t = s | {v}
                if t not in seen and sum(w[x] for x in t) <= upper:
                    seen.add(t)
                    stack.append(t)

    def rec(avail: frozenset, parts: int):
        if parts == 0:
            if not avail:
                yield []
            return
        if not avail:
            return
        for s in connected_sets(min(avail), avail):
            for rest in rec(avail - s, parts - 1):
                yield [s, *rest]

    yield from rec(frozenset(range(n)), k)


def cut_value(edges: np.ndarray, parts, cost=None) -> float:
    """Total cost of edges whose ends lie in different parts."""
    label = {}
    for i, p in enumerate(parts):
        for v in p:
            label[v] = i
    cost = np.ones(len(edges)) if cost is None else cost
    return float(sum(c for (a, b), c in zip(edges.tolist(), cost, strict=True) if label[a] != label[b]))


def brute_best_cut(n, edges, k, weights, lower, upper, cost=None) -> float | None:
    """Minimum cut cost over connected k-partitions within [lower, upper], or None."""
    best = None
    for parts in connected_partitions(n, edges, k, weights, upper):
        if all(lower <= sum(int(weights[v]) for v in p) <= upper for p in parts):
            val = cut_value(edges, parts, cost)
            best = val if best is None else min(best, val)
    return best


def assert_valid_plan(data: ModelInput, sol: ModelSolution, *, check_bounds: bool = True) -> None:
    """k units, every node assigned, units connected, weights within bounds, locks held."""
    assert sol.centre_of is not None
    c = np.asarray(sol.centre_of)
    assert c.shape == (data.n,)
    units = np.unique(c)
    assert len(units) == data.k
    nbrs = _neighbours(data.n, data.edges)
    for u in units:
        members = set(np.flatnonzero(c == u).tolist())
        assert int(u) in members, "a unit's centre lies in the unit"
        start = next(iter(members))
        seen, stack = {start}, [start]
        while stack:
            v = stack.pop()
            for x in nbrs[v] & members - seen:
                seen.add(x)
                stack.append(x)
        assert seen == members, f"unit {u} is not connected"
        total = int(data.weights[list(members)].sum())
        if check_bounds:
            assert data.lower <= total <= data.upper
    for a, b in data.same_unit:
        assert c[a] == c[b]
    for a, b in data.different_unit:
        assert c[a] != c[b]


def is_contiguous(data: ModelInput, centre_of: np.ndarray) -> bool:
    """True when every unit of the plan induces a connected subgraph."""
    nbrs = _neighbours(data.n, data.edges)
    for u in np.unique(centre_of):
        members = set(np.flatnonzero(centre_of == u).tolist())
        start = next(iter(members))
        seen, stack = {start}, [start]
        while stack:
            v = stack.pop()
            for x in nbrs[v] & members - seen:
                seen.add(x)
                stack.append(x)
        if seen != members:
            return False
    return True


EXACT = ["cuts", "flow", "labeling_cuts", "labeling_flow", "labeling_hybrid"]


# --------------------------------------------------------------------------- contiguity


def _office_case() -> ModelInput:
    """Path 0-1-2-3-4, offices at 0 and 2; node 4 is cheap only at office 0 (far away)."""
    cost = np.zeros((5, 2))
    cost[4, 1] = 10.0
    return ModelInput(
        n=5, weights=np.ones(5, dtype=np.int64), edges=np.array([[0, 1], [1, 2], [2, 3], [3, 4]]),
        k=2, lower=2, upper=3, candidates=np.array([0, 2]), assign_cost=cost, cut_weight=0.0,
    )


def test_unconstrained_optimum_is_disconnected_and_exact_is_not() -> None:
    data = _office_case()
    loose = solve_model(data, formulation="none")
    assert loose.status == "optimal" and loose.objective == 0.0
    assert not is_contiguous(data, loose.centre_of)
    for form in ("cuts", "flow"):
        sol = solve_model(data, formulation=form)
        assert sol.status == "optimal", form
        assert sol.objective == pytest.approx(10.0)
        assert_valid_plan(data, sol)
        assert sol.centre_of.tolist() == [0, 0, 2, 2, 2]


def test_cut_edge_objective_needs_contiguity() -> None:
    # star 0-{1,2,3,4} plus edge 1-2; cheap spokes 0-3, 0-4 make {3,4} | {0,1,2} tempting
    edges = np.array([[0, 1], [0, 2], [0, 3], [0, 4], [1, 2]])
    cost = np.array([1.0, 1.0, 0.1, 0.1, 1.0])
    data = ModelInput(n=5, weights=np.ones(5, dtype=np.int64), edges=edges, edge_cost=cost, k=2, lower=2, upper=3)
    loose = solve_model(data, formulation="none")
    assert loose.objective == pytest.approx(0.2)
    assert not is_contiguous(data, loose.centre_of)
    for form in EXACT:
        sol = solve_model(data, formulation=form)
        assert sol.status == "optimal"
        assert sol.objective == pytest.approx(2.0), form
        assert_valid_plan(data, sol)


# --------------------------------------------------------------------------- brute force


@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("form", EXACT)
def test_grid_cut_edges_match_brute_force(k: int, form: str) -> None:
    edges = grid_edges(4, 4)
    w = np.ones(16, dtype=np.int64)
    data = ModelInput(n=16, weights=w, edges=edges, k=k, lower=16 // k, upper=16 // k)
    sol = solve_model(data, formulation=form)
    assert sol.status == "optimal"
    assert sol.objective == brute_best_cut(16, edges, k, w, 16 // k, 16 // k)
    assert sol.best_bound == pytest.approx(sol.objective)
    assert_valid_plan(data, sol)


@pytest.mark.parametrize("seed", range(6))
def test_random_weighted_graphs_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 9
    edges = random_connected_graph(rng, n, extra=5)
    w = rng.integers(1, 6, size=n)
    k = int(rng.integers(2, 4))
    target = w.sum() / k
    lower, upper = int(math.floor(0.75 * target)), int(math.ceil(1.25 * target))
    cost = rng.integers(1, 4, size=len(edges)).astype(float)
    best = brute_best_cut(n, edges, k, w, lower, upper, cost)
    data = ModelInput(n=n, weights=w, edges=edges, edge_cost=cost, k=k, lower=lower, upper=upper)
    for form in EXACT:
        sol = solve_model(data, formulation=form)
        if best is None:
            assert sol.status == "infeasible", form
            assert sol.centre_of is None
        else:
            assert sol.status == "optimal", form
            assert sol.objective == pytest.approx(best), form
            assert_valid_plan(data, sol)


def test_relax_minimises_largest_violation_then_cut_edges() -> None:
    # weights make the bounds [5, 5] impossible with k = 3 on this 7-node graph
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [0, 6], [1, 5]])
    w = np.array([4, 1, 3, 2, 4, 1, 2])
    k, lower, upper = 3, 5, 5
    best_violation, best_cut = None, None
    for parts in connected_partitions(7, edges, k):
        totals = [int(w[list(p)].sum()) for p in parts]
        viol = max(max(lower - t, t - upper, 0) for t in totals)
        cut = cut_value(edges, parts)
        if best_violation is None or (viol, cut) < (best_violation, best_cut):
            best_violation, best_cut = viol, cut
    assert best_violation > 0
    strict = ModelInput(n=7, weights=w, edges=edges, k=k, lower=lower, upper=upper)
    assert solve_model(strict).status == "infeasible"
    data = ModelInput(n=7, weights=w, edges=edges, k=k, lower=lower, upper=upper, relax=True)
    for form in EXACT:
        sol = solve_model(data, formulation=form)
        assert sol.status == "optimal", form
        assert sol.max_violation == best_violation, form
        assert sol.objective == pytest.approx(best_cut), form
        assert_valid_plan(data, sol, check_bounds=False)
        totals = np.bincount(np.unique(sol.centre_of, return_inverse=True)[1], weights=w)
        assert max(max(lower - t, t - upper, 0) for t in totals) == best_violation


@pytest.mark.parametrize("seed", range(4))
def test_relax_random_graphs_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    n = int(rng.integers(6, 9))
    edges = random_connected_graph(rng, n, extra=3)
    w = rng.integers(1, 9, size=n)
    k = int(rng.integers(2, 4))
    lower = upper = int(w.sum() // k)  # usually impossible to meet exactly
    best = min(
        (max(max(lower - int(w[list(p)].sum()), int(w[list(p)].sum()) - upper, 0) for p in parts), cut_value(edges, parts))
        for parts in connected_partitions(n, edges, k)
    )
    data = ModelInput(n=n, weights=w, edges=edges, k=k, lower=lower, upper=upper, relax=True)
    for form in ("cuts", "labeling_cuts"):
        sol = solve_model(data, formulation=form)
        assert sol.status == "optimal", form
        assert (sol.max_violation, sol.objective) == (best[0], pytest.approx(best[1])), form
        assert_valid_plan(data, sol, check_bounds=False)


def test_relax_with_feasible_bounds_reports_zero_violation() -> None:
    edges = grid_edges(2, 3)
    data = ModelInput(n=6, weights=np.ones(6, dtype=np.int64), edges=edges, k=2, lower=3, upper=3, relax=True)
    sol = solve_model(data)
    assert sol.status == "optimal" and sol.max_violation == 0 and sol.objective == 3.0


# --------------------------------------------------------------------------- constraints


def test_bounds_k_and_locks_hold() -> None:
    edges = grid_edges(3, 4)
    w = np.array([3, 1, 2, 2, 1, 3, 2, 1, 2, 2, 1, 3])
    base = dict(n=12, weights=w, edges=edges, k=3, lower=7, upper=9)
    plans = [p for p in connected_partitions(12, edges, 3, w, 9) if all(7 <= w[list(q)].sum() <= 9 for q in p)]
    plans.sort(key=lambda p: cut_value(edges, p))
    label = [{v: i for i, q in enumerate(p) for v in q} for p in plans[:2]]
    # lock pairs that the second-best plan satisfies and the best one violates
    a, b = next((i, j) for i in range(12) for j in range(12) if label[1][i] == label[1][j] and label[0][i] != label[0][j])
    d, e = next((i, j) for i in range(12) for j in range(12) if label[1][i] != label[1][j] and label[0][i] == label[0][j])
    data = ModelInput(**base, same_unit=[(a, b)], different_unit=[(d, e)])

    def ok(p) -> bool:
        lab = {v: i for i, q in enumerate(p) for v in q}
        return lab[a] == lab[b] and lab[d] != lab[e]

    best = min(cut_value(edges, p) for p in plans if ok(p))
    for form in EXACT:
        sol = solve_model(data, formulation=form)
        assert sol.status == "optimal", form
        assert_valid_plan(data, sol)
        assert sol.objective == pytest.approx(best), form


def test_restricted_candidates_centre_each_unit_at_a_distinct_candidate() -> None:
    edges = grid_edges(3, 4)
    w = np.ones(12, dtype=np.int64)
    cands = np.array([0, 3, 5, 11])
    xy = np.array([(r, c) for r in range(3) for c in range(4)], dtype=float)
    cost = ((xy[:, None, :] - xy[cands][None, :, :]) ** 2).sum(axis=2)
    data = ModelInput(n=12, weights=w, edges=edges, k=3, lower=4, upper=4, candidates=cands,
                      assign_cost=cost, cut_weight=0.5)
    for form in ("cuts", "flow"):
        sol = solve_model(data, formulation=form)
        assert sol.status == "optimal"
        assert_valid_plan(data, sol)
        centres = np.unique(sol.centre_of)
        assert len(centres) == 3 and set(centres.tolist()) <= set(cands.tolist())
    with pytest.raises(ValueError, match="labeling_cuts"):
        solve_model(data, formulation="labeling_cuts")


def test_callable_assign_cost_matches_dense_array() -> None:
    edges = grid_edges(3, 3)
    xy = np.array([(r, c) for r in range(3) for c in range(3)], dtype=float)
    dense = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)

    def cost(nodes: np.ndarray, centres: np.ndarray) -> np.ndarray:
        return ((xy[nodes] - xy[centres]) ** 2).sum(axis=1)

    base = dict(n=9, weights=np.ones(9, dtype=np.int64), edges=edges, k=3, lower=3, upper=3, cut_weight=0.0)
    a = solve_model(ModelInput(**base, assign_cost=dense))
    b = solve_model(ModelInput(**base, assign_cost=cost))
    assert a.status == b.status == "optimal"
    assert a.objective == pytest.approx(b.objective)


def test_infeasible_is_reported_never_a_plan() -> None:
    data = ModelInput(n=3, weights=np.array([5, 1, 5]), edges=np.array([[0, 1], [1, 2]]), k=2, lower=6, upper=6)
    for form in [*EXACT, "none"]:
        for solver in ("highs", "cbc"):
            sol = solve_model(data, formulation=form, solver=solver)
            assert sol.status == "infeasible", (form, solver)
            assert sol.centre_of is None and sol.objective is None


def test_disconnected_bounds_infeasible_when_only_contiguity_forbids() -> None:
    # path 0-1-2-3 weights 1,3,1,1, k=2, bounds [3,3]: only {1} | {0,2,3} balances, and it is not connected
    data = ModelInput(n=4, weights=np.array([1, 3, 1, 1]), edges=np.array([[0, 1], [1, 2], [2, 3]]), k=2, lower=3, upper=3)
    assert solve_model(data, formulation="none").status == "optimal"
    for form in EXACT:
        assert solve_model(data, formulation=form).status == "infeasible", form


# --------------------------------------------------------------------------- solvers, fixing


@pytest.mark.parametrize("seed", range(3))
def test_highs_and_cbc_agree(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = 10
    edges = random_connected_graph(rng, n, extra=6)
    w = rng.integers(1, 5, size=n)
    k = 2 + seed % 2
    t = w.sum() / k
    data = ModelInput(n=n, weights=w, edges=edges, k=k, lower=int(0.8 * t), upper=int(math.ceil(1.2 * t)))
    for form in ("cuts", "labeling_cuts"):
        a = solve_model(data, solver="highs", formulation=form)
        b = solve_model(data, solver="cbc", formulation=form)
        assert a.status == b.status, form
        if a.status == "optimal":
            assert a.objective == pytest.approx(b.objective), form
            assert_valid_plan(data, b)
            assert b.solver == "cbc" and a.solver == "highs"


@pytest.mark.parametrize("seed", range(8))
def test_fixing_never_removes_the_optimum(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(7, 11))
    edges = random_connected_graph(rng, n, extra=int(rng.integers(2, 7)))
    w = rng.integers(1, 8, size=n)
    k = int(rng.integers(2, 4))
    t = w.sum() / k
    data = ModelInput(n=n, weights=w, edges=edges, k=k, lower=int(0.7 * t), upper=int(math.ceil(1.3 * t)))
    for form in ("cuts", "labeling_cuts"):
        with_fix = solve_model(data, formulation=form)
        without = solve_model(data, formulation=form, fixing=False)
        assert with_fix.status == without.status, form
        if with_fix.status == "optimal":
            assert with_fix.objective == pytest.approx(without.objective), form
            assert sum(with_fix.fixed_counts.values()) > 0


def test_deterministic_and_progress_reports() -> None:
    edges = grid_edges(4, 4)
    w = np.array([1, 2, 1, 3, 2, 1, 1, 2, 3, 1, 2, 1, 1, 2, 1, 3])
    data = ModelInput(n=16, weights=w, edges=edges, k=3, lower=8, upper=11)
    seen: list[dict] = []
    a = solve_model(data, progress=seen.append)
    b = solve_model(data)
    assert a.centre_of.tolist() == b.centre_of.tolist()
    assert seen and {"round", "elapsed", "incumbent", "bound", "cuts_added"} <= set(seen[0])
    assert a.to_dict()["status"] == "optimal"
    assert "optimal" in repr(a)


def test_time_limit_holds_with_a_cut_edge_term_beside_assignment_costs() -> None:
    """With HiGHS's presolve this model spends ~9 s in a MIP setup step that never looks at the
    clock (see ``presolve_keeps_time``); the solve must stop near its 1 s limit with a plan."""
    from test_model_allocate import compact_input  # random layer: compactness cost and cut_weight 1

    data = compact_input(1, 91, 6, 0.1)
    assert data.cut_weight > 0 and callable(data.assign_cost)
    started = time.perf_counter()
    solution = solve_model(data, time_limit=1.0)
    assert time.perf_counter() - started < 4.0
    assert solution.has_plan


def test_presolve_is_off_only_for_the_hess_model_with_a_cut_edge_term() -> None:
    from redistrict.model._graph import Adjacency
    from redistrict.model.backends import _build, presolve_keeps_time

    edges = grid_edges(3, 4)
    data = ModelInput(n=12, weights=np.ones(12, dtype=np.int64), edges=edges, k=3, lower=4, upper=4)
    adj = Adjacency.from_edges(12, edges)
    built = {form: _build(data, adj, form, lower=4, upper=4, elastic=False)[0] for form in ("cuts", "labeling_cuts")}
    assert not presolve_keeps_time(built["cuts"])  # Hess with the cut-edge objective
    assert presolve_keeps_time(built["labeling_cuts"])  # the county proofs keep presolve
    no_cut = ModelInput(n=12, weights=np.ones(12, dtype=np.int64), edges=edges, k=3, lower=4, upper=4, cut_weight=0.0)
    assert presolve_keeps_time(_build(no_cut, adj, "cuts", lower=4, upper=4, elastic=False)[0])
