"""Ingest: discovery, encodings, delimiters, decimal comma, Excel, Parquet, headers (SPEC §2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from deadstock.config import Config
from deadstock.errors import DeadstockError, InputError
from deadstock.ingest import discover_tables, normalise_header, read_raw
from deadstock.ingest.text import decode_text, read_csv_tolerant, sniff_delimiter
from deadstock.validate import load_inputs

TODAY = "2025-12-31"
SALES = "date,sku,qty\n2025-01-02,A,3\n2025-01-03,B,1.5\n"
INVENTORY = "sku,on_hand\nA,10\nB,4\n"


def config(**settings: object) -> Config:
    return Config().with_values(today=TODAY, **settings)


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def minimal(folder: Path, sales: str = SALES, inventory: str = INVENTORY) -> Path:
    write(folder, "sales.csv", sales)
    write(folder, "inventory.csv", inventory)
    return folder


# ----------------------------------------------------------------------------------------------
# discovery
# ----------------------------------------------------------------------------------------------
def test_discover_by_stem_case_insensitive_and_warns_on_other_files(tmp_path: Path) -> None:
    write(tmp_path, "Sales.CSV", SALES)
    write(tmp_path, "inventory.tsv", "sku\ton_hand\nA\t1\n")
    write(tmp_path, "README.md", "hello")
    write(tmp_path, "orders.csv", SALES)
    write(tmp_path, "prices.json", "{}")
    notes: list[str] = []
    found = discover_tables(tmp_path, config(), None, notes)
    assert found == {"inventory": tmp_path / "inventory.tsv", "sales": tmp_path / "Sales.CSV"}
    assert any("README.md" in n for n in notes)
    assert any("orders.csv" in n and "not a table name" in n for n in notes)
    assert any("prices.json" in n and "unsupported" in n for n in notes)


def test_two_files_for_one_table_is_an_error_naming_both(tmp_path: Path) -> None:
    write(tmp_path, "sales.csv", SALES)
    pl.DataFrame({"date": [dt.date(2025, 1, 1)], "sku": ["A"], "qty": [1.0]}).write_parquet(
        tmp_path / "sales.parquet"
    )
    with pytest.raises(InputError) as err:
        discover_tables(tmp_path, config())
    assert "sales.csv" in str(err.value) and "sales.parquet" in str(err.value)


def test_explicit_and_config_tables_override_the_folder(tmp_path: Path) -> None:
    minimal(tmp_path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    orders = write(other, "orders_2025.csv", "date,sku,qty\n2025-02-01,A,7\n")
    counts = write(other, "stock.csv", "sku,on_hand\nA,99\n")
    cfg = Config(values={"today": dt.date(2025, 12, 31)}, tables={"inventory": counts})
    found = discover_tables(tmp_path, cfg, {"sales": orders})
    assert found["sales"] == orders and found["inventory"] == counts
    result = load_inputs(tmp_path, cfg, {"sales": orders})
    assert result.tables["sales"]["qty"].to_list() == [7.0]
    assert result.tables["inventory"]["on_hand"].to_list() == [99.0]
    assert result.sources["sales"] == [str(orders)]


@pytest.mark.parametrize(
    ("explicit", "message"),
    [({"orders": "x.csv"}, "unknown table"), ({"sales": "missing.csv"}, "not found")],
)
def test_bad_explicit_paths(tmp_path: Path, explicit: dict[str, str], message: str) -> None:
    minimal(tmp_path)
    paths = {k: tmp_path / v for k, v in explicit.items()}
    with pytest.raises(InputError, match=message):
        discover_tables(tmp_path, config(), paths)


def test_data_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_inputs(tmp_path / "nope", config())


# ----------------------------------------------------------------------------------------------
# required tables and columns
# ----------------------------------------------------------------------------------------------
def test_missing_required_table_says_which_file_to_add(tmp_path: Path) -> None:
    write(tmp_path, "inventory.csv", INVENTORY)
    with pytest.raises(InputError) as err:
        load_inputs(tmp_path, config())
    assert "add sales.csv (columns date, sku, qty)" in str(err.value)
    assert err.value.exit_code == 2


def test_missing_one_of_inventory_or_ledger(tmp_path: Path) -> None:
    write(tmp_path, "sales.csv", SALES)
    with pytest.raises(InputError) as err:
        load_inputs(tmp_path, config())
    text = str(err.value)
    assert "inventory.csv (columns sku, on_hand)" in text
    assert "ledger.csv (columns date, sku, qty_change)" in text


def test_required_lists_are_parameters(tmp_path: Path) -> None:
    write(tmp_path, "inventory.csv", INVENTORY)
    result = load_inputs(tmp_path, config(), required=(), required_one_of=())
    assert set(result.tables) == {"inventory"}


def test_missing_required_column_names_file_column_and_found_columns(tmp_path: Path) -> None:
    minimal(tmp_path, sales="date,sku,units\n2025-01-01,A,1\n")
    with pytest.raises(InputError) as err:
        load_inputs(tmp_path, config())
    e = err.value
    assert e.column == "qty" and e.file is not None and e.file.endswith("sales.csv")
    assert "date, sku, units" in e.message
    assert e.fix is not None and "[columns.sales]" in e.fix


def test_column_mapping_from_config_and_header_normalisation(tmp_path: Path) -> None:
    minimal(
        tmp_path,
        sales="Day,Article,Units sold\n2025-01-01,A,2\n",
        inventory=" SKU ,On-Hand,Unit Cost\nA,3,1.5\n",
    )
    cfg = Config(
        values={"today": dt.date(2025, 12, 31)},
        columns={"*": {"sku": "Article"}, "sales": {"qty": "Units sold", "date": "Day"}},
    )
    result = load_inputs(tmp_path, cfg)
    assert result.tables["sales"].columns == ["date", "sku", "qty", "location"]
    assert result.tables["sales"]["sku"].to_list() == ["A"]
    assert result.tables["inventory"].columns == ["sku", "on_hand", "location", "unit_cost"]


def test_two_headers_for_one_column_is_an_error(tmp_path: Path) -> None:
    minimal(tmp_path, inventory="sku,On Hand,on_hand\nA,1,2\n")
    with pytest.raises(InputError, match="both map"):
        load_inputs(tmp_path, config())


def test_explicit_mapping_wins_over_a_header_with_the_canonical_name(tmp_path: Path) -> None:
    minimal(tmp_path, inventory="sku,Article,on_hand\nX1,A,2\n")
    cfg = Config(values={"today": dt.date(2025, 12, 31)}, columns={"inventory": {"sku": "Article"}})
    result = load_inputs(tmp_path, cfg)
    assert result.tables["inventory"]["sku"].to_list() == ["A"]
    assert any("'sku' ignored" in w for w in result.warnings)


def test_unknown_columns_give_one_warning_per_file(tmp_path: Path) -> None:
    minimal(tmp_path, sales="date,sku,qty,colour,size\n2025-01-01,A,1,red,M\n")
    result = load_inputs(tmp_path, config())
    mentions = [w for w in result.warnings if w.startswith("sales.csv") and "colour" in w]
    assert len(mentions) == 1 and "size" in mentions[0]
    assert "colour" not in result.tables["sales"].columns


@pytest.mark.parametrize(
    ("header", "expected"),
    [("On Hand", "on_hand"), ("  Unit-Cost ", "unit_cost"), ("QTY", "qty"), ("\ufeffsku", "sku")],
)
def test_normalise_header(header: str, expected: str) -> None:
    assert normalise_header(header) == expected


# ----------------------------------------------------------------------------------------------
# encodings and delimiters
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")],
)
def test_byte_order_marks(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    text = "sku,name\nA,Crème brûlée\nB,Ærø\n"
    (tmp_path / "products.csv").write_bytes(prefix + text.encode(encoding))
    raw = read_raw(tmp_path / "products.csv", "products", config())
    frame = raw.frame
    assert frame["sku"].to_list() == ["A", "B"]
    assert frame["name"].to_list() == ["Crème brûlée", "Ærø"]


def test_cp1252_fallback_is_read_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "sales.csv", SALES)
    write(tmp_path, "inventory.csv", INVENTORY)
    write(tmp_path, "products.csv", "sku,name\nA,Café – “déjà”\nB,x\n", encoding="cp1252")
    result = load_inputs(tmp_path, config())
    assert result.tables["products"]["name"].to_list()[0] == "Café – “déjà”"
    assert any(w.startswith("products.csv") and "cp1252" in w for w in result.warnings)


def test_utf16_without_bom_is_detected(tmp_path: Path) -> None:
    (tmp_path / "inventory.csv").write_bytes("sku,on_hand\nA,3\n".encode("utf-16-le"))
    raw = read_raw(tmp_path / "inventory.csv", "inventory", config())
    assert raw.frame["on_hand"].to_list() == ["3"]


def test_encoding_setting_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "products.csv", "sku,name\nA,Ñandú\n", encoding="latin-1")
    raw = read_raw(path, "products", config(encoding="latin-1"))
    assert raw.frame["name"].to_list() == ["Ñandú"]
    assert not raw.notes
    with pytest.raises(InputError, match="utf-16"):
        read_raw(path, "products", config(encoding="utf-16"))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    text = SALES.replace(",", delimiter)
    minimal(tmp_path, sales=text)
    result = load_inputs(tmp_path, config())
    sales = result.tables["sales"]
    assert sales["qty"].to_list() == [3.0, 1.5]
    assert sales["date"].to_list() == [dt.date(2025, 1, 2), dt.date(2025, 1, 3)]


def test_delimiter_setting_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "products.csv", "sku;name, long\nA;b,c\n")
    with pytest.raises(InputError, match="delimiter"):  # sniffed ',': header 'sku;name' has no sku
        read_raw(path, "products", config())
    raw = read_raw(path, "products", config(delimiter=";"))
    assert raw.frame["sku"].to_list() == ["A"]
    with pytest.raises(InputError, match="delimiter"):
        read_raw(
            write(tmp_path, "inventory.csv", "sku;on_hand\nA;1\n"),
            "inventory",
            config(delimiter="|"),
        )


def test_windows_line_endings(tmp_path: Path) -> None:
    minimal(tmp_path, sales="date,sku,qty\r\n2025-01-01,A,1\r\n2025-01-02,B,x\r\n")
    result = load_inputs(tmp_path, config())
    assert result.tables["sales"]["qty"].to_list() == [1.0]
    assert result.rejects.select("row", "value").rows() == [(3, "x")]


def test_sniff_delimiter_ignores_quoted_text() -> None:
    assert sniff_delimiter('"a,b,c";d;e') == ";"
    assert sniff_delimiter("sku") == ","


def test_quotes_keep_delimiters_and_doubled_quotes(tmp_path: Path) -> None:
    path = write(tmp_path, "products.csv", 'sku,name\nA,"12"", bolt, steel"\nB,"two\nlines"\n')
    frame = read_raw(path, "products", config()).frame
    assert frame["name"].to_list() == ['12", bolt, steel', "two\nlines"]


def test_stray_quotes_are_read_by_the_tolerant_parser(tmp_path: Path) -> None:
    path = write(tmp_path, "products.csv", 'sku,name\nA,12" bolt\n\n"C","a ""b"" c"\n')
    raw = read_raw(path, "products", config())
    assert raw.frame.rows() == [(2, "A", '12" bolt'), (4, "C", 'a "b" c')]
    assert any("tolerant CSV parser" in n for n in raw.notes)
    bad = write(tmp_path, "inventory.csv", 'sku,on_hand\nA,1"\nB,2,3\n')
    with pytest.raises(InputError) as err:
        read_raw(bad, "inventory", config())
    assert err.value.row == 3
    assert read_csv_tolerant('a,b\n1,"x""y"\n\n3\n', ",") == (
        ["a", "b"],
        [["1", None, "3"], ['x"y', None, None]],
    )
    with pytest.raises(ValueError, match=r"\(3, 3, 2\)"):
        read_csv_tolerant("a,b\n1,2\n1,2,3\n", ",")


def test_decimal_comma_detected_in_semicolon_files(tmp_path: Path) -> None:
    minimal(
        tmp_path,
        inventory="sku;on_hand;unit_cost\nA;1.234,5;2,50\nB;12;0,5\n",
    )
    inv = load_inputs(tmp_path, config()).tables["inventory"]
    assert inv["on_hand"].to_list() == [1234.5, 12.0]
    assert inv["unit_cost"].to_list() == [2.5, 0.5]


def test_decimal_comma_setting_overrides(tmp_path: Path) -> None:
    minimal(tmp_path, inventory="sku;on_hand\nA;1,5\nB;2.5\n")
    result = load_inputs(tmp_path, config(decimal_comma=False))
    assert result.tables["inventory"]["on_hand"].to_list() == [2.5]
    rejects = result.rejects.filter(pl.col("table") == "inventory")
    assert rejects.select("row", "column", "value").rows() == [(2, "on_hand", "1,5")]


def test_thousands_separators_only_when_unambiguous(tmp_path: Path) -> None:
    minimal(tmp_path, inventory='sku,on_hand\nA,"1,234.5"\nB,"12,5"\nC,1 000\n')
    result = load_inputs(tmp_path, config())
    assert result.tables["inventory"]["on_hand"].to_list() == [1234.5, 1000.0]
    rejects = result.rejects
    assert rejects.select("row", "value", "reason").rows() == [(3, "12,5", "not a number")]


# ----------------------------------------------------------------------------------------------
# empty, corrupt and odd files
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"date,sku,qty\n", b"date,sku,qty\n\n  \n"])
def test_empty_required_table_is_fatal(tmp_path: Path, content: bytes) -> None:
    minimal(tmp_path)
    (tmp_path / "sales.csv").write_bytes(content)
    with pytest.raises(InputError) as err:
        load_inputs(tmp_path, config())
    assert "has no data rows" in str(err.value) and "sales.csv" in str(err.value)


def test_empty_optional_table_is_a_warning(tmp_path: Path) -> None:
    minimal(tmp_path)
    write(tmp_path, "prices.csv", "date,sku,price\n")
    result = load_inputs(tmp_path, config())
    assert "prices" not in result.tables
    assert any(w.startswith("prices.csv") and "no data rows" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("sales.parquet", b"PAR1 this is not really parquet", "Parquet"),
        ("sales.xlsx", b"PK\x03\x04 broken zip", "Excel"),
        ("sales.csv", bytes(range(256)) * 4, "not a text file"),
    ],
)
def test_corrupt_files_raise_input_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    write(tmp_path, "inventory.csv", INVENTORY)
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        load_inputs(tmp_path, config())
    assert name in str(err.value)
    assert err.value.fix


def test_row_with_too_many_fields_names_the_row(tmp_path: Path) -> None:
    minimal(tmp_path, sales="date,sku,qty\n2025-01-01,A,1\n2025-01-02,B,1,5\n")
    with pytest.raises(InputError) as err:
        load_inputs(tmp_path, config())
    assert err.value.row == 3


def test_blank_lines_are_skipped_and_row_numbers_kept(tmp_path: Path) -> None:
    minimal(tmp_path, sales="date,sku,qty\n2025-01-01,A,1\n\n,,\n2025-01-02,B,x\n")
    result = load_inputs(tmp_path, config())
    assert result.rejects.select("row", "value").rows() == [(5, "x")]
    assert any("skipped 2 blank row(s)" in w for w in result.warnings)
    counts = result.counts.filter(pl.col("table") == "sales").row(0, named=True)
    assert (counts["read"], counts["accepted"], counts["rejected"]) == (2, 1, 1)


def test_decode_text_rejects_undecodable_with_setting(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        decode_text(b"\xff\xfe\x00", tmp_path / "x.csv", "ascii")


# ----------------------------------------------------------------------------------------------
# Parquet and Excel
# ----------------------------------------------------------------------------------------------
def test_parquet_is_read_typed(tmp_path: Path) -> None:
    write(tmp_path, "inventory.csv", INVENTORY)
    pl.DataFrame(
        {
            "Date": [dt.datetime(2025, 1, 1, 13, 0), dt.datetime(2025, 1, 2)],
            "SKU": pl.Series(["A", "B"], dtype=pl.Categorical),
            "qty": pl.Series([3, -1], dtype=pl.Int32),
            "price": pl.Series([2.5, -1.0], dtype=pl.Float32),
        }
    ).write_parquet(tmp_path / "sales.parquet")
    result = load_inputs(tmp_path, config())
    sales = result.tables["sales"]
    assert sales.schema == pl.Schema(
        {
            "date": pl.Date,
            "sku": pl.String,
            "qty": pl.Float64,
            "location": pl.String,
            "price": pl.Float64,
        }
    )
    assert sales.row(0) == (dt.date(2025, 1, 1), "A", 3.0, "main", 2.5)
    assert result.rejects.select("row", "column", "value").rows() == [(3, "price", "-1.0")]


def test_parquet_text_dates_and_float_ints(tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "sku": ["A", "B", "C"],
            "on_hand": [1.0, 2.0, 3.0],
            "as_of": ["2025-03-01", "01.03.2025", "2025-02-30"],
        }
    ).write_parquet(tmp_path / "inventory.parquet")
    pl.DataFrame({"supplier_id": ["S1", "S2"], "lead_time_days": [7.0, 7.5]}).write_parquet(
        tmp_path / "suppliers.parquet"
    )
    write(tmp_path, "sales.csv", SALES)
    result = load_inputs(tmp_path, config())
    assert result.tables["inventory"]["as_of"].to_list() == [dt.date(2025, 3, 1)] * 2
    assert result.tables["suppliers"]["lead_time_days"].to_list() == [7]
    assert sorted(result.rejects["reason"].to_list()) == [
        "not a date in YYYY-MM-DD (or the column's format)",
        "not a whole number",
    ]


def test_excel_written_by_polars(tmp_path: Path) -> None:
    write(tmp_path, "inventory.csv", INVENTORY)
    frame = pl.DataFrame(
        {"Date": [dt.date(2025, 1, 1), dt.date(2025, 1, 2)], "SKU": ["A", "B"], "Qty": [3, 2]}
    )
    frame.write_excel(tmp_path / "sales.xlsx", worksheet="sales")
    result = load_inputs(tmp_path, config())
    sales = result.tables["sales"]
    assert sales["date"].to_list() == [dt.date(2025, 1, 1), dt.date(2025, 1, 2)]
    assert sales["qty"].to_list() == [3.0, 2.0]


def test_excel_sheet_named_like_the_table_and_mixed_columns(tmp_path: Path) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    write(tmp_path, "inventory.csv", INVENTORY)
    book = xlsxwriter.Workbook(str(tmp_path / "sales.xlsx"))
    first = book.add_worksheet("Notes")
    first.write_row(0, 0, ["not", "this"])
    sheet = book.add_worksheet("Sales")
    fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["date", "sku", "qty"])
    for i in range(1, 150):
        sheet.write_datetime(i, 0, dt.datetime(2025, 1, 1) + dt.timedelta(days=i % 20), fmt)
        sheet.write(i, 1, f"S{i}")
        sheet.write(i, 2, i)
    sheet.write_datetime(150, 0, dt.datetime(2025, 2, 1), fmt)
    sheet.write(150, 1, "S150")
    sheet.write(150, 2, "lots")
    book.close()
    result = load_inputs(tmp_path, config())
    assert result.tables["sales"].height == 149
    assert result.rejects.select("row", "column", "value").rows() == [(151, "qty", "lots")]
    assert not any("first sheet" in w for w in result.warnings)


def test_excel_uses_first_sheet_with_a_note(tmp_path: Path) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    book = xlsxwriter.Workbook(str(tmp_path / "inventory.xlsx"))
    for name in ("Stock", "Other"):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, ["sku", "on_hand"])
        sheet.write_row(1, 0, ["A" if name == "Stock" else "Z", 5])
    book.close()
    raw = read_raw(tmp_path / "inventory.xlsx", "inventory", config())
    assert raw.frame["sku"].to_list() == ["A"]
    assert any("first sheet 'Stock'" in n for n in raw.notes)


def test_format_is_sniffed_from_content(tmp_path: Path) -> None:
    pl.DataFrame({"sku": ["A"], "on_hand": [2.0]}).write_parquet(tmp_path / "inventory.csv")
    raw = read_raw(tmp_path / "inventory.csv", "inventory", config())
    assert raw.format == "parquet"


def test_every_failure_is_a_deadstock_error(tmp_path: Path) -> None:
    """Broken inputs end in DeadstockError (a one-line message), never a bare traceback."""
    cases = [
        ("sales.csv", b"\x00\x01\x02garbage"),
        ("sales.csv", b"date;sku;qty\n01/02/2025;A;1\n"),
        ("sales.parquet", b"PAR1garbage"),
        ("sales.xls", b"\xd0\xcf\x11\xe0garbage"),
        ("sales.csv", b"a,b\n1,2\n"),
    ]
    for name, content in cases:
        folder = tmp_path / name.replace(".", "_") / str(len(content))
        folder.mkdir(parents=True)
        write(folder, "inventory.csv", INVENTORY)
        (folder / name).write_bytes(content)
        with pytest.raises(InputError) as err:
            load_inputs(folder, config())
        assert isinstance(err.value, DeadstockError) and err.value.exit_code == 2
        assert name in err.value.one_line() and "\n" not in err.value.one_line()
