"""From a run to decision parameters (SPEC §3.5): FIFO excess layers, supplier return offers,
financing flags, liquidator policies, and the decisions stage of ``deadstock run``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deadstock.config import load_config
from deadstock.datasets import write_demo_data
from deadstock.decide import from_run
from deadstock.decide.from_run import (
    decision_params,
    excess_layers,
    excess_on_hand,
    excess_profile,
    layer_sources,
    liquidation_price,
    liquidator,
    return_offers,
    run_decisions,
)
from deadstock.pipeline import run_pipeline, write_outputs
from deadstock.position import fifo_layers

AS_OF = date(2025, 6, 30)
KEY = ["sku", "location"]


def _layers(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Layers from (sku, age_days, units, unit_cost, origin) rows at location main, in order."""
    return pl.DataFrame(
        [
            (sku, "main", AS_OF - timedelta(days=age), float(units), cost, age, origin)
            for sku, age, units, cost, origin in rows
        ],
        schema={
            "sku": pl.String,
            "location": pl.String,
            "received": pl.Date,
            "units": pl.Float64,
            "unit_cost": pl.Float64,
            "age_days": pl.Int64,
            "origin": pl.String,
        },
        orient="row",
    )


def _need(values: dict[str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sku": list(values),
            "location": ["main"] * len(values),
            "excess_units": list(values.values()),
        }
    )


# ------------------------------------------------------------------------------------------------
# FIFO: the newest layers cover the excess
# ------------------------------------------------------------------------------------------------
layer_units = st.one_of(st.integers(-5, 40).map(float), st.floats(0.25, 30.0))
key_case = st.tuples(
    st.lists(st.tuples(layer_units, st.integers(0, 900), st.floats(0.5, 50.0)), max_size=6),
    st.one_of(st.integers(0, 120).map(float), st.floats(0.0, 120.0)),
    st.integers(0, 30).map(float),
)


def _excess_oracle(
    layers: list[tuple[float, int, float]], need: float
) -> tuple[list[float], float, float, float]:
    """Walk from the newest layer back: units taken from each, then Σ, weighted age and cost."""
    taken = [0.0] * len(layers)
    left = need
    for i in range(len(layers) - 1, -1, -1):
        units = layers[i][0]
        if units <= 0 or left <= 0:
            continue
        taken[i] = min(units, left)
        left -= taken[i]
    total = sum(taken)
    age = sum(t * a for t, (_, a, _) in zip(taken, layers, strict=True)) / total if total else 0
    cost = sum(t * c for t, (_, _, c) in zip(taken, layers, strict=True)) / total if total else 0
    return taken, total, age, cost


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(key_case, min_size=1, max_size=6))
def test_newest_layers_cover_the_excess_like_a_plain_walk(cases: list[Any]) -> None:
    rows, classification = [], []
    for k, (layers, excess, inbound) in enumerate(cases):
        sku = f"s{k}"
        rows += [(sku, age, units, cost, "receipt") for units, age, cost in layers]
        on_hand = sum(u for u, _, _ in layers)
        classification.append((sku, "main", on_hand, excess, inbound))
    frame = _layers(rows)
    cls = pl.DataFrame(
        classification,
        schema=["sku", "location", "on_hand", "excess_units", "inbound"],
        orient="row",
    )
    need = excess_on_hand(cls)
    stock = layer_sources(frame)
    taken = excess_layers(stock, need)
    profile = {r["sku"]: r for r in excess_profile(taken).iter_rows(named=True)}
    for k, (layers, excess, inbound) in enumerate(cases):
        sku = f"s{k}"
        on_hand_need = max(excess - inbound, 0.0)
        expected, total, age, cost = _excess_oracle(layers, on_hand_need)
        got = taken.filter(pl.col("sku") == sku)
        positive = [i for i, (units, _, _) in enumerate(layers) if units > 0]
        want = [(i, t) for i, t in zip(positive, [expected[i] for i in positive], strict=True)]
        want = [(i, t) for i, t in want if t > 1e-9 * max(1.0, on_hand_need)]
        assert got["units"].to_list() == pytest.approx([t for _, t in want])
        assert got["layer_units"].to_list() == pytest.approx([layers[i][0] for i, _ in want])
        if total > 1e-9 * max(1.0, on_hand_need):
            row = profile[sku]
            assert row["excess_units"] == pytest.approx(total)
            assert total == pytest.approx(min(on_hand_need, sum(layers[i][0] for i in positive)))
            assert row["current_days_in_stock"] == pytest.approx(age)
            assert row["unit_cost"] == pytest.approx(cost)
        else:
            assert sku not in profile


