"""The ``deadstock`` command line: parse, call the pipeline, render. No business logic here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from deadstock import __version__
from deadstock.config import SETTINGS, Config, load_config
from deadstock.errors import ConfigError, DeadstockError

if TYPE_CHECKING:
    from deadstock.pipeline import RunResult

app = typer.Typer(
    name="deadstock",
    help="Find dead, slow and excess stock and decide how to clear it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console(stderr: bool = False) -> Console:
    """A console that keeps tables readable when output goes to a file or pipe (no terminal)."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=max(probe.width, 140))


console = _console()
err_console = _console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help=r"TOML config file (\[settings], \[tables], \[columns])."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", "-s", help="Override a setting: --set age_buckets=30,60,90 (repeatable)."
    ),
]
TableOption = Annotated[
    list[str] | None,
    typer.Option(
        "--table", "-t", help="Explicit table path: --table sales=exports/orders.csv (repeatable)."
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Analysis date YYYY-MM-DD (default: latest date in the data)."),
]


def _fail(exc: DeadstockError) -> None:
    err_console.print(
        f"[bold red]error:[/bold red] {escape(exc.one_line())}", highlight=False, soft_wrap=True
    )
    raise typer.Exit(exc.exit_code)


def _config(config: Path | None, sets: list[str] | None, as_of: str | None) -> Config:
    assignments = list(sets or [])
    if as_of is not None:
        assignments.append(f"as_of={as_of}")
    return load_config(config, assignments)


def _explicit(tables: list[str] | None) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for item in tables or []:
        if "=" not in item:
            raise ConfigError(
                f"--table expects name=path. Got {item!r}.",
                fix="write e.g. --table sales=exports/orders.csv",
            )
        name, path = item.split("=", 1)
        out[name.strip()] = Path(path.strip())
    return out


def _run_with_progress(
    data: Path | None, cfg: Config, explicit: dict[str, Path], decision_analysis: bool = True
) -> RunResult:
    from deadstock.pipeline import STAGES, run_pipeline

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("starting", total=len(STAGES))

        def on_stage(name: str) -> None:
            progress.update(task, description=name, completed=STAGES.index(name))

        return run_pipeline(
            data, cfg, explicit, on_stage=on_stage, decision_analysis=decision_analysis
        )


def _print_decisions(result: RunResult) -> None:
    """One line on the run's decisions: the action mix and the value versus keeping all."""
    summary = result.decision_summary
    if not summary or not summary["sku_locations"]:
        return
    mix = ", ".join(
        f"{row['action']} {row['sku_locations']:,}"
        + (f" (+{row['value_vs_keep']:,.0f})" if row["value_vs_keep"] > 0.5 else "")
        for row in summary["actions"]
    )
    console.print(
        f"Decisions for {summary['sku_locations']:,} SKU-locations with excess on hand "
        f"(value vs keep per action): {mix}; "
        f"value vs keeping everything [bold]{summary['value_vs_keep']:,.0f} "
        f"{result.config.currency}[/bold] (see decisions.csv)."
    )
    if "analysis" in summary:
        _render_analysis(summary["analysis"], result.config.currency)


@app.command()
def run(
    data: Annotated[
        Path | None, typer.Argument(help="Folder of input files (file stem = table name).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "deadstock-out"
    ),
    as_of: AsOfOption = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    table: TableOption = None,
    analysis: Annotated[
        bool,
        typer.Option(
            "--analysis/--no-analysis",
            help="Also analyse the decisions: threshold rules, sensitivity, scenarios, benefit "
            "vs keep-all and the cascade, decision map and tornado charts.",
        ),
    ] = True,
) -> None:
    """Analyse a folder of data: write sku_metrics, classification, seasonality, forecast_accuracy,
    decision_params, decisions, layers, rejects (CSV, Parquet), summary.json and the decision
    analysis (CSV tables, PNG charts)."""
    from deadstock.cli.render import render_summary, render_warnings
    from deadstock.pipeline import write_outputs

    try:
        cfg = _config(config, set_, as_of)
        result = _run_with_progress(data, cfg, _explicit(table), decision_analysis=analysis)
        write_outputs(result, out)
    except DeadstockError as exc:
        _fail(exc)
    render_warnings(err_console, result.warnings)
    render_summary(console, result.summary())
    _print_decisions(result)
    console.print(
        f"\nOutputs in [bold]{out}[/bold]: "
        + ", ".join(result.output_tables())
        + " (.csv, .parquet), summary.json"
        + (
            "".join(f", {name}" for name in result.decision_analysis.files)
            if result.decision_analysis is not None
            else ""
        )
    )


@app.command()
def backtest(
    data: Annotated[Path | None, typer.Argument(help="Folder of input files.")] = None,
    cutoffs: Annotated[
        str,
        typer.Option(
            "--cutoffs", help="Comma-separated cut-off dates YYYY-MM-DD (data before each is used)."
        ),
    ] = "",
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", help="Days after each cut-off that are scored.")
    ] = 182,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for backtest.json.")] = Path(
        "deadstock-backtest"
    ),
    config: ConfigOption = None,
    set_: SetOption = None,
    table: TableOption = None,
) -> None:
    """Replay detection at past cut-offs and score it against what sold next."""
    import datetime as dt

    from deadstock.cli.render import render_backtest
    from deadstock.detect.backtest import backtest as run_backtest
    from deadstock.detect.backtest import write_backtest
    from deadstock.validate import load_inputs

    try:
        cfg = _config(config, set_, None)
        dates = []
        for text in (c.strip() for c in cutoffs.split(",") if c.strip()):
            try:
                dates.append(dt.date.fromisoformat(text))
            except ValueError:
                raise ConfigError(
                    f"--cutoffs: {text!r} is not a date.", fix="write dates as YYYY-MM-DD."
                ) from None
        if not dates:
            raise ConfigError(
                "--cutoffs names no date.", fix="e.g. --cutoffs 2025-03-01,2025-06-01"
            )
        if horizon_days < 1:
            raise ConfigError("--horizon-days must be at least 1.", fix="e.g. --horizon-days 182")
        validated = load_inputs(data, cfg, _explicit(table))
        late = [d for d in dates if d > validated.as_of]
        if late:
            raise ConfigError(
                f"--cutoffs: {late[0].isoformat()} is after the data ends "
                f"({validated.as_of.isoformat()}).",
                fix="choose cut-offs inside the sales history.",
            )
        result = run_backtest(validated, cfg, dates, horizon_days)
        path = write_backtest(result, out)
    except DeadstockError as exc:
        _fail(exc)
    render_backtest(console, result.table, result.forecast)
    console.print(f"\nWritten: [bold]{path}[/bold]")


