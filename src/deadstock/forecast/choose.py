"""Pick the forecast method per demand class by a rolling-origin backtest, then forecast (§3.3).

Candidates by Syntetos–Boylan demand class: smooth and erratic → ``seasonal_ses`` (optimised SES
on the series divided by its seasonal index; the forecast of day t is level × index_t) and plain
optimised ``ses`` (flat); intermittent and lumpy → ``croston_sba``, ``tsb``, ``adida``, ``imapa``
(flat). Series without demand in the demand window (class ``none``) get no method and a forecast
of 0.

Backtest (Tashman 2000, "Out-of-sample tests of forecasting accuracy", IJF 16(4)): for origins
o = 1 … O, each ``step`` days apart and the last ``horizon`` days before the end of the series,
every candidate is fitted on the days before the origin and scored on the ``horizon`` days after
it. MASE (Hyndman & Koehler 2006) of a series at an origin = mean |f − a| ÷ the mean absolute
one-day change of its training days; series whose training days never change are left out of
MASE (their scale is 0) but kept in the bias Σ(f − a) ÷ Σ a. Per class the candidate with the
lowest mean MASE over series and origins wins. At most ``sample`` series per class are scored
(a seeded random sample), which bounds the cost at millions of series.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from deadstock.config import Config
from deadstock.forecast.kernels import (
    INTERMITTENT_METHODS,
    intermittent_forecasts,
    seasonal_ses,
    ses_optimised,
)

SEASONAL_METHODS = ("seasonal_ses", "ses")
CANDIDATES: dict[str, tuple[str, ...]] = {
    "smooth": SEASONAL_METHODS,
    "erratic": SEASONAL_METHODS,
    "intermittent": INTERMITTENT_METHODS,
    "lumpy": INTERMITTENT_METHODS,
}
SES_BOUNDS = (0.01, 0.99)  # statsforecast's SimpleExponentialSmoothingOptimized bounds
SAMPLE_SEED = 20251123

#: rows (sorted positions) → daily demand matrix (len(rows), days) [units/day]
RowsMatrix = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ForecastChoice:
    """The method chosen per demand class and the ``forecast_accuracy`` table behind it."""

    methods: dict[str, str]
    accuracy: pl.DataFrame


ACCURACY_SCHEMA = {
    "demand_class": pl.String,
    "method": pl.String,
    "n_series": pl.Int64,
    "mase": pl.Float64,
    "bias": pl.Float64,
    "chosen": pl.Boolean,
}


def levels_of(method: str, train: np.ndarray, index: np.ndarray | None) -> np.ndarray:
    """One method's level per series [units/day]; ``index`` = daily seasonal index of train."""
    if method == "seasonal_ses":
        season = np.ones_like(train) if index is None else index
        return seasonal_ses(train, season, *SES_BOUNDS)
    if method == "ses":
        return ses_optimised(train, *SES_BOUNDS)
    return intermittent_forecasts(train, (method,))[method]


def _paths(
    method: str, level: np.ndarray, future_index: np.ndarray | None, days: int
) -> np.ndarray:
    """Forecast per day [units/day], shape (n, days): level × index for seasonal_ses, else flat."""
    if method == "seasonal_ses" and future_index is not None:
        return level[:, None] * future_index
    return np.repeat(level[:, None], days, axis=1)


@dataclass
class _Totals:
    """Backtest sums over the series and origins of one class."""

    mase: dict[str, float]  # Σ MASE per method, over usable (series, origin) pairs
    error: dict[str, float]  # Σ (f − a) per method [units]
    scored: float = 0.0  # usable (series, origin) pairs (non-zero scale)
    actual: float = 0.0  # Σ a [units]


