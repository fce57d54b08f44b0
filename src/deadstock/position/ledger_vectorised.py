"""Vectorised FIFO ledger replay for SKU-locations not linked by transfers (SPEC §3.1).

A FIFO queue with negative layers is equivalent to matching cumulative inflow against cumulative
outflow. Number every unit that enters a SKU-location by its position on the cumulative inflow
axis (I) and every unit that leaves on the cumulative outflow axis (O): FIFO sends the n-th unit
in to the n-th unit out, whether the issue comes before the receipt (a negative layer, filled
later) or after it. At the end, with totals I_end and O_end:

- the stock still on hand is the inflow positions (O_end, I_end]: of each inflow row, the part of
  its interval (I − inflow, I] above O_end, dated on the row's date, at the row's cost;
- the issues not yet covered are the outflow positions (I_end, O_end]: of each outflow row, the
  part of its interval above I_end, as a negative layer dated on the issue's date.

Costs follow the event rules of :mod:`deadstock.position.ledger_events`: an inflow costs its own
value_change ÷ change, else the fallback, else the last known layer cost; a negative layer costs
the last layer consumed — without transfers always the last known layer cost — else the fallback,
else the issue's own cost.
"""

from __future__ import annotations

import polars as pl

from deadstock.position._frames import NOISE_RELATIVE

LAYER_COLUMNS = ["_k", "received", "units", "unit_cost", "origin", "_pos"]


def replay_vectorised(rows: pl.DataFrame) -> pl.DataFrame:
    """FIFO layers at the end of ``rows`` (replay rows of unlinked SKU-locations).

    Returns _k, received, units [units], unit_cost [currency/unit], origin and _pos (queue order
    within _k). Rows must be sorted by _k then replay order; transfer roles are ignored.
    """
    r = rows.with_row_index("_pos").select(
        pl.col("_k").set_sorted(),
        "_pos",
        pl.col("date").alias("received"),
        "delta",
        "is_reco",
        "own_cost",
        "fallback",
    )
    inflow = pl.col("delta").clip(lower_bound=0.0)
    outflow = (-pl.col("delta")).clip(lower_bound=0.0)
    r = r.with_columns(
        inflow.alias("_in"),
        outflow.alias("_out"),
        inflow.cum_sum().over("_k").alias("_I"),
        outflow.cum_sum().over("_k").alias("_O"),
    )
    r = r.with_columns(
        pl.col("_I").max().over("_k").alias("_I_end"),
        pl.col("_O").max().over("_k").alias("_O_end"),
    ).with_columns(
        (NOISE_RELATIVE * pl.max_horizontal(1.0, pl.col("_I_end") + pl.col("_O_end"))).alias("_eps")
    )
    # Cost bookkeeping: the last known layer cost is carried forward from every layer created
    # with a known cost. An inflow's own candidate (value, else fallback) always counts; a
    # negative layer (an issue beyond the stock of its time) only adds a cost (fallback, else its
    # own value) while nothing is known yet, otherwise it takes the last known cost itself.
    goes_negative = (pl.col("_out") > 0) & (pl.col("_O") - pl.col("_I") > pl.col("_eps"))
    r = r.with_columns(
        pl.when(pl.col("_in") > 0)
        .then(pl.coalesce("own_cost", "fallback"))
        .when(goes_negative)
        .then(pl.coalesce("fallback", "own_cost"))
        .alias("_candidate")
    )
    first_known = pl.when(pl.col("_candidate").is_not_null()).then(pl.col("_pos")).min().over("_k")
    known = pl.when((pl.col("_in") > 0) | (pl.col("_pos") == first_known)).then(
        pl.col("_candidate")
    )
    r = r.with_columns(known.alias("_known")).with_columns(
        pl.col("_known").forward_fill().shift(1).over("_k").alias("_known_before")
    )

    start_in = pl.col("_I") - pl.col("_in")
    remaining = (
        pl.when(start_in >= pl.col("_O_end"))
        .then(pl.col("_in"))
        .otherwise(pl.col("_I") - pl.col("_O_end"))
    )
    positive = (
        r.filter(pl.col("_in") > 0)
        .with_columns(remaining.alias("units"))
        .filter(pl.col("units") > pl.col("_eps"))
        .select(
            "_k",
            "received",
            "units",
            pl.coalesce("_candidate", "_known_before").alias("unit_cost"),
            pl.when(pl.col("is_reco"))
            .then(pl.lit("reconciliation"))
            .otherwise(pl.lit("receipt"))
            .alias("origin"),
            "_pos",
        )
    )

    start_out = pl.col("_O") - pl.col("_out")
    uncovered = (
        pl.when(start_out >= pl.col("_I_end"))
        .then(pl.col("_out"))
        .otherwise(pl.col("_O") - pl.col("_I_end"))
    )
    negative = (
        r.filter(pl.col("_out") > 0)
        .with_columns(uncovered.alias("_uncovered"))
        .filter(pl.col("_uncovered") > pl.col("_eps"))
        .select(
            "_k",
            "received",
            (-pl.col("_uncovered")).alias("units"),
            pl.coalesce("_known_before", "fallback", "own_cost").alias("unit_cost"),
            pl.lit("negative").alias("origin"),
            "_pos",
        )
    )
    return pl.concat([positive, negative]).sort("_k", "_pos").select(LAYER_COLUMNS)
