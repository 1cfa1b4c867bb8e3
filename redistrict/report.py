"""The one-page plan report a planner attaches to a proposal: ``report.md``, ``report.html``, ``map.png``.

It states the bounds and the outcome in one sentence, tabulates every unit (households,
population, blocks, area, office, mean/max distance to the office, compactness as Polsby-Popper
and Reock, households moved in), the households moved in total, the solver's status and gap, the
yearly committee funding the plan implies under the Anhui 2007 rule, and a static map for print.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from .maps import (
    BAD_COLOUR,
    BARRIER_COLOUR,
    CLOSING_M,
    OFFICE_COLOUR,
    OK_COLOUR,
    MapData,
    closed_shape,
    present,
)
from .maps import TEXT as TEXT_MAP
from .plan import Plan

#: Anhui 2007 rule (Tunxi report §二.5): yearly committee funding by community size.
FUNDING_THRESHOLD = 2500
FUNDING_SMALL = 20_000
FUNDING_LARGE = 30_000

#: CJK fonts tried, in order, for Chinese text in the static map.
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB", "Droid Sans Fallback",
    "AR PL UMing CN", "Arial Unicode MS",
)

STATUS = {
    "zh": {"optimal": "最优解", "feasible": "可行解，未证明最优", "timed_out": "达到时间上限，可行解未证明最优", "relaxed": "放宽户数范围后的解", "heuristic": "启发式可行解，未证明最优", "invalid": "未通过校验"},
    "en": {"optimal": "optimal", "feasible": "feasible, not proved optimal", "timed_out": "time limit reached, not proved optimal", "relaxed": "bounds relaxed", "heuristic": "heuristic plan, not proved optimal", "invalid": "fails verification"},
}

TEXT = {
    "zh": {
        "title": "社区划分方案", "sep": "：", "bounds": "户数范围", "units_k": "单元数", "moved": "迁入户数合计",
        "solver": "求解", "funding": "社区居委会年度经费（安徽 2007 年标准）", "per_unit": "各单元",
        "unit": "单元", "name": "名称", "households": "户数", "population": "人口", "blocks": "小区数",
        "area": "面积（km²）", "office": "办公用房", "mean": "平均距离（m）", "max": "最远距离（m）",
        "pp": "Polsby-Popper", "reock": "Reock", "moved_in": "迁入户数", "status": "范围", "total": "合计",
        "ok": "✓", "map": "方案图", "seconds": "秒", "hh": "户", "none": "—",
        "new": "新方案", "current": "现状", "communities": "个社区", "units": "个单元", "change": "变化",
        "interactive": "交互地图", "centre": "（无办公用房选址：距离按中心小区计算）",
        "pieces": "分片求解（各片互不相连，分别求解）",
        "piece_head": ("分片", "小区数", "户数", "单元数", "方法", "状态", "目标值", "下界", "gap", "秒"),
        "note": (
            "注：距离为各小区中心至本单元办公用房的直线距离，平均值按户数加权。紧凑度按合并后的单元计算"
            "（先弥合 {closing:.0f} 米以内的道路间隙）：Polsby-Popper = 4πA/P²，Reock = A / 最小外接圆面积，"
            "1 为最紧凑。经费按安徽省 2007 年标准：不足 {threshold:,} 户的社区每年不少于 {small:,} 元，"
            "{threshold:,} 户及以上不少于 {large:,} 元。"
        ),
    },
    "en": {
        "title": "Community plan", "sep": ": ", "bounds": "Bounds", "units_k": "Units", "moved": "Households moved in (total)",
        "solver": "Solver", "funding": "Yearly committee funding (Anhui 2007 rule)", "per_unit": "Units",
        "unit": "Unit", "name": "Name", "households": "Households", "population": "Population", "blocks": "Blocks",
        "area": "Area (km²)", "office": "Office", "mean": "Mean dist. (m)", "max": "Max dist. (m)",
        "pp": "Polsby-Popper", "reock": "Reock", "moved_in": "Moved in", "status": "Bounds", "total": "Total",
        "ok": "✓", "map": "Plan map", "seconds": "s", "hh": "households", "none": "—",
        "new": "new plan", "current": "current", "communities": "communities", "units": "units", "change": "change",
        "interactive": "interactive map", "centre": " (no office sites: distances to the centre block)",
        "pieces": "Pieces (separate parts of the graph, solved independently)",
        "piece_head": ("Piece", "Blocks", "Households", "Units", "Method", "Status", "Objective", "Bound", "Gap", "s"),
        "note": (
            "Distances are straight lines from each block's centre to the unit's office, the mean weighted by "
            "households. Compactness is measured on the merged unit (road gaps up to {closing:.0f} m closed): "
            "Polsby-Popper = 4πA/P², Reock = A / area of the smallest enclosing circle; 1 is most compact. "
            "Funding by the Anhui 2007 rule: a community below {threshold:,} households gets at least ¥{small:,} "
            "a year, one of {threshold:,} or more at least ¥{large:,}."
        ),
    },
}


# --- figures ---------------------------------------------------------------------------------------


def committee_funding(households: int) -> int:
    """The yearly minimum funding of one committee under the Anhui 2007 rule (yuan)."""
    return FUNDING_SMALL if households < FUNDING_THRESHOLD else FUNDING_LARGE


def polsby_popper(geom) -> float:
    """4πA/P² (1 for a circle)."""
    return float(4 * math.pi * geom.area / geom.length**2) if geom.length > 0 else float("nan")


def reock(geom) -> float:
    """Area over the area of the minimum enclosing circle (1 for a circle).

    The circle's area is π·r² from ``shapely.minimum_bounding_radius`` (the polygon that
    ``minimum_bounding_circle`` returns is a slightly smaller approximation).
    """
    circle = math.pi * float(shapely.minimum_bounding_radius(geom)) ** 2
    return float(geom.area / circle) if circle > 0 else float("nan")


def compactness(blocks: gpd.GeoDataFrame, *, radius: float = CLOSING_M) -> pd.DataFrame:
    """Polsby-Popper and Reock of each unit, indexed by ``unit_id``.

    ``blocks`` carry a ``unit_id`` column and lie in a metric CRS (as from
    ``outputs.plan_layers``); each unit is the union of its blocks with road gaps closed.
    """
    if not blocks.crs or not blocks.crs.is_projected:
        blocks = blocks.to_crs(blocks.estimate_utm_crs())
    rows = {}
    for unit_id, group in blocks.groupby("unit_id"):
        shape = closed_shape(group.geometry, radius)
        rows[unit_id] = {"polsby_popper": round(polsby_popper(shape), 3), "reock": round(reock(shape), 3)}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "unit_id"
    return frame


def report_data(plan: Plan, blocks: gpd.GeoDataFrame, *, lang: str = "zh") -> dict:
    """Everything the report states, as plain values (also handy for notebooks)."""
    data = MapData(plan, blocks, None, None, lang)
    units = plan.units.copy()
    comp = compactness(data.blocks)
    units = units.merge(comp, left_on="unit_id", right_index=True, how="left")
    units["funding"] = [committee_funding(int(h)) for h in units["households"]]
    total = int(units["households"].sum())
    moved_col = units["households_moved_in"] if "households_moved_in" in units else pd.Series(dtype=float)
    moved = int(moved_col.dropna().sum()) if moved_col.notna().any() else plan.objective.get("households_moved")
    current = None
    if "community" in data.blocks and data.blocks["community"].notna().any():
        by_comm = data.blocks.groupby("community")["households"].sum()
        current = {"communities": len(by_comm), "funding": int(sum(committee_funding(int(h)) for h in by_comm)), "households": {str(k): int(v) for k, v in by_comm.items()}}
    outside = units[~units["within_bounds"].astype(bool)]
    return {
        "name": plan.problem.get("name"),
        "status": plan.status,
        "message": plan.message,
        "gap": plan.gap,
        "seconds": plan.seconds,
        "solver": plan.solver,
        "lower": data.lower,
        "upper": data.upper,
        "k": len(units),
        "k_reason": plan.problem.get("k_reason"),
        "households": total,
        "population": None if units["population"].isna().any() else int(units["population"].sum()),
        "blocks": int(units["blocks"].sum()),
        "area_km2": float(units["area_km2"].sum()),
        "moved": moved,
        "outside": len(outside),
        "max_violation": int(outside["violation"].max()) if len(outside) else 0,
        "has_offices": bool(units["office_site"].notna().any()) if "office_site" in units else False,
        "funding": int(units["funding"].sum()),
        "current": current,
        "units": units,
        "pieces": plan.pieces,
    }


def outcome_sentence(data: dict, lang: str = "zh") -> str:
    """The bounds and the outcome in one sentence."""
    name = data["name"] or ("本方案" if lang == "zh" else "The plan")
    lo, hi, k, total = data["lower"], data["upper"], data["k"], data["households"]
    status = STATUS[lang].get(data["status"], data["status"])
    gap = "" if data["gap"] is None else (f"，gap {data['gap']:.2%}" if lang == "zh" else f", gap {data['gap']:.2%}")
    if lang == "zh":
        head = f"{name}：{total:,} 户划为 {k} 个社区单元，"
        if data["outside"] == 0:
            return f"{head}全部在 {lo:,}–{hi:,} 户之间（{status}{gap}）。"
        return f"{head}其中 {data['outside']} 个超出 {lo:,}–{hi:,} 户（最大偏差 {data['max_violation']:,} 户；{status}{gap}）。"
    head = f"{name}: {total:,} households in {k} units, "
    if data["outside"] == 0:
        return f"{head}all within {lo:,}–{hi:,} households ({status}{gap})."
    return f"{head}{data['outside']} of them outside {lo:,}–{hi:,} households (largest violation {data['max_violation']:,}; {status}{gap})."


# --- rendering -------------------------------------------------------------------------------------


def _fmt(value, digits: int = 0) -> str:
    if not present(value):
        return "—"
    return f"{float(value):,.{digits}f}"


def _money(value: int, lang: str) -> str:
    return f"¥{value:,}"


def _summary_rows(data: dict, lang: str) -> list[tuple[str, str]]:
    t = TEXT[lang]
    rows = [(t["bounds"], f"{data['lower']:,}–{data['upper']:,} {t['hh']}")]
    k = str(data["k"])
    if lang == "en" and data.get("k_reason"):
        k += f" ({data['k_reason']})"
    rows.append((t["units_k"], k))
    if data["moved"] is not None:
        share = data["moved"] / data["households"] if data["households"] else 0.0
        rows.append((t["moved"], f"{data['moved']:,} {t['hh']} ({share:.1%})"))
    solver = data["solver"] or {}
    engine = " ".join(str(solver[k]) for k in ("solver", "solver_version") if solver.get(k))
    gap = "" if data["gap"] is None else f", gap {data['gap']:.2%}"
    rows.append((t["solver"], f"{STATUS[lang].get(data['status'], data['status'])}{gap}, {data['seconds']:.1f} {t['seconds']}" + (f", {engine}" if engine else "")))
    funding = f"{t['new']} {data['k']} {t['units']} {_money(data['funding'], lang)}"
    if data["current"]:
        cur = data["current"]
        diff = data["funding"] - cur["funding"]
        funding += f"; {t['current']} {cur['communities']} {t['communities']} {_money(cur['funding'], lang)}; {t['change']} {'+' if diff >= 0 else '−'}{_money(abs(diff), lang)}"
    rows.append((t["funding"], funding))
    return rows


def _unit_rows(data: dict, lang: str) -> tuple[list[str], list[list[str]], list[str]]:
    t = TEXT[lang]
    head = [t["unit"], t["name"], t["households"], t["population"], t["blocks"], t["area"], t["office"], t["mean"], t["max"], t["pp"], t["reock"], t["moved_in"], t["status"]]
    rows = []
    for _, u in data["units"].iterrows():
        office = f"{u['office_name']} ({u['office_site']})" if present(u.get("office_name")) else (f"{u['centre_block']}" if present(u.get("centre_block")) else "—")
        status = t["ok"] if u["within_bounds"] else f"× {int(u['violation']):,}"
        rows.append([str(u["unit_id"]), str(u["name"]), _fmt(u["households"]), _fmt(u.get("population")), _fmt(u["blocks"]), _fmt(u["area_km2"], 3), office, _fmt(u["mean_distance_m"]), _fmt(u["max_distance_m"]), _fmt(u["polsby_popper"], 2), _fmt(u["reock"], 2), _fmt(u.get("households_moved_in")), status])
    total = [t["total"], "", _fmt(data["households"]), _fmt(data["population"]), _fmt(data["blocks"]), _fmt(data["area_km2"], 3), "", "", "", "", "", _fmt(data["moved"]), ""]
    return head, rows, total


def _md_cell(text: str) -> str:
    """Data text for a markdown table cell: HTML-escaped (no raw HTML from the data), pipes escaped."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _piece_rows(data: dict, lang: str) -> list[list[str]]:
    """One row of text cells per separate piece: size, k, method, status, objective, bound, gap, time."""
    words = STATUS[lang]
    rows = []
    for r in data.get("pieces") or []:
        gap = "—" if r["gap"] is None else f"{r['gap']:.2%}"
        status = r["status"]
        rows.append([str(r["piece"]), f"{r['blocks']:,}", f"{r['households']:,}", str(r["k"]), r["method"], words.get(status, status), _fmt(r["objective"], 1), _fmt(r["bound"], 1), gap, f"{r['seconds']:.1f}"])
    return rows


