"""The independent verifier: a second opinion on any plan, drawn by the solver or by hand.

It shares no code with the solver.  A plan is checked against :class:`Rules` — the blocks it
must cover, the household bounds, the unit count, locks, keep-together groups, office sites and
subdistrict lines — by small named checks, each reading only the graph's node data and the
block→unit table (households are summed here, contiguity is checked with networkx on the
adjacency graph, which carries the snapping, barriers and overrides it was built with).
A plan that fails here is never written as a success.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx
import pandas as pd

from .errors import InputError
from .validate import format_ids, unit_sort_key


@dataclass(frozen=True)
class Violation:
    """One way a plan breaks the rules, with the unit and blocks involved."""

    kind: str
    message: str
    unit: str | None = None
    block_ids: tuple = ()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "unit": self.unit, "block_ids": list(self.block_ids), "message": self.message}


@dataclass(frozen=True)
class VerificationReport:
    """Every violation found (empty when the plan is valid), and the per-unit household totals."""

    violations: list[Violation] = field(default_factory=list)
    unit_households: dict[str, int] = field(default_factory=dict)
    lower: int | None = None
    upper: int | None = None
    bounds_relaxed: bool = False
    #: units outside the bounds in a plan verified with ``bounds_relaxed=True`` (stated, not errors)
    relaxed_units: list[Violation] = field(default_factory=list)
    #: the names of the checks that were run (what "valid" means for this plan)
    checks: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    def of_kind(self, kind: str) -> list[Violation]:
        return [v for v in self.violations if v.kind == kind]

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "bounds": {"min": self.lower, "max": self.upper, "relaxed": self.bounds_relaxed},
            "checks": list(self.checks),
            "unit_households": self.unit_households,
            "violations": [v.to_dict() for v in self.violations],
            "relaxed_units": [v.to_dict() for v in self.relaxed_units],
        }

    def summary(self) -> str:
        if self.ok:
            checked = f" ({', '.join(self.checks)})" if self.checks else ""
            return f"valid: {len(self.unit_households)} units; checked{checked}"
        return "\n".join(f"- {v.message}" for v in self.violations)


@dataclass(frozen=True)
class Rules:
    """What a plan must satisfy.  ``None`` leaves a rule out.

    ``covered``: the blocks the plan must put in a unit (None: every node of the graph);
    ``offices``: block id → floor areas (m²) of the office sites in it, checked against
    ``min_office_area``; ``one_subdistrict``: a unit may not hold blocks of two subdistricts.
    """

    lower: float | None = None
    upper: float | None = None
    k: int | None = None
    covered: frozenset | None = None
    locks: Mapping[str, str] = field(default_factory=dict)
    keep_together: Mapping[str, str] = field(default_factory=dict)
    offices: Mapping[str, tuple[float, ...]] | None = None
    min_office_area: float = 0.0
    one_subdistrict: bool = False
    bounds_relaxed: bool = False
    weight: str = "households"

    def __post_init__(self) -> None:
        for name in ("lower", "upper"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not math.isfinite(value) or value < 0):
                raise InputError(f"The verifier's {'minimum' if name == 'lower' else 'maximum'} households must be a number ≥ 0, got {value!r}.")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise InputError(f"The minimum ({self.lower:,}) is above the maximum ({self.upper:,}) households per unit; swap them.")
        if self.k is not None and (isinstance(self.k, bool) or int(self.k) != self.k or self.k < 1):
            raise InputError(f"The unit count k must be a whole number ≥ 1, got {self.k!r}.")


def rules_of(problem, *, bounds_relaxed: bool = False, one_subdistrict: bool | None = None) -> Rules:
    """The rules of a :class:`~redistrict.problem.Problem`: its blocks, bounds, unit count, locks,
    groups and office sites; subdistrict lines hold unless ``one_subdistrict=False`` is given
    (``Problem.from_layer`` with ``cross_subdistricts`` keeps the crossing edges in its graph)."""
    offices = None
    if problem.offices is not None:
        offices = {}
        for block, area in zip(problem.offices["block_id"].astype(str), problem.offices["floor_area_m2"], strict=True):
            offices.setdefault(block, ())
            offices[block] += (float(area),)
    crossing = any(_differs(problem.graph.nodes[a].get("subdistrict"), problem.graph.nodes[b].get("subdistrict")) for a, b in problem.graph.edges)
    return Rules(
        lower=problem.lower,
        upper=problem.upper,
        k=problem.unit_count,
        covered=frozenset(problem.graph.nodes),
        locks=dict(problem.locks),
        keep_together=dict(problem.keep_together),
        offices=offices,
        min_office_area=float(problem.min_office_area),
        one_subdistrict=(not crossing) if one_subdistrict is None else one_subdistrict,
        bounds_relaxed=bounds_relaxed,
    )


def _differs(a, b) -> bool:
    return a is not None and b is not None and a != b


def _as_pairs(assignment) -> pd.DataFrame:
    """The plan as a block_id, unit frame (unit None where a row leaves it empty)."""
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


@dataclass(frozen=True)
class _Plan:
    """The plan as the checks see it: its rows, and each unit's blocks (first row per block)."""

    graph: nx.Graph
    rules: Rules
    rows: pd.DataFrame  # every row naming a known block and a unit
    blank_rows: int
    unknown: tuple
    members: dict[str, list[str]]
    #: each unit's households, summed once from the graph's node data
    households: dict[str, int]
    #: what the graph is, in the words of a message: "the layer" or "the problem"
    source: str = "the layer"

    @functools.cached_property
    def unit_of(self) -> dict[str, str]:
        """The unit of every block in a unit."""
        return {b: u for u, blocks in self.members.items() for b in blocks}


