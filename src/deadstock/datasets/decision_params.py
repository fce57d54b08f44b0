"""Generated per-SKU decision parameters (the ``deadstock decide`` table) at any size.

Figures follow the thesis' ranges (Zijlmans 2025; SPEC §3.5): refunds 80–100 % of unit cost,
return transport 0–2 per unit, liquidation 5–20 % of price, expected days in stock from a few
weeks to the 1,095-day no-forecast cap. Seeded, vectorised; used by tests and benchmarks.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def generate_params(n: int, suppliers: int = 50, seed: int = 0) -> pl.DataFrame:
    """``n`` SKUs of decision parameters with every optional column (see docs/methods.md)."""
    rng = np.random.default_rng(seed)
    unit_cost = np.round(rng.lognormal(2.3, 0.8, n), 2)
    price = np.round(unit_cost * rng.uniform(1.3, 2.5, n), 2)
    expected = np.where(
        rng.random(n) < 0.15, 1095.0, np.round(rng.lognormal(5.0, 0.9, n), 1).clip(1, 3000)
    )
    current = rng.integers(0, 400, n).astype(np.float64)
    payment = rng.choice([0.0, 30.0, 60.0, 90.0], n)
    now = current >= payment
    future = ~now & (payment <= current + expected)
    eligible = rng.random(n) < 0.6
    excess = rng.integers(1, 200, n).astype(np.float64)
    return pl.DataFrame(
        {
            "sku": [f"S{i:07d}" for i in range(n)],
            "excess_units": excess,
            "price": price,
            "expected_days_in_stock": expected,
            "current_days_in_stock": current,
            "payment_days": payment,
            "financed_now": now.astype(np.int8),
            "financed_future": future.astype(np.int8),
            "holding_cost_per_day": np.round(unit_cost * rng.uniform(0.0002, 0.002, n), 5),
            "unit_cost": unit_cost,
            "return_eligible": eligible.astype(np.int8),
            "return_price": np.where(
                eligible, np.round(unit_cost * rng.uniform(0.8, 1.0, n), 2), np.nan
            ),
            "return_cost": np.where(eligible, np.round(rng.uniform(0.0, 2.0, n), 2), np.nan),
            "liquidation_price": np.round(price * rng.uniform(0.05, 0.20, n), 2),
            "liquidation_cost": np.round(rng.uniform(0.0, 0.5, n), 2),
            "recycle_price": np.round(unit_cost * rng.uniform(0.0, 0.05, n), 2),
            "recycle_cost": np.round(rng.uniform(0.0, 0.3, n), 2),
            "volume": np.round(rng.lognormal(0.5, 0.7, n), 3),
            "supplier_id": [f"V{int(k):03d}" for k in rng.integers(0, suppliers, n)],
            "total_units": excess + rng.integers(0, 200, n),
        },
        strict=False,
    ).with_columns(pl.col("return_price", "return_cost").fill_nan(None))


def generate_supplier_caps(params: pl.DataFrame, share: float = 0.5, seed: int = 0) -> pl.DataFrame:
    """Per-supplier return caps at ``share`` × the units its eligible SKUs could return."""
    rng = np.random.default_rng(seed)
    eligible = params.filter(pl.col("return_eligible") == 1)
    caps = eligible.group_by("supplier_id").agg(
        pl.col("excess_units").sum().alias("eligible_units")
    )
    factor = rng.uniform(0.5 * share, 1.5 * share, caps.height)
    return caps.sort("supplier_id").select(
        "supplier_id", (pl.col("eligible_units") * factor).round(0).alias("return_cap_units")
    )
