"""Sweeps: many scenarios run in parallel on Dask, each written to its folder, then compared.

Every scenario runs through the same function, :func:`run_one`, whether serially in this process,
on a local cluster of worker processes (the default) or on an existing Dask cluster
(``scheduler="tcp://host:8786"``).  ``run_one`` solves, writes the scenario's output folder in
a scratch directory and returns its files as bytes with the comparison row, so workers need the
*input* files at the same paths (a shared disk) but no access to the output folder: the whole
sweep folder is written here, atomically, once every scenario has come back.  A scenario that
fails (bad input, a crash, a lost worker) becomes a row with its error; the others carry on.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputError, RedistrictError
from .scenario import Scenario, ScenarioResult, check_unique, save_scenarios

#: the scheduler values that do not name a cluster address
LOCAL, SERIAL = "local", "serial"
#: how long to try reaching a remote scheduler
CONNECT_TIMEOUT = "10s"


@dataclass
class ScenarioOutcome:
    """What :func:`run_one` sends back: the comparison row, unit sizes and the output files."""

    name: str
    row: dict
    units: list[dict]
    files: dict[str, bytes]
    exit_code: int
    #: True once the files were written to disk (their bytes are then dropped, names kept)
    written: bool = False

    @property
    def file_names(self) -> list[str]:
        return sorted(self.files)


@dataclass
class SweepResult:
    """A finished sweep: the comparison table, the unit sizes and where it was written."""

    table: pd.DataFrame
    units: pd.DataFrame
    out: Path | None
    outcomes: list[ScenarioOutcome]
    seconds: float
    scheduler: str

    @property
    def exit_code(self) -> int:
        """0 when every scenario ran (whatever its status); else the worst error's exit code."""
        codes = [o.exit_code for o in self.outcomes if o.row.get("status") == "error"]
        return max(codes) if codes else 0

    def _repr_html_(self) -> str:
        return f"<p>{len(self.outcomes)} scenarios on {html.escape(self.scheduler)} in {self.seconds:.1f} s</p>" + self.table.to_html(escape=True)


def run_one(scenario: Scenario) -> ScenarioOutcome:
    """Run one scenario and package its outputs; never raises (errors become the row)."""
    from .comparison import households_per_unit

    started = time.perf_counter()
    try:
        result = scenario.run(progress=False)
        with tempfile.TemporaryDirectory(prefix="redistrict-") as tmp:
            folder = Path(tmp) / "out"
            result.write(folder)
            files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        row = result.summary()
        units = households_per_unit([result]).to_dict(orient="records")
        code = result.plan.exit_code
    except RedistrictError as exc:
        return _failed(scenario, exc.message, exc.exit_code, started)
    except Exception as exc:  # one scenario's crash must not sink the sweep
        return _failed(scenario, f"internal error: {type(exc).__name__}: {exc}", 1, started)
    return ScenarioOutcome(scenario.name, row, units, files, code)


def _failed(scenario: Scenario, message: str, code: int, started: float) -> ScenarioOutcome:
    from .comparison import households_per_unit

    result = ScenarioResult(scenario, None, error=message, exit_code=code, seconds=time.perf_counter() - started)
    files = {"error.txt": (message + "\n").encode("utf-8")}
    units = households_per_unit([result]).to_dict(orient="records")
    return ScenarioOutcome(scenario.name, result.summary(), units, files, code)


#: The files a sweep writes beside the scenario folders: no scenario may be named like one.
SWEEP_FILES = ("comparison.csv", "comparison.html", "scenarios.toml", "sweep.json")


def check_not_reserved(scenarios: list[Scenario]) -> None:
    """A scenario named ``comparison.html`` or ``sweep.json`` would collide with the sweep's own
    files after every scenario ran; refuse it before any runs (case-insensitive, as on macOS
    and Windows disks)."""
    clash = [s.name for s in scenarios if s.name.strip().lower() in SWEEP_FILES]
    if clash:
        raise InputError(
            f"Scenario name(s) {', '.join(repr(n) for n in clash)} are the names of the sweep's own "
            f"files ({', '.join(SWEEP_FILES)}); rename the scenario(s).",
            ids=clash,
        )


