"""Ledger replay (SPEC §3.1): named reference cases, oracle property tests, warnings, comparison."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deadstock.position import compare_inventory, replay_ledger
from deadstock.position.ledger_prepare import prepare_ledger
from deadstock.schema import LAYERS
from test_position_oracle import (
    LEDGER_SCHEMA,
    assert_same_layers,
    layers_by_key,
    ledger_case_names,
    ledger_oracle,
    load_ledger_case,
)

METHODS = ["auto", "exact"]
BASE = date(2024, 5, 1)


# ---------------------------------------------------------------------------------------------
# Named cases (tests/data/ledgers): ERPNext's published FIFO tests and one case per rule.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ledger_case_names())
def test_named_ledger_case(name: str, method: str) -> None:
    case = load_ledger_case(name)
    result = replay_ledger(case["ledger"], case["as_of"], case["fallback"], method=method)
    assert result.layers.schema == pl.Schema(LAYERS.polars_schema())
    assert_same_layers(layers_by_key(result.layers), layers_by_key(case["expected"]))
    # Balances: the sum of the layers, or as stated in the case.
    balances = {(s, loc): v for s, loc, v in result.balances.iter_rows()}
    stated = {(s, loc): v for s, loc, v in case["meta"].get("balances", [])}
    for key, units in balances.items():
        want = stated.get(key)
        if want is None:
            want = sum(r[1] for r in layers_by_key(case["expected"]).get(key, []))
        assert units == pytest.approx(want, abs=1e-9), key
    for fragment in case["meta"].get("warnings", []):
        assert any(fragment in w for w in result.warnings), result.warnings
    if "warnings" not in case["meta"]:
        assert result.warnings == []
    value = result.layers["value"].to_list()
    expect = [
        None if u is None or c is None else u * c
        for u, c in zip(result.layers["units"], result.layers["unit_cost"], strict=True)
    ]
    assert value == pytest.approx(expect)


def test_age_is_days_since_received() -> None:
    case = load_ledger_case("erpnext_ageing_stock_valuation")
    layers = replay_ledger(case["ledger"], case["as_of"]).layers
    assert layers["age_days"].to_list() == [119, 89, 58, 57, 30]


# ---------------------------------------------------------------------------------------------
# Property tests against the plain-Python FIFO queue oracle.
# ---------------------------------------------------------------------------------------------
SKUS = ["s1", "s2"]
LOCATIONS = ["A", "B", "C"]


@st.composite
def ledgers(draw: Any, transfers: bool = True, step: float = 0.25) -> tuple[pl.DataFrame, date]:
    """Random ledgers: receipts, issues beyond stock, reconciliations up/down, transfers
    (paired, receiving row first, late-dated, mismatched, unpaired), decimals, same-day rows,
    rows after as_of, missing values."""
    kinds = ["receipt", "issue", "sale", "reco", "reco_no_after", "untyped"]
    if transfers:
        kinds += ["transfer", "transfer", "transfer_in_first", "transfer_late", "transfer_lone"]
    qty = st.integers(1, 40).map(lambda q: q * step)
    value = st.one_of(st.none(), st.integers(0, 60).map(lambda v: v * step))
    rows: list[dict[str, Any]] = []
    n = draw(st.integers(0, 24))
    for i in range(n):
        kind = draw(st.sampled_from(kinds))
        day = BASE + timedelta(days=draw(st.integers(0, 8)))
        sku = draw(st.sampled_from(SKUS))
        loc = draw(st.sampled_from(LOCATIONS))
        q = draw(qty)
        v = draw(value)
        row = {
            "date": day,
            "sku": sku,
            "location": loc,
            "qty_change": q,
            "voucher_type": None,
            "qty_after": None,
            "value_change": v,
            "voucher_id": None,
        }
        if kind == "receipt":
            rows.append(row | {"voucher_type": "receipt"})
        elif kind in ("issue", "sale"):
            rows.append(
                row
                | {
                    "voucher_type": kind,
                    "qty_change": -q,
                    "value_change": None if v is None else -v,
                }
            )
        elif kind == "reco":
            after = draw(st.integers(0, 40)) * step
            rows.append(
                row
                | {
                    "voucher_type": "Reconciliation",
                    "qty_after": after,
                    "qty_change": draw(st.sampled_from([0.0, q, -q])),
                }
            )
        elif kind == "reco_no_after":
            rows.append(
                row
                | {"voucher_type": "reconciliation", "qty_change": draw(st.sampled_from([q, -q]))}
            )
        elif kind == "untyped":
            rows.append(row | {"qty_change": draw(st.sampled_from([q, -q]))})
        else:
            to = draw(st.sampled_from([x for x in LOCATIONS if x != loc]))
            q_in = q if draw(st.integers(0, 4)) else draw(qty)  # mostly equal quantities
            later = day + timedelta(days=draw(st.integers(0, 2)))
            out = row | {
                "voucher_type": "transfer",
                "qty_change": -q,
                "value_change": None,
                "voucher_id": f"T{i}",
            }
            inn = row | {
                "voucher_type": "transfer",
                "location": to,
                "qty_change": q_in,
                "value_change": v,
                "voucher_id": f"T{i}",
            }
            if kind == "transfer":
                rows += [out, inn | {"date": later}]
            elif kind == "transfer_in_first":  # maybe with a row of the receiving side between
                between = draw(
                    st.sampled_from(
                        [
                            [],
                            [
                                inn
                                | {
                                    "voucher_type": "reconciliation",
                                    "voucher_id": None,
                                    "qty_after": draw(qty),
                                    "qty_change": 0.0,
                                }
                            ],
                            [inn | {"voucher_type": "sale", "voucher_id": None, "qty_change": -q}],
                        ]
                    )
                )
                rows += [inn, *between, out]
            elif kind == "transfer_late":  # receiving side dated before the issue: unpaired
                rows += [inn, out | {"date": day + timedelta(days=1)}]
            else:
                rows.append(draw(st.sampled_from([out, inn, out | {"voucher_id": None}])))
    as_of = BASE + timedelta(days=draw(st.integers(0, 9)))
    frame = pl.DataFrame(rows, schema=LEDGER_SCHEMA) if rows else pl.DataFrame(schema=LEDGER_SCHEMA)
    return frame, as_of


@st.composite
def fallbacks(draw: Any) -> pl.DataFrame | None:
    entries = draw(
        st.lists(
            st.tuples(
                st.sampled_from(SKUS),
                st.sampled_from([None, *LOCATIONS]),
                st.integers(1, 20).map(lambda c: c / 4),
            ),
            max_size=4,
        )
    )
    if not entries or draw(st.booleans()):
        return None
    return pl.DataFrame(entries, schema=["sku", "location", "unit_cost"], orient="row")


def _check_against_oracle(ledger: pl.DataFrame, as_of: date, fallback: Any) -> None:
    want_layers, want_balances = ledger_oracle(ledger, as_of, fallback)
    for method in METHODS:
        result = replay_ledger(ledger, as_of, fallback, method=method)  # type: ignore[arg-type]
        assert_same_layers(layers_by_key(result.layers), want_layers)
        got_balances = {(s, loc): v for s, loc, v in result.balances.iter_rows()}
        assert got_balances.keys() == want_balances.keys()
        layers = layers_by_key(result.layers)
        for key, units in want_balances.items():
            assert got_balances[key] == pytest.approx(float(units), abs=1e-9)
            # No unit created or lost: the layers add up to the balance.
            assert sum(layer[1] for layer in layers.get(key, [])) == pytest.approx(
                float(units), abs=1e-9
            )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers(transfers=False), fallbacks())
def test_paths_equal_oracle_without_transfers(
    case: tuple[pl.DataFrame, date], fallback: pl.DataFrame | None
) -> None:
    ledger, as_of = case
    if ledger.height:  # without paired transfers every SKU takes the vectorised path
        assert not prepare_ledger(ledger, as_of).rows["linked"].any()
    _check_against_oracle(ledger, as_of, fallback)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers(transfers=True), fallbacks())
def test_paths_equal_oracle_with_transfers(
    case: tuple[pl.DataFrame, date], fallback: pl.DataFrame | None
) -> None:
    ledger, as_of = case
    _check_against_oracle(ledger, as_of, fallback)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers(transfers=True, step=0.1))
def test_decimal_ledgers_conserve_units_and_paths_agree(case: tuple[pl.DataFrame, date]) -> None:
    """Tenths are not exact in binary: float noise must neither create nor lose units."""
    ledger, as_of = case
    auto = replay_ledger(ledger, as_of)
    exact = replay_ledger(ledger, as_of, method="exact")
    assert_same_layers(layers_by_key(auto.layers), layers_by_key(exact.layers), tol=1e-9)
    _, want_balances = ledger_oracle(ledger, as_of)
    layers = layers_by_key(auto.layers)
    for key, units in want_balances.items():
        assert sum(layer[1] for layer in layers.get(key, [])) == pytest.approx(
            float(units), abs=1e-9
        )


def test_auto_uses_both_paths_on_a_mixed_ledger() -> None:
    ledger = pl.DataFrame(
        [
            (BASE, "linked", "A", 5.0, "receipt", None, 5.0, None),
            (BASE, "linked", "A", -2.0, "transfer", None, None, "T"),
            (BASE, "linked", "B", 2.0, "transfer", None, None, "T"),
            (BASE, "alone", "A", 3.0, "receipt", None, 6.0, None),
        ],
        schema=LEDGER_SCHEMA,
        orient="row",
    )
    prepared = prepare_ledger(ledger, BASE)
    rows = prepared.rows.join(prepared.keys, on=["_k", "_s"])
    assert set(rows.filter("linked")["sku"]) == {"linked"}
    assert set(rows.filter(~pl.col("linked"))["sku"]) == {"alone"}
    result = replay_ledger(ledger, BASE)
    assert_same_layers(layers_by_key(result.layers), ledger_oracle(ledger, BASE)[0])


# ---------------------------------------------------------------------------------------------
# Inputs, warnings, comparison.
# ---------------------------------------------------------------------------------------------
def test_minimal_ledger_without_optional_columns() -> None:
    ledger = pl.DataFrame(
        {"date": [BASE, BASE + timedelta(days=1)], "sku": ["x", "x"], "qty_change": [4.0, -1.0]}
    )
    result = replay_ledger(ledger, BASE + timedelta(days=3))
    assert result.layers.select("location", "units", "origin").rows() == [("main", 3.0, "receipt")]
    assert result.layers["unit_cost"].to_list() == [None]
    assert result.balances.rows() == [("x", "main", 3.0)]


def test_empty_ledger_gives_empty_tables() -> None:
    result = replay_ledger(pl.DataFrame(schema=LEDGER_SCHEMA), BASE)
    assert result.layers.height == 0 and result.balances.height == 0
    assert result.layers.schema == pl.Schema(LAYERS.polars_schema())


def test_reconciliation_without_qty_after_is_a_plain_change_with_warning() -> None:
    ledger = pl.DataFrame(
        [(BASE, "x", "A", 4.0, "reconciliation", None, None, None)],
        schema=LEDGER_SCHEMA,
        orient="row",
    )
    result = replay_ledger(ledger, BASE)
    assert result.balances["on_hand"].to_list() == [4.0]
    assert any("without qty_after" in w for w in result.warnings)


def test_mismatched_transfer_quantities_warn_and_conserve_each_side() -> None:
    ledger = pl.DataFrame(
        [
            (BASE, "x", "A", 10.0, "receipt", None, 10.0, None),
            (BASE, "x", "A", -6.0, "transfer", None, None, "T"),
            (BASE, "x", "B", 4.0, "transfer", None, None, "T"),
        ],
        schema=LEDGER_SCHEMA,
        orient="row",
    )
    result = replay_ledger(ledger, BASE)
    assert any("different quantity" in w for w in result.warnings)
    assert dict(zip(result.balances["location"], result.balances["on_hand"], strict=True)) == {
        "A": 4.0,
        "B": 4.0,
    }
    assert result.layers.filter(pl.col("location") == "B")["origin"].to_list() == ["transfer"]


def test_compare_inventory_reports_only_differences_beyond_tolerance() -> None:
    position = pl.DataFrame(
        {"sku": ["a", "b", "c"], "location": ["main"] * 3, "on_hand": [5.0, 3.0, 2.0]}
    )
    balances = pl.DataFrame(
        {"sku": ["a", "b", "d"], "location": ["main"] * 3, "on_hand": [5.0 + 1e-12, 1.0, 4.0]}
    )
    diff = compare_inventory(position, balances, tolerance=1e-9)
    assert diff.columns == ["sku", "location", "on_hand_inventory", "on_hand_ledger", "difference"]
    assert diff.rows() == [
        ("b", "main", 3.0, 1.0, 2.0),
        ("c", "main", 2.0, 0.0, 2.0),
        ("d", "main", 0.0, 4.0, -4.0),
    ]
    assert compare_inventory(position, balances, tolerance=5.0).height == 0


def test_compare_inventory_with_replayed_balances() -> None:
    case = load_ledger_case("erpnext_ageing_sequential_reco_different_warehouse")
    balances = replay_ledger(case["ledger"], case["as_of"]).balances
    position = pl.DataFrame(
        {"sku": ["Flask Item"] * 2, "location": ["WH 1", "WH 2"], "on_hand": [990.0, 401.0]}
    )
    diff = compare_inventory(position, balances, tolerance=1e-9)
    assert diff.select("location", "difference").rows() == [("WH 2", 1.0)]
