"""One connected problem, solved by a method chosen for its size: construct, improve, prove.

- **heuristic**: :func:`~redistrict.model.construct.construct_plan` gives a valid plan in
  seconds (the most compact of many is kept) and, for an assignment-cost objective,
  :mod:`~redistrict.model.allocate` a second one by location–allocation;
  :func:`~redistrict.model.lns.improve` re-solves neighbourhoods of 2 and 3 units exactly until
  none improves, from each start, then perturbs the best and re-solves (iterated local search)
  until the time is up; smooths the boundaries of the result where the objective has no boundary
  term (:mod:`redistrict.model.smooth`, :data:`~redistrict.model.smooth.SMOOTH_SHARE` of the
  time); then a valid lower bound by Lagrangian relaxation (:mod:`redistrict.model.lagrange`) in
  the time kept for it.  Never an optimality claim.
- **exact**: the same construction gives the exact model its incumbent — improved first by the
  search above for up to :data:`EXACT_LNS_SHARE` of the time where the exact model is known to
  find good plans slowly (every node a candidate centre and an assignment cost); :func:`~redistrict.model.backends.solve_model` then proves optimality or reports
  its bound and gap when the time limit stops it.
- **auto**: exact up to :data:`EXACT_MAX_NODES` nodes, heuristic above; the reason is recorded.

Works on arrays only (a :class:`ModelInput`), so a worker process can run it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import allocate, counts, enumeration, smooth
from .backends import plan_objective, solve_model
from .construct import RESTARTS, centres_of, construct_plan, constructions
from .data import ModelInput, ModelSolution
from .lagrange import LagrangeBound, lagrangian_bound
from .lns import improve
from .mend import construct_and_mend
from .relax import relaxed_plan
from .start import worth_a_start

#: auto: pieces of at most this many nodes go to the exact model (bench/RESULTS.md: beyond
#: ~150 blocks the exact model rarely finds a first plan in minutes)
EXACT_MAX_NODES = 150
#: exact: share of the time limit the improvement may use before the exact search starts
EXACT_LNS_SHARE = 0.3
#: the same where the search by centres per group follows: its LPs close most of the gap, so a
#: rough incumbent is enough (昱东: 18 s of improvement took 5,241 to 4,221; the search found 3,536)
COUNTS_LNS_SHARE = 0.1
#: interchangeable units (the cut-edge objective): at most this many seconds of pair improvement
#: before the exact search — a short one takes out the constructed plan's worst cut edges, a full
#: descent costs the search more than it saves (HiGHS seeds 0/1/2, whole solve: county40 38.0/33.2/28.5 s
#: against 76–90/64.2/45.8 s after a full descent of ~20 s; county20 105.8/95.5/78.3 s against 119/242/– s)
SYMMETRIC_LNS_SECONDS = 5.0
#: heuristic: further constructions for this share of the time (at most this many seconds and
#: plans), the most compact one is improved (NH tracts, k = 10, 60 s: 2.280e8 after improvement
#: from the best of 200 plans in 2.8 s, against 2.375e8 from the first)
STARTS_SHARE, STARTS_MAX_SECONDS, MAX_STARTS = 0.05, 15.0, 200
#: heuristic: the location–allocation start (:mod:`redistrict.model.allocate`) may use this share
#: of the time, and at most this many seconds (NH tracts, k = 10: 1.3 s; the whole sample, whose
#: tight bounds need mending: 14 s)
ALLOCATION_SHARE, ALLOCATION_MAX_SECONDS = 0.15, 30.0
#: heuristic: the Lagrangian bound keeps this share of the time, and at most this many seconds
#: (it needs 3–10 s on 295 tracts with k = 10, where the LP relaxation needed 76 s)
BOUND_SHARE, BOUND_MAX_SECONDS = 0.1, 30.0
#: the Lagrangian bound gets at least this many seconds (but at most this share of what is left):
#: it is near its best in half a second on pieces of ~100–200 nodes (city10000: 98–181 nodes reach
#: 1,724–1,978 against plans of ~2,600–2,900 in 0.2 s, 1,849–2,101 in 0.5 s, 1,855–2,134 in 3 s)
SHORT_BOUND_SECONDS, SHORT_BOUND_SHARE = 0.5, 0.3
#: an exact piece with less than this many seconds keeps time for a Lagrangian bound: in a second or
#: two HiGHS rarely finishes its root LP, so its own bound is 0 (city10000, T = 60: 77 pieces had
#: 1–2.5 s each on 2 workers, and 42 ended without a bound or with 0)
SHORT_PIECE_SECONDS = 20.0
#: how a heuristic piece's bound was obtained, in the report's words
LAGRANGIAN_METHOD = "Lagrangian relaxation of the assignment model (each block's one-unit rule priced; integrality and contiguity relaxed)"
#: an exact search with less time than this left is not started (the constructed plan stands)
MIN_EXACT_SECONDS = 0.5
#: construction gets at least this many seconds, whatever is left of the limit
CONSTRUCT_MIN_SECONDS = 5.0
#: heuristic on a piece small enough for the exhaustive search: share of the time the construction
#: within the bounds may use before the search and mending (a larger piece is mended at once)
STRICT_SHARE = 0.25
#: heuristic on a piece too large for the exhaustive search: seconds the construction within the
#: bounds may use before mending (the whole sample across subdistricts, 154 nodes, k = 10: a plan
#: in 0.7 s this way, 24 s by mending; on city10000 without subdistricts it finds nothing in 60 s)
STRICT_FIRST_SECONDS = 2.0
#: exact: share of the time left after the search that mending may use when the construction found nothing
MEND_SHARE = 0.5
#: a piece relaxed after it found no plan within the bounds gets at least this many seconds
RELAX_MIN_SECONDS = 20.0
#: share of the time (and most seconds) the exhaustive search (:mod:`redistrict.model.enumeration`)
#: may use on a small piece whose construction failed: it finds a plan or proves there is none
#: (街道335 of city50000, 54 blocks: no plan, proved in 8 s; on 100–150 tight blocks it rarely ends)
SEARCH_SHARE, SEARCH_MAX_SECONDS = 0.5, 20.0
#: the share when the construction phase already failed on the piece (its time is the search's)
SEARCH_SHARE_AFTER_FAILED_CONSTRUCTION = 0.6
#: a piece whose construction phase failed (a second or so, a few restarts) is constructed again
#: first, with unbounded restarts for this share of its time and seeds offset by
#: :data:`RECONSTRUCT_SEED` (city10000's 街道60, 106 blocks, 10 units averaging 2,972.5 of
#: 3,000: six seeds found a plan in 0.07–2.7 s where the construction phase's 1 s had failed; the
#: exhaustive search found none in 20 s)
RECONSTRUCT_SHARE, RECONSTRUCT_SEED = 0.25, 1000
#: ... after a search of at most this many seconds, which decides a small piece in milliseconds
#: (a proof that it has no plan, or a plan) — fresh seeds would spend their whole share on it
QUICK_SEARCH_SECONDS = 1.0
#: a piece with a spare unit count looks for a plan with its own count for this share of its
#: time; then one more unit is tried (city50000: 12 of 385 subdistricts average 2,987–3,000
#: with their fewest units, too tight to find a plan; with one more each has one in a second)
SPARE_SHARE = 0.5


@dataclass(frozen=True)
class PieceTask:
    """Everything a worker needs to solve one piece (picklable)."""

    data: ModelInput
    method: str = "auto"
    time_limit: float | None = None
    solver: str = "highs"
    mip_gap: float | None = None
    threads: int | None = None
    formulation: str | None = None
    seed: int = 0
    #: the whole run's end (``time.time()``, comparable across processes): a piece that starts
    #: late gets no more than what is left, however large its share
    ends_at: float | None = None
    #: a valid plan of the piece to start from (``centre_of`` in its node ids), e.g. from
    #: :func:`construct_piece`; the piece's own construction is then skipped
    start: np.ndarray | None = None
    #: with --relax on a layer of several pieces: the piece's input without the rules that hold
    #: only within the bounds (forced groups), solved with elastic bounds when ``failed`` is
    #: given; ``relax_tolerance`` as for :func:`~redistrict.model.relax.min_violation`
    relaxed: ModelInput | None = None
    relax_tolerance: int = 0
    #: the construction phase already failed on this piece: its construction is not repeated
    construction_failed: bool = False
    #: with the unit count chosen, not given: one more unit (:func:`~redistrict.problem.next_unit_count`),
    #: tried when no plan is found with ``data.k`` in :data:`SPARE_SHARE` of the time
    spare_k: int | None = None
    #: the piece's result within the bounds from an earlier phase, which found no plan: only
    #: the relaxation is run (``relaxed`` must be given)
    failed: PieceResult | None = None
    #: smooth a heuristic plan's boundaries at the end (:mod:`redistrict.model.smooth`)
    smooth: bool = True
    #: seconds the piece may use once it has a plan to start from (None: the whole time limit) —
    #: a tight piece's time for finding a plan is not also its time for improving one
    #: (:class:`~redistrict.pieces.TimeShare`)
    improve_limit: float | None = None
    #: worker processes the piece may start for its own work (a large tight piece is mended by
    #: regions side by side, :func:`~redistrict.model.mend.construct_and_mend`): the run's
    #: workers when this is its only piece, else 1 (the pieces already share them)
    workers: int = 1

    def budget(self) -> float | None:
        """Seconds this piece may use from now."""
        if self.ends_at is None:
            return self.time_limit
        left = max(self.ends_at - time.time(), 0.0)
        return left if self.time_limit is None else min(self.time_limit, left)


@dataclass(frozen=True)
class PieceResult:
    """A piece's outcome: its plan (``centre_of`` in the piece's own node ids) and how it was found."""

    status: str  # optimal | feasible | heuristic | relaxed | relaxed_unproved | infeasible | no_solution
    solution: ModelSolution | None
    centre_of: np.ndarray | None
    objective: float | None
    bound: float | None
    method: str
    why: str
    seconds: float
    first_plan_seconds: float | None = None
    improvement: dict = field(default_factory=dict)
    message: str = ""
    #: wall-clock time (``time.time()``) at which the piece had its first verified plan
    first_plan_at: float | None = None
    #: units in the plan: the task's count, or its spare count when that gave the plan
    k: int | None = None


def choose_method(data: ModelInput, method: str) -> tuple[str, str]:
    """The method for this piece, and why (auto decides by size)."""
    if method != "auto":
        return method, f"{method}: as asked"
    if data.n <= EXACT_MAX_NODES:
        return "exact", f"exact: {data.n} nodes ≤ {EXACT_MAX_NODES}, within reach of the exact model"
    return "heuristic", f"heuristic: {data.n} nodes > {EXACT_MAX_NODES}, too many for the exact model"


def solve_piece(task: PieceTask, progress: Callable[[dict], None] | None = None) -> PieceResult:
    """Solve one connected piece by its method within its time limit."""
    result = _solve_piece(task, progress)
    if result.first_plan_seconds is None:
        return result
    return dataclasses.replace(result, first_plan_at=time.time() - result.seconds + result.first_plan_seconds)


def _solve_piece(task: PieceTask, progress: Callable[[dict], None] | None) -> PieceResult:
    t0 = time.perf_counter()
    data = task.data
    method, why = choose_method(data, task.method)
    budget = task.budget()
    deadline = None if budget is None else t0 + budget
    if task.failed is not None:
        return _relaxed_piece(task, task.failed, t0, deadline)
    if task.start is not None:
        start, extra, proof = np.asarray(task.start), {}, None
    elif task.spare_k is None:
        start, extra, proof = _starting_plan(task, method, t0, budget, deadline)
    else:
        task, (start, extra, proof) = _with_spare_count(task, method, t0, budget, deadline)
        data = task.data
    if proof is not None:
        return dataclasses.replace(proof, why=why, seconds=time.perf_counter() - t0, improvement=extra)
    first = None if start is None else time.perf_counter() - t0
    if start is not None and task.improve_limit is not None and deadline is not None:
        deadline = min(deadline, time.perf_counter() + task.improve_limit)
        budget = max(deadline - time.perf_counter(), 0.0)
    if start is not None and progress is not None:
        progress({"phase": "construction", "round": 0, "elapsed": first, "incumbent": plan_objective(data, start), "bound": None})
    if method == "heuristic":
        starts: list[np.ndarray] = []
        if start is not None:
            starts, info = _heuristic_starts(task, data, start, budget, t0, progress)
            extra = extra | info
        result = _heuristic(task, data, starts, t0, deadline, why, first, progress)
    else:
        result = _exact(task, data, start, t0, deadline, why, first, progress)
    message = result.message if result.centre_of is not None else result.message + _mending_note(extra.get("mend"))
    return dataclasses.replace(result, improvement=result.improvement | extra, k=data.k, message=message)


def _mending_note(mend: dict | None) -> str:
    """What mending reached, for the message of a piece left without a plan (empty if it did not run)."""
    if not mend or mend.get("violation_left") is None:
        return ""
    return (
        f" A construction that left the bounds by at most {mend['widened_by']:,} households per unit was mended "
        f"for {mend['seconds']:,.0f} s ({mend['chains']:,} chains, {mend['accepted']:,} neighbourhoods re-solved) "
        f"and still had {mend['violation_left']:,} households outside the bounds."
    )


def _with_spare_count(task: PieceTask, method: str, t0: float, budget: float | None, deadline: float | None) -> tuple[PieceTask, tuple]:
    """A starting plan with the piece's own count in :data:`SPARE_SHARE` of the time, else with
    its spare count (one more unit) in the rest.  Returns the task the plan belongs to and
    :func:`_starting_plan`'s answer; when neither count gives a plan, the own count's answer
    (its proof of infeasibility, if any) with a note that the spare count found none either."""
    first_by = None if deadline is None else t0 + SPARE_SHARE * budget
    own = _starting_plan(task, method, t0, None if budget is None else SPARE_SHARE * budget, first_by)
    if own[0] is None and own[2] is None and method == "exact":
        own = _exact_at_own_count(task, own, first_by)
    if own[0] is not None:
        return task, own
    spare = dataclasses.replace(task, data=dataclasses.replace(task.data, k=task.spare_k), spare_k=None, construction_failed=False)
    now = time.perf_counter()
    plan, extra, proof = _starting_plan(spare, method, now, None if deadline is None else max(deadline - now, 0.0), deadline)
    if plan is None:
        return task, (None, own[1] | {"spare_k": {"tried": task.spare_k, "found": False}}, own[2])
    why = own[2].message if own[2] is not None else f"no plan was found with {task.data.k} units in {now - t0:.1f} s"
    return spare, (plan, extra | {"spare_k": {"from": task.data.k, "to": task.spare_k, "because": why, "own_count": own[1]}}, None)


def _exact_at_own_count(task: PieceTask, own: tuple, by: float | None) -> tuple:
    """The exact model at the piece's own count until ``by``, where construction and search
    found nothing: it may still find a plan with the fewest units, or prove there is none."""
    left = None if by is None else by - time.perf_counter()
    if left is not None and left < MIN_EXACT_SECONDS:
        return own
    solution = _exact_search(task, task.data, None, left, None, {}, by_counts=False)
    extra = own[1] | {"exact_at_own_count": solution.status}
    if solution.has_plan:
        return np.asarray(solution.centre_of), extra, None
    if solution.status != "infeasible":
        return None, extra, None
    return None, extra, _proof(task.data, "The exact model", "exact", solution.seconds, solution)


def _relaxed_piece(task: PieceTask, failed: PieceResult, t0: float, deadline: float | None) -> PieceResult:
    """No plan within the bounds (proved, or none found): the plan whose largest violation is
    smallest, within the piece's time left (at least :data:`RELAX_MIN_SECONDS`)."""
    left = None if deadline is None else max(RELAX_MIN_SECONDS, deadline - time.perf_counter())
    result, info = relaxed_plan(task.relaxed, solve=solve_model, time_limit=left, tolerance=task.relax_tolerance, seed=task.seed, solver=task.solver, threads=task.threads)
    if result.centre_of is None:
        return failed
    relax = {
        "violation": result.violation,
        "proved_at_least": result.proved_at_least,
        "steps": [list(step) for step in result.steps],
        "within_bounds": failed.status,
        "note": result.note(task.relaxed, task.relax_tolerance),
    }
    seconds = time.perf_counter() - t0
    objective = plan_objective(task.relaxed, result.centre_of)
    return PieceResult(result.status, None, result.centre_of, objective, None, "relaxed", failed.why, seconds, seconds, failed.improvement | info | {"relax": relax}, failed.message)


