"""Model governance: promotion with four eyes and gates, challengers in shadow, rollback.

Every transition is an audit event. A version can become champion only when someone other than the
person who trained it or asked for it approves, and only if it passes the performance and fairness
gates — or a written exception is accepted by that second person.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.engine.fairness import GroupRatio, lowest_adverse_impact_ratio, summary_group_ratios
from analytics.models import ModelVersion, PromotionRequest
from finai.errors import ApplicationError
from finai.roles import MANAGER_ROLES, ensure_role
from finai.services import audit_event_record


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    reason: str


def _monitored_ratios(version: ModelVersion) -> list[GroupRatio]:
    """Every monitored group's holdout ratio; small groups are reported, never gated."""
    return [
        ratio
        for ratio in summary_group_ratios(version.fairness, min_group_size=settings.FAIRNESS_MIN_GROUP_SIZE)
        if ratio.attribute in version.monitored_attributes and not ratio.small_group and ratio.ratio.value is not None
    ]


def promotion_gates_evaluate(*, version: ModelVersion) -> list[GateResult]:
    """The performance gate (AUC against the champion's) and the fairness gate (four-fifths rule)."""
    champion = ModelVersion.objects.filter(product=version.product, status=ModelVersion.Status.CHAMPION).first()
    margin = settings.PROMOTION_AUC_MARGIN
    auc = version.metrics.get("auc")
    if auc is None:
        performance = GateResult("performance", False, "the version has no holdout AUC")
    elif champion is None or champion.pk == version.pk:
        performance = GateResult("performance", True, f"AUC {auc:.4f}; no champion to compare with")
    elif champion.snapshot_id and version.snapshot_id and champion.snapshot.dataset != version.snapshot.dataset:
        performance = GateResult(
            "performance",
            False,
            f"AUC {auc:.4f} on {version.snapshot.dataset} cannot be compared with champion v{champion.pk}'s, "
            f"measured on {champion.snapshot.dataset}",
        )
    else:
        floor = champion.metrics.get("auc", 0.0) - margin
        performance = GateResult(
            "performance",
            auc >= floor,
            f"AUC {auc:.4f} against champion v{champion.pk}'s {champion.metrics.get('auc', 0.0):.4f} "
            f"(allowed margin {margin})",
        )
    threshold = settings.FAIRNESS_AIR_THRESHOLD
    ratios = _monitored_ratios(version)
    failing = [f"{r.attribute}={r.group}: {r.ratio.value:.3f}" for r in ratios if r.ratio.value < threshold]
    if not ratios:
        fairness = GateResult("fairness", False, "no adverse impact ratio was measured for any monitored group")
    elif failing:
        fairness = GateResult("fairness", False, f"adverse impact ratio below {threshold} for " + ", ".join(failing))
    else:
        lowest = lowest_adverse_impact_ratio(ratios).ratio.value
        fairness = GateResult("fairness", True, f"lowest adverse impact ratio {lowest:.3f} (threshold {threshold})")
    return [performance, fairness]


def _gates_payload(gates: list[GateResult]) -> dict[str, Any]:
    return {gate.name: asdict(gate) for gate in gates}


def promotion_request(
    *, version: ModelVersion, requested_by: Any, exception_justification: str = ""
) -> PromotionRequest:
    """Ask for a version to become champion. Failed gates need a written exception to be asked at all."""
    ensure_role(requested_by, *MANAGER_ROLES)
    if version.status not in (ModelVersion.Status.CANDIDATE, ModelVersion.Status.CHALLENGER):
        raise ApplicationError(
            f"Only a candidate or challenger can be promoted; this version is {version.status}.",
            details={"version": version.status},
            code="invalid_transition",
        )
    if PromotionRequest.objects.filter(version=version, status=PromotionRequest.Status.PENDING).exists():
        raise ApplicationError("A promotion request for this version is already pending.", code="conflict")
    gates = promotion_gates_evaluate(version=version)
    failed = {gate.name: gate.reason for gate in gates if not gate.passed}
    justification = exception_justification.strip()
    if failed and not justification:
        raise ApplicationError(
            "The version fails promotion gates; a written exception is required to request promotion.",
            details=failed,
            code="gate_failed",
        )
    with transaction.atomic():
        request = PromotionRequest.objects.create(
            version=version,
            requested_by=requested_by,
            gates=_gates_payload(gates),
            exception_justification=justification if failed else "",
        )
        audit_event_record(
            action="model.promotion_requested",
            actor=requested_by,
            object_type="model_version",
            object_id=version.pk,
            payload={"request_id": request.pk, "gates": request.gates, "exception": request.exception_justification},
        )
    return request


def _ensure_second_person(request: PromotionRequest, decided_by: Any) -> None:
    ensure_role(decided_by, *MANAGER_ROLES)
    if decided_by.pk in (request.requested_by_id, request.version.trained_by_id):
        raise ApplicationError(
            "Four eyes: the person who trained a version or requested its promotion cannot decide it.",
            details={"decided_by": "must be a second person"},
            code="four_eyes",
        )
    if request.status != PromotionRequest.Status.PENDING:
        raise ApplicationError(f"This request is already {request.status}.", code="conflict")


