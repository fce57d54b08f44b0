"""Numba kernel of the markdown dynamic programme (arrays in, arrays out; API in ``markdown``).

One SKU-location at a time (SKUs run in parallel): weekly periods w = 0..W−1, stock s ∈ 0..cap,
the level in force l. Demand in a week at level l is Poisson(μ_l); sales are min(D, s) (lost
sales, no replenishment). Backward induction over weeks with the monotone constraint (the next
level is never shallower) gives the optimal closed-loop ladder (Bitran & Mondschein 1997,
"Periodic pricing of seasonal products in retailing", Management Science 43(1); Gallego & van
Ryzin 1994); a forward pass of the state distribution under that policy gives the expected
revenue, carrying cost, units sold and salvage. Timing conventions are documented in
:mod:`deadstock.pricing.markdown`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

#: Poisson probabilities below this fraction of the mode's are dropped (the window is renormalised).
PMF_RELATIVE_CUTOFF = 1e-17


@njit(cache=True)
def poisson_window(mu: float) -> tuple[int, np.ndarray]:
    """(k_min, pmf over k_min..k_max) of Poisson(mu), renormalised [-]."""
    if mu <= 0.0:
        return 0, np.ones(1)
    mode = math.floor(mu)
    log_mode = mode * math.log(mu) - mu - math.lgamma(mode + 1.0)
    # walk down and up from the mode in log space until the mass is negligible
    lo = mode
    log_p = log_mode
    while lo > 0:
        log_next = log_p + math.log(lo / mu)
        if log_next - log_mode < math.log(PMF_RELATIVE_CUTOFF):
            break
        log_p = log_next
        lo -= 1
    hi = mode
    log_p = log_mode
    while True:
        log_next = log_p + math.log(mu / (hi + 1.0))
        if log_next - log_mode < math.log(PMF_RELATIVE_CUTOFF):
            break
        log_p = log_next
        hi += 1
    pmf = np.empty(hi - lo + 1)
    pmf[mode - lo] = 1.0
    for k in range(mode - 1, lo - 1, -1):
        pmf[k - lo] = pmf[k + 1 - lo] * (k + 1.0) / mu
    for k in range(mode + 1, hi + 1):
        pmf[k - lo] = pmf[k - 1 - lo] * mu / k
    pmf /= pmf.sum()
    return lo, pmf


@njit(cache=True)
def regular_value(units: int, base_daily: float, price: float, carry: float, rho: float) -> float:
    """PV of ``units`` sold one by one at full price by a Poisson process [currency].

    Unit k sells at the k-th arrival T_k ~ Gamma(k, λ): E[e^{−ρT_k}] = z^k with z = λ/(λ+ρ), and
    carrying it until then costs c·(1 − z^k)/ρ, so the value is Σ_{k=1..n} [Ps·z^k − c(1 − z^k)/ρ].
    """
    if units <= 0:
        return 0.0
    if base_daily <= 0.0:  # never sells: carried for ever
        return -carry * units / rho if rho > 0.0 else -math.inf
    if rho <= 0.0:  # undiscounted: E[T_k] = k/λ
        return price * units - carry * units * (units + 1.0) / (2.0 * base_daily)
    z = base_daily / (base_daily + rho)
    geometric = z * (1.0 - z**units) / (1.0 - z) if z < 1.0 else float(units)
    return price * geometric - carry * (units - geometric) / rho


@njit(cache=True)
def _salvage(
    leftover: int,
    regular: int,
    base_daily: float,
    price: float,
    carry: float,
    rho: float,
    clear: float,
) -> float:
    """Value at the end of the ladder of ``leftover`` units [currency]: up to ``regular`` units go
    back to regular sale at full price, the rest to the best clearance action at ``clear`` each."""
    kept = min(leftover, regular)
    return regular_value(kept, base_daily, price, carry, rho) + (leftover - kept) * clear


@njit(cache=True)
def _one_sku(
    stock: int,
    cap: int,
    regular: int,
    base_daily: float,
    price: float,
    carry: float,
    clear: float,
    weekly_demand: np.ndarray,
    unit_revenue: np.ndarray,
    allowed: np.ndarray,
    revenue_factor: np.ndarray,
    carry_factor: np.ndarray,
    end_factor: float,
    rho: float,
    out_value: np.ndarray,
    out_parts: np.ndarray,
    out_path: np.ndarray,
    policy: np.ndarray,
) -> None:
    """Solve one SKU; write its value, expected parts, expected-path levels and the policy
    [week, stock 0..cap, level in force] → level into the given arrays."""
    n_levels = weekly_demand.shape[0]
    weeks = revenue_factor.shape[0]
    lows = np.zeros(n_levels, dtype=np.int64)
    widths = np.zeros(n_levels, dtype=np.int64)
    max_width = 1
    for level in range(n_levels):
        lo, pmf = poisson_window(weekly_demand[level])
        lows[level] = lo
        widths[level] = pmf.shape[0]
        max_width = max(max_width, pmf.shape[0])
    pmfs = np.zeros((n_levels, max_width))
    # upper tail P(D ≥ s) of each level for s = 0..cap (+1 spare)
    tails = np.zeros((n_levels, cap + 2))
    for level in range(n_levels):
        lo, pmf = poisson_window(weekly_demand[level])
        pmfs[level, : pmf.shape[0]] = pmf
        for s in range(cap + 2):
            total = 0.0
            for j in range(pmf.shape[0]):
                if lo + j >= s:
                    total += pmf[j]
            tails[level, s] = total

    # expected sales E[min(D, s)] per level and stock
    sold = np.zeros((n_levels, cap + 1))
    for level in range(n_levels):
        lo = lows[level]
        for s in range(cap + 1):
            total = 0.0
            for j in range(widths[level]):
                k = lo + j
                if k >= s:
                    break
                total += pmfs[level, j] * k
            sold[level, s] = total + s * tails[level, s]

    nxt = np.empty((cap + 1, n_levels))  # V_{w+1}(s, level in force)
    for s in range(cap + 1):
        end = end_factor * _salvage(s, regular, base_daily, price, carry, rho, clear)
        for level in range(n_levels):
            nxt[s, level] = end
    cur = np.empty((cap + 1, n_levels))
    choice_value = np.empty(n_levels)
    for w in range(weeks - 1, -1, -1):
        for s in range(cap + 1):
            for level in range(n_levels):
                if not allowed[level]:
                    choice_value[level] = -math.inf
                    continue
                lo = lows[level]
                expected_next = tails[level, s] * nxt[0, level]
                for j in range(widths[level]):
                    k = lo + j
                    if k >= s:
                        break
                    expected_next += pmfs[level, j] * nxt[s - k, level]
                e_sold = sold[level, s]
                choice_value[level] = (
                    unit_revenue[level] * revenue_factor[w] * e_sold
                    - carry * carry_factor[w] * (s - 0.5 * e_sold)
                    + expected_next
                )
            # the best level at or deeper than the one in force: a running max from the deepest
            best = -math.inf
            best_level = n_levels - 1
            for level in range(n_levels - 1, -1, -1):
                if choice_value[level] >= best:
                    best = choice_value[level]
                    best_level = level
                cur[s, level] = best
                policy[w, s, level] = best_level
        nxt, cur = cur, nxt

    extra = stock - cap  # units beyond the cap never sell in the ladder: carried, then cleared
    tail_slope = -carry * carry_factor.sum() + end_factor * clear
    out_value[0] = nxt[cap, 0] + extra * tail_slope

    # forward pass of the state distribution under the policy
    dist = np.zeros((cap + 1, n_levels))
    new = np.zeros((cap + 1, n_levels))
    dist[cap, 0] = 1.0
    revenue = 0.0
    carrying = 0.0
    units_sold = 0.0
    markdown_spend = 0.0
    for w in range(weeks):
        new[:, :] = 0.0
        for s in range(cap + 1):
            for level_in in range(n_levels):
                mass = dist[s, level_in]
                if mass == 0.0:
                    continue
                level = policy[w, s, level_in]
                e_sold = sold[level, s]
                revenue += mass * unit_revenue[level] * revenue_factor[w] * e_sold
                markdown_spend += mass * (price - unit_revenue[level]) * e_sold
                carrying += mass * carry * carry_factor[w] * (s + extra - 0.5 * e_sold)
                units_sold += mass * e_sold
                lo = lows[level]
                new[0, level] += mass * tails[level, s]
                for j in range(widths[level]):
                    k = lo + j
                    if k >= s:
                        break
                    new[s - k, level] += mass * pmfs[level, j]
        dist, new = new, dist
    salvage = 0.0
    leftover = 0.0
    for s in range(cap + 1):
        mass = 0.0
        for level in range(n_levels):
            mass += dist[s, level]
        salvage += mass * _salvage(s, regular, base_daily, price, carry, rho, clear)
        leftover += mass * s
    salvage = end_factor * salvage + end_factor * extra * clear
    out_parts[0] = revenue
    out_parts[1] = carrying
    out_parts[2] = salvage
    out_parts[3] = units_sold
    out_parts[4] = leftover + extra
    out_parts[5] = markdown_spend

    # the planned schedule: the policy along the expected-sales trajectory
    s = cap
    level = 0
    for w in range(weeks):
        level = policy[w, s, level]
        out_path[w] = level
        s = max(0, s - math.floor(sold[level, s] + 0.5))


@njit(cache=True, parallel=True)
def solve_ladders(
    stock: np.ndarray,
    cap: np.ndarray,
    regular: np.ndarray,
    base_daily: np.ndarray,
    price: np.ndarray,
    carry: np.ndarray,
    clear: np.ndarray,
    weekly_demand: np.ndarray,
    unit_revenue: np.ndarray,
    allowed: np.ndarray,
    revenue_factor: np.ndarray,
    carry_factor: np.ndarray,
    end_factor: float,
    rho: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve every SKU; returns value [n], parts [n, 6] and expected-path levels [n, W]."""
    n = stock.shape[0]
    weeks = revenue_factor.shape[0]
    value = np.zeros(n)
    parts = np.zeros((n, 6))
    path = np.zeros((n, weeks), dtype=np.int8)
    for i in prange(n):
        _one_sku(
            stock[i],
            cap[i],
            regular[i],
            base_daily[i],
            price[i],
            carry[i],
            clear[i],
            weekly_demand[i],
            unit_revenue[i],
            allowed[i],
            revenue_factor,
            carry_factor,
            end_factor,
            rho,
            value[i : i + 1],
            parts[i],
            path[i],
            np.zeros((weeks, cap[i] + 1, weekly_demand.shape[1]), dtype=np.int8),
        )
    return value, parts, path


