"""Plain-Python oracles for the position stage, and checks of the oracles themselves.

The oracles are deliberately naive: one FIFO queue per SKU-location (a Python list), exact
arithmetic with ``fractions.Fraction``, one row at a time. The vectorised and event-by-event
implementations in ``deadstock.position`` must agree with them (tests in the other
``test_position_*`` files).
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl

Layer = list[Any]  # [received, units, unit_cost, origin]


def _frac(x: float | None) -> Fraction | None:
    return None if x is None else Fraction(x)


def _coalesce(*values: Any) -> Any:
    for v in values:
        if v is not None:
            return v
    return None


def ledger_oracle(
    ledger: pl.DataFrame, as_of: date, fallback: pl.DataFrame | None = None
) -> tuple[dict[tuple[str, str], list[Layer]], dict[tuple[str, str], Fraction]]:
    """Replay ``ledger`` through FIFO queues row by row; returns (layers, balances) per key.

    Implements the contract of ``replay_ledger`` literally (see its docstring).
    """
    rows = [dict(r, idx=i) for i, r in enumerate(ledger.to_dicts())]
    for r in rows:
        r.setdefault("location", "main")
        r["location"] = r.get("location") or "main"
        for name in ("voucher_type", "qty_after", "value_change", "voucher_id"):
            r.setdefault(name, None)
        r["type"] = (r["voucher_type"] or "").strip().lower() or None
    rows = [r for r in rows if r["date"] <= as_of]

    fb_loc: dict[tuple[str, str], Fraction] = {}
    fb_sku: dict[str, Fraction] = {}
    if fallback is not None:
        for f in fallback.to_dicts():
            if f.get("location") is None:
                fb_sku[f["sku"]] = Fraction(f["unit_cost"])
            else:
                fb_loc[(f["sku"], f["location"])] = Fraction(f["unit_cost"])

    # Transfer pairing.
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["type"] == "transfer" and r["qty_change"] != 0 and r["voucher_id"] is not None:
            groups[(r["sku"], r["voucher_id"])].append(r)
    for r in rows:
        r["role"], r["major"] = "plain", 2 * r["idx"]
    for gid, members in groups.items():
        outs = [r for r in members if r["qty_change"] < 0]
        ins = [r for r in members if r["qty_change"] > 0]
        if not outs or not ins:
            continue
        last_out_date = max(r["date"] for r in outs)
        if last_out_date > min(r["date"] for r in ins):
            continue
        last_out_idx = max(r["idx"] for r in outs if r["date"] == last_out_date)
        for r in outs:
            r["role"], r["group"] = "out", gid
        for r in ins:
            r["role"], r["group"] = "in", gid
            if r["date"] == last_out_date:
                r["major"] = max(2 * r["idx"], 2 * last_out_idx + 1)
    rows.sort(key=lambda r: (r["date"], r["major"], r["idx"]))

    queues: dict[tuple[str, str], list[Layer]] = defaultdict(list)
    balance: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
    last_known: dict[tuple[str, str], Fraction | None] = {}
    pools: dict[Any, list[list[Any]]] = defaultdict(list)

    def receive(key: tuple[str, str], pieces: list[list[Any]], origin: str, by_date: bool) -> None:
        queue = queues[key]
        for received, piece_units, cost in pieces:
            units = piece_units
            while units > 0 and queue and queue[0][1] < 0:
                fill = min(units, -queue[0][1])
                queue[0][1] += fill
                units -= fill
                if queue[0][1] == 0:
                    queue.pop(0)
            if units > 0:
                layer = [received, units, cost, origin]
                if by_date:
                    at = len(queue)
                    while at > 0 and queue[at - 1][0] > received:
                        at -= 1
                    queue.insert(at, layer)
                else:
                    queue.append(layer)

    for r in rows:
        key = (r["sku"], r["location"])
        is_reco = r["type"] == "reconciliation" and r["qty_after"] is not None
        qty = Fraction(r["qty_change"] or 0)
        delta = Fraction(r["qty_after"]) - balance[key] if is_reco else qty
        balance[key] += delta
        if delta == 0:
            continue
        value = _frac(r["value_change"])
        own = value / delta if value is not None else None
        fb = fb_loc.get(key, fb_sku.get(r["sku"]))
        queue = queues[key]
        if delta < 0:
            need = -delta
            taken: list[list[Any]] = []
            last_consumed: Fraction | None = None
            while need > 0 and queue and queue[0][1] > 0:
                take = min(need, queue[0][1])
                taken.append([queue[0][0], take, queue[0][2]])
                last_consumed = queue[0][2]
                queue[0][1] -= take
                need -= take
                if queue[0][1] == 0:
                    queue.pop(0)
            if need > 0:
                cost = _coalesce(last_consumed, last_known.get(key), fb, own)
                queue.append([r["date"], -need, cost, "negative"])
                taken.append([r["date"], need, cost])
                if cost is not None:
                    last_known[key] = cost
            if r["role"] == "out":
                pools[r["group"]].extend(taken)
            continue
        if r["role"] == "in":
            pool = pools[r["group"]]
            need, pieces = delta, []
            while need > 0 and pool:
                take = min(need, pool[0][1])
                pieces.append([pool[0][0], take, pool[0][2]])
                pool[0][1] -= take
                need -= take
                if pool[0][1] == 0:
                    pool.pop(0)
            if need > 0:
                pieces.append([r["date"], need, _coalesce(own, fb, last_known.get(key))])
            origin, by_date = "transfer", True
        else:
            pieces = [[r["date"], delta, _coalesce(own, fb, last_known.get(key))]]
            origin, by_date = ("reconciliation" if is_reco else "receipt"), False
        for piece in pieces:
            if piece[2] is not None:
                last_known[key] = piece[2]
        receive(key, pieces, origin, by_date)
    return dict(queues), dict(balance)


def fifo_oracle(
    on_hand: float,
    receipts: list[tuple[date, float, float | None]],
    opening_date: date,
    as_of: date,
    position_cost: float | None,
) -> list[Layer]:
    """FIFO layers of one SKU-location: walk receipts (in file order) back from the newest."""
    layers: list[Layer] = []
    if on_hand < 0:
        return [[as_of, Fraction(on_hand), position_cost, "negative"]]
    uncovered = Fraction(on_hand)
    usable = [(i, r) for i, r in enumerate(receipts) if r[0] <= as_of and r[1] > 0]
    for _, (day, qty, cost) in sorted(usable, key=lambda t: (t[1][0], t[0]), reverse=True):
        if uncovered <= 0:
            break
        take = min(Fraction(qty), uncovered)
        layers.insert(0, [day, take, cost if cost is not None else position_cost, "receipt"])
        uncovered -= take
    if uncovered > 0:
        layers.insert(0, [opening_date, uncovered, position_cost, "opening"])
    return layers


# ---------------------------------------------------------------------------------------------
# The oracle itself must follow the rules (hand-checked cases).
# ---------------------------------------------------------------------------------------------
D1, D2, D3 = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)


def _lg(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    names = [
        "date",
        "sku",
        "location",
        "qty_change",
        "voucher_type",
        "qty_after",
        "value_change",
        "voucher_id",
    ]
    return pl.DataFrame([dict(zip(names, r, strict=True)) for r in rows])


def test_oracle_negative_layer_is_filled_by_later_receipt() -> None:
    layers, balances = ledger_oracle(
        _lg(
            [
                (D1, "s", "A", 10.0, "receipt", None, 20.0, None),
                (D2, "s", "A", -15.0, "issue", None, None, None),
                (D3, "s", "A", 8.0, "receipt", None, 40.0, None),
            ]
        ),
        D3,
    )
    assert layers[("s", "A")] == [[D3, Fraction(3), Fraction(5), "receipt"]]
    assert balances[("s", "A")] == 3


def test_oracle_transfer_keeps_received_dates() -> None:
    layers, _ = ledger_oracle(
        _lg(
            [
                (D1, "s", "A", 4.0, "receipt", None, 4.0, None),
                (D2, "s", "B", 1.0, "receipt", None, 3.0, None),
                (D3, "s", "B", 3.0, "transfer", None, None, "t"),
                (D3, "s", "A", -3.0, "transfer", None, None, "t"),
            ]
        ),
        D3,
    )
    assert layers[("s", "B")] == [
        [D1, Fraction(3), Fraction(1), "transfer"],
        [D2, Fraction(1), Fraction(3), "receipt"],
    ]
    assert layers[("s", "A")] == [[D1, Fraction(1), Fraction(1), "receipt"]]


def test_oracle_reconciliation_down_issues_oldest() -> None:
    layers, balances = ledger_oracle(
        _lg(
            [
                (D1, "s", "A", 5.0, "receipt", None, 5.0, None),
                (D2, "s", "A", 5.0, "receipt", None, 10.0, None),
                (D3, "s", "A", 99.0, "reconciliation", 7.0, None, None),
            ]
        ),
        D3,
    )
    assert layers[("s", "A")] == [
        [D1, Fraction(2), Fraction(1), "receipt"],
        [D2, Fraction(5), Fraction(2), "receipt"],
    ]
    assert balances[("s", "A")] == 7


def test_fifo_oracle_walks_back_from_newest() -> None:
    layers = fifo_oracle(6.0, [(D1, 5.0, 1.0), (D2, 4.0, None)], date(2023, 1, 1), D3, 9.0)
    assert layers == [[D1, Fraction(2), 1.0, "receipt"], [D2, Fraction(4), 9.0, "receipt"]]


# ---------------------------------------------------------------------------------------------
# Named ledger cases in tests/data/ledgers (see the README there).
# ---------------------------------------------------------------------------------------------
LEDGER_CASES = Path(__file__).parent / "data" / "ledgers"
LEDGER_SCHEMA = {
    "date": pl.Date,
    "sku": pl.String,
    "location": pl.String,
    "qty_change": pl.Float64,
    "voucher_type": pl.String,
    "qty_after": pl.Float64,
    "value_change": pl.Float64,
    "voucher_id": pl.String,
}
EXPECTED_SCHEMA = {
    "sku": pl.String,
    "location": pl.String,
    "received": pl.Date,
    "units": pl.Float64,
    "unit_cost": pl.Float64,
    "origin": pl.String,
}


def ledger_case_names() -> list[str]:
    with open(LEDGER_CASES / "cases.toml", "rb") as fh:
        return list(tomllib.load(fh))


def load_ledger_case(name: str) -> dict[str, Any]:
    """ledger, as_of, fallback (or None), expected layers and the case's metadata."""
    with open(LEDGER_CASES / "cases.toml", "rb") as fh:
        meta = tomllib.load(fh)[name]
    stem = meta.get("ledger", name)
    fallback_path = LEDGER_CASES / f"{stem}.fallback.csv"
    return {
        "ledger": pl.read_csv(LEDGER_CASES / f"{stem}.ledger.csv", schema=LEDGER_SCHEMA),
        "as_of": meta["as_of"],
        "fallback": pl.read_csv(
            fallback_path,
            schema={"sku": pl.String, "location": pl.String, "unit_cost": pl.Float64},
        )
        if fallback_path.exists()
        else None,
        "expected": pl.read_csv(LEDGER_CASES / f"{name}.layers.csv", schema=EXPECTED_SCHEMA),
        "meta": meta,
    }