def _starting_plan(task: PieceTask, method: str, t0: float, budget: float | None, deadline: float | None) -> tuple[np.ndarray | None, dict, PieceResult | None]:
    """A plan within the bounds to start from: construction, then (small pieces) the exhaustive
    search, then a construction nearest the bounds, mended.  A heuristic piece too large for the
    search constructs within the bounds for :data:`STRICT_FIRST_SECONDS` only, then mends: it
    proves nothing there, and on a tight layer the construction within the bounds mostly restarts
    (city10000 without subdistricts: 54 s on one seed, nothing in 60 s on another; mended by
    regions, a plan in 16 s).  Returns the plan (or None),
    what the search and mending did, and the piece's result when the search proved it infeasible."""
    data = task.data
    extra: dict = {}
    if method == "heuristic" and not enumeration.searchable(data) and not data.relax and data.k >= 2:
        quick = time.perf_counter() + STRICT_FIRST_SECONDS
        label = construct_plan(data, seed=task.seed, deadline=quick if deadline is None else min(quick, deadline), restarts=None)
        if label is not None:
            return centres_of(data, label), extra, None
        return _mended(task, data, deadline, extra)  # beyond the search, with nothing to prove
    construct_by = None if deadline is None else max(deadline, t0 + CONSTRUCT_MIN_SECONDS)
    if method == "heuristic" and deadline is not None:
        construct_by = min(construct_by, t0 + max(CONSTRUCT_MIN_SECONDS, STRICT_SHARE * budget))
    if task.construction_failed:  # the construction phase had a second or so
        quick = time.perf_counter() + QUICK_SEARCH_SECONDS
        decided = _searched(data, quick if deadline is None else min(quick, deadline), extra)
        if decided is not None:  # a small piece: a proof or a plan in milliseconds
            return decided
        construct_by = None if deadline is None else t0 + RECONSTRUCT_SHARE * budget
        label = construct_plan(data, seed=task.seed + RECONSTRUCT_SEED, deadline=construct_by, restarts=None)
    else:  # the heuristic restarts until its share of the time; the exact search tries a few
        # constructions only, since it can prove infeasibility itself
        label = construct_plan(data, seed=task.seed, deadline=construct_by, restarts=None if method == "heuristic" else RESTARTS)
    if label is not None:
        return centres_of(data, label), extra, None
    share = SEARCH_SHARE_AFTER_FAILED_CONSTRUCTION if task.construction_failed else SEARCH_SHARE
    decided = _searched(data, None if deadline is None else t0 + min(share * budget, SEARCH_MAX_SECONDS), extra)
    if decided is not None:
        return decided
    if data.relax or data.k < 2:
        return None, extra, None
    now = time.perf_counter()
    return _mended(task, data, deadline if method == "heuristic" or deadline is None else now + MEND_SHARE * max(deadline - now, 0.0), extra)


