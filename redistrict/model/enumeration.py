"""Exhaustive search for a plan within the bounds: a plan, a proof that none exists, or "gave up".

For small, tight problems (a few dozen nodes whose units average a few households from a bound)
random spanning trees rarely find a plan and the integer program neither finds one nor proves
there is none in minutes (街道335 of the 50,000-block city: 54 blocks, k = 6).  This search
decides them.  It is the classical enumeration of districting (Garfinkel & Nemhauser 1970) run
as a depth-first search over the nodes still to place:

* the unplaced node that comes first in a fixed order (a breadth-first order from a node on the
  edge of the piece) must be in *some* unit, so the search branches over the connected sets that
  contain it, weigh ``[L, U]``, hold a candidate centre and respect the locks — every plan is
  reached exactly once;
* what is left after taking a set falls into connected parts; each must hold a whole number of
  units by weight (``c·L ≤ W ≤ c·U``) and the counts must add up to the units left, else the set
  is refused before any deeper search;
* the parts are independent, so each is searched on its own, and every (nodes, units) pair found
  to have no plan is remembered: a different route to the same remainder is not searched again.

Node sets are Python ints used as bit masks.  The search is bounded by a deadline and a number
of visited states; on either it reports ``"limit"`` (nothing proved).  Feasibility only — the
objective is left to :mod:`redistrict.model.lns` and the exact model, which start from the plan.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from .data import ModelInput

#: states (connected sets tried) after which the search gives up (~1.5 million a second)
MAX_STATES = 50_000_000
#: the search is tried on inputs of at most this many nodes (beyond, the number of connected
#: sets of a unit's size makes a proof hopeless in any time a user waits)
MAX_NODES = 150


@dataclass(frozen=True)
class Outcome:
    """``status`` is "found" (``label`` gives each node's unit 0..k−1), "infeasible" (proved: no
    plan within the bounds exists) or "limit" (the deadline or the state budget stopped it)."""

    status: str
    label: np.ndarray | None
    states: int
    seconds: float

    def to_dict(self) -> dict:
        return {"status": self.status, "candidate_units": self.states, "seconds": round(self.seconds, 3)}


def applies(data: ModelInput) -> bool:
    """True when the search decides this input: hard bounds, no prescribed centres per group."""
    return not data.relax and data.group_counts is None


def searchable(data: ModelInput) -> bool:
    """True when the search applies and the input is small enough to be worth searching."""
    return data.n <= MAX_NODES and applies(data)


def find_partition(data: ModelInput, *, deadline: float | None = None, max_states: int = MAX_STATES) -> Outcome:
    """A plan of ``data.k`` connected units within ``[lower, upper]``, or a proof that none exists."""
    t0 = time.perf_counter()
    search = _Search(data, deadline, max_states)
    try:
        units = search.place(search.everything, data.k)
    except _GaveUp:
        return Outcome("limit", None, search.states, time.perf_counter() - t0)
    if units is None:
        return Outcome("infeasible", None, search.states, time.perf_counter() - t0)
    label = np.empty(data.n, dtype=np.int64)
    for unit, mask in enumerate(units):
        label[search.order[_members(mask)]] = unit
    return Outcome("found", label, search.states, time.perf_counter() - t0)


class _GaveUp(Exception):
    """The deadline or the state budget ran out."""


def _members(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def _search_order(data: ModelInput) -> np.ndarray:
    """Nodes in breadth-first order from a node of least degree (on the edge of the piece), so the
    first unplaced node always borders what is placed and remainders stay in one part."""
    adjacency = [[] for _ in range(data.n)]
    for a, b in data.edges.tolist():
        adjacency[a].append(b)
        adjacency[b].append(a)
    order: list[int] = []
    seen = np.zeros(data.n, dtype=bool)
    for root in sorted(range(data.n), key=lambda v: len(adjacency[v])):
        if seen[root]:
            continue
        seen[root] = True
        queue = deque([root])
        while queue:
            v = queue.popleft()
            order.append(v)
            for u in sorted(adjacency[v], key=lambda u: len(adjacency[u])):
                if not seen[u]:
                    seen[u] = True
                    queue.append(u)
    return np.array(order, dtype=np.int64)


class _Search:
    """The search state: the graph as bit masks in search order, the memo of refused remainders."""

    def __init__(self, data: ModelInput, deadline: float | None, max_states: int) -> None:
        order = _search_order(data)
        position = np.empty(data.n, dtype=np.int64)
        position[order] = np.arange(data.n)
        self.order = order
        self.weight = [int(w) for w in data.weights[order]]
        self.adjacent = [0] * data.n
        for a, b in data.edges.tolist():
            pa, pb = int(position[a]), int(position[b])
            self.adjacent[pa] |= 1 << pb
            self.adjacent[pb] |= 1 << pa
        self.centres = sum(1 << int(position[c]) for c in data.candidates)
        self.partner: dict[int, int] = {}  # bit -> mask of nodes that must share its unit
        self.rival: dict[int, int] = {}  # bit -> mask of nodes that must not
        for pairs, table in ((data.together, self.partner), (data.different_unit, self.rival)):
            for a, b in pairs:
                pa, pb = 1 << int(position[a]), 1 << int(position[b])
                table[pa] = table.get(pa, 0) | pb
                table[pb] = table.get(pb, 0) | pa
        self.locked = sum(self.partner) | sum(self.rival)
        self.lower, self.upper = data.lower, data.upper
        self.everything = (1 << data.n) - 1
        self.deadline, self.max_states, self.states = deadline, max_states, 0
        self.refused: set[tuple[int, int]] = set()

    # -- arithmetic on parts ------------------------------------------------------------------
    def counts(self, weight: int) -> range:
        """Unit counts c with c·L ≤ weight ≤ c·U."""
        low = -(-weight // self.upper)
        high = weight // self.lower if self.lower > 0 else low + weight
        return range(low, high + 1)

    def parts(self, mask: int) -> list[tuple[int, int]]:
        """The connected parts of ``mask``, each with its weight."""
        out = []
        while mask:
            part = frontier = mask & -mask
            weight = 0
            while frontier:
                grown = 0
                while frontier:
                    low = frontier & -frontier
                    i = low.bit_length() - 1
                    grown |= self.adjacent[i]
                    weight += self.weight[i]
                    frontier ^= low
                frontier = grown & mask & ~part
                part |= frontier
            out.append((part, weight))
            mask &= ~part
        return out

    # -- the search ---------------------------------------------------------------------------
    def place(self, mask: int, k: int) -> list[int] | None:
        """``k`` units covering ``mask`` exactly (a list of masks), or None when there are none."""
        parts = self.parts(mask)
        choices = [(part, weight, self.counts(weight)) for part, weight in parts]
        if sum(c.start for *_, c in choices) > k or sum(c.stop - 1 for *_, c in choices) < k:
            return None
        return self._place_parts(choices, k)

    def _place_parts(self, choices: list[tuple[int, int, range]], k: int) -> list[int] | None:
        """Independent parts: the first takes each count that leaves the rest a feasible total."""
        (part, weight, counts), rest = choices[0], choices[1:]
        rest_low = sum(c.start for *_, c in rest)
        rest_high = sum(c.stop - 1 for *_, c in rest)
        for count in counts:
            if not rest_low <= k - count <= rest_high:
                continue
            first = self._place_one(part, weight, count)
            if first is None:
                continue
            others = self._place_parts(rest, k - count) if rest else []
            if others is not None:
                return first + others
        return None

    def _place_one(self, mask: int, total: int, k: int) -> list[int] | None:
        """``k`` units covering the connected ``mask`` (``total`` households), remembering refusals."""
        if (mask, k) in self.refused:
            return None
        if k == 1:
            return [mask] if self._is_unit(mask) else None
        first = mask & -mask
        # the rest must hold k − 1 units: (k−1)·L ≤ total − unit ≤ (k−1)·U
        lowest, highest = max(self.lower, total - (k - 1) * self.upper), min(self.upper, total - (k - 1) * self.lower)
        for unit in self._units_with(first, mask, lowest, highest):
            rest = self.place(mask & ~unit, k - 1)
            if rest is not None:
                return [unit, *rest]
        self.refused.add((mask, k))
        return None

    def _is_unit(self, mask: int) -> bool:
        """A connected part within ``[L, U]`` (checked by the caller) that holds a centre and keeps the locks."""
        return bool(mask & self.centres) and self._locks_hold(mask)

    def _locks_hold(self, unit: int) -> bool:
        for bit in _members(unit & self.locked):
            low = 1 << bit
            if self.partner.get(low, 0) & ~unit or self.rival.get(low, 0) & unit:
                return False
        return True

    def _units_with(self, first: int, mask: int, lowest: int, highest: int):
        """Every connected set within ``mask`` that contains ``first``, weighs ``[lowest, highest]``
        and could be a unit, each once.

        Grows from ``first``; at each step the lowest frontier node is either taken (its
        neighbours join the frontier) or banned for this branch — the standard reverse search
        that lists each connected set exactly once.  Branches heavier than ``highest`` are cut.
        """
        stack = [(first, self.weight[first.bit_length() - 1], self.adjacent[first.bit_length() - 1] & mask & ~first, 0, True)]
        while stack:
            unit, weight, frontier, banned, fresh = stack.pop()
            self._tick()
            if fresh and weight >= lowest and self._is_unit(unit):
                yield unit
            if not frontier:
                continue
            low = frontier & -frontier
            i = low.bit_length() - 1
            stack.append((unit, weight, frontier & ~low, banned | low, False))
            if weight + self.weight[i] <= highest:
                grown = (frontier | self.adjacent[i]) & mask & ~unit & ~low & ~banned
                stack.append((unit | low, weight + self.weight[i], grown, banned, True))

    def _tick(self) -> None:
        self.states += 1
        if self.states > self.max_states or (self.deadline is not None and self.states % 4096 == 0 and time.perf_counter() > self.deadline):
            raise _GaveUp
