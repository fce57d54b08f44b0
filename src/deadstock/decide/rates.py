"""Daily discount rates Re and Ro from an inventory reserve matrix (SPEC §3.5; Zijlmans 2025).

A reserve (write-down) matrix gives, per stock-days band (rows) and age band (columns), the share
of stock value an accountant writes down. Spread over the band's midpoint it is a daily loss of
value, and the weighted mean over the cells is the daily discount rate (Zijlmans 2025, TU Delft
MSc thesis "Optimizing Reactive Strategies for Excess Inventory"):

    r_ij = w_ij% / 100 / m_i                   [1/day]   cell rate, m_i midpoint of band i [days]
    Re   = Σ_{i ∈ E, j} v_ij r_ij / Σ_{i ∈ E, j} v_ij      E = rows with lower_days ≥ threshold
    Ro   = Σ_{i, j}     v_ij r_ij / Σ_{i, j}     v_ij      all rows

with v_ij the weight of cell (i, j): a given joint (cell) distribution, else the product of the
age and stock-days distributions (independence), a missing one counting as equal weights.

Matrix layout (one row per stock-days band):

- ``stock_days_band``: label such as ``0-28``, ``29-84``, ``>84``, ``85+``;
- ``midpoint_days`` [days] > 0;
- ``lower_days`` [days] (optional): the band's first day; else parsed from the label by
  :func:`band_lower_days` (``a-b`` → a, ``a+`` / ``>=a`` → a, ``>a`` → a + 1, ``<b`` → 0);
- every other column: one age band (header = its label), the write-down in % (0–100), or as a
  fraction (0–1) with ``unit="fraction"``.

:func:`reserve_matrix_rates` is the API on frames, :func:`rates_from_files` reads the files
(``deadstock rates``), :func:`rates_from_stock` weights the cells by the stock of a run.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from deadstock.errors import ConfigError, InputError
from deadstock.ingest.files import EXCEL_EXTENSIONS, PARQUET_EXTENSIONS
from deadstock.ingest.text import decode_text, first_record, read_csv_tolerant, sniff_delimiter

FloatArray = npt.NDArray[np.float64]
WritedownUnit = Literal["pct", "fraction"]
Weights = Mapping[str, float] | Sequence[float] | FloatArray | pl.DataFrame

BAND = "stock_days_band"
"""Matrix column: stock-days band label."""
MIDPOINT = "midpoint_days"
"""Matrix column: midpoint of the stock-days band [days]."""
LOWER = "lower_days"
"""Optional matrix column: first day of the stock-days band [days]."""
ROW = "_row"
"""Row number as a spreadsheet shows it (header = row 1), added by :func:`read_band_table`."""
RESERVED = (BAND, MIDPOINT, LOWER)

_NUMBER = r"\d+(?:\.\d+)?"
_LABEL = re.compile(
    rf"^(?P<op>>=|≥|>|<=|≤|<)?\s*(?P<a>{_NUMBER})\s*"
    rf"(?:(?P<plus>\+)|(?:-|–|—|to)\s*(?P<b>{_NUMBER}))?\s*(?:days?|d)?$",
    re.IGNORECASE,
)
_FIX_LABEL = (
    "write the label as 'a-b', '>a', '>=a', 'a+' or '<b' (days), or add a lower_days column."
)


# --------------------------------------------------------------------------------------------
# Kernel
# --------------------------------------------------------------------------------------------


def cell_rates(writedown_share: FloatArray, midpoint_days: FloatArray) -> FloatArray:
    """Daily rate of every cell: write-down share ÷ band midpoint [1/day] (SPEC §3.5).

    ``writedown_share`` [fraction] has one row per stock-days band, one column per age band;
    ``midpoint_days`` [days] one entry per row. 25 % over a 365-day midpoint → 0.000685/day.
    """
    return (
        np.asarray(writedown_share, dtype=np.float64)
        / np.asarray(midpoint_days, dtype=np.float64)[:, None]
    )


def weighted_rate(rates: FloatArray, weights: FloatArray) -> float:
    """Weighted mean of the cell rates [1/day]; the weights are renormalised (Σ > 0 required)."""
    return float(np.sum(rates * weights) / np.sum(weights))


def band_lower_days(label: str) -> float | None:
    """First day [days] of a band written as a label, or None when the label is not a band.

    ``a-b`` (also ``a–b``, ``a to b``) → a; ``a+``, ``>=a``, ``≥a`` → a; ``>a`` → ⌊a⌋ + 1 (the
    first whole day above a: ``>84`` starts at day 85); ``<b``, ``<=b``, ``≤b`` → 0; a bare
    number → itself. A trailing ``days``/``d`` and spaces are allowed: ``> 84 days``.
    """
    match = _LABEL.match(str(label).strip())
    if match is None:
        return None
    op, plus, upper = match["op"], match["plus"], match["b"]
    if op and (plus or upper):
        return None
    a = float(match["a"])
    if op in ("<", "<=", "≤"):
        return 0.0
    if op == ">":
        return float(math.floor(a) + 1)
    if upper is not None and float(upper) < a:
        return None
    return a


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReserveRates:
    """Daily discount rates from a reserve matrix, with the cells behind them."""

    excess_rate: float
    """Re [1/day]: weighted mean cell rate over the rows above the threshold."""
    overall_rate: float
    """Ro [1/day]: weighted mean cell rate over all rows."""
    cells: pl.DataFrame
    """One row per cell: stock_days_band, age_band, lower_days [days], midpoint_days [days],
    writedown_pct [%], rate_daily [1/day], weight (share of all weight), excess (row above the
    threshold), excess_weight (share of the weight of the excess rows; 0 outside them)."""
    threshold_days: float
    """Rows whose lower_days ≥ this [days] are the excess rows."""
    excess_bands: tuple[str, ...]
    """Labels of the excess rows."""
    weighting: str
    """How the cells were weighted (cell weights, marginals, equal)."""
    writedown_unit: WritedownUnit = "pct"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def settings(self) -> dict[str, float]:
        """The two rates under their setting names (``discount_rate_excess``/``_overall``)."""
        return {
            "discount_rate_excess": self.excess_rate,
            "discount_rate_overall": self.overall_rate,
        }

    def set_line(self, digits: int = 6) -> str:
        """``--set discount_rate_excess=… --set discount_rate_overall=…`` (significant digits)."""
        return " ".join(f"--set {k}={_plain(v, digits)}" for k, v in self.settings().items())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: rates [1/day], settings, threshold, weighting, notes and cells."""
        return {
            "excess_rate": self.excess_rate,
            "overall_rate": self.overall_rate,
            "unit": "1/day",
            "settings": self.settings(),
            "set_line": self.set_line(),
            "threshold_days": self.threshold_days,
            "excess_bands": list(self.excess_bands),
            "weighting": self.weighting,
            "writedown_unit": self.writedown_unit,
            "notes": list(self.notes),
            "cells": self.cells.to_dicts(),
        }

    def to_json(self) -> str:
        """:meth:`as_dict` as indented JSON."""
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)


