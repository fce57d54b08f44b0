"""Benchmark: the intermittent forecast kernels on 1 M daily series, and the ratio to statsforecast.

Steps
1. Generate (once, cached in benchmarks/_work/) ``--series`` intermittent daily series of
   ``--days`` days as a float32 .npy: each series sells on a share of days drawn uniformly in
   2–8 % (about 5 % on average), negative-binomial sizes 1 + NB(2, mean 0.5–3) (seeded).
2. In a fresh child process, time the four intermittent kernels (Croston SBA, TSB, ADIDA, IMAPA)
   over all series — point forecasts and their 26-week path as weekly totals — on ``--jobs``
   forked worker processes (``--threads``: threads), and read the peak resident memory (the
   input is memory-mapped, so its pages count too).
3. In this process, on the first ``--slice`` series, time statsforecast
   (``StatsForecast(models=[CrostonSBA(), TSB(0.1, 0.1), ADIDA(), IMAPA()], freq=1,
   n_jobs=--jobs).forecast(h=182)``) and deadstock on the same array, print the ratio and the
   largest relative difference of the forecasts.

Usage::

    python benchmarks/bench_forecast.py --series 1000000 --slice 30000

Targets (issue 3, 2-core machine): 1 M series ≤ 60 s wall; ≥ 10× statsforecast on the slice.
Other processes on the machine slow both sides; the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WEEKS = 26
METHODS = ("croston_sba", "tsb", "adida", "imapa")
REFERENCE_NAMES = {"croston_sba": "CrostonSBA", "tsb": "TSB", "adida": "ADIDA", "imapa": "IMAPA"}
GENERATE_CHUNK = 100_000


def _data_path(n_series: int, n_days: int, seed: int) -> Path:
    return HERE / "_work" / f"intermittent_{n_series}_{n_days}_{seed}.npy"


def generate(n_series: int, n_days: int, seed: int) -> Path:
    """Write the benchmark series as a float32 .npy (cached by size and seed)."""
    path = _data_path(n_series, n_days, seed)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    start = time.perf_counter()
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n_series, n_days))
    nonzero = 0
    for first in range(0, n_series, GENERATE_CHUNK):
        rows = min(GENERATE_CHUNK, n_series - first)
        rng = np.random.default_rng([seed, first])
        share = rng.uniform(0.02, 0.08, rows).astype(np.float32)[:, None]
        mean = rng.uniform(0.5, 3.0, rows)
        sells = rng.random((rows, n_days), dtype=np.float32) < share
        where = np.flatnonzero(sells)
        sizes = 1 + rng.negative_binomial(2, (2.0 / (2.0 + mean))[where // n_days])
        block = np.zeros(rows * n_days, dtype=np.float32)
        block[where] = sizes
        out[first : first + rows] = block.reshape(rows, n_days)
        nonzero += where.size
    out.flush()
    del out
    tmp.replace(path)
    print(
        f"generated {n_series:,} series × {n_days} days ({nonzero / (n_series * n_days):.1%} "
        f"non-zero days) in {time.perf_counter() - start:.1f} s → {path}"
    )
    return path


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def forecast_paths(
    y: np.ndarray, jobs: int, chunk_size: int, processes: bool
) -> dict[str, np.ndarray]:
    """The four methods' point forecasts [units/day] and 26-week weekly paths [units/week]."""
    from deadstock.forecast.kernels import intermittent_forecasts

    levels = intermittent_forecasts(
        y, METHODS, chunk_size=chunk_size, n_jobs=jobs, processes=processes
    )
    out = dict(levels)
    for method, level in levels.items():  # flat forecasts: every week is 7 × the daily level
        out[f"{method}_weekly"] = np.repeat((7.0 * level).astype(np.float32)[:, None], WEEKS, 1)
    return out


def _timed_run(path: str, jobs: int, chunk_size: int, processes: bool, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    y = np.load(path, mmap_mode="r")
    start = time.perf_counter()
    cpu = time.process_time()
    out = forecast_paths(y, jobs, chunk_size, processes)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    queue.put(
        {
            "wall_s": time.perf_counter() - start,
            "cpu_s": time.process_time() - cpu + children.ru_utime + children.ru_stime,
            "series": int(y.shape[0]),
            "days": int(y.shape[1]),
            "peak_rss_gib": _peak_rss_gib(),
            "peak_rss_worker_gib": children.ru_maxrss / 1024**2,
            "mean_forecast": {m: float(out[m].mean()) for m in METHODS},
        }
    )


def full_run(path: Path, jobs: int, chunk_size: int, processes: bool) -> dict:  # type: ignore[type-arg]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_timed_run, args=(str(path), jobs, chunk_size, processes, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def statsforecast_reference(y: np.ndarray, jobs: int) -> tuple[dict[str, np.ndarray], float]:
    """statsforecast's one-step forecasts per method (series order) and its wall time [s]."""
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import ADIDA, IMAPA, TSB, CrostonSBA

    n_series, n_days = y.shape
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n_series), n_days),
            "ds": np.tile(np.arange(1, n_days + 1), n_series),
            "y": y.reshape(-1).astype(np.float64),
        }
    )
    models = [CrostonSBA(), TSB(alpha_d=0.1, alpha_p=0.1), ADIDA(), IMAPA()]
    start = time.perf_counter()
    result = StatsForecast(models=models, freq=1, n_jobs=jobs).forecast(df=frame, h=7 * WEEKS)
    seconds = time.perf_counter() - start
    first = result[result["ds"] == n_days + 1].sort_values("unique_id")
    return {m: first[REFERENCE_NAMES[m]].to_numpy() for m in METHODS}, seconds


