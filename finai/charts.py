"""Charts as inline SVG, drawn on the server.

The portal must work offline and fetch nothing from outside hosts, so charts are plain SVG markup
built here: no JavaScript library, nothing to download, and they print with the page. Every chart
carries a title and a description for screen readers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 360, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 44
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
BAR_CHART_WIDTH, LABEL_WIDTH, VALUE_WIDTH, ROW_HEIGHT = 480, 180, 50, 26
LABEL_CHARACTERS = 26
SCALE_WIDTH, SCALE_HEIGHT, SCALE_PAD = 480, 70, 12


@dataclass(frozen=True)
class Series:
    """One line of a line chart: points in data units (0..1 on both axes) and a CSS class for its colour."""

    label: str
    points: Sequence[tuple[float, float]]
    css_class: str = "series-1"
    markers: bool = False


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    css_class: str = ""


def _shortened(label: str, limit: int = LABEL_CHARACTERS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _x(value: float) -> float:
    return round(LEFT + value * (WIDTH - LEFT - RIGHT), 1)


def _y(value: float) -> float:
    return round(HEIGHT - BOTTOM - value * (HEIGHT - TOP - BOTTOM), 1)


def _clip(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)


def _axes(x_label: str, y_label: str) -> list[str]:
    parts = [
        format_html('<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>', LEFT, _y(0), WIDTH - RIGHT, _y(0)),
        format_html('<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>', LEFT, TOP, LEFT, _y(0)),
    ]
    for tick in TICKS:
        parts.append(
            format_html(
                '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>'
                '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                LEFT,
                _y(tick),
                WIDTH - RIGHT,
                _y(tick),
                LEFT - 6,
                _y(tick) + 4,
                f"{tick:g}",
                _x(tick),
                _y(0) + 16,
                f"{tick:g}",
            )
        )
    parts.append(
        format_html(
            '<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>'
            '<text class="axis-label" x="12" y="{}" text-anchor="middle" '
            'transform="rotate(-90 12 {})">{}</text>',
            round((LEFT + WIDTH - RIGHT) / 2, 1),
            HEIGHT - 8,
            x_label,
            round((TOP + _y(0)) / 2, 1),
            round((TOP + _y(0)) / 2, 1),
            y_label,
        )
    )
    return parts


def line_chart(
    *, title: str, description: str, series: Sequence[Series], x_label: str, y_label: str, diagonal: bool = True
) -> SafeString:
    """Lines on the unit square (ROC curves, calibration), with an optional no-skill diagonal."""
    parts = _axes(x_label, y_label)
    if diagonal:
        parts.append(
            format_html('<line class="diagonal" x1="{}" y1="{}" x2="{}" y2="{}"/>', _x(0), _y(0), _x(1), _y(1))
        )
    legend = []
    for index, line in enumerate(series):
        coordinates = " ".join(f"{_x(_clip(x)):.1f},{_y(_clip(y)):.1f}" for x, y in line.points)
        parts.append(format_html('<polyline class="line {}" points="{}"/>', line.css_class, coordinates))
        if line.markers:
            parts.extend(
                format_html(
                    '<circle class="marker {}" cx="{}" cy="{}" r="3"/>',
                    line.css_class,
                    _x(_clip(x)),
                    _y(_clip(y)),
                )
                for x, y in line.points
            )
        legend.append(
            format_html(
                '<rect class="swatch {}" x="{}" y="{}" width="10" height="10"/>'
                '<text class="legend" x="{}" y="{}">{}</text>',
                line.css_class,
                LEFT + 10,
                TOP + 4 + index * 16,
                LEFT + 24,
                TOP + 13 + index * 16,
                line.label,
            )
        )
    return _svg(title, description, [*parts, *legend], WIDTH, HEIGHT)


def _short_number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def bar_chart(
    *,
    title: str,
    description: str,
    bars: Sequence[Bar],
    maximum: float = 1.0,
    threshold: float | None = None,
    label_width: int = LABEL_WIDTH,
    value_format: Callable[[float], str] = _short_number,
) -> SafeString:
    """Horizontal bars with their values, and an optional threshold line (the four-fifths rule at 0.8).

    Long labels want a wider `label_width`; `value_format` prints each value (three decimals by default).
    """
    row_height = ROW_HEIGHT
    label_characters = LABEL_CHARACTERS * label_width // LABEL_WIDTH
    plot_width = BAR_CHART_WIDTH - label_width - VALUE_WIDTH
    height = TOP + row_height * max(len(bars), 1) + 12
    parts = []
    scale = maximum if maximum > 0 else 1.0
    for index, bar in enumerate(bars):
        y = TOP + index * row_height
        share = 0.0 if bar.value is None else min(max(bar.value / scale, 0.0), 1.0)
        shown = "n/a" if bar.value is None else value_format(bar.value)
        parts.append(
            format_html(
                '<g><title>{}: {}</title><text class="bar-label" x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect class="bar-track" x="{}" y="{}" width="{}" height="16" rx="2"/>'
                '<rect class="bar {}" x="{}" y="{}" width="{}" height="16" rx="2"/>'
                '<text class="bar-value" x="{}" y="{}">{}</text></g>',
                bar.label,
                shown,
                label_width - 8,
                y + 12,
                _shortened(bar.label, label_characters),
                label_width,
                y,
                plot_width,
                bar.css_class,
                label_width,
                y,
                round(plot_width * share, 1),
                label_width + plot_width + 6,
                y + 12,
                shown,
            )
        )
    if threshold is not None:
        x = round(label_width + plot_width * min(max(threshold / scale, 0.0), 1.0), 1)
        parts.append(
            format_html(
                '<line class="threshold" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                x,
                TOP - 4,
                x,
                height - 10,
                x,
                TOP - 6,
                f"{threshold:g}",
            )
        )
    return _svg(title, description, parts, BAR_CHART_WIDTH, height)


def score_scale(
    *, title: str, score: int, low: int, high: int, bands: Sequence[tuple[float, float, str, str]] = ()
) -> SafeString:
    """A horizontal scale from `low` to `high` points with coloured policy bands and a marker at the score.

    `bands` are (from, to, css class, label) in points: decline, refer and approve regions.
    """
    width, height, pad = SCALE_WIDTH, SCALE_HEIGHT, SCALE_PAD
    span = max(high - low, 1)

    def position(points: float) -> float:
        return round(pad + (min(max(points, low), high) - low) / span * (width - 2 * pad), 1)

    parts = [
        format_html('<rect class="scale-track" x="{}" y="20" width="{}" height="14" rx="7"/>', pad, width - 2 * pad)
    ]
    for start, end, css_class, label in bands:
        parts.append(
            format_html(
                '<rect class="scale-band {}" x="{}" y="20" width="{}" height="14"/>'
                '<text class="tick" x="{}" y="50" text-anchor="middle">{}</text>',
                css_class,
                position(start),
                round(max(position(end) - position(start), 0), 1),
                round((position(start) + position(end)) / 2, 1),
                label,
            )
        )
    marker = position(score)
    parts.append(
        format_html(
            '<path class="scale-marker" d="M{} 16 l-6 -10 h12 z"/>'
            '<line class="scale-needle" x1="{}" y1="16" x2="{}" y2="38"/>'
            '<text class="tick" x="{}" y="64" text-anchor="start">{}</text>'
            '<text class="tick" x="{}" y="64" text-anchor="end">{}</text>',
            marker,
            marker,
            marker,
            pad,
            low,
            width - pad,
            high,
        )
    )
    return _svg(title, f"Score {score} on a scale from {low} to {high}.", parts, width, height)


def _svg(title: str, description: str, parts: Sequence[str], width: int, height: int) -> SafeString:
    body = "".join(parts)
    return mark_safe(  # noqa: S308 - every part above is built with format_html, which escapes its values
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title><desc>{escape(description)}</desc>'
        f"{body}</svg>"
    )


SCATTER_CLASSES = 6  # series-1 .. series-6 colours; more groups reuse them


def scatter_chart(
    *,
    title: str,
    description: str,
    points: Sequence[tuple[float, float, int]],
    x_label: str,
    y_label: str,
    group_label: str = "Segment",
) -> SafeString:
    """Points (x, y, group) in any units, scaled to the plot; one colour per group with a legend.

    Axis values are not printed: the map's position is what matters, not its units.
    """
    parts = _axes(x_label, y_label)[:2] + _axes(x_label, y_label)[-1:]
    if points:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x_low, x_span = min(xs), (max(xs) - min(xs)) or 1.0
        y_low, y_span = min(ys), (max(ys) - min(ys)) or 1.0
        for x, y, group in points:
            parts.append(
                format_html(
                    '<circle class="point series-{}" cx="{}" cy="{}" r="2"/>',
                    group % SCATTER_CLASSES + 1,
                    _x(0.02 + 0.72 * (x - x_low) / x_span),  # the legend stands on the right
                    _y(0.02 + 0.96 * (y - y_low) / y_span),
                )
            )
    for index, group in enumerate(sorted({p[2] for p in points})):
        parts.append(
            format_html(
                '<rect class="swatch series-{}" x="{}" y="{}" width="10" height="10"/>'
                '<text class="legend" x="{}" y="{}">{} {}</text>',
                group % SCATTER_CLASSES + 1,
                WIDTH - RIGHT - 84,
                TOP + 4 + index * 16,
                WIDTH - RIGHT - 70,
                TOP + 13 + index * 16,
                group_label,
                group,
            )
        )
    return _svg(title, description, parts, WIDTH, HEIGHT)


@dataclass(frozen=True)
class DatedValue:
    """One point of a time series chart: a value on a day, its marker's colour class and a hover label."""

    day: dt.date
    value: float
    css_class: str = "series-1"
    label: str = ""


