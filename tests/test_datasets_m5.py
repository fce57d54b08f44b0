"""Tests of the M5 real-data loader with derived stock (and its receipts kernel)."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deadstock import schema
from deadstock.datasets import load_m5_with_stock
from deadstock.datasets.m5 import M5_DAILY, derive_receipts
from deadstock.errors import InputError

KEY = ["sku", "location"]


@pytest.fixture(scope="module")
def m5(shared_data: Path) -> dict[str, pl.DataFrame]:
    return load_m5_with_stock(shared_data, seed=0)


@pytest.fixture(scope="module")
def raw(shared_data: Path) -> pl.DataFrame:
    return pl.read_parquet(shared_data / M5_DAILY).with_columns(
        pl.col("item_id", "store_id").cast(pl.String)
    )


def test_tables_are_canonical(m5: dict[str, pl.DataFrame]) -> None:
    assert set(m5) == {"products", "sales", "receipts", "inventory", "prices"}
    for name, frame in m5.items():
        spec = schema.INPUT_TABLES[name]
        assert set(spec.required) <= set(frame.columns), name
        for column, dtype in frame.schema.items():
            assert dtype == spec.column(column).dtype, (name, column)
    assert m5["products"]["sku"].is_unique().all()
    assert m5["inventory"].select(KEY).is_duplicated().sum() == 0
    assert m5["products"].height == 28 and m5["inventory"].height == 280


def test_sales_are_the_real_sales(m5: dict[str, pl.DataFrame], raw: pl.DataFrame) -> None:
    sales = m5["sales"]
    assert (sales["qty"] > 0).all()
    assert sales["qty"].sum() == raw["units"].sum()
    assert sales.height == (raw["units"] > 0).sum()
    assert ((sales["revenue"] - sales["qty"] * sales["price"]).abs() < 0.006).all()
    assert sales["date"].min() >= date(2011, 1, 29) and sales["date"].max() <= date(2016, 4, 24)
    one = raw.filter(pl.col("item_id") == "FOODS_1_046", pl.col("store_id") == "CA_1")
    mine = sales.filter(pl.col("sku") == "FOODS_1_046", pl.col("location") == "CA_1")
    assert mine["qty"].sum() == one["units"].sum()


def test_products_price_and_cost(m5: dict[str, pl.DataFrame], raw: pl.DataFrame) -> None:
    products = m5["products"]
    assert ((products["unit_cost"] - 0.7 * products["price"]).abs() <= 0.005 + 1e-9).all()
    last = (
        raw.filter(pl.col("sell_price").is_not_null())
        .sort("date", "store_id")
        .group_by("item_id")
        .agg(pl.col("sell_price").last().cast(pl.Float64).round(2))
    )
    joined = products.join(last, left_on="sku", right_on="item_id")
    assert (joined["price"] == joined["sell_price"]).all()
    assert set(products["category"].unique()) == {"FOODS", "HOBBIES", "HOUSEHOLD"}


def test_on_hand_is_receipts_minus_sales_and_stock_never_negative(
    m5: dict[str, pl.DataFrame],
) -> None:
    received = m5["receipts"].group_by(KEY).agg(received=pl.col("qty").sum())
    sold = m5["sales"].group_by(KEY).agg(sold=pl.col("qty").sum())
    balance = m5["inventory"].join(received, on=KEY, how="left").join(sold, on=KEY, how="left")
    balance = balance.fill_null(0.0)
    assert (balance["received"] - balance["sold"] == balance["on_hand"]).all()
    assert (balance["on_hand"] >= 0).all()
    assert (m5["inventory"]["as_of"] == date(2016, 4, 24)).all()
    moves = pl.concat(
        [
            m5["receipts"].select("date", *KEY, change=pl.col("qty")),
            m5["sales"].select("date", *KEY, change=-pl.col("qty")),
        ]
    )
    daily = moves.group_by("date", *KEY).agg(pl.col("change").sum()).sort(*KEY, "date")
    assert daily.select(pl.col("change").cum_sum().over(KEY).min()).item() >= 0


def test_receipts_follow_the_weekly_rule(m5: dict[str, pl.DataFrame]) -> None:
    receipts = m5["receipts"]
    first_sale_or_price = (
        m5["prices"].group_by(KEY).agg(first=pl.col("date").min())
    )  # every series has a price from its first day on sale
    first_receipt = receipts.group_by(KEY).agg(first_receipt=pl.col("date").min())
    joined = first_receipt.join(first_sale_or_price, on=KEY)
    assert (joined["first_receipt"] == joined["first"]).all()
    offsets = receipts.join(first_receipt, on=KEY).select(
        (pl.col("date") - pl.col("first_receipt")).dt.total_days() % 7
    )
    assert (offsets.to_series() == 0).all()
    assert (receipts["qty"] > 0).all() and (receipts["qty"] == receipts["qty"].round()).all()
    assert (receipts["unit_cost"] > 0).all()


def test_seeded_and_deterministic(shared_data: Path, m5: dict[str, pl.DataFrame]) -> None:
    again = load_m5_with_stock(shared_data, seed=0)
    for name, frame in m5.items():
        assert again[name].equals(frame), name
    other = load_m5_with_stock(shared_data, seed=1)
    assert other["sales"].equals(m5["sales"])
    assert not other["receipts"].equals(m5["receipts"])


def test_missing_folder_is_a_clear_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="m5_tiny_daily"):
        load_m5_with_stock(tmp_path)


def _oracle(units: np.ndarray, start: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain-Python version of the documented weekly rule."""
    n_series, n_days = units.shape
    receipts = np.zeros((n_series, n_days))
    closing = np.zeros(n_series)
    for i in range(n_series):
        stock = 0.0
        day = int(start[i])
        while day < n_days:
            next_week = float(units[i, day : day + 7].sum())
            lo = max(day - 28, int(start[i]))
            trailing = float(units[i, lo:day].sum()) / (day - lo) if day > lo else 0.0
            target = max(k[i] * trailing * 7, next_week)
            receipt = math.ceil(max(0.0, target - stock) - 1e-9)
            receipts[i, day] = receipt
            stock = stock + receipt - next_week
            assert stock >= 0
            day += 7
        closing[i] = stock
    return receipts, closing


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_series=st.integers(1, 4),
    n_days=st.integers(1, 70),
)
def test_receipts_kernel_matches_a_python_oracle(
    data: st.DataObject, n_series: int, n_days: int
) -> None:
    units = data.draw(hnp.arrays(np.float64, (n_series, n_days), elements=st.integers(0, 9)))
    start = np.array(
        data.draw(st.lists(st.integers(0, n_days), min_size=n_series, max_size=n_series))
    )
    for i, s in enumerate(start):
        units[i, :s] = 0.0  # nothing sells before a series starts
    k = np.array(data.draw(st.lists(st.floats(2.0, 4.0), min_size=n_series, max_size=n_series)))
    receipts, closing = derive_receipts(units, start, k)
    want_receipts, want_closing = _oracle(units, start, k)
    np.testing.assert_array_equal(receipts, want_receipts)
    np.testing.assert_allclose(closing, want_closing)
    np.testing.assert_allclose(closing, receipts.sum(axis=1) - units.sum(axis=1))
