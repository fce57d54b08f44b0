"""Bundle proposals: pair a slow SKU with a fast-selling hero (SPEC §3.5 bundling, §3.6 wave 2).

Who gets a bundle. Slow SKU-locations of segment B (revival) or C (clearance) with excess units,
stock on hand, a price > 0 and a known unit cost. Heroes are fast movers at the same location:
velocity band fast or normal (SPEC §3.4), no excess units of their own, stock on hand, a
price > 0, a known unit cost and a daily sales rate > 0. Daily sales [units/day] =
``forecast_daily`` when positive, else ``avg_daily_sales``.

Which hero, in two passes. Every hero carries at most ``max_per_hero`` slow SKUs per location
(default 3): a product page holds a few bundle offers, not dozens, and the cap spreads the slow
stock of a category over several fast movers instead of piling it on the single fastest one.

1. Co-purchase (sales carry an ``order_id``): a slow SKU's hero is the fast mover bought in the
   most orders together with it (at least ``min_co_purchase_orders``; ties: higher daily
   sales, then sku). Orders are matched within a location when the sales have one. A hero
   chosen by more slow SKUs than its cap keeps those with the most shared orders (then the
   largest excess value = excess units × unit cost, then sku); the others go to pass 2.
2. Category fast mover: the remaining slow SKUs of a category and location, largest excess value
   first (ties: sku), fill the spare places of that category's heroes at the location, fastest
   hero first (ties: sku) — the first ``max_per_hero`` take the fastest hero, and so on.

A slow SKU without a hero (no fast mover in its category at its location, every place taken, no
category) or whose price floor leaves less than ``min_discount`` gets no row.

Price (the discount comes out of the slow item, so the hero keeps its margin):
``bundle_discount`` d = min(discount, 1 − min_slow_recovery × slow unit cost ÷ slow price);
bundle_price = hero_price + slow_price × (1 − d) < hero_price + slow_price;
hero_margin = hero_price − hero unit cost; hero_margin_kept = bundle_price − slow part − hero
unit cost (= hero_margin); slow_unit_revenue = bundle_price − hero_price [currency/unit].

Value: bundles sell at r = uptake_rate × hero daily sales [bundles/day] (uptake_rate is the share
of the hero's buyers who take this bundle; each offer of a hero counts on its own share);
expected_units = min(excess units, r × 7 × horizon_weeks); expected_days = expected_units ÷ r;
expected_value = the present value of slow_unit_revenue × the units, r on each whole day d = 0,
1, … and the remainder on the last day, discounted by 1/(1+Re)^d with Re =
``discount_rate_excess`` (the thesis day-count convention, Zijlmans 2025; SPEC §3.5).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import polars as pl

from deadstock.decide.costs import FloatArray, discount_factor, discounted_day_count
from deadstock.detect.seasonality import NO_CATEGORY
from deadstock.errors import ConfigError, InputError
from deadstock.schema import Column, TableSchema

KEY = ["sku", "location"]
CO_PURCHASE = "co_purchase"
CATEGORY_FAST_MOVER = "category_fast_mover"

#: Columns read from each input table.
CLASSIFICATION_COLUMNS = (
    "sku",
    "location",
    "category",
    "on_hand",
    "segment",
    "velocity_band",
    "excess_units",
    "forecast_daily",
)
METRICS_COLUMNS = ("sku", "location", "price", "unit_cost", "avg_daily_sales")

_F, _S = pl.Float64, pl.String
BUNDLES = TableSchema(
    "bundles",
    "slow SKU-location with a bundle proposal",
    (
        Column("sku", _S, "-", "Slow SKU offered inside the bundle", True),
        Column("location", _S, "-", "Location of the slow SKU and its hero", True),
        Column("category", _S, "-", "Category of the slow SKU"),
        Column("hero_sku", _S, "-", "Fast-selling SKU the slow item is bundled with"),
        Column("hero_source", _S, "-", "co_purchase or category_fast_mover"),
        Column(
            "co_purchase_orders",
            pl.Int64,
            "orders",
            "Orders holding both SKUs (null when the sales carry no order_id)",
        ),
        Column("slow_price", _F, "currency/unit", "Regular price of the slow SKU"),
        Column("hero_price", _F, "currency/unit", "Regular price of the hero"),
        Column("bundle_price", _F, "currency/bundle", "hero_price + slow_price × (1 − discount)"),
        Column("bundle_discount", _F, "share", "Discount on the slow item's price, after floor"),
        Column("hero_margin", _F, "currency/unit", "hero_price − hero unit cost"),
        Column(
            "hero_margin_kept",
            _F,
            "currency/bundle",
            "bundle_price − slow part − hero unit cost",
        ),
        Column("uptake_rate", _F, "share", "Share of the hero's buyers taking the bundle"),
        Column("expected_units", _F, "units", "Slow units expected to sell in bundles"),
        Column("expected_days", _F, "days", "Days to sell expected_units in bundles"),
        Column("slow_unit_revenue", _F, "currency/unit", "bundle_price − hero_price"),
        Column("expected_value", _F, "currency", "Present value of the slow items' revenue"),
        Column("excess_units", _F, "units", "Excess units of the slow SKU-location"),
        Column("hero_daily_sales", _F, "units/day", "Hero's forecast (else average) daily sales"),
    ),
    key=("sku", "location"),
)


@dataclass(frozen=True)
class BundleSettings:
    """Bundle settings (``bundle_<field>``, and the run's ``discount_rate_excess`` Re [1/day]).

    discount, min_discount, uptake_rate [share]; min_slow_recovery [ratio of unit cost];
    horizon_weeks [weeks]; min_co_purchase_orders [orders]; max_per_hero [SKUs];
    segments and hero_bands: which segments are bundled and which velocity bands are heroes.
    """

    discount: float = 0.30
    min_discount: float = 0.05
    min_slow_recovery: float = 1.0
    uptake_rate: float = 0.10
    horizon_weeks: int = 8
    min_co_purchase_orders: int = 3
    max_per_hero: int = 3
    discount_rate_excess: float = 0.00086
    segments: tuple[str, ...] = ("B", "C")
    hero_bands: tuple[str, ...] = ("fast", "normal")

    def __post_init__(self) -> None:
        checks: dict[str, tuple[float, float, bool]] = {
            "discount": (0.0, 1.0, False),
            "min_discount": (0.0, 1.0, False),
            "min_slow_recovery": (0.0, float("inf"), False),
            "uptake_rate": (1e-9, 1.0, False),
            "horizon_weeks": (1, 520, True),
            "min_co_purchase_orders": (1, float("inf"), True),
            "max_per_hero": (1, float("inf"), True),
            "discount_rate_excess": (0.0, 1.0, False),
        }
        for name, (lo, hi, integer) in checks.items():
            value = getattr(self, name)
            kind = "an int" if integer else "a number"
            ok = (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and (not integer or float(value).is_integer())
                and lo <= value <= hi
            )
            if not ok:
                setting = name if name == "discount_rate_excess" else f"bundle_{name}"
                raise ConfigError(
                    f"The '{setting}' setting must be {kind} in [{lo:g}, {hi:g}]. Got {value!r}.",
                    fix=f"set {setting} within [{lo:g}, {hi:g}].",
                )

    @classmethod
    def from_config(cls, config: Any) -> BundleSettings:
        """The bundle settings of a :class:`deadstock.config.Config`."""
        values = {
            f.name: getattr(config, f"bundle_{f.name}")
            for f in fields(cls)
            if f.name not in ("discount_rate_excess", "segments", "hero_bands")
        }
        return cls(**values, discount_rate_excess=config.discount_rate_excess)


# ------------------------------------------------------------------------------------------------
# Numeric kernel
# ------------------------------------------------------------------------------------------------
def bundle_present_value(
    units_per_day: FloatArray, days: FloatArray, unit_revenue: FloatArray, daily_rate: float
) -> FloatArray:
    """Present value [currency] of selling ``units_per_day`` for ``days`` days at ``unit_revenue``.

    Whole days d = 0 … ⌊days⌋ − 1 sell ``units_per_day`` each and day ⌊days⌋ the remainder
    (days − ⌊days⌋) × units_per_day; day d is discounted by 1/(1+r)^d (thesis day-count
    convention, Zijlmans 2025):
    revenue × rate × (Σ_{d=0..⌊days⌋−1} 1/(1+r)^d + (days − ⌊days⌋)/(1+r)^⌊days⌋).
    """
    days = np.asarray(days, dtype=np.float64)
    whole = np.floor(days)
    full_days = discounted_day_count(np.zeros_like(whole), whole - 1.0, daily_rate)
    last_day = (days - whole) * discount_factor(whole, daily_rate)
    return (
        np.asarray(unit_revenue, dtype=np.float64)
        * np.asarray(units_per_day, dtype=np.float64)
        * (full_days + last_day)
    )


def bundle_discount(
    discount: float, min_slow_recovery: float, slow_price: pl.Expr, slow_cost: pl.Expr
) -> pl.Expr:
    """Discount on the slow item [share]: ``discount``, floored so that the slow part
    slow_price × (1 − d) ≥ min_slow_recovery × slow unit cost."""
    ceiling = 1.0 - min_slow_recovery * slow_cost / slow_price
    return pl.min_horizontal(pl.lit(discount), ceiling)


# ------------------------------------------------------------------------------------------------
# Table API
# ------------------------------------------------------------------------------------------------
def _require(frame: pl.DataFrame, columns: tuple[str, ...], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"The {table} table lacks column(s) {', '.join(missing)} for bundle proposals.",
            file=table,
            column=missing[0],
            fix=f"pass the run's {table} table; it has " + ", ".join(columns) + ".",
        )


def _items(
    classification: pl.DataFrame, sku_metrics: pl.DataFrame, products: pl.DataFrame | None
) -> pl.DataFrame:
    """One row per SKU-location with what pairing and pricing read.

    price and unit_cost come from sku_metrics, else products; category from classification,
    else sku_metrics, else products.
    """
    _require(classification, CLASSIFICATION_COLUMNS, "classification")
    _require(sku_metrics, METRICS_COLUMNS, "sku_metrics")
    metrics_category = (
        pl.col("category").cast(_S) if "category" in sku_metrics.columns else pl.lit(None, _S)
    )
    metrics = sku_metrics.select(
        *(pl.col(k).cast(_S) for k in KEY),
        pl.col("price").cast(_F).alias("_price"),
        pl.col("unit_cost").cast(_F).alias("_cost"),
        pl.col("avg_daily_sales").cast(_F),
        metrics_category.alias("_category_m"),
    )
    frame = classification.select(
        *(pl.col(k).cast(_S) for k in KEY),
        pl.col("category").cast(_S),
        pl.col("on_hand").cast(_F),
        pl.col("segment").cast(_S),
        pl.col("velocity_band").cast(_S),
        pl.col("excess_units").cast(_F),
        pl.col("forecast_daily").cast(_F),
    ).join(metrics, on=KEY, how="left")
    product_columns = {"price": "_price_p", "unit_cost": "_cost_p", "category": "_category_p"}
    if products is not None:
        present = {k: v for k, v in product_columns.items() if k in products.columns}
        _require(products, ("sku",), "products")
        products_frame = products.select(
            pl.col("sku").cast(_S),
            *(pl.col(k).cast(_S if k == "category" else _F).alias(v) for k, v in present.items()),
        ).unique(subset="sku", keep="first")
        frame = frame.join(products_frame, on="sku", how="left")
    for k, v in product_columns.items():
        if v not in frame.columns:
            frame = frame.with_columns(pl.lit(None, _S if k == "category" else _F).alias(v))
    category = pl.coalesce("category", "_category_m", "_category_p")
    return frame.select(
        *KEY,
        pl.when(category == NO_CATEGORY).then(None).otherwise(category).alias("category"),
        "on_hand",
        "segment",
        "velocity_band",
        pl.col("excess_units").fill_null(0.0),
        pl.coalesce("_price", "_price_p").alias("price"),
        pl.coalesce("_cost", "_cost_p").alias("unit_cost"),
        pl.when(pl.col("forecast_daily") > 0)
        .then(pl.col("forecast_daily"))
        .otherwise(pl.col("avg_daily_sales").fill_null(0.0).clip(lower_bound=0.0))
        .alias("daily_sales"),
    )


def _slow_candidates(items: pl.DataFrame, settings: BundleSettings) -> pl.DataFrame:
    """Slow SKU-locations that a bundle could carry, with their floored discount."""
    discount = bundle_discount(
        settings.discount, settings.min_slow_recovery, pl.col("price"), pl.col("unit_cost")
    )
    return (
        items.filter(
            pl.col("segment").is_in(settings.segments).fill_null(False),
            pl.col("excess_units") > 0,
            pl.col("on_hand") > 0,
            pl.col("price") > 0,
            pl.col("unit_cost").is_not_null(),
        )
        .with_columns(
            discount.alias("bundle_discount"),
            (pl.col("excess_units") * pl.col("unit_cost")).alias("excess_value"),
        )
        .filter(
            (pl.col("bundle_discount") >= settings.min_discount) & (pl.col("bundle_discount") > 0)
        )
    )


def _hero_candidates(items: pl.DataFrame, settings: BundleSettings) -> pl.DataFrame:
    return items.filter(
        pl.col("velocity_band").is_in(settings.hero_bands).fill_null(False),
        pl.col("excess_units") <= 0,
        pl.col("on_hand") > 0,
        pl.col("price") > 0,
        pl.col("unit_cost").is_not_null(),
        pl.col("daily_sales") > 0,
    ).select(
        *KEY,
        pl.col("category").alias("hero_category"),
        pl.col("price").alias("hero_price"),
        pl.col("unit_cost").alias("hero_unit_cost"),
        pl.col("daily_sales").alias("hero_daily_sales"),
    )


def co_purchase_pairs(
    sales: pl.DataFrame, slow: pl.DataFrame, heroes: pl.DataFrame
) -> pl.DataFrame:
    """Orders shared by each slow SKU-location and each hero at its location.

    Columns sku, location, hero_sku, co_purchase_orders [orders]. Only order lines of slow
    candidates and of heroes enter the self-join on order_id (and location, when the sales have
    one), so its size is Σ over orders of (slow lines × hero lines), not of all line pairs.
    Sales rows with qty ≤ 0 or no order_id are ignored; an order counts once per pair.
    """
    by_location = "location" in sales.columns
    order_key = ["order_id", "location"] if by_location else ["order_id"]
    line_key = ["sku", "location"] if by_location else ["sku"]
    lines = sales.lazy().filter(pl.col("order_id").is_not_null())
    if "qty" in sales.columns:
        lines = lines.filter(pl.col("qty") > 0)
    lines = lines.select(
        pl.col("order_id").cast(_S), *(pl.col(k).cast(_S) for k in line_key)
    ).unique()
    slow_lines = lines.join(slow.lazy().select(line_key).unique(), on=line_key, how="semi")
    hero_lines = lines.join(
        heroes.lazy().select(line_key).unique(), on=line_key, how="semi"
    ).rename({"sku": "hero_sku"})
    counts = (
        slow_lines.join(hero_lines, on=order_key, how="inner")
        .group_by(["sku", "hero_sku", *(["location"] if by_location else [])])
        .agg(pl.len().cast(pl.Int64).alias("co_purchase_orders"))
    )
    if not by_location:
        counts = counts.join(slow.lazy().select(KEY), on="sku", how="inner")
    pairs = counts.join(
        heroes.lazy().select(pl.col("sku").alias("hero_sku"), "location"),
        on=["hero_sku", "location"],
        how="semi",
    )
    return pairs.select(*KEY, "hero_sku", "co_purchase_orders").collect(engine="streaming")


def _co_purchase_heroes(
    pairs: pl.DataFrame, slow: pl.DataFrame, heroes: pl.DataFrame, settings: BundleSettings
) -> pl.DataFrame:
    """Pass 1: sku, location, hero_sku of the slow SKUs whose top co-bought hero has room."""
    speed = heroes.select(pl.col("sku").alias("hero_sku"), "location", "hero_daily_sales")
    best = (
        pairs.filter(pl.col("co_purchase_orders") >= settings.min_co_purchase_orders)
        .join(speed, on=["hero_sku", "location"], how="inner")
        .sort(
            ["sku", "location", "co_purchase_orders", "hero_daily_sales", "hero_sku"],
            descending=[False, False, True, True, False],
        )
        .unique(subset=KEY, keep="first", maintain_order=True)
        .join(slow.select(*KEY, "excess_value"), on=KEY, how="inner")
    )
    return (
        best.sort(
            ["hero_sku", "location", "co_purchase_orders", "excess_value", "sku"],
            descending=[False, False, True, True, False],
        )
        .filter(pl.int_range(pl.len()).over(["hero_sku", "location"]) < settings.max_per_hero)
        .select(*KEY, "hero_sku")
    )


def _category_heroes(
    slow: pl.DataFrame, heroes: pl.DataFrame, taken: pl.DataFrame, settings: BundleSettings
) -> pl.DataFrame:
    """Pass 2: sku, location, hero_sku of the remaining slow SKUs, by category and location.

    The heroes of a category-location, fastest first, offer their spare places (max_per_hero −
    places taken in pass 1) as consecutive slots; the i-th remaining slow SKU (largest excess
    value first) takes the hero whose slots cover position i (an as-of join on the slot start).
    """
    group = ["category", "location"]
    used = taken.group_by(["hero_sku", "location"]).agg(pl.len().cast(pl.Int64).alias("used"))
    slots = (
        heroes.filter(pl.col("hero_category").is_not_null())
        .select(
            pl.col("sku").alias("hero_sku"),
            "location",
            pl.col("hero_category").alias("category"),
            "hero_daily_sales",
        )
        .join(used, on=["hero_sku", "location"], how="left")
        .with_columns(
            (settings.max_per_hero - pl.col("used").fill_null(0)).cast(pl.Int64).alias("spare")
        )
        .filter(pl.col("spare") > 0)
        .sort([*group, "hero_daily_sales", "hero_sku"], descending=[False, False, True, False])
        .with_columns(pl.col("spare").cum_sum().over(group).alias("slot_end"))
        .with_columns((pl.col("slot_end") - pl.col("spare")).alias("slot_start"))
        .select(*group, "hero_sku", "slot_start", "slot_end")
        .sort("slot_start")
    )
    waiting = (
        slow.filter(pl.col("category").is_not_null())
        .join(taken.select(KEY), on=KEY, how="anti")
        .sort([*group, "excess_value", "sku"], descending=[False, False, True, False])
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(group).alias("position"))
        .select(*KEY, "category", "position")
        .sort("position")
    )
    matched = waiting.join_asof(
        slots,
        left_on="position",
        right_on="slot_start",
        by=group,
        strategy="backward",
        check_sortedness=False,  # both sides are sorted on the key above
    )
    return matched.filter(pl.col("position") < pl.col("slot_end")).select(*KEY, "hero_sku")


def propose_bundles(
    classification: pl.DataFrame,
    sku_metrics: pl.DataFrame,
    products: pl.DataFrame | None = None,
    sales: pl.DataFrame | None = None,
    settings: BundleSettings | None = None,
) -> pl.DataFrame:
    """Bundle proposals for slow B/C stock (SPEC §3.5 bundling, §3.6 wave 2): the ``bundles`` table.

    - ``classification``: the run's classification (sku, location, category, on_hand, segment,
      velocity_band, excess_units [units], forecast_daily [units/day]).
    - ``sku_metrics``: sku, location, price and unit_cost [currency/unit], avg_daily_sales
      [units/day] (category optional).
    - ``products``: optional fallback for price, unit_cost and category.
    - ``sales``: optional; with an ``order_id`` column, co-bought fast movers become heroes.

    One row per slow SKU-location that gets a hero, sorted by sku and location, with the
    columns of :data:`BUNDLES`; slow stock without a hero gets no row. The rules are in the
    module docstring.
    """
    settings = BundleSettings() if settings is None else settings
    items = _items(classification, sku_metrics, products)
    slow = _slow_candidates(items, settings)
    heroes = _hero_candidates(items, settings)
    has_orders = sales is not None and "order_id" in sales.columns
    if has_orders and sales is not None:
        _require(sales, ("sku",), "sales")
        pairs = co_purchase_pairs(sales, slow, heroes)
    else:
        pairs = pl.DataFrame(
            schema={"sku": _S, "location": _S, "hero_sku": _S, "co_purchase_orders": pl.Int64}
        )
    first = _co_purchase_heroes(pairs, slow, heroes, settings)
    second = _category_heroes(slow, heroes, first, settings)
    chosen = pl.concat(
        [
            first.with_columns(pl.lit(CO_PURCHASE).alias("hero_source")),
            second.with_columns(pl.lit(CATEGORY_FAST_MOVER).alias("hero_source")),
        ]
    )
    orders = pl.col("co_purchase_orders")
    frame = (
        chosen.join(slow, on=KEY, how="inner")
        .join(
            heroes.rename({"sku": "hero_sku"}).drop("hero_category"),
            on=["hero_sku", "location"],
            how="inner",
        )
        .join(pairs, on=[*KEY, "hero_sku"], how="left")
        .with_columns(
            (orders.fill_null(0) if has_orders else pl.lit(None, pl.Int64)).alias(
                "co_purchase_orders"
            ),
            pl.col("price").alias("slow_price"),
            (pl.col("price") * (1.0 - pl.col("bundle_discount"))).alias("_slow_part"),
            (settings.uptake_rate * pl.col("hero_daily_sales")).alias("_rate"),
        )
        .with_columns(
            (pl.col("hero_price") + pl.col("_slow_part")).alias("bundle_price"),
            (pl.col("hero_price") - pl.col("hero_unit_cost")).alias("hero_margin"),
            pl.min_horizontal(
                pl.col("excess_units"), pl.col("_rate") * (7.0 * settings.horizon_weeks)
            ).alias("expected_units"),
        )
        .with_columns(
            (pl.col("bundle_price") - pl.col("_slow_part") - pl.col("hero_unit_cost")).alias(
                "hero_margin_kept"
            ),
            (pl.col("bundle_price") - pl.col("hero_price")).alias("slow_unit_revenue"),
            (pl.col("expected_units") / pl.col("_rate")).alias("expected_days"),
            pl.lit(settings.uptake_rate).alias("uptake_rate"),
        )
        .sort(KEY)
    )
    value = bundle_present_value(
        frame["_rate"].to_numpy(),
        frame["expected_days"].to_numpy(),
        frame["slow_unit_revenue"].to_numpy(),
        settings.discount_rate_excess,
    )
    frame = frame.with_columns(pl.Series("expected_value", value, dtype=_F))
    return frame.select(pl.col(c.name).cast(c.dtype) for c in BUNDLES.columns)