def _mended(task: PieceTask, data: ModelInput, by: float | None, extra: dict) -> tuple[np.ndarray | None, dict, None]:
    """:func:`_starting_plan`'s answer from a construction nearest the bounds, mended until ``by``
    (:func:`~redistrict.model.mend.construct_and_mend`): the plan, or None when some violation is left."""
    mended = construct_and_mend(data, solve=solve_model, deadline=by, seed=task.seed, solver=task.solver, threads=task.threads, workers=task.workers)
    extra["mend"] = mended.to_dict()
    return (mended.centre_of if mended.violation == 0 else None), extra, None


def _searched(data: ModelInput, until: float | None, extra: dict) -> tuple | None:
    """The exhaustive search until ``until`` (recorded in ``extra``): :func:`_starting_plan`'s
    answer when it decides the piece (a plan or a proof), else None."""
    if not enumeration.searchable(data):
        return None
    searched = enumeration.find_partition(data, deadline=until)
    extra["search"] = searched.to_dict()
    if searched.status == "infeasible":
        return None, extra, _proved_by_search(data, searched)
    if searched.label is not None:
        return centres_of(data, searched.label), extra, None
    return None


def _most_compact_start(task: PieceTask, data: ModelInput, start: np.ndarray, budget: float | None) -> tuple[np.ndarray, dict]:
    """``start`` or, if better, the most compact of further constructions made in
    :data:`STARTS_SHARE` of the piece's time: where to begin the improvement."""
    seconds = STARTS_MAX_SECONDS if budget is None else min(STARTS_MAX_SECONDS, STARTS_SHARE * budget)
    best, best_value = start, plan_objective(data, start)
    first_value, made = best_value, 0
    for label in constructions(data, seed=task.seed + 1, deadline=time.perf_counter() + seconds, tries=MAX_STARTS):
        made += 1
        centre_of = centres_of(data, label)
        value = plan_objective(data, centre_of)
        if value < best_value:
            best, best_value = centre_of, value
    return best, {"constructed": made + 1, "first_objective": first_value, "best_objective": best_value}


