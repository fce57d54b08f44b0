"""Detection of dead, slow and excess stock (SPEC §3.3, §3.4).

- :func:`seasonal_index`, :func:`week_status` — seasonal profiles and week types.
- :func:`deterministic_excess`, :func:`probabilistic_excess` — excess units and days in stock.
- :func:`classify` — the ``classification`` table; :func:`detect` — the whole stage of a run.
- :mod:`~deadstock.detect.backtest` — replay at past cut-offs and score what happened next.
"""

from deadstock.detect.classify import classify
from deadstock.detect.probabilistic import deterministic_excess, probabilistic_excess
from deadstock.detect.seasonality import seasonal_index, week_status
from deadstock.detect.stage import Detection, detect

__all__ = [
    "Detection",
    "classify",
    "detect",
    "deterministic_excess",
    "probabilistic_excess",
    "seasonal_index",
    "week_status",
]
