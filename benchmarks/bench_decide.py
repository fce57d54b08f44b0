"""Benchmark the decision engine (issue 4): per-SKU decide, coupled decide, and HiGHS MILP.

Figures printed:
1. ``--skus`` SKUs without coupling rows: build the problem and decide (in-process, no file I/O),
   then the whole table-level call (``decide_table``: decisions table with reasons and summary).
2. The same SKUs with a warehouse capacity (60 % of the units the free optimum keeps) and return
   caps for 50 suppliers: the decomposition's time, objective, proven bound and gap.
3. ``--milp-skus`` SKUs of the same kind: the decomposition against one direct HiGHS MILP of the
   whole model (``method="milp"``, time limit ``--milp-limit``), with the time ratio.

Usage: python benchmarks/bench_decide.py --skus 1000000 --milp-skus 20000
"""

from __future__ import annotations

import argparse
import time

import polars as pl

from deadstock.config import load_config
from deadstock.datasets.decision_params import generate_params, generate_supplier_caps
from deadstock.decide.costs import Economy
from deadstock.decide.engine import decide_table
from deadstock.decide.problem import Constraints, build_problem, evaluate
from deadstock.decide.solve import Solution, solve


def coupled_problem(params: pl.DataFrame, seed: int) -> tuple[Constraints, float]:
    """Capacity at 60 % of the units the free optimum keeps, caps for every supplier."""
    free = solve(build_problem(params, Economy()))
    keep_units = float(params["excess_units"].to_numpy()[free.choice == 0].sum())
    caps = generate_supplier_caps(params, seed=seed)
    return Constraints(capacity_units=0.6 * keep_units, supplier_caps=caps), keep_units


def report(label: str, solution: Solution, seconds: float, feasible: bool) -> None:
    print(
        f"{label:<34} {seconds:8.2f} s  objective {solution.objective:,.2f}  "
        f"bound {solution.bound:,.2f}  gap {solution.gap:.2e}  status {solution.status}  "
        f"feasible {feasible}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=1_000_000)
    parser.add_argument("--milp-skus", type=int, default=20_000)
    parser.add_argument("--milp-limit", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    params = generate_params(args.skus, seed=args.seed)
    start = time.perf_counter()
    problem = build_problem(params, Economy())
    free = solve(problem)
    seconds = time.perf_counter() - start
    report(
        f"{args.skus:,} SKUs, no coupling", free, seconds, evaluate(problem, free.choice).feasible
    )
    start = time.perf_counter()
    table = decide_table(
        params, load_config(None, ["decision_actions=keep,return,liquidate,recycle"])
    )
    seconds = time.perf_counter() - start
    print(
        f"{'  + decisions table and summary':<34} {seconds:8.2f} s  "
        f"({table.decisions.height:,} rows × {table.decisions.width} columns; decide_table)"
    )

    constraints, keep_units = coupled_problem(params, args.seed)
    start = time.perf_counter()
    problem = build_problem(params, Economy(), constraints=constraints)
    coupled = solve(problem, gap_target=1e-4)
    seconds = time.perf_counter() - start
    label = f"{args.skus:,} SKUs, capacity + 50 caps"
    report(label, coupled, seconds, evaluate(problem, coupled.choice).feasible)
    print(f"{'':<34} capacity {constraints.capacity_units:,.0f} of {keep_units:,.0f} kept units")

    small = generate_params(args.milp_skus, seed=args.seed)
    constraints, _ = coupled_problem(small, args.seed)
    problem = build_problem(small, Economy(), constraints=constraints)
    start = time.perf_counter()
    ours = solve(problem, gap_target=1e-4)
    ours_s = time.perf_counter() - start
    report(
        f"{args.milp_skus:,} SKUs, decomposition",
        ours,
        ours_s,
        evaluate(problem, ours.choice).feasible,
    )
    start = time.perf_counter()
    milp = solve(problem, method="milp", time_limit=args.milp_limit, gap_target=1e-4)
    milp_s = time.perf_counter() - start
    report(
        f"{args.milp_skus:,} SKUs, direct HiGHS MILP",
        milp,
        milp_s,
        evaluate(problem, milp.choice).feasible,
    )
    print(
        f"ratio direct MILP / decomposition: {milp_s / ours_s:.1f}x time; objective "
        f"{(ours.objective - milp.objective) / abs(milp.objective):+.2e} relative to the MILP's"
    )


if __name__ == "__main__":
    main()
