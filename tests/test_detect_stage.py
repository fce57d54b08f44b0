"""Detection inside a run and the backtest (issue 3): hand-made stories and the real M5 data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from deadstock.cli.main import app
from deadstock.config import load_config
from deadstock.datasets import load_m5_with_stock, write_dataset
from deadstock.detect.backtest import backtest
from deadstock.pipeline import run_pipeline, write_outputs
from deadstock.schema import CLASSIFICATION
from deadstock.validate import load_inputs

AS_OF = dt.date(2025, 7, 15)


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return pl.date_range(start, end, "1d", eager=True).to_list()


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three years of a winter product, a steady seller, and stock that never sold.

    - ``coat`` (category winter): 2 units a day from 15 Nov to 28 Feb each year, 60 on hand in
      July: off-season now, no sale for 137 days.
    - ``tee`` (category basics): 5 units a day every day, 125 on hand (25 days).
    - ``gear`` (category parts): 80 units received 800 days ago, never sold.
    """
    rows = []
    for year in (2022, 2023, 2024):
        for day in _days(dt.date(year, 11, 15), dt.date(year + 1, 2, 28)):
            rows.append((day, "coat", 2.0))
    for day in _days(dt.date(2022, 7, 16), AS_OF):
        rows.append((day, "tee", 5.0))
    sales = pl.DataFrame(rows, schema=["date", "sku", "qty"], orient="row")
    receipts = pl.DataFrame(
        {
            "date": [dt.date(2022, 7, 1), dt.date(2022, 7, 1), AS_OF - dt.timedelta(days=800)],
            "sku": ["coat", "tee", "gear"],
            "qty": [sales.filter(pl.col("sku") == "coat")["qty"].sum() + 60, 5600.0, 80.0],
            "unit_cost": [40.0, 4.0, 25.0],
        }
    )
    tee_left = 5600.0 - sales.filter(pl.col("sku") == "tee")["qty"].sum()
    inventory = pl.DataFrame({"sku": ["coat", "tee", "gear"], "on_hand": [60.0, tee_left, 80.0]})
    products = pl.DataFrame(
        {
            "sku": ["coat", "tee", "gear"],
            "category": ["winter", "basics", "parts"],
            "price": [120.0, 12.0, 60.0],
            "unit_cost": [40.0, 4.0, 25.0],
        }
    )
    folder = tmp_path_factory.mktemp("story")
    for name, frame in {
        "sales": sales,
        "receipts": receipts,
        "inventory": inventory,
        "products": products,
    }.items():
        frame.write_csv(folder / f"{name}.csv")
    return folder


@pytest.fixture(scope="module")
def story_run(story: Path):  # type: ignore[no-untyped-def]
    config = load_config(None, [f"as_of={AS_OF.isoformat()}", "today=2026-11-23"])
    return run_pipeline(story, config)


def test_classification_covers_every_sku_location(story_run) -> None:  # type: ignore[no-untyped-def]
    c = story_run.classification
    assert c.columns == list(CLASSIFICATION.names)
    assert c.select("sku", "location").equals(story_run.sku_metrics.select("sku", "location"))


def test_stock_that_never_sold_is_dead_with_its_frozen_capital(story_run) -> None:  # type: ignore[no-untyped-def]
    gear = story_run.classification.filter(pl.col("sku") == "gear").row(0, named=True)
    assert gear["is_dead"] and gear["erp_dead"]
    assert gear["velocity_band"] == "non_moving"
    assert gear["forecast_daily"] == 0.0
    assert gear["excess_units"] == 80.0
    assert gear["expected_days_in_stock"] == 1095.0
    assert gear["frozen_capital"] == pytest.approx(80 * 25.0)
    assert gear["alert_level"] == 3  # dead with frozen capital ≥ 1,000


