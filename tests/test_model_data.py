"""ModelInput validation, from_networkx, vertex ordering and fixing on small hand-made graphs."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from redistrict.errors import InputError
from redistrict.model import ModelInput, from_networkx, solve_model
from redistrict.model._graph import Adjacency, weighted_distances
from redistrict.model.fixing import hess_fixing, labeling_fixing, vertex_ordering

PATH = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])


def test_input_is_frozen_and_normalised() -> None:
    data = ModelInput(n=5, weights=[1, 2, 3, 4, 5], edges=PATH.tolist(), k=2, lower=5, upper=10)
    assert data.weights.dtype == np.int64 and not data.weights.flags.writeable
    assert data.edge_cost.tolist() == [1.0] * 4
    assert data.candidates.tolist() == list(range(5))
    assert data.symmetric and data.all_candidates
    assert repr(data) == "<ModelInput n=5 m=4 k=2 bounds=[5, 10] candidates=all>"
    with pytest.raises(AttributeError):
        data.k = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"edges": [[1, 0]]}, "i < j"),
        ({"edges": [[0, 1], [0, 1]]}, "duplicate"),
        ({"edges": [[0, 9]]}, "outside"),
        ({"weights": [1, -1, 1, 1, 1]}, ">= 0"),
        ({"k": 0}, "'k'"),
        ({"lower": 9, "upper": 3}, "exceeds"),
        ({"candidates": [0, 0]}, "duplicates"),
        ({"candidates": [1], "k": 2}, "cannot centre"),
        ({"assign_cost": np.zeros((5, 4))}, "shape"),
        ({"same_unit": [(0, 1)], "different_unit": [(1, 0)]}, "both"),
        ({"cut_weight": -1}, "cut_weight"),
        ({"groups": [0, 0, 1]}, "'groups' should have length"),
        ({"groups": [0, 0, 1, 1, -2]}, "-1 for no group"),
        ({"group_counts": (1, 1)}, "needs 'groups'"),
        ({"groups": [0, 0, 1, 1, 1], "group_counts": (1, 1)}, "centres"),  # interchangeable units
        ({"groups": [0, 0, 1, 1, 1], "group_counts": (1,), "candidates": [0, 4]}, "one count per group"),
        ({"groups": [0, 0, 1, 1, 1], "group_counts": (2, 1), "candidates": [0, 4]}, "at most k"),
    ],
)
def test_bad_inputs_name_the_problem(kwargs: dict, message: str) -> None:
    base = dict(n=5, weights=[1] * 5, edges=PATH, k=2, lower=1, upper=5)
    base.update(kwargs)
    with pytest.raises(InputError, match=message):
        ModelInput(**base)


def test_groups_survive_restriction_and_counts_do_not() -> None:
    from redistrict.model.data import restrict

    data = ModelInput(n=5, weights=[1] * 5, edges=PATH, k=2, lower=1, upper=5, candidates=[0, 2, 4], groups=[0, 0, 1, 1, -1], group_counts=(None, 1))
    assert repr(data).endswith("group_counts=[*, 1]>")
    sub = restrict(data, np.array([2, 3, 4]), 1)
    assert sub.groups.tolist() == [1, 1, -1] and sub.group_counts is None


def test_restricted_candidates_or_costs_are_not_symmetric() -> None:
    base = dict(n=5, weights=[1] * 5, edges=PATH, k=2, lower=1, upper=5)
    assert not ModelInput(**base, candidates=[0, 4]).symmetric
    assert not ModelInput(**base, assign_cost=np.zeros((5, 5))).symmetric


def test_from_networkx_keeps_node_order_and_edge_costs() -> None:
    G = nx.Graph()
    G.add_nodes_from([("b", {"hh": 2}), ("a", {"hh": 3}), ("c", {"hh": 1})])
    G.add_edge("a", "b", length=2.5)
    G.add_edge("c", "b", length=1.0)
    data, order = from_networkx(G, weight="hh", k=2, lower=1, upper=4, cut_cost="length",
                                candidates=["a", "c"], same_unit=[("a", "b")])
    assert order == ["b", "a", "c"]
    assert data.weights.tolist() == [2, 3, 1]
    assert data.edges.tolist() == [[0, 1], [0, 2]]
    assert data.edge_cost.tolist() == [2.5, 1.0]
    assert data.candidates.tolist() == [1, 2]
    assert data.same_unit == ((0, 1),)
    with pytest.raises(InputError, match="without a 'pop'"):
        from_networkx(G, weight="pop", k=2, lower=1, upper=4)


def test_weighted_distance_counts_both_ends() -> None:
    adj = Adjacency.from_edges(5, PATH)
    w = [1, 2, 3, 4, 5]
    assert weighted_distances(adj, w, 0, math.inf) == {0: 1, 1: 3, 2: 6, 3: 10, 4: 15}
    assert weighted_distances(adj, w, 0, 6) == {0: 1, 1: 3, 2: 6}


def test_ordering_puts_far_apart_heads_first_and_light_tail_last() -> None:
    # a path of weights 9,1,1,1,9: the two 9s are more than upper=10 apart (9+1+1+1+9)
    adj = Adjacency.from_edges(5, PATH)
    w = np.array([9, 1, 1, 1, 9])
    o = vertex_ordering(adj, w, 2, lower=10, upper=12)
    assert o.heads == (0, 4)
    assert o.order[:2].tolist() == [0, 4]
    assert sorted(o.order.tolist()) == list(range(5))
    assert o.position[o.order].tolist() == list(range(5))


def test_hess_fixing_counts_and_roots_rule() -> None:
    adj = Adjacency.from_edges(5, PATH)
    w = np.array([9, 1, 1, 1, 9])
    o = vertex_ordering(adj, w, 2, lower=10, upper=12)
    fx = hess_fixing(adj, w, np.arange(5), 10, 12, o, 2)
    # the two heads are the only centres; each reaches the three light nodes (9+1+1+1 = 12)
    assert set(fx.centre.tolist()) == {0, 4}
    assert fx.counts["roots"] > 0 and fx.counts["symmetry"] == 10
    pairs = set(zip(fx.node.tolist(), fx.centre.tolist(), strict=True))
    assert (3, 0) in pairs and (1, 4) in pairs  # 9+1+1+1 = 12 fits
    assert (4, 0) not in pairs  # 9+1+1+1+9 does not
    assert (0, 4) not in pairs  # node 0 comes first, so it cannot join a unit centred at 4
    total = sum(fx.counts.values()) + len(fx.node)
    assert total == 25


def test_labeling_fixing_roots_heads() -> None:
    adj = Adjacency.from_edges(5, PATH)
    w = np.array([9, 1, 1, 1, 9])
    o = vertex_ordering(adj, w, 2, lower=10, upper=12)
    fx = labeling_fixing(adj, w, 2, 12, o)
    assert fx.roots == (0, 4)
    assert fx.allowed[0].tolist() == [True, False]
    assert fx.allowed[4].tolist() == [False, True]


def test_unknown_names_are_refused() -> None:
    data = ModelInput(n=5, weights=[1] * 5, edges=PATH, k=2, lower=1, upper=5)
    with pytest.raises(InputError, match="'solver' should be one of"):
        solve_model(data, solver="gurobi")
    with pytest.raises(InputError, match="'formulation' should be one of"):
        solve_model(data, formulation="magic")
    with pytest.raises(InputError, match="time_limit"):
        solve_model(data, time_limit=0)


def test_time_limit_result_is_never_a_disconnected_plan() -> None:
    rng = np.random.default_rng(7)
    n = 30
    edges = {(i, i + 1) for i in range(n - 1)} | {(int(a), int(b)) for a, b in rng.integers(0, n, (40, 2)) if a < b}
    data = ModelInput(n=n, weights=rng.integers(1, 9, n), edges=np.array(sorted(edges)), k=4,
                      lower=1, upper=10_000)
    sol = solve_model(data, time_limit=0.05)
    assert sol.status in ("optimal", "feasible", "no_solution")
    if sol.status == "no_solution":
        assert sol.centre_of is None


def test_status_mappings() -> None:
    from redistrict.model.backends import cbc_round_kind, highs_round_kind

    assert highs_round_kind("kOptimal") == "optimal"
    assert highs_round_kind("kInfeasible") == "infeasible"
    assert highs_round_kind("kTimeLimit") == "limit"
    assert highs_round_kind("kInterrupt") == "interrupted"
    assert highs_round_kind("kModelError") == "error"
    # PuLP: status 1 with sol_status 2 is a time limit with a feasible plan, not an optimum
    assert cbc_round_kind(1, 1) == "optimal"
    assert cbc_round_kind(1, 2) == "limit"
    assert cbc_round_kind(0, 0) == "limit"
    assert cbc_round_kind(-1, -1) == "infeasible"
    assert cbc_round_kind(-2, -2) == "error"


def test_repair_turns_a_disconnected_plan_contiguous() -> None:
    from redistrict.model._graph import components
    from redistrict.model.backends import _build, make_repairer

    edges = np.array(
        [(r * 4 + c, r * 4 + c + 1) for r in range(4) for c in range(3)]
        + [(r * 4 + c, r * 4 + c + 4) for r in range(3) for c in range(4)]
    )
    data = ModelInput(n=16, weights=np.ones(16, dtype=np.int64), edges=edges, k=2, lower=8, upper=8)
    adj = Adjacency.from_edges(16, data.edges)
    model, _ = _build(data, adj, "labeling_cuts", lower=8, upper=8, elastic=False)
    plan = np.array([0, 0, 1, 1] * 4)
    plan[4], plan[11] = 1, 0  # swap two border nodes: both units now have a stray node
    assert len(np.unique(components(adj, plan))) > 2
    repair = make_repairer(data, adj, model, solver="highs", threads=None, lower=8, upper=8)
    plans = repair(plan, 10.0)
    assert plans
    for p in plans:
        assert len(np.unique(components(adj, p))) == 2
        assert np.bincount(np.unique(p, return_inverse=True)[1]).tolist() == [8, 8]


def test_thread_counts_can_change_between_solves() -> None:
    data = ModelInput(n=4, weights=[1] * 4, edges=PATH[:3], k=2, lower=2, upper=2)
    for threads in (1, None, 2, 1):
        assert solve_model(data, threads=threads).status == "optimal"


def test_implied_bounds_narrow_by_what_the_other_units_hold() -> None:
    from redistrict.model.data import implied_bounds

    data = ModelInput(n=5, weights=[5, 5, 5, 5, 2], edges=PATH, k=2, lower=8, upper=15)
    assert implied_bounds(data) == (8, 14)  # 22 households: the other unit holds at least 8
    tight = ModelInput(n=5, weights=[5, 5, 5, 5, 2], edges=PATH, k=2, lower=12, upper=15)
    assert implied_bounds(tight) == (12, 10)  # empty: two units of at least 12 need 24
    assert solve_model(tight).status == "infeasible"
    sol = solve_model(data)
    assert sol.status == "optimal"


def test_forced_pairs_guide_heuristics_but_add_no_rows() -> None:
    """Forced pairs (implied by the bounds) reach the construction and restriction, not the MILP."""
    from redistrict.model._graph import Adjacency as Adj
    from redistrict.model.backends import _build
    from redistrict.model.data import restrict

    plain = ModelInput(n=5, weights=[1, 2, 3, 4, 5], edges=PATH.tolist(), k=2, lower=5, upper=10)
    forced = ModelInput(n=5, weights=[1, 2, 3, 4, 5], edges=PATH.tolist(), k=2, lower=5, upper=10, forced_unit=[(1, 0)])
    locked = ModelInput(n=5, weights=[1, 2, 3, 4, 5], edges=PATH.tolist(), k=2, lower=5, upper=10, same_unit=[(0, 1)])
    assert forced.forced_unit == ((0, 1),) and forced.together == ((0, 1),)
    adj = Adj.from_edges(5, PATH)
    for formulation in ("cuts", "labeling_cuts"):
        rows = [_build(d, adj, formulation, lower=5.0, upper=10.0, elastic=False)[0].milp.num_rows for d in (plain, forced, locked)]
        assert rows[0] == rows[1] < rows[2]
    assert restrict(forced, np.array([0, 1, 2]), 1).forced_unit == ((0, 1),)
    relaxed = ModelInput(n=5, weights=[1, 2, 3, 4, 5], edges=PATH.tolist(), k=2, lower=5, upper=10, forced_unit=[(0, 1)], relax=True)
    assert relaxed.together == ()
    with pytest.raises(InputError, match="forced_unit"):
        ModelInput(n=5, weights=[1, 2, 3, 4, 5], edges=PATH.tolist(), k=2, lower=5, upper=10, forced_unit=[(0, 1)], different_unit=[(0, 1)])