def layers_by_key(layers: pl.DataFrame) -> dict[tuple[str, str], list[Layer]]:
    """LAYERS-like frame → {(sku, location): [[received, units, unit_cost, origin], ...]}."""
    out: dict[tuple[str, str], list[Layer]] = defaultdict(list)
    for r in layers.iter_rows(named=True):
        out[(r["sku"], r["location"])].append(
            [r["received"], r["units"], r["unit_cost"], r["origin"]]
        )
    return dict(out)


def assert_same_layers(
    actual: dict[tuple[str, str], list[Layer]],
    expected: dict[tuple[str, str], list[Layer]],
    tol: float = 1e-7,
) -> None:
    """Same keys, same layers in the same order; units and costs within ``tol``."""
    expected = {k: v for k, v in expected.items() if v}
    actual = {k: v for k, v in actual.items() if v}
    assert actual.keys() == expected.keys(), (actual, expected)
    for key, want in expected.items():
        got = actual[key]
        assert len(got) == len(want), (key, got, want)
        for g, w in zip(got, want, strict=True):
            assert g[0] == w[0] and g[3] == w[3], (key, got, want)
            assert abs(float(g[1]) - float(w[1])) <= tol * max(1.0, abs(float(w[1]))), (key, g, w)
            if w[2] is None:
                assert g[2] is None, (key, g, w)
            else:
                assert g[2] is not None, (key, g, w)
                assert abs(float(g[2]) - float(w[2])) <= tol * max(1.0, abs(float(w[2]))), (g, w)


def test_every_ledger_case_has_its_files() -> None:
    names = ledger_case_names()
    assert len(names) >= 20
    for name in names:
        case = load_ledger_case(name)
        assert case["ledger"].height > 0
        assert case["meta"]["source"]


def test_oracle_reproduces_the_named_cases() -> None:
    for name in ledger_case_names():
        case = load_ledger_case(name)
        layers, _ = ledger_oracle(case["ledger"], case["as_of"], case["fallback"])
        assert_same_layers(layers, layers_by_key(case["expected"]))
