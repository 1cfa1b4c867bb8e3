"""Large-neighbourhood search: never worse, never invalid, and optimal where pairs suffice."""

from __future__ import annotations

import time

import numpy as np
from test_model_construct import assert_valid, delaunay_input

from redistrict.model import ModelInput, lns, solve_model
from redistrict.model.backends import plan_objective
from redistrict.model.construct import centres_of, construct_plan
from redistrict.model.lns import improve, neighbourhoods, unit_graph


def grid_input(rows: int, cols: int, k: int, lower: int, upper: int, **kwargs) -> ModelInput:
    edges = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)]
    edges += [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    return ModelInput(n=rows * cols, weights=np.ones(rows * cols, dtype=np.int64), edges=np.array(edges), k=k, lower=lower, upper=upper, **kwargs)


def test_neighbourhoods_are_connected_sets_of_units():
    label = np.array([0, 0, 1, 1, 2, 2])  # a path of three units
    data = ModelInput(n=6, weights=np.ones(6, dtype=np.int64), edges=np.array([(i, i + 1) for i in range(5)]), k=3, lower=2, upper=2)
    near = unit_graph(data, label)
    assert near == {0: {1}, 1: {0, 2}, 2: {1}}
    assert neighbourhoods(near, 2) == [(0, 1), (1, 2)]
    assert neighbourhoods(near, 3) == [(0, 1, 2)]


def test_improvement_never_worsens_and_keeps_every_rule():
    data = delaunay_input(4, 60, 6, 0.2, cut_weight=1.0)
    start = centres_of(data, construct_plan(data, seed=0))
    result = improve(data, start, solve=solve_model, objective_of=plan_objective, deadline=time.perf_counter() + 20, sizes=(2,))
    assert result.objective <= plan_objective(data, start) + 1e-9
    assert result.objective == plan_objective(data, result.centre_of)
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])


def test_improvement_reaches_the_optimum_of_a_two_unit_problem():
    # with k = 2 the only pair is the whole problem: its exact re-solve is the optimum
    data = grid_input(4, 4, 2, 8, 8)
    start = centres_of(data, construct_plan(data, seed=3))
    result = improve(data, start, solve=solve_model, objective_of=plan_objective, deadline=None)
    assert result.objective == 4.0  # two 2×4 halves cut 4 edges
    assert result.local_optimum == [2]


def test_improvement_keeps_locks_and_candidate_centres():
    data = delaunay_input(9, 30, 3, 0.25, candidates=np.arange(0, 30, 3), same_unit=[(0, 27)], different_unit=[(0, 1)], cut_weight=1.0)
    label = construct_plan(data, seed=0)
    assert label is not None
    start = centres_of(data, label)
    result = improve(data, start, solve=solve_model, objective_of=plan_objective, deadline=time.perf_counter() + 5, sizes=(2,))
    plan = result.centre_of
    assert set(np.unique(plan).tolist()) <= set(range(0, 30, 3))
    assert plan[0] == plan[27] and plan[0] != plan[1]
    assert result.objective <= plan_objective(data, start) + 1e-9


def test_the_deadline_stops_the_search():
    data = delaunay_input(1, 400, 30, 0.2, cut_weight=1.0)
    start = centres_of(data, construct_plan(data, seed=0))
    started = time.perf_counter()
    result = improve(data, start, solve=solve_model, objective_of=plan_objective, deadline=started + 1.0)
    assert time.perf_counter() - started < 4.0
    assert result.stopped_by_time and result.objective <= plan_objective(data, start) + 1e-9


class _SquaredDistance:
    """households × squared distance between the random sites of ``delaunay_input``."""

    def __init__(self, seed: int, n: int):
        self.points = np.random.default_rng(seed).random((n, 2))

    def __call__(self, nodes, centres):
        return ((self.points[nodes] - self.points[centres]) ** 2).sum(axis=1)


