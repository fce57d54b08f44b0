"""Tests of the demo retailer generator, the dataset writer and the defect rows."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deadstock import schema
from deadstock.datasets import (
    add_defects,
    generate_retailer,
    write_dataset,
    write_demo_data,
)
from deadstock.datasets import retailer as retailer_module
from deadstock.datasets.catalogue import CATEGORIES, season_index
from deadstock.datasets.defects import HELPER_SKUS, UNKNOWN_SKU

KEY = ["sku", "location"]
END = date(2025, 11, 30)


@pytest.fixture(scope="module")
def demo() -> dict[str, pl.DataFrame]:
    """The retailer at default settings (2,000 SKUs × 3 locations × 730 days)."""
    return generate_retailer()


@pytest.fixture(scope="module")
def small() -> dict[str, pl.DataFrame]:
    return generate_retailer(n_skus=150, n_locations=2, seed=7)


def stock_balance(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    received = tables["receipts"].group_by(KEY).agg(received=pl.col("qty").sum())
    sold = tables["sales"].group_by(KEY).agg(sold=pl.col("qty").sum())
    return (
        tables["inventory"]
        .join(received, on=KEY, how="full", coalesce=True)
        .join(sold, on=KEY, how="full", coalesce=True)
        .with_columns(pl.col("on_hand", "received", "sold").fill_null(0.0))
    )


def lowest_running_stock(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Lowest end-of-day stock per SKU-location, replaying receipts before sales each day."""
    moves = pl.concat(
        [
            tables["receipts"].select("date", *KEY, change=pl.col("qty")),
            tables["sales"].select("date", *KEY, change=-pl.col("qty")),
        ]
    )
    daily = moves.group_by("date", *KEY).agg(pl.col("change").sum()).sort(*KEY, "date")
    return daily.group_by(KEY).agg(lowest=pl.col("change").cum_sum().min())


def category_month_units(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return (
        tables["sales"]
        .join(tables["products"].select("sku", "category"), on="sku")
        .group_by("category", month=pl.col("date").dt.month())
        .agg(units=pl.col("qty").sum())
    )


# ---------------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------------
def test_same_arguments_give_identical_frames() -> None:
    first = generate_retailer(n_skus=120, n_locations=2, seed=3, days=200)
    second = generate_retailer(n_skus=120, n_locations=2, seed=3, days=200)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name].equals(second[name]), name
    other = generate_retailer(n_skus=120, n_locations=2, seed=4, days=200)
    assert not first["sales"].equals(other["sales"])


def test_tables_use_canonical_names_and_dtypes(demo: dict[str, pl.DataFrame]) -> None:
    assert set(demo) == {
        "products",
        "inventory",
        "sales",
        "receipts",
        "suppliers",
        "locations",
        "prices",
    }
    for name, frame in demo.items():
        spec = schema.INPUT_TABLES[name]
        assert set(spec.required) <= set(frame.columns), name
        for column, dtype in frame.schema.items():
            assert dtype == spec.column(column).dtype, (name, column)
        if spec.key:
            assert frame.select(spec.key).is_duplicated().sum() == 0, name
        assert frame.select(spec.required).null_count().sum_horizontal().item() == 0
    assert demo["inventory"]["as_of"].unique().to_list() == [END]
    assert demo["sales"]["date"].max() <= END
    assert demo["sales"]["date"].min() >= END - timedelta(days=729)


def test_on_hand_is_receipts_minus_sales_and_never_negative(
    demo: dict[str, pl.DataFrame],
) -> None:
    balance = stock_balance(demo)
    assert balance.height == demo["inventory"].height  # no movement outside the inventory
    assert (balance["received"] - balance["sold"] == balance["on_hand"]).all()
    assert (balance["on_hand"] >= 0).all()
    assert (lowest_running_stock(demo)["lowest"] >= 0).all()
    assert (demo["sales"]["qty"] > 0).all() and (demo["receipts"]["qty"] > 0).all()
    assert (demo["sales"]["qty"] == demo["sales"]["qty"].round()).all()


def test_one_sales_row_per_sku_location_day_with_consistent_revenue(
    demo: dict[str, pl.DataFrame],
) -> None:
    sales = demo["sales"]
    assert sales.select("date", *KEY).is_duplicated().sum() == 0
    assert ((sales["revenue"] - sales["qty"] * sales["price"]).abs() < 1e-6).all()
    assert sales["date"].is_sorted()


def test_non_zero_day_share_about_five_percent(demo: dict[str, pl.DataFrame]) -> None:
    share = demo["sales"].height / (demo["inventory"].height * 730)
    assert 0.035 <= share <= 0.07


