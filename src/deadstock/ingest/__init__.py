"""Ingest: find the input files and read them into raw frames with canonical names (SPEC §2).

- :func:`discover_tables` — table name → file (data folder, config ``[tables]``, explicit paths).
- :func:`read_raw` — one file → :class:`RawTable` (frame with canonical headers and spreadsheet
  row numbers, plus what the reader noticed). Typing and business rules: :mod:`deadstock.validate`.
"""

from deadstock.ingest.files import SUPPORTED_EXTENSIONS, discover_tables
from deadstock.ingest.headers import normalise_header
from deadstock.ingest.readers import ROW, RawTable, read_raw

__all__ = [
    "ROW",
    "SUPPORTED_EXTENSIONS",
    "RawTable",
    "discover_tables",
    "normalise_header",
    "read_raw",
]
