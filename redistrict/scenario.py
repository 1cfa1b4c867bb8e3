"""Scenarios: a named set of options over one block layer, run to a result an analyst can compare.

A :class:`Scenario` holds everything the ``split``/``plan`` commands take (bounds, k, weights,
office sites, locks, solver settings, load and graph options) as plain values, so the same set
can be written in Python, kept in a TOML file (:func:`load_scenarios`, :func:`save_scenarios`) and
run from the CLI (``redistrict sweep``).  :meth:`Scenario.run` goes load → graph → problem →
solve (verified) and returns a :class:`ScenarioResult`, which shows itself in a notebook (a
summary table and the map) and writes the usual output folder.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd

from . import options as opts
from .errors import InputError, RedistrictWarning
from .plan import Plan
from .problem import Problem, Weights

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Scenario names become folder names: letters (any script), digits, space, _ - . + ( ) and ，–
_NAME = re.compile(r"^[\w\- .+()（），,–]+$")


@dataclass(frozen=True)
class Scenario:
    """One way of cutting one block layer: the options of ``redistrict split``/``plan`` as values.

    Paths may be relative; a scenario loaded from TOML has them resolved against the TOML
    file's folder.  Select the blocks with ``communities`` and/or ``subdistrict`` (neither: the
    whole layer).  ``lower``/``upper`` are the household bounds (``min``/``max`` in TOML).
    """

    name: str
    blocks: str
    communities: tuple[str, ...] = ()
    subdistrict: str | None = None
    lower: int = opts.MIN_HOUSEHOLDS
    upper: int = opts.MAX_HOUSEHOLDS
    k: int | None = None
    #: None: the defaults, with the stability weight of :func:`~redistrict.options.stability_weight`
    weights: Weights | None = None
    offices: str | None = None
    min_office_area: float = opts.MIN_OFFICE_AREA
    locks: str | None = None
    #: with ``locks`` naming a plan (assignment CSV or the editor's saved JSON): keep these units' blocks together
    lock_units: tuple[str, ...] = ()
    keep_together: str | None = None
    cross_subdistricts: bool = False
    relax: bool = False
    #: with ``relax``: households the violation may exceed the proved bound (None: 0.1 % of the maximum)
    relax_tolerance: int | None = None
    solver: str = opts.SOLVER
    time_limit: float | None = opts.TIME_LIMIT
    gap: float | None = None
    threads: int | None = None
    #: auto | exact | heuristic (see redistrict.solve)
    method: str = opts.METHOD
    #: smooth the boundaries of heuristic pieces at the end (see redistrict.model.smooth)
    smooth: bool = True
    #: worker processes for the separate pieces (None: one per core; 1: in this process)
    workers: int | None = None
    #: a Dask scheduler address (tcp://…) to solve the pieces on, instead of local processes
    scheduler: str | None = None
    # reading the layer
    layer: str | None = None
    encoding: str | None = None
    crs: str | None = None
    wkt_column: str | None = None
    id_col: str | None = None
    households_col: str | None = None
    population_col: str | None = None
    community_col: str | None = None
    subdistrict_col: str | None = None
    input_coords: str = opts.INPUT_COORDS
    # building the graph
    adjacency: str = opts.ADJACENCY
    snap: float = opts.SNAP
    min_frontage: float = opts.MIN_FRONTAGE
    barriers: tuple[str, ...] = ()
    overrides: str | None = None
    # drawing
    lang: str = opts.LANG
    basemap: str = opts.BASEMAP
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name)
        if isinstance(self.communities, str):
            object.__setattr__(self, "communities", (self.communities,))
        object.__setattr__(self, "communities", tuple(str(c) for c in self.communities))
        if isinstance(self.lock_units, str):
            object.__setattr__(self, "lock_units", tuple(u.strip() for u in self.lock_units.split(",") if u.strip()))
        object.__setattr__(self, "lock_units", tuple(str(u) for u in self.lock_units))
        if isinstance(self.barriers, (str, os.PathLike)):
            object.__setattr__(self, "barriers", (self.barriers,))
        object.__setattr__(self, "barriers", tuple(str(b) for b in self.barriers))
        for key in ("blocks", "offices", "locks", "overrides"):
            value = getattr(self, key)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, key, str(value))
        if isinstance(self.weights, dict):
            object.__setattr__(self, "weights", Weights(**self.weights))
        if self.weights is None:
            object.__setattr__(self, "weights", Weights(stability=opts.stability_weight(self.subdistrict, self.communities)))
        object.__setattr__(self, "time_limit", opts.no_limit(self.time_limit))
        try:
            _check_values(self)
        except InputError as exc:
            raise InputError(f"Scenario '{self.name}': {exc.message}") from exc

    # -- variations -----------------------------------------------------------------------------

    def replace(self, **changes) -> Scenario:
        """A copy with some options changed (``name`` should change too), like ``dataclasses.replace``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The options as TOML keys (only those that differ from the defaults, plus name and blocks)."""
        return _to_toml_dict(self)

    @classmethod
    def from_dict(cls, data: dict, *, base: str | os.PathLike | None = None, where: str = "scenario") -> Scenario:
        """A scenario from TOML-style keys (``min``, ``max``, ``w_compactness`` …); paths relative to ``base``."""
        return _from_toml_dict(data, base=Path(base) if base is not None else None, where=where)

    # -- running --------------------------------------------------------------------------------

    def inputs(self) -> Inputs:
        """The loaded layer, its graph and the side layers (cached per process: scenarios share them)."""
        return load_inputs(self)

    def problem(self, inputs: Inputs | None = None) -> Problem:
        """The :class:`Problem` this scenario poses."""
        inputs = inputs or self.inputs()
        return Problem.from_layer(
            inputs.layer,
            inputs.graph,
            communities=list(self.communities) or None,
            subdistrict=self.subdistrict,
            lower=self.lower,
            upper=self.upper,
            k=self.k,
            offices=inputs.offices,
            min_office_area=self.min_office_area,
            weights=self.weights,
            locks=inputs.locks,
            keep_together_col=self.keep_together,
            cross_subdistricts=self.cross_subdistricts,
        )

    def run(self, *, progress: Callable[[dict], None] | bool | None = None, problem: Problem | None = None) -> ScenarioResult:
        """Load, build the graph, pose the problem and solve it; the plan is verified before return.

        Raises :class:`~redistrict.errors.InputError` for bad input; an infeasible request is a
        result (``result.plan.status == "infeasible"`` with a diagnosis), not an exception.
        ``progress=True`` shows a progress line, ``False`` none, and the default ``None`` shows one
        in a notebook or a terminal only; a callable receives the solver's reports (each cut
        round, and about once a second during a long one).  ``problem``: the one
        :meth:`problem` built already (the CLI prints it first), to avoid building it twice.
        """
        from .solve import solve

        started = time.perf_counter()
        inputs = self.inputs()
        problem = problem if problem is not None else self.problem(inputs)
        with _progress_display(progress, self.name) as report:
            plan = solve(problem, solver=self.solver, time_limit=self.time_limit, mip_gap=self.gap, relax=self.relax, threads=self.threads, progress=report, method=self.method, workers=self.workers, scheduler=self.scheduler, relax_tolerance=self.relax_tolerance, smooth=self.smooth)
        plan.provenance = self.provenance()
        return ScenarioResult(self, plan, inputs.layer.blocks, inputs.offices, inputs.barriers, seconds=time.perf_counter() - started)

    def provenance(self) -> dict:
        """Input files with SHA-256 checksums and every option: enough to reproduce the run."""
        from . import __version__

        files = {"blocks": self.blocks, "offices": self.offices, "locks": self.locks, "overrides": self.overrides}
        inputs = {key: {"path": str(p), "sha256": file_sha256(p)} for key, p in files.items() if p is not None}
        inputs["barriers"] = [{"path": str(p), "sha256": file_sha256(p)} for p in self.barriers]
        return {"redistrict": __version__, "command": " ".join(sys.argv), "scenario": self.to_dict(), "inputs": inputs}


def _check_values(s: Scenario) -> None:
    """Every option value, checked before any data is loaded (the same checks as the CLI's)."""
    opts.check_household_bounds(s.lower, s.upper)
    opts.check_whole("--k", s.k, optional=True)
    opts.check_number("--min-office-area (m²)", s.min_office_area)
    opts.check_solve_options(time_limit=s.time_limit, gap=s.gap, threads=s.threads, workers=s.workers, solver=s.solver, method=s.method, relax=s.relax, relax_tolerance=s.relax_tolerance)
    opts.check_graph_options(snap=s.snap, min_frontage=s.min_frontage, adjacency=s.adjacency)
    for flag in ("cross_subdistricts", "relax"):
        opts.check_flag(flag.replace("_", "-"), getattr(s, flag))
    for name in ("subdistrict", "layer", "encoding", "crs", "wkt_column", "id_col", "households_col", "population_col", "community_col", "subdistrict_col", "scheduler"):
        opts.check_text(f"--{name.replace('_', '-')}", getattr(s, name))
    for community in s.communities:
        opts.check_text("a community name", community, optional=False)
    opts.check_choice("--input-coords", s.input_coords, opts.INPUT_COORDS_CHOICES)
    opts.check_choice("--lang", s.lang, opts.LANGS)
    opts.check_choice("--basemap", s.basemap, opts.BASEMAPS)


def check_name(name: str) -> str:
    """Scenario names become folder names: refuse anything that could escape the output folder."""
    if not isinstance(name, str) or not name.strip():
        raise InputError("Every scenario needs a non-empty name.")
    if name in (".", "..") or name.startswith(".") or not _NAME.match(name) or len(name) > 100:
        raise InputError(
            f"Scenario name '{name}' cannot be used as a folder name: use letters, digits, spaces and "
            "_ - . + ( ) only (no slashes, no leading dot), at most 100 characters."
        )
    return name


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (computed once per path, modification time and size)."""
    return _sha256(_file_key(str(path)))


@functools.lru_cache(maxsize=64)
def _sha256(key: tuple) -> str:
    digest = hashlib.sha256()
    with open(key[0], "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- inputs (cached) ---------------------------------------------------------------------------


@dataclass
class Inputs:
    """What a scenario reads: the validated layer, its adjacency graph and the side layers."""

    layer: object  # io.BlockLayer
    graph: nx.Graph
    barriers: gpd.GeoDataFrame | None
    offices: gpd.GeoDataFrame | None
    locks: dict


#: Layers, graphs and office layers already read, so that scenarios of one sweep or notebook that
#: read the same files with the same options load and build them once.  Keys are the files'
#: identity (resolved path, mtime, size) and every option that shapes the value, so a changed
#: file is read again; values are handed out as copies (:func:`_copied`), so no scenario can
#: change what another one reads.  ``clear_input_cache()`` empties it.
_CACHE: dict[tuple, object] = {}
_CACHE_SIZE = 16


def clear_input_cache() -> None:
    """Forget every layer and graph read so far (the next scenario reads its files again)."""
    _CACHE.clear()


def _file_key(path: str | None) -> tuple | None:
    if path is None:
        return None
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return (str(p), None)
    return (str(p.resolve()), st.st_mtime_ns, st.st_size)


def _cached(key: tuple, make: Callable[[], object]):
    """A copy of the cached value for ``key``, made once by ``make``."""
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = make()
    return _copied(_CACHE[key])


def _copied(value):
    """An independent copy of a cached layer, graph, frame or tuple of them (geometries are
    immutable and shared)."""
    if isinstance(value, tuple):
        return tuple(_copied(v) for v in value)
    if isinstance(value, nx.Graph):
        return value.copy()
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=True)
    if dataclasses.is_dataclass(value) and hasattr(value, "blocks"):
        return dataclasses.replace(value, blocks=value.blocks.copy(deep=True), findings=list(value.findings))
    return value


def load_layer(s: Scenario):
    """The block layer, read and validated (findings as warnings are silenced: ``check`` shows them)."""
    from .io import load_blocks

    def make():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RedistrictWarning)
            return load_blocks(
                s.blocks, layer=s.layer, encoding=s.encoding, crs=s.crs,
                wkt_column=s.wkt_column, id_col=s.id_col, households_col=s.households_col,
                population_col=s.population_col, community_col=s.community_col,
                subdistrict_col=s.subdistrict_col, input_coords=s.input_coords,
            )

    return _cached(_layer_key(s), make)


def _layer_key(s: Scenario) -> tuple:
    """What the loaded layer depends on: the file and every reading option."""
    load = (s.layer, s.encoding, s.crs, s.wkt_column, s.id_col, s.households_col, s.population_col, s.community_col, s.subdistrict_col, s.input_coords)
    return ("layer", _file_key(s.blocks), load)


def read_barriers(paths: Iterable[str], crs, input_coords: str = "wgs84") -> gpd.GeoDataFrame | None:
    """All barrier layers in one frame in ``crs`` (None when there are none)."""
    from .io import read_lines_or_polygons

    paths = list(paths)
    if not paths:
        return None
    frames = [read_lines_or_polygons(p, input_coords=input_coords).to_crs(crs)[["geometry"]] for p in paths]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def read_locks(path: str | os.PathLike | None, units: Iterable[str] = ()) -> dict:
    """The locks of a run: block id → label (same label: same unit; different labels: apart).

    Without ``units`` a CSV is a lock table (``block_id,unit`` rows, as before).  With ``units``
    (``--lock-units U3,U5``) the file is a plan — an assignment CSV or the JSON the editor saves —
    and those units' blocks are locked (:func:`locks_from_units`).  The editor's JSON without
    ``units`` keeps the units locked in the editor, else the units the edit changed.
    """
    units = tuple(units)
    if path is None:
        if units:
            raise InputError(f"--lock-units {','.join(units)} needs --locks FILE: the plan (assignment CSV or the editor's saved JSON) whose units to keep.")
        return {}
    if str(path).lower().endswith(".json"):
        assignment, default_units = _read_edit_json(path)
        return locks_from_units(assignment, units or default_units, source=str(path))
    from .io import read_assignment, read_lock_table

    if not units:
        return read_lock_table(path)  # a block locked to two labels is an error naming it
    plan = read_assignment(path)
    return locks_from_units(dict(zip(plan["block_id"], plan["unit_id"], strict=True)), units, source=str(path))


def locks_from_units(assignment: dict, units: Iterable[str], *, source: str = "the plan") -> dict:
    """Locks that keep each named unit's blocks in one unit and the named units apart.

    ``assignment`` maps block id → unit id (a plan); the label of each lock is its unit id, so
    the solver may still add blocks to a kept unit but never splits or merges the kept ones.
    """
    units = list(dict.fromkeys(str(u).strip() for u in units if str(u).strip()))
    if not units:
        raise InputError(f"{source}: no units to keep; name them with --lock-units U3,U5 (or lock them in the editor before saving).", path=source)
    known = set(assignment.values())
    unknown = [u for u in units if u not in known]
    if unknown:
        shown = ", ".join(sorted(known, key=str)[:20])
        raise InputError(f"{source}: no unit {', '.join(unknown)} in the plan; its units are {shown}.", path=source, ids=unknown)
    wanted = set(units)
    return {str(b): str(u) for b, u in assignment.items() if u in wanted}


def _read_edit_json(path: str | os.PathLike) -> tuple[dict, tuple[str, ...]]:
    """The assignment and default units to keep from the editor's saved JSON (``redistrict edit``)."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as the editor's JSON ({exc}).", path=str(path)) from exc
    rows = data.get("assignment") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 for r in rows):
        raise InputError(f"{path}: not an edit saved by the editor (no \"assignment\" list of [block_id, unit_id] pairs).", path=str(path))
    keep = tuple(data.get("locked_units") or ()) or tuple(data.get("changed_units") or ())
    return {str(b): str(u) for b, u in rows}, keep


