"""The ``redistrict`` command line: parse options, call the Python API, print, map errors to exit codes.

Exit codes: 0 success; 2 invalid input; 3 infeasible; 4 no plan within the time limit;
5 a plan failed verification; 1 an unexpected internal error.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from . import options as opts
from .errors import RedistrictError, RedistrictWarning


class _Command(typer.core.TyperCommand):
    """Help as a planner reads it: ``BLOCKS`` (not ``{blocks}``) in the usage line, and flags
    (``--force``, ``--relax``, ``--help``) without a ``<bool>`` type after them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if getattr(param, "is_flag", False):
                _untyped(param)

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [piece.strip("{}").upper() if piece.startswith("{") else piece for piece in super().collect_usage_pieces(ctx)]

    def get_help_option(self, ctx):
        return _untyped(super().get_help_option(ctx))


class _Group(typer.core.TyperGroup):
    """The root: its commands use :class:`_Command`; ``--help`` without a type either."""

    def get_help_option(self, ctx):
        return _untyped(super().get_help_option(ctx))


def _untyped(option):
    """A flag (``--force``, ``--help``) shown without a ``<bool>`` after it."""
    if option is not None:
        option.metavar = " "
    return option


app = typer.Typer(
    cls=_Group,
    name="redistrict",
    help="Redraw urban residents' communities (社区) into contiguous units of a set household size.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False, width=None if sys.stdout.isatty() else 80)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

def _print_version(value: bool) -> None:
    if value:
        from . import __version__

        console.print(f"redistrict {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True, metavar=" ")] = False,
) -> None:
    """Redraw urban residents' communities (社区) into contiguous units of a set household size."""


# --- shared options -----------------------------------------------------------------------------
Blocks = Annotated[Path, typer.Argument(help="Block layer: GeoJSON, GeoPackage, Shapefile (.shp/.zip), GeoParquet or CSV with WKT.", show_default=False)]
LayerOpt = Annotated[str | None, typer.Option("--layer", help="Layer name inside a GeoPackage.")]
EncodingOpt = Annotated[str | None, typer.Option("--encoding", help="Text encoding of a Shapefile DBF or CSV (e.g. gbk, utf-8).")]
CrsOpt = Annotated[str | None, typer.Option("--crs", help="CRS of the input when the file has none (e.g. EPSG:4326, EPSG:4490).")]
WktOpt = Annotated[str | None, typer.Option("--wkt-column", help="CSV column holding WKT geometry.")]
IdOpt = Annotated[str | None, typer.Option("--id", help="Block id column.")]
HouseholdsOpt = Annotated[str | None, typer.Option("--households", help="Household count column (auto: households, hh, 户数 …).")]
PopulationOpt = Annotated[str | None, typer.Option("--population", help="Population column (auto: population, pop, 人口 …).")]
CommunityOpt = Annotated[str | None, typer.Option("--community-col", help="Current community column (auto: community, 社区 …).")]
SubdistrictOpt = Annotated[str | None, typer.Option("--subdistrict-col", help="Subdistrict column (auto: subdistrict, 街道 …).")]
AdjacencyOpt = Annotated[str, typer.Option("--adjacency", help="rook (shared boundary or facing frontage) or queen (any contact).")]
SnapOpt = Annotated[float, typer.Option("--snap", help="Blocks within this many metres across a road are neighbours.")]
FrontageOpt = Annotated[float, typer.Option("--min-frontage", help="Rook: metres of facing boundary needed across a gap.")]
BarriersOpt = Annotated[list[Path] | None, typer.Option("--barriers", metavar="FILE", help="Line/polygon layer no unit may cross (repeatable).")]
OverridesOpt = Annotated[Path | None, typer.Option("--overrides", help="CSV block_a,block_b,action(add|remove)[,note] of edge edits (bridges, walls).")]
MinOpt = Annotated[int, typer.Option("--min", help="Minimum households per unit.")]
MaxOpt = Annotated[int, typer.Option("--max", help="Maximum households per unit.")]


InputCoordsOpt = Annotated[str, typer.Option("--input-coords", help="wgs84, or gcj02 for lon/lat digitised on AMap/Tencent maps.")]
LangOpt = Annotated[str, typer.Option("--lang", help="Map and report labels: zh or en.")]
BasemapOpt = Annotated[str, typer.Option("--basemap", help="none (offline, default), osm, amap (GCJ-02) or tianditu.")]
TiandituOpt = Annotated[str | None, typer.Option("--tianditu-key", help="Tianditu API key for --basemap tianditu (or env TIANDITU_KEY).")]


#: command parameter → Scenario field, where the names differ
_PARAM_FIELD = {"min_households": "lower", "max_households": "upper", "households": "households_col", "population": "population_col"}


def _scenario(name: str, params: dict, **extra):
    """A :class:`~redistrict.scenario.Scenario` from a command's parameters (unknown ones ignored)."""
    from dataclasses import fields

    from .problem import Weights
    from .scenario import Scenario

    names = {f.name for f in fields(Scenario)}
    values = {_PARAM_FIELD.get(k, k): v for k, v in params.items()}
    kwargs = {k: v for k, v in values.items() if k in names and k not in ("name", "weights") and v is not None}
    kwargs["blocks"] = str(params.get("blocks", ""))
    for key in ("offices", "locks", "overrides"):
        if kwargs.get(key) is not None:
            kwargs[key] = str(kwargs[key])
    kwargs["barriers"] = tuple(str(b) for b in params.get("barriers") or ())
    if "w_compactness" in params:
        selection = (kwargs | extra).get("subdistrict"), (kwargs | extra).get("communities", ())
        stability = params.get("w_stability")
        kwargs["weights"] = Weights(
            compactness=params["w_compactness"], boundary=params.get("w_boundary", opts.W_BOUNDARY),
            stability=opts.stability_weight(*selection) if stability is None else stability,
            distance=params.get("w_distance", opts.W_DISTANCE), unit_edges=params.get("cut_edges", False),
        )
    if "time_limit" in params:
        kwargs["time_limit"] = params["time_limit"]  # None (no limit) is meaningful here
    return Scenario(name=name, **(kwargs | extra))


@app.command(cls=_Command)
def check(
    blocks: Blocks,
    min_households: MinOpt = opts.MIN_HOUSEHOLDS,
    max_households: MaxOpt = opts.MAX_HOUSEHOLDS,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the summary as JSON to this file.")] = None,
    layer: LayerOpt = None,
    encoding: EncodingOpt = None,
    crs: CrsOpt = None,
    wkt_column: WktOpt = None,
    id_col: IdOpt = None,
    households: HouseholdsOpt = None,
    population: PopulationOpt = None,
    community_col: CommunityOpt = None,
    subdistrict_col: SubdistrictOpt = None,
    adjacency: AdjacencyOpt = opts.ADJACENCY,
    snap: SnapOpt = opts.SNAP,
    min_frontage: FrontageOpt = opts.MIN_FRONTAGE,
    barriers: BarriersOpt = None,
    overrides: OverridesOpt = None,
    input_coords: InputCoordsOpt = opts.INPUT_COORDS,
) -> None:
    """Load and validate a block layer, build its graph, and say what plans the bounds allow."""
    from .diagnose import check_layer

    inputs = _scenario("check", locals()).inputs()
    report = check_layer(inputs.layer, inputs.graph, lower=min_households, upper=max_households)
    _print_check(report)
    if json_path is not None:
        _write_json(json_path, report.to_dict())
        console.print(f"\nSummary written to [bold]{json_path}[/bold]")
    if not report.usable:
        raise typer.Exit(2)


def _print_check(report) -> None:
    lo, hi = report.lower, report.upper
    pop = f"{report.population:,}" if report.population is not None else "not given"
    console.print(f"[bold]{report.source}[/bold]")
    console.print(f"  {report.blocks:,} blocks · {report.households:,} households · population {pop}")
    console.print(f"  CRS {report.crs} (working in {report.metric_crs}) · bounds {lo:,}–{hi:,} households per unit")
    for title, rows in (("Subdistricts", report.subdistricts), ("Communities", report.communities)):
        if not rows:
            continue
        table = Table(title=title, title_justify="left", show_lines=False)
        table.add_column("name", overflow="fold")
        if title == "Communities":
            table.add_column("subdistrict", overflow="fold")
        table.add_column("blocks", justify="right", overflow="fold")
        table.add_column("households", justify="right", overflow="fold")
        table.add_column("within bounds", justify="center", overflow="fold")
        table.add_column("units that fit (k)", justify="left", overflow="fold")
        for row in rows:
            ok = "[green]yes[/green]" if row.within_bounds else "[red]no[/red]"
            fits = ", ".join(map(str, row.feasible_k)) if row.feasible_k else "[red]none[/red]"
            cells = [row.name] + ([row.subdistrict or ""] if title == "Communities" else [])
            table.add_row(*cells, str(row.blocks), f"{row.households:,}", ok, fits)
        console.print(table)
    if len(report.pieces) > 1:
        _print_piece_ranges(report.pieces)
    elif report.pieces and report.pieces[0].get("forced"):
        row = report.pieces[0]
        console.print(f"At most {row['most_units']} units fit: {row['forced']}.")
    infeasible = [c for c in report.communities if not c.feasible_k]
    if infeasible:
        console.print("[bold]Communities that no number of units can split within the bounds:[/bold]")
        for row in infeasible:
            console.print(f"  • {row.explanation}")
    g = report.graph
    comps = "connected" if g.connected else f"[red]{len(g.components)} separate pieces[/red]"
    console.print(
        f"\n[bold]Graph[/bold]: {g.n_edges:,} edges ({g.snapped_edges:,} across road gaps), {comps}; "
        f"degree {g.degree['min']}–{g.degree['max']} (mean {g.degree['mean']}); "
        f"{g.barrier_removed} edge(s) cut by barriers, {g.overrides_added} added / {g.overrides_removed} removed by overrides."
    )
    if report.findings:
        console.print("\n[bold]Findings[/bold]:")
        colour = {"error": "red", "warning": "yellow", "repaired": "cyan"}
        for f in report.findings:
            console.print(f"  [{colour.get(f.severity, 'white')}]{f.severity}[/]: {f.message}")
    verdict = "[green]usable[/green]" if report.usable else "[red]not usable[/red]"
    console.print(f"\nData is {verdict}.")


def _print_piece_ranges(pieces: list[dict]) -> None:
    """The separate pieces a whole-layer split solves apart, and the unit counts each can hold."""
    table = Table(title="Separate pieces (each gets its own k)", title_justify="left", show_lines=False)
    for col in ("piece", "blocks", "households", "units (k)"):
        table.add_column(col, justify="left" if col == "piece" else "right", overflow="fold")
    for row in pieces[:40]:
        fits = "[red]none[/red]" if row["fewest_units"] is None else f"{row['fewest_units']}–{row['most_units']}"
        table.add_row(str(row["piece"]), str(row["blocks"]), f"{row['households']:,}", fits + ("*" if row.get("forced") else ""))
    console.print(table)
    for row in pieces:
        if row.get("forced"):
            console.print(f"  * {row['piece']}: {row['forced']}.")
    if all(r["fewest_units"] is not None for r in pieces):
        lo, hi = sum(r["fewest_units"] for r in pieces), sum(r["most_units"] for r in pieces)
        console.print(f"  The whole layer needs {lo}–{hi} units in all (without --k: {lo}, the fewest per piece).")
    if len(pieces) > 40:
        console.print(f"  … and {len(pieces) - 40} more pieces (see --json).")


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)



