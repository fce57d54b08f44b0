"""Velocity, supply, turnover and margin ratios of a SKU-location (SPEC §3.2).

Each function builds a Polars expression from expressions, so the formulas read as in the SPEC
and are applied column-wise to the whole table.
"""

from __future__ import annotations

import polars as pl


def ratio_if_positive(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator ÷ denominator, null when the denominator is ≤ 0 or null."""
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)


def avg_daily_sales(units: pl.Expr, in_stock_days: pl.Expr) -> pl.Expr:
    """Units sold in the window ÷ in-stock days of the window [units/day].

    0 when no units were sold (net 0) or the window has no in-stock day.
    """
    return pl.when((units != 0) & (in_stock_days > 0)).then(units / in_stock_days).otherwise(0.0)


def days_of_supply(on_hand: pl.Expr, daily_sales: pl.Expr) -> pl.Expr:
    """max(on_hand, 0) ÷ average daily sales [days]; null when the daily sales are ≤ 0."""
    return ratio_if_positive(on_hand.clip(lower_bound=0.0), daily_sales)


def turnover(cogs: pl.Expr, avg_inventory_value: pl.Expr) -> pl.Expr:
    """COGS ÷ average inventory value [1/period]; null when the average value is ≤ 0."""
    return ratio_if_positive(cogs, avg_inventory_value)


def gmroi(gross_margin: pl.Expr, avg_inventory_value: pl.Expr) -> pl.Expr:
    """Gross margin ÷ average inventory value (at cost) [ratio]; null when the value is ≤ 0."""
    return ratio_if_positive(gross_margin, avg_inventory_value)


def sell_through(units: pl.Expr, on_hand: pl.Expr) -> pl.Expr:
    """Units sold ÷ (units sold + on hand) over the sell-through window [ratio].

    Null when units + on_hand ≤ 0.
    """
    return ratio_if_positive(units, units + on_hand)
