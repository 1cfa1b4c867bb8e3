"""A unit's shape and how compact it is: the one place for Polsby-Popper and Reock.

Blocks are separated by roads, so a unit's blocks are first merged with the road gaps between
them closed (a buffer out and back in by :data:`CLOSING_M`); the measures are taken on that shape.
Maps, the report, the output layers and the comparison all read them from here.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import shapely

from .coords import working_crs

#: road gaps up to twice this many metres are closed when blocks are merged into a unit's shape
CLOSING_M = 15.0


def closed_shape(geoms: gpd.GeoSeries, radius: float = CLOSING_M):
    """Blocks merged into one shape with the road gaps between them (≤ 2·radius) closed."""
    return shapely.union_all(geoms.buffer(radius, join_style="mitre").values).buffer(-radius, join_style="mitre")


def polsby_popper(geom) -> float:
    """4πA/P² (1 for a circle)."""
    return float(4 * math.pi * geom.area / geom.length**2) if geom.length > 0 else float("nan")


def reock(geom) -> float:
    """Area over the area of the minimum enclosing circle (1 for a circle).

    The circle's area is π·r² from ``shapely.minimum_bounding_radius`` (the polygon that
    ``minimum_bounding_circle`` returns is a slightly smaller approximation).
    """
    circle = math.pi * float(shapely.minimum_bounding_radius(geom)) ** 2
    return float(geom.area / circle) if circle > 0 else float("nan")


def compactness(blocks: gpd.GeoDataFrame, *, radius: float = CLOSING_M) -> pd.DataFrame:
    """Polsby-Popper and Reock of each unit, indexed by ``unit_id``.

    ``blocks`` carry a ``unit_id`` column; they are measured in their working metric CRS
    (:func:`~redistrict.coords.working_crs`), whatever CRS they come in.
    """
    blocks = blocks.to_crs(working_crs(blocks))
    rows = {}
    for unit_id, group in blocks.groupby("unit_id"):
        shape = closed_shape(group.geometry, radius)
        rows[unit_id] = {"polsby_popper": round(polsby_popper(shape), 3), "reock": round(reock(shape), 3)}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "unit_id"
    return frame
