"""Hand a plan over to the city GIS: GeoPackage, Shapefile, RFC 7946 GeoJSON or CSV.

Works from a plan in memory or from an existing output folder (``OUT/``, as written by
:func:`redistrict.outputs.write_plan`): :func:`load_plan_dir` reads ``assignment.csv``,
``report.json`` and ``blocks.geojson`` back into a :class:`~redistrict.plan.Plan` and its blocks.
:func:`plan_from_assignment` turns any block→unit table (a hand-drawn plan) into a Plan too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError

from .coords import working_crs
from .diagnose import Diagnosis, Reason
from .errors import InputError
from .io import check_shapefile_text, read_assignment, write_csv
from .outputs import (
    _jsonable,
    assignment_digest,
    integers64,
    plan_layers,
    sites_among,
    unit_layer,
    write_geojson,
)
from .plan import Plan, objective_terms, unit_names, unit_table
from .problem import place_offices
from .validate import unit_sort_key
from .verify import VerificationReport, Violation, verify_plan

FORMATS = ("gpkg", "shp", "geojson", "csv")
#: the GeoPackage version written: what GDAL 3.6 / QGIS 3.28 write and read without a warning
#: (GDAL ≥ 3.7.1 writes 1.4 by default, which older readers flag as only partly supported)
GPKG_VERSION = "1.2"
#: the files one Shapefile layer consists of
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
ENCODINGS = ("utf-8", "gbk")

#: Shapefile (DBF) field names, at most 10 characters, for the columns a plan writes.
SHAPEFILE_FIELDS = {
    "block_id": "block_id", "unit_id": "unit_id", "unit_name": "unit_name", "name": "name",
    "households": "households", "population": "population", "community": "community",
    "subdistrict": "subdist", "blocks": "blocks", "area_km2": "area_km2", "centre_block": "ctr_block",
    "office_site": "office_id", "office_name": "office", "office_area_m2": "office_m2",
    "mean_distance_m": "mean_dist", "max_distance_m": "max_dist", "main_community": "main_comm",
    "communities": "comms", "households_moved_in": "hh_moved", "within_bounds": "in_bounds",
    "violation": "violation", "polsby_popper": "polsby_pp", "reock": "reock", "site_id": "site_id",
    "floor_area_m2": "floor_m2", "in_use": "in_use", "current_office_of": "cur_office",
}


@dataclass
class SavedPlan:
    """A plan with the blocks it assigns (metric CRS, indexed by block id) and optional extras."""

    plan: Plan
    blocks: gpd.GeoDataFrame
    offices: gpd.GeoDataFrame | None = None
    barriers: gpd.GeoDataFrame | None = None
    path: Path | None = None
    #: how the folder's ``units.geojson`` was drawn and for which assignment (``report.json``'s
    #: ``units_geojson``; None for a plan in memory or a folder that does not say)
    units_geojson: dict | None = None


# --- reading an output folder ---------------------------------------------------------------------


def _verification(data: dict | None) -> VerificationReport | None:
    if data is None:
        return None
    bounds = data.get("bounds") or {}

    def violations(items: list[dict]) -> list[Violation]:
        return [Violation(v["kind"], v["message"], v.get("unit"), tuple(v.get("block_ids") or ())) for v in items or []]

    return VerificationReport(
        violations=violations(data.get("violations")),
        unit_households={str(k): int(v) for k, v in (data.get("unit_households") or {}).items()},
        lower=bounds.get("min"),
        upper=bounds.get("max"),
        bounds_relaxed=bool(bounds.get("relaxed")),
        relaxed_units=violations(data.get("relaxed_units")),
    )


def _diagnosis(data: dict | None) -> Diagnosis | None:
    if not data:
        return None
    reasons = [Reason(r["kind"], r["message"], list(r.get("block_ids") or [])) for r in data.get("reasons") or []]
    return Diagnosis(reasons=reasons, options=list(data.get("nearest_bounds") or []), suggestions=list(data.get("suggestions") or []), proved_by_solver=bool(data.get("proved_by_solver")))


def plan_from_report(report: dict, assignment: pd.DataFrame) -> Plan:
    """A :class:`Plan` from ``report.json`` (``Plan.to_dict()``) and the assignment table."""
    frame = assignment.astype(str)
    series = pd.Series(frame["unit_id"].to_numpy(), index=pd.Index(frame["block_id"].to_numpy(), name="block_id"), name="unit_id").sort_index()
    units = pd.DataFrame(report.get("units") or [])
    return Plan(
        status=report.get("status", "feasible"),
        problem=report.get("problem") or {},
        assignment=series,
        units=units,
        objective=report.get("objective") or {},
        best_bound=report.get("best_bound"),
        gap=report.get("gap"),
        seconds=float(report.get("seconds") or 0.0),
        solver=report.get("solver") or {},
        diagnosis=_diagnosis(report.get("diagnosis")),
        verification=_verification(report.get("verification")),
        message=report.get("message") or "",
    )


def _read_optional(path: Path) -> gpd.GeoDataFrame | None:
    if not path.exists():
        return None
    return gpd.read_file(path, engine="pyogrio")


def load_plan_dir(path: str | os.PathLike) -> SavedPlan:
    """Read a plan back from an output folder written by ``write_plan``.

    Needs ``report.json``, ``assignment.csv`` and ``blocks.geojson``; reads ``offices.geojson``
    and ``barriers.geojson`` too when they are there (``report.write_outputs`` writes them).
    Raises :class:`InputError` for a folder of an infeasible run or with files missing.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: not an output folder.", path=str(folder))
    report_path = folder / "report.json"
    if not report_path.exists():
        raise InputError(f"{folder}: no report.json; is this a redistrict output folder?", path=str(folder))
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{report_path}: not valid JSON ({exc}).", path=str(report_path)) from exc
    if not report.get("units"):
        message = report.get("message") or ""
        raise InputError(f"{folder}: the run found no plan (status {report.get('status')}). {message}".strip(), path=str(folder))
    missing = [name for name in ("assignment.csv", "blocks.geojson") if not (folder / name).exists()]
    if missing:
        raise InputError(f"{folder}: {', '.join(missing)} missing; the folder is incomplete.", path=str(folder))
    assignment = read_assignment(folder / "assignment.csv")
    blocks = gpd.read_file(folder / "blocks.geojson", engine="pyogrio")
    blocks["block_id"] = blocks["block_id"].astype(str)
    blocks = blocks.set_index("block_id").drop(columns=[c for c in ("unit_id", "unit_name") if c in blocks.columns])
    blocks = blocks.to_crs(working_crs(blocks))
    return SavedPlan(
        plan=plan_from_report(report, assignment),
        blocks=blocks,
        offices=_read_optional(folder / "offices.geojson"),
        barriers=_read_optional(folder / "barriers.geojson"),
        path=folder,
        units_geojson=report.get("units_geojson") if (folder / "units.geojson").exists() else None,
    )


