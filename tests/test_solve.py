"""From Problem to verified Plan: bounds, contiguity, offices, locks, keep-together, infeasibility."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pytest
from conftest import make_grid
from shapely.geometry import Point

from redistrict.graph import build_graph
from redistrict.io import from_geodataframe
from redistrict.problem import Problem, Weights
from redistrict.solve import solve
from redistrict.verify import verify_plan


def grid_problem(rows=4, cols=4, households=None, community=None, **kwargs):
    layer = from_geodataframe(make_grid(rows, cols, households=households, community=community))
    graph = build_graph(layer.blocks)
    return layer, graph, Problem.from_layer(layer, graph, **kwargs)


def star_graph(centre_hh, leaf_hh, leaves=3):
    graph = nx.star_graph(leaves)
    graph = nx.relabel_nodes(graph, {i: f"b{i}" for i in graph})
    for i, node in enumerate(sorted(graph)):
        graph.nodes[node].update(households=centre_hh if node == "b0" else leaf_hh, x=float(i * 100), y=0.0)
    return graph


def test_grid_split_into_equal_contiguous_units():
    layer, graph, problem = grid_problem(lower=400, upper=400)
    assert problem.unit_count == 4 and "only number" in problem.k_reason
    plan = solve(problem)
    assert plan.status == "optimal", plan.message
    assert plan.ok
    assert sorted(plan.units["households"]) == [400] * 4
    assert set(plan.assignment.index) == set(layer.blocks.index)
    assert verify_plan(graph, plan.assignment, lower=400, upper=400, k=4).ok
    assert plan.units["unit_id"].tolist() == ["U1", "U2", "U3", "U4"]
    assert plan.objective["households_moved"] == 0


def test_solvers_agree_on_the_optimum():
    _, _, problem = grid_problem(3, 4, lower=300, upper=500)
    highs = solve(problem, solver="highs")
    cbc = solve(problem, solver="cbc")
    assert highs.status == cbc.status == "optimal"
    assert highs.objective["compactness_hh_km2"] == pytest.approx(cbc.objective["compactness_hh_km2"], rel=1e-6)


def test_arithmetic_infeasibility_is_diagnosed_before_solving():
    _, _, problem = grid_problem(3, 3, households=[1027] * 8 + [1026], lower=2500, upper=3000)
    assert problem.unit_count is None
    plan = solve(problem)
    assert plan.status == "infeasible" and plan.exit_code == 3
    assert plan.assignment is None
    assert not plan.diagnosis.proved_by_solver
    text = plan.diagnosis.summary()
    assert "(9,242 households) cannot form units of 2,500–3,000" in text
    assert "3 units would average 3,081" in text
    assert "--relax" in text


def test_relax_returns_the_plan_with_smallest_largest_violation():
    _, _, problem = grid_problem(3, 3, households=[1027] * 8 + [1026], lower=2500, upper=3000)
    plan = solve(problem, relax=True)
    assert plan.status == "relaxed"
    assert plan.ok  # verified, with the relaxation stated
    assert plan.verification.relaxed_units
    # 9 blocks of ~1,027 into k units: 3 units of 3 blocks = 3,081/3,081/3,080 → violation 81;
    # any 4-unit plan has a 2-block unit (2,054: violation 446); so k=3 and 81 is optimal.
    assert len(plan.units) == 3
    assert plan.units["violation"].max() == 81
    assert "the largest violation is 81 households (3 units outside 2,500–3,000)" in plan.message


def test_contiguity_infeasibility_is_proved_by_the_solver():
    # K(2,3) has no articulation point, so no forced group: only {b1, a1, a2} + {b2, b3} sums to
    # 8 + 8, and b2, b3 are not adjacent
    graph = nx.complete_bipartite_graph(2, 3)
    graph = nx.relabel_nodes(graph, {0: "a1", 1: "a2", 2: "b1", 3: "b2", 4: "b3"})
    for i, (node, hh) in enumerate({"a1": 1, "a2": 1, "b1": 6, "b2": 4, "b3": 4}.items()):
        graph.nodes[node].update(households=hh, x=float(i * 100), y=0.0)
    plan = solve(Problem(graph=graph, lower=8, upper=8, k=2))
    assert plan.status == "infeasible"
    assert plan.diagnosis.proved_by_solver
    assert any(r.kind == "solver_proof" for r in plan.diagnosis.reasons)


def test_a_hanging_part_below_the_minimum_is_diagnosed_before_solving():
    # every leaf (5) is below the minimum 8 and reaches the rest only through the centre b0,
    # so all of them join b0's unit: 16 households, above the maximum
    plan = solve(Problem(graph=star_graph(1, 5), lower=8, upper=8, k=2))
    assert plan.status == "infeasible" and not plan.diagnosis.proved_by_solver
    reason = next(r for r in plan.diagnosis.reasons if r.kind == "forced_group")
    assert sorted(reason.block_ids) == ["b0", "b1", "b2", "b3"]
    assert "16 households" in reason.message and "through block b0" in reason.message


def tailed_grid():
    """A 3×3 grid of 100-household blocks (r0c0…r2c2) with a tail of two 70-household blocks
    hanging off r1c2: the tail joins r1c2's unit, which then holds at least 240 of 1,040."""
    layer = from_geodataframe(make_grid(3, 3))
    graph = build_graph(layer.blocks)
    graph.add_node("t1", households=70, x=1e4, y=0.0)
    graph.add_node("t2", households=70, x=2e4, y=0.0)
    graph.add_edges_from([("r1c2", "t1"), ("t1", "t2")])
    return graph


