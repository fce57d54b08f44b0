"""Business rules of the input tables (SPEC §2 "typical defects").

Check order — a row is rejected once, for the first check it fails:

1. missing required value (schema order; a ledger reconciliation with qty_after may leave
   qty_change blank);
2. value not of the column's type (not a number / whole number / date / boolean), schema order;
3. range: negative where not allowed (:data:`NON_NEGATIVE`), receipts qty ≤ 0, refund_pct outside
   [0, 100], min_return_days > max_return_days;
4. allowed values: status, return_policy, voucher_type (after synonyms), reconciliation without
   qty_after;
5. date in the future (after ``config.today``, else the system date);
6. unknown SKU (not in products, when a products table is given);
7. duplicates among the rows that passed 1–6: duplicate keys (products, inventory, suppliers,
   locations) and exact duplicate rows (sales, receipts, ledger, prices; setting
   ``reject_duplicate_rows``) — every later row is rejected naming the first;
8. a sale larger than the units ever received at its SKU-location (sales, when receipts or a
   ledger hold rows; a SKU-location without any receipt has received 0 units).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from deadstock.config import Config
from deadstock.ingest.readers import ROW
from deadstock.schema import INPUT_TABLES
from deadstock.validate.checks import Check, empty_rejects, reject_frame
from deadstock.validate.coerce import Coerced
from deadstock.validate.enums import (
    RETURN_POLICIES,
    STATUSES,
    VOUCHER_TYPES,
    normalise_choice,
    normalise_voucher_type,
)

NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    "products": (
        "unit_cost",
        "price",
        "volume",
        "holding_cost_per_day",
        "image_count",
        "description_chars",
    ),
    "inventory": ("on_hand", "unit_cost", "price", "reserved", "inbound"),
    "sales": ("price",),
    "receipts": ("unit_cost", "payment_days"),
    "ledger": ("qty_after",),
    "suppliers": (
        "min_return_days",
        "max_return_days",
        "return_cost_per_unit",
        "return_cap_units",
        "return_cap_value",
        "lead_time_days",
        "payment_days",
    ),
    "locations": ("capacity_volume", "capacity_units"),
    "prices": ("price",),
}
"""Columns that must not be negative, per table."""

FUTURE_DATE_COLUMNS: dict[str, str] = {
    "sales": "date",
    "receipts": "date",
    "ledger": "date",
    "prices": "date",
    "inventory": "as_of",
}
"""The date column of each table that must not lie after today."""

SKU_TABLES = ("inventory", "sales", "receipts", "ledger", "prices")
"""Tables whose SKUs must exist in products (when products are given)."""

LOCATION_FILLED = ("inventory", "sales", "receipts", "ledger")
"""Tables whose blank or absent location becomes ``default_location``. In prices a blank
location means "all locations" (``schema.PRICES``), so it stays null there."""

_POS = "_pos"

EXACT_DUPLICATE_TABLES = ("sales", "receipts", "ledger", "prices")
"""Tables where a row repeating an earlier one exactly is rejected (``reject_duplicate_rows``)."""


def duplicate_key(table: str, columns: list[str]) -> tuple[str, ...]:
    """Key whose repeats are rejected: products sku; inventory sku+location(+as_of); ..."""
    if table == "inventory":
        return ("sku", "location") + (("as_of",) if "as_of" in columns else ())
    if table in ("products", "suppliers", "locations", "lanes"):
        return INPUT_TABLES[table].key
    return ()


def _is_reconciliation(columns: list[str]) -> pl.Expr:
    if "voucher_type" not in columns:
        return pl.lit(False)
    return normalise_voucher_type(pl.col("voucher_type"), pl.col("qty_change")) == "reconciliation"


def row_checks(
    table: str,
    coerced: Coerced,
    columns: list[str],
    *,
    today: dt.date,
    product_skus: pl.Series | None = None,
    products_file: str = "products",
) -> list[Check]:
    """The row-level checks 1–6 of the module docstring for one table, in order."""
    checks: list[Check] = []
    present = set(columns)

    recon = _is_reconciliation(columns)
    for name in INPUT_TABLES[table].required:
        failed = coerced.blank[name]
        if table == "ledger" and name == "qty_change" and "qty_after" in present:
            failed = failed & ~(recon & pl.col("qty_after").is_not_null())
        checks.append(Check(name, failed, f"missing value: {name} is required"))

    checks.extend(coerced.parse_checks)

    if table == "receipts":
        checks.append(
            Check("qty", pl.col("qty") <= 0, "expected a quantity > 0 (a receipt adds stock)")
        )
    for name in NON_NEGATIVE.get(table, ()):
        if name in present:
            checks.append(Check(name, pl.col(name) < 0, "negative value: expected a number ≥ 0"))
    if table == "suppliers":
        if "refund_pct" in present:
            pct = pl.col("refund_pct")
            checks.append(
                Check(
                    "refund_pct",
                    (pct < 0) | (pct > 100),
                    "outside [0, 100]: refund_pct is a percentage of unit_cost",
                )
            )
        if {"min_return_days", "max_return_days"} <= present:
            lo, hi = pl.col("min_return_days"), pl.col("max_return_days")
            checks.append(
                Check(
                    "min_return_days",
                    lo > hi,
                    pl.format("min_return_days ({}) is greater than max_return_days ({})", lo, hi),
                )
            )

    for name, allowed in (("status", STATUSES), ("return_policy", RETURN_POLICIES)):
        if name in present and name in INPUT_TABLES[table].names:
            col = pl.col(name)
            checks.append(
                Check(
                    name,
                    col.is_not_null() & normalise_choice(col, allowed).is_null(),
                    f"expected {', '.join(allowed[:-1])} or {allowed[-1]}",
                )
            )
    if table == "ledger" and "voucher_type" in present:
        unknown = normalise_voucher_type(pl.col("voucher_type"), pl.col("qty_change")).is_null()
        checks.append(
            Check(
                "voucher_type",
                unknown,
                f"unknown voucher type: expected {', '.join(VOUCHER_TYPES[:-1])} or "
                f"{VOUCHER_TYPES[-1]} (or an ERP name such as 'Purchase Receipt')",
            )
        )
        no_count = pl.col("qty_after").is_null() if "qty_after" in present else pl.lit(True)
        checks.append(
            Check(
                "qty_after",
                recon & no_count,
                "reconciliation without qty_after (the counted balance)",
                pl.lit(None, dtype=pl.String),
            )
        )

    date_column = FUTURE_DATE_COLUMNS.get(table)
    if date_column is not None and date_column in present:
        checks.append(
            Check(
                date_column,
                pl.col(date_column) > pl.lit(today),
                f"date in the future: after today ({today.isoformat()})",
            )
        )

    if product_skus is not None and table in SKU_TABLES:
        # Hashes make the membership test ~3x faster on tens of millions of rows; a collision
        # could only let an unknown SKU through (probability ~ rows × products / 2**64).
        known = product_skus.hash().implode()
        checks.append(
            Check("sku", ~pl.col("sku").hash().is_in(known), f"unknown SKU: not in {products_file}")
        )
    return checks


def normalise(frame: pl.DataFrame, table: str, config: Config) -> pl.DataFrame:
    """Canonical values after the checks: blank text → null, location filled, enums mapped.

    ``location`` is filled with ``default_location`` in :data:`LOCATION_FILLED` tables (added
    when absent); prices keep null = all locations (the column is added when absent).
    """
    columns = frame.columns
    texts = [c for c in INPUT_TABLES[table].names if c in columns and frame[c].dtype == pl.String]
    blanks = [c for c in texts if (frame[c].str.len_bytes() == 0).any()]
    if blanks:
        frame = frame.with_columns(
            pl.when(pl.col(c).str.len_bytes() == 0).then(None).otherwise(pl.col(c)).alias(c)
            for c in blanks
        )
    out: list[pl.Expr] = []
    if table in LOCATION_FILLED:
        if "location" not in columns:
            out.append(pl.lit(config.default_location, dtype=pl.String).alias("location"))
        elif frame["location"].null_count():
            out.append(pl.col("location").fill_null(config.default_location))
    elif table == "prices" and "location" not in columns:
        out.append(pl.lit(None, dtype=pl.String).alias("location"))
    for name, allowed in (("status", STATUSES), ("return_policy", RETURN_POLICIES)):
        if name in columns:
            out.append(normalise_choice(pl.col(name), allowed).alias(name))
    if table == "ledger" and "voucher_type" in columns:
        out.append(
            normalise_voucher_type(pl.col("voucher_type"), pl.col("qty_change")).alias(
                "voucher_type"
            )
        )
    return frame.with_columns(out) if out else frame


def find_duplicates(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Position, ``_row`` and ``first_row`` of every row whose ``key`` repeats an earlier row's.

    Hashes the key; when some hash repeats, sorts the hashes to find which, and compares only the
    few rows holding a repeated hash on their actual values, so a hash collision never rejects a
    row. Cheap on tens of millions of rows (no group-by on the key).
    """
    empty = pl.DataFrame(schema={_POS: pl.UInt32, ROW: pl.Int64, "first_row": pl.Int64})
    if frame.height < 2:
        return empty
    hashes = frame.select(key).hash_rows()
    if hashes.n_unique() == frame.height:  # the common case, cheaper than the sort below
        return empty
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if repeated.len() == 0:
        return empty
    candidates = (
        frame.select(ROW, *key)
        .with_row_index(_POS)
        .filter(hashes.is_in(repeated.unique().implode()))
    )
    firsts = candidates.with_columns(pl.col(ROW).min().over(key).alias("first_row"))
    return (
        firsts.filter(pl.col(ROW) != pl.col("first_row")).select(_POS, ROW, "first_row").sort(_POS)
    )


