"""Template filters of the fair-lending pages: estimates with their intervals. They format what views pass them
and never query."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from analytics.fairness_reports.selectors import MISSING, Figure

register = template.Library()
TREND_REPORTS = 40
SEARCHES_SHOWN = 5
SMALLEST_P_SHOWN = 1e-4


@register.filter
def estimate(figure: Figure | None, digits: int = 3) -> str:
    return MISSING if figure is None else figure.as_text(digits)


def _cell(value: str, low: str | None, high: str | None) -> SafeString:
    if low is None or high is None:
        return format_html("{}", value)
    return format_html('{}<span class="ci">{} to {}</span>', value, low, high)


@register.filter
def estimate_cell(figure: Figure | None, digits: int = 3) -> SafeString:
    """For a table cell: the value, and its interval on a second, quieter line."""
    if figure is None or figure.value is None:
        return format_html("{}", MISSING)
    if not figure.has_interval:
        return _cell(f"{figure.value:.{digits}f}", None, None)
    return _cell(f"{figure.value:.{digits}f}", f"{figure.low:.{digits}f}", f"{figure.high:.{digits}f}")


@register.filter
def estimate_percent_cell(figure: Figure | None) -> SafeString:
    if figure is None or figure.value is None:
        return format_html("{}", MISSING)
    if not figure.has_interval:
        return _cell(f"{figure.value:.1%}", None, None)
    return _cell(f"{figure.value:.1%}", f"{figure.low:.1%}", f"{figure.high:.1%}")


@register.filter
def p_value(value: float | None) -> str:
    """A significance test's p-value; below 0.0001 it reads as such rather than as zero."""
    if value is None:
        return MISSING
    return "< 0.0001" if value < SMALLEST_P_SHOWN else f"{value:.4f}"
