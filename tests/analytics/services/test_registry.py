"""Model governance: four eyes, gates with reasons, exceptions, challengers, rollback, audit."""

from __future__ import annotations

import pytest

from analytics.models import ModelVersion, PromotionRequest
from analytics.services.registry import (
    model_version_rollback,
    model_version_set_challenger,
    promotion_approve,
    promotion_reject,
    promotion_request,
)
from finai.errors import ApplicationError
from finai.models import AuditEvent
from finai.services import audit_chain_verify

pytestmark = pytest.mark.django_db


def fairness(female_ratio: float, count: int = 120) -> dict:
    return {
        "groups": {
            "sex": {
                "male": {"adverse_impact_ratio": 1.0, "count": 200},
                "female": {"adverse_impact_ratio": female_ratio, "count": count},
            }
        }
    }


def version(trained_by, *, auc=0.78, female_ratio=0.9, status="candidate", **extra):
    return ModelVersion.objects.create(
        family="scorecard",
        status=status,
        trained_by=trained_by,
        metrics={"auc": auc},
        fairness=fairness(female_ratio),
        **extra,
    )


def promote(candidate, requester, approver, **kwargs):
    request = promotion_request(version=candidate, requested_by=requester, **kwargs)
    return promotion_approve(request=request, approved_by=approver, accept_exception=bool(kwargs))


def test_a_second_person_makes_a_candidate_champion(model_manager, second_model_manager):
    candidate = version(model_manager)

    request = promotion_request(version=candidate, requested_by=model_manager)
    promoted = promotion_approve(request=request, approved_by=second_model_manager)

    assert promoted.status == "champion"
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", second_model_manager)


def test_it_refuses_self_approval(model_manager):
    request = promotion_request(version=version(model_manager), requested_by=model_manager)

    with pytest.raises(ApplicationError, match="Four eyes"):
        promotion_approve(request=request, approved_by=model_manager)
    assert ModelVersion.objects.get().status == "candidate"


def test_the_trainer_cannot_approve_a_request_made_by_someone_else(model_manager, second_model_manager):
    request = promotion_request(version=version(second_model_manager), requested_by=model_manager)

    with pytest.raises(ApplicationError, match="Four eyes"):
        promotion_approve(request=request, approved_by=second_model_manager)


