"""Markdown options of a decision parameter table: the best single discount and the best ladder.

Adds to the params (one row per SKU or SKU-location) what the decision engine needs to weigh a
markdown against keep / return / liquidate / …, in the thesis' per-excess-unit frame
(:func:`deadstock.pricing.markdown.markdown_unit_costs`):

- ``markdown_discount``, ``markdown_carrying``, ``markdown_recovery`` [currency/unit],
  ``markdown_units_sold`` and ``markdown_spend`` (Σ d·P·units sold [currency]): one discount
  from the grid (``markdown_grid_step`` up to ``max_discount``, plus the ladder's levels) held for
  ``markdown_weeks``, then the leftover is salvaged.
- the same for ``markdown_ladder_*`` plus ``markdown_ladder_schedule`` (text): the closed-loop
  ladder over ``markdown_ladder_levels``; blank where its planned schedule never discounts
  (that is "hold, then clear", not a markdown).
- ``markdown_demand_source``: "forecast" (base demand λ = forecast_daily > 0) or "prior" (no base
  demand: the clearance-response prior), and ``elasticity_used``.

Inputs per row: price Ps, unit_cost N, excess_units S, expected_days_in_stock De,
holding_cost_per_day Cs, financed_now / financed_future, forecast_daily λ [units/day] (required:
without it no markdown is offered), on_hand (the whole position [units]; default total_units,
else S), elasticity (default ``elasticity_prior``). Carrying per unit-day c = Cs + Fin·Cw·N +
α·M/(1+Ro)^D/(D+L) (the thesis' keep terms per day; working capital from day 0 whenever the stock
is or will be paid for). The salvage of leftover excess is the best clearance the row offers:
max over return (if eligible), liquidate, recycle, donate of proceeds − transport, or −disposal
cost; 0 (written off) when none is offered.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from deadstock.decide.costs import CLEAR_TERMS, Economy, FloatArray
from deadstock.pricing.markdown import (
    LadderResult,
    allowed_levels,
    markdown_unit_costs,
    single_step,
    solve_markdown,
    weekly_demand,
)


@dataclass(frozen=True)
class MarkdownSettings:
    """Settings of the markdown options (see :mod:`deadstock.config` for units and help)."""

    weeks: int = 8
    ladder_levels: tuple[float, ...] = (0.0, 0.15, 0.25, 0.50)
    grid_step: float = 0.05
    max_discount: float = 0.50
    min_margin: float = -0.5
    prior_weekly_share: float = 0.05
    prior_reference_discount: float = 0.50
    elasticity_prior: float = -2.0

    @classmethod
    def from_config(cls, config: Any) -> MarkdownSettings:
        """The settings of a :class:`deadstock.config.Config`."""
        return cls(
            weeks=int(config.markdown_weeks),
            ladder_levels=tuple(float(x) for x in config.markdown_ladder_levels),
            grid_step=float(config.markdown_grid_step),
            max_discount=float(config.max_discount),
            min_margin=float(config.markdown_min_margin),
            prior_weekly_share=float(config.markdown_prior_weekly_share),
            prior_reference_discount=float(config.markdown_prior_reference_discount),
            elasticity_prior=float(getattr(config, "elasticity_prior", cls.elasticity_prior)),
        )

    def ladder(self) -> FloatArray:
        """The ladder's levels within the maximum discount, full price first [-]."""
        levels = {0.0, *(d for d in self.ladder_levels if d <= self.max_discount + 1e-12)}
        return np.array(sorted(levels))

    def grid(self) -> FloatArray:
        """Single-step candidates: the grid and the ladder's levels, full price first [-]."""
        steps = np.arange(1, int(np.floor(self.max_discount / self.grid_step + 1e-9)) + 1)
        levels = {0.0, *np.round(steps * self.grid_step, 10).tolist(), *self.ladder().tolist()}
        return np.array(sorted(levels))


def float_column(params: pl.DataFrame, name: str, default: float = np.nan) -> FloatArray:
    """A params column as float64, nulls NaN; ``default`` everywhere when it is absent."""
    if name not in params.columns:
        return np.full(params.height, default)
    return params[name].cast(pl.Float64).fill_null(np.nan).to_numpy()


