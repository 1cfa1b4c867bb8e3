"""The result of a run: which unit each block joins, the per-unit table, status and figures.

A :class:`Plan` is a plain value: the assignment (block id → unit id), a units table, the solver's
status/bound/gap/time, the objective terms recomputed from the assignment (not read back from the
solver), and the verifier's report.  ``Plan.to_dict()`` is ``report.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from .problem import bound_violation
from .validate import unit_sort_key
from .verify import VerificationReport

#: Status values, and the CLI exit code each maps to.
EXIT_CODES = {"optimal": 0, "feasible": 0, "heuristic": 0, "relaxed": 0, "relaxed_unproved": 4, "infeasible": 3, "no_solution": 4, "timed_out": 4}


@dataclass
class Plan:
    """A plan and everything known about how it was found."""

    status: str
    problem: dict
    assignment: pd.Series | None = None
    units: pd.DataFrame | None = None
    objective: dict = field(default_factory=dict)
    best_bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    solver: dict = field(default_factory=dict)
    diagnosis: object = None
    verification: VerificationReport | None = None
    message: str = ""
    #: the inputs (paths and SHA-256 checksums) and every option, so a result can be reproduced
    provenance: dict = field(default_factory=dict)
    #: one row per separate piece of the problem (name, blocks, k, status, method, objective,
    #: bound, gap, seconds), solved independently and merged
    pieces: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the plan exists and passed the verifier (within bounds, or relaxation stated)."""
        return self.assignment is not None and self.verification is not None and self.verification.ok

    @property
    def k(self) -> int | None:
        return None if self.units is None else len(self.units)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.status, 1)

    def __repr__(self) -> str:
        if self.units is None:
            return f"<Plan {self.status}: {self.message}>"
        hh = self.units["households"]
        gap = "" if self.gap is None else f", gap {self.gap:.2%}"
        return f"<Plan {self.status}: {len(self.units)} units, households {hh.min():,}–{hh.max():,}{gap}, {self.seconds:.2f}s>"

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "message": self.message,
            "problem": self.problem,
            "k": self.k,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "gap": self.gap,
            "seconds": round(self.seconds, 3),
            "solver": self.solver,
            "units": None if self.units is None else _records(self.units),
            "diagnosis": None if self.diagnosis is None else self.diagnosis.to_dict(),
            "verification": None if self.verification is None else self.verification.to_dict(),
            "pieces": self.pieces,
            "provenance": self.provenance,
        }

    def assignment_frame(self) -> pd.DataFrame:
        """``block_id, unit_id`` rows — the block equivalency file other tools import."""
        if self.assignment is None:
            return pd.DataFrame(columns=["block_id", "unit_id"])
        return pd.DataFrame({"block_id": self.assignment.index.astype(str), "unit_id": self.assignment.to_numpy()})


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and math.isnan(value):
                value = None
            elif value is pd.NA:
                value = None
            clean[key] = value
        out.append(clean)
    return out


def unit_table(
    graph: nx.Graph,
    assignment: pd.Series,
    centres: dict[str, dict],
    *,
    lower: int,
    upper: int,
) -> pd.DataFrame:
    """Per-unit figures computed from the graph and the assignment alone.

    ``centres`` maps unit id → {"block_id", "x", "y", "community", and optionally "site_id",
    "office_name", "office_area_m2"}: the office site, or the centre block when there are no sites.
    """
    rows = []
    for unit_id, blocks in assignment.groupby(assignment).groups.items():
        members = [str(b) for b in blocks]
        data = [graph.nodes[b] for b in members]
        hh = np.array([d["households"] for d in data], dtype=float)
        pops = [d.get("population") for d in data]
        centre = centres[unit_id]
        dx = np.array([d["x"] for d in data]) - centre["x"]
        dy = np.array([d["y"] for d in data]) - centre["y"]
        dist = np.hypot(dx, dy)
        total = int(hh.sum())
        comms = [d.get("community") for d in data]
        kept = sum(h for h, c in zip(hh, comms, strict=True) if c is not None and c == centre.get("community"))
        by_comm = pd.Series(hh, index=[c or "" for c in comms]).groupby(level=0).sum().sort_values(ascending=False)
        violation = bound_violation(total, lower, upper)
        rows.append(
            {
                "unit_id": unit_id,
                "name": centre.get("name", unit_id),
                "households": total,
                "population": None if any(p is None for p in pops) else int(sum(pops)),
                "blocks": len(members),
                "area_km2": round(sum(d.get("area", 0.0) for d in data) / 1e6, 4),
                "centre_block": centre["block_id"],
                "office_site": centre.get("site_id"),
                "office_name": centre.get("office_name"),
                "office_area_m2": centre.get("office_area_m2"),
                "mean_distance_m": round(float((hh * dist).sum() / hh.sum()) if hh.sum() > 0 else float(dist.mean()), 1),
                "max_distance_m": round(float(dist.max()), 1),
                "main_community": by_comm.index[0] if len(by_comm) and by_comm.index[0] else None,
                #: households by current community, largest first (a JSON object in report.json)
                "communities": {str(c): int(h) for c, h in by_comm.items() if c},
                "households_moved_in": int(total - kept) if centre.get("community") is not None else None,
                "within_bounds": violation == 0,
                "violation": int(violation),
            }
        )
    frame = pd.DataFrame(rows)
    return frame.sort_values("unit_id", key=lambda s: s.map(unit_sort_key)).reset_index(drop=True)


def unit_names(units: list[str], community: dict[str, str | None]) -> dict[str, str]:
    """Each unit's name from its centre's community: the community's own name when it has one
    unit, else ``阜新-1``, ``阜新-2`` … in the order of ``units``; a unit without one keeps its id."""
    per: dict[str | None, int] = {}
    for unit in units:
        per[community[unit]] = per.get(community[unit], 0) + 1
    seen: dict[str | None, int] = {}
    names = {}
    for unit in units:
        comm = community[unit]
        seen[comm] = seen.get(comm, 0) + 1
        names[unit] = unit if comm is None else (comm if per[comm] == 1 else f"{comm}-{seen[comm]}")
    return names


def objective_terms(graph: nx.Graph, assignment: pd.Series, centres: dict[str, dict]) -> dict:
    """The objective's terms recomputed from the plan, in readable units."""
    unit = assignment.to_dict()
    compact = dist_sum = moved = 0.0
    for block, unit_id in unit.items():
        d = graph.nodes[block]
        c = centres[unit_id]
        r = math.hypot(d["x"] - c["x"], d["y"] - c["y"]) / 1000.0
        compact += d["households"] * r * r
        dist_sum += d["households"] * r
        if d.get("community") is not None and c.get("community") is not None and d["community"] != c["community"]:
            moved += d["households"]
    cut = [(a, b, data) for a, b, data in graph.edges(data=True) if unit[a] != unit[b]]
    return {
        "compactness_hh_km2": round(compact, 3),
        "distance_hh_km": round(dist_sum, 3),
        "households_moved": int(moved),
        "cut_edges": len(cut),
        "boundary_km": round(sum(d.get("length", 0.0) for *_, d in cut) / 1000.0, 3),
    }
