"""From a run to the decision step: the per-SKU-location parameter table (SPEC §3.5).

A run's classification says how many units are excess and how long they are expected to stay;
its FIFO layers say which receipts those units come from. This module turns both, with the
receipts, suppliers and products tables and the run's settings, into the parameter table of the
thesis model (Zijlmans 2025) that :func:`deadstock.decide.engine.decide_table` decides:

1. :func:`layer_sources` — every on-hand FIFO layer with its supplier and payment term.
2. :func:`excess_layers` — the newest layers covering each SKU-location's excess (FIFO: the
   oldest units sell first, so the units left after the threshold are the newest).
3. :func:`return_offers` — the supplier return offers of the on-hand receipts, best first, until
   the excess is covered (refund Pr and transport Cr).
4. :func:`liquidation_price` — the general / specialised / hybrid liquidator policies.
5. :func:`decision_params` — the parameter table; :func:`run_decisions` decides it inside a run.

Everything is vectorised Polars on one integer key per SKU-location (:mod:`deadstock.keys`):
joins, sorts and sums over runs of sorted rows; no per-SKU Python.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from deadstock.config import Config
from deadstock.decide.bundles import BundleSettings, propose_bundles
from deadstock.decide.channels import bundle_offers, channel_columns
from deadstock.decide.costs import Economy
from deadstock.decide.engine import DecisionResult, constraints_from_config, decide_table
from deadstock.decide.transfers import TransferPlan, alternative_values, plan_transfers
from deadstock.keys import KEY, KEY_INDEX, attach_keys, sku_location_keys
from deadstock.schema import DEFAULT_LOCATION

K = KEY_INDEX  # one integer per SKU-location inside the large tables

#: Return policies that give a return offer (``destroy``: a right of destruction, no transport).
RETURN_POLICIES: tuple[str, ...] = ("return", "destroy")

#: Relative float noise of unit sums [units]: coverage within this share counts as complete.
COVER_TOLERANCE = 1e-9

#: Classification columns bundle proposals need (a hand-made classification may lack them).
BUNDLE_NEEDS = ("category", "segment", "velocity_band", "forecast_daily")

#: Columns of the parameter table, in order: the thesis model's inputs (see
#: :data:`deadstock.decide.problem.NUMERIC_PARAMS`), then what explains them.
PARAM_COLUMNS: tuple[str, ...] = (
    "sku",
    "location",
    "excess_units",
    "price",
    "expected_days_in_stock",
    "current_days_in_stock",
    "payment_days",
    "financed_now",
    "financed_future",
    "holding_cost_per_day",
    "unit_cost",
    "return_eligible",
    "return_price",
    "return_cost",
    "liquidation_price",
    "liquidation_cost",
    "recycle_price",
    "recycle_cost",
    "donation_value",
    "donation_cost",
    "disposal_cost",
    "volume",
    "supplier_id",
    "total_units",
    "forecast_daily",
    "elasticity",
    "listing_fix_eligible",
    "excess_inbound_units",
    "return_units_offered",
    "return_window_days_left",
    "liquidator",
)


def _column(frame: pl.DataFrame | None, name: str, dtype: type[pl.DataType]) -> pl.Expr:
    """``name`` cast to ``dtype`` when ``frame`` has it, else a null of that type."""
    if frame is not None and name in frame.columns:
        return pl.col(name).cast(dtype)
    return pl.lit(None, dtype=dtype)


def _location(frame: pl.DataFrame) -> pl.Expr:
    """The location column with the default location for blanks (or for a missing column)."""
    if "location" in frame.columns:
        return pl.col("location").cast(pl.String).fill_null(DEFAULT_LOCATION)
    return pl.lit(DEFAULT_LOCATION, dtype=pl.String)


def _keyed_layers(layers: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """Positive layers keyed by ``_k`` with ``layer`` (row index in ``layers``), by _k, layer."""
    frame = (
        layers.lazy()
        .with_row_index("layer")
        .filter(pl.col("units") > 0)
        .select(
            "layer",
            pl.col("sku").cast(pl.String),
            pl.col("location").cast(pl.String),
            pl.col("received").cast(pl.Date),
            pl.col("units").cast(pl.Float64),
            pl.col("unit_cost").cast(pl.Float64),
            pl.col("age_days").cast(pl.Int64),
            pl.col("origin").cast(pl.String),
        )
    )
    return attach_keys(frame, keys).sort(K, "layer").collect()


def _with_names(frame: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """``frame`` keyed by ``_k`` with sku and location in front instead (``keys`` in _k order)."""
    index = frame[K]
    named = frame.drop(K).insert_column(0, keys["location"].gather(index))
    return named.insert_column(0, keys["sku"].gather(index))


# ------------------------------------------------------------------------------------------------
# Sums and ranks within runs of a key (contiguous rows): no hash windows, fast at millions of rows
# ------------------------------------------------------------------------------------------------
def _run_edge(key: Sequence[str], last: bool = False) -> pl.Expr:
    """True on the first (``last``: the last) row of each run of equal ``key`` values."""
    step = -1 if last else 1
    return pl.any_horizontal(pl.col(c) != pl.col(c).shift(step) for c in key).fill_null(True)


def _cum_sum_within(
    frame: pl.DataFrame, value: str, key: Sequence[str], alias: str, reverse: bool = False
) -> pl.DataFrame:
    """Add ``alias`` = Σ ``value`` from the first row of this row's ``key`` run to this row
    (``reverse``: from this row to the run's last), inclusive. Each key's rows are contiguous.

    Whole numbers (units) take an exact path without hashing: the cumulative sum over the frame
    minus the sum outside the run (exact in float64 below 2**52); other values a window per key.
    """
    values = frame[value]
    whole = frame.height == 0 or (
        bool((values == values.round()).all()) and float(values.abs().sum()) < 2.0**52
    )
    if not whole:
        return frame.with_columns(
            pl.col(value).cum_sum(reverse=reverse).over(list(key)).alias(alias)
        )
    total = pl.col(value).cum_sum(reverse=reverse)
    edge = pl.when(_run_edge(key, last=reverse)).then(total - pl.col(value))
    outside = edge.backward_fill() if reverse else edge.forward_fill()
    return frame.with_columns((total - outside).alias(alias))


def _rank_from_last(key: Sequence[str]) -> pl.Expr:
    """1 on the last row of each run of ``key``, 2 on the row before, …"""
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    return pl.when(_run_edge(key, last=True)).then(index).backward_fill() - index + 1


# ------------------------------------------------------------------------------------------------
# 1. Layers, where they came from, and the newest ones covering the excess
# ------------------------------------------------------------------------------------------------
def layer_sources(
    layers: pl.DataFrame,
    receipts: pl.DataFrame | None = None,
    products: pl.DataFrame | None = None,
    suppliers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every positive FIFO layer with its supplier and payment term.

    A ``receipt`` layer is matched to its receipt row by (sku, location, date) and its rank from
    the newest within that day: the FIFO walk (:func:`deadstock.position.fifo_layers`) keeps,
    of the receipts of one day, the newest rows (later in the file = newer). supplier_id = the
    receipt's, else the product's main supplier; payment_days [days] = the receipt's, else that
    supplier's default term, else 0 (due on receipt). Layers of other origins (opening stock,
    transfers, reconciliations) take the product's supplier and its term.

    Columns: sku, location, layer (row index in ``layers``), received, units [units], unit_cost
    [currency/unit], age_days [days], origin, supplier_id, payment_days [days]; by sku,
    location, then the layers' order (oldest first).
    """
    keys = sku_location_keys(
        layers.select(pl.col("sku").cast(pl.String), pl.col("location").cast(pl.String)).unique()
    )
    stock = _sources(_keyed_layers(layers, keys), keys, receipts, products, suppliers)
    return _with_names(stock, keys)


def _sources(
    stock: pl.DataFrame,
    keys: pl.DataFrame,
    receipts: pl.DataFrame | None,
    products: pl.DataFrame | None,
    suppliers: pl.DataFrame | None,
) -> pl.DataFrame:
    """:func:`layer_sources` on layers keyed by ``_k`` (see :func:`_keyed_layers`)."""
    day = [K, "received"]
    if (
        receipts is not None
        and receipts.height
        and {"supplier_id", "payment_days"} & set(receipts.columns)
    ):
        by_layer = (
            stock.filter(pl.col("origin") == "receipt")
            .select(K, "received", "layer")
            .sort(K, "received", "layer")
            .with_columns(_rank_from_last(day).alias("_rank"))
        )
        rows = (
            attach_keys(
                receipts.lazy()
                .with_row_index("_row")
                .filter(pl.col("qty") > 0)
                .select(
                    "_row",
                    pl.col("sku").cast(pl.String),
                    _location(receipts).alias("location"),
                    pl.col("date").cast(pl.Date).alias("received"),
                    _column(receipts, "supplier_id", pl.String).alias("_receipt_supplier"),
                    _column(receipts, "payment_days", pl.Float64).alias("_receipt_terms"),
                ),
                keys,
            )
            .sort(K, "received", "_row")
            .collect()
            .with_columns(_rank_from_last(day).alias("_rank"))
        )
        matched = _join_on_day_rank(by_layer, rows)
        size = stock.select(pl.col("layer").max() + 1).item() or 0
        stock = stock.with_columns(  # scatter by layer, gather back: no join on millions of rows
            _scatter(matched[name], matched["layer"], size).gather(stock["layer"]).alias(name)
            for name in ("_receipt_supplier", "_receipt_terms")
        )
    else:
        stock = stock.with_columns(
            pl.lit(None, dtype=pl.String).alias("_receipt_supplier"),
            pl.lit(None, dtype=pl.Float64).alias("_receipt_terms"),
        )
    if products is not None and "supplier_id" in products.columns:
        main = keys.select("sku").join(
            products.select(
                pl.col("sku").cast(pl.String), pl.col("supplier_id").cast(pl.String)
            ).unique("sku", keep="first"),
            on="sku",
            how="left",
            maintain_order="left",
        )["supplier_id"]
        stock = stock.with_columns(main.gather(stock[K]).alias("_main"))
    else:
        stock = stock.with_columns(pl.lit(None, dtype=pl.String).alias("_main"))
    stock = stock.with_columns(pl.coalesce("_receipt_supplier", "_main").alias("supplier_id"))
    if suppliers is not None and "payment_days" in suppliers.columns:
        terms = suppliers.select(
            pl.col("supplier_id").cast(pl.String),
            pl.col("payment_days").cast(pl.Float64).alias("_supplier_terms"),
        ).unique("supplier_id", keep="first")
        stock = stock.join(terms, on="supplier_id", how="left", maintain_order="left")
    else:
        stock = stock.with_columns(pl.lit(None, dtype=pl.Float64).alias("_supplier_terms"))
    return stock.select(
        K,
        "layer",
        "received",
        "units",
        "unit_cost",
        "age_days",
        "origin",
        "supplier_id",
        pl.coalesce("_receipt_terms", "_supplier_terms", pl.lit(0.0)).alias("payment_days"),
    )


#: Dates [days since 1970] that fit the one-integer code of (SKU-location, day, rank).
_CODE_DAYS = (-(1 << 16), 1 << 17)
_CODE_RANKS = 1 << 14


def _day_rank_code() -> pl.Expr:
    """(_k, received, _rank) as one UInt64: _k · 2³² + (day + 2¹⁶) · 2¹⁴ + rank."""
    day = pl.col("received").cast(pl.Int32).cast(pl.Int64) - _CODE_DAYS[0]
    return (
        pl.col(K).cast(pl.UInt64) * (1 << 32)
        + day.cast(pl.UInt64) * _CODE_RANKS
        + pl.col("_rank").cast(pl.UInt64)
    )


def _join_on_day_rank(layers: pl.DataFrame, receipts: pl.DataFrame) -> pl.DataFrame:
    """Layers matched to receipt rows on (_k, received, _rank): layer, supplier and terms.

    Joined on one 64-bit code when dates and ranks fit it (several times faster than three
    columns at millions of rows), else on the three columns.
    """
    wanted = ["layer", "_receipt_supplier", "_receipt_terms"]
    both = pl.concat([layers.select("received", "_rank"), receipts.select("received", "_rank")])
    day = pl.col("received").cast(pl.Int32)
    in_range = (day.min() >= _CODE_DAYS[0]) & (day.max() < _CODE_DAYS[1])
    fits = both.height == 0 or both.select(in_range & (pl.col("_rank").max() < _CODE_RANKS)).item()
    if not fits:
        on = [K, "received", "_rank"]
        return layers.join(receipts, on=on, how="inner").select(wanted)
    return (
        layers.with_columns(_day_rank_code().alias("_code"))
        .join(
            receipts.select(_day_rank_code().alias("_code"), *wanted[1:]), on="_code", how="inner"
        )
        .select(wanted)
    )


def _scatter(values: pl.Series, at: pl.Series, size: int) -> pl.Series:
    """A Series of ``size`` nulls with ``values`` at positions ``at``."""
    return pl.repeat(None, size, dtype=values.dtype, eager=True).scatter(at, values)


def excess_on_hand(classification: pl.DataFrame, key: Sequence[str] = KEY) -> pl.DataFrame:
    """Per SKU-location, the excess units that are on hand now [units].

    The classification projects on_hand + inbound; FIFO sells the on-hand units first, so the
    inbound units are the newest and the first to be excess: on-hand excess =
    max(excess_units − inbound, 0). Columns: ``key``, excess_units (on hand),
    excess_inbound_units; only rows with on-hand excess > 0.
    """
    excess = pl.col("excess_units").cast(pl.Float64).fill_null(0.0)
    inbound = _column(classification, "inbound", pl.Float64).fill_null(0.0)
    return classification.select(
        *key,
        pl.max_horizontal(excess - inbound, pl.lit(0.0)).alias("excess_units"),
        pl.min_horizontal(excess, inbound).clip(lower_bound=0.0).alias("excess_inbound_units"),
    ).filter(pl.col("excess_units") > 0)


def excess_layers(
    layers: pl.DataFrame, excess: pl.DataFrame, key: Sequence[str] = KEY
) -> pl.DataFrame:
    """The newest layers covering each SKU-location's excess, with the units taken from each.

    ``layers``: ``key`` columns, units [units] and any other columns; each key's rows contiguous
    and oldest first (the order of :func:`deadstock.position.fifo_layers`); layers with units ≤ 0
    are ignored. ``excess``: ``key``, excess_units [units] (see :func:`excess_on_hand`). Walking
    back from the newest layer, each gives min(its units, excess not yet covered) (SPEC §3.5:
    "the newest receipts covering it (FIFO)"). Returns the layers that give units, in the
    layers' order, with ``layer_units`` (the layer's on-hand units) and ``units`` (those taken);
    Σ units per SKU-location = min(excess, on-hand layers).
    """
    key = list(key)
    need = excess.select(*key, pl.col("excess_units").cast(pl.Float64).alias("_need")).filter(
        pl.col("_need") > 0
    )
    stock = layers.filter(pl.col("units") > 0).join(
        need, on=key, how="inner", maintain_order="left"
    )
    stock = _cum_sum_within(stock, "units", key, "_from_here", reverse=True)
    newer = pl.col("_from_here") - pl.col("units")
    taken = pl.min_horizontal(pl.col("units"), pl.col("_need") - newer).clip(lower_bound=0.0)
    noise = COVER_TOLERANCE * pl.max_horizontal(pl.lit(1.0), pl.col("_need"))
    return (
        stock.with_columns(pl.col("units").alias("layer_units"), taken.alias("units"))
        .filter(pl.col("units") > noise)
        .drop("_need", "_from_here")
    )


def excess_profile(
    taken: pl.DataFrame, unit_cost: pl.DataFrame | None = None, key: Sequence[str] = KEY
) -> pl.DataFrame:
    """Per SKU-location, the excess layers as the model's figures (units-weighted means).

    ``taken``: :func:`excess_layers` over :func:`layer_sources`. unit_cost N [currency/unit] =
    Σ units × layer cost ÷ Σ units (a layer without a cost takes the SKU-location's
    ``unit_cost`` from the optional ``unit_cost`` frame: ``key``, unit_cost);
    current_days_in_stock Dc [days] and payment_days P [days] are the units-weighted means of
    the layers' ages and terms (so P − Dc is the mean time until payment); newest_supplier_id =
    the supplier of the newest layer. Columns: ``key``, excess_units, unit_cost,
    current_days_in_stock, payment_days, newest_supplier_id.
    """
    key = list(key)
    if unit_cost is not None:
        fallback = unit_cost.select(
            *key, pl.col("unit_cost").cast(pl.Float64).alias("_fallback_cost")
        )
        taken = taken.join(fallback, on=key, how="left", maintain_order="left").with_columns(
            pl.coalesce("unit_cost", "_fallback_cost").alias("unit_cost")
        )
    units = pl.col("units")
    priced = pl.col("unit_cost").is_not_null()
    cost_units = pl.when(priced).then(units).otherwise(0.0).sum()
    return taken.group_by(key, maintain_order=True).agg(
        units.sum().alias("excess_units"),
        pl.when(cost_units > 0)
        .then((units * pl.col("unit_cost")).sum() / cost_units)
        .alias("unit_cost"),
        ((units * pl.col("age_days")).sum() / units.sum()).alias("current_days_in_stock"),
        ((units * pl.col("payment_days")).sum() / units.sum()).alias("payment_days"),
        pl.col("supplier_id").last().alias("newest_supplier_id"),
    )


# ------------------------------------------------------------------------------------------------
# 2. Supplier return offers
# ------------------------------------------------------------------------------------------------
_OFFER_SCHEMA: dict[str, type[pl.DataType]] = {
    "return_units_offered": pl.Float64,
    "return_price": pl.Float64,
    "return_cost": pl.Float64,
    "return_supplier_id": pl.String,
    "return_window_days_left": pl.Int64,
    "return_eligible": pl.Int64,
}


def return_offers(
    stock: pl.DataFrame,
    excess: pl.DataFrame,
    suppliers: pl.DataFrame | None,
    key: Sequence[str] = KEY,
) -> pl.DataFrame:
    """Supplier return offers per SKU-location with excess (SPEC §3.5 return offers).

    ``stock``: on-hand layers with supplier_id (:func:`layer_sources`); ``excess``: ``key``,
    excess_units [units]. A layer from a receipt (origin ``receipt``) is an offer of its
    on-hand units when its supplier's return_policy is ``return`` or ``destroy``, refund_pct is
    given and its age is within [min_return_days, max_return_days] (inclusive; a blank minimum
    is 0, a blank maximum no limit). Refund = refund_pct/100 × the layer's unit cost
    [currency/unit]; transport = return_cost_per_unit (blank = 0), 0 under a right of
    destruction (``destroy``). Offers are ranked by refund − transport (ties: the newer layer
    first) and taken until the excess is covered; Pr (return_price) and Cr (return_cost) are
    the means over the units taken. Units of a SKU may go back from any on-hand receipt within
    its window, not only from the newest layers: units are alike on the shelf.

    return_eligible = 1 only when the offers cover all the excess units: the model returns all
    S_g units or none, so a partial offer cannot be priced as a return of the whole excess
    (return_units_offered shows how far it got). return_supplier_id is the supplier taking the
    most units (its caps bind the return); return_window_days_left [days] = the least
    max_return_days − age among the offers taken (blank with no maximum). SKU-locations without
    any offer are absent.
    """
    key = list(key)
    schema: dict[str, Any] = {**{c: excess.schema[c] for c in key}, **_OFFER_SCHEMA}
    needed = {"supplier_id", "return_policy", "refund_pct"}
    if suppliers is None or not needed <= set(suppliers.columns) or stock.height == 0:
        return pl.DataFrame(schema=schema)
    terms = suppliers.select(
        pl.col("supplier_id").cast(pl.String),
        pl.col("return_policy").cast(pl.String).str.strip_chars().str.to_lowercase(),
        pl.col("refund_pct").cast(pl.Float64),
        _column(suppliers, "min_return_days", pl.Int64).fill_null(0).alias("_min_days"),
        _column(suppliers, "max_return_days", pl.Int64).alias("_max_days"),
        _column(suppliers, "return_cost_per_unit", pl.Float64).alias("_transport"),
    ).unique("supplier_id", keep="first")
    need = excess.select(*key, pl.col("excess_units").cast(pl.Float64).alias("_need")).filter(
        pl.col("_need") > 0
    )
    age = pl.col("age_days")
    offers = (
        stock.filter((pl.col("origin") == "receipt") & (pl.col("units") > 0))
        .join(need, on=key, how="inner")
        .join(terms, on="supplier_id", how="inner")
        .filter(
            pl.col("return_policy").is_in(RETURN_POLICIES)
            & pl.col("refund_pct").is_not_null()
            & pl.col("unit_cost").is_not_null()
            & (age >= pl.col("_min_days"))
            & (pl.col("_max_days").is_null() | (age <= pl.col("_max_days")))
        )
        .with_columns(
            (pl.col("refund_pct") / 100.0 * pl.col("unit_cost")).alias("_refund"),
            pl.when(pl.col("return_policy") == "destroy")
            .then(0.0)
            .otherwise(pl.col("_transport").fill_null(0.0))
            .alias("_carriage"),
        )
        .with_columns((pl.col("_refund") - pl.col("_carriage")).alias("_net"))
        .sort(
            [*key, "_net", "age_days", "layer"],
            descending=[False] * len(key) + [True, False, True],
        )
    )
    offers = _cum_sum_within(offers, "units", key, "_upto")
    better = pl.col("_upto") - pl.col("units")
    noise = COVER_TOLERANCE * pl.max_horizontal(pl.lit(1.0), pl.col("_need"))
    used = (
        offers.with_columns(
            pl.min_horizontal(pl.col("units"), pl.col("_need") - better)
            .clip(lower_bound=0.0)
            .alias("_taken"),
            pl.int_range(pl.len()).alias("_position"),  # rank of the offer (rows are ranked)
        )
        .filter(pl.col("_taken") > noise)
        .with_columns((pl.col("_max_days") - age).alias("_days_left"))
    )
    taken = pl.col("_taken")
    per_key = used.group_by(key, maintain_order=True).agg(
        taken.sum().alias("return_units_offered"),
        ((taken * pl.col("_refund")).sum() / taken.sum()).alias("return_price"),
        ((taken * pl.col("_carriage")).sum() / taken.sum()).alias("return_cost"),
        pl.col("_days_left").min().cast(pl.Int64).alias("return_window_days_left"),
        pl.col("_need").first().alias("_need"),
    )
    dominant = (
        used.group_by([*key, "supplier_id"])
        .agg(taken.sum().alias("_units"), pl.col("_position").min().alias("_first"))
        .sort([*key, "_units", "_first"], descending=[False] * len(key) + [True, False])
        .filter(_run_edge(key))
        .select(*key, pl.col("supplier_id").alias("return_supplier_id"))
    )
    full = pl.col("return_units_offered") >= pl.col("_need") * (1.0 - COVER_TOLERANCE)
    return (
        per_key.join(dominant, on=key, how="left", maintain_order="left")
        .with_columns(full.cast(pl.Int64).alias("return_eligible"))
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------------------------------------
# 3. Liquidators
# ------------------------------------------------------------------------------------------------
def _liquidator_offers(price: pl.Expr, config: Config) -> tuple[pl.Expr, pl.Expr]:
    """(general, specialised) price per unit [currency/unit]; null where not offered."""
    general = price * config.liquidation_recovery
    specialised = (
        pl.when(price >= config.specialised_min_price)
        .then(price / (1.0 + config.vat_rate) * config.liquidation_specialised_share)
        .otherwise(None)
    )
    return general, specialised


def liquidation_price(price: pl.Expr, config: Config) -> pl.Expr:
    """Liquidation price Pl [currency/unit] of the run's ``liquidator_policy`` (SPEC §3.5).

    - ``general``: liquidation_recovery × price (thesis 5–20 % of the selling price);
    - ``specialised``: liquidation_specialised_share × price ex VAT, price ex VAT = price ÷
      (1 + vat_rate), only for price ≥ specialised_min_price (incl. VAT; thesis 10–30 % for
      price ≥ 12); null (liquidation not offered) below it;
    - ``hybrid``: the better of the two offers (the general one where the specialised
      liquidator does not buy).

    A null price gives null (not offered).
    """
    general, specialised = _liquidator_offers(price, config)
    policy = config.liquidator_policy
    if policy == "general":
        return general
    if policy == "specialised":
        return specialised
    return pl.max_horizontal(general, specialised)


def liquidator(price: pl.Expr, config: Config) -> pl.Expr:
    """Which liquidator gives :func:`liquidation_price`: "general", "specialised" or null."""
    general, specialised = _liquidator_offers(price, config)
    policy = config.liquidator_policy
    if policy == "general":
        return pl.when(general.is_not_null()).then(pl.lit("general"))
    if policy == "specialised":
        return pl.when(specialised.is_not_null()).then(pl.lit("specialised"))
    return (
        pl.when(specialised.is_not_null() & (specialised.fill_null(0.0) > general.fill_null(0.0)))
        .then(pl.lit("specialised"))
        .when(general.is_not_null())
        .then(pl.lit("general"))
    )


# ------------------------------------------------------------------------------------------------
# 4. The parameter table
# ------------------------------------------------------------------------------------------------
def _optional_value(value: float | None) -> pl.Expr:
    return pl.lit(None if value is None else float(value), dtype=pl.Float64)


def decision_params(
    classification: pl.DataFrame,
    sku_metrics: pl.DataFrame,
    layers: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    config: Config,
    elasticities: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The thesis model's parameter table of a run: one row per SKU-location with excess on hand.

    - excess_units S [units]: the on-hand excess (:func:`excess_on_hand`), covered by the newest
      FIFO layers (:func:`excess_layers`); excess_inbound_units are the inbound part, left out
      (they are not in stock to clear).
    - price Ps [currency/unit]: the run's price (sku_metrics); unit_cost N, current_days_in_stock
      Dc and payment_days P: units-weighted means over the excess layers
      (:func:`excess_profile`; a layer without a cost takes the sku_metrics unit_cost).
    - expected_days_in_stock De [days]: the classification's; blank (no forecast) →
      no_forecast_days, and capped at no_forecast_days (a SKU that sells a little does not
      stay longer than one that never sells).
    - financed_now Fc = [Dc ≥ P]; financed_future Ff = [Dc < P ≤ Dc + De] (SPEC §3.5).
    - holding_cost_per_day Cs [currency/unit/day]: the product's, else unit_cost ×
      holding_cost_rate_yearly / 365.
    - return_eligible, return_price Pr, return_cost Cr, return_units_offered,
      return_window_days_left: :func:`return_offers` (Pr and Cr blank when not eligible);
      supplier_id: the return offer's supplier, else the supplier of the newest excess layer.
    - liquidation_price Pl and liquidator: :func:`liquidation_price`; liquidation_cost Cl =
      liquidation_cost_per_unit; recycle_price / recycle_cost, donation_value (=
      donation_value_share × unit_cost) / donation_cost and disposal_cost from the settings
      (blank = the action is not offered).
    - volume [litres/unit] from products; total_units = on_hand (single-item retention).
    - forecast_daily [units/day] from the classification and elasticity [-] per SKU from
      ``elasticities`` (blank = the elasticity_prior setting): the markdown options' inputs
      (:mod:`deadstock.pricing.options`).

    Columns :data:`PARAM_COLUMNS`, sorted by sku, location. Tables are keyed by one integer per
    SKU-location inside (:mod:`deadstock.keys`), so it runs at millions of SKU-locations.
    """
    products = tables.get("products")
    suppliers = tables.get("suppliers")
    keys = sku_location_keys(
        classification.select(
            pl.col("sku").cast(pl.String),
            _location(classification).alias("location"),
            pl.col("on_hand").cast(pl.Float64).alias("total_units"),
            pl.col("expected_days_in_stock").cast(pl.Float64).alias("_days"),
            _column(classification, "forecast_daily", pl.Float64).alias("forecast_daily"),
            (_column(classification, "segment", pl.String) == "A")
            .fill_null(False)
            .cast(pl.Int64)
            .alias("listing_fix_eligible"),
            pl.col("excess_units"),
            _column(classification, "inbound", pl.Float64).alias("inbound"),
        )
    )
    need = excess_on_hand(keys, key=[K])
    stock = _sources(_keyed_layers(layers, keys), keys, tables.get("receipts"), products, suppliers)
    taken = excess_layers(stock, need, key=[K])
    metrics = attach_keys(
        sku_metrics.lazy().select(
            pl.col("sku").cast(pl.String),
            _location(sku_metrics).alias("location"),
            _column(sku_metrics, "price", pl.Float64).alias("price"),
            _column(sku_metrics, "unit_cost", pl.Float64).alias("unit_cost"),
        ),
        keys,
    ).collect()
    profile = excess_profile(taken, metrics.select(K, "unit_cost"), key=[K])
    offers = return_offers(stock, profile.select(K, "excess_units"), suppliers, key=[K])

    frame = (
        profile.join(need.select(K, "excess_inbound_units"), on=K, how="left")
        .join(
            keys.select(K, "total_units", "forecast_daily", "listing_fix_eligible", "_days"),
            on=K,
            how="left",
        )
        .join(metrics.select(K, "price"), on=K, how="left")
        .join(offers, on=K, how="left")
    )
    if products is not None:
        per_product = products.select(
            pl.col("sku").cast(pl.String),
            _column(products, "holding_cost_per_day", pl.Float64).alias("_holding"),
            _column(products, "volume", pl.Float64).alias("volume"),
        ).unique("sku", keep="first")
        per_key = keys.select(K, "sku").join(per_product, on="sku", how="left").drop("sku")
        frame = frame.join(per_key, on=K, how="left")
    else:
        frame = frame.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("_holding"),
            pl.lit(None, dtype=pl.Float64).alias("volume"),
        )
    if elasticities is not None and elasticities.height:
        per_sku = elasticities.select(
            pl.col("sku").cast(pl.String), pl.col("elasticity").cast(pl.Float64)
        ).unique("sku", keep="first")
        per_key = keys.select(K, "sku").join(per_sku, on="sku", how="left").drop("sku")
        frame = frame.join(per_key, on=K, how="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("elasticity"))

    no_forecast = float(config.no_forecast_days)
    days = pl.col("_days").fill_null(no_forecast).clip(upper_bound=no_forecast)
    dc, p = pl.col("current_days_in_stock"), pl.col("payment_days")
    eligible = pl.col("return_eligible").fill_null(0) == 1
    donation_share = config.donation_value_share
    price = pl.col("price")
    frame = frame.with_columns(
        days.alias("expected_days_in_stock"),
        (dc >= p).cast(pl.Int64).alias("financed_now"),
        ((dc < p) & (p <= dc + days)).cast(pl.Int64).alias("financed_future"),
        pl.coalesce(
            "_holding", pl.col("unit_cost") * config.holding_cost_rate_yearly / 365.0
        ).alias("holding_cost_per_day"),
        eligible.cast(pl.Int64).alias("return_eligible"),
        pl.when(eligible).then(pl.col("return_price")).alias("return_price"),
        pl.when(eligible).then(pl.col("return_cost")).alias("return_cost"),
        pl.col("return_units_offered").fill_null(0.0),
        liquidation_price(price, config).alias("liquidation_price"),
        pl.lit(float(config.liquidation_cost_per_unit)).alias("liquidation_cost"),
        _optional_value(config.recycle_price_per_unit).alias("recycle_price"),
        pl.lit(float(config.recycle_cost_per_unit)).alias("recycle_cost"),
        (
            pl.col("unit_cost") * float(donation_share)
            if donation_share is not None
            else pl.lit(None, dtype=pl.Float64)
        ).alias("donation_value"),
        pl.lit(float(config.donation_cost_per_unit)).alias("donation_cost"),
        _optional_value(config.disposal_cost_per_unit).alias("disposal_cost"),
        pl.coalesce("return_supplier_id", "newest_supplier_id").alias("supplier_id"),
        pl.col("excess_inbound_units").fill_null(0.0),
        liquidator(price, config).alias("liquidator"),
    )
    return _with_names(frame.sort(K), keys).select(PARAM_COLUMNS)


# ------------------------------------------------------------------------------------------------
# 5. The decision stage of a run
# ------------------------------------------------------------------------------------------------
@dataclass
class RunDecisions:
    """The decision stage's tables and summary, and what it had to leave out."""

    params: pl.DataFrame
    decisions: pl.DataFrame
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    #: The engine's result (problem and solution) of the priced rows, for the analysis.
    decided: DecisionResult | None = None
    priced: pl.DataFrame | None = None
    #: Further tables of the stage by name (``bundles``, ``transfers``).
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def supplier_caps(suppliers: pl.DataFrame | None, params: pl.DataFrame) -> pl.DataFrame | None:
    """Return caps (supplier_id, return_cap_units [units], return_cap_value [currency]) of the
    suppliers that take back some return-eligible excess; None when there are none."""
    if suppliers is None or not {"return_cap_units", "return_cap_value"} & set(suppliers.columns):
        return None
    used = params.filter(pl.col("return_eligible") == 1)["supplier_id"].drop_nulls().unique()
    caps = suppliers.select(
        pl.col("supplier_id").cast(pl.String),
        _column(suppliers, "return_cap_units", pl.Float64).alias("return_cap_units"),
        _column(suppliers, "return_cap_value", pl.Float64).alias("return_cap_value"),
    ).filter(
        pl.col("supplier_id").is_in(used.implode())
        & (pl.col("return_cap_units").is_not_null() | pl.col("return_cap_value").is_not_null())
    )
    return caps if caps.height else None


def run_decisions(
    classification: pl.DataFrame,
    sku_metrics: pl.DataFrame,
    layers: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    config: Config,
    elasticities: pl.DataFrame | None = None,
) -> RunDecisions:
    """Build the parameter table of a run and decide it (SPEC §3.5).

    Constraints: the run's settings (:func:`deadstock.decide.engine.constraints_from_config`)
    plus the suppliers' return caps. Per-location capacities are not applied (no setting opts
    in yet). SKU-locations with excess but no price or no unit cost cannot be priced: they are
    left out of the decisions (kept in ``params``) and counted in a warning. The decisions
    table is the engine's with ``location`` after ``sku`` (rows in params order).
    """
    params = decision_params(classification, sku_metrics, layers, tables, config, elasticities)
    priced = params.filter(pl.col("price").is_not_null() & pl.col("unit_cost").is_not_null())
    warnings = []
    left_out = params.height - priced.height
    if left_out:
        warnings.append(
            f"{left_out} SKU-location(s) with excess stock have no price or unit cost and were "
            "left out of the decisions (see decision_params); give products a price and a "
            "unit_cost."
        )
    constraints = constraints_from_config(
        config, supplier_caps=supplier_caps(tables.get("suppliers"), priced)
    )
    if config.use_location_capacity and tables.get("locations") is not None:
        constraints = dataclasses.replace(
            constraints,
            location_capacity=excess_room(tables["locations"], classification, priced),
        )
    stage_tables: dict[str, pl.DataFrame] = {}
    if "bundle" in config.decision_actions and set(BUNDLE_NEEDS) <= set(classification.columns):
        bundles = propose_bundles(
            classification,
            sku_metrics,
            tables.get("products"),
            tables.get("sales"),
            BundleSettings.from_config(config),
        )
        stage_tables["bundles"] = bundles
        priced = channel_columns(
            priced, bundle_offers(bundles), "bundle", Economy.from_config(config)
        )
    result = decide_table(priced, config, constraints)
    plan = _transfer_plan(classification, sku_metrics, tables, config, result)
    if plan is not None and plan.transfers.height:
        # the engine weighs the transfer against the other actions of each source
        offers = _transfer_offers(plan)
        with_transfers = channel_columns(
            result.params if result.params is not None else priced,
            offers,
            "transfer",
            Economy.from_config(config),
        )
        result = decide_table(with_transfers, config, constraints)
        moving = result.decisions.select("sku", pl.col("location").alias("from_location"))
        moving = moving.filter(result.decisions["action"] == "transfer")
        stage_tables["transfers"] = plan.transfers.join(
            moving, on=["sku", "from_location"], how="semi"
        )
    elif plan is not None:
        stage_tables["transfers"] = plan.transfers
    decisions = result.decisions
    if "location" not in decisions.columns:
        decisions = decisions.insert_column(1, priced["location"])
    summary = decisions_summary(priced, decisions, result.summary, left_out)
    if plan is not None:
        summary["transfer_plan"] = plan.summary()  # before the engine weighed it
    if "bundles" in stage_tables:
        summary["bundles_proposed"] = stage_tables["bundles"].height
    if result.params is not None:  # the markdown options the engine added
        extra = [c for c in result.params.columns if c not in params.columns]
        if extra:
            params = params.join(
                result.params.select("sku", "location", *extra),
                on=["sku", "location"],
                how="left",
                nulls_equal=True,
            )
    return RunDecisions(params, decisions, summary, warnings, result, priced, stage_tables)


def _transfer_plan(
    classification: pl.DataFrame,
    sku_metrics: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    config: Config,
    result: DecisionResult,
) -> TransferPlan | None:
    """The transfer plan against each source's best other action, or None when transfers are
    off or there is one location (:func:`deadstock.decide.transfers.plan_transfers`)."""
    if "transfer" not in config.decision_actions or not config.transfer_enabled:
        return None
    params = result.params
    # the destinations need no excess of their own: count the classification's locations
    if params is None or params.height == 0 or classification["location"].n_unique() < 2:
        return None
    alternatives = alternative_values(params, config, problem=result.problem)
    return plan_transfers(
        classification,
        sku_metrics.select("sku", "location", "price"),
        alternatives,
        config,
        lanes=tables.get("lanes"),
        locations=tables.get("locations"),
        products=tables.get("products"),
    )


def _transfer_offers(plan: TransferPlan) -> pl.DataFrame:
    """Per source SKU-location: units moved and their value net of the lane cost (the
    destination value already carries the holding until the sale there, so no carrying)."""
    return (
        plan.transfers.group_by("sku", "from_location")
        .agg(
            pl.col("units").sum(),
            ((pl.col("value_per_unit") - pl.col("lane_cost")) * pl.col("units"))
            .sum()
            .alias("value"),
        )
        .rename({"from_location": "location"})
        .with_columns(pl.lit(None, dtype=pl.Float64).alias("days"))
    )


def excess_room(
    locations: pl.DataFrame, classification: pl.DataFrame, params: pl.DataFrame
) -> pl.DataFrame:
    """Space per location left for kept excess: capacity − the stock not being decided.

    capacity_units − (on-hand units − decided excess units) [units], and the same in litres
    with each SKU's volume [litres/unit] (SKUs without a volume count 0 litres). Negative room
    is kept as is: the decided SKUs then cannot all be kept, and a location whose other stock
    already overfills it makes the problem infeasible (reported by the solver).
    """
    volume = (
        params.group_by("sku").agg(pl.col("volume").drop_nulls().first())
        if "volume" in params.columns
        else pl.DataFrame(schema={"sku": pl.String, "volume": pl.Float64})
    )
    stock = (
        classification.select("sku", "location", pl.col("on_hand").clip(lower_bound=0.0))
        .join(volume, on="sku", how="left")
        .group_by("location")
        .agg(
            pl.col("on_hand").sum().alias("stock_units"),
            (pl.col("on_hand") * pl.col("volume").fill_null(0.0)).sum().alias("stock_litres"),
        )
    )
    decided = params.group_by("location").agg(
        pl.col("excess_units").sum().alias("excess_units"),
        (pl.col("excess_units") * pl.col("volume").fill_null(0.0)).sum().alias("excess_litres")
        if "volume" in params.columns
        else pl.lit(0.0).alias("excess_litres"),
    )
    columns = set(locations.columns)
    capacity = [
        pl.col(name) if name in columns else pl.lit(None, pl.Float64).alias(name)
        for name in ("capacity_units", "capacity_volume")
    ]
    filled = ["stock_units", "stock_litres", "excess_units", "excess_litres"]
    return (
        locations.select("location", *capacity)
        .join(stock, on="location", how="left")
        .join(decided, on="location", how="left")
        .with_columns(pl.col(filled).fill_null(0.0))
        .select(
            "location",
            (pl.col("capacity_units") - (pl.col("stock_units") - pl.col("excess_units"))).alias(
                "capacity_units"
            ),
            (pl.col("capacity_volume") - (pl.col("stock_litres") - pl.col("excess_litres"))).alias(
                "capacity_volume"
            ),
        )
    )


def decisions_summary(
    params: pl.DataFrame,
    decisions: pl.DataFrame,
    engine_summary: Mapping[str, Any],
    left_out: int = 0,
) -> dict[str, Any]:
    """The decisions block of a run's summary [currency in the run's currency].

    Action mix (SKU-locations, units and value vs keep per action), total cost of the plan and
    of keeping everything, total value vs keep (= keep-everything cost − plan cost, ≥ 0 for
    the per-SKU optimum), return-eligible SKU-locations, those left out, and the solver.
    """
    mix = (
        decisions.group_by("action")
        .agg(
            pl.len().alias("sku_locations"),
            pl.col("units").sum().alias("units"),
            pl.col("value_vs_keep").sum().alias("value_vs_keep"),
        )
        .sort("action")
        .to_dicts()
        if decisions.height
        else []
    )
    keep_cost = float(decisions["cost_keep"].sum()) if "cost_keep" in decisions.columns else 0.0
    return {
        "sku_locations": decisions.height,
        "excess_units": float(decisions["units"].sum()),
        "return_eligible": int(params["return_eligible"].sum()) if params.height else 0,
        "left_out": left_out,
        "actions": mix,
        "total_cost": float(decisions["cost_action"].sum()),
        "cost_keep_everything": keep_cost,
        "value_vs_keep": float(decisions["value_vs_keep"].sum()),
        "components": dict(engine_summary.get("components", {})),
        "solver": dict(engine_summary.get("solver", {})),
    }
