"""Charts of the decision step saved with the run: the decision map and the tornado (SPEC §3.5).

- Decision map (Zijlmans 2025): expected days in stock [days] against the benefit of a clearing
  action versus the regular sale [share of the discounted sale value], one dot per SKU coloured
  by its chosen action; the threshold rules of :mod:`deadstock.decide.rules` are lines on it.
- Tornado: the total-cost swing of each setting between its −100 % and +100 % points of
  :func:`deadstock.decide.sensitivity.sensitivity`, largest swing on top.

Figures are drawn with Matplotlib's object API on the Agg canvas (no display, no pyplot state)
and saved as PNG, optionally SVG as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from deadstock.decide.costs import ACTIONS
from deadstock.decide.problem import IntArray, Problem
from deadstock.decide.rules import ThresholdRule, clearing_benefit
from deadstock.decide.sensitivity import swings
from deadstock.errors import InputError

#: One colour per action (colour-blind safe Okabe–Ito palette; keep in grey).
ACTION_COLOURS: dict[str, str] = {
    "keep": "#999999",
    "return": "#0072B2",
    "liquidate": "#E69F00",
    "recycle": "#009E73",
    "donate": "#CC79A7",
    "dispose": "#D55E00",
    "markdown": "#56B4E9",
    "markdown_ladder": "#000000",
    "fix_listing": "#F0E442",
    "bundle": "#882255",
    "transfer": "#44AA99",
}
#: Most dots drawn on a decision map; larger plans are sampled (seeded) down to this.
MAX_POINTS = 50_000


@dataclass
class Chart:
    """A saved chart: the figure, the files written and the data drawn.

    ``counts``: dots drawn per label (decision map) or bars (tornado); ``data``: the table
    behind the chart.
    """

    figure: Figure
    paths: list[Path]
    data: pl.DataFrame
    counts: dict[str, int] = field(default_factory=dict)


def decision_map_frame(problem: Problem, choice: IntArray, benefit: str = "return") -> pl.DataFrame:
    """Per SKU: sku, action, units, expected_days_in_stock [days] and ``<benefit>_benefit`` [-].

    ``benefit`` is a clearing action (its :func:`clearing_benefit`, null where the SKU may not
    take it) or ``"best"`` (the largest benefit among the clearing actions the SKU may take).
    """
    if benefit == "best":
        stacked = np.column_stack(
            [
                np.where(problem.allowed[:, j], clearing_benefit(problem, a), -np.inf)
                for j, a in enumerate(ACTIONS)
                if a != "keep"
            ]
        )
        values = stacked.max(axis=1)
        values = np.where(np.isfinite(values), values, np.nan)
    elif benefit in ACTIONS and benefit != "keep":
        j = ACTIONS.index(benefit)
        values = np.where(problem.allowed[:, j], clearing_benefit(problem, benefit), np.nan)
    else:
        raise InputError(
            f"Unknown benefit {benefit!r} for the decision map.",
            fix=f"use 'best' or a clearing action: {', '.join(ACTIONS[1:])}.",
        )
    frame = pl.DataFrame(
        {
            "sku": problem.skus,
            "action": np.asarray(ACTIONS)[np.asarray(choice, dtype=np.int64)],
            "units": problem.units,
            "expected_days_in_stock": problem.params["expected_days_in_stock"],
            f"{benefit}_benefit": values,
        }
    )
    return frame.with_columns(pl.col(f"{benefit}_benefit").fill_nan(None))


def _save(figure: Figure, path: str | Path, svg: bool) -> list[Path]:
    FigureCanvasAgg(figure)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    png = target.with_suffix(".png")
    figure.savefig(png, dpi=120, format="png")
    paths = [png]
    if svg:
        figure.savefig(target.with_suffix(".svg"), format="svg")
        paths.append(target.with_suffix(".svg"))
    return paths


def _decision_data(source: Any, benefit: str) -> pl.DataFrame:
    """The decision-map table of a DecisionResult, a (problem, solution or choice) pair, or a
    table that already has action, expected_days_in_stock and ``<benefit>_benefit``."""
    if isinstance(source, pl.DataFrame):
        needed = ["action", "expected_days_in_stock", f"{benefit}_benefit"]
        missing = [c for c in needed if c not in source.columns]
        if missing:
            raise InputError(
                f"The decision map needs column(s) {', '.join(missing)}.",
                column=missing[0],
                fix="pass (problem, solution) or a table from decision_map_frame().",
            )
        return source
    if isinstance(source, tuple) and len(source) == 2:
        problem, plan = source
    elif hasattr(source, "problem") and hasattr(source, "solution"):
        problem, plan = source.problem, source.solution
    else:
        raise InputError(
            f"Cannot draw a decision map of a {type(source).__name__}.",
            fix="pass a DecisionResult, (problem, solution) or decision_map_frame(...).",
        )
    choice = plan.choice if hasattr(plan, "choice") else np.asarray(plan, dtype=np.int64)
    return decision_map_frame(problem, choice, benefit)


def decision_map(
    source: Any,
    path: str | Path,
    benefit: str = "return",
    rules: Sequence[ThresholdRule] = (),
    max_points: int = MAX_POINTS,
    seed: int = 0,
    svg: bool = False,
    currency: str = "",
) -> Chart:
    """Scatter of expected days in stock vs the clearing benefit, coloured by chosen action.

    source: a :class:`~deadstock.decide.engine.DecisionResult`, a (problem, solution or choice)
    pair, or a :func:`decision_map_frame` table. SKUs without the benefit (not eligible for the
    action) are left out and counted in the title; above ``max_points`` a seeded sample is
    drawn. ``rules`` for the same action are drawn as threshold lines. Returns the
    :class:`Chart` with the dots drawn per action in ``counts``.
    """
    data = _decision_data(source, benefit)
    column = f"{benefit}_benefit"
    shown = data.filter(
        pl.col(column).is_not_null() & pl.col("expected_days_in_stock").is_not_nan()
    )
    total, eligible = data.height, shown.height
    if eligible > max_points:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(eligible, size=max_points, replace=False))
        shown = shown[rows]
    figure = Figure(figsize=(8.0, 5.5))
    ax = figure.add_subplot()
    counts: dict[str, int] = {}
    for action in ACTIONS:
        part = shown.filter(pl.col("action") == action)
        if part.height == 0:
            continue
        counts[action] = part.height
        ax.scatter(
            part["expected_days_in_stock"].to_numpy(),
            part[column].to_numpy(),
            s=8,
            alpha=0.6,
            color=ACTION_COLOURS[action],
            label=f"{action} ({part.height:,})",
            edgecolors="none",
        )
    for rule in rules:
        if rule.action != benefit:
            continue
        if np.isfinite(rule.days_threshold):
            ax.axvline(rule.days_threshold, color="black", linestyle="--", linewidth=1)
        if np.isfinite(rule.benefit_threshold):
            ax.axhline(rule.benefit_threshold, color="black", linestyle=":", linewidth=1)
    label = "best clearing" if benefit == "best" else benefit
    ax.set_xlabel("expected days in stock [days]")
    ax.set_ylabel(f"{label} benefit vs regular sale [share of discounted sale value]")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    title = f"Decision map: {label} benefit vs expected days in stock"
    note = f"{eligible:,} of {total:,} SKUs with a {label} option"
    if eligible > shown.height:
        note += f", sample of {shown.height:,} shown"
    ax.set_title(f"{title}\n({note}{'; ' + currency if currency else ''})", fontsize=10)
    if counts:
        ax.legend(title="chosen action", loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    figure.tight_layout()
    return Chart(figure, _save(figure, path, svg), shown, counts)


def _compact(value: float) -> str:
    """Axis label of an amount: 1.2M, 350k, 12."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:,.4g}{suffix}"
    return f"{value:,.4g}"