def load_inputs(s: Scenario) -> Inputs:
    """Layer, graph, barriers, office sites and locks of a scenario (all but the locks cached)."""
    from .graph import build_graph, read_overrides
    from .io import read_points

    layer = load_layer(s)

    def make_graph():
        barriers = read_barriers(s.barriers, layer.blocks.crs, s.input_coords)
        edits = read_overrides(s.overrides) if s.overrides else None
        graph = build_graph(layer.blocks, adjacency=s.adjacency, snap=s.snap, min_frontage=s.min_frontage, barriers=barriers, overrides=edits)
        return graph, barriers

    key = ("graph", _layer_key(s), s.adjacency, s.snap, s.min_frontage, tuple(_file_key(b) for b in s.barriers), _file_key(s.overrides), s.input_coords)
    graph, barriers = _cached(key, make_graph)
    offices = _cached(("offices", _file_key(s.offices), s.input_coords), lambda: read_points(s.offices, input_coords=s.input_coords)) if s.offices else None
    return Inputs(layer, graph, barriers, offices, read_locks(s.locks, s.lock_units))


# --- results -----------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    """A scenario's plan (or diagnosis) with the layers needed to draw, compare and write it."""

    scenario: Scenario
    plan: Plan | None
    blocks: gpd.GeoDataFrame | None = None
    offices: gpd.GeoDataFrame | None = None
    barriers: gpd.GeoDataFrame | None = None
    seconds: float = 0.0
    #: set instead of ``plan`` when the scenario could not run (bad input, a crash)
    error: str | None = None
    exit_code: int = 0
    _summary: dict | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def status(self) -> str:
        return "error" if self.plan is None else self.plan.status

    @property
    def ok(self) -> bool:
        return self.plan is not None and self.plan.ok

    def __repr__(self) -> str:
        what = self.error if self.plan is None else repr(self.plan)
        return f"<ScenarioResult '{self.name}': {what}>"

    def summary(self) -> dict:
        """The scenario's row of :func:`redistrict.comparison.compare` (computed once)."""
        if self._summary is None:
            from .comparison import summarize

            self._summary = summarize(self)
        return self._summary

    def map(self, **kwargs):
        """The plan's interactive map (a ``folium.Map``; see :func:`redistrict.maps.plan_map`)."""
        from .maps import plan_map

        if not self.ok:
            raise InputError(f"Scenario '{self.name}' has no plan to draw ({self.status}).")
        kwargs.setdefault("offices", self.offices)
        kwargs.setdefault("barriers", self.barriers)
        kwargs.setdefault("lang", self.scenario.lang)
        kwargs.setdefault("basemap", self.scenario.basemap)
        return plan_map(self.plan, self.blocks, **kwargs)

    def write(self, out: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the output folder atomically (plan files, map, report — or the diagnosis)."""
        from .outputs import write_diagnosis, write_plan
        from .report import write_outputs

        if self.plan is None:
            raise InputError(f"Scenario '{self.name}' did not run: {self.error}")
        if self.plan.status in ("infeasible", "no_solution"):
            return write_diagnosis(self.plan, out, force=force)
        render = {"lang": self.scenario.lang, "basemap": self.scenario.basemap}
        return write_plan(self.plan, self.blocks, out, force=force, extra=lambda tmp: write_outputs(self.plan, self.blocks, tmp, offices=self.offices, barriers=self.barriers, **render))

    def _repr_html_(self) -> str:
        from .comparison import result_html

        return result_html(self)

@contextmanager
def solve_progress(description: str, *, console=None, transient: bool = False, disable: bool = False) -> Iterator[Callable[[dict], None]]:
    """A live line while solving (spinner, elapsed time, round, incumbent, bound, gap); yields
    the callback to pass to :func:`~redistrict.solve.solve` as ``progress``."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), TextColumn("{task.fields[detail]}"))
    with Progress(*columns, console=console, transient=transient, disable=disable) as bar:
        task = bar.add_task(description, total=None, detail="")
        yield lambda info: bar.update(task, detail=progress_text(info))


@contextmanager
def _progress_display(progress, name: str) -> Iterator[Callable[[dict], None] | None]:
    """``progress=`` of :meth:`Scenario.run` as a solver callback: given, none, or a live line."""
    if progress is None:
        from rich.console import Console

        console = Console()
        progress = console.is_jupyter or console.is_terminal
    if callable(progress) or not progress:
        yield progress if callable(progress) else None
        return
    with solve_progress(f"solving {name}") as report:
        yield report


def progress_text(info: dict) -> str:
    """One line from a solver round report: round, incumbent, bound and gap (or, for a relaxed
    search, which widening it is trying and how many steps are left at most)."""
    if info.get("phase") == "relax":
        return f"relax: trying a violation of at most {info['v']:,} (proved ≥ {info['lo']:,}, found {info['hi']:,}; ≤ {info['steps_left']} step(s) left)"
    parts = [f"piece {info['piece']}"] if info.get("piece") else []
    parts.append(f"{info.get('phase', '')} round {info.get('round', '?')}")
    inc, bound = info.get("incumbent"), info.get("bound")
    if inc is not None:
        parts.append(f"incumbent {inc:,.2f}")
    if bound is not None:
        parts.append(f"bound {bound:,.2f}")
    if inc is not None and bound is not None and abs(inc) > 1e-9:
        parts.append(f"gap {max(0.0, (inc - bound) / abs(inc)):.1%}")
    return " · ".join(parts)


# --- TOML --------------------------------------------------------------------------------------

#: Scenario field → TOML key (the CLI option's name), where they differ
_TOML_NAME = {"lower": "min", "upper": "max", "id_col": "id", "households_col": "households", "population_col": "population"}
#: TOML key → Scenario field ("community" also accepted for one name)
_ALIASES = {key: name for name, key in _TOML_NAME.items()} | {"community": "communities"}
#: TOML keys of the objective weights → Weights fields
_WEIGHT_KEYS = {"w_compactness": "compactness", "w_boundary": "boundary", "w_stability": "stability", "w_distance": "distance", "cut_edges": "unit_edges"}
_PATH_FIELDS = ("blocks", "offices", "locks", "overrides")
_FIELD_NAMES = [f.name for f in fields(Scenario) if f.name != "weights"]
_TOML_KEYS = sorted([_TOML_NAME.get(f, f) for f in _FIELD_NAMES] + list(_WEIGHT_KEYS))


def _from_toml_dict(data: dict, *, base: Path | None, where: str) -> Scenario:
    kwargs: dict = {}
    weights: dict = {}
    for key, value in data.items():
        if key in _WEIGHT_KEYS:
            weights[_WEIGHT_KEYS[key]] = value
            continue
        name = _ALIASES.get(key, key)
        if name not in _FIELD_NAMES:
            close = difflib.get_close_matches(key, _TOML_KEYS, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else f" Known keys: {', '.join(_TOML_KEYS)}."
            raise InputError(f"{where}: unknown option '{key}'.{hint}")
        kwargs[name] = None if value == "" and name not in ("name", "blocks") else value
    if "name" not in kwargs:
        raise InputError(f"{where}: every scenario needs a name.")
    if "blocks" not in kwargs:
        raise InputError(f"{where} ('{kwargs['name']}'): no block layer; set blocks = \"path\" in the scenario or in [defaults].")
    if weights:
        try:
            if "unit_edges" in weights:
                opts.check_flag("cut_edges", weights["unit_edges"])
            for key, value in weights.items():
                if key != "unit_edges":
                    opts.check_number(f"w_{key}", value)
            weights.setdefault("stability", opts.stability_weight(kwargs.get("subdistrict"), kwargs.get("communities")))
            kwargs["weights"] = Weights(**weights)
        except InputError as exc:
            raise InputError(f"{where} ('{kwargs['name']}'): {exc.message}") from exc
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where} ('{kwargs['name']}'): bad objective weight ({exc}).") from exc
    if base is not None:
        for key in _PATH_FIELDS:
            if kwargs.get(key) is not None:
                kwargs[key] = _resolve(kwargs[key], base)
        if kwargs.get("barriers") is not None:
            barriers = kwargs["barriers"]
            kwargs["barriers"] = [_resolve(b, base) for b in ([barriers] if isinstance(barriers, str) else barriers)]
    _check_types(kwargs, where)
    if kwargs.get("time_limit") is not None and math.isinf(kwargs["time_limit"]):
        kwargs["time_limit"] = None
    try:
        return Scenario(**kwargs)
    except InputError as exc:
        raise InputError(f"{where}: {exc.message}") from exc
    except TypeError as exc:
        raise InputError(f"{where} ('{kwargs.get('name')}'): {exc}.") from exc


def _check_types(kwargs: dict, where: str) -> None:
    """TOML gives typed values; say which one is wrong rather than fail deep inside a solve."""
    numbers = {"lower": int, "upper": int, "k": int, "relax_tolerance": int, "min_office_area": float, "time_limit": float, "gap": float, "threads": int, "workers": int, "snap": float, "min_frontage": float}
    for key, kind in numbers.items():
        value = kwargs.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not float(value).is_integer()):
            shown = _TOML_NAME.get(key, key)
            raise InputError(f"{where} ('{kwargs.get('name')}'): '{shown}' must be {'a whole number' if kind is int else 'a number'}, got {value!r}.")
        kwargs[key] = kind(value)
    for key in ("cross_subdistricts", "relax", "smooth"):
        if key in kwargs and not isinstance(kwargs[key], bool):
            raise InputError(f"{where} ('{kwargs.get('name')}'): '{key}' must be true or false, got {kwargs[key]!r}.")
    communities = kwargs.get("communities")
    if isinstance(communities, str):
        kwargs["communities"] = [c.strip() for c in communities.split(",") if c.strip()]