# --- solving ------------------------------------------------------------------------------------
KOpt = Annotated[int | None, typer.Option("--k", help="Number of units (default: the fewest that fit the bounds).")]
OfficesOpt = Annotated[Path | None, typer.Option("--offices", help="Point layer of candidate office sites with floor_area_m2.")]
OfficeAreaOpt = Annotated[float, typer.Option("--min-office-area", help="Smallest office floor area (m²) a unit's site may have.")]
WCompactOpt = Annotated[float, typer.Option("--w-compactness", help="Weight of households × squared distance to the centre (km²).")]
WBoundaryOpt = Annotated[float, typer.Option("--w-boundary", help="Weight of boundary length between units (km).")]
WStabilityOpt = Annotated[float | None, typer.Option("--w-stability", help="Weight of households moved out of their current community (default: 1 for plan, 0 for split).")]
WDistanceOpt = Annotated[float, typer.Option("--w-distance", help="Weight of households × distance to the office (km).")]
CutEdgesOpt = Annotated[bool, typer.Option("--cut-edges", help="Count cut edges instead of boundary kilometres in the boundary term.")]
LocksOpt = Annotated[Path | None, typer.Option("--locks", help="CSV block_id,unit: blocks locked together (same label) or apart; with --lock-units, a plan (assignment CSV or the editor's edit JSON).")]
LockUnitsOpt = Annotated[str | None, typer.Option("--lock-units", help="Re-optimise around an edit: keep these units of the --locks plan together (comma-separated, e.g. U3,U5); the rest is redrawn.")]
KeepOpt = Annotated[str | None, typer.Option("--keep-together", help="Column whose equal values must stay in one unit (e.g. a 小区 split into parts).")]
CrossOpt = Annotated[bool, typer.Option("--cross-subdistricts", help="Allow units to cross subdistrict lines.")]
SolverOpt = Annotated[str, typer.Option("--solver", help="highs (default) or cbc.")]
TimeOpt = Annotated[float | None, typer.Option("--time-limit", help="Seconds before the search stops with its best verified plan (status timed_out, gap stated; 'inf': no limit).")]
GapOpt = Annotated[float | None, typer.Option("--gap", help="Relative MIP gap at which to stop (e.g. 0.01).")]
RelaxOpt = Annotated[bool, typer.Option("--relax", help="If the bounds cannot hold, return the plan with the smallest largest violation.")]
SmoothOpt = Annotated[bool, typer.Option("--smooth/--no-smooth", help="End the heuristic by trading up to 1 % of the objective for shorter unit boundaries (default); --no-smooth keeps the best plan found for the objective.")]
RelaxToleranceOpt = Annotated[int | None, typer.Option("--relax-tolerance", help="With --relax: households the violation may lie above the proved bound before the search stops (default 0.1 % of --max; 0: search for a proof).")]
OutOpt = Annotated[Path, typer.Option("--out", help="Output folder (written atomically).")]
MethodOpt = Annotated[str, typer.Option("--method", help="auto (exact for pieces of at most 150 blocks, heuristic above), exact, or heuristic (construction + exact re-solves of 2-3 neighbouring units; no optimality claim).")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", help="Processes for the separate pieces (subdistricts), or for the regions of a lone piece of over 400 units; default one per core, 1 = in this process.")]
PieceSchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="Solve the pieces on the Dask cluster at this address (tcp://HOST:8786) instead of local processes.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace a non-empty output folder.")]
UnitGeometryOpt = Annotated[str, typer.Option("--unit-geometry", help="Unit polygons: tessellated (they tile the planned area, roads included) or blocks (the union of each unit's blocks).")]
CsvReadOpt = Annotated[str | None, typer.Option("--csv-encoding", help="Encoding of ASSIGNMENT.csv (default: detected — UTF-8, with or without BOM, or GBK/GB18030 as Excel saves it on Chinese Windows).")]
CsvWriteOpt = Annotated[str, typer.Option("--csv-encoding", help="Encoding of the CSVs written: utf-8 (with a BOM, so Excel shows Chinese) or gbk.")]


