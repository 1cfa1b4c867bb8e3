"""Faults: a run killed mid-way, or a writer that fails, never damages the previous result.

The CLI runs as a real subprocess on the bundled sample and is stopped with SIGTERM or SIGKILL,
while solving and while writing; each time the output folder that already held a result must be
byte-for-byte as it was, with no partial or temporary folder next to it (a SIGKILL cannot be
caught: its leftover is removed by the next write to the same folder).  ``write_atomically`` is
also tested directly: failing writers, refusals, both ways of swapping, held-back interrupts and
the tidying of leftovers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from redistrict import outputs
from redistrict.errors import InputError
from redistrict.outputs import check_target, recover_target, release_target, write_atomically

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and process control as on POSIX")

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE = [str(DATA / "tunxi_blocks.geojson"), "--barriers", str(DATA / "tunxi_river.geojson"), "--overrides", str(DATA / "tunxi_bridges.csv")]
#: a quick run (about a second of solving): the previous result every test starts from
QUICK = ["split", *SAMPLE, "--community", "荷花池", "--min", "1700", "--max", "1900"]
#: another quick run, with a different result (3 units instead of 2)
QUICK_OTHER = ["split", *SAMPLE, "--community", "荷花池", "--min", "1000", "--max", "1300"]
#: a run that solves for a minute or more: the joint re-plan of 昱东 without office sites
SLOW = ["plan", *SAMPLE, "--subdistrict", "昱东", "--time-limit", "600"]
#: a process id above every Linux/macOS pid limit: never a running process
DEAD_PID = 4_194_305

#: runs the CLI with a pause just before the finished temporary folder is swapped in
PAUSED_WRITE = """
import sys, time
import redistrict.outputs as outputs
swap = outputs._swap_in
def paused(tmp, out):
    print("WRITTEN", tmp, flush=True)
    time.sleep(120)
    swap(tmp, out)
outputs._swap_in = paused
from redistrict.cli import main
main(sys.argv[1:])
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(parent: Path, keep: str = "OUT") -> list[str]:
    """Everything next to the output folder (partial, temporary, hidden), except a lock file a
    killed run could not remove: it names a process that is gone, so the next run takes it over
    (a lock held by a live process would be a leftover)."""
    return sorted(p.name for p in parent.iterdir() if p.name != keep and not _stale_lock(p, keep))


def _stale_lock(path: Path, keep: str) -> bool:
    if path.name != f".{keep}.lock":
        return False
    try:
        os.kill(int(path.read_text(encoding="ascii").strip()), 0)
    except ProcessLookupError:
        return True
    except (ValueError, OSError):
        return False
    return False


