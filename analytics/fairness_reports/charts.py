"""Fair-lending charts as inline SVG: estimates with their intervals, the accuracy-fairness plane, trends.

Like `finai.charts`, drawn on the server so pages work offline and print; every figure shows its
confidence interval, because a ratio from a small group read without one invites over-reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from finai.charts import nice_axis, tick_label

INTERVAL_WIDTH, INTERVAL_LABEL, INTERVAL_VALUE, INTERVAL_ROW = 520, 190, 56, 24
TOP, AXIS = 22, 26
PLANE_WIDTH, PLANE_HEIGHT, PLANE_LEFT, PLANE_BOTTOM, PLANE_RIGHT = 520, 340, 56, 46, 16
TREND_HEIGHT, TREND_LEFT, TREND_BOTTOM = 260, 48, 58
LABEL_CHARACTERS = 28


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
    (the four-fifths rule at 0.8 for ratios, zero for differences).

    The axis has round ticks covering `domain`, every estimate and interval end, and the reference: nothing
    is drawn off its scale.
    """
    values = [v for row in rows for v in (row.value, row.low, row.high)]
    axis = nice_axis(values, include=[*domain, *([] if reference is None else [reference])])
    plot = INTERVAL_WIDTH - INTERVAL_LABEL - INTERVAL_VALUE
    height = TOP + INTERVAL_ROW * max(len(rows), 1) + AXIS

    def x(value: float) -> float:
        return round(INTERVAL_LABEL + plot * axis.share(value), 1)

    parts = []
    bottom = TOP + INTERVAL_ROW * max(len(rows), 1)
    for tick in axis.ticks:
        parts.append(
            format_html(
                '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick x-tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                x(tick),
                TOP - 4,
                x(tick),
                bottom,
                x(tick),
                bottom + 14,
                tick_label(tick),
            )
        )
    if reference is not None:
        parts.append(
            format_html(
                '<line class="threshold" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick threshold-label" x="{}" y="{}" text-anchor="middle">{}</text>',
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
    x_axis = nice_axis([p.x for p in points] or [0.5, 1.0])
    y_axis = nice_axis(
        [v for p in points for v in (p.y, p.y_low, p.y_high)], include=[] if threshold is None else [threshold]
    )
    plot_width, plot_height = PLANE_WIDTH - PLANE_LEFT - PLANE_RIGHT, PLANE_HEIGHT - TOP - PLANE_BOTTOM

    def px(value: float) -> float:
        return round(PLANE_LEFT + plot_width * x_axis.share(value), 1)

    def py(value: float) -> float:
        return round(TOP + plot_height * (1 - y_axis.share(value)), 1)

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
    for tick in x_axis.ticks:
        parts.append(
            format_html(
                '<text class="tick x-tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                px(tick),
                TOP + plot_height + 16,
                tick_label(tick),
            )
        )
    for tick in y_axis.ticks:
        parts.append(
            format_html(
                '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick y-tick" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
                PLANE_LEFT,
                py(tick),
                PLANE_WIDTH - PLANE_RIGHT,
                py(tick),
                PLANE_LEFT - 6,
                py(tick),
                tick_label(tick),
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
    if threshold is not None:
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
    values = [v for row in rows for v in (row.value, row.low, row.high)]
    axis = nice_axis(values, include=[1.0, 0.5 if threshold is None else threshold])
    plot_width = PLANE_WIDTH - TREND_LEFT - PLANE_RIGHT
    plot_height = TREND_HEIGHT - TOP - TREND_BOTTOM
    step = plot_width / max(len(rows), 1)

    def py(value: float) -> float:
        return round(TOP + plot_height * (1 - axis.share(value)), 1)

    parts = [
        format_html(
            '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>',
            TREND_LEFT,
            TOP + plot_height,
            PLANE_WIDTH - PLANE_RIGHT,
            TOP + plot_height,
        )
    ]
    for tick in axis.ticks:
        parts.append(
            format_html(
                '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="tick y-tick" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
                TREND_LEFT,
                py(tick),
                PLANE_WIDTH - PLANE_RIGHT,
                py(tick),
                TREND_LEFT - 6,
                py(tick),
                tick_label(tick),
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
