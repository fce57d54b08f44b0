"""Seasonal index and week types (SPEC §3.3): hand-made seasonal profiles, an oracle, real data.

Profiles are built as daily sales tables from a rate per ISO week of year, so the expected index
is rate ÷ mean rate: the running median of 3 keeps such step profiles (blocks of ≥ 2 weeks)
exactly. The week-type oracle below loops over the 52 weeks and shares no code with the module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from deadstock.datasets.catalogue import CATEGORIES, season_index
from deadstock.datasets.retailer import generate_retailer
from deadstock.detect.seasonality import (
    NO_CATEGORY,
    SEASONALITY,
    daily_index,
    index_path,
    seasonal_index,
    shrink_to_category,
    week_of_year,
    week_status,
    week_types,
)

AS_OF = date(2025, 6, 29)  # a Sunday: the window's 3 × 364 days are whole ISO weeks
START = date(2022, 1, 3)  # Monday of ISO week 1 of 2022


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def iso_week(day: date) -> int:
    """ISO week of a day with 53 folded into 52 (independent of the module)."""
    return min(day.isocalendar()[1], 52)


def weekly_rates(blocks: dict[tuple[int, int], float]) -> np.ndarray:
    """52 daily rates [units/day] from {(first_week, last_week): rate}; other weeks 0."""
    rates = np.zeros(52)
    for (lo, hi), rate in blocks.items():
        rates[lo - 1 : hi] = rate
    return rates


def daily_sales(
    sku: str, rates: np.ndarray | Callable[[date], float], start: date = START, end: date = AS_OF
) -> pl.DataFrame:
    """One row per day with qty = rate of the day's ISO week (or rate(day)); zero days dropped."""
    days = [start + timedelta(days=k) for k in range((end - start).days + 1)]
    if callable(rates):
        qty = [float(rates(d)) for d in days]
    else:
        qty = [float(rates[iso_week(d) - 1]) for d in days]
    frame = pl.DataFrame(
        {"sku": sku, "location": "main", "date": days, "qty": qty},
        schema={"sku": pl.String, "location": pl.String, "date": pl.Date, "qty": pl.Float64},
    )
    return frame.filter(pl.col("qty") != 0)


def rows_of(
    table: pl.DataFrame, category: str | None = None, sku: str | None = None
) -> pl.DataFrame:
    if sku is not None:
        out = table.filter(pl.col("level") == "sku", pl.col("sku") == sku)
    else:
        out = table.filter(pl.col("level") == "category", pl.col("category") == category)
    return out.sort("week_of_year")


def index_of(
    table: pl.DataFrame, category: str | None = None, sku: str | None = None
) -> np.ndarray:
    return rows_of(table, category, sku)["index"].to_numpy()


def types_of(table: pl.DataFrame, category: str | None = None, sku: str | None = None) -> list:
    return rows_of(table, category, sku)["week_type"].to_list()


def hand_table(profiles: dict[str, np.ndarray]) -> pl.DataFrame:
    """A seasonality table of category rows from {category: 52 index values}."""
    frames = []
    for name, given_values in profiles.items():
        values = np.asarray(given_values, dtype=np.float64)
        frames.append(
            pl.DataFrame(
                {
                    "level": "category",
                    "category": name,
                    "sku": None,
                    "week_of_year": np.arange(1, 53, dtype=np.int8),
                    "index": values,
                    "week_type": week_types(values),
                },
                schema=SEASONALITY.polars_schema(),
            )
        )
    return pl.concat(frames)


def oracle_week_types(
    index: list[float],
    off: float = 0.25,
    high: float = 1.3,
    peak: float = 1.8,
    block: int = 4,
) -> list[int]:
    """Plain-Python week types (SPEC §3.3): thresholds, then circular runs of regular weeks."""
    kinds: list[int | None] = []
    for value in index:
        if value < off:
            kinds.append(0)
        elif value >= peak:
            kinds.append(1)
        elif value >= high:
            kinds.append(2)
        else:
            kinds.append(None)
    n = len(index)
    out: list[int] = []
    for w in range(n):
        kind = kinds[w]
        if kind is not None:
            out.append(kind)
            continue
        if all(k is None for k in kinds):
            length = n
        else:
            length = 1
            j = (w - 1) % n
            while kinds[j] is None:
                length += 1
                j = (j - 1) % n
            j = (w + 1) % n
            while kinds[j] is None:
                length += 1
                j = (j + 1) % n
        out.append(3 if length >= block else 4)
    return out


WINTER = weekly_rates({(1, 8): 2.0, (45, 52): 2.0})  # 16 weeks around new year
SUMMER = weekly_rates({(20, 35): 3.0})
HOLIDAY = weekly_rates({(1, 46): 1.0, (47, 52): 8.0})
SPOTS = weekly_rates({(11, 12): 1.0, (13, 30): 2.5, (31, 36): 1.0})


