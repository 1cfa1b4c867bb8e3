"""The independent verifier: a second opinion on any plan, drawn by the solver or by hand.

It needs only the graph (built from the blocks) and a block→unit table, and shares no code with
the solver: households are summed from the graph's node data, contiguity is checked with
networkx on the original adjacency graph.  A plan that fails here is never written as a success.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx
import pandas as pd

from .validate import format_ids


@dataclass(frozen=True)
class Violation:
    """One way a plan breaks the rules, with the unit and blocks involved."""

    kind: str
    message: str
    unit: str | None = None
    block_ids: tuple = ()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "unit": self.unit, "block_ids": list(self.block_ids), "message": self.message}


@dataclass
class VerificationReport:
    """Every violation found (empty when the plan is valid), and the per-unit household totals."""

    violations: list[Violation] = field(default_factory=list)
    unit_households: dict[str, int] = field(default_factory=dict)
    lower: int | None = None
    upper: int | None = None
    bounds_relaxed: bool = False
    #: units outside the bounds in a plan verified with ``bounds_relaxed=True`` (stated, not errors)
    relaxed_units: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def of_kind(self, kind: str) -> list[Violation]:
        return [v for v in self.violations if v.kind == kind]

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "bounds": {"min": self.lower, "max": self.upper, "relaxed": self.bounds_relaxed},
            "unit_households": self.unit_households,
            "violations": [v.to_dict() for v in self.violations],
            "relaxed_units": [v.to_dict() for v in self.relaxed_units],
        }

    def summary(self) -> str:
        if self.ok:
            return f"valid: {len(self.unit_households)} units, every block in exactly one contiguous unit, households within bounds"
        return "\n".join(f"- {v.message}" for v in self.violations)


def _as_pairs(assignment) -> pd.DataFrame:
    if isinstance(assignment, pd.DataFrame):
        frame = assignment.iloc[:, :2].copy()
        frame.columns = ["block_id", "unit"]
    elif isinstance(assignment, pd.Series):
        frame = pd.DataFrame({"block_id": assignment.index, "unit": assignment.to_numpy()})
    elif isinstance(assignment, Mapping):
        frame = pd.DataFrame({"block_id": list(assignment.keys()), "unit": list(assignment.values())})
    else:
        frame = pd.DataFrame(list(assignment), columns=["block_id", "unit"])
    return frame.astype({"block_id": str}).assign(unit=lambda f: f["unit"].map(lambda u: None if pd.isna(u) or str(u).strip() == "" else str(u)))


def verify_plan(
    graph: nx.Graph,
    assignment,
    *,
    lower: int | None = None,
    upper: int | None = None,
    k: int | None = None,
    bounds_relaxed: bool = False,
    weight: str = "households",
) -> VerificationReport:
    """Check a plan against the graph.

    ``assignment`` is a block→unit mapping, Series, DataFrame (first two columns) or iterable of
    pairs; pairs may repeat a block (a doubly assigned block is a violation, not an overwrite).
    With ``bounds_relaxed`` the units outside ``[lower, upper]`` are listed as ``out_of_bounds``
    violations of kind ``relaxed_bounds`` and do not make the plan invalid.
    """
    pairs = _as_pairs(assignment)
    report = VerificationReport(lower=lower, upper=upper, bounds_relaxed=bounds_relaxed)
    add = report.violations.append
    nodes = set(graph.nodes)

    unknown = sorted(set(pairs["block_id"]) - nodes)
    if unknown:
        add(Violation("unknown_block", f"{len(unknown)} id(s) in the plan are not blocks of the layer: {format_ids(unknown)}.", block_ids=tuple(unknown)))
    unassigned_rows = pairs[pairs["unit"].isna()]
    pairs = pairs[pairs["unit"].notna() & pairs["block_id"].isin(nodes)]
    counts = pairs.drop_duplicates().groupby("block_id")["unit"].nunique()
    doubled = sorted(counts.index[counts > 1])
    if doubled:
        detail = "; ".join(f"{b} → {', '.join(sorted(pairs.loc[pairs['block_id'] == b, 'unit'].unique()))}" for b in doubled[:5])
        add(Violation("multiply_assigned", f"{len(doubled)} block(s) are assigned to more than one unit: {detail}.", block_ids=tuple(doubled)))
    missing = sorted(nodes - set(pairs["block_id"]))
    if missing:
        blank = " (some with an empty unit)" if len(unassigned_rows) else ""
        add(Violation("unassigned", f"{len(missing)} block(s) are in no unit{blank}: {format_ids(missing)}.", block_ids=tuple(missing)))

    single = pairs.drop_duplicates("block_id", keep="first")
    members = single.groupby("unit")["block_id"].apply(list).to_dict()
    for unit in sorted(members, key=str):
        blocks = members[unit]
        total = int(sum(graph.nodes[b][weight] for b in blocks))
        report.unit_households[unit] = total
        pieces = sorted(nx.connected_components(graph.subgraph(blocks)), key=lambda c: (-len(c), min(c)))
        if len(pieces) > 1:
            desc = "; ".join(f"{{{format_ids(sorted(p), 4)}}}" for p in pieces)
            add(Violation("not_contiguous", f"Unit {unit} is in {len(pieces)} pieces: {desc}.", unit=unit, block_ids=tuple(b for p in pieces[1:] for b in sorted(p))))
        outside = (lower is not None and total < lower) or (upper is not None and total > upper)
        if outside:
            side = f"below the minimum {lower:,}" if lower is not None and total < lower else f"above the maximum {upper:,}"
            kind = "relaxed_bounds" if bounds_relaxed else "out_of_bounds"
            violation = Violation(kind, f"Unit {unit} has {total:,} households, {side}.", unit=unit)
            (report.relaxed_units.append if bounds_relaxed else add)(violation)

    # Conservation: every household of the layer is in exactly one unit.
    layer_total = int(sum(d[weight] for _, d in graph.nodes(data=True)))
    plan_total = sum(report.unit_households.values())
    if not missing and not doubled and plan_total != layer_total:
        add(Violation("households_not_conserved", f"Units hold {plan_total:,} households but the layer has {layer_total:,}."))
    if k is not None and len(members) != k:
        add(Violation("unit_count", f"The plan has {len(members)} units; {k} were asked for."))
    return report

