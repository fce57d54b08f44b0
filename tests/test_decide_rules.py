"""Threshold rules (deadstock.decide.rules) against plain-Python brute-force searches."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deadstock.decide.costs import ACTIONS, THESIS_ACTIONS, Economy
from deadstock.decide.problem import Constraints, build_problem, evaluate
from deadstock.decide.rules import (
    ThresholdRule,
    apply_rules,
    best_or_thresholds,
    clearing_benefit,
    learn_threshold_rules,
)
from deadstock.decide.solve import Solution, solve
from deadstock.errors import ConfigError

ECONOMY = Economy()
RETURN, LIQUIDATE, KEEP = ACTIONS.index("return"), ACTIONS.index("liquidate"), 0


def make_params(n: int, seed: int, eligible_share: float = 0.5) -> pl.DataFrame:
    """A random thesis-style parameter table with a mix of keep / return / liquidate."""
    rng = np.random.default_rng(seed)
    price = rng.uniform(5, 80, n).round(2)
    cost = (price * rng.uniform(0.3, 0.7, n)).round(2)
    eligible = rng.random(n) < eligible_share
    return pl.DataFrame(
        {
            "sku": [f"S{i:03d}" for i in range(n)],
            "excess_units": rng.integers(1, 30, n).astype(float),
            "total_units": rng.integers(1, 40, n).astype(float),
            "price": price,
            "unit_cost": cost,
            # few distinct values so that ties between SKUs are exercised
            "expected_days_in_stock": rng.choice([90.0, 200.0, 400.0, 700.0, 1095.0], n),
            "current_days_in_stock": rng.uniform(0, 300, n).round(0),
            "payment_days": np.full(n, 30.0),
            "financed_now": (rng.random(n) < 0.7).astype(float),
            "financed_future": np.zeros(n),
            "holding_cost_per_day": cost * 0.25 / 365,
            "return_eligible": eligible.astype(float),
            "return_price": np.where(eligible, cost * rng.uniform(0.5, 1.0, n), np.nan),
            "return_cost": np.where(eligible, rng.uniform(0, 2, n), np.nan),
            "liquidation_price": price * rng.uniform(0.05, 0.3, n),
            "liquidation_cost": rng.uniform(0, 0.5, n),
        }
    )


def benefit_by_hand(params: pl.DataFrame, proceeds: str, transport: str) -> list[float]:
    """(P − C − Ps/(1+Re)^De) / (Ps/(1+Re)^De) row by row (NaN where not offered)."""
    out = []
    for row in params.iter_rows(named=True):
        sale = row["price"] / (1 + ECONOMY.discount_rate_excess) ** row["expected_days_in_stock"]
        p, c = row[proceeds], row[transport]
        out.append(math.nan if p is None or math.isnan(p) else (p - c - sale) / sale)
    return out


def rule_cost_by_hand(problem, params, thresholds) -> float:
    """Total cost of 'return if De > T1 or b_r > T2, else liquidate if De > T3 or b_l > T4,
    else keep', SKU by SKU."""
    t1, t2, t3, t4 = thresholds
    br = benefit_by_hand(params, "return_price", "return_cost")
    bl = benefit_by_hand(params, "liquidation_price", "liquidation_cost")
    total = 0.0
    for i, row in enumerate(params.iter_rows(named=True)):
        de = row["expected_days_in_stock"]
        if problem.allowed[i, RETURN] and (de > t1 or br[i] > t2):
            j = RETURN
        elif problem.allowed[i, LIQUIDATE] and (de > t3 or bl[i] > t4):
            j = LIQUIDATE
        else:
            j = KEEP
        total += problem.cost[i, j]
    return total


def candidate_thresholds(values) -> list[float]:
    """Every distinct way to cut a feature with '>': −inf (all) and each observed value."""
    return [-math.inf, *sorted({v for v in values if not math.isnan(v)})]


# --------------------------------------------------------------------------------------------
# The 2-D search kernel
# --------------------------------------------------------------------------------------------
def brute_or(x, y, gain) -> float:
    best = 0.0  # thresholds at the maxima fire nothing
    for tx in [-math.inf, *set(x)]:
        for ty in [-math.inf, *set(y)]:
            best = max(best, sum(g for a, b, g in zip(x, y, gain, strict=True) if a > tx or b > ty))
    return best


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),
            st.integers(-4, 4),
            st.floats(-10, 10, allow_nan=False).map(lambda v: round(v, 3)),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_kernel_equals_brute_force_over_all_pairs(rows):
    x = [float(r[0]) for r in rows]
    y = [float(r[1]) for r in rows]
    gain = [r[2] for r in rows]
    found = best_or_thresholds(np.array(x), np.array(y), np.array(gain))
    assert found.exact
    assert found.gain == pytest.approx(brute_or(x, y, gain), abs=1e-9)
    # the reported thresholds really achieve the reported gain
    achieved = sum(
        g
        for a, b, g in zip(x, y, gain, strict=True)
        if a > found.x_threshold or b > found.y_threshold
    )
    assert achieved == pytest.approx(found.gain, abs=1e-9)


