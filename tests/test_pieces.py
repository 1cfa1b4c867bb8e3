"""Pieces: independent sub-problems with their own unit counts, solved apart and merged."""

from __future__ import annotations

import importlib
import itertools
import time

import networkx as nx
import numpy as np
import pytest
from conftest import make_grid

from redistrict import Problem, Weights, build_graph, from_geodataframe, solve, verify_plan
from redistrict.errors import InputError
from redistrict.pieces import RESCUE_MIN_SECONDS, TimeShare, find_pieces, piece_budgets
from redistrict.problem import allocate_units, unit_count_range, unit_room


def two_subdistricts(rows=3, cols=6, households=None):
    """A grid whose west half is subdistrict 西 and east half 东 (units never cross the line)."""
    gdf = make_grid(rows, cols, households=households)
    gdf["subdistrict"] = ["西" if i % cols < cols // 2 else "东" for i in range(rows * cols)]
    layer = from_geodataframe(gdf)
    return layer, build_graph(layer.blocks)


def test_find_pieces_orders_largest_first():
    parts = find_pieces(6, np.array([(0, 1), (2, 3), (3, 4)]))
    assert [p.tolist() for p in parts] == [[2, 3, 4], [0, 1], [5]]


def brute_allocation(totals, k, lower, upper):
    ranges = [unit_count_range(t, lower, upper) for t in totals]
    best = None
    for ks in itertools.product(*[range(r[0], r[1] + 1) for r in ranges]):
        if sum(ks) != k:
            continue
        rooms = [unit_room(t, kk, lower, upper) for t, kk in zip(totals, ks, strict=True)]
        score = (min(rooms), sum(rooms))
        if best is None or score > best[0]:
            best = (score, list(ks))
    return None if best is None else best[1]


@pytest.mark.parametrize("totals,k", [([9000, 5600, 14000], 11), ([9000, 5600, 14000], 10), ([16256, 13668], 11), ([16256, 13668], 12), ([16256, 13668], 10), ([2600, 2600], 3)])
def test_allocation_is_the_brute_force_best(totals, k):
    assert allocate_units(totals, k, 2500, 3000) == brute_allocation(totals, k, 2500, 3000)


def test_without_k_each_piece_gets_its_fewest_units():
    layer, graph = two_subdistricts(households=[100] * 18)
    problem = Problem.from_layer(layer, graph, lower=200, upper=300)
    # 900 households each side: 3 units each, although 1,800 in total would fit 6 as well as... 6
    assert problem.unit_count == 6 and "2 separate pieces" in problem.k_reason
    plan = solve(problem, workers=1)
    assert plan.ok and len(plan.pieces) == 2 and {r["k"] for r in plan.pieces} == {3}


def test_the_whole_layer_count_would_undercount_pieces():
    # 1,000 households a side, units of 300–550: the whole layer (2,000) fits 4, but each side needs 2
    hh = [100] * 9 + [125] * 8 + [0]
    layer, graph = two_subdistricts(rows=3, cols=6, households=[hh[i] for i in range(18)])
    problem = Problem.from_layer(layer, graph, lower=300, upper=550)
    sides = [sum(graph.nodes[b]["households"] for b in c) for c in nx.connected_components(problem.graph)]
    assert problem.unit_count == sum(unit_count_range(t, 300, 550)[0] for t in sides)


def test_two_subdistricts_give_the_same_plan_as_each_alone():
    layer, graph = two_subdistricts()
    whole = solve(Problem.from_layer(layer, graph, lower=300, upper=300), workers=1)
    assert whole.status == "optimal"
    for side in ("西", "东"):
        alone = solve(Problem.from_layer(layer, graph, subdistrict=side, lower=300, upper=300), workers=1)
        blocks = alone.assignment.index
        together = whole.assignment[blocks]
        # the same partition of the side's blocks (unit names may differ)
        assert set(map(frozenset, alone.assignment.groupby(alone.assignment).groups.values())) == set(map(frozenset, together.groupby(together).groups.values()))
        assert whole.objective["compactness_hh_km2"] >= alone.objective["compactness_hh_km2"]


def test_pieces_in_worker_processes_give_the_same_plan_as_in_this_process():
    layer, graph = two_subdistricts()
    problem = Problem.from_layer(layer, graph, lower=300, upper=300)
    here = solve(problem, workers=1)
    there = solve(problem, workers=2)
    assert here.status == there.status == "optimal"
    assert here.assignment.equals(there.assignment)


def test_only_a_lone_piece_gets_the_runs_workers(monkeypatch):
    # a lone piece may start workers of its own (regions, model/mend.py); several share the run's
    solving = importlib.import_module("redistrict.solve")  # the package's ``solve`` is the function
    seen: list[list[int]] = []
    real = solving.solve_in_phases

    def spy(pieces, tasks, **run):
        seen.append([task.workers for task in tasks])
        return real(pieces, tasks, **run)

    monkeypatch.setattr(solving, "solve_in_phases", spy)
    layer, graph = two_subdistricts()
    solve(Problem.from_layer(layer, graph, lower=300, upper=300), workers=2)
    solve(Problem.from_layer(layer, graph, subdistrict="西", lower=300, upper=300), workers=2)
    assert seen == [[1, 1], [2]]


def test_a_global_k_is_distributed_and_an_impossible_one_names_the_pieces():
    layer, graph = two_subdistricts()
    plan = solve(Problem.from_layer(layer, graph, lower=200, upper=500, k=5), workers=1)
    assert plan.ok and sorted(r["k"] for r in plan.pieces) == [2, 3]
    # 990 households a side fit only 3 units of 300–450 each: 1,980 would fit 5 as a whole, not in pieces
    layer, graph = two_subdistricts(households=[110] * 18)
    bad = solve(Problem.from_layer(layer, graph, lower=300, upper=450, k=5), workers=1)
    assert bad.status == "infeasible"
    message = bad.message
    assert "separate pieces" in message and "subdistrict 西" in message and "--k 6" in message


def test_blocks_locked_together_across_pieces_are_an_input_error():
    layer, graph = two_subdistricts()
    with pytest.raises(InputError, match="separate pieces") as caught:
        Problem.from_layer(layer, graph, lower=300, upper=300, locks={"r0c0": "A", "r0c5": "A"})
    assert set(caught.value.ids) == {"r0c0", "r0c5"}


def test_piece_budgets_share_the_workers_time_by_size():
    pieces = [type("P", (), {"nodes": np.arange(n)})() for n in (300, 100, 100)]
    assert piece_budgets(pieces, None, 2) == [None, None, None]
    budgets = piece_budgets(pieces, 100.0, 2)
    assert budgets == [100.0, 40.0, 40.0]


def test_time_share_gives_what_a_piece_leaves_unused_to_the_pieces_still_waiting():
    end = time.time() + 100.0
    share = TimeShare([300, 100, 100], [end] * 3, slots=2)
    first, _ = share.start(0)  # 3/5 of 2 x 100 s, but no piece runs beyond the end
    second, _ = share.start(1)  # half of the 100 s the first leaves
    assert first == pytest.approx(100.0, abs=0.5) and second == pytest.approx(50.0, abs=0.5)
    assert share.start(2)[0] == pytest.approx(50.0, abs=0.5)  # what is left while both run
    share = TimeShare([300, 100, 100], [end] * 3, slots=2)
    share.start(0), share.start(1)
    share.done(1)  # finished at once (an exact piece proved): its 50 s go to the last piece
    assert share.start(2)[0] == pytest.approx(100.0, abs=0.5)


def test_time_share_gives_a_tight_piece_a_floor_for_finding_a_plan_and_its_share_for_improving_it():
    end = time.time() + 100.0
    share = TimeShare([10, 190], [end - 40.0, end], slots=2, tight=frozenset({0}))
    budget, improve_limit = share.start(0)
    # the floor plus a share of the rest by size, within its own end (60 s from now)
    assert budget == pytest.approx(RESCUE_MIN_SECONDS + (200 - RESCUE_MIN_SECONDS) * 10 / 200, abs=0.5)
    assert improve_limit == pytest.approx(200 * 10 / 200, abs=0.5)  # its share without the floor
    budget, improve_limit = share.start(1)
    assert improve_limit is None and budget == pytest.approx(100.0, abs=0.5)  # never beyond the end
    assert TimeShare([5], [None], slots=2).start(0) == (None, None)


def test_the_heuristic_gives_a_verified_plan_never_called_optimal():
    layer = from_geodataframe(make_grid(6, 6, households=[100] * 36))
    graph = build_graph(layer.blocks)
    problem = Problem.from_layer(layer, graph, lower=350, upper=450, k=9)
    seen: list[dict] = []
    plan = solve(problem, method="heuristic", time_limit=20, workers=1, progress=seen.append)
    assert plan.status == "heuristic" and plan.exit_code == 0
    phases = [event["phase"] for event in seen]
    assert any(p.startswith("construction (most compact of") for p in phases)
    last = next(e for e in seen if e["phase"] == "bound (Lagrangian)")  # the live line shows the bound
    assert last["bound"] <= last["incumbent"]
    # the bound is the Lagrangian: below the plan, and said to be a limit, not a proof
    assert plan.best_bound is not None and plan.best_bound <= plan.objective["model_objective"] + 1e-9
    assert "not proved optimal" in plan.message and "above the optimum" in plan.message
    assert "Lagrangian" in plan.solver["bound_method"]
    # the improvement starts from the better of the most compact of several constructed plans
    # and the location–allocation plan, and descends from both
    done = plan.solver["pieces"][0]["improvement"]
    assert done["starts"]["constructed"] > 1
    assert done["starts"]["best_objective"] <= done["starts"]["first_objective"]
    assert done["allocation"]["found"]
    assert done["start_objective"] == min(done["starts"]["best_objective"], done["allocation"]["objective"])
    assert plan.objective["model_objective"] <= done["start_objective"] + 1e-9
    assert verify_plan(problem.graph, plan.assignment, lower=350, upper=450, k=problem.unit_count).ok


def test_interchangeable_units_get_a_short_pair_improvement_before_the_exact_search(monkeypatch):
    from redistrict.model import strategy

    layer = from_geodataframe(make_grid(4, 4, households=[100] * 16))
    problem = Problem.from_layer(layer, build_graph(layer.blocks), lower=400, upper=400, k=4, weights=Weights(compactness=0, boundary=1, unit_edges=True))
    full = solve(problem, method="exact", time_limit=30, workers=1)
    monkeypatch.setattr(strategy, "SYMMETRIC_LNS_SECONDS", 0.0)
    capped = solve(problem, method="exact", time_limit=30, workers=1)
    assert full.status == capped.status == "optimal"
    assert full.objective["model_objective"] == capped.objective["model_objective"]
    assert full.solver["pieces"][0]["improvement"]["local_optimum_for"] == [2]
    before = capped.solver["pieces"][0]["improvement"]
    assert before["stopped_by_time"] and before["neighbourhoods_tried"] == 0


def test_auto_says_why_it_chose_each_method():
    layer, graph = two_subdistricts()
    plan = solve(Problem.from_layer(layer, graph, lower=300, upper=300), workers=1)
    assert all(r["method"] == "exact" and "≤ 150" in r["why"] for r in plan.pieces)


def test_the_time_limit_is_honoured_on_a_mid_size_layer():
    rng = np.random.default_rng(0)
    layer = from_geodataframe(make_grid(20, 20, households=rng.integers(50, 150, 400).tolist()))
    graph = build_graph(layer.blocks)
    total = sum(d["households"] for _, d in graph.nodes(data=True))
    problem = Problem.from_layer(layer, graph, lower=900, upper=1100, k=round(total / 1000))
    started = time.perf_counter()
    plan = solve(problem, time_limit=3, workers=1)
    assert time.perf_counter() - started < 3 + 6
    assert plan.status == "heuristic" and plan.ok


def test_check_reports_each_pieces_unit_range():
    from redistrict import check_layer

    layer, graph = two_subdistricts(households=[110] * 18)
    report = check_layer(layer, graph, lower=300, upper=450)
    assert [(r["blocks"], r["households"], r["fewest_units"], r["most_units"]) for r in report.pieces] == [(9, 990, 3, 3), (9, 990, 3, 3)]
    assert {r["piece"] for r in report.pieces} == {"subdistrict 西", "subdistrict 东"}


def test_the_report_has_a_row_per_piece(tmp_path):
    from redistrict.report import render_markdown, report_data

    layer, graph = two_subdistricts()
    plan = solve(Problem.from_layer(layer, graph, lower=300, upper=300), workers=1)
    text = render_markdown(report_data(plan, layer.blocks, lang="en"), "en", png=None, map_html=None)
    section = text.split("## Pieces")[1]
    assert "| subdistrict 西 | 9 | 900 | 3 | exact | optimal |" in section and "| subdistrict 东 | 9 | 900 | 3 | exact | optimal |" in section


def test_when_the_exact_search_finds_nothing_the_constructed_plan_is_returned_as_not_optimal(monkeypatch):
    import dataclasses

    import redistrict.model.strategy as strategy

    real = strategy.solve_model

    def empty(data, **kwargs):  # as if the limit stopped the exact search before its first plan
        return dataclasses.replace(real(data, **kwargs), status="no_solution", centre_of=None, objective=None)

    monkeypatch.setattr(strategy, "solve_model", empty)
    layer, graph = two_subdistricts()
    problem = Problem.from_layer(layer, graph, lower=300, upper=300)
    plan = solve(problem, workers=1, time_limit=10)
    assert plan.status == "timed_out" and plan.ok and "NOT proved optimal" in plan.message
    assert all("fallback" in r["improvement"] for r in plan.pieces)


def test_pieces_on_a_dask_cluster_by_address_give_the_same_plan():
    import logging

    from distributed import LocalCluster

    layer, graph = two_subdistricts()
    problem = Problem.from_layer(layer, graph, lower=300, upper=300)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        remote = solve(problem, scheduler=cluster.scheduler_address)
    here = solve(problem, workers=1)
    assert remote.status == here.status == "optimal" and remote.assignment.equals(here.assignment)


def test_a_scheduler_that_is_not_an_address_is_an_input_error():
    layer, graph = two_subdistricts()
    with pytest.raises(InputError, match="tcp://HOST:8786"):
        solve(Problem.from_layer(layer, graph, lower=300, upper=300), scheduler="somewhere")


def test_every_piece_is_constructed_before_any_is_improved(monkeypatch):
    layer, graph = two_subdistricts(rows=4, cols=8)
    phases = record_phases(monkeypatch)
    plan = solve(Problem.from_layer(layer, graph, lower=300, upper=500), workers=1, time_limit=30)
    assert plan.ok and [p for p, _ in phases] == ["construct", "solve"]
    assert all(phases[1][1])  # every piece starts from its constructed plan
    assert plan.solver["first_plan_seconds"] <= plan.seconds


def record_phases(monkeypatch) -> list:
    """Record each call of run_pieces: its phase and, per task, whether it has a start."""
    import redistrict.pieces as pieces_module

    phases = []
    real = pieces_module.run_pieces

    def recording(tasks, **run):
        phases.append(("construct" if run.get("work") is pieces_module.construct_piece else "solve", [t.start is not None for t in tasks]))
        return real(tasks, **run)

    monkeypatch.setattr(pieces_module, "run_pieces", recording)
    return phases


def test_pieces_whose_construction_failed_are_solved_first_and_a_proof_ends_the_run(monkeypatch):
    layer, graph = two_subdistricts(rows=2, cols=6, households=[400, 300, 300, 250, 250, 250, 200, 200, 100, 250, 250, 250])
    phases = record_phases(monkeypatch)
    plan = solve(Problem.from_layer(layer, graph, lower=750, upper=750), workers=1, time_limit=30)
    assert plan.status == "infeasible" and plan.seconds < 5  # the quick search proves it at once
    # the west piece (no plan: rescued first) is proved infeasible, so the east one queued after it
    # is not improved: the layer has no plan, its constructed plan stands
    assert phases == [("construct", [False, False]), ("solve", [False, True])]
    assert [(row["status"], row["method"]) for row in plan.pieces] == [("infeasible", "search"), ("heuristic", "construction")]
    phases.clear()
    assert solve(Problem.from_layer(layer, graph, lower=750, upper=750), workers=1, time_limit=30, relax=True).ok
    # with relaxation: the proved piece is relaxed in a phase of its own, then the east improved
    assert phases == [("construct", [False, False]), ("solve", [False]), ("solve", [False]), ("solve", [True])]


def test_a_proof_drops_the_pieces_not_yet_solved():
    from redistrict.model.data import ModelInput
    from redistrict.model.strategy import PieceResult, PieceTask
    from redistrict.pieces import run_pieces

    calls = []

    def work(task):
        calls.append(task.seed)
        return PieceResult("infeasible" if task.seed == 0 else "heuristic", None, None, None, None, "test", "", 0.0)

    data = ModelInput(n=1, weights=[5], edges=[], k=1, lower=0, upper=9)
    tasks = [PieceTask(data, seed=seed) for seed in range(3)]
    results = run_pieces(tasks, names=["a", "b", "c"], workers=1, work=work, stop=lambda r: r.status == "infeasible")
    assert [r.status for r in results] == ["infeasible", "no_solution", "no_solution"] and calls == [0]
    assert results[1].method == "not run"


def test_with_relax_only_the_piece_without_a_plan_leaves_the_bounds():
    # west: 400 300 300 / 200 200 100 has no 2-unit split of 750 | 750 (the exhaustive search
    # proves it; the arithmetic does not see it); east: six blocks of 250 split 750 | 750
    layer, graph = two_subdistricts(rows=2, cols=6, households=[400, 300, 300, 250, 250, 250, 200, 200, 100, 250, 250, 250])
    problem = Problem.from_layer(layer, graph, lower=750, upper=750)
    strict = solve(problem, workers=1, time_limit=30)
    assert strict.status == "infeasible" and "exhaustive search" in strict.message
    plan = solve(problem, workers=1, time_limit=30, relax=True)
    assert plan.status == "relaxed" and plan.ok
    rows = {row["piece"]: row for row in plan.pieces}
    west, east = (next(r for name, r in rows.items() if side in name) for side in ("西", "东"))
    assert west["status"] == "relaxed" and west["improvement"]["relax"]["within_bounds"] == "infeasible"
    assert east["status"] != "relaxed"
    units = plan.units.set_index("unit_id")
    east_units = set(plan.assignment[[b for b in plan.assignment.index if layer.blocks.loc[b, "subdistrict"] == "东"]])
    assert units.loc[sorted(east_units), "within_bounds"].all()
    assert not units["within_bounds"].all() and "proved minimal" in plan.message


def test_a_chosen_count_too_tight_for_a_plan_takes_one_unit_more_in_that_piece_only():
    # west: four blocks of 2 in a row fit 3 units of 2–3 by count, but no row of 2s sums to 3:
    # only 4 units of 2 exist; east (3 3 2 2) has a plan with its fewest, 4
    layer, graph = two_subdistricts(rows=1, cols=8, households=[2, 2, 2, 2, 3, 3, 2, 2])
    chosen = solve(Problem.from_layer(layer, graph, lower=2, upper=3), workers=1, time_limit=30)
    assert chosen.ok and chosen.status == "optimal" and len(chosen.units) == 8
    rows = {row["piece"]: row for row in chosen.pieces}
    west, east = (next(r for name, r in rows.items() if side in name) for side in ("西", "东"))
    assert (west["fewest_k"], west["k"], east["fewest_k"], east["k"]) == (3, 4, 4, 4)
    assert "exhaustive search" in west["improvement"]["spare_k"]["because"]
    assert "one unit more" in chosen.problem["k_reason"] and chosen.problem["k"] == 8
    assert "subdistrict 西 has 4 units, not 3" in chosen.message
    given = solve(Problem.from_layer(layer, graph, lower=2, upper=3, k=7), workers=1, time_limit=30)
    assert given.status == "infeasible"  # a count the user gave is never changed


def test_an_exact_piece_keeps_its_fewest_units_when_only_the_exact_model_finds_them(monkeypatch):
    import redistrict.model.strategy as strategy
    from redistrict.model.data import ModelInput

    real = strategy._starting_plan
    # as if construction, search and mending all missed the plan with the piece's own count
    monkeypatch.setattr(strategy, "_starting_plan", lambda task, *a: (None, {}, None) if task.data.k == 2 else real(task, *a))
    data = ModelInput(n=4, weights=[3, 3, 3, 3], edges=[(0, 1), (1, 2), (2, 3)], k=2, lower=3, upper=7)
    result = strategy.solve_piece(strategy.PieceTask(data, method="exact", time_limit=30, spare_k=3))
    assert result.centre_of is not None and result.k == 2 and len(set(result.centre_of.tolist())) == 2
    assert result.improvement["exact_at_own_count"] == "optimal" and "spare_k" not in result.improvement


def test_an_exact_piece_with_a_boundary_term_gets_a_lagrangian_bound_within_its_time():
    """A boundary term beside a compactness cost: HiGHS (run without presolve there) does not
    finish its root LP in 3 s and its own bound is the trivial, negative one; the time kept for
    the Lagrangian bound gives a real one, and the piece still returns near its limit."""
    from test_model_allocate import compact_input

    from redistrict.model.strategy import LAGRANGIAN_METHOD, PieceTask, solve_piece

    data = compact_input(1, 91, 6, 0.1)  # cut_weight 1 and a compactness cost
    started = time.perf_counter()
    result = solve_piece(PieceTask(data, method="exact", time_limit=3.0))
    assert time.perf_counter() - started < 5.0
    assert result.centre_of is not None
    assert 0 < result.bound <= result.objective
    assert result.improvement["bound_method"] == LAGRANGIAN_METHOD


def test_an_exact_piece_with_a_few_seconds_keeps_some_for_a_lagrangian_bound():
    """With under SHORT_PIECE_SECONDS an exact piece (here 140 nodes, k = 12, 2 s) rarely gets
    past HiGHS's root LP; the share it keeps gives a real bound, reported with its method."""
    from test_model_allocate import compact_input

    from redistrict.model.strategy import (
        LAGRANGIAN_METHOD,
        SHORT_PIECE_SECONDS,
        PieceTask,
        solve_piece,
    )

    data = compact_input(3, 140, 12, 0.15, cut_weight=0.0)  # compactness only: HiGHS keeps presolve
    started = time.perf_counter()
    result = solve_piece(PieceTask(data, method="exact", time_limit=2.0))
    assert time.perf_counter() - started < 4.0 and 2.0 < SHORT_PIECE_SECONDS
    assert result.centre_of is not None and result.status != "optimal"
    assert 0 < result.bound <= result.objective
    assert result.improvement["bound_method"] == LAGRANGIAN_METHOD


def test_a_piece_whose_construction_phase_failed_is_constructed_again_before_the_search(monkeypatch):
    """The construction phase gives a piece a second or so; after a quick search (which decides
    only small pieces) the rescue tries fresh seeds for longer (a tight piece usually has a plan
    one of them finds), and only then the full exhaustive search, which on 100 blocks rarely ends."""
    from test_model_construct import assert_valid, delaunay_input

    import redistrict.model.strategy as strategy

    data = delaunay_input(4, 70, 6, 0.05)
    monkeypatch.setattr(strategy, "QUICK_SEARCH_SECONDS", 0.0)  # as if the piece were too large for it
    result = strategy.solve_piece(strategy.PieceTask(data, method="heuristic", time_limit=6.0, construction_failed=True))
    assert result.centre_of is not None and "mend" not in result.improvement
    assert result.improvement["search"]["status"] == "limit"  # the plan is the construction's
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])