def _heuristic_starts(task: PieceTask, data: ModelInput, start: np.ndarray, budget: float | None, t0: float, progress) -> tuple[list[np.ndarray], dict]:
    """The plans the improvement descends from, the lower objective first: the most compact
    construction and, where it applies, the location–allocation plan made in
    :data:`ALLOCATION_SHARE` of the piece's time (:mod:`redistrict.model.allocate`)."""
    start, starts = _most_compact_start(task, data, start, budget)
    info: dict = {"starts": starts}
    if progress is not None:
        progress({"phase": f"construction (most compact of {starts['constructed']})", "round": 0, "elapsed": time.perf_counter() - t0, "incumbent": starts["best_objective"], "bound": None})
    if not allocate.applies(data):
        return [start], info
    seconds = ALLOCATION_MAX_SECONDS if budget is None else min(ALLOCATION_MAX_SECONDS, ALLOCATION_SHARE * budget)
    found = allocate.allocation_plan(data, solve=solve_model, deadline=time.perf_counter() + seconds, solver=task.solver, threads=task.threads)
    info["allocation"] = found.to_dict()
    if found.centre_of is None:
        return [start], info
    value = plan_objective(data, found.centre_of)
    info["allocation"]["objective"] = value
    if progress is not None:
        progress({"phase": "location–allocation", "round": 0, "elapsed": time.perf_counter() - t0, "incumbent": min(value, starts["best_objective"]), "bound": None})
    return ([found.centre_of, start] if value < starts["best_objective"] else [start, found.centre_of]), info


