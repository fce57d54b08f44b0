"""Benchmark price-elasticity estimation (issue 5): catalogue scale, per-SKU reference, M5 figures.

Figures printed:
1. ``--skus`` SKUs (``--locations`` locations each) with ``--weeks`` weeks of generated prices and
   sales (50 categories, Poisson demand with known elasticities, 10 % of weeks on promotion and
   regular price steps): wall time of ``estimate_elasticities`` (``--repeat`` runs; the target is
   ≤ 30 s at 100,000 SKUs × 104 weeks), the accuracy against the true elasticities, peak memory.
2. Reference: a plain per-SKU loop — for ``--reference-skus`` SKUs, a textbook Poisson GLM by
   IRLS (``numpy.linalg.lstsq``) on the SKU's own rows with location dummies and the
   category-week effects of the full fit as an offset — timed and extrapolated to all SKUs; its
   slopes must equal the vectorised ones (same likelihood, same fixed effects).
3. With ``--m5 PATH`` (the shared data folder): the real-data validation of docs/elasticity.md —
   elasticities and hold-out comparisons on m5_tiny_daily (weekly) and m5_monthly (monthly).

Usage: python benchmarks/bench_elasticity.py --skus 100000 --weeks 104 --repeat 2
       python benchmarks/bench_elasticity.py --skus 0 --m5 ../shared/data
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from pathlib import Path

import numpy as np
import polars as pl

from deadstock.datasets.m5 import m5_daily_price_history, m5_monthly_price_history
from deadstock.pricing import (
    ElasticitySettings,
    demand_panel,
    estimate_elasticities,
    holdout_comparison,
    holdout_summary,
)
from deadstock.pricing.elasticity import fit_poisson_fixed_effects

START = dt.date(2023, 1, 2)  # a Monday


def generate(
    n_skus: int, weeks: int, n_locations: int = 1, n_categories: int = 50, seed: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Canonical sales (one row per SKU-location-week with a sale), prices (a row per change,
    blank location), products and the true elasticities (seeded, vectorised)."""
    rng = np.random.default_rng(seed)
    category = rng.integers(0, n_categories, n_skus)
    truth = rng.uniform(-3.5, -0.8, n_categories)[category] + rng.normal(0, 0.4, n_skus)
    season = rng.normal(0, 0.3, (n_categories, weeks))
    base = rng.uniform(2, 50, n_skus)
    steps = np.where(
        rng.random((n_skus, weeks)) < 0.02, rng.uniform(-0.15, 0.15, (n_skus, weeks)), 0
    )
    steps[:, 0] = 0.0
    promo = np.where(
        rng.random((n_skus, weeks)) < 0.10, rng.choice([0.9, 0.8, 0.7, 0.6], (n_skus, weeks)), 1.0
    )
    price = np.round(base[:, None] * np.exp(np.cumsum(steps, axis=1)) * promo, 2)
    level = np.log(3.0) + rng.normal(0, 1.0, (n_skus, n_locations))
    mean = np.exp(
        level[:, :, None]
        + season[category][:, None, :]
        + truth[:, None, None] * np.log(price / base[:, None])[:, None, :]
    )
    qty = rng.poisson(mean)
    s, loc, w = np.nonzero(qty > 0)
    names = pl.Series("sku", [f"SKU{i:07d}" for i in range(n_skus)])
    monday = np.datetime64(START)
    sales = pl.DataFrame(
        {
            "date": pl.Series(monday + 7 * w.astype("timedelta64[D]")).cast(pl.Date),
            "sku": names.gather(s),
            "location": pl.Series([f"L{i}" for i in range(n_locations)]).gather(loc),
            "qty": qty[s, loc, w].astype(np.float64),
        }
    )
    changed = np.ones((n_skus, weeks), dtype=bool)
    changed[:, 1:] = price[:, 1:] != price[:, :-1]
    ps, pw = np.nonzero(changed)
    prices = pl.DataFrame(
        {
            "date": pl.Series(monday + 7 * pw.astype("timedelta64[D]")).cast(pl.Date),
            "sku": names.gather(ps),
            "price": price[ps, pw],
        }
    )
    products = pl.DataFrame(
        {"sku": names, "category": pl.Series([f"CAT{c:03d}" for c in category])}
    )
    return sales, prices, products, pl.DataFrame({"sku": names, "true": truth})


