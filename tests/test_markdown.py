"""Markdown valuation: the ladder DP against brute force, Monte-Carlo simulation and hand cases."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deadstock.pricing.markdown import (
    CASCADE_LEVELS,
    allowed_levels,
    ladder_policy,
    markdown_unit_costs,
    regular_values,
    solve_markdown,
    weekly_demand,
)

RATE = 0.00086  # thesis Re [1/day]


def _inputs(n, rng, weeks=8, levels=CASCADE_LEVELS, max_stock=40):
    stock = rng.integers(1, max_stock, n)
    excess = np.minimum(stock, rng.integers(1, max_stock, n))
    lam = rng.uniform(0.0, 0.6, n)
    lam[rng.random(n) < 0.2] = 0.0
    eps = rng.uniform(-4.0, -0.3, n)
    price = rng.uniform(5.0, 40.0, n)
    cost = price * rng.uniform(0.3, 0.9, n)
    levels = np.asarray(levels)
    return dict(
        stock=stock,
        regular=stock - excess,
        base_daily=lam,
        demand=weekly_demand(levels, lam, eps, stock, 0.08, 0.5),
        price=price,
        carry_daily=rng.uniform(0.0, 0.05, n),
        clear_value=price * rng.uniform(0.0, 0.3, n),
        allowed=allowed_levels(levels, price, cost, 0.5, -0.5),
        daily_rate=RATE,
        weeks=weeks,
    )


def _pick(inputs, i):
    return {k: (v[i : i + 1] if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}


def _poisson(mu, k):
    return math.exp(-mu) * mu**k / math.factorial(k) if mu > 0 else float(k == 0)


def _regular_value_direct(n, lam, price, carry, rate):
    """Σ_{k=1..n} [P z^k − c (1 − z^k)/ρ], summed term by term."""
    rho = math.log1p(rate)
    z = lam / (lam + rho)
    return sum(price * z**k - carry * (1 - z**k) / rho for k in range(1, n + 1))


def _brute_force(levels, inp, i):
    """Expectimax over the decision tree, plain Python, exact Poisson probabilities."""
    weeks = inp["weeks"]
    q = 1.0 / (1.0 + RATE)
    stock, regular = int(inp["stock"][i]), int(inp["regular"][i])
    lam, price = float(inp["base_daily"][i]), float(inp["price"][i])
    if lam == 0:
        regular = 0
    carry, clear = float(inp["carry_daily"][i]), float(inp["clear_value"][i])
    allowed = inp["allowed"][i]
    demand = np.where(allowed, inp["demand"][i], 0.0)

    def salvage(s):
        kept = min(s, regular)
        return _regular_value_direct(kept, lam, price, carry, RATE) + (s - kept) * clear

    @cache
    def value(w, s, level_in):
        if w == weeks:
            return q ** (7 * weeks) * salvage(s)
        rf = q ** (7 * w + 3.5)
        cf = sum(q**t for t in range(7 * w, 7 * w + 7))
        best = -math.inf
        for level in range(level_in, len(levels)):
            if not allowed[level]:
                continue
            mu, unit = float(demand[level]), price * (1 - levels[level])
            total, below = 0.0, 0.0
            for k in range(s):
                p = _poisson(mu, k)
                below += p
                total += p * (unit * k * rf - carry * cf * (s - k / 2) + value(w + 1, s - k, level))
            total += (1 - below) * (unit * s * rf - carry * cf * s / 2 + value(w + 1, 0, level))
            best = max(best, total)
        return best

    return value(0, stock, 0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_ladder_dp_equals_brute_force_on_small_instances(seed):
    rng = np.random.default_rng(seed)
    levels = np.array([0.0, 0.2, 0.45])
    inp = _inputs(4, rng, weeks=3, levels=levels, max_stock=7)
    result = solve_markdown(levels, **inp)
    for i in range(4):
        assert result.value[i] == pytest.approx(_brute_force(levels, inp, i), rel=1e-9, abs=1e-9)


def test_forward_pass_parts_add_up_to_the_dp_value():
    inp = _inputs(200, np.random.default_rng(3))
    r = solve_markdown(np.array(CASCADE_LEVELS), **inp)
    np.testing.assert_allclose(r.revenue - r.carrying + r.salvage, r.value, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(r.units_sold + r.leftover, inp["stock"], rtol=1e-9)
    assert (r.markdown_spend >= -1e-12).all()


def _simulate(levels, inp, i, policy, paths, rng):
    """Monte-Carlo of the demand model under a closed-loop policy (array over paths)."""
    weeks = inp["weeks"]
    q = 1.0 / (1.0 + RATE)
    stock, regular = int(inp["stock"][i]), int(inp["regular"][i])
    lam, price = float(inp["base_daily"][i]), float(inp["price"][i])
    carry, clear = float(inp["carry_daily"][i]), float(inp["clear_value"][i])
    demand = np.where(inp["allowed"][i], inp["demand"][i], 0.0)
    cap = policy.shape[1] - 1
    s = np.full(paths, stock)
    level = np.zeros(paths, dtype=np.int64)
    total = np.zeros(paths)
    for w in range(weeks):
        level = policy[w, np.minimum(s, cap), level].astype(np.int64)
        sold = np.minimum(rng.poisson(demand[level]), s)
        cf = sum(q**t for t in range(7 * w, 7 * w + 7))
        total += price * (1 - levels[level]) * sold * q ** (7 * w + 3.5)
        total -= carry * cf * (s - sold / 2)
        s = s - sold
    kept = np.minimum(s, regular)
    # regular units after the ladder: each sells at the k-th arrival of a Poisson process
    rho = math.log1p(RATE)
    reg = np.zeros(paths)
    if lam > 0 and kept.max() > 0:
        arrivals = np.cumsum(rng.exponential(1 / lam, (paths, int(kept.max()))), axis=1)
        live = np.arange(arrivals.shape[1])[None, :] < kept[:, None]
        unit = price * np.exp(-rho * arrivals) - carry * (-np.expm1(-rho * arrivals)) / rho
        reg = (unit * live).sum(axis=1)
    total += q ** (7 * weeks) * (reg + (s - kept) * clear)
    return total


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_ladder_value_matches_monte_carlo_of_its_policy(seed):
    rng = np.random.default_rng(seed)
    levels = np.array(CASCADE_LEVELS)
    inp = _inputs(6, rng, max_stock=60)
    inp["base_daily"] = np.maximum(inp["base_daily"], 0.05)
    result = solve_markdown(levels, **inp)
    for i in range(6):
        value, policy = ladder_policy(i, levels, **inp)
        assert value == pytest.approx(result.value[i], rel=1e-12)
        draws = _simulate(levels, inp, i, policy, 40_000, rng)
        se = draws.std() / math.sqrt(len(draws))
        assert abs(draws.mean() - value) < 4.5 * se + 1e-9, (i, draws.mean(), value, se)


def test_regular_value_matches_the_term_by_term_sum_and_monte_carlo():
    units = np.array([0, 1, 5, 40])
    lam, price, carry = np.full(4, 0.3), np.full(4, 12.0), np.full(4, 0.02)
    got = regular_values(units, lam, price, carry, RATE)
    direct = [_regular_value_direct(int(n), 0.3, 12.0, 0.02, RATE) for n in units]
    np.testing.assert_allclose(got, direct, rtol=1e-10, atol=1e-12)
    rng = np.random.default_rng(5)
    arrivals = np.cumsum(rng.exponential(1 / 0.3, (200_000, 5)), axis=1)
    rho = math.log1p(RATE)
    draws = (price[0] * np.exp(-rho * arrivals) - carry[0] * -np.expm1(-rho * arrivals) / rho).sum(
        1
    )
    assert abs(draws.mean() - got[2]) < 4 * draws.std() / math.sqrt(len(draws))


def test_without_price_response_the_ladder_never_discounts():
    rng = np.random.default_rng(7)
    levels = np.array(CASCADE_LEVELS)
    inp = _inputs(100, rng)
    inp["base_daily"] = np.maximum(inp["base_daily"], 0.1)
    inp["demand"] = weekly_demand(levels, inp["base_daily"], np.zeros(100), inp["stock"], 0.0, 0.5)
    r = solve_markdown(levels, **inp)
    assert (r.path == 0).all()
    assert (r.markdown_spend == 0).all()


def test_levels_outside_the_floor_and_maximum_are_never_used():
    rng = np.random.default_rng(8)
    levels = np.array(CASCADE_LEVELS)
    inp = _inputs(300, rng)
    price = inp["price"]
    inp["allowed"] = allowed_levels(levels, price, price * 0.8, 0.25, 0.0)
    r = solve_markdown(levels, **inp)
    used = np.take_along_axis(inp["allowed"], r.path.astype(np.int64), axis=1)
    assert used.all()
    assert (r.path <= 2).all()  # 50 % is above the maximum discount


def test_allowed_levels_margin_floor():
    ok = allowed_levels(np.array([0.0, 0.2, 0.5]), np.array([10.0]), np.array([6.0]), 0.5, 0.0)
    # 10·0.8 = 8 ≥ 6 keeps a margin; 10·0.5 = 5 < 6 does not
    assert ok.tolist() == [[True, True, False]]
    ok = allowed_levels(np.array([0.0, 0.5]), np.array([10.0]), np.array([6.0]), 0.5, -0.25)
    # margin (5 − 6)/5 = −0.2 ≥ −0.25
    assert ok.tolist() == [[True, True]]


def test_nothing_sells_without_demand_or_prior():
    """λ = 0 and no prior: carry every unit through the ladder, then clear it."""
    weeks, stock, carry, clear = 8, 10, 0.03, 2.5
    levels = np.array(CASCADE_LEVELS)
    r = solve_markdown(
        levels,
        stock=np.array([stock]),
        regular=np.array([0]),
        base_daily=np.array([0.0]),
        demand=weekly_demand(levels, np.zeros(1), np.array([-2.0]), np.array([stock]), 0.0, 0.5),
        price=np.array([20.0]),
        carry_daily=np.array([carry]),
        clear_value=np.array([clear]),
        allowed=np.ones((1, 4), dtype=bool),
        daily_rate=RATE,
        weeks=weeks,
    )
    q = 1 / (1 + RATE)
    expected = (
        -carry * stock * sum(q**t for t in range(7 * weeks)) + q ** (7 * weeks) * stock * clear
    )
    assert r.value[0] == pytest.approx(expected, rel=1e-12)
    assert r.units_sold[0] == 0 and r.leftover[0] == stock


def test_prior_response_sells_only_when_discounted():
    levels = np.array(CASCADE_LEVELS)
    demand = weekly_demand(levels, np.zeros(1), np.array([-2.0]), np.array([40]), 0.1, 0.5)
    assert demand[0, 0] == 0.0
    assert demand[0, 3] == pytest.approx(0.1 * 40)
    assert 0 < demand[0, 1] < demand[0, 2] < demand[0, 3]


def test_large_stock_beyond_the_state_cap_is_exact():
    """Above the cap extra units add a constant each: compare with a stock just at the cap."""
    levels = np.array(CASCADE_LEVELS)
    base = dict(
        regular=np.array([20]),
        base_daily=np.array([0.2]),
        price=np.array([15.0]),
        carry_daily=np.array([0.01]),
        clear_value=np.array([1.5]),
        allowed=np.ones((1, 4), dtype=bool),
        daily_rate=RATE,
        weeks=8,
    )
    dem = weekly_demand(levels, np.array([0.2]), np.array([-2.5]), np.array([0]), 0.0, 0.5)
    small = solve_markdown(levels, stock=np.array([400]), demand=dem, **base)
    big = solve_markdown(levels, stock=np.array([5000]), demand=dem, **base)
    q = 1 / (1 + RATE)
    slope = -0.01 * sum(q**t for t in range(56)) + q**56 * 1.5
    assert big.value[0] == pytest.approx(small.value[0] + 4600 * slope, rel=1e-10)
    assert big.path.tolist() == small.path.tolist()


def test_single_level_is_never_better_than_the_ladder():
    rng = np.random.default_rng(9)
    levels = np.array(CASCADE_LEVELS)
    inp = _inputs(200, rng)
    ladder = solve_markdown(levels, **inp)
    for j in range(1, 4):
        one = dict(inp, demand=inp["demand"][:, [j]], allowed=inp["allowed"][:, [j]])
        single = solve_markdown(levels[[j]], **one)
        ok = inp["allowed"][:, j]
        # a constant level from week 0 is one of the ladder's policies
        assert (single.value[ok] <= ladder.value[ok] + 1e-9).all()


def test_thesis_frame_costs_add_up():
    rng = np.random.default_rng(10)
    inp = _inputs(50, rng)
    r = solve_markdown(np.array(CASCADE_LEVELS), **inp)
    excess = inp["stock"] - inp["regular"]
    de = rng.uniform(90, 1095, 50)
    parts = markdown_unit_costs(r, excess, inp["price"], de, RATE)
    total = parts["lost_sale"] + parts["carrying"] + parts["recovery"]
    regular = np.where(inp["base_daily"] > 0, inp["regular"], 0)
    reg = regular_values(regular, inp["base_daily"], inp["price"], inp["carry_daily"], RATE)
    expected = inp["price"] * (1 + RATE) ** -de - (r.value - reg) / excess
    np.testing.assert_allclose(total, expected, rtol=1e-9)


def test_schedule_text():
    levels = np.array(CASCADE_LEVELS)
    from deadstock.pricing.markdown import LadderResult

    z = np.zeros(1)
    r = LadderResult(levels, z, z, z, z, z, z, z, z, np.array([[1, 1, 2, 3, 3, 3]], dtype=np.int8))
    assert r.schedule() == ["15% w1-2, 25% w3, 50% w4-6"]
    assert r.first_discount.tolist() == [0.15]


def test_single_step_closed_form_equals_the_dp_with_one_level():
    """Cumulative-demand closed form vs the stock-state DP restricted to that level."""
    from deadstock.pricing.markdown import single_step

    rng = np.random.default_rng(21)
    levels = np.array([0.0, 0.1, 0.3, 0.5])
    inp = _inputs(150, rng, max_stock=50)
    best = single_step(levels, **inp)
    values = np.full((150, 4), -np.inf)
    for j in range(1, 4):
        one = dict(inp, demand=inp["demand"][:, [j]], allowed=np.ones((150, 1), dtype=bool))
        values[:, j] = np.where(
            inp["allowed"][:, j], solve_markdown(levels[[j]], **one).value, -np.inf
        )
    some = np.isfinite(values).any(axis=1)
    np.testing.assert_allclose(best.value[some], values[some].max(axis=1), rtol=1e-9, atol=1e-9)
    assert np.isnan(best.value[~some]).all()
    chosen = best.path[some, 0]
    np.testing.assert_allclose(values[some, chosen], best.value[some], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        best.revenue[some] - best.carrying[some] + best.salvage[some], best.value[some], rtol=1e-9
    )


@pytest.mark.parametrize("seed", [31, 32])
def test_single_step_matches_monte_carlo(seed):
    from deadstock.pricing.markdown import single_step

    rng = np.random.default_rng(seed)
    levels = np.array([0.0, 0.25])
    inp = _inputs(4, rng, levels=levels, max_stock=50)
    inp["allowed"] = np.ones((4, 2), dtype=bool)
    inp["base_daily"] = np.maximum(inp["base_daily"], 0.05)
    best = single_step(levels, **inp)
    for i in range(4):
        policy = np.ones((inp["weeks"], int(inp["stock"][i]) + 1, 2), dtype=np.int8)
        draws = _simulate(levels, inp, i, policy, 40_000, rng)
        se = draws.std() / math.sqrt(len(draws))
        assert abs(draws.mean() - best.value[i]) < 4.5 * se + 1e-9
