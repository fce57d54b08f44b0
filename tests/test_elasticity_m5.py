"""Price elasticities on real data (M5, Walmart 2011–2016): plausible values, hold-out check.

The shared data are read as they are through two small adapters (deadstock.datasets.m5); the
tests skip when ../shared/data is absent. Figures are written up in docs/elasticity.md
(``python benchmarks/bench_elasticity.py --m5 ../shared/data``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deadstock.datasets.m5 import m5_daily_price_history, m5_monthly_price_history
from deadstock.pricing import ElasticitySettings, estimate_elasticities, holdout_comparison

#: Walmart's retail week (wm_yr_wk) starts on Saturday, the day M5 prices change.
WALMART_WEEK = ElasticitySettings(week_start="saturday")


def test_daily_sample_elasticities_are_plausible(shared_data: Path) -> None:
    sales, prices, products = m5_daily_price_history(shared_data)
    out = estimate_elasticities(sales, prices, products, settings=WALMART_WEEK)
    assert out.height == 28
    assert out["source"].value_counts().sort("source").rows() == [("category", 5), ("sku", 23)]
    elasticity = out["elasticity"]
    assert (elasticity < 0).mean() >= 0.7  # measured 0.786
    assert -4.0 < elasticity.median() < -1.0  # measured −2.67
    assert out["raw_elasticity"].drop_nulls().median() < 0  # measured −1.85
    assert ((elasticity >= -6.0) & (elasticity <= 0.0)).all()


def test_daily_sample_price_model_beats_no_price_on_held_out_weeks(shared_data: Path) -> None:
    """Last 26 weeks held out; scored: store-weeks with a price change (59, 7 items)."""
    sales, prices, products = m5_daily_price_history(shared_data)
    result = holdout_comparison(sales, prices, products, holdout_periods=26, settings=WALMART_WEEK)
    assert result["scored"] >= 50
    price, flat = result["models"]["price"], result["models"]["no_price"]
    assert price["mae"] < flat["mae"]  # measured 30.36 vs 31.35 units/week
    assert price["rmse"] < flat["rmse"]  # measured 48.04 vs 48.56


def test_monthly_catalogue_elasticities_are_plausible(shared_data: Path) -> None:
    if not (shared_data / "m5_monthly" / "sell_prices.parquet").exists():
        pytest.skip("m5_monthly not found in the shared data folder")
    sales, prices, products = m5_monthly_price_history(shared_data)
    out = estimate_elasticities(
        sales, prices, products, settings=ElasticitySettings(period="month")
    )
    assert out.height == 3049
    assert (out["source"] == "sku").mean() > 0.75  # measured 2,488 of 3,049
    elasticity = out["elasticity"]
    assert (elasticity < 0).mean() >= 0.65  # measured 0.713
    assert -1.5 < elasticity.median() < -0.2  # measured −0.64
    assert (out["raw_elasticity"].drop_nulls() < 0).mean() > 0.5  # measured 0.573
