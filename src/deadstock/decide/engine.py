"""The decision step as tables: parameter table + settings → decisions table + summary.

This is the API the CLI (``deadstock decide``) and the pipeline call; the numerics live in
:mod:`costs` (cost model), :mod:`problem` (arrays, evaluator), :mod:`solve` (optimiser) and
:mod:`explain` (reasons, runner-up). Inputs are read and checked by :mod:`params`.

Value convention (SPEC §2 decisions columns): every figure is a present value at the excess
discount rate Re [currency]. With LS = units × Ps/(1+Re)^De, the discounted regular sale:
npv_keep = LS − cost_keep (the sale less the holding, working-capital and capacity costs until
it happens), npv_action = LS − cost_action (for a clearing action: proceeds − transport), and
value_vs_keep = npv_action − npv_keep = cost_keep − cost_action (≥ 0 when the SKU chose freely).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from deadstock.decide.channels import listing_fix_columns
from deadstock.decide.costs import ACTIONS, COMPONENTS, MARKDOWN_ACTIONS, Economy, available
from deadstock.decide.explain import REASONS, explain
from deadstock.decide.params import ParamsNote, forced_actions, notes_summary
from deadstock.decide.problem import (
    BoolArray,
    Constraints,
    Problem,
    build_problem,
    component_totals,
)
from deadstock.decide.solve import Solution, solve
from deadstock.errors import ConfigError, DeadstockError
from deadstock.pricing.options import MarkdownSettings, markdown_options


@dataclass
class DecisionResult:
    """A decided problem: the decisions table, the summary, and the arrays behind them."""

    decisions: pl.DataFrame
    summary: dict[str, Any]
    problem: Problem
    solution: Solution
    notes: list[ParamsNote] = field(default_factory=list)
    params: pl.DataFrame | None = None  # the params with the markdown options added


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


#: Settings of the decision step, reported in summary.json.
DECISION_SETTINGS: tuple[str, ...] = (
    "currency",
    "capital_cost_daily",
    "discount_rate_excess",
    "discount_rate_overall",
    "avg_margin",
    "avg_days_in_stock",
    "avg_lead_time",
    "capacity_limited",
    "no_forecast_days",
    "decision_actions",
    "capacity_units",
    "capacity_volume",
    "min_liquidation_lot",
    "keep_single_items",
    "single_item_max_days",
    "decision_method",
    "decision_time_limit",
    "decision_gap",
)


def _with_forced_column(params: pl.DataFrame, constraints: Constraints) -> Constraints:
    """Add the params' ``forced_action`` column to the constraints' forced actions."""
    from_column = forced_actions(params)
    if not from_column:
        return constraints
    return replace(constraints, forced={**from_column, **constraints.forced})


def check_economy(economy: Economy) -> None:
    """Raise :class:`ConfigError` for settings the cost model cannot use."""
    if economy.capacity_limited and economy.avg_days_in_stock + economy.avg_lead_time <= 0:
        raise ConfigError(
            "capacity_limited = 1 needs avg_days_in_stock + avg_lead_time > 0 (the capacity "
            "term divides by D + L).",
            fix="set avg_days_in_stock or avg_lead_time above 0, or capacity_limited=0.",
        )


def check_finite(problem: Problem, offered: BoolArray) -> None:
    """Raise :class:`DeadstockError` if an offered action's cost is not a finite number."""
    bad = offered & ~np.isfinite(problem.unit_cost_matrix * problem.units[:, None])
    for j, action in enumerate(ACTIONS):
        for part in problem.components[action].values():
            bad[:, j] |= offered[:, j] & ~np.isfinite(part)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise DeadstockError(
            f"the cost of '{ACTIONS[col]}' for SKU {problem.skus[row]!r} is not a finite number "
            f"({int(bad.any(axis=1).sum())} SKU(s) like this).",
            fix="check that SKU's parameters and the rate settings for extreme values.",
        )


def decide_table(
    params: pl.DataFrame,
    config: Any,
    constraints: Constraints | None = None,
    notes: Sequence[ParamsNote] = (),
) -> DecisionResult:
    """Decide every SKU of a validated parameter table under ``config``'s settings.

    A ``forced_action`` column in ``params`` adds to ``constraints.forced``. Raises
    :class:`~deadstock.decide.problem.InfeasibleError` when no plan meets the constraints.
    ``notes`` (from :mod:`deadstock.decide.params`) are counted in the summary's warnings.
    """
    economy = Economy.from_config(config)
    check_economy(economy)
    actions = tuple(config.decision_actions)
    constraints = constraints if constraints is not None else constraints_from_config(config)
    markdowns = tuple(a for a in MARKDOWN_ACTIONS if a in actions)
    params = markdown_options(params, economy, MarkdownSettings.from_config(config), markdowns)
    if "fix_listing" in actions:
        params = listing_fix_columns(params, economy, config)
    problem = build_problem(
        params, economy, actions=actions, constraints=_with_forced_column(params, constraints)
    )
    offered = available(problem.params, actions)
    check_finite(problem, offered)
    solution = solve(
        problem,
        method=config.decision_method,
        time_limit=config.decision_time_limit,
        gap_target=config.decision_gap,
    )
    decisions = with_markdown_plan(decisions_frame(problem, solution, offered), params, config)
    summary = decision_summary(problem, solution, decisions, config=config, notes=notes)
    return DecisionResult(decisions, summary, problem, solution, list(notes), params)


