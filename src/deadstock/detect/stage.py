"""The detection stage of a run: seasonality → forecast → excess → classification (SPEC §3.3–3.4).

:func:`detect` takes what the earlier stages produced (validated tables, position, FIFO layers,
movement metrics and the keyed sales) and returns the ``seasonality``, ``forecast_accuracy`` and
``classification`` tables. Daily demand series are built from the keyed sales in blocks of
SKU-locations, so memory stays bounded at millions of series; every forecast kernel runs over a
whole block at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from deadstock.config import Config
from deadstock.detect.alerts import return_window_days_left
from deadstock.detect.classify import classify
from deadstock.detect.probabilistic import estimate_dispersion
from deadstock.detect.seasonality import daily_index, seasonal_index, week_status
from deadstock.forecast.choose import choose_methods, forecast_levels
from deadstock.keys import KEY_INDEX
from deadstock.metrics.windows import OFF, PreparedSales

#: SKU-locations per block of daily series (a block of 730 days is ~300 MB of float64).
BLOCK_ROWS = 50_000


@dataclass(frozen=True)
class Detection:
    """Tables of the detection stage."""

    seasonality: pl.DataFrame
    forecast_accuracy: pl.DataFrame
    classification: pl.DataFrame
    forecast: pl.DataFrame


def forecast_history_days(config: Config) -> int:
    """Days of daily sales the forecast reads per series [days]."""
    return int(config.forecast_history_days)


def _daily(rows: pl.DataFrame, row_of: np.ndarray, n_rows: int, n_days: int) -> np.ndarray:
    """Scatter keyed sales rows (off, qty) into an (n_rows, n_days) matrix at rows ``row_of``;
    column j is the day as_of − (n_days − 1 − j). Net returns count as 0 (demand)."""
    off = rows[OFF].to_numpy()
    inside = off < n_days
    cols = (n_days - 1) - off[inside].astype(np.int64)
    cells = row_of[inside].astype(np.int64) * n_days + cols
    flat = np.bincount(cells, weights=rows["qty"].to_numpy()[inside], minlength=n_rows * n_days)
    return np.clip(flat.reshape(n_rows, n_days), 0.0, None)


def daily_block(prepared: PreparedSales, first: int, stop: int, n_days: int) -> np.ndarray:
    """Daily units sold [units/day] of the SKU-locations _k ∈ [first, stop), shape
    (stop − first, n_days); the last column is the as-of date (see :func:`_daily`)."""
    keys = prepared.recent[KEY_INDEX].to_numpy()
    lo, hi = (int(i) for i in np.searchsorted(keys, [first, stop]))
    part = prepared.recent.slice(lo, hi - lo)
    return _daily(part, keys[lo:hi] - first, stop - first, n_days)


def daily_rows(prepared: PreparedSales, rows: np.ndarray, n_days: int) -> np.ndarray:
    """As :func:`daily_block` for the SKU-locations ``rows`` (sorted _k values), in that order."""
    part = prepared.recent.filter(pl.col(KEY_INDEX).is_in(pl.Series(rows).implode()))
    row_of = np.searchsorted(rows, part[KEY_INDEX].to_numpy())
    return _daily(part, row_of, rows.size, n_days)


def _sku_index(
    seasonality: pl.DataFrame,
    products: pl.DataFrame | None,
    skus: pl.Series,
    start: date,
    n_days: int,
) -> np.ndarray:
    """Daily seasonal index rows for ``skus`` (one profile look-up per distinct SKU)."""
    distinct, inverse = np.unique(skus.to_numpy().astype(str), return_inverse=True)
    table = daily_index(seasonality, products, list(distinct), start, n_days)
    return table[inverse]


def detect(
    tables: Mapping[str, pl.DataFrame],
    position: pl.DataFrame,
    layers: pl.DataFrame,
    metrics: pl.DataFrame,
    prepared: PreparedSales,
    as_of: date,
    config: Config,
) -> Detection:
    """Seasonality, forecasts, excess and the classification of every SKU-location.

    ``metrics`` is the run's sku_metrics, whose row i is the SKU-location ``_k = i`` of
    ``prepared`` (both follow :func:`deadstock.keys.sku_location_keys` of the position).
    """
    products = tables.get("products")
    sales = tables.get("sales")
    history = forecast_history_days(config)
    if prepared.horizon < history:
        raise ValueError("The prepared sales are shorter than the forecast history.")
    seasonality = seasonal_index(
        sales if sales is not None else prepared_sales_frame(),
        products,
        as_of,
        history_years=config.seasonal_history_years,
        min_history_days_category=config.seasonal_min_history_days_category,
        min_history_days_sku=config.seasonal_min_history_days_sku,
        min_units_sku=config.seasonal_min_units_sku,
        shrinkage_units=config.seasonal_shrinkage_units,
        category_shrinkage_units=config.seasonal_category_shrinkage_units,
        smoothing_weeks=config.seasonal_smoothing_weeks,
        smoother=config.seasonal_smoother,
        off_season_index=config.off_season_index,
        high_index=config.high_season_index,
        peak_index=config.peak_season_index,
        long_block_weeks=config.regular_block_weeks,
    )
    status = week_status(
        seasonality,
        products,
        metrics.select("sku").unique(maintain_order=True),
        as_of,
        lookahead_weeks=config.high_season_lookahead_weeks,
    )
    n = metrics.height
    classes = metrics["demand_class"].fill_null("none").to_numpy().astype(str)
    skus = metrics["sku"]
    past_start = as_of - timedelta(days=history - 1)
    horizon_days = 7 * int(config.forecast_weeks)

    choice = choose_methods(
        lambda rows: daily_rows(prepared, rows, history),
        lambda rows: _sku_index(seasonality, products, skus.gather(rows), past_start, history),
        classes,
        config,
    )
    path = np.empty((n, horizon_days), dtype=np.float32)
    demand_parts = []
    window = int(config.avg_sales_window_days)
    for first in range(0, n, BLOCK_ROWS):
        stop = min(first + BLOCK_ROWS, n)
        block = daily_block(prepared, first, stop, history)
        block_skus = skus.slice(first, stop - first)
        past = _sku_index(seasonality, products, block_skus, past_start, history)
        future = _sku_index(seasonality, products, block_skus, as_of + timedelta(1), horizon_days)
        levels, methods = forecast_levels(block, past, classes[first:stop], choice)
        seasonal = (methods == "seasonal_ses")[:, None]
        path[first:stop] = np.where(seasonal, levels[:, None] * future, levels[:, None])
        future = np.where(seasonal, future, 1.0)
        demand_parts.append(_demand_columns(block, past, levels, methods, future, window, history))
    demand = pl.concat(demand_parts).with_columns(
        skus.alias("sku"), metrics["location"].alias("location")
    )
    older = prepared.older_last_sale[KEY_INDEX].to_numpy()
    if older.size:  # sold before the series starts: the first sale is at least that old
        first_sale = demand["days_since_first_sale"].to_numpy().copy()
        first_sale[older] = np.maximum(np.nan_to_num(first_sale[older], nan=history), history)
        demand = demand.with_columns(pl.Series("days_since_first_sale", first_sale))
    demand = demand.with_columns(pl.col("days_since_first_sale").fill_nan(None).cast(pl.Int64))
    returns = return_window_days_left(
        layers, tables.get("receipts"), products, tables.get("suppliers")
    )
    classification = classify(
        metrics, position, products, demand, status, returns, config, as_of, rate_path=path
    )
    weekly = path.reshape(n, -1, 7).sum(axis=2, dtype=np.float64)
    forecast = pl.DataFrame(
        {
            "sku": skus,
            "location": metrics["location"],
            "forecast_method": demand["forecast_method"],
            "first_day": pl.Series([as_of + timedelta(days=1)] * n, dtype=pl.Date),
            **{f"week_{w + 1:02d}": weekly[:, w] for w in range(weekly.shape[1])},
        }
    )
    return Detection(seasonality, choice.accuracy, classification, forecast)


def prepared_sales_frame() -> pl.DataFrame:
    """An empty sales table (for runs without sales)."""
    return pl.DataFrame(
        schema={"date": pl.Date, "sku": pl.String, "location": pl.String, "qty": pl.Float64}
    )


def _demand_columns(
    block: np.ndarray,
    past_index: np.ndarray,
    levels: np.ndarray,
    methods: np.ndarray,
    future_index: np.ndarray,
    window: int,
    history: int,
) -> pl.DataFrame:
    """Per series of a block: forecast, dispersion, 180-day units, first sale, season ratios."""
    n_days = block.shape[1]
    sold = block > 0
    any_sale = sold.any(axis=1)
    first_col = np.argmax(sold, axis=1)
    days_since_first = np.where(any_sale, (n_days - 1 - first_col).astype(float), np.nan)
    recent = past_index[:, -90:].mean(axis=1)
    before = past_index[:, -180:-90].mean(axis=1) if n_days >= 180 else recent
    with np.errstate(divide="ignore", invalid="ignore"):
        trend_ratio = np.where(before > 0, recent / before, 1.0)
    forecast_daily = (levels[:, None] * future_index).mean(axis=1)
    return pl.DataFrame(
        {
            "forecast_daily": forecast_daily,
            "forecast_method": pl.Series(methods.tolist(), dtype=pl.String),
            "dispersion": estimate_dispersion(block[:, -min(365, history) :]),
            "units_180d": block[:, -180:].sum(axis=1),
            "days_since_first_sale": days_since_first,
            "trend_season_ratio": trend_ratio,
            "release_season_index": past_index[:, -window:].mean(axis=1),
        }
    )
