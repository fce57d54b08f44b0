"""Sensitivity of the decisions and the total cost to each global setting (SPEC §3.5).

One setting (or one per-SKU parameter column) at a time is moved from −100 % to +100 % of its
value, all else fixed, and the problem is solved again: value = base × (1 + change), so −100 %
sets it to 0. Per-SKU columns (``param:<column>``) are scaled the same way for every SKU. The α
switch (``capacity_limited``) is its own entry with the values 0 and 1 (change = value − base).
The thesis (Zijlmans 2025) reports the same −100 %…+100 % analysis of its global parameters.

Each point reprices the base problem's arrays with the cost-model kernel and solves it (the exact
per-SKU choice when nothing couples SKUs): no table is rebuilt, so a point at 1 M SKUs is a few
vectorised passes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Any

import numpy as np
import polars as pl

from deadstock.decide.costs import (
    ACTIONS,
    Economy,
    FloatArray,
    total_unit_costs,
    unit_costs,
)
from deadstock.decide.problem import NUMERIC_PARAMS, Constraints, IntArray, Problem, build_problem
from deadstock.decide.solve import Solution, solve
from deadstock.errors import ConfigError

#: Global settings varied by default (the thesis' global parameters) [see Economy].
DEFAULT_SETTINGS: tuple[str, ...] = tuple(
    f.name for f in fields(Economy) if f.name != "capacity_limited"
)
#: Per-SKU parameter columns scaled by default (entries ``param:<column>``; absent ones skipped).
DEFAULT_PARAMS: tuple[str, ...] = (
    "price",
    "holding_cost_per_day",
    "return_price",
    "liquidation_price",
    "unit_cost",
)
#: Relative changes of each setting: −100 % … +100 % in steps of 25 %.
DEFAULT_STEPS: tuple[float, ...] = (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0)
#: Name of the α switch entry.
CAPACITY_SWITCH = "capacity_limited"
PARAM_PREFIX = "param:"


def reprice(problem: Problem, economy: Economy, params: Mapping[str, FloatArray]) -> Problem:
    """``problem`` with its costs recomputed under ``economy`` and ``params`` (same SKUs, same
    allowed actions, same constraints), as :func:`build_problem` would price them.

    Scaling a column never changes which actions are allowed (NaN stays NaN, finite stays
    finite), so ``allowed`` and the per-SKU restrictions carry over.
    """
    c = problem.constraints
    places = c.location_capacity
    if (
        c.capacity_units is not None
        or c.capacity_volume is not None
        or (places is not None and places.height > 0)
    ):
        economy = replace(economy, capacity_limited=0.0)
    arrays = dict(params)
    components = unit_costs(arrays, economy)
    matrix = np.nan_to_num(total_unit_costs(components), nan=0.0)
    return replace(
        problem, components=components, unit_cost_matrix=matrix, params=arrays, economy=economy
    )


def _mix_row(problem: Problem, choice: IntArray, actions: Sequence[str]) -> dict[str, float]:
    """SKUs and units per action of a plan."""
    skus = np.bincount(choice, minlength=len(ACTIONS))
    units = np.bincount(choice, weights=problem.units, minlength=len(ACTIONS))
    out: dict[str, float] = {}
    for a in actions:
        j = ACTIONS.index(a)
        out[f"skus_{a}"] = int(skus[j])
        out[f"units_{a}"] = float(units[j])
    return out


def _check_names(
    params: pl.DataFrame, settings: Sequence[str], scaled: Sequence[str] | None
) -> list[str]:
    """Validate setting names; the param columns to scale (absent defaults skipped)."""
    economy_fields = {f.name for f in fields(Economy)}
    unknown = [s for s in settings if s not in economy_fields]
    if unknown:
        raise ConfigError(
            f"Sensitivity settings {unknown} are not global settings of the cost model.",
            fix=f"use some of: {', '.join(sorted(economy_fields))}.",
        )
    if scaled is None:
        return [c for c in DEFAULT_PARAMS if c in params.columns]
    bad = [c for c in scaled if c not in NUMERIC_PARAMS or c not in params.columns]
    if bad:
        raise ConfigError(
            f"Cannot scale parameter column(s) {bad}: not numeric cost-model columns of the "
            "parameter table.",
            column=bad[0],
            fix=f"use columns present in the table among: {', '.join(NUMERIC_PARAMS)}.",
        )
    return list(scaled)


def sensitivity(
    params: pl.DataFrame,
    economy: Economy,
    actions: Sequence[str] = ACTIONS,
    constraints: Constraints | None = None,
    settings: Sequence[str] = DEFAULT_SETTINGS,
    steps: Sequence[float] = DEFAULT_STEPS,
    scaled_params: Sequence[str] | None = None,
    capacity_switch: bool = True,
    solve_options: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Total cost and action mix with each setting moved by each step, one at a time.

    Returns one row per (setting, change): ``setting`` (a global setting, ``param:<column>`` or
    ``capacity_limited``), ``change`` [share, −1 = −100 %], ``value`` (the setting's value; for
    ``param:`` entries the factor 1 + change applied to the column), ``total_cost`` [currency],
    ``cost_change`` = total − base [currency], ``cost_change_pct`` = cost_change / |base|,
    ``share_changed`` (share of SKUs whose action differs from the base plan), ``skus_<a>`` and
    ``units_<a>`` per action of ``actions``, and the solver's ``gap``.
    scaled_params: per-SKU columns to scale (default :data:`DEFAULT_PARAMS` present in
    ``params``); solve_options: keyword arguments of :func:`solve` (method, time_limit, …).
    """
    columns = _check_names(params, settings, scaled_params)
    options = dict(solve_options or {})
    base_problem = build_problem(params, economy, actions, constraints)
    base = solve(base_problem, **options)
    base_cost = base.objective
    run_actions = [a for a in ACTIONS if a in actions]

    def row(name: str, change: float, value: float, problem: Problem, sol: Solution) -> dict:
        delta = sol.objective - base_cost
        return {
            "setting": name,
            "change": float(change),
            "value": float(value),
            "total_cost": sol.objective,
            "cost_change": delta,
            "cost_change_pct": delta / abs(base_cost) if base_cost != 0 else float("nan"),
            "share_changed": float(np.mean(sol.choice != base.choice)) if problem.n else 0.0,
            **_mix_row(problem, sol.choice, run_actions),
            "gap": sol.gap,
        }

    rows = []
    for name in settings:
        start = float(getattr(economy, name))
        for change in steps:
            value = start * (1.0 + change)
            if change == 0:
                rows.append(row(name, change, value, base_problem, base))
                continue
            point = reprice(base_problem, replace(economy, **{name: value}), base_problem.params)
            rows.append(row(name, change, value, point, solve(point, **options)))
    for column in columns:
        for change in steps:
            if change == 0:
                rows.append(row(PARAM_PREFIX + column, change, 1.0, base_problem, base))
                continue
            scaled = dict(base_problem.params)
            scaled[column] = base_problem.params[column] * (1.0 + change)
            point = reprice(base_problem, economy, scaled)
            rows.append(
                row(PARAM_PREFIX + column, change, 1.0 + change, point, solve(point, **options))
            )
    if capacity_switch:
        start = float(economy.capacity_limited)
        for value in (0.0, 1.0):
            if value == start:
                rows.append(row(CAPACITY_SWITCH, 0.0, value, base_problem, base))
                continue
            point = reprice(
                base_problem, replace(economy, capacity_limited=value), base_problem.params
            )
            rows.append(row(CAPACITY_SWITCH, value - start, value, point, solve(point, **options)))
    return pl.DataFrame(rows)


def swings(frame: pl.DataFrame, metric: str = "total_cost") -> pl.DataFrame:
    """Per setting: ``metric`` at its lowest and highest change, the base value and the swing.

    Columns setting, low_change, high_change, low, base, high, swing = |high − low|; sorted by
    swing, largest first (the order of a tornado chart).
    """
    base = frame.filter(pl.col("change") == 0).group_by("setting").agg(pl.col(metric).first())
    ends = frame.group_by("setting", maintain_order=True).agg(
        pl.col("change").min().alias("low_change"),
        pl.col("change").max().alias("high_change"),
        pl.col(metric).sort_by("change").first().alias("low"),
        pl.col(metric).sort_by("change").last().alias("high"),
    )
    return (
        ends.join(base.rename({metric: "base"}), on="setting", how="left")
        .with_columns((pl.col("high") - pl.col("low")).abs().alias("swing"))
        .select("setting", "low_change", "high_change", "low", "base", "high", "swing")
        .sort("swing", descending=True, maintain_order=True)
    )
