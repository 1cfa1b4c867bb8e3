"""Exact districting engine on arrays: contiguous units of a set weight range by integer programming.

The engine knows nothing of geometry, files or the CLI: it takes a :class:`ModelInput` (node
weights, edges, bounds, optional centres and costs) and returns a :class:`ModelSolution` (the
centre of every node's unit, with status, bound and timings).
"""

from redistrict.model.backends import FORMULATIONS, SOLVERS, solve_model
from redistrict.model.data import ModelInput, ModelSolution, from_networkx

__all__ = ["FORMULATIONS", "SOLVERS", "ModelInput", "ModelSolution", "from_networkx", "solve_model"]
