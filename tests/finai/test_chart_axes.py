"""Every chart type's marks read back, through its own tick labels, as the data they draw.

A chart that rescales its marks but not its ticks (the calibration chart once drew observed rates up to
0.8 at the height its ticks called 1) reads back wrong values here, and so does one whose ticks stop
short of the data.
"""

from __future__ import annotations

import datetime as dt

import pytest

from finai.charts import Bar, DatedValue, Series, bar_chart, line_chart, nice_axis, scatter_chart, score_scale
from finai.charts import time_series_chart as time_series
from tests.finai.chart_reading import assert_reads, axis, circles, elements, polyline_points, tick_number


@pytest.mark.parametrize(
    ("values", "include", "ticks"),
    [
        ([0.0, 1.0], (), (0, 0.25, 0.5, 0.75, 1)),
        ([0.08, 0.58], (0.0,), (0, 0.2, 0.4, 0.6)),
        ([-3.0, 12.0], (0.0,), (-5, 0, 5, 10, 15)),
        ([95.0], (0.0, 30.0), (0, 25, 50, 75, 100)),
        ([0.5, 0.5], (), (0.2, 0.4, 0.6, 0.8)),
        ([], (), (0, 0.25, 0.5, 0.75, 1)),
    ],
)
def test_an_axis_has_round_ticks_covering_every_value(values, include, ticks):
    assert nice_axis(values, include=include).ticks == pytest.approx(ticks)


@pytest.mark.parametrize(
    "points",
    [
        [(0.0, 0.0), (0.1, 0.4), (0.3, 0.7), (1.0, 1.0)],  # a ROC curve on the unit square
        [(0.05, 0.04), (0.2, 0.26), (0.45, 0.58)],  # calibration bands well under 1
    ],
)
def test_a_line_charts_points_and_markers_read_as_their_values(points):
    svg = line_chart(title="t", description="d", series=[Series("s", points, markers=True)], x_label="x", y_label="y")

    x_axis, y_axis = axis(svg, "x-tick", "x"), axis(svg, "y-tick", "y")
    for (x, y), (px, py), (cx, cy) in zip(points, polyline_points(svg)[0], circles(svg, "marker"), strict=True):
        assert (px, py) == (cx, cy)
        assert_reads(x_axis.value_at(px), x, x_axis)
        assert_reads(y_axis.value_at(py), y, y_axis)
        assert x_axis.covers(x)
        assert y_axis.covers(y)


def test_a_line_chart_with_a_diagonal_shares_one_scale_so_the_diagonal_is_y_equals_x():
    svg = line_chart(
        title="t", description="d", series=[Series("s", [(0.1, 0.3), (0.2, 0.1)])], x_label="x", y_label="y"
    )

    x_axis, y_axis = axis(svg, "x-tick", "x"), axis(svg, "y-tick", "y")
    diagonal = elements(svg, "line", "diagonal")[0]
    assert x_axis.values == y_axis.values
    assert_reads(x_axis.value_at(float(diagonal.get("x2"))), y_axis.value_at(float(diagonal.get("y2"))), x_axis)


def test_a_line_chart_without_a_diagonal_fits_each_axis_to_its_own_data():
    points = [(0.0, -1200.0), (14.0, 300.0), (31.0, 2500.0)]
    svg = line_chart(title="t", description="d", series=[Series("s", points)], x_label="x", y_label="y", diagonal=False)

    x_axis, y_axis = axis(svg, "x-tick", "x"), axis(svg, "y-tick", "y")
    for (x, y), (px, py) in zip(points, polyline_points(svg)[0], strict=True):
        assert_reads(x_axis.value_at(px), x, x_axis)
        assert_reads(y_axis.value_at(py), y, y_axis)
    assert y_axis.values[0] <= -1200
    assert y_axis.values[-1] >= 2500


@pytest.mark.parametrize(
    ("values", "threshold"), [([0.7, 1.0, 0.55], 0.8), ([0.02, 0.011, 0.004], None), ([0.21, -0.08, 0.05], None)]
)
def test_a_bars_ends_read_as_their_values_from_zero_and_the_threshold_at_its_own(values, threshold):
    svg = bar_chart(
        title="t", description="d", bars=[Bar(f"g{i}", v) for i, v in enumerate(values)], threshold=threshold
    )

    x_axis = axis(svg, "x-tick", "x")
    for value, bar in zip(values, elements(svg, "rect", "bar"), strict=True):
        start, width = float(bar.get("x")), float(bar.get("width"))
        base, end = (start + width, start) if value < 0 else (start, start + width)
        assert_reads(x_axis.value_at(base), 0.0, x_axis)
        assert_reads(x_axis.value_at(end), value, x_axis)
        assert x_axis.covers(value)
    if threshold is not None:
        line = elements(svg, "line", "threshold")[0]
        assert_reads(x_axis.value_at(float(line.get("x1"))), threshold, x_axis)


def test_a_bar_charts_ticks_are_printed_as_its_values_are():
    svg = bar_chart(
        title="t", description="d", bars=[Bar("a", 0.123), Bar("b", 0.04)], value_format=lambda v: f"{v:.0%}"
    )

    x_axis = axis(svg, "x-tick", "x")
    assert x_axis.values == pytest.approx([0, 0.05, 0.1, 0.15])
    assert_reads(x_axis.value_at(float(elements(svg, "rect", "bar")[0].get("width")) + 180), 0.123, x_axis)


def test_a_time_series_points_read_as_their_values_and_negative_values_stay_below_zero():
    points = [
        DatedValue(dt.date(2026, 1, 1), 0),
        DatedValue(dt.date(2026, 1, 11), -35.5),
        DatedValue(dt.date(2026, 1, 21), 80),
    ]
    svg = time_series(title="t", description="d", points=points, y_label="y")

    y_axis = axis(svg, "y-tick", "y")
    dates = [(dt.date.fromisoformat(e.text), float(e.get("x"))) for e in elements(svg, "text", "x-tick")]
    for point, (cx, cy) in zip(points, circles(svg, "marker"), strict=True):
        assert_reads(y_axis.value_at(cy), point.value, y_axis)
        (first, x0), (last, x1) = dates[0], dates[-1]
        assert abs(cx - (x0 + (point.day - first).days / (last - first).days * (x1 - x0))) <= 0.6
    assert y_axis.values[0] < 0 < y_axis.values[-1]


def test_a_scatter_charts_points_read_as_their_coordinates():
    points = [(-2.5, 0.3, 0), (1.25, -0.8, 1), (4.0, 1.9, 1)]
    svg = scatter_chart(title="t", description="d", points=points, x_label="PC1", y_label="PC2")

    x_axis, y_axis = axis(svg, "x-tick", "x"), axis(svg, "y-tick", "y")
    for (x, y, _), (cx, cy) in zip(points, circles(svg, "point"), strict=True):
        assert_reads(x_axis.value_at(cx), x, x_axis)
        assert_reads(y_axis.value_at(cy), y, y_axis)


def test_the_score_scales_marker_reads_as_the_score_between_its_end_ticks():
    svg = score_scale(title="Score", score=587, low=300, high=850)

    scale = axis(svg, "x-tick", "x", number=tick_number)
    needle = elements(svg, "line", "scale-needle")[0]
    # the end labels are anchored at the track's ends, where their values are
    assert scale.values == [300, 850]
    assert_reads(scale.value_at(float(needle.get("x1"))), 587, scale)
