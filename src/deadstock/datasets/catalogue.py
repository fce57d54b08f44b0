"""Category catalogue and seasonal profiles of the demo retailer (used by :mod:`.retailer`).

Each category has a seasonal profile (``winter``, ``summer``, ``holiday`` or ``none``), a share of
the assortment, price, margin and volume ranges, case packs and listing attributes. The profiles are
day-of-year demand indices normalised to mean 1 over a year, so a category's long-run demand does
not depend on its profile, only its timing does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEASON_PROFILES = ("winter", "summer", "holiday", "none")
PREBUY_LEAD_DAYS = 60  # days from the pre-season order to the start of the season it covers

# Weekly pattern Monday … Sunday (normalised to mean 1 below).
_WEEKDAY = np.array([0.90, 0.90, 0.95, 1.00, 1.10, 1.25, 0.90])
WEEKDAY_INDEX: np.ndarray = _WEEKDAY / _WEEKDAY.mean()


@dataclass(frozen=True)
class Category:
    """One product category of the demo retailer.

    ``price_median`` [currency/unit] and ``price_sigma`` (log scale) draw the regular price;
    ``margin`` is the range of gross margin (price − cost) ÷ price; ``volume`` the range of storage
    volume [litres/unit]; ``packs`` the case packs (order multiples) [units]; ``prebuy_doy`` the
    day of year of the pre-season buy (seasonal categories only).
    """

    name: str
    profile: str
    share: float
    subcategories: tuple[str, ...]
    price_median: float
    price_sigma: float
    margin: tuple[float, float]
    volume: tuple[float, float]
    packs: tuple[int, ...]
    sharpness: float = 3.0
    prebuy_doy: int | None = None
    season_days: int = 0
    perishable: float = 0.0
    regulated: float = 0.0


CATEGORIES: tuple[Category, ...] = (
    Category(
        "outerwear",
        "winter",
        0.10,
        ("rain jacket", "parka", "gloves", "scarf", "beanie"),
        60.0,
        0.6,
        (0.45, 0.70),
        (1.0, 12.0),
        (1, 2, 4, 6),
        sharpness=3.0,
        prebuy_doy=228,
        season_days=120,
    ),
    Category(
        "heating",
        "winter",
        0.05,
        ("fan heater", "electric blanket", "hot water bottle", "oil radiator"),
        45.0,
        0.6,
        (0.25, 0.45),
        (2.0, 60.0),
        (1, 2, 4),
        sharpness=4.0,
        prebuy_doy=245,
        season_days=120,
        regulated=0.4,
    ),
    Category(
        "garden",
        "summer",
        0.10,
        ("hose", "planter", "lounger", "pruner", "parasol"),
        35.0,
        0.8,
        (0.30, 0.55),
        (2.0, 150.0),
        (1, 2, 6, 12),
        sharpness=2.0,
        prebuy_doy=31,
        season_days=120,
    ),
    Category(
        "swimwear",
        "summer",
        0.07,
        ("swimsuit", "beach towel", "sunglasses", "flip-flops"),
        25.0,
        0.5,
        (0.50, 0.70),
        (0.3, 4.0),
        (1, 3, 6, 12),
        sharpness=4.0,
        prebuy_doy=61,
        season_days=100,
    ),
    Category(
        "toys",
        "holiday",
        0.10,
        ("board game", "puzzle", "doll", "building set", "plush toy"),
        22.0,
        0.7,
        (0.35, 0.55),
        (1.0, 25.0),
        (1, 3, 6, 12),
        prebuy_doy=254,
        season_days=45,
        regulated=0.1,
    ),
    Category(
        "gifts",
        "holiday",
        0.08,
        ("scented candle", "gift set", "ornament", "photo frame"),
        18.0,
        0.6,
        (0.45, 0.70),
        (0.5, 5.0),
        (1, 4, 6, 12, 24),
        prebuy_doy=259,
        season_days=40,
    ),
    Category(
        "basics",
        "none",
        0.14,
        ("t-shirt", "socks", "underwear", "leggings"),
        12.0,
        0.5,
        (0.40, 0.65),
        (0.2, 1.5),
        (1, 6, 12, 24),
    ),
    Category(
        "food",
        "none",
        0.12,
        ("coffee", "tea", "snack bar", "pasta sauce", "olive oil"),
        6.0,
        0.5,
        (0.20, 0.35),
        (0.3, 2.0),
        (6, 12, 24),
        perishable=1.0,
    ),
    Category(
        "home",
        "none",
        0.14,
        ("storage box", "towel", "mug", "cutting board", "lamp"),
        20.0,
        0.7,
        (0.35, 0.60),
        (0.5, 30.0),
        (1, 2, 4, 6, 12),
    ),
    Category(
        "electronics",
        "none",
        0.10,
        ("usb cable", "charger", "power bank", "earbuds", "phone case"),
        25.0,
        0.8,
        (0.20, 0.45),
        (0.1, 1.5),
        (1, 5, 10),
        regulated=0.3,
    ),
)

ADJECTIVES = (
    "Classic",
    "Premium",
    "Essential",
    "Compact",
    "Deluxe",
    "Eco",
    "Urban",
    "Nordic",
    "Vintage",
    "Pro",
    "Soft",
    "Everyday",
    "Travel",
    "Family",
    "Studio",
    "Heritage",
)
COLOURS = (
    "Black",
    "White",
    "Navy",
    "Grey",
    "Red",
    "Green",
    "Sand",
    "Blue",
    "Olive",
    "Rose",
    "Amber",
    "Teal",
)


def _circular_distance(doy: np.ndarray, centre: float) -> np.ndarray:
    d = np.abs(doy - centre) % 365.25
    return np.minimum(d, 365.25 - d)


def season_index(profile: str, day_of_year: np.ndarray, sharpness: float = 3.0) -> np.ndarray:
    """Demand index of a seasonal profile on each day of year [ratio, mean 1 over a year].

    ``winter`` peaks around 10 January and ``summer`` around 1 July (a raised-cosine to the power
    ``sharpness``, so the off-season is nearly dormant); ``holiday`` is a year-round base with a
    peak before Christmas (and a smaller one at Black Friday); ``none`` is flat.
    """
    if profile not in SEASON_PROFILES:
        raise ValueError(
            f"The 'profile' parameter must be one of {SEASON_PROFILES}. Got {profile!r}."
        )
    full_year = np.arange(1, 366, dtype=np.float64)

    def shape(doy: np.ndarray) -> np.ndarray:
        if profile == "winter":
            return 0.02 + ((1 + np.cos(2 * np.pi * (doy - 10) / 365.25)) / 2) ** sharpness
        if profile == "summer":
            return 0.02 + ((1 + np.cos(2 * np.pi * (doy - 182) / 365.25)) / 2) ** sharpness
        if profile == "holiday":
            christmas = np.exp(-0.5 * (_circular_distance(doy, 352) / 14.0) ** 2)
            black_friday = np.exp(-0.5 * (_circular_distance(doy, 330) / 4.0) ** 2)
            return 0.45 + 4.0 * christmas + 1.0 * black_friday
        return np.ones_like(doy, dtype=np.float64)

    return shape(np.asarray(day_of_year, dtype=np.float64)) / shape(full_year).mean()