def _check_unit_geometry(value: str) -> None:
    """Refuse an unknown ``--unit-geometry`` before any work."""
    from .boundaries import UNIT_GEOMETRIES
    from .errors import InputError

    if value not in UNIT_GEOMETRIES:
        raise InputError(f"--unit-geometry must be one of {', '.join(UNIT_GEOMETRIES)}, not '{value}'.")


def _run(scenario, *, out: Path, force: bool, command_hint: str, tianditu_key: str | None = None, csv_encoding: str = "utf-8", unit_geometry: str = "tessellated") -> None:
    """Run one scenario for ``split``/``plan``: solve with a progress line, write, print, exit."""
    from .io import csv_encoding as csv_codec
    from .outputs import check_target, write_diagnosis, write_plan
    from .report import write_outputs
    from .scenario import solve_progress

    csv_codec(csv_encoding)
    _check_unit_geometry(unit_geometry)
    check_target(out, force=force)
    inputs = scenario.inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedistrictWarning)  # printed below, once, as findings
        problem = scenario.problem(inputs)
    console.print(f"{problem!r}")
    if problem.unit_count is not None:
        console.print(f"  {problem.k_reason}")
    for finding in problem.findings:
        err_console.print(f"[yellow]{finding.severity}[/yellow]: {finding.message}")
    with _interrupted(out), solve_progress("Solving", console=console, transient=True, disable=not console.is_terminal) as progress:
        result = scenario.run(progress=progress, problem=problem)
    plan = result.plan
    if plan.status in ("infeasible", "no_solution"):
        with _interrupted(out):
            write_diagnosis(plan, out, force=force)
        console.print(f"[bold red]{plan.status}[/bold red]")
        console.print(plan.message)
        if plan.status == "infeasible" and len(scenario.communities) == 1 and not scenario.subdistrict:
            blocks = inputs.layer.blocks
            subs = blocks.loc[blocks["community"] == scenario.communities[0], "subdistrict"].dropna().unique()
            if len(subs) == 1:
                console.print(f"\nTo re-plan it with its neighbours:\n  [bold]{command_hint} --subdistrict {subs[0]} --out {out}_joint[/bold]", soft_wrap=True)
        written = "diagnosis.json and report.json" if plan.diagnosis is not None else "report.json"
        console.print(f"\nWrote {written} to [bold]{out}[/bold]")
        raise typer.Exit(plan.exit_code)
    render = {"lang": scenario.lang, "basemap": scenario.basemap, "tianditu_key": tianditu_key}
    with _interrupted(out):
        write_plan(plan, result.blocks, out, force=force, csv_encoding=csv_encoding, unit_geometry=unit_geometry, extra=lambda tmp: write_outputs(plan, result.blocks, tmp, offices=result.offices, barriers=result.barriers, **render))
    _print_plan(plan)
    console.print(f"\nWrote [bold]{out}[/bold]: map.html, report.html, report.md, map.png, assignment.csv, units.geojson, blocks.geojson, report.json")
    raise typer.Exit(plan.exit_code)


