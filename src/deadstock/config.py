"""Settings registry and config files.

Every setting lives in :data:`SETTINGS` with its default, type, unit and help text; this is the one
place they are defined and documented (``deadstock settings`` prints the table). A run's settings
come from, in increasing priority: the defaults, a TOML config file (``[settings]`` section), and
``--set name=value`` on the command line.

Config file layout::

    [settings]
    currency = "EUR"
    age_buckets = [30, 60, 90]          # or the preset name "amazon"

    [tables]                            # explicit paths, relative to the config file
    sales = "exports/orders_2025.csv"

    [columns]                           # canonical = "header in your file", for every table
    sku = "Article number"

    [columns.sales]                     # ... or for one table only
    qty = "Units sold"
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deadstock.decide.costs import ACTIONS
from deadstock.errors import ConfigError

AGE_BUCKET_PRESETS: dict[str, tuple[int, ...]] = {
    "default": (30, 60, 90, 180, 365),
    # Amazon FBA aged-inventory surcharge brackets (181–210 … 331–365, 365+), below 181 days the
    # inventory-age report's 0–90 and 91–180 brackets.
    "amazon": (90, 180, 210, 240, 270, 300, 330, 365),
}


@dataclass(frozen=True)
class Setting:
    """One setting: name, default, unit, help and how to parse and check a value."""

    name: str
    default: Any
    unit: str
    help: str
    parse: Callable[[Any], Any]


def _int_range(lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("must be an int")
        if isinstance(value, str):
            value = value.strip()
        try:
            out = int(value)
        except (TypeError, ValueError):
            raise ValueError("must be an int") from None
        if isinstance(value, float) and value != out:
            raise ValueError("must be an int")
        if (lo is not None and out < lo) or (hi is not None and out > hi):
            raise ValueError(
                f"must be an int in [{lo if lo is not None else '-inf'}, "
                f"{hi if hi is not None else 'inf'}]"
            )
        return out

    return parse


def _float_range(lo: float | None = None, hi: float | None = None) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
        if (lo is not None and out < lo) or (hi is not None and out > hi):
            raise ValueError(
                f"must be a number in [{lo if lo is not None else '-inf'}, "
                f"{hi if hi is not None else 'inf'}]"
            )
        return out

    return parse


def _text(choices: Iterable[str] | None = None, optional: bool = False) -> Callable[[Any], Any]:
    allowed = tuple(choices) if choices is not None else None

    def parse(value: Any) -> Any:
        if value is None or (optional and value == ""):
            if optional:
                return None
            raise ValueError("must be a text")
        out = str(value).strip()
        if allowed is not None and out not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return out

    return parse


def _optional_date(value: Any) -> dt.date | None:
    if value is None or value in {"", "latest"}:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError("must be an ISO date YYYY-MM-DD (or 'latest')") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _number_list(count: int | None = None, kind: type = float) -> Callable[[Any], tuple[Any, ...]]:
    def parse(value: Any) -> tuple[Any, ...]:
        items = value.split(",") if isinstance(value, str) else value
        try:
            out = tuple(kind(str(v).strip()) if kind is int else kind(v) for v in items)
        except (TypeError, ValueError):
            raise ValueError(f"must be a comma-separated list of {kind.__name__}s") from None
        if count is not None and len(out) != count:
            raise ValueError(f"must hold exactly {count} values")
        if list(out) != sorted(set(out)):
            raise ValueError("must be strictly increasing")
        return out

    return parse


def _optional_float(lo: float | None = None) -> Callable[[Any], float | None]:
    check = _float_range(lo)

    def parse(value: Any) -> float | None:
        if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none"}):
            return None
        return check(value)

    return parse


def _zero_one(value: Any) -> int:
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "yes", "no"}:
        return int(_bool(value))
    out = _int_range(0, 1)(value)
    return out


DECISION_ACTIONS = ACTIONS  # every action the cost model prices (deadstock.decide.costs)


def _actions(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    out = tuple(str(v).strip() for v in items if str(v).strip())
    unknown = [a for a in out if a not in DECISION_ACTIONS]
    if unknown:
        raise ValueError(f"must list actions among {', '.join(DECISION_ACTIONS)}")
    return tuple(a for a in DECISION_ACTIONS if a in {"keep", *out})


def _age_buckets(value: Any) -> tuple[int, ...]:
    if isinstance(value, str) and value.strip() in AGE_BUCKET_PRESETS:
        return AGE_BUCKET_PRESETS[value.strip()]
    edges = _number_list(kind=int)(value)
    if not edges or edges[0] <= 0:
        raise ValueError(
            "must be increasing positive day edges like 30,60,90 or a preset ("
            + ", ".join(AGE_BUCKET_PRESETS)
            + ")"
        )
    return edges


_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "as_of",
        None,
        "date",
        "Date of the analysis; default the latest date in the data.",
        _optional_date,
    ),
    Setting(
        "today",
        None,
        "date",
        "Today's date for the 'date in the future' check; default the system date.",
        _optional_date,
    ),
    Setting("currency", "USD", "ISO 4217", "Currency of every money column in the run.", _text()),
    Setting("default_location", "main", "-", "Location of rows that name none.", _text()),
    Setting(
        "age_buckets",
        AGE_BUCKET_PRESETS["default"],
        "days",
        "Upper edges of the age buckets, or a preset: " + ", ".join(AGE_BUCKET_PRESETS) + ".",
        _age_buckets,
    ),
    Setting(
        "avg_sales_window_days",
        90,
        "days",
        "Window of avg_daily_sales (in-stock days only).",
        _int_range(1, 3650),
    ),
    Setting("sell_through_window_days", 30, "days", "Window of sell_through.", _int_range(1, 3650)),
    Setting(
        "turnover_window_days",
        365,
        "days",
        "Window of turnover, COGS, gross margin, GMROI and average inventory.",
        _int_range(1, 3650),
    ),
    Setting(
        "abc_basis",
        "revenue",
        "-",
        "What ABC ranks by: revenue or profit (gross margin).",
        _text(("revenue", "profit")),
    ),
    Setting(
        "abc_cuts",
        (0.80, 0.95),
        "share",
        "Cumulative shares closing classes A and B.",
        _number_list(2),
    ),
    Setting(
        "xyz_cuts",
        (0.5, 1.0),
        "ratio",
        "Weekly-demand CV closing classes X and Y.",
        _number_list(2),
    ),
    Setting(
        "demand_weeks", 52, "weeks", "Weeks of history for XYZ, ADI and CV².", _int_range(4, 520)
    ),
    Setting("adi_cut", 1.32, "weeks", "Syntetos–Boylan ADI cut-off.", _float_range(1.0)),
    Setting("cv2_cut", 0.49, "ratio", "Syntetos–Boylan CV² cut-off.", _float_range(0.0)),
    Setting(
        "date_format",
        None,
        "strftime",
        "Date format of the input files (e.g. %d/%m/%Y); default: detect, and reject "
        "ambiguous columns.",
        _text(optional=True),
    ),
    Setting(
        "encoding",
        None,
        "-",
        "Text encoding of CSV files; default: detect (UTF-8/16, else cp1252).",
        _text(optional=True),
    ),
    Setting(
        "delimiter",
        None,
        "-",
        "CSV delimiter; default: detect among , ; tab |.",
        _text(optional=True),
    ),
    Setting(
        "decimal_comma",
        None,
        "bool",
        "Numbers use a decimal comma (1.234,5); default: detect per file.",
        lambda v: None if v is None or v == "" else _bool(v),
    ),
    Setting(
        "reject_duplicate_rows",
        True,
        "bool",
        "Reject rows that repeat an earlier row exactly (all columns).",
        _bool,
    ),
    # --- Detection: forecast, excess, classification (SPEC §3.3, §3.4) ---------------------
    Setting(
        "forecast_weeks", 26, "weeks", "Forecast horizon per SKU-location.", _int_range(1, 104)
    ),
    Setting(
        "forecast_history_days",
        730,
        "days",
        "Days of daily sales each forecast series holds (ending on the as-of date).",
        _int_range(56, 3650),
    ),
    Setting(
        "forecast_backtest_origins",
        4,
        "origins",
        "Rolling origins of the backtest that picks the forecast method per demand class.",
        _int_range(1, 52),
    ),
    Setting(
        "forecast_backtest_step_days",
        28,
        "days",
        "Days between the rolling origins of the method backtest.",
        _int_range(1, 365),
    ),
    Setting(
        "forecast_backtest_horizon_days",
        28,
        "days",
        "Days after each origin the method backtest scores.",
        _int_range(1, 365),
    ),
    Setting(
        "forecast_backtest_sample",
        5000,
        "series",
        "Series per demand class the method backtest scores (a seeded sample when there are "
        "more; 5,000 puts the standard error of a class's mean MASE near 1 % of its spread).",
        _int_range(1, 10_000_000),
    ),
    Setting(
        "excess_threshold_days",
        84,
        "days",
        "Units still in stock after this many days at the forecast are excess.",
        _int_range(1, 3650),
    ),
    Setting(
        "no_forecast_days",
        1095,
        "days",
        "Expected days in stock of SKU-locations without forecast demand (also the cap of the "
        "probabilistic expected days).",
        _int_range(1, 36500),
    ),
    Setting(
        "sell_out_days",
        (84, 182, 365),
        "days",
        "Day counts of the probabilities that all stock sells within them.",
        _number_list(kind=int),
    ),
    Setting(
        "velocity_band_cuts",
        (29, 57, 85, 183),
        "days",
        "Projected stock days starting bands normal, slow, very_slow, non_moving.",
        _number_list(4),
    ),
    Setting(
        "dead_no_sale_days",
        7,
        "days",
        "Dead criterion 1: no sale in this many days.",
        _int_range(1, 3650),
    ),
    Setting(
        "dead_category_percentile",
        0.10,
        "share",
        "Dead criterion 3: on_hand at least this percentile of positive on-hand in the category.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "erp_dead_days",
        90,
        "days",
        "The plain ERP rule: stock with no sale in this many days is dead.",
        _int_range(1, 3650),
    ),
    Setting(
        "seasonal_history_years",
        3,
        "years",
        "Years of 364 days of sales the seasonal index is estimated from.",
        _int_range(1, 20),
    ),
    Setting(
        "seasonal_min_history_days_category",
        364,
        "days",
        "Days from a category's first sale to as-of needed for its own index (else flat).",
        _int_range(1, 36500),
    ),
    Setting(
        "seasonal_min_history_days_sku",
        730,
        "days",
        "Days from a SKU's first sale to as-of needed for a SKU-level index.",
        _int_range(1, 36500),
    ),
    Setting(
        "seasonal_min_units_sku",
        52.0,
        "units",
        "Units in the history window needed for a SKU-level index.",
        _float_range(0.0),
    ),
    Setting(
        "seasonal_shrinkage_units",
        52.0,
        "units",
        "Prior strength when shrinking a SKU index towards its category (0 = none).",
        _float_range(0.0),
    ),
    Setting(
        "seasonal_category_shrinkage_units",
        52.0,
        "sales",
        "Prior strength shrinking a category index towards flat, so a sparse category's empty "
        "weeks do not look like an off-season (0 = none).",
        _float_range(0.0),
    ),
    Setting(
        "seasonal_smoothing_weeks",
        3,
        "weeks",
        "Width of the centred circular smoothing window of the index (odd; 1 = none).",
        _int_range(1, 25),
    ),
    Setting(
        "seasonal_smoother",
        "median",
        "-",
        "Smoother of the index: median (keeps season edges, drops one-week promotions) or mean.",
        _text(("median", "mean")),
    ),
    Setting(
        "off_season_index",
        0.25,
        "index",
        "Week type 0 (off-season, zero sales expected): seasonal index below this.",
        _float_range(0.0),
    ),
    Setting(
        "high_season_index",
        1.3,
        "index",
        "Week type 2 (high season): seasonal index from this.",
        _float_range(0.0),
    ),
    Setting(
        "peak_season_index",
        1.8,
        "index",
        "Week type 1 (peak): seasonal index from this.",
        _float_range(0.0),
    ),
    Setting(
        "regular_block_weeks",
        4,
        "weeks",
        "Regular weeks in a run at least this long are type 3, shorter runs type 4 (spot).",
        _int_range(1, 52),
    ),
    Setting(
        "high_season_lookahead_weeks",
        4,
        "weeks",
        "upcoming_high_season: a peak or high-season week within this many weeks.",
        _int_range(0, 52),
    ),
    Setting(
        "holding_cost_rate_yearly",
        0.25,
        "1/year",
        "Holding cost per year as a share of unit cost, where products give no "
        "holding_cost_per_day.",
        _float_range(0.0, 10.0),
    ),
    Setting(
        "capital_cost_daily",
        0.00014,
        "1/day",
        "Cw: daily working-capital rate (thesis default 0.014 %/day).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "discount_rate_excess",
        0.00086,
        "1/day",
        "Re: daily discount rate of excess stock value (thesis default 0.086 %/day).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "discount_rate_overall",
        0.00023,
        "1/day",
        "Ro: daily discount rate of overall stock value (thesis default 0.023 %/day).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "avg_margin",
        2.20,
        "currency/unit",
        "M: average contribution margin per unit sold, the margin the space of kept excess "
        "could earn (thesis default 2.20).",
        _float_range(),
    ),
    Setting(
        "avg_days_in_stock",
        60.0,
        "days",
        "D: average days in stock of regular stock (thesis default 60).",
        _float_range(0.0),
    ),
    Setting(
        "avg_lead_time",
        7.0,
        "days",
        "L: average supplier lead time (thesis default 7).",
        _float_range(0.0),
    ),
    Setting(
        "capacity_limited",
        0,
        "0/1",
        "α: 1 when warehouse capacity is limited (peak season), adding the capacity opportunity "
        "cost to keeping; ignored when capacity_units or capacity_volume is set.",
        _zero_one,
    ),
    Setting(
        "decision_actions",
        DECISION_ACTIONS,
        "-",
        "Actions the decision engine may choose (keep is always allowed).",
        _actions,
    ),
    Setting(
        "capacity_units",
        None,
        "units",
        "Warehouse space left for kept excess stock, in units (a coupling constraint solved "
        "exactly; its shadow price replaces the α term).",
        _optional_float(0.0),
    ),
    Setting(
        "capacity_volume",
        None,
        "litres",
        "Warehouse space left for kept excess stock, in litres (needs a volume per unit).",
        _optional_float(0.0),
    ),
    Setting(
        "use_location_capacity",
        False,
        "bool",
        "In a run, keep kept excess within each location's capacity_units / capacity_volume "
        "(locations table) less the stock that is not excess.",
        _bool,
    ),
    Setting(
        "min_liquidation_lot",
        None,
        "units",
        "Liquidated units in total must be 0 or at least this (a liquidator's minimum lot).",
        _optional_float(0.0),
    ),
    Setting(
        "keep_single_items",
        False,
        "bool",
        "Single-item retention: keep SKUs whose whole stock is one unit.",
        _bool,
    ),
    Setting(
        "single_item_max_days",
        None,
        "days",
        "With keep_single_items: retain only single items expected to sell within this many "
        "days (365 or 182.5 in the thesis); default: all single items.",
        _optional_float(0.0),
    ),
    Setting(
        "decision_method",
        "auto",
        "-",
        "Solver for coupled problems: auto (decomposition with exact reduced MILP), "
        "decomposition, or milp (one HiGHS MILP of the whole model).",
        _text(("auto", "decomposition", "milp")),
    ),
    Setting(
        "decision_time_limit",
        60.0,
        "seconds",
        "Wall-time limit of the coupled solver; the gap reached is reported.",
        _float_range(0.1),
    ),
    Setting(
        "decision_gap",
        1e-6,
        "share",
        "Relative optimality gap at which the coupled solver stops.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "liquidator_policy",
        "general",
        "-",
        "general (liquidation_recovery × price), specialised (liquidation_specialised_share × "
        "price ex VAT, only for price ≥ specialised_min_price) or hybrid (the better offer).",
        _text(("general", "specialised", "hybrid")),
    ),
    Setting(
        "liquidation_specialised_share",
        0.20,
        "share",
        "Specialised liquidator's price as a share of the price ex VAT (thesis 10–30 %).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "specialised_min_price",
        12.0,
        "currency",
        "Specialised liquidators only buy items priced at least this (incl. VAT).",
        _float_range(0.0),
    ),
    Setting(
        "vat_rate",
        0.21,
        "share",
        "VAT included in selling prices (price ex VAT = price / (1 + vat_rate)).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "liquidation_cost_per_unit",
        0.0,
        "currency/unit",
        "Cl: transport and handling per unit sent to a liquidator.",
        _float_range(0.0),
    ),
    Setting(
        "recycle_price_per_unit",
        None,
        "currency/unit",
        "Pd: recycler's payment per unit; default: recycling not offered.",
        _optional_float(),
    ),
    Setting(
        "recycle_cost_per_unit",
        0.0,
        "currency/unit",
        "Cd: transport per unit sent to recycling.",
        _float_range(0.0),
    ),
    Setting(
        "donation_value_share",
        None,
        "share",
        "Tax value of a donated unit as a share of its unit cost; default: donation not offered.",
        _optional_float(0.0),
    ),
    Setting(
        "donation_cost_per_unit",
        0.0,
        "currency/unit",
        "Logistics per donated unit.",
        _float_range(0.0),
    ),
    Setting(
        "disposal_cost_per_unit",
        None,
        "currency/unit",
        "Cost of disposing of one unit; default: disposal not offered.",
        _optional_float(0.0),
    ),
    Setting(
        "liquidation_recovery",
        0.10,
        "share",
        "Liquidation price as a share of the selling price (general liquidator 5–20 %).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "listing_min_images",
        3,
        "images",
        "Segment A signal: fewer product images than this.",
        _int_range(0, 1000),
    ),
    Setting(
        "listing_min_description_chars",
        250,
        "characters",
        "Segment A signal: a product description shorter than this.",
        _int_range(0, 1_000_000),
    ),
    Setting(
        "price_fence_iqr",
        1.5,
        "IQR",
        "Segment A signal: price above the category's Q3 + this × IQR of prices.",
        _float_range(0.0),
    ),
    Setting(
        "revival_drop_ratio",
        0.5,
        "ratio",
        "Segment B: an A/B-class SKU whose last-90-day sales rate fell below this share of the "
        "rate of the 275 days before.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "lifecycle_intro_days",
        90,
        "days",
        "Lifecycle introduction: first sale or launch within this many days.",
        _int_range(1, 3650),
    ),
    Setting(
        "lifecycle_end_days",
        182,
        "days",
        "Lifecycle end of life: no sale in this many days (or discontinued).",
        _int_range(1, 3650),
    ),
    Setting(
        "lifecycle_trend_ratio",
        0.2,
        "ratio",
        "Lifecycle growth / decline: seasonally adjusted quarter-on-quarter change beyond ±this.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "urgency_cuts",
        (7, 14),
        "days",
        "Stock-out urgency: high below the first, medium up to the second, else low.",
        _number_list(2),
    ),
    Setting(
        "reorder_supply_days",
        30,
        "days",
        "A-class SKU-locations with fewer projected stock days are flagged recommend_reorder.",
        _int_range(1, 3650),
    ),
    Setting(
        "alert_frozen_capital",
        1000.0,
        "currency",
        "Alert level 3 for dead stock whose frozen capital reaches this.",
        _float_range(0.0),
    ),
    Setting(
        "return_alert_days",
        14,
        "days",
        "Alert level 3 when a supplier return window of problem stock closes within this.",
        _int_range(0, 3650),
    ),
    Setting(
        "ledger_tolerance",
        1e-9,
        "units",
        "Largest ledger-versus-inventory difference reported as equal.",
        _float_range(0.0),
    ),
    Setting(
        "markdown_weeks",
        8,
        "weeks",
        "Length of a markdown (single step or ladder); the leftover then goes back to regular "
        "sale (regular units) or to the best clearance action (excess).",
        _int_range(1, 52),
    ),
    Setting(
        "markdown_ladder_levels",
        (0.0, 0.15, 0.25, 0.50),
        "fraction",
        "Discount levels of markdown ladders (the industry cascade's 15/25/50 %); a ladder only "
        "deepens.",
        _number_list(),
    ),
    Setting(
        "markdown_grid_step",
        0.05,
        "fraction",
        "Step of the single-step discount grid (up to max_discount).",
        _float_range(0.001, 1.0),
    ),
    Setting(
        "max_discount",
        0.50,
        "fraction",
        "Largest discount a markdown may give.",
        _float_range(0.0, 0.99),
    ),
    Setting(
        "markdown_min_margin",
        -0.5,
        "fraction",
        "Contribution-margin floor at the discounted price, (P(1−d) − unit_cost)/(P(1−d)); "
        "−0.5 allows selling down to 2/3 of unit cost.",
        _float_range(-10.0, 0.99),
    ),
    Setting(
        "markdown_prior_weekly_share",
        0.05,
        "fraction/week",
        "Clearance-response prior for SKUs without base demand: share of their stock sold per "
        "week at markdown_prior_reference_discount (none at full price).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "markdown_prior_reference_discount",
        0.50,
        "fraction",
        "Discount at which markdown_prior_weekly_share applies.",
        _float_range(0.01, 0.99),
    ),
    Setting(
        "listing_fix_share",
        0.15,
        "fraction",
        "Share of a segment-A SKU's excess that sells at full price after its listing is fixed "
        "(SPEC §3.6: 10–25 %).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "listing_fix_weeks",
        4,
        "weeks",
        "Weeks over which the listing fix's share sells, evenly.",
        _int_range(1, 52),
    ),
    Setting(
        "transfer_enabled",
        True,
        "bool",
        "Plan transfers of excess units to locations whose forecast absorbs them (needs two or "
        "more locations).",
        _bool,
    ),
    Setting(
        "transfer_cost_per_unit",
        1.0,
        "currency/unit",
        "Transport and handling of one transferred unit on every lane, where no lanes table "
        "gives a cost.",
        _float_range(0.0),
    ),
    Setting(
        "transfer_min_units",
        1,
        "units",
        "Smallest shipment on a lane: a lane moves 0 or at least this many units of a SKU.",
        _int_range(1, 1_000_000),
    ),
    Setting(
        "transfer_lead_days",
        3.0,
        "days",
        "Days in transit of a transfer, where no lanes table gives lead_days; the units sell at "
        "the destination after they arrive.",
        _float_range(0.0, 3650.0),
    ),
    Setting(
        "cascade_dead_discount",
        0.50,
        "share",
        "Markdown cascade baseline: discount of dead stock.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "cascade_long_block_discount",
        0.25,
        "share",
        "Markdown cascade: discount of slow stock in a regular long-block week (type 3).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "cascade_spot_discount",
        0.15,
        "share",
        "Markdown cascade: discount of slow stock in a regular short-block (spot) week (type 4).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "cascade_high_season_discount",
        0.25,
        "share",
        "Markdown cascade: discount in high season (type 1 or 2) with too much stock.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "cascade_high_season_stock_days",
        30.0,
        "days",
        "Markdown cascade: high-season stock counts as too much above this many projected days.",
        _float_range(0.0),
    ),
    Setting(
        "cascade_hold_weeks",
        4,
        "weeks",
        "Markdown cascade: no markdown when high season starts within this many weeks (0: never).",
        _int_range(0, 52),
    ),
    Setting(
        "cascade_release_deep_share",
        0.20,
        "share",
        "Markdown cascade: the slowest share of stock by release ratio that gets the deep "
        "discount.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "cascade_release_deep_discount",
        0.50,
        "share",
        "Markdown cascade: discount of the slowest release-ratio share.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "cascade_release_mid_share",
        0.40,
        "share",
        "Markdown cascade: the slowest share of stock by release ratio that gets the middle "
        "discount.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "cascade_release_mid_discount",
        0.25,
        "share",
        "Markdown cascade: discount of the middle release-ratio share.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "bundle_discount",
        0.30,
        "share",
        "Bundles: discount on the slow item's price inside a bundle (the hero keeps its price).",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "bundle_min_discount",
        0.05,
        "share",
        "Bundles: smallest discount worth offering; slow items whose price floor allows less "
        "get no bundle.",
        _float_range(0.0, 1.0),
    ),
    Setting(
        "bundle_min_slow_recovery",
        1.0,
        "ratio",
        "Bundles: the slow item's part of the bundle price is at least this × its unit cost.",
        _float_range(0.0),
    ),
    Setting(
        "bundle_uptake_rate",
        0.10,
        "share",
        "Bundles: share of the hero's buyers who take the bundle.",
        _float_range(1e-9, 1.0),
    ),
    Setting(
        "bundle_horizon_weeks",
        8,
        "weeks",
        "Bundles: expected bundle sales are counted over this many weeks.",
        _int_range(1, 520),
    ),
    Setting(
        "bundle_min_co_purchase_orders",
        3,
        "orders",
        "Bundles: a co-bought fast mover becomes the hero from this many shared orders.",
        _int_range(1, 1_000_000),
    ),
    Setting(
        "bundle_max_per_hero",
        3,
        "SKUs",
        "Bundles: most slow SKUs one hero carries at a location.",
        _int_range(1, 1_000_000),
    ),
    Setting(
        "elasticity_prior",
        -2.62,
        "-",
        "Price elasticity of SKUs whose category has no usable estimate: the mean of 1,851 "
        "elasticities in the meta-analysis of Bijmolt, van Heerde & Pieters (2005, JMR 42(2)).",
        _float_range(-50.0, 50.0),
    ),
    Setting(
        "elasticity_prior_std_error",
        2.0,
        "-",
        "Standard error reported with elasticity_prior (a wide, weakly informative spread).",
        _float_range(1e-6),
    ),
    Setting(
        "elasticity_min_price_changes",
        2,
        "periods",
        "Periods with a price change a SKU needs for its own (shrunk) elasticity; below it takes "
        "its category's value.",
        _int_range(0, 10_000),
    ),
    Setting(
        "elasticity_min",
        -6.0,
        "-",
        "Lowest elasticity reported (estimates are clipped to [elasticity_min, elasticity_max]).",
        _float_range(-50.0, 50.0),
    ),
    Setting(
        "elasticity_max",
        0.0,
        "-",
        "Highest elasticity reported (0: demand never rises with the price).",
        _float_range(-50.0, 50.0),
    ),
    Setting(
        "elasticity_price_change_min",
        0.01,
        "share",
        "Smallest relative move of a period's price against the previous period that counts as "
        "a price change.",
        _float_range(0.0, 10.0),
    ),
    Setting(
        "elasticity_period",
        "week",
        "week|month",
        "Period of the elasticity model's demand panel (month for monthly sales data).",
        _text(("week", "month")),
    ),
    Setting(
        "elasticity_week_start",
        "monday",
        "weekday",
        "First day of an elasticity week (e.g. saturday for a Walmart-style retail week).",
        _text(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")),
    ),
    Setting(
        "elasticity_unpriced_periods",
        "carry",
        "carry|drop",
        "Without a prices table, periods without sales have no realised price: carry keeps them "
        "as zero-sales periods at the last realised price, drop leaves them out.",
        _text(("carry", "drop")),
    ),
    Setting(
        "elasticity_chunk_rows",
        4_000_000,
        "rows",
        "Sales rows per group of categories fitted at once (bounds memory; a category is never "
        "split, and the result does not depend on it).",
        _int_range(1),
    ),
)

SETTINGS: dict[str, Setting] = {s.name: s for s in _SETTINGS}


def _parse_setting(name: str, value: Any, source: str) -> Any:
    if name not in SETTINGS:
        close = [n for n in SETTINGS if name.split("_", maxsplit=1)[0] in n] or list(SETTINGS)
        raise ConfigError(
            f"Unknown setting '{name}' ({source}).",
            fix=f"use one of: {', '.join(sorted(close))} (`deadstock settings` lists all).",
        )
    try:
        return SETTINGS[name].parse(value)
    except ValueError as exc:
        raise ConfigError(
            f"The '{name}' setting {exc}. Got {value!r} ({source}).",
            fix=f"{SETTINGS[name].help}",
        ) from None


@dataclass(frozen=True)
class Config:
    """A run's settings, table paths and column mappings (immutable)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    tables: Mapping[str, Path] = field(default_factory=dict)
    columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    source: Path | None = None

    def __getattr__(self, name: str) -> Any:
        if name in SETTINGS:
            return self.values.get(name, SETTINGS[name].default)
        raise AttributeError(name)

    def get(self, name: str) -> Any:
        return getattr(self, name)

    def with_values(self, **overrides: Any) -> Config:
        """A copy with settings replaced (values are parsed and checked)."""
        merged = dict(self.values)
        for name, value in overrides.items():
            merged[name] = _parse_setting(name, value, "override")
        return Config(merged, self.tables, self.columns, self.source)

    def column_mapping(self, table: str) -> dict[str, str]:
        """Source header → canonical name for ``table`` (global mapping, then per-table)."""
        out: dict[str, str] = {}
        for scope in ("*", table):
            for canonical, header in self.columns.get(scope, {}).items():
                out[header] = canonical
        return out

    def as_dict(self) -> dict[str, Any]:
        """Every setting with its effective value (JSON-friendly)."""
        out: dict[str, Any] = {}
        for name in SETTINGS:
            value = self.get(name)
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


