"""Where each audited object can be opened: the one map from an audit event's `object_type` to a page.

An examiner reading the trail follows an event to the record it changed. Each type recorded anywhere in the
code is either here or in `AUDIT_OBJECTS_WITHOUT_PAGE`, with the reason (`tests/finai/test_audit_links.py`
reads every `object_type=` in the code to hold that). URL names and model labels are strings: the core links to
the apps' pages without importing them.

A link is shown only to a viewer who may open it: the portal page when the viewer holds one of its view's roles,
else the record's admin page when the admin lets the viewer see it; otherwise the object stays plain text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, resolve, reverse

from finai.models import AuditEvent
from finai.roles import user_has_role


@dataclass(frozen=True)
class ObjectPage:
    """A type's portal page (`url_name`, taking `pk`) and its admin page (`admin_model`, "app_label.model").

    `via` ("app_label.Model", "field") reads the portal page's pk from the audited record, when the page is its
    parent's: an overridden decision is read on its application's page.
    """

    url_name: str = ""
    admin_model: str = ""
    via: tuple[str, str] | None = None


AUDIT_OBJECT_PAGES: dict[str, ObjectPage] = {
    "loan_application": ObjectPage("lending:application_detail", "lending.loanapplication"),
    "decision": ObjectPage(
        "lending:application_detail", "lending.decision", via=("lending.Decision", "application_id")
    ),
    "loan": ObjectPage("lending:loan_detail", "lending.loan"),
    "bank_account": ObjectPage(admin_model="lending.bankaccount"),
    "partner": ObjectPage(admin_model="lending.partner"),
    "batch": ObjectPage(admin_model="lending.batch"),
    "data_snapshot": ObjectPage(admin_model="analytics.datasnapshot"),
    "model_version": ObjectPage("analytics:version_detail", "analytics.modelversion"),
    "fairness_report": ObjectPage("analytics:fairness_report_detail", "analytics.fairnessreport"),
    "alternative_search": ObjectPage("analytics:lda_search_detail", "analytics.ldasearch"),
    "clustering_experiment": ObjectPage("clustering:experiment_detail", "clustering.clusteringexperiment"),
    "clustering_run": ObjectPage("clustering:run_detail", "clustering.clusteringrun"),
    "segment_proxy_check": ObjectPage(
        "monitoring:segment_proxy", "monitoring.segmentproxycheck", via=("monitoring.SegmentProxyCheck", "run_id")
    ),
    "alert": ObjectPage(admin_model="monitoring.alert"),
    "backtest": ObjectPage("monitoring:backtest_detail", "monitoring.backtest"),
    "challenger_comparison": ObjectPage("monitoring:challenger_comparison_detail", "monitoring.challengercomparison"),
    "screening_case": ObjectPage("monitoring:screening_case", "monitoring.screeningcase"),
    "screening_scenario": ObjectPage("monitoring:screening_scenario", "monitoring.screeningscenario"),
    "screening_run": ObjectPage("monitoring:screening_run", "monitoring.screeningrun"),
}

# Recorded types with no page to open, and why.
AUDIT_OBJECTS_WITHOUT_PAGE: dict[str, str] = {
    "dataset": "a data set is named, not numbered; the data sets page lists them all",
    "outcomes_file": "an uploaded file, kept only as the counts in the event",
    "synthetic_data": "a generated population, described by the event's payload",
    "screened_transaction": "a bulk load of bookings, described by the event's payload",
}

# The Django admin records its own changes under the model's label ("lending.partner"): those link to the admin.
ADMIN_LABEL_SEPARATOR = "."


def _admin_url(request: HttpRequest, label: str, object_id: str) -> str | None:
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    if not admin.site.is_registered(model) or not admin.site.has_permission(request):
        return None
    if not admin.site.get_model_admin(model).has_view_permission(request):
        return None
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[object_id])
    except NoReverseMatch:
        return None


def _portal_url(request: HttpRequest, url_name: str, pk: int, allowed: dict[str, bool]) -> str | None:
    try:
        url = reverse(url_name, kwargs={"pk": pk})
    except NoReverseMatch:
        return None
    if url_name not in allowed:
        roles = getattr(resolve(url).func, "required_roles", None)
        allowed[url_name] = bool(roles) and user_has_role(request.user, *roles)
    return url if allowed[url_name] else None


def _via_pks(events: list[AuditEvent]) -> dict[tuple[str, str], int]:
    """The portal pk of each (object_type, object_id) whose page is its parent's: one query per type."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        page = AUDIT_OBJECT_PAGES.get(event.object_type)
        if page and page.via and event.object_id.isdigit():
            wanted[event.object_type].add(int(event.object_id))
    found: dict[tuple[str, str], int] = {}
    for object_type, ids in wanted.items():
        label, field = AUDIT_OBJECT_PAGES[object_type].via  # type: ignore[misc]
        for pk, parent in apps.get_model(label).objects.filter(pk__in=ids).values_list("pk", field):
            found[(object_type, str(pk))] = parent
    return found


def audit_object_urls(events: Iterable[AuditEvent], *, request: HttpRequest) -> dict[int, str]:
    """Event pk -> the URL of its object's page, for the events whose object this viewer may open."""
    events = list(events)
    via = _via_pks(events)
    allowed: dict[str, bool] = {}
    urls: dict[int, str] = {}
    for event in events:
        object_type, object_id = event.object_type, event.object_id
        if not object_type or not object_id:
            continue
        page = AUDIT_OBJECT_PAGES.get(object_type)
        url = None
        if page is None:
            if ADMIN_LABEL_SEPARATOR in object_type:
                url = _admin_url(request, object_type, object_id)
        else:
            pk = via.get((object_type, object_id)) if page.via else (int(object_id) if object_id.isdigit() else None)
            if page.url_name and pk is not None:
                url = _portal_url(request, page.url_name, pk, allowed)
            if url is None and page.admin_model and object_id.isdigit():
                url = _admin_url(request, page.admin_model, object_id)
        if url:
            urls[event.pk] = url
    return urls
