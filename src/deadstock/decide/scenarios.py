"""Scenarios side by side, and the benefit of the optimum over the current practice (SPEC §3.5).

A scenario is the base run with some settings (and constraint fields) replaced; every scenario
is decided with the same engine as the run (:func:`deadstock.decide.engine.decide_table`). The
defaults are the scenarios of Zijlmans (2025): warehouse capacity limited or not (α = 1 / 0),
the liquidator policy (general, specialised, hybrid) and single-item retention (off, on, on for
items expected to sell within 365 or 182.5 days).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import Any

import numpy as np
import polars as pl

from deadstock.config import SETTINGS, Config
from deadstock.decide.cascade import CascadeSettings, cascade_discounts
from deadstock.decide.costs import ACTIONS, FloatArray
from deadstock.decide.engine import constraints_from_config, decide_table
from deadstock.decide.problem import BoolArray, Constraints, IntArray, Problem, evaluate
from deadstock.decide.solve import Solution
from deadstock.errors import ConfigError
from deadstock.pricing.options import MarkdownSettings, markdown_at

#: Settings from which the liquidation price is derived: a scenario changing one of them gets
#: its ``liquidation_price`` column recomputed.
LIQUIDATION_SETTINGS: frozenset[str] = frozenset(
    {
        "liquidator_policy",
        "liquidation_recovery",
        "liquidation_specialised_share",
        "specialised_min_price",
        "vat_rate",
    }
)
CONSTRAINT_FIELDS: frozenset[str] = frozenset(f.name for f in fields(Constraints))
BASE = "base"

LiquidationPrice = Callable[[pl.Expr, Config], pl.Expr]


def default_scenarios() -> dict[str, dict[str, Any]]:
    """The thesis' scenarios: capacity, liquidator policy, single-item retention."""
    return {
        "capacity_not_limited": {"capacity_limited": 0},
        "capacity_limited": {"capacity_limited": 1},
        "liquidator_general": {"liquidator_policy": "general"},
        "liquidator_specialised": {"liquidator_policy": "specialised"},
        "liquidator_hybrid": {"liquidator_policy": "hybrid"},
        "single_items_not_retained": {"keep_single_items": False, "single_item_max_days": None},
        "single_items_retained": {"keep_single_items": True, "single_item_max_days": None},
        "single_items_retained_lt_365d": {"keep_single_items": True, "single_item_max_days": 365.0},
        "single_items_retained_lt_182_5d": {
            "keep_single_items": True,
            "single_item_max_days": 182.5,
        },
    }


def _default_liquidation_price() -> LiquidationPrice:
    from deadstock.decide.from_run import liquidation_price

    return liquidation_price


def scenario_inputs(
    params: pl.DataFrame,
    base_config: Config,
    base_constraints: Constraints,
    overrides: Mapping[str, Any],
    liquidation_price: LiquidationPrice | None = None,
    name: str = "scenario",
) -> tuple[pl.DataFrame, Config, Constraints]:
    """The parameter table, settings and constraints of one scenario.

    Keys of ``overrides`` that are settings replace the setting (and, for settings that are also
    :class:`Constraints` fields such as capacity_units or keep_single_items, that field); other
    Constraints fields (supplier_caps, keep_skus, forced, location_capacity) replace the field.
    A change of a liquidation setting recomputes ``liquidation_price`` from ``price``.
    """
    unknown = sorted(set(overrides) - set(SETTINGS) - CONSTRAINT_FIELDS)
    if unknown:
        raise ConfigError(
            f"Scenario '{name}' changes unknown setting(s) {', '.join(unknown)}.",
            fix="use setting names (deadstock settings) or Constraints fields: "
            + ", ".join(sorted(CONSTRAINT_FIELDS))
            + ".",
        )
    settings = {k: v for k, v in overrides.items() if k in SETTINGS}
    config = base_config.with_values(**settings) if settings else base_config
    constraint_changes = {
        k: (getattr(config, k) if k in SETTINGS else v)
        for k, v in overrides.items()
        if k in CONSTRAINT_FIELDS
    }
    constraints = replace(base_constraints, **constraint_changes)
    if LIQUIDATION_SETTINGS & set(settings):
        if "price" not in params.columns:
            raise ConfigError(
                f"Scenario '{name}' changes the liquidator but the parameter table has no price.",
                column="price",
                fix="add a price column to the parameter table.",
            )
        price_of = liquidation_price or _default_liquidation_price()
        params = params.with_columns(
            price_of(pl.col("price").cast(pl.Float64), config).alias("liquidation_price")
        )
    return params, config, constraints


