"""Threshold rules that approximate the optimal decisions, and their loss (SPEC §3.5).

The rule form of Zijlmans (2025): for the SKUs that can be returned,

    return     if expected days in stock De > T1  or  return benefit > T2
    liquidate  (SKUs not returned) if De > T3  or  liquidation benefit > T4
    otherwise  keep

and likewise for every further clearing action, in :data:`~deadstock.decide.costs.ACTIONS`
order. The *benefit* of a clearing action a versus the regular sale is scale-free, a share of the
discounted sale value Ps/(1+Re)^De:

    benefit_a = (P_a − C_a − Ps/(1+Re)^De) / (Ps/(1+Re)^De) = −cost_a / lost_sale_a     [-]

(net proceeds P_a − C_a per unit, e.g. Pr − Cr for a return). 0 means clearing recovers exactly
the discounted sale, −1 that it recovers nothing net, > 0 that it recovers more.

Search. For one action, firing the rule on SKU i changes the plan's cost by −gain_i (gain = the
cost the SKU would otherwise have, minus the action's cost). The SKUs left unfired by (T1, T2)
are those with De ≤ T1 and benefit ≤ T2, so after binning both features on their candidate
thresholds the unfired gain of every (T1, T2) is one entry of a 2-D cumulative sum: the search
over all pairs costs O(n + K²) after sorting, K candidates per feature. Candidates are the
distinct values of the feature (exact search) or, when there are more than ``max_candidates``,
its quantiles (a grid: the thresholds are then the best among K quantiles).

The rules are fitted stage by stage (first the return rule with every later choice at its best
allowed cost, then each later rule given the earlier ones), then refined by coordinate descent:
each rule is refitted given all others until no refit lowers the total cost, so no single rule's
(T, T') can be improved with the others held fixed. SKUs with one allowed action (a keep list,
a forced action, single-item retention) take it and are left out of the search. Rules ignore
coupling rows; on a coupled problem the rule plan is priced and checked by
:func:`~deadstock.decide.problem.evaluate`, which reports its feasibility.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from deadstock.decide.costs import ACTIONS, FloatArray
from deadstock.decide.problem import (
    BoolArray,
    Evaluation,
    IntArray,
    Problem,
    evaluate,
    plan_costs,
)
from deadstock.decide.solve import Solution
from deadstock.errors import ConfigError

#: Benefits of SKUs without a sale value (price 0) are clipped to ±this [-].
BENEFIT_LIMIT = 1e12
#: Default largest number of candidate thresholds per feature before the quantile grid.
MAX_CANDIDATES = 1024

KEEP = ACTIONS.index("keep")


def clearing_benefit(problem: Problem, action: str) -> FloatArray:
    """Benefit of clearing with ``action`` versus the regular sale, per SKU [-].

    (net proceeds − Ps/(1+Re)^De) / (Ps/(1+Re)^De) = −(per-unit cost of the action) / lost sale.
    SKUs without a sale value get ±:data:`BENEFIT_LIMIT` (0 when the action costs nothing); NaN
    where the action is not priced.
    """
    parts = problem.components[action]
    unit_cost = sum(parts.values())
    sale = parts["lost_sale"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sale > 0, -unit_cost / sale, -np.sign(unit_cost) * BENEFIT_LIMIT)
    return np.clip(ratio, -BENEFIT_LIMIT, BENEFIT_LIMIT)


@dataclass(frozen=True)
class ThresholdSearch:
    """Best thresholds of one OR rule: fire where x > x_threshold or y > y_threshold.

    ±inf thresholds mean "always" / "never" by that feature. ``gain`` is Σ gain over the fired
    SKUs [currency]; ``exact`` is False when a feature was searched on its quantile grid.
    """

    x_threshold: float
    y_threshold: float
    gain: float
    exact: bool


def _candidates(values: FloatArray, max_candidates: int) -> tuple[FloatArray, FloatArray, bool]:
    """Sorted candidate cuts (the distinct values, or their quantiles), the distinct values, and
    whether the candidates are all the distinct values."""
    distinct = np.unique(values)
    if distinct.size <= max_candidates:
        return distinct, distinct, True
    grid = np.quantile(values, np.linspace(0.0, 1.0, max_candidates), method="inverted_cdf")
    return np.unique(grid), distinct, False


def _threshold(candidates: FloatArray, distinct: FloatArray, index: int) -> float:
    """Threshold of a cut after candidate ``index``: −1 → −inf (always), the last → +inf (never),
    else halfway between the candidate and the next distinct value (the same SKUs fire, and the
    rule reads as a round cut rather than one SKU's value)."""
    if index < 0:
        return -np.inf
    if index >= candidates.size - 1:
        return np.inf
    cut = candidates[index]
    above = distinct[np.searchsorted(distinct, cut, side="right")]
    middle = cut + (above - cut) / 2.0
    return float(middle if middle < above else cut)


def best_or_thresholds(
    x: FloatArray, y: FloatArray, gain: FloatArray, max_candidates: int = MAX_CANDIDATES
) -> ThresholdSearch:
    """Thresholds (Tx, Ty) maximising Σ gain over the SKUs with x > Tx or y > Ty.

    Vectorised: bin x and y on their candidates, a 2-D histogram of the gains, and its 2-D
    cumulative sum gives the gain left unfired by every pair at once [O(n log n + K²)]. Ties go
    to the highest thresholds (the rule that fires least), days threshold first.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    gain = np.asarray(gain, dtype=np.float64)
    if x.size == 0:
        return ThresholdSearch(np.inf, np.inf, 0.0, True)
    cx, dx, exact_x = _candidates(x, max_candidates)
    cy, dy, exact_y = _candidates(y, max_candidates)
    # bin = number of candidates strictly below the value, so value > c[k] ⇔ bin > k.
    bx = np.searchsorted(cx, x, side="left")
    by = np.searchsorted(cy, y, side="left")
    hist = np.bincount(bx * cy.size + by, weights=gain, minlength=cx.size * cy.size)
    unfired = np.zeros((cx.size + 1, cy.size + 1))
    unfired[1:, 1:] = hist.reshape(cx.size, cy.size).cumsum(axis=0).cumsum(axis=1)
    best = unfired.min()
    tolerance = 1e-12 * (float(np.abs(gain).sum()) + 1.0)
    flat = int(np.flatnonzero(unfired.ravel() <= best + tolerance).max())
    ix, iy = divmod(flat, cy.size + 1)
    return ThresholdSearch(
        _threshold(cx, dx, ix - 1),
        _threshold(cy, dy, iy - 1),
        float(gain.sum() - unfired[ix, iy]),
        exact_x and exact_y,
    )


@dataclass(frozen=True)
class ThresholdRule:
    """``action`` if expected days in stock > days_threshold [days] or benefit > benefit_threshold.

    benefit_threshold is a share of the discounted sale value [-] (see :func:`clearing_benefit`).
    skus, units, cost [currency]: the SKUs the rule sends to ``action`` in the fitted plan;
    agreement: the share of them the optimum also sends to ``action``.
    """

    action: str
    days_threshold: float
    benefit_threshold: float
    skus: int = 0
    units: float = 0.0
    cost: float = 0.0
    agreement: float = float("nan")

    def fires(self, days: FloatArray, benefit: FloatArray) -> BoolArray:
        """Where the rule fires (before eligibility and earlier rules)."""
        return (days > self.days_threshold) | (benefit > self.benefit_threshold)

    def describe(self) -> str:
        """The rule in words, e.g. ``return if expected days in stock > 412 days or ...``."""
        parts = []
        if self.days_threshold == -np.inf or self.benefit_threshold == -np.inf:
            return f"{self.action} always (where allowed)"
        if self.days_threshold < np.inf:
            parts.append(f"expected days in stock > {self.days_threshold:,.1f} days")
        if self.benefit_threshold < np.inf:
            parts.append(
                f"{self.action} benefit > {self.benefit_threshold:+.1%} of the discounted sale"
            )
        if not parts:
            return f"{self.action} never"
        return f"{self.action} if " + " or ".join(parts)


@dataclass(frozen=True)
class RuleSet:
    """Threshold rules fitted to an optimum, their plan and its loss against the optimum.

    total_cost / optimum_cost / loss [currency]; loss_pct = (rule − optimum) / |optimum| (NaN
    when the optimum is 0); agreement: share of SKUs (and of units) with the optimal action;
    feasible / violations: the rule plan checked by :func:`evaluate` (rules ignore coupling).
    """

    rules: tuple[ThresholdRule, ...]
    choice: IntArray
    total_cost: float
    optimum_cost: float
    loss: float
    loss_pct: float
    agreement: float
    agreement_units: float
    feasible: bool
    violations: dict[str, float] = field(default_factory=dict)
    exact: bool = True
    fixed_skus: int = 0
    rounds: int = 0

    def describe(self) -> list[str]:
        """Every rule in words, in the order they apply, then ``keep``."""
        return [*(r.describe() for r in self.rules), "otherwise keep"]

    def frame(self) -> pl.DataFrame:
        """One row per rule: thresholds, SKUs, units, cost, agreement, and the set's loss."""
        return pl.DataFrame(
            {
                "order": list(range(1, len(self.rules) + 1)),
                "action": [r.action for r in self.rules],
                "rule": [r.describe() for r in self.rules],
                "days_threshold": [r.days_threshold for r in self.rules],
                "benefit_threshold": [r.benefit_threshold for r in self.rules],
                "skus": [r.skus for r in self.rules],
                "units": [r.units for r in self.rules],
                "cost": [r.cost for r in self.rules],
                "agreement": [r.agreement for r in self.rules],
                "total_cost": [self.total_cost] * len(self.rules),
                "optimum_cost": [self.optimum_cost] * len(self.rules),
                "loss": [self.loss] * len(self.rules),
                "loss_pct": [self.loss_pct] * len(self.rules),
            },
            schema_overrides={"skus": pl.Int64, "units": pl.Float64, "agreement": pl.Float64},
        )


def _fixed_choice(problem: Problem) -> tuple[BoolArray, IntArray]:
    """SKUs with a single allowed action, and the start plan (that action, else keep)."""
    allowed = problem.allowed
    fixed = allowed.sum(axis=1) == 1
    choice = np.full(problem.n, KEEP, dtype=np.int64)
    choice[fixed] = np.argmax(allowed[fixed], axis=1)
    return fixed, choice


def apply_rules(problem: Problem, rules: Sequence[ThresholdRule]) -> IntArray:
    """The plan of ``rules`` on ``problem``: each SKU takes the first rule that fires and that it
    may take, else keep; SKUs with one allowed action take it."""
    fixed, choice = _fixed_choice(problem)
    assigned = fixed.copy()
    days = problem.params["expected_days_in_stock"]
    for rule in rules:
        j = ACTIONS.index(rule.action)
        fire = (
            ~assigned
            & problem.allowed[:, j]
            & rule.fires(days, clearing_benefit(problem, rule.action))
        )
        choice[fire] = j
        assigned |= fire
    return choice


def learn_threshold_rules(
    problem: Problem,
    solution: Solution,
    actions: Sequence[str] | None = None,
    max_candidates: int = MAX_CANDIDATES,
    max_rounds: int = 20,
) -> RuleSet:
    """Fit the thesis' threshold rules to ``solution`` and report their loss (SPEC §3.5).

    actions: the clearing actions that get a rule, in the order they apply (default: every
    clearing action some free SKU may take, in ACTIONS order: return, liquidate, recycle, …).
    The thresholds minimise the rule plan's total cost (see the module docstring for the search).
    """
    fixed, _ = _fixed_choice(problem)
    free = ~fixed
    allowed = problem.allowed
    if actions is None:
        stages = [a for a in ACTIONS[1:] if (allowed[:, ACTIONS.index(a)] & free).any()]
    else:
        unknown = [a for a in actions if a not in ACTIONS or a == "keep"]
        if unknown:
            raise ConfigError(
                f"Rule actions {unknown} are not clearing actions.",
                fix=f"use some of: {', '.join(ACTIONS[1:])}.",
            )
        stages = list(actions)
    columns = [ACTIONS.index(a) for a in stages]
    cost = problem.cost
    days = problem.params["expected_days_in_stock"]
    benefit = {a: clearing_benefit(problem, a) for a in stages}
    thresholds: list[tuple[float, float]] = [(np.inf, np.inf)] * len(stages)
    exact = True

    def fired(k: int) -> BoolArray:
        tx, ty = thresholds[k]
        return allowed[:, columns[k]] & ((days > tx) | (benefit[stages[k]] > ty))

    def outcome(first: int) -> FloatArray:
        """Cost of each SKU under the rules from stage ``first`` on (else keep)."""
        out = cost[:, KEEP].copy()
        done = np.zeros(problem.n, dtype=bool)
        for k in range(first, len(stages)):
            fire = ~done & fired(k)
            out[fire] = cost[fire, columns[k]]
            done |= fire
        return out

    def open_before(k: int) -> BoolArray:
        """Free SKUs no earlier rule has taken."""
        mask = free.copy()
        for m in range(k):
            mask &= ~fired(m)
        return mask

    def fit(k: int, fallback: FloatArray) -> None:
        nonlocal exact
        population = open_before(k) & allowed[:, columns[k]]
        gain = fallback[population] - cost[population, columns[k]]
        found = best_or_thresholds(
            days[population], benefit[stages[k]][population], gain, max_candidates
        )
        exact &= found.exact
        thresholds[k] = (found.x_threshold, found.y_threshold)

    def plan() -> IntArray:
        return apply_rules(problem, _rules(stages, thresholds))

    def total(choice: IntArray) -> float:
        return float(plan_costs(problem, choice).sum())

    # First pass: each rule against the best cost the later actions (or keep) could give.
    for k in range(len(stages)):
        later = [KEEP, *columns[k + 1 :]]
        fit(k, cost[:, later].min(axis=1))
    current = total(plan())
    rounds = 0
    improved = True
    while improved and rounds < max_rounds:
        rounds += 1
        improved = False
        for k in range(len(stages)):
            before = thresholds[k]
            fit(k, outcome(k + 1))
            candidate = total(plan())
            if candidate < current - 1e-9 * max(1.0, abs(current)):
                current, improved = candidate, True
            else:
                thresholds[k] = before

    choice = plan()
    optimum = evaluate(problem, solution.choice).total_cost
    checked = evaluate(problem, choice)
    return _rule_set(problem, solution, stages, thresholds, choice, checked, optimum, exact, rounds)


def _rules(stages: Sequence[str], thresholds: Sequence[tuple[float, float]]) -> list[ThresholdRule]:
    return [ThresholdRule(a, tx, ty) for a, (tx, ty) in zip(stages, thresholds, strict=True)]


def _rule_set(
    problem: Problem,
    solution: Solution,
    stages: Sequence[str],
    thresholds: Sequence[tuple[float, float]],
    choice: IntArray,
    checked: Evaluation,
    optimum: float,
    exact: bool,
    rounds: int,
) -> RuleSet:
    """Summarise a fitted plan: per-rule counts, cost, agreement; loss against the optimum."""
    costs = plan_costs(problem, choice)
    same = choice == solution.choice
    rules = []
    for action, (tx, ty) in zip(stages, thresholds, strict=True):
        mask = choice == ACTIONS.index(action)
        count = int(mask.sum())
        rules.append(
            ThresholdRule(
                action,
                tx,
                ty,
                skus=count,
                units=float(problem.units[mask].sum()),
                cost=float(costs[mask].sum()),
                agreement=float(same[mask].mean()) if count else float("nan"),
            )
        )
    total_cost = checked.total_cost
    loss = total_cost - optimum
    units = float(problem.units.sum())
    return RuleSet(
        rules=tuple(rules),
        choice=choice,
        total_cost=total_cost,
        optimum_cost=optimum,
        loss=loss,
        loss_pct=loss / abs(optimum) if optimum != 0 else float("nan"),
        agreement=float(same.mean()) if problem.n else float("nan"),
        agreement_units=float(problem.units[same].sum() / units) if units > 0 else float("nan"),
        feasible=checked.feasible,
        violations=dict(checked.violations),
        exact=exact,
        fixed_skus=int((problem.allowed.sum(axis=1) == 1).sum()),
        rounds=rounds,
    )
