"""Screening scenarios under four eyes: a compliance officer proposes a change, a second one approves it.

A threshold moved from 10,000 to 9,000 changes how many alerts the team works and which customers are
reported, as much as a new model changes who is approved; so a change is a new `ScenarioVersion`, pending
until someone other than its proposer approves it (which retires the version before), and each step is an
audit event naming the parameters before and after. Parameters are validated by the engine
(`analytics.engine.screening.scenarios`), which names every invalid field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from analytics.engine.screening.scenarios import Scenario, default_scenarios, scenario_from_dict
from finai.errors import ApplicationError
from finai.roles import COMPLIANCE_ROLES, ensure_role
from finai.services import audit_event_record
from monitoring.models import ScenarioVersion, ScreeningScenario

DEFAULT_DESCRIPTIONS = {
    "structuring": "Cash deposits just under the 10,000 reporting threshold within a week.",
    "pass_through": "Most of a large inflow leaving again within 48 hours.",
    "fan_in": "Many distinct senders paying one account within a week.",
    "fan_out": "One account paying many distinct recipients within a week.",
    "cycle": "Money returning to its first account through 3 or 4 others within 14 days.",
    "dormant_reactivation": "An account silent for 90 days waking with large activity.",
    "velocity_spike": "A week with five times the account's usual number of bookings.",
    "round_amounts": "Repeated amounts that are whole thousands.",
}


def version_scenario(version: ScenarioVersion) -> Scenario:
    """The engine's scenario for a stored version, named as its alerts are ("structuring v2")."""
    return scenario_from_dict(
        {"name": version.rule_name, "typology": version.scenario.typology, "parameters": version.parameters}
    )


def _validated_parameters(typology: str, parameters: Any) -> dict[str, Any]:
    """The full parameter set (defaults filled in), or the engine's refusal naming each field."""
    return scenario_from_dict({"name": typology, "typology": typology, "parameters": parameters}).as_dict()[
        "parameters"
    ]


def screening_scenarios_ensure() -> list[ScenarioVersion]:
    """One active scenario per typology with the engine's defaults, for a new installation; idempotent.

    They are the system's, not a person's, so they need no approval; every later change does.
    """
    created = []
    for scenario in default_scenarios():
        with transaction.atomic():
            record, made = ScreeningScenario.objects.get_or_create(
                name=scenario.name,
                defaults={"typology": scenario.typology, "description": DEFAULT_DESCRIPTIONS[scenario.typology]},
            )
            if not made:
                continue
            version = ScenarioVersion.objects.create(
                scenario=record,
                number=1,
                parameters=scenario.as_dict()["parameters"],
                status=ScenarioVersion.Status.ACTIVE,
                change_note="The engine's default parameters.",
                proposed_at=timezone.now(),
            )
            audit_event_record(
                action="screening.scenario_installed",
                object_type="screening_scenario",
                object_id=record.pk,
                payload={"name": record.name, "version": 1, "parameters": version.parameters},
            )
            created.append(version)
    return created


def _change_note(note: str) -> str:
    note = note.strip()
    if not note:
        raise ApplicationError(
            "Say why the scenario changes.", details={"change_note": "is required"}, code="invalid_scenario"
        )
    return note


def scenario_create(
    *, name: str, typology: str, description: str, parameters: Any, change_note: str, proposed_by: Any
) -> ScenarioVersion:
    """A new scenario, its first version pending a second officer's approval."""
    ensure_role(proposed_by, *COMPLIANCE_ROLES)
    checked = _validated_parameters(typology, parameters)
    note = _change_note(change_note)
    if ScreeningScenario.objects.filter(name=name).exists():
        raise ApplicationError(
            "A scenario of that name exists.", details={"name": "is already taken"}, code="invalid_scenario"
        )
    with transaction.atomic():
        scenario = ScreeningScenario.objects.create(name=name, typology=typology, description=description.strip())
        version = ScenarioVersion.objects.create(
            scenario=scenario,
            number=1,
            parameters=checked,
            change_note=note,
            proposed_by=proposed_by,
            proposed_at=timezone.now(),
        )
        audit_event_record(
            action="screening.scenario_proposed",
            actor=proposed_by,
            object_type="screening_scenario",
            object_id=scenario.pk,
            payload={"name": name, "version": 1, "parameters": checked, "enabled": True, "change_note": note},
        )
    return version


def scenario_change_propose(
    *, scenario: ScreeningScenario, parameters: Any, enabled: bool, change_note: str, proposed_by: Any
) -> ScenarioVersion:
    """A new version of an existing scenario, pending; one pending change per scenario at a time."""
    ensure_role(proposed_by, *COMPLIANCE_ROLES)
    checked = _validated_parameters(scenario.typology, parameters)
    note = _change_note(change_note)
    active = scenario.versions.filter(status=ScenarioVersion.Status.ACTIVE).first()
    if active is not None and active.parameters == checked and active.enabled == enabled:
        raise ApplicationError(
            "The proposal is the active version: nothing would change.",
            details={"parameters": "equal the active version's"},
            code="invalid_scenario",
        )
    try:
        with transaction.atomic():
            number = (scenario.versions.aggregate(highest=Max("number"))["highest"] or 0) + 1
            version = ScenarioVersion.objects.create(
                scenario=scenario,
                number=number,
                parameters=checked,
                enabled=enabled,
                change_note=note,
                proposed_by=proposed_by,
                proposed_at=timezone.now(),
            )
            audit_event_record(
                action="screening.scenario_proposed",
                actor=proposed_by,
                object_type="screening_scenario",
                object_id=scenario.pk,
                payload={
                    "name": scenario.name,
                    "version": number,
                    "parameters": checked,
                    "enabled": enabled,
                    "before": active.parameters if active else None,
                    "change_note": note,
                },
            )
    except IntegrityError:
        raise ApplicationError(
            "A change to this scenario is already waiting for approval; approve or reject it first.",
            details={"scenario": "has a pending version"},
            code="conflict",
        ) from None
    return version


