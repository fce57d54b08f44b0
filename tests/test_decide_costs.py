"""The thesis cost model (SPEC §3.5, Zijlmans 2025) term by term against hand calculations.

Every expected value is computed here with plain Python loops over whole days, independent of the
closed forms in :mod:`deadstock.decide.costs`; the engine's decisions table, explanations and
summary are checked for their identities (npv, value vs keep, runner-up, totals).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest

from deadstock.config import load_config
from deadstock.decide.costs import Economy, discounted_day_count, unit_costs
from deadstock.decide.engine import constraints_from_config, decide_table
from deadstock.decide.explain import runner_up
from deadstock.decide.params import validate_params
from deadstock.decide.problem import InfeasibleError
from deadstock.errors import ConfigError
from deadstock.schema import DECISIONS

THESIS = Economy()  # thesis defaults: Cw 0.014 %/day, Re 0.086 %/day, Ro 0.023 %/day, M 2.20 …


def disc_sum(first: int, last: int, rate: float) -> float:
    """Σ_{d=first..last} 1/(1+rate)^d by a plain loop (0 when first > last)."""
    return sum(1.0 / (1.0 + rate) ** d for d in range(first, last + 1))


def row(**overrides: Any) -> dict[str, Any]:
    """One parameter row with readable defaults."""
    base: dict[str, Any] = {
        "sku": "A",
        "excess_units": 10.0,
        "price": 20.0,
        "expected_days_in_stock": 100.0,
        "current_days_in_stock": 40.0,
        "payment_days": 30.0,
        "financed_now": 1,
        "financed_future": 0,
        "holding_cost_per_day": 0.01,
        "unit_cost": 8.0,
        "return_eligible": 1,
        "return_price": 7.0,
        "return_cost": 0.5,
        "liquidation_price": 2.0,
    }
    return base | overrides


def arrays(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    frame = pl.DataFrame(rows)
    return {
        c: frame[c].cast(pl.Float64).fill_null(np.nan).to_numpy()
        for c in frame.columns
        if c != "sku"
    }


def keep_parts(rows: list[dict[str, Any]], economy: Economy = THESIS) -> dict[str, np.ndarray]:
    return unit_costs(arrays(rows), economy)["keep"]


# ---------------------------------------------------------------------------------------------
# keep: holding, working capital, capacity
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("de", [0.0, 0.4, 1.0, 10.7, 84.0, 1095.0, 5000.0])
def test_holding_sums_whole_days_zero_to_floor_de(de: float) -> None:
    got = keep_parts([row(expected_days_in_stock=de, holding_cost_per_day=0.03)])["holding"][0]
    want = sum(0.03 / (1 + 0.00086) ** d for d in range(math.floor(de) + 1))
    assert got == pytest.approx(want, rel=1e-12)


def test_working_capital_financed_now_runs_over_every_day() -> None:
    got = keep_parts([row(expected_days_in_stock=365.5)])["working_capital"][0]
    assert got == pytest.approx(0.00014 * 8.0 * disc_sum(0, 365, 0.00086), rel=1e-12)


def test_working_capital_financed_future_starts_at_payment_day() -> None:
    # Dc = 10, P = 30: paid on day P − Dc = 20, so F = {20..⌊De⌋}.
    r = row(current_days_in_stock=10.0, payment_days=30.0, financed_now=0, financed_future=1)
    got = keep_parts([r | {"expected_days_in_stock": 200.0}])["working_capital"][0]
    assert got == pytest.approx(0.00014 * 8.0 * disc_sum(20, 200, 0.00086), rel=1e-12)
    assert got < keep_parts([row(expected_days_in_stock=200.0)])["working_capital"][0]


def test_working_capital_future_with_fractional_payment_gap_starts_next_whole_day() -> None:
    r = row(current_days_in_stock=10.5, payment_days=30.0, financed_now=0, financed_future=1)
    got = keep_parts([r])["working_capital"][0]
    assert got == pytest.approx(0.00014 * 8.0 * disc_sum(20, 100, 0.00086), rel=1e-12)


def test_working_capital_empty_when_de_before_payment_or_not_financed() -> None:
    # De = 15 < P − Dc = 20: F = {20..15} is empty (flag used as given).
    late = row(current_days_in_stock=10.0, payment_days=30.0, financed_now=0, financed_future=1)
    neither = row(financed_now=0, financed_future=0)
    got = keep_parts([late | {"expected_days_in_stock": 15.0}, neither])["working_capital"]
    assert got.tolist() == [0.0, 0.0]


def test_capacity_term_only_when_capacity_limited() -> None:
    limited = Economy(capacity_limited=1.0)
    got = keep_parts([row(expected_days_in_stock=84.0)], limited)["capacity"][0]
    assert got == pytest.approx(84.0 / (60.0 + 7.0) * 2.20 / (1 + 0.00023) ** 60, rel=1e-12)
    assert keep_parts([row()])["capacity"][0] == 0.0


def test_zero_discount_rate_counts_days() -> None:
    economy = Economy(discount_rate_excess=0.0, capital_cost_daily=0.001)
    parts = keep_parts([row(expected_days_in_stock=9.9, holding_cost_per_day=2.0)], economy)
    assert parts["holding"][0] == pytest.approx(2.0 * 10)  # days 0..9
    assert parts["working_capital"][0] == pytest.approx(0.001 * 8.0 * 10)
    lost = unit_costs(arrays([row()]), economy)["liquidate"]["lost_sale"][0]
    assert lost == 20.0


@pytest.mark.parametrize("rate", [5e-324, 1e-300, 1e-17, 1e-13, 1e-12])
def test_tiny_discount_rates_are_finite_and_accurate(rate: float) -> None:
    got = discounted_day_count(np.array([0.0, 17.0]), np.array([5000.0, 1095.0]), rate)
    want = [
        math.fsum(math.exp(-d * math.log1p(rate)) for d in range(a, b + 1))
        for a, b in ((0, 5000), (17, 1095))
    ]
    assert np.all(np.isfinite(got))
    assert got.tolist() == pytest.approx(want, rel=1e-11)


# ---------------------------------------------------------------------------------------------
# clearing actions
# ---------------------------------------------------------------------------------------------
def test_clearing_costs_transport_plus_lost_sale_minus_proceeds() -> None:
    r = row(
        expected_days_in_stock=250.3,
        liquidation_cost=0.4,
        recycle_price=0.9,
        recycle_cost=0.2,
        donation_value=3.0,
        donation_cost=0.7,
        disposal_cost=1.1,
    )
    parts = unit_costs(arrays([r]), THESIS)
    lost = 20.0 / (1 + 0.00086) ** 250.3
    want = {
        "return": (0.5, 7.0),
        "liquidate": (0.4, 2.0),
        "recycle": (0.2, 0.9),
        "donate": (0.7, 3.0),
        "dispose": (1.1, 0.0),
    }
    for action, (transport, proceeds) in want.items():
        got = parts[action]
        assert got["transport"][0] == pytest.approx(transport)
        assert got["lost_sale"][0] == pytest.approx(lost, rel=1e-12)
        assert got["recovery"][0] == pytest.approx(-proceeds)
        assert sum(v[0] for v in got.values()) == pytest.approx(transport + lost - proceeds)


# ---------------------------------------------------------------------------------------------
# the engine: totals × units, availability, ties, explanations, identities
# ---------------------------------------------------------------------------------------------
def decide(rows: list[dict[str, Any]], *sets: str, preset: str | None = "thesis", **kw: Any):
    config = load_config(None, list(sets), preset=preset)
    params = validate_params(pl.DataFrame(rows), "test")
    return decide_table(params, config, constraints_from_config(config, **kw))


def test_costs_are_unit_costs_times_excess_units() -> None:
    result = decide([row(excess_units=7.5, expected_days_in_stock=400.0)])
    d = result.decisions.row(0, named=True)
    hold = 0.01 * disc_sum(0, 400, 0.00086)
    wc = 0.00014 * 8.0 * disc_sum(0, 400, 0.00086)
    lost = 20.0 / (1 + 0.00086) ** 400
    assert d["keep_holding"] == pytest.approx(7.5 * hold, rel=1e-12)
    assert d["keep_working_capital"] == pytest.approx(7.5 * wc, rel=1e-12)
    assert d["cost_keep"] == pytest.approx(7.5 * (hold + wc), rel=1e-12)
    assert d["cost_return"] == pytest.approx(7.5 * (0.5 + lost - 7.0), rel=1e-12)
    assert d["cost_liquidate"] == pytest.approx(7.5 * (lost - 2.0), rel=1e-12)


def test_availability_rules() -> None:
    rows = [
        row(sku="not_eligible", return_eligible=0, return_price=None),
        row(sku="no_liquidator", liquidation_price=None),
        row(sku="recycler", recycle_price=1.0, donation_value=2.0, disposal_cost=0.1),
    ]
    thesis = decide(rows).decisions
    assert thesis["cost_return"].is_null().to_list() == [True, False, False]
    assert thesis["cost_liquidate"].is_null().to_list() == [False, True, False]
    assert thesis["cost_recycle"].is_null().to_list() == [True, True, False]
    # the thesis preset has four actions: donate and dispose are never offered
    assert "cost_donate" not in thesis.columns and "cost_dispose" not in thesis.columns
    every = decide(rows, preset=None).decisions
    assert every["cost_donate"].is_null().to_list() == [True, True, False]
    assert every["cost_dispose"].is_null().to_list() == [True, True, False]
    assert every["cost_keep"].null_count() == 0


def test_ties_go_to_the_first_action_in_order() -> None:
    # Re = 0, Cw = 0: keep = Cs × (⌊De⌋ + 1) = 1 × 2 = 2; return = 0 + 10 − 8 = 2; liquidate =
    # recycle = 10 − 8 = 2 as well: every action costs 2 per unit, keep comes first.
    r = row(
        expected_days_in_stock=1.0,
        holding_cost_per_day=1.0,
        price=10.0,
        return_price=8.0,
        return_cost=0.0,
        liquidation_price=8.0,
        recycle_price=8.0,
    )
    sets = ("discount_rate_excess=0", "capital_cost_daily=0")
    tie = decide([r], *sets).decisions.row(0, named=True)
    assert tie["action"] == "keep" and tie["runner_up"] == "return"
    assert tie["runner_up_gap"] == 0.0 and tie["reason"] == "keep_cheapest"
    # without return and keep 1 dearer, liquidate and recycle tie: liquidate comes first
    no_return = r | {"return_eligible": 0, "holding_cost_per_day": 1.5}
    clear = decide([no_return], *sets).decisions.row(0, named=True)
    assert (clear["action"], clear["runner_up"]) == ("liquidate", "recycle")
    assert clear["reason"] == "liquidate_beats_keep"


def test_decisions_identities_and_explanations() -> None:
    rows = [
        row(sku="keep", expected_days_in_stock=20.0),
        row(sku="return", expected_days_in_stock=1095.0, return_price=19.0),
        row(sku="liquidate", expected_days_in_stock=3000.0, return_eligible=0, return_price=None),
        row(sku="none", excess_units=0.0),
        row(sku="only", return_eligible=0, return_price=None, liquidation_price=None),
    ]
    result = decide(rows)
    d = result.decisions
    assert d["action"].to_list() == ["keep", "return", "liquidate", "keep", "keep"]
    assert d["reason"].to_list() == [
        "keep_cheapest",
        "return_beats_keep",
        "liquidate_beats_keep",
        "no_excess",
        "only_option",
    ]
    assert d["runner_up"].to_list()[-1] is None and d["runner_up_gap"].to_list()[-1] is None
    lost = d["units"] * 20.0 * (1 + 0.00086) ** -pl.Series([20.0, 1095.0, 3000.0, 100.0, 100.0])
    assert d["npv_keep"].to_list() == pytest.approx((lost - d["cost_keep"]).to_list())
    assert d["npv_action"].to_list() == pytest.approx((lost - d["cost_action"]).to_list())
    assert d["value_vs_keep"].to_list() == pytest.approx(
        (d["npv_action"] - d["npv_keep"]).to_list(), abs=1e-9
    )
    # clearing: npv_action = proceeds − transport; recovery = proceeds × units
    ret = d.row(1, named=True)
    assert ret["npv_action"] == pytest.approx(10 * (19.0 - 0.5))
    assert ret["expected_recovery"] == pytest.approx(10 * 19.0)
    assert d["expected_recovery"][0] == 0.0
    costs = d.select(f"cost_{a}" for a in ("keep", "return", "liquidate")).to_numpy()
    costs = np.where(np.isnan(costs), np.inf, costs)
    chosen = costs.min(axis=1)
    second = np.sort(costs, axis=1)[:, 1]
    free = np.isfinite(second)
    assert d["runner_up_gap"].to_numpy()[free] == pytest.approx((second - chosen)[free])
    assert (d["runner_up_gap"].drop_nulls() >= 0).all()


def test_restrictions_give_reasons_and_negative_gaps() -> None:
    rows = [
        row(sku="forced", expected_days_in_stock=20.0, forced_action="liquidate"),
        row(sku="listed", expected_days_in_stock=3000.0),
        row(sku="single", expected_days_in_stock=3000.0, total_units=1.0, excess_units=1.0),
        row(sku="free", expected_days_in_stock=3000.0, total_units=2.0),
    ]
    d = decide(rows, "keep_single_items=true", keep_skus=["listed"]).decisions
    assert d["action"].to_list() == ["liquidate", "keep", "keep", "return"]
    assert d["reason"].to_list() == ["forced", "keep_list", "single_item", "return_beats_keep"]
    gaps = d["runner_up_gap"].to_list()
    assert gaps[0] < 0 and gaps[1] < 0 and gaps[2] < 0 and gaps[3] > 0
    # the runner-up of a restricted SKU is its best free alternative
    assert d["runner_up"].to_list()[:3] == ["keep", "return", "return"]


def test_forced_action_outside_the_run_is_infeasible() -> None:
    with pytest.raises(InfeasibleError, match="forced to 'donate'"):
        decide([row(donation_value=1.0, forced_action="donate")])


def test_summary_totals_match_the_table() -> None:
    rows = [
        row(sku=f"s{i}", expected_days_in_stock=float(de), excess_units=float(i + 1))
        for i, de in enumerate((10, 500, 1095, 4000))
    ]
    result = decide(rows, "capacity_limited=1")
    d, s = result.decisions, result.summary
    assert s["total_cost"] == pytest.approx(d["cost_action"].sum())
    assert sum(s["components"].values()) == pytest.approx(s["total_cost"])
    assert s["keep_everything_cost"] == pytest.approx(d["cost_keep"].sum())
    assert s["value_vs_keep"] == pytest.approx(d["value_vs_keep"].sum())
    for action in ("keep", "return", "liquidate", "recycle"):
        mine = d.filter(pl.col("action") == action)
        assert s["actions"][action]["skus"] == mine.height
        assert s["actions"][action]["units"] == pytest.approx(mine["units"].sum())
    assert s["settings"]["capacity_limited"] == 1
    assert s["components"]["capacity"] > 0 or s["actions"]["keep"]["skus"] == 0
    assert sum(s["reasons"].values()) == len(rows)


def test_decisions_follow_the_schema() -> None:
    rows = [row(sku="a", supplier_id="S1", location="north", recycle_price=0.5)]
    d = decide(rows, preset=None).decisions
    names = list(DECISIONS.names)
    assert d.columns == sorted(d.columns, key=names.index)
    assert {"location", "supplier_id", "cost_recycle", "recycle_lost_sale"} <= set(d.columns)
    for name, dtype in d.schema.items():
        assert dtype == DECISIONS.column(name).dtype, name


def test_runner_up_kernel() -> None:
    inf = np.inf
    costs = np.array([[3.0, 1.0, 2.0], [5.0, inf, inf], [1.0, 1.0, inf]])
    second, gap = runner_up(costs, np.array([1, 0, 1]))
    assert second.tolist() == [2, -1, 0]
    assert gap[0] == 1.0 and np.isnan(gap[1]) and gap[2] == 0.0


def test_capacity_limited_without_days_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="avg_days_in_stock"):
        decide([row()], "capacity_limited=1", "avg_days_in_stock=0", "avg_lead_time=0")


def test_every_action_has_a_component_total_key() -> None:
    s = decide([row()]).summary
    assert set(s["components"]) == {
        "holding",
        "working_capital",
        "capacity",
        "transport",
        "lost_sale",
        "recovery",
        "carrying",
        "kept",
    }
    assert list(s["actions"]) == ["keep", "return", "liquidate", "recycle"]  # the thesis set
