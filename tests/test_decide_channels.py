"""Channel actions (listing fix, bundle, transfer): share through the channel, the rest kept."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from deadstock.config import load_config
from deadstock.decide.channels import channel_columns
from deadstock.decide.costs import Economy
from deadstock.decide.engine import constraints_from_config, decide_table
from deadstock.decide.params import validate_params
from deadstock.errors import InputError

RATE = 0.00086
CW = 0.00014


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sku": "A",
        "excess_units": 20.0,
        "price": 30.0,
        "expected_days_in_stock": 400.0,
        "current_days_in_stock": 100.0,
        "payment_days": 30.0,
        "financed_now": 1,
        "financed_future": 0,
        "holding_cost_per_day": 0.01,
        "unit_cost": 12.0,
        "return_eligible": 0,
        "return_price": None,
        "return_cost": None,
        "liquidation_price": 3.0,
        "listing_fix_eligible": 1,
    }
    return base | overrides


def decide(rows: list[dict[str, Any]], *sets: str):
    config = load_config(None, list(sets))
    params = validate_params(pl.DataFrame(rows), "test")
    return decide_table(params, config, constraints_from_config(config))


def _keep_per_unit(price: float, de: float, cs: float, n: float) -> float:
    """Thesis keep cost per unit, day by day (financed now)."""
    return sum((cs + CW * n) / (1 + RATE) ** d for d in range(int(de) + 1))


def test_listing_fix_cost_by_hand() -> None:
    d = decide([row()], "listing_fix_share=0.2", "listing_fix_weeks=4").decisions.row(0, named=True)
    share, mean_day, c = 0.2, 14.0, 0.01 + CW * 12.0
    carrying = sum(c / (1 + RATE) ** t for t in range(int(mean_day) + 1))
    lost_sale = 30.0 / (1 + RATE) ** 400.0
    value = 30.0 / (1 + RATE) ** mean_day
    keep = _keep_per_unit(30.0, 400.0, 0.01, 12.0)
    per_unit = share * (carrying + lost_sale - value) + (1 - share) * keep
    assert d["cost_fix_listing"] == pytest.approx(20 * per_unit, rel=1e-9)
    assert d["fix_listing_kept"] == pytest.approx(20 * (1 - share) * keep, rel=1e-9)
    assert d["cost_keep"] == pytest.approx(20 * keep, rel=1e-9)


def test_listing_fix_beats_keep_only_where_eligible() -> None:
    result = decide(
        [row(), row(sku="B", listing_fix_eligible=0)], "decision_actions=keep,fix_listing"
    )
    d = result.decisions
    assert d["action"].to_list() == ["fix_listing", "keep"]
    assert d["cost_fix_listing"][1] is None
    assert d["reason"][0] == "fix_listing_beats_keep"


def test_listing_fix_share_zero_is_not_offered() -> None:
    d = decide([row()], "listing_fix_share=0").decisions
    assert "cost_fix_listing" not in d.columns or d["cost_fix_listing"][0] is None


def test_forcing_a_listing_fix_on_an_ineligible_row_is_an_input_error() -> None:
    rows = [row(listing_fix_eligible=0, forced_action="fix_listing")]
    with pytest.raises(InputError, match="listing_fix_eligible"):
        validate_params(pl.DataFrame(rows), "params.csv")


def test_channel_columns_from_offers() -> None:
    params = pl.DataFrame(
        {
            "sku": ["A", "B", "C"],
            "location": ["x", "x", None],
            "excess_units": [10.0, 4.0, 5.0],
            "price": [10.0, 10.0, 10.0],
            "holding_cost_per_day": [0.02, 0.02, 0.02],
            "unit_cost": [5.0, 5.0, 5.0],
            "financed_now": [0, 0, 0],
            "financed_future": [0, 0, 0],
        }
    )
    offers = pl.DataFrame(
        {
            "sku": ["A", "B", "C"],
            "location": ["x", "x", None],
            "units": [4.0, 9.0, 0.0],
            "value": [30.0, 60.0, 0.0],
            "days": [20.0, 30.0, 10.0],
        }
    )
    out = channel_columns(params, offers, "bundle", Economy())
    assert out["bundle_share"][0] == pytest.approx(0.4)
    assert out["bundle_share"][1] == pytest.approx(1.0)
    assert out["bundle_unit_value"][0] == pytest.approx(7.5)
    assert out["bundle_unit_value"][1] == pytest.approx(60.0 / 4.0)  # units capped at excess
    carrying = sum(0.02 / (1 + 0.00086) ** t for t in range(11))  # to day 20/2
    assert out["bundle_carrying"][0] == pytest.approx(carrying, rel=1e-12)
    assert out["bundle_share"][2] is None  # no units: no offer


def test_bundle_offer_is_weighed_by_the_engine() -> None:
    params = validate_params(pl.DataFrame([row(listing_fix_eligible=0)]), "test")
    offers = pl.DataFrame(
        {"sku": ["A"], "location": [None], "units": [8.0], "value": [8 * 25.0], "days": [30.0]},
        schema_overrides={"location": pl.String},
    )
    priced = channel_columns(
        params.with_columns(pl.lit(None, dtype=pl.String).alias("location")),
        offers,
        "bundle",
        Economy(),
    )
    config = load_config(None, [])
    d = decide_table(priced, config, constraints_from_config(config)).decisions.row(0, named=True)
    share = 0.4
    keep = _keep_per_unit(30.0, 400.0, 0.01, 12.0)
    carrying = sum((0.01 + CW * 12.0) / (1 + RATE) ** t for t in range(16))
    lost_sale = 30.0 / (1 + RATE) ** 400.0
    expected = 20 * (share * (carrying + lost_sale - 25.0) + (1 - share) * keep)
    assert d["cost_bundle"] == pytest.approx(expected, rel=1e-9)
    assert np.isclose(d["bundle_kept"], 20 * (1 - share) * keep)
