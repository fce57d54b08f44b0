"""The decision problem: per-SKU action costs, what each SKU may do, and the coupling rows.

A :class:`Problem` is built once from a parameter table (:func:`build_problem`) and then solved
(:mod:`deadstock.decide.solve`) or used to price any plan (:func:`evaluate`). Every SKU takes one
action for all its excess units (the thesis' binary programme, Zijlmans 2025).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from deadstock.decide.costs import (
    ACTIONS,
    COMPONENTS,
    Economy,
    FloatArray,
    available,
    total_unit_costs,
    unit_costs,
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Numeric params columns the cost model reads (absent optional ones are NaN).
NUMERIC_PARAMS: tuple[str, ...] = (
    "excess_units",
    "price",
    "expected_days_in_stock",
    "current_days_in_stock",
    "payment_days",
    "financed_now",
    "financed_future",
    "holding_cost_per_day",
    "unit_cost",
    "return_eligible",
    "return_price",
    "return_cost",
    "liquidation_price",
    "liquidation_cost",
    "recycle_price",
    "recycle_cost",
    "donation_value",
    "donation_cost",
    "disposal_cost",
    "volume",
    "total_units",
    "forecast_daily",
    "elasticity",
    "markdown_carrying",
    "markdown_recovery",
    "markdown_discount",
    "markdown_ladder_carrying",
    "markdown_ladder_recovery",
    "markdown_ladder_discount",
    *(
        f"{a}_{part}"
        for a in ("fix_listing", "bundle", "transfer")
        for part in ("share", "unit_value", "carrying")
    ),
)


@dataclass(frozen=True)
class Constraints:
    """Coupling rows and per-SKU restrictions of a decision problem.

    capacity_units / capacity_volume: most excess units [units] / volume [litres] that may be
    kept (the space left for excess stock); when set, the capacity's shadow price replaces the α
    term. supplier_caps: supplier_id, return_cap_units [units], return_cap_value [currency, at
    the refund price]. location_capacity: location, capacity_units, capacity_volume — the same
    limits per location (needs a ``location`` params column). min_liquidation_lot: liquidated
    units in total are 0 or at least this [units]. keep_skus: SKUs that must be kept. forced:
    SKU → action. keep_single_items: keep SKUs whose whole stock (total_units) is one unit, only
    those with expected days in stock below single_item_max_days when that is set [days].
    """

    capacity_units: float | None = None
    capacity_volume: float | None = None
    supplier_caps: pl.DataFrame | None = None
    min_liquidation_lot: float | None = None
    keep_skus: Sequence[str] = ()
    forced: Mapping[str, str] = field(default_factory=dict)
    keep_single_items: bool = False
    single_item_max_days: float | None = None
    location_capacity: pl.DataFrame | None = None

    @property
    def coupled(self) -> bool:
        """True when a row links SKUs (the problem no longer separates per SKU)."""
        caps = self.supplier_caps
        places = self.location_capacity
        return (
            (places is not None and places.height > 0)
            or self.capacity_units is not None
            or self.capacity_volume is not None
            or self.min_liquidation_lot is not None
            or (caps is not None and caps.height > 0)
        )


@dataclass
class Problem:
    """Arrays of one decision problem; row i is SKU ``skus[i]``, column j is ``ACTIONS[j]``.

    unit_cost_matrix [currency/unit] and ``allowed`` are [SKU × action]; ``cost`` =
    unit_cost_matrix × units [currency] with +inf where not allowed. ``components`` holds the
    per-unit components of every action.
    """

    skus: pl.Series
    units: FloatArray
    components: dict[str, dict[str, FloatArray]]
    unit_cost_matrix: FloatArray
    allowed: BoolArray
    params: dict[str, FloatArray]
    economy: Economy
    constraints: Constraints
    supplier: pl.Series | None = None
    location: pl.Series | None = None

    @property
    def n(self) -> int:
        return len(self.units)

    @property
    def cost(self) -> FloatArray:
        """Total cost of each action [currency], +inf where the action is not allowed."""
        total = self.unit_cost_matrix * self.units[:, None]
        return np.where(self.allowed, total, np.inf)


class InfeasibleError(ValueError):
    """No plan meets the constraints (a forced action not available, caps that cannot hold)."""


def build_problem(
    params: pl.DataFrame,
    economy: Economy,
    actions: Sequence[str] = ACTIONS,
    constraints: Constraints | None = None,
) -> Problem:
    """A :class:`Problem` from a validated parameter table (one row per SKU).

    The α term is dropped when a capacity limit is given (its shadow price takes its place).
    Per-SKU restrictions (keep list, forced actions, single-item retention) narrow ``allowed``;
    a forced action the SKU cannot take raises :class:`InfeasibleError`.
    """
    constraints = constraints or Constraints()
    places = constraints.location_capacity
    if (
        constraints.capacity_units is not None
        or constraints.capacity_volume is not None
        or (places is not None and places.height > 0)
    ):
        economy = Economy(**{**economy.__dict__, "capacity_limited": 0.0})
    n = params.height
    arrays = {
        name: (
            params[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
            if name in params.columns
            else np.full(n, np.nan)
        )
        for name in NUMERIC_PARAMS
    }
    for name in ("financed_now", "financed_future", "return_eligible"):
        arrays[name] = np.nan_to_num(arrays[name], nan=0.0)
    components = unit_costs(arrays, economy)
    allowed = available(arrays, tuple(actions))
    skus = params["sku"].cast(pl.String)
    restrict_per_sku(allowed, skus, arrays, constraints)
    matrix = np.nan_to_num(total_unit_costs(components), nan=0.0)
    supplier = params["supplier_id"].cast(pl.String) if "supplier_id" in params.columns else None
    location = params["location"].cast(pl.String) if "location" in params.columns else None
    return Problem(
        skus=skus,
        units=np.nan_to_num(arrays["excess_units"], nan=0.0),
        components=components,
        unit_cost_matrix=matrix,
        allowed=allowed,
        params=arrays,
        economy=economy,
        constraints=constraints,
        supplier=supplier,
        location=location,
    )


def restrict_per_sku(
    allowed: BoolArray,
    skus: pl.Series,
    params: Mapping[str, FloatArray],
    constraints: Constraints,
) -> None:
    """Narrow ``allowed`` in place to keep-listed, forced and single-item-retained SKUs."""
    keep = ACTIONS.index("keep")
    only = np.full(len(skus), -1, dtype=np.int64)
    if constraints.keep_skus:
        only[skus.is_in(list(constraints.keep_skus)).to_numpy()] = keep
    if constraints.keep_single_items:
        single = params["total_units"] == 1
        if constraints.single_item_max_days is not None:
            single &= params["expected_days_in_stock"] < constraints.single_item_max_days
        only[single] = keep
    if constraints.forced:
        unknown = sorted(set(constraints.forced.values()) - set(ACTIONS))
        if unknown:
            raise InfeasibleError(
                f"Forced action(s) {', '.join(unknown)} unknown; use one of {', '.join(ACTIONS)}."
            )
        forced = pl.DataFrame(
            {"sku": list(constraints.forced), "action": list(constraints.forced.values())}
        )
        index = skus.to_frame("sku").with_row_index("row").join(forced, on="sku", how="inner")
        rows = index["row"].to_numpy()
        only[rows] = [ACTIONS.index(a) for a in index["action"].to_list()]
    rows = np.flatnonzero(only >= 0)
    if rows.size:
        cols = only[rows]
        blocked = ~allowed[rows, cols]
        if blocked.any():
            first = rows[np.flatnonzero(blocked)[0]]
            raise InfeasibleError(
                f"SKU {skus[int(first)]!r} is forced to '{ACTIONS[int(only[first])]}', which it "
                f"cannot take ({int(blocked.sum())} forced SKU(s) like this); the problem is "
                "infeasible."
            )
        allowed[rows] = False
        allowed[rows, cols] = True


@dataclass(frozen=True)
class Evaluation:
    """A plan priced by the cost model: total cost [currency], per component, feasibility."""

    total_cost: float
    component_totals: dict[str, float]
    feasible: bool
    violations: dict[str, float]


def plan_costs(problem: Problem, choice: IntArray) -> FloatArray:
    """Total cost of each SKU's chosen action [currency] (+inf where not allowed)."""
    rows = np.arange(problem.n)
    return problem.cost[rows, choice]