def _plain(value: float, digits: int) -> str:
    """``value`` with ``digits`` significant digits, without an exponent (0.000684932)."""
    if value == 0:
        return "0"
    return np.format_float_positional(
        value, precision=digits, unique=False, fractional=False, trim="-"
    )


# --------------------------------------------------------------------------------------------
# Parsing frames
# --------------------------------------------------------------------------------------------


def _rows(frame: pl.DataFrame) -> list[int]:
    """Row numbers for messages: ``_row`` when present (files), else 1-based positions."""
    if ROW in frame.columns:
        return [int(r) for r in frame[ROW].to_list()]
    return list(range(1, frame.height + 1))


def _key(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def _numeric(
    frame: pl.DataFrame,
    column: str,
    *,
    what: str,
    file: str | None,
    fix: str,
    percent: bool = False,
) -> FloatArray:
    """Column as float64; blank, non-numeric or non-finite cells raise :class:`InputError`."""
    series = frame[column]
    if series.dtype.is_numeric():
        values = series.cast(pl.Float64)
    elif series.dtype == pl.String:
        text = series.str.strip_chars()
        if percent:
            text = text.str.strip_suffix("%").str.strip_chars()
        values = text.cast(pl.Float64, strict=False)
    else:
        values = pl.Series(column, [None] * series.len(), dtype=pl.Float64)
    array = values.fill_null(np.nan).to_numpy().astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        at = int(np.argmax(bad))
        shown = series[at]
        got = "a blank cell" if shown is None or str(shown).strip() == "" else repr(shown)
        raise InputError(
            f"{what} must be a number. Got {got}.",
            file=file,
            row=_rows(frame)[at],
            column=column,
            fix=fix,
        )
    return array


def _labels(frame: pl.DataFrame, column: str, *, what: str, file: str | None) -> list[str]:
    """Stripped text labels; blank or repeated labels raise :class:`InputError`."""
    values = frame[column].cast(pl.String).str.strip_chars().to_list()
    rows = _rows(frame)
    seen: dict[str, int] = {}
    for row, label in zip(rows, values, strict=True):
        if label is None or label == "":
            raise InputError(
                f"the {what} label is blank.",
                file=file,
                row=row,
                column=column,
                fix=f"give every row a {what} label.",
            )
        if label in seen:
            raise InputError(
                f"the {what} '{label}' appears twice (also row {seen[label]}).",
                file=file,
                row=row,
                column=column,
                fix=f"give each {what} one row.",
            )
        seen[label] = row
    return [str(v) for v in values]


@dataclass(frozen=True)
class _Matrix:
    bands: list[str]
    ages: list[str]
    age_columns: list[str]
    lower: FloatArray
    midpoint: FloatArray
    share: FloatArray
    """Write-down as a fraction, rows × age bands."""
    notes: list[str]


def _parse_matrix(frame: pl.DataFrame, unit: str, file: str | None) -> _Matrix:
    if unit not in ("pct", "fraction"):
        raise ConfigError(
            f"The 'unit' parameter must be 'pct' or 'fraction'. Got {unit!r}.",
            fix="use unit='pct' for 0-100 write-downs, unit='fraction' for 0-1.",
        )
    by_key: dict[str, str] = {}
    for name in frame.columns:
        if _key(name) in RESERVED:
            by_key[_key(name)] = name
    missing = [c for c in (BAND, MIDPOINT) if c not in by_key]
    if missing:
        raise InputError(
            f"the write-down matrix has no column {', '.join(repr(m) for m in missing)} "
            f"(columns: {', '.join(c for c in frame.columns if c != ROW)}).",
            file=file,
            fix="lay it out as stock_days_band, midpoint_days, [lower_days], then one column per "
            "age band holding the write-down in %.",
        )
    age_columns = [c for c in frame.columns if c != ROW and _key(c) not in RESERVED]
    if not age_columns:
        raise InputError(
            "the write-down matrix has no age-band column.",
            file=file,
            fix="add one column per age band (header = band label) holding the write-down in %.",
        )
    if frame.height == 0:
        raise InputError(
            "the write-down matrix has no rows.",
            file=file,
            fix="add one row per stock-days band.",
        )
    band_col = by_key[BAND]
    bands = _labels(frame, band_col, what="stock-days band", file=file)
    midpoint = _numeric(
        frame,
        by_key[MIDPOINT],
        what="the band midpoint (days)",
        file=file,
        fix="give the midpoint of every stock-days band in days, e.g. 56.5 for 29-84.",
    )
    rows = _rows(frame)
    if (midpoint <= 0).any():
        at = int(np.argmax(midpoint <= 0))
        raise InputError(
            f"the band midpoint must be > 0 days. Got {midpoint[at]:g}.",
            file=file,
            row=rows[at],
            column=by_key[MIDPOINT],
            fix="give the midpoint of the stock-days band in days (> 0).",
        )
    if LOWER in by_key:
        lower = _numeric(
            frame,
            by_key[LOWER],
            what="the band's first day (days)",
            file=file,
            fix="give the first day of every stock-days band, e.g. 85 for '>84'.",
        )
    else:
        parsed = [band_lower_days(b) for b in bands]
        if None in parsed:
            at = parsed.index(None)
            raise InputError(
                f"cannot read the first day of the stock-days band '{bands[at]}'.",
                file=file,
                row=rows[at],
                column=band_col,
                fix=_FIX_LABEL,
            )
        lower = np.array(parsed, dtype=np.float64)
    if (lower < 0).any():
        at = int(np.argmax(lower < 0))
        raise InputError(
            f"the band's first day must be ≥ 0. Got {lower[at]:g}.",
            file=file,
            row=rows[at],
            column=by_key.get(LOWER, band_col),
            fix="give the first day of the stock-days band in days (≥ 0).",
        )
    top = 100.0 if unit == "pct" else 1.0
    what = "the write-down (%)" if unit == "pct" else "the write-down (fraction)"
    columns = []
    for column in age_columns:
        values = _numeric(
            frame,
            column,
            what=what,
            file=file,
            percent=unit == "pct",
            fix=f"write the write-down as a number in [0, {top:g}].",
        )
        out_of_range = (values < 0) | (values > top)
        if out_of_range.any():
            at = int(np.argmax(out_of_range))
            hint = (
                " If the matrix holds percentages (25 = 25 %), use unit='pct' (no --fraction)."
                if unit == "fraction" and values[at] > top
                else ""
            )
            raise InputError(
                f"the write-down must be in [0, {top:g}] ({'%' if unit == 'pct' else 'fraction'})."
                f" Got {values[at]:g}.{hint}",
                file=file,
                row=rows[at],
                column=column,
                fix=f"write the write-down as a number in [0, {top:g}].",
            )
        columns.append(values)
    matrix = np.column_stack(columns) / top
    notes = []
    if unit == "pct" and 0 < matrix.max() * 100 <= 1:
        notes.append(
            "every write-down is at most 1 %: if the matrix holds fractions (0.25 = 25 %), use "
            "unit='fraction' (--fraction)."
        )
    return _Matrix(
        bands, [c.strip() for c in age_columns], age_columns, lower, midpoint, matrix, notes
    )


def _match(
    given: list[str], expected: list[str], *, what: str, file: str | None, column: str | None
) -> None:
    unknown = [g for g in given if g not in expected]
    missing = [e for e in expected if e not in given]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append("unknown " + ", ".join(repr(u) for u in unknown))
        if missing:
            parts.append("missing " + ", ".join(repr(m) for m in missing))
        raise InputError(
            f"the {what} labels do not match the write-down matrix: {'; '.join(parts)}.",
            file=file,
            column=column,
            fix=f"use exactly the matrix's {what} labels: {', '.join(expected)}.",
        )


def _check_weights(
    values: FloatArray,
    frame: pl.DataFrame | None,
    column: str | None,
    *,
    what: str,
    file: str | None,
) -> None:
    negative = values < 0
    if negative.any():
        at = int(np.argmax(negative.ravel()))
        row = _rows(frame)[at] if frame is not None else None
        raise InputError(
            f"a {what} weight is negative ({values.ravel()[at]:g}).",
            file=file,
            row=row,
            column=column,
            fix="give weights ≥ 0 (shares of stock value).",
        )
    if not values.sum() > 0:
        raise InputError(
            f"the {what} weights sum to 0.",
            file=file,
            column=column,
            fix="give at least one positive weight (shares of stock value).",
        )


def _vector(weights: Weights, labels: list[str], *, what: str, file: str | None) -> FloatArray:
    """Marginal weights in the order of ``labels`` from a mapping, sequence or 2-column frame."""
    if isinstance(weights, pl.DataFrame):
        columns = [c for c in weights.columns if c != ROW]
        if len(columns) != 2:
            raise InputError(
                f"the {what} weights need two columns (band label, weight). Got "
                f"{len(columns)}: {', '.join(columns)}.",
                file=file,
                fix="write one row per band: label, weight (with a header row).",
            )
        given = _labels(weights, columns[0], what=what + " band", file=file)
        _match(given, labels, what=what + " band", file=file, column=columns[0])
        values = _numeric(
            weights,
            columns[1],
            what=f"the {what} weight",
            file=file,
            fix="give a number ≥ 0 for every band (any scale, they are normalised).",
        )
        _check_weights(values, weights, columns[1], what=what, file=file)
        order = {label: i for i, label in enumerate(given)}
        return values[[order[label] for label in labels]]
    if isinstance(weights, Mapping):
        given = [str(k).strip() for k in weights]
        _match(given, labels, what=what + " band", file=file, column=None)
        mapping = {str(k).strip(): v for k, v in weights.items()}
        raw = [mapping[label] for label in labels]
    else:
        raw = list(np.asarray(weights, dtype=np.float64).ravel())
        if len(raw) != len(labels):
            raise InputError(
                f"{len(raw)} {what} weights for {len(labels)} bands ({', '.join(labels)}).",
                file=file,
                fix=f"give one weight per {what} band, in the matrix's order.",
            )
    values = np.asarray(raw, dtype=np.float64)
    if not np.isfinite(values).all():
        raise InputError(
            f"a {what} weight is not a finite number.",
            file=file,
            fix="give a number ≥ 0 for every band.",
        )
    _check_weights(values, None, None, what=what, file=file)
    return values


def _cells(weights: FloatArray | pl.DataFrame, matrix: _Matrix, file: str | None) -> FloatArray:
    """Joint cell weights (rows × age bands) from a frame in matrix layout or a 2-D array."""
    if not isinstance(weights, pl.DataFrame):
        values = np.asarray(weights, dtype=np.float64)
        shape = (len(matrix.bands), len(matrix.ages))
        if values.shape != shape:
            raise InputError(
                f"the cell weights have shape {values.shape}, the matrix {shape}.",
                file=file,
                fix="give one weight per cell: stock-days bands × age bands.",
            )
        if not np.isfinite(values).all():
            raise InputError(
                "a cell weight is not a finite number.",
                file=file,
                fix="give a number ≥ 0 for every cell.",
            )
        _check_weights(values, None, None, what="cell", file=file)
        return values
    band_col = next((c for c in weights.columns if _key(c) == BAND), None)
    if band_col is None:
        raise InputError(
            "the cell weights have no column 'stock_days_band'.",
            file=file,
            fix="lay the cell weights out like the matrix: stock_days_band, then one column per "
            "age band.",
        )
    given = _labels(weights, band_col, what="stock-days band", file=file)
    _match(given, matrix.bands, what="stock-days band", file=file, column=band_col)
    age_columns = [c for c in weights.columns if c != ROW and _key(c) not in RESERVED]
    _match([c.strip() for c in age_columns], matrix.ages, what="age band", file=file, column=None)
    by_age = {c.strip(): c for c in age_columns}
    order = {label: i for i, label in enumerate(given)}
    take = [order[b] for b in matrix.bands]
    columns = []
    for age in matrix.ages:
        values = _numeric(
            weights,
            by_age[age],
            what="the cell weight",
            file=file,
            fix="give a number ≥ 0 for every cell (any scale, they are normalised).",
        )
        _check_weights(values, weights, by_age[age], what="cell", file=file)
        columns.append(values[take])
    joint = np.column_stack(columns)
    if not joint.sum() > 0:
        raise InputError(
            "the cell weights sum to 0.",
            file=file,
            fix="give at least one positive weight (shares of stock value).",
        )
    return joint


# --------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------


def _threshold(value: Any) -> float:
    number = float(value) if isinstance(value, numbers.Real) else math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number >= 0):
        raise ConfigError(
            f"The 'excess_threshold_days' parameter must be a number in [0, inf). Got {value!r}.",
            fix="e.g. excess_threshold_days=84 (the thesis' excess threshold).",
        )
    return number