def construct_piece(task: PieceTask) -> PieceResult:
    """The piece's constructed plan only (status "heuristic", or "no_solution" when the bounded
    attempts found none): every piece of a large layer gets a verified plan in seconds, before
    any piece is improved."""
    t0 = time.perf_counter()
    data = task.data
    budget = task.budget()
    label = construct_plan(data, seed=task.seed, deadline=None if budget is None else t0 + budget, restarts=RESTARTS)
    seconds = time.perf_counter() - t0
    if label is None:
        return PieceResult("no_solution", None, None, None, None, "construction", "construction only", seconds, message=_no_construction(data))
    centre_of = centres_of(data, label)
    return PieceResult("heuristic", None, centre_of, plan_objective(data, centre_of), None, "construction", "construction only", seconds, seconds, first_plan_at=time.time())


def _proved_by_search(data: ModelInput, searched: enumeration.Outcome) -> PieceResult:
    return _proof(data, f"An exhaustive search ({searched.states:,} candidate units, {searched.seconds:.1f} s)", "search", searched.seconds)


def _proof(data: ModelInput, by: str, method: str, seconds: float, solution: ModelSolution | None = None) -> PieceResult:
    """The result of a piece proved to have no plan within the bounds, ``by`` naming the proof."""
    message = f"{by} proved that no plan of {data.k} connected units of {data.lower:,}–{data.upper:,} households exists."
    bound = None if solution is None else solution.best_bound
    return PieceResult("infeasible", solution, None, None, bound, method, "", seconds, message=message)


