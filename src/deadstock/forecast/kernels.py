"""Forecast kernels: a matrix of series in, one point forecast per series out (SPEC §3.3).

Every kernel takes ``y`` of shape (n_series, n_periods) — float64, float32 or integer, a NumPy
array or a memory map — of demand per period [units/period] and returns the one-step-ahead point
forecast of every series, shape (n_series,) [units/period]. These methods give flat forecasts, so
this is also the forecast of every future period. The whole array is used, leading zeros included.

The methods and their exact definitions are those of statsforecast 2.1.1 (Garza, Mergenthaler
Canseco, Challú & Olivares, "StatsForecast: Lightning fast forecasting with statistical and
econometric models", PyCon 2022), so the kernels can be checked against it to 1e-6 relative:

- ``croston_sba`` — Syntetos & Boylan (2005), "The accuracy of intermittent demand estimates",
  Int. J. Forecasting 21(2): 0.95 × SES(demand sizes, 0.1) ÷ SES(inter-demand intervals, 0.1).
- ``tsb`` — Teunter, Syntetos & Babai (2011), "Intermittent demand: linking forecasting to
  inventory obsolescence", EJOR 214(3): SES(demand occurrence 0/1, alpha_p) × SES(sizes, alpha_d).
- ``adida`` — Nikolopoulos et al. (2011), "An aggregate–disaggregate intermittent demand approach
  (ADIDA)", JORS 62(3): sums over non-overlapping blocks of L periods (L = round(mean
  inter-demand interval), the oldest n mod L periods dropped), optimised SES on the sums, ÷ L.
- ``imapa`` — Petropoulos & Kourentzes (2015), "Forecast combinations for intermittent demand",
  JORS 66(6): the mean over L = 1 … round(mean interval) of the ADIDA forecast at level L.

SES with a fixed alpha is a weighted sum, so Croston and TSB are computed from the non-zero
entries only: the level of a sequence s_0 … s_(K−1) is (1 − alpha)^(K−1)·s_0 +
alpha·Σ_(i≥1) (1 − alpha)^(K−1−i)·s_i. The optimised SES of ADIDA and IMAPA runs on the aggregated
sums of all series at once (:func:`deadstock.forecast.smoothing.optimal_ses`); aggregation levels
with the same number of blocks share one call. Series are processed in chunks of ``chunk_size``
rows (converted to float64 one chunk at a time) on ``n_jobs`` threads — NumPy releases the GIL in
its array operations — or, with ``processes=True``, forked processes: the many short NumPy calls
of these kernels hand the GIL back and forth between threads, so processes scale better on
large inputs.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar, cast

import numpy as np

from deadstock.forecast.smoothing import (
    ExactSearch,
    Workspace,
    optimal_ses,
    optimal_ses_deferred,
    ses_forecast,
)

INTERMITTENT_METHODS: tuple[str, ...] = ("croston_sba", "tsb", "adida", "imapa")
SBA_FACTOR = 0.95  # Syntetos–Boylan bias correction 1 − alpha/2 for alpha = 0.1
CROSTON_ALPHA = 0.1
AGGREGATE_BOUNDS = (0.1, 0.3)  # statsforecast's alpha bounds for ADIDA and IMAPA
DEFAULT_CHUNK = 50_000
MIN_CHUNK = 40_000  # rows per chunk below which threads cost more than they save
MIN_CHUNK_PROCESSES = 5_000  # the same for processes
PARALLEL_CELLS = 2_000_000  # series × periods below which deferred searches run on one thread
SMALL_GROUP_SERIES = 1_000  # exact searches below which a group joins the next longer one

T = TypeVar("T")
R = TypeVar("R")


# ---------------------------------------------------------------------------------------------
# Public kernels
# ---------------------------------------------------------------------------------------------
def ses(
    y: np.ndarray,
    alpha: float | np.ndarray,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    n_jobs: int | None = None,
    processes: bool = False,
) -> np.ndarray:
    """Simple exponential smoothing with a fixed alpha (scalar or one per series) [units/period].

    statsforecast ``SimpleExponentialSmoothing(alpha)``: level f_0 = y_0, f_t = alpha·y_(t−1) +
    (1 − alpha)·f_(t−1); the forecast is alpha·y_(n−1) + (1 − alpha)·f_(n−1).
    """
    y = _matrix(y)
    alphas = _per_series(alpha, y.shape[0], "alpha", 0.0, 1.0)

    def block(rows: slice) -> dict[str, np.ndarray]:
        x = _period_major(y[rows], nonnegative=False)
        return {"forecast": ses_forecast(x, alphas[rows])}

    return _map_rows(block, y.shape[0], chunk_size, n_jobs, processes)["forecast"]


def ses_optimised(
    y: np.ndarray,
    lower: float = 0.1,
    upper: float = 0.3,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    n_jobs: int | None = None,
    processes: bool = False,
) -> np.ndarray:
    """SES with the alpha in [lower, upper] that minimises the in-sample one-step SSE.

    statsforecast ``_optimized_ses_forecast`` (its ``SimpleExponentialSmoothingOptimized`` uses
    bounds 0.01–0.99). The golden-section search runs on all series at once.
    """
    y = _matrix(y)
    _check_bounds(lower, upper)

    def block(rows: slice) -> dict[str, np.ndarray]:
        x = _period_major(y[rows], nonnegative=False)
        return {"forecast": optimal_ses(x, lower, upper)[0]}

    return _map_rows(block, y.shape[0], chunk_size, n_jobs, processes)["forecast"]


def seasonal_ses(
    y: np.ndarray,
    index: np.ndarray,
    lower: float = 0.01,
    upper: float = 0.99,
    *,
    min_index: float = 0.05,
    chunk_size: int = DEFAULT_CHUNK,
    n_jobs: int | None = None,
    processes: bool = False,
) -> np.ndarray:
    """Deseasonalised SES level per series [units/period at seasonal index 1].

    For smooth and erratic demand (SPEC §3.3): y_t ÷ s_t with the multiplicative seasonal index
    s_t of period t (array broadcastable to y's shape, normalised to mean 1 by the caller; values
    below ``min_index`` count as ``min_index`` so off-season periods do not blow up), optimised SES
    on that series (alpha in [lower, upper]), and its level is returned. The forecast of a future
    period t is level × s_t: the caller multiplies by the future periods' index.
    """
    y = _matrix(y)
    _check_bounds(lower, upper)
    if not min_index > 0:
        raise ValueError(f"The 'min_index' parameter must be a float in (0, inf). Got {min_index}.")
    season = np.broadcast_to(np.asarray(index, dtype=np.float64), y.shape)
    if not np.isfinite(season).all():
        raise ValueError("The 'index' parameter must hold finite numbers.")

    def block(rows: slice) -> dict[str, np.ndarray]:
        x = _period_major(y[rows], nonnegative=False)
        x /= np.maximum(season[rows].T, min_index)
        return {"forecast": optimal_ses(x, lower, upper)[0]}

    return _map_rows(block, y.shape[0], chunk_size, n_jobs, processes)["forecast"]


def croston_sba(
    y: np.ndarray,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    n_jobs: int | None = None,
    processes: bool = False,
) -> np.ndarray:
    """Croston with the Syntetos–Boylan approximation [units/period] (statsforecast
    ``CrostonSBA``); 0 for a series without demand."""
    return intermittent_forecasts(
        y, ("croston_sba",), chunk_size=chunk_size, n_jobs=n_jobs, processes=processes
    )["croston_sba"]


def tsb(
    y: np.ndarray,
    alpha_d: float = 0.1,
    alpha_p: float = 0.1,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    n_jobs: int | None = None,
    processes: bool = False,
) -> np.ndarray:
    """Teunter–Syntetos–Babai [units/period] (statsforecast ``TSB(alpha_d, alpha_p)``): smoothed
    probability of demand (alpha_p, every period) × smoothed demand size (alpha_d, non-zero
    periods); 0 for a series without demand."""
    return intermittent_forecasts(
        y,
        ("tsb",),
        alpha_d=alpha_d,
        alpha_p=alpha_p,
        chunk_size=chunk_size,
        n_jobs=n_jobs,
        processes=processes,
    )["tsb"]


def adida(
    y: np.ndarray,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    n_jobs: int | None = None,
    processes: bool = False,
) -> np.ndarray:
    """ADIDA [units/period] (statsforecast ``ADIDA``); 0 for a series without demand."""
    return intermittent_forecasts(
        y, ("adida",), chunk_size=chunk_size, n_jobs=n_jobs, processes=processes
    )["adida"]


def imapa(
    y: np.ndarray,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    n_jobs: int | None = None,
    processes: bool = False,
) -> np.ndarray:
    """IMAPA [units/period] (statsforecast ``IMAPA``); 0 for a series without demand."""
    return intermittent_forecasts(
        y, ("imapa",), chunk_size=chunk_size, n_jobs=n_jobs, processes=processes
    )["imapa"]


def intermittent_forecasts(
    y: np.ndarray,
    methods: Sequence[str] = INTERMITTENT_METHODS,
    *,
    alpha_d: float = 0.1,
    alpha_p: float = 0.1,
    chunk_size: int = DEFAULT_CHUNK,
    n_jobs: int | None = None,
    processes: bool = False,
) -> dict[str, np.ndarray]:
    """Several intermittent methods in one pass over ``y``: method name → forecasts (n_series,).

    ``methods`` ⊆ croston_sba, tsb, adida, imapa. ADIDA is IMAPA's top level, so asking for both
    costs about as much as IMAPA alone. ``y`` must be ≥ 0 (demand, not net returns).
    """
    y = _matrix(y)
    wanted = tuple(dict.fromkeys(methods))
    unknown = [m for m in wanted if m not in INTERMITTENT_METHODS]
    if unknown or not wanted:
        raise ValueError(
            f"The 'methods' parameter must name some of {', '.join(INTERMITTENT_METHODS)}. "
            f"Got {list(methods)}."
        )
    _per_series(alpha_d, 1, "alpha_d", 0.0, 1.0)
    _per_series(alpha_p, 1, "alpha_p", 0.0, 1.0)

    workspaces: dict[int, Workspace] = {}  # one per thread, for this call only

    def block(rows: slice) -> _Partial:
        chunk = np.asarray(y[rows])
        _check_values(chunk, nonnegative=True)
        workspace = workspaces.setdefault(threading.get_ident(), Workspace())
        return _intermittent_block(
            chunk, wanted, alpha_d, alpha_p, first_row=rows.start, workspace=workspace
        )

    slices = _slices(y.shape[0], _balanced(y.shape[0], chunk_size, n_jobs, processes))
    parts = _run(block, slices, n_jobs, processes)
    out = {key: np.concatenate([p.values[key] for p in parts]) for key in parts[0].values}
    deferred = [d for p in parts for d in p.deferred]
    if deferred:
        _finish_deferred(out, deferred, n_jobs, processes)
    if "imapa" in wanted:  # mean over the levels 1 … L of the per-period forecasts
        levels = out.pop("_levels")
        with np.errstate(invalid="ignore", divide="ignore"):
            out["imapa"] = np.where(levels > 0, out["imapa"] / np.maximum(levels, 1), 0.0)
    return {m: out[m] for m in wanted}


# ---------------------------------------------------------------------------------------------
# One chunk of series
# ---------------------------------------------------------------------------------------------
@dataclass
class _Deferred:
    """Aggregated series of one SES call left to the exact golden section (see
    :class:`~deadstock.forecast.smoothing.ExactSearch`), with, per series: its row in ``y``, its
    aggregation level and whether that level is its ADIDA (top) level."""

    search: ExactSearch
    rows: np.ndarray
    level: np.ndarray
    top: np.ndarray


@dataclass
class _Partial:
    """Forecasts of one chunk of rows (IMAPA as the sum over levels, with ``_levels``) and the
    series left to the exact golden section."""

    values: dict[str, np.ndarray]
    deferred: list[_Deferred]


def _intermittent_block(
    block: np.ndarray,
    methods: tuple[str, ...],
    alpha_d: float,
    alpha_p: float,
    first_row: int = 0,
    workspace: Workspace | None = None,
) -> _Partial:
    """The requested intermittent forecasts of one chunk ``block`` (n_series, n_periods) whose
    first row is row ``first_row`` of ``y``."""
    n_series, n_periods = block.shape
    # Row-major positions: grouped by series, periods ascending (faster than np.nonzero).
    rows, cols = np.divmod(np.flatnonzero(block != 0), n_periods)
    values = block[rows, cols].astype(np.float64)
    count = np.bincount(rows, minlength=n_series)
    first = np.cumsum(count) - count  # position of each series' first non-zero entry
    has_demand = count > 0
    out: dict[str, np.ndarray] = {}
    deferred: list[_Deferred] = []
    if "croston_sba" in methods or "tsb" in methods:
        rank = np.arange(rows.size) - first[rows]
        from_end = count[rows] - 1 - rank
        is_first = rank == 0
        sizes = _sparse_ses(rows, from_end, is_first, values, alpha_d, n_series)
        if "croston_sba" in methods:
            sizes_01 = (
                sizes
                if alpha_d == CROSTON_ALPHA
                else _sparse_ses(rows, from_end, is_first, values, CROSTON_ALPHA, n_series)
            )
            gaps = np.empty(cols.size)
            gaps[1:] = np.diff(cols)
            gaps[is_first] = cols[is_first] + 1  # first interval counts from before period 0
            intervals = _sparse_ses(rows, from_end, is_first, gaps, CROSTON_ALPHA, n_series)
            with np.errstate(invalid="ignore", divide="ignore"):
                out["croston_sba"] = np.where(has_demand, SBA_FACTOR * sizes_01 / intervals, 0.0)
        if "tsb" in methods:
            periods_from_end = n_periods - 1 - cols
            occurrence = _sparse_ses(
                rows, periods_from_end, cols == 0, np.ones(cols.size), alpha_p, n_series
            )
            out["tsb"] = occurrence * sizes
    if "adida" in methods or "imapa" in methods:
        last = np.zeros(n_series, dtype=np.int64)
        last[has_demand] = cols[first[has_demand] + count[has_demand] - 1]
        levels = np.zeros(n_series, dtype=np.int64)
        # statsforecast: round(mean interval), mean interval = (last non-zero period + 1) ÷ count;
        # np.round rounds halves to even, like Python's round.
        levels[has_demand] = np.round((last[has_demand] + 1) / count[has_demand]).astype(np.int64)
        sums, deferred = _aggregated(
            block, levels, "imapa" in methods, "adida" in methods, workspace or Workspace()
        )
        for item in deferred:
            item.rows += first_row
        out.update(sums)
        if "imapa" in methods:
            out["_levels"] = levels.astype(np.float64)
    return _Partial(out, deferred)


def _sparse_ses(
    rows: np.ndarray,
    steps_from_end: np.ndarray,
    is_first: np.ndarray,
    values: np.ndarray,
    alpha: float,
    n_series: int,
) -> np.ndarray:
    """Fixed-alpha SES level of every series' sequence of ``values`` (entries grouped by ``rows``).

    Weight of an entry: (1 − alpha)^k with k steps to the sequence's last entry, × alpha unless it
    is the sequence's first entry (which is also the initial level).
    """
    top = int(steps_from_end.max()) + 1 if steps_from_end.size else 1
    powers = (1.0 - alpha) ** np.arange(top, dtype=np.float64)
    weights = powers[steps_from_end]
    weights[~is_first] *= alpha
    return np.bincount(rows, weights=weights * values, minlength=n_series)


def _aggregated(
    block: np.ndarray,
    levels: np.ndarray,
    want_imapa: bool,
    want_adida: bool,
    workspace: Workspace,
) -> tuple[dict[str, np.ndarray], list[_Deferred]]:
    """IMAPA (sum over levels) and/or ADIDA of the series of ``block`` with aggregation ``levels``
    (0 = no demand), and the series left to the exact golden section.

    Series are ordered by level, descending, so the series taking part at level L (all with
    level ≥ L for IMAPA, level = L for ADIDA) are one contiguous range of columns of the
    period-major cumulative sums, from which the sums over blocks of L periods are differences.
    Levels with the same number of blocks m = n // L run in one SES call.
    """
    n_series, n_periods = block.shape
    order = np.argsort(-levels, kind="stable")
    ranked = levels[order]
    cumulative = period_major(block, order, out=workspace.array("cumulative", block.shape[::-1]))
    for t in range(1, n_periods):  # running sums over periods (axis-0 cumsum is slow)
        np.add(cumulative[t - 1], cumulative[t], out=cumulative[t])

    def at_least(level: int) -> int:
        """Number of series with level ≥ ``level`` (a prefix of the ranking)."""
        return int(np.searchsorted(-ranked, -level, side="right"))

    total = np.zeros(n_series)
    top_level = np.zeros(n_series)
    deferred: list[_Deferred] = []
    by_blocks: dict[int, list[int]] = {}
    for level in range(1, int(ranked[0]) + 1 if n_series else 1):
        by_blocks.setdefault(n_periods // level, []).append(level)
    for n_blocks, group in by_blocks.items():
        spans: list[tuple[int, int, int]] = []
        for level in group:
            stop = at_least(level)
            start = 0 if want_imapa else at_least(level + 1)
            if stop > start:
                spans.append((level, start, stop))
        if not spans:
            continue
        width = sum(stop - start for _, start, stop in spans)
        stacked = workspace.array("sums", (n_blocks, width))
        offset = 0
        for level, start, stop in spans:
            lost = n_periods - n_blocks * level  # statsforecast drops the oldest n mod L periods
            ends = cumulative[lost + level - 1 :: level, start:stop]
            sums = stacked[:, offset : offset + stop - start]
            np.subtract(ends[1:], ends[:-1], out=sums[1:])
            if lost:
                np.subtract(ends[0], cumulative[lost - 1, start:stop], out=sums[0])
            else:
                sums[0] = ends[0]
            offset += stop - start
        forecast, _, exact = optimal_ses_deferred(stacked, *AGGREGATE_BOUNDS, workspace=workspace)
        column_level = np.concatenate([np.full(b - a, lv) for lv, a, b in spans])
        column_rank = np.concatenate([np.arange(a, b) for _, a, b in spans])
        is_top = ranked[column_rank] == column_level
        per_period = np.nan_to_num(forecast / column_level)  # deferred columns count 0 for now
        total += np.bincount(column_rank, weights=per_period, minlength=n_series)
        top_level[column_rank[is_top]] = per_period[is_top]
        if exact.columns.size:
            cols = exact.columns
            deferred.append(
                _Deferred(exact, order[column_rank[cols]], column_level[cols], is_top[cols])
            )
    out: dict[str, np.ndarray] = {}
    if want_imapa:
        out["imapa"] = np.empty(n_series)
        out["imapa"][order] = total
    if want_adida:
        out["adida"] = np.empty(n_series)
        out["adida"][order] = top_level
    return out, deferred


def _finish_deferred(
    out: dict[str, np.ndarray], deferred: list[_Deferred], n_jobs: int | None, processes: bool
) -> None:
    """Run the exact golden sections left by all chunks, grouped by series length (shorter series
    zero-padded, at most doubling the length), and add their forecasts to the IMAPA sums and
    ADIDA forecasts in ``out``."""
    by_length: dict[int, list[_Deferred]] = {}  # lengths in (2^(k−1), 2^k] share a block
    for item in deferred:
        by_length.setdefault(int(np.ceil(np.log2(item.search.x.shape[0]))), []).append(item)
    # Each step of a block costs Python overhead whatever its width: a group with little work
    # joins the next longer one (its series are zero-padded further).
    groups: list[list[_Deferred]] = []
    pending: list[_Deferred] = []
    for bucket in sorted(by_length):
        pending.extend(by_length[bucket])
        if sum(i.search.x.shape[1] for i in pending) >= SMALL_GROUP_SERIES:
            groups.append(pending)
            pending = []
    if pending:
        groups.append(pending)

    def finish(items: list[_Deferred]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        search = ExactSearch.concat([i.search for i in items])
        forecast, _ = search.finish()
        return (
            np.concatenate([i.rows for i in items]),
            forecast / np.concatenate([i.level for i in items]),
            np.concatenate([i.top for i in items]),
        )

    cells = sum(i.search.x.size for i in deferred)
    # Threads pay off only for large groups (small ones are dominated by Python overhead, which
    # holds the GIL); processes for any two groups or more. Longest groups first.
    groups.sort(key=lambda items: -max(i.search.x.shape[0] for i in items))
    parallel = processes or cells >= PARALLEL_CELLS
    results = _run(finish, groups, n_jobs if parallel else 1, processes)
    for rows, per_period, top in results:
        if "imapa" in out:
            out["imapa"] += np.bincount(rows, weights=per_period, minlength=out["imapa"].size)
        if "adida" in out:
            out["adida"][rows[top]] = per_period[top]


# ---------------------------------------------------------------------------------------------
# Input checks and chunking
# ---------------------------------------------------------------------------------------------
def _matrix(y: np.ndarray) -> np.ndarray:
    """``y`` as a 2-D array (not copied); raises ValueError on another shape or dtype."""
    array = np.asarray(y) if not isinstance(y, np.ndarray) else y
    if array.ndim != 2:
        raise ValueError(
            f"The 'y' parameter must be a 2-D array (n_series, n_periods). Got {array.ndim} "
            "dimension(s)."
        )
    if array.shape[1] == 0:
        raise ValueError("The 'y' parameter must hold at least one period per series.")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"The 'y' parameter must hold numbers. Got dtype {array.dtype}.")
    return array


def _rows_float(rows: np.ndarray, nonnegative: bool) -> np.ndarray:
    """A chunk of rows as C-contiguous float64, checked finite (and ≥ 0 when asked)."""
    block = np.ascontiguousarray(rows, dtype=np.float64)
    _check_values(block, nonnegative)
    return block


def _check_values(block: np.ndarray, nonnegative: bool) -> None:
    """Raise ValueError unless ``block`` is finite (and ≥ 0 when ``nonnegative``)."""
    if block.size:
        low = block.min()
        if np.issubdtype(block.dtype, np.floating) and not np.isfinite(block).all():
            raise ValueError("The 'y' parameter must hold finite numbers (no NaN or inf).")
        if nonnegative and low < 0:
            raise ValueError(
                f"The 'y' parameter must be ≥ 0 for intermittent methods. Got {low}. "
                "Clip net returns to 0 first."
            )


def _period_major(rows: np.ndarray, nonnegative: bool) -> np.ndarray:
    """A chunk of rows, checked, as a C-contiguous float64 (n_periods, n_rows) copy."""
    _check_values(rows, nonnegative)
    return period_major(rows)


def period_major(
    rows: np.ndarray,
    order: np.ndarray | None = None,
    tile: int = 64,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """float64 (n_periods, n_rows) copy of ``rows`` (n_rows, n_periods), rows taken in ``order``.

    Copied in tiles of ``tile`` rows: several times faster than one strided transpose. With
    ``order``, each tile's rows are gathered on their own (no reordered copy of all of ``rows``).
    """
    n_rows, n_periods = rows.shape
    if out is None:
        out = np.empty((n_periods, n_rows))
    for start in range(0, n_rows, tile):
        part = (
            rows[start : start + tile]
            if order is None
            else np.take(rows, order[start : start + tile], axis=0)
        )
        out[:, start : start + tile] = part.T
    return out


def _per_series(
    value: float | np.ndarray, n_series: int, name: str, low: float, high: float
) -> np.ndarray:
    """A scalar or (n_series,) parameter as a float64 array checked in [low, high]."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(n_series, float(array))
    if array.shape != (n_series,) or not (np.all(array >= low) and np.all(array <= high)):
        raise ValueError(
            f"The '{name}' parameter must be a float in [{low}, {high}] or one per series. "
            f"Got {value!r}."
        )
    return array


