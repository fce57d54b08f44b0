"""Explain each decision: a reason code and the runner-up action with its cost gap (SPEC §3.5).

Works on the arrays of a solved :class:`~deadstock.decide.problem.Problem`, vectorised.

- ``runner_up``: the cheapest action *offered* to the SKU (by its parameters and the run's action
  set) other than the chosen one; null when nothing else is offered. ``runner_up_gap`` = its
  cost − the chosen action's cost [currency]: ≥ 0 whenever the SKU was free to choose, < 0 when
  a restriction (forced action, keep list, single-item retention) or a coupling row imposed a
  dearer action — it is then the price of that restriction for this SKU.
- ``reason`` (the first that applies, in this order): ``forced`` (forced_action), ``keep_list``,
  ``single_item`` (single-item retention), ``no_excess`` (0 units: every action costs 0),
  ``only_option`` (one action offered), ``capacity_bound`` / ``return_cap_bound`` /
  ``min_lot_bound`` / ``coupled`` (a coupling row moved the SKU off its cheapest allowed action:
  warehouse capacity, a supplier's return cap, the minimum liquidation lot, another row), else
  ``keep_cheapest`` or ``<action>_beats_keep`` (the chosen action is the cheapest; ties go to the
  first in keep, return, liquidate, recycle, donate, dispose).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from deadstock.decide.costs import ACTIONS, FloatArray
from deadstock.decide.problem import BoolArray, IntArray, Problem
from deadstock.decide.solve import Solution

#: Every reason code, in priority order (first applicable wins) — see the module docstring.
REASONS: tuple[str, ...] = (
    "forced",
    "keep_list",
    "single_item",
    "no_excess",
    "only_option",
    "capacity_bound",
    "return_cap_bound",
    "min_lot_bound",
    "coupled",
    "keep_cheapest",
    *(f"{a}_beats_keep" for a in ACTIONS[1:]),
)

KEEP = ACTIONS.index("keep")


def offered_costs(problem: Problem, offered: BoolArray) -> FloatArray:
    """Total cost [currency] of every offered action [SKU × ACTIONS], +inf where not offered."""
    total = problem.unit_cost_matrix * problem.units[:, None]
    return np.where(offered, total, np.inf)


def runner_up(costs: FloatArray, choice: IntArray) -> tuple[IntArray, FloatArray]:
    """Index of the cheapest action other than ``choice`` (−1 when none) and its gap [currency].

    ``costs`` [SKU × ACTIONS] holds +inf where an action is not offered; ties go to the first
    action in :data:`ACTIONS` order. The gap is NaN where there is no runner-up.
    """
    rows = np.arange(costs.shape[0])
    others = costs.copy()
    others[rows, choice] = np.inf
    second = np.argmin(others, axis=1).astype(np.int64)
    second_cost = others[rows, second]
    has = np.isfinite(second_cost)
    gap = np.where(has, second_cost - costs[rows, choice], np.nan)
    return np.where(has, second, -1).astype(np.int64), gap


def restricted_masks(problem: Problem) -> dict[str, BoolArray]:
    """Which SKUs are forced, keep-listed or retained as single items (as build_problem does)."""
    c = problem.constraints
    n = problem.n
    forced = np.zeros(n, dtype=bool)
    if c.forced:
        forced = problem.skus.is_in(list(c.forced)).to_numpy()
    keep_list = np.zeros(n, dtype=bool)
    if c.keep_skus:
        keep_list = problem.skus.is_in(list(c.keep_skus)).to_numpy()
    single = np.zeros(n, dtype=bool)
    if c.keep_single_items:
        single = problem.params["total_units"] == 1
        if c.single_item_max_days is not None:
            single &= problem.params["expected_days_in_stock"] < c.single_item_max_days
    return {"forced": forced, "keep_list": keep_list, "single_item": single}


def _code(name: str) -> int:
    return REASONS.index(name)


def _bound_reasons(problem: Problem, choice: IntArray, row_names: list[str]) -> IntArray:
    """Reason code where a coupling row moved a SKU off its cheapest allowed action, else −1."""
    n = problem.n
    out = np.full(n, -1, dtype=np.int64)
    if not row_names:
        return out
    cost = problem.cost
    rows = np.arange(n)
    best = np.argmin(cost, axis=1)
    chosen = cost[rows, choice]
    scale = np.maximum(np.abs(cost[rows, best]), 1.0)
    moved = chosen > cost[rows, best] + 1e-9 * scale
    if not moved.any():
        return out
    out[moved] = _code("coupled")
    liquidate = ACTIONS.index("liquidate")
    for prefix, hit, code in (
        ("min_liquidation_lot", (best == liquidate) | (choice == liquidate), "min_lot_bound"),
        ("return_cap", best == ACTIONS.index("return"), "return_cap_bound"),
        ("capacity", best == KEEP, "capacity_bound"),
    ):
        if any(name.startswith(prefix) for name in row_names):
            out[moved & hit] = _code(code)
    return out


def reason_codes(
    problem: Problem, choice: IntArray, offered: BoolArray, row_names: list[str]
) -> IntArray:
    """Index into :data:`REASONS` of each SKU's reason (module docstring)."""
    beats = np.asarray([_code("keep_cheapest")] + [_code(f"{a}_beats_keep") for a in ACTIONS[1:]])
    reason = beats[choice]
    bound = _bound_reasons(problem, choice, row_names)
    reason = np.where(bound >= 0, bound, reason)
    masks = restricted_masks(problem)
    for code, mask in (
        ("only_option", offered.sum(axis=1) <= 1),
        ("no_excess", problem.units == 0),
        ("single_item", masks["single_item"]),
        ("keep_list", masks["keep_list"]),
        ("forced", masks["forced"]),
    ):
        reason = np.where(mask, _code(code), reason)
    return reason.astype(np.int64)


def _labels(names: tuple[str, ...], index: IntArray) -> pl.Series:
    """``names[index]`` as a String series, null where ``index`` < 0 (vectorised gather)."""
    values = pl.Series(names, dtype=pl.String).gather(np.maximum(index, 0))
    return values.set(pl.Series(index < 0), None)


def explain(problem: Problem, solution: Solution, offered: BoolArray | None = None) -> pl.DataFrame:
    """Per SKU (row order of the problem): ``reason``, ``runner_up``, ``runner_up_gap``.

    ``offered`` [SKU × ACTIONS] are the actions the SKU could take before per-SKU restrictions
    (default: ``problem.allowed``).
    """
    from deadstock.decide.coupling import coupling_rows

    offered = problem.allowed if offered is None else offered
    choice = np.asarray(solution.choice, dtype=np.int64)
    second, gap = runner_up(offered_costs(problem, offered), choice)
    rows = [row.name for row in coupling_rows(problem)]
    reason = reason_codes(problem, choice, offered, rows)
    return pl.DataFrame(
        {
            "reason": _labels(REASONS, reason),
            "runner_up": _labels(ACTIONS, second),
            "runner_up_gap": pl.Series(gap, dtype=pl.Float64).fill_nan(None),
        }
    )
