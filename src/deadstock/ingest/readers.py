"""Readers: one file → a raw frame with canonical column names (SPEC §2).

``read_raw`` picks the reader from the file's content (Parquet/Excel magic bytes), else its
extension. Text files are read with every column as String, so nothing is coerced silently;
Parquet is scanned lazily and keeps its types (the fast path); Excel keeps calamine's types, with
schema inference over all rows so a late text cell never turns into a silent null.

Every frame carries ``_row``: the row number a spreadsheet user sees (header = row 1, first data
row = row 2). Blank rows of text and Excel files are dropped with a note and keep the numbering.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import polars as pl

from deadstock.config import Config
from deadstock.errors import InputError
from deadstock.ingest.files import EXCEL_EXTENSIONS, PARQUET_EXTENSIONS
from deadstock.ingest.headers import HeaderMap, check_required, map_headers
from deadstock.ingest.text import (
    decode_text,
    find_ragged_row,
    first_record,
    is_ragged_error,
    looks_decimal_comma,
    parse_header,
    read_csv_tolerant,
    sniff_delimiter,
)
from deadstock.schema import INPUT_TABLES

ROW = "_row"
"""Column holding the spreadsheet row number of each data row (header = row 1)."""

_MAGIC = ((b"PAR1", "parquet"), (b"PK\x03\x04", "excel"), (b"\xd0\xcf\x11\xe0", "excel"))
_NAMED_DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_NUMERIC = (pl.Float64, pl.Int64)


@dataclass
class RawTable:
    """One file read into canonical column names, before typing and validation."""

    table: str
    path: Path
    frame: pl.DataFrame
    """``_row`` plus the canonical columns the file holds (String for text files)."""
    rows: int
    """Data rows read (blank rows excluded)."""
    headers: dict[str, str]
    """canonical column → header as written in the file."""
    format: str
    """``csv``, ``parquet`` or ``excel``."""
    decimal_comma: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the file holds no data rows (0 bytes, header only, or blank rows only)."""
        return self.rows == 0

    @property
    def source_file(self) -> str:
        return self.path.name


def _sniff_format(path: Path, head: bytes) -> str:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    suffix = path.suffix.lower()
    if suffix in PARQUET_EXTENSIONS:
        return "parquet"
    if suffix in EXCEL_EXTENSIONS:
        return "excel"
    return "csv"


