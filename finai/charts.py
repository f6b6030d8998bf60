"""Charts as inline SVG, drawn on the server.

The portal must work offline and fetch nothing from outside hosts, so charts are plain SVG markup
built here: no JavaScript library, nothing to download, and they print with the page. Every chart
carries a title and a description for screen readers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 360, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 44
TICK_COUNT = 5  # about this many ticks on an axis
BAR_CHART_WIDTH, LABEL_WIDTH, VALUE_WIDTH, ROW_HEIGHT, BAR_AXIS = 480, 180, 50, 26, 22
LABEL_CHARACTERS = 26
SCALE_WIDTH, SCALE_HEIGHT, SCALE_PAD = 480, 70, 12
LEGEND_WIDTH = 96  # beside a scatter chart's plot, so no point hides under it


@dataclass(frozen=True)
class Series:
    """One line of a line chart: points (x, y) in data units and a CSS class for its colour."""

    label: str
    points: Sequence[tuple[float, float]]
    css_class: str = "series-1"
    markers: bool = False


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    css_class: str = ""


@dataclass(frozen=True)
class Axis:
    """An axis in data units: round ticks from `low` to `high`, which every value drawn on it lies between.

    Charts place marks with `share` and print the same ticks, so a mark always reads as its value: no caller
    rescales its data to fit a fixed scale (a calibration chart once drew 0 to 0.8 on ticks that read 0 to 1).
    """

    ticks: tuple[float, ...]

    @property
    def low(self) -> float:
        return self.ticks[0]

    @property
    def high(self) -> float:
        return self.ticks[-1]

    def share(self, value: float) -> float:
        """Where `value` lies between the ends: 0 at `low`, 1 at `high`."""
        return (float(value) - self.low) / (self.high - self.low)


def _round_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least `value`: ticks people can read."""
    magnitude = 10 ** math.floor(math.log10(value))
    return next(factor * magnitude for factor in (1, 2, 2.5, 5, 10) if factor * magnitude >= value)


def nice_axis(values: Iterable[float | None], *, include: Iterable[float] = (), count: int = TICK_COUNT) -> Axis:
    """Round ticks, about `count` of them, from at or below the smallest value to at or above the largest.

    `include` are values the axis must reach although no mark sits there: zero under bars, 1 for ratios
    (parity), a threshold line. With nothing to draw the axis runs from 0 to 1.
    """
    known = [float(v) for v in (*values, *include) if v is not None and math.isfinite(float(v))]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    if high == low:
        half = abs(low) / 2 or 0.5
        low, high = low - half, high + half
    step = _round_step((high - low) / (count - 1))
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return Axis(tuple(round(index * step, 10) + 0.0 for index in range(first, last + 1)))


def tick_label(value: float) -> str:
    return f"{value:g}".replace("-", "\N{MINUS SIGN}")


