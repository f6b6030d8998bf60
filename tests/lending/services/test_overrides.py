"""Overrides and their four eyes: beyond the risk limit an approval waits for a second officer."""

from __future__ import annotations

import datetime as dt
import runpy
import secrets
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import IntegrityError

from finai.errors import ApplicationError
from finai.models import AuditEvent
from finai.services import audit_chain_verify
from lending.models import LoanApplication, Override
from lending.selectors import application_search
from lending.services.applications import application_final_outcome, loan_fund
from lending.services.overrides import decision_override, override_approve, override_reject, override_risk_limit
from tests.factories import DecisionFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db

SETTINGS_FILE = Path(__file__).resolve().parents[3] / "finai" / "settings" / "base.py"
# The model version of tests/conftest.py decides under the default policy: approve below 0.25, decline from 0.50.
BEYOND_THE_LIMIT, WITHIN_THE_LIMIT = 0.62, 0.55


def declined(model_version, probability_of_default=BEYOND_THE_LIMIT, **fields):
    return DecisionFactory(
        model_version=model_version, outcome="decline", probability_of_default=probability_of_default, **fields
    )


def override(decision, officer, outcome="approve"):
    return decision_override(
        decision=decision, outcome=outcome, justification="Payslips verified in branch.", overridden_by=officer
    )


def pending_override(model_version, officer):
    return override(declined(model_version), officer)


def test_an_override_requires_a_justification(loan_officer, model_version):
    decision = declined(model_version, WITHIN_THE_LIMIT)

    with pytest.raises(ApplicationError) as caught:
        decision_override(decision=decision, outcome="approve", justification="  ", overridden_by=loan_officer)

    assert "justification" in caught.value.details
    assert not Override.objects.exists()


def test_approving_a_decline_beyond_the_risk_limit_waits_for_a_second_officer(loan_officer, model_version):
    decision = declined(model_version, BEYOND_THE_LIMIT)

    requested = override(decision, loan_officer)

    assert requested.status == Override.Status.PENDING
    assert (requested.approved_by, requested.approved_at) == (None, None)
    decision.application.refresh_from_db()
    assert decision.application.status == LoanApplication.Status.DECIDED


def test_approving_a_decline_within_the_risk_limit_is_acted_on_at_once(loan_officer, model_version):
    decision = declined(model_version, WITHIN_THE_LIMIT)

    made = override(decision, loan_officer)

    assert made.status == Override.Status.APPROVED
    assert made.approved_by is None  # no second officer was needed
    assert made.approved_at is not None
    decision.application.refresh_from_db()
    assert decision.application.status == LoanApplication.Status.OVERRIDDEN
    assert application_final_outcome(decision.application) == "approve"
    loan = loan_fund(application=decision.application, principal=Decimal("1000"), funded_on=dt.date(2026, 2, 1))
    assert loan.principal == Decimal("1000")


@pytest.mark.parametrize(
    ("margin", "probability_of_default", "needs_second_officer"),
    [(0.10, 0.59, False), (0.10, 0.60, True), (0.10, 0.95, True), (0.05, 0.55, True), (0.0, 0.50, True)],
)
def test_the_limit_is_the_decisions_decline_line_plus_the_configured_margin(
    settings, model_version, margin, probability_of_default, needs_second_officer
):
    settings.OVERRIDE_RISK_MARGIN = margin
    decision = declined(model_version, probability_of_default)

    risk = override_risk_limit(decision=decision, outcome_after="approve")

    assert risk.needs_second_officer is needs_second_officer
    assert risk.limit == pytest.approx(0.5 + margin)


def test_the_limit_is_the_decisions_own_policy_and_allows_for_floating_point_cut_offs(settings):
    """0.2 + 0.1 is 0.30000000000000004 in floating point; a probability of default of 0.3 is at the limit."""
    settings.OVERRIDE_RISK_MARGIN = 0.1
    tight = {"version": "tight-1", "approve_below": 0.1, "decline_from": 0.2}
    version = ModelVersionFactory(metrics={"policy": tight})
    decision = DecisionFactory(
        model_version=version, outcome="decline", probability_of_default=0.3, policy_version="tight-1"
    )

    risk = override_risk_limit(decision=decision, outcome_after="approve")

    assert (risk.decline_from, risk.needs_second_officer) == (0.2, True)


