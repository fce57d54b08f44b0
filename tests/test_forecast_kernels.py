"""Forecast kernels against statsforecast 2.1.1, the independent reference (issue 3, SPEC §3.3).

Every kernel must equal statsforecast's point forecast to 1e-6 relative (atol 1e-10 for values
that are zero or vanish): on hand-made edge series, on hypothesis-generated intermittent series
and on the real M5 daily series.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deadstock.forecast import kernels, smoothing
from deadstock.forecast.smoothing import golden_section_exact, optimal_ses

statsforecast_models = pytest.importorskip("statsforecast.models")

RTOL = 1e-6
ATOL = 1e-10  # [units/period]: zero forecasts, and ones that decay to nothing after long gaps


def reference_model(method: str) -> object:
    """statsforecast's model for one of the intermittent methods."""
    if method == "tsb":
        return statsforecast_models.TSB(alpha_d=0.1, alpha_p=0.1)
    names = {"croston_sba": "CrostonSBA", "adida": "ADIDA", "imapa": "IMAPA"}
    return getattr(statsforecast_models, names[method])()


def reference(method: str, y: np.ndarray) -> np.ndarray:
    """statsforecast's one-step-ahead forecast of every row of ``y``, one series at a time."""
    model: Any = reference_model(method)
    return np.array([model.forecast(y=row.astype(np.float64), h=1)["mean"][0] for row in y])


def assert_matches_statsforecast(y: np.ndarray, **kwargs: object) -> None:
    ours = kernels.intermittent_forecasts(y, **kwargs)  # type: ignore[arg-type]
    for method in kernels.INTERMITTENT_METHODS:
        np.testing.assert_allclose(
            ours[method], reference(method, y), rtol=RTOL, atol=ATOL, err_msg=method
        )


def sparse_series(rng: np.random.Generator, n_series: int, n_days: int) -> np.ndarray:
    """Intermittent daily demand: 1–30 % non-zero days, negative-binomial sizes."""
    rate = rng.uniform(0.01, 0.3, n_series)[:, None]
    sizes = 1 + rng.negative_binomial(2, 0.4, (n_series, n_days))
    return np.where(rng.random((n_series, n_days)) < rate, sizes, 0).astype(np.float64)


# ---------------------------------------------------------------------------------------------
# (a) hand-made edge cases
# ---------------------------------------------------------------------------------------------
def _padded(rows: list[list[float]]) -> list[np.ndarray]:
    return [np.asarray(r, dtype=np.float64) for r in rows]


