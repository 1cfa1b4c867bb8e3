"""Solver backends (HiGHS via highspy, CBC via PuLP) and the exact cut loop behind ``solve_model``.

Neither backend offers a usable lazy-constraint callback from Python (HiGHS 1.16 names one, but
its Python data has no way to add rows), so exact contiguity by cuts is a loop: solve, check
every unit of the final plan (and, with HiGHS, of every plan found during the run) for
connectivity, add the violated separator cuts, solve again with the best contiguous plan as the
start.  Every round solves a relaxation of the true problem, so its dual bound is valid; the
loop stops as soon as the best contiguous plan seen meets the best bound, or a limit is hit.
When a round ends with a disconnected plan and no better contiguous one is known, a small exact
repair MIP (:mod:`redistrict.model.repair`) tries to mend it, so time-limited runs still tend
to return a plan.  Nothing here prints.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from redistrict.errors import InputError, SolverError, VerificationError
from redistrict.model import interrupt
from redistrict.model._built import BuiltModel
from redistrict.model._graph import Adjacency, components
from redistrict.model._milp import Milp, RowBlock
from redistrict.model.contiguity import (
    Cut,
    add_flow,
    add_label_flow,
    cut_rows,
    ring_cuts,
    seed_cuts,
    separate,
)
from redistrict.model.data import ModelInput, ModelSolution, Status, implied_bounds
from redistrict.model.fixing import Ordering, hess_fixing, vertex_ordering
from redistrict.model.hess import assignment_costs, build_hess
from redistrict.model.labeling import build_labeling
from redistrict.model.repair import fix_outside, free_region, plan_roots, repair_model
from redistrict.model.start import heuristic_start, worth_a_start
from redistrict.options import SOLVERS

FORMULATIONS = ("auto", "cuts", "flow", "none", "labeling_cuts", "labeling_flow", "labeling_hybrid")
LABELING = ("labeling_cuts", "labeling_flow", "labeling_hybrid")
AUTO_SYMMETRIC = "labeling_cuts"  # fastest on the county benchmarks (bench/RESULTS.md)
REL_TOL = 1e-4  # HiGHS's default relative gap: within it a plan is reported optimal
ABS_TOL = 1e-6

REPAIR_SHARE, REPAIR_MIN = 0.1, 1.0  # repair budget: 10% of the time used so far, plus 1 s
REPAIR_RESERVE = 0.05  # share of a time limit kept for repairing the last plan if none is contiguous

Progress = Callable[[dict[str, Any]], None]
Repairer = Callable[[np.ndarray, float], list[np.ndarray]]
RoundKind = Literal["optimal", "infeasible", "limit", "interrupted", "error"]


# --------------------------------------------------------------------------- backends


@dataclass
class RoundResult:
    """What one solver run returned: its outcome, final solution, dual bound and every plan seen."""

    kind: RoundKind
    values: np.ndarray | None
    objective: float | None
    bound: float | None
    pool: list[np.ndarray] = field(default_factory=list)
    detail: str = ""


class HighsRunner:
    """One highspy model kept across rounds; cuts are appended with a single ``addRows`` call."""

    name = "highs"

    #: options for tiny models solved by the hundred (LNS neighbourhoods): on a few dozen nodes
    #: presolve and symmetry detection cost more than they save (26 ms against 81 ms a solve)
    SMALL_OPTIONS = {"presolve": "off", "mip_detect_symmetry": False}

    def __init__(self, milp: Milp, *, threads: int | None, mip_gap: float | None, small: bool = False, presolve: bool = True) -> None:
        import highspy

        self._hs = highspy
        h = _quiet_highs(highspy)
        h.setOptionValue("random_seed", 0)
        self.threads = threads
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        if mip_gap is not None:
            h.setOptionValue("mip_rel_gap", float(mip_gap))
        for option, value in (self.SMALL_OPTIONS.items() if small else ()):
            h.setOptionValue(option, value)
        if not presolve:
            h.setOptionValue("presolve", "off")
        lower, upper, cost, integer = milp.columns()
        a = milp.matrix()
        status = h.passModel(
            milp.num_cols, a.num_rows, len(a.indices), 2, 1, float(milp.offset),
            cost, lower, upper, a.lower, a.upper,
            a.indptr[:-1].astype(np.int32), a.indices.astype(np.int32), a.values,
            integer.astype(np.int32),
        )
        if status != highspy.HighsStatus.kOk:
            raise SolverError(f"HiGHS rejected the model ({status.name}); this is a bug in redistrict.model")
        self.h = h
        self.version = h.version()
        self._lower = lower
        self._upper = upper
        self._pushed: np.ndarray | None = None
        self._pool: list[np.ndarray] = []
        self._listener: Callable[[str, Any], None] | None = None
        h.cbMipSolution += self._on_solution
        h.cbMipInterrupt += self._on_interrupt  # Ctrl-C (interrupt.requested) and live progress
        h.cbSimplexInterrupt += self._on_lp_interrupt

    def _on_solution(self, event: Any) -> None:
        """Keep every plan HiGHS finds during a run: each is checked for contiguity afterwards."""
        values = np.array(event.data_out.mip_solution, dtype=np.float64)
        self._pool.append(values)
        if self._listener is not None:
            self._listener("solution", values)

    def listen(self, listener: Callable[[str, Any], None]) -> None:
        """Report during a run: ``("solution", values)`` for each plan found and, from HiGHS's
        periodic interrupt check, ``("bound", dual_bound)`` — for a live progress display."""
        self._listener = listener

    def _on_interrupt(self, event: Any) -> None:
        if interrupt.requested():
            event.data_in.user_interrupt = True
        elif self._listener is not None:
            self._listener("bound", float(event.data_out.mip_dual_bound))

    def _on_lp_interrupt(self, event: Any) -> None:
        if interrupt.requested():
            event.data_in.user_interrupt = True

    def add_rows(self, block: RowBlock) -> None:
        """Append rows to the live model."""
        if block.num_rows:
            status = self.h.addRows(
                block.num_rows, block.lower, block.upper, len(block.indices),
                block.indptr[:-1].astype(np.int32), block.indices.astype(np.int32), block.values,
            )
            if status != self._hs.HighsStatus.kOk:
                raise SolverError(f"HiGHS rejected {block.num_rows} cut rows ({status.name})")

    def set_start(self, cols: np.ndarray, values: np.ndarray) -> None:
        """Offer a (feasible) starting plan for the next run."""
        self.h.setSolution(len(cols), cols.astype(np.int32), values.astype(np.float64))

    def push_lower(self, cols: np.ndarray, value: float) -> None:
        """Temporarily raise some lower bounds (a repair neighbourhood); undone by ``pop_lower``."""
        cols = np.asarray(cols, dtype=np.int32)
        self._pushed = cols
        lo = np.maximum(self._lower[cols], value)
        self.h.changeColsBounds(len(cols), cols, lo, self._upper[cols])

    def pop_lower(self) -> None:
        """Restore the bounds changed by ``push_lower``."""
        if self._pushed is not None:
            c = self._pushed
            self.h.changeColsBounds(len(c), c, self._lower[c], self._upper[c])
            self._pushed = None

    def solve(self, time_limit: float | None) -> RoundResult:
        """Run to optimality or the time limit."""
        h = self.h
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else float("inf"))
        self._pool = []
        _use_threads(self._hs, self.threads)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        has_sol = info.primal_solution_status == 2
        values = np.array(h.getSolution().col_value) if has_sol else None
        objective = float(info.objective_function_value) if has_sol else None
        bound = float(info.mip_dual_bound)
        bound = bound if math.isfinite(bound) else None
        kind = highs_round_kind(status.name)
        return RoundResult(kind, values, objective, bound, list(self._pool), h.modelStatusToString(status))


def _quiet_highs(highspy: Any) -> Any:
    """A ``highspy.Highs`` that prints nothing, not even the banner.

    ``Highs()`` enables its callbacks while logging is still on, which prints the HiGHS banner to
    the process's stdout (corrupting a CLI's JSON output); this repeats its constructor with
    logging switched off first, and falls back to the plain constructor if highspy changes.
    """
    try:
        h = highspy.Highs.__new__(highspy.Highs)
        highspy._core._Highs.__init__(h)
        h.setOptionValue("output_flag", False)
        kinds = range(int(highspy.cb.HighsCallbackType.kCallbackMax) + 1)
        h.callbacks = [highspy.highs.HighsCallback(highspy.cb.HighsCallbackType(i), h) for i in kinds]
        h.enableCallbacks()
    except (AttributeError, TypeError):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    return h


def _cbc_command(**options: Any) -> Any:
    """A PuLP CBC command on the CBC binary bundled with PuLP (without the deprecation warning)."""
    import pulp
    from pulp.apis import coin_api

    path = getattr(coin_api, "pulp_cbc_path", None)
    if path and os.path.exists(path):
        return pulp.COIN_CMD(path=path, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(**options)


class CbcRunner:
    """CBC through PuLP: the problem object is kept and grown; each round is a fresh CBC run."""

    name = "cbc"

    def __init__(self, milp: Milp, *, threads: int | None, mip_gap: float | None, small: bool = False) -> None:
        import pulp

        self._pulp = pulp
        self.threads = threads
        self.mip_gap = mip_gap
        lower, upper, cost, integer = milp.columns()
        self.prob = pulp.LpProblem("redistrict", pulp.LpMinimize)
        self.vars = [
            self.prob.add_variable(
                f"v{i}",
                lowBound=None if not math.isfinite(lo) else lo,
                upBound=None if not math.isfinite(up) else up,
                cat="Integer" if it else "Continuous",
            )
            for i, (lo, up, it) in enumerate(zip(lower.tolist(), upper.tolist(), integer.tolist(), strict=True))
        ]
        nz = np.flatnonzero(cost)
        self.prob.setObjective(
            pulp.LpAffineExpression([(self.vars[i], float(cost[i])) for i in nz], constant=float(milp.offset))
        )
        self.offset = float(milp.offset)
        self._rows = 0
        self.add_rows(milp.matrix())
        self._start: tuple[np.ndarray, np.ndarray] | None = None
        self._pushed: list[tuple[int, float | None]] = []
        self.version = "bundled with PuLP " + pulp.__version__

    def add_rows(self, block: RowBlock) -> None:
        """Append rows as PuLP constraints."""
        pulp = self._pulp
        ind, val, ptr = block.indices.tolist(), block.values.tolist(), block.indptr.tolist()
        for r in range(block.num_rows):
            expr = pulp.LpAffineExpression([(self.vars[ind[t]], val[t]) for t in range(ptr[r], ptr[r + 1])])
            lo, up = float(block.lower[r]), float(block.upper[r])
            name = f"r{self._rows}"
            self._rows += 1
            if lo == up:
                self.prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintEQ, name, up))
                continue
            if math.isfinite(up):
                self.prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintLE, name, up))
            if math.isfinite(lo):
                self.prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintGE, name + "g", lo))

    def set_start(self, cols: np.ndarray, values: np.ndarray) -> None:
        """Remember a (feasible) start; passed to CBC as a MIP start on the next run."""
        self._start = (cols, values)

    def push_lower(self, cols: np.ndarray, value: float) -> None:
        """Temporarily raise some lower bounds (a repair neighbourhood); undone by ``pop_lower``."""
        self._pushed = [(int(c), self.vars[int(c)].lowBound) for c in cols]
        for c, lo in self._pushed:
            self.vars[c].lowBound = value if lo is None else max(lo, value)

    def pop_lower(self) -> None:
        """Restore the bounds changed by ``push_lower``."""
        for c, lo in self._pushed:
            self.vars[c].lowBound = lo
        self._pushed = []

    def solve(self, time_limit: float | None) -> RoundResult:
        """One CBC run; maps PuLP's status plus sol_status to the round outcome."""
        pulp = self._pulp
        for v in self.vars:
            v.varValue = None
        if self._start is not None:
            for c, x in zip(self._start[0].tolist(), self._start[1].tolist(), strict=True):
                self.vars[c].varValue = x
        fd, log_path = tempfile.mkstemp(suffix=".log", prefix="redistrict-cbc-")
        os.close(fd)
        try:
            cmd = _cbc_command(
                msg=False,
                timeLimit=None if time_limit is None else max(float(time_limit), 0.01),
                gapRel=self.mip_gap,
                threads=self.threads,
                warmStart=self._start is not None,
                logPath=log_path,
            )
            self.prob.solve(cmd)
            with open(log_path, errors="replace") as fh:
                log = fh.read()
        finally:
            os.unlink(log_path)
        status, sol_status = self.prob.status, self.prob.sol_status
        values = None
        if sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            values = np.array([v.varValue if v.varValue is not None else 0.0 for v in self.vars])
        objective = None if values is None else float(pulp.value(self.prob.objective))
        found = re.search(r"Version:\s*(\S+)", log)
        if found:
            self.version = f"{found.group(1)} (bundled with PuLP {pulp.__version__})"
        bound = _cbc_bound(log)
        if bound is not None:
            bound += self.offset  # PuLP's MPS file drops the objective constant, so CBC's log does too
        kind = cbc_round_kind(status, sol_status)
        if kind == "optimal" and objective is not None:
            # proved within CBC's gap: exact by default, else the gap itself bounds the optimum
            if not self.mip_gap:
                bound = objective
            else:
                gap_bound = objective - self.mip_gap * abs(objective)
                bound = gap_bound if bound is None else max(bound, gap_bound)
        detail = f"{pulp.LpStatus.get(status, status)}/{pulp.LpSolution.get(sol_status, sol_status)}"
        return RoundResult(kind, values, objective, bound, [], detail)