Check = Callable[[_Plan], list[Violation]]


def check_known_blocks(plan: _Plan) -> list[Violation]:
    """Every id in the plan is a block of the layer."""
    if not plan.unknown:
        return []
    return [Violation("unknown_block", f"{len(plan.unknown)} id(s) in the plan are not blocks of {plan.source}: {format_ids(plan.unknown)}.", block_ids=plan.unknown)]


def check_one_unit_each(plan: _Plan) -> list[Violation]:
    """No block is put in two units (a repeated row is a violation, not an overwrite)."""
    rows = plan.rows.drop_duplicates()
    counts = rows.groupby("block_id")["unit"].nunique()
    doubled = sorted(counts.index[counts > 1])
    if not doubled:
        return []
    detail = "; ".join(f"{b} → {', '.join(sorted(rows.loc[rows['block_id'] == b, 'unit'].unique()))}" for b in doubled[:5])
    return [Violation("multiply_assigned", f"{len(doubled)} block(s) are assigned to more than one unit: {detail}.", block_ids=tuple(doubled))]


def check_coverage(plan: _Plan) -> list[Violation]:
    """Every block the plan covers is in a unit, and no unit holds a block outside them."""
    covered = set(plan.graph.nodes) if plan.rules.covered is None else set(plan.rules.covered)
    assigned = set(plan.rows["block_id"])
    found = []
    missing = sorted(covered - assigned, key=str)
    if missing:
        blank = " (some with an empty unit)" if plan.blank_rows else ""
        found.append(Violation("unassigned", f"{len(missing)} block(s) are in no unit{blank}: {format_ids(missing)}.", block_ids=tuple(missing)))
    outside = sorted(assigned - covered, key=str)
    if outside:
        found.append(Violation("outside_scope", f"{len(outside)} block(s) of the plan lie outside the blocks it should cover: {format_ids(outside)}.", block_ids=tuple(outside)))
    return found


def check_contiguity(plan: _Plan) -> list[Violation]:
    """Each unit is one connected piece of the adjacency graph."""
    found = []
    for unit, blocks in plan.members.items():
        pieces = sorted(nx.connected_components(plan.graph.subgraph(blocks)), key=lambda c: (-len(c), min(c)))
        if len(pieces) > 1:
            desc = "; ".join(f"{{{format_ids(sorted(p), 4)}}}" for p in pieces)
            detached = tuple(b for p in pieces[1:] for b in sorted(p))
            found.append(Violation("not_contiguous", f"Unit {unit} is in {len(pieces)} pieces: {desc}.", unit=unit, block_ids=detached))
    return found


def check_bounds(plan: _Plan) -> list[Violation]:
    """Each unit's households lie within [lower, upper] (with relaxed bounds: stated, see below)."""
    lower, upper = plan.rules.lower, plan.rules.upper
    found = []
    for unit in plan.members:
        total = plan.households[unit]
        if lower is not None and total < lower:
            side = f"below the minimum {lower:,}"
        elif upper is not None and total > upper:
            side = f"above the maximum {upper:,}"
        else:
            continue
        kind = "relaxed_bounds" if plan.rules.bounds_relaxed else "out_of_bounds"
        found.append(Violation(kind, f"Unit {unit} has {total:,} households, {side}.", unit=unit))
    return found


