"""Date columns written as text: decide the column's format, then parse it (SPEC §2).

With the setting ``date_format`` every value must match it (ISO dates are accepted too).
Otherwise, per column:

- ISO ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYYMMDD`` and ISO date-times (``YYYY-MM-DDTHH:MM[:SS]``,
  ``YYYY-MM-DD HH:MM:SS``, time dropped) are unambiguous;
- ``DD.MM.YYYY`` is day-first;
- slash (or dash) dates ``a/b/YYYY``: a first part > 12 is evidence of day-first, a second part
  > 12 of month-first; evidence of both in one column → the column mixes formats
  (:class:`InputError`). A value whose parts are both ≤ 12 and differ (01/02/2024) is
  *ambiguous*; equal parts (05/05/2024) are not.

  - When slash dates are the majority of the column's values, the evidence decides the order of
    every slash date; no evidence while ambiguous values exist → :class:`InputError` ("ambiguous
    date format").
  - When they are a minority in an otherwise ISO column, each is judged alone: unambiguous values
    are read (in the order the evidence shows), ambiguous ones are rejected as ambiguous.

A value that matches none of the column's formats, or names no real day (2024-02-30), is a reject.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from deadstock.config import Config
from deadstock.errors import InputError
from deadstock.ingest.readers import ROW

_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?(?:Z|[+-]\d{2}:?\d{2}|[AaPp][Mm]))?)?"
_SPACE_TIME = r"(?:\s+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?[AaPp][Mm])?)?"
ISO_RE = rf"^(?P<y>\d{{4}})[-/](?P<m>\d{{1,2}})[-/](?P<d>\d{{1,2}}){_TIME}$"
COMPACT_RE = r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"
DOTTED_RE = rf"^(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})\.(?P<y>\d{{4}}){_SPACE_TIME}$"
SLASH_RE = rf"^(?P<a>\d{{1,2}})[/-](?P<b>\d{{1,2}})[/-](?P<y>\d{{4}}){_SPACE_TIME}$"

AMBIGUOUS_EXAMPLE = "01/02/2024 could be 1 Feb or 2 Jan"
_FIX = "set date_format = '%d/%m/%Y' (or '%m/%d/%Y') in [settings], or write dates as YYYY-MM-DD."


def _slash_parts(text: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(first part, second part, year) of a slash date as integers; null when not one."""
    parts = text.str.strip_chars().str.extract_groups(SLASH_RE)
    return (
        parts.struct.field("a").cast(pl.Int32, strict=False),
        parts.struct.field("b").cast(pl.Int32, strict=False),
        parts.struct.field("y").cast(pl.Int32, strict=False),
    )


def _ambiguous(first: pl.Expr, second: pl.Expr) -> pl.Expr:
    return (first <= 12) & (second <= 12) & (first != second)


@dataclass(frozen=True)
class DatePlan:
    """How one text date column is parsed."""

    user_format: str | None = None
    """The ``date_format`` setting, when given."""
    slash_order: str | None = None
    """``"dmy"`` or ``"mdy"``: how slash dates are read (None: slash dates are not read)."""
    reject_ambiguous: bool = False
    """Slash dates are a minority: ambiguous ones are rejected, not read in ``slash_order``."""
    iso_only: bool = False
    """Every value is a plain ``YYYY-MM-DD`` date (fast path)."""

    @property
    def description(self) -> str:
        """The formats accepted, for messages."""
        if self.user_format:
            return f"{self.user_format} (the date_format setting) or YYYY-MM-DD"
        if self.slash_order == "dmy" and not self.reject_ambiguous:
            return "YYYY-MM-DD (or the column's format DD/MM/YYYY)"
        if self.slash_order == "mdy" and not self.reject_ambiguous:
            return "YYYY-MM-DD (or the column's format MM/DD/YYYY)"
        return "YYYY-MM-DD (or the column's format)"

    def parse(self, text: pl.Expr) -> pl.Expr:
        """Text → Date (null where the value does not parse under this plan)."""
        s = text.str.strip_chars()
        if self.iso_only:
            return s.str.to_date("%Y-%m-%d", strict=False)
        parts = [
            s.str.extract_groups(ISO_RE),
            s.str.extract_groups(COMPACT_RE),
            s.str.extract_groups(DOTTED_RE),
        ]
        years = [p.struct.field("y").cast(pl.Int32, strict=False) for p in parts]
        months = [p.struct.field("m").cast(pl.Int32, strict=False) for p in parts]
        days = [p.struct.field("d").cast(pl.Int32, strict=False) for p in parts]
        if self.slash_order is not None:
            first, second, year = _slash_parts(s)
            if self.reject_ambiguous:
                year = pl.when(_ambiguous(first, second)).then(None).otherwise(year)
            years.append(year)
            months.append(second if self.slash_order == "dmy" else first)
            days.append(first if self.slash_order == "dmy" else second)
        iso = pl.format(
            "{}-{}-{}",
            pl.coalesce(years),
            pl.coalesce(months).cast(pl.String).str.zfill(2),
            pl.coalesce(days).cast(pl.String).str.zfill(2),
        ).str.to_date("%Y-%m-%d", strict=False)
        if self.user_format is None:
            return iso
        fmt = self.user_format
        if any(code in fmt for code in ("%H", "%I", "%M", "%S", "%p")):
            custom = s.str.to_datetime(fmt, strict=False).dt.date()
        else:
            custom = s.str.to_date(fmt, strict=False)
        return pl.coalesce(custom, iso)

    def failures(self, text: pl.Expr, parsed: pl.Expr) -> list[tuple[pl.Expr, str]]:
        """(failed, reason) pairs for non-blank values, most specific first."""
        out: list[tuple[pl.Expr, str]] = []
        if self.reject_ambiguous:
            first, second, _ = _slash_parts(text)
            out.append(
                (
                    _ambiguous(first, second),
                    f"ambiguous date ({AMBIGUOUS_EXAMPLE}); write it as YYYY-MM-DD or set "
                    "date_format in [settings]",
                )
            )
        out.append((parsed.is_null(), f"not a date in {self.description}"))
        return out


