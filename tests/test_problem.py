"""The arithmetic of bounds: which unit counts fit, and the nearest bounds when none does."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redistrict.errors import InputError
from redistrict.problem import explain_bounds, feasible_unit_counts, unit_count_options


def test_fuxin_cannot_be_split_and_the_message_gives_both_averages():
    assert feasible_unit_counts(9242, 2500, 3000) == []
    text = explain_bounds(9242, 2500, 3000, name="阜新")
    assert "cannot form units of 2,500–3,000" in text
    assert "3 units would average 3,081" in text
    assert "4 units would average 2,310" in text
    assert "2,500–3,081 (3 units)" in text and "2,310–3,000 (4 units)" in text


def test_yuejin_7200_cannot_be_split():
    assert feasible_unit_counts(7200, 2500, 3000) == []
    options = unit_count_options(7200, 2500, 3000)
    assert [(o.k, o.max_needed, o.min_needed) for o in options] == [(2, 3600, 2500), (3, 3000, 2400)]


def test_joint_total_fits_six_units():
    assert feasible_unit_counts(16_300, 2500, 3000) == [6]
    assert "can form 6 unit(s)" in explain_bounds(16_300, 2500, 3000)


def test_small_total_needs_a_lower_minimum():
    (option,) = unit_count_options(2000, 2500, 3000)
    assert (option.k, option.min_needed, option.fits) == (1, 2000, False)


def test_bad_bounds_are_input_errors():
    with pytest.raises(InputError, match="above the maximum"):
        feasible_unit_counts(5000, 3000, 2500)
    with pytest.raises(InputError, match="positive"):
        feasible_unit_counts(5000, 0, 0)


@given(st.integers(1, 200_000), st.integers(1, 5000), st.integers(0, 3000))
def test_feasible_counts_are_exactly_the_k_that_fit(total, lower, extra):
    upper = lower + extra
    ks = feasible_unit_counts(total, lower, upper)
    brute = [k for k in range(1, total // lower + 2) if k * lower <= total <= k * upper]
    assert ks == brute


@given(st.integers(1, 200_000), st.integers(1, 5000), st.integers(0, 3000))
def test_nearest_bounds_always_admit_their_k(total, lower, extra):
    upper = lower + extra
    for option in unit_count_options(total, lower, upper):
        assert option.k * option.min_needed <= total <= option.k * option.max_needed
        assert option.min_needed <= lower and option.max_needed >= upper


# --- the resolved, immutable Problem ----------------------------------------------------------


def _grid_problem(**kwargs):
    import networkx as nx

    from redistrict.problem import Problem

    graph = nx.grid_2d_graph(3, 4)
    graph = nx.relabel_nodes(graph, {(r, c): f"r{r}c{c}" for r, c in graph.nodes})
    for node in graph.nodes:
        graph.nodes[node].update(households=100, x=0.0, y=0.0)
    return Problem(graph=graph, **kwargs)


def test_problem_is_frozen_and_keeps_the_asked_for_k_apart_from_the_resolved_count():
    import dataclasses

    problem = _grid_problem(lower=300, upper=400)
    assert problem.k is None and problem.unit_count == 3  # 1,200 households: the fewest units that fit
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.lower = 100  # type: ignore[misc]


def test_replace_re_resolves_the_unit_count_instead_of_keeping_a_derived_one():
    import dataclasses

    problem = _grid_problem(lower=300, upper=400)
    wider = dataclasses.replace(problem, lower=100, upper=150)  # 3 units cannot fit these bounds
    assert wider.k is None and wider.unit_count == 8
    assert "k=8" in wider.k_reason
    given = dataclasses.replace(_grid_problem(lower=300, upper=400, k=4), upper=300)
    assert given.unit_count == 4 and "as given" in given.k_reason


def test_replace_validates_again():
    import dataclasses

    problem = _grid_problem(lower=300, upper=400, k=3)
    with pytest.raises(InputError, match="--k 3 cannot fit"):
        dataclasses.replace(problem, lower=500, upper=600)


def test_keep_together_blocks_locked_to_different_units_are_an_input_error_naming_them():
    with pytest.raises(InputError, match="locked to different units") as caught:
        _grid_problem(lower=300, upper=400, keep_together={"r0c0": "g", "r0c1": "g"}, locks={"r0c0": "A", "r0c1": "B"})
    assert set(caught.value.ids) == {"r0c0", "r0c1"}
    assert "r0c0 → A" in str(caught.value) and "r0c1 → B" in str(caught.value)


def test_a_keep_together_group_that_is_not_connected_is_an_input_error():
    with pytest.raises(InputError, match="not connected") as caught:
        _grid_problem(lower=300, upper=400, keep_together={"r0c0": "g", "r2c3": "g"})
    assert set(caught.value.ids) == {"r0c0", "r2c3"}


def test_locks_and_groups_on_unknown_blocks_are_named():
    with pytest.raises(InputError, match="outside the problem") as caught:
        _grid_problem(lower=300, upper=400, locks={"nope": "A"})
    assert caught.value.ids == ["nope"]


def test_an_office_layer_with_its_own_block_id_column_is_placed_by_geometry():
    import geopandas as gpd
    from conftest import utm_blocks
    from shapely.geometry import Point

    from redistrict.problem import place_offices

    blocks = utm_blocks(2, 2)
    inside = blocks.geometry.iloc[3].centroid
    sites = gpd.GeoDataFrame({"site_id": ["S1"], "floor_area_m2": [400.0], "block_id": ["wrong"], "index_right": [7]}, geometry=[Point(inside.x, inside.y)], crs=blocks.crs)
    placed = place_offices(sites, blocks, min_area=300)
    assert placed["block_id"].tolist() == [str(blocks.index[3])]
