"""FIFO cost layers of on-hand stock from receipts (SPEC §3.1)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from deadstock.keys import attach_keys
from deadstock.position._frames import (
    KEY,
    NOISE_RELATIVE,
    as_date,
    col_or,
    empty_layers,
    is_empty,
    suffix_sum_within,
    with_location,
)
from deadstock.schema import LAYERS


def fifo_layers(
    position: pl.DataFrame,
    receipts: pl.DataFrame | None,
    as_of: date,
    opening_date: date,
) -> pl.DataFrame:
    """FIFO layers of each SKU-location's on-hand stock at ``as_of`` (SPEC §3.1, schema ``LAYERS``).

    First in, first out: the stock on hand is made of the newest receipts. Walking back from the
    newest receipt dated ≤ ``as_of`` (on equal dates the later row of the file is newer), each
    receipt contributes min(its qty, on-hand not yet covered) [units]; receipts with qty ≤ 0 are
    skipped. On-hand not covered by any receipt is one ``opening`` layer dated ``opening_date``
    (the earliest date in the data); a negative on-hand is one ``negative`` layer (units < 0)
    dated ``as_of``. Layer unit_cost [currency/unit] is the receipt's unit_cost, else the
    position's; value = units × unit_cost [currency]; age_days = as_of − received [days].
    Rows are ordered by the position's SKU-location order, oldest layer first.

    Vectorised: one join, one stable integer sort and cumulative sums (no per-group Python).
    """
    if is_empty(position):
        return empty_layers()
    pos = position.select(
        pl.col("sku").cast(pl.String),
        pl.col("location").cast(pl.String),
        pl.col("on_hand").cast(pl.Float64).fill_null(0.0),
        col_or(position, "unit_cost", pl.Float64).alias("position_cost"),
    ).with_row_index("_k")

    covered, receipt_totals = _receipt_layers(pos, receipts, as_of)
    rest = pos.with_columns(
        (pl.col("on_hand") - pl.Series(receipt_totals)).alias("_uncovered"),
        (pl.col("_k").cast(pl.Int64) * _KEY_STRIDE).alias("_order"),
    )
    opening = rest.filter((pl.col("on_hand") > 0) & (pl.col("_uncovered") > _noise())).select(
        "_k",
        "_order",
        as_date(opening_date).alias("received"),
        pl.col("_uncovered").alias("units"),
        pl.col("position_cost").alias("unit_cost"),
        pl.lit("opening").alias("origin"),
    )
    negative = rest.filter(pl.col("on_hand") < 0).select(
        "_k",
        (pl.col("_order") + (_KEY_STRIDE - 1)).alias("_order"),
        as_date(as_of).alias("received"),
        pl.col("on_hand").alias("units"),
        pl.col("position_cost").alias("unit_cost"),
        pl.lit("negative").alias("origin"),
    )
    # Opening layers sort first in their key, negative ones last, receipts by date in between.
    others = pl.concat([opening, negative]).sort("_order")
    layers = others.merge_sorted(covered.select(others.columns), key="_order")
    keys = pos.select("_k", "sku", "location")
    return finish_layers(layers.drop("_order"), keys, as_of)


#: Order key of a layer = _k × stride + days since the earliest receipt + 1 (0: opening layer,
#: stride − 1: negative layer); 2**20 days is far beyond any receipt history.
_KEY_STRIDE = 1 << 20


def _receipt_layers(
    pos: pl.DataFrame, receipts: pl.DataFrame | None, as_of: date
) -> tuple[pl.DataFrame, np.ndarray]:
    """Receipt parts that still make up positive on-hand, and Σ receipts per key [units].

    Returns (layers with _k, _order, received, units, unit_cost, origin — sorted by _order,
    oldest first — and an array over _k of the receipts dated ≤ as_of with qty > 0).
    """
    schema = {
        "_k": pl.UInt32,
        "_order": pl.Int64,
        "received": pl.Date,
        "units": pl.Float64,
        "unit_cost": pl.Float64,
        "origin": pl.String,
    }
    totals = np.zeros(pos.height)
    if is_empty(receipts):
        return pl.DataFrame(schema=schema), totals
    assert receipts is not None
    stocked = pl.lit(pos["on_hand"] > 0)  # by _k: only SKU-locations with stock need layers
    days = (pl.col("received") - pl.col("received").min()).dt.total_days()
    # File order is kept through the join and the stable sort: on one day, later rows are newer.
    matched = (
        with_location(receipts)
        .lazy()
        .select(
            "sku",
            "location",
            pl.col("date").cast(pl.Date).alias("received"),
            pl.col("qty").cast(pl.Float64).alias("qty"),
            col_or(receipts, "unit_cost", pl.Float64).alias("receipt_cost"),
        )
        .filter((pl.col("received") <= as_of) & (pl.col("qty") > 0))
        .pipe(attach_keys, pos.select("_k", *KEY), keep_order=True)
        .filter(stocked.gather(pl.col("_k")))
        .select(
            "_k",
            (pl.col("_k").cast(pl.Int64) * _KEY_STRIDE + days + 1).alias("_order"),
            "received",
            "qty",
            "receipt_cost",
        )
        .sort("_order", maintain_order=True)
        .collect()
    )
    if matched.height == 0:
        return pl.DataFrame(schema=schema), totals
    matched = matched.with_columns(  # pos rows are in _k order: gather, no second join
        pos["on_hand"].gather(matched["_k"]).alias("on_hand"),
        pos["position_cost"].gather(matched["_k"]).alias("position_cost"),
    )
    matched = suffix_sum_within(matched, "qty", "_k", "_from_here")
    run_start = (pl.col("_k") != pl.col("_k").shift(1)).fill_null(True)
    firsts = matched.filter(run_start)
    totals[firsts["_k"].to_numpy()] = firsts["_from_here"].to_numpy()
    # Walking back from the newest: newer receipts of the key cover (_from_here − qty) units.
    newer = pl.col("_from_here") - pl.col("qty")
    layers = matched.filter(newer < pl.col("on_hand") - _noise()).select(
        "_k",
        "_order",
        "received",
        pl.min_horizontal("qty", pl.col("on_hand") - newer).alias("units"),
        pl.coalesce("receipt_cost", "position_cost").alias("unit_cost"),
        pl.lit("receipt").alias("origin"),
    )
    return layers.cast(schema), totals  # type: ignore[arg-type]


def _noise() -> pl.Expr:
    """Float noise of sums of receipts against on_hand [units] (not stock)."""
    return NOISE_RELATIVE * pl.max_horizontal(1.0, pl.col("on_hand").abs())


def finish_layers(layers: pl.DataFrame, keys: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Attach sku/location to ``_k``-keyed layers (kept in their order) and add value and age.

    ``keys`` holds _k = 0 … n−1 (any order) with sku and location.
    """
    names = keys.sort("_k")
    index = layers["_k"]
    out = layers.with_columns(
        names["sku"].gather(index).alias("sku"),
        names["location"].gather(index).alias("location"),
    )
    return out.select(
        "sku",
        "location",
        "received",
        pl.col("units").cast(pl.Float64),
        pl.col("unit_cost").cast(pl.Float64),
        (pl.col("units") * pl.col("unit_cost")).alias("value"),
        (as_date(as_of) - pl.col("received")).dt.total_days().cast(pl.Int64).alias("age_days"),
        pl.col("origin").cast(pl.String),
    ).cast(LAYERS.polars_schema())  # type: ignore[arg-type]
