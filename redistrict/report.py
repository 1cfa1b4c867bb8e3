"""The one-page plan report a planner attaches to a proposal: ``report.md``, ``report.html``, ``map.png``.

It states the bounds and the outcome in one sentence, tabulates every unit (households,
population, blocks, area, office, mean/max distance to the office, compactness as Polsby-Popper
and Reock, households moved in), the households moved in total, the solver's status and gap, the
yearly committee funding the plan implies under the Anhui 2007 rule, and a static map for print.
"""

from __future__ import annotations

import base64
import html
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .charts import cjk_font, new_figure, png_bytes
from .labels import section
from .maps import (
    BAD_COLOUR,
    BARRIER_COLOUR,
    OFFICE_COLOUR,
    OK_COLOUR,
    SIDES,
    MapData,
    bound_deviations,
    bound_sides,
    present,
)
from .maps import TEXT as TEXT_MAP
from .options import MANY_UNITS
from .plan import Plan
from .shapes import CLOSING_M, compactness

#: Anhui 2007 rule (Tunxi report §二.5): yearly committee funding by community size.
FUNDING_THRESHOLD = 2500
FUNDING_SMALL = 20_000
FUNDING_LARGE = 30_000

#: the report's words and the status words (from the one table, :mod:`redistrict.labels`)
TEXT = section("report")
STATUS = section("status")


# --- figures ---------------------------------------------------------------------------------------


def committee_funding(households: int) -> int:
    """The yearly minimum funding of one committee under the Anhui 2007 rule (yuan)."""
    return FUNDING_SMALL if households < FUNDING_THRESHOLD else FUNDING_LARGE


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
        #: a relaxed plan: the largest violation proved necessary (every smaller one is impossible)
        "violation_bound": (plan.solver or {}).get("proved_at_least"),
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
        return f"{head}其中 {data['outside']} 个超出 {lo:,}–{hi:,} 户（最大偏差 {data['max_violation']:,} 户{_violation_bound(data, lang)}；{status}{gap}）。"
    head = f"{name}: {total:,} households in {k} units, "
    if data["outside"] == 0:
        return f"{head}all within {lo:,}–{hi:,} households ({status}{gap})."
    return f"{head}{data['outside']} of them outside {lo:,}–{hi:,} households (largest violation {data['max_violation']:,}{_violation_bound(data, lang)}; {status}{gap})."


