"""The ``redistrict`` command line: parse options, call the Python API, print, map errors to exit codes.

Exit codes: 0 success; 2 invalid input; 3 infeasible; 4 no plan within the time limit;
5 a plan failed verification; 1 an unexpected internal error.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .errors import RedistrictError, RedistrictWarning

app = typer.Typer(
    name="redistrict",
    help="Redraw urban residents' communities (社区) into contiguous units of a set household size.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

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
BarriersOpt = Annotated[list[Path] | None, typer.Option("--barriers", help="Line/polygon layer no unit may cross (repeatable).")]
OverridesOpt = Annotated[Path | None, typer.Option("--overrides", help="CSV block_a,block_b,action(add|remove)[,note] of edge edits (bridges, walls).")]
MinOpt = Annotated[int, typer.Option("--min", help="Minimum households per unit.")]
MaxOpt = Annotated[int, typer.Option("--max", help="Maximum households per unit.")]


def _load(blocks, *, layer, encoding, crs, wkt_column, id_col, households, population, community_col, subdistrict_col):
    from .io import load_blocks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedistrictWarning)  # the CLI prints findings itself
        return load_blocks(
            blocks,
            layer=layer,
            encoding=encoding,
            crs=crs,
            wkt_column=wkt_column,
            id_col=id_col,
            households_col=households,
            population_col=population,
            community_col=community_col,
            subdistrict_col=subdistrict_col,
        )


def _graph(layer, *, adjacency, snap, min_frontage, barriers, overrides):
    import pandas as pd

    from .graph import build_graph, read_overrides
    from .io import read_lines_or_polygons

    barrier_gdf = None
    if barriers:
        frames = [read_lines_or_polygons(p).to_crs(layer.blocks.crs) for p in barriers]
        barrier_gdf = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    edits = read_overrides(overrides) if overrides else None
    return build_graph(layer.blocks, adjacency=adjacency, snap=snap, min_frontage=min_frontage, barriers=barrier_gdf, overrides=edits)


@app.command()
def check(
    blocks: Blocks,
    min_households: MinOpt = 2500,
    max_households: MaxOpt = 3000,
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
    adjacency: AdjacencyOpt = "rook",
    snap: SnapOpt = 25.0,
    min_frontage: FrontageOpt = 30.0,
    barriers: BarriersOpt = None,
    overrides: OverridesOpt = None,
) -> None:
    """Load and validate a block layer, build its graph, and say what plans the bounds allow."""
    from .diagnose import check_layer
    from .problem import check_bounds

    check_bounds(min_households, max_households)
    layer_obj = _load(blocks, layer=layer, encoding=encoding, crs=crs, wkt_column=wkt_column, id_col=id_col, households=households, population=population, community_col=community_col, subdistrict_col=subdistrict_col)
    graph = _graph(layer_obj, adjacency=adjacency, snap=snap, min_frontage=min_frontage, barriers=barriers, overrides=overrides)
    report = check_layer(layer_obj, graph, lower=min_households, upper=max_households)
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
        table.add_column("name")
        if title == "Communities":
            table.add_column("subdistrict")
        table.add_column("blocks", justify="right")
        table.add_column("households", justify="right")
        table.add_column("within bounds", justify="center")
        table.add_column("units that fit (k)", justify="left")
        for row in rows:
            ok = "[green]yes[/green]" if row.within_bounds else "[red]no[/red]"
            fits = ", ".join(map(str, row.feasible_k)) if row.feasible_k else "[red]none[/red]"
            cells = [row.name] + ([row.subdistrict or ""] if title == "Communities" else [])
            table.add_row(*cells, str(row.blocks), f"{row.households:,}", ok, fits)
        console.print(table)
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


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn package errors into one readable message and an exit code."""
    try:
        app(args=argv, standalone_mode=False)
    except RedistrictError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc.message}")
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("Aborted.")
        sys.exit(130)
    except Exception as exc:  # click usage errors come through here with their own exit code
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if os.environ.get("REDISTRICT_DEBUG"):
            raise
        err_console.print(f"[bold red]internal error:[/bold red] {type(exc).__name__}: {exc}\nRun with REDISTRICT_DEBUG=1 for the traceback and report it.")
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
