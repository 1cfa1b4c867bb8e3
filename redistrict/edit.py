"""The plan editor: one offline page (``edit.html``) in which a planner moves blocks between units.

The page embeds, as JSON, the blocks (outline, households, population, community, subdistrict),
the tool's own adjacency graph (snapping, barriers and overrides applied, as ``verify`` uses it),
the plan, the bounds and the office sites.  Its script (``static/edit/edit.js``) recomputes the
figures of the two units a move touches and checks their contiguity by a breadth-first search on
that graph, so its verdict is the verifier's.  It saves the edited assignment as CSV (UTF-8 with
BOM, and GBK: the GBK bytes of every id are computed here, since browsers only encode UTF-8) and
a JSON record of the edit, which ``plan --locks edit.json --lock-units U3,U5`` reads back.

Layers above :data:`EDIT_LIMIT` blocks are not embedded whole: the page then lists the
subdistricts and the command that opens each one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import shapely

from .errors import InputError, RedistrictWarning
from .maps import BAD_COLOUR, LANGS, OK_COLOUR, PALETTE, js_literal, leaflet_assets, unit_colours
from .plan import Plan
from .scenario import Scenario, file_sha256

#: above this many blocks the page does not embed the layer whole (a move would no longer feel instant)
EDIT_LIMIT = 5000

TEXT = {
    "zh": {
        "title": "手工调整方案",
        "unit": "单元",
        "name": "名称",
        "households": "户数",
        "population": "人口",
        "blocks": "小区数",
        "offices": "办公用房",
        "status": "规则",
        "lock": "锁定",
        "hh": "户",
        "block": "小区",
        "id": "编号",
        "community": "现状社区",
        "subdistrict": "街道",
        "solver_unit": "求解方案单元",
        "current_unit": "现单元",
        "undo": "撤销",
        "redo": "重做",
        "reset": "恢复求解方案",
        "brush": "刷选",
        "new_unit": "新建单元",
        "save_csv": "下载 CSV（UTF-8）",
        "save_gbk": "下载 CSV（GBK）",
        "save_json": "下载编辑记录（JSON）",
        "moved_solver": "较求解方案调整户数",
        "moved_current": "不在本单元主要现状社区的户数",
        "moved_blocks": "调整小区数",
        "ok": "✓",
        "valid": "全部规则满足",
        "broken": "处违反规则",
        "rules": "违反的规则（点击定位）",
        "below": "低于下限",
        "above": "高于上限",
        "pieces": "不连通：分成 {n} 块",
        "no_office": "无合格办公用房",
        "crosses": "跨越街道界线",
        "empty": "空",
        "bounds": "户数范围",
        "active": "当前单元",
        "none": "未选择",
        "help": "点击图例或地图上的小区选择单元，再点击（或刷选）小区把它移入该单元；右键点击小区改选其单元。Ctrl+Z 撤销，Ctrl+Y 重做。",
        "locked_refused": "单元 {u} 已锁定，不能移入或移出小区",
        "moved": "已将小区 {b} 从 {f} 移入 {t}",
        "picked": "当前单元：{u}",
        "check_with": "核验下载的方案",
        "reoptimise": "围绕调整重新优化（锁定单元保持不变）",
        "graph": "邻接关系",
        "too_large": "图层有 {n} 个小区，超过可整体编辑的 {limit} 个（每步调整将不再即时）。请按街道分别编辑：",
        "gbk_unavailable": "GBK 无法表示编号 {id}，请使用 UTF-8 文件",
        "units_n": "个单元",
        "moved_from": "原属",
        "office_ok": "合格办公用房",
        "office_small": "面积不足",
        "m2": "平方米",
        "lock_hint": "锁定后不能移入或移出小区",
        "note_run": "与求解时相同（{blocks}，吸附距离 {snap} 米{extra}）",
        "note_folder": "由 {blocks} 重建（未找到未改动的原始输入文件；如求解时用了其他 --snap/--overrides，请同样指定）",
    },
    "en": {
        "title": "Edit the plan by hand",
        "unit": "Unit",
        "name": "Name",
        "households": "Households",
        "population": "Population",
        "blocks": "Blocks",
        "offices": "Offices",
        "status": "Rules",
        "lock": "Lock",
        "hh": "hh",
        "block": "Block",
        "id": "Id",
        "community": "Current community",
        "subdistrict": "Subdistrict",
        "solver_unit": "Solver's unit",
        "current_unit": "Unit now",
        "undo": "Undo",
        "redo": "Redo",
        "reset": "Reset to the solver's plan",
        "brush": "Brush",
        "new_unit": "New unit",
        "save_csv": "Download CSV (UTF-8)",
        "save_gbk": "Download CSV (GBK)",
        "save_json": "Download the edit (JSON)",
        "moved_solver": "Households moved from the solver's plan",
        "moved_current": "Households outside their unit's main current community",
        "moved_blocks": "Blocks moved",
        "ok": "✓",
        "valid": "every rule holds",
        "broken": "broken rule(s)",
        "rules": "Broken rules (click to zoom)",
        "below": "below the minimum",
        "above": "above the maximum",
        "pieces": "not contiguous: {n} pieces",
        "no_office": "no qualifying office",
        "crosses": "crosses a subdistrict line",
        "empty": "empty",
        "bounds": "Bounds",
        "active": "Active unit",
        "none": "none",
        "help": "Pick a unit in the legend or click a block on the map, then click (or brush) blocks to move them into it; right-click a block to pick its unit. Ctrl+Z undoes, Ctrl+Y redoes.",
        "locked_refused": "Unit {u} is locked: no block may move into or out of it",
        "moved": "Moved block {b} from {f} to {t}",
        "picked": "Active unit: {u}",
        "check_with": "Check the downloaded plan",
        "reoptimise": "Re-optimise around the edit (locked units kept)",
        "graph": "Adjacency",
        "too_large": "The layer has {n} blocks, more than the {limit} that can be edited whole (moves would no longer be instant). Edit one subdistrict at a time:",
        "gbk_unavailable": "GBK cannot hold the id {id}; use the UTF-8 file",
        "units_n": "units",
        "moved_from": "was in",
        "office_ok": "qualifying office",
        "office_small": "too small",
        "m2": "m²",
        "lock_hint": "A locked unit keeps its blocks and takes no others",
        "note_run": "the run's own ({blocks}, snap {snap} m{extra})",
        "note_folder": "rebuilt from {blocks} (the run's input files were not found unchanged; pass --snap/--overrides if the run used others)",
    },
}

#: TOML key of a scenario → the CLI option that loads the layer or builds the graph the same way
_GRAPH_ARGS = {
    "layer": "--layer",
    "encoding": "--encoding",
    "crs": "--crs",
    "wkt_column": "--wkt-column",
    "id": "--id",
    "households": "--households",
    "population": "--population",
    "community_col": "--community-col",
    "subdistrict_col": "--subdistrict-col",
    "adjacency": "--adjacency",
    "snap": "--snap",
    "min_frontage": "--min-frontage",
    "overrides": "--overrides",
}


@dataclass(frozen=True)
class EditSource:
    """What the editor shows: a plan with its blocks, the tool's graph, bounds and office sites."""

    plan: Plan
    #: the plan's blocks, metric CRS, indexed by block id
    blocks: gpd.GeoDataFrame
    #: the adjacency over exactly these blocks (the graph ``verify`` checks against)
    graph: nx.Graph
    #: how the plan and graph were read (paths and options), to print the follow-up commands
    scenario: Scenario
    #: office sites inside the blocks: ``site_id``, ``name``, ``floor_area_m2``, ``block_id``, ``qualifies``
    offices: pd.DataFrame | None = None
    #: the command-line arguments that name the plan (``OUT/`` or ``BLOCKS ASSIGNMENT.csv``)
    source_args: tuple[str, ...] = ()
    #: how the graph was obtained: ("note_run" | "note_folder" | "", values for the page's text)
    note: tuple = ("", {})

    @property
    def lower(self) -> int:
        return self.scenario.lower

    @property
    def upper(self) -> int:
        return self.scenario.upper


