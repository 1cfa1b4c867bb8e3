"""The districting problem and its arithmetic: which unit counts fit, and the nearest bounds that do.

A total of T households can be cut into k units within [lower, upper] only if
k·lower ≤ T ≤ k·upper.  This is necessary, not sufficient (blocks come in lumps and units must
be contiguous), which is why the solver still has the last word; but when no k passes it, no plan
exists and the planner deserves to hear so, with numbers, before anything is solved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import InputError

DEFAULT_MIN_HOUSEHOLDS = 2500
DEFAULT_MAX_HOUSEHOLDS = 3000


def check_bounds(lower: int, upper: int) -> None:
    """Bounds must be positive whole numbers with ``lower ≤ upper``."""
    if lower < 0 or upper <= 0:
        raise InputError(f"Household bounds must be positive; got min {lower:,}, max {upper:,}.")
    if lower > upper:
        raise InputError(f"The minimum ({lower:,}) is above the maximum ({upper:,}) households per unit; swap them.")


def feasible_unit_counts(total: int, lower: int, upper: int) -> list[int]:
    """Every k with ``k·lower ≤ total ≤ k·upper`` (empty when none fits)."""
    check_bounds(lower, upper)
    if total <= 0:
        return []
    k_min = max(1, math.ceil(total / upper))
    k_max = total // lower if lower > 0 else k_min
    return list(range(k_min, k_max + 1))


@dataclass(frozen=True)
class UnitCountOption:
    """What k units of a given total would look like, and the bounds that would admit them."""

    k: int
    average: float
    fits: bool
    #: the smallest change of bounds that lets k units work (only one side moves)
    min_needed: int
    max_needed: int

    def to_dict(self) -> dict:
        return {"k": self.k, "average": round(self.average, 1), "fits": self.fits, "min": self.min_needed, "max": self.max_needed}


def unit_count_options(total: int, lower: int, upper: int) -> list[UnitCountOption]:
    """The k that fit, or, when none does, the two k on either side of the gap with the bounds they need."""
    check_bounds(lower, upper)
    fitting = feasible_unit_counts(total, lower, upper)
    if fitting:
        return [UnitCountOption(k, total / k, True, lower, upper) for k in fitting]
    if total <= 0:
        return []
    options = []
    k_over = total // upper  # fewer units: each above the maximum
    if k_over >= 1:
        options.append(UnitCountOption(k_over, total / k_over, False, lower, math.ceil(total / k_over)))
    k_under = k_over + 1  # more units: each below the minimum
    options.append(UnitCountOption(k_under, total / k_under, False, min(lower, total // k_under), upper))
    return options


def explain_bounds(total: int, lower: int, upper: int, *, name: str | None = None) -> str:
    """One or two sentences on whether ``total`` households can form units within the bounds."""
    subject = f"{name} ({total:,} households)" if name else f"{total:,} households"
    options = unit_count_options(total, lower, upper)
    if total <= 0:
        return f"{subject}: no households to divide."
    if options and options[0].fits:
        ks = ", ".join(str(o.k) for o in options)
        return f"{subject} can form {ks} unit(s) of {lower:,}–{upper:,} by count (arithmetic check; contiguity is decided by the solver)."
    parts = []
    for o in options:
        avg = math.ceil(o.average) if o.average > upper else math.floor(o.average)
        parts.append(f"{o.k} unit{'s' if o.k > 1 else ''} would average {avg:,}")
    fixes = " or ".join(f"{o.min_needed:,}–{o.max_needed:,} ({o.k} unit{'s' if o.k > 1 else ''})" for o in options)
    return (
        f"{subject} cannot form units of {lower:,}–{upper:,}: {', '.join(parts)}. "
        f"Nearest bounds that work: {fixes}; or re-plan it jointly with neighbouring communities."
    )