def test_kernel_all_positive_gains_fire_everything_and_negative_nothing():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.1, 0.2])
    always = best_or_thresholds(x, y, np.array([1.0, 2.0, 3.0]))
    assert always.gain == pytest.approx(6.0)
    assert ((x > always.x_threshold) | (y > always.y_threshold)).all()
    # ties go to the rule that reads simplest: never by days, always by benefit
    assert (always.x_threshold, always.y_threshold) == (np.inf, -np.inf)
    never = best_or_thresholds(x, y, np.array([-1.0, -2.0, -3.0]))
    assert never.gain == 0.0
    assert (never.x_threshold, never.y_threshold) == (np.inf, np.inf)


def test_kernel_quantile_grid_is_consistent_and_never_beats_the_exact_search():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1000, 3000), rng.normal(0, 1, 3000)
    gain = np.where(x + 300 * y > 700, 1.0, -1.0) * rng.uniform(0.5, 2, 3000)
    exact = best_or_thresholds(x, y, gain, max_candidates=10_000)
    grid = best_or_thresholds(x, y, gain, max_candidates=16)
    assert exact.exact and not grid.exact
    assert grid.gain <= exact.gain + 1e-9
    fired = (x > grid.x_threshold) | (y > grid.y_threshold)
    assert gain[fired].sum() == pytest.approx(grid.gain)
    assert grid.gain > 0  # a coarse grid still finds a useful rule here


# --------------------------------------------------------------------------------------------
# Rules on decision problems
# --------------------------------------------------------------------------------------------
def test_benefit_matches_hand_calculation():
    params = make_params(30, seed=1)
    problem = build_problem(params, ECONOMY, THESIS_ACTIONS)
    for action, proceeds, transport in (
        ("return", "return_price", "return_cost"),
        ("liquidate", "liquidation_price", "liquidation_cost"),
    ):
        got = clearing_benefit(problem, action)
        want = benefit_by_hand(params, proceeds, transport)
        ok = ~np.isnan(want)
        np.testing.assert_allclose(got[ok], np.asarray(want)[ok], rtol=1e-12)


@pytest.mark.parametrize("action", ["return", "liquidate"])
def test_single_rule_equals_brute_force_over_all_threshold_pairs(action):
    params = make_params(40, seed=7, eligible_share=1.0)
    actions = ("keep", action)
    problem = build_problem(params, ECONOMY, actions)
    solution = solve(problem)
    rules = learn_threshold_rules(problem, solution)
    assert [r.action for r in rules.rules] == [action]
    j = ACTIONS.index(action)
    proceeds, transport = (
        ("return_price", "return_cost")
        if action == "return"
        else ("liquidation_price", "liquidation_cost")
    )
    days = params["expected_days_in_stock"].to_list()
    benefit = benefit_by_hand(params, proceeds, transport)
    best = math.inf
    for t1 in candidate_thresholds(days):
        for t2 in candidate_thresholds(benefit):
            total = sum(
                problem.cost[i, j] if (days[i] > t1 or benefit[i] > t2) else problem.cost[i, KEEP]
                for i in range(problem.n)
            )
            best = min(best, total)
    assert rules.total_cost == pytest.approx(best, rel=1e-12)
    assert rules.loss >= -1e-9
    assert rules.loss == pytest.approx(rules.total_cost - solution.objective)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_rule_set_is_optimal_in_each_rule_given_the_others(seed):
    """No brute-force change of one rule's (T, T') pair lowers the total cost."""
    params = make_params(24, seed=seed)
    problem = build_problem(params, ECONOMY, THESIS_ACTIONS)
    solution = solve(problem)
    rules = learn_threshold_rules(problem, solution)
    assert [r.action for r in rules.rules] == ["return", "liquidate"]
    found = [
        rules.rules[0].days_threshold,
        rules.rules[0].benefit_threshold,
        rules.rules[1].days_threshold,
        rules.rules[1].benefit_threshold,
    ]
    assert rule_cost_by_hand(problem, params, found) == pytest.approx(rules.total_cost)
    assert rules.total_cost == pytest.approx(evaluate(problem, rules.choice).total_cost)
    assert rules.loss >= -1e-9  # the optimum is never beaten
    days = params["expected_days_in_stock"].to_list()
    br = benefit_by_hand(params, "return_price", "return_cost")
    bl = benefit_by_hand(params, "liquidation_price", "liquidation_cost")
    for stage, benefit in ((0, br), (1, bl)):
        best = math.inf
        for pair in itertools.product(candidate_thresholds(days), candidate_thresholds(benefit)):
            trial = list(found)
            trial[2 * stage : 2 * stage + 2] = pair
            best = min(best, rule_cost_by_hand(problem, params, trial))
        assert rules.total_cost <= best + 1e-9 * abs(best)