def read_raw(path: Path | str, table: str, config: Config) -> RawTable:
    """Read ``path`` as input table ``table``: canonical headers, ``_row`` numbers, notes.

    Raises :class:`InputError` for an unreadable file, a missing required column (when the file
    has data rows) or two headers mapping to one column. An empty file gives ``rows == 0``; the
    caller decides whether that is fatal.
    """
    path = Path(path)
    if table not in INPUT_TABLES:
        raise InputError(
            f"unknown table '{table}'.", file=path, fix=f"use one of: {', '.join(INPUT_TABLES)}."
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(
            f"cannot be opened ({exc.strerror}).",
            file=path,
            fix="check the path and the file's permissions.",
        ) from None
    kind = _sniff_format(path, head)
    if not head:
        return RawTable(table, path, pl.DataFrame(schema={ROW: pl.Int64}), 0, {}, kind)
    if kind == "parquet":
        return _read_parquet(path, table, config)
    if kind == "excel":
        return _read_excel(path, table, config)
    return _read_text(path, table, config)


def _finish(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    rows: int,
    source_names: list[str],
    headers: list[str],
    path: Path,
    table: str,
    config: Config,
    kind: str,
    notes: list[str],
) -> RawTable:
    """Map headers onto canonical names, check required columns and build the RawTable."""
    mapping: HeaderMap = map_headers(headers, table, config, path)
    notes.extend(mapping.notes)
    if rows > 0:
        check_required(mapping, headers, table, path)
    if mapping.unknown:
        notes.append(
            f"{path.name}: ignored column(s) not in the {table} table: "
            + ", ".join(f"'{h}'" for h in mapping.unknown)
            + " (map them in [columns."
            + table
            + "] of the config file if they should be used)."
        )
    by_header = dict(zip(headers, source_names, strict=True))
    selected = (
        frame.lazy()
        .select(
            pl.col(ROW).cast(pl.Int64),
            *(pl.col(by_header[src]).alias(canon) for canon, src in mapping.canonical.items()),
        )
        .collect(engine="streaming")  # Parquet: only the canonical columns are read
    )
    return RawTable(table, path, selected, rows, dict(mapping.canonical), kind, notes=notes)


def _drop_blank_rows(frame: pl.DataFrame, path: Path, notes: list[str]) -> pl.DataFrame:
    """Drop rows whose every cell is null or whitespace (row numbers are kept).

    Only rows whose first cell is blank are inspected further, so clean files cost one column.
    """
    cells = [c for c in frame.columns if c != ROW]
    if not cells:
        return frame

    def blank(column: str) -> pl.Expr:
        cell = pl.col(column)
        if frame.schema[column] == pl.String:
            return cell.is_null() | (cell.str.strip_chars() == "")
        return cell.is_null()

    candidates = frame.filter(blank(cells[0]))
    if candidates.height == 0:
        return frame
    rows = candidates.filter(pl.all_horizontal(blank(c) for c in cells))[ROW]
    if rows.len() == 0:
        return frame
    shown = ", ".join(str(r) for r in rows.head(5).to_list()) + (", …" if rows.len() > 5 else "")
    notes.append(f"{path.name}: skipped {rows.len()} blank row(s) (row {shown}).")
    return frame.filter(~pl.col(ROW).is_in(rows.implode()))


def _ragged(
    path: Path, delimiter: str, width: int, row: int | None, count: int | None
) -> InputError:
    return InputError(
        f"a row has {count or 'more'} fields but the header has {width} (delimiter {delimiter!r}).",
        file=path,
        row=row,
        fix="quote values that contain the delimiter, or set delimiter in [settings].",
    )


def _read_text_tolerant(text: str, delimiter: str, path: Path) -> pl.DataFrame:
    """The slow, tolerant CSV path (Python's csv module) for files Polars refuses."""
    try:
        _, columns = read_csv_tolerant(text, delimiter)
    except ValueError as exc:
        row, count, width = exc.args
        raise _ragged(path, delimiter, width, row, count) from None
    except csv.Error as exc:
        raise InputError(
            f"cannot be read as CSV ({exc}).",
            file=path,
            fix="check the quoting and the delimiter, or export it again.",
        ) from None
    return pl.DataFrame(
        {f"_h{j}": pl.Series(values, dtype=pl.String) for j, values in enumerate(columns)}
    )


def _read_text(path: Path, table: str, config: Config) -> RawTable:
    decoded = decode_text(path.read_bytes(), path, config.encoding)
    notes = list(decoded.notes)
    header_line = first_record(decoded.text)
    if not header_line.strip():
        return RawTable(
            table, path, pl.DataFrame(schema={ROW: pl.Int64}), 0, {}, "csv", notes=notes
        )
    delimiter = config.delimiter
    delimiter = _NAMED_DELIMITERS.get(delimiter.lower(), delimiter) if delimiter else None
    if delimiter is None:
        delimiter = sniff_delimiter(header_line)
    if len(delimiter) != 1:
        raise InputError(
            f"the delimiter setting must be one character. Got {delimiter!r}.",
            file=path,
            fix="set delimiter to one of , ; | or tab.",
        )
    headers = parse_header(header_line, delimiter)
    try:
        frame = pl.read_csv(
            decoded.utf8_bytes,
            separator=delimiter,
            has_header=True,
            infer_schema=False,
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        if is_ragged_error(exc):
            found = find_ragged_row(decoded.text, delimiter, len(headers))
            raise _ragged(path, delimiter, len(headers), *(found or (None, None))) from None
        frame = _read_text_tolerant(decoded.text, delimiter, path)
        notes.append(
            f"{path.name}: quote characters inside values; read with the slower tolerant CSV "
            f"parser (a quote counts only at the start of a value). Polars said: "
            f"{str(exc).splitlines()[0]}"
        )
    if len(headers) != frame.width:
        headers = frame.columns
    raw = _finish_sheet(frame, headers, path, table, config, "csv", notes)
    numeric = [c for c in raw.headers if INPUT_TABLES[table].column(c).dtype in _NUMERIC]
    if config.decimal_comma is not None:
        raw.decimal_comma = bool(config.decimal_comma)
    elif delimiter == ";" and raw.rows:
        raw.decimal_comma = looks_decimal_comma(raw.frame, numeric)
    return raw


def _finish_sheet(
    frame: pl.DataFrame,
    headers: list[str],
    path: Path,
    table: str,
    config: Config,
    kind: str,
    notes: list[str],
) -> RawTable:
    """A text grid read whole (CSV, Excel): positional names, row numbers, blank rows dropped."""
    names = [f"_c{i}" for i in range(frame.width)]
    frame = frame.rename(dict(zip(frame.columns, names, strict=True))).with_row_index(ROW, offset=2)
    frame = _drop_blank_rows(frame, path, notes)
    return _finish(
        frame,
        rows=frame.height,
        source_names=names,
        headers=headers,
        path=path,
        table=table,
        config=config,
        kind=kind,
        notes=notes,
    )


def _read_parquet(path: Path, table: str, config: Config) -> RawTable:
    fix = "export it again as Parquet, or as CSV."
    try:
        lazy = pl.scan_parquet(path)
        names = list(lazy.collect_schema().names())
        rows = int(lazy.select(pl.len()).collect().item())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(
            f"cannot be read as Parquet ({str(exc).splitlines()[0]}).", file=path, fix=fix
        ) from None
    lazy = lazy.with_row_index(ROW, offset=2)
    return _finish(
        lazy,
        rows=rows,
        source_names=names,
        headers=names,
        path=path,
        table=table,
        config=config,
        kind="parquet",
        notes=[],
    )


def _read_excel(path: Path, table: str, config: Config) -> RawTable:
    fix = "open it in Excel and save it again as .xlsx, or export the table as CSV."
    notes: list[str] = []
    try:
        sheets = list(fastexcel.read_excel(str(path)).sheet_names)
    except Exception as exc:  # fastexcel raises its own error classes
        raise InputError(
            f"cannot be read as an Excel workbook ({str(exc).splitlines()[0]}).",
            file=path,
            fix=fix,
        ) from None
    if not sheets:
        raise InputError("the workbook has no sheets.", file=path, fix=fix)
    sheet = next((s for s in sheets if s.strip().lower() == table), sheets[0])
    if len(sheets) > 1 and sheet.strip().lower() != table:
        notes.append(
            f"{path.name}: read the first sheet '{sheet}' of {len(sheets)}; name a sheet "
            f"'{table}' to choose another."
        )
    try:
        frame = pl.read_excel(
            path,
            sheet_name=sheet,
            engine="calamine",
            infer_schema_length=None,
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
        )
    except Exception as exc:  # calamine/fastexcel errors are not PolarsError subclasses
        raise InputError(
            f"sheet '{sheet}' cannot be read ({str(exc).splitlines()[0]}).", file=path, fix=fix
        ) from None
    raw = _finish_sheet(frame, list(frame.columns), path, table, config, "excel", notes)
    raw.decimal_comma = bool(config.decimal_comma)
    return raw
