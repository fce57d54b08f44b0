"""Classification rules (SPEC §3.3, §3.4): bands, the dead filter criterion by criterion, the ERP
rule, holds, segments, lifecycle, urgency, alerts, frozen capital and the release ratio."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl
import pytest

from deadstock.config import load_config
from deadstock.detect.alerts import return_window_days_left
from deadstock.detect.classify import METRIC_COLUMNS, classify
from deadstock.schema import CLASSIFICATION

AS_OF = date(2025, 6, 30)
CONFIG = load_config()

BASE: dict[str, Any] = {
    "category": "shoes",
    "on_hand": 50.0,
    "unit_cost": 10.0,
    "price": 25.0,
    "stock_value": 500.0,
    "days_since_last_sale": 30,
    "units_90d": 9.0,
    "units_365d": 36.0,
    "avg_daily_sales": 0.1,
    "turnover": 1.0,
    "abc": "C",
    # demand
    "forecast_daily": 0.1,
    "units_180d": 18.0,
    "days_since_first_sale": 700,
    # season
    "week_type_now": 3,
    "off_season": False,
    "upcoming_high_season": False,
    # products
    "image_count": 5,
    "description_chars": 800,
}

DEMAND = ["forecast_daily", "units_180d", "days_since_first_sale", "trend_season_ratio"]
SEASON = ["week_type_now", "off_season", "upcoming_high_season", "weeks_to_high_season"]
PRODUCT = ["image_count", "description_chars", "status", "launch_date", "holding_cost_per_day"]


def run(rows: list[dict[str, Any]], config: Any = CONFIG, **kwargs: Any) -> pl.DataFrame:
    """Classify one SKU-location per row dict (BASE values unless overridden)."""
    full = [{**BASE, "sku": f"s{i:03d}", "location": "main", **row} for i, row in enumerate(rows)]
    frame = pl.DataFrame(full, infer_schema_length=None)

    def pick(names: Sequence[str], key: list[str]) -> pl.DataFrame:
        return frame.select(key + [n for n in names if n in frame.columns])

    metrics = pick(METRIC_COLUMNS, ["sku", "location"]).with_columns(
        pl.col("days_since_last_sale").cast(pl.Int64)
    )
    position = frame.select(
        "sku",
        "location",
        (pl.col("inbound") if "inbound" in frame.columns else pl.lit(0.0))
        .cast(pl.Float64)
        .alias("inbound"),
    )
    products = pick(PRODUCT, ["sku"])
    returns = kwargs.pop(
        "returns",
        pl.DataFrame(
            schema={"sku": pl.String, "location": pl.String, "return_window_days_left": pl.Int64}
        ),
    )
    return classify(
        metrics,
        position,
        products,
        pick(DEMAND, ["sku", "location"]),
        pick(SEASON, ["sku"]),
        returns,
        config,
        AS_OF,
        **kwargs,
    )


def test_columns_follow_the_schema() -> None:
    out = run([{}])
    assert out.columns == list(CLASSIFICATION.names)
    assert out.schema["alert_level"] == pl.Int8


@pytest.mark.parametrize(
    ("rate", "band"),
    [
        (50 / 28.9, "fast"),
        (50 / 29.0, "normal"),
        (50 / 56.9, "normal"),
        (50 / 57.0, "slow"),
        (50 / 84.9, "slow"),
        (50 / 85.0, "very_slow"),
        (50 / 182.9, "very_slow"),
        (50 / 183.5, "non_moving"),
        (0.0, "non_moving"),
    ],
)
def test_velocity_bands_on_projected_stock_days(rate: float, band: str) -> None:
    out = run([{"forecast_daily": rate}])
    assert out["velocity_band"][0] == band


def test_out_of_stock_band_and_inbound_counts_as_stock() -> None:
    out = run([{"on_hand": 0.0, "stock_value": 0.0}, {"on_hand": 0.0, "inbound": 10.0}])
    assert out["velocity_band"].to_list() == ["out_of_stock", "very_slow"]
    assert out["projected_stock_days"][1] == pytest.approx(100.0)


def test_deterministic_excess_and_expected_days() -> None:
    out = run([{"on_hand": 200.0, "forecast_daily": 1.0}, {"forecast_daily": 0.0}])
    assert out["excess_units"][0] == pytest.approx(200 - 84)
    assert out["expected_days_in_stock"][0] == pytest.approx((84 + 200) / 2)
    # No forecast: all the stock is excess, 1,095 days expected, never sells out.
    assert out["excess_units"][1] == pytest.approx(50.0)
    assert out["expected_days_in_stock"][1] == pytest.approx(1095.0)
    assert out["projected_stock_days"][1] is None
    assert out["p_sell_all_84d"][1] == 0.0
    # Poisson: the chance of selling all 200 within 365 days at 1/day is near 1.
    assert out["p_sell_all_365d"][0] > 0.999
    assert out["p_sell_all_84d"][0] < 1e-6


DEAD = {"days_since_last_sale": 40, "forecast_daily": 0.02}


def test_dead_when_all_four_criteria_hold() -> None:
    out = run([DEAD])
    assert out["is_dead"][0]
    assert out["dead_reason"][0] == "no_sale_7d+in_season+above_category_p10+in_stock"


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"days_since_last_sale": 3}, "no_sale_7d"),
        ({"off_season": True, "week_type_now": 0}, "in_season"),
        ({"on_hand": 0.0, "stock_value": 0.0}, "in_stock"),
    ],
)
def test_each_criterion_on_its_own_prevents_dead(change: dict[str, Any], missing: str) -> None:
    out = run([{**DEAD, **change}])
    assert not out["is_dead"][0]
    assert missing not in out["dead_reason"][0].split("+")
    assert len(out["dead_reason"][0].split("+")) == 3


def test_category_percentile_criterion() -> None:
    # 10 SKUs in one category with on-hand 10 … 100: P10 = 19; only 10 falls below it.
    rows = [{**DEAD, "on_hand": float(u)} for u in range(10, 101, 10)]
    out = run(rows)
    assert out["is_dead"].to_list() == [False] + [True] * 9
    assert "above_category_p10" not in out["dead_reason"][0]


def test_never_sold_counts_as_no_sale_and_erp_rule_differs_off_season() -> None:
    out = run(
        [
            {"days_since_last_sale": None, "forecast_daily": 0.0},
            {"days_since_last_sale": 120, "off_season": True, "week_type_now": 0},
            {"days_since_last_sale": 60},
        ]
    )
    assert out["is_dead"].to_list() == [True, False, True]
    assert out["erp_dead"].to_list() == [True, True, False]


def test_dead_entering_high_season_is_held() -> None:
    out = run([{**DEAD, "upcoming_high_season": True}, DEAD])
    assert out["high_season_hold"].to_list() == [True, False]


def test_frozen_capital_only_for_dead_or_excess() -> None:
    out = run(
        [
            {"days_since_last_sale": 2, "forecast_daily": 5.0},  # fast seller
            {"days_since_last_sale": 2, "forecast_daily": 0.1},  # 500 days: non-moving
            {**DEAD, "forecast_daily": 5.0},  # dead by the filter
        ]
    )
    assert out["frozen_capital"].to_list() == [0.0, 500.0, 500.0]


def test_segments_first_match_wins() -> None:
    slow = {"days_since_last_sale": 2, "forecast_daily": 0.2}  # 250 days: non-moving
    out = run(
        [
            {**slow, "image_count": 1},  # A: few images
            {**slow, "price": 300.0},  # A: price far above the category band
            {**slow, "forecast_daily": 0.0, "price": 11.0},  # D: cheap, never sells
            {**slow, "abc": "A", "units_90d": 1.0, "units_365d": 60.0},  # B: revival
            slow,  # C
            {"days_since_last_sale": 2, "forecast_daily": 5.0},  # fast: no segment
        ]
        + [{**slow, "price": p} for p in (20.0, 22.0, 24.0, 26.0, 28.0)]
    )
    assert out["segment"].to_list()[:6] == ["A", "A", "D", "B", "C", None]
    assert out["segment_reason"][0] == "few_images"
    assert out["segment_reason"][1] == "price_above_band"
    assert out["segment_reason"][2].startswith("carry_to_sale")


def test_segment_d_matches_the_thesis_keep_and_liquidate_terms() -> None:
    """Independent evaluation of keep vs liquidate per unit for one SKU (SPEC §3.5)."""
    cfg = CONFIG
    cost, price, days = 10.0, 12.0, 1095
    holding = cost * cfg.holding_cost_rate_yearly / 365
    re = cfg.discount_rate_excess
    keep = sum((holding + cfg.capital_cost_daily * cost) / (1 + re) ** d for d in range(days + 1))
    clear = price / (1 + re) ** days - cfg.liquidation_recovery * price
    out = run([{"forecast_daily": 0.0, "price": price, "days_since_last_sale": 2}])
    assert (out["segment"][0] == "D") == (keep > clear)
    cheap = run([{"forecast_daily": 0.0, "price": 200.0, "days_since_last_sale": 2}])
    assert cheap["segment"][0] == "C"  # an expensive item is worth keeping for its sale


def test_lifecycle_stages() -> None:
    out = run(
        [
            {"status": "discontinued"},
            {"days_since_first_sale": 40},
            {"days_since_last_sale": 200},
            {"units_90d": 2.0, "units_180d": 12.0},  # 2 vs 10: decline
            {"units_90d": 2.0, "units_180d": 12.0, "trend_season_ratio": 0.2},  # off-season
            {"units_90d": 20.0, "units_180d": 30.0},  # 20 vs 10: growth
            {},  # 9 vs 9: maturity
        ]
    )
    assert out["lifecycle_stage"].to_list() == [
        "end_of_life",
        "introduction",
        "end_of_life",
        "decline",
        "maturity",
        "growth",
        "maturity",
    ]


def test_urgency_and_reorder_for_good_sellers() -> None:
    out = run(
        [
            {"forecast_daily": 10.0, "abc": "A"},  # 5 days
            {"forecast_daily": 5.0, "abc": "A"},  # 10 days
            {"forecast_daily": 2.0, "abc": "A"},  # 25 days
            {"forecast_daily": 2.0, "abc": "B"},
            {"forecast_daily": 0.0, "abc": "A"},
        ]
    )
    assert out["urgency"].to_list() == ["high", "medium", "low", "low", None]
    assert out["recommend_reorder"].to_list() == [True, True, True, False, False]


def test_alert_levels() -> None:
    returns = pl.DataFrame({"sku": ["s004"], "location": ["main"], "return_window_days_left": [10]})
    out = run(
        [
            {"days_since_last_sale": 2, "forecast_daily": 5.0},  # fast: 0
            {"days_since_last_sale": 2, "forecast_daily": 50 / 70},  # slow: 1
            {"days_since_last_sale": 2, "forecast_daily": 0.1},  # non-moving: 2
            {**DEAD, "stock_value": 5000.0},  # dead, frozen ≥ 1,000: 3
            {"days_since_last_sale": 2, "forecast_daily": 0.1},  # excess, window closing: 3
            {**DEAD, "stock_value": 500.0},  # dead, small: 2
        ],
        returns=returns,
    )
    assert out["alert_level"].to_list() == [0, 1, 2, 3, 3, 2]


def test_release_ratio_and_its_percentile() -> None:
    out = run(
        [
            {"avg_daily_sales": 1.0},  # 500 ÷ (1 × 10) = 50 days
            {"avg_daily_sales": 0.1},  # 500 days
            {"avg_daily_sales": 0.0},  # never releases: slowest
            {"avg_daily_sales": 1.0, "on_hand": 0.0, "stock_value": 0.0},  # no stock: unranked
        ]
    )
    assert out["release_ratio"].to_list() == [pytest.approx(50.0), pytest.approx(500.0), None, None]
    assert out["release_ratio_pct"].to_list() == [
        pytest.approx(1 / 3),
        pytest.approx(2 / 3),
        1.0,
        None,
    ]


def test_return_window_days_left_from_layers_and_suppliers() -> None:
    layers = pl.DataFrame(
        {
            "sku": ["a", "a", "b", "c"],
            "location": ["main"] * 4,
            "received": [date(2025, 6, 1), date(2025, 5, 1), date(2025, 6, 20), date(2025, 1, 1)],
            "units": [5.0, 5.0, 3.0, 2.0],
            "age_days": [29, 60, 10, 180],
            "origin": ["receipt"] * 4,
        }
    )
    receipts = pl.DataFrame(
        {
            "date": [date(2025, 6, 1), date(2025, 5, 1), date(2025, 6, 20)],
            "sku": ["a", "a", "b"],
            "location": ["main"] * 3,
            "supplier_id": ["ret", "ret", "none"],
        }
    )
    products = pl.DataFrame({"sku": ["a", "b", "c"], "supplier_id": ["x", "ret", "ret"]})
    suppliers = pl.DataFrame(
        {
            "supplier_id": ["ret", "none"],
            "return_policy": ["return", "none"],
            "min_return_days": [14, 0],
            "max_return_days": [70, 90],
        }
    )
    out = return_window_days_left(layers, receipts, products, suppliers).sort("sku")
    # a: layers aged 29 and 60 within [14, 70] → 41 and 10 days left → 10. b: supplier without a
    # return right. c: aged 180 > 70, window closed.
    assert out.rows() == [("a", "main", 10)]
