"""Independent references for the coupled decision solver (issue "Decision engine", point 5).

No reference here calls deadstock's cost model or solver. Every action's cost is recomputed from
the parameter table by a plain-Python version of the thesis formulas (Zijlmans 2025; SPEC §3.5),
the coupling rows are rebuilt from the constraints, and the optimum comes from

1. brute force over every allowed action combination (n ≤ 7 SKUs), and
2. ``scipy.optimize.milp`` (HiGHS through SciPy) on a formulation written here (50–3,000 SKUs):
   binaries x_ga for allowed pairs, Σ_a x_ga = 1, capacity rows over keep, supplier rows over
   return, and a binary y for the minimum liquidation lot.

Against them: ``solve`` (methods auto and milp) reaches the same optimum with a feasible plan, a
valid bound and a consistent gap; ``evaluate`` prices plans like the oracle and no feasible plan
beats the optimum; shadow prices are non-negative, zero on rows that cannot bind, and optimal LP
duals. Then capacity semantics (α dropped, huge and zero capacity) and the CLI.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp
from typer.testing import CliRunner

from deadstock.cli.main import app
from deadstock.config import load_config
from deadstock.datasets.decision_params import generate_params, generate_supplier_caps
from deadstock.decide.costs import ACTIONS, Economy
from deadstock.decide.problem import Constraints, InfeasibleError, build_problem, evaluate
from deadstock.decide.solve import Solution, solve

# ---------------------------------------------------------------------------------------------
# The oracle: thesis cost model and coupling rows in plain Python
# ---------------------------------------------------------------------------------------------
ECONOMIES: dict[str, Economy] = {
    "thesis": Economy(),
    "alpha": Economy(capacity_limited=1.0),
    "steep": Economy(
        capital_cost_daily=0.001,
        discount_rate_excess=0.003,
        discount_rate_overall=0.001,
        avg_margin=5.0,
        avg_days_in_stock=30.0,
        avg_lead_time=14.0,
        capacity_limited=1.0,
    ),
}
#: Clearing action → (proceeds column, transport column); dispose has no proceeds.
CLEARING: dict[str, tuple[str | None, str]] = {
    "return": ("return_price", "return_cost"),
    "liquidate": ("liquidation_price", "liquidation_cost"),
    "recycle": ("recycle_price", "recycle_cost"),
    "donate": ("donation_value", "donation_cost"),
    "dispose": (None, "disposal_cost"),
}
MAX_DAY = 4_000


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@functools.lru_cache(maxsize=16)
def _prefix(rate: float) -> tuple[float, ...]:
    """prefix[k] = Σ_{d=0..k-1} (1+rate)^-d, summed term by term."""
    out = [0.0]
    for d in range(MAX_DAY + 1):
        out.append(out[-1] + (1.0 + rate) ** -d)
    return tuple(out)


def day_sum(rate: float, first: int, last: int) -> float:
    """Σ_{d=first..last} 1/(1+rate)^d over whole days [days]; 0 when first > last."""
    assert last <= MAX_DAY
    if first > last:
        return 0.0
    prefix = _prefix(rate)
    return prefix[last + 1] - prefix[first]


def unit_costs(row: dict[str, Any], economy: Economy, alpha: float) -> dict[str, float]:
    """Cost per unit of every action the SKU can take [currency/unit] (SPEC §3.5).

    keep = Σ_{d=0..⌊De⌋} Cs/(1+Re)^d + Fin·Cw·N·Σ_{d∈F} 1/(1+Re)^d + α·De/(D+L)·M/(1+Ro)^D;
    clearing = transport + Ps/(1+Re)^De − proceeds.
    """
    re = economy.discount_rate_excess
    de = float(row["expected_days_in_stock"])
    last = math.floor(de)
    holding = row["holding_cost_per_day"] * day_sum(re, 0, last)
    working_capital = 0.0
    if row["financed_now"] == 1:
        working_capital = economy.capital_cost_daily * row["unit_cost"] * day_sum(re, 0, last)
    elif row["financed_future"] == 1:
        first = max(math.ceil(row["payment_days"] - row["current_days_in_stock"]), 0)
        working_capital = economy.capital_cost_daily * row["unit_cost"] * day_sum(re, first, last)
    d, lead = economy.avg_days_in_stock, economy.avg_lead_time
    opportunity = (
        alpha * de / (d + lead) * economy.avg_margin / (1.0 + economy.discount_rate_overall) ** d
    )
    out = {"keep": holding + working_capital + opportunity}
    lost_sale = row["price"] / (1.0 + re) ** de
    for action, (proceeds_col, transport_col) in CLEARING.items():
        transport = row.get(transport_col)
        if proceeds_col is None:  # dispose: offered when its cost is given
            if not blank(transport):
                out[action] = transport + lost_sale
            continue
        proceeds = row.get(proceeds_col)
        if blank(proceeds) or (action == "return" and row.get("return_eligible") != 1):
            continue
        out[action] = (0.0 if blank(transport) else transport) + lost_sale - proceeds
    return out


@dataclass
class Row:
    """Σ_g coef[g] · [plan[g] == action] against limit; sense "<=" or "lot" (0 or ≥ limit)."""

    name: str
    action: str
    coef: dict[int, float]
    limit: float
    sense: str = "<="

    def usage(self, plan: list[str]) -> float:
        return math.fsum(c for g, c in self.coef.items() if plan[g] == self.action)


@dataclass
class Model:
    """The oracle's problem: allowed action → total cost [currency] per SKU, and the rows."""

    units: list[float]
    options: list[dict[str, float]]
    rows: list[Row] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.options)

    def cost(self, plan: list[str]) -> float:
        if any(a not in opts for a, opts in zip(plan, self.options, strict=True)):
            return math.inf
        return math.fsum(opts[a] for a, opts in zip(plan, self.options, strict=True))

    def violated(self, plan: list[str]) -> set[str]:
        """Names of the rows ``plan`` breaks (tolerance as documented by ``evaluate``)."""
        out = set()
        if any(a not in opts for a, opts in zip(plan, self.options, strict=True)):
            out.add("not_allowed")
        for row in self.rows:
            used = row.usage(plan)
            tol = 1e-9 * max(1.0, abs(row.limit))
            if row.sense == "<=" and used > row.limit + tol:
                out.add(row.name)
            if row.sense == "lot" and 0 < used < row.limit - tol:
                out.add(row.name)
        return out

    @property
    def scale(self) -> float:
        """Σ_g max_a |c_ga| [currency]: the size against which costs are compared."""
        return max(1.0, math.fsum(max(abs(c) for c in opts.values()) for opts in self.options))


