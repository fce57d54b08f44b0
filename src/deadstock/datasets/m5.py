"""Real daily sales (M5, Walmart 2011–2016) with derived, seeded stock (SPEC §2 tables).

The M5 data hold sales and shelf prices but no stock, receipts or costs. :func:`load_m5_with_stock`
derives them by the rule stated in its docstring so the whole pipeline can run on real demand.
The data are read from the shared folder and never copied into the repository.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from deadstock import schema
from deadstock.errors import InputError

M5_DAILY = Path("m5_tiny_daily") / "sales_daily.parquet"
COST_SHARE = 0.7  # default unit cost as a fraction of the shelf price
REVIEW_DAYS = 7  # days between derived receipts
TRAILING_DAYS = 28  # window of the trailing mean demand [days]
COVER_WEEKS = (2.0, 4.0)  # range of k, the target cover in weeks of trailing mean demand


def _canonical(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    spec = schema.INPUT_TABLES[table]
    names = [c for c in spec.names if c in frame.columns]
    return frame.select(pl.col(c).cast(spec.column(c).dtype) for c in names)


def derive_receipts(
    units: np.ndarray, start: np.ndarray, cover_weeks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weekly replenishment of daily demand so stock never runs out (numeric kernel).

    ``units`` is (series × days) [units/day]; ``start`` each series' first day [day index];
    ``cover_weeks`` its k [weeks]. Reviews fall on ``start + 7 w``; at a review the target is
    ``max(k × trailing-28-day mean weekly demand, next 7 days' actual demand)`` (the trailing
    window is cut at ``start``; empty at the first review, so the first receipt covers the first
    week) and the receipt is ``ceil(max(0, target − stock))``. Returns ``receipts`` (series × days)
    [units, non-zero on review days only] and the closing stock [units] of each series.
    """
    n_series, n_days = units.shape
    cum = np.zeros((n_series, n_days + 1))
    cum[:, 1:] = np.cumsum(units, axis=1)
    rows = np.arange(n_series)
    receipts = np.zeros((n_series, n_days))
    stock = np.zeros(n_series)
    weeks = int(np.ceil((n_days - start.min()) / REVIEW_DAYS))
    for w in range(weeks):
        day = start + REVIEW_DAYS * w
        live = day < n_days
        d = np.minimum(day, n_days - 1)
        next_week = cum[rows, np.minimum(d + REVIEW_DAYS, n_days)] - cum[rows, d]
        lo = np.maximum(d - TRAILING_DAYS, start)
        seen = d - lo
        trailing = np.where(seen > 0, (cum[rows, d] - cum[rows, lo]) / np.maximum(seen, 1), 0.0)
        target = np.maximum(cover_weeks * trailing * REVIEW_DAYS, next_week)
        receipt = np.where(live, np.ceil(np.maximum(0.0, target - stock) - 1e-9), 0.0)
        receipts[rows[live], d[live]] = receipt[live]
        stock = np.where(live, stock + receipt - next_week, stock)
    return receipts, stock


