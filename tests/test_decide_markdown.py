"""Markdowns as actions of the decision engine: priced from the markdown model, chosen, shown."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from deadstock.config import load_config
from deadstock.decide.engine import constraints_from_config, decide_table
from deadstock.decide.params import validate_params
from deadstock.errors import InputError
from deadstock.pricing.markdown import allowed_levels, solve_markdown, weekly_demand

RATE = 0.00086


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sku": "A",
        "excess_units": 30.0,
        "price": 20.0,
        "expected_days_in_stock": 600.0,
        "current_days_in_stock": 200.0,
        "payment_days": 30.0,
        "financed_now": 1,
        "financed_future": 0,
        "holding_cost_per_day": 0.02,
        "unit_cost": 9.0,
        "return_eligible": 0,
        "return_price": None,
        "return_cost": None,
        "liquidation_price": 2.0,
        "liquidation_cost": 0.5,
        "total_units": 36.0,
        "forecast_daily": 0.08,
        "elasticity": -3.0,
    }
    return base | overrides


def decide(rows: list[dict[str, Any]], *sets: str, preset: str | None = None):
    config = load_config(None, list(sets), preset=preset)
    params = validate_params(pl.DataFrame(rows), "test")
    return decide_table(params, config, constraints_from_config(config))


def test_markdown_costs_come_from_the_markdown_model() -> None:
    """cost_markdown_ladder = S·Ps/(1+Re)^De + carrying − (V − V_reg(R)), V solved directly."""
    result = decide([row()])
    d = result.decisions.row(0, named=True)
    levels = np.array([0.0, 0.15, 0.25, 0.5])
    stock, excess, lam = np.array([36]), np.array([30]), np.array([0.08])
    carry = 0.02 + 0.00014 * 9.0  # Cs + Cw·N (already paid for)
    direct = solve_markdown(
        levels,
        stock=stock,
        regular=stock - excess,
        base_daily=lam,
        demand=weekly_demand(levels, lam, np.array([-3.0]), stock, 0.05, 0.5),
        price=np.array([20.0]),
        carry_daily=np.array([carry]),
        clear_value=np.array([2.0 - 0.5]),  # the best clearance: liquidate net of transport
        allowed=allowed_levels(levels, np.array([20.0]), np.array([9.0]), 0.5, -0.5),
        daily_rate=RATE,
        weeks=8,
    )
    lost_sale = 30 * 20.0 * (1 + RATE) ** -600.0
    expected = lost_sale - (direct.value[0] - direct.regular_value[0])
    assert d["cost_markdown_ladder"] == pytest.approx(expected, rel=1e-9)
    assert d["markdown_ladder_lost_sale"] == pytest.approx(lost_sale, rel=1e-12)
    assert d["markdown_ladder_carrying"] == pytest.approx(direct.carrying[0], rel=1e-9)


def test_an_elastic_slow_seller_is_marked_down_with_its_plan_shown() -> None:
    result = decide([row()])
    d = result.decisions.row(0, named=True)
    assert d["action"] in ("markdown", "markdown_ladder")
    assert d["cost_action"] < d["cost_keep"] and d["cost_action"] < d["cost_liquidate"]
    assert 0 < d["discount"] <= 0.5
    assert d["markdown_schedule"].startswith(f"{round(d['discount'] * 100)}%")
    assert d["reason"] == f"{d['action']}_beats_keep"
    assert result.summary["actions"][d["action"]]["skus"] == 1


def test_without_price_response_no_discount_beyond_the_smallest() -> None:
    """With ε = 0 a discount only gives margin away: the ladder never plans one, and a single
    step (whose worth is selling for W weeks before the clearance) takes the smallest level."""
    result = decide([row(elasticity=0.0)])
    assert result.params is not None
    assert result.params["markdown_ladder_recovery"].to_list() == [None]
    assert result.params["markdown_discount"].to_list() == [pytest.approx(0.05)]


def test_no_forecast_column_means_no_markdown_offered() -> None:
    rows = [{k: v for k, v in row().items() if k not in ("forecast_daily", "elasticity")}]
    decisions = decide(rows).decisions
    assert "cost_markdown" not in decisions.columns
    assert "discount" not in decisions.columns


def test_thesis_preset_leaves_markdowns_out() -> None:
    decisions = decide([row()], preset="thesis").decisions
    assert set(decisions["action"]) <= {"keep", "return", "liquidate", "recycle"}
    assert "cost_markdown" not in decisions.columns


def test_sku_without_base_demand_uses_the_prior_and_says_so() -> None:
    result = decide([row(forecast_daily=0.0, total_units=30.0)])
    assert result.params is not None
    assert result.params["markdown_demand_source"].to_list() == ["prior"]
    d = result.decisions.row(0, named=True)
    assert d["cost_markdown"] is not None
    none = decide([row(forecast_daily=0.0, total_units=30.0)], "markdown_prior_weekly_share=0")
    # no prior response: a markdown sells nothing, it only delays the clearance
    n = none.decisions.row(0, named=True)
    assert n["cost_markdown"] >= n["cost_liquidate"] - 1e-9


def test_max_discount_setting_caps_the_discount() -> None:
    d = decide([row()], "max_discount=0.2").decisions.row(0, named=True)
    if d["discount"] is not None:
        assert d["discount"] <= 0.2 + 1e-12


def test_forcing_a_markdown_without_a_forecast_is_an_input_error() -> None:
    rows = [
        {**{k: v for k, v in row().items() if k != "forecast_daily"}, "forced_action": "markdown"}
    ]
    with pytest.raises(InputError, match="forecast_daily"):
        validate_params(pl.DataFrame(rows), "params.csv")