def test_long_intermittent_tail_and_a_few_fast_movers(demo: dict[str, pl.DataFrame]) -> None:
    per_month = (
        demo["sales"].group_by(KEY).agg(monthly=pl.col("qty").sum() / 24)["monthly"].to_numpy()
    )
    rows = demo["inventory"].height
    slow = (per_month <= 3).sum() / rows
    fast = (per_month >= 30).sum() / rows
    assert slow > 0.5  # most SKU-locations sell a few units a month or less
    assert 0.005 < fast < 0.1


@pytest.mark.parametrize(
    ("profile", "high", "low"),
    [
        ("winter", (12, 1, 2), (6, 7, 8)),
        ("summer", (6, 7, 8), (12, 1, 2)),
        ("holiday", (11, 12), (2, 3, 4, 5, 6, 7, 8, 9)),
    ],
)
def test_seasonal_categories_peak_in_their_season(
    demo: dict[str, pl.DataFrame], profile: str, high: tuple[int, ...], low: tuple[int, ...]
) -> None:
    monthly = category_month_units(demo)
    for category in [c.name for c in CATEGORIES if c.profile == profile]:
        units = monthly.filter(pl.col("category") == category)
        in_season = units.filter(pl.col("month").is_in(high))["units"].sum() / len(high)
        off_season = units.filter(pl.col("month").is_in(low))["units"].sum() / len(low)
        assert in_season > 2.5 * off_season, category


def test_non_seasonal_categories_are_flat(demo: dict[str, pl.DataFrame]) -> None:
    monthly = category_month_units(demo)
    for category in [c.name for c in CATEGORIES if c.profile == "none"]:
        units = monthly.filter(pl.col("category") == category)["units"].to_numpy()
        assert units.max() < 2.0 * units.min(), category


def test_season_index_has_mean_one() -> None:
    day_of_year = np.arange(1, 366)
    for profile in ("winter", "summer", "holiday", "none"):
        assert season_index(profile, day_of_year).mean() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="profile"):
        season_index("monsoon", day_of_year)


def test_discontinued_skus_hold_stock_and_sell_little_at_the_end(
    demo: dict[str, pl.DataFrame],
) -> None:
    discontinued = demo["products"].filter(pl.col("status") == "discontinued")["sku"]
    assert 0.03 < discontinued.len() / demo["products"].height < 0.2
    stock = demo["inventory"].filter(pl.col("sku").is_in(discontinued.implode()))
    assert (stock["on_hand"] > 0).mean() > 0.7
    sales = demo["sales"].filter(pl.col("sku").is_in(discontinued.implode()))
    start = END - timedelta(days=729)
    early = sales.filter(pl.col("date") < start + timedelta(days=180))["qty"].sum() / 180
    late = sales.filter(pl.col("date") > END - timedelta(days=90))["qty"].sum() / 90
    assert late < 0.2 * early
    # no orders after the stop (≥ 90 days before the end; lead times ≤ 60 days)
    last_receipt = (
        demo["receipts"].filter(pl.col("sku").is_in(discontinued.implode()))["date"].max()
    )
    assert last_receipt < END - timedelta(days=30)


def test_launches_start_with_a_receipt_and_never_sell_before_launch(
    demo: dict[str, pl.DataFrame],
) -> None:
    start = END - timedelta(days=729)
    products = demo["products"].select("sku", "launch_date")
    launches = products.filter(pl.col("launch_date") >= start)
    assert launches.height > 0.05 * products.height
    first_receipt = (
        demo["receipts"].group_by(KEY).agg(first=pl.col("date").min()).join(products, on="sku")
    )
    expected = pl.max_horizontal(pl.col("launch_date"), pl.lit(start))
    assert first_receipt.select((pl.col("first") == expected).all()).item()
    first_sale = (
        demo["sales"].group_by("sku").agg(first=pl.col("date").min()).join(products, on="sku")
    )
    assert first_sale.select((pl.col("first") >= pl.col("launch_date")).all()).item()


def test_suppliers_terms_and_return_rights(demo: dict[str, pl.DataFrame]) -> None:
    suppliers = demo["suppliers"]
    assert 20 <= suppliers.height <= 200
    policy = suppliers["return_policy"]
    assert set(policy.unique()) <= {"return", "destroy", "none"}
    assert 0.3 <= (policy == "return").mean() <= 0.7
    assert (policy == "destroy").sum() > 0 and (policy == "none").sum() > 0
    assert set(suppliers["payment_days"].unique()) <= {0, 14, 30, 60, 90}
    assert suppliers["lead_time_days"].is_between(3, 60).all()
    rights = suppliers.filter(pl.col("return_policy") != "none")
    assert rights["refund_pct"].is_between(80, 100).all()
    assert rights["min_return_days"].is_between(0, 30).all()
    assert rights["max_return_days"].is_between(60, 365).all()
    assert rights["return_cost_per_unit"].is_between(0, 2).all()
    destroy = suppliers.filter(pl.col("return_policy") == "destroy")
    assert (destroy["return_cost_per_unit"] == 0).all()
    none = suppliers.filter(pl.col("return_policy") == "none")
    assert none.select("refund_pct", "max_return_days").null_count().sum_horizontal().item() == (
        2 * none.height
    )


