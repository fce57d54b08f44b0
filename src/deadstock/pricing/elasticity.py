"""Price elasticity of demand per SKU from sales and price history (SPEC §3.5, beyond the thesis).

Zijlmans (2025) leaves markdowns out; SPEC §3.5 prices a discount d with the demand response
``demand × (1 − d)^ε`` [ε < 0], "estimated from the sales/price history with shrinkage to category
level". This module estimates ε.

Model (one equation for the whole catalogue, fitted per SKU in closed-form group-by sums)::

    E[q_it] = exposure_it · exp(α_i + γ_{c(i),t} + ε_s(i) · log p_it)

q_it units sold by SKU-location i in period t (a week, or a month with ``elasticity_period``),
p_it its day-weighted geometric mean price in the period, exposure_it the days of the period on
which a price was in force. α_i is a SKU-location fixed effect (level of demand at that store),
γ_ct a category × calendar-period fixed effect: it absorbs seasonality, holidays and events,
promotions of the whole category and trends common to the category, so ε is identified from a
SKU's price moving *relative to its category's* demand in the same period. ε is shared by the
locations of a SKU.

Zero-sales periods are kept: the model is fitted by Poisson pseudo-maximum likelihood (PPML;
Santos Silva & Tenreyro 2006, "The log of gravity", REStat 88(4)), which is consistent for any
non-negative demand whose mean follows the equation above (no Poisson assumption on the
variance) and, unlike log(q) on selling weeks, neither drops nor biases intermittent series. The
fit alternates exact updates of α and γ (their PPML first-order conditions have closed forms:
Σ y = Σ μ per SKU-location and per category-period, as in ppmlhdfe, Correia, Guimarães & Zylkin
2020) with one vectorised Newton step per SKU for ε on the price with the SKU-location effect
partialled out (Frisch–Waugh–Lovell with Poisson weights): ε += Σ x̃(y − μ) / Σ μ x̃², x̃ = x minus
its μ-weighted SKU-location mean, both sums taken from per-SKU-location group sums. Observations
that carry no information (SKU-locations or category-periods with no sales at all) are dropped
first; a SKU whose slope runs past ±SLOPE_BOUND (separation: sales at one price level only) is
reported as not identified. The standard error is the quasi-Poisson one, se² = φ / Σ μ x̃², with
φ = Pearson χ² ÷ degrees of freedom per SKU floored at 1 (count demand is at least
Poisson-dispersed) and inflated by (1 + ρ)/(1 − ρ), ρ = ρ_residual × ρ_price, the lag-1
autocorrelations of the Pearson residuals and of the centred log price (the AR(1) variance
factor of a slope: trends and stock-outs make weekly residuals persist, and a price step is a
persistent regressor).

Empirical-Bayes shrinkage (Morris 1983, "Parametric empirical Bayes inference", JASA 78(381)):
SKU estimates with at least ``elasticity_min_price_changes`` price changes are pooled per category
by the DerSimonian–Laird (1986) random-effects method (between-SKU variance τ² by the method of
moments); the category means are pooled into a catalogue mean the same way and each category
mean is shrunk toward it. A SKU's posterior is B·ε̂ + (1 − B)·m_c with B = τ²_c / (τ²_c + se²),
variance B·se² + (1 − B)²·Var(m_c). SKUs with too few price changes take their category's value
(std error √(τ²_c + Var(m_c)), a new draw from the category); categories without any usable SKU
take the configured prior (Bijmolt, van Heerde & Pieters 2005, "New empirical generalizations on
the determinants of price elasticity", JMR 42(2): mean −2.62 over 1,851 elasticities). Final
values are clipped to [elasticity_min, elasticity_max].
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from deadstock.config import Config
from deadstock.errors import ConfigError, InputError
from deadstock.schema import DEFAULT_LOCATION

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NO_CATEGORY = "(none)"
PERIODS = ("week", "month")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UNPRICED_PERIODS = ("carry", "drop")
SOURCES = ("sku", "category", "prior")

#: A Monday long before any retail data: week k starts on MONDAY_1900 + week_start + 7k days.
_MONDAY_1900 = dt.date(1900, 1, 1)
_EPOCH = dt.date(1970, 1, 1)
#: |slope| beyond which a SKU's Poisson likelihood has no finite maximum (separation: every
#: sale at one price level, none at another); its raw estimate is reported as missing.
SLOPE_BOUND = 12.0
#: A Newton step on a slope is capped at this (damping far from the optimum).
MAX_SLOPE_STEP = 2.0
#: Cap of the residual × price lag-1 correlation product in the serial-correlation inflation.
MAX_SERIAL_CORRELATION = 0.9


@dataclass(frozen=True)
class ElasticitySettings:
    """Settings of :func:`estimate_elasticities` (config names ``elasticity_<field>``).

    ``prior`` [-] and ``prior_std_error`` [-]: value of SKUs whose category has no usable estimate.
    ``min_price_changes`` [periods]: periods with a price change a SKU needs for its own estimate.
    ``minimum``, ``maximum`` [-]: clip range of the final elasticity.
    ``price_change_min`` [share]: smallest relative price move counted as a change.
    ``period``: ``week`` or ``month``; ``week_start``: first weekday of a week.
    ``unpriced_periods``: without a prices table, periods without sales have no realised price;
    ``carry`` keeps them as zero-sales periods at the last realised price, ``drop`` leaves them out.
    ``max_iterations``, ``tolerance`` [log units]: stopping rule of the PPML fit.
    ``chunk_rows`` [sales rows]: categories are fitted in groups of about this many sales rows
    (a category is never split); the fit separates by category, so only memory changes.
    """

    prior: float = -2.62
    prior_std_error: float = 2.0
    min_price_changes: int = 2
    minimum: float = -6.0
    maximum: float = 0.0
    price_change_min: float = 0.01
    period: str = "week"
    week_start: str = "monday"
    unpriced_periods: str = "carry"
    max_iterations: int = 500
    tolerance: float = 1e-7
    chunk_rows: int = 4_000_000

    def __post_init__(self) -> None:
        if not self.minimum < self.maximum:
            raise ConfigError(
                f"The 'elasticity_min' setting must be below 'elasticity_max'. Got "
                f"{self.minimum} and {self.maximum}.",
                fix="set e.g. elasticity_min=-6 and elasticity_max=0.",
            )
        if not self.minimum <= self.prior <= self.maximum:
            raise ConfigError(
                f"The 'elasticity_prior' setting must lie in [elasticity_min, elasticity_max] = "
                f"[{self.minimum}, {self.maximum}]. Got {self.prior}.",
                fix="move the prior inside the clip range or widen the range.",
            )
        for name, value, choices in (
            ("elasticity_period", self.period, PERIODS),
            ("elasticity_week_start", self.week_start, WEEKDAYS),
            ("elasticity_unpriced_periods", self.unpriced_periods, UNPRICED_PERIODS),
        ):
            if value not in choices:
                raise ConfigError(
                    f"The '{name}' setting must be one of {', '.join(choices)}. Got {value!r}.",
                    fix=f"use one of {', '.join(choices)}.",
                )
        if self.prior_std_error <= 0 or self.min_price_changes < 0 or self.price_change_min < 0:
            raise ConfigError(
                "elasticity_prior_std_error must be > 0, elasticity_min_price_changes and "
                "elasticity_price_change_min ≥ 0.",
                fix="correct the elasticity settings.",
            )

    @classmethod
    def from_config(cls, config: Config) -> ElasticitySettings:
        """The elasticity settings of a run's :class:`~deadstock.config.Config`."""
        return cls(
            prior=config.elasticity_prior,
            prior_std_error=config.elasticity_prior_std_error,
            min_price_changes=config.elasticity_min_price_changes,
            minimum=config.elasticity_min,
            maximum=config.elasticity_max,
            price_change_min=config.elasticity_price_change_min,
            period=config.elasticity_period,
            week_start=config.elasticity_week_start,
            unpriced_periods=config.elasticity_unpriced_periods,
            chunk_rows=config.elasticity_chunk_rows,
        )


