"""Markdowns valued in the thesis' present-value frame: single-step discounts and ladders.

SPEC §3.5 (beyond the thesis): demand at discount d is base demand × (1 − d)^ε with ε the price
elasticity (negative: ε = −2 doubles... a 50 % discount multiplies demand by 0.5^−2 = 4; SPEC
writes the same with ε as a magnitude, (1 − d)^−|ε|).

The demand model (the one Monte-Carlo tests simulate):

- Weeks w = 0..W−1 (days 7w..7w+6). Demand in week w at level l is Poisson(μ_l) with
  μ_l = 7 · λ · (1 − d_l)^ε, λ the base demand [units/day] (the run's forecast). Sales are
  min(D, s) from the stock s of the whole SKU-location (a price applies to every unit, so the
  margin given away on units that would have sold anyway is counted).
- A SKU without base demand (λ = 0) gets no magic: its weekly demand at level l is the configured
  clearance-response prior, ``prior_weekly_share`` × stock × ((1 − d_l)^ε − 1) /
  ((1 − d_ref)^ε − 1): nothing at full price, ``prior_weekly_share`` of the stock a week at the
  reference discount d_ref (``source = "prior"``).
- Money: revenue P·(1 − d_l) per unit sold, booked mid-week (discount factor q^(7w+3.5), q =
  1/(1+Re)); carrying cost c [currency/unit/day] (holding + working capital + capacity, the
  thesis' keep terms per day) on the mean of the week's opening and closing stock, over the week's
  discounted days Σ_{t=7w..7w+6} q^t.
- After week W the price returns to regular: up to R leftover units (the regular stock, units the
  base demand sells within the excess threshold) sell at full price by a Poisson process
  (value Σ_{k=1..n} [P·z^k − c(1 − z^k)/ρ], z = λ/(λ+ρ), ρ = ln(1+Re)); the rest go to the best
  clearance action at ``clear_value`` [currency/unit] net of transport. Both discounted by q^(7W).
- Ladder: the level may only deepen, week by week, and may depend on what sold (closed-loop
  stochastic DP, :mod:`deadstock.pricing.markdown_kernel`). Single step: one level from week 0.

In the thesis frame (cost per excess unit, SPEC §3.5) a markdown of S excess units out of a
position whose regular units are worth V_reg(R) costs Ps/(1+Re)^De − (V − V_reg(R)) / S, i.e.
lost_sale + holding − recovery with holding = carrying / S and recovery = (revenue + salvage −
V_reg(R)) / S (:func:`markdown_unit_costs`). A ladder that never discounts is "hold W weeks, then
clear" and prices the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from deadstock.decide.costs import discounted_day_count
from deadstock.pricing.markdown_kernel import constant_levels, solve_ladders, solve_one_policy

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: The industry cascade's levels (SPEC §3.5): full price, then 15 %, 25 %, 50 %.
CASCADE_LEVELS: tuple[float, ...] = (0.0, 0.15, 0.25, 0.50)

#: Poisson upper tail beyond which the state space is cut: mean + this × sd + 30 units.
_TAIL_SDS = 12.0


@dataclass(frozen=True)
class LadderResult:
    """Expected outcome of the optimal ladder per SKU; money is present value [currency].

    value = revenue − carrying + salvage; regular_value = V_reg(R) of the regular units at full
    price; units_sold, leftover [units]; markdown_spend = Σ d·P·units sold, undiscounted
    [currency]; path [SKU × week] the level index in force each week when sales follow their
    expectation; levels [-] the discount of each level index.
    """

    levels: FloatArray
    value: FloatArray
    regular_value: FloatArray
    revenue: FloatArray
    carrying: FloatArray
    salvage: FloatArray
    units_sold: FloatArray
    leftover: FloatArray
    markdown_spend: FloatArray
    path: npt.NDArray[np.int8]

    @property
    def first_discount(self) -> FloatArray:
        """Discount of the first week [-]."""
        return self.levels[self.path[:, 0].astype(np.int64)] if self.path.size else np.zeros(0)

    @property
    def gain(self) -> FloatArray:
        """Value over the regular units' value: what the position's excess earns [currency]."""
        return self.value - self.regular_value

    def schedule(self) -> list[str]:
        """The planned ladder per SKU as text, e.g. "15% w1-2, 25% w3-8" (full price: "0%").

        Paths repeat (a few hundred monotone ones at most), so each distinct path is written once.
        """
        if len(self.path) == 0:
            return []
        distinct, which = np.unique(self.path, axis=0, return_inverse=True)
        texts = np.asarray([_path_text(row, self.levels) for row in distinct], dtype=object)
        return texts[np.ravel(which)].tolist()


def _path_text(row: npt.NDArray[np.int8], levels: FloatArray) -> str:
    """One path of level indices as "15% w1-2, 25% w3-8"."""
    discounts = np.round(levels * 100).astype(np.int64)
    parts = []
    start = 0
    for w in range(1, len(row) + 1):
        if w == len(row) or row[w] != row[start]:
            weeks = f"w{start + 1}" if w - start == 1 else f"w{start + 1}-{w}"
            parts.append(f"{discounts[row[start]]}% {weeks}")
            start = w
    return ", ".join(parts)


def weekly_demand(
    levels: FloatArray,
    base_daily: FloatArray,
    elasticity: FloatArray,
    stock: FloatArray,
    prior_weekly_share: float,
    prior_reference_discount: float,
) -> FloatArray:
    """Mean weekly demand [units/week] per SKU and level, matrix [SKU × level].

    7·λ·(1 − d)^ε with base demand; the clearance-response prior where λ = 0 (module docstring).
    """
    levels = np.asarray(levels, dtype=np.float64)
    eps = np.asarray(elasticity, dtype=np.float64)[:, None]
    lam = np.asarray(base_daily, dtype=np.float64)[:, None]
    response = np.power(1.0 - levels[None, :], eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        prior_scale = (response - 1.0) / (np.power(1.0 - prior_reference_discount, eps) - 1.0)
    prior = prior_weekly_share * np.asarray(stock, dtype=np.float64)[:, None] * prior_scale
    prior = np.where(np.isfinite(prior) & (prior > 0), prior, 0.0)
    return np.where(lam > 0, 7.0 * lam * response, prior)


def allowed_levels(
    levels: FloatArray,
    price: FloatArray,
    unit_cost: FloatArray,
    max_discount: float,
    min_margin: float,
) -> BoolArray:
    """Matrix [SKU × level]: a level is allowed if d ≤ max_discount and the contribution margin
    at the discounted price, (P(1 − d) − N) / (P(1 − d)), is at least ``min_margin``. Full price
    (d = 0) is always allowed."""
    levels = np.asarray(levels, dtype=np.float64)
    discounted = np.asarray(price, dtype=np.float64)[:, None] * (1.0 - levels[None, :])
    cost = np.nan_to_num(np.asarray(unit_cost, dtype=np.float64), nan=0.0)[:, None]
    margin_ok = discounted * (1.0 - min_margin) >= cost - 1e-12
    ok = (levels[None, :] <= max_discount + 1e-12) & margin_ok
    ok[:, levels == 0.0] = True
    return ok


def state_cap(stock: IntArray, regular: IntArray, demand: FloatArray, weeks: int) -> IntArray:
    """Largest stock state the DP needs [units]: beyond the regular units plus the horizon's
    demand tail, extra units never sell in the ladder and add a constant each."""
    horizon = weeks * demand.max(axis=1, initial=0.0)
    tail = np.ceil(horizon + _TAIL_SDS * np.sqrt(horizon) + 30.0).astype(np.int64)
    return np.minimum(stock, regular + tail)


def solve_markdown(
    levels: FloatArray,
    *,
    stock: IntArray,
    regular: IntArray,
    base_daily: FloatArray,
    demand: FloatArray,
    price: FloatArray,
    carry_daily: FloatArray,
    clear_value: FloatArray,
    allowed: BoolArray,
    daily_rate: float,
    weeks: int,
) -> LadderResult:
    """Optimal ladder per SKU over ``levels`` (ascending discounts, levels[0] = 0 usually).

    ``stock`` whole on-hand [units], ``regular`` the units base demand sells within the excess
    threshold [units], ``demand`` [SKU × level] weekly means (:func:`weekly_demand`),
    ``carry_daily`` [currency/unit/day], ``clear_value`` best clearance net of transport
    [currency/unit] (0 where nothing clears), ``allowed`` [SKU × level]. A single step is the
    same call with one level (and full price disallowed).
    """
    args = _kernel_args(
        levels,
        stock=stock,
        regular=regular,
        base_daily=base_daily,
        demand=demand,
        price=price,
        carry_daily=carry_daily,
        clear_value=clear_value,
        allowed=allowed,
        daily_rate=daily_rate,
        weeks=weeks,
    )
    value, parts, path = solve_ladders(*args)
    stock, _cap, regular, base_daily, price, carry = args[:6]
    return LadderResult(
        levels=np.asarray(levels, dtype=np.float64),
        value=value,
        regular_value=regular_values(regular, base_daily, price, carry, daily_rate),
        revenue=parts[:, 0],
        carrying=parts[:, 1],
        salvage=parts[:, 2],
        units_sold=parts[:, 3],
        leftover=parts[:, 4],
        markdown_spend=parts[:, 5],
        path=path,
    )


def single_step(
    levels: FloatArray,
    *,
    stock: IntArray,
    regular: IntArray,
    base_daily: FloatArray,
    demand: FloatArray,
    price: FloatArray,
    carry_daily: FloatArray,
    clear_value: FloatArray,
    allowed: BoolArray,
    daily_rate: float,
    weeks: int,
) -> LadderResult:
    """The best single discount per SKU: one level > 0 held from week 0 to W, then salvage.

    Same model and inputs as :func:`solve_markdown`; each level is valued in closed form from
    the cumulative demand (units sold by week w = min(N(w·μ), Q)), then the best allowed level
    with a discount wins. SKUs with no allowed discount get NaN values and path −1.
    """
    args = _kernel_args(
        levels,
        stock=stock,
        regular=regular,
        base_daily=base_daily,
        demand=demand,
        price=price,
        carry_daily=carry_daily,
        clear_value=clear_value,
        allowed=allowed,
        daily_rate=daily_rate,
        weeks=weeks,
    )
    (stock_, _cap, regular_, lam, price_, carry, clear, demand_, unit_revenue, allowed_) = args[:10]
    revenue_factor, carry_factor, end_factor, rho = args[10:]
    parts = constant_levels(
        stock_,
        regular_,
        lam,
        price_,
        carry,
        clear,
        demand_,
        unit_revenue,
        revenue_factor,
        carry_factor,
        end_factor,
        rho,
    )
    levels = np.asarray(levels, dtype=np.float64)
    candidate = allowed_ & (levels[None, :] > 0)
    scored = np.where(candidate, parts[:, :, 0], -np.inf)
    best = np.argmax(scored, axis=1)
    some = candidate.any(axis=1)
    chosen = np.take_along_axis(parts, best[:, None, None], axis=1)[:, 0, :]
    chosen[~some] = np.nan
    path = np.repeat(np.where(some, best, -1).astype(np.int8)[:, None], weeks, axis=1)
    return LadderResult(
        levels=levels,
        value=chosen[:, 0],
        regular_value=regular_values(regular_, lam, price_, carry, daily_rate),
        revenue=chosen[:, 1],
        carrying=chosen[:, 2],
        salvage=chosen[:, 3],
        units_sold=chosen[:, 4],
        leftover=stock_ - chosen[:, 4],
        markdown_spend=chosen[:, 5],
        path=path,
    )


#: The kernel's first arguments are per SKU (stock … allowed), the rest shared.
_PER_SKU_ARGS = 10


def _kernel_args(
    levels: FloatArray,
    *,
    stock: IntArray,
    regular: IntArray,
    base_daily: FloatArray,
    demand: FloatArray,
    price: FloatArray,
    carry_daily: FloatArray,
    clear_value: FloatArray,
    allowed: BoolArray,
    daily_rate: float,
    weeks: int,
) -> tuple[Any, ...]:
    """Checked, contiguous arguments of the kernel, in its order."""
    levels = np.asarray(levels, dtype=np.float64)
    if np.any(np.diff(levels) <= 0):
        raise ValueError(f"Markdown levels must be strictly increasing. Got {levels.tolist()}.")
    if weeks < 1:
        raise ValueError(f"The 'weeks' parameter must be an int in [1, inf). Got {weeks}.")
    stock = np.asarray(stock, dtype=np.int64)
    regular = np.minimum(np.asarray(regular, dtype=np.int64), stock)
    base_daily = np.asarray(base_daily, dtype=np.float64)
    regular = np.where(base_daily > 0, regular, 0)
    price = np.asarray(price, dtype=np.float64)
    carry = np.asarray(carry_daily, dtype=np.float64)
    clear = np.nan_to_num(np.asarray(clear_value, dtype=np.float64), nan=0.0)
    allowed = np.ascontiguousarray(allowed, dtype=np.bool_)
    demand = np.ascontiguousarray(np.where(allowed, demand, 0.0), dtype=np.float64)
    unit_revenue = np.ascontiguousarray(price[:, None] * (1.0 - levels[None, :]))
    cap = state_cap(stock, regular, demand, weeks)
    rho = float(np.log1p(daily_rate))
    starts = 7.0 * np.arange(weeks, dtype=np.float64)
    revenue_factor = np.exp(-rho * (starts + 3.5))
    carry_factor = np.ascontiguousarray(discounted_day_count(starts, starts + 6.0, daily_rate))
    end_factor = float(np.exp(-rho * 7.0 * weeks))
    return (
        stock,
        cap,
        regular,
        base_daily,
        price,
        carry,
        clear,
        demand,
        unit_revenue,
        allowed,
        revenue_factor,
        carry_factor,
        end_factor,
        rho,
    )


def ladder_policy(
    index: int, levels: FloatArray, **inputs: Any
) -> tuple[float, npt.NDArray[np.int8]]:
    """Value and closed-loop policy of SKU ``index`` (same inputs as :func:`solve_markdown`).

    policy[w, s, l] is the level index to use in week w with s units on hand (s ≤ the state cap;
    states above it behave as the cap) when level l was in force the week before.
    """
    args = _kernel_args(levels, **inputs)
    per_sku = [a[index] for a in args[:_PER_SKU_ARGS]] + list(args[_PER_SKU_ARGS:])
    value, policy = solve_one_policy(*per_sku)
    return float(value), policy


def regular_values(
    units: IntArray, base_daily: FloatArray, price: FloatArray, carry: FloatArray, daily_rate: float
) -> FloatArray:
    """V_reg(n): PV of n units sold at full price by a Poisson process of rate λ [currency].

    Σ_{k=1..n} [P·z^k − c(1 − z^k)/ρ] with z = λ/(λ+ρ), ρ = ln(1+r) (E[e^{−ρT}] of the k-th
    arrival time T ~ Gamma(k, λ)); 0 for n = 0.
    """
    units = np.asarray(units, dtype=np.float64)
    lam = np.asarray(base_daily, dtype=np.float64)
    rho = float(np.log1p(daily_rate))
    with np.errstate(divide="ignore", invalid="ignore"):
        if rho > 0:
            z = lam / (lam + rho)
            geometric = np.where(z < 1.0, z * -np.expm1(units * np.log(z)) / (1.0 - z), units)
            out = price * geometric - carry * (units - geometric) / rho
        else:
            out = price * units - carry * units * (units + 1.0) / (2.0 * lam)
    return np.where(units > 0, out, 0.0)


def markdown_unit_costs(
    result: LadderResult,
    excess_units: FloatArray,
    price: FloatArray,
    expected_days_in_stock: FloatArray,
    daily_rate: float,
) -> dict[str, FloatArray]:
    """Per-excess-unit cost components of a markdown in the thesis frame [currency/unit].

    lost_sale = Ps/(1+Re)^De (as for every clearing action), carrying = carrying / S, recovery =
    −(revenue + salvage − V_reg(R)) / S; their sum is Ps/(1+Re)^De − (V − V_reg(R)) / S.
    NaN where S = 0.
    """
    s = np.asarray(excess_units, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(s > 0, 1.0 / s, np.nan)
    lost_sale = np.asarray(price, dtype=np.float64) * np.power(
        1.0 + daily_rate, -np.asarray(expected_days_in_stock, dtype=np.float64)
    )
    return {
        "lost_sale": np.where(s > 0, lost_sale, np.nan),
        "carrying": result.carrying * per,
        "recovery": -(result.revenue + result.salvage - result.regular_value) * per,
    }
