"""FIFO layers from receipts (SPEC §3.1): oracle property test, opening/negative layers, costs."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deadstock.position import fifo_layers, replay_ledger
from deadstock.schema import LAYERS
from test_position_oracle import assert_same_layers, fifo_oracle, layers_by_key

AS_OF = date(2024, 6, 30)
OPENING = date(2023, 1, 1)


def _day(offset: int) -> date:
    return AS_OF + timedelta(days=offset)


def _position(rows: list[tuple[str, str, float, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["sku", "location", "on_hand", "unit_cost"], orient="row")


def test_newest_receipts_make_up_the_stock() -> None:
    position = _position([("a", "main", 12.0, 9.0)])
    receipts = pl.DataFrame(
        {
            "date": [_day(-40), _day(-20), _day(-5), _day(3)],
            "sku": ["a"] * 4,
            "location": ["main"] * 4,
            "qty": [10.0, 8.0, 6.0, 50.0],
            "unit_cost": [1.0, 2.0, None, 4.0],
        }
    )
    layers = fifo_layers(position, receipts, AS_OF, OPENING)
    assert layers.schema == pl.Schema(LAYERS.polars_schema())
    assert layers.select(
        "received", "units", "unit_cost", "value", "age_days", "origin"
    ).rows() == [
        (_day(-20), 6.0, 2.0, 12.0, 20, "receipt"),
        (_day(-5), 6.0, 9.0, 54.0, 5, "receipt"),  # no receipt cost: the position's
    ]


def test_uncovered_stock_is_an_opening_layer_and_negative_stock_a_negative_layer() -> None:
    position = _position(
        [("a", "main", 15.0, 2.0), ("b", "main", -3.0, 4.0), ("c", "main", 0.0, 1.0)]
    )
    receipts = pl.DataFrame({"date": [_day(-2), _day(-1)], "sku": ["a", "b"], "qty": [5.0, 9.0]})
    layers = fifo_layers(position, receipts, AS_OF, OPENING)
    assert layers.select("sku", "received", "units", "unit_cost", "origin").rows() == [
        ("a", OPENING, 10.0, 2.0, "opening"),
        ("a", _day(-2), 5.0, 2.0, "receipt"),
        ("b", AS_OF, -3.0, 4.0, "negative"),
    ]
    assert layers["age_days"].to_list() == [(AS_OF - OPENING).days, 2, 0]


def test_same_day_receipts_later_row_is_newer_and_non_positive_receipts_are_skipped() -> None:
    position = _position([("a", "main", 5.0, None)])
    receipts = pl.DataFrame(
        {
            "date": [_day(-3), _day(-3), _day(-3), _day(-1)],
            "sku": ["a"] * 4,
            "qty": [4.0, 3.0, 2.0, -1.0],
            "unit_cost": [1.0, 2.0, 3.0, 9.0],
        }
    )
    layers = fifo_layers(position, receipts, AS_OF, OPENING)
    assert layers.select("units", "unit_cost").rows() == [(3.0, 2.0), (2.0, 3.0)]


def test_no_position_gives_empty_layers() -> None:
    assert fifo_layers(_position([]), None, AS_OF, OPENING).height == 0


# ---------------------------------------------------------------------------------------------
# Oracle property test: walk back from the newest receipt, one SKU-location at a time.
# ---------------------------------------------------------------------------------------------
KEYS = [("a", "x"), ("a", "y"), ("b", "x")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([1.0, 0.25]),
    st.lists(
        st.tuples(
            st.integers(-4, 40).map(float),
            st.one_of(st.none(), st.integers(1, 9).map(float)),
        ),
        min_size=3,
        max_size=3,
    ),
    st.lists(
        st.tuples(
            st.sampled_from(KEYS),
            st.integers(-60, 5),
            st.integers(-2, 24).map(float),
            st.one_of(st.none(), st.integers(1, 9).map(float)),
        ),
        max_size=20,
    ),
)
def test_layers_equal_plain_walk(
    scale: float,
    positions: list[tuple[float, float | None]],
    receipts: list[tuple[Any, int, float, float | None]],
) -> None:
    """Whole units (the exact integer path) and quarters (the per-group path)."""
    positions = [(q * scale, c) for q, c in positions]
    receipts = [(k, d, q * scale, c) for k, d, q, c in receipts]
    position = _position([(k[0], k[1], q, c) for k, (q, c) in zip(KEYS, positions, strict=True)])
    receipt_frame = pl.DataFrame(
        [
            {"date": _day(d), "sku": k[0], "location": k[1], "qty": q, "unit_cost": c}
            for k, d, q, c in receipts
        ],
        schema={
            "date": pl.Date,
            "sku": pl.String,
            "location": pl.String,
            "qty": pl.Float64,
            "unit_cost": pl.Float64,
        },
    )
    layers = fifo_layers(position, receipt_frame, AS_OF, OPENING)
    want = {}
    for key, (on_hand, cost) in zip(KEYS, positions, strict=True):
        mine = [(_day(d), q, c) for k, d, q, c in receipts if k == key]
        want[key] = fifo_oracle(on_hand, mine, OPENING, AS_OF, cost)
    assert_same_layers(layers_by_key(layers), want)
    sums = layers.group_by("sku", "location").agg(pl.col("units").sum())
    for sku, location, units in sums.iter_rows():
        on_hand = dict(zip(KEYS, positions, strict=True))[(sku, location)][0]
        assert units == pytest.approx(on_hand)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(-30, 0), st.integers(1, 20), st.booleans()), max_size=15))
def test_layers_from_receipts_equal_ledger_replay_when_stock_never_goes_negative(
    moves: list[tuple[int, int, bool]],
) -> None:
    """Receipts + sales that never overdraw: FIFO from receipts = FIFO ledger replay."""
    moves = sorted(moves, key=lambda m: m[0])
    balance, rows = 0.0, []
    for day, qty, is_sale in moves:
        if is_sale and qty > balance:
            continue
        balance += -qty if is_sale else qty
        rows.append(
            {
                "date": _day(day),
                "sku": "a",
                "qty_change": -qty if is_sale else qty,
                "value_change": None if is_sale else 2.0 * qty,
            }
        )
    ledger = pl.DataFrame(
        rows,
        schema={
            "date": pl.Date,
            "sku": pl.String,
            "qty_change": pl.Float64,
            "value_change": pl.Float64,
        },
    )
    receipts = ledger.filter(pl.col("qty_change") > 0).select(
        "date", "sku", pl.col("qty_change").alias("qty"), pl.lit(2.0).alias("unit_cost")
    )
    from_receipts = fifo_layers(_position([("a", "main", balance, None)]), receipts, AS_OF, OPENING)
    from_ledger = replay_ledger(ledger, AS_OF).layers
    assert_same_layers(layers_by_key(from_receipts), layers_by_key(from_ledger))


def test_decimal_receipts_covering_the_stock_leave_no_noise_layer() -> None:
    position = _position([("a", "main", 0.1 + 0.2, 1.0), ("b", "main", 0.3, 1.0)])
    receipts = pl.DataFrame(
        {"date": [_day(-2)] * 4, "sku": ["a", "a", "b", "b"], "qty": [0.1, 0.2, 0.1, 0.2]}
    )
    layers = fifo_layers(position, receipts, AS_OF, OPENING)
    assert layers["origin"].to_list() == ["receipt"] * 4
    sums = layers.group_by("sku").agg(pl.col("units").sum()).sort("sku")["units"].to_list()
    assert sums == pytest.approx([0.3, 0.3], abs=1e-15)
