"""Daily closing stock over a look-back window, from receipts and sales or from a ledger (§3.1)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from deadstock.keys import attach_keys, sku_location_keys
from deadstock.position._frames import KEY, as_date, movements, suffix_sum_within
from deadstock.position.ledger_prepare import prepare_ledger

HISTORY_SCHEMA: dict[str, type[pl.DataType]] = {
    "sku": pl.String,
    "location": pl.String,
    "date": pl.Date,
    "closing_units": pl.Float64,
}


def stock_history(
    position: pl.DataFrame,
    receipts: pl.DataFrame | None,
    sales: pl.DataFrame | None,
    as_of: date,
    lookback_days: int,
) -> pl.DataFrame:
    """Closing stock [units] of every SKU-location of ``position`` over the look-back window.

    Window: start = as_of − lookback_days + 1 … as_of. Per SKU-location one row dated start − 1
    (the level the window opens with) and one row per day of the window with a receipt or sale,
    holding that day's closing stock; the level is constant between rows. Computed backwards
    from the position's on_hand at as_of: closing(d) = on_hand − Σ receipts in (d, as_of] +
    Σ sales in (d, as_of]. Columns: sku, location, date, closing_units; rows in the position's
    order, then by date. Receipts and sales of SKU-locations not in the position are ignored.

    Vectorised: integer keys, one sort and reverse cumulative sums (no per-group Python).
    """
    start = _window_start(as_of, lookback_days)
    keys = _position_keys(position)
    moves = (
        pl.concat([movements(receipts, 1.0), movements(sales, -1.0)])
        .filter((pl.col("date") >= start) & (pl.col("date") <= as_of) & (pl.col("change") != 0))
        .pipe(attach_keys, keys)
        .select("_k", "date", "change")
    )
    return closing_history(_levels(position), moves, start).pipe(_with_names, keys)


def keyed_stock_history(
    position: pl.DataFrame,
    receipts: pl.DataFrame | None,
    keyed_sales: pl.DataFrame,
    as_of: date,
    lookback_days: int,
) -> pl.DataFrame:
    """:func:`stock_history` with integer keys: columns _k, date, closing_units.

    ``_k`` numbers the SKU-locations of ``position`` as
    :func:`deadstock.keys.sku_location_keys` does (sku, location order). ``keyed_sales`` holds
    the sales already keyed that way: _k, off = as_of − date [days], qty [units] (for instance
    ``PreparedSales.recent``), so the large sales table is not hashed and joined again.
    """
    start = _window_start(as_of, lookback_days)
    keys = sku_location_keys(position.select("sku", "location", "on_hand"))
    receipt_moves = (
        movements(receipts, 1.0)
        .filter((pl.col("date") >= start) & (pl.col("date") <= as_of) & (pl.col("change") != 0))
        .pipe(attach_keys, keys)
        .select("_k", "date", "change")
    )
    sale_moves = (
        keyed_sales.lazy()
        .filter((pl.col("off") < lookback_days) & (pl.col("qty") != 0))
        .select(
            pl.col("_k").cast(pl.UInt32),
            (as_date(as_of) - pl.duration(days=pl.col("off"))).cast(pl.Date).alias("date"),
            (-pl.col("qty").cast(pl.Float64)).alias("change"),
        )
    )
    moves = pl.concat([receipt_moves.with_columns(pl.col("_k").cast(pl.UInt32)), sale_moves])
    return closing_history(_levels(keys), moves, start)


def _position_keys(position: pl.DataFrame) -> pl.DataFrame:
    return position.select(
        pl.col("sku").cast(pl.String), pl.col("location").cast(pl.String)
    ).with_row_index("_k")


def _levels(position: pl.DataFrame) -> pl.DataFrame:
    """_k, on_hand [units] at as-of, in the position's row order."""
    on_hand = position["on_hand"].cast(pl.Float64).fill_null(0.0)
    return pl.DataFrame({"on_hand": on_hand}).with_row_index("_k")


