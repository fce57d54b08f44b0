"""Movement metrics (SPEC §3.2): velocity, in-stock days, days of supply, turnover, sell-through,
gross margin, GMROI, ABC, XYZ and demand class per SKU-location.

- :func:`movement_metrics` — the ``sku_metrics`` table (schema ``SKU_METRICS``).
- :mod:`~deadstock.metrics.windows` — windowed sums of sales, last sale, realised price.
- :mod:`~deadstock.metrics.availability` — in-stock days and average stock from stock history.
- :mod:`~deadstock.metrics.demand` — weekly demand sums, CV, ADI, CV².
- :mod:`~deadstock.metrics.classes` — ABC, XYZ and Syntetos–Boylan demand classes.
- :mod:`~deadstock.metrics.turnover` — supply, turnover, GMROI and sell-through formulas.
"""

from deadstock.metrics.classes import abc_classes, demand_class, xyz_class
from deadstock.metrics.table import movement_metrics, sales_horizon
from deadstock.metrics.windows import PreparedSales, prepare_sales

__all__ = [
    "PreparedSales",
    "abc_classes",
    "demand_class",
    "movement_metrics",
    "prepare_sales",
    "sales_horizon",
    "xyz_class",
]
