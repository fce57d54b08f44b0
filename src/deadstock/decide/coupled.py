"""Coupled decision problems: exact decomposition on HiGHS with a proven bound.

The binary programme min Σ_g Σ_a c_ga x_ga, Σ_a x_ga = 1, Σ_{g,a} A_r,ga x_ga ≤ b_r for a few
coupling rows r (capacity, supplier caps, a liquidation lot) separates per SKU once the rows are
priced. The method:

1. **Collapse and prune** (exact). Actions in no coupling row collapse to the cheapest of them
   (the "free" option); a coupled option that costs at least the free one and uses no less of
   any row is dominated. SKUs left with one option are fixed.
2. **LP relaxation by sifting.** A dual estimate λ comes from the LP of a random sample of the
   open SKUs with proportionally scaled rows (for large problems). SKUs whose best and second
   option under λ are close form the working set; the others are fixed at their λ-best option.
   The working-set LP (HiGHS simplex) gives new duals; fixed SKUs whose λ-best option changed
   join the set, until none does. The result is the exact LP optimum, and the Lagrangian value
   L(λ) = Σ_g min_a (c_ga + λ·A_ga) − λ·b is a proven lower bound (weak duality).
3. **Rounding** of the ≤ m fractional SKUs of the basic LP solution to a feasible plan, then a
   greedy fill of the room left (upper bound UB).
4. **Reduced-cost fixing** (exact): an option whose reduced cost exceeds UB − L(λ) is in no
   plan cheaper than UB. What remains is a small MILP, solved by HiGHS branch and bound.

The reported gap is (objective − bound) / max(|objective|, 1). A minimum liquidation lot
(Σ liquidated ∈ {0} ∪ [lot, ∞)) is solved as two branches: no liquidation, or a ≥ row.
References: Fisher (1981), "The Lagrangian relaxation method for solving integer programming
problems", Management Science 27(1); sifting / column generation as in Bixby et al. (1992);
reduced-cost fixing: Nemhauser & Wolsey (1988), Integer and Combinatorial Optimization, II.4.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from deadstock.decide.costs import ACTIONS, FloatArray
from deadstock.decide.coupling import CouplingRow, coupling_rows
from deadstock.decide.problem import InfeasibleError, IntArray, Problem, plan_costs
from deadstock.decide.solve import Solution
from deadstock.errors import DeadstockError


class SolverLimitError(DeadstockError):
    """The solver hit its time limit before it had any plan to report."""


#: Working-set size of the sifting LP and the sample size of the dual estimate [SKUs].
WORKING_SET = 40_000
#: Problems with at most this many open SKUs go to the LP whole (no sampling, no sifting).
DIRECT_LP = 60_000
_INF = float("inf")
#: Sifting stops when the LP's primal value and the Lagrangian bound agree to this (relative).
LP_TOLERANCE = 1e-9


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence HiGHS' banner, which its constructor writes straight to file descriptor 1."""
    try:
        fd = os.dup(1)
    except OSError:  # pragma: no cover - no real stdout
        yield
        return
    try:
        with open(os.devnull, "w", encoding="utf-8") as null:
            os.dup2(null.fileno(), 1)
            try:
                yield
            finally:
                os.dup2(fd, 1)
    finally:
        os.close(fd)


def _highs(time_limit: float) -> Any:
    import highspy

    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(max(time_limit, 0.1)))
    h.setOptionValue("threads", 1)
    return h