# --- reading a plan ---------------------------------------------------------------------------------


def source_from_scenario(
    scenario: Scenario,
    assignment,
    *,
    subdistrict: str | None = None,
    source_args: tuple[str, ...] = (),
    note: tuple = ("", {}),
) -> EditSource:
    """The plan ``assignment`` (CSV path or block/unit table) over the layer and graph of ``scenario``.

    Only the blocks the assignment names are edited (a subdistrict's plan stays that); with
    ``subdistrict`` only that subdistrict's blocks.  Unknown or doubly assigned blocks are an
    :class:`InputError` naming them.
    """
    from .export import plan_from_assignment, read_assignment
    from .problem import _require_names, place_offices

    inputs = scenario.inputs()
    blocks = inputs.layer.blocks
    pairs = (
        read_assignment(assignment)
        if isinstance(assignment, (str, os.PathLike))
        else _pairs(assignment)
    )
    if subdistrict is not None:
        _require_names(blocks, "subdistrict", [subdistrict], where=scenario.blocks)
        inside = set(blocks.index[blocks["subdistrict"] == subdistrict].astype(str))
        pairs = pairs[pairs["block_id"].isin(inside)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedistrictWarning)
        plan = plan_from_assignment(
            blocks,
            inputs.graph,
            pairs,
            lower=scenario.lower,
            upper=scenario.upper,
            offices=inputs.offices,
            min_office_area=scenario.min_office_area,
        )
    ids = list(plan.assignment.index)
    chosen = blocks.loc[ids]
    sites = None
    if inputs.offices is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RedistrictWarning)
            sites = place_offices(inputs.offices, chosen, min_area=0.0)
        sites["qualifies"] = sites["floor_area_m2"] >= scenario.min_office_area
    return EditSource(
        plan, chosen, inputs.graph.subgraph(ids).copy(), scenario, sites, source_args, note
    )