def _resolve(path: str, base: Path) -> str:
    p = Path(os.path.expanduser(str(path)))
    return str(p if p.is_absolute() else (base / p).resolve())


def _to_toml_dict(s: Scenario, *, base: Path | None = None) -> dict:
    defaults = Scenario(name="x", blocks="x")
    out: dict = {"name": s.name, "blocks": _relative(s.blocks, base)}
    for f in fields(Scenario):
        if f.name in ("name", "blocks", "weights"):
            continue
        value = getattr(s, f.name)
        if value == getattr(defaults, f.name):
            continue
        if f.name == "time_limit" and value is None:
            value = math.inf  # TOML has no null: "no limit" is written as inf
        elif value is None:
            continue
        if f.name in _PATH_FIELDS:
            value = _relative(value, base)
        elif f.name == "barriers":
            value = [_relative(b, base) for b in value]
        elif f.name in ("communities", "lock_units"):
            value = list(value)
        out[_TOML_NAME.get(f.name, f.name)] = value
    default_weights = Weights(stability=opts.stability_weight(s.subdistrict, s.communities))  # this selection's
    for key, attr in _WEIGHT_KEYS.items():
        value = getattr(s.weights, attr)
        if value != getattr(default_weights, attr):
            out[key] = value
    return out


def _relative(path: str | None, base: Path | None) -> str | None:
    if path is None or base is None:
        return path
    target, base = Path(path).resolve(), base.resolve()
    try:
        relative = Path(os.path.relpath(target, base))
    except ValueError:  # another drive on Windows
        return str(path)
    # relative paths keep a project folder movable; one that climbs to the root would only break
    if relative.parts.count("..") > 2 or len(Path(os.path.commonpath([target, base])).parts) <= 1:
        return target.as_posix()
    return relative.as_posix()