@dataclass
class Options:
    """Per-SKU options after collapsing: column 0 = the free option, then coupled actions.

    cost [SKU × K] (+inf where not an option); action [SKU × K] index into ACTIONS;
    usage[k] is the [SKU × rows] sparse use of each row by option k (None for column 0).
    """

    cost: FloatArray
    action: IntArray
    usage: list[sp.csr_matrix | None]
    limit: FloatArray
    names: list[str]

    @property
    def m(self) -> int:
        return len(self.limit)

    def reduced(self, dual: FloatArray, rows: IntArray | slice = slice(None)) -> FloatArray:
        """c + A·λ per option [currency]."""
        out = self.cost[rows].copy()
        for k, use in enumerate(self.usage):
            if use is not None:
                out[:, k] += use[rows] @ dual
        return out

    def used(self, skus: IntArray, choice: IntArray) -> FloatArray:
        """Use of every row by ``skus`` taking option columns ``choice``."""
        total = np.zeros(self.m)
        for k, use in enumerate(self.usage):
            if use is not None:
                picked = skus[choice == k]
                if picked.size:
                    total += np.asarray(use[picked].sum(axis=0)).ravel()
        return total

    def subset(self, skus: IntArray, rows: IntArray | None = None) -> Options:
        """The options of ``skus`` only, and of the coupling ``rows`` only when given."""
        usage = [
            None if u is None else (u[skus] if rows is None else u[skus][:, rows])
            for u in self.usage
        ]
        if rows is None:
            return Options(self.cost[skus], self.action[skus], usage, self.limit, self.names)
        names = [self.names[r] for r in rows]
        return Options(self.cost[skus], self.action[skus], usage, self.limit[rows], names)

    def option_use(self, skus: IntArray) -> FloatArray:
        """Dense [len(skus) × K × rows] use of each option (small sets only)."""
        out = np.zeros((len(skus), self.cost.shape[1], self.m))
        for k, use in enumerate(self.usage):
            if use is not None:
                out[:, k, :] = use[skus].toarray()
        return out


def build_options(cost: FloatArray, rows: list[CouplingRow]) -> Options:
    """Collapse uncoupled actions into one free option and attach each row's coefficients.

    ``cost`` [SKU × ACTIONS] is +inf where an action is not allowed.
    """
    n, m = cost.shape[0], len(rows)
    coupled_actions = sorted({row.action for row in rows})
    usage_of: dict[int, sp.csr_matrix] = {}
    for j in coupled_actions:
        r_idx = [i for i, row in enumerate(rows) if row.action == j]
        sku = np.concatenate([rows[i].rows for i in r_idx])
        col = np.concatenate([np.full(len(rows[i].rows), i) for i in r_idx])
        val = np.concatenate([rows[i].coef for i in r_idx])
        usage_of[j] = sp.csr_matrix((val, (sku, col)), shape=(n, m))
    touched = {j: np.diff(u.indptr) > 0 for j, u in usage_of.items()}
    free_cost = np.full(n, _INF)
    free_action = np.zeros(n, dtype=np.int64)
    for j in range(len(ACTIONS)):
        is_free = ~touched[j] if j in touched else np.ones(n, dtype=bool)
        c = np.where(is_free, cost[:, j], _INF)
        better = c < free_cost
        free_cost = np.where(better, c, free_cost)
        free_action = np.where(better, j, free_action)
    columns = [free_cost]
    actions = [free_action]
    usage: list[sp.csr_matrix | None] = [None]
    for j in coupled_actions:
        c = np.where(touched[j], cost[:, j], _INF)
        helps = np.asarray((usage_of[j] < 0).sum(axis=1)).ravel() > 0
        dominated = (c >= free_cost) & ~helps
        columns.append(np.where(dominated, _INF, c))
        actions.append(np.full(n, j, dtype=np.int64))
        usage.append(usage_of[j])
    limit = np.array([row.limit for row in rows], dtype=np.float64)
    return Options(
        np.column_stack(columns),
        np.column_stack(actions),
        usage,
        limit,
        [row.name for row in rows],
    )


@dataclass
class _LP:
    value: FloatArray  # [len(skus) × K] fractional x
    dual: FloatArray  # λ ≥ 0 per row
    objective: float
    finished: bool = True  # False when a MILP stopped on its time limit


