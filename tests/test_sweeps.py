"""Sweeps: the same results serially and on a 2-worker Dask cluster; failures stay in their row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import make_grid

from redistrict.errors import InputError
from redistrict.scenario import Scenario, load_scenarios
from redistrict.sweeps import _inside, sweep


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> list[Scenario]:
    folder = tmp_path_factory.mktemp("sweep")
    households = [120, 80, 150, 90, 110, 130, 70, 160, 100, 140, 60, 190, 85, 115, 145, 55]
    path = folder / "blocks.geojson"
    make_grid(4, 4, households=households, community=["东", "东", "西", "西"] * 4).to_file(path, driver="GeoJSON")
    base = Scenario("four", str(path), lower=420, upper=480, time_limit=60)
    return [
        base,
        base.replace(name="three", lower=560, upper=640),
        base.replace(name="stable", lower=420, upper=480, weights=base.weights.__class__(compactness=1, stability=3)),
        base.replace(name="impossible", lower=1000, upper=1100, k=3),
        base.replace(name="missing file", blocks=str(folder / "nope.geojson")),
    ]


def _comparable(result) -> pd.DataFrame:
    return result.table.drop(columns=["seconds"])


def test_serial_and_dask_give_identical_results(scenarios, tmp_path):
    serial = sweep(scenarios, tmp_path / "serial", scheduler="serial")
    dask = sweep(scenarios, tmp_path / "dask", scheduler="local", workers=2)
    assert "Dask" in dask.scheduler and "2" in dask.scheduler
    pd.testing.assert_frame_equal(_comparable(serial), _comparable(dask))
    assert list(serial.table["status"]) == ["optimal", "optimal", "optimal", "infeasible", "error"]
    for name in ("four", "three", "stable"):
        a = (tmp_path / "serial" / name / "assignment.csv").read_bytes()
        b = (tmp_path / "dask" / name / "assignment.csv").read_bytes()
        assert a == b, f"{name}: the plans differ between serial and Dask"


def test_sweep_folder_layout_and_failure_rows(scenarios, tmp_path):
    progress = []
    result = sweep(scenarios, tmp_path / "out", scheduler="serial", progress=lambda o, done, total: progress.append((o.name, done, total)))
    out = tmp_path / "out"
    assert progress[-1][1:] == (5, 5) and {p[0] for p in progress} == {s.name for s in scenarios}
    assert {p.name for p in out.iterdir()} == {"four", "three", "stable", "impossible", "missing file", "comparison.csv", "comparison.html", "scenarios.toml", "sweep.json"}
    assert (out / "four" / "map.html").exists() and (out / "four" / "units.geojson").exists()
    assert (out / "impossible" / "diagnosis.json").exists() and not (out / "impossible" / "assignment.csv").exists()
    error = (out / "missing file" / "error.txt").read_text(encoding="utf-8")
    assert "nope.geojson" in error
    assert result.exit_code == 2, "a bad-input row makes the sweep exit 2, after writing everything"
    table = pd.read_csv(out / "comparison.csv", index_col="scenario")
    assert table.loc["three", "units"] == 3 and table.loc["missing file", "status"] == "error"
    page = (out / "comparison.html").read_text(encoding="utf-8")
    assert 'href="four/map.html"' in page and 'href="missing file/error.txt"' in page and "data:image/png;base64," in page
    again = load_scenarios(out / "scenarios.toml")
    assert [s.name for s in again] == [s.name for s in scenarios]
    assert Path(again[0].blocks) == Path(scenarios[0].blocks).resolve()


def test_sweep_refuses_a_non_empty_folder_before_running(scenarios, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("previous", encoding="utf-8")
    with pytest.raises(InputError, match="not empty"):
        sweep(scenarios[:1], out, scheduler="serial")
    assert (out / "keep.txt").read_text(encoding="utf-8") == "previous"


def test_bad_scheduler_address(scenarios):
    with pytest.raises(InputError, match="tcp://HOST:8786"):
        sweep(scenarios[:1], scheduler="somewhere")


def test_unreachable_scheduler_is_an_input_error(scenarios, monkeypatch):
    import redistrict.sweeps

    monkeypatch.setattr(redistrict.sweeps, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(InputError, match="Cannot reach the Dask scheduler"):
        sweep(scenarios[:1], scheduler="tcp://127.0.0.1:9")


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", "."])
def test_writes_stay_inside_the_output_folder(tmp_path, relative):
    with pytest.raises(InputError, match="not inside the output folder"):
        _inside(tmp_path / "out", relative)


def test_an_existing_cluster_by_address_gives_the_same_results(scenarios, tmp_path):
    """--scheduler tcp://HOST:PORT: a cluster started separately (here a LocalCluster standing in
    for `dask scheduler` + `dask worker`), reached by its address only."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        remote = sweep(scenarios[:3], tmp_path / "remote", scheduler=address)
    serial = sweep(scenarios[:3], tmp_path / "serial", scheduler="serial")
    assert address in remote.scheduler
    pd.testing.assert_frame_equal(_comparable(remote), _comparable(serial))