def tornado(
    sensitivity_frame: pl.DataFrame,
    path: str | Path,
    metric: str = "total_cost",
    svg: bool = False,
    currency: str = "",
) -> Chart:
    """Tornado chart of ``metric`` per setting between its lowest and highest change.

    Bars start at the base value and reach the value at −100 % (blue) and +100 % (orange),
    settings sorted by swing |high − low|, largest on top. The data are
    :func:`deadstock.decide.sensitivity.swings` of the frame.
    """
    data = swings(sensitivity_frame, metric)
    if data.height == 0:
        raise InputError(
            "The sensitivity table has no rows to draw.", fix="run sensitivity() first."
        )
    figure = Figure(figsize=(8.0, 1.0 + 0.45 * data.height))
    ax = figure.add_subplot()
    labels = data["setting"].to_list()[::-1]
    base = data["base"].to_numpy()[::-1]
    low = data["low"].to_numpy()[::-1]
    high = data["high"].to_numpy()[::-1]
    y = np.arange(data.height)
    ax.barh(y, low - base, left=base, color="#0072B2", label="lowest change (−100 %; α off)")
    ax.barh(y, high - base, left=base, color="#E69F00", label="highest change (+100 %; α on)")
    ax.axvline(float(np.nanmedian(base)), color="black", linewidth=1)
    ax.set_yticks(y, labels)
    unit = f" [{currency}]" if currency else " [currency]"
    ax.set_xlabel(metric.replace("_", " ") + unit)
    ax.xaxis.set_major_formatter(lambda v, _pos: _compact(v))
    ax.set_title(f"Sensitivity of {metric.replace('_', ' ')} to each setting (−100 % … +100 %)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return Chart(figure, _save(figure, path, svg), data, {"bars": data.height})