def _rates(
    writedown: pl.DataFrame,
    *,
    age_weights: Weights | None,
    stock_days_weights: Weights | None,
    cell_weights: FloatArray | pl.DataFrame | None,
    excess_threshold_days: float,
    unit: str,
    files: Mapping[str, str | None],
    weighting: str | None = None,
    notes: Sequence[str] = (),
) -> ReserveRates:
    threshold = _threshold(excess_threshold_days)
    matrix = _parse_matrix(writedown, unit, files.get("matrix"))
    if cell_weights is not None and (age_weights is not None or stock_days_weights is not None):
        raise InputError(
            "both cell weights and age/stock-days weights were given.",
            fix="give either the joint cell weights or the age and stock-days distributions.",
        )
    if cell_weights is not None:
        joint = _cells(cell_weights, matrix, files.get("cell_weights"))
        described = "cell weights (joint distribution as given)"
    else:
        age = (
            _vector(age_weights, matrix.ages, what="age", file=files.get("age_weights"))
            if age_weights is not None
            else np.ones(len(matrix.ages))
        )
        days = (
            _vector(
                stock_days_weights,
                matrix.bands,
                what="stock-days",
                file=files.get("stock_days_weights"),
            )
            if stock_days_weights is not None
            else np.ones(len(matrix.bands))
        )
        joint = days[:, None] * age[None, :]
        described = {
            (True, True): "age × stock-days weights (independent marginals: cell = product)",
            (True, False): "age weights; stock-days bands weighted equally",
            (False, True): "stock-days weights; age bands weighted equally",
            (False, False): "equal weights (no age or stock-days distribution given)",
        }[(age_weights is not None, stock_days_weights is not None)]
        if not joint.sum() > 0:
            raise InputError(
                "the age × stock-days weights are 0 in every cell.",
                fix="give a positive weight to at least one age band and one stock-days band.",
            )
    rates = cell_rates(matrix.share, matrix.midpoint)
    excess_rows = matrix.lower >= threshold
    if not excess_rows.any():
        first_days = ", ".join(
            f"{b} → {lo:g}" for b, lo in zip(matrix.bands, matrix.lower, strict=True)
        )
        raise InputError(
            f"no stock-days band starts at or above the excess threshold of {threshold:g} days "
            f"(first days: {first_days}).",
            file=files.get("matrix"),
            column=BAND,
            fix=f"add the '>{threshold:g}' row, or lower the threshold (--threshold-days).",
        )
    excess_joint = joint * excess_rows[:, None]
    if not excess_joint.sum() > 0:
        raise InputError(
            "the weights of the excess rows ("
            + ", ".join(b for b, e in zip(matrix.bands, excess_rows, strict=True) if e)
            + ") sum to 0.",
            file=files.get("cell_weights")
            or files.get("stock_days_weights")
            or files.get("age_weights"),
            fix="give the stock above the threshold a positive weight.",
        )
    excess_rate = weighted_rate(rates[excess_rows], joint[excess_rows])
    overall_rate = weighted_rate(rates, joint)
    n_rows, n_ages = rates.shape
    cells = pl.DataFrame(
        {
            "stock_days_band": np.repeat(matrix.bands, n_ages).tolist(),
            "age_band": matrix.ages * n_rows,
            "lower_days": np.repeat(matrix.lower, n_ages),
            "midpoint_days": np.repeat(matrix.midpoint, n_ages),
            "writedown_pct": (matrix.share * 100).ravel(),
            "rate_daily": rates.ravel(),
            "weight": (joint / joint.sum()).ravel(),
            "excess": np.repeat(excess_rows, n_ages),
            "excess_weight": (excess_joint / excess_joint.sum()).ravel(),
        }
    )
    return ReserveRates(
        excess_rate=excess_rate,
        overall_rate=overall_rate,
        cells=cells,
        threshold_days=threshold,
        excess_bands=tuple(b for b, e in zip(matrix.bands, excess_rows, strict=True) if e),
        weighting=weighting or described,
        writedown_unit="pct" if unit == "pct" else "fraction",
        notes=tuple(matrix.notes) + tuple(notes),
    )


