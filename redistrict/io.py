"""Read a block layer from disk, map its columns, validate it and bring it into a metric CRS.

Supported: GeoJSON, GeoPackage (``layer=``), Shapefile (``.shp`` or a ``.zip`` holding one; the
DBF encoding from ``.cpg``, ``encoding=``, or detected when GBK text was read as Latin-1),
GeoParquet, and CSV with a WKT column.  ``load_blocks`` returns a :class:`BlockLayer` whose
``blocks`` frame has canonical columns (``households``, ``population``, ``community``,
``subdistrict``, ``name``), is indexed by the block id as text and lies in a local UTM CRS, so
distances and areas are in metres; the source CRS is kept for export.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from .errors import InputError, RedistrictWarning
from .validate import (
    ERROR,
    INFO,
    REPAIRED,
    WARNING,
    Finding,
    check_coordinates,
    check_duplicate_ids,
    check_finite_coordinates,
    check_geometry_type,
    check_missing_geometry,
    check_multipart,
    check_overlaps,
    check_variant_names,
    errors,
    format_ids,
    is_mojibake,
    normalise_names,
    parse_households,
    parse_population,
    repair_invalid_geometry,
)

#: Column names tried, in order and case-insensitively, when a column is not named explicitly.
COLUMN_CANDIDATES: dict[str, tuple[str, ...]] = {
    "block_id": ("block_id", "blockid", "id", "block", "code", "fid_block", "小区编号", "编号", "代码"),
    "households": ("households", "household", "hh", "hhs", "num_households", "n_households", "户数", "住户数", "总户数", "户"),
    "population": ("population", "pop", "totpop", "persons", "人口", "人口数", "总人口", "常住人口", "人数"),
    "community": ("community", "社区", "社区名称", "所属社区", "居委会"),
    "subdistrict": ("subdistrict", "street", "街道", "街道名称", "所属街道", "街道办"),
    "name": ("name", "block_name", "名称", "小区名称", "小区"),
}
WKT_CANDIDATES = ("wkt", "geometry", "geom", "the_geom", "shape", "geom_wkt")

_VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".gml", ".kml"}
_PARQUET_SUFFIXES = {".parquet", ".geoparquet"}
_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}


@dataclass
class BlockLayer:
    """A validated block layer: canonical columns, metric CRS, and what validation found."""

    blocks: gpd.GeoDataFrame
    source_crs: CRS
    source: str | None = None
    columns: dict[str, str | None] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def total_households(self) -> int:
        return int(self.blocks["households"].sum())

    def __len__(self) -> int:
        return len(self.blocks)

    def __repr__(self) -> str:
        return (
            f"<BlockLayer {len(self.blocks):,} blocks, {self.total_households:,} households, "
            f"{self.blocks.crs.to_string() if self.blocks.crs else 'no CRS'}>"
        )

    def to_wgs84(self) -> gpd.GeoDataFrame:
        """The blocks in WGS84 lon/lat, for maps and GeoJSON."""
        return self.blocks.to_crs("EPSG:4326")


# --- reading ------------------------------------------------------------------------------------


def read_layer(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    wkt_column: str | None = None,
) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Read any supported vector file into a GeoDataFrame, with clear errors for unreadable files."""
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise InputError(f"{where}: no such file.", path=where)
    if path.is_dir():
        raise InputError(f"{where}: is a folder, not a block layer file.", path=where)
    if path.stat().st_size == 0:
        raise InputError(f"{where}: the file is empty (0 bytes); export or copy the layer again.", path=where)
    suffix = path.suffix.lower()
    findings: list[Finding] = []
    if suffix in _CSV_SUFFIXES:
        return _read_csv(path, encoding=encoding, wkt_column=wkt_column), findings
    if suffix in _PARQUET_SUFFIXES:
        try:
            return gpd.read_parquet(path), findings
        except Exception as exc:  # pyarrow raises many types; all mean "not a GeoParquet file"
            raise InputError(f"{where}: cannot be read as GeoParquet ({exc}).", path=where) from exc
    if suffix not in _VECTOR_SUFFIXES:
        raise InputError(
            f"{where}: unknown file type '{suffix}'. Use GeoJSON, GeoPackage (.gpkg), Shapefile "
            "(.shp or .zip), GeoParquet (.parquet) or CSV with a WKT column.",
            path=where,
        )
    if suffix == ".zip":
        layer = _check_zipped_shapefile(path, layer)
    if suffix == ".gpkg":
        layer = _choose_layer(path, layer)
    gdf = _read_vector(path, layer=layer, encoding=encoding)
    if suffix in {".shp", ".zip"} and encoding is None and not _has_cpg(path):
        gdf, findings = _fix_dbf_encoding(path, gdf, layer)
    return gdf, findings


def _read_vector(path: Path, *, layer: str | None, encoding: str | None) -> gpd.GeoDataFrame:
    kwargs = {}
    if layer is not None:
        kwargs["layer"] = layer
    if encoding is not None:
        kwargs["encoding"] = encoding
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            return gpd.read_file(path, engine="pyogrio", **kwargs)
    except Exception as exc:  # pyogrio's DataSourceError and friends
        what = _describe_unreadable(path)
        if what is not None:
            raise InputError(f"{path}: cannot be read as a geospatial file: {what}", path=str(path)) from exc
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{path}: cannot be read as a geospatial file ({message}). Check that the file is "
            "complete (not truncated) and of the type its extension says.",
            path=str(path),
        ) from exc


