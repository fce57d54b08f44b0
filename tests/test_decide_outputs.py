"""The decision analysis as outputs: ``deadstock decide`` and ``deadstock run`` write the rules,
sensitivity, scenarios, benefit vs practice and the charts, checked against plain-Python oracles
and against independent ``deadstock decide`` runs with the changed settings."""

from __future__ import annotations

import io
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from rich.console import Console
from typer.testing import CliRunner

from deadstock.cli.main import app
from deadstock.cli.render import render_warnings
from deadstock.config import load_config
from deadstock.datasets import write_demo_data
from deadstock.datasets.decision_params import generate_params
from deadstock.decide import analysis as decision_analysis
from deadstock.decide.analysis import (
    ANALYSIS_FILES,
    analyse_decisions,
    parse_practice,
    scaled_constraints,
    sensitivity_steps,
    write_analysis,
)
from deadstock.decide.engine import decide_table
from deadstock.decide.problem import Constraints
from deadstock.errors import ConfigError
from deadstock.pipeline import run_pipeline, write_outputs

runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ACTIONS = (
    "keep",
    "return",
    "liquidate",
    "recycle",
    "donate",
    "dispose",
    "markdown",
    "markdown_ladder",
    "fix_listing",
    "bundle",
    "transfer",
)
N_SKUS = 80
SETTINGS = (
    "capital_cost_daily",
    "discount_rate_excess",
    "discount_rate_overall",
    "avg_margin",
    "avg_days_in_stock",
    "avg_lead_time",
)
PARAM_SETTINGS = (
    "param:price",
    "param:holding_cost_per_day",
    "param:return_price",
    "param:liquidation_price",
    "param:unit_cost",
)
# Documented columns (docs/methods.md, "Decision analysis": output files).
RULE_COLUMNS = [
    "order",
    "action",
    "rule",
    "days_threshold",
    "benefit_threshold",
    "skus",
    "units",
    "cost",
    "agreement",
    "total_cost",
    "optimum_cost",
    "loss",
    "loss_pct",
]
SENSITIVITY_COLUMNS = [
    "setting",
    "change",
    "value",
    "total_cost",
    "cost_change",
    "cost_change_pct",
    "share_changed",
    *(f"{kind}_{a}" for a in ACTIONS for kind in ("skus", "units")),
    "gap",
    "skus_analysed",
]
SWING_COLUMNS = [
    "setting",
    "low_change",
    "high_change",
    "low",
    "base",
    "high",
    "swing",
    "swing_pct",
]
SCENARIO_COLUMNS = [
    "scenario",
    "changes",
    "total_cost",
    "cost_vs_base",
    "cost_vs_base_pct",
    "share_changed",
    *(f"{kind}_{a}" for a in ACTIONS for kind in ("skus", "units")),
    "feasible",
    "method",
    "status",
    "gap",
    "skus_analysed",
]
PRACTICE_COLUMNS = [
    "practice",
    "description",
    "practice_cost",
    "optimum_cost",
    "benefit",
    "benefit_pct",
    "practice_feasible",
    "practice_violations",
    *(f"practice_share_{a}" for a in ACTIONS),
    *(f"optimum_share_{a}" for a in ACTIONS),
]


def decide(*args: str) -> Any:
    return runner.invoke(app, ["decide", *args])


def one_line_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def read_csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema_length=None)


@pytest.fixture(scope="module")
def params_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("params")
    path = folder / "params.csv"
    generate_params(N_SKUS, suppliers=5, seed=11).write_csv(path)
    return path


