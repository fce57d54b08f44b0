"""Transfers of excess stock between locations: a transportation problem on HiGHS (SPEC §3.5).

SPEC §3.5 lists "transfer to a location with demand (minus transport)" among the actions beyond
the thesis (Zijlmans 2025). A unit of SKU g at a source location s with excess may move, on a
lane s → t, to a location t whose forecast sells more than its own stock within the excess
threshold H [days]. Per lane l = (g, s, t):

- **absorb room** at (g, t) [units]: ⌊f·H − on_hand − inbound⌋⁺, f = forecast_daily [units/day];
  the lane itself: ⌊f·(H − start)⌋⁺ with start = max(T_own, lead) [days], T_own = (on_hand +
  inbound)/f the destination's own stock-out day and lead the days in transit (the units sell
  after the destination's own stock and after they arrive; with lead ≤ T_own both are equal).
- **supply** at (g, s) [units]: the on-hand excess ⌊min(on_hand, max(excess_units − inbound,
  0))⌋ (inbound units are the newest, so they are the excess first; see
  :func:`deadstock.decide.from_run.excess_on_hand`).
- **space** at t: capacity_units − Σ (on_hand + inbound) of every SKU at t [units], and
  capacity_volume − Σ (on_hand + inbound) · volume [litres] (SKUs without a volume count 0 L),
  shared by every SKU moving in (units moving out of t are not credited: conservative).
- **value at the destination** [currency/unit]: the thesis' keep value of the unit at t,
  v = Ps_t/(1+Re)^De_t − keep cost(De_t), with the keep cost of :func:`costs.keep_components`
  (holding, working capital, capacity term) and De_t = (start + H)/2, the SPEC §3.3 rule (the
  mean of the stock-out day and the threshold) applied after the destination's own stock and
  the transit: the transferred units sell between ``start`` and H. It is the latest mean sale
  day (exact when the lane fills the room; fewer units sell earlier), so v is conservative.
- **gain** [currency/unit]: v − lane cost − the value of the unit's best alternative at the
  source (``alternative_value``, :func:`alternative_values`: max over the available actions of
  lost_sale − cost, i.e. npv per unit of keeping or clearing there).

The plan maximises Σ gain · x over lanes with gain > 0 subject to Σ_t x ≤ supply(g, s),
Σ_s x ≤ room(g, t), x ≤ lane room, Σ_{g,s} x ≤ space_units(t), Σ_{g,s} volume · x ≤
space_volume(t), x whole and 0 or ≥ transfer_min_units (:func:`solve_transport`).

**Integrality.** With unit-space rows only, the problem is a maximum-gain flow on the network
super-source → (g, s) [capacity: supply] → (g, t) [one arc per lane, capacity: lane room] →
location t [capacity: room(g, t)] → super-sink [capacity: space_units(t)]; flow conservation
turns the arc flows into the row sums above. Network matrices are totally unimodular, so with
whole capacities every vertex is whole (the integrality theorem of network flows; Ahuja,
Magnanti & Orlin 1993, Network Flows): without volume rows and with a minimum lot of 1 the
simplex vertex *is* the integer optimum (gap 0). Otherwise the vertex is floored (every row is
Σ a·x ≤ b with a ≥ 0, so lowering any x keeps every row: feasibility is kept), lanes below the
minimum lot are set to 0 (the same argument), and the room freed is refilled greedily by gain.
The LP optimum bounds every integer plan from above; when the gap exceeds ``decision_gap`` and
the problem is small, a HiGHS MILP (whole or semi-integer units) starts from the rounded plan.
With many lanes and space rows the LP is solved by sifting (column generation, as in
:mod:`deadstock.decide.coupled`): dense space rows slow the simplex on the full problem.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp

from deadstock.decide.costs import ACTIONS, Economy, FloatArray, discount_factor, keep_components
from deadstock.decide.problem import IntArray, Problem, build_problem
from deadstock.errors import InputError
from deadstock.schema import DEFAULT_LOCATION, Column, TableSchema

#: Gains at or below this are no gain [currency/unit] (float noise of equal values).
GAIN_TOLERANCE = 1e-9
#: Distance from a whole number still counted as it when flooring units [units].
UNIT_TOLERANCE = 1e-6
#: Largest number of lanes sent to the MILP when rounding leaves a gap [lanes].
MILP_MAX_LANES = 50_000
#: Problems with more lanes and shared space rows are solved by sifting [lanes].
SIFTING_MIN_LANES = 20_000
#: HiGHS LP solver, and the simplex strategy of re-solves after lanes join (4 = primal: the
#: basis stays primal feasible when columns are added).
SOLVER_OPTION = "simplex"
RESOLVE_STRATEGY = 4

S, F = pl.String, pl.Float64

#: The ``transfers`` table: one row per lane that moves units.
TRANSFERS = TableSchema(
    "transfers",
    "one SKU moved from one location to another (SPEC §3.5 transfer)",
    (
        Column("sku", S, "-", "Stock-keeping unit identifier"),
        Column("from_location", S, "-", "Location with excess the units leave"),
        Column("to_location", S, "-", "Location whose forecast absorbs them"),
        Column("units", F, "units", "Whole units moved"),
        Column("lane_cost", F, "currency/unit", "Transport and handling of one unit"),
        Column("lead_days", F, "days", "Days in transit"),
        Column(
            "expected_days_at_destination",
            F,
            "days",
            "De at the destination: mean of max(own stock-out day, lead) and the threshold",
        ),
        Column(
            "value_per_unit",
            F,
            "currency/unit",
            "Keep value at the destination: Ps/(1+Re)^De − holding − working capital − capacity",
        ),
        Column(
            "alternative_value",
            F,
            "currency/unit",
            "Value of the unit's best action at the source (keep or clear)",
        ),
        Column("alternative_action", S, "-", "That action"),
        Column(
            "gain_per_unit",
            F,
            "currency/unit",
            "value_per_unit − lane_cost − alternative_value",
        ),
        Column("gain", F, "currency", "gain_per_unit × units"),
    ),
    key=("sku", "from_location", "to_location"),
)

#: The per-source summary: one row per SKU-location that sends units.
BY_SOURCE_SCHEMA: dict[str, type[pl.DataType]] = {
    "sku": S,
    "location": S,
    "units_transferred": F,
    "gain": F,
}
#: The per-destination summary: one row per SKU-location that receives units.
BY_DESTINATION_SCHEMA: dict[str, type[pl.DataType]] = {
    "sku": S,
    "location": S,
    "units_received": F,
    "gain": F,
}


# ------------------------------------------------------------------------------------------------
# Kernel: the integer transportation problem
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TransportSolution:
    """A plan of whole units per lane and its proof.

    units [units] per lane; objective = Σ gain · units [currency]; bound ≥ every feasible plan's
    objective [currency] (LP optimum, or the MILP's dual bound); gap = (bound − objective) /
    max(|objective|, 1); status ``optimal`` (gap ≤ target) or ``gap_limit``; method ``none`` (no
    lane), ``lp`` (integral LP vertex), ``lp+rounding`` or ``milp``.
    """

    units: FloatArray
    objective: float
    bound: float
    gap: float
    status: str
    method: str


def whole_units(values: npt.ArrayLike) -> FloatArray:
    """⌊values⌋ ≥ 0 as floats [units]; within :data:`UNIT_TOLERANCE` below a whole number counts
    as it; NaN → 0."""
    x = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0)
    return np.maximum(np.floor(x + UNIT_TOLERANCE), 0.0)


def _gap(objective: float, bound: float) -> float:
    return max(bound - objective, 0.0) / max(abs(objective), 1.0)


def _constraint_matrix(
    source: IntArray,
    sink: IntArray,
    n_source: int,
    n_sink: int,
    space: sp.spmatrix | None,
) -> sp.csc_matrix:
    """[supply rows; room rows; space rows] × lanes, column-wise (each lane has ≥ 2 entries)."""
    lanes = len(source)
    ones = np.ones(lanes)
    columns = np.arange(lanes)
    parts = [
        sp.csr_matrix((ones, (source, columns)), shape=(n_source, lanes)),
        sp.csr_matrix((ones, (sink, columns)), shape=(n_sink, lanes)),
    ]
    if space is not None:
        parts.append(sp.csr_matrix(space))
    matrix = sp.vstack(parts).tocsc()
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def _lane_headroom(matrix: sp.csc_matrix, slack: FloatArray, room_left: FloatArray) -> FloatArray:
    """Whole units each lane could still add: min(room_left, min over its rows ⌊slack/a⌋)."""
    per_entry = np.floor(slack[matrix.indices] / matrix.data + 1e-9)
    by_row = np.minimum.reduceat(per_entry, matrix.indptr[:-1])
    return np.maximum(np.minimum(by_row, room_left), 0.0)


def _repair(
    matrix: sp.csc_matrix,
    limit: FloatArray,
    units: FloatArray,
    gain: FloatArray,
    min_units: float,
) -> FloatArray:
    """Lower units on rows above their limit (float noise of the rounding), least gain first.

    Lowering a lane to below the minimum lot takes it to 0; every row stays ≤ its limit.
    """
    units = units.copy()
    rows = matrix.tocsr()
    activity = rows @ units
    over = np.flatnonzero(activity > limit + 1e-9 * np.maximum(1.0, np.abs(limit)))
    for r in over:  # rows over their limit: none from an exact LP vertex, a few at most
        start, stop = rows.indptr[r], rows.indptr[r + 1]
        lanes = rows.indices[start:stop]
        coef = rows.data[start:stop]
        for k in np.argsort(gain[lanes], kind="stable"):
            excess = float(coef @ units[lanes]) - limit[r]
            if excess <= 1e-9 * max(1.0, abs(limit[r])):
                break
            lane = lanes[k]
            cut = min(units[lane], math.ceil(excess / coef[k] - 1e-9))
            left = units[lane] - cut
            units[lane] = left if left >= min_units else 0.0
    return units


def _greedy_fill(
    matrix: sp.csc_matrix,
    limit: FloatArray,
    upper: FloatArray,
    units: FloatArray,
    gain: FloatArray,
    min_units: float,
) -> FloatArray:
    """Add whole units to lanes with room on all their rows, the best gain first.

    Only lanes touching rows freed by the rounding can have room (at the LP optimum no lane with
    positive gain has slack on every row), so the loop runs over a handful of lanes.
    """
    units = units.copy()
    slack = limit - matrix @ units
    headroom = _lane_headroom(matrix, slack, upper - units)
    candidates = np.flatnonzero(
        (gain > GAIN_TOLERANCE) & (headroom >= np.where(units > 0, 1.0, min_units))
    )
    for lane in candidates[np.argsort(-gain[candidates], kind="stable")]:
        start, stop = matrix.indptr[lane], matrix.indptr[lane + 1]
        rows, coef = matrix.indices[start:stop], matrix.data[start:stop]
        add = min(upper[lane] - units[lane], float(np.min(np.floor(slack[rows] / coef + 1e-9))))
        if add < (1.0 if units[lane] > 0 else min_units):
            continue
        units[lane] += add
        slack[rows] -= add * coef
    return units


def _model(
    gain: FloatArray, lower: FloatArray, upper: FloatArray, matrix: sp.csc_matrix, limit: FloatArray
) -> Any:
    """The HiGHS model min −gain·x, A x ≤ limit, lower ≤ x ≤ upper (A column-wise)."""
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_ = len(gain)
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = -gain
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = np.full(matrix.shape[0], -highspy.kHighsInf)
    lp.row_upper_ = limit
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data
    return lp


def _beyond_prefixes(
    gain: FloatArray, upper: FloatArray, space: sp.csr_matrix, limit: FloatArray
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Lanes to leave out of the first working set, and the space rows that look tight.

    Per space row, the lanes of best gain per unit of space until they could fill twice the
    row's limit form its prefix; a row is tight when its prefix leaves lanes out. Returns
    (lanes outside the prefix of some tight row, tight rows).
    """
    beyond = np.zeros(space.shape[1], dtype=bool)
    tight = np.zeros(space.shape[0], dtype=bool)
    for r in range(space.shape[0]):  # one vectorised pass per space row (a few per location)
        lanes = space.indices[space.indptr[r] : space.indptr[r + 1]]
        coef = space.data[space.indptr[r] : space.indptr[r + 1]]
        order = np.argsort(-gain[lanes] / coef, kind="stable")
        filled = np.cumsum(coef[order] * upper[lanes[order]])
        take = min(int(np.searchsorted(filled, 2.0 * limit[r], side="right")) + 1, lanes.size)
        tight[r] = take < lanes.size
        beyond[lanes[order[take:]]] = True
    return beyond, tight


def _solve_lp(
    gain: FloatArray,
    upper: FloatArray,
    matrix: sp.csc_matrix,
    limit: FloatArray,
    first_space: int,
    deadline: float,
) -> tuple[FloatArray, float]:
    """The LP optimum (a simplex vertex) and its value [currency].

    With shared space rows and many lanes, by sifting (column generation, as in
    :mod:`deadstock.decide.coupled`) and lazy rows. Space rows that could be binding (the lanes
    of best gain per unit of space more than fill twice the limit) are in the model, and the
    lanes beyond that prefix of such a row start outside; the other rows wait until a solution
    breaks them. The LP over the working lanes and rows gives row prices π ≥ 0 (0 for rows not
    in the model); lanes outside with reduced gain g − Aᵀπ > 0 join, rows the solution breaks
    join (lanes beyond their prefix leave), until
    neither happens: the working optimum is then feasible for all rows and optimal for a
    relaxation, hence optimal. Dense space rows make the simplex slow on the full problem; a
    binding row leaves few lanes in use, a loose one needs no row at all.
    """
    from deadstock.decide.coupled import SolverLimitError, _highs

    lanes = len(gain)
    n_rows = matrix.shape[0]
    space_row = np.arange(n_rows) >= first_space
    sifting = n_rows > first_space and lanes > SIFTING_MIN_LANES
    space = matrix[first_space:, :].tocsr()
    if sifting:
        beyond, tight = _beyond_prefixes(gain, upper, space, limit[first_space:])
        active = np.concatenate([np.ones(first_space, dtype=bool), tight])
        working = ~beyond
    else:
        active = np.ones(n_rows, dtype=bool)
        working = np.ones(lanes, dtype=bool)
    tolerance = 1e-9 * np.maximum(1.0, np.abs(limit))
    h: Any = None
    local = np.full(n_rows, -1, dtype=np.int64)
    while True:
        if h is None:  # (re)build over the working lanes and the active rows they touch
            columns = np.flatnonzero(working)
            touched = np.diff(matrix[:, columns].tocsr().indptr) > 0
            rows = np.flatnonzero(touched & active)
            local[:] = -1
            local[rows] = np.arange(rows.size)
            sub = matrix[rows][:, columns].tocsc()
            sub.sort_indices()
            h = _highs(deadline - time.monotonic())
            h.setOptionValue("solver", SOLVER_OPTION)
            h.passModel(
                _model(gain[columns], np.zeros(columns.size), upper[columns], sub, limit[rows])
            )
        h.setOptionValue("time_limit", float(max(deadline - time.monotonic(), 0.1)))
        h.run()
        status = h.modelStatusToString(h.getModelStatus())
        if status != "Optimal":
            raise SolverLimitError(
                f"The transfer LP stopped ({status}) before it was solved.",
                fix="raise decision_time_limit.",
            )
        sol = h.getSolution()
        units = np.zeros(lanes)
        units[columns] = np.asarray(sol.col_value, dtype=np.float64)
        if not sifting:
            break
        broken = space_row & ~active & (matrix @ units > limit + tolerance)
        if broken.any():
            new = broken[first_space:]
            active |= broken
            beyond, _ = _beyond_prefixes(gain, upper, space[new], limit[first_space:][new])
            working &= ~beyond
            h = None
            continue
        prices = np.zeros(n_rows)
        prices[rows] = np.maximum(-np.asarray(sol.row_dual, dtype=np.float64), 0.0)
        reduced = gain - matrix.T @ prices
        enter = np.flatnonzero(
            ~working & (upper > 0) & (reduced > 1e-9 * np.maximum(1.0, np.abs(gain)))
        )
        if enter.size == 0:
            break
        enter = enter[np.argsort(-reduced[enter], kind="stable")[: max(columns.size, 10_000)]]
        block = matrix[:, enter].tocoo()
        keep = active[block.row]
        block_rows, block_cols, block_vals = block.row[keep], block.col[keep], block.data[keep]
        new_rows = np.setdiff1d(block_rows, rows)
        if new_rows.size:
            h.addRows(
                int(new_rows.size),
                np.full(new_rows.size, -np.inf),
                limit[new_rows],
                0,
                np.zeros(new_rows.size, dtype=np.int32),
                np.zeros(0, dtype=np.int32),
                np.zeros(0),
            )
            local[new_rows] = np.arange(rows.size, rows.size + new_rows.size)
            rows = np.concatenate([rows, new_rows])
        added = sp.csc_matrix(
            (block_vals, (local[block_rows], block_cols)), shape=(rows.size, enter.size)
        )
        added.sort_indices()
        h.addCols(
            int(enter.size),
            -gain[enter],
            np.zeros(enter.size),
            upper[enter],
            int(added.nnz),
            added.indptr[:-1].astype(np.int32),
            added.indices.astype(np.int32),
            added.data,
        )
        working[enter] = True
        columns = np.concatenate([columns, enter])
        h.setOptionValue("simplex_strategy", RESOLVE_STRATEGY)
    return units, -float(h.getInfo().objective_function_value)


def _solve_milp(
    gain: FloatArray,
    lot: float,
    upper: FloatArray,
    matrix: sp.csc_matrix,
    limit: FloatArray,
    time_limit: float,
    start: FloatArray,
    gap_target: float,
) -> tuple[FloatArray | None, float]:
    """The whole-unit plan by HiGHS branch and bound, warm-started from ``start``: whole units,
    0 or ≥ ``lot`` (semi-integer columns). Returns (plan or None, upper bound [currency])."""
    import highspy

    from deadstock.decide.coupled import _highs

    semi = (lot > 1) & (upper >= lot)
    lp = _model(gain, np.where(semi, lot, 0.0), upper, matrix, limit)
    lp.integrality_ = [
        highspy.HighsVarType.kSemiInteger if s else highspy.HighsVarType.kInteger for s in semi
    ]
    h = _highs(time_limit)
    h.setOptionValue("mip_rel_gap", float(gap_target))
    h.passModel(lp)
    solution = highspy.HighsSolution()
    solution.col_value = list(start)
    solution.value_valid = True
    h.setSolution(solution)
    h.run()
    bound = -float(h.getInfo().mip_dual_bound)
    sol = h.getSolution()
    if not sol.value_valid:
        return None, bound
    return np.asarray(np.round(np.asarray(sol.col_value)), dtype=np.float64), bound


def solve_transport(
    gain: npt.ArrayLike,
    upper: npt.ArrayLike,
    source: npt.ArrayLike,
    supply: npt.ArrayLike,
    sink: npt.ArrayLike,
    room: npt.ArrayLike,
    space: sp.spmatrix | None = None,
    space_limit: npt.ArrayLike | None = None,
    *,
    min_units: int = 1,
    time_limit: float = 60.0,
    gap_target: float = 1e-6,
    milp_max_lanes: int = MILP_MAX_LANES,
) -> TransportSolution:
    """Whole units per lane maximising Σ gain · x (the integer transportation problem).

    Per lane l: gain [currency/unit], upper [units] (the lane's own room), source / sink (row
    indices into ``supply`` / ``room`` [units]). ``space`` (m × lanes, coefficients ≥ 0, e.g. 1
    or litres/unit) with ``space_limit`` (m) adds shared rows. Constraints: Σ_{l∈s} x ≤ supply,
    Σ_{l∈t} x ≤ room, space · x ≤ space_limit, 0 ≤ x ≤ upper, x whole and 0 or ≥ min_units.
    supply, room and upper are floored to whole units; lanes with gain ≤ 0 stay at 0.

    LP vertex (HiGHS simplex), floor, minimum lot, repair of float noise, greedy refill; then,
    when the gap to the LP bound exceeds ``gap_target`` and there are at most
    ``milp_max_lanes`` lanes, a HiGHS MILP warm-started from that plan (see the module doc).
    """
    gain = np.asarray(gain, dtype=np.float64)
    lanes = len(gain)
    source = np.asarray(source, dtype=np.int64)
    sink = np.asarray(sink, dtype=np.int64)
    supply = whole_units(supply)
    room = whole_units(room)
    lot = float(max(int(min_units), 1))
    upper = whole_units(upper)
    upper = np.where((gain > GAIN_TOLERANCE) & (upper >= lot), upper, 0.0)
    if space is not None:
        extra_limit = np.maximum(np.asarray(space_limit, dtype=np.float64), 0.0)
    else:
        extra_limit = np.zeros(0)
    if lanes == 0 or not upper.any():
        return TransportSolution(np.zeros(lanes), 0.0, 0.0, 0.0, "optimal", "none")
    deadline = time.monotonic() + time_limit
    matrix = _constraint_matrix(source, sink, len(supply), len(room), space)
    limit = np.concatenate([supply, room, extra_limit])
    lp_units, bound = _solve_lp(gain, upper, matrix, limit, len(supply) + len(room), deadline)
    units = np.minimum(np.floor(lp_units + UNIT_TOLERANCE), upper)
    units = np.maximum(units, 0.0)
    integral = bool(np.all(np.abs(units - lp_units) <= UNIT_TOLERANCE))
    units[units < lot] = 0.0
    units = _repair(matrix, limit, units, gain, lot)
    units = _greedy_fill(matrix, limit, upper, units, gain, lot)
    objective = float(gain @ units)
    bound = max(bound, objective)
    method = "lp" if integral and np.array_equal(units, np.round(lp_units)) else "lp+rounding"
    left = deadline - time.monotonic()
    if _gap(objective, bound) > gap_target and lanes <= milp_max_lanes and left > 0:
        milp_units, milp_bound = _solve_milp(
            gain, lot, upper, matrix, limit, left, units, gap_target
        )
        if milp_units is not None:
            milp_units = _repair(matrix, limit, np.clip(milp_units, 0.0, upper), gain, lot)
            if float(gain @ milp_units) > objective:
                units, objective, method = milp_units, float(gain @ milp_units), "milp"
        bound = max(min(bound, milp_bound), objective)
    gap = _gap(objective, bound)
    status = "optimal" if gap <= gap_target else "gap_limit"
    return TransportSolution(units, objective, bound, gap, status, method)


# ------------------------------------------------------------------------------------------------
# The best alternative at the source
# ------------------------------------------------------------------------------------------------
def best_alternative(problem: Problem) -> tuple[FloatArray, IntArray]:
    """Per SKU, the value of its best available action [currency/unit] and its ACTIONS index.

    Value of action a = lost_sale − cost_a with lost_sale = Ps/(1+Re)^De (the thesis frame of
    :mod:`deadstock.decide.engine`): keep → the discounted sale less holding, working capital and
    capacity; a clearing action → proceeds − transport. Ties go to the first action in ACTIONS
    (keep), as in the optimiser; NaN (index −1) when the SKU has no allowed action or no price.
    """
    params = problem.params
    lost_sale = params["price"] * discount_factor(
        params["expected_days_in_stock"], problem.economy.discount_rate_excess
    )
    value = np.where(problem.allowed, lost_sale[:, None] - problem.unit_cost_matrix, -np.inf)
    best = np.argmax(value, axis=1)
    top = value[np.arange(problem.n), best]
    ok = np.isfinite(top)
    return np.where(ok, top, np.nan), np.where(ok, best, -1).astype(np.int64)


#: Columns of the decision parameter table carried into :func:`alternative_values`' result:
#: what :func:`plan_transfers` needs to price a unit at its destination.
CARRIED_PARAMS: tuple[str, ...] = (
    "unit_cost",
    "holding_cost_per_day",
    "current_days_in_stock",
    "payment_days",
)


def alternative_values(
    params: pl.DataFrame,
    config: Any,
    actions: Sequence[str] | None = None,
    problem: Problem | None = None,
) -> pl.DataFrame:
    """The value per unit of each SKU-location's best non-transfer action (SPEC §3.5).

    ``params``: the decision parameter table (:func:`deadstock.decide.from_run.decision_params`
    or a ``decide`` input); ``config``: a :class:`deadstock.config.Config` (its economy and
    ``decision_actions``, unless ``actions`` is given). ``problem``: the decision engine's
    problem of the same rows (``DecisionResult.problem``), so that its markdown options and
    per-SKU restrictions count; without it the problem is built from ``params`` alone (no
    coupling rows, the α term as set). Columns: sku, location (when ``params`` has it),
    alternative_value [currency/unit] (blank without a price), alternative_action, then
    unit_cost, holding_cost_per_day, current_days_in_stock and payment_days as in ``params``.
    """
    if problem is not None and problem.n != params.height:
        raise ValueError(
            f"The 'problem' has {problem.n} rows but 'params' has {params.height}; pass the "
            "problem decided from these params."
        )
    if params.height == 0:
        value = np.zeros(0)
        best = np.zeros(0, dtype=np.int64)
    else:
        if problem is None:
            allowed = tuple(actions) if actions is not None else tuple(config.decision_actions)
            problem = build_problem(params, Economy.from_config(config), allowed)
        value, best = best_alternative(problem)
    key = [c for c in ("sku", "location") if c in params.columns]
    names = pl.Series([*ACTIONS, None], dtype=S)
    carried = [
        params[c].cast(F) if c in params.columns else pl.lit(None, dtype=F).alias(c)
        for c in CARRIED_PARAMS
    ]
    return params.select(
        pl.col("sku").cast(S),
        *([pl.col("location").cast(S)] if "location" in key else []),
        pl.Series("alternative_value", value, dtype=F).fill_nan(None),
        names.gather(np.where(best < 0, len(ACTIONS), best)).alias("alternative_action"),
        *carried,
    )


# ------------------------------------------------------------------------------------------------
# Table API
# ------------------------------------------------------------------------------------------------
@dataclass
class TransferPlan:
    """The transfers of a run and how they were found.

    transfers: :data:`TRANSFERS` rows; by_source: sku, location, units_transferred [units],
    gain [currency] (what the decision engine takes off each source's excess); by_destination:
    sku, location, units_received [units], gain [currency]. gain / bound / gap / status / method
    as in :class:`TransportSolution` (status ``disabled`` or ``single_location`` when nothing
    was solved). ``counts``: sources, destinations and candidate lanes with a positive gain.
    """

    transfers: pl.DataFrame
    by_source: pl.DataFrame
    by_destination: pl.DataFrame
    gain: float = 0.0
    bound: float = 0.0
    gap: float = 0.0
    status: str = "optimal"
    method: str = "none"
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly figures of the plan [units, currency]."""
        return {
            "transfers": self.transfers.height,
            "units": float(self.transfers["units"].sum()) if self.transfers.height else 0.0,
            "gain": self.gain,
            "bound": self.bound,
            "gap": self.gap,
            "status": self.status,
            "method": self.method,
            "seconds": self.seconds,
            **self.counts,
        }


def _empty_plan(status: str, started: float, counts: dict[str, int] | None = None) -> TransferPlan:
    return TransferPlan(
        pl.DataFrame(schema=TRANSFERS.polars_schema()),
        pl.DataFrame(schema=BY_SOURCE_SCHEMA),
        pl.DataFrame(schema=BY_DESTINATION_SCHEMA),
        status=status,
        seconds=time.monotonic() - started,
        counts=counts or {"sources": 0, "destinations": 0, "lanes": 0},
    )


def _number(frame: pl.DataFrame, name: str) -> pl.Expr:
    """``name`` as Float64 when the frame has it, else a null column."""
    if name in frame.columns:
        return pl.col(name).cast(F, strict=False)
    return pl.lit(None, dtype=F)


def _whole(name: str) -> pl.Expr:
    """:func:`whole_units` as an expression [units]."""
    return (pl.col(name).fill_nan(0.0) + UNIT_TOLERANCE).floor().clip(lower_bound=0.0)


def _location(frame: pl.DataFrame, name: str = "location") -> pl.Expr:
    if name in frame.columns:
        return pl.col(name).cast(S).fill_null(DEFAULT_LOCATION)
    return pl.lit(DEFAULT_LOCATION, dtype=S)


def check_lanes(lanes: pl.DataFrame) -> pl.DataFrame:
    """The ``lanes`` table as from_location, to_location, cost_per_unit, lead_days (Float64).

    Raises :class:`InputError` (file ``lanes``, 1-based row, column) for a missing required
    column, a blank location, a lane to itself, a repeated lane, or a cost or lead time that is
    not a number ≥ 0 (blank is allowed: the settings' defaults apply).
    """
    for name in ("from_location", "to_location"):
        if name not in lanes.columns:
            raise InputError(
                f"the lanes table has no '{name}' column.",
                file="lanes",
                column=name,
                fix="give lanes the columns from_location, to_location and cost_per_unit.",
            )
    frame = lanes.select(
        pl.col("from_location").cast(S).str.strip_chars(),
        pl.col("to_location").cast(S).str.strip_chars(),
        *[
            pl.col(c).alias(f"_raw_{c}") if c in lanes.columns else pl.lit(None).alias(f"_raw_{c}")
            for c in ("cost_per_unit", "lead_days")
        ],
    ).with_row_index("_row", offset=1)

    def fail(mask: pl.Expr, column: str, message: str, fix: str) -> None:
        bad = frame.filter(mask)
        if bad.height:
            first = bad.row(0, named=True)
            raise InputError(
                message.format(**first), file="lanes", row=first["_row"], column=column, fix=fix
            )

    for name in ("from_location", "to_location"):
        fail(
            pl.col(name).is_null() | (pl.col(name) == ""),
            name,
            f"the {name} is blank.",
            "give every lane both locations.",
        )
    fail(
        pl.col("from_location") == pl.col("to_location"),
        "to_location",
        "the lane goes from {from_location} to itself.",
        "remove the row.",
    )
    fail(
        ~pl.struct("from_location", "to_location").is_first_distinct(),
        "to_location",
        "the lane {from_location} → {to_location} appears twice.",
        "give each lane one row.",
    )
    for name in ("cost_per_unit", "lead_days"):
        raw = pl.col(f"_raw_{name}")
        text = raw.cast(S).str.strip_chars()
        value = text.cast(F, strict=False)
        frame = frame.with_columns(
            pl.when(text == "").then(None).otherwise(value).alias(name),
            (text.is_not_null() & (text != "") & (value.is_null() | ~value.is_finite())).alias(
                "_bad"
            ),
        )
        fail(
            pl.col("_bad"),
            name,
            f"the {name} must be a number. Got {{_raw_{name}!r}}.",
            "write a number ≥ 0, or leave it blank for the setting's default.",
        )
        fail(
            pl.col(name) < 0,
            name,
            f"the {name} must be ≥ 0. Got {{{name}}}.",
            "write a number ≥ 0, or leave it blank for the setting's default.",
        )
    return frame.select("from_location", "to_location", "cost_per_unit", "lead_days")


def _space_rows(
    lanes: pl.DataFrame, stock: pl.DataFrame, locations: pl.DataFrame | None
) -> tuple[sp.csr_matrix | None, FloatArray]:
    """Shared space rows of the destinations: units (coefficient 1) and litres (volume)."""
    if locations is None or locations.height == 0:
        return None, np.zeros(0)
    used = stock.group_by("location").agg(
        pl.col("_held").sum().alias("_units"),
        (pl.col("_held") * pl.col("_volume")).sum().alias("_litres"),
    )
    places = (
        locations.select(
            _location(locations),
            _number(locations, "capacity_units").alias("capacity_units"),
            _number(locations, "capacity_volume").alias("capacity_volume"),
        )
        .unique("location", keep="first")
        .join(used, on="location", how="left")
        .with_columns(pl.col("_units", "_litres").fill_null(0.0))
    )
    rows_i: list[FloatArray] = []
    cols_i: list[FloatArray] = []
    vals: list[FloatArray] = []
    limits: list[FloatArray] = []
    count = 0
    for capacity, held, coefficient, whole in (
        ("capacity_units", "_units", pl.lit(1.0), True),
        ("capacity_volume", "_litres", pl.col("_volume"), False),
    ):
        free = (pl.col(capacity) - pl.col(held)).clip(lower_bound=0.0)
        rows = (
            places.filter(pl.col(capacity).is_not_null())
            .select("location", free.alias("_free"))
            .with_row_index("_space")
        )
        if rows.height == 0:
            continue
        entries = (
            lanes.with_row_index("_lane")
            .select("_lane", pl.col("to_location").alias("location"), coefficient.alias("_coef"))
            .join(rows, on="location", how="inner")
            .filter(pl.col("_coef") > 0)
        )
        rows_i.append(entries["_space"].to_numpy() + count)
        cols_i.append(entries["_lane"].to_numpy())
        vals.append(entries["_coef"].to_numpy())
        free_values = rows["_free"].to_numpy()
        limits.append(whole_units(free_values) if whole else free_values)
        count += rows.height
    if count == 0:
        return None, np.zeros(0)
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows_i), np.concatenate(cols_i))),
        shape=(count, lanes.height),
    )
    return matrix, np.concatenate(limits)


def plan_transfers(
    classification: pl.DataFrame,
    prices: pl.DataFrame,
    alternatives: pl.DataFrame,
    config: Any,
    *,
    lanes: pl.DataFrame | None = None,
    locations: pl.DataFrame | None = None,
    products: pl.DataFrame | None = None,
) -> TransferPlan:
    """Transfers of excess units between locations that add the most value (module doc).

    - ``classification``: sku, location, on_hand, inbound, forecast_daily, excess_units,
      unit_cost (the run's table).
    - ``prices``: sku, location, price [currency/unit] (the run's sku_metrics).
    - ``alternatives``: sku, location, alternative_value [currency/unit] (and optionally
      alternative_action, unit_cost, holding_cost_per_day, current_days_in_stock,
      payment_days: :func:`alternative_values`). Sources without a value are not moved.
    - ``lanes``: from_location, to_location, cost_per_unit, lead_days (:func:`check_lanes`);
      without it every ordered pair of locations is a lane at transfer_cost_per_unit and
      transfer_lead_days; with it only the listed lanes (blank cost / lead → the settings).
    - ``locations``: capacity_units / capacity_volume (shared space at the destinations);
      ``products``: volume [litres/unit], holding_cost_per_day.
    - ``config``: excess_threshold_days, transfer_* settings, the thesis economy,
      holding_cost_rate_yearly, decision_time_limit and decision_gap.

    Holding cost Cs: alternatives', else the product's, else unit_cost ×
    holding_cost_rate_yearly / 365; working capital with the source's Dc and P when given, else
    as already paid (Fc = 1). One location, or ``transfer_enabled`` off: an empty plan, no solve.
    """
    started = time.monotonic()
    if not config.transfer_enabled:
        return _empty_plan("disabled", started)
    stock = classification.select(
        pl.col("sku").cast(S),
        _location(classification),
        _number(classification, "on_hand").fill_null(0.0).clip(lower_bound=0.0).alias("on_hand"),
        _number(classification, "inbound").fill_null(0.0).clip(lower_bound=0.0).alias("inbound"),
        _number(classification, "forecast_daily")
        .fill_null(0.0)
        .fill_nan(0.0)
        .clip(lower_bound=0.0)
        .alias("forecast_daily"),
        _number(classification, "excess_units").fill_null(0.0).alias("excess_units"),
        _number(classification, "unit_cost").alias("_class_cost"),
    )
    if stock["location"].n_unique() < 2:
        return _empty_plan("single_location", started)
    if products is not None and "sku" in products.columns:
        per_product = products.select(
            pl.col("sku").cast(S),
            _number(products, "volume").alias("_volume"),
            _number(products, "holding_cost_per_day").alias("_product_holding"),
        ).unique("sku", keep="first")
        stock = stock.join(per_product, on="sku", how="left")
    else:
        stock = stock.with_columns(
            pl.lit(None, dtype=F).alias("_volume"), pl.lit(None, dtype=F).alias("_product_holding")
        )
    stock = stock.with_columns(
        (pl.col("on_hand") + pl.col("inbound")).alias("_held"),
        pl.col("_volume").fill_null(0.0),
    )
    horizon = float(config.excess_threshold_days)
    lot = int(config.transfer_min_units)
    f = pl.col("forecast_daily")

    alt_cols = alternatives.columns
    sources = (
        stock.select(
            "sku",
            pl.col("location").alias("from_location"),
            pl.min_horizontal(
                pl.col("on_hand"), (pl.col("excess_units") - pl.col("inbound")).clip(0.0)
            ).alias("_supply_raw"),
            "_class_cost",
            "_product_holding",
        )
        .with_columns(_whole("_supply_raw").alias("supply"))
        .filter(pl.col("supply") >= lot)
        .join(
            alternatives.select(
                pl.col("sku").cast(S),
                _location(alternatives).alias("from_location"),
                _number(alternatives, "alternative_value").alias("alternative_value"),
                (
                    pl.col("alternative_action").cast(S)
                    if "alternative_action" in alt_cols
                    else pl.lit(None, dtype=S)
                ).alias("alternative_action"),
                *[_number(alternatives, c).alias(f"_alt_{c}") for c in CARRIED_PARAMS],
            ).unique(["sku", "from_location"], keep="first"),
            on=["sku", "from_location"],
            how="inner",
        )
        .filter(pl.col("alternative_value").is_not_null() & pl.col("alternative_value").is_finite())
    )
    price_table = prices.select(
        pl.col("sku").cast(S),
        _location(prices).alias("to_location"),
        _number(prices, "price").alias("price"),
    ).unique(["sku", "to_location"], keep="first")
    destinations = (
        stock.filter(f > 0)
        .select(
            "sku",
            pl.col("location").alias("to_location"),
            "forecast_daily",
            (f * horizon - pl.col("_held")).alias("_room_raw"),
            (pl.col("_held") / f).alias("own_days"),
            "_volume",
        )
        .with_columns(_whole("_room_raw").alias("room"))
        .filter(pl.col("room") >= lot)
        .join(price_table, on=["sku", "to_location"], how="inner")
        .filter(pl.col("price").is_not_null() & pl.col("price").is_finite())
    )
    counts = {"sources": sources.height, "destinations": destinations.height, "lanes": 0}
    default_cost = float(config.transfer_cost_per_unit)
    default_lead = float(config.transfer_lead_days)
    candidates = sources.join(destinations, on="sku", how="inner").filter(
        pl.col("from_location") != pl.col("to_location")
    )
    if lanes is not None:
        candidates = candidates.join(
            check_lanes(lanes), on=["from_location", "to_location"], how="inner"
        )
    else:
        candidates = candidates.with_columns(
            pl.lit(None, dtype=F).alias("cost_per_unit"), pl.lit(None, dtype=F).alias("lead_days")
        )
    candidates = (
        candidates.with_columns(
            pl.col("cost_per_unit").fill_null(default_cost).alias("lane_cost"),
            pl.col("lead_days").fill_null(default_lead),
        )
        .with_columns(pl.max_horizontal("own_days", "lead_days").alias("_start"))
        .filter(pl.col("_start") < horizon)
        .with_columns(
            (f * (horizon - pl.col("_start"))).alias("_cap_raw"),
            ((pl.col("_start") + horizon) / 2.0).alias("expected_days_at_destination"),
        )
        .sort("sku", "from_location", "to_location")
    )
    if candidates.height == 0:
        return _empty_plan("optimal", started, counts)

    economy = Economy.from_config(config)
    unit_cost = _first_finite(
        _floats(candidates, "_alt_unit_cost"), _floats(candidates, "_class_cost")
    )
    days = _floats(candidates, "expected_days_at_destination")
    holding = np.nan_to_num(
        _first_finite(
            _floats(candidates, "_alt_holding_cost_per_day"),
            _floats(candidates, "_product_holding"),
            unit_cost * float(config.holding_cost_rate_yearly) / 365.0,
        ),
        nan=0.0,
    )
    dc = _floats(candidates, "_alt_current_days_in_stock")
    pay = _floats(candidates, "_alt_payment_days")
    known = np.isfinite(dc) & np.isfinite(pay)
    financed_now = np.where(known, dc >= pay, True)
    financed_future = known & (dc < pay) & (pay <= dc + days)
    keep = keep_components(
        {
            "expected_days_in_stock": days,
            "current_days_in_stock": np.where(known, dc, 0.0),
            "payment_days": np.where(known, pay, 0.0),
            "financed_now": financed_now.astype(np.float64),
            "financed_future": financed_future.astype(np.float64),
            "holding_cost_per_day": holding,
            "unit_cost": np.nan_to_num(unit_cost, nan=0.0),
        },
        economy,
    )
    price = _floats(candidates, "price")
    value = price * discount_factor(days, economy.discount_rate_excess) - sum(keep.values())
    lane_cost = _floats(candidates, "lane_cost")
    alternative = _floats(candidates, "alternative_value")
    gain = value - lane_cost - alternative
    candidates = candidates.with_columns(
        pl.Series("value_per_unit", value), pl.Series("gain_per_unit", gain)
    ).filter(pl.col("gain_per_unit") > GAIN_TOLERANCE)
    counts["lanes"] = candidates.height
    if candidates.height == 0:
        return _empty_plan("optimal", started, counts)

    source_keys = candidates.select("sku", "from_location").unique(maintain_order=True)
    sink_keys = candidates.select("sku", "to_location").unique(maintain_order=True)
    candidates = candidates.join(
        source_keys.with_row_index("_source"), on=["sku", "from_location"], how="left"
    ).join(sink_keys.with_row_index("_sink"), on=["sku", "to_location"], how="left")
    supply = candidates.group_by("_source").agg(pl.col("supply").first()).sort("_source")
    room = candidates.group_by("_sink").agg(pl.col("room").first()).sort("_sink")
    space, space_limit = _space_rows(candidates, stock, locations)
    solution = solve_transport(
        candidates["gain_per_unit"].to_numpy(),
        candidates["_cap_raw"].to_numpy(),
        candidates["_source"].to_numpy(),
        supply["supply"].to_numpy(),
        candidates["_sink"].to_numpy(),
        room["room"].to_numpy(),
        space,
        space_limit,
        min_units=lot,
        time_limit=float(config.decision_time_limit),
        gap_target=float(config.decision_gap),
    )
    moved = candidates.with_columns(pl.Series("units", solution.units)).filter(pl.col("units") > 0)
    transfers = moved.with_columns(
        (pl.col("gain_per_unit") * pl.col("units")).alias("gain")
    ).select(TRANSFERS.names)
    by_source = (
        transfers.group_by("sku", "from_location", maintain_order=True)
        .agg(pl.col("units").sum().alias("units_transferred"), pl.col("gain").sum())
        .rename({"from_location": "location"})
        .sort("sku", "location")
    )
    by_destination = (
        transfers.group_by("sku", "to_location", maintain_order=True)
        .agg(pl.col("units").sum().alias("units_received"), pl.col("gain").sum())
        .rename({"to_location": "location"})
        .sort("sku", "location")
    )
    return TransferPlan(
        transfers,
        by_source,
        by_destination,
        gain=solution.objective,
        bound=solution.bound,
        gap=solution.gap,
        status=solution.status,
        method=solution.method,
        seconds=time.monotonic() - started,
        counts=counts,
    )


def _first_finite(*arrays: npt.ArrayLike) -> FloatArray:
    """Element-wise the first finite value of ``arrays`` (NaN when none is)."""
    out = np.full(np.shape(arrays[0]), np.nan)
    for candidate in reversed(arrays):
        values = np.asarray(candidate, dtype=np.float64)
        out = np.where(np.isfinite(values), values, out)
    return out


def _floats(frame: pl.DataFrame, name: str) -> FloatArray:
    """Column ``name`` as a float64 array, null → NaN."""
    return frame[name].cast(F).fill_null(np.nan).to_numpy().astype(np.float64)