def drop_positions(frame: pl.DataFrame, positions: pl.Series) -> pl.DataFrame:
    """``frame`` without the rows at ``positions`` (order kept; no copy when there are none)."""
    if positions.len() == 0:
        return frame
    mask = np.ones(frame.height, dtype=bool)
    mask[positions.to_numpy()] = False
    return frame.filter(pl.Series(mask))


def _positions(frame: pl.DataFrame) -> pl.Series:
    return frame[_POS] if frame.height else pl.Series(_POS, [], dtype=pl.UInt32)


def reject_duplicates(
    frame: pl.DataFrame, table: str, source_file: str, config: Config, canonical: list[str]
) -> tuple[pl.Series, pl.DataFrame]:
    """Check 7: later duplicates of a key, or exact duplicate rows → (positions, rejects)."""
    none = pl.Series(_POS, [], dtype=pl.UInt32), empty_rejects()
    key = list(duplicate_key(table, canonical))
    exact = not key
    if exact:
        if table not in EXACT_DUPLICATE_TABLES or not config.reject_duplicate_rows:
            return none
        key = canonical
    dups = find_duplicates(frame, key)
    if dups.height == 0:
        return none
    failing = frame[dups[_POS].to_numpy()].with_columns(dups["first_row"])
    if exact:
        rejects = reject_frame(
            failing,
            table,
            source_file,
            column=None,
            value=None,
            reason=pl.format("duplicate row: same values as row {}", pl.col("first_row")),
        )
    else:
        label = "+".join(key)
        values = pl.concat_str(
            [pl.col(k).cast(pl.String).fill_null("") for k in key], separator=" / "
        )
        rejects = reject_frame(
            failing,
            table,
            source_file,
            column=label,
            value=values,
            reason=pl.format(
                f"duplicate key ({', '.join(key)}): first in row {{}}", pl.col("first_row")
            ),
        )
    return dups[_POS], rejects