def test_a_forced_group_caps_the_unit_count():
    graph = tailed_grid()
    # minimum 150: 3–6 units fit by count, and 6 leave 1,040 - 5 × 150 = 290 ≥ 240 for the tail's unit
    assert Problem(graph=graph, lower=150, upper=400).k_reason.endswith("k=4, 5, 6 would also fit")
    # minimum 170: 6 still fit by count (1,020 ≤ 1,040), but leave only 190 for a unit of 240+
    assert Problem(graph=graph, lower=170, upper=400).k_reason.endswith("k=4, 5 would also fit")
    plan = solve(Problem(graph=graph, lower=170, upper=400, k=6))
    assert plan.status == "infeasible" and not plan.diagnosis.proved_by_solver
    reason = next(r for r in plan.diagnosis.reasons if r.kind == "forced_group")
    assert "no unit can hold more than 190 (1,040 − 5 × 170): use --k 5 or fewer" in reason.message
    assert sorted(reason.block_ids) == ["r1c2", "t1", "t2"]
    assert solve(Problem(graph=graph, lower=170, upper=400, k=4)).ok


def offices_near(layer, specs):
    """Office points at given block centroids: specs = [(block_id, area), ...]."""
    cents = layer.blocks.geometry.centroid
    pts = [Point(cents[b].x + 5, cents[b].y + 5) for b, _ in specs]
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(len(specs))], "name": [f"站{i}" for i in range(len(specs))], "floor_area_m2": [a for _, a in specs]}, geometry=pts, crs=layer.blocks.crs)


def test_each_unit_gets_a_distinct_qualifying_office():
    layer = from_geodataframe(make_grid(4, 4))
    graph = build_graph(layer.blocks)
    sites = offices_near(layer, [("r0c0", 350), ("r0c3", 400), ("r3c0", 320), ("r3c3", 500), ("r1c1", 80)])
    problem = Problem.from_layer(layer, graph, lower=400, upper=400, offices=sites)
    assert len(problem.offices) == 4  # the 80 m² room does not qualify
    plan = solve(problem)
    assert plan.status == "optimal"
    assert sorted(plan.units["office_site"]) == ["S0", "S1", "S2", "S3"]
    for row in plan.units.itertuples():
        assert plan.assignment[row.centre_block] == row.unit_id  # the office lies in its own unit
        assert row.max_distance_m > 0


