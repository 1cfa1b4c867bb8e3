"""The verifier rejects every kind of bad plan and accepts good ones, independently of the solver."""

import networkx as nx
import pandas as pd

from redistrict.verify import verify_plan


def path_graph(weights):
    graph = nx.path_graph([f"b{i}" for i in range(len(weights))])
    for i, w in enumerate(weights):
        graph.nodes[f"b{i}"]["households"] = w
    return graph


def test_valid_plan_passes():
    graph = path_graph([10, 10, 10, 10])
    report = verify_plan(graph, {"b0": "A", "b1": "A", "b2": "B", "b3": "B"}, lower=20, upper=20, k=2)
    assert report.ok, report.summary()
    assert report.unit_households == {"A": 20, "B": 20}


def test_non_contiguous_unit_lists_its_pieces():
    graph = path_graph([10, 10, 10, 10])
    report = verify_plan(graph, {"b0": "A", "b1": "B", "b2": "A", "b3": "B"})
    kinds = [v.kind for v in report.violations]
    assert kinds.count("not_contiguous") == 2
    (a,) = [v for v in report.violations if v.unit == "A"]
    assert "2 pieces" in a.message and a.block_ids == ("b2",)


def test_unassigned_unknown_and_doubly_assigned_blocks():
    graph = path_graph([10, 10, 10])
    pairs = pd.DataFrame({"block_id": ["b0", "b0", "b1", "zz", "b2"], "unit": ["A", "B", "A", "A", None]})
    report = verify_plan(graph, pairs)
    by_kind = {v.kind: v for v in report.violations}
    assert by_kind["unknown_block"].block_ids == ("zz",)
    assert by_kind["multiply_assigned"].block_ids == ("b0",)
    assert by_kind["unassigned"].block_ids == ("b2",)
    assert not report.ok


def test_bounds_and_unit_count():
    graph = path_graph([10, 30, 10])
    report = verify_plan(graph, {"b0": "A", "b1": "B", "b2": "B"}, lower=15, upper=35, k=3)
    out = {v.unit: v.message for v in report.of_kind("out_of_bounds")}
    assert "10 households, below the minimum 15" in out["A"]
    assert "40 households, above the maximum 35" in out["B"]
    assert "3 were asked for" in report.of_kind("unit_count")[0].message


def test_relaxed_bounds_are_stated_not_failed():
    graph = path_graph([10, 30])
    report = verify_plan(graph, {"b0": "A", "b1": "A"}, lower=10, upper=35, bounds_relaxed=True)
    assert report.ok
    assert [v.unit for v in report.relaxed_units] == ["A"]
    assert report.to_dict()["relaxed_units"][0]["kind"] == "relaxed_bounds"
