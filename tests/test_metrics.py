"""Unit tests of the movement metrics (SPEC §3.2): one test per definition edge.

Every expected figure is worked out by hand in the test from the definitions; the property tests
in ``test_metrics_properties.py`` compare whole tables with a plain-Python oracle.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from deadstock.config import Config
from deadstock.metrics import abc_classes, demand_class, movement_metrics, xyz_class
from deadstock.schema import SKU_METRICS

AS_OF = date(2025, 6, 30)
SALES_SCHEMA = {
    "date": pl.Date,
    "sku": pl.String,
    "location": pl.String,
    "qty": pl.Float64,
    "revenue": pl.Float64,
    "price": pl.Float64,
}
POSITION_SCHEMA = {
    "sku": pl.String,
    "location": pl.String,
    "on_hand": pl.Float64,
    "unit_cost": pl.Float64,
    "price": pl.Float64,
}
HISTORY_SCHEMA = {
    "sku": pl.String,
    "location": pl.String,
    "date": pl.Date,
    "closing_units": pl.Float64,
}
AGE_SCHEMA = {
    "sku": pl.String,
    "location": pl.String,
    "stock_value": pl.Float64,
    "positive_units": pl.Float64,
    "avg_age_days": pl.Float64,
    "age_0_30_units": pl.Float64,
    "age_0_30_value": pl.Float64,
    "age_31_plus_units": pl.Float64,
    "age_31_plus_value": pl.Float64,
}


def day(offset: int) -> date:
    """The day ``offset`` days before the as-of date."""
    return AS_OF - timedelta(days=offset)


def sale(
    offset: int,
    qty: float,
    sku: str = "A",
    *,
    revenue: float | None = None,
    price: float | None = None,
    location: str = "main",
) -> dict[str, Any]:
    return {
        "date": day(offset),
        "sku": sku,
        "location": location,
        "qty": qty,
        "revenue": revenue,
        "price": price,
    }


def stock(offset: int, closing: float, sku: str = "A", location: str = "main") -> dict[str, Any]:
    return {"sku": sku, "location": location, "date": day(offset), "closing_units": closing}


def position_row(
    sku: str = "A",
    on_hand: float = 10.0,
    unit_cost: float | None = 2.0,
    price: float | None = 5.0,
    location: str = "main",
) -> dict[str, Any]:
    return {
        "sku": sku,
        "location": location,
        "on_hand": on_hand,
        "unit_cost": unit_cost,
        "price": price,
    }


def run(
    sales: list[dict[str, Any]],
    position: list[dict[str, Any]] | None = None,
    history: list[dict[str, Any]] | None = None,
    age: list[dict[str, Any]] | None = None,
    products: pl.DataFrame | None = None,
    sales_columns: tuple[str, ...] = ("revenue", "price"),
    **settings: Any,
) -> pl.DataFrame:
    schema = {
        c: t
        for c, t in SALES_SCHEMA.items()
        if c in {"date", "sku", "location", "qty", *sales_columns}
    }
    sales_frame = pl.DataFrame(
        [{c: r[c] for c in schema} for r in sales], schema=schema, orient="row"
    )
    return movement_metrics(
        sales_frame,
        pl.DataFrame(position or [position_row()], schema=POSITION_SCHEMA, orient="row"),
        pl.DataFrame(history or [], schema=HISTORY_SCHEMA, orient="row"),
        pl.DataFrame(age or [], schema=AGE_SCHEMA, orient="row"),
        products,
        AS_OF,
        Config().with_values(**settings),
    )


def one(frame: pl.DataFrame, sku: str = "A") -> dict[str, Any]:
    return frame.filter(pl.col("sku") == sku).row(0, named=True)


# ------------------------------------------------------------------------------------------------
# Windows
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("days", [7, 30, 90, 365])
def test_window_includes_as_of_and_its_first_day_and_excludes_the_day_before(days: int) -> None:
    m = one(run([sale(0, 1.0), sale(days - 1, 10.0), sale(days, 100.0), sale(-1, 1000.0)]))
    assert m[f"units_{days}d"] == 11.0
    assert m[f"revenue_{days}d"] == 55.0  # 11 units × position price 5


def test_revenue_of_a_row_falls_back_from_revenue_to_row_price_to_sku_price() -> None:
    m = one(run([sale(0, 2.0, revenue=7.0), sale(1, 2.0, price=1.5), sale(2, 2.0)]))
    assert m["revenue_7d"] == 7.0 + 2.0 * 1.5 + 2.0 * 5.0


def test_price_falls_back_to_products_then_to_the_last_realised_price() -> None:
    products = pl.DataFrame({"sku": ["A", "B"], "price": [4.0, None], "unit_cost": [1.0, None]})
    position = [
        position_row("A", price=None, unit_cost=None),
        position_row("B", price=None, unit_cost=None),
    ]
    sales = [
        sale(0, 1.0, "A"),
        sale(0, 1.0, "B"),  # unpriced rows
        sale(3, 2.0, "B", revenue=9.0),
        sale(3, 1.0, "B", price=6.0),  # last priced day of B
        sale(10, 1.0, "B", revenue=100.0),  # an older priced sale does not count
    ]
    out = run(sales, position, products=products)
    assert one(out, "A")["price"] == 4.0 and one(out, "A")["unit_cost"] == 1.0
    b = one(out, "B")
    assert b["price"] == pytest.approx((9.0 + 6.0) / 3.0)
    assert b["revenue_7d"] == pytest.approx(1.0 * 5.0 + 9.0 + 6.0)
    assert b["unit_cost"] is None and b["cogs_365d"] is None and b["gross_margin"] is None


def test_unit_cost_falls_back_to_the_fifo_layers_and_stock_value_comes_from_age() -> None:
    age = [
        {
            "sku": "A",
            "location": "main",
            "stock_value": 30.0,
            "positive_units": 12.0,
            "avg_age_days": 20.0,
            "age_0_30_units": 12.0,
            "age_0_30_value": 30.0,
            "age_31_plus_units": 0.0,
            "age_31_plus_value": 0.0,
        }
    ]
    m = one(run([sale(0, 4.0)], [position_row(unit_cost=None)], age=age))
    assert m["unit_cost"] == 2.5
    assert m["stock_value"] == 30.0 and m["avg_age_days"] == 20.0
    assert m["cogs_365d"] == 10.0


def test_last_sale_ignores_returns_and_rows_after_as_of() -> None:
    m = one(run([sale(400, 1.0), sale(5, -1.0), sale(-2, 3.0)]))
    assert m["last_sale_date"] == day(400) and m["days_since_last_sale"] == 400
    assert m["units_7d"] == -1.0


def test_sales_of_other_sku_locations_are_ignored() -> None:
    out = run([sale(0, 1.0), sale(0, 5.0, "A", location="north"), sale(0, 7.0, "Z")])
    assert out.height == 1 and one(out)["units_7d"] == 1.0


def test_a_sku_without_sales() -> None:
    m = one(run([], [position_row(on_hand=4.0)]))
    assert m["units_365d"] == 0.0 and m["revenue_365d"] == 0.0
    assert m["last_sale_date"] is None and m["days_since_last_sale"] is None
    assert m["avg_daily_sales"] == 0.0 and m["days_of_supply"] is None
    assert m["sell_through"] == 0.0 and m["turnover"] == 0.0
    assert m["weekly_cv"] is None and m["xyz"] == "Z"
    assert m["adi"] is None and m["cv2"] is None and m["demand_class"] == "none"
    assert m["abc"] == "C"


# ------------------------------------------------------------------------------------------------
# In-stock days, average daily sales, average inventory
# ------------------------------------------------------------------------------------------------
def test_without_stock_history_every_day_is_in_stock() -> None:
    m = one(run([sale(0, 9.0)], avg_sales_window_days=30))
    assert m["in_stock_days"] == 30 and m["avg_daily_sales"] == pytest.approx(0.3)


def test_in_stock_days_count_stocked_days_and_sale_days_without_stock() -> None:
    # W = 10: days 9…0. Level 0 from before the window, 4 from day 6, 0 from day 3 (sold out),
    # a sale on day 3 (stock-out day) and on day 1 (no stock: a data gap) count as in stock.
    history = [stock(10, 0.0), stock(6, 4.0), stock(3, 0.0)]
    m = one(run([sale(3, 4.0), sale(1, 1.0)], history=history, avg_sales_window_days=10))
    assert m["in_stock_days"] == 3 + 1 + 1  # days 6, 5, 4 stocked; days 3 and 1 sold
    assert m["avg_daily_sales"] == pytest.approx(5.0 / 5)
    assert m["days_of_supply"] == pytest.approx(10.0 / 1.0)


def test_a_sale_day_netted_to_zero_by_a_return_is_not_in_stock() -> None:
    history = [stock(10, 0.0)]
    m = one(run([sale(2, 2.0), sale(2, -2.0)], history=history, avg_sales_window_days=10))
    assert m["in_stock_days"] == 0 and m["avg_daily_sales"] == 0.0


def test_stock_level_before_the_first_history_row_is_zero() -> None:
    m = one(run([], history=[stock(4, 2.0)], avg_sales_window_days=10, turnover_window_days=10))
    assert m["in_stock_days"] == 5
    assert m["avg_inventory_value"] == pytest.approx(5 * 2.0 / 10 * 2.0)


def test_a_sale_before_the_first_history_row_is_a_day_without_stock() -> None:
    # B's history starts on day 3; its sale on day 6 meets no stock (and not A's stock).
    history = [stock(10, 5.0, "A"), stock(3, 2.0, "B")]
    position = [position_row("A"), position_row("B")]
    out = run([sale(6, 1.0, "B")], position, history=history, avg_sales_window_days=10)
    assert one(out, "A")["in_stock_days"] == 10
    assert one(out, "B")["in_stock_days"] == 4 + 1  # days 3…0 stocked, day 6 sold


def test_history_after_as_of_and_of_other_skus_is_ignored() -> None:
    history = [stock(10, 3.0), stock(-1, 0.0), stock(10, 0.0, "Z")]
    m = one(run([], history=history, avg_sales_window_days=10, turnover_window_days=10))
    assert m["in_stock_days"] == 10 and m["avg_inventory_value"] == pytest.approx(3.0 * 2.0)


def test_average_inventory_is_time_weighted_and_counts_negative_stock_as_zero() -> None:
    # T = 10: level 5 on days 9…6 (4 days), −2 on days 5…3 (3 days), 1 on days 2…0 (3 days).
    history = [stock(10, 5.0), stock(5, -2.0), stock(2, 1.0)]
    m = one(run([sale(0, 3.0, revenue=20.0)], history=history, turnover_window_days=10))
    avg_value = (4 * 5.0 + 3 * 0.0 + 3 * 1.0) / 10 * 2.0
    assert m["avg_inventory_value"] == pytest.approx(avg_value)
    assert m["cogs_365d"] == 6.0 and m["gross_margin"] == 14.0
    assert m["turnover"] == pytest.approx(6.0 / avg_value)
    assert m["gmroi"] == pytest.approx(14.0 / avg_value)


def test_without_history_average_inventory_is_the_positive_on_hand() -> None:
    out = run(
        [sale(0, 1.0, "A"), sale(0, 1.0, "B")],
        [position_row("A", on_hand=4.0), position_row("B", on_hand=-3.0)],
    )
    assert one(out, "A")["avg_inventory_value"] == 8.0
    assert one(out, "B")["avg_inventory_value"] == 0.0 and one(out, "B")["turnover"] is None


def test_sell_through_uses_its_own_window_and_is_null_without_denominator() -> None:
    out = run(
        [sale(0, 3.0, "A"), sale(20, 50.0, "A"), sale(0, 2.0, "B")],
        [position_row("A", on_hand=1.0), position_row("B", on_hand=-2.0)],
        sell_through_window_days=10,
    )
    assert one(out, "A")["sell_through"] == pytest.approx(3.0 / 4.0)
    assert one(out, "B")["sell_through"] is None


# ------------------------------------------------------------------------------------------------
# ABC, XYZ, demand class
# ------------------------------------------------------------------------------------------------
def test_abc_cut_is_strict_and_ties_rank_by_sku_then_location() -> None:
    frame = pl.DataFrame(
        {
            "sku": ["d", "c", "b", "a", "e", "f"],
            "location": ["x"] * 6,
            "basis": [4.0, 3.0, 3.0, 10.0, 0.0, -1.0],
        }
    )
    # Ranked: a 10, b 3, c 3, d 4 → a 10, d 4, b 3, c 3; total 20.
    # share before: a 0, d 0.5, b 0.7, c 0.85 → A, A, A, B; zero and negative → C.
    got = dict(
        zip(
            frame["sku"], abc_classes(frame, "basis", ["sku", "location"], (0.8, 0.95)), strict=True
        )
    )
    assert got == {"a": "A", "d": "A", "b": "A", "c": "B", "e": "C", "f": "C"}
    # share before exactly at the cut is not below it: c starts at 0.85 → C with cuts 0.7/0.85
    got = dict(
        zip(
            frame["sku"], abc_classes(frame, "basis", ["sku", "location"], (0.7, 0.85)), strict=True
        )
    )
    assert got["b"] == "B" and got["c"] == "C"


def test_abc_by_profit_ranks_gross_margin() -> None:
    sales = [sale(0, 1.0, "A", revenue=10.0), sale(0, 1.0, "B", revenue=6.0)]
    position = [position_row("A", unit_cost=9.5), position_row("B", unit_cost=1.0)]
    by_revenue = run(sales, position, abc_cuts="0.5,0.9")
    by_profit = run(sales, position, abc_basis="profit", abc_cuts="0.5,0.9")
    # revenues 10 and 6 → A leads (share 0), B starts at 10 / 16 = 0.625 → B
    assert one(by_revenue, "A")["abc"] == "A" and one(by_revenue, "B")["abc"] == "B"
    # margins 0.5 and 5 → B leads (share 0), A starts at 5 / 5.5 > 0.9 → C
    assert one(by_profit, "B")["abc"] == "A" and one(by_profit, "A")["abc"] == "C"


@pytest.mark.parametrize(
    ("cv", "expected"),
    [(0.0, "X"), (0.5, "X"), (0.5000001, "Y"), (1.0, "Y"), (1.01, "Z"), (None, "Z")],
)
def test_xyz_cuts_are_inclusive(cv: float | None, expected: str) -> None:
    frame = pl.DataFrame({"cv": [cv]}, schema={"cv": pl.Float64})
    assert frame.select(xyz_class(pl.col("cv"), (0.5, 1.0))).item() == expected


@pytest.mark.parametrize(
    ("adi", "cv2", "expected"),
    [
        (1.0, 0.0, "smooth"),
        (1.3199, 0.4899, "smooth"),
        (1.32, 0.0, "intermittent"),
        (1.0, 0.49, "erratic"),
        (1.32, 0.49, "lumpy"),
        (None, None, "none"),
    ],
)
def test_demand_class_corners(adi: float | None, cv2: float | None, expected: str) -> None:
    frame = pl.DataFrame(
        {"adi": [adi], "cv2": [cv2]}, schema={"adi": pl.Float64, "cv2": pl.Float64}
    )
    got = frame.select(demand_class(pl.col("adi"), pl.col("cv2"), 1.32, 0.49)).item()
    assert got == expected


def test_weekly_demand_weeks_end_on_as_of_and_clip_net_returns() -> None:
    # 4 weeks: week 0 = days 0…6, week 1 = 7…13, week 2 = 14…20, week 3 = 21…27.
    sales = [
        sale(0, 1.0),
        sale(6, 2.0),
        sale(7, 1.0),
        sale(13, 2.0),
        sale(14, -5.0),
        sale(28, 100.0),
    ]
    m = one(run(sales, demand_weeks=4))
    q = [3.0, 3.0, 0.0, 0.0]  # week 2 nets −5 → 0; day 28 is outside the 4 weeks
    mean = sum(q) / 4
    std = (sum((v - mean) ** 2 for v in q) / 4) ** 0.5
    assert m["weekly_cv"] == pytest.approx(std / mean)
    assert m["adi"] == 2.0 and m["cv2"] == 0.0
    assert m["xyz"] == "Y" and m["demand_class"] == "intermittent"


def test_demand_class_from_sales_at_the_exact_cuts() -> None:
    # 4 weeks with demand 1, 3, 1, 3: adi = 1, cv2 = (1/2)² = 0.25 → at the cut 0.25 → erratic
    sales = [sale(0, 1.0), sale(7, 3.0), sale(14, 1.0), sale(21, 3.0)]
    m = one(run(sales, demand_weeks=4, cv2_cut=0.25))
    assert m["adi"] == 1.0 and m["cv2"] == 0.25 and m["demand_class"] == "erratic"
    assert m["weekly_cv"] == 0.5 and m["xyz"] == "X"
    # 33 weeks, 25 with demand: adi = 1.32 exactly → not below the cut → intermittent
    sales = [sale(7 * k, 2.0) for k in range(25)]
    m = one(run(sales, demand_weeks=33))
    assert m["adi"] == 1.32 and m["cv2"] == 0.0 and m["demand_class"] == "intermittent"


# ------------------------------------------------------------------------------------------------
# Table shape
# ------------------------------------------------------------------------------------------------
def test_columns_order_age_buckets_and_row_order() -> None:
    age = [
        {
            "sku": "B",
            "location": "main",
            "stock_value": 6.0,
            "positive_units": 3.0,
            "avg_age_days": 45.0,
            "age_0_30_units": 1.0,
            "age_0_30_value": 2.0,
            "age_31_plus_units": 2.0,
            "age_31_plus_value": 4.0,
        }
    ]
    products = pl.DataFrame({"sku": ["A"], "category": ["toys"]})
    out = run(
        [sale(0, 1.0, "B")], [position_row("B"), position_row("A")], age=age, products=products
    )
    assert out.columns == [
        *SKU_METRICS.names,
        "age_0_30_units",
        "age_0_30_value",
        "age_31_plus_units",
        "age_31_plus_value",
    ]
    assert dict(out.schema) == {
        **SKU_METRICS.polars_schema(),
        **{c: pl.Float64 for c in out.columns[len(SKU_METRICS.names) :]},
    }
    assert out["sku"].to_list() == ["A", "B"]
    assert out["category"].to_list() == ["toys", None]
    assert one(out, "A")["age_31_plus_value"] == 0.0 and one(out, "A")["stock_value"] == 0.0
    assert one(out, "B")["age_31_plus_value"] == 4.0 and one(out, "B")["avg_age_days"] == 45.0


def test_lazy_sales_and_sales_without_optional_columns() -> None:
    eager = run([sale(0, 2.0), sale(40, 1.0)], sales_columns=())
    lazy = movement_metrics(
        pl.LazyFrame(
            {
                "date": [day(0), day(40)],
                "sku": ["A", "A"],
                "location": ["main"] * 2,
                "qty": [2.0, 1.0],
            }
        ),
        pl.DataFrame([position_row()], schema=POSITION_SCHEMA, orient="row"),
        pl.DataFrame(schema=HISTORY_SCHEMA),
        pl.DataFrame(schema=AGE_SCHEMA),
        None,
        AS_OF,
        Config(),
    )
    assert eager.equals(lazy)
    assert one(eager)["revenue_90d"] == 15.0


def test_a_repeated_position_key_is_refused() -> None:
    with pytest.raises(ValueError, match="once"):
        run([], [position_row(), position_row()])


def test_empty_position_gives_an_empty_table_with_every_column() -> None:
    out = movement_metrics(
        pl.DataFrame([sale(0, 1.0)], schema=SALES_SCHEMA, orient="row"),
        pl.DataFrame(schema=POSITION_SCHEMA),
        pl.DataFrame(schema=HISTORY_SCHEMA),
        pl.DataFrame(schema=AGE_SCHEMA),
        None,
        AS_OF,
        Config(),
    )
    assert out.height == 0
    assert out.columns == [
        *SKU_METRICS.names,
        "age_0_30_units",
        "age_0_30_value",
        "age_31_plus_units",
        "age_31_plus_value",
    ]
