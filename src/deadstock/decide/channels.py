"""Channel actions of a parameter table: listing fix, bundle and transfer (SPEC §3.5, §3.6).

Each moves a share of a row's excess units through a channel and keeps the rest; the cost model
(:data:`deadstock.decide.costs.CHANNEL_ACTIONS`) prices them per excess unit as
share · (carrying + Ps/(1+Re)^De − unit_value) + (1 − share) · keep. This module fills the
params columns ``<action>_share`` [-], ``<action>_unit_value`` [currency/unit] (present value a
channel unit brings, net of the channel's own costs) and ``<action>_carrying`` [currency/unit]
(carrying of a channel unit until it goes; c per unit-day as for markdowns,
:func:`deadstock.pricing.options.carrying_per_day`):

- **fix_listing** (segment A, SPEC §3.4: the listing, not the product, is the problem): a
  zero-cost fix after which ``listing_fix_share`` of the excess (SPEC §3.6: 10–25 %) sells at
  full price, evenly over ``listing_fix_weeks``: unit_value = Ps/(1+Re)^t̄ and carrying =
  c · Σ_{d=0..⌊t̄⌋} 1/(1+Re)^d with t̄ = 7 · weeks / 2, the mean sale day. Offered where the
  params column ``listing_fix_eligible`` is 1.
- **bundle** (:func:`deadstock.decide.bundles.propose_bundles`): share = expected_units /
  excess, unit_value = expected_value / expected_units (the present value of the slow item's
  part of the bundle price), carrying to the mean bundle day expected_days / 2.
- **transfer**: from a per source SKU-location summary of the transfer plan (units, the
  destination value per unit net of the lane cost, and days to sell there).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from deadstock.decide.costs import Economy, FloatArray, discount_factor, discounted_day_count
from deadstock.pricing.options import carrying_per_day, float_column

KEY = ["sku", "location"]


def _carrying_to(days: FloatArray, carry: FloatArray, economy: Economy) -> FloatArray:
    """c · Σ_{d=0..⌊days⌋} 1/(1+Re)^d [currency/unit]."""
    last = np.floor(np.nan_to_num(days, nan=0.0))
    count = discounted_day_count(np.zeros_like(last), last, economy.discount_rate_excess)
    return carry * count


def listing_fix_columns(params: pl.DataFrame, economy: Economy, config: Any) -> pl.DataFrame:
    """``params`` with fix_listing_share / _unit_value / _carrying where listing_fix_eligible
    is 1 (module docstring); unchanged without that column."""
    if "listing_fix_eligible" not in params.columns:
        return params
    eligible = np.nan_to_num(float_column(params, "listing_fix_eligible"), nan=0.0) > 0
    excess = np.nan_to_num(float_column(params, "excess_units"), nan=0.0)
    eligible &= excess > 0
    mean_day = 7.0 * float(config.listing_fix_weeks) / 2.0
    price = float_column(params, "price")
    days = np.full(params.height, mean_day)
    value = price * discount_factor(days, economy.discount_rate_excess)
    carrying = _carrying_to(days, carrying_per_day(params, economy), economy)
    share = float(config.listing_fix_share)
    return params.with_columns(
        pl.Series("fix_listing_share", np.where(eligible, share, np.nan)),
        pl.Series("fix_listing_unit_value", np.where(eligible, value, np.nan)),
        pl.Series("fix_listing_carrying", np.where(eligible, carrying, np.nan)),
    ).with_columns(pl.selectors.starts_with("fix_listing_").fill_nan(None))


def channel_columns(
    params: pl.DataFrame,
    offers: pl.DataFrame | None,
    action: str,
    economy: Economy,
) -> pl.DataFrame:
    """``params`` with ``<action>_share / _unit_value / _carrying`` from per-row ``offers``.

    ``offers``: sku, location, units (through the channel [units]), value (their total present
    value net of the channel's costs [currency]) and days (until the last of them goes [days];
    they go evenly, so carrying runs to days / 2; blank = the value already carries its holding,
    carrying 0). Rows without an offer are left blank.
    """
    if offers is None or offers.height == 0:
        return params
    joined = params.select(KEY).join(
        offers.select(
            *KEY,
            pl.col("units").cast(pl.Float64).alias("_units"),
            pl.col("value").cast(pl.Float64).alias("_value"),
            pl.col("days").cast(pl.Float64).alias("_days"),
        ),
        on=KEY,
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    excess = np.nan_to_num(float_column(params, "excess_units"), nan=0.0)
    units = np.nan_to_num(joined["_units"].fill_null(np.nan).to_numpy(), nan=0.0)
    units = np.minimum(units, excess)
    ok = (units > 0) & (excess > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(ok, units / excess, np.nan)
        value = np.where(ok, joined["_value"].fill_null(np.nan).to_numpy() / units, np.nan)
    days = joined["_days"].fill_null(np.nan).to_numpy()
    carrying = np.where(
        np.isfinite(days),
        _carrying_to(days / 2.0, carrying_per_day(params, economy), economy),
        0.0,  # no days: the offer's value already carries its holding (transfers)
    )
    return params.with_columns(
        pl.Series(f"{action}_share", share),
        pl.Series(f"{action}_unit_value", value),
        pl.Series(f"{action}_carrying", np.where(ok, carrying, np.nan)),
    ).with_columns(pl.selectors.starts_with(f"{action}_").fill_nan(None))


def bundle_offers(bundles: pl.DataFrame | None) -> pl.DataFrame | None:
    """The bundles table as channel offers (units, value, days per slow SKU-location)."""
    if bundles is None or bundles.height == 0:
        return None
    return bundles.select(
        *KEY,
        pl.col("expected_units").alias("units"),
        pl.col("expected_value").alias("value"),
        pl.col("expected_days").alias("days"),
    )
