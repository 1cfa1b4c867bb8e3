"""Write a run's output folder atomically: a temporary sibling folder, then one rename.

An interrupted or failed run leaves the previous results untouched and no partial folder behind;
a non-empty folder is only replaced with ``force=True``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .errors import InputError
from .plan import Plan


def check_target(out: str | os.PathLike, *, force: bool = False) -> Path:
    """Refuse a target that is a file, or a non-empty folder without ``force`` — before any work is done."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder.")
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError(f"{out}: the output folder is not empty; choose another or pass --force to replace it.")
    return out


def write_atomically(out: str | os.PathLike, write: Callable[[Path], None], *, force: bool = False) -> Path:
    """Call ``write(tmp_dir)`` and move ``tmp_dir`` to ``out`` only if it returns normally."""
    out = check_target(out, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        write(tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")


def rfc7946(gdf: gpd.GeoDataFrame, *, precision: int = 7) -> gpd.GeoDataFrame:
    """WGS84 lon/lat, right-hand (counter-clockwise exterior) winding, rounded coordinates."""
    import shapely

    out = gdf.to_crs("EPSG:4326")
    geoms = shapely.set_precision(out.geometry.values, 10.0**-precision)
    geoms = shapely.orient_polygons(geoms) if hasattr(shapely, "orient_polygons") else geoms
    return out.set_geometry(geoms)


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """RFC 7946 GeoJSON (no ``crs`` member, UTF-8, 7 decimals)."""
    out = rfc7946(gdf)
    out.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "7", "WRITE_NAME": "NO"})


def plan_layers(plan: Plan, blocks: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Blocks with their unit, and one dissolved feature per unit with its figures (metric CRS)."""
    frame = blocks.loc[plan.assignment.index].copy()
    frame.insert(0, "unit_id", plan.assignment.to_numpy())
    frame.insert(0, "block_id", frame.index.astype(str))
    names = plan.units.set_index("unit_id")["name"]
    frame.insert(2, "unit_name", frame["unit_id"].map(names).to_numpy())
    dissolved = frame[["unit_id", frame.geometry.name]].dissolve(by="unit_id")
    units = gpd.GeoDataFrame(plan.units.set_index("unit_id").join(dissolved), geometry=frame.geometry.name, crs=frame.crs).reset_index()
    return frame.reset_index(drop=True), units


def write_plan(plan: Plan, blocks: gpd.GeoDataFrame, out: str | os.PathLike, *, force: bool = False, extra: Callable[[Path], None] | None = None) -> Path:
    """Write ``assignment.csv``, ``units.geojson``, ``blocks.geojson`` and ``report.json``.

    Only verified plans are written here; an infeasible result writes ``diagnosis.json`` and
    ``report.json`` instead (see :func:`write_diagnosis`).
    """
    if not plan.ok:
        raise InputError("Only a verified plan can be written as a result.")

    def write(tmp: Path) -> None:
        plan.assignment_frame().to_csv(tmp / "assignment.csv", index=False, encoding="utf-8")
        block_layer, unit_layer = plan_layers(plan, blocks)
        write_geojson(unit_layer, tmp / "units.geojson")
        write_geojson(_jsonable(block_layer), tmp / "blocks.geojson")
        write_json(tmp / "report.json", plan.to_dict())
        if extra is not None:
            extra(tmp)

    return write_atomically(out, write, force=force)


def write_diagnosis(plan: Plan, out: str | os.PathLike, *, force: bool = False) -> Path:
    """An infeasible or failed run: ``diagnosis.json`` and ``report.json``, nothing that looks like a plan."""

    def write(tmp: Path) -> None:
        if plan.diagnosis is not None:
            write_json(tmp / "diagnosis.json", plan.diagnosis.to_dict())
        write_json(tmp / "report.json", plan.to_dict())

    return write_atomically(out, write, force=force)


def _jsonable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if out[col].dtype == object or str(out[col].dtype) == "string":
            out[col] = out[col].astype("string")
        elif isinstance(out[col].dtype, pd.api.extensions.ExtensionDtype):
            out[col] = out[col].astype("float64") if "Int" in str(out[col].dtype) else out[col]
    return out
