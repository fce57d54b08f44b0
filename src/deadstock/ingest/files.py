"""Discovery: which file holds which input table (SPEC §2).

A data folder holds one file per table, the file stem being the table name (case-insensitive).
Explicit paths (``explicit``, e.g. CLI ``--table sales=path``) win over the config's ``[tables]``,
which win over the folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from deadstock.config import Config
from deadstock.errors import InputError
from deadstock.schema import INPUT_TABLES

TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
PARQUET_EXTENSIONS = (".parquet", ".pq")
EXCEL_EXTENSIONS = (".xlsx", ".xls", ".xlsm")
SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xls")
"""Extensions looked for in a data folder."""

_ALL_EXTENSIONS = TEXT_EXTENSIONS + PARQUET_EXTENSIONS + EXCEL_EXTENSIONS


def _check_table_name(table: str, origin: str) -> None:
    if table not in INPUT_TABLES:
        raise InputError(
            f"unknown table '{table}' ({origin}).",
            fix=f"use one of: {', '.join(INPUT_TABLES)}.",
        )


def _check_file(path: Path, table: str, origin: str) -> Path:
    if not path.is_file():
        raise InputError(
            f"file for table '{table}' not found ({origin}).",
            file=path,
            fix="check the path, or leave it out to read the data folder.",
        )
    if path.suffix.lower() not in _ALL_EXTENSIONS:
        raise InputError(
            f"unsupported file type '{path.suffix}' for table '{table}' ({origin}).",
            file=path,
            fix="use a .csv, .tsv, .txt, .parquet, .xlsx or .xls file.",
        )
    return path


def discover_tables(
    data: Path | str | None,
    config: Config,
    explicit: Mapping[str, Path | str] | None = None,
    notes: list[str] | None = None,
) -> dict[str, Path]:
    """Table name → file, from the data folder, then ``config.tables``, then ``explicit``.

    Folder files whose stem is not a table name, or whose extension is not supported, are left
    out with a note (appended to ``notes`` when given). Two folder files for one table (e.g.
    ``sales.csv`` and ``sales.parquet``) raise :class:`InputError` naming both, unless the table's
    path is given explicitly.
    """
    notes = notes if notes is not None else []
    chosen: dict[str, Path] = {}
    for origin, mapping in (("config [tables]", config.tables), ("explicit", explicit or {})):
        for table, path in mapping.items():
            _check_table_name(table, origin)
            chosen[table] = _check_file(Path(path), table, origin)

    if data is None:
        return dict(sorted(chosen.items(), key=lambda kv: list(INPUT_TABLES).index(kv[0])))
    folder = Path(data)
    if not folder.exists():
        raise InputError("data folder not found.", file=folder, fix="check the path of the data.")
    if not folder.is_dir():
        raise InputError(
            "is a file, not a data folder.",
            file=folder,
            fix="give the folder that holds sales.csv, inventory.csv, … (or pass the file as "
            "--table name=path).",
        )
    used = {p.resolve() for p in chosen.values()}
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "~$")) or not path.is_file() or path.resolve() in used:
            continue
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if stem in INPUT_TABLES and suffix in SUPPORTED_EXTENSIONS:
            found.setdefault(stem, []).append(path)
        elif stem in INPUT_TABLES:
            notes.append(
                f"{path.name}: ignored, unsupported file type '{path.suffix}' (use .csv, .tsv, "
                ".txt, .parquet, .xlsx or .xls)."
            )
        else:
            notes.append(
                f"{path.name}: ignored, '{path.stem}' is not a table name (tables: "
                f"{', '.join(INPUT_TABLES)}); rename it or map it in [tables] of the config file."
            )
    for table, paths in found.items():
        if table in chosen:
            notes.extend(
                f"{p.name}: ignored, table '{table}' is read from {chosen[table]}." for p in paths
            )
            continue
        if len(paths) > 1:
            names = " and ".join(p.name for p in paths)
            raise InputError(
                f"two files hold the table '{table}': {names}.",
                file=folder,
                fix="remove or rename one of them, or choose one in [tables] of the config file.",
            )
        chosen[table] = paths[0]
    return dict(sorted(chosen.items(), key=lambda kv: list(INPUT_TABLES).index(kv[0])))