def sweep(
    scenarios: list[Scenario],
    out: str | os.PathLike | None = None,
    *,
    scheduler: str = LOCAL,
    workers: int | None = None,
    force: bool = False,
    progress: Callable[[ScenarioOutcome, int, int], None] | bool | None = None,
    threads: int | None = 1,
) -> SweepResult:
    """Run ``scenarios`` and (if ``out`` is given) write ``OUT/<name>/…``, ``comparison.csv``,
    ``comparison.html``, ``scenarios.toml`` and ``sweep.json`` atomically.

    ``scheduler``: ``"local"`` (a local Dask cluster of ``workers`` processes, default one per
    core), ``"serial"`` (in this process, no Dask) or a scheduler address such as
    ``"tcp://10.0.0.5:8786"``.  ``threads`` is the solver thread count of scenarios that set none
    (1 by default, so parallel scenarios do not compete for cores and every scheduler gives the
    same plans).  ``progress(outcome, done, total)`` is called as each scenario finishes;
    ``progress=True`` shows a progress bar (terminal or notebook).
    """
    if progress is True:
        with sweep_progress(len(scenarios)) as bar:
            return sweep(scenarios, out, scheduler=scheduler, workers=workers, force=force, progress=bar, threads=threads)
    from .outputs import check_target

    if not scenarios:
        raise InputError("The sweep has no scenarios.")
    check_unique(scenarios)
    check_not_reserved(scenarios)
    if out is not None:
        check_target(out, force=force)
    if threads is not None:
        scenarios = [s if s.threads is not None else s.replace(threads=threads) for s in scenarios]
    started = time.perf_counter()
    if out is None:
        outcomes, where = _run(scenarios, scheduler, workers, progress)
        return _collect(outcomes, where, time.perf_counter() - started)

    from .outputs import write_atomically

    collected: list[SweepResult] = []

    def run_and_write(tmp: Path) -> None:
        # each scenario's files are written as it comes back and then dropped from memory, so a
        # sweep of large layers never holds every map at once; an interrupted or failed sweep
        # leaves no OUT at all (the temporary folder is removed)
        def keep(outcome: ScenarioOutcome, done: int, total: int) -> None:
            _write_outcome(tmp, outcome)
            if progress is not None:
                progress(outcome, done, total)

        outcomes, where = _run(scenarios, scheduler, workers, keep)
        result = _collect(outcomes, where, time.perf_counter() - started)
        _write_comparison(tmp, result, scenarios)
        collected.append(result)

    path = write_atomically(out, run_and_write, force=force)
    result = collected[0]
    result.out = path
    return result