def test_too_few_offices_is_infeasible_even_with_relax():
    layer = from_geodataframe(make_grid(4, 4))
    graph = build_graph(layer.blocks)
    sites = offices_near(layer, [("r0c0", 350), ("r3c3", 100)])
    problem = Problem.from_layer(layer, graph, lower=400, upper=400, offices=sites)
    plan = solve(problem, relax=True)
    assert plan.status == "infeasible"
    assert any(r.kind == "offices" and "Only 1 block" in r.message for r in plan.diagnosis.reasons)


def test_locks_and_keep_together_hold():
    grid = make_grid(4, 4)
    grid["parcel"] = None
    grid.loc[grid["block_id"].isin(["r1c1", "r1c2"]), "parcel"] = "P1"
    layer = from_geodataframe(grid)
    graph = build_graph(layer.blocks)
    locks = {"r0c0": "north", "r0c1": "north", "r3c3": "south", "r0c3": "east"}
    problem = Problem.from_layer(layer, graph, lower=400, upper=400, locks=locks, keep_together_col="parcel")
    plan = solve(problem)
    assert plan.ok
    a = plan.assignment
    assert a["r0c0"] == a["r0c1"]
    assert len({a["r0c0"], a["r3c3"], a["r0c3"]}) == 3
    assert a["r1c1"] == a["r1c2"]


def test_units_do_not_cross_subdistricts_unless_allowed():
    grid = make_grid(2, 4)
    layer = from_geodataframe(grid)
    layer.blocks["subdistrict"] = ["W", "W", "E", "E", "W", "W", "E", "E"]
    graph = build_graph(layer.blocks)
    problem = Problem.from_layer(layer, graph, lower=200, upper=200)
    plan = solve(problem)
    assert plan.ok
    for _unit, members in plan.assignment.groupby(plan.assignment):
        assert layer.blocks.loc[members.index, "subdistrict"].nunique() == 1


def test_stability_keeps_households_in_their_community():
    community = ["A", "A", "B", "B"] * 4
    _, _, problem = grid_problem(4, 4, community=community, lower=800, upper=800, weights=Weights(compactness=0.0, stability=1.0))
    plan = solve(problem)
    assert plan.status == "optimal"
    assert plan.objective["households_moved"] == 0
    assert sorted(plan.units["name"]) == ["A", "B"]


def test_a_stability_term_searches_by_units_per_community_and_finds_the_same_optimum():
    community = ["A"] * 6 + ["B"] * 6 + ["C"] * 4
    households = [120, 90, 150, 80, 110, 100, 95, 130, 70, 140, 105, 85, 125, 90, 100, 110]
    _, _, problem = grid_problem(4, 4, households=households, community=community, lower=350, upper=450, weights=Weights(compactness=1.0, stability=0.01))
    by_counts = solve(problem, time_limit=60)
    plain = solve(problem, time_limit=60, formulation="cuts")  # a formulation asked for: the plain model
    assert by_counts.status == plain.status == "optimal", (by_counts.message, plain.message)
    assert by_counts.objective["model_objective"] == pytest.approx(plain.objective["model_objective"], rel=1e-6)
    assert by_counts.solver["pieces"][0]["improvement"]["counts"]["groups"] == 3
    assert "counts" not in plain.solver["pieces"][0]["improvement"]


def test_unknown_community_suggests_close_matches():
    layer = from_geodataframe(make_grid(2, 2, community=["阜新", "阜新", "荷花池", "荷花池"]))
    graph = build_graph(layer.blocks)
    with pytest.raises(ValueError, match="Did you mean 阜新"):
        Problem.from_layer(layer, graph, communities=["阜兴"])


