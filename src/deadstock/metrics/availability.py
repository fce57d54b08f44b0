"""In-stock days and average stock from the interval structure of the stock history (SPEC §3.2).

The stock history holds, per SKU-location, rows (date, closing_units) with the level constant
from a row's date to the day before the next row (the last row holds up to the as-of date);
before its first row a SKU-location has no stock. So every row is an interval and the window
figures are sums over intervals, never over a dense daily grid. Days are indexed
t = date − as_of [days] (0 = as-of date); a window of N days is t = 1−N … 0.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from deadstock.keys import KEY_INDEX, attach_keys
from deadstock.metrics.windows import OFF, PreparedSales, days_before

#: Day index relative to the as-of date [days]: date − as_of, ≤ 0.
DAY = "t"


def prepare_history(stock_history: pl.DataFrame, keys: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Stock-history rows dated ≤ as_of of the SKU-locations in ``keys`` as intervals.

    Columns: _k, t (first day of the interval), end (last day, t of the next row − 1, or 0 for
    a SKU-location's last row) [days relative to as_of], closing_units [units]; sorted by _k, t.
    Of several rows on one day the last one in the table holds (the others last zero days).
    A ``stock_history`` that carries ``_k`` instead of sku, location (from
    :func:`deadstock.position.keyed_stock_history`) must be numbered as ``keys``.
    """
    if KEY_INDEX in stock_history.columns:
        ordered = (
            stock_history.lazy()
            .select(
                pl.col(KEY_INDEX).cast(pl.UInt32),
                (-days_before(as_of)).alias(DAY),
                pl.col("closing_units").cast(pl.Float64),
            )
            .filter(pl.col(DAY) <= 0)
            .collect()
        )
        # The keyed history comes sorted by (_k, date) already: check in one pass, sort if not.
        code = pl.col(KEY_INDEX).cast(pl.Int64) * (1 << 32) + pl.col(DAY)
        if not ordered.select(code.is_sorted()).item():
            ordered = ordered.sort(KEY_INDEX, DAY, maintain_order=True)
        return _intervals(ordered)
    rows = (
        stock_history.lazy()
        .select(
            pl.col("sku"),
            pl.col("location"),
            (-days_before(as_of)).alias(DAY),
            pl.col("closing_units").cast(pl.Float64),
        )
        .filter(pl.col(DAY) <= 0)
    )
    ordered = attach_keys(rows, keys, keep_order=True).collect(engine="streaming")
    return _intervals(ordered.sort(KEY_INDEX, DAY, maintain_order=True))


def _intervals(ordered: pl.DataFrame) -> pl.DataFrame:
    """Rows sorted by _k, t → intervals [t, end] (see :func:`prepare_history`)."""
    same_key_next = pl.col(KEY_INDEX).shift(-1) == pl.col(KEY_INDEX)
    return ordered.select(
        KEY_INDEX,
        DAY,
        pl.when(same_key_next).then(pl.col(DAY).shift(-1) - 1).otherwise(0).alias("end"),
        "closing_units",
    )


def _days_in_window(window_days: int) -> pl.Expr:
    """Days of an interval [t, end] inside the window of ``window_days`` days ending on as-of."""
    first = pl.max_horizontal(pl.col(DAY), pl.lit(1 - window_days))
    return (pl.col("end") - first + 1).clip(lower_bound=0)


def sale_days(prepared: PreparedSales, window_days: int) -> pl.DataFrame:
    """Days of the window with net units sold > 0: _k, t (in no particular order)."""
    if window_days > prepared.horizon:
        raise ValueError("The window is longer than the horizon of the prepared sales.")
    # Rows are sorted by (_k, off): one integer per (SKU-location, day) is sorted too.
    day_code = (pl.col(KEY_INDEX).cast(pl.Int64) * window_days + pl.col(OFF)).set_sorted()
    return (
        prepared.recent.filter(pl.col(OFF) < window_days)
        .group_by(day_code.alias("_day_code"))
        .agg(pl.col("qty").sum())
        .filter(pl.col("qty") > 0)
        .select(
            (pl.col("_day_code") // window_days).cast(pl.UInt32).alias(KEY_INDEX),
            (-(pl.col("_day_code") % window_days)).cast(pl.Int32).alias(DAY),
        )
    )


def stock_availability(
    history: pl.DataFrame, sold_days: pl.DataFrame, avg_window_days: int, turnover_window_days: int
) -> pl.DataFrame:
    """In-stock days and average stock of every SKU-location with stock history.

    ``history`` from :func:`prepare_history`; ``sold_days`` from :func:`sale_days` over the
    average-sales window W. Columns: _k;
    in_stock_days [days] = days d of W with closing(d) > 0 or net units sold on d > 0;
    avg_stock_units [units] = mean over the turnover window T of max(closing(d), 0).
    """
    w, t = avg_window_days, turnover_window_days
    per_key = history.group_by(KEY_INDEX).agg(
        pl.when(pl.col("closing_units") > 0)
        .then(_days_in_window(w))
        .otherwise(0)
        .sum()
        .alias("stocked_days"),
        (pl.col("closing_units").clip(lower_bound=0) * _days_in_window(t))
        .sum()
        .alias("_unit_days"),
    )

    # Sale days without stock: the level on the day (latest row ≤ d; none → 0) is ≤ 0. The level
    # is looked up by an as-of join on one integer per (SKU-location, day of W), which is much
    # faster than an as-of join by group. Only the one row per key starting before W matters
    # there, so its first day is moved to the window's first day.
    def day_code(frame_day: pl.Expr) -> pl.Expr:
        return pl.col(KEY_INDEX).cast(pl.Int64) * w + frame_day.clip(lower_bound=1 - w) + (w - 1)

    levels = history.filter(pl.col("end") >= 1 - w).select(
        day_code(pl.col(DAY)).alias("_day_code"),
        pl.col(KEY_INDEX).alias("_level_key"),
        "closing_units",
    )
    sold_out = (
        sold_days.select(KEY_INDEX, day_code(pl.col(DAY)).alias("_day_code"))
        .sort("_day_code")
        .join_asof(levels, on="_day_code", strategy="backward", check_sortedness=False)
        .filter(
            (pl.col("_level_key") != pl.col(KEY_INDEX)).fill_null(True)
            | (pl.col("closing_units") <= 0)
        )
        .group_by(KEY_INDEX)
        .agg(pl.len().cast(pl.Int64).alias("sold_out_days"))
    )
    return per_key.join(sold_out, on=KEY_INDEX, how="left").select(
        KEY_INDEX,
        (pl.col("stocked_days").cast(pl.Int64) + pl.col("sold_out_days").fill_null(0)).alias(
            "in_stock_days"
        ),
        (pl.col("_unit_days") / t).alias("avg_stock_units"),
    )
