"""The pipeline on a ledger: replay, transfers keep age, inventory differences reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from deadstock.config import load_config
from deadstock.pipeline import run_pipeline, write_outputs

LEDGER = """date,sku,location,qty_change,voucher_type,voucher_id,value_change,qty_after
2025-01-01,A,north,10,receipt,R1,20,
2025-02-01,A,north,5,receipt,R2,15,
2025-03-01,A,north,-12,sale,S1,,
2025-03-10,A,north,-3,transfer,T1,,
2025-03-10,A,south,3,transfer,T1,,
2025-04-01,B,north,0,reconciliation,C1,,7
2025-05-01,B,north,-9,sale,S2,,
"""


def _ledger_folder(folder: Path, inventory: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ledger.csv").write_text(LEDGER, encoding="utf-8")
    (folder / "sales.csv").write_text(
        "date,sku,location,qty\n2025-03-01,A,north,12\n2025-05-01,B,north,9\n", encoding="utf-8"
    )
    if inventory is not None:
        (folder / "inventory.csv").write_text(inventory, encoding="utf-8")
    return folder


def test_ledger_run_ages_transfers_from_the_original_receipt(tmp_path: Path) -> None:
    folder = _ledger_folder(tmp_path / "data", None)
    result = run_pipeline(folder, load_config(None, ["as_of=2025-06-30", "today=2026-01-01"]))
    layers = result.layers.sort("sku", "location", "received")
    south = layers.filter((pl.col("sku") == "A") & (pl.col("location") == "south"))
    # 12 sold from R1 (10) and R2 (2), then 3 transferred from R2: they keep R2's date and cost.
    assert south["received"].to_list() == [dt.date(2025, 2, 1)]
    assert south["units"].to_list() == [3.0]
    assert south["unit_cost"].to_list() == [3.0]
    assert south["age_days"].to_list() == [(dt.date(2025, 6, 30) - dt.date(2025, 2, 1)).days]
    north_a = layers.filter((pl.col("sku") == "A") & (pl.col("location") == "north"))
    assert north_a["units"].sum() == 0
    b = layers.filter(pl.col("sku") == "B")
    # Counted 7 on 2025-04-01, then 9 sold: a negative layer of −2 remains.
    assert b["units"].sum() == -2
    metrics = result.sku_metrics
    assert (
        metrics.filter((pl.col("sku") == "A") & (pl.col("location") == "south"))["on_hand"].item()
        == 3
    )


def test_inventory_differing_from_the_ledger_is_reported(tmp_path: Path) -> None:
    folder = _ledger_folder(
        tmp_path / "data", "sku,location,on_hand\nA,north,0\nA,south,5\nB,north,0\n"
    )
    config = load_config(None, ["as_of=2025-06-30", "today=2026-01-01"])
    result = run_pipeline(folder, config)
    diff = result.ledger_differences
    assert diff is not None
    rows = (
        diff.sort("sku", "location")
        .select("sku", "location", "on_hand_inventory", "on_hand_ledger")
        .rows()
    )
    assert rows == [("A", "south", 5.0, 3.0), ("B", "north", 0.0, -2.0)]
    assert any("differs from the ledger" in w for w in result.warnings)
    out = tmp_path / "out"
    write_outputs(result, out)
    assert pl.read_csv(out / "ledger_differences.csv").height == 2