def reserve_matrix_rates(
    writedown: pl.DataFrame,
    *,
    age_weights: Weights | None = None,
    stock_days_weights: Weights | None = None,
    cell_weights: FloatArray | pl.DataFrame | None = None,
    excess_threshold_days: float = 84,
    unit: WritedownUnit = "pct",
) -> ReserveRates:
    """Daily discount rates Re (excess) and Ro (overall) from a write-down matrix (SPEC §3.5).

    ``writedown``: one row per stock-days band with ``stock_days_band``, ``midpoint_days`` [days]
    (> 0), optional ``lower_days`` [days] (else parsed from the label, :func:`band_lower_days`),
    and one column per age band with the write-down in % (``unit="pct"``, 0–100) or as a
    fraction (``unit="fraction"``, 0–1). Cell rate = write-down share ÷ midpoint [1/day].

    Weights (non-negative, any scale, normalised): ``cell_weights`` = the joint distribution of
    stock value over the cells (a frame in matrix layout, ``stock_days_band`` + the age columns,
    or a rows × age-bands array); or the marginals ``age_weights`` (per age band) and
    ``stock_days_weights`` (per stock-days band), each a mapping label → weight, a sequence in
    the matrix's order, or a two-column frame (label, weight). With marginals the cell weight is
    their product (age and stock days taken as independent); a missing marginal counts as equal
    weights, no weights at all as equal cell weights.

    Re = weighted mean cell rate over the rows whose ``lower_days`` ≥ ``excess_threshold_days``
    (the thesis' "> 84 days" row), weights renormalised over those rows; Ro = the same over all
    rows (Zijlmans 2025). Raises :class:`InputError` for a malformed matrix or weights.
    """
    return _rates(
        writedown,
        age_weights=age_weights,
        stock_days_weights=stock_days_weights,
        cell_weights=cell_weights,
        excess_threshold_days=excess_threshold_days,
        unit=unit,
        files={},
    )


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _sniff(path: Path, head: bytes) -> str:
    if head.startswith(b"PAR1") or path.suffix.lower() in PARQUET_EXTENSIONS:
        return "parquet"
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")) or path.suffix.lower() in (
        EXCEL_EXTENSIONS
    ):
        return "excel"
    return "csv"