def test_overrides_towards_refer_or_decline_never_wait_for_a_second_officer(loan_officer, model_version):
    to_refer = override(declined(model_version, 0.97), loan_officer, outcome="refer")
    to_decline = override(DecisionFactory(model_version=model_version, outcome="approve"), loan_officer, "decline")

    assert (to_refer.status, to_decline.status) == (Override.Status.APPROVED, Override.Status.APPROVED)


def test_a_decline_whose_distance_from_the_line_cannot_be_measured_waits_for_a_second_officer(loan_officer):
    unknown_policy = DecisionFactory(outcome="decline", probability_of_default=0.51, policy_version="retired-1")
    no_probability = DecisionFactory(outcome="decline", probability_of_default=None)

    assert override(unknown_policy, loan_officer).status == Override.Status.PENDING
    assert override(no_probability, loan_officer).status == Override.Status.PENDING


def test_a_pending_override_does_not_change_the_outcome_acted_on_and_cannot_be_funded(loan_officer, model_version):
    application = pending_override(model_version, loan_officer).decision.application

    assert application_final_outcome(application) == "decline"
    assert application_search().get(pk=application.pk).final_outcome == "decline"
    with pytest.raises(ApplicationError, match="Only an approved application can be funded"):
        loan_fund(application=application, principal=Decimal("2500"), funded_on=dt.date(2026, 1, 5))


def test_a_second_officer_approving_puts_the_override_into_force(loan_officer, second_loan_officer, model_version):
    requested = pending_override(model_version, loan_officer)

    approved = override_approve(override=requested, approved_by=second_loan_officer, note="Payslips seen.")

    assert approved.status == Override.Status.APPROVED
    assert (approved.approved_by, approved.review_note) == (second_loan_officer, "Payslips seen.")
    assert approved.approved_at is not None
    application = LoanApplication.objects.get(pk=requested.decision.application_id)
    assert application.status == LoanApplication.Status.OVERRIDDEN
    assert application_final_outcome(application) == "approve"
    loan = loan_fund(application=application, principal=Decimal("2500"), funded_on=dt.date(2026, 1, 5))
    assert loan.application_id == application.pk


def test_the_officer_who_asked_cannot_approve_their_own_override(loan_officer, model_version):
    requested = pending_override(model_version, loan_officer)

    with pytest.raises(ApplicationError) as caught:
        override_approve(override=requested, approved_by=loan_officer, note="")

    assert caught.value.code == "four_eyes"
    assert "approved_by" in caught.value.details
    requested.refresh_from_db()
    assert requested.status == Override.Status.PENDING
    assert application_final_outcome(requested.decision.application) == "decline"


def test_the_database_refuses_an_override_approved_by_the_officer_who_asked(loan_officer, model_version):
    requested = pending_override(model_version, loan_officer)

    with pytest.raises(IntegrityError):
        Override.objects.filter(pk=requested.pk).update(status="approved", approved_by=loan_officer)


def test_the_officer_who_asked_cannot_reject_their_own_override(loan_officer, model_version):
    requested = pending_override(model_version, loan_officer)

    with pytest.raises(ApplicationError) as caught:
        override_reject(override=requested, rejected_by=loan_officer, note="Withdrawn.")

    assert "rejected_by" in caught.value.details


def test_a_rejection_leaves_the_models_outcome_and_allows_a_new_request(
    loan_officer, second_loan_officer, model_version
):
    requested = pending_override(model_version, loan_officer)

    rejected = override_reject(override=requested, rejected_by=second_loan_officer, note="Income not verified.")

    assert rejected.status == Override.Status.REJECTED
    assert (rejected.rejected_by, rejected.review_note) == (second_loan_officer, "Income not verified.")
    application = LoanApplication.objects.get(pk=requested.decision.application_id)
    assert application.status == LoanApplication.Status.DECIDED
    assert application_final_outcome(application) == "decline"
    again = override(requested.decision, loan_officer)
    assert again.status == Override.Status.PENDING


