"""Excess stock and its expected days in stock: deterministic and probabilistic (SPEC §3.3).

Inputs are 1-D arrays with one value per SKU-location (NumPy arrays, Polars Series or lists; nulls
read as NaN). ``stock`` is the stock that must sell [units]: on-hand plus inbound (SPEC §3.3), so
the caller adds inbound. ``rate`` is the forecast daily demand [units/day].

**Time.** Time is continuous and counted in days from the as-of moment (t = 0). A unit "sold by
day t" is sold in (0, t]. Projected stock days, sell times and the day counts ``d`` of the
probabilities are all on this one clock, so the deterministic and the probabilistic versions are
comparable: with a flat rate λ the fluid model sells unit k at k/λ and the Poisson model at a
random time T_k with E[T_k] = k/λ.

**Deterministic version** (:func:`deterministic_excess`). Cumulative forecast demand C(t) [units];
projected stock days P solve C(P) = stock; excess units = max(0, stock − C(threshold)); the excess
units sell in between, so their expected days in stock are (threshold + P) ÷ 2.

**Demand models** (:func:`probabilistic_excess`, :func:`unit_sell_probability`). D(t) = units
demanded in (0, t], with independent increments.

- Poisson: D(t) ~ Poisson(λt), the demand of a Poisson process of single-unit sales.
- Negative binomial with dispersion (size) r > 0: the daily demand is NB with mean λ and variance
  λ + λ²/r, i.e. NB(size r, p) with p = r ÷ (r + λ) (SciPy's ``nbinom(r, p)``). Days are
  independent, so demand over t days is NB(size r·t, same p), mean λt, variance λt·(1 + λ/r).
  For t that is not a whole number the same law is used: it is the compound Poisson process in
  which orders arrive at rate r·ln(1 + λ/r) per day and each order takes a logarithmic-series
  number of units with parameter λ ÷ (r + λ) (Quenouille 1949, Biometrics 5(2), 162–164), so
  "NB demand" means customers arrive at random and some buy several units at once. r → ∞ gives
  the Poisson model. Smaller r = more dispersion.

**Sell times.** Stock sells in FIFO order of units: unit k (k = 1 … stock) sells at
T_k = inf{t : D(t) ≥ k}, so T_k > t ⇔ D(t) < k, and P(T_k ≤ t) = P(D(t) ≥ k). The excess units are
the last ``excess`` units of the stock, k = a+1 … b with b = stock and a = stock − excess.
Expected days in stock of the excess = mean over those units of E[min(T_k, cap)] [days], where
E[min(T_k, c)] = ∫_0^c P(D(t) < k) dt. Summed over units this is
∫_0^c (E[(b − D(t))⁺] − E[(a − D(t))⁺]) dt, so no per-unit loop is needed:

- Poisson (exact, closed form). With N ~ Poisson(μ = λc), F(j) = P(N ≤ j) and
  R_k = (k − N)⁺, the memoryless property gives Σ_{j ≤ k} E[(T_j − c)⁺] = E[R_k(R_k + 1)] ÷ (2λ),
  with E[R_k(R_k + 1)] = k(k+1)F(k) − 2kμF(k−1) + μ²F(k−2); hence
  Σ_{k=a+1}^{b} E[min(T_k, c)] = (b(b+1) − a(a+1) − E[R_b(R_b+1)] + E[R_a(R_a+1)]) ÷ (2λ).
  Uncapped this is Σ k/λ (E[T_k] = k/λ, T_k ~ Gamma(k, λ)). When μ is below the middle unit the
  equivalent form (b − a)c − Σ_{k=a+1}^{b} E[(c − T_k)⁺] is used instead, with
  Σ_{j ≤ k} E[(c − T_j)⁺] = μcF(k−1)/2 + ck·P(N > k) − k(k+1)·P(N > k+1) ÷ (2λ); it avoids the
  cancellation of large terms when the rate is tiny.
- Negative binomial (numerical). E[(k − D)⁺] = (k − m)·F(k−1) + (λ/r)(n + k − 1)·P(D = k−1)
  for D ~ NB(n = rt, p) with mean m = λt. It is split into the fluid part (k − λt)⁺, integrated
  exactly, and the Jensen gap β_k(t) = E[(k − D(t))⁺] − (k − λt)⁺ ≥ 0, a bump around t = k/λ
  that is smooth on each side of its kink at k/λ. The bump is integrated with 12-point
  Gauss–Legendre rules on [k/λ − 8σ, k/λ] and [k/λ, k/λ + 8σ + 25τ] (clipped to [0, c]), where
  σ = √(k(1 + λ/r)) ÷ λ is the spread of T_k [days] and τ = 1 ÷ (r·ln(1 + λ/r)) the time scale
  of the exponential tail P(D(t) = 0) [days]. Against dense trapezoid references over
  k ≤ 10⁵, λ ∈ [10⁻⁴, 500], r ∈ [0.005, 10⁴] and caps of 5–3000 days, the summed integral was
  within 10⁻³ unit-days, so the mean over the excess units is within 10⁻³ days. When
  λ/r < 10⁻⁶ the variance is within a millionth of Poisson and the exact Poisson form is used.

**Whole units.** Demand comes in whole units, so fractional stock is rounded up: "all stock sold"
means D(t) ≥ ⌈stock⌉, and the excess is the last ⌈excess⌉ of the ⌈stock⌉ units (a fraction of a
unit still has to sell). Values within 10⁻⁹ of a whole number count as that number.

**Not applicable** is NaN: the expected days of the excess when there is no excess. Convert with
``pl.Series(values, nan_to_null=True)`` to get nulls in a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Days after as-of within which forecast demand makes a SKU-location "selling" [days].
DEFAULT_HORIZON_DAYS = 182
#: Excess threshold: units still in stock after this many days are excess [days].
DEFAULT_THRESHOLD_DAYS = 84
#: Expected days in stock of SKU-locations without forecast demand [days].
DEFAULT_NO_SALES_DAYS = 1095
#: Day counts of the sell-out probabilities [days].
DEFAULT_SELL_OUT_DAYS = (84, 182, 365)
#: Cap of a unit's days in stock in the probabilistic expected days [days].
DEFAULT_CAP_DAYS = 1095

_UNIT_TOLERANCE = 1e-9  # [units] a value this close to a whole number counts as that number
_TAIL_DAYS = 7  # [days] beyond a rate path, the mean rate of its last week carries on
_POISSON_LIMIT = 1e-6  # λ/r below this: NB variance within a millionth of Poisson → Poisson
_QUADRATURE_NODES = 12  # Gauss–Legendre nodes per side of a bump's kink
_BUMP_SPREADS = 8.0  # bump window: this many σ of T_k on each side of k/λ …
_BUMP_TAILS = 25.0  # … plus this many tail time scales τ on the right
_CHUNK_ROWS = 32_768  # rows per block of the 2-D kernels (bounds memory at ~1 M rows)


@dataclass(frozen=True)
class DeterministicExcess:
    """Deterministic excess per SKU-location (SPEC §3.3); arrays of length n.

    - ``projected_stock_days`` [days]: when the stock sells out at the forecast; 0 for stock ≤ 0;
      ``inf`` when it never does (no forecast, or a rate path whose tail rate is 0).
    - ``excess_units`` [units]: stock still expected after the threshold; all the stock when
      there is no forecast; 0 for stock ≤ 0.
    - ``expected_days_in_stock`` [days]: of the excess units; NaN when there is no excess.
    - ``no_forecast`` [bool]: no forecast demand within the horizon ("no sales", SPEC §3.3).
    """

    projected_stock_days: FloatArray
    excess_units: FloatArray
    expected_days_in_stock: FloatArray
    no_forecast: BoolArray

    def columns(self) -> dict[str, np.ndarray]:
        """Column name → array, ready for ``pl.DataFrame`` (NaN = not applicable)."""
        return {
            "projected_stock_days": self.projected_stock_days,
            "excess_units": self.excess_units,
            "expected_days_in_stock": self.expected_days_in_stock,
            "no_forecast": self.no_forecast,
        }


@dataclass(frozen=True)
class ProbabilisticExcess:
    """Probabilistic excess per SKU-location (SPEC §3.3); arrays of length n.

    - ``p_sell_all_within[d]`` [probability]: P(all the stock is sold within d days); 1 when
      there is no stock, 0 when there is stock and no demand.
    - ``expected_days_in_stock_excess`` [days]: mean over the excess units of E[min(T_k, cap)];
      the cap when the rate is 0; NaN when there is no excess.
    """

    p_sell_all_within: dict[int, FloatArray]
    expected_days_in_stock_excess: FloatArray

    def columns(self) -> dict[str, np.ndarray]:
        """``p_sell_all_within_<d>`` for each d and ``expected_days_in_stock_excess``."""
        out: dict[str, np.ndarray] = {
            f"p_sell_all_within_{d}": p for d, p in self.p_sell_all_within.items()
        }
        out["expected_days_in_stock_excess"] = self.expected_days_in_stock_excess
        return out


# ---------------------------------------------------------------------------------------------
# Parameter checks and conversions
# ---------------------------------------------------------------------------------------------
def _positive_number(name: str, value: float) -> float:
    """``value`` as a float in (0, inf), else ValueError in the one message format."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = float("nan")
    if isinstance(value, bool) or not np.isfinite(out) or out <= 0:
        raise ValueError(f"The '{name}' parameter must be a number in (0, inf). Got {value!r}.")
    return out


