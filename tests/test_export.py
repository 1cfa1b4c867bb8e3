"""GIS exports: GeoPackage, Shapefile (UTF-8/GBK), RFC 7946 GeoJSON, CSV; reading OUT/ back."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Polygon
from test_maps import grid_plan

from redistrict import boundaries, export
from redistrict.errors import InputError
from redistrict.outputs import write_diagnosis, write_geojson, write_plan
from redistrict.plan import Plan
from redistrict.report import write_outputs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A solved grid plan written to OUT/ as a run writes it (with the map, report and extras)."""
    plan, layer, graph, sites = grid_plan()
    out = tmp_path_factory.mktemp("run") / "OUT"
    write_plan(plan, layer.blocks, out, extra=lambda tmp: write_outputs(plan, layer.blocks, tmp, offices=sites))
    return plan, layer, graph, sites, out


# --- RFC 7946 -------------------------------------------------------------------------------------


def _ring_area(ring: list) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2


def _decimals(value: float) -> int:
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def rfc7946_problems(doc: dict) -> list[str]:
    """What in a GeoJSON document breaks RFC 7946 (as the city GIS reads it): empty when none."""
    problems = []
    if doc.get("type") != "FeatureCollection":
        problems.append("not a FeatureCollection")
    if "crs" in doc:
        problems.append("has a crs member (§4: not allowed)")
    for i, feature in enumerate(doc.get("features", [])):
        if feature.get("type") != "Feature" or not isinstance(feature.get("properties"), dict):
            problems.append(f"feature {i}: not a Feature with properties")
        geom = feature.get("geometry") or {}
        polygons = {"Polygon": [geom.get("coordinates")], "MultiPolygon": geom.get("coordinates")}.get(geom.get("type"))
        if polygons is None:
            problems.append(f"feature {i}: {geom.get('type')} is not a polygon")
            continue
        for polygon in polygons:
            for r, ring in enumerate(polygon):
                if len(ring) < 4 or ring[0] != ring[-1]:
                    problems.append(f"feature {i}: ring not closed or too short (§3.1.6)")
                for lon, lat, *rest in ring:
                    if rest or not (-180 <= lon <= 180 and -90 <= lat <= 90):
                        problems.append(f"feature {i}: position {lon}, {lat} is not lon/lat")
                    if _decimals(lon) > 7 or _decimals(lat) > 7:
                        problems.append(f"feature {i}: more than 7 decimals ({lon}, {lat}) (§11.2)")
                area = _ring_area(ring)
                if (r == 0 and area <= 0) or (r > 0 and area >= 0):
                    problems.append(f"feature {i}: ring {r} winds the wrong way (§3.1.6)")
    return problems


def test_units_geojson_of_a_run_follows_rfc7946(run):
    plan, *_, out = run
    raw = (out / "units.geojson").read_bytes()
    doc = json.loads(raw.decode("utf-8"))
    assert rfc7946_problems(doc) == []
    assert len(doc["features"]) == plan.k
    assert "甲社区" in raw.decode("utf-8")  # UTF-8, Chinese intact (not \u-escaped into noise)
    blocks = json.loads((out / "blocks.geojson").read_text(encoding="utf-8"))
    assert rfc7946_problems(blocks) == []


