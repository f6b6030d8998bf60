"""The override report: by officer, by direction and, for compliance officers only, by protected group."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from lending.models import Override, ProtectedAttributes
from tests.factories import DecisionFactory, LoanApplicationFactory

pytestmark = pytest.mark.django_db


def test_the_override_report_counts_by_officer_direction_and_group(
    compliance_client, loan_officer, second_loan_officer, model_version
):
    rows = [
        (loan_officer, "decline", "approve", "female"),
        (loan_officer, "approve", "decline", "male"),
        (loan_officer, "refer", "approve", "female"),
        (second_loan_officer, "decline", "refer", "male"),
        (second_loan_officer, "approve", None, "female"),
        (loan_officer, "decline", None, "male"),
    ]
    for number, (officer, outcome, overridden_to, sex) in enumerate(rows):
        application = LoanApplicationFactory(submitted_by=officer, reference=f"app-{number}")
        ProtectedAttributes.objects.create(applicant=application.applicant, sex=sex)
        decision = DecisionFactory(application=application, model_version=model_version, outcome=outcome)
        if overridden_to:
            Override.objects.create(
                decision=decision,
                overridden_by=officer,
                justification="documented",
                outcome_before=outcome,
                outcome_after=overridden_to,
            )

    report = compliance_client.get(reverse("lending:override_report")).context["report"]

    assert (report.decisions, report.overrides) == (6, 4)
    by_officer = {t.label: (t.decisions, t.overrides, t.favourable, t.adverse) for t in report.by_officer}
    assert by_officer == {"olivia_officer": (4, 3, 2, 1), "oliver_officer": (2, 1, 1, 0)}
    assert sorted((t.outcome_before, t.outcome_after, t.overrides) for t in report.by_direction) == [
        ("approve", "decline", 1),
        ("decline", "approve", 1),
        ("decline", "refer", 1),
        ("refer", "approve", 1),
    ]
    by_sex = {t.label: (t.decisions, t.overrides, t.favourable, t.adverse) for t in report.by_group["sex"]}
    assert by_sex == {"female": (3, 2, 2, 0), "male": (3, 2, 1, 1)}
    assert [t.rate for t in report.by_group["sex"]] == [pytest.approx(2 / 3), pytest.approx(2 / 3)]


def test_the_group_breakdown_is_for_compliance_officers_only(client, make_user, decided_application):
    administrator = make_user("ada_admin", "admin")
    client.force_login(administrator)

    response = client.get(reverse("lending:override_report"))

    assert response.context["report"].by_group is None
    assert "shown to compliance officers only" in response.content.decode()


def test_loan_officers_cannot_open_the_override_report(officer_client):
    assert officer_client.get(reverse("lending:override_report")).status_code == 403


def test_the_report_shows_overrides_waiting_and_rejected_beside_those_in_force_and_says_outcomes_need_funding(
    compliance_client, loan_officer, second_loan_officer, model_version
):
    for number, status in enumerate(("approved", "pending", "rejected")):
        decision = DecisionFactory(
            application=LoanApplicationFactory(submitted_by=loan_officer, reference=f"app-status-{number}"),
            model_version=model_version,
            outcome="decline",
        )
        Override.objects.create(
            decision=decision,
            overridden_by=loan_officer,
            justification="documented",
            outcome_before="decline",
            outcome_after="approve",
            status=status,
            **({"rejected_by": second_loan_officer, "rejected_at": timezone.now()} if status == "rejected" else {}),
        )

    response = compliance_client.get(reverse("lending:override_report"))

    report = response.context["report"]
    assert (report.overrides, report.pending, report.rejected) == (1, 1, 1)
    assert [(t.label, t.overrides, t.rate) for t in report.by_officer] == [("olivia_officer", 1, pytest.approx(1 / 3))]
    assert "Realised outcomes exist only for funded loans" in response.content.decode()
