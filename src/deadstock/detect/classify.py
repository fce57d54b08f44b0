"""The ``classification`` table: one row per SKU-location with every SPEC §2 / §3.4 column.

:func:`classify` joins the run's pieces (movement metrics, position, products, forecast and
seasonal status, supplier return windows), computes the deterministic and probabilistic excess
(:mod:`deadstock.detect.probabilistic`) and evaluates the rules of :mod:`~deadstock.detect.dead`,
:mod:`~deadstock.detect.segments` and :mod:`~deadstock.detect.alerts` in one vectorised pass.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from deadstock.config import Config
from deadstock.detect.alerts import alert_level, recommend_reorder, urgency
from deadstock.detect.dead import (
    EXCESS_BANDS,
    category_on_hand_floor,
    dead_flag_and_reason,
    erp_dead,
    high_season_hold,
    velocity_band,
)
from deadstock.detect.probabilistic import deterministic_excess, probabilistic_excess
from deadstock.detect.seasonality import NO_CATEGORY
from deadstock.detect.segments import (
    carry_and_clear_cost,
    lifecycle_stage,
    quadrant,
    segment_and_reason,
)
from deadstock.schema import CLASSIFICATION

KEY = ["sku", "location"]

#: Columns of ``sku_metrics`` the rules read.
METRIC_COLUMNS = (
    "category",
    "on_hand",
    "unit_cost",
    "price",
    "stock_value",
    "days_since_last_sale",
    "units_90d",
    "units_365d",
    "avg_daily_sales",
    "turnover",
    "abc",
)

_PRODUCT_COLUMNS: dict[str, type[pl.DataType]] = {
    "image_count": pl.Float64,
    "description_chars": pl.Float64,
    "status": pl.String,
    "launch_date": pl.Date,
    "holding_cost_per_day": pl.Float64,
}

#: Columns of ``demand`` with their type and the value used when a SKU-location has no row.
DEMAND_COLUMNS: dict[str, tuple[type[pl.DataType], object]] = {
    "forecast_daily": (pl.Float64, 0.0),
    "forecast_method": (pl.String, None),
    "dispersion": (pl.Float64, None),
    "units_180d": (pl.Float64, 0.0),
    "days_since_first_sale": (pl.Int64, None),
    "trend_season_ratio": (pl.Float64, 1.0),
    "release_season_index": (pl.Float64, 1.0),
}

#: Columns of ``season`` (per sku, or per sku and location) with their fill value.
SEASON_COLUMNS: dict[str, tuple[type[pl.DataType], object]] = {
    "week_type_now": (pl.Int8, None),
    "off_season": (pl.Boolean, False),
    "upcoming_high_season": (pl.Boolean, False),
    "weeks_to_high_season": (pl.Int64, None),
}


def _product_columns(products: pl.DataFrame | None) -> pl.DataFrame:
    """sku and the product columns the rules read (null where the products table has none)."""
    if products is None:
        products = pl.DataFrame(schema={"sku": pl.String})
    return products.select(
        pl.col("sku").cast(pl.String),
        *(
            (pl.col(name) if name in products.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in _PRODUCT_COLUMNS.items()
        ),
    )


def _with_defaults(
    frame: pl.DataFrame, other: pl.DataFrame, on: list[str], columns: dict
) -> pl.DataFrame:
    """Left-join ``other`` on ``on``; absent columns and unmatched rows get their fill value."""
    present = [c for c in columns if c in other.columns]
    joined = frame.join(other.select(*on, *present), on=on, how="left")
    return joined.with_columns(
        (
            pl.col(name).cast(dtype).fill_null(fill)
            if name in present and fill is not None
            else pl.col(name).cast(dtype)
            if name in present
            else pl.lit(fill, dtype=dtype)
        ).alias(name)
        for name, (dtype, fill) in columns.items()
    )


def classify(
    metrics: pl.DataFrame,
    position: pl.DataFrame,
    products: pl.DataFrame | None,
    demand: pl.DataFrame,
    season: pl.DataFrame,
    return_windows: pl.DataFrame,
    config: Config,
    as_of: date,
    rate_path: np.ndarray | None = None,
) -> pl.DataFrame:
    """The classification of every SKU-location of ``metrics`` (SPEC §2, §3.3, §3.4).

    - ``metrics``: the run's ``sku_metrics`` (sorted by sku, location).
    - ``position``: sku, location, inbound [units] (on order / in transit).
    - ``demand``: sku, location and the columns of :data:`DEMAND_COLUMNS` — the forecast
      [units/day] and its method, the NB dispersion of daily demand, units of the last 180
      days, days since the first sale, the seasonal ratio of the last two quarters and the mean
      seasonal index of the average-sales window (for the release rate).
    - ``season``: sku (and optionally location) with the columns of :data:`SEASON_COLUMNS`.
    - ``return_windows``: sku, location, return_window_days_left [days].
    - ``rate_path``: optional forecast path [units/day], shape (n, days), rows in ``metrics``
      order; without it the flat ``forecast_daily`` is used.

    Stock for projection = on_hand + inbound; frozen capital = stock_value (FIFO cost) of
    stock that is dead or excess (SPEC §3.1). Returns the columns of schema
    ``CLASSIFICATION`` in order.
    """
    frame = metrics.select(*KEY, *METRIC_COLUMNS).with_columns(
        pl.col("category").fill_null(NO_CATEGORY)
    )
    inbound = position.select(*KEY, pl.col("inbound").cast(pl.Float64).fill_null(0.0))
    frame = (
        frame.join(inbound, on=KEY, how="left", maintain_order="left")
        .with_columns(pl.col("inbound").fill_null(0.0))
        .join(_product_columns(products), on="sku", how="left", maintain_order="left")
    )
    frame = _with_defaults(frame, demand, KEY, DEMAND_COLUMNS)
    season_key = KEY if "location" in season.columns else ["sku"]
    frame = _with_defaults(frame, season, season_key, SEASON_COLUMNS)
    frame = frame.join(
        return_windows.select(*KEY, "return_window_days_left"), on=KEY, how="left"
    ).with_columns(
        (pl.col("on_hand").clip(lower_bound=0.0) + pl.col("inbound")).alias("stock_units"),
        (pl.lit(as_of, dtype=pl.Date) - pl.col("launch_date"))
        .dt.total_days()
        .alias("days_since_launch"),
    )

    stock = frame["stock_units"].to_numpy()
    rate = frame["forecast_daily"].to_numpy()
    det = deterministic_excess(
        stock,
        rate if rate_path is None else rate_path,
        threshold_days=config.excess_threshold_days,
        no_sales_days=config.no_forecast_days,
        horizon_days=7 * config.forecast_weeks,
    )
    prob = probabilistic_excess(
        stock,
        det.excess_units,
        rate,
        frame["dispersion"].to_numpy(),
        days=config.sell_out_days,
        cap_days=config.no_forecast_days,
    )
    projected = det.projected_stock_days
    frame = frame.with_columns(
        pl.Series(
            "projected_stock_days", np.where(np.isinf(projected), np.nan, projected)
        ).fill_nan(None),
        pl.Series("excess_units", det.excess_units).fill_nan(None),
        pl.Series("expected_days_in_stock", det.expected_days_in_stock).fill_nan(None),
        pl.Series("expected_days_in_stock_prob", prob.expected_days_in_stock_excess).fill_nan(None),
        *(
            pl.Series(f"p_sell_all_{d}d", p).fill_nan(None)
            for d, p in prob.p_sell_all_within.items()
        ),
        pl.col("forecast_daily").fill_null(0.0),
    )
    return _rules(frame, config).select(CLASSIFICATION.names)


def _rules(frame: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Evaluate the SPEC §3.4 rules over the joined frame."""
    holding_default = pl.col("unit_cost").fill_null(0.0) * config.holding_cost_rate_yearly / 365
    frame = frame.with_columns(
        velocity_band(config.velocity_band_cuts).alias("velocity_band"),
        category_on_hand_floor(config.dead_category_percentile).alias("category_on_hand_floor"),
        pl.col("holding_cost_per_day").fill_null(holding_default),
        pl.coalesce(
            "expected_days_in_stock",
            pl.col("projected_stock_days") / 2,
            pl.lit(float(config.no_forecast_days)),
        ).alias("segment_days"),
    )
    is_dead, dead_reason = dead_flag_and_reason(config.dead_no_sale_days)
    carry, clear = carry_and_clear_cost(
        config.capital_cost_daily, config.discount_rate_excess, config.liquidation_recovery
    )
    frame = frame.with_columns(
        is_dead.alias("is_dead"),
        dead_reason.alias("dead_reason"),
        erp_dead(config.erp_dead_days).alias("erp_dead"),
        carry.alias("carry_cost_unit"),
        clear.alias("clear_cost_unit"),
        lifecycle_stage(
            config.lifecycle_intro_days, config.lifecycle_end_days, config.lifecycle_trend_ratio
        ).alias("lifecycle_stage"),
        quadrant().alias("quadrant"),
        urgency(config.urgency_cuts).alias("urgency"),
        recommend_reorder(config.reorder_supply_days).alias("recommend_reorder"),
    )
    segment, segment_reason = segment_and_reason(
        config.listing_min_images,
        config.listing_min_description_chars,
        config.price_fence_iqr,
        config.revival_drop_ratio,
    )
    frozen = pl.col("is_dead") | pl.col("velocity_band").is_in(EXCESS_BANDS)
    release_rate = (
        pl.col("avg_daily_sales").fill_null(0.0).clip(lower_bound=0.0)
        * pl.col("unit_cost").fill_null(0.0)
        / pl.col("release_season_index").clip(lower_bound=1e-9)
    )
    stocked = pl.col("stock_value").fill_null(0.0) > 0
    release_ratio = pl.when(stocked & (release_rate > 0)).then(pl.col("stock_value") / release_rate)
    ranked = pl.when(stocked).then(release_ratio.fill_null(float("inf")))
    frame = frame.with_columns(
        high_season_hold().alias("high_season_hold"),
        segment.alias("segment"),
        segment_reason.alias("segment_reason"),
        pl.when(frozen)
        .then(pl.col("stock_value").fill_null(0.0))
        .otherwise(0.0)
        .alias("frozen_capital"),
        release_ratio.alias("release_ratio"),
        (ranked.rank("average") / stocked.sum()).alias("release_ratio_pct"),
    )
    return frame.with_columns(
        alert_level(config.alert_frozen_capital, config.return_alert_days).alias("alert_level")
    )