def _pairs(assignment) -> pd.DataFrame:
    if isinstance(assignment, pd.Series):
        return pd.DataFrame(
            {"block_id": assignment.index.astype(str), "unit_id": assignment.astype(str).to_numpy()}
        )
    frame = assignment.iloc[:, :2].astype(str)
    frame.columns = ["block_id", "unit_id"]
    return frame


def source_from_dir(
    out: str | os.PathLike,
    *,
    subdistrict: str | None = None,
    snap: float | None = None,
    overrides: str | None = None,
) -> EditSource:
    """The plan of an output folder of ``split``/``plan``, with the graph its run used.

    When ``report.json`` records the input files and they are unchanged (same SHA-256), the
    layer and graph are rebuilt from them with the run's options.  Otherwise the graph is built
    from ``OUT/blocks.geojson`` and ``OUT/barriers.geojson`` (with ``snap``/``overrides``) and the
    page says so.
    """
    from .export import load_plan_dir

    folder = Path(out)
    saved = load_plan_dir(folder)
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assignment = saved.plan.assignment_frame()
    scenario = _recorded_scenario(report)
    if scenario is not None and snap is None and overrides is None:
        extra = (", --overrides" if scenario.overrides else "") + (
            ", --barriers" if scenario.barriers else ""
        )
        note = (
            "note_run",
            {"blocks": scenario.blocks, "snap": f"{scenario.snap:g}", "extra": extra},
        )
    else:
        scenario = _folder_scenario(folder, report, snap=snap, overrides=overrides)
        note = ("note_folder", {"blocks": scenario.blocks})
    return source_from_scenario(
        scenario, assignment, subdistrict=subdistrict, source_args=(str(folder),), note=note
    )


