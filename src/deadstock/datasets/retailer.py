"""Demo retailer generator: a realistic, seeded catalogue with two years of daily trading.

:func:`generate_retailer` returns the canonical input tables of SPEC §2 (names and dtypes of
:mod:`deadstock.schema`): products, inventory, sales, receipts, suppliers, locations and prices.

How the retailer works (all draws come from ``numpy.random.default_rng([seed, stream])``):

- **Assortment.** Ten categories (:mod:`.catalogue`) with seasonal profiles: winter (outerwear,
  heating), summer (garden, swimwear), holiday peaks (toys, gifts) and none (basics, food, home,
  electronics), plus a weekly pattern. Base demand per SKU is a mixture: a long intermittent tail
  (about 3 in 4 SKUs selling a few units a month per location), regular sellers and a few fast
  movers. Poor listings (≤ 1 image or a description under 150 characters) halve demand.
- **Life cycles.** launch (launch_date in the last ~14 months, demand ramping up), maturity (a slow
  trend), decline (demand fading from a random day) and discontinued (status ``discontinued``:
  demand fades to a few % of its level, no orders from the stop day on, and half of them took a
  last close-out buy, so their stock ends dead).
- **Prices.** Regular price changes (mostly increases) and temporary promotions (10–40 % off for
  3–14 days) on about 45 % of SKUs; demand responds with a constant elasticity
  ``(price ÷ first regular price)^−ε``, ε ∈ [1.2, 3.5]. ``prices`` holds one row per change of the
  realised shelf price (the first row on the SKU's first day), so every sale's price equals the
  price in force that day.
- **Demand.** Daily demand is Poisson with rate base × season × weekday × life cycle × price
  effect, drawn by inversion; 15 % of SKUs are lumpy (on a day with demand the count is
  multiplied by a geometric basket size of mean 2–4).
- **Replenishment.** Per SKU-location a weekly periodic-review, order-up-to policy: on its review
  weekday the buyer lifts the stock position (on hand + on order) to S = F + 1.28 √F − 0.5, at
  least 1 (a continuity-corrected normal approximation of the 90 % Poisson quantile), where F is
  the forecast demand over lead time + review period; the order is at least 7–35 days of
  forecast demand (an economic batch) and a whole number of case packs (packs above ~90 days of
  a SKU's demand fall back to single units); it arrives after the supplier's lead time. The
  forecast is a seasonally normalised exponential average (weight 1/42 per day) of the sales seen
  on in-stock days, seeded with the true rate times a persistent per-SKU-location bias
  (optimistic for launches). Seasonal categories also place a pre-season buy on a fixed day of
  year covering 40–80 % of the forecast season, which starts 60 days later. About 4 % of
  SKU-locations make one buying mistake (an extra 2–10 months of demand), and half of the
  discontinued SKU-locations a last close-out buy of 2–8 months shortly before the stop.
  Opening stock enters as a receipt on the SKU-location's first day (day 1 of the window, or the
  launch day): the order-up-to level, for 20 % plus 2–13 weeks, for 3 % plus 1–2 years of legacy
  stock, and for launches plus 2–9 weeks (the launch buy).
- **Products and suppliers.** Regular prices end in 9 cents; unit cost = price × (1 − margin),
  margin 20–70 % by category; receipts carry the cost in force (moving with the regular price),
  the SKU's supplier and its payment terms; holding cost = 22 %/year of unit cost + 0.0004 per
  litre per day. 20–200 suppliers (one per 40 SKUs), each serving one category: about half offer
  a return right, 15 % a right of destruction (no return cost), the rest none; lead times 3–14
  days (domestic) or 21–60 days (overseas, 40 %).
- **Stock identity.** Sales = min(demand, stock) in whole units, so for every SKU-location
  ``inventory.on_hand = Σ receipts.qty − Σ sales.qty`` exactly and stock is never negative.
  ``inventory.inbound`` holds the units ordered but not yet received at ``end``.
- **Scale.** The simulation loops over days only; each day is a handful of NumPy operations over
  a chunk of SKU-locations (chunks bound memory), so 1 M SKU-locations × 730 days is practical.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from deadstock import schema
from deadstock.datasets.catalogue import (
    ADJECTIVES,
    CATEGORIES,
    COLOURS,
    PREBUY_LEAD_DAYS,
    WEEKDAY_INDEX,
    season_index,
)

LAUNCH, MATURE, DECLINE, DISCONTINUED = 0, 1, 2, 3
_NEVER = 1 << 30  # a day index that is never reached
_REVIEW_DAYS = 7  # review period R [days]
_SAFETY_Z = 1.28  # safety factor on √(forecast demand)
_SMOOTHING = 1.0 / 42.0  # weight of one day in the buyer's demand estimate
_N_PRICE_CHANGES = 3  # regular-price change slots per SKU
_N_PROMOS = 4  # promotion slots per promoted SKU
_CHUNK_SKU_LOCATIONS = 100_000  # SKU-locations simulated at once (bounds memory)


@dataclass(frozen=True)
class _Skus:
    """Per-SKU attributes as arrays (index = SKU number)."""

    category: np.ndarray  # int
    supplier: np.ndarray  # int
    stage: np.ndarray  # LAUNCH … DISCONTINUED
    first_day: np.ndarray  # first day on sale [day index]
    launch_offset: np.ndarray  # launch_date − start [days]
    ramp_tau: np.ndarray  # launch ramp-up time constant [days]
    fade_day: np.ndarray  # day demand starts fading [day index]
    fade_tau: np.ndarray  # fade time constant [days]
    fade_floor: np.ndarray  # demand floor after fading [ratio]
    stop_day: np.ndarray  # first day without orders [day index]
    trend: np.ndarray  # log growth per year [1/year]
    elasticity: np.ndarray  # price elasticity ε (> 0)
    listing: np.ndarray  # demand factor of the listing quality [ratio]
    image_count: np.ndarray  # images on the listing [count]
    description_chars: np.ndarray  # listing description length [characters]
    basket: np.ndarray  # mean basket size of lumpy SKUs (1 = not lumpy) [units]
    pack: np.ndarray  # case pack [units]
    base_rate: np.ndarray  # demand per location at index 1 [units/day]
    unit_cost: np.ndarray  # latest unit cost [currency/unit]
    change_day: np.ndarray  # (n, K) sorted regular-price change days, _NEVER if unused
    segment_cents: np.ndarray  # (n, K+1) regular price in each segment [cents]
    promo_start: np.ndarray  # (n, P) first promo day, _NEVER if unused
    promo_end: np.ndarray  # (n, P) first day after the promo
    promo_discount: np.ndarray  # (n, P) discount [fraction]


def _psych_cents(price: np.ndarray) -> np.ndarray:
    """Round prices [currency] to price points ending in 9 cents (x.99 from 5 up, x.x9 below)."""
    price = np.asarray(price, dtype=np.float64)
    high = np.rint(price) * 100 - 1
    low = np.rint(price * 10) * 10 - 1
    return np.maximum(np.where(price >= 5, high, low), 19).astype(np.int64)


def _check_params(n_skus: int, n_locations: int, days: int, lps: float | None) -> None:
    if not isinstance(n_skus, int) or n_skus < 1:
        raise ValueError(f"The 'n_skus' parameter must be an int in [1, inf). Got {n_skus!r}.")
    if not isinstance(n_locations, int) or n_locations < 1:
        raise ValueError(
            f"The 'n_locations' parameter must be an int in [1, inf). Got {n_locations!r}."
        )
    if not isinstance(days, int) or days < 60:
        raise ValueError(f"The 'days' parameter must be an int in [60, inf). Got {days!r}.")
    if lps is not None and not 1 <= lps <= n_locations:
        raise ValueError(
            f"The 'locations_per_sku' parameter must be a number in [1, {n_locations}] "
            f"(n_locations) or None. Got {lps!r}."
        )


def _draw_skus(n: int, days: int, n_suppliers: int, rng: np.random.Generator) -> _Skus:
    cat_shares = np.array([c.share for c in CATEGORIES])
    category = rng.choice(len(CATEGORIES), size=n, p=cat_shares / cat_shares.sum())
    # suppliers serve one main category each: supplier s serves category s % n_categories
    n_cat = len(CATEGORIES)
    per_cat = np.array([len(range(c, n_suppliers, n_cat)) for c in range(n_cat)])
    supplier = category + n_cat * (rng.random(n) * per_cat[category]).astype(np.int64)

    stage = rng.choice(4, size=n, p=[0.12, 0.68, 0.12, 0.08])
    launch_lo, launch_hi = max(0, days - 420), max(1, days - 21)
    first_day = np.where(stage == LAUNCH, rng.integers(launch_lo, launch_hi, n), 0)
    launch_offset = np.where(stage == LAUNCH, first_day, -rng.integers(30, 2500, n))
    ramp_tau = np.where(stage == LAUNCH, rng.uniform(15, 60, n), 1e-3)

    stop_lo, stop_hi = max(1, days - 420), max(2, days - 90)
    stop_day = np.where(stage == DISCONTINUED, rng.integers(stop_lo, stop_hi, n), _NEVER)
    fade_day = np.full(n, _NEVER, dtype=np.int64)
    fade_day = np.where(stage == DECLINE, rng.integers(days // 5, 4 * days // 5, n), fade_day)
    fade_day = np.where(stage == DISCONTINUED, stop_day - rng.integers(0, 45, n), fade_day)
    fade_tau = np.where(stage == DECLINE, rng.uniform(150, 450, n), rng.uniform(25, 90, n))
    fade_floor = np.where(stage == DECLINE, 0.15, rng.uniform(0.02, 0.06, n))
    trend = np.where(stage == MATURE, rng.normal(0.0, 0.15, n), 0.0)

    elasticity = rng.uniform(1.2, 3.5, n)
    image_count = _image_counts(n, rng)
    description_chars = _description_chars(n, rng)
    listing = np.where((image_count <= 1) | (description_chars < 150), 0.5, 1.0)
    basket = np.where(rng.random(n) < 0.15, rng.uniform(2.0, 4.0, n), 1.0)

    # Demand mixture: intermittent tail, regular sellers, fast movers [units/day per location].
    kind = rng.choice(3, size=n, p=[0.725, 0.25, 0.025])
    medians = np.array([0.03, 0.12, 1.5])[kind]
    sigmas = np.array([0.7, 0.6, 0.6])[kind]
    base_rate = medians * np.exp(sigmas * rng.standard_normal(n))

    packs = np.empty(n, dtype=np.int64)
    final_price = np.empty(n)
    margin = np.empty(n)
    for c, spec in enumerate(CATEGORIES):
        members = np.flatnonzero(category == c)
        m = members.size
        packs[members] = rng.choice(np.array(spec.packs), size=m)
        final_price[members] = spec.price_median * np.exp(spec.price_sigma * rng.standard_normal(m))
        margin[members] = rng.uniform(*spec.margin, size=m)
    # slow sellers come in single units unless a case lasts under ~3 months at one location
    packs = np.where(packs <= np.maximum(1.0, base_rate * 90), packs, 1)
    final_cents = _psych_cents(np.clip(final_price, 0.99, 2500.0))
    unit_cost = np.round(final_cents / 100 * (1 - margin), 2)

    k = _N_PRICE_CHANGES
    used = rng.random((n, k)) < 0.5
    change_day = np.where(used, rng.integers(1, days, (n, k)), _NEVER)
    factor = np.where(used, 1 + rng.uniform(-0.08, 0.15, (n, k)), 1.0)
    order = np.argsort(change_day, axis=1)
    change_day = np.take_along_axis(change_day, order, axis=1)
    factor = np.take_along_axis(factor, order, axis=1)
    segment_cents = np.empty((n, k + 1), dtype=np.int64)
    segment_cents[:, k] = final_cents
    for s in range(k - 1, -1, -1):
        unchanged = factor[:, s] == 1.0
        earlier = _psych_cents(segment_cents[:, s + 1] / 100 / factor[:, s])
        segment_cents[:, s] = np.where(unchanged, segment_cents[:, s + 1], earlier)

    p = _N_PROMOS
    promoted = rng.random(n) < 0.45
    promo_used = promoted[:, None] & (rng.random((n, p)) < 0.7)
    promo_start = np.where(promo_used, rng.integers(0, days - 3, (n, p)), _NEVER)
    promo_end = promo_start + rng.integers(3, 15, (n, p))
    promo_discount = rng.choice(np.array([0.10, 0.15, 0.20, 0.25, 0.30, 0.40]), size=(n, p))

    return _Skus(
        category=category,
        supplier=supplier,
        stage=stage,
        first_day=first_day,
        launch_offset=launch_offset,
        ramp_tau=ramp_tau,
        fade_day=fade_day,
        fade_tau=fade_tau,
        fade_floor=fade_floor,
        stop_day=stop_day,
        trend=trend,
        elasticity=elasticity,
        listing=listing,
        image_count=image_count,
        description_chars=description_chars,
        basket=basket,
        pack=packs,
        base_rate=base_rate,
        unit_cost=unit_cost,
        change_day=change_day,
        segment_cents=segment_cents,
        promo_start=promo_start,
        promo_end=promo_end,
        promo_discount=promo_discount,
    )


def _image_counts(n: int, rng: np.random.Generator) -> np.ndarray:
    # a stream of its own so listing draws do not shift when other attributes change
    sub = np.random.default_rng(rng.integers(1 << 62))
    return np.where(sub.random(n) < 0.08, sub.integers(0, 2, n), sub.integers(2, 11, n))


def _description_chars(n: int, rng: np.random.Generator) -> np.ndarray:
    sub = np.random.default_rng(rng.integers(1 << 62))
    return np.where(sub.random(n) < 0.06, sub.integers(0, 150, n), sub.integers(150, 3000, n))


def _regular_cents(skus: _Skus, sku: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Regular (non-promotional) price [cents] of SKUs ``sku`` on days ``day``."""
    segment = (skus.change_day[sku] <= day[:, None]).sum(axis=1)
    return skus.segment_cents[sku, segment]