def number_text(value: pl.Expr) -> pl.Expr:
    """A number as short text for messages: ``12.0`` → ``12``."""
    return value.cast(pl.String).str.replace(r"\.0$", "")


def received_units(
    receipts: pl.DataFrame | None, ledger: pl.DataFrame | None
) -> pl.DataFrame | None:
    """Units ever received per SKU-location: receipts qty, plus the ledger's positive changes.

    None when neither table holds a row (then no sale can be judged against receipts).
    """
    parts = []
    if receipts is not None and receipts.height:
        parts.append(receipts.select("sku", "location", pl.col("qty").alias("units")))
    if ledger is not None and ledger.height:
        parts.append(
            ledger.filter(pl.col("qty_change") > 0).select(
                "sku", "location", pl.col("qty_change").alias("units")
            )
        )
    if not parts:
        return None
    # The streaming engine groups string keys about twice as fast as the in-memory one here.
    grouped = pl.concat(parts).lazy().group_by("sku", "location").agg(pl.col("units").sum())
    return grouped.collect(engine="streaming")


def _key_hash() -> pl.Expr:
    """A 64-bit hash of (sku, location), cheap on tens of millions of rows."""
    return pl.col("sku").hash(seed=1) ^ (pl.col("location").hash(seed=2) * 0x9E3779B97F4A7C15)