def test_a_heuristic_piece_beyond_the_search_is_constructed_nearest_the_bounds_and_mended(monkeypatch):
    """Too large for the exhaustive search, a tight piece is constructed within the bounds for
    a moment only: then the construction leaves them where no cut fits (by as little as it can)
    and mending — chains here — brings the plan within them."""
    from test_model_construct import assert_valid, delaunay_input

    import redistrict.model.enumeration as enumeration
    import redistrict.model.strategy as strategy

    monkeypatch.setattr(enumeration, "MAX_NODES", 50)  # as if the piece were too large for the search
    strict_seconds: list[float] = []

    def strict(data, *, seed, deadline, restarts):
        strict_seconds.append(deadline - time.perf_counter())
        return None  # as on a tight layer: nothing within the bounds in its seconds

    monkeypatch.setattr(strategy, "construct_plan", strict)
    data = delaunay_input(0, 90, 8, 0.01)  # units within ±1 % of the mean
    result = strategy.solve_piece(strategy.PieceTask(data, method="heuristic", time_limit=3.0))
    assert len(strict_seconds) == 1 and strict_seconds[0] <= strategy.STRICT_FIRST_SECONDS
    mend = result.improvement["mend"]
    assert mend["widened_by"] > 0 and mend["violation_left"] == 0 and mend["chains"] >= 1
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])


