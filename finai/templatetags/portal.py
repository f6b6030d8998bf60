"""Template helpers of the portal: navigation by role, number formats and the score scale."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString

from finai.charts import score_scale
from finai.roles import Role, user_has_role

register = template.Library()
MISSING = "\N{EN DASH}"


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


# Each role's pages, in menu order; an administrator sees every section.
NAVIGATION: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        Role.LOAN_OFFICER,
        (
            ("Dashboard", "lending:dashboard"),
            ("Applications", "lending:application_list"),
            ("New application", "lending:application_new"),
            ("Loans", "lending:loan_list"),
            ("Outcomes", "lending:outcomes_import"),
            ("Override approvals", "lending:override_queue"),
            ("My overrides", "lending:my_overrides"),
        ),
    ),
    (
        Role.MODEL_MANAGER,
        (
            ("Models", "analytics:version_list"),
            ("Train", "lending:model_train"),
            ("Compare", "analytics:version_compare"),
            ("Monitoring", "monitoring:model_monitoring"),
            ("Policy lab", "monitoring:backtest_list"),
            ("Challengers", "monitoring:challenger_comparison_list"),
            ("Segments", "clustering:experiment_list"),
        ),
    ),
    (
        Role.COMPLIANCE_OFFICER,
        (
            ("Fairness", "monitoring:fairness_dashboard"),
            ("Screening", "monitoring:screening_queue"),
            ("Policy lab", "monitoring:backtest_list"),
            ("Segments", "clustering:experiment_list"),
            ("Overrides", "lending:override_report"),
            ("Audit trail", "audit_search"),
        ),
    ),
    (
        Role.ANALYST,
        (
            ("Analyst home", "clustering:analyst_home"),
            ("New experiment", "clustering:experiment_new"),
            ("Segments", "clustering:experiment_list"),
        ),
    ),
)


@register.simple_tag(takes_context=True)
def portal_navigation(context: template.Context) -> list[NavItem]:
    """The menu for the signed-in person's roles; the current section is marked active."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        return []
    is_admin = user_has_role(user, Role.ADMIN)
    pages: dict[str, str] = {}
    for role, role_pages in NAVIGATION:
        if is_admin or user_has_role(user, role):
            for label, name in role_pages:
                pages.setdefault(reverse(name), label)
    # The current section is the longest menu address the page's path starts with.
    matches = [url for url in pages if request.path.startswith(url)]
    current = max(matches, key=len) if matches else None
    return [NavItem(label, url, url == current) for url, label in pages.items()]


@register.filter
def percent(value: Any, digits: int = 1) -> str:
    """0.4567 -> "45.7%"; missing values print as an en dash."""
    if value is None or value == "":
        return MISSING
    return f"{float(value) * 100:.{digits}f}%"


@register.filter
def number(value: Any, digits: int = 3) -> str:
    if value is None or value == "":
        return MISSING
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{float(value):.{digits}f}"


@register.filter
def humanize_name(value: str) -> str:
    return str(value).replace("_", " ").strip().capitalize()


@register.simple_tag
def decision_scale_chart(decision: Any, scale: Any) -> SafeString:
    """The score on the policy's scale: decline, refer and approve regions, and a marker at the score."""
    return score_scale(
        title="Score on the decision scale",
        score=decision.score,
        low=scale.low,
        high=scale.high,
        bands=[(band.start, band.end, f"band-{band.outcome}", band.outcome.capitalize()) for band in scale.bands],
    )


@register.filter
def field_error_count(form: Any) -> int:
    """How many fields have errors; errors about the form as a whole are listed apart."""
    return sum(1 for name in form.errors if name != "__all__")
