"""Independent blocks of coupling rows: found correctly and solved to the direct MILP's optimum."""

from __future__ import annotations

import polars as pl
import pytest

from deadstock.datasets.decision_params import generate_params, generate_supplier_caps
from deadstock.decide.costs import Economy
from deadstock.decide.coupled import build_options, row_blocks
from deadstock.decide.coupling import coupling_rows
from deadstock.decide.problem import Constraints, build_problem, evaluate
from deadstock.decide.solve import solve


def _caps(params: pl.DataFrame) -> pl.DataFrame:
    caps = generate_supplier_caps(params, seed=4)
    value = (
        params.filter(pl.col("return_eligible") == 1)
        .group_by("supplier_id")
        .agg((pl.col("excess_units") * pl.col("return_price")).sum().alias("v"))
    )
    return caps.join(value, on="supplier_id").select(
        "supplier_id", "return_cap_units", (0.4 * pl.col("v")).alias("return_cap_value")
    )


def test_suppliers_form_one_block_each_until_a_capacity_spans_them() -> None:
    params = generate_params(600, suppliers=7, seed=4)
    caps = _caps(params)
    alone = build_problem(params, Economy(), constraints=Constraints(supplier_caps=caps))
    blocks = row_blocks(build_options(alone.cost, coupling_rows(alone)))
    assert len(blocks) == caps.height  # units + value rows of one supplier are one block
    supplier = params["supplier_id"].to_numpy()
    for rows, skus in blocks:
        assert len(rows) == 2
        assert len(set(supplier[skus])) == 1
    shared = build_problem(
        params, Economy(), constraints=Constraints(supplier_caps=caps, capacity_units=5_000.0)
    )
    blocks = row_blocks(build_options(shared.cost, coupling_rows(shared)))
    assert len(blocks) == 1 and len(blocks[0][0]) == 2 * caps.height + 1


@pytest.mark.parametrize("seed", [4, 5])
def test_block_polish_equals_the_direct_milp(seed: int) -> None:
    params = generate_params(1_500, suppliers=12, seed=seed)
    problem = build_problem(params, Economy(), constraints=Constraints(supplier_caps=_caps(params)))
    ours = solve(problem)
    reference = solve(problem, method="milp", gap_target=1e-9)
    assert reference.status == "optimal"
    assert evaluate(problem, ours.choice).feasible
    assert ours.objective == pytest.approx(reference.objective, rel=1e-6)
    assert ours.bound <= reference.objective * (1 + 1e-9) + 1e-9