def reference_loop(
    sales: pl.DataFrame, prices: pl.DataFrame, products: pl.DataFrame, n_skus: int
) -> tuple[float, pl.DataFrame]:
    """Per-SKU Poisson GLM by IRLS on the first ``n_skus`` SKUs, category-week effects of the
    full fit as an offset. Returns (seconds for the loop, slopes)."""
    panel = demand_panel(sales, prices, products).with_columns(
        unit=pl.struct("sku", "location").rank("dense").cast(pl.Int64) - 1,
        sku_code=pl.col("sku").rank("dense").cast(pl.Int64) - 1,
        cell=pl.struct("category", "period_start").rank("dense").cast(pl.Int64) - 1,
    )
    panel = panel.sort("unit", "period_start")
    units = panel.unique("unit").sort("unit")
    fit = fit_poisson_fixed_effects(
        panel["qty"].to_numpy(),
        np.log(panel["price"].to_numpy()),
        np.log(panel["exposure_days"].to_numpy()),
        panel["unit"].to_numpy(),
        panel["cell"].to_numpy(),
        units["sku_code"].to_numpy(),
        int(panel["sku_code"].max()) + 1,
    )
    first = panel.filter(pl.col("sku_code") < n_skus)
    first = first.with_columns(gamma=pl.Series(fit.cell_effect[first["cell"].to_numpy()]))
    groups = first.partition_by("sku", as_dict=False, maintain_order=True)
    slopes = []
    start = time.perf_counter()
    for rows in groups:  # the reference: one SKU at a time
        y = rows["qty"].to_numpy()
        offset = np.log(rows["exposure_days"].to_numpy()) + rows["gamma"].to_numpy()
        keep = np.isfinite(offset)
        locations = rows["location"].to_numpy()[keep]
        names = np.unique(locations)
        design = np.column_stack(
            [(locations == n).astype(float) for n in names]
            + [np.log(rows["price"].to_numpy())[keep]]
        )
        y, offset = y[keep], offset[keep]
        theta = np.zeros(design.shape[1])
        theta[:-1] = np.log(max(y.mean(), 1e-3))
        for _ in range(50):
            mu = np.exp(offset + design @ theta)
            weight = np.sqrt(mu)
            working = design @ theta + (y - mu) / mu
            new = np.linalg.lstsq(design * weight[:, None], working * weight, rcond=None)[0]
            done = np.max(np.abs(new - theta)) < 1e-10
            theta = new
            if done:
                break
        slopes.append((rows["sku"][0], float(theta[-1])))
    seconds = time.perf_counter() - start
    return seconds, pl.DataFrame(slopes, schema=["sku", "reference"], orient="row")


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def catalogue(args: argparse.Namespace) -> None:
    sales, prices, products, truth = generate(args.skus, args.weeks, args.locations, seed=args.seed)
    print(
        f"{args.skus:,} SKUs × {args.locations} location(s) × {args.weeks} weeks: "
        f"{sales.height:,} sales rows, {prices.height:,} price rows"
    )
    times = []
    out = pl.DataFrame()
    for run in range(args.repeat):
        start = time.perf_counter()
        out = estimate_elasticities(sales, prices, products)
        times.append(time.perf_counter() - start)
        print(f"  estimate_elasticities run {run + 1}: {times[-1]:7.2f} s")
    checked = out.join(truth, on="sku")
    raw_error = (checked["raw_elasticity"] - checked["true"]).abs().mean()
    error = (checked["elasticity"] - checked["true"]).abs().mean()
    sources = dict(out["source"].value_counts().rows())
    print(
        f"  accuracy: mean |raw − true| {raw_error:.3f}, mean |shrunk − true| {error:.3f}; "
        f"sources {sources}; peak RSS {peak_memory_mb():,.0f} MB"
    )
    if args.reference_skus:
        seconds, reference = reference_loop(sales, prices, products, args.reference_skus)
        agree = reference.join(out, on="sku")
        gap = (agree["reference"] - agree["raw_elasticity"]).abs().max()
        per_sku = seconds / reference.height
        print(
            f"  reference per-SKU IRLS loop: {reference.height:,} SKUs in {seconds:.2f} s "
            f"({per_sku * 1e3:.2f} ms/SKU) → {per_sku * args.skus:,.0f} s for {args.skus:,}; "
            f"max |slope difference| {gap:.1e}"
        )
        print(f"  ratio reference / vectorised: {per_sku * args.skus / min(times):.1f}x")


def describe(out: pl.DataFrame) -> str:
    value, raw = out["elasticity"], out["raw_elasticity"].drop_nulls()
    return (
        f"{out.height:,} SKUs, sources {dict(out['source'].value_counts().sort('source').rows())}; "
        f"share < 0 {float((value < 0).mean()):.3f}, median {value.median():.2f}, "
        f"quartiles {value.quantile(0.25):.2f} … {value.quantile(0.75):.2f}, "
        f"10–90 % {value.quantile(0.1):.2f} … {value.quantile(0.9):.2f}, "
        f"at the bounds {float((value == 0).mean()):.3f} (0) / {float((value == -6).mean()):.3f} "
        f"(−6); raw: {raw.len():,} identified, share < 0 {float((raw < 0).mean()):.3f}, "
        f"median {raw.median():.2f}"
    )


def m5(path: Path) -> None:
    sales, prices, products = m5_daily_price_history(path)
    weekly = ElasticitySettings(week_start="saturday")
    start = time.perf_counter()
    out = estimate_elasticities(sales, prices, products, settings=weekly)
    print(f"M5 daily sample, Walmart weeks ({time.perf_counter() - start:.1f} s): {describe(out)}")
    for weeks in (13, 26, 52):
        print(
            holdout_summary(
                holdout_comparison(sales, prices, products, holdout_periods=weeks, settings=weekly)
            )
        )
    sales, prices, products = m5_monthly_price_history(path)
    monthly = ElasticitySettings(period="month")
    start = time.perf_counter()
    out = estimate_elasticities(sales, prices, products, settings=monthly)
    print(f"M5 monthly, all series ({time.perf_counter() - start:.1f} s): {describe(out)}")
    for months in (6, 12):
        print(
            holdout_summary(
                holdout_comparison(
                    sales, prices, products, holdout_periods=months, settings=monthly
                )
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--locations", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--reference-skus", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--m5", type=Path, default=None, help="shared data folder")
    args = parser.parse_args()
    if args.skus:
        catalogue(args)
    if args.m5 is not None:
        m5(args.m5)


if __name__ == "__main__":
    main()
