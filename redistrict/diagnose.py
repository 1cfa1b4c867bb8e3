"""Why a layer or a problem may have no plan, said in words and numbers before anything is solved.

``check_layer`` is what ``redistrict check`` prints: totals, each community's households against
the bounds (and whether *any* number of units could fit them), graph components and validation
findings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from .forced import ForcedGroup, forced_groups, forced_households, heaviest_group_in
from .graph import GraphDiagnostics, diagnose_graph
from .io import BlockLayer
from .problem import (
    explain_bounds,
    feasible_unit_counts,
    forced_cap,
    graph_pieces,
    piece_label,
    unit_count_options,
    unit_count_range,
    within_subdistricts,
)
from .validate import ERROR, Finding

#: How many separate pieces a message describes one by one.
_SHOWN_PIECES = 5


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
    #: the separate pieces a whole-layer run solves apart (subdistrict lines cut), with unit ranges
    pieces: list[dict] = field(default_factory=list)

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
            "pieces": self.pieces,
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
        pieces = [set(c["block_ids"]) for c in comps]
        detail = "; ".join(
            f"{c['blocks']} block(s), {c['households']:,} households ({', '.join(c['block_ids'][:4])}{'…' if c['blocks'] > 4 else ''}{_communities_of(graph, c['block_ids'])})"
            for c in comps[:_SHOWN_PIECES]
        )
        more = f" and {len(comps) - _SHOWN_PIECES} more" if len(comps) > _SHOWN_PIECES else ""
        links = [piece_link(blocks, graph, pieces, i) for i in range(1, min(len(pieces), _SHOWN_PIECES))]
        joins = "; ".join(link for link in links if link)
        findings.append(
            Finding(
                "graph_components",
                "warning",
                f"The adjacency graph has {len(comps)} separate pieces: {detail}{more}. Units cannot "
                "span pieces; if blocks across a road should be neighbours, raise --snap, or add "
                "edges with --overrides (a CSV block_a,block_b,action)."
                + (f" To join them: {joins}." if joins else ""),
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
        pieces=piece_checks(within_subdistricts(graph), lower, upper),
    )


def piece_checks(graph: nx.Graph, lower: int, upper: int) -> list[dict]:
    """Each separate piece of the graph with the fewest and most units it can hold, by count and
    by its forced groups (:mod:`redistrict.forced`), which can lower the most."""
    groups = forced_groups(graph, lower)
    forced = forced_households(graph, groups)
    rows = []
    for piece in graph_pieces(graph):
        total = int(sum(graph.nodes[b]["households"] for b in piece))
        group = heaviest_group_in(groups, set(piece))
        rng = unit_count_range(total, lower, upper, len(piece), max(forced[b] for b in piece))
        capped = group is not None and rng != unit_count_range(total, lower, upper, len(piece))
        rows.append({
            "piece": piece_label(graph, piece), "blocks": len(piece), "households": total,
            "fewest_units": None if rng is None else rng[0], "most_units": None if rng is None else rng[1],
            "forced": group.explain(lower) if capped else None,
        })
    return rows


def _communities_of(graph: nx.Graph, ids) -> str:
    names = sorted({str(graph.nodes[b].get("community")) for b in ids if graph.nodes[b].get("community") is not None})
    if not names:
        return ""
    shown = ", ".join(names[:4]) + ("…" if len(names) > 4 else "")
    return f"; communit{'y' if len(names) == 1 else 'ies'} {shown}"


def piece_link(blocks: gpd.GeoDataFrame | None, graph: nx.Graph, pieces: list[set], index: int) -> str | None:
    """How piece ``index`` could join another: its nearest block pair, the gap and the fix.

    ``blocks`` are the blocks in a metric CRS indexed by block id (None: no geometry, no hint).
    """
    if blocks is None or len(pieces) < 2:
        return None
    own = [b for b in sorted(pieces[index]) if b in blocks.index]
    others = [b for j, piece in enumerate(pieces) if j != index for b in sorted(piece) if b in blocks.index]
    if not own or not others:
        return None
    other_geoms = blocks.geometry.loc[others].values
    tree = shapely.STRtree(other_geoms)
    (own_pos, other_pos), dist = tree.query_nearest(blocks.geometry.loc[own].values, return_distance=True, all_matches=False)
    best = int(np.argmin(dist))
    a, b, gap = own[own_pos[best]], others[other_pos[best]], float(dist[best])
    snap = graph.graph.get("snap")
    line = f"'{a},{b},add'"
    if snap is not None and gap <= snap:
        frontage = graph.graph.get("min_frontage")
        frontage_text = f" shorter than --min-frontage {frontage:g} m" if frontage is not None else ""
        return (
            f"{a} and {b} are only {gap:,.0f} m apart but no edge joins them (a barrier, a facing "
            f"boundary{frontage_text} or an override removed it); if they are neighbours, add the "
            f"line {line} to an --overrides CSV"
        )
    snap_text = f" (more than --snap {snap:g})" if snap is not None else ""
    return (
        f"the nearest blocks, {a} and {b}, are {gap:,.0f} m apart{snap_text}; raise --snap to "
        f"{math.ceil(gap) + 1} if that gap is a road, or add the line {line} to an --overrides CSV"
    )


# --- why a problem has no plan ------------------------------------------------------------------


@dataclass
class Reason:
    """One reason a problem has no plan within the bounds."""

    kind: str
    message: str
    block_ids: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "block_ids": [str(b) for b in self.block_ids]}


@dataclass
class Diagnosis:
    """Why a problem is infeasible, and what a planner can do about it."""

    reasons: list[Reason] = field(default_factory=list)
    options: list[dict] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    proved_by_solver: bool = False

    @property
    def feasible_so_far(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict:
        return {
            "infeasible": bool(self.reasons),
            "proved_by_solver": self.proved_by_solver,
            "reasons": [r.to_dict() for r in self.reasons],
            "nearest_bounds": self.options,
            "suggestions": self.suggestions,
        }

    def summary(self) -> str:
        lines = [f"- {r.message}" for r in self.reasons]
        lines += [f"  → {s}" for s in self.suggestions]
        return "\n".join(lines)


def _distribution_message(graph: nx.Graph, pieces: list, totals: list[int], ranges: list, k: int, k_min: int, k_max: int) -> str:
    """Why no distribution of k units over the pieces fits, naming the pieces that limit it."""
    side = "most" if k > k_max else "fewest"
    limits = [f"{piece_label(graph, c)} ({t:,} households: {r[0]}–{r[1]} units)" for c, t, r in zip(pieces, totals, ranges, strict=True)]
    shown = "; ".join(limits[:8]) + (f"; and {len(limits) - 8} more" if len(limits) > 8 else "")
    fix = f"--k {k_max}" if k > k_max else f"--k {k_min}"
    return (
        f"The graph has {len(pieces)} separate pieces (units never cross between them) that can hold between {k_min} and {k_max} units in total, "
        f"not {k}: even the {side} units each piece can hold do not add up to {k}. Per piece: {shown}. Use {fix}, or leave --k out for the fewest that fit."
    )


def diagnose_problem(problem) -> Diagnosis:
    """Reasons, in words and numbers, that the problem cannot have a plan within its bounds.

    Checks the arithmetic of the total and of every graph piece, single blocks above the maximum,
    blocks forced into one unit (:mod:`redistrict.forced`), locks, and office sites.  An empty diagnosis does not prove a plan exists (the solver decides
    contiguity); a non-empty one proves none does.
    """
    total = problem.total_households
    diagnosis = Diagnosis(options=[o.to_dict() for o in unit_count_options(total, problem.lower, problem.upper)])
    pieces = sorted(nx.connected_components(problem.graph), key=lambda c: (-len(c), min(c)))
    totals = [int(sum(problem.graph.nodes[n]["households"] for n in c)) for c in pieces]
    groups = problem.forced_groups
    forced = forced_households(problem.graph, groups)
    heaviest = [heaviest_group_in(groups, c) for c in pieces]
    ranges = [unit_count_range(t, problem.lower, problem.upper, len(c), max(forced[b] for b in c)) for t, c in zip(totals, pieces, strict=True)]
    for reasons in (
        _count_reasons(problem, total),
        _block_reasons(problem),
        _forced_reasons(problem, groups, pieces, totals, heaviest),
        _piece_reasons(problem, pieces, totals, ranges, heaviest),
        _lock_reasons(problem),
        _office_reasons(problem, pieces, ranges),
    ):
        diagnosis.reasons.extend(reasons)
    if diagnosis.reasons and not feasible_unit_counts(total, problem.lower, problem.upper):
        for o in diagnosis.options:
            diagnosis.suggestions.append(f"bounds {o['min']:,}–{o['max']:,} would allow {o['k']} unit(s) (average {o['average']:,.0f})")
    return diagnosis


def _count_reasons(problem, total: int) -> list[Reason]:
    """No k fits the total, or the given k does not."""
    lower, upper, k = problem.lower, problem.upper, problem.unit_count
    if k is None:
        return [Reason("bounds_arithmetic", explain_bounds(total, lower, upper, name=problem.name or "the selected blocks"))]
    if k * lower <= total <= k * upper:
        return []
    avg = total / k
    side = f"above the maximum {upper:,}" if avg > upper else f"below the minimum {lower:,}"
    fits = feasible_unit_counts(total, lower, upper)
    alt = f" k={', '.join(map(str, fits))} would fit." if fits else " " + explain_bounds(total, lower, upper)
    return [Reason("unit_count", f"{total:,} households in {k} units average {avg:,.0f}, {side}.{alt}")]


def _block_reasons(problem) -> list[Reason]:
    """Single blocks above the maximum (a block is never divided)."""
    graph, upper = problem.graph, problem.upper
    big = sorted((n for n, d in graph.nodes(data=True) if d["households"] > upper), key=str)
    if not big:
        return []
    detail = ", ".join(f"{b} ({graph.nodes[b]['households']:,})" for b in big[:8])
    largest = max(graph.nodes[b]["households"] for b in big)
    return [Reason("block_above_max", f"{len(big)} block(s) alone exceed the maximum of {upper:,} households: {detail}. A block is never divided, so no unit can hold it: raise --max to at least {largest:,}, or split the block into smaller blocks in the data (e.g. by building).", big)]


def _forced_reasons(problem, groups: list[ForcedGroup], pieces: list, totals: list[int], heaviest: list) -> list[Reason]:
    """Hanging parts that force more households into one unit than it may hold: above the
    maximum, above what the given k leaves (a single piece), or blocks locked apart."""
    lower, upper, k = problem.lower, problem.upper, problem.unit_count
    reasons = []
    for group in groups:
        if group.households > upper:
            reasons.append(Reason("forced_group", f"{_capital(group.explain(lower))}, above the maximum {upper:,}. No plan within the bounds exists: raise --max to at least {group.households:,}, lower --min to at most {group.gates[0].households:,}, or connect these blocks to other neighbours (--snap, --overrides).", list(group.blocks)))
        labels = sorted({problem.locks[b] for b in group.blocks if b in problem.locks})
        if len(labels) > 1:
            reasons.append(Reason("locks", f"{_capital(group.explain(lower))}; yet they are locked to different units ({', '.join(labels)}).", list(group.blocks)))
    if k is not None and len(pieces) == 1 and heaviest[0] is not None and heaviest[0].households <= upper:
        group, total = heaviest[0], totals[0]
        cap = total - (k - 1) * lower
        if group.households > cap:
            most = forced_cap(total, lower, group.households)
            fewest = unit_count_range(total, lower, upper)
            fix = f"use --k {most} or fewer" if fewest is not None and fewest[0] <= most else "no number of units fits the bounds; widen them"
            reasons.append(Reason("forced_group", f"{_capital(group.explain(lower))}; with {k} units the other {k - 1} need {lower:,} each, so no unit can hold more than {cap:,} ({total:,} − {k - 1} × {lower:,}): {fix}.", list(group.blocks)))
    return reasons


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _piece_reasons(problem, pieces: list, totals: list[int], ranges: list, heaviest: list) -> list[Reason]:
    """Separate pieces of the graph that fit no unit count, or a k no distribution fits."""
    if len(pieces) < 2:
        return []
    graph, lower, upper, k = problem.graph, problem.lower, problem.upper, problem.unit_count
    reasons = []
    piece_sets = [set(c) for c in pieces]
    hinted = 0
    for index, (comp, comp_total, rng, group) in enumerate(zip(pieces, totals, ranges, heaviest, strict=True)):
        if rng is not None:
            continue
        ids = sorted(comp, key=str)
        hinted += 1
        link = piece_link(problem.blocks, graph, piece_sets, index) if hinted <= _SHOWN_PIECES else None
        fix = f" To join it: {link}." if link else " Check --snap, barriers and overrides."
        if comp_total == 0:
            what = "holds no households, yet its blocks must join some unit, which would then be empty"
        elif unit_count_range(comp_total, lower, upper, len(comp)) is not None and group is not None:
            what = f"holds {comp_total:,} households, but {group.explain(lower)}, which leaves the other units too little"
        else:
            what = f"holds {comp_total:,} households, which no number of units of {lower:,}–{upper:,} can hold"
        reasons.append(Reason("component_fits_no_k", f"A separate piece of the graph ({len(comp)} block(s): {', '.join(ids[:5])}{'…' if len(ids) > 5 else ''}{_communities_of(graph, ids)}) {what}; units cannot cross between pieces.{fix}", ids))
    if k is not None and all(r is not None for r in ranges):
        k_min, k_max = sum(r[0] for r in ranges), sum(r[1] for r in ranges)
        if not k_min <= k <= k_max:
            reasons.append(Reason("components_unit_count", _distribution_message(graph, pieces, totals, ranges, k, k_min, k_max)))
    return reasons


def _lock_reasons(problem) -> list[Reason]:
    """More lock labels than units, or locked blocks already above the maximum."""
    graph, k = problem.graph, problem.unit_count
    labels = sorted(set(problem.locks.values()))
    reasons = []
    if k is not None and len(labels) > k:
        reasons.append(Reason("locks", f"Locks name {len(labels)} different units but the plan has only {k}."))
    for unit_label in labels:
        locked = [b for b, u in problem.locks.items() if u == unit_label]
        hh = sum(graph.nodes[b]["households"] for b in locked)
        if hh > problem.upper:
            reasons.append(Reason("locks", f"Blocks locked to unit {unit_label} already hold {hh:,} households, above the maximum {problem.upper:,}.", locked))
    return reasons


def _office_reasons(problem, pieces: list, ranges: list) -> list[Reason]:
    """Fewer qualifying office sites than units, overall or in a separate piece."""
    if problem.offices is None:
        return []
    k = problem.unit_count
    site_blocks = set(problem.offices["block_id"])
    reasons = []
    if k is not None and len(site_blocks) < k:
        reasons.append(Reason("offices", f"Only {len(site_blocks)} block(s) hold an office site of at least {problem.min_office_area:,.0f} m², but {k} units each need one. Add candidate sites or lower --min-office-area."))
    if len(pieces) > 1:
        for comp, rng in zip(pieces, ranges, strict=True):
            have = len(site_blocks & set(comp))
            if rng is not None and have < rng[0]:
                reasons.append(Reason("offices", f"A separate piece of the graph ({len(comp)} blocks) needs {rng[0]} unit(s) but holds {have} qualifying office site(s).", sorted(comp, key=str)))
    return reasons
