"""Demand forecasts per SKU-location (SPEC §3.3).

- :mod:`~deadstock.forecast.kernels` — point forecasts of a matrix of series (n_series,
  n_periods), vectorised across series: ``ses``, ``ses_optimised``, ``seasonal_ses``,
  ``croston_sba``, ``tsb``, ``adida``, ``imapa`` and ``intermittent_forecasts`` (several at once).
  They reproduce statsforecast 2.1.1 to 1e-6 relative.
- :mod:`~deadstock.forecast.smoothing` — the SES recursions and the choice of alpha behind them.
- :mod:`~deadstock.forecast.series` — ``daily_matrix``: daily demand per SKU-location from sales.
- :mod:`~deadstock.forecast.choose` — the method per demand class by rolling-origin backtest.
"""

from deadstock.forecast.kernels import (
    INTERMITTENT_METHODS,
    adida,
    croston_sba,
    imapa,
    intermittent_forecasts,
    seasonal_ses,
    ses,
    ses_optimised,
    tsb,
)
from deadstock.forecast.series import daily_matrix

__all__ = [
    "INTERMITTENT_METHODS",
    "adida",
    "croston_sba",
    "daily_matrix",
    "imapa",
    "intermittent_forecasts",
    "seasonal_ses",
    "ses",
    "ses_optimised",
    "tsb",
]
