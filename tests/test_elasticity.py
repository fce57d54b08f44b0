"""Price elasticity estimation (SPEC §3.5, beyond the thesis): recovery, oracles, semantics."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from deadstock.config import load_config
from deadstock.errors import ConfigError, InputError
from deadstock.pricing import (
    ElasticitySettings,
    demand_panel,
    estimate_elasticities,
    holdout_comparison,
)
from deadstock.pricing.elasticity import (
    dersimonian_laird,
    fit_poisson_fixed_effects,
    shrink,
)

MONDAY = dt.date(2024, 1, 1)


def generate(
    n_skus: int = 60,
    n_categories: int = 3,
    n_locations: int = 2,
    weeks: int = 104,
    level: float = 12.0,
    seed: int = 0,
    constant_price_skus: tuple[int, ...] = (),
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, float]]:
    """Weekly Poisson demand with known elasticities, category seasonality and promotions.

    SKU s in category c has elasticity ε_s ~ N(m_c, 0.3²) with m_c spread over [−3, −1]; demand of
    location l in week t is Poisson(level · e^{u_sl} · e^{season_ct} · (p_st / base_s)^ε_s).
    Prices: a base price, 15 % of weeks at 10–40 % off, chain-wide (blank location); SKUs in
    ``constant_price_skus`` never change price. Sales rows are dated on the week's Monday.
    """
    rng = np.random.default_rng(seed)
    category = np.arange(n_skus) % n_categories
    means = np.linspace(-1.0, -3.0, n_categories)
    truth = means[category] + rng.normal(0.0, 0.3, n_skus)
    season = rng.normal(0.0, 0.3, (n_categories, weeks))
    base = rng.uniform(2.0, 40.0, n_skus)
    discount = np.where(
        rng.random((n_skus, weeks)) < 0.15, rng.choice([0.9, 0.8, 0.7, 0.6], (n_skus, weeks)), 1.0
    )
    discount[list(constant_price_skus)] = 1.0
    price = np.round(base[:, None] * discount, 2)
    unit_level = np.log(level) + rng.normal(0.0, 0.4, (n_skus, n_locations))
    mean = np.exp(
        unit_level[:, :, None]
        + season[category][:, None, :]
        + truth[:, None, None] * np.log(price / base[:, None])[:, None, :]
    )
    qty = rng.poisson(mean)
    s, loc, w = np.nonzero(qty > 0)
    skus = [f"S{i:03d}" for i in range(n_skus)]
    sales = pl.DataFrame(
        {
            "date": [MONDAY + dt.timedelta(days=7 * int(x)) for x in w],
            "sku": [skus[i] for i in s],
            "location": [f"L{i}" for i in loc],
            "qty": qty[s, loc, w].astype(float),
            "price": price[s, w],
        }
    )
    changed = np.ones((n_skus, weeks), dtype=bool)
    changed[:, 1:] = price[:, 1:] != price[:, :-1]
    ps, pw = np.nonzero(changed)
    prices = pl.DataFrame(
        {
            "date": [MONDAY + dt.timedelta(days=7 * int(x)) for x in pw],
            "sku": [skus[i] for i in ps],
            "price": price[ps, pw],
        }
    )
    products = pl.DataFrame({"sku": skus, "category": [f"C{c}" for c in category]})
    return sales, prices, products, dict(zip(skus, truth.tolist(), strict=True))


@pytest.fixture(scope="module")
def generated() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, float]]:
    return generate()


# ---------------------------------------------------------------------------------------------
# Recovery of known elasticities
# ---------------------------------------------------------------------------------------------
def test_recovers_known_elasticities(generated) -> None:
    sales, prices, products, truth = generated
    out = estimate_elasticities(sales, prices, products)
    assert out.columns[:8] == [
        "sku",
        "category",
        "elasticity",
        "std_error",
        "n_price_changes",
        "n_weeks",
        "source",
        "raw_elasticity",
    ]
    assert out["sku"].to_list() == sorted(truth)
    true = np.array([truth[s] for s in out["sku"]])
    raw = out["raw_elasticity"].to_numpy()
    se = out["raw_std_error"].to_numpy()
    assert (out["source"] == "sku").all()
    assert np.mean(np.abs(raw - true)) < 0.15
    # standard errors are honest: z-scores have unit spread and almost all lie within ±3
    z = (raw - true) / se
    assert 0.7 < np.std(z) < 1.4
    assert np.mean(np.abs(z) < 3) >= 0.95
    # shrinkage toward the category mean does not hurt on average
    shrunk = out["elasticity"].to_numpy()
    assert np.mean(np.abs(shrunk - true)) <= np.mean(np.abs(raw - true)) + 1e-9
    assert (out["n_weeks"] == 208).all()  # 2 locations × 104 weeks


def test_realised_price_fallback_recovers_elasticities(generated) -> None:
    sales, _, products, truth = generated
    out = estimate_elasticities(sales.with_columns(revenue=pl.col("qty") * pl.col("price")))
    out = out.drop("category").join(products, on="sku")
    true = np.array([truth[s] for s in out["sku"]])
    # weeks without a sale carry the last realised price: some promotions are missed
    assert np.mean(np.abs(out["raw_elasticity"].to_numpy() - true)) < 0.3
    assert (out["category"].n_unique()) == 3


def test_ppml_matches_direct_maximum_likelihood() -> None:
    """The alternating PPML fit equals the Poisson MLE of the full dummy model (scipy)."""
    rng = np.random.default_rng(3)
    n_skus, units_per_sku, periods, n_categories = 4, 2, 12, 2
    sku_of_unit = np.repeat(np.arange(n_skus), units_per_sku)
    unit = np.repeat(np.arange(sku_of_unit.size), periods)
    period = np.tile(np.arange(periods), sku_of_unit.size)
    category_of_sku = np.arange(n_skus) % n_categories
    cell = category_of_sku[sku_of_unit[unit]] * periods + period
    log_price = np.log(rng.uniform(5, 10, unit.size))
    offset = np.log(rng.integers(5, 8, unit.size).astype(float))
    true_slope = np.array([-0.5, -1.5, -2.0, -3.0])
    qty = rng.poisson(
        np.exp(
            offset
            + rng.normal(0, 0.3, sku_of_unit.size)[unit]
            + true_slope[sku_of_unit[unit]] * (log_price - log_price.mean())
            + 0.5
        )
    ).astype(float)
    fit = fit_poisson_fixed_effects(
        qty, log_price, offset, unit, cell, sku_of_unit, n_skus, tolerance=1e-12
    )
    n_units, n_cells = sku_of_unit.size, n_categories * periods
    design = np.zeros((unit.size, n_units + n_cells + n_skus))
    design[np.arange(unit.size), unit] = 1.0
    design[np.arange(unit.size), n_units + cell] = 1.0
    design[np.arange(unit.size), n_units + n_cells + sku_of_unit[unit]] = log_price

    # textbook Poisson GLM by iteratively reweighted least squares on the dense dummy design
    theta = np.zeros(design.shape[1])
    theta[:n_units] = np.log(qty.mean())
    for _ in range(100):
        mu = np.exp(offset + design @ theta)
        working = design @ theta + (qty - mu) / mu
        weight = np.sqrt(mu)
        theta = np.linalg.lstsq(design * weight[:, None], working * weight, rcond=None)[0]
    assert fit.converged
    np.testing.assert_allclose(fit.slope, theta[-n_skus:], atol=1e-8)
    # fitted means agree too (α and γ are identified up to a shift between them)
    eta = (
        offset
        + fit.unit_effect[unit]
        + fit.cell_effect[cell]
        + fit.slope[sku_of_unit[unit]] * log_price
    )
    np.testing.assert_allclose(np.exp(eta), np.exp(offset + design @ theta), rtol=1e-8)
    # standard error: 1 / information of the slope given γ, with α profiled out (inverse of
    # the (α, ε) block of the dense information matrix), times the quasi-Poisson dispersion
    # and the AR(1) inflation, recomputed in plain Python
    mu = np.exp(eta)
    sku = sku_of_unit[unit]
    for s in range(n_skus):
        rows = np.flatnonzero(sku == s)
        block = np.zeros((rows.size, units_per_sku + 1))
        block[np.arange(rows.size), unit[rows] - s * units_per_sku] = 1.0
        block[:, -1] = log_price[rows]
        slope_variance = np.linalg.inv(block.T @ (block * mu[rows, None]))[-1, -1]
        pearson = [(qty[i] - mu[i]) / math.sqrt(mu[i]) for i in rows]
        centred = []
        for u in range(s * units_per_sku, (s + 1) * units_per_sku):
            prices_u = [log_price[i] for i in rows if unit[i] == u]
            centred += [p - sum(prices_u) / len(prices_u) for p in prices_u]
        pairs = [k for k in range(1, rows.size) if unit[rows[k]] == unit[rows[k - 1]]]
        rho_e = sum(pearson[k] * pearson[k - 1] for k in pairs) / sum(r * r for r in pearson)
        rho_x = sum(centred[k] * centred[k - 1] for k in pairs) / sum(c * c for c in centred)
        rho = min(max(rho_e * rho_x, 0.0), 0.9)
        dispersion = max(sum(r * r for r in pearson) / (rows.size - units_per_sku - 1), 1.0)
        expected = math.sqrt(dispersion * (1 + rho) / (1 - rho) * slope_variance)
        assert fit.std_error[s] == pytest.approx(expected, rel=1e-6)
    # holding the slopes fixed at the estimate reproduces the same fit
    again = fit_poisson_fixed_effects(
        qty,
        log_price,
        offset,
        unit,
        cell,
        sku_of_unit,
        n_skus,
        fixed_slope=fit.slope,
        tolerance=1e-12,
    )
    eta_again = (
        offset
        + again.unit_effect[unit]
        + again.cell_effect[cell]
        + fit.slope[sku_of_unit[unit]] * log_price
    )
    np.testing.assert_allclose(np.exp(eta_again), np.exp(eta), rtol=1e-7)


def test_fit_does_not_depend_on_row_order(generated) -> None:
    sales, prices, products, _ = generated
    first = estimate_elasticities(sales, prices, products)
    shuffled = estimate_elasticities(
        sales.sample(fraction=1.0, shuffle=True, seed=1),
        prices.sample(fraction=1.0, shuffle=True, seed=2),
        products.reverse(),
    )
    np.testing.assert_allclose(
        first["elasticity"].to_numpy(), shuffled["elasticity"].to_numpy(), rtol=1e-9
    )


# ---------------------------------------------------------------------------------------------
# Empirical-Bayes shrinkage against a plain-Python oracle
# ---------------------------------------------------------------------------------------------
def dl_oracle(values: list[float], variances: list[float]) -> tuple[float, float, float]:
    """DerSimonian–Laird in plain Python: (random-effects mean, its variance, τ²)."""
    w = [1 / v for v in variances]
    fixed = sum(wi * x for wi, x in zip(w, values, strict=True)) / sum(w)
    q = sum(wi * (x - fixed) ** 2 for wi, x in zip(w, values, strict=True))
    k = len(values)
    denominator = sum(w) - sum(wi * wi for wi in w) / sum(w)
    tau2 = max(0.0, (q - (k - 1)) / denominator) if k > 1 and denominator > 0 else 0.0
    w_star = [1 / (v + tau2) for v in variances]
    mean = sum(wi * x for wi, x in zip(w_star, values, strict=True)) / sum(w_star)
    return mean, 1 / sum(w_star), tau2


def posterior_oracle(
    value: float, variance: float, target: float, target_variance: float, tau2: float
) -> tuple[float, float]:
    b = tau2 / (tau2 + variance)
    return b * value + (1 - b) * target, b * variance + (1 - b) ** 2 * target_variance


def test_dersimonian_laird_and_shrink_match_oracle() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(-2, 0.8, 9)
    variances = rng.uniform(0.01, 0.1, 9)
    group = np.array([0, 0, 0, 1, 1, 1, 1, 2, 3])  # group 2 has one member, group 4 none
    pooled = dersimonian_laird(values, variances, group, 5)
    for g in range(4):
        members = group == g
        mean, var, tau2 = dl_oracle(values[members].tolist(), variances[members].tolist())
        assert pooled.mean[g] == pytest.approx(mean, rel=1e-12)
        assert pooled.variance[g] == pytest.approx(var, rel=1e-12)
        assert pooled.tau2[g] == pytest.approx(tau2, abs=1e-12)
    assert pooled.tau2[0] > 0 or pooled.tau2[1] > 0  # heterogeneity is found somewhere
    assert pooled.count.tolist() == [3, 4, 1, 1, 0]
    assert math.isnan(pooled.mean[4])
    post, post_var = shrink(
        values[:3], variances[:3], np.full(3, -1.0), np.full(3, 0.1), np.full(3, 0.5)
    )
    for i in range(3):
        expected = posterior_oracle(values[i], variances[i], -1.0, 0.1, 0.5)
        assert (post[i], post_var[i]) == pytest.approx(expected, rel=1e-12)


def test_estimates_follow_the_hierarchical_eb_formula(generated) -> None:
    """SKU → category → catalogue, recomputed in plain Python from the raw estimates."""
    sales, prices, products, _ = generated
    settings = ElasticitySettings(minimum=-50.0, maximum=50.0, prior=-2.62)
    out = estimate_elasticities(sales, prices, products, settings=settings)
    rows = out.rows(named=True)
    categories = sorted({r["category"] for r in rows})
    per_category = {}
    for c in categories:
        members = [r for r in rows if r["category"] == c and r["source"] == "sku"]
        per_category[c] = dl_oracle(
            [r["raw_elasticity"] for r in members], [r["raw_std_error"] ** 2 for r in members]
        )
    catalogue = dl_oracle(
        [per_category[c][0] for c in categories], [per_category[c][1] for c in categories]
    )
    for r in rows:
        mean, var, tau2 = per_category[r["category"]]
        category_value, category_var = posterior_oracle(
            mean, var, catalogue[0], catalogue[1], catalogue[2]
        )
        value, variance = posterior_oracle(
            r["raw_elasticity"], r["raw_std_error"] ** 2, category_value, category_var, tau2
        )
        assert r["elasticity"] == pytest.approx(value, rel=1e-9)
        assert r["std_error"] == pytest.approx(math.sqrt(variance), rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Fallbacks: category value, prior, clipping
# ---------------------------------------------------------------------------------------------
def test_sku_without_price_changes_takes_its_category_value() -> None:
    sales, prices, products, _ = generate(n_skus=30, constant_price_skus=(0, 3))
    out = estimate_elasticities(sales, prices, products)
    flat = out.filter(pl.col("sku").is_in(["S000", "S003"]))
    assert flat["source"].to_list() == ["category", "category"]
    assert flat["n_price_changes"].to_list() == [0, 0]
    assert flat["raw_elasticity"].null_count() == 2
    # both are in category C0 and get the same value: the category's shrunk mean
    assert flat["category"].to_list() == ["C0", "C0"]
    assert flat["elasticity"][0] == flat["elasticity"][1]
    own = out.filter(pl.col("category") == "C0", pl.col("source") == "sku")
    assert own.height == 8
    raw = own["raw_elasticity"].to_numpy()
    assert raw.min() - 0.5 < flat["elasticity"][0] < raw.max() + 0.5
    assert flat["std_error"][0] > 0


def test_min_price_changes_setting_moves_skus_to_category(generated) -> None:
    sales, prices, products, _ = generated
    out = estimate_elasticities(sales, prices, products)
    threshold = int(out["n_price_changes"].median()) + 1
    strict = estimate_elasticities(
        sales, prices, products, settings=ElasticitySettings(min_price_changes=threshold)
    )
    expected = ["sku" if n >= threshold else "category" for n in out["n_price_changes"]]
    assert strict["source"].to_list() == expected
    assert "category" in expected and "sku" in expected


def test_category_without_usable_sku_takes_the_prior() -> None:
    sales, prices, products, _ = generate(n_skus=9, n_categories=3, constant_price_skus=(0, 3, 6))
    only_prices = pl.DataFrame({"date": [MONDAY], "sku": ["NEW"], "price": [5.0]})
    products = pl.concat([products, pl.DataFrame({"sku": ["NEW"], "category": ["C9"]})])
    settings = ElasticitySettings(prior=-2.0, prior_std_error=1.5)
    out = estimate_elasticities(
        sales, pl.concat([prices, only_prices]), products, settings=settings
    )
    prior = out.filter(pl.col("category").is_in(["C0", "C9"]))
    assert prior["sku"].to_list() == ["NEW", "S000", "S003", "S006"]
    assert prior["source"].to_list() == ["prior"] * 4
    assert prior["elasticity"].to_list() == [-2.0] * 4
    assert prior["std_error"].to_list() == [1.5] * 4
    assert prior.filter(pl.col("sku") == "NEW")["n_weeks"].item() == 0
    assert (out.filter(~pl.col("category").is_in(["C0", "C9"]))["source"] == "sku").all()


def test_sku_only_in_prices_takes_its_category_value(generated) -> None:
    sales, prices, products, _ = generated
    extra = pl.DataFrame({"date": [MONDAY], "sku": ["ZZZ"], "price": [3.0]})
    products = pl.concat([products, pl.DataFrame({"sku": ["ZZZ"], "category": ["C1"]})])
    out = estimate_elasticities(sales, pl.concat([prices, extra]), products)
    row = out.filter(pl.col("sku") == "ZZZ").row(0, named=True)
    assert row["source"] == "category"
    assert row["n_weeks"] == 0 and row["n_price_changes"] == 0
    assert row["raw_elasticity"] is None
    # the category's shrunk mean (DL over its SKUs, shrunk toward the catalogue), std error
    # √(τ² + Var): recomputed with the plain-Python oracle
    rows = out.filter(pl.col("source") == "sku").rows(named=True)
    per_category = {
        c: dl_oracle(
            [r["raw_elasticity"] for r in rows if r["category"] == c],
            [r["raw_std_error"] ** 2 for r in rows if r["category"] == c],
        )
        for c in ("C0", "C1", "C2")
    }
    top = dl_oracle([v[0] for v in per_category.values()], [v[1] for v in per_category.values()])
    mean, var, tau2 = per_category["C1"]
    value, variance = posterior_oracle(mean, var, *top)
    assert row["elasticity"] == pytest.approx(value, rel=1e-9)
    assert row["std_error"] == pytest.approx(math.sqrt(tau2 + variance), rel=1e-9)


def test_values_are_clipped_to_the_configured_range(generated) -> None:
    sales, prices, products, _ = generated
    settings = ElasticitySettings(minimum=-2.0, maximum=-1.5, prior=-1.8)
    out = estimate_elasticities(sales, prices, products, settings=settings)
    assert out["elasticity"].min() == -2.0 and out["elasticity"].max() == -1.5
    assert out["raw_elasticity"].min() < -2.0  # raw values are not clipped


# ---------------------------------------------------------------------------------------------
# Panel semantics: prices-table steps, realised prices, periods
# ---------------------------------------------------------------------------------------------
def test_prices_table_step_semantics() -> None:
    d = dt.date
    sales = pl.DataFrame(
        {
            "date": [
                d(2024, 1, 1),
                d(2024, 1, 3),
                d(2024, 1, 9),
                d(2024, 1, 16),
                d(2024, 1, 21),
                d(2024, 1, 2),
            ],
            "sku": ["A", "A", "A", "A", "A", "A"],
            "location": ["X", "Y", "X", "Y", "X", "Z"],
            "qty": [1.0, 2.0, 3.0, 4.0, -1.0, 9.0],
        }
    )
    prices = pl.DataFrame(
        {
            "date": [d(2024, 1, 3), d(2024, 1, 10), d(2024, 1, 15), d(2024, 1, 15), d(2023, 12, 1)],
            "sku": ["A", "A", "A", "A", "A"],
            "price": [10.0, 8.0, 12.0, 11.0, 4.0],
            "location": [None, "X", None, "Y", "Z"],
        }
    )
    panel = demand_panel(sales, prices)
    rows = {(r["location"], r["period_start"]): r for r in panel.rows(named=True)}
    w1, w2, w3 = d(2024, 1, 1), d(2024, 1, 8), d(2024, 1, 15)
    # week 1: the first price starts on Wednesday 3 Jan; Monday and Tuesday are not priced
    # and the 1 unit sold on Monday at X is left out
    assert rows[("X", w1)]["exposure_days"] == 5 and rows[("X", w1)]["qty"] == 0
    assert rows[("Y", w1)]["qty"] == 2 and rows[("Y", w1)]["price"] == pytest.approx(10.0)
    # week 2 at X: Mon–Tue at 10, Wed–Sun at 8 (located row): day-weighted geometric mean
    assert rows[("X", w2)]["price"] == pytest.approx(
        math.exp((2 * math.log(10) + 5 * math.log(8)) / 7)
    )
    assert rows[("X", w2)]["qty"] == 3
    assert rows[("Y", w2)]["price"] == pytest.approx(10.0)  # X's row does not apply to Y
    # week 3: the blank-location row of 15 Jan replaces X's price; at Y the located row of the
    # same day wins; the horizon ends on 21 Jan (last sale), so week 3 is complete
    assert rows[("X", w3)]["price"] == pytest.approx(12.0)
    assert rows[("Y", w3)]["price"] == pytest.approx(11.0)
    assert rows[("Y", w3)]["qty"] == 4
    assert rows[("X", w3)]["qty"] == 0  # a net return is clipped to 0
    # Z's own row of December prices it from the start of the horizon (1 Jan) at 4 until the
    # newer blank-location row of 3 Jan (the latest row wins)
    assert rows[("Z", w1)]["exposure_days"] == 7 and rows[("Z", w1)]["qty"] == 9
    assert rows[("Z", w1)]["price"] == pytest.approx(
        math.exp((2 * math.log(4) + 5 * math.log(10)) / 7)
    )
    assert rows[("Z", w3)]["price"] == pytest.approx(12.0)
    assert len(rows) == 9 and panel.height == 9
    assert panel["category"].unique().to_list() == ["(none)"]


def test_partial_last_week_and_month_periods() -> None:
    d = dt.date
    sales = pl.DataFrame(
        {"date": [d(2024, 1, 5), d(2024, 2, 20)], "sku": ["A", "A"], "qty": [1.0, 2.0]}
    )
    prices = pl.DataFrame(
        {"date": [d(2024, 1, 1), d(2024, 1, 21)], "sku": ["A", "A"], "price": [10.0, 5.0]}
    )
    weekly = demand_panel(sales, prices)
    assert weekly["period_start"][0] == d(2024, 1, 1) and weekly["exposure_days"][0] == 3
    assert weekly["period_start"][-1] == d(2024, 2, 19) and weekly["exposure_days"][-1] == 2
    assert weekly["location"].unique().to_list() == ["main"]
    monthly = demand_panel(sales, prices, settings=ElasticitySettings(period="month"))
    assert monthly["period_start"].to_list() == [d(2024, 1, 1), d(2024, 2, 1)]
    assert monthly["exposure_days"].to_list() == [27.0, 20.0]
    # January: days 5–20 at 10 (16 days), 21–31 at 5 (11 days)
    expected = math.exp((16 * math.log(10) + 11 * math.log(5)) / 27)
    assert monthly["price"][0] == pytest.approx(expected)
    saturday = demand_panel(sales, prices, settings=ElasticitySettings(week_start="saturday"))
    assert saturday["period_start"][0] == d(2023, 12, 30)
    assert all(p.weekday() == 5 for p in saturday["period_start"])


def test_realised_price_fallback_semantics() -> None:
    d = dt.date
    sales = pl.DataFrame(
        {
            "date": [d(2024, 1, 1), d(2024, 1, 2), d(2024, 1, 15), d(2024, 1, 22), d(2024, 1, 1)],
            "sku": ["A", "A", "A", "A", "B"],
            "qty": [2.0, 1.0, 1.0, 3.0, 1.0],
            "revenue": [20.0, 7.0, None, None, None],
            "price": [None, None, 6.0, None, None],
        }
    )
    carry = demand_panel(sales)
    a = carry.filter(pl.col("sku") == "A")
    assert a["period_start"].to_list() == [
        d(2024, 1, 1),
        d(2024, 1, 8),
        d(2024, 1, 15),
        d(2024, 1, 22),
    ]
    # week 1: Σ revenue ÷ Σ qty = 27 / 3; week 2 has no sale: 9 carried; week 3: qty × price;
    # week 4 has no revenue and no price: the last realised price is carried
    assert a["price"].to_list() == pytest.approx([9.0, 9.0, 6.0, 6.0])
    assert a["qty"].to_list() == [3.0, 0.0, 1.0, 3.0]
    assert a["exposure_days"].to_list() == [7.0, 7.0, 7.0, 1.0]
    assert carry.filter(pl.col("sku") == "B").height == 0  # never a realised price
    drop = demand_panel(sales, settings=ElasticitySettings(unpriced_periods="drop"))
    assert drop.filter(pl.col("sku") == "A")["period_start"].to_list() == [
        d(2024, 1, 1),
        d(2024, 1, 15),
    ]
    out = estimate_elasticities(sales)
    assert out["sku"].to_list() == ["A", "B"]
    assert out["source"].to_list() == ["prior", "prior"]


# ---------------------------------------------------------------------------------------------
# Hold-out comparison
# ---------------------------------------------------------------------------------------------
def test_holdout_price_model_beats_no_price_on_generated_data(generated) -> None:
    sales, prices, products, _ = generated
    result = holdout_comparison(sales, prices, products, holdout_periods=13)
    assert result["holdout_start"] == MONDAY + dt.timedelta(weeks=91)
    assert result["holdout_end"] == MONDAY + dt.timedelta(weeks=103)
    panel = demand_panel(sales, prices, products).sort("sku", "location", "period_start")
    moved = panel.with_columns(
        moved=(pl.col("price").log().diff().abs() > math.log1p(0.01)).over("sku", "location")
    ).filter(pl.col("period_start") >= result["holdout_start"], pl.col("moved"))
    assert result["scored"] == moved.height
    price, flat = result["models"]["price"], result["models"]["no_price"]
    assert price["mae"] < 0.8 * flat["mae"]
    assert price["rmse"] < flat["rmse"]
    assert result["mae_ratio"] == pytest.approx(price["mae"] / flat["mae"])
    # with exogenous prices demand moves against the price: above the no-price model after a
    # cut, below it after a rise; the price model is closer on both sides
    cut, rise = result["response"]["cut"], result["response"]["rise"]
    assert cut["scored"] + rise["scored"] == result["scored"]
    assert cut["mean_log_change"] < 0 < rise["mean_log_change"]
    assert cut["log_ratio_no_price"] > 0.1 and rise["log_ratio_no_price"] < -0.05
    assert abs(cut["log_ratio_price"]) < cut["log_ratio_no_price"]
    assert abs(rise["log_ratio_price"]) < abs(rise["log_ratio_no_price"])
    # the errors are those of the scored rows: MAE ≤ RMSE, |bias| ≤ MAE
    for errors in result["models"].values():
        assert abs(errors["bias"]) <= errors["mae"] <= errors["rmse"]


def test_holdout_needs_enough_periods(generated) -> None:
    sales, prices, products, _ = generated
    with pytest.raises(InputError, match="too few"):
        holdout_comparison(sales, prices, products, holdout_periods=104)
    with pytest.raises(ValueError, match="holdout_periods"):
        holdout_comparison(sales, prices, products, holdout_periods=0)


# ---------------------------------------------------------------------------------------------
# Bad input and settings
# ---------------------------------------------------------------------------------------------
def test_missing_column_is_an_input_error(generated) -> None:
    sales, prices, _, _ = generated
    with pytest.raises(InputError) as err:
        estimate_elasticities(sales.drop("qty"))
    assert err.value.column == "qty" and err.value.file == "sales"
    with pytest.raises(InputError) as err:
        estimate_elasticities(sales, prices.drop("price"))
    assert err.value.column == "price" and err.value.file == "prices"


def test_bad_values_name_row_and_column(generated) -> None:
    sales, prices, _, _ = generated
    bad_price = prices.with_columns(
        price=pl.when(pl.int_range(pl.len()) == 4).then(-1.0).otherwise(pl.col("price"))
    )
    with pytest.raises(InputError) as err:
        estimate_elasticities(sales, bad_price)
    assert (err.value.row, err.value.column) == (5, "price")
    assert "positive" in str(err.value)
    text_dates = sales.with_columns(pl.col("date").cast(pl.String))
    text_dates[2, "date"] = "03/01/2024"
    with pytest.raises(InputError) as err:
        estimate_elasticities(text_dates)
    assert (err.value.row, err.value.column) == (3, "date")
    numbered = sales.with_columns(
        qty=pl.col("qty").cast(pl.String), _row=pl.int_range(pl.len()) + 2
    )
    numbered[0, "qty"] = "many"
    with pytest.raises(InputError) as err:
        estimate_elasticities(numbered)
    assert (err.value.row, err.value.column) == (2, "qty")
    with pytest.raises(InputError, match="sku"):
        estimate_elasticities(sales.with_columns(sku=pl.lit(None, pl.String)))


def test_settings_checks_and_config() -> None:
    with pytest.raises(ConfigError):
        ElasticitySettings(minimum=0.0, maximum=-1.0)
    with pytest.raises(ConfigError):
        ElasticitySettings(prior=-9.0)
    with pytest.raises(ConfigError):
        ElasticitySettings(period="day")
    config = load_config(
        None,
        [
            "elasticity_prior=-1.5",
            "elasticity_min_price_changes=4",
            "elasticity_period=month",
            "elasticity_week_start=sunday",
            "elasticity_unpriced_periods=drop",
            "elasticity_min=-4",
            "elasticity_max=0.5",
            "elasticity_price_change_min=0.05",
            "elasticity_prior_std_error=0.7",
        ],
    )
    settings = ElasticitySettings.from_config(config)
    assert settings == ElasticitySettings(
        prior=-1.5,
        prior_std_error=0.7,
        min_price_changes=4,
        minimum=-4.0,
        maximum=0.5,
        price_change_min=0.05,
        period="month",
        week_start="sunday",
        unpriced_periods="drop",
    )
    assert ElasticitySettings.from_config(load_config()) == ElasticitySettings()
    with pytest.raises(ConfigError):
        load_config(None, ["elasticity_period=fortnight"])


def test_empty_sales_give_prior_rows_for_priced_skus() -> None:
    sales = pl.DataFrame(schema={"date": pl.Date, "sku": pl.String, "qty": pl.Float64})
    prices = pl.DataFrame({"date": [MONDAY], "sku": ["A"], "price": [2.0]})
    out = estimate_elasticities(sales, prices)
    assert out.select("sku", "source", "elasticity").rows() == [("A", "prior", -2.62)]


@pytest.mark.parametrize("with_prices", [True, False])
def test_fitting_in_chunks_of_categories_changes_nothing(generated, with_prices) -> None:
    """The fit separates by category: groups of categories give the same table as one fit."""
    sales, prices, products, _ = generated
    prices = prices if with_prices else None
    whole = estimate_elasticities(sales, prices, products)
    small = ElasticitySettings(chunk_rows=sales.height // 4)
    chunked = estimate_elasticities(sales, prices, products, settings=small)
    assert chunked.columns == whole.columns
    assert chunked["sku"].to_list() == whole["sku"].to_list()
    assert chunked["source"].to_list() == whole["source"].to_list()
    for column in ("elasticity", "std_error", "raw_elasticity", "n_price_changes", "n_weeks"):
        np.testing.assert_allclose(
            chunked[column].to_numpy().astype(float),
            whole[column].to_numpy().astype(float),
            rtol=1e-7,
            atol=1e-9,
            err_msg=column,
        )


def test_chunks_keep_price_only_skus() -> None:
    sales, prices, products, _ = generate(n_skus=12, weeks=30, seed=4)
    extra = pl.DataFrame(
        {"date": [MONDAY], "sku": ["ZZZ"], "price": [5.0]},
        schema_overrides={"date": pl.Date},
    )
    prices = pl.concat([prices, extra], how="diagonal_relaxed")
    whole = estimate_elasticities(sales, prices, products)
    chunked = estimate_elasticities(
        sales, prices, products, settings=ElasticitySettings(chunk_rows=sales.height // 3)
    )
    assert chunked["sku"].to_list() == whole["sku"].to_list()
    assert chunked.filter(pl.col("sku") == "ZZZ")["source"].to_list() == ["prior"]
    assert chunked["source"].to_list() == whole["source"].to_list()