def highs_round_kind(status_name: str) -> RoundKind:
    """Map a HiGHS model status name (``HighsModelStatus.<name>``) to a round outcome."""
    if status_name == "kOptimal":
        return "optimal"
    if status_name == "kInfeasible":
        return "infeasible"
    if status_name == "kInterrupt":
        return "interrupted"
    if status_name in ("kTimeLimit", "kIterationLimit", "kSolutionLimit", "kObjectiveBound",
                       "kObjectiveTarget", "kMemoryLimit", "kUnknown"):
        return "limit"
    return "error"  # kNotset, kLoadError, kModelError, kSolveError, kUnbounded..., kModelEmpty


def cbc_round_kind(status: int, sol_status: int) -> RoundKind:
    """Map PuLP's (status, sol_status) after a CBC run to a round outcome.

    PuLP reports status 1 ("Optimal") both for a proved optimum (sol_status 1) and for a run
    stopped at a time or gap limit with an integer-feasible plan (sol_status 2); only the first
    is optimal.  Status 0 ("Not Solved") is a limit without a plan; -1 is proved infeasible.
    """
    if status == 1 and sol_status == 1:
        return "optimal"
    if status == -1:
        return "infeasible"
    if status in (0, 1):
        return "limit"
    return "error"  # -2 unbounded, -3 undefined


