"""The example notebooks run from top to bottom, are committed without outputs, and show what they say.

Each notebook is executed once (module-scoped fixtures) by nbclient with a ``python3`` kernel that
runs *this* interpreter: a kernelspec whose argv starts with ``sys.executable`` is put first on
``JUPYTER_PATH``, so a user-level ``python3`` kernel pointing at another Python cannot be picked
up.  The notebooks write their outputs with ``tempfile.mkdtemp``; ``TMPDIR`` points the kernel at
pytest's temporary folder so nothing is left in the system one.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("ipykernel.kernelspec")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NB01 = NOTEBOOKS / "01_split_fuxin.ipynb"
NB02 = NOTEBOOKS / "02_compare_scenarios.ipynb"
SCENARIOS = ["guidance", "wide bounds", "wide, compact only", "no offices"]


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """Environment for the kernel: our interpreter's kernelspec first, temp files in pytest's tmp."""
    root = tmp_path_factory.mktemp("jupyter")
    kernelspec.write_kernel_spec(root / "kernels" / "python3")  # argv[0] = sys.executable
    spec = json.loads((root / "kernels" / "python3" / "kernel.json").read_text(encoding="utf-8"))
    assert spec["argv"][0] == sys.executable
    tmp = tmp_path_factory.mktemp("nbtmp")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(root))
        mp.setenv("TMPDIR", str(tmp))
        mp.delenv("MPLBACKEND", raising=False)  # let the kernel use the inline backend (figures as PNG)
        yield tmp


def execute(nb, cwd: Path = NOTEBOOKS):
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    started = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - started


def run_notebook(path: Path):
    nb = nbformat.read(path, as_version=4)
    executed, seconds = execute(nb)
    print(f"{path.name}: {seconds:.1f} s")
    return executed


def cell(nb, marker: str):
    """The one code cell whose source contains ``marker``."""
    found = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    assert len(found) == 1, f"{len(found)} code cells contain {marker!r}"
    return found[0]


def text(c) -> str:
    """Everything a cell showed: streams, plain text and HTML."""
    parts = []
    for out in c.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts += [out.data.get("text/plain", ""), out.data.get("text/html", "")]
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts)


def has_map(c) -> bool:
    html = "".join(out.data.get("text/html", "") for out in c.outputs if out.output_type in ("execute_result", "display_data"))
    return "<iframe srcdoc=" in html and "Leaflet" in html


@pytest.fixture(scope="module")
def nb01(kernel_env):
    return run_notebook(NB01)


@pytest.fixture(scope="module")
def nb02(kernel_env):
    return run_notebook(NB02)


# --- committed state --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [NB01, NB02], ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert any(c.cell_type == "markdown" for c in nb.cells)


def test_kernel_runs_this_interpreter(kernel_env):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys, tempfile\nprint(sys.prefix)\nprint(sys.executable)\nprint(tempfile.gettempdir())")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    executed, _ = execute(nb)
    prefix, executable, tmp = executed.cells[0].outputs[0].text.split("\n")[:3]
    assert prefix == sys.prefix
    assert executable == sys.executable
    assert Path(tmp) == kernel_env


# --- 01: 阜新 ----------------------------------------------------------------------------------


def test_nb01_runs_and_checks_the_sample(nb01):
    assert not any(o.output_type == "error" for c in nb01.cells if c.cell_type == "code" for o in c.outputs)
    checked = text(cell(nb01, "check_table(report.communities)"))
    assert "阜新" in checked and "9242" in checked and "none" in checked
    assert "昱东" in text(cell(nb01, "check_table(report.subdistricts)"))


def test_nb01_fuxin_alone_is_infeasible_with_nearest_bounds(nb01):
    shown = text(cell(nb01, 'communities=("阜新",)'))
    assert "infeasible" in shown
    assert "9,242" in shown
    nearest = text(cell(nb01, "diagnosis.options"))
    assert "3,081" in nearest and "2,310" in nearest and "jointly" in nearest


def test_nb01_relaxed_attempt_reports_its_status(nb01):
    shown = text(cell(nb01, "relax=True"))
    assert "阜新 relaxed" in shown
    assert "Bounds relaxed: the largest violation is" in shown, "12 s always finds a relaxed plan (at v = 2 × 81 at worst)"
    assert "at least 81 is needed" in shown or "proved minimal" in shown


def test_nb01_joint_plan_shows_table_and_map(nb01):
    shown = cell(nb01, "yudong = base.run()")
    assert "昱东 joint" in text(shown)
    assert has_map(shown)
    units = text(cell(nb01, "verification.ok"))
    assert "verified: True" in units
    assert "阜新-1" in units


def test_nb01_writes_and_exports(nb01):
    written = text(cell(nb01, "yudong.write("))
    assert "assignment.csv" in written and "map.html" in written and "diagnosis.json" in written
    exported = text(cell(nb01, "export_plan("))
    assert "units.geojson" in exported and "blocks.geojson" in exported


# --- 02: scenarios -------------------------------------------------------------------------------


def test_nb02_runs(nb02):
    assert not any(o.output_type == "error" for c in nb02.cells if c.cell_type == "code" for o in c.outputs)


def test_nb02_comparison_table_lists_every_scenario(nb02):
    table = text(cell(nb02, "table = compare(results)"))
    for name in SCENARIOS:
        assert name in table
    assert "optimal" in table


def test_nb02_chart_and_side_by_side_maps(nb02):
    chart = cell(nb02, "plot_households(results)")
    assert any("image/png" in o.get("data", {}) for o in chart.outputs)
    maps = cell(nb02, "side_by_side(")
    assert has_map(maps)
    assert "guidance | wide bounds" in text(maps)


def test_nb02_saves_and_sweeps_the_same_set(nb02):
    saved = text(cell(nb02, "save_scenarios("))
    assert "[defaults]" in saved and "read back unchanged: True" in saved
    swept = text(cell(nb02, 'sweep(loaded, OUT / "sweep", scheduler="serial")'))
    assert "4 scenarios" in swept and "comparison.html" in swept
    for name in SCENARIOS:
        assert name in swept
    same = text(cell(nb02, "same plan figures"))
    assert "False" not in same
