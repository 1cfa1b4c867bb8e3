"""The start heuristic on the hard case: 昱东 re-planned with every block a possible centre.

    python bench/bench_start.py [--limits 10 30 60]

Without office sites the exact model has ~8,000 assignment variables and a weak LP bound, so it
rarely proves optimality within minutes; what matters to a planner is the plan it returns at a
given time limit.  For each limit this runs the solve with and without the location-allocation
start (redistrict/model/start.py) and prints the objective of the returned plan, the bound and
the gap.  Run by hand; results go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import redistrict.model.backends as backends
from redistrict import Scenario, Weights

DATA = Path(__file__).resolve().parent.parent / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limits", type=float, nargs="+", default=[10, 30, 60])
    args = parser.parse_args()
    base = Scenario("no offices", str(args.data / "tunxi_blocks.geojson"), subdistrict="昱东", barriers=(str(args.data / "tunxi_river.geojson"),), overrides=str(args.data / "tunxi_bridges.csv"), weights=Weights(compactness=1, stability=1), threads=1)
    base.inputs()  # load once, outside the timings
    share = backends.HEURISTIC_SHARE
    print("| time limit (s) | start | status | objective | bound | gap | seconds |")
    print("|---|---|---|---|---|---|---|")
    for limit in args.limits:
        for use in (False, True):
            backends.HEURISTIC_SHARE = share if use else 0.0
            started = time.perf_counter()
            plan = base.replace(time_limit=limit).run().plan
            obj = plan.objective.get("model_objective")
            gap = "-" if plan.gap is None else f"{plan.gap:.1%}"
            bound = "-" if plan.best_bound is None else f"{plan.best_bound:,.1f}"
            print(f"| {limit:g} | {'yes' if use else 'no'} | {plan.status} | {'-' if obj is None else f'{obj:,.1f}'} | {bound} | {gap} | {time.perf_counter() - started:.1f} |")
    backends.HEURISTIC_SHARE = share


if __name__ == "__main__":
    main()
