"""Typed parsing of raw columns into the canonical dtypes (SPEC §2), vectorised.

Text (every column of a CSV file, and any text column of Parquet/Excel) is parsed here; columns
that already hold the right kind of values (Parquet/Excel numbers, dates, booleans) pass through
with a cast, without a round trip through strings (the fast path).

- Numbers: surrounding spaces and currency signs ($ € £ ¥) and a trailing % are dropped; thousands
  separators (, or . opposite to the decimal mark, space, apostrophe) only in strict groups of three
  digits (``1,234,567.5``), so ``12,5`` in a decimal-point file is *not a number*; a decimal comma
  when detected or set (``decimal_comma``). NaN and infinity are not numbers.
- Whole numbers (Int64 columns) accept ``12.0`` but not ``12.5``.
- Booleans: true/false, 1/0, yes/no, y/n (any case).
- Dates: see :mod:`deadstock.validate.dates`.
- Text: surrounding spaces stripped (text files and Excel); blank = missing.

The raw text of every text-parsed column is kept as ``_raw_<column>`` so rejects show the value
exactly as read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from deadstock.config import Config
from deadstock.ingest.readers import RawTable
from deadstock.schema import INPUT_TABLES
from deadstock.validate.checks import Check, raw_name
from deadstock.validate.dates import plan_date_column

TRUE_WORDS = ("true", "1", "yes", "y")
FALSE_WORDS = ("false", "0", "no", "n")

_CURRENCY = r"^[$€£¥]\s*|\s*[$€£¥]$"
_GROUP_SEPARATORS = {
    False: (",", " ", "\u00a0", "\u202f", "'"),
    True: (".", " ", "\u00a0", "\u202f", "'"),
}


def _grouped_pattern(decimal_comma: bool) -> str:
    """Regex of a number written with a thousands separator in strict groups of three."""
    mark = "," if decimal_comma else r"\."
    alternatives = []
    for sep in _GROUP_SEPARATORS[decimal_comma]:
        sep_re = "\\." if sep == "." else sep
        alternatives.append(rf"^[+-]?\d{{1,3}}(?:{sep_re}\d{{3}})+(?:{mark}\d*)?$")
    return "|".join(alternatives)


def parse_number(text: pl.Expr, decimal_comma: bool = False) -> pl.Expr:
    """Text → Float64 (null where the text is not a number; NaN/inf kept for the caller)."""
    s = text.str.strip_chars().str.replace_all(_CURRENCY, "").str.strip_suffix("%")
    grouped = s.str.contains(_grouped_pattern(decimal_comma))
    separators = (
        "[" + "".join("\\." if c == "." else c for c in _GROUP_SEPARATORS[decimal_comma]) + "]"
    )
    s = pl.when(grouped).then(s.str.replace_all(separators, "")).otherwise(s)
    if decimal_comma:
        s = (
            pl.when(s.str.contains(".", literal=True))
            .then(pl.lit(None, dtype=pl.String))
            .otherwise(s.str.replace(",", ".", literal=True))
        )
    return s.cast(pl.Float64, strict=False)


def parse_bool(text: pl.Expr) -> pl.Expr:
    """Text → Boolean (null where not one of true/false, 1/0, yes/no, y/n)."""
    word = text.str.strip_chars().str.to_lowercase()
    return (
        pl.when(word.is_in(TRUE_WORDS))
        .then(pl.lit(True))
        .when(word.is_in(FALSE_WORDS))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, dtype=pl.Boolean))
    )


def plain_number(text: pl.Expr) -> pl.Expr:
    """Text → Float64 for plain numbers only (``-12.5``, ``1e3``): the fast path."""
    return text.str.strip_chars().cast(pl.Float64, strict=False)


def _blank_text(text: pl.Expr) -> pl.Expr:
    return text.is_null() | (text.str.strip_chars() == "")


def _number_name(column: str) -> str:
    return f"_number_{column}"


def _plain_number_columns(raw: RawTable, source: pl.Schema) -> set[str]:
    """Numeric columns written as text whose every value is a plain number (fast path).

    One pass counts, per column, the values a plain cast cannot read; columns with none skip the
    regular expressions of :func:`parse_number`. Never for decimal-comma files ("1.234" = 1234).
    """
    if raw.decimal_comma:
        return set()
    schema = INPUT_TABLES[raw.table]
    candidates = [
        c
        for c in schema.names
        if c in source
        and schema.column(c).dtype in (pl.Float64, pl.Int64)
        and not source[c].is_numeric()
        and source[c] != pl.Null
    ]
    if not candidates:
        return set()
    failures = (
        raw.frame.lazy()
        .select(
            (
                ~_blank_text(pl.col(c).cast(pl.String))
                & plain_number(pl.col(c).cast(pl.String)).is_null()
            )
            .sum()
            .alias(c)
            for c in candidates
        )
        .collect()
        .row(0, named=True)
    )
    return {c for c, count in failures.items() if count == 0}


@dataclass
class Coerced:
    """A table with typed canonical columns, plus the checks that parsing calls for."""

    frame: pl.LazyFrame
    """``_row``, typed canonical columns, ``_raw_<c>`` for text-parsed columns."""
    blank: dict[str, pl.Expr] = field(default_factory=dict)
    """column → expression true where the value is missing (null or blank)."""
    parse_checks: list[Check] = field(default_factory=list)
    """Values present but not of the column's type, in schema order."""


