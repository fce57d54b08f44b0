"""Rich rendering of a run summary and a validation report (no business logic here)."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.console import Console
from rich.markup import escape
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
        console.print(f"[yellow]warning:[/yellow] {escape(line)}")


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
    if summary.get("detection"):
        render_detection(console, summary["detection"], cur)
    rejects = summary["rejects"]
    if rejects:
        console.print(f"[yellow]{rejects:,} input rows rejected[/yellow] (see rejects.csv).")


def render_detection(console: Console, detection: dict[str, Any], cur: str) -> None:
    """Velocity bands, dead stock and its frozen capital, alerts by level, top alerts."""
    bands = Table(title="Stock by velocity band (projected stock days at the forecast)")
    for col in ("band", "SKU-locations", "units", f"value [{cur}]", f"frozen [{cur}]"):
        bands.add_column(col, justify="left" if col == "band" else "right")
    for row in detection["velocity_bands"]:
        bands.add_row(
            str(row["velocity_band"]),
            f"{row['sku_locations']:,}",
            f"{row['units']:,.0f}",
            f"{row['stock_value']:,.0f}",
            f"{row['frozen_capital']:,.0f}",
        )
    console.print(bands)
    dead, erp = detection["dead"], detection["erp_dead"]
    console.print(
        f"Dead stock (4 criteria): {dead['sku_locations']:,} SKU-locations, frozen capital "
        f"[bold]{_money(dead['frozen_capital'], cur)}[/bold]; {dead['held_for_high_season']:,} "
        f"held for an upcoming high season. Plain ERP rule (no sale in 90 days): "
        f"{erp['sku_locations']:,}, of which {erp['off_season_now']:,} are off-season now. "
        f"Frozen capital (dead + excess): [bold]{_money(detection['frozen_capital'], cur)}"
        f"[/bold]. Recommend reorder: {detection['recommend_reorder']:,}."
    )
    levels = {1: "1 notify", 2: "2 act", 3: "3 urgent"}
    alert_counts = ", ".join(
        f"{levels[row['alert_level']]}: {row['sku_locations']:,}"
        for row in detection["alerts"]
        if row["alert_level"] in levels
    )
    console.print(f"Alerts — {alert_counts or 'none'}.")
    if detection["top_alerts"]:
        top = Table(title="Top alerts: highest level, most frozen capital first")
        for col in ("sku", "location", "level", "band", "segment", f"frozen [{cur}]", "why"):
            top.add_column(col)
        for row in detection["top_alerts"]:
            why = row["segment_reason"] or row["dead_reason"] or ""
            top.add_row(
                row["sku"],
                row["location"],
                str(row["alert_level"]),
                str(row["velocity_band"]),
                row["segment"] or "—",
                f"{row['frozen_capital']:,.0f}",
                why,
            )
        console.print(top)


def render_backtest(console: Console, table: pl.DataFrame, forecast: pl.DataFrame) -> None:
    """Per cut-off: how the flags and the forecast fared over the following days."""

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.0%}"

    flags = Table(title="Backtest: flagged stock and what it sold next")
    for col in (
        "cut-off",
        "in stock",
        "dead (4 crit.)",
        "sold < 10 %",
        "non-moving",
        "sold < 10 %",
        "ERP dead",
        "sold < 10 %",
        "ERP sold well",
        "…also 4-crit. dead",
        "MASE",
        "bias",
    ):
        flags.add_column(col, justify="right")
    for row in table.iter_rows(named=True):
        flags.add_row(
            str(row["cutoff"]),
            f"{row['in_stock']:,}",
            f"{row['dead_flagged']:,}",
            pct(row["dead_sold_lt10pct_share"]),
            f"{row['non_moving_flagged']:,}",
            pct(row["non_moving_sold_lt10pct_share"]),
            f"{row['erp_dead_flagged']:,}",
            pct(row["erp_dead_sold_lt10pct_share"]),
            f"{row['erp_false_positives']:,}",
            f"{row['erp_false_positives_also_dead_4crit']:,}",
            "—" if row["forecast_mase"] is None else f"{row['forecast_mase']:.2f}",
            pct(row["forecast_bias"]),
        )
    console.print(flags)
    accuracy = Table(title="Backtest: forecast accuracy by demand class")
    for col in ("cut-off", "class", "series", "MASE", "bias"):
        accuracy.add_column(col, justify="left" if col == "class" else "right")
    for row in forecast.iter_rows(named=True):
        accuracy.add_row(
            str(row["cutoff"]),
            row["demand_class"],
            f"{row['n_series']:,}",
            "—" if row["mase"] is None else f"{row['mase']:.2f}",
            pct(row["bias"]),
        )
    console.print(accuracy)