def test_seasonal_item_is_not_dead_in_its_off_season(story_run) -> None:  # type: ignore[no-untyped-def]
    coat = story_run.classification.filter(pl.col("sku") == "coat").row(0, named=True)
    assert coat["off_season"] and coat["week_type_now"] == 0
    assert coat["erp_dead"]  # the plain rule calls it dead …
    assert not coat["is_dead"]  # … the 4-criteria filter does not
    assert "in_season" not in coat["dead_reason"]


def test_steady_seller_is_fast_and_not_dead(story_run) -> None:  # type: ignore[no-untyped-def]
    tee = story_run.classification.filter(pl.col("sku") == "tee").row(0, named=True)
    assert not tee["is_dead"] and not tee["erp_dead"]
    assert tee["forecast_daily"] == pytest.approx(5.0, rel=0.05)
    assert tee["velocity_band"] in ("fast", "normal")
    assert tee["frozen_capital"] == 0.0


def test_run_writes_the_detection_tables(story_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    written = write_outputs(story_run, tmp_path / "out")
    for name in ("classification", "seasonality", "forecast_accuracy"):
        assert (tmp_path / "out" / f"{name}.parquet").exists(), name
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    detection = summary["detection"]
    assert detection["dead"]["sku_locations"] == int(story_run.classification["is_dead"].sum())
    assert detection["frozen_capital"] == pytest.approx(
        story_run.classification["frozen_capital"].sum()
    )
    assert written


# ---------------------------------------------------------------------------------------------
# Backtest on the real M5 data
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def m5_folder(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tables = load_m5_with_stock(shared_data, seed=7)
    folder = tmp_path_factory.mktemp("m5_backtest")
    write_dataset(tables, folder, fmt="parquet")
    return folder


CUTOFFS = [dt.date(2015, 6, 1), dt.date(2015, 10, 1)]


@pytest.fixture(scope="module")
def m5_backtest(m5_folder: Path):  # type: ignore[no-untyped-def]
    config = load_config(None, ["today=2026-11-23"])
    validated = load_inputs(m5_folder, config)
    return validated, backtest(validated, config, CUTOFFS, horizon_days=182)


def test_backtest_sales_after_cutoff_match_the_raw_data(m5_backtest) -> None:  # type: ignore[no-untyped-def]
    validated, result = m5_backtest
    sales = validated.tables["sales"]
    for cutoff in CUTOFFS:
        end = cutoff + dt.timedelta(days=181)
        expected = (
            sales.filter(pl.col("date").is_between(cutoff, end))
            .group_by("sku", "location")
            .agg(pl.col("qty").sum().alias("expected"))
        )
        got = result.details.filter(pl.col("cutoff") == cutoff).join(
            expected, on=["sku", "location"], how="left"
        )
        assert got.height == 280
        assert (got["sold_next"] - got["expected"].fill_null(0.0)).abs().max() < 1e-9


def test_backtest_shares_agree_with_the_details(m5_backtest) -> None:  # type: ignore[no-untyped-def]
    _, result = m5_backtest
    for row in result.table.iter_rows(named=True):
        d = result.details.filter((pl.col("cutoff") == row["cutoff"]) & (pl.col("on_hand") > 0))
        erp = d.filter(pl.col("erp_dead"))
        assert row["erp_dead_flagged"] == erp.height
        if erp.height:
            share = (erp["sold_next"] < 0.1 * erp["on_hand"]).mean()
            assert row["erp_dead_sold_lt10pct_share"] == pytest.approx(share)
        well = erp.filter(pl.col("sold_next") >= 0.5 * pl.col("on_hand"))
        assert row["erp_false_positives"] == well.height
        assert row["erp_false_positives_also_dead_4crit"] == int(well["is_dead"].sum())
        dead = d.filter(pl.col("is_dead"))
        assert row["dead_flagged"] == dead.height


def test_backtest_uses_only_data_before_the_cutoff(m5_backtest) -> None:  # type: ignore[no-untyped-def]
    validated, result = m5_backtest
    sales = validated.tables["sales"]
    first = result.details.filter(pl.col("cutoff") == CUTOFFS[0])
    # A SKU-location whose last sale before the cut-off is long ago must not look recent.
    last_before = (
        sales.filter((pl.col("date") < CUTOFFS[0]) & (pl.col("qty") > 0))
        .group_by("sku", "location")
        .agg(pl.col("date").max().alias("last"))
    )
    joined = first.join(last_before, on=["sku", "location"], how="left")
    stale = joined.filter(
        (pl.col("on_hand") > 0)
        & (pl.col("last").is_null() | (pl.col("last") < CUTOFFS[0] - dt.timedelta(days=90)))
    )
    assert stale["erp_dead"].all()


def test_backtest_forecast_accuracy_is_finite(m5_backtest) -> None:  # type: ignore[no-untyped-def]
    _, result = m5_backtest
    overall = result.forecast.filter(pl.col("demand_class") == "overall")
    assert overall.height == len(CUTOFFS)
    assert overall["mase"].is_finite().all()
    assert (overall["n_series"] > 0).all()


def test_backtest_cli_writes_json(m5_folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "bt"
    result = runner.invoke(
        app,
        ["backtest", str(m5_folder), "--cutoffs", "2015-10-01", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "backtest.json").read_text())
    assert report["cutoffs"][0]["cutoff"] == "2015-10-01"
    assert "Backtest" in result.output


def test_backtest_cli_rejects_a_cutoff_after_the_data(m5_folder: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["backtest", str(m5_folder), "--cutoffs", "2030-01-01", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "after the data ends" in result.output


def test_a_block_without_any_forecast_method_keeps_the_string_type() -> None:
    """At scale a whole block of series may have no demand (regression: Object column)."""
    import numpy as np

    from deadstock.detect.stage import _demand_columns

    block = np.zeros((3, 400))
    out = _demand_columns(
        block,
        np.ones((3, 400)),
        np.zeros(3),
        np.full(3, None, dtype=object),
        np.ones((3, 182)),
        90,
        400,
    )
    assert out.schema["forecast_method"] == pl.String
    assert out["forecast_method"].null_count() == 3
    assert out["days_since_first_sale"].is_nan().all()  # never sold inside the series


def test_forecast_table_weeks_add_up_to_the_daily_forecast(story_run) -> None:  # type: ignore[no-untyped-def]
    forecast = story_run.forecast
    weeks = [c for c in forecast.columns if c.startswith("week_")]
    assert len(weeks) == 26
    assert forecast["first_day"].unique().to_list() == [AS_OF + dt.timedelta(days=1)]
    joined = forecast.join(story_run.classification, on=["sku", "location"])
    per_day = joined.select(pl.sum_horizontal(weeks) / (7 * len(weeks))).to_series()
    assert (per_day - joined["forecast_daily"]).abs().max() < 1e-4
    tee = forecast.filter(pl.col("sku") == "tee")
    assert tee["week_01"][0] == pytest.approx(35.0, rel=0.05)


def test_daily_blocks_equal_the_daily_matrix_of_the_raw_sales(m5_folder: Path) -> None:
    """The stage's series (from the keyed sales) = forecast.series.daily_matrix (raw sales)."""
    import numpy as np

    from deadstock.detect.stage import daily_block, daily_rows
    from deadstock.forecast.series import daily_matrix
    from deadstock.keys import sku_location_keys
    from deadstock.metrics import prepare_sales

    sales = pl.read_parquet(m5_folder / "sales.parquet")
    keys = sku_location_keys(sales.select("sku", "location").unique())
    as_of = dt.date(2015, 12, 31)
    prepared = prepare_sales(sales, keys, as_of, 400)
    expected = daily_matrix(sales, keys, as_of, 400)
    assert expected.sum() > 0
    np.testing.assert_array_equal(daily_block(prepared, 0, keys.height, 400), expected)
    np.testing.assert_array_equal(daily_block(prepared, 100, 150, 400), expected[100:150])
    rows = np.array([3, 40, 41, 200])
    np.testing.assert_array_equal(daily_rows(prepared, rows, 400), expected[rows])
