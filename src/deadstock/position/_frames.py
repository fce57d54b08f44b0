"""Small helpers shared by the position modules: keys, optional columns, date filters."""

from __future__ import annotations

from datetime import date

import polars as pl

from deadstock.schema import DEFAULT_LOCATION, LAYERS

KEY: list[str] = ["sku", "location"]

#: Relative size below which a left-over layer is float noise, not stock: a layer is dropped when
#: |units| ≤ ``NOISE_RELATIVE`` × (units moved through its SKU-location). Real fractional stock is
#: many orders of magnitude larger; float64 error of the cumulative sums is many orders smaller.
NOISE_RELATIVE = 1e-12


def is_empty(df: pl.DataFrame | None) -> bool:
    """True when ``df`` is None or has no rows."""
    return df is None or df.height == 0


def col_or(df: pl.DataFrame, name: str, dtype: type[pl.DataType] | pl.DataType) -> pl.Expr:
    """``pl.col(name)`` cast to ``dtype`` if the column exists, else a null literal of that type."""
    if name in df.columns:
        return pl.col(name).cast(dtype)
    return pl.lit(None, dtype=dtype)


def with_location(df: pl.DataFrame) -> pl.DataFrame:
    """Add ``location`` (default location) when absent and fill its nulls; cast keys to String."""
    location = (
        pl.col("location").cast(pl.String).fill_null(DEFAULT_LOCATION)
        if "location" in df.columns
        else pl.lit(DEFAULT_LOCATION, dtype=pl.String)
    )
    return df.with_columns(pl.col("sku").cast(pl.String), location.alias("location"))


def as_date(value: date) -> pl.Expr:
    """A Date literal."""
    return pl.lit(value, dtype=pl.Date)


def movements(table: pl.DataFrame | None, sign: float) -> pl.LazyFrame:
    """Receipts (sign +1) or sales (sign −1) as a lazy ``sku, location, date, change`` [units].

    Lazy, so that the callers' date filters and joins run in one pass without copies.
    """
    if is_empty(table):
        return pl.LazyFrame(
            schema={"sku": pl.String, "location": pl.String, "date": pl.Date, "change": pl.Float64}
        )
    assert table is not None
    location = (
        pl.col("location").cast(pl.String).fill_null(DEFAULT_LOCATION)
        if "location" in table.columns
        else pl.lit(DEFAULT_LOCATION, dtype=pl.String)
    )
    return table.lazy().select(
        pl.col("sku").cast(pl.String),
        location.alias("location"),
        pl.col("date").cast(pl.Date),
        (pl.col("qty").cast(pl.Float64).fill_null(0.0) * sign).alias("change"),
    )


def empty_layers() -> pl.DataFrame:
    """An empty table of schema ``LAYERS``."""
    return pl.DataFrame(schema=LAYERS.polars_schema())


def suffix_sum_within(frame: pl.DataFrame, value: str, key: str, alias: str) -> pl.DataFrame:
    """Add ``alias`` = Σ ``value`` from each row to the last row of its ``key`` run.

    ``frame`` must hold each key's rows contiguously (sorted by key). Whole-number values (the
    usual case: units) take an exact O(n) path without grouping — global reverse cumulative sum
    minus the sum after the run, exact in float64 below 2**53; fractional values a per-group
    cumulative sum, so no precision is lost to the size of the table.
    """
    values = frame[value]
    whole = frame.height == 0 or (
        bool((values == values.round()).all()) and float(values.abs().sum()) < 2.0**52
    )
    if not whole:
        return frame.with_columns(pl.col(value).cum_sum(reverse=True).over(key).alias(alias))
    from_here = pl.col(value).cum_sum(reverse=True)
    run_ends = (pl.col(key) != pl.col(key).shift(-1)).fill_null(True)
    after_run = pl.when(run_ends).then(from_here.shift(-1, fill_value=0.0)).backward_fill()
    return frame.with_columns((from_here - after_run).alias(alias))
