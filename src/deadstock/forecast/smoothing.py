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
- statsforecast picks alpha by a golden-section search on [lower, upper] that stops when the
  bracket is narrower than 1e-12 or the two inner SSEs are exactly equal, and returns the
  bracket's midpoint.

:func:`optimal_ses` finds the same alpha at a fraction of the cost (a golden section needs about
56 SSE passes over the data): the sign of SSE′ at the bounds settles most series in one or two
passes, the rest by a bracketed Newton iteration on SSE′ (SSE′ and SSE″ are carried through the
same pass by forward differentiation). Two kinds of series run the exact golden section instead
(:func:`golden_section_exact`, whose SSE is computed with the same operations in the same order as
statsforecast, so it follows the same path bit for bit):

- *flat* series, whose first n−1 periods are equal: SSE does not depend on alpha mathematically,
  so statsforecast's choice is decided by exact ties (alpha = midpoint) or by rounding;
- *sensitive* interior optima, where |dF/dalpha| ÷ F exceeds ``SENSITIVE`` (long runs of zeros
  after the last demand): the golden section's alpha is itself only resolved to about 1e-8, and
  the forecast would amplify that difference beyond 1e-6.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

GOLDEN_RATIO = (np.sqrt(5.0) + 1.0) / 2.0
GOLDEN_TOLERANCE = 1e-12  # statsforecast's stopping width of the golden-section bracket
NEWTON_TOLERANCE = 1e-12  # stop when a Newton step on SSE′ is this small [alpha]
NEWTON_MAX_STEPS = 100
COARSE_STEPS = 8  # exact golden-section steps before the bracket is finished by Newton
FLOAT32_RESOLUTION = 1e-5  # relative SSE difference below which a float32 comparison is unsure
COARSE_FLOAT32 = True  # coarse steps decide only which bracket to keep: float32 is enough
SENSITIVE = 10.0  # |dF/dalpha| ÷ F above which the exact golden section decides alpha


