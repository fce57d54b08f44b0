"""Method choice by rolling-origin backtest, and the daily demand matrix (issue 3, SPEC §3.3).

The backtest (``deadstock.forecast.choose``) is checked against a plain-Python oracle that
refits statsforecast's models at every origin and scores MASE and bias with loops.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deadstock.config import Config, load_config
from deadstock.forecast.choose import CANDIDATES, choose_methods, forecast_levels
from deadstock.forecast.series import daily_matrix
from deadstock.keys import sku_location_keys

statsforecast_models = pytest.importorskip("statsforecast.models")

HORIZON, STEP, ORIGINS = 14, 14, 3


def config(**overrides: object) -> Config:
    values = {
        "forecast_backtest_origins": ORIGINS,
        "forecast_backtest_step_days": STEP,
        "forecast_backtest_horizon_days": HORIZON,
        "forecast_backtest_sample": 100_000,
    }
    return load_config().with_values(**(values | overrides))


def statsforecast_level(method: str, train: list[float], index: list[float]) -> float:
    """The level a method fits on ``train`` (statsforecast, one series)."""
    y = np.array(train)
    if method == "seasonal_ses":
        y = y / np.array(index)
    model: Any
    if method == "tsb":
        model = statsforecast_models.TSB(alpha_d=0.1, alpha_p=0.1)
    elif method in ("seasonal_ses", "ses"):
        model = statsforecast_models.SimpleExponentialSmoothingOptimized()
    else:
        names = {"croston_sba": "CrostonSBA", "adida": "ADIDA", "imapa": "IMAPA"}
        model = getattr(statsforecast_models, names[method])()
    return float(model.forecast(y=y, h=1)["mean"][0])


def oracle(y: np.ndarray, index: np.ndarray, method: str) -> tuple[float | None, float | None]:
    """(mean MASE over scored series-origins, bias) of ``method``, with plain loops."""
    n_days = y.shape[1]
    mases: list[float] = []
    error = actual = 0.0
    for series, season in zip(y.tolist(), index.tolist(), strict=True):
        for origin in range(ORIGINS):
            cut = n_days - HORIZON - origin * STEP
            train, test = series[:cut], series[cut : cut + HORIZON]
            level = statsforecast_level(method, train, season[:cut])
            future = season[cut : cut + HORIZON] if method == "seasonal_ses" else [1.0] * HORIZON
            forecast = [level * s for s in future]
            changes = [abs(train[t] - train[t - 1]) for t in range(1, len(train))]
            scale = sum(changes) / len(changes)
            errors = [f - a for f, a in zip(forecast, test, strict=True)]
            if scale > 0:
                mases.append(sum(abs(e) for e in errors) / HORIZON / scale)
            error += sum(errors)
            actual += sum(test)
    mase = sum(mases) / len(mases) if mases else None
    return mase, (error / actual if actual > 0 else None)


def run_choice(y: np.ndarray, classes: np.ndarray, index: np.ndarray | None = None, **kw: object):
    season = np.ones_like(y) if index is None else index
    return choose_methods(lambda rows: y[rows], lambda rows: season[rows], classes, config(**kw))


def intermittent_demand(rng: np.random.Generator, n_series: int, n_days: int) -> np.ndarray:
    rate = rng.uniform(0.05, 0.4, (n_series, 1))
    sizes = 1 + rng.poisson(2, (n_series, n_days))
    return np.where(rng.random((n_series, n_days)) < rate, sizes, 0).astype(np.float64)


def weekly_demand(rng: np.random.Generator, n_series: int, n_days: int) -> tuple[np.ndarray, ...]:
    """Smooth demand with a strong weekly pattern, and that pattern as the seasonal index."""
    pattern = np.array([0.4, 0.6, 0.8, 1.0, 1.2, 1.5, 1.5])
    index = np.tile(pattern / pattern.mean(), n_days // 7 + 1)[:n_days]
    index = np.broadcast_to(index, (n_series, n_days)).copy()
    base = rng.uniform(5, 20, (n_series, 1))
    return rng.poisson(base * index).astype(np.float64), index


# ---------------------------------------------------------------------------------------------
# The accuracy table against the oracle
# ---------------------------------------------------------------------------------------------
def test_accuracy_table_matches_the_plain_python_oracle() -> None:
    rng = np.random.default_rng(1)
    intermittent = intermittent_demand(rng, 4, 120)
    smooth, index = weekly_demand(rng, 3, 120)
    y = np.concatenate([intermittent, smooth])
    season = np.concatenate([np.ones_like(intermittent), index])
    classes = np.array(["intermittent"] * 4 + ["smooth"] * 3)
    choice = run_choice(y, classes, season)
    table = choice.accuracy
    for cls, rows in (("intermittent", slice(0, 4)), ("smooth", slice(4, 7))):
        for method in CANDIDATES[cls]:
            mase, bias = oracle(y[rows], season[rows], method)
            row = table.filter((pl.col("demand_class") == cls) & (pl.col("method") == method))
            assert row.height == 1
            assert row["n_series"].item() == y[rows].shape[0]
            assert row["mase"].item() == pytest.approx(mase, rel=1e-6)
            assert row["bias"].item() == pytest.approx(bias, rel=1e-6, abs=1e-9)
        best = min(CANDIDATES[cls], key=lambda m: oracle(y[rows], season[rows], m)[0] or np.inf)
        assert choice.methods[cls] == best
        chosen = table.filter((pl.col("demand_class") == cls) & pl.col("chosen"))
        assert chosen["method"].to_list() == [best]
    overall = table.filter(pl.col("demand_class") == "overall")
    assert overall.height >= 1 and overall["chosen"].all()
    assert overall["n_series"].sum() >= 7


def test_seasonal_method_wins_on_seasonal_demand() -> None:
    """With a strong weekly pattern and its index, level × index beats a flat forecast."""
    rng = np.random.default_rng(2)
    y, index = weekly_demand(rng, 30, 140)
    choice = run_choice(y, np.array(["smooth"] * 30), index)
    table = choice.accuracy.filter(pl.col("demand_class") == "smooth")
    mase = dict(zip(table["method"], table["mase"], strict=True))
    assert choice.methods["smooth"] == "seasonal_ses"
    assert mase["seasonal_ses"] < 0.8 * mase["ses"]


def test_the_best_intermittent_method_is_chosen_on_dying_demand() -> None:
    """Demand that stops: the chosen method is the one with the lowest oracle MASE."""
    rng = np.random.default_rng(3)
    y = intermittent_demand(rng, 6, 150)
    y[:, 110:] = 0.0  # obsolescence: nothing sells in the scored windows
    y[:, 100:110] = np.where(y[:, 100:110] > 0, 1.0, 0.0)
    choice = run_choice(y, np.array(["lumpy"] * 6))
    ones = np.ones_like(y)
    oracle_mase = {m: oracle(y, ones, m)[0] for m in CANDIDATES["lumpy"]}
    assert choice.methods["lumpy"] == min(oracle_mase, key=lambda m: oracle_mase[m] or np.inf)


def test_series_without_sales_forecast_zero_and_do_not_sway_the_choice() -> None:
    rng = np.random.default_rng(4)
    y = intermittent_demand(rng, 8, 120)
    classes = np.array(["intermittent"] * 8)
    alone = run_choice(y, classes)
    with_zeros = np.concatenate([y, np.zeros((20, 120))])
    all_classes = np.array(["intermittent"] * 28)
    mixed = run_choice(with_zeros, all_classes)
    assert mixed.methods == alone.methods
    a = alone.accuracy.filter(pl.col("demand_class") == "intermittent").sort("method")
    b = mixed.accuracy.filter(pl.col("demand_class") == "intermittent").sort("method")
    np.testing.assert_allclose(b["mase"].to_numpy(), a["mase"].to_numpy(), rtol=1e-12)
    assert (b["n_series"] == 28).all()
    levels, methods = forecast_levels(with_zeros, np.ones_like(with_zeros), all_classes, mixed)
    assert (levels[8:] == 0).all() and (levels[:8] > 0).all()
    assert set(methods) == {mixed.methods["intermittent"]}


def test_class_whose_series_never_change_gets_no_mase_and_the_first_candidate() -> None:
    y = np.zeros((5, 120))
    choice = run_choice(y, np.array(["erratic"] * 5))
    table = choice.accuracy.filter(pl.col("demand_class") == "erratic")
    assert table["mase"].is_null().all() and table["bias"].is_null().all()
    assert choice.methods["erratic"] == CANDIDATES["erratic"][0]


def test_forecast_levels_follow_the_row_order_and_classes() -> None:
    rng = np.random.default_rng(6)
    intermittent = intermittent_demand(rng, 5, 120)
    smooth, index = weekly_demand(rng, 5, 120)
    y = np.concatenate([intermittent, smooth, np.zeros((2, 120))])
    season = np.concatenate([np.ones_like(intermittent), index, np.ones((2, 120))])
    classes = np.array(["intermittent"] * 5 + ["smooth"] * 5 + ["none"] * 2)
    choice = run_choice(y, classes, season)
    levels, methods = forecast_levels(y, season, classes, choice)
    assert levels.shape == (12,) and methods.shape == (12,)
    assert list(methods[10:]) == [None, None] and (levels[10:] == 0).all()
    order = np.random.default_rng(7).permutation(12)
    shuffled, shuffled_methods = forecast_levels(y[order], season[order], classes[order], choice)
    np.testing.assert_allclose(shuffled, levels[order], rtol=1e-12)
    assert list(shuffled_methods) == list(methods[order])


def test_m5_daily_end_to_end(shared_data: Path) -> None:
    """Real daily series: classes from ADI/CV² of the last 52 weeks, matrix by daily_matrix,
    backtest over every class present: each has a finite MASE and exactly one chosen method."""
    raw = pl.read_parquet(shared_data / "m5_tiny_daily" / "sales_daily.parquet")
    sales = raw.select(
        pl.col("item_id").cast(pl.String).alias("sku"),
        pl.col("store_id").cast(pl.String).alias("location"),
        "date",
        pl.col("units").cast(pl.Float64).alias("qty"),
    ).filter(pl.col("qty") != 0)
    as_of = raw["date"].max()
    keys = sku_location_keys(sales.select("sku", "location").unique())
    y = daily_matrix(sales, keys, as_of, 730)
    weekly = y[:, -364:].reshape(y.shape[0], 52, 7).sum(axis=2)
    weeks_with = (weekly > 0).sum(axis=1)
    adi = np.where(weeks_with > 0, 52 / np.maximum(weeks_with, 1), np.inf)
    sizes = [w[w > 0] for w in weekly]
    cv2 = np.array([(s.std() / s.mean()) ** 2 if s.size else np.inf for s in sizes])
    classes = np.where(
        weeks_with == 0,
        "none",
        np.where(
            adi < 1.32,
            np.where(cv2 < 0.49, "smooth", "erratic"),
            np.where(cv2 < 0.49, "intermittent", "lumpy"),
        ),
    )
    choice = run_choice(
        y,
        classes,
        forecast_backtest_origins=2,
        forecast_backtest_horizon_days=28,
        forecast_backtest_step_days=28,
    )
    table = choice.accuracy
    present = {c for c in classes if c != "none"}
    assert present and set(table["demand_class"]) - {"overall"} == present
    for cls in present:
        rows = table.filter(pl.col("demand_class") == cls)
        assert rows["mase"].is_finite().all()
        assert rows["chosen"].sum() == 1
    levels, _ = forecast_levels(y, np.ones_like(y), classes, choice)
    assert np.isfinite(levels).all() and (levels >= 0).all()
    assert (levels[classes == "none"] == 0).all()


# ---------------------------------------------------------------------------------------------
# The daily demand matrix
# ---------------------------------------------------------------------------------------------
AS_OF = dt.date(2025, 3, 31)


def test_daily_matrix_sums_days_clips_returns_and_keeps_key_order() -> None:
    sales = pl.DataFrame(
        {
            "sku": ["b", "b", "a", "a", "a", "c", "b", "a"],
            "location": ["x", "x", "x", "x", "y", "x", "x", "x"],
            "date": [AS_OF, AS_OF, AS_OF, AS_OF - dt.timedelta(2), AS_OF, AS_OF, AS_OF, AS_OF],
            "qty": [2.0, 3.0, 1.0, 4.0, 6.0, 9.0, -1.0, -5.0],
        }
    ).with_columns(pl.col("date").cast(pl.Date))
    position = pl.DataFrame({"sku": ["b", "a", "a", "z"], "location": ["x", "y", "x", "x"]})
    keys = sku_location_keys(position)  # sorted: (a,x), (a,y), (b,x), (z,x); c is unknown
    y = daily_matrix(sales, keys, AS_OF, 3)
    expected = np.array(
        [
            [4.0, 0.0, 0.0],  # a,x: 4 two days ago; 1 − 5 on the as-of date → 0
            [0.0, 0.0, 6.0],
            [0.0, 0.0, 4.0],  # b,x: 2 + 3 − 1
            [0.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(y, expected)
    assert daily_matrix(sales, keys, AS_OF, 3, dtype=np.float32).dtype == np.float32


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["x", "y"]),
            st.integers(-3, 12),
            st.integers(-4, 6),
        ),
        max_size=60,
    ),
    st.integers(1, 10),
)
def test_daily_matrix_equals_a_loop(rows: list[tuple[str, str, int, int]], n_days: int) -> None:
    sales = pl.DataFrame(
        {
            "sku": [r[0] for r in rows],
            "location": [r[1] for r in rows],
            "date": [AS_OF - dt.timedelta(days=r[2]) for r in rows],
            "qty": [float(r[3]) for r in rows],
        },
        schema={"sku": pl.String, "location": pl.String, "date": pl.Date, "qty": pl.Float64},
    )
    position = pl.DataFrame({"sku": ["a", "b", "a"], "location": ["x", "x", "y"]})
    keys = sku_location_keys(position)
    where = {(s, loc): k for k, s, loc in keys.select("_k", "sku", "location").iter_rows()}
    expected = np.zeros((keys.height, n_days))
    for sku, location, days_ago, qty in rows:
        if (sku, location) in where and 0 <= days_ago < n_days:
            expected[where[(sku, location)], n_days - 1 - days_ago] += qty
    np.testing.assert_allclose(daily_matrix(sales, keys, AS_OF, n_days), np.maximum(expected, 0))


def test_daily_matrix_refuses_a_bad_window() -> None:
    keys = sku_location_keys(pl.DataFrame({"sku": ["a"], "location": ["x"]}))
    empty = pl.DataFrame(
        schema={"sku": pl.String, "location": pl.String, "date": pl.Date, "qty": pl.Float64}
    )
    with pytest.raises(ValueError, match="'n_days'"):
        daily_matrix(empty, keys, AS_OF, 0)
    assert daily_matrix(empty, keys, AS_OF, 5).shape == (1, 5)
