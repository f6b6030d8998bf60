"""Fair-lending charts as inline SVG: estimates with their intervals, the accuracy-fairness plane, trends.

Like `finai.charts`, drawn on the server so pages work offline and print; every figure shows its
confidence interval, because a ratio from a small group read without one invites over-reading.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

INTERVAL_WIDTH, INTERVAL_LABEL, INTERVAL_VALUE, INTERVAL_ROW = 520, 190, 56, 24
TOP, AXIS = 22, 26
PLANE_WIDTH, PLANE_HEIGHT, PLANE_LEFT, PLANE_BOTTOM, PLANE_RIGHT = 520, 340, 56, 46, 16
TREND_HEIGHT, TREND_LEFT, TREND_BOTTOM = 260, 48, 58
LABEL_CHARACTERS = 28
TICK_COUNT = 5


@dataclass(frozen=True)
class IntervalRow:
    """One estimate: a label, the point value and its interval, and a CSS class for the dot."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    css_class: str = "dot"


@dataclass(frozen=True)
class PlanePoint:
    """A model on the accuracy-fairness plane, with the interval of its fairness figure."""

    label: str
    x: float
    y: float
    y_low: float | None = None
    y_high: float | None = None
    css_class: str = "dot"


def _svg(title: str, description: str, parts: Sequence[str], width: int, height: int) -> SafeString:
    body = "".join(parts)
    return mark_safe(  # noqa: S308 - every part is built with format_html, which escapes its values
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title><desc>{escape(description)}</desc>'
        f"{body}</svg>"
    )