def records(params: pl.DataFrame) -> list[dict[str, Any]]:
    return list(params.iter_rows(named=True))


def oracle_model(
    params: pl.DataFrame,
    economy: Economy,
    constraints: Constraints,
    actions: tuple[str, ...] = ACTIONS,
) -> Model:
    """The decision problem rebuilt from the parameters: options per SKU and coupling rows.

    α counts only without a capacity limit. Keep-listed SKUs and single items (total_units = 1,
    expected days below single_item_max_days when set) may only keep; forced SKUs only take
    their action (the tests never force a keep-listed or single item).
    """
    c = constraints
    places = c.location_capacity
    space = (
        c.capacity_units is not None
        or c.capacity_volume is not None
        or (places is not None and places.height > 0)
    )
    alpha = 0.0 if space else economy.capacity_limited
    rows = records(params)
    units = [float(r["excess_units"]) for r in rows]
    options = []
    for r in rows:
        per_unit = {a: v for a, v in unit_costs(r, economy, alpha).items() if a in actions}
        only = None
        if r["sku"] in set(c.keep_skus):
            only = "keep"
        single = r.get("total_units") == 1 and (
            c.single_item_max_days is None or r["expected_days_in_stock"] < c.single_item_max_days
        )
        if c.keep_single_items and single:
            only = "keep"
        if r["sku"] in c.forced:
            only = c.forced[r["sku"]]
        if only is not None:
            per_unit = {a: v for a, v in per_unit.items() if a == only}
        options.append({a: v * r["excess_units"] for a, v in per_unit.items()})
    model = Model(units, options)
    everyone = range(len(rows))
    volume = [0.0 if blank(r.get("volume")) else float(r["volume"]) for r in rows]
    if c.capacity_units is not None:
        model.rows.append(
            Row("capacity_units", "keep", {g: units[g] for g in everyone}, c.capacity_units)
        )
    if c.capacity_volume is not None:
        coef = {g: units[g] * volume[g] for g in everyone}
        model.rows.append(Row("capacity_volume", "keep", coef, c.capacity_volume))
    if c.min_liquidation_lot is not None:
        coef = {g: units[g] for g in everyone}
        model.rows.append(
            Row("min_liquidation_lot", "liquidate", coef, c.min_liquidation_lot, "lot")
        )
    if places is not None:
        for place in places.iter_rows(named=True):
            members = [g for g in everyone if rows[g].get("location") == place["location"]]
            for column, per in (("capacity_units", None), ("capacity_volume", volume)):
                if blank(place.get(column)):
                    continue
                coef = {g: units[g] * (1.0 if per is None else per[g]) for g in members}
                name = f"{column}[{place['location']}]"
                model.rows.append(Row(name, "keep", coef, float(place[column])))
    if c.supplier_caps is not None:
        for cap in c.supplier_caps.iter_rows(named=True):
            members = [g for g in everyone if rows[g].get("supplier_id") == cap["supplier_id"]]
            for column in ("return_cap_units", "return_cap_value"):
                if blank(cap.get(column)):
                    continue
                coef = {
                    g: units[g]
                    * (1.0 if column.endswith("units") else (rows[g]["return_price"] or 0.0))
                    for g in members
                }
                name = f"{column}[{cap['supplier_id']}]"
                model.rows.append(Row(name, "return", coef, float(cap[column])))
    return model


def brute_force(model: Model) -> tuple[float, list[str]] | None:
    """Cheapest feasible plan by enumerating every allowed combination (None: infeasible)."""
    best: tuple[float, list[str]] | None = None
    choices = [sorted(opts) for opts in model.options]
    for combo in itertools.product(*choices):
        plan = list(combo)
        if model.violated(plan):
            continue
        total = model.cost(plan)
        if best is None or total < best[0]:
            best = (total, plan)
    return best


@dataclass
class Reference:
    """scipy.optimize.milp's answer: status 0 = proven optimal, 2 = infeasible."""

    status: int
    objective: float
    plan: list[str] | None
    message: str


def reference_milp(model: Model, time_limit: float = 60.0, integer: bool = True) -> Reference:
    """Optimum of the model by ``scipy.optimize.milp`` (HiGHS), formulated here.

    Variables x_ga ∈ {0,1} for allowed pairs and y ∈ {0,1} per lot row; rows Σ_a x_ga = 1,
    Σ coef x ≤ limit, and for a lot: Σ coef x − lot·y ≥ 0, Σ coef x − (Σ coef)·y ≤ 0.
    ``integer=False`` gives the LP relaxation (y relaxed too).
    """
    pairs = [(g, a) for g, opts in enumerate(model.options) for a in sorted(opts)]
    column = {pair: j for j, pair in enumerate(pairs)}
    lots = [r for r in model.rows if r.sense == "lot"]
    ncol = len(pairs) + len(lots)
    cost = np.array([model.options[g][a] for g, a in pairs] + [0.0] * len(lots))
    tr: list[int] = []
    tc: list[int] = []
    tv: list[float] = []
    lower: list[float] = []
    upper: list[float] = []

    def add_row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        for j, v in entries:
            tr.append(len(lower))
            tc.append(j)
            tv.append(v)
        lower.append(lo)
        upper.append(hi)

    for g, opts in enumerate(model.options):
        add_row([(column[(g, a)], 1.0) for a in opts], 1.0, 1.0)
    for row in model.rows:
        entries = [
            (column[(g, row.action)], v)
            for g, v in row.coef.items()
            if (g, row.action) in column and v != 0
        ]
        if row.sense == "<=":
            add_row(entries, -np.inf, row.limit)
            continue
        y = len(pairs) + lots.index(row)
        big = math.fsum(v for _, v in entries) + row.limit
        add_row([*entries, (y, -row.limit)], 0.0, np.inf)
        add_row([*entries, (y, -big)], -np.inf, 0.0)
    matrix = sp.csr_matrix((tv, (tr, tc)), shape=(len(lower), ncol))
    result = milp(
        cost,
        constraints=LinearConstraint(matrix, np.array(lower), np.array(upper)),
        integrality=np.ones(ncol) if integer else np.zeros(ncol),
        bounds=Bounds(0.0, 1.0),
        options={"mip_rel_gap": 1e-9, "time_limit": time_limit},
    )
    plan = None
    if result.x is not None and integer:
        taken = [pairs[j] for j in np.flatnonzero(result.x[: len(pairs)] > 0.5)]
        plan = ["?"] * model.n
        for g, a in taken:
            plan[g] = a
    objective = float(result.fun) if result.fun is not None else math.nan
    return Reference(int(result.status), objective, plan, str(result.message))


