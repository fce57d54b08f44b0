"""Ledger normalisation shared by the replay paths and the stock history (SPEC §3.1).

Turns a canonical ledger into *replay rows*: rows dated ≤ as_of with integer keys, the replay
order, the effective quantity change of each row (reconciliations become ± changes), the row's
own unit cost, the fallback cost and the transfer pairing. Everything here is vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from deadstock.position._frames import KEY, col_or, with_location

#: Transfer roles of a replay row.
PLAIN, TRANSFER_OUT, TRANSFER_IN = 0, 1, 2

REPLAY_ORDER = ["date", "_major", "_row"]
_EXAMPLES = 5


@dataclass(frozen=True)
class PreparedLedger:
    """Replay rows sorted by key then replay order, the key table and the final balances.

    ``rows`` columns: _k (SKU-location id), _s (SKU id), date, _major and _row (replay order
    within a date: input order, a transfer's receiving side after its issuing side), qty,
    qty_after and delta (effective change) [units], value_change [currency], is_reco, own_cost
    and fallback [currency/unit], role (PLAIN / TRANSFER_OUT / TRANSFER_IN), group (transfer
    group id), linked (the SKU has paired transfers). ``keys``: _k, _s, sku, location (sorted;
    _k = 0…n−1). ``balances``: _k, on_hand [units].
    """

    rows: pl.DataFrame
    keys: pl.DataFrame
    balances: pl.DataFrame
    warnings: list[str] = field(default_factory=list)


def prepare_ledger(
    ledger: pl.DataFrame,
    as_of: date,
    fallback_unit_cost: pl.DataFrame | None = None,
) -> PreparedLedger:
    """Normalise ``ledger`` for replay (see module doc); rows dated after ``as_of`` are ignored."""
    warnings: list[str] = []
    lg = with_location(ledger)
    voucher_type = col_or(lg, "voucher_type", pl.String).str.strip_chars().str.to_lowercase()
    rows = (
        lg.with_row_index("_row")
        .select(
            pl.col("_row").cast(pl.Int64),
            "sku",
            "location",
            pl.col("date").cast(pl.Date),
            pl.col("qty_change").cast(pl.Float64).fill_null(0.0).alias("qty"),
            voucher_type.alias("_type"),
            col_or(lg, "qty_after", pl.Float64).alias("qty_after"),
            col_or(lg, "value_change", pl.Float64).alias("value_change"),
            col_or(lg, "voucher_id", pl.String).alias("voucher_id"),
        )
        .filter(pl.col("date") <= as_of)
    )

    is_reco_type = pl.col("_type") == "reconciliation"
    bad_reco = rows.filter(is_reco_type & pl.col("qty_after").is_null())
    if bad_reco.height:
        warnings.append(
            f"ledger: {bad_reco.height} reconciliation row(s) without qty_after were replayed as "
            f"plain changes of qty_change (e.g. {_row_examples(bad_reco)})."
        )
    rows = rows.with_columns(
        (is_reco_type & pl.col("qty_after").is_not_null()).fill_null(False).alias("is_reco")
    )
    rows, transfer_warnings = _pair_transfers(rows)
    warnings.extend(transfer_warnings)

    keys = (
        rows.select(KEY)
        .unique()
        .sort(KEY)
        .with_row_index("_k")
        .with_columns(pl.col("sku").rank("dense").cast(pl.UInt32).alias("_s"))
    )
    rows = _replay_sorted(rows.join(keys.select("_k", "_s", *KEY), on=KEY, how="left"))
    rows = _effective_changes(rows)
    rows = rows.join(_fallback_costs(fallback_unit_cost, keys), on="_k", how="left")
    linked = rows.filter(pl.col("role") != PLAIN).select("_s").unique()
    rows = rows.with_columns(pl.col("_s").is_in(linked["_s"].implode()).alias("linked"))

    run_end = (pl.col("_k") != pl.col("_k").shift(-1)).fill_null(True)
    balances = rows.filter(run_end).select("_k", pl.col("_balance").alias("on_hand"))
    return PreparedLedger(
        rows=rows.drop("_balance"),
        keys=keys.select("_k", "_s", *KEY),
        balances=keys.select("_k").join(balances, on="_k", how="left").sort("_k"),
        warnings=warnings,
    )


def _replay_sorted(rows: pl.DataFrame) -> pl.DataFrame:
    """Numeric replay columns sorted by key, date, then _major/_row (one stable integer sort).

    Rows arrive in file order (_row); only same-date transfer receipts have _major ≠ 2·_row, so
    a stable sort by _major first (a no-op without them) then by (key, day) gives the order.
    """
    rows = rows.select(
        "_k",
        "_s",
        "date",
        "_major",
        "_row",
        "qty",
        "qty_after",
        "value_change",
        "is_reco",
        "role",
        "group",
    )
    if bool((rows["_major"] != 2 * rows["_row"]).any()):
        rows = rows.sort("_major", maintain_order=True)
    first_day = rows["date"].min()
    day = (pl.col("date") - pl.lit(first_day, dtype=pl.Date)).dt.total_days()
    order = pl.col("_k").cast(pl.Int64) * (1 << 20) + day
    # Flag the key as sorted: the per-key windows (``over("_k")``) then use contiguous groups.
    return rows.sort(order, maintain_order=True).with_columns(pl.col("_k").set_sorted())


def _pair_transfers(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Pair transfer rows by (sku, voucher_id) and set role, group and the replay order.

    A group is paired when it has issuing (qty < 0) and receiving (qty > 0) rows and no receiving
    row is dated before an issuing row. Receiving rows on the date of the group's last issue are
    replayed right after it. Unpaired transfer rows stay plain changes (with a warning).
    """
    warnings: list[str] = []
    is_transfer = (pl.col("_type") == "transfer").fill_null(False) & (pl.col("qty") != 0)
    out_side, in_side = pl.col("qty") < 0, pl.col("qty") > 0
    groups = (
        rows.filter(is_transfer & pl.col("voucher_id").is_not_null())
        .group_by("sku", "voucher_id")
        .agg(
            out_side.sum().alias("_n_out"),
            in_side.sum().alias("_n_in"),
            pl.col("date").filter(out_side).max().alias("_last_out_date"),
            pl.col("date").filter(in_side).min().alias("_first_in_date"),
            pl.col("_row")
            .filter(out_side & (pl.col("date") == pl.col("date").filter(out_side).max()))
            .max()
            .alias("_last_out_row"),
            (-pl.col("qty")).filter(out_side).sum().alias("_out_units"),
            pl.col("qty").filter(in_side).sum().alias("_in_units"),
        )
        .with_columns(
            (
                (pl.col("_n_out") > 0)
                & (pl.col("_n_in") > 0)
                & (pl.col("_last_out_date") <= pl.col("_first_in_date"))
            ).alias("_paired")
        )
        .sort("sku", "voucher_id")
    )
    paired = (
        groups.filter("_paired")
        .with_row_index("group")
        .with_columns(pl.col("group").cast(pl.Int64))
    )
    rows = rows.join(
        paired.select("sku", "voucher_id", "group", "_last_out_date", "_last_out_row"),
        on=["sku", "voucher_id"],
        how="left",
    ).with_columns(pl.when(is_transfer).then(pl.col("group")).alias("group"))
    role = (
        pl.when(pl.col("group").is_null())
        .then(PLAIN)
        .when(pl.col("qty") < 0)
        .then(TRANSFER_OUT)
        .otherwise(TRANSFER_IN)
        .cast(pl.Int8)
    )
    major = (
        pl.when((pl.col("role") == TRANSFER_IN) & (pl.col("date") == pl.col("_last_out_date")))
        .then(pl.max_horizontal(2 * pl.col("_row"), 2 * pl.col("_last_out_row") + 1))
        .otherwise(2 * pl.col("_row"))
    )
    rows = (
        rows.with_columns(role.alias("role"))
        .with_columns(major.alias("_major"))
        .drop("_last_out_date", "_last_out_row")
    )

    unpaired = rows.filter(is_transfer & (pl.col("role") == PLAIN))
    if unpaired.height:
        warnings.append(
            f"ledger: {unpaired.height} transfer row(s) have no matching other side (same sku and "
            "voucher_id, issue not after receipt) and were replayed as plain receipts/issues "
            f"(e.g. {_row_examples(unpaired)})."
        )
    mismatched = groups.filter(
        pl.col("_paired")
        & (
            (pl.col("_in_units") - pl.col("_out_units")).abs()
            > 1e-9 * pl.max_horizontal(1.0, pl.col("_out_units"))
        )
    )
    if mismatched.height:
        examples = ", ".join(
            f"{s}/{v}"
            for s, v in mismatched.select("sku", "voucher_id").head(_EXAMPLES).iter_rows()
        )
        warnings.append(
            f"ledger: {mismatched.height} transfer(s) receive a different quantity than they "
            "issue; units received beyond those issued enter as new layers on the receiving "
            f"date, units issued but not received are lost in transit (sku/voucher {examples})."
        )
    return rows, warnings


def _effective_changes(rows: pl.DataFrame) -> pl.DataFrame:
    """Add ``delta`` (reconciliations: qty_after − balance before), ``_balance`` and own_cost.

    Rows must be sorted by key then replay order. Balance after a row = qty_after of the last
    reconciliation so far (0 if none) + the plain changes since it.
    """
    plain = pl.when(pl.col("is_reco")).then(0.0).otherwise(pl.col("qty"))
    reco_only = pl.when(pl.col("is_reco"))
    rows = rows.with_columns(plain.cum_sum().over("_k").alias("_cum"))
    last_after = reco_only.then(pl.col("qty_after")).forward_fill().over("_k")
    cum_at_last = reco_only.then(pl.col("_cum")).forward_fill().over("_k")
    rows = rows.with_columns(
        (last_after.fill_null(0.0) + pl.col("_cum") - cum_at_last.fill_null(0.0)).alias("_balance")
    )
    balance_before = pl.col("_balance").shift(1, fill_value=0.0).over("_k")
    delta = (
        pl.when(pl.col("is_reco"))
        .then(pl.col("qty_after") - balance_before)
        .otherwise(pl.col("qty"))
    )
    rows = rows.with_columns(delta.alias("delta")).drop("_cum")
    own = (
        pl.when(pl.col("value_change").is_not_null() & (pl.col("delta") != 0))
        .then(pl.col("value_change") / pl.col("delta"))
        .cast(pl.Float64)
    )
    return rows.with_columns(own.alias("own_cost"))


def _fallback_costs(fallback: pl.DataFrame | None, keys: pl.DataFrame) -> pl.DataFrame:
    """_k, fallback [currency/unit]: the (sku, location) row, else the sku row (no location)."""
    if fallback is None or fallback.height == 0:
        return keys.select("_k", pl.lit(None, dtype=pl.Float64).alias("fallback"))
    fb = fallback.select(
        pl.col("sku").cast(pl.String),
        col_or(fallback, "location", pl.String).alias("location"),
        pl.col("unit_cost").cast(pl.Float64),
    )
    by_location = (
        fb.filter(pl.col("location").is_not_null())
        .unique(subset=KEY, keep="last", maintain_order=True)
        .rename({"unit_cost": "_fb_location"})
    )
    by_sku = (
        fb.filter(pl.col("location").is_null())
        .unique(subset=["sku"], keep="last", maintain_order=True)
        .select("sku", pl.col("unit_cost").alias("_fb_sku"))
    )
    return (
        keys.join(by_location, on=KEY, how="left")
        .join(by_sku, on="sku", how="left")
        .select("_k", pl.coalesce("_fb_location", "_fb_sku").alias("fallback"))
    )


def _row_examples(rows: pl.DataFrame) -> str:
    """Up to five rows of ``rows`` as ``sku@location date`` text."""
    shown = [
        f"{sku}@{location} {day}"
        for sku, location, day in rows.select("sku", "location", "date").head(_EXAMPLES).iter_rows()
    ]
    more = "" if rows.height <= _EXAMPLES else ", …"
    return ", ".join(shown) + more