# ---------------------------------------------------------------------------------------------
# Numeric kernels (arrays in, arrays out)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoissonFit:
    """Result of :func:`fit_poisson_fixed_effects`.

    ``slope`` [-] and ``std_error`` [-] per SKU (NaN where not identified), ``unit_effect`` α per
    SKU-location and ``cell_effect`` γ per category-period [log units] (−inf where that unit or
    cell has no sales), ``n_obs`` observations per SKU in the fit, ``iterations``, ``converged``.
    """

    slope: FloatArray
    std_error: FloatArray
    unit_effect: FloatArray
    cell_effect: FloatArray
    n_obs: IntArray
    iterations: int
    converged: bool


def fit_poisson_fixed_effects(
    qty: FloatArray,
    log_price: FloatArray,
    offset: FloatArray,
    unit: IntArray,
    cell: IntArray,
    sku_of_unit: IntArray,
    n_skus: int,
    *,
    fixed_slope: FloatArray | None = None,
    max_iterations: int = 500,
    tolerance: float = 1e-7,
) -> PoissonFit:
    """PPML of ``qty ~ exp(offset + α_unit + γ_cell + ε_sku · log_price)`` (module docstring).

    ``unit`` [0..n_units) is the SKU-location of each observation, ``cell`` its category-period,
    ``sku_of_unit`` maps units to SKUs [0..n_skus). With ``fixed_slope`` (one value per SKU) only
    α and γ are fitted. Each iteration is a handful of segment sums over the observations
    (observations are sorted by unit first when they are not).
    """
    n_units = int(sku_of_unit.size)
    if unit.size and np.any(unit[1:] < unit[:-1]):
        order = np.argsort(unit, kind="stable")
        qty, log_price, offset = qty[order], log_price[order], offset[order]
        unit, cell = unit[order], cell[order]
    n_cells = int(cell.max()) + 1 if cell.size else 0
    qty_unit = np.bincount(unit, qty, n_units)
    qty_cell = np.bincount(cell, qty, n_cells)
    used = (qty_unit[unit] > 0) & (qty_cell[cell] > 0)
    y, x, off, c = qty[used], log_price[used], offset[used], cell[used]
    u = unit[used]
    fitting_slope = fixed_slope is None
    beta = np.zeros(n_skus) if fixed_slope is None else np.array(fixed_slope, dtype=np.float64)
    alpha_out = np.full(n_units, -np.inf)
    gamma = np.where(qty_cell > 0, 0.0, -np.inf)
    nan = np.full(n_skus, np.nan)
    if y.size == 0:
        return PoissonFit(nan, nan.copy(), alpha_out, gamma, np.zeros(n_skus, np.int64), 0, True)

    # segments: the observations of one unit are contiguous
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    lengths = np.diff(np.r_[starts, u.size])
    seg_unit = u[starts]
    seg_sku = sku_of_unit[seg_unit]

    def seg_sum(values: FloatArray) -> FloatArray:
        return np.add.reduceat(values, starts)

    def spread(values: FloatArray) -> FloatArray:
        return np.repeat(values, lengths)

    # centre the log price per SKU-location (α absorbs the level; ε is unchanged)
    x_centre = seg_sum(x) / lengths
    z = x - spread(x_centre)
    qty_seg = qty_unit[seg_unit]
    log_qty_seg = np.log(qty_seg)
    zy_seg = seg_sum(z * y)
    live_cell = qty_cell > 0
    log_qty_cell = np.log(np.where(live_cell, qty_cell, 1.0))
    alpha = log_qty_seg - np.log(seg_sum(np.exp(off)))
    frozen = np.zeros(n_skus, dtype=bool)
    converged = False
    iterations = 0
    mu = np.empty_like(y)
    work = np.empty_like(y)
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (reported after the loop)
        _linear_predictor(mu, work, off, alpha, gamma, c, beta[seg_sku], z, lengths)
        np.exp(mu, out=mu)
        # α: Σ μ = Σ y per SKU-location
        step_alpha = log_qty_seg - np.log(seg_sum(mu))
        alpha += step_alpha
        mu *= spread(np.exp(step_alpha))
        # γ: Σ μ = Σ y per category-period
        step_gamma = np.zeros(n_cells)
        step_gamma[live_cell] = log_qty_cell[live_cell] - np.log(
            np.bincount(c, mu, n_cells)[live_cell]
        )
        gamma += step_gamma
        mu *= np.exp(step_gamma)[c]
        change = max(_max_abs(step_alpha), _max_abs(step_gamma))
        if fitting_slope:
            # Newton step on ε with α partialled out, from μ-weighted sums of z per unit:
            # score Σ z̃(y − μ) = Σzy − Σμz − z̄(Σy − Σμ), information Σ μ z̃² = Σμz² − (Σμz)²/Σμ
            s0 = seg_sum(mu)
            np.multiply(mu, z, out=work)
            s1 = seg_sum(work)
            work *= z
            s2 = seg_sum(work)
            z_bar = s1 / s0
            score = np.bincount(seg_sku, zy_seg - s1 - z_bar * (qty_seg - s0), n_skus)
            info = np.bincount(seg_sku, np.maximum(s2 - s1 * z_bar, 0.0), n_skus)
            scale = np.bincount(seg_sku, s0, n_skus)
            active = (info > 1e-12 * scale) & ~frozen
            step = np.zeros(n_skus)
            step[active] = np.clip(score[active] / info[active], -MAX_SLOPE_STEP, MAX_SLOPE_STEP)
            beta += step
            frozen |= np.abs(beta) >= SLOPE_BOUND
            # keep each SKU-location's fitted total: α_i −= Δε · z̄_i
            alpha -= step[seg_sku] * z_bar
            change = max(change, _max_abs(step))
        if change < tolerance:
            converged = True
            break

    alpha_out[seg_unit] = alpha - beta[seg_sku] * x_centre
    n_obs = np.bincount(seg_sku, lengths, n_skus).astype(np.int64)
    if not fitting_slope:
        return PoissonFit(beta, nan, alpha_out, gamma, n_obs, iterations, converged)
    _linear_predictor(mu, work, off, alpha, gamma, c, beta[seg_sku], z, lengths)
    np.exp(mu, out=mu)
    s0 = seg_sum(mu)
    s1 = seg_sum(mu * z)
    s2 = seg_sum(mu * z * z)
    info = np.bincount(seg_sku, np.maximum(s2 - s1 * s1 / s0, 0.0), n_skus)
    scale = np.bincount(seg_sku, s0, n_skus)
    residual = (y - mu) / np.sqrt(mu)
    pearson = np.bincount(seg_sku, seg_sum(residual * residual), n_skus)
    dof = n_obs - np.bincount(seg_sku, minlength=n_skus) - 1
    ok = (info > 1e-12 * scale) & (dof > 0) & ~frozen
    dispersion = np.maximum(pearson[ok] / dof[ok], 1.0)
    # serial correlation: AR(1) variance inflation (1 + ρ_x·ρ_e) / (1 − ρ_x·ρ_e) of a slope
    rho_error = _lag_one_correlation(residual, starts, seg_sku, n_skus)[ok]
    rho_price = _lag_one_correlation(z, starts, seg_sku, n_skus)[ok]
    rho = np.clip(rho_error * rho_price, 0.0, MAX_SERIAL_CORRELATION)
    dispersion *= (1.0 + rho) / (1.0 - rho)
    slope = np.where(ok, beta, np.nan)
    std_error = nan.copy()
    std_error[ok] = np.sqrt(dispersion / info[ok])
    return PoissonFit(slope, std_error, alpha_out, gamma, n_obs, iterations, converged)


