"""The Lagrangian bound: never above the optimum, its knapsacks exact, close to the LP where both solve."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from test_model_bounds import SquaredDistance
from test_model_construct import delaunay_input

from redistrict.model import ModelInput, solve_model
from redistrict.model._graph import Adjacency
from redistrict.model.bounds import lp_bound
from redistrict.model.data import implied_bounds
from redistrict.model.lagrange import _centre_values, _pair_table, lagrangian_bound


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(10, 26), k=st.integers(2, 3), edges=st.booleans(), offices=st.booleans())
def test_the_bound_never_exceeds_the_optimum(seed, n, k, edges, offices):
    candidates = np.random.default_rng(seed).choice(n, size=max(k, n // 2), replace=False) if offices else None
    extra = {} if candidates is None else {"candidates": np.sort(candidates)}
    data = delaunay_input(seed, n, k, 0.3, assign_cost=SquaredDistance(seed, n), cut_weight=1.0 if edges else 0.0, **extra)
    exact = solve_model(data, time_limit=60)
    if exact.status != "optimal":
        return
    found = lagrangian_bound(data, target=exact.objective, time_limit=0.5)
    assert found is not None
    assert found.value <= exact.objective + 1e-6 * max(1.0, abs(exact.objective))
    assert found.value == pytest.approx(found.assignment_part + found.cut_part)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(6, 18), k=st.integers(2, 4))
def test_each_centre_value_is_its_knapsack_lp(seed, n, k):
    """v_j against scipy's LP: min sum (c - lambda) x, floor <= sum w x <= cap, x in [0, 1]."""
    rng = np.random.default_rng(seed)
    data = delaunay_input(seed, n, k, 0.3, assign_cost=SquaredDistance(seed, n))
    if (zeros := rng.random(n) < 0.15).any():  # blocks without households are items too
        data = dataclasses.replace(data, weights=np.where(zeros, 0, data.weights))
    table = _pair_table(data, Adjacency.from_edges(data.n, data.edges))
    if table is None:
        return
    lam = rng.uniform(0, 60, n)
    values, taken = _centre_values(table, lam)
    for row, centre in enumerate(table.centres):
        items = (table.nodes[row] >= 0) & np.isfinite(table.cost[row])
        r = table.cost[row][items] - lam[table.nodes[row][items]]
        w = table.weight[row][items]
        own = table.own_cost[row] - lam[centre]
        if not items.any():  # the centre alone: a unit only if its own weight fits
            assert values[row] == (own if table.floor[row] <= 0 <= table.cap[row] else np.inf)
            continue
        lp = linprog(r, A_ub=np.vstack([w, -w]), b_ub=[table.cap[row], -table.floor[row]], bounds=(0, 1), method="highs")
        if lp.status == 2:  # the floor is out of reach: this node cannot be a centre
            assert values[row] == np.inf
            continue
        assert values[row] == pytest.approx(own + lp.fun, abs=1e-6)
        x = taken[row][items]
        assert ((x >= -1e-9) & (x <= 1 + 1e-9)).all()
        assert table.floor[row] - 1e-6 <= w @ x <= table.cap[row] + 1e-6


@pytest.mark.parametrize("seed", [7, 8])
def test_close_to_the_lp_bound_where_both_solve(seed):
    """Without cut edges both bound the same assignment model (the LP also keeps seed cuts)."""
    data = delaunay_input(seed, 60, 4, 0.1, assign_cost=SquaredDistance(seed, 60), cut_weight=0.0)
    lp = lp_bound(data, time_limit=60)
    plan = solve_model(data, time_limit=20)
    found = lagrangian_bound(data, target=plan.objective, time_limit=3.0)
    assert lp is not None and found is not None and plan.has_plan
    assert 0.97 * lp <= found.value <= plan.objective


def test_the_cut_edge_part_counts_the_k_minus_one_cheapest_edges():
    data = delaunay_input(3, 20, 3, 0.3, assign_cost=SquaredDistance(3, 20))
    costs = np.arange(1.0, data.m + 1.0)[::-1]
    data = dataclasses.replace(data, edge_cost=costs, cut_weight=2.0)
    found = lagrangian_bound(data, target=1e9, time_limit=0.3)
    assert found.cut_part == pytest.approx(2.0 * (1.0 + 2.0))


def test_no_time_or_no_centres_gives_no_bound():
    data = delaunay_input(1, 20, 2, 0.3, assign_cost=SquaredDistance(1, 20))
    assert lagrangian_bound(data, target=1e6, time_limit=0.0) is None
    # three units of at least half the households each: no plan, so no bound is claimed
    total = int(data.weights.sum())
    three = dataclasses.replace(data, k=3, lower=total // 2, upper=total)
    assert lagrangian_bound(three, target=1e6, time_limit=0.3) is None


def test_the_cut_edge_part_counts_one_edge_fewer_per_extra_part():
    # two paths of 4 nodes, no edge between them: 3 units cut at least 3 - 2 = 1 edge
    edges = np.array([(0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (6, 7)])
    data = ModelInput(n=8, weights=np.full(8, 10), edges=edges, k=3, lower=10, upper=40, edge_cost=np.array([5.0, 1.0, 2.0, 3.0, 4.0, 6.0]), assign_cost=np.zeros((8, 8)))
    found = lagrangian_bound(data, target=100.0, time_limit=0.3)
    assert found is not None and found.cut_part == pytest.approx(1.0)


def test_a_pair_table_too_large_is_refused_before_it_is_built(monkeypatch):
    from redistrict.model import lagrange

    data = delaunay_input(4, 60, 3, 0.3, assign_cost=SquaredDistance(4, 60))
    adj = Adjacency.from_edges(data.n, data.edges)
    entries = _pair_table(data, adj).nodes.size  # every candidate keeps a row here (roomy bounds)
    estimate = lagrange._estimated_entries(data, adj, *implied_bounds(data))
    assert 0 < estimate <= entries  # the sample's widest reach is at most the table's width
    monkeypatch.setattr(lagrange, "MAX_ENTRIES", int(estimate) - 1)
    monkeypatch.setattr(lagrange, "hess_fixing", lambda *a, **k: pytest.fail("the table was built"))
    assert lagrangian_bound(data, target=1e9, time_limit=5.0) is None
