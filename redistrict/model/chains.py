"""Pass a unit's excess along a chain of adjacent units to one with room: single-block moves.

In a tight layer (city10000 without subdistricts: 906 units averaging 2,972 of at most 3,000
households, blocks of 30–1,200) room is scarce and scattered, so a unit outside the bounds
rarely has a neighbour that can take its excess, and re-solving it with its neighbours (the
exact neighbourhoods of :mod:`redistrict.model.mend`) stalls.  The room may lie a few units
away.  An *ejection chain* reaches it: the unit over the bound gives one boundary block to a
neighbour, which — if now over — gives one of its own to the next, and so on until a unit takes
the block within its bound.  Every move keeps both units connected (the block borders its new
unit; its old unit stays connected without it) and every unit the chain passes ends within the
bounds, so the plan's total violation falls strictly with each chain.  A unit under the bound
pulls a block the same way.  The chain is a depth-first search with a bounded depth and a bounded
number of moves tried per unit.

Where no chain brings a unit within the bounds — its excess is larger than any room within reach,
which lies scattered a few dozen households per unit — a *partial* chain moves part of it, leaving
the unit nearer its bound and every other unit within (city10000 without subdistricts: mending
stalled at 266 households over one unit whose neighbours had 0–16 households of room; with partial
chains it ends at 0 in 61 s).  Further chains move the rest elsewhere.

Centres never move (the plan is kept as ``centre_of``), nor do blocks in a lock, forced group or
separation pair, so every rule the construction kept still holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ._graph import Adjacency, is_connected_subset
from .data import ModelInput
from .lns import unit_graph


@dataclass(frozen=True)
class Limits:
    """How far one chain search may go: units a chain may pass through, moves tried from one unit
    outside the bounds, and whether the search is guided towards room (:meth:`_Units.hops`)."""

    units: int
    tries: int
    guided: bool = False


#: a first, quick pass, and a long one when nothing shorter helps.  City10000 without
#: subdistricts, from a construction 100 households wide: violation 8,244 -> 1,794 in 17 s with
#: short chains (8.2 s once each unit's borders came from one scan of its blocks), where long
#: ones took 95 s for 1,009.  Long chains are guided: where mending stalled 160 households over
#: one unit whose room lay five units away, a guided chain of 53 moves cleared it in 1.3 s,
#: where 500,000 unguided tries found none in 20 s.
SHORT_CHAINS, LONG_CHAINS = Limits(12, 3_000), Limits(40, 100_000, guided=True)
#: room thresholds (households) the guide keeps distances to; a chain carrying ``left`` is guided
#: to the nearest unit with at least the smallest threshold ≥ ``left``
ROOM_STEPS = (25, 50, 100, 200, 400)


@dataclass(frozen=True)
class ChainResult:
    """The plan after the chains (``centre_of``), its total violation before and after, and the work."""

    centre_of: np.ndarray
    violation_before: int
    violation: int
    chains: int
    moves: int
    seconds: float

    def to_dict(self) -> dict:
        return {"violation_before": self.violation_before, "violation": self.violation, "chains": self.chains, "moves": self.moves, "seconds": round(self.seconds, 3)}


def pass_along(data: ModelInput, centre_of: np.ndarray, *, deadline: float | None = None, limits: Limits = SHORT_CHAINS) -> ChainResult:
    """The plan with as much of its bound violation as chains can clear (see the module doc);
    ``limits`` as :data:`SHORT_CHAINS`."""
    t0 = time.perf_counter()
    units = _Units(data, centre_of)
    before = units.violation()
    chains = moves = 0
    progress = True
    while progress and units.violation() > 0:
        progress = False
        units.guide = {} if limits.guided else None  # the distances to room, as of this pass
        for u in sorted(units.outside(), key=lambda u: -units.excess(u)):
            if deadline is not None and time.perf_counter() > deadline:
                break
            for partial in (False, True):
                chain = _Chain(units, limits.units, limits.tries, partial=partial)
                if chain.clear(u):
                    chains, moves, progress = chains + 1, moves + len(chain.done), True
                    break
    plan = units.centre_of()
    return ChainResult(plan, before, units.violation(), chains, moves, time.perf_counter() - t0)


class _Units:
    """A plan's units as mutable sets: members, totals, and which blocks may move."""

    def __init__(self, data: ModelInput, centre_of: np.ndarray) -> None:
        self.data = data
        self.lower, self.upper = data.lower, data.upper
        self.weights = np.asarray(data.weights, dtype=np.int64).tolist()
        self.adjacency = Adjacency.from_edges(data.n, data.edges)
        self.adj = self.adjacency.neighbours
        self.unit = np.asarray(centre_of, dtype=np.int64).tolist()  # node -> its unit's centre
        self.members: dict[int, set[int]] = {}
        for node, centre in enumerate(self.unit):
            self.members.setdefault(centre, set()).add(node)
        self.total = {c: sum(self.weights[v] for v in m) for c, m in self.members.items()}
        fixed = {v for pair in (*data.same_unit, *data.different_unit, *data.forced_unit) for v in pair}
        self.mobile = [v not in fixed and self.unit[v] != v for v in range(data.n)]
        #: (side, room step) -> distances (:meth:`hops`), or None: the search is not guided
        self.guide: dict | None = None

    def excess(self, u: int) -> int:
        """Households above the upper bound (> 0), below the lower (< 0), or 0."""
        t = self.total[u]
        return t - self.upper if t > self.upper else t - self.lower if t < self.lower else 0

    def outside(self) -> list[int]:
        return [u for u in self.total if self.excess(u)]

    def violation(self) -> int:
        return sum(abs(self.excess(u)) for u in self.total)

    def move(self, v: int, to: int) -> None:
        source = self.unit[v]
        self.members[source].discard(v)
        self.members[to].add(v)
        self.total[source] -= self.weights[v]
        self.total[to] += self.weights[v]
        self.unit[v] = to

    def borders(self, u: int) -> dict[int, tuple[dict[int, None], dict[int, None]]]:
        """For each unit ``x`` next to unit ``u``: ``u``'s blocks on their border and ``x``'s
        (ordered sets), from one scan of ``u``'s blocks."""
        found: dict[int, tuple[dict[int, None], dict[int, None]]] = {}
        for v in self.members[u]:
            for y in self.adj[v]:
                x = self.unit[y]
                if x != u:
                    inside, outside = found.setdefault(x, ({}, {}))
                    inside[v] = outside[y] = None
        return found

    def transfers(self, source: int, target: int, border: tuple | None = None) -> list[tuple[int, tuple[tuple[int, int], ...]]]:
        """Ways to move households from unit ``source`` to ``target``: one block of ``source``
        on their border, or such a block swapped for a lighter one of ``target`` — a swap moves
        the difference, so a few households can pass where every block holds hundreds.  Each as
        (households moved, the moves as (block, new unit)); connectivity is checked when tried.
        ``border``: their border as (``source``'s blocks, ``target``'s), from :meth:`borders`."""
        on_source, on_target = self.borders(source)[target] if border is None else border
        givers = [v for v in on_source if self.mobile[v]]
        takers = [y for y in on_target if self.mobile[y]]
        options = [(self.weights[v], ((v, target),)) for v in givers]
        options += [(self.weights[v] - self.weights[y], ((v, target), (y, source))) for v in givers for y in takers if self.weights[v] > self.weights[y]]
        return options

    def centre_of(self) -> np.ndarray:
        return np.asarray(self.unit, dtype=np.int64)

    def hops(self, over: bool, need: int) -> dict[int, int]:
        """Each unit's distance, in units, to the nearest with room for ``need`` households on the
        side a chain needs (below the upper bound when ``over``), by :data:`ROOM_STEPS`; kept
        for the pass (``guide``), so it ages as the pass moves blocks — a guide, not a rule."""
        bucket = next((b for b in ROOM_STEPS if b >= need), ROOM_STEPS[-1])
        key = (over, bucket)
        if key not in self.guide:
            near = unit_graph(self.data, self.centre_of())
            frontier = [c for c, t in self.total.items() if (self.upper - t >= bucket if over else t - self.lower >= bucket)]
            hops = dict.fromkeys(frontier, 0)
            while frontier:
                step = []
                for c in frontier:
                    for x in near[c]:
                        if x not in hops:
                            hops[x] = hops[c] + 1
                            step.append(x)
                frontier = step
            self.guide[key] = hops
        return self.guide[key]


