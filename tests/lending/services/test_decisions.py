"""Deciding with the champion: reasons, reproducibility, idempotency, shadow challengers, caching."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.engine.reason_codes import reason_catalogue_for
from analytics.models import ModelVersion
from analytics.services.registry import model_version_set_challenger, promotion_approve, promotion_request
from analytics.services.serving import scorer_for_version
from analytics.services.training_jobs import model_version_train
from finai.errors import ApplicationError
from finai.models import AuditEvent
from lending.models import Decision, LoanApplication
from lending.services.applications import ApplicantDetails, LoanRequest, loan_application_submit
from lending.services.decisions import application_decide, decision_rescore
from lending.services.training import model_training_start

pytestmark = pytest.mark.django_db

RISKY = {
    "status_of_existing_checking_account": "... < 0 DM",
    "credit_history": "critical account/ other credits existing (not at this bank)",
    "savings_account_and_bonds": "... < 100 DM",
    "present_employment_since": "unemployed",
    "installment_rate_in_percentage_of_disposable_income": 4,
    "other_debtors_or_guarantors": "none",
    "present_residence_since": 1,
    "property": "unknown / no property",
    "other_installment_plans": "bank",
    "housing": "for free",
    "number_of_existing_credits_at_this_bank": 3,
    "job": "unemployed/ unskilled - non-resident",
    "number_of_people_being_liable_to_provide_maintenance_for": 2,
    "telephone": "none",
}
SAFE = {
    **RISKY,
    "status_of_existing_checking_account": "no checking account",
    "credit_history": "all credits at this bank paid back duly",
    "savings_account_and_bonds": "... >= 1000 DM",
    "present_employment_since": "... >= 7 years",
    "installment_rate_in_percentage_of_disposable_income": 1,
    "property": "real estate",
    "other_installment_plans": "none",
    "housing": "own",
    "number_of_existing_credits_at_this_bank": 1,
    "job": "skilled employee / official",
    "telephone": "yes, registered under the customers name",
}


def apply(officer, features, *, amount="9000", term=48, decide="sync"):
    return loan_application_submit(
        applicant=ApplicantDetails(full_name="Test Applicant"),
        request=LoanRequest(amount=Decimal(amount), term_months=term, purpose="car (used)", features=features),
        submitted_by=officer,
        decide=decide,
    )


def test_a_risky_application_is_declined_with_up_to_four_catalogued_reasons_in_attribution_order(
    champion, loan_officer
):
    decision = apply(loan_officer, RISKY).decisions.get()

    assert decision.outcome == "decline"
    assert 1 <= len(decision.reasons) <= 4
    catalogue = reason_catalogue_for(scorer_for_version(champion).model.spec)
    assert all(reason["code"] in catalogue for reason in decision.reasons)
    attributions = [reason["attribution"] for reason in decision.reasons]
    assert attributions == sorted(attributions, reverse=True)
    assert all(value > 0 for value in attributions)


def test_a_safe_application_is_approved_without_reasons(champion, loan_officer):
    decision = apply(loan_officer, SAFE, amount="1500", term=12).decisions.get()

    assert decision.outcome == "approve"
    assert decision.reasons == []


def test_the_decision_records_model_version_policy_and_exact_inputs(champion, loan_officer):
    application = apply(loan_officer, RISKY)
    decision = application.decisions.get()

    assert decision.model_version == champion
    assert decision.policy_version == champion.metrics["policy"]["version"]
    assert decision.feature_vector["credit_amount"] == 9000
    assert decision.feature_vector["duration_in_month"] == 48
    application.refresh_from_db()
    assert application.status == "decided"
    event = AuditEvent.objects.get(action="decision.made")
    assert event.payload["decision_id"] == decision.pk


def test_replaying_a_decision_reproduces_it_exactly(champion, loan_officer):
    decision = apply(loan_officer, RISKY).decisions.get()

    result = decision_rescore(decision=decision)

    assert result.matches, result.differences


def test_rescore_names_a_decision_whose_record_was_changed(champion, loan_officer):
    decision = apply(loan_officer, RISKY).decisions.get()
    Decision.objects.filter(pk=decision.pk).update(score=decision.score + 1)

    with pytest.raises(CommandError, match="1 of 1 decisions did not reproduce"):
        call_command("rescore", "--decision", str(decision.pk))


def test_deciding_twice_returns_the_first_decision(champion, loan_officer):
    application = apply(loan_officer, RISKY, decide="none")

    first = application_decide(application_id=application.pk)
    second = application_decide(application_id=application.pk)

    assert first.pk == second.pk
    assert Decision.objects.filter(application=application).count() == 1
    assert AuditEvent.objects.filter(action="decision.made").count() == 1


def test_without_a_champion_the_application_is_stored_and_waits(loan_officer):
    application = apply(loan_officer, RISKY)

    assert application.decisions.count() == 0
    application.refresh_from_db()
    assert application.status == "submitted"
    with pytest.raises(ApplicationError) as caught:
        application_decide(application_id=application.pk)
    assert caught.value.code == "no_champion"


def test_characteristics_that_do_not_fit_the_model_are_named_and_nothing_is_stored(champion, loan_officer):
    features = {**RISKY, "housing": "castle"}
    del features["job"]

    with pytest.raises(ApplicationError) as caught:
        apply(loan_officer, features, term=600)

    # Named as the request's fields: the loan's own term, the characteristics under features.
    assert {"features.housing", "features.job", "loan.term_months"} <= set(caught.value.details)
    assert caught.value.details["loan.term_months"] == "600 is outside the allowed range 1 to 72"
    assert not LoanApplication.objects.filter(channel="portal").exists()


def test_a_challenger_scores_in_shadow_and_is_never_the_decision(champion, loan_officer, model_manager):
    challenger = model_version_train(
        version_id=model_training_start(dataset="german_credit", family="gbm", requested_by=model_manager, seed=1).pk
    )
    model_version_set_challenger(version=challenger, actor=model_manager)

    application = apply(loan_officer, RISKY)

    primary = application.decisions.get(is_shadow=False)
    shadow = application.decisions.get(is_shadow=True)
    assert primary.model_version == champion
    assert shadow.model_version == challenger


def test_a_promoted_version_decides_the_next_application(champion, loan_officer, model_manager, second_model_manager):
    apply(loan_officer, RISKY)
    newer = model_version_train(
        version_id=model_training_start(dataset="german_credit", family="gbm", requested_by=model_manager).pk
    )
    request = promotion_request(version=newer, requested_by=model_manager, exception_justification="test")
    promotion_approve(request=request, approved_by=second_model_manager, accept_exception=True)

    decision = apply(loan_officer, RISKY).decisions.get()

    assert decision.model_version == newer


def test_a_modified_artifact_refuses_to_load(champion, loan_officer):
    from django.core.files.storage import storages

    storage = storages["artifacts"]
    with storage.open(champion.artifact_path, "rb") as handle:
        content = bytearray(handle.read())
    content[-1] ^= 0xFF
    with open(storage.path(champion.artifact_path), "wb") as handle:
        handle.write(content)
    tampered = ModelVersion.objects.get(pk=champion.pk)
    tampered.artifact_sha256 = champion.artifact_sha256

    with pytest.raises(ApplicationError) as caught:
        scorer_for_version(tampered, policy=_fresh_policy())

    assert caught.value.code == "artifact_tampered"


def _fresh_policy():
    """A policy object not yet cached with this version, so the artifact is really read again."""
    from analytics.engine.policy import DecisionPolicy

    return DecisionPolicy(version="test-uncached", approve_below=0.25, decline_from=0.5)


def test_rescore_sample_reports_no_mismatch(champion, loan_officer):
    for index in range(20):
        features = RISKY if index % 2 else SAFE
        apply(loan_officer, features, amount=str(1000 + 450 * index), term=6 + 3 * index)

    call_command("rescore", "--sample", "1000")