def best_clearance_value(params: pl.DataFrame) -> FloatArray:
    """Best proceeds − transport of the clearing actions a row offers [currency/unit]; 0 if none."""
    best = np.full(params.height, -np.inf)
    for action, (proceeds_col, transport_col) in CLEAR_TERMS.items():
        transport = np.nan_to_num(float_column(params, transport_col or ""), nan=0.0)
        if proceeds_col is None:
            cost = float_column(params, transport_col or "")
            net = np.where(np.isfinite(cost), -cost, -np.inf)
        else:
            net = float_column(params, proceeds_col) - transport
            if action == "return":
                net = np.where(float_column(params, "return_eligible", 0.0) > 0, net, np.nan)
        best = np.fmax(best, np.where(np.isfinite(net), net, -np.inf))
    return np.where(np.isfinite(best), best, 0.0)


def carrying_per_day(params: pl.DataFrame, economy: Economy) -> FloatArray:
    """c = Cs + Fin·Cw·N + α·M/(1+Ro)^D/(D+L) [currency/unit/day] (module docstring)."""
    holding = np.nan_to_num(float_column(params, "holding_cost_per_day"), nan=0.0)
    financed = (np.nan_to_num(float_column(params, "financed_now"), nan=0.0) > 0) | (
        np.nan_to_num(float_column(params, "financed_future"), nan=0.0) > 0
    )
    unit_cost = np.nan_to_num(float_column(params, "unit_cost"), nan=0.0)
    capacity = (
        economy.capacity_limited
        * economy.avg_margin
        * (1.0 + economy.discount_rate_overall) ** -economy.avg_days_in_stock
        / (economy.avg_days_in_stock + economy.avg_lead_time)
    )
    return holding + np.where(financed, economy.capital_cost_daily * unit_cost, 0.0) + capacity