def slice_comparison(  # type: ignore[type-arg]
    path: Path, n_slice: int, jobs: int, chunk_size: int, processes: bool, repeat: int = 3
) -> dict:
    """Both sides timed ``repeat`` times in turn on the same slice; the best of each is compared
    (timeit's convention: the minimum is the least disturbed by other work on the machine)."""
    y = np.ascontiguousarray(np.load(path, mmap_mode="r")[:n_slice])
    reference_runs, ours_runs = [], []
    for _ in range(repeat):
        reference, seconds = statsforecast_reference(y, jobs)
        reference_runs.append(seconds)
        start = time.perf_counter()
        ours = forecast_paths(y, jobs, chunk_size, processes)
        ours_runs.append(time.perf_counter() - start)
    reference_s, ours_s = min(reference_runs), min(ours_runs)
    worst_relative = 0.0
    worst_absolute_at_zero = 0.0
    for method in METHODS:
        a, b = ours[method], reference[method]
        big = b != 0
        if big.any():
            worst_relative = max(worst_relative, float((np.abs(a - b)[big] / np.abs(b[big])).max()))
        if (~big).any():
            worst_absolute_at_zero = max(worst_absolute_at_zero, float(np.abs(a[~big]).max()))
    return {
        "slice_series": n_slice,
        "statsforecast_s": reference_s,
        "deadstock_s": ours_s,
        "statsforecast_runs_s": reference_runs,
        "deadstock_runs_s": ours_runs,
        "speedup": reference_s / ours_s,
        "max_relative_difference": worst_relative,
        "max_abs_where_reference_is_zero": worst_absolute_at_zero,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=1_000_000)
    parser.add_argument("--slice", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="workers (deadstock), n_jobs (ref)")
    parser.add_argument(
        "--threads", action="store_true", help="deadstock on threads instead of forked processes"
    )
    parser.add_argument("--chunk-size", type=int, default=50_000, help="series per block")
    parser.add_argument("--skip-full", action="store_true", help="only the slice comparison")
    parser.add_argument(
        "--repeat", type=int, default=3, help="slice timings per side (the best is compared)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    sys.path.insert(0, str(HERE.parent / "src"))
    path = generate(args.series, args.days, args.seed)
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
    figures: dict[str, object] = {}
    if not args.skip_full:
        full = full_run(path, args.jobs, args.chunk_size, not args.threads)
        figures["full"] = full
        workers = "threads" if args.threads else "processes"
        per_worker = (
            "" if args.threads else f" + {full['peak_rss_worker_gib']:.2f} GiB per worker process"
        )
        print(
            f"full run: {full['series']:,} series × {full['days']} days, four methods + 26-week "
            f"paths: {full['wall_s']:.1f} s wall ({full['cpu_s']:.1f} s CPU, {args.jobs} "
            f"{workers}), peak RSS {full['peak_rss_gib']:.2f} GiB{per_worker} (target ≤ 60 s)"
        )
    cmp = slice_comparison(
        path,
        min(args.slice, args.series),
        args.jobs,
        args.chunk_size,
        not args.threads,
        args.repeat,
    )
    figures["slice"] = cmp
    load = os.getloadavg()
    print(
        f"slice of {cmp['slice_series']:,} series: statsforecast {cmp['statsforecast_s']:.2f} s, "
        f"deadstock {cmp['deadstock_s']:.2f} s → {cmp['speedup']:.1f}× (target ≥ 10×); "
        f"max relative difference {cmp['max_relative_difference']:.2e} "
        f"(max |ours| where statsforecast gives 0: {cmp['max_abs_where_reference_is_zero']:.1e})"
    )
    print(
        f"best of {args.repeat} runs each; all runs [s]: statsforecast "
        + ", ".join(f"{v:.2f}" for v in cmp["statsforecast_runs_s"])  # type: ignore[attr-defined]
        + "; deadstock "
        + ", ".join(f"{v:.2f}" for v in cmp["deadstock_runs_s"])  # type: ignore[attr-defined]
    )
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print()
    print("| step | series | seconds | note |")
    print("|---|---|---|---|")
    if "full" in figures:
        full = figures["full"]  # type: ignore[assignment]
        print(
            f"| deadstock, 4 methods | {full['series']:,} | {full['wall_s']:.1f} | "  # type: ignore[index]
            f"peak RSS {full['peak_rss_gib']:.2f} GiB |"  # type: ignore[index]
        )
    print(
        f"| statsforecast, 4 methods | {cmp['slice_series']:,} | {cmp['statsforecast_s']:.2f} | |"
    )
    print(
        f"| deadstock, 4 methods | {cmp['slice_series']:,} | {cmp['deadstock_s']:.2f} | "
        f"{cmp['speedup']:.1f}× faster |"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
