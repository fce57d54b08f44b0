"""The ``sku_metrics`` table: every movement metric of every SKU-location (SPEC §3.2)."""

from __future__ import annotations

from datetime import date

import polars as pl

from deadstock.config import Config
from deadstock.keys import KEY_INDEX, attach_keys, sku_location_keys
from deadstock.metrics.availability import prepare_history, sale_days, stock_availability
from deadstock.metrics.classes import abc_classes, demand_class, xyz_class
from deadstock.metrics.demand import (
    average_demand_interval,
    squared_cv_of_sizes,
    weekly_cv,
    weekly_demand_sums,
)
from deadstock.metrics.turnover import (
    avg_daily_sales,
    days_of_supply,
    gmroi,
    sell_through,
    turnover,
)
from deadstock.metrics.windows import PreparedSales, prepare_sales, realised_prices, window_sums
from deadstock.schema import SKU_METRICS

#: Windows of the fixed-window columns units_{N}d and revenue_{N}d [days].
FIXED_WINDOWS = (7, 30, 90, 365)


def _column_or_null(frame: pl.DataFrame, name: str, dtype: type[pl.DataType]) -> pl.Expr:
    if name in frame.columns:
        return pl.col(name).cast(dtype)
    return pl.lit(None, dtype=dtype)


def _position_columns(position: pl.DataFrame) -> pl.DataFrame:
    return position.select(
        pl.col("sku").cast(pl.String),
        pl.col("location").cast(pl.String),
        pl.col("on_hand").cast(pl.Float64),
        _column_or_null(position, "unit_cost", pl.Float64).alias("_position_unit_cost"),
        _column_or_null(position, "price", pl.Float64).alias("_position_price"),
    )


def _product_columns(products: pl.DataFrame | None) -> pl.DataFrame:
    schema = {
        "sku": pl.String,
        "category": pl.String,
        "_product_unit_cost": pl.Float64,
        "_product_price": pl.Float64,
    }
    if products is None:
        return pl.DataFrame(schema=schema)
    return products.select(
        pl.col("sku").cast(pl.String),
        _column_or_null(products, "category", pl.String).alias("category"),
        _column_or_null(products, "unit_cost", pl.Float64).alias("_product_unit_cost"),
        _column_or_null(products, "price", pl.Float64).alias("_product_price"),
    ).unique("sku", keep="first", maintain_order=True)


