"""Boundary smoothing: shorter boundaries for at most a small share of the objective, every rule kept."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_model_allocate import compact_input
from test_model_construct import assert_valid

from redistrict.model import smooth, solve_model
from redistrict.model.backends import plan_boundary, plan_objective
from redistrict.model.construct import centres_of, construct_plan
from redistrict.model.lns import improve
from redistrict.model.strategy import PieceTask, solve_piece


def compact_optimum(seed: int):
    """A random layer with a compactness cost and no boundary term, and a local optimum of it."""
    data = compact_input(seed, 60, 4, 0.2, cut_weight=0.0)
    start = centres_of(data, construct_plan(data, seed=0))
    return data, improve(data, start, solve=solve_model, objective_of=plan_objective, deadline=None).centre_of


def smoothed(data, plan):
    return smooth.smooth_boundaries(data, plan, solve=solve_model, objective_of=plan_objective, deadline=None)


def test_smoothing_shortens_the_boundary_of_a_compact_plan_for_a_small_cost():
    data, plan = compact_optimum(4)
    done = smoothed(data, plan)
    assert done.kept
    assert done.cut_edges_after < done.cut_edges_before and done.boundary_after < done.boundary_before
    assert done.objective_before == pytest.approx(plan_objective(data, plan))
    assert done.objective_after == pytest.approx(plan_objective(data, done.centre_of))
    assert done.objective_before <= done.objective_after <= done.objective_before * (1 + smooth.SMOOTH_MAX_COST)
    assert plan_boundary(data, done.centre_of) == (done.boundary_after, done.cut_edges_after)
    assert_valid(data, np.unique(done.centre_of, return_inverse=True)[1])


def test_a_smoothing_that_costs_more_than_allowed_is_not_kept(monkeypatch):
    data, plan = compact_optimum(4)
    monkeypatch.setattr(smooth, "SMOOTH_MAX_COST", 0.0)  # seed 4 smooths for +0.17 %
    done = smoothed(data, plan)
    assert not done.kept
    assert np.array_equal(done.centre_of, plan) and done.objective_after == done.objective_before


def test_smoothing_applies_only_without_a_boundary_term_of_its_own():
    data, plan = compact_optimum(1)
    assert smooth.applies(data)
    for other in (dataclasses.replace(data, cut_weight=1.0), dataclasses.replace(data, assign_cost=None, cut_weight=1.0), dataclasses.replace(data, relax=True)):
        assert not smooth.applies(other)
        assert smoothed(other, plan) is None


@pytest.mark.parametrize("wanted", [True, False])
def test_a_heuristic_piece_records_its_smoothing_and_drops_its_local_optimum_claim(wanted):
    data, _ = compact_optimum(4)
    result = solve_piece(PieceTask(data, method="heuristic", time_limit=8.0, smooth=wanted))
    assert result.status == "heuristic"
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])
    if not wanted:
        assert "smoothing" not in result.improvement
        return
    done = result.improvement["smoothing"]
    assert done["objective_after"] == pytest.approx(result.objective)
    if done["kept"]:
        assert result.improvement["local_optimum_for"] == []
        assert done["cut_edges_after"] < done["cut_edges_before"]