def _pending_for_review(version: ScenarioVersion, reviewer: Any) -> ScenarioVersion:
    ensure_role(reviewer, *COMPLIANCE_ROLES)
    version = ScenarioVersion.objects.select_for_update().select_related("scenario").get(pk=version.pk)
    if version.status != ScenarioVersion.Status.PENDING:
        raise ApplicationError(
            f"Only a pending version can be reviewed; this one is {version.get_status_display().lower()}.",
            details={"version": version.status},
            code="invalid_transition",
        )
    if version.proposed_by_id == reviewer.pk:
        raise ApplicationError(
            "A second compliance officer must review this change, not its proposer.",
            details={"reviewed_by": "is the proposer"},
            code="four_eyes",
        )
    return version


def scenario_version_approve(*, version: ScenarioVersion, approved_by: Any, note: str = "") -> ScenarioVersion:
    """The change goes live: the version becomes active and the one before retires."""
    with transaction.atomic():
        version = _pending_for_review(version, approved_by)
        retired = list(
            ScenarioVersion.objects.select_for_update().filter(
                scenario=version.scenario, status=ScenarioVersion.Status.ACTIVE
            )
        )
        ScenarioVersion.objects.filter(pk__in=[old.pk for old in retired]).update(status=ScenarioVersion.Status.RETIRED)
        now = timezone.now()
        version.status, version.reviewed_by, version.reviewed_at = ScenarioVersion.Status.ACTIVE, approved_by, now
        version.review_note = note.strip()
        version.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        audit_event_record(
            action="screening.scenario_approved",
            actor=approved_by,
            object_type="screening_scenario",
            object_id=version.scenario_id,
            payload={
                "name": version.scenario.name,
                "version": version.number,
                "retired": [old.number for old in retired],
                "parameters": version.parameters,
                "enabled": version.enabled,
                "note": version.review_note,
            },
        )
    return version


def scenario_version_reject(*, version: ScenarioVersion, rejected_by: Any, note: str) -> ScenarioVersion:
    """The change is refused, with the reason; the active version stays."""
    if not note.strip():
        raise ApplicationError(
            "Say why the change is rejected.", details={"note": "is required"}, code="invalid_scenario"
        )
    with transaction.atomic():
        version = _pending_for_review(version, rejected_by)
        version.status, version.reviewed_by, version.reviewed_at = (
            ScenarioVersion.Status.REJECTED,
            rejected_by,
            timezone.now(),
        )
        version.review_note = note.strip()
        version.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        audit_event_record(
            action="screening.scenario_rejected",
            actor=rejected_by,
            object_type="screening_scenario",
            object_id=version.scenario_id,
            payload={"name": version.scenario.name, "version": version.number, "note": version.review_note},
        )
    return version


def active_versions() -> list[ScenarioVersion]:
    """The versions live screening applies: each scenario's active version, where it is enabled."""
    return list(
        ScenarioVersion.objects.filter(status=ScenarioVersion.Status.ACTIVE, enabled=True)
        .select_related("scenario")
        .order_by("scenario__name")
    )


@dataclass(frozen=True)
class ActiveRules:
    """The active versions and their engine scenarios by rule name, as one booking's screening reads them."""

    fingerprint: tuple[Any, ...]
    versions: tuple[ScenarioVersion, ...]
    scenarios: dict[str, Scenario]


_active_rules: ActiveRules | None = None


def active_rules() -> ActiveRules:
    """`active_versions` with their scenarios, rebuilt only when the active set changed.

    Every change makes a new version active (approval is the only way in or out), so the highest active id,
    the count and the latest proposal and review times name the set; reading them is one small aggregate,
    where rebuilding the set (rows, related scenarios, validation) costs several times more per booking.
    """
    global _active_rules
    table = connection.ops.quote_name(ScenarioVersion._meta.db_table)
    with connection.cursor() as cursor:  # plain SQL: the ORM's compiling costs more than the query, per booking
        cursor.execute(
            f"SELECT MAX(id), COUNT(*), MAX(proposed_at), MAX(reviewed_at) FROM {table} WHERE status = %s",  # noqa: S608
            [ScenarioVersion.Status.ACTIVE],
        )
        fingerprint = tuple(cursor.fetchone())
    if _active_rules is None or _active_rules.fingerprint != fingerprint:
        versions = tuple(active_versions())
        _active_rules = ActiveRules(
            fingerprint=fingerprint,
            versions=versions,
            scenarios={version.rule_name: version_scenario(version) for version in versions},
        )
    return _active_rules