def parse_assignments(assignments: Iterable[str]) -> dict[str, Any]:
    """Parse ``name=value`` strings from ``--set`` into checked setting values."""
    out: dict[str, Any] = {}
    for item in assignments:
        if "=" not in item:
            raise ConfigError(
                f"--set expects name=value. Got {item!r}.",
                fix="write e.g. --set age_buckets=30,60,90",
            )
        name, value = item.split("=", 1)
        out[name.strip()] = _parse_setting(name.strip(), value.strip(), "--set")
    return out


#: Named bundles of settings (``--preset``), applied over the defaults and under the config file
#: and ``--set``. ``thesis``: the reference model of Zijlmans (2025) with its default figures and
#: its four actions (SPEC §3.5).
PRESETS: dict[str, dict[str, Any]] = {
    "thesis": {
        "capital_cost_daily": 0.00014,
        "discount_rate_excess": 0.00086,
        "discount_rate_overall": 0.00023,
        "avg_margin": 2.20,
        "avg_days_in_stock": 60.0,
        "avg_lead_time": 7.0,
        "capacity_limited": 0,
        "excess_threshold_days": 84,
        "no_forecast_days": 1095,
        "decision_actions": ("keep", "return", "liquidate", "recycle"),
        "liquidator_policy": "general",
    },
}