def _shortened(label: str) -> str:
    return label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _ticks(low: float, high: float) -> list[float]:
    """Round values (steps of 1, 2, 2.5 or 5 times a power of ten) spanning the domain, about five of them."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / (TICK_COUNT - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + index * step, 10) for index in range(int((high - first) / step + 1e-9) + 1)]


def domain_of(rows: Sequence[IntervalRow], *, include: Sequence[float] = (), pad: float = 0.05) -> tuple[float, float]:
    """The span of every value, interval end and reference value, padded a little."""
    values = [v for row in rows for v in (row.value, row.low, row.high) if v is not None] + list(include)
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    span = high - low or 1.0
    return low - pad * span, high + pad * span


def interval_chart(
    *,
    title: str,
    description: str,
    rows: Sequence[IntervalRow],
    domain: tuple[float, float],
    reference: float | None = None,
    reference_label: str = "",
    digits: int = 3,
) -> SafeString:
    """A dot per estimate with its interval as whiskers, on a shared axis, and an optional reference line
    (the four-fifths rule at 0.8 for ratios, zero for differences)."""
    low, high = domain
    span = (high - low) or 1.0
    plot = INTERVAL_WIDTH - INTERVAL_LABEL - INTERVAL_VALUE
    height = TOP + INTERVAL_ROW * max(len(rows), 1) + AXIS

    def x(value: float) -> float:
        return round(INTERVAL_LABEL + plot * (min(max(value, low), high) - low) / span, 1)

    parts = []
    bottom = TOP + INTERVAL_ROW * max(len(rows), 1)
    for tick in _ticks(low, high):
        parts.append(
            format_html(
                '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                x(tick),
                TOP - 4,
                x(tick),
                bottom,
                x(tick),
                bottom + 14,
                f"{tick:g}",
            )
        )
    if reference is not None and low <= reference <= high:
        parts.append(
            format_html(
                '<line class="threshold" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                x(reference),
                TOP - 6,
                x(reference),
                bottom,
                x(reference),
                TOP - 9,
                reference_label or f"{reference:g}",
            )
        )
    for index, row in enumerate(rows):
        y = TOP + index * INTERVAL_ROW + INTERVAL_ROW / 2
        shown = "n/a" if row.value is None else f"{row.value:.{digits}f}"
        interval = "" if row.low is None or row.high is None else f" ({row.low:.{digits}f} to {row.high:.{digits}f})"
        parts.append(
            format_html(
                '<g><title>{}: {}{}</title><text class="bar-label" x="{}" y="{}" text-anchor="end">{}</text>'
                '<text class="bar-value" x="{}" y="{}">{}</text></g>',
                row.label,
                shown,
                interval,
                INTERVAL_LABEL - 8,
                y + 4,
                _shortened(row.label),
                INTERVAL_WIDTH - INTERVAL_VALUE + 6,
                y + 4,
                shown,
            )
        )
        if row.low is not None and row.high is not None:
            parts.append(
                format_html(
                    '<line class="whisker" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                    '<line class="whisker" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                    '<line class="whisker" x1="{}" y1="{}" x2="{}" y2="{}"/>',
                    x(row.low),
                    y,
                    x(row.high),
                    y,
                    x(row.low),
                    y - 5,
                    x(row.low),
                    y + 5,
                    x(row.high),
                    y - 5,
                    x(row.high),
                    y + 5,
                )
            )
        if row.value is not None:
            parts.append(format_html('<circle class="{}" cx="{}" cy="{}" r="4.5"/>', row.css_class, x(row.value), y))
    return _svg(title, description, parts, INTERVAL_WIDTH, height)


def plane_chart(
    *,
    title: str,
    description: str,
    points: Sequence[PlanePoint],
    x_label: str,
    y_label: str,
    frontier: Sequence[PlanePoint] = (),
    threshold: float | None = None,
) -> SafeString:
    """A scatter of models: x accuracy (AUC), y fairness (lowest adverse impact ratio) with its interval,
    the Pareto frontier joined by a line, and the four-fifths threshold."""
    xs = [p.x for p in points] or [0.5, 1.0]
    ys = [v for p in points for v in (p.y, p.y_low, p.y_high) if v is not None] + (
        [threshold] if threshold is not None else []
    )
    x_low, x_high = min(xs), max(xs)
    x_pad = max((x_high - x_low) * 0.1, 0.005)
    x_low, x_high = x_low - x_pad, x_high + x_pad
    y_low, y_high = (min(ys), max(ys)) if ys else (0.0, 1.0)
    y_pad = max((y_high - y_low) * 0.08, 0.02)
    y_low, y_high = y_low - y_pad, y_high + y_pad
    plot_width, plot_height = PLANE_WIDTH - PLANE_LEFT - PLANE_RIGHT, PLANE_HEIGHT - TOP - PLANE_BOTTOM

    def px(value: float) -> float:
        return round(PLANE_LEFT + plot_width * (value - x_low) / (x_high - x_low), 1)

    def py(value: float) -> float:
        return round(TOP + plot_height * (1 - (value - y_low) / (y_high - y_low)), 1)

    parts = [
        format_html(
            '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/><line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>',
            PLANE_LEFT,
            TOP + plot_height,
            PLANE_WIDTH - PLANE_RIGHT,
            TOP + plot_height,
            PLANE_LEFT,
            TOP,
            PLANE_LEFT,
            TOP + plot_height,
        )
    ]
    for tick in _ticks(x_low, x_high):
        parts.append(
            format_html(
                '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                px(tick),
                TOP + plot_height + 16,
                f"{tick:g}",
            )
        )
    for tick in _ticks(y_low, y_high):
        parts.append(
            format_html(
                '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>',
                PLANE_LEFT,
                py(tick),
                PLANE_WIDTH - PLANE_RIGHT,
                py(tick),
                PLANE_LEFT - 6,
                py(tick) + 4,
                f"{tick:g}",
            )
        )
    parts.append(
        format_html(
            '<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>'
            '<text class="axis-label" x="12" y="{}" text-anchor="middle" transform="rotate(-90 12 {})">{}</text>',
            round(PLANE_LEFT + plot_width / 2, 1),
            PLANE_HEIGHT - 8,
            x_label,
            round(TOP + plot_height / 2, 1),
            round(TOP + plot_height / 2, 1),
            y_label,
        )
    )
    if threshold is not None and y_low <= threshold <= y_high:
        parts.append(
            format_html(
                '<line class="threshold" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="start">{}</text>',
                PLANE_LEFT,
                py(threshold),
                PLANE_WIDTH - PLANE_RIGHT,
                py(threshold),
                PLANE_LEFT + 4,
                py(threshold) + 12,
                f"four-fifths {threshold:g}",
            )
        )
    if len(frontier) > 1:
        ordered = sorted(frontier, key=lambda p: p.x)
        coordinates = " ".join(f"{px(p.x):.1f},{py(p.y):.1f}" for p in ordered)
        parts.append(format_html('<polyline class="frontier" points="{}"/>', coordinates))
    for point in points:
        if point.y_low is not None and point.y_high is not None:
            parts.append(
                format_html(
                    '<line class="whisker" x1="{}" y1="{}" x2="{}" y2="{}"/>',
                    px(point.x),
                    py(point.y_low),
                    px(point.x),
                    py(point.y_high),
                )
            )
    for point in points:
        parts.append(
            format_html(
                '<g><title>{}: AUC {}, lowest ratio {}</title><circle class="{}" cx="{}" cy="{}" r="5.5"/>'
                '<text class="point-label" x="{}" y="{}">{}</text></g>',
                point.label,
                f"{point.x:.3f}",
                f"{point.y:.3f}",
                point.css_class,
                px(point.x),
                py(point.y),
                px(point.x) + 8,
                py(point.y) - 6,
                _shortened(point.label.split(" ")[0]),
            )
        )
    return _svg(title, description, parts, PLANE_WIDTH, PLANE_HEIGHT)


def trend_chart(
    *, title: str, description: str, rows: Sequence[IntervalRow], threshold: float | None = None
) -> SafeString:
    """Estimates in time order, left to right, each with its interval, and the four-fifths line."""
    values = [v for row in rows for v in (row.value, row.low, row.high) if v is not None]
    high = max([1.0, *values]) + 0.05
    low = min([threshold or 0.5, *values]) - 0.05
    plot_width = PLANE_WIDTH - TREND_LEFT - PLANE_RIGHT
    plot_height = TREND_HEIGHT - TOP - TREND_BOTTOM
    step = plot_width / max(len(rows), 1)

    def py(value: float) -> float:
        return round(TOP + plot_height * (1 - (value - low) / (high - low)), 1)

    parts = [
        format_html(
            '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>',
            TREND_LEFT,
            TOP + plot_height,
            PLANE_WIDTH - PLANE_RIGHT,
            TOP + plot_height,
        )
    ]
    for tick in _ticks(low, high):
        parts.append(
            format_html(
                '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>',
                TREND_LEFT,
                py(tick),
                PLANE_WIDTH - PLANE_RIGHT,
                py(tick),
                TREND_LEFT - 6,
                py(tick) + 4,
                f"{tick:g}",
            )
        )
    if threshold is not None:
        parts.append(
            format_html(
                '<line class="threshold" x1="{}" y1="{}" x2="{}" y2="{}"/>',
                TREND_LEFT,
                py(threshold),
                PLANE_WIDTH - PLANE_RIGHT,
                py(threshold),
            )
        )
    for index, row in enumerate(rows):
        x = round(TREND_LEFT + step * (index + 0.5), 1)
        label_y = TOP + plot_height + 12
        parts.append(
            format_html(
                '<text class="tick" x="{}" y="{}" text-anchor="end" transform="rotate(-40 {} {})">{}</text>',
                x,
                label_y,
                x,
                label_y,
                _shortened(row.label)[:14],
            )
        )
        if row.low is not None and row.high is not None:
            parts.append(
                format_html('<line class="whisker" x1="{}" y1="{}" x2="{}" y2="{}"/>', x, py(row.low), x, py(row.high))
            )
        if row.value is not None:
            parts.append(
                format_html(
                    '<g><title>{}: {}</title><circle class="{}" cx="{}" cy="{}" r="4.5"/></g>',
                    row.label,
                    f"{row.value:.3f}",
                    row.css_class,
                    x,
                    py(row.value),
                )
            )
    return _svg(title, description, parts, PLANE_WIDTH, TREND_HEIGHT)