def _mix(problem: Problem, choice: IntArray, actions: list[str]) -> dict[str, float]:
    skus = np.bincount(choice, minlength=len(ACTIONS))
    units = np.bincount(choice, weights=problem.units, minlength=len(ACTIONS))
    out: dict[str, float] = {}
    for a in actions:
        out[f"skus_{a}"] = int(skus[ACTIONS.index(a)])
        out[f"units_{a}"] = float(units[ACTIONS.index(a)])
    return out


def _describe(overrides: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{k}={v if not isinstance(v, pl.DataFrame) else f'<{v.height} rows>'}"
        for k, v in overrides.items()
    )


def compare_scenarios(
    params: pl.DataFrame,
    base_config: Config,
    scenarios: Mapping[str, Mapping[str, Any]] | None = None,
    constraints: Constraints | None = None,
    liquidation_price: LiquidationPrice | None = None,
) -> pl.DataFrame:
    """Decide the base run and every scenario; one row each, the base first.

    Columns: scenario, changes (the overrides), total_cost [currency], cost_vs_base = total −
    base total [currency] (negative: the scenario is cheaper), cost_vs_base_pct (÷ |base|),
    share_changed (share of SKUs whose action differs from the base plan), skus_<a> and
    units_<a> for every action any scenario may take, feasible, method, status, gap.
    scenarios: name → overrides (default :func:`default_scenarios`); constraints: the base run's
    constraints (default from ``base_config``); liquidation_price: how a liquidation price
    follows from price and settings (default
    :func:`deadstock.decide.from_run.liquidation_price`).
    """
    scenarios = default_scenarios() if scenarios is None else scenarios
    if BASE in scenarios:
        raise ConfigError(
            f"A scenario may not be called '{BASE}'.", fix="rename it; the base run is added."
        )
    base_constraints = (
        constraints if constraints is not None else constraints_from_config(base_config)
    )
    runs: list[tuple[str, str, Any]] = [
        (BASE, "", decide_table(params, base_config, base_constraints))
    ]
    actions = set(base_config.decision_actions)
    for name, overrides in scenarios.items():
        p, cfg, cons = scenario_inputs(
            params, base_config, base_constraints, overrides, liquidation_price, name
        )
        actions |= set(cfg.decision_actions)
        runs.append((name, _describe(overrides), decide_table(p, cfg, cons)))
    shown = [a for a in ACTIONS if a in actions]
    base_result = runs[0][2]
    base_cost = base_result.solution.objective
    rows = []
    for name, changes, result in runs:
        problem, solution = result.problem, result.solution
        checked = evaluate(problem, solution.choice)
        delta = solution.objective - base_cost
        rows.append(
            {
                "scenario": name,
                "changes": changes,
                "total_cost": solution.objective,
                "cost_vs_base": delta,
                "cost_vs_base_pct": delta / abs(base_cost) if base_cost != 0 else float("nan"),
                "share_changed": float(np.mean(solution.choice != base_result.solution.choice))
                if problem.n
                else 0.0,
                **_mix(problem, solution.choice, shown),
                "feasible": checked.feasible,
                "method": solution.method,
                "status": solution.status,
                "gap": solution.gap,
            }
        )
    return pl.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# Benefit versus the current practice