def _array(values: ArrayLike) -> FloatArray:
    """float64 array of ``values``; Polars/pandas Series via ``to_numpy`` (nulls → NaN)."""
    to_numpy = getattr(values, "to_numpy", None)
    if callable(to_numpy):
        values = to_numpy()
    return np.asarray(values, dtype=np.float64)


def _vector(name: str, values: ArrayLike) -> FloatArray:
    """1-D float64 array of ``values`` (nulls → NaN)."""
    out = _array(values)
    if out.ndim != 1:
        raise ValueError(f"The '{name}' parameter must be 1-D. Got shape {out.shape}.")
    return out


def _same_length(**arrays: np.ndarray) -> int:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"The arrays must have equal lengths. Got {shown}.")
    return next(iter(lengths.values()))


def _dispersion(dispersion: ArrayLike | None, rate: FloatArray) -> FloatArray:
    """NB size r per series, ``inf`` = Poisson (None, NaN, inf or λ/r below the Poisson limit)."""
    if dispersion is None:
        return np.full(rate.shape, np.inf)
    given = _array(dispersion)
    if given.ndim > 1 or (given.ndim == 1 and given.shape != rate.shape):
        raise ValueError(
            f"The 'dispersion' parameter must be a number or have length {len(rate)}. "
            f"Got shape {given.shape}."
        )
    r = np.broadcast_to(given, rate.shape)
    if np.any(r <= 0):
        raise ValueError(
            "The 'dispersion' parameter must hold numbers in (0, inf] (NaN or inf = Poisson). "
            f"Got {int(np.sum(r <= 0))} value(s) ≤ 0."
        )
    r = np.where(np.isnan(r), np.inf, r)
    with np.errstate(invalid="ignore", divide="ignore"):
        near_poisson = rate < _POISSON_LIMIT * r
    return np.where(near_poisson, np.inf, r)


