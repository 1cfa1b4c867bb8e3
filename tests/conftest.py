"""Shared fixtures: small synthetic block layouts built in code (no files from ../shared)."""

from __future__ import annotations

import os
import shutil

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, settings
from shapely.geometry import LineString, box

# Hypothesis profiles: "ci" (the default) replays the same examples on every run, so a failure in
# CI reproduces anywhere; "dev" draws fresh examples and keeps failures in .hypothesis/;
# "thorough" draws many more.  Choose with HYPOTHESIS_PROFILE=dev|thorough.
_SLOW_OK = [HealthCheck.too_slow]
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True, suppress_health_check=_SLOW_OK)
settings.register_profile("dev", deadline=None, print_blob=True, suppress_health_check=_SLOW_OK)
settings.register_profile("thorough", max_examples=500, deadline=None, print_blob=True, suppress_health_check=_SLOW_OK)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: UTM zone 50N, where Tunxi lies; layouts are built in metres there.
UTM50 = "EPSG:32650"
ORIGIN = (626_700.0, 3_287_000.0)  # about 118.31°E, 29.71°N


def make_grid(
    rows: int = 3,
    cols: int = 3,
    *,
    size: float = 100.0,
    gap: float = 15.0,
    households=None,
    crs: str = "EPSG:4326",
    community=None,
) -> gpd.GeoDataFrame:
    """A rows×cols grid of square blocks separated by road gaps of ``gap`` metres.

    Block ids are ``r{row}c{col}``; households default to 100 each.
    """
    x0, y0 = ORIGIN
    records = []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            x = x0 + c * (size + gap)
            y = y0 + r * (size + gap)
            hh = 100 if households is None else households[i]
            records.append(
                {
                    "block_id": f"r{r}c{c}",
                    "households": hh,
                    "population": int(hh * 2.4) if hh is not None else None,
                    "community": community[i] if community is not None else "A",
                    "subdistrict": "S",
                    "name": f"小区{i}",
                    "geometry": box(x, y, x + size, y + size),
                }
            )
    gdf = gpd.GeoDataFrame(records, crs=UTM50)
    return gdf.to_crs(crs) if crs != UTM50 else gdf


def vertical_line(x_offset: float, *, crs: str = UTM50, length: float = 2000.0) -> gpd.GeoDataFrame:
    """A north–south line (a river) ``x_offset`` metres east of the grid origin."""
    x0, y0 = ORIGIN
    line = LineString([(x0 + x_offset, y0 - 500), (x0 + x_offset, y0 + length)])
    gdf = gpd.GeoDataFrame({"name": ["river"]}, geometry=[line], crs=UTM50)
    return gdf.to_crs(crs) if crs != UTM50 else gdf


@pytest.fixture
def grid3():
    """A 3×3 grid of 100 m blocks with 15 m road gaps, in WGS84, 100 households each."""
    return make_grid()


def strip_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The same layer with no CRS at all (as from a Shapefile without .prj)."""
    data = gdf.drop(columns=gdf.geometry.name)
    return gpd.GeoDataFrame(data, geometry=list(gdf.geometry), crs=None)


def utm_blocks(rows: int = 3, cols: int = 3, **kwargs) -> gpd.GeoDataFrame:
    """``make_grid`` in UTM 50N, indexed by block id: the shape ``build_graph`` expects."""
    return make_grid(rows, cols, crs=UTM50, **kwargs).set_index("block_id")


# --- a real browser for the page tests (test_maps_browser, test_edit_browser) --------------------

#: Debian's Chromium (never downloaded); the browser tests skip without it
CHROMIUM = os.environ.get("REDISTRICT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (the modules skip before this when it is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
