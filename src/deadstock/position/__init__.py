"""Position and ageing (SPEC §3.1): on-hand at as-of, FIFO layers, ledger replay, stock history,
age profile.

- :func:`on_hand_at` — position per SKU-location, rolled from the inventory snapshot.
- :func:`fifo_layers` — FIFO layers of on-hand stock from receipts (schema ``LAYERS``).
- :func:`replay_ledger` / :func:`compare_inventory` — FIFO replay of a stock ledger and its
  difference to the inventory.
- :func:`stock_history` / :func:`stock_history_from_ledger` — daily closing stock.
- :func:`age_profile` — stock value, mean age and age buckets per SKU-location.
"""

from deadstock.position.ageing import age_profile
from deadstock.position.fifo import fifo_layers
from deadstock.position.history import (
    keyed_stock_history,
    stock_history,
    stock_history_from_ledger,
)
from deadstock.position.ledger import LedgerReplay, compare_inventory, replay_ledger
from deadstock.position.onhand import on_hand_at

__all__ = [
    "LedgerReplay",
    "age_profile",
    "compare_inventory",
    "fifo_layers",
    "keyed_stock_history",
    "on_hand_at",
    "replay_ledger",
    "stock_history",
    "stock_history_from_ledger",
]