@njit(cache=True)
def solve_one_policy(
    stock: int,
    cap: int,
    regular: int,
    base_daily: float,
    price: float,
    carry: float,
    clear: float,
    weekly_demand: np.ndarray,
    unit_revenue: np.ndarray,
    allowed: np.ndarray,
    revenue_factor: np.ndarray,
    carry_factor: np.ndarray,
    end_factor: float,
    rho: float,
) -> tuple[float, np.ndarray]:
    """One SKU's value and its policy [week, stock 0..cap, level in force] (for simulation)."""
    weeks = revenue_factor.shape[0]
    value = np.zeros(1)
    policy = np.zeros((weeks, cap + 1, weekly_demand.shape[0]), dtype=np.int8)
    _one_sku(
        stock,
        cap,
        regular,
        base_daily,
        price,
        carry,
        clear,
        weekly_demand,
        unit_revenue,
        allowed,
        revenue_factor,
        carry_factor,
        end_factor,
        rho,
        value,
        np.zeros(6),
        np.zeros(weeks, dtype=np.int8),
        policy,
    )
    return value[0], policy


@njit(cache=True)
def _expected_min(lo: int, pmf: np.ndarray, m: int) -> float:
    """E[min(N, m)] for N with probabilities ``pmf`` on lo, lo+1, … [units]."""
    total = 0.0
    above = 0.0
    for j in range(pmf.shape[0]):
        k = lo + j
        if k < m:
            total += pmf[j] * k
        else:
            above += pmf[j]
    return total + m * above


