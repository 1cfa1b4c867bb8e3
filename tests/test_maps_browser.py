"""The maps in a real browser: headless Chromium opens map.html from a local file.

It counts the unit polygons, labels and office markers Leaflet drew, checks that no JavaScript
error occurred, that the page asked the network for nothing (Leaflet is inlined: ``L`` is
defined offline), that a hostile block name shows as text, and saves PNG screenshots a person can
look at (in pytest's tmp dir, and in ``$REDISTRICT_SCREENSHOT_DIR`` when that is set).

Needs Debian's ``chromium`` (``apt-get install -y chromium``; or ``REDISTRICT_CHROMIUM=/path``)
and the ``playwright`` Python package; the browser itself is never downloaded.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")

from conftest import CHROMIUM  # noqa: E402

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium, or set REDISTRICT_CHROMIUM)")

from test_maps import XSS, grid_plan, many_unit_plan  # noqa: E402

from redistrict import maps  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"

COUNT = """() => {
  const n = (sel) => document.querySelectorAll(sel).length;
  return {
    units: n('.leaflet-rd-units-pane path'), blocks: n('.leaflet-rd-blocks-pane path'),
    current: n('.leaflet-rd-current-pane path'), barriers: n('.leaflet-rd-barriers-pane path'),
    offices: n('.leaflet-rd-offices-pane path'), labels: n('.leaflet-rd-labels-pane .rd-label'),
    legend: n('.rd-legend'), layers: n('.leaflet-control-layers'), maps: n('.folium-map'),
    leaflet: typeof L === 'object' ? L.version : null,
  };
}"""


class Visit:
    """A page opened from a local file, with everything it requested and every error it raised."""

    def __init__(self, browser, path: Path, size=(1400, 900)) -> None:
        self.page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(self.url, wait_until="load")
        self.page.wait_for_timeout(300)

    def check_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.dialogs == [], f"a script from the data ran: {self.dialogs}"
        foreign = [u for u in self.requests if u != self.url and not u.startswith("data:")]
        assert foreign == [], f"the page asked for {foreign}"

    def shot(self, tmp_path: Path, name: str) -> Path:
        path = tmp_path / name
        self.page.screenshot(path=str(path))
        keep = os.environ.get("REDISTRICT_SCREENSHOT_DIR")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / name)
        assert path.read_bytes()[:4] == b"\x89PNG"
        return path


def test_grid_map_draws_everything_offline_and_shows_hostile_names_as_text(browser, tmp_path):
    plan, layer, _, sites = grid_plan()
    path = maps.write_map(plan, layer.blocks, tmp_path / "map.html", offices=sites)
    visit = Visit(browser, path)
    counts = visit.page.evaluate(COUNT)
    assert counts["leaflet"] == "1.9.4"
    assert counts["units"] == plan.k == 4 and counts["labels"] == 4
    assert counts["blocks"] == 16 and counts["current"] == 2
    assert counts["offices"] == len(sites) == 6
    assert counts["legend"] == 1 and counts["layers"] == 1
    shown = visit.page.evaluate(
        """() => {
          const m = window[Object.keys(window).find((k) => k.startsWith('map_'))];
          let layer = null;
          m.eachLayer((l) => { if (l.feature && l.getPopup && l.getPopup() && l.feature.properties._tip.includes('onerror')) { layer = l; } });
          layer.openPopup();
          const popup = document.querySelector('.leaflet-popup-content');
          return {text: popup.textContent, images: popup.querySelectorAll('img').length};
        }"""
    )
    assert XSS in shown["text"] and shown["images"] == 0
    visit.page.wait_for_timeout(200)
    visit.check_clean()
    visit.shot(tmp_path, "grid_map.png")


def test_sample_plan_map_in_the_browser(browser, tmp_path):
    """The 昱东 joint re-plan of the bundled sample, with its offices and the river."""
    import redistrict as rd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = rd.load_blocks(DATA / "tunxi_blocks.geojson")
        river = rd.read_lines_or_polygons(DATA / "tunxi_river.geojson")
        sites = rd.read_points(DATA / "tunxi_offices.geojson")
    graph = rd.build_graph(layer.blocks, snap=25, barriers=river, overrides=rd.read_overrides(DATA / "tunxi_bridges.csv"))
    plan = rd.solve(rd.Problem.from_layer(layer, graph, subdistrict="昱东", offices=sites))
    assert plan.ok and plan.k == 6
    m = maps.plan_map(plan, layer.blocks, offices=sites, barriers=river)
    expected = maps.map_summary(m)
    path = maps.save_html(m, tmp_path / "yudong_map.html")
    visit = Visit(browser, path)
    counts = visit.page.evaluate(COUNT)
    assert counts["units"] == 6 and counts["labels"] == 6 and counts["blocks"] == 91
    assert counts["offices"] == expected["rd-offices"] >= 6
    assert counts["barriers"] == 1 and counts["current"] == 3  # 阜新, 荷花池, 水心亭
    legend = visit.page.inner_text(".rd-legend")
    assert "阜新-1" in legend and "在范围内 2,500–3,000 户" in legend
    visit.check_clean()
    visit.shot(tmp_path, "yudong_map.png")


def test_comparison_map_keeps_both_views_in_step(browser, tmp_path):
    plan_a, layer, _, sites = grid_plan()
    plan_b, *_ = grid_plan(offices=False, lower=300, upper=600)
    path = maps.write_compare_map(plan_a, plan_b, layer.blocks, tmp_path / "compare.html", offices=sites, lang="en")
    visit = Visit(browser, path)
    counts = visit.page.evaluate(COUNT)
    assert counts["maps"] == 2 and counts["units"] == plan_a.k + plan_b.k and counts["legend"] == 2
    visit.shot(tmp_path, "compare_map.png")
    moved = visit.page.evaluate(
        """() => {
          const [a, b] = Object.keys(window).filter((k) => k.startsWith('map_')).map((k) => window[k]);
          const c = a.getCenter();
          a.setView([c.lat + 0.001, c.lng + 0.001], a.getZoom() + 1, {animate: false});
          const ca = a.getCenter(), cb = b.getCenter();
          return {dlat: Math.abs(ca.lat - cb.lat), dlng: Math.abs(ca.lng - cb.lng), za: a.getZoom(), zb: b.getZoom()};
        }"""
    )
    assert moved["dlat"] < 1e-9 and moved["dlng"] < 1e-9 and moved["za"] == moved["zb"]
    visit.check_clean()


PAYLOADS = ["<script>alert('s')</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(4)>']


def test_hostile_block_and_community_names_run_no_script_in_any_page(browser, tmp_path):
    """Block and community names carrying script payloads, through every page the tool writes:
    the plan map, the report, a sweep's comparison page and the notebook view of a result."""
    from conftest import make_grid

    from redistrict.scenario import Scenario
    from redistrict.sweeps import sweep

    gdf = make_grid(3, 4, community=[PAYLOADS[i % 2] for i in range(12)])
    gdf["name"] = [PAYLOADS[i % 3] for i in range(12)]
    blocks = tmp_path / "hostile.geojson"
    gdf.to_file(blocks, driver="GeoJSON")
    ok = Scenario("whole layer", str(blocks), lower=250, upper=350)
    alone = Scenario("one community", str(blocks), communities=(PAYLOADS[1],), lower=1000, upper=1100)
    result = sweep([ok, alone], tmp_path / "out", scheduler="serial")
    assert list(result.table["status"]) == ["optimal", "infeasible"]
    assert PAYLOADS[1] in result.table.loc["one community", "message"], "the diagnosis names the community"
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{ok.run()._repr_html_()}</body></html>", encoding="utf-8")
    pages = [tmp_path / "out" / "whole layer" / "map.html", tmp_path / "out" / "whole layer" / "report.html", tmp_path / "out" / "comparison.html", notebook]
    for page in pages:
        visit = Visit(browser, page)
        text = visit.page.inner_text("body")
        assert visit.page.evaluate("() => document.querySelectorAll('svg[onload], img[onerror]').length") == 0, page.name
        if page.name != "map.html":  # the map shows names in popups/tooltips, tested above
            assert any(p in text for p in PAYLOADS), f"{page.name}: the names should show as text"
        visit.check_clean()