def with_markdown_plan(decisions: pl.DataFrame, params: pl.DataFrame, config: Any) -> pl.DataFrame:
    """Add ``discount`` (first-week discount of a markdown [-]) and ``markdown_schedule`` (the
    planned ladder, e.g. "15% w1-2, 25% w3-8") to the decisions, rows in params order."""
    if "markdown_discount" not in params.columns and "markdown_ladder_discount" not in params:
        return decisions
    single = params.get_column("markdown_discount", default=None)
    ladder = params.get_column("markdown_ladder_discount", default=None)
    schedule = params.get_column("markdown_ladder_schedule", default=None)
    action = decisions["action"]
    frame = pl.DataFrame({"action": action})
    discount = pl.lit(None, dtype=pl.Float64)
    text = pl.lit(None, dtype=pl.String)
    if single is not None:
        frame = frame.with_columns(single.alias("_single"))
        is_single = pl.col("action") == "markdown"
        discount = pl.when(is_single).then(pl.col("_single")).otherwise(discount)
        weeks = int(config.markdown_weeks)
        text = (
            pl.when(is_single)
            .then(
                (pl.col("_single") * 100).round(0).cast(pl.Int64).cast(pl.String)
                + pl.lit(f"% w1-{weeks}" if weeks > 1 else "% w1")
            )
            .otherwise(text)
        )
    if ladder is not None:
        frame = frame.with_columns(ladder.alias("_ladder"), schedule.alias("_schedule"))
        is_ladder = pl.col("action") == "markdown_ladder"
        discount = pl.when(is_ladder).then(pl.col("_ladder")).otherwise(discount)
        text = pl.when(is_ladder).then(pl.col("_schedule")).otherwise(text)
    plan = frame.select(discount.alias("discount"), text.alias("markdown_schedule"))
    position = decisions.columns.index("supplier_id") + 1 if "supplier_id" in decisions else 3
    out = decisions
    for offset, name in enumerate(("discount", "markdown_schedule")):
        out = out.insert_column(position + offset, plan[name])
    return out


def decisions_frame(
    problem: Problem, solution: Solution, offered: BoolArray | None = None
) -> pl.DataFrame:
    """One row per SKU, in the problem's row order (columns: ``schema.DECISIONS``).

    sku (and location, supplier_id when given), action, units, reason, runner_up,
    runner_up_gap, cost_action, value_vs_keep, expected_recovery, npv_keep, npv_action (module
    docstring), then ``cost_<action>`` [currency] of every action offered to some SKU (null where
    not offered to that SKU) and its components × units, ``<action>_<component>``. ``offered``
    [SKU × ACTIONS]: the actions each SKU could take before per-SKU restrictions (default:
    ``problem.allowed``).
    """
    offered = problem.allowed if offered is None else offered
    choice = solution.choice
    rows = np.arange(problem.n)
    units = problem.units
    total = problem.unit_cost_matrix * units[:, None]
    chosen = total[rows, choice]
    keep = total[:, ACTIONS.index("keep")]
    sale = problem.components["return"]["lost_sale"] * units
    recovery = np.zeros(problem.n)
    for j, action in enumerate(ACTIONS[1:], start=1):
        mask = choice == j
        recovery[mask] = -problem.components[action]["recovery"][mask] * units[mask]
    why = explain(problem, solution, offered)
    columns: dict[str, Any] = {"sku": problem.skus}
    if problem.location is not None:
        columns["location"] = problem.location
    columns |= {
        "action": pl.Series(ACTIONS, dtype=pl.String).gather(choice),
        "units": units,
        "reason": why["reason"],
        "runner_up": why["runner_up"],
        "runner_up_gap": why["runner_up_gap"],
        "cost_action": chosen,
        "value_vs_keep": keep - chosen,
        "expected_recovery": recovery,
        "npv_keep": sale - keep,
        "npv_action": sale - chosen,
    }
    if problem.supplier is not None:
        columns["supplier_id"] = problem.supplier
    for j, action in enumerate(ACTIONS):
        if not offered[:, j].any():
            continue
        columns[f"cost_{action}"] = np.where(offered[:, j], total[:, j], np.nan)
        for name in COMPONENTS[action]:
            columns[f"{action}_{name}"] = np.where(
                offered[:, j], problem.components[action][name] * units, np.nan
            )
    frame = pl.DataFrame(columns)
    return frame.with_columns(pl.selectors.float().fill_nan(None))


