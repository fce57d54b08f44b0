"""Benchmark the markdown ladder DP (issue 5): 8 weeks × 4 levels for ``--skus`` SKU-locations.

Figures printed:
1. Time of :func:`deadstock.pricing.markdown.solve_markdown` on ``--skus`` generated excess
   SKU-locations (closed-loop DP + forward pass of expected outcomes), first call excluded from the
   figure (numba compiles or loads its cache in a warm-up call on 1,000 SKUs).
2. The same ladders by a plain-Python backward induction (the reference, same model) on
   ``--reference-skus`` of them, extrapolated per SKU, and the speed ratio; the two values must
   agree to 1e-9.

The generated catalogue is shaped like a run's excess: stock lognormal (median 12 units), base
demand lognormal (median 0.05 units/day) with 20 % of SKUs without demand (clearance-response
prior), elasticity N(−2.5, 0.8) clipped to [−6, −0.2], price 3–60, unit cost 35–80 % of price.

Usage: python benchmarks/bench_markdown.py --skus 1000000
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from deadstock.pricing.markdown import (
    CASCADE_LEVELS,
    allowed_levels,
    solve_markdown,
    state_cap,
    weekly_demand,
)

RATE = 0.00086


def generate(n: int, seed: int) -> dict:
    """Inputs of ``n`` excess SKU-locations (module docstring)."""
    rng = np.random.default_rng(seed)
    levels = np.array(CASCADE_LEVELS)
    stock = np.maximum(1, np.round(rng.lognormal(math.log(12), 1.0, n))).astype(np.int64)
    lam = rng.lognormal(math.log(0.05), 1.0, n)
    lam[rng.random(n) < 0.2] = 0.0
    regular = np.minimum(stock - 1, np.floor(lam * 84)).astype(np.int64)
    eps = np.clip(rng.normal(-2.5, 0.8, n), -6.0, -0.2)
    price = rng.uniform(3.0, 60.0, n)
    cost = price * rng.uniform(0.35, 0.8, n)
    return dict(
        stock=stock,
        regular=regular,
        base_daily=lam,
        demand=weekly_demand(levels, lam, eps, stock, 0.08, 0.5),
        price=price,
        carry_daily=0.002 + 0.00014 * cost,
        clear_value=price * rng.uniform(0.05, 0.2, n),
        allowed=allowed_levels(levels, price, cost, 0.5, -0.5),
        daily_rate=RATE,
        weeks=8,
    )


def reference_value(levels: np.ndarray, inp: dict, i: int) -> float:
    """Plain-Python backward induction of the same model for SKU ``i`` (no NumPy in the loop)."""
    weeks = inp["weeks"]
    q = 1.0 / (1.0 + RATE)
    rho = math.log1p(RATE)
    stock, regular = int(inp["stock"][i]), int(inp["regular"][i])
    lam, price = float(inp["base_daily"][i]), float(inp["price"][i])
    if lam == 0:
        regular = 0
    carry, clear = float(inp["carry_daily"][i]), float(inp["clear_value"][i])
    allowed = [bool(a) for a in inp["allowed"][i]]
    demand = [float(d) if a else 0.0 for d, a in zip(inp["demand"][i], allowed, strict=True)]
    cap = int(state_cap(inp["stock"][i : i + 1], np.array([regular]), np.array([demand]), weeks)[0])

    def regular_value(n: int) -> float:
        z = lam / (lam + rho) if lam > 0 else 0.0
        return sum(price * z**k - carry * (1 - z**k) / rho for k in range(1, n + 1))

    def pmf(mu: float, k: int) -> float:
        if mu == 0:
            return float(k == 0)
        return math.exp(k * math.log(mu) - mu - math.lgamma(k + 1))

    levels_n = len(levels)
    nxt = [
        [q ** (7 * weeks) * (regular_value(min(s, regular)) + max(s - regular, 0) * clear)]
        * levels_n
        for s in range(cap + 1)
    ]
    for w in range(weeks - 1, -1, -1):
        rf = q ** (7 * w + 3.5)
        cf = sum(q**t for t in range(7 * w, 7 * w + 7))
        cur = []
        for s in range(cap + 1):
            values = []
            for level in range(levels_n):
                if not allowed[level]:
                    values.append(-math.inf)
                    continue
                unit = price * (1 - levels[level])
                total, below = 0.0, 0.0
                for k in range(s):
                    p = pmf(demand[level], k)
                    below += p
                    total += p * (unit * k * rf - carry * cf * (s - k / 2) + nxt[s - k][level])
                rest = 1 - below
                total += rest * (unit * s * rf - carry * cf * s / 2 + nxt[0][level])
                values.append(total)
            row = [max(values[level:]) for level in range(levels_n)]
            cur.append(row)
        nxt = cur
    slope = -carry * sum(q**t for t in range(7 * weeks)) + q ** (7 * weeks) * clear
    return nxt[cap][0] + (stock - cap) * slope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=1_000_000)
    parser.add_argument("--reference-skus", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    levels = np.array(CASCADE_LEVELS)

    warm = generate(1_000, args.seed + 1)
    start = time.perf_counter()
    solve_markdown(levels, **warm)
    print(f"warm-up (compile or load cache), 1,000 SKUs  {time.perf_counter() - start:8.2f} s")

    inputs = generate(args.skus, args.seed)
    start = time.perf_counter()
    result = solve_markdown(levels, **inputs)
    seconds = time.perf_counter() - start
    first = result.first_discount
    print(
        f"{args.skus:,} SKUs, 8 weeks × 4 levels        {seconds:8.2f} s  "
        f"({seconds / args.skus * 1e6:.1f} µs/SKU; first-week discount 0/15/25/50 %: "
        + "/".join(f"{(first == d).mean():.0%}" for d in levels)
        + ")"
    )

    n_ref = min(args.reference_skus, args.skus)
    start = time.perf_counter()
    reference = [reference_value(levels, inputs, i) for i in range(n_ref)]
    ref_seconds = time.perf_counter() - start
    worst = max(
        abs(r - v) / max(1.0, abs(r)) for r, v in zip(reference, result.value[:n_ref], strict=True)
    )
    per_sku_ref = ref_seconds / n_ref
    print(
        f"plain-Python reference, {n_ref} SKUs          {ref_seconds:8.2f} s  "
        f"({per_sku_ref * 1e6:,.0f} µs/SKU; {per_sku_ref * args.skus:,.0f} s extrapolated) "
        f"max relative difference {worst:.1e}"
    )
    print(f"speed-up vs reference: {per_sku_ref * args.skus / seconds:,.0f}×")


if __name__ == "__main__":
    main()
