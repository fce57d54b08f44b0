"""Bundle proposals (SPEC §3.5 bundling, §3.6 wave 2): hand cases and a plain-Python oracle."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deadstock.config import load_config
from deadstock.decide.bundles import BUNDLES, BundleSettings, propose_bundles
from deadstock.errors import ConfigError, InputError

CLASSIFICATION: dict[str, Any] = {
    "sku": pl.String,
    "location": pl.String,
    "category": pl.String,
    "on_hand": pl.Float64,
    "segment": pl.String,
    "velocity_band": pl.String,
    "excess_units": pl.Float64,
    "forecast_daily": pl.Float64,
}
METRICS: dict[str, Any] = {
    "sku": pl.String,
    "location": pl.String,
    "price": pl.Float64,
    "unit_cost": pl.Float64,
    "avg_daily_sales": pl.Float64,
}
SALES: dict[str, Any] = {"order_id": pl.String, "sku": pl.String, "qty": pl.Float64}


def item(
    sku: str,
    *,
    category: str | None = "c",
    location: str = "main",
    on_hand: float = 10.0,
    segment: str | None = None,
    band: str | None = "fast",
    excess: float = 0.0,
    forecast: float = 0.0,
    price: float | None = 20.0,
    cost: float | None = 10.0,
    avg: float = 0.0,
) -> dict[str, Any]:
    return {
        "sku": sku,
        "location": location,
        "category": category,
        "on_hand": on_hand,
        "segment": segment,
        "velocity_band": band,
        "excess_units": excess,
        "forecast_daily": forecast,
        "price": price,
        "unit_cost": cost,
        "avg_daily_sales": avg,
    }


def slow(sku: str, **kw: Any) -> dict[str, Any]:
    base = {"segment": "C", "band": "non_moving", "excess": 10.0, "price": 10.0, "cost": 4.0}
    return item(sku, **{**base, **kw})


def hero(sku: str, rate: float, **kw: Any) -> dict[str, Any]:
    return item(sku, **{"band": "fast", "forecast": rate, "price": 30.0, "cost": 12.0, **kw})


def tables(items: list[dict[str, Any]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    c = pl.DataFrame([{k: r[k] for k in CLASSIFICATION} for r in items], schema=CLASSIFICATION)
    m = pl.DataFrame([{k: r[k] for k in METRICS} for r in items], schema=METRICS)
    return c, m


def orders(*baskets: tuple[str, ...]) -> pl.DataFrame:
    rows = [(f"o{i}", sku, 1.0) for i, basket in enumerate(baskets) for sku in basket]
    return pl.DataFrame(rows, schema=SALES, orient="row")


def propose(items: list[dict[str, Any]], **kw: Any) -> dict[tuple[str, str], dict[str, Any]]:
    c, m = tables(items)
    s = kw.pop("settings", BundleSettings())
    out = propose_bundles(c, m, settings=s, **kw)
    assert out.columns == list(BUNDLES.names)
    return {(r["sku"], r["location"]): r for r in out.iter_rows(named=True)}


# ------------------------------------------------------------------------------------------------
# Hero choice
# ------------------------------------------------------------------------------------------------
def test_co_purchase_hero_wins_over_the_category_fast_mover() -> None:
    items = [slow("s"), hero("fastest", 9.0), hero("partner", 1.0, category="other", band="normal")]
    sales = orders(("s", "partner"), ("s", "partner"), ("s", "partner", "fastest"), ("fastest",))
    out = propose(items, sales=sales)
    row = out[("s", "main")]
    assert (row["hero_sku"], row["hero_source"], row["co_purchase_orders"]) == (
        "partner",
        "co_purchase",
        3,
    )
    without_orders = propose(items)[("s", "main")]
    assert (without_orders["hero_sku"], without_orders["hero_source"]) == (
        "fastest",
        "category_fast_mover",
    )
    assert without_orders["co_purchase_orders"] is None


def test_too_few_shared_orders_fall_back_to_the_category_fast_mover() -> None:
    items = [slow("s"), hero("fastest", 9.0), hero("partner", 1.0)]
    sales = orders(("s", "partner"), ("s", "partner"), ("s", "fastest"))
    row = propose(items, sales=sales)[("s", "main")]
    assert (row["hero_sku"], row["hero_source"], row["co_purchase_orders"]) == (
        "fastest",
        "category_fast_mover",
        1,
    )
    two = BundleSettings(min_co_purchase_orders=2)
    assert propose(items, sales=sales, settings=two)[("s", "main")]["hero_sku"] == "partner"


def test_a_co_bought_item_that_is_not_a_fast_mover_is_no_hero() -> None:
    items = [slow("s"), slow("other_slow"), hero("h", 2.0), item("meh", band="slow", forecast=5.0)]
    sales = orders(*[("s", "other_slow", "meh")] * 5)
    row = propose(items, sales=sales)[("s", "main")]
    assert (row["hero_sku"], row["hero_source"], row["co_purchase_orders"]) == (
        "h",
        "category_fast_mover",
        0,
    )


def test_most_shared_orders_then_faster_hero_then_sku() -> None:
    items = [slow("s"), hero("a", 1.0), hero("b", 2.0), hero("c", 2.0)]
    sales = orders(*[("s", "a", "b", "c")] * 3, ("s", "a"))
    assert propose(items, sales=sales)[("s", "main")]["hero_sku"] == "a"  # 4 orders
    sales = orders(*[("s", "a", "b", "c")] * 3)
    assert propose(items, sales=sales)[("s", "main")]["hero_sku"] == "b"  # tie: faster, then sku


def test_no_fast_mover_in_the_category_gives_no_row() -> None:
    items = [
        slow("s"),
        hero("elsewhere", 5.0, category="d"),
        hero("other_store", 5.0, location="store"),
        hero("empty_shelf", 5.0, on_hand=0.0),
        hero("no_sales", 0.0),
        item("normal_but_slow", band="slow", forecast=5.0),
    ]
    assert propose(items) == {}


def test_only_segment_b_and_c_with_excess_units_are_bundled() -> None:
    items = [
        slow("b", segment="B"),
        slow("a", segment="A"),
        slow("d", segment="D"),
        slow("no_excess", excess=0.0),
        slow("no_segment", segment=None),
        hero("h", 3.0),
    ]
    s = BundleSettings(max_per_hero=10)
    assert set(propose(items, settings=s)) == {("b", "main")}


def test_a_hero_carries_at_most_max_per_hero_slow_skus() -> None:
    items = [
        slow("small", excess=2.0),  # excess value 8
        slow("big", excess=20.0),  # 80
        slow("mid", excess=5.0),  # 20
        hero("fast", 5.0),
        hero("slower", 1.0),
    ]
    out = propose(items, settings=BundleSettings(max_per_hero=1))
    assert {k[0]: v["hero_sku"] for k, v in out.items()} == {"big": "fast", "mid": "slower"}
    out = propose(items, settings=BundleSettings(max_per_hero=2))
    assert {k[0]: v["hero_sku"] for k, v in out.items()} == {
        "big": "fast",
        "mid": "fast",
        "small": "slower",
    }


def test_co_purchase_overflow_takes_the_next_category_place() -> None:
    items = [
        slow("x", excess=20.0),
        slow("y", excess=30.0),
        hero("partner", 5.0),
        hero("backup", 1.0),
    ]
    sales = orders(*[("x", "partner")] * 4, *[("y", "partner")] * 3)
    out = propose(items, sales=sales, settings=BundleSettings(max_per_hero=1))
    # x shares more orders with the partner, so it keeps the place; y goes to the category pass,
    # where the partner is full and the backup has room
    assert (out[("x", "main")]["hero_sku"], out[("x", "main")]["hero_source"]) == (
        "partner",
        "co_purchase",
    )
    assert (out[("y", "main")]["hero_sku"], out[("y", "main")]["hero_source"]) == (
        "backup",
        "category_fast_mover",
    )
    assert out[("y", "main")]["co_purchase_orders"] == 0


def test_orders_are_matched_within_a_location_when_sales_have_one() -> None:
    items = [slow("s"), hero("h", 1.0, category="d"), slow("s", location="store")]
    items += [hero("h", 1.0, category="d", location="store")]
    sales = orders(*[("s", "h")] * 3).with_columns(pl.lit("main").alias("location"))
    out = propose(items, sales=sales)
    assert out[("s", "main")]["hero_source"] == "co_purchase"
    assert ("s", "store") not in out  # no category hero there, no orders there
    without_location = propose(items, sales=sales.drop("location"))
    assert without_location[("s", "store")]["hero_source"] == "co_purchase"


def test_hero_speed_is_the_forecast_else_the_average_daily_sales() -> None:
    items = [slow("s"), hero("by_avg", 0.0, avg=3.0), hero("by_forecast", 2.0, avg=9.0)]
    row = propose(items)[("s", "main")]
    assert (row["hero_sku"], row["hero_daily_sales"]) == ("by_avg", 3.0)


def test_prices_and_costs_fall_back_to_products() -> None:
    items = [slow("s", price=None, cost=None, category=None), hero("h", 1.0, price=None)]
    c, m = tables(items)
    products = pl.DataFrame(
        {"sku": ["s", "h"], "price": [10.0, 25.0], "unit_cost": [4.0, 99.0], "category": ["c"] * 2}
    )
    out = propose_bundles(c, m, products=products)
    assert out.height == 1
    row = out.row(0, named=True)
    assert (row["category"], row["slow_price"], row["hero_price"]) == ("c", 10.0, 25.0)
    assert row["hero_margin"] == 25.0 - 12.0  # sku_metrics' unit cost comes first
    assert propose_bundles(c, m).height == 0  # without products: no price, no category


# ------------------------------------------------------------------------------------------------
# Price and value
# ------------------------------------------------------------------------------------------------
def test_price_without_floor_keeps_the_hero_margin() -> None:
    row = propose([slow("s", price=10.0, cost=4.0), hero("h", 1.0, price=30.0, cost=12.0)])[
        ("s", "main")
    ]
    assert row["bundle_discount"] == pytest.approx(0.30)
    assert row["bundle_price"] == pytest.approx(30.0 + 7.0)
    assert row["bundle_price"] < row["hero_price"] + row["slow_price"]
    assert row["slow_unit_revenue"] == pytest.approx(7.0)
    assert row["hero_margin"] == pytest.approx(18.0)
    assert row["hero_margin_kept"] >= row["hero_margin"] - 1e-9


def test_price_floor_binds_at_the_slow_items_unit_cost() -> None:
    # price 10, cost 8, recovery 1.0: the slow part may not fall below 8, so d = 0.2 not 0.3
    row = propose([slow("s", price=10.0, cost=8.0), hero("h", 1.0, price=30.0, cost=12.0)])[
        ("s", "main")
    ]
    assert row["bundle_discount"] == pytest.approx(0.20)
    assert row["bundle_price"] == pytest.approx(38.0)
    assert row["slow_unit_revenue"] == pytest.approx(8.0)
    assert row["hero_margin_kept"] == pytest.approx(18.0)
    half = BundleSettings(min_slow_recovery=0.5)
    row = propose([slow("s", price=10.0, cost=8.0), hero("h", 1.0)], settings=half)[("s", "main")]
    assert row["bundle_discount"] == pytest.approx(0.30)


def test_no_bundle_when_the_floor_leaves_less_than_the_minimum_discount() -> None:
    items = [
        slow("thin", price=10.0, cost=9.8),
        slow("at_cost", price=10.0, cost=10.0),
        slow("under", price=10.0, cost=12.0),
        hero("h", 1.0),
    ]
    assert propose(items, settings=BundleSettings(max_per_hero=5)) == {}
    low = BundleSettings(max_per_hero=5, min_discount=0.0)
    out = propose(items, settings=low)
    assert set(out) == {("thin", "main")}  # a discount of 0 (at_cost) is no bundle
    assert out[("thin", "main")]["bundle_discount"] == pytest.approx(0.02)


def test_expected_units_days_and_value_by_hand() -> None:
    # hero sells 2/day, uptake 0.1 -> 0.2 bundles/day; 8 weeks -> 11.2 units < 20 excess
    items = [slow("s", excess=20.0, price=10.0, cost=4.0), hero("h", 2.0)]
    row = propose(items, settings=BundleSettings(discount_rate_excess=0.0))[("s", "main")]
    assert row["expected_units"] == pytest.approx(11.2)
    assert row["expected_days"] == pytest.approx(56.0)
    assert row["expected_value"] == pytest.approx(11.2 * 7.0)
    # 3 excess units sell in 15 days; day d = 0..14 sells 0.2 units, discounted by 1.01^-d
    items = [slow("s", excess=3.0, price=10.0, cost=4.0), hero("h", 2.0)]
    row = propose(items, settings=BundleSettings(discount_rate_excess=0.01))[("s", "main")]
    assert row["expected_units"] == pytest.approx(3.0)
    assert row["expected_days"] == pytest.approx(15.0)
    assert row["expected_value"] == pytest.approx(sum(7.0 * 0.2 / 1.01**d for d in range(15)))
    # a fractional last day: 2.5 units at 0.2/day = 12.5 days, day 12 sells 0.1 units
    items = [slow("s", excess=2.5, price=10.0, cost=4.0), hero("h", 2.0)]
    row = propose(items, settings=BundleSettings(discount_rate_excess=0.01))[("s", "main")]
    want = sum(1.4 / 1.01**d for d in range(12)) + 0.7 / 1.01**12
    assert row["expected_days"] == pytest.approx(12.5)
    assert row["expected_value"] == pytest.approx(want)


def test_empty_inputs_give_an_empty_table_with_every_column() -> None:
    c, m = tables([])
    out = propose_bundles(c, m, sales=pl.DataFrame(schema=SALES))
    assert out.height == 0 and out.columns == list(BUNDLES.names)
    assert dict(out.schema) == {col.name: col.dtype for col in BUNDLES.columns}


def test_a_missing_column_names_the_table_and_the_fix() -> None:
    c, m = tables([slow("s"), hero("h", 1.0)])
    with pytest.raises(InputError) as info:
        propose_bundles(c.drop("segment"), m)
    assert (info.value.file, info.value.column) == ("classification", "segment")
    with pytest.raises(InputError) as info:
        propose_bundles(c, m.drop("price"))
    assert (info.value.file, info.value.column) == ("sku_metrics", "price")


@pytest.mark.parametrize(
    "bad",
    [{"discount": 1.2}, {"uptake_rate": 0.0}, {"horizon_weeks": 0}, {"max_per_hero": 1.5}],
)
def test_bad_settings_are_config_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        BundleSettings(**bad)


def test_settings_come_from_the_config() -> None:
    assert BundleSettings.from_config(load_config()) == BundleSettings()
    config = load_config(
        None, ["bundle_discount=0.2", "bundle_max_per_hero=5", "discount_rate_excess=0.001"]
    )
    assert BundleSettings.from_config(config) == replace(
        BundleSettings(), discount=0.2, max_per_hero=5, discount_rate_excess=0.001
    )


# ------------------------------------------------------------------------------------------------
# Plain-Python oracle on random data
# ------------------------------------------------------------------------------------------------
def oracle(
    items: list[dict[str, Any]], baskets: list[tuple[str, str, list[str]]], s: BundleSettings
) -> dict[tuple[str, str], dict[str, Any]]:
    """Hero choice, prices and value, one SKU at a time (baskets: order, location, skus)."""

    def speed(r: dict[str, Any]) -> float:
        return r["forecast_daily"] if r["forecast_daily"] > 0 else max(r["avg_daily_sales"], 0.0)

    slows, heroes = {}, {}
    for r in items:
        key = (r["sku"], r["location"])
        priced = r["price"] is not None and r["price"] > 0 and r["unit_cost"] is not None
        stocked = r["on_hand"] > 0
        if r["segment"] in ("B", "C") and r["excess_units"] > 0 and stocked and priced:
            d = min(s.discount, 1 - s.min_slow_recovery * r["unit_cost"] / r["price"])
            if d >= s.min_discount and d > 0:
                slows[key] = {**r, "d": d, "value": r["excess_units"] * r["unit_cost"]}
        fast = r["velocity_band"] in ("fast", "normal") and r["excess_units"] <= 0
        if fast and stocked and priced and speed(r) > 0:
            heroes[key] = {**r, "speed": speed(r)}

    def shared(slow_key: tuple[str, str], hero_sku: str) -> int:
        return sum(
            1
            for _, loc, skus in baskets
            if loc == slow_key[1] and slow_key[0] in skus and hero_sku in skus
        )

    # pass 1: each slow SKU's top co-bought hero; a full hero keeps the most shared orders
    wants: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key in slows:
        options = [
            (shared(key, h[0]), heroes[h]["speed"], h[0])
            for h in heroes
            if h[1] == key[1] and shared(key, h[0]) >= s.min_co_purchase_orders
        ]
        if options:
            top = min(options, key=lambda o: (-o[0], -o[1], o[2]))
            wants.setdefault((top[2], key[1]), []).append(key)
    chosen: dict[tuple[str, str], tuple[str, str]] = {}
    load = {h: 0 for h in heroes}
    for h, keys in wants.items():
        keys.sort(key=lambda k: (-shared(k, h[0]), -slows[k]["value"], k[0]))
        for k in keys[: s.max_per_hero]:
            chosen[k] = (h[0], "co_purchase")
            load[h] += 1
    # pass 2: category fast movers, fastest first, largest excess value first
    waiting = sorted(
        (k for k in slows if k not in chosen and slows[k]["category"] is not None),
        key=lambda k: (-slows[k]["value"], k[0]),
    )
    for k in waiting:
        cat = slows[k]["category"]
        ranked = sorted(
            (h for h in heroes if h[1] == k[1] and heroes[h]["category"] == cat),
            key=lambda h: (-heroes[h]["speed"], h[0]),
        )
        for h in ranked:
            if load[h] < s.max_per_hero:
                chosen[k] = (h[0], "category_fast_mover")
                load[h] += 1
                break
    out = {}
    q = 1 / (1 + s.discount_rate_excess)
    for k, (hero_sku, source) in chosen.items():
        r, h = slows[k], heroes[(hero_sku, k[1])]
        part = r["price"] * (1 - r["d"])
        rate = s.uptake_rate * h["speed"]
        units = min(r["excess_units"], rate * 7 * s.horizon_weeks)
        days = units / rate
        value = sum(part * rate * q**d for d in range(math.floor(days)))
        value += part * rate * (days - math.floor(days)) * q ** math.floor(days)
        out[k] = {
            "hero_sku": hero_sku,
            "hero_source": source,
            "co_purchase_orders": shared(k, hero_sku) if baskets else None,
            "bundle_discount": r["d"],
            "bundle_price": h["price"] + part,
            "hero_margin_kept": h["price"] - h["unit_cost"],
            "expected_units": units,
            "expected_days": days,
            "expected_value": value,
        }
    return out


@st.composite
def catalogues(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[str, str, list[str]]]]:
    """Slow-looking, hero-looking and arbitrary rows at one or two locations, and baskets."""
    n = draw(st.integers(1, 14))
    locations = ["main", "store"][: draw(st.integers(1, 2))]
    items = []
    for i in range(n):
        role = draw(st.sampled_from(["slow", "slow", "hero", "hero", "any"]))
        for loc in locations:
            if loc != "main" and draw(st.booleans()):
                continue
            if role == "slow":
                segment = draw(st.sampled_from(["B", "C", "C", "C", "A", None]))
                band = draw(st.sampled_from(["very_slow", "non_moving", "non_moving", "fast"]))
                excess = draw(st.sampled_from([0.0, 2.0, 5.0, 5.0, 40.0, 40.0]))
            elif role == "hero":
                segment = draw(st.sampled_from([None, None, "C"]))
                band = draw(st.sampled_from(["fast", "fast", "normal", "normal", "slow", None]))
                excess = draw(st.sampled_from([0.0, 0.0, 0.0, 3.0]))
            else:
                segment = draw(st.sampled_from(["B", "C", "D", None]))
                band = draw(st.sampled_from(["fast", "normal", "slow", "non_moving", None]))
                excess = draw(st.sampled_from([0.0, 2.0, 40.0]))
            items.append(
                item(
                    f"k{i:02d}",
                    location=loc,
                    category=draw(st.sampled_from(["c", "c", "c", "d", None])),
                    on_hand=draw(st.sampled_from([0.0, 3.0, 10.0, 10.0, 10.0])),
                    segment=segment,
                    band=band,
                    excess=excess,
                    forecast=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 2.0])),
                    avg=draw(st.sampled_from([0.0, 1.0, 3.0])),
                    price=draw(st.sampled_from([None, 0.0, 8.0, 10.0, 10.0, 25.0, 25.0, 25.0])),
                    cost=draw(st.sampled_from([None, 4.0, 4.0, 4.0, 7.5, 9.0])),
                )
            )
    skus = sorted({r["sku"] for r in items})
    baskets = []
    if draw(st.booleans()):
        for j in range(draw(st.integers(0, 30))):
            loc = draw(st.sampled_from(locations))
            basket = draw(st.lists(st.sampled_from(skus), min_size=1, max_size=4, unique=True))
            baskets.append((f"o{j}", loc, basket))
    return items, baskets


def check_against_oracle(
    items: list[dict[str, Any]], baskets: list[tuple[str, str, list[str]]], s: BundleSettings
) -> int:
    """Compare propose_bundles with the oracle; return the number of bundles."""
    c, m = tables(items)
    sales = None
    if baskets:
        rows = [(o, sku, 1.0, loc) for o, loc, skus in baskets for sku in skus]
        rows.append(("o0", items[0]["sku"], -1.0, "main"))  # a return line counts for nothing
        sales = pl.DataFrame(rows, schema={**SALES, "location": pl.String}, orient="row")
    got = propose_bundles(c, m, sales=sales, settings=s)
    want = oracle(items, baskets, s)
    assert list(zip(got["sku"], got["location"], strict=True)) == sorted(want)
    for g in got.iter_rows(named=True):
        key = (g["sku"], g["location"])
        w = want[key]
        for col in ("hero_sku", "hero_source", "co_purchase_orders"):
            assert g[col] == w[col], (key, col)
        for col in (
            "bundle_discount",
            "bundle_price",
            "hero_margin_kept",
            "expected_units",
            "expected_days",
            "expected_value",
        ):
            assert g[col] == pytest.approx(w[col], rel=1e-9, abs=1e-12), (key, col)
        assert g["bundle_price"] < g["hero_price"] + g["slow_price"]
        assert g["hero_margin_kept"] >= g["hero_margin"] - 1e-9
    return len(want)


@settings(max_examples=120, deadline=None)
@given(
    data=catalogues(),
    max_per_hero=st.integers(1, 3),
    min_orders=st.integers(1, 3),
    discount=st.sampled_from([0.1, 0.3]),
    recovery=st.sampled_from([0.5, 1.0]),
    rate=st.sampled_from([0.0, 0.002]),
)
def test_propose_bundles_equals_a_plain_python_oracle(
    data: tuple[list[dict[str, Any]], list[tuple[str, str, list[str]]]],
    max_per_hero: int,
    min_orders: int,
    discount: float,
    recovery: float,
    rate: float,
) -> None:
    items, baskets = data
    s = BundleSettings(
        discount=discount,
        min_slow_recovery=recovery,
        max_per_hero=max_per_hero,
        min_co_purchase_orders=min_orders,
        discount_rate_excess=rate,
    )
    check_against_oracle(items, baskets, s)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_larger_random_catalogue_equals_the_oracle(seed: int) -> None:
    """80 SKUs at two locations, three categories, 300 orders: heroes run out of places."""
    rng = random.Random(seed)
    items = []
    for i in range(80):
        is_slow = rng.random() < 0.5
        for loc in ("main", "store"):
            if loc == "store" and rng.random() < 0.3:
                continue
            items.append(
                item(
                    f"k{i:02d}",
                    location=loc,
                    category=rng.choice(["c", "d", "e", None]),
                    on_hand=rng.choice([0.0, 5.0, 10.0, 10.0, 10.0]),
                    segment=rng.choice(["B", "C", "C", "C", "A"]) if is_slow else None,
                    band=rng.choice(["very_slow", "non_moving"])
                    if is_slow
                    else rng.choice(["fast", "normal", "slow"]),
                    excess=rng.choice([0.0, 1.0, 4.0, 4.0, 30.0]) if is_slow else 0.0,
                    forecast=rng.choice([0.0, 0.5, 1.0, 1.5, 3.0]),
                    avg=rng.choice([0.0, 1.0, 2.0]),
                    price=rng.choice([None, 6.0, 10.0, 15.0, 25.0, 25.0, 25.0]),
                    cost=rng.choice([None, 3.0, 3.0, 5.0, 5.0, 9.0]),
                )
            )
    skus = sorted({r["sku"] for r in items})
    baskets = [
        (f"o{j}", rng.choice(["main", "store"]), rng.sample(skus, rng.randint(1, 5)))
        for j in range(300)
    ]
    s = BundleSettings(max_per_hero=2, min_co_purchase_orders=2, discount_rate_excess=0.001)
    assert check_against_oracle(items, baskets, s) >= 10  # the case is not empty
