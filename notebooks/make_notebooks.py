"""Write the example notebooks (without outputs): ``python notebooks/make_notebooks.py``.

The notebooks are generated so that their text stays reviewable in one place and they are always
committed clean (no outputs, no execution counts).  ``tests/test_notebooks.py`` executes them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

KERNEL = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}

#: Every notebook starts by finding the sample data, whatever the working directory.
FIND_DATA = '''\
# The sample data: data/ next to this folder (the notebooks run from notebooks/ or the project root).
DATA = next(
    (p / "data" for p in (Path.cwd(), *Path.cwd().parents) if (p / "data" / "tunxi_blocks.geojson").exists()),
    None,
)
if DATA is None:
    raise FileNotFoundError("Cannot find data/tunxi_blocks.geojson: run this notebook from the redistrict project.")
print("sample data:", DATA)'''


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


# --- 01: why 阜新 cannot be split alone, and the joint re-plan of 昱东 ------------------------------

NB01 = [
    md("""
# Splitting 阜新 (9,242 households): why it cannot be done alone, and what to do instead

The national guidance asks for residents' communities (社区) of **2,500–3,000 households**.
阜新 has 9,242. This notebook walks through what `redistrict` says about it, step by step:

1. load the residential blocks (小区) and check them: which communities *can* be split within the bounds at all;
2. try to split 阜新 on its own, and read **why** that is impossible and which bounds would work;
3. ask for the plan that breaks the bounds **least** (`relax=True`);
4. re-plan the whole subdistrict 昱东 jointly, one office of ≥ 300 m² per new community, and look at it on the map;
5. write the output folder and export GeoJSON for the city GIS.

> The sample in `data/` is **synthetic geometry** placed at Tunxi; only the community totals
> (阜新 9,242; 跃进 about 7,200) come from the 2007 Tunxi report. See `data/README.md`.

Every output of this notebook goes to a temporary folder; nothing in the project is changed.
"""),
    code('''
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd

import redistrict as rd
from redistrict.comparison import compare
from redistrict.export import export_plan
from redistrict.problem import Weights
from redistrict.scenario import Scenario

pd.set_option("display.max_colwidth", 200)
''' + FIND_DATA + '''

OUT = Path(tempfile.mkdtemp(prefix="redistrict-fuxin-"))
print("outputs go to:", OUT)
'''),
    md("""
## 1. Load the blocks and check them

`load_blocks` reads and validates the layer (geometry, household counts, ids; every problem is
reported with block ids). `build_graph` decides which blocks are neighbours: blocks across an
ordinary road gap (≤ 25 m) are, blocks across the river 横江 are not, except at the two bridges
listed in `tunxi_bridges.csv`. `check_layer` is what `redistrict check` prints.
"""),
    code('''
with warnings.catch_warnings():
    warnings.simplefilter("ignore", rd.RedistrictWarning)  # the findings are listed below instead
    layer = rd.load_blocks(DATA / "tunxi_blocks.geojson")
river = rd.read_lines_or_polygons(DATA / "tunxi_river.geojson")
graph = rd.build_graph(layer.blocks, snap=25, barriers=river,
                       overrides=rd.read_overrides(DATA / "tunxi_bridges.csv"))
report = rd.check_layer(layer, graph, lower=2500, upper=3000)

g = report.graph
print(f"{report.blocks} blocks, {report.households:,} households; usable: {report.usable}")
print(f"{g.n_edges} neighbour pairs; the river removed {g.barrier_removed}, the bridges added "
      f"{g.overrides_added}; {len(g.components)} connected piece(s)")
for finding in report.findings:
    print(f"[{finding.severity}] {finding.message}")
'''),
    md("""
The table below is the arithmetic check, per community and per subdistrict: a group of *H*
households can form *k* units of 2,500–3,000 only if 2,500·*k* ≤ *H* ≤ 3,000·*k*. "none" means
**no number of units works**, whatever the geometry. "pieces" is how many separate parts of the
neighbour graph the group lies in (1 = contiguous).
"""),
    code('''
def check_table(groups):
    return pd.DataFrame([
        {"name": c.name, "blocks": c.blocks, "households": c.households,
         "units that fit": ", ".join(map(str, c.feasible_k)) or "none", "pieces": c.pieces}
        for c in groups
    ]).set_index("name")

check_table(report.communities)
'''),
    code('''
check_table(report.subdistricts)
'''),
    md("""
