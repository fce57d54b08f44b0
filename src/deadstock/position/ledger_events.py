"""Exact, event-by-event FIFO ledger replay for SKUs whose locations are linked by transfers.

A transfer moves the very layers the issuing location gave up, keeping their received dates and
costs, and slots them into the receiving location's queue by received date: the receiving queue
then depends on the issuing one, which the vectorised matching of
:mod:`deadstock.position.ledger_vectorised` cannot express. These SKUs (a minority) are replayed
row by row here; the rules are the contract of :func:`deadstock.position.replay_ledger`:

- inflow (receipt, positive change or reconciliation up) first fills negative layers, oldest
  first; the rest becomes a layer dated on the row's date at value_change ÷ change, else the
  fallback cost, else the last known layer cost of the SKU-location (the cost of the latest layer,
  positive or negative, created there with a known cost);
- outflow consumes the oldest layers; what is left uncovered becomes a negative layer dated on the
  issue's date at the cost of the last layer consumed, else the last known layer cost, else the
  fallback, else the issue's own value_change ÷ change;
- a transfer's issuing side hands the pieces it took (and its uncovered part, dated on the
  transfer date) to the receiving side, oldest first; they fill its negative layers first and the
  rest is inserted in its queue by received date (origin ``transfer``).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import polars as pl

from deadstock.position._frames import NOISE_RELATIVE
from deadstock.position.ledger_prepare import REPLAY_ORDER, TRANSFER_IN, TRANSFER_OUT
from deadstock.position.ledger_vectorised import LAYER_COLUMNS

# A layer is [received (epoch day), units, unit_cost, origin]; a piece is [received, units, cost].
RECEIVED, UNITS, COST, ORIGIN = 0, 1, 2, 3


def replay_events(rows: pl.DataFrame) -> pl.DataFrame:
    """FIFO layers at the end of ``rows`` (replay rows of whole SKUs), replayed event by event.

    Returns the columns of :data:`~deadstock.position.ledger_vectorised.LAYER_COLUMNS`.
    """
    if rows.height == 0:
        return pl.DataFrame(
            schema={
                "_k": pl.UInt32,
                "received": pl.Date,
                "units": pl.Float64,
                "unit_cost": pl.Float64,
                "origin": pl.String,
                "_pos": pl.Int64,
            }
        )
    scale = rows.group_by("_k").agg(pl.col("delta").abs().sum().alias("_scale"))
    eps_of = {
        k: NOISE_RELATIVE * max(1.0, s) for k, s in zip(scale["_k"], scale["_scale"], strict=True)
    }
    r = rows.sort(["_s", *REPLAY_ORDER]).select(
        "_k",
        pl.col("date").cast(pl.Int32).alias("_day"),
        "delta",
        "is_reco",
        "own_cost",
        "fallback",
        "role",
        "group",
    )
    queues: dict[int, deque[list[Any]]] = {}
    last_known: dict[int, float | None] = {}
    pools: dict[int, deque[list[Any]]] = {}

    for k, day, delta, is_reco, own, fallback, role, group in r.iter_rows():
        if delta == 0:
            continue
        queue = queues.setdefault(k, deque())
        eps = eps_of[k]
        if delta < 0:
            chain = _first(last_known.get(k), fallback, own)
            pieces, negative_cost = _issue(queue, -delta, day, eps, chain)
            if negative_cost is not None:
                last_known[k] = negative_cost
            if role == TRANSFER_OUT:
                pools.setdefault(group, deque()).extend(pieces)
            continue
        if role == TRANSFER_IN:
            pieces = _take(pools.setdefault(group, deque()), delta, eps)
            missing = delta - sum(p[UNITS] for p in pieces)
            if missing > eps:
                pieces.append([day, missing, _first(own, fallback, last_known.get(k))])
            origin = "transfer"
        else:
            pieces = [[day, delta, _first(own, fallback, last_known.get(k))]]
            origin = "reconciliation" if is_reco else "receipt"
        for piece in pieces:
            if piece[COST] is not None:
                last_known[k] = piece[COST]
        _receive(queue, pieces, origin, eps, by_date=role == TRANSFER_IN)

    out: dict[str, list[Any]] = {c: [] for c in LAYER_COLUMNS}
    for k, queue in queues.items():
        for pos, layer in enumerate(queue):
            out["_k"].append(k)
            out["received"].append(layer[RECEIVED])
            out["units"].append(layer[UNITS])
            out["unit_cost"].append(layer[COST])
            out["origin"].append(layer[ORIGIN])
            out["_pos"].append(pos)
    return pl.DataFrame(
        out,
        schema={
            "_k": pl.UInt32,
            "received": pl.Int32,
            "units": pl.Float64,
            "unit_cost": pl.Float64,
            "origin": pl.String,
            "_pos": pl.Int64,
        },
    ).with_columns(pl.col("received").cast(pl.Date))


def _first(*values: float | None) -> float | None:
    """The first value that is not None (a coalesce)."""
    for value in values:
        if value is not None:
            return value
    return None


def _issue(
    queue: deque[list[Any]], qty: float, day: int, eps: float, fallback_cost: float | None
) -> tuple[list[list[Any]], float | None]:
    """Consume ``qty`` [units] oldest first; leave a negative layer for what is not covered.

    Returns the pieces taken (oldest first, the uncovered part last, dated ``day``) and the cost
    of the negative layer left (None when none or unknown). The negative layer costs the last
    consumed layer's cost, else ``fallback_cost`` (the caller's chain: last known layer cost,
    fallback, the issue's own cost).
    """
    pieces: list[list[Any]] = []
    last_cost: float | None = None
    while qty > eps and queue and queue[0][UNITS] > 0:
        layer = queue[0]
        if layer[UNITS] <= qty + eps:
            queue.popleft()
            took = layer[UNITS]
        else:
            took = qty
            layer[UNITS] -= qty
        pieces.append([layer[RECEIVED], took, layer[COST]])
        last_cost = layer[COST]
        qty -= took
    if qty <= eps:
        return pieces, None
    cost = _first(last_cost, fallback_cost)
    queue.append([day, -qty, cost, "negative"])
    pieces.append([day, qty, cost])
    return pieces, cost


def _take(pool: deque[list[Any]], qty: float, eps: float) -> list[list[Any]]:
    """Take up to ``qty`` [units] of transferred pieces from the front of ``pool``."""
    taken: list[list[Any]] = []
    while qty > eps and pool:
        piece = pool[0]
        if piece[UNITS] <= qty + eps:
            pool.popleft()
            taken.append(piece)
            qty -= piece[UNITS]
        else:
            taken.append([piece[RECEIVED], qty, piece[COST]])
            piece[UNITS] -= qty
            qty = 0.0
    return taken


def _receive(
    queue: deque[list[Any]], pieces: list[list[Any]], origin: str, eps: float, *, by_date: bool
) -> None:
    """Fill negative layers (oldest first) with ``pieces``; queue the rest as layers.

    ``by_date``: insert each remaining piece after the last layer received on or before its
    date (transfers keep their age); else append (a new receipt is the newest layer).
    """
    for received, piece_units, cost in pieces:
        units = piece_units
        while units > eps and queue and queue[0][UNITS] < 0:
            negative = queue[0]
            if -negative[UNITS] <= units + eps:
                queue.popleft()
                units += negative[UNITS]
            else:
                negative[UNITS] += units
                units = 0.0
        if units <= eps:
            continue
        layer = [received, units, cost, origin]
        if by_date:
            index = len(queue)
            while index > 0 and queue[index - 1][RECEIVED] > received:
                index -= 1
            queue.insert(index, layer)
        else:
            queue.append(layer)