def test_a_heuristic_piece_beyond_the_search_that_constructs_at_once_is_not_mended(monkeypatch):
    from test_model_construct import assert_valid, delaunay_input

    import redistrict.model.enumeration as enumeration
    import redistrict.model.strategy as strategy

    monkeypatch.setattr(enumeration, "MAX_NODES", 50)
    monkeypatch.setattr(strategy, "construct_and_mend", lambda *a, **k: pytest.fail("mended a piece the construction fits"))
    data = delaunay_input(0, 90, 8, 0.3)
    result = strategy.solve_piece(strategy.PieceTask(data, method="heuristic", time_limit=3.0))
    assert "mend" not in result.improvement
    assert_valid(data, np.unique(result.centre_of, return_inverse=True)[1])


def test_a_piece_that_mending_left_outside_the_bounds_says_how_far(monkeypatch):
    from test_model_construct import delaunay_input

    import redistrict.model.enumeration as enumeration
    import redistrict.model.strategy as strategy
    from redistrict.model.mend import MendResult

    monkeypatch.setattr(enumeration, "MAX_NODES", 50)
    stalled = MendResult(None, 1234, 456, tried=78, accepted=9, seconds=3.0, chains=21)
    monkeypatch.setattr(strategy, "construct_and_mend", lambda *a, **k: stalled)
    monkeypatch.setattr(strategy, "construct_plan", lambda *a, **k: None)  # nothing within the bounds
    result = strategy.solve_piece(strategy.PieceTask(delaunay_input(0, 90, 8, 0.01), method="heuristic", time_limit=3.0))
    assert result.status == "no_solution" and result.centre_of is None
    assert "at most 456 households per unit" in result.message and "still had 1,234 households outside the bounds" in result.message
