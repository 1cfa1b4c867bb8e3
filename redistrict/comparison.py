"""Comparing scenario results: one row of figures per scenario, a chart, and two plans side by side.

The figures are recomputed from each plan (assignment, graph figures and block geometry), never
read back from the solver, so a hand-drawn plan and an engine plan compare on the same footing.
"""

from __future__ import annotations

import pandas as pd

from .errors import InputError
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


def plot_households(data: list[ScenarioResult] | pd.DataFrame, ax=None):
    """Households of every unit, one column of dots per scenario, with each scenario's bounds.

    ``data``: results, or the table of :func:`households_per_unit` (what a sweep keeps).
    """
    import matplotlib.pyplot as plt

    frame = data if isinstance(data, pd.DataFrame) else households_per_unit(data)
    names = list(dict.fromkeys(frame["scenario"]))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 + 1.3 * max(1, len(names)), 4))
    for i, name in enumerate(names):
        rows = frame[frame["scenario"] == name]
        first = rows.iloc[0]
        ax.hlines([first["lower"], first["upper"]], i - 0.35, i + 0.35, colors="#999999", linestyles="dashed", linewidth=1)
        units = rows[rows["households"].notna()]
        if len(units):
            colours = ["#2b8cbe" if ok else "#d7301f" for ok in units["within_bounds"]]
            offsets = [((j % 5) - 2) * 0.06 for j in range(len(units))]
            ax.scatter([i + o for o in offsets], units["households"].astype(float), c=colours, s=28, zorder=3)
        else:
            ax.text(i, first["lower"], str(first["status"]), ha="center", va="bottom", fontsize=8, color="#d7301f")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel("households per unit")
    ax.set_title("Unit sizes by scenario (dashed: bounds; red: outside them)")
    ax.grid(axis="y", alpha=0.3)
    return ax


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