def render_markdown(data: dict, lang: str = "zh", *, png: str | None = "map.png", map_html: str | None = "map.html") -> str:
    """``report.md``: the sentence, a summary table, the unit table, the map and the notes."""
    t = TEXT[lang]
    name = data["name"] or ""
    lines = [f"# {t['title']}{t['sep'] if name else ''}{_md_cell(name)}", "", f"**{_md_cell(outcome_sentence(data, lang))}**", ""]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {_md_cell(v)} |" for k, v in _summary_rows(data, lang)] + [""]
    head, rows, total = _unit_rows(data, lang)
    lines += [f"## {t['per_unit']}" + ("" if data["has_offices"] else t["centre"]), ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" if i in (0, 1, 6, 12) else "---:" for i in range(len(head))) + "|")
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    lines.append("| " + " | ".join(f"**{c}**" if c else "" for c in total) + " |")
    lines.append("")
    if len(data.get("pieces") or []) > 1:
        lines += [f"## {t['pieces']}", "", "| " + " | ".join(t["piece_head"]) + " |", "|---|" + "---:|" * 3 + "---|---|" + "---:|" * 4]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in _piece_rows(data, lang)] + [""]
    if png:
        lines += [f"![{t['map']}]({png})", ""]
    if map_html:
        lines += [f"[{t['interactive']}]({map_html})", ""]
    lines.append(t["note"].format(closing=CLOSING_M, threshold=FUNDING_THRESHOLD, small=FUNDING_SMALL, large=FUNDING_LARGE))
    return "\n".join(lines) + "\n"