def test_inbound_units_are_the_newest_excess() -> None:
    cls = pl.DataFrame(
        {
            "sku": ["a", "b", "c"],
            "location": ["main"] * 3,
            "excess_units": [10.0, 4.0, 0.0],
            "inbound": [3.0, 6.0, 2.0],
        }
    )
    out = excess_on_hand(cls).sort("sku")
    # a: 3 of the 10 excess units are still inbound; b: all 4 are inbound; c: no excess.
    assert out.rows() == [("a", "main", 7.0, 3.0)]


# ------------------------------------------------------------------------------------------------
# Which receipt (supplier, payment term) a layer comes from
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("one_code", [True, False])
def test_layers_find_their_receipt_supplier_and_terms(
    one_code: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not one_code:  # ranks beyond the one-integer code: the three-column join
        monkeypatch.setattr(from_run, "_CODE_RANKS", 1)
    day1, day2 = AS_OF - timedelta(days=120), AS_OF - timedelta(days=30)
    receipts = pl.DataFrame(
        {
            "date": [day1, day2, day2, day2, day1, day2, day2],
            "sku": ["a", "a", "a", "a", "b", "c", "c"],
            "location": ["main"] * 7,
            "qty": [5.0, 4.0, 3.0, 0.0, 3.0, 4.0, 3.0],
            "supplier_id": ["S1", "S2", "S3", "S9", None, "C1", "C2"],
            "unit_cost": [1.0, 2.0, 3.0, 9.0, 4.0, 5.0, 6.0],
            "payment_days": [10, None, 5, 99, None, None, None],
        }
    )
    position = pl.DataFrame(
        {"sku": ["a", "b", "c"], "location": ["main"] * 3, "on_hand": [9.0, 5.0, 2.0]}
    )
    layers = fifo_layers(position, receipts, AS_OF, AS_OF - timedelta(days=400))
    products = pl.DataFrame({"sku": ["a", "b"], "supplier_id": ["S2", "S4"]})
    suppliers = pl.DataFrame({"supplier_id": ["S2", "S4"], "payment_days": [30, 60]})
    out = layer_sources(layers, receipts, products, suppliers)
    got = {
        (r["sku"], r["origin"], r["supplier_id"]): (r["units"], r["unit_cost"], r["payment_days"])
        for r in out.iter_rows(named=True)
    }
    # a: newest first S3 (3 units), then S2 (4) on the same day, then 2 of S1's 5 units.
    # S2's receipt has no term: its supplier's 30 days; S1 is unknown as a supplier: its own 10.
    # b: the receipt has no supplier (the product's S4, term 60); 2 units are opening stock.
    # c: of two receipts on one day only the later row (C2) is still in stock.
    assert got == {
        ("a", "receipt", "S1"): (2.0, 1.0, 10.0),
        ("a", "receipt", "S2"): (4.0, 2.0, 30.0),
        ("a", "receipt", "S3"): (3.0, 3.0, 5.0),
        ("b", "receipt", "S4"): (3.0, 4.0, 60.0),
        ("b", "opening", "S4"): (2.0, None, 60.0),
        ("c", "receipt", "C2"): (2.0, 6.0, 0.0),
    }


def test_payment_days_default_to_zero_without_any_term() -> None:
    out = layer_sources(_layers([("a", 10, 4, 1.0, "receipt")]))
    assert out["payment_days"].to_list() == [0.0]
    assert out["supplier_id"].to_list() == [None]


# ------------------------------------------------------------------------------------------------
# Supplier return offers
# ------------------------------------------------------------------------------------------------
def _suppliers(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "supplier_id": pl.String,
            "return_policy": pl.String,
            "refund_pct": pl.Float64,
            "min_return_days": pl.Int64,
            "max_return_days": pl.Int64,
            "return_cost_per_unit": pl.Float64,
        },
        orient="row",
    )