def _improve(task: PieceTask, data: ModelInput, start: np.ndarray, deadline: float | None, progress, sizes=(2, 3), perturb: bool = False, alternatives=(), iterate_until: float | None = None) -> tuple[np.ndarray, dict]:
    result = improve(data, start, solve=solve_model, objective_of=plan_objective, deadline=deadline, solver=task.solver, threads=task.threads, sizes=sizes, progress=progress, perturb=perturb, seed=task.seed, alternatives=alternatives, iterate_until=iterate_until)
    return result.centre_of, result.to_dict()


def _heuristic(task, data, starts: list[np.ndarray], t0, deadline, why, first, progress) -> PieceResult:
    """Improvement from each start (the best local optimum iterated on), then a valid lower
    bound (the Lagrangian, in the time kept for it)."""
    if not starts:
        return PieceResult("no_solution", None, None, None, None, "heuristic", why, time.perf_counter() - t0, message=_no_construction(data))
    kept = _bound_reserve(deadline)
    smoothing = task.smooth and smooth.applies(data)
    search_ends = None if deadline is None else deadline - kept
    iterate_until = None if search_ends is None or not smoothing else search_ends - smooth.SMOOTH_SHARE * max(search_ends - time.perf_counter(), 0.0)
    plan, info = _improve(task, data, starts[0], search_ends, progress, perturb=True, alternatives=starts[1:], iterate_until=iterate_until)
    if smoothing:
        plan = _smoothed(task, data, plan, search_ends, progress, info)
    objective = plan_objective(data, plan)
    left = kept if deadline is None else min(BOUND_MAX_SECONDS, max(deadline - time.perf_counter(), 0.0))
    found = lagrangian_bound(data, target=objective, time_limit=left)
    info["bound_method"], bound = None, None
    if found is not None:
        bound = _lagrangian_recorded(found, objective, info)
        if progress is not None:
            progress({"phase": "bound (Lagrangian)", "round": found.iterations, "elapsed": time.perf_counter() - t0, "incumbent": objective, "bound": bound})
    return PieceResult("heuristic", None, plan, objective, bound, "heuristic", why, time.perf_counter() - t0, first, info)


