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


def _score(
    y: np.ndarray, index: np.ndarray | None, methods: tuple[str, ...], config: Config
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per method: (Σ MASE over origins, origins scored, Σ f − Σ a and Σ a per series)."""
    horizon = int(config.forecast_backtest_horizon_days)
    step = int(config.forecast_backtest_step_days)
    n_series, n_days = y.shape
    mase_sum = {m: np.zeros(n_series) for m in methods}
    scored = np.zeros(n_series)
    error_sum = {m: np.zeros(n_series) for m in methods}
    actual_sum = np.zeros(n_series)
    for origin in range(int(config.forecast_backtest_origins)):
        cut = n_days - horizon - origin * step
        if cut < 28:
            break
        train, test = y[:, :cut], y[:, cut : cut + horizon]
        scale = np.abs(np.diff(train, axis=1)).mean(axis=1)
        usable = scale > 0
        scored += usable
        actual_sum += test.sum(axis=1)
        past = None if index is None else index[:, :cut]
        future = None if index is None else index[:, cut : cut + horizon]
        # The intermittent methods share one pass (ADIDA is IMAPA's top level).
        shared = [m for m in methods if m in INTERMITTENT_METHODS]
        levels = intermittent_forecasts(train, shared) if shared else {}
        for method in methods:
            level = levels[method] if method in levels else levels_of(method, train, past)
            forecast = _paths(method, level, future, horizon)
            mae = np.abs(forecast - test).mean(axis=1)
            mase_sum[method] += np.where(usable, mae / np.where(usable, scale, 1.0), 0.0)
            error_sum[method] += (forecast - test).sum(axis=1)
    return {m: (mase_sum[m], scored, error_sum[m]) for m in methods} | {
        "_actual": (actual_sum, scored, actual_sum)
    }


def _row(
    cls: str, method: str, mase_total: float, scored: float, error: float, actual: float, n: int
) -> dict[str, object]:
    return {
        "demand_class": cls,
        "method": method,
        "n_series": n,
        "mase": mase_total / scored if scored else None,
        "bias": error / actual if actual > 0 else None,
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
    overall = [0.0, 0.0, 0.0, 0.0, 0]  # Σ MASE, origins scored, Σ error, Σ actual, series
    for cls, methods in CANDIDATES.items():
        rows = np.flatnonzero(classes == cls)
        if rows.size == 0:
            continue
        if rows.size > sample_size:
            rows = np.sort(rng.choice(rows, sample_size, replace=False))
        y = rows_matrix(rows)
        index = rows_index(rows) if cls in ("smooth", "erratic") else None
        scores = _score(y, index, methods, config)
        actual = float(scores["_actual"][0].sum())
        best, best_mase = methods[0], np.inf
        class_rows = []
        for method in methods:
            mase_sum, scored, error = scores[method]
            record = _row(
                cls,
                method,
                float(mase_sum.sum()),
                float(scored.sum()),
                float(error.sum()),
                actual,
                rows.size,
            )
            class_rows.append(record)
            value = record["mase"]
            if isinstance(value, float) and value < best_mase:
                best, best_mase = method, value
        for record in class_rows:
            record["chosen"] = record["method"] == best
        records.extend(class_rows)
        chosen[cls] = best
        mase_sum, scored, error = scores[best]
        overall[0] += float(mase_sum.sum())
        overall[1] += float(scored.sum())
        overall[2] += float(error.sum())
        overall[3] += actual
        overall[4] += int(rows.size)
    if records:
        total = _row(
            "overall", "chosen", overall[0], overall[1], overall[2], overall[3], int(overall[4])
        )
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