# ------------------------------------------------------------------------------------------------
#: Cascade tiers (SPEC §3.5 industry rule): the 50 % markdown tier is cleared (liquidated) in
#: the stand-in; the 25 % / 15 % tiers and holds sell through the regular channel (kept).
CASCADE_DEEP_SHARE = 0.20


def _forced_only(problem: Problem) -> tuple[BoolArray, IntArray]:
    """SKUs with one allowed action and the start plan: that action, else keep."""
    fixed = problem.allowed.sum(axis=1) == 1
    choice = np.full(problem.n, ACTIONS.index("keep"), dtype=np.int64)
    choice[fixed] = np.argmax(problem.allowed[fixed], axis=1)
    return fixed, choice


def _slowest_first(problem: Problem) -> IntArray:
    """SKU order of a practice without the cost model: longest expected days in stock first
    (ties: table order)."""
    days = problem.params["expected_days_in_stock"]
    return np.argsort(-np.nan_to_num(days, nan=np.inf), kind="stable")


def share_practice(
    problem: Problem, shares: Mapping[str, float], basis: str = "skus"
) -> tuple[IntArray, dict[str, float]]:
    """A plan that clears given shares of the SKUs (or units), slowest stock first.

    For each clearing action in ACTIONS order, the SKUs with the longest expected days in stock
    that may take it and are not yet assigned take it until its share of the SKUs (``basis`` =
    "skus") or of the excess units ("units") is reached; the rest keep. A SKU is never cut: with
    units, SKUs are added while the units before it are below the quota. SKUs with one allowed
    action keep it and count toward their action. Returns the plan and the shares reached.
    """
    unknown = sorted(set(shares) - set(ACTIONS))
    if unknown:
        raise ConfigError(
            f"Practice shares name unknown action(s) {', '.join(unknown)}.",
            fix=f"use some of: {', '.join(ACTIONS)}.",
        )
    if basis not in ("skus", "units"):
        raise ConfigError(
            f"The 'basis' parameter must be 'skus' or 'units'. Got {basis!r}.",
            fix="use basis='skus' or basis='units'.",
        )
    values = np.asarray(list(shares.values()), dtype=np.float64)
    if (values < 0).any() or values.sum() > 1.0 + 1e-6:
        raise ConfigError(
            f"Practice shares must be ≥ 0 and sum to at most 1. Got {dict(shares)}.",
            fix="give each action's share as a fraction, e.g. {'keep': 0.7, 'liquidate': 0.3}.",
        )
    fixed, choice = _forced_only(problem)
    weight = np.ones(problem.n) if basis == "skus" else problem.units
    total = float(weight.sum())
    order = _slowest_first(problem)
    assigned = fixed.copy()
    for action in ACTIONS[1:]:
        share = float(shares.get(action, 0.0))
        j = ACTIONS.index(action)
        quota = share * total - float(weight[fixed & (choice == j)].sum())
        if quota <= 0:
            continue
        candidates = order[~assigned[order] & problem.allowed[order, j]]
        if basis == "skus":
            take = candidates[: round(quota)]
        else:
            before = np.cumsum(weight[candidates]) - weight[candidates]
            take = candidates[before < quota - 1e-9 * max(total, 1.0)]
        choice[take] = j
        assigned[take] = True
    reached = {
        a: float(weight[choice == ACTIONS.index(a)].sum() / total) if total > 0 else 0.0
        for a in ACTIONS
        if (choice == ACTIONS.index(a)).any()
    }
    return choice, reached


