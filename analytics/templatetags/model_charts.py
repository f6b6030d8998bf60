"""Model charts for templates: ROC, calibration, feature importance and adverse impact ratios, as SVG."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.safestring import SafeString

from analytics.fairness_reports.selectors import AttributeFairness
from finai.charts import Bar, Series, bar_chart, line_chart

register = template.Library()
SERIES_CLASSES = ("series-1", "series-2")


@register.simple_tag
def roc_chart(*contexts: dict) -> SafeString:
    """ROC curves of one or more versions (each a version context with "version" and "roc")."""
    series = [
        Series(f"v{c['version'].pk} (AUC {c['version'].metrics.get('auc', 0):.3f})", [(0, 0), *c["roc"], (1, 1)], css)
        for c, css in zip(contexts, SERIES_CLASSES, strict=False)
        if c["roc"]
    ]
    return line_chart(
        title="ROC curve on the holdout",
        description="True positive rate against false positive rate; the diagonal is a model without skill.",
        series=series,
        x_label="False positive rate",
        y_label="True positive rate",
    )


@register.simple_tag
def calibration_chart(*contexts: dict) -> SafeString:
    """Predicted against observed default rate per score band; the diagonal is perfect calibration."""
    series = [
        Series(f"v{c['version'].pk}", c["calibration"], css, markers=True)
        for c, css in zip(contexts, SERIES_CLASSES, strict=False)
        if c["calibration"]
    ]
    return line_chart(
        title="Calibration on the holdout",
        description="Observed against mean predicted default rate per score band; the diagonal is perfect "
        "calibration, and both axes share one scale.",
        series=series,
        x_label="Mean predicted default rate",
        y_label="Observed default rate",
    )


@register.simple_tag
def importance_chart(importance: list[tuple[str, float]], limit: int = 10) -> SafeString:
    shown = importance[:limit]
    return bar_chart(
        title="Feature importance",
        description="Each feature's share of the mean absolute attribution on the training data.",
        bars=[Bar(name.replace("_", " "), share) for name, share in shown],
    )


@register.simple_tag
def air_chart(attribute: AttributeFairness) -> SafeString:
    """Each group's adverse impact ratio against its attribute's most favoured group, and the four-fifths line."""
    threshold = settings.FAIRNESS_AIR_THRESHOLD
    bars = [
        Bar(
            group.group,
            group.adverse_impact_ratio,
            css_class="bar-alert" if group.below_threshold else "bar-muted" if group.too_small else "",
        )
        for group in attribute.groups
    ]
    return bar_chart(
        title=f"Adverse impact ratio by {attribute.attribute.replace('_', ' ')}, against the most favoured group",
        description=(
            f"Approval rate over the most favoured group's ({attribute.most_favoured_group or 'n/a'}); below "
            f"{threshold:g} fails the four-fifths rule."
        ),
        bars=bars,
        maximum=1.0,
        threshold=threshold,
    )