def _stock(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """On-hand layers from (sku, age, units, cost, origin, supplier) rows, in order."""
    frame = _layers([r[:5] for r in rows])
    stock = layer_sources(frame)
    return stock.with_columns(pl.Series("supplier_id", [r[5] for r in rows], dtype=pl.String))


def test_offers_are_ranked_by_refund_minus_transport() -> None:
    stock = _stock(
        [
            ("a", 200, 5, 10.0, "receipt", "R"),  # refund 9.0 − 2.0 = 7.0
            ("a", 100, 5, 10.0, "receipt", "D"),  # refund 8.0 − 0 (destroy) = 8.0, best
            ("a", 50, 5, 12.0, "receipt", "R"),  # refund 10.8 − 2.0 = 8.8, even better
        ]
    )
    suppliers = _suppliers(
        [("R", "return", 90.0, 0, 365, 2.0), ("D", "destroy", 80.0, 0, 365, 5.0)]
    )
    out = return_offers(stock, _need({"a": 8.0}), suppliers).row(0, named=True)
    # 5 units at 10.8 − 2.0 (newest, R), then 3 at 8.0 − 0 (D): Pr = (5·10.8 + 3·8)/8.
    assert out["return_units_offered"] == 8.0
    assert out["return_price"] == pytest.approx((5 * 10.8 + 3 * 8.0) / 8)
    assert out["return_cost"] == pytest.approx((5 * 2.0 + 3 * 0.0) / 8)
    assert out["return_eligible"] == 1
    assert out["return_supplier_id"] == "R"  # R takes 5 of the 8 units
    assert out["return_window_days_left"] == min(365 - 50, 365 - 100)


def test_right_of_destruction_has_no_transport() -> None:
    stock = _stock([("a", 10, 4, 5.0, "receipt", "D")])
    suppliers = _suppliers([("D", "destroy", 100.0, None, None, 1.5)])
    out = return_offers(stock, _need({"a": 4.0}), suppliers).row(0, named=True)
    assert (out["return_price"], out["return_cost"]) == (5.0, 0.0)
    assert out["return_window_days_left"] is None  # no maximum: no closing window


@pytest.mark.parametrize(
    ("age", "offered"), [(29, False), (30, True), (45, True), (60, True), (61, False)]
)
def test_return_window_bounds_are_inclusive(age: int, offered: bool) -> None:
    stock = _stock([("a", age, 3, 5.0, "receipt", "R")])
    suppliers = _suppliers([("R", "return", 100.0, 30, 60, 0.5)])
    out = return_offers(stock, _need({"a": 3.0}), suppliers)
    assert out.height == int(offered)
    if offered:
        assert out["return_window_days_left"].item() == 60 - age


def test_partial_cover_is_not_eligible_but_shows_what_was_offered() -> None:
    stock = _stock(
        [
            ("a", 400, 6, 5.0, "receipt", "R"),  # too old for R
            ("a", 20, 4, 5.0, "receipt", "R"),
        ]
    )
    suppliers = _suppliers([("R", "return", 100.0, 0, 90, 0.0)])
    out = return_offers(stock, _need({"a": 7.0}), suppliers).row(0, named=True)
    assert out["return_units_offered"] == 4.0
    assert out["return_eligible"] == 0


def test_no_offer_without_a_return_right_or_a_receipt() -> None:
    stock = _stock(
        [
            ("a", 20, 5, 5.0, "receipt", "N"),  # policy none
            ("b", 20, 5, 5.0, "opening", "R"),  # opening stock: no receipt to return
            ("c", 20, 5, 5.0, "receipt", "X"),  # supplier unknown
            ("d", 20, 5, 5.0, "receipt", "M"),  # no refund given
            ("e", 20, 5, 5.0, "receipt", "R"),
        ]
    )
    suppliers = _suppliers(
        [
            ("N", "none", None, None, None, None),
            ("R", "return", 85.0, 0, 90, None),
            ("M", "return", None, 0, 90, 1.0),
        ]
    )
    need = _need({s: 5.0 for s in "abcde"})
    out = return_offers(stock, need, suppliers)
    assert out["sku"].to_list() == ["e"]
    assert out["return_price"].item() == pytest.approx(0.85 * 5.0)
    assert out["return_cost"].item() == 0.0  # blank transport = 0


offer_layer = st.tuples(
    st.integers(1, 20).map(float),  # units
    st.integers(0, 400),  # age
    st.sampled_from([2.0, 5.0, 7.5]),  # unit cost
    st.sampled_from(["receipt", "receipt", "opening"]),
    st.sampled_from(["S0", "S1", "S2", "S3"]),
)
supplier_terms = st.tuples(
    st.sampled_from(["return", "destroy", "none"]),
    st.sampled_from([80.0, 90.0, 100.0]),
    st.integers(0, 60),
    st.one_of(st.none(), st.integers(60, 400)),
    st.sampled_from([0.0, 0.5, 2.0]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.lists(offer_layer, max_size=5), st.integers(1, 60)), max_size=5),
    st.lists(supplier_terms, min_size=4, max_size=4),
)
def test_return_offers_equal_a_plain_ranking(cases: list[Any], terms: list[Any]) -> None:
    suppliers = _suppliers([(f"S{i}", *t) for i, t in enumerate(terms)])
    rows: list[tuple[Any, ...]] = []
    for k, (layers, _) in enumerate(cases):
        rows += [
            (f"k{k}", age, units, cost, origin, sup) for units, age, cost, origin, sup in layers
        ]
    if not rows:
        return
    need = {f"k{k}": float(n) for k, (_, n) in enumerate(cases)}
    out = {
        r["sku"]: r
        for r in return_offers(_stock(rows), _need(need), suppliers).iter_rows(named=True)
    }
    for k, (layers, n) in enumerate(cases):
        offers = []
        for i, (units, age, cost, origin, sup) in enumerate(layers):
            policy, pct, lo, hi, carriage = terms[int(sup[1])]
            if origin != "receipt" or policy == "none" or age < lo or (hi is not None and age > hi):
                continue
            refund = pct / 100.0 * cost
            transport = 0.0 if policy == "destroy" else carriage
            offers.append((-(refund - transport), age, -i, units, refund, transport, sup, hi))
        offers.sort()
        left, used = float(n), []
        for *_, units, refund, transport, sup, hi in offers:
            if left <= 0:
                break
            take = min(units, left)
            left -= take
            used.append((take, refund, transport, sup, hi))
        if not used:
            assert f"k{k}" not in out
            continue
        row = out[f"k{k}"]
        total = sum(u[0] for u in used)
        assert row["return_units_offered"] == pytest.approx(total)
        assert row["return_price"] == pytest.approx(sum(u[0] * u[1] for u in used) / total)
        assert row["return_cost"] == pytest.approx(sum(u[0] * u[2] for u in used) / total)
        assert row["return_eligible"] == int(total >= n - 1e-9)
        by_supplier: dict[str, float] = {}
        for take, *_, sup, _ in used:
            by_supplier[sup] = by_supplier.get(sup, 0.0) + take
        assert by_supplier[row["return_supplier_id"]] == max(by_supplier.values())


