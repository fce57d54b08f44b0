"""The benchmark's pandas reference computes the same metrics as deadstock (rows and columns).

``benchmarks/bench_pipeline.py`` reports the speed of ``movement_metrics`` as a ratio against
``benchmarks/pandas_reference.py``; the ratio only means something if both compute the same
thing. Random retail-like inputs (two years of sparse sales with returns and unpriced rows,
stock history by the position stage's contract, SKU-locations without history, age and product
tables with gaps) are fed to both and every column is compared.
"""

from __future__ import annotations

import importlib.util
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import polars as pl
import pytest

from deadstock.config import Config
from deadstock.metrics import movement_metrics

AS_OF = date(2025, 12, 31)


def _load_reference() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "pandas_reference.py"
    spec = importlib.util.spec_from_file_location("pandas_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pandas_movement_metrics = _load_reference().pandas_movement_metrics


def _maybe_null(values: np.ndarray, rng: np.random.Generator, share: float) -> list:
    return [None if rng.random() < share else float(v) for v in values]


def random_inputs(seed: int, n_skus: int = 60, n_locations: int = 3, lookback: int = 365):
    """Sales, position, stock history, age and products of n_skus × n_locations SKU-locations."""
    rng = np.random.default_rng(seed)
    skus = [f"S{i:03d}" for i in range(n_skus)]
    locations = [f"L{j}" for j in range(n_locations)]
    keys = [(s, loc) for s in skus for loc in locations]
    in_position = [k for k in keys if rng.random() < 0.9]
    rate = rng.choice([0.0, 0.02, 0.1, 0.6], size=len(keys))  # some never sell
    rows = []
    for (sku, loc), p in zip(keys, rate, strict=True):
        days = np.flatnonzero(rng.random(740) < p) - 5  # 5 days after as_of too
        for d in days:
            qty = float(rng.choice([1, 1, 2, 3, 7, -1]))
            rows.append((AS_OF - timedelta(days=int(d)), sku, loc, qty))
    n = len(rows)
    price = rng.uniform(1, 40, n)
    sales = pl.DataFrame(
        {
            "date": [r[0] for r in rows],
            "sku": [r[1] for r in rows],
            "location": [r[2] for r in rows],
            "qty": [r[3] for r in rows],
            "revenue": _maybe_null(np.array([r[3] for r in rows]) * price, rng, 0.3),
            "price": _maybe_null(price, rng, 0.5),
        },
        schema={
            "date": pl.Date,
            "sku": pl.String,
            "location": pl.String,
            "qty": pl.Float64,
            "revenue": pl.Float64,
            "price": pl.Float64,
        },
    )
    position = pl.DataFrame(
        {
            "sku": [k[0] for k in in_position],
            "location": [k[1] for k in in_position],
            "on_hand": rng.choice([-2.0, 0.0, 1.0, 5.0, 40.0, 300.0], len(in_position)),
            "unit_cost": _maybe_null(rng.uniform(0.5, 20, len(in_position)), rng, 0.3),
            "price": _maybe_null(rng.uniform(1, 40, len(in_position)), rng, 0.4),
        },
        schema={
            "sku": pl.String,
            "location": pl.String,
            "on_hand": pl.Float64,
            "unit_cost": pl.Float64,
            "price": pl.Float64,
        },
    )
    history_rows = []
    for sku, loc in keys:
        if rng.random() < 0.2:
            continue  # no stock history known
        span = lookback
        if rng.random() < 0.9:  # the opening row of the contract
            opening = AS_OF - timedelta(days=lookback)
            history_rows.append((sku, loc, opening, float(rng.integers(-2, 30))))
        else:  # a SKU-location first stocked lately: no stock before its first row
            span = min(lookback, 40)
        for d in sorted(rng.choice(span, size=int(rng.integers(1, min(span, 25))), replace=False)):
            history_rows.append(
                (sku, loc, AS_OF - timedelta(days=int(d)), float(rng.integers(-3, 30)))
            )
    history = pl.DataFrame(
        history_rows,
        schema={
            "sku": pl.String,
            "location": pl.String,
            "date": pl.Date,
            "closing_units": pl.Float64,
        },
        orient="row",
    )
    aged = [k for k in in_position if rng.random() < 0.8]
    units = rng.choice([0.0, 3.0, 12.0], len(aged))
    age = pl.DataFrame(
        {
            "sku": [k[0] for k in aged],
            "location": [k[1] for k in aged],
            "stock_value": units * rng.uniform(0.5, 20, len(aged)),
            "positive_units": units,
            "avg_age_days": [float(rng.uniform(0, 400)) if u > 0 else None for u in units],
            "age_0_30_units": units / 3,
            "age_0_30_value": units,
            "age_31_plus_units": 2 * units / 3,
            "age_31_plus_value": 2 * units,
        }
    )
    products = pl.DataFrame(
        {
            "sku": skus,
            "category": [None if rng.random() < 0.1 else f"c{i % 4}" for i in range(n_skus)],
            "unit_cost": _maybe_null(rng.uniform(0.5, 20, n_skus), rng, 0.5),
            "price": _maybe_null(rng.uniform(1, 40, n_skus), rng, 0.7),
        },
        schema={
            "sku": pl.String,
            "category": pl.String,
            "unit_cost": pl.Float64,
            "price": pl.Float64,
        },
    )
    return sales, position, history, age, products


def _assert_same(ours: pl.DataFrame, theirs: pl.DataFrame) -> None:
    assert theirs.columns == ours.columns
    assert theirs.select("sku", "location").rows() == ours.select("sku", "location").rows()
    for name in ours.columns:
        a, b = ours[name], theirs[name]
        if a.dtype == pl.Float64:
            b = b.cast(pl.Float64)
            assert (a.is_null() == b.is_null()).all(), name
            diff = ((a - b).abs() / b.abs().clip(lower_bound=1.0)).max()
            assert diff is None or diff <= 1e-9, (name, diff)
        elif a.dtype == pl.Date:
            assert a.to_list() == b.cast(pl.Date).to_list(), name
        else:
            assert a.cast(pl.String).to_list() == b.cast(pl.String).to_list(), name


@pytest.mark.parametrize(
    ("seed", "settings"),
    [
        (1, {}),
        (2, {"abc_basis": "profit"}),
        (
            3,
            {
                "avg_sales_window_days": 28,
                "turnover_window_days": 180,
                "sell_through_window_days": 14,
                "demand_weeks": 13,
            },
        ),
    ],
)
def test_pandas_reference_agrees_on_every_column(seed: int, settings: dict) -> None:
    config = Config().with_values(**settings)
    lookback = max(config.avg_sales_window_days, config.turnover_window_days)
    sales, position, history, age, products = random_inputs(seed, lookback=lookback)
    ours = movement_metrics(sales, position, history, age, products, AS_OF, config)
    theirs = pl.from_pandas(
        pandas_movement_metrics(
            sales.to_pandas(),
            position.to_pandas(),
            history.to_pandas(),
            age.to_pandas(),
            products.to_pandas(),
            AS_OF,
            config,
        )
    )
    assert ours.height == position.height
    # the data exercise every class and the fallbacks
    assert set(ours["abc"]) == {"A", "B", "C"} and ours["price"].null_count() < ours.height
    assert {"smooth", "none"} <= set(ours["demand_class"])
    _assert_same(ours, theirs)


def test_pandas_reference_without_products_and_optional_sales_columns() -> None:
    sales, position, history, age, _ = random_inputs(4, n_skus=20)
    sales = sales.drop("revenue", "price")
    config = Config()
    ours = movement_metrics(sales, position, history, age, None, AS_OF, config)
    theirs = pl.from_pandas(
        pandas_movement_metrics(
            sales.to_pandas(),
            position.to_pandas(),
            history.to_pandas(),
            age.to_pandas(),
            None,
            AS_OF,
            config,
        )
    )
    _assert_same(ours, theirs)