def cascade_practice(
    problem: Problem,
    classification: pl.DataFrame | None = None,
    markdown_settings: MarkdownSettings | None = None,
    cascade_settings: CascadeSettings | None = None,
) -> tuple[IntArray, str, Problem]:
    """The industry markdown cascade as a plan (SPEC §3.5 rule baseline), and the problem that
    prices it.

    With ``classification`` (the run's) and a forecast in the params, every SKU gets its
    cascade discount (:func:`deadstock.decide.cascade.cascade_discounts`: dead → 50 %, long
    block → 25 %, spot → 15 %, high-season overstock → 25 %, release-ratio tails, hold before
    high season) held for the markdown weeks, priced by the markdown model at exactly that
    discount (:func:`deadstock.pricing.options.markdown_at`) in the ``markdown`` column of a copy
    of the problem; SKUs without a cascade discount keep. Without a forecast or classification,
    the stand-in of earlier versions: the 50 % tier (dead and not held, or the slowest 20 % by
    release ratio; without a classification the slowest 20 % by expected days in stock) is
    liquidated (returned where only a return is allowed), the rest kept.
    """
    fixed, choice = _forced_only(problem)
    forecast = problem.params.get("forecast_daily")
    if classification is not None and forecast is not None and np.isfinite(forecast).any():
        discount = _cascade_discount_per_row(problem, classification, cascade_settings)
        frame = pl.DataFrame({k: np.asarray(v) for k, v in problem.params.items()})
        carrying, recovery = markdown_at(
            frame, problem.economy, markdown_settings or MarkdownSettings(), discount
        )
        j = ACTIONS.index("markdown")
        lost_sale = problem.components["markdown"]["lost_sale"]
        priced = np.isfinite(recovery) & ~fixed
        components = {a: dict(parts) for a, parts in problem.components.items()}
        components["markdown"] = {
            "carrying": np.where(priced, carrying, np.nan),
            "lost_sale": lost_sale,
            "recovery": np.where(priced, recovery, np.nan),
        }
        matrix = problem.unit_cost_matrix.copy()
        matrix[:, j] = np.where(priced, carrying + lost_sale + recovery, 0.0)
        allowed = problem.allowed.copy()
        allowed[:, j] = priced
        choice[priced] = j
        practice = replace(problem, components=components, unit_cost_matrix=matrix, allowed=allowed)
        levels = ", ".join(
            f"{d:.0%}: {int((priced & (discount == d)).sum())}" for d in np.unique(discount[priced])
        )
        return choice, f"cascade markdowns priced by the markdown model ({levels} SKUs)", practice
    n = problem.n
    if classification is None:
        deep = np.zeros(n, dtype=bool)
        k = round(CASCADE_DEEP_SHARE * n)
        deep[_slowest_first(problem)[:k]] = True
        source = "slowest 20 % by expected days in stock (no classification given)"
    else:
        deep = _cascade_deep_tier(problem, classification)
        source = "classification: dead (not held) or release ratio in the slowest 20 %"
    liquidate, ret = ACTIONS.index("liquidate"), ACTIONS.index("return")
    free_deep = deep & ~fixed
    can_liquidate = free_deep & problem.allowed[:, liquidate]
    choice[can_liquidate] = liquidate
    can_return = free_deep & ~problem.allowed[:, liquidate] & problem.allowed[:, ret]
    choice[can_return] = ret
    return choice, f"cascade stand-in (50 % tier liquidated; {source})", problem


def _cascade_discount_per_row(
    problem: Problem, classification: pl.DataFrame, settings: CascadeSettings | None
) -> FloatArray:
    """The cascade discount of each row of ``problem`` [-] (0 where the row has none)."""
    tiers = cascade_discounts(classification, settings)
    keys = ["sku"]
    left = problem.skus.to_frame("sku")
    if problem.location is not None:
        left = left.with_columns(problem.location.alias("location"))
        keys.append("location")
    tiers = tiers.select(*[pl.col(k).cast(pl.String) for k in keys], "cascade_discount")
    joined = left.join(
        tiers.unique(subset=keys, keep="first"), on=keys, how="left", maintain_order="left"
    )
    return joined["cascade_discount"].fill_null(0.0).to_numpy()


