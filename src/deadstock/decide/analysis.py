"""The decision analysis of a decided problem: tables, charts and a summary block (SPEC §3.5).

One call, :func:`analyse_decisions`, runs every analysis of :mod:`rules`, :mod:`sensitivity`,
:mod:`scenarios` and :mod:`plots` on a decided problem; :func:`write_analysis` writes its tables
and draws its charts into an output folder. ``deadstock decide`` and ``deadstock run`` call both
and put the files next to the decisions, in the same atomic move (Zijlmans 2025 reports the same
analyses: threshold rules with their loss, −100 %…+100 % sensitivity, scenarios).

Speed. Threshold rules and the benefit versus a practice use every SKU. Sensitivity and
scenarios solve the problem again per point (~100 points), so above :data:`SAMPLE_SKUS` SKUs
they run on a seeded random sample of that many SKUs (:data:`COUPLED_SAMPLE_SKUS` when coupling
rows link SKUs); the sample is a proportional miniature: every coupling limit (capacity, return
caps, liquidation lot) is scaled by the sample's share of the SKUs. Coupled points are solved to
a relative gap of :data:`ANALYSIS_GAP` within :data:`ANALYSIS_TIME_LIMIT` seconds each (their gap
is in the tables). The summary says when a sample was used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from deadstock.config import Config
from deadstock.decide.cascade import CascadeSettings
from deadstock.decide.costs import ACTIONS, Economy
from deadstock.decide.coupling import coupling_rows
from deadstock.decide.engine import DecisionResult, constraints_from_config
from deadstock.decide.problem import (
    Constraints,
    InfeasibleError,
    Problem,
    build_problem,
    plan_costs,
)
from deadstock.decide.rules import RuleSet, learn_threshold_rules
from deadstock.decide.scenarios import (
    LIQUIDATION_SETTINGS,
    LiquidationPrice,
    benefit_vs_practice,
    compare_scenarios,
    default_scenarios,
)
from deadstock.decide.sensitivity import sensitivity, swings
from deadstock.decide.solve import Solution
from deadstock.errors import ConfigError
from deadstock.pricing.options import MarkdownSettings

#: Most SKUs the sensitivity and scenario solves use; larger problems are sampled [SKUs].
SAMPLE_SKUS = 200_000
#: The same when coupling rows link SKUs (each point is then an LP-based solve) [SKUs].
COUPLED_SAMPLE_SKUS = 5_000
#: Seed of the sample.
SAMPLE_SEED = 0
#: Relative gap and time limit [s] of each coupled sensitivity / scenario solve.
ANALYSIS_GAP = 1e-2
ANALYSIS_TIME_LIMIT = 5.0
#: Default number of sensitivity steps on each side of the base (4 → −100, −75, …, +100 %).
STEPS_PER_SIDE = 4
#: How many settings the summary lists as the most sensitive.
TOP_SENSITIVITIES = 3

KEEP_ALL = "keep_all"
CASCADE = "cascade"

#: Files :func:`write_analysis` may write, in this order (charts only when there are SKUs).
TABLE_FILES: dict[str, str] = {
    "rules": "decision_rules.csv",
    "sensitivity": "sensitivity.csv",
    "swings": "sensitivity_swings.csv",
    "scenarios": "scenarios.csv",
    "practices": "practice_benefit.csv",
}
CHART_FILES: dict[str, str] = {"decision_map": "decision_map.png", "tornado": "tornado.png"}
ANALYSIS_FILES: tuple[str, ...] = (*TABLE_FILES.values(), *CHART_FILES.values())

Practice = str | Mapping[str, float]

#: Columns of an empty sensitivity / scenarios table (an infeasible sample).
EMPTY_SENSITIVITY: dict[str, Any] = {
    "setting": pl.String,
    "change": pl.Float64,
    "value": pl.Float64,
    "total_cost": pl.Float64,
    "cost_change": pl.Float64,
    "cost_change_pct": pl.Float64,
    "share_changed": pl.Float64,
    "gap": pl.Float64,
}
EMPTY_SCENARIOS: dict[str, Any] = {
    "scenario": pl.String,
    "changes": pl.String,
    "total_cost": pl.Float64,
    "cost_vs_base": pl.Float64,
    "cost_vs_base_pct": pl.Float64,
    "share_changed": pl.Float64,
    "feasible": pl.Boolean,
    "method": pl.String,
    "status": pl.String,
    "gap": pl.Float64,
}


@dataclass
class DecisionAnalysis:
    """Tables, chart inputs and the summary block of one decision analysis.

    rules: :meth:`RuleSet.frame`; sensitivity: :func:`sensitivity` (+ skus_analysed); swings:
    :func:`swings` of it (the tornado's data); scenarios: :func:`compare_scenarios`
    (+ skus_analysed); practices: one row per practice compared (:func:`practice_table`);
    summary: the ``analysis`` block of summary.json; files: the names :func:`write_analysis`
    writes; notes: what was sampled or skipped.
    """

    rules: pl.DataFrame
    sensitivity: pl.DataFrame
    swings: pl.DataFrame
    scenarios: pl.DataFrame
    practices: pl.DataFrame
    summary: dict[str, Any]
    files: list[str]
    notes: list[str] = field(default_factory=list)
    rule_set: RuleSet | None = None
    problem: Problem | None = None
    solution: Solution | None = None
    currency: str = ""


# ------------------------------------------------------------------------------------------------
# Practice and steps as the user writes them
# ------------------------------------------------------------------------------------------------
def parse_practice(text: str) -> Practice:
    """``keep_all``, ``cascade`` or action shares ``keep=0.7,liquidate=0.3`` (``30%`` also works).

    Shares are fractions of the SKUs, each in [0, 1], summing to at most 1 (the rest is kept).
    Raises :class:`ConfigError` naming the bad part.
    """
    cleaned = text.strip()
    if cleaned in (KEEP_ALL, CASCADE):
        return cleaned
    fix = "write --practice keep_all, --practice cascade or shares like keep=0.7,liquidate=0.3."
    if "=" not in cleaned:
        raise ConfigError(f"--practice: unknown practice {text!r}.", fix=fix)
    shares: dict[str, float] = {}
    for part in (p.strip() for p in cleaned.split(",")):
        name, sep, value = (s.strip() for s in part.partition("="))
        if not sep or name not in ACTIONS:
            raise ConfigError(
                f"--practice: {part!r} is not action=share with an action among "
                f"{', '.join(ACTIONS)}.",
                fix=fix,
            )
        if name in shares:
            raise ConfigError(f"--practice: action {name!r} is given twice.", fix=fix)
        try:
            share = float(value[:-1]) / 100.0 if value.endswith("%") else float(value)
        except ValueError:
            raise ConfigError(
                f"--practice: share {value!r} of {name!r} is not a number.", fix=fix
            ) from None
        if not 0.0 <= share <= 1.0:
            raise ConfigError(
                f"--practice: share of {name!r} must be in [0, 1]. Got {value}.", fix=fix
            )
        shares[name] = share
    if sum(shares.values()) > 1.0 + 1e-9:
        raise ConfigError(
            f"--practice: the shares sum to {sum(shares.values()):g}, more than 1.", fix=fix
        )
    return shares


def practice_label(practice: Practice) -> str:
    """``keep_all``, ``cascade`` or the shares as ``keep=0.7,liquidate=0.3``."""
    if isinstance(practice, str):
        return practice
    return ",".join(f"{a}={s:g}" for a, s in practice.items())


def sensitivity_steps(per_side: int = STEPS_PER_SIDE) -> tuple[float, ...]:
    """Relative changes −100 % … +100 % with ``per_side`` steps on each side of 0 [share]."""
    if isinstance(per_side, bool) or not isinstance(per_side, int) or not 1 <= per_side <= 50:
        raise ConfigError(
            f"The sensitivity steps per side must be an int in [1, 50]. Got {per_side!r}.",
            fix="e.g. --sensitivity-steps 4 (−100, −75, …, +100 %).",
        )
    return tuple(k / per_side for k in range(-per_side, per_side + 1))


# ------------------------------------------------------------------------------------------------
# The analysis
# ------------------------------------------------------------------------------------------------
def scaled_constraints(constraints: Constraints, share: float) -> Constraints:
    """``constraints`` with every coupling limit × ``share`` (a proportional miniature)."""

    def scale(value: float | None) -> float | None:
        return None if value is None else value * share

    def scale_columns(frame: pl.DataFrame | None, names: Sequence[str]) -> pl.DataFrame | None:
        if frame is None:
            return None
        return frame.with_columns(pl.col(c) * share for c in names if c in frame.columns)

    return replace(
        constraints,
        capacity_units=scale(constraints.capacity_units),
        capacity_volume=scale(constraints.capacity_volume),
        min_liquidation_lot=scale(constraints.min_liquidation_lot),
        supplier_caps=scale_columns(
            constraints.supplier_caps, ("return_cap_units", "return_cap_value")
        ),
        location_capacity=scale_columns(
            constraints.location_capacity, ("capacity_units", "capacity_volume")
        ),
    )


def _sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded sample of ``size`` of ``n`` rows (all when n ≤ size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _analysis_scenarios(
    params: pl.DataFrame,
    liquidation_price: LiquidationPrice | None,
    constraints: Constraints,
    notes: list[str],
) -> dict[str, dict[str, Any]]:
    """The default scenarios that apply to this parameter table; what is skipped goes to notes."""
    scenarios = default_scenarios()
    dropped: list[str] = []
    if liquidation_price is None:
        dropped += [k for k, v in scenarios.items() if LIQUIDATION_SETTINGS & set(v)]
        notes.append(
            "liquidator policy scenarios skipped: the parameter table gives liquidation_price "
            "directly (they apply in deadstock run, where it follows from price)"
        )
    elif "price" not in params.columns:
        dropped += [k for k, v in scenarios.items() if LIQUIDATION_SETTINGS & set(v)]
        notes.append("liquidator policy scenarios skipped: the parameter table has no price")
    units = params["total_units"] if "total_units" in params.columns else None
    if units is None or units.null_count() == params.height:
        dropped += [k for k in scenarios if k.startswith("single_items")]
        notes.append(
            "single-item retention scenarios skipped: the parameter table has no total_units"
        )
    if constraints.capacity_units is not None or constraints.capacity_volume is not None:
        notes.append(
            "capacity_limited scenarios equal the base: a capacity limit is set, whose shadow "
            "price replaces the α term"
        )
    return {k: v for k, v in scenarios.items() if k not in dropped}


def _compare(
    params: pl.DataFrame,
    config: Config,
    scenarios: Mapping[str, Mapping[str, Any]],
    constraints: Constraints,
    liquidation_price: LiquidationPrice | None,
    notes: list[str],
) -> pl.DataFrame:
    """:func:`compare_scenarios`, leaving out (with a note) scenarios that are infeasible."""
    try:
        return compare_scenarios(params, config, scenarios, constraints, liquidation_price)
    except InfeasibleError:
        pass
    feasible: dict[str, Mapping[str, Any]] = {}
    for name, overrides in scenarios.items():
        try:
            compare_scenarios(params, config, {name: overrides}, constraints, liquidation_price)
        except InfeasibleError as exc:
            notes.append(f"scenario {name} skipped: infeasible ({exc})")
        else:
            feasible[name] = overrides
    try:
        return compare_scenarios(params, config, feasible, constraints, liquidation_price)
    except InfeasibleError as exc:  # the sample's base itself
        notes.append(f"scenarios skipped: the sample is infeasible ({exc})")
        return pl.DataFrame(schema=EMPTY_SCENARIOS)


def practice_table(
    results: Mapping[str, Mapping[str, Any]], actions: Sequence[str]
) -> pl.DataFrame:
    """One row per practice: practice, description, practice_cost, optimum_cost, benefit
    [currency], benefit_pct, practice_feasible, practice_violations, then practice_share_<a> and
    optimum_share_<a> (share of SKUs per action) for every action of ``actions``."""
    rows = []
    for label, out in results.items():
        row: dict[str, Any] = {
            "practice": label,
            "description": out["practice"],
            "practice_cost": out["practice_cost"],
            "optimum_cost": out["optimum_cost"],
            "benefit": out["benefit"],
            "benefit_pct": out["benefit_pct"],
            "practice_feasible": out["practice_feasible"],
            "practice_violations": "; ".join(
                f"{k} {v:g}" for k, v in out["practice_violations"].items()
            ),
        }
        for a in actions:
            row[f"practice_share_{a}"] = float(out["practice_mix"].get(a, 0.0))
        for a in actions:
            row[f"optimum_share_{a}"] = float(out["optimum_mix"].get(a, 0.0))
        rows.append(row)
    return pl.DataFrame(rows)


def _finite(value: float) -> float | None:
    """JSON-safe number: None for NaN and ±inf."""
    return float(value) if math.isfinite(value) else None


def analyse_decisions(
    problem: Problem,
    solution: Solution,
    params: pl.DataFrame,
    config: Config,
    *,
    practice: Practice = KEEP_ALL,
    classification: pl.DataFrame | None = None,
    liquidation_price: LiquidationPrice | None = None,
    steps: Sequence[float] | None = None,
    sample_skus: int | None = None,
    seed: int = SAMPLE_SEED,
) -> DecisionAnalysis:
    """Threshold rules, sensitivity, scenarios and benefit vs practice of a decided problem.

    problem, solution: the decided problem (``DecisionResult.problem`` / ``.solution``);
    params: its parameter table, row i = SKU i of ``problem``; config: the run's settings.
    practice: ``keep_all``, ``cascade`` or action shares (see :func:`parse_practice`); keep_all
    is always compared too. classification: the run's table for the cascade's tiers.
    liquidation_price: how the liquidation price follows from price and settings (the run's
    :func:`deadstock.decide.from_run.liquidation_price`); None skips the liquidator scenarios.
    steps: sensitivity changes (default :func:`sensitivity_steps`). sample_skus: most SKUs for
    sensitivity and scenarios (default :data:`SAMPLE_SKUS`, :data:`COUPLED_SAMPLE_SKUS` when
    coupled). Tables and files: :class:`DecisionAnalysis`, docs/methods.md.
    """
    if params.height != problem.n:
        raise ValueError(f"params has {params.height} rows, the problem {problem.n} SKUs")
    clock: dict[str, float] = {}
    notes: list[str] = []
    steps = tuple(steps) if steps is not None else sensitivity_steps()
    if 0.0 not in steps:
        steps = tuple(sorted({*steps, 0.0}))
    coupled = bool(coupling_rows(problem))
    actions = [a for a in ACTIONS if a in config.decision_actions]

    start = time.perf_counter()
    rule_set = learn_threshold_rules(problem, solution)
    clock["rules"] = time.perf_counter() - start

    start = time.perf_counter()
    practices: dict[str, dict[str, Any]] = {}
    for item in [KEEP_ALL] if practice == KEEP_ALL else [KEEP_ALL, practice]:
        practices[practice_label(item)] = benefit_vs_practice(
            problem,
            solution,
            item,
            classification=classification,
            markdown_settings=MarkdownSettings.from_config(config),
            cascade_settings=CascadeSettings.from_config(config),
        )
    clock["practices"] = time.perf_counter() - start

    # Sensitivity and scenarios: on a proportional sample of large problems.
    limit = sample_skus or (COUPLED_SAMPLE_SKUS if coupled else SAMPLE_SKUS)
    rows = _sample_rows(problem.n, limit, seed)
    share = rows.size / problem.n if problem.n else 1.0
    sampled = rows.size < problem.n
    sub_params = params[rows] if sampled else params
    constraints = scaled_constraints(problem.constraints, share) if sampled else problem.constraints
    if sampled:
        notes.append(
            f"sensitivity and scenarios on a seeded sample of {rows.size:,} of {problem.n:,} SKUs "
            f"(seed {seed}; coupling limits scaled by {share:.4g})"
        )
    solve_options: dict[str, Any] = {
        "method": config.decision_method,
        "time_limit": config.decision_time_limit,
        "gap_target": config.decision_gap,
    }
    scenario_config = config
    if coupled:
        solve_options["time_limit"] = min(config.decision_time_limit, ANALYSIS_TIME_LIMIT)
        solve_options["gap_target"] = max(config.decision_gap, ANALYSIS_GAP)
        scenario_config = config.with_values(
            decision_time_limit=solve_options["time_limit"],
            decision_gap=solve_options["gap_target"],
        )
        notes.append(
            f"coupled problem: sensitivity and scenario solves stop at a gap of "
            f"{solve_options['gap_target']:g} or {solve_options['time_limit']:g} s each"
        )
    economy = Economy.from_config(config)

    start = time.perf_counter()
    try:
        sens = sensitivity(
            sub_params,
            economy,
            tuple(actions),
            constraints,
            steps=steps,
            solve_options=solve_options,
        )
    except InfeasibleError as exc:  # only a sample's miniature limits can be infeasible
        notes.append(f"sensitivity skipped: the sample is infeasible ({exc})")
        sens = pl.DataFrame(schema=EMPTY_SENSITIVITY)
    sens = sens.with_columns(pl.lit(rows.size, dtype=pl.Int64).alias("skus_analysed"))
    swing = swings(sens).with_columns((pl.col("swing") / pl.col("base").abs()).alias("swing_pct"))
    clock["sensitivity"] = time.perf_counter() - start

    start = time.perf_counter()
    scenario_set = _analysis_scenarios(sub_params, liquidation_price, constraints, notes)
    scenarios = _compare(
        sub_params, scenario_config, scenario_set, constraints, liquidation_price, notes
    ).with_columns(pl.lit(rows.size, dtype=pl.Int64).alias("skus_analysed"))
    clock["scenarios"] = time.perf_counter() - start

    files = list(TABLE_FILES.values())
    if problem.n:
        files.append(CHART_FILES["decision_map"])
        if sens.height:
            files.append(CHART_FILES["tornado"])
    else:
        notes.append("charts skipped: no SKU with excess stock to decide")
    practice_frame = practice_table(practices, actions)
    summary = _summary(
        rule_set, practices, practice_label(practice), swing, sens, scenarios, steps, rows.size
    )
    summary.update(
        sample={"skus": int(rows.size), "of": problem.n, "seed": seed} if sampled else None,
        solve=(
            {"gap_target": solve_options["gap_target"], "time_limit": solve_options["time_limit"]}
            if coupled
            else None
        ),
        files=files,
        notes=notes,
        seconds={k: round(v, 3) for k, v in clock.items()},
    )
    return DecisionAnalysis(
        rules=rule_set.frame(),
        sensitivity=sens,
        swings=swing,
        scenarios=scenarios,
        practices=practice_frame,
        summary=summary,
        files=files,
        notes=notes,
        rule_set=rule_set,
        problem=problem,
        solution=solution,
        currency=str(config.currency),
    )


def _summary(
    rule_set: RuleSet,
    practices: Mapping[str, Mapping[str, Any]],
    practice: str,
    swing: pl.DataFrame,
    sens: pl.DataFrame,
    scenarios: pl.DataFrame,
    steps: Sequence[float],
    skus_analysed: int,
) -> dict[str, Any]:
    """The analysis block of summary.json (money in the run's currency)."""
    top = swing.filter(pl.col("swing").is_finite() & (pl.col("swing") > 0)).head(TOP_SENSITIVITIES)
    return {
        "practice": practice,
        "rules": {
            "rules": rule_set.describe(),
            "total_cost": _finite(rule_set.total_cost),
            "optimum_cost": _finite(rule_set.optimum_cost),
            "loss": _finite(rule_set.loss),
            "loss_pct": _finite(rule_set.loss_pct),
            "agreement": _finite(rule_set.agreement),
            "agreement_units": _finite(rule_set.agreement_units),
            "feasible": rule_set.feasible,
            "exact": rule_set.exact,
        },
        "practices": {
            label: {
                "description": out["practice"],
                "practice_cost": _finite(out["practice_cost"]),
                "optimum_cost": _finite(out["optimum_cost"]),
                "benefit": _finite(out["benefit"]),
                "benefit_pct": _finite(out["benefit_pct"]),
                "practice_feasible": out["practice_feasible"],
            }
            for label, out in practices.items()
        },
        "benefit_vs_keep_all": _finite(practices[KEEP_ALL]["benefit"]),
        "sensitivity": {
            "points": sens.height,
            "steps": list(steps),
            "skus_analysed": skus_analysed,
            "top": [
                {k: (_finite(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in top.select(
                    "setting", "low", "base", "high", "swing", "swing_pct"
                ).to_dicts()
            ],
        },
        "scenarios": {
            "count": scenarios.height - 1,
            "names": scenarios["scenario"].to_list()[1:],
            "skus_analysed": skus_analysed,
        },
    }


# ------------------------------------------------------------------------------------------------
# The analysis of a run's decisions
# ------------------------------------------------------------------------------------------------
def analyse_run_decisions(
    params: pl.DataFrame,
    decisions: pl.DataFrame,
    engine_solver: Mapping[str, Any],
    tables: Mapping[str, pl.DataFrame],
    config: Config,
    classification: pl.DataFrame | None = None,
    practice: Practice = CASCADE,
    decided: DecisionResult | None = None,
    **options: Any,
) -> DecisionAnalysis:
    """:func:`analyse_decisions` of a run's decision stage (:func:`from_run.run_decisions`).

    With ``decided`` (the stage's engine result) its problem and solution are analysed as they
    are; without it the problem is rebuilt as follows.

    The problem is rebuilt from the priced rows of ``params`` (price and unit cost given, the
    rows the stage decided, in order) with the stage's constraints (settings, supplier return
    caps, per-location room with ``use_location_capacity``); the plan is the decisions'
    ``action`` column (no second solve). The liquidator scenarios recompute the liquidation
    price with :func:`from_run.liquidation_price`; the cascade reads ``classification``.
    """
    from deadstock.decide.from_run import excess_room, liquidation_price, supplier_caps

    priced = params.filter(pl.col("price").is_not_null() & pl.col("unit_cost").is_not_null())
    if decided is not None:
        return analyse_decisions(
            decided.problem,
            decided.solution,
            priced,
            config,
            practice=practice,
            classification=classification,
            liquidation_price=liquidation_price,
            **options,
        )
    keys = [c for c in ("sku", "location") if c in decisions.columns and c in priced.columns]
    if not priced.select(keys).cast(pl.String).equals(decisions.select(keys).cast(pl.String)):
        raise ValueError("the decisions are not the priced rows of params in order")
    constraints = constraints_from_config(
        config, supplier_caps=supplier_caps(tables.get("suppliers"), priced)
    )
    locations = tables.get("locations")
    if config.use_location_capacity and locations is not None and classification is not None:
        room = excess_room(locations, classification, priced)
        constraints = replace(constraints, location_capacity=room)
    problem = build_problem(
        priced, Economy.from_config(config), tuple(config.decision_actions), constraints
    )
    choice = (
        decisions["action"]
        .replace_strict(list(ACTIONS), list(range(len(ACTIONS))), return_dtype=pl.Int64)
        .to_numpy()
    )
    objective = float(plan_costs(problem, choice).sum())
    notes = []
    stage_cost = float(decisions["cost_action"].sum()) if decisions.height else 0.0
    if not math.isclose(objective, stage_cost, rel_tol=1e-9, abs_tol=1e-6):
        notes.append(
            f"the rebuilt problem prices the run's plan at {objective:,.2f}, the decisions at "
            f"{stage_cost:,.2f}: the analysis may not match the decision stage's constraints"
        )
    solution = Solution(
        choice=choice,
        objective=objective,
        bound=float(engine_solver.get("bound", objective)),
        gap=float(engine_solver.get("gap", 0.0)),
        method=str(engine_solver.get("method", "per-sku")),
        status=str(engine_solver.get("status", "optimal")),
    )
    found = analyse_decisions(
        problem,
        solution,
        priced,
        config,
        practice=practice,
        classification=classification,
        liquidation_price=liquidation_price,
        **options,
    )
    found.notes[:0] = notes
    found.summary["notes"] = found.notes
    return found


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------
def write_analysis(analysis: DecisionAnalysis, folder: Path | str) -> dict[str, Path]:
    """Write the analysis tables (CSV) and charts (PNG) into ``folder``; name → path.

    Files (:data:`ANALYSIS_FILES`): decision_rules.csv, sensitivity.csv,
    sensitivity_swings.csv, scenarios.csv, practice_benefit.csv, decision_map.png and
    tornado.png (the charts only when there are SKUs). Callers write into their staging folder
    so the files move in atomically with the decisions.
    """
    from deadstock.decide.plots import decision_map, tornado
    from deadstock.pipeline import _csv_safe

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, file in TABLE_FILES.items():
        frame: pl.DataFrame = getattr(analysis, name)
        _csv_safe(frame).write_csv(folder / file)
        written[name] = folder / file
    problem, solution = analysis.problem, analysis.solution
    if CHART_FILES["decision_map"] in analysis.files and problem is not None:
        assert solution is not None
        benefit = _map_benefit(problem)
        rules = analysis.rule_set.rules if analysis.rule_set is not None else ()
        chart = decision_map(
            (problem, solution),
            folder / CHART_FILES["decision_map"],
            benefit=benefit,
            rules=rules,
            currency=analysis.currency,
        )
        written["decision_map"] = chart.paths[0]
    if CHART_FILES["tornado"] in analysis.files:
        chart = tornado(
            analysis.sensitivity.drop("skus_analysed"),
            folder / CHART_FILES["tornado"],
            currency=analysis.currency,
        )
        written["tornado"] = chart.paths[0]
    return written


def _map_benefit(problem: Problem) -> str:
    """The decision map's benefit axis: return when some SKU may return, else liquidate, else
    the best clearing action."""
    for action in ("return", "liquidate"):
        if problem.allowed[:, ACTIONS.index(action)].any():
            return action
    return "best"
