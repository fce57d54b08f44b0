"""Sales in windows ending on the as-of date: units, revenue, last sale, realised price (SPEC §3.2).

A window of N days is as_of−N+1 … as_of inclusive. Every sales row is reduced once to
``_k`` (integer SKU-location), ``off`` = as_of − date [days] (0 on the as-of date, so a row is in
the N-day window when ``off < N``), ``qty`` [units] and its known ``revenue`` [currency]. The
rows of the longest window are sorted by (_k, off) once; every later group-by (windowed sums,
weeks, days) then runs over contiguous groups, several times faster than hashing 1 M groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl

from deadstock.keys import KEY_INDEX, attach_keys

#: Days before the as-of date [days]: 0 on the as-of date.
OFF = "off"


def epoch_days(day: date) -> int:
    """Days since 1970-01-01 of ``day`` (the physical value of a ``pl.Date``)."""
    return (day - date(1970, 1, 1)).days


def days_before(as_of: date, column: str = "date") -> pl.Expr:
    """as_of − ``column`` [days] as Int32 (negative after the as-of date)."""
    return pl.lit(epoch_days(as_of), dtype=pl.Int32) - pl.col(column).cast(pl.Date).cast(pl.Int32)


def row_revenue(columns: Iterable[str]) -> pl.Expr:
    """Revenue of a sales row when the row itself tells it [currency], else null.

    ``revenue`` when that column exists and is non-null, else qty × ``price`` when that column
    exists and is non-null; rows with neither are priced later with the SKU-location's price.
    """
    columns = set(columns)
    known: pl.Expr = pl.lit(None, dtype=pl.Float64)
    if "price" in columns:
        known = pl.col("qty").cast(pl.Float64) * pl.col("price").cast(pl.Float64)
    if "revenue" in columns:
        known = pl.col("revenue").cast(pl.Float64).fill_null(known)
    return known


def sales_rows(sales: pl.DataFrame | pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Sales rows dated ≤ as_of as sku, location, off [days], qty [units], revenue [currency,
    null when the row gives neither revenue nor price]."""
    lazy = sales.lazy()
    columns = lazy.collect_schema().names()
    return lazy.select(
        pl.col("sku"),
        pl.col("location"),
        days_before(as_of).alias(OFF),
        pl.col("qty").cast(pl.Float64),
        row_revenue(columns).alias("revenue"),
    ).filter(pl.col(OFF) >= 0)


@dataclass(frozen=True)
class PreparedSales:
    """Sales of the SKU-locations of the position, reduced for the windowed metrics.

    recent: _k, off [days], qty [units], revenue [currency or null] of the rows with
    off < horizon, sorted by _k then off (``_k`` flagged sorted).
    older_last_sale: _k, older_sale_off = smallest off ≥ horizon of a row with qty > 0 [days].
    """

    horizon: int
    recent: pl.DataFrame
    older_last_sale: pl.DataFrame


def prepare_sales(
    sales: pl.DataFrame | pl.LazyFrame, keys: pl.DataFrame, as_of: date, horizon: int
) -> PreparedSales:
    """Attach integer keys to the sales ≤ as_of and split them at ``horizon`` days (SPEC §3.2).

    Rows after as_of, without a date, or of SKU-locations not in ``keys`` are left out.
    ``horizon`` must cover the longest window that needs individual rows.
    """
    rows = attach_keys(sales_rows(sales, as_of), keys).collect(engine="streaming")
    # One integer per (SKU-location, day) sorts faster than the pair; 32 bits when it fits.
    code_type = pl.UInt32 if keys.height * horizon < 2**32 else pl.UInt64
    order = pl.col(KEY_INDEX).cast(code_type) * horizon + pl.col(OFF).cast(code_type)
    recent = (
        rows.filter(pl.col(OFF) < horizon).sort(order).with_columns(pl.col(KEY_INDEX).set_sorted())
    )
    older = (
        rows.lazy()
        .filter((pl.col(OFF) >= horizon) & (pl.col("qty") > 0))
        .group_by(KEY_INDEX)
        .agg(pl.col(OFF).min().alias("older_sale_off"))
        .collect(engine="streaming")
    )
    return PreparedSales(horizon, recent, older)


