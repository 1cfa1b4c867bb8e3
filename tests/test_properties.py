"""Properties of the whole pipeline on random planar layouts, checked independently of the engine.

Each example is a square kilometre in UTM 50N cut into the Voronoi cells of 6–16 random sites,
with random household counts, built with the public API (``from_geodataframe`` → ``build_graph``
→ ``Problem`` → ``solve``).  Nothing the plan says about itself is trusted: assignments, totals,
bounds and contiguity are recomputed here from the graph with networkx, and on layouts of at most
9 cells every partition is enumerated to confirm infeasibility and optimal objective values.

Examples are replayed identically on every run (the "ci" profile in conftest.py);
``HYPOTHESIS_PROFILE=dev`` draws fresh ones, ``HYPOTHESIS_PROFILE=thorough`` many more.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
import shapely
from conftest import ORIGIN, UTM50
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from redistrict.errors import InputError
from redistrict.export import load_plan_dir
from redistrict.graph import build_graph
from redistrict.io import from_geodataframe
from redistrict.outputs import write_plan
from redistrict.problem import Problem, Weights, feasible_unit_counts
from redistrict.solve import solve
from redistrict.verify import verify_plan

#: statuses under which ``solve`` returns a plan (without ``relax``)
PLAN_STATUSES = {"optimal", "feasible", "timed_out"}
SIDE = 1000.0  # metres
#: block id spellings: plain, numeric text with leading zeros, Chinese, and integers
ID_STYLES = ("c{:02d}", "{:03d}", "小区{}", int)
WEIGHTS = {
    "compactness": Weights(stability=0.0),  # compactness alone: what objective_value enumerates
    "cut_edges": Weights(compactness=0, boundary=1, stability=0, unit_edges=True),
    "boundary_km": Weights(compactness=0, boundary=1, stability=0),
}
#: a safety net only: every example here solves in well under a second
TIME_LIMIT = 60.0


def examples(n: int) -> int:
    """``n`` examples in the default profiles; the profile's own count when it asks for more."""
    return max(n, settings().max_examples) if settings().max_examples > 100 else n


# --- layouts ---------------------------------------------------------------------------------------


def voronoi_layer(sites, households, id_style, communities=None) -> gpd.GeoDataFrame:
    """The Voronoi cells of ``sites`` (on a 10 m lattice) clipped to a 1 km square, in UTM 50N."""
    x0, y0 = ORIGIN
    square = shapely.box(x0, y0, x0 + SIDE, y0 + SIDE)
    points = shapely.points([(x0 + 10 * x + 5, y0 + 10 * y + 5) for x, y in sites])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=square))
    cells = shapely.intersection(cells, square)
    assert len(cells) == len(sites) and all(c.geom_type == "Polygon" and c.area > 0 for c in cells)
    cell_of_site, which = shapely.STRtree(cells).query(points, predicate="within")
    assert (cell_of_site == range(len(sites))).all()
    cells = cells[which]  # cell i belongs to site i
    ids = [id_style(i) if id_style is int else id_style.format(i) for i in range(len(cells))]
    return gpd.GeoDataFrame(
        {
            "block_id": ids,
            "households": households,
            "community": communities or ["东"] * len(cells),
            "name": [f"小区 {i}" for i in range(len(cells))],
        },
        geometry=list(cells),
        crs=UTM50,
    )


@st.composite
def layouts(draw, min_cells: int = 6, max_cells: int = 16, min_households: int = 0, max_households: int = 400):
    """A random Voronoi layout as a GeoDataFrame, as a planner would hand it to ``from_geodataframe``."""
    n = draw(st.integers(min_cells, max_cells))
    sites = draw(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99)), min_size=n, max_size=n, unique=True))
    households = draw(st.lists(st.integers(min_households, max_households), min_size=n, max_size=n))
    communities = draw(st.lists(st.sampled_from(["东", "西"]), min_size=n, max_size=n))
    return voronoi_layer(sites, households, draw(st.sampled_from(ID_STYLES)), communities)


