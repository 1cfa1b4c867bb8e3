"""The districting problem and its arithmetic: which unit counts fit, and the nearest bounds that do.

A total of T households can be cut into k units within [lower, upper] only if
k·lower ≤ T ≤ k·upper.  This is necessary, not sufficient (blocks come in lumps and units must
be contiguous), which is why the solver still has the last word; but when no k passes it, no plan
exists and the planner deserves to hear so, with numbers, before anything is solved.
"""

from __future__ import annotations

import difflib
import math
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from . import options as defaults
from .errors import InputError, RedistrictWarning
from .forced import ForcedGroup, forced_groups, forced_households
from .validate import WARNING, Finding, format_ids

DEFAULT_MIN_HOUSEHOLDS = defaults.MIN_HOUSEHOLDS
DEFAULT_MAX_HOUSEHOLDS = defaults.MAX_HOUSEHOLDS


def check_bounds(lower: int, upper: int) -> None:
    """Bounds must be positive whole numbers with ``lower ≤ upper``."""
    if lower < 0 or upper <= 0:
        raise InputError(f"Household bounds must be positive; got min {lower:,}, max {upper:,}.")
    if lower > upper:
        raise InputError(f"The minimum ({lower:,}) is above the maximum ({upper:,}) households per unit; swap them.")


def feasible_unit_counts(total: int, lower: int, upper: int) -> list[int]:
    """Every k with ``k·lower ≤ total ≤ k·upper`` (empty when none fits)."""
    check_bounds(lower, upper)
    if total <= 0:
        return []
    k_min = max(1, math.ceil(total / upper))
    k_max = total // lower if lower > 0 else k_min
    return list(range(k_min, k_max + 1))


@dataclass(frozen=True)
class UnitCountOption:
    """What k units of a given total would look like, and the bounds that would admit them."""

    k: int
    average: float
    fits: bool
    #: the smallest change of bounds that lets k units work (only one side moves)
    min_needed: int
    max_needed: int

    def to_dict(self) -> dict:
        return {"k": self.k, "average": round(self.average, 1), "fits": self.fits, "min": self.min_needed, "max": self.max_needed}