def _lock_pending(request: PromotionRequest) -> None:
    """Lock the request's row in the deciding transaction and check it is still pending: two managers (or one
    double click) acting on one request at once both found it pending before; the second to lock it finds it
    decided."""
    status = PromotionRequest.objects.select_for_update().filter(pk=request.pk).values_list("status", flat=True).get()
    if status != PromotionRequest.Status.PENDING:
        request.status = status
        raise ApplicationError(f"This request is already {status}.", code="conflict")


def _decided(request: PromotionRequest, *, status: str, decided_by: Any, note: str) -> None:
    request.status = status
    request.decided_by, request.decided_at, request.decision_note = decided_by, timezone.now(), note
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])


def promotion_approve(
    *, request: PromotionRequest, approved_by: Any, accept_exception: bool = False, note: str = ""
) -> ModelVersion:
    """A second person approves: the version becomes champion and the old champion retires."""
    _ensure_second_person(request, approved_by)
    version = request.version
    gates = promotion_gates_evaluate(version=version)
    failed = {gate.name: gate.reason for gate in gates if not gate.passed}
    if failed and not (accept_exception and request.exception_justification):
        raise ApplicationError(
            "The version fails promotion gates; approving needs a written exception, explicitly accepted.",
            details=failed,
            code="gate_failed",
        )
    with transaction.atomic():
        _lock_pending(request)
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if version.status not in (ModelVersion.Status.CANDIDATE, ModelVersion.Status.CHALLENGER):
            raise ApplicationError(
                f"Only a candidate or challenger can be promoted; this version is {version.status} now.",
                details={"version": version.status},
                code="conflict",
            )
        champion = (
            ModelVersion.objects.select_for_update()
            .filter(product=version.product, status=ModelVersion.Status.CHAMPION)
            .first()
        )
        if champion is not None:
            champion.status = ModelVersion.Status.RETIRED
            champion.save(update_fields=["status"])
        version.status = ModelVersion.Status.CHAMPION
        version.previous_champion = champion
        version.promoted_at = timezone.now()
        version.save(update_fields=["status", "previous_champion", "promoted_at"])
        _decided(request, status=PromotionRequest.Status.APPROVED, decided_by=approved_by, note=note)
        audit_event_record(
            action="model.promoted",
            actor=approved_by,
            object_type="model_version",
            object_id=version.pk,
            payload={
                "request_id": request.pk,
                "requested_by": request.requested_by.get_username(),
                "replaced": champion.pk if champion else None,
                "gates": _gates_payload(gates),
                "exception_accepted": bool(failed),
                "note": note,
            },
        )
    return version


def promotion_reject(*, request: PromotionRequest, rejected_by: Any, note: str = "") -> PromotionRequest:
    """A second person turns the request down; the version stays as it was."""
    _ensure_second_person(request, rejected_by)
    with transaction.atomic():
        _lock_pending(request)
        _decided(request, status=PromotionRequest.Status.REJECTED, decided_by=rejected_by, note=note)
        audit_event_record(
            action="model.promotion_rejected",
            actor=rejected_by,
            object_type="model_version",
            object_id=request.version_id,
            payload={"request_id": request.pk, "note": note},
        )
    return request


def model_version_set_challenger(*, version: ModelVersion, actor: Any) -> ModelVersion:
    """Run a candidate in shadow: it scores every application, its decisions are stored but never used.

    One challenger per product; a previous challenger goes back to candidate.
    """
    ensure_role(actor, *MANAGER_ROLES)
    if version.status != ModelVersion.Status.CANDIDATE:
        raise ApplicationError(
            f"Only a candidate can become challenger; this version is {version.status}.", code="invalid_transition"
        )
    with transaction.atomic():
        replaced = list(
            ModelVersion.objects.select_for_update().filter(
                product=version.product, status=ModelVersion.Status.CHALLENGER
            )
        )
        for previous in replaced:
            previous.status = ModelVersion.Status.CANDIDATE
            previous.save(update_fields=["status"])
        version.status = ModelVersion.Status.CHALLENGER
        version.save(update_fields=["status"])
        audit_event_record(
            action="model.challenger_set",
            actor=actor,
            object_type="model_version",
            object_id=version.pk,
            payload={"replaced": [v.pk for v in replaced]},
        )
    return version


def model_version_rollback(*, product: str, actor: Any, reason: str = "") -> ModelVersion:
    """Restore the champion that the current one replaced, in one action."""
    ensure_role(actor, *MANAGER_ROLES)
    with transaction.atomic():
        current = (
            ModelVersion.objects.select_for_update()
            .filter(product=product, status=ModelVersion.Status.CHAMPION)
            .first()
        )
        if current is None or current.previous_champion_id is None:
            raise ApplicationError(
                "There is no previous champion to roll back to.", details={"product": product}, code="conflict"
            )
        previous = ModelVersion.objects.select_for_update().get(pk=current.previous_champion_id)
        current.status = ModelVersion.Status.RETIRED
        current.save(update_fields=["status"])
        previous.status = ModelVersion.Status.CHAMPION
        previous.promoted_at = timezone.now()
        previous.save(update_fields=["status", "promoted_at"])
        audit_event_record(
            action="model.rolled_back",
            actor=actor,
            object_type="model_version",
            object_id=previous.pk,
            payload={"retired": current.pk, "restored": previous.pk, "reason": reason},
        )
    return previous