def lagrangian_value(model: Model, prices: dict[str, float]) -> float:
    """L(λ) = Σ_g min_a (c_ga + Σ_r λ_r A_r,ga) − Σ_r λ_r b_r over the ≤ rows [currency]."""
    plain = [r for r in model.rows if r.sense == "<="]
    total = 0.0
    for g, opts in enumerate(model.options):
        total += min(
            cost + sum(prices.get(r.name, 0.0) * r.coef.get(g, 0.0) for r in plain if r.action == a)
            for a, cost in opts.items()
        )
    return total - sum(prices.get(r.name, 0.0) * r.limit for r in plain)


def indices(plan: list[str]) -> np.ndarray:
    return np.array([ACTIONS.index(a) for a in plan], dtype=np.int64)


def names(choice: np.ndarray) -> list[str]:
    return [ACTIONS[int(j)] for j in choice]


# ---------------------------------------------------------------------------------------------
# Instances
# ---------------------------------------------------------------------------------------------
def widen_liquidation(params: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Liquidation prices up to 100 % of price for some SKUs, so a lot has something to bite."""
    n = params.height
    share = np.where(rng.random(n) < 0.4, rng.uniform(0.3, 1.0, n), rng.uniform(0.05, 0.2, n))
    return params.with_columns(liquidation_price=(pl.col("price") * share).round(2))


def tiny_instance(
    seed: int, n: int, kinds: frozenset[str], six_actions: bool = False
) -> tuple[pl.DataFrame, Constraints]:
    """n ≤ 7 SKUs with small unit counts and the constraint ``kinds`` at random limits."""
    rng = np.random.default_rng(seed)
    params = widen_liquidation(generate_params(n, suppliers=2, seed=seed % 2**31), rng)
    single = rng.random(n) < 0.3
    units = np.where(single, 1, rng.integers(1, 10, n)).astype(np.float64)
    total = np.where(single, 1, units + rng.integers(0, 5, n)).astype(np.float64)
    stuck = rng.random(n) < 0.1  # only keep is offered
    params = params.with_columns(
        excess_units=pl.Series(units),
        total_units=pl.Series(total),
        location=pl.Series(rng.choice(["L1", "L2"], n)),
        liquidation_price=pl.when(pl.Series(stuck)).then(None).otherwise("liquidation_price"),
        recycle_price=pl.when(pl.Series(stuck)).then(None).otherwise("recycle_price"),
        return_eligible=pl.when(pl.Series(stuck)).then(0).otherwise("return_eligible"),
    )
    if six_actions:
        params = params.with_columns(
            donation_value=pl.Series(
                np.where(rng.random(n) < 0.6, np.round(rng.uniform(0, 30, n), 2), np.nan)
            ).fill_nan(None),
            donation_cost=pl.Series(np.round(rng.uniform(0, 2, n), 2)),
            disposal_cost=pl.Series(
                np.where(rng.random(n) < 0.6, np.round(rng.uniform(0, 3, n), 2), np.nan)
            ).fill_nan(None),
        )
    rows = records(params)
    total_units = float(units.sum())
    volume = float((units * params["volume"].to_numpy()).sum())
    kwargs: dict[str, Any] = {}
    if "capacity_units" in kinds:
        kwargs["capacity_units"] = float(np.round(rng.uniform(0, 1) * total_units))
    if "capacity_volume" in kinds:
        kwargs["capacity_volume"] = float(np.round(rng.uniform(0, 1) * volume, 3))
    if "location" in kinds:
        kwargs["location_capacity"] = pl.DataFrame(
            {
                "location": ["L1", "L2"],
                "capacity_units": [float(rng.integers(0, 20)), None],
                "capacity_volume": [None, float(np.round(rng.uniform(0, 60), 3))],
            }
        )
    if kinds & {"supplier_units", "supplier_value"}:
        caps = []
        for sid in sorted({r["supplier_id"] for r in rows}):
            mine = [r for r in rows if r["supplier_id"] == sid and r["return_eligible"] == 1]
            u = sum(r["excess_units"] for r in mine)
            v = sum(r["excess_units"] * r["return_price"] for r in mine)
            caps.append(
                {
                    "supplier_id": sid,
                    "return_cap_units": float(np.round(rng.uniform(0, 1) * u))
                    if "supplier_units" in kinds
                    else None,
                    "return_cap_value": float(np.round(rng.uniform(0, 1) * v, 2))
                    if "supplier_value" in kinds
                    else None,
                }
            )
        kwargs["supplier_caps"] = pl.DataFrame(
            caps,
            schema={
                "supplier_id": pl.String,
                "return_cap_units": pl.Float64,
                "return_cap_value": pl.Float64,
            },
        )
    if "lot" in kinds:
        kwargs["min_liquidation_lot"] = float(rng.integers(1, max(2, int(total_units * 1.2))))
    protected: set[str] = set()
    if "single_items" in kinds:
        kwargs["keep_single_items"] = True
        kwargs["single_item_max_days"] = [None, 365.0, 182.5][int(rng.integers(0, 3))]
        protected |= {r["sku"] for r in rows if r["total_units"] == 1}
    if "keep_list" in kinds:
        keep = [r["sku"] for r in rows if rng.random() < 0.25 and r["sku"] not in protected]
        kwargs["keep_skus"] = tuple(keep)
        protected |= set(keep)
    if "forced" in kinds:
        forced = {}
        for r in rows:
            if r["sku"] in protected or rng.random() > 0.25:
                continue
            offered = sorted(unit_costs(r, Economy(), 0.0))
            pool = list(ACTIONS) if rng.random() < 0.15 else offered  # sometimes impossible
            forced[r["sku"]] = str(pool[int(rng.integers(0, len(pool)))])
        kwargs["forced"] = forced
    return params, Constraints(**kwargs)


def free_plan(model: Model) -> list[str]:
    """Each SKU's cheapest option (the plan without coupling rows)."""
    return [min(opts, key=lambda a: opts[a]) for opts in model.options]


def medium_instance(
    n: int, seed: int, kinds: frozenset[str], economy: Economy = ECONOMIES["thesis"]
) -> tuple[pl.DataFrame, Constraints]:
    """``generate_params`` SKUs with binding limits set from the uncoupled optimum's usage.

    Also one loose supplier cap (V-LOOSE: above all its eligible units), whose shadow price
    must be zero.
    """
    rng = np.random.default_rng(seed)
    params = widen_liquidation(generate_params(n, suppliers=max(3, n // 40), seed=seed), rng)
    single = rng.random(n) < 0.05
    params = params.with_columns(
        excess_units=pl.when(pl.Series(single)).then(1.0).otherwise("excess_units"),
        total_units=pl.when(pl.Series(single)).then(1.0).otherwise("total_units"),
    )
    loose = rng.random(n) < 0.1
    params = params.with_columns(
        supplier_id=pl.when(pl.Series(loose)).then(pl.lit("V-LOOSE")).otherwise("supplier_id")
    )
    free = free_plan(oracle_model(params, economy, Constraints(capacity_units=math.inf)))
    rows = records(params)
    kept = sum(r["excess_units"] for r, a in zip(rows, free, strict=True) if a == "keep")
    kept_volume = sum(
        r["excess_units"] * r["volume"] for r, a in zip(rows, free, strict=True) if a == "keep"
    )
    liquidated = sum(r["excess_units"] for r, a in zip(rows, free, strict=True) if a == "liquidate")
    kwargs: dict[str, Any] = {}
    if "capacity_units" in kinds:
        kwargs["capacity_units"] = float(np.round(rng.uniform(0.4, 0.9) * kept))
    if "capacity_volume" in kinds:
        kwargs["capacity_volume"] = float(np.round(rng.uniform(0.4, 0.9) * kept_volume, 3))
    if kinds & {"supplier_units", "supplier_value"}:
        caps = generate_supplier_caps(params, share=0.5, seed=seed).filter(
            pl.col("supplier_id") != "V-LOOSE"
        )
        returned: dict[str, float] = {}
        for r, a in zip(rows, free, strict=True):
            if a == "return":
                returned[r["supplier_id"]] = returned.get(r["supplier_id"], 0.0) + (
                    r["excess_units"] * r["return_price"]
                )
        value = [
            float(np.round(rng.uniform(0.3, 0.8) * returned.get(s, 10.0), 2))
            for s in caps["supplier_id"]
        ]
        caps = caps.with_columns(return_cap_value=pl.Series(value, dtype=pl.Float64))
        if "supplier_units" not in kinds:
            caps = caps.with_columns(return_cap_units=pl.lit(None, dtype=pl.Float64))
        if "supplier_value" not in kinds:
            caps = caps.with_columns(return_cap_value=pl.lit(None, dtype=pl.Float64))
        loose_units = sum(r["excess_units"] for r in rows if r["supplier_id"] == "V-LOOSE")
        loose_row = pl.DataFrame(
            {
                "supplier_id": ["V-LOOSE"],
                "return_cap_units": [loose_units + 1.0],
                "return_cap_value": [None],
            },
            schema=caps.schema,
        )
        kwargs["supplier_caps"] = pl.concat([caps.cast(loose_row.schema), loose_row])
    if "lot" in kinds:
        kwargs["min_liquidation_lot"] = float(np.round(rng.uniform(1.05, 1.5) * liquidated))
    protected: set[str] = set()
    if "single_items" in kinds:
        kwargs["keep_single_items"] = True
        kwargs["single_item_max_days"] = 365.0
        protected = {r["sku"] for r in rows if r["total_units"] == 1}
    if "keep_list" in kinds:
        keep = [r["sku"] for r in rows if rng.random() < 0.02 and r["sku"] not in protected]
        kwargs["keep_skus"] = tuple(keep)
        protected |= set(keep)
    if "forced" in kinds:
        forced = {}
        for r in rows:
            if r["sku"] not in protected and rng.random() < 0.02:
                offered = sorted(a for a in unit_costs(r, economy, 0.0) if a != "keep")
                offered = [a for a in offered if a != "return"]  # caps stay satisfiable
                forced[r["sku"]] = offered[int(rng.integers(0, len(offered)))]
        kwargs["forced"] = forced
    return params, Constraints(**kwargs)


# ---------------------------------------------------------------------------------------------
# Checks shared by the tests
# ---------------------------------------------------------------------------------------------
def check_solution(
    model: Model,
    problem: Any,
    solution: Solution,
    optimum: float,
    rel: float,
    gap_target: float,
) -> None:
    """Feasible plan, cost as the oracle prices it, the optimum reached, a valid bound and gap."""
    plan = names(solution.choice)
    tol = rel * max(1.0, abs(optimum)) + 1e-12 * model.scale
    assert not model.violated(plan), model.violated(plan)
    assert evaluate(problem, solution.choice).feasible
    assert model.cost(plan) == pytest.approx(solution.objective, rel=1e-11, abs=1e-9)
    assert abs(solution.objective - optimum) <= tol, (solution.method, solution.objective, optimum)
    # the bound is a proven lower bound of the true optimum, and the gap is the documented one
    assert solution.bound <= solution.objective
    assert solution.bound <= optimum + tol, (solution.bound, optimum)
    want_gap = max(solution.objective - solution.bound, 0.0) / max(abs(solution.objective), 1.0)
    assert solution.gap == pytest.approx(want_gap, rel=1e-9, abs=1e-15)
    if solution.status == "optimal":
        assert solution.gap <= gap_target * (1 + 1e-9) + 1e-15
    check_shadow_prices(model, solution)


def check_shadow_prices(model: Model, solution: Solution) -> None:
    """Named after the rows, ≥ 0, and zero on rows that no plan can fill to the limit."""
    row_names = {r.name for r in model.rows}
    assert set(solution.shadow_prices) <= row_names, solution.shadow_prices
    for row in model.rows:
        price = solution.shadow_prices.get(row.name, 0.0)
        assert price >= 0.0, (row.name, price)
        if row.sense != "<=":
            continue
        can_take = [g for g, opts in enumerate(model.options) if row.action in opts]
        most = math.fsum(max(row.coef.get(g, 0.0), 0.0) for g in can_take)
        if most < row.limit - 1e-6 * max(1.0, abs(row.limit)):
            assert price == pytest.approx(0.0, abs=1e-9), (row.name, price, most, row.limit)


def solve_or_none(problem: Any, method: str, gap_target: float) -> Solution | None:
    try:
        return solve(problem, method=method, gap_target=gap_target)
    except InfeasibleError:
        return None


def check_against_brute_force(
    params: pl.DataFrame,
    constraints: Constraints,
    economy: Economy,
    actions: tuple[str, ...] = ACTIONS,
) -> None:
    model = oracle_model(params, economy, constraints, actions)
    best = brute_force(model)
    try:
        problem = build_problem(params, economy, actions=actions, constraints=constraints)
    except InfeasibleError:
        assert best is None, f"build_problem says infeasible; brute force found {best}"
        return
    for method in ("auto", "milp"):
        solution = solve_or_none(problem, method, gap_target=1e-10)
        if best is None:
            assert solution is None, f"{method} returned a plan for an infeasible problem"
            continue
        assert solution is not None, f"{method} says infeasible; brute force found {best}"
        check_solution(model, problem, solution, best[0], rel=1e-9, gap_target=1e-10)


# ---------------------------------------------------------------------------------------------
# 0. The oracle cost model agrees with the package's (so every reference below is the same model)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("economy", list(ECONOMIES))
def test_oracle_costs_equal_the_cost_matrix(economy: str) -> None:
    params, _ = tiny_instance(3, 7, frozenset(), six_actions=True)
    params = pl.concat([params, medium_instance(300, 5, frozenset())[0]], how="diagonal")
    problem = build_problem(params, ECONOMIES[economy])
    model = oracle_model(params, ECONOMIES[economy], Constraints())
    cost = problem.cost
    for g, opts in enumerate(model.options):
        assert {ACTIONS[j] for j in np.flatnonzero(np.isfinite(cost[g]))} == set(opts)
        for action, value in opts.items():
            assert cost[g, ACTIONS.index(action)] == pytest.approx(value, rel=1e-10, abs=1e-10)


def test_brute_force_finds_a_hand_checked_optimum() -> None:
    """Two SKUs, capacity for one: keeping the SKU with the larger saving is optimal."""
    model = Model(
        [1.0, 1.0],
        [{"keep": 1.0, "liquidate": 5.0}, {"keep": 2.0, "liquidate": 3.0}],
        [Row("capacity_units", "keep", {0: 1.0, 1: 1.0}, 1.0)],
    )
    assert brute_force(model) == (4.0, ["keep", "liquidate"])
    reference = reference_milp(model)
    assert reference.status == 0 and reference.objective == pytest.approx(4.0)
    model.rows.append(Row("min_liquidation_lot", "liquidate", {0: 1.0, 1: 1.0}, 2.0, "lot"))
    assert brute_force(model) == (8.0, ["liquidate", "liquidate"])
    assert reference_milp(model).objective == pytest.approx(8.0)
    model.options[1] = {"keep": 2.0}
    assert brute_force(model) is None
    assert reference_milp(model).status == 2


# ---------------------------------------------------------------------------------------------
# 1. Brute force on tiny problems
# ---------------------------------------------------------------------------------------------
ROW_KINDS = (
    "capacity_units",
    "capacity_volume",
    "location",
    "supplier_units",
    "supplier_value",
    "keep_list",
    "forced",
    "single_items",
)
TINY = settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@TINY
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 7),
    kinds=st.frozensets(st.sampled_from(ROW_KINDS), min_size=1),
    economy=st.sampled_from(list(ECONOMIES)),
)
# found against 668074f: the last restricted MILP left out third options yet claimed a bound
@example(
    seed=7462,
    n=6,
    kinds=frozenset({"capacity_volume", "supplier_units", "forced"}),
    economy="steep",
)
def test_solve_equals_brute_force(seed: int, n: int, kinds: frozenset[str], economy: str) -> None:
    params, constraints = tiny_instance(seed, n, kinds)
    check_against_brute_force(params, constraints, ECONOMIES[economy])


@TINY
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 5),
    kinds=st.frozensets(st.sampled_from(ROW_KINDS), min_size=1, max_size=3),
)
def test_solve_equals_brute_force_six_actions(seed: int, n: int, kinds: frozenset[str]) -> None:
    params, constraints = tiny_instance(seed, n, kinds, six_actions=True)
    check_against_brute_force(params, constraints, ECONOMIES["thesis"])