def _price_cents_matrix(skus: _Skus, sku: np.ndarray, days: int) -> np.ndarray:
    """Shelf price [cents] per day (rows) and SKU (columns), promotions included."""
    t = np.arange(days, dtype=np.int32)[:, None]
    segment = np.zeros((days, sku.size), dtype=np.int8)
    for k in range(skus.change_day.shape[1]):
        segment += t >= skus.change_day[sku, k].astype(np.int32)[None, :]
    cents = skus.segment_cents[sku].astype(np.int32)[np.arange(sku.size)[None, :], segment]
    promoted = np.flatnonzero((skus.promo_start[sku] < _NEVER).any(axis=1))
    if promoted.size:
        discount = np.zeros((days, promoted.size), dtype=np.float32)
        start, end = skus.promo_start[sku[promoted]], skus.promo_end[sku[promoted]]
        depth = skus.promo_discount[sku[promoted]].astype(np.float32)
        for k in range(start.shape[1]):
            on = (t >= start[None, :, k]) & (t < end[None, :, k])
            np.maximum(discount, on * depth[None, :, k], out=discount)
        cents[:, promoted] = np.rint(cents[:, promoted] * (1.0 - discount))
    return cents


def _life_cycle(skus: _Skus, sku: np.ndarray, days: int) -> np.ndarray:
    """Life-cycle demand factor per day and SKU [ratio]: 0 before launch, ramp, trend, fade."""
    t = np.arange(days, dtype=np.float32)[:, None]
    years = (t - np.float32(days / 2)) / np.float32(365.0)
    life = np.exp(years * skus.trend[sku].astype(np.float32)[None, :])
    launch = np.flatnonzero(skus.stage[sku] == LAUNCH)
    if launch.size:
        since = t - skus.first_day[sku[launch]].astype(np.float32)[None, :]
        ramp = -np.expm1(-(since + 1) / skus.ramp_tau[sku[launch]].astype(np.float32)[None, :])
        life[:, launch] *= np.where(since >= 0, ramp, np.float32(0.0))
    fading = np.flatnonzero(skus.fade_day[sku] < _NEVER)
    if fading.size:
        f = sku[fading]
        gone = np.maximum(0.0, t - skus.fade_day[f].astype(np.float32)[None, :])
        fade = np.exp(-gone / skus.fade_tau[f].astype(np.float32)[None, :])
        life[:, fading] *= np.maximum(skus.fade_floor[f].astype(np.float32)[None, :], fade)
    return life


