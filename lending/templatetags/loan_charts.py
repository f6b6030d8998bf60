"""The loan page's chart: days past due at each repayment report."""

from __future__ import annotations

from collections.abc import Sequence

from django import template
from django.utils.safestring import SafeString

from finai.charts import DatedValue, time_series_chart
from lending.models import RepaymentOutcome

register = template.Library()

# Most loans stay current, so the scale starts at a month past due: a few days late stays visibly small.
MINIMUM_TOP_DAYS = 30
MARKER_CLASSES = {
    RepaymentOutcome.Status.CURRENT: "series-1",
    RepaymentOutcome.Status.PAID: "series-4",
    RepaymentOutcome.Status.DEFAULTED: "series-5",
}


@register.simple_tag
def days_past_due_chart(outcomes: Sequence[RepaymentOutcome]) -> SafeString:
    points = [
        DatedValue(
            day=outcome.as_of,
            value=outcome.days_past_due,
            css_class=MARKER_CLASSES.get(outcome.status, "series-1"),
            label=f"{outcome.as_of.isoformat()}: {outcome.get_status_display().lower()}, "
            f"{outcome.days_past_due} days past due",
        )
        for outcome in outcomes
    ]
    return time_series_chart(
        title="Days past due over time",
        description=f"Days past due at each of {len(points)} repayment reports, from the first to the latest.",
        points=points,
        y_label="Days past due",
        x_label="Reported as of",
        y_minimum_top=MINIMUM_TOP_DAYS,
    )