def plan_date_column(
    frame: pl.LazyFrame, raw_column: str, column: str, path: Path, config: Config
) -> DatePlan:
    """Decide how to parse the text dates of ``raw_column`` (module docstring rules).

    Raises :class:`InputError` when slash dates mix day-first and month-first evidence, or when
    ambiguous slash dates without evidence are the majority of the column.
    """
    if config.date_format:
        return DatePlan(user_format=config.date_format)
    s = pl.col(raw_column).str.strip_chars()
    present = s.is_not_null() & (s != "")
    iso = present & s.str.to_date("%Y-%m-%d", strict=False).is_not_null()
    counts = frame.select(present.sum().alias("present"), iso.sum().alias("iso")).collect()
    if counts["present"].item() == counts["iso"].item():
        return DatePlan(iso_only=True)

    first, second, _ = _slash_parts(s)
    day_first = ((first > 12) & (second <= 12)).fill_null(False)
    month_first = ((second > 12) & (first <= 12)).fill_null(False)
    ambiguous = _ambiguous(first, second).fill_null(False)
    stats = (
        frame.select(
            present.sum().alias("present"),
            first.is_not_null().sum().alias("slash"),
            day_first.sum().alias("day_first"),
            month_first.sum().alias("month_first"),
            ambiguous.sum().alias("ambiguous"),
            pl.col(ROW).filter(day_first).first().alias("day_row"),
            s.filter(day_first).first().alias("day_value"),
            pl.col(ROW).filter(month_first).first().alias("month_row"),
            s.filter(month_first).first().alias("month_value"),
            pl.col(ROW).filter(ambiguous).first().alias("ambiguous_row"),
            s.filter(ambiguous).first().alias("ambiguous_value"),
        )
        .collect()
        .row(0, named=True)
    )
    if stats["day_first"] and stats["month_first"]:
        raise InputError(
            "the column mixes day-first and month-first dates: "
            f"'{stats['day_value']}' (row {stats['day_row']}) is day-first, "
            f"'{stats['month_value']}' (row {stats['month_row']}) is month-first.",
            file=path,
            column=column,
            fix="write every date as YYYY-MM-DD, or fix the rows that use the other order.",
        )
    order = "mdy" if stats["month_first"] else "dmy"  # equal parts read the same either way
    if not stats["slash"]:
        return DatePlan()
    if 2 * stats["slash"] <= stats["present"]:
        return DatePlan(slash_order=order, reject_ambiguous=True)
    if stats["ambiguous"] and not (stats["day_first"] or stats["month_first"]):
        raise InputError(
            f"ambiguous date format ({AMBIGUOUS_EXAMPLE}); no value in the column decides "
            f"whether day or month comes first (e.g. '{stats['ambiguous_value']}', "
            f"row {stats['ambiguous_row']}).",
            file=path,
            column=column,
            fix=_FIX,
        )
    return DatePlan(slash_order=order)