def test_products_attributes(demo: dict[str, pl.DataFrame]) -> None:
    products = demo["products"]
    margin = (products["price"] - products["unit_cost"]) / products["price"]
    assert margin.is_between(0.19, 0.71).all()
    assert (products["volume"] > 0).all() and (products["holding_cost_per_day"] > 0).all()
    assert products["supplier_id"].is_in(demo["suppliers"]["supplier_id"].implode()).all()
    assert set(products["status"].unique()) == {"active", "discontinued"}
    assert products["name"].str.len_chars().min() > 5
    assert products.filter(pl.col("image_count") <= 1).height > 0
    assert products["perishable"].sum() > 0 and products["regulated"].sum() > 0
    assert set(products["category"].unique()) == {c.name for c in CATEGORIES}


def test_receipts_carry_supplier_terms(demo: dict[str, pl.DataFrame]) -> None:
    receipts = (
        demo["receipts"]
        .join(
            demo["products"].select("sku", main=pl.col("supplier_id"), cost=pl.col("unit_cost")),
            on="sku",
        )
        .join(
            demo["suppliers"].select("supplier_id", terms=pl.col("payment_days")), on="supplier_id"
        )
    )
    assert (receipts["supplier_id"] == receipts["main"]).all()
    assert (receipts["payment_days"] == receipts["terms"]).all()
    assert (receipts["unit_cost"] > 0).all()
    # cost moves with the regular price, so it stays near the latest cost
    assert ((receipts["unit_cost"] / receipts["cost"]).is_between(0.6, 1.5)).all()


def test_sale_prices_match_the_price_history(demo: dict[str, pl.DataFrame]) -> None:
    prices = demo["prices"].sort("sku", "date")
    assert prices.select(pl.col("price").diff().over("sku").eq(0).any()).item() is False
    in_force = (
        demo["sales"]
        .sort("sku", "date")
        .join_asof(prices.rename({"price": "listed"}), on="date", by="sku", check_sortedness=False)
    )
    assert in_force["listed"].null_count() == 0
    assert (in_force["price"] == in_force["listed"]).all()
    assert (prices["price"] > 0).all()


def test_promotions_are_temporary_and_lift_demand(demo: dict[str, pl.DataFrame]) -> None:
    prices = (
        demo["prices"]
        .sort("sku", "date")
        .with_columns(
            before=pl.col("price").shift(1).over("sku"),
            after=pl.col("price").shift(-1).over("sku"),
            until=pl.col("date").shift(-1).over("sku"),
        )
    )
    promos = prices.filter(
        (pl.col("price") < pl.col("before"))
        & (pl.col("after") == pl.col("before"))
        & ((pl.col("until") - pl.col("date")).dt.total_days() <= 14)
    )
    assert promos["sku"].n_unique() > 0.2 * demo["products"].height
    days = pl.date_range(END - timedelta(days=729), END, eager=True).alias("date")
    promo_days = (
        promos.select("sku", day=pl.date_ranges("date", pl.col("until") - timedelta(days=1)))
        .explode("day")
        .select("sku", date="day", promo=pl.lit(True))
    )
    daily = (
        demo["sales"]
        .group_by("sku", "date")
        .agg(units=pl.col("qty").sum())
        .join(promo_days, on=["sku", "date"], how="left")
    )
    promoted = promos["sku"].unique().implode()
    per_sku = (
        daily.filter(pl.col("sku").is_in(promoted))
        .group_by("sku")
        .agg(
            promo_units=pl.col("units").filter(pl.col("promo").fill_null(False)).sum(),
            other_units=pl.col("units").filter(pl.col("promo").is_null()).sum(),
        )
        .join(promo_days.group_by("sku").agg(promo_days=pl.len()), on="sku")
    )
    # expected promo units at the SKU's non-promo rate (calendar days after launch ≈ all days)
    expected = (per_sku["other_units"] / (days.len() - per_sku["promo_days"])) * per_sku[
        "promo_days"
    ]
    lift = per_sku["promo_units"].sum() / expected.sum()
    assert lift > 1.2


