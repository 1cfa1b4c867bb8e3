"""The options every door shares: one table of defaults, and the checks on their values.

The command line, :class:`~redistrict.scenario.Scenario` (and so TOML files and notebooks) and
the Python API take their defaults from here, so the same options give the same plan through
each, and they check option values here, before any data is loaded: a wrong value is an
:class:`~redistrict.errors.InputError` that names the option, the value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .errors import InputError

# --- defaults ---------------------------------------------------------------------------------

#: households per unit, by the national guidance
MIN_HOUSEHOLDS = 2500
MAX_HOUSEHOLDS = 3000
#: floor area (m²) an office site needs to count
MIN_OFFICE_AREA = 300.0
#: seconds a solve may take (None: no limit)
TIME_LIMIT = 300.0
#: objective weights: compactness, boundary length, households moved out of their community
#: (see :func:`stability_weight`), distance to the office
W_COMPACTNESS = 1.0
W_BOUNDARY = 0.0
W_DISTANCE = 0.0
#: the stability weight when communities are re-planned together
W_STABILITY_JOINT = 1.0
SOLVER = "highs"
METHOD = "auto"
#: building the graph: blocks within SNAP metres across a road are neighbours when they face
#: each other along at least MIN_FRONTAGE metres
ADJACENCY = "rook"
SNAP = 25.0
MIN_FRONTAGE = 30.0
INPUT_COORDS = "wgs84"
LANG = "zh"
BASEMAP = "none"
#: above this many units the map's and the print map's legends, the unit labels and the report's
#: households chart summarise (counts within and outside the bounds, a histogram) instead of
#: showing every unit: a whole city's thousands of entries would cover the map and run off the page
MANY_UNITS = 60

def stability_weight(subdistrict: str | None, communities) -> float:
    """The default weight of households moved out of their current community: 1 when current
    communities are re-planned together (a subdistrict, or two or more named communities: what
    ``plan`` does), 0 when the whole layer is split afresh; with one community the term is zero
    for every plan anyway.  The same rule for the CLI, Scenario/TOML and ``Problem.from_layer``."""
    return W_STABILITY_JOINT if subdistrict or len(tuple(communities or ())) > 1 else 0.0


SOLVERS = ("highs", "cbc")
METHODS = ("auto", "exact", "heuristic")
ADJACENCIES = ("rook", "queen")
INPUT_COORDS_CHOICES = ("wgs84", "gcj02")
LANGS = ("zh", "en")
BASEMAPS = ("none", "osm", "amap", "tianditu")


# --- checks -------------------------------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_number(name: str, value, *, minimum: float = 0.0, inclusive: bool = True, optional: bool = False) -> None:
    """A finite number at or above ``minimum`` (above it when not ``inclusive``)."""
    if value is None and optional:
        return
    ok = _is_number(value) and math.isfinite(value) and (value >= minimum if inclusive else value > minimum)
    if not ok:
        relation = "≥" if inclusive else ">"
        raise InputError(f"{name} must be a finite number {relation} {minimum:g}, got {value!r}.")


def check_whole(name: str, value, *, minimum: int = 1, optional: bool = False) -> None:
    """A whole number at or above ``minimum`` (5.5 households or 0 threads are errors)."""
    if value is None and optional:
        return
    ok = _is_number(value) and math.isfinite(value) and float(value).is_integer() and value >= minimum
    if not ok:
        raise InputError(f"{name} must be a whole number ≥ {minimum}, got {value!r}.")


def check_choice(name: str, value, choices: Iterable[str]) -> None:
    """One of the listed words."""
    choices = tuple(choices)
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}, got {value!r}.")


def check_flag(name: str, value) -> None:
    """A real boolean (TOML's ``"false"`` is text, not false)."""
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false (without quotes), got {value!r}.")


def check_text(name: str, value, *, optional: bool = True) -> None:
    """Non-empty text (an empty name would silently select everything or nothing)."""
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name} must be a non-empty name, got {value!r}.")


def check_household_bounds(lower, upper) -> None:
    """Bounds a planner can mean: whole numbers, at least 1 household, ``lower ≤ upper``."""
    check_whole("--min (households per unit)", lower, minimum=1)
    check_whole("--max (households per unit)", upper, minimum=1)
    if lower > upper:
        raise InputError(f"The minimum ({lower:,}) is above the maximum ({upper:,}) households per unit; swap them.")


def no_limit(time_limit):
    """``inf`` as a time limit means no limit (None); anything else is left for the checks."""
    return None if isinstance(time_limit, float) and time_limit == math.inf else time_limit


def check_solve_options(*, time_limit, gap, threads, workers, solver: str, method: str, relax: bool = False, relax_tolerance=None) -> None:
    """The values that say how to solve."""
    check_number("--time-limit (seconds)", time_limit, minimum=0.0, inclusive=False, optional=True)
    if gap is not None:
        check_number("--gap (relative MIP gap)", gap, minimum=0.0)
        if gap >= 1:
            raise InputError(f"--gap (relative MIP gap) must be below 1 (e.g. 0.01 for 1 %), got {gap!r}.")
    check_whole("--threads", threads, minimum=1, optional=True)
    check_whole("--workers", workers, minimum=1, optional=True)
    check_choice("--solver", solver, SOLVERS)
    check_choice("--method", method, METHODS)
    check_whole("--relax-tolerance (households)", relax_tolerance, minimum=0, optional=True)
    if relax and method == "heuristic":
        raise InputError("--relax needs the exact engine (it proves the smallest violation); use --method auto or exact with --relax.")


def check_graph_options(*, snap, min_frontage, adjacency: str) -> None:
    """The values that say how blocks become neighbours."""
    check_number("--snap (metres)", snap, minimum=0.0)
    check_number("--min-frontage (metres)", min_frontage, minimum=0.0)
    check_choice("--adjacency", adjacency, ADJACENCIES)