#: File signatures of things that get renamed to .geojson/.shp/.gpkg by mistake.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx or .docx is one too; a zipped Shapefile must be named .zip)"),
    (b"SQLite format 3\x00", "an SQLite database (a GeoPackage must be named .gpkg)"),
    (b"PAR1", "a Parquet file (a GeoParquet file must be named .parquet)"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file (e.g. .xls or .doc)"),
    (b"\x00\x00\x27\x0a", "the .shp part of a Shapefile (name it .shp, with its .shx and .dbf beside it)"),
)
_EXPECTED = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "a GeoPackage", ".shp": "a Shapefile", ".fgb": "FlatGeobuf", ".gml": "GML", ".kml": "KML"}
_SNIFF_LIMIT = 200_000_000  # bytes: larger unreadable GeoJSON keeps GDAL's own message
_EXPORT_AGAIN = "Export the layer from your GIS again as GeoJSON, GeoPackage or Shapefile."


def _describe_unreadable(path: Path) -> str | None:
    """What an unreadable file actually is, in words a planner can act on (None if unsure)."""
    expected = _EXPECTED.get(path.suffix.lower(), f"a {path.suffix} file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError:
        return None
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"the file is {what}, not {expected}. {_EXPORT_AGAIN}"
    if expected != "GeoJSON" or path.stat().st_size > _SNIFF_LIMIT:
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return f"the file is neither GeoJSON nor any other UTF-8 text. {_EXPORT_AGAIN}"
    stripped = text.strip()
    if not stripped:
        return f"the file holds only blank space. {_EXPORT_AGAIN}"
    if stripped[0] not in "{[":
        return f"the file is plain text, not GeoJSON (it begins {stripped[:30]!r}). {_EXPORT_AGAIN}"
    try:
        data = json.loads(stripped)
    except RecursionError:
        return f"the JSON is nested too deeply to be GeoJSON (more than {_MAX_DEPTH} levels of brackets). {_EXPORT_AGAIN}"
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Unterminated string") or exc.pos >= len(stripped) - 1:
            return (
                f"the GeoJSON stops after {len(raw):,} bytes in the middle of its data (line "
                f"{exc.lineno}, column {exc.colno}): the file is truncated, e.g. by an interrupted "
                "download or copy. Copy or export it again."
            )
        return f"the JSON is malformed at line {exc.lineno}, column {exc.colno} ({exc.msg}). Fix it or export the layer again."
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in ("FeatureCollection", "Feature"):
        return f"the file is JSON but not GeoJSON (no \"type\": \"FeatureCollection\"). {_EXPORT_AGAIN}"
    return _non_finite_features(data)


#: Python's JSON parser stops at about this nesting depth (the recursion limit).
_MAX_DEPTH = 1000


def _non_finite_features(data: dict) -> str | None:
    """GeoJSON features whose coordinates hold NaN or Infinity (GDAL cannot build their rings)."""
    features = data.get("features", [data]) if isinstance(data.get("features", []), list) else []
    bad = []
    for row, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        try:
            values = np.array(list(_flatten(coords)), dtype=float)
        except RecursionError:
            return None
        if values.size and not np.isfinite(values).all():
            props = feature.get("properties") or {}
            label = next((props[k] for k in COLUMN_CANDIDATES["block_id"] if props.get(k) not in (None, "")), None)
            bad.append(str(label) if label is not None else f"feature {row}")
    if not bad:
        return None
    return (
        f"{len(bad)} feature(s) have a coordinate that is not a number (NaN or Infinity): "
        f"{format_ids(bad)}. Fix those vertices in the source and export the layer again."
    )


def _flatten(values):
    """The numbers of a ragged nested list (a polygon's rings of different lengths)."""
    if isinstance(values, list | tuple):
        for value in values:
            yield from _flatten(value)
    elif isinstance(values, int | float):
        yield values


def _choose_layer(path: Path, layer: str | None) -> str | None:
    import pyogrio

    try:
        names = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:
        raise InputError(f"{path}: cannot be read as a GeoPackage ({exc}).", path=str(path)) from exc
    if layer is None:
        if len(names) > 1:
            raise InputError(
                f"{path}: the GeoPackage holds {len(names)} layers ({', '.join(names)}); "
                "choose one with --layer.",
                path=str(path),
            )
        return names[0] if names else None
    if layer not in names:
        raise InputError(
            f"{path}: no layer '{layer}'; the layers are: {', '.join(names)}.", path=str(path)
        )
    return layer


def _check_zipped_shapefile(path: Path, layer: str | None) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m.lower() for m in archive.namelist()]
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path}: not a valid ZIP archive.", path=str(path)) from exc
    shps = [m for m in members if m.endswith(".shp")]
    if not shps:
        raise InputError(f"{path}: the ZIP archive holds no .shp file.", path=str(path))
    for shp in shps:
        stem = shp[: -len(".shp")]
        for needed in (".dbf", ".shx"):
            if stem + needed not in members:
                raise InputError(
                    f"{path}: the ZIP archive holds {shp} but not {stem}{needed}; a Shapefile "
                    "needs its .shp, .shx and .dbf (and ideally .prj and .cpg) together.",
                    path=str(path),
                )
    stems = [Path(shp).stem for shp in shps]
    if layer is None and len(stems) > 1:
        raise InputError(
            f"{path}: the ZIP archive holds {len(stems)} Shapefiles ({', '.join(stems)}); choose one "
            "with --layer NAME.",
            path=str(path),
        )
    if layer is not None and layer.lower() not in stems:
        raise InputError(f"{path}: no Shapefile '{layer}' in the ZIP archive; it holds: {', '.join(stems)}.", path=str(path))
    return layer