@pytest.fixture(scope="module")
def profiles() -> pl.DataFrame:
    sales = pl.concat(
        [
            daily_sales("winter", WINTER),
            daily_sales("summer", SUMMER),
            daily_sales("holiday", HOLIDAY),
            daily_sales("flat", np.ones(52)),
            daily_sales("spots", SPOTS),
        ]
    )
    products = pl.DataFrame(
        {
            "sku": ["winter", "summer", "holiday", "flat", "spots"],
            "category": ["W", "S", "H", "F", "X"],
        }
    )
    return seasonal_index(sales, products, AS_OF)


# ---------------------------------------------------------------------------------------------
# Week types: oracle and hand-made indices
# ---------------------------------------------------------------------------------------------
index_values = st.one_of(
    st.sampled_from([0.0, 0.1, 0.2499, 0.25, 0.8, 1.0, 1.2999, 1.3, 1.5, 1.7999, 1.8, 3.0]),
    st.floats(0.0, 4.0, allow_nan=False),
)


@settings(max_examples=120, deadline=None)
@given(
    index=st.lists(index_values, min_size=52, max_size=52),
    off=st.floats(0.0, 1.0),
    high_gap=st.floats(0.0, 1.0),
    peak_gap=st.floats(0.0, 1.0),
    block=st.integers(1, 10),
)
def test_week_types_equal_oracle(
    index: list[float], off: float, high_gap: float, peak_gap: float, block: int
) -> None:
    high, peak = off + high_gap, off + high_gap + peak_gap
    got = week_types(
        np.array(index),
        off_season_index=off,
        high_index=high,
        peak_index=peak,
        long_block_weeks=block,
    )
    assert got.dtype == np.int8
    assert got.tolist() == oracle_week_types(index, off, high, peak, block)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(index_values, min_size=52, max_size=52), min_size=1, max_size=6))
def test_week_types_of_many_rows_equal_row_by_row(rows: list[list[float]]) -> None:
    batch = week_types(np.array(rows))
    assert batch.tolist() == [oracle_week_types(r) for r in rows]


def test_week_types_blocks_by_hand() -> None:
    index = np.zeros(52)
    index[10:12] = 1.0  # weeks 11–12: a 2-week spot between off-season and peak
    index[12:30] = 2.5  # weeks 13–30: peak
    index[30:36] = 1.0  # weeks 31–36: a 6-week regular block
    index[36:40] = 1.5  # weeks 37–40: high season
    types = week_types(index)
    assert types[10:12].tolist() == [4, 4]
    assert set(types[12:30]) == {1}
    assert types[30:36].tolist() == [3] * 6
    assert set(types[36:40]) == {2}
    assert set(types[:10]) | set(types[40:]) == {0}


def test_week_types_runs_wrap_around_the_year() -> None:
    index = np.zeros(52)
    index[[50, 51, 0, 1]] = 1.0  # weeks 51, 52, 1, 2: one circular run of 4
    index[[20, 21, 22]] = 1.0  # a run of 3
    types = week_types(index)
    assert types[[50, 51, 0, 1]].tolist() == [3, 3, 3, 3]
    assert types[[20, 21, 22]].tolist() == [4, 4, 4]
    assert week_types(np.ones(52)).tolist() == [3] * 52  # flat: one run of 52


def test_week_types_reject_bad_parameters() -> None:
    with pytest.raises(ValueError, match="off_season_index ≤ high_index ≤ peak_index"):
        week_types(np.ones(52), high_index=2.0, peak_index=1.5)
    with pytest.raises(ValueError, match="'index' parameter must have 52 weeks"):
        week_types(np.ones(53))
    with pytest.raises(ValueError, match="'long_block_weeks' parameter must be an int"):
        week_types(np.ones(52), long_block_weeks=0)


# ---------------------------------------------------------------------------------------------
# Hand-made seasonal profiles as sales tables
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("category", "rates"),
    [("W", WINTER), ("S", SUMMER), ("H", HOLIDAY), ("F", np.ones(52)), ("X", SPOTS)],
)
def test_step_profiles_are_recovered_exactly(
    profiles: pl.DataFrame, category: str, rates: np.ndarray
) -> None:
    expected = rates / rates.mean()
    np.testing.assert_allclose(index_of(profiles, category), expected, rtol=1e-9, atol=1e-12)
    assert types_of(profiles, category) == oracle_week_types(expected.tolist())


def test_hand_made_week_types(profiles: pl.DataFrame) -> None:
    winter = types_of(profiles, "W")
    assert set(winter[:8] + winter[44:]) == {1} and set(winter[8:44]) == {0}
    summer = types_of(profiles, "S")
    assert set(summer[19:35]) == {1} and set(summer[:19] + summer[35:]) == {0}
    holiday = types_of(profiles, "H")
    assert holiday[46:] == [1] * 6 and holiday[:46] == [3] * 46  # the base sells: no off-season
    assert types_of(profiles, "F") == [3] * 52
    spots = types_of(profiles, "X")
    assert spots[10:12] == [4, 4]  # a 2-week spot
    assert spots[30:36] == [3] * 6  # a 6-week block
    assert set(spots[12:30]) == {1} and set(spots[:10] + spots[36:]) == {0}


