"""Row checks: a declarative list of conditions, evaluated at once; the first failing one wins.

A :class:`Check` says which column it blames, when a row fails (a boolean expression; null counts
as a pass) and why (evaluated on the failing rows only, so messages cost nothing on clean data).
:func:`apply_checks` tags every row with the index of its first failing check in one vectorised
pass and splits the frame into the rows that pass and a rejects table (schema ``REJECTS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from deadstock.ingest.readers import ROW
from deadstock.schema import REJECTS

_CHECK = "_check"


@dataclass(frozen=True)
class Check:
    """One rule on a row: ``failed`` (bool expr), the column it blames and the reason."""

    column: str | None
    failed: pl.Expr
    reason: pl.Expr | str
    value: pl.Expr | None = None
    """The offending value as read; default: the raw text of ``column`` (null for whole rows)."""


def first_match(conditions: Sequence[pl.Expr], values: Sequence[pl.Expr]) -> pl.Expr:
    """The value of the first condition that holds, null when none does (a when/then chain)."""
    chain: Any = pl
    for condition, value in zip(conditions, values, strict=True):
        chain = chain.when(condition).then(value)
    return pl.lit(None) if chain is pl else chain.otherwise(None)


def empty_rejects() -> pl.DataFrame:
    """A rejects table with no rows."""
    return pl.DataFrame(schema=REJECTS.polars_schema())


def raw_name(column: str) -> str:
    """Name of the column holding ``column``'s text as read (text-parsed columns only)."""
    return f"_raw_{column}"


def value_as_read(column: str, columns: Sequence[str]) -> pl.Expr:
    """The value of ``column`` as read: its raw text when kept, else the typed value as text."""
    if raw_name(column) in columns:
        return pl.col(raw_name(column)).cast(pl.String)
    return pl.col(column).cast(pl.String)


def reject_frame(
    failing: pl.DataFrame,
    table: str,
    source_file: str,
    *,
    column: pl.Expr | str | None,
    value: pl.Expr | None,
    reason: pl.Expr | str,
) -> pl.DataFrame:
    """Rejects rows (schema ``REJECTS``) for ``failing`` rows that all fail the same way."""
    if failing.height == 0:
        return empty_rejects()
    col_expr = column if isinstance(column, pl.Expr) else pl.lit(column, dtype=pl.String)
    reason_expr = reason if isinstance(reason, pl.Expr) else pl.lit(reason)
    return failing.select(
        pl.lit(table).alias("table"),
        pl.lit(source_file).alias("source_file"),
        pl.col(ROW).cast(pl.Int64).alias("row"),
        col_expr.cast(pl.String).alias("column"),
        (value if value is not None else pl.lit(None)).cast(pl.String).alias("value"),
        reason_expr.cast(pl.String).alias("reason"),
    )


def _annotate(reason: pl.Expr, column: str | None, headers: Mapping[str, str]) -> pl.Expr:
    header = headers.get(column or "")
    if header is None or header == column:
        return reason
    return pl.concat_str(reason, pl.lit(f" [file column '{header}']"))


def apply_checks(
    frame: pl.LazyFrame,
    checks: Sequence[Check],
    table: str,
    source_file: str,
    headers: Mapping[str, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Evaluate ``checks`` in order; return (rows passing all, rejects of the others).

    One rejects row per failing input row: the first check it fails (in list order). ``headers``
    (canonical → header in the file) adds the file's header to the reason when it differs.
    """
    headers = headers or {}
    if not checks:
        return frame.collect(engine="streaming"), empty_rejects()
    code = first_match(
        [check.failed.fill_null(False) for check in checks],
        [pl.lit(index, dtype=pl.Int32) for index in range(len(checks))],
    )
    tagged = frame.with_columns(code.alias(_CHECK)).collect(engine="streaming")
    failed_mask = tagged[_CHECK].is_not_null()
    if not failed_mask.any():
        return tagged.drop(_CHECK), empty_rejects()
    failing = tagged.filter(failed_mask)
    passing = tagged.filter(~failed_mask).drop(_CHECK)
    columns = tagged.columns

    def by_check(pick: list[pl.Expr]) -> pl.Expr:
        return first_match([pl.col(_CHECK) == index for index in range(len(pick))], pick)

    used = sorted(set(failing[_CHECK].to_list()))
    blank = pl.lit(None, dtype=pl.String)
    col_exprs, value_exprs, reason_exprs = [], [], []
    for index, check in enumerate(checks):
        if index not in used:
            col_exprs.append(blank)
            value_exprs.append(blank)
            reason_exprs.append(blank)
            continue
        reason = check.reason if isinstance(check.reason, pl.Expr) else pl.lit(check.reason)
        col_exprs.append(pl.lit(check.column, dtype=pl.String))
        if check.value is not None:
            value_exprs.append(check.value.cast(pl.String))
        elif check.column is not None:
            value_exprs.append(value_as_read(check.column, columns).cast(pl.String))
        else:
            value_exprs.append(blank)
        reason_exprs.append(_annotate(reason.cast(pl.String), check.column, headers))
    rejects = reject_frame(
        failing,
        table,
        source_file,
        column=by_check(col_exprs),
        value=by_check(value_exprs),
        reason=by_check(reason_exprs),
    )
    return passing, rejects
