"""Forced groups: hanging parts below the minimum join their gate's unit (checked by brute force)."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from redistrict.forced import forced_groups, forced_households
from redistrict.problem import allocate_units, unit_count_range


def weighted(graph: nx.Graph, households: dict) -> nx.Graph:
    nx.set_node_attributes(graph, households, "households")
    return graph


def lollipop(tail_households: list[int], ring_households: int = 100, ring: int = 6) -> nx.Graph:
    """A ring of blocks r0..r5 with a path t0-t1-… hanging off r0 (r0 is the gate)."""
    graph = nx.cycle_graph([f"r{i}" for i in range(ring)])
    tail = [f"t{i}" for i in range(len(tail_households))]
    nx.add_path(graph, ["r0", *tail])
    households = {f"r{i}": ring_households for i in range(ring)} | dict(zip(tail, tail_households, strict=True))
    return weighted(graph, households)


def test_a_tail_below_the_minimum_joins_its_gate():
    graph = lollipop([50, 60, 70])
    groups = forced_groups(graph, lower=200)
    assert len(groups) == 1
    group = groups[0]
    assert set(group.blocks) == {"r0", "t0", "t1", "t2"}
    assert group.households == 100 + 180
    assert group.gates[0].gate == "r0" and group.gates[0].households == 180
    assert "r0" in group.explain(200) and "180" in group.explain(200)


def test_a_tail_that_can_be_a_unit_forces_nothing():
    assert forced_groups(lollipop([200]), lower=200) == []
    inner = forced_groups(lollipop([100, 100]), lower=200)  # t1 alone is too small: it joins t0
    assert [g.blocks for g in inner] == [("t0", "t1")]
    assert forced_groups(lollipop([50, 60]), lower=0) == []


def test_the_forced_weight_caps_the_unit_count():
    graph = lollipop([50, 60, 70])  # 780 households; the group holds 280
    forced = forced_households(graph, forced_groups(graph, 200))
    assert forced["t1"] == 280 and forced["r3"] == 100
    assert unit_count_range(780, 200, 400) == (2, 3)
    assert unit_count_range(780, 200, 400, heaviest=280) == (2, 3)  # 1 + (780 - 280) // 200 = 3
    assert unit_count_range(780, 200, 400, heaviest=390) == (2, 2)
    assert unit_count_range(780, 200, 400, heaviest=500) == (2, 3)  # above the maximum: a reason of its own
    assert allocate_units([780, 780], 5, 200, 400, heaviest=[390, 0]) == [2, 3]
    assert allocate_units([780, 780], 6, 200, 400, heaviest=[390, 0]) is None


def connected_partitions(graph: nx.Graph, lower: int, upper: int):
    """Every partition of the graph into connected units within [lower, upper] (tiny graphs)."""
    nodes = list(graph)
    households = nx.get_node_attributes(graph, "households")

    def extend(i: int, units: list[list]):
        if i == len(nodes):
            if all(lower <= sum(households[v] for v in u) <= upper and nx.is_connected(graph.subgraph(u)) for u in units):
                yield [list(u) for u in units]
            return
        for u in units:
            u.append(nodes[i])
            yield from extend(i + 1, units)
            u.pop()
        units.append([nodes[i]])
        yield from extend(i + 1, units)
        units.pop()

    yield from extend(0, [])


def random_tree_like(seed: int) -> nx.Graph:
    """A small connected graph with articulation points: a random tree plus a few chords."""
    rng = random.Random(seed)
    n = rng.randint(6, 9)
    graph = nx.random_labeled_tree(n, seed=seed) if hasattr(nx, "random_labeled_tree") else nx.random_tree(n, seed=seed)
    for _ in range(rng.randint(0, 2)):
        a, b = rng.sample(range(n), 2)
        graph.add_edge(a, b)
    graph = nx.relabel_nodes(graph, {v: f"b{v}" for v in graph})
    return weighted(graph, {v: rng.randint(1, 9) for v in graph})


@pytest.mark.parametrize("seed", range(40))
def test_every_plan_keeps_each_forced_group_in_one_unit(seed):
    graph = random_tree_like(seed)
    total = sum(nx.get_node_attributes(graph, "households").values())
    rng = random.Random(seed)
    lower = rng.randint(5, 12)
    upper = lower + rng.randint(0, 8)
    groups = forced_groups(graph, lower)
    heaviest = max(forced_households(graph, groups).values())
    plans = list(connected_partitions(graph, lower, upper))
    for plan in plans:
        unit_of = {v: i for i, unit in enumerate(plan) for v in unit}
        for group in groups:
            assert len({unit_of[v] for v in group.blocks}) == 1, (seed, group, plan)
        fits = unit_count_range(total, lower, upper, graph.number_of_nodes(), heaviest)
        assert fits is not None and fits[0] <= len(plan) <= fits[1]


def test_the_brute_force_cases_do_force_groups():
    """The random cases above are not vacuous: many have both forced groups and plans."""
    both = 0
    for seed in range(40):
        graph = random_tree_like(seed)
        rng = random.Random(seed)
        lower = rng.randint(5, 12)
        upper = lower + rng.randint(0, 8)
        both += bool(forced_groups(graph, lower)) and any(True for _ in connected_partitions(graph, lower, upper))
    assert both >= 10