@pytest.mark.parametrize("actions", [("keep", "return", "liquidate", "recycle"), ("keep",)])
def test_solve_equals_brute_force_restricted_action_set(actions: tuple[str, ...]) -> None:
    for seed in range(12):
        params, constraints = tiny_instance(
            seed, 6, frozenset({"capacity_units", "supplier_units", "forced"}), six_actions=True
        )
        check_against_brute_force(params, constraints, ECONOMIES["thesis"], actions)


@TINY
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 7),
    kinds=st.frozensets(st.sampled_from(ROW_KINDS), max_size=3),
)
# The re-priced plan came out one ulp below the bound it had been compared with.
@example(seed=7, n=7, kinds=frozenset({"location"}))
def test_solve_with_liquidation_lot_equals_brute_force(
    seed: int, n: int, kinds: frozenset[str]
) -> None:
    params, constraints = tiny_instance(seed, n, kinds | {"lot"})
    check_against_brute_force(params, constraints, ECONOMIES["thesis"])


def test_liquidation_lot_minimal_instance() -> None:
    """One SKU of 10 units that should be liquidated (cost −21.98 vs 78.97 to keep), lot 5.

    Liquidating all 10 units meets the lot, so the lot changes nothing: the optimum is −21.98.
    """
    params = pl.DataFrame(
        {
            "sku": ["A"],
            "excess_units": [10.0],
            "price": [20.0],
            "expected_days_in_stock": [1095.0],
            "current_days_in_stock": [100.0],
            "payment_days": [30.0],
            "financed_now": [1],
            "financed_future": [0],
            "holding_cost_per_day": [0.01],
            "unit_cost": [8.0],
            "return_eligible": [0],
            "liquidation_price": [10.0],
        }
    )
    economy = ECONOMIES["thesis"]
    model = oracle_model(params, economy, Constraints(min_liquidation_lot=5.0))
    liquidate = model.options[0]["liquidate"]
    assert liquidate < 0 < model.options[0]["keep"]
    problem = build_problem(params, economy, constraints=Constraints(min_liquidation_lot=5.0))
    for method in ("milp", "auto", "decomposition"):
        solution = solve(problem, method=method)
        assert names(solution.choice) == ["liquidate"], method
        assert solution.objective == pytest.approx(liquidate, rel=1e-9), method
        assert solution.bound <= liquidate + 1e-9, method


