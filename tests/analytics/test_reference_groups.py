"""One meaning of "reference group" (and of "most favoured group") on every page: the version page names the groups
its fairness report names."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from analytics.fairness_reports.services import fairness_report_run, model_version_fairness_report_request

HEADING = re.compile(r'>([^<>]+) <span class="muted small">reference group ([^<·]+?) · most favoured ([^<·]+?)\s*[<·]')


def named_groups(html: str) -> dict[str, tuple[str, str]]:
    """Attribute heading -> (reference group, most favoured group), as the page prints them."""
    return {attribute.strip(): (reference, favoured) for attribute, reference, favoured in HEADING.findall(html)}


def test_the_version_page_and_the_fairness_report_name_the_same_reference_group_per_attribute(
    trained_version, model_manager, compliance_officer
):
    report = fairness_report_run(
        report_id=model_version_fairness_report_request(
            version=trained_version, requested_by=compliance_officer, queue=False
        ).pk
    )
    manager, compliance = Client(), Client()
    manager.force_login(model_manager)
    compliance.force_login(compliance_officer)

    on_version_page = named_groups(
        manager.get(reverse("analytics:version_detail", args=[trained_version.pk])).content.decode()
    )
    in_report = named_groups(
        compliance.get(reverse("analytics:fairness_report_detail", args=[report.pk])).content.decode()
    )

    assert on_version_page, "the version page names no reference group"
    assert set(on_version_page) <= set(in_report)
    for attribute, named in on_version_page.items():
        assert named == in_report[attribute], attribute  # the reference group and the most favoured group