@app.command()
def validate(
    data: Annotated[Path | None, typer.Argument(help="Folder of input files.")] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    table: TableOption = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Write the rejects table to this CSV file.")
    ] = None,
) -> None:
    """Read and validate the input only; print rows read / accepted / rejected and why."""
    from deadstock.cli.render import render_counts, render_warnings
    from deadstock.pipeline import _csv_safe
    from deadstock.validate import load_inputs

    try:
        cfg = _config(config, set_, None)
        validated = load_inputs(data, cfg, _explicit(table))
    except DeadstockError as exc:
        _fail(exc)
    render_warnings(err_console, validated.warnings)
    render_counts(console, validated.counts, validated.rejects)
    console.print(f"As-of date: {validated.as_of.isoformat()}")
    if rejects is not None:
        _csv_safe(validated.rejects).write_csv(rejects)
        console.print(f"Rejects written to {rejects}")


@app.command()
def rates(
    matrix: Annotated[
        Path,
        typer.Argument(
            help="Write-down matrix (CSV, Parquet, Excel): stock_days_band, midpoint_days, "
            "optional lower_days, then one column per age band with the write-down in %."
        ),
    ],
    age_weights: Annotated[
        Path | None,
        typer.Option("--age-weights", help="Age distribution: two columns (age band, weight)."),
    ] = None,
    stock_days_weights: Annotated[
        Path | None,
        typer.Option(
            "--stock-days-weights", help="Stock-days distribution: (stock-days band, weight)."
        ),
    ] = None,
    cell_weights: Annotated[
        Path | None,
        typer.Option("--cell-weights", help="Joint weights per cell, in the matrix layout."),
    ] = None,
    stock: Annotated[
        Path | None,
        typer.Option(
            "--stock", help="Weight the cells by a run's stock: its output folder or sku_metrics."
        ),
    ] = None,
    threshold_days: Annotated[
        float,
        typer.Option("--threshold-days", help="Excess rows: bands starting at ≥ this (days)."),
    ] = 84,
    fraction: Annotated[
        bool, typer.Option("--fraction", help="Write-downs are fractions (0.25 = 25 %), not %.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the rates as JSON.")
    ] = None,
) -> None:
    """Daily discount rates Re (excess) and Ro (overall) from an inventory reserve matrix."""
    from deadstock.decide.rates import rates_from_files

    try:
        result = rates_from_files(
            matrix,
            age_weights=age_weights,
            stock_days_weights=stock_days_weights,
            cell_weights=cell_weights,
            stock=stock,
            excess_threshold_days=threshold_days,
            unit="fraction" if fraction else "pct",
        )
    except DeadstockError as exc:
        _fail(exc)
    cells = result.cells
    ages = list(dict.fromkeys(cells["age_band"].to_list()))
    table = Table(title="Daily rate per cell [%/day] (share of the weight)")
    for col in ("stock-days band", "first day", "midpoint (days)", *ages, "excess"):
        table.add_column(col, justify="left" if col == "stock-days band" else "right")
    records = cells.rows(named=True)
    for start in range(0, len(records), len(ages)):
        row = records[start : start + len(ages)]
        table.add_row(
            row[0]["stock_days_band"],
            f"{row[0]['lower_days']:g}",
            f"{row[0]['midpoint_days']:g}",
            *(f"{c['rate_daily'] * 100:.4f} ({c['weight']:.1%})" for c in row),
            "yes" if row[0]["excess"] else "",
        )
    console.print(table)
    for note in result.notes:
        err_console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False, soft_wrap=True)
    console.print(f"Weighting: {result.weighting}", highlight=False)
    console.print(
        f"Re (excess, rows {', '.join(result.excess_bands)}): {result.excess_rate * 100:.4f} %/day"
        f" = {result.excess_rate:.6g}/day",
        highlight=False,
    )
    console.print(
        f"Ro (overall, all rows): {result.overall_rate * 100:.4f} %/day"
        f" = {result.overall_rate:.6g}/day",
        highlight=False,
    )
    console.print("For deadstock decide:", highlight=False)
    console.print(result.set_line(), highlight=False, soft_wrap=True, markup=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.to_json() + "\n", encoding="utf-8")
        console.print(f"Written: {out}", highlight=False)