def test_brute_force_infeasible_cases_raise() -> None:
    """Seeded instances that brute force proves infeasible: solve raises InfeasibleError."""
    found = 0
    for seed in range(300):
        params, constraints = tiny_instance(
            seed, 5, frozenset({"capacity_units", "keep_list", "forced", "supplier_units"})
        )
        model = oracle_model(params, ECONOMIES["thesis"], constraints)
        if brute_force(model) is not None:
            continue
        found += 1
        with pytest.raises(InfeasibleError):
            problem = build_problem(params, ECONOMIES["thesis"], constraints=constraints)
            solve(problem)
        if found >= 15:
            break
    assert found >= 5  # the generator does produce infeasible instances


# ---------------------------------------------------------------------------------------------
# 2. scipy.optimize.milp on 50–3,000 SKUs
# ---------------------------------------------------------------------------------------------
KIND_SETS: tuple[frozenset[str], ...] = (
    frozenset({"capacity_units", "supplier_units"}),
    frozenset({"capacity_volume", "supplier_units", "supplier_value"}),
    frozenset(
        {
            "capacity_units",
            "capacity_volume",
            "supplier_units",
            "supplier_value",
            "keep_list",
            "forced",
            "single_items",
        }
    ),
)
#: Share of cases whose scipy reference may fail to prove optimality before the test fails.
MAX_UNPROVEN = 0.25