def _check_bounds(lower: float, upper: float) -> None:
    if not 0.0 < lower < upper < 1.0:
        raise ValueError(
            f"The 'lower' and 'upper' parameters must satisfy 0 < lower < upper < 1. "
            f"Got {lower}, {upper}."
        )


def _balanced(n_rows: int, chunk_size: int, n_jobs: int | None, processes: bool) -> int:
    """``chunk_size``, made smaller when there are fewer rows than one chunk per worker (so every
    worker gets work), but not below ``MIN_CHUNK`` rows for threads (``MIN_CHUNK_PROCESSES`` for
    processes)."""
    workers = n_jobs or os.cpu_count() or 1
    if workers > 1 and isinstance(chunk_size, int) and n_rows < workers * chunk_size:
        smallest = MIN_CHUNK_PROCESSES if processes else MIN_CHUNK
        return max(min(chunk_size, smallest), -(-n_rows // workers))
    return chunk_size


def _slices(n_rows: int, chunk_size: int) -> list[slice]:
    """Consecutive row slices of at most ``chunk_size`` rows (one empty slice for no rows)."""
    if not (isinstance(chunk_size, int) and chunk_size >= 1):
        raise ValueError(
            f"The 'chunk_size' parameter must be an int in [1, inf). Got {chunk_size}."
        )
    return [slice(s, min(s + chunk_size, n_rows)) for s in range(0, n_rows, chunk_size)] or [
        slice(0, 0)
    ]


def _run(
    func: Callable[[T], R], items: Sequence[T], n_jobs: int | None, processes: bool = False
) -> list[R]:
    """``func`` over ``items`` on ``n_jobs`` workers (None: one per CPU), results in order.

    Workers are threads, or with ``processes`` forked processes where the platform can fork
    (they inherit the inputs without a copy and send back only the results).
    """
    if n_jobs is not None and not (isinstance(n_jobs, int) and n_jobs >= 1):
        raise ValueError(
            f"The 'n_jobs' parameter must be an int in [1, inf) or None. Got {n_jobs}."
        )
    workers = min(n_jobs or os.cpu_count() or 1, len(items))
    if workers <= 1:
        return [func(item) for item in items]
    if processes and "fork" in mp.get_all_start_methods():
        with _FORK_LOCK:  # the forked workers find the task in _FORKED
            _FORKED.update(func=func, items=items)
            try:
                context = mp.get_context("fork")
                if len(items) == workers:
                    # One item per worker: this process takes the first itself (one fork
                    # fewer, one result less to send back). With more items than workers the
                    # pool balances them.
                    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context) as pool:
                        rest = pool.map(_forked_call, range(1, len(items)))
                        first = func(items[0])
                        return [first, *cast(list[R], list(rest))]
                with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                    return cast(list[R], list(pool.map(_forked_call, range(len(items)))))
            finally:
                _FORKED.clear()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items))


_FORKED: dict[str, object] = {}
_FORK_LOCK = threading.Lock()


def _forked_call(index: int) -> object:
    """In a forked worker: the inherited task's function on its item ``index``."""
    func: Callable[[object], object] = _FORKED["func"]  # type: ignore[assignment]
    items: Sequence[object] = _FORKED["items"]  # type: ignore[assignment]
    return func(items[index])


def _map_rows(
    func: Callable[[slice], dict[str, np.ndarray]],
    n_rows: int,
    chunk_size: int,
    n_jobs: int | None,
    processes: bool = False,
) -> dict[str, np.ndarray]:
    """``func`` on consecutive row slices, each output concatenated in row order."""
    slices = _slices(n_rows, _balanced(n_rows, chunk_size, n_jobs, processes))
    results = _run(func, slices, n_jobs, processes)
    return {key: np.concatenate([r[key] for r in results]) for key in results[0]}
