"""Findings on a loaded block layer: what is wrong, which blocks, and whether it was repaired.

Every check is a small function that takes the raw layer and returns findings; ``validate_blocks``
runs them all and reports everything at once (collect, then report), so a user fixes a file in one
pass instead of one error per run.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon

ERROR = "error"
WARNING = "warning"
REPAIRED = "repaired"
#: Accepted as it is, but worth knowing (e.g. a block drawn in several parts).
INFO = "info"

#: How many ids a message lists before it says "and N more".
_SHOWN_IDS = 8


@dataclass(frozen=True)
class Finding:
    """One problem found in the input: its kind, severity, the blocks involved and a message."""

    kind: str
    severity: str
    message: str
    block_ids: tuple = field(default_factory=tuple)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["block_ids"] = [str(b) for b in self.block_ids]
        return data

    def __str__(self) -> str:
        return f"[{self.severity}] {self.message}"


def show_id(value) -> str:
    """An id as a message shows it: as it is, or quoted with escapes (``'U1\\u200b'``, ``'U1 '``)
    when it has surrounding spaces or invisible characters, so two ids that print alike are told
    apart."""
    text = str(value)
    marked = "".join(f"\\u{ord(ch):04x}" if _invisible(ch) else ch for ch in text)
    return f"'{marked}'" if marked != text or text != text.strip() else text


def _invisible(ch: str) -> bool:
    """Zero-width and control characters, and every space but the plain one."""
    return unicodedata.category(ch) in ("Cf", "Cc", "Zl", "Zp") or (ch.isspace() and ch != " ")


def format_ids(ids, limit: int = _SHOWN_IDS) -> str:
    """``a, b, c and 12 more`` — short enough for one line of a message (ids via :func:`show_id`)."""
    ids = [show_id(i) for i in ids]
    if len(ids) <= limit:
        return ", ".join(ids)
    return ", ".join(ids[:limit]) + f" and {len(ids) - limit} more"


def unit_sort_key(unit_id) -> tuple:
    """Unit ids in reading order: the number in ``U2`` compares as a number, so U2 comes before U10."""
    text = str(unit_id)
    head = text.rstrip("0123456789")
    tail = text[len(head):]
    return (head, int(tail) if tail else -1, text)


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == ERROR]


# --- geometry -----------------------------------------------------------------------------------


def check_missing_geometry(gdf: gpd.GeoDataFrame) -> list[Finding]:
    """Blocks without a geometry, or with an empty one, cannot be placed on the map or graph."""
    geoms = gdf.geometry.values
    bad = gdf.index[shapely.is_missing(geoms) | shapely.is_empty(geoms)]
    if len(bad) == 0:
        return []
    return [
        Finding(
            "missing_geometry",
            ERROR,
            f"{len(bad)} block(s) have no geometry or an empty one: {format_ids(bad)}. "
            "Draw their polygons or remove the rows.",
            tuple(bad),
        )
    ]


def check_geometry_type(gdf: gpd.GeoDataFrame) -> list[Finding]:
    """Blocks must be areas (Polygon/MultiPolygon); points and lines are not residential blocks."""
    geoms = gdf.geometry
    present = ~(shapely.is_missing(geoms.values) | shapely.is_empty(geoms.values))
    types = geoms.geom_type
    bad = gdf.index[present & ~types.isin(["Polygon", "MultiPolygon"])]
    if len(bad) == 0:
        return []
    kinds = ", ".join(sorted(set(types.loc[bad])))
    return [
        Finding(
            "non_polygon_geometry",
            ERROR,
            f"{len(bad)} block(s) are not polygons ({kinds}): {format_ids(bad)}. "
            "A block layer needs Polygon or MultiPolygon geometry; "
            "if these are block centroids, load the polygon layer instead.",
            tuple(bad),
        )
    ]


def repair_invalid_geometry(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Repair self-intersecting or otherwise invalid polygons with ``make_valid`` and say so.

    Only the polygonal part of a repaired geometry is kept (a bow-tie becomes two triangles, a
    stray line left by the repair is dropped).  A block whose repair leaves no area is an error.
    """
    geoms = gdf.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])
    invalid = present & polygonal & ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf, []
    gdf = gdf.copy()
    repaired_ids, failed_ids = [], []
    for pos in np.flatnonzero(invalid):
        fixed = _polygonal_part(shapely.make_valid(geoms[pos]))
        block_id = gdf.index[pos]
        if fixed is None or fixed.area <= 0:
            failed_ids.append(block_id)
        else:
            gdf.iloc[pos, gdf.columns.get_loc(gdf.geometry.name)] = fixed
            repaired_ids.append(block_id)
    findings = []
    if repaired_ids:
        findings.append(
            Finding(
                "invalid_geometry",
                REPAIRED,
                f"{len(repaired_ids)} invalid polygon(s) (e.g. self-intersections) were repaired "
                f"with make_valid: {format_ids(repaired_ids)}. Check them on the map.",
                tuple(repaired_ids),
            )
        )
    if failed_ids:
        findings.append(
            Finding(
                "invalid_geometry",
                ERROR,
                f"{len(failed_ids)} invalid polygon(s) have no area left after repair: "
                f"{format_ids(failed_ids)}. Redraw them.",
                tuple(failed_ids),
            )
        )
    return gdf, findings