def compare_with_scipy(
    sizes: tuple[int, ...], kind_sets: tuple[frozenset[str], ...], seeds: int = 1
) -> None:
    failures: list[str] = []
    unproven = cases = 0
    for n in sizes:
        for seed, kinds in itertools.product(range(seeds), kind_sets):
            cases += 1
            economy = ECONOMIES["alpha"] if seed % 2 else ECONOMIES["thesis"]
            params, constraints = medium_instance(n, 1000 * n + seed, kinds, economy)
            model = oracle_model(params, economy, constraints)
            reference = reference_milp(model, time_limit=60.0)
            if reference.status not in (0, 2):  # neither proven optimal nor infeasible
                unproven += 1
                continue
            problem = build_problem(params, economy, constraints=constraints)
            for method in ("auto", "milp"):
                label = f"n={n} seed={seed} kinds={sorted(kinds)} method={method}"
                try:
                    if reference.status == 2:
                        with pytest.raises(InfeasibleError):
                            solve(problem, method=method)
                        continue
                    solution = solve(problem, method=method)
                    check_solution(
                        model, problem, solution, reference.objective, rel=1e-6, gap_target=1e-6
                    )
                except (AssertionError, InfeasibleError, pytest.fail.Exception) as exc:
                    failures.append(f"{label}: {type(exc).__name__} {exc}")
    assert not failures, "\n".join(failures)
    assert unproven <= MAX_UNPROVEN * cases, f"{unproven} of {cases} references unproven"


@pytest.mark.parametrize("n", [50, 250, 600])
def test_solve_equals_scipy_milp(n: int) -> None:
    compare_with_scipy((n,), KIND_SETS)


def test_solve_with_liquidation_lot_equals_scipy_milp() -> None:
    compare_with_scipy((60, 400), (frozenset({"lot", "capacity_units", "supplier_units"}),))


@pytest.mark.slow
def test_solve_equals_scipy_milp_large() -> None:
    compare_with_scipy((1500, 3000), KIND_SETS, seeds=2)


@pytest.mark.slow
def test_solve_with_liquidation_lot_equals_scipy_milp_large() -> None:
    lot = frozenset({"lot", "capacity_units", "capacity_volume", "supplier_units"})
    compare_with_scipy((1500, 3000), (lot,), seeds=2)


@pytest.mark.parametrize("kinds", [KIND_SETS[0], KIND_SETS[2]], ids=["cap+supplier", "all-rows"])
def test_shadow_prices_are_optimal_lp_duals(kinds: frozenset[str]) -> None:
    """L(λ) at the reported shadow prices equals the LP relaxation's optimum (scipy), which
    holds only for optimal duals, and lies below the integer optimum (weak duality)."""
    economy = ECONOMIES["thesis"]
    params, constraints = medium_instance(250, 77, kinds, economy)
    model = oracle_model(params, economy, constraints)
    solution = solve(build_problem(params, economy, constraints=constraints))
    assert solution.shadow_prices, "coupled problem without shadow prices"
    assert solution.shadow_prices["return_cap_units[V-LOOSE]"] == pytest.approx(0.0, abs=1e-9)
    lp = reference_milp(model, integer=False)
    integer = reference_milp(model)
    assert lp.status == 0 and integer.status == 0
    dual_value = lagrangian_value(model, solution.shadow_prices)
    assert dual_value == pytest.approx(lp.objective, rel=1e-6)
    assert dual_value <= integer.objective + 1e-9 * model.scale
    assert any(price > 0 for price in solution.shadow_prices.values())  # some row binds


# ---------------------------------------------------------------------------------------------
# 3. Evaluator against optimiser
# ---------------------------------------------------------------------------------------------
EVAL_KINDS = {
    "rows": KIND_SETS[2],
    "rows_and_lot": KIND_SETS[2] | {"lot"},
}


def random_plans(
    model: Model, base: list[str], rng: np.random.Generator, count: int
) -> list[list[str]]:
    """Perturbations of ``base``: 1–6 SKUs moved to a random allowed option."""
    plans = []
    choices = [sorted(opts) for opts in model.options]
    movable = [g for g, c in enumerate(choices) if len(c) > 1]
    for _ in range(count):
        plan = list(base)
        for g in rng.choice(
            movable, size=min(len(movable), int(rng.integers(1, 7))), replace=False
        ):
            plan[g] = choices[g][int(rng.integers(0, len(choices[g])))]
        plans.append(plan)
    return plans


@pytest.mark.parametrize("kinds", list(EVAL_KINDS))
def test_evaluate_prices_and_checks_plans_like_the_oracle(kinds: str) -> None:
    economy = ECONOMIES["thesis"]
    params, constraints = medium_instance(120, 11, EVAL_KINDS[kinds], economy)
    model = oracle_model(params, economy, constraints)
    problem = build_problem(params, economy, constraints=constraints)
    rng = np.random.default_rng(1)
    reference = reference_milp(model)
    assert reference.status == 0 and reference.plan is not None
    plans = random_plans(model, reference.plan, rng, 150)
    uniform = [[sorted(o)[int(rng.integers(0, len(o)))] for o in model.options] for _ in range(50)]
    seen = {True: 0, False: 0}
    for plan in plans + uniform:
        got = evaluate(problem, indices(plan))
        broken = model.violated(plan)
        assert set(got.violations) == broken
        assert got.feasible == (not broken)
        assert got.total_cost == pytest.approx(model.cost(plan), rel=1e-11, abs=1e-9)
        assert math.fsum(got.component_totals.values()) == pytest.approx(got.total_cost, rel=1e-9)
        seen[got.feasible] += 1
    assert seen[True] >= 10 and seen[False] >= 10, seen
    # a plan with an action a SKU may not take
    plan = free_plan(model)
    g = next(g for g, o in enumerate(model.options) if len(o) < len(ACTIONS))
    plan[g] = next(a for a in ACTIONS if a not in model.options[g])
    got = evaluate(problem, indices(plan))
    assert not got.feasible and got.total_cost == math.inf and "not_allowed" in got.violations


