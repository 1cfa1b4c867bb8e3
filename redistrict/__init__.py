"""redistrict: redraw urban residents' communities into contiguous units of a set household size.

The pipeline: load → graph → problem → solve → verify → outputs.
"""

from .comparison import compare, plot_households, side_by_side
from .diagnose import CheckReport, Diagnosis, check_layer, diagnose_problem
from .errors import (
    InfeasibleError,
    InputError,
    RedistrictError,
    RedistrictWarning,
    SolverError,
    VerificationError,
)
from .graph import build_graph, diagnose_graph, graph_from_networkx, read_graph_json, read_overrides
from .io import BlockLayer, from_geodataframe, load_blocks, read_lines_or_polygons, read_points
from .plan import Plan
from .problem import Problem, Weights, explain_bounds, feasible_unit_counts
from .scenario import Scenario, ScenarioResult, load_scenarios, save_scenarios
from .solve import solve
from .sweeps import sweep
from .verify import VerificationReport, verify_plan

__version__ = "0.1.0"

__all__ = [
    "BlockLayer",
    "CheckReport",
    "Diagnosis",
    "InfeasibleError",
    "InputError",
    "Plan",
    "Problem",
    "RedistrictError",
    "Scenario",
    "ScenarioResult",
    "RedistrictWarning",
    "SolverError",
    "VerificationError",
    "VerificationReport",
    "Weights",
    "build_graph",
    "check_layer",
    "compare",
    "load_scenarios",
    "plot_households",
    "save_scenarios",
    "side_by_side",
    "sweep",
    "diagnose_graph",
    "diagnose_problem",
    "explain_bounds",
    "feasible_unit_counts",
    "from_geodataframe",
    "graph_from_networkx",
    "read_graph_json",
    "load_blocks",
    "read_lines_or_polygons",
    "read_overrides",
    "read_points",
    "solve",
    "verify_plan",
]
