"""Blocks that must share a unit, read off the graph and the minimum alone.

A *hanging part* is a set of blocks that reaches the rest of its piece only through one block,
its *gate* (an articulation point of the adjacency graph).  Every unit is connected, so a unit
holding a block of the hanging part either lies inside it or contains the gate.  When the
hanging part holds fewer households than the minimum, no unit fits inside it, so **all of it
joins the gate's unit**.  Such a forced group is

* a proof of infeasibility when it holds more than a unit may (the maximum, or with k units in a
  piece of W households ``W - (k - 1)·min``, since the other k - 1 units need the minimum each);
* a cap on the unit count of its piece: ``k ≤ 1 + (W - g) // min`` for a group of g households;
* a reduction: the engine gets each group as same-unit pairs, so no construction cuts one apart.

Found in O(blocks + edges) on the block-cut tree of each connected piece.  The rule assumes every
unit holds at least the minimum, so it does not apply to relaxed plans (bounds may be violated).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx


@dataclass(frozen=True)
class Gate:
    """One reason for a forced group: ``beyond`` blocks holding ``households`` reach the rest
    only through the block ``gate``."""

    gate: str
    beyond: tuple[str, ...]
    households: int


@dataclass(frozen=True)
class ForcedGroup:
    """Blocks that every plan within the bounds puts in one unit, and the gates that force it."""

    blocks: tuple[str, ...]
    households: int
    gates: tuple[Gate, ...]

    def explain(self, lower: int) -> str:
        """The reason in a planner's words, for the first (largest) gate."""
        g = self.gates[0]
        shown = ", ".join(g.beyond[:5]) + ("…" if len(g.beyond) > 5 else "")
        more = f" (and {len(self.gates) - 1} more such part(s))" if len(self.gates) > 1 else ""
        return (
            f"the {len(g.beyond)} block(s) {shown} hold {g.households:,} households, fewer than the minimum {lower:,}, "
            f"and reach the rest only through block {g.gate}, so they all join its unit{more}: "
            f"one unit holds these {len(self.blocks)} blocks, {self.households:,} households at least"
        )


def forced_groups(graph: nx.Graph, lower: int) -> list[ForcedGroup]:
    """Every group of two or more blocks that hanging parts force into one unit, heaviest first.

    ``graph`` nodes carry ``households``; edges are the adjacency units may use.  Overlapping
    reasons are merged (union-find), so the groups are disjoint.
    """
    if lower <= 0:
        return []
    households = {v: int(d["households"]) for v, d in graph.nodes(data=True)}
    leader = {v: v for v in graph}
    gates: list[Gate] = []
    for component in nx.connected_components(graph):
        if len(component) < 3 or sum(households[v] for v in component) < 2 * lower:
            continue  # at most one unit fits: nothing to learn
        for gate in _hanging_parts(graph.subgraph(component), households, lower):
            gates.append(gate)
            for block in gate.beyond:
                _union(leader, block, gate.gate)
    members: dict[str, list[str]] = {}
    for v in graph:
        members.setdefault(_find(leader, v), []).append(v)
    by_root: dict[str, list[Gate]] = {}
    for gate in gates:
        by_root.setdefault(_find(leader, gate.gate), []).append(gate)
    groups = [
        ForcedGroup(tuple(sorted(blocks, key=str)), sum(households[b] for b in blocks), tuple(sorted(by_root[root], key=lambda g: -len(g.beyond))))
        for root, blocks in members.items()
        if len(blocks) > 1
    ]
    return sorted(groups, key=lambda g: (-g.households, str(g.blocks[0])))


def forced_households(graph: nx.Graph, groups: list[ForcedGroup]) -> dict:
    """For every block, the households its unit is forced to hold at least: its forced group's
    (of ``groups``, from :func:`forced_groups`), else its own.  A piece's heaviest is the largest
    over its blocks."""
    forced = {v: int(d["households"]) for v, d in graph.nodes(data=True)}
    for group in groups:
        forced.update(dict.fromkeys(group.blocks, group.households))
    return forced


def heaviest_group_in(groups: list[ForcedGroup], piece: set) -> ForcedGroup | None:
    """The heaviest of ``groups`` (heaviest first, as :func:`forced_groups` gives them) inside a
    connected piece: a group never spans two pieces, so its first block decides."""
    return next((g for g in groups if g.blocks[0] in piece), None)


def _hanging_parts(graph: nx.Graph, households: dict, lower: int):
    """The maximal hanging parts below ``lower`` of a connected graph, as :class:`Gate` s.

    On the block-cut tree (rooted at a biconnected component) every tree edge between an
    articulation block and a component splits the graph in two; the side away from the
    articulation block is a hanging part.  Nested parts are skipped below a qualifying one.
    """
    tree, own = _block_cut_tree(graph)
    root = next(node for node in tree if node[0] == "b")
    parent = nx.dfs_predecessors(tree, root)
    order = list(nx.dfs_preorder_nodes(tree, root))
    weight = {node: sum(households[v] for v in own[node]) for node in tree}
    below = dict(weight)
    for node in reversed(order):
        if node in parent:
            below[parent[node]] += below[node]
    total = below[root]
    children: dict = {}
    for node, up in parent.items():
        children.setdefault(up, []).append(node)
    stack = [root]
    while stack:
        node = stack.pop()
        for child in children.get(node, []):
            if node[0] == "c" and below[child] < lower:  # the child's side hangs on the gate `node`
                yield Gate(node[1], tuple(sorted(_blocks_below(child, children, own), key=str)), below[child])
                continue
            if child[0] == "c" and total - below[child] < lower:  # the root's side hangs on `child`
                inside = set(_blocks_below(child, children, own))
                yield Gate(child[1], tuple(sorted((v for v in graph if v not in inside), key=str)), total - below[child])
            stack.append(child)


def _block_cut_tree(graph: nx.Graph) -> tuple[nx.Graph, dict]:
    """The block-cut tree: ("b", i) per biconnected component, ("c", v) per articulation block;
    ``own[node]`` are the blocks counted at that tree node (a component's non-articulation blocks)."""
    cuts = set(nx.articulation_points(graph))
    tree = nx.Graph()
    own: dict = {("c", v): [v] for v in cuts}
    tree.add_nodes_from(own)
    for i, component in enumerate(nx.biconnected_components(graph)):
        own[("b", i)] = [v for v in component if v not in cuts]
        tree.add_node(("b", i))
        tree.add_edges_from((("b", i), ("c", v)) for v in component if v in cuts)
    return tree, own


def _blocks_below(node, children: dict, own: dict) -> list:
    """The blocks of a tree node's subtree."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        found.extend(own[current])
        stack.extend(children.get(current, []))
    return found


def _find(leader: dict, v):
    while leader[v] != v:
        leader[v] = leader[leader[v]]
        v = leader[v]
    return v


def _union(leader: dict, a, b) -> None:
    ra, rb = _find(leader, a), _find(leader, b)
    if ra != rb:
        leader[ra] = rb
