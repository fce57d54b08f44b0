"""Age profile of the stock: value, mean age and age buckets per SKU-location (SPEC §3.1)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import polars as pl

from deadstock.position._frames import KEY
from deadstock.schema import age_bucket_names


def age_profile(layers: pl.DataFrame, edges: Sequence[int]) -> pl.DataFrame:
    """Stock value, mean age and age buckets of each SKU-location's positive FIFO layers.

    One row per SKU-location of ``layers`` (schema ``LAYERS``), sorted by sku, location:
    stock_value (Σ value of positive layers) [currency], positive_units [units], avg_age_days
    (unit-weighted mean age of positive layers, null without any) [days], and for each bucket
    name b of ``schema.age_bucket_names(edges)`` the columns ``age_{b}_units`` [units] and
    ``age_{b}_value`` [currency]. A layer of age a falls in the first bucket whose upper edge is
    ≥ a (edges 30,60,90: age 30 → 0_30, 31 → 31_60, 91 and more → 91_plus); negative ages count
    in the first bucket. Negative layers are left out of every column; layer values that are
    null (unknown cost) count as 0 in the value sums.
    """
    edges = [int(e) for e in edges]
    if any(b <= a for a, b in pairwise(edges)):
        raise ValueError(f"The 'edges' parameter must be strictly increasing. Got {edges}.")
    names = age_bucket_names(edges)
    positive = pl.col("units") > 0
    bucket = pl.lit(0, dtype=pl.Int32)
    for edge in edges:  # bucket index = number of edges strictly below the age
        bucket = bucket + (pl.col("age_days") > edge).cast(pl.Int32)
    frame = layers.select(
        pl.col("sku").cast(pl.String),
        pl.col("location").cast(pl.String),
        pl.when(positive).then(pl.col("units")).otherwise(0.0).cast(pl.Float64).alias("units"),
        pl.when(positive)
        .then(pl.col("value").fill_null(0.0))
        .otherwise(0.0)
        .cast(pl.Float64)
        .alias("value"),
        pl.col("age_days").cast(pl.Float64).fill_null(0.0).alias("age"),
        bucket.alias("bucket"),
    )
    units = frame["units"].to_numpy()
    value = frame["value"].to_numpy()
    in_bucket = [frame["bucket"].to_numpy() == i for i in range(len(names))]
    sums: dict[str, np.ndarray] = {
        "stock_value": value,
        "positive_units": units,
        "_unit_days": units * frame["age"].to_numpy(),
    }
    for name, mask in zip(names, in_bucket, strict=True):
        sums[f"age_{name}_units"] = np.where(mask, units, 0.0)
        sums[f"age_{name}_value"] = np.where(mask, value, 0.0)
    profile = _sum_per_key(frame.select(KEY), sums)
    avg_age = (
        pl.when(pl.col("positive_units") > 0)
        .then(pl.col("_unit_days") / pl.col("positive_units"))
        .otherwise(None)
        .alias("avg_age_days")
    )
    bucket_columns = [f"age_{n}_{part}" for n in names for part in ("units", "value")]
    return profile.with_columns(avg_age).select(
        *KEY, "stock_value", "positive_units", "avg_age_days", *bucket_columns
    )


def _sum_per_key(keys: pl.DataFrame, columns: dict[str, np.ndarray]) -> pl.DataFrame:
    """Σ of each column per SKU-location (sorted by sku, location), one pass over key runs.

    Layers hold each key's rows contiguously (``fifo_layers`` and ``replay_ledger`` do), so the
    sums are segment sums (``np.add.reduceat``) over runs, no hashing of the string keys. Runs
    that repeat a key (unsorted input) are added up in a second, small group-by.
    """
    if keys.height == 0:
        return keys.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in columns)
    sku, location = pl.col("sku"), pl.col("location")
    starts_mask = ((sku != sku.shift(1)) | (location != location.shift(1))).fill_null(True)
    in_order = (
        (sku > sku.shift(1)) | ((sku == sku.shift(1)) & (location >= location.shift(1)))
    ).fill_null(True)
    flags = keys.select(starts_mask.alias("start"), in_order.alias("in_order"))
    starts = np.flatnonzero(flags["start"].to_numpy())
    out = keys[starts].with_columns(
        pl.Series(name, np.add.reduceat(values, starts)) for name, values in columns.items()
    )
    if bool(flags["in_order"].all()):
        return out
    return out.group_by(KEY).agg(pl.col(c).sum() for c in columns).sort(KEY)