def _shortened(label: str, limit: int = LABEL_CHARACTERS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _x(share: float) -> float:
    """The horizontal position of a share (0 to 1) of the plot's width."""
    return round(LEFT + share * (WIDTH - LEFT - RIGHT), 1)


def _y(share: float) -> float:
    """The vertical position of a share (0 to 1) of the plot's height, from the bottom."""
    return round(HEIGHT - BOTTOM - share * (HEIGHT - TOP - BOTTOM), 1)


def _axis_lines() -> list[str]:
    return [
        format_html('<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>', LEFT, _y(0), WIDTH - RIGHT, _y(0)),
        format_html('<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>', LEFT, TOP, LEFT, _y(0)),
    ]


def _y_ticks(axis: Axis) -> list[str]:
    return [
        format_html(
            '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
            '<text class="tick y-tick" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
            LEFT,
            _y(axis.share(tick)),
            WIDTH - RIGHT,
            _y(axis.share(tick)),
            LEFT - 6,
            _y(axis.share(tick)),
            tick_label(tick),
        )
        for tick in axis.ticks
    ]


def _x_ticks(axis: Axis) -> list[str]:
    return [
        format_html(
            '<text class="tick x-tick" x="{}" y="{}" text-anchor="middle">{}</text>',
            _x(axis.share(tick)),
            _y(0) + 16,
            tick_label(tick),
        )
        for tick in axis.ticks
    ]


def _axis_labels(x_label: str, y_label: str) -> str:
    return format_html(
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


def line_chart(
    *,
    title: str,
    description: str,
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    diagonal: bool = True,
    include: Sequence[float] = (0.0,),
) -> SafeString:
    """Lines in data units (ROC curves, calibration), each axis from round ticks around its data.

    With the `diagonal` (no skill on a ROC curve, perfect calibration) both axes share one range, so
    the diagonal is y = x. `include` are values both axes reach: zero by default, so rates start at 0.
    """
    xs = [x for line in series for x, _ in line.points]
    ys = [y for line in series for _, y in line.points]
    if diagonal:
        x_axis = y_axis = nice_axis([*xs, *ys], include=include)
    else:
        x_axis, y_axis = nice_axis(xs, include=include), nice_axis(ys, include=include)

    def position(x: float, y: float) -> tuple[float, float]:
        return _x(x_axis.share(x)), _y(y_axis.share(y))

    parts = [*_axis_lines(), *_y_ticks(y_axis), *_x_ticks(x_axis), _axis_labels(x_label, y_label)]
    if diagonal:
        parts.append(
            format_html('<line class="diagonal" x1="{}" y1="{}" x2="{}" y2="{}"/>', _x(0), _y(0), _x(1), _y(1))
        )
    legend = []
    for index, line in enumerate(series):
        coordinates = " ".join("{:.1f},{:.1f}".format(*position(x, y)) for x, y in line.points)
        parts.append(format_html('<polyline class="line {}" points="{}"/>', line.css_class, coordinates))
        if line.markers:
            parts.extend(
                format_html(
                    '<circle class="marker {}" cx="{}" cy="{}" r="3"><title>{}: {}, {}</title></circle>',
                    line.css_class,
                    *position(x, y),
                    line.label,
                    f"{x:.3g}",
                    f"{y:.3g}",
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
    maximum: float | None = None,
    threshold: float | None = None,
    label_width: int = LABEL_WIDTH,
    value_format: Callable[[float], str] = _short_number,
) -> SafeString:
    """Horizontal bars from zero, in data units, on an axis of round ticks; an optional threshold line (the
    four-fifths rule at 0.8).

    The axis covers every value, zero and the threshold; `maximum` is a value it must reach as well (1 for
    ratios, so parity shows). Long labels want a wider `label_width`; `value_format` prints each value and
    tick (three decimals by default).
    """
    label_characters = LABEL_CHARACTERS * label_width // LABEL_WIDTH
    plot_width = BAR_CHART_WIDTH - label_width - VALUE_WIDTH
    bottom = TOP + ROW_HEIGHT * max(len(bars), 1)
    height = bottom + BAR_AXIS
    include = [0.0, *(v for v in (maximum, threshold) if v is not None)]
    axis = nice_axis([bar.value for bar in bars], include=include)

    def x(value: float) -> float:
        return round(label_width + plot_width * axis.share(value), 1)

    parts = [
        format_html(
            '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
            '<text class="tick x-tick" x="{}" y="{}" text-anchor="middle">{}</text>',
            x(tick),
            TOP - 4,
            x(tick),
            bottom,
            x(tick),
            bottom + 12,
            value_format(tick),
        )
        for tick in axis.ticks
    ]
    for index, bar in enumerate(bars):
        y = TOP + index * ROW_HEIGHT
        start, end = sorted((x(0), x(bar.value if bar.value is not None else 0)))
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
                start,
                y,
                round(end - start, 1),
                label_width + plot_width + 6,
                y + 12,
                shown,
            )
        )
    if threshold is not None:
        parts.append(
            format_html(
                '<line class="threshold" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick threshold-label" x="{}" y="{}" text-anchor="middle">{}</text>',
                x(threshold),
                TOP - 4,
                x(threshold),
                bottom,
                x(threshold),
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
            '<text class="tick x-tick" x="{}" y="64" text-anchor="start">{}</text>'
            '<text class="tick x-tick" x="{}" y="64" text-anchor="end">{}</text>',
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
    """Points (x, y, group) in data units on axes of round ticks around them; one colour per group, with a
    legend beside the plot."""
    x_axis = nice_axis([x for x, _, _ in points])
    y_axis = nice_axis([y for _, y, _ in points])
    parts = [*_axis_lines(), *_y_ticks(y_axis), *_x_ticks(x_axis), _axis_labels(x_label, y_label)]
    parts.extend(
        format_html(
            '<circle class="point series-{}" cx="{}" cy="{}" r="2"/>',
            group % SCATTER_CLASSES + 1,
            _x(x_axis.share(x)),
            _y(y_axis.share(y)),
        )
        for x, y, group in points
    )
    for index, group in enumerate(sorted({p[2] for p in points})):
        parts.append(
            format_html(
                '<rect class="swatch series-{}" x="{}" y="{}" width="10" height="10"/>'
                '<text class="legend" x="{}" y="{}">{} {}</text>',
                group % SCATTER_CLASSES + 1,
                WIDTH + 4,
                TOP + 4 + index * 16,
                WIDTH + 18,
                TOP + 13 + index * 16,
                group_label,
                group,
            )
        )
    return _svg(title, description, parts, WIDTH + LEGEND_WIDTH, HEIGHT)


@dataclass(frozen=True)
class DatedValue:
    """One point of a time series chart: a value on a day, its marker's colour class and a hover label."""

    day: dt.date
    value: float
    css_class: str = "series-1"
    label: str = ""


def time_series_chart(
    *,
    title: str,
    description: str,
    points: Sequence[DatedValue],
    y_label: str,
    x_label: str = "Date",
    y_minimum_top: float = 1.0,
    markers: bool = True,
) -> SafeString:
    """Values over dates as a line, with a marker per point unless told otherwise (a loan's days past due
    by report date, an account's running balance).

    y runs on round ticks from zero (or below, for negative values) to at or above the largest value and
    at least `y_minimum_top`; x from the first date to the last, with both dates (and the middle one)
    printed, so the ticks always cover exactly what is drawn.
    """
    y_axis = nice_axis([point.value for point in points], include=(0.0, y_minimum_top))
    ordered = sorted(points, key=lambda point: point.day)
    first = ordered[0].day if ordered else None
    span = (ordered[-1].day - first).days if ordered else 0

    def x_of(day: dt.date) -> float:
        return _x(0.5) if span == 0 else _x((day - first).days / span)

    def y_of(value: float) -> float:
        return _y(y_axis.share(value))

    parts = [*_axis_lines(), *_y_ticks(y_axis)]
    if ordered:
        x_ticks = [first] if span == 0 else [first, first + dt.timedelta(days=span // 2), ordered[-1].day]
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
        coordinates = " ".join(f"{x_of(p.day):.1f},{y_of(p.value):.1f}" for p in ordered)
        parts.append(format_html('<polyline class="line series-1" points="{}"/>', coordinates))
        if markers:
            parts.extend(
                format_html(
                    '<circle class="marker {}" cx="{}" cy="{}" r="4"><title>{}</title></circle>',
                    point.css_class,
                    x_of(point.day),
                    y_of(point.value),
                    point.label or f"{point.day.isoformat()}: {point.value:g}",
                )
                for point in ordered
            )
    parts.append(_axis_labels(x_label, y_label))
    return _svg(title, description, parts, WIDTH, HEIGHT)