def _lag_one_correlation(
    values: FloatArray, starts: IntArray, seg_sku: IntArray, n_skus: int
) -> FloatArray:
    """Σ v_t·v_{t−1} ÷ Σ v_t² per SKU, pairs within one SKU-location only (0 when undefined)."""
    product = np.r_[0.0, values[1:] * values[:-1]]
    product[starts] = 0.0
    cross = np.bincount(seg_sku, np.add.reduceat(product, starts), n_skus)
    square = np.bincount(seg_sku, np.add.reduceat(values * values, starts), n_skus)
    return np.where(square > 0, cross / np.where(square > 0, square, 1.0), 0.0)


def _linear_predictor(
    out: FloatArray,
    work: FloatArray,
    offset: FloatArray,
    unit_effect: FloatArray,
    cell_effect: FloatArray,
    cell: IntArray,
    unit_slope: FloatArray,
    z: FloatArray,
    lengths: IntArray,
) -> None:
    """out = offset + α_unit + γ_cell + ε·z, in place (observations contiguous per unit)."""
    out[:] = np.repeat(unit_effect, lengths)
    out += offset
    out += cell_effect[cell]
    work[:] = np.repeat(unit_slope, lengths)
    work *= z
    out += work


def _max_abs(values: FloatArray) -> float:
    return float(np.max(np.abs(values))) if values.size else 0.0


@dataclass(frozen=True)
class Pooled:
    """DerSimonian–Laird pooling per group: random-effects ``mean``, its ``variance``, the
    between-member variance ``tau2`` and the number of members ``count`` (NaN / 0 when empty)."""

    mean: FloatArray
    variance: FloatArray
    tau2: FloatArray
    count: IntArray


