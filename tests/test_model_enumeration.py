"""The exhaustive search against brute force: it finds a plan exactly when one exists."""

from __future__ import annotations

import numpy as np
import pytest
from test_model_construct import assert_valid, delaunay_input
from test_model_engine import connected_partitions, random_connected_graph

from redistrict.model import ModelInput
from redistrict.model.enumeration import applies, find_partition


def brute_feasible(data: ModelInput) -> bool:
    """Whether some connected k-partition fits the bounds, the centres and the locks."""
    candidates = set(data.candidates.tolist())
    for parts in connected_partitions(data.n, data.edges, data.k, data.weights, data.upper):
        unit_of = {v: i for i, part in enumerate(parts) for v in part}
        if not all(data.lower <= sum(int(data.weights[v]) for v in p) <= data.upper and p & candidates for p in parts):
            continue
        if all(unit_of[a] == unit_of[b] for a, b in data.same_unit) and all(unit_of[a] != unit_of[b] for a, b in data.different_unit):
            return True
    return False


def assert_plan_holds(data: ModelInput, label: np.ndarray) -> None:
    assert_valid(data, label)
    assert all(label[a] == label[b] for a, b in data.same_unit)
    assert all(label[a] != label[b] for a, b in data.different_unit)
    assert all(set(np.flatnonzero(label == u).tolist()) & set(data.candidates.tolist()) for u in range(data.k))


def random_input(seed: int) -> ModelInput:
    """A random graph of 5–10 nodes with tight bounds, sometimes with locks or few candidates."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 11))
    k = int(rng.integers(1, 4))
    edges = random_connected_graph(rng, n, int(rng.integers(0, n)))
    weights = rng.integers(1, 10, n)
    mean = weights.sum() / k
    lower, upper = int(mean * rng.uniform(0.7, 1.0)), int(np.ceil(mean * rng.uniform(1.0, 1.3)))
    kwargs = {}
    if seed % 3 == 1:
        kwargs["same_unit"] = [tuple(sorted(rng.choice(n, 2, replace=False).tolist()))]
    if seed % 3 == 2:
        kwargs["different_unit"] = [tuple(sorted(rng.choice(n, 2, replace=False).tolist()))]
    if seed % 4 == 3:
        kwargs["candidates"] = sorted(rng.choice(n, max(k, n // 2), replace=False).tolist())
    return ModelInput(n=n, weights=weights, edges=edges, k=k, lower=lower, upper=upper, **kwargs)


@pytest.mark.parametrize("seed", range(120))
def test_the_search_finds_a_plan_exactly_when_one_exists(seed):
    data = random_input(seed)
    outcome = find_partition(data)
    assert outcome.status in ("found", "infeasible")
    assert (outcome.status == "found") == brute_feasible(data)
    if outcome.label is not None:
        assert_plan_holds(data, outcome.label)


def test_a_hanging_part_too_heavy_for_its_unit_is_proved_infeasible():
    # 0-1-2 hang off 3 by the single edge 2-3: 0..3 must share a unit (45), above U = 40
    data = ModelInput(n=6, weights=[10, 10, 10, 15, 15, 15], edges=[(0, 1), (1, 2), (2, 3), (3, 4), (3, 5), (4, 5)], k=2, lower=30, upper=40)
    assert find_partition(data).status == "infeasible"


def test_tight_delaunay_layouts_are_decided():
    for seed in range(4):
        data = delaunay_input(seed, 40, 4, 0.004)
        outcome = find_partition(data)
        assert outcome.status in ("found", "infeasible")
        if outcome.label is not None:
            assert_plan_holds(data, outcome.label)


def test_the_budget_stops_the_search_without_a_claim():
    data = delaunay_input(1, 120, 12, 0.002)
    outcome = find_partition(data, max_states=1_000)
    assert outcome.status == "limit" and outcome.label is None and outcome.states > 1_000


def test_relaxed_inputs_are_not_searched():
    data = delaunay_input(0, 20, 2, 0.1)
    assert applies(data)
    assert not applies(ModelInput(n=data.n, weights=data.weights, edges=data.edges, k=2, lower=data.lower, upper=data.upper, relax=True))


def path_input(weights, k, lower, upper, **kwargs) -> ModelInput:
    return ModelInput(n=len(weights), weights=weights, edges=[(i, i + 1) for i in range(len(weights) - 1)], k=k, lower=lower, upper=upper, **kwargs)


def test_a_piece_the_construction_misses_is_proved_infeasible_by_the_search():
    from redistrict.model.strategy import PieceTask, solve_piece

    # a path 2-2-2-1-1-2: the count fits (10 households, 2 units of 5) but no cut gives 5 | 5
    data = path_input([2, 2, 2, 1, 1, 2], 2, 5, 5)
    result = solve_piece(PieceTask(data, method="exact", time_limit=30))
    assert result.status == "infeasible" and result.method == "search" and result.centre_of is None
    assert "exhaustive search" in result.message and result.improvement["search"]["status"] == "infeasible"


def test_the_relaxed_search_proves_the_smallest_violation_whatever_the_tolerance():
    from redistrict.model import solve_model
    from redistrict.model.relax import min_violation

    data = path_input([4, 4, 2, 4, 4], 2, 9, 9)  # the cuts give 4 | 14, 8 | 10, 10 | 8, 14 | 4
    result = min_violation(data, solve=solve_model, time_limit=None, tolerance=5)
    assert result.violation == 1 and result.proved and any(phase == "search" for phase, *_ in result.steps)


def test_without_a_constructed_plan_the_relaxed_ladder_is_climbed_by_the_search(monkeypatch):
    from redistrict.model.relax import min_violation

    def undecided(data, **kwargs):
        raise AssertionError("the exact model is not needed where the search decides")

    monkeypatch.setattr("redistrict.model.relax.construct_plan", lambda *a, **k: None)
    data = path_input([4, 4, 2, 4, 4], 2, 9, 9)
    result = min_violation(data, solve=undecided, time_limit=30, tolerance=0)
    assert result.violation == 1 and result.proved
    phases = [phase for phase, *_ in result.steps]
    assert "search" in phases and set(phases) <= {"construction", "search"}