@njit(cache=True, parallel=True)
def constant_levels(
    stock: np.ndarray,
    regular: np.ndarray,
    base_daily: np.ndarray,
    price: np.ndarray,
    carry: np.ndarray,
    clear: np.ndarray,
    weekly_demand: np.ndarray,
    unit_revenue: np.ndarray,
    revenue_factor: np.ndarray,
    carry_factor: np.ndarray,
    end_factor: float,
    rho: float,
) -> np.ndarray:
    """Each level held from week 0 to W, by cumulative demand [SKU × level × part].

    With one price and no replenishment, units sold by the end of week w are min(N(wμ), Q) with
    N(wμ) ~ Poisson(wμ), so every expectation is a sum over one Poisson window per week (no stock
    states). Parts: value, revenue, carrying, salvage, units sold, markdown spend.
    """
    n, n_levels = weekly_demand.shape
    weeks = revenue_factor.shape[0]
    out = np.zeros((n, n_levels, 6))
    for i in prange(n):
        q_units = stock[i]
        reg = regular[i]
        for level in range(n_levels):
            mu = weekly_demand[i, level]
            before = 0.0
            revenue = 0.0
            carrying = 0.0
            for w in range(weeks):
                lo, pmf = poisson_window((w + 1) * mu)
                after = _expected_min(lo, pmf, q_units)
                sold = after - before
                revenue += unit_revenue[i, level] * revenue_factor[w] * sold
                carrying += carry[i] * carry_factor[w] * (q_units - 0.5 * (before + after))
                before = after
            # leftover L = max(Q − N, 0): linear in L above the regular units, V_reg below
            lo, pmf = poisson_window(weeks * mu)
            linear_top = q_units - reg
            salvage = 0.0
            regular_all = regular_value(reg, base_daily[i], price[i], carry[i], rho)
            for j in range(pmf.shape[0]):
                k = lo + j
                if k <= linear_top:
                    salvage += pmf[j] * (regular_all + (linear_top - k) * clear[i])
                else:
                    left = max(q_units - k, 0)
                    salvage += pmf[j] * regular_value(left, base_daily[i], price[i], carry[i], rho)
            salvage *= end_factor
            out[i, level, 0] = revenue - carrying + salvage
            out[i, level, 1] = revenue
            out[i, level, 2] = carrying
            out[i, level, 3] = salvage
            out[i, level, 4] = before
            out[i, level, 5] = (price[i] - unit_revenue[i, level]) * before
    return out
