"""Server-side SVG charts: values land where the axes say, and labels are escaped."""

from __future__ import annotations

import re

from finai import charts
from finai.charts import Bar, Series, bar_chart, line_chart, score_scale


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)]


def test_a_line_chart_maps_the_unit_square_onto_the_plot_area():
    svg = line_chart(
        title="ROC",
        description="d",
        series=[Series("model", [(0.0, 0.0), (0.5, 0.8), (1.0, 1.0)])],
        x_label="x",
        y_label="y",
    )

    points = re.search(r'<polyline class="line series-1" points="([^"]+)"', svg).group(1)
    plot_width = charts.WIDTH - charts.LEFT - charts.RIGHT
    plot_height = charts.HEIGHT - charts.TOP - charts.BOTTOM
    expected = [
        (charts.LEFT + x * plot_width, charts.HEIGHT - charts.BOTTOM - y * plot_height)
        for x, y in [(0.0, 0.0), (0.5, 0.8), (1.0, 1.0)]
    ]
    assert numbers(points) == [_rounded(v) for pair in expected for v in pair]
    assert '<line class="diagonal"' in svg
    assert 'role="img"' in svg
    assert "<title>ROC</title>" in svg


def _rounded(value: float) -> float:
    return round(value, 1)


def test_labels_are_escaped():
    svg = bar_chart(title="<script>", description="d", bars=[Bar("<b>group & co</b>", 0.5)])

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "<b>" not in svg
    assert "&lt;b&gt;group &amp; co&lt;/b&gt;" in svg


def test_a_bar_is_as_long_as_its_share_and_the_threshold_sits_at_its_value():
    svg = bar_chart(title="AIR", description="d", bars=[Bar("female", 0.7), Bar("male", 1.0)], threshold=0.8)

    plot_width = charts.BAR_CHART_WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH
    widths = [float(w) for w in re.findall(r'<rect class="bar [^"]*" x="[\d.]+" y="\d+" width="([\d.]+)"', svg)]
    threshold_x = float(re.search(r'<line class="threshold" x1="([\d.]+)"', svg).group(1))
    assert widths == [round(plot_width * 0.7, 1), round(plot_width * 1.0, 1)]
    assert threshold_x == round(charts.LABEL_WIDTH + plot_width * 0.8, 1)


def test_the_score_marker_sits_at_the_score_between_the_ends_of_the_scale():
    svg = score_scale(title="Score", score=550, low=400, high=700, bands=[(400, 500, "band-decline", "Decline")])

    needle = float(re.search(r'<line class="scale-needle" x1="([\d.]+)"', svg).group(1))
    assert needle == round(charts.SCALE_PAD + (550 - 400) / 300 * (charts.SCALE_WIDTH - 2 * charts.SCALE_PAD), 1)
    assert "Score 550 on a scale from 400 to 700." in svg