EDGE_CASES = {
    "all zero": [[0.0] * 40],
    "single zero period": [[0.0]],
    "single period": [[4.0]],
    "two periods": [[0.0, 3.0], [3.0, 0.0], [2.0, 2.0], [2.0, 5.0]],
    "one demand at the start": [[5.0] + [0.0] * 59],
    "one demand at the end": [[0.0] * 59 + [5.0]],
    "one demand in the middle": [[0.0] * 30 + [7.0] + [0.0] * 29],
    "constant": [[3.0] * 50],
    "constant then a change": [[3.0] * 49 + [7.0]],
    "leading zeros": [[0.0] * 45 + [2.0, 0.0, 0.0, 1.0, 0.0, 4.0, 0.0, 0.0, 0.0, 3.0]],
    "trailing zeros": [[2.0, 0.0, 3.0, 1.0, 0.0, 4.0] + [0.0] * 120],
    "two demands far apart": [[0.0] * 100 + [3.0] + [0.0] * 500 + [2.0] + [0.0] * 129],
    "fractional quantities": [[0.0, 0.5, 0.0, 0.0, 1.25, 0.0, 2.75, 0.0, 0.0, 0.5]],
    "large quantities": [[0.0, 1e6, 0.0, 0.0, 2.5e6, 0.0, 3e6, 0.0]],
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_cases_match_statsforecast(case: str) -> None:
    rows = _padded(EDGE_CASES[case])  # type: ignore[arg-type]
    for row in rows:  # one series per call: the rows may differ in length
        assert_matches_statsforecast(row[np.newaxis, :])


def test_all_zero_series_forecast_zero() -> None:
    y = np.zeros((3, 25))
    y[1, 4] = 2.0
    out = kernels.intermittent_forecasts(y)
    for method in kernels.INTERMITTENT_METHODS:
        assert out[method][0] == 0.0 and out[method][2] == 0.0
        assert out[method][1] > 0.0


def test_very_long_gaps_give_high_aggregation_levels() -> None:
    """Demand every 45 days: ADIDA aggregates by round(mean interval) ≥ 30 days, and IMAPA
    averages levels 1 … that level, grouped with different levels in one block of series."""
    rng = np.random.default_rng(3)
    y = np.zeros((12, 730))
    for row in range(12):
        gap = 30 + 5 * row
        days = np.arange(rng.integers(0, gap), 730, gap)
        y[row, days] = rng.integers(1, 6, days.size)
    nonzero = y != 0
    last = np.array([np.flatnonzero(r)[-1] for r in nonzero])
    level = np.round((last + 1) / nonzero.sum(axis=1))
    assert level.min() >= 30
    assert_matches_statsforecast(y)


def test_aggregation_levels_differ_within_one_block() -> None:
    rng = np.random.default_rng(5)
    y = np.concatenate([sparse_series(rng, 40, 365), np.zeros((2, 365))])
    y[:10, :200] = 0.0  # leading zeros: the mean interval counts from before period 0
    assert_matches_statsforecast(y)


# ---------------------------------------------------------------------------------------------
# (b) hypothesis-generated intermittent series
# ---------------------------------------------------------------------------------------------
@st.composite
def intermittent_matrices(draw: st.DrawFn) -> np.ndarray:
    """0–6 series of 1–150 periods; about 10–45 % non-zero periods of 1–50 units."""
    n_series = draw(st.integers(1, 6))
    n_periods = draw(st.integers(1, 150))
    cut = draw(st.integers(60, 100))
    raw = draw(hnp.arrays(np.int64, (n_series, n_periods), elements=st.integers(0, 110)))
    return np.where(raw > cut, raw - cut, 0).astype(np.float64)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(intermittent_matrices())
def test_hypothesis_intermittent_series_match_statsforecast(y: np.ndarray) -> None:
    assert_matches_statsforecast(y)


@settings(max_examples=40, deadline=None)
@given(intermittent_matrices(), st.floats(0.01, 0.9), st.floats(0.01, 0.9))
def test_hypothesis_tsb_parameters_match_statsforecast(
    y: np.ndarray, alpha_d: float, alpha_p: float
) -> None:
    model = statsforecast_models.TSB(alpha_d=alpha_d, alpha_p=alpha_p)
    expected = np.array([model.forecast(y=row, h=1)["mean"][0] for row in y])
    np.testing.assert_allclose(kernels.tsb(y, alpha_d, alpha_p), expected, rtol=RTOL, atol=ATOL)


@settings(max_examples=30, deadline=None)
@given(intermittent_matrices())
def test_forecasts_scale_with_demand(y: np.ndarray) -> None:
    """Doubling every quantity doubles every forecast (and never makes one negative)."""
    once = kernels.intermittent_forecasts(y)
    twice = kernels.intermittent_forecasts(2.0 * y)
    for method in kernels.INTERMITTENT_METHODS:
        assert (once[method] >= 0).all()
        np.testing.assert_allclose(twice[method], 2.0 * once[method], rtol=1e-12, atol=0.0)


# ---------------------------------------------------------------------------------------------
# (c) real M5 daily series
# ---------------------------------------------------------------------------------------------
def m5_daily(shared_data: Path) -> np.ndarray:
    """The 280 M5 store-item series of the tiny set, 1,913 days each (item, store order)."""
    sales = pl.read_parquet(shared_data / "m5_tiny_daily" / "sales_daily.parquet")
    wide = (
        sales.select(
            pl.col("item_id").cast(pl.String),
            pl.col("store_id").cast(pl.String),
            "date",
            pl.col("units").cast(pl.Float64),
        )
        .sort("item_id", "store_id", "date")
        .group_by("item_id", "store_id", maintain_order=True)
        .agg("units")
    )
    return np.array(wide["units"].to_list(), dtype=np.float64)


def test_m5_daily_series_match_statsforecast(shared_data: Path) -> None:
    y = m5_daily(shared_data)
    assert y.shape == (280, 1913)
    # The full history, and the last two years (as the forecast stage reads them).
    assert_matches_statsforecast(y[:, -730:])
    assert_matches_statsforecast(y[:140])


# ---------------------------------------------------------------------------------------------
# Simple exponential smoothing and the golden section behind the optimised alpha
# ---------------------------------------------------------------------------------------------
def smooth_series(rng: np.random.Generator, n_series: int, n_periods: int) -> np.ndarray:
    level = rng.uniform(1, 40, (n_series, 1))
    walk = np.cumsum(rng.normal(0, rng.uniform(0.1, 2, (n_series, 1)), (n_series, n_periods)), 1)
    return np.maximum(level + walk + rng.normal(0, 1, (n_series, n_periods)), 0.0)


@pytest.mark.parametrize("n_periods", [1, 2, 3, 17, 200])
def test_ses_matches_statsforecast(n_periods: int) -> None:
    rng = np.random.default_rng(n_periods)
    y = np.concatenate([smooth_series(rng, 30, n_periods), sparse_series(rng, 30, n_periods)])
    alpha = rng.uniform(0.01, 0.99, y.shape[0])
    expected_fixed = np.array(
        [
            statsforecast_models.SimpleExponentialSmoothing(alpha=a).forecast(y=r, h=1)["mean"][0]
            for r, a in zip(y, alpha, strict=True)
        ]
    )
    np.testing.assert_allclose(kernels.ses(y, alpha), expected_fixed, rtol=1e-12, atol=ATOL)
    optimised = statsforecast_models.SimpleExponentialSmoothingOptimized()
    expected = np.array([optimised.forecast(y=r, h=1)["mean"][0] for r in y])
    np.testing.assert_allclose(kernels.ses_optimised(y, 0.01, 0.99), expected, rtol=RTOL, atol=ATOL)


def test_golden_section_is_statsforecasts_step_for_step() -> None:
    """The vectorised golden section returns statsforecast's alpha bit for bit."""
    golden = statsforecast_models._ses_lib.golden_section_ses
    rng = np.random.default_rng(11)
    for n_periods in (2, 5, 40, 300):
        y = np.concatenate([smooth_series(rng, 40, n_periods), sparse_series(rng, 40, n_periods)])
        ours = golden_section_exact(np.ascontiguousarray(y.T), 0.1, 0.3)
        expected = np.array([golden(row, 0.1, 0.3) for row in y])
        np.testing.assert_array_equal(ours, expected)


def test_optimal_ses_alpha_is_the_golden_section_alpha() -> None:
    rng = np.random.default_rng(12)
    y = np.concatenate([smooth_series(rng, 100, 120), sparse_series(rng, 100, 120)])
    x = np.ascontiguousarray(y.T)
    _, alpha = optimal_ses(x, 0.1, 0.3)
    np.testing.assert_allclose(alpha, golden_section_exact(x, 0.1, 0.3), rtol=0, atol=1e-6)


def test_seasonal_ses_is_ses_of_the_deseasonalised_series() -> None:
    rng = np.random.default_rng(13)
    base = smooth_series(rng, 20, 140)
    index = 1.0 + 0.5 * np.sin(np.arange(140) * 2 * np.pi / 7)[np.newaxis, :]
    level = kernels.seasonal_ses(base * index, index, 0.05, 0.5)
    np.testing.assert_allclose(level, kernels.ses_optimised(base, 0.05, 0.5), rtol=1e-12)
    # Index 1 everywhere is plain optimised SES; an index below min_index counts as min_index.
    ones = np.ones_like(base)
    np.testing.assert_array_equal(
        kernels.seasonal_ses(base, ones, 0.05, 0.5), kernels.ses_optimised(base, 0.05, 0.5)
    )
    tiny = np.full_like(base, 1e-9)
    np.testing.assert_allclose(
        kernels.seasonal_ses(base, tiny, 0.05, 0.5, min_index=0.25),
        kernels.ses_optimised(base / 0.25, 0.05, 0.5),
        rtol=1e-12,
    )


# ---------------------------------------------------------------------------------------------
# Storage, chunking and input checks
# ---------------------------------------------------------------------------------------------
def test_float32_storage_chunks_and_workers_give_the_same_forecasts() -> None:
    rng = np.random.default_rng(17)
    y = sparse_series(rng, 150, 400)
    whole = kernels.intermittent_forecasts(y, chunk_size=1_000, n_jobs=1)
    pieces = kernels.intermittent_forecasts(y.astype(np.float32), chunk_size=37, n_jobs=2)
    for method in kernels.INTERMITTENT_METHODS:
        np.testing.assert_allclose(pieces[method], whole[method], rtol=1e-12, atol=0.0)
        np.testing.assert_allclose(
            whole[method], reference(method, y), rtol=RTOL, atol=ATOL, err_msg=method
        )
    forked = kernels.intermittent_forecasts(y, chunk_size=40, n_jobs=2, processes=True)
    for method in kernels.INTERMITTENT_METHODS:
        np.testing.assert_allclose(forked[method], whole[method], rtol=1e-12, atol=0.0)
    single = {
        "croston_sba": kernels.croston_sba(y),
        "tsb": kernels.tsb(y),
        "adida": kernels.adida(y),
        "imapa": kernels.imapa(y),
    }
    for method, values in single.items():
        np.testing.assert_allclose(values, whole[method], rtol=1e-12, atol=0.0)


def test_empty_input_gives_empty_forecasts() -> None:
    out = kernels.intermittent_forecasts(np.zeros((0, 30)))
    assert all(v.shape == (0,) for v in out.values())
    assert kernels.ses_optimised(np.zeros((0, 30))).shape == (0,)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: kernels.imapa(np.zeros(10)), "2-D array"),
        (lambda: kernels.imapa(np.zeros((2, 0))), "at least one period"),
        (lambda: kernels.croston_sba(-np.ones((1, 5))), "≥ 0"),
        (lambda: kernels.tsb(np.full((1, 5), np.nan)), "finite"),
        (lambda: kernels.tsb(np.ones((1, 5)), alpha_d=1.5), "'alpha_d'"),
        (lambda: kernels.ses(np.ones((2, 5)), np.array([0.1, 0.2, 0.3])), "'alpha'"),
        (lambda: kernels.ses_optimised(np.ones((1, 5)), 0.3, 0.1), "'lower' and 'upper'"),
        (lambda: kernels.intermittent_forecasts(np.ones((1, 5)), ("holt",)), "'methods'"),
        (lambda: kernels.imapa(np.ones((1, 5)), chunk_size=0), "'chunk_size'"),
        (
            lambda: kernels.imapa(-np.ones((9, 5)), chunk_size=3, n_jobs=2, processes=True),
            "≥ 0",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# ---------------------------------------------------------------------------------------------
# Fast paths of the SES search: same numbers as the plain definitions
# ---------------------------------------------------------------------------------------------
def padded_block(seed: int, n_periods: int, n_series: int) -> tuple[np.ndarray, np.ndarray]:
    """Intermittent float64 block (n_periods, n_series) with leading-zero padding per series
    (``first``: the period where each series starts)."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(0.4, 4.0, (n_periods, n_series)) * (rng.random((n_periods, n_series)) < 0.2)
    first = rng.integers(0, n_periods, n_series)
    first[: n_series // 2] = 0
    x[np.arange(n_periods)[:, None] < first] = 0.0
    return x, first


def sse_oracle(x: np.ndarray, alpha: np.ndarray, first: np.ndarray) -> np.ndarray:
    """statsforecast's ``ses_sse`` in plain Python, one series at a time."""
    out = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        level, total = float(x[0, j]), 0.0
        for t in range(1, x.shape[0]):
            level = float(alpha[j]) * float(x[t - 1, j]) + (1.0 - float(alpha[j])) * level
            if t == first[j]:
                level = float(x[t, j])
            err = float(x[t, j]) - level
            total += err * err
        out[j] = total
    return out


@pytest.mark.parametrize(("n_periods", "tile"), [(1, None), (2, None), (70, 1), (70, 64), (130, 7)])
def test_sse_exact_is_statsforecasts_sse_bit_for_bit(n_periods: int, tile: int | None) -> None:
    x, first = padded_block(n_periods, n_periods, 40)
    alpha = np.random.default_rng(1).uniform(0.01, 0.99, 40)
    oracle = sse_oracle(x, alpha, first)
    assert np.array_equal(smoothing.sse_exact(x, alpha, first, tile=tile), oracle)
    unpadded = sse_oracle(x, alpha, np.zeros(40, dtype=np.int64))
    assert np.array_equal(smoothing.sse_exact(x, alpha, tile=tile), unpadded)


def test_sse_of_changes_with_several_alphas_is_one_call_per_alpha() -> None:
    x, _ = padded_block(3, 90, 50)
    changes = np.empty(x.shape, dtype=np.float32)
    changes[0] = x[0]
    changes[1:] = x[1:] - x[:-1]
    alphas = np.random.default_rng(4).uniform(0.1, 0.3, (3, 50))
    stacked = smoothing.sse_of_changes(changes, alphas)
    for row in range(3):
        assert np.array_equal(stacked[row], smoothing.sse_of_changes(changes, alphas[row]))
    np.testing.assert_allclose(stacked[0], sse_oracle(x, alphas[0], np.zeros(50, int)), rtol=1e-3)


@pytest.mark.parametrize(("lower", "upper"), [(0.1, 0.3), (0.01, 0.99)])
@pytest.mark.parametrize("n_periods", [40, 5])
def test_coarse_golden_equals_the_generic_golden_steps(
    lower: float, upper: float, n_periods: int
) -> None:
    rng = np.random.default_rng(5)
    x, _ = padded_block(5, n_periods, 3000)
    x[:, :300] = 2.0  # flat series: equal SSEs stop the search at once
    x[:, 300:] = rng.integers(0, 3, (n_periods, 2700)) if n_periods < 10 else x[:, 300:]
    x[:, 300:600] = rng.integers(0, 2, (n_periods, 300))  # ties and near-ties
    changes = np.empty(x.shape, dtype=np.float32)
    changes[0] = x[0]
    changes[1:] = x[1:] - x[:-1]
    steps = smoothing.coarse_steps(lower, upper)
    generic = smoothing.golden_steps(changes, smoothing.golden_start(changes, lower, upper), steps)
    fast = smoothing.coarse_golden(changes, lower, upper, steps)
    assert (~generic.active).any() and generic.uncertain.any()  # the hard cases are present
    if n_periods == 5 and lower == 0.01:  # series that stop after some steps are present
        stopped = ~generic.active
        assert ((generic.a[stopped] != lower) & (generic.b[stopped] != upper)).any()
    for name in ("a", "b", "c", "d", "active", "uncertain"):
        assert np.array_equal(getattr(fast, name), getattr(generic, name)), name


def test_flat_heads_are_series_with_equal_first_periods() -> None:
    rng = np.random.default_rng(6)
    x = rng.integers(0, 2, (12, 500)).astype(np.float64)
    x[:-1, :100] = 3.0  # flat heads, any last period
    x[:, 100] = 1e-300 * (np.arange(12) % 2)  # changes that underflow in float32: not flat
    changes = np.empty(x.shape, dtype=np.float32)
    changes[0] = x[0]
    np.subtract(x[1:], x[:-1], out=changes[1:], casting="same_kind")
    expected = np.array([len(set(x[:-1, j])) == 1 for j in range(x.shape[1])])
    assert np.array_equal(smoothing._flat_heads(x, changes), expected)
    assert expected[:100].all() and not expected[100]


def test_period_major_takes_rows_in_order() -> None:
    rows = np.random.default_rng(7).random((150, 9)).astype(np.float32)
    order = np.random.default_rng(8).permutation(150)
    out = kernels.period_major(rows, order, tile=16)
    assert out.dtype == np.float64 and out.shape == (9, 150)
    assert np.array_equal(out, rows[order].T.astype(np.float64))
