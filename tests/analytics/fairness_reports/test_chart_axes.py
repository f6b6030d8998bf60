"""The fair-lending charts' dots and whiskers read, through their own ticks, as the estimates they draw."""

from __future__ import annotations

import pytest

from analytics.fairness_reports.charts import IntervalRow, PlanePoint, interval_chart, plane_chart, trend_chart
from tests.finai.chart_reading import assert_reads, axis, circles, elements

ROWS = [IntervalRow("female", 0.62, 0.48, 0.77), IntervalRow("male", 1.0, 0.93, 1.08), IntervalRow("<25", 0.31)]


@pytest.mark.parametrize("domain", [(0.0, 1.0), (0.4, 0.9)])
def test_an_interval_charts_dots_and_whiskers_read_as_the_estimates_even_outside_the_domain_asked_for(domain):
    svg = interval_chart(title="t", description="d", rows=ROWS, domain=domain, reference=0.8)

    x_axis = axis(svg, "x-tick", "x")
    for row, (cx, _) in zip(ROWS, circles(svg, "dot"), strict=True):
        assert_reads(x_axis.value_at(cx), row.value, x_axis)
    whiskers = [float(line.get("x1")) for line in elements(svg, "line", "whisker")[::3]]
    whiskers_end = [float(line.get("x2")) for line in elements(svg, "line", "whisker")[::3]]
    for row, low, high in zip(ROWS[:2], whiskers, whiskers_end, strict=True):
        assert_reads(x_axis.value_at(low), row.low, x_axis)
        assert_reads(x_axis.value_at(high), row.high, x_axis)
    assert x_axis.covers(1.08)
    assert x_axis.covers(0.31)
    assert_reads(x_axis.value_at(float(elements(svg, "line", "threshold")[0].get("x1"))), 0.8, x_axis)


def test_the_accuracy_fairness_plane_reads_as_each_models_auc_and_ratio():
    points = [PlanePoint("base", 0.781, 0.72, 0.6, 0.85), PlanePoint("v9", 0.774, 0.86, 0.75, 0.97)]
    svg = plane_chart(title="t", description="d", points=points, x_label="AUC", y_label="ratio", threshold=0.8)

    x_axis, y_axis = axis(svg, "x-tick", "x"), axis(svg, "y-tick", "y")
    for point, (cx, cy) in zip(points, circles(svg, "dot"), strict=True):
        assert_reads(x_axis.value_at(cx), point.x, x_axis)
        assert_reads(y_axis.value_at(cy), point.y, y_axis)
    assert y_axis.covers(0.97)


def test_the_trend_charts_dots_read_as_each_reports_lowest_ratio():
    rows = [IntervalRow("#1", 0.83, 0.7, 0.95), IntervalRow("#2", 0.64, 0.41, 0.82)]
    svg = trend_chart(title="t", description="d", rows=rows, threshold=0.8)

    y_axis = axis(svg, "y-tick", "y")
    for row, (_, cy) in zip(rows, circles(svg, "dot"), strict=True):
        assert_reads(y_axis.value_at(cy), row.value, y_axis)
    assert y_axis.covers(0.41)
    assert_reads(y_axis.value_at(float(elements(svg, "line", "threshold")[0].get("y1"))), 0.8, y_axis)