def build(gdf: gpd.GeoDataFrame):
    layer = from_geodataframe(gdf)
    return layer, build_graph(layer.blocks)


@st.composite
def feasible_requests(draw, min_cells: int = 6, max_cells: int = 16, slack: float = 1.0):
    """A layout with k and bounds that fit its total by arithmetic: average ± a drawn slack."""
    gdf = draw(layouts(min_cells, max_cells))
    if not gdf["households"].any():  # all empty: give one block residents
        gdf.loc[0, "households"] = draw(st.integers(1, 400))
    total = int(gdf["households"].sum())
    k = draw(st.integers(1, min(len(gdf), 4, total)))
    low_avg, high_avg = total // k, -(-total // k)
    lower = low_avg - draw(st.integers(0, int(low_avg * slack)))
    upper = max(1, high_avg + draw(st.integers(0, max(1, int(high_avg * slack)))))
    weights = draw(st.sampled_from(sorted(WEIGHTS)))
    return gdf, k, lower, upper, weights


# --- independent checks ----------------------------------------------------------------------------


def units_of(assignment) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for block, unit in assignment.items():
        members.setdefault(str(unit), []).append(str(block))
    return members


def assert_valid_plan(layer, graph, plan, *, k: int, lower: int, upper: int) -> None:
    """The plan, checked from scratch against the layer and the graph."""
    assert plan.status in PLAN_STATUSES, plan.message
    assert plan.ok
    assert plan.diagnosis is None or not plan.diagnosis.reasons
    assert verify_plan(graph, plan.assignment, lower=lower, upper=upper, k=k).ok
    assignment = plan.assignment
    # every block in exactly one unit
    assert assignment.index.is_unique
    assert sorted(map(str, assignment.index)) == sorted(map(str, layer.blocks.index)) == sorted(graph.nodes)
    assert assignment.notna().all()
    members = units_of(assignment)
    assert len(members) == k
    # households conserved: from the layer's own column, not the graph or the plan
    households = layer.blocks["households"].astype(int)
    unit_totals = {unit: int(households.loc[blocks].sum()) for unit, blocks in members.items()}
    assert sum(unit_totals.values()) == int(households.sum())
    for unit, blocks in members.items():
        assert lower <= unit_totals[unit] <= upper, (unit, unit_totals[unit], lower, upper)
        assert nx.is_connected(graph.subgraph(blocks)), (unit, blocks)
    # the plan's own table agrees with the recount
    table = plan.units.set_index("unit_id")
    assert set(table.index) == set(members)
    assert {u: int(table.loc[u, "households"]) for u in members} == unit_totals
    assert {u: int(table.loc[u, "blocks"]) for u in members} == {u: len(b) for u, b in members.items()}


def connected_partitions(graph: nx.Graph, k: int, lower: int, upper: int):
    """Every partition of the graph into k connected units within the bounds (tiny graphs only)."""
    nodes = sorted(graph)
    hh = [graph.nodes[n]["households"] for n in nodes]
    labels = [0] * len(nodes)
    totals = [0] * k

    def extend(i: int, used: int):
        if len(nodes) - i < k - used:
            return  # too few blocks left to open the missing units
        if i == len(nodes):
            if all(t >= lower for t in totals):
                units = [[n for n, lab in zip(nodes, labels, strict=True) if lab == u] for u in range(k)]
                if all(nx.is_connected(graph.subgraph(u)) for u in units):
                    yield units
            return
        for label in range(min(used + 1, k)):
            if totals[label] + hh[i] > upper:
                continue
            labels[i] = label
            totals[label] += hh[i]
            yield from extend(i + 1, max(used, label + 1))
            totals[label] -= hh[i]

    yield from extend(0, 0)


