"""Rich rendering of a run summary and a validation report (no business logic here)."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} {currency}"


def render_counts(console: Console, counts: pl.DataFrame, rejects: pl.DataFrame) -> None:
    """Rows read / accepted / rejected per file, then the commonest reject reasons."""
    table = Table(title="Input rows", show_lines=False)
    for col in ("table", "file", "read", "accepted", "rejected"):
        table.add_column(
            col, justify="right" if col in {"read", "accepted", "rejected"} else "left"
        )
    for row in counts.sort("table").iter_rows(named=True):
        table.add_row(
            row["table"],
            str(row["source_file"]),
            f"{row['read']:,}",
            f"{row['accepted']:,}",
            f"[red]{row['rejected']:,}[/red]" if row["rejected"] else "0",
        )
    console.print(table)
    if rejects.height:
        reasons = rejects.group_by("table", "reason").len().sort("len", descending=True).head(12)
        rt = Table(title=f"Rejected rows ({rejects.height:,}) — commonest reasons")
        rt.add_column("table")
        rt.add_column("reason")
        rt.add_column("rows", justify="right")
        for row in reasons.iter_rows(named=True):
            rt.add_row(row["table"], row["reason"], f"{row['len']:,}")
        console.print(rt)


def render_warnings(console: Console, warnings: list[str]) -> None:
    for line in warnings:
        console.print(f"[yellow]warning:[/yellow] {line}")


def render_summary(console: Console, summary: dict[str, Any]) -> None:
    """The end-of-run summary: stock, value by age band, top problem SKUs."""
    cur = summary["currency"]
    stock = summary["stock"]
    counts = summary["counts"]
    console.print(
        f"\n[bold]deadstock[/bold] as of [bold]{summary['as_of']}[/bold]: "
        f"{counts['sku_locations']:,} SKU-locations ({counts['skus']:,} SKUs × "
        f"{counts['locations']:,} locations), {stock['units_on_hand']:,.0f} units on hand worth "
        f"[bold]{_money(stock['stock_value'], cur)}[/bold] at cost."
    )
    age = Table(title="Capital by age of stock (FIFO)")
    age.add_column("age [days]")
    age.add_column("units", justify="right")
    age.add_column(f"value [{cur}]", justify="right")
    age.add_column("share", justify="right")
    total = stock["stock_value"] or 0.0
    for band, value in stock["value_by_age_days"].items():
        units = stock["units_by_age_days"][band]
        share = f"{value / total:.1%}" if total else "—"
        age.add_row(
            band.replace("_", "–").replace("–plus", "+"), f"{units:,.0f}", f"{value:,.0f}", share
        )
    console.print(age)
    console.print(
        f"No sale in 90 days: {stock['no_sale_90d_sku_locations']:,} SKU-locations holding "
        f"[bold]{_money(stock['no_sale_90d_value'], cur)}[/bold]."
    )
    if summary["top_problems"]:
        top = Table(
            title="Top problem SKUs: no sale in 90 days or > 182 days of supply, most capital first"
        )
        for col in (
            "sku",
            "location",
            "on hand",
            f"value [{cur}]",
            "days since sale",
            "days of supply",
            "avg age",
            "problem",
        ):
            top.add_column(col)
        for row in summary["top_problems"]:
            top.add_row(
                row["sku"],
                row["location"],
                f"{row['on_hand']:,.0f}",
                f"{row['stock_value']:,.0f}",
                "never"
                if row["days_since_last_sale"] is None
                else str(row["days_since_last_sale"]),
                "—" if row["days_of_supply"] is None else f"{row['days_of_supply']:,.0f}",
                "—" if row["avg_age_days"] is None else f"{row['avg_age_days']:,.0f}",
                row["problem"],
            )
        console.print(top)
    rejects = summary["rejects"]
    if rejects:
        console.print(f"[yellow]{rejects:,} input rows rejected[/yellow] (see rejects.csv).")