None of the six communities can be re-planned on its own, but each subdistrict as a whole can:
昱东 (16,256 households) fits exactly 6 units and 昱中 (13,668) exactly 5.

## 2. Try to split 阜新 on its own

A `Scenario` holds every option of a run as plain values (the same options as the command line).
We first ask for 阜新 alone. The answer is not an error but a result with status **infeasible**,
and it says why, with numbers.
"""),
    code('''
base = Scenario(
    "昱东 joint",
    DATA / "tunxi_blocks.geojson",
    subdistrict="昱东",
    offices=DATA / "tunxi_offices.geojson",        # one office site of >= 300 m2 per unit
    barriers=(DATA / "tunxi_river.geojson",),
    overrides=DATA / "tunxi_bridges.csv",
    weights=Weights(compactness=1, stability=1),
    time_limit=60,
)
fuxin = base.replace(name="阜新 alone", subdistrict=None, communities=("阜新",)).run()
print(fuxin.status)
fuxin
'''),
    md("""
The diagnosis lists the **nearest bounds that would work**: with 3 units the maximum would have
to rise to 3,081; with 4 units the minimum would have to fall to 2,310. The same sentence comes
from `explain_bounds` for any total.
"""),
    code('''
nearest = pd.DataFrame(fuxin.plan.diagnosis.options).rename(columns={
    "k": "units", "average": "average households", "fits": "fits 2,500–3,000",
    "min": "nearest minimum", "max": "nearest maximum"})
print(rd.explain_bounds(9242, 2500, 3000, name="阜新"))
print()
print("What to do instead:")
for suggestion in fuxin.plan.diagnosis.suggestions:
    print(" -", suggestion)
nearest
'''),
    md("""
## 3. The plan that breaks the bounds least (`relax=True`)

If the bureau must keep 阜新's outer boundary, `relax=True` searches for the contiguous plan whose
**largest violation of the bounds is smallest**: it solves exactly with the bounds widened by *v*
households and searches over *v*. 3 units cannot do better than 81 households above 3,000 (the
arithmetic floor), but a plan that close is hard to find, so no single step of the search may
take all the time. We give it 12 seconds here and show what came back: the status, each unit's
households, the largest violation and whether it was proved minimal.
"""),
    code('''
relaxed = fuxin.scenario.replace(name="阜新 relaxed", relax=True, time_limit=12).run()
print(relaxed.plan.message)
compare([relaxed])[["status", "units", "households_min", "households_max", "max_violation", "seconds"]]
'''),
    code('''
relaxed.plan.units[["unit_id", "households", "violation", "within_bounds", "office_name"]]
'''),
    md("""
A unit above 3,000 households breaks the guidance, even by a few dozen households. The better
answer is usually to re-plan 阜新 **together with its neighbours**.

## 4. Re-plan 昱东 jointly

The joint re-plan of subdistrict 昱东 (阜新, 荷花池 and 水心亭, 16,256 households) cuts it into
6 contiguous units of 2,500–3,000 households, each around one office site of at least 300 m².
The objective weighs **compactness** (households × squared distance to the office) and
**stability** (households whose new unit is centred in another community than their current
one), 1 : 1. The plan is checked by an independent verifier before it is returned; status
`optimal` means the solver proved no better plan exists for this objective.

The result shows itself: the figures, the unit table and the interactive map (units in colour,
current community boundaries dashed, office sites, the river).
"""),
    code('''
yudong = base.run()
yudong
'''),
    md("""
The unit table with the office each unit uses, and the verifier's verdict (households within the
bounds, every unit contiguous, every block assigned once):
"""),
    code('''
print(yudong.plan.message)
print("verified:", yudong.plan.verification.ok)
yudong.plan.units[["unit_id", "name", "households", "population", "blocks", "office_site",
                   "mean_distance_m", "max_distance_m", "within_bounds"]]
'''),
    md("""
## 5. Write the output folder and export for the city GIS

`write` produces the same folder as `redistrict plan … --out OUT`: the block assignment
(`assignment.csv`), units and blocks as GeoJSON, `report.json`, the offline map `map.html` and
the one-page report. For 阜新 alone it writes only the diagnosis, nothing that looks like a plan.
`export_plan` then hands the plan to a desktop GIS (GeoJSON here; also GeoPackage, Shapefile
with GBK text, CSV; any CRS such as CGCS2000 `EPSG:4490` for GeoPackage and Shapefile).
"""),
    code('''
folder = yudong.write(OUT / "yudong")
print(sorted(p.name for p in folder.iterdir()))
print(sorted(p.name for p in fuxin.write(OUT / "fuxin").iterdir()))
'''),
    code('''
files = export_plan(folder, "geojson", dest=OUT / "gis")
for path in files:
    print(f"{path.name:20} {path.stat().st_size:>9,} bytes")
units = gpd.read_file(OUT / "gis" / "units.geojson")
units.drop(columns="geometry").head(6)
'''),
    md("""