def test_invalid_plan_map_draws_every_violation(browser, tmp_path):
    """A hand-drawn plan the verifier rejects: the violations are drawn in their own pane with
    legend entries, and the title says the plan is invalid."""
    from test_maps import bad_grid

    layer, graph, path, sites = bad_grid(tmp_path)
    plan = maps.assignment_plan(layer.blocks, graph, path, lower=300, upper=500, offices=sites)
    page = maps.write_map(plan, layer.blocks, tmp_path / "bad_map.html", offices=sites)
    visit = Visit(browser, page)
    drawn = visit.page.evaluate("() => document.querySelectorAll('.leaflet-rd-problems-pane path').length")
    assert drawn == 5  # one detached block, one unit out of bounds, one block in no unit, two units without an office
    assert "方案未通过校验" in visit.page.inner_text(".rd-title")
    kinds = visit.page.evaluate("() => [...document.querySelectorAll('.rd-legend .rd-problem')].map((e) => e.dataset.kind)")
    assert sorted(kinds) == ["bounds", "detached", "no_office", "unassigned"]
    strokes = visit.page.evaluate("() => new Set([...document.querySelectorAll('.leaflet-rd-problems-pane path')].map((p) => p.getAttribute('stroke'))).size")
    assert strokes == 4, "each kind of violation has its own style"
    visit.check_clean()
    visit.shot(tmp_path, "invalid_map.png")


