"""On-hand stock at the as-of date, rolled from the inventory snapshot (SPEC §3.1, §2)."""

from __future__ import annotations

from datetime import date

import polars as pl

from deadstock.keys import key_hash
from deadstock.position._frames import KEY, as_date, col_or, is_empty, movements, with_location

POSITION_SCHEMA: dict[str, type[pl.DataType]] = {
    "sku": pl.String,
    "location": pl.String,
    "on_hand": pl.Float64,
    "unit_cost": pl.Float64,
    "price": pl.Float64,
    "reserved": pl.Float64,
    "inbound": pl.Float64,
}


def on_hand_at(
    inventory: pl.DataFrame | None,
    receipts: pl.DataFrame | None,
    sales: pl.DataFrame | None,
    as_of: date,
    snapshot_date: date,
    products: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Stock position of every SKU-location at ``as_of`` (SPEC §3.1).

    One row per SKU-location in the union of ``inventory`` (any date) and the ``receipts`` and
    ``sales`` dated ≤ ``as_of``, sorted by sku, location, with columns sku, location,
    on_hand [units], unit_cost [currency/unit], price [currency/unit], reserved [units],
    inbound [units].

    The snapshot of a SKU-location is its inventory row dated by the row's ``as_of`` column, else
    ``snapshot_date``; of several rows the latest dated ≤ ``as_of`` is used, else the earliest
    after it (on equal dates the last row of the file). The snapshot is rolled to ``as_of``:

    - snapshot before as_of: on_hand + Σ receipts − Σ sales dated in (snapshot, as_of];
    - snapshot after as_of: on_hand − Σ receipts + Σ sales dated in (as_of, snapshot].

    SKU-locations without an inventory row start from 0 units at ``snapshot_date``. A negative
    rolled on-hand is kept (it signals missing receipts). unit_cost: inventory, else products,
    else null. price: inventory, else products, else the last realised price of a sale ≤ as_of
    (revenue ÷ qty of the last sale with qty > 0, else that sale's ``price``). reserved and
    inbound: the snapshot's values, 0 when unknown.
    """
    snapshots = _snapshots(inventory, as_of, snapshot_date)
    moves = pl.concat([movements(receipts, 1.0), movements(sales, -1.0)])

    keys = _all_keys(snapshots, moves.filter(pl.col("date") <= as_of))
    base = keys.join(snapshots, on=KEY, how="left").with_columns(
        pl.col("snapshot").fill_null(as_date(snapshot_date)),
        pl.col("on_hand").fill_null(0.0),
    )

    # Only movements between the earliest and the latest of (snapshots, as_of) can roll.
    earliest = min(as_of, base["snapshot"].min() or as_of)
    latest = max(as_of, base["snapshot"].max() or as_of)
    as_of_lit = as_date(as_of)
    forward = (
        (pl.col("snapshot") < as_of_lit)
        & (pl.col("date") > pl.col("snapshot"))
        & (pl.col("date") <= as_of_lit)
    )
    backward = (
        (pl.col("snapshot") > as_of_lit)
        & (pl.col("date") > as_of_lit)
        & (pl.col("date") <= pl.col("snapshot"))
    )
    roll = (
        moves.filter((pl.col("date") > earliest) & (pl.col("date") <= latest))
        .join(base.lazy().select([*KEY, "snapshot"]), on=KEY, how="inner")
        .select(
            *KEY,
            pl.when(forward)
            .then(pl.col("change"))
            .when(backward)
            .then(-pl.col("change"))
            .otherwise(0.0)
            .alias("roll"),
        )
        .group_by(KEY)
        .agg(pl.col("roll").sum())
        .collect()
    )

    out = base.join(roll, on=KEY, how="left").with_columns(
        (pl.col("on_hand") + pl.col("roll").fill_null(0.0)).alias("on_hand")
    )
    out = _attach_products(out, products)
    # The realised price is only a fallback: look it up just for SKU-locations without a price.
    unpriced = out.filter(pl.col("price").is_null() & pl.col("product_price").is_null())
    if unpriced.height:
        needed = None if unpriced.height == out.height else unpriced.select(KEY)
        out = out.join(_last_realised_price(sales, as_of, needed), on=KEY, how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias("realised_price"))
    return out.select(
        "sku",
        "location",
        "on_hand",
        pl.coalesce("unit_cost", "product_unit_cost").alias("unit_cost"),
        pl.coalesce("price", "product_price", "realised_price").alias("price"),
        pl.col("reserved").fill_null(0.0),
        pl.col("inbound").fill_null(0.0),
    ).sort(KEY)


def _all_keys(snapshots: pl.DataFrame, moves: pl.LazyFrame) -> pl.DataFrame:
    """sku, location of every snapshot and every movement, sorted.

    The movements (tens of millions of rows) are screened on a 64-bit hash of their key against
    the snapshots' hashes (an integer set look-up, no string hash table); only rows whose hash no
    snapshot has — usually none — are reduced to their distinct string keys. A movement key is
    missed only if its hash equals that of a different snapshot key (probability ≈ n ÷ 2⁶⁴ per
    key, about 5·10⁻¹⁴ at a million SKU-locations).
    """
    known = snapshots.select(key_hash(0)).to_series().implode()
    extra = moves.select(KEY).filter(~key_hash(0).is_in(known)).unique().collect(engine="streaming")
    return pl.concat([snapshots.select(KEY), extra]).unique().sort(KEY)


def _snapshots(inventory: pl.DataFrame | None, as_of: date, snapshot_date: date) -> pl.DataFrame:
    """One inventory row per SKU-location: the snapshot to roll from (see :func:`on_hand_at`)."""
    schema = {
        "sku": pl.String,
        "location": pl.String,
        "snapshot": pl.Date,
        "on_hand": pl.Float64,
        "unit_cost": pl.Float64,
        "price": pl.Float64,
        "reserved": pl.Float64,
        "inbound": pl.Float64,
    }
    if is_empty(inventory):
        return pl.DataFrame(schema=schema)
    assert inventory is not None
    inv = with_location(inventory)
    rows = inv.with_row_index("_row").select(
        "sku",
        "location",
        "_row",
        col_or(inv, "as_of", pl.Date).fill_null(as_date(snapshot_date)).alias("snapshot"),
        pl.col("on_hand").cast(pl.Float64).fill_null(0.0),
        col_or(inv, "unit_cost", pl.Float64).alias("unit_cost"),
        col_or(inv, "price", pl.Float64).alias("price"),
        col_or(inv, "reserved", pl.Float64).alias("reserved"),
        col_or(inv, "inbound", pl.Float64).alias("inbound"),
    )
    after = pl.col("snapshot") > as_of
    days = pl.col("snapshot").cast(pl.Int64)
    # Preference: on or before as_of (latest first), then after (earliest first), then last row.
    chosen = (
        rows.with_columns(
            after.alias("_after"),
            pl.when(after).then(-days).otherwise(days).alias("_closeness"),
        )
        .sort(["_after", "_closeness", "_row"], descending=[False, True, True])
        .unique(subset=KEY, keep="first", maintain_order=True)
    )
    return chosen.select(list(schema))


def _attach_products(position: pl.DataFrame, products: pl.DataFrame | None) -> pl.DataFrame:
    """Add ``product_unit_cost`` and ``product_price`` from products (last row per sku)."""
    if is_empty(products):
        return position.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("product_unit_cost"),
            pl.lit(None, dtype=pl.Float64).alias("product_price"),
        )
    assert products is not None
    prod = products.select(
        pl.col("sku").cast(pl.String),
        col_or(products, "unit_cost", pl.Float64).alias("product_unit_cost"),
        col_or(products, "price", pl.Float64).alias("product_price"),
    ).unique(subset=["sku"], keep="last", maintain_order=True)
    return position.join(prod, on="sku", how="left")


def _last_realised_price(
    sales: pl.DataFrame | None, as_of: date, keys: pl.DataFrame | None = None
) -> pl.DataFrame:
    """sku, location, realised_price [currency/unit] of the last sale with qty > 0 ≤ as_of.

    ``keys`` (sku, location) restricts the look-up to those SKU-locations (None = all).
    """
    schema = {"sku": pl.String, "location": pl.String, "realised_price": pl.Float64}
    if is_empty(sales):
        return pl.DataFrame(schema=schema)
    assert sales is not None
    s = with_location(sales)
    if keys is not None:
        s = s.join(keys, on=KEY, how="semi")
    qty = pl.col("qty").cast(pl.Float64)
    realised = pl.coalesce(col_or(s, "revenue", pl.Float64) / qty, col_or(s, "price", pl.Float64))
    return (
        s.with_row_index("_row")
        .filter((pl.col("date") <= as_of) & (qty > 0))
        .with_columns(realised.alias("realised_price"))
        .filter(pl.col("realised_price").is_not_null())
        .sort(["date", "_row"])
        .unique(subset=KEY, keep="last")
        .select(list(schema))
    )