def _has_cpg(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            return any(m.lower().endswith(".cpg") for m in archive.namelist())
    return any(path.with_suffix(s).exists() for s in (".cpg", ".CPG"))


def _fix_dbf_encoding(path: Path, gdf: gpd.GeoDataFrame, layer: str | None):
    """A DBF without ``.cpg`` is read as Latin-1 by GDAL; Chinese DBFs are usually GBK."""
    text_cols = [
        c for c in gdf.columns
        if c != gdf.geometry.name and (gdf[c].dtype == object or pd.api.types.is_string_dtype(gdf[c].dtype))
    ]  # pandas ≥ 3 reads text as the "str" dtype, not object
    sample = [v for c in text_cols for v in gdf[c].dropna().astype(str).head(50)]
    sample += [str(c) for c in gdf.columns]
    garbled = next((v for v in sample if is_mojibake(v)), None)
    if garbled is None:
        return gdf, []
    gdf = _read_vector(path, layer=layer, encoding="gbk")
    example = f" ({garbled!r} is {garbled.encode('latin-1').decode('gbk')!r})"
    return gdf, [
        Finding(
            "dbf_encoding",
            WARNING,
            f"{path.name} has no .cpg file saying how its text is encoded, and read as Latin-1 its "
            f"text is garbled; it was read as GBK instead{example}. If the names still look "
            "wrong, pass --encoding (e.g. gb18030, big5, utf-8); a .cpg file holding GBK "
            "next to the .shp silences this warning.",
        )
    ]


def _read_csv(path: Path, *, encoding: str | None, wkt_column: str | None) -> gpd.GeoDataFrame:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(path, encoding=encoding or "utf-8-sig", sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid {encoding or 'UTF-8'} text; pass --encoding (e.g. gbk).", path=str(path)) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot be read as CSV ({exc}).", path=str(path)) from exc
    column = wkt_column or _detect(frame.columns, WKT_CANDIDATES)
    if column is None or column not in frame.columns:
        raise InputError(
            f"{path}: no WKT geometry column found (looked for {', '.join(WKT_CANDIDATES)}); the "
            f"columns are: {', '.join(map(str, frame.columns))}. Name it with --wkt-column.",
            path=str(path),
        )
    geoms = shapely.from_wkt(frame[column].fillna("").to_numpy(), on_invalid="ignore")
    unparsable = frame[column].notna() & pd.Series(shapely.is_missing(geoms), index=frame.index)
    if unparsable.any():
        rows = [int(r) + 2 for r in frame.index[unparsable]]  # +2: header line and 1-based
        raise InputError(
            f"{path}: column '{column}' holds text that is not WKT on line(s) {format_ids(rows)}.",
            path=str(path),
        )
    return gpd.GeoDataFrame(frame.drop(columns=[column]), geometry=geoms, crs=None)


def _detect(columns, candidates) -> str | None:
    by_lower = {str(c).strip().lower(): c for c in columns}
    for name in candidates:
        if name.lower() in by_lower:
            return by_lower[name.lower()]
    return None


def resolve_columns(columns, explicit: dict[str, str | None], where: str) -> dict[str, str | None]:
    """Map canonical names to the layer's columns: explicit names first, then auto-detection."""
    resolved: dict[str, str | None] = {}
    available = ", ".join(map(str, columns))
    for key, candidates in COLUMN_CANDIDATES.items():
        name = explicit.get(key)
        if name is not None:
            if name not in columns:
                raise InputError(f"{where}: no column '{name}' (given for {key}); the columns are: {available}.", path=where)
            resolved[key] = name
        else:
            resolved[key] = _detect(columns, candidates)
    if resolved["households"] is None:
        raise InputError(
            f"{where}: no household column found (looked for {', '.join(COLUMN_CANDIDATES['households'])}); "
            f"the columns are: {available}. Name it with --households COLUMN.",
            path=where,
        )
    return resolved


# --- from a GeoDataFrame to a validated BlockLayer ----------------------------------------------


def from_geodataframe(
    gdf: gpd.GeoDataFrame,
    *,
    id_col: str | None = None,
    households_col: str | None = None,
    population_col: str | None = None,
    community_col: str | None = None,
    subdistrict_col: str | None = None,
    name_col: str | None = None,
    crs: str | CRS | None = None,
    source: str | None = None,
    findings: list[Finding] | None = None,
    overlap_tolerance_m2: float = 1.0,
) -> BlockLayer:
    """Validate a block GeoDataFrame and return it as a :class:`BlockLayer` in a metric CRS.

    Raises :class:`InputError` listing every error found (with block ids); warnings and repairs
    are kept on ``BlockLayer.findings``.  The input frame is not modified.
    """
    where = source or "<GeoDataFrame>"
    findings = list(findings or [])
    if len(gdf) == 0:
        raise InputError(f"{where}: the layer has no features.", path=source)
    gdf = _with_crs(gdf.copy(), crs, where, source, findings)
    explicit = {
        "block_id": id_col,
        "households": households_col,
        "population": population_col,
        "community": community_col,
        "subdistrict": subdistrict_col,
        "name": name_col,
    }
    columns = resolve_columns(list(gdf.columns), explicit, where)
    gdf.index = _block_ids(gdf, columns["block_id"], findings)
    out = _canonical(gdf, columns, findings)
    findings += check_alternative_columns(gdf, columns, explicit)
    out, metric = _checked_geometry(out, where, findings)
    repaired = [b for f in findings if f.kind == "invalid_geometry" for b in f.block_ids]
    findings += check_multipart(metric, exclude=repaired)
    findings += check_overlaps(metric, tolerance_m2=overlap_tolerance_m2)
    return BlockLayer(blocks=metric, source_crs=CRS.from_user_input(gdf.crs), source=source, columns=columns, findings=findings)


def _with_crs(gdf: gpd.GeoDataFrame, crs, where: str, source: str | None, findings: list) -> gpd.GeoDataFrame:
    """The layer with its CRS: the one given (a warning when it replaces the declared one), else its own."""
    if crs is not None:
        crs = _parse_crs(crs)
        if gdf.crs is not None and not CRS.from_user_input(gdf.crs).equals(crs):
            findings.append(Finding("crs_overridden", WARNING, f"The file declares {gdf.crs.to_string()}; it was replaced by {crs.to_string()} as you asked."))
        gdf = gdf.set_crs(crs, allow_override=True)
    if gdf.crs is None:
        raise InputError(
            f"{where}: the layer has no coordinate reference system. State it with --crs "
            "(EPSG:4326 for GPS lon/lat, EPSG:4490 for CGCS2000 lon/lat).",
            path=source,
        )
    return gdf


def _block_ids(gdf: gpd.GeoDataFrame, column: str | None, findings: list) -> pd.Index:
    """The block ids as stripped text (checked for duplicates), or row numbers with a warning."""
    if column is not None:
        raw_ids = gdf[column]
        findings += check_duplicate_ids(raw_ids)
        ids = raw_ids.astype(str).str.strip()
    else:
        ids = pd.Series([str(i + 1) for i in range(len(gdf))], index=gdf.index)
        findings.append(Finding("generated_ids", WARNING, f"No id column found; blocks are numbered by row (1..{len(gdf)}). Name the id column with --id to keep your own ids."))
    return pd.Index(ids.to_numpy(), name="block_id")


def _canonical(gdf: gpd.GeoDataFrame, columns: dict, findings: list) -> gpd.GeoDataFrame:
    """The canonical columns (households, population, community, subdistrict, name) parsed and
    normalised, followed by the user's other attributes (kept for maps and exports)."""
    households, found = parse_households(gdf[columns["households"]], gdf.index, columns["households"])
    findings += found
    out = gpd.GeoDataFrame({"households": households.to_numpy()}, index=gdf.index, geometry=gdf.geometry.values, crs=gdf.crs)
    if columns["population"] is not None:
        population, found = parse_population(gdf[columns["population"]], gdf.index, columns["population"])
        findings += found
        out["population"] = population.to_numpy()
    else:
        out["population"] = pd.array([pd.NA] * len(out), dtype="Int64")
    for key in ("community", "subdistrict", "name"):
        col = columns[key]
        out[key] = gdf[col].astype("string").str.strip().to_numpy() if col is not None else pd.array([pd.NA] * len(out), dtype="string")
        if col is not None and key != "name":
            out[key], found = normalise_names(out[key], col)
            findings += found + check_variant_names(out[key], col)
    extras = [c for c in gdf.columns if c not in columns.values() and c != gdf.geometry.name and c not in out.columns]
    if extras:  # one concat, not many inserts
        kept = pd.DataFrame({c: gdf[c].to_numpy() for c in extras}, index=out.index)
        out = gpd.GeoDataFrame(pd.concat([out, kept], axis=1), geometry=out.geometry.name, crs=out.crs)
    return out


def _checked_geometry(out: gpd.GeoDataFrame, where: str, findings: list) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Geometry checked (errors raised together), repaired where it safely can be, and the layer
    in its working metric CRS."""
    findings += check_missing_geometry(out)
    findings += check_geometry_type(out)
    findings += check_finite_coordinates(out)
    _raise_on_errors(findings, where)
    out, found = repair_invalid_geometry(out)
    findings += found
    findings += check_coordinates(out)
    _raise_on_errors(findings, where)
    return out, _to_working_crs(out, where)


def _to_working_crs(gdf: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    """The layer in its local metric CRS (see :func:`redistrict.coords.working_crs`)."""
    from .coords import working_crs

    try:
        target = working_crs(gdf)
    except InputError as exc:
        raise InputError(f"{where}: {exc.message}", path=where) from exc
    return gdf if CRS.from_user_input(gdf.crs).equals(target) else gdf.to_crs(target)


def check_alternative_columns(gdf: gpd.GeoDataFrame, columns: dict, explicit: dict) -> list[Finding]:
    """A second detected household (or population) column, e.g. ``households`` and ``户数``: the
    same values are noted, different ones are an error (households) or a warning (population)
    naming both columns, so no count is used without a word."""
    findings = []
    for key, severity in (("households", ERROR), ("population", WARNING)):
        chosen = columns.get(key)
        if chosen is None or explicit.get(key) is not None:
            continue
        first = pd.to_numeric(gdf[chosen], errors="coerce")
        for other in _detect_all(gdf.columns, COLUMN_CANDIDATES[key]):
            if other == chosen:
                continue
            second = pd.to_numeric(gdf[other], errors="coerce")
            differ = ~((first == second) | (first.isna() & second.isna()))
            if not differ.any():
                findings.append(Finding(f"{key}_columns", INFO, f"Columns '{chosen}' and '{other}' both hold {key}, with the same values; '{chosen}' is used."))
                continue
            pos = int(np.flatnonzero(differ.to_numpy())[0])
            example = f"e.g. row {pos + 1}: {gdf[chosen].iloc[pos]} vs {gdf[other].iloc[pos]}"
            use = "say which to use" if severity == ERROR else f"'{chosen}' is used; say otherwise"
            findings.append(Finding(
                f"{key}_columns", severity,
                f"Two {key.removesuffix('s')} columns, '{chosen}' (total {first.sum():,.0f}) and '{other}' (total "
                f"{second.sum():,.0f}), differ in {int(differ.sum())} row(s) ({example}); {use} with "
                f"--{key} {chosen} or --{key} {other}.",
            ))
    return findings


def _detect_all(columns, candidates) -> list:
    by_lower = {str(c).strip().lower(): c for c in columns}
    return [by_lower[n.lower()] for n in candidates if n.lower() in by_lower]


def _parse_crs(crs) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise InputError(f"Unknown CRS '{crs}' ({exc}). Use e.g. EPSG:4326 or EPSG:4490.") from exc


def _raise_on_errors(findings: list[Finding], where: str) -> None:
    bad = errors(findings)
    if not bad:
        return
    ids = [i for f in bad for i in f.block_ids]
    lines = "\n".join(f"  - {f.message}" for f in bad)
    err = InputError(f"{where}: the block layer cannot be used as it is:\n{lines}", ids=ids, path=where)
    err.findings = findings
    raise err


def load_blocks(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    crs: str | CRS | None = None,
    wkt_column: str | None = None,
    id_col: str | None = None,
    households_col: str | None = None,
    population_col: str | None = None,
    community_col: str | None = None,
    subdistrict_col: str | None = None,
    name_col: str | None = None,
    input_coords: str = "wgs84",
) -> BlockLayer:
    """Read, map and validate a block layer file (see the module docstring for formats).

    ``input_coords="gcj02"`` says the lon/lat were digitised on AMap/Tencent maps (GCJ-02); they
    are moved to true WGS84 before anything else.
    """
    if crs is not None:
        crs = _parse_crs(crs)
    gdf, findings = read_layer(path, layer=layer, encoding=encoding, wkt_column=wkt_column)
    gdf = _mark_json_booleans(Path(path), gdf, households_col)
    if crs is not None and gdf.crs is None:
        gdf = gdf.set_crs(crs)
    gdf = apply_input_coords(gdf, input_coords, where=str(path), id_col=id_col)
    layer_obj = from_geodataframe(
        gdf,
        id_col=id_col,
        households_col=households_col,
        population_col=population_col,
        community_col=community_col,
        subdistrict_col=subdistrict_col,
        name_col=name_col,
        crs=crs,
        source=str(path),
        findings=findings,
    )
    for finding in layer_obj.findings:
        if finding.severity in (WARNING, REPAIRED):
            warnings.warn(finding.message, RedistrictWarning, stacklevel=2)
    return layer_obj


def _mark_json_booleans(path: Path, gdf: gpd.GeoDataFrame, households_col: str | None) -> gpd.GeoDataFrame:
    """GeoJSON ``true``/``false`` among household numbers: GDAL reads them as 1/0, so they are
    found in the file's text and put back as booleans, which validation rejects by block."""
    if path.suffix.lower() not in (".geojson", ".json") or path.stat().st_size > _SNIFF_LIMIT:
        return gdf
    column = households_col or _detect(gdf.columns, COLUMN_CANDIDATES["households"])
    if column is None or column not in gdf.columns or not pd.api.types.is_numeric_dtype(gdf[column].dtype):
        return gdf
    try:
        features = json.loads(path.read_bytes().decode("utf-8-sig")).get("features")
    except (ValueError, RecursionError, AttributeError):
        return gdf
    if not isinstance(features, list) or len(features) != len(gdf):
        return gdf
    flags = [isinstance(f, dict) and isinstance((f.get("properties") or {}).get(column), bool) for f in features]
    if not any(flags):
        return gdf
    gdf = gdf.copy()
    values = gdf[column].astype(object)
    values[np.asarray(flags)] = [bool((f.get("properties") or {})[column]) for f, flag in zip(features, flags, strict=True) if flag]
    gdf[column] = values
    return gdf


def _feature_labels(gdf: gpd.GeoDataFrame, id_col: str | None = None) -> list[str]:
    """How to name features in a message: their block/site id if a column holds one, else the data row."""
    column = id_col if id_col in gdf.columns else _detect(gdf.columns, COLUMN_CANDIDATES["block_id"] + ("site_id",))
    if column is not None:
        return [str(v).strip() for v in gdf[column]]
    return [f"row {i + 1}" for i in range(len(gdf))]


def apply_input_coords(gdf: gpd.GeoDataFrame, input_coords: str, *, where: str, id_col: str | None = None) -> gpd.GeoDataFrame:
    """Move GCJ-02 lon/lat (AMap/Tencent) to WGS84; refuse data outside China, where GCJ-02 does not apply."""
    if input_coords == "wgs84":
        return gdf
    if input_coords != "gcj02":
        raise InputError(f"--input-coords must be wgs84 or gcj02, got '{input_coords}'.")
    from .coords import from_gcj02, in_china

    if gdf.crs is None:
        raise InputError(f"{where}: the layer has no CRS; GCJ-02 data is lon/lat, state --crs EPSG:4326.", path=where)
    mask = ~(gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    present = gdf[mask]
    if len(present):
        centres = present.geometry.representative_point()
        outside = ~np.asarray(in_china(centres.x.to_numpy(), centres.y.to_numpy()))
        if gdf.crs.is_geographic and outside.any():
            labels = np.asarray(_feature_labels(gdf, id_col), dtype=object)[mask][outside]
            lon, lat = centres.x.to_numpy()[outside][0], centres.y.to_numpy()[outside][0]
            raise InputError(
                f"{where}: --input-coords gcj02 was given, but {int(outside.sum())} of {len(present)} "
                f"feature(s) lie outside China: {format_ids(labels)} (e.g. at lon {lon:.4f}, lat "
                f"{lat:.4f}). GCJ-02 (AMap/Tencent) offsets only apply inside China: drop "
                "--input-coords gcj02 if the data is WGS84, or check the coordinates.",
                ids=list(labels),
                path=where,
            )
    try:
        return from_gcj02(gdf)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}", path=where) from exc


def read_points(path: str | os.PathLike, *, layer: str | None = None, encoding: str | None = None, crs: str | None = None, input_coords: str = "wgs84") -> gpd.GeoDataFrame:
    """Read a point layer (office sites) with the same file support and CRS rules as blocks.

    The file's path is kept in ``gdf.attrs["source"]`` so later messages can name it.
    """
    gdf, _ = read_layer(path, layer=layer, encoding=encoding)
    if crs is not None:
        gdf = gdf.set_crs(_parse_crs(crs), allow_override=True)
    if gdf.crs is None:
        raise InputError(f"{path}: the office site layer has no coordinate reference system. {_NO_CRS_FIX}", path=str(path))
    gdf = apply_input_coords(gdf, input_coords, where=str(path))
    types = set(gdf.geom_type.dropna())
    if not types <= {"Point", "MultiPoint"}:
        raise InputError(f"{path}: expected points (office sites), found {', '.join(sorted(types))}.", path=str(path))
    _check_site_ids(gdf, path)
    gdf.attrs["source"] = str(path)
    return gdf


def _check_site_ids(gdf: gpd.GeoDataFrame, path) -> None:
    """Office sites are named by ``site_id`` in plans and reports: two sites with one id would
    give two units the same office."""
    column = _detect(gdf.columns, ("site_id", "office_id", "id", "编号"))
    if column is None:
        return
    ids = gdf[column].astype(str).str.strip()
    dup = sorted(set(ids[ids.duplicated()]))
    if dup:
        raise InputError(
            f"{path}: {len(dup)} office site id(s) occur more than once in column '{column}': "
            f"{format_ids(dup)}. Give every site its own id.",
            ids=dup,
            path=str(path),
        )


_NO_CRS_FIX = (
    "Save it with one: a .prj file beside the .shp (any GIS writes it when the layer has a CRS), "
    "or as GeoJSON, which is always WGS84 lon/lat; in Python pass crs= (e.g. crs=\"EPSG:4326\")."
)


def read_lines_or_polygons(path: str | os.PathLike, *, layer: str | None = None, encoding: str | None = None, input_coords: str = "wgs84", crs: str | None = None) -> gpd.GeoDataFrame:
    """Read a barrier layer (rivers, railways, arterials): lines or polygons with a CRS.

    ``crs`` states the CRS of a file that has none (it does not override a declared one).
    """
    gdf, _ = read_layer(path, layer=layer, encoding=encoding)
    if crs is not None and gdf.crs is None:
        gdf = gdf.set_crs(_parse_crs(crs))
    if gdf.crs is None:
        raise InputError(
            f"{path}: the barrier layer has no coordinate reference system, so it cannot be laid "
            f"over the blocks. {_NO_CRS_FIX}",
            path=str(path),
        )
    gdf = apply_input_coords(gdf, input_coords, where=str(path))
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if gdf.geom_type.isin(["Point", "MultiPoint"]).any():
        raise InputError(f"{path}: a barrier layer must hold lines or polygons, not points.", path=str(path))
    gdf.attrs["source"] = str(path)
    return gdf




# --- Shapefile text ------------------------------------------------------------------------------

#: The widest text field a DBF holds (bytes); GDAL cuts longer values.
DBF_MAX_TEXT_BYTES = 254


def check_shapefile_text(layers: dict[str, gpd.GeoDataFrame], encoding: str) -> None:
    """Refuse, before writing, text a Shapefile's DBF would lose: characters ``encoding`` (e.g.
    GBK) cannot hold, which GDAL writes as NULL, and values longer than 254 bytes, which it cuts.
    The message names the layer, field and values, and the way out (UTF-8 or GeoPackage)."""
    problems = []
    for name, layer in layers.items():
        for col in layer.columns:
            if col == layer.geometry.name or not (layer[col].dtype == object or pd.api.types.is_string_dtype(layer[col].dtype)):
                continue
            texts = [v for v in layer[col].dropna().astype(str).unique()]
            lost = [v for v in texts if not _encodes(v, encoding)]
            long = [v for v in texts if _encodes(v, encoding) and len(v.encode(encoding)) > DBF_MAX_TEXT_BYTES]
            if lost:
                problems.append(f"{name}.{col}: {encoding.upper()} cannot hold {format_ids(lost, 4)}")
            if long:
                problems.append(f"{name}.{col}: {len(long)} value(s) longer than {DBF_MAX_TEXT_BYTES} bytes would be cut ({format_ids([v[:30] + '…' for v in long], 3)})")
    if problems:
        raise InputError(
            "The Shapefile would lose text: " + "; ".join(problems) + ". Export with --encoding "
            "utf-8, or as a GeoPackage (--format gpkg), which keeps every character and length."
        )


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


# --- CSV files people open in spreadsheets: assignments, locks, unit tables ---------------------

#: Encodings CSVs are written in: UTF-8 with a byte-order mark (so Excel on Chinese Windows shows
#: Chinese instead of mojibake), or GBK / GB18030 for older tools.
CSV_ENCODINGS = ("utf-8", "gbk", "gb18030")
#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Header names of the two columns of an assignment, besides the tool's own ``block_id,unit_id``.
ASSIGNMENT_COLUMNS = {
    "block_id": ("block_id", "block", "blockid", "小区编号", "小区", "编号", "geoid"),
    "unit_id": ("unit_id", "unit", "unitid", "district", "社区", "新社区", "单元", "分区"),
}


def spreadsheet_safe(value):
    """``=cmd|' /C calc'!A0`` → ``'=cmd|' /C calc'!A0``: text a spreadsheet would run as a formula
    gets a leading apostrophe, as OWASP advises; :func:`unescape_cell` takes it off again."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def unescape_cell(value: str) -> str:
    """The inverse of :func:`spreadsheet_safe` (only an apostrophe before a formula character)."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_START) else value


def csv_encoding(encoding: str | None) -> str:
    """The Python codec for writing a CSV in ``encoding`` (utf-8 means UTF-8 with a BOM)."""
    enc = (encoding or "utf-8").lower().replace("_", "-")
    if enc in ("utf-8", "utf8", "utf-8-sig"):
        return "utf-8-sig"
    if enc not in CSV_ENCODINGS:
        raise InputError(f"The CSV encoding must be one of {', '.join(CSV_ENCODINGS)}, not '{encoding}'.")
    return enc


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, *, encoding: str | None = "utf-8", index: bool = False) -> Path:
    """Write a table for people and spreadsheets: formula-like text escaped, UTF-8 with BOM (or
    GBK/GB18030); text GBK cannot hold is an :class:`InputError` naming it, not a silent ``?``."""
    codec = csv_encoding(encoding)
    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col].dtype):
            safe[col] = safe[col].map(spreadsheet_safe)
    if index:
        safe.index = safe.index.map(spreadsheet_safe)
    text = safe.to_csv(index=index, lineterminator="\r\n")
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        bad = sorted({ch for ch in text if not _encodable(ch, codec)})
        cells = sorted({str(v) for v in safe.astype(str).to_numpy().ravel() if any(ch in bad for ch in v)})
        raise InputError(
            f"{path}: {codec.upper()} cannot hold {', '.join(map(repr, bad[:8]))} (in {format_ids(cells, 5)}); "
            "write the CSV as UTF-8 (the default, --csv-encoding utf-8) or rename those ids.",
            path=str(path),
        ) from None
    path = Path(path)
    path.write_bytes(data)
    return path