@contextmanager
def sweep_progress(
    total: int,
    *,
    console=None,
    disable: bool = False,
    describe: Callable[[ScenarioOutcome], str] | None = None,
) -> Iterator[Callable[[ScenarioOutcome, int, int], None]]:
    """A rich bar counting finished scenarios; yields the ``progress`` callback for :func:`sweep`.

    ``describe(outcome)`` gives a line printed above the bar as each scenario finishes.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[last]}"))
    with Progress(*columns, console=console, disable=disable) as bar:
        task = bar.add_task("sweep", total=total, last="")

        def report(outcome: ScenarioOutcome, done: int, _total: int) -> None:
            if describe is not None:
                bar.console.print(describe(outcome))
            bar.update(task, completed=done, last=f"{outcome.name}: {outcome.row.get('status')}")

        yield report


def _run(scenarios, scheduler: str, workers: int | None, progress) -> tuple[list[ScenarioOutcome], str]:
    if scheduler == SERIAL:
        return _run_serial(scenarios, progress), "one process (serial)"
    return _run_dask(scenarios, scheduler, workers, progress)


def _run_serial(scenarios, progress) -> list[ScenarioOutcome]:
    outcomes = []
    for i, s in enumerate(scenarios):
        outcomes.append(run_one(s))
        if progress is not None:
            progress(outcomes[-1], i + 1, len(scenarios))
    return outcomes


def _run_dask(scenarios, scheduler: str, workers: int | None, progress) -> tuple[list[ScenarioOutcome], str]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - a dependency
        raise InputError("Dask sweeps need the 'distributed' package: pip install 'dask[distributed]'.") from exc
    cluster = None
    if scheduler == LOCAL:
        n = workers or min(len(scenarios), os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        where = f"a local Dask cluster of {n} process(es)"
    else:
        if "://" not in scheduler:
            raise InputError(f"--scheduler must be 'local', 'serial' or an address like tcp://HOST:8786, not '{scheduler}'.")
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"Cannot reach the Dask scheduler at {scheduler} ({exc}). Start one with `dask scheduler` and workers with `dask worker {scheduler}`.") from exc
        where = f"the Dask cluster at {scheduler}"
    try:
        _check_workers(client, scheduler)
        futures = client.map(run_one, scenarios, key=[f"redistrict-{i}" for i in range(len(scenarios))], pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        outcomes: list[ScenarioOutcome | None] = [None] * len(scenarios)
        done = 0
        for future in as_completed(futures):
            i = index[future.key]
            try:
                outcomes[i] = future.result()
            except Exception as exc:  # a worker died or the task could not run
                outcomes[i] = _failed(scenarios[i], f"the Dask task failed: {type(exc).__name__}: {exc}", 1, time.perf_counter())
            done += 1
            if progress is not None:
                progress(outcomes[i], done, len(scenarios))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return outcomes, where


def _worker_version() -> str:
    from . import __version__

    return __version__


def _check_workers(client, scheduler: str) -> None:
    """Every worker must run this version of redistrict (they import it to solve)."""
    from . import __version__

    if scheduler != LOCAL:
        client.wait_for_workers(1, timeout=30)
    try:
        versions = client.run(_worker_version)
    except Exception as exc:
        raise InputError(f"The Dask workers at {scheduler} cannot import redistrict ({exc}); install it on every worker.") from exc
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        raise InputError(f"Dask workers run another redistrict version ({', '.join(f'{w}: {v}' for w, v in wrong.items())}); this is {__version__}.")


def _collect(outcomes: list[ScenarioOutcome], where: str, seconds: float) -> SweepResult:
    from .comparison import UNIT_COLUMNS, compare

    table = compare([o.row for o in outcomes])
    units = pd.DataFrame([u for o in outcomes for u in o.units], columns=UNIT_COLUMNS)
    return SweepResult(table, units, None, outcomes, seconds, where)


# --- writing ----------------------------------------------------------------------------------


def _write_outcome(folder: Path, outcome: ScenarioOutcome) -> None:
    """Write one scenario's files into ``folder/<name>/`` and keep only their names."""
    target = _inside(folder, outcome.name)
    for rel, data in outcome.files.items():
        path = _inside(target, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    outcome.files = dict.fromkeys(outcome.files, b"")
    outcome.written = True


def _write_comparison(folder: Path, result: SweepResult, scenarios: list[Scenario]) -> None:
    """``comparison.csv``, ``comparison.html``, ``scenarios.toml`` and ``sweep.json``."""
    from .io import write_csv
    from .outputs import write_json

    write_csv(result.table, folder / "comparison.csv", index=True)
    (folder / "comparison.html").write_text(comparison_html(result, scenarios[0].lang if scenarios else "zh"), encoding="utf-8")
    save_scenarios(folder / "scenarios.toml", scenarios)
    write_json(folder / "sweep.json", {
        "scheduler": result.scheduler, "seconds": round(result.seconds, 2),
        "scenarios": [o.row for o in result.outcomes],
    })


def write_sweep(result: SweepResult, scenarios: list[Scenario], out: str | os.PathLike, *, force: bool = False) -> Path:
    """Write a finished sweep (kept in memory, e.g. from ``sweep(..., out=None)``) into ``out``, atomically."""
    from .outputs import write_atomically

    if any(o.written for o in result.outcomes):
        raise InputError("This sweep's files were already written (and dropped from memory); copy its output folder instead.")

    def write(tmp: Path) -> None:
        for outcome in result.outcomes:
            _write_outcome(tmp, outcome)
        _write_comparison(tmp, result, scenarios)

    return write_atomically(out, write, force=force)


def _inside(root: Path, relative: str) -> Path:
    """``root/relative``, refusing any path that would land outside ``root``."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()) or target == root.resolve():
        raise InputError(f"Refusing to write '{relative}': it is not inside the output folder {root}.")
    return target


def comparison_html(result: SweepResult, lang: str = "zh") -> str:
    """A self-contained page: the table, a chart of unit sizes and links to each scenario's map,
    every label in ``lang`` (``zh`` or ``en``)."""
    from .comparison import plot_households
    from .labels import status_word, words

    t, cols = words(lang, "chart"), words(lang, "columns")
    png = _chart_png(result.units, plot_households, lang)
    links = []
    for o in result.outcomes:
        name = html.escape(o.name)
        href = html.escape(o.name, quote=True)
        parts = [f'<a href="{href}/{f}">{html.escape(t[key])}</a>' for f, key in (("map.html", "map"), ("report.html", "report"), ("diagnosis.json", "diagnosis"), ("error.txt", "error_file")) if f in o.file_names]
        message = html.escape(str(o.row.get("message") or "")).replace("\n", "<br>")
        status = html.escape(status_word(lang, str(o.row.get("status"))))
        links.append(f"<li><b>{name}</b> ({status}): {' · '.join(parts)}<br><small>{message}</small></li>")
    legend = "".join(f"<dt>{html.escape(cols[c])}</dt><dd>{html.escape(d)}</dd>" for c, d in _column_help(lang).items() if c != "message")
    table = _table_html(result.table.drop(columns=["message"]), lang)
    chart = f'<img alt="{html.escape(t["sizes"])}" src="data:image/png;base64,{png}">' if png else ""
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8"><title>{html.escape(t["page_title"])}</title>
<style>body{{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",sans-serif;margin:1.5em;}} table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right;white-space:nowrap}} th{{background:#f3f3f3}} li{{margin-bottom:.5em}}
dt{{font-weight:bold;float:left;clear:left;width:12em}} dd{{margin-left:13em}}</style></head>
<body><h1>{html.escape(t["page_title"])}</h1>
<p>{len(result.outcomes)} {html.escape(t["scenarios"])}, {html.escape(t["ran_on"])} {html.escape(result.scheduler)}, {html.escape(t["in"])} {result.seconds:.1f} {html.escape(t["seconds"])}.</p>
{table}
<h2>{html.escape(t["sizes"])}</h2>{chart}
<h2>{html.escape(t["links"])}</h2><ul>{''.join(links)}</ul>
<h2>{html.escape(t["columns"])}</h2><dl>{legend}</dl>
</body></html>
"""


def _column_help(lang: str) -> dict[str, str]:
    """What each comparison column means, in ``lang``."""
    from .comparison import COLUMNS, COLUMNS_ZH

    return COLUMNS_ZH if lang == "zh" else COLUMNS


def _table_html(table: pd.DataFrame, lang: str = "en") -> str:
    """The comparison table with readable numbers (thousands separators, — for missing) and
    column labels and status words in ``lang``."""
    from .comparison import format_value
    from .labels import status_word, words

    cols = words(lang, "columns")
    head = "".join(f"<th>{html.escape(cols.get(c, c))}</th>" for c in [table.index.name or "scenario", *table.columns])
    body = []
    for name, row in zip(table.index, table.itertuples(index=False), strict=True):
        cells = [status_word(lang, v) if c == "status" else format_value(v) for c, v in zip(table.columns, row, strict=True)]
        body.append(f"<tr><th>{html.escape(str(name))}</th>{''.join(f'<td>{html.escape(v)}</td>' for v in cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _chart_png(units: pd.DataFrame, plot, lang: str = "zh") -> str | None:
    """The households-per-unit chart as base64 PNG (an object-API figure: no global matplotlib state)."""
    from .charts import new_figure, png_bytes

    if units.empty:
        return None
    names = units["scenario"].nunique()
    figure = new_figure((1.6 + 1.3 * max(1, names), 4), dpi=110)
    plot(units, figure.add_subplot(), lang=lang)
    return base64.b64encode(png_bytes(figure, bbox_inches="tight")).decode("ascii")


__all__ = ["SWEEP_FILES", "check_not_reserved", "ScenarioOutcome", "SweepResult", "comparison_html", "run_one", "sweep", "sweep_progress", "write_sweep"]
