"""The search by centres per group: the same optimum as brute force, a valid bound, honest status."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_model_construct import delaunay_input

from redistrict.model import ModelInput, solve_model
from redistrict.model._graph import Adjacency, components
from redistrict.model.backends import plan_objective
from redistrict.model.counts import applies, counts_of, group_order, solve_by_counts


def stability_input(seed: int, n: int, k: int, slack: float, groups: int, moved: float = 3.0) -> ModelInput:
    """A Delaunay layout whose nodes belong to ``groups`` vertical strips (their "community"),
    with the engine's cost: weight · squared distance + ``moved`` · weight when the centre lies
    in another group."""
    base = delaunay_input(seed, n, k, slack)
    points = np.random.default_rng(seed).random((n, 2))  # the same sites delaunay_input drew
    group = np.minimum((points[:, 0] * groups).astype(np.int64), groups - 1)
    d2 = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
    cost = base.weights[:, None] * (d2 + moved * (group[:, None] != group[None, :]))
    return ModelInput(n=n, weights=base.weights, edges=base.edges, k=k, lower=base.lower, upper=base.upper, assign_cost=cost, cut_weight=0.0, groups=group)


def brute_force(data: ModelInput) -> float:
    """The least objective over every labelling into k contiguous units within the bounds, each
    unit served by its cheapest member (n ≤ 10)."""
    adj = Adjacency.from_edges(data.n, data.edges)
    cost = np.asarray(data.assign_cost)
    best = np.inf
    for label in itertools.product(range(data.k), repeat=data.n):
        label = np.array(label)
        if label[0] != 0 or len(np.unique(label)) != data.k:
            continue
        totals = np.bincount(label, weights=data.weights, minlength=data.k)
        if (totals < data.lower).any() or (totals > data.upper).any():
            continue
        if len(np.unique(components(adj, label))) != data.k:
            continue
        best = min(best, sum(cost[np.ix_(label == u, label == u)].sum(axis=0).min() for u in range(data.k)))
    return float(best)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_search_finds_the_brute_force_optimum(seed):
    data = stability_input(seed, 9, 3, 0.35, groups=2)
    outcome = solve_by_counts(data, time_limit=60)
    expected = brute_force(data)
    if not np.isfinite(expected):
        assert outcome.status == "infeasible" and outcome.centre_of is None
        return
    assert outcome.status == "optimal"
    assert outcome.objective == pytest.approx(expected, rel=1e-7)
    assert outcome.objective == pytest.approx(plan_objective(data, outcome.centre_of))
    assert outcome.bound == pytest.approx(outcome.objective, rel=1e-6)


def test_it_agrees_with_the_plain_exact_model_on_a_larger_layout():
    data = stability_input(7, 20, 4, 0.2, groups=3)
    outcome = solve_by_counts(data, time_limit=120)
    plain = solve_model(data, time_limit=120)
    assert outcome.status == plain.status == "optimal"
    assert outcome.objective == pytest.approx(plain.objective, rel=1e-6)
    assert outcome.lps >= 2 and outcome.closed_by_bound >= 1  # the LPs closed parts unsolved


def test_a_count_vector_fixes_how_many_centres_each_group_holds():
    data = stability_input(3, 20, 3, 0.25, groups=2)
    solved = 0
    for vector in [(0, 3), (1, 2), (2, 1), (3, 0)]:
        sol = solve_model(ModelInput(**{**_fields(data), "group_counts": vector}), time_limit=60)
        assert sol.status in ("optimal", "infeasible")
        if sol.has_plan:
            solved += 1
            assert counts_of(data, sol.centre_of) == vector
    assert solved >= 2
    sol = solve_model(ModelInput(**{**_fields(data), "group_counts": (None, 2)}), time_limit=60)
    assert sol.status == "optimal" and counts_of(data, sol.centre_of)[1] == 2


def test_the_bound_stays_valid_when_the_time_stops_the_search():
    data = stability_input(7, 24, 4, 0.2, groups=3)
    optimum = solve_by_counts(data, time_limit=60)
    assert optimum.status == "optimal"
    outcome = solve_by_counts(data, time_limit=0.3)
    assert outcome.status in ("feasible", "no_solution", "optimal")
    if outcome.bound is not None:
        assert outcome.bound <= optimum.objective + 1e-6
    if outcome.centre_of is not None:
        assert outcome.objective >= optimum.objective - 1e-6


def test_a_start_plan_is_kept_or_improved():
    data = stability_input(3, 20, 3, 0.25, groups=2)
    plain = solve_model(data, time_limit=60)
    outcome = solve_by_counts(data, start=plain.centre_of, time_limit=60)
    assert outcome.objective <= plain.objective + 1e-9


def test_it_applies_only_with_groups_and_centres():
    data = stability_input(0, 12, 3, 0.3, groups=2)
    assert applies(data) and group_order(data) == sorted(group_order(data), key=lambda g: -data.weights[data.groups == g].sum())
    fields = _fields(data)
    assert not applies(ModelInput(**{**fields, "groups": None}))
    assert not applies(ModelInput(**{**fields, "groups": np.zeros(data.n, dtype=np.int64)}))  # one group: nothing to branch on
    assert not applies(ModelInput(**{**fields, "assign_cost": None}))  # interchangeable units have no centres
    with pytest.raises(ValueError):
        solve_by_counts(ModelInput(**{**fields, "groups": None}))


def _fields(data: ModelInput) -> dict:
    names = ("n", "weights", "edges", "k", "lower", "upper", "edge_cost", "candidates", "assign_cost", "cut_weight", "groups")
    return {name: getattr(data, name) for name in names}
