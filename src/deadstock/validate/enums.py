"""Enumerated columns: allowed values and the synonyms mapped onto them (SPEC §2).

Values are compared case-insensitively after stripping; for voucher types, runs of spaces,
underscores and hyphens count as one space, so "Purchase_Receipt" and "purchase receipt" match.
"""

from __future__ import annotations

import polars as pl

VOUCHER_TYPES = ("receipt", "issue", "sale", "transfer", "reconciliation")
STATUSES = ("active", "discontinued")
RETURN_POLICIES = ("none", "return", "destroy")

VOUCHER_TYPE_SYNONYMS: dict[str, str] = {
    # receipts: stock in from a supplier (ERPNext, SAP, generic ERP names)
    **dict.fromkeys(
        (
            "receipt",
            "purchase receipt",
            "purchase",
            "purchase invoice",
            "grn",
            "goods receipt",
            "goods received",
            "goods received note",
            "material receipt",
            "receiving",
            "inbound",
            "opening",
            "opening stock",
            "opening balance",
        ),
        "receipt",
    ),
    # sales: stock out to a customer
    **dict.fromkeys(
        (
            "sale",
            "sales",
            "sales invoice",
            "delivery note",
            "pos invoice",
            "pos",
            "shipment",
            "delivery",
            "outbound",
        ),
        "sale",
    ),
    # issues: stock out for any other reason
    **dict.fromkeys(
        (
            "issue",
            "material issue",
            "scrap",
            "consumption",
            "material consumption",
            "write off",
            "writeoff",
            "damage",
            "damaged",
            "loss",
            "shrinkage",
            "disposal",
        ),
        "issue",
    ),
    # transfers between locations (the two sides share a voucher_id)
    **dict.fromkeys(
        (
            "transfer",
            "material transfer",
            "stock transfer",
            "transfer in",
            "transfer out",
            "stock movement",
        ),
        "transfer",
    ),
    # stock counts: the balance becomes qty_after
    **dict.fromkeys(
        (
            "reconciliation",
            "stock reconciliation",
            "count",
            "stock count",
            "stocktake",
            "stock take",
            "physical count",
            "inventory count",
            "cycle count",
        ),
        "reconciliation",
    ),
}
"""Normalised name → canonical voucher type."""


def _key(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().str.to_lowercase().str.replace_all(r"[\s_\-]+", " ")


def normalise_voucher_type(voucher_type: pl.Expr, qty_change: pl.Expr) -> pl.Expr:
    """Canonical voucher type: synonyms mapped; blank → receipt if qty_change > 0 else issue.

    Null where the name is unknown.
    """
    key = _key(voucher_type)
    mapped = key.replace_strict(VOUCHER_TYPE_SYNONYMS, default=None, return_dtype=pl.String)
    blank = voucher_type.is_null() | (key == "")
    by_sign = pl.when(qty_change > 0).then(pl.lit("receipt")).otherwise(pl.lit("issue"))
    return pl.when(blank).then(by_sign).otherwise(mapped)


def normalise_choice(value: pl.Expr, allowed: tuple[str, ...]) -> pl.Expr:
    """Lower-cased value when it is one of ``allowed``; null otherwise (and for blanks)."""
    key = value.str.strip_chars().str.to_lowercase()
    return pl.when(key.is_in(allowed)).then(key).otherwise(pl.lit(None, dtype=pl.String))
