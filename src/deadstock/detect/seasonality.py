"""Seasonal index and week types per category and SKU (SPEC §3.3).

The seasonal index says how a product's daily demand in one week of the year compares with its
average day: index 2 = twice the average rate, 0 = no sales expected. Week types turn it into the
words a planner uses: off-season, peak, high season, regular weeks in a long or a short block.

**Weeks.** Week of year = ISO week (Monday to Sunday) of the day, with ISO week 53 (the last days
of a 53-week ISO year) folded into week 52, so every product has exactly 52 weeks. Rates are per
day of exposure, so a folded week 52 of 14 days is not counted twice.

**Estimator.** Sales dated in the last ``history_years`` × 364 days up to ``as_of`` are split into
364-day cycles counted back from ``as_of`` (cycle 0 = the last 364 days) and into weeks of year.
For a group (a category: all its SKUs and locations; or one SKU: all its locations) let U[c, w]
be the units sold in cycle c and week w (net of returns, clipped at 0) and E[c, w] the days of
that cell from the group's first sale on (days before the first sale are not evidence). The
units follow the multiplicative Poisson model E[U[c, w]] = L[c] · p[w] · E[c, w]: a level per
cycle times a daily rate profile per week. Its maximum-likelihood fit is found by iterative
proportional fitting (Deming & Stephan 1940, Ann. Math. Stat. 11(4), 427–444; Bishop, Fienberg &
Holland 1975, *Discrete Multivariate Analysis*, ch. 3): alternately L[c] = Σ_w U / Σ_w p·E and
p[w] = Σ_c U / Σ_c L·E. So a week seen in two cycles weighs as much as one seen once (its
exposure is twice as large), a partial first year counts with its own level, and growth or
decline between years does not tilt the profile. Weeks without usable exposure are filled by
circular linear interpolation.

**Smoothing.** The profile is smoothed across neighbouring weeks (circular, window
``smoothing_weeks``). The default smoother is a running median of 3 (Tukey 1977, *Exploratory Data
Analysis*, ch. 7): it removes a single promotion week entirely, so one week cannot define a
season, yet keeps the edges of a real season sharp, so the first weeks after a season ends stay
off-season (a moving average would spread a third of the season's level into them). A group
whose whole demand falls in isolated single weeks would be wiped out by the median; it falls back
to the moving average. ``smoother="mean"`` gives the plain centred moving average. The smoothed
profile is divided by its mean: the index has mean 1 over the 52 weeks.

**Levels.** Every category gets 52 rows. Its index needs ``min_history_days_category`` days from
the category's first sale to ``as_of``; otherwise (or without any sale) it is flat: index 1 in
every week, so no week is off-season. A fitted category index is shrunk towards flat by the
same Poisson–Gamma posterior with the category's evidence (its sales events, as for SKUs below)
and ``category_shrinkage_units`` (0 in this function, 52 in a run: setting
``seasonal_category_shrinkage_units``). With a = 1 pseudo-sale per week of year, a week without
sales falls below the off-season threshold 0.25 only when the category averages about three or
more sales in that week of year over the history (P(no sale | flat) = e^−3 ≈ 5 %); in a sparse
category (spare parts selling a few times a year) empty weeks are chance, not season. A SKU
gets its own 52 rows when it has at least
``min_history_days_sku`` days from its first sale to ``as_of`` and at least ``min_units_sku`` units
in the window. Its index is shrunk towards its category's by the Poisson–Gamma posterior mean
(:func:`shrink_to_category`). The evidence n is the smaller of the SKU's units and its selling
days (days with a sale) in the window, so a SKU sold in cases of twelve counts its orders, not
its units (units arriving in batches carry less information about the rate than single units).
With m = n ÷ 52 and a = ``shrinkage_units`` ÷ 52, index[w] ∝ category[w] · (own[w] · m + a) ÷
(category[w] · m + a), renormalised to mean 1. In weeks where the category index is 1 this is
the credibility blend Z · own + (1 − Z) · category with Z = n ÷ (n + ``shrinkage_units``): one
pseudo-sale per week of year by default, so 52 sales give Z = ½ and 500 sales Z ≈ 0.9. In weeks
where the category hardly sells, a few stray sales of the SKU do not turn an off-season week into
a selling week.

**Week types** (SPEC §3.3; thresholds on the final index): 0 off-season = index <
``off_season_index`` (0.25: a week selling under a quarter of an average week is one in which
no sales are expected, SPEC's "index so low that zero sales are expected"); 1 peak = index ≥
``peak_index`` (1.8); 2 high season = ``high_index`` (1.3) ≤ index < ``peak_index``; the remaining
weeks are regular selling weeks, grouped into maximal runs of consecutive regular weeks, circular
over the year (week 52 is followed by week 1): 3 = in a run of at least ``long_block_weeks`` (4)
weeks, 4 = in a shorter run (a spot). A flat index is one run of 52 regular weeks: all type 3.

SKUs without category go to the category :data:`NO_CATEGORY`. Limitation: weeks out of stock
look like weeks without demand (stock history is not used here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from deadstock.schema import SEASONALITY

NO_CATEGORY = "(none)"
WEEKS = 52  # weeks of year after folding ISO week 53 into 52
CYCLE_DAYS = 364  # one seasonal cycle = 52 weeks [days]

OFF_SEASON, PEAK, HIGH_SEASON, REGULAR_LONG, REGULAR_SHORT = 0, 1, 2, 3, 4
WEEK_TYPE_NAMES = {
    OFF_SEASON: "off-season",
    PEAK: "peak",
    HIGH_SEASON: "high season",
    REGULAR_LONG: "regular (long block)",
    REGULAR_SHORT: "regular (short block)",
}
LEVEL_CATEGORY, LEVEL_SKU, LEVEL_NONE = "category", "sku", "none"

_IPF_MAX_ITERATIONS = 200
_IPF_TOLERANCE = 1e-10  # largest relative change of the profile that stops the iteration
_CHUNK_GROUPS = 16_384  # groups fitted at once (memory ~ groups × cycles × 52 × 8 bytes × 4)

WEEK_STATUS_COLUMNS = (
    "seasonality_level",
    "seasonal_index_now",
    "week_type_now",
    "off_season",
    "upcoming_high_season",
    "weeks_to_high_season",
)


# ---------------------------------------------------------------------------------------------
# Parameter checks
# ---------------------------------------------------------------------------------------------
def _check_int(name: str, value: Any, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        raise ValueError(f"The '{name}' parameter must be an int in [{lo}, inf). Got {value!r}.")


def _check_number(name: str, value: Any, lo: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= lo:
        raise ValueError(f"The '{name}' parameter must be a number in [{lo}, inf). Got {value!r}.")


def _check_thresholds(off_season_index: float, high_index: float, peak_index: float) -> None:
    for name, value in (
        ("off_season_index", off_season_index),
        ("high_index", high_index),
        ("peak_index", peak_index),
    ):
        _check_number(name, value, 0.0)
    if not off_season_index <= high_index <= peak_index:
        raise ValueError(
            "The week-type thresholds must satisfy off_season_index ≤ high_index ≤ peak_index. "
            f"Got {off_season_index!r}, {high_index!r}, {peak_index!r}."
        )


# ---------------------------------------------------------------------------------------------
# Week types: numeric kernel
# ---------------------------------------------------------------------------------------------
def _circular_run_lengths(mask: np.ndarray) -> np.ndarray:
    """Length of the circular run of True each True cell of ``mask`` (groups × weeks) is in.

    Cells that are False get 0; a row that is all True is one run of the row's length.
    """
    n_rows, n_cols = mask.shape
    out = np.zeros(mask.shape, dtype=np.int64)
    if mask.size == 0:
        return out
    all_true = mask.all(axis=1)
    # Rotate each row to start just after its first False, so no run wraps around the end.
    shift = np.argmax(~mask, axis=1) + 1
    cols = (np.arange(n_cols)[None, :] + shift[:, None]) % n_cols
    rolled = np.take_along_axis(mask, cols, axis=1)
    rolled[all_true] = False  # handled below; keeps every row ending in False
    flat = rolled.ravel()
    starts = flat & ~np.concatenate(([False], flat[:-1]))
    run_id = np.cumsum(starts)
    lengths = np.bincount(run_id[flat], minlength=int(run_id[-1]) + 1)
    rolled_lengths = np.where(flat, lengths[run_id], 0).reshape(n_rows, n_cols)
    np.put_along_axis(out, cols, rolled_lengths, axis=1)
    out[all_true] = n_cols
    return out


def week_types(
    index: np.ndarray,
    *,
    off_season_index: float = 0.25,
    high_index: float = 1.3,
    peak_index: float = 1.8,
    long_block_weeks: int = 4,
) -> np.ndarray:
    """Week type (Int8, 0–4) of every week of one or many 52-week indices (SPEC §3.3).

    ``index`` is (52,) or (groups, 52) [ratio]. 0 off-season: index < off_season_index; 1 peak:
    index ≥ peak_index; 2 high season: high_index ≤ index < peak_index; otherwise a regular week,
    3 when its run of consecutive regular weeks (circular: week 52 is followed by week 1) is at
    least long_block_weeks long, else 4. Returns an array of the shape of ``index``.
    """
    _check_thresholds(off_season_index, high_index, peak_index)
    _check_int("long_block_weeks", long_block_weeks, 1)
    values = np.asarray(index, dtype=np.float64)
    single = values.ndim == 1
    values = np.atleast_2d(values)
    if values.ndim != 2 or values.shape[1] != WEEKS:
        raise ValueError(
            f"The 'index' parameter must have {WEEKS} weeks in its last axis. Got shape "
            f"{np.shape(index)}."
        )
    off = values < off_season_index
    peak = values >= peak_index
    high = (values >= high_index) & ~peak
    regular = ~(off | peak | high)
    run = _circular_run_lengths(regular)
    types = np.where(run >= long_block_weeks, REGULAR_LONG, REGULAR_SHORT).astype(np.int8)
    types[off] = OFF_SEASON
    types[high] = HIGH_SEASON
    types[peak] = PEAK
    return types[0] if single else types


# ---------------------------------------------------------------------------------------------
# Seasonal index: numeric kernels
# ---------------------------------------------------------------------------------------------
def _fill_circular(profile: np.ndarray) -> np.ndarray:
    """Replace NaN weeks by circular linear interpolation between the nearest known weeks.

    Rows without any known week stay all NaN.
    """
    known = ~np.isnan(profile)
    if known.all():
        return profile
    n_cols = profile.shape[1]
    tiled_known = np.tile(known, 3)
    position = np.broadcast_to(np.arange(3 * n_cols), tiled_known.shape)
    prev = np.maximum.accumulate(np.where(tiled_known, position, -1), axis=1)
    after = np.where(tiled_known, position, 3 * n_cols)
    nxt = np.minimum.accumulate(after[:, ::-1], axis=1)[:, ::-1]
    middle = slice(n_cols, 2 * n_cols)
    prev_at, next_at = prev[:, middle], nxt[:, middle]
    values = np.tile(np.nan_to_num(profile), 3)
    prev_value = np.take_along_axis(values, np.clip(prev_at, 0, 3 * n_cols - 1), axis=1)
    next_value = np.take_along_axis(values, np.clip(next_at, 0, 3 * n_cols - 1), axis=1)
    span = next_at - prev_at
    share = np.where(span > 0, (position[:, middle] - prev_at) / np.maximum(span, 1), 0.0)
    filled = prev_value + share * (next_value - prev_value)
    any_known = known.any(axis=1, keepdims=True)
    return np.where(known, profile, np.where(any_known, filled, np.nan))


def _circular_window(profile: np.ndarray, weeks: int) -> np.ndarray:
    """Stack of the profile shifted by −h … +h weeks (h = weeks // 2): (weeks, groups, 52)."""
    half = weeks // 2
    return np.stack([np.roll(profile, shift, axis=1) for shift in range(-half, half + 1)])


def smooth_profile(profile: np.ndarray, smoothing_weeks: int, smoother: str) -> np.ndarray:
    """Circular smoothing of (groups, 52) weekly rates, centred on each week.

    ``smoother`` "median": running median of ``smoothing_weeks`` weeks; rows the median turns to
    all zeros while they had demand (only isolated single weeks sold) take the moving average.
    "mean": centred moving average. ``smoothing_weeks`` = 1 returns the profile unchanged.
    """
    if smoothing_weeks == 1:
        return profile
    window = _circular_window(profile, smoothing_weeks)
    mean = window.mean(axis=0)
    if smoother == "mean":
        return mean
    median = np.median(window, axis=0)
    wiped = (median.sum(axis=1) <= 0) & (profile.sum(axis=1) > 0)
    return np.where(wiped[:, None], mean, median)


def fit_profiles(
    units: np.ndarray,
    exposure: np.ndarray,
    *,
    smoothing_weeks: int = 3,
    smoother: str = "median",
) -> np.ndarray:
    """Seasonal index of each group from its cycle × week table (numeric kernel, see module doc).

    ``units`` and ``exposure`` are (groups, cycles, 52): units sold [units] (negatives are clipped
    to 0) and days of exposure [days] per cell. Fits E[U] = L[c] · p[w] · E by iterative
    proportional fitting, fills unobserved weeks, smooths and normalises each row to mean 1.
    Returns (groups, 52) [ratio]; rows without any sale are NaN.
    """
    units = np.clip(np.asarray(units, dtype=np.float64), 0.0, None)
    exposure = np.asarray(exposure, dtype=np.float64)
    if units.shape[0] == 0:
        return np.zeros((0, WEEKS))
    units_by_week = units.sum(axis=1)
    units_by_cycle = units.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = units_by_week / exposure.sum(axis=1)
        profile = np.where(np.isfinite(pooled), pooled, 0.0)
        for _ in range(_IPF_MAX_ITERATIONS):
            expected_by_cycle = np.einsum("gcw,gw->gc", exposure, profile)
            level = np.where(expected_by_cycle > 0, units_by_cycle / expected_by_cycle, 0.0)
            exposure_by_week = np.einsum("gcw,gc->gw", exposure, level)
            updated = np.where(exposure_by_week > 0, units_by_week / exposure_by_week, np.nan)
            scale = np.nanmax(np.abs(updated), axis=1, initial=0.0, keepdims=True)
            change = np.max(np.abs(np.nan_to_num(updated) - profile) / np.maximum(scale, 1e-300))
            profile = np.nan_to_num(updated)
            if not change > _IPF_TOLERANCE:
                break
    profile = _fill_circular(updated)
    profile = smooth_profile(profile, smoothing_weeks, smoother)
    mean = profile.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        index = profile / mean
    no_data = ~(units_by_week.sum(axis=1) > 0) | ~(mean[:, 0] > 0)
    index[no_data] = np.nan
    return index


def shrink_to_category(
    own: np.ndarray, category: np.ndarray, units: np.ndarray, shrinkage_units: float
) -> np.ndarray:
    """SKU index shrunk towards its category's (Poisson–Gamma posterior mean, renormalised).

    ``own`` and ``category`` are (skus, 52) indices [ratio, mean 1]; ``units`` the SKU's evidence
    [units or sales]. With m = units ÷ 52 (the SKU's sales per week of year at index 1) and
    a = shrinkage_units ÷ 52, the SKU's index in week w is given a Gamma prior with mean
    category[w] and shape a; after observing own[w] · m units its posterior mean is
    category[w] · (own[w] · m + a) ÷ (category[w] · m + a). Where category[w] = 1 this is the
    credibility blend Z · own + (1 − Z) · category with Z = units ÷ (units + shrinkage_units);
    where the category hardly sells, a few stray SKU units do not make a selling week. The
    result is divided by its mean (mean 1). shrinkage_units = 0 returns ``own``.
    """
    if shrinkage_units <= 0:
        return own.copy()
    m = (np.asarray(units, dtype=np.float64) / WEEKS)[:, None]
    prior = shrinkage_units / WEEKS
    posterior = category * (own * m + prior) / (category * m + prior)
    return posterior / posterior.mean(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def week_of_year(day: pl.Expr) -> pl.Expr:
    """ISO week of ``day`` with week 53 folded into 52 (Int8, 1–52)."""
    return pl.min_horizontal(day.dt.week(), pl.lit(WEEKS, dtype=pl.Int8)).cast(pl.Int8)


def _weeks_of_days(start: date, n_days: int) -> np.ndarray:
    """Week of year (1–52) of each of the n_days days from ``start`` (int64 array)."""
    if n_days <= 0:
        return np.zeros(0, dtype=np.int64)
    days = pl.date_range(start, start + timedelta(days=n_days - 1), "1d", eager=True)
    return pl.select(week_of_year(pl.lit(days))).to_series().to_numpy().astype(np.int64)


def _sku_categories(products: pl.DataFrame | None) -> pl.DataFrame:
    """sku → category (String; missing, null or blank → NO_CATEGORY), one row per SKU."""
    if products is None or "sku" not in products.columns:
        return pl.DataFrame(schema={"sku": pl.String, "category": pl.String})
    category = (
        pl.col("category").cast(pl.String).str.strip_chars()
        if "category" in products.columns
        else pl.lit(None, dtype=pl.String)
    )
    return (
        products.select(pl.col("sku").cast(pl.String), category.alias("category"))
        .filter(pl.col("sku").is_not_null())
        .unique("sku", keep="first", maintain_order=True)
        .with_columns(
            pl.when(pl.col("category").is_null() | (pl.col("category") == ""))
            .then(pl.lit(NO_CATEGORY))
            .otherwise(pl.col("category"))
            .alias("category")
        )
    )


def _exposure_prefix(window_start: date, window_days: int) -> np.ndarray:
    """P[o, cell] = days with day offset < o (from window_start) in each cycle × week cell."""
    weeks = _weeks_of_days(window_start, window_days)
    cycle = (window_days - 1 - np.arange(window_days)) // CYCLE_DAYS
    cell = cycle * WEEKS + weeks - 1
    n_cells = (window_days // CYCLE_DAYS) * WEEKS
    one_hot = np.zeros((window_days + 1, n_cells), dtype=np.int32)
    one_hot[np.arange(1, window_days + 1), cell] = 1
    return np.cumsum(one_hot, axis=0)


def _dense_cells(
    group: np.ndarray, cell: np.ndarray, units: np.ndarray, n_groups: int, n_cells: int
) -> np.ndarray:
    """(n_groups, n_cells) sums of ``units`` by (group, cell), negatives clipped to 0 per cell."""
    flat = np.bincount(group * n_cells + cell, weights=units, minlength=n_groups * n_cells)
    return np.clip(flat, 0.0, None).reshape(n_groups, n_cells)


def _fit_groups(
    dense_units: Callable[[int, int], np.ndarray],
    start_offset: np.ndarray,
    prefix: np.ndarray,
    smoothing_weeks: int,
    smoother: str,
) -> np.ndarray:
    """Profiles (n, 52) of groups 0 … n−1 (n = start_offset.size), fitted in chunks of groups.

    ``dense_units(lo, hi)`` returns the (hi − lo, cycles × 52) units [units] of groups lo … hi−1;
    ``start_offset`` is each group's first day of exposure [days from the window start];
    ``prefix`` comes from :func:`_exposure_prefix`.
    """
    n_groups = start_offset.size
    n_cycles = prefix.shape[1] // WEEKS
    out = np.full((n_groups, WEEKS), np.nan)
    total = prefix[-1]
    for lo in range(0, n_groups, _CHUNK_GROUPS):
        hi = min(lo + _CHUNK_GROUPS, n_groups)
        exposure = (total[None, :] - prefix[start_offset[lo:hi]]).astype(np.float64)
        out[lo:hi] = fit_profiles(
            dense_units(lo, hi).reshape(-1, n_cycles, WEEKS),
            exposure.reshape(-1, n_cycles, WEEKS),
            smoothing_weeks=smoothing_weeks,
            smoother=smoother,
        )
    return out


def _long_rows(
    level: str, category: pl.Series, sku: pl.Series | None, index: np.ndarray, types: np.ndarray
) -> pl.DataFrame:
    """52 rows per group in the SEASONALITY layout."""
    n = len(category)
    return pl.DataFrame(
        {
            "level": pl.Series([level], dtype=pl.String).gather(np.zeros(n * WEEKS, np.int64)),
            "category": category.cast(pl.String).gather(np.repeat(np.arange(n), WEEKS)),
            "sku": (
                sku.cast(pl.String).gather(np.repeat(np.arange(n), WEEKS))
                if sku is not None
                else pl.Series([None] * (n * WEEKS), dtype=pl.String)
            ),
            "week_of_year": np.tile(np.arange(1, WEEKS + 1, dtype=np.int8), n),
            "index": index.reshape(-1),
            "week_type": np.asarray(types, dtype=np.int8).reshape(-1),
        },
        schema=SEASONALITY.polars_schema(),
    )


def seasonal_index(
    sales: pl.DataFrame | pl.LazyFrame,
    products: pl.DataFrame | None,
    as_of: date,
    *,
    history_years: int = 3,
    min_history_days_category: int = 364,
    min_history_days_sku: int = 730,
    min_units_sku: float = 52.0,
    shrinkage_units: float = 52.0,
    category_shrinkage_units: float = 0.0,
    smoothing_weeks: int = 3,
    smoother: str = "median",
    off_season_index: float = 0.25,
    high_index: float = 1.3,
    peak_index: float = 1.8,
    long_block_weeks: int = 4,
) -> pl.DataFrame:
    """The ``seasonality`` table: seasonal index and week type per category and SKU (SPEC §3.3).

    ``sales`` needs sku, date, qty [units] (validated canonical table; location is not used: a
    SKU's index pools its locations); ``products`` gives each SKU's category (optional column;
    SKUs without one, or missing from products, go to :data:`NO_CATEGORY`). Only sales dated ≤
    ``as_of`` count, and for the index only those in the last ``history_years`` × 364 [days];
    first sales [date] are looked up over the whole history. Estimator, smoothing, shrinkage and
    week types are described in the module docstring.

    Returns schema :data:`SEASONALITY`: 52 rows (week_of_year 1–52) for every category of
    ``products`` or of a sold SKU (level "category", sku null), then 52 rows for every SKU with
    ``min_history_days_sku`` [days] from its first sale to ``as_of`` and ``min_units_sku``
    [units] in the window (level "sku", category = its category). The index [ratio] has mean 1
    over each row set of 52 weeks; week_type is 0–4 (:func:`week_types`).
    """
    _check_int("history_years", history_years, 1)
    _check_int("min_history_days_category", min_history_days_category, 0)
    _check_int("min_history_days_sku", min_history_days_sku, 0)
    _check_number("min_units_sku", min_units_sku, 0.0)
    _check_number("shrinkage_units", shrinkage_units, 0.0)
    _check_number("category_shrinkage_units", category_shrinkage_units, 0.0)
    _check_int("smoothing_weeks", smoothing_weeks, 1)
    if smoothing_weeks % 2 == 0:
        raise ValueError(
            f"The 'smoothing_weeks' parameter must be an odd int (centred window). "
            f"Got {smoothing_weeks!r}."
        )
    if smoother not in ("median", "mean"):
        raise ValueError(f"The 'smoother' parameter must be one of median, mean. Got {smoother!r}.")
    _check_thresholds(off_season_index, high_index, peak_index)
    _check_int("long_block_weeks", long_block_weeks, 1)
    type_options: dict[str, Any] = {
        "off_season_index": off_season_index,
        "high_index": high_index,
        "peak_index": peak_index,
        "long_block_weeks": long_block_weeks,
    }

    window_days = history_years * CYCLE_DAYS
    window_start = as_of - timedelta(days=window_days - 1)
    rows = (
        sales.lazy()
        .select(pl.col("sku").cast(pl.String), pl.col("date"), pl.col("qty").cast(pl.Float64))
        .filter(
            pl.col("sku").is_not_null()
            & pl.col("qty").is_not_null()
            & (pl.col("date") <= pl.lit(as_of))
        )
    )
    first_sales = (
        rows.filter(pl.col("qty") > 0).group_by("sku").agg(pl.col("date").min().alias("first"))
    )
    offset = (pl.lit(as_of) - pl.col("date")).dt.total_days()
    cell = (offset // CYCLE_DAYS) * WEEKS + week_of_year(pl.col("date")).cast(pl.Int64) - 1
    sku_cells = (
        rows.filter(pl.col("date") >= pl.lit(window_start))
        .group_by("sku", cell.alias("cell"))
        .agg(
            pl.col("qty").sum().alias("units"),
            pl.col("date").filter(pl.col("qty") > 0).n_unique().alias("days"),
        )
    )
    first_sales_df, sku_cells_df = pl.collect_all([first_sales, sku_cells], engine="streaming")

    # One row per SKU of products or with a sale (SKUs that never sold a unit add nothing):
    # _s = its number, its category and first sale; categories numbered _c in name order.
    categories_of = _sku_categories(products)
    sku_table = (
        categories_of.join(first_sales_df, on="sku", how="full", coalesce=True)
        .with_columns(pl.col("category").fill_null(NO_CATEGORY))
        .sort("sku")
        .with_row_index("_s")
    )
    cat_table = (
        sku_table.group_by("category").agg(pl.col("first").min()).sort("category")
    ).with_row_index("_c")
    sku_table = sku_table.join(cat_table.select("category", "_c"), on="category", how="left")
    sku_table = sku_table.sort("_s")
    cells = (
        sku_cells_df.join(sku_table.select("sku", "_s"), on="sku", how="inner")
        .select(pl.col("_s").cast(pl.Int64), "cell", "units", "days")
        .sort("_s")
    )
    sku_of_cell = cells["_s"].to_numpy()
    cell_of_cell = cells["cell"].to_numpy()
    units_of_cell = cells["units"].to_numpy()
    cat_of_sku = sku_table["_c"].to_numpy().astype(np.int64)
    prefix = _exposure_prefix(window_start, window_days)
    history = (pl.lit(as_of) - pl.col("first")).dt.total_days()

    def start_offsets(first: pl.Series) -> np.ndarray:
        days = (first - window_start).dt.total_days().fill_null(window_days).to_numpy()
        return np.clip(days, 0, window_days).astype(np.int64)

    # Categories ---------------------------------------------------------------------------
    n_cells = prefix.shape[1]
    cat_units = _dense_cells(
        cat_of_sku[sku_of_cell], cell_of_cell, units_of_cell, cat_table.height, n_cells
    )
    cat_index = _fit_groups(
        lambda lo, hi: cat_units[lo:hi],
        start_offsets(cat_table["first"]),
        prefix,
        smoothing_weeks,
        smoother,
    )
    cat_eligible = cat_table.select((history >= min_history_days_category).fill_null(False))
    flat = ~cat_eligible.to_series().to_numpy() | np.isnan(cat_index).any(axis=1)
    cat_index[flat] = 1.0
    # A sparse category's empty weeks are chance, not season: shrink it towards flat by its
    # evidence (sales events), as SKUs are shrunk towards their category.
    cat_of_cell = cat_of_sku[sku_of_cell]
    cat_sales = np.minimum(
        np.bincount(cat_of_cell, np.clip(units_of_cell, 0.0, None), cat_table.height),
        np.bincount(cat_of_cell, cells["days"].to_numpy(), cat_table.height),
    )
    cat_index[~flat] = shrink_to_category(
        cat_index[~flat], np.ones_like(cat_index[~flat]), cat_sales[~flat], category_shrinkage_units
    )
    out = [
        _long_rows(
            LEVEL_CATEGORY,
            cat_table["category"],
            None,
            cat_index,
            week_types(cat_index, **type_options),
        )
    ]

    # SKUs ---------------------------------------------------------------------------------
    n_skus = sku_table.height
    # cells come from a group-by on (sku, cell): each appears once, so clip them one by one
    sku_units = np.bincount(
        sku_of_cell, weights=np.clip(units_of_cell, 0.0, None), minlength=n_skus
    )
    selling_days = np.bincount(sku_of_cell, weights=cells["days"].to_numpy(), minlength=n_skus)
    sku_history = sku_table.select(history.fill_null(-1)).to_series().to_numpy()
    eligible = (sku_history >= min_history_days_sku) & (sku_units >= min_units_sku)
    eligible &= sku_units > 0
    if eligible.any():
        chosen = np.flatnonzero(eligible)
        renumber = np.full(n_skus, -1, dtype=np.int64)
        renumber[chosen] = np.arange(chosen.size)
        keep = eligible[sku_of_cell]  # cells are sorted by SKU, so by renumbered SKU too
        chosen_group = renumber[sku_of_cell[keep]]
        chosen_cell, chosen_units = cell_of_cell[keep], units_of_cell[keep]

        def chosen_dense(lo: int, hi: int) -> np.ndarray:
            a, b = np.searchsorted(chosen_group, [lo, hi])
            return _dense_cells(
                chosen_group[a:b] - lo, chosen_cell[a:b], chosen_units[a:b], hi - lo, n_cells
            )

        chosen_table = sku_table[chosen]
        sku_own = _fit_groups(
            chosen_dense, start_offsets(chosen_table["first"]), prefix, smoothing_weeks, smoother
        )
        evidence = np.minimum(sku_units[chosen], selling_days[chosen])
        sku_index = shrink_to_category(
            sku_own, cat_index[cat_of_sku[chosen]], evidence, shrinkage_units
        )
        out.append(
            _long_rows(
                LEVEL_SKU,
                chosen_table["category"],
                chosen_table["sku"],
                sku_index,
                week_types(sku_index, **type_options),
            )
        )
    return pl.concat(out, how="vertical")


# ---------------------------------------------------------------------------------------------
# Looking the index up per SKU
# ---------------------------------------------------------------------------------------------
def _in_blocks(table: pl.DataFrame) -> bool:
    """Whether the rows come in blocks of weeks 1 … 52 of one (level, category, sku) each, and
    no (level, category, sku) has two blocks."""
    if table.height % WEEKS:
        return False
    n_groups = table.height // WEEKS
    weeks = table["week_of_year"].to_numpy()
    if not np.array_equal(weeks, np.tile(np.arange(1, WEEKS + 1), n_groups)):
        return False
    keys = table.select("level", "category", "sku")
    firsts = keys.gather(np.arange(0, table.height, WEEKS))
    if firsts.is_duplicated().any():
        return False
    return keys.equals(firsts.gather(np.repeat(np.arange(n_groups), WEEKS)), null_equal=True)


def _profiles(seasonality: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Groups (level, category, sku, _g) and their (groups + 1, 52) index and week types.

    The extra last row (_g = groups) is the flat profile used when nothing is known.
    """
    missing = [c for c in SEASONALITY.names if c not in seasonality.columns]
    if missing:
        raise ValueError(
            f"The 'seasonality' table must have the columns of seasonal_index(). Missing: "
            f"{', '.join(missing)}."
        )
    keys = ["level", "category", "sku"]
    table = seasonality.select(SEASONALITY.names)
    if not _in_blocks(table):  # as seasonal_index() writes it; otherwise sort into blocks
        table = table.sort(*keys, "week_of_year", nulls_last=True)
        if not _in_blocks(table):
            raise ValueError(
                f"The 'seasonality' table must hold weeks 1–{WEEKS} exactly once per category "
                "or SKU."
            )
    groups = (
        table.gather(np.arange(0, table.height, WEEKS))
        .select(keys)
        .with_row_index("_g")
        .with_columns(pl.col("_g").cast(pl.Int64))
    )
    index = np.vstack([table["index"].to_numpy().reshape(-1, WEEKS), np.ones((1, WEEKS))])
    types = np.vstack(
        [
            table["week_type"].to_numpy().reshape(-1, WEEKS),
            np.full((1, WEEKS), REGULAR_LONG),
        ]
    ).astype(np.int8)
    return groups, index, types


def _as_sku_frame(skus: pl.DataFrame | pl.Series | Sequence[str] | np.ndarray) -> pl.DataFrame:
    if isinstance(skus, pl.DataFrame):
        if "sku" not in skus.columns:
            raise ValueError("The 'skus' table must have a 'sku' column.")
        return skus
    return pl.DataFrame({"sku": pl.Series("sku", list(skus), dtype=pl.String)})


def _resolve(
    groups: pl.DataFrame, products: pl.DataFrame | None, skus: pl.DataFrame
) -> tuple[np.ndarray, pl.Series]:
    """Profile row of each SKU (its SKU row, else its category's, else the flat row) and level."""
    flat_row = groups.height
    frame = (
        skus.select(pl.col("sku").cast(pl.String))
        .with_row_index("_row")
        .join(_sku_categories(products), on="sku", how="left")
        .with_columns(pl.col("category").fill_null(NO_CATEGORY))
        .join(
            groups.filter(pl.col("level") == LEVEL_SKU).select("sku", pl.col("_g").alias("_gs")),
            on="sku",
            how="left",
        )
        .join(
            groups.filter(pl.col("level") == LEVEL_CATEGORY).select(
                "category", pl.col("_g").alias("_gc")
            ),
            on="category",
            how="left",
        )
        .sort("_row")
    )
    level = frame.select(
        pl.when(pl.col("_gs").is_not_null())
        .then(pl.lit(LEVEL_SKU))
        .when(pl.col("_gc").is_not_null())
        .then(pl.lit(LEVEL_CATEGORY))
        .otherwise(pl.lit(LEVEL_NONE))
        .alias("seasonality_level")
    ).to_series()
    row = frame.select(pl.coalesce("_gs", "_gc", pl.lit(flat_row, dtype=pl.Int64))).to_series()
    return row.to_numpy().astype(np.int64), level


def week_status(
    seasonality: pl.DataFrame,
    products: pl.DataFrame | None,
    skus: pl.DataFrame | pl.Series | Sequence[str],
    as_of: date,
    *,
    lookahead_weeks: int = 4,
) -> pl.DataFrame:
    """Season status of each SKU in the week of ``as_of`` (SPEC §3.3, §3.4 criterion 2).

    ``skus`` is a table with a sku column (e.g. sku, location; every column and the row order
    are kept) or a list of SKUs. Each SKU uses its own rows of ``seasonality`` when present, else
    its category's (category from ``products``), else a flat profile (no seasonality known).
    Adds: seasonality_level (sku|category|none), seasonal_index_now [ratio], week_type_now (Int8
    0–4), off_season (week_type_now = 0), upcoming_high_season (a type 1 or 2 week among the
    next ``lookahead_weeks`` weeks, i.e. the weeks of as_of + 7 k days for k = 1 …
    lookahead_weeks; the current week does not count) and weeks_to_high_season [weeks] (Int64:
    0 when the current week is type 1 or 2, else the k ≤ 51 of the first such week; null when
    the profile has none).
    """
    _check_int("lookahead_weeks", lookahead_weeks, 0)
    groups, index, types = _profiles(seasonality)
    frame = _as_sku_frame(skus)
    row, level = _resolve(groups, products, frame)
    horizon = max(WEEKS, lookahead_weeks + 1)
    ahead = _weeks_of_days(as_of, 7 * (horizon - 1) + 1)[::7]  # week of as_of + 7 k days
    high = np.isin(types[:, ahead - 1], (PEAK, HIGH_SEASON))  # (groups + 1, horizon)
    upcoming = np.asarray(high[:, 1 : lookahead_weeks + 1].any(axis=1))
    first_high = np.where(high[:, :WEEKS].any(axis=1), np.argmax(high[:, :WEEKS], axis=1), -1)
    type_now = types[:, ahead[0] - 1]
    to_high = pl.Series("weeks_to_high_season", first_high[row], dtype=pl.Int64)
    to_high = to_high.set(to_high < 0, None)
    status = pl.DataFrame(
        {
            "seasonality_level": level,
            "seasonal_index_now": index[row, ahead[0] - 1],
            "week_type_now": pl.Series(type_now[row], dtype=pl.Int8),
            "off_season": type_now[row] == OFF_SEASON,
            "upcoming_high_season": upcoming[row],
            "weeks_to_high_season": to_high,
        }
    )
    return pl.concat([frame.drop(WEEK_STATUS_COLUMNS, strict=False), status], how="horizontal")


def index_path(
    seasonality: pl.DataFrame,
    products: pl.DataFrame | None,
    skus: pl.Series | Sequence[str],
    start_date: date,
    n_weeks: int = 26,
) -> np.ndarray:
    """Seasonal index [ratio] of each SKU in each of the next ``n_weeks`` weeks (SPEC §3.3).

    Column k is the week of year of ``start_date`` + 7 k days (k = 0 … n_weeks − 1), so column 0
    is the week of start_date. Rows follow ``skus``; each SKU's profile is resolved as in
    :func:`week_status` (SKU, else category, else flat 1). Returns (len(skus), n_weeks) float64;
    the forecast multiplies a deseasonalised daily level [units/day] by it.
    """
    _check_int("n_weeks", n_weeks, 0)
    groups, index, _ = _profiles(seasonality)
    row, _ = _resolve(groups, products, _as_sku_frame(skus))
    weeks = _weeks_of_days(start_date, 7 * max(n_weeks - 1, 0) + 1)[::7][:n_weeks]
    return index[row[:, None], weeks[None, :] - 1]


def daily_index(
    seasonality: pl.DataFrame,
    products: pl.DataFrame | None,
    skus: pl.Series | Sequence[str],
    start: date,
    n_days: int,
    *,
    floor: float = 0.0,
) -> np.ndarray:
    """Seasonal index [ratio] of each SKU on each of ``n_days`` days from ``start``.

    Day j gets the index of its week of year (a step function; the index carries no weekday
    pattern). For deseasonalising a daily series, divide by it; weeks of index 0 (no sales
    expected) give 0/0, so pass ``floor`` > 0 or skip those days. Returns (len(skus), n_days)
    float64 with every value ≥ ``floor``; rows follow ``skus``.
    """
    _check_int("n_days", n_days, 0)
    _check_number("floor", floor, 0.0)
    groups, index, _ = _profiles(seasonality)
    row, _ = _resolve(groups, products, _as_sku_frame(skus))
    weeks = _weeks_of_days(start, n_days)
    return np.maximum(index[row[:, None], weeks[None, :] - 1], floor)