def test_compare_page_matches_colours_and_counts_moved_blocks(browser, tmp_path):
    from test_comparison import two_plans

    from redistrict.comparison import compare_page

    (a, b), _, rename = two_plans()
    path = maps.save_html(compare_page(a, b, names=("方案甲", "方案乙"), lang="zh"), tmp_path / "compare_page.html")
    visit = Visit(browser, path)
    counts = visit.page.evaluate(COUNT)
    assert counts["maps"] == 2 and counts["units"] == 8
    fills = visit.page.evaluate(
        """() => [...document.querySelectorAll('.folium-map')].map((m) =>
             [...m.querySelectorAll('.leaflet-rd-units-pane path')].map((p) => p.getAttribute('fill')).sort())"""
    )
    assert fills[0] == fills[1] and len(set(fills[0])) == 4, "matched units share their colour"
    pairs = visit.page.evaluate("() => [...document.querySelectorAll('.rd-pairs tr[data-b]')].map((r) => [r.dataset.a, r.dataset.b])")
    assert sorted(pairs) == sorted([a_, b_] for a_, b_ in rename.items())
    moved = visit.page.evaluate("() => [...document.querySelectorAll('.folium-map')].map((m) => m.querySelectorAll('.leaflet-rd-moved-pane path').length)")
    assert moved == [1, 1]
    assert visit.page.inner_text(".rd-moved-count").startswith("1 个小区")
    table = visit.page.inner_text(".rd-figures")
    for word in ("单元数", "户数（最小–最大）", "超出户数范围的单元", "平均紧凑度", "年度经费", "求解状态", "与下界差距"):
        assert word in table, word
    visible = visit.page.evaluate("() => { const r = document.querySelector('.rd-panel').getBoundingClientRect(); return r.top < window.innerHeight && r.height > 100; }")
    assert visible, "the figures table is on the page, below the maps"
    visit.check_clean()
    visit.shot(tmp_path, "compare_page.png")


def test_many_units_show_a_summary_legend_and_labels_on_demand(browser, tmp_path, monkeypatch):
    """A city-like plan: the legend is a few lines that leave the title and layer control
    visible, no label at the city view until the layer control turns them on, and block
    tooltips (built in the page from compact figures on a large layer) show names as text."""
    plan, layer = many_unit_plan()
    monkeypatch.setattr(maps, "LARGE_LAYER", 100)  # as if these 400 blocks were a city
    path = maps.write_map(plan, layer.blocks, tmp_path / "many.html", lang="en")
    visit = Visit(browser, path, size=(1000, 700))
    drawn = visit.page.evaluate(
        """() => {  // a large layer is drawn on a canvas: count Leaflet's layers, not SVG paths
          const m = window[Object.keys(window).find((k) => k.startsWith('map_'))];
          let units = 0;
          m.eachLayer((l) => { if (l.feature && l.options.pane === 'rd-units') { units += 1; } });
          return units;
        }"""
    )
    assert drawn == 200 and visit.page.evaluate(COUNT)["labels"] == 0
    rows = visit.page.evaluate("() => document.querySelectorAll('.rd-legend tr').length")
    assert rows == 3
    boxes = visit.page.evaluate(
        """() => ['.rd-legend', '.rd-title', '.leaflet-control-layers'].map((s) => {
             const r = document.querySelector(s).getBoundingClientRect(); return [r.top, r.bottom, r.left, r.right]; })"""
    )
    legend, title, control = boxes
    assert legend[1] <= 700 and legend[0] >= max(title[1], control[1]), "the legend fits and covers neither the title nor the layer control"
    visit.shot(tmp_path, "many_units_map.png")
    tip = visit.page.evaluate(
        """() => {
          const m = window[Object.keys(window).find((k) => k.startsWith('map_'))];
          let block = null;
          m.eachLayer((l) => { if (l.feature && l.feature.properties.i === 'r0c1') { block = l; } });
          block.openTooltip(block.getBounds().getCenter());
          const el = document.querySelector('.leaflet-tooltip');
          return {text: el.textContent, images: el.querySelectorAll('img').length};
        }"""
    )
    assert XSS in tip["text"] and tip["images"] == 0 and "U1 " not in tip["text"] and "(U1)" in tip["text"]
    assert "Households100" in tip["text"].replace(" ", "")
    unit_tip = visit.page.evaluate(
        """() => {  // a unit's tooltip is built in the page too, from its rows and the layer's labels
          const m = window[Object.keys(window).find((k) => k.startsWith('map_'))];
          let unit = null;
          m.eachLayer((l) => { if (l.feature && l.options.pane === 'rd-units' && (l.feature.properties._tt || '').includes('(U1)')) { unit = l; } });
          unit.openTooltip(unit.getBounds().getCenter());
          const tips = document.querySelectorAll('.leaflet-tooltip');
          return tips[tips.length - 1].textContent;
        }"""
    )
    assert "(U1)" in unit_tip and "Households" in unit_tip and "Bounds" in unit_tip
    visit.page.get_by_label("Unit labels").check()
    visit.page.wait_for_timeout(200)
    assert visit.page.evaluate(COUNT)["labels"] == 200
    visit.check_clean()