def _solve_lp(
    opts: Options,
    skus: IntArray,
    limit: FloatArray,
    time_limit: float,
    integer: bool = False,
    abs_gap: float = 1e-9,
) -> _LP | None:
    """LP (or MILP, stopping within ``abs_gap`` [currency]) over ``skus``, rows ≤ ``limit``."""
    import highspy

    sub = opts.cost[skus]
    finite = np.isfinite(sub)
    var_sku, var_k = np.nonzero(finite)
    nvar = len(var_sku)
    tr = [var_sku]
    tc = [np.arange(nvar)]
    tv = [np.ones(nvar)]
    for k, use in enumerate(opts.usage):
        sel = np.flatnonzero(var_k == k) if use is not None else np.zeros(0, dtype=np.int64)
        if use is None or sel.size == 0:
            continue
        part = use[skus[var_sku[sel]]].tocoo()  # |sel| × rows
        tr.append(len(skus) + part.col)
        tc.append(sel[part.row])
        tv.append(part.data)
    matrix = sp.csc_matrix(
        (np.concatenate(tv), (np.concatenate(tr), np.concatenate(tc))),
        shape=(len(skus) + opts.m, nvar),
    )
    matrix.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = nvar
    lp.num_row_ = len(skus) + opts.m
    lp.col_cost_ = sub[var_sku, var_k]
    lp.col_lower_ = np.zeros(nvar)
    lp.col_upper_ = np.ones(nvar)
    lp.row_lower_ = np.concatenate([np.ones(len(skus)), np.full(opts.m, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.ones(len(skus)), limit])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(np.float64)
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * nvar
    h = _highs(time_limit)
    if not integer:
        h.setOptionValue("presolve", "off")
        h.setOptionValue("solver", "simplex")
    else:
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", float(abs_gap))
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    sol = h.getSolution()
    if status == "Infeasible":
        return None
    if not sol.value_valid:
        if integer:
            # Time limit before any plan: no incumbent, but HiGHS' bound still holds.
            bound = float(h.getInfo().mip_dual_bound)
            return _LP(np.full(sub.shape, np.nan), np.array([bound]), _INF, False)
        raise SolverLimitError(
            f"The decision solver stopped ({status}) before the LP relaxation was solved.",
            fix="raise decision_time_limit.",
        )
    x = np.zeros(sub.shape)
    x[var_sku, var_k] = np.asarray(sol.col_value)
    dual = np.zeros(opts.m)
    if not integer and sol.dual_valid:
        dual = np.maximum(-np.asarray(sol.row_dual)[len(skus) :], 0.0)
    objective = float(h.getInfo().objective_function_value)
    result = _LP(x, dual, objective, status == "Optimal")
    if integer:
        result.dual = np.array([float(h.getInfo().mip_dual_bound)])
    return result


def lagrangian(opts: Options, dual: FloatArray) -> tuple[float, FloatArray, IntArray]:
    """L(λ) = Σ_g min_k (c + A·λ) − λ·b [currency], the per-SKU minima and argmin."""
    rc = opts.reduced(dual)
    best = np.argmin(rc, axis=1)
    low = rc[np.arange(len(rc)), best]
    return float(low.sum() - dual @ opts.limit), low, best.astype(np.int64)


def _first_and_second(rc: FloatArray) -> tuple[IntArray, FloatArray]:
    """λ-best option per SKU and the reduced-cost distance to the second best."""
    part = np.argpartition(rc, 1, axis=1)[:, :2]
    rows = np.arange(len(rc))
    a, b = rc[rows, part[:, 0]], rc[rows, part[:, 1]]
    first = np.where(a <= b, part[:, 0], part[:, 1])
    spread = np.abs(b - a)
    return first.astype(np.int64), np.where(np.isfinite(spread), spread, _INF)


def lp_relaxation(
    opts: Options, open_skus: IntArray, limit: FloatArray, deadline: float, seed: int = 0
) -> tuple[_LP, IntArray, IntArray]:
    """Exact LP optimum over ``open_skus`` (rows limited to ``limit``) by sifting.

    Returns the working-set LP, the working set, and the λ-best option of the open SKUs left
    out of it (the LP optimum puts them there: their reduced costs are minimal at the LP's
    duals). Raises InfeasibleError when no fractional plan meets the rows.
    """
    if len(open_skus) <= DIRECT_LP:
        lp = _solve_lp(opts, open_skus, limit, deadline - time.monotonic())
        if lp is None:
            raise InfeasibleError(_infeasible_message(opts, limit, open_skus))
        return lp, open_skus, np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    share = WORKING_SET / len(open_skus)
    sample = np.sort(rng.choice(open_skus, size=WORKING_SET, replace=False))
    estimate = _solve_lp(opts, sample, limit * share, deadline - time.monotonic())
    dual = estimate.dual if estimate is not None else np.zeros(opts.m)
    dual = coordinate_ascent(opts, open_skus, limit, dual)
    rc = opts.reduced(dual, open_skus)
    best, spread = _first_and_second(rc)
    working = np.zeros(len(open_skus), dtype=bool)
    working[np.argsort(spread, kind="stable")[:WORKING_SET]] = True
    rows = np.arange(len(open_skus))
    while True:
        rest = np.flatnonzero(~working)
        fixed_use = opts.used(open_skus[rest], best[rest])
        lp = _solve_lp(opts, open_skus[working], limit - fixed_use, deadline - time.monotonic())
        if lp is None:
            # The fixed SKUs leave the working set no room: open the closest of them.
            if rest.size == 0:
                raise InfeasibleError(_infeasible_message(opts, limit, open_skus))
            working[rest[np.argsort(spread[rest], kind="stable")[:WORKING_SET]]] = True
            continue
        rc = opts.reduced(lp.dual, open_skus)
        new_best, spread = _first_and_second(rc)
        current = rc[rows, best]
        violation = np.where(~working, current - rc[rows, new_best], 0.0)
        moved = violation > 1e-9 * (1.0 + np.abs(current))
        # Primal LP value (working-set LP + the fixed SKUs) against the Lagrangian bound.
        primal = lp.objective + float(opts.cost[open_skus[rest], best[rest]].sum())
        dual_value = float(rc[rows, new_best].sum() - lp.dual @ limit)
        done = (primal - dual_value) <= LP_TOLERANCE * max(abs(primal), 1.0)
        if not moved.any() or done or time.monotonic() > deadline:
            return lp, open_skus[working], best[~working]
        # Sifting: the most violated fixed SKUs join the working set.
        join = np.flatnonzero(moved)
        if join.size > WORKING_SET:
            join = join[np.argsort(-violation[join], kind="stable")[:WORKING_SET]]
        working[join] = True
        best[join] = new_best[join]


def coordinate_ascent(
    opts: Options, skus: IntArray, limit: FloatArray, dual: FloatArray, rounds: int = 4
) -> FloatArray:
    """Improve λ by exact maximisation of the Lagrangian along one row at a time.

    Along row r, a SKU uses the row while λ_r < t_g = (best option off the row − best option on
    it, both without the row's price) / its use a_g; the maximising λ_r is the t_g at which the
    cumulative use, largest t first, passes the row's limit (0 when everything fits). Rows with
    negative coefficients (a ≥ lot) keep their value. A warm start for sifting: any λ ≥ 0 gives
    a valid bound, so exactness does not rest on it.
    """
    dual = dual.copy()
    rounds_of_row: list[tuple[int, IntArray, FloatArray]] = []
    width = opts.cost.shape[1]
    by_column = [None if u is None else u[skus].tocsc() for u in opts.usage]
    priced = opts.reduced(dual, skus)  # c + A·λ, kept current as λ moves
    base = opts.cost[skus]
    for r in range(opts.m):
        parts = [c.indices[c.indptr[r] : c.indptr[r + 1]] for c in by_column if c is not None]
        rows = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        if rows.size == 0:
            continue
        a = np.zeros((rows.size, width))
        for k, c in enumerate(by_column):
            if c is None:
                continue
            idx = c.indices[c.indptr[r] : c.indptr[r + 1]]
            a[np.searchsorted(rows, idx), k] = c.data[c.indptr[r] : c.indptr[r + 1]]
        if (a < 0).any():
            continue
        rounds_of_row.append((r, rows, a))
    for _ in range(rounds):
        for r, rows, a in rounds_of_row:
            rc_without = priced[rows] - a * dual[r]
            on = np.where(a > 0, rc_without, _INF)
            off = np.where(a > 0, _INF, rc_without).min(axis=1)
            k_on = np.argmin(on, axis=1)
            pick = np.arange(rows.size)
            a_on = a[pick, k_on]
            on_cost = on[pick, k_on]
            uses = np.isfinite(on_cost)
            with np.errstate(invalid="ignore", divide="ignore"):
                t = np.where(np.isfinite(off), (off - on_cost) / a_on, _INF)[uses]
            order = np.argsort(-t, kind="stable")
            cumulative = np.cumsum(a_on[uses][order])
            over = np.flatnonzero(cumulative > limit[r] + _tol(limit[r]))
            new = 0.0
            if over.size:
                value = t[order][over[0]]
                new = max(float(value), 0.0) if np.isfinite(value) else float(dual[r])
            priced[rows] = np.where(np.isfinite(base[rows]), rc_without + a * new, _INF)
            dual[r] = new
    return dual


def _infeasible_message(opts: Options, limit: FloatArray, skus: IntArray) -> str:
    """Name the first row that even the least-using options overfill."""
    use = opts.option_use(skus) if len(skus) <= 200_000 else None
    if use is not None:
        finite = np.isfinite(opts.cost[skus])[:, :, None]
        least = np.where(finite, use, _INF).min(axis=1).sum(axis=0)
        short = np.flatnonzero(least > limit + _tol(limit))
        if short.size:
            r = int(short[0])
            return (
                f"No plan meets '{opts.names[r]}': the SKUs that must use it need "
                f"{least[r]:,.6g} against the {limit[r]:,.6g} left. The problem is infeasible: "
                "raise the limit or allow other actions for those SKUs."
            )
    return "No plan meets the coupling rows together; the problem is infeasible."


def _round(opts: Options, skus: IntArray, x: FloatArray) -> IntArray:
    """An option per SKU from an LP solution: fractional SKUs take an option using no more
    of any row than their LP mix does (the free option always qualifies when it exists)."""
    choice = np.argmax(x, axis=1).astype(np.int64)
    fractional = np.flatnonzero(x.max(axis=1) < 1 - 1e-9)
    if fractional.size == 0:
        return choice
    use = opts.option_use(skus[fractional])  # f × K × m
    mix = np.einsum("fk,fkm->fm", x[fractional], use)
    excess = np.where(
        np.isfinite(opts.cost[skus[fractional]])[:, :, None], use - mix[:, None, :], _INF
    ).max(axis=2)
    cost = np.where(excess <= 1e-12, opts.cost[skus[fractional]], _INF)
    pick = np.where(
        np.isfinite(cost.min(axis=1)), np.argmin(cost, axis=1), np.argmin(excess, axis=1)
    )
    choice[fractional] = pick
    return choice


#: SKUs the greedy fill considers (those closest to switching) [SKUs].
GREEDY_CANDIDATES = 20_000


def _greedy_fill(opts: Options, option: IntArray, low: FloatArray, dual: FloatArray) -> IntArray:
    """Spend the room rounding left: move SKUs to cheaper options that still fit, the largest
    saving first, among the SKUs whose options are closest in reduced cost."""
    n = len(option)
    rows = np.arange(n)
    current = opts.cost[rows, option]
    saving = current - opts.cost.min(axis=1)
    movable = np.flatnonzero(saving > 1e-12)
    if movable.size == 0:
        return option
    if movable.size > GREEDY_CANDIDATES:
        rc = opts.reduced(dual, movable)
        closeness = np.sort(np.partition(rc - low[movable, None], 1, axis=1)[:, :2], axis=1)[:, 1]
        movable = movable[np.argsort(closeness, kind="stable")[:GREEDY_CANDIDATES]]
    movable = movable[np.argsort(-saving[movable], kind="stable")]
    use = opts.option_use(movable)  # c × K × m
    room = opts.limit - opts.used(rows, option)
    tol = _tol(opts.limit)
    option = option.copy()
    cost = opts.cost[movable]
    for i, g in enumerate(movable):
        k_old = option[g]
        for k in np.argsort(cost[i]):
            if not cost[i, k] < cost[i, k_old]:
                break
            delta = use[i, k] - use[i, k_old]
            if np.all(delta <= room + tol):
                option[g] = k
                room = room - delta
                break
    return option


@dataclass
class _Branch:
    choice: IntArray  # action index per SKU
    objective: float
    bound: float
    dual: FloatArray
    status: str


def _decompose(
    cost: FloatArray, rows: list[CouplingRow], deadline: float, gap_target: float
) -> _Branch:
    """Solve one branch (only ≤ rows) by the four steps of the module docstring."""
    opts = build_options(cost, rows)
    n = len(cost)
    finite = np.isfinite(opts.cost)
    count = finite.sum(axis=1)
    if (count == 0).any():
        g = int(np.flatnonzero(count == 0)[0])
        raise InfeasibleError(f"SKU row {g + 1} has no allowed action; the problem is infeasible.")
    open_skus = np.flatnonzero(count > 1)
    closed = np.flatnonzero(count == 1)
    option = np.argmax(finite, axis=1).astype(np.int64)  # the single option of closed SKUs
    limit = opts.limit - opts.used(closed, option[closed])
    signed = np.zeros(opts.m, dtype=bool)  # rows with negative coefficients (a ≥ lot row)
    for use in opts.usage:
        if use is not None:
            signed |= np.asarray((use < 0).sum(axis=0)).ravel() > 0
    if np.any((limit < -_tol(opts.limit)) & ~signed):
        raise InfeasibleError(_infeasible_message(opts, opts.limit, np.arange(n)))
    dual = np.zeros(opts.m)
    if open_skus.size:
        lp, working, best_rest = lp_relaxation(opts, open_skus, limit, deadline)
        dual = lp.dual
        in_working = np.zeros(n, dtype=bool)
        in_working[working] = True
        option[working] = _round(opts, working, lp.value)
        option[open_skus[~in_working[open_skus]]] = best_rest
    rows_n = np.arange(n)
    bound, low, _ = lagrangian(opts, dual)
    feasible = bool(np.all(opts.used(rows_n, option) <= opts.limit + _tol(opts.limit)))
    if feasible:
        option = _greedy_fill(opts, option, low, dual)
    upper = float(opts.cost[rows_n, option].sum()) if feasible else _INF
    status = "optimal"
    if _gap(upper, bound) > gap_target:
        option, upper, bound, status = _polish_by_block(
            opts, dual, low, bound, option, upper, deadline, gap_target
        )
    if not np.isfinite(upper):
        raise InfeasibleError("No integer plan meets the coupling rows; the problem is infeasible.")
    if _gap(upper, bound) > gap_target:
        status = "gap_limit"
    return _Branch(opts.action[rows_n, option], upper, bound, dual, status)


def _tol(limit: FloatArray) -> FloatArray:
    return 1e-9 * np.maximum(1.0, np.abs(limit))


def _gap(upper: float, bound: float) -> float:
    if not np.isfinite(upper):
        return _INF
    return max(upper - bound, 0.0) / max(abs(upper), 1.0)


#: SKUs left open in the first restricted MILP; each round opens four times as many.
FIRST_OPEN = 1_000
#: Share of the time left that one restricted MILP may take.
ROUND_SHARE = 0.25


def _polish(
    opts: Options,
    dual: FloatArray,
    low: FloatArray,
    bound: float,
    option: IntArray,
    upper: float,
    deadline: float,
    gap_target: float,
) -> tuple[IntArray, float, float, str]:
    """Close the gap by restricted MILPs over the options of least reduced cost.

    With d_ga = reduced cost above the SKU's λ-best, any plan x costs at least
    L(λ) + Σ_g d_{g,a_g} (weak duality, λ ≥ 0). The MILP restricted to options with d ≤ s
    (SKUs with one such option fixed) therefore proves: every plan costs at least
    min(z_s, L(λ) + s), where z_s is the restricted optimum (or its HiGHS bound). Each round
    widens s until the gap target holds.
    """
    started = time.monotonic()
    lagrange = bound
    rc = opts.reduced(dual)
    finite = np.isfinite(opts.cost)
    d = np.where(finite, rc - low[:, None], _INF)
    d = np.maximum(d, 0.0)
    spread = np.partition(d, 1, axis=1)[:, 1]
    order = np.sort(spread[np.isfinite(spread)])
    rows = np.arange(len(option))
    status = "gap_limit"
    full = upper - lagrange  # options further than this are in no plan cheaper than ``upper``
    within = int(np.searchsorted(order, full, side="right"))
    target = FIRST_OPEN if within > 4 * FIRST_OPEN else max(within, 1)
    while True:
        if order.size == 0:
            break
        s = float(order[min(target, order.size) - 1])
        if target >= within:
            s = max(s, full)
        keep = finite & (d <= s + 1e-9 * (1.0 + abs(lagrange)))
        survivors = keep.sum(axis=1)
        loose = np.flatnonzero(survivors > 1)
        fixed = np.flatnonzero(survivors == 1)
        fixed_option = np.argmax(keep[fixed], axis=1)
        limit = opts.limit - opts.used(fixed, fixed_option)
        reduced = opts.subset(loose)
        reduced.cost = np.where(keep[loose], reduced.cost, _INF)
        widest = target >= order.size or s >= full
        allowance = gap_target * max(abs(upper) if np.isfinite(upper) else abs(lagrange), 1.0)
        budget = min(deadline - time.monotonic(), ROUND_SHARE * (deadline - started))
        milp = _solve_lp(reduced, np.arange(loose.size), limit, budget, True, allowance / 2)
        cut = _INF if widest else lagrange + s
        if milp is not None:
            fixed_cost = float(opts.cost[fixed, fixed_option].sum())
            if np.isfinite(milp.objective) and fixed_cost + milp.objective < upper:
                option = option.copy()
                option[fixed] = fixed_option
                option[loose] = np.argmax(milp.value, axis=1)
                upper = float(opts.cost[rows, option].sum())
            bound = max(bound, min(fixed_cost + float(milp.dual[0]), cut))
        else:
            bound = max(bound, min(cut, upper))
        bound = min(bound, upper)
        if _gap(upper, bound) <= gap_target:
            status = "optimal"
            break
        if widest or time.monotonic() > deadline or (milp is not None and not milp.finished):
            # A round that ran out of time would only be slower wider.
            break
        target *= 4
    return option, upper, bound, status


def row_blocks(opts: Options) -> list[tuple[IntArray, IntArray]]:
    """Independent blocks of the problem: (rows, SKUs) of each connected set of rows.

    Two rows are linked when a SKU has options on both; without a row spanning every SKU (such
    as a warehouse capacity) each supplier's caps form a block of their own.
    """
    n = opts.cost.shape[0]
    touch = sp.csr_matrix((n, opts.m))
    for use in opts.usage:
        if use is not None:
            touch = touch + abs(use)
    touch = (touch > 0).astype(np.float64).tocsc()
    count, label = connected_components(touch.T @ touch, directed=False)
    blocks = []
    for b in range(count):
        rows = np.flatnonzero(label == b)
        skus = np.flatnonzero(np.asarray(touch[:, rows].sum(axis=1)).ravel() > 0)
        blocks.append((rows.astype(np.int64), skus.astype(np.int64)))
    return blocks


def _polish_by_block(
    opts: Options,
    dual: FloatArray,
    low: FloatArray,
    bound: float,
    option: IntArray,
    upper: float,
    deadline: float,
    gap_target: float,
) -> tuple[IntArray, float, float, str]:
    """:func:`_polish` on each independent block of rows, when there are several.

    The Lagrangian and every plan's cost split over blocks (plus the SKUs in no row, which sit
    at their only option), so block bounds and plans add up. Each block may leave an absolute
    gap of gap_target × |upper| / blocks.
    """
    blocks = row_blocks(opts) if np.isfinite(upper) else []
    if len(blocks) <= 1:
        return _polish(opts, dual, low, bound, option, upper, deadline, gap_target)
    option = option.copy()
    in_block = np.zeros(len(option), dtype=bool)
    total_upper = total_bound = 0.0
    optimal = True
    allowance = gap_target * max(abs(upper), 1.0) / len(blocks)
    for rows, skus in blocks:
        in_block[skus] = True
        sub = opts.subset(skus, rows)
        sub_low = low[skus]
        sub_bound = float(sub_low.sum() - dual[rows] @ opts.limit[rows])
        sub_option = option[skus]
        sub_upper = float(sub.cost[np.arange(len(skus)), sub_option].sum())
        if sub_upper - sub_bound > allowance:
            target = allowance / max(abs(sub_upper), 1.0)
            sub_option, sub_upper, sub_bound, status = _polish(
                sub, dual[rows], sub_low, sub_bound, sub_option, sub_upper, deadline, target
            )
            optimal &= status == "optimal"
        option[skus] = sub_option
        total_upper += sub_upper
        total_bound += sub_bound
    rest = ~in_block
    fixed = float(opts.cost[np.flatnonzero(rest), option[rest]].sum())
    upper_new = total_upper + fixed
    bound_new = max(bound, total_bound + fixed)
    status = "optimal" if _gap(upper_new, bound_new) <= gap_target else "gap_limit"
    return option, upper_new, min(bound_new, upper_new), status


def solve_coupled(
    problem: Problem, method: str = "auto", time_limit: float = 60.0, gap_target: float = 1e-6
) -> Solution:
    """Optimal plan under the coupling rows, with the proven bound and gap (see module doc)."""
    start = time.monotonic()
    deadline = start + time_limit
    rows = coupling_rows(problem)
    if method == "milp":
        return direct_milp(problem, rows, time_limit, gap_target)
    plain = [r for r in rows if r.sense == "<="]
    lots = [r for r in rows if r.sense == "lot"]
    branches: list[tuple[FloatArray, list[CouplingRow]]] = [(problem.cost, plain)]
    if lots:
        lot = lots[0]
        liq = ACTIONS.index("liquidate")
        without = problem.cost.copy()
        without[lot.rows, liq] = _INF
        at_least = CouplingRow(lot.name, lot.action, lot.rows, -lot.coef, -lot.limit)
        branches = [(without, plain), (problem.cost, [*plain, at_least])]
    results: list[_Branch] = []
    errors: list[str] = []
    for cost, branch_rows in branches:
        try:
            results.append(_decompose(cost, branch_rows, deadline, gap_target))
        except InfeasibleError as exc:
            errors.append(str(exc))
    if not results:
        raise InfeasibleError(errors[0])
    best = min(results, key=lambda b: b.objective)
    bound = min(b.bound for b in results)  # an infeasible branch holds no cheaper plan
    shadow = {}
    for r, value in zip(rows if not lots else [*plain, *lots], best.dual, strict=False):
        shadow[r.name] = float(value)
    objective = float(plan_costs(problem, best.choice).sum())
    bound = min(bound, objective)  # the plan re-priced may differ in the last bit
    return Solution(
        best.choice,
        objective,
        bound,
        _gap(objective, bound),
        "decomposition",
        best.status,
        shadow,
        time.monotonic() - start,
    )


def direct_milp(
    problem: Problem, rows: list[CouplingRow], time_limit: float, gap_target: float
) -> Solution:
    """The whole model as one HiGHS MILP: x_ga for every allowed pair, one binary per lot row.

    The reference the decomposition is benchmarked against (no collapsing, no fixing).
    """
    import highspy

    start = time.monotonic()
    n = problem.n
    cost = problem.cost
    var_g, var_a = np.nonzero(np.isfinite(cost))
    nvar = len(var_g)
    lots = [r for r in rows if r.sense == "lot"]
    ncol = nvar + len(lots)
    triplets_r = [var_g]
    triplets_c = [np.arange(nvar)]
    triplets_v = [np.ones(nvar)]
    lower = [np.ones(n)]
    upper = [np.ones(n)]
    index = np.full(cost.shape, -1, dtype=np.int64)
    index[var_g, var_a] = np.arange(nvar)
    row_id = n
    for r in rows:
        cols = index[r.rows, r.action]
        ok = cols >= 0
        triplets_r.append(np.full(int(ok.sum()), row_id))
        triplets_c.append(cols[ok])
        triplets_v.append(r.coef[ok])
        if r.sense == "<=":
            lower.append(np.array([-highspy.kHighsInf]))
            upper.append(np.array([r.limit]))
            row_id += 1
        else:
            y = nvar + lots.index(r)
            # Σ coef x − limit·y ≥ 0 and Σ coef x − big·y ≤ 0
            big = float(r.coef[ok].sum()) + r.limit
            triplets_r.append(np.array([row_id]))
            triplets_c.append(np.array([y]))
            triplets_v.append(np.array([-r.limit]))
            lower.append(np.array([0.0]))
            upper.append(np.array([highspy.kHighsInf]))
            triplets_r.append(np.full(int(ok.sum()) + 1, row_id + 1))
            triplets_c.append(np.concatenate([cols[ok], [y]]))
            triplets_v.append(np.concatenate([r.coef[ok], [-big]]))
            lower.append(np.array([-highspy.kHighsInf]))
            upper.append(np.array([0.0]))
            row_id += 2
    matrix = sp.csc_matrix(
        (np.concatenate(triplets_v), (np.concatenate(triplets_r), np.concatenate(triplets_c))),
        shape=(row_id, ncol),
    )
    matrix.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = row_id
    lp.col_cost_ = np.concatenate([cost[var_g, var_a], np.zeros(len(lots))])
    lp.col_lower_ = np.zeros(ncol)
    lp.col_upper_ = np.ones(ncol)
    lp.row_lower_ = np.concatenate(lower)
    lp.row_upper_ = np.concatenate(upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * ncol
    h = _highs(time_limit)
    h.setOptionValue("mip_rel_gap", float(gap_target))
    h.passModel(lp)
    h.run()
    sol = h.getSolution()
    info = h.getInfo()
    if not sol.value_valid:
        raise InfeasibleError("HiGHS found no plan that meets the coupling rows (infeasible).")
    x = np.asarray(sol.col_value)[:nvar]
    choice = np.zeros(n, dtype=np.int64)
    take = x > 0.5
    choice[var_g[take]] = var_a[take]
    objective = float(plan_costs(problem, choice).sum())
    bound = min(float(info.mip_dual_bound), objective)
    status = h.modelStatusToString(h.getModelStatus())
    return Solution(
        choice,
        objective,
        bound,
        _gap(objective, bound),
        "milp",
        "optimal" if status == "Optimal" else status.lower().replace(" ", "_"),
        {},
        time.monotonic() - start,
    )
