"""Chains of single-block moves: excess passed to the room several units away, never breaking a unit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_model_construct import assert_valid, delaunay_input

from redistrict.model._graph import Adjacency, components
from redistrict.model.chains import LONG_CHAINS, _Units, pass_along
from redistrict.model.construct import centres_of, construct_plan
from redistrict.model.data import ModelInput
from redistrict.model.mend import total_violation
from redistrict.model.relax import widened


def strip(sizes: list[int], weight: int = 5, **kwargs) -> tuple[ModelInput, np.ndarray]:
    """A path of blocks of ``weight`` households cut into units of ``sizes`` blocks, each unit's
    centre its leftmost block; bounds 25–30."""
    n = sum(sizes)
    data = ModelInput(n=n, weights=[weight] * n, edges=[(i, i + 1) for i in range(n - 1)], k=len(sizes), lower=25, upper=30, **kwargs)
    starts = np.cumsum([0, *sizes[:-1]])
    return data, np.repeat(starts, sizes)


def test_an_excess_is_passed_through_full_units_to_the_room_three_units_away():
    data, plan = strip([7, 6, 6, 5])  # 35 | 30 | 30 | 25: the only room is in the last unit
    result = pass_along(data, plan)
    assert (result.violation_before, result.violation, result.chains, result.moves) == (5, 0, 1, 3)
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])
    assert set(result.centre_of.tolist()) == set(plan.tolist())  # every centre stays in its unit


def test_a_guided_chain_knows_how_far_each_unit_lies_from_room():
    # a path of 8 blocks of 10 in units {0 1 2} {3 4} {5 6} {7}: room below 40 of 10, 20, 20, 30
    data = ModelInput(n=8, weights=[10] * 8, edges=[(i, i + 1) for i in range(7)], k=4, lower=10, upper=40)
    units = _Units(data, np.array([0, 0, 0, 3, 3, 5, 5, 7]))
    units.guide = {}
    assert units.hops(over=True, need=25) == {7: 0, 5: 1, 3: 2, 0: 3}  # room for 25: the last unit only
    assert units.hops(over=True, need=300) == {}  # room for 300 households: nowhere
    data, plan = strip([7, 6, 6, 5])  # the guided long search clears what the short one does
    result = pass_along(data, plan, limits=LONG_CHAINS)
    assert (result.violation, result.chains, result.moves) == (0, 1, 3)


def test_a_unit_under_the_bound_pulls_along_the_chain():
    data, plan = strip([6, 5, 5, 4])  # 30 | 25 | 25 | 20: the last unit takes from its left
    result = pass_along(data, plan)
    assert result.violation == 0 and result.moves == 3
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])


def test_a_locked_block_never_moves_and_a_failed_chain_leaves_the_plan_as_it_was():
    # the only block the first unit can give (6, on its border) is locked to its centre
    data, plan = strip([7, 6, 6, 5], same_unit=((0, 6),))
    result = pass_along(data, plan)
    assert result.violation == 5 and result.chains == 0
    assert (result.centre_of == plan).all()


def test_an_excess_no_one_chain_can_carry_is_split_over_partial_chains():
    # 25 | 40 | 25 in blocks of 5, bounds 25-30: no single move clears the middle unit (10 over),
    # but one block to each side does, in two chains that each leave it nearer its bound
    data, plan = strip([5, 8, 5])
    plan[5:13] = 8  # the middle unit's centre in its middle, so both its end blocks may move
    result = pass_along(data, plan)
    assert (result.violation_before, result.violation, result.chains, result.moves) == (10, 0, 2, 2)
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])


def test_a_swap_moves_the_difference_where_no_single_block_can_go():
    # 0 1 2 3     A = {0 1 2 4} holds 33 (centre 0), B = {3 5 6 7} 27 (centre 7), bounds 25-30:
    # 4 5 6 7     A giving block 4 leaves B over with nowhere to go, block 1 breaks A, block 2 (13)
    #             leaves A under; swapping block 2 (13) for block 5 (10) moves 3 households
    edges = [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (6, 7), (0, 4), (1, 5), (2, 6), (3, 7)]
    data = ModelInput(n=8, weights=[6, 7, 13, 6, 7, 10, 5, 6], edges=edges, k=2, lower=25, upper=30)
    plan = np.array([0, 0, 0, 7, 0, 7, 7, 7])
    assert (3, ((2, 7), (5, 0))) in _Units(data, plan).transfers(0, 7)
    result = pass_along(data, plan)
    assert result.violation == 0 and result.moves == 2
    assert result.centre_of.tolist() == [0, 0, 7, 7, 0, 0, 7, 7]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(30, 120), k=st.integers(2, 8))
def test_chains_never_raise_the_violation_and_keep_every_unit_whole(seed, n, k):
    data = delaunay_input(seed, n, k, 0.01, same_unit=((0, 1),))  # bounds 1 % around the mean
    label = construct_plan(data, seed=seed, restarts=2, slack=150)  # most plans leave them
    if label is None:
        return
    plan = centres_of(widened(data, 150), label)
    result = pass_along(data, plan, limits=LONG_CHAINS)
    assert result.violation == total_violation(data, result.centre_of) <= result.violation_before
    assert result.violation_before == total_violation(data, plan)
    after = np.unique(result.centre_of, return_inverse=True)[1]
    adj = Adjacency.from_edges(data.n, data.edges)
    assert len(np.unique(components(adj, after))) == data.k  # every unit one connected part
    assert set(result.centre_of.tolist()) == set(plan.tolist())
    assert (result.centre_of[result.centre_of] == result.centre_of).all()  # each centre in its own unit
    assert result.centre_of[0] == result.centre_of[1]  # the locked pair stays together
