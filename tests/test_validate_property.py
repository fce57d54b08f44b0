"""Property test: random mixes of good and bad sales rows against a plain-Python oracle.

For every generated file: read = accepted + rejected; every reject names a real row whose source
line holds the reported value; and the rejected rows, their columns and the accepted values equal
what a row-by-row Python implementation of the documented check order gives.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deadstock.config import Config
from deadstock.validate import load_inputs

TODAY = dt.date(2025, 6, 30)
PRODUCTS = ("A", "B", "C", "D")
RECEIVED = {("A", "main"): 50.0, ("A", "s1"): 30.0, ("B", "main"): 10.0, ("B", "s2"): 5.0}
RECEIPTS_CSV = "date,sku,qty,location\n" + "".join(
    f"2025-01-01,{sku},{qty:g},{loc}\n" for (sku, loc), qty in RECEIVED.items()
)

good_date = st.dates(dt.date(2025, 1, 1), dt.date(2025, 6, 30)).map(dt.date.isoformat)
date_text = st.one_of(
    good_date,
    good_date,
    st.sampled_from(["", "soon", "2025-02-30", "2025-13-01", "2026-01-05", "2099-12-31"]),
)
sku_text = st.sampled_from(["A", "B", "C", "D", " A ", "", "ZZ"])
qty_text = st.one_of(
    st.integers(-3, 60).map(str),
    st.sampled_from(["2.0", "2", "2.5", " 4 ", "", "abc", '"1,5"', '"1,000"', "NaN"]),
)
location_text = st.sampled_from(["", "main", "s1", "s2"])
price_text = st.sampled_from(["", "1.5", "0", "-2", "x", "3"])
row_strategy = st.tuples(date_text, sku_text, qty_text, location_text, price_text)


def _number(text: str) -> float | None:
    text = text.strip().strip('"')
    if text == "1,000":
        return 1000.0
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def oracle(rows: list[tuple[str, str, str, str, str]]) -> tuple[dict[int, str], list[tuple]]:
    """Row number → blamed column (None = whole row), and the accepted typed rows, in order."""
    rejected: dict[int, str | None] = {}
    passing: list[tuple[int, tuple]] = []
    for index, (date, sku, qty, loc, price) in enumerate(rows):
        row = index + 2
        values = {"date": date.strip(), "sku": sku.strip(), "qty": qty.strip().strip('"')}
        missing = [c for c in ("date", "sku", "qty") if values[c] == ""]
        if missing:
            rejected[row] = missing[0]
            continue
        d, q, p = _date(date), _number(qty), _number(price) if price.strip() else None
        if d is None:
            rejected[row] = "date"
        elif q is None:
            rejected[row] = "qty"
        elif (price.strip() and p is None) or (p is not None and p < 0):
            rejected[row] = "price"
        elif d > TODAY:
            rejected[row] = "date"
        elif sku.strip() not in PRODUCTS:
            rejected[row] = "sku"
        else:
            typed = (d, sku.strip(), q, loc.strip() or "main", p)
            passing.append((row, typed))
    seen: dict[tuple, int] = {}
    accepted: list[tuple] = []
    for row, typed in passing:
        if typed in seen:
            rejected[row] = None
            continue
        seen[typed] = row
        key = (typed[1], typed[3])
        if key in RECEIVED and typed[2] > RECEIVED[key]:  # only SKU-locations with receipts
            rejected[row] = "qty"
            continue
        accepted.append(typed)
    return dict(sorted(rejected.items())), accepted


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy, min_size=1, max_size=25))
def test_random_sales_rows_match_the_oracle(rows: list[tuple[str, str, str, str, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        lines = ["date,sku,qty,location,price"] + [",".join(r) for r in rows]
        (path / "sales.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (path / "inventory.csv").write_text("sku,on_hand\nA,1\n", encoding="utf-8")
        (path / "products.csv").write_text("sku\n" + "\n".join(PRODUCTS) + "\n")
        (path / "receipts.csv").write_text(RECEIPTS_CSV)
        result = load_inputs(path, Config(values={"today": TODAY}))

    counts = result.counts.filter(pl.col("table") == "sales").row(0, named=True)
    assert counts["read"] == len(rows)
    assert counts["read"] == counts["accepted"] + counts["rejected"]

    rejects = result.rejects.filter(pl.col("table") == "sales")
    assert rejects["row"].n_unique() == rejects.height == counts["rejected"]
    for row, value in rejects.select("row", "value").iter_rows():
        assert 2 <= row <= len(rows) + 1
        if value is not None:
            assert value in lines[row - 1], (row, value, lines[row - 1])

    expected_rejects, expected_accepted = oracle(rows)
    assert dict(rejects.select("row", "column").iter_rows()) == expected_rejects
    sales = result.tables["sales"]
    assert sales.select("date", "sku", "qty", "location", "price").rows() == expected_accepted