def test_the_validator_catches_bad_winding_and_crs_and_holes_are_written_clockwise(tmp_path):
    donut = Polygon([(0, 0), (0, 100), (100, 100), (100, 0)], [[(30, 30), (60, 30), (60, 60), (30, 60)]])  # exterior clockwise
    gdf = gpd.GeoDataFrame({"name": ["环"]}, geometry=[shapely.affinity.translate(donut, 626_700, 3_287_000)], crs="EPSG:32650")
    path = tmp_path / "donut.geojson"
    write_geojson(gdf, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert rfc7946_problems(doc) == []
    bad = json.loads(json.dumps(doc))
    bad["crs"] = {"type": "name"}
    bad["features"][0]["geometry"]["coordinates"][0].reverse()
    problems = rfc7946_problems(bad)
    assert any("crs" in p for p in problems) and any("wrong way" in p for p in problems)


# --- reading a run back --------------------------------------------------------------------------


def test_load_plan_dir_gives_back_the_plan(run):
    plan, layer, _, _, out = run
    saved = export.load_plan_dir(out)
    assert saved.plan.ok and saved.plan.status == plan.status
    pd.testing.assert_series_equal(saved.plan.assignment, plan.assignment, check_names=False)
    assert saved.plan.units["households"].tolist() == plan.units["households"].tolist()
    assert saved.plan.units["office_site"].tolist() == plan.units["office_site"].tolist()
    assert saved.plan.problem["bounds"] == {"min": 400, "max": 400}
    assert set(saved.blocks.index) == set(layer.blocks.index)
    assert saved.blocks.crs.is_projected
    assert (saved.blocks.loc[layer.blocks.index, "households"].to_numpy() == layer.blocks["households"].to_numpy()).all()
    assert saved.offices is not None and saved.offices["in_use"].sum() == 4
    assert saved.plan.to_dict()["units"] == plan.to_dict()["units"]


def test_load_plan_dir_refuses_what_is_not_a_plan(tmp_path, run):
    with pytest.raises(InputError, match="not an output folder"):
        export.load_plan_dir(tmp_path / "nothing")
    with pytest.raises(InputError, match="report.json"):
        export.load_plan_dir(tmp_path)
    infeasible, *_ = grid_plan(3, 3, offices=False, households=[1027] * 8 + [1026], lower=2500, upper=3000, relax=True)
    failed = Plan("infeasible", {"name": "阜新"}, message="阜新 cannot form units", diagnosis=infeasible.diagnosis)
    write_diagnosis(failed, tmp_path / "failed")
    with pytest.raises(InputError, match="found no plan"):
        export.load_plan_dir(tmp_path / "failed")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "report.json").write_text((run[-1] / "report.json").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(InputError, match="assignment.csv, blocks.geojson missing"):
        export.load_plan_dir(partial)


# --- exports --------------------------------------------------------------------------------------


def test_geopackage_round_trip_in_cgcs2000(run, tmp_path):
    plan, layer, _, _, out = run
    (path,) = export.export_plan(out, "gpkg", crs="EPSG:4490", dest=tmp_path / "plan.gpkg")
    assert sorted(str(n) for n in pyogrio.list_layers(path)[:, 0]) == ["blocks", "offices", "units"]
    units = gpd.read_file(path, layer="units")
    blocks = gpd.read_file(path, layer="blocks")
    assert units.crs.to_epsg() == 4490
    assert units["unit_id"].tolist() == plan.units["unit_id"].tolist()
    assert units["households"].tolist() == plan.units["households"].tolist()
    assert {"polsby_popper", "reock"} <= set(units.columns)
    assert sorted(blocks["block_id"]) == sorted(layer.blocks.index)
    merged = blocks.set_index("block_id").loc[layer.blocks.index]
    assert merged["unit_id"].tolist() == plan.assignment.loc[layer.blocks.index].tolist()
    original = layer.blocks.geometry.to_crs(4490)
    for a, b in zip(original, merged.geometry, strict=True):
        assert a.hausdorff_distance(b) < 2e-7  # equal within the 1e-7° rounding
    offices = gpd.read_file(path, layer="offices")
    assert offices["in_use"].sum() == 4 and len(offices) == 6


def test_geopackage_default_destination_and_metric_crs(run):
    *_, out = run
    (path,) = export.export_plan(out, "gpkg", crs="EPSG:32650")
    assert path == out / "export" / "plan.gpkg"
    blocks = gpd.read_file(path, layer="blocks")
    assert blocks.crs.to_epsg() == 32650 and blocks.total_bounds[0] > 600_000
    assert ((blocks.geometry.area - 10_000).abs() < 2).all()  # 100 m squares, in metres (1e-7° rounding)


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_shapefile_with_encoding_cpg_and_short_field_names(run, tmp_path, encoding):
    plan, layer, _, _, out = run
    written = export.export_plan(out, "shp", encoding=encoding, dest=tmp_path / "shp")
    folder = tmp_path / "shp"
    assert {p.name for p in written} >= {"units.shp", "blocks.shp", "offices.shp", "units.cpg", "fields.csv"}
    assert (folder / "blocks.cpg").read_text().strip() == ("GBK" if encoding == "gbk" else "UTF-8")
    for name in ("units", "blocks", "offices"):
        fields = pyogrio.read_info(folder / f"{name}.shp", encoding=encoding)["fields"]
        assert all(len(f.encode(encoding)) <= 10 for f in fields), fields
    dbf = (folder / "blocks.dbf").read_bytes()
    assert "甲社区".encode(encoding) in dbf
    blocks = gpd.read_file(folder / "blocks.shp")  # the .cpg tells the reader the encoding
    assert set(blocks["community"]) == {"甲社区", "乙社区"}
    assert sorted(blocks["block_id"]) == sorted(layer.blocks.index)
    assert blocks.set_index("block_id").loc[layer.blocks.index, "households"].tolist() == layer.blocks["households"].tolist()
    units = gpd.read_file(folder / "units.shp")
    assert units["hh_moved"].notna().all() and units["in_bounds"].tolist() == [1] * plan.k
    assert units["households"].tolist() == plan.units["households"].tolist()
    fields_csv = pd.read_csv(folder / "fields.csv")
    assert ("units", "hh_moved", "households_moved_in") in set(fields_csv.itertuples(index=False, name=None))


def test_geojson_export_is_rfc7946_and_refuses_other_crs(run, tmp_path):
    plan, *_, out = run
    written = export.export_plan(out, "geojson", dest=tmp_path / "gj")
    assert [p.name for p in written] == ["units.geojson", "blocks.geojson", "offices.geojson"]
    units = json.loads(written[0].read_text(encoding="utf-8"))
    assert rfc7946_problems(units) == []
    assert [f["properties"]["unit_id"] for f in units["features"]] == plan.units["unit_id"].tolist()
    with pytest.raises(InputError, match="RFC 7946"):
        export.export_plan(out, "geojson", crs="EPSG:4490", dest=tmp_path / "gj2")
    with pytest.raises(InputError, match="UTF-8"):
        export.export_plan(out, "geojson", encoding="gbk", dest=tmp_path / "gj3")


def test_csv_is_the_block_equivalency_file(run, tmp_path):
    plan, *_, out = run
    bef, units = export.export_plan(out, "csv", encoding="gbk", dest=tmp_path / "csv")
    frame = pd.read_csv(bef, dtype=str, encoding="gbk")
    assert list(frame.columns) == ["block_id", "unit_id"]
    assert dict(zip(frame["block_id"], frame["unit_id"], strict=True)) == plan.assignment.to_dict()
    table = pd.read_csv(units, encoding="gbk")
    assert table["households"].tolist() == plan.units["households"].tolist()


def test_export_from_a_plan_in_memory_and_bad_options(run, tmp_path):
    plan, layer, _, sites, _ = run
    (path,) = export.export_plan(plan, "gpkg", blocks=layer.blocks, offices=sites, dest=tmp_path / "m.gpkg")
    assert gpd.read_file(path, layer="units")["unit_id"].tolist() == plan.units["unit_id"].tolist()
    assert export.export_plan(plan, "gpkg", blocks=layer.blocks, dest=tmp_path) == [tmp_path / "plan.gpkg"]
    with pytest.raises(InputError, match="needs its blocks"):
        export.export_plan(plan, "gpkg", dest=tmp_path / "x.gpkg")
    with pytest.raises(InputError, match="dest"):
        export.export_plan(plan, "gpkg", blocks=layer.blocks)
    with pytest.raises(InputError, match="format"):
        export.export_plan(plan, "kml", blocks=layer.blocks, dest=tmp_path / "x")
    with pytest.raises(InputError, match="encoding"):
        export.export_plan(plan, "shp", blocks=layer.blocks, encoding="latin-1", dest=tmp_path / "x")
    with pytest.raises(InputError, match="Unknown CRS"):
        export.export_plan(plan, "gpkg", blocks=layer.blocks, crs="EPSG:999999", dest=tmp_path / "x.gpkg")


def test_shapefile_names_are_short_and_unique():
    names = export.shapefile_names(["households_moved_in", "subdistrict", "居住小区名称很长", "population_2020", "population_2021"], "gbk")
    assert names["households_moved_in"] == "hh_moved" and names["subdistrict"] == "subdist"
    assert all(len(v.encode("gbk")) <= 10 for v in names.values())
    assert len({v.lower() for v in names.values()}) == len(names)


# --- a plan from an assignment table --------------------------------------------------------------


def test_plan_from_assignment_matches_the_solved_plan(run, tmp_path):
    plan, layer, graph, sites, out = run
    given = export.plan_from_assignment(layer.blocks, graph, out / "assignment.csv", lower=400, upper=400, offices=sites)
    assert given.status == "feasible" and given.ok
    assert given.units["households"].tolist() == plan.units["households"].tolist()
    # each unit's office is its largest qualifying site: S5 (500 m²) shares a unit with S4 (310 m²)
    assert sorted(given.units["office_site"]) == sorted({"S4": "S5"}.get(s, s) for s in plan.units["office_site"])
    assert given.objective["households_moved"] == plan.objective["households_moved"]
    relaxed = export.plan_from_assignment(layer.blocks, graph, plan.assignment, lower=500, upper=600)
    assert relaxed.status == "relaxed" and relaxed.ok and not relaxed.units["within_bounds"].any()


def test_plan_from_assignment_reports_broken_plans(run):
    _, layer, graph, _, _ = run
    pieces = pd.DataFrame({"block_id": list(layer.blocks.index), "unit_id": ["A" if i in (0, 15) else "B" for i in range(16)]})
    broken = export.plan_from_assignment(layer.blocks, graph, pieces, lower=0, upper=10_000)
    assert broken.status == "invalid" and not broken.ok and "pieces" in broken.message
    unknown = pd.concat([pieces, pd.DataFrame({"block_id": ["nope"], "unit_id": ["B"]})])
    with pytest.raises(InputError, match="not blocks of the layer"):
        export.plan_from_assignment(layer.blocks, graph, unknown)
    assert math.isclose(broken.units["households"].sum(), 1600)


# --- one units layer everywhere (issue 14) --------------------------------------------------------


def _fields(path, layer=None) -> dict[str, str]:
    info = pyogrio.read_info(path, layer=layer)
    return dict(zip(info["fields"], info["dtypes"], strict=True))


def test_out_units_are_tessellated_and_carry_compactness_and_structured_communities(run):
    plan, layer, *_, out = run
    units = gpd.read_file(out / "units.geojson").to_crs(layer.blocks.crs)
    assert (units.geom_type == "Polygon").all()  # one polygon per contiguous unit, roads included
    area = boundaries.study_area(layer.blocks.loc[plan.assignment.index])
    assert abs(units.union_all().area - area.area) < 1e-4 * area.area
    for a, b in zip(units.geometry[:-1], units.geometry[1:], strict=True):
        assert a.intersection(b).area < 1e-3 * a.area
    assert {"polsby_popper", "reock"} <= set(units.columns)
    # GDAL writes the JSON text as a nested object in GeoJSON (JSON text in GPKG, SHP and CSV)
    comms = [value if isinstance(value, dict) else json.loads(value) for value in units["communities"]]
    assert comms and all(isinstance(c, dict) and c for c in comms)
    assert all(sum(c.values()) <= hh for c, hh in zip(comms, units["households"], strict=True))
    assert {k for c in comms for k in c} <= {"甲社区", "乙社区"}


def test_unit_fields_are_the_same_in_out_and_every_export(run, tmp_path):
    *_, out = run
    expected = [f for f in _fields(out / "units.geojson")]
    gpkg = export.export_plan(out, "gpkg", dest=tmp_path / "p.gpkg")[0]
    assert list(_fields(gpkg, "units")) == expected
    export.export_plan(out, "geojson", dest=tmp_path / "gj")
    assert list(_fields(tmp_path / "gj" / "units.geojson")) == expected
    export.export_plan(out, "shp", dest=tmp_path / "shp")
    names = pd.read_csv(tmp_path / "shp" / "fields.csv")
    assert names.loc[names["layer"] == "units", "column"].tolist() == expected
    assert list(_fields(tmp_path / "shp" / "units.shp")) == names.loc[names["layer"] == "units", "field"].tolist()
    export.export_plan(out, "csv", dest=tmp_path / "csv")
    assert pd.read_csv(tmp_path / "csv" / "units.csv", encoding="utf-8-sig").columns.tolist() == expected


def test_integer_fields_have_one_width_in_every_layer(run, tmp_path):
    *_, out = run
    gpkg = export.export_plan(out, "gpkg", dest=tmp_path / "p.gpkg")[0]
    units, blocks = _fields(gpkg, "units"), _fields(gpkg, "blocks")
    assert units["households"] == blocks["households"] == "int64"
    assert {units[c] for c in ("blocks", "violation")} == {"int64"}


def test_the_same_office_sites_in_out_and_in_the_export(run, tmp_path):
    *_, out = run
    in_out = gpd.read_file(out / "offices.geojson")
    gpkg = export.export_plan(out, "gpkg", dest=tmp_path / "p.gpkg")[0]
    exported = gpd.read_file(gpkg, layer="offices")
    assert sorted(in_out["site_id"]) == sorted(exported["site_id"])
    assert in_out.set_index("site_id")["in_use"].to_dict() == exported.set_index("site_id")["in_use"].to_dict()


def test_shapefile_export_lists_every_file_it_writes(run, tmp_path):
    *_, out = run
    written = export.export_plan(out, "shp", dest=tmp_path / "shp")
    assert sorted(written) == sorted((tmp_path / "shp").iterdir())
    assert {p.suffix for p in written} == {".shp", ".shx", ".dbf", ".prj", ".cpg", ".csv"}


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "geojson", "csv"])
def test_export_refuses_to_overwrite_without_force(run, tmp_path, fmt):
    *_, out = run
    dest = tmp_path / ("p.gpkg" if fmt == "gpkg" else fmt)
    first = export.export_plan(out, fmt, dest=dest)
    before = {p: p.stat().st_mtime_ns for p in first}
    with pytest.raises(InputError, match="--force"):
        export.export_plan(out, fmt, dest=dest)
    assert {p: p.stat().st_mtime_ns for p in first} == before  # nothing touched
    assert export.export_plan(out, fmt, dest=dest, force=True) == first