def objective_value(graph: nx.Graph, units: list[list[str]], weights: str) -> float:
    """The objective the engine minimises, for one partition (centres chosen optimally)."""
    if weights == "compactness":
        total = 0.0
        for unit in units:
            costs = []
            for centre in unit:
                c = graph.nodes[centre]
                costs.append(sum(graph.nodes[b]["households"] * ((graph.nodes[b]["x"] - c["x"]) ** 2 + (graph.nodes[b]["y"] - c["y"]) ** 2) / 1e6 for b in unit))
            total += min(costs)
        return total
    unit_of = {b: i for i, unit in enumerate(units) for b in unit}
    cut = [d for a, b, d in graph.edges(data=True) if unit_of[a] != unit_of[b]]
    return float(len(cut)) if weights == "cut_edges" else sum(d["length"] for d in cut) / 1000.0


PLAN_OBJECTIVE = {"compactness": "compactness_hh_km2", "cut_edges": "cut_edges", "boundary_km": "boundary_km"}


def assert_explained_infeasibility(plan) -> None:
    assert plan.status == "infeasible", plan.message
    assert plan.assignment is None and plan.units is None and not plan.ok
    assert plan.exit_code == 3
    assert plan.diagnosis is not None and plan.diagnosis.reasons
    assert all(r.kind and r.message.strip() for r in plan.diagnosis.reasons)
    assert plan.message.strip()


# --- (a) every plan is valid; infeasibility is explained and true -----------------------------------


@settings(max_examples=examples(25))
@given(feasible_requests())
def test_every_returned_plan_is_valid_and_every_refusal_is_explained(case):
    gdf, k, lower, upper, weights = case
    layer, graph = build(gdf)
    plan = solve(Problem.from_layer(layer, graph, k=k, lower=lower, upper=upper, weights=WEIGHTS[weights]), time_limit=TIME_LIMIT)
    event(f"{plan.status}, {'≤ 9' if graph.number_of_nodes() <= 9 else '> 9'} cells")
    if plan.status == "infeasible":
        assert_explained_infeasibility(plan)
        if graph.number_of_nodes() <= 9:
            assert next(connected_partitions(graph, k, lower, upper), None) is None, "the engine said infeasible, but a valid plan exists"
    else:
        assert_valid_plan(layer, graph, plan, k=k, lower=lower, upper=upper)


@settings(max_examples=examples(40))
@given(feasible_requests(min_cells=6, max_cells=9, slack=0.3))
def test_tiny_layouts_agree_with_enumerating_every_partition(case):
    """On ≤ 9 cells: a plan exists exactly when one exists, and its objective is the true optimum."""
    gdf, k, lower, upper, weights = case
    layer, graph = build(gdf)
    plan = solve(Problem.from_layer(layer, graph, k=k, lower=lower, upper=upper, weights=WEIGHTS[weights]), mip_gap=0.0, time_limit=TIME_LIMIT)
    partitions = list(connected_partitions(graph, k, lower, upper))
    event(f"{plan.status}, {weights}")
    if not partitions:
        assert_explained_infeasibility(plan)
        return
    assert plan.status == "optimal", plan.message
    assert_valid_plan(layer, graph, plan, k=k, lower=lower, upper=upper)
    best = min(objective_value(graph, units, weights) for units in partitions)
    mine = objective_value(graph, list(units_of(plan.assignment).values()), weights)
    assert mine == pytest.approx(best, rel=1e-6, abs=1e-6)
    assert plan.objective[PLAN_OBJECTIVE[weights]] == pytest.approx(best, rel=1e-6, abs=2e-3)  # rounded to 3 decimals


# --- (b) what is written is what was planned --------------------------------------------------------


