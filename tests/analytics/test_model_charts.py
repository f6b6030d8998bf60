"""The model pages' charts read, through their own ticks, as the figures the version recorded."""

from __future__ import annotations

from types import SimpleNamespace

from analytics.fairness_reports.selectors import AttributeFairness, GroupFairness
from analytics.templatetags.model_charts import air_chart, calibration_chart, importance_chart, roc_chart
from tests.finai.chart_reading import assert_reads, axis, circles, elements, polyline_points

# Observed default rates well under 1, as on every real holdout: the chart once stretched them to fill 0-1.
BANDS = [(0.06, 0.05), (0.18, 0.21), (0.35, 0.33), (0.52, 0.58)]


def context(pk: int, calibration=BANDS, roc=()) -> dict:
    return {
        "version": SimpleNamespace(pk=pk, metrics={"auc": 0.75}),
        "calibration": list(calibration),
        "roc": list(roc),
    }


def test_the_calibration_charts_points_read_as_the_observed_and_predicted_rates():
    svg = calibration_chart(context(1))

    x_axis, y_axis = axis(svg, "x-tick", "x"), axis(svg, "y-tick", "y")
    for (predicted, observed), (cx, cy) in zip(BANDS, circles(svg, "marker"), strict=True):
        assert_reads(x_axis.value_at(cx), predicted, x_axis)
        assert_reads(y_axis.value_at(cy), observed, y_axis)
    assert y_axis.values[-1] < 1  # the scale fits the rates, and says so in its ticks


def test_two_versions_calibration_share_the_axes():
    other = [(0.1, 0.2), (0.7, 0.9)]
    svg = calibration_chart(context(1), context(2, other))

    y_axis = axis(svg, "y-tick", "y")
    (_, second_top), (_, first_top) = polyline_points(svg)[1][-1], polyline_points(svg)[0][-1]
    assert_reads(y_axis.value_at(second_top), 0.9, y_axis)
    assert_reads(y_axis.value_at(first_top), 0.58, y_axis)


def test_the_roc_chart_reads_as_its_rates():
    roc = [(0.1, 0.45), (0.4, 0.8)]
    svg = roc_chart(context(1, roc=roc))

    x_axis, y_axis = axis(svg, "x-tick", "x"), axis(svg, "y-tick", "y")
    line = polyline_points(svg)[0]
    assert x_axis.values == [0, 0.25, 0.5, 0.75, 1]
    for (fpr, tpr), (px, py) in zip([(0, 0), *roc, (1, 1)], line, strict=True):
        assert_reads(x_axis.value_at(px), fpr, x_axis)
        assert_reads(y_axis.value_at(py), tpr, y_axis)


def test_the_importance_and_ratio_bars_read_as_their_values():
    importance = [("credit_amount", 0.41), ("duration", 0.12)]
    bars_svg = importance_chart(importance)
    groups = [
        GroupFairness("female", 120, 0.42, 0.7, None, below_threshold=True, too_small=False),
        GroupFairness("male", 180, 0.6, 1.0, None, below_threshold=False, too_small=False),
    ]
    air_svg = air_chart(AttributeFairness("sex", "male", groups, most_favoured_group="male"))

    for svg, values in ((bars_svg, [0.41, 0.12]), (air_svg, [0.7, 1.0])):
        x_axis = axis(svg, "x-tick", "x")
        for value, bar in zip(values, elements(svg, "rect", "bar"), strict=True):
            end = float(bar.get("x")) + float(bar.get("width"))
            assert_reads(x_axis.value_at(end), value, x_axis)
    assert "against the most favoured group" in air_svg