TIME_SERIES_Y_TICKS = 4  # intervals above zero


def _round_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least `value`: ticks people can read."""
    magnitude = 10 ** math.floor(math.log10(value))
    return next(factor * magnitude for factor in (1, 2, 2.5, 5, 10) if factor * magnitude >= value)


def time_series_chart(
    *,
    title: str,
    description: str,
    points: Sequence[DatedValue],
    y_label: str,
    x_label: str = "Date",
    y_minimum_top: float = 1.0,
) -> SafeString:
    """Values over dates as a line with a marker per point (a loan's days past due by report date).

    Unlike `line_chart` the axes are in data units: y runs from 0 to a round top at or above the largest value
    (at least `y_minimum_top`) with its ticks at the quarters, x from the first date to the last with both
    dates (and the middle one) printed, so the ticks always cover exactly what is drawn.
    """
    values = [max(float(point.value), 0.0) for point in points]
    step = _round_step(max([*values, y_minimum_top]) / TIME_SERIES_Y_TICKS)
    top = step * TIME_SERIES_Y_TICKS
    ordered = sorted(points, key=lambda point: point.day)
    first = ordered[0].day if ordered else None
    span = (ordered[-1].day - first).days if ordered else 0

    def x_of(day: dt.date) -> float:
        return _x(0.5) if span == 0 else _x((day - first).days / span)

    parts = [
        format_html('<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>', LEFT, _y(0), WIDTH - RIGHT, _y(0)),
        format_html('<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>', LEFT, TOP, LEFT, _y(0)),
    ]
    for index in range(TIME_SERIES_Y_TICKS + 1):
        tick = step * index
        parts.append(
            format_html(
                '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick y-tick" x="{}" y="{}" text-anchor="end">{}</text>',
                LEFT,
                _y(tick / top),
                WIDTH - RIGHT,
                _y(tick / top),
                LEFT - 6,
                _y(tick / top) + 4,
                f"{tick:g}",
            )
        )
    if ordered:
        x_ticks = [ordered[0].day] if span == 0 else [first, first + dt.timedelta(days=span // 2), ordered[-1].day]
        anchors = ["middle"] if span == 0 else ["start", "middle", "end"]
        for day, anchor in zip(x_ticks, anchors, strict=True):
            parts.append(
                format_html(
                    '<text class="tick x-tick" x="{}" y="{}" text-anchor="{}">{}</text>',
                    x_of(day),
                    _y(0) + 16,
                    anchor,
                    day.isoformat(),
                )
            )
        coordinates = " ".join(f"{x_of(p.day):.1f},{_y(max(float(p.value), 0.0) / top):.1f}" for p in ordered)
        parts.append(format_html('<polyline class="line series-1" points="{}"/>', coordinates))
        parts.extend(
            format_html(
                '<circle class="marker {}" cx="{}" cy="{}" r="4"><title>{}</title></circle>',
                point.css_class,
                x_of(point.day),
                _y(max(float(point.value), 0.0) / top),
                point.label or f"{point.day.isoformat()}: {point.value:g}",
            )
            for point in ordered
        )
    parts.append(
        format_html(
            '<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>'
            '<text class="axis-label" x="12" y="{}" text-anchor="middle" '
            'transform="rotate(-90 12 {})">{}</text>',
            round((LEFT + WIDTH - RIGHT) / 2, 1),
            HEIGHT - 8,
            x_label,
            round((TOP + _y(0)) / 2, 1),
            round((TOP + _y(0)) / 2, 1),
            y_label,
        )
    )
    return _svg(title, description, parts, WIDTH, HEIGHT)