def _recorded_scenario(report: dict) -> Scenario | None:
    """The run's own scenario, when every input file it read is still there unchanged."""
    provenance = report.get("provenance") or {}
    recorded = provenance.get("scenario")
    inputs = provenance.get("inputs") or {}
    if not recorded:
        return None
    files = [v for k, v in inputs.items() if k != "barriers"] + list(inputs.get("barriers") or [])
    for entry in files:
        path = Path(entry["path"])
        if not path.is_file() or file_sha256(path) != entry.get("sha256"):
            return None
    scenario = Scenario.from_dict(recorded, where="report.json")
    blocks = (report.get("problem") or {}).get("bounds") or {}
    return scenario.replace(
        lower=int(blocks.get("min", scenario.lower)),
        upper=int(blocks.get("max", scenario.upper)),
        time_limit=None,
    )


def _folder_scenario(
    folder: Path, report: dict, *, snap: float | None, overrides: str | None
) -> Scenario:
    problem = report.get("problem") or {}
    bounds = problem.get("bounds") or {}
    offices = folder / "offices.geojson"
    barriers = folder / "barriers.geojson"
    return Scenario(
        name="edit",
        blocks=str(folder / "blocks.geojson"),
        lower=int(bounds.get("min", 2500)),
        upper=int(bounds.get("max", 3000)),
        offices=str(offices) if offices.exists() else None,
        min_office_area=float(problem.get("min_office_area") or 300.0),
        barriers=(str(barriers),) if barriers.exists() else (),
        overrides=overrides,
        snap=25.0 if snap is None else snap,
        time_limit=None,
    )


# --- the page ---------------------------------------------------------------------------------------


def _csv_field(value: str) -> str:
    """One CSV field as the csv module writes it (quoted only when needed)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([value])
    return buffer.getvalue()[:-1]


def gbk_fields(values: list[str]) -> tuple[list[str] | None, str | None]:
    """Each value's CSV field in GBK as hex (the page cannot encode GBK), or the first id GBK cannot hold."""
    out = []
    for value in values:
        try:
            out.append(_csv_field(value).encode("gbk").hex())
        except UnicodeEncodeError:
            return None, value
    return out, None


def _latlngs(geom) -> list:
    """A (multi)polygon as Leaflet's nested [lat, lng] rings, 6 decimals."""

    def ring(coords) -> list:
        return [[round(y, 6), round(x, 6)] for x, y, *_ in coords]

    def polygon(p) -> list:
        return [ring(p.exterior.coords)] + [ring(r.coords) for r in p.interiors]

    if geom.geom_type == "Polygon":
        return polygon(geom)
    return [polygon(p) for p in geom.geoms if p.geom_type == "Polygon"]


