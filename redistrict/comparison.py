"""Comparing scenario results: one row of figures per scenario, a chart, and two plans side by side.

The figures are recomputed from each plan (assignment, graph figures and block geometry), never
read back from the solver, so a hand-drawn plan and an engine plan compare on the same footing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .charts import cjk_font, use_font
from .errors import InputError
from .labels import status_word, words
from .shapes import compactness

if TYPE_CHECKING:  # results are made by redistrict.scenario, which builds on this module
    from .scenario import ScenarioResult

#: The comparison table's columns, in order, with what each means (README and notebook use this).
COLUMNS = {
    "scenario": "scenario name",
    "status": "optimal, feasible, timed_out, relaxed, infeasible, no_solution or error",
    "units": "number of units",
    "households_min": "households of the smallest unit",
    "households_max": "households of the largest unit",
    "spread": "largest minus smallest unit (households)",
    "out_of_bounds": "units outside the household bounds (only with --relax)",
    "max_violation": "largest distance of a unit's households to the bounds",
    "mean_polsby_popper": "mean Polsby-Popper compactness of the unit shapes (1 = circle)",
    "boundary_km": "length of boundary between units (km, shared block edges)",
    "households_moved": "households whose unit is centred in another community than their own",
    "mean_distance_m": "household-weighted mean distance to the unit's office (or centre block without offices)",
    "max_distance_m": "largest distance of a block to its unit's office (or centre block)",
    "funding_yuan": "yearly committee funding the plan implies (Anhui 2007 rule)",
    "gap": "relative gap between the plan and the proved bound (0 = optimal)",
    "seconds": "wall-clock seconds of the run",
    "lower": "household lower bound", "upper": "household upper bound",
    "message": "the outcome in a sentence, or the error",
}


#: :data:`COLUMNS` in Chinese, for pages drawn with ``lang="zh"``.
COLUMNS_ZH = {
    "scenario": "方案名称",
    "status": "求解状态：最优、可行、达到时间上限、放宽范围、无可行方案、未找到方案或无法运行",
    "units": "单元数",
    "households_min": "最小单元的户数",
    "households_max": "最大单元的户数",
    "spread": "最大单元与最小单元的户数差",
    "out_of_bounds": "超出户数范围的单元数（仅放宽范围时）",
    "max_violation": "单元户数超出范围的最大值",
    "mean_polsby_popper": "单元形状的平均 Polsby-Popper 紧凑度（圆为 1）",
    "boundary_km": "单元之间的边界长度（公里，按相邻小区的共用边计）",
    "households_moved": "所在单元的中心位于其他社区的户数",
    "mean_distance_m": "至本单元办公用房（无办公用房时为中心小区）的户数加权平均距离",
    "max_distance_m": "小区至本单元办公用房（或中心小区）的最远距离",
    "funding_yuan": "按安徽 2007 年标准，方案每年需要的居委会经费",
    "gap": "方案与已证明下界的相对差距（0 为最优）",
    "seconds": "运行用时（秒）",
    "lower": "户数下限", "upper": "户数上限",
    "message": "结果说明或错误信息",
}


def summarize(result: ScenarioResult) -> dict:
    """The figures of one result (see :data:`COLUMNS`); missing figures are None."""
    row: dict = dict.fromkeys(COLUMNS)
    row.update(scenario=result.name, status=result.status, lower=result.scenario.lower, upper=result.scenario.upper, seconds=round(result.seconds, 2))
    plan = result.plan
    if plan is None:
        row["message"] = result.error
        return row
    row["message"] = plan.message
    row["gap"] = None if plan.gap is None else round(float(plan.gap), 6)
    if not plan.ok:
        return row
    row.update(plan_row(plan, result.blocks))
    return row


def plan_row(plan, blocks=None) -> dict:
    """The figures of one plan with units (the plan part of :data:`COLUMNS`); ``blocks`` (any
    frame holding the plan's blocks) add the mean Polsby-Popper compactness."""
    from .report import committee_funding

    units = plan.units
    hh = units["households"].astype(int)
    total = int(hh.sum())
    row = dict(
        units=len(units),
        households_min=int(hh.min()),
        households_max=int(hh.max()),
        spread=int(hh.max() - hh.min()),
        out_of_bounds=int((~units["within_bounds"].astype(bool)).sum()),
        max_violation=int(units["violation"].max()),
        boundary_km=plan.objective.get("boundary_km"),
        households_moved=plan.objective.get("households_moved"),
        mean_distance_m=round(float((units["mean_distance_m"] * hh).sum() / total), 1) if total else None,
        max_distance_m=float(units["max_distance_m"].max()),
        funding_yuan=int(sum(committee_funding(int(h)) for h in hh)),
    )
    if blocks is not None:
        row["mean_polsby_popper"] = _mean_polsby_popper(plan, blocks)
    return row


def _mean_polsby_popper(plan, blocks) -> float | None:
    from .outputs import plan_layers

    block_layer, _ = plan_layers(plan, blocks)
    values = compactness(block_layer)["polsby_popper"]
    values = values[values.notna()]
    return round(float(values.mean()), 3) if len(values) else None


def compare(results: list[ScenarioResult] | list[dict]) -> pd.DataFrame:
    """One row per scenario with the :data:`COLUMNS` figures, indexed by scenario name.

    Accepts results (from :meth:`Scenario.run` or a sweep) or their summary dicts.
    """
    rows = [r if isinstance(r, dict) else r.summary() for r in results]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in ("units", "households_min", "households_max", "spread", "out_of_bounds", "max_violation", "households_moved", "funding_yuan", "lower", "upper"):
        frame[col] = frame[col].astype("Int64")
    for col in ("mean_polsby_popper", "boundary_km", "mean_distance_m", "max_distance_m", "gap", "seconds"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame.set_index("scenario")


#: the columns of :func:`households_per_unit`
UNIT_COLUMNS = ["scenario", "unit_id", "households", "within_bounds", "lower", "upper", "status"]


def households_per_unit(results: list[ScenarioResult]) -> pd.DataFrame:
    """Long table, one row per unit: ``scenario, unit_id, households, within_bounds, lower, upper,
    status`` (a scenario without a plan gets one row with no unit), in scenario order."""
    rows = []
    for r in results:
        base = {"scenario": r.name, "lower": r.scenario.lower, "upper": r.scenario.upper, "status": r.status}
        if r.ok:
            rows += [base | {"unit_id": u.unit_id, "households": int(u.households), "within_bounds": bool(u.within_bounds)} for u in r.plan.units.itertuples(index=False)]
        else:
            rows.append(base | {"unit_id": None, "households": None, "within_bounds": None})
    return pd.DataFrame(rows, columns=UNIT_COLUMNS)


def plot_households(data: list[ScenarioResult] | pd.DataFrame, ax=None, *, lang: str | None = None):
    """Households of every unit, one column of dots per scenario, with each scenario's bounds.

    ``data``: results, or the table of :func:`households_per_unit` (what a sweep keeps).
    ``lang``: ``zh`` or ``en`` (default: the first result's scenario language, else ``zh``).
    Without ``ax`` the chart is a new figure of the caller's own pyplot (so a notebook shows it
    inline); redistrict's pages pass an axes of an object-API figure.  Every text uses the
    bundled CJK font, so Chinese names never print as boxes.
    """
    frame = data if isinstance(data, pd.DataFrame) else households_per_unit(data)
    if lang is None:
        lang = data[0].scenario.lang if not isinstance(data, pd.DataFrame) and len(data) else "zh"
    t = words(lang, "chart")
    names = list(dict.fromkeys(frame["scenario"]))
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(1.6 + 1.3 * max(1, len(names)), 4))
    for i, name in enumerate(names):
        _plot_scenario(ax, i, frame[frame["scenario"] == name], lang)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontproperties=cjk_font(9))
    ax.set_ylabel(t["ylabel"], fontproperties=cjk_font(10))
    ax.set_title(t["title"], fontproperties=cjk_font(10))
    ax.grid(axis="y", alpha=0.3)
    use_font(ax.figure)
    return ax


