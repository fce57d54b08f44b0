"""The thesis cost model of clearing or keeping excess stock (Zijlmans 2025; SPEC §3.5).

Numeric kernel: NumPy arrays in (one entry per SKU), per-unit cost components out. For SKU g
with S_g excess units every term is a cost per unit [currency/unit]; the table-level API
(:mod:`deadstock.decide.engine`) multiplies by S_g.

    keep:      Σ_{d=0..⌊De⌋} Cs/(1+Re)^d                         holding
             + Fin · Cw · N · Σ_{d∈F} 1/(1+Re)^d                  working capital
             + α · De/(D+L) · M/(1+Ro)^D                          capacity opportunity cost
    return:    Cr + Ps/(1+Re)^De − Pr                             (only if eligible)
    liquidate: Cl + Ps/(1+Re)^De − Pl
    recycle:   Cd + Ps/(1+Re)^De − Pd

Fin = Fc + Ff with Fc = ``financed_now`` (already paid) and Ff = ``financed_future`` (paid before
it sells); F = {0..⌊De⌋} when Fc = 1, {⌈P − Dc⌉..⌊De⌋} when Ff = 1, else empty. Ps/(1+Re)^De is
the opportunity cost of clearing: the discounted revenue of the regular sale given up.

Beyond the thesis (SPEC §3.5, same shape, no new economics): donate = donation_cost +
Ps/(1+Re)^De − donation_value (tax value), dispose = disposal_cost + Ps/(1+Re)^De. Markdowns
(single step and ladder) cost carrying + Ps/(1+Re)^De − recovery per excess unit, with carrying
and recovery from the markdown model (:func:`deadstock.pricing.markdown.markdown_unit_costs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Every action the cost model prices, in tie-breaking order (the first cheapest wins, so a
#: SKU indifferent between keeping and clearing is kept).
ACTIONS: tuple[str, ...] = (
    "keep",
    "return",
    "liquidate",
    "recycle",
    "donate",
    "dispose",
    "markdown",
    "markdown_ladder",
    "fix_listing",
    "bundle",
    "transfer",
)
#: Actions that move a share of the excess through a channel and keep the rest (per excess
#: unit: share · (carrying + lost sale − value) + (1 − share) · keep). The params give
#: ``<action>_share`` [-], ``<action>_unit_value`` (present value a channel unit brings, net of
#: the channel's own costs [currency/unit]) and ``<action>_carrying`` (carrying until it goes
#: [currency/unit]); see :mod:`deadstock.decide.channels`.
CHANNEL_ACTIONS: tuple[str, ...] = ("fix_listing", "bundle", "transfer")
#: Actions priced by the markdown model (:mod:`deadstock.pricing.markdown`): their carrying and
#: recovery per excess unit come precomputed in the params columns ``<action>_carrying`` and
#: ``<action>_recovery``; the lost sale is priced here like every clearing action.
MARKDOWN_ACTIONS: tuple[str, ...] = ("markdown", "markdown_ladder")
#: The thesis' four actions (``--preset thesis``).
THESIS_ACTIONS: tuple[str, ...] = ("keep", "return", "liquidate", "recycle")

#: Cost components [currency/unit]; an action's cost is the sum of its components.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "keep": ("holding", "working_capital", "capacity"),
    "return": ("transport", "lost_sale", "recovery"),
    "liquidate": ("transport", "lost_sale", "recovery"),
    "recycle": ("transport", "lost_sale", "recovery"),
    "donate": ("transport", "lost_sale", "recovery"),
    "dispose": ("transport", "lost_sale", "recovery"),
    "markdown": ("carrying", "lost_sale", "recovery"),
    "markdown_ladder": ("carrying", "lost_sale", "recovery"),
    "fix_listing": ("carrying", "lost_sale", "recovery", "kept"),
    "bundle": ("carrying", "lost_sale", "recovery", "kept"),
    "transfer": ("carrying", "lost_sale", "recovery", "kept"),
}

COMPONENT_HELP: dict[str, str] = {
    "holding": "Σ_{d=0..⌊De⌋} Cs/(1+Re)^d: storage and handling until the expected sale",
    "working_capital": "Fin · Cw · N · Σ_{d∈F} 1/(1+Re)^d: capital tied up in paid stock",
    "capacity": "α · De/(D+L) · M/(1+Ro)^D: margin of regular stock the space could hold",
    "transport": "Cr, Cl, Cd, donation or disposal cost: moving the units out",
    "lost_sale": "Ps/(1+Re)^De: the discounted regular sale given up by clearing",
    "recovery": "−Pr, −Pl, −Pd, −donation value: money (or tax value) received, as a negative "
    "cost; markdowns: −(discounted sales + end salvage − the regular units' full-price value)",
    "carrying": "markdowns: holding, working capital and capacity of the whole stock during "
    "the markdown weeks, per excess unit; listing fix, bundle, transfer: of the share that "
    "goes through the channel until it sells",
    "kept": "listing fix, bundle, transfer: keep cost of the share that stays (1 − share)",
}


@dataclass(frozen=True)
class Economy:
    """The global settings of the thesis model (SPEC §3.5), thesis defaults.

    capital_cost_daily Cw [1/day], discount_rate_excess Re [1/day], discount_rate_overall Ro
    [1/day], avg_margin M [currency/unit], avg_days_in_stock D [days], avg_lead_time L [days],
    capacity_limited α (0 or 1).
    """

    capital_cost_daily: float = 0.00014
    discount_rate_excess: float = 0.00086
    discount_rate_overall: float = 0.00023
    avg_margin: float = 2.20
    avg_days_in_stock: float = 60.0
    avg_lead_time: float = 7.0
    capacity_limited: float = 0.0

    @classmethod
    def from_config(cls, config: object) -> Economy:
        """The economy of a :class:`deadstock.config.Config` (or any object with the names)."""
        return cls(**{f.name: float(getattr(config, f.name)) for f in fields(cls)})


def discount_factor(days: FloatArray, daily_rate: float) -> FloatArray:
    """1/(1+r)^days, the present value of one currency unit ``days`` ahead [-]."""
    return np.power(1.0 + daily_rate, -np.asarray(days, dtype=np.float64))


def discounted_day_count(first: FloatArray, last: FloatArray, daily_rate: float) -> FloatArray:
    """Σ_{d=first..last} 1/(1+r)^d over whole days, 0 where first > last [days].

    Closed form q^first · (1 − q^n) / (1 − q) with q = 1/(1+r) and n = last − first + 1,
    evaluated with log1p/expm1 so that tiny rates neither cancel nor divide 0 by 0; n when
    r < 1e-300 (the sum differs from n by less than r · n · last). ``first`` and ``last`` must
    be whole numbers (the caller floors or ceils).
    """
    first = np.asarray(first, dtype=np.float64)
    last = np.asarray(last, dtype=np.float64)
    count = last - first + 1.0
    if daily_rate < 1e-300:
        out = count
    else:
        log_q = -np.log1p(daily_rate)
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.exp(first * log_q) * np.expm1(count * log_q) / np.expm1(log_q)
    return np.where(first > last, 0.0, out)


def keep_components(params: Mapping[str, FloatArray], economy: Economy) -> dict[str, FloatArray]:
    """Per-unit holding, working-capital and capacity costs of keeping [currency/unit].

    ``params`` holds expected_days_in_stock (De), current_days_in_stock (Dc), payment_days (P),
    financed_now (Fc), financed_future (Ff), holding_cost_per_day (Cs) and unit_cost (N).
    """
    de = params["expected_days_in_stock"]
    last = np.floor(de)
    holding = params["holding_cost_per_day"] * discounted_day_count(
        np.zeros_like(de), last, economy.discount_rate_excess
    )
    now = params["financed_now"] > 0
    future = params["financed_future"] > 0
    first = np.where(
        now,
        0.0,
        np.maximum(np.ceil(params["payment_days"] - params["current_days_in_stock"]), 0.0),
    )
    financed = now | future
    days = discounted_day_count(first, last, economy.discount_rate_excess)
    working_capital = np.where(
        financed, economy.capital_cost_daily * params["unit_cost"] * days, 0.0
    )
    opportunity = (
        economy.capacity_limited
        * de
        / (economy.avg_days_in_stock + economy.avg_lead_time)
        * economy.avg_margin
        * (1.0 + economy.discount_rate_overall) ** -economy.avg_days_in_stock
        if economy.capacity_limited
        else np.zeros_like(de)
    )
    capacity = np.broadcast_to(np.asarray(opportunity, dtype=np.float64), de.shape).copy()
    return {"holding": holding, "working_capital": working_capital, "capacity": capacity}


def clear_components(
    price: FloatArray,
    expected_days: FloatArray,
    transport: FloatArray,
    proceeds: FloatArray,
    economy: Economy,
) -> dict[str, FloatArray]:
    """Per-unit transport, lost sale and recovery of clearing now [currency/unit].

    cost = transport + Ps/(1+Re)^De − proceeds (the thesis' return / liquidate / recycle rows).
    """
    lost_sale = price * discount_factor(expected_days, economy.discount_rate_excess)
    return {"transport": transport, "lost_sale": lost_sale, "recovery": -proceeds}


#: Params columns that feed each clearing action: (proceeds, transport). Missing transport = 0.
CLEAR_TERMS: dict[str, tuple[str | None, str | None]] = {
    "return": ("return_price", "return_cost"),
    "liquidate": ("liquidation_price", "liquidation_cost"),
    "recycle": ("recycle_price", "recycle_cost"),
    "donate": ("donation_value", "donation_cost"),
    "dispose": (None, "disposal_cost"),
}


def unit_costs(
    params: Mapping[str, FloatArray], economy: Economy
) -> dict[str, dict[str, FloatArray]]:
    """Per-unit cost components of every action, ``{action: {component: array}}``.

    Clearing terms whose proceeds (or, for dispose, cost) column is absent or NaN give NaN
    components; :func:`available` says which actions a SKU can take.
    """
    out: dict[str, dict[str, FloatArray]] = {"keep": keep_components(params, economy)}
    n = len(params["expected_days_in_stock"])
    nan = np.full(n, np.nan)
    zero = np.zeros(n)
    for action, (proceeds_col, transport_col) in CLEAR_TERMS.items():
        if proceeds_col is None:
            proceeds = zero
            transport = params.get(transport_col or "", nan)
        else:
            proceeds = params.get(proceeds_col, nan)
            transport = np.nan_to_num(params.get(transport_col or "", zero), nan=0.0)
        out[action] = clear_components(
            params["price"], params["expected_days_in_stock"], transport, proceeds, economy
        )
    lost_sale = params["price"] * discount_factor(
        params["expected_days_in_stock"], economy.discount_rate_excess
    )
    for action in MARKDOWN_ACTIONS:
        out[action] = {
            "carrying": params.get(f"{action}_carrying", nan),
            "lost_sale": lost_sale,
            "recovery": params.get(f"{action}_recovery", nan),
        }
    keep_total = sum(out["keep"].values())
    for action in CHANNEL_ACTIONS:
        share = params.get(f"{action}_share", nan)
        out[action] = {
            "carrying": share * params.get(f"{action}_carrying", nan),
            "lost_sale": share * lost_sale,
            "recovery": -share * params.get(f"{action}_unit_value", nan),
            "kept": (1.0 - share) * keep_total,
        }
    return out


def available(
    params: Mapping[str, FloatArray], actions: tuple[str, ...] = ACTIONS
) -> npt.NDArray[np.bool_]:
    """Boolean matrix [SKU × ACTIONS]: which actions each SKU can take.

    keep always; return when ``return_eligible``; liquidate, recycle and donate when their
    price or value is given; dispose when a disposal cost is given. Actions outside
    ``actions`` (the run's action set) are never available.
    """
    n = len(params["expected_days_in_stock"])
    given = {
        "keep": np.ones(n, dtype=bool),
        "return": (params.get("return_eligible", np.zeros(n)) > 0)
        & np.isfinite(params.get("return_price", np.full(n, np.nan))),
    }
    for action in ("liquidate", "recycle", "donate", "dispose"):
        proceeds_col, transport_col = CLEAR_TERMS[action]
        column = proceeds_col if proceeds_col is not None else transport_col
        given[action] = np.isfinite(params.get(column or "", np.full(n, np.nan)))
    for action in MARKDOWN_ACTIONS:
        given[action] = np.isfinite(params.get(f"{action}_recovery", np.full(n, np.nan)))
    for action in CHANNEL_ACTIONS:
        share = params.get(f"{action}_share", np.full(n, np.nan))
        value = params.get(f"{action}_unit_value", np.full(n, np.nan))
        given[action] = np.isfinite(share) & (share > 0) & np.isfinite(value)
    return np.column_stack([given[a] if a in actions else np.zeros(n, dtype=bool) for a in ACTIONS])


def total_unit_costs(components: dict[str, dict[str, FloatArray]]) -> FloatArray:
    """Matrix [SKU × ACTIONS] of per-unit costs: the sum of each action's components."""
    return np.column_stack([sum(components[a].values()) for a in ACTIONS])