def read_band_table(path: str | Path) -> pl.DataFrame:
    """Read a small table (CSV/TSV, Parquet, or the first sheet of an Excel workbook).

    Returns the columns as written (text files: String; ``;``-separated files may use a decimal
    comma) plus ``_row``, the row number a spreadsheet shows (header = row 1). Blank rows are
    dropped. Raises :class:`InputError` for a missing or unreadable file.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot be opened ({exc.strerror}).",
            file=path,
            fix="check the path and the file's permissions.",
        ) from None
    if not data.strip():
        raise InputError("is empty.", file=path, fix="export the table again with its rows.")
    kind = _sniff(path, data[:8])
    try:
        if kind == "parquet":
            frame = pl.read_parquet(path)
        elif kind == "excel":
            frame = pl.read_excel(
                path,
                sheet_id=1,
                engine="calamine",
                infer_schema_length=None,
                drop_empty_rows=False,
                drop_empty_cols=False,
                raise_if_empty=False,
            )
        else:
            frame = _read_text(path, data)
    except InputError:
        raise
    except Exception as exc:  # polars, calamine and fastexcel raise their own classes
        raise InputError(
            f"cannot be read as {kind} ({str(exc).splitlines()[0] if str(exc) else exc!r}).",
            file=path,
            fix="export it again as CSV, Parquet or Excel (.xlsx).",
        ) from None
    frame = frame.rename({c: str(c).strip() for c in frame.columns}).with_row_index(ROW, offset=2)
    cells = [c for c in frame.columns if c != ROW]
    blank = pl.all_horizontal(
        pl.col(c).cast(pl.String).str.strip_chars().fill_null("") == "" for c in cells
    )
    return frame.filter(~blank).with_columns(pl.col(ROW).cast(pl.Int64))


def _read_text(path: Path, data: bytes) -> pl.DataFrame:
    decoded = decode_text(data, path)
    delimiter = sniff_delimiter(first_record(decoded.text))
    try:
        header, columns = read_csv_tolerant(decoded.text, delimiter)
    except ValueError as exc:
        row, count, width = exc.args
        raise InputError(
            f"a row has {count} fields but the header has {width} (delimiter {delimiter!r}).",
            file=path,
            row=row,
            fix="quote values that contain the delimiter.",
        ) from None
    names = [h.strip() for h in header]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            f"two columns are named {', '.join(repr(r) for r in repeated)}.",
            file=path,
            row=1,
            fix="give every column its own header.",
        )
    frame = pl.DataFrame(
        {
            name: pl.Series(values, dtype=pl.String)
            for name, values in zip(names, columns, strict=True)
        }
    )
    if delimiter == ";":  # European exports: 12,5 means 12.5
        frame = frame.with_columns(
            pl.col(pl.String).str.replace(r"^(\s*[+-]?\d+),(\d+\s*%?\s*)$", "$1.$2")
        )
    return frame


def rates_from_files(
    matrix: str | Path,
    *,
    age_weights: str | Path | None = None,
    stock_days_weights: str | Path | None = None,
    cell_weights: str | Path | None = None,
    stock: str | Path | None = None,
    excess_threshold_days: float = 84,
    unit: WritedownUnit = "pct",
) -> ReserveRates:
    """:func:`reserve_matrix_rates` on files (CSV, Parquet, Excel); errors name file and row.

    Weight files: two columns with a header (band label, weight). ``cell_weights``: the matrix
    layout (``stock_days_band`` + one column per age band). ``stock``: a run's output folder
    (its ``sku_metrics`` and, when present, ``layers``) or a ``sku_metrics`` file; the cells are
    then weighted by that stock's value (:func:`rates_from_stock`).
    """
    frame = read_band_table(matrix)
    files: dict[str, str | None] = {"matrix": str(matrix)}
    if stock is not None:
        if any(w is not None for w in (age_weights, stock_days_weights, cell_weights)):
            raise InputError(
                "both a run's stock and weight files were given.",
                fix="give either --stock or the weight files.",
            )
        metrics, layers = _stock_tables(Path(stock))
        return _rates_from_stock(
            frame,
            metrics,
            layers,
            excess_threshold_days=excess_threshold_days,
            unit=unit,
            files=files,
        )
    tables: dict[str, pl.DataFrame | None] = {}
    for name, path in (
        ("age_weights", age_weights),
        ("stock_days_weights", stock_days_weights),
        ("cell_weights", cell_weights),
    ):
        tables[name] = read_band_table(path) if path is not None else None
        files[name] = str(path) if path is not None else None
    return _rates(
        frame,
        age_weights=tables["age_weights"],
        stock_days_weights=tables["stock_days_weights"],
        cell_weights=tables["cell_weights"],
        excess_threshold_days=excess_threshold_days,
        unit=unit,
        files=files,
    )


# --------------------------------------------------------------------------------------------
# Weights from a run's stock
# --------------------------------------------------------------------------------------------


def _stock_tables(path: Path) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(sku_metrics, layers or None) from a run's output folder or a sku_metrics file."""
    if not path.is_dir():
        return read_band_table(path), None

    def find(stem: str) -> Path | None:
        for suffix in (".parquet", ".csv"):
            if (path / f"{stem}{suffix}").is_file():
                return path / f"{stem}{suffix}"
        return None

    metrics = find("sku_metrics")
    if metrics is None:
        raise InputError(
            "holds no sku_metrics.parquet or sku_metrics.csv.",
            file=path,
            fix="give the output folder of 'deadstock run', or its sku_metrics file.",
        )
    layers = find("layers")
    return read_band_table(metrics), read_band_table(layers) if layers is not None else None


