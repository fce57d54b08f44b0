"""ABC, XYZ and demand classes (SPEC §3.2).

- ABC: Pareto classes by cumulative share of revenue (or gross margin).
- XYZ: classes by the coefficient of variation of weekly demand.
- Demand class: Syntetos, Boylan & Croston (2005), "On the categorization of demand patterns",
  J. Oper. Res. Soc. 56(5), 495–503: cut-offs ADI = 1.32 and CV² = 0.49 separate smooth, erratic,
  intermittent and lumpy demand.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


def abc_classes(
    frame: pl.DataFrame, basis: str, order: Sequence[str], cuts: Sequence[float]
) -> pl.Series:
    """ABC class of every row of ``frame`` by its column ``basis`` [currency] (revenue or margin).

    Rows are ranked by basis descending (null as 0), ties by the columns ``order`` ascending.
    share_before = Σ basis of the rows ranked strictly before ÷ Σ of the positive bases (both
    running sums in rank order). A when basis > 0 and share_before < cuts[0]; B when basis > 0
    and share_before < cuts[1]; otherwise C (so zero, negative or unknown basis is C). Returns a
    String Series named ``abc`` aligned with ``frame``.
    """
    cut_a, cut_b = cuts
    ranked = (
        frame.select(pl.col(basis).fill_null(0.0).cast(pl.Float64).alias("_basis"), *order)
        .with_row_index("_row")
        .sort(["_basis", *order], descending=[True] + [False] * len(order))
    )
    value = ranked["_basis"].to_numpy()
    running = np.cumsum(value)
    before = np.concatenate(([0.0], running[:-1]))[: len(value)]
    positive = value > 0
    total = running[positive.sum() - 1] if positive.any() else 0.0
    # NumPy divides each element exactly (Polars multiplies by the reciprocal of a scalar).
    share = before / total if total > 0 else np.full(len(value), np.inf)
    code = np.where(positive & (share < cut_a), 0, np.where(positive & (share < cut_b), 1, 2))
    aligned = np.empty(len(value), dtype=np.uint32)
    aligned[ranked["_row"].to_numpy()] = code
    return pl.Series("abc", ["A", "B", "C"], dtype=pl.String).gather(aligned)


def xyz_class(cv: pl.Expr, cuts: Sequence[float]) -> pl.Expr:
    """X when cv ≤ cuts[0], Y when cv ≤ cuts[1], else Z; Z when cv is null (no demand)."""
    cut_x, cut_y = cuts
    return (
        pl.when(cv <= cut_x)
        .then(pl.lit("X"))
        .when(cv <= cut_y)
        .then(pl.lit("Y"))
        .otherwise(pl.lit("Z"))
    )


def demand_class(adi: pl.Expr, cv2: pl.Expr, adi_cut: float, cv2_cut: float) -> pl.Expr:
    """Syntetos–Boylan class: none when adi is null (no demand); else smooth (adi < adi_cut,
    cv2 < cv2_cut), erratic (adi < adi_cut, cv2 ≥ cv2_cut), intermittent (adi ≥ adi_cut,
    cv2 < cv2_cut), lumpy (both ≥)."""
    frequent = adi < adi_cut
    steady = cv2 < cv2_cut
    return (
        pl.when(adi.is_null())
        .then(pl.lit("none"))
        .when(frequent & steady)
        .then(pl.lit("smooth"))
        .when(frequent)
        .then(pl.lit("erratic"))
        .when(steady)
        .then(pl.lit("intermittent"))
        .otherwise(pl.lit("lumpy"))
    )
