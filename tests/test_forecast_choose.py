"""Method choice by rolling-origin backtest (SPEC §3.3): MASE and bias against a plain-Python
oracle, and the choice on series built so that one method must win."""

from __future__ import annotations

import numpy as np
import pytest

from deadstock.config import load_config
from deadstock.forecast.choose import choose_methods, forecast_levels, levels_of

CONFIG = load_config(
    None,
    [
        "forecast_backtest_origins=2",
        "forecast_backtest_step_days=14",
        "forecast_backtest_horizon_days=14",
    ],
)


def _oracle(y: np.ndarray, method: str, config=CONFIG) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Mean MASE and bias of one method over series and origins, in plain Python."""
    horizon = config.forecast_backtest_horizon_days
    step = config.forecast_backtest_step_days
    mases, errors, actuals = [], 0.0, 0.0
    for origin in range(config.forecast_backtest_origins):
        cut = y.shape[1] - horizon - origin * step
        for row in y:
            train, test = row[:cut], row[cut : cut + horizon]
            level = float(levels_of(method, train[None, :], None)[0])
            scale = sum(abs(train[i] - train[i - 1]) for i in range(1, len(train))) / (
                len(train) - 1
            )
            errors += sum(level - a for a in test)
            actuals += sum(test)
            if scale > 0:
                mases.append(sum(abs(level - a) for a in test) / horizon / scale)
    return sum(mases) / len(mases), errors / actuals


def test_mase_and_bias_match_a_plain_python_oracle() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random((12, 120)) < 0.15) * rng.integers(1, 6, (12, 120)).astype(float)
    classes = np.array(["intermittent"] * 12)
    choice = choose_methods(
        lambda rows: y[rows], lambda rows: np.ones((rows.size, 120)), classes, CONFIG
    )
    table = choice.accuracy
    for method in ("croston_sba", "tsb", "adida", "imapa"):
        mase, bias = _oracle(y, method)
        row = table.filter((table["demand_class"] == "intermittent") & (table["method"] == method))
        assert row["mase"][0] == pytest.approx(mase, rel=1e-9)
        assert row["bias"][0] == pytest.approx(bias, rel=1e-9)
    chosen = table.filter(table["chosen"] & (table["demand_class"] == "intermittent"))
    assert chosen.height == 1
    assert chosen["mase"][0] == table.filter(table["demand_class"] == "intermittent")["mase"].min()


def test_seasonal_ses_wins_on_strongly_seasonal_smooth_series() -> None:
    days = 364
    t = np.arange(days)
    index = 1 + 0.8 * np.sin(2 * np.pi * t / 91)  # a quarterly cycle, mean ≈ 1
    rng = np.random.default_rng(1)
    y = 20 * index[None, :] + rng.normal(0, 0.5, (30, days))
    classes = np.array(["smooth"] * 30)
    config = load_config(None, ["forecast_backtest_origins=3"])
    choice = choose_methods(
        lambda rows: y[rows], lambda rows: np.tile(index, (rows.size, 1)), classes, config
    )
    assert choice.methods["smooth"] == "seasonal_ses"
    levels, methods = forecast_levels(y, np.tile(index, (30, 1)), classes, choice)
    assert (methods == "seasonal_ses").all()
    assert levels == pytest.approx(np.full(30, 20.0), rel=0.05)  # the deseasonalised level


def test_series_without_demand_get_no_method_and_zero() -> None:
    y = np.zeros((4, 100))
    y[0, ::7] = 3.0
    classes = np.array(["intermittent", "none", "none", "none"])
    choice = choose_methods(
        lambda rows: y[rows], lambda rows: np.ones((rows.size, 100)), classes, CONFIG
    )
    assert set(choice.methods) == {"intermittent"}
    levels, methods = forecast_levels(y, np.ones_like(y), classes, choice)
    assert levels[1:].tolist() == [0.0, 0.0, 0.0]
    assert methods[1:].tolist() == [None, None, None]
    assert levels[0] > 0
    overall = choice.accuracy.filter(choice.accuracy["demand_class"] == "overall")
    assert overall["n_series"][0] == 1