_HTML_CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",system-ui,sans-serif;
 max-width:1100px;margin:24px auto;padding:0 16px;color:#222;font-size:14px}
h1{font-size:22px;margin-bottom:6px} h2{font-size:17px;margin-top:22px}
p.outcome{font-size:16px;font-weight:600}
table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 7px;white-space:nowrap} th{background:#f0f0f0}
table.units td:nth-child(7){white-space:normal}
table.units td.n{text-align:right} tr.total td{font-weight:600;background:#fafafa}
td.bad{color:#d7191c;font-weight:600} td.ok{color:#1a9641}
img{max-width:100%;border:1px solid #ddd} p.note{color:#555;font-size:12px}
@media print{body{margin:0;max-width:none;font-size:11px} a{display:none}}
@page{size:A4;margin:12mm}
"""


def render_html(data: dict, lang: str = "zh", *, png: bytes | None = None, map_html: str | None = "map.html") -> str:
    """``report.html``: the same content as the markdown, one file (the PNG is embedded)."""
    t = TEXT[lang]
    e = html.escape
    name = data["name"] or ""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{e(t['title'])}{e(t['sep'] if name else '')}{e(name)}</title><style>{_HTML_CSS}</style></head><body>",
        f"<h1>{e(t['title'])}{e(t['sep'] if name else '')}{e(name)}</h1>",
        f'<p class="outcome">{e(outcome_sentence(data, lang))}</p>',
        "<table>" + "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _summary_rows(data, lang)) + "</table>",
        f"<h2>{e(t['per_unit'])}{'' if data['has_offices'] else e(t['centre'])}</h2>",
    ]
    head, rows, total = _unit_rows(data, lang)
    numeric = {2, 3, 4, 5, 7, 8, 9, 10, 11}
    table = ['<table class="units"><tr>' + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"]
    for row, (_, u) in zip(rows, data["units"].iterrows(), strict=True):
        cells = []
        for i, cell in enumerate(row):
            cls = "n" if i in numeric else ("ok" if u["within_bounds"] else "bad") if i == 12 else ""
            cells.append(f'<td class="{cls}">{e(cell)}</td>' if cls else f"<td>{e(cell)}</td>")
        table.append("<tr>" + "".join(cells) + "</tr>")
    table.append('<tr class="total">' + "".join(f'<td class="n">{e(c)}</td>' if i in numeric else f"<td>{e(c)}</td>" for i, c in enumerate(total)) + "</tr></table>")
    parts += table
    if len(data.get("pieces") or []) > 1:
        parts.append(f"<h2>{e(t['pieces'])}</h2><table class=\"pieces\"><tr>" + "".join(f"<th>{e(h)}</th>" for h in t["piece_head"]) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in _piece_rows(data, lang)]
        parts.append("</table>")
    if png is not None:
        parts.append(f'<p><img alt="{e(t["map"])}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"></p>')
    if map_html:
        parts.append(f'<p><a href="{e(map_html)}">{e(t["interactive"])}</a></p>')
    parts.append(f'<p class="note">{e(t["note"].format(closing=CLOSING_M, threshold=FUNDING_THRESHOLD, small=FUNDING_SMALL, large=FUNDING_LARGE))}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --- the static map ------------------------------------------------------------------------------


_CJK_FILES = ("wqy", "notosanscjk", "noto-cjk", "notosanssc", "sourcehansans", "droidsansfallback", "simhei", "msyh", "pingfang", "uming", "ukai")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font that has Chinese glyphs, or None.

    Fonts installed after matplotlib built its font cache are found by scanning the system
    font folders for well-known CJK font files.
    """
    from matplotlib import font_manager

    def known() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((family for family in CJK_FONTS if family in names), None)

    found = known()
    if found is None:
        for path in font_manager.findSystemFonts():
            if any(key in Path(path).name.lower().replace(" ", "") for key in _CJK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = known()
    return found


def _ascii(text: str) -> bool:
    return all(ord(ch) < 128 for ch in text)


def static_map(
    plan: Plan,
    blocks: gpd.GeoDataFrame,
    path: str | os.PathLike | None = None,
    *,
    offices: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
    dpi: int = 150,
    size: tuple[float, float] = (10.0, 7.5),
) -> bytes:
    """A print map of the plan (matplotlib, PNG); written to ``path`` if given, and returned.

    Units are filled in the same colours as the web map and labelled with name and households
    (framed green within the bounds, red outside); current community boundaries dashed, offices
    and barriers drawn, a legend and a scale bar.  Without a CJK font installed, labels fall back
    to unit ids and English so nothing prints as empty boxes.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    font = cjk_font()
    if font is None and lang == "zh":
        lang = "en"
    data = MapData(plan, blocks, offices, barriers, lang)
    t = TEXT[lang]
    rc = {"font.family": "sans-serif", "font.sans-serif": ([font] if font else []) + ["DejaVu Sans"], "axes.unicode_minus": False}
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=size, dpi=dpi)
        try:
            units = data.units
            units.plot(ax=ax, color=[data.colours[str(u)] for u in units["unit_id"]], alpha=0.8, linewidth=0)
            data.blocks.boundary.plot(ax=ax, color="#555555", linewidth=0.35)
            if data.current is not None:
                data.current.boundary.plot(ax=ax, color="#1f1f1f", linewidth=1.3, linestyle=(0, (5, 3)))
            if data.barriers is not None:
                data.barriers.plot(ax=ax, color=BARRIER_COLOUR, linewidth=2.2, alpha=0.8)
            if data.offices is not None:
                used = data.offices[data.offices["in_use"]]
                spare = data.offices[~data.offices["in_use"]]
                if len(spare):
                    spare.plot(ax=ax, color="white", edgecolor="#555555", markersize=18, linewidth=0.8, zorder=4)
                if len(used):
                    used.plot(ax=ax, color=OFFICE_COLOUR, edgecolor="white", markersize=40, linewidth=1.0, zorder=5)
            for _, row in units.iterrows():
                members = data.blocks[data.blocks["unit_id"] == row["unit_id"]]
                point = shapely.point_on_surface(closed_shape(members.geometry))
                name = str(row["name"])
                label = name if (font or _ascii(name)) else str(row["unit_id"])
                edge = OK_COLOUR if row["within_bounds"] else BAD_COLOUR
                ax.annotate(
                    f"{label}\n{int(row['households']):,} {t['hh'] if lang == 'zh' else 'hh'}",
                    (point.x, point.y), ha="center", va="center", fontsize=8, zorder=6,
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": edge, "lw": 1.4, "alpha": 0.9},
                )
            handles = []
            for _, row in units.iterrows():
                name = str(row["name"]) if (font or _ascii(str(row["name"]))) else ""
                mark = "✓" if row["within_bounds"] else f"× {int(row['violation']):,}"
                handles.append(Patch(facecolor=data.colours[str(row["unit_id"])], edgecolor="#555555", label=f"{row['unit_id']} {name}  {int(row['households']):,}  {mark}"))
            if data.current is not None:
                handles.append(Line2D([], [], color="#1f1f1f", linestyle=(0, (5, 3)), label=TEXT_MAP[lang]["current"]))
            if data.offices is not None:
                handles.append(Line2D([], [], marker="o", color="none", markerfacecolor=OFFICE_COLOUR, markeredgecolor="white", markersize=8, label=TEXT_MAP[lang]["office_in_use"]))
                handles.append(Line2D([], [], marker="o", color="none", markerfacecolor="white", markeredgecolor="#555555", markersize=6, label=TEXT_MAP[lang]["office_candidate"]))
            if data.barriers is not None:
                handles.append(Line2D([], [], color=BARRIER_COLOUR, linewidth=2.2, label=TEXT_MAP[lang]["barriers"]))
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, title=f"{data.lower:,}–{data.upper:,} {t['hh']}" if data.lower is not None else None, title_fontsize=8)
            _scale_bar(ax)
            name = data.plan.problem.get("name")
            title = outcome_sentence({"name": name if (name is None or font or _ascii(name)) else None, "lower": data.lower, "upper": data.upper, "k": len(units), "households": int(units["households"].sum()), "status": plan.status, "gap": plan.gap, "outside": int((~units["within_bounds"].astype(bool)).sum()), "max_violation": int(units["violation"].max()) if len(units) else 0}, lang)
            ax.set_title(title, fontsize=10, loc="left")
            ax.set_axis_off()
            ax.set_aspect("equal")
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, facecolor="white", bbox_inches="tight", pad_inches=0.15)
        finally:
            plt.close(fig)
    png = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(png)
    return png


def _scale_bar(ax) -> None:
    """A round-number scale bar in the lower left (the axes are in metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    target = (x1 - x0) / 5
    length = max(10.0, 10 ** math.floor(math.log10(target)))
    for step in (5, 2):
        if length * step <= target:
            length *= step
            break
    x = x0 + (x1 - x0) * 0.03
    y = y0 + (y1 - y0) * 0.04
    ax.plot([x, x + length], [y, y], color="black", linewidth=2.5, solid_capstyle="butt")
    ax.text(x + length / 2, y + (y1 - y0) * 0.012, f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m", ha="center", va="bottom", fontsize=8)


# --- writers ---------------------------------------------------------------------------------------


def write_report(
    plan: Plan,
    blocks: gpd.GeoDataFrame,
    out_dir: str | os.PathLike,
    *,
    offices: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
    map_html: str | None = "map.html",
) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` (PNG embedded) and ``map.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = report_data(plan, blocks, lang=lang)
    png = static_map(plan, blocks, out / "map.png", offices=offices, barriers=barriers, lang=lang)
    (out / "report.md").write_text(render_markdown(data, lang, png="map.png", map_html=map_html), encoding="utf-8")
    (out / "report.html").write_text(render_html(data, lang, png=png, map_html=map_html), encoding="utf-8")
    return {"report.md": out / "report.md", "report.html": out / "report.html", "map.png": out / "map.png"}


def write_outputs(
    plan: Plan,
    blocks: gpd.GeoDataFrame,
    out_dir: str | os.PathLike,
    *,
    offices: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
    basemap: str = "none",
    tianditu_key: str | None = None,
) -> dict[str, Path]:
    """Everything a run adds next to ``write_plan``'s files: ``map.html``, the report, ``map.png``,
    and ``offices.geojson``/``barriers.geojson`` so ``redistrict map OUT/`` can redraw the map.

    Made to be passed as ``write_plan(..., extra=lambda tmp: write_outputs(plan, blocks, tmp, ...))``.
    """
    from .export import sites_in_area, write_extras
    from .maps import write_map

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"map.html": write_map(plan, blocks, out / "map.html", offices=offices, barriers=barriers, lang=lang, basemap=basemap, tianditu_key=tianditu_key)}
    paths |= write_report(plan, blocks, out, offices=offices, barriers=barriers, lang=lang)
    sites = None if offices is None else sites_in_area(offices, blocks)
    for path in write_extras(out, plan=plan, offices=sites, barriers=barriers):
        paths[path.name] = path
    return paths

__all__ = [
    "FUNDING_LARGE", "FUNDING_SMALL", "FUNDING_THRESHOLD", "committee_funding", "compactness", "cjk_font",
    "outcome_sentence", "polsby_popper", "reock", "render_html", "render_markdown", "report_data",
    "static_map", "write_outputs", "write_report",
]
