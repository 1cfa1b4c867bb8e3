"""Reading block layers from every supported format with ``load_blocks``; files go to tmp_path."""

from __future__ import annotations

import warnings
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from conftest import UTM50, make_grid, strip_crs

from redistrict.errors import InputError, RedistrictWarning
from redistrict.io import load_blocks, read_layer

IDS = [f"r{r}c{c}" for r in range(3) for c in range(3)]
NAMES = [f"小区{i}" for i in range(9)]


def chinese_grid(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """A 3×3 grid with Chinese text in values (ASCII column names: ≤ 10 chars for DBF)."""
    gdf = make_grid(crs=crs, households=[10 * (i + 1) for i in range(9)],
                    community=["黎阳社区"] * 4 + ["昱中社区"] * 5)
    return gdf.rename(columns={"subdistrict": "street"})


def load_quietly(path, **kwargs):
    """load_blocks, recording its RedistrictWarnings instead of printing them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RedistrictWarning)
        layer = load_blocks(path, **kwargs)
    return layer, [str(w.message) for w in caught if issubclass(w.category, RedistrictWarning)]


def assert_intact(layer) -> None:
    blocks = layer.blocks
    assert list(blocks.index) == IDS
    assert blocks["households"].tolist() == [10 * (i + 1) for i in range(9)]
    assert blocks["name"].tolist() == NAMES
    assert blocks["community"].tolist() == ["黎阳社区"] * 4 + ["昱中社区"] * 5
    assert blocks["subdistrict"].tolist() == ["S"] * 9
    assert blocks.crs.to_epsg() == 4548  # CGCS2000 / 3-degree Gauss-Kruger CM 117E, where Tunxi lies


def expect_input_error(path, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        load_blocks(path, **kwargs)
    message = str(info.value)
    assert str(path) in message
    return message


# --- GeoJSON / GeoPackage ----------------------------------------------------------------------


def test_geojson_round_trip(tmp_path):
    path = tmp_path / "blocks.geojson"
    chinese_grid().to_file(path, driver="GeoJSON")
    layer, warned = load_quietly(path)
    assert_intact(layer)
    assert layer.source == str(path)
    assert layer.source_crs.to_epsg() == 4326
    assert warned == []


def test_geopackage_with_two_layers_needs_layer(tmp_path):
    path = tmp_path / "city.gpkg"
    chinese_grid().to_file(path, layer="blocks", driver="GPKG")
    make_grid(crs=UTM50).to_file(path, layer="old_blocks", driver="GPKG")
    message = expect_input_error(path)
    assert "holds 2 layers" in message
    assert "blocks" in message and "old_blocks" in message
    assert "--layer" in message

    layer, _ = load_quietly(path, layer="blocks")
    assert_intact(layer)
    assert layer.source_crs.to_epsg() == 4326
    old, _ = load_quietly(path, layer="old_blocks")
    assert old.blocks["households"].tolist() == [100] * 9
    assert old.source_crs.to_epsg() == 32650

    message = expect_input_error(path, layer="roads")
    assert "no layer 'roads'" in message
    assert "blocks, old_blocks" in message


def test_geopackage_with_one_layer_needs_no_layer(tmp_path):
    path = tmp_path / "one.gpkg"
    chinese_grid().to_file(path, layer="anything", driver="GPKG")
    layer, _ = load_quietly(path)
    assert_intact(layer)


# --- Shapefile ---------------------------------------------------------------------------------


def test_shapefile_with_utf8_cpg(tmp_path):
    path = tmp_path / "blocks.shp"
    chinese_grid().to_file(path, encoding="utf-8")
    assert (tmp_path / "blocks.cpg").read_text().strip().upper() in {"UTF-8", "UTF8"}
    layer, warned = load_quietly(path)
    assert_intact(layer)
    assert not [f for f in layer.findings if f.kind == "dbf_encoding"]
    assert warned == []


def _gbk_shapefile_without_cpg(tmp_path):
    path = tmp_path / "gbk.shp"
    chinese_grid().to_file(path, encoding="gbk")
    (tmp_path / "gbk.cpg").unlink(missing_ok=True)
    assert not (tmp_path / "gbk.cpg").exists()
    # Without .cpg GDAL decodes the DBF as Latin-1: the text is mojibake.
    raw = gpd.read_file(path, engine="pyogrio")
    assert raw["name"].iloc[0] != "小区0"
    return path


def test_gbk_shapefile_without_cpg_is_detected(tmp_path):
    path = _gbk_shapefile_without_cpg(tmp_path)
    layer, warned = load_quietly(path)
    assert_intact(layer)
    (finding,) = [f for f in layer.findings if f.kind == "dbf_encoding"]
    assert finding.severity == "warning"
    assert "gbk.shp" in finding.message and "GBK" in finding.message
    assert any("read as GBK" in w for w in warned)


def test_gbk_shapefile_with_explicit_encoding(tmp_path):
    path = _gbk_shapefile_without_cpg(tmp_path)
    layer, warned = load_quietly(path, encoding="gbk")
    assert_intact(layer)
    assert not [f for f in layer.findings if f.kind == "dbf_encoding"]
    assert warned == []


def test_zipped_shapefile(tmp_path):
    chinese_grid().to_file(tmp_path / "blocks.shp", encoding="utf-8")
    path = tmp_path / "blocks.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            archive.write(tmp_path / f"blocks.{ext}", f"blocks.{ext}")
    layer, _ = load_quietly(path)
    assert_intact(layer)


def test_zipped_gbk_shapefile_without_cpg(tmp_path):
    _gbk_shapefile_without_cpg(tmp_path)
    path = tmp_path / "gbk.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for ext in ("shp", "shx", "dbf", "prj"):
            archive.write(tmp_path / f"gbk.{ext}", f"gbk.{ext}")
    layer, _ = load_quietly(path)
    assert_intact(layer)
    assert [f.kind for f in layer.findings if f.kind == "dbf_encoding"] == ["dbf_encoding"]


def test_zip_without_dbf_names_the_dbf(tmp_path):
    chinese_grid().to_file(tmp_path / "blocks.shp", encoding="utf-8")
    path = tmp_path / "broken.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for ext in ("shp", "shx", "prj"):
            archive.write(tmp_path / f"blocks.{ext}", f"blocks.{ext}")
    message = expect_input_error(path)
    assert "blocks.dbf" in message


def test_zip_without_shapefile(tmp_path):
    path = tmp_path / "notes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "no .shp file" in expect_input_error(path)


def test_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_text("not a zip")
    assert "not a valid ZIP archive" in expect_input_error(path)


# --- GeoParquet and CSV ------------------------------------------------------------------------


def test_geoparquet(tmp_path):
    path = tmp_path / "blocks.parquet"
    chinese_grid().to_parquet(path)
    layer, _ = load_quietly(path)
    assert_intact(layer)


def test_non_parquet_file_with_parquet_extension(tmp_path):
    path = tmp_path / "blocks.parquet"
    path.write_text("id,households\n1,2\n")
    assert "cannot be read as GeoParquet" in expect_input_error(path)


def _write_wkt_csv(path, gdf) -> None:
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    frame["wkt"] = gdf.geometry.to_wkt()
    frame.to_csv(path, index=False, encoding="utf-8")


def test_csv_with_wkt_column_and_crs(tmp_path):
    path = tmp_path / "blocks.csv"
    _write_wkt_csv(path, chinese_grid())
    layer, _ = load_quietly(path, crs="EPSG:4326")
    assert_intact(layer)
    assert layer.source_crs.to_epsg() == 4326


def test_csv_without_crs_asks_for_it(tmp_path):
    path = tmp_path / "blocks.csv"
    _write_wkt_csv(path, chinese_grid())
    message = expect_input_error(path)
    assert "--crs" in message


def test_csv_with_bad_wkt_names_the_line(tmp_path):
    path = tmp_path / "blocks.csv"
    gdf = chinese_grid()
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    frame["wkt"] = gdf.geometry.to_wkt()
    frame.loc[3, "wkt"] = "POLYGON ((1 2, 3"
    frame.to_csv(path, index=False)
    message = expect_input_error(path, crs="EPSG:4326")
    assert "column 'wkt'" in message
    assert "line(s) 5" in message  # header is line 1, data row 3 (0-based) is line 5


def test_csv_without_wkt_column_lists_columns(tmp_path):
    path = tmp_path / "blocks.csv"
    pd.DataFrame({"block_id": ["a"], "households": [3]}).to_csv(path, index=False)
    message = expect_input_error(path, crs="EPSG:4326")
    assert "no WKT geometry column" in message
    assert "block_id, households" in message


def test_gbk_csv_without_encoding_asks_for_it(tmp_path):
    path = tmp_path / "blocks.csv"
    gdf = chinese_grid()
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    frame["wkt"] = gdf.geometry.to_wkt()
    frame.to_csv(path, index=False, encoding="gbk")
    assert "--encoding" in expect_input_error(path, crs="EPSG:4326")
    layer, _ = load_quietly(path, crs="EPSG:4326", encoding="gbk")
    assert_intact(layer)


# --- files that are not block layers -----------------------------------------------------------


def _empty(path):
    path.write_bytes(b"")


def _text(path):
    path.write_text("这不是地理数据 / this is not geodata\n", encoding="utf-8")


def _truncated(path):
    full = chinese_grid().to_json()
    path.write_text(full[: len(full) // 2], encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "write", "fragment"),
    [
        ("empty.geojson", _empty, "the file is empty"),
        ("text.geojson", _text, "cannot be read as a geospatial file"),
        ("truncated.geojson", _truncated, "cannot be read as a geospatial file"),
        ("missing.geojson", None, "no such file"),
        ("blocks.xlsx", _text, "unknown file type '.xlsx'"),
    ],
)
def test_unreadable_files_give_input_errors_with_the_path(tmp_path, name, write, fragment):
    path = tmp_path / name
    if write is not None:
        write(path)
    message = expect_input_error(path)
    assert fragment in message


def test_folder_is_not_a_layer(tmp_path):
    assert "is a folder" in expect_input_error(tmp_path)


# --- validation through files ------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_file_without_crs_loads_with_crs_option(tmp_path):
    path = tmp_path / "nocrs.shp"
    strip_crs(chinese_grid()).to_file(path, encoding="utf-8")
    assert not (tmp_path / "nocrs.prj").exists()
    assert "--crs" in expect_input_error(path)
    layer, _ = load_quietly(path, crs="EPSG:4326")
    assert_intact(layer)


def test_file_with_two_problems_reports_both(tmp_path):
    gdf = chinese_grid()
    gdf.loc[1, "block_id"] = "r0c0"
    gdf["households"] = gdf["households"].astype(object)
    gdf.loc[7, "households"] = "1,200户"
    path = tmp_path / "bad.geojson"
    gdf.to_file(path, driver="GeoJSON")
    message = expect_input_error(path)
    assert "occur more than once: r0c0" in message
    assert "Column 'households'" in message and "r2c1='1,200户'" in message


def test_warnings_are_emitted_as_redistrict_warnings(tmp_path):
    gdf = chinese_grid(crs=UTM50)
    gdf.loc[1, "geometry"] = gdf.geometry.iloc[0].buffer(-10)  # r0c1 sits inside r0c0
    path = tmp_path / "overlap.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.warns(RedistrictWarning, match="r0c0/r0c1"):
        layer = load_blocks(path)
    assert [f.kind for f in layer.findings] == ["overlapping_blocks"]


def test_read_layer_returns_raw_frame(tmp_path):
    path = tmp_path / "blocks.geojson"
    chinese_grid().to_file(path, driver="GeoJSON")
    gdf, findings = read_layer(path)
    assert findings == []
    assert list(gdf["block_id"]) == IDS
    assert gdf.crs.to_epsg() == 4326


def test_web_mercator_layer_is_measured_in_a_local_projection(tmp_path):
    # Declared in EPSG:3857, a 100 m block at 29.7°N spans 115 "metres"; worked in as it came,
    # areas were +33 % and --snap 16 found no edges across the 15 m roads.
    from redistrict.graph import build_graph

    path = tmp_path / "mercator.gpkg"
    make_grid(2, 2, crs="EPSG:3857").to_file(path, driver="GPKG")
    layer = load_blocks(path)
    assert layer.blocks.crs.to_epsg() == 4548 and layer.source_crs.to_epsg() == 3857
    assert layer.blocks.geometry.area.to_numpy() == pytest.approx(10_000, rel=2e-3)
    assert build_graph(layer.blocks, snap=16).number_of_edges() == 4


def test_layer_near_the_pole_loads_and_builds_a_graph(tmp_path):
    from shapely.geometry import box

    from redistrict.graph import build_graph

    cells = [box(10 + 0.01 * c, 89.5, 10 + 0.01 * c + 0.008, 89.502) for c in range(3)]  # ~60 m apart
    path = tmp_path / "pole.geojson"
    gpd.GeoDataFrame({"block_id": ["a", "b", "c"], "households": [1, 2, 3]}, geometry=cells, crs="EPSG:4326").to_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedistrictWarning)  # "if this data is in China, the axes are swapped"
        layer = load_blocks(path)
    assert layer.blocks.crs.is_projected
    assert build_graph(layer.blocks, snap=25).number_of_nodes() == 3
    assert layer.blocks.geometry.area.min() > 0


def test_nan_coordinate_names_the_block(tmp_path):
    import json

    from shapely.geometry import mapping

    features = [
        {"type": "Feature", "properties": {"block_id": f"b{i}", "households": 10}, "geometry": mapping(g)}
        for i, g in enumerate(make_grid(1, 3).geometry)
    ]
    ring = features[1]["geometry"]["coordinates"][0]
    features[1]["geometry"]["coordinates"] = [[list(ring[0]), [float("nan"), ring[1][1]], *map(list, ring[2:])]]
    path = tmp_path / "nan.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    message = expect_input_error(path)
    assert "not a number" in message and "b1" in message


# --- assignment and other CSVs -----------------------------------------------------------------


def test_assignment_round_trip_keeps_formula_like_ids_and_escapes_them_for_spreadsheets(tmp_path):
    from redistrict.io import read_assignment, write_assignment

    ids = ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx", "普通", "'quoted"]
    frame = pd.DataFrame({"block_id": ids, "unit_id": ["阜新-1"] * len(ids)})
    path = write_assignment(frame, tmp_path / "a.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows the Chinese
    text = raw.decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text and "\n'+1," in text and "\n'-2," in text and "\n'@SUM" in text
    assert "\n'quoted," in text  # not formula-like: left as it is
    back = read_assignment(path)
    assert back["block_id"].tolist()[:6] == [i.strip() for i in ids[:6]] and back["block_id"].iloc[6] == "'quoted"
    assert set(back["unit_id"]) == {"阜新-1"}


def test_assignment_read_by_header_in_either_order_with_ids_stripped(tmp_path):
    from redistrict.io import read_assignment

    path = tmp_path / "swapped.csv"
    path.write_text("unit_id,block_id\n U1 , b1 \nU2,b2\n", encoding="utf-8")
    back = read_assignment(path)
    assert back.to_dict("list") == {"block_id": ["b1", "b2"], "unit_id": ["U1", "U2"]}
    chinese = tmp_path / "chinese.csv"
    chinese.write_text("备注,社区,小区编号\nx,U1,b1\n", encoding="utf-8")
    assert read_assignment(chinese).to_dict("list") == {"block_id": ["b1"], "unit_id": ["U1"]}
    positional = tmp_path / "positional.csv"
    positional.write_text("a,b\nb1,U1\n", encoding="utf-8")
    assert read_assignment(positional).to_dict("list") == {"block_id": ["b1"], "unit_id": ["U1"]}


@pytest.mark.parametrize("codec", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_assignment_saved_by_excel_on_chinese_windows_is_detected(tmp_path, codec):
    from redistrict.io import read_assignment

    path = tmp_path / "excel.csv"
    path.write_bytes("block_id,unit_id\n阳光花园,阜新一\n黎阳新村,阜新二\n".encode(codec))
    back = read_assignment(path)
    assert back.to_dict("list") == {"block_id": ["阳光花园", "黎阳新村"], "unit_id": ["阜新一", "阜新二"]}
    assert read_assignment(path, encoding="gbk" if codec.startswith("gb") else "utf-8")["unit_id"].tolist() == ["阜新一", "阜新二"]


def test_assignment_in_a_wrong_encoding_given_explicitly_says_so(tmp_path):
    from redistrict.io import read_assignment

    path = tmp_path / "gbk.csv"
    path.write_bytes("block_id,unit_id\n阳光花园,阜新一\n".encode("gbk"))
    with pytest.raises(InputError, match="not valid utf-8 text"):
        read_assignment(path, encoding="utf-8")
    with pytest.raises(InputError, match="no such file"):
        read_assignment(tmp_path / "missing.csv")


def test_csv_written_as_gbk_or_refused_naming_what_gbk_cannot_hold(tmp_path):
    from redistrict.io import read_assignment, write_assignment

    frame = pd.DataFrame({"block_id": ["阳光花园"], "unit_id": ["阜新一"]})
    path = write_assignment(frame, tmp_path / "gbk.csv", encoding="gbk")
    assert path.read_bytes().decode("gbk").startswith("block_id,unit_id")
    assert read_assignment(path)["block_id"].tolist() == ["阳光花园"]
    emoji = pd.DataFrame({"block_id": ["b😀"], "unit_id": ["U1"]})
    with pytest.raises(InputError, match="GBK cannot hold") as info:
        write_assignment(emoji, tmp_path / "bad.csv", encoding="gbk")
    assert "b😀" in str(info.value) and "UTF-8" in str(info.value)
    with pytest.raises(InputError, match="one of utf-8, gbk, gb18030"):
        write_assignment(frame, tmp_path / "x.csv", encoding="latin-1")


def test_lock_table_with_a_block_locked_to_two_labels_is_an_error(tmp_path):
    from redistrict.io import read_lock_table

    path = tmp_path / "locks.csv"
    path.write_text("block_id,unit\nb1,A\nb2,A\nb1,B\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_lock_table(path)
    assert "b1 → A (line 2), B (line 4)" in str(info.value) and info.value.ids == ["b1"]
    path.write_text("block_id,unit\nb1,A\nb2,A\nb1,A\n", encoding="utf-8")
    assert read_lock_table(path) == {"b1": "A", "b2": "A"}  # a repeated row is harmless


def test_ids_that_print_alike_are_marked_in_messages():
    from redistrict.validate import format_ids

    assert format_ids(["U1", "U1\u200b", "U2 ", "阜新\u3000", "昱 中"]) == "U1, 'U1\\u200b', 'U2 ', '阜新\\u3000', 昱 中"