# --- a plan from any block→unit table -------------------------------------------------------------


def plan_from_assignment(
    blocks: gpd.GeoDataFrame,
    graph: nx.Graph,
    assignment: pd.DataFrame | pd.Series | str | os.PathLike,
    *,
    lower: int = 2500,
    upper: int = 3000,
    offices: gpd.GeoDataFrame | None = None,
    min_office_area: float = 300.0,
    name: str | None = None,
) -> Plan:
    """A :class:`Plan` for a given assignment (e.g. drawn by hand), verified and tabulated.

    ``blocks`` are ``BlockLayer.blocks`` (metric CRS, indexed by block id) and ``graph`` their
    adjacency graph.  Each unit's centre is its largest qualifying office site when ``offices``
    are given, else the block nearest its household-weighted centroid.  Status: ``feasible``
    when valid and within bounds, ``relaxed`` when valid but some units are outside the bounds,
    ``invalid`` when the verifier finds a unit in pieces.  Raises :class:`InputError` if the table
    names unknown blocks or leaves blocks out (no unit table can be made then).
    """
    if isinstance(assignment, (str, os.PathLike)):
        source = str(assignment)
        assignment = read_assignment(assignment)
    else:
        source = None
    if isinstance(assignment, pd.Series):
        assignment = pd.DataFrame({"block_id": assignment.index.astype(str), "unit_id": assignment.astype(str).to_numpy()})
    pairs = assignment.iloc[:, :2].astype(str)
    pairs.columns = ["block_id", "unit_id"]
    sub = graph.subgraph(pairs["block_id"].unique()).copy() if set(pairs["block_id"]) <= set(graph.nodes) else graph
    report = verify_plan(sub, pairs, lower=lower, upper=upper, bounds_relaxed=True)
    fatal = [v for v in report.violations if v.kind in ("unknown_block", "multiply_assigned", "unassigned", "households_not_conserved")]
    if fatal:
        raise InputError("The assignment cannot be mapped:\n" + "\n".join(f"- {v.message}" for v in fatal), ids=[b for v in fatal for b in v.block_ids])
    series = pd.Series(pairs["unit_id"].to_numpy(), index=pd.Index(pairs["block_id"].to_numpy(), name="block_id"), name="unit_id").sort_index()
    sites = None
    if offices is not None:
        sites = place_offices(offices, blocks.loc[series.index], min_area=min_office_area)
    centres = _centres(sub, series, sites)
    units = unit_table(sub, series, centres, lower=lower, upper=upper)
    invalid = bool(report.violations)
    status = "invalid" if invalid else ("relaxed" if report.relaxed_units else "feasible")
    outside = int((~units["within_bounds"]).sum())
    message = {
        "invalid": "The assignment fails verification:\n" + report.summary(),
        "relaxed": f"Given plan: {outside} of {len(units)} units outside {lower:,}–{upper:,} households.",
        "feasible": f"Given plan of {len(units)} contiguous units within {lower:,}–{upper:,} households.",
    }[status]
    problem = {
        "name": name,
        "blocks": sub.number_of_nodes(),
        "households": int(units["households"].sum()),
        "k": len(units),
        "k_reason": "as given",
        "bounds": {"min": lower, "max": upper},
        "offices": None if sites is None else len(sites),
        "min_office_area": min_office_area if sites is not None else None,
        "source": source,
    }
    return Plan(
        status=status,
        problem=problem,
        assignment=series,
        units=units,
        objective=objective_terms(sub, series, centres),
        solver={"solver": "none", "source": source or "assignment"},
        verification=report,
        message=message,
    )