def _smoothed(task: PieceTask, data: ModelInput, plan: np.ndarray, deadline: float | None, progress, info: dict) -> np.ndarray:
    """The plan with its boundaries smoothed, recorded in ``info``; a smoothed plan is no longer
    a local optimum of the objective alone, so that claim is dropped."""
    done = smooth.smooth_boundaries(data, plan, solve=solve_model, objective_of=plan_objective, deadline=deadline, solver=task.solver, threads=task.threads, progress=progress)
    if done is None:
        return plan
    info["smoothing"] = done.to_dict()
    if done.kept:
        info["local_optimum_for"] = []
    return done.centre_of


def _exact(task, data, start, t0, deadline, why, first, progress) -> PieceResult:
    """The exact model, warm-started where that helps, with the constructed plan as a fallback.

    Where the exact model finds good plans slowly (every node a candidate centre and an
    assignment cost) the constructed plan is improved and handed over as the incumbent; so it is
    for interchangeable units (the cut-edge objective), improved by pairs for at most
    :data:`SYMMETRIC_LNS_SECONDS` — warm, county20 is proved 2–3x sooner than cold (78–106 s over
    three HiGHS seeds against 286–536 s), county40 as soon (28–38 s against 27–66 s).  Elsewhere the model
    starts cold — a warm start made HiGHS twice as slow on the sample with office sites (4.5 s
    against 10 s) — and the constructed plan is only used if the search ends without one.
    """
    info: dict = {}
    warm = start is not None and (worth_a_start(data) or data.symmetric)
    by_counts = _by_counts(task, data)
    kept = _kept_for_a_bound(data, deadline)
    deadline = None if deadline is None else deadline - kept
    if warm and data.k >= 2:
        fraction = COUNTS_LNS_SHARE if by_counts else EXACT_LNS_SHARE
        share = None if deadline is None else time.perf_counter() + fraction * (deadline - t0)
        if data.symmetric:
            cap = time.perf_counter() + SYMMETRIC_LNS_SECONDS
            share = cap if share is None else min(share, cap)
        start, info = _improve(task, data, start, share, progress, sizes=(2,) if data.symmetric else (2, 3))
    left = None if deadline is None else deadline - time.perf_counter()
    if left is not None and left < MIN_EXACT_SECONDS and start is not None:
        info["fallback"] = f"no time left for the exact search ({max(left, 0):.1f} s); the constructed plan is returned"
        objective = plan_objective(data, start)
        return PieceResult("feasible", None, start, objective, _better_bound(data, None, "feasible", objective, kept, info), "exact", why, time.perf_counter() - t0, first, info)
    left = None if left is None else max(left, MIN_EXACT_SECONDS)
    # the search by counts prunes with any plan it is given, so it always gets the constructed one
    solution = _exact_search(task, data, start if warm or by_counts else None, left, progress, info, by_counts)
    if solution.has_plan or start is None or solution.status == "infeasible":
        plan = solution.centre_of if solution.has_plan else None
        first = first if first is not None else (solution.seconds if plan is not None else None)
        bound = _better_bound(data, solution.best_bound, solution.status, solution.objective, kept, info)
        return PieceResult(solution.status, solution, plan, solution.objective, bound, "exact", why, time.perf_counter() - t0, first, info)
    info["fallback"] = "the exact search found no plan in its time; the constructed plan is returned"
    objective = plan_objective(data, start)
    return PieceResult("feasible", solution, start, objective, _better_bound(data, solution.best_bound, "feasible", objective, kept, info), "exact", why, time.perf_counter() - t0, first, info)