def load_config(
    path: str | Path | None = None,
    assignments: Iterable[str] = (),
    preset: str | None = None,
) -> Config:
    """Read a TOML config file (optional) and apply ``--set`` assignments on top.

    Priority, lowest first: defaults, ``preset`` (a name in :data:`PRESETS`), the file, ``--set``.
    """
    values: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(
                f"Unknown preset '{preset}'.", fix=f"use one of: {', '.join(PRESETS)}."
            )
        values.update(
            {
                name: _parse_setting(name, v, f"preset {preset}")
                for name, v in PRESETS[preset].items()
            }
        )
    tables: dict[str, Path] = {}
    columns: dict[str, dict[str, str]] = {}
    source = None
    if path is not None:
        source = Path(path)
        try:
            raw = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                "Config file not found.", file=source, fix="check the path given to --config."
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"Config file is not valid TOML: {exc}.",
                file=source,
                fix="see the config layout in docs/configuration.md.",
            ) from None
        unknown = set(raw) - {"settings", "tables", "columns"}
        if unknown:
            raise ConfigError(
                f"Unknown section(s) {', '.join(sorted(unknown))}.",
                file=source,
                fix="use [settings], [tables] and [columns] (or [columns.<table>]).",
            )
        for name, value in raw.get("settings", {}).items():
            values[name] = _parse_setting(name, value, str(source))
        for table, rel in raw.get("tables", {}).items():
            tables[table] = (source.parent / str(rel)).resolve()
        for key, value in raw.get("columns", {}).items():
            if isinstance(value, dict):
                columns.setdefault(key, {}).update({k: str(v) for k, v in value.items()})
            else:
                columns.setdefault("*", {})[key] = str(value)
    values.update(parse_assignments(assignments))
    return Config(values, tables, columns, source)


def settings_markdown() -> str:
    """Render the settings registry as the Markdown page ``docs/settings.md``."""
    lines = [
        "# Settings",
        "",
        "Generated from `src/deadstock/config.py` by",
        "`python -m deadstock.config > docs/settings.md`; do not edit by hand.",
        "Set them in the `[settings]` section of a config file or with `--set name=value`",
        "(see [configuration.md](configuration.md)).",
        "",
        "| name | default | unit | meaning |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS.values():
        default = ",".join(map(str, s.default)) if isinstance(s.default, tuple) else s.default
        lines.append(f"| `{s.name}` | {'' if default is None else default} | {s.unit} | {s.help} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(settings_markdown(), end="")
