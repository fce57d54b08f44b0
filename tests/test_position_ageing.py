"""Age profile (SPEC §3.1): bucket boundaries, ERPNext reference values, oracle property test."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deadstock.config import AGE_BUCKET_PRESETS
from deadstock.position import age_profile, replay_ledger
from deadstock.schema import LAYERS, age_bucket_names
from test_position_oracle import load_ledger_case

AS_OF = date(2024, 6, 30)


def _layers(rows: list[tuple[str, str, int, float, float | None]]) -> pl.DataFrame:
    """(sku, location, age_days, units, unit_cost) → a LAYERS table."""
    return pl.DataFrame(
        [
            {
                "sku": s,
                "location": loc,
                "received": AS_OF - timedelta(days=age),
                "units": units,
                "unit_cost": cost,
                "value": None if cost is None else units * cost,
                "age_days": age,
                "origin": "negative" if units < 0 else "receipt",
            }
            for s, loc, age, units, cost in rows
        ],
        schema=LAYERS.polars_schema(),
    )


def test_bucket_boundaries_are_inclusive_upper_edges() -> None:
    layers = _layers(
        [
            ("a", "m", 0, 1.0, 1.0),
            ("a", "m", 30, 2.0, 1.0),
            ("a", "m", 31, 4.0, 1.0),
            ("a", "m", 60, 8.0, 1.0),
            ("a", "m", 61, 16.0, 1.0),
            ("a", "m", 90, 32.0, 1.0),
            ("a", "m", 91, 64.0, 1.0),
            ("a", "m", 400, 128.0, 1.0),
        ]
    )
    profile = age_profile(layers, [30, 60, 90])
    row = profile.row(0, named=True)
    assert [row[f"age_{b}_units"] for b in ["0_30", "31_60", "61_90", "91_plus"]] == [
        3.0,
        12.0,
        48.0,
        192.0,
    ]


def test_columns_follow_the_schema_bucket_names() -> None:
    edges = AGE_BUCKET_PRESETS["amazon"]
    profile = age_profile(_layers([("a", "m", 200, 1.0, 2.0)]), edges)
    names = age_bucket_names(list(edges))
    assert profile.columns == [
        "sku",
        "location",
        "stock_value",
        "positive_units",
        "avg_age_days",
        *[f"age_{n}_{part}" for n in names for part in ("units", "value")],
    ]
    assert profile["age_181_210_value"].to_list() == [2.0]


def test_negative_layers_are_left_out_and_unknown_cost_counts_zero_value() -> None:
    layers = _layers(
        [
            ("a", "m", 10, 4.0, None),
            ("a", "m", 40, 2.0, 3.0),
            ("b", "m", 0, -5.0, 2.0),
        ]
    )
    profile = age_profile(layers, [30])
    assert profile.select("sku", "stock_value", "positive_units", "avg_age_days").rows() == [
        ("a", 6.0, 6.0, (4 * 10 + 2 * 40) / 6),
        ("b", 0.0, 0.0, None),
    ]
    assert profile.filter(pl.col("sku") == "b")["age_0_30_units"].to_list() == [0.0]


def test_erpnext_ageing_valuation_per_range() -> None:
    case = load_ledger_case("erpnext_ageing_stock_valuation")
    layers = replay_ledger(case["ledger"], case["as_of"]).layers
    edges = case["meta"]["age_edges"]
    profile = age_profile(layers, edges)
    values = [profile[f"age_{n}_value"][0] for n in age_bucket_names(edges)]
    assert values == pytest.approx(case["meta"]["age_values"])
    assert profile["stock_value"][0] == pytest.approx(sum(case["meta"]["age_values"]))


def test_empty_layers_give_an_empty_profile() -> None:
    profile = age_profile(_layers([]), [30, 60])
    assert profile.height == 0
    assert "age_61_plus_value" in profile.columns


# ---------------------------------------------------------------------------------------------
# Oracle: a plain loop over the layers.
# ---------------------------------------------------------------------------------------------
_layer = st.tuples(
    st.sampled_from(["a", "b"]),
    st.sampled_from(["x", "y"]),
    st.integers(-2, 500),
    st.integers(-8, 40).map(lambda u: u / 4),
    st.one_of(st.none(), st.integers(0, 20).map(float)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_layer, max_size=25),
    st.lists(st.integers(1, 400), min_size=0, max_size=5, unique=True).map(sorted),
)
def test_profile_equals_plain_loop(rows: list[Any], edges: list[int]) -> None:
    profile = age_profile(_layers(rows), edges)
    names = age_bucket_names(edges)
    want: dict[tuple[str, str], dict[str, Any]] = {}
    for sku, loc, age, units, cost in rows:
        acc = want.setdefault(
            (sku, loc),
            {
                "stock_value": 0.0,
                "positive_units": 0.0,
                "days": 0.0,
                **{f"age_{n}_{p}": 0.0 for n in names for p in ("units", "value")},
            },
        )
        if units <= 0:
            continue
        bucket = len(edges)
        for i, edge in enumerate(edges):
            if age <= edge:
                bucket = i
                break
        value = 0.0 if cost is None else units * cost
        acc["stock_value"] += value
        acc["positive_units"] += units
        acc["days"] += units * age
        acc[f"age_{names[bucket]}_units"] += units
        acc[f"age_{names[bucket]}_value"] += value
    assert profile.select("sku", "location").rows() == sorted(want)
    for row in profile.iter_rows(named=True):
        acc = want[(row["sku"], row["location"])]
        unit_days = acc.pop("days")
        avg = unit_days / acc["positive_units"] if acc["positive_units"] > 0 else None
        assert row["avg_age_days"] == (None if avg is None else pytest.approx(avg))
        for column, value in acc.items():
            assert row[column] == pytest.approx(value), column


def test_layers_of_a_key_split_across_the_table_are_still_one_row() -> None:
    contiguous = _layers(
        [
            ("a", "m", 5, 1.0, 2.0),
            ("a", "m", 50, 2.0, 2.0),
            ("b", "m", 5, 4.0, 1.0),
        ]
    )
    scattered = contiguous[[1, 2, 0]]
    assert age_profile(scattered, [30]).rows() == age_profile(contiguous, [30]).rows()
    assert age_profile(scattered, [30]).height == 2
