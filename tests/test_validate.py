"""Validate: typed parsing, dates, business rules → rejects, counts and warnings (SPEC §2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from deadstock.config import Config
from deadstock.errors import InputError
from deadstock.schema import INPUT_TABLES, REJECTS
from deadstock.validate import ValidatedInput, load_inputs
from deadstock.validate.coerce import parse_bool, parse_number
from deadstock.validate.enums import VOUCHER_TYPE_SYNONYMS

TODAY = "2025-12-31"
SALES = "date,sku,qty\n2025-01-02,A,3\n"
INVENTORY = "sku,on_hand\nA,10\n"


def load(
    tmp_path: Path, settings: dict[str, object] | None = None, **tables: str
) -> ValidatedInput:
    """Write ``tables`` (name → CSV text; sales/inventory defaults) and load the folder."""
    tables.setdefault("sales", SALES)
    if "ledger" not in tables:
        tables.setdefault("inventory", INVENTORY)
    for name, text in tables.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    cfg = Config().with_values(today=TODAY, **(settings or {}))
    return load_inputs(tmp_path, cfg)


def rejects_of(result: ValidatedInput, table: str) -> list[tuple[int, str | None, str | None]]:
    frame = result.rejects.filter(pl.col("table") == table)
    return frame.select("row", "column", "value").rows()


def reasons_of(result: ValidatedInput, table: str) -> list[str]:
    return result.rejects.filter(pl.col("table") == table)["reason"].to_list()


# ----------------------------------------------------------------------------------------------
# result contract
# ----------------------------------------------------------------------------------------------
def test_result_contract_dtypes_counts_and_sources(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        products="sku,name,unit_cost,image_count,perishable,launch_date\n"
        "A,Lamp,2.5,3,yes,2024-01-01\nB,Bulb,x,1,no,2024-01-01\n",
        sales="date,sku,qty,location,revenue\n2025-01-02,A,3,,9.5\n2025-01-03,A,1,north,3\n",
    )
    for name, frame in result.tables.items():
        schema = INPUT_TABLES[name]
        for column, dtype in frame.schema.items():
            assert dtype == schema.column(column).dtype, (name, column)
        assert list(frame.columns) == [c for c in schema.names if c in frame.columns]
    assert result.rejects.schema == pl.Schema(REJECTS.polars_schema())
    assert result.tables["sales"]["location"].to_list() == ["main", "north"]
    assert result.tables["products"]["perishable"].to_list() == [True]
    for row in result.counts.iter_rows(named=True):
        assert row["read"] == row["accepted"] + row["rejected"]
    assert result.counts.filter(pl.col("table") == "products")["rejected"].item() == 1
    assert result.sources["products"] == [str(tmp_path / "products.csv")]
    assert result.as_of == dt.date(2025, 1, 3)


def test_location_default_setting(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        {"default_location": "store1"},
        sales="date,sku,qty,location\n2025-01-02,A,3, \n2025-01-02,A,4,north\n",
        receipts="date,sku,qty,location\n2025-01-01,A,5,\n2025-01-01,A,5,north\n",
        prices="date,sku,price,location\n2025-01-01,A,2,\n2025-01-01,A,3,north\n",
    )
    assert result.tables["inventory"]["location"].to_list() == ["store1"]
    assert result.tables["receipts"]["location"].to_list() == ["store1", "north"]
    assert result.tables["sales"]["location"].to_list() == ["store1", "north"]
    assert result.tables["prices"]["location"].to_list() == [None, "north"]  # blank = all


def test_prices_without_location_get_a_null_column(tmp_path: Path) -> None:
    result = load(tmp_path, prices="date,sku,price\n2025-01-01,A,2\n")
    assert result.tables["prices"]["location"].to_list() == [None]


def test_as_of_setting_and_rows_after_it(tmp_path: Path) -> None:
    sales = "date,sku,qty\n2025-01-02,A,3\n2025-03-01,A,1\n2025-04-01,A,1\n"
    result = load(tmp_path, {"as_of": "2025-02-01"}, sales=sales)
    assert result.as_of == dt.date(2025, 2, 1)
    assert result.tables["sales"].height == 3
    assert result.rejects.height == 0
    assert any(w.startswith("sales.csv: 2 row(s) dated after") for w in result.warnings)


def test_as_of_is_the_latest_date_including_inventory_and_ledger(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        inventory="sku,on_hand,as_of\nA,1,2025-05-05\n",
        receipts="date,sku,qty\n2025-04-01,A,5\n",
    )
    assert result.as_of == dt.date(2025, 5, 5)
    ledger = "date,sku,qty_change\n2025-06-06,A,4\n"
    (tmp_path / "inventory.csv").unlink()
    result = load(tmp_path, ledger=ledger)
    assert result.as_of == dt.date(2025, 6, 6)


# ----------------------------------------------------------------------------------------------
# coercion
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "decimal_comma", "expected"),
    [
        ("12", False, 12.0),
        (" -3.5 ", False, -3.5),
        ("1,234,567.25", False, 1234567.25),
        ("1 234.5", False, 1234.5),
        ("$12.50", False, 12.5),
        ("80%", False, 80.0),
        ("1e3", False, 1000.0),
        ("12,5", False, None),
        ("1,23", False, None),
        ("12.5.1", False, None),
        ("abc", False, None),
        ("1.234,5", True, 1234.5),
        ("12,5", True, 12.5),
        ("1.234.567", True, 1234567.0),
        ("1.5", True, None),
        ("€ 3,20", True, 3.2),
    ],
)
def test_parse_number(text: str, decimal_comma: bool, expected: float | None) -> None:
    out = pl.select(parse_number(pl.lit(text), decimal_comma)).item()
    assert out == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TRUE", True),
        ("yes", True),
        ("Y", True),
        ("1", True),
        ("false", False),
        ("n", False),
        ("0", False),
        ("No", False),
        ("maybe", None),
        ("2", None),
    ],
)
def test_parse_bool(text: str, expected: bool | None) -> None:
    assert pl.select(parse_bool(pl.lit(text))).item() == expected


def test_int_columns_accept_whole_decimals_only(tmp_path: Path) -> None:
    result = load(tmp_path, suppliers="supplier_id,lead_time_days\nS1,12.0\nS2,12.5\nS3,\n")
    assert result.tables["suppliers"]["lead_time_days"].to_list() == [12, None]
    assert rejects_of(result, "suppliers") == [(3, "lead_time_days", "12.5")]
    assert reasons_of(result, "suppliers") == ["not a whole number"]


def test_booleans_and_blanks(tmp_path: Path) -> None:
    result = load(tmp_path, products="sku,perishable,name\nA,Yes, \nB,n,x\nC,perhaps,y\n")
    products = result.tables["products"]
    assert products["perishable"].to_list() == [True, False]
    assert products["name"].to_list() == [None, "x"]
    assert rejects_of(result, "products") == [(4, "perishable", "perhaps")]


def test_non_numeric_and_nan_are_rejected(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        sales="date,sku,qty\n2025-01-02,A,3\n2025-01-02,B,three\n"
        "2025-01-03,C,NaN\n2025-01-04,D,inf\n",
    )
    assert [r[0] for r in rejects_of(result, "sales")] == [3, 4, 5]
    assert set(reasons_of(result, "sales")) == {"not a number"}


# ----------------------------------------------------------------------------------------------
# dates
# ----------------------------------------------------------------------------------------------
def sales_dates(*values: str) -> str:
    return "date,sku,qty\n" + "".join(f"{v},A{i},1\n" for i, v in enumerate(values))


def test_iso_variants_and_datetimes(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        sales=sales_dates(
            "2025-03-04",
            "2025/03/04",
            "20250304",
            "2025-03-04T10:30",
            "2025-03-04 10:30:00",
            "2025-3-4",
            "04.03.2025",
        ),
        settings={"reject_duplicate_rows": False},
    )
    assert result.tables["sales"]["date"].to_list() == [dt.date(2025, 3, 4)] * 7


def test_slash_dates_day_first_by_evidence(tmp_path: Path) -> None:
    result = load(tmp_path, sales=sales_dates("01/02/2025", "25/12/2024", "2025-01-05"))
    assert result.tables["sales"]["date"].to_list() == [
        dt.date(2025, 2, 1),
        dt.date(2024, 12, 25),
        dt.date(2025, 1, 5),
    ]


def test_slash_dates_month_first_by_evidence(tmp_path: Path) -> None:
    result = load(tmp_path, sales=sales_dates("01/02/2025", "12/25/2024", "02/30/2025"))
    assert result.tables["sales"]["date"].to_list() == [dt.date(2025, 1, 2), dt.date(2024, 12, 25)]
    assert rejects_of(result, "sales") == [(4, "date", "02/30/2025")]
    assert reasons_of(result, "sales") == [
        "not a date in YYYY-MM-DD (or the column's format MM/DD/YYYY)"
    ]


def test_mixed_day_and_month_first_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load(tmp_path, sales=sales_dates("25/12/2024", "12/25/2024"))
    assert err.value.column == "date" and "mixes" in err.value.message
    assert "row 2" in err.value.message and "row 3" in err.value.message


def test_ambiguous_date_column_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load(tmp_path, sales=sales_dates("01/02/2025", "03/04/2025", "2025-01-01"))
    e = err.value
    assert "ambiguous date format (01/02/2024 could be 1 Feb or 2 Jan)" in e.message
    assert e.fix is not None and "date_format = '%d/%m/%Y'" in e.fix
    assert e.file is not None and e.file.endswith("sales.csv")


def test_ambiguous_minority_rows_are_rejected(tmp_path: Path) -> None:
    result = load(tmp_path, sales=sales_dates("2025-01-01", "2025-01-02", "03/04/2025"))
    assert rejects_of(result, "sales") == [(4, "date", "03/04/2025")]
    assert reasons_of(result, "sales")[0].startswith("ambiguous date")


def test_minority_slash_dates_are_judged_one_by_one(tmp_path: Path) -> None:
    """In an ISO column, 30/11/2024 is read (day > 12) but 12/11/2025 stays ambiguous."""
    iso = [f"2025-01-{d:02d}" for d in range(1, 6)]
    result = load(tmp_path, sales=sales_dates(*iso, "30/11/2024", "12/11/2025", "05/05/2025"))
    assert result.tables["sales"]["date"].to_list()[-2:] == [
        dt.date(2024, 11, 30),
        dt.date(2025, 5, 5),
    ]
    assert rejects_of(result, "sales") == [(8, "date", "12/11/2025")]
    assert reasons_of(result, "sales")[0].startswith("ambiguous date (01/02/2024 could be")


def test_slash_dates_with_equal_parts_are_not_ambiguous(tmp_path: Path) -> None:
    result = load(tmp_path, sales=sales_dates("01/01/2025", "05/05/2025"))
    assert result.tables["sales"]["date"].to_list() == [dt.date(2025, 1, 1), dt.date(2025, 5, 5)]


def test_date_format_setting(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        {"date_format": "%d/%m/%Y"},
        sales=sales_dates("01/02/2025", "03/04/2025", "2025-05-06", "13/13/2025"),
    )
    assert result.tables["sales"]["date"].to_list() == [
        dt.date(2025, 2, 1),
        dt.date(2025, 4, 3),
        dt.date(2025, 5, 6),
    ]
    assert rejects_of(result, "sales") == [(5, "date", "13/13/2025")]
    assert "%d/%m/%Y" in reasons_of(result, "sales")[0]


def test_unparseable_dates_are_rejected(tmp_path: Path) -> None:
    result = load(tmp_path, sales=sales_dates("2025-01-01", "2025-02-30", "yesterday", "1/2/25"))
    assert [r[2] for r in rejects_of(result, "sales")] == ["2025-02-30", "yesterday", "1/2/25"]


# ----------------------------------------------------------------------------------------------
# business rules
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("table", "text", "column"),
    [
        ("sales", "date,sku,qty\n2025-01-01,,1\n", "sku"),
        ("sales", "date,sku,qty\n,A,1\n", "date"),
        ("sales", "date,sku,qty\n2025-01-01,A,\n", "qty"),
        ("inventory", "sku,on_hand\nA,\n", "on_hand"),
        ("products", "sku,name\n  ,x\n", "sku"),
        ("prices", "date,sku,price\n2025-01-01,A,\n", "price"),
        ("suppliers", "supplier_id,lead_time_days\n,3\n", "supplier_id"),
        ("locations", "location,capacity_units\n,3\n", "location"),
    ],
)
def test_missing_required_value(tmp_path: Path, table: str, text: str, column: str) -> None:
    tables = {table: text}
    if table == "sales":
        tables["inventory"] = INVENTORY
    if table == "inventory":
        tables["sales"] = SALES
    result = load(tmp_path, **tables)
    assert [(r[0], r[1]) for r in rejects_of(result, table)] == [(2, column)]
    assert reasons_of(result, table) == [f"missing value: {column} is required"]


NEGATIVE_CASES = [
    ("inventory", "sku,on_hand\nA,-1\n", "on_hand"),
    ("inventory", "sku,on_hand,unit_cost\nA,1,-2\n", "unit_cost"),
    ("inventory", "sku,on_hand,price\nA,1,-2\n", "price"),
    ("inventory", "sku,on_hand,reserved\nA,1,-2\n", "reserved"),
    ("inventory", "sku,on_hand,inbound\nA,1,-2\n", "inbound"),
    ("products", "sku,price\nA,-0.5\n", "price"),
    ("products", "sku,unit_cost\nA,-0.5\n", "unit_cost"),
    ("products", "sku,volume\nA,-0.5\n", "volume"),
    ("products", "sku,holding_cost_per_day\nA,-0.5\n", "holding_cost_per_day"),
    ("sales", "date,sku,qty,price\n2025-01-01,A,1,-3\n", "price"),
    ("receipts", "date,sku,qty,unit_cost\n2025-01-01,A,1,-3\n", "unit_cost"),
    ("receipts", "date,sku,qty,payment_days\n2025-01-01,A,1,-3\n", "payment_days"),
    ("prices", "date,sku,price\n2025-01-01,A,-3\n", "price"),
    (
        "ledger",
        "date,sku,qty_change,voucher_type,qty_after\n2025-01-01,A,0,count,-1\n",
        "qty_after",
    ),
    ("suppliers", "supplier_id,return_cost_per_unit\nS,-1\n", "return_cost_per_unit"),
    ("suppliers", "supplier_id,return_cap_units\nS,-1\n", "return_cap_units"),
    ("suppliers", "supplier_id,return_cap_value\nS,-1\n", "return_cap_value"),
    ("suppliers", "supplier_id,lead_time_days\nS,-1\n", "lead_time_days"),
    ("suppliers", "supplier_id,payment_days\nS,-1\n", "payment_days"),
    ("suppliers", "supplier_id,min_return_days\nS,-1\n", "min_return_days"),
    ("suppliers", "supplier_id,max_return_days\nS,-1\n", "max_return_days"),
    ("locations", "location,capacity_units\nL,-1\n", "capacity_units"),
    ("locations", "location,capacity_volume\nL,-1\n", "capacity_volume"),
]


@pytest.mark.parametrize(("table", "text", "column"), NEGATIVE_CASES)
def test_negative_not_allowed(tmp_path: Path, table: str, text: str, column: str) -> None:
    result = load(tmp_path, **{table: text})
    assert [(r[0], r[1]) for r in rejects_of(result, table)] == [(2, column)]
    assert reasons_of(result, table) == ["negative value: expected a number ≥ 0"]


def test_negative_sales_qty_and_revenue_are_returns(tmp_path: Path) -> None:
    result = load(tmp_path, sales="date,sku,qty,revenue\n2025-01-01,A,-2,-10\n")
    assert result.rejects.height == 0 and result.tables["sales"]["qty"].to_list() == [-2.0]


@pytest.mark.parametrize("qty", ["0", "-4"])
def test_receipt_qty_must_be_positive(tmp_path: Path, qty: str) -> None:
    result = load(tmp_path, receipts=f"date,sku,qty\n2025-01-01,A,5\n2025-01-02,A,{qty}\n")
    assert rejects_of(result, "receipts") == [(3, "qty", qty)]


@pytest.mark.parametrize(
    ("pct", "bad"), [("-1", True), ("0", False), ("100", False), ("100.5", True)]
)
def test_refund_pct_range(tmp_path: Path, pct: str, bad: bool) -> None:
    result = load(tmp_path, suppliers=f"supplier_id,refund_pct\nS,{pct}\n")
    assert rejects_of(result, "suppliers") == ([(2, "refund_pct", pct)] if bad else [])


def test_min_return_days_above_max(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        suppliers="supplier_id,min_return_days,max_return_days\nS1,10,90\nS2,90,30\nS3,30,30\n",
    )
    assert rejects_of(result, "suppliers") == [(3, "min_return_days", "90")]
    assert reasons_of(result, "suppliers") == [
        "min_return_days (90) is greater than max_return_days (30)"
    ]


def test_return_policy_and_status_values(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        suppliers="supplier_id,return_policy\nS1,Return\nS2, DESTROY\nS3,none\nS4,swap\nS5,\n",
        products="sku,status\nA,Active\nB,discontinued\nC,retired\n",
    )
    assert result.tables["suppliers"]["return_policy"].to_list() == [
        "return",
        "destroy",
        "none",
        None,
    ]
    assert rejects_of(result, "suppliers") == [(5, "return_policy", "swap")]
    assert result.tables["products"]["status"].to_list() == ["active", "discontinued"]
    assert rejects_of(result, "products") == [(4, "status", "retired")]


@pytest.mark.parametrize(("name", "expected"), sorted(VOUCHER_TYPE_SYNONYMS.items())[:60:3])
def test_voucher_type_synonyms_table(tmp_path: Path, name: str, expected: str) -> None:
    ledger = f"date,sku,qty_change,voucher_type,qty_after\n2025-01-01,A,5,{name.upper()},5\n"
    result = load(tmp_path, ledger=ledger)
    assert result.tables["ledger"]["voucher_type"].to_list() == [expected]


def test_voucher_types_erp_names_blank_and_unknown(tmp_path: Path) -> None:
    ledger = (
        "date,sku,qty_change,voucher_type,qty_after\n"
        "2025-01-01,A,10,Purchase Receipt,\n"
        "2025-01-02,A,-2,Sales Invoice,\n"
        "2025-01-02,A,-1,Delivery Note,\n"
        "2025-01-03,A,-1,POS Invoice,\n"
        "2025-01-03,A,-1,Material Issue,\n"
        "2025-01-04,A,-1,scrap,\n"
        "2025-01-04,A,-1,Material_Transfer,\n"
        "2025-01-05,A,0,Stock Reconciliation,4\n"
        "2025-01-06,A,3,,\n"
        "2025-01-06,A,-3,,\n"
        "2025-01-07,A,1,Gift,\n"
        "2025-01-08,A,,stock count,\n"
        "2025-01-09,A,,count,7\n"
    )
    result = load(tmp_path, ledger=ledger)
    assert result.tables["ledger"]["voucher_type"].to_list() == [
        "receipt",
        "sale",
        "sale",
        "sale",
        "issue",
        "issue",
        "transfer",
        "reconciliation",
        "receipt",
        "issue",
        "reconciliation",
    ]
    assert rejects_of(result, "ledger") == [(12, "voucher_type", "Gift"), (13, "qty_change", None)]
    assert result.tables["ledger"]["qty_change"].to_list()[-1] is None


def test_reconciliation_without_qty_after(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        ledger="date,sku,qty_change,voucher_type\n2025-01-01,A,5,receipt\n"
        "2025-01-02,A,-1,Stock Reconciliation\n",
    )
    assert [(r[0], r[1]) for r in rejects_of(result, "ledger")] == [(3, "qty_after")]
    assert "reconciliation without qty_after" in reasons_of(result, "ledger")[0]


def test_dates_in_the_future(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        sales="date,sku,qty\n2025-12-31,A,1\n2026-01-01,A,1\n",
        inventory="sku,on_hand,as_of\nA,1,2026-02-01\nB,1,2025-01-01\n",
        receipts="date,sku,qty\n2027-01-01,A,1\n",
        prices="date,sku,price\n2030-01-01,A,1\n",
    )
    for table, row, column in (
        ("sales", 3, "date"),
        ("inventory", 2, "as_of"),
        ("receipts", 2, "date"),
        ("prices", 2, "date"),
    ):
        assert [(r[0], r[1]) for r in rejects_of(result, table)] == [(row, column)]
    assert all("future" in r for r in result.rejects["reason"].to_list())


def test_future_uses_system_date_without_today_setting(tmp_path: Path) -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    (tmp_path / "sales.csv").write_text(f"date,sku,qty\n{dt.date.today()},A,1\n{tomorrow},A,2\n")
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    result = load_inputs(tmp_path, Config())
    assert rejects_of(result, "sales") == [(3, "date", tomorrow.isoformat())]


@pytest.mark.parametrize(
    ("table", "text", "rows"),
    [
        ("products", "sku,name\nA,x\nB,y\nA,z\nA,w\n", [(4, "A"), (5, "A")]),
        ("inventory", "sku,on_hand,location\nA,1,s1\nA,2,s2\nA,3,s1\n", [(4, "A / s1")]),
        ("inventory", "sku,on_hand\nA,1\nA,2\n", [(3, "A / main")]),
        ("suppliers", "supplier_id,lead_time_days\nS,1\nS,2\n", [(3, "S")]),
        ("locations", "location,capacity_units\nL,1\nM,1\nL,1\n", [(4, "L")]),
    ],
)
def test_duplicate_keys(tmp_path: Path, table: str, text: str, rows: list[tuple[int, str]]) -> None:
    result = load(tmp_path, **{table: text})
    assert [(r[0], r[2]) for r in rejects_of(result, table)] == rows
    first = 2
    assert all(f"first in row {first}" in r for r in reasons_of(result, table))


def test_inventory_key_includes_as_of_when_present(tmp_path: Path) -> None:
    result = load(
        tmp_path, inventory="sku,on_hand,as_of\nA,1,2025-01-01\nA,2,2025-02-01\nA,3,2025-02-01\n"
    )
    assert [r[0] for r in rejects_of(result, "inventory")] == [4]
    assert reasons_of(result, "inventory") == [
        "duplicate key (sku, location, as_of): first in row 3"
    ]


@pytest.mark.parametrize(
    ("table", "text"),
    [
        ("sales", "date,sku,qty\n2025-01-01,A,1\n2025-01-01,A,2\n2025-01-01,A,1.0\n"),
        ("receipts", "date,sku,qty\n2025-01-01,A,1\n2025-01-01,A,2\n2025-01-01,A,1.0\n"),
        ("ledger", "date,sku,qty_change\n2025-01-01,A,1\n2025-01-01,A,2\n2025-01-01,A,1.0\n"),
        ("prices", "date,sku,price\n2025-01-01,A,1\n2025-01-01,A,2\n2025-01-01,A,1.0\n"),
    ],
)
def test_exact_duplicate_rows(tmp_path: Path, table: str, text: str) -> None:
    result = load(tmp_path, **{table: text})
    assert rejects_of(result, table) == [(4, None, None)]
    assert reasons_of(result, table) == ["duplicate row: same values as row 2"]
    result = load(tmp_path, {"reject_duplicate_rows": False}, **{table: text})
    assert rejects_of(result, table) == []


def test_duplicate_check_ignores_rows_rejected_earlier(tmp_path: Path) -> None:
    result = load(tmp_path, products="sku,price\nA,-1\nA,2\n")
    assert [(r[0], r[1]) for r in rejects_of(result, "products")] == [(2, "price")]
    assert result.tables["products"]["price"].to_list() == [2.0]


def test_unknown_skus_in_every_table_that_names_one(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        products="sku\nA\n",
        inventory="sku,on_hand\nA,1\nZ,1\n",
        sales="date,sku,qty\n2025-01-01,A,1\n2025-01-01,Z,1\n",
        receipts="date,sku,qty\n2025-01-01,A,1\n2025-01-01,Z,1\n",
        ledger="date,sku,qty_change\n2025-01-01,A,1\n2025-01-01,Z,1\n",
        prices="date,sku,price\n2025-01-01,A,1\n2025-01-01,Z,1\n",
    )
    for table in ("inventory", "sales", "receipts", "ledger", "prices"):
        assert rejects_of(result, table) == [(3, "sku", "Z")], table
        assert reasons_of(result, table) == ["unknown SKU: not in products.csv"]


def test_unknown_sku_not_checked_without_products(tmp_path: Path) -> None:
    result = load(tmp_path, sales="date,sku,qty\n2025-01-01,Z,1\n")
    assert result.rejects.height == 0


def test_sale_larger_than_stock_ever_received(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        receipts="date,sku,qty,location\n2025-01-01,A,5,s1\n2025-02-01,A,5,s1\n"
        "2025-01-01,A,100,s2\n",
        sales="date,sku,qty,location\n2025-03-01,A,10,s1\n2025-03-02,A,11,s1\n"
        "2025-03-03,A,11,s2\n2025-03-04,B,2,s1\n2025-03-05,A,-20,s1\n2025-03-06,B,0,s1\n"
        "2025-03-07,A,1,s3\n",
    )
    # B@s1 and A@s3 received nothing: not judged (opening stock may predate the receipts), warned.
    assert rejects_of(result, "sales") == [(3, "qty", "11")]
    assert reasons_of(result, "sales") == [
        "sale of 11 units exceeds the 10 units ever received at this SKU-location",
    ]
    assert any(
        "2 sale row(s) at 2 SKU-location(s) that have no receipt" in w for w in result.warnings
    )


def test_sales_not_judged_when_no_receipt_was_accepted(tmp_path: Path) -> None:
    result = load(tmp_path, receipts="date,sku,qty\n2025-01-01,A,-5\n")
    assert rejects_of(result, "receipts") == [(2, "qty", "-5")]
    assert rejects_of(result, "sales") == []


def test_sale_larger_than_ledger_receipts(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        ledger="date,sku,qty_change\n2025-01-01,A,4\n2025-01-02,A,-3\n2025-01-03,A,2\n",
        sales="date,sku,qty\n2025-01-02,A,6\n2025-01-02,A,7\n",
    )
    assert rejects_of(result, "sales") == [(3, "qty", "7")]


def test_unknown_supplier_and_location_are_warnings(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        suppliers="supplier_id\nS1\n",
        locations="location\nmain\n",
        products="sku,supplier_id\nA,S1\nB,S9\n",
        receipts="date,sku,qty,supplier_id,location\n2025-01-01,A,5,S8,north\n",
        sales="date,sku,qty,location\n2025-01-02,A,3,north\n",
    )
    assert result.rejects.height == 0
    warned = " | ".join(result.warnings)
    assert "products.csv: 1 row(s) name a supplier_id not in suppliers.csv (e.g. 'S9')" in warned
    assert "receipts.csv: 1 row(s) name a supplier_id" in warned
    assert "receipts.csv: 1 row(s) name a location not in locations.csv" in warned
    assert "sales.csv: 1 row(s) name a location not in locations.csv (e.g. 'north')" in warned


def test_first_failing_check_wins(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        products="sku\nA\n",
        sales="date,sku,qty,price\n,ZZ,x,-1\n2099-01-01,ZZ,1,-1\n2099-01-01,ZZ,1,1\n",
    )
    assert [(r[0], r[1]) for r in rejects_of(result, "sales")] == [
        (2, "date"),
        (3, "price"),
        (4, "date"),
    ]
    assert result.rejects.height == 3


def test_reason_names_the_file_header_when_mapped(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text("date,sku,Units\n2025-01-01,A,x\n")
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    cfg = Config(values={"today": dt.date(2025, 12, 31)}, columns={"sales": {"qty": "Units"}})
    result = load_inputs(tmp_path, cfg)
    assert result.rejects["reason"].to_list() == ["not a number [file column 'Units']"]
    assert result.rejects["column"].to_list() == ["qty"]