def _kept_for_a_bound(data: ModelInput, deadline: float | None) -> float:
    """Seconds the exact search leaves for a Lagrangian bound, where the model has an assignment
    cost and HiGHS is unlikely to finish its root LP in the time: a piece with less than
    :data:`SHORT_PIECE_SECONDS`, or a boundary term beside the assignment cost, which HiGHS solves
    without presolve (:func:`~redistrict.model.backends.presolve_keeps_time`; city2000 with
    ``--w-boundary``: bound 0 on every exact piece at T = 30).  A piece with more time keeps all
    of it for the proof (昱东 is proved in 35–59 s of 60)."""
    if deadline is None or data.assign_cost is None or data.relax:
        return 0.0
    if data.cut_weight <= 0 and deadline - time.perf_counter() >= SHORT_PIECE_SECONDS:
        return 0.0
    return _bound_reserve(deadline)


def _bound_reserve(deadline: float | None) -> float:
    """Seconds kept at the end of a piece for its Lagrangian bound: :data:`BOUND_SHARE` of what is
    left, but at least :data:`SHORT_BOUND_SECONDS` where that is at most :data:`SHORT_BOUND_SHARE`
    of it, and at most :data:`BOUND_MAX_SECONDS`."""
    if deadline is None:
        return BOUND_MAX_SECONDS
    left = max(deadline - time.perf_counter(), 0.0)
    return min(BOUND_MAX_SECONDS, max(BOUND_SHARE * left, min(SHORT_BOUND_SECONDS, SHORT_BOUND_SHARE * left)))


def _lagrangian_recorded(found: LagrangeBound, objective: float, info: dict) -> float:
    """The bound ``found`` gives a plan of ``objective`` (never above it), recorded in ``info``."""
    info["bound_method"] = LAGRANGIAN_METHOD
    info["lagrangian"] = found.to_dict()
    return min(found.value, objective)


def _better_bound(data: ModelInput, bound: float | None, status: str, objective: float | None, kept: float, info: dict) -> float | None:
    """The exact search's ``bound``, or the Lagrangian one where that is higher (in the ``kept`` seconds)."""
    if kept <= 0 or objective is None or status in ("optimal", "infeasible"):
        return bound
    found = lagrangian_bound(data, target=objective, time_limit=kept)
    if found is None or (bound is not None and found.value <= bound):
        return bound
    return _lagrangian_recorded(found, objective, info)


def _exact_search(task: PieceTask, data: ModelInput, start, left: float | None, progress, info: dict, by_counts: bool) -> ModelSolution:
    """The exact model, or — where units are labelled by groups (current communities) and the
    solver is HiGHS — the search over centres per group (:mod:`redistrict.model.counts`), whose
    parts have far tighter bounds."""
    if by_counts:
        outcome = counts.solve_by_counts(data, start=start, time_limit=left, threads=task.threads, mip_gap=task.mip_gap, progress=progress)
        info["counts"] = outcome.info
        return outcome.solution()
    kwargs = {"formulation": task.formulation} if task.formulation else {}
    return solve_model(data, solver=task.solver, time_limit=left, mip_gap=task.mip_gap, threads=task.threads, progress=progress, start=start, **kwargs)


def _by_counts(task: PieceTask, data: ModelInput) -> bool:
    """True when the exact search goes by centres per group (HiGHS, no formulation asked for)."""
    return task.solver == "highs" and task.formulation is None and counts.applies(data)


def _no_construction(data: ModelInput) -> str:
    total = int(data.weights.sum())
    return (
        f"The construction found no plan of {data.k} units of {data.lower:,}–{data.upper:,} households "
        f"({total:,} households, average {total / data.k:,.0f}) in its bounded attempts; the bounds may "
        "leave too little room for these block sizes. A k whose average lies further from both bounds, "
        "wider bounds, or --method exact (which can prove infeasibility) may help."
    )
