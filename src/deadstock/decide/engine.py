"""The decision step as tables: parameter table + settings → decisions table + summary.

This is the API the CLI (``deadstock decide``) and the pipeline call; the numerics live in
:mod:`costs` (cost model), :mod:`problem` (arrays, evaluator) and :mod:`solve` (optimiser).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from deadstock.decide.costs import ACTIONS, COMPONENTS, Economy
from deadstock.decide.problem import Constraints, Problem, build_problem, component_totals
from deadstock.decide.solve import Solution, solve


@dataclass
class DecisionResult:
    """A decided problem: the decisions table, the summary, and the arrays behind them."""

    decisions: pl.DataFrame
    summary: dict[str, Any]
    problem: Problem
    solution: Solution


def constraints_from_config(
    config: Any,
    supplier_caps: pl.DataFrame | None = None,
    keep_skus: Sequence[str] = (),
    forced: Mapping[str, str] | None = None,
) -> Constraints:
    """Constraints from the run's settings plus per-supplier caps, keep list and forced actions."""
    return Constraints(
        capacity_units=config.capacity_units,
        capacity_volume=config.capacity_volume,
        supplier_caps=supplier_caps,
        min_liquidation_lot=config.min_liquidation_lot,
        keep_skus=tuple(keep_skus),
        forced=dict(forced or {}),
        keep_single_items=bool(config.keep_single_items),
        single_item_max_days=config.single_item_max_days,
    )


def decide_table(
    params: pl.DataFrame, config: Any, constraints: Constraints | None = None
) -> DecisionResult:
    """Decide every SKU of a validated parameter table under ``config``'s settings."""
    problem = build_problem(
        params,
        Economy.from_config(config),
        actions=tuple(config.decision_actions),
        constraints=constraints if constraints is not None else constraints_from_config(config),
    )
    solution = solve(
        problem,
        method=config.decision_method,
        time_limit=config.decision_time_limit,
        gap_target=config.decision_gap,
    )
    return DecisionResult(
        decisions_frame(problem, solution),
        decision_summary(problem, solution),
        problem,
        solution,
    )


def decisions_frame(problem: Problem, solution: Solution) -> pl.DataFrame:
    """One row per SKU: action, units, the total cost of every action and its components.

    ``cost_<action>`` [currency] is null where the action is not available;
    ``<action>_<component>`` are that action's components × units.
    """
    choice = solution.choice
    cost = problem.cost
    rows = np.arange(problem.n)
    chosen = cost[rows, choice]
    keep = cost[:, ACTIONS.index("keep")]
    columns: dict[str, Any] = {
        "sku": problem.skus,
        "action": pl.Series(np.asarray(ACTIONS)[choice]),
        "units": problem.units,
        "cost_action": chosen,
        "value_vs_keep": keep - chosen,
    }
    for j, action in enumerate(ACTIONS):
        if not problem.allowed[:, j].any():
            continue
        columns[f"cost_{action}"] = np.where(problem.allowed[:, j], cost[:, j], np.nan)
        for name in COMPONENTS[action]:
            columns[f"{action}_{name}"] = np.where(
                problem.allowed[:, j], problem.components[action][name] * problem.units, np.nan
            )
    frame = pl.DataFrame(columns)
    return frame.with_columns(pl.selectors.float().fill_nan(None))


def decision_summary(problem: Problem, solution: Solution) -> dict[str, Any]:
    """Total cost, each component's total, and SKUs and units per action."""
    choice = solution.choice
    mix = {
        action: {
            "skus": int((choice == j).sum()),
            "units": float(problem.units[choice == j].sum()),
        }
        for j, action in enumerate(ACTIONS)
        if (choice == j).any()
    }
    return {
        "skus": problem.n,
        "total_cost": solution.objective,
        "components": component_totals(problem, choice),
        "actions": mix,
        "solver": {
            "method": solution.method,
            "status": solution.status,
            "bound": solution.bound,
            "gap": solution.gap,
            "seconds": solution.seconds,
            "shadow_prices": solution.shadow_prices,
        },
    }
