"""The LP bound: never above the optimum, on random layouts where the optimum is known."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_model_construct import delaunay_input

from redistrict.model import solve_model
from redistrict.model.bounds import lp_bound


class SquaredDistance:
    def __init__(self, seed: int, n: int):
        self.points = np.random.default_rng(seed).random((n, 2))

    def __call__(self, nodes, centres):
        return ((self.points[nodes] - self.points[centres]) ** 2).sum(axis=1) * 100


@settings(max_examples=12)
@given(seed=st.integers(0, 1000), n=st.integers(10, 28), k=st.integers(2, 3), edges=st.booleans())
def test_the_lp_bound_never_exceeds_the_optimum(seed, n, k, edges):
    data = delaunay_input(seed, n, k, 0.3, assign_cost=SquaredDistance(seed, n), cut_weight=1.0 if edges else 0.0)
    exact = solve_model(data, time_limit=60)
    bound = lp_bound(data, time_limit=30)
    if exact.status == "optimal":
        assert bound is not None and bound <= exact.objective + 1e-6 * max(1.0, abs(exact.objective))


def test_no_time_gives_no_bound():
    data = delaunay_input(1, 20, 2, 0.3, assign_cost=SquaredDistance(1, 20))
    assert lp_bound(data, time_limit=0.0) is None