def test_files_are_written_as_scenarios_finish_and_not_kept_in_memory(scenarios, tmp_path):
    seen_on_disk = []

    def progress(outcome, done, total):
        folders = [p / outcome.name for p in tmp_path.glob(".out.*")]
        seen_on_disk.append(outcome.written and any((f / "assignment.csv").exists() for f in folders))

    result = sweep(scenarios[:2], tmp_path / "out", scheduler="serial", progress=progress)
    assert seen_on_disk == [True, True], "each outcome is on disk (in the temporary folder) before progress is told"
    assert all(o.written and set(o.files.values()) == {b""} for o in result.outcomes)
    assert (tmp_path / "out" / "four" / "assignment.csv").stat().st_size > 0


def test_an_interrupted_sweep_leaves_no_output_folder(scenarios, tmp_path):
    def stop(outcome, done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(scenarios, tmp_path / "out", scheduler="serial", progress=stop)
    assert list(tmp_path.iterdir()) == [], "no OUT and no temporary folder"


def test_a_sweep_kept_in_memory_can_be_written_later(scenarios, tmp_path):
    result = sweep(scenarios[:2], scheduler="serial")
    assert result.out is None and not any(o.written for o in result.outcomes)
    from redistrict.sweeps import write_sweep

    path = write_sweep(result, scenarios[:2], tmp_path / "later")
    assert (path / "three" / "map.html").exists() and (path / "comparison.csv").exists()
    with pytest.raises(InputError, match="already written"):
        write_sweep(result, scenarios[:2], tmp_path / "again")


def test_progress_true_shows_a_bar_and_gives_the_same_result(scenarios, capsys):
    result = sweep(scenarios[:2], scheduler="serial", progress=True)
    assert list(result.table["status"]) == ["optimal", "optimal"]
    shown = capsys.readouterr().out
    assert "sweep" in shown and "2/2" in shown


def test_sweep_chart_keeps_matplotlib_global_state_and_prints_no_glyph_warning():
    """The comparison page's chart: Chinese scenario names drawn with the bundled font (no
    'Glyph … missing' warning) on an object-API figure; backend, rcParams, fonts unchanged."""
    import sys
    import warnings

    import matplotlib
    from matplotlib import font_manager

    from redistrict.comparison import UNIT_COLUMNS, plot_households
    from redistrict.sweeps import _chart_png

    def state():
        figures = sys.modules["matplotlib.pyplot"].get_fignums() if "matplotlib.pyplot" in sys.modules else []
        return dict.__getitem__(matplotlib.rcParams, "backend"), {k: repr(v) for k, v in dict.items(matplotlib.rcParams)}, [f.fname for f in font_manager.fontManager.ttflist], figures

    units = pd.DataFrame(
        [["阜新单独", "U1", 3081, False, 2500, 3000, "relaxed"], ["昱东联合", "U1", 2700, True, 2500, 3000, "optimal"], ["无方案", None, None, None, 2500, 3000, "infeasible"]],
        columns=UNIT_COLUMNS,
    )
    before = state()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = _chart_png(units, plot_households, "zh")
    assert png and not [w for w in caught if "missing from font" in str(w.message)]
    assert state() == before
