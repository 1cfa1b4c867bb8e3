"""One test per validation rule, through ``from_geodataframe`` on layouts built in code."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import ORIGIN, UTM50, make_grid, strip_crs
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from redistrict.errors import InputError
from redistrict.io import from_geodataframe
from redistrict.validate import ERROR, REPAIRED, WARNING


def kinds(layer) -> dict[str, object]:
    return {f.kind: f for f in layer.findings}


def raise_input_error(gdf, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        from_geodataframe(gdf, **kwargs)
    return info.value


# --- geometry ----------------------------------------------------------------------------------


def test_missing_and_empty_geometry_are_errors_listing_the_blocks():
    gdf = make_grid(crs=UTM50)
    gdf.loc[1, "geometry"] = None
    gdf.loc[5, "geometry"] = Polygon()
    err = raise_input_error(gdf)
    msg = str(err)
    assert "2 block(s) have no geometry or an empty one: r0c1, r1c2" in msg
    assert set(err.ids) == {"r0c1", "r1c2"}
    (finding,) = [f for f in err.findings if f.kind == "missing_geometry"]
    assert finding.severity == ERROR and finding.block_ids == ("r0c1", "r1c2")


def test_bow_tie_polygon_is_repaired_and_reported():
    gdf = make_grid(crs=UTM50)
    x, y = ORIGIN
    gdf.loc[0, "geometry"] = Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    assert not gdf.geometry.iloc[0].is_valid
    layer = from_geodataframe(gdf)
    finding = kinds(layer)["invalid_geometry"]
    assert finding.severity == REPAIRED
    assert finding.block_ids == ("r0c0",)
    assert "r0c0" in finding.message and "make_valid" in finding.message
    fixed = layer.blocks.geometry.loc["r0c0"]
    assert fixed.is_valid
    assert isinstance(fixed, Polygon | MultiPolygon)
    assert fixed.area == pytest.approx(5_000.0)  # two triangles of 50 m² × 100
    # the other blocks are untouched
    assert layer.blocks.geometry.loc["r0c1"].area == pytest.approx(10_000.0)
    assert gdf.geometry.iloc[0].is_valid is False  # the input is not modified


def test_bow_tie_collapsing_to_a_line_is_an_error():
    gdf = make_grid(crs=UTM50)
    x, y = ORIGIN
    gdf.loc[4, "geometry"] = Polygon([(x, y), (x + 10, y), (x + 20, y), (x, y)])  # zero area
    err = raise_input_error(gdf)
    assert "no area left after repair: r1c1" in str(err)


def test_points_and_lines_are_rejected_with_ids_and_types():
    gdf = make_grid(crs=UTM50)
    x, y = ORIGIN
    gdf.loc[1, "geometry"] = Point(x, y)
    gdf.loc[7, "geometry"] = LineString([(x, y), (x + 50, y + 50)])
    err = raise_input_error(gdf)
    msg = str(err)
    assert "2 block(s) are not polygons (LineString, Point): r0c1, r2c1" in msg
    assert set(err.ids) == {"r0c1", "r2c1"}


# --- ids ---------------------------------------------------------------------------------------


def test_duplicate_ids_are_named():
    gdf = make_grid(crs=UTM50)
    gdf.loc[4, "block_id"] = "r0c0"
    err = raise_input_error(gdf)
    assert "1 block id(s) occur more than once: r0c0" in str(err)
    (finding,) = [f for f in err.findings if f.kind == "duplicate_id"]
    assert finding.block_ids == ("r0c0",)


def test_missing_ids_are_reported_with_their_rows():
    gdf = make_grid(crs=UTM50)
    gdf["block_id"] = gdf["block_id"].astype(object)
    gdf.loc[2, "block_id"] = None
    gdf.loc[6, "block_id"] = "  "
    err = raise_input_error(gdf)
    assert "2 row(s) have no block id (data rows 3, 7)" in str(err)


def test_numeric_ids_become_text_index():
    gdf = make_grid(crs=UTM50)
    gdf["block_id"] = range(101, 110)
    layer = from_geodataframe(gdf)
    assert list(layer.blocks.index) == [str(i) for i in range(101, 110)]


def test_no_id_column_numbers_rows_with_a_warning():
    gdf = make_grid(crs=UTM50).drop(columns="block_id")
    layer = from_geodataframe(gdf)
    assert list(layer.blocks.index) == [str(i) for i in range(1, 10)]
    assert kinds(layer)["generated_ids"].severity == WARNING


# --- households --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "fragment"),
    [
        (None, "households_missing", "1 block(s) have no household count: r1c1"),
        (-5, "households_negative", "1 negative household count(s): r1c1"),
        (12.5, "households_fractional", "1 household count(s) are not whole numbers: r1c1"),
        ("1,200户", "households_not_numeric", "1 value(s) are not numbers (r1c1='1,200户')"),
        (5_000_000_000, "households_implausible", "more than 1,000,000 households: r1c1"),
    ],
)
def test_bad_household_values_name_block_and_column(value, kind, fragment):
    gdf = make_grid(crs=UTM50).rename(columns={"households": "户数"})
    gdf["户数"] = gdf["户数"].astype(object)
    gdf.loc[4, "户数"] = value
    err = raise_input_error(gdf)
    msg = str(err)
    assert "Column '户数'" in msg
    assert fragment in msg
    bad = [f for f in err.findings if f.severity == ERROR]
    assert [f.kind for f in bad] == [kind]
    assert bad[0].block_ids == ("r1c1",)


def test_numeric_text_households_are_parsed():
    gdf = make_grid(crs=UTM50)
    gdf["households"] = ["100", " 7 ", "0", "12.0", "3", "4", "5", "6", "8"]
    layer = from_geodataframe(gdf)
    assert layer.blocks["households"].tolist() == [100, 7, 0, 12, 3, 4, 5, 6, 8]


def test_zero_households_are_fine():
    gdf = make_grid(crs=UTM50, households=[0, 100, 0, 100, 0, 100, 0, 100, 0])
    layer = from_geodataframe(gdf)
    assert layer.blocks.loc["r0c0", "households"] == 0
    assert layer.total_households == 400
    assert not [f for f in layer.findings if f.kind.startswith("households")]


def test_bad_population_is_a_warning_and_becomes_missing():
    gdf = make_grid(crs=UTM50)
    gdf["population"] = gdf["population"].astype(object)
    gdf.loc[3, "population"] = "很多"
    layer = from_geodataframe(gdf)
    finding = kinds(layer)["population_invalid"]
    assert finding.severity == WARNING and finding.block_ids == ("r1c0",)
    assert pd.isna(layer.blocks.loc["r1c0", "population"])
    assert layer.blocks.loc["r0c0", "population"] == 240


# --- CRS and coordinates -----------------------------------------------------------------------


def test_missing_crs_asks_for_crs_option():
    gdf = strip_crs(make_grid())
    err = raise_input_error(gdf)
    assert "no coordinate reference system" in str(err)
    assert "--crs" in str(err)


def test_missing_crs_with_crs_given_loads():
    gdf = strip_crs(make_grid())
    layer = from_geodataframe(gdf, crs="EPSG:4326")
    assert layer.blocks.crs.to_epsg() == 4548
    assert layer.source_crs.to_epsg() == 4326
    assert "crs_overridden" not in kinds(layer)


def test_crs_given_over_a_declared_one_is_reported():
    gdf = make_grid(crs=UTM50).set_crs("EPSG:4490", allow_override=True)
    layer = from_geodataframe(gdf, crs=UTM50)
    assert kinds(layer)["crs_overridden"].severity == WARNING
    assert layer.source_crs.to_epsg() == 32650


def test_unknown_crs_option_is_an_input_error():
    err = raise_input_error(strip_crs(make_grid()), crs="EPSG:99999999")
    assert "Unknown CRS 'EPSG:99999999'" in str(err)


def test_projected_coordinates_declared_wgs84_suggest_the_real_crs():
    gdf = make_grid(crs=UTM50).set_crs("EPSG:4326", allow_override=True)
    err = raise_input_error(gdf)
    msg = str(err)
    assert "cannot be longitude/latitude" in msg
    assert "projected metres" in msg
    assert "--crs" in msg
    # the suggested codes must be what the message says they are
    assert "EPSG:4548 for CGCS2000 / 3-degree Gauss-Kruger CM 117E" in msg
    assert "EPSG:32650 for WGS 84 / UTM zone 50N" in msg


def test_swapped_lonlat_is_reported_as_swapped_axes():
    gdf = make_grid()
    gdf["geometry"] = shapely.transform(gdf.geometry.values, lambda xy: xy[:, ::-1])
    assert gdf.total_bounds[0] == pytest.approx(29.71, abs=0.01)
    err = raise_input_error(gdf)
    assert "axes look swapped" in str(err)
    assert "projected metres" not in str(err)


# --- overlaps ----------------------------------------------------------------------------------


def _two_blocks(overlap: float) -> gpd.GeoDataFrame:
    x, y = ORIGIN
    return gpd.GeoDataFrame(
        {"block_id": ["a", "b"], "households": [10, 20]},
        geometry=[box(x, y, x + 100, y + 100), box(x + 100 - overlap, y, x + 200, y + 100)],
        crs=UTM50,
    )


def test_overlapping_blocks_give_a_warning_naming_both():
    layer = from_geodataframe(_two_blocks(20.0))  # 2,000 m² overlap
    finding = kinds(layer)["overlapping_blocks"]
    assert finding.severity == WARNING
    assert finding.block_ids == ("a", "b")
    assert "a/b (2,000 m²)" in finding.message


def test_overlap_slivers_below_one_square_metre_are_ignored():
    layer = from_geodataframe(_two_blocks(0.005))  # 0.5 m² overlap
    assert "overlapping_blocks" not in kinds(layer)


def test_overlaps_are_measured_in_metres_for_wgs84_input():
    gdf = _two_blocks(20.0).to_crs("EPSG:4326")
    layer = from_geodataframe(gdf)
    assert kinds(layer)["overlapping_blocks"].block_ids == ("a", "b")


# --- everything at once ------------------------------------------------------------------------


def test_all_errors_are_reported_in_one_input_error():
    gdf = make_grid(crs=UTM50)
    gdf.loc[4, "block_id"] = "r0c0"  # duplicate id
    gdf.loc[8, "households"] = -3  # negative households
    gdf.loc[2, "geometry"] = None  # missing geometry
    err = raise_input_error(gdf)
    msg = str(err)
    assert "occur more than once: r0c0" in msg
    assert "negative household count(s): r2c2" in msg
    assert "no geometry or an empty one: r0c2" in msg
    assert msg.count("\n  - ") == 3
    assert {"r0c0", "r2c2", "r0c2"} <= set(err.ids)


def test_empty_layer_is_an_error():
    err = raise_input_error(make_grid(crs=UTM50).iloc[:0])
    assert "no features" in str(err)


# --- the resulting BlockLayer ------------------------------------------------------------------


def test_block_layer_is_metric_canonical_and_input_untouched():
    gdf = make_grid()  # WGS84
    gdf["note"] = [f"备注{i}" for i in range(9)]
    before = gdf.copy()
    layer = from_geodataframe(gdf)
    blocks = layer.blocks
    assert blocks.crs.to_epsg() == 4548
    assert layer.source_crs.to_epsg() == 4326
    assert blocks.index.name == "block_id"
    assert list(blocks.index) == [f"r{r}c{c}" for r in range(3) for c in range(3)]
    assert all(isinstance(i, str) for i in blocks.index)
    assert [c for c in blocks.columns if c != "geometry"][:5] == ["households", "population", "community", "subdistrict", "name"]
    assert blocks["households"].dtype == np.int64
    assert blocks.loc["r0c0", "population"] == 240
    assert blocks.loc["r2c2", "name"] == "小区8"
    assert blocks.loc["r2c2", "note"] == "备注8"  # extra attributes kept
    assert blocks.geometry.area.to_numpy() == pytest.approx(np.full(9, 10_000.0), rel=1e-3)
    assert layer.columns["households"] == "households"
    assert layer.total_households == 900 and len(layer) == 9
    pd.testing.assert_frame_equal(gdf, before)  # input not modified
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf.index) == list(range(9))


# --- column detection --------------------------------------------------------------------------


def test_chinese_headers_are_detected():
    gdf = make_grid(crs=UTM50).rename(
        columns={"block_id": "编号", "households": "户数", "population": "人口", "community": "社区", "subdistrict": "街道", "name": "小区名称"}
    )
    layer = from_geodataframe(gdf)
    assert layer.columns == {
        "block_id": "编号",
        "households": "户数",
        "population": "人口",
        "community": "社区",
        "subdistrict": "街道",
        "name": "小区名称",
    }
    assert layer.blocks.loc["r1c1", "households"] == 100
    assert layer.blocks.loc["r1c1", "population"] == 240
    assert layer.blocks.loc["r1c1", "community"] == "A"
    assert layer.blocks.loc["r1c1", "subdistrict"] == "S"


def test_hh_header_is_detected():
    gdf = make_grid(crs=UTM50, households=list(range(1, 10))).rename(columns={"households": "HH"})
    layer = from_geodataframe(gdf)
    assert layer.columns["households"] == "HH"
    assert layer.blocks["households"].tolist() == list(range(1, 10))


def test_explicit_households_column_wins():
    gdf = make_grid(crs=UTM50)
    gdf["hh_2024"] = list(range(10, 19))
    layer = from_geodataframe(gdf, households_col="hh_2024")
    assert layer.columns["households"] == "hh_2024"
    assert layer.blocks["households"].tolist() == list(range(10, 19))


def test_no_household_column_lists_available_columns():
    gdf = make_grid(crs=UTM50).rename(columns={"households": "families"})
    err = raise_input_error(gdf)
    msg = str(err)
    assert "no household column found" in msg
    assert "the columns are: block_id, families, population, community, subdistrict, name" in msg
    assert "--households" in msg


def test_explicit_column_that_does_not_exist_errors():
    err = raise_input_error(make_grid(crs=UTM50), households_col="户数2020")
    assert "no column '户数2020' (given for households)" in str(err)
    assert "block_id, households" in str(err)


def test_ids_differing_only_by_whitespace_are_duplicates():
    gdf = make_grid(crs=UTM50)
    gdf.loc[4, "block_id"] = " r0c0 "  # becomes "r0c0" once stripped
    err = raise_input_error(gdf)
    assert "1 block id(s) occur more than once: r0c0" in str(err)


def test_names_lose_padding_spaces_but_english_names_keep_theirs():
    from redistrict.validate import normalise_name

    assert normalise_name("昱\u3000中") == "昱中"
    assert normalise_name(" 阜新\u3000\u3000社区 ") == "阜新社区"
    assert normalise_name("North\u00a0Gate  Block") == "North Gate Block"
    assert normalise_name("Block 阜新") == "Block 阜新"  # a space between Latin and Chinese stays


def test_traditional_variants_are_named_not_merged():
    from redistrict.validate import check_variant_names

    (finding,) = check_variant_names(pd.Series(["黎阳", "黎陽", "昱東", "昱中"]), "community")
    assert finding.severity == WARNING and "黎阳 / 黎陽" in finding.message
    assert check_variant_names(pd.Series(["黎阳", "昱中", None]), "community") == []


def test_household_booleans_and_population_infinity():
    from redistrict.validate import parse_households, parse_population

    ids = pd.Index(["a", "b", "c"])
    parsed, found = parse_households(pd.Series([True, 5, 7], dtype=object), ids, "hh")
    assert [f.kind for f in found] == ["households_boolean"] and found[0].block_ids == ("a",)
    population, found = parse_population(pd.Series([float("inf"), 1e30, 12.0]), ids, "pop")
    assert population.isna().tolist() == [True, True, False] and population.iloc[2] == 12
    assert found[0].block_ids == ("a", "b")
