"""The time series chart: its ticks cover exactly the data it draws, in the data's own units."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest

from finai.charts import HEIGHT, DatedValue, time_series_chart


def chart(points: list[DatedValue], minimum_top: float = 1.0) -> str:
    return str(time_series_chart(title="t", description="d", points=points, y_label="Days", y_minimum_top=minimum_top))


def y_ticks(svg: str) -> list[float]:
    return [float(value) for value in re.findall(r'class="tick y-tick"[^>]*>([\d.]+)<', svg)]


def marker_heights(svg: str) -> list[float]:
    return [float(cy) for cy in re.findall(r'<circle class="marker [^"]*" cx="[\d.]+" cy="([\d.]+)"', svg)]


@pytest.mark.parametrize(
    ("largest", "expected_top"), [(0, 30), (12, 30), (95, 100), (101, 150), (365, 400), (1234, 1500)]
)
def test_the_y_ticks_run_from_zero_to_a_round_top_at_or_above_the_largest_value(largest, expected_top):
    svg = chart([DatedValue(dt.date(2026, 1, 1), 0), DatedValue(dt.date(2026, 2, 1), largest)], minimum_top=30)

    ticks = y_ticks(svg)
    assert ticks[0] == 0
    assert ticks[-1] == expected_top
    assert len({round(b - a, 9) for a, b in itertools.pairwise(ticks)}) == 1  # evenly spaced


def test_a_point_is_drawn_at_the_height_its_value_reads_on_the_ticks():
    svg = chart([DatedValue(dt.date(2026, 1, 1), 0), DatedValue(dt.date(2026, 3, 1), 40)], minimum_top=30)

    ticks = dict(zip(y_ticks(svg), re.findall(r'class="tick y-tick" x="[\d.]+" y="([\d.]+)"', svg), strict=True))
    bottom, top = marker_heights(svg)
    assert bottom == pytest.approx(float(ticks[0]))  # a tick's text is centred on its line
    assert top == pytest.approx(float(ticks[40]))


def test_the_x_ticks_are_the_first_middle_and_last_dates_whatever_the_order_given():
    svg = chart([DatedValue(dt.date(2026, 3, 1), 1), DatedValue(dt.date(2026, 1, 1), 2)])

    assert re.findall(r'class="tick x-tick"[^>]*>([\d-]+)<', svg) == ["2026-01-01", "2026-01-30", "2026-03-01"]


def test_a_single_report_is_drawn_in_the_middle_with_its_date():
    svg = chart([DatedValue(dt.date(2026, 1, 1), 3, label="one report")])

    assert re.findall(r'class="tick x-tick"[^>]*>([\d-]+)<', svg) == ["2026-01-01"]
    assert "<title>one report</title>" in svg
    assert all(0 < height < HEIGHT for height in marker_heights(svg))


def test_no_points_draws_empty_axes():
    svg = chart([])

    assert "<polyline" not in svg
    assert y_ticks(svg) == [0, 0.25, 0.5, 0.75, 1]
