"""Backtest of detection: replay history at cut-off dates and score what happened next (issue 3).

For each cut-off c the run is analysed at as_of = c − 1 day with only the data dated before c
(sales, receipts, ledger rows after as_of are ignored by every stage; the inventory snapshot, if
dated later, is rolled back to as_of through the movements in between — the stock level at c is
a historical fact, not a forecast). Then the next ``horizon_days`` days of actual sales score it:

- forecast accuracy per demand class and overall: MASE = mean |f − a| over the horizon's days ÷
  the in-sample mean absolute one-day change of the last 365 days before c (Hyndman & Koehler
  2006), averaged over series with a non-zero scale; bias = Σ(f − a) ÷ Σ a over the class. f is
  the run's forecast_daily (flat), a the actual daily units.
- dead-stock flags: of the SKU-locations with stock flagged dead (4 criteria), non-moving, or
  dead by the plain ERP rule, the share that sold nothing, and that sold < 10 % of their stock,
  in the next ``horizon_days`` days (the flag's precision).
- seasonal false positives: SKU-locations the ERP rule called dead that sold well next (≥
  ``sold_well_share`` of their stock), and how many of those the 4-criteria filter also called
  dead (the false positives it exists to avoid).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from deadstock.config import Config
from deadstock.detect.stage import BLOCK_ROWS, daily_block
from deadstock.keys import sku_location_keys
from deadstock.metrics.windows import prepare_sales
from deadstock.validate import ValidatedInput

#: Share of the stock a flagged SKU-location may sell and still count as really dead.
DEAD_SALE_SHARE = 0.10
SCALE_DAYS = 365


@dataclass(frozen=True)
class BacktestResult:
    """Per cut-off figures (``table``), forecast accuracy by class (``forecast``), the flags and
    next-period sales of every SKU-location (``details``) and the figures as JSON (``report``)."""

    table: pl.DataFrame
    forecast: pl.DataFrame
    details: pl.DataFrame
    report: dict[str, Any]


def _forecast_errors(
    sales: pl.DataFrame,
    keys: pl.DataFrame,
    forecast: np.ndarray,
    cutoff: date,
    days: int,
) -> pl.DataFrame:
    """Per key: Σ|f − a| over the horizon, Σ f, Σ a (daily demand, returns as 0), the
    in-sample naive MAE scale, and ``sold_next`` = net units sold in the horizon [units]."""
    future = prepare_sales(sales, keys, cutoff + timedelta(days=days - 1), days)
    past = prepare_sales(sales, keys, cutoff - timedelta(days=1), SCALE_DAYS)
    n = keys.height
    abs_error, actual, scale = np.zeros(n), np.zeros(n), np.zeros(n)
    sold_next = np.bincount(
        future.recent["_k"].to_numpy(), weights=future.recent["qty"].to_numpy(), minlength=n
    )
    for first in range(0, n, BLOCK_ROWS):
        stop = min(first + BLOCK_ROWS, n)
        realised = daily_block(future, first, stop, days)
        history = daily_block(past, first, stop, SCALE_DAYS)
        abs_error[first:stop] = np.abs(forecast[first:stop, None] - realised).sum(axis=1)
        actual[first:stop] = realised.sum(axis=1)
        scale[first:stop] = np.abs(np.diff(history, axis=1)).mean(axis=1)
    return pl.DataFrame(
        {
            "abs_error": abs_error,
            "forecast_units": forecast * days,
            "actual_units": actual,
            "scale": scale,
            "sold_next": sold_next,
        }
    )


def _share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def backtest(
    validated: ValidatedInput,
    config: Config,
    cutoffs: Sequence[date],
    horizon_days: int = 182,
    sold_well_share: float = 0.5,
) -> BacktestResult:
    """Analyse the data at each cut-off and score the next ``horizon_days`` days (see module)."""
    from deadstock.pipeline import analyse  # the pipeline imports the detection stage

    if not cutoffs:
        raise ValueError("The 'cutoffs' parameter must name at least one date.")
    sales = validated.tables.get("sales")
    if sales is None:
        raise ValueError("A backtest needs a sales table.")
    data_end = validated.as_of
    rows: list[dict[str, Any]] = []
    forecast_rows: list[pl.DataFrame] = []
    detail_rows: list[pl.DataFrame] = []
    for cutoff in sorted(cutoffs):
        as_of = cutoff - timedelta(days=1)
        cfg = config.with_values(as_of=as_of)
        result = analyse(
            dataclasses.replace(validated, as_of=as_of, warnings=[]),
            cfg,
            snapshot_date=data_end,
            decide=False,
        )
        classification = result.classification
        assert classification is not None
        metrics = result.sku_metrics
        keys = sku_location_keys(classification.select("sku", "location"))
        errors = _forecast_errors(
            sales, keys, classification["forecast_daily"].to_numpy(), cutoff, horizon_days
        )
        frame = classification.with_columns(
            errors["sold_next"], metrics["demand_class"].fill_null("none")
        )
        detail_rows.append(
            frame.select(
                pl.lit(cutoff).alias("cutoff"),
                "sku",
                "location",
                "on_hand",
                "is_dead",
                "velocity_band",
                "erp_dead",
                "off_season",
                "forecast_daily",
                "sold_next",
            )
        )
        stocked = pl.col("on_hand") > 0
        really_dead = pl.col("sold_next") < DEAD_SALE_SHARE * pl.col("on_hand")
        nothing = pl.col("sold_next") <= 0
        sold_well = pl.col("sold_next") >= sold_well_share * pl.col("on_hand")
        flags = {
            "dead": pl.col("is_dead"),
            "non_moving": pl.col("velocity_band") == "non_moving",
            "erp_dead": pl.col("erp_dead"),
        }
        row: dict[str, Any] = {
            "cutoff": cutoff,
            "horizon_days": horizon_days,
            "sku_locations": frame.height,
            "in_stock": int(frame.select(stocked.sum()).item()),
        }
        for name, flag in flags.items():
            counts = frame.filter(stocked & flag).select(
                pl.len().alias("n"),
                really_dead.sum().alias("dead"),
                nothing.sum().alias("nothing"),
                sold_well.sum().alias("well"),
            )
            n, dead, none_sold, well = (int(v) for v in counts.row(0))
            row[f"{name}_flagged"] = n
            row[f"{name}_sold_nothing_share"] = _share(none_sold, n)
            row[f"{name}_sold_lt10pct_share"] = _share(dead, n)
            row[f"{name}_sold_well"] = well
        erp_well = frame.filter(stocked & pl.col("erp_dead") & sold_well)
        row["erp_false_positives"] = erp_well.height
        row["erp_false_positives_also_dead_4crit"] = int(erp_well["is_dead"].sum())
        row["erp_false_positives_off_season"] = int(erp_well["off_season"].sum())

        errors = errors.with_columns(frame["demand_class"], frame["forecast_method"])
        by_class = _accuracy(errors, horizon_days).with_columns(pl.lit(cutoff).alias("cutoff"))
        forecast_rows.append(by_class)
        overall = by_class.filter(pl.col("demand_class") == "overall")
        row["forecast_mase"] = overall["mase"][0] if overall.height else None
        row["forecast_bias"] = overall["bias"][0] if overall.height else None
        rows.append(row)
    table = pl.DataFrame(rows)
    forecast = pl.concat(forecast_rows).select("cutoff", pl.exclude("cutoff"))
    report = {
        "horizon_days": horizon_days,
        "sold_well_share": sold_well_share,
        "dead_sale_share": DEAD_SALE_SHARE,
        "cutoffs": [
            {
                **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()},
                "forecast": [
                    {k: v for k, v in f.items() if k != "cutoff"}
                    for f in forecast.filter(pl.col("cutoff") == r["cutoff"]).to_dicts()
                ],
            }
            for r in rows
        ],
    }
    return BacktestResult(table, forecast, pl.concat(detail_rows), report)


def _accuracy(errors: pl.DataFrame, days: int) -> pl.DataFrame:
    """MASE and bias per demand class and overall (series with a forecast method only)."""
    scored = errors.filter(pl.col("forecast_method").is_not_null())
    mase = pl.when(pl.col("scale") > 0).then(pl.col("abs_error") / days / pl.col("scale"))
    aggs = [
        pl.len().alias("n_series"),
        mase.mean().alias("mase"),
        pl.when(pl.col("actual_units").sum() > 0)
        .then(
            (pl.col("forecast_units").sum() - pl.col("actual_units").sum())
            / pl.col("actual_units").sum()
        )
        .alias("bias"),
        pl.col("forecast_units").sum().alias("forecast_units"),
        pl.col("actual_units").sum().alias("actual_units"),
    ]
    per_class = scored.group_by("demand_class").agg(aggs).sort("demand_class")
    overall = scored.select(pl.lit("overall").alias("demand_class"), *aggs)
    return pl.concat([per_class, overall], how="vertical_relaxed")


def write_backtest(result: BacktestResult, out_dir: Path) -> Path:
    """Write ``backtest.json``, ``backtest.csv``, ``backtest_forecast.csv`` and
    ``backtest_sku_locations.csv`` into ``out_dir``; the JSON last, by rename."""
    from deadstock.pipeline import _csv_safe

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "backtest.json"
    staging = out_dir / ".backtest.json.tmp"
    staging.write_text(json.dumps(result.report, indent=2, default=str))
    result.table.write_csv(out_dir / "backtest.csv")
    result.forecast.write_csv(out_dir / "backtest_forecast.csv")
    _csv_safe(result.details).write_csv(out_dir / "backtest_sku_locations.csv")
    staging.replace(target)
    return target
