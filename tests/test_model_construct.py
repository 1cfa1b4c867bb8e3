"""The construction: every plan it returns is valid; an impossible count ends quickly with None."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial import Delaunay

from redistrict.model import ModelInput, construct
from redistrict.model._graph import Adjacency, components
from redistrict.model.construct import centres_of, construct_plan


def delaunay_input(seed: int, n: int, k: int, slack: float, **kwargs) -> ModelInput:
    """Random sites and their Delaunay edges (the adjacency of their Voronoi cells); bounds
    ``slack`` around the mean unit weight."""
    rng = np.random.default_rng(seed)
    points = rng.random((n, 2))
    tri = Delaunay(points)
    edges = {tuple(sorted((int(a), int(b)))) for simplex in tri.simplices for a, b in ((simplex[0], simplex[1]), (simplex[1], simplex[2]), (simplex[0], simplex[2]))}
    weights = rng.integers(20, 300, n)
    mean = weights.sum() / k
    lower, upper = int(mean * (1 - slack)), int(np.ceil(mean * (1 + slack)))
    return ModelInput(n=n, weights=weights, edges=np.array(sorted(edges)), k=k, lower=lower, upper=upper, **kwargs)


def assert_valid(data: ModelInput, label: np.ndarray) -> None:
    units = np.unique(label)
    assert len(units) == data.k
    totals = np.bincount(label, weights=data.weights)
    assert ((totals >= data.lower) & (totals <= data.upper)).all(), totals
    adj = Adjacency.from_edges(data.n, data.edges)
    assert len(np.unique(components(adj, label))) == data.k  # each unit is one connected part


@given(seed=st.integers(0, 10_000), n=st.integers(8, 120), k=st.integers(1, 8), slack=st.sampled_from([0.1, 0.2, 0.4]))
def test_every_constructed_plan_is_valid(seed, n, k, slack):
    data = delaunay_input(seed, n, min(k, n // 2), slack)
    label = construct_plan(data, seed=seed)
    if label is not None:
        assert_valid(data, label)


def test_a_roomy_problem_is_constructed_and_deterministic():
    data = delaunay_input(3, 300, 12, 0.2)
    first = construct_plan(data, seed=5)
    assert first is not None
    assert_valid(data, first)
    assert np.array_equal(first, construct_plan(data, seed=5))


def test_an_impossible_count_gives_none_quickly():
    # ten blocks of 100 in a path: 3 units of 300–310 cannot hold 1,000 households
    edges = np.array([(i, i + 1) for i in range(9)])
    data = ModelInput(n=10, weights=np.full(10, 100), edges=edges, k=3, lower=300, upper=310)
    started = time.perf_counter()
    assert construct_plan(data, seed=0) is None
    assert time.perf_counter() - started < 5


def test_lumpy_blocks_that_no_cut_can_balance_give_none():
    # a path 900-100-900: 2 units of 950–1,000 exist by count (1,900) but no contiguous cut
    data = ModelInput(n=3, weights=np.array([900, 100, 900]), edges=np.array([(0, 1), (1, 2)]), k=2, lower=950, upper=1000)
    assert construct_plan(data, seed=0) is None


def test_the_search_at_the_leaves_constructs_tight_plans_trees_miss(monkeypatch):
    monkeypatch.setattr(construct, "TUNE_MAX_NODES", 0)  # trees and the search only
    cases = [delaunay_input(seed, 80, 8, 0.003) for seed in range(8)]
    with_search = [construct_plan(data, seed=0, restarts=1) for data in cases]
    monkeypatch.setattr(construct, "LEAF_SEARCH_UNITS", 0)
    trees_only = [construct_plan(data, seed=0, restarts=1) for data in cases]
    assert sum(x is not None for x in with_search) > sum(x is not None for x in trees_only)
    for data, label in zip(cases, with_search, strict=True):
        if label is not None:
            assert_valid(data, label)


def test_widened_bounds_take_the_cut_nearest_the_true_ones():
    # a path 400-600-400-600-400 and 2 units of 1,200: no cut fits (400+600 = 1,000, 1,400 ...);
    # within bounds widened by 500 every cut fits, and the nearest leave them by 200 + 200
    edges = np.array([(i, i + 1) for i in range(4)])
    data = ModelInput(n=5, weights=np.array([400, 600, 400, 600, 400]), edges=edges, k=2, lower=1200, upper=1200)
    assert construct_plan(data, seed=0) is None
    label = construct_plan(data, seed=0, slack=500)
    totals = sorted(np.bincount(label, weights=data.weights).astype(int).tolist())
    assert totals == [1000, 1400]


@given(total=st.integers(1, 400_000), k=st.integers(2, 150), lower=st.integers(0, 3_000), width=st.integers(0, 600), cuts=st.lists(st.integers(0, 400_000), min_size=1, max_size=20))
def test_unit_counts_of_a_cut_match_every_split_of_the_count(total, k, lower, width, cuts):
    # _least_excess: the k1 whose sides leave the bounds by fewest households; _side_counts: the
    # k1 with the most room per unit — on a tight layer the one that shares the room by units,
    # neither the range's ends nor s / ((L+U)/2)
    upper = max(lower + width, 1)
    s = np.array([min(c, total) for c in cuts])
    nearest, excess = construct._least_excess(s, total, k, lower, upper)
    roomiest, room = construct._side_counts(s, total, k, lower, upper)

    def outside(w: int, units: int) -> int:
        return max(w - units * upper, units * lower - w, 0)

    def room_of(w: int, j: int) -> float:
        rest, j2 = total - w, k - j
        if outside(w, j) or outside(rest, j2):
            return -np.inf
        return min(w / j - lower, upper - w / j, rest / j2 - lower, upper - rest / j2)

    for i, weight in enumerate(s.tolist()):
        least = min(outside(weight, j) + outside(total - weight, k - j) for j in range(1, k))
        assert excess[i] == least == outside(weight, nearest[i]) + outside(total - weight, k - nearest[i])
        most = max(room_of(weight, j) for j in range(1, k))
        if most == -np.inf:
            assert roomiest[i] == 0
        else:
            assert room[i] == pytest.approx(most) and room_of(weight, roomiest[i]) == pytest.approx(most)


def test_regions_are_connected_parts_that_fit_their_unit_counts():
    data = delaunay_input(3, 300, 30, 0.05)
    parts = construct.regions(data, most_units=8, seed=0)
    assert parts is not None and len(parts) >= 4
    assert sorted(np.concatenate([nodes for nodes, _ in parts]).tolist()) == list(range(data.n))
    assert sum(k for _, k in parts) == data.k and all(1 <= k <= 8 for _, k in parts)
    adj = Adjacency.from_edges(data.n, data.edges)
    label = np.empty(data.n, dtype=np.int64)
    for i, (nodes, k) in enumerate(parts):
        label[nodes] = i
        assert k * data.lower <= data.weights[nodes].sum() <= k * data.upper
    assert len(np.unique(components(adj, label))) == len(parts)  # each region is one connected part


def test_each_unit_gets_a_candidate_centre():
    data = delaunay_input(7, 60, 4, 0.3)
    rng = np.random.default_rng(0)
    candidates = np.sort(rng.choice(60, 8, replace=False))
    data = delaunay_input(7, 60, 4, 0.3, candidates=candidates)
    label = construct_plan(data, seed=1)
    assert label is not None
    centres = centres_of(data, label)
    assert set(np.unique(centres)) <= set(candidates.tolist())
    assert len(np.unique(centres)) == 4
    assert all(label[c] == label[i] for i, c in enumerate(centres))  # a centre lies in its own unit


def test_locks_are_respected():
    data = delaunay_input(11, 80, 4, 0.3)
    locked = delaunay_input(11, 80, 4, 0.3, same_unit=[(0, 79), (5, 40)], different_unit=[(0, 5)])
    label = construct_plan(locked, seed=2)
    assert label is not None
    assert_valid(data, label)
    assert label[0] == label[79] and label[5] == label[40] and label[0] != label[5]


def _connected(data: ModelInput, members: np.ndarray) -> bool:
    adj = Adjacency.from_edges(data.n, data.edges)
    label = np.full(data.n, -1)
    label[members] = 0
    parts = components(adj, np.where(label == 0, 0, 1 + np.arange(data.n)))
    return len(np.unique(parts[members])) == 1


@given(seed=st.integers(0, 10_000), n=st.integers(6, 60), k=st.integers(2, 4), slack=st.sampled_from([0.01, 0.03, 0.1]))
def test_a_tuned_cut_is_one_valid_unit_with_a_connected_rest(seed, n, k, slack):
    data = delaunay_input(seed, n, k, slack, same_unit=[(0, 1)] if n > 8 else ())
    p = construct._Pieces(data)
    nodes = np.arange(n)
    cut = construct._tuned_cut(p, nodes, k, np.random.default_rng(seed))
    if cut is None:
        return
    inside, k1 = cut
    unit, rest = nodes[inside], nodes[~inside]
    lo, hi = construct._unit_window(int(data.weights.sum()), k, data.lower, data.upper)
    assert k1 == 1 and lo <= data.weights[unit].sum() <= hi
    assert data.lower <= data.weights[unit].sum() <= data.upper
    assert (k - 1) * data.lower <= data.weights[rest].sum() <= (k - 1) * data.upper
    assert _connected(data, unit) and _connected(data, rest)
    if n > 8:
        assert inside[0] == inside[1]  # the same-unit pair stays together


def test_tuning_constructs_tight_plans_that_trees_alone_miss(monkeypatch):
    # units within ±0.3 % of the mean: windows of a few households near the leaves
    monkeypatch.setattr(construct, "LEAF_SEARCH_UNITS", 0)  # trees and tuning only
    cases = [delaunay_input(seed, 80, 8, 0.003) for seed in range(8)]
    tuned = [construct_plan(data, seed=0, restarts=1) is not None for data in cases]
    monkeypatch.setattr(construct, "TUNE_MAX_NODES", 0)
    trees_only = [construct_plan(data, seed=0, restarts=1) is not None for data in cases]
    assert sum(tuned) > sum(trees_only), (tuned, trees_only)


def test_further_constructions_are_valid_distinct_and_bounded():
    data = delaunay_input(5, 120, 6, 0.2)
    plans = list(construct.constructions(data, seed=1, deadline=time.perf_counter() + 30, tries=8))
    assert 0 < len(plans) <= 8
    for label in plans:
        assert_valid(data, label)
    assert len({label.tobytes() for label in plans}) > 1  # different seeds, different plans
    again = list(construct.constructions(data, seed=1, deadline=time.perf_counter() + 30, tries=8))
    assert all(np.array_equal(a, b) for a, b in zip(plans, again, strict=True))
    assert list(construct.constructions(data, seed=1, deadline=time.perf_counter() - 1, tries=8)) == []
