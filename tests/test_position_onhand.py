"""On-hand at as-of (SPEC §3.1): snapshot choice, rolling forward and back, prices and costs."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deadstock.position import on_hand_at

D = date(2024, 6, 10)


def _day(offset: int) -> date:
    return D + timedelta(days=offset)


def test_snapshot_before_as_of_rolls_forward_over_the_half_open_interval() -> None:
    inventory = pl.DataFrame(
        {"sku": ["a"], "location": ["main"], "on_hand": [10.0], "as_of": [_day(-5)]}
    )
    receipts = pl.DataFrame(
        {
            "date": [_day(-5), _day(-2), _day(0), _day(1)],
            "sku": ["a"] * 4,
            "qty": [100.0, 4.0, 3.0, 50.0],
            "location": ["main"] * 4,
        }
    )
    sales = pl.DataFrame(
        {
            "date": [_day(-5), _day(-1), _day(2)],
            "sku": ["a"] * 3,
            "qty": [7.0, 2.0, 9.0],
            "location": ["main"] * 3,
        }
    )
    pos = on_hand_at(inventory, receipts, sales, D, D)
    # Rows on the snapshot day are already in the count; rows after as_of are not yet.
    assert pos["on_hand"].to_list() == [10.0 + 4.0 + 3.0 - 2.0]


def test_snapshot_after_as_of_rolls_back() -> None:
    inventory = pl.DataFrame({"sku": ["a"], "on_hand": [10.0], "as_of": [_day(5)]})
    receipts = pl.DataFrame(
        {
            "date": [_day(0), _day(3), _day(5), _day(6)],
            "sku": ["a"] * 4,
            "qty": [1.0, 4.0, 6.0, 100.0],
        }
    )
    sales = pl.DataFrame(
        {"date": [_day(0), _day(2), _day(7)], "sku": ["a"] * 3, "qty": [3.0, 2.0, 100.0]}
    )
    pos = on_hand_at(inventory, receipts, sales, D, D)
    assert pos["on_hand"].to_list() == [10.0 - 4.0 - 6.0 + 2.0]
    assert pos["location"].to_list() == ["main"]


def test_latest_snapshot_on_or_before_as_of_wins_else_earliest_after() -> None:
    inventory = pl.DataFrame(
        {
            "sku": ["a", "a", "a", "b", "b"],
            "on_hand": [1.0, 2.0, 3.0, 7.0, 8.0],
            "as_of": [_day(-9), _day(-3), _day(4), _day(9), _day(2)],
        }
    )
    pos = on_hand_at(inventory, None, None, D, D)
    assert dict(zip(pos["sku"], pos["on_hand"], strict=True)) == {"a": 2.0, "b": 8.0}


def test_rows_without_a_date_use_snapshot_date() -> None:
    inventory = pl.DataFrame(
        {"sku": ["a", "b"], "on_hand": [5.0, 5.0], "as_of": [None, _day(-1)]},
        schema_overrides={"as_of": pl.Date},
    )
    receipts = pl.DataFrame({"date": [_day(-2)], "sku": ["a"], "qty": [4.0]})
    # snapshot_date three days back: the receipt two days back is added to a's count.
    pos = on_hand_at(inventory, receipts, None, D, _day(-3))
    assert dict(zip(pos["sku"], pos["on_hand"], strict=True)) == {"a": 9.0, "b": 5.0}


def test_keys_without_inventory_start_from_zero_and_may_go_negative() -> None:
    receipts = pl.DataFrame({"date": [_day(-2)], "sku": ["r"], "qty": [4.0]})
    sales = pl.DataFrame({"date": [_day(-1), _day(3)], "sku": ["s", "late"], "qty": [6.0, 1.0]})
    pos = on_hand_at(None, receipts, sales, D, _day(-10))
    assert pos.select("sku", "on_hand").rows() == [("r", 4.0), ("s", -6.0)]


def test_costs_prices_reserved_and_inbound() -> None:
    inventory = pl.DataFrame(
        {
            "sku": ["a", "b", "c"],
            "location": ["x", "x", "x"],
            "on_hand": [1.0, 1.0, 1.0],
            "unit_cost": [2.0, None, None],
            "price": [9.0, None, None],
            "reserved": [1.0, None, None],
            "inbound": [None, 3.0, None],
        }
    )
    products = pl.DataFrame(
        {"sku": ["a", "b", "c"], "unit_cost": [5.0, 6.0, None], "price": [10.0, 11.0, None]}
    )
    sales = pl.DataFrame(
        {
            "date": [_day(-3), _day(-2), _day(-2), _day(1)],
            "sku": ["c", "c", "c", "c"],
            "location": ["x"] * 4,
            "qty": [2.0, 4.0, -1.0, 1.0],
            "revenue": [8.0, 10.0, -3.0, 100.0],
        }
    )
    pos = on_hand_at(inventory, None, sales, D, D, products=products)
    assert pos.columns == [
        "sku",
        "location",
        "on_hand",
        "unit_cost",
        "price",
        "reserved",
        "inbound",
    ]
    assert pos.select("unit_cost", "price", "reserved", "inbound").rows() == [
        (2.0, 9.0, 1.0, 0.0),
        (6.0, 11.0, 0.0, 3.0),
        (None, 2.5, 0.0, 0.0),  # last sale with qty > 0 on or before as_of: 10 / 4
    ]


def test_empty_inputs_give_an_empty_position() -> None:
    pos = on_hand_at(None, None, None, D, D)
    assert pos.height == 0
    assert pos.schema["on_hand"] == pl.Float64


# ---------------------------------------------------------------------------------------------
# Oracle: a plain loop over the rows.
# ---------------------------------------------------------------------------------------------
def _oracle(
    inventory: list[dict[str, Any]],
    receipts: list[dict[str, Any]],
    sales: list[dict[str, Any]],
    as_of: date,
    snapshot_date: date,
) -> dict[Any, float]:
    keys = {(r["sku"], r["location"]) for r in inventory}
    keys |= {(r["sku"], r["location"]) for r in receipts + sales if r["date"] <= as_of}
    out = {}
    for key in keys:
        rows = [(i, r) for i, r in enumerate(inventory) if (r["sku"], r["location"]) == key]
        snap, on_hand = snapshot_date, 0.0
        if rows:

            def rank(item: tuple[int, dict[str, Any]]) -> tuple[int, int, int]:
                i, r = item
                day = r["as_of"] or snapshot_date
                after = day > as_of
                return (
                    0 if not after else 1,
                    -day.toordinal() if not after else day.toordinal(),
                    -i,
                )

            _, best = min(rows, key=rank)
            snap, on_hand = best["as_of"] or snapshot_date, best["on_hand"]
        for table, sign in ((receipts, 1.0), (sales, -1.0)):
            for r in table:
                if (r["sku"], r["location"]) != key:
                    continue
                if snap < r["date"] <= as_of:
                    on_hand += sign * r["qty"]
                elif as_of < r["date"] <= snap:
                    on_hand -= sign * r["qty"]
        out[key] = on_hand
    return out


_days = st.integers(-6, 6).map(_day)
_key = {"sku": st.sampled_from(["a", "b", "c"]), "location": st.sampled_from(["x", "y"])}
_inv_row = st.fixed_dictionaries(
    _key | {"on_hand": st.integers(-3, 30).map(float), "as_of": st.one_of(st.none(), _days)}
)
_move_row = st.fixed_dictionaries(
    _key | {"date": _days, "qty": st.integers(-2, 12).map(lambda q: q / 2)}
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_inv_row, max_size=6),
    st.lists(_move_row, max_size=12),
    st.lists(_move_row, max_size=12),
    _days,
)
def test_on_hand_equals_plain_loop(
    inventory: list[dict[str, Any]],
    receipts: list[dict[str, Any]],
    sales: list[dict[str, Any]],
    snapshot_date: date,
) -> None:
    def frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame | None:
        return pl.DataFrame(rows, schema=schema) if rows else None

    move_schema = {"sku": pl.String, "location": pl.String, "date": pl.Date, "qty": pl.Float64}
    pos = on_hand_at(
        frame(
            inventory,
            {"sku": pl.String, "location": pl.String, "on_hand": pl.Float64, "as_of": pl.Date},
        ),
        frame(receipts, move_schema),
        frame(sales, move_schema),
        D,
        snapshot_date,
    )
    want = _oracle(inventory, receipts, sales, D, snapshot_date)
    got = {(s, loc): v for s, loc, v in pos.select("sku", "location", "on_hand").iter_rows()}
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value)
    assert pos.select("sku", "location").rows() == sorted(got)
