"""Decisions and overrides altered in the database are named by every audit verification (issue 20, finding 1).

The probe's attack: `UPDATE lending_decision SET outcome='decline', probability_of_default=0.91, score=300`
left the hash chain intact while the API served the forged outcome.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from finai.services import audit_chain_verify, audit_trail_verify
from lending.models import Decision, Override
from lending.services.applications import ApplicantDetails, LoanRequest, loan_application_submit
from tests.factories import DecisionFactory
from tests.lending.overrides import override_to_approve
from tests.lending.services.test_decisions import RISKY, SAFE

pytestmark = pytest.mark.django_db


def _decide(officer, features, *, amount: str, term: int) -> Decision:
    application = loan_application_submit(
        applicant=ApplicantDetails(full_name="Test Applicant"),
        request=LoanRequest(amount=Decimal(amount), term_months=term, purpose="car (used)", features=features),
        submitted_by=officer,
        decide="sync",
    )
    return application.decisions.get()


@pytest.fixture
def approved(champion, loan_officer) -> Decision:
    decision = _decide(loan_officer, SAFE, amount="1500", term=12)
    assert decision.outcome == "approve"
    return decision


@pytest.fixture
def overridden(champion, loan_officer, second_loan_officer) -> Override:
    decision = _decide(loan_officer, RISKY, amount="9000", term=48)
    assert decision.outcome == "decline"
    return override_to_approve(decision, officer=loan_officer, second_officer=second_loan_officer)


def _sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _verify() -> str:
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    return out.getvalue()


def test_decisions_and_overrides_made_through_the_services_agree_with_their_events(approved, overridden):
    # The German credit records imported for training are historical decisions with no event of their own.
    assert Decision.objects.filter(model_version__isnull=True).count() == 1000

    verification = audit_trail_verify()

    assert verification.intact, verification.findings
    assert _verify().startswith("Audit chain intact:")


def test_verify_audit_log_names_a_decision_forged_by_sql(approved):
    recorded_probability, recorded_score = approved.probability_of_default, approved.score
    _sql(
        "UPDATE lending_decision SET outcome = 'decline', probability_of_default = 0.91, score = 300 WHERE id = %s",
        [approved.pk],
    )
    assert audit_chain_verify().intact  # the chain alone cannot see it

    with pytest.raises(CommandError) as caught:
        _verify()

    assert f"decision {approved.pk}: differs from decision.made event #" in str(caught.value)
    assert (
        f"outcome 'decline' (recorded 'approve'), probability_of_default 0.91 (recorded {recorded_probability!r}), "
        f"score 300 (recorded {recorded_score!r})"
    ) in str(caught.value)


def test_the_portal_names_a_forged_decision(compliance_client, approved):
    _sql("UPDATE lending_decision SET outcome = 'decline' WHERE id = %s", [approved.pk])

    response = compliance_client.post(reverse("audit_verify"), follow=True)

    html = response.content.decode()
    assert response.context["verification"]["intact"] is False
    assert "Chain links intact" in html
    assert f"decision {approved.pk}</strong> differs from decision.made event" in html
    assert "outcome &#x27;decline&#x27; (recorded &#x27;approve&#x27;)" in html


def test_reason_codes_are_compared(overridden):
    declined = overridden.decision
    _sql("UPDATE lending_decision SET reasons = %s WHERE id = %s", ["[]", declined.pk])

    [finding] = audit_trail_verify().findings

    assert finding.object_id == str(declined.pk)
    assert "reasons [] (recorded [" in finding.problem


def test_a_decision_taken_out_of_the_primary_record_is_named(approved):
    _sql("UPDATE lending_decision SET is_shadow = %s, model_version_id = NULL WHERE id = %s", [True, approved.pk])

    [finding] = audit_trail_verify().findings

    assert finding.object_id == str(approved.pk)
    assert "primary False (recorded True)" in finding.problem
    assert f"model_version None (recorded {approved.model_version_id})" in finding.problem


def test_a_decision_written_without_the_decision_service_is_named(champion):
    forged = DecisionFactory(model_version=champion, outcome="approve")

    [finding] = audit_trail_verify().findings

    assert (finding.object_type, finding.object_id) == ("decision", str(forged.pk))
    assert finding.problem == "has no decision.made event: it was not made through the decision service"


def test_an_override_altered_or_forged_in_the_database_is_named(approved, overridden, loan_officer):
    _sql("UPDATE lending_override SET outcome_after = 'refer' WHERE id = %s", [overridden.pk])
    forged = Override.objects.create(
        decision=approved, overridden_by=loan_officer, justification="forged", outcome_before="approve",
        outcome_after="decline",
    )  # fmt: skip

    findings = {finding.object_id: finding.problem for finding in audit_trail_verify().findings}

    assert findings.keys() == {str(overridden.pk), str(forged.pk)}
    assert "outcome_after 'refer' (recorded 'approve')" in findings[str(overridden.pk)]
    assert findings[str(forged.pk)] == "has no audit event: it was not made through the override service"