def _polygonal_part(geom):
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    if not parts:
        return None
    return shapely.union_all(parts)


#: Parts of one block further apart than this (metres, about a road's width) earn a warning.
MULTIPART_GAP_M = 25.0


def check_multipart(gdf: gpd.GeoDataFrame, *, max_gap_m: float = MULTIPART_GAP_M, exclude=()) -> list[Finding]:
    """Blocks drawn in several parts are accepted (a unit takes all parts or none) and reported.

    ``gdf`` must be in a metric CRS.  Parts within ``max_gap_m`` of each other (a 小区 cut by an
    internal lane) are an ``info`` finding; a block whose parts lie further apart is a warning,
    because a unit holding it looks split on the map, and the parts may be different 小区
    sharing an id.  Blocks in ``exclude`` (e.g. just repaired: a bow-tie becomes two
    triangles) are left out.
    """
    geoms = gdf.geometry.values
    counts = shapely.get_num_geometries(geoms)
    skip = gdf.index.isin(list(exclude))
    multi = np.flatnonzero((shapely.get_type_id(geoms) == 6) & (counts > 1) & ~skip)
    if len(multi) == 0:
        return []
    near, far = [], []
    for pos in multi:
        parts = list(geoms[pos].geoms)
        # the largest gap a part must cross to reach the others (single-linkage over the parts)
        gap = max(
            min(float(shapely.distance(part, other)) for j, other in enumerate(parts) if j != i)
            for i, part in enumerate(parts)
        )
        (far if gap > max_gap_m else near).append((gdf.index[pos], len(parts), gap))

    def listing(rows):
        shown = ", ".join(f"{b} ({n} parts, {gap:,.0f} m apart)" for b, n, gap in rows[:_SHOWN_IDS])
        return shown + (f" and {len(rows) - _SHOWN_IDS} more" if len(rows) > _SHOWN_IDS else "")

    findings = []
    if near:
        findings.append(
            Finding(
                "multipart_blocks",
                INFO,
                f"{len(near)} block(s) are drawn in several parts (MultiPolygon), accepted as one "
                f"block each: {listing(near)}. A unit takes all parts of a block or none.",
                tuple(b for b, _, _ in near),
            )
        )
    if far:
        findings.append(
            Finding(
                "multipart_blocks_far",
                WARNING,
                f"{len(far)} block(s) have parts more than {max_gap_m:,.0f} m apart: {listing(far)}. "
                "They are kept as one block each, so the unit holding one will look split on the "
                "map. If the parts are different 小区, give each its own row and block id.",
                tuple(b for b, _, _ in far),
            )
        )
    return findings


def check_finite_coordinates(gdf: gpd.GeoDataFrame) -> list[Finding]:
    """A coordinate that is NaN or infinite (``NaN`` in a GeoJSON, an empty cell in a WKT
    export) places a block nowhere; name the blocks."""
    geoms = gdf.geometry.values
    present = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    if len(present) == 0:
        return []
    coords, owner = shapely.get_coordinates(geoms[present], return_index=True)
    bad_rows = np.unique(owner[~np.isfinite(coords).all(axis=1)])
    if len(bad_rows) == 0:
        return []
    bad = tuple(gdf.index[present[bad_rows]])
    return [
        Finding(
            "coordinates_not_finite",
            ERROR,
            f"{len(bad)} block(s) have a coordinate that is not a number (NaN or infinite): "
            f"{format_ids(bad)}. Redraw or fix those vertices in the source.",
            bad,
        )
    ]