def _score(
    y: np.ndarray, index: np.ndarray | None, methods: tuple[str, ...], config: Config
) -> _Totals:
    """Rolling-origin backtest of ``methods`` on the series ``y`` (see the module docstring)."""
    horizon = int(config.forecast_backtest_horizon_days)
    step = int(config.forecast_backtest_step_days)
    n_days = y.shape[1]
    totals = _Totals({m: 0.0 for m in methods}, {m: 0.0 for m in methods})
    for origin in range(int(config.forecast_backtest_origins)):
        cut = n_days - horizon - origin * step
        if cut < 28:
            break
        train, test = y[:, :cut], y[:, cut : cut + horizon]
        scale = np.abs(np.diff(train, axis=1)).mean(axis=1)
        usable = scale > 0
        totals.scored += float(usable.sum())
        totals.actual += float(test.sum())
        past = None if index is None else index[:, :cut]
        future = None if index is None else index[:, cut : cut + horizon]
        # The intermittent methods share one pass (ADIDA is IMAPA's top level).
        shared = [m for m in methods if m in INTERMITTENT_METHODS]
        levels = intermittent_forecasts(train, shared) if shared else {}
        for method in methods:
            level = levels[method] if method in levels else levels_of(method, train, past)
            forecast = _paths(method, level, future, horizon)
            mae = np.abs(forecast - test).mean(axis=1)
            totals.mase[method] += float((mae[usable] / scale[usable]).sum())
            totals.error[method] += float((forecast - test).sum())
    return totals


def _row(cls: str, method: str, totals: _Totals, n: int) -> dict[str, object]:
    scored, actual = totals.scored, totals.actual
    return {
        "demand_class": cls,
        "method": method,
        "n_series": n,
        "mase": totals.mase[method] / scored if scored else None,
        "bias": totals.error[method] / actual if actual > 0 else None,
        "chosen": False,
    }


def choose_methods(
    rows_matrix: RowsMatrix,
    rows_index: RowsMatrix,
    classes: np.ndarray,
    config: Config,
) -> ForecastChoice:
    """Backtest the candidates of each demand class on a sample of its series (see module)."""
    rng = np.random.default_rng(SAMPLE_SEED)
    sample_size = int(config.forecast_backtest_sample)
    records: list[dict[str, object]] = []
    chosen: dict[str, str] = {}
    overall = _Totals({"chosen": 0.0}, {"chosen": 0.0})
    n_overall = 0
    for cls, methods in CANDIDATES.items():
        rows = np.flatnonzero(classes == cls)
        if rows.size == 0:
            continue
        if rows.size > sample_size:
            rows = np.sort(rng.choice(rows, sample_size, replace=False))
        index = rows_index(rows) if cls in ("smooth", "erratic") else None
        totals = _score(rows_matrix(rows), index, methods, config)
        class_rows = [_row(cls, method, totals, rows.size) for method in methods]
        mases: dict[str, float] = {}
        for method, record in zip(methods, class_rows, strict=True):
            if isinstance(record["mase"], float):
                mases[method] = record["mase"]
        best = min(mases, key=mases.__getitem__) if mases else methods[0]  # first of ties
        for record in class_rows:
            record["chosen"] = record["method"] == best
        records.extend(class_rows)
        chosen[cls] = best
        overall.mase["chosen"] += totals.mase[best]
        overall.error["chosen"] += totals.error[best]
        overall.scored += totals.scored
        overall.actual += totals.actual
        n_overall += int(rows.size)
    if records:
        total = _row("overall", "chosen", overall, n_overall)
        total["chosen"] = True
        records.append(total)
    accuracy = pl.DataFrame(records, schema=ACCURACY_SCHEMA)
    return ForecastChoice(chosen, accuracy)


def forecast_levels(
    y: np.ndarray, index: np.ndarray, classes: np.ndarray, choice: ForecastChoice
) -> tuple[np.ndarray, np.ndarray]:
    """(level [units/day], method) per series of a block, with the method chosen for its class.

    ``index`` is the daily seasonal index of the block's days (used by seasonal_ses). Series of
    class ``none`` or of a class without a choice get level 0 and method null.
    """
    levels = np.zeros(y.shape[0])
    methods = np.full(y.shape[0], None, dtype=object)
    for cls, method in choice.methods.items():
        rows = np.flatnonzero(classes == cls)
        if rows.size == 0:
            continue
        levels[rows] = levels_of(method, y[rows], index[rows] if method == "seasonal_ses" else None)
        methods[rows] = method
    return np.maximum(levels, 0.0), methods