def _poisson_by_inversion(lam: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts for rates ``lam`` by inversion of uniforms ``w`` (count ≥ 1 iff w > e^−λ).

    Rates above 12 use NumPy's sampler (then at least 1: P(0) < 7e-6 there).
    """
    out = np.zeros(lam.size, dtype=np.int64)
    big = lam > 12
    out[big] = np.maximum(1, rng.poisson(lam[big]))
    idx = np.flatnonzero(~big)
    lam_s, w_s = lam[idx], w[idx]
    prob = np.exp(-lam_s)
    cdf = prob.copy()
    k = 0
    while idx.size and k < 200:
        above = w_s > cdf
        idx, lam_s, w_s, prob, cdf = idx[above], lam_s[above], w_s[above], prob[above], cdf[above]
        out[idx] += 1
        k += 1
        prob = prob * lam_s / k
        cdf = cdf + prob
    return out


@dataclass
class _ChunkResult:
    sale_day: np.ndarray
    sale_sl: np.ndarray
    sale_qty: np.ndarray
    sale_cents: np.ndarray
    receipt_day: np.ndarray
    receipt_sl: np.ndarray
    receipt_qty: np.ndarray
    price_day: np.ndarray
    price_sku: np.ndarray
    price_cents: np.ndarray
    stock: np.ndarray
    on_order: np.ndarray
    location_units: np.ndarray  # (days, n_locations)
    location_volume: np.ndarray


@dataclass(frozen=True)
class _Network:
    """SKU-location pairs (sorted by SKU, then location) and their per-pair parameters."""

    sl_sku: np.ndarray  # SKU number of each pair
    sl_loc: np.ndarray  # location number of each pair
    sl_rate: np.ndarray  # base demand of the pair [units/day]
    lead: np.ndarray  # supplier lead time of the pair [days]
    volume: np.ndarray  # per SKU [litres/unit]
    n_locations: int


def _simulate_chunk(
    skus: _Skus,
    network: _Network,
    calendar: _Calendar,
    *,
    sku_lo: int,
    sku_hi: int,
    sl_lo: int,
    sl_hi: int,
    rng: np.random.Generator,
) -> _ChunkResult:
    """Simulate demand, sales and replenishment of SKUs ``sku_lo … sku_hi − 1`` day by day.

    The SKU-location pairs ``sl_lo … sl_hi − 1`` are exactly those of these SKUs.
    """
    sl_sku, sl_loc = network.sl_sku[sl_lo:sl_hi], network.sl_loc[sl_lo:sl_hi]
    sl_rate, lead = network.sl_rate[sl_lo:sl_hi], network.lead[sl_lo:sl_hi]
    volume, n_locations = network.volume, network.n_locations
    days = calendar.days
    n = sl_sku.size
    sku = np.arange(sku_lo, sku_hi)
    col = sl_sku - sku_lo  # column of each SKU-location in the per-SKU matrices
    cat = skus.category[sl_sku]

    # --- shelf prices and demand rates (days × SKU-locations) -------------------------------
    cents = _price_cents_matrix(skus, sku, days)
    # price effect (price ÷ first regular price)^−ε, in log space and float32
    sku_factor = np.log(
        cents.astype(np.float32) / skus.segment_cents[sku, 0].astype(np.float32)[None, :]
    )
    sku_factor *= -skus.elasticity[sku].astype(np.float32)[None, :]
    np.exp(sku_factor, out=sku_factor)
    sku_factor *= _life_cycle(skus, sku, days)
    sku_factor *= calendar.season32[:days, skus.category[sku]]
    rate = sku_factor[:, col]
    del sku_factor
    rate *= sl_rate.astype(np.float32)[None, :]

    # --- demand: Poisson by inversion, lumpy baskets ----------------------------------------
    u = rng.random((days, n), dtype=np.float32)
    np.negative(rate, out=rate)
    hit = np.flatnonzero(u > np.exp(rate))  # P(demand > 0) = 1 − e^−λ
    lam = -rate.ravel()[hit].astype(np.float64)
    count = _poisson_by_inversion(lam, u.ravel()[hit].astype(np.float64), rng)
    del u, rate, lam
    basket = skus.basket[sl_sku[hit % n]]
    lumpy = basket > 1.0
    count[lumpy] = count[lumpy] * rng.geometric(1.0 / basket[lumpy])
    flat_demand = np.zeros(days * n, dtype=np.int32)
    flat_demand[hit] = count
    demand = flat_demand.reshape(days, n)  # [units] per day (rows) and SKU-location
    del hit, count, basket

    # --- replenishment policy parameters ----------------------------------------------------
    stage = skus.stage[sl_sku]
    first_day = skus.first_day[sl_sku]
    stop_day = skus.stop_day[sl_sku]
    pack = skus.pack[sl_sku]
    bias = np.where(stage == LAUNCH, rng.lognormal(0.15, 0.45, n), rng.lognormal(0.0, 0.25, n))
    level_num = sl_rate * skus.listing[sl_sku] * bias  # buyer's estimate × weight [units/day]
    level_den = np.ones(n)
    review_weekday = rng.integers(0, 7, n)
    batch_days = rng.uniform(7, 35, n)  # smallest economic order [days of demand]
    open_cover = np.where(
        stage == LAUNCH,
        rng.uniform(14, 60, n),
        np.select(
            [rng.random(n) < 0.03, rng.random(n) < 0.2],
            [rng.uniform(365, 730, n), rng.uniform(14, 90, n)],
            0.0,
        ),
    )
    mistake_day = np.where(rng.random(n) < 0.04, rng.integers(0, days, n), _NEVER)
    mistake_cover = rng.uniform(60, 300, n)
    closeout = (stage == DISCONTINUED) & (rng.random(n) < 0.5)
    mistake_day = np.where(closeout, np.maximum(stop_day - 14, first_day), mistake_day)
    mistake_cover = np.where(closeout, rng.uniform(60, 240, n), mistake_cover)
    prebuy_share = rng.uniform(0.4, 0.8, n)
    weekday_members = [np.flatnonzero(review_weekday == w) for w in range(7)]
    by_first_day = np.argsort(first_day, kind="stable")
    first_day_bounds = np.searchsorted(first_day[by_first_day], np.arange(days + 1))

    def forecast(idx: np.ndarray, t: int | np.ndarray, horizon: np.ndarray) -> np.ndarray:
        """Buyer's forecast of demand on days t+1 … t+horizon [units]."""
        c = cat[idx]
        last = calendar.cum_season.shape[0] - 1
        end = np.minimum(t + 1 + horizon, last)
        expected = calendar.cum_season[end, c] - calendar.cum_season[t + 1, c]
        return level_num[idx] / level_den[idx] * expected

    def order_up_to(idx: np.ndarray, demand_ahead: np.ndarray, position: np.ndarray) -> np.ndarray:
        """Order to lift the stock position to forecast + safety stock, at least one batch."""
        # normal approximation of the Poisson quantile with continuity correction; at least 1
        target = np.maximum(1.0, demand_ahead + _SAFETY_Z * np.sqrt(demand_ahead) - 0.5)
        need = np.ceil(target - position - 1e-9)
        batch = level_num[idx] / level_den[idx] * batch_days[idx]
        need = np.where(need > 0, np.maximum(need, np.ceil(batch - 1e-9)), 0)
        return (np.ceil(need / pack[idx]) * pack[idx]).astype(np.int64)

    stock = np.zeros(n, dtype=np.int64)
    on_order = np.zeros(n, dtype=np.int64)
    pipeline = np.zeros((int(lead.max()) + 1, n), dtype=np.int64)
    mistake_pending = mistake_day < _NEVER
    launched = np.zeros(n, dtype=bool)  # first day on sale reached (opening stock received)
    sales_parts: list[tuple[int, np.ndarray, np.ndarray]] = []
    receipt_parts: list[tuple[int, np.ndarray, np.ndarray]] = []
    location_units = np.zeros((days, n_locations))
    location_volume = np.zeros((days, n_locations))
    sl_volume = volume[sl_sku]
    prebuy_cats = calendar.prebuy_categories
    season_days = np.array([c.season_days for c in CATEGORIES])

    for t in range(days):
        # goods arriving today (orders and opening stock) are on the shelf before today's sales
        arriving = pipeline[t % pipeline.shape[0]]
        opening = by_first_day[first_day_bounds[t] : first_day_bounds[t + 1]]
        if opening.size:
            launched[opening] = True
            no_stock = np.zeros(opening.size)
            cover = lead[opening] + _REVIEW_DAYS + np.rint(open_cover[opening]).astype(np.int64)
            arriving[opening] += order_up_to(opening, forecast(opening, t - 1, cover), no_stock)
            on_order[opening] += arriving[opening]
        got = np.flatnonzero(arriving)
        if got.size:
            qty = arriving[got]
            receipt_parts.append((t, got, qty.copy()))
            stock[got] += qty
            on_order[got] -= qty
            arriving[got] = 0

        sold = np.minimum(demand[t], stock)
        nz = np.flatnonzero(sold)
        if nz.size:
            sales_parts.append((t, nz, sold[nz]))
        in_stock = stock > 0
        stock -= sold

        # buyer's demand estimate: exponential average of sales on in-stock days, deseasonalised
        np.logical_and(in_stock, launched, out=in_stock)
        weight = in_stock * _SMOOTHING
        level_num += weight * (sold - level_num)
        level_den += weight * (calendar.season[t, cat] - level_den)

        # weekly review: order up to forecast demand over lead time + review period
        idx = weekday_members[calendar.weekday[t]]
        idx = idx[launched[idx] & (t < stop_day[idx])]
        if idx.size:
            position = stock[idx] + on_order[idx]
            qty = order_up_to(idx, forecast(idx, t, lead[idx] + _REVIEW_DAYS), position)
            mistake = mistake_pending[idx] & (t >= mistake_day[idx])
            if mistake.any():
                m = idx[mistake]
                extra = forecast(m, t, np.rint(mistake_cover[m]).astype(np.int64))
                qty[mistake] += (
                    np.ceil(np.maximum(extra, 2 * pack[m]) / pack[m]).astype(np.int64) * pack[m]
                )
                mistake_pending[m] = False
            place = qty > 0
            i, q = idx[place], qty[place]
            pipeline[(t + lead[i]) % pipeline.shape[0], i] += q
            on_order[i] += q

        # pre-season buy of seasonal categories on their fixed day of year
        cats_today = prebuy_cats.get(int(calendar.day_of_year[t]))
        if cats_today is not None:
            idx = np.flatnonzero(np.isin(cat, cats_today) & launched & (t < stop_day))
            if idx.size:
                window = season_days[cat[idx]]
                ahead = forecast(idx, t + PREBUY_LEAD_DAYS - 1, window) * prebuy_share[idx]
                qty = order_up_to(idx, ahead, stock[idx] + on_order[idx])
                place = qty > 0
                i, q = idx[place], qty[place]
                pipeline[(t + lead[i]) % pipeline.shape[0], i] += q
                on_order[i] += q

        if calendar.weekday[t] == 6 or t == days - 1:  # weekly stock snapshot per location
            location_units[t] = np.bincount(sl_loc, weights=stock, minlength=n_locations)
            location_volume[t] = np.bincount(
                sl_loc, weights=stock * sl_volume, minlength=n_locations
            )

    def stack(parts: list[tuple[int, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
        if not parts:
            empty = np.zeros(0, dtype=np.int32)
            return empty, empty, empty
        day = np.concatenate([np.full(p[1].size, p[0], dtype=np.int32) for p in parts])
        idx = np.concatenate([p[1] for p in parts]).astype(np.int64)
        qty = np.concatenate([p[2] for p in parts]).astype(np.int32)
        return day, idx, qty

    sale_day, sale_idx, sale_qty = stack(sales_parts)
    receipt_day, receipt_idx, receipt_qty = stack(receipt_parts)
    sale_cents = cents[sale_day, col[sale_idx]]

    # price history: the first day on sale, then every day the shelf price changes
    changed_t, changed_col = np.nonzero(cents[1:] != cents[:-1])
    changed_t = changed_t + 1
    after_first = changed_t > skus.first_day[sku[changed_col]]
    first = skus.first_day[sku]
    price_day = np.concatenate([first, changed_t[after_first]])
    price_col = np.concatenate([np.arange(sku.size), changed_col[after_first]])
    order = np.lexsort((price_day, price_col))
    price_day, price_col = price_day[order], price_col[order]

    return _ChunkResult(
        sale_day=sale_day,
        sale_sl=sale_idx + sl_lo,
        sale_qty=sale_qty,
        sale_cents=sale_cents,
        receipt_day=receipt_day,
        receipt_sl=receipt_idx + sl_lo,
        receipt_qty=receipt_qty,
        price_day=price_day,
        price_sku=price_col + sku_lo,
        price_cents=cents[price_day, price_col],
        stock=stock,
        on_order=on_order,
        location_units=location_units,
        location_volume=location_volume,
    )


@dataclass(frozen=True)
class _Calendar:
    days: int
    weekday: np.ndarray  # 0 = Monday
    day_of_year: np.ndarray
    season: np.ndarray  # (days + extra, n_categories) season × weekday index
    season32: np.ndarray  # the same in float32
    cum_season: np.ndarray  # (days + extra + 1, n_categories) cumulative, row 0 = 0
    prebuy_categories: dict[int, np.ndarray]


def _calendar(start: date, days: int, extra: int) -> _Calendar:
    total = days + extra
    dates = np.datetime64(start, "D") + np.arange(total)
    weekday = (dates.astype(np.int64) + 3) % 7
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(np.int64) + 1
    season = np.empty((total, len(CATEGORIES)))
    prebuy: dict[int, list[int]] = {}
    for c, spec in enumerate(CATEGORIES):
        season[:, c] = season_index(spec.profile, day_of_year, spec.sharpness)
        season[:, c] *= WEEKDAY_INDEX[weekday]
        if spec.prebuy_doy is not None:
            prebuy.setdefault(spec.prebuy_doy, []).append(c)
    cum = np.vstack([np.zeros((1, len(CATEGORIES))), np.cumsum(season, axis=0)])
    return _Calendar(
        days=days,
        weekday=weekday[:days],
        day_of_year=day_of_year[:days],
        season=season,
        season32=season.astype(np.float32),
        cum_season=cum,
        prebuy_categories={d: np.array(c) for d, c in prebuy.items()},
    )


def _suppliers(n: int, rng: np.random.Generator) -> pl.DataFrame:
    """Suppliers: payment terms, return rights (≈ half 'return', 15 % 'destroy') and lead times."""
    ids = [f"SUP-{i + 1:03d}" for i in range(n)]
    policy = rng.choice(np.array(["return", "destroy", "none"]), size=n, p=[0.5, 0.15, 0.35])
    has_right = policy != "none"
    refund = np.where(has_right, np.round(rng.uniform(80, 100, n), 1), np.nan)
    min_days = np.where(has_right, rng.integers(0, 31, n), -1)
    max_days = np.where(has_right, rng.integers(60, 366, n), -1)
    cost = np.where(policy == "return", np.round(rng.uniform(0, 2, n), 2), 0.0)
    cost = np.where(has_right, cost, np.nan)
    cap_units = np.where(has_right & (rng.random(n) < 0.3), rng.integers(5, 50, n) * 100.0, np.nan)
    cap_value = np.where(
        has_right & (rng.random(n) < 0.2), rng.integers(5, 100, n) * 1000.0, np.nan
    )
    overseas = rng.random(n) < 0.4
    lead = np.where(overseas, rng.integers(21, 61, n), rng.integers(3, 15, n))
    payment = rng.choice(np.array([0, 14, 30, 60, 90]), size=n, p=[0.1, 0.2, 0.35, 0.25, 0.1])
    frame = pl.DataFrame(
        {
            "supplier_id": ids,
            "return_policy": policy,
            "refund_pct": refund,
            "min_return_days": min_days,
            "max_return_days": max_days,
            "return_cost_per_unit": cost,
            "return_cap_units": cap_units,
            "return_cap_value": cap_value,
            "lead_time_days": lead,
            "payment_days": payment,
        }
    )
    frame = frame.with_columns(
        pl.col(pl.Float64).fill_nan(None),
        pl.col("min_return_days", "max_return_days").replace(-1, None),
    )
    return _canonical(frame, "suppliers")


def _canonical(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Columns of ``frame`` in the schema's order, cast to the schema's dtypes."""
    spec = schema.INPUT_TABLES[table]
    names = [c for c in spec.names if c in frame.columns]
    return frame.select(pl.col(c).cast(spec.column(c).dtype) for c in names)


def _location_names(n: int) -> list[str]:
    if n == 1:
        return [schema.DEFAULT_LOCATION]
    return ["online"] + [f"store_{i:02d}" for i in range(1, n)]


def _assign_locations(
    n_skus: int, n_locations: int, lps: float | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """SKU-location pairs (sorted by SKU, then location): every location, or ~``lps`` per SKU."""
    if lps is None or n_locations == 1:
        sl_sku = np.repeat(np.arange(n_skus), n_locations)
        sl_loc = np.tile(np.arange(n_locations), n_skus)
        return sl_sku, sl_loc
    extra = rng.binomial(n_locations - 1, (lps - 1) / (n_locations - 1), n_skus)
    rank = np.argsort(np.argsort(rng.random((n_skus, n_locations)), axis=1), axis=1)
    sl_sku, sl_loc = np.nonzero(rank <= extra[:, None])
    return sl_sku, sl_loc


def generate_retailer(
    n_skus: int = 2000,
    n_locations: int = 3,
    seed: int = 0,
    end: date = date(2025, 11, 30),
    days: int = 730,
    locations_per_sku: float | None = None,
) -> dict[str, pl.DataFrame]:
    """Generate a realistic retailer's canonical input tables (SPEC §2), deterministic per seed.

    ``n_skus`` products trade at ``n_locations`` locations (``online``, ``store_01`` …; a single
    location is named ``main``) for ``days`` days ending on ``end`` [date]. Every SKU is stocked at
    every location unless ``locations_per_sku`` (mean locations per SKU, in [1, n_locations]) is
    given. The module docstring describes the model.

    Returns a dict of Polars frames with schema names and dtypes: ``products``, ``inventory``
    (as_of = ``end``; on_hand [units] = Σ receipts − Σ sales per SKU-location; inbound [units]),
    ``sales`` (one row per SKU-location-day with qty > 0: date, sku, qty, location, revenue
    [currency] = qty × price, price [currency/unit]), ``receipts`` (date, sku, qty, location,
    supplier_id, unit_cost [currency/unit], payment_days [days]), ``suppliers``, ``locations``
    (capacity 5–30 % above the simulated peak stock [units] and [litres]) and ``prices`` (date,
    sku, price: one row per change of the shelf price, promotions included; all locations).
    """
    _check_params(n_skus, n_locations, days, locations_per_sku)
    start = end - timedelta(days=days - 1)
    n_suppliers = int(np.clip(n_skus // 40, 20, 200))
    suppliers = _suppliers(n_suppliers, np.random.default_rng([seed, 1]))
    skus = _draw_skus(n_skus, days, n_suppliers, np.random.default_rng([seed, 2]))
    sl_sku, sl_loc = _assign_locations(
        n_skus, n_locations, locations_per_sku, np.random.default_rng([seed, 3])
    )
    rng = np.random.default_rng([seed, 4])
    location_size = 0.75 * np.exp(rng.uniform(-0.25, 0.25, n_locations))  # stores
    location_size[0] = 1.0  # online (or the only location)
    sl_rate = skus.base_rate[sl_sku] * location_size[sl_loc] * rng.lognormal(0, 0.3, sl_sku.size)
    supplier_lead = suppliers["lead_time_days"].to_numpy()
    lead = supplier_lead[skus.supplier][sl_sku].astype(np.int64)
    volume = _volumes(skus, np.random.default_rng([seed, 5]))
    calendar = _calendar(start, days, extra=int(supplier_lead.max()) + _REVIEW_DAYS + 750)

    # chunks of whole SKUs holding about _CHUNK_SKU_LOCATIONS SKU-locations each
    sl_start = np.searchsorted(sl_sku, np.arange(n_skus + 1))
    cuts = np.unique(np.searchsorted(sl_start, np.arange(0, sl_sku.size, _CHUNK_SKU_LOCATIONS)))
    sku_cuts = [*cuts[cuts < n_skus].tolist(), n_skus]
    if sku_cuts[0] != 0:
        sku_cuts.insert(0, 0)
    network = _Network(sl_sku, sl_loc, sl_rate, lead, volume, n_locations)
    results = [
        _simulate_chunk(
            skus,
            network,
            calendar,
            sku_lo=lo,
            sku_hi=hi,
            sl_lo=int(sl_start[lo]),
            sl_hi=int(sl_start[hi]),
            rng=np.random.default_rng([seed, 100 + number]),
        )
        for number, (lo, hi) in enumerate(itertools.pairwise(sku_cuts))
    ]
    return _assemble(
        skus,
        suppliers,
        network,
        results,
        start=start,
        end=end,
        rng=np.random.default_rng([seed, 6]),
    )


def _volumes(skus: _Skus, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(skus.category.size)
    for c, spec in enumerate(CATEGORIES):
        members = np.flatnonzero(skus.category == c)
        lo, hi = spec.volume
        out[members] = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi), members.size)), 2)
    return out


def _dates(start: date, day: np.ndarray) -> pl.Series:
    epoch = (start - date(1970, 1, 1)).days
    return pl.Series(np.asarray(day, dtype=np.int32) + np.int32(epoch)).cast(pl.Date)


def _assemble(
    skus: _Skus,
    suppliers: pl.DataFrame,
    network: _Network,
    results: list[_ChunkResult],
    *,
    start: date,
    end: date,
    rng: np.random.Generator,
) -> dict[str, pl.DataFrame]:
    """Turn the simulated arrays into the canonical tables (string keys, dates, money)."""
    sl_sku, sl_loc, volume = network.sl_sku, network.sl_loc, network.volume
    n_locations = network.n_locations
    n = skus.category.size
    width = max(6, len(str(n)))
    sku_names = pl.Series("sku", [f"SKU-{i + 1:0{width}d}" for i in range(n)])
    loc_names = pl.Series("location", _location_names(n_locations))
    supplier_ids = suppliers["supplier_id"]

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(r, name) for r in results])

    # sales: sorted by date, then SKU and location
    sale_day = cat("sale_day")
    order = np.argsort(sale_day, kind="stable")
    sale_day = sale_day[order]
    sale_sl = cat("sale_sl")[order]
    sale_qty = cat("sale_qty")[order]
    sale_cents = cat("sale_cents")[order]
    del order
    sales = pl.DataFrame(
        {
            "date": _dates(start, sale_day),
            "sku": sku_names.gather(sl_sku[sale_sl]),
            "qty": sale_qty.astype(np.float64),
            "location": loc_names.gather(sl_loc[sale_sl]),
            "revenue": sale_qty.astype(np.int64) * sale_cents / 100.0,
            "price": sale_cents / 100.0,
        }
    )
    del sale_day, sale_sl, sale_qty, sale_cents

    receipt_day = cat("receipt_day")
    order = np.argsort(receipt_day, kind="stable")
    receipt_day = receipt_day[order].astype(np.int64)
    receipt_sl = cat("receipt_sl")[order]
    receipt_sku = sl_sku[receipt_sl]
    regular = _regular_cents(skus, receipt_sku, receipt_day)
    receipt_cost = np.round(
        skus.unit_cost[receipt_sku] * regular / skus.segment_cents[receipt_sku, -1], 2
    )
    supplier = skus.supplier[receipt_sku]
    receipts = pl.DataFrame(
        {
            "date": _dates(start, receipt_day),
            "sku": sku_names.gather(receipt_sku),
            "qty": cat("receipt_qty")[order].astype(np.float64),
            "location": loc_names.gather(sl_loc[receipt_sl]),
            "supplier_id": supplier_ids.gather(supplier),
            "unit_cost": receipt_cost,
            "payment_days": suppliers["payment_days"].to_numpy()[supplier],
        }
    )

    inventory = pl.DataFrame(
        {
            "sku": sku_names.gather(sl_sku),
            "on_hand": cat("stock").astype(np.float64),
            "location": loc_names.gather(sl_loc),
            "as_of": pl.repeat(end, sl_sku.size, dtype=pl.Date, eager=True),
            "inbound": cat("on_order").astype(np.float64),
        }
    )

    prices = pl.DataFrame(
        {
            "date": _dates(start, cat("price_day")),
            "sku": sku_names.gather(cat("price_sku")),
            "price": cat("price_cents") / 100.0,
        }
    )

    peak_units = np.sum([r.location_units for r in results], axis=0).max(axis=0)
    peak_volume = np.sum([r.location_volume for r in results], axis=0).max(axis=0)
    locations = pl.DataFrame(
        {
            "location": loc_names,
            "capacity_volume": np.round(peak_volume * rng.uniform(1.05, 1.3, n_locations), -1),
            "capacity_units": np.round(peak_units * rng.uniform(1.05, 1.3, n_locations), -1),
        }
    )

    products = _products(skus, sku_names, supplier_ids, volume, start=start, rng=rng)
    return {
        "products": products,
        "inventory": _canonical(inventory, "inventory"),
        "sales": _canonical(sales, "sales"),
        "receipts": _canonical(receipts, "receipts"),
        "suppliers": suppliers,
        "locations": _canonical(locations, "locations"),
        "prices": _canonical(prices, "prices"),
    }


def _products(
    skus: _Skus,
    sku_names: pl.Series,
    supplier_ids: pl.Series,
    volume: np.ndarray,
    *,
    start: date,
    rng: np.random.Generator,
) -> pl.DataFrame:
    n = skus.category.size
    category_names = np.array([c.name for c in CATEGORIES])
    subcategory = np.empty(n, dtype=object)
    perishable = np.zeros(n, dtype=bool)
    regulated = np.zeros(n, dtype=bool)
    for c, spec in enumerate(CATEGORIES):
        members = np.flatnonzero(skus.category == c)
        subcategory[members] = rng.choice(np.array(spec.subcategories), size=members.size)
        perishable[members] = rng.random(members.size) < spec.perishable
        regulated[members] = rng.random(members.size) < spec.regulated
    adjective = rng.choice(np.array(ADJECTIVES), size=n)
    colour = rng.choice(np.array(COLOURS), size=n)
    price = skus.segment_cents[:, -1] / 100.0
    holding = np.round(skus.unit_cost * 0.22 / 365 + volume * 0.0004, 5)
    frame = pl.DataFrame(
        {
            "sku": sku_names,
            "adjective": adjective,
            "colour": colour,
            "subcategory": subcategory.astype(str),
            "category": category_names[skus.category],
            "supplier_id": supplier_ids.gather(skus.supplier),
            "unit_cost": skus.unit_cost,
            "price": price,
            "volume": volume,
            "holding_cost_per_day": holding,
            "launch_date": _dates(start, skus.launch_offset),
            "status": np.where(skus.stage == DISCONTINUED, "discontinued", "active"),
            "image_count": skus.image_count,
            "description_chars": skus.description_chars,
            "perishable": perishable,
            "regulated": regulated,
        }
    )
    frame = frame.with_columns(
        name=pl.concat_str(
            "adjective", "colour", pl.col("subcategory").str.to_titlecase(), separator=" "
        )
    )
    return _canonical(frame, "products")