def markdown_options(
    params: pl.DataFrame,
    economy: Economy,
    settings: MarkdownSettings,
    actions: tuple[str, ...] = ("markdown", "markdown_ladder"),
) -> pl.DataFrame:
    """``params`` with the markdown columns (module docstring) for the ``actions`` asked for.

    Rows without excess, price or forecast_daily get blanks (the action is not offered).
    Without a ``forecast_daily`` column the table is returned unchanged.
    """
    if "forecast_daily" not in params.columns or not actions:
        return params
    done = {"markdown": "markdown_recovery", "markdown_ladder": "markdown_ladder_recovery"}
    actions = tuple(a for a in actions if done[a] not in params.columns)
    if not actions:  # already priced (a second pass of the engine on the same params)
        return params
    excess = np.nan_to_num(float_column(params, "excess_units"), nan=0.0)
    price = float_column(params, "price")
    lam_raw = float_column(params, "forecast_daily")
    usable = (excess > 0) & np.isfinite(price) & (price > 0) & np.isfinite(lam_raw)
    idx = np.flatnonzero(usable)
    on_hand = float_column(params, "on_hand")
    on_hand = np.where(np.isfinite(on_hand), on_hand, float_column(params, "total_units"))
    excess_int = np.maximum(np.rint(excess[idx]), 1).astype(np.int64)
    stock = np.maximum(np.rint(np.nan_to_num(on_hand[idx], nan=0.0)), excess_int).astype(np.int64)
    lam = np.maximum(lam_raw[idx], 0.0)
    elasticity = float_column(params, "elasticity")[idx]
    elasticity = np.where(np.isfinite(elasticity), elasticity, settings.elasticity_prior)
    unit_cost = float_column(params, "unit_cost")[idx]
    common = dict(
        stock=stock,
        regular=stock - excess_int,
        base_daily=lam,
        price=price[idx],
        carry_daily=carrying_per_day(params, economy)[idx],
        clear_value=best_clearance_value(params)[idx],
        daily_rate=economy.discount_rate_excess,
        weeks=settings.weeks,
    )
    de = float_column(params, "expected_days_in_stock")[idx]

    def priced(levels: FloatArray, solver: Any) -> tuple[LadderResult, dict[str, FloatArray]]:
        demand = weekly_demand(
            levels,
            lam,
            elasticity,
            stock.astype(np.float64),
            settings.prior_weekly_share,
            settings.prior_reference_discount,
        )
        allowed = allowed_levels(
            levels, price[idx], unit_cost, settings.max_discount, settings.min_margin
        )
        result = solver(levels, demand=demand, allowed=allowed, **common)
        parts = markdown_unit_costs(
            result, excess[idx], price[idx], de, economy.discount_rate_excess
        )
        return result, parts

    n = params.height
    columns: dict[str, Any] = {}

    def scatter(values: FloatArray) -> FloatArray:
        out = np.full(n, np.nan)
        out[idx] = values
        return out

    if "markdown" in actions:
        result, parts = priced(settings.grid(), single_step)
        chosen = result.path[:, 0].astype(np.int64) if len(idx) else np.zeros(0, dtype=np.int64)
        discount = np.where(chosen >= 0, result.levels[np.maximum(chosen, 0)], np.nan)
        columns |= {
            "markdown_discount": scatter(discount),
            "markdown_carrying": scatter(parts["carrying"]),
            "markdown_recovery": scatter(parts["recovery"]),
            "markdown_units_sold": scatter(result.units_sold),
            "markdown_spend": scatter(result.markdown_spend),
        }
    if "markdown_ladder" in actions:
        result, parts = priced(settings.ladder(), solve_markdown)
        # a ladder that never discounts along its plan is "hold, then clear", not a markdown
        discounts = result.path.max(axis=1) > 0 if len(idx) else np.zeros(0, dtype=bool)
        schedule = np.full(n, None, dtype=object)
        planned = np.asarray(result.schedule(), dtype=object)
        planned[~discounts] = None
        schedule[idx] = planned

        def offered(values: FloatArray) -> FloatArray:
            return scatter(np.where(discounts, values, np.nan))

        columns |= {
            "markdown_ladder_discount": offered(result.first_discount),
            "markdown_ladder_schedule": pl.Series(schedule.tolist(), dtype=pl.String),
            "markdown_ladder_carrying": offered(parts["carrying"]),
            "markdown_ladder_recovery": offered(parts["recovery"]),
            "markdown_ladder_units_sold": offered(result.units_sold),
            "markdown_ladder_spend": offered(result.markdown_spend),
        }
    source = np.full(n, None, dtype=object)
    source[idx] = np.where(lam > 0, "forecast", "prior")
    columns["markdown_demand_source"] = pl.Series(source.tolist(), dtype=pl.String)
    columns["elasticity_used"] = scatter(elasticity)
    out = params.with_columns(
        pl.Series(name, value) if not isinstance(value, pl.Series) else value.alias(name)
        for name, value in columns.items()
    )
    return out.with_columns(pl.selectors.float().fill_nan(None))


def markdown_at(
    params: pl.DataFrame, economy: Economy, settings: MarkdownSettings, discount: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per-excess-unit carrying and recovery [currency/unit] of one given discount per row,
    held for the markdown weeks (a practice such as the cascade, priced as it is: the maximum
    discount and margin floor do not apply). NaN where the discount is ≤ 0 or NaN, or the row
    cannot be priced (no forecast_daily, excess or price)."""
    discount = np.asarray(discount, dtype=np.float64)
    carrying = np.full(params.height, np.nan)
    recovery = np.full(params.height, np.nan)
    if "forecast_daily" not in params.columns:
        return carrying, recovery
    for level in np.unique(discount[np.isfinite(discount) & (discount > 0)]):
        rows = discount == level
        fixed = replace(
            settings,
            ladder_levels=(),
            grid_step=float(level),
            max_discount=float(level),
            min_margin=-np.inf,
        )
        priced = markdown_options(params.filter(pl.Series(rows)), economy, fixed, ("markdown",))
        carrying[rows] = priced["markdown_carrying"].fill_null(np.nan).to_numpy()
        recovery[rows] = priced["markdown_recovery"].fill_null(np.nan).to_numpy()
    return carrying, recovery