def test_sku_rows_follow_their_profile(profiles: pl.DataFrame) -> None:
    # Each SKU is alone in its category: the shrunk SKU index equals the category's.
    for sku, category in [("winter", "W"), ("summer", "S"), ("spots", "X")]:
        np.testing.assert_allclose(index_of(profiles, sku=sku), index_of(profiles, category))
        assert rows_of(profiles, sku=sku)["category"].unique().to_list() == [category]
    assert (
        profiles.filter(pl.col("level") == "category")["sku"].null_count()
        == profiles.filter(pl.col("level") == "category").height
    )


def test_dead_today_but_peaking_in_three_weeks(profiles: pl.DataFrame) -> None:
    products = pl.DataFrame({"sku": ["winter"], "category": ["W"]})
    # The winter season starts in ISO week 45; week 42 is three weeks before.
    for week, weeks_to, upcoming in [(42, 3, True), (41, 4, True), (40, 5, False)]:
        as_of = date.fromisocalendar(2025, week, 3)
        status = week_status(profiles, products, ["winter"], as_of).row(0, named=True)
        assert status["seasonality_level"] == "sku"
        assert status["week_type_now"] == 0 and status["off_season"] is True
        assert status["weeks_to_high_season"] == weeks_to
        assert status["upcoming_high_season"] is upcoming
    # Mid-summer the winter SKU is off-season, and no high season is near.
    july = week_status(profiles, products, ["winter"], date(2025, 7, 15)).row(0, named=True)
    assert july["off_season"] is True and july["upcoming_high_season"] is False


def test_seasonal_items_are_off_season_in_their_off_season(profiles: pl.DataFrame) -> None:
    products = pl.DataFrame({"sku": ["winter", "summer", "flat"], "category": ["W", "S", "F"]})
    july = week_status(profiles, products, ["winter", "summer", "flat"], date(2025, 7, 15))
    assert july["off_season"].to_list() == [True, False, False]
    january = week_status(profiles, products, ["winter", "summer", "flat"], date(2026, 1, 14))
    assert january["off_season"].to_list() == [False, True, False]
    assert january["week_type_now"].to_list() == [1, 0, 3]


def test_median_keeps_season_edges_the_mean_blurs_them() -> None:
    sales = daily_sales("winter", WINTER)
    median = seasonal_index(sales, None, AS_OF)
    mean = seasonal_index(sales, None, AS_OF, smoother="mean")
    # Week 44, just before the season: no sales in any year.
    assert types_of(median, NO_CATEGORY)[43] == 0
    mean_index = index_of(mean, NO_CATEGORY)
    assert mean_index[43] == pytest.approx((2.0 / 3.0) / WINTER.mean())
    assert types_of(mean, NO_CATEGORY)[43] != 0
    np.testing.assert_allclose(mean_index.mean(), 1.0)


def test_a_single_promotion_week_does_not_make_a_season() -> None:
    rates = np.ones(52)
    rates[19] = 5.0  # week 20 promoted every year
    sales = daily_sales("promo", rates)
    median = seasonal_index(sales, None, AS_OF)
    np.testing.assert_allclose(index_of(median, NO_CATEGORY), 1.0)
    assert types_of(median, NO_CATEGORY) == [3] * 52
    # The moving average spreads it into three high weeks.
    mean = seasonal_index(sales, None, AS_OF, smoother="mean")
    assert types_of(mean, NO_CATEGORY)[18:21] == [1, 1, 1]


def test_a_season_of_one_week_survives_the_median() -> None:
    sales = daily_sales("one_week", weekly_rates({(30, 30): 4.0}))
    table = seasonal_index(sales, None, AS_OF)
    index = index_of(table, NO_CATEGORY)
    # It falls back to the moving average: weeks 29–31 share the season.
    expected = np.zeros(52)
    expected[28:31] = 52 / 3
    np.testing.assert_allclose(index, expected, atol=1e-9)
    assert types_of(table, NO_CATEGORY)[28:31] == [1, 1, 1]