def test_other_roles_cannot_request_or_approve(model_manager, loan_officer, compliance_officer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        promotion_request(version=version(model_manager), requested_by=loan_officer)
    request = promotion_request(version=ModelVersion.objects.get(), requested_by=model_manager)
    with pytest.raises(PermissionDenied):
        promotion_approve(request=request, approved_by=compliance_officer)


def test_the_performance_gate_refuses_with_its_reason(model_manager, second_model_manager):
    promote(version(model_manager, auc=0.80), model_manager, second_model_manager)

    with pytest.raises(ApplicationError) as caught:
        promotion_request(version=version(model_manager, auc=0.75), requested_by=model_manager)

    assert caught.value.code == "gate_failed"
    assert "0.7500 against champion" in caught.value.details["performance"]
    assert "fairness" not in caught.value.details


def test_the_fairness_gate_refuses_with_its_reason(model_manager):
    with pytest.raises(ApplicationError) as caught:
        promotion_request(version=version(model_manager, female_ratio=0.7), requested_by=model_manager)

    assert "sex=female: 0.700" in caught.value.details["fairness"]
    assert "performance" not in caught.value.details


def test_a_small_group_is_not_judged_by_the_gate(model_manager):
    candidate = version(model_manager)
    candidate.fairness = fairness(0.5, count=5)
    candidate.save()

    request = promotion_request(version=candidate, requested_by=model_manager)

    assert request.gates["fairness"]["passed"]


def test_an_exception_needs_justification_and_explicit_acceptance(model_manager, second_model_manager):
    unfair = version(model_manager, female_ratio=0.7)
    request = promotion_request(
        version=unfair, requested_by=model_manager, exception_justification="Regulator-agreed remediation plan."
    )

    with pytest.raises(ApplicationError, match="explicitly accepted"):
        promotion_approve(request=request, approved_by=second_model_manager)
    promoted = promotion_approve(request=request, approved_by=second_model_manager, accept_exception=True)

    assert promoted.status == "champion"
    event = AuditEvent.objects.get(action="model.promoted")
    assert event.payload["exception_accepted"] is True


def test_a_rejected_request_leaves_the_version_as_it_was(model_manager, second_model_manager):
    request = promotion_request(version=version(model_manager), requested_by=model_manager)

    promotion_reject(request=request, rejected_by=second_model_manager, note="Calibration is off in band 3.")

    assert ModelVersion.objects.get().status == "candidate"
    assert PromotionRequest.objects.get().status == "rejected"


def test_promotion_retires_the_old_champion_and_rollback_restores_it(model_manager, second_model_manager):
    first = promote(version(model_manager), model_manager, second_model_manager)
    second = promote(version(model_manager, auc=0.79), model_manager, second_model_manager)
    first.refresh_from_db()
    assert (first.status, second.status) == ("retired", "champion")

    restored = model_version_rollback(product="consumer_loan", actor=second_model_manager, reason="Drift alert")

    second.refresh_from_db()
    assert restored.pk == first.pk
    assert (restored.status, second.status) == ("champion", "retired")


def test_rollback_without_a_previous_champion_is_refused(model_manager, second_model_manager):
    promote(version(model_manager), model_manager, second_model_manager)

    with pytest.raises(ApplicationError, match="no previous champion"):
        model_version_rollback(product="consumer_loan", actor=model_manager)


def test_only_one_challenger_runs_at_a_time(model_manager):
    first, second = version(model_manager), version(model_manager)

    model_version_set_challenger(version=first, actor=model_manager)
    model_version_set_challenger(version=second, actor=model_manager)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("candidate", "challenger")


def test_every_transition_is_audited_in_an_intact_chain(model_manager, second_model_manager):
    candidate = version(model_manager)
    model_version_set_challenger(version=candidate, actor=model_manager)
    promote(candidate, model_manager, second_model_manager)
    promote(version(model_manager), model_manager, second_model_manager)
    model_version_rollback(product="consumer_loan", actor=model_manager)

    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == [
        "model.challenger_set",
        "model.promotion_requested",
        "model.promoted",
        "model.promotion_requested",
        "model.promoted",
        "model.rolled_back",
    ]
    assert audit_chain_verify().intact


def test_a_request_decided_meanwhile_cannot_be_approved_again(model_manager, second_model_manager):
    """Two managers (or one double click) act on one request at once: both read it pending, the first decides it,
    and the second is refused instead of promoting the version a second time."""
    old_champion = version(model_manager, status="champion")
    candidate = version(model_manager, auc=0.79)
    request = promotion_request(version=candidate, requested_by=model_manager)
    read_by_the_second = PromotionRequest.objects.get(pk=request.pk)
    promotion_approve(request=request, approved_by=second_model_manager)

    with pytest.raises(ApplicationError) as refused:
        promotion_approve(request=read_by_the_second, approved_by=second_model_manager)

    assert refused.value.code == "conflict"
    assert read_by_the_second.status == "approved"
    candidate.refresh_from_db()
    assert (candidate.status, candidate.previous_champion) == ("champion", old_champion)
    assert AuditEvent.objects.filter(action="model.promoted").count() == 1


def test_a_request_approved_meanwhile_cannot_be_rejected(model_manager, second_model_manager):
    candidate = version(model_manager)
    request = promotion_request(version=candidate, requested_by=model_manager)
    read_by_the_second = PromotionRequest.objects.get(pk=request.pk)
    promotion_approve(request=request, approved_by=second_model_manager)

    with pytest.raises(ApplicationError) as refused:
        promotion_reject(request=read_by_the_second, rejected_by=second_model_manager, note="Too late.")

    assert refused.value.code == "conflict"
    assert PromotionRequest.objects.get(pk=request.pk).status == "approved"
    assert ModelVersion.objects.get(pk=candidate.pk).status == "champion"
    assert not AuditEvent.objects.filter(action="model.promotion_rejected").exists()
    assert audit_chain_verify().intact