@contextmanager
def _interrupted(out: Path) -> Iterator[None]:
    """Ctrl-C: one line saying nothing was written, and exit code 130 (128 + SIGINT)."""
    try:
        yield
    except KeyboardInterrupt:
        err_console.print(f"[bold red]interrupted[/bold red] (Ctrl-C): nothing was written; {out} is as it was.")
        raise typer.Exit(130) from None


#: the terminal lists at most this many units or pieces of a large plan (the files have them all)
TERMINAL_ROWS = 40
#: how a piece's status ranks when a long list is cut: those needing a look first
_PIECE_ORDER = {"infeasible": 0, "no_solution": 0, "relaxed_unproved": 1, "relaxed": 2}


def _print_plan(plan) -> None:
    colour = {"optimal": "green", "feasible": "yellow", "heuristic": "yellow", "timed_out": "yellow", "relaxed": "yellow", "relaxed_unproved": "yellow"}.get(plan.status, "red")
    console.print(f"[bold {colour}]{plan.status}[/bold {colour}] · {plan.message} · {plan.seconds:.2f} s")
    _print_units(plan.units)
    if len(plan.pieces) > 1:
        _print_pieces(plan.pieces)
    obj = plan.objective
    console.print(f"compactness {obj['compactness_hh_km2']:,.1f} hh·km² · boundary {obj['boundary_km']:,.2f} km ({obj['cut_edges']} cut edges) · households moved {obj['households_moved']:,}")


def _print_units(units) -> None:
    """A row per unit; above MANY_UNITS units only those outside the bounds (largest violation
    first, at most TERMINAL_ROWS) under a count of all — a city's thousands of rows are in the files."""
    shown, title = units, None
    if len(units) > opts.MANY_UNITS:
        outside = units[~units["within_bounds"].astype(bool)].sort_values("violation", ascending=False, kind="stable")
        console.print(f"{len(units):,} units: {len(units) - len(outside):,} within the bounds, {len(outside):,} outside (every unit: report.html, assignment.csv, units.geojson)")
        if outside.empty:
            return
        shown = outside.head(TERMINAL_ROWS)
        title = f"units outside the bounds ({len(shown)} of {len(outside):,}, largest violation first)"
    table = Table(title=title, title_justify="left", show_lines=False)
    for col in ("unit", "name", "households", "blocks", "office", "mean dist (m)", "max dist (m)", "moved in", "bounds"):
        table.add_column(col, justify="right" if col not in ("unit", "name", "office") else "left", overflow="fold")
    for row in shown.itertuples(index=False):
        ok = "[green]ok[/green]" if row.within_bounds else f"[red]off by {row.violation:,}[/red]"
        moved = "" if row.households_moved_in is None or row.households_moved_in != row.households_moved_in else f"{int(row.households_moved_in):,}"
        table.add_row(row.unit_id, str(row.name), f"{row.households:,}", str(row.blocks), str(row.office_name or row.centre_block), f"{row.mean_distance_m:,.0f}", f"{row.max_distance_m:,.0f}", moved, ok)
    console.print(table)


def _print_pieces(rows: list[dict]) -> None:
    """The per-piece table: how each separate piece was solved.  Above TERMINAL_ROWS pieces, a
    count per status and the pieces needing a look first (no plan, relaxed, then largest gap)."""
    title, shown = "pieces (solved independently)", rows
    if len(rows) > TERMINAL_ROWS:
        statuses = Counter(r["status"] for r in rows)
        console.print(f"{len(rows):,} pieces: " + ", ".join(f"{n:,} {status}" for status, n in statuses.most_common()) + " (every piece: report.html, report.json)")
        shown = sorted(rows, key=lambda r: (_PIECE_ORDER.get(r["status"], 3), -(1.0 if r["gap"] is None else r["gap"])))[:TERMINAL_ROWS]
        title = f"pieces (solved independently; {len(shown)} of {len(rows):,}: no plan or relaxed first, then the largest gap)"
    table = Table(title=title, show_lines=False)
    for col in ("piece", "blocks", "k", "method", "status", "objective", "bound", "gap", "seconds"):
        table.add_column(col, justify="left" if col in ("piece", "method", "status") else "right", overflow="fold")
    for r in shown:
        fmt = lambda v: "-" if v is None else f"{v:,.1f}"  # noqa: E731
        gap = "-" if r["gap"] is None else f"{r['gap']:.1%}"
        table.add_row(str(r["piece"]), str(r["blocks"]), str(r["k"]), r["method"], r["status"], fmt(r["objective"]), fmt(r["bound"]), gap, f"{r['seconds']:.1f}")
    console.print(table)


