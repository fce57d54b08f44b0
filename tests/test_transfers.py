"""Transfers between locations (deadstock.decide.transfers): hand cases, oracles, properties.

The oracles here are independent of the module: lane values by plain-Python sums of the thesis
terms (SPEC §3.5), constraint matrices built row by row in loops and solved by
scipy.optimize.linprog, and brute-force enumeration of whole-unit plans for tiny instances.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from deadstock.config import load_config
from deadstock.datasets import write_demo_data
from deadstock.datasets.decision_params import generate_params
from deadstock.decide import transfers
from deadstock.decide.engine import decide_table
from deadstock.decide.transfers import (
    TRANSFERS,
    alternative_values,
    check_lanes,
    plan_transfers,
    solve_transport,
)
from deadstock.errors import InputError
from deadstock.pipeline import run_pipeline

H = 84  # excess threshold [days]


# ------------------------------------------------------------------------------------------------
# Plain-Python oracle of the lane values
# ------------------------------------------------------------------------------------------------
def pv_days(first: int, last: int, rate: float) -> float:
    """Σ_{d=first..last} 1/(1+r)^d by a loop."""
    return sum((1.0 + rate) ** -d for d in range(first, last + 1))


def keep_value(
    price: float,
    days: float,
    unit_cost: float,
    holding: float,
    config: Any,
    dc: float | None = None,
    pay: float | None = None,
) -> float:
    """The thesis keep value of one unit: Ps/(1+Re)^De − holding − working capital − α term."""
    re, cw = config.discount_rate_excess, config.capital_cost_daily
    last = math.floor(days)
    value = price * (1.0 + re) ** -days - holding * pv_days(0, last, re)
    if dc is None or pay is None or dc >= pay:
        value -= cw * unit_cost * pv_days(0, last, re)
    elif pay <= dc + days:
        value -= cw * unit_cost * pv_days(math.ceil(pay - dc), last, re)
    if config.capacity_limited:
        d, lead, m, ro = (
            config.avg_days_in_stock,
            config.avg_lead_time,
            config.avg_margin,
            config.discount_rate_overall,
        )
        value -= days / (d + lead) * m * (1.0 + ro) ** -d
    return value


def stock_rows(rows: Sequence[tuple[str, str, float, float, float]], unit_cost: float = 4.0):
    """Classification rows (sku, location, on_hand, inbound, forecast_daily) with their excess."""
    out = []
    for sku, location, on_hand, inbound, rate in rows:
        held = on_hand + inbound
        excess = held if rate == 0 else max(0.0, held - rate * H)
        out.append(
            {
                "sku": sku,
                "location": location,
                "on_hand": float(on_hand),
                "inbound": float(inbound),
                "forecast_daily": float(rate),
                "excess_units": float(excess),
                "unit_cost": unit_cost,
            }
        )
    return pl.DataFrame(out)


def oracle_lanes(
    classification: pl.DataFrame,
    prices: dict[tuple[str, str], float],
    alternative: dict[tuple[str, str], float],
    config: Any,
    lane_cost: dict[tuple[str, str], float] | None = None,
    holding: float | None = None,
) -> list[dict[str, Any]]:
    """Every lane with positive gain, by loops over the rows (module doc rules)."""
    rows = classification.to_dicts()
    lead = config.transfer_lead_days
    out = []
    for src in rows:
        supply = math.floor(
            min(src["on_hand"], max(src["excess_units"] - src["inbound"], 0.0)) + 1e-6
        )
        key_s = (src["sku"], src["location"])
        if supply < config.transfer_min_units or key_s not in alternative:
            continue
        for dst in rows:
            if dst["sku"] != src["sku"] or dst["location"] == src["location"]:
                continue
            rate = dst["forecast_daily"]
            if rate <= 0:
                continue
            held = dst["on_hand"] + dst["inbound"]
            room = math.floor(rate * H - held + 1e-6)
            if room < config.transfer_min_units:
                continue
            pair = (src["location"], dst["location"])
            if lane_cost is not None and pair not in lane_cost:
                continue
            cost = config.transfer_cost_per_unit if lane_cost is None else lane_cost[pair]
            start = max(held / rate, lead)
            if start >= H:
                continue
            days = (start + H) / 2.0
            cs = holding if holding is not None else src["unit_cost"] * 0.25 / 365.0
            value = keep_value(
                prices[(dst["sku"], dst["location"])], days, src["unit_cost"], cs, config
            )
            gain = value - cost - alternative[key_s]
            if gain > 1e-9:
                out.append(
                    {
                        "sku": src["sku"],
                        "from": src["location"],
                        "to": dst["location"],
                        "supply": supply,
                        "room": room,
                        "cap": math.floor(rate * (H - start) + 1e-6),
                        "gain": gain,
                        "value": value,
                        "days": days,
                    }
                )
    return out


def oracle_lp(
    lanes: list[dict[str, Any]],
    space_units: dict[str, float] | None = None,
) -> float:
    """LP optimum of the lanes by linprog on a dense matrix built row by row."""
    if not lanes:
        return 0.0
    a_rows: list[list[float]] = []
    b: list[float] = []
    for key, limit_name in ((("sku", "from"), "supply"), (("sku", "to"), "room")):
        seen: dict[tuple[str, str], int] = {}
        for lane in lanes:
            k = (lane[key[0]], lane[key[1]])
            if k not in seen:
                seen[k] = len(a_rows)
                a_rows.append([0.0] * len(lanes))
                b.append(float(lane[limit_name]))
        for j, lane in enumerate(lanes):
            a_rows[seen[(lane[key[0]], lane[key[1]])]][j] = 1.0
    for location, free in (space_units or {}).items():
        a_rows.append([1.0 if lane["to"] == location else 0.0 for lane in lanes])
        b.append(float(free))
    res = linprog(
        c=[-lane["gain"] for lane in lanes],
        A_ub=np.array(a_rows),
        b_ub=np.array(b),
        bounds=[(0.0, float(lane["cap"])) for lane in lanes],
        method="highs",
    )
    assert res.status == 0
    return float(-res.fun)


def check_feasible(
    transfers: pl.DataFrame,
    lanes: list[dict[str, Any]],
    space_units: dict[str, float] | None = None,
) -> None:
    """Every unit count whole, every lane, source, destination and space limit kept."""
    by_lane = {(lane["sku"], lane["from"], lane["to"]): lane for lane in lanes}
    sent: dict[tuple[str, str], float] = {}
    got: dict[tuple[str, str], float] = {}
    into: dict[str, float] = {}
    for row in transfers.iter_rows(named=True):
        lane = by_lane[(row["sku"], row["from_location"], row["to_location"])]
        assert row["units"] == int(row["units"]) and row["units"] >= 1
        assert row["units"] <= lane["cap"]
        sent[(row["sku"], row["from_location"])] = (
            sent.get((row["sku"], row["from_location"]), 0.0) + row["units"]
        )
        got[(row["sku"], row["to_location"])] = (
            got.get((row["sku"], row["to_location"]), 0.0) + row["units"]
        )
        into[row["to_location"]] = into.get(row["to_location"], 0.0) + row["units"]
    for lane in lanes:
        assert sent.get((lane["sku"], lane["from"]), 0.0) <= lane["supply"]
        assert got.get((lane["sku"], lane["to"]), 0.0) <= lane["room"]
    for location, free in (space_units or {}).items():
        assert into.get(location, 0.0) <= free


CONFIG = load_config(None, [])


def prices_frame(prices: dict[tuple[str, str], float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sku": [k[0] for k in prices],
            "location": [k[1] for k in prices],
            "price": list(prices.values()),
        }
    )


def alternatives_frame(values: dict[tuple[str, str], float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sku": [k[0] for k in values],
            "location": [k[1] for k in values],
            "alternative_value": list(values.values()),
        }
    )


# ------------------------------------------------------------------------------------------------
# Hand cases
# ------------------------------------------------------------------------------------------------
def test_one_sku_two_locations_by_hand() -> None:
    # x: 10 units, no demand; y: 2 on hand + 1 inbound, 0.1/day → room ⌊8.4 − 3⌋ = 5,
    # own stock-out day 30 (after the 3-day transit) → the units sell on day (30 + 84)/2 = 57.
    classification = stock_rows([("A", "x", 10, 0, 0.0), ("A", "y", 2, 1, 0.1)])
    prices = {("A", "x"): 10.0, ("A", "y"): 10.0}
    alternative = {("A", "x"): 1.5}
    plan = plan_transfers(
        classification, prices_frame(prices), alternatives_frame(alternative), CONFIG
    )
    re = CONFIG.discount_rate_excess
    holding = 4.0 * 0.25 / 365.0
    value = (
        10.0 * (1 + re) ** -57
        - holding * sum((1 + re) ** -d for d in range(58))
        - 0.00014 * 4.0 * sum((1 + re) ** -d for d in range(58))
    )
    row = plan.transfers.row(0, named=True)
    assert plan.transfers.height == 1
    assert (row["sku"], row["from_location"], row["to_location"]) == ("A", "x", "y")
    assert row["units"] == 5.0
    assert row["expected_days_at_destination"] == pytest.approx(57.0)
    assert row["value_per_unit"] == pytest.approx(value, rel=1e-12)
    assert row["lane_cost"] == 1.0 and row["lead_days"] == 3.0
    assert row["gain_per_unit"] == pytest.approx(value - 1.0 - 1.5, rel=1e-12)
    assert row["gain"] == pytest.approx(5 * (value - 2.5), rel=1e-12)
    assert plan.gain == pytest.approx(row["gain"]) and plan.gap == 0.0
    assert plan.status == "optimal" and plan.method == "lp"
    assert plan.by_source.rows() == [("A", "x", 5.0, pytest.approx(row["gain"]))]
    assert plan.by_destination.rows() == [("A", "y", 5.0, pytest.approx(row["gain"]))]
    assert plan.transfers.columns == list(TRANSFERS.names)


def test_supply_is_the_on_hand_excess_in_whole_units() -> None:
    # x: 3 on hand + 4 inbound, excess 6.5 → on-hand excess ⌊min(3, 6.5 − 4)⌋ = 2 units.
    classification = pl.concat(
        [
            stock_rows([("A", "y", 0, 0, 0.2)]),
            pl.DataFrame(
                [
                    {
                        "sku": "A",
                        "location": "x",
                        "on_hand": 3.0,
                        "inbound": 4.0,
                        "forecast_daily": 0.0,
                        "excess_units": 6.5,
                        "unit_cost": 4.0,
                    }
                ]
            ),
        ]
    )
    plan = plan_transfers(
        classification,
        prices_frame({("A", "x"): 9.0, ("A", "y"): 9.0}),
        alternatives_frame({("A", "x"): 0.0}),
        CONFIG,
    )
    assert plan.transfers["units"].to_list() == [2.0]


def test_capacity_in_units_binds_and_goes_to_the_better_sku() -> None:
    classification = stock_rows(
        [
            ("A", "x", 10, 0, 0.0),
            ("A", "y", 0, 0, 0.1),
            ("B", "x", 10, 0, 0.0),
            ("B", "y", 1, 0, 0.1),
            ("C", "y", 30, 0, 1.0),  # other stock at y takes space
        ]
    )
    prices = {("A", "y"): 12.0, ("B", "y"): 10.0, ("C", "y"): 5.0}
    alternative = {("A", "x"): 1.0, ("B", "x"): 1.0}
    locations = pl.DataFrame({"location": ["x", "y"], "capacity_units": [None, 31.0 + 6.0]})
    plan = plan_transfers(
        classification,
        prices_frame(prices),
        alternatives_frame(alternative),
        CONFIG,
        locations=locations,
    )
    units = dict(zip(plan.transfers["sku"], plan.transfers["units"], strict=True))
    # A: room 8 (cap ⌊0.1·81⌋ = 8), B: room 7; 6 units of space → all to A (higher price).
    assert units == {"A": 6.0}
    lanes = oracle_lanes(classification, prices, alternative, CONFIG)
    assert plan.gain == pytest.approx(oracle_lp(lanes, {"y": 6.0}), rel=1e-9)
    assert plan.method == "lp" and plan.gap == 0.0
    free = plan_transfers(
        classification, prices_frame(prices), alternatives_frame(alternative), CONFIG
    )
    assert dict(zip(free.transfers["sku"], free.transfers["units"], strict=True)) == {
        "A": 8.0,
        "B": 7.0,
    }


def test_capacity_in_litres_matches_brute_force() -> None:
    classification = stock_rows(
        [
            ("A", "x", 10, 0, 0.0),
            ("A", "y", 0, 0, 0.07),
            ("B", "x", 10, 0, 0.0),
            ("B", "y", 0, 0, 0.07),
        ]
    )
    prices = {("A", "y"): 14.0, ("B", "y"): 9.0}
    alternative = {("A", "x"): 0.5, ("B", "x"): 0.5}
    products = pl.DataFrame({"sku": ["A", "B"], "volume": [2.0, 1.0]})
    locations = pl.DataFrame({"location": ["y"], "capacity_volume": [6.5]})
    plan = plan_transfers(
        classification,
        prices_frame(prices),
        alternatives_frame(alternative),
        CONFIG,
        locations=locations,
        products=products,
    )
    lanes = oracle_lanes(classification, prices, alternative, CONFIG)
    gain = {lane["sku"]: lane["gain"] for lane in lanes}
    cap = {lane["sku"]: lane["cap"] for lane in lanes}
    best = max(
        a * gain["A"] + b * gain["B"]
        for a in range(cap["A"] + 1)
        for b in range(cap["B"] + 1)
        if 2.0 * a + 1.0 * b <= 6.5
    )
    assert plan.gain == pytest.approx(best, rel=1e-12)
    litres = sum(
        u * (2.0 if s == "A" else 1.0)
        for s, u in zip(plan.transfers["sku"], plan.transfers["units"], strict=True)
    )
    assert litres <= 6.5
    assert plan.bound >= plan.gain - 1e-9


def test_lane_cost_kills_a_transfer_and_missing_lanes_do_not_exist() -> None:
    classification = stock_rows(
        [("A", "x", 10, 0, 0.0), ("A", "y", 0, 0, 0.1), ("A", "z", 0, 0, 0.1)]
    )
    prices = {("A", "y"): 10.0, ("A", "z"): 10.0}
    alternative = {("A", "x"): 1.0}
    lanes = pl.DataFrame(
        {"from_location": ["x", "y"], "to_location": ["y", "x"], "cost_per_unit": [20.0, 0.0]}
    )
    plan = plan_transfers(
        classification,
        prices_frame(prices),
        alternatives_frame(alternative),
        CONFIG,
        lanes=lanes,
    )
    assert plan.transfers.height == 0 and plan.counts["lanes"] == 0
    cheap = lanes.with_columns(pl.lit(0.5).alias("cost_per_unit"))
    plan = plan_transfers(
        classification,
        prices_frame(prices),
        alternatives_frame(alternative),
        CONFIG,
        lanes=cheap,
    )
    assert plan.transfers.select("to_location", "units", "lane_cost").rows() == [("y", 8.0, 0.5)]


def test_lane_lead_time_delays_the_sale_and_shrinks_the_room() -> None:
    classification = stock_rows([("A", "x", 10, 0, 0.0), ("A", "y", 1, 0, 0.1)])
    prices = {("A", "y"): 10.0}
    alternative = {("A", "x"): 1.0}
    lanes = pl.DataFrame(
        {"from_location": ["x"], "to_location": ["y"], "cost_per_unit": [None], "lead_days": [44.0]}
    )
    plan = plan_transfers(
        classification,
        prices_frame(prices),
        alternatives_frame(alternative),
        CONFIG,
        lanes=lanes,
    )
    row = plan.transfers.row(0, named=True)
    # own stock-out day 10 < lead 44: the units sell on [44, 84], ⌊0.1 · 40⌋ = 4 units.
    assert row["units"] == 4.0 and row["expected_days_at_destination"] == 64.0
    assert row["lane_cost"] == CONFIG.transfer_cost_per_unit
    late = lanes.with_columns(pl.lit(90.0).alias("lead_days"))
    none = plan_transfers(
        classification,
        prices_frame(prices),
        alternatives_frame(alternative),
        CONFIG,
        lanes=late,
    )
    assert none.transfers.height == 0


@pytest.mark.parametrize("margin, moves", [(0.01, False), (-0.01, True)])
def test_no_transfer_when_the_alternative_is_better(margin: float, moves: bool) -> None:
    classification = stock_rows([("A", "x", 10, 0, 0.0), ("A", "y", 0, 0, 0.1)])
    prices = {("A", "y"): 10.0}
    lanes = oracle_lanes(classification, prices, {("A", "x"): 0.0}, CONFIG)
    at_destination = lanes[0]["value"] - CONFIG.transfer_cost_per_unit
    plan = plan_transfers(
        classification,
        prices_frame(prices),
        alternatives_frame({("A", "x"): at_destination + margin}),
        CONFIG,
    )
    assert (plan.transfers.height > 0) is moves


def test_working_capital_and_alpha_terms_follow_the_thesis() -> None:
    config = CONFIG.with_values(capacity_limited=1)
    classification = stock_rows([("A", "x", 10, 0, 0.0), ("A", "y", 0, 0, 0.1)])
    alternatives = pl.DataFrame(
        {
            "sku": ["A"],
            "location": ["x"],
            "alternative_value": [0.0],
            "current_days_in_stock": [10.0],
            "payment_days": [60.0],
            "holding_cost_per_day": [0.002],
            "unit_cost": [6.0],
        }
    )
    plan = plan_transfers(classification, prices_frame({("A", "y"): 10.0}), alternatives, config)
    days = (3.0 + H) / 2.0
    expected = keep_value(10.0, days, 6.0, 0.002, config, dc=10.0, pay=60.0)
    assert plan.transfers["value_per_unit"].item() == pytest.approx(expected, rel=1e-12)


def test_minimum_lot() -> None:
    classification = stock_rows([("A", "x", 10, 0, 0.0), ("A", "y", 0, 0, 0.07)])  # room 5
    args = (prices_frame({("A", "y"): 10.0}), alternatives_frame({("A", "x"): 0.0}))
    five = plan_transfers(classification, *args, CONFIG.with_values(transfer_min_units=5))
    six = plan_transfers(classification, *args, CONFIG.with_values(transfer_min_units=6))
    assert five.transfers["units"].to_list() == [5.0]
    assert six.transfers.height == 0


def test_single_location_and_disabled_give_an_empty_plan() -> None:
    one = stock_rows([("A", "main", 10, 0, 0.0), ("B", "main", 0, 0, 0.5)])
    plan = plan_transfers(one, prices_frame({}), alternatives_frame({}), CONFIG)
    assert plan.status == "single_location" and plan.transfers.height == 0
    assert plan.transfers.schema == pl.Schema(TRANSFERS.polars_schema())
    two = stock_rows([("A", "x", 10, 0, 0.0), ("A", "y", 0, 0, 0.1)])
    off = plan_transfers(
        two,
        prices_frame({("A", "y"): 10.0}),
        alternatives_frame({("A", "x"): 0.0}),
        CONFIG.with_values(transfer_enabled=False),
    )
    assert off.status == "disabled" and off.transfers.height == 0
    assert off.summary()["transfers"] == 0


@pytest.mark.parametrize(
    "frame, column, row",
    [
        ({"from_location": ["x", "x"], "to_location": ["y", "y"]}, "to_location", 2),
        ({"from_location": ["x", "y"], "to_location": ["y", "y"]}, "to_location", 2),
        ({"from_location": ["x", None], "to_location": ["y", "x"]}, "from_location", 2),
        (
            {"from_location": ["x", "y"], "to_location": ["y", "x"], "cost_per_unit": ["1", "a"]},
            "cost_per_unit",
            2,
        ),
        (
            {"from_location": ["x"], "to_location": ["y"], "lead_days": [-1.0]},
            "lead_days",
            1,
        ),
        ({"from_location": ["x"]}, "to_location", None),
    ],
)
def test_bad_lanes_name_row_and_column(
    frame: dict[str, list[Any]], column: str, row: int | None
) -> None:
    with pytest.raises(InputError) as info:
        check_lanes(pl.DataFrame(frame))
    assert info.value.file == "lanes"
    assert info.value.column == column and info.value.row == row
    assert info.value.fix


def test_check_lanes_parses_text_and_blanks() -> None:
    lanes = check_lanes(
        pl.DataFrame(
            {
                "from_location": [" x"],
                "to_location": ["y"],
                "cost_per_unit": [" 2.5 "],
                "lead_days": [""],
            }
        )
    )
    assert lanes.rows() == [("x", "y", 2.5, None)]


# ------------------------------------------------------------------------------------------------
# The best alternative at the source
# ------------------------------------------------------------------------------------------------
def test_alternative_values_match_the_engine() -> None:
    params = generate_params(150, seed=4)
    result = decide_table(params, CONFIG)
    alternatives = alternative_values(params, CONFIG, problem=result.problem)
    decisions = result.decisions
    assert alternatives["sku"].to_list() == decisions["sku"].to_list()
    assert alternatives["alternative_action"].to_list() == decisions["action"].to_list()
    assert (alternatives["alternative_value"] * decisions["units"]).to_list() == pytest.approx(
        decisions["npv_action"].to_list(), rel=1e-9, abs=1e-9
    )


def test_alternative_values_by_hand_for_the_thesis_actions() -> None:
    params = generate_params(40, seed=5)
    config = load_config(None, [], preset="thesis")
    got = alternative_values(params, config)
    for row, alt in zip(params.iter_rows(named=True), got.iter_rows(named=True), strict=True):
        days = row["expected_days_in_stock"]
        options = {
            "keep": keep_value(
                row["price"],
                days,
                row["unit_cost"],
                row["holding_cost_per_day"],
                config,
                row["current_days_in_stock"],
                row["payment_days"],
            )
        }
        # the generator's Fc / Ff follow the same rule as the oracle
        assert bool(row["financed_now"]) == (row["current_days_in_stock"] >= row["payment_days"])
        if row["return_eligible"]:
            options["return"] = row["return_price"] - (row["return_cost"] or 0.0)
        options["liquidate"] = row["liquidation_price"] - (row["liquidation_cost"] or 0.0)
        if row["recycle_price"] is not None:
            options["recycle"] = row["recycle_price"] - (row["recycle_cost"] or 0.0)
        best = max(options, key=lambda a: (options[a], -list(options).index(a)))
        assert alt["alternative_value"] == pytest.approx(options[best], rel=1e-9, abs=1e-9)
        assert alt["alternative_action"] == best
    assert got["unit_cost"].to_list() == params["unit_cost"].to_list()


# ------------------------------------------------------------------------------------------------
# Kernel: brute force and the independent LP
# ------------------------------------------------------------------------------------------------
def brute_force(
    gain: np.ndarray,
    upper: np.ndarray,
    source: np.ndarray,
    supply: np.ndarray,
    sink: np.ndarray,
    room: np.ndarray,
    volume: np.ndarray | None,
    litres: float,
    lot: int,
) -> float:
    best = 0.0
    for units in itertools.product(*[range(int(u) + 1) for u in upper]):
        x = np.array(units, dtype=float)
        if np.any((x > 0) & (x < lot)):
            continue
        if any(x[source == s].sum() > supply[s] for s in range(len(supply))):
            continue
        if any(x[sink == t].sum() > room[t] for t in range(len(room))):
            continue
        if volume is not None and volume @ x > litres + 1e-9:
            continue
        best = max(best, float(gain @ x))
    return best


@st.composite
def tiny_problems(draw: st.DrawFn) -> dict[str, Any]:
    lanes = draw(st.integers(1, 5))
    n_source = draw(st.integers(1, 3))
    n_sink = draw(st.integers(1, 3))
    ints = st.integers
    return {
        "gain": np.array(draw(st.lists(st.floats(-2, 6), min_size=lanes, max_size=lanes))),
        "upper": np.array(draw(st.lists(ints(0, 4), min_size=lanes, max_size=lanes)), float),
        "source": np.array(draw(st.lists(ints(0, n_source - 1), min_size=lanes, max_size=lanes))),
        "supply": np.array(draw(st.lists(ints(0, 6), min_size=n_source, max_size=n_source)), float),
        "sink": np.array(draw(st.lists(ints(0, n_sink - 1), min_size=lanes, max_size=lanes))),
        "room": np.array(draw(st.lists(ints(0, 6), min_size=n_sink, max_size=n_sink)), float),
        "volume": np.array(draw(st.lists(st.floats(0.3, 3), min_size=lanes, max_size=lanes)))
        if draw(st.booleans())
        else None,
        "litres": draw(st.floats(0, 12)),
        "lot": draw(st.integers(1, 3)),
    }


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_problems(), st.booleans(), st.booleans())
def test_kernel_matches_brute_force(problem: dict[str, Any], allow_milp: bool, sift: bool) -> None:
    volume = problem["volume"]
    space = sp.csr_matrix(volume[None, :]) if volume is not None else None
    limit = np.array([problem["litres"]]) if volume is not None else None
    with pytest.MonkeyPatch.context() as patch:
        if sift:  # the column-generation path of large problems, on a small one
            patch.setattr(transfers, "SIFTING_MIN_LANES", 0)
        solution = solve_transport(
            problem["gain"],
            problem["upper"],
            problem["source"],
            problem["supply"],
            problem["sink"],
            problem["room"],
            space,
            limit,
            min_units=problem["lot"],
            gap_target=1e-9,
            milp_max_lanes=100 if allow_milp else 0,
        )
    x = solution.units
    best = brute_force(**{k: problem[k] for k in problem})
    # every constraint holds, whole units, lots kept
    assert np.all(x == np.round(x)) and np.all(x >= 0) and np.all(x <= problem["upper"])
    assert np.all((x == 0) | (x >= problem["lot"]))
    for s, cap in enumerate(problem["supply"]):
        assert x[problem["source"] == s].sum() <= cap
    for t, cap in enumerate(problem["room"]):
        assert x[problem["sink"] == t].sum() <= cap
    if volume is not None:
        assert volume @ x <= problem["litres"] + 1e-9
    assert np.all(x[problem["gain"] <= 0] == 0)
    assert solution.objective == pytest.approx(float(problem["gain"] @ x))
    assert solution.objective <= best + 1e-9
    assert solution.bound >= best - 1e-7
    if allow_milp or (volume is None and problem["lot"] == 1):
        # exact: the MILP, or the integral LP vertex of a totally unimodular problem
        assert solution.objective == pytest.approx(best, abs=1e-7)
        assert solution.gap <= 1e-9 + 1e-7


def test_sifting_equals_the_direct_lp_on_a_larger_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    n_source, n_sink, n_lanes, n_places = 400, 300, 3000, 4
    source = rng.integers(0, n_source, n_lanes)
    sink = rng.integers(0, n_sink, n_lanes)
    place = sink % n_places  # each destination SKU-location sits at one place
    gain = rng.uniform(0.1, 10.0, n_lanes)
    upper = rng.integers(1, 9, n_lanes).astype(float)
    supply = rng.integers(1, 12, n_source).astype(float)
    room = rng.integers(1, 12, n_sink).astype(float)
    space = sp.csr_matrix(
        (np.ones(n_lanes), (place, np.arange(n_lanes))), shape=(n_places, n_lanes)
    )
    free = np.array([150.0, 400.0, 80.0, 1e6])  # three binding places, one loose
    limit = np.concatenate([supply, room, free])
    beyond, tight = transfers._beyond_prefixes(gain, upper, space, free)
    assert 0 < beyond.sum() < n_lanes  # columns have to enter
    assert tight.tolist() == [True, True, True, False]  # the loose row waits outside the model
    args = (gain, upper, source, supply, sink, room, space, free)
    monkeypatch.setattr(transfers, "SIFTING_MIN_LANES", 0)
    sifted = solve_transport(*args)
    monkeypatch.setattr(transfers, "SIFTING_MIN_LANES", 10**9)
    direct = solve_transport(*args)
    a = np.zeros((n_source + n_sink + n_places, n_lanes))  # the dense LP, row by row
    for lane in range(n_lanes):
        a[source[lane], lane] = 1.0
        a[n_source + sink[lane], lane] = 1.0
        a[n_source + n_sink + place[lane], lane] = 1.0
    reference = linprog(-gain, A_ub=a, b_ub=limit, bounds=list(zip(0 * upper, upper, strict=True)))
    assert sifted.objective == pytest.approx(-reference.fun, rel=1e-9)
    assert direct.objective == pytest.approx(-reference.fun, rel=1e-9)
    assert sifted.gap == 0.0 and sifted.method == "lp"
    assert np.all(a @ sifted.units <= limit + 1e-9)


def test_a_loose_looking_space_row_joins_when_the_plan_breaks_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    n_lanes = 500
    gain = rng.uniform(0.1, 5.0, n_lanes)
    upper = rng.integers(1, 6, n_lanes).astype(float)
    own = np.arange(n_lanes)  # every lane its own source and destination SKU-location
    supply = room = np.full(n_lanes, 10.0)
    space = sp.csr_matrix(np.ones((1, n_lanes)))
    free = np.array([math.floor(0.6 * upper.sum())])
    _, tight = transfers._beyond_prefixes(gain, upper, space, free)
    assert not tight[0]  # twice the limit covers every lane: the row starts outside the model
    monkeypatch.setattr(transfers, "SIFTING_MIN_LANES", 0)
    solution = solve_transport(gain, upper, own, supply, own, room, space, free)
    left, best = free[0], 0.0  # one shared row, unit coefficients: fill by gain
    for lane in sorted(range(n_lanes), key=lambda k: -gain[k]):
        take = min(upper[lane], left)
        best += take * gain[lane]
        left -= take
    assert solution.units.sum() == free[0]
    assert solution.objective == pytest.approx(best, rel=1e-12)
    assert solution.gap == 0.0


def test_kernel_without_lanes() -> None:
    solution = solve_transport([], [], [], [3.0], [], [2.0])
    assert solution.units.size == 0 and solution.objective == 0.0 and solution.method == "none"


# ------------------------------------------------------------------------------------------------
# Table level: random instances against the independent LP
# ------------------------------------------------------------------------------------------------
@st.composite
def networks(draw: st.DrawFn) -> dict[str, Any]:
    n_sku = draw(st.integers(1, 3))
    locations = ["l0", "l1", "l2"][: draw(st.integers(2, 3))]
    rows = []
    prices = {}
    alternative = {}
    for s in range(n_sku):
        sku = f"S{s}"
        for loc in locations:
            rate = draw(st.sampled_from([0.0, 0.0, 0.02, 0.05, 0.1, 0.2]))
            rows.append((sku, loc, draw(st.integers(0, 14)), draw(st.integers(0, 2)), rate))
            prices[(sku, loc)] = draw(st.floats(3, 20))
            alternative[(sku, loc)] = draw(st.floats(-1, 12))
    capacity = {loc: draw(st.integers(0, 30)) for loc in locations if draw(st.booleans())}
    costs = (
        {
            (a, b): draw(st.floats(0, 4))
            for a in locations
            for b in locations
            if a != b and draw(st.booleans())
        }
        if draw(st.booleans())
        else None
    )
    return {
        "rows": rows,
        "prices": prices,
        "alternative": alternative,
        "capacity": capacity,
        "costs": costs,
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_plan_equals_the_independent_lp(network: dict[str, Any]) -> None:
    classification = stock_rows(network["rows"])
    prices, alternative = network["prices"], network["alternative"]
    held = {}
    for _sku, loc, on_hand, inbound, _rate in network["rows"]:
        held[loc] = held.get(loc, 0.0) + on_hand + inbound
    capacity = network["capacity"]
    locations = pl.DataFrame(
        {"location": list(capacity), "capacity_units": [float(v) for v in capacity.values()]},
        schema={"location": pl.String, "capacity_units": pl.Float64},
    )
    costs = network["costs"]
    lanes_frame = (
        pl.DataFrame(
            {
                "from_location": [k[0] for k in costs],
                "to_location": [k[1] for k in costs],
                "cost_per_unit": list(costs.values()),
            },
            schema={
                "from_location": pl.String,
                "to_location": pl.String,
                "cost_per_unit": pl.Float64,
            },
        )
        if costs is not None
        else None
    )
    plan = plan_transfers(
        classification,
        prices_frame(prices),
        alternatives_frame(alternative),
        CONFIG,
        lanes=lanes_frame,
        locations=locations,
    )
    lanes = oracle_lanes(classification, prices, alternative, CONFIG, lane_cost=costs)
    space = {loc: max(0.0, cap - held.get(loc, 0.0)) for loc, cap in capacity.items()}
    optimum = oracle_lp(lanes, space)
    check_feasible(plan.transfers, lanes, space)
    # units-only space rows keep the matrix totally unimodular: the LP optimum is whole
    assert plan.gain == pytest.approx(optimum, rel=1e-9, abs=1e-9)
    assert plan.transfers["gain"].sum() == pytest.approx(plan.gain, rel=1e-9, abs=1e-9)
    assert plan.counts["lanes"] == len(lanes)
    for row in plan.transfers.iter_rows(named=True):
        lane = next(
            x
            for x in lanes
            if (x["sku"], x["from"], x["to"])
            == (row["sku"], row["from_location"], row["to_location"])
        )
        assert row["gain_per_unit"] == pytest.approx(lane["gain"], rel=1e-9, abs=1e-12)
        assert row["expected_days_at_destination"] == pytest.approx(lane["days"])


# ------------------------------------------------------------------------------------------------
# A run of the demo retailer with three locations
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder: Path = tmp_path_factory.mktemp("transfers")
    write_demo_data(folder, n_skus=120, n_locations=3, seed=3)
    return run_pipeline(folder, CONFIG)


def test_transfers_of_a_generated_run(demo_run) -> None:  # type: ignore[no-untyped-def]
    params = demo_run.decision_params.filter(
        pl.col("price").is_not_null() & pl.col("unit_cost").is_not_null()
    )
    decided_run = decide_table(params, CONFIG)
    alternatives = alternative_values(params, CONFIG, problem=decided_run.problem)
    tables = demo_run.tables_in
    locations = tables["locations"]
    plan = plan_transfers(
        demo_run.classification,
        demo_run.sku_metrics,
        alternatives,
        CONFIG,
        locations=locations,
        products=tables["products"],
    )
    assert plan.transfers.height > 0
    assert plan.status == "optimal" and plan.gap <= CONFIG.decision_gap
    c = demo_run.classification.with_columns(
        (pl.col("on_hand") + pl.col("inbound")).alias("held"),
    )
    sent = plan.by_source.join(c, on=["sku", "location"], how="left")
    on_hand_excess = pl.min_horizontal(
        "on_hand", (pl.col("excess_units") - pl.col("inbound")).clip(0.0)
    )
    assert sent.filter(pl.col("units_transferred") > on_hand_excess + 1e-9).height == 0
    received = plan.by_destination.join(c, on=["sku", "location"], how="left")
    room = pl.col("forecast_daily") * H - pl.col("held")
    assert received.filter(pl.col("units_received") > room + 1e-9).height == 0
    into = plan.transfers.group_by("to_location").agg(pl.col("units").sum())
    space = (
        c.group_by("location")
        .agg(pl.col("held").sum())
        .join(locations, on="location")
        .select("location", (pl.col("capacity_units") - pl.col("held")).clip(0.0).alias("free"))
    )
    check = into.join(space, left_on="to_location", right_on="location")
    assert check.filter(pl.col("units") > pl.col("free")).height == 0
    assert (plan.transfers["gain_per_unit"] > 0).all()
    assert plan.transfers["units"].to_list() == [float(int(u)) for u in plan.transfers["units"]]
    # the alternative at the source is the engine's chosen action (uncoupled run)
    decided = plan.transfers.join(
        decided_run.decisions.select("action", "units", "npv_action").with_columns(
            params["sku"], params["location"].alias("from_location")
        ),
        on=["sku", "from_location"],
    )
    assert decided.height == plan.transfers.height
    assert decided["alternative_action"].to_list() == decided["action"].to_list()
    assert (decided["alternative_value"] * decided["units_right"]).to_list() == pytest.approx(
        decided["npv_action"].to_list(), rel=1e-9, abs=1e-9
    )


def test_tight_volume_on_a_generated_run(demo_run) -> None:  # type: ignore[no-untyped-def]
    params = demo_run.decision_params.filter(
        pl.col("price").is_not_null() & pl.col("unit_cost").is_not_null()
    )
    alternatives = alternative_values(params, CONFIG, problem=decide_table(params, CONFIG).problem)
    products = demo_run.tables_in["products"]
    volume = products.select("sku", "volume")
    litres = (
        demo_run.classification.join(volume, on="sku", how="left")
        .group_by("location")
        .agg(((pl.col("on_hand") + pl.col("inbound")) * pl.col("volume").fill_null(0.0)).sum())
    )
    free = 7.5  # litres of room left at every location
    locations = litres.select("location", (pl.col("on_hand") + free).alias("capacity_volume"))
    loose = plan_transfers(
        demo_run.classification, demo_run.sku_metrics, alternatives, CONFIG, products=products
    )
    tight = plan_transfers(
        demo_run.classification,
        demo_run.sku_metrics,
        alternatives,
        CONFIG,
        locations=locations,
        products=products,
    )
    used = (
        tight.transfers.join(volume, on="sku")
        .group_by("to_location")
        .agg((pl.col("units") * pl.col("volume")).sum().alias("litres"))
    )
    assert (used["litres"] <= free + 1e-9).all()
    assert loose.gain > tight.gain > 0  # the space binds somewhere
    assert tight.gap <= CONFIG.decision_gap and tight.bound >= tight.gain