def _centres(graph: nx.Graph, assignment: pd.Series, sites: pd.DataFrame | None) -> dict[str, dict]:
    """Each unit's office site (largest floor area) or central block, named like the solver does."""
    centres: dict[str, dict] = {}
    best_sites = None if sites is None else sites.sort_values(["floor_area_m2", "site_id"], ascending=[False, True])
    for unit_id, members in assignment.groupby(assignment).groups.items():
        members = [str(b) for b in members]
        data = [graph.nodes[b] for b in members]
        site = None
        if best_sites is not None:
            inside = best_sites[best_sites["block_id"].isin(members)]
            site = None if inside.empty else inside.iloc[0]
        if site is not None:
            block = str(site["block_id"])
            entry = {"block_id": block, "x": float(site["x"]), "y": float(site["y"]), "site_id": str(site["site_id"]), "office_name": str(site["name"]), "office_area_m2": float(site["floor_area_m2"])}
        else:
            hh = np.array([d["households"] for d in data], dtype=float)
            w = hh if hh.sum() > 0 else np.ones(len(data))
            cx = np.average([d["x"] for d in data], weights=w)
            cy = np.average([d["y"] for d in data], weights=w)
            i = int(np.argmin([(d["x"] - cx) ** 2 + (d["y"] - cy) ** 2 for d in data]))
            block = members[i]
            entry = {"block_id": block, "x": float(data[i]["x"]), "y": float(data[i]["y"])}
        entry["community"] = graph.nodes[block].get("community")
        centres[str(unit_id)] = entry
    ordered = sorted(centres, key=unit_sort_key)
    for unit_id, name in unit_names(ordered, {u: centres[u]["community"] for u in ordered}).items():
        centres[unit_id]["name"] = name
    return centres