@settings(max_examples=examples(12))
@given(feasible_requests(max_cells=12, slack=0.6))
def test_a_written_plan_reads_back_with_the_same_assignment(case):
    gdf, k, lower, upper, weights = case
    layer, graph = build(gdf)
    plan = solve(Problem.from_layer(layer, graph, k=k, lower=lower, upper=upper, weights=WEIGHTS[weights]), time_limit=TIME_LIMIT)
    assume(plan.ok)
    expected = {str(b): str(u) for b, u in plan.assignment.items()}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "OUT"
        write_plan(plan, layer.blocks, out)
        assert sorted(p.name for p in Path(folder).iterdir()) == ["OUT"]  # nothing left beside it

        csv = pd.read_csv(out / "assignment.csv", dtype=str, keep_default_na=False, encoding="utf-8")
        assert list(csv.columns) == ["block_id", "unit_id"]
        assert dict(zip(csv["block_id"], csv["unit_id"], strict=True)) == expected and len(csv) == len(expected)

        blocks = gpd.read_file(out / "blocks.geojson", engine="pyogrio")
        assert dict(zip(blocks["block_id"].astype(str), blocks["unit_id"].astype(str), strict=True)) == expected
        assert blocks.crs.to_epsg() == 4326

        units = gpd.read_file(out / "units.geojson", engine="pyogrio").set_index("unit_id")
        assert set(units.index) == set(expected.values())
        hh = layer.blocks["households"].astype(int)
        for unit, members in units_of(plan.assignment).items():
            assert int(units.loc[unit, "households"]) == int(hh.loc[members].sum())
        # each block lies in its own unit's polygon and in no other
        inside = layer.blocks.representative_point().to_crs("EPSG:4326")
        for block, point in inside.items():
            holders = [u for u, geom in units.geometry.items() if geom.contains(point)]
            assert holders == [expected[str(block)]], (block, holders)

        saved = load_plan_dir(out)
        assert {str(b): str(u) for b, u in saved.plan.assignment.items()} == expected
        assert sorted(saved.blocks.index) == sorted(expected)
        assert (saved.blocks.loc[layer.blocks.index, "households"].astype(int).to_numpy() == hh.to_numpy()).all()
        # the same geometry back (measured in one CRS: the saved plan works in its own metric projection)
        assert float(saved.blocks.to_crs(layer.blocks.crs).area.sum()) == pytest.approx(float(layer.blocks.area.sum()), rel=1e-4)
        assert verify_plan(graph, saved.plan.assignment, lower=lower, upper=upper, k=k).ok


# --- (c) impossible requests are refused, never planned ----------------------------------------------


@st.composite
def bounds_no_k_fits(draw):
    """A layout and bounds strictly between total/(k0+1) and total/k0: no number of units fits."""
    gdf = draw(layouts(min_households=40))
    total = int(gdf["households"].sum())
    k0 = draw(st.integers(1, 3))
    lo_min, up_max = total // (k0 + 1) + 1, -(-total // k0) - 1
    assume(lo_min <= up_max)
    lower = draw(st.integers(lo_min, up_max))
    upper = draw(st.integers(lower, up_max))
    k = draw(st.none() | st.integers(1, len(gdf)))
    return gdf, k, lower, upper


@settings(max_examples=examples(15))
@given(bounds_no_k_fits())
def test_bounds_that_no_unit_count_fits_are_infeasible(case):
    gdf, k, lower, upper = case
    layer, graph = build(gdf)
    assert feasible_unit_counts(int(gdf["households"].sum()), lower, upper) == []
    problem = Problem.from_layer(layer, graph, k=k, lower=lower, upper=upper)
    plan = solve(problem, time_limit=TIME_LIMIT)
    assert_explained_infeasibility(plan)
    kinds = {r.kind for r in plan.diagnosis.reasons}
    assert kinds & {"bounds_arithmetic", "unit_count"}, kinds
    assert not plan.diagnosis.proved_by_solver  # arithmetic, said before solving
    with tempfile.TemporaryDirectory() as folder, pytest.raises(InputError, match="verified plan"):
        write_plan(plan, layer.blocks, Path(folder) / "OUT")


