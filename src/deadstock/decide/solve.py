"""Solve a decision problem: exact per-SKU choice, or a proven-bound method when rows couple SKUs.

Without coupling rows the problem separates and each SKU takes its cheapest allowed action
(first in :data:`ACTIONS` order on ties). With them, see :mod:`deadstock.decide.coupled`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from deadstock.decide.problem import IntArray, Problem, plan_costs


@dataclass(frozen=True)
class Solution:
    """A plan and its proof: objective [currency], lower bound, relative gap and method.

    ``choice`` is the action index per SKU (into :data:`deadstock.decide.costs.ACTIONS`).
    ``gap`` = (objective − bound) / max(|objective|, 1); 0 for the exact per-SKU choice.
    ``shadow_prices`` are the coupling rows' dual values [currency per unit of the row].
    """

    choice: IntArray
    objective: float
    bound: float
    gap: float
    method: str
    status: str = "optimal"
    shadow_prices: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def cheapest(problem: Problem) -> IntArray:
    """Index of each SKU's cheapest allowed action (ties: the first in ACTIONS order)."""
    return np.argmin(problem.cost, axis=1).astype(np.int64)


def solve(
    problem: Problem,
    method: str = "auto",
    time_limit: float = 60.0,
    gap_target: float = 1e-6,
) -> Solution:
    """Optimal plan of ``problem``.

    method: ``auto`` (exact choice when separable, else the decomposition of
    :func:`deadstock.decide.coupled.solve_coupled`), ``milp`` (one HiGHS MILP of the whole
    model, for small problems and as a reference) or ``decomposition``.
    """
    from deadstock.decide.coupling import coupling_rows

    if not coupling_rows(problem):
        choice = cheapest(problem)
        objective = float(plan_costs(problem, choice).sum())
        return Solution(choice, objective, objective, 0.0, "per-sku")
    from deadstock.decide.coupled import solve_coupled

    return solve_coupled(problem, method=method, time_limit=time_limit, gap_target=gap_target)
