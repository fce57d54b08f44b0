"""Per-location capacity in a run (setting use_location_capacity): room = capacity − other stock."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from deadstock.config import load_config
from deadstock.datasets import write_demo_data
from deadstock.decide.from_run import excess_room
from deadstock.pipeline import run_pipeline


def test_room_is_capacity_less_the_stock_not_decided() -> None:
    locations = pl.DataFrame(
        {
            "location": ["a", "b", "c"],
            "capacity_units": [100.0, None, 10.0],
            "capacity_volume": [500.0, 40.0, None],
        }
    )
    classification = pl.DataFrame(
        {"sku": ["x", "y", "x"], "location": ["a", "a", "b"], "on_hand": [50.0, 30.0, 20.0]}
    )
    params = pl.DataFrame(
        {
            "sku": ["x", "y"],
            "location": ["a", "a"],
            "excess_units": [20.0, 10.0],
            "volume": [2.0, None],
        }
    )
    room = excess_room(locations, classification, params).sort("location")
    # a: 100 − (80 − 30) units; litres: 500 − (50·2 + 30·0 − 20·2) = 440
    # b: no unit limit; litres 40 − 20·2 = 0 (x has volume 2 from the params); c: nothing stocked
    assert room["capacity_units"].to_list() == [50.0, None, 10.0]
    assert room["capacity_volume"].to_list() == [440.0, 0.0, None]


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo_capacity")
    write_demo_data(folder, n_skus=120, n_locations=2, seed=3)
    return folder


def test_a_run_keeps_kept_excess_within_each_location(demo_folder: Path) -> None:
    free = run_pipeline(demo_folder, load_config(None, []))
    kept = free.decisions.filter(pl.col("action") == "keep")
    kept_units = kept.group_by("location").agg(pl.col("units").sum())
    assert kept_units.height > 0
    # Capacity for each location: half of what the free plan keeps there, plus the other stock.
    params = free.decision_params
    other = (
        free.classification.group_by("location")
        .agg(pl.col("on_hand").clip(0.0).sum())
        .join(params.group_by("location").agg(pl.col("excess_units").sum()), on="location")
        .join(kept_units, on="location")
        .select(
            "location",
            (pl.col("on_hand") - pl.col("excess_units") + 0.5 * pl.col("units")).alias(
                "capacity_units"
            ),
        )
    )
    other.write_csv(demo_folder / "locations.csv")
    (demo_folder / "locations.parquet").unlink(missing_ok=True)
    tight = run_pipeline(demo_folder, load_config(None, ["use_location_capacity=true"]))
    limit = dict(zip(other["location"], other["capacity_units"], strict=True))
    free_kept = dict(zip(kept_units["location"], kept_units["units"], strict=True))
    now_kept = (
        tight.decisions.filter(pl.col("action") == "keep")
        .group_by("location")
        .agg(pl.col("units").sum())
    )
    for location, units in zip(now_kept["location"], now_kept["units"], strict=True):
        assert units <= 0.5 * free_kept[location] + 1e-6
    assert tight.decision_summary["solver"]["status"] == "optimal"
    assert tight.decision_summary["total_cost"] >= free.decision_summary["total_cost"] - 1e-6
    assert set(limit) == set(free_kept)
