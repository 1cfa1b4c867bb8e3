"""Write a run's output folder atomically: a temporary sibling folder, then one rename.

An interrupted or failed run leaves the previous results untouched and no partial folder behind;
a non-empty folder is only replaced with ``force=True``.  :func:`check_target` checks the target
before any work (a file in its path, a folder that cannot be written in, too little free space)
and claims it with a lock file ``.NAME.lock``, so two runs never write the same folder.

How that holds up when a run is stopped:

- an exception in the writer (or ``KeyboardInterrupt``) removes the temporary folder;
- SIGTERM or SIGHUP during a write (in the main thread, when the signal has its default action)
  remove the temporary folder, then end the process as the signal would have; outside writes the
  signals are left alone, so a solve is stopped at once;
- the swap of the new folder for the old one is a single ``renameat2(RENAME_EXCHANGE)`` on Linux,
  so at every instant the target holds either the whole previous result or the whole new one;
  elsewhere it is two renames, during which SIGINT/SIGTERM/SIGHUP are held back until both are done;
- SIGKILL (or a power cut) cannot be caught: the temporary folder ``.NAME.PID-<random>.tmp`` it
  leaves is removed by the next write to (or :func:`check_target` of) the same target, once
  process PID is gone; a previous result left aside mid-swap (``.NAME.PID.old``) is put back.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .coords import working_crs
from .errors import InputError
from .io import csv_encoding as csv_codec
from .io import write_assignment
from .plan import Plan
from .shapes import compactness

#: temporary folders this process is writing right now, by real path (see :func:`cleanup_partial_outputs`)
_ACTIVE: dict[str, Path] = {}


#: Free space (bytes) a target's file system must have before a run starts: a city-wide
#: map.html alone is ~15 MB.
MIN_FREE_BYTES = 50_000_000


def check_target(out: str | os.PathLike, *, force: bool = False, min_free: int = MIN_FREE_BYTES) -> Path:
    """Check ``out`` before any work is done, and claim it for this process.

    Refused (:class:`InputError`, exit 2, naming the place): a target that is a file or lies
    under one, a non-empty folder without ``force``, a folder that cannot be written in or has
    less than ``min_free`` bytes free, and a target another run is writing (its lock file
    ``.NAME.lock`` beside it names the process).  The claim is released when the write is done
    (:func:`write_atomically`) or the process ends.  Leftovers of an earlier run of the same
    target that was killed are tidied first (see :func:`recover_target`).
    """
    out = Path(out)
    _check_ancestors(out)
    recover_target(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder.")
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError(f"{out}: the output folder is not empty; choose another or pass --force to replace it.")
    _claim(out)
    try:
        _check_free_space(out, min_free)
    except InputError:
        release_target(out)
        raise
    return out


def _check_ancestors(out: Path) -> None:
    """No file where a folder of the path must be (``report.pdf/OUT``)."""
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{out}: cannot be created, because {parent} is a file, not a folder; choose another output folder.")
            return


def _check_free_space(out: Path, min_free: int) -> None:
    free = shutil.disk_usage(out.parent).free
    if free < min_free:
        raise InputError(
            f"{out}: only {free / 1e6:,.1f} MB are free in {out.parent.absolute()} (a run needs up to "
            f"{min_free / 1e6:,.0f} MB); free some space or choose another output folder."
        )


#: lock files this process holds: real path -> the process id that took it (a forked child
#: inherits the dict but must not release its parent's locks)
_LOCKS: dict[str, int] = {}


def _lock_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.lock")


def _claim(out: Path) -> None:
    """Create ``.NAME.lock`` exclusively (also the test that the folder can be written in)."""
    lock = _lock_path(out)
    key = os.path.realpath(lock)
    if _LOCKS.get(key) == os.getpid():
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: the folder {out.parent} cannot be created ({exc.strerror}); choose another output folder.") from exc
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _lock_holder(lock)
            if holder is not None and holder != os.getpid() and _pid_alive(holder):
                raise InputError(
                    f"{out}: another redistrict run (process {holder}) is writing this folder; wait "
                    f"for it to finish or choose another output folder (its lock is {lock}).",
                    path=str(out),
                ) from None
            lock.unlink(missing_ok=True)  # left by a run that is gone
            continue
        except OSError as exc:
            raise InputError(f"{out}: cannot write in {out.parent.absolute()} ({exc.strerror}); choose another output folder.", path=str(out)) from exc
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        _LOCKS[key] = os.getpid()
        return
    raise InputError(f"{out}: could not take the lock {lock}; remove it if no other run is writing {out}.", path=str(out))


def _lock_holder(lock: Path) -> int | None:
    try:
        return int(lock.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def release_target(out: str | os.PathLike) -> None:
    """Give up this process's claim on ``out`` (taken by :func:`check_target`)."""
    lock = _lock_path(Path(out))
    key = os.path.realpath(lock)
    if _LOCKS.get(key) == os.getpid():
        _LOCKS.pop(key, None)
        lock.unlink(missing_ok=True)


