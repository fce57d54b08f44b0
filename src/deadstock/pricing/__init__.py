"""Price response: elasticities from sales and price history, markdown valuation (SPEC §3.5)."""
