"""Reading and checking the decision parameter table: types, rows as a spreadsheet shows them,
every contradiction, notes, and the constraint inputs (supplier caps, keep list)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from deadstock.config import load_config
from deadstock.decide.params import (
    forced_actions,
    load_decision_inputs,
    read_keep_list,
    read_params,
    read_supplier_caps,
    validate_params,
)
from deadstock.errors import InputError
from deadstock.schema import DECISION_PARAMS

HEADER = (
    "sku,excess_units,price,expected_days_in_stock,current_days_in_stock,payment_days,"
    "financed_now,financed_future,holding_cost_per_day,unit_cost,return_eligible,return_price,"
    "return_cost,liquidation_price"
)
GOOD = "A,10,20,100,40,30,1,0,0.01,8,1,7,0.5,2"


def write(tmp_path: Path, *lines: str, header: str = HEADER, name: str = "params.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def load(path: Path, **kw: Any) -> pl.DataFrame:
    return validate_params(read_params(path), path, **kw)


def error_of(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load(path)
    return info.value


def test_good_file_is_typed_in_schema_order(tmp_path: Path) -> None:
    frame = load(write(tmp_path, GOOD, "B,5,10,,10,30,0,1,0.005,5,0,,,"))
    assert frame.columns == [c for c in DECISION_PARAMS.names if c in frame.columns]
    for name, dtype in frame.schema.items():
        assert dtype == DECISION_PARAMS.column(name).dtype, name
    assert frame["financed_future"].to_list() == [0, 1]
    assert frame["expected_days_in_stock"].to_list() == [100.0, 1095.0]
    assert frame["return_price"].to_list() == [7.0, None]


@pytest.mark.parametrize(
    ("line", "column", "text"),
    [
        ("A,10,-20,100,40,30,1,0,0.01,8,1,7,0.5,2", "price", "must be a number ≥ 0"),
        ("A,ten,20,100,40,30,1,0,0.01,8,1,7,0.5,2", "excess_units", "not a number"),
        ("A,10,20,100,40,30,1,1,0.01,8,1,7,0.5,2", "financed_future", "both 1"),
        ("A,10,20,100,40,30,2,0,0.01,8,1,7,0.5,2", "financed_now", "must be 0 or 1"),
        ("A,10,20,100,40,30,1,0,0.01,8,1,,0.5,2", "return_price", "return_price is blank"),
        ("A,10,20,100,40,30,1,0,0.01,,1,7,0.5,2", "unit_cost", "is blank"),
        ("A,10,20,100,40,30,1,0,-0.01,8,1,7,0.5,2", "holding_cost_per_day", "≥ 0"),
        ("A,10,20,-1,40,30,1,0,0.01,8,1,7,0.5,2", "expected_days_in_stock", "≥ 0"),
        (",10,20,100,40,30,1,0,0.01,8,1,7,0.5,2", "sku", "is blank"),
    ],
)
def test_bad_value_names_file_row_and_column(
    tmp_path: Path, line: str, column: str, text: str
) -> None:
    path = write(tmp_path, GOOD.replace("A,", "Z,", 1), line)
    error = error_of(path)
    assert error.row == 3  # header = row 1, first data row = row 2
    assert error.column == column
    assert error.file is not None and error.file.endswith("params.csv")
    assert text in error.message
    assert error.fix


def test_row_numbers_count_blank_lines_as_the_file_shows_them(tmp_path: Path) -> None:
    bad = GOOD.replace(",20,", ",-1,", 1).replace("A,", "C,", 1)
    path = write(tmp_path, GOOD, "", "B" + GOOD[1:], bad)
    assert error_of(path).row == 5


def test_missing_columns_are_all_listed(tmp_path: Path) -> None:
    header = HEADER.replace(",unit_cost", "").replace(",payment_days", "")
    path = write(tmp_path, "A,10,20,100,40,1,0,0.01,1,7,0.5,2", header=header)
    error = error_of(path)
    assert "payment_days" in error.message and "unit_cost" in error.message
    assert error.column == "payment_days"


def test_missing_columns_of_a_python_frame() -> None:
    with pytest.raises(InputError, match=r"price.*unit_cost"):
        validate_params(pl.DataFrame({"sku": ["A"], "excess_units": [1.0]}))


def test_duplicate_sku_names_both_rows(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, GOOD, "B" + GOOD[1:], GOOD))
    assert error.row == 4 and error.column == "sku" and "row 2" in error.message


def test_location_makes_the_key_sku_by_location(tmp_path: Path) -> None:
    header = HEADER + ",location"
    frame = load(write(tmp_path, GOOD + ",north", GOOD + ",south", header=header))
    assert frame["location"].to_list() == ["north", "south"]
    error = error_of(write(tmp_path, GOOD + ",north", GOOD + ",north", header=header))
    assert error.row == 3


def test_forced_actions_checked_against_the_row(tmp_path: Path) -> None:
    header = HEADER + ",forced_action"
    not_eligible = "B,10,20,100,40,30,1,0,0.01,8,0,,,2,return"
    error = error_of(write(tmp_path, GOOD + ",", not_eligible, header=header))
    assert (error.row, error.column) == (3, "forced_action")
    assert "contradictory" in error.message
    no_liquidator = "B,10,20,100,40,30,1,0,0.01,8,1,7,0.5,,liquidate"
    assert "liquidation_price" in error_of(write(tmp_path, no_liquidator, header=header)).fix
    unknown = error_of(write(tmp_path, GOOD + ",sell", header=header))
    assert "not an action" in unknown.message and "liquidate" in unknown.fix
    frame = load(write(tmp_path, GOOD + ",return", "B" + GOOD[1:] + ",", header=header))
    assert forced_actions(frame) == {"A": "return"}


def test_forced_actions_may_not_differ_between_locations(tmp_path: Path) -> None:
    header = HEADER + ",location,forced_action"
    path = write(tmp_path, GOOD + ",n,keep", GOOD + ",s,liquidate", header=header)
    assert "differs between the locations" in error_of(path).message


def test_flag_words_and_typed_files(tmp_path: Path) -> None:
    line = "A,10,20,100,40,30,yes,false,0.01,8,TRUE,7,0.5,2"
    frame = load(write(tmp_path, line))
    assert frame.select("financed_now", "financed_future", "return_eligible").row(0) == (1, 0, 1)
    typed = pl.read_csv(write(tmp_path, GOOD, "B,1,1,1,1,1,0,0,0,1,0,,,1"))
    typed.write_parquet(tmp_path / "p.parquet")
    typed.write_excel(tmp_path / "p.xlsx")
    for name in ("p.parquet", "p.xlsx"):
        got = load(tmp_path / name)
        assert got["sku"].to_list() == ["A", "B"] and got["financed_now"].to_list() == [1, 0]
    bad = typed.with_columns(pl.Series("price", [20.0, -5.0]))
    bad.write_parquet(tmp_path / "bad.parquet")
    error = error_of(tmp_path / "bad.parquet")
    assert (error.row, error.column) == (3, "price")


def test_python_frames_are_cast_and_numbered_like_a_csv() -> None:
    frame = pl.read_csv(f"{HEADER}\n{GOOD}\n".encode(), infer_schema=False)
    assert validate_params(frame)["price"].to_list() == [20.0]
    bad = pl.concat([frame, frame.with_columns(sku=pl.lit("B"), price=pl.lit("x"))])
    with pytest.raises(InputError) as info:
        validate_params(bad, "mine")
    assert (info.value.row, info.value.column, info.value.file) == (3, "price", "mine")
    floats = frame.with_columns(pl.col("financed_now").cast(pl.Float64) * 0.5)
    with pytest.raises(InputError, match="0 or 1"):
        validate_params(floats)
    nan = frame.with_columns(pl.lit(float("nan")).alias("unit_cost"))
    with pytest.raises(InputError, match="finite"):
        validate_params(nan)


def test_notes_default_days_and_inconsistent_financing(tmp_path: Path) -> None:
    rows = [
        GOOD,  # Dc 40 ≥ P 30 and Fc = 1: consistent
        "B,10,20,,40,30,1,0,0.01,8,1,7,0.5,2",  # blank De → 1,095
        "C,10,20,100,10,30,1,0,0.01,8,1,7,0.5,2",  # Fc = 1 but Dc 10 < P 30
        "D,10,20,100,10,300,0,1,0.01,8,1,7,0.5,2",  # Ff = 1 but P 300 > Dc + De = 110
        "E,10,20,100,10,30,0,0,0.01,8,1,7,0.5,2",  # neither, but P ≤ Dc + De
    ]
    notes: list[Any] = []
    frame = load(write(tmp_path, *rows), no_forecast_days=700.0, notes=notes)
    assert frame["expected_days_in_stock"][1] == 700.0
    codes = {n.code: n.rows for n in notes}
    assert codes == {"expected_days_defaulted": 1, "financing_flags_inconsistent": 3}
    text = next(n.message for n in notes if n.code == "financing_flags_inconsistent")
    assert "row 4, 5, 6" in text


def test_unknown_columns_are_ignored_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + ",hello", header=HEADER + ",comment")
    notes: list[Any] = []
    frame = validate_params(read_params(path, notes=notes), path)
    assert "comment" not in frame.columns
    assert any("comment" in n.message for n in notes)


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    assert "no data rows" in error_of(write(tmp_path)).message


def test_supplier_caps_and_keep_list(tmp_path: Path) -> None:
    caps = tmp_path / "caps.csv"
    caps.write_text("supplier_id,return_cap_units,refund_pct\nS1,100,x\nS2,,\n")
    frame = read_supplier_caps(caps)
    assert frame.columns == ["supplier_id", "return_cap_units", "return_cap_value"]
    assert frame["return_cap_units"].to_list() == [100.0, None]
    caps.write_text("supplier_id,return_cap_value\nS1,10\nS1,20\n")
    with pytest.raises(InputError, match="repeats") as info:
        read_supplier_caps(caps)
    assert info.value.row == 3
    caps.write_text("supplier_id,return_cap_units\nS1,-1\n")
    with pytest.raises(InputError, match="≥ 0"):
        read_supplier_caps(caps)
    caps.write_text("supplier_id,name\nS1,x\n")
    with pytest.raises(InputError, match="neither"):
        read_supplier_caps(caps)
    keep = tmp_path / "keep.csv"
    keep.write_text("sku,why\nA,\n B \nA,\n")
    assert read_keep_list(keep) == ("A", "B")
    keep.write_text("article\nA\n")
    with pytest.raises(InputError, match="sku"):
        read_keep_list(keep)


def test_load_decision_inputs_cross_checks(tmp_path: Path) -> None:
    config = load_config(None, [])
    params = write(tmp_path, GOOD)
    caps = tmp_path / "caps.csv"
    caps.write_text("supplier_id,return_cap_units\nS1,5\n")
    with pytest.raises(InputError, match="supplier_id"):
        load_decision_inputs(params, config, suppliers=caps)
    keep = tmp_path / "keep.csv"
    keep.write_text("sku\nA\nGHOST\n")
    with_supplier = write(tmp_path, GOOD + ",S9", header=HEADER + ",supplier_id")
    inputs = load_decision_inputs(with_supplier, config, suppliers=caps, keep_list=keep)
    assert inputs.keep_skus == ("A", "GHOST")
    assert {n.code: n.rows for n in inputs.notes} == {
        "suppliers_not_in_params": 1,
        "keep_list_not_in_params": 1,
    }
