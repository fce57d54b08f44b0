"""Demo data and real-data loaders.

- :func:`generate_retailer` — a seeded, realistic retailer (canonical input tables, SPEC §2).
- :func:`write_dataset`, :func:`write_demo_data` — write tables to a data folder (CSV/Parquet).
- :func:`add_defects` — append deliberately bad rows to the CSV files (SPEC §2 defect list).
- :func:`load_m5_with_stock` — real M5 daily sales with derived, seeded receipts and stock.
"""

from deadstock.datasets.defects import add_defects
from deadstock.datasets.io import write_dataset, write_demo_data
from deadstock.datasets.m5 import load_m5_with_stock
from deadstock.datasets.retailer import generate_retailer

__all__ = [
    "add_defects",
    "generate_retailer",
    "load_m5_with_stock",
    "write_dataset",
    "write_demo_data",
]
