"""A valid lower bound for pieces the exact search does not take: the Hess model's LP relaxation.

The assignment model of :mod:`redistrict.model.hess` with its safe variable fixing and the seed
separator cuts, integrality and the rest of contiguity dropped, is a relaxation of the problem:
every contiguous plan within the bounds is a feasible point of it with the same objective.  Its
optimum is therefore a lower bound on every plan's objective, the optimum's included, and the gap
of a heuristic plan against it is an honest upper limit on how far that plan can be from optimal.
It is weak where the integer program's bound is weak (see bench/RESULTS.md), never invalid.
"""

from __future__ import annotations

import math

import numpy as np

from ._graph import Adjacency
from .data import ModelInput, implied_bounds

#: models with more columns than this are not tried (the LP would not solve in useful time)
MAX_COLUMNS = 2_000_000


def lp_bound(data: ModelInput, *, time_limit: float, infeasible: float | None = None) -> float | None:
    """The LP relaxation's optimum (a valid lower bound), or None if it did not solve in time.

    A relaxation that is infeasible proves the problem infeasible: ``infeasible`` is returned
    then (None by default, for callers that only want a number to report).
    """
    import highspy

    from .backends import _build, _quiet_highs

    if time_limit <= 0.05:
        return None
    lower, upper = implied_bounds(data)
    if lower > upper:
        return infeasible
    adj = Adjacency.from_edges(data.n, data.edges)
    model, _ = _build(data, adj, "cuts", lower=float(lower), upper=float(upper), elastic=False)
    milp = model.milp
    if milp.num_cols > MAX_COLUMNS:
        return None
    lower, upper, cost, _ = milp.columns()
    a = milp.matrix()
    h = _quiet_highs(highspy)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("random_seed", 0)
    status = h.passModel(
        milp.num_cols, a.num_rows, len(a.indices), 2, 1, float(milp.offset), cost, lower, upper,
        a.lower, a.upper, a.indptr[:-1].astype(np.int32), a.indices.astype(np.int32), a.values,
        np.zeros(milp.num_cols, dtype=np.int32),  # every column continuous: the LP relaxation
    )
    if status != highspy.HighsStatus.kOk:
        return None
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return infeasible
    if status != highspy.HighsModelStatus.kOptimal:
        return None
    value = float(h.getInfo().objective_function_value)
    return value if math.isfinite(value) else None