def reject_sales_beyond_received(
    sales: pl.DataFrame,
    received: pl.DataFrame,
    source_file: str,
    value: pl.Expr,
    exclude: pl.Series | None = None,
) -> tuple[pl.Series, pl.DataFrame]:
    """Check 8: sale rows larger than all units ever received at their SKU-location.

    Only SKU-locations that received something are judged: one without any receipt may hold
    opening stock from before the receipt history starts (its sales are counted by
    :func:`sales_without_receipts` for a warning instead). Candidate rows are found with one
    vectorised pass over hashed keys (sales above the smallest total among SKU-locations whose
    total is below the largest sale); only those few rows are joined to the totals (exactly, on
    sku and location). Rows at ``exclude`` positions (already rejected) are skipped.
    Returns (positions, rejects).
    """
    none = pl.Series(_POS, [], dtype=pl.UInt32), empty_rejects()
    if sales.height == 0:
        return none
    largest = sales["qty"].max()
    risky = received.filter(pl.col("units") < largest)
    if risky.height == 0:
        return none
    risky_keys = risky.select(_key_hash()).to_series().implode()
    smallest = risky["units"].min()
    key = _key_hash()
    candidates = (
        sales.select(ROW, "sku", "location", "qty")
        .with_row_index(_POS)
        .filter((pl.col("qty") > smallest) & key.is_in(risky_keys))
    )
    offending = candidates.join(received, on=["sku", "location"], how="inner").filter(
        pl.col("qty") > pl.col("units")
    )
    if exclude is not None and exclude.len():
        offending = offending.filter(~pl.col(_POS).is_in(exclude.implode()))
    if offending.height == 0:
        return none
    offending = offending.sort(_POS)
    failing = sales[offending[_POS].to_numpy()].with_columns(offending["units"])
    reason = pl.format(
        "sale of {} units exceeds the {} units ever received at this SKU-location",
        number_text(pl.col("qty")),
        number_text(pl.col("units")),
    )
    rejects = reject_frame(failing, "sales", source_file, column="qty", value=value, reason=reason)
    return offending[_POS], rejects


def sales_without_receipts(sales: pl.DataFrame, received: pl.DataFrame) -> tuple[int, int]:
    """(sale rows, SKU-locations) with sales but no receipt at all: opening stock unknown.

    Matched on a 64-bit hash of the key (a warning's count; a collision can only under-count).
    """
    received_keys = received.select(_key_hash()).to_series().implode()
    orphan = (
        sales.lazy()
        .select(_key_hash().alias("key"), "qty")
        .filter((pl.col("qty") > 0) & ~pl.col("key").is_in(received_keys))
    )
    counts = orphan.select(pl.len().alias("rows"), pl.col("key").n_unique().alias("keys"))
    rows, keys = counts.collect().row(0)
    return (int(rows), int(keys) if rows else 0)


def unknown_reference_notes(tables: dict[str, pl.DataFrame], sources: dict[str, str]) -> list[str]:
    """Warnings for supplier_id / location values missing from the suppliers / locations table."""
    notes: list[str] = []
    refs = (
        ("suppliers", "supplier_id", ("products", "receipts")),
        ("locations", "location", ("inventory", "sales", "receipts", "ledger", "prices")),
    )
    for master, column, users in refs:
        if master not in tables:
            continue
        known = tables[master][column].implode()
        for table in users:
            frame = tables.get(table)
            if frame is None or column not in frame.columns:
                continue
            unknown = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(known))
            if unknown.height:
                examples = unknown[column].unique(maintain_order=True).head(3).to_list()
                notes.append(
                    f"{sources[table]}: {unknown.height} row(s) name a {column} not in "
                    f"{sources[master]} (e.g. {', '.join(repr(e) for e in examples)}); kept."
                )
    return notes
