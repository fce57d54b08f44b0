"""The command line end to end: demo, run, validate, settings; exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from deadstock.cli.main import app
from deadstock.schema import SKU_METRICS

runner = CliRunner()


def _write_small_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "products.csv").write_text(
        "sku,name,category,unit_cost,price\nA,Alpha,toys,2.0,5.0\nB,Beta,toys,10.0,25.0\n",
        encoding="utf-8",
    )
    (folder / "inventory.csv").write_text(
        "sku,location,on_hand\nA,main,6\nB,main,4\n", encoding="utf-8"
    )
    (folder / "receipts.csv").write_text(
        "date,sku,location,qty,unit_cost\n"
        "2025-01-05,A,main,10,2.0\n2025-05-01,A,main,4,2.5\n2024-06-01,B,main,4,10.0\n",
        encoding="utf-8",
    )
    (folder / "sales.csv").write_text(
        "date,sku,location,qty,revenue\n2025-05-20,A,main,3,15\n2025-06-01,A,main,5,25\n"
        "2025-06-01,X,main,1,5\n",
        encoding="utf-8",
    )


def test_run_writes_every_output_and_balances_counts(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    _write_small_folder(data)
    result = runner.invoke(
        app, ["run", str(data), "--out", str(out), "--set", "age_buckets=30,60,90"]
    )
    assert result.exit_code == 0, result.output
    for name in ("sku_metrics", "layers", "rejects"):
        assert (out / f"{name}.csv").exists() and (out / f"{name}.parquet").exists()
    metrics = pl.read_parquet(out / "sku_metrics.parquet")
    assert list(metrics.columns[: len(SKU_METRICS.names)]) == list(SKU_METRICS.names)
    for bucket in ("0_30", "31_60", "61_90", "91_plus"):
        assert f"age_{bucket}_units" in metrics.columns and f"age_{bucket}_value" in metrics.columns
    a = metrics.filter(pl.col("sku") == "A").row(0, named=True)
    # A: on hand 6 = the newest receipt (4, 2025-05-01) + 2 of the older one (2025-01-05).
    assert a["on_hand"] == 6
    assert a["age_31_60_units"] == 4 and a["age_91_plus_units"] == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["as_of"] == "2025-06-01"
    for row in summary["input_rows"]:
        assert row["read"] == row["accepted"] + row["rejected"]
    rejects = pl.read_csv(out / "rejects.csv")
    assert rejects.filter(pl.col("table") == "sales")["row"].to_list() == [4]  # unknown SKU X


def test_missing_required_table_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write_small_folder(data)
    (data / "sales.csv").unlink()
    result = runner.invoke(app, ["run", str(data), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "sales" in result.output
    assert not (tmp_path / "out").exists()


def test_missing_required_column_names_file_and_fix(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write_small_folder(data)
    (data / "inventory.csv").write_text("sku,location,stock\nA,main,6\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(data)])
    assert result.exit_code == 2
    assert "inventory.csv" in result.output and "on_hand" in result.output


def test_unknown_setting_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write_small_folder(data)
    result = runner.invoke(app, ["run", str(data), "--set", "agebuckets=30"])
    assert result.exit_code == 2
    assert "Unknown setting 'agebuckets'" in result.output


def test_validate_prints_counts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write_small_folder(data)
    result = runner.invoke(app, ["validate", str(data), "--rejects", str(tmp_path / "rej.csv")])
    assert result.exit_code == 0, result.output
    assert "Input rows" in result.output
    assert pl.read_csv(tmp_path / "rej.csv").height == 1


def test_failed_run_keeps_previous_outputs(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    _write_small_folder(data)
    assert runner.invoke(app, ["run", str(data), "--out", str(out)]).exit_code == 0
    before = (out / "summary.json").read_text()
    (data / "inventory.csv").write_bytes(b"")  # an empty required-or-alternative file
    (data / "ledger.csv").unlink(missing_ok=True)
    result = runner.invoke(app, ["run", str(data), "--out", str(out)])
    assert result.exit_code == 2
    assert (out / "summary.json").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


@pytest.mark.slow
def test_demo_default_size(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output


def test_demo_small(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--skus", "150", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "Capital by age of stock" in result.output
    assert "Top problem SKUs" in result.output
    summary = json.loads((tmp_path / "demo" / "results" / "summary.json").read_text())
    assert summary["rejects"] > 0  # the demo's deliberately bad rows are caught
    assert summary["stock"]["stock_value"] > 0


def test_settings_lists_every_setting() -> None:
    result = runner.invoke(app, ["settings"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "age_buckets" in result.output and "turnover_window_days" in result.output
