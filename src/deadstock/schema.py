"""The one vocabulary: canonical tables, column names, dtypes and units.

Input tables (SPEC §2) are read from files whose stem is the table name; every reader maps its
source onto these names. Output tables are described here too, so ``docs/nomenclature.md`` is
generated from this module (``python -m deadstock.schema > docs/nomenclature.md``) and a test keeps
the two in step.

Units are given in brackets in the descriptions: ``[units]``, ``[currency/unit]``, ``[days]``.
Quantities are Float64 (ledgers may hold fractional units); money is Float64 in the run's currency;
dates are ``pl.Date``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from deadstock.decide.costs import ACTIONS, COMPONENT_HELP, COMPONENTS


@dataclass(frozen=True)
class Column:
    """One canonical column: name, Polars dtype, unit and meaning."""

    name: str
    dtype: pl.DataType | type[pl.DataType]
    unit: str
    description: str
    required: bool = False


@dataclass(frozen=True)
class TableSchema:
    """A canonical table: its columns, key and what a row is."""

    name: str
    row: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def polars_schema(self) -> dict[str, pl.DataType | type[pl.DataType]]:
        return {c.name: c.dtype for c in self.columns}


def _c(
    name: str,
    dtype: pl.DataType | type[pl.DataType],
    unit: str,
    description: str,
    required: bool = False,
) -> Column:
    return Column(name, dtype, unit, description, required)


S, F, INT, D, B = pl.String, pl.Float64, pl.Int64, pl.Date, pl.Boolean

DEFAULT_LOCATION = "main"

# ---------------------------------------------------------------------------------------------
# Inputs (SPEC §2)
# ---------------------------------------------------------------------------------------------
PRODUCTS = TableSchema(
    "products",
    "one product (SKU)",
    (
        _c("sku", S, "-", "Stock-keeping unit identifier", True),
        _c("name", S, "-", "Product name"),
        _c("category", S, "-", "Product category (seasonality and percentiles are per category)"),
        _c("subcategory", S, "-", "Product subcategory"),
        _c("supplier_id", S, "-", "Main supplier"),
        _c("unit_cost", F, "currency/unit", "Net purchase price per unit"),
        _c("price", F, "currency/unit", "Regular selling price per unit"),
        _c("volume", F, "litres/unit", "Storage volume of one unit"),
        _c("holding_cost_per_day", F, "currency/unit/day", "Cost of holding one unit one day"),
        _c("launch_date", D, "date", "First day on sale"),
        _c("status", S, "active|discontinued", "Whether the product is still bought in"),
        _c("image_count", INT, "count", "Images on the product listing"),
        _c("description_chars", INT, "characters", "Length of the listing description"),
        _c("perishable", B, "bool", "Product has a shelf life"),
        _c("regulated", B, "bool", "Product is regulated (restricts donation/liquidation)"),
        _c("expiry_date", D, "date", "Earliest expiry date of the stock"),
    ),
    key=("sku",),
)

INVENTORY = TableSchema(
    "inventory",
    "one SKU at one location on one date",
    (
        _c("sku", S, "-", "Stock-keeping unit identifier", True),
        _c("on_hand", F, "units", "Physical stock on hand", True),
        _c("location", S, "-", f"Location (store, warehouse); default '{DEFAULT_LOCATION}'"),
        _c("as_of", D, "date", "Date the stock was counted"),
        _c("unit_cost", F, "currency/unit", "Unit cost of the stock (overrides products)"),
        _c("price", F, "currency/unit", "Selling price (overrides products)"),
        _c("reserved", F, "units", "Units reserved for open orders"),
        _c("inbound", F, "units", "Units on order or in transit"),
    ),
    key=("sku", "location"),
)

SALES = TableSchema(
    "sales",
    "one sale line (or one day's sales) of a SKU at a location",
    (
        _c("date", D, "date", "Day of the sale", True),
        _c("sku", S, "-", "Stock-keeping unit identifier", True),
        _c("qty", F, "units", "Units sold (returns are negative)", True),
        _c("location", S, "-", f"Location; default '{DEFAULT_LOCATION}'"),
        _c("revenue", F, "currency", "Net revenue of the line; default qty × price"),
        _c("order_id", S, "-", "Order identifier (co-purchase analysis)"),
        _c("price", F, "currency/unit", "Realised unit price of the line"),
    ),
)

RECEIPTS = TableSchema(
    "receipts",
    "one goods receipt of a SKU at a location",
    (
        _c("date", D, "date", "Day the goods were received", True),
        _c("sku", S, "-", "Stock-keeping unit identifier", True),
        _c("qty", F, "units", "Units received", True),
        _c("location", S, "-", f"Location; default '{DEFAULT_LOCATION}'"),
        _c("supplier_id", S, "-", "Supplier of the receipt"),
        _c("unit_cost", F, "currency/unit", "Purchase cost per unit of this receipt"),
        _c("payment_days", INT, "days", "Payment term of this receipt"),
    ),
)

LEDGER = TableSchema(
    "ledger",
    "one stock movement (stock ledger entry)",
    (
        _c("date", D, "date", "Posting date of the movement", True),
        _c("sku", S, "-", "Stock-keeping unit identifier", True),
        _c("qty_change", F, "units", "Signed quantity: + into stock, − out of stock", True),
        _c("location", S, "-", f"Location; default '{DEFAULT_LOCATION}'"),
        _c("voucher_type", S, "receipt|issue|sale|transfer|reconciliation", "Kind of movement"),
        _c("qty_after", F, "units", "Balance after a reconciliation (stock count)"),
        _c("value_change", F, "currency", "Signed value of the movement"),
        _c("voucher_id", S, "-", "Document id; the two sides of a transfer share it"),
    ),
)

SUPPLIERS = TableSchema(
    "suppliers",
    "one supplier",
    (
        _c("supplier_id", S, "-", "Supplier identifier", True),
        _c("return_policy", S, "none|return|destroy", "Return right offered"),
        _c("refund_pct", F, "% of unit_cost", "Refund for a returned unit [0, 100]"),
        _c("min_return_days", INT, "days", "Earliest age of a receipt that may be returned"),
        _c("max_return_days", INT, "days", "Latest age of a receipt that may be returned"),
        _c("return_cost_per_unit", F, "currency/unit", "Transport cost of a returned unit"),
        _c("return_cap_units", F, "units", "Most units the supplier takes back"),
        _c("return_cap_value", F, "currency", "Most refund value the supplier pays"),
        _c("lead_time_days", INT, "days", "Replenishment lead time"),
        _c("payment_days", INT, "days", "Default payment term"),
    ),
    key=("supplier_id",),
)

LOCATIONS = TableSchema(
    "locations",
    "one location",
    (
        _c("location", S, "-", "Location identifier", True),
        _c("capacity_volume", F, "litres", "Storage capacity by volume"),
        _c("capacity_units", F, "units", "Storage capacity in units"),
    ),
    key=("location",),
)

PRICES = TableSchema(
    "prices",
    "one price of a SKU from a date on",
    (
        _c("date", D, "date", "First day the price applies", True),
        _c("sku", S, "-", "Stock-keeping unit identifier", True),
        _c("price", F, "currency/unit", "Shelf price", True),
        _c("location", S, "-", "Location (blank = all locations)"),
    ),
)

LANES = TableSchema(
    "lanes",
    "one transfer lane from one location to another (absent lanes: no transfer)",
    (
        _c("from_location", S, "-", "Location the units leave", True),
        _c("to_location", S, "-", "Location the units go to", True),
        _c(
            "cost_per_unit",
            F,
            "currency/unit",
            "Transport and handling of one unit (blank = setting transfer_cost_per_unit)",
        ),
        _c("lead_days", F, "days", "Days in transit (blank = setting transfer_lead_days)"),
    ),
    key=("from_location", "to_location"),
)

DECISION_PARAMS = TableSchema(
    "decision_params",
    "one SKU (or SKU-location) with excess stock: the input of `deadstock decide` (SPEC §3.5)",
    (
        _c("sku", S, "-", "Stock-keeping unit identifier", True),
        _c("location", S, "-", "Location (with it, the key is sku × location)"),
        _c("excess_units", F, "units", "S: excess units; all take one action", True),
        _c("price", F, "currency/unit", "Ps: regular selling price", True),
        _c(
            "expected_days_in_stock",
            F,
            "days",
            "De: expected days until the excess sells (blank = setting no_forecast_days)",
            True,
        ),
        _c("current_days_in_stock", F, "days", "Dc: days the excess has been in stock", True),
        _c("payment_days", F, "days", "P: payment term of the excess units", True),
        _c("financed_now", INT, "0/1", "Fc: already paid for (Dc ≥ P)", True),
        _c("financed_future", INT, "0/1", "Ff: paid before it sells (Dc < P ≤ Dc + De)", True),
        _c("holding_cost_per_day", F, "currency/unit/day", "Cs: holding cost", True),
        _c("unit_cost", F, "currency/unit", "N: net net purchase price", True),
        _c("return_eligible", INT, "0/1", "1 when a supplier takes the units back", True),
        _c("return_price", F, "currency/unit", "Pr: refund (blank when not eligible)", True),
        _c("return_cost", F, "currency/unit", "Cr: return transport (blank = 0)", True),
        _c(
            "liquidation_price",
            F,
            "currency/unit",
            "Pl: liquidator's price (blank = liquidation not offered)",
            True,
        ),
        _c("liquidation_cost", F, "currency/unit", "Cl: transport to the liquidator (blank = 0)"),
        _c("recycle_price", F, "currency/unit", "Pd: recycler's payment (blank = not offered)"),
        _c("recycle_cost", F, "currency/unit", "Cd: transport to recycling (blank = 0)"),
        _c("donation_value", F, "currency/unit", "Tax value of a donation (blank = not offered)"),
        _c("donation_cost", F, "currency/unit", "Logistics of a donation (blank = 0)"),
        _c("disposal_cost", F, "currency/unit", "Cost of disposal (blank = not offered)"),
        _c("volume", F, "litres/unit", "Storage volume of one unit (setting capacity_volume)"),
        _c("supplier_id", S, "-", "Supplier taking returns (--suppliers return caps)"),
        _c("total_units", F, "units", "Whole stock of the SKU (setting keep_single_items)"),
        _c(
            "forecast_daily",
            F,
            "units/day",
            "Base demand of the SKU; with it the engine prices markdowns (blank = none offered)",
        ),
        _c(
            "elasticity",
            F,
            "-",
            "Price elasticity of demand, negative (blank = the elasticity_prior setting)",
        ),
        _c(
            "listing_fix_eligible",
            F,
            "0/1",
            "1 when the listing, not the product, makes it slow (segment A): fix_listing offered",
        ),
        _c(
            "forced_action",
            S,
            "keep|return|liquidate|recycle|donate|dispose",
            "Action the SKU must take (blank = free choice)",
        ),
    ),
    key=("sku", "location"),
)

INPUT_TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (
        PRODUCTS,
        INVENTORY,
        SALES,
        RECEIPTS,
        LEDGER,
        SUPPLIERS,
        LOCATIONS,
        PRICES,
        LANES,
        DECISION_PARAMS,
    )
}

# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------
REJECTS = TableSchema(
    "rejects",
    "one input row that could not be used",
    (
        _c("table", S, "-", "Canonical table the row belongs to"),
        _c("source_file", S, "-", "File the row was read from"),
        _c("row", INT, "row number", "Row in that file (header = row 1, first data row = row 2)"),
        _c("column", S, "-", "Column that failed (blank when the whole row is at fault)"),
        _c("value", S, "-", "The offending value as read"),
        _c("reason", S, "-", "Why the row was rejected and what was expected"),
    ),
)

LAYERS = TableSchema(
    "layers",
    "one FIFO cost layer of on-hand stock (oldest first per SKU-location)",
    (
        _c("sku", S, "-", "Stock-keeping unit identifier"),
        _c("location", S, "-", "Location"),
        _c("received", D, "date", "Date the layer entered stock (kept across transfers)"),
        _c(
            "units",
            F,
            "units",
            "Units in the layer; negative = issued beyond stock, not yet filled",
        ),
        _c("unit_cost", F, "currency/unit", "Cost of the layer's units"),
        _c("value", F, "currency", "units × unit_cost"),
        _c("age_days", INT, "days", "as_of − received"),
        _c(
            "origin",
            S,
            "receipt|opening|reconciliation|transfer|negative",
            "How the layer came about; 'opening' = stock not covered by any receipt",
        ),
    ),
)


def age_bucket_names(edges: list[int] | tuple[int, ...]) -> list[str]:
    """Bucket labels from ascending edges: ``[30, 60]`` → ``['0_30', '31_60', '61_plus']``."""
    names, lower = [], 0
    for edge in edges:
        names.append(f"{lower}_{edge}")
        lower = edge + 1
    names.append(f"{lower}_plus")
    return names


SKU_METRICS = TableSchema(
    "sku_metrics",
    "one SKU at one location at the run's as-of date",
    (
        _c("sku", S, "-", "Stock-keeping unit identifier"),
        _c("location", S, "-", "Location"),
        _c("category", S, "-", "Product category (blank when unknown)"),
        _c("on_hand", F, "units", "Stock on hand at as-of"),
        _c(
            "unit_cost",
            F,
            "currency/unit",
            "Unit cost: inventory, else products, else the FIFO layers' weighted cost",
        ),
        _c(
            "price",
            F,
            "currency/unit",
            "Selling price: inventory, else products, else last realised",
        ),
        _c("stock_value", F, "currency", "Value of positive FIFO layers at their own cost"),
        _c("last_sale_date", D, "date", "Last day with units sold ≤ as-of (blank = never)"),
        _c("days_since_last_sale", INT, "days", "as_of − last_sale_date"),
        _c("units_7d", F, "units", "Units sold in as_of−6 … as_of"),
        _c("units_30d", F, "units", "Units sold in as_of−29 … as_of"),
        _c("units_90d", F, "units", "Units sold in as_of−89 … as_of"),
        _c("units_365d", F, "units", "Units sold in as_of−364 … as_of"),
        _c("revenue_7d", F, "currency", "Revenue in the 7-day window"),
        _c("revenue_30d", F, "currency", "Revenue in the 30-day window"),
        _c("revenue_90d", F, "currency", "Revenue in the 90-day window"),
        _c("revenue_365d", F, "currency", "Revenue in the 365-day window"),
        _c("in_stock_days", INT, "days", "Days in the average-sales window with stock (or a sale)"),
        _c(
            "avg_daily_sales",
            F,
            "units/day",
            "Units sold ÷ in-stock days over the window avg_sales_window_days",
        ),
        _c("days_of_supply", F, "days", "on_hand ÷ avg_daily_sales (blank when no sales)"),
        _c(
            "avg_inventory_value",
            F,
            "currency",
            "Time-weighted average stock value over the turnover window",
        ),
        _c("cogs_365d", F, "currency", "Cost of goods sold over the turnover window"),
        _c("turnover", F, "1/period", "cogs ÷ average inventory value (turnover window)"),
        _c(
            "sell_through",
            F,
            "ratio",
            "units sold ÷ (units sold + on_hand) over the sell-through window",
        ),
        _c("gross_margin", F, "currency", "revenue − COGS over the turnover window"),
        _c("gmroi", F, "ratio", "gross_margin ÷ average inventory value"),
        _c("abc", S, "A|B|C", "Class by cumulative share of revenue (cuts 80/95 %)"),
        _c("weekly_cv", F, "ratio", "Coefficient of variation of weekly demand (XYZ window)"),
        _c("xyz", S, "X|Y|Z", "Class by weekly_cv (X ≤ 0.5 < Y ≤ 1.0 < Z; Z when no demand)"),
        _c("adi", F, "weeks", "Average demand interval: weeks ÷ weeks with demand"),
        _c("cv2", F, "ratio", "Squared CV of the non-zero weekly demand sizes"),
        _c(
            "demand_class",
            S,
            "smooth|erratic|intermittent|lumpy|none",
            "Syntetos–Boylan class from adi (1.32) and cv2 (0.49)",
        ),
        _c("avg_age_days", F, "days", "Unit-weighted mean age of the positive FIFO layers"),
    ),
    key=("sku", "location"),
)

CLASSIFICATION = TableSchema(
    "classification",
    "one SKU at one location at the run's as-of date: forecast, excess and the verdict",
    (
        _c("sku", S, "-", "Stock-keeping unit identifier"),
        _c("location", S, "-", "Location"),
        _c("category", S, "-", "Product category ('(none)' when unknown)"),
        _c("on_hand", F, "units", "Stock on hand at as-of"),
        _c("inbound", F, "units", "Stock on order or in transit"),
        _c("unit_cost", F, "currency/unit", "Unit cost (as in sku_metrics)"),
        _c("stock_value", F, "currency", "Value of positive FIFO layers at their own cost"),
        _c("forecast_daily", F, "units/day", "Forecast demand per day (level of the method)"),
        _c("forecast_method", S, "-", "Forecast method chosen for the demand class (backtest)"),
        _c(
            "projected_stock_days",
            F,
            "days",
            "Days until on_hand + inbound sell out at the forecast (blank = never: no forecast)",
        ),
        _c(
            "velocity_band",
            S,
            "fast|normal|slow|very_slow|non_moving|out_of_stock",
            "Band of projected_stock_days (cuts 29/57/85/183 days)",
        ),
        _c("excess_units", F, "units", "Units expected still in stock after the threshold (84 d)"),
        _c(
            "expected_days_in_stock",
            F,
            "days",
            "Of the excess units: mean of the threshold and the stock-out day (1,095 = no sales)",
        ),
        _c(
            "expected_days_in_stock_prob",
            F,
            "days",
            "Of the excess units under Poisson / negative-binomial demand, capped at 1,095",
        ),
        _c("p_sell_all_84d", F, "probability", "Chance that all the stock sells within 84 days"),
        _c("p_sell_all_182d", F, "probability", "Chance that all the stock sells within 182 days"),
        _c("p_sell_all_365d", F, "probability", "Chance that all the stock sells within 365 days"),
        _c("week_type_now", pl.Int8, "0-4", "Week type now: 0 off, 1 peak, 2 high, 3 long, 4 spot"),
        _c("off_season", B, "bool", "Week type now is 0: zero sales are expected"),
        _c("upcoming_high_season", B, "bool", "A peak or high-season week within 4 weeks"),
        _c("weeks_to_high_season", INT, "weeks", "Weeks until the next peak or high week"),
        _c("is_dead", B, "bool", "All four dead-stock criteria hold (SPEC §3.4)"),
        _c("dead_reason", S, "-", "The dead-stock criteria that held, joined by '+'"),
        _c("high_season_hold", B, "bool", "Dead but entering high season: hold, do not mark down"),
        _c("erp_dead", B, "bool", "Plain ERP rule: stock and no sale in 90 days"),
        _c("segment", S, "A|B|C|D", "Problem stock: A fix listing, B revive, C clear, D liquidate"),
        _c("segment_reason", S, "-", "The signal that put the SKU-location in its segment"),
        _c(
            "lifecycle_stage",
            S,
            "introduction|growth|maturity|decline|end_of_life",
            "Stage from the seasonally adjusted sales trend",
        ),
        _c(
            "quadrant",
            S,
            "maintain|promote|reorder_carefully|clear_now",
            "Turnover × stock depth, split at the medians",
        ),
        _c("urgency", S, "high|medium|low", "Stock-out risk: < 7, 7–14, > 14 projected days"),
        _c("recommend_reorder", B, "bool", "A-class with < 30 projected days of stock"),
        _c(
            "return_window_days_left",
            INT,
            "days",
            "Days until the first open supplier return window of the stock closes",
        ),
        _c("alert_level", pl.Int8, "0-3", "0 none, 1 notify, 2 act, 3 urgent"),
        _c("frozen_capital", F, "currency", "stock_value of dead or excess stock (cost basis)"),
        _c(
            "release_ratio",
            F,
            "days",
            "stock_value ÷ seasonally normalised daily cost of units sold (blank = no sales)",
        ),
        _c(
            "release_ratio_pct",
            F,
            "share",
            "Rank of release_ratio among stocked SKU-locations (1 = slowest release)",
        ),
    ),
    key=("sku", "location"),
)

SEASONALITY = TableSchema(
    "seasonality",
    "one category or SKU in one week of the year",
    (
        Column("level", pl.String, "category|sku", "Whose index the row holds"),
        Column(
            "category",
            pl.String,
            "-",
            "Category of the row (SKU rows: the SKU's category; '(none)' = none given)",
        ),
        Column("sku", pl.String, "-", "SKU of a SKU row (blank on category rows)"),
        Column("week_of_year", pl.Int8, "week", "ISO week 1–52 (ISO week 53 is folded into 52)"),
        Column(
            "index", pl.Float64, "ratio", "Daily demand in the week ÷ average (mean 1 per row set)"
        ),
        Column(
            "week_type",
            pl.Int8,
            "0–4",
            "0 off-season, 1 peak, 2 high season, 3 regular (long block), 4 regular (short block)",
        ),
    ),
    key=("level", "category", "sku", "week_of_year"),
)

FORECAST = TableSchema(
    "forecast",
    "one SKU at one location: its demand forecast per week (26 weeks: setting forecast_weeks)",
    (
        _c("sku", S, "-", "Stock-keeping unit identifier"),
        _c("location", S, "-", "Location"),
        _c("forecast_method", S, "-", "Method chosen for the demand class (blank = no demand)"),
        _c("first_day", D, "date", "First day of week_01 (the day after the as-of date)"),
        *(
            _c(f"week_{w:02d}", F, "units", f"Forecast units in days {7 * w - 6}–{7 * w}")
            for w in range(1, 27)
        ),
    ),
    key=("sku", "location"),
)

DECISIONS = TableSchema(
    "decisions",
    "one SKU (or SKU-location) of the decision parameters: the action and its economics",
    (
        _c("sku", S, "-", "Stock-keeping unit identifier"),
        _c("location", S, "-", "Location (when the parameter table has one)"),
        _c("action", S, "|".join(ACTIONS), "Chosen action for all excess units"),
        _c("units", F, "units", "Excess units the action applies to"),
        _c(
            "reason",
            S,
            "-",
            "Why: keep_cheapest, <action>_beats_keep, forced, keep_list, single_item, "
            "only_option, no_excess, capacity_bound, return_cap_bound, min_lot_bound, coupled",
        ),
        _c("runner_up", S, "-", "Cheapest other available action (blank = none)"),
        _c(
            "runner_up_gap",
            F,
            "currency",
            "Cost of runner_up − cost_action (< 0 only when a restriction or coupling row "
            "imposed the action)",
        ),
        _c("cost_action", F, "currency", "Cost of the chosen action (thesis cost model × units)"),
        _c("value_vs_keep", F, "currency", "cost_keep − cost_action = npv_action − npv_keep"),
        _c("expected_recovery", F, "currency", "Proceeds of the chosen clearing action (keep: 0)"),
        _c(
            "npv_keep",
            F,
            "currency",
            "units × Ps/(1+Re)^De − cost_keep: discounted sale less carrying costs",
        ),
        _c(
            "npv_action",
            F,
            "currency",
            "units × Ps/(1+Re)^De − cost_action: proceeds − transport when clearing",
        ),
        _c("supplier_id", S, "-", "Supplier of a return (when the parameter table has one)"),
        _c("discount", F, "fraction", "First-week discount of a markdown (blank otherwise)"),
        _c(
            "markdown_schedule",
            S,
            "-",
            "Planned markdown, e.g. '15% w1-2, 25% w3-8' (a ladder follows its policy when "
            "sales differ from expectation)",
        ),
        *(
            _c(f"cost_{a}", F, "currency", f"Cost of {a} (blank = not available to the SKU)")
            if part is None
            else _c(f"{a}_{part}", F, "currency", f"{a}: {COMPONENT_HELP[part]}, × units")
            for a in ACTIONS
            for part in (None, *COMPONENTS[a])
        ),
    ),
    key=("sku", "location"),
)

ELASTICITIES = TableSchema(
    "elasticities",
    "one SKU: its own-price elasticity of demand (deadstock.pricing.elasticity)",
    (
        _c("sku", S, "-", "Stock-keeping unit identifier"),
        _c("category", S, "-", "Category the estimate is pooled in"),
        _c("elasticity", F, "-", "Elasticity used for markdowns (negative), after shrinkage"),
        _c("std_error", F, "-", "Posterior standard error of the elasticity"),
        _c("n_price_changes", F, "weeks", "Weeks whose price moved against the week before"),
        _c("n_weeks", F, "weeks", "Weeks of data behind the SKU's own estimate"),
        _c("source", S, "sku|category|prior", "Where the elasticity comes from"),
        _c("raw_elasticity", F, "-", "The SKU's own estimate before shrinkage (blank = none)"),
        _c("raw_std_error", F, "-", "Its standard error"),
    ),
)

OUTPUT_TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (
        SKU_METRICS,
        CLASSIFICATION,
        FORECAST,
        SEASONALITY,
        LAYERS,
        REJECTS,
        DECISIONS,
        ELASTICITIES,
    )
}


def nomenclature_markdown() -> str:
    """Render every input and output table as the Markdown nomenclature page."""
    lines = [
        "# Nomenclature",
        "",
        "Every column deadstock reads or writes, with its type and unit. Generated from",
        "`src/deadstock/schema.py` by `python -m deadstock.schema > docs/nomenclature.md`; do not",
        "edit by hand. Money is in the run's currency (setting `currency`).",
        "",
        "## Inputs",
        "",
    ]

    def table(t: TableSchema, show_required: bool) -> None:
        lines.extend([f"### `{t.name}` — {t.row}", ""])
        if t.key:
            lines.extend([f"Key: {', '.join(t.key)}.", ""])
        head = "| column | type | unit | meaning |"
        if show_required:
            head = "| column | required | type | unit | meaning |"
        lines.append(head)
        lines.append("|" + "---|" * (5 if show_required else 4))
        for c in t.columns:
            dtype = str(c.dtype() if isinstance(c.dtype, type) else c.dtype)
            cells = [f"`{c.name}`"]
            if show_required:
                cells.append("yes" if c.required else "")
            cells.extend([dtype, c.unit, c.description])
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")

    for t in INPUT_TABLES.values():
        table(t, True)
    lines.extend(["## Outputs", ""])
    from deadstock.decide.bundles import BUNDLES  # defined beside their builders
    from deadstock.decide.transfers import TRANSFERS

    for t in (*OUTPUT_TABLES.values(), BUNDLES, TRANSFERS):
        table(t, False)
    lines.extend(
        [
            "### Age buckets in `sku_metrics`",
            "",
            "For edges e1 < e2 < … (setting `age_buckets`, default 30,60,90,180,365) the columns",
            "`age_0_e1_units`, `age_{e1+1}_e2_units`, …, `age_{last+1}_plus_units` hold the",
            "units [units] of positive FIFO layers whose age falls in the bucket, and the same",
            "names with `_value` their value [currency]. With edges 30,60,90: `age_0_30`,",
            "`age_31_60`, `age_61_90`, `age_91_plus`.",
            "",
        ]
    )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(nomenclature_markdown(), end="")