def _plot_scenario(ax, i: int, rows: pd.DataFrame, lang: str) -> None:
    """One scenario's column: its bounds dashed, a dot per unit (red outside), or its status."""
    first = rows.iloc[0]
    ax.hlines([first["lower"], first["upper"]], i - 0.35, i + 0.35, colors="#999999", linestyles="dashed", linewidth=1)
    units = rows[rows["households"].notna()]
    if len(units):
        colours = ["#2b8cbe" if ok else "#d7301f" for ok in units["within_bounds"]]
        offsets = [((j % 5) - 2) * 0.06 for j in range(len(units))]
        ax.scatter([i + o for o in offsets], units["households"].astype(float), c=colours, s=28, zorder=3)
    else:
        ax.text(i, first["lower"], status_word(lang, str(first["status"])), ha="center", va="bottom", color="#d7301f", fontproperties=cjk_font(8))


def format_value(value) -> str:
    """A table cell for people: thousands separators, 3 decimals below 10, "—" when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) or hasattr(value, "__index__"):
        return f"{int(value):,}"
    return str(value)


@dataclass(frozen=True)
class PlanComparison:
    """Two plans of the same blocks: units paired by the households they share (an optimal
    assignment, Hungarian method), and the blocks whose unit changed between them."""

    #: unit of plan B → its matched unit of plan A (units without a partner are left out)
    pairs: dict
    #: unit of plan B → households it shares with its partner
    shared: dict
    #: blocks in both plans whose unit in B is not the partner of their unit in A
    moved_blocks: tuple
    moved_households: int


def compare_plans(plan_a, plan_b, households: pd.Series) -> PlanComparison:
    """Pair the units of two plans by household overlap and list the blocks that moved.

    ``households``: households per block id.  Units are paired to maximise the households that
    stay together (``scipy.optimize.linear_sum_assignment``); a block moved when its unit in B
    is not the partner of its unit in A.  Blocks in only one plan are not counted.
    """
    from scipy.optimize import linear_sum_assignment

    a, b = (_as_text(p.assignment) for p in (plan_a, plan_b))
    common = a.index.intersection(b.index)
    hh = pd.to_numeric(households.set_axis(households.index.astype(str)).reindex(common), errors="coerce").fillna(0).astype(int)
    overlap = hh.groupby([a[common].to_numpy(), b[common].to_numpy()]).sum().unstack(fill_value=0)
    rows, cols = linear_sum_assignment(overlap.to_numpy(), maximize=True)
    pairs, shared = {}, {}
    for r, c in zip(rows, cols, strict=True):
        if overlap.iat[r, c] > 0:
            pairs[str(overlap.columns[c])] = str(overlap.index[r])
            shared[str(overlap.columns[c])] = int(overlap.iat[r, c])
    partner = b[common].map(pairs)
    moved = common[(partner != a[common]) | partner.isna()]
    return PlanComparison(pairs, shared, tuple(sorted(moved)), int(hh[moved].sum()))


def _as_text(assignment: pd.Series) -> pd.Series:
    return pd.Series(assignment.astype(str).to_numpy(), index=assignment.index.astype(str))


def _households(blocks) -> pd.Series:
    frame = getattr(blocks, "blocks", blocks)
    if "block_id" in frame.columns:
        frame = frame.set_index("block_id")
    return frame["households"].set_axis(frame.index.astype(str))


def plan_name(source, default: str) -> str:
    """A plan's name for people: its scenario name, else its output folder's name, else ``default``."""
    name = source.plan.problem.get("name")
    if name:
        return str(name)
    path = getattr(source, "path", None)
    return Path(path).resolve().name if path else default


def compare_page(a, b, *, names: tuple[str, str] | None = None, lang: str = "zh", **kwargs):
    """The comparison page of two plans (a :class:`~redistrict.maps.ComparisonMap`): matched
    colours, moved blocks highlighted and counted, each plan with its own offices, both maps on
    the same extent, and a figures table below the maps.

    ``a``/``b``: anything with ``plan``, ``blocks``, ``offices`` and ``barriers`` (an output
    folder read with ``export.load_plan_dir``, or a :class:`ScenarioResult`).  ``kwargs`` go to
    :func:`redistrict.maps.compare_map` (``basemap``, ``layout``, ``current``, …).
    """
    from .maps import MapData, compare_map

    if names is None:
        names = (plan_name(a, "A"), plan_name(b, "B"))
        if names[0] == names[1]:
            names = (f"{names[0]} (A)", f"{names[1]} (B)")
    result = compare_plans(a.plan, b.plan, _households(a.blocks))
    colours_a = MapData(a.plan, a.blocks, None, None, lang).colours
    panel = figures_html(a, b, result, names=names, colours_a=colours_a, lang=lang)
    kwargs.setdefault("barriers", a.barriers)
    return compare_map(
        a.plan, b.plan, a.blocks, blocks_b=b.blocks, offices=a.offices, offices_b=b.offices, titles=names, lang=lang,
        pairs=result.pairs, moved=set(result.moved_blocks), panel=panel, **kwargs,
    )


def figures_html(a, b, result: PlanComparison, *, names: tuple[str, str], colours_a: dict, lang: str = "zh") -> str:
    """The panel under the two maps: the key figures of each plan, what changed between them,
    and the unit pairs with their shared households (escaped HTML)."""
    from .maps import esc
    from .maps import matched_colours as colour_b

    t = words(lang, "compare")
    rows_a, rows_b = plan_row(a.plan, a.blocks), plan_row(b.plan, b.blocks)
    cells = [_figure_cells(plan, row, lang) for plan, row in ((a.plan, rows_a), (b.plan, rows_b))]
    head = f"<tr><th>{esc(t['figure'])}</th><th>{esc(names[0])}</th><th>{esc(names[1])}</th></tr>"
    body = "".join(f"<tr><th>{esc(t[key])}</th><td class='n'>{esc(cells[0][key])}</td><td class='n'>{esc(cells[1][key])}</td></tr>" for key in cells[0])
    moved = t["blocks_moved"].format(blocks=len(result.moved_blocks), households=result.moved_households)
    body += f"<tr class='rd-moved-row'><th>{esc(t['between'])}</th><td colspan='2' class='rd-moved-count'>{esc(moved)}</td></tr>"
    units_b = [str(u) for u in b.plan.units["unit_id"]]
    colours_b = colour_b(colours_a, units_b, result.pairs)
    pair_rows = "".join(_pair_row(a.plan, b.plan, ub, result, colours_b[ub], t) for ub in units_b)
    pairs = f"<table class='rd-pairs'><tr><th>{esc(names[0])}</th><th>{esc(names[1])}</th><th>{esc(t['share'])}</th></tr>{pair_rows}</table>"
    return f"<h2>{esc(t['title'])}</h2><p>{esc(t['matched'])}</p><table class='rd-figures'>{head}{body}</table>{pairs}"


def _figure_cells(plan, row: dict, lang: str) -> dict[str, str]:
    gap = "—" if plan.gap is None else f"{plan.gap:.2%}"
    pp = row.get("mean_polsby_popper")
    return {
        "units": f"{row['units']:,}",
        "range": f"{row['households_min']:,}–{row['households_max']:,}",
        "out_of_bounds": f"{row['out_of_bounds']:,}",
        "compactness": "—" if pp is None else f"{pp:.3f}",
        "households_moved": format_value(row.get("households_moved")),
        "funding": f"¥{row['funding_yuan']:,}",
        "status": status_word(lang, plan.status),
        "gap": gap,
    }


def _pair_row(plan_a, plan_b, unit_b: str, result: PlanComparison, colour: str, t: dict) -> str:
    from .maps import esc

    names_a = dict(zip(plan_a.units["unit_id"].astype(str), plan_a.units["name"], strict=True))
    names_b = dict(zip(plan_b.units["unit_id"].astype(str), plan_b.units["name"], strict=True))
    swatch = f"<span class='sw' style='background:{colour}'></span>"
    unit_a = result.pairs.get(unit_b)
    left = f"{swatch} {esc(names_a[unit_a])} ({esc(unit_a)})" if unit_a else esc(t["unmatched"])
    right = f"{swatch} {esc(names_b[unit_b])} ({esc(unit_b)})"
    return f"<tr data-a='{esc(unit_a or '')}' data-b='{esc(unit_b)}' data-colour='{colour}'><td>{left}</td><td>{right}</td><td class='n'>{result.shared.get(unit_b, 0):,}</td></tr>"


def result_html(result: ScenarioResult) -> str:
    """The notebook view of a result (``ScenarioResult._repr_html_``): status, message, the
    figures and the unit table with labels in the scenario's language, and the map."""
    import html

    lang = result.scenario.lang
    cols = words(lang, "columns")
    e = html.escape
    rows = "".join(
        f"<tr><th style='text-align:left'>{e(cols.get(k, k))}</th><td>{e(format_value(v))}</td></tr>"
        for k, v in result.summary().items() if v is not None and k not in ("scenario", "status", "message")
    )
    head = f"<h4>{e(result.name)} — {e(status_word(lang, result.status))}</h4>"
    message = "" if result.plan is None else f"<p>{e(result.plan.message)}</p>"
    table = f"<table>{rows}</table>"
    if not result.ok:
        return head + message + table
    keys = ["unit_id", "name", "households", "blocks", "office_name", "mean_distance_m", "within_bounds"]
    units = result.plan.units[keys].copy()
    units["within_bounds"] = units["within_bounds"].map(lambda ok: cols["yes"] if ok else cols["no"])
    units.columns = [cols[k] for k in keys]
    return (
        f"<div>{head}{message}<div style='display:flex;gap:1em;align-items:flex-start'>"
        f"<div>{table}</div><div>{units.to_html(index=False, escape=True)}</div></div>"
        f"<div style='margin-top:0.5em'>{result.map()._repr_html_()}</div></div>"
    )


def side_by_side(a: ScenarioResult, b: ScenarioResult, **kwargs):
    """Two results on synchronised maps with matched colours, moved blocks and a figures table
    (a folium ``DualMap``; ``_repr_html_`` shows it in Jupyter)."""
    for r in (a, b):
        if not r.ok:
            raise InputError(f"Scenario '{r.name}' has no plan to draw ({r.status}).")
    names = kwargs.pop("titles", (a.name, b.name))
    kwargs.setdefault("lang", a.scenario.lang)
    return compare_page(a, b, names=names, **kwargs)


__all__ = ["COLUMNS", "COLUMNS_ZH", "PlanComparison", "compare", "compare_page", "compare_plans", "figures_html", "plan_name", "plan_row", "result_html", "format_value", "households_per_unit", "plot_households", "side_by_side", "summarize"]
