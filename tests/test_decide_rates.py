"""Discount rates from a reserve matrix (SPEC §3.5): hand cases, a plain-Python oracle, bad input
and the ``deadstock rates`` command."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from deadstock.cli.main import app
from deadstock.config import parse_assignments
from deadstock.decide.rates import (
    band_lower_days,
    cell_rates,
    rates_from_files,
    rates_from_stock,
    read_band_table,
    reserve_matrix_rates,
    stock_cell_weights,
)
from deadstock.errors import ConfigError, InputError

DATA = Path(__file__).parent / "data" / "rates"
runner = CliRunner()


# ---------------------------------------------------------------------------------------------
# Plain-Python oracle
# ---------------------------------------------------------------------------------------------


def oracle(
    midpoints: list[float],
    writedown_pct: list[list[float]],
    weights: list[list[float]],
    excess: list[bool],
) -> tuple[float, float]:
    """(Re, Ro): weighted mean of write-down ÷ 100 ÷ midpoint, loop by loop."""

    def mean(rows: list[int]) -> float:
        num = den = 0.0
        for i in rows:
            for j in range(len(writedown_pct[i])):
                num += weights[i][j] * (writedown_pct[i][j] / 100.0) / midpoints[i]
                den += weights[i][j]
        return num / den

    all_rows = list(range(len(midpoints)))
    return mean([i for i in all_rows if excess[i]]), mean(all_rows)


def read_csv_plain(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def example() -> tuple[list[str], list[str], list[float], list[list[float]]]:
    """Bands, ages, midpoints and write-downs of tests/data/rates/matrix.csv, read plainly."""
    rows = read_csv_plain(DATA / "matrix.csv")
    ages = [k for k in rows[0] if k not in ("stock_days_band", "midpoint_days")]
    bands = [r["stock_days_band"] for r in rows]
    mids = [float(r["midpoint_days"]) for r in rows]
    wd = [[float(r[a]) for a in ages] for r in rows]
    return bands, ages, mids, wd


def frame(
    bands: list[str], ages: list[str], mids: list[float], wd: list[list[float]]
) -> pl.DataFrame:
    data: dict[str, list[object]] = {"stock_days_band": list(bands), "midpoint_days": list(mids)}
    for j, age in enumerate(ages):
        data[age] = [row[j] for row in wd]
    return pl.DataFrame(data)


SMALL = frame(["0-84", ">84"], ["young", "old"], [42.0, 365.0], [[0.0, 10.0], [20.0, 50.0]])


# ---------------------------------------------------------------------------------------------
# Hand-computed cases
# ---------------------------------------------------------------------------------------------


def test_cell_rate_is_writedown_over_midpoint() -> None:
    # 25 % written down over a 365-day midpoint: 0.25 / 365 = 0.000684931…/day
    out = cell_rates(np.array([[25.0 / 100]]), np.array([365.0]))
    assert out[0, 0] == pytest.approx(0.25 / 365)
    assert out[0, 0] == pytest.approx(0.000685, abs=5e-7)


def test_small_matrix_by_hand() -> None:
    # age weights 3:1 (young:old), stock-days weights 1:1.
    result = reserve_matrix_rates(SMALL, age_weights={"young": 3, "old": 1})
    re_hand = (3 * 0.20 / 365 + 1 * 0.50 / 365) / 4
    ro_hand = (3 * 0.0 / 42 + 1 * 0.10 / 42 + 3 * 0.20 / 365 + 1 * 0.50 / 365) / 8
    assert result.excess_rate == pytest.approx(re_hand, rel=1e-12)
    assert result.overall_rate == pytest.approx(ro_hand, rel=1e-12)
    assert result.excess_bands == (">84",)
    assert "stock-days bands weighted equally" in result.weighting


def test_single_excess_row_uses_age_weights_only() -> None:
    # Re depends on the > 84 row and the age weights only, whatever the stock-days weights.
    a = reserve_matrix_rates(SMALL, age_weights=[1, 1], stock_days_weights=[1, 1])
    b = reserve_matrix_rates(SMALL, age_weights=[1, 1], stock_days_weights=[9, 0.5])
    assert a.excess_rate == pytest.approx((0.20 + 0.50) / 2 / 365)
    assert b.excess_rate == pytest.approx(a.excess_rate)
    assert b.overall_rate != pytest.approx(a.overall_rate)
    ro_b = (9 * (0.0 + 0.10) / 42 + 0.5 * (0.20 + 0.50) / 365) / (2 * 9.5)
    assert b.overall_rate == pytest.approx(ro_b)


def test_no_weights_means_equal_weights() -> None:
    result = reserve_matrix_rates(SMALL)
    assert result.excess_rate == pytest.approx((0.2 + 0.5) / 2 / 365)
    assert result.overall_rate == pytest.approx((0.1 / 42 + 0.7 / 365) / 4)
    assert result.weighting.startswith("equal weights")
    assert result.cells["weight"].to_list() == pytest.approx([0.25] * 4)


@pytest.mark.parametrize("weights", ["marginals", "cells", "equal"])
def test_example_files_match_the_oracle(weights: str) -> None:
    bands, ages, mids, wd = example()
    excess = [b == ">84" for b in bands]
    if weights == "marginals":
        a = {r["age_band"]: float(r["weight"]) for r in read_csv_plain(DATA / "age_weights.csv")}
        s = {
            r["stock_days_band"]: float(r["weight"])
            for r in read_csv_plain(DATA / "stock_days_weights.csv")
        }
        joint = [[s[b] * a[g] for g in ages] for b in bands]
        result = rates_from_files(
            DATA / "matrix.csv",
            age_weights=DATA / "age_weights.csv",
            stock_days_weights=DATA / "stock_days_weights.csv",
        )
    elif weights == "cells":
        rows = {r["stock_days_band"]: r for r in read_csv_plain(DATA / "cell_weights.csv")}
        joint = [[float(rows[b][g]) for g in ages] for b in bands]
        result = rates_from_files(DATA / "matrix.csv", cell_weights=DATA / "cell_weights.csv")
    else:
        joint = [[1.0] * len(ages) for _ in bands]
        result = rates_from_files(DATA / "matrix.csv")
    re_o, ro_o = oracle(mids, wd, joint, excess)
    assert result.excess_rate == pytest.approx(re_o, rel=1e-12)
    assert result.overall_rate == pytest.approx(ro_o, rel=1e-12)


def test_marginals_equal_their_product_as_cell_weights() -> None:
    bands, ages, mids, wd = example()
    matrix = frame(bands, ages, mids, wd)
    age = [5.0, 2.5, 1.5, 1.0]
    days = [0.4, 0.25, 0.15, 0.2]
    by_marginals = reserve_matrix_rates(matrix, age_weights=age, stock_days_weights=days)
    joint = np.outer(days, age)
    by_array = reserve_matrix_rates(matrix, cell_weights=joint)
    cell_frame = pl.DataFrame(
        {"stock_days_band": bands[::-1], **{g: joint[::-1, j] * 7 for j, g in enumerate(ages)}}
    )
    by_frame = reserve_matrix_rates(matrix, cell_weights=cell_frame)  # rows reordered, scaled
    for other in (by_array, by_frame):
        assert other.excess_rate == pytest.approx(by_marginals.excess_rate, rel=1e-12)
        assert other.overall_rate == pytest.approx(by_marginals.overall_rate, rel=1e-12)
    assert "independent" in by_marginals.weighting
    assert "joint" in by_array.weighting


def test_weights_forms_agree_and_order_does_not_matter() -> None:
    as_mapping = reserve_matrix_rates(SMALL, age_weights={"old": 1.0, "young": 3.0})
    as_sequence = reserve_matrix_rates(SMALL, age_weights=[3.0, 1.0])
    as_frame = reserve_matrix_rates(
        SMALL, age_weights=pl.DataFrame({"age_band": ["old", "young"], "share": [0.25, 0.75]})
    )
    for other in (as_sequence, as_frame):
        assert other.excess_rate == pytest.approx(as_mapping.excess_rate)
        assert other.overall_rate == pytest.approx(as_mapping.overall_rate)


def test_cells_table() -> None:
    result = reserve_matrix_rates(SMALL, age_weights=[3, 1], stock_days_weights=[1, 3])
    cells = result.cells
    assert cells.columns == [
        "stock_days_band",
        "age_band",
        "lower_days",
        "midpoint_days",
        "writedown_pct",
        "rate_daily",
        "weight",
        "excess",
        "excess_weight",
    ]
    assert cells["stock_days_band"].to_list() == ["0-84", "0-84", ">84", ">84"]
    assert cells["age_band"].to_list() == ["young", "old", "young", "old"]
    assert cells["lower_days"].to_list() == [0.0, 0.0, 85.0, 85.0]
    assert cells["writedown_pct"].to_list() == [0.0, 10.0, 20.0, 50.0]
    assert cells["rate_daily"].to_list() == pytest.approx([0.0, 0.1 / 42, 0.2 / 365, 0.5 / 365])
    assert cells["weight"].to_list() == pytest.approx([3 / 16, 1 / 16, 9 / 16, 3 / 16])
    assert cells["excess"].to_list() == [False, False, True, True]
    assert cells["excess_weight"].to_list() == pytest.approx([0, 0, 0.75, 0.25])
    # the rates are the weighted means of the table's own columns
    assert result.overall_rate == pytest.approx((cells["weight"] * cells["rate_daily"]).sum())
    assert result.excess_rate == pytest.approx((cells["excess_weight"] * cells["rate_daily"]).sum())


# ---------------------------------------------------------------------------------------------
# Oracle property
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda n_rows: st.tuples(
            st.lists(st.floats(0.5, 2000), min_size=n_rows, max_size=n_rows),
            st.integers(1, 4).flatmap(
                lambda n_ages: st.tuples(
                    st.lists(
                        st.lists(st.floats(0, 100), min_size=n_ages, max_size=n_ages),
                        min_size=n_rows,
                        max_size=n_rows,
                    ),
                    st.lists(
                        st.lists(st.floats(0.01, 50), min_size=n_ages, max_size=n_ages),
                        min_size=n_rows,
                        max_size=n_rows,
                    ),
                )
            ),
            st.integers(0, n_rows - 1),
        )
    )
)
def test_random_matrices_match_the_oracle(
    case: tuple[list[float], tuple[list[list[float]], list[list[float]]], int],
) -> None:
    mids, (wd, weights), first_excess = case
    n_rows, n_ages = len(mids), len(wd[0])
    lower = [10.0 * i for i in range(n_rows)]
    matrix = frame([f"b{i}" for i in range(n_rows)], [f"a{j}" for j in range(n_ages)], mids, wd)
    matrix = matrix.with_columns(lower_days=pl.Series(lower))
    threshold = lower[first_excess]
    result = reserve_matrix_rates(
        matrix, cell_weights=np.array(weights), excess_threshold_days=threshold
    )
    re_o, ro_o = oracle(mids, wd, weights, [lo >= threshold for lo in lower])
    assert result.excess_rate == pytest.approx(re_o, rel=1e-9, abs=1e-15)
    assert result.overall_rate == pytest.approx(ro_o, rel=1e-9, abs=1e-15)
    as_fraction = matrix.with_columns(pl.col(f"a{j}") / 100 for j in range(n_ages))
    again = reserve_matrix_rates(
        as_fraction,
        cell_weights=np.array(weights),
        excess_threshold_days=threshold,
        unit="fraction",
    )
    assert again.overall_rate == pytest.approx(ro_o, rel=1e-9, abs=1e-15)


# ---------------------------------------------------------------------------------------------
# Labels, threshold, unit
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "first_day"),
    [
        ("0-28", 0.0),
        ("29-84", 29.0),
        ("29 – 84", 29.0),
        ("29 to 84", 29.0),
        (">84", 85.0),
        ("> 84 days", 85.0),
        (">84.5", 85.0),
        ("85+", 85.0),
        ("85+ days", 85.0),
        (">=85", 85.0),
        ("≥85", 85.0),
        ("<29", 0.0),
        ("≤28", 0.0),
        ("365", 365.0),
        ("old", None),
        ("84-29", None),
        (">84-120", None),
        ("", None),
    ],
)
def test_band_lower_days(label: str, first_day: float | None) -> None:
    assert band_lower_days(label) == first_day


def test_threshold_selects_rows_by_first_day() -> None:
    matrix = frame(
        ["0-28", "57-84", "84-120", ">120"],
        ["all"],
        [14.0, 70.5, 102.0, 300.0],
        [[1.0], [2.0], [3.0], [4.0]],
    )
    at_84 = reserve_matrix_rates(matrix, excess_threshold_days=84)
    assert at_84.excess_bands == ("84-120", ">120")  # first days 84 and 121 are ≥ 84
    assert at_84.excess_rate == pytest.approx((0.03 / 102 + 0.04 / 300) / 2)
    at_121 = reserve_matrix_rates(matrix, excess_threshold_days=121)
    assert at_121.excess_bands == (">120",)
    assert at_121.excess_rate == pytest.approx(0.04 / 300)
    with pytest.raises(InputError, match="no stock-days band starts at or above"):
        reserve_matrix_rates(matrix, excess_threshold_days=122)


def test_lower_days_column_overrides_the_label() -> None:
    matrix = frame(["fast", "slow", "dead"], ["all"], [20.0, 60.0, 200.0], [[1.0], [2.0], [8.0]])
    with pytest.raises(InputError, match="cannot read the first day") as info:
        reserve_matrix_rates(matrix)
    assert info.value.row == 1 and info.value.column == "stock_days_band"
    with_lower = matrix.with_columns(lower_days=pl.Series([0, 29, 85]))
    result = reserve_matrix_rates(with_lower)
    assert result.excess_bands == ("dead",)
    assert result.excess_rate == pytest.approx(0.08 / 200)


def test_header_names_are_matched_loosely() -> None:
    matrix = SMALL.rename({"stock_days_band": " Stock Days Band", "midpoint_days": "MIDPOINT_DAYS"})
    assert reserve_matrix_rates(matrix).overall_rate == pytest.approx(
        reserve_matrix_rates(SMALL).overall_rate
    )


def test_fraction_unit_and_percent_signs() -> None:
    pct = reserve_matrix_rates(SMALL, age_weights=[2, 1])
    fraction = reserve_matrix_rates(
        SMALL.with_columns(pl.col("young", "old") / 100), age_weights=[2, 1], unit="fraction"
    )
    assert fraction.excess_rate == pytest.approx(pct.excess_rate)
    assert fraction.overall_rate == pytest.approx(pct.overall_rate)
    assert fraction.writedown_unit == "fraction"
    assert fraction.cells["writedown_pct"].to_list() == pytest.approx([0, 10, 20, 50])
    text = SMALL.with_columns(pl.col("young", "old").cast(pl.String) + " %")
    assert reserve_matrix_rates(text, age_weights=[2, 1]).overall_rate == pytest.approx(
        pct.overall_rate
    )


def test_small_percentages_get_a_note() -> None:
    looks_like_fractions = SMALL.with_columns(pl.col("young", "old") / 100)
    result = reserve_matrix_rates(looks_like_fractions)
    assert any("unit='fraction'" in n for n in result.notes)
    assert reserve_matrix_rates(SMALL).notes == ()


def test_set_line_round_trips_through_the_settings() -> None:
    result = reserve_matrix_rates(SMALL, age_weights=[3, 1])
    line = result.set_line()
    assignments = [part for part in line.split() if part != "--set"]
    parsed = parse_assignments(assignments)
    assert parsed["discount_rate_excess"] == pytest.approx(result.excess_rate, rel=1e-5)
    assert parsed["discount_rate_overall"] == pytest.approx(result.overall_rate, rel=1e-5)
    assert "e-" not in line
    payload = json.loads(result.to_json())
    assert payload["settings"] == {
        "discount_rate_excess": result.excess_rate,
        "discount_rate_overall": result.overall_rate,
    }
    assert payload["excess_rate"] == result.excess_rate
    assert len(payload["cells"]) == 4


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def _error(**kwargs: object) -> InputError:
    matrix = kwargs.pop("matrix", SMALL)
    assert isinstance(matrix, pl.DataFrame)
    with pytest.raises(InputError) as info:
        reserve_matrix_rates(matrix, **kwargs)  # type: ignore[arg-type]
    assert info.value.fix
    return info.value


def test_missing_columns() -> None:
    assert "'midpoint_days'" in _error(matrix=SMALL.drop("midpoint_days")).message
    assert "'stock_days_band'" in _error(matrix=SMALL.drop("stock_days_band")).message
    assert "no age-band column" in _error(matrix=SMALL.select(SMALL.columns[:2])).message
    assert "no rows" in _error(matrix=SMALL.head(0)).message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc", "must be a number"), (None, "blank"), ("-5", "[0, 100]"), ("120", "[0, 100]")],
)
def test_bad_writedown(value: str | None, expected: str) -> None:
    matrix = SMALL.with_columns(pl.col("young", "old").cast(pl.String)).with_columns(
        old=pl.Series(["10", value], dtype=pl.String)
    )
    error = _error(matrix=matrix)
    assert expected in error.message
    assert (error.row, error.column) == (2, "old")


def test_fraction_above_one_hints_at_percent() -> None:
    error = _error(unit="fraction")
    assert "[0, 1]" in error.message and "unit='pct'" in error.message
    assert error.column == "young" and error.row == 2


def test_percent_sign_is_not_a_fraction() -> None:
    matrix = SMALL.with_columns(pl.col("young", "old").cast(pl.String) + "%")
    assert "must be a number" in _error(matrix=matrix, unit="fraction").message


@pytest.mark.parametrize("midpoint", [0.0, -3.0])
def test_midpoint_must_be_positive(midpoint: float) -> None:
    error = _error(matrix=SMALL.with_columns(midpoint_days=pl.Series([midpoint, 365.0])))
    assert "> 0" in error.message and (error.row, error.column) == (1, "midpoint_days")


def test_non_numeric_midpoint() -> None:
    error = _error(matrix=SMALL.with_columns(midpoint_days=pl.Series(["42", "a year"])))
    assert "'a year'" in error.message and error.row == 2


def test_duplicate_and_blank_band_labels() -> None:
    twice = SMALL.with_columns(stock_days_band=pl.Series([">84", ">84"]))
    assert "appears twice" in _error(matrix=twice).message
    blank = SMALL.with_columns(stock_days_band=pl.Series(["0-84", " "]))
    assert "blank" in _error(matrix=blank).message


def test_no_row_above_threshold() -> None:
    error = _error(matrix=SMALL.head(1))
    assert "no stock-days band starts at or above" in error.message
    assert "'>84'" in (error.fix or "")


def test_weights_that_sum_to_zero() -> None:
    assert "sum to 0" in _error(age_weights=[0, 0]).message
    assert "sum to 0" in _error(cell_weights=np.zeros((2, 2))).message
    # weight on the fast row only: no weight left for Re
    assert "excess rows" in _error(stock_days_weights=[1, 0]).message


def test_negative_and_non_finite_weights() -> None:
    assert "negative" in _error(age_weights={"young": 1, "old": -1}).message
    assert "finite" in _error(age_weights=[1, math.nan]).message
    frame_weights = pl.DataFrame({"band": ["young", "old"], "weight": ["1", "x"]})
    error = _error(age_weights=frame_weights)
    assert (error.row, error.column) == (2, "weight")


def test_label_mismatch_lists_unknown_and_missing() -> None:
    error = _error(age_weights={"young": 1, "ancient": 1})
    assert "unknown 'ancient'" in error.message and "missing 'old'" in error.message
    error = _error(stock_days_weights=pl.DataFrame({"band": ["0-84", "85+"], "w": [1, 1]}))
    assert "unknown '85+'" in error.message and "missing '>84'" in error.message
    cells = pl.DataFrame({"stock_days_band": ["0-84", ">84"], "young": [1, 1], "older": [1, 1]})
    error = _error(cell_weights=cells)
    assert "unknown 'older'" in error.message and "missing 'old'" in error.message


def test_weight_shapes() -> None:
    assert "3 age weights for 2 bands" in _error(age_weights=[1, 1, 1]).message
    assert "shape" in _error(cell_weights=np.ones((3, 2))).message
    three = pl.DataFrame({"a": ["young", "old"], "b": [1, 1], "c": [1, 1]})
    assert "two columns" in _error(age_weights=three).message


def test_cell_and_marginal_weights_together() -> None:
    assert "both" in _error(cell_weights=np.ones((2, 2)), age_weights=[1, 1]).message


def test_bad_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="'unit'"):
        reserve_matrix_rates(SMALL, unit="percent")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="excess_threshold_days"):
        reserve_matrix_rates(SMALL, excess_threshold_days=-1)


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def test_file_errors_name_file_and_spreadsheet_row(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("stock_days_band,midpoint_days,a\n0-84,42,1\n>84,365,lots\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        rates_from_files(path)
    assert info.value.file == str(path)
    assert (info.value.row, info.value.column) == (3, "a")  # header = row 1
    weights = tmp_path / "w.csv"
    weights.write_text("age,weight\nb,1\n", encoding="utf-8")
    path.write_text("stock_days_band,midpoint_days,a\n0-84,42,1\n>84,365,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown 'b'; missing 'a'") as info:
        rates_from_files(path, age_weights=weights)
    assert info.value.file == str(weights)


def test_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "stock_days_band;midpoint_days;a;b\n0-84;42,5;1,5;2\n\n>84;182,5;12,5 %;40\n",
        encoding="utf-8",
    )
    table = read_band_table(path)
    assert table["_row"].to_list() == [2, 4]  # the blank line is dropped, numbering kept
    result = rates_from_files(path)
    ro = (0.015 / 42.5 + 0.02 / 42.5 + 0.125 / 182.5 + 0.40 / 182.5) / 4
    assert result.overall_rate == pytest.approx(ro)


def test_parquet_and_excel_read_like_csv(tmp_path: Path) -> None:
    csv_result = rates_from_files(DATA / "matrix.csv", age_weights=DATA / "age_weights.csv")
    matrix = pl.read_csv(DATA / "matrix.csv")
    weights = pl.read_csv(DATA / "age_weights.csv")
    matrix.write_parquet(tmp_path / "m.parquet")
    weights.write_parquet(tmp_path / "w.parquet")
    matrix.write_excel(tmp_path / "m.xlsx")
    weights.write_excel(tmp_path / "w.xlsx")
    for suffix in ("parquet", "xlsx"):
        result = rates_from_files(tmp_path / f"m.{suffix}", age_weights=tmp_path / f"w.{suffix}")
        assert result.excess_rate == pytest.approx(csv_result.excess_rate)
        assert result.overall_rate == pytest.approx(csv_result.overall_rate)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be opened"):
        read_band_table(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="is empty"):
        read_band_table(tmp_path / "empty.csv")


# ---------------------------------------------------------------------------------------------
# Weights from a run's stock
# ---------------------------------------------------------------------------------------------

STOCK_MATRIX = frame(["0-84", ">84"], ["0-90", ">90"], [42.0, 300.0], [[0.0, 10.0], [20.0, 60.0]])
METRICS = pl.DataFrame(
    {
        "sku": ["A", "B", "C", "D", "E"],
        "location": ["x", "x", "x", "x", "x"],
        "stock_value": [100.0, 50.0, 30.0, 0.0, 20.0],
        "avg_age_days": [10.0, 200.0, 95.0, 5.0, 40.0],
        "days_of_supply": [20.0, 400.0, 84.5, 10.0, None],  # E: no sales → slowest band
    }
)


def test_stock_cell_weights_from_sku_metrics() -> None:
    weights = stock_cell_weights(STOCK_MATRIX, METRICS)
    # A → (0-84, 0-90); B → (>84, >90); C: 84.5 < 85 → (0-84, >90); D no value; E → (>84, 0-90)
    assert weights.to_dict(as_series=False) == {
        "stock_days_band": ["0-84", ">84"],
        "0-90": [100.0, 20.0],
        ">90": [30.0, 50.0],
    }
    result = rates_from_stock(STOCK_MATRIX, METRICS)
    re_o, ro_o = oracle(
        [42.0, 300.0], [[0.0, 10.0], [20.0, 60.0]], [[100, 30], [20, 50]], [False, True]
    )
    assert result.excess_rate == pytest.approx(re_o)
    assert result.overall_rate == pytest.approx(ro_o)


def test_stock_cell_weights_from_layers() -> None:
    layers = pl.DataFrame(
        {
            "sku": ["A", "A", "B", "B", "Z"],
            "location": ["x"] * 5,
            "value": [60.0, 40.0, 50.0, -5.0, 7.0],
            "age_days": [10, 120, 30, 400, 500],
        }
    )
    weights = stock_cell_weights(STOCK_MATRIX, METRICS, layers)
    # A (0-84): 60 young, 40 old; B (>84): 50 young, negative layer ignored; Z unknown → >84
    assert weights["0-90"].to_list() == [60.0, 50.0]
    assert weights[">90"].to_list() == [40.0, 7.0]


def test_stock_needs_parseable_age_labels() -> None:
    matrix = STOCK_MATRIX.rename({">90": "old"})
    with pytest.raises(InputError, match="age band 'old'"):
        stock_cell_weights(matrix, METRICS)


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def test_cli_prints_rates_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "rates.json"
    result = runner.invoke(
        app,
        [
            "rates",
            str(DATA / "matrix.csv"),
            "--age-weights",
            str(DATA / "age_weights.csv"),
            "--stock-days-weights",
            str(DATA / "stock_days_weights.csv"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    expected = rates_from_files(
        DATA / "matrix.csv",
        age_weights=DATA / "age_weights.csv",
        stock_days_weights=DATA / "stock_days_weights.csv",
    )
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["excess_rate"] == pytest.approx(expected.excess_rate)
    assert payload["overall_rate"] == pytest.approx(expected.overall_rate)
    assert payload["unit"] == "1/day" and payload["threshold_days"] == 84
    assert expected.set_line() in result.output
    assert f"{expected.excess_rate * 100:.4f} %/day" in result.output
    assert "independent" in result.output


def test_cli_threshold_fraction_and_cell_weights(tmp_path: Path) -> None:
    matrix = tmp_path / "m.csv"
    matrix.write_text(
        "stock_days_band,midpoint_days,young,old\n0-28,14,0,0.01\n29-84,56,0.02,0.05\n"
        ">84,365,0.25,0.5\n",
        encoding="utf-8",
    )
    cells = tmp_path / "c.csv"
    cells.write_text("stock_days_band,young,old\n>84,1,1\n29-84,1,3\n0-28,0,0\n", encoding="utf-8")
    out = tmp_path / "r.json"
    result = runner.invoke(
        app,
        [
            "rates", str(matrix), "--fraction", "--threshold-days", "29",
            "--cell-weights", str(cells), "-o", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text(encoding="utf-8"))
    re_hand = (0.02 / 56 + 3 * 0.05 / 56 + 0.25 / 365 + 0.5 / 365) / 6
    assert payload["excess_rate"] == pytest.approx(re_hand)
    assert payload["overall_rate"] == pytest.approx(re_hand)  # the 0-28 row weighs nothing
    assert payload["excess_bands"] == ["29-84", ">84"]


def test_cli_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    weights = tmp_path / "ages.csv"
    weights.write_text("age_band,weight\n0-90,1\n91-180,1\n", encoding="utf-8")
    result = runner.invoke(app, ["rates", str(DATA / "matrix.csv"), "--age-weights", str(weights)])
    assert result.exit_code == 2
    assert "ages.csv" in result.output
    assert "missing '181-365', '>365'" in result.output
    result = runner.invoke(app, ["rates", str(DATA / "matrix.csv"), "--threshold-days", "400"])
    assert result.exit_code == 2
    assert "no stock-days band starts at or above" in result.output