def _first_days(labels: list[str], *, what: str, file: str | None) -> FloatArray:
    parsed = [band_lower_days(label) for label in labels]
    if None in parsed:
        bad = labels[parsed.index(None)]
        raise InputError(
            f"cannot read the first day of the {what} band '{bad}', needed to place the stock "
            "in the matrix.",
            file=file,
            column=bad if what == "age" else BAND,
            fix=_FIX_LABEL,
        )
    lower = np.array(parsed, dtype=np.float64)
    if len(np.unique(lower)) != len(lower):
        raise InputError(
            f"two {what} bands start on the same day ({', '.join(labels)}).",
            file=file,
            fix="give every band its own first day.",
        )
    return lower


def _band_index(days: FloatArray, lower: FloatArray) -> npt.NDArray[np.intp]:
    """Band of every value: the band with the largest first day ≤ value (below all → first)."""
    order = np.argsort(lower)
    position = np.searchsorted(lower[order], days, side="right") - 1
    return order[np.clip(position, 0, len(lower) - 1)]


def _column(frame: pl.DataFrame, name: str, file: str | None) -> FloatArray:
    """A numeric column; blank cells become NaN, text raises :class:`InputError`."""
    if name not in frame.columns:
        raise InputError(
            f"has no column '{name}'.",
            file=file,
            column=name,
            fix="give the sku_metrics (and layers) tables written by 'deadstock run'.",
        )
    series = frame[name]
    if series.dtype == pl.String:
        text = series.str.strip_chars()
        values = text.cast(pl.Float64, strict=False)
        bad = values.is_null() & text.is_not_null() & (text != "")
        if bad.any():
            at = int(bad.arg_max() or 0)
            raise InputError(
                f"must be a number. Got {series[at]!r}.",
                file=file,
                row=_rows(frame)[at],
                column=name,
                fix="give the tables written by 'deadstock run'.",
            )
    elif series.dtype.is_numeric():
        values = series.cast(pl.Float64)
    else:
        raise InputError(
            f"must be numeric (is {series.dtype}).",
            file=file,
            column=name,
            fix="give the tables written by 'deadstock run'.",
        )
    return values.fill_null(np.nan).to_numpy().astype(np.float64)