The same steps from the command line:

```bash
redistrict check data/tunxi_blocks.geojson --barriers data/tunxi_river.geojson --overrides data/tunxi_bridges.csv
redistrict split data/tunxi_blocks.geojson --barriers data/tunxi_river.geojson --overrides data/tunxi_bridges.csv \\
    --community 阜新 --out out/fuxin          # exit code 3: infeasible, diagnosis.json
redistrict plan data/tunxi_blocks.geojson --barriers data/tunxi_river.geojson --overrides data/tunxi_bridges.csv \\
    --subdistrict 昱东 --offices data/tunxi_offices.geojson --out out/yudong
redistrict export out/yudong --format gpkg --crs EPSG:4490
```

`02_compare_scenarios.ipynb` compares several ways of cutting 昱东 (bounds, weights, office sites).
"""),
]


# --- 02: comparing scenarios -------------------------------------------------------------------

NB02 = [
    md("""
# Comparing scenarios for 昱东

A re-plan is a choice among options: how strict the household bounds are, what the objective
values (compact units, or keeping households with their current community), whether every unit
must sit around an existing office site. This notebook runs a few **scenarios** of the 昱东
re-plan, compares them in one table and one chart, shows two of them side by side on
synchronised maps, and saves the set to a TOML file that the command line (`redistrict sweep`)
runs the same way.

> The sample in `data/` is **synthetic geometry**; see `data/README.md`.
"""),
    code('''
import tempfile
import time
from pathlib import Path

import pandas as pd

from redistrict.comparison import COLUMNS, compare, plot_households, side_by_side
from redistrict.problem import Weights
from redistrict.scenario import Scenario, load_scenarios, save_scenarios
from redistrict.sweeps import sweep

pd.set_option("display.max_colwidth", 120)
''' + FIND_DATA + '''

OUT = Path(tempfile.mkdtemp(prefix="redistrict-scenarios-"))
print("outputs go to:", OUT)
'''),
    md("""
## 1. The scenarios

`guidance` is the reference: bounds 2,500–3,000, one office site of ≥ 300 m² per unit, compactness
and stability weighted 1 : 1. The others change **one thing** each (`replace` copies a scenario
with some options changed):

| scenario | what changes | the question it answers |
|---|---|---|
| `wide bounds` | 2,000–3,500 households | what do the strict bounds cost? |
| `wide, compact only` | 2,000–3,500, and stability not weighted (compactness only) | what does keeping households with their community cost, in compactness? |
| `no offices` | any block may be a unit's centre (no office sites), solver stopped after 8 s | what do the office sites cost? |

(`wide, compact only` changes the weights against `wide bounds`, so that pair isolates the
weights.) The last one is a much larger problem (every block is a possible centre), so we stop the
solver early on purpose: the table then says **timed_out** with the remaining gap (or
**no_solution** if not even one plan was found in time) instead of passing the plan off as
optimal. More time (`time_limit`) improves the plan a little, but do not expect the gap to close:
the lower bound is far below every plan found, even after 10 minutes (see `bench/RESULTS.md`).
"""),
    code('''
guidance = Scenario(
    "guidance",
    DATA / "tunxi_blocks.geojson",
    subdistrict="昱东",
    offices=DATA / "tunxi_offices.geojson",
    barriers=(DATA / "tunxi_river.geojson",),
    overrides=DATA / "tunxi_bridges.csv",
    weights=Weights(compactness=1, stability=1),
    time_limit=60,
    description="2,500-3,000 households, one office of >= 300 m2 per unit",
)
scenarios = [
    guidance,
    guidance.replace(name="wide bounds", lower=2000, upper=3500, description="2,000-3,500 households"),
    guidance.replace(name="wide, compact only", lower=2000, upper=3500, weights=Weights(compactness=1),
                     description="2,000-3,500 households, compactness only"),
    guidance.replace(name="no offices", offices=None, time_limit=8,
                     description="any block may be a centre; stopped after 8 s"),
]

results = []
for scenario in scenarios:
    started = time.perf_counter()
    results.append(scenario.run())
    print(f"{scenario.name:20} {results[-1].status:12} {time.perf_counter() - started:5.1f} s")
'''),
    md("""