def test_buying_mistakes_and_seasonal_prebuys_leave_excess(demo: dict[str, pl.DataFrame]) -> None:
    yearly = (
        demo["sales"]
        .filter(pl.col("date") > END - timedelta(days=365))
        .group_by(KEY)
        .agg(sold=pl.col("qty").sum())
    )
    stock = demo["inventory"].join(yearly, on=KEY, how="left").fill_null(0)
    years_of_supply = stock["on_hand"] / stock["sold"].clip(lower_bound=1)
    assert 0.02 < (years_of_supply > 1).mean() < 0.6  # some, not most, hold > a year of stock
    receipts = demo["receipts"].join(demo["products"].select("sku", "category"), on="sku")
    summer = receipts.filter(pl.col("category").is_in(["garden", "swimwear"]))
    month = pl.col("date").dt.month()
    before = summer.filter(month.is_in([2, 3, 4]))["qty"].sum()
    after = summer.filter(month.is_in([8, 9, 10]))["qty"].sum()
    assert before > 1.5 * after  # the pre-season buy arrives before the season


def test_locations_have_capacity_above_peak_stock(demo: dict[str, pl.DataFrame]) -> None:
    locations = demo["locations"]
    assert locations["location"].to_list() == ["online", "store_01", "store_02"]
    on_hand = demo["inventory"].group_by("location").agg(pl.col("on_hand").sum())
    joined = locations.join(on_hand, on="location")
    assert (joined["capacity_units"] >= joined["on_hand"]).all()
    assert (locations["capacity_volume"] > 0).all()


def test_locations_per_sku_controls_the_footprint() -> None:
    tables = generate_retailer(n_skus=400, n_locations=5, seed=2, days=120, locations_per_sku=2.0)
    per_sku = tables["inventory"].group_by("sku").len()["len"]
    assert per_sku.min() >= 1 and per_sku.max() <= 5
    assert 1.8 <= per_sku.mean() <= 2.2
    assert per_sku.len() == 400
    balance = stock_balance(tables)
    assert balance.height == tables["inventory"].height
    assert (balance["received"] - balance["sold"] == balance["on_hand"]).all()


def test_chunked_simulation_keeps_every_invariant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retailer_module, "_CHUNK_SKU_LOCATIONS", 250)
    tables = generate_retailer(n_skus=300, n_locations=3, seed=5, days=150)
    assert tables["products"]["sku"].is_unique().all()
    balance = stock_balance(tables)
    assert balance.height == 900
    assert (balance["received"] - balance["sold"] == balance["on_hand"]).all()
    assert (lowest_running_stock(tables)["lowest"] >= 0).all()
    assert tables["prices"].group_by("sku").len().height == 300


def test_single_location_is_main() -> None:
    tables = generate_retailer(n_skus=30, n_locations=1, days=90)
    assert tables["inventory"]["location"].unique().to_list() == [schema.DEFAULT_LOCATION]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_skus": 0}, "n_skus"),
        ({"n_locations": 0}, "n_locations"),
        ({"days": 10}, "days"),
        ({"n_locations": 3, "locations_per_sku": 4.0}, "locations_per_sku"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        generate_retailer(**kwargs)  # type: ignore[arg-type]


def _python_poisson_inversion(lam: float, w: float) -> int:
    """Oracle: smallest k with Poisson CDF(k; lam) ≥ w."""
    k, prob = 0, math.exp(-lam)
    cdf = prob
    while w > cdf and k < 200:
        k += 1
        prob *= lam / k
        cdf += prob
    return k


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(1e-4, 12.0), st.floats(1e-6, 1 - 1e-6)), min_size=1, max_size=40)
)
def test_poisson_inversion_matches_a_python_oracle(pairs: list[tuple[float, float]]) -> None:
    lam = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs])
    got = retailer_module._poisson_by_inversion(lam, w, np.random.default_rng(0))
    assert got.tolist() == [_python_poisson_inversion(a, b) for a, b in pairs]


# ---------------------------------------------------------------------------------------------
# Writing and defects
# ---------------------------------------------------------------------------------------------
def read_canonical_csv(path: Path, table: str) -> pl.DataFrame:
    spec = schema.INPUT_TABLES[table]
    header = pl.read_csv(path, n_rows=0).columns
    return pl.read_csv(path, schema_overrides={c: spec.column(c).dtype for c in header})


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_dataset_round_trips(
    tmp_path: Path, small: dict[str, pl.DataFrame], fmt: str
) -> None:
    paths = write_dataset(small, tmp_path / "data", fmt=fmt)
    assert set(paths) == set(small)
    for name, path in paths.items():
        assert path == tmp_path / "data" / f"{name}.{fmt}"
        back = read_canonical_csv(path, name) if fmt == "csv" else pl.read_parquet(path)
        assert back.equals(small[name]), name