def whole_units(units: ArrayLike) -> FloatArray:
    """⌈units⌉ ≥ 0 as floats [units]; within 10⁻⁹ of a whole number counts as it; NaN stays."""
    x = np.asarray(units, dtype=np.float64)
    return np.maximum(np.ceil(x - _UNIT_TOLERANCE), 0.0)


# ---------------------------------------------------------------------------------------------
# Deterministic excess (SPEC §3.3)
# ---------------------------------------------------------------------------------------------
def deterministic_excess(
    stock: ArrayLike,
    rate: ArrayLike,
    *,
    threshold_days: float = DEFAULT_THRESHOLD_DAYS,
    no_sales_days: float = DEFAULT_NO_SALES_DAYS,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    cap_days: float | None = None,
) -> DeterministicExcess:
    """Projected stock days, excess units and their expected days in stock (SPEC §3.3).

    ``stock`` [units]: on-hand plus inbound, length n. ``rate`` [units/day]: a flat forecast
    rate (length n) or a per-day rate path (n × H; column j = day j+1 after as-of). With a path,
    cumulative demand C(t) is its running sum, linear within each day; beyond day H the mean rate
    of the path's last 7 days carries on. NaN or negative rates count as 0.

    - no forecast: C(horizon_days) ≤ 0, or a NaN flat rate. Then projected stock days = inf,
      excess = all the stock, expected days = ``no_sales_days``.
    - projected stock days P: C(P) = stock, i.e. stock ÷ rate for a flat rate [days]; inf when
      the path's tail rate is 0 and the stock outlasts the path.
    - excess units = max(0, stock − C(threshold_days)) [units].
    - expected days in stock of the excess = (threshold_days + P) ÷ 2 [days] when excess > 0,
      else NaN; ``no_sales_days`` when P is inf. With ``cap_days`` the excess units, spread
      evenly over [threshold, P], count at most ``cap_days`` each: the mean of min(t, cap) over
      that interval (→ cap as P → inf), matching the cap of :func:`probabilistic_excess`.
    - stock ≤ 0: P = 0, excess = 0, expected days NaN. NaN stock gives NaN.
    """
    threshold = _positive_number("threshold_days", threshold_days)
    no_sales = _positive_number("no_sales_days", no_sales_days)
    horizon = _positive_number("horizon_days", horizon_days)
    cap = None if cap_days is None else _positive_number("cap_days", cap_days)
    s = _vector("stock", stock)
    rates = _array(rate)
    if rates.ndim == 1:
        _same_length(stock=s, rate=rates)
        projected, sold_by_threshold, no_forecast = _flat_projection(s, rates, threshold)
    elif rates.ndim == 2:
        if rates.shape[0] != len(s) or rates.shape[1] == 0:
            raise ValueError(
                f"The 'rate' path must have shape (n, H ≥ 1) with n = {len(s)}. Got {rates.shape}."
            )
        projected, sold_by_threshold, no_forecast = _path_projection(s, rates, threshold, horizon)
    else:
        raise ValueError(f"The 'rate' parameter must be 1-D or 2-D. Got shape {rates.shape}.")

    has_stock = s > 0
    projected = np.where(has_stock, projected, np.where(np.isnan(s), np.nan, 0.0))
    excess = np.where(has_stock, np.maximum(s - sold_by_threshold, 0.0), 0.0)
    excess = np.where(np.isnan(s), np.nan, excess)
    expected = _midpoint_days(threshold, projected, cap)
    expected = np.where(np.isinf(projected), no_sales, expected)
    expected = np.where(excess > 0, expected, np.nan)
    return DeterministicExcess(
        projected_stock_days=projected,
        excess_units=excess,
        expected_days_in_stock=expected,
        no_forecast=no_forecast,
    )


