"""Write generated tables to a data folder (file stem = table name, SPEC §2)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from deadstock.datasets.defects import add_defects
from deadstock.datasets.retailer import generate_retailer

FORMATS = ("csv", "parquet")


def write_dataset(
    tables: dict[str, pl.DataFrame], out_dir: Path, fmt: str = "csv"
) -> dict[str, Path]:
    """Write each table to ``out_dir/<name>.<fmt>`` (``csv`` or ``parquet``); return the paths.

    CSV files are UTF-8, comma-separated, with a header row, ISO dates and empty fields for
    nulls. The folder is created when missing; files of the same name are overwritten.
    """
    if fmt not in FORMATS:
        raise ValueError(f"The 'fmt' parameter must be one of {', '.join(FORMATS)}. Got {fmt!r}.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in tables.items():
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            frame.write_csv(path)
        else:
            frame.write_parquet(path)
        paths[name] = path
    return paths


def write_demo_data(
    out_dir: Path,
    n_skus: int = 2000,
    seed: int = 0,
    fmt: str = "csv",
    dirty: bool = True,
    n_locations: int = 3,
) -> dict[str, Path]:
    """Generate the demo retailer (:func:`~deadstock.datasets.generate_retailer`) and write it.

    With ``dirty=True`` (CSV only) a handful of deliberately bad rows are appended by
    :func:`~deadstock.datasets.add_defects`, so a run shows its rejects report; the clean rows
    stay exactly as generated. Returns table name → path.
    """
    if dirty and fmt != "csv":
        raise ValueError(
            f"The 'dirty' parameter needs fmt='csv' (bad rows such as a non-numeric qty cannot be "
            f"stored in typed Parquet columns). Got fmt={fmt!r}; pass dirty=False."
        )
    paths = write_dataset(
        generate_retailer(n_skus=n_skus, n_locations=n_locations, seed=seed), out_dir, fmt
    )
    if dirty:
        add_defects(out_dir, seed=seed)
    return paths