def stock_cell_weights(
    writedown: pl.DataFrame,
    sku_metrics: pl.DataFrame,
    layers: pl.DataFrame | None = None,
    *,
    files: Mapping[str, str | None] | None = None,
) -> pl.DataFrame:
    """Stock value [currency] per matrix cell, in the matrix layout (cell weights).

    Stock-days band of a SKU-location = the band of its ``days_of_supply`` [days] (blank, i.e. no
    sales, → the last band; below the first band → the first). Age band: with ``layers``, each
    positive FIFO layer's ``value`` goes to the band of its ``age_days``; without, the SKU-
    location's ``stock_value`` goes to the band of its ``avg_age_days`` (an approximation).
    Bands are placed by their first day (:func:`band_lower_days` of the labels; the matrix's
    ``lower_days`` column for stock-days bands when present).
    """
    files = dict(files or {})
    band_col = next((c for c in writedown.columns if _key(c) == BAND), None)
    if band_col is None:
        raise InputError(
            "the write-down matrix has no column 'stock_days_band'.",
            file=files.get("matrix"),
            fix="lay it out as stock_days_band, midpoint_days, [lower_days], age-band columns.",
        )
    bands = _labels(writedown, band_col, what="stock-days band", file=files.get("matrix"))
    lower_col = next((c for c in writedown.columns if _key(c) == LOWER), None)
    days_lower = (
        _numeric(
            writedown,
            lower_col,
            what="the band's first day (days)",
            file=files.get("matrix"),
            fix="give the first day of every stock-days band.",
        )
        if lower_col is not None
        else _first_days(bands, what="stock-days", file=files.get("matrix"))
    )
    ages = [c for c in writedown.columns if c != ROW and _key(c) not in RESERVED]
    age_lower = _first_days([a.strip() for a in ages], what="age", file=files.get("matrix"))

    metrics_file = files.get("sku_metrics")
    supply = _column(sku_metrics, "days_of_supply", metrics_file)
    supply = np.where(np.isnan(supply), np.inf, supply)
    row_of_sku = _band_index(supply, days_lower)
    if layers is None:
        value = _column(sku_metrics, "stock_value", metrics_file)
        age = _column(sku_metrics, "avg_age_days", metrics_file)
        rows = row_of_sku
    else:
        layers_file = files.get("layers")
        keys = [k for k in ("sku", "location") if k in sku_metrics.columns]
        missing = [k for k in keys if k not in layers.columns]
        if not keys or missing:
            raise InputError(
                "cannot join layers to sku_metrics (need columns sku and location in both).",
                file=layers_file,
                fix="give the tables written by 'deadstock run'.",
            )
        band_of = sku_metrics.select(
            *(pl.col(k).cast(pl.String) for k in keys), pl.Series("_band", row_of_sku)
        )
        joined = layers.with_columns(pl.col(k).cast(pl.String) for k in keys).join(
            band_of, on=keys, how="left"
        )
        value = _column(joined, "value", layers_file)
        age = _column(joined, "age_days", layers_file)
        # a layer without a sku_metrics row has no sales figure: the last (slowest) band
        rows = joined["_band"].fill_null(int(np.argmax(days_lower))).to_numpy().astype(np.intp)
    keep = np.isfinite(value) & (value > 0) & np.isfinite(age)
    columns = _band_index(age[keep], age_lower)
    weight = np.zeros((len(bands), len(ages)))
    np.add.at(weight, (rows[keep], columns), value[keep])
    return pl.DataFrame({BAND: bands, **{a: weight[:, j] for j, a in enumerate(ages)}})


