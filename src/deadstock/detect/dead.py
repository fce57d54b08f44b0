"""Velocity bands, the 4-criteria dead-stock filter, the plain ERP rule and the high-season hold.

SPEC §3.4. Every function returns Polars expressions over the columns of the classification
frame (see :func:`deadstock.detect.classify.classify`), so the whole table is one vectorised pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

VELOCITY_BANDS = ("fast", "normal", "slow", "very_slow", "non_moving")
"""Velocity bands from fastest to slowest; ``out_of_stock`` when there is no stock."""

EXCESS_BANDS = ("very_slow", "non_moving")
"""Bands whose stock counts as excess (SPEC §3.4: excess = very slow + non-moving)."""


def velocity_band(cuts: Sequence[float]) -> pl.Expr:
    """Band of ``projected_stock_days`` [days] (SPEC §3.4).

    With the default cuts (29, 57, 85, 183): fast < 29, normal 29–56, slow 57–84, very slow
    85–182, non-moving > 182 or no forecast (projected_stock_days null or infinite).
    ``out_of_stock`` when on_hand + inbound ≤ 0.
    """
    fast, normal, slow, very_slow = cuts
    days = pl.col("projected_stock_days")
    return (
        pl.when(pl.col("stock_units") <= 0)
        .then(pl.lit("out_of_stock"))
        .when(days.is_null() | days.is_infinite() | days.is_nan())
        .then(pl.lit("non_moving"))
        .when(days < fast)
        .then(pl.lit("fast"))
        .when(days < normal)
        .then(pl.lit("normal"))
        .when(days < slow)
        .then(pl.lit("slow"))
        .when(days < very_slow)
        .then(pl.lit("very_slow"))
        .otherwise(pl.lit("non_moving"))
    )


def no_recent_sale(days: int) -> pl.Expr:
    """Criterion 1: no unit sold in the last ``days`` days (never sold counts as no sale)."""
    since = pl.col("days_since_last_sale")
    return since.is_null() | (since >= days)


def dead_criteria(no_sale_days: int) -> dict[str, pl.Expr]:
    """The four criteria of SPEC §3.4, all of which must hold for ``is_dead``.

    1. ``no_sale_{N}d``: no sale in the last N days (setting dead_no_sale_days, default 7);
    2. ``in_season``: the week type now is not 0 (off-season);
    3. ``above_category_p10``: on_hand ≥ the category's percentile of positive on-hand
       (column ``category_on_hand_floor``, setting dead_category_percentile, default 10 %);
    4. ``in_stock``: on_hand > 0.
    Criterion 1 reads the last sale date over the whole history, so "looked up in a 90-day
    window" in SPEC §3.4 is covered: a SKU with no sale in 90 days has none in 7 either.
    """
    on_hand = pl.col("on_hand")
    return {
        f"no_sale_{no_sale_days}d": no_recent_sale(no_sale_days),
        "in_season": ~pl.col("off_season").fill_null(False),
        "above_category_p10": on_hand >= pl.col("category_on_hand_floor").fill_null(0.0),
        "in_stock": on_hand > 0,
    }


def dead_flag_and_reason(no_sale_days: int) -> tuple[pl.Expr, pl.Expr]:
    """(is_dead, dead_reason): all four criteria hold; the reason lists the criteria that held.

    dead_reason names every criterion that held, joined by ``+`` (e.g.
    ``no_sale_7d+in_season+above_category_p10+in_stock`` for a dead SKU, ``in_stock`` for one
    that sells), and is empty when none held.
    """
    criteria = dead_criteria(no_sale_days)
    is_dead = pl.all_horizontal(list(criteria.values()))
    parts = [pl.when(held).then(pl.lit(name)) for name, held in criteria.items()]
    reason = pl.concat_str(parts, separator="+", ignore_nulls=True)
    return is_dead, reason


def erp_dead(days: int) -> pl.Expr:
    """The plain ERP rule: stock on hand and no sale in the last ``days`` days (default 90)."""
    return (pl.col("on_hand") > 0) & no_recent_sale(days)


def high_season_hold() -> pl.Expr:
    """A dead SKU whose high season starts within the look-ahead is held, not marked down."""
    return pl.col("is_dead") & pl.col("upcoming_high_season").fill_null(False)


def category_on_hand_floor(percentile: float) -> pl.Expr:
    """Per category: the ``percentile`` (0–1) of positive on_hand [units], linear interpolation.

    Evaluated over the frame, ``.over("category")``; SKU-locations without stock do not count.
    """
    positive = pl.when(pl.col("on_hand") > 0).then(pl.col("on_hand"))
    return positive.quantile(percentile, interpolation="linear").over("category")