def load_m5_with_stock(
    path: Path, seed: int = 0, cost_share: float = COST_SHARE
) -> dict[str, pl.DataFrame]:
    """Canonical tables from the M5 daily sample, with receipts and inventory derived by a rule.

    Reads ``<path>/m5_tiny_daily/sales_daily.parquet`` (280 item × store series, daily
    2011-01-29 … 2016-04-24) and returns:

    - ``products``: sku = item_id, category = cat_id, subcategory = dept_id, price = the item's
      last shelf price (latest date, last store) [USD/unit], unit_cost = ``cost_share`` × price
      (default 0.7, a 30 % gross margin) [USD/unit], launch_date = first day on sale in any store,
      status ``active``.
    - ``sales``: one row per series-day with units > 0: sku, location = store_id, date,
      qty = units, price = sell_price, revenue = qty × price.
    - ``prices``: per series (with location) the first shelf price and every change.
    - ``receipts`` (derived, seeded): a series starts on its first day with a price or a sale;
      every 7 days from then the stock is topped up to ``max(k × trailing-28-day mean weekly
      demand, next week's actual demand)`` with k ~ U[2, 4] per series drawn from
      ``numpy.random.default_rng(seed)`` in (item_id, store_id) order; the first receipt is on
      the first day. unit_cost = ``cost_share`` × that day's price (the series' first price before
      it has one). Stock therefore never goes negative.
    - ``inventory``: on_hand = Σ receipts − Σ sales per series exactly, as_of = last date.
    """
    file = Path(path) / M5_DAILY
    if not file.exists():
        raise InputError(
            "M5 daily sales file not found.",
            file=file,
            fix="point path at the shared data folder that holds m5_tiny_daily/ "
            "(see ../shared/data/README.md).",
        )
    if not 0 < cost_share <= 1:
        raise ValueError(
            f"The 'cost_share' parameter must be a number in (0, 1]. Got {cost_share}."
        )
    raw = (
        pl.read_parquet(
            file,
            columns=["item_id", "dept_id", "cat_id", "store_id", "date", "units", "sell_price"],
        )
        .with_columns(pl.col("item_id", "dept_id", "cat_id", "store_id").cast(pl.String))
        .with_columns(pl.col("sell_price").cast(pl.Float64).round(2))
        .sort("item_id", "store_id", "date")
    )
    first_date, last_date = raw["date"].min(), raw["date"].max()
    if not isinstance(first_date, date) or not isinstance(last_date, date):
        raise InputError("The M5 file holds no dated rows.", file=file, fix="restore the file.")
    n_days = (last_date - first_date).days + 1
    series = raw.select("item_id", "store_id").unique(maintain_order=True)
    raw = raw.join(series.with_row_index("series"), on=["item_id", "store_id"]).with_columns(
        day=(pl.col("date") - pl.lit(first_date)).dt.total_days()
    )
    s_idx, d_idx = raw["series"].to_numpy(), raw["day"].to_numpy()
    units = np.zeros((series.height, n_days))
    units[s_idx, d_idx] = raw["units"].fill_null(0).to_numpy()
    price = np.full((series.height, n_days), np.nan)
    price[s_idx, d_idx] = raw["sell_price"].fill_null(np.nan).to_numpy()

    on_sale = ~np.isnan(price) | (units > 0)
    start = np.where(on_sale.any(axis=1), on_sale.argmax(axis=1), n_days)
    cover_weeks = np.random.default_rng(seed).uniform(*COVER_WEEKS, series.height)
    receipts_matrix, stock = derive_receipts(units, start, cover_weeks)

    # unit cost at receipt: cost_share × that day's price, else the series' first price
    priced = ~np.isnan(price)
    first_price = price[np.arange(series.height), priced.argmax(axis=1)]
    r_s, r_d = np.nonzero(receipts_matrix)
    r_price = np.where(priced[r_s, r_d], price[r_s, r_d], first_price[r_s])
    receipts = series.with_row_index("series").join(
        pl.DataFrame(
            {
                "series": r_s.astype(np.uint32),
                "day": r_d.astype(np.int64),
                "qty": receipts_matrix[r_s, r_d],
                "unit_cost": np.round(cost_share * r_price, 2),
            }
        ),
        on="series",
    )
    receipts = receipts.with_columns(
        date=pl.lit(first_date) + pl.duration(days=pl.col("day")),
        sku=pl.col("item_id"),
        location=pl.col("store_id"),
    ).sort("date", "sku", "location")

    sales = raw.filter(pl.col("units") > 0).with_columns(
        sku=pl.col("item_id"),
        location=pl.col("store_id"),
        qty=pl.col("units").cast(pl.Float64),
        price=pl.col("sell_price"),
        revenue=(pl.col("units") * pl.col("sell_price")).round(2),
    )

    prices = (
        raw.filter(pl.col("sell_price").is_not_null())
        .filter(
            (pl.col("sell_price") != pl.col("sell_price").shift(1).over("series")).fill_null(True)
        )
        .select("date", sku="item_id", price="sell_price", location="store_id")
    )

    inventory = series.with_columns(
        sku=pl.col("item_id"),
        location=pl.col("store_id"),
        on_hand=pl.Series(stock),
        as_of=pl.lit(last_date),
    )

    last_price = (
        raw.filter(pl.col("sell_price").is_not_null())
        .sort("item_id", "date", "store_id")
        .group_by("item_id", maintain_order=True)
        .agg(
            pl.col("dept_id", "cat_id").last(),
            price=pl.col("sell_price").last(),
            launch_date=pl.col("date").min(),
        )
    )
    products = last_price.select(
        sku=pl.col("item_id"),
        category=pl.col("cat_id"),
        subcategory=pl.col("dept_id"),
        unit_cost=(pl.col("price") * cost_share).round(2),
        price=pl.col("price"),
        launch_date=pl.col("launch_date"),
        status=pl.lit("active"),
    )
    return {
        "products": _canonical(products, "products"),
        "sales": _canonical(sales, "sales"),
        "receipts": _canonical(receipts, "receipts"),
        "inventory": _canonical(inventory, "inventory"),
        "prices": _canonical(prices, "prices"),
    }


def m5_daily_price_history(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``folder``/m5_tiny_daily → canonical sales (days with units > 0, at the shelf price),
    prices (the daily shelf price, step semantics) and products (category = cat_id), as read by
    :func:`deadstock.pricing.estimate_elasticities`."""
    raw = pl.read_parquet(
        folder / M5_DAILY,
        columns=["item_id", "cat_id", "store_id", "date", "units", "sell_price"],
    ).with_columns(pl.col("item_id", "cat_id", "store_id").cast(pl.String))
    price = pl.col("sell_price").cast(pl.Float64).round(2)
    sales = raw.filter(pl.col("units") > 0).select(
        "date",
        sku="item_id",
        location="store_id",
        qty=pl.col("units").cast(pl.Float64),
        price=price,
    )
    prices = raw.filter(pl.col("sell_price").is_not_null()).select(
        "date", sku="item_id", location="store_id", price=price
    )
    products = raw.select(sku="item_id", category="cat_id").unique("sku")
    return sales, prices, products


def m5_monthly_price_history(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``folder``/m5_monthly → canonical monthly sales (dated on the first of the month), weekly
    prices (dated on the first day of their wm_yr_wk, from calendar.csv) and products."""
    base = folder / "m5_monthly"
    monthly = pl.read_parquet(base / "sales_monthly.parquet")
    weeks = (
        pl.read_csv(base / "calendar.csv", columns=["date", "wm_yr_wk"], try_parse_dates=True)
        .group_by("wm_yr_wk")
        .agg(date=pl.col("date").min())
    )
    prices = (
        pl.read_parquet(base / "sell_prices.parquet")
        .join(weeks, on="wm_yr_wk")
        .select(
            "date",
            sku="item_id",
            location="store_id",
            price=pl.col("sell_price").cast(pl.Float64).round(2),
        )
    )
    sales = monthly.filter(pl.col("units") > 0).select(
        date="month", sku="item_id", location="store_id", qty=pl.col("units").cast(pl.Float64)
    )
    products = monthly.select(sku="item_id", category="cat_id").unique("sku")
    return sales, prices, products