class _Chain:
    """One depth-first search for a chain from a unit outside the bounds; moves are undone on
    a dead end, so a failed search leaves the plan as it was."""

    def __init__(self, units: _Units, max_chain: int, max_tries: int, partial: bool = False) -> None:
        self.units, self.tries, self.partial = units, 0, partial
        self.max_chain, self.max_tries = max_chain, max_tries
        self.done: list[tuple[int, int]] = []  # (block, its unit before the move)

    def clear(self, u: int) -> bool:
        """Bring unit ``u`` within the bounds by one chain, else (:attr:`partial`) nearer them."""
        excess = self.units.excess(u)
        if not excess:
            return False  # cleared by an earlier chain
        if self._next(u, {u}, push=excess > 0):
            return True
        self._undo(0)
        return False

    def _next(self, u: int, visited: set[int], push: bool) -> bool:
        """Unit ``u`` is over (``push``: it gives households to a neighbour) or under (it takes
        them from one); done when that neighbour ends within its bound, else it goes on."""
        units, t = self.units, self.units.total[u]
        options = []
        borders = units.borders(u)
        lower, upper = units.lower, units.upper
        if self.partial and len(visited) == 1:  # the first unit of a partial chain: anywhere nearer its bound
            lower, upper = (lower, t) if push else (0, upper)
        for x in sorted(borders.keys() - visited):
            inside, outside = borders[x]
            for moved, moves in (units.transfers(u, x, (inside, outside)) if push else units.transfers(x, u, (outside, inside))):
                if lower <= (t - moved if push else t + moved) <= upper:
                    left = units.total[x] + moved - units.upper if push else units.lower - (units.total[x] - moved)
                    options.append((left, x, moves))
        if units.guide is None:
            options.sort(key=lambda o: o[0])
        else:  # a move that ends the chain first, then towards the nearest room for what is left
            far = len(units.total)
            options.sort(key=lambda o: (o[0] > 0, units.hops(push, o[0]).get(o[1], far) if o[0] > 0 else 0, o[0]))
        for left, x, moves in options:
            if self.tries >= self.max_tries or (left > 0 and len(visited) >= self.max_chain):
                return False
            if not self._apply(moves, u, x):
                continue
            if left <= 0 or self._next(x, visited | {x}, push):
                return True
            self._undo(len(self.done) - len(moves))
        return False

    def _apply(self, moves: tuple[tuple[int, int], ...], u: int, x: int) -> bool:
        """Make ``moves``; keep them (True) when both units stay connected."""
        self.tries += 1
        mark = len(self.done)
        for v, to in moves:
            self.done.append((v, self.units.unit[v]))
            self.units.move(v, to)
        members = self.units.members
        if is_connected_subset(self.units.adjacency, members[u]) and is_connected_subset(self.units.adjacency, members[x]):
            return True
        self._undo(mark)
        return False

    def _undo(self, mark: int) -> None:
        """Undo the moves made after the first ``mark``."""
        while len(self.done) > mark:
            v, back = self.done.pop()
            self.units.move(v, back)
