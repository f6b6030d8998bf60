"""Fair-lending reports over the live decisions of a time window: checked when requested, exported from
lending's records and audited on the worker."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from analytics.models import FairnessReport
from finai.errors import ApplicationError
from lending.models import Applicant, Decision, LoanApplication, Override, ProtectedAttributes
from monitoring.services.fairness import (
    window_decisions_export,
    window_fairness_report_request,
    window_fairness_report_run,
)

pytestmark = pytest.mark.django_db

JANUARY = dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)


def decided(number: int, *, sex: str | None, outcome: str, when: dt.datetime = JANUARY, shadow_too: bool = False):
    applicant = Applicant.objects.create(reference=f"window-applicant-{number}")
    if sex is not None:
        ProtectedAttributes.objects.create(applicant=applicant, sex=sex, age_band=">=25")
    application = LoanApplication.objects.create(
        reference=f"window-{number}",
        applicant=applicant,
        amount=Decimal("1000"),
        term_months=12,
        status=LoanApplication.Status.DECIDED,
        submitted_at=when,
    )
    decision = Decision.objects.create(
        application=application,
        outcome=outcome,
        score=620 if outcome == "approve" else 560,
        policy_version="consumer-2025.1",
        decided_at=when,
    )
    if shadow_too:
        Decision.objects.create(
            application=application, is_shadow=True, outcome="decline", policy_version="x", decided_at=when
        )
    return decision


@pytest.fixture
def january(loan_officer):
    """45 men (30 approved), 40 women (19 approved + 1 decline overridden to approve), 3 of unknown sex."""
    number = 0
    for count, sex, outcome in ((30, "male", "approve"), (15, "male", "decline"), (19, "female", "approve")):
        for _ in range(count):
            number += 1
            decided(number, sex=sex, outcome=outcome, shadow_too=number % 7 == 0)
    for index in range(21):
        number += 1
        decision = decided(number, sex="female", outcome="decline")
        if index == 0:
            Override.objects.create(
                decision=decision,
                overridden_by=loan_officer,
                justification="Verified income covers the payment.",
                outcome_before="decline",
                outcome_after="approve",
            )
    for _ in range(3):
        number += 1
        decided(number, sex=None, outcome="approve")
    decided(number + 1, sex="female", outcome="decline", when=dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
    decided(number + 2, sex="male", outcome="approve", when=dt.datetime(2024, 12, 31, 23, 59, tzinfo=dt.UTC))


def window_report(**kwargs) -> FairnessReport:
    """Requested as the page requests it, then run as the worker runs it."""
    return window_fairness_report_run(report_id=window_fairness_report_request(queue=False, **kwargs).pk)


def group(report: FairnessReport, attribute: str, label: str) -> dict:
    found = next(a for a in report.results["report"]["attributes"] if a["name"] == attribute)
    return next(g for g in found["groups"] if g["label"] == label)


def test_the_window_report_counts_the_outcome_acted_on_for_primary_decisions_in_the_window(january, compliance_officer):
    report = window_report(
        first_day=dt.date(2025, 1, 1), last_day=dt.date(2025, 1, 31), requested_by=compliance_officer
    )

    female, male = group(report, "sex", "female"), group(report, "sex", "male")
    assert (report.kind, report.status, report.row_count) == ("window", "done", 88)
    assert (female["applicants"], female["approved"]) == (40, 20)
    assert (male["applicants"], male["approved"]) == (45, 30)
    assert female["adverse_impact_ratio"]["value"] == pytest.approx((20 / 40) / (30 / 45), abs=1e-12)
    assert female["scores"]["standardized_mean_difference"]["value"] < 0
    sex = next(a for a in report.results["report"]["attributes"] if a["name"] == "sex")
    assert sex["rows_not_known"] == 3
    assert report.parameters["overridden"] == 1
    assert (report.window_start, report.window_end) == (
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2025, 2, 1, tzinfo=dt.UTC),
    )
    assert report.title == "Decisions 2025-01-01 to 2025-01-31"


def test_the_export_leaves_out_attributes_nobody_recorded(january):
    exported = window_decisions_export(
        window_start=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), window_end=dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    )

    assert list(exported.protected.columns) == ["sex", "age_band"]
    assert len(exported) == 88


def test_an_empty_or_backwards_window_is_refused_by_name(january):
    with pytest.raises(ApplicationError) as backwards:
        window_fairness_report_request(first_day=dt.date(2025, 2, 1), last_day=dt.date(2025, 1, 1))
    with pytest.raises(ApplicationError) as empty:
        window_fairness_report_request(first_day=dt.date(2030, 1, 1), last_day=dt.date(2030, 1, 31))

    assert "window" in backwards.value.details
    assert "decisions" in empty.value.details
    assert not FairnessReport.objects.exists()


def test_a_loan_officer_cannot_run_a_window_report(january, loan_officer):
    with pytest.raises(PermissionDenied):
        window_fairness_report_request(
            first_day=dt.date(2025, 1, 1), last_day=dt.date(2025, 1, 31), requested_by=loan_officer
        )


def test_a_request_queues_the_audit_and_leaves_the_export_to_the_worker(
    january, compliance_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        report = window_fairness_report_request(
            first_day=dt.date(2025, 1, 1), last_day=dt.date(2025, 1, 31), requested_by=compliance_officer
        )

    assert len(queued) == 1
    assert (report.status, report.results, report.parameters["decisions"]) == ("running", {}, 88)


def test_a_window_whose_decisions_have_no_protected_attributes_is_refused_at_once(compliance_officer):
    decided(1, sex=None, outcome="approve")

    with pytest.raises(ApplicationError) as refused:
        window_fairness_report_request(
            first_day=dt.date(2025, 1, 1), last_day=dt.date(2025, 1, 31), requested_by=compliance_officer
        )

    assert "protected attributes" in refused.value.details["window"]
    assert not FairnessReport.objects.exists()