def test_a_rejection_must_say_why(loan_officer, second_loan_officer, model_version):
    requested = pending_override(model_version, loan_officer)

    with pytest.raises(ApplicationError) as caught:
        override_reject(override=requested, rejected_by=second_loan_officer, note=" ")

    assert "note" in caught.value.details
    requested.refresh_from_db()
    assert requested.status == Override.Status.PENDING


def test_a_second_override_of_a_decision_already_waiting_is_refused(loan_officer, second_loan_officer, model_version):
    requested = pending_override(model_version, loan_officer)

    with pytest.raises(ApplicationError) as caught:
        override(requested.decision, second_loan_officer)

    assert "decision" in caught.value.details
    assert Override.objects.count() == 1


def test_an_override_already_decided_cannot_be_decided_again(
    loan_officer, second_loan_officer, administrator, model_version
):
    requested = pending_override(model_version, loan_officer)
    override_approve(override=requested, approved_by=second_loan_officer, note="")

    with pytest.raises(ApplicationError, match="already approved"):
        override_reject(override=requested, rejected_by=administrator, note="Too late.")


def test_only_officers_decide_overrides(loan_officer, compliance_officer, model_version):
    requested = pending_override(model_version, loan_officer)

    with pytest.raises(PermissionDenied):
        override_approve(override=requested, approved_by=compliance_officer, note="")


def test_each_step_of_an_approved_override_is_in_the_audit_trail(loan_officer, second_loan_officer, model_version):
    requested = pending_override(model_version, loan_officer)
    override_approve(override=requested, approved_by=second_loan_officer, note="Payslips seen.")

    about = {"object_type": "decision", "object_id": str(requested.decision_id)}
    asked = AuditEvent.objects.get(action="decision.override_requested", **about)
    assert asked.actor == loan_officer
    assert asked.payload["after"] == "approve"
    assert asked.payload["risk_limit"]["needs_second_officer"] is True
    assert asked.payload["risk_limit"]["limit"] == pytest.approx(0.6)
    approved = AuditEvent.objects.get(action="decision.override_approved", **about)
    assert approved.actor == second_loan_officer
    assert (approved.payload["requested_by"], approved.payload["note"]) == ("olivia_officer", "Payslips seen.")
    moved = AuditEvent.objects.get(
        action="application.status_changed", object_id=str(requested.decision.application_id)
    )
    assert (moved.payload["to"], moved.actor) == ("overridden", second_loan_officer)
    assert not AuditEvent.objects.filter(action="decision.overridden").exists()
    assert audit_chain_verify().intact


def test_a_rejection_is_in_the_audit_trail(loan_officer, second_loan_officer, model_version):
    requested = pending_override(model_version, loan_officer)
    override_reject(override=requested, rejected_by=second_loan_officer, note="Income not verified.")

    event = AuditEvent.objects.get(action="decision.override_rejected", object_id=str(requested.decision_id))
    assert event.actor == second_loan_officer
    assert event.payload["note"] == "Income not verified."
    assert not AuditEvent.objects.filter(action="application.status_changed").exists()
    assert audit_chain_verify().intact


def test_an_override_within_the_limit_is_audited_with_the_limit_it_was_within(loan_officer, model_version):
    made = override(declined(model_version, WITHIN_THE_LIMIT), loan_officer)

    event = AuditEvent.objects.get(action="decision.overridden", object_id=str(made.decision_id))
    assert event.payload["justification"] == "Payslips verified in branch."
    assert event.payload["risk_limit"]["needs_second_officer"] is False
    assert audit_chain_verify().intact


@pytest.mark.parametrize("value", ["ten percent", "-0.1", "1.5", "nan"])
def test_start_up_refuses_a_risk_margin_that_is_not_a_probability_margin(monkeypatch, value):
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(50))
    monkeypatch.setenv("OVERRIDE_RISK_MARGIN", value)

    with pytest.raises(ImproperlyConfigured, match="OVERRIDE_RISK_MARGIN"):
        runpy.run_path(str(SETTINGS_FILE))


def test_the_risk_margin_defaults_to_ten_points(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(50))
    monkeypatch.delenv("OVERRIDE_RISK_MARGIN", raising=False)

    assert runpy.run_path(str(SETTINGS_FILE))["OVERRIDE_RISK_MARGIN"] == 0.10
