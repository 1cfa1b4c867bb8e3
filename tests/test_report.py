"""The plan report: compactness, funding, the outcome sentence, report.md/.html and the print map."""

from __future__ import annotations

import base64
import io

import geopandas as gpd
import pytest
from matplotlib import image as mpimg
from test_maps import XSS, grid_plan, many_unit_plan

from redistrict import report
from redistrict.maps import MapData
from redistrict.options import MANY_UNITS
from redistrict.outputs import plan_layers


@pytest.fixture(scope="module")
def solved():
    return grid_plan()


def test_committee_funding_follows_the_anhui_rule():
    assert report.committee_funding(2499) == 20_000
    assert report.committee_funding(2500) == 30_000
    assert report.committee_funding(9242) == 30_000


def test_outcome_sentence_within_and_outside_bounds(solved):
    plan, layer, _, _ = solved
    data = report.report_data(plan, layer.blocks)
    assert report.outcome_sentence(data, "en") == "The plan: 1,600 households in 4 units, all within 400–400 households (optimal, gap 0.00%)."
    assert "全部在 400–400 户之间" in report.outcome_sentence(data, "zh")
    relaxed, rlayer, _, _ = grid_plan(3, 3, offices=False, households=[1027] * 8 + [1026], lower=2500, upper=3000, relax=True)
    rdata = report.report_data(relaxed, rlayer.blocks)
    en = report.outcome_sentence(rdata, "en")
    assert "3 of them outside 2,500–3,000 households (largest violation 81, proved minimal; bounds relaxed)" in en
    assert "其中 3 个超出 2,500–3,000 户（最大偏差 81 户" in report.outcome_sentence(rdata, "zh")


def test_report_data_figures(solved):
    plan, layer, _, _ = solved
    data = report.report_data(plan, layer.blocks)
    units = data["units"]
    assert data["households"] == 1600 and data["k"] == 4 and data["blocks"] == 16
    assert data["moved"] == plan.objective["households_moved"] == int(units["households_moved_in"].sum())
    assert data["funding"] == 4 * 20_000  # every unit is below 2,500 households
    assert data["current"] == {"communities": 2, "funding": 40_000, "households": {"乙社区": 800, "甲社区": 800}}
    assert units["polsby_popper"].between(0.7, 0.8).all()  # each unit is a 2×2 square of blocks
    assert units["reock"].between(0.6, 0.65).all()