def _cbc_bound(log: str) -> float | None:
    """The best bound CBC printed ("Lower bound:" / "best possible"), if any."""
    found = re.findall(r"Lower bound:\s*(-?[0-9.eE+-]+)", log) or re.findall(r"best possible (-?[0-9.eE+-]+)", log)
    if not found:
        return None
    try:
        return float(found[-1])
    except ValueError:
        return None


#: the thread count HiGHS's process-wide scheduler was last rebuilt for (it mirrors HiGHS's own
#: process state, which is global by HiGHS's design; None: never rebuilt by us)
_SCHEDULER_THREADS: list[int | None] = [None]


def _use_threads(hs, threads: int | None) -> None:
    """HiGHS keeps one thread pool per process and will not run with another thread count;
    rebuild it only when ``threads`` differs from the count it was built for, so a solve never
    resets the pool under other solves that share it."""
    if threads is None or _SCHEDULER_THREADS[0] == threads:
        return
    hs.Highs.resetGlobalScheduler(True)
    _SCHEDULER_THREADS[0] = threads


def make_runner(
    solver: str, milp: Milp, *, threads: int | None, mip_gap: float | None, small: bool = False, presolve: bool = True
) -> HighsRunner | CbcRunner:
    """The backend registered under ``solver`` (``small``: tuned for tiny models; ``presolve=False``:
    HiGHS without presolve, see :func:`presolve_keeps_time`)."""
    if solver == "highs":
        return HighsRunner(milp, threads=threads, mip_gap=mip_gap, small=small, presolve=presolve)
    if solver == "cbc":
        return CbcRunner(milp, threads=threads, mip_gap=mip_gap)
    raise InputError(f"'solver' should be one of {SOLVERS}, got {solver!r}")


