"""Benchmark: ingest + ageing + metrics on 1 M SKU-locations, and the ratio against pandas.

Steps
1. Generate (once, cached in benchmarks/_work/) a retailer with ``--sku-locations`` SKU-locations,
   two years of daily sales (about 5 % non-zero days) and their receipts, as Parquet files.
2. In a fresh child process, time ``run_pipeline`` on that folder (read + validate + position &
   ageing + movement metrics) and read the child's peak resident memory.
3. In this process, on a slice of ``--slice`` SKU-locations, time deadstock's ``movement_metrics``
   and a straightforward pandas implementation of the same metrics
   (``benchmarks/pandas_reference.py``) on identical inputs, check they agree, and print the ratio.

Usage::

    python benchmarks/bench_pipeline.py --sku-locations 1000000 --slice 100000

Targets (issue 2, 2-core machine): 1 M run ≤ 30 s wall and ≤ 8 GiB peak; ≥ 10× pandas on the slice.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _data_dir(n_sku_locations: int, locations: int, seed: int) -> Path:
    return HERE / "_work" / f"retailer_{n_sku_locations}_{locations}_{seed}"


def generate(n_sku_locations: int, locations: int, seed: int) -> Path:
    """Write the benchmark retailer as Parquet (cached by size and seed)."""
    from deadstock.datasets import generate_retailer, write_dataset

    out = _data_dir(n_sku_locations, locations, seed)
    if (out / "sales.parquet").exists():
        return out
    start = time.perf_counter()
    tables = generate_retailer(
        n_skus=n_sku_locations // locations, n_locations=locations, seed=seed
    )
    gen_s = time.perf_counter() - start
    tmp = out.with_suffix(".tmp")
    write_dataset(tables, tmp, fmt="parquet")
    tmp.replace(out)
    sales = tables["sales"]
    sl = tables["inventory"].height
    print(
        f"generated {sl:,} SKU-locations, {sales.height:,} sales rows "
        f"({sales.height / (sl * 730):.1%} non-zero days), {tables['receipts'].height:,} receipts "
        f"in {gen_s:.1f} s (peak RSS so far {_peak_rss_gib():.2f} GiB)"
    )
    return out


def _peak_rss_gib(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux


def _timed_run(data: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from deadstock.config import load_config
    from deadstock.pipeline import run_pipeline

    start = time.perf_counter()
    result = run_pipeline(Path(data), load_config(), detect=False)
    wall = time.perf_counter() - start
    queue.put(
        {
            "wall_s": wall,
            "stages_s": result.timings,
            "sku_locations": result.sku_metrics.height,
            "layers": result.layers.height,
            "rows_read": int(result.counts["read"].sum()),
            "peak_rss_gib": _peak_rss_gib(),
        }
    )


def full_run(data: Path) -> dict:  # type: ignore[type-arg]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_timed_run, args=(str(data), queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def slice_comparison(data: Path, n_slice: int) -> dict:  # type: ignore[type-arg]
    """deadstock vs pandas on the same metrics and the same inputs, in this process."""
    from pandas_reference import pandas_movement_metrics

    from deadstock.config import load_config
    from deadstock.keys import sku_location_keys
    from deadstock.metrics import movement_metrics
    from deadstock.pipeline import analyse
    from deadstock.validate import load_inputs

    config = load_config()
    validated = load_inputs(data, config)
    keys = validated.tables["inventory"].select("sku", "location").unique().sort("sku", "location")
    keys = keys.head(n_slice)
    for name in ("inventory", "sales", "receipts"):
        validated.tables[name] = validated.tables[name].join(
            keys, on=["sku", "location"], how="semi"
        )
    validated.tables["products"] = validated.tables["products"].join(
        keys.select("sku").unique(), on="sku", how="semi"
    )
    result = analyse(validated, config, detect=False)
    # The run keeps its stock history keyed by integers; both sides get it with sku, location.
    names = sku_location_keys(result.position.select("sku", "location"))
    history = result.stock_history.join(names.select("_k", "sku", "location"), on="_k").select(
        "sku", "location", "date", "closing_units"
    )
    inputs = (
        validated.tables["sales"],
        result.position,
        history,
        result.age,
        validated.tables["products"],
    )
    start = time.perf_counter()
    ours = movement_metrics(*inputs, result.as_of, config)
    ours_s = time.perf_counter() - start
    pandas_inputs = [t.to_pandas() for t in inputs]
    start = time.perf_counter()
    ref = pandas_movement_metrics(*pandas_inputs, result.as_of, config)
    pandas_s = time.perf_counter() - start
    ref_pl = pl.from_pandas(ref).sort("sku", "location")
    ours_sorted = ours.sort("sku", "location")
    worst = 0.0
    for col in ("units_30d", "avg_daily_sales", "turnover", "weekly_cv", "stock_value"):
        a = ours_sorted[col].fill_null(0).to_numpy()
        b = ref_pl[col].fill_null(0).to_numpy()
        worst = max(worst, float(abs(a - b).max()) if len(a) else 0.0)
    return {
        "slice_sku_locations": ours.height,
        "sales_rows": validated.tables["sales"].height,
        "deadstock_metrics_s": ours_s,
        "pandas_metrics_s": pandas_s,
        "speedup": pandas_s / ours_s,
        "max_abs_difference": worst,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sku-locations", type=int, default=1_000_000)
    parser.add_argument("--locations", type=int, default=4)
    parser.add_argument("--slice", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    data = generate(args.sku_locations, args.locations, args.seed)
    full = full_run(data)
    print(
        f"full run: {full['sku_locations']:,} SKU-locations, {full['rows_read']:,} input rows: "
        f"{full['wall_s']:.1f} s wall, peak RSS {full['peak_rss_gib']:.2f} GiB "
        f"(target ≤ 30 s, ≤ 8 GiB); stages {full['stages_s']}"
    )
    cmp = slice_comparison(data, args.slice)
    print(
        f"slice of {cmp['slice_sku_locations']:,} SKU-locations "
        f"({cmp['sales_rows']:,} sales rows): "
        f"deadstock metrics {cmp['deadstock_metrics_s']:.2f} s, "
        f"pandas {cmp['pandas_metrics_s']:.2f} s "
        f"→ {cmp['speedup']:.1f}× (target ≥ 10×); max |difference| {cmp['max_abs_difference']:.2e}"
    )
    if args.json:
        args.json.write_text(json.dumps({"full": full, "slice": cmp}, indent=2))


if __name__ == "__main__":
    main()
