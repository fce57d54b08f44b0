"""What validation hands on: the typed tables, the rejects, the counts and the warnings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from deadstock.schema import REJECTS

COUNTS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "table": pl.String,
    "source_file": pl.String,
    "read": pl.Int64,
    "accepted": pl.Int64,
    "rejected": pl.Int64,
}


@dataclass
class ValidatedInput:
    """Result of :func:`deadstock.validate.load_inputs` (SPEC §2)."""

    tables: dict[str, pl.DataFrame]
    """Canonical name → table with canonical columns and dtypes (``schema.INPUT_TABLES``); only
    tables present and only the columns their file held, plus ``location`` (filled with
    ``default_location``)."""
    rejects: pl.DataFrame
    """Schema ``schema.REJECTS``: one row per rejected input row, with the first failing check."""
    counts: pl.DataFrame
    """table, source_file, read, accepted, rejected (read = accepted + rejected)."""
    warnings: list[str] = field(default_factory=list)
    """Non-fatal findings, one line each, naming the file."""
    as_of: dt.date = field(default_factory=dt.date.today)
    """The ``as_of`` setting, else the latest date in sales/receipts/ledger/inventory.as_of."""
    sources: dict[str, list[str]] = field(default_factory=dict)
    """Table → files it was read from."""

    def summary(self) -> dict[str, object]:
        """JSON-friendly digest: as_of, rows read/accepted/rejected per table, warnings."""
        return {
            "as_of": self.as_of.isoformat(),
            "tables": self.counts.to_dicts(),
            "rejected": int(self.rejects.height),
            "warnings": list(self.warnings),
        }


def combine_rejects(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """One rejects table (schema ``REJECTS``) sorted by table order of reading, then row."""
    schema = REJECTS.polars_schema()
    frames = [p.select([pl.col(c).cast(t) for c, t in schema.items()]) for p in parts if p.height]
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames, how="vertical")


def counts_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """The counts table from ``{table, source_file, read, accepted, rejected}`` dicts."""
    return pl.DataFrame(rows, schema=COUNTS_SCHEMA)