@app.command(cls=_Command)
def split(
    blocks: Blocks,
    out: OutOpt,
    community: Annotated[str | None, typer.Option("--community", help="Split only this community's blocks.")] = None,
    min_households: MinOpt = opts.MIN_HOUSEHOLDS,
    max_households: MaxOpt = opts.MAX_HOUSEHOLDS,
    k: KOpt = None,
    offices: OfficesOpt = None,
    min_office_area: OfficeAreaOpt = opts.MIN_OFFICE_AREA,
    w_compactness: WCompactOpt = opts.W_COMPACTNESS,
    w_boundary: WBoundaryOpt = opts.W_BOUNDARY,
    w_stability: WStabilityOpt = None,
    w_distance: WDistanceOpt = opts.W_DISTANCE,
    cut_edges: CutEdgesOpt = False,
    locks: LocksOpt = None,
    lock_units: LockUnitsOpt = None,
    keep_together: KeepOpt = None,
    cross_subdistricts: CrossOpt = False,
    solver: SolverOpt = opts.SOLVER,
    time_limit: TimeOpt = opts.TIME_LIMIT,
    gap: GapOpt = None,
    relax: RelaxOpt = False,
    relax_tolerance: RelaxToleranceOpt = None,
    method: MethodOpt = opts.METHOD,
    smooth: SmoothOpt = True,
    workers: WorkersOpt = None,
    scheduler: PieceSchedulerOpt = None,
    force: ForceOpt = False,
    unit_geometry: UnitGeometryOpt = "tessellated",
    layer: LayerOpt = None,
    encoding: EncodingOpt = None,
    crs: CrsOpt = None,
    wkt_column: WktOpt = None,
    id_col: IdOpt = None,
    households: HouseholdsOpt = None,
    population: PopulationOpt = None,
    community_col: CommunityOpt = None,
    subdistrict_col: SubdistrictOpt = None,
    adjacency: AdjacencyOpt = opts.ADJACENCY,
    snap: SnapOpt = opts.SNAP,
    min_frontage: FrontageOpt = opts.MIN_FRONTAGE,
    barriers: BarriersOpt = None,
    overrides: OverridesOpt = None,
    input_coords: InputCoordsOpt = opts.INPUT_COORDS,
    lang: LangOpt = opts.LANG,
    basemap: BasemapOpt = opts.BASEMAP,
    tianditu_key: TiandituOpt = None,
    csv_encoding: CsvWriteOpt = "utf-8",
) -> None:
    """Cut one community (or the whole layer) into contiguous units within the household bounds."""
    scenario = _scenario("split", locals(), communities=(community,) if community is not None else ())
    _run(scenario, out=out, force=force, command_hint=_replan_hint(blocks, barriers, overrides, offices), tianditu_key=tianditu_key, csv_encoding=csv_encoding, unit_geometry=unit_geometry)


def _replan_hint(blocks: Path, barriers, overrides, offices) -> str:
    """The `redistrict plan` command a planner should run next, with the same data options."""
    parts = ["redistrict plan", str(blocks)]
    parts += [f"--barriers {b}" for b in barriers or []]
    if overrides:
        parts.append(f"--overrides {overrides}")
    if offices:
        parts.append(f"--offices {offices}")
    return " ".join(parts)


@app.command(cls=_Command)
def plan(
    blocks: Blocks,
    out: OutOpt,
    subdistrict: Annotated[str | None, typer.Option("--subdistrict", help="Re-plan every community of this subdistrict together.")] = None,
    communities: Annotated[str | None, typer.Option("--communities", help="Comma-separated communities to re-plan together.")] = None,
    min_households: MinOpt = opts.MIN_HOUSEHOLDS,
    max_households: MaxOpt = opts.MAX_HOUSEHOLDS,
    k: KOpt = None,
    offices: OfficesOpt = None,
    min_office_area: OfficeAreaOpt = opts.MIN_OFFICE_AREA,
    w_compactness: WCompactOpt = opts.W_COMPACTNESS,
    w_boundary: WBoundaryOpt = opts.W_BOUNDARY,
    w_stability: WStabilityOpt = None,
    w_distance: WDistanceOpt = opts.W_DISTANCE,
    cut_edges: CutEdgesOpt = False,
    locks: LocksOpt = None,
    lock_units: LockUnitsOpt = None,
    keep_together: KeepOpt = None,
    cross_subdistricts: CrossOpt = False,
    solver: SolverOpt = opts.SOLVER,
    time_limit: TimeOpt = opts.TIME_LIMIT,
    gap: GapOpt = None,
    relax: RelaxOpt = False,
    relax_tolerance: RelaxToleranceOpt = None,
    method: MethodOpt = opts.METHOD,
    smooth: SmoothOpt = True,
    workers: WorkersOpt = None,
    scheduler: PieceSchedulerOpt = None,
    force: ForceOpt = False,
    unit_geometry: UnitGeometryOpt = "tessellated",
    layer: LayerOpt = None,
    encoding: EncodingOpt = None,
    crs: CrsOpt = None,
    wkt_column: WktOpt = None,
    id_col: IdOpt = None,
    households: HouseholdsOpt = None,
    population: PopulationOpt = None,
    community_col: CommunityOpt = None,
    subdistrict_col: SubdistrictOpt = None,
    adjacency: AdjacencyOpt = opts.ADJACENCY,
    snap: SnapOpt = opts.SNAP,
    min_frontage: FrontageOpt = opts.MIN_FRONTAGE,
    barriers: BarriersOpt = None,
    overrides: OverridesOpt = None,
    input_coords: InputCoordsOpt = opts.INPUT_COORDS,
    lang: LangOpt = opts.LANG,
    basemap: BasemapOpt = opts.BASEMAP,
    tianditu_key: TiandituOpt = None,
    csv_encoding: CsvWriteOpt = "utf-8",
) -> None:
    """Re-plan several communities together, keeping as many households as possible where they are."""
    from .errors import InputError

    names = tuple(c.strip() for c in communities.split(",") if c.strip()) if communities else ()
    if not names and not subdistrict:
        raise InputError("Say what to re-plan: --subdistrict NAME or --communities A,B,C.")
    scenario = _scenario("plan", locals(), communities=names)
    _run(scenario, out=out, force=force, command_hint=_replan_hint(blocks, barriers, overrides, offices), tianditu_key=tianditu_key, csv_encoding=csv_encoding, unit_geometry=unit_geometry)