def test_write_report_files(solved, tmp_path):
    plan, layer, _, sites = solved
    paths = report.write_report(plan, layer.blocks, tmp_path, offices=sites, lang="zh")
    assert set(paths) == {"report.md", "report.html", "map.png"}
    md = paths["report.md"].read_text(encoding="utf-8")
    assert md.startswith("# 社区划分方案")
    assert "**" in md and "全部在 400–400 户之间" in md
    assert "| 单元 | 名称 | 户数 | 人口 | 小区数 | 面积（km²） | 办公用房 | 平均距离（m） | 最远距离（m） | Polsby-Popper | Reock | 迁入户数 | 范围 |" in md
    for unit_id in plan.units["unit_id"]:
        assert f"| {unit_id} |" in md
    assert "¥80,000" in md and "¥40,000" in md and "+¥40,000" in md
    assert "迁入户数合计" in md and "最优解" in md and "gap 0.00%" in md
    assert "![方案图](map.png)" in md
    html = paths["report.html"].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<img alt="方案图" src="data:image/png;base64,' in html
    png = paths["map.png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert base64.b64encode(png).decode() in html  # the same picture, embedded
    height, width, _ = mpimg.imread(io.BytesIO(png)).shape
    assert width > 800 and height > 400


def test_report_in_english(solved, tmp_path):
    plan, layer, _, _ = solved
    paths = report.write_report(plan, layer.blocks, tmp_path, lang="en")
    md = paths["report.md"].read_text(encoding="utf-8")
    assert "# Community plan" in md and "Households moved in (total)" in md
    assert "Yearly committee funding (Anhui 2007 rule)" in md and "Polsby-Popper" in md


def test_report_escapes_data_text(tmp_path):
    plan, layer, _, _ = grid_plan(offices=False, community=[XSS] * 8 + ["乙社区"] * 8)
    assert f"{XSS}-1" in set(plan.units["name"])
    paths = report.write_report(plan, layer.blocks, tmp_path, lang="en")
    html = paths["report.html"].read_text(encoding="utf-8")
    md = paths["report.md"].read_text(encoding="utf-8")
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert XSS not in md


def _render_without_warnings(render):
    """Call ``render`` recording every warning; returns (result, glyph warnings)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = render()
    return out, [str(w.message) for w in caught if "missing from font" in str(w.message)]


def _pixels(png: bytes):
    return mpimg.imread(io.BytesIO(png), format="png")


def test_print_map_draws_chinese_with_the_bundled_font_not_boxes(solved, monkeypatch, tmp_path):
    """With the bundled font no glyph is missing; the same map with DejaVu Sans (what a machine
    without CJK fonts falls back to) warns about missing glyphs and draws different pixels."""
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    from redistrict import charts

    plan, layer, _, sites = solved
    png, missing = _render_without_warnings(lambda: report.static_map(plan, layer.blocks, tmp_path / "m.png", offices=sites, lang="zh"))
    assert missing == [] and png[:4] == b"\x89PNG" and (tmp_path / "m.png").read_bytes() == png
    dejavu = font_manager.findfont(FontProperties(family="DejaVu Sans"), fallback_to_default=True)
    assert "DejaVuSans" in dejavu
    monkeypatch.setattr(report, "cjk_font", lambda size=None: FontProperties(fname=dejavu, size=size))
    monkeypatch.setattr(charts, "font_path", lambda: dejavu)
    boxes, missing_boxes = _render_without_warnings(lambda: report.static_map(plan, layer.blocks, None, offices=sites, lang="zh"))
    assert missing_boxes, "DejaVu Sans has no Chinese glyphs: the comparison must draw boxes"
    a, b = _pixels(png), _pixels(boxes)
    assert a.shape != b.shape or abs(a - b).sum() > 100


def test_chinese_glyphs_differ_from_the_box_glyph():
    """One Chinese word drawn with the bundled font and with DejaVu Sans (box glyphs)."""
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    from redistrict import charts

    def draw(fname: str) -> bytes:
        fig = charts.new_figure((2, 1), dpi=80)
        fig.text(0.05, 0.3, "阜新社区", fontproperties=FontProperties(fname=fname, size=20))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    ours, missing = _render_without_warnings(lambda: draw(str(charts.font_path())))
    assert missing == []
    dejavu = font_manager.findfont(FontProperties(family="DejaVu Sans"))
    boxes, missing_boxes = _render_without_warnings(lambda: draw(dejavu))
    assert missing_boxes
    assert abs(_pixels(ours) - _pixels(boxes)).sum() > 50


def test_every_text_of_a_figure_gets_the_bundled_font():
    from redistrict import charts

    fig = charts.new_figure((3, 2))
    ax = fig.add_subplot()
    ax.set_title("水心亭")
    ax.set_xticks([0, 1], ["荷花池", "阜新"])
    charts.use_font(fig)
    files = {t.get_fontproperties().get_file() for t in fig.findobj(charts.Text) if t.get_text()}
    assert files == {str(charts.font_path())}
    assert charts.font_path().stat().st_size > 10_000_000, "a full CJK font, not a subset"


def _matplotlib_state() -> dict:
    import sys

    import matplotlib
    from matplotlib import font_manager

    state = {
        "backend": dict.__getitem__(matplotlib.rcParams, "backend"),
        "rc": {k: repr(v) for k, v in dict.items(matplotlib.rcParams)},
        "fonts": [f.fname for f in font_manager.fontManager.ttflist],
    }
    if "matplotlib.pyplot" in sys.modules:
        state["figures"] = sys.modules["matplotlib.pyplot"].get_fignums()
    return state


def test_report_leaves_matplotlib_global_state_alone(solved, tmp_path):
    """A notebook's backend, rcParams, font manager and pyplot figures are as they were after a
    report with its print map and chart (no matplotlib.use, no addfont, no pyplot figures)."""
    plan, layer, _, sites = solved
    before = _matplotlib_state()
    report.write_report(plan, layer.blocks, tmp_path, offices=sites, lang="zh")
    after = _matplotlib_state()
    assert after.pop("figures", []) == before.pop("figures", [])
    assert after == before


def _share_of(pixels, hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    close = (abs(pixels[..., :3] - rgb) < 0.02).all(axis=-1)
    return float(close.mean())


def test_households_chart_colours_bars_below_within_and_above_the_band():
    import pandas as pd

    units = pd.DataFrame({"unit_id": ["U1", "U2", "U3"], "name": ["阜新-1", "阜新-2", "荷花池"], "households": [2_400, 2_700, 3_200]})
    data = {"units": units, "lower": 2_500, "upper": 3_000}
    png, missing = _render_without_warnings(lambda: report.households_chart(data, "zh"))
    assert missing == [] and png[:4] == b"\x89PNG"
    pixels = _pixels(png)
    for colour in ("#2c7bb6", "#1a9641", report.BAD_COLOUR):  # below, within, above
        assert _share_of(pixels, colour) > 0.005, colour
    only_within = report.households_chart({"units": units.assign(households=[2_600, 2_700, 2_800]), "lower": 2_500, "upper": 3_000}, "en")
    within = _pixels(only_within)
    for colour in ("#2c7bb6", report.BAD_COLOUR):  # only the legend swatches are left in these colours
        assert _share_of(within, colour) * 5 < _share_of(pixels, colour), colour


def test_report_html_embeds_the_households_chart(solved, tmp_path):
    plan, layer, _, _ = solved
    paths = report.write_report(plan, layer.blocks, tmp_path, lang="zh")
    page = paths["report.html"].read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2 and 'alt="各单元户数"' in page


def test_write_outputs_writes_everything_a_run_adds(solved, tmp_path):
    plan, layer, _, sites = solved
    river = gpd.GeoDataFrame({"name": ["横江"]}, geometry=[layer.blocks.union_all().centroid.buffer(700).exterior], crs=layer.blocks.crs)
    paths = report.write_outputs(plan, layer.blocks, tmp_path, offices=sites, barriers=river)
    assert set(paths) == {"map.html", "report.md", "report.html", "map.png", "offices.geojson", "barriers.geojson"}
    offices = gpd.read_file(paths["offices.geojson"])
    assert offices["in_use"].sum() == 4
    block_layer, _ = plan_layers(plan, layer.blocks)
    assert len(block_layer) == 16


def test_a_relaxed_plan_states_whether_its_violation_is_proved_minimal_and_the_bound():
    from redistrict.report import outcome_sentence

    data = {"name": "阜新", "lower": 2500, "upper": 3000, "k": 3, "households": 9242, "outside": 3, "max_violation": 82, "gap": None, "status": "relaxed_unproved", "violation_bound": 81}
    assert "at least 81 is needed" in outcome_sentence(data, "en") and "not proved minimal" in outcome_sentence(data, "en")
    assert "至少需 81 户" in outcome_sentence(data, "zh") and "未证明最小" in outcome_sentence(data, "zh")
    proved = data | {"max_violation": 81, "status": "relaxed"}
    assert "proved minimal" in outcome_sentence(proved, "en") and "not proved" not in outcome_sentence(proved, "en")
    assert "gap" not in outcome_sentence(data, "en")  # no compactness gap is claimed for a relaxed plan


# --- many units: a summary legend, labels for the units outside, a histogram -------------------------


@pytest.fixture(scope="module")
def many():
    return many_unit_plan()


def _size(png: bytes) -> tuple[int, int]:
    """(height, width) in pixels."""
    return _pixels(png).shape[:2]


def test_print_map_of_many_units_stays_a_page_with_a_summary_legend(many, solved):
    plan, layer = many
    height, width = _size(report.static_map(plan, layer.blocks, lang="en"))
    assert height < 1500 and width < 2500  # a legend row per unit made it 125,000 px high at 4,746 units
    data = MapData(plan, layer.blocks, None, None, "en")
    entries = report._summary_handles(data, "en")
    labels = [label for _, label in entries]
    assert len(entries) < 10 and not any("U17 " in label for label in labels)
    assert labels[1:4] == ["✓ within bounds  198", "× below the minimum  1", "× above the maximum  1"]
    assert sorted(report._labelled(data)["unit_id"]) == ["U1", "U3"]  # only the units outside the bounds
    few, layer_few, _, sites = solved
    few_data = MapData(few, layer_few.blocks, sites, None, "en")
    assert len(report._labelled(few_data)) == few.k  # a small plan: every unit labelled, a row each
    assert [label.split()[0] for _, label in report._legend_handles(few_data, "en")[: few.k]] == list(few.units["unit_id"])


def test_households_chart_of_many_units_is_a_histogram_of_a_fixed_size(many):
    plan, layer = many
    data = report.report_data(plan, layer.blocks, lang="en")
    height, width = _size(report.households_chart(data, "en"))
    assert height < 800 and width < 1600  # the bar chart would be 0.55 inch per unit: 14,000 px wide
    assert _size(report.households_chart(data | {"units": data["units"].head(MANY_UNITS + 1)}, "en"))[1] < 1600
    few = data | {"units": data["units"].head(MANY_UNITS)}
    assert 0.4 * MANY_UNITS * 130 < _size(report.households_chart(few, "en"))[1] < 5000  # up to MANY_UNITS: a bar per unit


def test_histogram_names_the_units_outside_the_bounds_largest_deviation_first():
    import pandas as pd

    units = pd.DataFrame({"unit_id": [f"U{i}" for i in range(1, 201)], "name": [f"单元{i}" for i in range(1, 201)], "households": [2_800] * 200})
    units.loc[[3, 7], "households"] = [3_100, 2_000]
    text = report._outside_text(units, 2_500, 3_000, "en", 5)
    assert text.splitlines() == ["2 units outside the bounds:", "U8 单元8 (2,000 households, -500)", "U4 单元4 (3,100 households, +100)"]
    units.loc[10:29, "households"] = 3_050
    text = report._outside_text(units, 2_500, 3_000, "zh", 5)
    assert text.splitlines()[0] == "22 个单元超出范围：" and len(text.splitlines()) == 7 and text.endswith("另有 17 个")
    assert report._outside_text(units.assign(households=2_800), 2_500, 3_000, "en", 5) == "every unit within the bounds"


def test_histogram_bins_meet_at_the_bounds_and_stay_few():
    import numpy as np

    edges = report._bin_edges(np.array([2_400, 2_500, 2_900, 3_000, 3_100]), 2_500, 3_000)
    assert 2_499.5 in edges and 3_000.5 in edges and np.allclose(np.diff(edges), 50.1)
    counts, _ = np.histogram([2_500, 3_000], edges)  # units at the bounds fall in the band's bins
    inside = (edges[:-1] >= 2_499.5) & (edges[1:] <= 3_000.5)
    assert counts[inside].sum() == 2
    wide = report._bin_edges(np.array([100, 2_600, 40_000]), 2_500, 3_000)
    assert len(wide) <= report.MAX_BINS + 2 and 2_499.5 in wide and wide[0] <= 100 and wide[-1] > 40_000