def test_neighbourhoods_keep_a_few_good_centres_per_unit_and_the_current_ones():
    from redistrict.model.data import restrict
    from redistrict.model.lns import CENTRES_PER_UNIT, fewer_centres

    data = delaunay_input(2, 120, 4, 0.3, assign_cost=_SquaredDistance(2, 120), cut_weight=0.0)
    plan = centres_of(data, construct_plan(data, seed=0))
    hood = np.unique(plan)[:2]
    nodes = np.flatnonzero(np.isin(plan, hood))
    local = np.searchsorted(nodes, plan[nodes])
    sub = fewer_centres(restrict(data, nodes, 2), local)
    assert set(np.unique(local).tolist()) <= set(sub.candidates.tolist())
    assert len(sub.candidates) <= 2 * (CENTRES_PER_UNIT + 1) < len(nodes)
    solution = solve_model(sub, start=local, start_heuristic=False)
    assert solution.objective <= plan_objective(sub, local) + 1e-9


def test_neighbourhoods_in_worker_processes_keep_every_rule_and_never_worsen():
    data = delaunay_input(5, 80, 8, 0.25, assign_cost=_SquaredDistance(5, 80), cut_weight=0.0)
    start = centres_of(data, construct_plan(data, seed=0))
    result = improve(data, start, solve=solve_model, objective_of=plan_objective, deadline=time.perf_counter() + 30, sizes=(2,), workers=2)
    assert result.objective <= plan_objective(data, start) + 1e-9 and result.improved > 0
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])


def test_batches_hold_disjoint_neighbourhoods_and_keep_the_rest_in_order():
    from collections import deque

    from redistrict.model.lns import _next_batch

    hoods = deque([(0, 1), (1, 2), (2, 3), (3, 4), (5, 6)])
    assert _next_batch(hoods, set(), 2) == [(0, 1), (2, 3)]
    assert list(hoods) == [(1, 2), (3, 4), (5, 6)]
    assert _next_batch(hoods, {3}, 2) == [(1, 2), (5, 6)]  # (3, 4) has a redrawn unit: next pass
    assert list(hoods) == []


def test_the_iterated_search_keeps_the_best_plan_and_every_rule(monkeypatch):
    """Perturbations only ever replace the local optimum by a strictly better plan, keep locks and
    candidate centres, and end after PATIENCE idle rounds instead of holding the deadline."""
    monkeypatch.setattr(lns, "PATIENCE", 6)
    cost = _SquaredDistance(5, 50)
    data = delaunay_input(5, 50, 6, 0.25, assign_cost=cost, cut_weight=0.0, candidates=np.arange(0, 50, 2), same_unit=[(0, 48)])
    start = centres_of(data, construct_plan(data, seed=1))
    plain = improve(data, start, solve=solve_model, objective_of=plan_objective, deadline=time.perf_counter() + 600)
    iterated = improve(data, start, solve=solve_model, objective_of=plan_objective, deadline=time.perf_counter() + 600, perturb=True, seed=3)
    assert not iterated.stopped_by_time  # patience ended it, not the deadline
    assert iterated.perturbations > 0
    assert iterated.objective <= plain.objective + 1e-9
    assert iterated.objective == plan_objective(data, iterated.centre_of)
    assert iterated.local_optimum == [2, 3]  # the best plan is a local optimum for both sizes
    plan = iterated.centre_of
    assert set(np.unique(plan).tolist()) <= set(range(0, 50, 2)) and plan[0] == plan[48]
    assert_valid(data, np.unique(plan, return_inverse=True)[1])


def test_iterate_until_ends_the_iterated_search_early_and_leaves_the_local_optimum():
    """The time after ``iterate_until`` is the caller's (boundary smoothing): no perturbation
    starts after it, while the descent before it is not cut short."""
    data = delaunay_input(5, 50, 6, 0.25, assign_cost=_SquaredDistance(5, 50), cut_weight=0.0)
    start = centres_of(data, construct_plan(data, seed=1))
    deadline = time.perf_counter() + 600
    early = improve(data, start, solve=solve_model, objective_of=plan_objective, deadline=deadline, perturb=True, seed=3, iterate_until=time.perf_counter())
    assert early.perturbations == 0 and early.local_optimum == [2, 3]
    assert time.perf_counter() < deadline - 500


