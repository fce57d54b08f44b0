"""The chain of stages and its result.

``run_pipeline`` reads and validates a folder of files, then ``analyse`` runs the stages on the
validated canonical tables: position & ageing (SPEC §3.1) → movement metrics (SPEC §3.2). Every
intermediate table is kept in :class:`RunResult` (in the spirit of pvlib's ``ModelChainResult``);
``write_outputs`` writes the run's tables atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from deadstock import __version__, position
from deadstock.config import Config
from deadstock.decide.analysis import (
    ANALYSIS_FILES,
    DecisionAnalysis,
    analyse_run_decisions,
    write_analysis,
)
from deadstock.decide.from_run import run_decisions
from deadstock.detect.stage import detect as detect_stage
from deadstock.detect.stage import forecast_history_days
from deadstock.keys import sku_location_keys
from deadstock.metrics import movement_metrics, prepare_sales, sales_horizon
from deadstock.pricing.elasticity import ElasticitySettings, estimate_elasticities
from deadstock.schema import age_bucket_names
from deadstock.validate import ValidatedInput, load_inputs

#: Called with the name of each stage as it starts (the CLI drives a progress bar with it).
StageCallback = Callable[[str], None]

#: Days of supply above which the summary lists a SKU-location as a problem (SPEC §3.4 non-moving).
SLOW_DAYS_OF_SUPPLY = 182

STAGES = (
    "read & validate",
    "position & ageing",
    "movement metrics",
    "seasonality, forecast & classification",
    "decisions",
    "decision analysis",
)


@dataclass
class RunResult:
    """Every table a run produced, with the settings and timings that made it.

    ``stock_history`` is keyed by ``_k`` (the position's SKU-locations in sku, location order,
    see :func:`deadstock.keys.sku_location_keys`) when it comes from receipts and sales, and by
    sku, location when it comes from a ledger.
    """

    config: Config
    as_of: dt.date
    tables_in: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    counts: pl.DataFrame
    position: pl.DataFrame
    layers: pl.DataFrame
    stock_history: pl.DataFrame
    age: pl.DataFrame
    sku_metrics: pl.DataFrame
    ledger_differences: pl.DataFrame | None = None
    seasonality: pl.DataFrame | None = None
    forecast_accuracy: pl.DataFrame | None = None
    classification: pl.DataFrame | None = None
    forecast: pl.DataFrame | None = None
    decision_params: pl.DataFrame | None = None
    decisions: pl.DataFrame | None = None
    decision_summary: dict[str, Any] | None = None
    #: Further tables of the decisions stage by name (bundles, transfers).
    decision_tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    decision_analysis: DecisionAnalysis | None = None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)

    def output_tables(self) -> dict[str, pl.DataFrame]:
        """The tables a run writes, by name."""
        out = {"sku_metrics": self.sku_metrics}
        if self.classification is not None:
            out["classification"] = self.classification
        out.update(layers=self.layers, rejects=self.rejects)
        if self.seasonality is not None:
            out["seasonality"] = self.seasonality
        if self.forecast is not None:
            out["forecast"] = self.forecast
        if self.forecast_accuracy is not None:
            out["forecast_accuracy"] = self.forecast_accuracy
        if self.decision_params is not None and self.decisions is not None:
            out.update(decision_params=self.decision_params, decisions=self.decisions)
            out.update(self.decision_tables)
        if self.ledger_differences is not None:
            out["ledger_differences"] = self.ledger_differences
        return out

    def summary(self, top: int = 10) -> dict[str, Any]:
        """The run in figures: counts, stock value, value by age band, rejects, top problems."""
        return build_summary(self, top=top)


@contextmanager
def _timed(timings: dict[str, float], name: str, on_stage: StageCallback | None) -> Iterator[None]:
    if on_stage is not None:
        on_stage(name)
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)


def run_pipeline(
    data: Path | None,
    config: Config,
    explicit: Mapping[str, Path] | None = None,
    on_stage: StageCallback | None = None,
    detect: bool = True,
    decision_analysis: bool = True,
) -> RunResult:
    """Read, validate and analyse the files in ``data`` (and/or ``explicit`` table paths).

    ``detect=False`` stops after the movement metrics (no seasonality, forecast or
    classification); ``decision_analysis=False`` skips the analysis of the decisions.
    """
    timings: dict[str, float] = {}
    with _timed(timings, STAGES[0], on_stage):
        validated = load_inputs(data, config, explicit)
    return analyse(
        validated,
        config,
        on_stage=on_stage,
        timings=timings,
        detect=detect,
        decision_analysis=decision_analysis,
    )


def _earliest_date(tables: Mapping[str, pl.DataFrame]) -> dt.date | None:
    dates = [
        tables[name]["date"].min()
        for name in ("sales", "receipts", "ledger")
        if name in tables and tables[name].height
    ]
    found = [d for d in dates if isinstance(d, dt.date)]
    return min(found) if found else None


def analyse(
    validated: ValidatedInput,
    config: Config,
    on_stage: StageCallback | None = None,
    timings: dict[str, float] | None = None,
    detect: bool = True,
    snapshot_date: dt.date | None = None,
    decide: bool = True,
    decision_analysis: bool = True,
) -> RunResult:
    """Run position & ageing, movement metrics and (``detect``) the detection stage.

    ``decide`` (with ``detect``): the decisions stage too — the parameter table of the excess
    stock and its decisions (:func:`deadstock.decide.from_run.run_decisions`, SPEC §3.5);
    ``decision_analysis`` (with ``decide``): their analysis, whose block joins the decisions
    summary (:func:`deadstock.decide.analysis.analyse_run_decisions`).

    ``snapshot_date``: the date of inventory rows without an as_of (default the as-of date);
    a backtest sets it to the data's end while analysing an earlier as-of date.
    """
    timings = {} if timings is None else timings
    tables = validated.tables
    as_of = validated.as_of
    warnings = list(validated.warnings)
    inventory = tables.get("inventory")
    receipts = tables.get("receipts")
    sales = tables.get("sales")
    products = tables.get("products")
    ledger = tables.get("ledger")
    lookback = max(config.avg_sales_window_days, config.turnover_window_days)
    opening_date = _earliest_date(tables) or as_of
    ledger_differences = None

    with _timed(timings, STAGES[1], on_stage):
        inventory_position = position.on_hand_at(
            inventory,
            receipts,
            sales,
            as_of,
            snapshot_date=snapshot_date or as_of,
            products=products,
        )
        if ledger is not None:
            fallback = _fallback_costs(inventory_position)
            replay = position.replay_ledger(ledger, as_of, fallback_unit_cost=fallback)
            warnings.extend(replay.warnings)
            layers = replay.layers
            if inventory is not None:
                ledger_differences = position.compare_inventory(
                    inventory_position, replay.balances, config.ledger_tolerance
                )
                if ledger_differences.height:
                    warnings.append(
                        f"{ledger_differences.height} SKU-location(s) where inventory on_hand "
                        "differs "
                        "from the ledger balance (see ledger_differences); the ledger is used."
                    )
            stock_position = _position_from_ledger(replay.balances, inventory_position)
            history = position.stock_history_from_ledger(ledger, as_of, lookback)
        else:
            stock_position = inventory_position
            layers = position.fifo_layers(stock_position, receipts, as_of, opening_date)
        # The sales are keyed to the position's SKU-locations once, for history and metrics.
        keys = sku_location_keys(stock_position.select("sku", "location"))
        sales = sales if sales is not None else _EMPTY_SALES
        horizon = sales_horizon(config)
        if detect:
            horizon = max(horizon, forecast_history_days(config))
        prepared = prepare_sales(sales, keys, as_of, horizon)
        if ledger is None:
            history = position.keyed_stock_history(
                stock_position, receipts, prepared.recent, as_of, lookback
            )
        age = position.age_profile(layers, config.age_buckets)

    with _timed(timings, STAGES[2], on_stage):
        metrics = movement_metrics(
            sales, stock_position, history, age, products, as_of, config, prepared=prepared
        )

    detection = None
    if detect:
        with _timed(timings, STAGES[3], on_stage):
            detection = detect_stage(
                tables, stock_position, layers, metrics, prepared, as_of, config
            )

    decided = None
    if detection is not None and decide:
        with _timed(timings, STAGES[4], on_stage):
            elasticities = run_elasticities(tables, config)
            decided = run_decisions(
                detection.classification, metrics, layers, tables, config, elasticities
            )
            if elasticities is not None:
                decided.tables["elasticities"] = elasticities
        warnings.extend(decided.warnings)

    analysis = None
    if decided is not None and detection is not None and decision_analysis:
        with _timed(timings, STAGES[5], on_stage):
            analysis = analyse_run_decisions(
                decided.params,
                decided.decisions,
                decided.summary.get("solver", {}),
                tables,
                config,
                classification=detection.classification,
                decided=decided.decided,
            )
        decided.summary["analysis"] = analysis.summary

    return RunResult(
        config=config,
        as_of=as_of,
        tables_in=tables,
        rejects=validated.rejects,
        counts=validated.counts,
        position=stock_position,
        layers=layers,
        stock_history=history,
        age=age,
        sku_metrics=metrics,
        ledger_differences=ledger_differences,
        seasonality=detection.seasonality if detection else None,
        forecast_accuracy=detection.forecast_accuracy if detection else None,
        classification=detection.classification if detection else None,
        forecast=detection.forecast if detection else None,
        decision_params=decided.params if decided else None,
        decisions=decided.decisions if decided else None,
        decision_summary=decided.summary if decided else None,
        decision_tables=decided.tables if decided else {},
        decision_analysis=analysis,
        warnings=warnings,
        timings=timings,
        sources=dict(validated.sources),
    )


_EMPTY_SALES = pl.DataFrame(
    schema={"date": pl.Date, "sku": pl.String, "location": pl.String, "qty": pl.Float64}
)


def run_elasticities(tables: Mapping[str, pl.DataFrame], config: Config) -> pl.DataFrame | None:
    """Price elasticities per SKU for the markdown actions (None when no markdown is asked for
    or there are no sales); see :func:`deadstock.pricing.elasticity.estimate_elasticities`."""
    sales = tables.get("sales")
    wanted = {"markdown", "markdown_ladder"} & set(config.decision_actions)
    if not wanted or sales is None or sales.height == 0:
        return None
    return estimate_elasticities(
        sales,
        tables.get("prices"),
        tables.get("products"),
        settings=ElasticitySettings.from_config(config),
    )


def _fallback_costs(inventory_position: pl.DataFrame) -> pl.DataFrame:
    """Unit cost per SKU-location for ledger rows without a value (inventory, else products)."""
    return inventory_position.select("sku", "location", "unit_cost").filter(
        pl.col("unit_cost").is_not_null()
    )


def _position_from_ledger(balances: pl.DataFrame, inventory_position: pl.DataFrame) -> pl.DataFrame:
    """On-hand from the ledger balance; costs, prices, reserved, inbound from the inventory."""
    extra = inventory_position.drop("on_hand")
    return (
        balances.select("sku", "location", "on_hand")
        .join(extra, on=["sku", "location"], how="full", coalesce=True)
        .with_columns(pl.col("on_hand").fill_null(0.0))
        .sort("sku", "location")
    )


# ------------------------------------------------------------------------------------------------
# Summary and output
# ------------------------------------------------------------------------------------------------
def build_summary(result: RunResult, top: int = 10) -> dict[str, Any]:
    """Figures of a run for ``summary.json`` and the CLI (money in ``config.currency``)."""
    m = result.sku_metrics
    config = result.config
    buckets = age_bucket_names(config.age_buckets)
    value_by_age = {b: float(m[f"age_{b}_value"].sum()) for b in buckets}
    units_by_age = {b: float(m[f"age_{b}_units"].sum()) for b in buckets}
    no_sale_90 = m.filter((pl.col("units_90d") <= 0) & (pl.col("on_hand") > 0))
    # Problem SKUs: no sale in 90 days, or over half a year of supply; most capital first.
    problems = (
        m.filter(
            (pl.col("on_hand") > 0)
            & ((pl.col("units_90d") <= 0) | (pl.col("days_of_supply") > SLOW_DAYS_OF_SUPPLY))
        )
        .with_columns(
            pl.when(pl.col("units_90d") <= 0)
            .then(pl.lit("no sale in 90 days"))
            .otherwise(pl.lit(f"over {SLOW_DAYS_OF_SUPPLY} days of supply"))
            .alias("problem")
        )
        .sort("stock_value", descending=True, nulls_last=True)
        .head(top)
        .select(
            "sku",
            "location",
            "on_hand",
            "stock_value",
            "days_since_last_sale",
            "days_of_supply",
            "avg_age_days",
            "problem",
        )
    )
    counts = result.counts
    rejects_by_table = (
        counts.group_by("table")
        .agg(pl.col("read").sum(), pl.col("accepted").sum(), pl.col("rejected").sum())
        .sort("table")
        .to_dicts()
        if counts.height
        else []
    )
    return {
        "deadstock_version": __version__,
        "as_of": result.as_of.isoformat(),
        "currency": config.currency,
        "settings": config.as_dict(),
        "sources": result.sources,
        "counts": {
            "sku_locations": m.height,
            "skus": m["sku"].n_unique(),
            "locations": m["location"].n_unique(),
            "sku_locations_with_stock": int((m["on_hand"] > 0).sum()),
            "layers": result.layers.height,
            "negative_layers": int((result.layers["units"] < 0).sum()),
        },
        "stock": {
            "units_on_hand": float(m["on_hand"].clip(lower_bound=0).sum()),
            "stock_value": float(m["stock_value"].sum()),
            "value_by_age_days": value_by_age,
            "units_by_age_days": units_by_age,
            "avg_age_days": _weighted_mean(m, "avg_age_days", "on_hand"),
            "no_sale_90d_sku_locations": no_sale_90.height,
            "no_sale_90d_value": float(no_sale_90["stock_value"].sum()),
        },
        "input_rows": rejects_by_table,
        "rejects": result.rejects.height,
        "ledger_differences": (
            result.ledger_differences.height if result.ledger_differences is not None else None
        ),
        "top_problems": problems.to_dicts(),
        "detection": (
            detection_summary(result.classification, result.forecast_accuracy, top)
            if result.classification is not None
            else None
        ),
        "decisions": result.decision_summary,
        "warnings": result.warnings,
        "timings_s": result.timings,
    }


def detection_summary(
    classification: pl.DataFrame, accuracy: pl.DataFrame | None, top: int = 10
) -> dict[str, Any]:
    """Velocity bands, dead and excess stock, alerts, segments and top alerts (SPEC §3.4)."""
    c = classification
    stocked = c.filter(pl.col("on_hand") > 0)

    def by(column: str) -> list[dict[str, Any]]:
        return (
            stocked.group_by(column)
            .agg(
                pl.len().alias("sku_locations"),
                pl.col("on_hand").sum().alias("units"),
                pl.col("stock_value").sum().alias("stock_value"),
                pl.col("frozen_capital").sum().alias("frozen_capital"),
            )
            .sort(column, nulls_last=True)
            .to_dicts()
        )

    dead = stocked.filter(pl.col("is_dead"))
    erp = stocked.filter(pl.col("erp_dead"))
    overall = accuracy.filter(pl.col("demand_class") == "overall") if accuracy is not None else None
    alerts = (
        c.filter(pl.col("alert_level") > 0)
        .sort(["alert_level", "frozen_capital"], descending=True)
        .head(top)
        .select(
            "sku",
            "location",
            "alert_level",
            "velocity_band",
            "segment",
            "on_hand",
            "frozen_capital",
            "projected_stock_days",
            "dead_reason",
            "segment_reason",
        )
    )
    return {
        "velocity_bands": by("velocity_band"),
        "segments": by("segment"),
        "alerts": by("alert_level"),
        "dead": {
            "sku_locations": dead.height,
            "frozen_capital": float(dead["frozen_capital"].sum()),
            "held_for_high_season": int(dead["high_season_hold"].sum()),
        },
        "erp_dead": {
            "sku_locations": erp.height,
            "stock_value": float(erp["stock_value"].sum()),
            "off_season_now": int(erp["off_season"].sum()),
        },
        "excess_units": float(stocked["excess_units"].fill_null(0.0).sum()),
        "frozen_capital": float(c["frozen_capital"].sum()),
        "recommend_reorder": int(c["recommend_reorder"].sum()),
        "forecast_mase": (overall["mase"][0] if overall is not None and overall.height else None),
        "top_alerts": alerts.to_dicts(),
    }


def _weighted_mean(frame: pl.DataFrame, value: str, weight: str) -> float | None:
    w = frame[weight].clip(lower_bound=0)
    valid = frame[value].is_not_null() & (w > 0)
    total = float(w.filter(valid).sum())
    if total <= 0:
        return None
    return float((frame[value].filter(valid) * w.filter(valid)).sum()) / total


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value)}")


def write_outputs(result: RunResult, out_dir: Path) -> dict[str, Path]:
    """Write every output table as CSV and Parquet plus ``summary.json``, atomically.

    Everything is written to a temporary folder next to ``out_dir`` first; only when all files
    are complete do they replace the folder's previous run outputs, so a failed or interrupted run
    leaves either the old results or the new ones, never a mix. The decision analysis (tables
    and charts, :func:`deadstock.decide.analysis.write_analysis`) moves in with them.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        written: dict[str, Path] = {}
        for name, frame in result.output_tables().items():
            frame.write_parquet(staging / f"{name}.parquet")
            _csv_safe(frame).write_csv(staging / f"{name}.csv")
            written[name] = out_dir / f"{name}.parquet"
        if result.decision_analysis is not None:
            for name, path in write_analysis(result.decision_analysis, staging).items():
                written[name] = out_dir / path.name
        summary = result.summary()
        (staging / "summary.json").write_text(
            json.dumps(summary, indent=2, default=_json_default), encoding="utf-8"
        )
        written["summary"] = out_dir / "summary.json"
        out_dir.mkdir(exist_ok=True)
        for stale in ANALYSIS_FILES:  # an older run's analysis, not rewritten by this one
            if not (staging / stale).exists():
                (out_dir / stale).unlink(missing_ok=True)
        for item in staging.iterdir():
            item.replace(out_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Neutralise text cells that a spreadsheet would run as a formula (prefix a quote)."""
    text_cols = [c for c, t in frame.schema.items() if t == pl.String]
    if not text_cols:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]"))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text_cols
    )