@app.command(cls=_Command)
def verify(
    blocks: Blocks,
    assignment: Annotated[Path, typer.Argument(help="CSV of block_id,unit_id (first two columns).", show_default=False)],
    min_households: MinOpt = opts.MIN_HOUSEHOLDS,
    max_households: MaxOpt = opts.MAX_HOUSEHOLDS,
    k: KOpt = None,
    subdistrict: Annotated[str | None, typer.Option("--subdistrict", help="The plan covers only this subdistrict's blocks.")] = None,
    communities: Annotated[str | None, typer.Option("--communities", help="The plan covers only these communities' blocks (comma-separated).")] = None,
    layer: LayerOpt = None,
    encoding: EncodingOpt = None,
    crs: CrsOpt = None,
    wkt_column: WktOpt = None,
    id_col: IdOpt = None,
    households: HouseholdsOpt = None,
    population: PopulationOpt = None,
    community_col: CommunityOpt = None,
    subdistrict_col: SubdistrictOpt = None,
    adjacency: AdjacencyOpt = opts.ADJACENCY,
    snap: SnapOpt = opts.SNAP,
    min_frontage: FrontageOpt = opts.MIN_FRONTAGE,
    barriers: BarriersOpt = None,
    overrides: OverridesOpt = None,
    offices: OfficesOpt = None,
    min_office_area: OfficeAreaOpt = opts.MIN_OFFICE_AREA,
    locks: LocksOpt = None,
    lock_units: LockUnitsOpt = None,
    keep_together: KeepOpt = None,
    cross_subdistricts: CrossOpt = False,
    input_coords: InputCoordsOpt = opts.INPUT_COORDS,
    csv_encoding: CsvReadOpt = None,
) -> None:
    """Check any plan (also one drawn by hand) against every rule: each block in one unit, units contiguous, households in bounds, locks, groups, offices, subdistrict lines."""
    from dataclasses import replace

    from .errors import VerificationError
    from .io import read_assignment
    from .verify import covered_communities, rules_of, verify_plan

    names = tuple(c.strip() for c in communities.split(",") if c.strip()) if communities else ()
    scenario = _scenario("verify", locals(), communities=names, k=None)
    inputs = scenario.inputs()
    pairs = read_assignment(assignment, encoding=csv_encoding)
    if not names and not subdistrict:
        touched, note = covered_communities(inputs.graph, pairs["block_id"])
        if note:
            console.print(f"[dim]{note}[/dim]")
        scenario = replace(scenario, communities=touched)
    problem = scenario.problem(inputs)
    report = verify_plan(inputs.graph, pairs, rules=replace(rules_of(problem), k=k))  # the whole layer's graph: ids outside the scope are named as such
    if report.ok:
        hh = report.unit_households.values()
        console.print(f"[green]valid[/green]: {len(report.unit_households)} units, households {min(hh):,}–{max(hh):,}; checked {', '.join(report.checks)}.")
        return
    raise VerificationError(f"{assignment}: the plan is not valid ({len(report.violations)} violation(s)):\n" + report.summary(), violations=report.violations)


@app.command("map", cls=_Command)
def map_command(
    source: Annotated[Path, typer.Argument(help="An output folder of split/plan, or a block layer (then give ASSIGNMENT).", show_default=False)],
    assignment: Annotated[Path | None, typer.Argument(help="CSV block_id,unit_id when SOURCE is a block layer.", show_default=False)] = None,
    dest: Annotated[Path | None, typer.Option("--dest", help="HTML file to write (default SOURCE/map.html, or map.html).")] = None,
    offices: OfficesOpt = None,
    barriers: BarriersOpt = None,
    overrides: OverridesOpt = None,
    min_households: MinOpt = opts.MIN_HOUSEHOLDS,
    max_households: MaxOpt = opts.MAX_HOUSEHOLDS,
    current: Annotated[bool, typer.Option("--current/--no-current", help="Draw the current community boundaries.")] = True,
    lang: LangOpt = opts.LANG,
    basemap: BasemapOpt = opts.BASEMAP,
    tianditu_key: TiandituOpt = None,
    snap: SnapOpt = opts.SNAP,
    input_coords: InputCoordsOpt = opts.INPUT_COORDS,
    csv_encoding: CsvReadOpt = None,
) -> None:
    """Draw a plan as a self-contained Leaflet map (works offline with --basemap none).

    A plan the verifier rejects is still drawn, as a diagnostic with every violation marked;
    the verifier's summary is printed and the exit code is 5.
    """
    from .errors import VerificationError
    from .export import load_plan_dir
    from .io import read_assignment, read_points
    from .maps import assignment_plan, write_map
    from .scenario import read_barriers

    sites = read_points(offices, input_coords=input_coords) if offices else None
    if assignment is None:
        saved = load_plan_dir(source)
        plan_obj, blocks_gdf = saved.plan, saved.blocks
        barrier_gdf = read_barriers(barriers, blocks_gdf.crs, input_coords) if barriers else saved.barriers
        sites = sites if sites is not None else saved.offices
        target = dest or Path(source) / "map.html"
    else:
        inputs = _scenario("map", locals(), blocks=str(source), offices=None).inputs()
        layer_obj, graph, barrier_gdf = inputs.layer, inputs.graph, inputs.barriers
        plan_obj = assignment_plan(layer_obj.blocks, graph, read_assignment(assignment, encoding=csv_encoding) if csv_encoding else assignment, lower=min_households, upper=max_households, offices=sites)
        blocks_gdf = layer_obj.blocks
        target = dest or Path("map.html")
    path = write_map(plan_obj, blocks_gdf, target, offices=sites, barriers=barrier_gdf, current=current, lang=lang, basemap=basemap, tianditu_key=tianditu_key)
    report = plan_obj.verification
    if report is not None and not report.ok:
        console.print(f"Map written to [bold]{path}[/bold] as a diagnostic: every violation is drawn.")
        raise VerificationError(f"{plan_obj.message}", violations=report.violations)
    console.print(f"Map written to [bold]{path}[/bold]")