@dataclass
class _Steps:
    """Expressions collected column by column, applied in three ``with_columns`` steps."""

    keep_raw: list[pl.Expr] = field(default_factory=list)
    parsed: list[pl.Expr] = field(default_factory=list)
    typed: list[pl.Expr] = field(default_factory=list)
    blank: dict[str, pl.Expr] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)


def _text_column(steps: _Steps, name: str, dtype: pl.DataType, source_format: str) -> None:
    """A canonical String column (keys, names): stripped in text files, blank = missing."""
    col = pl.col(name)
    if dtype.is_float():  # Excel/Parquet numbers used as keys: 1001.0 → "1001"
        as_text = (
            pl.when(col == col.round(0))
            .then(col.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(col.cast(pl.String))
        )
    else:
        as_text = col.cast(pl.String)
    if source_format == "parquet":
        # Fast path: no string rebuild; blanks are nulled after the checks (rules.normalise).
        steps.typed.append(as_text.alias(name))
        steps.blank[name] = col.is_null() | (col.str.len_bytes() == 0)
        return
    stripped = as_text.str.strip_chars()
    steps.typed.append(pl.when(stripped == "").then(None).otherwise(stripped).alias(name))
    steps.blank[name] = col.is_null()
    if source_format == "csv":
        steps.keep_raw.append(col.alias(raw_name(name)))


def _passes_typed(dtype: pl.DataType, target: pl.DataType | type[pl.DataType]) -> bool:
    """True when a typed source column only needs a cast (no parsing of text)."""
    if target in (pl.Float64, pl.Int64):
        return dtype.is_numeric()
    if target == pl.Date:
        return dtype in (pl.Date, pl.Datetime)
    if target == pl.Boolean:
        return dtype == pl.Boolean or dtype.is_integer()
    return False


def _typed_column(
    steps: _Steps, name: str, dtype: pl.DataType, target: pl.DataType | type[pl.DataType]
) -> None:
    """A Parquet/Excel column of the right kind: cast, checking only what a cast can lose."""
    col, raw_col = pl.col(name), pl.col(raw_name(name))
    steps.blank[name] = col.is_null()
    if target == pl.Float64:
        steps.typed.append(col.cast(pl.Float64).alias(name))
        steps.checks.append(Check(name, ~col.is_finite(), "not a number (NaN or infinite)"))
    elif target == pl.Int64 and dtype.is_integer():
        steps.typed.append(col.cast(pl.Int64, strict=False).alias(name))
    elif target == pl.Int64:
        steps.keep_raw.append(col.alias(raw_name(name)))
        as_float = raw_col.cast(pl.Float64)
        whole = as_float.is_finite() & (as_float == as_float.round(0))
        steps.checks.append(Check(name, ~whole, "not a whole number"))
        steps.typed.append(pl.when(whole).then(as_float.cast(pl.Int64, strict=False)).alias(name))
    elif target == pl.Date:
        steps.typed.append((col if dtype == pl.Date else col.dt.date()).alias(name))
    elif dtype == pl.Boolean:
        steps.typed.append(col.alias(name))
    else:  # Boolean from integers 1/0
        steps.keep_raw.append(col.alias(raw_name(name)))
        flag = raw_col.is_in([0, 1])
        steps.checks.append(Check(name, ~flag, "expected 1 or 0 (true/false)"))
        steps.typed.append(pl.when(flag).then(raw_col == 1).alias(name))


def _parsed_column(
    steps: _Steps,
    name: str,
    target: pl.DataType | type[pl.DataType],
    raw: RawTable,
    config: Config,
    *,
    plain: bool,
) -> None:
    """A number, date or boolean written as text: parse it, check what did not parse."""
    raw_col, typed_col = pl.col(raw_name(name)), pl.col(name)
    steps.keep_raw.append(pl.col(name).cast(pl.String).alias(raw_name(name)))
    present = ~_blank_text(raw_col)
    steps.blank[name] = ~present
    if target == pl.Date:
        with_raw = raw.frame.lazy().with_columns(pl.col(name).cast(pl.String).alias(raw_name(name)))
        plan = plan_date_column(with_raw, raw_name(name), name, raw.path, config)
        steps.typed.append(plan.parse(raw_col).alias(name))
        for failed, reason in plan.failures(raw_col, typed_col):
            steps.checks.append(Check(name, present & failed, reason))
    elif target in (pl.Float64, pl.Int64):
        number = pl.col(_number_name(name))
        parse = plain_number(raw_col) if plain else parse_number(raw_col, raw.decimal_comma)
        steps.parsed.append(parse.alias(_number_name(name)))
        expected = "not a number"
        if raw.decimal_comma:
            expected += " (this file uses a decimal comma: 1.234,5)"
        steps.checks.append(Check(name, present & ~number.is_finite().fill_null(False), expected))
        if target == pl.Int64:
            whole = number == number.round(0)
            steps.checks.append(Check(name, present & ~whole, "not a whole number"))
            steps.typed.append(pl.when(whole).then(number.cast(pl.Int64, strict=False)).alias(name))
        else:
            steps.typed.append(number.alias(name))
    elif target == pl.Boolean:
        steps.typed.append(parse_bool(raw_col).alias(name))
        steps.checks.append(
            Check(name, present & typed_col.is_null(), "expected true/false, yes/no, y/n or 1/0")
        )


def coerce(raw: RawTable, config: Config) -> Coerced:
    """Type every canonical column of ``raw`` (SPEC §2 coercion rules, module docstring).

    Raises :class:`~deadstock.errors.InputError` for a date column whose format cannot be decided
    (ambiguous or mixed day-first/month-first dates).
    """
    source = raw.frame.schema
    plain_numbers = _plain_number_columns(raw, source)
    steps = _Steps()
    for column in INPUT_TABLES[raw.table].columns:
        name, target = column.name, column.dtype
        if name not in source:
            continue
        dtype = source[name]
        if target == pl.String:
            _text_column(steps, name, dtype, raw.format)
        elif dtype == pl.Null:  # an all-empty column of a typed file
            steps.typed.append(pl.lit(None, dtype=target).alias(name))
            steps.blank[name] = pl.col(name).is_null()
        elif _passes_typed(dtype, target):
            _typed_column(steps, name, dtype, target)
        else:
            _parsed_column(steps, name, target, raw, config, plain=name in plain_numbers)
    frame = raw.frame.lazy()
    for exprs in (steps.keep_raw, steps.parsed, steps.typed):
        if exprs:
            frame = frame.with_columns(exprs)
    return Coerced(frame, steps.blank, steps.checks)