@pytest.mark.parametrize("kinds", list(EVAL_KINDS))
@pytest.mark.parametrize("method", ["auto", "milp"])
def test_no_feasible_plan_is_cheaper_than_the_optimum(kinds: str, method: str) -> None:
    economy = ECONOMIES["thesis"]
    params, constraints = medium_instance(150, 23, EVAL_KINDS[kinds], economy)
    model = oracle_model(params, economy, constraints)
    problem = build_problem(params, economy, constraints=constraints)
    solution = solve(problem, method=method)
    best = evaluate(problem, solution.choice)
    assert best.feasible
    assert best.total_cost == pytest.approx(solution.objective, rel=1e-12)
    rng = np.random.default_rng(2)
    optimum = names(solution.choice)
    candidates = random_plans(model, optimum, rng, 300)
    reference = reference_milp(model)
    assert reference.status == 0 and reference.plan is not None
    candidates += random_plans(model, reference.plan, rng, 100)
    feasible = 0
    tol = 1e-9 * max(1.0, abs(solution.objective))
    for plan in candidates:
        priced = evaluate(problem, indices(plan))
        if priced.feasible:
            feasible += 1
            assert priced.total_cost >= solution.objective - tol, (
                f"feasible plan cheaper by {solution.objective - priced.total_cost}"
            )
    assert feasible >= 30, feasible
    assert solution.bound <= solution.objective
    assert solution.gap == pytest.approx(
        max(solution.objective - solution.bound, 0.0) / max(abs(solution.objective), 1.0)
    )
    check_shadow_prices(model, solution)


# ---------------------------------------------------------------------------------------------
# 4. Capacity semantics
# ---------------------------------------------------------------------------------------------
def test_capacity_limit_replaces_the_alpha_term() -> None:
    economy = ECONOMIES["steep"]  # α = 1
    params, _ = medium_instance(80, 3, frozenset(), economy)
    params = params.with_columns(location=pl.lit("main"))
    with_alpha = oracle_model(params, economy, Constraints())
    without = oracle_model(params, replace_alpha(economy, 0.0), Constraints())
    assert all(
        a["keep"] > b["keep"] for a, b in zip(with_alpha.options, without.options, strict=True)
    )
    for constraints in (
        Constraints(capacity_units=1e12),
        Constraints(capacity_volume=1e12),
        Constraints(
            location_capacity=pl.DataFrame({"location": ["main"], "capacity_units": [1.0]})
        ),
    ):
        problem = build_problem(params, economy, constraints=constraints)
        assert problem.economy.capacity_limited == 0.0
        assert np.all(problem.components["keep"]["capacity"] == 0.0)
        keep = problem.cost[:, ACTIONS.index("keep")]
        want = [o["keep"] for o in without.options]
        np.testing.assert_allclose(keep, want, rtol=1e-10)
    # without a limit, α = 1 prices the space
    keep = build_problem(params, economy).cost[:, ACTIONS.index("keep")]
    np.testing.assert_allclose(keep, [o["keep"] for o in with_alpha.options], rtol=1e-10)


def space(limit: str, value: float, keep_skus: tuple[str, ...] = ()) -> Constraints:
    """Constraints with one warehouse limit, ``capacity_units`` or ``capacity_volume``."""
    if limit == "capacity_units":
        return Constraints(capacity_units=value, keep_skus=keep_skus)
    return Constraints(capacity_volume=value, keep_skus=keep_skus)


def replace_alpha(economy: Economy, alpha: float) -> Economy:
    return Economy(**{**economy.__dict__, "capacity_limited": alpha})


@pytest.mark.parametrize("limit", ["capacity_units", "capacity_volume"])
def test_huge_capacity_gives_the_per_sku_optimum(limit: str) -> None:
    economy = ECONOMIES["steep"]
    params, _ = medium_instance(200, 4, frozenset(), economy)
    constraints = space(limit, 1e12)
    model = oracle_model(params, economy, constraints)
    per_sku = [min(o.values()) for o in model.options]
    for method in ("auto", "milp"):
        solution = solve(build_problem(params, economy, constraints=constraints), method=method)
        chosen = [o[a] for o, a in zip(model.options, names(solution.choice), strict=True)]
        np.testing.assert_allclose(chosen, per_sku, rtol=1e-10, atol=1e-10)
        assert solution.objective == pytest.approx(math.fsum(per_sku), rel=1e-10)
        assert solution.shadow_prices.get(limit, 0.0) == pytest.approx(0.0, abs=1e-12)


def test_capacity_at_exactly_the_kept_units_changes_nothing() -> None:
    economy = ECONOMIES["thesis"]
    params, _ = medium_instance(200, 8, frozenset(), economy)
    model = oracle_model(params, economy, Constraints(capacity_units=1e12))
    free = free_plan(model)
    kept = math.fsum(u for u, a in zip(model.units, free, strict=True) if a == "keep")
    problem = build_problem(params, economy, constraints=Constraints(capacity_units=kept))
    solution = solve(problem)
    assert solution.objective == pytest.approx(model.cost(free), rel=1e-10)
    one_less = build_problem(params, economy, constraints=Constraints(capacity_units=kept - 1))
    assert solve(one_less).objective > solution.objective


@pytest.mark.parametrize("limit", ["capacity_units", "capacity_volume"])
def test_zero_capacity_moves_every_sku_with_an_alternative_off_keep(limit: str) -> None:
    economy = ECONOMIES["thesis"]
    params, _ = medium_instance(150, 9, frozenset(), economy)
    model = oracle_model(params, economy, Constraints(capacity_units=0.0))
    movable = [len(o) > 1 for o in model.options]
    assert all(movable)  # generate_params offers liquidation and recycling to every SKU
    for method in ("auto", "milp"):
        solution = solve(
            build_problem(params, economy, constraints=space(limit, 0.0)), method=method
        )
        plan = names(solution.choice)
        assert "keep" not in plan
        cheapest_clearing = [min(c for a, c in o.items() if a != "keep") for o in model.options]
        assert solution.objective == pytest.approx(math.fsum(cheapest_clearing), rel=1e-10)