def _violation_bound(data: dict, lang: str) -> str:
    """What is proved about a relaxed plan's violation: the bound, and whether the plan meets it."""
    bound = data.get("violation_bound")
    if bound is None:
        return ""
    if data["max_violation"] <= bound:
        return "，已证明最小" if lang == "zh" else ", proved minimal"
    return f"，至少需 {bound:,} 户" if lang == "zh" else f", at least {bound:,} is needed"


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
img{max-width:100%;border:1px solid #ddd} img.chart{border:none} p.note{color:#555;font-size:12px}
@media print{body{margin:0;max-width:none;font-size:11px} a{display:none}}
@page{size:A4;margin:12mm}
"""


def render_html(data: dict, lang: str = "zh", *, png: bytes | None = None, map_html: str | None = "map.html", chart: bytes | None = None) -> str:
    """``report.html``: the same content as the markdown, one file (the map and the
    households-per-unit ``chart`` PNGs embedded)."""
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
    if chart is not None:
        parts.append(f'<p><img class="chart" alt="{e(t["chart"])}" src="data:image/png;base64,{base64.b64encode(chart).decode("ascii")}"></p>')
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
    """A print map of the plan (PNG); written to ``path`` if given, and returned.

    Units are filled in the same colours as the web map and labelled with name and households
    (framed green within the bounds, red outside); current community boundaries dashed, offices
    and barriers drawn, a legend and a metric scale bar.  Above
    :data:`~redistrict.options.MANY_UNITS` units the legend gives the colours and the counts
    within and outside the bounds, units outside are outlined red and only they are labelled (a
    legend entry and a label per unit made a 125,000-pixel-high PNG for a 4,746-unit city).
    Drawn with matplotlib's object API and the bundled CJK font (:mod:`redistrict.charts`): no
    global matplotlib state is touched.
    """
    from matplotlib.legend_handler import HandlerTuple

    data = MapData(plan, blocks, offices, barriers, lang)
    fig = new_figure(size, dpi)
    ax = fig.add_subplot()
    _draw_layers(ax, data)
    if data.many:
        _outline_outside(ax, data)
    _label_units(ax, data, lang)
    band = f"{data.lower:,}–{data.upper:,} {TEXT[lang]['hh']}" if data.lower is not None else None
    entries = _summary_handles(data, lang) if data.many else _legend_handles(data, lang)
    ax.legend(handles=[h for h, _ in entries], labels=[label for _, label in entries], handler_map={tuple: HandlerTuple(ndivide=None, pad=0.0)}, loc="upper left", bbox_to_anchor=(1.01, 1.0), prop=cjk_font(8), frameon=False, title=band, title_fontproperties=cjk_font(8))
    _scale_bar(ax)
    ax.set_title(_map_title(data, lang), fontproperties=cjk_font(10), loc="left")
    ax.set_axis_off()
    ax.set_aspect("equal")
    png = png_bytes(fig, facecolor="white", bbox_inches="tight", pad_inches=0.15)
    if path is not None:
        Path(path).write_bytes(png)
    return png


def _draw_layers(ax, data: MapData) -> None:
    """Unit fills, block outlines, current communities, barriers and office sites."""
    units = data.units
    units.plot(ax=ax, color=[data.colours[str(u)] for u in units["unit_id"]], alpha=0.8, linewidth=0)
    thin = 0.3 if data.many else 1.0  # a city's outlines at full width would hide the unit colours
    data.blocks.boundary.plot(ax=ax, color="#555555", linewidth=0.35 * thin)
    if data.current is not None:
        data.current.boundary.plot(ax=ax, color="#1f1f1f", linewidth=1.3 * thin, linestyle=(0, (5, 3)))
    if data.barriers is not None:
        data.barriers.plot(ax=ax, color=BARRIER_COLOUR, linewidth=2.2, alpha=0.8)
    if data.offices is not None:
        used = data.offices[data.offices["in_use"]]
        spare = data.offices[~data.offices["in_use"]]
        if len(spare):
            spare.plot(ax=ax, color="white", edgecolor="#555555", markersize=18, linewidth=0.8, zorder=4)
        if len(used):
            used.plot(ax=ax, color=OFFICE_COLOUR, edgecolor="white", markersize=40, linewidth=1.0, zorder=5)


def _outside(data: MapData) -> gpd.GeoDataFrame:
    """The units outside the bounds."""
    return data.units[~data.units["within_bounds"].astype(bool)]


def _labelled(data: MapData) -> gpd.GeoDataFrame:
    """The units that get a label: all of them; above MANY_UNITS only those outside the bounds,
    and none when those are many too (the labels would cover the map)."""
    if not data.many:
        return data.units
    outside = _outside(data)
    return outside if len(outside) <= MANY_UNITS else outside.iloc[:0]


def _outline_outside(ax, data: MapData) -> None:
    """Units outside the bounds outlined red: the one thing a city-wide print map must show."""
    outside = _outside(data)
    if len(outside):
        outside.boundary.plot(ax=ax, color=BAD_COLOUR, linewidth=1.6, zorder=3)


def _label_units(ax, data: MapData, lang: str) -> None:
    """The name and households of each labelled unit, framed green within the bounds, red outside."""
    hh = TEXT[lang]["hh"] if lang == "zh" else "hh"
    units = _labelled(data)
    points = data.label_points(units["unit_id"])
    for (_, row), point in zip(units.iterrows(), points, strict=True):
        edge = OK_COLOUR if row["within_bounds"] else BAD_COLOUR
        ax.annotate(
            f"{row['name']}\n{int(row['households']):,} {hh}", (point.x, point.y), ha="center", va="center", zorder=6,
            fontproperties=cjk_font(8), bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": edge, "lw": 1.4, "alpha": 0.9},
        )


def _legend_handles(data: MapData, lang: str) -> list[tuple]:
    """``(handle, label)`` per unit (colour, id, name, households, bound mark) and per drawn layer."""
    from matplotlib.patches import Patch

    entries = []
    for _, row in data.units.iterrows():
        mark = "✓" if row["within_bounds"] else f"× {int(row['violation']):,}"
        entries.append((Patch(facecolor=data.colours[str(row["unit_id"])], edgecolor="#555555"), f"{row['unit_id']} {row['name']}  {int(row['households']):,}  {mark}"))
    return entries + _layer_handles(data, lang)


def _summary_handles(data: MapData, lang: str) -> list[tuple]:
    """The legend for many units, as ``(handle, label)``: the fill colours in one entry (a tuple
    of patches), the units within, below and above the bounds with their counts, what is
    labelled, then the drawn layers."""
    from matplotlib.patches import Patch

    words = TEXT_MAP[lang]
    colours = list(dict.fromkeys(data.colours[str(u)] for u in data.units["unit_id"]))
    counts = data.bound_counts()
    entries = [
        (tuple(Patch(facecolor=c, edgecolor="#555555") for c in colours), words["many_colours"].format(k=len(data.units), colours=len(colours))),
        (Patch(facecolor="white", edgecolor=OK_COLOUR, linewidth=1.4), f"✓ {words['within']}  {counts['within']:,}"),
        (Patch(facecolor="white", edgecolor=BAD_COLOUR, linewidth=1.6), f"× {words['below']}  {counts['below']:,}"),
        (Patch(facecolor="white", edgecolor=BAD_COLOUR, linewidth=1.6), f"× {words['above']}  {counts['above']:,}"),
    ]
    if len(_labelled(data)):
        entries.append((Patch(facecolor="white", edgecolor=BAD_COLOUR, linewidth=1.4), words["labels_outside"]))
    return entries + _layer_handles(data, lang)


def _layer_handles(data: MapData, lang: str) -> list[tuple]:
    """``(handle, label)`` per drawn layer besides the units: current communities, offices, barriers."""
    from matplotlib.lines import Line2D

    words = TEXT_MAP[lang]
    handles = []
    if data.current is not None:
        handles.append(Line2D([], [], color="#1f1f1f", linestyle=(0, (5, 3)), label=words["current"]))
    if data.offices is not None:
        handles.append(Line2D([], [], marker="o", color="none", markerfacecolor=OFFICE_COLOUR, markeredgecolor="white", markersize=8, label=words["office_in_use"]))
        handles.append(Line2D([], [], marker="o", color="none", markerfacecolor="white", markeredgecolor="#555555", markersize=6, label=words["office_candidate"]))
    if data.barriers is not None:
        handles.append(Line2D([], [], color=BARRIER_COLOUR, linewidth=2.2, label=words["barriers"]))
    return [(h, h.get_label()) for h in handles]


def _map_title(data: MapData, lang: str) -> str:
    units = data.units
    figures = {
        "name": data.plan.problem.get("name"), "lower": data.lower, "upper": data.upper, "k": len(units),
        "households": int(units["households"].sum()), "status": data.plan.status, "gap": data.plan.gap,
        "outside": int((~units["within_bounds"].astype(bool)).sum()), "max_violation": int(units["violation"].max()) if len(units) else 0,
    }
    return outcome_sentence(figures, lang)


def _scale_bar(ax) -> None:
    """A round-number metric scale bar in the lower left (the axes are in metres)."""
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
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x + length / 2, y + (y1 - y0) * 0.012, label, ha="center", va="bottom", fontproperties=cjk_font(8))


def households_chart(data: dict, lang: str = "zh", *, dpi: int = 130) -> bytes:
    """A bar per unit (households) over the bound band; bars below, within and above the band
    in distinct colours, labelled with their deviation from the band.  Above
    :data:`~redistrict.options.MANY_UNITS` units a histogram instead (see
    :func:`households_histogram`): 0.55 inch per bar made a 266,000-pixel-wide PNG for a city.
    PNG bytes."""
    if len(data["units"]) > MANY_UNITS:
        return households_histogram(data, lang, dpi=dpi)
    return _households_bars(data, lang, dpi=dpi)


def _households_bars(data: dict, lang: str, *, dpi: int) -> bytes:
    """The bar chart of :func:`households_chart`, one bar per unit."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    t = TEXT[lang]
    units = data["units"]
    lower, upper = data["lower"], data["upper"]
    hh = units["households"].astype(int).to_numpy()
    sides = bound_sides(hh, lower, upper)
    colours = [_BAR_COLOURS[side] for side in sides]
    fig = new_figure((1.8 + 0.55 * max(3, len(hh)), 3.4), dpi)
    ax = fig.add_subplot()
    if lower is not None and upper is not None:
        ax.axhspan(lower, upper, color="#1a9641", alpha=0.12, zorder=0)
        ax.axhline(lower, color="#1a9641", linewidth=1, linestyle="--")
        ax.axhline(upper, color="#1a9641", linewidth=1, linestyle="--")
    xs = range(len(hh))
    ax.bar(xs, hh, color=colours, zorder=2)
    for x, h, side, off in zip(xs, hh, sides, bound_deviations(hh, lower, upper), strict=True):
        if off:
            ax.text(x, h, f"{off:+,}", ha="center", va="bottom", fontproperties=cjk_font(7), color=_BAR_COLOURS[side])
    names = [f"{u}\n{n}" for u, n in zip(units["unit_id"], units["name"], strict=True)]
    ax.set_xticks(list(xs), names, fontproperties=cjk_font(7))
    ax.set_ylabel(t["households"], fontproperties=cjk_font(8))
    ax.set_title(t["chart"], fontproperties=cjk_font(10), loc="left")
    top = max([*hh, upper or 0]) * 1.12
    ax.set_ylim(0, top)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    keys = [Patch(color=_BAR_COLOURS[k], label=t[f"chart_{k}"]) for k in SIDES]
    if lower is not None and upper is not None:
        keys.append(Patch(color="#1a9641", alpha=0.12, label=t["chart_band"].format(lower=lower, upper=upper)))
    ax.legend(handles=keys, prop=cjk_font(7), loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return png_bytes(fig, facecolor="white", bbox_inches="tight", pad_inches=0.1)


def households_histogram(data: dict, lang: str = "zh", *, dpi: int = 130, names: int = 5) -> bytes:
    """How many units have how many households: a histogram whose bins meet at the bounds,
    split into below, within and above the band (stacked, in the bar chart's colours), the
    bound lines dashed, and under it the number of units outside the bounds with the first
    ``names`` of them (largest deviation first).  A fixed size whatever the number of units.  PNG bytes."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    t = TEXT[lang]
    units = data["units"]
    lower, upper = data["lower"], data["upper"]
    hh = units["households"].astype(int).to_numpy()
    sides = bound_sides(hh, lower, upper)
    fig = new_figure((8.0, 3.4), dpi)
    ax = fig.add_subplot()
    if lower is not None and upper is not None:
        ax.axvspan(lower, upper, color="#1a9641", alpha=0.12, zorder=0)
    for bound in (lower, upper):
        if bound is not None:
            ax.axvline(bound, color="#1a9641", linewidth=1, linestyle="--", zorder=3)
    ax.hist([hh[sides == k] for k in SIDES], bins=_bin_edges(hh, lower, upper), stacked=True, color=[_BAR_COLOURS[k] for k in SIDES], zorder=2)
    ax.set_xlabel(t["households"], fontproperties=cjk_font(8))
    ax.set_ylabel(t["hist_units"], fontproperties=cjk_font(8))
    ax.set_title(f"{t['chart']} ({len(hh):,} {t['units']})", fontproperties=cjk_font(10), loc="left")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    legend = [Patch(color=_BAR_COLOURS[k], label=f"{t[f'chart_{k}']}  {int((sides == k).sum()):,}") for k in SIDES]
    if lower is not None and upper is not None:
        legend.append(Patch(color="#1a9641", alpha=0.12, label=t["chart_band"].format(lower=lower, upper=upper)))
    ax.legend(handles=legend, prop=cjk_font(7), loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.text(0.0, -0.22, _outside_text(units, lower, upper, lang, names), transform=ax.transAxes, va="top", ha="left", fontproperties=cjk_font(8), color=BAD_COLOUR if (sides != "within").any() else "#333333")
    ax.spines[["top", "right"]].set_visible(False)
    return png_bytes(fig, facecolor="white", bbox_inches="tight", pad_inches=0.1)


#: most bins a histogram of unit households gets
MAX_BINS = 60


def _bin_edges(hh: np.ndarray, lower: int | None, upper: int | None) -> np.ndarray:
    """Histogram bin edges: a tenth of the band wide (widened to at most :data:`MAX_BINS` bins),
    one edge half a household below the lower bound, so the band's bins hold only units within
    it (a unit of exactly ``upper`` households too)."""
    low, high = int(hh.min()), int(hh.max())
    if lower is None or upper is None or upper <= lower:
        return np.histogram_bin_edges(hh, bins=min(MAX_BINS, max(1, len(hh) // 5)))
    width = (upper - lower + 1) / 10  # households are whole: the band's bins run from lower - ½ to upper + ½
    width *= max(1, math.ceil((max(high, upper) - min(low, lower)) / width / MAX_BINS))
    first = lower - 0.5 - width * math.ceil((lower - min(low, lower)) / width)
    count = math.ceil((max(high, upper) + 1 - first) / width)
    return first + width * np.arange(count + 1)


def _outside_text(units: pd.DataFrame, lower: int | None, upper: int | None, lang: str, names: int) -> str:
    """How many units lie outside the bounds, and the first ``names`` of them by deviation:
    ``U12 阜新-3 (3,412 户, +412)`` one to a line."""
    t = TEXT[lang]
    deviation = bound_deviations(units["households"].astype(int), lower, upper)
    outside = units.assign(_dev=deviation)[deviation != 0]
    if outside.empty:
        return t["hist_none"]
    outside = outside.reindex(outside["_dev"].abs().sort_values(ascending=False, kind="stable").index)
    lines = [f"{u} {n} ({int(h):,} {t['hh']}, {int(d):+,})" for u, n, h, d in zip(outside["unit_id"], outside["name"], outside["households"], outside["_dev"], strict=True)]
    more = [t["hist_more"].format(n=len(lines) - names)] if len(lines) > names else []
    return "\n".join([t["hist_outside"].format(n=len(lines)), *lines[:names], *more])


_BAR_COLOURS = {"below": "#2c7bb6", "within": "#1a9641", "above": BAD_COLOUR}


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
    chart = households_chart(data, lang)
    (out / "report.html").write_text(render_html(data, lang, png=png, map_html=map_html, chart=chart), encoding="utf-8")
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
    "FUNDING_LARGE", "FUNDING_SMALL", "FUNDING_THRESHOLD", "committee_funding", "compactness", "households_chart",
    "outcome_sentence", "render_html", "render_markdown", "report_data",
    "static_map", "write_outputs", "write_report",
]