def _rates_from_stock(
    writedown: pl.DataFrame,
    sku_metrics: pl.DataFrame,
    layers: pl.DataFrame | None,
    *,
    excess_threshold_days: float,
    unit: str,
    files: Mapping[str, str | None],
) -> ReserveRates:
    weights = stock_cell_weights(writedown, sku_metrics, layers, files=files)
    source = (
        "FIFO layers (value by layer age)"
        if layers is not None
        else ("sku_metrics (stock_value by avg_age_days)")
    )
    return _rates(
        writedown,
        age_weights=None,
        stock_days_weights=None,
        cell_weights=weights,
        excess_threshold_days=excess_threshold_days,
        unit=unit,
        files={**files, "cell_weights": None},
        weighting=f"stock value of the run per cell, from {source} and days_of_supply",
    )


def rates_from_stock(
    writedown: pl.DataFrame,
    sku_metrics: pl.DataFrame,
    layers: pl.DataFrame | None = None,
    *,
    excess_threshold_days: float = 84,
    unit: WritedownUnit = "pct",
) -> ReserveRates:
    """:func:`reserve_matrix_rates` weighted by a run's stock value (:func:`stock_cell_weights`).

    The joint (stock-days × age) distribution of the stock's value is measured, so no
    independence assumption is needed.
    """
    return _rates_from_stock(
        writedown,
        sku_metrics,
        layers,
        excess_threshold_days=excess_threshold_days,
        unit=unit,
        files={},
    )
