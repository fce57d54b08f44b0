"""Weekly demand statistics: coefficient of variation, ADI and CV² (SPEC §3.2).

Week k = (as_of − date) // 7 for k = 0 … n_weeks−1, so weeks end on the as-of date. The weekly
demand q_k = Σ qty of week k [units], negative weekly totals (net returns) clipped to 0, zero for
weeks without sales. Only weeks with sales are ever formed: the mean and population standard
deviation over all n_weeks come from Σ q_k and Σ q_k², which the zero weeks do not change.
"""

from __future__ import annotations

import polars as pl

from deadstock.keys import KEY_INDEX
from deadstock.metrics.windows import OFF, PreparedSales


def weekly_demand_sums(prepared: PreparedSales, n_weeks: int) -> pl.DataFrame:
    """Σ q_k [units], Σ q_k² [units²] and the number of weeks with q_k > 0, per SKU-location.

    Columns: _k, demand_sum, demand_sum_sq, demand_weeks (Int64); SKU-locations without sales
    rows in the n_weeks × 7 days are absent.
    """
    if 7 * n_weeks > prepared.horizon:
        raise ValueError("The demand weeks reach beyond the horizon of the prepared sales.")
    # Rows are sorted by (_k, off), so one integer per (SKU-location, week) is sorted too and
    # the group-by runs over contiguous groups.
    week_code = (pl.col(KEY_INDEX).cast(pl.Int64) * n_weeks + pl.col(OFF) // 7).set_sorted()
    weekly = (
        prepared.recent.filter(pl.col(OFF) < 7 * n_weeks)
        .group_by(week_code.alias("_week_code"))
        .agg(pl.col("qty").sum().clip(lower_bound=0.0).alias("q"))
    )
    week_key = (pl.col("_week_code") // n_weeks).cast(pl.UInt32).set_sorted()
    return weekly.group_by(week_key.alias(KEY_INDEX)).agg(
        pl.col("q").sum().alias("demand_sum"),
        (pl.col("q") * pl.col("q")).sum().alias("demand_sum_sq"),
        (pl.col("q") > 0).sum().cast(pl.Int64).alias("demand_weeks"),
    )


def _spread(count: pl.Expr, total: pl.Expr, total_sq: pl.Expr) -> pl.Expr:
    """n·Σq² − (Σq)² = n² × population variance [units²], clipped at 0 against rounding.

    One subtraction of two exact-as-possible products, rather than Σq²/n − mean², keeps a
    constant series at exactly 0 whenever the sums are exact.
    """
    return (count * total_sq - total * total).clip(lower_bound=0.0)


def weekly_cv(n_weeks: int) -> pl.Expr:
    """Population std ÷ mean of the n_weeks weekly demands [ratio]; null when the mean ≤ 0.

    std ÷ mean = √(n·Σq² − (Σq)²) ÷ Σq. Needs columns demand_sum, demand_sum_sq (null = no
    sales).
    """
    total = pl.col("demand_sum").fill_null(0.0)
    spread = _spread(pl.lit(float(n_weeks)), total, pl.col("demand_sum_sq").fill_null(0.0))
    return pl.when(total > 0).then(spread.sqrt() / total).otherwise(None)


def average_demand_interval(n_weeks: int) -> pl.Expr:
    """ADI = n_weeks ÷ weeks with demand [weeks]; null when no week has demand."""
    weeks = pl.col("demand_weeks").fill_null(0)
    return pl.when(weeks > 0).then(pl.lit(float(n_weeks)) / weeks).otherwise(None)


def squared_cv_of_sizes() -> pl.Expr:
    """CV² = (population std ÷ mean)² of the non-zero weekly demands [ratio].

    (n·Σq² − (Σq)²) ÷ (Σq)² over the n weeks with demand; 0 for a single week with demand,
    null when none. Needs demand_sum, demand_sum_sq, demand_weeks.
    """
    n = pl.col("demand_weeks").fill_null(0)
    total = pl.col("demand_sum")
    spread = _spread(n.cast(pl.Float64), total, pl.col("demand_sum_sq"))
    return pl.when(n == 1).then(0.0).when(n > 1).then(spread / (total * total)).otherwise(None)