def dersimonian_laird(
    estimate: FloatArray, variance: FloatArray, group: IntArray, n_groups: int
) -> Pooled:
    """Random-effects pooling of ``estimate`` (variance ``variance``) within each ``group``.

    DerSimonian & Laird (1986), "Meta-analysis in clinical trials", Controlled Clinical Trials 7:
    w = 1/v, fixed-effect mean m = Σwθ/Σw, Q = Σw(θ − m)², τ² = max(0, (Q − (k − 1)) / (Σw −
    Σw²/Σw)), then w* = 1/(v + τ²), mean = Σw*θ/Σw*, Var(mean) = 1/Σw*. One member: τ² = 0.
    """
    count = np.bincount(group, minlength=n_groups).astype(np.int64)
    w = 1.0 / variance
    sum_w = np.bincount(group, w, n_groups)
    sum_w2 = np.bincount(group, w * w, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        fixed = np.bincount(group, w * estimate, n_groups) / sum_w
        q = np.bincount(group, w * (estimate - fixed[group]) ** 2, n_groups)
        denominator = sum_w - sum_w2 / sum_w
        tau2 = np.where(
            (count > 1) & (denominator > 0),
            np.maximum(0.0, (q - (count - 1)) / np.where(denominator > 0, denominator, 1.0)),
            0.0,
        )
        w_star = 1.0 / (variance + tau2[group])
        sum_w_star = np.bincount(group, w_star, n_groups)
        mean = np.bincount(group, w_star * estimate, n_groups) / sum_w_star
        mean_variance = 1.0 / sum_w_star
    empty = count == 0
    mean[empty], mean_variance[empty], tau2[empty] = np.nan, np.nan, np.nan
    return Pooled(mean, mean_variance, tau2, count)


def shrink(
    estimate: FloatArray,
    variance: FloatArray,
    target: FloatArray,
    target_variance: FloatArray,
    tau2: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Empirical-Bayes posterior of ``estimate`` shrunk toward ``target`` (Morris 1983).

    B = τ² / (τ² + v); posterior = B·θ̂ + (1 − B)·m; variance = B·v + (1 − B)²·Var(m), the last
    term carrying the uncertainty of the estimated target. Returns (posterior, variance).
    """
    weight = tau2 / (tau2 + variance)
    posterior = weight * estimate + (1.0 - weight) * target
    return posterior, weight * variance + (1.0 - weight) ** 2 * target_variance


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------
def _row_number(frame: pl.DataFrame, mask: pl.Expr) -> int:
    """Row of the first offending line: its ``_row`` (as read from a file) or 1-based position."""
    numbered = frame.with_row_index("_position", offset=1)
    hit = numbered.filter(mask).head(1)
    if "_row" in hit.columns and hit["_row"][0] is not None:
        return int(hit["_row"][0])
    return int(hit["_position"][0])


def _check_frame(frame: pl.DataFrame, table: str, required: tuple[str, ...]) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise InputError(
            f"expected a polars DataFrame, got {type(frame).__name__}.",
            file=table,
            fix=f"pass the canonical {table} table (deadstock.validate.load_inputs).",
        )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"required column(s) missing: {', '.join(missing)}; columns found: "
            f"{', '.join(frame.columns) or '(none)'}.",
            file=table,
            column=missing[0],
            fix=f"give the {table} table the columns {', '.join(required)} (docs/nomenclature.md).",
        )


def _typed(
    frame: pl.DataFrame, table: str, column: str, dtype: type[pl.DataType], nullable: bool
) -> pl.Expr:
    """Cast ``column`` strictly; a value that does not fit raises InputError at its row."""
    source = frame[column]
    try:
        if dtype is pl.Date and source.dtype == pl.String:
            cast = source.str.to_date("%Y-%m-%d", strict=False)
        elif dtype is pl.Date and isinstance(source.dtype, pl.Datetime):
            cast = source.dt.date()
        else:
            cast = source.cast(dtype, strict=False)
    except pl.exceptions.InvalidOperationError:
        cast = pl.Series(column, [None] * frame.height, dtype=dtype)
    bad = cast.is_null() & source.is_not_null()
    if not nullable:
        bad = bad | source.is_null()
    if bad.any():
        row = _row_number(frame, pl.lit(bad))
        value = source.filter(bad)[0]
        expected = {pl.Date: "an ISO date YYYY-MM-DD", pl.String: "a text"}.get(dtype, "a number")
        raise InputError(
            f"{column} must be {expected}. Got {value!r}.",
            file=table,
            row=row,
            column=column,
            fix=f"correct the {table} table or run it through deadstock validate first.",
        )
    return pl.lit(cast).alias(column)


def _canonical_sales(sales: pl.DataFrame) -> pl.DataFrame:
    _check_frame(sales, "sales", ("date", "sku", "qty"))
    exprs = [
        _typed(sales, "sales", "date", pl.Date, False),
        _typed(sales, "sales", "sku", pl.String, False),
        _typed(sales, "sales", "qty", pl.Float64, False),
    ]
    if "location" in sales.columns:
        exprs.append(
            pl.lit(sales["location"].cast(pl.String).fill_null(DEFAULT_LOCATION)).alias("location")
        )
    else:
        exprs.append(pl.lit(DEFAULT_LOCATION).alias("location"))
    for name in ("revenue", "price"):
        if name in sales.columns:
            exprs.append(_typed(sales, "sales", name, pl.Float64, True))
        else:
            exprs.append(pl.lit(None, dtype=pl.Float64).alias(name))
    out = sales.select(exprs)
    return out.with_columns(
        value=pl.coalesce(pl.col("revenue"), pl.col("qty") * pl.col("price"))
    ).drop("revenue", "price")


def _canonical_prices(prices: pl.DataFrame) -> pl.DataFrame:
    _check_frame(prices, "prices", ("date", "sku", "price"))
    exprs = [
        _typed(prices, "prices", "date", pl.Date, False),
        _typed(prices, "prices", "sku", pl.String, False),
        _typed(prices, "prices", "price", pl.Float64, False),
    ]
    if "location" in prices.columns:
        exprs.append(pl.lit(prices["location"].cast(pl.String)).alias("location"))
    else:
        exprs.append(pl.lit(None, dtype=pl.String).alias("location"))
    out = prices.select(exprs)
    bad = ~(out["price"] > 0) | ~out["price"].is_finite()
    if bad.any():
        raise InputError(
            f"price must be a positive number. Got {out['price'].filter(bad)[0]!r}.",
            file="prices",
            row=_row_number(prices, pl.lit(bad)),
            column="price",
            fix="remove the row or correct the price (prices must be > 0).",
        )
    return out


def _categories(products: pl.DataFrame | None) -> pl.DataFrame:
    """sku → category (``(none)`` when unknown)."""
    if products is None:
        return pl.DataFrame(schema={"sku": pl.String, "category": pl.String})
    _check_frame(products, "products", ("sku",))
    if "category" not in products.columns:
        return products.select(pl.col("sku").cast(pl.String), category=pl.lit(NO_CATEGORY))
    return (
        products.select(
            pl.col("sku").cast(pl.String),
            pl.col("category").cast(pl.String).fill_null(NO_CATEGORY),
        )
        .filter(pl.col("sku").is_not_null())
        .unique("sku", keep="first", maintain_order=True)
    )


# ---------------------------------------------------------------------------------------------
# Periods (day numbers: days since 1970-01-01)
# ---------------------------------------------------------------------------------------------
def _week_anchor(settings: ElasticitySettings) -> int:
    first = _MONDAY_1900 + dt.timedelta(days=WEEKDAYS.index(settings.week_start))
    return (first - _EPOCH).days


def _period_of(day: IntArray, settings: ElasticitySettings) -> IntArray:
    """Period number of day numbers: weeks since an anchor on the chosen weekday, or months."""
    if settings.period == "month":
        return day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return (day - _week_anchor(settings)) // 7


def _period_start(k: IntArray, settings: ElasticitySettings) -> IntArray:
    """Day number of the first day of period ``k`` (inverse of :func:`_period_of`)."""
    if settings.period == "month":
        return k.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return _week_anchor(settings) + 7 * k


def _day_numbers(dates: pl.Series) -> IntArray:
    return dates.cast(pl.Int32).to_numpy().astype(np.int64)


# ---------------------------------------------------------------------------------------------
# The panel: one row per SKU-location and period
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Panel:
    """The demand panel in integer codes, observations sorted by unit (SKU-location) then period.

    ``sku_names`` sorted SKUs (code = position), ``location_names`` likewise; per unit its
    ``unit_sku`` and ``unit_location`` codes (units sorted by SKU then location); per observation
    ``unit``, ``period`` (number), ``exposure`` [days], ``qty`` [units ≥ 0], ``log_price``.
    """

    sku_names: pl.Series
    location_names: pl.Series
    unit_sku: IntArray
    unit_location: IntArray
    unit: IntArray
    period: IntArray
    exposure: FloatArray
    qty: FloatArray
    log_price: FloatArray

    def subset(self, keep: npt.NDArray[np.bool_]) -> _Panel:
        """The same panel restricted to the observations in ``keep`` (codes unchanged)."""
        return _Panel(
            self.sku_names,
            self.location_names,
            self.unit_sku,
            self.unit_location,
            self.unit[keep],
            self.period[keep],
            self.exposure[keep],
            self.qty[keep],
            self.log_price[keep],
        )


def _segments(keys: IntArray) -> IntArray:
    """Start index of every run of equal values in ``keys``."""
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else keys


def _build_panel(
    sales: pl.DataFrame,
    prices: pl.DataFrame | None,
    settings: ElasticitySettings,
    span: tuple[int, int] | None = None,
) -> _Panel:
    """Code SKUs and locations, then build the panel (see :func:`demand_panel`)."""
    sku_frames = [sales["sku"]] + ([prices["sku"]] if prices is not None else [])
    sku_names = pl.concat(sku_frames).unique().sort()
    location_frames = [sales["location"]]
    if prices is not None:
        location_frames.append(prices["location"].drop_nulls())
    location_names = pl.concat(location_frames).unique().sort()
    n_locations = max(location_names.len(), 1)
    sku_enum, location_enum = pl.Enum(sku_names), pl.Enum(location_names)
    sale_key = _codes(sales["sku"], sku_enum) * n_locations + _codes(
        sales["location"], location_enum
    )
    sale_day = _day_numbers(sales["date"])
    sale_qty = sales["qty"].to_numpy().astype(np.float64)
    if sale_day.size == 0:
        empty = np.zeros(0, np.int64)
        nothing = np.zeros(0)
        return _Panel(
            sku_names, location_names, empty, empty, empty, empty, nothing, nothing, nothing
        )
    first_day, end_day = int(sale_day.min()), int(sale_day.max()) + 1
    if span is not None:  # a chunk of a larger table: the whole table's days
        first_day, end_day = span
    if prices is not None:
        price_located = prices["location"].is_not_null().to_numpy()
        price_key = _codes(prices["sku"], sku_enum) * n_locations + np.where(
            price_located, _codes(prices["location"], location_enum), 0
        )
        keys, unit, k, exposure, log_price, qty = _priced(
            sale_key,
            sale_day,
            sale_qty,
            price_key,
            price_located,
            _day_numbers(prices["date"]),
            np.log(prices["price"].to_numpy().astype(np.float64)),
            n_locations,
            sku_names.len() * n_locations,
            first_day,
            end_day,
            settings,
        )
    else:
        value = sales["value"].fill_null(np.nan).to_numpy().astype(np.float64)
        keys, unit, k, exposure, log_price, qty = _realised(
            sale_key,
            sale_day,
            sale_qty,
            value,
            sku_names.len() * n_locations,
            first_day,
            end_day,
            settings,
        )
    return _Panel(
        sku_names,
        location_names,
        keys // n_locations,
        keys % n_locations,
        unit,
        k,
        exposure,
        np.maximum(qty, 0.0),
        log_price,
    )


def _codes(values: pl.Series, enum: pl.Enum) -> IntArray:
    """Integer code of each value in ``enum`` (position in its sorted categories); null → 0."""
    return values.cast(enum).to_physical().fill_null(0).to_numpy().astype(np.int64)


def _compact(keys: IntArray, key_space: int) -> tuple[IntArray, IntArray]:
    """Sorted distinct keys and the position of each key among them (O(n) when the key space
    is small enough for a lookup table, else by sorting)."""
    if key_space <= max(4 * keys.size, 10_000_000):
        present = np.zeros(key_space, dtype=bool)
        present[keys] = True
        distinct = np.flatnonzero(present)
        position = np.cumsum(present) - 1
        return distinct.astype(np.int64), position[keys].astype(np.int64)
    distinct, inverse = np.unique(keys, return_inverse=True)
    return distinct.astype(np.int64), inverse.astype(np.int64)


def _rows(first_k: IntArray, last_k: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """A contiguous grid of periods first_k..last_k per unit (units with first ≤ last):
    unit and period per row, and the row offset of each unit."""
    count = np.maximum(last_k - first_k + 1, 0)
    offset = np.cumsum(count) - count
    unit = np.repeat(np.arange(first_k.size), count)
    k = np.repeat(first_k, count) + (np.arange(unit.size) - offset[unit])
    return unit, k, offset


def _priced(
    sale_key: IntArray,
    sale_day: IntArray,
    sale_qty: FloatArray,
    price_key: IntArray,
    located: npt.NDArray[np.bool_],
    price_day: IntArray,
    price_log: FloatArray,
    n_locations: int,
    key_space: int,
    first_day: int,
    end_day: int,
    settings: ElasticitySettings,
) -> tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    """Panel from a price history with step semantics (see :func:`demand_panel`).

    ``price_key`` is sku code × n_locations + location code (location 0 where not ``located``).
    """
    keys, where = _compact(np.r_[sale_key, price_key[located]], key_space)
    sale_unit = where[: sale_key.size]
    unit_sku = keys // n_locations
    # a row without a location applies to every unit of its SKU (units are sorted by SKU)
    everywhere = np.flatnonzero(~located)
    price_sku = price_key[everywhere] // n_locations
    first_unit = np.searchsorted(unit_sku, price_sku, side="left")
    count = np.searchsorted(unit_sku, price_sku, side="right") - first_unit
    spread_rows = np.repeat(everywhere, count)
    spread_units = np.repeat(first_unit, count) + (
        np.arange(spread_rows.size) - np.repeat(np.cumsum(count) - count, count)
    )
    row_unit = np.r_[spread_units, where[sale_key.size :]].astype(np.int64)
    row_index = np.r_[spread_rows, np.flatnonzero(located)].astype(np.int64)
    row_day = price_day[row_index]
    # order by unit, day, then located after blank-location rows (the located row wins a day)
    day_min = int(row_day.min()) if row_day.size else 0
    day_span = int(row_day.max()) - day_min + 1 if row_day.size else 1
    rank = np.r_[np.zeros(spread_rows.size, np.int64), np.ones(located.sum(), np.int64)]
    order_key = (row_unit * day_span + (row_day - day_min)) * 2 + rank
    if order_key.size and np.any(order_key[1:] < order_key[:-1]):
        order = np.argsort(order_key, kind="stable")
        row_unit, row_day, row_index = row_unit[order], row_day[order], row_index[order]
    row_log = price_log[row_index]
    last = np.r_[(row_unit[1:] != row_unit[:-1]) | (row_day[1:] != row_day[:-1]), True]
    row_unit, row_day, row_log = row_unit[last], row_day[last], row_log[last]
    same_next = np.r_[row_unit[1:] == row_unit[:-1], False]
    row_end = np.where(same_next, np.r_[row_day[1:], end_day], end_day)
    first_price = np.full(keys.size, np.iinfo(np.int64).max)
    heads = _segments(row_unit)
    first_price[row_unit[heads]] = row_day[heads]
    start = np.maximum(row_day, first_day)
    end = np.minimum(row_end, end_day)
    live = start < end
    unit, k, exposure, log_price = _explode(
        row_unit[live], start[live], end[live], row_log[live], settings
    )
    # each unit's rows are its consecutive periods from its first priced one to the horizon end
    first_k = np.full(keys.size, np.iinfo(np.int64).max)
    heads = _segments(unit)
    first_k[unit[heads]] = k[heads]
    offset = np.cumsum(np.bincount(unit, minlength=keys.size)) - np.bincount(
        unit, minlength=keys.size
    )
    priced_sale = sale_day >= first_price[sale_unit]
    sale_k = _period_of(sale_day[priced_sale], settings)
    sale_row = offset[sale_unit[priced_sale]] + sale_k - first_k[sale_unit[priced_sale]]
    qty = np.asarray(np.bincount(sale_row, sale_qty[priced_sale], unit.size), np.float64)
    return keys, unit, k, exposure, log_price, qty


def _explode(
    unit: IntArray,
    start: IntArray,
    end: IntArray,
    log_price: FloatArray,
    settings: ElasticitySettings,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Day-weighted mean log price per (unit, period) of [start, end) price spans sorted by unit
    and start: unit, period, exposure [days], log_price."""
    if unit.size == 0:
        return unit, unit, np.zeros(0), np.zeros(0)
    k_first = _period_of(start, settings)
    count = _period_of(end - 1, settings) - k_first + 1
    span = np.repeat(np.arange(unit.size), count)
    k = k_first[span] + (np.arange(span.size) - np.repeat(np.cumsum(count) - count, count))
    days = (
        np.minimum(end[span], _period_start(k + 1, settings))
        - np.maximum(start[span], _period_start(k, settings))
    ).astype(np.float64)
    span_unit = unit[span]
    heads = np.flatnonzero(np.r_[True, (span_unit[1:] != span_unit[:-1]) | (k[1:] != k[:-1])])
    exposure = np.add.reduceat(days, heads)
    weighted = np.add.reduceat(days * log_price[span], heads)
    return span_unit[heads], k[heads], exposure, weighted / exposure


def _realised(
    sale_key: IntArray,
    sale_day: IntArray,
    sale_qty: FloatArray,
    value: FloatArray,
    key_space: int,
    first_day: int,
    end_day: int,
    settings: ElasticitySettings,
) -> tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    """Panel from realised prices Σ revenue ÷ Σ qty (see :func:`demand_panel`)."""
    keys, sale_unit = _compact(sale_key, key_space)
    sale_k = _period_of(sale_day, settings)
    priced_line = (sale_qty > 0) & (value > 0)
    k_end = int(_period_of(np.array([end_day - 1]), settings)[0])
    first_k = np.full(keys.size, k_end + 1, dtype=np.int64)
    np.minimum.at(first_k, sale_unit[priced_line], sale_k[priced_line])
    unit, k, offset = _rows(first_k, np.full(keys.size, k_end, dtype=np.int64))
    inside = sale_k >= first_k[sale_unit]
    row = offset[sale_unit[inside]] + sale_k[inside] - first_k[sale_unit[inside]]
    qty = np.asarray(np.bincount(row, sale_qty[inside], unit.size), np.float64)
    priced_row = np.bincount(row, priced_line[inside], unit.size) > 0
    money = np.bincount(row, np.where(priced_line, value, 0.0)[inside], unit.size)
    priced_qty = np.bincount(row, np.where(priced_line, sale_qty, 0.0)[inside], unit.size)
    log_price = np.full(unit.size, np.nan)
    log_price[priced_row] = np.log(money[priced_row] / priced_qty[priced_row])
    if settings.unpriced_periods == "drop":
        unit, k, qty, log_price = (
            unit[priced_row],
            k[priced_row],
            qty[priced_row],
            log_price[priced_row],
        )
    else:
        # the last realised price carries forward (each unit's first row is priced)
        position = np.where(priced_row, np.arange(unit.size), -1)
        log_price = log_price[np.maximum.accumulate(position)] if unit.size else log_price
    exposure = (
        np.minimum(_period_start(k + 1, settings), end_day)
        - np.maximum(_period_start(k, settings), first_day)
    ).astype(np.float64)
    return keys, unit, k, exposure, log_price, qty


# ---------------------------------------------------------------------------------------------
# Estimation
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Design:
    """What the fit needs beyond the panel: SKU table with category codes, and per observation
    its SKU, category-period cell and whether its price moved against the unit's previous row."""

    skus: pl.DataFrame  # sku, category, cat — one row per SKU code
    categories: list[str]
    sku: IntArray
    cell: IntArray
    changed: npt.NDArray[np.bool_]


def _design(panel: _Panel, categories: pl.DataFrame, settings: ElasticitySettings) -> _Design:
    skus = (
        panel.sku_names.to_frame("sku")
        .join(categories, on="sku", how="left", maintain_order="left")
        .with_columns(pl.col("category").fill_null(NO_CATEGORY))
    )
    names = sorted(skus["category"].unique().to_list())
    skus = skus.with_columns(
        cat=pl.col("category").cast(pl.Enum(names)).to_physical().cast(pl.Int64)
    )
    sku = panel.unit_sku[panel.unit]
    period = panel.period
    k_min = int(period.min()) if period.size else 0
    n_k = int(period.max()) - k_min + 1 if period.size else 1
    cat = skus["cat"].to_numpy().astype(np.int64)
    same_unit = np.r_[False, panel.unit[1:] == panel.unit[:-1]]
    moved = np.r_[False, np.abs(np.diff(panel.log_price)) > np.log1p(settings.price_change_min)]
    return _Design(skus, names, sku, cat[sku] * n_k + (period - k_min), same_unit & moved)


def _price_changes(panel: _Panel, design: _Design, n_skus: int) -> IntArray:
    """Periods in which the SKU's price moved at one or more of its selling locations."""
    qty_unit = np.bincount(panel.unit, panel.qty, panel.unit_sku.size)
    hit = design.changed & (qty_unit[panel.unit] > 0)
    if not hit.any():
        return np.zeros(n_skus, dtype=np.int64)
    first = int(panel.period.min())
    span = int(panel.period.max()) - first + 1
    keys = np.unique(design.sku[hit] * span + (panel.period[hit] - first))
    return np.bincount(keys // span, minlength=n_skus).astype(np.int64)


def _fit(
    panel: _Panel,
    design: _Design,
    settings: ElasticitySettings,
    fixed_slope: FloatArray | None = None,
) -> PoissonFit:
    return fit_poisson_fixed_effects(
        panel.qty,
        panel.log_price,
        np.log(panel.exposure),
        panel.unit,
        design.cell,
        panel.unit_sku,
        panel.sku_names.len(),
        fixed_slope=fixed_slope,
        max_iterations=settings.max_iterations,
        tolerance=settings.tolerance,
    )


def _pool(
    raw: FloatArray,
    std_error: FloatArray,
    usable: npt.NDArray[np.bool_],
    cat: IntArray,
    n_cats: int,
    settings: ElasticitySettings,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int8]]:
    """SKU → category → catalogue shrinkage: elasticity, std_error and source code per SKU."""
    variance = std_error**2
    members = np.flatnonzero(usable)
    by_cat = dersimonian_laird(raw[members], variance[members], cat[members], n_cats)
    has_cat = by_cat.count > 0
    cat_mean = np.full(n_cats, np.nan)
    cat_variance = np.full(n_cats, np.nan)
    if has_cat.any():
        filled = np.flatnonzero(has_cat)
        catalogue = dersimonian_laird(
            by_cat.mean[filled], by_cat.variance[filled], np.zeros(filled.size, np.int64), 1
        )
        cat_mean[filled], cat_variance[filled] = shrink(
            by_cat.mean[filled],
            by_cat.variance[filled],
            np.full(filled.size, catalogue.mean[0]),
            np.full(filled.size, catalogue.variance[0]),
            np.full(filled.size, catalogue.tau2[0]),
        )
    value = np.full(raw.size, settings.prior)
    var = np.full(raw.size, settings.prior_std_error**2)
    source = np.full(raw.size, SOURCES.index("prior"), dtype=np.int8)
    from_cat = has_cat[cat]
    value[from_cat] = cat_mean[cat[from_cat]]
    var[from_cat] = by_cat.tau2[cat[from_cat]] + cat_variance[cat[from_cat]]
    source[from_cat] = SOURCES.index("category")
    value[members], var[members] = shrink(
        raw[members],
        variance[members],
        cat_mean[cat[members]],
        cat_variance[cat[members]],
        by_cat.tau2[cat[members]],
    )
    source[members] = SOURCES.index("sku")
    return np.clip(value, settings.minimum, settings.maximum), np.sqrt(var), source


def _raw_estimates(panel: _Panel, design: _Design, settings: ElasticitySettings) -> pl.DataFrame:
    """One row per SKU code: sku, category, the unshrunk slope, its std error, price changes
    and observations (NaN slope where not identified)."""
    n_skus = panel.sku_names.len()
    fit = _fit(panel, design, settings)
    return design.skus.select(
        "sku",
        "category",
        raw=pl.Series(fit.slope, dtype=pl.Float64),
        raw_se=pl.Series(fit.std_error, dtype=pl.Float64),
        changes=pl.Series(_price_changes(panel, design, n_skus), dtype=pl.Int64),
        n_obs=pl.Series(fit.n_obs, dtype=pl.Int64),
    )


def _pooled(raw: pl.DataFrame, settings: ElasticitySettings) -> pl.DataFrame:
    """The output table from raw per-SKU estimates (shrinkage over the whole catalogue)."""
    names = sorted(raw["category"].unique().to_list())
    cat = raw["category"].cast(pl.Enum(names)).to_physical().to_numpy().astype(np.int64)
    slope = raw["raw"].to_numpy().astype(np.float64)
    std_error = raw["raw_se"].to_numpy().astype(np.float64)
    changes = raw["changes"].to_numpy()
    usable = np.isfinite(slope) & (changes >= settings.min_price_changes)
    value, final_se, source = _pool(slope, std_error, usable, cat, len(names), settings)
    return raw.select(
        "sku",
        "category",
        elasticity=pl.Series(value),
        std_error=pl.Series(final_se),
        n_price_changes=pl.Series(changes),
        n_weeks=raw["n_obs"],
        source=pl.Series(np.asarray(SOURCES)[source], dtype=pl.String),
        raw_elasticity=pl.Series(slope).fill_nan(None),
        raw_std_error=pl.Series(std_error).fill_nan(None),
    )


def _estimate(panel: _Panel, design: _Design, settings: ElasticitySettings) -> pl.DataFrame:
    """One row per SKU code: the output columns plus raw_std_error."""
    return _pooled(_raw_estimates(panel, design, settings), settings)


OUTPUT_COLUMNS = (
    "sku",
    "category",
    "elasticity",
    "std_error",
    "n_price_changes",
    "n_weeks",
    "source",
    "raw_elasticity",
    "raw_std_error",
)


def _inputs(
    sales: pl.DataFrame,
    prices: pl.DataFrame | None,
    products: pl.DataFrame | None,
    settings: ElasticitySettings,
) -> tuple[_Panel, _Design]:
    panel = _build_panel(
        _canonical_sales(sales), None if prices is None else _canonical_prices(prices), settings
    )
    return panel, _design(panel, _categories(products), settings)


def _chunk_of_sku(sales: pl.DataFrame, categories: pl.DataFrame, chunk_rows: int) -> pl.DataFrame:
    """sku → chunk number: whole categories packed in order into groups of about
    ``chunk_rows`` sales rows (a larger category is a chunk of its own)."""
    per_category = (
        sales.group_by("sku")
        .len()
        .join(categories, on="sku", how="left")
        .with_columns(pl.col("category").fill_null(NO_CATEGORY))
    )
    sizes = per_category.group_by("category").agg(pl.col("len").sum()).sort("category")
    chunk, filled, numbers = 0, 0, []
    for rows in sizes["len"].to_list():
        if filled and filled + rows > chunk_rows:
            chunk, filled = chunk + 1, 0
        numbers.append(chunk)
        filled += rows
    chunks = sizes.select("category", pl.Series("chunk", numbers, dtype=pl.Int64))
    return per_category.join(chunks, on="category").select("sku", "chunk")


def _chunked_estimates(
    sales: pl.DataFrame,
    prices: pl.DataFrame | None,
    products: pl.DataFrame | None,
    settings: ElasticitySettings,
) -> pl.DataFrame | None:
    """Raw estimates fitted chunk by chunk of categories (None when one chunk would do)."""
    canonical = _canonical_sales(sales)
    if canonical.height <= settings.chunk_rows:
        return None
    categories = _categories(products)
    chunk_of = _chunk_of_sku(canonical, categories, settings.chunk_rows)
    if chunk_of["chunk"].max() == 0:
        return None
    day = _day_numbers(canonical["date"])
    span = (int(day.min()), int(day.max()) + 1)
    del day
    canonical_prices = None if prices is None else _canonical_prices(prices)
    if canonical_prices is not None:
        canonical_prices = canonical_prices.join(chunk_of, on="sku", how="left").with_columns(
            pl.col("chunk").fill_null(-1)
        )
    parts = []
    for (number,), part in (
        canonical.join(chunk_of, on="sku").partition_by("chunk", as_dict=True).items()
    ):
        part_prices = (
            None
            if canonical_prices is None
            else canonical_prices.filter(pl.col("chunk") == number).drop("chunk")
        )
        panel = _build_panel(part.drop("chunk"), part_prices, settings, span)
        parts.append(_raw_estimates(panel, _design(panel, categories, settings), settings))
    if canonical_prices is not None:  # SKUs with prices but no sales: nothing to fit
        unsold = (
            canonical_prices.filter(pl.col("chunk") == -1)
            .select("sku")
            .unique()
            .join(categories, on="sku", how="left")
            .with_columns(pl.col("category").fill_null(NO_CATEGORY))
        )
        if unsold.height:
            parts.append(
                unsold.with_columns(
                    raw=pl.lit(np.nan),
                    raw_se=pl.lit(np.nan),
                    changes=pl.lit(0, dtype=pl.Int64),
                    n_obs=pl.lit(0, dtype=pl.Int64),
                )
            )
    return pl.concat(parts).sort("sku")


def estimate_elasticities(
    sales: pl.DataFrame,
    prices: pl.DataFrame | None = None,
    products: pl.DataFrame | None = None,
    *,
    settings: ElasticitySettings = ElasticitySettings(),
) -> pl.DataFrame:
    """Own-price elasticity of demand per SKU, shrunk to its category (module docstring).

    ``sales``: canonical sales (date, sku, qty; location, revenue, price optional); ``prices``:
    canonical price history (date, sku, price; location optional; step semantics, see
    :func:`demand_panel`), without it the realised price revenue ÷ qty; ``products``: sku →
    category (SKUs without one share the category ``(none)``).

    Returns one row per SKU in ``sales`` or ``prices``, sorted by sku: sku, category,
    elasticity [-] (d log q / d log p, negative: a discount d multiplies demand by
    (1 − d)^elasticity), std_error [-], n_price_changes [periods] (periods in which the price
    moved by more than ``price_change_min`` against the previous period at a location that
    sold the SKU), n_weeks [periods] (SKU-location-periods in the fit), source (``sku``: own
    estimate shrunk to the category; ``category``: fewer than ``min_price_changes`` price
    changes, the category's value; ``prior``: no usable SKU in the category), raw_elasticity
    (unshrunk PPML slope; blank when not identified) and raw_std_error [-] (its standard error).
    """
    raw = _chunked_estimates(sales, prices, products, settings)
    if raw is not None:
        return _pooled(raw, settings).select(OUTPUT_COLUMNS)
    panel, design = _inputs(sales, prices, products, settings)
    return _estimate(panel, design, settings).select(OUTPUT_COLUMNS)


def demand_panel(
    sales: pl.DataFrame,
    prices: pl.DataFrame | None = None,
    products: pl.DataFrame | None = None,
    *,
    settings: ElasticitySettings = ElasticitySettings(),
) -> pl.DataFrame:
    """Units and price per SKU-location and period: the data the elasticity model is fitted to.

    Columns: sku, location, category, period_start (date), exposure_days [days] (days of the
    period inside the sales horizon with a price in force), qty [units] (net sales, negatives
    clipped to 0), price [currency/unit] (day-weighted geometric mean of the price in force);
    sorted by sku, location, period_start. The horizon runs from the first to the last sales date.

    With ``prices``: a price applies from its date until the SKU-location's next row; a row
    with a blank location applies to every location of the SKU (on the same date a located row
    wins; otherwise the latest row wins). Locations are those of the sales and of located price
    rows. Periods before a SKU-location's first price are left out, with their sales.
    Without ``prices``: the realised price Σ revenue ÷ Σ qty of the period's sale lines with
    qty > 0 (revenue defaults to qty × price). A period without a sale has no realised price:
    with ``unpriced_periods = carry`` (default) it is kept as a zero-sales period at the last
    realised price (the shelf price is taken as unchanged until a sale shows another), from the
    SKU-location's first priced period on; with ``drop`` it is left out.
    """
    panel, design = _inputs(sales, prices, products, settings)
    unit_sku = panel.unit_sku[panel.unit]
    days = _period_start(panel.period, settings)
    return pl.DataFrame(
        {
            "sku": panel.sku_names.gather(unit_sku),
            "location": panel.location_names.gather(panel.unit_location[panel.unit]),
            "category": design.skus["category"].gather(unit_sku),
            "period_start": pl.Series(days, dtype=pl.Int32).cast(pl.Date),
            "exposure_days": panel.exposure,
            "qty": panel.qty,
            "price": np.exp(panel.log_price),
        }
    )


# ---------------------------------------------------------------------------------------------
# Hold-out check
# ---------------------------------------------------------------------------------------------
def _errors(actual: FloatArray, predicted: FloatArray) -> dict[str, float]:
    error = predicted - actual
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae_log": float(np.mean(np.abs(np.log1p(predicted) - np.log1p(actual)))),
        "bias": float(np.mean(error)),
    }


def _holdout_predictions(
    train: _Panel,
    train_design: _Design,
    hold: _Panel,
    hold_design: _Design,
    slope: FloatArray,
    settings: ElasticitySettings,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Predicted units of every hold-out observation under per-SKU ``slope``.

    α (SKU-location) comes from the training periods with the slope held fixed. The
    category-period effect of a hold-out observation of SKU s in cell c is the one the *other*
    SKUs of the cell reveal: exp(γ) = Σ_{other SKUs} q ÷ Σ_{other SKUs} exp(offset + α +
    slope·log p) — the category's demand level in that period as a planner who sees the rest of
    the category's sales knows it, without the SKU's own outcome. Returns (prediction,
    predictable).
    """
    alpha = _fit(train, train_design, settings, fixed_slope=slope).unit_effect[hold.unit]
    known = np.isfinite(alpha)
    base = np.zeros(hold.unit.size)
    base[known] = np.exp(
        np.log(hold.exposure[known])
        + alpha[known]
        + slope[hold_design.sku[known]] * hold.log_price[known]
    )
    qty = np.where(known, hold.qty, 0.0)
    cell = hold_design.cell
    n_cells = int(cell.max()) + 1
    cell_qty = np.bincount(cell, qty, n_cells)
    cell_base = np.bincount(cell, base, n_cells)
    pair, pair_index = np.unique(hold_design.sku * n_cells + cell, return_inverse=True)
    other_qty = cell_qty[cell] - np.bincount(pair_index, qty, pair.size)[pair_index]
    other_base = cell_base[cell] - np.bincount(pair_index, base, pair.size)[pair_index]
    predictable = known & (other_base > 1e-9 * cell_base[cell])
    ratio = np.zeros(hold.unit.size)
    ratio[predictable] = np.maximum(other_qty[predictable], 0.0) / other_base[predictable]
    return base * ratio, predictable


def holdout_comparison(
    sales: pl.DataFrame,
    prices: pl.DataFrame | None = None,
    products: pl.DataFrame | None = None,
    *,
    holdout_periods: int = 13,
    settings: ElasticitySettings = ElasticitySettings(),
) -> dict[str, Any]:
    """Out-of-sample check of the price effect on the last ``holdout_periods`` periods.

    Elasticities are estimated on the periods before the hold-out only. Scored are the
    hold-out SKU-location-periods whose price moved (by more than ``price_change_min``)
    against the SKU-location's previous period and whose SKU-location sold in the training
    periods. Three models share the fixed effects (α refitted on the training periods for each;
    the category-period effect of a hold-out period from the *other* SKUs of the category, see
    :func:`_holdout_predictions`): ``price`` (the shrunk elasticities), ``raw_price`` (the
    unshrunk ones where identified, else the shrunk) and ``no_price`` (slope 0).

    Returns a dict: period, train_start, holdout_start, holdout_end (dates), holdout_periods,
    train_observations, holdout_observations, scored, scored_skus, models → name → mae, rmse,
    mae_log (mean |log(1 + pred) − log(1 + actual)|), bias [units/period]; mae_ratio and
    rmse_ratio (price ÷ no_price); response → cut / rise → scored, mean_log_change (of the
    price) and log_ratio_no_price / log_ratio_price: mean log((1 + actual) ÷ (1 + predicted)).
    With exogenous prices and ε < 0, log_ratio_no_price is > 0 after cuts and < 0 after rises.
    """
    if (
        isinstance(holdout_periods, bool)
        or not isinstance(holdout_periods, int)
        or holdout_periods < 1
    ):
        raise ValueError(
            f"The 'holdout_periods' parameter must be an int in [1, inf). Got {holdout_periods!r}."
        )
    panel, design = _inputs(sales, prices, products, settings)
    periods = np.unique(panel.period)
    if periods.size <= holdout_periods + 1:
        raise InputError(
            f"{periods.size} {settings.period}s of sales are too few for a hold-out of "
            f"{holdout_periods}.",
            file="sales",
            fix="give a longer sales history or a shorter hold-out.",
        )
    cut = int(periods[-holdout_periods])
    in_train = panel.period < cut
    train = panel.subset(in_train)
    train_design = _design(train, design.skus.select("sku", "category"), settings)
    hold = panel.subset(~in_train)
    hold_design = _Design(
        design.skus,
        design.categories,
        design.sku[~in_train],
        design.cell[~in_train],
        design.changed[~in_train],
    )
    table = _estimate(train, train_design, settings)
    shrunk = table["elasticity"].to_numpy()
    raw = table["raw_elasticity"].fill_null(np.nan).to_numpy()
    models = {
        "price": shrunk,
        "raw_price": np.where(np.isfinite(raw), raw, shrunk),
        "no_price": np.zeros_like(shrunk),
    }
    predictions = {
        name: _holdout_predictions(train, train_design, hold, hold_design, slope, settings)
        for name, slope in models.items()
    }
    scored = hold_design.changed & predictions["price"][1]
    result: dict[str, Any] = {
        "period": settings.period,
        "train_start": _date(int(periods[0]), settings),
        "holdout_start": _date(cut, settings),
        "holdout_end": _date(int(periods[-1]), settings),
        "holdout_periods": holdout_periods,
        "train_observations": int(in_train.sum()),
        "holdout_observations": int(hold.unit.size),
        "scored": int(scored.sum()),
        "scored_skus": int(np.unique(hold_design.sku[scored]).size),
        "models": {},
    }
    if scored.any():
        result["models"] = {
            name: _errors(hold.qty[scored], pred[scored]) for name, (pred, _) in predictions.items()
        }
        price, flat = result["models"]["price"], result["models"]["no_price"]
        result["mae_ratio"] = price["mae"] / flat["mae"] if flat["mae"] > 0 else float("nan")
        result["rmse_ratio"] = price["rmse"] / flat["rmse"] if flat["rmse"] > 0 else float("nan")
        # does demand move against the price at all? mean log((1 + actual) / (1 + prediction))
        # of the no-price and price models after price cuts and after rises
        move = np.r_[0.0, np.diff(panel.log_price)][~in_train]
        result["response"] = {}
        for name, side in (("cut", move < 0), ("rise", move > 0)):
            rows = scored & side
            if rows.any():
                result["response"][name] = {
                    "scored": int(rows.sum()),
                    "mean_log_change": float(np.mean(move[rows])),
                    "log_ratio_no_price": _log_ratio(
                        hold.qty[rows], predictions["no_price"][0][rows]
                    ),
                    "log_ratio_price": _log_ratio(hold.qty[rows], predictions["price"][0][rows]),
                }
    return result


def _log_ratio(actual: FloatArray, predicted: FloatArray) -> float:
    return float(np.mean(np.log1p(actual) - np.log1p(predicted)))


def _date(k: int, settings: ElasticitySettings) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(_period_start(np.array([k], np.int64), settings)[0]))


def holdout_summary(result: Mapping[str, Any]) -> str:
    """The result of :func:`holdout_comparison` as a few lines of text."""
    lines = [
        f"hold-out {result['holdout_start']} … {result['holdout_end']} "
        f"({result['holdout_periods']} {result['period']}s): scored {result['scored']:,} "
        f"SKU-location-{result['period']}s with a price change ({result['scored_skus']:,} SKUs)"
    ]
    for name, errors in result["models"].items():
        lines.append(
            f"  {name:<10} MAE {errors['mae']:.4f}  RMSE {errors['rmse']:.4f}  "
            f"MAE(log1p) {errors['mae_log']:.4f}  bias {errors['bias']:+.4f}"
        )
    for side, values in result.get("response", {}).items():
        lines.append(
            f"  after a price {side:<4} ({values['scored']:,}, mean Δlog p "
            f"{values['mean_log_change']:+.3f}): log((1+actual)/(1+pred)) no_price "
            f"{values['log_ratio_no_price']:+.3f}, price {values['log_ratio_price']:+.3f}"
        )
    return "\n".join(lines)