def check_unit_count(plan: _Plan) -> list[Violation]:
    """The plan has the asked-for number of units."""
    k = plan.rules.k
    if k is None or len(plan.members) == k:
        return []
    return [Violation("unit_count", f"The plan has {len(plan.members)} units; {k} were asked for.")]


def check_conservation(plan: _Plan) -> list[Violation]:
    """The units hold exactly the households of the blocks they cover."""
    covered = set(plan.graph.nodes) if plan.rules.covered is None else set(plan.rules.covered)
    if covered != set(plan.rows["block_id"]) or plan.rows["block_id"].duplicated().any():
        return []  # coverage or double assignment already says what is wrong
    expected = int(sum(plan.graph.nodes[b][plan.rules.weight] for b in covered))
    held = sum(plan.households.values())
    if held == expected:
        return []
    return [Violation("households_not_conserved", f"Units hold {held:,} households but their blocks have {expected:,}.")]


def _by_label(plan: _Plan, labels: Mapping[str, str]) -> list[tuple[str, list[str], list[str]]]:
    """(label, its blocks in the plan, the units they are in) for each label of a block→label
    table (locks or keep-together groups), in label order."""
    blocks_of: dict[str, list[str]] = {}
    for block, label in labels.items():
        if block in plan.unit_of:
            blocks_of.setdefault(str(label), []).append(block)
    return [(label, sorted(blocks, key=str), sorted({plan.unit_of[b] for b in blocks})) for label, blocks in sorted(blocks_of.items())]


def _where(plan: _Plan, blocks: list[str]) -> str:
    return ", ".join(f"{b} in {plan.unit_of[b]}" for b in blocks[:6])


def check_locks(plan: _Plan) -> list[Violation]:
    """Blocks locked to one label share a unit; blocks of different labels do not."""
    found = []
    holder: dict[str, str] = {}
    for label, blocks, units in _by_label(plan, plan.rules.locks):
        if len(units) > 1:
            found.append(Violation("lock_split", f"Blocks locked together as {label} are in {len(units)} units: {_where(plan, blocks)}.", block_ids=tuple(blocks)))
        for unit in units:
            if unit in holder and holder[unit] != label:
                found.append(Violation("locks_joined", f"Unit {unit} holds blocks locked apart, as {holder[unit]} and as {label}.", unit=unit))
            holder.setdefault(unit, label)
    return found


def check_keep_together(plan: _Plan) -> list[Violation]:
    """Each keep-together group lies in one unit."""
    return [
        Violation("group_split", f"Keep-together group {group} is split over {len(units)} units: {_where(plan, blocks)}.", block_ids=tuple(blocks))
        for group, blocks, units in _by_label(plan, plan.rules.keep_together)
        if len(units) > 1
    ]


def check_offices(plan: _Plan) -> list[Violation]:
    """Each unit holds at least one office site of at least the minimum floor area."""
    offices, least = plan.rules.offices or {}, plan.rules.min_office_area
    found = []
    for unit, blocks in plan.members.items():
        if not any(area >= least for b in blocks for area in offices.get(b, ())):
            found.append(Violation("no_office", f"Unit {unit} holds no office site of at least {least:,.0f} m².", unit=unit, block_ids=tuple(sorted(blocks, key=str)[:1])))
    return found


def check_subdistricts(plan: _Plan) -> list[Violation]:
    """A unit holds the blocks of one subdistrict only."""
    found = []
    for unit, blocks in plan.members.items():
        names = sorted({str(s) for b in blocks if (s := plan.graph.nodes[b].get("subdistrict")) is not None})
        if len(names) > 1:
            found.append(Violation("crosses_subdistrict", f"Unit {unit} crosses subdistrict lines: it holds blocks of {', '.join(names)}.", unit=unit))
    return found


def checks_for(rules: Rules) -> list[tuple[str, Check]]:
    """The named checks a plan under ``rules`` must pass, in the order they are reported."""
    checks: list[tuple[str, Check]] = [
        ("known blocks", check_known_blocks),
        ("one unit per block", check_one_unit_each),
        ("coverage", check_coverage),
        ("contiguity", check_contiguity),
    ]
    if rules.lower is not None or rules.upper is not None:
        checks.append(("household bounds", check_bounds))
    checks.append(("households conserved", check_conservation))
    if rules.k is not None:
        checks.append(("unit count", check_unit_count))
    if rules.locks:
        checks.append(("locks", check_locks))
    if rules.keep_together:
        checks.append(("keep-together groups", check_keep_together))
    if rules.offices is not None:
        checks.append(("an office per unit", check_offices))
    if rules.one_subdistrict:
        checks.append(("subdistrict lines", check_subdistricts))
    return checks


