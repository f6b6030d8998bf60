"""Template helpers of the fair-lending pages: estimates with intervals, and the sections other pages embed."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString

from analytics.fairness_charts import IntervalRow, trend_chart
from analytics.fairness_selectors import MISSING, Figure, alternative_search_list, fairness_report_trend
from analytics.forms import AlternativeSearchForm
from analytics.models import ModelVersion
from finai.roles import Role, user_has_role

register = template.Library()
TREND_REPORTS = 40
SEARCHES_SHOWN = 5
SMALLEST_P_SHOWN = 1e-4


@register.filter
def estimate(figure: Figure | None, digits: int = 3) -> str:
    return MISSING if figure is None else figure.as_text(digits)


@register.filter
def estimate_percent(figure: Figure | None) -> str:
    return MISSING if figure is None else figure.as_percent()


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


@register.inclusion_tag("analytics/fairness_report_trend.html", takes_context=True)
def fairness_reports_over_time(context: template.Context, selected: ModelVersion | None = None) -> dict[str, Any]:
    """For the fairness dashboard: stored reports over time, each lowest ratio with its interval."""
    threshold = settings.FAIRNESS_AIR_THRESHOLD
    trend = fairness_report_trend(limit=TREND_REPORTS)
    rows = [
        IntervalRow(
            f"#{report.pk} {report.created_at:%m-%d}",
            lowest.ratio.value,
            lowest.ratio.low,
            lowest.ratio.high,
            "dot-alert" if lowest.ratio.value < threshold else "dot",
        )
        for report, lowest in trend
        if lowest is not None
    ]
    chart = None
    if rows:
        chart = trend_chart(
            title="Lowest adverse impact ratio of each stored report, oldest first",
            description="Against the most favoured group of adequate size, with its interval; the dashed line is "
            f"the four-fifths rule at {threshold:g}.",
            rows=rows,
            threshold=threshold,
        )
    return {
        "trend": list(reversed(trend)),
        "chart": chart,
        "threshold": threshold,
        "selected": selected,
        "searches": list(alternative_search_list()[:SEARCHES_SHOWN]),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("analytics/alternative_searches.html", takes_context=True)
def alternative_searches(context: template.Context, version: ModelVersion) -> dict[str, Any]:
    """For a version page: its searches for less discriminatory alternatives, and the form to start one."""
    request = context.get("request")
    trained = version.status not in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED)
    may_search = request is not None and user_has_role(request.user, Role.MODEL_MANAGER, Role.ADMIN)
    return {
        "version": version,
        "searches": list(alternative_search_list(base_version=version)[:SEARCHES_SHOWN]),
        "form": AlternativeSearchForm() if trained and may_search else None,
        "lineage": (version.params or {}).get("lineage"),
        "csrf_token": context.get("csrf_token"),
    }