# --- layers and writers ---------------------------------------------------------------------------


def _source(source: str | os.PathLike | SavedPlan | Plan, blocks: gpd.GeoDataFrame | None, offices: gpd.GeoDataFrame | None) -> SavedPlan:
    if isinstance(source, SavedPlan):
        saved = source
    elif isinstance(source, Plan):
        if blocks is None:
            raise InputError("Exporting a Plan needs its blocks (blocks=layer.blocks).")
        saved = SavedPlan(plan=source, blocks=getattr(blocks, "blocks", blocks))
    else:
        saved = load_plan_dir(source)
    if offices is not None:
        saved = replace(saved, offices=offices)
    if not (saved.plan.assignment is not None and saved.plan.units is not None):
        raise InputError(f"The plan has no units to export (status {saved.plan.status}).")
    return saved


def office_layer(plan: Plan, offices: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Office sites with ``in_use`` and the ``unit_id`` each one serves (None when not chosen)."""
    sites = offices.copy()
    if "site_id" not in sites:
        sites["site_id"] = [f"S{i + 1}" for i in range(len(sites))]
    sites["site_id"] = sites["site_id"].astype(str)
    used = {str(s): str(u) for s, u in zip(plan.units["office_site"], plan.units["unit_id"], strict=True) if s is not None and not pd.isna(s)}
    sites["unit_id"] = sites["site_id"].map(used)
    sites["in_use"] = sites["unit_id"].notna()
    return sites


def sites_in_area(offices: gpd.GeoDataFrame, blocks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The office sites that lie among ``blocks`` (road gaps included), in the sites' own CRS.

    The same rule as the offices written to ``OUT/`` (:func:`redistrict.outputs.sites_among`),
    so a run's folder and its export hold the same sites.
    """
    return sites_among(offices, getattr(blocks, "blocks", blocks))


def export_layers(saved: SavedPlan, *, unit_geometry: str = "tessellated", limit=None) -> dict[str, gpd.GeoDataFrame]:
    """``units`` (the fields of ``OUT/units.geojson``: see :func:`redistrict.outputs.unit_layer`),
    ``blocks`` and, if known, ``offices`` (the sites among the plan's blocks) layers."""
    blocks = saved.blocks
    if "block_id" in blocks.columns:
        blocks = blocks.set_index("block_id")
    blocks = blocks.drop(columns=[c for c in ("unit_id", "unit_name") if c in blocks.columns])
    blocks.index = blocks.index.astype(str)
    if not blocks.crs.is_projected:
        blocks = blocks.to_crs(working_crs(blocks))
    block_layer, _ = plan_layers(saved.plan, blocks)
    shapes = None if limit is not None else saved_unit_shapes(saved, unit_geometry)
    if shapes is None:
        units = unit_layer(saved.plan, blocks, geometry=unit_geometry, limit=limit)
    else:  # the fields as unit_layer makes them, the polygons the run already drew
        units = unit_layer(saved.plan, blocks, geometry="blocks")
        units = units.set_geometry(shapes.to_crs(units.crs).reindex(units["unit_id"].astype(str)).to_numpy())
    layers = {"units": units, "blocks": block_layer}
    if saved.offices is not None and len(saved.offices):
        sites = saved.offices.drop(columns=[c for c in ("unit_id", "in_use") if c in saved.offices.columns])
        layers["offices"] = office_layer(saved.plan, sites_in_area(sites, block_layer)).to_crs(block_layer.crs)
    return {name: integers64(layer) for name, layer in layers.items()}


def saved_unit_shapes(saved: SavedPlan, unit_geometry: str) -> gpd.GeoSeries | None:
    """The unit polygons of the folder's ``units.geojson`` by unit id, when they are the ones an
    export asks for: drawn the same way (``unit_geometry``) for the very assignment the folder
    holds (its digest, so a hand-edited ``assignment.csv`` gets new polygons), every unit once.
    None otherwise: the export then draws them again (tessellating a city of 50,000 blocks took
    88 s and 3 GB; the polygons come back at the 7 decimals, ~1 cm, the file stores)."""
    written = saved.units_geojson or {}
    if saved.path is None or written.get("geometry") != unit_geometry or written.get("assignment") != assignment_digest(saved.plan.assignment):
        return None
    units = gpd.read_file(saved.path / "units.geojson", engine="pyogrio", columns=["unit_id"])
    ids = units["unit_id"].astype(str)
    if ids.duplicated().any() or set(ids) != set(saved.plan.assignment.astype(str)) or units.geometry.isna().any():
        return None
    return gpd.GeoSeries(units.geometry.to_numpy(), index=ids.to_numpy(), crs=units.crs)


def _crs(crs: str | CRS | None) -> CRS:
    try:
        return CRS.from_user_input(crs or "EPSG:4326")
    except CRSError as exc:
        raise InputError(f"Unknown CRS '{crs}' ({exc}). Use e.g. EPSG:4490 (CGCS2000) or EPSG:4326.") from exc


def _plain(gdf: gpd.GeoDataFrame, *, bool_as_int: bool = False) -> gpd.GeoDataFrame:
    """Columns every GIS driver takes: text as object, nullable ints as int64 (or float with gaps)."""
    out = _jsonable(gdf)
    for col in out.columns:
        if col == out.geometry.name:
            continue
        dtype = out[col].dtype
        if str(dtype) in ("string", "str", "object"):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
        elif str(dtype) in ("boolean", "bool"):
            out[col] = out[col].astype(int) if bool_as_int else out[col].astype(bool)
        elif str(dtype).startswith("Int"):
            out[col] = out[col].astype("int64") if out[col].notna().all() else out[col].astype("float64")
        elif pd.api.types.is_integer_dtype(dtype):
            out[col] = out[col].astype("int64")  # one integer width in every layer
    return out


def shapefile_names(columns: list[str], encoding: str = "utf-8") -> dict[str, str]:
    """DBF field names (≤ 10 bytes in ``encoding``, unique) for ``columns``."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        name = SHAPEFILE_FIELDS.get(col, col)
        short = name
        while len(short.encode(encoding, errors="replace")) > 10:
            short = short[:-1]
        base, i = short, 1
        while short.lower() in taken:
            suffix = f"_{i}"
            short = base
            while len((short + suffix).encode(encoding, errors="replace")) > 10:
                short = short[:-1]
            short += suffix
            i += 1
        taken.add(short.lower())
        out[col] = short
    return out


def _default_dest(saved: SavedPlan, fmt: str) -> Path:
    if saved.path is None:
        raise InputError("Say where to export (dest=...): the plan was not read from a folder.")
    return saved.path / "export" / ("plan.gpkg" if fmt == "gpkg" else fmt)


def export_plan(
    source: str | os.PathLike | SavedPlan | Plan,
    fmt: str = "gpkg",
    *,
    dest: str | os.PathLike | None = None,
    crs: str | CRS | None = None,
    encoding: str = "utf-8",
    blocks: gpd.GeoDataFrame | None = None,
    offices: gpd.GeoDataFrame | None = None,
    force: bool = False,
    unit_geometry: str = "tessellated",
    limit: gpd.GeoDataFrame | None = None,
) -> list[Path]:
    """Export a plan for a desktop or city GIS; returns every file written.

    ``source``: an output folder, a :class:`SavedPlan`, or a :class:`Plan` with ``blocks=``.
    ``fmt``:

    - ``gpkg``: one GeoPackage 1.2 (``dest`` a ``.gpkg`` file or a folder to hold ``plan.gpkg``;
      default ``OUT/export/plan.gpkg``) with layers
      ``units``, ``blocks`` and ``offices`` (when the sites are known);
    - ``shp``: ``units``, ``blocks`` (and ``offices``) as ``.shp/.shx/.dbf/.prj/.cpg`` in folder ``dest``, DBF text in
      ``encoding`` (``utf-8`` or ``gbk``) with a ``.cpg``, field names ≤ 10 characters (the full
      names are listed in ``fields.csv``);
    - ``geojson``: RFC 7946 files (WGS84 only: ``crs`` must be unset or EPSG:4326);
    - ``csv``: ``block_assignment.csv`` (``block_id,unit_id``, the block equivalency file) and
      ``units.csv`` (the unit table), in ``encoding``.

    ``crs``: reproject to any CRS (default EPSG:4326; EPSG:4490 is CGCS2000, the national
    standard).  ``unit_geometry``: ``tessellated`` (units tile the planned area; ``limit`` a
    boundary layer to tile) or ``blocks`` (the union of each unit's blocks).  Existing files of
    the same names are refused unless ``force``.
    """
    if fmt not in FORMATS:
        raise InputError(f"The export format must be one of {', '.join(FORMATS)}, not '{fmt}'.")
    enc = encoding.lower().replace("_", "-")
    if enc not in ENCODINGS:
        raise InputError(f"The encoding must be one of {', '.join(ENCODINGS)}, not '{encoding}'.")
    if enc != "utf-8" and fmt in ("gpkg", "geojson"):
        raise InputError(f"{fmt} text is always UTF-8; --encoding applies to shp and csv.")
    target = _crs(crs)
    if fmt == "geojson" and not target.equals(CRS.from_epsg(4326)):
        raise InputError("RFC 7946 GeoJSON is always WGS84 lon/lat (EPSG:4326); use gpkg or shp for another CRS.")
    saved = _source(source, blocks, offices)
    out = Path(dest) if dest is not None else _default_dest(saved, fmt)
    if fmt == "gpkg" and (out.is_dir() or out.suffix.lower() != ".gpkg"):
        out = out / "plan.gpkg"
    layers = export_layers(saved, unit_geometry="blocks" if fmt == "csv" else unit_geometry, limit=limit)
    _refuse_overwrite(_targets(fmt, out, list(layers)), force)
    if fmt == "csv":
        return _write_csv(layers, out, enc)
    if fmt == "geojson":
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, layer in layers.items():
            path = out / f"{name}.geojson"
            path.unlink(missing_ok=True)
            write_geojson(_plain(layer), path)
            written.append(path)
        return written
    layers = {name: layer.to_crs(target) for name, layer in layers.items()}
    if fmt == "gpkg":
        return [_write_geopackage(layers, out)]
    return _write_shapefiles(layers, out, enc)


def _targets(fmt: str, out: Path, names: list[str]) -> list[Path]:
    """The files an export to ``out`` writes."""
    if fmt == "gpkg":
        return [out]
    if fmt == "csv":
        return [out / "block_assignment.csv", out / "units.csv"]
    if fmt == "geojson":
        return [out / f"{name}.geojson" for name in names]
    return [out / f"{name}{suffix}" for name in names for suffix in SHAPEFILE_PARTS] + [out / "fields.csv"]


def _refuse_overwrite(paths: list[Path], force: bool) -> None:
    """Refuse, before writing anything, to replace existing files unless ``force``."""
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        shown = ", ".join(str(p) for p in existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise InputError(f"{shown}: already there; choose another --dest or pass --force to replace them.", path=str(existing[0]))


def _write_geopackage(layers: dict[str, gpd.GeoDataFrame], path: Path) -> Path:
    """One GeoPackage of version :data:`GPKG_VERSION` holding every layer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    for i, (name, layer) in enumerate(layers.items()):
        options = {"dataset_options": {"VERSION": GPKG_VERSION}} if i == 0 else {}
        _plain(layer).to_file(path, layer=name, driver="GPKG", engine="pyogrio", **options)
    return path


def _write_shapefiles(layers: dict[str, gpd.GeoDataFrame], folder: Path, encoding: str) -> list[Path]:
    check_shapefile_text({name: _plain(layer, bool_as_int=True) for name, layer in layers.items()}, encoding)
    folder.mkdir(parents=True, exist_ok=True)
    cpg = "UTF-8" if encoding == "utf-8" else "GBK"
    written = []
    fields = []
    for name, layer in layers.items():
        for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            (folder / f"{name}{suffix}").unlink(missing_ok=True)
        frame = _plain(layer, bool_as_int=True)
        names = shapefile_names([c for c in frame.columns if c != frame.geometry.name], encoding)
        frame = frame.rename(columns=names)
        fields += [{"layer": name, "field": short, "column": col} for col, short in names.items()]
        path = folder / f"{name}.shp"
        frame.to_file(path, driver="ESRI Shapefile", engine="pyogrio", encoding=cpg)
        cpg_path = folder / f"{name}.cpg"
        if not cpg_path.exists():  # GDAL writes it; make sure of it
            cpg_path.write_text(cpg, encoding="ascii")
        written += [folder / f"{name}{suffix}" for suffix in SHAPEFILE_PARTS if (folder / f"{name}{suffix}").exists()]
    fields_path = folder / "fields.csv"
    pd.DataFrame(fields).to_csv(fields_path, index=False, encoding="utf-8")
    return written + [fields_path]


def _write_csv(layers: dict[str, gpd.GeoDataFrame], folder: Path, encoding: str) -> list[Path]:
    """The block equivalency file and the units' fields (those of every other format)."""
    folder.mkdir(parents=True, exist_ok=True)
    bef = folder / "block_assignment.csv"
    write_csv(pd.DataFrame(layers["blocks"][["block_id", "unit_id"]]), bef, encoding=encoding)
    units = folder / "units.csv"
    write_csv(pd.DataFrame(layers["units"].drop(columns=layers["units"].geometry.name)), units, encoding=encoding)
    return [bef, units]


def write_extras(folder: str | os.PathLike, *, plan: Plan | None = None, offices: gpd.GeoDataFrame | None = None, barriers: gpd.GeoDataFrame | None = None) -> list[Path]:
    """Write ``offices.geojson`` (with ``in_use``/``unit_id``) and ``barriers.geojson`` into a run's folder.

    With them in ``OUT/``, ``redistrict map OUT/`` redraws the same map without being told the
    office and barrier files again.
    """
    folder = Path(folder)
    written = []
    if offices is not None and len(offices):
        layer = office_layer(plan, offices) if plan is not None and plan.units is not None else offices
        path = folder / "offices.geojson"
        path.unlink(missing_ok=True)
        write_geojson(_plain(layer), path)
        written.append(path)
    if barriers is not None and len(barriers):
        path = folder / "barriers.geojson"
        path.unlink(missing_ok=True)
        write_geojson(_plain(barriers), path)
        written.append(path)
    return written


__all__ = [
    "ENCODINGS", "FORMATS", "SHAPEFILE_FIELDS", "SavedPlan", "export_layers", "export_plan", "load_plan_dir",
    "office_layer", "plan_from_assignment", "plan_from_report", "read_assignment", "shapefile_names", "sites_in_area",
    "write_extras",
]
