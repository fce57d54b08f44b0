"""``load_inputs``: find, read, type and check every input table (SPEC §2).

Tables are validated in dependency order (:data:`VALIDATION_ORDER`): products first, so the other
tables can be checked for unknown SKUs; receipts and the ledger before sales, so a sale larger than
the stock ever received can be caught. Check order within a table: :mod:`deadstock.validate.rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from deadstock.config import Config
from deadstock.errors import InputError
from deadstock.ingest import RawTable, discover_tables, read_raw
from deadstock.schema import INPUT_TABLES
from deadstock.validate.checks import apply_checks, value_as_read
from deadstock.validate.coerce import coerce
from deadstock.validate.report import ValidatedInput, combine_rejects, counts_frame
from deadstock.validate.rules import (
    FUTURE_DATE_COLUMNS,
    drop_positions,
    normalise,
    received_units,
    reject_duplicates,
    reject_sales_beyond_received,
    row_checks,
    sales_without_receipts,
    unknown_reference_notes,
)

VALIDATION_ORDER = (
    "products",
    "suppliers",
    "locations",
    "lanes",
    "inventory",
    "receipts",
    "ledger",
    "prices",
    "sales",
)
"""Tables are validated in this order (a table's checks may use the tables before it)."""

AS_OF_COLUMNS = (
    ("sales", "date"),
    ("receipts", "date"),
    ("ledger", "date"),
    ("inventory", "as_of"),
)
"""Where the default as-of date (the latest date in the data) is looked for."""


def _describe(table: str) -> str:
    return f"{table}.csv (columns {', '.join(INPUT_TABLES[table].required)})"


def _check_required(
    present: Iterable[str],
    empty: Mapping[str, RawTable],
    required: Iterable[str],
    required_one_of: Iterable[Iterable[str]],
    data: Path | str | None,
) -> None:
    """Raise :class:`InputError` for a required table that is absent or has no data rows."""
    present = set(present)
    where = f" to {data}" if data is not None else ""
    for table in required:
        if table in present:
            continue
        if table in empty:
            raise InputError(
                "has no data rows.",
                file=empty[table].path,
                fix=f"export the {table} table again with its rows.",
            )
        raise InputError(
            f"the required table '{table}' is missing.",
            file=data,
            fix=f"add {_describe(table)}{where}, or name its file in [tables] of the config file.",
        )
    for group in required_one_of:
        options = list(group)
        if not options or present & set(options):
            continue
        for table in options:
            if table in empty:
                raise InputError(
                    "has no data rows.",
                    file=empty[table].path,
                    fix=f"export the {table} table again with its rows, or add "
                    + " or ".join(_describe(o) for o in options if o != table)
                    + ".",
                )
        raise InputError(
            f"one of the tables {' or '.join(repr(o) for o in options)} is required.",
            file=data,
            fix=f"add {' or '.join(_describe(o) for o in options)}{where}.",
        )


def _validate_table(
    raw: RawTable,
    config: Config,
    *,
    today: dt.date,
    accepted: dict[str, pl.DataFrame],
    sources: dict[str, str],
    notes: list[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type, check and normalise one table; returns (accepted rows, rejects by row)."""
    table, source = raw.table, raw.source_file
    schema = INPUT_TABLES[table]
    coerced = coerce(raw, config)
    canonical = [c for c in schema.names if c in raw.headers]
    products = accepted.get("products")
    checks = row_checks(
        table,
        coerced,
        canonical,
        today=today,
        product_skus=products["sku"] if products is not None else None,
        products_file=sources.get("products", "products"),
    )
    passing, rejects = apply_checks(coerced.frame, checks, table, source, raw.headers)
    passing = normalise(passing, table, config)
    out_columns = [c for c in schema.names if c in passing.columns]
    dropped, duplicates = reject_duplicates(passing, table, source, config, out_columns)
    parts = [rejects, duplicates]
    if table == "sales":
        received = received_units(accepted.get("receipts"), accepted.get("ledger"))
        if received is not None:
            value = value_as_read("qty", passing.columns)
            too_large_at, too_large = reject_sales_beyond_received(
                passing, received, source, value, exclude=dropped
            )
            dropped = pl.concat([dropped, too_large_at])
            parts.append(too_large)
            orphan_rows, orphan_keys = sales_without_receipts(passing, received)
            if orphan_rows:
                notes.append(
                    f"{source}: {orphan_rows} sale row(s) at {orphan_keys} SKU-location(s) that "
                    "have no receipt; their stock is aged as opening stock (received before the "
                    "receipt history starts)."
                )
    passing = drop_positions(passing, dropped)
    return passing.select(out_columns), combine_rejects(parts).sort("row", maintain_order=True)


def _as_of(
    tables: dict[str, pl.DataFrame], config: Config, today: dt.date, warnings: list[str]
) -> dt.date:
    if config.as_of is not None:
        return config.as_of
    latest = [
        tables[t][c].max()
        for t, c in AS_OF_COLUMNS
        if t in tables and c in tables[t].columns and tables[t][c].null_count() < tables[t].height
    ]
    dates = [d for d in latest if isinstance(d, dt.date)]
    if dates:
        return max(dates)
    warnings.append(f"no dates in the data: the as-of date is today ({today.isoformat()}).")
    return today


def load_inputs(
    data: Path | str | None,
    config: Config,
    explicit: Mapping[str, Path | str] | None = None,
    required: Iterable[str] = ("sales",),
    required_one_of: Iterable[Iterable[str]] = (("inventory", "ledger"),),
) -> ValidatedInput:
    """Read and validate every input table of ``data`` (a folder) and ``explicit`` paths.

    Fatal problems (required table or column missing, unreadable file, undecidable date format)
    raise :class:`~deadstock.errors.InputError`; row defects go to ``rejects``; everything else
    noticed goes to ``warnings``. SPEC §2.
    """
    warnings: list[str] = []
    required = tuple(required)
    required_one_of = tuple(tuple(g) for g in required_one_of)
    paths = discover_tables(data, config, explicit, warnings)
    _check_required(paths, {}, required, required_one_of, data)

    raws: dict[str, RawTable] = {}
    empty: dict[str, RawTable] = {}
    for table, path in paths.items():
        raw = read_raw(path, table, config)
        warnings.extend(raw.notes)
        (empty if raw.empty else raws)[table] = raw
    _check_required(raws, empty, required, required_one_of, data)
    for table, raw in empty.items():
        warnings.append(f"{raw.source_file}: has no data rows; the {table} table is left out.")

    today = config.today or dt.date.today()
    sources = {t: r.source_file for t, r in raws.items()}
    tables: dict[str, pl.DataFrame] = {}
    reject_parts: list[pl.DataFrame] = []
    counts: list[dict[str, object]] = []
    for table in VALIDATION_ORDER:
        if table in empty:
            counts.append(
                {
                    "table": table,
                    "source_file": empty[table].source_file,
                    "read": 0,
                    "accepted": 0,
                    "rejected": 0,
                }
            )
        if table not in raws:
            continue
        raw = raws[table]
        try:
            accepted, rejects = _validate_table(
                raw, config, today=today, accepted=tables, sources=sources, notes=warnings
            )
        except pl.exceptions.PolarsError as exc:
            raise InputError(
                f"cannot be read as the {table} table ({str(exc).splitlines()[0]}).",
                file=raw.path,
                fix="export the table again (CSV, Parquet or .xlsx).",
            ) from None
        tables[table] = accepted
        reject_parts.append(rejects)
        counts.append(
            {
                "table": table,
                "source_file": raw.source_file,
                "read": raw.rows,
                "accepted": accepted.height,
                "rejected": rejects.height,
            }
        )

    warnings.extend(unknown_reference_notes(tables, sources))
    as_of = _as_of(tables, config, today, warnings)
    for table, column in FUTURE_DATE_COLUMNS.items():
        if table not in tables or column not in tables[table].columns:
            continue
        later = int((tables[table][column] > as_of).sum())
        if later:
            warnings.append(
                f"{sources[table]}: {later} row(s) dated after the as-of date {as_of.isoformat()} "
                "are kept but not used by the analysis."
            )
    return ValidatedInput(
        tables=tables,
        rejects=combine_rejects(reject_parts),
        counts=counts_frame(counts),
        warnings=warnings,
        as_of=as_of,
        sources={t: [str(paths[t])] for t in raws},
    )
