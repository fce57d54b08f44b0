"""Simple exponential smoothing (SES) on period-major arrays, and the choice of its alpha.

Every function here takes ``x`` of shape (n_periods, n_series): row t holds period t of every
series, so each period is one contiguous whole-array operation over all series (a Python loop runs
over periods, never over series). The public kernels in :mod:`deadstock.forecast.kernels` transpose
blocks of series into this layout.

The definitions are those of statsforecast 2.1.1 (``src/ses.cpp``: ``ses_forecast``, ``ses_sse``,
``golden_section_ses``), so the forecasts can be checked against it:

- level: f_0 = x_0, f_t = alpha·x_(t−1) + (1 − alpha)·f_(t−1) for t = 1 … n−1; the one-step-ahead
  forecast is alpha·x_(n−1) + (1 − alpha)·f_(n−1) (x_0 itself for a single period).
- SSE(alpha) = Σ_(t=1…n−1) (x_t − f_t)² (0 for fewer than two periods).
- alpha is chosen by a golden-section search on [lower, upper] that stops when the bracket is
  narrower than 1e-12 or the two inner SSEs are exactly equal, and returns the bracket's midpoint.

The golden section needs about 56 SSE passes over the data. :func:`optimal_ses` reaches the same
alpha with about ten:

1. The first golden-section steps, until the bracket is narrower than ``COARSE_WIDTH`` (5 steps
   for [0.1, 0.3], 9 for [0.01, 0.99]), run as statsforecast's, in float32 (their
   comparisons only choose which part of the bracket to keep). When the SSE has several local
   minima these steps choose the one statsforecast ends in. Series with a comparison closer
   than float32 can tell (``FLOAT32_RESOLUTION``), or two equal SSEs, go to step 3.
2. Inside the remaining bracket [a, b] the sign of SSE′ at a, then at b (one pass each, SSE′
   carried by forward differentiation) settles the series whose minimum is an end of the bracket;
   the others are found by Newton's method on SSE′ inside the bracket.
3. Some series run the golden section exactly, in float64, with the operations of statsforecast
   in the same order (so bit for bit the same steps): those sent by step 1; *flat* series, whose
   first n−1 periods are equal (SSE does not depend on alpha mathematically, so statsforecast's
   choice is decided by exact ties or rounding); *sensitive* ones, with |dF/dalpha| ÷ F above
   ``SENSITIVE`` (long runs of zeros after the last demand: the golden section resolves alpha
   only to about 1e-8, and the forecast would amplify the difference beyond 1e-6); ends whose
   SSE′ is too small to trust; and ends or Newton roots in a nearly flat bracket (``RELIEF``),
   where tiny wiggles of the SSE can hold local minima the golden section would end in.

Checked on 132,000 aggregated series of all shapes (including SSEs with several minima and
nearly flat ones): the forecasts equal statsforecast's to better than 2e-7 relative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import DTypeLike

GOLDEN_RATIO = (np.sqrt(5.0) + 1.0) / 2.0
GOLDEN_TOLERANCE = 1e-12  # statsforecast's stopping width of the golden-section bracket
COARSE_WIDTH = 0.02  # bracket width [alpha] the coarse golden-section steps narrow down to
FLOAT32_RESOLUTION = 3e-6  # relative SSE difference below which a float32 comparison is unsure
NEWTON_TOLERANCE = 1e-12  # stop when the Newton bracket is this narrow [alpha]
NEWTON_ACCEPT = 1e-5  # a Newton step this short is taken without checking it [alpha]
NEWTON_MAX_STEPS = 100
SENSITIVE = 10.0  # |dF/dalpha| ÷ F above which the exact golden section decides alpha
TRUST_MARGIN = 1e-7  # an end is trusted when |SSE′| > TRUST_MARGIN × sensitivity × SSE
RELIEF = 1e-4  # ... and |SSE′| × width > RELIEF × SSE; a Newton root when SSE″ × width² > it


@dataclass
class Workspace:
    """Reusable buffers for large temporary arrays, one per role.

    Freshly allocated arrays of hundreds of megabytes are returned to the operating system when
    freed and page-fault again when the next one is written; reusing buffers avoids that cost.
    A view handed out for a role is valid until the next request for the same role.
    """

    buffers: dict[str, np.ndarray] = field(default_factory=dict)

    def array(self, role: str, shape: tuple[int, ...], dtype: DTypeLike = np.float64) -> np.ndarray:
        """An uninitialised C-contiguous array of ``shape`` backed by the buffer of ``role``."""
        size = int(np.prod(shape))
        key = f"{role}:{np.dtype(dtype).name}"
        buffer = self.buffers.get(key)
        if buffer is None or buffer.size < size:
            buffer = np.empty(max(size, 1), dtype=dtype)
            self.buffers[key] = buffer
        return buffer[:size].reshape(shape)

    def columns(self, role: str, x: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """The columns ``ids`` of ``x`` copied into the buffer of ``role``."""
        return np.take(x, ids, axis=1, out=self.array(role, (x.shape[0], ids.size), x.dtype))


def ses_forecast(
    x: np.ndarray, alpha: np.ndarray | float, first: np.ndarray | None = None
) -> np.ndarray:
    """One-step-ahead SES forecast per series (statsforecast ``ses_forecast``).

    ``x`` (n_periods, n_series) [units/period]; ``alpha`` scalar or (n_series,). Returns
    (n_series,) [units/period]; x_0 when there is a single period. ``first``: per series, the
    period where it starts (earlier periods are zero padding); default 0.
    """
    n_periods = x.shape[0]
    alpha = np.asarray(alpha, dtype=np.float64)
    complement = 1.0 - alpha
    level = x[0].astype(np.float64, copy=True)
    starts = _starts(first)
    last = n_periods - 1 if first is None else n_periods - 1 - first
    single = last == 0  # statsforecast returns x_0 itself for a single period
    for t in range(1, n_periods + 1):
        if t - 1 in starts and first is not None:
            np.copyto(level, x[t - 1], where=first == t - 1)
        level = alpha * x[t - 1] + complement * level
    return np.where(single, x[n_periods - 1], level)


def _starts(first: np.ndarray | None) -> set[int]:
    """The periods at which some padded series starts (a level reset there)."""
    return set() if first is None else {int(v) for v in np.unique(first) if v > 0}


@dataclass
class SesPass:
    """Result of one pass of SES over a block at one alpha per series.

    forecast [units/period], sse [units²], and when requested d_sse = dSSE/dalpha,
    d2_sse = d²SSE/dalpha² and d_forecast = dF/dalpha.
    """

    forecast: np.ndarray
    sse: np.ndarray
    d_sse: np.ndarray | None = None
    d2_sse: np.ndarray | None = None
    d_forecast: np.ndarray | None = None

    def take(self, ids: np.ndarray) -> SesPass:
        """The results of the series ``ids``."""

        def pick(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[ids]

        return SesPass(
            self.forecast[ids],
            self.sse[ids],
            pick(self.d_sse),
            pick(self.d2_sse),
            pick(self.d_forecast),
        )


def sse_exact(
    x: np.ndarray, alpha: np.ndarray, first: np.ndarray | None = None, tile: int | None = None
) -> np.ndarray:
    """SSE of every float64 series at its own ``alpha`` [units²], with statsforecast's ``ses_sse``
    operations in the same order, so bit-identical (the exact golden section relies on it).

    ``first``: per series, the period where it starts; the periods before are zero padding (the
    level stays 0 there, adding nothing) and the level is set to x_first at that period, so
    series of different lengths share one block.

    Only the level recurrence runs period by period (two operations); alpha·x_(t−1), the errors
    and their squares are computed for ``tile`` periods at once, and the running SSE is the first
    row of the tile summed along the periods (a sequential sum, so the same additions in the
    same order): fewer, larger NumPy calls on the narrow blocks of the exact searches
    (default ``tile``: 64 periods for narrow blocks, down to 16 for wide ones).
    """
    n_periods, n_series = x.shape
    if n_periods < 2:
        return np.zeros(n_series)
    starts = _starts(first)
    alpha = np.asarray(alpha, dtype=np.float64)
    complement = 1.0 - alpha
    if tile is None:
        tile = max(16, min(64, (1 << 16) // max(n_series, 1)))
    tile = max(1, min(tile, n_periods - 1))
    buffer = np.empty((tile + 1, n_series))  # row 0: running SSE; then levels, then errors²
    buffer[0] = 0.0
    smoothed = np.empty((tile, n_series))
    kept = np.empty(n_series)
    multiply, add = np.multiply, np.add
    row_views, term_views = list(buffer[1:]), list(smoothed)  # made once, reused every tile
    level = x[0]
    for t0 in range(1, n_periods, tile):
        t1 = min(t0 + tile, n_periods)
        size = t1 - t0
        multiply(alpha, x[t0 - 1 : t1 - 1], out=smoothed[:size])
        rows = buffer[1 : size + 1]
        for t, row, term in zip(range(t0, t1), row_views, term_views, strict=False):
            multiply(complement, level, out=kept)
            add(term, kept, out=row)
            if starts and t in starts and first is not None:
                np.copyto(row, x[t], where=first == t)
            level = row
        level = rows[size - 1].copy()
        np.subtract(x[t0:t1], rows, out=rows)
        multiply(rows, rows, out=rows)
        add.reduce(buffer[: size + 1], axis=0, out=buffer[0])
    return buffer[0].copy()


def ses_pass(x: np.ndarray, alpha: np.ndarray, order: int = 0) -> SesPass:
    """SES forecast and SSE of every series at its own ``alpha``, with derivatives up to ``order``.

    Computed in the dtype of ``x``, in error-correction form: f_t = f_(t−1) + alpha·e_(t−1) with
    e_t = x_t − f_t (e_0 = 0), one operation less per period than alpha·x + (1 − alpha)·f.
    Order 1 adds dSSE/dalpha and
    dF/dalpha, order 2 adds d²SSE/dalpha², from f′_t = e_(t−1) + (1 − alpha)·f′_(t−1) and
    f″_t = −2·f′_(t−1) + (1 − alpha)·f″_(t−1) (f′_0 = f″_0 = 0): SSE′ = −2 Σ e_t f′_t and
    SSE″ = 2 Σ (f′_t² − e_t f″_t).
    """
    n_periods, n_series = x.shape
    dtype = x.dtype
    alpha64 = np.asarray(alpha, dtype=np.float64)
    complement = (1.0 - alpha64).astype(dtype)
    alpha = alpha64.astype(dtype)
    level = x[0].copy()
    err = np.zeros(n_series, dtype=dtype)
    sse = np.zeros(n_series, dtype=dtype)
    d_level = np.zeros(n_series, dtype=dtype) if order >= 1 else None
    d2_level = np.zeros(n_series, dtype=dtype) if order >= 2 else None
    grad = np.zeros(n_series, dtype=dtype) if order >= 1 else None
    curv = np.zeros(n_series, dtype=dtype) if order >= 2 else None
    tmp = np.empty(n_series, dtype=dtype)
    for t in range(1, n_periods):
        if d2_level is not None and d_level is not None:
            np.multiply(complement, d2_level, out=d2_level)
            np.subtract(d2_level, d_level, out=d2_level)
            np.subtract(d2_level, d_level, out=d2_level)
        if d_level is not None:
            np.multiply(complement, d_level, out=d_level)
            np.add(d_level, err, out=d_level)
        np.multiply(alpha, err, out=tmp)
        np.add(level, tmp, out=level)
        np.subtract(x[t], level, out=err)
        np.multiply(err, err, out=tmp)
        np.add(sse, tmp, out=sse)
        if grad is not None and d_level is not None:
            np.multiply(err, d_level, out=tmp)
            np.subtract(grad, tmp, out=grad)
        if curv is not None and d_level is not None and d2_level is not None:
            np.multiply(d_level, d_level, out=tmp)
            np.add(curv, tmp, out=curv)
            np.multiply(err, d2_level, out=tmp)
            np.subtract(curv, tmp, out=curv)
    forecast = level + alpha * err
    d_forecast = err + complement * d_level if d_level is not None else None
    return SesPass(
        forecast=forecast,
        sse=sse,
        d_sse=2.0 * grad if grad is not None else None,
        d2_sse=2.0 * curv if curv is not None else None,
        d_forecast=d_forecast,
    )


def sse_of_changes(changes: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """SSE from the period-to-period changes Δx_t = x_t − x_(t−1) (row 0 unused), in their dtype.

    The one-step errors follow e_1 = Δx_1, e_t = (1 − alpha)·e_(t−1) + Δx_t (because
    f_(t+1) = x_t − (1 − alpha)·e_t): four operations per period, the fastest form. Used in
    float32 for the coarse golden-section steps. ``alpha`` (n_series,) or (k, n_series): k alphas
    per series in one pass over ``changes`` (each row's SSE is that of a call with that row).
    Returns float64 [units²] of the shape of ``alpha``.
    """
    n_periods, n_series = changes.shape
    alpha = np.asarray(alpha, dtype=np.float64)
    shape = alpha.shape if alpha.ndim else (n_series,)
    sse = np.zeros(shape, dtype=changes.dtype)
    if n_periods < 2:
        return sse.astype(np.float64)
    complement = (1.0 - alpha).astype(changes.dtype)
    err = np.empty(shape, dtype=changes.dtype)
    err[...] = changes[1]
    np.multiply(err, err, out=sse)
    tmp = np.empty(shape, dtype=changes.dtype)
    for t in range(2, n_periods):
        np.multiply(complement, err, out=err)
        np.add(err, changes[t], out=err)
        np.multiply(err, err, out=tmp)
        np.add(sse, tmp, out=sse)
    return sse.astype(np.float64)


def _sse(x: np.ndarray, alpha: np.ndarray, first: np.ndarray | None = None) -> np.ndarray:
    """SSE as statsforecast computes it for float64 ``x``; for float32, ``x`` holds the changes
    of the series (:func:`sse_of_changes`)."""
    if x.dtype == np.float64:
        return sse_exact(x, alpha, first)
    return sse_of_changes(x, alpha)


@dataclass
class GoldenState:
    """Golden-section brackets per series: [a, b] with inner points c < d [alpha] and their SSEs,
    which series are still searching, and (float32 searches) which made an unsure comparison."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    fc: np.ndarray
    fd: np.ndarray
    active: np.ndarray
    uncertain: np.ndarray

    @property
    def alpha(self) -> np.ndarray:
        """statsforecast's answer for a finished search: the bracket's midpoint [alpha]."""
        return (self.b + self.a) / 2.0


def golden_start(
    x: np.ndarray, lower: np.ndarray | float, upper: np.ndarray | float
) -> GoldenState:
    """The golden-section bracket [lower, upper] and the SSEs of its two inner points."""
    n_series = x.shape[1]
    a = np.broadcast_to(np.asarray(lower, dtype=np.float64), (n_series,)).copy()
    b = np.broadcast_to(np.asarray(upper, dtype=np.float64), (n_series,)).copy()
    c = b - (b - a) / GOLDEN_RATIO
    d = a + (b - a) / GOLDEN_RATIO
    fc = _sse(x, c)
    fd = _sse(x, d)
    active = np.abs(b - a) >= GOLDEN_TOLERANCE
    return GoldenState(a, b, c, d, fc, fd, active, np.zeros(n_series, dtype=bool))


def golden_steps(
    x: np.ndarray,
    state: GoldenState,
    max_steps: int | None = None,
    first: np.ndarray | None = None,
) -> GoldenState:
    """Advance statsforecast's ``golden_section_ses`` on every active series, step for step.

    A series stops when its bracket is narrower than 1e-12 or its two inner SSEs are equal. Each
    step computes the SSE of the one new inner point of every series of the working block (the
    block is compacted when fewer than half of its series are still searching); at most
    ``max_steps`` steps (None: until every series has stopped). ``state`` is updated in place.
    In float64 the steps are statsforecast's bit for bit. A float32 ``x`` holds the series'
    period-to-period changes (:func:`sse_of_changes`), and a comparison of SSEs closer than
    ``FLOAT32_RESOLUTION`` (relative) marks the series ``uncertain``. ``first``: see
    :func:`sse_exact`.
    """
    unsure = x.dtype == np.float32
    if 2 * np.count_nonzero(state.active) >= state.active.size:  # work on x itself, masked
        ids = np.arange(state.active.size)
        block = x
        live = state.active.copy()
    else:
        ids = np.flatnonzero(state.active)
        block = np.take(x, ids, axis=1)
        live = np.ones(ids.size, dtype=bool)
    starts = None if first is None else first[ids]
    a, b, c, d = state.a[ids], state.b[ids], state.c[ids], state.d[ids]
    fc, fd = state.fc[ids], state.fd[ids]
    uncertain = np.zeros(ids.size, dtype=bool)

    def store() -> None:
        state.a[ids], state.b[ids], state.c[ids], state.d[ids] = a, b, c, d
        state.fc[ids], state.fd[ids] = fc, fd
        state.active[ids] = live
        state.uncertain[ids] |= uncertain

    steps = 0
    while live.any() and (max_steps is None or steps < max_steps):
        steps += 1
        if 2 * np.count_nonzero(live) < live.size:
            store()
            keep = np.flatnonzero(live)
            ids, live, uncertain = ids[keep], live[keep], uncertain[keep]
            starts = None if starts is None else starts[keep]
            a, b, c, d, fc, fd = a[keep], b[keep], c[keep], d[keep], fc[keep], fd[keep]
            block = np.take(block, keep, axis=1)
        left = live & (fc < fd)
        right = live & (fd < fc)
        if unsure:
            uncertain |= live & (np.abs(fc - fd) <= FLOAT32_RESOLUTION * np.maximum(fc, fd))
        # Left: the minimum lies in [a, d]; the old c becomes the new d. Right: it lies in
        # [c, b]; the old d becomes the new c. Same operations as statsforecast.
        b, d, a, c = (
            np.where(left, d, b),
            np.where(left, c, d),
            np.where(right, c, a),
            np.where(right, d, c),
        )
        fd, fc = np.where(left, fc, fd), np.where(right, fd, fc)
        c = np.where(left, b - (b - a) / GOLDEN_RATIO, c)
        d = np.where(right, a + (b - a) / GOLDEN_RATIO, d)
        live &= left | right  # equal SSEs: statsforecast stops here
        if not live.any():
            break
        sse = _sse(block, np.where(left, c, d), starts)
        fc = np.where(left, sse, fc)
        fd = np.where(right, sse, fd)
        live &= np.abs(b - a) >= GOLDEN_TOLERANCE
    store()
    return state


def coarse_golden(changes: np.ndarray, lower: float, upper: float, steps: int) -> GoldenState:
    """The first ``steps`` golden-section steps on float32 ``changes`` from the common bracket
    [lower, upper]: :func:`golden_steps` (same comparisons, same float64 brackets bit for bit,
    same ``uncertain`` marks) with less work per step.

    All series start from one bracket, so after k steps a series' bracket is fixed by its k
    left/right choices: the brackets of every path are computed once as scalars (with the
    operations of :func:`golden_steps`) and each series keeps only its path. A series whose two
    SSEs are equal stops (``active`` False) with the bracket it had then. The SSE at the inner
    point of the last step is not computed (nothing reads it): ``fc`` and ``fd`` are left NaN.
    """
    n_series = changes.shape[1]
    a0, b0 = np.float64(lower), np.float64(upper)
    # brackets[k][path] = (a, b, c, d) after k steps; bit j of path (from the top): step j went
    # right.
    brackets: list[list[tuple[np.float64, ...]]] = [
        [(a0, b0, b0 - (b0 - a0) / GOLDEN_RATIO, a0 + (b0 - a0) / GOLDEN_RATIO)]
    ]
    for _ in range(steps):
        children: list[tuple[np.float64, ...]] = []
        for a, b, c, d in brackets[-1]:
            children.append((a, d, d - (d - a) / GOLDEN_RATIO, c))  # left: [a, d]
            children.append((c, b, d, c + (b - c) / GOLDEN_RATIO))  # right: [c, b]
        brackets.append(children)
    path = np.zeros(n_series, dtype=np.intp)
    stopped_at = np.full(n_series, steps, dtype=np.intp)  # steps taken before stopping
    live = np.ones(n_series, dtype=bool)
    uncertain = np.zeros(n_series, dtype=bool)
    inner = np.array(brackets[0][0][2:])[:, None]
    fc, fd = sse_of_changes(changes, np.broadcast_to(inner, (2, n_series)))
    for step in range(steps):
        left = live & (fc < fd)
        right = live & (fd < fc)
        uncertain |= live & (np.abs(fc - fd) <= FLOAT32_RESOLUTION * np.maximum(fc, fd))
        moves = left | right
        stopped_at[live & ~moves] = step  # a stopped series keeps its path (and bracket)
        live = moves
        path = np.where(moves, 2 * path + right, path)
        if step == steps - 1 or not live.any():
            break
        # The new inner point: c of the left child, d of the right one.
        new_point = np.array([bracket[2 + i % 2] for i, bracket in enumerate(brackets[step + 1])])
        sse = sse_of_changes(changes, new_point[path])
        fd = np.where(left, fc, fd)
        fc = np.where(right, fd, fc)
        fc = np.where(left, sse, fc)
        fd = np.where(right, sse, fd)
    bounds = np.empty((4, n_series))
    for depth in np.unique(stopped_at):
        ids = np.flatnonzero(stopped_at == depth)
        table = np.array(brackets[depth]).T  # (4, paths)
        bounds[:, ids] = table[:, path[ids]]
    nan = np.full(n_series, np.nan)
    return GoldenState(bounds[0], bounds[1], bounds[2], bounds[3], nan, nan.copy(), live, uncertain)


def golden_section_exact(
    x: np.ndarray, lower: np.ndarray | float, upper: np.ndarray | float
) -> np.ndarray:
    """statsforecast's ``golden_section_ses`` on every series at once, step for step [alpha]."""
    x = np.asarray(x, dtype=np.float64)
    return golden_steps(x, golden_start(x, lower, upper)).alpha


def _newton(
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    d_lower: np.ndarray,
    d_upper: np.ndarray,
    workspace: Workspace | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Root of SSE′ in (lower, upper) per series, where SSE′(lower) < 0 < SSE′(upper).

    Newton steps on SSE′ kept inside the shrinking sign-change bracket (a bisection when a step
    leaves it or SSE″ ≤ 0). A step shorter than ``NEWTON_ACCEPT`` is taken without another pass
    (the root is then within about C·step² of it): the forecast there is extrapolated as
    F − F′·step. Returns (forecast at the root, root, SSE″ ÷ SSE there) [units/period],
    [alpha], [1/alpha²].
    """
    n_series = x.shape[1]
    forecast = np.empty(n_series)
    curvature = np.empty(n_series)
    alpha = lower + (upper - lower) * (d_lower / (d_lower - d_upper))  # regula falsi start
    final = alpha.copy()
    a, b = lower.copy(), upper.copy()
    todo = np.arange(n_series)
    block = x
    for _ in range(NEWTON_MAX_STEPS):
        result = ses_pass(block, alpha, order=2)
        assert result.d_sse is not None and result.d2_sse is not None
        assert result.d_forecast is not None
        grad, curv = result.d_sse, result.d2_sse
        below = grad < 0
        a = np.where(below, alpha, a)
        b = np.where(below, b, alpha)
        convex = curv > 0
        step = np.where(convex, grad / np.where(convex, curv, 1.0), 0.0)
        proposal = alpha - step
        inside = convex & (proposal > a) & (proposal < b)
        close = inside & (np.abs(step) <= NEWTON_ACCEPT)
        forecast[todo] = np.where(
            close, result.forecast - result.d_forecast * step, result.forecast
        )
        final[todo] = np.where(close, proposal, alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            curvature[todo] = curv / result.sse
        proposal = np.where(inside, proposal, 0.5 * (a + b))
        keep = ~(close | (grad == 0) | ((b - a) <= NEWTON_TOLERANCE))
        if not keep.any():
            break
        if not keep.all():
            todo, alpha, a, b = todo[keep], proposal[keep], a[keep], b[keep]
            block = (
                np.take(x, todo, axis=1)
                if workspace is None
                else workspace.columns("newton", x, todo)
            )
        else:
            alpha = proposal
    return forecast, final, curvature


@dataclass
class ExactSearch:
    """Series left to the exact golden section: their columns in the caller's block, their data
    (n_periods, n_left) float64 and their golden-section brackets so far (a, b, c, d); ``first``
    is the period where each series starts (zero padding before it; None: all at 0)."""

    columns: np.ndarray
    x: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    first: np.ndarray | None = None

    @staticmethod
    def concat(searches: Sequence[ExactSearch]) -> ExactSearch:
        """Several searches as one; shorter series are padded with leading zeros (see
        :func:`sse_exact`), so one pass over the block serves them all."""
        n_periods = max(s.x.shape[0] for s in searches)
        blocks, firsts = [], []
        for search in searches:
            pad = n_periods - search.x.shape[0]
            own = np.zeros(search.columns.size, dtype=np.int64)
            if search.first is not None:
                own += search.first
            blocks.append(np.pad(search.x, ((pad, 0), (0, 0))) if pad else search.x)
            firsts.append(own + pad)
        first = np.concatenate(firsts)
        return ExactSearch(
            columns=np.concatenate([s.columns for s in searches]),
            x=np.concatenate(blocks, axis=1),
            a=np.concatenate([s.a for s in searches]),
            b=np.concatenate([s.b for s in searches]),
            c=np.concatenate([s.c for s in searches]),
            d=np.concatenate([s.d for s in searches]),
            first=first if first.any() else None,
        )

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Run the golden section to its end in float64: (forecast [units/period], alpha).

        The inner points' SSEs are computed again in float64, so the remaining steps are those of
        statsforecast.
        """
        if not self.columns.size:
            return np.empty(0), np.empty(0)
        n_series = self.columns.size
        state = GoldenState(
            self.a.copy(),
            self.b.copy(),
            self.c.copy(),
            self.d.copy(),
            sse_exact(self.x, self.c, self.first),
            sse_exact(self.x, self.d, self.first),
            np.abs(self.b - self.a) >= GOLDEN_TOLERANCE,
            np.zeros(n_series, dtype=bool),
        )
        alpha = golden_steps(self.x, state, first=self.first).alpha
        return ses_forecast(self.x, alpha, self.first), alpha


def optimal_ses(
    x: np.ndarray, lower: float = 0.1, upper: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """SES forecast at statsforecast's golden-section alpha in [lower, upper], per series.

    ``x`` (n_periods, n_series) [units/period]. Returns (forecast [units/period], alpha), equal to
    statsforecast's ``_optimized_ses_forecast`` to about 1e-7 relative (module docstring).
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    forecast, alpha, exact = optimal_ses_deferred(x, lower, upper)
    forecast[exact.columns], alpha[exact.columns] = exact.finish()
    return forecast, alpha


def optimal_ses_deferred(
    x: np.ndarray,
    lower: float = 0.1,
    upper: float = 0.3,
    workspace: Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray, ExactSearch]:
    """:func:`optimal_ses` on float64 ``x``, leaving the exact golden sections to the caller.

    The series that need the exact golden section (step 3 of the module docstring) are returned
    as an :class:`ExactSearch` with forecast and alpha left NaN: searches of many blocks can be
    finished together, which saves Python overhead on small groups.
    """
    n_periods, n_series = x.shape
    forecast = np.full(n_series, np.nan)
    alpha = np.full(n_series, np.nan)
    if n_periods == 1 or n_series == 0:  # statsforecast: equal SSEs (0), forecast = x_0
        empty = np.empty(0)
        none = ExactSearch(np.empty(0, dtype=np.int64), x[:, :0], empty, empty, empty, empty)
        return x[0].astype(np.float64, copy=True), np.full(n_series, (lower + upper) / 2.0), none
    # Coarse steps in float32 on the changes of the series (see sse_of_changes).
    if workspace is None:
        coarse = np.empty(x.shape, dtype=np.float32)
    else:
        coarse = workspace.array("coarse", x.shape, np.float32)
    coarse[0] = x[0]
    np.subtract(x[1:], x[:-1], out=coarse[1:], casting="same_kind")
    steps = coarse_steps(lower, upper)
    state = coarse_golden(coarse, lower, upper, steps)
    flat = _flat_heads(x, coarse)
    # Flat series, equal or unsure float32 comparisons: the exact search from the start (all such
    # series of many blocks run together, which costs less than redoing the steps per block).
    restart = flat | ~state.active | state.uncertain
    state.a[restart], state.b[restart] = lower, upper
    state.c[restart] = upper - (upper - lower) / GOLDEN_RATIO
    state.d[restart] = lower + (upper - lower) / GOLDEN_RATIO
    exact = restart.copy()
    todo = np.flatnonzero(~restart)
    if todo.size:
        # The pass at a runs on every series (restarted ones are few): cheaper than a gather.
        at_a = ses_pass(x, state.a, order=1).take(todo)
        width = state.b[todo] - state.a[todo]
        settled = _trusted_end(at_a, width, rising=True)
        forecast[todo[settled]] = at_a.forecast[settled]
        alpha[todo[settled]] = state.a[todo[settled]]
        rest = todo[~settled]
        if rest.size:
            block = (
                np.take(x, rest, axis=1)
                if workspace is None
                else workspace.columns("rest", x, rest)
            )
            at_b = ses_pass(block, state.b[rest], order=1)
            settled_b = _trusted_end(at_b, width[~settled], rising=False)
            forecast[rest[settled_b]] = at_b.forecast[settled_b]
            alpha[rest[settled_b]] = state.b[rest[settled_b]]
            at_a = at_a.take(np.flatnonzero(~settled))
            assert at_a.d_sse is not None and at_b.d_sse is not None
            assert at_a.d_forecast is not None and at_b.d_forecast is not None
            sensitivity = np.maximum(
                _relative(at_a.d_forecast, at_a.forecast),
                _relative(at_b.d_forecast, at_b.forecast),
            )
            interior = ~settled_b & (at_a.d_sse < 0) & (at_b.d_sse > 0)
            newton = interior & (sensitivity <= SENSITIVE)
            exact[rest[~settled_b & ~newton]] = True
            if newton.any():
                ids = rest[newton]
                inner = np.flatnonzero(newton)
                newton_block = block if inner.size == block.shape[1] else np.take(block, inner, 1)
                forecast[ids], alpha[ids], curvature = _newton(
                    newton_block,
                    state.a[ids],
                    state.b[ids],
                    at_a.d_sse[newton],
                    at_b.d_sse[newton],
                    workspace,
                )
                # A root in a nearly flat bracket may not be the minimum the golden section
                # ends in: those go to the exact search.
                shallow = ~(curvature * (state.b[ids] - state.a[ids]) ** 2 > RELIEF)
                exact[ids[shallow]] = True
    ids = np.flatnonzero(exact)
    forecast[ids] = alpha[ids] = np.nan  # left to the exact search
    search = ExactSearch(
        ids, np.take(x, ids, axis=1), state.a[ids], state.b[ids], state.c[ids], state.d[ids]
    )
    return forecast, alpha, search


def _flat_heads(x: np.ndarray, changes: np.ndarray) -> np.ndarray:
    """Series whose first n−1 periods are equal, from ``x`` (n_periods, n_series) and its changes
    in float32 (row 0 unused): a change of 0 in float32 is one in float64 or an underflow, so
    the series with no non-zero float32 change are candidates, confirmed on ``x`` itself."""
    n_periods = x.shape[0]
    candidate = ~np.logical_or.reduce(changes[1 : n_periods - 1] != 0, axis=0)
    ids = np.flatnonzero(candidate)
    if ids.size:
        head = np.take(x[: n_periods - 1], ids, axis=1)
        candidate[ids] = head.max(axis=0) == head.min(axis=0)
    return candidate


def coarse_steps(lower: float, upper: float) -> int:
    """Golden-section steps that narrow [lower, upper] below ``COARSE_WIDTH`` (at least 1)."""
    ratio = (upper - lower) / COARSE_WIDTH
    return max(1, int(np.ceil(np.log(ratio) / np.log(GOLDEN_RATIO)))) if ratio > 1 else 1


def _trusted_end(result: SesPass, width: np.ndarray, rising: bool) -> np.ndarray:
    """Series whose minimum in the bracket (of ``width``) is this end: SSE′ > 0 at the lower end
    (``rising``) or < 0 at the upper end, by a margin the golden section resolves to better than
    1e-8 relative in the forecast (|SSE′| > TRUST_MARGIN × sensitivity × SSE), on an SSE that
    changes clearly across the bracket (|SSE′| × width > RELIEF × SSE: tiny wiggles of a nearly
    flat SSE can hold local minima the golden section would find)."""
    assert result.d_sse is not None and result.d_forecast is not None
    grad = result.d_sse if rising else -result.d_sse
    sensitivity = _relative(result.d_forecast, result.forecast)
    with np.errstate(invalid="ignore"):
        margin = np.maximum(TRUST_MARGIN * sensitivity, RELIEF / width) * result.sse
    return (grad > 0) & (grad > margin)


def _relative(change: np.ndarray, value: np.ndarray) -> np.ndarray:
    """|change| ÷ |value|, infinite where value is 0 and change is not."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(change) / np.abs(value)
    return np.where(change == 0, 0.0, ratio)