def decision_summary(
    problem: Problem,
    solution: Solution,
    decisions: pl.DataFrame | None = None,
    *,
    config: Any = None,
    notes: Sequence[ParamsNote] = (),
) -> dict[str, Any]:
    """Totals of a decided problem (summary.json).

    skus, units, total_cost, every component's total, keep_everything_cost and value_vs_keep
    (keep_everything_cost − total_cost) [currency], expected_recovery, SKUs / units / cost /
    recovery per action (every action of the run's set, zeros included), reason counts,
    warnings (note code → rows), the settings used and the solver's status, bound and gap.
    """
    decisions = decisions if decisions is not None else decisions_frame(problem, solution)
    choice = solution.choice
    rows = np.arange(problem.n)
    total = problem.unit_cost_matrix * problem.units[:, None]
    chosen = total[rows, choice]
    keep_all = float(total[:, ACTIONS.index("keep")].sum())
    recovery = decisions["expected_recovery"].fill_null(0.0).to_numpy()
    names = tuple(config.decision_actions) if config is not None else ACTIONS
    mix = {
        action: {
            "skus": int((choice == j).sum()),
            "units": float(problem.units[choice == j].sum()),
            "cost": float(chosen[choice == j].sum()),
            "expected_recovery": float(recovery[choice == j].sum()),
        }
        for j, action in enumerate(ACTIONS)
        if action in names or (choice == j).any()
    }
    components = {name: 0.0 for parts in COMPONENTS.values() for name in parts}
    components |= component_totals(problem, choice)
    reasons = decisions["reason"].value_counts()
    reason_counts = dict(zip(reasons["reason"].to_list(), reasons["count"].to_list(), strict=True))
    total_cost = float(chosen.sum())
    settings: dict[str, Any] = {}
    if config is not None:
        for name in DECISION_SETTINGS:
            value = config.get(name)
            settings[name] = list(value) if isinstance(value, tuple) else value
    settings["economy_used"] = dict(problem.economy.__dict__)
    return {
        "skus": problem.n,
        "units": float(problem.units.sum()),
        "total_cost": total_cost,
        "components": components,
        "keep_everything_cost": keep_all,
        "value_vs_keep": keep_all - total_cost,
        "expected_recovery": float(recovery.sum()),
        "actions": mix,
        "reasons": {
            code: int(reason_counts.get(code, 0)) for code in REASONS if code in reason_counts
        },
        "warnings": notes_summary(notes),
        "settings": settings,
        "solver": {
            "method": solution.method,
            "status": solution.status,
            "objective": solution.objective,
            "bound": solution.bound,
            "gap": solution.gap,
            "seconds": solution.seconds,
            "shadow_prices": solution.shadow_prices,
        },
    }


def write_decisions(
    result: DecisionResult,
    out_dir: Path | str,
    formats: Sequence[str] = ("csv", "parquet"),
    extra: Callable[[Path], object] | None = None,
    replaces: Sequence[str] = (),
) -> dict[str, Path]:
    """Write decisions (.csv and/or .parquet) and summary.json to ``out_dir``, atomically.

    Files are written to a temporary folder next to ``out_dir`` and moved in only when all are
    complete, so a failure leaves the folder as it was. A decisions file of a format not asked
    for is removed (it would belong to an older run). ``extra`` is called with the temporary
    folder to add files that move in with the rest (the decision analysis); file names in
    ``replaces`` that this call does not write are removed from ``out_dir`` too.
    """
    from deadstock.pipeline import _csv_safe, _json_default

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    written: dict[str, Path] = {}
    try:
        if "parquet" in formats:
            result.decisions.write_parquet(staging / "decisions.parquet")
        if "csv" in formats:
            _csv_safe(result.decisions).write_csv(staging / "decisions.csv")
        (staging / "summary.json").write_text(
            json.dumps(result.summary, indent=2, default=_json_default), encoding="utf-8"
        )
        if extra is not None:
            extra(staging)
        out_dir.mkdir(exist_ok=True)
        for stale in ("csv", "parquet"):
            if stale not in formats:
                (out_dir / f"decisions.{stale}").unlink(missing_ok=True)
        for name in replaces:
            if not (staging / name).exists():
                (out_dir / name).unlink(missing_ok=True)
        for item in sorted(staging.iterdir()):
            item.replace(out_dir / item.name)
            written[item.stem if item.suffix != ".json" else "summary"] = out_dir / item.name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
