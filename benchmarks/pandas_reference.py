"""A straightforward pandas implementation of the movement metrics, the benchmark's reference.

The same metrics as :func:`deadstock.metrics.movement_metrics` (SPEC §3.2 and its docstring),
written the way a pandas user would: boolean masks and ``groupby().sum()`` per window, ``merge``
for the lookups, ``merge_asof`` for the stock level on a sale day, ``groupby().apply`` for the
stock-history intervals of each SKU-location and an ``unstack`` of the weekly sums. It shares no
code with deadstock; ``benchmarks/bench_pipeline.py`` times both on the same inputs and
``tests/test_pandas_reference.py`` checks that they agree.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from deadstock.config import Config

KEY = ["sku", "location"]
FIXED_WINDOWS = (7, 30, 90, 365)


def _column(frame: pd.DataFrame | None, name: str) -> pd.Series:
    if frame is not None and name in frame.columns:
        return frame[name]
    return pd.Series(np.nan, index=frame.index if frame is not None else None, dtype="float64")


def _stock_per_key(group: pd.DataFrame, as_of: pd.Timestamp, w: int, t: int) -> pd.Series:
    """Days of the last ``w`` with stock, and stock-days over the last ``t``, of one SKU-location.

    ``group`` holds its history rows sorted by date; a row's level holds until the next row.
    """
    starts = group["date"].to_numpy()
    ends = np.append(starts[1:], np.datetime64(as_of + pd.Timedelta(days=1)))
    levels = group["closing_units"].to_numpy()

    def days_inside(window: int) -> np.ndarray:
        first = np.datetime64(as_of - pd.Timedelta(days=window - 1))
        lo = np.maximum(starts, first)
        return np.clip((ends - lo) / np.timedelta64(1, "D"), 0, None)

    return pd.Series(
        {
            "stocked_days": days_inside(w)[levels > 0].sum(),
            "stock_unit_days": (np.clip(levels, 0, None) * days_inside(t)).sum(),
        }
    )


def pandas_movement_metrics(
    sales: pd.DataFrame,
    position: pd.DataFrame,
    stock_history: pd.DataFrame,
    age: pd.DataFrame,
    products: pd.DataFrame | None,
    as_of: dt.date,
    config: Config,
) -> pd.DataFrame:
    """sku_metrics with pandas: same columns, rows and meaning as ``movement_metrics``."""
    as_of_ts = pd.Timestamp(as_of)
    w, t = config.avg_sales_window_days, config.turnover_window_days
    s_days, weeks = config.sell_through_window_days, config.demand_weeks

    out = position[KEY].copy()
    out["on_hand"] = position["on_hand"].astype("float64")
    out["pos_unit_cost"] = _column(position, "unit_cost").astype("float64")
    out["pos_price"] = _column(position, "price").astype("float64")
    out = out.sort_values(KEY).reset_index(drop=True)

    if products is not None:
        prod = pd.DataFrame(
            {
                "sku": products["sku"],
                "category": _column(products, "category").astype("object"),
                "prod_unit_cost": _column(products, "unit_cost").astype("float64"),
                "prod_price": _column(products, "price").astype("float64"),
            }
        ).drop_duplicates("sku")
        out = out.merge(prod, on="sku", how="left")
    else:
        out["category"], out["prod_unit_cost"], out["prod_price"] = None, np.nan, np.nan

    age_cols = [c for c in age.columns if c.startswith("age_")]
    age_part = age[[*KEY, "stock_value", "positive_units", "avg_age_days", *age_cols]]
    out = out.merge(age_part, on=KEY, how="left")
    out[age_cols] = out[age_cols].fillna(0.0)
    out["stock_value"] = out["stock_value"].fillna(0.0)

    # --- sales of the position's SKU-locations up to as_of
    sales = sales[sales["date"] <= as_of_ts].merge(out[KEY], on=KEY, how="inner")
    sales = sales.assign(days_ago=(as_of_ts - sales["date"]).dt.days)
    known = _column(sales, "revenue").astype("float64")
    sales["known_revenue"] = known.fillna(sales["qty"] * _column(sales, "price"))

    last_sale = sales[sales["qty"] > 0].groupby(KEY)["date"].max().rename("last_sale_date")
    priced = sales[(sales["qty"] > 0) & sales["known_revenue"].notna()]
    priced = priced[priced["date"] == priced.groupby(KEY)["date"].transform("max")]
    realised = priced.groupby(KEY)[["known_revenue", "qty"]].sum()
    realised = (realised["known_revenue"] / realised["qty"]).rename("realised_price")
    out = out.merge(last_sale, on=KEY, how="left").merge(realised, on=KEY, how="left")

    out["price"] = out["pos_price"].fillna(out["prod_price"]).fillna(out["realised_price"])
    layer_cost = (out["stock_value"] / out["positive_units"]).where(out["positive_units"] > 0)
    out["unit_cost"] = out["pos_unit_cost"].fillna(out["prod_unit_cost"]).fillna(layer_cost)

    sales = sales.merge(out[[*KEY, "price"]].rename(columns={"price": "sku_price"}), on=KEY)
    sales["row_revenue"] = (
        sales["known_revenue"].fillna(sales["qty"] * sales["sku_price"]).fillna(0.0)
    )
    for n in sorted({*FIXED_WINDOWS, w, t, s_days}):
        in_window = sales[sales["days_ago"] < n]
        sums = in_window.groupby(KEY)[["qty", "row_revenue"]].sum()
        sums.columns = [f"units_{n}d", f"revenue_{n}d"]
        out = out.merge(sums, on=KEY, how="left")
        out[[f"units_{n}d", f"revenue_{n}d"]] = out[[f"units_{n}d", f"revenue_{n}d"]].fillna(0.0)

    out["days_since_last_sale"] = (as_of_ts - out["last_sale_date"]).dt.days.astype("Int64")

    # --- in-stock days and average stock from the history intervals
    history = stock_history[stock_history["date"] <= as_of_ts].merge(out[KEY], on=KEY)
    history = history.sort_values([*KEY, "date"], kind="stable")
    if len(history):
        stock = history.groupby(KEY)[["date", "closing_units"]].apply(
            _stock_per_key, as_of=as_of_ts, w=w, t=t
        )
        out = out.merge(stock, on=KEY, how="left")
    else:
        out["stocked_days"], out["stock_unit_days"] = np.nan, np.nan
    daily = sales[sales["days_ago"] < w].groupby([*KEY, "date"], as_index=False)["qty"].sum()
    daily = daily[daily["qty"] > 0].sort_values("date")
    levels = pd.merge_asof(
        daily,
        history.sort_values("date", kind="stable"),
        on="date",
        by=KEY,
        direction="backward",
    )
    no_stock = levels[levels["closing_units"].fillna(0.0) <= 0].groupby(KEY).size()
    out = out.merge(no_stock.rename("sold_without_stock"), on=KEY, how="left")
    has_history = out["stocked_days"].notna()
    out["in_stock_days"] = np.where(
        has_history, out["stocked_days"] + out["sold_without_stock"].fillna(0), w
    ).astype("int64")

    units_w = out[f"units_{w}d"]
    out["avg_daily_sales"] = (units_w / out["in_stock_days"]).where(
        (units_w != 0) & (out["in_stock_days"] > 0), 0.0
    )
    positive_on_hand = out["on_hand"].clip(lower=0)
    out["days_of_supply"] = (positive_on_hand / out["avg_daily_sales"]).where(
        out["avg_daily_sales"] > 0
    )
    avg_units = (out["stock_unit_days"] / t).where(has_history, positive_on_hand)
    out["avg_inventory_value"] = avg_units * out["unit_cost"]
    out["cogs_365d"] = out[f"units_{t}d"] * out["unit_cost"]
    positive_value = out["avg_inventory_value"] > 0
    out["turnover"] = (out["cogs_365d"] / out["avg_inventory_value"]).where(positive_value)
    out["gross_margin"] = out[f"revenue_{t}d"] - out["cogs_365d"]
    out["gmroi"] = (out["gross_margin"] / out["avg_inventory_value"]).where(positive_value)
    units_s = out[f"units_{s_days}d"]
    denominator = units_s + out["on_hand"]
    out["sell_through"] = (units_s / denominator).where(denominator > 0)

    # --- ABC over all SKU-locations
    basis_col = "gross_margin" if config.abc_basis == "profit" else f"revenue_{t}d"
    ranked = out[KEY].assign(basis=out[basis_col].fillna(0.0))
    ranked = ranked.sort_values(["basis", *KEY], ascending=[False, True, True], kind="stable")
    running = ranked["basis"].cumsum()
    positive = ranked["basis"] > 0
    total = running[positive].iloc[-1] if positive.any() else 0.0
    share = running.shift(1, fill_value=0.0) / total if total > 0 else np.inf
    cut_a, cut_b = config.abc_cuts
    ranked["abc"] = np.select(
        [positive & (share < cut_a), positive & (share < cut_b)], ["A", "B"], "C"
    )
    out = out.merge(ranked[[*KEY, "abc"]], on=KEY, how="left")

    # --- weekly demand: a SKU-location × week table with zeros for the weeks without sales
    recent = sales[sales["days_ago"] < 7 * weeks].assign(week=lambda f: f["days_ago"] // 7)
    weekly = recent.groupby([*KEY, "week"])["qty"].sum().clip(lower=0)
    grid = weekly.unstack("week").reindex(columns=range(weeks)).fillna(0.0)
    grid = grid.reindex(pd.MultiIndex.from_frame(out[KEY]), fill_value=0.0)
    mean = grid.mean(axis=1)
    weekly_cv = (grid.std(axis=1, ddof=0) / mean).where(mean > 0)
    sizes = grid.where(grid > 0)
    n_sizes = sizes.count(axis=1)
    cv2 = ((sizes.std(axis=1, ddof=0) / sizes.mean(axis=1)) ** 2).where(n_sizes > 1)
    cv2 = cv2.where(n_sizes != 1, 0.0)
    out["weekly_cv"] = weekly_cv.to_numpy()
    out["adi"] = (weeks / n_sizes).where(n_sizes > 0).to_numpy()
    out["cv2"] = cv2.to_numpy()
    x_cut, y_cut = config.xyz_cuts
    out["xyz"] = np.select([out["weekly_cv"] <= x_cut, out["weekly_cv"] <= y_cut], ["X", "Y"], "Z")
    frequent, steady = out["adi"] < config.adi_cut, out["cv2"] < config.cv2_cut
    out["demand_class"] = np.select(
        [out["adi"].isna(), frequent & steady, frequent, steady],
        ["none", "smooth", "erratic", "intermittent"],
        "lumpy",
    )

    columns = [
        "sku",
        "location",
        "category",
        "on_hand",
        "unit_cost",
        "price",
        "stock_value",
        "last_sale_date",
        "days_since_last_sale",
        *(f"units_{n}d" for n in FIXED_WINDOWS),
        *(f"revenue_{n}d" for n in FIXED_WINDOWS),
        "in_stock_days",
        "avg_daily_sales",
        "days_of_supply",
        "avg_inventory_value",
        "cogs_365d",
        "turnover",
        "sell_through",
        "gross_margin",
        "gmroi",
        "abc",
        "weekly_cv",
        "xyz",
        "adi",
        "cv2",
        "demand_class",
        "avg_age_days",
        *age_cols,
    ]
    return out[columns].reset_index(drop=True)
