"""Sweep throughput: the same scenarios serially and on a local Dask cluster, results compared.

    python bench/bench_sweep.py                      # the bundled sample, 12 scenarios
    python bench/bench_sweep.py --workers 2 --repeat 2

Each scenario re-plans one subdistrict of the sample (昱东 with its office sites, 昱中 without)
under different bounds and weights.  Prints the wall-clock time of each scheduler, the speed-up,
and whether the comparison tables (all figures but seconds) and every assignment are identical.
Run by hand; results go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from redistrict.problem import Weights
from redistrict.scenario import Scenario
from redistrict.sweeps import sweep

DATA = Path(__file__).resolve().parent.parent / "data"


def scenarios(data: Path, time_limit: float) -> list[Scenario]:
    common = {
        "blocks": str(data / "tunxi_blocks.geojson"),
        "barriers": (str(data / "tunxi_river.geojson"),),
        "overrides": str(data / "tunxi_bridges.csv"),
        "time_limit": time_limit,
    }
    out = []
    for lower, upper in ((2500, 3000), (2400, 3100), (2000, 3500), (2200, 3300)):
        for stability in (1.0, 0.0):
            out.append(Scenario(f"昱东 {lower}-{upper} s{stability:g}", subdistrict="昱东", lower=lower, upper=upper, offices=str(data / "tunxi_offices.geojson"), weights=Weights(compactness=1, stability=stability), **common))
        out.append(Scenario(f"昱中 {lower}-{upper}", subdistrict="昱中", lower=lower, upper=upper, offices=str(data / "tunxi_offices.geojson"), weights=Weights(compactness=1, stability=1), **common))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the tunxi_* sample files")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=120.0)
    args = parser.parse_args()
    items = scenarios(args.data, args.time_limit)
    print(f"{len(items)} scenarios")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scheduler in ("serial", "local"):
            started = time.perf_counter()
            result = sweep(items, Path(tmp) / scheduler, scheduler=scheduler, workers=args.workers)
            results[scheduler] = result
            print(f"{scheduler:>7}: {time.perf_counter() - started:6.1f} s wall ({result.scheduler})")
        same_table = results["serial"].table.drop(columns="seconds").equals(results["local"].table.drop(columns="seconds"))
        same_plans = all(
            (Path(tmp) / "serial" / s.name / "assignment.csv").read_bytes() == (Path(tmp) / "local" / s.name / "assignment.csv").read_bytes()
            for s in items if (Path(tmp) / "serial" / s.name / "assignment.csv").exists()
        )
    pd.set_option("display.width", 200)
    print(results["serial"].table[["status", "units", "households_min", "households_max", "households_moved", "gap", "seconds"]])
    serial = results["serial"].seconds
    local = results["local"].seconds
    print(f"speed-up {serial / local:.2f}x; identical tables: {same_table}; identical plans: {same_plans}")


if __name__ == "__main__":
    main()
