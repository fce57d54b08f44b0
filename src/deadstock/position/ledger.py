"""FIFO replay of a stock ledger and its comparison with the inventory (SPEC §3.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import polars as pl

from deadstock.position._frames import KEY, empty_layers, is_empty
from deadstock.position.fifo import finish_layers
from deadstock.position.ledger_events import replay_events
from deadstock.position.ledger_prepare import prepare_ledger
from deadstock.position.ledger_vectorised import LAYER_COLUMNS, replay_vectorised


@dataclass(frozen=True)
class LedgerReplay:
    """Result of :func:`replay_ledger`.

    layers: schema ``LAYERS``, oldest first per SKU-location. balances: sku, location, on_hand
    [units] of every SKU-location in the ledger (≤ as_of). warnings: what the replay noticed.
    """

    layers: pl.DataFrame
    balances: pl.DataFrame
    warnings: list[str] = field(default_factory=list)


def replay_ledger(
    ledger: pl.DataFrame,
    as_of: date,
    fallback_unit_cost: pl.DataFrame | None = None,
    *,
    method: Literal["auto", "exact"] = "auto",
) -> LedgerReplay:
    """Replay a stock ledger through per-location FIFO queues up to ``as_of`` (SPEC §3.1).

    Rules (the contract):

    - Rows dated ≤ ``as_of`` are replayed in date order, input order within a date.
    - A positive change first fills negative layers (oldest first); the rest becomes a layer
      dated on the row's date at value_change ÷ qty_change [currency/unit] when value_change is
      given, else ``fallback_unit_cost`` (sku, optional location, unit_cost; a row without
      location applies to every location), else the last known inflow cost of the SKU-location,
      else null.
    - A negative change consumes the oldest layers. What the stock does not cover becomes a
      negative layer dated on the issue's date, costed at the last layer consumed (which is the
      last known inflow cost), else the fallback, else the issue's own value_change ÷ qty_change.
    - ``voucher_type`` reconciliation with ``qty_after`` sets the balance: the difference to the
      balance before acts as a receipt (origin ``reconciliation``, cost value_change ÷
      difference, else fallback, else last cost) or an issue; its qty_change is ignored. A
      reconciliation without qty_after is a plain change (warning).
    - Transfers: ``transfer`` rows of one SKU sharing a voucher_id are paired when the group has
      an issuing (qty < 0) and a receiving (qty > 0) side and no receiving row is dated before
      an issuing one (same-date receiving rows are replayed right after the issue). The
      receiving location gets exactly the layers taken (received dates and costs kept, origin
      ``transfer``), slotted into its queue by received date; what the issuing location did
      not have arrives as a layer dated on the transfer date (and the issuing location keeps a
      negative layer). Units received beyond those issued arrive as a layer on the receiving
      date. Unpaired transfer rows are plain receipts/issues (warning).
    - Quantities are never rounded: layers sum to the balance to float precision; only float
      noise (≤ 1e-12 × the units moved through the SKU-location) is dropped.

    SKUs without paired transfers are replayed vectorised (cumulative inflow against outflow,
    see :mod:`~deadstock.position.ledger_vectorised`); SKUs linked by transfers event by event
    (:mod:`~deadstock.position.ledger_events`). ``method="exact"`` replays every SKU event by
    event (same result, slower; for checking).
    """
    if is_empty(ledger):
        return LedgerReplay(
            empty_layers(),
            pl.DataFrame(schema={"sku": pl.String, "location": pl.String, "on_hand": pl.Float64}),
            [],
        )
    prepared = prepare_ledger(ledger, as_of, fallback_unit_cost)
    rows = prepared.rows
    exact = pl.col("linked") if method == "auto" else pl.lit(True)
    parts = [
        replay_vectorised(rows.filter(~exact)).cast({"_pos": pl.Int64}),
        replay_events(rows.filter(exact)),
    ]
    layers = pl.concat([p.select(LAYER_COLUMNS) for p in parts]).sort("_k", "_pos")
    keys = prepared.keys.select("_k", *KEY)
    balances = (
        prepared.balances.join(keys, on="_k", how="left")
        .sort("_k")
        .select("sku", "location", pl.col("on_hand").cast(pl.Float64))
    )
    return LedgerReplay(
        layers=finish_layers(layers, keys, as_of),
        balances=balances,
        warnings=list(prepared.warnings),
    )


def compare_inventory(
    position: pl.DataFrame, balances: pl.DataFrame, tolerance: float
) -> pl.DataFrame:
    """SKU-locations whose inventory on-hand and ledger balance differ by more than ``tolerance``.

    Columns: sku, location, on_hand_inventory [units], on_hand_ledger [units], difference
    (inventory − ledger) [units]. A SKU-location missing on one side counts 0 units there.
    Sorted by sku, location. ``tolerance`` [units]: setting ``ledger_tolerance``.
    """
    inventory = position.select(
        pl.col("sku").cast(pl.String),
        pl.col("location").cast(pl.String),
        pl.col("on_hand").cast(pl.Float64).alias("on_hand_inventory"),
    )
    ledger = balances.select(
        pl.col("sku").cast(pl.String),
        pl.col("location").cast(pl.String),
        pl.col("on_hand").cast(pl.Float64).alias("on_hand_ledger"),
    )
    return (
        inventory.join(ledger, on=KEY, how="full", coalesce=True)
        .with_columns(
            pl.col("on_hand_inventory").fill_null(0.0), pl.col("on_hand_ledger").fill_null(0.0)
        )
        .with_columns((pl.col("on_hand_inventory") - pl.col("on_hand_ledger")).alias("difference"))
        .filter(pl.col("difference").abs() > tolerance)
        .sort(KEY)
    )
