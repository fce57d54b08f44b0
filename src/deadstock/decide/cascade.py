"""The industry markdown cascade: the rule-of-thumb baseline of SPEC §3.5.

The retailer's current practice that the optimum is compared with ("Industry rule baseline",
SPEC §3.5; week types of SPEC §3.3). Each SKU-location of the ``classification`` table gets one
markdown level from a fixed cascade of branches, with the default levels:

============================  ==================================================  =========
branch (``cascade_rule``)     fires when (``on_hand`` > 0 for every branch)       discount
============================  ==================================================  =========
``dead``                      ``is_dead`` (the 4-criteria filter of §3.4)         50 %
``post_peak_long_block``      week type 3 now and slow stock                      25 %
``spot``                      week type 4 now and slow stock                      15 %
``high_season_overstock``     week type 1 or 2 now and more than 30 projected     25 %
                              stock days (no forecast counts as more)
``release_ratio_bottom_20``   release ratio among the slowest 20 %                50 %
``release_ratio_bottom_40``   release ratio among the slowest 40 %                25 %
============================  ==================================================  =========

Week types (SPEC §3.3): 0 off-season, 1 peak, 2 high season, 3 regular weeks in a long block
(≥ 4 weeks; the weeks after the peak), 4 regular weeks in a short block (spot). "High season"
is type 1 or 2. "Slow stock" = velocity band slow, very slow or non-moving (SPEC §3.4, projected
stock days ≥ 57 by default): a regular-season week alone is no reason to mark a good seller
down, so the two week-type branches need it; the other branches carry their own stock test.

The release ratio is inventory cost ÷ release rate [days] (SPEC §3.2): the higher, the slower the
stock releases its value. ``release_ratio_pct`` is its ascending rank ÷ the number of stocked
SKU-locations (:mod:`deadstock.detect.classify`), so the *bottom* (slowest) share s of the
release performance is ``release_ratio_pct > 1 − s``; rows without a rank (no stock) never fire.

Precedence: when several branches fire, the deepest discount wins; ties go to the branch listed
first above. The hold wins over everything: when the next high season (week type 1 or 2) starts
within 1 … ``hold_weeks`` weeks (``weeks_to_high_season``; a high season already under way, 0
weeks, does not hold), a SKU-location on which any branch fired gets no markdown, ``held`` = true
and ``cascade_rule`` = ``hold_high_season``. Nothing fired: discount 0, rule ``none``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import polars as pl

from deadstock.detect.dead import EXCESS_BANDS
from deadstock.detect.seasonality import HIGH_SEASON, PEAK, REGULAR_LONG, REGULAR_SHORT
from deadstock.errors import ConfigError, InputError

#: Velocity bands that count as slow stock for the week-type branches (SPEC §3.4).
SLOW_BANDS: tuple[str, ...] = ("slow", *EXCESS_BANDS)
HOLD = "hold_high_season"
NONE = "none"

#: Columns of ``classification`` the cascade reads.
CASCADE_COLUMNS: tuple[str, ...] = (
    "sku",
    "location",
    "on_hand",
    "is_dead",
    "week_type_now",
    "weeks_to_high_season",
    "projected_stock_days",
    "velocity_band",
    "release_ratio_pct",
)


@dataclass(frozen=True)
class CascadeSettings:
    """Levels and thresholds of the cascade (settings ``cascade_<field>``), SPEC §3.5 defaults.

    Discounts are shares of the selling price [share]; ``high_season_stock_days`` [days];
    ``hold_weeks`` [weeks] (0: never hold); release shares are the slowest share of stocked
    SKU-locations by release ratio [share].
    """

    dead_discount: float = 0.50
    long_block_discount: float = 0.25
    spot_discount: float = 0.15
    high_season_discount: float = 0.25
    high_season_stock_days: float = 30.0
    hold_weeks: int = 4
    release_deep_share: float = 0.20
    release_deep_discount: float = 0.50
    release_mid_share: float = 0.40
    release_mid_discount: float = 0.25

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if f.name == "hold_weeks":
                ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 52
                expected = "an int in [0, 52]"
            elif f.name == "high_season_stock_days":
                ok = number and value >= 0
                expected = "a number in [0, inf)"
            else:
                ok = number and 0.0 <= value <= 1.0
                expected = "a number in [0, 1]"
            if not ok:
                raise ConfigError(
                    f"The 'cascade_{f.name}' setting must be {expected}. Got {value!r}.",
                    fix=f"set cascade_{f.name} to {expected}.",
                )

    @classmethod
    def from_config(cls, config: object) -> CascadeSettings:
        """The cascade of a :class:`deadstock.config.Config` (settings ``cascade_<field>``)."""
        return cls(**{f.name: getattr(config, f"cascade_{f.name}") for f in fields(cls)})

    def branches(self) -> list[tuple[str, float]]:
        """(rule name, discount) of every markdown branch in tie-breaking order."""
        return [
            ("dead", self.dead_discount),
            ("post_peak_long_block", self.long_block_discount),
            ("spot", self.spot_discount),
            ("high_season_overstock", self.high_season_discount),
            (_release_rule(self.release_deep_share), self.release_deep_discount),
            (_release_rule(self.release_mid_share), self.release_mid_discount),
        ]


def _release_rule(share: float) -> str:
    """Rule name of a release-ratio branch, e.g. ``release_ratio_bottom_20`` for 0.20."""
    return f"release_ratio_bottom_{round(share * 100, 6):g}"


def _check_columns(classification: pl.DataFrame) -> None:
    missing = [c for c in CASCADE_COLUMNS if c not in classification.columns]
    if missing:
        raise InputError(
            f"The classification table lacks column(s) {', '.join(missing)} for the cascade.",
            file="classification",
            column=missing[0],
            fix="pass the run's classification table (deadstock.detect.classify); it has "
            + ", ".join(CASCADE_COLUMNS)
            + ".",
        )


def cascade_conditions(settings: CascadeSettings) -> list[tuple[str, float, pl.Expr]]:
    """(rule, discount, boolean expression) of every markdown branch, in tie-breaking order.

    The expressions read the classification columns; nulls count as false.
    """
    stocked = pl.col("on_hand").fill_null(0.0) > 0
    week = pl.col("week_type_now")
    slow = pl.col("velocity_band").is_in(SLOW_BANDS).fill_null(False)
    days = pl.col("projected_stock_days").cast(pl.Float64)
    overstocked = days.is_null() | days.is_nan() | (days > settings.high_season_stock_days)
    rank = pl.col("release_ratio_pct").cast(pl.Float64)
    tolerance = 1e-12

    def slowest(share: float) -> pl.Expr:
        return (rank > 1.0 - share + tolerance).fill_null(False)

    conditions = [
        pl.col("is_dead").fill_null(False),
        (week == REGULAR_LONG).fill_null(False) & slow,
        (week == REGULAR_SHORT).fill_null(False) & slow,
        week.is_in([PEAK, HIGH_SEASON]).fill_null(False) & overstocked,
        slowest(settings.release_deep_share),
        slowest(settings.release_mid_share),
    ]
    return [
        (name, level, stocked & condition)
        for (name, level), condition in zip(settings.branches(), conditions, strict=True)
    ]


def high_season_ahead(hold_weeks: int) -> pl.Expr:
    """The next high season (week type 1 or 2) starts within 1 … ``hold_weeks`` weeks."""
    weeks = pl.col("weeks_to_high_season")
    return ((weeks >= 1) & (weeks <= hold_weeks)).fill_null(False)


def cascade_discounts(
    classification: pl.DataFrame, settings: CascadeSettings | None = None
) -> pl.DataFrame:
    """The cascade markdown of every SKU-location (SPEC §3.5 industry rule baseline).

    Returns sku, location, cascade_discount [share of price], cascade_rule (the branch that set
    the discount, ``hold_high_season`` or ``none``) and held (a markdown was suppressed because
    high season starts within ``hold_weeks``), one row per classification row, in its order.
    The branches, their precedence and the hold are described in the module docstring.
    """
    settings = CascadeSettings() if settings is None else settings
    _check_columns(classification)
    branches = cascade_conditions(settings)
    columns = [f"_fires_{i}" for i in range(len(branches))]
    # deepest level first, ties in listed order: the first branch that fires in this order wins
    ranked = sorted(range(len(branches)), key=lambda i: (-branches[i][1], i))
    held = pl.col("_held")
    discount: Any = pl.when(held).then(pl.lit(0.0))
    rule: Any = pl.when(held).then(pl.lit(HOLD))
    for i in ranked:
        name, level, _ = branches[i]
        discount = discount.when(pl.col(columns[i])).then(pl.lit(float(level)))
        rule = rule.when(pl.col(columns[i])).then(pl.lit(name))
    return (
        classification.lazy()
        .select(
            pl.col("sku").cast(pl.String),
            pl.col("location").cast(pl.String),
            *(expr.alias(column) for (_, _, expr), column in zip(branches, columns, strict=True)),
            high_season_ahead(settings.hold_weeks).alias("_ahead"),
        )
        .with_columns((pl.any_horizontal(columns) & pl.col("_ahead")).alias("_held"))
        .select(
            "sku",
            "location",
            discount.otherwise(pl.lit(0.0)).cast(pl.Float64).alias("cascade_discount"),
            rule.otherwise(pl.lit(NONE)).alias("cascade_rule"),
            held.alias("held"),
        )
        .collect()
    )
