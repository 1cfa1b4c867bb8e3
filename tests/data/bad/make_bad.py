"""Regenerate the bad-input corpus in this folder: ``python tests/data/bad/make_bad.py``.

Every file is written from plain arithmetic with the standard library only (GeoJSON as text,
Shapefiles and the PNG byte by byte, ZIP members with a fixed timestamp), so the output is the
same byte for byte on every machine.  The blocks lie in Tunxi, Huangshan (about 118.31°E,
29.71°N): 0.001° of longitude is about 97 m there and 0.0009° of latitude about 100 m; the
0.00015°/0.00013° gaps between blocks are ~15 m road gaps.  See README.md for what each file
exercises.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

LON0, LAT0 = 118.3100, 29.7100  # Tunxi
DX, DY = 0.0010, 0.0009  # a block: ~97 m × 100 m
GX, GY = 0.00015, 0.00013  # a road gap: ~15 m
WGS84_PRJ = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)


def r(v: float) -> float:
    return round(v, 7)


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """A closed counter-clockwise ring."""
    return [[r(x0), r(y0)], [r(x1), r(y0)], [r(x1), r(y1)], [r(x0), r(y1)], [r(x0), r(y0)]]


def cell(row: int, col: int, *, lon0: float = LON0, lat0: float = LAT0) -> list[list[float]]:
    x = lon0 + col * (DX + GX)
    y = lat0 + row * (DY + GY)
    return rect(x, y, x + DX, y + DY)


def polygon(*rings) -> dict:
    return {"type": "Polygon", "coordinates": list(rings)}


def feature(props: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def grid(rows: int, cols: int, households, *, community=None, **kwargs) -> list[dict]:
    """Blocks b1..bN row by row; ``community`` is one name or one per block."""
    features = []
    for i in range(rows * cols):
        row, col = divmod(i, cols)
        comm = community[i] if isinstance(community, list) else (community or "黎阳")
        props = {
            "block_id": f"b{i + 1}",
            "name": f"小区{i + 1}",
            "households": households[i] if isinstance(households, list) else households,
            "community": comm,
            "subdistrict": "昱东",
        }
        features.append(feature(props, polygon(cell(row, col, **kwargs))))
    return features


def write_geojson(name: str, features: list[dict]) -> None:
    data = {"type": "FeatureCollection", "features": features}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    (HERE / name).write_text(text + "\n", encoding="utf-8")


# --- Shapefiles, written byte by byte -----------------------------------------------------------


def _shp_record(number: int, shape_type: int, parts: list[list[list[float]]]) -> bytes:
    points = [p for part in parts for p in part]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    content = struct.pack("<i4d2i", shape_type, min(xs), min(ys), max(xs), max(ys), len(parts), len(points))
    starts, n = [], 0
    for part in parts:
        starts.append(n)
        n += len(part)
    content += struct.pack(f"<{len(parts)}i", *starts)
    content += b"".join(struct.pack("<2d", x, y) for x, y in points)
    return struct.pack(">2i", number, len(content) // 2) + content


def _shp_header(length_bytes: int, shape_type: int, bbox) -> bytes:
    return struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_bytes // 2) + struct.pack(
        "<2i8d", 1000, shape_type, *bbox, 0.0, 0.0, 0.0, 0.0
    )


def _dbf(fields: list[tuple[str, str, int]], rows: list[list], encoding: str) -> bytes:
    """A dBASE III table; ``fields`` are (name, 'C'|'N', width); a fixed date, no language id."""
    header_len = 32 + 32 * len(fields) + 1
    record_len = 1 + sum(w for _, _, w in fields)
    out = struct.pack("<4BIHH20x", 3, 124, 1, 1, len(rows), header_len, record_len)
    for name, kind, width in fields:
        out += struct.pack("<11sc4xBB14x", name.encode("ascii"), kind.encode("ascii"), width, 0)
    out += b"\r"
    for row in rows:
        out += b" "
        for (_, kind, width), value in zip(fields, row, strict=True):
            raw = str(value).encode(encoding)
            if len(raw) > width:
                raise ValueError(f"{value!r} is wider than {width} bytes")
            out += raw.rjust(width) if kind == "N" else raw.ljust(width)
    return out + b"\x1a"


def write_shapefile(stem: str, shape_type: int, shapes, fields, rows, *, encoding="utf-8", prj=True, cpg=True) -> dict[str, bytes]:
    """Write ``stem``.shp/.shx/.dbf (and .prj/.cpg unless told not to); returns the bytes by suffix.

    ``shapes`` are lists of parts (rings or lines), each a list of [x, y]; polygon exteriors are
    reversed to the clockwise order the Shapefile format wants, holes to counter-clockwise.
    """
    records = []
    for i, parts in enumerate(shapes, start=1):
        if shape_type == 5:
            parts = [_orient(part, clockwise=not _is_hole(part, parts)) for part in parts]
        records.append(_shp_record(i, shape_type, parts))
    points = [p for parts in shapes for part in parts for p in part]
    bbox = (min(p[0] for p in points), min(p[1] for p in points), max(p[0] for p in points), max(p[1] for p in points))
    shp = _shp_header(100 + sum(len(rec) for rec in records), shape_type, bbox) + b"".join(records)
    shx = _shp_header(100 + 8 * len(records), shape_type, bbox)
    offset = 100
    for rec in records:
        shx += struct.pack(">2i", offset // 2, (len(rec) - 8) // 2)
        offset += len(rec)
    files = {".shp": shp, ".shx": shx, ".dbf": _dbf(fields, rows, encoding)}
    if prj:
        files[".prj"] = WGS84_PRJ.encode("ascii")
    if cpg:
        files[".cpg"] = b"UTF-8"
    for suffix, data in files.items():
        (HERE / f"{stem}{suffix}").write_bytes(data)
    return files


def _signed_area(ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2


def _orient(ring, *, clockwise: bool):
    return ring[::-1] if (_signed_area(ring) < 0) != clockwise else ring


def _is_hole(part, parts) -> bool:
    return part is not parts[0]


def grid_shapes(rows: int, cols: int) -> list[list[list[list[float]]]]:
    return [[cell(*divmod(i, cols))] for i in range(rows * cols)]


BLOCK_FIELDS = [("block_id", "C", 10), ("households", "N", 10), ("name", "C", 40), ("community", "C", 40), ("street", "C", 40)]


def block_rows(names, communities) -> list[list]:
    return [[f"b{i + 1}", 500, n, c, "昱东街道"] for i, (n, c) in enumerate(zip(names, communities, strict=True))]


def write_zip(name: str, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(HERE / name, "w", compression=zipfile.ZIP_STORED) as archive:
        for member, data in members.items():
            archive.writestr(zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0)), data)


def png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">2I5B", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00", 9)) + chunk(b"IEND", b"")


# --- the corpus ---------------------------------------------------------------------------------


def main() -> None:
    # A valid layer to which bad options are applied: 6 blocks × 500 = 3,000 households.
    write_geojson("blocks.geojson", grid(2, 3, 500, community=["黎阳"] * 3 + ["昱中"] * 3))

    # Files that are not block layers.
    (HERE / "empty.geojson").write_bytes(b"")
    (HERE / "text.geojson").write_text("这不是地理数据 / this is not geodata\n", encoding="utf-8")
    (HERE / "image.geojson").write_bytes(png_1x1())
    full = json.dumps({"type": "FeatureCollection", "features": grid(2, 2, 500)}, ensure_ascii=False)
    (HERE / "truncated.geojson").write_text(full[: len(full) // 2], encoding="utf-8")
    files = write_shapefile("_tmp_blocks", 5, grid_shapes(2, 2), BLOCK_FIELDS, block_rows(["甲", "乙", "丙", "丁"], ["黎阳"] * 4))
    write_zip("no_dbf.zip", {"blocks.shp": files[".shp"], "blocks.shx": files[".shx"], "blocks.prj": files[".prj"]})
    for suffix in files:
        (HERE / f"_tmp_blocks{suffix}").unlink()

    # Geometry.
    bad = grid(2, 2, 500)
    bad[1]["geometry"] = {"type": "Point", "coordinates": bad[1]["geometry"]["coordinates"][0][0]}
    bad[2]["geometry"] = {"type": "LineString", "coordinates": bad[2]["geometry"]["coordinates"][0][:2]}
    write_geojson("points_lines.geojson", bad)

    bad = grid(2, 2, 500)
    bad[1]["geometry"] = None
    bad[2]["geometry"] = {"type": "Polygon", "coordinates": []}
    write_geojson("empty_geometries.geojson", bad)

    bad = grid(2, 2, 500)
    (x0, y0), (x1, _), (_, y1) = bad[0]["geometry"]["coordinates"][0][:3]
    bad[0]["geometry"] = polygon([[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]])  # a bow-tie
    write_geojson("bowtie.geojson", bad)

    # A courtyard block with two holes: one filled exactly by block "yard", one holding block
    # "school" with a ~10 m lane all round; block "east" lies across a road.
    x, y = LON0, LAT0
    court = polygon(
        rect(x, y, x + 0.0030, y + 0.0014),
        rect(x + 0.0004, y + 0.0004, x + 0.0012, y + 0.0010)[::-1],
        rect(x + 0.0016, y + 0.0003, x + 0.0026, y + 0.0011)[::-1],
    )
    write_geojson("courtyard.geojson", [
        feature({"block_id": "court", "households": 800, "community": "黎阳"}, court),
        feature({"block_id": "yard", "households": 300, "community": "黎阳"}, polygon(rect(x + 0.0004, y + 0.0004, x + 0.0012, y + 0.0010))),
        feature({"block_id": "school", "households": 0, "community": "黎阳"}, polygon(rect(x + 0.0017, y + 0.0004, x + 0.0025, y + 0.0010))),
        feature({"block_id": "east", "households": 600, "community": "黎阳"}, polygon(rect(x + 0.0030 + GX, y, x + 0.0040 + GX, y + 0.0014))),
    ])

    # Multi-part blocks: b1 is two cells across a ~15 m lane; b2's second part lies ~400 m away.
    bad = grid(2, 3, 500)
    bad[0]["geometry"] = {"type": "MultiPolygon", "coordinates": [[cell(0, 0)], [cell(0, 1)]]}
    bad[1]["geometry"] = {"type": "MultiPolygon", "coordinates": [[cell(0, 2)], [cell(0, 6)]]}
    write_geojson("multipart.geojson", [bad[0], bad[1]] + bad[3:])

    # Attributes.
    bad = grid(2, 2, 500)
    bad[2]["properties"]["block_id"] = "b2"
    write_geojson("duplicate_ids.geojson", bad)
    write_geojson("households_bad.geojson", grid(2, 3, [500, None, -5, 12.5, "1,200户", 1_000_000_000]))
    bad = grid(2, 2, 500)
    for f in bad:
        f["properties"]["families"] = f["properties"].pop("households")
    write_geojson("no_households_column.geojson", bad)

    # CRS and coordinates.
    write_shapefile("no_crs", 5, grid_shapes(2, 2), BLOCK_FIELDS, block_rows(["甲", "乙", "丙", "丁"], ["黎阳"] * 4), prj=False)
    write_geojson("projected_as_wgs84.geojson", [
        feature(f["properties"], polygon([[r(500_000 + (px - LON0) * 96_700), r(3_300_000 + (py - LAT0) * 110_900)] for px, py in f["geometry"]["coordinates"][0]]))
        for f in grid(2, 2, 500)
    ])
    write_geojson("swapped_axes.geojson", [
        feature(f["properties"], polygon([[py, px] for px, py in f["geometry"]["coordinates"][0]]))
        for f in grid(2, 2, 500)
    ])
    write_geojson("outside_china.geojson", grid(2, 2, 500, lon0=2.3500, lat0=48.8500))  # Paris

    # A GBK-encoded DBF without a .cpg (what many Chinese GIS exports look like).
    write_shapefile(
        "gbk_no_cpg", 5, grid_shapes(2, 2), BLOCK_FIELDS,
        block_rows(["阳光花园", "黎阳新村", "昱中小区", "教育局宿舍"], ["黎阳社区"] * 2 + ["昱中社区"] * 2),
        encoding="gbk", cpg=False,
    )

    # Options against the valid layer: office sites and a barrier.
    def site(site_id: str, lon: float, lat: float) -> dict:
        props = {"site_id": site_id, "name": f"办公点{site_id}", "floor_area_m2": 400}
        return feature(props, {"type": "Point", "coordinates": [r(lon), r(lat)]})

    inside = (LON0 + DX / 2, LAT0 + DY / 2)  # the middle of b1
    write_geojson("offices_outside.geojson", [site("O1", LON0 + 0.02, LAT0), site("O2", LON0 + 0.02, LAT0 + 0.01)])
    write_geojson("offices_partly_outside.geojson", [site("O1", *inside), site("O2", LON0 + 0.02, LAT0)])
    river_x = LON0 + 2 * DX + 1.5 * GX  # in the road between the 2nd and 3rd column
    write_shapefile("barrier_no_crs", 3, [[[[river_x, LAT0 - 0.001], [river_x, LAT0 + 0.003]]]], [("name", "C", 20)], [["river"]], prj=False)

    # The graph: a 2×2 cluster, a pair of blocks ~200 m east and one block ~300 m north.
    islands = grid(2, 2, 700)
    pair = grid(1, 2, 300, community="昱中", lon0=LON0 + 2 * (DX + GX) + 0.0020)
    lone = grid(1, 1, 50, community="昱中", lat0=LAT0 + 2 * (DY + GY) + 0.0027)
    for i, f in enumerate(pair + lone, start=5):
        f["properties"].update(block_id=f"b{i}", name=f"小区{i}")
    write_geojson("islands.geojson", islands + pair + lone)

    # A block that alone holds more than the maximum (3,500 > 3,000).
    write_geojson("big_block.geojson", grid(2, 2, [3500, 500, 500, 500]))

    round_two()


def write_text(name: str, text: str, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(text.encode(encoding))


def round_two() -> None:
    """The cases of issue 13 ("hostile input, round two")."""
    x, y = LON0, LAT0
    # A 15 m strip between two blocks 23 m apart (4 m lanes): snapping must not jump over it.
    strip_w, lane = 0.000155, 0.000041  # ~15 m and ~4 m of longitude
    write_geojson("strip.geojson", [
        feature({"block_id": "west", "households": 1500, "community": "黎阳"}, polygon(rect(x, y, x + DX, y + DY))),
        feature({"block_id": "strip", "households": 0, "community": "黎阳"}, polygon(rect(x + DX + lane, y, x + DX + lane + strip_w, y + DY))),
        feature({"block_id": "east", "households": 1500, "community": "黎阳"}, polygon(rect(x + DX + 2 * lane + strip_w, y, x + 2 * DX + 2 * lane + strip_w, y + DY))),
    ])
    # A courtyard whose wall is ~8 m thick, a block in its hole and a block outside, each ~5 m
    # from the wall: inner and outside lie 18 m apart, but the wall is between them.
    wall_x, wall_y = 0.000083, 0.000072
    court = polygon(rect(x, y, x + 0.0030, y + 0.0027), rect(x + wall_x, y + wall_y, x + 0.0030 - wall_x, y + 0.0027 - wall_y)[::-1])
    write_geojson("thin_courtyard.geojson", [
        feature({"block_id": "court", "households": 800, "community": "黎阳"}, court),
        feature({"block_id": "inner", "households": 900, "community": "黎阳"}, polygon(rect(x + wall_x + lane, y + wall_y + lane, x + 0.0030 - wall_x - lane, y + 0.0027 - wall_y - lane))),
        feature({"block_id": "outside", "households": 700, "community": "黎阳"}, polygon(rect(x + 0.0030 + lane, y, x + 0.0040 + lane, y + 0.0027))),
    ])
    # Web Mercator declared with the old GeoJSON "crs" member: metres inflated by 1/cos(29.7°).
    merc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}, "features": [
        feature(f["properties"], polygon([[round(_mercator_x(px), 3), round(_mercator_y(py), 3)] for px, py in f["geometry"]["coordinates"][0]]))
        for f in grid(2, 2, 500)
    ]}
    (HERE / "web_mercator.geojson").write_text(json.dumps(merc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    write_geojson("near_pole.geojson", grid(1, 3, 10, lon0=10.0, lat0=89.5))
    # Attributes.
    bad = grid(2, 2, 500)
    bad[0]["properties"]["households"], bad[1]["properties"]["households"] = True, False
    write_geojson("households_boolean.geojson", bad)
    write_geojson("households_all_true.geojson", grid(2, 2, True))
    text = json.dumps({"type": "FeatureCollection", "features": grid(2, 2, 500)}, ensure_ascii=False, separators=(",", ":"))
    text = text.replace('"households":500', '"households":500,"population":Infinity', 1)
    text = text.replace('"block_id":"b2","name":"小区2","households":500', '"block_id":"b2","name":"小区2","households":500,"population":1e30', 1)
    text = text.replace('"block_id":"b3","name":"小区3","households":500', '"block_id":"b3","name":"小区3","households":500,"population":1200', 1)
    write_text("population_infinite.geojson", text + "\n")
    text = json.dumps({"type": "FeatureCollection", "features": grid(2, 2, 500)}, ensure_ascii=False, separators=(",", ":"))
    write_text("nan_id.geojson", text.replace('"block_id":"b3"', '"block_id":NaN', 1) + "\n")
    first = f"[{r(LON0)},{r(LAT0)}]"
    middle = f"[{r(LON0 + DX + GX + DX)},{r(LAT0)}]"
    text = text.replace(first, "[NaN,29.71]", 1)  # b1's first vertex: GDAL cannot close the ring
    text = text.replace(middle, "[NaN,29.71]", 1)  # a vertex of b2: GDAL reads it
    write_text("nan_coordinate.geojson", text + "\n")
    depth = 1_500  # beyond the ~1,000 levels Python's JSON parser allows; GDAL allows fewer
    write_text("deep_nesting.geojson", '{"type":"FeatureCollection","features":[' + json.dumps(grid(1, 1, 500)[0], ensure_ascii=False)[:-1] + ',"x":' + "[" * depth + "]" * depth + "}]}\n")
    bad = grid(2, 2, 500)
    for i, f in enumerate(bad):
        f["properties"]["户数"] = 400 + i
    write_geojson("two_household_columns.geojson", bad)
    write_geojson("community_variants.geojson", grid(2, 3, 500, community=["黎阳", "黎陽", "黎阳", "昱中", "昱\u3000中", "昱中 "]))
    files = write_shapefile("_tmp_blocks", 5, grid_shapes(1, 2), BLOCK_FIELDS, block_rows(["甲", "乙"], ["黎阳"] * 2))
    write_zip("two_shapefiles.zip", {f"{stem}{suffix}": data for stem in ("blocks", "blocks_2019") for suffix, data in files.items()})
    for suffix in files:
        (HERE / f"_tmp_blocks{suffix}").unlink()
    write_geojson("offices_duplicate_ids.geojson", [
        feature({"site_id": "O1", "name": "办公点甲", "floor_area_m2": 400}, {"type": "Point", "coordinates": [r(x + DX / 2), r(y + DY / 2)]}),
        feature({"site_id": "O1", "name": "办公点乙", "floor_area_m2": 400}, {"type": "Point", "coordinates": [r(x + 2 * (DX + GX) + DX / 2), r(y + DY / 2)]}),
    ])
    # Ids the Shapefile DBF would lose in GBK: an emoji (no GBK code) and a 130-character name.
    bad = grid(2, 3, 500)
    bad[0]["properties"]["block_id"] = "b1😀"
    bad[1]["properties"]["block_id"] = "阳光花园" * 33 + "b2"
    write_geojson("ids_not_in_gbk.geojson", bad)
    # Assignment CSVs for blocks.geojson: as Excel saves it on Chinese Windows (GBK, CRLF), with
    # the columns swapped and padded; a lock table with a block locked to two labels.
    write_text("assignment_gbk.csv", "block_id,unit_id\r\n" + "".join(f"b{i},阜新一\r\n" for i in range(1, 7)), "gbk")
    write_text("assignment_swapped.csv", "unit_id , block_id\n" + "".join(f" 阜新一 , b{i} \n" for i in range(1, 7)))
    write_text("locks_conflict.csv", "block_id,unit\nb1,甲\nb2,甲\nb1,乙\n")
    # A sweep whose scenario is named like the sweep's own comparison page.
    write_text("reserved_names.toml", '[defaults]\nblocks = "blocks.geojson"\nmin = 1400\nmax = 1600\n\n[[scenario]]\nname = "comparison.html"\n')


def _mercator_x(lon: float) -> float:
    import math

    return 6378137.0 * math.radians(lon)


def _mercator_y(lat: float) -> float:
    import math

    return 6378137.0 * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


if __name__ == "__main__":
    main()
