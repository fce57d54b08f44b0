"""Text files: encoding detection, delimiter sniffing, header parsing, decimal-comma detection.

SPEC §2 ("wrong encodings and delimiters"). Everything here looks at bytes or at the header line
only; the bulk of a CSV file is parsed by Polars.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from deadstock.errors import InputError

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
"""Candidate delimiters, in the order that breaks ties."""

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SNIFF_BYTES = 65_536
_FIX_ENCODING = "save the file as UTF-8 (or set encoding = '...' in [settings])."


@dataclass
class DecodedText:
    """Text of a file, the encoding it was read with, and what was noticed on the way."""

    text: str
    encoding: str
    utf8_bytes: bytes
    notes: list[str] = field(default_factory=list)


def _looks_binary(head: bytes) -> bool:
    """True when the first bytes hold NULs or many control characters (not a text file)."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > max(1, len(head) // 100)


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when every other byte is NUL (UTF-16 text of ASCII), else None."""
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0) / (len(sample) // 2)
    odd_nul = sample[1::2].count(0) / (len(sample) // 2)
    if odd_nul > 0.9 and even_nul < 0.1:
        return "utf-16-le"
    if even_nul > 0.9 and odd_nul < 0.1:
        return "utf-16-be"
    return None


def decode_text(data: bytes, path: Path, encoding: str | None = None) -> DecodedText:
    """Decode a text file: BOM → UTF-8/UTF-16; else strict UTF-8; else cp1252 with a note.

    ``encoding`` (setting ``encoding``) overrides the detection. Raises :class:`InputError` for
    binary content or bytes that the chosen encoding cannot decode.
    """
    name = path.name
    if encoding:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise InputError(
                f"unknown encoding '{encoding}'.",
                file=path,
                fix="set encoding to a Python codec name such as utf-8, cp1252 or utf-16.",
            ) from None
        except UnicodeDecodeError as exc:
            raise InputError(
                f"cannot be decoded as {encoding} (byte {exc.start}).",
                file=path,
                fix="check the encoding setting or remove it to let deadstock detect it.",
            ) from None
        text = text.removeprefix("\ufeff")
        return DecodedText(text, encoding, text.encode("utf-8"))

    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec.removesuffix("-sig"))
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"starts with a {codec} byte-order mark but is not valid {codec} "
                    f"(byte {exc.start}).",
                    file=path,
                    fix=_FIX_ENCODING,
                ) from None
            raw = data[len(bom) :] if codec == "utf-8-sig" else text.encode("utf-8")
            return DecodedText(text, codec, raw)

    head = data[:_SNIFF_BYTES]
    utf16 = _utf16_without_bom(head)
    if utf16 is not None:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            pass
        else:
            note = f"{name}: read as {utf16} (UTF-16 without a byte-order mark)."
            return DecodedText(text, utf16, text.encode("utf-8"), [note])
    if _looks_binary(head):
        raise InputError(
            "is not a text file (binary content); cannot read it as CSV.",
            file=path,
            fix="export the table as CSV, Parquet or Excel (.xlsx).",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return DecodedText(text, "utf-8", data)
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is neither UTF-8 nor cp1252 text (byte {exc.start}).", file=path, fix=_FIX_ENCODING
        ) from None
    note = (
        f"{name}: not valid UTF-8, read as cp1252 (Windows Western); check accented characters "
        "or set encoding in [settings]."
    )
    return DecodedText(text, "cp1252", text.encode("utf-8"), [note])


def first_record(text: str) -> str:
    """The header record: text up to the first line break outside double quotes."""
    end = -1
    while True:
        end = text.find("\n", end + 1)
        if end < 0:
            return text
        if text.count('"', 0, end) % 2 == 0:
            return text[:end].rstrip("\r")


def _count_outside_quotes(line: str, char: str) -> int:
    return sum(part.count(char) for part in line.split('"')[0::2])


def sniff_delimiter(header: str) -> str:
    """The delimiter among , ; tab | that occurs most often in the header line (ties: that order).

    A header without any candidate (one column) gives ``','``.
    """
    counts = {d: _count_outside_quotes(header, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def parse_header(header: str, delimiter: str) -> list[str]:
    """Header names as written, honouring quotes."""
    return next(csv.reader(io.StringIO(header), delimiter=delimiter), [])


_DECIMAL_COMMA = r"^[+-]?\d+(\.\d{3})*,\d+$"


def looks_decimal_comma(frame: pl.DataFrame, numeric_columns: list[str]) -> bool:
    """True when any value of the numeric columns looks like ``1.234,5`` or ``12,5``."""
    if not numeric_columns:
        return False
    hit = frame.select(
        pl.any_horizontal(
            pl.col(c).str.replace_all(r"\s", "").str.contains(_DECIMAL_COMMA).any()
            for c in numeric_columns
        )
    ).item()
    return bool(hit)


_FIELD_COUNT_RE = re.compile(r"more fields")


def is_ragged_error(exc: BaseException) -> bool:
    """True when a Polars CSV error says a line holds more fields than the header."""
    return bool(_FIELD_COUNT_RE.search(str(exc)))


def read_csv_tolerant(text: str, delimiter: str) -> tuple[list[str], list[list[str | None]]]:
    """Header and columns (text; blank = None) read with Python's csv module.

    The slow path for files Polars refuses, typically a stray quote inside a value
    (``12" bolt``): here a quote only has a meaning at the start of a field. Blank lines stay as
    rows of None so row numbers match the file. Raises ``ValueError(row, fields, header fields)``
    for a record with more fields than the header.
    """
    records = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(records, [])
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    for index, record in enumerate(records):
        if len(record) > width:
            raise ValueError(index + 2, len(record), width)
        for j in range(width):
            cell = record[j] if j < len(record) else ""
            columns[j].append(cell if cell != "" else None)
    return header, columns


def find_ragged_row(text: str, delimiter: str, width: int) -> tuple[int, int] | None:
    """(spreadsheet row, field count) of the first record with more fields than ``width``."""
    for index, record in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter)):
        if len(record) > width:
            return index + 1, len(record)
    return None
