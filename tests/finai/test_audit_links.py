"""Audit events link to their objects: every recorded type is mapped or said to have no page, and a link is shown
only to a viewer who may open it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory
from django.urls import resolve, reverse

from finai.audit_links import AUDIT_OBJECT_PAGES, AUDIT_OBJECTS_WITHOUT_PAGE, audit_object_urls
from finai.models import AuditEvent
from finai.services import audit_event_record
from lending.models import Partner
from tests.analytics.fairness_reports.records import fairness_report_record

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("analytics", "clustering", "finai", "lending", "monitoring")
RECORDERS = {"audit_event_record", "job_finish"}  # job_finish records its `object_type` as the event's
# Calls that pass a type computed at run time, and why that is covered: (file, expression).
COMPUTED_TYPES = {
    ("finai/progress.py", "object_type"),  # job_finish's own parameter: its callers' literals are read here
    ("finai/admin.py", "obj._meta.label_lower"),  # the admin's changes: dotted labels, linked to the admin
}


def recorded_object_types() -> tuple[set[str], set[tuple[str, str]]]:
    """Every literal `object_type=` given to a recorder in the apps' code, and every computed one."""
    literal, computed = set(), set()
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                for keyword in node.keywords:
                    if keyword.arg != "object_type" or name not in RECORDERS:
                        continue
                    if isinstance(keyword.value, ast.Constant):
                        literal.add(keyword.value.value)
                    else:
                        computed.add((str(path.relative_to(ROOT)), ast.unparse(keyword.value)))
    return literal, computed


def test_every_object_type_recorded_in_the_code_maps_to_a_page_or_is_listed_as_having_none():
    literal, computed = recorded_object_types()
    dotted = {object_type for object_type in literal if "." in object_type}

    unmapped = literal - dotted - set(AUDIT_OBJECT_PAGES) - set(AUDIT_OBJECTS_WITHOUT_PAGE)
    assert not unmapped, f"object types with neither a page nor a reason for none: {sorted(unmapped)}"
    assert computed == COMPUTED_TYPES, "a type computed at run time: say here how its events link"
    for label in dotted:  # admin labels ("finai.auditchainhead") link to the admin
        assert admin.site.is_registered(apps.get_model(label)), label


def test_the_map_names_no_type_the_code_never_records():
    literal, _ = recorded_object_types()

    assert set(AUDIT_OBJECT_PAGES) <= literal
    assert set(AUDIT_OBJECTS_WITHOUT_PAGE) <= literal
    assert not set(AUDIT_OBJECT_PAGES) & set(AUDIT_OBJECTS_WITHOUT_PAGE)


@pytest.mark.parametrize("object_type", sorted(AUDIT_OBJECT_PAGES))
def test_each_mapped_page_exists_and_is_role_checked(object_type):
    page = AUDIT_OBJECT_PAGES[object_type]

    if page.url_name:
        assert resolve(reverse(page.url_name, kwargs={"pk": 1})).func.required_roles
    if page.admin_model:
        assert admin.site.is_registered(apps.get_model(page.admin_model))
    if page.via:
        apps.get_model(page.via[0])._meta.get_field(page.via[1].removesuffix("_id"))
    assert page.url_name or page.admin_model


def urls_for(user, *events: AuditEvent) -> list[str | None]:
    request = RequestFactory().get("/compliance/audit/")
    request.user = user
    urls = audit_object_urls(events, request=request)
    return [urls.get(event.pk) for event in events]


@pytest.mark.django_db
def test_an_event_links_to_its_objects_page_for_a_viewer_who_may_open_it(compliance_officer, administrator):
    report = fairness_report_record(created_by=compliance_officer)
    event = audit_event_record(action="fairness.report_requested", object_type="fairness_report", object_id=report.pk)

    assert urls_for(compliance_officer, event) == [reverse("analytics:fairness_report_detail", args=[report.pk])]
    assert urls_for(administrator, event) == [reverse("analytics:fairness_report_detail", args=[report.pk])]


@pytest.mark.django_db
def test_a_page_the_viewer_may_not_open_is_no_link_unless_the_admin_shows_them_the_record(
    compliance_officer, administrator, decided_application
):
    event = audit_event_record(action="decision.made", object_type="loan_application", object_id=decided_application.pk)

    # The application's page is the officers': an administrator opens it; a compliance officer does not.
    assert urls_for(administrator, event) == [reverse("lending:application_detail", args=[decided_application.pk])]
    assert urls_for(compliance_officer, event) == [None]
    # Staff compliance officers read lending records in the admin: the record's admin page instead.
    compliance_officer.is_staff = True
    compliance_officer.save(update_fields=["is_staff"])
    admin_page = reverse("admin:lending_loanapplication_change", args=[decided_application.pk])
    assert urls_for(compliance_officer, event) == [admin_page]


@pytest.mark.django_db
def test_a_decision_is_read_on_its_applications_page(administrator, decided_application):
    decision = decided_application.decisions.get()
    event = audit_event_record(action="decision.overridden", object_type="decision", object_id=decision.pk)

    assert urls_for(administrator, event) == [reverse("lending:application_detail", args=[decided_application.pk])]


@pytest.mark.django_db
def test_types_without_a_page_ids_that_are_not_numbers_and_admin_labels(administrator, compliance_officer):
    partner = Partner.objects.create(name="Acme")
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])
    events = [
        audit_event_record(action="dataset.imported", object_type="dataset", object_id="german_credit"),
        audit_event_record(action="screening.transactions_loaded", object_type="screened_transaction"),
        audit_event_record(action="test", object_type="loan", object_id="not-a-number"),
        audit_event_record(action="test", object_type="unheard_of", object_id=1),
        audit_event_record(action="admin.changed", object_type="lending.partner", object_id=partner.pk),
    ]

    assert urls_for(administrator, *events) == [
        None,
        None,
        None,
        None,
        reverse("admin:lending_partner_change", args=[partner.pk]),
    ]
    assert urls_for(compliance_officer, events[-1]) == [None]  # not staff: the admin is not theirs


@pytest.mark.django_db
def test_the_audit_trail_page_shows_objects_as_links(compliance_client, compliance_officer):
    report = fairness_report_record(created_by=compliance_officer)
    audit_event_record(action="fairness.report_requested", object_type="fairness_report", object_id=report.pk)
    audit_event_record(action="dataset.imported", object_type="dataset", object_id="german_credit")

    page = compliance_client.get(reverse("audit_search")).content.decode()

    detail = reverse("analytics:fairness_report_detail", args=[report.pk])
    assert f'<a href="{detail}">fairness_report {report.pk}</a>' in page
    assert "<td>dataset german_credit</td>" in page


@pytest.mark.django_db
def test_the_page_reads_linked_objects_in_a_fixed_number_of_queries(
    compliance_client, decided_application, django_assert_max_num_queries
):
    decision = decided_application.decisions.get()
    for _ in range(20):
        audit_event_record(action="decision.overridden", object_type="decision", object_id=decision.pk)
        audit_event_record(action="test", object_type="screening_case", object_id=1)

    with django_assert_max_num_queries(14):
        compliance_client.get(reverse("audit_search"))
