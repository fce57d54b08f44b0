"""Headers: map a file's column names onto the canonical vocabulary (SPEC §2, `deadstock.schema`).

Order: the config's column mapping (``[columns]`` / ``[columns.<table>]``: source header →
canonical) first, then the header itself normalised (strip, lowercase, spaces and hyphens → ``_``),
so "On Hand" matches ``on_hand``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from deadstock.config import Config
from deadstock.errors import InputError
from deadstock.schema import INPUT_TABLES


def normalise_header(header: str) -> str:
    """``"  On-Hand "`` → ``"on_hand"``: strip, lowercase, runs of spaces/hyphens → ``_``."""
    text = header.replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


@dataclass
class HeaderMap:
    """Which source column feeds which canonical column, and what was left out."""

    canonical: dict[str, str]
    """canonical name → source header, in source order."""
    unknown: list[str] = field(default_factory=list)
    """Source headers that match no canonical column of the table (ignored)."""
    notes: list[str] = field(default_factory=list)


def map_headers(headers: list[str], table: str, config: Config, path: Path) -> HeaderMap:
    """Map ``headers`` of ``path`` onto the canonical columns of ``table``.

    Raises :class:`InputError` when two headers map to the same canonical column. A header that
    only *normalises* to a canonical name loses to a header mapped to it in the config (noted).
    """
    names = set(INPUT_TABLES[table].names)
    configured = {
        normalise_header(src): canon for src, canon in config.column_mapping(table).items()
    }
    explicit: dict[str, str] = {}
    implicit: dict[str, list[str]] = {}
    unknown: list[str] = []
    for header in headers:
        key = normalise_header(header)
        target = configured.get(key)
        if target is not None and target in names:
            if target in explicit:
                raise _duplicate(table, target, [explicit[target], header], path)
            explicit[target] = header
        elif key in names:
            implicit.setdefault(key, []).append(header)
        elif key:
            unknown.append(header)
    notes: list[str] = []
    canonical: dict[str, str] = {}
    for header in headers:
        key = normalise_header(header)
        target = configured.get(key)
        if target is not None and target in names and explicit.get(target) == header:
            canonical[target] = header
        elif key in implicit and key not in explicit:
            if len(implicit[key]) > 1:
                raise _duplicate(table, key, implicit[key], path)
            canonical[key] = header
    for key, headers_of_key in implicit.items():
        if key in explicit:
            ignored = ", ".join(f"'{h}'" for h in headers_of_key)
            notes.append(
                f"{path.name}: column {ignored} ignored: '{explicit[key]}' is mapped to {key} in "
                "the config."
            )
    return HeaderMap(canonical, unknown, notes)


def _duplicate(table: str, target: str, headers: list[str], path: Path) -> InputError:
    shown = " and ".join(f"'{h}'" for h in headers)
    return InputError(
        f"columns {shown} both map to the {table} column '{target}'.",
        file=path,
        column=target,
        fix=f"keep one of them, or map one to another name in [columns.{table}] of the config "
        "file.",
    )


def check_required(mapping: HeaderMap, headers: list[str], table: str, path: Path) -> None:
    """Raise :class:`InputError` for the first required canonical column the file lacks."""
    for name in INPUT_TABLES[table].required:
        if name not in mapping.canonical:
            found = ", ".join(h for h in headers if h.strip()) or "(none)"
            fix = (
                f"rename it or map it in [columns.{table}] of the config file "
                f'({name} = "<your header>").'
            )
            if any(d in h for h in headers for d in (",", ";", "\t", "|")):
                fix += (
                    " The header looks split on the wrong delimiter: set delimiter in [settings]."
                )
            raise InputError(
                f"required column '{name}' is missing; columns found: {found}.",
                file=path,
                column=name,
                fix=fix,
            )