@app.command("edit", cls=_Command)
def edit_command(
    source: Annotated[Path, typer.Argument(help="An output folder of split/plan, or a block layer (then give ASSIGNMENT).", show_default=False)],
    assignment: Annotated[Path | None, typer.Argument(help="CSV block_id,unit_id when SOURCE is a block layer.", show_default=False)] = None,
    dest: Annotated[Path | None, typer.Option("--dest", help="HTML file to write (default SOURCE/edit.html, or edit.html).")] = None,
    subdistrict: Annotated[str | None, typer.Option("--subdistrict", help="Edit only this subdistrict's blocks (for layers too large to edit whole).")] = None,
    offices: OfficesOpt = None,
    min_office_area: OfficeAreaOpt = opts.MIN_OFFICE_AREA,
    min_households: MinOpt = opts.MIN_HOUSEHOLDS,
    max_households: MaxOpt = opts.MAX_HOUSEHOLDS,
    cross_subdistricts: CrossOpt = False,
    layer: LayerOpt = None,
    encoding: EncodingOpt = None,
    crs: CrsOpt = None,
    wkt_column: WktOpt = None,
    id_col: IdOpt = None,
    households: HouseholdsOpt = None,
    population: PopulationOpt = None,
    community_col: CommunityOpt = None,
    subdistrict_col: SubdistrictOpt = None,
    adjacency: AdjacencyOpt = opts.ADJACENCY,
    snap: Annotated[float | None, typer.Option("--snap", help="Blocks within this many metres across a road are neighbours (default 25; for OUT/ the run's own).")] = None,
    min_frontage: FrontageOpt = opts.MIN_FRONTAGE,
    barriers: BarriersOpt = None,
    overrides: OverridesOpt = None,
    input_coords: InputCoordsOpt = opts.INPUT_COORDS,
    lang: LangOpt = opts.LANG,
) -> None:
    """Write edit.html: move blocks between units in the map, see the rules live, save the edited plan."""
    from .edit import source_from_dir, source_from_scenario, write_editor

    if assignment is None:
        edit_source = source_from_dir(source, subdistrict=subdistrict, snap=snap, overrides=str(overrides) if overrides else None)
        target = dest or Path(source) / "edit.html"
    else:
        scenario = _scenario("edit", locals(), blocks=str(source), subdistrict=None, snap=25.0 if snap is None else snap, time_limit=None)
        edit_source = source_from_scenario(scenario, assignment, subdistrict=subdistrict, source_args=(str(source), str(assignment)))
        target = dest or Path("edit.html")
    path = write_editor(edit_source, target, lang=lang)
    plan_obj = edit_source.plan
    console.print(f"Editor written to [bold]{path}[/bold]: {len(edit_source.blocks):,} blocks, {plan_obj.k} units ({plan_obj.status}). Open it in a browser; it works offline.")


@app.command("export", cls=_Command)
def export_command(
    source: Annotated[Path, typer.Argument(help="An output folder of split/plan, or a block layer (then give ASSIGNMENT).", show_default=False)],
    assignment: Annotated[Path | None, typer.Argument(help="CSV block_id,unit_id when SOURCE is a block layer.", show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", help="gpkg, shp, geojson or csv.")] = "gpkg",
    crs: Annotated[str | None, typer.Option("--crs", help="Target CRS, e.g. EPSG:4490 (CGCS2000). GeoJSON is always WGS84.")] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="Shapefile/CSV text encoding: utf-8 or gbk.")] = "utf-8",
    dest: Annotated[Path | None, typer.Option("--dest", help="Where to write (default OUT/export; required with ASSIGNMENT).")] = None,
    offices: OfficesOpt = None,
    barriers: BarriersOpt = None,
    overrides: OverridesOpt = None,
    min_households: MinOpt = opts.MIN_HOUSEHOLDS,
    max_households: MaxOpt = opts.MAX_HOUSEHOLDS,
    snap: SnapOpt = opts.SNAP,
    input_coords: InputCoordsOpt = opts.INPUT_COORDS,
    csv_encoding: CsvReadOpt = None,
    unit_geometry: UnitGeometryOpt = "tessellated",
    study_area: Annotated[Path | None, typer.Option("--study-area", metavar="FILE", help="Polygon layer of the planned area's boundary: tessellated units tile the polygons that hold the blocks (default: the blocks with road gaps up to 100 m closed).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace files already in --dest.")] = False,
) -> None:
    """Export a plan for the city GIS: GeoPackage, Shapefile (UTF-8 or GBK), RFC 7946 GeoJSON or CSV."""
    from .errors import InputError
    from .export import export_plan, plan_from_assignment
    from .io import read_assignment, read_lines_or_polygons, read_points

    limit = read_lines_or_polygons(study_area, input_coords=input_coords) if study_area else None
    if assignment is None:
        paths = export_plan(source, fmt, crs=crs, encoding=encoding, dest=dest, force=force, unit_geometry=unit_geometry, limit=limit)
    else:
        if dest is None:
            raise InputError("Exporting a block layer with an assignment CSV needs --dest (where to write).")
        inputs = _scenario("export", locals(), blocks=str(source), offices=None, encoding=None, crs=None).inputs()
        layer_obj, graph = inputs.layer, inputs.graph
        sites = read_points(offices, input_coords=input_coords) if offices else None
        plan_obj = plan_from_assignment(layer_obj.blocks, graph, read_assignment(assignment, encoding=csv_encoding) if csv_encoding else assignment, lower=min_households, upper=max_households, offices=sites)
        if plan_obj.status == "invalid":
            from .errors import VerificationError

            raise VerificationError(f"{assignment}: {plan_obj.message}")
        paths = export_plan(plan_obj, fmt, crs=crs, encoding=encoding, dest=dest, blocks=layer_obj.blocks, offices=sites, force=force, unit_geometry=unit_geometry, limit=limit)
    for path in paths:
        console.print(f"  {path}")
    console.print(f"Exported {len(paths)} file(s).")


