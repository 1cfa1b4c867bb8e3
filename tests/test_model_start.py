"""The start heuristic: greedy centres, medoids, and a feasible contiguous plan for the exact search."""

from __future__ import annotations

import numpy as np
from test_model_engine import grid_edges

from redistrict.model import ModelInput, solve_model
from redistrict.model._graph import Adjacency, components
from redistrict.model.backends import plan_objective
from redistrict.model.start import greedy_centres, heuristic_start, medoids, worth_a_start


def grid_problem(rows=5, cols=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    n = rows * cols
    weights = rng.integers(5, 15, n)
    x = np.arange(n) % cols * 100.0
    y = np.arange(n) // cols * 100.0

    def cost(nodes, centres):
        return weights[nodes] * ((x[nodes] - x[centres]) ** 2 + (y[nodes] - y[centres]) ** 2) / 1e4

    total = int(weights.sum())
    return ModelInput(n=n, weights=weights, edges=grid_edges(rows, cols), k=k, lower=int(total / k * 0.9), upper=int(total / k * 1.1) + 1, assign_cost=cost, cut_weight=0.0)


def test_only_problems_with_many_candidates_and_a_cost_get_a_start():
    data = grid_problem()
    assert worth_a_start(data)
    assert not worth_a_start(ModelInput(n=data.n, weights=data.weights, edges=data.edges, k=3, lower=data.lower, upper=data.upper))
    few = ModelInput(n=data.n, weights=data.weights, edges=data.edges, k=3, lower=data.lower, upper=data.upper, candidates=[0, 5, 12, 20], assign_cost=data.assign_cost)
    assert not worth_a_start(few)


def test_greedy_centres_are_k_distinct_candidates_and_lower_the_cost_each_step():
    data = grid_problem()
    centres = greedy_centres(data)
    assert len(set(centres.tolist())) == data.k
    nodes = np.arange(data.n)
    totals = [np.min([data.assign_cost(nodes, np.full(data.n, c)) for c in centres[: i + 1]], axis=0).sum() for i in range(data.k)]
    assert all(b < a for a, b in zip(totals, totals[1:], strict=False))
    # the first pick is the 1-median: no node has a lower total cost
    singles = [data.assign_cost(nodes, np.full(data.n, c)).sum() for c in range(data.n)]
    assert singles[centres[0]] == min(singles)


def test_medoids_are_the_cheapest_member_of_each_unit():
    data = grid_problem()
    centre_of = np.where(np.arange(data.n) % 6 < 3, 0, 5)
    got = medoids(data, centre_of)
    for centre in (0, 5):
        members = np.flatnonzero(centre_of == centre)
        costs = {m: data.assign_cost(members, np.full(len(members), m)).sum() for m in members}
        assert min(costs, key=costs.get) in got.tolist()


def test_heuristic_plan_is_feasible_for_the_full_problem():
    data = grid_problem(seed=3)
    centre_of, objective = heuristic_start(data, Adjacency.from_edges(data.n, data.edges), budget=20, solve=solve_model, solver="highs", threads=1)
    assert centre_of is not None
    units, inv = np.unique(centre_of, return_inverse=True)
    assert len(units) == data.k and set(units.tolist()) <= set(range(data.n))
    totals = np.bincount(inv, weights=data.weights)
    assert ((totals >= data.lower) & (totals <= data.upper)).all()
    assert len(np.unique(components(Adjacency.from_edges(data.n, data.edges), centre_of))) == data.k
    assert objective == np.float64(plan_objective(data, centre_of))


def test_exact_optimum_is_the_same_with_and_without_the_start():
    for seed in (1, 2):
        data = grid_problem(seed=seed)
        with_start = solve_model(data, time_limit=60, threads=1)
        without = solve_model(data, time_limit=60, threads=1, start_heuristic=False)
        assert with_start.status == without.status == "optimal"
        assert abs(with_start.objective - without.objective) <= 1e-6 * max(1.0, abs(without.objective))


def test_ctrl_c_inside_a_solve_raises_keyboard_interrupt_promptly(monkeypatch):
    """The stop request reaches HiGHS through its interrupt callback; the solve then ends with
    KeyboardInterrupt, not with a plan.  (The request is set the way the SIGINT handler sets it,
    from another thread, so a solve that ended early could never interrupt pytest itself; the
    real signal is tested on the CLI in test_faults.py.)"""
    import signal
    import threading
    import time

    import pytest

    from redistrict.model import interrupt

    data = grid_problem(rows=12, cols=12, k=8, seed=5)  # about 12 s to prove when left alone
    timer = threading.Timer(0.5, interrupt._on_sigint, args=(signal.SIGINT, None))
    started = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            solve_model(data, time_limit=60, threads=1)
    finally:
        timer.cancel()
        monkeypatch.setattr(interrupt, "_requested", False)
    assert time.perf_counter() - started < 5
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "the handler is restored"