def presolve_keeps_time(model: BuiltModel) -> bool:
    """Whether HiGHS may presolve ``model`` and still stop at its time limit.

    Not for the Hess model with a cut-edge term: presolve makes its edge columns (w ≤ x) implied
    binaries, and the MIP setup then partitions every binary of the objective into cliques without
    looking at the clock (``HighsObjectiveFunction::setupCliquePartition``, HiGHS 1.16).  Measured on
    random layers with a 1–2 s limit: 91 blocks, every block a candidate centre, 9.1 s; 150 blocks,
    72 s; 600 blocks and 40 centres, 10 s limit, 66 s.  Without presolve the same runs stop at
    their limit and find better plans (91 blocks, 20 s: a plan with a 3 % gap instead of none).
    """
    return not (model.base == "hess" and model.w_col is not None)


# --------------------------------------------------------------------------- the loop


@dataclass
class LoopResult:
    """Outcome of the cut loop on one built model."""

    status: Status
    unit_of: np.ndarray | None
    objective: float | None
    bound: float | None
    rounds: int
    cuts: int
    solver_version: str


def plan_objective(data: ModelInput, centre_of: np.ndarray) -> float:
    """The objective of a plan, recomputed from the input (never read from the solver)."""
    total = 0.0
    if data.assign_cost is not None:
        total += float(assignment_costs(data, np.arange(data.n), centre_of).sum())
    if data.cut_weight > 0 and data.m:
        total += data.cut_weight * plan_boundary(data, centre_of)[0]
    return total


def plan_boundary(data: ModelInput, centre_of: np.ndarray) -> tuple[float, int]:
    """The plan's boundary: the summed ``edge_cost`` of its cut edges, and how many there are."""
    cut = centre_of[data.edges[:, 0]] != centre_of[data.edges[:, 1]]
    return float(data.edge_cost[cut].sum()), int(cut.sum())


def plan_violation(data: ModelInput, centre_of: np.ndarray) -> int:
    """Largest amount by which a unit's weight leaves [lower, upper]."""
    _, inv = np.unique(centre_of, return_inverse=True)
    totals = np.bincount(inv, weights=data.weights)
    return int(max(0.0, float((data.lower - totals).max()), float((totals - data.upper).max())))


def _integral_objective(data: ModelInput, elastic: bool) -> bool:
    """True when every plan's objective is an integer, so bounds may be rounded up."""
    if elastic:
        return True
    if data.assign_cost is not None and (callable(data.assign_cost) or not np.all(np.mod(data.assign_cost, 1) == 0)):
        return False
    if data.cut_weight > 0:
        return bool(np.all(np.mod(data.cut_weight * data.edge_cost, 1) == 0))
    return True


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """(objective − bound) / |objective|, at least 0; None without both numbers."""
    if objective is None or bound is None:
        return None
    return max(0.0, objective - bound) / max(abs(objective), 1e-9) if objective != bound else 0.0


def _closed(best: float, bound: float | None, integral: bool) -> bool:
    """True when the best plan is proved optimal to within the default tolerance."""
    if bound is None:
        return False
    if integral:
        bound = math.ceil(bound - 1e-6)
    return best - bound <= max(ABS_TOL, REL_TOL * abs(best))


