"""The markdown cascade baseline (SPEC §3.5 industry rule): hand cases, precedence, oracle."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deadstock.config import load_config
from deadstock.decide.cascade import CascadeSettings, cascade_discounts
from deadstock.errors import ConfigError, InputError

SCHEMA: dict[str, Any] = {
    "sku": pl.String,
    "location": pl.String,
    "on_hand": pl.Float64,
    "is_dead": pl.Boolean,
    "week_type_now": pl.Int8,
    "weeks_to_high_season": pl.Int64,
    "projected_stock_days": pl.Float64,
    "velocity_band": pl.String,
    "release_ratio_pct": pl.Float64,
}
#: A stocked, very slow row on which no branch fires: off-season week, middle release rank.
NEUTRAL: dict[str, Any] = {
    "sku": "x",
    "location": "main",
    "on_hand": 10.0,
    "is_dead": False,
    "week_type_now": 0,
    "weeks_to_high_season": None,
    "projected_stock_days": 100.0,
    "velocity_band": "very_slow",
    "release_ratio_pct": 0.5,
}


def one(settings: CascadeSettings | None = None, **changes: Any) -> dict[str, Any]:
    frame = pl.DataFrame([{**NEUTRAL, **changes}], schema=SCHEMA)
    return cascade_discounts(frame, settings).row(0, named=True)


@pytest.mark.parametrize(
    ("changes", "discount", "rule"),
    [
        ({}, 0.0, "none"),
        ({"is_dead": True}, 0.50, "dead"),
        ({"week_type_now": 3}, 0.25, "post_peak_long_block"),
        ({"week_type_now": 3, "velocity_band": "slow"}, 0.25, "post_peak_long_block"),
        ({"week_type_now": 3, "velocity_band": "normal"}, 0.0, "none"),
        ({"week_type_now": 4}, 0.15, "spot"),
        ({"week_type_now": 4, "velocity_band": "fast"}, 0.0, "none"),
        ({"week_type_now": 4, "velocity_band": None}, 0.0, "none"),
        ({"week_type_now": 1, "projected_stock_days": 31.0}, 0.25, "high_season_overstock"),
        ({"week_type_now": 2, "projected_stock_days": 30.5}, 0.25, "high_season_overstock"),
        ({"week_type_now": 2, "projected_stock_days": 30.0}, 0.0, "none"),
        ({"week_type_now": 2, "projected_stock_days": None}, 0.25, "high_season_overstock"),
        (
            {"week_type_now": 1, "projected_stock_days": 40.0, "velocity_band": "normal"},
            0.25,
            "high_season_overstock",
        ),
        ({"week_type_now": 0, "projected_stock_days": None}, 0.0, "none"),
        ({"release_ratio_pct": 0.85}, 0.50, "release_ratio_bottom_20"),
        ({"release_ratio_pct": 1.0}, 0.50, "release_ratio_bottom_20"),
        ({"release_ratio_pct": 0.8}, 0.25, "release_ratio_bottom_40"),
        ({"release_ratio_pct": 0.65}, 0.25, "release_ratio_bottom_40"),
        ({"release_ratio_pct": 0.6}, 0.0, "none"),
        ({"release_ratio_pct": 0.05}, 0.0, "none"),
        ({"release_ratio_pct": None}, 0.0, "none"),
        ({"week_type_now": None}, 0.0, "none"),
        # no stock on hand: nothing to mark down, whatever the other columns say
        ({"on_hand": 0.0, "release_ratio_pct": 1.0, "week_type_now": 3}, 0.0, "none"),
        ({"on_hand": None, "week_type_now": 4}, 0.0, "none"),
    ],
)
def test_each_branch_by_hand(changes: dict[str, Any], discount: float, rule: str) -> None:
    out = one(**changes)
    assert out["cascade_discount"] == discount
    assert out["cascade_rule"] == rule
    assert out["held"] is False


@pytest.mark.parametrize(
    ("changes", "discount", "rule"),
    [
        # spot 15 % and release bottom 40 % (25 %): the deeper wins
        ({"week_type_now": 4, "release_ratio_pct": 0.7}, 0.25, "release_ratio_bottom_40"),
        # long block 25 % and bottom 40 % 25 %: a tie goes to the branch listed first
        ({"week_type_now": 3, "release_ratio_pct": 0.7}, 0.25, "post_peak_long_block"),
        # dead 50 % and bottom 20 % 50 %: tie, dead is listed first
        ({"is_dead": True, "release_ratio_pct": 0.9}, 0.50, "dead"),
        # high season 25 % and bottom 20 % 50 %
        (
            {"week_type_now": 1, "projected_stock_days": 90.0, "release_ratio_pct": 0.95},
            0.50,
            "release_ratio_bottom_20",
        ),
        # dead in a long block: 50 % beats 25 %
        ({"is_dead": True, "week_type_now": 3}, 0.50, "dead"),
    ],
)
def test_the_deepest_discount_wins(changes: dict[str, Any], discount: float, rule: str) -> None:
    out = one(**changes)
    assert (out["cascade_discount"], out["cascade_rule"], out["held"]) == (discount, rule, False)


@pytest.mark.parametrize(
    ("weeks", "held"), [(1, True), (2, True), (4, True), (5, False), (0, False), (None, False)]
)
def test_the_hold_wins_over_everything_before_high_season(weeks: int | None, held: bool) -> None:
    out = one(is_dead=True, release_ratio_pct=1.0, week_type_now=3, weeks_to_high_season=weeks)
    if held:
        assert (out["cascade_discount"], out["cascade_rule"], out["held"]) == (
            0.0,
            "hold_high_season",
            True,
        )
    else:
        assert (out["cascade_discount"], out["cascade_rule"], out["held"]) == (0.50, "dead", False)


def test_a_high_season_under_way_does_not_hold_its_overstock() -> None:
    out = one(week_type_now=2, projected_stock_days=60.0, weeks_to_high_season=0)
    assert (out["cascade_discount"], out["cascade_rule"], out["held"]) == (
        0.25,
        "high_season_overstock",
        False,
    )


def test_the_hold_only_marks_rows_that_would_have_been_marked_down() -> None:
    out = one(weeks_to_high_season=2)
    assert (out["cascade_discount"], out["cascade_rule"], out["held"]) == (0.0, "none", False)


def test_hold_weeks_is_a_setting() -> None:
    assert one(CascadeSettings(hold_weeks=6), is_dead=True, weeks_to_high_season=6)["held"]
    assert not one(CascadeSettings(hold_weeks=0), is_dead=True, weeks_to_high_season=1)["held"]


def test_levels_and_thresholds_are_settings() -> None:
    custom = CascadeSettings(
        spot_discount=0.6,
        high_season_stock_days=10.0,
        release_deep_share=0.1,
        release_mid_share=0.3,
        release_mid_discount=0.35,
    )
    assert one(custom, is_dead=True, week_type_now=4)["cascade_rule"] == "spot"
    assert one(custom, is_dead=True, week_type_now=4)["cascade_discount"] == 0.6
    high = one(custom, week_type_now=1, projected_stock_days=12.0)
    assert high["cascade_rule"] == "high_season_overstock"
    assert one(custom, release_ratio_pct=0.85)["cascade_rule"] == "release_ratio_bottom_30"
    assert one(custom, release_ratio_pct=0.85)["cascade_discount"] == 0.35
    assert one(custom, release_ratio_pct=0.95)["cascade_rule"] == "release_ratio_bottom_10"
    same_share = CascadeSettings(release_deep_share=0.3, release_mid_share=0.3)
    both = one(same_share, release_ratio_pct=0.9)
    assert (both["cascade_rule"], both["cascade_discount"]) == ("release_ratio_bottom_30", 0.5)


def test_release_ratio_bottom_means_the_slowest_ranks() -> None:
    """Ten stocked rows ranked 1..10 by release ratio (10 = slowest to release its value)."""
    rows = [{**NEUTRAL, "sku": f"s{k}", "release_ratio_pct": k / 10} for k in range(1, 11)]
    out = cascade_discounts(pl.DataFrame(rows, schema=SCHEMA))
    by_sku = dict(zip(out["sku"], out["cascade_discount"], strict=True))
    assert [by_sku[f"s{k}"] for k in range(1, 11)] == [0.0] * 6 + [0.25, 0.25, 0.5, 0.5]


def test_output_keeps_rows_and_order_and_types() -> None:
    rows = [
        {**NEUTRAL, "sku": s, "location": loc} for s, loc in [("b", "2"), ("a", "1"), ("a", "0")]
    ]
    out = cascade_discounts(pl.DataFrame(rows, schema=SCHEMA))
    assert out.columns == ["sku", "location", "cascade_discount", "cascade_rule", "held"]
    assert out["sku"].to_list() == ["b", "a", "a"]
    assert out["location"].to_list() == ["2", "1", "0"]
    assert out.schema["cascade_discount"] == pl.Float64
    assert out.schema["held"] == pl.Boolean
    empty = cascade_discounts(pl.DataFrame(schema=SCHEMA))
    assert empty.height == 0 and empty.columns == out.columns


def test_a_missing_column_names_the_table_and_the_fix() -> None:
    frame = pl.DataFrame([NEUTRAL], schema=SCHEMA).drop("weeks_to_high_season")
    with pytest.raises(InputError) as info:
        cascade_discounts(frame)
    assert info.value.column == "weeks_to_high_season"
    assert info.value.file == "classification"


@pytest.mark.parametrize(
    "bad",
    [
        {"dead_discount": 1.5},
        {"spot_discount": -0.1},
        {"hold_weeks": 2.5},
        {"hold_weeks": 60},
        {"high_season_stock_days": -1.0},
        {"release_deep_share": True},
    ],
)
def test_bad_settings_are_config_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="cascade_"):
        CascadeSettings(**bad)


def test_settings_come_from_the_config(tmp_path: Path) -> None:
    assert CascadeSettings.from_config(load_config()) == CascadeSettings()
    path = tmp_path / "deadstock.toml"
    path.write_text("[settings]\ncascade_hold_weeks = 2\n", encoding="utf-8")
    config = load_config(path, ["cascade_spot_discount=0.2", "cascade_release_mid_share=0.3"])
    assert CascadeSettings.from_config(config) == replace(
        CascadeSettings(), hold_weeks=2, spot_discount=0.2, release_mid_share=0.3
    )
    with pytest.raises(ConfigError):
        load_config(None, ["cascade_dead_discount=2"])


# ------------------------------------------------------------------------------------------------
# Plain-Python oracle over random classification rows
# ------------------------------------------------------------------------------------------------
DENOMINATOR = 20  # release ranks k/20 and shares j/20, compared exactly in integers


def oracle(row: dict[str, Any], rank: int | None, s: CascadeSettings, shares: tuple[int, int]):
    """(discount, rule, held) of one row, branch by branch as SPEC §3.5 states them."""
    if not (row["on_hand"] is not None and row["on_hand"] > 0):
        return 0.0, "none", False
    slow = row["velocity_band"] in ("slow", "very_slow", "non_moving")
    week = row["week_type_now"]
    days = row["projected_stock_days"]
    deep, mid = shares
    fired = []
    if row["is_dead"]:
        fired.append(("dead", s.dead_discount))
    if week == 3 and slow:
        fired.append(("post_peak_long_block", s.long_block_discount))
    if week == 4 and slow:
        fired.append(("spot", s.spot_discount))
    if week in (1, 2) and (days is None or days > s.high_season_stock_days):
        fired.append(("high_season_overstock", s.high_season_discount))
    if rank is not None and rank + deep > DENOMINATOR:
        fired.append((f"release_ratio_bottom_{deep * 100 // DENOMINATOR}", s.release_deep_discount))
    if rank is not None and rank + mid > DENOMINATOR:
        fired.append((f"release_ratio_bottom_{mid * 100 // DENOMINATOR}", s.release_mid_discount))
    if not fired:
        return 0.0, "none", False
    weeks = row["weeks_to_high_season"]
    if weeks is not None and 1 <= weeks <= s.hold_weeks:
        return 0.0, "hold_high_season", True
    best = max(level for _, level in fired)
    rule = next(name for name, level in fired if level == best)
    return best, rule, False


levels = st.sampled_from([0.0, 0.15, 0.25, 0.5, 0.6])
rows = st.fixed_dictionaries(
    {
        "on_hand": st.one_of(st.none(), st.sampled_from([0.0, -1.0, 1.0, 5.5])),
        "is_dead": st.one_of(st.none(), st.booleans()),
        "week_type_now": st.one_of(st.none(), st.integers(0, 4)),
        "weeks_to_high_season": st.one_of(st.none(), st.integers(0, 10)),
        "projected_stock_days": st.one_of(
            st.none(), st.sampled_from([0.0, 10.0, 29.5, 30.0, 30.5, 45.0, 200.0])
        ),
        "velocity_band": st.one_of(
            st.none(),
            st.sampled_from(["fast", "normal", "slow", "very_slow", "non_moving", "out_of_stock"]),
        ),
        "rank": st.one_of(st.none(), st.integers(1, DENOMINATOR)),
    }
)


@settings(max_examples=150, deadline=None)
@given(
    table=st.lists(rows, min_size=0, max_size=25),
    dead=levels,
    long_block=levels,
    spot=levels,
    high=levels,
    deep=levels,
    mid=levels,
    stock_days=st.sampled_from([0.0, 30.0, 45.0]),
    hold_weeks=st.integers(0, 6),
    shares=st.tuples(st.integers(0, DENOMINATOR), st.integers(0, DENOMINATOR)),
)
def test_cascade_equals_a_plain_python_oracle(
    table: list[dict[str, Any]],
    dead: float,
    long_block: float,
    spot: float,
    high: float,
    deep: float,
    mid: float,
    stock_days: float,
    hold_weeks: int,
    shares: tuple[int, int],
) -> None:
    s = CascadeSettings(
        dead_discount=dead,
        long_block_discount=long_block,
        spot_discount=spot,
        high_season_discount=high,
        high_season_stock_days=stock_days,
        hold_weeks=hold_weeks,
        release_deep_share=shares[0] / DENOMINATOR,
        release_deep_discount=deep,
        release_mid_share=shares[1] / DENOMINATOR,
        release_mid_discount=mid,
    )
    frame = pl.DataFrame(
        [
            {
                **{k: v for k, v in row.items() if k != "rank"},
                "sku": f"s{i}",
                "location": "main",
                "release_ratio_pct": None if row["rank"] is None else row["rank"] / DENOMINATOR,
            }
            for i, row in enumerate(table)
        ],
        schema=SCHEMA,
    )
    out = cascade_discounts(frame, s)
    assert out.height == len(table)
    for i, row in enumerate(table):
        got = out.row(i, named=True)
        assert got["sku"] == f"s{i}"
        want = oracle(row, row["rank"], s, shares)
        assert (got["cascade_discount"], got["cascade_rule"], got["held"]) == want


# ------------------------------------------------------------------------------------------------
# On the classification of a real run
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_classification(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    from deadstock.datasets.io import write_demo_data
    from deadstock.pipeline import run_pipeline

    folder = tmp_path_factory.mktemp("cascade_demo")
    write_demo_data(folder, n_skus=120, dirty=False, fmt="parquet", n_locations=1)
    return run_pipeline(folder, load_config(), decision_analysis=False).classification


def test_deep_release_tier_holds_the_slowest_releasing_stock(
    demo_classification: pl.DataFrame,
) -> None:
    """On a run's classification the deep release-ratio tier is the largest release ratios
    (inventory cost ÷ release rate: the stock slowest to release its value; none = slowest)."""
    c = demo_classification
    no_other_branch = CascadeSettings(
        dead_discount=0.0,
        long_block_discount=0.0,
        spot_discount=0.0,
        high_season_discount=0.0,
        hold_weeks=0,
        release_mid_discount=0.0,
    )
    out = cascade_discounts(c, no_other_branch).join(
        c.select("sku", "location", "stock_value", "release_ratio"), on=["sku", "location"]
    )
    stocked = out.filter(pl.col("stock_value") > 0).with_columns(
        pl.col("release_ratio").fill_null(float("inf"))
    )
    deep = stocked.filter(pl.col("cascade_rule") == "release_ratio_bottom_20")
    rest = stocked.filter(pl.col("cascade_rule") != "release_ratio_bottom_20")
    assert deep.height > 0 and rest.height > 0
    assert deep["release_ratio"].min() >= rest["release_ratio"].max()  # type: ignore[operator]
