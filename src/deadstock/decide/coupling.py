"""Coupling rows: constraints that link SKUs (warehouse capacity, supplier return caps, lots).

Each row counts a resource used by one action over a subset of SKUs: Σ_{g∈rows} coef_g ·
x_{g,action} ≤ limit ("<=") or, for a minimum liquidation lot, ∈ {0} ∪ [limit, ∞) ("lot").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from deadstock.decide.costs import ACTIONS, FloatArray
from deadstock.decide.problem import IntArray, Problem


@dataclass(frozen=True)
class CouplingRow:
    """Σ coef · [choice[rows] == action] against ``limit``; ``sense`` is "<=" or "lot"."""

    name: str
    action: int
    rows: IntArray
    coef: FloatArray
    limit: float
    sense: str = "<="

    def usage(self, choice: IntArray) -> float:
        """Resource the plan ``choice`` uses on this row."""
        return float(self.coef[choice[self.rows] == self.action].sum())


def coupling_rows(problem: Problem) -> list[CouplingRow]:
    """Every coupling row of ``problem`` (empty when the problem separates per SKU)."""
    c = problem.constraints
    out: list[CouplingRow] = []
    everyone = np.arange(problem.n, dtype=np.int64)
    keep = ACTIONS.index("keep")
    if c.capacity_units is not None:
        out.append(CouplingRow("capacity_units", keep, everyone, problem.units, c.capacity_units))
    if c.capacity_volume is not None:
        volume = np.nan_to_num(problem.params["volume"], nan=0.0) * problem.units
        out.append(CouplingRow("capacity_volume", keep, everyone, volume, c.capacity_volume))
    if c.min_liquidation_lot is not None:
        out.append(
            CouplingRow(
                "min_liquidation_lot",
                ACTIONS.index("liquidate"),
                everyone,
                problem.units,
                c.min_liquidation_lot,
                "lot",
            )
        )
    out.extend(location_capacity_rows(problem))
    out.extend(supplier_cap_rows(problem))
    return out


def _members(keys: pl.Series, name: str) -> dict[str, list[int]]:
    """Key value → row indices holding it (nulls left out)."""
    groups = (
        keys.to_frame(name)
        .with_row_index("row")
        .filter(pl.col(name).is_not_null())
        .group_by(name, maintain_order=True)
        .agg("row")
    )
    return dict(zip(groups[name].to_list(), groups["row"].to_list(), strict=True))


def _limit(value: object) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return float(value)  # type: ignore[arg-type]


def grouped_rows(
    problem: Problem,
    limits: pl.DataFrame | None,
    keys: pl.Series | None,
    key: str,
    action: str,
    per_unit: dict[str, FloatArray | None],
) -> list[CouplingRow]:
    """One row per group and limit column: Σ units × per-unit weight of the group's SKUs that
    take ``action`` within the group's limit (columns of ``limits`` named in ``per_unit``; a
    None weight counts units)."""
    if limits is None or limits.height == 0 or keys is None:
        return []
    j = ACTIONS.index(action)
    rows_of = _members(keys, key)
    out: list[CouplingRow] = []
    for rec in limits.iter_rows(named=True):
        rows = np.asarray(rows_of.get(str(rec[key]), []), dtype=np.int64)
        for column, weight in per_unit.items():
            limit = _limit(rec.get(column))
            if limit is None:
                continue
            coef = problem.units[rows] * (1.0 if weight is None else weight[rows])
            out.append(CouplingRow(f"{column}[{rec[key]}]", j, rows, coef, limit))
    return out


def location_capacity_rows(problem: Problem) -> list[CouplingRow]:
    """Kept excess per location within that location's space: units, and litres."""
    volume = np.nan_to_num(problem.params["volume"], nan=0.0)
    return grouped_rows(
        problem,
        problem.constraints.location_capacity,
        problem.location,
        "location",
        "keep",
        {"capacity_units": None, "capacity_volume": volume},
    )


def supplier_cap_rows(problem: Problem) -> list[CouplingRow]:
    """Return caps per supplier: units, and refund value (units × return_price) [currency]."""
    refund = np.nan_to_num(problem.params["return_price"], nan=0.0)
    return grouped_rows(
        problem,
        problem.constraints.supplier_caps,
        problem.supplier,
        "supplier_id",
        "return",
        {"return_cap_units": None, "return_cap_value": refund},
    )