def _cascade_deep_tier(problem: Problem, classification: pl.DataFrame) -> BoolArray:
    """Rows of ``problem`` in the cascade's 50 % tier, from the classification table."""
    missing = [c for c in ("sku", "is_dead", "release_ratio_pct") if c not in classification]
    if missing:
        raise ConfigError(
            f"The classification table lacks column(s) {', '.join(missing)} for the cascade.",
            column=missing[0],
            fix="pass the run's classification table (sku, is_dead, release_ratio_pct, ...).",
        )
    keys = ["sku"]
    left = problem.skus.to_frame("sku")
    if problem.location is not None and "location" in classification.columns:
        left = left.with_columns(problem.location.alias("location"))
        keys.append("location")
    hold = (
        pl.col("high_season_hold").fill_null(False)
        if "high_season_hold" in classification.columns
        else pl.lit(False)
    )
    tier = classification.select(
        *[pl.col(k).cast(pl.String) for k in keys],
        (
            (pl.col("is_dead").fill_null(False) & ~hold)
            | (pl.col("release_ratio_pct").fill_null(0.0) > 1.0 - CASCADE_DEEP_SHARE)
        ).alias("deep"),
    ).unique(subset=keys, keep="first")
    joined = left.with_row_index("row").join(tier, on=keys, how="left").sort("row")
    return joined["deep"].fill_null(False).to_numpy()


def benefit_vs_practice(
    problem: Problem,
    solution: Solution,
    practice: str | Mapping[str, float],
    classification: pl.DataFrame | None = None,
    basis: str = "skus",
    markdown_settings: MarkdownSettings | None = None,
    cascade_settings: CascadeSettings | None = None,
) -> dict[str, Any]:
    """What the optimal plan is worth against a policy the user describes (SPEC §3.5).

    practice: ``"keep_all"`` (every SKU kept), ``"cascade"`` (:func:`cascade_practice`) or a
    mapping of action shares (:func:`share_practice`). SKUs with one allowed action (keep list,
    forced, retained single items) take it in every practice. Both plans are priced by
    :func:`evaluate`. Returns practice (its description), practice_cost, optimum_cost,
    benefit = practice − optimum [currency], benefit_pct = benefit ÷ |practice cost|,
    practice_feasible, practice_violations, practice_mix and optimum_mix (share of SKUs per
    action), shares_reached (for shares), and practice_choice (action index per SKU).
    """
    out: dict[str, Any] = {}
    priced_by = problem  # the cascade prices its own discounts in a copy of the problem
    if isinstance(practice, str):
        if practice == "keep_all":
            _, choice = _forced_only(problem)
            out["practice"] = "keep_all"
        elif practice == "cascade":
            choice, source, priced_by = cascade_practice(
                problem, classification, markdown_settings, cascade_settings
            )
            out["practice"] = source
        else:
            raise ConfigError(
                f"Unknown practice {practice!r}.",
                fix="use 'keep_all', 'cascade' or a mapping of action shares.",
            )
    else:
        choice, reached = share_practice(problem, practice, basis)
        out["practice"] = "shares of " + basis + ": " + _describe(practice)
        out["shares_reached"] = reached
    practice_eval = evaluate(priced_by, choice)
    optimum = evaluate(problem, solution.choice).total_cost
    benefit = practice_eval.total_cost - optimum
    denominator = abs(practice_eval.total_cost)
    out.update(
        practice_cost=practice_eval.total_cost,
        optimum_cost=optimum,
        benefit=benefit,
        benefit_pct=benefit / denominator if denominator > 0 else float("nan"),
        practice_feasible=practice_eval.feasible,
        practice_violations=dict(practice_eval.violations),
        practice_mix=_shares(choice),
        optimum_mix=_shares(solution.choice),
        practice_choice=choice,
    )
    return out


def _shares(choice: IntArray) -> dict[str, float]:
    counts = np.bincount(choice, minlength=len(ACTIONS))
    n = max(int(counts.sum()), 1)
    return {a: float(counts[j] / n) for j, a in enumerate(ACTIONS) if counts[j]}