def test_an_alternative_start_far_behind_after_pairs_is_not_descended_by_triples(monkeypatch):
    data = delaunay_input(5, 50, 6, 0.25, assign_cost=_SquaredDistance(5, 50), cut_weight=0.0)
    good = improve(data, centres_of(data, construct_plan(data, seed=1)), solve=solve_model, objective_of=plan_objective, deadline=None).centre_of
    poor = centres_of(data, construct_plan(data, seed=2))
    tried = []
    real = lns._descend
    monkeypatch.setattr(lns, "_descend", lambda search, sizes: tried.append(tuple(sizes)) or real(search, sizes))
    monkeypatch.setattr(lns, "ALTERNATIVE_MARGIN", -1.0)  # every alternative counts as far behind
    result = improve(data, good, solve=solve_model, objective_of=plan_objective, deadline=None, alternatives=[poor])
    assert tried == [(2, 3), (2,)]
    assert result.objective <= plan_objective(data, good) + 1e-9


def test_a_restored_plan_does_not_inherit_neighbourhoods_tried_on_a_discarded_one():
    from redistrict.model.lns import _Search

    data = delaunay_input(2, 60, 6, 0.25, assign_cost=_SquaredDistance(2, 60), cut_weight=0.0)
    search = _Search(data, centres_of(data, construct_plan(data, seed=0)), solve=solve_model, objective_of=plan_objective, deadline=None, solver="highs", threads=None, progress=None)
    best = search.snapshot()
    rng = np.random.default_rng(0)
    assert search.perturb(rng)
    first = set(search.version.values())
    search.restore(best)
    assert search.perturb(rng)
    assert not first & set(search.version.values())  # fresh versions: no key can repeat


def test_alternative_starts_are_descended_and_the_best_local_optimum_is_kept():
    data = delaunay_input(6, 50, 5, 0.2, cut_weight=1.0)
    # from seed 2 the descent ends at 39 cut edges, from seed 1 at 36: the alternative must win
    first, second = (centres_of(data, construct_plan(data, seed=s)) for s in (2, 1))
    alone = [improve(data, plan, solve=solve_model, objective_of=plan_objective, deadline=None, sizes=(2,)).objective for plan in (first, second)]
    both = improve(data, first, solve=solve_model, objective_of=plan_objective, deadline=None, sizes=(2,), alternatives=[second])
    assert both.objective <= min(alone) + 1e-9
    assert both.objective == plan_objective(data, both.centre_of)
    assert both.local_optimum == [2]
    assert_valid(data, np.unique(both.centre_of, return_inverse=True)[1])


def test_recentring_re_solves_the_whole_plan_and_never_worsens_it(monkeypatch):
    from test_model_allocate import compact_input

    data = compact_input(7, 60, 4, 0.15)
    start = centres_of(data, construct_plan(data, seed=0))
    events: list[dict] = []
    search = lns._Search(data, start, solve=solve_model, objective_of=plan_objective, deadline=time.perf_counter() + 30, solver="highs", threads=1, progress=events.append)
    lns._descend(search, (2,))
    before = plan_objective(data, search.plan)
    lns._recentre(search, (2,))
    # on this layer the pair local optimum (522.0) is improved by the whole re-solve (489.3)
    assert search.result.recentre_improved >= 1
    assert plan_objective(data, search.plan) < before - 1.0
    assert any(e["phase"] == "improve (re-centring)" for e in events)  # the live line says so
    assert_valid(data, np.unique(search.plan, return_inverse=True)[1])
    # a plan that no re-solve improved is left as it was
    again = search.plan.copy()
    lns._recentre(search, (2,))
    assert np.array_equal(search.plan, again)
    # a piece above the size where the exact model keeps its time limit is not re-centred
    tried = search.result.recentred
    monkeypatch.setattr(lns, "RECENTRE_MAX_NODES", data.n - 1)
    lns._recentre(search, (2,))
    assert search.result.recentred == tried