def component_totals(problem: Problem, choice: IntArray) -> dict[str, float]:
    """Σ over SKUs of every component of the chosen actions [currency]."""
    out: dict[str, float] = {}
    for j, action in enumerate(ACTIONS):
        mask = choice == j
        if not mask.any():
            continue
        for name in COMPONENTS[action]:
            value = float(np.sum(problem.components[action][name][mask] * problem.units[mask]))
            out[name] = out.get(name, 0.0) + value
    return out


def evaluate(problem: Problem, choice: IntArray, tolerance: float = 1e-9) -> Evaluation:
    """Price any plan (action index per SKU) with the same model, and check every constraint.

    ``violations`` maps each violated row to its excess (units, litres or currency); a plan is
    feasible when every SKU takes an allowed action and no row is violated beyond
    ``tolerance`` × its limit.
    """
    from deadstock.decide.coupling import coupling_rows

    choice = np.asarray(choice, dtype=np.int64)
    costs = plan_costs(problem, choice)
    violations: dict[str, float] = {}
    bad = ~np.isfinite(costs)
    if bad.any():
        violations["not_allowed"] = float(bad.sum())
    for row in coupling_rows(problem):
        used = row.usage(choice)
        if row.sense == "<=" and used > row.limit + tolerance * max(1.0, abs(row.limit)):
            violations[row.name] = used - row.limit
        if row.sense == "lot" and 0 < used < row.limit - tolerance * max(1.0, row.limit):
            violations[row.name] = row.limit - used
    finite = np.where(bad, 0.0, costs)
    return Evaluation(
        total_cost=float(finite.sum()) if not bad.any() else float("inf"),
        component_totals=component_totals(problem, choice),
        feasible=not violations,
        violations=violations,
    )
