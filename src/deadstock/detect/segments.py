"""Segments A–D, lifecycle stage and the turnover × stock-depth quadrant (SPEC §3.4).

Expressions over the classification frame (see :func:`deadstock.detect.classify.classify`).
"""

from __future__ import annotations

import polars as pl

from deadstock.detect.dead import EXCESS_BANDS

SEGMENTS = {
    "A": "optimisation candidate: fix the listing or data before discounting",
    "B": "revival candidate: sold well before, stagnant now (bundle, advertise, small price step)",
    "C": "true clearance: slow without technical issues (structured markdown)",
    "D": "critical liquidation: carrying it to its expected sale costs more than clearing now",
}

PROBLEM_BANDS = ("slow", *EXCESS_BANDS)


def is_problem() -> pl.Expr:
    """Stock that gets a segment: on hand, and slow, very slow, non-moving or dead."""
    return (pl.col("on_hand") > 0) & (
        pl.col("velocity_band").is_in(PROBLEM_BANDS) | pl.col("is_dead")
    )


def listing_signals(min_images: int, min_description_chars: int, price_fence_iqr: float) -> pl.Expr:
    """Segment A signals joined by ``+``; empty when the listing and data look sound.

    few_images (image_count < min_images), short_description (description_chars <
    min_description_chars), price_above_band (price > the category's Q3 + k × IQR of prices,
    Tukey's outer-fence idea with k = price_fence_iqr), price_below_cost (0 < price < unit_cost),
    no_price (a price of 0 or less: a price error). Signals whose column is absent or blank
    stay silent (an unknown price is not a listing defect).
    """
    price = pl.col("price")
    q1 = price.quantile(0.25, interpolation="linear").over("category")
    q3 = price.quantile(0.75, interpolation="linear").over("category")
    signals = {
        "few_images": pl.col("image_count") < min_images,
        "short_description": pl.col("description_chars") < min_description_chars,
        "price_above_band": price > q3 + price_fence_iqr * (q3 - q1),
        "price_below_cost": (price > 0) & (price < pl.col("unit_cost")),
        "no_price": price <= 0,
    }
    parts = [pl.when(held.fill_null(False)).then(pl.lit(name)) for name, held in signals.items()]
    return pl.concat_str(parts, separator="+", ignore_nulls=True)


def present_value_sum(days: pl.Expr, daily_rate: float) -> pl.Expr:
    """Σ_{d=0..⌊days⌋} 1/(1+r)^d = (1 − q^(⌊days⌋+1)) / (1 − q), q = 1/(1+r) [days].

    The discounted day count of the holding and working-capital terms of the thesis model
    (Zijlmans 2025, SPEC §3.5); ⌊days⌋ + 1 when r = 0.
    """
    whole = days.floor()
    if daily_rate == 0:
        return whole + 1
    q = 1.0 / (1.0 + daily_rate)
    return (1.0 - pl.lit(q).pow(whole + 1)) / (1.0 - q)


def carry_and_clear_cost(
    capital_cost_daily: float,
    discount_rate_excess: float,
    liquidation_recovery: float,
) -> tuple[pl.Expr, pl.Expr]:
    """Per unit [currency/unit]: cost of keeping to the expected sale, and of liquidating now.

    The keep and liquidate terms of the thesis model (Zijlmans 2025, SPEC §3.5) with the stock
    taken as paid (Fin = 1, F = {0..⌊De⌋}) and no capacity term (α = 0):
    keep = (Cs + Cw · N) · Σ_{d=0..⌊De⌋} 1/(1+Re)^d, liquidate = Ps/(1+Re)^De − Pl with
    Pl = liquidation_recovery × Ps and no transport. Cs = ``holding_cost_per_day``, N =
    unit_cost, Ps = price (unit_cost when missing), De = ``segment_days`` [days].
    """
    days = pl.col("segment_days")
    cost = pl.col("unit_cost").fill_null(0.0)
    price = pl.coalesce(pl.when(pl.col("price") > 0).then(pl.col("price")), cost)
    keep = (pl.col("holding_cost_per_day").fill_null(0.0) + capital_cost_daily * cost) * (
        present_value_sum(days, discount_rate_excess)
    )
    clear = price * pl.lit(1.0 / (1.0 + discount_rate_excess)).pow(days) - (
        liquidation_recovery * price
    )
    return keep, clear


def revival_signal(drop_ratio: float) -> pl.Expr:
    """Segment B: class A or B over the turnover window, and units per day over the last 90
    days below ``drop_ratio`` × the rate over the 275 days before them."""
    before = (pl.col("units_365d") - pl.col("units_90d")).clip(lower_bound=0.0) / 275.0
    now = pl.col("units_90d").clip(lower_bound=0.0) / 90.0
    return pl.col("abc").is_in(["A", "B"]) & (before > 0) & (now < drop_ratio * before)


