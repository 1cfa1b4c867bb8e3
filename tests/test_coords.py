"""The working CRS (local and metric, never Web Mercator); WGS84 ↔ GCJ-02: reference values,
exact inverse, points outside China, GeoDataFrames."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from conftest import make_grid
from shapely.geometry import Point, box

from redistrict.coords import (
    MAX_SCALE_ERROR,
    convert_gdf,
    from_gcj02,
    gcj02_to_wgs84,
    in_china,
    local_metric_crs,
    scale_error,
    to_gcj02,
    wgs84_to_gcj02,
    working_crs,
)

#: (WGS84 lon, lat, GCJ-02 lon, lat) — the reference values of the widely used eviltransform tests
REFERENCE = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]


@pytest.mark.parametrize(("lon", "lat", "glon", "glat"), REFERENCE)
def test_reference_values(lon, lat, glon, glat):
    x, y = wgs84_to_gcj02(lon, lat)
    assert isinstance(x, float) and isinstance(y, float)
    assert x == pytest.approx(glon, abs=1e-8) and y == pytest.approx(glat, abs=1e-8)
    back = gcj02_to_wgs84(glon, glat)
    assert back[0] == pytest.approx(lon, abs=1e-8) and back[1] == pytest.approx(lat, abs=1e-8)


def test_inverse_is_exact_to_well_below_1e_6_degrees_vectorised():
    rng = np.random.default_rng(1)
    lon = rng.uniform(100, 122, 5000)
    lat = rng.uniform(22, 41, 5000)
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert glon.shape == lon.shape
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert np.abs(wlon - lon).max() < 1e-9 and np.abs(wlat - lat).max() < 1e-9
    offset = np.hypot(glon - lon, glat - lat)
    inside = in_china(lon, lat)
    assert inside.mean() > 0.9  # the box is mostly mainland China (Taiwan and Vietnam are not)
    assert offset[inside].min() > 1e-4 and offset.max() < 0.02  # tens to hundreds of metres
    assert (offset[~inside] == 0).all()


def test_offset_at_tunxi_is_a_few_hundred_metres():
    lon, lat = 118.31, 29.71
    glon, glat = wgs84_to_gcj02(lon, lat)
    metres = np.hypot((glon - lon) * 111_320 * np.cos(np.radians(lat)), (glat - lat) * 110_570)
    assert 100 < metres < 1000


def test_points_outside_china_are_unchanged():
    lon = np.array([139.69, -0.13, 121.56, 2.35, 118.31])  # Tokyo, London, Taipei, Paris, Tunxi
    lat = np.array([35.69, 51.51, 25.04, 48.86, 29.71])
    assert in_china(lon, lat).tolist() == [False, False, False, False, True]
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert np.array_equal(glon[:4], lon[:4]) and np.array_equal(glat[:4], lat[:4])
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    assert np.array_equal(wlon[:4], lon[:4]) and np.array_equal(wlat[:4], lat[:4])
    assert glon[4] != lon[4]


def test_in_china_scalars_and_shapes():
    assert in_china(116.4, 39.9) is True
    assert in_china(-74.0, 40.7) is False
    grid = in_china(np.full((2, 3), 116.4), np.full((2, 3), 39.9))
    assert grid.shape == (2, 3) and grid.all()


def test_geodataframe_round_trip_from_any_crs():
    blocks = make_grid(2, 2, crs="EPSG:32650")
    gcj = to_gcj02(blocks)
    assert gcj.crs.to_epsg() == 4326 and gcj.attrs["coords"] == "gcj02"
    wgs = blocks.to_crs("EPSG:4326")
    assert not np.allclose(gcj.geometry.iloc[0].exterior.coords, wgs.geometry.iloc[0].exterior.coords)
    back = from_gcj02(gcj)
    assert back.attrs["coords"] == "wgs84"
    for a, b in zip(back.geometry, wgs.geometry, strict=True):
        assert np.abs(np.asarray(a.exterior.coords) - np.asarray(b.exterior.coords)).max() < 1e-9
    assert list(back["block_id"]) == list(blocks["block_id"])
    assert blocks.crs.to_epsg() == 32650  # the input is not modified


def test_gcj02_input_must_be_lon_lat():
    pts = gpd.GeoDataFrame(geometry=[Point(626_700, 3_287_000)], crs="EPSG:32650")
    with pytest.raises(ValueError, match="lon/lat"):
        from_gcj02(pts)
    with pytest.raises(ValueError, match="no CRS"):
        from_gcj02(gpd.GeoDataFrame(geometry=[Point(118, 29)]))
    with pytest.raises(ValueError, match="one of"):
        convert_gdf(pts, "bd09", "wgs84")
    cgcs = gpd.GeoDataFrame(geometry=[Point(118.31, 29.71)], crs="EPSG:4490")
    assert from_gcj02(cgcs).crs.to_epsg() == 4326


# --- the working CRS ----------------------------------------------------------------------------


def layer_at(lon: float, lat: float, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[box(lon, lat, lon + 0.01, lat + 0.01)], crs="EPSG:4326").to_crs(crs)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (118.31, 29.71, 4548),  # Tunxi: CGCS2000 / 3-degree Gauss-Kruger CM 117E
        (75.9, 39.5, 4534),  # Kashgar: CM 75E
        (126.6, 45.7, 4551),  # Harbin: CM 126E
        (2.35, 48.85, 32631),  # Paris: UTM 31N
        (151.2, -33.9, 32756),  # Sydney: UTM 56S
    ],
)
def test_working_crs_is_the_local_metric_zone(lon, lat, epsg):
    crs = working_crs(layer_at(lon, lat))
    assert crs.to_epsg() == epsg
    assert scale_error(crs, [lon], [lat]) < MAX_SCALE_ERROR


def test_web_mercator_is_never_the_working_crs():
    mercator = layer_at(118.31, 29.71, "EPSG:3857")
    assert scale_error(mercator.crs, [118.31], [29.71]) == pytest.approx(0.151, abs=0.005)  # 1/cos(29.7°) - 1
    assert working_crs(mercator).to_epsg() == 4548


def test_a_local_projected_crs_the_layer_came_in_is_kept():
    for epsg in (4548, 32650):  # the bureau's Gauss-Kruger zone, or UTM 50N
        assert working_crs(layer_at(118.31, 29.71, f"EPSG:{epsg}")).to_epsg() == epsg
    # a UTM zone two zones away distorts distances by ~2 %: not kept
    assert working_crs(layer_at(118.31, 29.71, "EPSG:32648")).to_epsg() == 4548


@pytest.mark.parametrize("lat", [89.5, -85.0])
def test_near_a_pole_a_local_azimuthal_equidistant_projection(lat):
    crs = working_crs(layer_at(10.0, lat))
    assert crs.is_projected and crs.coordinate_operation.method_name == "Azimuthal Equidistant"
    assert scale_error(crs, [10.0, 10.01], [lat, lat + 0.01]) < 1e-4
    assert local_metric_crs(10.005, lat + 0.005).equals(crs)  # centred on the layer