@atexit.register
def _release_all() -> None:
    for key, pid in list(_LOCKS.items()):
        if pid == os.getpid():
            Path(key).unlink(missing_ok=True)
            _LOCKS.pop(key, None)


def write_atomically(out: str | os.PathLike, write: Callable[[Path], None], *, force: bool = False) -> Path:
    """Call ``write(tmp_dir)`` and move ``tmp_dir`` to ``out`` only if it returns normally.

    A failure to write (a full disk, a folder made read-only meanwhile) is an
    :class:`InputError` naming the place; the previous ``out`` stays as it was.
    """
    out = check_target(out, force=force)
    try:
        with _cleanup_on_termination():
            tmp, key = _make_tmp(out)
            try:
                write(tmp)
                if not force and out.exists() and any(out.iterdir()):
                    raise InputError(f"{out}: was filled by someone else while this run wrote; nothing was replaced. Pass --force to replace it.")
                _swap_in(tmp, out)
            except OSError as exc:
                where = exc.filename or tmp
                raise InputError(f"{out}: writing failed at {where} ({exc.strerror or exc}); {out} is as it was.", path=str(out)) from exc
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
                _ACTIVE.pop(key, None)
    finally:
        release_target(out)
    return out


def cleanup_partial_outputs() -> None:
    """Remove the temporary folders of every write still in progress in this process.

    For a signal handler that is about to end the process: the targets keep their previous
    results and no partial folder is left next to them.
    """
    for key, tmp in list(_ACTIVE.items()):
        shutil.rmtree(tmp, ignore_errors=True)
        _ACTIVE.pop(key, None)


def _terminate(signum: int, _frame) -> None:
    """SIGTERM/SIGHUP during a write: remove the unfinished output, then die of the signal."""
    cleanup_partial_outputs()
    os.write(2, f"redistrict: stopped by {signal.Signals(signum).name}; the unfinished output folder was removed.\n".encode())
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


@contextlib.contextmanager
def _cleanup_on_termination() -> Iterator[None]:
    """Install :func:`_terminate` for SIGTERM/SIGHUP while the block runs, where they have their
    default action (a handler or an ignore set by the application is left alone)."""
    installed = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:
                installed[signum] = signal.signal(signum, _terminate)
    try:
        yield
    finally:
        for signum, previous in installed.items():
            signal.signal(signum, previous)


