"""Shared fixtures: the real M5 data in ../shared/data (skipped with a message when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get("DEADSTOCK_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real M5 data sets; tests using it skip when it is absent."""
    if not (SHARED_DATA / "m5_tiny_daily" / "sales_daily.parquet").exists():
        pytest.skip(f"real data not found in {SHARED_DATA} (set DEADSTOCK_SHARED_DATA)")
    return SHARED_DATA