def _age_columns(age: pl.DataFrame, keys: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    bucket_columns = [c for c in age.columns if c.startswith("age_")]
    frame = attach_keys(
        age.lazy().select(
            "sku",
            "location",
            _column_or_null(age, "stock_value", pl.Float64).alias("_stock_value"),
            _column_or_null(age, "positive_units", pl.Float64).alias("_positive_units"),
            _column_or_null(age, "avg_age_days", pl.Float64).alias("_avg_age_days"),
            *(pl.col(c).cast(pl.Float64) for c in bucket_columns),
        ),
        keys,
    ).collect()
    return frame.unique(KEY_INDEX, keep="first", maintain_order=True), bucket_columns


def sales_horizon(config: Config) -> int:
    """Days of sales rows the metrics need one by one: the longest window [days]."""
    windows = (config.avg_sales_window_days, config.turnover_window_days)
    return max(*FIXED_WINDOWS, *windows, config.sell_through_window_days, 7 * config.demand_weeks)


def movement_metrics(
    sales: pl.DataFrame | pl.LazyFrame,
    position: pl.DataFrame,
    stock_history: pl.DataFrame,
    age: pl.DataFrame,
    products: pl.DataFrame | None,
    as_of: date,
    config: Config,
    prepared: PreparedSales | None = None,
) -> pl.DataFrame:
    """Movement metrics of every SKU-location of ``position`` at ``as_of`` (SPEC §3.2).

    Returns the columns of ``schema.SKU_METRICS`` in order, then every ``age_*`` column of
    ``age``; one row per SKU-location of ``position``, sorted by sku, location. A window of N
    days is as_of−N+1 … as_of; sales after as_of and of SKU-locations not in ``position`` are
    ignored. Settings: avg_sales_window_days (W), turnover_window_days (T),
    sell_through_window_days (S), demand_weeks, abc_basis, abc_cuts, xyz_cuts, adi_cut, cv2_cut.

    - units_{7,30,90,365}d [units], revenue_…d [currency]: sums in the window; a row's revenue is
      its revenue, else qty × its price, else qty × the SKU-location's price.
    - last_sale_date: last day ≤ as_of with a row of qty > 0; days_since_last_sale [days].
    - price [currency/unit]: position, else products, else the realised price of the last priced
      sale (Σ revenue ÷ Σ qty on its day). unit_cost [currency/unit]: position, else products,
      else stock_value ÷ positive_units of ``age``.
    - in_stock_days [days]: days of W with closing stock > 0 or net units sold > 0 (W without
      stock history); avg_daily_sales = units in W ÷ in_stock_days [units/day];
      days_of_supply = max(on_hand, 0) ÷ avg_daily_sales [days].
    - avg_inventory_value = mean over T of max(closing, 0) × unit_cost [currency] (without
      history max(on_hand, 0) × unit_cost); cogs_365d = units in T × unit_cost; turnover =
      cogs ÷ avg_inventory_value; gross_margin = revenue in T − cogs; gmroi = gross_margin ÷
      avg_inventory_value; sell_through = units_S ÷ (units_S + on_hand).
    - abc by revenue or gross margin over T; weekly_cv, xyz, adi, cv2 and demand_class
      (Syntetos, Boylan & Croston 2005) from the weekly demand of the last demand_weeks weeks.
    - stock_value, avg_age_days and the age buckets from ``age`` (0 / null when absent).

    ``prepared`` (from :func:`sales_horizon` and :func:`prepare_sales` on the keys of
    ``position``) saves keying the sales again when the caller already did.
    """
    w = int(config.avg_sales_window_days)
    t = int(config.turnover_window_days)
    s = int(config.sell_through_window_days)
    n_weeks = int(config.demand_weeks)

    keys = sku_location_keys(_position_columns(position))
    horizon = sales_horizon(config)
    if prepared is None or prepared.horizon < horizon:
        prepared = prepare_sales(sales, keys, as_of, horizon)
    sums = window_sums(
        prepared, units_windows={*FIXED_WINDOWS, w, t, s}, revenue_windows={*FIXED_WINDOWS, t}
    )
    history = prepare_history(stock_history, keys, as_of)
    availability = stock_availability(history, sale_days(prepared, w), w, t)
    weekly = weekly_demand_sums(prepared, n_weeks)
    age_part, bucket_columns = _age_columns(age, keys)

    table = (
        keys.join(_product_columns(products), on="sku", how="left")
        .join(sums, on=KEY_INDEX, how="left")
        .join(availability, on=KEY_INDEX, how="left")
        .join(weekly, on=KEY_INDEX, how="left")
        .join(age_part, on=KEY_INDEX, how="left")
        .sort(KEY_INDEX)
    )
    table = table.with_columns(
        pl.coalesce("_position_price", "_product_price").alias("price"),
        pl.coalesce(
            "_position_unit_cost",
            "_product_unit_cost",
            pl.when(pl.col("_positive_units") > 0).then(
                pl.col("_stock_value") / pl.col("_positive_units")
            ),
        ).alias("unit_cost"),
    )
    unpriced = table.filter(pl.col("price").is_null()).select(KEY_INDEX)
    if unpriced.height:
        table = table.join(
            realised_prices(sales, keys, unpriced, as_of), on=KEY_INDEX, how="left"
        ).with_columns(pl.coalesce("price", "realised_price").alias("price"))

    def units(n: int) -> pl.Expr:
        return pl.col(f"units_{n}d").fill_null(0.0)

    def revenue(n: int) -> pl.Expr:
        unpriced_revenue = (pl.col(f"unpriced_units_{n}d") * pl.col("price")).fill_null(0.0)
        return pl.col(f"revenue_known_{n}d").fill_null(0.0) + unpriced_revenue

    table = table.with_columns(
        *(units(n).alias(f"units_{n}d") for n in {*FIXED_WINDOWS, w, t, s}),
        *(revenue(n).alias(f"revenue_{n}d") for n in {*FIXED_WINDOWS, t}),
        (pl.lit(as_of, dtype=pl.Date) - pl.duration(days=pl.col("last_sale_off"))).alias(
            "last_sale_date"
        ),
        pl.col("last_sale_off").cast(pl.Int64).alias("days_since_last_sale"),
        pl.col("in_stock_days").fill_null(w),
        pl.col("_stock_value").fill_null(0.0).alias("stock_value"),
        pl.col("_avg_age_days").alias("avg_age_days"),
        (
            pl.col("avg_stock_units").fill_null(pl.col("on_hand").clip(lower_bound=0.0))
            * pl.col("unit_cost")
        ).alias("avg_inventory_value"),
        (pl.col(f"units_{t}d").fill_null(0.0) * pl.col("unit_cost")).alias("cogs_365d"),
        *(pl.col(c).fill_null(0.0) for c in bucket_columns),
    )
    table = table.with_columns(
        avg_daily_sales(pl.col(f"units_{w}d"), pl.col("in_stock_days")).alias("avg_daily_sales"),
        turnover(pl.col("cogs_365d"), pl.col("avg_inventory_value")).alias("turnover"),
        (pl.col(f"revenue_{t}d") - pl.col("cogs_365d")).alias("gross_margin"),
        sell_through(pl.col(f"units_{s}d"), pl.col("on_hand")).alias("sell_through"),
        weekly_cv(n_weeks).alias("weekly_cv"),
        average_demand_interval(n_weeks).alias("adi"),
        squared_cv_of_sizes().alias("cv2"),
    )
    basis = "gross_margin" if config.abc_basis == "profit" else f"revenue_{t}d"
    table = table.with_columns(
        days_of_supply(pl.col("on_hand"), pl.col("avg_daily_sales")).alias("days_of_supply"),
        gmroi(pl.col("gross_margin"), pl.col("avg_inventory_value")).alias("gmroi"),
        # ties rank by sku, location: the order of _k
        abc_classes(table, basis, [KEY_INDEX], config.abc_cuts).alias("abc"),
        xyz_class(pl.col("weekly_cv"), config.xyz_cuts).alias("xyz"),
        demand_class(pl.col("adi"), pl.col("cv2"), config.adi_cut, config.cv2_cut).alias(
            "demand_class"
        ),
    )
    schema = SKU_METRICS.polars_schema()
    return table.select(
        *(pl.col(name).cast(dtype) for name, dtype in schema.items()),
        *bucket_columns,
    )
