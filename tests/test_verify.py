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


# --- every rule of a problem, each broken alone by a hand-made plan ------------------------------

import dataclasses  # noqa: E402

import pytest  # noqa: E402

from redistrict.errors import InputError  # noqa: E402
from redistrict.problem import Problem, within_subdistricts  # noqa: E402
from redistrict.verify import Rules, rules_of  # noqa: E402

GOOD = {"b0": "A", "b1": "A", "b2": "B", "b3": "B"}


def problem_on_path(**kwargs):
    """Four blocks in a row, 10 households each, two subdistricts (b0–b1 | b2–b3) unless told."""
    graph = path_graph([10, 10, 10, 10])
    for node, sub in zip(graph.nodes, kwargs.pop("subdistricts", "SSTT"), strict=True):
        graph.nodes[node].update(subdistrict=sub, x=0.0, y=0.0)
    return Problem(graph=graph, lower=20, upper=20, k=2, **kwargs)


def kinds(report):
    return sorted(v.kind for v in report.violations)


def test_a_problem_s_own_plan_passes_every_rule_and_says_which_were_checked():
    offices = pd.DataFrame({"site_id": ["s1", "s2"], "name": ["甲", "乙"], "floor_area_m2": [400.0, 500.0], "block_id": ["b1", "b3"], "x": 0.0, "y": 0.0})
    problem = problem_on_path(offices=offices, locks={"b0": "X"}, keep_together={"b2": "g", "b3": "g"}, subdistricts="SSSS")
    report = verify_plan(problem, GOOD)
    assert report.ok, report.summary()
    assert {"locks", "keep-together groups", "an office per unit", "coverage", "contiguity"} <= set(report.checks)


def test_blocks_locked_together_but_split_break_only_the_lock_rule():
    problem = problem_on_path(locks={"b1": "X", "b2": "X"}, subdistricts="SSSS")
    report = verify_plan(problem, GOOD)
    assert kinds(report) == ["lock_split"]
    assert report.violations[0].block_ids == ("b1", "b2")


def test_blocks_locked_apart_but_joined_break_only_the_lock_rule():
    problem = problem_on_path(locks={"b0": "X", "b1": "Y"}, subdistricts="SSSS")
    assert kinds(verify_plan(problem, GOOD)) == ["locks_joined"]


def test_a_split_keep_together_group_breaks_only_that_rule():
    problem = problem_on_path(keep_together={"b1": "g", "b2": "g"}, subdistricts="SSSS")
    report = verify_plan(problem, GOOD)
    assert kinds(report) == ["group_split"]
    assert "b1 in A" in report.violations[0].message and "b2 in B" in report.violations[0].message


def test_a_unit_without_an_office_of_the_minimum_area_breaks_only_the_office_rule():
    offices = pd.DataFrame({"site_id": ["s1", "s2"], "name": ["甲", "乙"], "floor_area_m2": [400.0, 500.0], "block_id": ["b0", "b1"], "x": 0.0, "y": 0.0})
    report = verify_plan(problem_on_path(offices=offices, subdistricts="SSSS"), GOOD)
    assert kinds(report) == ["no_office"] and report.violations[0].unit == "B"
    small = dataclasses.replace(rules_of(problem_on_path(offices=offices.assign(block_id=["b0", "b3"]), subdistricts="SSSS")), min_office_area=450.0)
    assert kinds(verify_plan(problem_on_path(subdistricts="SSSS").graph, GOOD, rules=small)) == ["no_office"]


def test_a_unit_across_a_subdistrict_line_breaks_only_that_rule():
    crossing = {"b0": "A", "b1": "B", "b2": "B", "b3": "A"}  # B = b1–b2 crosses S|T; A is cut too
    problem = problem_on_path()
    report = verify_plan(problem.graph, {"b0": "A", "b1": "B", "b2": "B", "b3": "C"}, rules=dataclasses.replace(rules_of(problem, one_subdistrict=True), k=None, lower=None, upper=None))
    assert kinds(report) == ["crosses_subdistrict"]
    # a problem whose graph joins no two subdistricts (from_layer without --cross-subdistricts) keeps the lines
    assert not rules_of(problem).one_subdistrict
    assert rules_of(dataclasses.replace(problem, graph=within_subdistricts(problem.graph))).one_subdistrict
    assert "S, T" in report.violations[0].message
    assert "not_contiguous" in kinds(verify_plan(problem.graph, crossing))


def test_blocks_outside_the_covered_ones_and_missing_ones_are_named():
    graph = path_graph([10, 10, 10, 10])
    report = verify_plan(graph, {"b0": "A", "b1": "A", "b2": "B"}, covered=["b0", "b1"], lower=10, upper=20)
    assert kinds(report) == ["outside_scope"] and report.violations[0].block_ids == ("b2",)
    report = verify_plan(graph, {"b0": "A"}, covered=["b0", "b1"])
    assert kinds(report) == ["unassigned"] and report.violations[0].block_ids == ("b1",)


def test_a_plan_of_a_problem_covers_only_the_problem_s_blocks():
    """The README example: a subdistrict's plan, verified against its problem, is valid."""
    graph = path_graph([10, 10, 10, 10, 10, 10])
    problem = Problem(graph=graph.subgraph(["b0", "b1", "b2", "b3"]).copy(), lower=20, upper=20)
    assert verify_plan(problem, GOOD).ok
    assert kinds(verify_plan(graph, GOOD, lower=20, upper=20)) == ["unassigned"]


@pytest.mark.parametrize("bad", [{"lower": float("nan")}, {"upper": -1}, {"lower": 30, "upper": 20}, {"k": 0}, {"k": 1.5}])
def test_meaningless_rules_are_input_errors(bad):
    with pytest.raises(InputError):
        Rules(**bad)


def test_units_are_reported_in_numeric_order():
    graph = path_graph([10] * 12)
    plan = {f"b{i}": f"U{i + 1}" for i in range(12)}
    assert list(verify_plan(graph, plan).unit_households) == [f"U{i}" for i in range(1, 13)]