# ---------------------------------------------------------------------------------------------
# Estimator: exposure, partial years, level changes, week 53
# ---------------------------------------------------------------------------------------------
def test_week_53_is_folded_into_52() -> None:
    frame = pl.DataFrame({"d": [date(2020, 12, 27), date(2020, 12, 28), date(2021, 1, 3)]})
    assert frame.select(week_of_year(pl.col("d")))["d"].to_list() == [52, 52, 52]
    # Uniform sales over three years holding 2020-W53: week 52 has twice the days that year,
    # so its rate, not its unit count, must equal the others'.
    as_of = date(2021, 6, 30)
    flat = seasonal_index(daily_sales("u", np.ones(52), date(2018, 6, 1), as_of), None, as_of)
    rows = rows_of(flat, NO_CATEGORY)
    assert rows["week_of_year"].to_list() == list(range(1, 53))
    np.testing.assert_allclose(rows["index"].to_numpy(), 1.0, rtol=1e-12)
    # Sales only on the days of ISO weeks 52 and 53 land in week 52 alone.
    only_52 = daily_sales(
        "x", lambda d: 1.0 if d.isocalendar()[1] >= 52 else 0.0, date(2018, 6, 1), as_of
    )
    table = seasonal_index(only_52, None, as_of, smoothing_weeks=1)
    expected = np.zeros(52)
    expected[51] = 52.0
    np.testing.assert_allclose(index_of(table, NO_CATEGORY), expected, atol=1e-9)


def test_partial_years_do_not_weigh_weeks_double() -> None:
    # 1.5 years of uniform sales: half the weeks are seen twice, half once.
    start = AS_OF - timedelta(days=547)
    table = seasonal_index(daily_sales("u", np.ones(52), start), None, AS_OF)
    np.testing.assert_allclose(index_of(table, NO_CATEGORY), 1.0, rtol=1e-9)


