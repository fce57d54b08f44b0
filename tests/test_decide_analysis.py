"""Sensitivity, scenarios, benefit vs current practice and the decision charts."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from matplotlib.colors import to_hex

from deadstock.config import load_config
from deadstock.decide.costs import ACTIONS, THESIS_ACTIONS, Economy
from deadstock.decide.engine import decide_table
from deadstock.decide.plots import ACTION_COLOURS, decision_map, decision_map_frame, tornado
from deadstock.decide.problem import Constraints, build_problem, evaluate
from deadstock.decide.rules import learn_threshold_rules
from deadstock.decide.scenarios import (
    benefit_vs_practice,
    compare_scenarios,
    default_scenarios,
    share_practice,
)
from deadstock.decide.sensitivity import (
    DEFAULT_SETTINGS,
    DEFAULT_STEPS,
    reprice,
    sensitivity,
    swings,
)
from deadstock.decide.solve import solve
from deadstock.errors import ConfigError, InputError

ECONOMY = Economy()
KEEP, RETURN, LIQUIDATE = (ACTIONS.index(a) for a in ("keep", "return", "liquidate"))


def make_params(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    price = rng.uniform(5, 80, n).round(2)
    cost = (price * rng.uniform(0.3, 0.7, n)).round(2)
    eligible = rng.random(n) < 0.4
    return pl.DataFrame(
        {
            "sku": [f"S{i:04d}" for i in range(n)],
            "excess_units": rng.integers(1, 30, n).astype(float),
            "total_units": np.where(rng.random(n) < 0.3, 1.0, rng.integers(2, 40, n)),
            "price": price,
            "unit_cost": cost,
            "expected_days_in_stock": rng.uniform(84, 1095, n).round(0),
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


def decide(params: pl.DataFrame, economy: Economy = ECONOMY, constraints=None):
    problem = build_problem(params, economy, THESIS_ACTIONS, constraints)
    return problem, solve(problem)


# --------------------------------------------------------------------------------------------
# Sensitivity
# --------------------------------------------------------------------------------------------
def test_sensitivity_points_equal_independent_rebuilds():
    params = make_params(300, seed=1)
    frame = sensitivity(params, ECONOMY, THESIS_ACTIONS)
    n_params = 5  # every default column is present
    assert frame.height == (len(DEFAULT_SETTINGS) + n_params) * len(DEFAULT_STEPS) + 2
    _, base = decide(params)
    for name, change in (
        ("capital_cost_daily", -1.0),
        ("discount_rate_excess", 0.5),
        ("avg_lead_time", -0.25),
    ):
        value = getattr(ECONOMY, name) * (1 + change)
        problem, sol = decide(params, replace(ECONOMY, **{name: value}))
        row = frame.filter((pl.col("setting") == name) & (pl.col("change") == change)).row(
            0, named=True
        )
        assert row["value"] == pytest.approx(value)
        assert row["total_cost"] == pytest.approx(sol.objective, rel=1e-12)
        assert row["share_changed"] == pytest.approx(float(np.mean(sol.choice != base.choice)))
        assert row["skus_liquidate"] == int((sol.choice == LIQUIDATE).sum())
        assert row["units_keep"] == pytest.approx(problem.units[sol.choice == KEEP].sum())
        assert row["cost_change"] == pytest.approx(sol.objective - base.objective)
    for column, change in (("price", 0.5), ("liquidation_price", -1.0), ("unit_cost", 0.25)):
        scaled = params.with_columns(pl.col(column) * (1 + change))
        _, sol = decide(scaled)
        row = frame.filter(
            (pl.col("setting") == f"param:{column}") & (pl.col("change") == change)
        ).row(0, named=True)
        assert row["value"] == 1 + change
        assert row["total_cost"] == pytest.approx(sol.objective, rel=1e-12)
    _, limited = decide(params, replace(ECONOMY, capacity_limited=1.0))
    row = frame.filter((pl.col("setting") == "capacity_limited") & (pl.col("value") == 1.0))
    assert row["total_cost"].item() == pytest.approx(limited.objective, rel=1e-12)
    assert (frame["skus_keep"] + frame["skus_return"] + frame["skus_liquidate"] == 300).all()


def test_minus_100_percent_sets_the_setting_to_zero_by_hand():
    """One SKU that can only be kept: keep cost with Cw = 0 is Σ_{d=0..⌊De⌋} Cs/(1+Re)^d."""
    params = pl.DataFrame(
        {
            "sku": ["A"],
            "excess_units": [3.0],
            "price": [10.0],
            "unit_cost": [5.0],
            "expected_days_in_stock": [100.4],
            "holding_cost_per_day": [0.01],
            "financed_now": [1.0],
        }
    )
    frame = sensitivity(params, ECONOMY, THESIS_ACTIONS, settings=("capital_cost_daily",))
    re = ECONOMY.discount_rate_excess
    holding = sum(0.01 / (1 + re) ** d for d in range(101))
    capital = sum(ECONOMY.capital_cost_daily * 5.0 / (1 + re) ** d for d in range(101))
    zero = frame.filter((pl.col("setting") == "capital_cost_daily") & (pl.col("change") == -1.0))
    assert zero["value"].item() == 0.0
    assert zero["total_cost"].item() == pytest.approx(3 * holding, rel=1e-12)
    double = frame.filter((pl.col("setting") == "capital_cost_daily") & (pl.col("change") == 1.0))
    assert double["total_cost"].item() == pytest.approx(3 * (holding + 2 * capital), rel=1e-12)


def test_reprice_equals_build_problem_with_constraints():
    params = make_params(80, seed=2)
    constraints = Constraints(keep_single_items=True, single_item_max_days=365.0)
    base = build_problem(params, ECONOMY, THESIS_ACTIONS, constraints)
    economy = replace(ECONOMY, discount_rate_excess=0.002, capacity_limited=1.0)
    scaled = dict(base.params)
    scaled["holding_cost_per_day"] = scaled["holding_cost_per_day"] * 1.75
    got = reprice(base, economy, scaled)
    want = build_problem(
        params.with_columns(pl.col("holding_cost_per_day") * 1.75),
        economy,
        THESIS_ACTIONS,
        constraints,
    )
    np.testing.assert_allclose(got.cost, want.cost, rtol=1e-12)
    np.testing.assert_array_equal(got.allowed, want.allowed)


def test_sensitivity_rejects_unknown_names():
    params = make_params(10)
    with pytest.raises(ConfigError, match="not global settings"):
        sensitivity(params, ECONOMY, settings=("avg_magin",))
    with pytest.raises(ConfigError, match="Cannot scale"):
        sensitivity(params, ECONOMY, scaled_params=("recycle_price",))


def test_swings_take_the_extreme_changes_and_sort_by_swing():
    frame = pl.DataFrame(
        {
            "setting": ["a"] * 3 + ["b"] * 3,
            "change": [-1.0, 0.0, 1.0, 1.0, 0.0, -1.0],
            "total_cost": [90.0, 100.0, 130.0, 50.0, 100.0, 120.0],
        }
    )
    out = swings(frame)
    assert out["setting"].to_list() == ["b", "a"]
    b = out.row(0, named=True)
    assert (b["low"], b["base"], b["high"], b["swing"]) == (120.0, 100.0, 50.0, 70.0)


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------
def half_price(price: pl.Expr, config) -> pl.Expr:
    """A liquidation price rule for tests: 50 % of price, or 30 % under 'specialised'."""
    share = 0.3 if config.liquidator_policy == "specialised" else 0.5
    return price * share


def test_compare_scenarios_matches_separate_runs():
    params = make_params(400, seed=3)
    config = load_config(preset="thesis")
    frame = compare_scenarios(params, config, liquidation_price=half_price)
    assert frame["scenario"].to_list() == ["base", *default_scenarios()]
    base = decide_table(params, config)
    base_row = frame.row(0, named=True)
    assert base_row["total_cost"] == pytest.approx(base.solution.objective)
    assert base_row["cost_vs_base"] == 0.0
    limited = decide_table(params, config.with_values(capacity_limited=1))
    row = frame.filter(pl.col("scenario") == "capacity_limited").row(0, named=True)
    assert row["total_cost"] == pytest.approx(limited.solution.objective)
    assert row["cost_vs_base"] == pytest.approx(
        limited.solution.objective - base.solution.objective
    )
    assert row["skus_keep"] == int((limited.solution.choice == KEEP).sum())
    # liquidator scenario: the liquidation price recomputed from price
    specialised = decide_table(params.with_columns(liquidation_price=pl.col("price") * 0.3), config)
    row = frame.filter(pl.col("scenario") == "liquidator_specialised").row(0, named=True)
    assert row["total_cost"] == pytest.approx(specialised.solution.objective)
    # single-item retention only changes single items: kept = kept in base, or single (and fast)
    single = params["total_units"].to_numpy() == 1
    days = params["expected_days_in_stock"].to_numpy()
    kept = base.solution.choice == KEEP
    for name, limit in (
        ("single_items_retained", np.inf),
        ("single_items_retained_lt_365d", 365.0),
        ("single_items_retained_lt_182_5d", 182.5),
    ):
        row = frame.filter(pl.col("scenario") == name).row(0, named=True)
        assert row["skus_keep"] == int((kept | (single & (days < limit))).sum())
        assert row["cost_vs_base"] >= -1e-9  # a restriction never lowers the cost
    assert frame.filter(pl.col("scenario") == "single_items_retained")["skus_keep"].item() > int(
        kept.sum()
    )


def test_default_liquidation_price_comes_from_the_run_settings():
    pytest.importorskip("deadstock.decide.from_run")
    params = make_params(200, seed=4)
    config = load_config(preset="thesis")
    frame = compare_scenarios(
        params,
        config,
        {"general_15pct": {"liquidator_policy": "general", "liquidation_recovery": 0.15}},
    )
    want = decide_table(params.with_columns(liquidation_price=pl.col("price") * 0.15), config)
    assert frame["total_cost"][1] == pytest.approx(want.solution.objective)


def test_scenario_errors():
    params = make_params(10)
    config = load_config(preset="thesis")
    with pytest.raises(ConfigError, match="unknown setting"):
        compare_scenarios(params, config, {"x": {"capacity_limted": 1}})
    with pytest.raises(ConfigError, match="base"):
        compare_scenarios(params, config, {"base": {"capacity_limited": 1}})


def test_scenario_constraint_field_override():
    params = make_params(50, seed=6)
    config = load_config(preset="thesis")
    keep = params["sku"].to_list()[:20]
    frame = compare_scenarios(params, config, {"keep_list": {"keep_skus": tuple(keep)}})
    base = decide_table(params, config)
    kept = (base.solution.choice == KEEP) | np.isin(params["sku"].to_numpy(), keep)
    assert frame["skus_keep"][1] == int(kept.sum())


# --------------------------------------------------------------------------------------------
# Benefit vs current practice
# --------------------------------------------------------------------------------------------
def test_keep_all_benefit_by_hand():
    params = make_params(200, seed=7)
    problem, solution = decide(params)
    out = benefit_vs_practice(problem, solution, "keep_all")
    keep_cost = sum(problem.unit_cost_matrix[i, KEEP] * problem.units[i] for i in range(problem.n))
    assert out["practice_cost"] == pytest.approx(keep_cost)
    assert out["optimum_cost"] == pytest.approx(solution.objective)
    assert out["benefit"] == pytest.approx(keep_cost - solution.objective)
    assert out["benefit"] >= 0
    assert out["benefit_pct"] == pytest.approx((keep_cost - solution.objective) / abs(keep_cost))
    assert out["practice_mix"] == {"keep": 1.0}


def shares_by_hand(problem, shares, basis):
    """Plain-Python oracle of the share practice: slowest first, per action in ACTIONS order."""
    n = problem.n
    days = problem.params["expected_days_in_stock"]
    order = sorted(range(n), key=lambda i: (-days[i], i))
    weight = [1.0] * n if basis == "skus" else list(problem.units)
    total = sum(weight)
    choice = [KEEP] * n
    taken = set()
    for j, action in enumerate(ACTIONS):
        if action == "keep" or action not in shares:
            continue
        quota, used = shares[action] * total, 0.0
        for i in order:
            if i in taken or not problem.allowed[i, j]:
                continue
            if basis == "skus" and used >= round(quota):
                break
            if basis == "units" and used >= quota - 1e-9 * total:
                break
            choice[i] = j
            taken.add(i)
            used += weight[i]
    return choice


@pytest.mark.parametrize("basis", ["skus", "units"])
def test_share_practice_equals_plain_python(basis):
    params = make_params(120, seed=8)
    problem, solution = decide(params)
    shares = {"keep": 0.6, "return": 0.15, "liquidate": 0.25}
    choice, reached = share_practice(problem, shares, basis)
    assert choice.tolist() == shares_by_hand(problem, shares, basis)
    out = benefit_vs_practice(problem, solution, shares, basis=basis)
    assert out["practice_cost"] == pytest.approx(evaluate(problem, choice).total_cost)
    assert out["benefit"] >= -1e-9
    if basis == "skus":
        assert reached["liquidate"] == pytest.approx(0.25)


def test_share_practice_errors():
    problem, _ = decide(make_params(10))
    with pytest.raises(ConfigError, match="unknown action"):
        share_practice(problem, {"discount_all": 0.2})
    with pytest.raises(ConfigError, match="sum to at most 1"):
        share_practice(problem, {"keep": 0.9, "liquidate": 0.3})
    with pytest.raises(ConfigError, match="Unknown practice"):
        benefit_vs_practice(problem, solve(problem), "keep_everything")


def test_cascade_stand_in_with_and_without_classification():
    params = make_params(100, seed=9)
    problem, solution = decide(params)
    out = benefit_vs_practice(problem, solution, "cascade")
    days = problem.params["expected_days_in_stock"]
    slowest = sorted(range(problem.n), key=lambda i: (-days[i], i))[:20]
    want = [LIQUIDATE if i in slowest else KEEP for i in range(problem.n)]
    assert out["practice_choice"].tolist() == want
    assert out["benefit"] >= -1e-9
    skus = params["sku"].to_list()
    classification = pl.DataFrame(
        {
            "sku": skus,
            "is_dead": [i % 10 == 0 for i in range(100)],
            "high_season_hold": [i % 20 == 0 for i in range(100)],
            "release_ratio_pct": [(i % 7) / 7 for i in range(100)],
        }
    )
    out = benefit_vs_practice(problem, solution, "cascade", classification=classification)
    deep = [
        (i % 10 == 0 and i % 20 != 0) or (i % 7) / 7 > 0.8 for i in range(100)
    ]  # dead and not held, or the slowest 20 % by release ratio
    assert out["practice_choice"].tolist() == [LIQUIDATE if d else KEEP for d in deep]


def test_fixed_skus_keep_their_action_in_every_practice():
    params = make_params(30, seed=10)
    forced = params["sku"][3]
    problem, solution = decide(params, constraints=Constraints(forced={forced: "liquidate"}))
    for practice in ("keep_all", "cascade", {"return": 0.5}):
        out = benefit_vs_practice(problem, solution, practice)
        assert out["practice_choice"][3] == LIQUIDATE
        assert out["practice_feasible"]


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------
def is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def dots_by_colour(chart) -> dict[str, int]:
    (ax,) = chart.figure.axes
    out = {}
    for collection in ax.collections:
        colour = to_hex(collection.get_facecolor()[0], keep_alpha=False)
        out[colour] = out.get(colour, 0) + len(collection.get_offsets())
    return out


def test_decision_map_draws_every_eligible_sku_in_its_action_colour(tmp_path):
    params = make_params(600, seed=11)
    config = load_config(preset="thesis")
    result = decide_table(params, config)
    rules = learn_threshold_rules(result.problem, result.solution)
    chart = decision_map(result, tmp_path / "decision_map.png", rules=rules.rules, svg=True)
    assert [p.name for p in chart.paths] == ["decision_map.png", "decision_map.svg"]
    assert is_png(chart.paths[0])
    assert chart.paths[1].read_text(encoding="utf-8").lstrip().startswith("<?xml")
    eligible = params["return_eligible"].to_numpy() > 0
    choice = result.solution.choice
    want = {
        ACTION_COLOURS[a]: int((eligible & (choice == ACTIONS.index(a))).sum())
        for a in ACTIONS
        if (eligible & (choice == ACTIONS.index(a))).any()
    }
    assert dots_by_colour(chart) == {k.lower(): v for k, v in want.items()}
    assert chart.counts == {a: want[ACTION_COLOURS[a]] for a in chart.counts}


def test_decision_map_samples_large_plans_reproducibly(tmp_path):
    params = make_params(800, seed=12)
    problem, solution = decide(params)
    frame = decision_map_frame(problem, solution.choice, benefit="best")
    assert frame["best_benefit"].null_count() == 0  # every SKU can be liquidated
    first = decision_map(frame, tmp_path / "a.png", benefit="best", max_points=100, seed=5)
    again = decision_map(
        (problem, solution), tmp_path / "b", benefit="best", max_points=100, seed=5
    )
    assert sum(first.counts.values()) == 100
    assert first.counts == again.counts
    assert first.data["sku"].to_list() == again.data["sku"].to_list()
    assert is_png(again.paths[0]) and again.paths[0].name == "b.png"
    with pytest.raises(InputError):
        decision_map(frame, tmp_path / "c.png", benefit="return")


def test_tornado_bars_follow_the_swings(tmp_path):
    params = make_params(200, seed=13)
    frame = sensitivity(params, ECONOMY, THESIS_ACTIONS)
    chart = tornado(frame, tmp_path / "tornado.png")
    assert is_png(chart.paths[0])
    (ax,) = chart.figure.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    expected = swings(frame)
    assert labels == expected["setting"].to_list()[::-1]  # largest swing on top
    widths = [patch.get_width() for patch in ax.patches]
    lows = (expected["low"] - expected["base"]).to_list()[::-1]
    highs = (expected["high"] - expected["base"]).to_list()[::-1]
    np.testing.assert_allclose(widths, lows + highs)
    top = expected.row(0, named=True)
    assert top["swing"] == pytest.approx(
        max(abs(h - lo) for h, lo in zip(expected["high"], expected["low"], strict=True))
    )
    assert not math.isnan(top["base"])
