"""Urgency of good sellers running out, reorder flags, supplier return windows and alert levels.

SPEC §3.4. Expressions over the classification frame, plus :func:`return_window_days_left`,
which reads the FIFO layers and the suppliers' return terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from deadstock.detect.dead import EXCESS_BANDS


def urgency(cuts: Sequence[float]) -> pl.Expr:
    """Stock-out risk [high|medium|low] from projected_stock_days [days] (SPEC §3.4).

    high < 7 days of stock, medium 7–14, low > 14 (default cuts 7, 14); null when there is no
    forecast demand (nothing to run out of).
    """
    high, medium = cuts
    days = pl.col("projected_stock_days")
    selling = pl.col("forecast_daily").fill_null(0.0) > 0
    return (
        pl.when(~selling | days.is_null() | days.is_infinite())
        .then(pl.lit(None, dtype=pl.String))
        .when(days < high)
        .then(pl.lit("high"))
        .when(days <= medium)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
    )


def recommend_reorder(supply_days: float) -> pl.Expr:
    """A-class SKU-locations with forecast demand and < ``supply_days`` days of stock."""
    days = pl.col("projected_stock_days")
    selling = pl.col("forecast_daily").fill_null(0.0) > 0
    return (pl.col("abc") == "A") & selling & days.is_not_null() & (days < supply_days)


def alert_level(frozen_capital_threshold: float, return_alert_days: int) -> pl.Expr:
    """1 notify (slow mover forming: band slow, or a declining product with stock), 2 act
    (excess: very slow or non-moving, or dead), 3 urgent (dead with frozen_capital ≥ the
    threshold [currency], or a supplier return window for its stock closing within
    ``return_alert_days`` days while the stock is a problem); 0 = no alert. SPEC §3.4."""
    band = pl.col("velocity_band")
    dead = pl.col("is_dead")
    excess = band.is_in(EXCESS_BANDS)
    problem = dead | excess | (band == "slow")
    closing = pl.col("return_window_days_left").fill_null(return_alert_days + 1) <= (
        return_alert_days
    )
    declining = (pl.col("lifecycle_stage") == "decline") & (pl.col("on_hand") > 0)
    costly_dead = dead & (pl.col("frozen_capital") >= frozen_capital_threshold)
    return (
        pl.when(costly_dead | (problem & closing))
        .then(pl.lit(3))
        .when(dead | excess)
        .then(pl.lit(2))
        .when((band == "slow") | declining)
        .then(pl.lit(1))
        .otherwise(pl.lit(0))
        .cast(pl.Int8)
    )


def return_window_days_left(
    layers: pl.DataFrame,
    receipts: pl.DataFrame | None,
    products: pl.DataFrame | None,
    suppliers: pl.DataFrame | None,
) -> pl.DataFrame:
    """Per SKU-location: days until the last open supplier return window of its stock closes.

    A receipt layer (FIFO, positive units) can go back while its age is within the supplier's
    [min_return_days, max_return_days] and the supplier's return_policy is return or destroy
    (SPEC §3.5 return offers). The supplier is the receipt's supplier_id (the first receipt of
    that SKU-location and day), else the product's. days_left = max_return_days − age_days
    [days] for layers whose window is open today (min ≤ age ≤ max); the smallest days_left per
    SKU-location is returned — the window that closes first. Columns: sku, location,
    return_window_days_left (Int64); SKU-locations without an open window are absent.
    """
    schema = {"sku": pl.String, "location": pl.String, "return_window_days_left": pl.Int64}
    needed = {"supplier_id", "return_policy", "max_return_days"}
    if suppliers is None or not needed - {"supplier_id"} <= set(suppliers.columns):
        return pl.DataFrame(schema=schema)
    stock = layers.filter((pl.col("origin") == "receipt") & (pl.col("units") > 0)).select(
        "sku", "location", "received", "age_days"
    )
    parts = []
    if receipts is not None and "supplier_id" in receipts.columns:
        by_receipt = (
            receipts.filter(pl.col("supplier_id").is_not_null())
            .select("sku", "location", pl.col("date").alias("received"), "supplier_id")
            .unique(["sku", "location", "received"], keep="first", maintain_order=True)
        )
        stock = stock.join(by_receipt, on=["sku", "location", "received"], how="left")
        parts.append(pl.col("supplier_id"))
    if products is not None and "supplier_id" in products.columns:
        stock = stock.join(
            products.select("sku", pl.col("supplier_id").alias("product_supplier")),
            on="sku",
            how="left",
        )
        parts.append(pl.col("product_supplier"))
    if not parts:
        return pl.DataFrame(schema=schema)
    terms = suppliers.select(
        "supplier_id",
        pl.col("return_policy"),
        (pl.col("min_return_days") if "min_return_days" in suppliers.columns else pl.lit(0)).alias(
            "min_days"
        ),
        pl.col("max_return_days").alias("max_days"),
    )
    age = pl.col("age_days")
    return (
        stock.select("sku", "location", "age_days", pl.coalesce(parts).alias("supplier_id"))
        .join(terms, on="supplier_id", how="inner")
        .filter(
            pl.col("return_policy").is_in(["return", "destroy"])
            & (age >= pl.col("min_days").fill_null(0))
            & (age <= pl.col("max_days"))
        )
        .group_by("sku", "location")
        .agg((pl.col("max_days") - age).min().cast(pl.Int64).alias("return_window_days_left"))
    )