class CutLoop:
    """Solve, check contiguity, add cuts, repeat (see the module docstring).

    Keeps the best contiguous plan seen (from any solver run, including repairs) and the best
    valid bound; every cut found anywhere is valid for the true problem and stays in the model.
    """

    def __init__(
        self,
        model: BuiltModel,
        runner: HighsRunner | CbcRunner,
        *,
        adj: Adjacency,
        weights: np.ndarray,
        sep_upper: float,
        separation: bool,
        objective_of: Callable[[np.ndarray], float],
        integral: bool,
        deadline: float | None,
        mip_gap: float | None,
        progress: Progress | None,
        phase: str,
        t0: float,
        repairer: Repairer | None = None,
        reserve: float = 0.0,
    ) -> None:
        self.model, self.runner, self.adj, self.weights = model, runner, adj, weights
        self.sep_upper, self.separation, self.objective_of = sep_upper, separation, objective_of
        self.integral, self.deadline, self.mip_gap = integral, deadline, mip_gap
        self.progress, self.phase, self.t0 = progress, phase, t0
        self.repairer = repairer if separation else None
        self.reserve = reserve
        self.best_obj: float | None = None
        self.best_plan: np.ndarray | None = None
        self.bound: float | None = None
        self.seen: set[Cut] = set()
        self.pending: list[Cut] = []
        self.cuts_total = 0
        self.rounds = 0
        self._last_report = 0.0
        if progress is not None and hasattr(runner, "listen"):
            runner.listen(self._live)

    def _live(self, kind: str, payload: Any) -> None:
        """Progress within a long round: check each new plan at once, report about once a second.

        Runs inside the solver's callback, so it must never raise; the plans it checks are the
        ones the loop re-checks after the round, so the outcome does not depend on it.
        """
        try:
            if kind == "solution":
                unit_of = self.model.decode(payload)
                if unit_of is not None:
                    self.offer(unit_of)
                return
            now = time.perf_counter()
            if now - self._last_report < 1.0:
                return
            self._last_report = now
            bound = payload if math.isfinite(payload) else None
            if self.bound is not None and (bound is None or bound < self.bound):
                bound = self.bound
            self.progress({
                "phase": self.phase, "round": self.rounds, "elapsed": now - self.t0,
                "incumbent": self.best_obj, "bound": bound, "cuts_added": len(self.pending),
                "solver_status": "running",
            })
        except Exception:  # noqa: BLE001 - a display must not break a solve
            return

    # -- bookkeeping
    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no limit)."""
        return None if self.deadline is None else max(self.deadline - time.perf_counter(), 0.0)

    def offer(self, unit_of: np.ndarray) -> bool:
        """Check a plan; keep it if contiguous and best, else queue its new cuts. True if contiguous."""
        cuts = separate(self.adj, self.weights, self.model, unit_of, self.sep_upper) if self.separation else []
        if not cuts:
            obj = self.objective_of(unit_of)
            if self.best_obj is None or obj < self.best_obj - 1e-9:
                self.best_obj, self.best_plan = obj, unit_of.copy()
            return True
        for c in cuts:
            if c not in self.seen:
                self.seen.add(c)
                self.pending.append(c)
        return False

    def flush(self) -> int:
        """Add the queued cuts to the solver; returns how many."""
        new = self.pending
        self.pending = []
        if new:
            self.runner.add_rows(cut_rows(self.model, new))
            self.cuts_total += len(new)
        return len(new)

    def take_bound(self, bound: float | None) -> None:
        """Record a valid lower bound (rounded up when the objective is integral)."""
        if bound is not None:
            b = math.ceil(bound - 1e-6) if self.integral else bound
            self.bound = b if self.bound is None else max(self.bound, b)

    def closed(self) -> bool:
        """True when the best contiguous plan is proved optimal."""
        return self.best_obj is not None and _closed(self.best_obj, self.bound, self.integral)

    def result(self, status: Status) -> LoopResult:
        """Package the current state."""
        if status == "infeasible":
            return LoopResult(status, None, None, None, self.rounds, self.cuts_total, self.runner.version)
        return LoopResult(status, self.best_plan, self.best_obj, self.bound, self.rounds, self.cuts_total,
                          self.runner.version)

    def start_from(self, plan: np.ndarray | None) -> None:
        """Offer the solver the best contiguous plan (or ``plan``) as its starting incumbent."""
        if plan is not None:
            unit_of = self.model.canonical(plan)
            try:
                vec = self.model.start_vector(unit_of)
            except ValueError:
                return  # the plan uses a pair that fixing removed: it is not feasible here
            self.offer(unit_of)
        if self.best_plan is not None:
            self.runner.set_start(*self.model.start_vector(self.best_plan))
        elif plan is not None:
            self.runner.set_start(*vec)

    # -- repair heuristic
    def repair(self, plan: np.ndarray, budget: float) -> None:
        """Offer the plans a repairer makes from the disconnected ``plan`` within ``budget`` s."""
        if self.repairer is None:
            return
        if self.deadline is not None:
            budget = min(budget, self.deadline - time.perf_counter())
        if budget <= 0.05:
            return
        for unit_of in self.repairer(plan, budget):
            self.offer(self.model.canonical(unit_of))

    @staticmethod
    def _plans(res: RoundResult) -> list[np.ndarray]:
        plans = list(res.pool)
        if res.values is not None:
            plans.append(res.values)
        return plans

    # -- main loop
    def run(self) -> LoopResult:
        """The loop; returns when proved, infeasible or out of time."""
        while True:
            self.rounds += 1
            left = self.remaining()
            if left is not None and self.best_plan is None and self.repairer is not None:
                left -= min(self.reserve, 0.5 * left)  # keep time to repair a disconnected last plan
            res = self.runner.solve(left)
            if interrupt.requested():
                raise KeyboardInterrupt  # the user pressed Ctrl-C: no plan from a stopped search
            self.take_bound(res.bound)
            final_plan = None
            final_contiguous = False
            for values in self._plans(res):
                unit_of = self.model.decode(values)
                if unit_of is None:
                    continue
                ok = self.offer(unit_of)
                if values is res.values:
                    final_plan, final_contiguous = unit_of, ok
            new = len(self.pending)
            self.flush()
            if (
                self.repairer is not None and final_plan is not None and not final_contiguous
                and (self.best_obj is None or res.objective is None or self.best_obj > res.objective + 1e-9)
                and not self.closed()
            ):
                self.repair(final_plan, REPAIR_SHARE * (time.perf_counter() - self.t0) + REPAIR_MIN)
            if self.progress is not None:
                self.progress({
                    "phase": self.phase, "round": self.rounds, "elapsed": time.perf_counter() - self.t0,
                    "incumbent": self.best_obj, "bound": self.bound, "cuts_added": new,
                    "solver_status": res.detail,
                })
            if res.kind == "infeasible" and self.best_obj is None:
                return self.result("infeasible")
            if self.closed():
                return self.result("optimal")
            if res.kind == "optimal" and final_contiguous:
                # the solver proved this plan optimal within its gap: the default gap counts as
                # optimal, a looser gap asked for by the user does not
                tight = self.mip_gap is None or self.mip_gap <= REL_TOL
                return self.result("optimal" if tight else "feasible")
            if res.kind == "error" and self.best_plan is None:
                raise SolverError(f"{self.runner.name} stopped with '{res.detail}' and no plan")
            out_of_time = self.deadline is not None and time.perf_counter() >= self.deadline
            if res.kind in ("limit", "error") or out_of_time or not new:
                return self.result("feasible" if self.best_plan is not None else "no_solution")
            if self.mip_gap is not None and self.best_obj is not None and self.bound is not None:
                if self.best_obj - self.bound <= self.mip_gap * abs(self.best_obj):
                    return self.result("feasible")
            if self.best_plan is not None:
                self.runner.set_start(*self.model.start_vector(self.best_plan))


# --------------------------------------------------------------------------- public entry


def _build(
    data: ModelInput,
    adj: Adjacency,
    formulation: str,
    *,
    lower: float,
    upper: float,
    elastic: bool,
    fixing: bool = True,
) -> tuple[BuiltModel, Ordering | None]:
    """Order, fix and build the model for one phase (``fixing=False``: keep every pair).

    In the elastic phase the bounds may be violated, so fixing that relies on them is off.
    """
    contiguous = formulation != "none"
    fix_lo, fix_up = (-math.inf, math.inf) if elastic else (lower, upper)
    ordering = (
        vertex_ordering(adj, data.weights, data.k, fix_lo, fix_up, contiguous=contiguous)
        if data.symmetric else None
    )
    if formulation in LABELING:
        assert ordering is not None
        model = build_labeling(
            data, adj, lower=lower, upper=upper, ordering=ordering, elastic=elastic, fixing=fixing,
            fix_upper=fix_up,
        )
        model.milp.add_rows(seed_cuts(adj, model))
        if formulation != "labeling_flow":
            model.milp.add_rows(ring_cuts(adj, model))
        if formulation != "labeling_cuts":
            add_label_flow(model, adj, data.weights, fix_up, rooted_only=formulation == "labeling_hybrid")
        return model, ordering
    if fixing:
        kept = hess_fixing(
            adj, data.weights, data.candidates, fix_lo, fix_up, ordering, data.k, contiguous=contiguous
        )
    else:
        kept = hess_fixing(adj, data.weights, data.candidates, -math.inf, math.inf, None, data.k)
        ordering = None
    model = build_hess(data, adj, lower=lower, upper=upper, ordering=ordering, elastic=elastic, fixing=kept)
    if formulation == "cuts":
        model.milp.add_rows(seed_cuts(adj, model))
    elif formulation == "flow":
        add_flow(model, adj, data.weights, upper)
    return model, ordering


def make_repairer(
    data: ModelInput, adj: Adjacency, model: BuiltModel, *, solver: str, threads: int | None,
    lower: float, upper: float,
) -> Repairer:
    """A repairer: rooted flow MIP on the stray parts of a plan and one layer around them and
    the unit borders, everything else fixed (see :mod:`redistrict.model.repair`)."""

    def repairer(plan: np.ndarray, budget: float) -> list[np.ndarray]:
        roots = plan_roots(adj, model, plan, data.weights)
        rm = repair_model(data, adj, roots, lower, upper)
        free = free_region(adj, plan, roots, radius=1, border=1)
        cols, _ = fix_outside(rm, plan, roots, free)
        runner = make_runner(solver, rm.milp, threads=threads, mip_gap=None, presolve=presolve_keeps_time(rm))
        runner.push_lower(cols[cols >= 0], 1.0)
        res = runner.solve(budget)
        plans = [rm.decode(v) for v in CutLoop._plans(res)]
        return [p for p in plans if p is not None]

    return repairer


def _centres(model: BuiltModel, unit_of: np.ndarray) -> np.ndarray:
    """Centre node of every node's unit (labeling: the unit's first node in the ordering)."""
    if model.base == "hess":
        return unit_of.copy()
    pos = model.order_position
    centre_of = np.empty_like(unit_of)
    for u in np.unique(unit_of).tolist():
        members = np.flatnonzero(unit_of == u)
        first = members[np.argmin(pos[members])] if pos is not None else members.min()
        centre_of[members] = first
    return centre_of


def _quick_infeasible(model: BuiltModel, data: ModelInput) -> bool:
    """True when fixing already left some node with no unit, or fewer than k centres."""
    covered = np.zeros(data.n, dtype=bool)
    covered[model.x_node] = True
    return not covered.all() or len(np.unique(model.x_unit)) < data.k


#: share of the time limit (and cap, in seconds) the start heuristic may use
HEURISTIC_SHARE = 0.25
HEURISTIC_MAX_SECONDS = 60.0


def _interruptible(solve: Callable[..., ModelSolution]) -> Callable[..., ModelSolution]:
    """Ctrl-C stops the solver promptly instead of after the whole solve (see ``interrupt``)."""

    @functools.wraps(solve)
    def wrapper(*args: Any, **kwargs: Any) -> ModelSolution:
        with interrupt.interruptible():
            return solve(*args, **kwargs)

    return wrapper


@_interruptible
def solve_model(
    data: ModelInput,
    *,
    solver: str = "highs",
    formulation: str = "auto",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    fixing: bool = True,
    start_heuristic: bool = True,
    start: np.ndarray | None = None,
    small: bool = False,
) -> ModelSolution:
    """Solve a districting problem exactly: k contiguous units within the weight bounds.

    Parameters
    ----------
    data : the problem.
    solver : "highs" (default, via highspy) or "cbc" (PuLP's bundled CBC).
    formulation : how contiguity is modelled.

        * "auto" (default): "labeling_cuts" when units are interchangeable (all nodes are
          candidates and there is no assign_cost, i.e. the pure cut-edge objective), else "cuts".
        * "cuts": Hess model (centres), separator cuts added in a loop.
        * "flow": Hess model with a Shirabe-style flow per centre; one solve, no loop.
        * "labeling_cuts": labeling model (labels 0..k-1), separator cuts in a loop.
        * "labeling_hybrid": labeling model, flow for labels rooted by fixing, cuts for the rest.
        * "labeling_flow": labeling model, flow for every label (root variables where needed).
        * "none": no contiguity constraints (for tests and bounds).

        The labeling ones need interchangeable units; report centres are then each unit's
        first node in the vertex ordering.
    time_limit : seconds for the whole solve, all rounds and both relax phases together.
    mip_gap : relative gap at which a solver run may stop (solver default when None).
    threads : solver threads (solver default when None).
    progress : called with a small dict after every round (phase, round, elapsed, incumbent,
        bound, cuts_added, solver_status).
    fixing : apply the safe variable fixing and symmetry breaking (default); ``False`` keeps every
        assignment variable, for diagnostics and tests.
    start_heuristic : with many candidate centres and an assignment cost, first find a plan by
        location-allocation (:mod:`redistrict.model.start`) and start the exact search from it.
    start : a plan to start from (the centre of every node, e.g. from
        :mod:`redistrict.model.construct`); the search returns it or a better one.  It replaces
        the start heuristic.  Ignored with ``relax``.
    small : the model is tiny and one of many (a neighbourhood of :mod:`redistrict.model.lns`):
        solver options that favour a quick start over a strong root.

    Returns
    -------
    ModelSolution; its ``centre_of`` always passed an independent contiguity check, except with
    ``formulation="none"``.

    Examples
    --------
    >>> import numpy as np
    >>> from redistrict.model import ModelInput, solve_model
    >>> grid = [(r * 3 + c, r * 3 + c + 1) for r in range(3) for c in range(2)]
    >>> grid += [(r * 3 + c, r * 3 + c + 3) for r in range(2) for c in range(3)]
    >>> data = ModelInput(n=9, weights=np.ones(9, dtype=np.int64), edges=np.array(grid), k=3, lower=3, upper=3)
    >>> sol = solve_model(data)
    >>> sol.status, sol.objective
    ('optimal', 6.0)
    """
    t0 = time.perf_counter()
    formulation = _resolve_formulation(data, solver, formulation, time_limit)
    deadline = None if time_limit is None else t0 + float(time_limit)
    adj = Adjacency.from_edges(data.n, data.edges)
    tally = _Tally(data, solver, formulation, t0)
    lower, upper = (float(b) for b in ((data.lower, data.upper) if data.relax else implied_bounds(data)))
    if lower > upper:
        return tally.solution("infeasible", None, None)
    phase1_status: Status = "optimal"
    if data.relax:
        first = _violation_phase(data, adj, formulation, solver=solver, threads=threads, fixing=fixing, deadline=deadline, progress=progress, tally=tally)
        if first.unit_of is None:
            return tally.solution(first.status, None, None)
        start = _centres(first.model, first.unit_of)
        tally.violation = plan_violation(data, start)
        phase1_status = first.status
        lower, upper = lower - tally.violation, upper + tally.violation
    elif start is not None:
        start = np.asarray(start, dtype=np.int64)
    elif start_heuristic and formulation == "cuts" and worth_a_start(data):
        # many candidate centres: a quick location-allocation plan gives the search an incumbent
        budget = HEURISTIC_MAX_SECONDS if time_limit is None else min(HEURISTIC_SHARE * float(time_limit), HEURISTIC_MAX_SECONDS)
        start, _ = heuristic_start(data, adj, budget=budget, solve=solve_model, solver=solver, threads=threads)
    model, _ = _build(data, adj, formulation, lower=lower, upper=upper, elastic=False, fixing=fixing)
    tally.fixed.update(model.fixed_counts)
    if _quick_infeasible(model, data):
        return tally.solution("infeasible", model, None)
    runner = make_runner(solver, model.milp, threads=threads, mip_gap=mip_gap, small=small, presolve=presolve_keeps_time(model))
    cut_loop = CutLoop(
        model, runner, adj=adj, weights=data.weights, sep_upper=upper, separation=_separates(formulation),
        objective_of=lambda unit_of: plan_objective(data, _centres(model, unit_of)), integral=_integral_objective(data, False),
        deadline=deadline, mip_gap=mip_gap, progress=progress, phase="objective", t0=t0,
        repairer=make_repairer(data, adj, model, solver=solver, threads=threads, lower=lower, upper=upper),
        reserve=0.0 if time_limit is None else REPAIR_RESERVE * float(time_limit),
    )
    cut_loop.start_from(start)
    loop = cut_loop.run()
    tally.version = runner.version
    tally.add(loop)
    status = loop.status
    if status == "optimal" and phase1_status != "optimal":
        status = "feasible"
    if loop.unit_of is not None:
        _verify(data, adj, loop.unit_of, lower, upper, contiguous=formulation != "none")
    return tally.solution(status, model, loop)


def _resolve_formulation(data: ModelInput, solver: str, formulation: str, time_limit: float | None) -> str:
    """The arguments checked, and "auto" turned into the formulation that fits the data."""
    if solver not in SOLVERS:
        raise InputError(f"'solver' should be one of {SOLVERS}, got {solver!r}")
    if formulation not in FORMULATIONS:
        raise InputError(f"'formulation' should be one of {FORMULATIONS}, got {formulation!r}")
    if formulation == "auto":
        formulation = AUTO_SYMMETRIC if data.symmetric else "cuts"
    if formulation in LABELING and not data.symmetric:
        raise InputError(
            f"formulation={formulation!r} needs interchangeable units (all nodes as candidates and no "
            "assign_cost); use formulation='cuts' for centres, office sites or assignment costs"
        )
    if time_limit is not None and time_limit <= 0:
        raise InputError(f"'time_limit' must be positive, got {time_limit}")
    return formulation


def _separates(formulation: str) -> bool:
    """Whether the formulation enforces contiguity by separator cuts in a re-solve loop."""
    return formulation in ("cuts", "labeling_cuts", "labeling_hybrid")


@dataclass
class _Tally:
    """What a solve accumulates over its phases (rounds, cuts, fixings), made into the solution."""

    data: ModelInput
    solver: str
    formulation: str
    t0: float
    rounds: int = 0
    cuts: int = 0
    fixed: dict = field(default_factory=dict)
    version: str = ""
    violation: int = 0

    def add(self, loop: LoopResult) -> None:
        self.rounds += loop.rounds
        self.cuts += loop.cuts

    def solution(self, status: Status, model: BuiltModel | None, loop: LoopResult | None) -> ModelSolution:
        centre_of = objective = None
        bound = None if loop is None else loop.bound
        if loop is not None and loop.unit_of is not None and model is not None:
            centre_of = _centres(model, loop.unit_of)
            centre_of.setflags(write=False)
            objective = plan_objective(self.data, centre_of)
        return ModelSolution(
            status=status, centre_of=centre_of, objective=objective,
            best_bound=None if status == "infeasible" else bound, gap=relative_gap(objective, bound),
            seconds=time.perf_counter() - self.t0, rounds=self.rounds, cuts_added=self.cuts, fixed_counts=self.fixed,
            max_violation=self.violation, solver=self.solver, solver_version=self.version, formulation=self.formulation,
            num_vars=0 if model is None else model.milp.num_cols,
            num_rows=0 if model is None else model.milp.num_rows,
        )


@dataclass
class _FirstPhase:
    status: Status
    model: BuiltModel
    unit_of: np.ndarray | None


def _violation_phase(data, adj, formulation, *, solver, threads, fixing, deadline, progress, tally: _Tally) -> _FirstPhase:
    """Relax mode, phase 1: the elastic model minimises the largest violation s only."""
    model, _ = _build(data, adj, formulation, lower=float(data.lower), upper=float(data.upper), elastic=True, fixing=fixing)
    runner = make_runner(solver, model.milp, threads=threads, mip_gap=None)
    tally.version = runner.version
    loop = CutLoop(
        model, runner, adj=adj, weights=data.weights, sep_upper=math.inf, separation=_separates(formulation),
        objective_of=lambda u: float(plan_violation(data, _centres(model, u))), integral=True,
        deadline=deadline, mip_gap=None, progress=progress, phase="violation", t0=tally.t0,
    ).run()
    tally.add(loop)
    tally.fixed = {f"violation_{k}": v for k, v in model.fixed_counts.items()}
    return _FirstPhase(loop.status, model, loop.unit_of)


def _verify(data: ModelInput, adj: Adjacency, unit_of: np.ndarray, lower: float, upper: float, *, contiguous: bool) -> None:
    """Recheck a plan against the input, trusting nothing the solver said.

    Raises VerificationError (an internal error: the engine never returns such a plan).
    """
    problems = []
    units, inv = np.unique(unit_of, return_inverse=True)
    if len(units) != data.k:
        problems.append(f"{len(units)} units instead of k={data.k}")
    totals = np.bincount(inv, weights=data.weights)
    bad = np.flatnonzero((totals < lower - 1e-9) | (totals > upper + 1e-9))
    if len(bad):
        problems.append(f"unit weights {totals[bad].tolist()} outside [{lower:g}, {upper:g}]")
    if contiguous and len(np.unique(components(adj, unit_of))) != len(units):
        problems.append("a unit is not connected")
    for a, b in data.same_unit:
        if unit_of[a] != unit_of[b]:
            problems.append(f"same_unit pair ({a}, {b}) split")
    for a, b in data.different_unit:
        if unit_of[a] == unit_of[b]:
            problems.append(f"different_unit pair ({a}, {b}) joined")
    if problems:
        raise VerificationError("internal error: the solver returned an invalid plan: " + "; ".join(problems))


__all__ = ["solve_model", "SOLVERS", "FORMULATIONS", "plan_objective", "plan_violation"]
