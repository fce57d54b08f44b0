"""Stock history (SPEC §3.1, §3.2 in-stock days): from receipts and sales, and from a ledger."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deadstock.position import (
    on_hand_at,
    replay_ledger,
    stock_history,
    stock_history_from_ledger,
)
from test_position_oracle import LEDGER_SCHEMA, ledger_oracle

AS_OF = date(2024, 3, 31)


def _day(offset: int) -> date:
    return AS_OF + timedelta(days=offset)


def test_history_rows_opening_level_and_moving_days() -> None:
    position = pl.DataFrame(
        {"sku": ["a", "b"], "location": ["main", "main"], "on_hand": [5.0, 3.0]}
    )
    receipts = pl.DataFrame({"date": [_day(-11), _day(-3)], "sku": ["a", "a"], "qty": [9.0, 4.0]})
    sales = pl.DataFrame(
        {
            "date": [_day(-3), _day(-3), _day(-1), _day(1)],
            "sku": ["a"] * 4,
            "qty": [1.0, 1.0, 2.0, 7.0],
        }
    )
    history = stock_history(position, receipts, sales, AS_OF, lookback_days=10)
    assert history.columns == ["sku", "location", "date", "closing_units"]
    # start = as_of − 9: the opening row is dated the day before it.
    assert history.rows() == [
        ("a", "main", _day(-10), 5.0 - 4.0 + 2.0 + 2.0),
        ("a", "main", _day(-3), 5.0 + 2.0),
        ("a", "main", _day(-1), 5.0),
        ("b", "main", _day(-10), 3.0),
    ]


def test_lookback_must_be_positive() -> None:
    position = pl.DataFrame({"sku": ["a"], "location": ["main"], "on_hand": [1.0]})
    with pytest.raises(ValueError, match=r"'lookback_days' parameter must be an int in \[1, inf\)"):
        stock_history(position, None, None, AS_OF, lookback_days=0)


def test_history_from_ledger_includes_reconciliations() -> None:
    ledger = pl.DataFrame(
        [
            (_day(-8), "a", "A", 10.0, "receipt", None, None, None),
            (_day(-5), "a", "A", 0.0, "reconciliation", 4.0, None, None),
            (_day(-5), "a", "A", -1.0, "sale", None, None, None),
            (_day(-2), "a", "A", 3.0, "receipt", None, None, None),
            (_day(-2), "a", "A", -3.0, "sale", None, None, None),
            (_day(2), "a", "A", 50.0, "receipt", None, None, None),
        ],
        schema=LEDGER_SCHEMA,
        orient="row",
    )
    history = stock_history_from_ledger(ledger, AS_OF, lookback_days=7)
    assert history.select("date", "closing_units").rows() == [
        (_day(-7), 10.0),
        (_day(-5), 3.0),
        (_day(-2), 3.0),  # moved, back to the same level
    ]


# ---------------------------------------------------------------------------------------------
# Oracles: the level at the end of each day by definition.
# ---------------------------------------------------------------------------------------------
KEYS = [("a", "x"), ("a", "y"), ("b", "x")]
_move = st.tuples(
    st.sampled_from(KEYS), st.integers(-12, 3), st.integers(-2, 20).map(lambda q: q / 4)
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(-5, 30).map(float), min_size=3, max_size=3),
    st.lists(_move, max_size=20),
    st.lists(_move, max_size=20),
    st.integers(1, 10),
)
def test_history_equals_definition(
    on_hand: list[float], receipts: list[Any], sales: list[Any], lookback: int
) -> None:
    position = pl.DataFrame(
        [(k[0], k[1], q) for k, q in zip(KEYS, on_hand, strict=True)],
        schema=["sku", "location", "on_hand"],
        orient="row",
    )
    schema = {"sku": pl.String, "location": pl.String, "date": pl.Date, "qty": pl.Float64}

    def frame(moves: list[Any]) -> pl.DataFrame:
        return pl.DataFrame(
            [{"sku": k[0], "location": k[1], "date": _day(d), "qty": q} for k, d, q in moves],
            schema=schema,
        )

    history = stock_history(position, frame(receipts), frame(sales), AS_OF, lookback)
    start = AS_OF - timedelta(days=lookback - 1)
    want = []
    for key, level in zip(KEYS, on_hand, strict=True):

        def closing(day: date, key: Any = key, level: float = level) -> float:
            later_in = sum(q for k, d, q in receipts if k == key and day < _day(d) <= AS_OF)
            later_out = sum(q for k, d, q in sales if k == key and day < _day(d) <= AS_OF)
            return level - later_in + later_out

        moved = sorted(
            {
                _day(d)
                for k, d, q in receipts + sales
                if k == key and q != 0 and start <= _day(d) <= AS_OF
            }
        )
        want.append((*key, start - timedelta(days=1), closing(start - timedelta(days=1))))
        want += [(*key, day, closing(day)) for day in moved]
    got = history.rows()
    assert [r[:3] for r in got] == [r[:3] for r in want]
    assert [r[3] for r in got] == pytest.approx([r[3] for r in want])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KEYS),
            st.integers(-9, 1),
            st.sampled_from(["receipt", "sale", "reconciliation", "transfer"]),
            st.integers(1, 12).map(lambda q: q / 2),
        ),
        max_size=14,
    ),
    st.integers(1, 8),
)
def test_history_from_ledger_equals_replayed_balance_each_day(
    rows: list[Any], lookback: int
) -> None:
    ledger = pl.DataFrame(
        [
            {
                "date": _day(d),
                "sku": k[0],
                "location": k[1],
                "qty_change": -q if kind == "sale" else q,
                "voucher_type": kind,
                "qty_after": q if kind == "reconciliation" else None,
                "value_change": None,
                "voucher_id": None,
            }
            for k, d, kind, q in rows
        ],
        schema=LEDGER_SCHEMA,
    )
    if ledger.filter(pl.col("date") <= AS_OF).height == 0:
        return
    history = stock_history_from_ledger(ledger, AS_OF, lookback)
    start = AS_OF - timedelta(days=lookback - 1)
    final = replay_ledger(ledger, AS_OF).balances
    keys = final.select("sku", "location").rows()
    assert sorted(set(history.select("sku", "location").rows())) == keys
    for sku, location, day, level in history.iter_rows():
        _, balances = ledger_oracle(ledger, day)
        assert level == pytest.approx(float(balances.get((sku, location), 0)))
        assert day == start - timedelta(days=1) or any(
            _day(d) == day and (k[0], k[1]) == (sku, location) for k, d, _, _ in rows
        )


# ---------------------------------------------------------------------------------------------
# Real data: M5 daily sales of 280 store-items with receipts derived by a seeded rule.
# ---------------------------------------------------------------------------------------------
def test_history_on_m5_daily_sales_is_consistent(shared_data: Path) -> None:
    """Receipts rule (documented, seeded): every Monday each store-item receives a random
    0–3 × its mean weekly sales, rounded to whole units. Inventory is taken at as_of."""
    sales = _m5_sales(shared_data)
    as_of = sales["date"].max()
    weekly = sales.group_by("sku", "location").agg((pl.col("qty").sum() / 273).alias("weekly"))
    mondays = pl.DataFrame({"date": pl.date_range(date(2011, 1, 31), as_of, "1w", eager=True)})
    receipts = weekly.join(mondays, how="cross").sort("sku", "location", "date")
    rng = np.random.default_rng(7)
    receipts = receipts.with_columns(
        (pl.col("weekly") * pl.Series(rng.uniform(0, 3, receipts.height))).round(0).alias("qty")
    ).filter(pl.col("qty") > 0)
    position = on_hand_at(None, receipts, sales, as_of, date(2011, 1, 28))
    history = stock_history(position, receipts, sales, as_of, lookback_days=365)
    # Independent level: every movement since the first day adds up (the snapshot is empty
    # before the data starts), looked up as of each history date.
    level = (
        pl.concat(
            [
                receipts.select("sku", "location", "date", "qty"),
                sales.select("sku", "location", "date", (-pl.col("qty")).alias("qty")),
            ]
        )
        .group_by("sku", "location", "date")
        .agg(pl.col("qty").sum())
        .sort("date")
        .with_columns(pl.col("qty").cum_sum().over("sku", "location").alias("level"))
    )
    check = history.sort("date").join_asof(
        level, on="date", by=["sku", "location"], check_sortedness=False
    )
    assert history.height > 280 * 100
    assert (check["closing_units"] - check["level"].fill_null(0.0)).abs().max() < 1e-6
    last = history.group_by("sku", "location").agg(pl.col("closing_units").last())
    joined = last.join(position, on=["sku", "location"])
    assert joined.height == position.height == 280
    assert (joined["closing_units"] - joined["on_hand"]).abs().max() < 1e-9


def test_keyed_history_equals_named_history_on_m5(shared_data: Path) -> None:
    """The pipeline's keyed path (sales keyed once for history and metrics) = the public one."""
    from deadstock.keys import sku_location_keys
    from deadstock.metrics import prepare_sales
    from deadstock.position import keyed_stock_history

    sales = _m5_sales(shared_data)
    as_of = sales["date"].max() - timedelta(days=30)  # later sales must be ignored
    rng = np.random.default_rng(3)
    receipts = sales.sample(fraction=0.05, seed=3).with_columns(
        pl.Series("qty", rng.integers(1, 20, int(sales.height * 0.05)).astype(float))
    )
    position = on_hand_at(None, receipts, sales, as_of, date(2011, 1, 28))
    named = stock_history(position, receipts, sales, as_of, lookback_days=200)
    keys = sku_location_keys(position.select("sku", "location"))
    prepared = prepare_sales(sales, keys, as_of, horizon=365)
    keyed = keyed_stock_history(position, receipts, prepared.recent, as_of, lookback_days=200)
    assert keyed.columns == ["_k", "date", "closing_units"]
    resolved = keyed.join(keys.select("_k", "sku", "location"), on="_k").select(named.columns)
    assert named.height > 1000
    assert resolved.sort("sku", "location", "date").equals(named.sort("sku", "location", "date"))


def _m5_sales(shared_data: Path) -> pl.DataFrame:
    """The M5 tiny daily sales as a canonical sales table (days with units sold only)."""
    return (
        pl.read_parquet(shared_data / "m5_tiny_daily" / "sales_daily.parquet")
        .select(
            pl.col("item_id").cast(pl.String).alias("sku"),
            pl.col("store_id").cast(pl.String).alias("location"),
            "date",
            pl.col("units").cast(pl.Float64).alias("qty"),
        )
        .filter(pl.col("qty") > 0)
    )