def _text(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _index(values: list) -> tuple[list, list[int]]:
    names = sorted({v for v in values if v is not None}, key=str)
    pos = {n: i for i, n in enumerate(names)}
    return names, [pos[v] if v is not None else -1 for v in values]


def _block_payload(source: EditSource) -> dict:
    blocks = source.blocks
    ids = [str(b) for b in blocks.index]
    wgs = blocks.to_crs("EPSG:4326")
    centres = wgs.geometry.representative_point() if len(wgs) else wgs.geometry
    communities, comm = _index(
        [_text(v) for v in blocks.get("community", pd.Series(index=blocks.index, dtype=object))]
    )
    subdistricts, sub = _index(
        [_text(v) for v in blocks.get("subdistrict", pd.Series(index=blocks.index, dtype=object))]
    )
    pop = blocks["population"] if "population" in blocks else pd.Series(None, index=blocks.index)
    name = blocks["name"] if "name" in blocks else pd.Series(None, index=blocks.index)
    return {
        "id": ids,
        "name": [_text(v) for v in name],
        "hh": [int(v) for v in blocks["households"]],
        "pop": [None if pd.isna(v) else int(v) for v in pop],
        "comm": comm,
        "sub": sub,
        "lat": [round(p.y, 6) for p in centres],
        "lng": [round(p.x, 6) for p in centres],
        "geom": [_latlngs(g) for g in shapely.set_precision(wgs.geometry.values, 1e-6)],
        "communities": communities,
        "subdistricts": subdistricts,
    }


def _unit_payload(source: EditSource) -> tuple[list[dict], list[int]]:
    from .outputs import plan_layers

    plan = source.plan
    _, units_gdf = plan_layers(plan, source.blocks)
    colours = unit_colours(units_gdf)
    units = [
        {"id": str(r.unit_id), "name": str(r.name), "colour": colours[str(r.unit_id)]}
        for r in plan.units.itertuples()
    ]
    pos = {u["id"]: i for i, u in enumerate(units)}
    return units, [pos[str(u)] for u in plan.assignment.loc[source.blocks.index]]


def _edges(source: EditSource) -> list[int]:
    pos = {str(b): i for i, b in enumerate(source.blocks.index)}
    flat: list[int] = []
    for a, b in source.graph.edges():
        flat.extend((pos[str(a)], pos[str(b)]))
    return flat


def _office_payload(source: EditSource) -> list[dict]:
    if source.offices is None:
        return []
    pos = {str(b): i for i, b in enumerate(source.blocks.index)}
    sites = gpd.GeoDataFrame(
        source.offices,
        geometry=gpd.points_from_xy(source.offices["x"], source.offices["y"]),
        crs=source.blocks.crs,
    ).to_crs("EPSG:4326")
    return [
        {
            "id": str(r.site_id),
            "name": _text(r.name),
            "area": float(r.floor_area_m2),
            "block": pos[str(r.block_id)],
            "ok": bool(r.qualifies),
            "lat": round(r.geometry.y, 6),
            "lng": round(r.geometry.x, 6),
        }
        for r in sites.itertuples()
    ]


def _commands(source: EditSource, lang: str) -> dict:
    """The ``verify`` and re-optimise commands for the files the page saves (``{units}`` filled in by the page)."""
    s = source.scenario
    data = s.to_dict()
    graph_args: list[str] = []
    for key, flag in _GRAPH_ARGS.items():
        if key in data:
            graph_args += [flag, str(data[key])]
    for barrier in s.barriers:
        graph_args += ["--barriers", barrier]
    scope: list[str] = []
    if s.subdistrict:
        scope = ["--subdistrict", s.subdistrict]
    elif s.communities:
        scope = ["--communities", ",".join(s.communities)]
    else:
        subs = (
            source.blocks["subdistrict"].dropna().unique() if "subdistrict" in source.blocks else []
        )
        if len(subs) == 1 and source.scenario.inputs().layer.blocks["subdistrict"].eq(
            subs[0]
        ).sum() == len(source.blocks):
            scope = ["--subdistrict", str(subs[0])]
    bounds = ["--min", str(s.lower), "--max", str(s.upper)]
    verify = [
        "redistrict",
        "verify",
        s.blocks,
        "edited_assignment.csv",
        *bounds,
        *scope,
        *graph_args,
    ]
    offices = (
        ["--offices", s.offices, "--min-office-area", f"{s.min_office_area:g}"] if s.offices else []
    )
    command = "plan" if scope else "split"
    replan = [
        "redistrict",
        command,
        s.blocks,
        "--out",
        "reoptimised",
        *bounds,
        *scope,
        *offices,
        *graph_args,
        "--locks",
        "edit.json",
        "--lang",
        lang,
    ]
    return {"verify": shlex.join(verify), "replan": shlex.join(replan) + " --lock-units {units}"}


def _note(note: tuple, lang: str) -> str:
    key, values = note
    return TEXT[lang][key].format(**values) if key else ""


def editor_payload(source: EditSource, *, lang: str = "zh", title: str | None = None) -> dict:
    """Everything the page needs, as plain JSON (no code)."""
    if lang not in LANGS:
        raise InputError(f"The editor's language must be one of {', '.join(LANGS)}, not '{lang}'.")
    blocks = _block_payload(source)
    units, unit0 = _unit_payload(source)
    blocks["unit0"] = unit0
    gbk_blocks, bad_block = gbk_fields(blocks["id"])
    gbk_units, bad_unit = gbk_fields([u["id"] for u in units])
    for u, hexed in zip(units, gbk_units or [None] * len(units), strict=True):
        u["gbk"] = hexed
    bad = bad_block or bad_unit
    return {
        "version": 1,
        "lang": lang,
        "text": TEXT[lang],
        "title": title or source.plan.problem.get("name") or TEXT[lang]["title"],
        "bounds": [source.lower, source.upper],
        "blocks": blocks,
        "units": units,
        "edges": _edges(source),
        "offices": _office_payload(source),
        "min_office_area": source.scenario.min_office_area if source.offices is not None else None,
        "cross_subdistricts": bool(source.scenario.cross_subdistricts),
        "gbk": {"blocks": gbk_blocks if not bad else None, "unavailable": bad},
        "colours": {"ok": OK_COLOUR, "bad": BAD_COLOUR, "palette": list(PALETTE)},
        "commands": _commands(source, lang),
        "note": _note(source.note, lang),
        "source": " ".join(source.source_args),
    }


def too_large_payload(source: EditSource, *, lang: str = "zh", limit: int = EDIT_LIMIT) -> dict:
    """The page's content when the layer is too large to edit whole: one command per subdistrict."""
    blocks = source.blocks
    counts = (
        blocks["subdistrict"].fillna("").value_counts()
        if "subdistrict" in blocks
        else pd.Series(dtype=int)
    )
    args = list(source.source_args)
    rows = [
        {
            "name": str(name),
            "blocks": int(n),
            "command": shlex.join(
                ["redistrict", "edit", *args, "--subdistrict", str(name), "--lang", lang]
            ),
        }
        for name, n in sorted(counts.items(), key=lambda kv: str(kv[0]))
        if str(name)
    ]
    return {
        "version": 1,
        "lang": lang,
        "text": TEXT[lang],
        "title": TEXT[lang]["title"],
        "too_large": {"blocks": len(blocks), "limit": limit, "subdistricts": rows},
    }


def _static(name: str) -> str:
    root = resources.files("redistrict") / "static" / "edit"
    if not (root / name).is_file():
        raise RuntimeError(
            f"The editor's {name} is missing from the installed package ({root}); reinstall redistrict with its static files."
        )
    return (root / name).read_text(encoding="utf-8")


def render_page(payload: dict) -> str:
    """The page's HTML: Leaflet, the editor's CSS and JS inlined; the payload as inert JSON."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_static("edit.html.j2"))
    leaflet_js, leaflet_css = leaflet_assets()
    return template.render(
        lang="zh-CN" if payload["lang"] == "zh" else "en",
        title=payload["title"],
        leaflet_js=leaflet_js,
        leaflet_css=leaflet_css,
        editor_js=_static("edit.js"),
        editor_css=_static("edit.css"),
        payload=js_literal(payload),  # JSON with <, >, & escaped: inert inside <script>
    )


def write_editor(
    source: EditSource,
    path: str | os.PathLike,
    *,
    lang: str = "zh",
    title: str | None = None,
    limit: int | None = None,
) -> Path:
    """Write ``edit.html`` for ``source``; returns its path.

    A plan of more than ``limit`` blocks gets a page that lists its subdistricts with the command
    to edit each, and this raises :class:`InputError` saying the same (the page is written first).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    limit = EDIT_LIMIT if limit is None else limit
    n = len(source.blocks)
    if n > limit:
        payload = too_large_payload(source, lang=lang, limit=limit)
        path.write_text(render_page(payload), encoding="utf-8")
        rows = payload["too_large"]["subdistricts"]
        listed = (
            "\n".join(f"  {r['command']}    ({r['blocks']:,} blocks)" for r in rows)
            or "  (the layer has no subdistrict column: split it with redistrict plan … --communities first)"
        )
        raise InputError(
            f"The plan has {n:,} blocks, more than the {limit:,} the editor takes whole (each move would no longer be instant). Edit one subdistrict at a time:\n{listed}\n{path} lists the same.",
            path=str(path),
        )
    path.write_text(render_page(editor_payload(source, lang=lang, title=title)), encoding="utf-8")
    return path


__all__ = [
    "EDIT_LIMIT",
    "EditSource",
    "TEXT",
    "editor_payload",
    "gbk_fields",
    "render_page",
    "source_from_dir",
    "source_from_scenario",
    "too_large_payload",
    "write_editor",
]
