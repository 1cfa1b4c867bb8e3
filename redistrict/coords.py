"""Coordinates: the local metric CRS the work happens in, and WGS84 ↔ GCJ-02 ("Mars coordinates").

Distances and areas are measured in a local equal-distance projection (:func:`working_crs`): a
CGCS2000 3-degree Gauss–Krüger zone in China, a UTM zone elsewhere, an azimuthal equidistant
projection centred on the layer near the poles — never the CRS a layer came in unless that is
itself local and metric (Web Mercator inflates distances by 1/cos(latitude): +15 % at 30°N).

GCJ-02 is the offset datum of Chinese web maps.

Gaode/AMap and Tencent tiles, and much Chinese data digitised on them, are in GCJ-02: WGS84
lon/lat shifted by a few hundred metres by a published-by-reverse-engineering formula.  This
module applies that formula (vectorised with numpy), inverts it by fixed-point iteration to
better than 1e-9°, and leaves points outside mainland China unchanged, as the maps do.

GCJ-02 is not an EPSG CRS: a GeoDataFrame holding GCJ-02 coordinates is still labelled
EPSG:4326 (lon/lat); :func:`convert_gdf` notes the datum in ``gdf.attrs["coords"]``.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike
from pyproj import CRS, Proj, Transformer

from .errors import InputError

#: Datums accepted by :func:`convert_gdf` and ``--input-coords``.
COORDS = ("wgs84", "gcj02")
Coords = Literal["wgs84", "gcj02"]

_A = 6378245.0  # Krasovsky 1940 semi-major axis
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared

# Mainland China as rectangles (west, north, east, south), minus the rectangles that cut out
# Taiwan and the neighbouring countries the first set overlaps.  Coarse at the borders (a few
# km), exact enough for city data.
_INSIDE = np.array(
    [
        [79.446200, 49.220400, 96.330000, 42.889900],
        [109.687200, 54.141500, 135.000200, 39.374200],
        [73.124600, 42.889900, 124.143255, 29.529700],
        [82.968400, 29.529700, 97.035200, 26.718600],
        [97.025300, 29.529700, 124.367395, 20.414096],
        [107.975793, 20.414096, 111.744104, 17.871542],
    ]
)
_OUTSIDE = np.array(
    [
        [119.921265, 25.398623, 122.497559, 21.785006],
        [101.865200, 22.284000, 106.665000, 20.098800],
        [106.452500, 21.542200, 108.051000, 20.487800],
        [109.032300, 55.817500, 119.127000, 50.325700],
        [127.456800, 55.817500, 137.022700, 49.557400],
        [131.266200, 44.892200, 137.022700, 42.569200],
    ]
)


#: Largest scale error (relative) a projected CRS may have over a layer to be worked in as it is.
MAX_SCALE_ERROR = 0.0015
#: UTM is defined from 80°S to 84°N; beyond, a local azimuthal equidistant projection is used.
_UTM_LAT = (-80.0, 84.0)


def _layer_lonlat(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of the layer's bounding-box corners and centre (WGS84), for choosing a projection."""
    minx, miny, maxx, maxy = gdf.total_bounds
    xs = np.array([minx, maxx, maxx, minx, (minx + maxx) / 2])
    ys = np.array([miny, miny, maxy, maxy, (miny + maxy) / 2])
    if gdf.crs.is_geographic:
        lon, lat = xs, ys
    else:
        lon, lat = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise InputError(
            f"The layer's extent ({minx}, {miny}, {maxx}, {maxy} in {gdf.crs.to_string()}) cannot "
            "be placed on the earth; check its CRS and coordinates."
        )
    return lon, lat


def scale_error(crs: CRS, lon: ArrayLike, lat: ArrayLike) -> float:
    """The largest relative error of distances in ``crs`` at the given WGS84 points (0 = true).

    EPSG:3857 at 30°N gives 0.155; a UTM zone within its 6° gives at most ~0.001.
    """
    crs = CRS.from_user_input(crs)
    if not crs.is_projected or any(a.unit_name not in ("metre", "meter") for a in crs.axis_info):
        return float("inf")
    geographic = crs.geodetic_crs
    x, y = Transformer.from_crs("EPSG:4326", geographic, always_xy=True).transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    factors = Proj(crs).get_factors(x, y, errcheck=False)
    scales = np.concatenate([np.atleast_1d(factors.meridional_scale), np.atleast_1d(factors.parallel_scale)])
    return float(np.max(np.abs(scales - 1.0))) if np.isfinite(scales).all() else float("inf")