# ------------------------------------------------------------------------------------------------
# Liquidator policies
# ------------------------------------------------------------------------------------------------
PRICES = [None, 5.0, 11.99, 12.0, 60.5, 200.0]


def _liquidation(policy: str) -> tuple[list[float | None], list[str | None]]:
    config = load_config(
        None,
        [
            f"liquidator_policy={policy}",
            "liquidation_recovery=0.1",
            "liquidation_specialised_share=0.25",
            "vat_rate=0.21",
            "specialised_min_price=12",
        ],
    )
    price = pl.col("price")
    out = pl.DataFrame({"price": PRICES}, schema={"price": pl.Float64}).select(
        liquidation_price(price, config).alias("pl"), liquidator(price, config).alias("who")
    )
    return out["pl"].to_list(), out["who"].to_list()


def test_general_liquidator_pays_a_share_of_the_price() -> None:
    prices, who = _liquidation("general")
    assert prices == pytest.approx([None, 0.5, 1.199, 1.2, 6.05, 20.0])
    assert who == [None] + ["general"] * 5


def test_specialised_liquidator_pays_a_share_ex_vat_from_the_minimum_price() -> None:
    prices, who = _liquidation("specialised")
    expected = [None, None, None, 12 / 1.21 * 0.25, 60.5 / 1.21 * 0.25, 200 / 1.21 * 0.25]
    assert prices == pytest.approx(expected)
    assert who == [None, None, None] + ["specialised"] * 3


