"""Integration on real data: the M5 tiny daily set (280 Walmart store-item series, 2011–2016).

M5 holds sales and prices but no stock: ``deadstock.datasets.load_m5_with_stock`` derives receipts
and on-hand by the documented, seeded replenishment rule in its docstring. The run's figures are
checked against independent computations on the raw Parquet file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from deadstock.config import load_config
from deadstock.datasets import load_m5_with_stock, write_dataset
from deadstock.pipeline import run_pipeline


@pytest.fixture(scope="module")
def m5_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tables = load_m5_with_stock(shared_data, seed=7)
    folder = tmp_path_factory.mktemp("m5")
    write_dataset(tables, folder, fmt="parquet")
    config = load_config(None, ["as_of=2016-03-31", "today=2026-11-23"])
    raw = pl.read_parquet(shared_data / "m5_tiny_daily" / "sales_daily.parquet")
    return tables, run_pipeline(folder, config), raw


def test_every_row_accepted_and_every_series_present(m5_run) -> None:  # type: ignore[no-untyped-def]
    _, result, raw = m5_run
    assert result.rejects.height == 0
    assert result.sku_metrics.height == raw.select("item_id", "store_id").unique().height == 280


def test_windowed_units_match_raw_data(m5_run) -> None:  # type: ignore[no-untyped-def]
    _, result, raw = m5_run
    as_of = dt.date(2016, 3, 31)
    for days in (7, 30, 90, 365):
        start = as_of - dt.timedelta(days=days - 1)
        expected = (
            raw.filter(pl.col("date").is_between(start, as_of))
            .group_by(
                pl.col("item_id").cast(pl.String).alias("sku"),
                pl.col("store_id").cast(pl.String).alias("location"),
            )
            .agg(pl.col("units").sum().cast(pl.Float64).alias("expected"))
        )
        got = result.sku_metrics.join(expected, on=["sku", "location"], how="left")
        diff = (got[f"units_{days}d"] - got["expected"].fill_null(0)).abs().max()
        assert diff == 0, f"units_{days}d differs from the raw data by {diff}"


def test_last_sale_matches_raw_data(m5_run) -> None:  # type: ignore[no-untyped-def]
    _, result, raw = m5_run
    last = (
        raw.filter((pl.col("units") > 0) & (pl.col("date") <= dt.date(2016, 3, 31)))
        .group_by(
            pl.col("item_id").cast(pl.String).alias("sku"),
            pl.col("store_id").cast(pl.String).alias("location"),
        )
        .agg(pl.col("date").max().alias("expected"))
    )
    got = result.sku_metrics.join(last, on=["sku", "location"], how="left")
    assert (got["last_sale_date"] == got["expected"]).all()


def test_stock_is_conserved_through_layers_and_buckets(m5_run) -> None:  # type: ignore[no-untyped-def]
    tables, result, _ = m5_run
    as_of = dt.date(2016, 3, 31)
    received = (
        tables["receipts"]
        .filter(pl.col("date") <= as_of)
        .group_by("sku", "location")
        .agg(pl.col("qty").sum().alias("received"))
    )
    sold = (
        tables["sales"]
        .filter(pl.col("date") <= as_of)
        .group_by("sku", "location")
        .agg(pl.col("qty").sum().alias("sold"))
    )
    m = result.sku_metrics.join(received, on=["sku", "location"], how="left").join(
        sold, on=["sku", "location"], how="left"
    )
    expected_on_hand = m["received"].fill_null(0) - m["sold"].fill_null(0)
    assert ((m["on_hand"] - expected_on_hand).abs() < 1e-9).all()
    assert (m["on_hand"] >= 0).all()
    layer_units = result.layers.group_by("sku", "location").agg(pl.col("units").sum())
    joined = m.join(layer_units, on=["sku", "location"], how="left")
    assert ((joined["units"].fill_null(0) - joined["on_hand"]).abs() < 1e-9).all()
    bucket_units = sum(m[c] for c in m.columns if c.startswith("age_") and c.endswith("_units"))
    assert ((bucket_units - m["on_hand"]).abs() < 1e-9).all()
    # FIFO: no layer is older than the oldest receipt still needed; layers are never in the future
    assert (result.layers["received"] <= as_of).all()
    assert (result.layers["age_days"] >= 0).all()


def test_real_data_classes_are_plausible(m5_run) -> None:  # type: ignore[no-untyped-def]
    _, result, _ = m5_run
    m = result.sku_metrics
    classes = set(m["demand_class"].unique().to_list())
    assert {"smooth", "intermittent"} <= classes  # M5 holds both kinds of series
    assert set(m["abc"].unique().to_list()) <= {"A", "B", "C"}
    total = m["revenue_365d"].clip(lower_bound=0).sum()
    a_items = m.filter(pl.col("abc") == "A")["revenue_365d"]
    share_a = a_items.sum() / total
    smallest_a = a_items.min() / total
    assert share_a >= 0.80 and share_a - smallest_a < 0.80  # A closes at the 80 % cut