class Run:
    """The CLI as a subprocess whose output is read as it comes."""

    def __init__(self, args: list[str], cwd: Path, *, script: str | None = None):
        env = os.environ | {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
        env.pop("REDISTRICT_DEBUG", None)
        command = [sys.executable, "-c", script] if script else [sys.executable, "-m", "redistrict.cli"]
        self.proc = subprocess.Popen([*command, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace")
        self.out: list[str] = []
        self.err: list[str] = []
        self._seen = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True) for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: list[str]) -> None:
        for line in stream:
            with self._seen:
                lines.append(line)
                self._seen.notify_all()

    def wait_for(self, text: str, timeout: float) -> str | None:
        """The first stdout line containing ``text`` (None if the time runs out or the run ends)."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                found = next((line for line in self.out if text in line), None)
                left = deadline - time.monotonic()
                if found is not None or left <= 0 or self.proc.poll() is not None:
                    return found
                self._seen.wait(min(left, 0.2))

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def kill(self, signum: int) -> float:
        """Send ``signum``; returns the seconds until the process was gone."""
        assert self.proc.poll() is None, "the run ended before it could be stopped:\n" + "".join(self.out + self.err)
        started = time.monotonic()
        self.proc.send_signal(signum)
        self.finish()
        return time.monotonic() - started

    def text(self) -> str:
        return "".join(self.out) + "".join(self.err)


@pytest.fixture(scope="module")
def previous_result(tmp_path_factory) -> Path:
    """An output folder holding the result of a completed run."""
    out = tmp_path_factory.mktemp("previous") / "OUT"
    run = Run([*QUICK, "--out", str(out)], out.parent)
    assert run.finish() == 0, run.text()
    assert (out / "assignment.csv").exists() and (out / "map.png").exists()
    return out


@pytest.fixture
def out(previous_result, tmp_path) -> Path:
    """A fresh copy of the previous result, alone in its parent folder."""
    target = tmp_path / "OUT"
    shutil.copytree(previous_result, target)
    return target


# --- the CLI killed mid-run ------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_run_killed_while_solving_leaves_the_previous_result(out, signum):
    before = snapshot(out)
    run = Run([*SLOW, "--out", str(out), "--force"], out.parent)
    # the problem line is printed just before solving starts; solving then takes a minute or more
    assert run.wait_for("<Problem", timeout=30) is not None, run.text()
    time.sleep(1.0)
    seconds = run.kill(signum)
    assert run.proc.returncode == -signum, run.text()
    assert seconds < 10, f"the run took {seconds:.1f} s to stop"  # outside writes SIGTERM acts at once
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_ctrl_c_stops_the_solver_at_once_and_writes_nothing(out):
    """SIGINT during a long HiGHS solve: the solver is asked to stop at its next check (it does
    not return to Python on its own), the CLI says so and exits 130, OUT is untouched."""
    before = snapshot(out)
    run = Run([*SLOW, "--out", str(out), "--force"], out.parent)
    assert run.wait_for("<Problem", timeout=30) is not None, run.text()
    time.sleep(2.0)  # inside the start heuristic or the exact search
    seconds = run.kill(signal.SIGINT)
    assert run.proc.returncode == 130, run.text()
    assert seconds < 5, f"Ctrl-C took {seconds:.1f} s to stop the solve"
    assert "interrupted (Ctrl-C): nothing was written" in run.text() and "Traceback" not in run.text()
    assert snapshot(out) == before
    assert leftovers(out.parent) == []


def test_ctrl_c_while_pieces_run_in_worker_processes_stops_them_all(out):
    """The whole sample: two subdistricts solved in two worker processes.  SIGINT to the main
    process alone (as from a supervisor) still stops at once and leaves no worker behind."""
    before = snapshot(out)
    run = Run(["split", *SAMPLE, "--workers", "2", "--time-limit", "600", "--out", str(out), "--force"], out.parent)
    assert run.wait_for("<Problem", timeout=30) is not None, run.text()
    time.sleep(4.0)  # the workers are solving their pieces
    children = _children(run.proc.pid)
    assert children, "the pieces should run in worker processes"
    seconds = run.kill(signal.SIGINT)
    assert run.proc.returncode == 130, run.text()
    assert seconds < 5, f"Ctrl-C took {seconds:.1f} s"
    assert "interrupted (Ctrl-C): nothing was written" in run.text() and "Traceback" not in run.text()
    assert snapshot(out) == before
    time.sleep(1.0)
    assert [pid for pid in children if _alive(pid)] == []


def test_workers_end_when_the_run_is_killed(out):
    """kill -9 of a run with pieces in worker processes: the workers notice and exit (no orphans)."""
    run = Run(["split", *SAMPLE, "--workers", "2", "--time-limit", "600", "--out", str(out), "--force"], out.parent)
    assert run.wait_for("<Problem", timeout=30) is not None, run.text()
    time.sleep(4.0)
    children = _children(run.proc.pid)
    assert children, "the pieces should run in worker processes"
    run.kill(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and [pid for pid in children if _alive(pid)]:
        time.sleep(0.2)
    assert [pid for pid in children if _alive(pid)] == []


def _alive(pid: int) -> str | None:
    """The command line of a running (not zombie) process, or None."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    return None if state in ("Z", "X") else command


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_run_killed_while_writing_leaves_the_previous_result(out, signum):
    before = snapshot(out)
    run = Run([*QUICK_OTHER, "--out", str(out), "--force"], out.parent, script=PAUSED_WRITE)
    line = run.wait_for("WRITTEN", timeout=60)
    assert line is not None, run.text()
    tmp = Path(line.split(maxsplit=1)[1].strip())
    assert tmp.parent == out.parent and (tmp / "assignment.csv").exists()  # the new result was written
    assert (tmp / "assignment.csv").read_bytes() != before["assignment.csv"]
    run.kill(signum)
    assert run.proc.returncode == -signum, run.text()
    assert snapshot(out) == before
    if signum == signal.SIGTERM:
        assert "stopped by SIGTERM" in run.text()
        assert leftovers(out.parent) == []
    else:
        # SIGKILL cannot be caught: the temporary folder stays until the next write to OUT
        assert leftovers(out.parent) == [tmp.name]
        check_target(out, force=True)  # the next run claims OUT: it takes over the dead run's lock and tidies
        release_target(out)
        assert leftovers(out.parent) == []
        assert snapshot(out) == before


def test_the_next_run_replaces_a_result_and_tidies_a_killed_runs_leftover(out):
    stale = out.parent / f".OUT.{DEAD_PID}-0123abcd.tmp"
    stale.mkdir()
    (stale / "assignment.csv").write_text("block_id,unit_id\n", encoding="utf-8")
    before = snapshot(out)
    run = Run([*QUICK_OTHER, "--out", str(out), "--force"], out.parent)
    assert run.finish() == 0, run.text()
    assert snapshot(out)["assignment.csv"] != before["assignment.csv"]
    assert leftovers(out.parent) == []


# --- write_atomically directly ---------------------------------------------------------------------


def write_files(**files: str):
    def write(tmp: Path) -> None:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")

    return write


@pytest.fixture
def folder(tmp_path) -> Path:
    target = tmp_path / "OUT"
    target.mkdir()
    (target / "assignment.csv").write_text("block_id,unit_id\nb1,U1\n", encoding="utf-8")
    (target / ".hidden").write_text("kept", encoding="utf-8")
    return target


@pytest.mark.parametrize("error", [RuntimeError("the map failed"), KeyboardInterrupt()], ids=["exception", "KeyboardInterrupt"])
def test_a_failing_writer_leaves_the_folder_untouched_and_no_temporary_folder(folder, error):
    before = snapshot(folder)
    seen = []

    def write(tmp: Path) -> None:
        seen.append(tmp)
        (tmp / "assignment.csv").write_text("partial", encoding="utf-8")
        raise error

    with pytest.raises(type(error)):
        write_atomically(folder, write, force=True)
    assert seen and not seen[0].exists()
    assert snapshot(folder) == before
    assert leftovers(folder.parent) == []
    assert outputs._ACTIVE == {}


def test_a_non_empty_folder_is_refused_without_force_before_any_work(folder):
    before = snapshot(folder)
    called = []
    with pytest.raises(InputError, match="--force"):
        write_atomically(folder, lambda tmp: called.append(tmp))
    assert called == []
    assert snapshot(folder) == before and leftovers(folder.parent) == []
    # a file is never replaced, not even with force; an empty folder needs no force
    target = folder.parent / "file"
    target.write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not a folder"):
        write_atomically(target, write_files(a="x"), force=True)
    assert target.read_text(encoding="utf-8") == "mine"
    empty = folder.parent / "empty"
    empty.mkdir()
    write_atomically(empty, write_files(a="x"))
    assert snapshot(empty) == {"a": b"x"}


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_force_replaces_the_whole_folder_and_leaves_nothing_beside_it(folder, monkeypatch, exchange):
    if exchange and outputs._renameat2() is None:
        pytest.skip("no renameat2 on this platform")
    if not exchange:
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    write_atomically(folder, write_files(**{"assignment.csv": "new", "report.json": "{}"}), force=True)
    assert snapshot(folder) == {"assignment.csv": b"new", "report.json": b"{}"}
    assert leftovers(folder.parent) == []
    # made with the umask's permissions, like any folder (not mkdtemp's 0700)
    mask = os.umask(0)
    os.umask(mask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~mask


def test_the_swap_is_one_atomic_step_on_linux(tmp_path):
    if outputs._renameat2() is None:
        pytest.skip("no renameat2 on this platform")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("a", encoding="utf-8")
    (b / "f").write_text("b", encoding="utf-8")
    if not outputs._exchange(a, b):
        pytest.skip("the file system cannot exchange folders (RENAME_EXCHANGE)")
    assert (a / "f").read_text(encoding="utf-8") == "b" and (b / "f").read_text(encoding="utf-8") == "a"


def test_an_interrupt_between_the_two_renames_waits_until_the_swap_is_done(folder, monkeypatch):
    """Without renameat2 the swap is two renames; Ctrl-C in between must not leave OUT missing."""
    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    replace = os.replace
    calls = []

    def replace_then_interrupt(src, dst):
        replace(src, dst)
        calls.append(Path(dst).name)
        if len(calls) == 1:  # the old folder was just moved aside
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(folder, write_files(**{"assignment.csv": "new"}), force=True)
    assert len(calls) == 2  # the interrupt was delivered after both renames
    assert snapshot(folder) == {"assignment.csv": b"new"}
    assert leftovers(folder.parent) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_cleanup_is_installed_only_while_writing_and_never_over_an_apps_handler(tmp_path):
    seen = []
    write_atomically(tmp_path / "A", lambda tmp: seen.append(signal.getsignal(signal.SIGTERM)))
    assert seen == [outputs._terminate]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def mine(signum, frame):  # an application's own handler
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        write_atomically(tmp_path / "B", lambda tmp: seen.append(signal.getsignal(signal.SIGTERM)))
        assert seen[-1] is mine and signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_leftovers_of_killed_writes_are_tidied_and_running_writes_are_not(folder, tmp_path):
    assert not outputs._pid_alive(DEAD_PID)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "dead": f".OUT.{DEAD_PID}-0123abcd.tmp",  # a killed write to OUT
            "running": f".OUT.{alive.pid}-0123abcd.tmp",  # a write to OUT still under way
            "other target": f".OUT2.{DEAD_PID}-0123abcd.tmp",  # not ours
            "not a leftover": ".OUT.notes.tmp",
            "stale old": f".OUT.{DEAD_PID}.old",  # put aside by a write that finished its swap
        }
        for name in names.values():
            (tmp_path / name).mkdir()
        before = snapshot(folder)
        removed = recover_target(folder)
        assert sorted(p.name for p in removed) == sorted([names["dead"], names["stale old"]])
        assert leftovers(tmp_path) == sorted([names["running"], names["other target"], names["not a leftover"]])
        assert snapshot(folder) == before
    finally:
        alive.kill()
        alive.wait()


def test_a_result_put_aside_by_a_write_killed_mid_swap_is_restored(folder):
    before = snapshot(folder)
    aside = folder.with_name(f".OUT.{DEAD_PID}.old")
    os.replace(folder, aside)  # killed between "OUT → .OUT.PID.old" and "tmp → OUT"
    with pytest.raises(InputError, match="--force"):
        check_target(folder)  # the previous result is back, so it is not overwritten unasked
    assert snapshot(folder) == before
    assert leftovers(folder.parent) == []
