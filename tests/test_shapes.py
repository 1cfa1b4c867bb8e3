"""Unit shapes and their compactness: Polsby-Popper and Reock on known shapes, road gaps closed."""

import math

import pytest
from conftest import make_grid
from shapely.geometry import Point, box

from redistrict import shapes


def test_polsby_popper_and_reock_of_known_shapes():
    square = box(0, 0, 100, 100)
    assert shapes.polsby_popper(square) == pytest.approx(math.pi / 4)
    assert shapes.reock(square) == pytest.approx(2 / math.pi, rel=1e-9)
    circle = Point(0, 0).buffer(100, quad_segs=256)
    assert shapes.polsby_popper(circle) == pytest.approx(1.0, abs=1e-3)
    assert shapes.reock(circle) == pytest.approx(1.0, abs=1e-3)
    strip = box(0, 0, 1000, 100)
    assert shapes.polsby_popper(strip) < 0.3 and shapes.reock(strip) < 0.15


def test_compactness_closes_road_gaps_between_blocks():
    """A 2×2 block unit with 15 m roads is measured as one 215 m square, not four islands."""
    blocks = make_grid(2, 2, crs="EPSG:32650").set_index("block_id")
    blocks["unit_id"] = "U1"
    comp = shapes.compactness(blocks)
    assert comp.loc["U1", "polsby_popper"] == pytest.approx(math.pi / 4, abs=2e-3)
    assert comp.loc["U1", "reock"] == pytest.approx(2 / math.pi, abs=2e-3)
    wgs = blocks.to_crs("EPSG:4326")  # any CRS: measured in metres all the same
    assert shapes.compactness(wgs).loc["U1", "reock"] == pytest.approx(comp.loc["U1", "reock"], abs=2e-3)