def _flat_projection(
    stock: FloatArray, rate: FloatArray, threshold: float
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """(P, C(threshold), no_forecast) for a flat rate: P = stock ÷ rate, C = rate × threshold."""
    no_forecast = ~(rate > 0)  # NaN or ≤ 0
    safe = np.where(no_forecast, 1.0, rate)
    projected = np.where(no_forecast, np.inf, stock / safe)
    sold = np.where(no_forecast, 0.0, rate * threshold)
    return projected, sold, no_forecast


def _path_projection(
    stock: FloatArray, path: FloatArray, threshold: float, horizon: float
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """(P, C(threshold), no_forecast) for per-day rate paths, in blocks of rows."""
    n = len(stock)
    projected = np.empty(n)
    sold = np.empty(n)
    no_forecast = np.empty(n, dtype=bool)
    for lo in range(0, n, _CHUNK_ROWS):
        rows = slice(lo, min(lo + _CHUNK_ROWS, n))
        block = np.clip(np.nan_to_num(path[rows], nan=0.0), 0.0, None)
        cum = np.cumsum(block, axis=1)
        tail = block[:, -min(_TAIL_DAYS, block.shape[1]) :].mean(axis=1)
        no_forecast[rows] = ~(_cumulative_at(block, cum, tail, horizon) > 0)
        sold[rows] = _cumulative_at(block, cum, tail, threshold)
        projected[rows] = _days_to_reach(block, cum, tail, stock[rows])
    projected = np.where(no_forecast, np.inf, projected)
    sold = np.where(no_forecast, 0.0, sold)
    return projected, sold, no_forecast


def _cumulative_at(block: FloatArray, cum: FloatArray, tail: FloatArray, day: float) -> FloatArray:
    """C(day) [units]: whole days from the running sum, a fraction of the next day, then tail."""
    h = block.shape[1]
    if day >= h:
        return cum[:, -1] + (day - h) * tail
    whole = int(np.floor(day))
    before = cum[:, whole - 1] if whole > 0 else np.zeros(len(block))
    return before + (day - whole) * block[:, whole]


def _days_to_reach(
    block: FloatArray, cum: FloatArray, tail: FloatArray, stock: FloatArray
) -> FloatArray:
    """First t with C(t) = stock [days], linear within the day; inf if never reached."""
    h = block.shape[1]
    target = np.where(stock > 0, stock, 0.0)[:, None]
    day = (cum < target).sum(axis=1)  # whole days before the stock is reached
    rows = np.arange(len(block))
    inside = day < h
    at = np.minimum(day, h - 1)
    before = np.where(day > 0, cum[rows, np.maximum(day - 1, 0)], 0.0)
    rate_that_day = block[rows, at]
    with np.errstate(divide="ignore", invalid="ignore"):
        within = day + (target[:, 0] - before) / rate_that_day
        beyond = h + (target[:, 0] - cum[:, -1]) / tail
    beyond = np.where(tail > 0, beyond, np.inf)
    return np.where(inside, within, beyond)


def _midpoint_days(threshold: float, projected: FloatArray, cap: float | None) -> FloatArray:
    """Mean sell day of units spread evenly over [threshold, P] [days], capped if asked."""
    with np.errstate(invalid="ignore"):
        plain = (threshold + projected) / 2.0
    if cap is None:
        return plain
    if cap <= threshold:
        return np.where(np.isnan(projected), np.nan, cap)
    span = projected - threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        capped = ((cap * cap - threshold * threshold) / 2.0 + cap * (projected - cap)) / span
    capped = np.where(np.isinf(projected), cap, capped)
    return np.where(projected <= cap, plain, capped)


# ---------------------------------------------------------------------------------------------
# Probabilistic excess (SPEC §3.3)
# ---------------------------------------------------------------------------------------------
def probabilistic_excess(
    stock: ArrayLike,
    excess: ArrayLike,
    rate: ArrayLike,
    dispersion: ArrayLike | None = None,
    *,
    days: Iterable[int] = DEFAULT_SELL_OUT_DAYS,
    cap_days: float = DEFAULT_CAP_DAYS,
) -> ProbabilisticExcess:
    """Chance of selling out and expected days in stock of the excess (SPEC §3.3).

    ``stock`` [units] (on-hand plus inbound), ``excess`` [units] (e.g. from
    :func:`deterministic_excess`; clipped to [0, stock]), ``rate`` [units/day], ``dispersion``
    NB size r per series (None, NaN or inf = Poisson), all length n.

    - ``p_sell_all_within[d]`` = P(D(d) ≥ ⌈stock⌉) for each d in ``days`` [days].
    - ``expected_days_in_stock_excess`` = mean over the excess units k = a+1 … b
      (b = ⌈stock⌉, a = b − ⌈excess⌉) of E[min(T_k, cap_days)] [days]; exact for Poisson,
      within 10⁻³ days for NB (see the module docstring).

    Rate ≤ 0 or NaN = no demand: probabilities 0 (1 with no stock), expected days = cap_days.
    """
    cap = _positive_number("cap_days", cap_days)
    day_counts = tuple(days)
    for d in day_counts:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d <= 0:
            raise ValueError(f"The 'days' parameter must hold ints in [1, inf). Got {d!r}.")
    s = _vector("stock", stock)
    e = _vector("excess", excess)
    lam = _vector("rate", rate)
    _same_length(stock=s, excess=e, rate=lam)
    r = _dispersion(dispersion, lam)

    units = whole_units(s)
    p_all = {int(d): _sell_probability(units, lam, r, float(d)) for d in day_counts}

    excess_units = np.minimum(whole_units(np.minimum(e, s)), units)
    last, first = units, units - excess_units  # excess units are k = first+1 … last
    expected = np.full(len(s), np.nan)
    has_excess = excess_units > 0
    selling = has_excess & (lam > 0)
    expected[has_excess & ~selling] = cap
    poisson = selling & np.isinf(r)
    nb = selling & ~np.isinf(r)
    if poisson.any():
        total = _poisson_unit_days(first[poisson], last[poisson], lam[poisson], cap)
        expected[poisson] = total / excess_units[poisson]
    if nb.any():
        total = _nb_unit_days(first[nb], last[nb], lam[nb], r[nb], cap)
        expected[nb] = total / excess_units[nb]
    expected[np.isnan(s) | np.isnan(e)] = np.nan
    return ProbabilisticExcess(p_sell_all_within=p_all, expected_days_in_stock_excess=expected)


def unit_sell_probability(
    stock_position_k: ArrayLike,
    rate: ArrayLike,
    dispersion: ArrayLike | None,
    t: ArrayLike,
) -> FloatArray:
    """P(T_k ≤ t) = P(D(t) ≥ ⌈k⌉): the chance that the k-th unit in stock sells by day t.

    ``stock_position_k`` [units] is the unit's place in the FIFO selling order (1 = next unit to
    sell), ``rate`` [units/day], ``dispersion`` NB size r (None/NaN/inf = Poisson), ``t``
    [days]; arrays broadcast against each other. 1 for k ≤ 0; 0 for t ≤ 0 or rate ≤ 0 (k ≥ 1).
    """
    k_in, lam_in, t_in = np.broadcast_arrays(
        np.asarray(stock_position_k, dtype=np.float64),
        np.asarray(rate, dtype=np.float64),
        np.asarray(t, dtype=np.float64),
    )
    shape = k_in.shape
    lam = lam_in.ravel()
    r = _dispersion(
        None if dispersion is None else np.broadcast_to(_array(dispersion), shape).ravel(), lam
    )
    k = whole_units(k_in.ravel())
    return _sell_probability(k, lam, r, t_in.ravel()).reshape(shape)


def _sell_probability(
    k: FloatArray, rate: FloatArray, r: FloatArray, t: float | FloatArray
) -> FloatArray:
    """P(D(t) ≥ k) for whole k ≥ 0 [probability]; NaN k gives NaN."""
    t_arr = np.broadcast_to(np.asarray(t, dtype=np.float64), k.shape)
    out = np.where(k > 0, 0.0, 1.0)
    out[np.isnan(k)] = np.nan
    live = (k > 0) & (rate > 0) & (t_arr > 0)
    poisson = live & np.isinf(r)
    nb = live & ~np.isinf(r)
    # Poisson: P(N ≥ k) = P(Gamma(k) ≤ μ), the regularised lower incomplete gamma function.
    out[poisson] = special.gammainc(k[poisson], rate[poisson] * t_arr[poisson])
    # NB(n, p): P(D ≥ k) = I_{1−p}(k, n), accurate in the upper tail.
    lam, size = rate[nb], r[nb]
    out[nb] = special.betainc(k[nb], size * t_arr[nb], lam / (size + lam))
    return out


# ---------------------------------------------------------------------------------------------
# Kernels: Σ_{k=a+1}^{b} E[min(T_k, c)] [unit-days]
# ---------------------------------------------------------------------------------------------
def _poisson_cdf(j: FloatArray, mu: FloatArray) -> FloatArray:
    """P(N ≤ j) for N ~ Poisson(mu); 0 for j < 0."""
    return np.where(j >= 0, special.gammaincc(np.maximum(j, 0.0) + 1.0, mu), 0.0)


def _poisson_sf(j: FloatArray, mu: FloatArray) -> FloatArray:
    """P(N > j) for N ~ Poisson(mu); 1 for j < 0."""
    return np.where(j >= 0, special.gammainc(np.maximum(j, 0.0) + 1.0, mu), 1.0)


def _poisson_unit_days(a: FloatArray, b: FloatArray, rate: FloatArray, cap: float) -> FloatArray:
    """Σ_{k=a+1}^{b} E[min(T_k, cap)] under Poisson demand, exact (module docstring)."""
    mu = rate * cap
    total = np.empty(len(a))
    upper = mu >= (a + b + 1.0) / 2.0  # most excess units sell before the cap

    def residual(k: FloatArray, m: FloatArray) -> FloatArray:  # E[R_k(R_k + 1)]
        return (
            k * (k + 1.0) * _poisson_cdf(k, m)
            - 2.0 * k * m * _poisson_cdf(k - 1.0, m)
            + m * m * _poisson_cdf(k - 2.0, m)
        )

    def early(k: FloatArray, m: FloatArray, lam: FloatArray) -> FloatArray:  # Σ E[(c − T_j)⁺]
        return (
            m * cap * _poisson_cdf(k - 1.0, m) / 2.0
            + cap * k * _poisson_sf(k, m)
            - k * (k + 1.0) * _poisson_sf(k + 1.0, m) / (2.0 * lam)
        )

    ua, ub, um, ul = a[upper], b[upper], mu[upper], rate[upper]
    total[upper] = (ub * (ub + 1.0) - ua * (ua + 1.0) - residual(ub, um) + residual(ua, um)) / (
        2.0 * ul
    )
    la, lb, lm, ll = a[~upper], b[~upper], mu[~upper], rate[~upper]
    total[~upper] = (lb - la) * cap - early(lb, lm, ll) + early(la, lm, ll)
    return total


def _fluid_unit_days(k: FloatArray, rate: FloatArray, cap: float) -> FloatArray:
    """∫_0^cap (k − λt)⁺ dt [unit-days]: units 1 … k sold at the constant rate λ."""
    until = np.minimum(cap, k / rate)
    return k * until - rate * until * until / 2.0


def _nb_unit_days(
    a: FloatArray, b: FloatArray, rate: FloatArray, r: FloatArray, cap: float
) -> FloatArray:
    """Σ_{k=a+1}^{b} E[min(T_k, cap)] under NB demand: fluid part + Jensen-gap bumps."""
    total = _fluid_unit_days(b, rate, cap) - _fluid_unit_days(a, rate, cap)
    total += _nb_bump_integral(b, rate, r, cap)
    has_a = a > 0
    total[has_a] -= _nb_bump_integral(a[has_a], rate[has_a], r[has_a], cap)
    return total


def _nb_bump_integral(k: FloatArray, rate: FloatArray, r: FloatArray, cap: float) -> FloatArray:
    """∫_0^cap β_k(t) dt, β_k = E[(k − D(t))⁺] − (k − λt)⁺, by Gauss–Legendre [unit-days]."""
    kink = k / rate
    spread = np.sqrt(k * (1.0 + rate / r)) / rate
    tail_scale = 1.0 / (r * np.log1p(rate / r))
    left = np.clip(kink - _BUMP_SPREADS * spread, 0.0, cap)
    middle = np.minimum(kink, cap)
    right = np.clip(kink + _BUMP_SPREADS * spread + _BUMP_TAILS * tail_scale, 0.0, cap)
    out = np.zeros(len(k))
    nodes, weights = np.polynomial.legendre.leggauss(_QUADRATURE_NODES)
    for lo_edge, hi_edge in ((left, middle), (middle, right)):
        live = np.flatnonzero(hi_edge > lo_edge)
        for start in range(0, len(live), _CHUNK_ROWS):
            rows = live[start : start + _CHUNK_ROWS]
            half = (hi_edge[rows] - lo_edge[rows]) / 2.0
            t = lo_edge[rows, None] + half[:, None] * (nodes + 1.0)
            gap = _nb_jensen_gap(k[rows, None], rate[rows, None], r[rows, None], t)
            out[rows] += half * (gap @ weights)
    return out


def _nb_jensen_gap(k: FloatArray, rate: FloatArray, r: FloatArray, t: FloatArray) -> FloatArray:
    """β_k(t) = E[(k − D)⁺] − (k − λt)⁺ for D ~ NB(rt, r/(r+λ)), k ≥ 1, t > 0 [units].

    E[(k − D)⁺] = (k − λt)·F(k−1) + (λ/r)(rt + k − 1)·P(D = k−1) (the Panjer recursion of the
    NB pmf), with F(k−1) = I_p(rt, k).
    """
    size = r * t
    p = r / (r + rate)
    log_p = -np.log1p(rate / r)
    log_q = np.log(rate) - np.log(r + rate)
    cdf = special.betainc(size, k, p)
    log_pmf = (
        special.gammaln(size + k - 1.0)
        - special.gammaln(size)
        - special.gammaln(k)
        + size * log_p
        + (k - 1.0) * log_q
    )
    fluid = k - rate * t
    shortfall = fluid * cdf + (rate / r) * (size + k - 1.0) * np.exp(log_pmf)
    return shortfall - np.maximum(fluid, 0.0)


# ---------------------------------------------------------------------------------------------
# Dispersion
# ---------------------------------------------------------------------------------------------
def estimate_dispersion(
    daily_matrix_or_moments: ArrayLike | Sequence[ArrayLike], *, ddof: int = 1
) -> FloatArray:
    """NB size r per series by the method of moments: r = mean² ÷ (variance − mean).

    Input: a 2-D daily demand matrix (n series × days) [units/day] — NaN cells are days not
    observed (e.g. out of stock) and are skipped, negative cells (net returns) count as 0 — or
    the moments as a tuple ``(count, total, total_sq)`` of 1-D arrays: days observed, Σq
    [units], Σq² [units²] of non-negative daily demand. Variance with ``ddof`` (1 = unbiased).

    Returns r (length n): inf when variance ≤ mean (no over-dispersion: Poisson), NaN when it
    cannot be estimated (fewer than ddof + 1 days, or mean 0); both mean Poisson downstream.
    Method of moments for the NB: Anscombe 1950, Biometrika 37(3/4), 358–382.
    """
    if isinstance(daily_matrix_or_moments, tuple):
        if len(daily_matrix_or_moments) != 3:
            raise ValueError(
                "The 'daily_matrix_or_moments' parameter must be a 2-D matrix or a tuple "
                f"(count, total, total_sq). Got a tuple of {len(daily_matrix_or_moments)}."
            )
        count, total, total_sq = (
            _vector(name, v)
            for name, v in zip(("count", "total", "total_sq"), daily_matrix_or_moments, strict=True)
        )
        _same_length(count=count, total=total, total_sq=total_sq)
    else:
        daily = np.asarray(daily_matrix_or_moments, dtype=np.float64)
        if daily.ndim != 2:
            raise ValueError(
                "The 'daily_matrix_or_moments' parameter must be a 2-D matrix or a tuple "
                f"(count, total, total_sq). Got shape {daily.shape}."
            )
        observed = ~np.isnan(daily)
        q = np.where(observed, np.maximum(daily, 0.0), 0.0)
        count = observed.sum(axis=1).astype(np.float64)
        total = q.sum(axis=1)
        total_sq = (q * q).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / count
        # n·Σq² − (Σq)² in one subtraction keeps a constant series at exactly 0 spread.
        variance = np.maximum(count * total_sq - total * total, 0.0) / (count * (count - ddof))
        r = np.where(variance > mean, mean * mean / (variance - mean), np.inf)
    return np.where((count > ddof) & (mean > 0), r, np.nan)