def test_growth_between_years_does_not_tilt_the_profile() -> None:
    # Flat within each 364-day cycle, level 1, 2 then 4 units/day: index flat 1.
    def rate(day: date) -> float:
        return {0: 4.0, 1: 2.0, 2: 1.0}.get((AS_OF - day).days // 364, 0.0)

    table = seasonal_index(daily_sales("g", rate, date(2021, 1, 1)), None, AS_OF)
    np.testing.assert_allclose(index_of(table, NO_CATEGORY), 1.0, rtol=1e-9)


def test_seasonal_profile_with_growth_and_partial_first_year() -> None:
    # Summer profile, first sale mid-way through a year, level doubling each cycle.
    def rate(day: date) -> float:
        level = 2.0 ** (2 - (AS_OF - day).days // 364)
        return level * SUMMER[iso_week(day) - 1]

    sales = daily_sales("s", rate, date(2022, 10, 3))
    table = seasonal_index(sales, None, AS_OF, smoothing_weeks=1)
    np.testing.assert_allclose(index_of(table, NO_CATEGORY), SUMMER / SUMMER.mean(), atol=1e-9)


def test_sales_after_as_of_and_history_beyond_the_window_are_ignored() -> None:
    base = daily_sales("w", WINTER)
    future = daily_sales(
        "w", np.full(52, 50.0), AS_OF + timedelta(days=1), AS_OF + timedelta(days=60)
    )
    old = daily_sales("w", np.full(52, 50.0), date(2019, 1, 1), date(2019, 12, 31))
    reference = seasonal_index(base, None, AS_OF)
    assert_frame_equal(seasonal_index(pl.concat([base, future, old]), None, AS_OF), reference)


def test_returns_never_make_a_negative_index() -> None:
    sales = pl.concat(
        [
            daily_sales("r", SUMMER),
            daily_sales("r", weekly_rates({(40, 45): -3.0})),  # returns in an empty period
        ]
    )
    table = seasonal_index(sales, None, AS_OF)
    index = index_of(table, NO_CATEGORY)
    assert np.all(index >= 0) and np.isfinite(index).all()
    np.testing.assert_allclose(index, SUMMER / SUMMER.mean(), atol=1e-9)


def test_lazy_sales_give_the_same_table(profiles: pl.DataFrame) -> None:
    sales = daily_sales("winter", WINTER)
    products = pl.DataFrame({"sku": ["winter"], "category": ["W"]})
    assert_frame_equal(
        seasonal_index(sales.lazy(), products, AS_OF), seasonal_index(sales, products, AS_OF)
    )


# ---------------------------------------------------------------------------------------------
# Levels: category history, SKU eligibility, shrinkage, categories
# ---------------------------------------------------------------------------------------------
def test_category_with_less_than_a_year_is_flat() -> None:
    # The holiday profile sells every week, so the first sale is the first day of the table.
    young = daily_sales("young", HOLIDAY, AS_OF - timedelta(days=363))
    table = seasonal_index(young, pl.DataFrame({"sku": ["young"], "category": ["C"]}), AS_OF)
    assert table["level"].to_list() == ["category"] * 52
    np.testing.assert_allclose(index_of(table, "C"), 1.0)
    assert types_of(table, "C") == [3] * 52  # flat: no week is off-season
    seasonal = daily_sales("young", WINTER, AS_OF - timedelta(days=300))
    assert types_of(seasonal_index(seasonal, None, AS_OF), NO_CATEGORY) == [3] * 52
    # A year (364 days) of history is enough for the category.
    older = daily_sales("young", HOLIDAY, AS_OF - timedelta(days=364))
    assert types_of(seasonal_index(older, None, AS_OF), NO_CATEGORY)[46:] == [1] * 6


def test_sku_rows_only_with_two_years_and_enough_units() -> None:
    def since(days: int) -> date:
        return AS_OF - timedelta(days=days)

    sales = pl.concat(
        [
            daily_sales("long", np.ones(52), since(800)),
            daily_sales("short", np.ones(52), since(500)),
            daily_sales("edge_in", np.ones(52), since(730)),
            daily_sales("edge_out", np.ones(52), since(729)),
            # 2 years of history but 40 units: one unit every 20 days
            daily_sales("thin", lambda d: 1.0 if (AS_OF - d).days % 20 == 0 else 0.0, since(799)),
        ]
    )
    products = pl.DataFrame({"sku": sales["sku"].unique().to_list(), "category": "C"})
    table = seasonal_index(sales, products, AS_OF)
    sku_rows = table.filter(pl.col("level") == "sku")
    assert sorted(sku_rows["sku"].unique().to_list()) == ["edge_in", "long"]
    assert sales.filter(pl.col("sku") == "thin")["qty"].sum() == 40
    relaxed = seasonal_index(sales, products, AS_OF, min_units_sku=40, min_history_days_sku=500)
    assert sorted(relaxed.filter(pl.col("level") == "sku")["sku"].unique().to_list()) == [
        "edge_in",
        "edge_out",
        "long",
        "short",
        "thin",
    ]


@pytest.mark.parametrize(
    ("shrinkage_units", "per_day"), [(0.0, 2.0), (52.0, 2.0), (52.0, 0.25), (500.0, 2.0)]
)
def test_sku_index_is_shrunk_towards_its_category(shrinkage_units: float, per_day: float) -> None:
    winter = daily_sales("winter", WINTER * per_day / 2)
    flat = daily_sales("big_flat", np.full(52, 10.0))
    products = pl.DataFrame({"sku": ["winter", "big_flat"], "category": ["K", "K"]})
    mixed = seasonal_index(
        pl.concat([winter, flat]), products, AS_OF, shrinkage_units=shrinkage_units
    )
    alone = seasonal_index(winter, None, AS_OF)
    own, category = index_of(alone, NO_CATEGORY), index_of(mixed, "K")
    window_start = AS_OF - timedelta(days=3 * 364 - 1)
    in_window = winter.filter(pl.col("date") >= window_start)
    # evidence: the smaller of units and selling days
    n = min(in_window["qty"].sum(), in_window["date"].n_unique())
    assert n == (in_window.height if per_day >= 1 else in_window["qty"].sum())
    if shrinkage_units == 0:
        expected = own
    else:
        m, a = n / 52, shrinkage_units / 52
        posterior = [c * (r * m + a) / (c * m + a) for r, c in zip(own, category, strict=True)]
        expected = np.array(posterior) / np.mean(posterior)
    got = index_of(mixed, sku="winter")
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert got.mean() == pytest.approx(1.0)
    assert types_of(mixed, sku="winter") == oracle_week_types(expected.tolist())
    # The category is dominated by the flat seller; the winter SKU keeps its off-season
    # unless the shrinkage is strong.
    assert 0 not in types_of(mixed, "K")
    assert (0 in types_of(mixed, sku="winter")) is (shrinkage_units <= 52 and per_day >= 1)


def test_shrinkage_equals_credibility_blend_where_the_category_is_flat() -> None:
    rng = np.random.default_rng(5)
    own = rng.uniform(0, 3, (4, 52))
    own /= own.mean(axis=1, keepdims=True)
    units = np.array([10.0, 52.0, 500.0, 5000.0])
    got = shrink_to_category(own, np.ones((4, 52)), units, 52.0)
    z = (units / (units + 52.0))[:, None]
    np.testing.assert_allclose(got, z * own + (1 - z), rtol=1e-12)


def test_stray_units_in_the_category_off_season_stay_off_season() -> None:
    # A category asleep in week 30 (index 0.05): a SKU with 150 units and one stray unit there.
    category = np.ones((1, 52))
    category[0, 28:32] = 0.05
    category /= category.mean()
    own = np.ones((1, 52))
    own[0, 29] = 0.4
    own /= own.mean()
    shrunk = shrink_to_category(own, category, np.array([150.0]), 52.0)
    assert shrunk[0, 29] < 0.25
    linear = 150 / 202 * own + 52 / 202 * category
    assert linear[0, 29] > 0.25  # a plain blend would call it a selling week


def test_categories_of_products_and_unknown_skus() -> None:
    sales = pl.concat(
        [
            daily_sales("in_cat", SUMMER),
            daily_sales("null_cat", WINTER),
            daily_sales("not_in_products", WINTER),
        ]
    )
    products = pl.DataFrame(
        {"sku": ["in_cat", "null_cat", "never_sold"], "category": ["S", None, "Empty"]}
    )
    table = seasonal_index(sales, products, AS_OF)
    categories = table.filter(pl.col("level") == "category")["category"].unique().sort()
    assert categories.to_list() == sorted(["S", "Empty", NO_CATEGORY])
    np.testing.assert_allclose(index_of(table, "Empty"), 1.0)  # no sales: flat
    np.testing.assert_allclose(index_of(table, NO_CATEGORY), WINTER / WINTER.mean(), atol=1e-9)
    assert table.filter(pl.col("sku") == "null_cat")["category"].unique().to_list() == [NO_CATEGORY]
    assert table.schema == pl.Schema(SEASONALITY.polars_schema())


def test_bad_parameters_are_rejected() -> None:
    sales = daily_sales("x", np.ones(52))
    with pytest.raises(ValueError, match="'smoothing_weeks' parameter must be an odd int"):
        seasonal_index(sales, None, AS_OF, smoothing_weeks=2)
    with pytest.raises(ValueError, match="'smoother' parameter must be one of"):
        seasonal_index(sales, None, AS_OF, smoother="hann")
    with pytest.raises(ValueError, match="'history_years' parameter must be an int"):
        seasonal_index(sales, None, AS_OF, history_years=0)


# ---------------------------------------------------------------------------------------------
# Property: random sales tables
# ---------------------------------------------------------------------------------------------
@st.composite
def sales_tables(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    n_skus = draw(st.integers(1, 4))
    skus = [f"s{i}" for i in range(n_skus)]
    n_rows = draw(st.integers(0, 120))
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(skus),
                st.integers(-30, 1300),  # days before as_of (negative = after)
                st.integers(-2, 12),
            ),
            min_size=n_rows,
            max_size=n_rows,
        )
    )
    sales = pl.DataFrame(
        {
            "sku": [r[0] for r in rows],
            "location": "main",
            "date": [AS_OF - timedelta(days=r[1]) for r in rows],
            "qty": [float(r[2]) for r in rows],
        },
        schema={"sku": pl.String, "location": pl.String, "date": pl.Date, "qty": pl.Float64},
    )
    categories = draw(st.lists(st.sampled_from(["A", "B", None]), min_size=n_skus, max_size=n_skus))
    products = pl.DataFrame(
        {"sku": skus, "category": categories}, schema={"sku": pl.String, "category": pl.String}
    )
    return sales, products


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=sales_tables(), smoother=st.sampled_from(["median", "mean"]))
def test_random_tables_index_has_mean_one(
    tables: tuple[pl.DataFrame, pl.DataFrame], smoother: str
) -> None:
    sales, products = tables
    table = seasonal_index(sales, products, AS_OF, smoother=smoother, min_units_sku=10)
    groups = table.group_by("level", "category", "sku", maintain_order=True).agg(
        pl.col("week_of_year"), pl.col("index"), pl.col("week_type")
    )
    expected_categories = {c if c is not None else NO_CATEGORY for c in products["category"]}
    assert set(groups.filter(pl.col("level") == "category")["category"]) == expected_categories
    for row in groups.iter_rows(named=True):
        assert row["week_of_year"] == list(range(1, 53))
        index = np.array(row["index"])
        assert np.isfinite(index).all() and (index >= 0).all()
        assert index.mean() == pytest.approx(1.0, rel=1e-9)
        assert row["week_type"] == oracle_week_types(row["index"])
    # SKU rows exactly for SKUs with ≥ 730 days since the first sale and ≥ 10 units (net per
    # ISO week and cycle, clipped at 0) in the window.
    window_start = AS_OF - timedelta(days=3 * 364 - 1)
    expected_skus = set()
    for sku in products["sku"]:
        mine = sales.filter(pl.col("sku") == sku, pl.col("date") <= AS_OF)
        sold = mine.filter(pl.col("qty") > 0)
        if sold.height == 0 or (AS_OF - sold["date"].min()).days < 730:
            continue
        cells: dict[tuple[int, int], float] = {}
        for day, qty in mine.filter(pl.col("date") >= window_start).select("date", "qty").rows():
            key = ((AS_OF - day).days // 364, iso_week(day))
            cells[key] = cells.get(key, 0.0) + qty
        if sum(max(v, 0.0) for v in cells.values()) >= 10:
            expected_skus.add(sku)
    assert set(groups.filter(pl.col("level") == "sku")["sku"]) == expected_skus


# ---------------------------------------------------------------------------------------------
# Lookups: week_status, index_path, daily_index
# ---------------------------------------------------------------------------------------------
def test_week_status_lookahead_semantics() -> None:
    values = np.ones(52)
    values[9:12] = 2.0  # weeks 10–12 peak
    values[0:2] = 1.5  # weeks 1–2 high season
    table = hand_table({"P": values, "Flat": np.ones(52)})
    products = pl.DataFrame({"sku": ["p", "f"], "category": ["P", "Flat"]})

    def status(day: date, **kw: int) -> dict:
        return week_status(table, products, ["p", "f"], day, **kw).row(0, named=True)

    wed = lambda week: date.fromisocalendar(2025, week, 3)  # noqa: E731
    assert status(wed(6))["weeks_to_high_season"] == 4 and status(wed(6))["upcoming_high_season"]
    assert status(wed(5))["weeks_to_high_season"] == 5
    assert not status(wed(5))["upcoming_high_season"]
    # In high season now: 0 weeks to go; "upcoming" looks at the next weeks only.
    assert status(wed(11))["weeks_to_high_season"] == 0 and status(wed(11))["upcoming_high_season"]
    assert status(wed(12))["weeks_to_high_season"] == 0
    assert not status(wed(12))["upcoming_high_season"]
    assert status(wed(12))["week_type_now"] == 1 and status(wed(2))["week_type_now"] == 2
    # Across the new year: 2025-12-24 is in week 52, 2025-12-29 starts 2026-W01.
    assert status(date(2025, 12, 24))["weeks_to_high_season"] == 1
    assert status(date(2025, 12, 24))["upcoming_high_season"]
    assert not status(date(2025, 12, 24), lookahead_weeks=0)["upcoming_high_season"]
    flat = week_status(table, products, ["f"], wed(6)).row(0, named=True)
    assert flat["weeks_to_high_season"] is None and flat["week_type_now"] == 3


def test_week_status_resolves_sku_category_or_flat(profiles: pl.DataFrame) -> None:
    products = pl.DataFrame(
        {"sku": ["winter", "new_winter", "stranger"], "category": ["W", "W", "Nowhere"]}
    )
    keys = pl.DataFrame(
        {
            "sku": ["stranger", "winter", "new_winter", "unknown", "winter"],
            "location": ["a", "b", "c", "d", "e"],
        }
    )
    status = week_status(profiles, products, keys, date(2025, 7, 15))
    assert status.columns[:2] == ["sku", "location"]
    assert status["location"].to_list() == ["a", "b", "c", "d", "e"]
    assert status["seasonality_level"].to_list() == ["none", "sku", "category", "none", "sku"]
    assert status["off_season"].to_list() == [False, True, True, False, True]
    assert status["seasonal_index_now"].to_list()[3] == 1.0
    assert status.schema["week_type_now"] == pl.Int8
    assert status.schema["weeks_to_high_season"] == pl.Int64
    assert (status["off_season"] == (status["week_type_now"] == 0)).all()


def test_index_path_and_daily_index(profiles: pl.DataFrame) -> None:
    products = pl.DataFrame({"sku": ["winter", "cat_only"], "category": ["W", "S"]})
    skus = ["winter", "cat_only", "unknown"]
    start = date(2025, 10, 1)
    path = index_path(profiles, products, skus, start, n_weeks=26)
    assert path.shape == (3, 26)
    weeks = [iso_week(start + timedelta(days=7 * k)) for k in range(26)]
    np.testing.assert_allclose(path[0], index_of(profiles, sku="winter")[np.array(weeks) - 1])
    np.testing.assert_allclose(path[1], index_of(profiles, "S")[np.array(weeks) - 1])
    np.testing.assert_allclose(path[2], 1.0)
    assert path[0, 0] == 0.0 and path[0].max() > 1.8  # off-season now, the season ahead

    days = daily_index(profiles, products, skus, start, 120)
    assert days.shape == (3, 120)
    for j in (0, 5, 6, 7, 45, 119):
        week = iso_week(start + timedelta(days=j))
        assert days[0, j] == pytest.approx(index_of(profiles, sku="winter")[week - 1])
    floored = daily_index(profiles, products, skus, start, 120, floor=0.05)
    assert floored.min() == pytest.approx(0.05)
    np.testing.assert_allclose(np.maximum(days, 0.05), floored)
    assert index_path(profiles, products, [], start).shape == (0, 26)


def test_lookups_accept_the_table_in_any_row_order(profiles: pl.DataFrame) -> None:
    products = pl.DataFrame({"sku": ["winter"], "category": ["W"]})
    shuffled = profiles.sample(fraction=1.0, shuffle=True, seed=3)
    start = date(2025, 9, 1)
    np.testing.assert_array_equal(
        index_path(shuffled, products, ["winter"], start),
        index_path(profiles, products, ["winter"], start),
    )
    with pytest.raises(ValueError, match="weeks 1–52 exactly once"):
        index_path(profiles.head(51), products, ["winter"], start)


# ---------------------------------------------------------------------------------------------
# Generated retailer with known seasonal profiles, and the real M5 data
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def retailer() -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    tables = generate_retailer(n_skus=300, n_locations=1, seed=1, days=1100)
    as_of = tables["sales"]["date"].max()
    return tables, seasonal_index(tables["sales"], tables["products"], as_of)


def true_weekly_index(profile: str, sharpness: float) -> np.ndarray:
    """The generator's day-of-year index averaged over the ISO weeks of 2023 (52 weeks)."""
    days = [date(2023, 1, 2) + timedelta(days=k) for k in range(364)]
    doy = np.array([d.timetuple().tm_yday for d in days])
    week = np.array([iso_week(d) for d in days])
    values = season_index(profile, doy, sharpness)
    weekly = np.array([values[week == w].mean() for w in range(1, 53)])
    return weekly / weekly.mean()


def test_generated_categories_recover_their_true_season(
    retailer: tuple[dict[str, pl.DataFrame], pl.DataFrame],
) -> None:
    _, table = retailer
    for category in CATEGORIES:
        estimate = index_of(table, category.name)
        truth = true_weekly_index(category.profile, category.sharpness)
        true_off = np.array(oracle_week_types(truth.tolist())) == 0
        got_off = np.array(types_of(table, category.name)) == 0
        if category.profile == "none":
            assert not got_off.any() and np.abs(estimate - 1).max() < 0.5
        else:
            assert np.corrcoef(estimate, truth)[0, 1] > 0.95
            assert (true_off == got_off).mean() >= 0.9


def test_generated_seasonal_skus_are_off_season_in_their_off_season(
    retailer: tuple[dict[str, pl.DataFrame], pl.DataFrame],
) -> None:
    tables, table = retailer
    products = tables["products"]
    profile_of = {c.name: c.profile for c in CATEGORIES}
    for day, dormant in [(date(2025, 7, 15), "winter"), (date(2025, 1, 15), "summer")]:
        status = week_status(table, products, products.select("sku", "category"), day)
        profile = status["category"].replace_strict(profile_of)
        assert status.filter(profile == dormant)["off_season"].all()
        assert not status.filter(profile == "none")["off_season"].any()


def test_real_m5_categories(shared_data: Path) -> None:
    raw = pl.read_parquet(shared_data / "m5_tiny_daily" / "sales_daily.parquet")
    sales = raw.filter(pl.col("units") > 0).select(
        pl.col("item_id").cast(pl.String).alias("sku"),
        pl.col("store_id").cast(pl.String).alias("location"),
        "date",
        pl.col("units").cast(pl.Float64).alias("qty"),
    )
    products = raw.select(
        pl.col("item_id").cast(pl.String).alias("sku"),
        pl.col("cat_id").cast(pl.String).alias("category"),
    ).unique()
    table = seasonal_index(sales, products, date(2016, 4, 24))
    categories = table.filter(pl.col("level") == "category")
    assert sorted(categories["category"].unique()) == ["FOODS", "HOBBIES", "HOUSEHOLD"]
    assert categories.height == 3 * 52
    assert table.filter(pl.col("level") == "sku")["sku"].n_unique() > 10
    for _, group in table.group_by("level", "category", "sku"):
        index = group["index"].to_numpy()
        assert np.isfinite(index).all() and index.mean() == pytest.approx(1.0, rel=1e-9)
    # Walmart sells every category all year: no category week is off-season.
    assert (categories["week_type"] != 0).all()
    status = week_status(table, products, products["sku"], date(2016, 4, 24))
    assert status.height == products.height and status["week_type_now"].is_between(0, 4).all()


def test_sparse_category_is_shrunk_towards_flat_a_strong_one_keeps_its_off_season() -> None:
    """A few sales a year leave most weeks empty by chance: with the run's category shrinkage
    (52) no week of such a category is off-season, while a winter category selling daily keeps
    its off-season weeks."""
    as_of = date(2024, 6, 30)
    sparse = pl.DataFrame(
        {
            "date": [date(2021 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(1, 37, 4)],
            "sku": ["part"] * 9,
            "qty": [1.0] * 9,
        }
    )
    products = pl.DataFrame({"sku": ["part", "coat"], "category": ["parts", "winter"]})
    winter_days = [
        d
        for year in (2021, 2022, 2023)
        for d in pl.date_range(date(year, 11, 15), date(year + 1, 2, 28), "1d", eager=True)
    ]
    winter = pl.DataFrame({"date": winter_days, "sku": "coat", "qty": 2.0})
    sales = pl.concat([sparse, winter])
    raw = seasonal_index(sales, products, as_of)
    shrunk = seasonal_index(sales, products, as_of, category_shrinkage_units=52.0)
    assert 0 in types_of(raw, "parts")  # the estimator alone sees off-season weeks …
    assert 0 not in types_of(shrunk, "parts")  # … shrinkage removes them
    assert types_of(shrunk, "winter")[25] == 0  # late June: still off-season for coats
    assert index_of(shrunk, "winter").mean() == pytest.approx(1.0)