@app.command()
def demo(
    skus: Annotated[int, typer.Option(help="Number of products to generate.")] = 2000,
    locations: Annotated[int, typer.Option(help="Number of locations.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 0,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for demo data and results.")
    ] = Path("deadstock-demo"),
    set_: SetOption = None,
) -> None:
    """Generate a realistic demo retailer, run the pipeline on it and print the summary."""
    from deadstock.cli.render import render_counts, render_summary, render_warnings
    from deadstock.datasets import write_demo_data
    from deadstock.pipeline import write_outputs

    data_dir, results_dir = out / "data", out / "results"
    try:
        cfg = _config(None, set_, None)
        with console.status(f"generating {skus:,} products × {locations} locations (seed {seed})"):
            write_demo_data(data_dir, n_skus=skus, n_locations=locations, seed=seed)
        result = _run_with_progress(data_dir, cfg, {})
        write_outputs(result, results_dir)
    except DeadstockError as exc:
        _fail(exc)
    console.print(
        f"Demo data written to [bold]{data_dir}[/bold] (CSV, with a few deliberately bad rows)."
    )
    render_warnings(err_console, result.warnings)
    render_counts(console, result.counts, result.rejects)
    render_summary(console, result.summary())
    _print_decisions(result)
    console.print(
        f"\nOutputs in [bold]{results_dir}[/bold]. Next: deadstock run {data_dir} --out my-run"
    )