def recover_target(out: str | os.PathLike) -> list[Path]:
    """Tidy what a killed write to ``out`` left behind; returns the paths removed or restored.

    Temporary folders ``.NAME.PID-<random>.tmp`` of processes that no longer run are removed;
    a previous result that was moved aside as ``.NAME.PID.old`` (killed between the two renames
    of the fallback swap) is moved back when ``out`` is missing and removed otherwise.  Folders of
    writes still running, in this or another process, are left alone.
    """
    out = Path(out)
    if not out.parent.is_dir():
        return []
    leftover = re.compile(re.escape(f".{out.name}.") + r"(\d+)(?:-[0-9a-f]+\.tmp|\.old)")
    touched = []
    for entry in sorted(out.parent.iterdir()):
        match = leftover.fullmatch(entry.name)
        if match is None or not entry.is_dir() or os.path.realpath(entry) in _ACTIVE or _pid_alive(int(match.group(1))):
            continue
        if entry.name.endswith(".old") and not out.exists():
            os.replace(entry, out)
        else:
            shutil.rmtree(entry, ignore_errors=True)
        touched.append(entry)
    return touched


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` may still be writing (when in doubt: yes)."""
    if pid == os.getpid():
        return False  # this process's own writes in progress are in _ACTIVE
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _make_tmp(out: Path) -> tuple[Path, str]:
    """A new empty sibling folder ``.NAME.PID-<random>.tmp`` (with the umask's permissions), registered."""
    out.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = out.with_name(f".{out.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        key = os.path.realpath(tmp)
        _ACTIVE[key] = tmp  # registered before it exists, so no concurrent tidy-up takes it for a leftover
        try:
            tmp.mkdir()
        except FileExistsError:
            _ACTIVE.pop(key, None)
            continue
        except BaseException:
            _ACTIVE.pop(key, None)
            raise
        return tmp, key


def _swap_in(tmp: Path, out: Path) -> None:
    """Put ``tmp`` in place of ``out``; afterwards ``tmp`` is gone or holds the previous result."""
    if not out.exists():
        os.replace(tmp, out)
    elif not _exchange(tmp, out):
        old = out.with_name(f".{out.name}.{os.getpid()}.old")
        with _signals_held():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def _renameat2() -> Callable | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2``); False where that is not possible."""
    function = _renameat2()
    if function is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return function(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back SIGINT/SIGTERM/SIGHUP (Python-level handlers) and deliver them after the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        handler = signal.getsignal(signum) if signum is not None else None
        if handler is None or handler is signal.SIG_IGN:
            continue  # not installed from Python (cannot be restored) or ignored anyway
        previous[signum] = signal.signal(signum, lambda s, _frame: caught.append(s))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")


def rfc7946(gdf: gpd.GeoDataFrame, *, precision: int = 7) -> gpd.GeoDataFrame:
    """WGS84 lon/lat, right-hand (counter-clockwise exterior) winding, rounded coordinates."""
    import shapely

    out = gdf.to_crs("EPSG:4326")
    geoms = shapely.set_precision(out.geometry.values, 10.0**-precision)
    geoms = shapely.orient_polygons(geoms) if hasattr(shapely, "orient_polygons") else geoms
    return out.set_geometry(geoms)


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """RFC 7946 GeoJSON (no ``crs`` member, UTF-8, 7 decimals)."""
    out = rfc7946(gdf)
    out.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "7", "WRITE_NAME": "NO"})


def plan_layers(plan: Plan, blocks: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Blocks with their unit, and one dissolved feature per unit with its figures (metric CRS)."""
    frame = blocks.loc[plan.assignment.index].copy()
    frame.insert(0, "unit_id", plan.assignment.to_numpy())
    frame.insert(0, "block_id", frame.index.astype(str))
    names = plan.units.set_index("unit_id")["name"]
    frame.insert(2, "unit_name", frame["unit_id"].map(names).to_numpy())
    dissolved = frame[["unit_id", frame.geometry.name]].dissolve(by="unit_id")
    units = gpd.GeoDataFrame(plan.units.set_index("unit_id").join(dissolved), geometry=frame.geometry.name, crs=frame.crs).reset_index()
    return frame.reset_index(drop=True), units


def community_households(block_layer: gpd.GeoDataFrame) -> pd.Series:
    """Per unit, its households by current community as JSON text, largest first.

    E.g. ``{"阜新": 2273, "荷花池": 244}``: one structured field that every GIS format holds
    (a list like "阜新 2,273, 荷花池 244" used the comma both ways).
    """
    known = block_layer[block_layer["community"].notna()] if "community" in block_layer else block_layer.iloc[:0]
    sums = known.groupby(["unit_id", "community"])["households"].sum()
    out = {}
    for unit_id, group in sums.groupby(level=0):
        ordered = group.droplevel(0).sort_values(ascending=False, kind="stable")
        out[unit_id] = json.dumps({str(c): int(h) for c, h in ordered.items()}, ensure_ascii=False)
    return pd.Series(out, dtype=object)


def unit_layer(plan: Plan, blocks: gpd.GeoDataFrame, *, geometry: str = "tessellated", limit=None) -> gpd.GeoDataFrame:
    """The units layer every output writes: the unit table, Polsby-Popper and Reock (as in the
    report), ``communities`` as JSON, and the unit's polygon (metric CRS).

    ``geometry``: ``tessellated`` (default: boundaries that tile the study area, see
    :mod:`redistrict.boundaries`; ``limit`` a boundary layer to tile) or ``blocks`` (the union
    of the unit's blocks, roads left out).
    """
    from .boundaries import UNIT_GEOMETRIES, unit_boundaries

    if geometry not in UNIT_GEOMETRIES:
        raise InputError(f"The unit geometry must be one of {', '.join(UNIT_GEOMETRIES)}, not '{geometry}'.")
    block_layer, units = plan_layers(plan, blocks)
    units = units.merge(compactness(block_layer), left_on="unit_id", right_index=True, how="left")
    units["communities"] = units["unit_id"].map(community_households(block_layer))
    if geometry == "tessellated":
        shapes = unit_boundaries(block_layer.set_index("block_id"), plan.assignment, limit=limit)
        units = units.set_geometry(shapes.to_crs(units.crs).reindex(units["unit_id"]).to_numpy())
    return units[[c for c in units.columns if c != units.geometry.name] + [units.geometry.name]]


def assignment_digest(assignment: pd.Series) -> str:
    """SHA-256 of a block→unit assignment (pairs sorted by block id): tells whether the
    ``units.geojson`` a run wrote still belongs to the folder's ``assignment.csv``."""
    pairs = sorted(zip(assignment.index.astype(str), assignment.astype(str), strict=True))
    return hashlib.sha256("\n".join(f"{b}\t{u}" for b, u in pairs).encode("utf-8")).hexdigest()


def units_written(plan: Plan, unit_geometry: str) -> dict:
    """What ``report.json`` records about ``units.geojson``: how its polygons were drawn and the
    digest of the assignment they were drawn for, so an export can reuse them."""
    return {"geometry": unit_geometry, "assignment": assignment_digest(plan.assignment)}


#: an office site belongs to a plan when it lies within this distance (m) of one of its blocks
#: (road gaps up to twice this are between blocks)
SITE_DISTANCE_M = 15.0


def sites_among(offices: gpd.GeoDataFrame, blocks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The office sites within :data:`SITE_DISTANCE_M` of ``blocks`` (in the sites' CRS)."""
    metric = blocks.to_crs(working_crs(blocks))
    points = offices.to_crs(metric.crs).geometry.values
    hit, _ = metric.sindex.query(points, predicate="dwithin", distance=SITE_DISTANCE_M)
    keep = pd.Series(False, index=range(len(offices)))
    keep[hit] = True
    return offices[keep.to_numpy()]


def _keep_plan_sites(path: Path, block_layer: gpd.GeoDataFrame) -> None:
    """Rewrite ``offices.geojson`` with only the sites among the plan's blocks (as exports hold)."""
    if path.exists():
        sites = gpd.read_file(path, engine="pyogrio")
        kept = sites_among(sites, block_layer)
        if len(kept) < len(sites):
            path.unlink()
            write_geojson(_jsonable(integers64(kept)), path)


def integers64(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every integer column as 64-bit (nullable where values are missing), the same in every layer."""
    out = gdf.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if col != out.geometry.name and pd.api.types.is_integer_dtype(dtype):
            out[col] = out[col].astype("Int64" if isinstance(dtype, pd.api.extensions.ExtensionDtype) else "int64")
    return out


def write_plan(
    plan: Plan,
    blocks: gpd.GeoDataFrame,
    out: str | os.PathLike,
    *,
    force: bool = False,
    extra: Callable[[Path], None] | None = None,
    csv_encoding: str = "utf-8",
    unit_geometry: str = "tessellated",
) -> Path:
    """Write ``assignment.csv``, ``units.geojson``, ``blocks.geojson`` and ``report.json``.

    ``unit_geometry``: ``tessellated`` units that tile the planned area, or ``blocks`` (each
    unit the union of its blocks); see :func:`unit_layer`.

    Only verified plans are written here; an infeasible result writes ``diagnosis.json`` and
    ``report.json`` instead (see :func:`write_diagnosis`).  ``assignment.csv`` is UTF-8 with a
    byte-order mark (or ``csv_encoding`` gbk/gb18030), formula-like ids escaped
    (:func:`redistrict.io.write_csv`).
    """
    if not plan.ok:
        raise InputError("Only a verified plan can be written as a result.")
    csv_codec(csv_encoding)  # a bad encoding is refused before anything is written
    units = unit_layer(plan, blocks, geometry=unit_geometry)

    def write(tmp: Path) -> None:
        write_assignment(plan.assignment_frame(), tmp / "assignment.csv", encoding=csv_encoding)
        block_layer, _ = plan_layers(plan, blocks)
        write_geojson(_jsonable(integers64(units)), tmp / "units.geojson")
        write_geojson(_jsonable(integers64(block_layer)), tmp / "blocks.geojson")
        write_json(tmp / "report.json", plan.to_dict() | {"units_geojson": units_written(plan, unit_geometry)})
        if extra is not None:
            extra(tmp)
            _keep_plan_sites(tmp / "offices.geojson", block_layer)

    return write_atomically(out, write, force=force)


def write_diagnosis(plan: Plan, out: str | os.PathLike, *, force: bool = False) -> Path:
    """An infeasible or failed run: ``diagnosis.json`` and ``report.json``, nothing that looks like a plan."""

    def write(tmp: Path) -> None:
        if plan.diagnosis is not None:
            write_json(tmp / "diagnosis.json", plan.diagnosis.to_dict())
        write_json(tmp / "report.json", plan.to_dict())

    return write_atomically(out, write, force=force)


def _jsonable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if out[col].dtype == object or str(out[col].dtype) == "string":
            out[col] = out[col].astype("string")
        elif isinstance(out[col].dtype, pd.api.extensions.ExtensionDtype):
            out[col] = out[col].astype("float64") if "Int" in str(out[col].dtype) else out[col]
    return out