@pytest.mark.parametrize(
    ("limit", "how"),
    [
        ("capacity_units", "keep_list"),
        ("capacity_units", "nothing_else"),
        ("capacity_volume", "nothing_else"),
    ],
)
@pytest.mark.parametrize("method", ["auto", "decomposition", "milp"])
def test_zero_capacity_with_a_keep_only_sku_is_infeasible(
    limit: str, how: str, method: str
) -> None:
    economy = ECONOMIES["thesis"]
    params, _ = medium_instance(60, 10, frozenset(), economy)
    keep_skus: tuple[str, ...] = ()
    if how == "keep_list":
        keep_skus = (params["sku"][7],)
    else:  # SKU 7 is offered no clearing action at all
        params = params.with_columns(
            pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("liquidation_price", "recycle_price")
        ).with_columns(
            return_eligible=pl.when(pl.int_range(pl.len()) == 7)
            .then(0)
            .otherwise("return_eligible")
        )
    constraints = space(limit, 0.0, keep_skus)
    assert keep_only_skus(oracle_model(params, economy, constraints)) == [7]
    problem = build_problem(params, economy, constraints=constraints)
    with pytest.raises(InfeasibleError) as info:
        solve(problem, method=method)
    if method != "milp":  # the direct MILP only says "infeasible"
        assert limit in str(info.value)


def keep_only_skus(model: Model) -> list[int]:
    return [g for g, o in enumerate(model.options) if list(o) == ["keep"]]


def test_forced_returns_over_a_supplier_cap_are_infeasible_and_named() -> None:
    economy = ECONOMIES["thesis"]
    params, _ = medium_instance(80, 12, frozenset(), economy)
    rows = records(params)
    eligible = [r for r in rows if r["return_eligible"] == 1 and r["supplier_id"] != "V-LOOSE"]
    supplier = eligible[0]["supplier_id"]
    mine = [r for r in eligible if r["supplier_id"] == supplier]
    forced = {r["sku"]: "return" for r in mine}
    units = sum(r["excess_units"] for r in mine)
    caps = pl.DataFrame({"supplier_id": [supplier], "return_cap_units": [units - 1.0]})
    constraints = Constraints(supplier_caps=caps, forced=forced)
    assert some_row_overfilled(oracle_model(params, economy, constraints))
    with pytest.raises(InfeasibleError, match=rf"return_cap_units\[{supplier}\]"):
        solve(build_problem(params, economy, constraints=constraints))


def some_row_overfilled(model: Model) -> bool:
    """True when the least use of some ≤ row already exceeds its limit (no plan can fit)."""
    for row in model.rows:
        least = math.fsum(
            min(row.coef.get(g, 0.0) if a == row.action else 0.0 for a in opts)
            for g, opts in enumerate(model.options)
        )
        if row.sense == "<=" and least > row.limit:
            return True
    return False


def test_single_item_retention_thresholds() -> None:
    """Single items are kept (even at zero capacity, which then is infeasible); with a
    maximum of 182.5 days only those expected to sell sooner are."""
    economy = ECONOMIES["thesis"]
    params, _ = medium_instance(60, 13, frozenset(), economy)
    days = [30.0, 200.0, 400.0, 1095.0]
    params = params.with_columns(
        total_units=pl.when(pl.int_range(pl.len()) < 4).then(1.0).otherwise("total_units"),
        excess_units=pl.when(pl.int_range(pl.len()) < 4).then(1.0).otherwise("excess_units"),
        expected_days_in_stock=pl.when(pl.int_range(pl.len()) < 4)
        .then(pl.Series(days + [0.0] * 56))
        .otherwise("expected_days_in_stock"),
    )
    for max_days, kept in ((None, 4), (365.0, 2), (182.5, 1)):
        constraints = Constraints(
            keep_single_items=True, single_item_max_days=max_days, capacity_units=1e9
        )
        model = oracle_model(params, economy, constraints)
        assert sum(list(o) == ["keep"] for o in model.options[:4]) == kept
        solution = solve(build_problem(params, economy, constraints=constraints))
        plan = names(solution.choice)
        assert plan[:kept] == ["keep"] * kept
        assert solution.objective == pytest.approx(
            math.fsum(min(o.values()) for o in model.options), rel=1e-10
        )


# ---------------------------------------------------------------------------------------------
# 5. CLI: deadstock decide with --suppliers and --set capacity_units
# ---------------------------------------------------------------------------------------------
runner = CliRunner()


def cli_economy() -> Economy:
    return Economy.from_config(load_config(None, []))


@pytest.mark.parametrize(
    ("n", "seed", "extra"),
    [
        (300, 41, ()),
        (200, 42, ("lot",)),
    ],
    ids=["capacity+caps", "capacity+caps+lot"],
)
def test_cli_total_cost_equals_scipy_reference(
    tmp_path: Path, n: int, seed: int, extra: tuple[str, ...]
) -> None:
    economy = cli_economy()
    kinds = frozenset({"capacity_units", "supplier_units", "supplier_value", *extra})
    params, constraints = medium_instance(n, seed, kinds, economy)
    params.write_csv(tmp_path / "params.csv")
    assert constraints.supplier_caps is not None and constraints.capacity_units is not None
    constraints.supplier_caps.write_csv(tmp_path / "caps.csv")
    args = [
        "decide",
        str(tmp_path / "params.csv"),
        "--suppliers",
        str(tmp_path / "caps.csv"),
        "--set",
        f"capacity_units={constraints.capacity_units}",
        "--out",
        str(tmp_path / "out"),
    ]
    if constraints.min_liquidation_lot is not None:
        args += ["--set", f"min_liquidation_lot={constraints.min_liquidation_lot}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    model = oracle_model(pl.read_csv(tmp_path / "params.csv"), economy, constraints)
    reference = reference_milp(model)
    assert reference.status == 0, reference.message
    assert summary["total_cost"] == pytest.approx(reference.objective, rel=1e-6)
    decisions = pl.read_csv(tmp_path / "out" / "decisions.csv")
    plan = decisions["action"].to_list()
    assert not model.violated(plan)
    assert model.cost(plan) == pytest.approx(summary["total_cost"], rel=1e-9)
    assert summary["solver"]["bound"] <= reference.objective + 1e-9 * model.scale


def test_cli_zero_capacity_with_a_keep_list_names_the_row(tmp_path: Path) -> None:
    params, _ = medium_instance(40, 43, frozenset(), cli_economy())
    params.write_csv(tmp_path / "params.csv")
    (tmp_path / "keep.csv").write_text(f"sku\n{params['sku'][0]}\n")
    result = runner.invoke(
        app,
        [
            "decide",
            str(tmp_path / "params.csv"),
            "--keep-list",
            str(tmp_path / "keep.csv"),
            "--set",
            "capacity_units=0",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "infeasible" in result.output and "capacity_units" in result.output
    assert not (tmp_path / "out").exists()