def _encodable(ch: str, codec: str) -> bool:
    try:
        ch.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def write_assignment(assignment: pd.DataFrame, path: str | os.PathLike, *, encoding: str | None = "utf-8") -> Path:
    """``block_id,unit_id`` (the block equivalency file) — the one writer of assignment CSVs."""
    frame = assignment.iloc[:, :2].astype(str)
    frame.columns = ["block_id", "unit_id"]
    return write_csv(frame, path, encoding=encoding)


def read_text_table(path: str | os.PathLike, *, encoding: str | None = None, what: str = "CSV") -> tuple[pd.DataFrame, str]:
    """A CSV as text cells (no NaN guessing) and the encoding it was read in.

    ``encoding`` None or ``"auto"``: a UTF-8 byte-order mark, else UTF-8, else GB18030 (GBK's
    superset, what Excel on Chinese Windows saves as "CSV").
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file.", path=str(path)) from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).", path=str(path)) from exc
    text, used = _decode(raw, encoding, path, what)
    try:
        frame = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot be read as a {what} ({str(exc).strip() or 'no columns'}).", path=str(path)) from exc
    return frame, used


def _decode(raw: bytes, encoding: str | None, path: Path, what: str) -> tuple[str, str]:
    if encoding not in (None, "auto"):
        try:
            return raw.decode(encoding).removeprefix("\ufeff"), encoding
        except LookupError as exc:
            raise InputError(f"Unknown encoding '{encoding}' for {path}; use utf-8, gbk or gb18030.", path=str(path)) from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not valid {encoding} text (byte {exc.start:,}); leave out --csv-encoding to detect it, or give the right one.", path=str(path)) from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: the {what} is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8 or pass --csv-encoding.", path=str(path))


def _pick_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    by_name = {str(c).strip().lower(): c for c in columns}
    return next((by_name[n] for n in names if n in by_name), None)


def read_assignment(path: str | os.PathLike, *, encoding: str | None = None) -> pd.DataFrame:
    """A block→unit CSV as ``block_id, unit_id`` text columns — the one reader of assignments.

    Columns are found by header (``block_id``/``unit_id`` in either order, or the names in
    :data:`ASSIGNMENT_COLUMNS`), else taken as the first two.  Ids are stripped of surrounding
    spaces as the layer's are, and the apostrophe :func:`write_csv` put before formula-like ids is
    taken off, so a round trip keeps every id.  ``attrs["encoding"]`` says how it was decoded.
    """
    frame, used = read_text_table(path, encoding=encoding, what="CSV of block_id,unit_id")
    columns = [str(c) for c in frame.columns]
    block = _pick_column(columns, ASSIGNMENT_COLUMNS["block_id"])
    unit = _pick_column(columns, ASSIGNMENT_COLUMNS["unit_id"])
    if block is None or unit is None or block == unit:
        if frame.shape[1] < 2:
            raise InputError(f"{path}: an assignment file needs two columns, block_id and unit_id; found {', '.join(columns) or 'none'}.", path=str(path))
        block, unit = frame.columns[0], frame.columns[1]
    out = pd.DataFrame({"block_id": frame[block], "unit_id": frame[unit]}).astype(str)
    out = out.apply(lambda s: s.map(unescape_cell).str.strip())
    out.attrs.update(encoding=used, columns=(str(block), str(unit)))
    return out


def read_lock_table(path: str | os.PathLike, *, encoding: str | None = None) -> dict[str, str]:
    """``block_id,unit`` lock rows as block id → label; a block locked to two labels is an
    :class:`InputError` naming it, its labels and lines (the last row used to win silently)."""
    frame, _ = read_text_table(path, encoding=encoding, what="CSV of locks (block_id,unit)")
    if frame.shape[1] < 2:
        raise InputError(f"{path}: a lock file needs two columns, block_id and unit.", path=str(path))
    pairs = frame.iloc[:, :2].astype(str).apply(lambda s: s.map(unescape_cell).str.strip())
    pairs.columns = ["block_id", "label"]
    pairs["line"] = np.arange(len(pairs)) + 2  # after the header, 1-based
    labels = pairs.groupby("block_id")["label"].nunique()
    clash = sorted(labels.index[labels > 1])
    if clash:
        detail = "; ".join(
            f"{b} → " + ", ".join(f"{row.label} (line {row.line})" for row in pairs[pairs["block_id"] == b].itertuples())
            for b in clash[:5]
        )
        raise InputError(
            f"{path}: {len(clash)} block(s) are locked to more than one label: {detail}. A block can "
            "be locked to one unit only; keep one row per block.",
            ids=clash,
            path=str(path),
        )
    return dict(zip(pairs["block_id"], pairs["label"], strict=True))


__all__ = ["ASSIGNMENT_COLUMNS", "CSV_ENCODINGS", "FORMULA_START", "check_shapefile_text", "read_assignment", "read_lock_table", "read_text_table", "spreadsheet_safe", "unescape_cell", "write_assignment", "write_csv", "BlockLayer", "read_layer", "load_blocks", "from_geodataframe", "read_points", "read_lines_or_polygons", "COLUMN_CANDIDATES", "ERROR", "WARNING", "REPAIRED", "INFO"]
