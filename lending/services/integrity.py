"""Decisions and overrides checked against the audit events written in their own transactions.

The hash chain proves that its events were not changed, but the rows the portal and the API serve live beside
it: `UPDATE lending_decision SET outcome = 'decline'` leaves the chain intact. Each row here is compared with
what its event recorded, both ways (a row without its event, an event whose row is gone, each field that
differs), in a few bulk reads. Registered in AUDIT_INTEGRITY_CHECKS, so every audit verification runs them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from finai.models import AuditEvent
from finai.services import IntegrityFinding
from lending.models import Decision, Override

CHUNK = 5000
_DECISION_COLUMNS = (
    "pk",
    "application_id",
    "is_shadow",
    "outcome",
    "probability_of_default",
    "score",
    "model_version_id",
    "policy_version",
    "reasons",
)
# The state each override event leaves its override in.
OVERRIDE_STATUS_AFTER = {
    "decision.overridden": Override.Status.APPROVED,
    "decision.override_requested": Override.Status.PENDING,
    "decision.override_approved": Override.Status.APPROVED,
    "decision.override_rejected": Override.Status.REJECTED,
}


def decision_records_check() -> list[IntegrityFinding]:
    """Every primary model decision against its `decision.made` event: outcome, probability of default, score,
    model version, policy version, reason codes and application.

    Decisions loaded from data sets (no model version) have no event of their own (the import's event records
    the file's SHA-256), so only a model's decisions need one; a decision that an event names is checked
    whatever it has become (made a shadow, its model version removed).
    """
    findings: list[IntegrityFinding] = []
    recorded: dict[int, tuple[int, str, dict[str, Any]]] = {}
    events = AuditEvent.objects.filter(action="decision.made").order_by("sequence")
    for sequence, application_id, payload in events.values_list("sequence", "object_id", "payload").iterator(CHUNK):
        decision_id = payload.get("decision_id") if isinstance(payload, dict) else None
        if not isinstance(decision_id, int):
            continue  # an event that names no decision (written by hand, not by `application_decide`)
        if decision_id in recorded:
            findings.append(
                _decision_finding(
                    decision_id, f"has two decision.made events, #{recorded[decision_id][0]} and #{sequence}"
                )
            )
            continue
        recorded[decision_id] = (sequence, application_id, payload)

    primary = Decision.objects.filter(is_shadow=False, model_version__isnull=False).order_by("pk")
    for row in primary.values_list(*_DECISION_COLUMNS).iterator(CHUNK):
        event = recorded.pop(row[0], None)
        if event is None:
            findings.append(
                _decision_finding(row[0], "has no decision.made event: it was not made through the decision service")
            )
        else:
            findings.extend(_decision_compare(row, *event))
    # Events whose decision is no longer a primary model decision: changed, or gone.
    for ids in _chunks(sorted(recorded)):
        rows = {row[0]: row for row in Decision.objects.filter(pk__in=ids).values_list(*_DECISION_COLUMNS)}
        for decision_id in ids:
            sequence, application_id, payload = recorded[decision_id]
            if decision_id in rows:
                findings.extend(_decision_compare(rows[decision_id], sequence, application_id, payload))
            else:
                findings.append(
                    _decision_finding(decision_id, f"is missing, but decision.made event #{sequence} records it")
                )
    return findings


def _decision_compare(
    row: tuple[Any, ...], sequence: int, application_id: str, payload: dict[str, Any]
) -> list[IntegrityFinding]:
    decision_id, stored_application, is_shadow, outcome, probability, score, version, policy, reasons = row
    stored = {
        "application": str(stored_application),
        "primary": not is_shadow,
        "outcome": outcome,
        "probability_of_default": probability,
        "score": score,
        "model_version": version,
        "policy_version": policy,
        "reasons": [reason.get("code") if isinstance(reason, dict) else reason for reason in reasons or []],
    }
    expected = {"application": application_id, "primary": True}
    # Only what the event recorded: an older event may record fewer fields.
    expected.update({name: payload[name] for name in stored if name in payload})
    differences = [
        f"{name} {stored[name]!r} (recorded {value!r})" for name, value in expected.items() if stored[name] != value
    ]
    if not differences:
        return []
    return [_decision_finding(decision_id, f"differs from decision.made event #{sequence}: " + ", ".join(differences))]


def override_records_check() -> list[IntegrityFinding]:
    """Every override against its events: the decision, the outcomes before and after, and the status the
    latest event left it in (an override forged, approved or altered in the database is named).

    Overrides made before events named them (`override_id`) are matched by decision and outcomes.
    """
    findings: list[IntegrityFinding] = []
    expected: dict[int, tuple[int, str, str, str, str]] = {}
    unnamed: dict[tuple[str, Any, Any], int] = {}
    events = AuditEvent.objects.filter(action__in=OVERRIDE_STATUS_AFTER).order_by("sequence")
    for sequence, action, decision_id, payload in events.values_list(
        "sequence", "action", "object_id", "payload"
    ).iterator(CHUNK):
        if not isinstance(payload, dict):
            continue
        override_id = payload.get("override_id")
        if isinstance(override_id, int):
            status = OVERRIDE_STATUS_AFTER[action]
            expected[override_id] = (sequence, decision_id, payload.get("before"), payload.get("after"), status)
        elif action == "decision.overridden":
            unnamed[(decision_id, payload.get("before"), payload.get("after"))] = sequence

    rows = Override.objects.order_by("pk").values_list("pk", "decision_id", "outcome_before", "outcome_after", "status")
    for override_id, decision_id, before, after, status in rows.iterator(CHUNK):
        stored = (str(decision_id), before, after, status)
        if override_id in expected:
            sequence, *recorded = expected.pop(override_id)
        elif (stored[:3]) in unnamed:
            sequence, recorded = unnamed.pop(stored[:3]), [*stored[:3], Override.Status.APPROVED]
        else:
            findings.append(
                _override_finding(override_id, "has no audit event: it was not made through the override service")
            )
            continue
        names = ("decision", "outcome_before", "outcome_after", "status")
        differences = [
            f"{name} {mine!r} (recorded {theirs!r})"
            for name, mine, theirs in zip(names, stored, recorded, strict=True)
            if mine != theirs
        ]
        if differences:
            findings.append(
                _override_finding(override_id, f"differs from its audit event #{sequence}: " + ", ".join(differences))
            )
    for override_id, (sequence, *_) in sorted(expected.items()):
        findings.append(_override_finding(override_id, f"is missing, but audit event #{sequence} records it"))
    return findings


def _decision_finding(decision_id: int, problem: str) -> IntegrityFinding:
    return IntegrityFinding(check="decisions", object_type="decision", object_id=str(decision_id), problem=problem)


def _override_finding(override_id: int, problem: str) -> IntegrityFinding:
    return IntegrityFinding(check="overrides", object_type="override", object_id=str(override_id), problem=problem)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
