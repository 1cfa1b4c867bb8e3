"""Location–allocation start: balanced LP, Lloyd centres, reattached parts, a valid plan or none."""

from __future__ import annotations

import time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_model_construct import assert_valid, delaunay_input

from redistrict.model import ModelInput, solve_model
from redistrict.model._graph import Adjacency, components
from redistrict.model.allocate import allocation_plan, applies, attached, keeps_locks
from redistrict.model.start import balanced_assignment, greedy_centres, lloyd_centres, medoids


def compact_input(seed: int, n: int, k: int, slack: float, **kwargs) -> ModelInput:
    """:func:`delaunay_input` with a compactness cost on the same points (households × squared distance)."""
    points = np.random.default_rng(seed).random((n, 2))  # the points delaunay_input draws first
    data = delaunay_input(seed, n, k, slack, **kwargs)
    weights = data.weights

    def cost(nodes, centres):
        return weights[nodes] * ((points[nodes] - points[centres]) ** 2).sum(axis=1)

    return ModelInput(n=data.n, weights=data.weights, edges=data.edges, k=data.k, lower=data.lower, upper=data.upper, assign_cost=cost, **kwargs)


def test_balanced_assignment_uses_the_centres_and_misses_the_bounds_by_at_most_the_split_nodes():
    data = compact_input(1, 80, 5, 0.05)
    centres = greedy_centres(data)
    assigned = balanced_assignment(data, centres)
    assert set(np.unique(assigned).tolist()) <= set(centres.tolist())
    totals = np.array([data.weights[assigned == c].sum() for c in centres])
    miss = np.maximum(data.lower - totals, totals - data.upper).clip(0)
    # a basic optimum splits at most k - 1 nodes; rounding moves each of them once
    assert miss.sum() <= (data.k - 1) * data.weights.max()


def test_balanced_assignment_is_none_when_no_assignment_fits():
    data = compact_input(2, 40, 4, 0.1)
    too_tight = ModelInput(n=data.n, weights=data.weights, edges=data.edges, k=4, lower=1, upper=int(data.weights.sum() / 4) - 50, assign_cost=data.assign_cost)
    assert balanced_assignment(too_tight, greedy_centres(too_tight)) is None


def test_lloyd_centres_are_distinct_candidates_that_stay_put():
    data = compact_input(3, 90, 6, 0.1)
    centres = lloyd_centres(data, greedy_centres(data))
    assert len(set(centres.tolist())) == data.k
    assert set(medoids(data, balanced_assignment(data, centres)).tolist()) == set(centres.tolist())


def test_attached_gives_a_stray_part_to_an_adjacent_unit_and_leaves_the_rest():
    # a path 0-1-2-3-4-5: unit 0 holds {0, 1, 4}; node 4 lies between units 2 (holding 2, 3) and 5
    edges = np.array([(i, i + 1) for i in range(5)])
    weights = np.ones(6, dtype=np.int64)
    data = ModelInput(n=6, weights=weights, edges=edges, k=3, lower=1, upper=4, assign_cost=lambda nodes, centres: np.abs(nodes - centres).astype(float))
    plan = np.array([0, 0, 2, 2, 0, 5])
    got = attached(data, plan)
    assert got[:4].tolist() == [0, 0, 2, 2] and got[5] == 5
    assert got[4] == 5  # adjacent to units 2 and 5; |4 - 5| < |4 - 2|
    assert len(np.unique(components(Adjacency.from_edges(6, edges), got))) == 3


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 1000), k=st.integers(2, 6))
def test_every_allocation_plan_is_valid(seed, k):
    data = compact_input(seed, 70, k, 0.1)
    found = allocation_plan(data, solve=solve_model, deadline=time.perf_counter() + 20, threads=1)
    if found.centre_of is None:
        assert found.note
        return
    assert_valid(data, np.unique(found.centre_of, return_inverse=True)[1])
    assert np.all(found.centre_of[found.centre_of] == found.centre_of)  # a centre is in its own unit


def test_a_plan_breaking_a_lock_is_not_returned():
    data = compact_input(4, 60, 4, 0.15)
    found = allocation_plan(data, solve=solve_model, deadline=time.perf_counter() + 20, threads=1)
    assert found.centre_of is not None
    plan = found.centre_of
    a, b = 0, int(np.flatnonzero(plan != plan[0])[0])  # two blocks the plan puts apart
    locked = ModelInput(n=data.n, weights=data.weights, edges=data.edges, k=data.k, lower=data.lower, upper=data.upper, assign_cost=data.assign_cost, same_unit=((a, b),))
    again = allocation_plan(locked, solve=solve_model, deadline=time.perf_counter() + 20, threads=1)
    assert again.centre_of is None or keeps_locks(locked, again.centre_of)


def test_only_pieces_with_an_assignment_cost_and_few_pairs_apply():
    data = compact_input(5, 40, 3, 0.2)
    assert applies(data)
    assert not applies(ModelInput(n=data.n, weights=data.weights, edges=data.edges, k=3, lower=data.lower, upper=data.upper))
    assert not applies(ModelInput(n=data.n, weights=data.weights, edges=data.edges, k=3, lower=data.lower, upper=data.upper, assign_cost=data.assign_cost, relax=True))


def test_the_allocation_returns_by_its_deadline_with_a_reason():
    data = compact_input(1, 1000, 100, 0.1)  # the greedy step alone takes ~4 s here
    started = time.perf_counter()
    found = allocation_plan(data, solve=solve_model, deadline=started + 0.5, threads=1)
    assert time.perf_counter() - started < 1.5
    assert found.centre_of is None and "time ran out" in found.note