def test_joint_brute_force_never_beats_optimum_and_bounds_the_rules():
    params = make_params(10, seed=11)
    problem = build_problem(params, ECONOMY, THESIS_ACTIONS)
    solution = solve(problem)
    rules = learn_threshold_rules(problem, solution)
    days = params["expected_days_in_stock"].to_list()
    br = candidate_thresholds(benefit_by_hand(params, "return_price", "return_cost"))
    bl = candidate_thresholds(benefit_by_hand(params, "liquidation_price", "liquidation_cost"))
    cut = candidate_thresholds(days)
    joint = min(rule_cost_by_hand(problem, params, t) for t in itertools.product(cut, br, cut, bl))
    assert solution.objective <= joint + 1e-9
    assert joint <= rules.total_cost + 1e-9
    assert rules.total_cost <= rule_cost_by_hand(problem, params, [math.inf] * 4) + 1e-9


def test_rules_reproduce_an_optimum_that_is_a_threshold_in_days():
    """Identical SKUs but for De: keeping costs more the longer, so the optimum clears above a
    day threshold and the rule finds it with zero loss."""
    n = 12
    days = np.linspace(100, 1100, n)
    params = pl.DataFrame(
        {
            "sku": [f"A{i}" for i in range(n)],
            "excess_units": np.full(n, 10.0),
            "price": np.full(n, 20.0),
            "unit_cost": np.full(n, 10.0),
            "expected_days_in_stock": days,
            "holding_cost_per_day": np.full(n, 0.02),
            "financed_now": np.ones(n),
            "liquidation_price": np.full(n, 4.0),
        }
    )
    problem = build_problem(params, ECONOMY, THESIS_ACTIONS)
    solution = solve(problem)
    chosen = solution.choice
    assert (chosen == KEEP).any() and (chosen == LIQUIDATE).any()
    rules = learn_threshold_rules(problem, solution)
    assert rules.loss == pytest.approx(0.0, abs=1e-9)
    assert rules.agreement == 1.0
    assert rules.agreement_units == 1.0
    (rule,) = rules.rules
    assert rule.skus == int((chosen == LIQUIDATE).sum())
    assert rule.agreement == 1.0
    assert (
        rule.fires(days, clearing_benefit(problem, "liquidate")).tolist()
        == (chosen == LIQUIDATE).tolist()
    )


def test_fixed_skus_keep_their_only_action():
    params = make_params(30, seed=5)
    skus = params["sku"].to_list()
    liquidatable = [
        s for s, p in zip(skus, params["liquidation_price"], strict=True) if not math.isnan(p)
    ]
    constraints = Constraints(keep_skus=(skus[0], skus[1]), forced={liquidatable[2]: "liquidate"})
    problem = build_problem(params, ECONOMY, THESIS_ACTIONS, constraints)
    rules = learn_threshold_rules(problem, solve(problem))
    assert rules.fixed_skus == 3
    assert rules.choice[0] == KEEP and rules.choice[1] == KEEP
    assert rules.choice[skus.index(liquidatable[2])] == LIQUIDATE
    assert rules.feasible


def test_coupled_problem_is_evaluated_with_feasibility():
    params = make_params(20, seed=9)
    problem = build_problem(params, ECONOMY, THESIS_ACTIONS, Constraints(capacity_units=0.0))
    # a feasible plan by hand: clear everything with the cheaper clearing action
    cost = problem.cost
    choice = np.where(cost[:, RETURN] < cost[:, LIQUIDATE], RETURN, LIQUIDATE).astype(np.int64)
    objective = evaluate(problem, choice).total_cost
    solution = Solution(choice, objective, objective, 0.0, "by-hand")
    rules = learn_threshold_rules(problem, solution)
    check = evaluate(problem, rules.choice)
    assert rules.feasible == check.feasible
    assert rules.violations == check.violations
    kept = problem.units[rules.choice == KEEP].sum()
    assert rules.feasible == (kept == 0)
    if kept > 0:
        assert rules.violations["capacity_units"] == pytest.approx(kept)


def test_apply_rules_reproduces_the_plan_and_describe_reads_well():
    params = make_params(50, seed=4)
    problem = build_problem(params, ECONOMY, THESIS_ACTIONS)
    rules = learn_threshold_rules(problem, solve(problem))
    np.testing.assert_array_equal(apply_rules(problem, rules.rules), rules.choice)
    lines = rules.describe()
    assert lines[-1] == "otherwise keep"
    assert lines[0].startswith("return ")
    frame = rules.frame()
    assert frame["action"].to_list() == ["return", "liquidate"]
    assert frame["skus"].sum() == int((rules.choice != KEEP).sum())
    assert ThresholdRule("return", np.inf, np.inf).describe() == "return never"
    assert ThresholdRule("return", -np.inf, 0.1).describe() == "return always (where allowed)"
    text = ThresholdRule("liquidate", 365.0, -0.25).describe()
    assert text == (
        "liquidate if expected days in stock > 365.0 days or liquidate benefit > -25.0% of the "
        "discounted sale"
    )


def test_unknown_rule_action_is_a_config_error():
    params = make_params(5, seed=0)
    problem = build_problem(params, ECONOMY, THESIS_ACTIONS)
    with pytest.raises(ConfigError, match="not clearing actions"):
        learn_threshold_rules(problem, solve(problem), actions=("keep",))
