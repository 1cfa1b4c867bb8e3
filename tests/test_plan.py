"""The plan's own figures: the unit table, unit names and ids in reading order."""

import json

import networkx as nx
import pandas as pd

from redistrict.plan import unit_names, unit_table


def test_the_unit_table_gives_households_by_community_as_a_structured_field():
    graph = nx.path_graph(["a", "b", "c"])
    for node, (hh, comm) in zip(graph, [(2273, "阜新"), (244, "荷花池"), (1000, "阜新")], strict=True):
        graph.nodes[node].update(households=hh, x=0.0, y=0.0, community=comm)
    assignment = pd.Series({"a": "U1", "b": "U1", "c": "U2"}, name="unit_id")
    centres = {"U1": {"block_id": "a", "x": 0.0, "y": 0.0, "community": "阜新"}, "U2": {"block_id": "c", "x": 0.0, "y": 0.0, "community": "阜新"}}
    units = unit_table(graph, assignment, centres, lower=1000, upper=3000).set_index("unit_id")
    assert units.loc["U1", "communities"] == {"阜新": 2273, "荷花池": 244}  # largest first; no comma ambiguity
    assert list(units.loc["U1", "communities"]) == ["阜新", "荷花池"]
    assert json.loads(json.dumps(units.loc["U1", "communities"], ensure_ascii=False)) == {"阜新": 2273, "荷花池": 244}
    assert units.loc["U1", "households_moved_in"] == 244


def test_units_are_named_after_their_community_and_numbered_in_order():
    units = ["U1", "U2", "U3", "U10"]
    names = unit_names(units, {"U1": "阜新", "U2": "荷花池", "U3": "阜新", "U10": None})
    assert names == {"U1": "阜新-1", "U2": "荷花池", "U3": "阜新-2", "U10": "U10"}


def test_the_unit_table_lists_u2_before_u10():
    graph = nx.path_graph([f"b{i}" for i in range(11)])
    for node in graph:
        graph.nodes[node].update(households=1, x=0.0, y=0.0)
    assignment = pd.Series({f"b{i}": f"U{i + 1}" for i in range(11)}, name="unit_id")
    centres = {f"U{i + 1}": {"block_id": f"b{i}", "x": 0.0, "y": 0.0} for i in range(11)}
    assert list(unit_table(graph, assignment, centres, lower=1, upper=1)["unit_id"]) == [f"U{i}" for i in range(1, 12)]
