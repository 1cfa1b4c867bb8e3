"""Mending: a plan outside the bounds at a few units is brought within them, never made worse."""

from __future__ import annotations

import time

import numpy as np
from test_model_construct import assert_valid, delaunay_input

from redistrict.model import ModelInput, construct, solve_model
from redistrict.model import mend as mending
from redistrict.model.construct import construct_plan
from redistrict.model.mend import construct_and_mend, mend, total_violation


def path_input() -> ModelInput:
    """Six blocks in a row, 100 households each, two units of 250–350."""
    return ModelInput(n=6, weights=[100] * 6, edges=[(i, i + 1) for i in range(5)], k=2, lower=250, upper=350)


def test_total_violation_sums_each_unit_outside_the_bounds():
    data = path_input()
    assert total_violation(data, np.array([0, 0, 0, 3, 3, 3])) == 0
    assert total_violation(data, np.array([0, 0, 2, 2, 2, 2])) == 50 + 50  # 200 and 400 households


def test_a_plan_outside_the_bounds_is_mended():
    data = path_input()
    result = mend(data, np.array([0, 0, 2, 2, 2, 2]), solve=solve_model, deadline=None)
    assert result.violation == 0 and result.accepted == 1
    label = np.unique(result.centre_of, return_inverse=True)[1]
    assert_valid(data, label)


def test_tight_plans_that_trees_miss_are_constructed_and_mended(monkeypatch):
    monkeypatch.setattr(construct, "TUNE_MAX_NODES", 0)  # trees alone, so the strict construction misses
    monkeypatch.setattr(construct, "LEAF_SEARCH_UNITS", 0)
    cases = [delaunay_input(seed, 80, 8, 0.003) for seed in range(8)]
    missed = [data for data in cases if construct_plan(data, seed=0, restarts=1) is None]
    assert missed
    mended = 0
    for data in missed:
        result = construct_and_mend(data, solve=solve_model, deadline=None)
        if result.centre_of is None:
            continue
        assert result.violation == total_violation(data, result.centre_of)
        if result.violation == 0:
            mended += 1
            assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])
    assert mended >= 1


def test_larger_neighbourhoods_are_connected_and_hold_a_unit_outside_the_bounds():
    from redistrict.model.lns import unit_graph
    from redistrict.model.mend import _hoods

    data = ModelInput(n=10, weights=[100] * 10, edges=[(i, i + 1) for i in range(9)], k=5, lower=200, upper=200)
    plan = np.array([0, 0, 2, 2, 4, 4, 4, 7, 8, 8])  # units by centre: 4 holds 300, 7 holds 100
    near = unit_graph(data, plan)
    for size in (4, 5):
        hoods = _hoods(data, plan, size)
        assert hoods and all(len(h) == size and ({4, 7} & set(h)) for h in hoods)
        for hood in hoods:  # connected in the unit graph
            reached, todo = {hood[0]}, [hood[0]]
            while todo:
                todo += [v for v in near[todo.pop()] & set(hood) if v not in reached and not reached.add(v)]
            assert reached == set(hood)
    result = mend(data, plan, solve=solve_model, deadline=None)
    assert result.violation == 0


def test_mending_passes_excess_along_a_chain_to_room_beyond_its_neighbourhoods():
    from test_model_chains import strip

    data, plan = strip([7, 6, 6, 5])  # 35 | 30 | 30 | 25: no union of 2 or 3 units fits its count
    result = mend(data, plan, solve=solve_model, deadline=None)
    assert result.violation == 0 and result.chains == 1 and result.accepted == 0
    assert result.to_dict()["chains"] == 1
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])


def test_a_large_piece_is_mended_by_regions_in_worker_processes(monkeypatch):
    monkeypatch.setattr(mending, "REGION_UNITS", 4)  # in this process only: the workers mend whole regions
    data = delaunay_input(1, 160, 12, 0.01)
    result = construct_and_mend(data, solve=solve_model, deadline=time.perf_counter() + 60, workers=2)
    assert result.regions >= 3
    assert result.violation == 0 == total_violation(data, result.centre_of)
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])


def test_regions_are_cut_anew_with_the_next_seed_while_the_joined_plan_stays_outside(monkeypatch):
    monkeypatch.setattr(mending, "REGION_UNITS", 4)
    real, seeds = mending._by_regions, []

    def stalls_first(data, parts, **options):
        seeds.append(options["seed"])
        found = real(data, parts, **options)
        if len(seeds) == 1:  # as if the joined plan's mending had stalled 7 households outside
            found.violation = 7
        return found

    monkeypatch.setattr(mending, "_by_regions", stalls_first)
    data = delaunay_input(1, 160, 12, 0.01)
    result = construct_and_mend(data, solve=solve_model, deadline=time.perf_counter() + 60, seed=3, workers=2)
    assert seeds == [3, 4]
    assert result.violation == 0 == total_violation(data, result.centre_of)
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])