def window_sums(
    prepared: PreparedSales, units_windows: Iterable[int], revenue_windows: Iterable[int]
) -> pl.DataFrame:
    """Windowed sums per SKU-location with sales, in one pass of conditional sums.

    Columns: _k; ``units_{N}d`` [units] for each N of ``units_windows``; for each N of
    ``revenue_windows`` ``revenue_known_{N}d`` (Σ known row revenue [currency]) and
    ``unpriced_units_{N}d`` (Σ qty of rows without a known revenue [units]); ``last_sale_off``
    = as_of − last day with a row of qty > 0 [days], null when none.
    """
    units_windows = sorted(set(units_windows))
    revenue_windows = sorted(set(revenue_windows))
    if max([*units_windows, *revenue_windows]) > prepared.horizon:
        raise ValueError("A window is longer than the horizon of the prepared sales.")
    off, qty, revenue = pl.col(OFF), pl.col("qty"), pl.col("revenue")

    def in_window(n: int, value: pl.Expr) -> pl.Expr:
        # Rows are already limited to the horizon: a window that long needs no condition.
        return value if n >= prepared.horizon else pl.when(off < n).then(value).otherwise(0.0)

    aggregations = [in_window(n, qty).sum().alias(f"units_{n}d") for n in units_windows]
    any_unpriced = prepared.recent["revenue"].null_count() > 0
    unpriced = pl.when(revenue.is_null()).then(qty).otherwise(0.0)
    for n in revenue_windows:
        aggregations.append(in_window(n, revenue.fill_null(0.0)).sum().alias(f"revenue_known_{n}d"))
        # Most exports carry revenue on every row: then there is nothing to sum.
        unpriced_sum = in_window(n, unpriced).sum() if any_unpriced else pl.lit(0.0)
        aggregations.append(unpriced_sum.alias(f"unpriced_units_{n}d"))
    aggregations.append(pl.when(qty > 0).then(off).min().alias("recent_sale_off"))
    recent = prepared.recent.group_by(KEY_INDEX).agg(aggregations)
    sums = [f"units_{n}d" for n in units_windows] + [
        f"{part}_{n}d" for n in revenue_windows for part in ("revenue_known", "unpriced_units")
    ]
    return (
        recent.join(prepared.older_last_sale, on=KEY_INDEX, how="full", coalesce=True)
        .with_columns(
            pl.coalesce("recent_sale_off", "older_sale_off").alias("last_sale_off"),
            *(pl.col(c).fill_null(0.0) for c in sums),
        )
        .drop("recent_sale_off", "older_sale_off")
    )


def realised_prices(
    sales: pl.DataFrame | pl.LazyFrame, keys: pl.DataFrame, wanted: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """Realised price of the last priced sale of each SKU-location whose _k is in ``wanted``.

    Σ revenue ÷ Σ qty [currency/unit] over the rows with qty > 0 and a known revenue on the latest
    day ≤ as_of that has such rows. Columns: _k, realised_price; SKU-locations without a priced
    sale are absent.
    """
    priced = (
        attach_keys(sales_rows(sales, as_of), keys)
        .join(wanted.lazy().select(KEY_INDEX), on=KEY_INDEX, how="semi")
        .filter((pl.col("qty") > 0) & pl.col("revenue").is_not_null())
    )
    return (
        priced.filter(pl.col(OFF) == pl.col(OFF).min().over(KEY_INDEX))
        .group_by(KEY_INDEX)
        .agg((pl.col("revenue").sum() / pl.col("qty").sum()).alias("realised_price"))
        .collect()
    )
