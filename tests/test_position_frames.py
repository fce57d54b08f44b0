"""Shared position helpers: the segmented suffix sum behind FIFO walks and stock history."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deadstock.position._frames import suffix_sum_within


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(-20, 20)), max_size=30),
    st.sampled_from([1.0, 0.1, 0.25]),
)
def test_suffix_sum_within_equals_plain_loop(rows: list[tuple[int, int]], scale: float) -> None:
    rows = sorted(rows, key=lambda r: r[0])  # keys contiguous, order within a key kept
    frame = pl.DataFrame(
        {"k": [k for k, _ in rows], "v": [v * scale for _, v in rows]},
        schema={"k": pl.UInt32, "v": pl.Float64},
    )
    out = suffix_sum_within(frame, "v", "k", "s")["s"].to_list()
    want = [sum(v * scale for k2, v in rows[i:] if k2 == k) for i, (k, _) in enumerate(rows)]
    assert out == pytest.approx(want, abs=1e-9)


def test_suffix_sum_within_is_exact_for_whole_units_at_scale() -> None:
    big = 2.0**40
    frame = pl.DataFrame({"k": [0, 0, 1, 1], "v": [big, 1.0, 3.0, 4.0]})
    assert suffix_sum_within(frame, "v", "k", "s")["s"].to_list() == [big + 1.0, 1.0, 7.0, 4.0]