def test_geopackage_is_version_1_2(run, tmp_path):
    import sqlite3

    *_, out = run
    gpkg = export.export_plan(out, "gpkg", dest=tmp_path / "p.gpkg")[0]
    with sqlite3.connect(gpkg) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200
    assert len(pyogrio.list_layers(gpkg)) == 3


def test_block_union_geometry_is_an_option(run, tmp_path):
    plan, layer, *_, out = run
    gpkg = export.export_plan(out, "gpkg", dest=tmp_path / "p.gpkg", unit_geometry="blocks")[0]
    units = gpd.read_file(gpkg, layer="units")
    assert (units.geom_type == "MultiPolygon").all()  # blocks with the roads left out
    with pytest.raises(InputError, match="tessellated, blocks"):
        export.export_plan(out, "gpkg", dest=tmp_path / "q.gpkg", unit_geometry="voronoi")


def test_cli_export_lists_files_and_needs_force_to_overwrite(run, tmp_path, capsys):
    from redistrict.cli import main

    def cli(*args):
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in args])
        captured = capsys.readouterr()
        return exit_info.value.code, " ".join((captured.out + captured.err).split())

    *_, out = run
    args = ["export", out, "--format", "shp", "--dest", tmp_path / "shp"]
    code, text = cli(*args)
    assert code == 0, text
    assert all(f"units{suffix}" in text for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"))
    code, text = cli(*args)
    assert code == 2 and "--force" in text
    assert cli(*args, "--force")[0] == 0
    code, text = cli(*args, "--force", "--unit-geometry", "voronoi")
    assert code == 2 and "tessellated, blocks" in text


def test_cli_export_tiles_a_study_area_the_user_gives(run, tmp_path, capsys):
    """--study-area: the units tile the given boundary polygon, not just the blocks' neighbourhood."""
    import geopandas as gpd
    from shapely.geometry import box

    from redistrict.cli import main

    *_, layer, _graph, _sites, out = run
    metric = layer.blocks
    x0, y0, x1, y1 = metric.total_bounds
    area = gpd.GeoDataFrame({"name": ["规划范围"]}, geometry=[box(x0 - 200, y0 - 200, x1 + 200, y1 + 200)], crs=metric.crs)
    area.to_crs("EPSG:4326").to_file(tmp_path / "area.geojson", driver="GeoJSON")
    with pytest.raises(SystemExit) as done:
        main(["export", str(out), "--format", "gpkg", "--dest", str(tmp_path / "plan.gpkg"), "--study-area", str(tmp_path / "area.geojson")])
    assert done.value.code == 0, capsys.readouterr().err
    units = gpd.read_file(tmp_path / "plan.gpkg", layer="units").to_crs(metric.crs)
    assert units.union_all().area == pytest.approx(area.area.iloc[0], rel=1e-4)
    far = area.assign(geometry=area.geometry.translate(50_000, 0))
    far.to_crs("EPSG:4326").to_file(tmp_path / "far.geojson", driver="GeoJSON")
    with pytest.raises(SystemExit) as done:
        main(["export", str(out), "--format", "gpkg", "--dest", str(tmp_path / "far.gpkg"), "--study-area", str(tmp_path / "far.geojson")])
    assert done.value.code == 2 and "covers none of the blocks" in capsys.readouterr().err


# --- an export reuses the unit polygons of the run ------------------------------------------------


def _no_tessellation(monkeypatch):
    """Make tessellating units fail, so an export that does it shows."""

    def refuse(*args, **kwargs):
        raise AssertionError("tessellated again")

    monkeypatch.setattr(boundaries, "unit_boundaries", refuse)


def test_export_of_a_run_reuses_its_unit_polygons(run, tmp_path, monkeypatch):
    plan, layer, *_, out = run
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["units_geojson"]["geometry"] == "tessellated"
    _no_tessellation(monkeypatch)
    gpkg = export.export_plan(out, "gpkg", dest=tmp_path / "p.gpkg")[0]
    exported = gpd.read_file(gpkg, layer="units").set_index("unit_id")
    written = gpd.read_file(out / "units.geojson").set_index("unit_id")
    assert list(exported.columns) == list(written.columns)
    for unit, shape in written.geometry.items():
        assert exported.geometry.loc[unit].symmetric_difference(shape).area < 1e-12  # the same polygons, in EPSG:4326
    with pytest.raises(AssertionError, match="tessellated again"):  # another boundary layer: drawn anew
        export.export_plan(out, "gpkg", dest=tmp_path / "q.gpkg", limit=gpd.GeoDataFrame(geometry=[layer.blocks.union_all().buffer(100)], crs=layer.blocks.crs))


def test_export_tessellates_again_when_the_assignment_was_edited(run, tmp_path, monkeypatch):
    import shutil

    *_, out = run
    edited = tmp_path / "OUT"
    shutil.copytree(out, edited)
    table = pd.read_csv(edited / "assignment.csv", encoding="utf-8-sig", dtype=str)
    units = table["unit_id"].unique()
    table.loc[0, "unit_id"] = units[1] if table.loc[0, "unit_id"] == units[0] else units[0]
    table.to_csv(edited / "assignment.csv", index=False, encoding="utf-8-sig")
    _no_tessellation(monkeypatch)
    with pytest.raises(AssertionError, match="tessellated again"):
        export.export_plan(edited, "gpkg", dest=tmp_path / "p.gpkg")
    report = json.loads((edited / "report.json").read_text(encoding="utf-8"))
    del report["units_geojson"]  # a folder written before the digest was recorded
    (edited / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    shutil.copy(out / "assignment.csv", edited / "assignment.csv")
    with pytest.raises(AssertionError, match="tessellated again"):
        export.export_plan(edited, "gpkg", dest=tmp_path / "q.gpkg")
