"""Deterministic and probabilistic excess (SPEC §3.3): closed forms, oracles, Monte Carlo.

Oracles are plain Python: a day-by-day walk of the rate path, the per-unit gamma identity for
Poisson sell times, per-unit quadrature of P(D(t) < k) for the negative binomial. Monte-Carlo
checks simulate the demand processes directly (Poisson arrivals; NB as orders arriving by a
Poisson process with logarithmic-series sizes, and as daily NB draws) with seeded generators and
allow 4.5 standard errors.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from deadstock.detect.probabilistic import (
    deterministic_excess,
    estimate_dispersion,
    probabilistic_excess,
    unit_sell_probability,
)

PATHS = 200_000
Z = 4.5  # standard errors allowed in Monte-Carlo comparisons

fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------
# Oracles
# ---------------------------------------------------------------------------------------------
def walk_path(stock: float, path: list[float], threshold: float) -> tuple[float, float]:
    """(projected stock days, C(threshold)) walking day by day; beyond the path, last week's mean.

    Day d covers (d, d+1]; within a day demand accrues evenly.
    """
    tail = sum(path[-7:]) / len(path[-7:])
    sold, projected, at_threshold = 0.0, math.inf, None
    for day in range(100_000):
        rate = path[day] if day < len(path) else tail
        if at_threshold is None and day + 1 >= threshold:
            at_threshold = sold + (threshold - day) * rate
        if projected == math.inf and rate > 0 and sold + rate >= stock:
            projected = day + (stock - sold) / rate
        sold += rate
        done_walking = projected < math.inf or (day >= len(path) and tail == 0)
        if at_threshold is not None and done_walking:
            break
    assert at_threshold is not None
    return projected, at_threshold


def poisson_unit_days_oracle(first: int, last: int, rate: float, cap: float) -> float:
    """Mean over units k = first+1 … last of E[min(T_k, cap)], T_k ~ Gamma(k, rate)."""
    total = 0.0
    for k in range(first + 1, last + 1):
        # E[min(T, c)] = E[T; T ≤ c] + c·P(T > c) = (k/λ)·P(Gamma(k+1) ≤ c) + c·P(Gamma(k) > c)
        total += (k / rate) * special.gammainc(k + 1, rate * cap)
        total += cap * special.gammaincc(k, rate * cap)
    return total / (last - first)


def nb_unit_days_oracle(first: int, last: int, rate: float, size: float, cap: float) -> float:
    """Mean over units of ∫_0^cap P(D(t) < k) dt with D(t) ~ NB(size·t, size/(size+rate))."""
    p = size / (size + rate)
    total = 0.0
    for k in range(first + 1, last + 1):
        kink = [k / rate] if k / rate < cap else None
        total += integrate.quad(
            lambda t, k=k: special.betainc(size * t, k, p) if t > 0 else 1.0,
            0.0,
            cap,
            points=kink,
            limit=400,
            epsabs=1e-10,
        )[0]
    return total / (last - first)


def mean_and_se(per_path: np.ndarray) -> tuple[float, float]:
    return float(per_path.mean()), float(per_path.std(ddof=1) / math.sqrt(len(per_path)))


# ---------------------------------------------------------------------------------------------
# Deterministic excess
# ---------------------------------------------------------------------------------------------
def test_flat_rate_closed_forms() -> None:
    out = deterministic_excess([100.0, 300.0, 50.0], [1.0, 2.5, 1.0])
    np.testing.assert_allclose(out.projected_stock_days, [100.0, 120.0, 50.0])
    np.testing.assert_allclose(out.excess_units, [16.0, 90.0, 0.0])
    # (84 + S/rate) / 2 for the excess; NaN where nothing is excess
    np.testing.assert_allclose(out.expected_days_in_stock[:2], [(84 + 100) / 2, (84 + 120) / 2])
    assert np.isnan(out.expected_days_in_stock[2])
    assert not out.no_forecast.any()


def test_threshold_and_no_sales_days_are_parameters() -> None:
    out = deterministic_excess(
        [100.0, 40.0], [1.0, 0.0], threshold_days=30, no_sales_days=730, horizon_days=90
    )
    np.testing.assert_allclose(out.excess_units, [70.0, 40.0])
    np.testing.assert_allclose(out.expected_days_in_stock, [(30 + 100) / 2, 730.0])


def test_no_forecast_and_empty_stock_edge_cases() -> None:
    out = deterministic_excess([50.0, 50.0, 50.0, 0.0, -3.0, np.nan], [0.0, np.nan, -1, 0, 2, 1])
    assert np.isinf(out.projected_stock_days[:3]).all()
    np.testing.assert_array_equal(out.excess_units[:5], [50.0, 50.0, 50.0, 0.0, 0.0])
    np.testing.assert_array_equal(out.expected_days_in_stock[:3], [1095.0] * 3)
    assert np.isnan(out.expected_days_in_stock[3:]).all()
    np.testing.assert_array_equal(out.projected_stock_days[3:5], [0.0, 0.0])
    np.testing.assert_array_equal(out.no_forecast, [True, True, True, True, False, False])
    assert np.isnan(out.projected_stock_days[5]) and np.isnan(out.excess_units[5])


def test_polars_series_with_nulls_and_columns() -> None:
    out = deterministic_excess(pl.Series([100.0, 20.0]), pl.Series([1.0, None]))
    frame = pl.DataFrame({k: pl.Series(v, nan_to_null=True) for k, v in out.columns().items()})
    assert frame.columns == [
        "projected_stock_days",
        "excess_units",
        "expected_days_in_stock",
        "no_forecast",
    ]
    assert frame["no_forecast"].to_list() == [False, True]
    assert frame["expected_days_in_stock"].to_list() == [92.0, 1095.0]


def test_rate_path_interpolates_within_the_day_and_continues_at_the_last_week() -> None:
    path = np.zeros((3, 10))
    path[0] = [1, 1, 1, 1, 4, 0, 0, 0, 0, 0]  # 4 units by day 4, 6 units reached at 4.5
    path[1, :3] = 5.0  # 15 units by day 3, tail rate 0: stock 20 never sells out
    path[2] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 7]  # last week: 1 unit/day beyond day 10
    out = deterministic_excess([6.0, 20.0, 12.0], path, threshold_days=3, horizon_days=10)
    assert out.projected_stock_days[0] == pytest.approx(4.5)
    assert np.isinf(out.projected_stock_days[1])
    assert out.projected_stock_days[2] == pytest.approx(10 + 5 / 1.0)
    np.testing.assert_allclose(out.excess_units, [3.0, 5.0, 12.0])
    # an infinite projection counts as no sales for the expected days
    np.testing.assert_allclose(out.expected_days_in_stock, [(3 + 4.5) / 2, 1095.0, (3 + 15) / 2])
    # a fractional threshold takes that fraction of the day's own rate: C(4.5) = 4 + 0.5 × 4
    half = deterministic_excess([7.0, 7.0], path[:2], threshold_days=4.5, horizon_days=10)
    np.testing.assert_allclose(half.excess_units, [1.0, 0.0])


def test_path_with_demand_only_after_the_horizon_is_no_forecast() -> None:
    path = np.zeros((1, 30))
    path[0, 20:] = 2.0
    out = deterministic_excess([10.0], path, horizon_days=14)
    assert out.no_forecast[0] and np.isinf(out.projected_stock_days[0])
    assert out.excess_units[0] == 10.0 and out.expected_days_in_stock[0] == 1095.0
    assert not deterministic_excess([10.0], path, horizon_days=25).no_forecast[0]


@fast
@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 300.0),
            st.lists(st.sampled_from([0.0, 0.25, 1.0, 3.0]), min_size=1, max_size=40),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([1.0, 2.5, 5.5, 7.0, 12.5, 84.0]),
)
def test_rate_path_against_a_day_by_day_walk(rows: list, threshold: float) -> None:
    width = max(len(p) for _, p in rows)
    # pad each path with its last week's mean rate, as the function continues beyond a path
    paths = []
    for _, given_path in rows:
        week = given_path[-7:]
        paths.append(given_path + [sum(week) / len(week)] * (width - len(given_path)))
    stock = np.array([s for s, _ in rows])
    out = deterministic_excess(stock, np.array(paths), threshold_days=threshold, horizon_days=1e9)
    for i, (s, p) in enumerate(zip(stock, paths, strict=True)):
        if sum(p) == 0:
            assert out.no_forecast[i]
            continue
        projected, sold = walk_path(float(s), p, threshold)
        if s <= 0:
            projected = 0.0
        assert out.projected_stock_days[i] == pytest.approx(projected, rel=1e-9, abs=1e-9)
        expected_excess = max(0.0, s - sold) if s > 0 else 0.0
        assert out.excess_units[i] == pytest.approx(expected_excess, rel=1e-9, abs=1e-9)


@fast
@given(
    st.lists(st.floats(0.0, 1e4), min_size=1, max_size=20),
    st.lists(st.floats(1e-3, 50.0), min_size=20, max_size=20),
)
def test_flat_rate_equals_the_same_constant_path(stock: list[float], rates: list[float]) -> None:
    lam = np.array(rates[: len(stock)])
    flat = deterministic_excess(stock, lam)
    path = deterministic_excess(stock, np.repeat(lam[:, None], 182, axis=1))
    np.testing.assert_allclose(path.projected_stock_days, flat.projected_stock_days, rtol=1e-9)
    np.testing.assert_allclose(path.excess_units, flat.excess_units, rtol=1e-9, atol=1e-7)


@fast
@given(st.floats(85.0, 5000.0), st.floats(90.0, 2000.0))
def test_capped_expected_days_is_the_mean_of_min_t_cap(projected: float, cap: float) -> None:
    out = deterministic_excess([projected], [1.0], cap_days=cap)
    t = np.linspace(84.0, projected, 200_001)
    oracle = np.trapezoid(np.minimum(t, cap), t) / (projected - 84.0)
    assert out.expected_days_in_stock[0] == pytest.approx(oracle, rel=1e-6)
    plain = deterministic_excess([projected], [1.0]).expected_days_in_stock[0]
    assert out.expected_days_in_stock[0] <= plain + 1e-9


def test_parameter_checks() -> None:
    with pytest.raises(ValueError, match="'threshold_days' parameter must be a number"):
        deterministic_excess([1.0], [1.0], threshold_days=0)
    with pytest.raises(ValueError, match="equal lengths"):
        deterministic_excess([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="shape"):
        deterministic_excess([1.0, 2.0], np.ones((3, 5)))
    with pytest.raises(ValueError, match="'days' parameter"):
        probabilistic_excess([1.0], [1.0], [1.0], days=(0,))
    with pytest.raises(ValueError, match="'dispersion' parameter"):
        probabilistic_excess([1.0], [1.0], [1.0], [0.0])
    with pytest.raises(ValueError, match="'cap_days' parameter"):
        probabilistic_excess([1.0], [1.0], [1.0], cap_days=-1)


# ---------------------------------------------------------------------------------------------
# Probabilistic excess: closed forms and oracles
# ---------------------------------------------------------------------------------------------
def test_poisson_uncapped_mean_sell_day_is_k_over_rate() -> None:
    out = probabilistic_excess([100.0, 10.0], [16.0, 10.0], [1.0, 0.05], cap_days=1e7)
    # mean of k/λ over k = 85 … 100 and k = 1 … 10
    np.testing.assert_allclose(out.expected_days_in_stock_excess, [92.5, 110.0], rtol=1e-12)


def test_poisson_is_the_deterministic_answer_plus_half_a_unit() -> None:
    stock, rate = np.array([100.0, 500.0, 37.0]), np.array([1.0, 2.0, 0.25])
    det = deterministic_excess(stock, rate)
    prob = probabilistic_excess(stock, det.excess_units, rate, cap_days=1e7)
    np.testing.assert_allclose(
        prob.expected_days_in_stock_excess, det.expected_days_in_stock + 0.5 / rate, rtol=1e-12
    )


@fast
@given(
    st.integers(1, 60),
    st.integers(0, 60),
    st.floats(1e-6, 50.0),
    st.floats(1.0, 2000.0),
)
def test_poisson_expected_days_against_per_unit_gamma_identity(
    last: int, first_raw: int, rate: float, cap: float
) -> None:
    first = min(first_raw, last - 1)
    out = probabilistic_excess([float(last)], [float(last - first)], [rate], cap_days=cap)
    oracle = poisson_unit_days_oracle(first, last, rate, cap)
    assert out.expected_days_in_stock_excess[0] == pytest.approx(oracle, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    ("first", "last", "rate", "cap"),
    [
        (999_990, 1_000_000, 1e5, 1095.0),  # fast seller with deep stock: all sell early
        (0, 10, 1e-9, 1095.0),  # almost no demand: every unit counts the cap
        (0, 20_000, 1e-7, 365.0),
        (4_000, 4_100, 10.0, 405.0),  # the cap falls among the excess units
    ],
)
def test_poisson_extreme_regimes_against_per_unit_sums(
    first: int, last: int, rate: float, cap: float
) -> None:
    k = np.arange(first + 1, last + 1, dtype=float)
    per_unit = (k / rate) * special.gammainc(k + 1, rate * cap) + cap * special.gammaincc(
        k, rate * cap
    )
    out = probabilistic_excess([float(last)], [float(last - first)], [rate], cap_days=cap)
    assert out.expected_days_in_stock_excess[0] == pytest.approx(per_unit.mean(), rel=1e-12)


@pytest.mark.parametrize(
    ("last", "first", "rate", "size", "cap"),
    [
        (1, 0, 0.1, 0.05, 1095.0),  # lumpy: long exponential tail
        (12, 4, 0.5, 1.0, 60.0),  # cap binds
        (30, 0, 2.0, 0.3, 365.0),
        (25, 20, 0.05, 5.0, 1095.0),
        (8, 7, 20.0, 2.0, 10.0),
        (40, 10, 1.0, 200.0, 200.0),  # nearly Poisson
    ],
)
def test_nb_expected_days_against_per_unit_quadrature(
    last: int, first: int, rate: float, size: float, cap: float
) -> None:
    out = probabilistic_excess([float(last)], [float(last - first)], [rate], [size], cap_days=cap)
    oracle = nb_unit_days_oracle(first, last, rate, size, cap)
    assert out.expected_days_in_stock_excess[0] == pytest.approx(oracle, abs=1e-3)


def test_nb_tends_to_poisson_as_dispersion_grows() -> None:
    stock, excess, rate = [50.0, 400.0], [30.0, 100.0], [0.4, 3.0]
    poisson = probabilistic_excess(stock, excess, rate).expected_days_in_stock_excess
    gaps = [
        np.abs(
            probabilistic_excess(stock, excess, rate, [r, r]).expected_days_in_stock_excess
            - poisson
        ).max()
        for r in (1.0, 10.0, 100.0, 1e4)
    ]
    assert all(a > b for a, b in itertools.pairwise(gaps))
    assert 0 < gaps[-1] < 1e-3  # still the NB computation, and close
    # beyond the Poisson limit (λ/r < 1e-6) the exact Poisson form is used
    same = probabilistic_excess(stock, excess, rate, [1e9, 1e9]).expected_days_in_stock_excess
    np.testing.assert_array_equal(same, poisson)


def test_sell_probabilities_closed_forms() -> None:
    out = probabilistic_excess([10.0, 10.0], [5.0, 5.0], [0.1, 0.1], [np.nan, 2.0])
    for d, p in out.p_sell_all_within.items():
        assert p[0] == pytest.approx(1 - special.pdtr(9, 0.1 * d), rel=1e-10)
        assert p[1] == pytest.approx(1 - special.betainc(2.0 * d, 10, 2.0 / 2.1), rel=1e-8)
    assert set(out.columns()) == {
        "p_sell_all_within_84",
        "p_sell_all_within_182",
        "p_sell_all_within_365",
        "expected_days_in_stock_excess",
    }


def test_probabilistic_edge_cases() -> None:
    stock = [10.0, 0.0, 10.0, 10.0, 2.2, np.nan, -4.0, 10.0]
    excess = [4.0, 0.0, 0.0, 4.0, 1.5, 1.0, 0.0, 50.0]
    rate = [0.0, 1.0, 1.0, np.nan, 1.0, 1.0, 1.0, 1.0]
    out = probabilistic_excess(stock, excess, rate, cap_days=500, days=(7,))
    p, ed = out.p_sell_all_within[7], out.expected_days_in_stock_excess
    assert p[0] == 0.0 and ed[0] == 500.0  # stock, no demand: never sells, counts the cap
    assert p[1] == 1.0 and np.isnan(ed[1])  # nothing in stock
    assert np.isnan(ed[2])  # no excess
    assert p[3] == 0.0 and ed[3] == 500.0  # null rate = no demand
    # fractional stock 2.2 → 3 units; excess 1.5 → the last 2 units (k = 2, 3)
    assert p[4] == pytest.approx(special.gammainc(3, 7.0))
    assert ed[4] == pytest.approx(poisson_unit_days_oracle(1, 3, 1.0, 500.0))
    assert np.isnan(p[5]) and np.isnan(ed[5])
    assert p[6] == 1.0 and np.isnan(ed[6])
    # excess above stock is clipped to the stock: all 10 units
    assert ed[7] == pytest.approx(poisson_unit_days_oracle(0, 10, 1.0, 500.0))


def test_whole_units_tolerate_rounding_noise() -> None:
    noisy = probabilistic_excess([10 + 1e-12, 10.0], [3 - 1e-12, 3.0], [0.5, 0.5], days=(20,))
    assert noisy.p_sell_all_within[20][0] == noisy.p_sell_all_within[20][1]
    ed = noisy.expected_days_in_stock_excess
    assert ed[0] == ed[1] == pytest.approx(poisson_unit_days_oracle(7, 10, 0.5, 1095.0))


def test_unit_sell_probability() -> None:
    k = np.arange(0, 8, dtype=float)
    p = unit_sell_probability(k, 0.5, None, 6.0)
    assert p[0] == 1.0
    np.testing.assert_allclose(p[1:], special.gammainc(k[1:], 3.0))
    assert (np.diff(p) <= 0).all()
    grid = unit_sell_probability(3.0, [[0.5], [1.0]], [[2.0], [np.inf]], [1.0, 5.0, 20.0])
    assert grid.shape == (2, 3) and (np.diff(grid, axis=1) > 0).all()
    assert unit_sell_probability(1.0, 0.0, None, 5.0) == 0.0
    assert unit_sell_probability(1.0, 1.0, None, 0.0) == 0.0
    # the k-th unit's chance equals the chance of selling all of a stock of k units
    whole = probabilistic_excess([5.0], [1.0], [0.3], [1.5], days=(30,))
    assert unit_sell_probability(5, 0.3, 1.5, 30) == pytest.approx(whole.p_sell_all_within[30][0])


# ---------------------------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------------------------
def test_poisson_against_monte_carlo() -> None:
    rng = np.random.default_rng(20261101)
    rate, stock, excess, cap = 0.2, 30, 20, 120.0
    out = probabilistic_excess([float(stock)], [float(excess)], [rate], cap_days=cap)
    arrivals = np.cumsum(rng.exponential(1 / rate, size=(PATHS, stock)), axis=1)
    per_path = np.minimum(arrivals[:, stock - excess :], cap).mean(axis=1)
    mean, se = mean_and_se(per_path)
    assert abs(out.expected_days_in_stock_excess[0] - mean) < Z * se
    for d, p in out.p_sell_all_within.items():
        hits = rng.poisson(rate * d, size=PATHS) >= stock
        p_mc = hits.mean()
        assert abs(p[0] - p_mc) < Z * math.sqrt(p[0] * (1 - p[0]) / PATHS) + 1e-12
    # the cap binds for many of these units (uncapped mean k/λ = 102.5), so the Monte-Carlo
    # comparison would catch a missing or wrong cap
    assert out.expected_days_in_stock_excess[0] < np.mean(np.arange(11, 31) / rate) - 5


def simulate_nb_sell_times(
    rng: np.random.Generator, rate: float, size: float, units: int, paths: int
) -> np.ndarray:
    """Sell times of units 1 … ``units`` (paths × units): orders by a Poisson process with
    logarithmic-series sizes (the compound-Poisson form of NB demand)."""
    order_rate = size * math.log1p(rate / size)
    q = rate / (size + rate)
    order_sizes = rng.logseries(q, size=(paths, units))
    order_times = np.cumsum(rng.exponential(1 / order_rate, size=(paths, units)), axis=1)
    sold = np.cumsum(order_sizes, axis=1)
    times = np.empty((paths, units))
    rows = np.arange(paths)
    for k in range(1, units + 1):  # oracle loop over units (small)
        times[:, k - 1] = order_times[rows, (sold < k).sum(axis=1)]
    return times


@pytest.mark.parametrize(("rate", "size"), [(0.5, 0.8), (2.0, 5.0)])
def test_nb_against_monte_carlo(rate: float, size: float) -> None:
    rng = np.random.default_rng(7 + int(10 * rate))
    stock, excess = 24, 16
    cap = 0.8 * stock / rate
    days = tuple(round(f * stock / rate) for f in (0.7, 1.0, 1.4))  # P(all sold) inside (0, 1)
    out = probabilistic_excess(
        [float(stock)], [float(excess)], [rate], [size], cap_days=cap, days=days
    )
    times = simulate_nb_sell_times(rng, rate, size, stock, PATHS)
    per_path = np.minimum(times[:, stock - excess :], cap).mean(axis=1)
    mean, se = mean_and_se(per_path)
    assert abs(out.expected_days_in_stock_excess[0] - mean) < Z * se
    p = size / (size + rate)
    for d, p_all in out.p_sell_all_within.items():
        # P(all sold within d): formula vs the order process and vs sums of d daily NB draws
        by_process = (times[:, -1] <= d).mean()
        daily = np.zeros(PATHS // 4)
        for _ in range(d):
            daily += rng.negative_binomial(size, p, size=PATHS // 4)
        by_days = (daily >= stock).mean()
        assert 0.001 < p_all[0] < 0.999
        assert abs(p_all[0] - by_process) < Z * math.sqrt(p_all[0] * (1 - p_all[0]) / PATHS)
        assert abs(p_all[0] - by_days) < Z * math.sqrt(p_all[0] * (1 - p_all[0]) / (PATHS // 4))


def test_nb_process_has_nb_marginals_at_fractional_times() -> None:
    rng = np.random.default_rng(99)
    rate, size, t = 1.5, 0.7, 2.5
    times = simulate_nb_sell_times(rng, rate, size, 6, PATHS)
    for k in (1, 3, 6):
        p = unit_sell_probability(k, rate, size, t)
        p_mc = (times[:, k - 1] <= t).mean()
        assert abs(p - p_mc) < Z * math.sqrt(p * (1 - p) / PATHS)


# ---------------------------------------------------------------------------------------------
# Monotonicity and dispersion properties
# ---------------------------------------------------------------------------------------------
dispersions = st.one_of(st.none(), st.floats(0.05, 50.0))


@fast
@given(st.integers(1, 500), st.floats(0.01, 20.0), dispersions, st.integers(1, 400))
def test_more_stock_lowers_and_more_rate_raises_the_sell_out_chance(
    stock: int, rate: float, size: float | None, days: int
) -> None:
    disp = None if size is None else [size, size]
    more_stock = probabilistic_excess(
        [stock, stock + 1.0], [0.0, 0.0], [rate, rate], disp, days=(days,)
    )
    p = more_stock.p_sell_all_within[days]
    assert p[1] <= p[0] + 1e-12
    more_rate = probabilistic_excess(
        [stock, stock], [0.0, 0.0], [rate, rate * 1.5], disp, days=(days, days + 30)
    )
    assert more_rate.p_sell_all_within[days][1] >= more_rate.p_sell_all_within[days][0] - 1e-12
    # and more days raise it
    later = more_rate.p_sell_all_within[days + 30]
    assert (later >= more_rate.p_sell_all_within[days] - 1e-12).all()


@fast
@given(st.integers(1, 300), st.integers(1, 300), st.floats(0.01, 20.0), dispersions)
def test_expected_days_orders(stock: int, excess_raw: int, rate: float, size: float | None) -> None:
    excess = min(excess_raw, stock)
    disp = None if size is None else [size] * 3
    out = probabilistic_excess(
        [stock, stock + 5.0, stock], [excess] * 3, [rate, rate, rate * 2], disp, cap_days=400
    ).expected_days_in_stock_excess
    assert out[1] >= out[0] - 1e-6  # the same number of units further back in the queue
    assert out[2] <= out[0] + 1e-6  # faster demand
    assert (out > 0).all() and (out <= 400 + 1e-9).all()


@fast
@given(st.floats(0.01, 10.0), st.floats(0.05, 20.0), st.integers(1, 365))
def test_dispersion_lowers_the_chance_of_selling_one_unit(
    rate: float, size: float, days: int
) -> None:
    # P(D ≥ 1) = 1 − P(no demand); bursty demand leaves more days without any sale
    lumpy = unit_sell_probability(1, rate, size, days)
    smooth = unit_sell_probability(1, rate, size * 4, days)
    poisson = unit_sell_probability(1, rate, None, days)
    assert lumpy <= smooth + 1e-12 <= poisson + 2e-12


@fast
@given(st.integers(1, 80), st.floats(0.05, 5.0), st.floats(0.1, 10.0))
def test_dispersion_lengthens_the_days_in_stock_of_the_whole_stock(
    stock: int, rate: float, size: float
) -> None:
    # with the same mean, NB demand over t days is larger in the convex order for smaller r,
    # so E[(k − D(t))⁺] grows and ∫ E[(stock − D(t))⁺] dt (all units, a = 0) grows with it
    ed = probabilistic_excess(
        [stock] * 3, [stock] * 3, [rate] * 3, [size, size * 3, np.inf], cap_days=700
    ).expected_days_in_stock_excess
    assert ed[0] >= ed[1] - 1e-3 and ed[1] >= ed[2] - 1e-3


def test_dispersion_raises_the_chance_of_selling_far_more_than_the_mean() -> None:
    # 30 units against a mean demand of 10 in 84 days: only a burst sells them all, and NB has
    # bursts. The 84-day demand is NB with size 84·r, so daily dispersion averages out over
    # long windows: sizes 0.5 and 5 over the window need daily r = 0.5/84 and 5/84.
    daily_r = [0.5 / 84, 5.0 / 84, np.nan]
    p = probabilistic_excess([30.0] * 3, [0.0] * 3, [10 / 84] * 3, daily_r, days=(84,))
    chance = p.p_sell_all_within[84]
    assert chance[0] > chance[1] > chance[2]
    assert chance[2] < 1e-6 and chance[0] > 0.05


def test_hundred_thousand_mixed_series() -> None:
    rng = np.random.default_rng(5)
    n = 100_000
    rate = np.exp(rng.uniform(np.log(0.005), np.log(30), n))
    stock = np.floor(rate * np.exp(rng.uniform(np.log(5), np.log(3000), n)))
    size = np.where(rng.random(n) < 0.5, np.exp(rng.uniform(np.log(0.1), np.log(30), n)), np.nan)
    det = deterministic_excess(stock, rate)
    out = probabilistic_excess(stock, det.excess_units, rate, size)
    ed = out.expected_days_in_stock_excess
    has = det.excess_units > 0
    assert np.isfinite(ed[has]).all() and np.isnan(ed[~has]).all()
    assert (ed[has] > 0).all() and (ed[has] <= 1095 + 1e-9).all()
    # uncapped Poisson: mean k/λ over the last ⌈excess⌉ units ≥ the fluid midpoint, by less
    # than half a unit's time 1/(2λ) (⌈excess⌉ adds at most one earlier unit)
    poisson = has & np.isnan(size)
    uncapped = probabilistic_excess(
        stock[poisson], det.excess_units[poisson], rate[poisson], cap_days=1e9
    ).expected_days_in_stock_excess
    gap = (uncapped - det.expected_days_in_stock[poisson]) * rate[poisson]
    assert (gap >= -1e-6).all() and (gap <= 0.5 + 1e-6).all()
    for p in out.p_sell_all_within.values():
        assert ((p >= 0) & (p <= 1)).all()


# ---------------------------------------------------------------------------------------------
# Dispersion estimate
# ---------------------------------------------------------------------------------------------
def test_dispersion_recovered_from_negative_binomial_days() -> None:
    rng = np.random.default_rng(3)
    sizes, means = np.array([0.5, 2.0, 8.0]), np.array([1.0, 3.0, 0.5])
    daily = rng.negative_binomial(sizes[:, None], (sizes / (sizes + means))[:, None], (3, 20_000))
    r = estimate_dispersion(daily.astype(float))
    np.testing.assert_allclose(r, sizes, rtol=0.15)


def test_dispersion_moments_and_matrix_agree_and_edge_cases() -> None:
    daily = np.array(
        [
            [0.0, 3.0, 0.0, 9.0, 1.0, np.nan],  # over-dispersed; the NaN day is not observed
            [2.0, 2.0, 2.0, 2.0, 2.0, 2.0],  # constant: variance 0 < mean → Poisson (inf)
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # no demand: cannot estimate
            [1.0, -2.0, 1.0, 0.0, 1.0, 0.0],  # the net return counts as 0
        ]
    )
    r = estimate_dispersion(daily)
    q = np.array([0.0, 3.0, 0.0, 9.0, 1.0])
    mean, var = q.mean(), q.var(ddof=1)
    assert r[0] == pytest.approx(mean**2 / (var - mean))
    assert np.isinf(r[1]) and np.isnan(r[2])
    assert r[3] == estimate_dispersion(np.array([[1.0, 0.0, 1.0, 0.0, 1.0, 0.0]]))[0]
    clean = np.nan_to_num(np.maximum(daily, 0), nan=0.0)
    count = np.array([5.0, 6.0, 6.0, 6.0])
    moments = estimate_dispersion((count, clean.sum(axis=1), (clean**2).sum(axis=1)))
    np.testing.assert_allclose(moments, r, equal_nan=True)
    assert np.isnan(estimate_dispersion(np.array([[4.0]])))[0]  # one day: no variance
    with pytest.raises(ValueError, match="tuple"):
        estimate_dispersion((count, count))
    with pytest.raises(ValueError, match="2-D"):
        estimate_dispersion(np.ones(4))
