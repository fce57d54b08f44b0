"""Deliberately bad rows for the demo data (SPEC §2 "typical defects").

:func:`add_defects` appends a handful of rows to the CSV files that
:func:`~deadstock.datasets.write_dataset` wrote, one per defect of SPEC §2 that a row can carry.
Every defect row concerns a SKU that is not among the generated ones (four helper products
``SKU-X0001`` … ``SKU-X0004`` appended to ``products.csv``, plus an unknown SKU), so the stock
identity ``on_hand = Σ receipts − Σ sales`` of the generated SKU-locations never changes, whatever
a reader accepts or rejects. ``SKU-X0001`` is itself consistent when the defects are handled as
intended: 10 units received, 2 sold on a date written ``dd/mm/yyyy`` (unambiguous, accepted),
1 sold on another day (that row repeated exactly: the repeat is rejected), 7 on hand.

Defects that concern whole files (empty files, wrong encodings or delimiters) are not added.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from deadstock import schema

HELPER_SKUS = ("SKU-X0001", "SKU-X0002", "SKU-X0003", "SKU-X0004")
UNKNOWN_SKU = "SKU-X9999"


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def _append(path: Path, rows: list[dict[str, str]]) -> None:
    """Append rows (column → text; missing columns blank) in the file's column order."""
    header = _header(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    text = path.read_bytes()
    prefix = "" if text.endswith(b"\n") or not text else "\n"
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(prefix + buffer.getvalue())


def _day_where(start: date, step: int, ok: Callable[[date], bool]) -> date:
    """First date from ``start`` (moving by ``step`` days) that satisfies ``ok``."""
    day = start
    while not ok(day):
        day += timedelta(days=step)
    return day


def add_defects(out_dir: Path, seed: int = 0) -> list[str]:
    """Append deliberately bad rows to the CSV tables in ``out_dir``; describe each defect.

    Needs ``products.csv``, ``inventory.csv``, ``sales.csv`` and ``receipts.csv`` (as written by
    ``write_dataset(..., fmt="csv")``). Adds: a sale for an unknown SKU, a negative on_hand row
    (an extra SKU-location), a non-numeric qty, a negative price, a sale dated in 2099, an exact
    duplicate sale row, an inventory duplicate key, a sale with a blank sku, a date in another
    unambiguous format (``dd/mm/yyyy`` with day > 12, which readers accept), a date ambiguous in
    an ISO column (day and month both ≤ 12, which readers reject) and a sale larger than any
    stock ever received. Returns one line per defect: ``file: what (key)``. Calling it twice adds
    the rows twice.
    """
    out_dir = Path(out_dir)
    files = {
        name: out_dir / f"{name}.csv" for name in ("products", "inventory", "sales", "receipts")
    }
    missing = [str(p) for p in files.values() if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"add_defects needs the CSV tables written by write_dataset(..., fmt='csv'); "
            f"missing: {', '.join(missing)}."
        )
    rng = np.random.default_rng([seed, 77])
    wanted = [c for c in ("location", "as_of") if c in _header(files["inventory"])]
    inventory = pl.read_csv(files["inventory"], columns=wanted, try_parse_dates=True)
    sales_dates = pl.read_csv(files["sales"], columns=["date"], try_parse_dates=True)["date"]
    as_of = inventory["as_of"].max() if "as_of" in wanted else sales_dates.max()
    first = sales_dates.min()
    if not isinstance(as_of, date) or not isinstance(first, date):
        raise ValueError(f"add_defects needs ISO-dated sales rows in {files['sales']}.")
    locations = inventory["location"] if "location" in wanted else [schema.DEFAULT_LOCATION]
    location = str(locations[int(rng.integers(len(locations)))])
    products = pl.read_csv(files["products"], infer_schema=False)
    model = products.row(int(rng.integers(products.height)), named=True)
    price = float(model.get("price") or 9.99)

    def iso(day: date) -> str:
        return day.isoformat()

    span = max(1, (as_of - first).days)
    received = first + timedelta(days=span // 4)
    other_format = _day_where(first + timedelta(days=span // 2), 1, lambda d: d.day > 12)
    repeated = as_of - timedelta(days=max(1, span // 8))
    ambiguous = _day_where(
        as_of - timedelta(days=2), -1, lambda d: d.day <= 12 and d.day != d.month
    )
    x1, x2, x3, x4 = HELPER_SKUS

    helpers = [
        {
            **model,
            "sku": sku,
            "name": f"{model.get('name') or 'Item'} ({sku[-2:]})",
            "status": "active",
            "launch_date": iso(first),
        }
        for sku in HELPER_SKUS
    ]
    _append(files["products"], helpers)

    def sale(sku: str, day: str, qty: str = "1.0", unit_price: float = price) -> dict[str, str]:
        revenue = f"{float(qty) * unit_price:.2f}" if qty.replace(".", "").isdigit() else ""
        return {
            "date": day,
            "sku": sku,
            "qty": qty,
            "location": location,
            "revenue": revenue,
            "price": f"{unit_price:.2f}",
        }

    _append(
        files["receipts"],
        [
            {
                "date": iso(received),
                "sku": x1,
                "qty": "10.0",
                "location": location,
                "supplier_id": model.get("supplier_id") or "",
                "unit_cost": model.get("unit_cost") or "",
            },
            {
                "date": iso(received),
                "sku": x4,
                "qty": "2.0",
                "location": location,
                "supplier_id": model.get("supplier_id") or "",
                "unit_cost": model.get("unit_cost") or "",
            },
        ],
    )
    other = other_format.strftime("%d/%m/%Y")
    dup = sale(x1, iso(repeated))
    future = date(2099, ambiguous.month, min(ambiguous.day, 28))
    sales_rows = [
        (sale(UNKNOWN_SKU, iso(repeated)), f"sale for unknown SKU {UNKNOWN_SKU}"),
        (sale(x2, iso(repeated), qty="two"), f"non-numeric qty 'two' ({x2})"),
        (sale(x2, iso(repeated), unit_price=-price), f"negative price {-price:.2f} ({x2})"),
        (sale(x2, iso(future)), f"sale dated in the future {iso(future)} ({x2})"),
        (sale(x1, other, qty="2.0"), f"date in another format {other} (accepted; {x1})"),
        (dup, f"first of two identical sale rows ({x1}, {iso(repeated)})"),
        (dup, f"exact duplicate of the previous sale row ({x1}, {iso(repeated)})"),
        (sale("", iso(repeated)), "sale with a blank sku"),
        (
            sale(x2, ambiguous.strftime("%d/%m/%Y")),
            f"ambiguous date {ambiguous.strftime('%d/%m/%Y')} in an ISO date column ({x2})",
        ),
        (sale(x4, iso(repeated), qty="5.0"), f"sale of 5 units, only 2 ever received ({x4})"),
    ]
    _append(files["sales"], [row for row, _ in sales_rows])
    inventory_rows = [
        (
            {"sku": x1, "on_hand": "7.0", "location": location, "as_of": iso(as_of)},
            f"consistent stock row of {x1} (10 received − 3 sold)",
        ),
        (
            {"sku": x1, "on_hand": "70.0", "location": location, "as_of": iso(as_of)},
            f"duplicate key ({x1}, {location}) with a different on_hand",
        ),
        (
            {"sku": x3, "on_hand": "-3.0", "location": location, "as_of": iso(as_of)},
            f"negative on_hand -3 ({x3}, {location})",
        ),
        (
            {"sku": x4, "on_hand": "2.0", "location": location, "as_of": iso(as_of)},
            f"stock row of {x4} (2 received, the oversized sale rejected)",
        ),
    ]
    _append(files["inventory"], [row for row, _ in inventory_rows])

    described = [f"sales.csv: {text}" for row, text in sales_rows if "first of two" not in text]
    described += [
        f"inventory.csv: {text}"
        for _, text in inventory_rows
        if "duplicate" in text or "-3" in text
    ]
    return described
