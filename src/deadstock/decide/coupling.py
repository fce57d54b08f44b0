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


def location_capacity_rows(problem: Problem) -> list[CouplingRow]:
    """Kept excess per location within that location's space: units, and litres."""
    places = problem.constraints.location_capacity
    if places is None or places.height == 0 or problem.location is None:
        return []
    keep = ACTIONS.index("keep")
    rows_of = _members(problem.location, "location")
    volume = np.nan_to_num(problem.params["volume"], nan=0.0)
    out: list[CouplingRow] = []
    for rec in places.iter_rows(named=True):
        rows = np.asarray(rows_of.get(str(rec["location"]), []), dtype=np.int64)
        for column, per_unit in (("capacity_units", None), ("capacity_volume", volume)):
            limit = _limit(rec.get(column))
            if limit is None:
                continue
            coef = problem.units[rows] * (1.0 if per_unit is None else per_unit[rows])
            out.append(CouplingRow(f"{column}[{rec['location']}]", keep, rows, coef, limit))
    return out


def supplier_cap_rows(problem: Problem) -> list[CouplingRow]:
    """Return caps per supplier: units, and refund value (units × return_price) [currency]."""
    caps = problem.constraints.supplier_caps
    if caps is None or caps.height == 0 or problem.supplier is None:
        return []
    ret = ACTIONS.index("return")
    rows_of = _members(problem.supplier, "supplier_id")
    refund = np.nan_to_num(problem.params["return_price"], nan=0.0)
    out: list[CouplingRow] = []
    for rec in caps.iter_rows(named=True):
        rows = np.asarray(rows_of.get(str(rec["supplier_id"]), []), dtype=np.int64)
        for column, per_unit in (("return_cap_units", None), ("return_cap_value", refund)):
            limit = _limit(rec.get(column))
            if limit is None:
                continue
            coef = problem.units[rows] * (1.0 if per_unit is None else per_unit[rows])
            out.append(CouplingRow(f"{column}[{rec['supplier_id']}]", ret, rows, coef, limit))
    return out