def test_hybrid_takes_the_better_offer() -> None:
    prices, who = _liquidation("hybrid")
    # 0.25/1.21 ≈ 0.2066 of the price beats 0.1 from 12 on; below 12 only the general one buys.
    expected = [None, 0.5, 1.199, 12 / 1.21 * 0.25, 60.5 / 1.21 * 0.25, 200 / 1.21 * 0.25]
    assert prices == pytest.approx(expected)
    assert who == [None, "general", "general", "specialised", "specialised", "specialised"]


def test_hybrid_keeps_the_general_offer_when_it_is_higher() -> None:
    config = load_config(
        None, ["liquidator_policy=hybrid", "liquidation_recovery=0.2", "vat_rate=0.21"]
    )
    out = pl.DataFrame({"price": [50.0]}).select(
        liquidation_price(pl.col("price"), config), liquidator(pl.col("price"), config)
    )
    assert out.row(0) == (pytest.approx(10.0), "general")  # 0.2 × 50 > 0.2 × 50 / 1.21


# ------------------------------------------------------------------------------------------------
# The parameter table: financing flags, defaults
# ------------------------------------------------------------------------------------------------
def _hand_run() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, pl.DataFrame]]:
    layers = _layers(
        [
            ("A", 100, 6, 2.0, "receipt"),
            ("A", 20, 4, 3.0, "receipt"),
            ("B", 10, 10, 4.0, "receipt"),
            ("C", 10, 10, 4.0, "receipt"),
            ("D", 10, 10, 4.0, "receipt"),
            ("E", 10, 10, 4.0, "receipt"),
            ("F", 10, 5, None, "opening"),
        ]
    )
    skus = ["A", "B", "C", "D", "E", "F", "G"]
    classification = pl.DataFrame(
        {
            "sku": skus,
            "location": ["main"] * 7,
            "on_hand": [10.0, 10.0, 10.0, 10.0, 10.0, 5.0, 0.0],
            "inbound": [0.0] * 7,
            "excess_units": [5.0, 10.0, 10.0, 10.0, 10.0, 5.0, 0.0],
            "expected_days_in_stock": [200.0, 50.0, 50.0, None, 5000.0, 300.0, None],
        }
    )
    metrics = pl.DataFrame(
        {
            "sku": skus,
            "location": ["main"] * 7,
            "price": [10.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0],
            "unit_cost": [2.5, 4.0, 4.0, 4.0, 4.0, None, 4.0],
        }
    )
    products = pl.DataFrame(
        {
            "sku": skus,
            "supplier_id": ["S30", "S30", "S90", "S30", "S30", "S30", "S30"],
            "holding_cost_per_day": [0.01, None, None, None, None, None, None],
            "volume": [1.5, None, None, None, None, None, None],
        }
    )
    suppliers = pl.DataFrame({"supplier_id": ["S30", "S90"], "payment_days": [30, 90]})
    return classification, metrics, layers, {"products": products, "suppliers": suppliers}


def test_parameter_table_by_hand() -> None:
    classification, metrics, layers, tables = _hand_run()
    config = load_config(None, ["holding_cost_rate_yearly=0.365", "no_forecast_days=1095"])
    params = decision_params(classification, metrics, layers, tables, config)
    rows = {r["sku"]: r for r in params.iter_rows(named=True)}
    assert sorted(rows) == ["A", "B", "C", "D", "E", "F"]  # G has no excess
    a = rows["A"]
    # 4 newest units (age 20, cost 3) + 1 of the older layer (age 100, cost 2).
    assert a["excess_units"] == 5.0
    assert a["current_days_in_stock"] == pytest.approx((4 * 20 + 100) / 5)
    assert a["unit_cost"] == pytest.approx((4 * 3.0 + 2.0) / 5)
    assert a["payment_days"] == 30.0
    assert (a["financed_now"], a["financed_future"]) == (1, 0)  # Dc 36 ≥ P 30
    assert a["holding_cost_per_day"] == 0.01 and a["volume"] == 1.5
    assert a["total_units"] == 10.0 and a["supplier_id"] == "S30"
    assert a["liquidation_price"] == pytest.approx(1.0)  # general, 10 % of 10
    assert a["return_eligible"] == 0 and a["return_price"] is None
    b = rows["B"]
    assert (b["financed_now"], b["financed_future"]) == (0, 1)  # 10 < 30 ≤ 10 + 50
    assert b["holding_cost_per_day"] == pytest.approx(4.0 * 0.365 / 365)
    c = rows["C"]
    assert (c["financed_now"], c["financed_future"]) == (0, 0)  # 90 > 10 + 50
    assert rows["D"]["expected_days_in_stock"] == 1095.0  # no forecast
    assert rows["E"]["expected_days_in_stock"] == 1095.0  # capped
    assert (rows["E"]["financed_now"], rows["E"]["financed_future"]) == (0, 1)
    f = rows["F"]
    assert f["unit_cost"] is None and f["holding_cost_per_day"] is None  # no cost known


