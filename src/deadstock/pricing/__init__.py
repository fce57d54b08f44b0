"""Price response: elasticities from sales and price history, markdown valuation (SPEC §3.5)."""

from deadstock.pricing.elasticity import (
    ElasticitySettings,
    demand_panel,
    estimate_elasticities,
    holdout_comparison,
    holdout_summary,
)

__all__ = [
    "ElasticitySettings",
    "demand_panel",
    "estimate_elasticities",
    "holdout_comparison",
    "holdout_summary",
]
