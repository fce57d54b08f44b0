"""Daily demand series per SKU-location as a dense matrix (SPEC §3.3).

The forecast kernels work on a matrix of series: one row per SKU-location (in the order of the
integer keys of :mod:`deadstock.keys`), one column per day.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from deadstock.keys import KEY_INDEX, attach_keys
from deadstock.metrics.windows import days_before

_OFF = "_off"
_CELL = "_cell"


def daily_matrix(
    sales: pl.DataFrame | pl.LazyFrame,
    keys: pl.DataFrame,
    as_of: date,
    n_days: int,
    dtype: type = np.float64,
) -> np.ndarray:
    """Dense daily demand [units/day], shape (keys.height, n_days), rows in ``keys`` order.

    Column j is the day as_of − (n_days − 1 − j): the last column is the as-of date, the first
    is n_days − 1 days before it. Cell = Σ qty of the sales rows of that SKU-location and day;
    a day whose net quantity is negative (returns exceeding sales) counts as 0. Days without
    sales, and SKU-locations without any, are 0.

    ``sales``: sku, location, date, qty (validated). ``keys``: sku, location and ``_k`` = 0 … n−1,
    as made by :func:`deadstock.keys.sku_location_keys`; sales of other SKU-locations are ignored.
    ``dtype``: float64, or float32 to halve the memory of large matrices (exact for quantities
    below 2²⁴).
    """
    if not (isinstance(n_days, int) and n_days >= 1):
        raise ValueError(f"The 'n_days' parameter must be an int in [1, inf). Got {n_days!r}.")
    if KEY_INDEX not in keys.columns:
        raise ValueError(
            f"The 'keys' parameter must have a '{KEY_INDEX}' column; build it with "
            "deadstock.keys.sku_location_keys."
        )
    n_keys = keys.height
    out: np.ndarray = np.zeros((n_keys, n_days), dtype=dtype)
    if n_keys == 0:
        return out
    rows = (
        sales.lazy()
        .select(
            pl.col("sku"),
            pl.col("location"),
            days_before(as_of).alias(_OFF),
            pl.col("qty").cast(pl.Float64),
        )
        .filter(pl.col(_OFF).is_between(0, n_days - 1))
    )
    cells = (
        attach_keys(rows, keys)
        .group_by(
            (pl.col(KEY_INDEX).cast(pl.Int64) * n_days + (n_days - 1 - pl.col(_OFF))).alias(_CELL)
        )
        .agg(pl.col("qty").sum().clip(lower_bound=0.0))
        .filter(pl.col("qty") > 0)
        .collect(engine="streaming")
    )
    out.reshape(-1)[cells[_CELL].to_numpy()] = cells["qty"].to_numpy()
    return out