def _render_decide(summary: dict[str, Any], currency: str) -> None:
    """The action mix, total cost, value versus keeping everything and the solver's proof."""
    table = Table(title=f"Decisions for {summary['skus']:,} SKUs ({summary['units']:,.0f} units)")
    for col in ("action", "SKUs", "units", f"cost [{currency}]", f"recovery [{currency}]"):
        table.add_column(col, justify="left" if col == "action" else "right")
    for action, row in summary["actions"].items():
        table.add_row(
            action,
            f"{row['skus']:,}",
            f"{row['units']:,.0f}",
            f"{row['cost']:,.2f}",
            f"{row['expected_recovery']:,.2f}",
        )
    console.print(table)
    solver = summary["solver"]
    console.print(
        f"Total cost [bold]{summary['total_cost']:,.2f} {currency}[/bold]; keeping everything "
        f"{summary['keep_everything_cost']:,.2f}; value vs keep-everything "
        f"[bold]{summary['value_vs_keep']:,.2f} {currency}[/bold]. Solver: {solver['method']} "
        f"({solver['status']}, gap {solver['gap']:.2e})."
    )


def _render_analysis(block: dict[str, Any], currency: str) -> None:
    """The decision analysis in a few lines: rules and their loss, the most sensitive settings,
    the benefit versus each practice, and what was sampled or skipped."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2%}"

    def money(value: float | None, digits: int = 0) -> str:
        return "n/a" if value is None else f"{value:,.{digits}f}"

    rules = block["rules"]
    lines = [
        f"Threshold rules (loss vs the optimum {money(rules['loss'], 2)} {currency} = "
        f"{pct(rules['loss_pct'])}; same action for {pct(rules['agreement'])} of SKUs"
        + ("" if rules["feasible"] else "; the rule plan breaks a constraint")
        + "):",
        *(f"  {rule}" for rule in rules["rules"]),
    ]
    top = block["sensitivity"]["top"]
    if top:
        lines.append("Most sensitive (total cost at −100 % … +100 %):")
        lines += [
            f"  {row['setting']}: {money(row['low'])} … {money(row['high'])} {currency} "
            f"(swing {money(row['swing'])} = {pct(row['swing_pct'])} of the base)"
            for row in top
        ]
    for label, row in block["practices"].items():
        lines.append(
            f"Benefit vs {label}: {money(row['benefit'], 2)} {currency} "
            f"({pct(row['benefit_pct'])} of its cost)"
            + ("" if row["practice_feasible"] else "; that practice breaks a constraint")
        )
    console.print("\nDecision analysis", style="bold", highlight=False)
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
    for note in block["notes"]:
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def decide(
    params: Annotated[
        Path,
        typer.Argument(
            help="Per-SKU parameter table (CSV, Parquet or Excel); columns: table "
            "decision_params in docs/nomenclature.md."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "deadstock-decisions"
    ),
    config: ConfigOption = None,
    set_: SetOption = None,
    preset: Annotated[
        str | None, typer.Option("--preset", help="Named settings bundle, e.g. thesis.")
    ] = None,
    suppliers: Annotated[
        Path | None,
        typer.Option(
            "--suppliers", help="Return caps: supplier_id, return_cap_units, return_cap_value."
        ),
    ] = None,
    keep_list: Annotated[
        Path | None, typer.Option("--keep-list", help="File with a sku column: SKUs to keep.")
    ] = None,
    format_: Annotated[
        str, typer.Option("--format", help="Decisions file format: csv, parquet or both.")
    ] = "both",
    analysis: Annotated[
        bool,
        typer.Option(
            "--analysis/--no-analysis",
            help="Also write the decision analysis: threshold rules, sensitivity, scenarios, "
            "benefit vs practice, decision map and tornado charts.",
        ),
    ] = True,
    practice: Annotated[
        str,
        typer.Option(
            "--practice",
            help="Current practice to compare with: keep_all, cascade, or shares of the SKUs "
            "per action such as keep=0.7,liquidate=0.3.",
        ),
    ] = "keep_all",
    sensitivity_steps: Annotated[
        int,
        typer.Option(
            "--sensitivity-steps",
            help="Sensitivity steps on each side of a setting's value (4: −100, −75, …, +100 %).",
        ),
    ] = 4,
) -> None:
    """Decide keep / return / liquidate / recycle / donate / dispose per SKU from a parameter
    table (SPEC §3.5): write decisions (.csv, .parquet), summary.json and the decision analysis
    (rules, sensitivity, scenarios, benefit vs practice: CSV; decision map, tornado: PNG)."""
    from deadstock.decide import analysis as decision_analysis
    from deadstock.decide.engine import constraints_from_config, decide_table, write_decisions
    from deadstock.decide.params import load_decision_inputs
    from deadstock.decide.problem import InfeasibleError

    formats = {"csv": ("csv",), "parquet": ("parquet",), "both": ("csv", "parquet")}
    try:
        if format_ not in formats:
            raise ConfigError(
                f"--format must be csv, parquet or both. Got {format_!r}.",
                fix="e.g. --format csv",
            )
        current = decision_analysis.parse_practice(practice)
        steps = decision_analysis.sensitivity_steps(sensitivity_steps)
        cfg = load_config(config, set_ or [], preset=preset)
        inputs = load_decision_inputs(params, cfg, suppliers, keep_list)
        constraints = constraints_from_config(cfg, inputs.supplier_caps, inputs.keep_skus)
        result = decide_table(inputs.params, cfg, constraints, notes=inputs.notes)
        found = None
        if analysis:
            found = decision_analysis.analyse_decisions(
                result.problem, result.solution, inputs.params, cfg, practice=current, steps=steps
            )
            result.summary["analysis"] = found.summary
        write_decisions(
            result,
            out,
            formats[format_],
            extra=(lambda staging: decision_analysis.write_analysis(found, staging))
            if found is not None
            else None,
            replaces=decision_analysis.ANALYSIS_FILES,
        )
    except InfeasibleError as exc:
        err_console.print(
            f"[bold red]infeasible:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None
    except DeadstockError as exc:
        _fail(exc)
    for note in inputs.notes:
        err_console.print(
            f"[yellow]warning:[/yellow] {escape(note.message)}", highlight=False, soft_wrap=True
        )
    _render_decide(result.summary, cfg.currency)
    if found is not None:
        _render_analysis(found.summary, cfg.currency)
    console.print(
        f"\nOutputs in [bold]{out}[/bold]: decisions ({', '.join(formats[format_])}), summary.json"
        + ("".join(f", {name}" for name in found.files) if found is not None else "")
    )


@app.command()
def settings() -> None:
    """List every setting with its default, unit and meaning."""
    table = Table(title=r"Settings (config \[settings] or --set name=value)")
    for col in ("name", "default", "unit", "meaning"):
        table.add_column(col, overflow="fold")
    for s in SETTINGS.values():
        default = ",".join(map(str, s.default)) if isinstance(s.default, tuple) else str(s.default)
        table.add_row(s.name, default, s.unit, s.help)
    console.print(table)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