def check_coordinates(gdf: gpd.GeoDataFrame) -> list[Finding]:
    """In a geographic CRS, coordinates must be lon/lat: catch projected data and swapped axes."""
    if gdf.crs is None or not gdf.crs.is_geographic:
        return []
    geoms = gdf.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return []
    bounds = shapely.bounds(geoms[present])
    minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
    maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
    ids = gdf.index[present]
    outside = (bounds[:, 0] < -180) | (bounds[:, 2] > 180) | (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
    if outside.any() and not outside.all():
        bad = tuple(ids[outside])
        return [
            Finding(
                "coordinates_not_lonlat",
                ERROR,
                f"{len(bad)} of {len(ids)} block(s) have coordinates that cannot be longitude/latitude "
                f"in {gdf.crs.to_string()} (outside -180..180, -90..90): {format_ids(bad)}. They were "
                "probably drawn or pasted in another CRS (projected metres or swapped axes); fix or "
                "remove them.",
                bad,
            )
        ]
    if outside.any():
        if abs(minx) <= 90 and abs(maxx) <= 90 and abs(miny) <= 180 and abs(maxy) <= 180:
            hint = "the x and y axes look swapped (latitude first); swap them and reload"
        else:
            hint = (
                "they look like projected metres; give the real CRS with --crs "
                "(e.g. EPSG:4548 for CGCS2000 / 3-degree Gauss-Kruger CM 117E, "
                "or EPSG:32650 for WGS 84 / UTM zone 50N)"
            )
        return [
            Finding(
                "coordinates_not_lonlat",
                ERROR,
                f"The layer declares a geographic CRS ({gdf.crs.to_string()}) but its coordinates "
                f"span x {minx:.1f}..{maxx:.1f}, y {miny:.1f}..{maxy:.1f}, which cannot be "
                f"longitude/latitude: {hint}. All {len(ids)} block(s) are affected "
                f"({format_ids(ids)}).",
                tuple(ids),
            )
        ]
    # Both axes in range, but China lies at lon 73..136, lat 3..54: latitude-first data shows
    # up as "longitude" 3..54 and "latitude" 73..136 (> 90 is caught above) — check the mirror case.
    if 3 <= minx and maxx <= 54 and 73 <= miny and maxy <= 90:
        return [
            Finding(
                "coordinates_swapped",
                WARNING,
                f"Coordinates span x {minx:.2f}..{maxx:.2f}, y {miny:.2f}..{maxy:.2f}: if this "
                "data is in China, the axes are swapped (latitude first); swap them and reload.",
                tuple(ids),
            )
        ]
    return []


def check_overlaps(
    gdf: gpd.GeoDataFrame, *, tolerance_m2: float = 1.0, tolerance_share: float = 0.01
) -> list[Finding]:
    """Overlapping blocks double-count households on the map; report pairs above a small tolerance.

    ``gdf`` must be in a metric CRS.  A pair is reported when its overlap exceeds both
    ``tolerance_m2`` and ``tolerance_share`` of the smaller block (digitising slivers are ignored).
    """
    geoms = gdf.geometry.values
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return []
    inter = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    bad = (inter > tolerance_m2) & (inter > tolerance_share * smaller)
    if not bad.any():
        return []
    ids = gdf.index.to_numpy()
    pairs = [f"{ids[a]}/{ids[b]} ({area:,.0f} m²)" for a, b, area in zip(left[bad], right[bad], inter[bad], strict=True)]
    involved = sorted({ids[a] for a in left[bad]} | {ids[b] for b in right[bad]}, key=str)
    shown = ", ".join(pairs[:_SHOWN_IDS]) + (f" and {len(pairs) - _SHOWN_IDS} more" if len(pairs) > _SHOWN_IDS else "")
    return [
        Finding(
            "overlapping_blocks",
            WARNING,
            f"{len(pairs)} pair(s) of blocks overlap: {shown}. Households in the overlap may be "
            "counted twice; clean the layer (e.g. snap or clip the polygons).",
            tuple(involved),
        )
    ]


# --- attributes ---------------------------------------------------------------------------------


#: Ids that are a missing value turned into text by a GIS or pandas.
_MISSING_WORDS = ("nan", "none", "null", "<na>", "nat", "n/a")


def check_duplicate_ids(ids: pd.Series) -> list[Finding]:
    """Block ids are the keys of every assignment file: they must be unique and present."""
    findings = []
    missing = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing.any():
        rows = [int(r) + 1 for r in np.flatnonzero(missing.to_numpy())]
        findings.append(
            Finding(
                "missing_id",
                ERROR,
                f"{len(rows)} row(s) have no block id (data rows {format_ids(rows)}). "
                "Give every block a unique id.",
            )
        )
    text = ids.astype(str).str.strip()  # the ids as they become the index
    placeholder = ~missing & text.str.lower().isin(_MISSING_WORDS)
    if placeholder.any():
        rows = [int(r) + 1 for r in np.flatnonzero(placeholder.to_numpy())]
        shown = ", ".join(f"{text.iloc[r - 1]!r} (row {r})" for r in rows[:_SHOWN_IDS])
        findings.append(
            Finding(
                "id_missing_value",
                ERROR,
                f"{len(rows)} block id(s) are a missing value written as text: {shown}. Give those "
                "blocks real ids (a NaN in the source becomes the text 'NaN').",
                tuple(text[placeholder]),
            )
        )
    dup = text[text.duplicated(keep=False) & ~missing & ~placeholder]
    if len(dup):
        values = sorted(set(dup))
        findings.append(
            Finding(
                "duplicate_id",
                ERROR,
                f"{len(values)} block id(s) occur more than once: {format_ids(values)}. "
                "Block ids must be unique; use --id to choose another column.",
                tuple(values),
            )
        )
    return findings


def parse_households(values: pd.Series, ids: pd.Index, column: str) -> tuple[pd.Series, list[Finding]]:
    """Household counts must be whole, non-negative numbers; report each kind of bad value."""
    findings = []
    boolean = values.map(lambda v: isinstance(v, bool | np.bool_)).astype(bool)
    values = values.astype(object).where(~boolean, None)
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    missing = values.isna() & ~boolean
    text_bad = values.notna() & numeric.isna()
    finite = numeric.notna()
    negative = finite & (numeric < 0)
    fractional = finite & ~negative & (np.abs(numeric - np.round(numeric)) > 1e-9)
    huge = finite & (numeric > 1_000_000)

    def ids_where(mask):
        return tuple(ids[mask.to_numpy()])

    if boolean.any():
        bad = ids_where(boolean)
        findings.append(Finding("households_boolean", ERROR, f"Column '{column}': {len(bad)} value(s) are true/false, not household counts: {format_ids(bad)}. Is '{column}' the right column? Name the count column with --households.", bad))
    if missing.any():
        bad = ids_where(missing)
        findings.append(Finding("households_missing", ERROR, f"Column '{column}': {len(bad)} block(s) have no household count: {format_ids(bad)}. Fill them in (0 for blocks with no residents).", bad))
    if text_bad.any():
        bad = ids_where(text_bad)
        positions = np.flatnonzero(text_bad.to_numpy())
        examples = ", ".join(f"{i}={values.iloc[m]!r}" for i, m in zip(bad[:3], positions[:3], strict=False))
        readable = [(values.iloc[m], _lenient_count(values.iloc[m])) for m in positions[:3]]
        readable = [(text, n) for text, n in readable if n is not None]
        hint = f" (e.g. {readable[0][1]} for {readable[0][0]!r})" if readable else ""
        findings.append(Finding("households_not_numeric", ERROR, f"Column '{column}': {len(bad)} value(s) are not numbers ({examples}). Write plain whole numbers such as 1200, without units or thousands separators{hint}.", bad))
    if negative.any():
        bad = ids_where(negative)
        findings.append(Finding("households_negative", ERROR, f"Column '{column}': {len(bad)} negative household count(s): {format_ids(bad)}.", bad))
    if fractional.any():
        bad = ids_where(fractional)
        findings.append(Finding("households_fractional", ERROR, f"Column '{column}': {len(bad)} household count(s) are not whole numbers: {format_ids(bad)}. Households are counted, not estimated; round them in the source if that is intended.", bad))
    if huge.any():
        bad = ids_where(huge)
        findings.append(Finding("households_implausible", ERROR, f"Column '{column}': {len(bad)} block(s) claim more than 1,000,000 households: {format_ids(bad)}. Check the column and the units.", bad))
    ok = finite & ~negative & ~fractional & ~huge
    parsed = pd.Series(np.where(ok, np.round(numeric.fillna(0)), 0).astype("int64"), index=values.index)
    return parsed, findings


_UNIT_WORDS = ("households", "household", "hhs", "hh", "户数", "户", "戶")


def _lenient_count(text) -> int | None:
    """``'1,200户'`` → 1200: what a count written with separators or a unit most likely means.

    Only used to suggest the fix in a message; such values are still rejected, since a cell
    like ``'1.200'`` or ``'约1200'`` is ambiguous and the planner should correct the source.
    """
    cleaned = str(text).strip().lower()
    for word in _UNIT_WORDS:
        if cleaned.endswith(word):
            cleaned = cleaned[: -len(word)].strip()
            break
    cleaned = cleaned.replace(",", "").replace("，", "").replace(" ", "")
    if not cleaned.isdigit():
        return None
    return int(cleaned)


#: More people than this in one block is a unit or column mistake (Infinity, 1e30, …).
POPULATION_MAX = 10_000_000


def parse_population(values: pd.Series, ids: pd.Index, column: str) -> tuple[pd.Series, list[Finding]]:
    """Population is optional and informative: bad values are warnings and become missing."""
    boolean = values.map(lambda v: isinstance(v, bool | np.bool_)).astype(bool)
    numeric = pd.to_numeric(values.astype(object).where(~boolean, None), errors="coerce").astype("float64")
    with np.errstate(invalid="ignore"):
        bad = boolean | (values.notna() & numeric.isna()) | (numeric < 0) | ~np.isfinite(numeric.fillna(0)) | (numeric > POPULATION_MAX)
    findings = []
    if bad.any():
        bad_ids = tuple(ids[bad.to_numpy()])
        findings.append(Finding("population_invalid", WARNING, f"Column '{column}': {len(bad_ids)} population value(s) are not plausible counts (a number from 0 to {POPULATION_MAX:,}) and are treated as missing: {format_ids(bad_ids)}.", bad_ids))
    numeric = numeric.where(~bad)
    return numeric.round().astype("Int64"), findings


def is_mojibake(text: str) -> bool:
    """True when ``text`` looks like GBK bytes decoded as Latin-1 (typical of a DBF without .cpg)."""
    if not text or any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return False
    if not any("\u0080" <= ch <= "\u00ff" for ch in text):
        return False
    try:
        recovered = text.encode("latin-1").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return any("\u4e00" <= ch <= "\u9fff" for ch in recovered)



# --- names of communities and subdistricts ------------------------------------------------------


def _cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def normalise_name(name: str) -> str:
    """``'昱\u3000中 '`` → ``'昱中'``: full-width and other non-ASCII spaces made plain, runs of
    spaces collapsed, and spaces between two Chinese characters (padding, never part of a name)
    removed."""
    plain = "".join(" " if ch.isspace() else ch for ch in name)
    plain = " ".join(plain.split())
    return "".join(ch for i, ch in enumerate(plain) if not (ch == " " and 0 < i < len(plain) - 1 and _cjk(plain[i - 1]) and _cjk(plain[i + 1])))


def normalise_names(values: pd.Series, column: str) -> tuple[pd.Series, list[Finding]]:
    """Community/subdistrict names with their spaces normalised (:func:`normalise_name`); the
    changed names are reported as a repair, with the names they now equal."""
    present = values.dropna().astype(str)
    fixed = {v: normalise_name(v) for v in present.unique()}
    changed = {v: f for v, f in fixed.items() if v != f}
    if not changed:
        return values, []
    out = values.map(lambda v: changed.get(v, v) if isinstance(v, str) else v)
    others = set(present) - set(changed)
    shown = ", ".join(f"{v!r} → {f!r}" + (" (merged with the existing name)" if f in others else "") for v, f in list(changed.items())[:_SHOWN_IDS])
    return out, [
        Finding(
            "name_spaces",
            REPAIRED,
            f"Column '{column}': {len(changed)} name(s) held full-width or extra spaces, which were "
            f"removed: {shown}. Fix them in the source to silence this.",
        )
    ]


def check_variant_names(values: pd.Series, column: str) -> list[Finding]:
    """Names that differ only in traditional vs simplified characters (黎阳 / 黎陽) are kept
    apart — they may really be two communities — but named in a warning."""
    import opencc

    names = sorted(set(values.dropna().astype(str)))
    if len(names) < 2:
        return []
    simplify = opencc.OpenCC("t2s")
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(simplify.convert(name), []).append(name)
    clashes = [group for group in groups.values() if len(group) > 1]
    if not clashes:
        return []
    shown = "; ".join(" / ".join(group) for group in clashes[:_SHOWN_IDS])
    return [
        Finding(
            "name_variants",
            WARNING,
            f"Column '{column}': {len(clashes)} name(s) are written in both traditional and "
            f"simplified characters: {shown}. They are kept as different names; if each pair is "
            "one place, write it one way in the source.",
        )
    ]
