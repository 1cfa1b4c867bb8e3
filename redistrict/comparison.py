"""Comparing scenario results: one row of figures per scenario, a chart, and two plans side by side.

The figures are recomputed from each plan (assignment, graph figures and block geometry), never
read back from the solver, so a hand-drawn plan and an engine plan compare on the same footing.
"""

from __future__ import annotations

import pandas as pd

from .charts import cjk_font, use_font
from .errors import InputError
from .labels import status_word, words
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
    from .report import committee_funding

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
    units = plan.units
    hh = units["households"].astype(int)
    total = int(hh.sum())
    row.update(
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
    if result.blocks is not None:
        row["mean_polsby_popper"] = _mean_polsby_popper(plan, result.blocks)
    return row


def _mean_polsby_popper(plan, blocks) -> float | None:
    from .outputs import plan_layers
    from .report import compactness

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


def side_by_side(a: ScenarioResult, b: ScenarioResult, **kwargs):
    """Two results on synchronised maps (a folium ``DualMap``; ``_repr_html_`` shows it in Jupyter)."""
    from .maps import compare_map

    for r in (a, b):
        if not r.ok:
            raise InputError(f"Scenario '{r.name}' has no plan to draw ({r.status}).")
    kwargs.setdefault("titles", (a.name, b.name))
    kwargs.setdefault("offices", a.offices)
    kwargs.setdefault("barriers", a.barriers)
    kwargs.setdefault("lang", a.scenario.lang)
    return compare_map(a.plan, b.plan, a.blocks, blocks_b=b.blocks, **kwargs)



__all__ = ["COLUMNS", "compare", "format_value", "households_per_unit", "plot_households", "side_by_side", "summarize"]