def load_scenarios(path: str | os.PathLike) -> list[Scenario]:
    """Scenarios from a TOML file: ``[defaults]`` apply to every ``[[scenario]]``; paths are
    relative to the file.  Names must be unique (they become folder names)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such scenario file.", path=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as UTF-8 text ({exc}).", path=str(path)) from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc}).", path=str(path)) from exc
    unknown = set(doc) - {"defaults", "scenario"}
    if unknown:
        raise InputError(f"{path}: unknown top-level table(s) {', '.join(sorted(unknown))}; use [defaults] and [[scenario]].", path=str(path))
    defaults = doc.get("defaults", {})
    items = doc.get("scenario", [])
    if not isinstance(defaults, dict) or not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InputError(f"{path}: write the shared options as a [defaults] table and each scenario as a [[scenario]] table.", path=str(path))
    if not items:
        raise InputError(f"{path}: no [[scenario]] tables.", path=str(path))
    base = path.resolve().parent
    scenarios = [Scenario.from_dict(defaults | item, base=base, where=f"{path} scenario {i + 1}") for i, item in enumerate(items)]
    check_unique(scenarios, where=str(path))
    return scenarios


def check_unique(scenarios: list[Scenario], *, where: str = "scenarios") -> None:
    """Names become folder names, so they must differ (also ignoring case, for Windows/macOS)."""
    seen: dict[str, str] = {}
    for s in scenarios:
        key = s.name.casefold()
        if key in seen:
            raise InputError(f"{where}: two scenarios are named '{seen[key]}'/'{s.name}'; names must be unique (they become folder names).")
        seen[key] = s.name


def save_scenarios(path: str | os.PathLike, scenarios: list[Scenario]) -> Path:
    """Write scenarios as TOML (options shared by all go to ``[defaults]``; paths relative to the file)."""
    import tomli_w

    path = Path(path)
    check_unique(scenarios)
    base = path.resolve().parent
    dicts = [_to_toml_dict(s, base=base) for s in scenarios]
    shared = {k: v for k, v in dicts[0].items() if k != "name" and all(k in d and d[k] == v for d in dicts[1:])} if len(dicts) > 1 else {}
    doc: dict = {}
    if shared:
        doc["defaults"] = shared
    doc["scenario"] = [{k: v for k, v in d.items() if k not in shared} for d in dicts]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


__all__ = ["Inputs", "Scenario", "ScenarioResult", "check_name", "load_inputs", "load_scenarios", "progress_text", "locks_from_units", "read_barriers", "read_locks", "save_scenarios"]