@app.command(cls=_Command)
def compare(
    plan_a: Annotated[Path, typer.Argument(help="First output folder.", show_default=False)],
    plan_b: Annotated[Path, typer.Argument(help="Second output folder.", show_default=False)],
    dest: Annotated[Path, typer.Option("--dest", help="HTML file for the comparison page.")] = Path("compare.html"),
    lang: LangOpt = opts.LANG,
    basemap: BasemapOpt = opts.BASEMAP,
    tianditu_key: TiandituOpt = None,
) -> None:
    """Two plans side by side: matched unit colours, moved blocks highlighted, a figures table."""
    from .comparison import compare_page, compare_plans, plan_name, plan_row
    from .export import load_plan_dir
    from .maps import save_html

    a, b = load_plan_dir(plan_a), load_plan_dir(plan_b)
    names = (plan_name(a, "A"), plan_name(b, "B"))
    if names[0] == names[1]:
        names = (f"{names[0]} (A)", f"{names[1]} (B)")
    path = save_html(compare_page(a, b, names=names, lang=lang, basemap=basemap, tianditu_key=tianditu_key), dest)
    table = Table(title="Comparison", title_justify="left")
    for col in ("plan", "status", "units", "households min–max", "out of bounds", "moved", "funding"):
        table.add_column(col, overflow="fold")
    for name, saved in zip(names, (a, b), strict=True):
        row = plan_row(saved.plan)
        table.add_row(name, saved.plan.status, str(row["units"]), f"{row['households_min']:,}–{row['households_max']:,}", str(row["out_of_bounds"]), f"{row['households_moved'] or 0:,}", f"¥{row['funding_yuan']:,}")
    console.print(table)
    result = compare_plans(a.plan, b.plan, a.blocks["households"])
    console.print(f"Between the plans: {len(result.moved_blocks):,} block(s) with {result.moved_households:,} households changed unit.")
    console.print(f"Comparison page written to [bold]{path}[/bold]")


@app.command(cls=_Command)
def sweep(
    scenarios: Annotated[Path, typer.Argument(help="TOML file: \\[defaults] and one \\[\\[scenario]] table per scenario.", show_default=False)],
    out: OutOpt,
    scheduler: Annotated[str, typer.Option("--scheduler", help="local (a Dask cluster on this machine), serial (no Dask), or tcp://HOST:8786.")] = "local",
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes of the local cluster (default: one per core).")] = None,
    threads: Annotated[int, typer.Option("--threads", help="Solver threads per scenario that sets none.")] = 1,
    force: ForceOpt = False,
) -> None:
    """Run many scenarios (in parallel on Dask) and compare them: OUT/<name>/, comparison.csv/.html."""
    from .comparison import format_value
    from .outputs import check_target
    from .scenario import load_scenarios
    from .sweeps import sweep as run_sweep
    from .sweeps import sweep_progress

    items = load_scenarios(scenarios)
    check_target(out, force=force)
    console.print(f"{len(items)} scenario(s) from {scenarios}: {', '.join(s.name for s in items)}")

    def describe(outcome) -> str:
        row = outcome.row
        colour = {"optimal": "green", "error": "red", "infeasible": "red", "no_solution": "red"}.get(row["status"], "yellow")
        detail = f"{row['units']} units, {row['households_min']:,}–{row['households_max']:,} households" if row.get("units") else _first_line(row.get("message"))
        return f"  [{colour}]{row['status']:>11}[/{colour}]  {outcome.name}: {detail} ({row['seconds']:.1f} s)"

    with _interrupted(out), sweep_progress(len(items), console=console, disable=not console.is_terminal, describe=describe) as progress:
        result = run_sweep(items, out, scheduler=scheduler, workers=workers, force=force, progress=progress, threads=threads)
    table = Table(title=f"Comparison ({result.scheduler}, {result.seconds:.1f} s)", title_justify="left")
    cols = ("status", "units", "households_min", "households_max", "out_of_bounds", "mean_polsby_popper", "households_moved", "gap", "seconds")
    table.add_column("scenario", overflow="fold")
    for col in cols:
        table.add_column(col.replace("households_", "hh ").replace("mean_polsby_popper", "PP"), justify="right", overflow="fold")
    for name, row in result.table.iterrows():
        table.add_row(str(name), *[format_value(row[c]) for c in cols])
    console.print(table)
    console.print(f"Wrote [bold]{result.out}[/bold]: comparison.csv, comparison.html, scenarios.toml, sweep.json and one folder per scenario")
    raise typer.Exit(result.exit_code)


def _first_line(message: str | None, width: int = 200) -> str:
    """The first line of a message, without a list dash, cut at a word with "…" if long."""
    line = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    line = line.removeprefix("- ").strip()
    return line if len(line) <= width else line[:width].rsplit(" ", 1)[0] + " …"


def _reader_gone() -> bool:
    """Whether stdout was redirected to /dev/null after its reader closed the pipe."""
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), os.stat(os.devnull))
    except (OSError, ValueError):
        return False


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn package errors into one readable message and an exit code.

    Usage errors are reported by typer itself (exit 2); a package error prints its message and
    exits with its code; anything else is an internal error (exit 1) without a traceback unless
    ``REDISTRICT_DEBUG=1``.
    """
    try:
        app(args=argv, standalone_mode=True)
    except BrokenPipeError:  # `redistrict … | head`: the reader has gone; leave quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except SystemExit as exc:
        if exc.code == 1 and _reader_gone():
            sys.exit(0)  # rich met the closed pipe first: it pointed stdout at /dev/null and exited 1
        raise
    except RedistrictError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc.message}")
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("REDISTRICT_DEBUG"):
            raise
        err_console.print(f"[bold red]internal error:[/bold red] {type(exc).__name__}: {exc}\nRun with REDISTRICT_DEBUG=1 for the traceback and report it.")
        sys.exit(1)


if __name__ == "__main__":
    main()