def test_unpriceable_rows_are_left_out_with_a_warning() -> None:
    classification, metrics, layers, tables = _hand_run()
    config = load_config(None, [])
    out = run_decisions(classification, metrics, layers, tables, config)
    assert out.params.height == 6
    assert out.decisions["sku"].to_list() == ["A", "B", "C", "D", "E"]
    assert out.decisions["location"].to_list() == ["main"] * 5
    assert out.summary["left_out"] == 1 and len(out.warnings) == 1
    assert "no price or unit cost" in out.warnings[0]


def test_settings_offer_recycling_donation_and_disposal() -> None:
    classification, metrics, layers, tables = _hand_run()
    config = load_config(
        None,
        [
            "recycle_price_per_unit=0.3",
            "recycle_cost_per_unit=0.1",
            "donation_value_share=0.5",
            "donation_cost_per_unit=0.2",
            "disposal_cost_per_unit=0.4",
            "liquidation_cost_per_unit=0.05",
        ],
    )
    a = decision_params(classification, metrics, layers, tables, config).row(0, named=True)
    assert (a["recycle_price"], a["recycle_cost"]) == (0.3, 0.1)
    assert a["donation_value"] == pytest.approx(0.5 * 2.8) and a["donation_cost"] == 0.2
    assert (a["disposal_cost"], a["liquidation_cost"]) == (0.4, 0.05)
    default = decision_params(classification, metrics, layers, tables, load_config(None, []))
    first = default.row(0, named=True)
    assert first["recycle_price"] is None and first["donation_value"] is None
    assert first["disposal_cost"] is None


# ------------------------------------------------------------------------------------------------
# The decisions stage of a run on the demo retailer
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("demo")
    write_demo_data(folder, n_skus=120, n_locations=2, seed=3)
    return run_pipeline(folder, load_config(None, []))


def test_one_decision_per_sku_location_with_excess_on_hand(demo_run) -> None:  # type: ignore[no-untyped-def]
    c = demo_run.classification
    expected = (
        c.with_columns(
            (pl.col("excess_units").fill_null(0.0) - pl.col("inbound")).alias("_need"),
        )
        .filter(pl.col("_need") > 0)
        .sort(KEY)
    )
    params, decisions = demo_run.decision_params, demo_run.decisions
    assert params.select(KEY).rows() == expected.select(KEY).rows()
    assert params["excess_units"].to_list() == pytest.approx(
        expected.select(pl.min_horizontal("_need", "on_hand"))["_need"].to_list()
    )
    assert decisions.select(KEY).rows() == params.select(KEY).rows()
    assert decisions["units"].to_list() == pytest.approx(params["excess_units"].to_list())
    assert set(decisions["action"]) <= {
        "keep",
        "return",
        "liquidate",
        "recycle",
        "markdown",
        "markdown_ladder",
        "fix_listing",
        "bundle",
        "transfer",
    }
    moved = demo_run.decision_tables.get("transfers")
    if moved is not None and moved.height:
        per_source = moved.group_by("sku", pl.col("from_location").alias("location")).agg(
            pl.col("units").sum().alias("moved")
        )
        chosen = decisions.filter(pl.col("action") == "transfer").join(per_source, on=KEY)
        assert chosen.height == decisions.filter(pl.col("action") == "transfer").height
        assert (chosen["moved"] <= chosen["units"] + 1e-9).all()
    marked = decisions.filter(pl.col("action").is_in(["markdown", "markdown_ladder"]))
    assert marked["discount"].is_not_null().all()
    assert marked["markdown_schedule"].is_not_null().all()
    assert decisions.filter(pl.col("action") == "keep")["discount"].is_null().all()
    assert (
        decisions.filter(pl.col("action") == "return")
        .join(params.filter(pl.col("return_eligible") == 0), on=KEY)
        .is_empty()
    )


