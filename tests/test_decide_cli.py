"""``deadstock decide`` end to end: reference cases, a plain-Python oracle of the thesis model on
extreme hypothesis-generated parameters, every bad input, infeasibility, atomic outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from deadstock.cli.main import app

runner = CliRunner()
DATA = Path(__file__).parent / "data" / "decide"
ORDER = ("keep", "return", "liquidate", "recycle")
HEADER = (
    "sku,excess_units,price,expected_days_in_stock,current_days_in_stock,payment_days,"
    "financed_now,financed_future,holding_cost_per_day,unit_cost,return_eligible,return_price,"
    "return_cost,liquidation_price"
)
GOOD = "A,10,20,100,40,30,1,0,0.01,8,1,7,0.5,2"


def decide(*args: str) -> Any:
    return runner.invoke(app, ["decide", *args])


def one_line_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


# ---------------------------------------------------------------------------------------------
# reference cases (tests/data/decide/thesis_cases.csv: arithmetic in the `working` column)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sets", "column"),
    [((), "expected_action"), (("capacity_limited=1",), "expected_action_capacity_limited")],
)
def test_reference_cases(tmp_path: Path, sets: tuple[str, ...], column: str) -> None:
    args = [str(DATA / "thesis_cases.csv"), "--out", str(tmp_path), "--preset", "thesis"]
    for item in sets:
        args += ["--set", item]
    result = decide(*args)
    assert result.exit_code == 0, result.output
    got = pl.read_csv(tmp_path / "decisions.csv")
    want = pl.read_csv(DATA / "thesis_cases.csv")
    assert got["sku"].to_list() == want["sku"].to_list()
    assert got["action"].to_list() == want[column].to_list()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["warnings"]["input"] >= 1  # the expected_* and working columns are ignored
    assert summary["total_cost"] == pytest.approx(got["cost_action"].sum())
    mix = got["action"].value_counts()
    for action, count in zip(mix["action"], mix["count"], strict=True):
        assert summary["actions"][action]["skus"] == count


def test_happy_path_outputs_and_settings(tmp_path: Path) -> None:
    params = tmp_path / "p.csv"
    params.write_text(f"{HEADER}\n{GOOD}\nB,5,10,,10,30,0,1,0.005,5,1,4.5,0.5,1\n")
    out = tmp_path / "out"
    result = decide(
        str(params),
        "--out",
        str(out),
        "--preset",
        "thesis",
        "--set",
        "avg_margin=3.5",
        "--no-analysis",
    )
    assert result.exit_code == 0, result.output
    assert "Decisions for 2 SKUs" in result.output and "value vs keep-everything" in result.output
    assert {p.name for p in out.iterdir()} == {"decisions.csv", "decisions.parquet", "summary.json"}
    csv = pl.read_csv(out / "decisions.csv")
    parquet = pl.read_parquet(out / "decisions.parquet")
    assert csv["action"].to_list() == parquet["action"].to_list() == ["keep", "return"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["avg_margin"] == 3.5
    assert summary["settings"]["decision_actions"] == list(ORDER)
    assert summary["warnings"] == {"expected_days_defaulted": 1}
    assert summary["solver"]["gap"] == 0.0
    only_csv = tmp_path / "csv"
    written = decide(str(params), "--out", str(only_csv), "--format", "csv", "--no-analysis")
    assert written.exit_code == 0
    assert {p.name for p in only_csv.iterdir()} == {"decisions.csv", "summary.json"}


def test_excel_and_parquet_inputs(tmp_path: Path) -> None:
    frame = pl.read_csv(DATA / "thesis_cases.csv")
    for name, write in (("p.parquet", frame.write_parquet), ("p.xlsx", frame.write_excel)):
        write(tmp_path / name)
        out = tmp_path / name.replace(".", "_")
        result = decide(str(tmp_path / name), "--out", str(out), "--preset", "thesis")
        assert result.exit_code == 0, result.output
        got = pl.read_parquet(out / "decisions.parquet")
        assert got["action"].to_list() == frame["expected_action"].to_list()


def test_keep_list_and_forced_action(tmp_path: Path) -> None:
    frame = pl.read_csv(DATA / "thesis_cases.csv")
    frame = frame.with_columns(
        pl.when(pl.col("sku") == "fast_seller_keep")
        .then(pl.lit("liquidate"))
        .otherwise(None)
        .alias("forced_action")
    )
    frame.write_csv(tmp_path / "p.csv")
    (tmp_path / "keep.csv").write_text("sku\nno_forecast_return\n")
    out = tmp_path / "out"
    keep = str(tmp_path / "keep.csv")
    result = decide(str(tmp_path / "p.csv"), "-o", str(out), "--keep-list", keep)
    assert result.exit_code == 0, result.output
    got = pl.read_csv(out / "decisions.csv").select("sku", "action", "reason")
    rows = {r["sku"]: (r["action"], r["reason"]) for r in got.iter_rows(named=True)}
    assert rows["fast_seller_keep"] == ("liquidate", "forced")
    assert rows["no_forecast_return"] == ("keep", "keep_list")


# ---------------------------------------------------------------------------------------------
# bad inputs: one line, exit 2, nothing written
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "line", "expect"),
    [
        (HEADER.replace(",unit_cost", ""), "A,10,20,100,40,30,1,0,0.01,1,7,0.5,2", "unit_cost"),
        (HEADER, "A,10,20,100,40,30,1,1,0.01,8,1,7,0.5,2", "both 1"),
        (HEADER + ",forced_action", "A,10,20,100,40,30,1,0,0.01,8,0,,,2,return", "contradictory"),
        (HEADER, "A,10,-20,100,40,30,1,0,0.01,8,1,7,0.5,2", "column 'price'"),
        (HEADER, "A,10,20,100,40,30,1,0,0.01,8,1,7,0.5,2\nA,1,2,3,4,5,1,0,0,1,0,,,1", "duplicate"),
        (HEADER, "A,10,20,abc,40,30,1,0,0.01,8,1,7,0.5,2", "not a number"),
        (HEADER, "A,10,20,100,40,30,1,0,0.01,8,1,,0.5,2", "return_price is blank"),
        (HEADER, "A,10,20,100,40,30,7,0,0.01,8,1,7,0.5,2", "0 or 1"),
    ],
)
def test_bad_parameter_files(tmp_path: Path, header: str, line: str, expect: str) -> None:
    params = tmp_path / "params.csv"
    params.write_text(f"{header}\n{line}\n")
    out = tmp_path / "out"
    message = one_line_error(decide(str(params), "--out", str(out)))
    assert message.startswith("error: ") and "params.csv" in message and expect in message
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("--set", "not_a_setting=1"), "Unknown setting 'not_a_setting'"),
        (("--set", "capital_cost_daily=abc"), "capital_cost_daily"),
        (("--preset", "nope"), "Unknown preset 'nope'"),
        (("--format", "xml"), "--format"),
        (("--suppliers", "missing.csv"), "missing.csv"),
    ],
)
def test_bad_settings_and_options(tmp_path: Path, args: tuple[str, ...], expect: str) -> None:
    params = tmp_path / "params.csv"
    params.write_text(f"{HEADER}\n{GOOD}\n")
    out = tmp_path / "out"
    message = one_line_error(decide(str(params), "--out", str(out), *args))
    assert expect in message
    assert not out.exists()


def test_missing_file(tmp_path: Path) -> None:
    assert "nope.csv" in one_line_error(decide(str(tmp_path / "nope.csv")))


def test_infeasible_forced_action_writes_nothing(tmp_path: Path) -> None:
    params = tmp_path / "params.csv"
    params.write_text(f"{HEADER},donation_value,forced_action\n{GOOD},1.5,donate\n")
    out = tmp_path / "out"
    message = one_line_error(decide(str(params), "--out", str(out), "--preset", "thesis"))
    assert message.startswith("infeasible: ") and "'A'" in message and "donate" in message
    assert not out.exists()
    # without the thesis preset donation is an action, and the forced choice is met
    assert decide(str(params), "--out", str(out)).exit_code == 0


def test_failures_leave_previous_outputs_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = tmp_path / "params.csv"
    params.write_text(f"{HEADER}\n{GOOD}\n")
    out = tmp_path / "out"
    assert decide(str(params), "--out", str(out)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    params.write_text(f"{HEADER}\n{GOOD.replace(',20,', ',-1,')}\n")
    assert decide(str(params), "--out", str(out)).exit_code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # a failure while writing (after the Parquet file) leaves the old files and no staging
    params.write_text(f"{HEADER}\n{GOOD.replace(',20,', ',25,')}\n")

    def broken(*_: Any, **__: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        runner.invoke(app, ["decide", str(params), "--out", str(out)], catch_exceptions=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "params.csv"]


def test_supplier_caps_bind(tmp_path: Path) -> None:
    pytest.importorskip("deadstock.decide.coupled", reason="coupled solver not written yet")
    # two SKUs of supplier S1 both prefer return; the cap takes 10 units: the larger gain wins
    params = tmp_path / "params.csv"
    lines = [
        "A,10,10,1095,100,30,1,0,0.01,5,1,9,0,1,S1",
        "B,10,10,1095,100,30,1,0,0.01,5,1,6,0,1,S1",
    ]
    params.write_text(f"{HEADER},supplier_id\n" + "\n".join(lines) + "\n")
    caps = tmp_path / "caps.csv"
    caps.write_text("supplier_id,return_cap_units\nS1,10\n")
    out = tmp_path / "out"
    result = decide(str(params), "--out", str(out), "--preset", "thesis", "--suppliers", str(caps))
    assert result.exit_code == 0, result.output
    got = pl.read_csv(out / "decisions.csv")
    assert got["action"].to_list() == ["return", "liquidate"]
    assert got["reason"].to_list() == ["return_beats_keep", "return_cap_bound"]


def test_capacity_binds_and_forced_keep_beyond_capacity_is_infeasible(tmp_path: Path) -> None:
    pytest.importorskip("deadstock.decide.coupled", reason="coupled solver not written yet")
    params = tmp_path / "params.csv"
    # both SKUs are cheapest kept (keep ≈ 2.1, return ≈ 11.7 per unit); A is forced to keep
    lines = [f"{s},10,20,100,40,30,1,0,0.01,8,1,7,0.5,2,{f}" for s, f in (("A", "keep"), ("B", ""))]
    params.write_text(f"{HEADER},forced_action\n" + "\n".join(lines) + "\n")
    out = tmp_path / "out"
    fits = decide(str(params), "-o", str(out), "--set", "capacity_units=12")
    assert fits.exit_code == 0, fits.output
    got = pl.read_csv(out / "decisions.csv")
    assert got["action"].to_list() == ["keep", "return"]
    assert got["reason"].to_list() == ["forced", "capacity_bound"]
    assert got["runner_up_gap"][1] < 0  # B pays for the space it could not have
    message = one_line_error(decide(str(params), "-o", str(out), "--set", "capacity_units=5"))
    assert message.startswith("infeasible: ")
    assert pl.read_csv(out / "decisions.csv").equals(got)  # the earlier outputs stay


# ---------------------------------------------------------------------------------------------
# a plain-Python oracle of the thesis decision on extreme parameters
# ---------------------------------------------------------------------------------------------
def oracle_costs(p: dict[str, Any], e: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Per action: (cost [currency], scale of its terms) by loops over whole days (SPEC §3.5)."""
    re_, de, s = e["discount_rate_excess"], p["expected_days_in_stock"], p["excess_units"]
    last = math.floor(de)
    holding = sum(p["holding_cost_per_day"] / (1 + re_) ** d for d in range(last + 1))
    if p["financed_now"]:
        days = range(last + 1)
    elif p["financed_future"]:
        days = range(max(math.ceil(p["payment_days"] - p["current_days_in_stock"]), 0), last + 1)
    else:
        days = range(0)
    wc = e["capital_cost_daily"] * p["unit_cost"] * sum(1 / (1 + re_) ** d for d in days)
    d_, l_ = e["avg_days_in_stock"], e["avg_lead_time"]
    margin = e["avg_margin"] / (1 + e["discount_rate_overall"]) ** d_
    cap = e["capacity_limited"] * de / (d_ + l_) * margin
    lost = p["price"] / (1 + re_) ** de
    out = {"keep": ((holding + wc + cap) * s, (holding + wc + abs(cap)) * s)}
    terms = {
        "return": ("return_price", "return_cost"),
        "liquidate": ("liquidation_price", "liquidation_cost"),
        "recycle": ("recycle_price", "recycle_cost"),
    }
    for action, (proceeds, transport) in terms.items():
        if action == "return" and not p["return_eligible"]:
            continue
        if p.get(proceeds) is None:
            continue
        t = p.get(transport) or 0.0
        out[action] = ((t + lost - p[proceeds]) * s, (t + lost + p[proceeds]) * s)
    return out