def ses_forecast(x: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """One-step-ahead SES forecast per series (statsforecast ``ses_forecast``).

    ``x`` (n_periods, n_series) [units/period]; ``alpha`` scalar or (n_series,). Returns
    (n_series,) [units/period]; x_0 when there is a single period.
    """
    n_periods = x.shape[0]
    if n_periods == 1:
        return x[0].astype(np.float64, copy=True)
    alpha = np.asarray(alpha, dtype=np.float64)
    complement = 1.0 - alpha
    level = x[0].astype(np.float64, copy=True)
    for t in range(1, n_periods + 1):
        level = alpha * x[t - 1] + complement * level
    return level


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


def ses_pass(x: np.ndarray, alpha: np.ndarray, order: int = 0) -> SesPass:
    """SES forecast and SSE of every series at its own ``alpha``, with derivatives up to ``order``.

    Computed in the dtype of ``x`` (float32 for the coarse golden-section steps, else float64).
    In float64, order 0 computes the SSE with the operations of statsforecast's ``ses_sse`` in the
    same order (bit-identical, which the exact golden section relies on); order 1 adds dSSE/dalpha
    and dF/dalpha, order 2 adds d²SSE/dalpha². The derivatives follow the recursions
    f′_t = x_(t−1) − f_(t−1) + (1 − alpha)·f′_(t−1) and f″_t = −2·f′_(t−1) + (1 − alpha)·f″_(t−1)
    (f′_0 = f″_0 = 0), with SSE′ = −2 Σ e_t f′_t and SSE″ = 2 Σ (f′_t² − e_t f″_t).
    """
    n_periods, n_series = x.shape
    dtype = x.dtype
    alpha = np.asarray(alpha, dtype=dtype)
    complement = (1.0 - alpha).astype(dtype)
    level = x[0].copy()
    sse = np.zeros(n_series, dtype=dtype)
    d_level = np.zeros(n_series, dtype=dtype) if order >= 1 else None
    d2_level = np.zeros(n_series, dtype=dtype) if order >= 2 else None
    grad = np.zeros(n_series, dtype=dtype) if order >= 1 else None
    curv = np.zeros(n_series, dtype=dtype) if order >= 2 else None
    smoothed = np.empty(n_series, dtype=dtype)
    kept = np.empty(n_series, dtype=dtype)
    err = np.empty(n_series, dtype=dtype)
    tmp = np.empty(n_series, dtype=dtype)
    for t in range(1, n_periods):
        prev = x[t - 1]
        if d2_level is not None and d_level is not None:
            np.multiply(complement, d2_level, out=d2_level)
            np.subtract(d2_level, d_level, out=d2_level)
            np.subtract(d2_level, d_level, out=d2_level)
        if d_level is not None:
            np.multiply(complement, d_level, out=d_level)
            np.subtract(prev, level, out=tmp)
            np.add(tmp, d_level, out=d_level)
        np.multiply(alpha, prev, out=smoothed)
        np.multiply(complement, level, out=kept)
        np.add(smoothed, kept, out=level)
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
    last = x[n_periods - 1]
    if n_periods == 1:
        forecast = last.copy()
        d_forecast = np.zeros(n_series, dtype=dtype) if order >= 1 else None
    else:
        forecast = alpha * last + complement * level
        d_forecast = (last - level) + complement * d_level if d_level is not None else None
    return SesPass(
        forecast=forecast,
        sse=sse,
        d_sse=2.0 * grad if grad is not None else None,
        d2_sse=2.0 * curv if curv is not None else None,
        d_forecast=d_forecast,
    )


@dataclass
class GoldenState:
    """Brackets of a golden-section search per series: [a, b] with inner points c < d and their
    SSEs, and which series are still searching."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    fc: np.ndarray
    fd: np.ndarray
    active: np.ndarray  # bool
    uncertain: np.ndarray | None = None  # bool: a comparison closer than FLOAT32_RESOLUTION

    @property
    def alpha(self) -> np.ndarray:
        """statsforecast's answer for a finished search: the bracket's midpoint [alpha]."""
        return (self.b + self.a) / 2.0


def golden_start(x: np.ndarray, lower: np.ndarray | float, upper: np.ndarray | float) -> GoldenState:
    """The golden-section bracket [lower, upper] and the SSEs of its two inner points."""
    n_series = x.shape[1]
    a = np.broadcast_to(np.asarray(lower, dtype=np.float64), (n_series,)).copy()
    b = np.broadcast_to(np.asarray(upper, dtype=np.float64), (n_series,)).copy()
    c = b - (b - a) / GOLDEN_RATIO
    d = a + (b - a) / GOLDEN_RATIO
    fc = ses_pass(x, c).sse
    fd = ses_pass(x, d).sse
    uncertain = np.zeros(n_series, dtype=bool) if x.dtype == np.float32 else None
    return GoldenState(a, b, c, d, fc, fd, np.abs(b - a) >= GOLDEN_TOLERANCE, uncertain)


def golden_steps(x: np.ndarray, state: GoldenState, max_steps: int | None = None) -> GoldenState:
    """Advance statsforecast's ``golden_section_ses`` on every active series, step for step.

    A series stops when its bracket is narrower than 1e-12 or its two inner SSEs are equal. Each
    step computes the SSE of the one new inner point of every series of the working block (the
    block is compacted when fewer than half of its series are still searching); at most
    ``max_steps`` steps (None: until every series has stopped). ``state`` is updated in place.
    """
    a, b, c, d, fc, fd = state.a, state.b, state.c, state.d, state.fc, state.fd
    ids = np.flatnonzero(state.active)
    block = x if ids.size == x.shape[1] else np.take(x, ids, axis=1)
    live = np.ones(ids.size, dtype=bool)
    steps = 0
    while live.any() and (max_steps is None or steps < max_steps):
        steps += 1
        if 2 * np.count_nonzero(live) < live.size:
            ids, block, live = ids[live], np.take(block, np.flatnonzero(live), axis=1), live[live]
        left = live & (fc[ids] < fd[ids])
        right = live & (fd[ids] < fc[ids])
        if state.uncertain is not None:  # float32: which comparisons could go either way
            close = np.abs(fc[ids] - fd[ids]) <= FLOAT32_RESOLUTION * np.maximum(fc[ids], fd[ids])
            state.uncertain[ids[live & close]] = True
        go_left, go_right = ids[left], ids[right]
        # Left: the minimum lies in [a, d]; the old c becomes the new d.
        b[go_left] = d[go_left]
        d[go_left] = c[go_left]
        fd[go_left] = fc[go_left]
        c[go_left] = b[go_left] - (b[go_left] - a[go_left]) / GOLDEN_RATIO
        # Right: the minimum lies in [c, b]; the old d becomes the new c.
        a[go_right] = c[go_right]
        c[go_right] = d[go_right]
        fc[go_right] = fd[go_right]
        d[go_right] = a[go_right] + (b[go_right] - a[go_right]) / GOLDEN_RATIO
        live &= left | right  # equal SSEs: statsforecast stops here
        if not live.any():
            break
        sse = ses_pass(block, np.where(left, c[ids], d[ids])).sse
        fc[go_left] = sse[left]
        fd[go_right] = sse[right]
        live &= np.abs(b[ids] - a[ids]) >= GOLDEN_TOLERANCE
    state.active[ids[~live]] = False
    return state


def golden_section_exact(
    x: np.ndarray, lower: np.ndarray | float, upper: np.ndarray | float
) -> np.ndarray:
    """statsforecast's ``golden_section_ses`` on every series at once, step for step [alpha]."""
    return golden_steps(x, golden_start(x, lower, upper)).alpha


def _newton(
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    d_lower: np.ndarray,
    d_upper: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Root of SSE′ in (lower, upper) per series, where SSE′(lower) < 0 < SSE′(upper).

    Newton steps on SSE′ kept inside the shrinking sign-change bracket (a bisection when a step
    leaves it or SSE″ ≤ 0). Returns (forecast at the root, root) [units/period], [alpha].
    """
    n_series = x.shape[1]
    forecast = np.empty(n_series)
    alpha = lower + (upper - lower) * (d_lower / (d_lower - d_upper))  # regula falsi start
    final = alpha.copy()
    a, b = lower.copy(), upper.copy()
    todo = np.arange(n_series)
    block = x
    for _ in range(NEWTON_MAX_STEPS):
        result = ses_pass(block, alpha, order=2)
        assert result.d_sse is not None and result.d2_sse is not None
        grad, curv = result.d_sse, result.d2_sse
        forecast[todo] = result.forecast
        final[todo] = alpha
        below = grad < 0
        a = np.where(below, alpha, a)
        b = np.where(below, b, alpha)
        convex = curv > 0
        step = np.where(convex, grad / np.where(convex, curv, 1.0), 0.0)
        proposal = alpha - step
        converged = (convex & (np.abs(step) <= NEWTON_TOLERANCE)) | (grad == 0)
        outside = ~convex | ~((proposal > a) & (proposal < b))
        proposal = np.where(outside, 0.5 * (a + b), proposal)
        keep = ~(converged | ((b - a) <= NEWTON_TOLERANCE))
        if not keep.any():
            break
        if not keep.all():
            todo, alpha, a, b = todo[keep], proposal[keep], a[keep], b[keep]
            block = np.take(x, todo, axis=1)
        else:
            alpha = proposal
    return forecast, final


@dataclass
class ExactSearch:
    """Series left to the exact golden section: their columns in the caller's block, their data
    (n_periods, n_left) float64 and their golden-section brackets so far (a, b, c, d)."""

    columns: np.ndarray
    x: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray

    @staticmethod
    def concat(searches: Sequence[ExactSearch]) -> ExactSearch:
        """Several searches over series of the same length as one (columns concatenated too)."""
        return ExactSearch(
            np.concatenate([s.columns for s in searches]),
            np.concatenate([s.x for s in searches], axis=1),
            *(np.concatenate([getattr(s, f) for s in searches]) for f in "abcd"),
        )

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Run the golden section to its end in float64: (forecast [units/period], alpha).

        The inner points' SSEs are computed again in float64, so the remaining steps are those of
        statsforecast (the bracket comes from steps whose comparisons agree with statsforecast's
        except at near-ties, which keep the minimum inside the bracket either way).
        """
        if not self.columns.size:
            return np.empty(0), np.empty(0)
        state = GoldenState(
            self.a.copy(), self.b.copy(), self.c.copy(), self.d.copy(),
            ses_pass(self.x, self.c).sse, ses_pass(self.x, self.d).sse,
            np.abs(self.b - self.a) >= GOLDEN_TOLERANCE,
        )
        alpha = golden_steps(self.x, state).alpha
        return ses_forecast(self.x, alpha), alpha


def optimal_ses(
    x: np.ndarray, lower: float = 0.1, upper: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """SES forecast at statsforecast's golden-section alpha in [lower, upper], per series.

    ``x`` (n_periods, n_series) [units/period]. Returns (forecast [units/period], alpha), equal to
    statsforecast's ``_optimized_ses_forecast`` to about 1e-7 relative; see
    :func:`optimal_ses_deferred` and the module docstring for the method.
    """
    forecast, alpha, exact = optimal_ses_deferred(x, lower, upper)
    forecast[exact.columns], alpha[exact.columns] = exact.finish()
    return forecast, alpha


def optimal_ses_deferred(
    x: np.ndarray, lower: float = 0.1, upper: float = 0.3
) -> tuple[np.ndarray, np.ndarray, ExactSearch]:
    """:func:`optimal_ses`, leaving the series that need the exact golden section to the caller.

    The first ``COARSE_STEPS`` golden-section steps run exactly (they choose, for a non-unimodal
    SSE, the local minimum statsforecast ends in). Inside the remaining bracket [a, b] the sign of
    SSE′ at a, then at b, settles the series whose minimum is an end; the others are found by
    Newton on SSE′. Flat and sensitive series (module docstring), and ends where SSE′ is too small
    to be resolved, are returned in an :class:`ExactSearch` (forecast and alpha left as NaN): many
    such groups from different blocks can be finished together, which saves Python overhead.
    """
    n_periods, n_series = x.shape
    forecast = np.full(n_series, np.nan)
    alpha = np.full(n_series, np.nan)
    if n_periods == 1 or n_series == 0:  # statsforecast: equal SSEs (0), forecast = x_0
        empty = np.empty(0)
        none = ExactSearch(np.empty(0, dtype=np.int64), x[:, :0], empty, empty, empty, empty)
        return x[0].astype(np.float64, copy=True), np.full(n_series, (lower + upper) / 2.0), none
    coarse = x.astype(np.float32) if COARSE_FLOAT32 else x
    state = golden_steps(coarse, golden_start(coarse, lower, upper), COARSE_STEPS)
    del coarse
    # Equal coarse SSEs (e.g. no demand at all) and flat series: exact golden section from the
    # start, in float64.
    head = x[: n_periods - 1]
    flat = head.max(axis=0) == head.min(axis=0)
    restart = ~state.active | flat
    if state.uncertain is not None:
        restart |= state.uncertain
    state.a[restart], state.b[restart] = lower, upper
    state.c[restart] = upper - (upper - lower) / GOLDEN_RATIO
    state.d[restart] = lower + (upper - lower) / GOLDEN_RATIO
    exact = restart.copy()
    todo = np.flatnonzero(~restart)
    if todo.size:
        # The pass at a runs on every series (restarted ones are few): cheaper than a gather.
        at_a = ses_pass(x, state.a, order=1)
        at_a = SesPass(*(None if v is None else v[todo] for v in vars(at_a).values()))
        block = x
        a, b = state.a[todo], state.b[todo]
        settled = _trusted_end(at_a, rising=True)
        forecast[todo[settled]] = at_a.forecast[settled]
        alpha[todo[settled]] = a[settled]
        rest = np.flatnonzero(~settled)
        if rest.size:
            block = np.take(x, todo[rest], axis=1)
            at_b = ses_pass(block, b[rest], order=1)
            settled_b = _trusted_end(at_b, rising=False)
            done = todo[rest[settled_b]]
            forecast[done] = at_b.forecast[settled_b]
            alpha[done] = b[rest][settled_b]
            assert at_a.d_sse is not None and at_b.d_sse is not None
            assert at_a.d_forecast is not None and at_b.d_forecast is not None
            d_a, d_b = at_a.d_sse[rest], at_b.d_sse
            sensitivity = np.maximum(
                _relative(at_a.d_forecast[rest], at_a.forecast[rest]),
                _relative(at_b.d_forecast, at_b.forecast),
            )
            interior = ~settled_b & (d_a < 0) & (d_b > 0)
            newton = interior & (sensitivity <= SENSITIVE)
            exact[todo[rest[~settled_b & ~newton]]] = True
            if newton.any():
                ids = todo[rest[newton]]
                forecast[ids], alpha[ids] = _newton(
                    np.take(block, np.flatnonzero(newton), axis=1),
                    state.a[ids],
                    state.b[ids],
                    d_a[newton],
                    d_b[newton],
                )
    ids = np.flatnonzero(exact)
    search = ExactSearch(
        ids, np.take(x, ids, axis=1), state.a[ids], state.b[ids], state.c[ids], state.d[ids]
    )
    return forecast, alpha, search


def _trusted_end(result: SesPass, rising: bool) -> np.ndarray:
    """Series whose minimum in the bracket is this end: SSE′ ≥ 0 at the lower end (``rising``)
    or ≤ 0 at the upper end, by a margin the golden section resolves to better than 1e-8 relative
    in the forecast (|SSE′| > 1e-7 × sensitivity × SSE)."""
    assert result.d_sse is not None and result.d_forecast is not None
    grad = result.d_sse if rising else -result.d_sse
    sensitivity = _relative(result.d_forecast, result.forecast)
    with np.errstate(invalid="ignore"):
        margin = 1e-7 * sensitivity * result.sse
    return (grad > 0) & (grad > margin)


def _relative(change: np.ndarray, value: np.ndarray) -> np.ndarray:
    """|change| ÷ |value|, infinite where value is 0 and change is not."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(change) / np.abs(value)
    return np.where(change == 0, 0.0, ratio)
