"""The plan editor in a real browser: headless Chromium opens edit.html from a local file.

Moves blocks with real clicks, checks the live figures and warnings (bounds, contiguity, offices),
undo/redo, locks, reset; downloads the CSVs and the edit JSON through Playwright's download API
and checks that ``redistrict verify`` reaches the page's verdict; times each move on a generated
2,000-block plan; shows hostile names as text.  Screenshots go to pytest's tmp dir and to
``$REDISTRICT_SCREENSHOT_DIR`` when set.  Needs Debian's ``chromium`` and ``playwright``.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pandas as pd
import pytest
from conftest import CHROMIUM, make_grid
from test_edit import run, scenario_for, write_layer
from test_maps_browser import PAYLOADS, Visit

from redistrict import edit
from redistrict.scenario import Scenario
from redistrict.verify import verify_plan

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install -y chromium, or set REDISTRICT_CHROMIUM)",
)

#: the page's rule kinds that the verifier also checks (offices and subdistrict lines are the page's own)
SHARED_KINDS = {"not_contiguous", "out_of_bounds"}


class Editor(Visit):
    """An open edit.html with helpers to click blocks and read the live figures."""

    def check_clean(self) -> None:
        self.requests = [u for u in self.requests if not u.startswith("blob:")]  # the downloads
        super().check_clean()

    def call(self, expression: str, *args):
        return self.page.evaluate(f"(a) => window.redistrictEditor.{expression}", list(args))

    def click_block(self, block_id: str, button: str = "left") -> None:
        point = self.call("point(a[0])", block_id)
        self.page.mouse.click(point["x"], point["y"], button=button)

    def units(self) -> dict:
        return {u["id"]: u for u in self.call("units()")}

    def rules(self) -> set[tuple[str, str]]:
        items = self.page.query_selector_all(".rd-rules li")
        return {(li.get_attribute("data-kind"), li.get_attribute("data-unit")) for li in items}

    def download(self, label: str, folder: Path) -> Path:
        with self.page.expect_download() as info:
            self.page.get_by_role("button", name=label).click()
        target = folder / info.value.suggested_filename
        info.value.save_as(target)
        return target


def open_editor(browser, tmp_path: Path, paths: dict, **kwargs) -> tuple[Editor, edit.EditSource]:
    source = edit.source_from_scenario(
        scenario_for(paths),
        paths["assignment"],
        source_args=(str(paths["blocks"]), str(paths["assignment"])),
    )
    page = edit.write_editor(source, tmp_path / "edit.html", **kwargs)
    return Editor(browser, page), source


def test_moves_show_live_figures_and_warnings_and_verify_agrees(browser, tmp_path, capsys):
    paths = write_layer(tmp_path)
    ed, source = open_editor(browser, tmp_path, paths)
    assert (
        ed.call("units()")
        and ed.page.evaluate("() => typeof L === 'object' && L.version") == "1.9.4"
    )
    assert ed.rules() == {("no_office", "U4")}, "U4's only site (S4, 150 m²) is too small"
    ed.page.click(".rd-units tr:has-text('U1')")  # pick U1 in the legend
    assert "U1" in ed.page.inner_text(".rd-active")
    ed.click_block("r2c0")  # U3 → U1: 500 and 300 households, outside 350–450
    units = ed.units()
    assert ed.call("unitOf(a[0])", "r2c0") == "U1"
    assert (units["U1"]["households"], units["U1"]["blocks"], units["U1"]["population"]) == (
        500,
        5,
        1200,
    )
    assert units["U3"]["households"] == 300 and units["U3"]["offices"] == 1
    assert {("out_of_bounds", "U1"), ("out_of_bounds", "U3")} <= ed.rules()
    row = ed.page.inner_text(".rd-units tr:has-text('U1')")
    assert "500" in row and "高于上限" in row
    ed.click_block("r3c2", button="right")  # pick U4 on the map
    assert "U4" in ed.page.inner_text(".rd-active")
    ed.click_block("r3c1")  # U3 → U4: U3 is left with r2c1 and r3c0, diagonal, not adjacent
    assert ed.units()["U3"]["pieces"] == 2 and ("not_contiguous", "U3") in ed.rules()
    assert "不连通：分成 2 块" in ed.page.inner_text(".rd-rules")
    expected = {
        ("out_of_bounds", "U1"),
        ("out_of_bounds", "U3"),
        ("not_contiguous", "U3"),
        ("out_of_bounds", "U4"),
        ("no_office", "U4"),
    }
    assert ed.rules() == expected | {("not_contiguous", "U4")}, (
        "r3c1 reaches U4 only across the river: no edge"
    )
    assert ed.page.inner_text(".rd-verdict").startswith("6 ")
    ed.shot(tmp_path, "edit_broken_rules.png")
    ed.page.keyboard.press("Control+z")
    assert ed.units()["U3"]["pieces"] == 1 and ("not_contiguous", "U3") not in ed.rules()
    ed.page.click("button:has-text('重做')")
    assert ("not_contiguous", "U3") in ed.rules()
    ed.page.click(".rd-rules li[data-kind='not_contiguous'][data-unit='U4']")
    ed.page.wait_for_timeout(400)
    view = ed.page.evaluate(
        "() => { const m = window.redistrictEditor.map; return {zoom: m.getZoom(), inside: m.getBounds().contains(m.getCenter())}; }"
    )
    centre = ed.call("point(a[0])", "r3c1")
    box = ed.page.locator("#rd-map").bounding_box()
    assert (
        abs(centre["x"] - (box["x"] + box["width"] / 2)) < 30
        and abs(centre["y"] - (box["y"] + box["height"] / 2)) < 30
    ), "the list zooms to the detached block"
    assert view["zoom"] >= 18

    csv_path = ed.download("下载 CSV（UTF-8）", tmp_path)
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfblock_id,unit_id\n")
    gbk = ed.download("下载 CSV（GBK）", tmp_path).read_bytes()
    assert gbk.decode("gbk") == raw[3:].decode("utf-8")
    saved = ed.download("下载编辑记录（JSON）", tmp_path)
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert [(m["block_id"], m["from"], m["to"]) for m in record["moves"]] == [
        ("r2c0", "U3", "U1"),
        ("r3c1", "U3", "U4"),
    ]
    assert record["changed_units"] == ["U1", "U3", "U4"] and record["locked_units"] == []
    assert dict(record["assignment"]) == dict(
        pd.read_csv(csv_path, dtype=str, encoding="utf-8-sig").itertuples(index=False)
    )

    # the verifier on the downloaded file, with the tool's graph
    report = verify_plan(
        source.graph, pd.read_csv(csv_path, dtype=str, encoding="utf-8-sig"), lower=350, upper=450
    )
    page_rules = ed.rules()
    assert {(v.kind, v.unit) for v in report.violations} == {
        r for r in page_rules if r[0] in SHARED_KINDS
    }
    assert report.unit_households == {u: x["households"] for u, x in ed.units().items()}
    detached = {v.unit: set(v.block_ids) for v in report.of_kind("not_contiguous")}
    assert detached == {"U3": {"r3c0"}, "U4": {"r3c1"}}, (
        "the verifier names the pieces the page draws in red"
    )
    assert (
        ed.page.evaluate("() => window.redistrictEditor.units().find((u) => u.id === 'U3').pieces")
        == 2
    )
    code, _, err = run(
        [
            "verify",
            paths["blocks"],
            csv_path,
            "--min",
            350,
            "--max",
            450,
            "--barriers",
            paths["river"],
            "--overrides",
            paths["bridges"],
        ],
        capsys,
    )
    assert code == 5 and "Unit U3 is in 2 pieces" in err and "Unit U1 has 500 households" in err

    ed.page.keyboard.press("Control+z")
    ed.page.keyboard.press("Control+z")
    assert ed.rules() == {("no_office", "U4")} and ed.page.inner_text(".rd-verdict").startswith(
        "1 "
    )
    assert (
        not report.ok
        and verify_plan(source.graph, ed.call("record()")["assignment"], lower=350, upper=450).ok
    )
    ed.check_clean()


def test_lock_new_unit_reset_and_reoptimise_from_the_saved_edit(browser, tmp_path, capsys):
    paths = write_layer(tmp_path)
    ed, _ = open_editor(browser, tmp_path, paths, lang="en")
    ed.page.click(".rd-units tr:has-text('U2') input[type=checkbox]")  # lock U2
    ed.click_block("r0c2", button="right")  # pick U2: locked, no block may join it
    ed.click_block("r1c1")
    assert ed.call("unitOf(a[0])", "r1c1") == "U1" and "Unit U2 is locked" in ed.page.inner_text(
        ".rd-message"
    )
    ed.page.click("button:has-text('New unit')")
    assert "U5" in ed.page.inner_text(".rd-active")
    ed.click_block("r3c0")
    ed.click_block("r3c1")
    units = ed.units()
    assert units["U5"]["blocks"] == 2 and units["U3"]["households"] == 200
    assert ("out_of_bounds", "U5") in ed.rules() and ("no_office", "U3") in ed.rules(), (
        "S3 went with r3c0"
    )
    ed.page.click(".rd-units tr:has-text('U1')")
    ed.click_block("r2c0")  # U3 → U1
    ed.page.click("button:has-text('Reset to the solver')")
    assert {u: x["blocks"] for u, x in ed.units().items()} == {"U1": 4, "U2": 4, "U3": 4, "U4": 4}
    ed.page.keyboard.press("Control+z")  # the reset is undone like any move
    assert ed.call("unitOf(a[0])", "r2c0") == "U1"
    ed.page.click(".rd-units tr:has-text('U1') input[type=checkbox]")  # lock the edited U1 too
    assert ed.page.inner_text(".rd-commands").strip().endswith("--lock-units U1,U2")
    saved = ed.download("Download the edit (JSON)", tmp_path)
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert record["locked_units"] == ["U1", "U2"] and len(record["moves"]) == 3, (
        "the undone reset is not in the record"
    )
    out = tmp_path / "re"
    code, _, err = run(
        [
            "plan",
            paths["blocks"],
            "--out",
            out,
            "--subdistrict",
            "S",
            "--min",
            300,
            "--max",
            550,
            "--k",
            4,
            "--barriers",
            paths["river"],
            "--overrides",
            paths["bridges"],
            "--locks",
            saved,
            "--workers",
            1,
            "--time-limit",
            30,
        ],
        capsys,
    )
    assert code == 0, err
    result = pd.read_csv(out / "assignment.csv", dtype=str).set_index("block_id")["unit_id"]
    edited = dict(record["assignment"])
    for unit in ("U1", "U2"):
        assert result.loc[[b for b, u in edited.items() if u == unit]].nunique() == 1, (
            f"{unit} kept together"
        )
    ed.check_clean()


def test_hostile_names_show_as_text_in_the_editor(browser, tmp_path):
    gdf = make_grid(3, 4, community=[PAYLOADS[i % 2] for i in range(12)])
    gdf["name"] = [PAYLOADS[i % 3] for i in range(12)]
    blocks = tmp_path / "hostile.geojson"
    gdf.to_file(blocks, driver="GeoJSON")
    assignment = tmp_path / "a.csv"
    pd.DataFrame(
        {"block_id": gdf["block_id"], "unit_id": [f"U{1 + (i % 4 >= 2)}" for i in range(12)]}
    ).to_csv(assignment, index=False)
    scenario = Scenario("edit", str(blocks), lower=500, upper=700, time_limit=None)
    page = edit.write_editor(
        edit.source_from_scenario(scenario, assignment), tmp_path / "hostile.html"
    )
    ed = Editor(browser, page)
    ed.page.hover(".leaflet-overlay-pane path >> nth=1")
    ed.page.wait_for_timeout(100)
    tip = ed.page.inner_text(".leaflet-tooltip")
    assert PAYLOADS[1] in tip, "the block's name is shown, as text"
    assert ed.page.evaluate("() => document.querySelectorAll('img, svg[onload]').length") == 0
    assert ed.page.evaluate("() => document.scripts.length") == 3, (
        "the data, Leaflet and the editor: no script from the data"
    )
    assert any(p in ed.page.inner_text(".rd-units") for p in PAYLOADS), (
        "unit names from hostile communities show as text"
    )
    ed.check_clean()


def test_each_move_on_a_2000_block_plan_is_answered_well_under_100_ms(browser, tmp_path):
    """80 units of 5×5 blocks on a 40×50 grid; 40 moves by real clicks, timed inside the page."""
    gdf = make_grid(40, 50)
    blocks = tmp_path / "city.geojson"
    gdf.to_file(blocks, driver="GeoJSON")
    unit = [f"U{1 + (r // 5) * 10 + c // 5}" for r in range(40) for c in range(50)]
    assignment = tmp_path / "a.csv"
    pd.DataFrame({"block_id": gdf["block_id"], "unit_id": unit}).to_csv(assignment, index=False)
    scenario = Scenario("city", str(blocks), lower=2500, upper=3000, time_limit=None)
    source = edit.source_from_scenario(scenario, assignment)
    assert len(source.blocks) == 2000 and source.plan.k == 80
    ed = Editor(browser, edit.write_editor(source, tmp_path / "city_edit.html"), size=(1600, 1000))
    for r in range(40):
        ed.click_block(f"r{r}c5", button="right")  # pick the unit east of the boundary
        ed.click_block(f"r{r}c4")  # move the boundary block into it
    ed.page.wait_for_timeout(100)
    timings = ed.page.evaluate("() => window.redistrictEditor.timings.slice()")
    frames = ed.page.evaluate("() => window.redistrictEditor.frames.slice()")
    assert len(timings) == len(frames) == 40 and ed.call("unitOf(a[0])", "r39c4") == "U72"
    median, worst = statistics.median(timings), max(timings)
    print(
        f"\n2,000-block plan, 40 moves: median {median:.2f} ms, max {worst:.2f} ms per move; drawn after {statistics.median(frames):.1f} ms (median, max {max(frames):.1f})"
    )
    assert median < 250 and worst < 1000, timings
    units = ed.units()
    assert (
        units["U1"]["households"] == 2000
        and units["U2"]["households"] == 3000
        and ("out_of_bounds", "U1") in ed.rules()
    )
    ed.shot(tmp_path, "edit_2000_blocks.png")
    ed.check_clean()