def segment_and_reason(
    min_images: int,
    min_description_chars: int,
    price_fence_iqr: float,
    revival_drop_ratio: float,
) -> tuple[pl.Expr, pl.Expr]:
    """(segment, segment_reason) for problem stock (null for the rest), first match wins:

    A when a listing/data signal holds (fix before discounting), D when keeping costs more than
    liquidating (columns ``carry_cost_unit`` > ``clear_cost_unit``), B on the revival signal,
    else C. The reason names the signals (A), the two costs (D), or the sales rates (B, C).
    """
    signals = listing_signals(min_images, min_description_chars, price_fence_iqr)
    critical = pl.col("carry_cost_unit") > pl.col("clear_cost_unit")
    revival = revival_signal(revival_drop_ratio)
    problem = is_problem()
    segment = (
        pl.when(~problem)
        .then(pl.lit(None, dtype=pl.String))
        .when(signals != "")
        .then(pl.lit("A"))
        .when(critical)
        .then(pl.lit("D"))
        .when(revival)
        .then(pl.lit("B"))
        .otherwise(pl.lit("C"))
    )
    money = pl.col("carry_cost_unit").round(2).cast(pl.String)
    clear = pl.col("clear_cost_unit").round(2).cast(pl.String)
    rates = pl.format(
        "units_90d {} vs units_365d {}",
        pl.col("units_90d").round(2),
        pl.col("units_365d").round(2),
    )
    reason = (
        pl.when(segment == "A")
        .then(signals)
        .when(segment == "D")
        .then(pl.format("carry_to_sale {} > clear_now {} per unit", money, clear))
        .when(segment == "B")
        .then(pl.format("revival: abc {} and {}", pl.col("abc"), rates))
        .when(segment == "C")
        .then(pl.format("clearance: {}", rates))
    )
    return segment, reason


def lifecycle_stage(intro_days: int, end_days: int, trend_ratio: float) -> pl.Expr:
    """Lifecycle stage from the sales trend (SPEC §3.4), first match wins:

    end_of_life — status discontinued, or no sale for ``end_days`` days (or never, once past
    introduction); introduction — first sale (or launch_date) within ``intro_days``; growth /
    decline — the units of the last 90 days against the 90 days before, divided by the
    seasonal ratio of those quarters (column ``trend_season_ratio``), above 1 + trend_ratio /
    below 1 − trend_ratio; maturity otherwise.
    """
    since_first = pl.col("days_since_first_sale")
    young = (since_first < intro_days) | (pl.col("days_since_launch") < intro_days)
    stale = pl.col("days_since_last_sale").is_null() | (pl.col("days_since_last_sale") >= end_days)
    now = pl.col("units_90d").clip(lower_bound=0.0)
    before = (pl.col("units_180d") - pl.col("units_90d")).clip(lower_bound=0.0)
    season = pl.col("trend_season_ratio").fill_null(1.0)
    trend = now / (before * season)
    return (
        pl.when(pl.col("status").fill_null("") == "discontinued")
        .then(pl.lit("end_of_life"))
        .when(young.fill_null(False))
        .then(pl.lit("introduction"))
        .when(stale)
        .then(pl.lit("end_of_life"))
        .when((before <= 0) & (now > 0))
        .then(pl.lit("growth"))
        .when(trend > 1 + trend_ratio)
        .then(pl.lit("growth"))
        .when(trend < 1 - trend_ratio)
        .then(pl.lit("decline"))
        .otherwise(pl.lit("maturity"))
    )


def quadrant() -> pl.Expr:
    """Turnover × stock depth (SPEC §3.4), split at the medians over stocked SKU-locations.

    High turnover = turnover ≥ its median; high stock = projected_stock_days ≥ its median (no
    forecast = high). maintain (high, low), promote (high, high), reorder_carefully (low, low),
    clear_now (low, high); null without stock.
    """
    stocked = pl.col("on_hand") > 0
    turnover = pl.col("turnover").fill_null(0.0)
    depth = pl.col("projected_stock_days").fill_null(float("inf"))
    turnover_median = pl.when(stocked).then(turnover).median()
    depth_median = pl.when(stocked).then(depth).median()
    high_turnover = turnover >= turnover_median
    high_stock = depth >= depth_median
    return (
        pl.when(~stocked)
        .then(pl.lit(None, dtype=pl.String))
        .when(high_turnover & ~high_stock)
        .then(pl.lit("maintain"))
        .when(high_turnover)
        .then(pl.lit("promote"))
        .when(~high_stock)
        .then(pl.lit("reorder_carefully"))
        .otherwise(pl.lit("clear_now"))
    )