@pytest.fixture(scope="module")
def decided(params_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``deadstock decide`` with the analysis, shares as the practice, 2 steps per side."""
    out = tmp_path_factory.mktemp("decided") / "out"
    result = decide(
        str(params_file),
        "-o",
        str(out),
        "--practice",
        "keep=0.7,liquidate=0.3",
        "--sensitivity-steps",
        "2",
    )
    assert result.exit_code == 0, result.output
    assert "Decision analysis" in result.output and "Benefit vs keep_all" in result.output
    return out


def total_cost_of(params: Path, out: Path, *sets: str) -> float:
    """Total cost of an independent ``deadstock decide`` run without the analysis."""
    args = [str(params), "-o", str(out), "--no-analysis"]
    for item in sets:
        args += ["--set", item]
    result = decide(*args)
    assert result.exit_code == 0, result.output
    return float(json.loads((out / "summary.json").read_text())["total_cost"])


# ---------------------------------------------------------------------------------------------
# deadstock decide: every file, documented columns, valid charts
# ---------------------------------------------------------------------------------------------
def test_decide_writes_every_analysis_file(decided: Path) -> None:
    names = {p.name for p in decided.iterdir()}
    assert names == {"decisions.csv", "decisions.parquet", "summary.json", *ANALYSIS_FILES}
    for chart in ("decision_map.png", "tornado.png"):
        data = (decided / chart).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5_000
    assert read_csv(decided / "decision_rules.csv").columns == RULE_COLUMNS
    assert read_csv(decided / "sensitivity.csv").columns == SENSITIVITY_COLUMNS
    assert read_csv(decided / "sensitivity_swings.csv").columns == SWING_COLUMNS
    assert read_csv(decided / "scenarios.csv").columns == SCENARIO_COLUMNS
    assert read_csv(decided / "practice_benefit.csv").columns == PRACTICE_COLUMNS
    summary = json.loads((decided / "summary.json").read_text())
    assert summary["analysis"]["files"] == list(ANALYSIS_FILES)
    assert not [p for p in decided.parent.iterdir() if p.name.startswith(".out.")]


def test_rules_loss_matches_a_plain_python_replay_of_the_rules(
    decided: Path, params_file: Path
) -> None:
    params = read_csv(params_file)
    decisions = read_csv(decided / "decisions.csv")
    rules = read_csv(decided / "decision_rules.csv").sort("order").rows(named=True)
    days = dict(zip(params["sku"], params["expected_days_in_stock"], strict=True))
    total = 0.0
    for row in decisions.rows(named=True):
        cost = row["cost_keep"]
        for rule in rules:
            action = rule["action"]
            if row[f"cost_{action}"] is None:
                continue  # the SKU cannot take this action
            benefit = -row[f"cost_{action}"] / row[f"{action}_lost_sale"]
            if days[row["sku"]] > float(rule["days_threshold"]) or benefit > float(
                rule["benefit_threshold"]
            ):
                cost = row[f"cost_{action}"]
                break
        total += cost
    optimum = sum(decisions["cost_action"])
    summary = json.loads((decided / "summary.json").read_text())
    got = summary["analysis"]["rules"]
    assert got["total_cost"] == pytest.approx(total, rel=1e-9)
    assert got["optimum_cost"] == pytest.approx(optimum, rel=1e-9)
    assert got["loss"] == pytest.approx(total - optimum, rel=1e-6, abs=1e-6)
    assert got["loss"] >= -1e-9  # uncoupled: the optimum is exact
    assert got["loss_pct"] == pytest.approx((total - optimum) / abs(optimum))
    assert len(got["rules"]) == len(rules) + 1 and got["rules"][-1] == "otherwise keep"


def test_benefit_vs_keep_all_and_vs_shares_match_plain_python(
    decided: Path, params_file: Path
) -> None:
    params = read_csv(params_file)
    decisions = read_csv(decided / "decisions.csv").rows(named=True)
    optimum = sum(r["cost_action"] for r in decisions)
    keep_all = sum(r["cost_keep"] for r in decisions)
    # shares keep=0.7, liquidate=0.3: the 30 % of SKUs with the longest expected days liquidate
    days = params["expected_days_in_stock"].to_list()
    order = sorted(range(len(days)), key=lambda i: -days[i])  # stable: table order on ties
    liquidated = set(order[: round(0.3 * len(days))])
    shares = sum(
        r["cost_liquidate"] if i in liquidated else r["cost_keep"] for i, r in enumerate(decisions)
    )
    summary = json.loads((decided / "summary.json").read_text())["analysis"]
    assert summary["practice"] == "keep=0.7,liquidate=0.3"
    got = summary["practices"]
    assert got["keep_all"]["benefit"] == pytest.approx(keep_all - optimum, rel=1e-9)
    assert summary["benefit_vs_keep_all"] == got["keep_all"]["benefit"] >= 0
    assert got["keep=0.7,liquidate=0.3"]["practice_cost"] == pytest.approx(shares, rel=1e-9)
    table = read_csv(decided / "practice_benefit.csv")
    assert table["practice"].to_list() == ["keep_all", "keep=0.7,liquidate=0.3"]
    assert table["benefit"].to_list() == pytest.approx([keep_all - optimum, shares - optimum])
    assert table["practice_share_liquidate"][1] == pytest.approx(len(liquidated) / len(days))


def test_sensitivity_and_scenarios_match_independent_decide_runs(
    decided: Path, params_file: Path, tmp_path: Path
) -> None:
    sens = read_csv(decided / "sensitivity.csv")
    # 2 steps per side: −100, −50, 0, +50, +100 % for each setting and column; α at 0 and 1
    assert sens.height == (len(SETTINGS) + len(PARAM_SETTINGS)) * 5 + 2
    assert sorted(set(sens["change"])) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert set(sens["setting"]) == {*SETTINGS, *PARAM_SETTINGS, "capacity_limited"}
    assert (sens["skus_analysed"] == N_SKUS).all()
    base = total_cost_of(params_file, tmp_path / "base")
    assert sens.filter(pl.col("change") == 0)["total_cost"].to_list() == pytest.approx(
        [base] * (len(SETTINGS) + len(PARAM_SETTINGS) + 1)
    )

    def point(setting: str, change: float) -> float:
        row = sens.filter((pl.col("setting") == setting) & (pl.col("change") == change))
        assert row.height == 1
        return float(row["total_cost"][0])

    cases = {
        ("discount_rate_excess", -1.0): ("discount_rate_excess=0",),
        ("capital_cost_daily", 0.5): (
            f"capital_cost_daily={load_config(None, []).capital_cost_daily * 1.5!r}",
        ),
        ("capacity_limited", 1.0): ("capacity_limited=1",),
    }
    for (setting, change), sets in cases.items():
        want = total_cost_of(params_file, tmp_path / setting, *sets)
        assert point(setting, change) == pytest.approx(want, rel=1e-9)
    doubled = tmp_path / "doubled.csv"
    read_csv(params_file).with_columns(pl.col("price") * 2).write_csv(doubled)
    assert point("param:price", 1.0) == pytest.approx(
        total_cost_of(doubled, tmp_path / "doubled"), rel=1e-9
    )
    swings = read_csv(decided / "sensitivity_swings.csv")
    top = json.loads((decided / "summary.json").read_text())["analysis"]["sensitivity"]["top"]
    assert [row["setting"] for row in top] == swings["setting"].head(3).to_list()
    assert swings["swing"].to_list() == sorted(swings["swing"].to_list(), reverse=True)

    scenarios = read_csv(decided / "scenarios.csv")
    assert scenarios["scenario"][0] == "base"
    assert scenarios["total_cost"][0] == pytest.approx(base)
    limited = scenarios.filter(pl.col("scenario") == "capacity_limited")
    assert limited["total_cost"][0] == pytest.approx(cases_cost := point("capacity_limited", 1.0))
    assert limited["cost_vs_base"][0] == pytest.approx(cases_cost - base)
    # decide's params give liquidation_price directly: no liquidator scenarios, with a note
    assert not scenarios.filter(pl.col("scenario").str.starts_with("liquidator")).height
    notes = json.loads((decided / "summary.json").read_text())["analysis"]["notes"]
    assert any("liquidator policy scenarios skipped" in n for n in notes)
    assert scenarios.filter(pl.col("scenario").str.starts_with("single_items")).height == 4


# ---------------------------------------------------------------------------------------------
# --no-analysis, stale files, atomic writes
# ---------------------------------------------------------------------------------------------
def test_no_analysis_writes_none_and_removes_an_older_analysis(
    params_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert decide(str(params_file), "-o", str(out), "--sensitivity-steps", "1").exit_code == 0
    assert set(ANALYSIS_FILES) <= {p.name for p in out.iterdir()}
    result = decide(str(params_file), "-o", str(out), "--no-analysis")
    assert result.exit_code == 0, result.output
    assert "Decision analysis" not in result.output
    assert {p.name for p in out.iterdir()} == {"decisions.csv", "decisions.parquet", "summary.json"}
    assert "analysis" not in json.loads((out / "summary.json").read_text())


def test_a_failing_analysis_write_leaves_the_previous_outputs(
    params_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert decide(str(params_file), "-o", str(out), "--no-analysis").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*_: Any, **__: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(decision_analysis, "write_analysis", broken)
    with pytest.raises(OSError, match="disk full"):
        runner.invoke(
            app,
            ["decide", str(params_file), "-o", str(out), "--sensitivity-steps", "1"],
            catch_exceptions=False,
        )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ---------------------------------------------------------------------------------------------
# option errors: one line, exit 2, nothing written; brackets survive Rich markup
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("--practice", "keep=0.7,liquid=0.3"), "'liquid=0.3' is not action=share"),
        (("--practice", "keep=abc"), "share 'abc' of 'keep' is not a number"),
        (("--practice", "keep=0.8,liquidate=0.3"), "sum to 1.1"),
        (("--practice", "liquidate=1.5"), "must be in [0, 1]"),
        (("--practice", "keep=0.5,keep=0.2"), "given twice"),
        (("--practice", "sometimes"), "unknown practice 'sometimes'"),
        (("--sensitivity-steps", "0"), "int in [1, 50]. Got 0"),
        (("--set", "[columns.x]=1"), "Unknown setting '[columns.x]'"),
    ],
)
def test_option_errors_are_one_clear_line(
    params_file: Path, tmp_path: Path, args: tuple[str, ...], expect: str
) -> None:
    out = tmp_path / "out"
    message = one_line_error(decide(str(params_file), "-o", str(out), *args))
    assert message.startswith("error: ") and expect in message
    assert not out.exists()


def test_brackets_survive_warnings_and_help() -> None:
    buffer = io.StringIO()
    render_warnings(Console(file=buffer, width=200), ["see [columns.x] and [settings]"])
    assert buffer.getvalue().strip() == "warning: see [columns.x] and [settings]"
    result = runner.invoke(app, ["decide", "--help"], env={"COLUMNS": "200"})
    assert "([settings], [tables], [columns])" in result.output


def test_parse_practice_and_steps() -> None:
    assert parse_practice(" keep_all ") == "keep_all" and parse_practice("cascade") == "cascade"
    assert parse_practice("keep=70%, liquidate=0.3") == {"keep": 0.7, "liquidate": 0.3}
    assert sensitivity_steps(2) == (-1.0, -0.5, 0.0, 0.5, 1.0)
    assert sensitivity_steps(4) == (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0)
    with pytest.raises(ConfigError):
        sensitivity_steps(True)


# ---------------------------------------------------------------------------------------------
# the library: samples of large problems, an empty problem
# ---------------------------------------------------------------------------------------------
def test_scaled_constraints_scale_every_limit() -> None:
    caps = pl.DataFrame(
        {"supplier_id": ["V1"], "return_cap_units": [100.0], "return_cap_value": [50.0]}
    )
    places = pl.DataFrame({"location": ["a"], "capacity_units": [10.0], "capacity_volume": [4.0]})
    c = Constraints(
        capacity_units=1000.0,
        capacity_volume=None,
        supplier_caps=caps,
        min_liquidation_lot=40.0,
        keep_skus=("X",),
        location_capacity=places,
    )
    s = scaled_constraints(c, 0.25)
    assert (s.capacity_units, s.capacity_volume, s.min_liquidation_lot) == (250.0, None, 10.0)
    assert s.supplier_caps is not None and s.location_capacity is not None
    assert s.supplier_caps.row(0) == ("V1", 25.0, 12.5)
    assert s.location_capacity.row(0) == ("a", 2.5, 1.0)
    assert s.keep_skus == ("X",)


def test_sensitivity_and_scenarios_use_a_seeded_sample_of_large_problems() -> None:
    config = load_config(None, [])
    params = generate_params(300, suppliers=5, seed=4)
    result = decide_table(params, config)
    found = analyse_decisions(
        result.problem, result.solution, params, config, steps=(-1.0, 0.0, 1.0), sample_skus=60
    )
    rows = np.sort(np.random.default_rng(0).choice(300, size=60, replace=False))
    sample = decide_table(params[rows], config)
    base = found.sensitivity.filter(pl.col("change") == 0)["total_cost"]
    assert base.to_list() == pytest.approx([sample.solution.objective] * base.len())
    assert found.scenarios["total_cost"][0] == pytest.approx(sample.solution.objective)
    assert found.summary["sample"] == {"skus": 60, "of": 300, "seed": 0}
    assert (found.sensitivity["skus_analysed"] == 60).all()
    assert any("sample of 60 of 300 SKUs" in note for note in found.notes)
    # rules and practices still use every SKU
    assert found.summary["rules"]["optimum_cost"] == pytest.approx(result.solution.objective)


def test_no_sku_writes_the_tables_and_skips_the_charts(tmp_path: Path) -> None:
    config = load_config(None, [])
    params = generate_params(3, seed=1).head(0)
    result = decide_table(params, config)
    found = analyse_decisions(result.problem, result.solution, params, config, steps=(0.0, 1.0))
    written = write_analysis(found, tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert names == set(decision_analysis.TABLE_FILES.values()) == set(found.files)
    assert set(written) == set(decision_analysis.TABLE_FILES)
    assert any("charts skipped" in note for note in found.notes)
    assert found.summary["benefit_vs_keep_all"] == 0.0
    assert found.summary["rules"]["loss_pct"] is None  # 0 / 0, JSON-safe


# ---------------------------------------------------------------------------------------------
# deadstock run: the demo retailer
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_data(folder, n_skus=120, n_locations=2, seed=3)
    return folder


@pytest.fixture(scope="module")
def demo_run(demo_folder: Path) -> Any:
    return run_pipeline(demo_folder, load_config(None, []))


def test_demo_run_writes_the_analysis(demo_run: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_outputs(demo_run, out)
    names = {p.name for p in out.iterdir()}
    assert set(ANALYSIS_FILES) <= names
    for chart in ("decision_map.png", "tornado.png"):
        assert (out / chart).read_bytes()[:8] == PNG_MAGIC
    summary = json.loads((out / "summary.json").read_text())
    block = summary["decisions"]["analysis"]
    decisions = demo_run.decisions
    # the analysis prices the run's own plan: its optimum is the decisions' total cost
    assert block["rules"]["optimum_cost"] == pytest.approx(float(decisions["cost_action"].sum()))
    keep_all = float(decisions["cost_keep"].sum() - decisions["cost_action"].sum())
    assert block["practices"]["keep_all"]["benefit"] == pytest.approx(keep_all)
    assert block["benefit_vs_keep_all"] >= -1e-6
    assert math.isfinite(block["rules"]["loss"])
    assert set(block["practices"]) == {"keep_all", "cascade"}
    # a run prices the liquidator policies from the price: those scenarios are there
    scenarios = read_csv(out / "scenarios.csv")
    assert {"liquidator_general", "liquidator_specialised", "liquidator_hybrid"} <= set(
        scenarios["scenario"]
    )
    assert "decision analysis" in summary["timings_s"]
    assert read_csv(out / "sensitivity.csv").columns[:3] == ["setting", "change", "value"]
    # a later run without the analysis removes the older analysis files
    write_outputs(replace(demo_run, decision_analysis=None), out)
    assert not set(ANALYSIS_FILES) & {p.name for p in out.iterdir()}


def test_run_analysis_rebuilds_the_run_constraints(demo_folder: Path) -> None:
    # α = 1 with per-location room: the room's shadow price replaces α, so a rebuilt problem
    # without the locations' room would price the plan differently
    config = load_config(None, ["capacity_limited=1", "use_location_capacity=true"])
    result = run_pipeline(demo_folder, config)
    found = result.decision_analysis
    assert found is not None and found.problem is not None
    assert found.problem.constraints.location_capacity is not None
    block = result.summary()["decisions"]["analysis"]
    assert block["rules"]["optimum_cost"] == pytest.approx(
        float(result.decisions["cost_action"].sum()), rel=1e-9
    )
    assert not [note for note in block["notes"] if "rebuilt problem" in note]
