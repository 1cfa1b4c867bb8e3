"""Why a layer or a problem may have no plan, said in words and numbers before anything is solved.

``check_layer`` is what ``redistrict check`` prints: totals, each community's households against
the bounds (and whether *any* number of units could fit them), graph components and validation
findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import pandas as pd

from .graph import GraphDiagnostics, diagnose_graph
from .io import BlockLayer
from .problem import explain_bounds, feasible_unit_counts, unit_count_options
from .validate import ERROR, Finding


@dataclass
class GroupCheck:
    """One community (or subdistrict) against the bounds."""

    name: str
    level: str
    blocks: int
    households: int
    population: int | None
    within_bounds: bool
    feasible_k: list[int]
    options: list[dict]
    explanation: str
    pieces: int
    subdistrict: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class CheckReport:
    """The result of checking a layer: usable or not, and everything a planner should know first."""

    source: str | None
    crs: str
    metric_crs: str
    lower: int
    upper: int
    blocks: int
    households: int
    population: int | None
    communities: list[GroupCheck]
    subdistricts: list[GroupCheck]
    graph: GraphDiagnostics
    findings: list[Finding] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "usable": self.usable,
            "crs": self.crs,
            "metric_crs": self.metric_crs,
            "bounds": {"min": self.lower, "max": self.upper},
            "blocks": self.blocks,
            "households": self.households,
            "population": self.population,
            "communities": [c.to_dict() for c in self.communities],
            "subdistricts": [s.to_dict() for s in self.subdistricts],
            "graph": self.graph.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
        }


def _population(values: pd.Series) -> int | None:
    if values.isna().all():
        return None
    return int(values.sum(skipna=True))


def check_group(name: str, level: str, members: pd.DataFrame, graph: nx.Graph, lower: int, upper: int) -> GroupCheck:
    """Households of one group against the bounds, and in how many graph pieces its blocks lie."""
    total = int(members["households"].sum())
    ids = [str(i) for i in members.index]
    pieces = nx.number_connected_components(graph.subgraph(ids)) if ids else 0
    subdistricts = members["subdistrict"].dropna().unique() if "subdistrict" in members else []
    return GroupCheck(
        name=name,
        level=level,
        blocks=len(members),
        households=total,
        population=_population(members["population"]),
        within_bounds=lower <= total <= upper,
        feasible_k=feasible_unit_counts(total, lower, upper),
        options=[o.to_dict() for o in unit_count_options(total, lower, upper)],
        explanation=explain_bounds(total, lower, upper, name=name),
        pieces=pieces,
        subdistrict=str(subdistricts[0]) if len(subdistricts) == 1 and level == "community" else None,
    )


def check_layer(layer: BlockLayer, graph: nx.Graph, *, lower: int, upper: int) -> CheckReport:
    """Everything ``redistrict check`` reports about a layer and its graph."""
    blocks = layer.blocks
    groups = {}
    for level, column in (("community", "community"), ("subdistrict", "subdistrict")):
        rows = []
        if column in blocks and blocks[column].notna().any():
            for name, members in blocks.groupby(column, sort=True):
                rows.append(check_group(str(name), level, members, graph, lower, upper))
        groups[level] = rows
    findings = list(layer.findings)
    diagnostics = diagnose_graph(graph, max_households=upper)
    if not diagnostics.connected:
        comps = diagnostics.components
        detail = "; ".join(
            f"{c['blocks']} block(s), {c['households']:,} households ({', '.join(c['block_ids'][:4])}{'…' if c['blocks'] > 4 else ''})"
            for c in comps[:5]
        )
        findings.append(
            Finding(
                "graph_components",
                "warning",
                f"The adjacency graph has {len(comps)} separate pieces: {detail}. Units cannot span "
                "pieces; if blocks across a road should be neighbours, raise --snap, or add edges "
                "with --overrides.",
                tuple(b for c in comps[1:] for b in c["block_ids"]),
            )
        )
    if diagnostics.oversize_blocks:
        ids = [b["block_id"] for b in diagnostics.oversize_blocks]
        findings.append(
            Finding(
                "block_above_max",
                "warning",
                f"{len(ids)} block(s) alone hold more than {upper:,} households: "
                + ", ".join(f"{b['block_id']} ({b['households']:,})" for b in diagnostics.oversize_blocks[:8])
                + ". No plan within the bounds can contain them; raise --max or split the block in the data.",
                tuple(ids),
            )
        )
    return CheckReport(
        source=layer.source,
        crs=layer.source_crs.to_string(),
        metric_crs=blocks.crs.to_string(),
        lower=lower,
        upper=upper,
        blocks=len(blocks),
        households=int(blocks["households"].sum()),
        population=_population(blocks["population"]),
        communities=groups["community"],
        subdistricts=groups["subdistrict"],
        graph=diagnostics,
        findings=findings,
    )