def unit_count_options(total: int, lower: int, upper: int) -> list[UnitCountOption]:
    """The k that fit, or, when none does, the two k on either side of the gap with the bounds they need."""
    check_bounds(lower, upper)
    fitting = feasible_unit_counts(total, lower, upper)
    if fitting:
        return [UnitCountOption(k, total / k, True, lower, upper) for k in fitting]
    if total <= 0:
        return []
    options = []
    k_over = total // upper  # fewer units: each above the maximum
    if k_over >= 1:
        options.append(UnitCountOption(k_over, total / k_over, False, lower, math.ceil(total / k_over)))
    k_under = k_over + 1  # more units: each below the minimum
    options.append(UnitCountOption(k_under, total / k_under, False, min(lower, total // k_under), upper))
    return options


def explain_bounds(total: int, lower: int, upper: int, *, name: str | None = None) -> str:
    """One or two sentences on whether ``total`` households can form units within the bounds."""
    subject = f"{name} ({total:,} households)" if name else f"{total:,} households"
    options = unit_count_options(total, lower, upper)
    if total <= 0:
        return f"{subject}: no households to divide."
    if options and options[0].fits:
        ks = ", ".join(str(o.k) for o in options)
        return f"{subject} can form {ks} unit(s) of {lower:,}–{upper:,} by count (arithmetic check; contiguity is decided by the solver)."
    parts = []
    for o in options:
        avg = math.ceil(o.average) if o.average > upper else math.floor(o.average)
        parts.append(f"{o.k} unit{'s' if o.k > 1 else ''} would average {avg:,}")
    fixes = " or ".join(f"{o.min_needed:,}–{o.max_needed:,} ({o.k} unit{'s' if o.k > 1 else ''})" for o in options)
    return (
        f"{subject} cannot form units of {lower:,}–{upper:,}: {', '.join(parts)}. "
        f"Nearest bounds that work: {fixes}; or re-plan it jointly with neighbouring communities."
    )


# --- the problem specification ------------------------------------------------------------------

DEFAULT_MIN_OFFICE_AREA = defaults.MIN_OFFICE_AREA


@dataclass(frozen=True)
class Weights:
    """Objective weights; each term is in a unit a planner can read.

    - ``compactness``: households × squared distance to the unit's centre (km²);
    - ``boundary``: length of boundary between different units (km; with ``unit_edges`` every
      cut edge counts 1, the cut-edge objective of Validi & Buchanan);
    - ``stability``: households whose unit is centred in another community than their own;
    - ``distance``: households × straight-line distance to the unit's office (km).
    """

    compactness: float = defaults.W_COMPACTNESS
    boundary: float = defaults.W_BOUNDARY
    stability: float = 0.0
    distance: float = defaults.W_DISTANCE
    unit_edges: bool = False

    def __post_init__(self) -> None:
        for name in ("compactness", "boundary", "stability", "distance"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise InputError(f"Objective weight '{name}' must be a number ≥ 0, got {value}.")

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class Problem:
    """What to solve: a block graph, the household bounds, the unit count and the side constraints.

    ``graph`` nodes carry ``households``, ``x``/``y`` (metres) and optionally ``community``,
    ``subdistrict``; edges optionally ``length`` (metres of shared/facing boundary).
    ``offices`` (optional) are the qualifying office sites, one row per site, with ``site_id``,
    ``name``, ``floor_area_m2``, ``block_id`` (the block containing it) and ``x``/``y`` metres.
    ``locks`` maps block ids to a unit label (same label: same unit; different labels: different
    units); ``keep_together`` maps block ids to a group id whose blocks must stay together.

    The problem is immutable and resolved when it is made: ``k`` is the unit count asked for
    (None: choose), ``unit_count`` the count it resolves to (:func:`choose_piece_aware_count`;
    None when no count fits the bounds) and ``k_reason`` why.  ``dataclasses.replace`` makes a
    new problem that is resolved and validated again, so a derived count never sticks.
    Contradictions between the inputs (unknown blocks, keep-together groups that are split by
    locks or by the graph, locks across separate pieces) are :class:`InputError` naming the ids.
    """

    graph: nx.Graph
    lower: int = DEFAULT_MIN_HOUSEHOLDS
    upper: int = DEFAULT_MAX_HOUSEHOLDS
    k: int | None = None
    offices: pd.DataFrame | None = None
    weights: Weights = field(default_factory=Weights)
    locks: dict = field(default_factory=dict)
    keep_together: dict = field(default_factory=dict)
    name: str | None = None
    blocks: gpd.GeoDataFrame | None = None
    min_office_area: float = DEFAULT_MIN_OFFICE_AREA
    #: warnings found while building the problem (e.g. office sites outside every block)
    findings: tuple = ()
    unit_count: int | None = field(init=False)
    k_reason: str = field(init=False)

    def __post_init__(self) -> None:
        check_bounds(self.lower, self.upper)
        set_ = object.__setattr__
        set_(self, "locks", {str(b): str(u) for b, u in dict(self.locks).items()})
        set_(self, "keep_together", {str(b): str(g) for b, g in dict(self.keep_together).items()})
        set_(self, "findings", tuple(self.findings))
        if self.graph.number_of_nodes() == 0:
            raise InputError("The problem has no blocks (is the community or subdistrict name right?).")
        check_side_constraints(self.graph, self.locks, self.keep_together)
        if self.k is not None:
            check_unit_count(self.k, self.total_households, self.lower, self.upper, blocks=self.graph.number_of_nodes(), name=self.name)
            count, reason = self.k, f"k={self.k} as given"
        else:
            count, reason = choose_piece_aware_count(self.graph, self.lower, self.upper, self.forced_groups)
        set_(self, "unit_count", count)
        set_(self, "k_reason", reason)

    @cached_property
    def forced_groups(self) -> list[ForcedGroup]:
        """Blocks every plan within the bounds puts in one unit (:mod:`redistrict.forced`),
        computed once per problem (it is immutable)."""
        return forced_groups(self.graph, self.lower)

    @property
    def total_households(self) -> int:
        return int(sum(d["households"] for _, d in self.graph.nodes(data=True)))

    @property
    def n_blocks(self) -> int:
        return self.graph.number_of_nodes()

    def __repr__(self) -> str:
        label = f" {self.name}" if self.name else ""
        offices = f", {len(self.offices)} office sites" if self.offices is not None else ""
        return f"<Problem{label}: {self.n_blocks} blocks, {self.total_households:,} households, k={self.unit_count}, bounds {self.lower:,}–{self.upper:,}{offices}>"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "blocks": self.n_blocks,
            "households": self.total_households,
            "k": self.unit_count,
            "k_reason": self.k_reason,
            "bounds": {"min": self.lower, "max": self.upper},
            "weights": self.weights.to_dict(),
            "offices": None if self.offices is None else len(self.offices),
            "min_office_area": self.min_office_area if self.offices is not None else None,
            "locks": len(self.locks),
            "keep_together": len(self.keep_together),
        }

    # -- constructors --------------------------------------------------------------------------

    @classmethod
    def from_layer(
        cls,
        layer,
        graph: nx.Graph,
        *,
        communities: list[str] | None = None,
        subdistrict: str | None = None,
        lower: int = DEFAULT_MIN_HOUSEHOLDS,
        upper: int = DEFAULT_MAX_HOUSEHOLDS,
        k: int | None = None,
        offices: gpd.GeoDataFrame | None = None,
        min_office_area: float = DEFAULT_MIN_OFFICE_AREA,
        weights: Weights | None = None,
        locks: dict | None = None,
        keep_together_col: str | None = None,
        cross_subdistricts: bool = False,
    ) -> Problem:
        """The problem for some (or all) blocks of a loaded layer and its graph.

        Units never cross subdistrict lines unless ``cross_subdistricts``: edges between blocks of
        different subdistricts are dropped from the problem's graph.
        """
        blocks = layer.blocks
        selected = blocks
        name = None
        source = getattr(layer, "source", None)
        where = source or "the block layer"
        if communities:
            _require_names(blocks, "community", communities, where=where)
            selected = selected[selected["community"].isin(communities)]
            name = "+".join(communities)
        if subdistrict:
            _require_names(blocks, "subdistrict", [subdistrict], where=where)
            selected = selected[selected["subdistrict"] == subdistrict]
            name = subdistrict if name is None else f"{subdistrict}:{name}"
        ids = [str(i) for i in selected.index]
        sub = graph.subgraph(ids).copy()
        if not cross_subdistricts:
            sub = within_subdistricts(sub)
        keep = {}
        if keep_together_col:
            if keep_together_col not in selected.columns:
                raise InputError(f"No column '{keep_together_col}' for keep-together groups; the columns are: {', '.join(map(str, selected.columns))}.")
            values = selected[keep_together_col]
            keep = {str(i): str(v) for i, v in values.items() if pd.notna(v) and str(v).strip()}
        sites = None
        findings: list[Finding] = []
        if offices is not None:
            sites = place_offices(offices, selected, min_area=min_office_area, layer_blocks=blocks, findings=findings)
        return cls(
            graph=sub,
            lower=lower,
            upper=upper,
            k=k,
            offices=sites,
            weights=weights or Weights(stability=defaults.stability_weight(subdistrict, communities)),
            locks={str(b): str(u) for b, u in (locks or {}).items()},
            keep_together=keep,
            name=name,
            blocks=selected,
            min_office_area=min_office_area,
            findings=findings,
        )


def check_side_constraints(graph: nx.Graph, locks: dict, keep_together: dict) -> None:
    """Locks and keep-together groups must be satisfiable on their own; each contradiction is an
    :class:`InputError` naming the blocks, found before anything is solved."""
    unknown = sorted(set(locks) - set(graph.nodes), key=str) + sorted(set(keep_together) - set(graph.nodes), key=str)
    if unknown:
        raise InputError(f"Locks or keep-together groups name blocks outside the problem: {format_ids(unknown)}.", ids=unknown)
    groups: dict[str, list[str]] = {}
    for block, group in keep_together.items():
        groups.setdefault(group, []).append(block)
    for group, blocks in sorted(groups.items()):
        _check_group(graph, group, sorted(blocks, key=str), locks)
    _check_locks_within_pieces(graph, locks)


def _check_group(graph: nx.Graph, group: str, blocks: list[str], locks: dict) -> None:
    """A keep-together group is connected and not locked to two different units."""
    if len(blocks) > 1 and not nx.is_connected(graph.subgraph(blocks)):
        raise InputError(
            f"Keep-together group '{group}' ({format_ids(blocks)}) is not connected on the adjacency graph, so it cannot form "
            "part of one contiguous unit; raise --snap, add an override edge, or allow --cross-subdistricts if a subdistrict line divides it.",
            ids=blocks,
        )
    labels = {}
    for block in blocks:
        if block in locks:
            labels.setdefault(locks[block], block)
    if len(labels) > 1:
        detail = ", ".join(f"{block} → {label}" for label, block in sorted(labels.items()))
        raise InputError(
            f"Keep-together group '{group}' must stay in one unit, but its blocks are locked to different units ({detail}); "
            "lock them to the same unit or take them out of the group.",
            ids=sorted(labels.values(), key=str),
        )


def _check_locks_within_pieces(graph: nx.Graph, locks: dict) -> None:
    """Blocks locked to one unit lie in one separate piece of the graph (no unit spans two)."""
    if not locks:
        return
    piece_of = {block: i for i, piece in enumerate(graph_pieces(graph)) for block in piece}
    first: dict[str, str] = {}
    for block in sorted(locks, key=str):
        label = locks[block]
        other = first.setdefault(label, block)
        if piece_of[other] != piece_of[block]:
            where = f"{piece_label(graph, [other])} and {piece_label(graph, [block])}"
            raise InputError(
                f"Blocks {other} and {block} are locked to the same unit ({label}) but lie in separate pieces of the graph ({where}), "
                "which no unit may span; lock them to different units, or allow --cross-subdistricts / add an override edge if they really belong together.",
                ids=[other, block],
            )


def within_subdistricts(graph: nx.Graph) -> nx.Graph:
    """The graph without edges between blocks of different subdistricts (units never cross them)."""
    crossing = [(a, b) for a, b in graph.edges if _differs(graph.nodes[a].get("subdistrict"), graph.nodes[b].get("subdistrict"))]
    if not crossing:
        return graph
    graph = graph.copy()
    graph.remove_edges_from(crossing)
    return graph


def _differs(a, b) -> bool:
    return a is not None and b is not None and a != b


def _require_names(blocks: pd.DataFrame, column: str, names: list[str], *, where: str = "the block layer") -> None:
    """Unknown community/subdistrict names are errors that suggest close matches (all at once)."""
    if column not in blocks or blocks[column].isna().all():
        raise InputError(f"{where}: the layer has no {column} column; name it with --{column}-col.")
    known = sorted(str(v) for v in blocks[column].dropna().unique())
    problems = []
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.3)
            close += [k for k in known if k not in close and (k.startswith(name) or name.startswith(k)) and min(len(k), len(name)) >= 2]
            hint = f" Did you mean {' or '.join(close[:3])}?" if close else ""
            problems.append(f"No {column} named '{name}' in the layer.{hint}")
    if problems:
        shown = ", ".join(known[:40]) + (f" and {len(known) - 40} more" if len(known) > 40 else "")
        raise InputError(f"{where}: {' '.join(problems)} Known {column} names: {shown}.")


def check_unit_count(k: int, total: int, lower: int, upper: int, *, blocks: int, name: str | None = None) -> None:
    """A given k must be possible: at least 1, at most one unit per block, and, when some number
    of units fits the bounds, one that fits too (``k·lower ≤ total ≤ k·upper``).

    When *no* k fits the bounds the k is left to the solver: the bounds are then the problem, the
    diagnosis says so, and ``relax`` can still find the plan of k units closest to them.
    """
    subject = f"{name} ({total:,} households)" if name else f"the selected blocks ({total:,} households)"
    if k < 1:
        raise InputError(f"--k must be at least 1, got {k}.")
    fits = feasible_unit_counts(total, lower, upper)
    if fits and not k * lower <= total <= k * upper:
        avg = total / k
        side = f"below the minimum {lower:,}" if avg < lower else f"above the maximum {upper:,}"
        need = f"--min {math.floor(avg)}" if avg < lower else f"--max {math.ceil(avg)}"
        ks = ", ".join(map(str, fits))
        raise InputError(
            f"--k {k} cannot fit {subject}: {k} units of {lower:,}–{upper:,} households need "
            f"{k * lower:,}–{k * upper:,} in total, so they would average {avg:,.0f}, {side}. "
            f"k={ks} fit{'s' if len(fits) == 1 else ''}: leave --k out to use k={fits[0]}, or change "
            f"the bounds (e.g. {need}) if {k} units are really wanted."
        )
    if k > blocks:
        raise InputError(f"--k {k} is more units than {subject} has blocks ({blocks}); each unit needs at least one block.")


def bound_violation(households: int, lower: int, upper: int) -> int:
    """How many households a unit lies outside [lower, upper] (0 inside): the violation measure
    of relaxed plans, unit tables and reports (the engine's ``plan_violation`` is its maximum)."""
    return int(max(0, lower - households, households - upper))


def unit_room(total: int, k: int, lower: int, upper: int) -> float:
    """How far k units' average household count lies from the nearer bound (negative: outside)."""
    return min(total / k - lower, upper - total / k)


def choose_unit_count(total: int, lower: int, upper: int, most: int | None = None) -> tuple[int | None, str]:
    """The fewest units that fit (fewest committees to fund), and why; None when none fits.

    ``most`` caps the counts offered (a forced group, :mod:`redistrict.forced`); when it
    excludes every count the fewest is still chosen, and the diagnosis says why it fails.
    """
    fits = feasible_unit_counts(total, lower, upper)
    if not fits:
        return None, explain_bounds(total, lower, upper)
    ks = [k for k in fits if most is None or k <= most] or fits[:1]
    if len(ks) == 1:
        return ks[0], f"k={ks[0]}: the only number of units of {lower:,}–{upper:,} that fits {total:,} households"
    k = ks[0]
    room = unit_room(total, k, lower, upper)
    tight = f" (tight: they average {total / k:,.0f}, {room:,.0f} from a bound; --k {ks[1]} leaves more room)" if room < 0.02 * (upper - lower) + 1 else ""
    return k, f"k={k}: the fewest units (committees) that fit {total:,} households{tight}; k={', '.join(map(str, ks[1:]))} would also fit"


def unit_count_range(total: int, lower: int, upper: int, blocks: int | None = None, heaviest: int = 0) -> tuple[int, int] | None:
    """The (fewest, most) units a separate piece of ``total`` households in ``blocks`` blocks
    can form by count, or None.

    Each unit needs a block, so there are at most ``blocks`` units; with a minimum of 0 that is
    the only cap.  A piece without households still needs a unit (every block joins one), which
    would hold 0 households: only possible when the minimum is 0.  ``heaviest`` is the most
    households one unit is forced to hold (a block, or a group of :mod:`redistrict.forced`):
    the other units need the minimum each, so ``k ≤ 1 + (total - heaviest) // lower``.  A
    ``heaviest`` above the maximum is a reason of its own (no count helps) and caps nothing here.
    """
    cap = blocks if blocks is not None else math.inf
    if total <= 0:
        return (1, 1) if lower == 0 else None
    if heaviest > upper:
        heaviest = 0
    fewest = max(1, math.ceil(total / upper))
    most = min(cap, total // lower, forced_cap(total, lower, heaviest)) if lower > 0 else cap
    if most == math.inf:
        most = fewest
    return (fewest, int(most)) if fewest <= most else None


def next_unit_count(total: int, k: int, lower: int, upper: int, blocks: int | None = None, heaviest: int = 0) -> int | None:
    """``k + 1`` when one more unit still fits the piece (:func:`unit_count_range`), else None:
    the count to try when ``k`` units leave too little room for a contiguous plan."""
    fits = unit_count_range(total, lower, upper, blocks, heaviest)
    return k + 1 if fits is not None and k + 1 <= fits[1] else None


def forced_cap(total: int, lower: int, heaviest: int) -> int:
    """The most units of at least ``lower`` (> 0) households a piece of ``total`` can form when
    one of them must hold ``heaviest``: the others need the minimum each."""
    return 1 + (total - heaviest) // lower


def allocate_units(totals: list[int], k: int, lower: int, upper: int, blocks: list[int] | None = None, heaviest: list[int] | None = None) -> list[int] | None:
    """Units per piece summing to ``k``, each fitting its piece (see :func:`unit_count_range`
    for ``blocks`` and ``heaviest``), with the most room; None if none.

    Exact by dynamic programming over the pieces: it maximises the smallest
    :func:`unit_room` of any piece (the tightest piece is the one most likely to have no
    contiguous plan), then the total room.
    """
    sizes = blocks or [None] * len(totals)
    heavy = heaviest or [0] * len(totals)
    ranges = [unit_count_range(t, lower, upper, b, g) for t, b, g in zip(totals, sizes, heavy, strict=True)]
    if any(r is None for r in ranges) or not sum(r[0] for r in ranges) <= k <= sum(r[1] for r in ranges):
        return None
    best = {0: ((math.inf, 0.0), [])}
    for total, (lo, hi) in zip(totals, ranges, strict=True):
        step: dict[int, tuple[tuple[float, float], list[int]]] = {}
        for used, ((worst, room_sum), ks) in best.items():
            for kk in range(lo, min(hi, k - used) + 1):
                room = unit_room(total, kk, lower, upper) if total > 0 else 0.0
                score = (min(worst, room), room_sum + room)
                if used + kk not in step or score > step[used + kk][0]:
                    step[used + kk] = (score, ks + [kk])
        best = step
    return best[k][1] if k in best else None


def fewest_units(totals: list[int], lower: int, upper: int) -> list[int] | None:
    """The fewest units that fit each piece, or None when some piece fits no count."""
    ranges = [unit_count_range(t, lower, upper) for t in totals]
    return None if any(r is None for r in ranges) else [r[0] for r in ranges]


def graph_pieces(graph: nx.Graph) -> list[list]:
    """The graph's connected components as sorted block-id lists, largest first (then by id)."""
    pieces = [sorted(c, key=str) for c in nx.connected_components(graph)]
    return sorted(pieces, key=lambda c: (-len(c), str(c[0])))


def choose_piece_aware_count(graph: nx.Graph, lower: int, upper: int, groups: list[ForcedGroup]) -> tuple[int | None, str]:
    """The fewest units for a graph: per separate piece when there are several (units never
    cross pieces, so the whole layer's arithmetic would undercount), and why.  A single piece's
    counts are capped by its heaviest forced group or block (``groups``: its forced groups)."""
    pieces = graph_pieces(graph)
    totals = [int(sum(graph.nodes[b]["households"] for b in piece)) for piece in pieces]
    if len(pieces) == 1:
        heaviest = max(forced_households(graph, groups).values())
        most = forced_cap(totals[0], lower, heaviest) if lower > 0 and heaviest <= upper else None
        return choose_unit_count(totals[0], lower, upper, most)
    ks = fewest_units(totals, lower, upper)
    if ks is None:
        return choose_unit_count(sum(totals), lower, upper)  # the diagnosis names the piece that fits no k
    shown = ", ".join(f"{piece_label(graph, p)} {kk}" for p, kk in zip(pieces[:12], ks[:12], strict=True))
    more = f" and {len(pieces) - 12} more" if len(pieces) > 12 else ""
    return sum(ks), f"k={sum(ks)}: the fewest units that fit each of the {len(pieces)} separate pieces ({shown}{more}); units never cross between pieces"


def piece_label(graph: nx.Graph, piece: list) -> str:
    """A piece's name for a planner: its subdistrict when it has one, else its first block."""
    names = {graph.nodes[b].get("subdistrict") for b in piece} - {None}
    return f"subdistrict {next(iter(names))}" if len(names) == 1 else f"the piece of block {sorted(piece, key=str)[0]}"


def place_offices(
    sites: gpd.GeoDataFrame,
    blocks: gpd.GeoDataFrame,
    *,
    min_area: float,
    layer_blocks: gpd.GeoDataFrame | None = None,
    findings: list | None = None,
) -> pd.DataFrame:
    """Qualifying office sites (floor area ≥ ``min_area``) with the block each one lies in.

    Sites outside the given blocks are dropped (they belong to other communities or to none).
    With ``layer_blocks`` (every block of the layer), sites that lie outside *every* block are
    checked: all of them outside is an :class:`InputError` naming the sites (a wrong file or CRS);
    some outside is a :class:`RedistrictWarning`, also appended to ``findings``.
    Returns columns ``site_id``, ``name``, ``floor_area_m2``, ``block_id``, ``x``, ``y`` (metres).
    """
    source = sites.attrs.get("source")
    where = source or "the office site layer"
    if "floor_area_m2" not in sites.columns:
        raise InputError(f"{where}: the office layer needs a floor_area_m2 column (floor area in m²); its columns are: {', '.join(map(str, sites.columns))}.", path=source)
    sites = sites.to_crs(blocks.crs).copy()
    if "site_id" not in sites.columns:
        sites["site_id"] = [f"S{i + 1}" for i in range(len(sites))]
    if "name" not in sites.columns:
        sites["name"] = sites["site_id"]
    sites["site_id"] = sites["site_id"].astype(str)
    area = pd.to_numeric(sites["floor_area_m2"], errors="coerce")
    if area.isna().any():
        bad = sites.loc[area.isna(), "site_id"].tolist()
        raise InputError(f"{where}: office site(s) {format_ids(bad)} have no numeric floor_area_m2; give the floor area in m² as a plain number.", ids=bad, path=source)
    sites["floor_area_m2"] = area
    if layer_blocks is not None:
        _check_sites_inside(sites, layer_blocks.to_crs(blocks.crs), where, findings, source)
    # the block holding each site is found here, whatever columns the office layer brings
    # (its own block_id or index_right would collide with the join's)
    own = sites.drop(columns=[c for c in ("block_id", "index_right", "_holding_block") if c in sites.columns])
    holders = gpd.GeoDataFrame({"_holding_block": blocks.index.astype(str)}, geometry=blocks.geometry.values, crs=blocks.crs)
    joined = gpd.sjoin(own, holders, how="inner", predicate="within")
    joined["block_id"] = joined["_holding_block"]
    joined["x"] = joined.geometry.x
    joined["y"] = joined.geometry.y
    qualifying = joined[joined["floor_area_m2"] >= min_area]
    return pd.DataFrame(qualifying[["site_id", "name", "floor_area_m2", "block_id", "x", "y"]]).reset_index(drop=True)


def _check_sites_inside(sites: gpd.GeoDataFrame, blocks: gpd.GeoDataFrame, where: str, findings: list | None, source: str | None = None) -> None:
    """Sites outside every block of the layer: all of them is an error, some a warning."""
    geoms = blocks.geometry.values
    tree = shapely.STRtree(geoms)
    points = sites.geometry.values
    present = ~(shapely.is_missing(points) | shapely.is_empty(points))
    inside = np.zeros(len(sites), dtype=bool)
    site_idx, _ = tree.query(points[present], predicate="within")
    inside[np.flatnonzero(present)[np.unique(site_idx)]] = True
    if inside.all():
        return
    ids = blocks.index.astype(str).to_numpy()
    details = []
    for pos in np.flatnonzero(~inside)[:8]:
        if not present[pos]:
            details.append(f"{sites['site_id'].iloc[pos]} (no location)")
            continue
        nearest = int(tree.nearest(points[pos]))
        gap = float(shapely.distance(points[pos], geoms[nearest]))
        details.append(f"{sites['site_id'].iloc[pos]} ({gap:,.0f} m from block {ids[nearest]})")
    outside = sites["site_id"].to_numpy()[~inside].tolist()
    more = f" and {len(outside) - 8} more" if len(outside) > 8 else ""
    if not inside.any():
        raise InputError(
            f"{where}: none of its {len(sites)} office site(s) lies inside a block: {', '.join(details)}{more}. "
            "Check that this is the office file for this block layer and that its CRS is right "
            "(coordinates in metres labelled as lon/lat, or GCJ-02 data without --input-coords "
            "gcj02, land far off); each site must lie inside the block that holds it.",
            ids=outside,
            path=source,
        )
    message = (
        f"{where}: {len(outside)} of {len(sites)} office site(s) lie outside every block and are "
        f"ignored: {', '.join(details)}{more}. Move each into the block that holds it if it should count."
    )
    if findings is not None:
        findings.append(Finding("offices_outside_blocks", WARNING, message, tuple(outside)))
    warnings.warn(message, RedistrictWarning, stacklevel=4)