def test_prebuilt_networkx_graph_with_cut_edge_objective(tmp_path):
    """A GerryChain-style adjacency_data JSON graph solves with the cut-edge objective."""
    import json

    from networkx.readwrite import json_graph

    from redistrict.graph import read_graph_json

    grid = nx.grid_2d_graph(4, 4)
    grid = nx.relabel_nodes(grid, {(r, c): r * 4 + c for r, c in grid})
    for node in grid:
        grid.nodes[node].update(TOTPOP=10, C_X=118.3 + 0.01 * (node % 4), C_Y=29.7 + 0.01 * (node // 4))
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(json_graph.adjacency_data(grid)), encoding="utf-8")
    graph = read_graph_json(path, weight="TOTPOP", x="C_X", y="C_Y")
    problem = Problem(graph=graph, k=2, lower=80, upper=80, weights=Weights(compactness=0, boundary=1, unit_edges=True))
    plan = solve(problem)
    assert plan.status == "optimal"
    assert plan.objective["cut_edges"] == 4  # a straight cut through a 4×4 grid
    assert verify_plan(graph, plan.assignment, lower=80, upper=80, k=2).ok


def _brute_min_violation(graph, k, lower, upper):
    """Smallest largest bound violation over every partition of the graph into k connected units."""
    import itertools

    nodes = sorted(graph)
    best = None
    for labels in itertools.product(range(k), repeat=len(nodes)):
        if labels[0] != 0 or len(set(labels)) != k:
            continue
        units = [[n for n, lab in zip(nodes, labels, strict=True) if lab == u] for u in range(k)]
        if not all(nx.is_connected(graph.subgraph(u)) for u in units):
            continue
        worst = max(max(0, lower - t, t - upper) for t in (sum(graph.nodes[n]["households"] for n in u) for u in units))
        best = worst if best is None else min(best, worst)
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_relax_matches_brute_force_on_tiny_graphs(seed):
    import random

    rng = random.Random(seed)
    graph = nx.grid_2d_graph(2, 4)
    graph = nx.relabel_nodes(graph, {(r, c): f"b{r}{c}" for r, c in graph})
    for i, node in enumerate(sorted(graph)):
        graph.nodes[node].update(households=rng.randint(5, 60), x=float(i * 100), y=0.0)
    total = sum(d["households"] for _, d in graph.nodes(data=True))
    k, lower, upper = 3, total // 3 + 5, total // 3 + 8  # the average lies below the bounds: relax needed
    problem = Problem(graph=graph, k=k, lower=lower, upper=upper)
    expected = _brute_min_violation(graph, k, lower, upper)
    plan = solve(problem, relax=True, relax_tolerance=0)
    assert plan.status == "relaxed" and plan.ok and plan.exit_code == 0
    assert int(plan.units["violation"].max()) == expected
    assert "proved minimal" in plan.message and "not proved" not in plan.message
    # the default tolerance (1 household here) may stop short of a proof: then it says so, exit 4
    quick = solve(problem, relax=True)
    worst = int(quick.units["violation"].max())
    assert expected <= worst <= expected + 1
    if quick.status == "relaxed_unproved":
        assert quick.exit_code == 4 and "not proved minimal: at least" in quick.message
    # the same input and options give the same plan (no time limit: every step runs to its end)
    assert solve(problem, relax=True, relax_tolerance=0).assignment.equals(plan.assignment)


def _stopped_by_limit(monkeypatch, *, raise_error: type[Exception] | None = None):
    """Make the engine behave as if the time limit stopped it after finding its plan."""
    import dataclasses

    import redistrict.model.strategy as strategy

    real = strategy.solve_model

    def limited(data, **kwargs):
        if raise_error:
            raise raise_error("HiGHS crashed (simulated)")
        solution = real(data, **kwargs)
        return dataclasses.replace(solution, status="feasible", gap=0.125, best_bound=(solution.objective or 0) * 0.875)

    monkeypatch.setattr(strategy, "solve_model", limited)


def test_time_limit_gives_timed_out_with_the_verified_plan(monkeypatch):
    _stopped_by_limit(monkeypatch)
    _, _, problem = grid_problem(lower=350, upper=450)
    plan = solve(problem, time_limit=30)  # long enough to keep no time for a Lagrangian bound
    assert plan.status == "timed_out" and plan.exit_code == 4 and plan.ok
    assert "NOT proved optimal" in plan.message and "12.50%" in plan.message
    assert verify_plan(problem.graph, plan.assignment, lower=350, upper=450).ok


def test_a_plan_within_the_asked_gap_is_feasible_not_timed_out(monkeypatch):
    _stopped_by_limit(monkeypatch)
    plan = solve(grid_problem(lower=350, upper=450)[2], mip_gap=0.2)
    assert plan.status == "feasible" and plan.exit_code == 0


def test_a_solver_crash_is_status_no_solution_exit_4(monkeypatch):
    from redistrict.errors import SolverError

    _stopped_by_limit(monkeypatch, raise_error=SolverError)
    plan = solve(grid_problem(lower=350, upper=450)[2], workers=1)
    assert plan.status == "no_solution" and plan.exit_code == 4 and plan.assignment is None
    assert "HiGHS crashed" in plan.message


@pytest.mark.parametrize("bug", [RuntimeError, NotImplementedError, RecursionError])
def test_a_programming_error_is_not_dressed_up_as_a_solver_failure(monkeypatch, bug):
    _stopped_by_limit(monkeypatch, raise_error=bug)
    with pytest.raises(bug):
        solve(grid_problem(lower=350, upper=450)[2], workers=1)


def test_relax_out_of_time_before_any_plan_is_no_solution_not_a_crash(monkeypatch):
    import dataclasses

    import redistrict.model as model

    real = model.solve_model

    def undecided(data, **kwargs):
        solution = real(data, **kwargs)
        return dataclasses.replace(solution, status="no_solution", centre_of=None, objective=None, gap=None)

    monkeypatch.setattr(model, "solve_model", undecided)
    monkeypatch.setattr("redistrict.model.relax.construct_plan", lambda *a, **k: None)  # construction finds nothing either
    monkeypatch.setattr("redistrict.model.enumeration.searchable", lambda data: False)  # nor the exhaustive search
    _, _, problem = grid_problem(households=[100] * 15 + [150], lower=350, upper=380)  # 1,650 = 4 × 412.5: must relax
    plan = solve(problem, relax=True, time_limit=2)
    assert plan.status == "no_solution" and plan.exit_code == 4 and plan.assignment is None


def test_relax_note_only_claims_what_was_proved():
    _, _, problem = grid_problem(households=[100] * 15 + [150], lower=350, upper=380)
    plan = solve(problem, relax=True, time_limit=60, relax_tolerance=0)
    assert plan.status == "relaxed" and plan.ok
    worst = int(plan.units["violation"].max())
    assert worst >= 33  # 1,650 / 4 = 412.5 > 380: at least 33 by arithmetic
    assert "proved minimal" in plan.message and "not proved" not in plan.message


def test_a_tight_unit_count_gets_a_roomier_suggestion():
    from redistrict.solve import _roomier_k

    _, _, problem = grid_problem(lower=250, upper=400)  # 1,600 households: k = 4 (400 each), 5 or 6 fit
    assert problem.unit_count == 4
    hint = _roomier_k(problem, 4)
    assert "4 units average 400 households, only 0 from a bound" in hint and "try --k 5" in hint
    assert _roomier_k(problem, 5) == "", "5 units (average 320) already have the most room"


def test_a_negative_piece_bound_is_raised_to_zero_and_a_valid_one_kept() -> None:
    """Every objective term is ≥ 0; a solver stopped before its first LP reports a negative
    bound, which would show as a gap of thousands of per cent."""
    from redistrict.model.strategy import PieceResult
    from redistrict.solve import _at_least_zero

    stopped = PieceResult("feasible", None, None, 524.0, -23_040.0, "exact", "", 1.0)
    assert _at_least_zero(stopped).bound == 0.0
    proved = PieceResult("feasible", None, None, 524.0, 512.5, "exact", "", 1.0)
    assert _at_least_zero(proved).bound == 512.5
    assert _at_least_zero(PieceResult("heuristic", None, None, 524.0, None, "heuristic", "", 1.0)).bound is None