@st.composite
def a_block_above_max(draw):
    """Bounds that fit the total by arithmetic, but one block alone holds more than the maximum."""
    gdf = draw(layouts(min_households=1))
    hh = gdf["households"].astype(int)
    total, biggest, n = int(hh.sum()), int(hh.max()), len(gdf)
    assume(biggest >= 2)
    k_min = -(-total // (biggest - 1))
    assume(k_min <= n)
    k = draw(st.integers(k_min, n))
    upper = draw(st.integers(-(-total // k), biggest - 1))
    lower = draw(st.integers(1, min(upper, total // k)))
    return gdf, draw(st.sampled_from([k, None])), lower, upper


@settings(max_examples=examples(15))
@given(a_block_above_max())
def test_a_block_above_the_maximum_is_named_and_never_planned(case):
    gdf, k, lower, upper = case
    layer, graph = build(gdf)
    plan = solve(Problem.from_layer(layer, graph, k=k, lower=lower, upper=upper), time_limit=TIME_LIMIT)
    assert_explained_infeasibility(plan)
    (reason,) = [r for r in plan.diagnosis.reasons if r.kind == "block_above_max"]
    too_big = sorted(str(b) for b, h in layer.blocks["households"].items() if h > upper)
    assert sorted(map(str, reason.block_ids)) == too_big


@settings(max_examples=examples(10))
@given(layouts(min_households=2), st.integers(1, 5), st.data())
def test_more_units_than_blocks_is_refused(gdf, extra, data):
    """k above the number of blocks (bounds that fit k by arithmetic) never yields a plan.

    A plain k > blocks is refused as invalid input when the problem is made (CLI exit 2); once
    keep-together groups leave fewer nodes than k, ``solve`` says infeasible with the reason.
    """
    layer, graph = build(gdf)
    n, total = graph.number_of_nodes(), int(gdf["households"].sum())
    k = n + extra
    assert k in feasible_unit_counts(total, 1, total)
    with pytest.raises(InputError) as refused:
        Problem.from_layer(layer, graph, k=k, lower=1, upper=total)
    assert "block" in refused.value.message and f"({n})" in refused.value.message
    a, b = data.draw(st.sampled_from(sorted(graph.edges)))
    plan = solve(Problem(graph=graph, k=n, lower=1, upper=total, keep_together={a: "pair", b: "pair"}), time_limit=TIME_LIMIT)
    assert_explained_infeasibility(plan)
    assert any(r.kind == "unit_count" and str(n) in r.message for r in plan.diagnosis.reasons)


def test_a_minimum_of_zero_admits_every_k_that_fits_by_arithmetic():
    """Regression: k=2 for 3 households in 0–3 was refused ("would average 2, above the maximum 3")."""
    graph = nx.path_graph(["a", "b", "c"])
    for i, node in enumerate(graph):
        graph.nodes[node].update(households=1, x=100.0 * i, y=0.0)
    assert 2 * 0 <= 3 <= 2 * 3  # k=2 fits 3 households in 0–3
    plan = solve(Problem(graph=graph, k=2, lower=0, upper=3))
    assert plan.ok and len(plan.units) == 2


def test_the_layouts_are_what_the_properties_assume():
    """A fixed layout: Voronoi cells tile the square, and the graph joins the cells that share an edge."""
    sites = [(10, 10), (50, 10), (90, 10), (10, 90), (50, 90), (90, 90)]
    layer, graph = build(voronoi_layer(sites, [1, 2, 3, 4, 5, 6], "c{:02d}"))
    assert layer.blocks.area.sum() == pytest.approx(SIDE * SIDE)
    assert nx.is_connected(graph)
    # two rows of three: each cell meets its row neighbours and the cell across the middle line
    assert sorted(graph.edges) == sorted([("c00", "c01"), ("c01", "c02"), ("c03", "c04"), ("c04", "c05"), ("c00", "c03"), ("c01", "c04"), ("c02", "c05")])
    assert math.isclose(sum(d["households"] for _, d in graph.nodes(data=True)), 21)


# --- (e) street layouts with thin blocks in the roads: contiguity is geometric ---------------------

SNAP = 25.0


@st.composite
def strip_layouts(draw):
    """Blocks on a street grid (4–12 m roads) with thin strip blocks (6–15 m wide, 2–4 m lanes)
    standing in some of the roads between columns, over part or all of the height: without the
    empty-space rule, the blocks either side of a strip (≤ 23 m apart) became neighbours."""
    x0, y0 = ORIGIN
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    widths = draw(st.lists(st.integers(40, 120), min_size=cols, max_size=cols))
    heights = draw(st.lists(st.integers(40, 120), min_size=rows, max_size=rows))
    row_gaps = draw(st.lists(st.integers(4, 12), min_size=rows, max_size=rows))
    geoms, ids, strips, open_roads = [], [], [], []
    ys = [y0 + sum(heights[:r]) + sum(row_gaps[:r]) for r in range(rows)]
    top = ys[-1] + heights[-1]
    x = x0
    for c in range(cols):
        for r in range(rows):
            geoms.append(shapely.box(x, ys[r], x + widths[c], ys[r] + heights[r]))
            ids.append(f"r{r}c{c}")
        x += widths[c]
        if c == cols - 1:
            break
        if draw(st.booleans()):  # a strip in this road
            lane, width = draw(st.integers(2, 4)), draw(st.integers(6, 15))
            start = draw(st.sampled_from([0.0, 0.0, 0.3]))  # mostly the whole height
            end = draw(st.sampled_from([1.0, 1.0, 0.6]))
            geoms.append(shapely.box(x + lane, y0 + start * (top - y0), x + lane + width, y0 + end * (top - y0)))
            ids.append(f"s{c}")
            strips.append(c)
            x += 2 * lane + width
        else:
            open_roads.append(c)
            x += draw(st.integers(4, 12))
    households = draw(st.lists(st.integers(1, 300), min_size=len(geoms), max_size=len(geoms)))
    gdf = gpd.GeoDataFrame({"block_id": ids, "households": households}, geometry=geoms, crs=UTM50)
    return gdf, rows, open_roads


def one_piece_without_crossing(blocks: gpd.GeoSeries, members: list[str]) -> bool:
    """Whether ``members``' blocks, each grown by half the snap distance, form one connected
    region once every other block is cut out of it (a connection may not pass through one)."""
    grown = shapely.union_all(shapely.buffer(blocks.loc[members].to_numpy(), SNAP / 2 + 0.01, join_style="mitre"))
    others = blocks.drop(index=members)
    region = shapely.difference(grown, shapely.union_all(others.to_numpy())) if len(others) else grown
    pieces = shapely.get_parts(region)
    inside = [p for p in pieces if any(p.intersects(blocks.loc[m].representative_point()) for m in members)]
    return len(inside) == 1


@settings(max_examples=examples(30))
@given(strip_layouts())
def test_every_edge_crosses_empty_space_and_open_roads_keep_their_edges(case):
    gdf, rows, open_roads = case
    layer = from_geodataframe(gdf)
    graph = build_graph(layer.blocks, snap=SNAP)
    blocks = layer.blocks.geometry
    for a, b in graph.edges:
        assert one_piece_without_crossing(blocks, [a, b]), (a, b)
    for c in open_roads:  # nothing stands in this road: every block faces its row neighbour
        for r in range(rows):
            assert graph.has_edge(f"r{r}c{c}", f"r{r}c{c + 1}"), (r, c)
    for s in [n for n in graph if n.startswith("s")]:  # a full-height strip separates its columns
        c = int(s[1:])
        full = blocks.loc[s].bounds[1] <= blocks.total_bounds[1] + 1e-6 and blocks.loc[s].bounds[3] >= blocks.total_bounds[3] - 1e-6
        if full:
            assert not any(graph.has_edge(f"r{r}c{c}", f"r{q}c{c + 1}") for r in range(rows) for q in range(rows))
    event(f"{sum(n.startswith('s') for n in graph)} strip(s)")


@settings(max_examples=examples(8))
@given(strip_layouts(), st.integers(2, 3))
def test_units_of_a_plan_are_one_piece_on_the_ground(case, k):
    gdf, _, _ = case
    layer = from_geodataframe(gdf)
    graph = build_graph(layer.blocks, snap=SNAP)
    assume(nx.is_connected(graph) and len(graph) >= k)
    total = int(layer.blocks["households"].sum())
    plan = solve(Problem.from_layer(layer, graph, k=k, lower=0, upper=max(1, total), weights=WEIGHTS["cut_edges"]), time_limit=TIME_LIMIT)
    assume(plan.ok)
    for unit, members in units_of(plan.assignment).items():
        assert one_piece_without_crossing(layer.blocks.geometry, members), (unit, members)