def _with_names(history: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """Replace ``_k`` by the sku, location it numbers."""
    names = keys.sort("_k")
    index = history["_k"]
    return history.select(
        names["sku"].gather(index).alias("sku"),
        names["location"].gather(index).alias("location"),
        "date",
        "closing_units",
    )


def stock_history_from_ledger(
    ledger: pl.DataFrame, as_of: date, lookback_days: int
) -> pl.DataFrame:
    """Closing stock [units] per SKU-location of ``ledger`` over the look-back window.

    As :func:`stock_history`, with the replayed ledger balance (reconciliations set the level
    to their qty_after) instead of receipts and sales; one SKU-location per ledger key
    (rows ≤ as_of), sorted by sku, location, date.
    """
    start = _window_start(as_of, lookback_days)
    if ledger.height == 0:
        return pl.DataFrame(schema=HISTORY_SCHEMA)
    prepared = prepare_ledger(ledger, as_of)
    moves = prepared.rows.filter((pl.col("date") >= start) & (pl.col("delta") != 0)).select(
        "_k", "date", pl.col("delta").alias("change")
    )
    levels = prepared.balances.select("_k", pl.col("on_hand").fill_null(0.0))
    keys = prepared.keys.select("_k", *KEY)
    return closing_history(levels, moves, start).pipe(_with_names, keys)


def _window_start(as_of: date, lookback_days: int) -> date:
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, int) or lookback_days < 1:
        raise ValueError(
            f"The 'lookback_days' parameter must be an int in [1, inf). Got {lookback_days!r}."
        )
    return as_of - timedelta(days=lookback_days - 1)


def closing_history(
    levels: pl.DataFrame, moves: pl.DataFrame | pl.LazyFrame, start: date
) -> pl.DataFrame:
    """Closing-stock rows (_k, date, closing_units) from the level at as_of and the moves.

    levels: _k, on_hand [units] at as_of (one row per key, ``_k`` = 0…n−1 in output order);
    moves: _k, date, change [units] of the window (dates ≥ start).

    One sort of an integer (key, day) order; everything else is linear: suffix sums give the
    stock after each day, and the opening rows are interleaved by index arithmetic.
    """
    n = levels.height
    on_hand = levels.sort("_k")["on_hand"].cast(pl.Float64).fill_null(0.0).to_numpy()
    opening_day = start - timedelta(days=1)
    day = (pl.col("date") - pl.lit(opening_day, dtype=pl.Date)).dt.total_days()
    moved = (
        moves.lazy()
        .select((pl.col("_k").cast(pl.Int64) * _KEY_STRIDE + day).alias("_order"), "change")
        .collect(engine="streaming")
        .sort("_order")
        .with_columns((pl.col("_order") // _KEY_STRIDE).alias("_k"))
    )
    moved = suffix_sum_within(moved, "change", "_k", "_from_here")
    order = moved["_order"].to_numpy()
    key = moved["_k"].to_numpy()
    from_here = moved["_from_here"].to_numpy()
    change = moved["change"].to_numpy()

    # Last movement of each (key, day): the stock after it is on_hand − Σ changes on later days.
    last = np.ones(order.size, dtype=bool)
    last[:-1] = order[1:] != order[:-1]
    day_key, day_offset = key[last], order[last] % _KEY_STRIDE
    day_closing = on_hand[day_key] - (from_here[last] - change[last])
    # Opening level: on_hand − Σ changes in the window (the suffix sum at each key's first row).
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    window_total = np.zeros(n)
    window_total[key[first]] = from_here[first]

    # Interleave: key k's opening row comes after the day rows of keys < k and k opening rows.
    day_rows = day_key.size
    opening_at = np.searchsorted(day_key, np.arange(n)) + np.arange(n)
    day_at = np.arange(day_rows) + day_key + 1
    out_key = np.empty(n + day_rows, dtype=np.int64)
    out_day = np.zeros(n + day_rows, dtype=np.int64)
    out_closing = np.empty(n + day_rows)
    out_key[opening_at], out_closing[opening_at] = np.arange(n), on_hand - window_total
    out_key[day_at], out_day[day_at], out_closing[day_at] = day_key, day_offset, day_closing

    first_day = pl.lit(opening_day, dtype=pl.Date).cast(pl.Int32)
    return pl.DataFrame(
        {
            "_k": pl.Series(out_key).cast(pl.UInt32),
            "date": pl.Series(out_day),
            "closing_units": pl.Series(out_closing),
        }
    ).with_columns((first_day + pl.col("date")).cast(pl.Int32).cast(pl.Date).alias("date"))


#: Order key stride: _k × stride + days since the opening row (2**20 days ≫ any window).
_KEY_STRIDE = 1 << 20
