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