def test_write_dataset_rejects_unknown_format(
    tmp_path: Path, small: dict[str, pl.DataFrame]
) -> None:
    with pytest.raises(ValueError, match="'fmt' parameter"):
        write_dataset(small, tmp_path, fmt="xlsx")


def test_dirty_parquet_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'dirty' parameter"):
        write_demo_data(tmp_path, n_skus=10, fmt="parquet")


def test_add_defects_appends_rows_and_leaves_clean_rows_untouched(
    tmp_path: Path, small: dict[str, pl.DataFrame]
) -> None:
    paths = write_dataset(small, tmp_path)
    before = {name: path.read_text(encoding="utf-8") for name, path in paths.items()}
    described = add_defects(tmp_path, seed=1)
    after = {name: path.read_text(encoding="utf-8") for name, path in paths.items()}
    for name in paths:
        assert after[name].startswith(before[name]), name
    added = {name: after[name][len(before[name]) :].splitlines() for name in paths}
    assert added["suppliers"] == [] and added["locations"] == [] and added["prices"] == []
    assert len(added["products"]) == len(HELPER_SKUS)
    assert len(described) == len(added["sales"]) - 1 + 2  # duplicate pair; 2 inventory defects

    sales_lines = added["sales"]
    assert any(UNKNOWN_SKU in line for line in sales_lines)
    assert any(",two," in line for line in sales_lines)
    assert any(line.startswith("2099-") for line in sales_lines)
    assert any(line.split(",")[1] == "" for line in sales_lines)  # blank sku
    assert any(",-" in line for line in sales_lines)  # negative price
    assert any(a == b for a, b in itertools.pairwise(sales_lines))  # duplicate
    slashed = [line.split(",")[0] for line in sales_lines if "/" in line.split(",")[0]]
    days_months = [tuple(int(part) for part in d.split("/")[:2]) for d in slashed]
    assert any(day > 12 for day, _ in days_months)  # unambiguous other format
    assert any(day <= 12 and month <= 12 and day != month for day, month in days_months)
    inventory_keys = [tuple(line.split(",")[0:3:2]) for line in added["inventory"]]
    assert len(inventory_keys) != len(set(inventory_keys))  # duplicate key
    assert any(line.split(",")[1] == "-3.0" for line in added["inventory"])
    assert all(
        line.count(",") == before["sales"].splitlines()[0].count(",") for line in sales_lines
    )

    # the generated SKU-locations still balance exactly when read back
    real = small["products"]["sku"].implode()
    reread = {
        name: pl.read_csv(paths[name], infer_schema=False)
        .filter(pl.col("sku").is_in(real))
        .with_columns(pl.col(column).cast(pl.Float64))
        for name, column in (("inventory", "on_hand"), ("sales", "qty"), ("receipts", "qty"))
    }
    columns = [*KEY, "on_hand", "received", "sold"]
    balance = stock_balance(reread).select(columns).sort(KEY)
    assert balance.equals(stock_balance(small).select(columns).sort(KEY))
    assert (balance["received"] - balance["sold"] == balance["on_hand"]).all()


def test_add_defects_is_deterministic(tmp_path: Path, small: dict[str, pl.DataFrame]) -> None:
    texts = []
    for folder in ("a", "b"):
        paths = write_dataset(small, tmp_path / folder)
        add_defects(tmp_path / folder, seed=4)
        texts.append({name: path.read_text(encoding="utf-8") for name, path in paths.items()})
    assert texts[0] == texts[1]


def test_add_defects_needs_the_csv_files(tmp_path: Path, small: dict[str, pl.DataFrame]) -> None:
    write_dataset(small, tmp_path, fmt="parquet")
    with pytest.raises(FileNotFoundError, match=r"sales\.csv"):
        add_defects(tmp_path)


def test_write_demo_data_writes_a_dirty_csv_folder(tmp_path: Path) -> None:
    paths = write_demo_data(tmp_path, n_skus=60, seed=2)
    assert {p.name for p in tmp_path.iterdir()} == {f"{name}.csv" for name in paths}
    assert UNKNOWN_SKU in paths["sales"].read_text(encoding="utf-8")
    clean = write_demo_data(tmp_path / "clean", n_skus=60, seed=2, fmt="parquet", dirty=False)
    assert pl.read_parquet(clean["sales"]).equals(generate_retailer(n_skus=60, seed=2)["sales"])