def test_excess_units_come_from_the_run_layers(demo_run) -> None:  # type: ignore[no-untyped-def]
    layers = demo_run.layers.filter(pl.col("units") > 0)
    on_hand = layers.group_by(KEY).agg(pl.col("units").sum().alias("layers"))
    params = demo_run.decision_params.join(on_hand, on=KEY, how="left")
    assert (params["excess_units"] <= params["layers"] * (1 + 1e-12)).all()
    assert (params["excess_units"] <= params["total_units"] * (1 + 1e-12)).all()
    ages = layers.group_by(KEY).agg(
        pl.col("age_days").min().alias("lo"), pl.col("age_days").max().alias("hi")
    )
    params = params.join(ages, on=KEY)
    assert (params["current_days_in_stock"] >= params["lo"] - 1e-9).all()
    assert (params["current_days_in_stock"] <= params["hi"] + 1e-9).all()


def test_summary_counts_balance(demo_run) -> None:  # type: ignore[no-untyped-def]
    summary = demo_run.summary()["decisions"]
    decisions = demo_run.decisions
    assert summary["sku_locations"] == decisions.height
    assert sum(a["sku_locations"] for a in summary["actions"]) == decisions.height
    assert sum(a["units"] for a in summary["actions"]) == pytest.approx(summary["excess_units"])
    assert summary["value_vs_keep"] == pytest.approx(
        summary["cost_keep_everything"] - summary["total_cost"]
    )
    # Keeping everything is a feasible plan: the optimum is never worse.
    assert summary["value_vs_keep"] >= -1e-6 * max(1.0, summary["cost_keep_everything"])
    assert summary["return_eligible"] == int(demo_run.decision_params["return_eligible"].sum())


def test_run_writes_the_decision_tables(demo_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_outputs(demo_run, tmp_path / "out")
    for name in ("decision_params", "decisions"):
        written = pl.read_parquet(tmp_path / "out" / f"{name}.parquet")
        assert written.height == getattr(demo_run, name).height
        assert (tmp_path / "out" / f"{name}.csv").exists()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["decisions"]["sku_locations"] == demo_run.decisions.height


def test_a_run_without_excess_or_side_tables_decides_nothing() -> None:
    classification, metrics, layers, _ = _hand_run()
    none = classification.with_columns(pl.lit(0.0).alias("excess_units"))
    out = run_decisions(none, metrics, layers, {}, load_config(None, []))
    columns = list(out.params.columns)
    assert out.params.is_empty() and columns[: len(from_run.PARAM_COLUMNS)] == list(
        from_run.PARAM_COLUMNS
    )
    assert out.decisions.is_empty()
    assert out.summary["sku_locations"] == 0 and out.summary["value_vs_keep"] == 0.0
    # Without products, suppliers or receipts: no supplier, no return, term 0, default holding.
    some = run_decisions(classification, metrics, layers, {}, load_config(None, []))
    b = some.params.filter(pl.col("sku") == "B").row(0, named=True)
    assert b["supplier_id"] is None and b["return_eligible"] == 0
    assert (b["payment_days"], b["financed_now"]) == (0.0, 1)
    assert b["holding_cost_per_day"] == pytest.approx(4.0 * 0.25 / 365)


def test_excess_at_one_location_moves_to_another_that_sells_it() -> None:
    """All the excess sits at one location: the other location (no excess, so no parameter
    row) can still receive it."""
    layers = _layers([("A", 300, 40, 5.0, "receipt")])
    classification = pl.DataFrame(
        {
            "sku": ["A", "A"],
            "location": ["main", "shop"],
            "on_hand": [40.0, 0.0],
            "inbound": [0.0, 0.0],
            "forecast_daily": [0.0, 1.0],
            "excess_units": [40.0, 0.0],
            "expected_days_in_stock": [1095.0, None],
            "unit_cost": [5.0, 5.0],
        }
    )
    metrics = pl.DataFrame({"sku": ["A", "A"], "location": ["main", "shop"], "price": [20.0, 20.0]})
    config = load_config(None, ["transfer_cost_per_unit=0.5"])
    out = run_decisions(classification, metrics, layers, {}, config)
    assert out.decisions["action"].to_list() == ["transfer"]
    moved = out.tables["transfers"]
    assert moved["to_location"].to_list() == ["shop"]
    assert 0 < moved["units"].sum() <= 40