## 2. The comparison table

One row per scenario. The figures are recomputed from each plan (not taken from the solver), so
plans made any way compare on the same footing. What the columns mean:
"""),
    code('''
pd.Series(COLUMNS, name="meaning").to_frame()
'''),
    code('''
table = compare(results)
table[["status", "units", "households_min", "households_max", "spread", "households_moved",
       "mean_distance_m", "mean_polsby_popper", "boundary_km", "funding_yuan", "gap", "seconds"]]
'''),
    md("""
How to read it:

* **wide bounds** needs fewer units (fewer committees, less funding) and moves far fewer
  households, but its units range further from the guidance's 2,500–3,000.
* **wide, compact only** against **wide bounds**: without the stability term households are a
  little closer to their office (mean distance), but many more households change community.
  The weights decide this trade-off; the table puts a number on it. (The outline measure,
  Polsby-Popper, need not agree with the distance: it scores shapes, not travel.)
* **no offices** shows what the office constraint costs; its `gap` column says how far the
  solver was from proving its plan optimal when it was stopped.

## 3. Households per unit

Each dot is one unit; the dashed lines are that scenario's bounds (red dots would be units outside
them).
"""),
    code('''
ax = plot_households(results)
ax.figure.tight_layout()
'''),
    md("""
## 4. Two scenarios side by side

The two maps pan and zoom together. Click a unit or a block for its figures; the layer control
(top right) switches current community boundaries, office sites and labels on and off.
"""),
    code('''
side_by_side(results[0], results[1])
'''),
    md("""
## 5. Save the set and run it as a sweep

`save_scenarios` writes the set as TOML: options shared by every scenario go to `[defaults]`;
paths are stored relative to the file when it sits near the data (here, in a temporary folder,
they stay absolute). Analysts can edit this file, and `load_scenarios`
reads it back.
"""),
    code('''
toml_file = save_scenarios(OUT / "yudong.toml", scenarios)
print(toml_file.read_text(encoding="utf-8"))
loaded = load_scenarios(toml_file)
print("read back unchanged:", [s.to_dict() for s in loaded] == [s.to_dict() for s in scenarios])
'''),
    md("""
`sweep` runs every scenario, writes each one's output folder (map, report, GeoJSON) plus
`comparison.csv` and `comparison.html` into one folder, and returns the same comparison table.
Here it runs in this process (`scheduler="serial"`). A scenario that fails becomes a row with its
error; the others carry on.

From the command line the same file runs with

```bash
redistrict sweep yudong.toml --out sweep_out                              # a local Dask cluster, one worker per core
redistrict sweep yudong.toml --out sweep_out --scheduler tcp://HOST:8786  # a shared Dask cluster
```

On a shared cluster every worker needs `redistrict` installed and the input files at the same
paths.
"""),
    code('''
swept = sweep(loaded, OUT / "sweep", scheduler="serial")
print(f"{len(swept.outcomes)} scenarios in {swept.seconds:.1f} s, written to {swept.out}")
print(sorted(p.name for p in swept.out.iterdir()))
swept.table[["status", "units", "households_min", "households_max", "households_moved", "gap"]]
'''),
    md("""
Scenarios that the solver proved optimal come out the same in the sweep as above (the sweep runs
the solver on one thread per scenario, so a scenario stopped by its time limit may differ).
`comparison.html` in the sweep folder is a self-contained page with this table, the chart and
links to each scenario's map and report.
"""),
    code('''
proved = table.index[table["status"] == "optimal"]
same = (swept.table.loc[proved, ["households_min", "households_max", "households_moved"]]
        == table.loc[proved, ["households_min", "households_max", "households_moved"]])
same.all(axis=1).rename("same plan figures").to_frame()
'''),
]


def write(cells: list, name: str) -> Path:
    nb = new_notebook(cells=cells, metadata=KERNEL)
    for i, c in enumerate(nb.cells):  # stable ids: regenerating gives the same file
        c.id = f"cell-{i:02d}"
    nbformat.validate(nb)
    path = HERE / name
    nbformat.write(nb, path)
    return path


def main() -> None:
    for cells, name in ((NB01, "01_split_fuxin.ipynb"), (NB02, "02_compare_scenarios.ipynb")):
        print("wrote", write(cells, name))


if __name__ == "__main__":
    main()