def verify_plan(
    source,
    assignment,
    *,
    lower: int | None = None,
    upper: int | None = None,
    k: int | None = None,
    covered: Iterable | None = None,
    bounds_relaxed: bool = False,
    weight: str = "households",
    rules: Rules | None = None,
) -> VerificationReport:
    """Check a plan against a :class:`~redistrict.problem.Problem` or a graph.

    With a problem, every rule of it is checked (its blocks, bounds, unit count, locks, groups,
    offices, subdistrict lines); ``lower``/``upper``/``k`` given here override its own.  With a
    graph, the plan must cover ``covered`` (default: every node) within the bounds given.
    ``assignment`` is a block→unit mapping, Series, DataFrame (first two columns) or iterable of
    pairs; pairs may repeat a block (a doubly assigned block is a violation, not an overwrite).
    With ``bounds_relaxed`` the units outside the bounds are listed as ``relaxed_units`` and do
    not make the plan invalid.
    """
    if rules is None:
        rules = _rules(source, lower=lower, upper=upper, k=k, covered=covered, bounds_relaxed=bounds_relaxed, weight=weight)
    graph = source if isinstance(source, nx.Graph) else source.graph
    plan = _read(graph, rules, assignment, "the layer" if isinstance(source, nx.Graph) else "the problem")
    violations: list[Violation] = []
    checks = checks_for(rules)
    for _, check in checks:
        violations += check(plan)
    relaxed = [v for v in violations if v.kind == "relaxed_bounds"]
    return VerificationReport(
        violations=[v for v in violations if v.kind != "relaxed_bounds"],
        unit_households=dict(plan.households),
        lower=rules.lower,
        upper=rules.upper,
        bounds_relaxed=rules.bounds_relaxed,
        relaxed_units=relaxed,
        checks=tuple(name for name, _ in checks),
    )


def _rules(source, *, lower, upper, k, covered, bounds_relaxed: bool, weight: str) -> Rules:
    """The rules from a problem (with overrides) or from the arguments alone (a graph)."""
    if not isinstance(source, nx.Graph):
        base = rules_of(source, bounds_relaxed=bounds_relaxed)
        changes = {name: value for name, value in (("lower", lower), ("upper", upper), ("k", k)) if value is not None}
        if covered is not None:
            changes["covered"] = frozenset(str(b) for b in covered)
        return Rules(**(base.__dict__ | changes))
    return Rules(
        lower=lower, upper=upper, k=k, covered=None if covered is None else frozenset(str(b) for b in covered),
        bounds_relaxed=bounds_relaxed, weight=weight,
    )


def _read(graph: nx.Graph, rules: Rules, assignment, source: str) -> _Plan:
    """The plan's rows split into known blocks with a unit, blank rows and unknown ids."""
    pairs = _as_pairs(assignment)
    nodes = set(graph.nodes)
    unknown = tuple(sorted(set(pairs["block_id"]) - nodes))
    blank = int(pairs["unit"].isna().sum())
    rows = pairs[pairs["unit"].notna() & pairs["block_id"].isin(nodes)].reset_index(drop=True)
    single = rows.drop_duplicates("block_id", keep="first")
    members = {unit: list(blocks) for unit, blocks in single.groupby("unit", sort=False)["block_id"]}
    members = {unit: members[unit] for unit in sorted(members, key=unit_sort_key)}
    weight = rules.weight
    households = {u: int(sum(graph.nodes[b][weight] for b in blocks)) for u, blocks in members.items()}
    return _Plan(graph, rules, rows, blank, unknown, members, households, source)


def covered_communities(graph: nx.Graph, block_ids: Iterable) -> tuple[tuple[str, ...], str]:
    """The current communities a plan touches, so it can be checked against all their blocks,
    and a note saying so (no note when the layer has no communities: the plan covers it all)."""
    nodes = graph.nodes
    names = sorted({str(c) for b in map(str, block_ids) if b in nodes and (c := nodes[b].get("community")) is not None})
    if not names:
        return (), ""
    total = len({str(c) for _, c in graph.nodes(data="community") if c is not None})
    if len(names) == total:
        return (), f"The plan touches every one of the layer's {total} communities: checking it against the whole layer."
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return tuple(names), (
        f"The plan touches {len(names)} of the layer's {total} communities ({shown}): checking that it covers all their blocks. "
        "Give --subdistrict or --communities to check it against other blocks."
    )