def local_metric_crs(lon: float, lat: float) -> CRS:
    """The local equal-distance projection at a point: CGCS2000 3° Gauss–Krüger in China
    (EPSG:4534–4554, central meridians 75°E–135°E), UTM elsewhere, azimuthal equidistant
    centred on the point beyond UTM's latitudes (80°S–84°N)."""
    if not (_UTM_LAT[0] <= lat <= _UTM_LAT[1]):
        return CRS.from_proj4(f"+proj=aeqd +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m +no_defs")
    if in_china(lon, lat):
        meridian = min(max(3 * round(lon / 3), 75), 135)
        return CRS.from_epsg(4534 + (meridian - 75) // 3)
    zone = min(int((lon + 180) // 6) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def working_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """The metric CRS to measure ``gdf`` in: its own when that is projected, in metres and
    true to within :data:`MAX_SCALE_ERROR` over the layer (e.g. the bureau's Gauss–Krüger
    zone), else :func:`local_metric_crs` at the layer's centre."""
    if gdf.crs is None:
        raise InputError("The layer has no CRS, so no metric projection can be chosen for it.")
    lon, lat = _layer_lonlat(gdf)
    if gdf.crs.is_projected and scale_error(gdf.crs, lon, lat) <= MAX_SCALE_ERROR:
        return CRS.from_user_input(gdf.crs)
    return local_metric_crs(float(lon[-1]), float(lat[-1]))


def _in_rects(lon: np.ndarray, lat: np.ndarray, rects: np.ndarray) -> np.ndarray:
    lon = lon[..., None]
    lat = lat[..., None]
    west, north, east, south = rects.T
    return ((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)).any(axis=-1)


def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray | bool:
    """True where a WGS84/GCJ-02 point lies in mainland China, where GCJ-02 applies.

    Scalars give a bool; arrays give a boolean array of their broadcast shape.
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    inside = _in_rects(x, y, _INSIDE) & ~_in_rects(x, y, _OUTSIDE)
    return bool(inside) if inside.ndim == 0 else inside


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS84 ``lon``, ``lat``."""
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def _result(x: np.ndarray, y: np.ndarray, scalar: bool):
    return (float(x), float(y)) if scalar else (x, y)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple:
    """WGS84 lon/lat → GCJ-02 lon/lat (degrees); points outside China are returned unchanged.

    Accepts scalars (returns two floats) or array-likes (returns two arrays).
    """
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    dlon, dlat = _offset(x, y)
    mask = np.asarray(in_china(x, y))
    return _result(np.where(mask, x + dlon, x), np.where(mask, y + dlat, y), scalar)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike, *, tol: float = 1e-10, max_iter: int = 30) -> tuple:
    """GCJ-02 lon/lat → WGS84 lon/lat, the exact inverse by fixed-point iteration.

    Iterates ``w ← w − (gcj(w) − g)`` until every point maps forward to within ``tol`` degrees
    (the offset varies slowly, so this converges in a handful of steps to ~1e-12°).  Whether a
    point is "in China" is decided on the given GCJ-02 coordinates; points outside are unchanged.
    """
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    gx, gy = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    mask = np.asarray(in_china(gx, gy))
    wx, wy = gx.copy(), gy.copy()
    for _ in range(max_iter):
        dlon, dlat = _offset(wx, wy)
        ex = wx + dlon - gx
        ey = wy + dlat - gy
        wx = wx - ex
        wy = wy - ey
        if not np.size(ex) or max(np.nanmax(np.abs(ex)), np.nanmax(np.abs(ey))) < tol:
            break
    return _result(np.where(mask, wx, gx), np.where(mask, wy, gy), scalar)


def transform_geometries(geoms: ArrayLike, func) -> np.ndarray:
    """Apply a coordinate function ``func(lon, lat) -> (lon, lat)`` to shapely geometries."""

    def xy(coords: np.ndarray) -> np.ndarray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), xy)


def convert_gdf(gdf: gpd.GeoDataFrame, source: Coords = "wgs84", target: Coords = "gcj02") -> gpd.GeoDataFrame:
    """A copy of ``gdf`` with its geometry moved from datum ``source`` to ``target``.

    For ``source="wgs84"`` the frame is first reprojected to EPSG:4326 (any CRS is accepted).
    For ``source="gcj02"`` it must already hold geographic lon/lat (EPSG:4326, or EPSG:4490 and
    other geographic CRSs, which are relabelled EPSG:4326), since GCJ-02 lon/lat cannot be
    reprojected.  The result is labelled EPSG:4326 and ``attrs["coords"]`` names the datum.
    """
    for value in (source, target):
        if value not in COORDS:
            raise ValueError(f"Coordinates must be one of {', '.join(COORDS)}, not {value!r}.")
    if gdf.crs is None:
        raise ValueError("The layer has no CRS; set one (EPSG:4326 for lon/lat) before converting coordinates.")
    if source == "wgs84":
        out = gdf.to_crs("EPSG:4326")
    else:
        if not gdf.crs.is_geographic:
            raise ValueError(f"GCJ-02 data must be lon/lat (a geographic CRS such as EPSG:4326), not {gdf.crs.to_string()}.")
        out = gdf.set_crs("EPSG:4326", allow_override=True)
    out = out.copy()
    if source != target:
        func = wgs84_to_gcj02 if target == "gcj02" else gcj02_to_wgs84
        out = out.set_geometry(transform_geometries(out.geometry.values, func), crs="EPSG:4326")
    out.attrs["coords"] = target
    return out


def to_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` (any CRS, WGS84 datum) as GCJ-02 lon/lat, for drawing on AMap/Tencent tiles."""
    return convert_gdf(gdf, "wgs84", "gcj02")


def from_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` holding GCJ-02 lon/lat (e.g. digitised on AMap) as true WGS84 lon/lat."""
    return convert_gdf(gdf, "gcj02", "wgs84")


__all__ = ["MAX_SCALE_ERROR", "local_metric_crs", "scale_error", "working_crs", "COORDS", "convert_gdf", "from_gcj02", "gcj02_to_wgs84", "in_china", "to_gcj02", "transform_geometries", "wgs84_to_gcj02"]