money = st.one_of(st.sampled_from([0.0, 1e6]), st.floats(0, 1e6))
rate = st.one_of(st.sampled_from([0.0, 0.05]), st.floats(0, 0.05))


@st.composite
def sku_rows(draw: st.DrawFn, index: int) -> dict[str, Any]:
    financing = draw(st.sampled_from(["now", "future", "none"]))
    eligible = draw(st.booleans())
    optional = st.one_of(st.none(), money)
    return {
        "sku": f"s{index}",
        "excess_units": draw(st.one_of(st.sampled_from([0.0, 1e5]), st.floats(0, 1e5))),
        "price": draw(money),
        "expected_days_in_stock": draw(
            st.one_of(st.sampled_from([0.0, 5000.0]), st.floats(0, 5000))
        ),
        "current_days_in_stock": float(draw(st.integers(0, 400))),
        "payment_days": draw(st.floats(0, 400)),
        "financed_now": int(financing == "now"),
        "financed_future": int(financing == "future"),
        "holding_cost_per_day": draw(st.floats(0, 50)),
        "unit_cost": draw(money),
        "return_eligible": int(eligible),
        "return_price": draw(money) if eligible else None,
        "return_cost": draw(optional),
        "liquidation_price": draw(optional),
        "liquidation_cost": draw(optional),
        "recycle_price": draw(optional),
        "recycle_cost": draw(optional),
    }


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, float]]:
    n = draw(st.integers(1, 6))
    rows = [draw(sku_rows(i)) for i in range(n)]
    economy = {
        "capital_cost_daily": draw(st.one_of(st.sampled_from([0.0, 0.01]), st.floats(0, 0.01))),
        "discount_rate_excess": draw(rate),
        "discount_rate_overall": draw(rate),
        "avg_margin": draw(st.floats(0, 100)),
        "avg_days_in_stock": draw(st.floats(1, 365)),
        "avg_lead_time": draw(st.floats(0, 60)),
        "capacity_limited": draw(st.sampled_from([0, 1])),
    }
    return rows, economy


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_cli_matches_a_plain_python_oracle_on_extreme_values(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[list[dict[str, Any]], dict[str, float]]
) -> None:
    rows, economy = case
    folder = tmp_path_factory.mktemp("oracle")
    schema = {k: (pl.String if k == "sku" else pl.Float64) for k in rows[0]}
    pl.DataFrame(rows, schema=schema).write_csv(folder / "params.csv")
    args = [str(folder / "params.csv"), "--out", str(folder / "out"), "--preset", "thesis"]
    args.append("--no-analysis")
    for name, value in economy.items():
        args += ["--set", f"{name}={value!r}"]
    result = decide(*args)
    assert result.exit_code == 0, result.output
    got = pl.read_csv(folder / "out" / "decisions.csv")["action"].to_list()
    for row, action in zip(rows, got, strict=True):
        costs = oracle_costs(row, economy)
        best = min(costs, key=lambda a: (costs[a][0], ORDER.index(a)))
        if action != best:  # a tie within 1e-9 of the size of the terms is either action
            scale = max(1.0, costs[action][1], costs[best][1])
            assert action in costs
            assert abs(costs[action][0] - costs[best][0]) <= 1e-9 * scale, (row, action, best)
